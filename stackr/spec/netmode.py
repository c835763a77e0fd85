"""What a service's `network_mode` rules out, and what `network_mode: service:NAME` and `pid:
service:NAME` may name. Pure; every problem is an Issue, located.

A network mode replaces the stack's networks, so it leaves no room for `networks` or published
ports (nor, on another service's network, for exposed ones: the engine refuses them). On the
host's network a `net.*` sysctl would change the host's settings, which the engine refuses only
once the replica starts. A service that shares another's network (`service:NAME`) has that
service's name, hosts and DNS settings, so the engine refuses its own `hostname`, `dns` and
`extra_hosts` at create; `dns_search` it takes, and ignores. NAME, for the network or the
process namespace, must be another service of the stack with a namespace of its own and a
replica, that the service does not wait on to complete: the engine follows one step, not a
chain, and joins only a running container.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

from stackr.errors import Issue
from stackr.spec.model import Condition, Service, Stack
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
    """Every problem of `service`'s `network_mode` and `pid`. `broken`: entries left out for
    problems already reported, not reported again as missing."""
    yield from _shared(stack, service, doc, broken, _PROCESSES)
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
    if owner and service.runtime.expose:
        # The engine refuses exposed ports on a container that joins another's network.
        yield doc.issue(
            (*at, "expose"),
            f"exposes ports, but with network_mode: {mode} its replicas listen on {owner}'s "
            "network",
            f"expose them on {owner}",
        )
    if owner:
        yield from _shared(stack, service, doc, broken, _NETWORK)
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


@dataclass(frozen=True, slots=True)
class _Namespace:
    """One namespace a service may share: the key that says so, how to speak of it, and which
    service it names."""

    key: str
    noun: str
    owner: Callable[[Service], str]


_NETWORK = _Namespace("network_mode", "network", Service.shares_network_of)
_PROCESSES = _Namespace("pid", "processes", Service.shares_processes_of)


def _shared(
    stack: Stack, service: Service, doc: Document, broken: Collection[str], space: _Namespace
) -> Iterator[Issue]:
    owner = space.owner(service)
    if not owner:
        return
    at: Path_ = ("services", service.name, space.key)
    if owner == service.name:
        yield doc.issue(
            at,
            f"{service.name} cannot share its own {space.noun}",
            f"name another service of the stack, or remove {space.key}",
        )
        return
    found = stack.services.get(owner)
    if found is None:
        if owner not in broken:
            yield doc.issue(
                at,
                f"shares the {space.noun} of undeclared service '{owner}'",
                _suggest(owner, [name for name in stack.services if name != service.name]),
            )
        return
    yield from _owner_issues(service, found, doc, space, jobs=stack.jobs())


def _owner_issues(
    service: Service, found: Service, doc: Document, space: _Namespace, *, jobs: frozenset[str]
) -> Iterator[Issue]:
    at: Path_ = ("services", service.name, space.key)
    owner = found.name
    further = space.owner(found)
    if owner in jobs:
        yield doc.issue(
            at,
            f"{owner} is a one-shot job (a service waits for it to complete): its {space.noun} "
            f"{'goes' if space is _NETWORK else 'go'} with it when it ends",
            f"share the {space.noun} of a long-running service, or run this in {owner} itself",
        )
    elif further:
        yield doc.issue(
            at,
            f"{owner} shares the {space.noun} of {further} itself: the engine joins one "
            f"container's {space.noun}, not a chain",
            f"write {space.key}: service:{further}",
        )
    elif found.replicas == 0 and service.replicas > 0:
        yield doc.issue(
            at,
            f"{owner} runs no replica (replicas: 0): there are no {space.noun} to share"
            if space is _PROCESSES
            else f"{owner} runs no replica (replicas: 0): there is no network to share",
            f"give {owner} a replica, or this service replicas: 0 too",
        )
    elif space is _NETWORK and found.network_mode == "none":
        yield doc.issue(
            at,
            f"{owner} has no network to share (network_mode: none)",
            "write network_mode: none here too, or give it a network",
        )
    if any(d.service == owner and d.condition is Condition.COMPLETED for d in service.depends_on):
        yield doc.issue(
            ("services", service.name, "depends_on", owner),
            f"waits for {owner} to complete, but shares its {space.noun}: once {owner} has "
            f"exited there is nothing to join",
            f"wait for {owner} to be started or healthy, or do not share its {space.noun}",
        )


def _suggest(name: str, others: list[str]) -> str:
    close = difflib.get_close_matches(name.lower(), others, n=1)
    if close:
        return f"did you mean 'service:{close[0]}'?"
    return f"declared services: {', '.join(sorted(others))}" if others else "declare it"


def _taken_from_the_owner(service: Service, doc: Document, owner: str) -> Iterator[Issue]:
    for key, field in _TAKEN_FROM_THE_OWNER.items():
        if getattr(service.runtime, field):
            yield doc.issue(
                ("services", service.name, key),
                f"{key} is {owner}'s: with network_mode: service:{owner} the replicas share its "
                "network, its name and its /etc/hosts and /etc/resolv.conf",
                f"set it on {owner}, or remove it here",
            )
