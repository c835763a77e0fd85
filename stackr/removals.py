"""The removal tasks `up` and `down` share: stop and remove a container (dependents first, within
its service's stop grace period; a replica `up` scales down, off its service's names and
drained first; an interrupted update's leftover), remove a network or a volume, each
reporting through `on_event`; and unpausing, before a container stops, the paused ones
sharing its processes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from stackr.engine import Engine
from stackr.events import Event, OnEvent, Phase
from stackr.executor import Task
from stackr.leaving import ServiceNames
from stackr.plan import Action, ActionKind, ObjectKind, Plan
from stackr.spec.model import Stack


def grace(stack: Stack | None, action: Action) -> float:
    """How long a removed container is given to stop: its service's `stop_grace_period` in the
    file, else the one it was made with, else the engine's 10 s."""
    model = stack.services.get(action.service) if stack else None
    if model is not None:
        return model.stop_grace_period
    return action.stop_grace if action.stop_grace is not None else 10.0


def removal_order(action: Action, containers: list[Action], stack: Stack | None) -> frozenset[str]:
    # Stop dependents before what they depend on, as far as the current file tells.
    if stack is None or not action.service:
        return frozenset()
    dependents = stack.dependents(action.service)
    return frozenset(f"remove:{a.name}" for a in containers if a.service in dependents)


def remove_container_task(
    engine: Engine, action: Action, timeout: float, on_event: OnEvent
) -> Callable[[], None]:
    """Stop and remove `action`'s container; its volumes only with `down --volumes`."""
    name = action.name

    def run() -> None:
        on_event(Event(name, Phase.REMOVING))
        engine.remove_container(
            name, timeout=timeout, keep_volumes=not action.with_volumes, volumes=action.volumes
        )
        on_event(Event(name, Phase.DONE, "removed"))

    return run


def drained_first(
    engine: Engine,
    action: Action,
    drain: float,
    remove: Callable[[], None],
    on_event: OnEvent,
    names: ServiceNames,
) -> Callable[[], None]:
    """`remove`, once `action`'s container (a replica scaled down, whose service's other
    replicas serve on) has left the service's DNS names and answered the requests it has for
    `drain` seconds, as an old replica does in a start-first update."""
    name = action.name

    def run() -> None:
        on_event(Event(name, Phase.REMOVING, "leaving the service's names"))
        left = names.leave(name, action.endpoints)
        if left.cut:
            said = "; ".join(left.cut)
            on_event(Event(name, Phase.REMOVING, f"the requests it had in flight are cut {said}"))
        if left.kept:
            time.sleep(drain)  # Ctrl-C lets it finish, as it lets an engine call finish
        remove()

    return run


def up_removals(
    plan: Plan,
    stack: Stack,
    engine: Engine,
    on_event: OnEvent,
    names: ServiceNames,
) -> dict[str, Task]:
    """`up`'s container removals: the containers `stack` no longer has (a replica scaled down
    while others serve on drained first, dependents first), and an interrupted update's
    leftovers; `names` takes a replica scaled down off its service's names."""
    removed = [
        a for a in plan.actions if a.object is ObjectKind.CONTAINER and a.kind is ActionKind.REMOVE
    ]
    tasks: dict[str, Task] = {}
    for action in removed:
        if action.successor:
            tasks[f"remove:{action.name}"] = _leftover(plan, stack, engine, action, on_event)
            continue
        run = remove_container_task(engine, action, grace(stack, action), on_event)
        service = stack.services.get(action.service)
        if action.endpoints and service is not None:  # scaled down: the others serve on
            drain = service.update.drain
            run = drained_first(engine, action, drain, run, on_event, names)
        tasks[f"remove:{action.name}"] = Task(
            run, removal_order(action, removed, stack) | thawed([action], plan)
        )
    return tasks


def _leftover(plan: Plan, stack: Stack, engine: Engine, action: Action, on_event: OnEvent) -> Task:
    # Its anonymous volumes belong to its successor (shared, or to be taken over): keep them.
    # A successor being created takes them over first; one being recreated parks its old
    # container under this name, so this one must be gone before.
    successor = plan.action_for(ObjectKind.CONTAINER, action.successor)
    needs: frozenset[str] = frozenset()
    if successor is not None and successor.kind is ActionKind.CREATE:
        needs = frozenset({f"container:{action.successor}"})
    name = action.name
    # One cut short as it left the service's names may still answer requests: it is given
    # its stop grace period, as any container stackr removes.
    timeout = grace(stack, action)

    def run() -> None:
        on_event(Event(name, Phase.REMOVING, "left over from an interrupted update"))
        engine.remove_container(name, timeout=timeout, keep_volumes=True)
        on_event(Event(name, Phase.DONE, "removed"))

    return Task(run, needs)


def remove_object_task(
    remove: Callable[[str], None], name: str, on_event: OnEvent
) -> Callable[[], None]:
    def run() -> None:
        on_event(Event(name, Phase.REMOVING))
        remove(name)
        on_event(Event(name, Phase.DONE, "removed"))

    return run


def thaw_tasks(plan: Plan, engine: Engine, on_event: OnEvent) -> dict[str, Task]:
    """`thaw:<container>`: unpause each paused container sharing the processes of one the
    plan stops (`Action.thaw`); the task that stops that one needs it (`thawed`)."""
    tasks: dict[str, Task] = {}
    for action in plan.actions:
        for name in action.thaw:
            tasks[f"thaw:{name}"] = Task(_unpause(engine, name, action.name, on_event))
    return tasks


def thawed(actions: Iterable[Action], plan: Plan) -> frozenset[str]:
    """The unpause tasks that must come before these actions stop their containers: those of
    the paused containers sharing their processes, and their own when they are one of those
    (stopping or removing one while it is unpaused would race the unpause)."""
    frozen = {name for a in plan.actions for name in a.thaw}
    keys = {f"thaw:{name}" for a in actions for name in a.thaw}
    return frozenset(keys | {f"thaw:{a.name}" for a in actions if a.name in frozen})


def _unpause(engine: Engine, name: str, owner: str, on_event: OnEvent) -> Callable[[], None]:
    def run() -> None:
        on_event(Event(name, Phase.STARTING, f"unpausing: {owner} stops"))
        engine.unpause_container(name)
        on_event(Event(name, Phase.DONE, "unpaused"))

    return run
