"""What a service's `network_mode` rules out, and what `network_mode: service:NAME` may name.
Pure; every problem is an Issue, located.

A network mode replaces the stack's networks, so it leaves no room for `networks` or published
ports. On the host's network a `net.*` sysctl would change the host's settings, which the engine
refuses only once the replica starts. A service that shares another's network (`service:NAME`)
has that service's name, hosts and DNS settings, so the engine refuses its own `hostname`,
`dns` and `extra_hosts` at create; `dns_search` it takes, and ignores. NAME must be another
service of the stack with a network of its own: the engine follows one step, not a chain.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterator

from stackr.errors import Issue
from stackr.spec.model import Service, Stack
from stackr.spec.source import Document

Path_ = tuple[str | int, ...]

# What a replica sharing another's network takes from it: key -> the runtime field.
_TAKEN_FROM_THE_OWNER = {
    "hostname": "hostname",
    "dns": "dns",
    "dns_search": "dns_search",
    "extra_hosts": "extra_hosts",
}


def network_mode_issues(
    stack: Stack, service: Service, doc: Document, *, broken: Collection[str] = ()
) -> Iterator[Issue]:
    """Every problem of `service`'s `network_mode`. `broken`: entries left out for problems
    already reported, not reported again as missing."""
    mode = service.network_mode
    if not mode:
        return
    at: Path_ = ("services", service.name)
    written = (doc.data.get("services") or {}).get(service.name) or {}
    if "networks" in written:
        yield doc.issue(
            (*at, "networks"),
            f"joins networks, but network_mode: {mode} replaces them",
            "remove one of the two (a profile that sets network_mode removes the base's "
            "networks with networks: !reset [])",
        )
    owner = service.shares_network_of()
    found = stack.services.get(owner) if owner else None
    # On the host's network, directly or through the service whose network it shares.
    on_host = mode == "host" or (found is not None and found.network_mode == "host")
    if service.ports:
        yield _ports_issue(service, doc, owner, on_host=on_host)
    if owner:
        yield from _owner_issues(stack, service, doc, owner, broken)
        yield from _taken_from_the_owner(service, doc, owner)
    for name in service.runtime.sysctls if on_host else ():
        if name.startswith("net."):
            yield doc.issue(
                (*at, "sysctls", name),
                f"{name} would change the host's network settings: the engine refuses it on "
                "the host's network",
                "remove it, or set it on the host",
            )


def _ports_issue(service: Service, doc: Document, owner: str, *, on_host: bool) -> Issue:
    mode = service.network_mode
    at: Path_ = ("services", service.name, "ports")
    if owner and not on_host:
        return doc.issue(
            at,
            f"publishes ports, but with network_mode: {mode} its replicas listen on {owner}'s "
            "network",
            f"publish them on {owner}: a port published there reaches this service too",
        )
    where = "listens on the host's own" if on_host else "has only its loopback"
    return doc.issue(
        at,
        f"publishes ports, but with network_mode: {mode} there is no port to publish "
        f"(a replica {where})",
        "remove ports",
    )


def _owner_issues(
    stack: Stack, service: Service, doc: Document, owner: str, broken: Collection[str]
) -> Iterator[Issue]:
    at: Path_ = ("services", service.name, "network_mode")
    if owner == service.name:
        yield doc.issue(
            at,
            f"{service.name} cannot share its own network",
            "name another service of the stack, or remove network_mode",
        )
        return
    found = stack.services.get(owner)
    if found is None:
        if owner not in broken:
            others = sorted(name for name in stack.services if name != service.name)
            close = difflib.get_close_matches(owner.lower(), others, n=1)
            hint = (
                f"did you mean 'service:{close[0]}'?"
                if close
                else (f"declared services: {', '.join(others)}" if others else "declare it")
            )
            yield doc.issue(at, f"shares the network of undeclared service '{owner}'", hint)
        return
    further = found.shares_network_of()
    if further:
        yield doc.issue(
            at,
            f"{owner} shares the network of {further} itself: the engine joins one container's "
            "network, not a chain",
            f"write network_mode: service:{further}",
        )
    elif found.replicas == 0 and service.replicas > 0:
        yield doc.issue(
            at,
            f"{owner} runs no replica (replicas: 0): there is no network to share",
            f"give {owner} a replica, or this service replicas: 0 too",
        )
    elif found.network_mode == "none":
        yield doc.issue(
            at,
            f"{owner} has no network to share (network_mode: none)",
            "write network_mode: none here too, or give it a network",
        )
    completed = [
        d for d in service.depends_on if d.service == owner and d.condition.value == "completed"
    ]
    if completed:
        yield doc.issue(
            ("services", service.name, "depends_on", owner),
            f"waits for {owner} to complete, but shares its network: once {owner} has exited "
            "there is no network to join",
            f"wait for {owner} to be started or healthy, or do not share its network",
        )


def _taken_from_the_owner(service: Service, doc: Document, owner: str) -> Iterator[Issue]:
    for key, field in _TAKEN_FROM_THE_OWNER.items():
        if getattr(service.runtime, field):
            yield doc.issue(
                ("services", service.name, key),
                f"{key} is {owner}'s: with network_mode: service:{owner} the replicas share its "
                "network, its name and its /etc/hosts and /etc/resolv.conf",
                f"set it on {owner}, or remove it here",
            )
