"""Which replicas of a service that shares another's network or processes (`network_mode:
service:NAME`, `pid: service:NAME`) `up` recreates or restarts, so that each stays in the
namespace of its owner's current container, and when an owner that has run must run again for
them. Pure.

The engine ties a replica to its owner's container by id when it creates it, and joins that
container's namespace when it starts it. So:

- a replica whose owner this `up` creates or recreates is recreated after it: the old id
  would name a container that is gone;
- one whose owner was replaced since it joined (another container under the owner's name:
  replaced outside stackr, or by an `up` that stopped before it came to the replica) is
  recreated too: for a network, the id it joined says so; for processes, the owner being
  made after it (a replica sharing processes dies with its owner's run, so it is stopped);
- a live replica (running, or paused) whose owner this `up` starts or restarts is restarted
  after it: a network namespace went with the owner's previous run (the replica is left with
  its loopback alone), and a process namespace ends with it. On a network, so is one whose
  owner started after it (restarted by hand or by its restart policy); a replica sharing
  processes does not outlive such a run, and starts again as any stopped replica does. An
  unpaused owner, or one sharing the host's namespace (which outlives every run), restarts
  nothing;
- an owner that exited 0, which `up` would keep as a one-shot that has run, is started again
  when a replica sharing its namespace is to run: there is nothing to join without it.
- a paused replica sharing the processes of an owner this `up` stops is unpaused first: the
  owner's run would not end while a frozen process of its namespace lives.

Start times are not in the list call: `asked_times` names the containers of each running pair
sharing a network, looked up with one inspect each, only in stacks that share one.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Mapping

from stackr.observed import ObservedContainer, ObservedState, container_name
from stackr.spec.model import Service, Stack

NETWORK, PROCESSES = "network", "processes"  # the namespaces a service may share


def asked_times(stack: Stack, observed: ObservedState) -> tuple[str, ...]:
    """The live containers (running or paused), owners and the replicas on their networks,
    whose start times tell whether an owner started after a replica joined it."""
    found = {c.name: c for c in observed.containers}
    asked: dict[str, None] = {}
    for replica, owner, _, space, _ in _pairs(stack):
        if space == NETWORK and _live(found.get(replica)) and _live(found.get(owner)):
            asked |= dict.fromkeys((replica, owner))
    return tuple(asked)


def _live(container: ObservedContainer | None) -> bool:
    # A paused container keeps its network namespace: it is unpaused, not started again.
    return container is not None and (container.running or container.state == "paused")


def owners_to_start(
    stack: Stack, *, finished: Collection[str], to_run: Collection[str]
) -> dict[str, str]:
    """Container name → why it starts again, for the owners that have run (`finished`: exited
    0, kept as one-shots) whose network or processes a replica that is to run (`to_run`)
    shares."""
    reasons: dict[str, str] = {}
    for replica, owner, _, space, _ in _pairs(stack):
        if owner in finished and replica in to_run and owner not in reasons:
            reasons[owner] = f"exited 0, but {replica} shares its {space}: it runs again"
    return reasons


def recreate_reasons(
    stack: Stack,
    observed: ObservedState,
    *,
    remade: Mapping[str, str],
    finished: Collection[str] = (),
) -> dict[str, str]:
    """Container name → why it is recreated, for the replicas sharing an owner's namespace that
    this `up` does not create or recreate anyway (`remade`: name → "created" or "recreated"). A
    one-shot that has run (`finished`) never starts again: its namespaces no longer matter, and
    recreating it would run its work again."""
    found = {c.name: c for c in observed.containers}
    reasons: dict[str, str] = {}
    for replica, owner, _, space, _ in _pairs(stack):
        mine, theirs = found.get(replica), found.get(owner)
        if mine is None or replica in remade or replica in finished or replica in reasons:
            continue
        if owner in remade:
            reasons[replica] = f"shares the {space} of {owner}, which is {remade[owner]}"
        elif theirs is not None and _replaced(mine, theirs, space):
            reasons[replica] = f"{owner}, whose {space} it shares, was replaced since it joined it"
    return reasons


def _replaced(mine: ObservedContainer, theirs: ObservedContainer, space: str) -> bool:
    if space == NETWORK:
        return mine.joined != theirs.id
    # The list gives no process namespace: an owner made after the replica is another one.
    # In whole seconds, as the list gives them: one of the two may have been looked up.
    return math.floor(theirs.created) > math.floor(mine.created)


def restart_reasons(
    stack: Stack, observed: ObservedState, *, kept: set[str], started: Collection[str]
) -> dict[str, str]:
    """Container name → why it restarts, for the `kept` live replicas (running, or paused and
    so to be unpaused) whose owner this `up` starts or restarts (`started`; an unpaused one is
    no new run) or started after them (by the times `asked_times` looked up)."""
    found = {c.name: c for c in observed.containers}
    reasons: dict[str, str] = {}
    for replica, owner, service, space, _ in _pairs(stack):
        mine, theirs = found.get(replica), found.get(owner)
        if replica not in kept or mine is None or not _live(mine) or _outlives(service, space):
            continue
        if owner in started and (theirs is None or theirs.state != "paused"):
            ends = "" if space == NETWORK else ": they end with its run"
            reasons[replica] = f"shares the {space} of {owner}, which is started again{ends}"
        elif space == NETWORK and _started_after(theirs, mine):
            reasons[replica] = (
                f"shares the network of {owner}, which started again after it: its network "
                "went with that run"
            )
    return reasons


def frozen_sharers(
    observed: ObservedState, *, stopped: Collection[str]
) -> dict[str, tuple[str, ...]]:
    """Owner container → the paused containers on the engine sharing its processes, for the
    owners this run stops (`stopped`: recreated, restarted or removed). A run ends once every
    process of its namespace has, and a frozen process cannot end: the engine would wait for
    the owner's exit in vain. So they are unpaused first. Paired as the engine has them (each
    container's spec label names the one it joined), not as the file now says: a file that
    dropped the owner, or the sharing, still leaves them tied on the engine."""
    frozen: dict[str, list[str]] = {}
    for container in observed.containers:
        pid = container.spec.get("pid") if container.spec else None
        owner = pid.removeprefix("container:") if isinstance(pid, str) else ""
        if container.state == "paused" and owner != pid and owner in stopped:
            frozen.setdefault(owner, []).append(container.name)
    return {owner: tuple(sorted(names)) for owner, names in frozen.items()}


def sharers(stack: Stack, owner: str) -> tuple[str, ...]:
    """The containers sharing the network or processes of `owner` (a container name)."""
    return tuple(dict.fromkeys(r for r, theirs, _, _, _ in _pairs(stack) if theirs == owner))


def left_behind(
    whole: Stack,
    narrowed: Stack,
    observed: ObservedState,
    *,
    replaced: Collection[str],
    run_again: Collection[str],
) -> dict[str, str]:
    """Owner container → the containers on the engine of services left out of the `narrowed`
    stack that share its network or processes, where this `up` makes the owner anew
    (`replaced`) or starts or restarts it (`run_again`): they would be left without them. An
    unpaused owner, or a new run of one on the host's network, harms no network sharer."""
    found = {c.name: c for c in observed.containers}
    behind: dict[str, set[str]] = {}
    for replica, owner, service, space, mine in _pairs(whole):
        if replica not in found or mine in narrowed.services:
            continue
        theirs = found.get(owner)
        paused = theirs is not None and theirs.state == "paused"
        harmless_run = paused or _outlives(service, space)  # no new run, or no new namespace
        if owner in replaced or (owner in run_again and not harmless_run):
            behind.setdefault(owner, set()).add(replica)
    return {owner: ", ".join(sorted(names)) for owner, names in sorted(behind.items())}


def _outlives(owner: Service, space: str) -> bool:
    """Whether the namespace shared is the host's, which outlives every run of the owner."""
    return (owner.network_mode if space == NETWORK else owner.runtime.pid) == "host"


def _started_after(theirs: ObservedContainer | None, mine: ObservedContainer) -> bool:
    return (
        theirs is not None
        and theirs.started is not None
        and mine.started is not None
        and theirs.started > mine.started
    )


def _pairs(stack: Stack) -> Iterator[tuple[str, str, Service, str, str]]:
    """(replica, owner, owner's service, namespace, replica's service): each replica of a
    service sharing another's network or processes, with the container it shares them with
    (the owner's first replica)."""
    for service in stack.services.values():
        for space, name in (
            (NETWORK, service.shares_network_of()),
            (PROCESSES, service.shares_processes_of()),
        ):
            owner = stack.services.get(name) if name else None
            if owner is None:
                continue
            theirs = container_name(stack.name, stack.profile, owner.name, 1)
            for r in range(1, service.replicas + 1):
                mine = container_name(stack.name, stack.profile, service.name, r)
                yield mine, theirs, owner, space, service.name
