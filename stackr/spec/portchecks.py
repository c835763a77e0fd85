"""Published host ports a stack cannot have: a fixed range that does not give each replica of
its service one port, and a host port (and protocol, on one host address) that two replicas
publish. Pure; every problem is an Issue, located.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from stackr.errors import Issue
from stackr.spec.document import Document
from stackr.spec.model import Service, Stack

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class _Claim:
    """A replica's claim on a host port, and where the stack file makes it."""

    service: str
    replica: int
    path: Path_


def port_range_issues(service: Service, doc: Document) -> Iterator[Issue]:
    """Each fixed host range of `service` that does not give every replica one port."""
    for i, rule in enumerate(service.ports):
        if rule.host_start is None or rule.host_end is None or service.replicas == 0:
            continue
        count = rule.host_end - rule.host_start + 1
        if count == service.replicas:
            continue
        last = rule.host_start + service.replicas - 1
        want = f"{rule.host_start}-{last}" if last > rule.host_start else f"{rule.host_start}"
        noun = "replica needs" if service.replicas == 1 else "replicas need"
        # The count may come from a profile while the ports come from the base: say which.
        at: Path_ = ("services", service.name, "ports", i)
        said = doc.set_apart(("services", service.name, "replicas"), at, "replicas ")
        yield doc.issue(
            at,
            f"{service.replicas} {noun} {service.replicas} host port(s){said}, "
            f"'{rule.render()}' gives {count}",
            f"publish one host port per replica, e.g. '{want}:{rule.container_port}', "
            "or give only the container port to let the engine choose",
        )


def port_clash_issues(stack: Stack, doc: Document) -> Iterator[Issue]:
    """Each host port a replica publishes that another already does."""
    claims: dict[tuple[int, str], list[tuple[str, _Claim]]] = {}
    for service in stack.services.values():
        for i, rule in enumerate(service.ports):
            if rule.host_start is None or rule.host_end is None:
                continue
            # At most one claim per port of the range: a huge replica count is reported by
            # the range check, not walked here.
            for replica in range(1, min(service.replicas, rule.host_end - rule.host_start + 1) + 1):
                port = rule.host_port_for(replica)
                if port is None:
                    continue
                claim = _Claim(service.name, replica, ("services", service.name, "ports", i))
                claims.setdefault((port, rule.protocol), []).append((rule.host_ip, claim))
    for (port, proto), holders in sorted(claims.items()):
        for ip, claim in holders[1:]:
            first_ip, first = holders[0]
            if ip and first_ip and ip != first_ip:
                continue
            yield doc.issue(
                claim.path,
                f"host port {port}/{proto} is already published by "
                f"{first.service} (replica {first.replica})",
                "give each replica and service its own host port",
            )
