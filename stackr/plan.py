"""The plan: desired state against observed state, as a value. Pure: no I/O, no engine.

Every object gets exactly one action, no-ops included, and every action says why. `stackr plan`
renders the same Plan that `stackr up` executes. The Plan's types are `actions`'; what one
container needs by itself is `decide`'s, weighed here against the others' (host ports that move,
`depends_on.restart`, shared networks).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from stackr import joins
from stackr.actions import Action, ActionKind, ObjectKind, Plan
from stackr.changes import Change, spec_changes
from stackr.decide import decide, image_moved
from stackr.desired import ContainerSpec, DesiredState, desired_state
from stackr.observed import (
    LABEL_SPEC,
    ObservedContainer,
    ObservedNetwork,
    ObservedState,
    ObservedVolume,
)
from stackr.portmoves import port_moves
from stackr.restarts import restart_reasons
from stackr.sensitive import masked_settings
from stackr.spec.model import PullPolicy, Service, Stack, UpdateOrder
from stackr.spec.normalize import DEFAULT_NETWORK

# The plan's types live in `actions`; most readers take them from here.
__all__ = ["Action", "ActionKind", "ObjectKind", "Plan", "make_plan"]


def make_plan(stack: Stack, observed: ObservedState) -> Plan:
    """What `up` must do to make the engine hold `stack`. Never removes a volume."""
    desired = desired_state(stack)
    networks = list(_network_actions(desired, observed, stack.sensitive))
    recreated = frozenset(a.name for a in networks if a.kind is ActionKind.RECREATE)
    actions = [
        *networks,
        *_volume_actions(desired, observed, stack.sensitive),
        *_container_actions(stack, desired, observed, recreated_networks=recreated),
    ]
    return Plan(stack=stack.name, profile=stack.profile, actions=tuple(actions))


def _network_actions(
    desired: DesiredState, observed: ObservedState, sensitive: frozenset[str]
) -> Iterator[Action]:
    found = {n.name: n for n in observed.networks}
    for name, spec in desired.networks.items():
        have = found.get(name)
        changes: tuple[Change, ...] = ()
        if have is None:
            kind, reason = ActionKind.CREATE, "not on the engine"
        elif have.spec_hash != desired.spec_hash_of(name):
            kind, reason = ActionKind.RECREATE, "network options changed"
            changes = _option_changes(have, spec.settings(), sensitive)
        else:
            kind, reason = ActionKind.KEEP, "up to date"
        yield Action(
            kind=kind,
            object=ObjectKind.NETWORK,
            name=name,
            reason=reason,
            logical=spec.network,
            changes=changes,
        )
    for name, have in sorted(found.items()):
        if name not in desired.networks:
            yield Action(
                kind=ActionKind.REMOVE,
                object=ObjectKind.NETWORK,
                name=name,
                reason=(
                    # The one network a file need not declare: it goes once nothing joins it.
                    "no service joins network 'default' any more"
                    if have.network == DEFAULT_NETWORK
                    else f"network '{have.network}' is no longer in the file"
                ),
                logical=have.network,
            )


def _volume_actions(
    desired: DesiredState, observed: ObservedState, sensitive: frozenset[str]
) -> Iterator[Action]:
    found = {v.name: v for v in observed.volumes}
    for name, spec in desired.volumes.items():
        have = found.get(name)
        changes: tuple[Change, ...] = ()
        if have is None:
            kind, reason = ActionKind.CREATE, "not on the engine"
        elif have.spec_hash != desired.spec_hash_of(name):
            kind = ActionKind.KEEP
            reason = (
                "options changed but kept with its data (down --volumes, then up, applies them)"
            )
            changes = _option_changes(have, spec.settings(), sensitive)
        else:
            kind, reason = ActionKind.KEEP, "up to date"
        yield Action(
            kind=kind,
            object=ObjectKind.VOLUME,
            name=name,
            reason=reason,
            logical=spec.volume,
            changes=changes,
        )
    for name, have in sorted(found.items()):
        if name not in desired.volumes:
            yield Action(
                kind=ActionKind.KEEP,
                object=ObjectKind.VOLUME,
                name=name,
                reason="no longer in the file; kept (up never removes a volume)",
                logical=have.volume,
            )


def _option_changes(
    have: ObservedNetwork | ObservedVolume, settings: Mapping[str, Any], sensitive: frozenset[str]
) -> tuple[Change, ...]:
    """Which of a network's or volume's options differ from what the engine lists, secret
    values masked. None found (a spec hash of another stackr version): the reason says it."""
    if not have.settings:
        return ()
    before, after = (masked_settings(s, sensitive) for s in (have.settings, settings))
    return tuple(spec_changes(before, after))


def _container_actions(
    stack: Stack,
    desired: DesiredState,
    observed: ObservedState,
    *,
    recreated_networks: frozenset[str],
) -> Iterator[Action]:
    found = {c.name: c for c in observed.containers}
    jobs = stack.jobs()
    decided = {
        name: decide(spec, found.get(name), observed, job=spec.service in jobs)
        for name, spec in desired.containers.items()
    }
    decided |= _owners_to_start(stack, observed, decided)
    decided = _until_settled(_shared_recreates, stack, observed, decided)
    moving = port_moves(
        desired,
        found,
        recreated={n for n, (kind, _) in decided.items() if kind is ActionKind.RECREATE},
        created={n for n, (kind, _) in decided.items() if kind is ActionKind.CREATE},
    )
    decided |= _restarts(stack, observed, decided)
    decided = _until_settled(_shared_restarts, stack, observed, decided)
    stops = {ActionKind.RECREATE, ActionKind.RESTART}
    stopped = {n for n, (kind, _) in decided.items() if kind in stops}
    frozen = joins.frozen_sharers(observed, stopped=stopped | (found.keys() - decided.keys()))
    for name, spec in desired.containers.items():
        have = found.get(name)
        kind, reason = decided[name]
        changes: tuple[Change, ...] = ()
        parked = False
        if kind is ActionKind.RECREATE and have is not None and have.spec:
            changes = _changes(spec, have, observed)
        if kind is ActionKind.RECREATE:
            job = spec.service in jobs
            attached = (*spec.networks, *(have.networks if have else ()))
            parked = bool(recreated_networks.intersection(attached))
            if not parked and name in moving:
                parked = True
                reason += f" (stop-first: {moving[name]})"
            else:
                service = stack.services[spec.service]
                reason += _update_note(stack, service, parked, job=job, first=spec.replica == 1)
        reason += _image_note(spec, kind, observed, stack)
        thaw = frozen.get(name, ())
        reason += _thaw_note(thaw)
        yield Action(
            kind=kind,
            object=ObjectKind.CONTAINER,
            name=name,
            reason=reason,
            service=spec.service,
            replica=spec.replica,
            changes=changes,
            parked=parked,
            endpoints=_endpoints(have) if kind is ActionKind.RECREATE and have else {},
            thaw=thaw,
        )
    for name, have in sorted(found.items()):
        if name not in desired.containers:
            surplus, thaw = _surplus(stack, desired, name, have), frozen.get(name, ())
            yield replace(surplus, reason=surplus.reason + _thaw_note(thaw), thaw=thaw)


def _thaw_note(thaw: tuple[str, ...]) -> str:
    if not thaw:
        return ""
    return (
        f" (unpausing {', '.join(thaw)} first: a paused process in its namespace would keep it "
        "from stopping)"
    )


Decided = Mapping[str, tuple[ActionKind, str]]


def _until_settled(
    more: Callable[[Stack, ObservedState, Decided], dict[str, tuple[ActionKind, str]]],
    stack: Stack,
    observed: ObservedState,
    decided: Decided,
) -> dict[str, tuple[ActionKind, str]]:
    """`decided` with what `more` adds, again and again until it adds nothing: a replica may
    share the processes of one that shares a third's network, and follow it when it follows
    the third. Each round takes replicas out of what `more` looks at: it ends."""
    settled = dict(decided)
    while added := {k: v for k, v in more(stack, observed, settled).items() if settled[k] != v}:
        settled |= added
    return settled


def _restarts(
    stack: Stack, observed: ObservedState, decided: Mapping[str, tuple[ActionKind, str]]
) -> dict[str, tuple[ActionKind, str]]:
    """The kept containers to restart for `depends_on.restart` (see `restarts`)."""
    reasons = restart_reasons(stack, observed, kept=_kept(decided), remade=_remade(decided))
    return {name: (ActionKind.RESTART, reason) for name, reason in reasons.items()}


def _owners_to_start(
    stack: Stack, observed: ObservedState, decided: Mapping[str, tuple[ActionKind, str]]
) -> dict[str, tuple[ActionKind, str]]:
    """Owners kept as one-shots that have run, started again for a replica sharing their
    namespaces that is to run (see `joins`)."""
    finished = _finished(observed, decided)
    to_run = decided.keys() - finished
    reasons = joins.owners_to_start(stack, finished=finished, to_run=to_run)
    return {name: (ActionKind.START, reason) for name, reason in reasons.items()}


def _shared_recreates(
    stack: Stack, observed: ObservedState, decided: Mapping[str, tuple[ActionKind, str]]
) -> dict[str, tuple[ActionKind, str]]:
    """The replicas sharing another's namespaces recreated with its container (see `joins`)."""
    finished = _finished(observed, decided)
    reasons = joins.recreate_reasons(stack, observed, remade=_remade(decided), finished=finished)
    return {name: (ActionKind.RECREATE, reason) for name, reason in reasons.items()}


def _shared_restarts(
    stack: Stack, observed: ObservedState, decided: Mapping[str, tuple[ActionKind, str]]
) -> dict[str, tuple[ActionKind, str]]:
    """The live replicas sharing another's namespaces restarted as it runs again (see
    `joins`); a paused one is restarted rather than unpaused (its namespace went too)."""
    again = {ActionKind.START, ActionKind.RESTART}
    started = {n for n, (kind, _) in decided.items() if kind in again}
    paused = {c.name for c in observed.containers if c.state == "paused"}
    unpaused = {n for n, (kind, _) in decided.items() if kind is ActionKind.START} & paused
    kept = _kept(decided) | unpaused
    reasons = joins.restart_reasons(stack, observed, kept=kept, started=started)
    return {name: (ActionKind.RESTART, reason) for name, reason in reasons.items()}


def _finished(observed: ObservedState, decided: Mapping[str, tuple[ActionKind, str]]) -> set[str]:
    """The containers kept though not running: one-shots that have run."""
    running = {c.name for c in observed.containers if c.running}
    return _kept(decided) - running


def _remade(decided: Mapping[str, tuple[ActionKind, str]]) -> dict[str, str]:
    words = {ActionKind.CREATE: "created", ActionKind.RECREATE: "recreated"}
    return {n: words[kind] for n, (kind, _) in decided.items() if kind in words}


def _kept(decided: Mapping[str, tuple[ActionKind, str]]) -> set[str]:
    return {n for n, (kind, _) in decided.items() if kind is ActionKind.KEEP}


def _endpoints(have: ObservedContainer) -> dict[str, tuple[str, ...]]:
    """The networks `have` was made to join, each with the DNS names its spec gave it there:
    where a rollback puts it back, though it was disconnected since (a network joined outside
    stackr is not the stack's to give back)."""
    joined = have.spec.get("networks") if have.spec else None
    names = joined if isinstance(joined, list) else have.networks
    extra = (have.spec.get("network_aliases") if have.spec else None) or {}
    return {str(n): (have.service, *extra.get(n, ())) for n in names}


def _changes(
    spec: ContainerSpec, have: ObservedContainer, observed: ObservedState
) -> tuple[Change, ...]:
    """What changed in a recreated container's spec, and its image's tag if it moved too."""
    changes = tuple(spec_changes(have.spec, json.loads(spec.labels[LABEL_SPEC])))
    moved = image_moved(spec, have, observed)
    # Told beside the spec's changes; alone, it is the reason already.
    if moved and changes and not any(c.field == "image" for c in changes):
        changes += (Change("image", note=moved),)
    return changes


def _surplus(stack: Stack, desired: DesiredState, name: str, have: ObservedContainer) -> Action:
    """The removal of a container the file no longer asks for, with why."""
    service = stack.services.get(have.service)
    successor = name.removesuffix("-next").removesuffix("-prev")
    serving = False
    if successor != name and successor in desired.containers:
        reason = "left over from an interrupted update"
    elif service is None:
        reason = f"service '{have.service}' is no longer in the file"
    elif 1 <= have.replica <= service.replicas:
        reason = (
            f"drift: renamed outside stackr (its labels make it replica {have.replica} of "
            f"service '{have.service}', which is created under its own name)"
        )
    else:
        reason = f"scaled down to {service.replicas} replica(s)"
        # With replicas left to serve: it leaves the service's names, and drains, first.
        serving = service.replicas > 0
    return Action(
        kind=ActionKind.REMOVE,
        object=ObjectKind.CONTAINER,
        name=name,
        reason=reason,
        service=have.service,
        replica=have.replica,
        successor=successor if successor != name else "",
        stop_grace=have.made_with_grace,
        endpoints=_endpoints(have) if serving else {},
    )


def _image_note(
    spec: ContainerSpec, kind: ActionKind, observed: ObservedState, stack: Stack
) -> str:
    # A build or a pull is a step `up` takes first, slow or (offline) failing: say so where
    # the plan knows it must.
    made = kind in (ActionKind.CREATE, ActionKind.RECREATE)
    if not made:
        return ""
    if spec.build is not None:
        # Missing, or not a build of the present inputs: `up` builds it (as ensure_image).
        digest = spec.build.digest
        stale = digest and observed.built_from.get(spec.image) != digest
        built_first = spec.image not in observed.images or stale
        return f" (its image {spec.image} is built first)" if built_first else ""
    if spec.image in observed.images:
        return ""
    # As `up` judges it: by the services that make containers of the image.
    users = [s for s in stack.services.values() if s.image == spec.image and s.replicas]
    if all(s.pull_policy is PullPolicy.NEVER for s in users):
        return f" (its image {spec.image} is not on the engine, and pull_policy: never: up fails)"
    return f" (its image {spec.image} is not on the engine: it is pulled first)"


def _update_note(
    stack: Stack, service: Service, on_recreated_network: bool, *, job: bool, first: bool
) -> str:
    if job:
        return " (a job: it runs again, stop-first, and must exit 0)"
    if on_recreated_network and service.update.order is UpdateOrder.START_FIRST:
        return " (stop-first: a recreated network must first lose every old container)"
    sharing = sorted(s.name for s in stack.services.values() if service.name in s.owners())
    if service.start_first() and sharing and first:
        # Its own replicas serve throughout; those sharing its first one's namespaces follow.
        return f" (start-first: no downtime but for {', '.join(sharing)}, sharing its namespaces)"
    if service.start_first() and service.ports:
        # Ephemeral host ports: the engine drops them as an old replica leaves its network.
        return (
            " (start-first: no downtime on its networks; requests coming in through its "
            "published ports are cut as each old replica leaves)"
        )
    if service.start_first():
        return " (start-first: no downtime)"
    if service.update.order is UpdateOrder.START_FIRST and service.network_mode == "host":
        return " (stop-first: on the host's network, a port is held by one replica at a time)"
    if service.update.order is UpdateOrder.START_FIRST and service.shares_network_of():
        owner = service.shares_network_of()
        return f" (stop-first: on {owner}'s network, a port is held by one replica at a time)"
    if service.update.order is UpdateOrder.START_FIRST:
        return " (stop-first: a fixed host port is held by one replica at a time)"
    return ""
