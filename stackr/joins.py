"""Which replicas of a service that shares another's network (`network_mode: service:NAME`)
`up` recreates or restarts, so that each stays on the network of its owner's current container,
and when an owner that has run must run again for them. Pure.

The engine ties a replica to its owner's container by id when it creates it, and joins that
container's network namespace when it starts it. So:

- a replica whose owner this `up` creates or recreates is recreated after it: the old id
  would name a container that is gone;
- one whose owner was replaced since it joined (another id under the owner's name: replaced
  outside stackr, or by an `up` that stopped before it came to the replica) is recreated too;
- a running replica whose owner this `up` starts or restarts, or whose owner started after it
  (restarted by hand or by its restart policy), is restarted: its namespace went with the
  owner's previous run, and it is left with its loopback alone. An unpaused owner, or one on
  the host's network (whose namespace outlives every run), restarts nothing;
- an owner that exited 0, which `up` would keep as a one-shot that has run, is started again
  when a replica on its network is to run: there is no network to join without it.

Start times are not in the list call: `asked_times` names the containers of each running pair,
looked up with one inspect each, only in stacks that share a network.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping

from stackr.observed import ObservedContainer, ObservedState, container_name
from stackr.spec.model import Service, Stack


def asked_times(stack: Stack, observed: ObservedState) -> tuple[str, ...]:
    """The running containers, owners and the replicas on their networks, whose start times
    tell whether an owner started after a replica joined it."""
    found = {c.name: c for c in observed.containers}
    asked: dict[str, None] = {}
    for replica, owner, _ in _pairs(stack):
        mine, theirs = found.get(replica), found.get(owner)
        if mine is not None and theirs is not None and mine.running and theirs.running:
            asked |= dict.fromkeys((replica, owner))
    return tuple(asked)


def owners_to_start(
    stack: Stack, *, finished: Collection[str], to_run: Collection[str]
) -> dict[str, str]:
    """Container name → why it starts again, for the owners that have run (`finished`: exited
    0, kept as one-shots) whose network a replica that is to run (`to_run`) shares."""
    reasons: dict[str, str] = {}
    for replica, owner, _ in _pairs(stack):
        if owner in finished and replica in to_run and owner not in reasons:
            reasons[owner] = f"exited 0, but {replica} shares its network: it runs again"
    return reasons


def recreate_reasons(
    stack: Stack,
    observed: ObservedState,
    *,
    remade: Mapping[str, str],
    finished: Collection[str] = (),
) -> dict[str, str]:
    """Container name → why it is recreated, for the replicas on an owner's network that this
    `up` does not create or recreate anyway (`remade`: name → "created" or "recreated"). A
    one-shot that has run (`finished`) never starts again: its network no longer matters, and
    recreating it would run its work again."""
    found = {c.name: c for c in observed.containers}
    reasons: dict[str, str] = {}
    for replica, owner, _ in _pairs(stack):
        mine, theirs = found.get(replica), found.get(owner)
        if mine is None or replica in remade or replica in finished:
            continue
        if owner in remade:
            reasons[replica] = f"shares the network of {owner}, which is {remade[owner]}"
        elif theirs is not None and mine.joined != theirs.id:
            reasons[replica] = f"{owner}, whose network it shares, was replaced since it joined it"
    return reasons


def restart_reasons(
    stack: Stack, observed: ObservedState, *, kept: set[str], started: Collection[str]
) -> dict[str, str]:
    """Container name → why it restarts, for the `kept` running replicas whose owner this `up`
    starts or restarts (`started`; an unpaused one is no new run) or started after them (by
    the times `asked_times` looked up)."""
    found = {c.name: c for c in observed.containers}
    reasons: dict[str, str] = {}
    for replica, owner, service in _pairs(stack):
        mine, theirs = found.get(replica), found.get(owner)
        if replica not in kept or mine is None or not mine.running:
            continue
        if service.network_mode == "host":
            continue  # the host's network outlives every run of the owner
        if owner in started and (theirs is None or theirs.state != "paused"):
            reasons[replica] = f"shares the network of {owner}, which is started again"
        elif _started_after(theirs, mine):
            reasons[replica] = (
                f"shares the network of {owner}, which started again after it: its network "
                "went with that run"
            )
    return reasons


def sharers(stack: Stack, owner: str) -> tuple[str, ...]:
    """The containers on the network of `owner` (a container name), in replica order."""
    return tuple(replica for replica, theirs, _ in _pairs(stack) if theirs == owner)


def _started_after(theirs: ObservedContainer | None, mine: ObservedContainer) -> bool:
    return (
        theirs is not None
        and theirs.started is not None
        and mine.started is not None
        and theirs.started > mine.started
    )


def _pairs(stack: Stack) -> Iterator[tuple[str, str, Service]]:
    """(replica, owner, owner's service): each replica of a service sharing another's network,
    with the container it shares it with (the owner's first replica)."""
    for service in stack.services.values():
        name = service.shares_network_of()
        owner = stack.services.get(name) if name else None
        if owner is not None:
            theirs = container_name(stack.name, stack.profile, owner.name, 1)
            for r in range(1, service.replicas + 1):
                yield container_name(stack.name, stack.profile, service.name, r), theirs, owner
