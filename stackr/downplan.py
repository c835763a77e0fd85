"""The plan of `down`: every container and network of one stack and profile, found by label,
removed; its volumes too with `--volumes`, else kept and said so. A paused container sharing
the processes of one removed is unpaused first (`joins.frozen_sharers`). Pure."""

from __future__ import annotations

from stackr import joins
from stackr.observed import ObservedState
from stackr.plan import Action, ActionKind, ObjectKind, Plan


def make_down_plan(stack: str, profile: str, observed: ObservedState, *, volumes: bool) -> Plan:
    """What `down` must do: remove every container and network, and volumes if asked."""
    frozen = joins.frozen_sharers(observed, stopped={c.name for c in observed.containers})
    actions = [
        Action(
            kind=ActionKind.REMOVE,
            object=ObjectKind.CONTAINER,
            name=c.name,
            reason="down --volumes" if volumes else "down",
            service=c.service,
            replica=c.replica,
            volumes=c.carried_volumes if volumes else (),
            with_volumes=volumes,
            stop_grace=c.made_with_grace,
            thaw=frozen.get(c.name, ()),
        )
        for c in sorted(observed.containers, key=lambda c: c.name)
    ]
    actions += [
        Action(
            kind=ActionKind.REMOVE,
            object=ObjectKind.NETWORK,
            name=n.name,
            reason="down",
            logical=n.network,
        )
        for n in sorted(observed.networks, key=lambda n: n.name)
    ]
    for vol in sorted(observed.volumes, key=lambda v: v.name):
        kind = ActionKind.REMOVE if volumes else ActionKind.KEEP
        reason = "down --volumes" if volumes else "kept with its data (--volumes removes it)"
        actions.append(
            Action(
                kind=kind,
                object=ObjectKind.VOLUME,
                name=vol.name,
                reason=reason,
                logical=vol.volume,
            )
        )
    return Plan(stack=stack, profile=profile, actions=tuple(actions))
