"""Replacing containers that must all stop before any replacement starts (those on a recreated
network, and those a fixed host port moves between): parking the old ones (stopped and renamed
`-prev`, all of them in one task, so that Ctrl-C parks either all or none), and bringing up a
container, taking over the anonymous volumes of the one it replaces.

Progress goes out through `on_event`; nothing is printed. `uptasks` orders these tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from stackr.desired import ContainerSpec, anonymous_targets, with_carried
from stackr.engine import Engine
from stackr.errors import EngineError
from stackr.events import Event, OnEvent, Phase
from stackr.leaving import ServiceNames
from stackr.plan import ActionKind
from stackr.rollout import PREV

PARK = "park:old-containers"  # the task key: it stops every parked old container


def park_all(
    engine: Engine, specs: list[ContainerSpec], *, jobs: int, on_event: OnEvent
) -> Callable[[], None]:
    """One task parking the old container of each of `specs`, up to `jobs` at once: once
    begun, every one is parked, Ctrl-C or not, so the networks and every replacement can be
    completed; not begun, none is."""

    def park_one(spec: ContainerSpec) -> None:
        # Parked, not removed: until its replacement exists, the old container is the record
        # of its anonymous volumes (a crash here leaves it for the next `up` to take over).
        on_event(Event(spec.name, Phase.REMOVING, "stopping the old replica"))
        engine.stop_container(spec.name, timeout=spec.stop_grace_period)
        engine.rename_container(spec.name, spec.name + PREV)

    def run() -> None:
        with ThreadPoolExecutor(min(jobs, len(specs)), "stackr-park") as pool:
            outcomes = [pool.submit(park_one, spec) for spec in specs]
        failed = [error for f in outcomes if (error := f.exception()) is not None]
        if failed:
            raise EngineError("; ".join(str(error) for error in failed))

    return run


def bring_up(
    engine: Engine,
    desired: ContainerSpec,
    kind: ActionKind,
    *,
    parked: bool,
    on_event: OnEvent,
    names: ServiceNames,
) -> Callable[[], None]:
    """Create and start (or only start) `desired`, through `names` (never while a container
    leaves a service's names); when its old container is `parked`, take over that one's
    anonymous volumes, then remove it."""

    def run() -> None:
        spec = desired
        if parked:
            targets = anonymous_targets(desired)
            spec = with_carried(desired, engine.anonymous_volumes(desired.name + PREV, targets))
        if kind in (ActionKind.CREATE, ActionKind.RECREATE):
            on_event(Event(spec.name, Phase.CREATING))
            engine.create_container(spec)
        if kind is ActionKind.RESTART:
            on_event(Event(spec.name, Phase.STARTING, "restarting"))
            engine.stop_container(spec.name, timeout=spec.stop_grace_period)
        elif kind is not ActionKind.KEEP:
            on_event(Event(spec.name, Phase.STARTING))
        if kind is not ActionKind.KEEP:
            names.start(spec.name)
            if parked:
                engine.remove_container(spec.name + PREV, timeout=0, keep_volumes=True)
            on_event(Event(spec.name, Phase.DONE, _done_word(kind)))

    return run


def _done_word(kind: ActionKind) -> str:
    words = {
        ActionKind.CREATE: "created",
        ActionKind.RECREATE: "recreated",
        ActionKind.RESTART: "restarted",
    }
    return words.get(kind, "started")
