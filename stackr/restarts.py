"""Which kept containers `up` restarts for `depends_on: {db: {restart: true}}`. Pure.

A dependent's kept container restarts (stopped and started again, once `db` is ready) when
this `up` recreates a replica of `db`, as in Compose; or when every container of `db` is newer
than its last start or made by this `up`: every replica created again, or an earlier `up`
recreated them and then failed, was cut short or crashed before it restarted the dependent.
The engine's times tell that, so nothing is kept to remember it, and after an `up` a second
one has nothing to do.

A replica of `db` restarted by its restart policy (the same container), or one added by
scaling or made again after drift beside older ones, restarts nothing, as in Compose.

The list call gives creation times in whole seconds and no start times: where those cannot
tell, `asked_times` names the containers whose exact times (one inspect each) the plan needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace

from stackr.observed import ObservedContainer, ObservedState, container_name
from stackr.spec.model import Service, Stack


def asked_times(stack: Stack, observed: ObservedState) -> tuple[str, ...]:
    """The containers whose exact creation and start times tell whether a dependent started
    after its `restart: true` dependency's containers were made; () when the whole seconds of
    the list call already tell (a dependent made a second or more after them started after)."""
    pairs = list(_restart_pairs(stack))
    if not pairs:
        return ()  # most stacks: nothing to look at
    replicas = _replicas(stack, observed)
    asked: dict[str, None] = {}
    for service, dependency in pairs:
        theirs, mine = replicas.get(dependency, []), replicas.get(service.name, [])
        if not theirs or not mine:
            continue
        # Made in a later second than one of the dependency's containers, a dependent started
        # after it: not every one of them is newer than its start.
        oldest = min(c.created for c in theirs)
        unsure = [c.name for c in mine if c.created <= oldest]
        if unsure:
            asked |= dict.fromkeys([*unsure, *(c.name for c in theirs)])
    return tuple(asked)


def with_times(observed: ObservedState, times: Mapping[str, tuple[float, float]]) -> ObservedState:
    """`observed` with the exact (created, started) times looked up for some containers."""
    if not times:
        return observed
    containers = tuple(
        replace(c, created=times[c.name][0], started=times[c.name][1]) if c.name in times else c
        for c in observed.containers
    )
    return replace(observed, containers=containers)


def restart_reasons(
    stack: Stack, observed: ObservedState, *, kept: set[str], remade: Mapping[str, str]
) -> dict[str, str]:
    """Container name → why it restarts, for the `kept` containers (up to date, not otherwise
    changed) whose service depends with `restart: true` on a service this `up` recreates a
    replica of, or all of whose containers are newer than their last start or made by this
    `up` (`remade`: name → "created" or "recreated")."""
    found = {c.name: c for c in observed.containers}
    reasons: dict[str, list[str]] = {}
    for service, dependency in _restart_pairs(stack):
        theirs = _names(stack, dependency)
        new = [n for n in theirs if n in remade]
        old = [found.get(n) for n in theirs if n not in remade]
        recreated = any(remade[n] == "recreated" for n in new)
        for name in _names(stack, service.name):
            if name not in kept or not theirs:
                continue
            if recreated:
                cause = f"{dependency} is recreated"
            elif all(_made_after_start(c, found.get(name)) for c in old):
                cause = (
                    f"{dependency} is created"
                    if new
                    else f"{dependency} was recreated after it last started"
                )
            else:
                continue
            reasons.setdefault(name, []).append(cause)
    return {name: _reason(causes) for name, causes in reasons.items()}


def _reason(causes: list[str]) -> str:
    return "restart: true on its dependency: " + "; ".join(causes)


def _made_after_start(theirs: ObservedContainer | None, mine: ObservedContainer | None) -> bool:
    """Whether `theirs` was made after `mine` last started, by the exact times looked up."""
    return (
        theirs is not None
        and mine is not None
        and theirs.started is not None  # looked up: its `created` is exact
        and mine.started is not None
        and theirs.created > mine.started
    )


def _names(stack: Stack, service: str) -> list[str]:
    count = stack.services[service].replicas
    return [container_name(stack.name, stack.profile, service, r) for r in range(1, count + 1)]


def _restart_pairs(stack: Stack) -> Iterator[tuple[Service, str]]:
    for service in stack.services.values():
        for dependency in service.depends_on:
            if dependency.restart and dependency.service in stack.services:
                yield service, dependency.service


def _replicas(stack: Stack, observed: ObservedState) -> dict[str, list[ObservedContainer]]:
    """Each service's replicas on the engine under their own names (no leftover of an update,
    no surplus replica)."""
    found: dict[str, list[ObservedContainer]] = {}
    for c in observed.containers:
        service = stack.services.get(c.service)
        if (
            service is not None
            and 1 <= c.replica <= service.replicas
            and c.name == container_name(stack.name, stack.profile, c.service, c.replica)
        ):
            found.setdefault(c.service, []).append(c)
    return found
