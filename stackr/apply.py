"""Carries out a Plan on an Engine, along the stack's dependency graph: `apply_plan` for `up`,
`apply_removals` for `down`. `uptasks` turns a plan into executor tasks (its docstring has the
table of what waits for what); this module runs them and reports each object's outcome.

Progress goes out through `on_event`; nothing is printed.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from stackr.engine import Engine
from stackr.events import Event, OnEvent, Phase, ignore_event
from stackr.executor import Outcome, Status, Task, run_tasks
from stackr.graph import StackGraph
from stackr.plan import ActionKind, ObjectKind, Plan
from stackr.removals import (
    grace,
    removal_order,
    remove_container_task,
    remove_object_task,
    thaw_tasks,
    thawed,
)
from stackr.spec.model import Stack
from stackr.uptasks import ApplyOptions, UpTasks

__all__ = ["ApplyOptions", "ApplyResult", "apply_plan", "apply_removals"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyResult:
    """Each task's outcome, by task name, after the executor has run a plan."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def failures(self) -> dict[str, str]:
        return {k: o.detail for k, o in self.outcomes.items() if o.status is Status.FAILED}


def apply_plan(
    plan: Plan,
    stack: Stack,
    graph: Callable[[], StackGraph],
    engine: Engine,
    *,
    options: ApplyOptions,
    on_event: OnEvent = ignore_event,
) -> ApplyResult:
    """Execute `plan` for `stack`; every object's outcome, failures included.

    `graph` is called once the new networks and volumes are being created: building it (and
    importing networkx, about 0.1 s) then overlaps with the engine's work instead of coming
    before it.
    """
    up = UpTasks(plan, stack, engine, options, on_event)
    first = up.first()
    if not first:
        return _run(up.build(graph()), options, on_event)
    workers = min(options.jobs, len(first))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stackr-first") as pool:
        started = {key: pool.submit(task.run) for key, task in first.items()}
        tasks = up.build(graph())
        # The executor's task for each of them waits for it: its failure fails that task and
        # skips what needs it, as if the executor had run it.
        tasks.update({key: Task(future.result) for key, future in started.items()})
        return _run(tasks, options, on_event)


def apply_removals(
    plan: Plan,
    engine: Engine,
    *,
    options: ApplyOptions,
    stack: Stack | None = None,
    on_event: OnEvent = ignore_event,
) -> ApplyResult:
    """Execute a plan of removals (`down`): containers, dependents first, then networks and
    volumes. `stack` (the current file, when it loads) orders the containers and gives
    their stop grace periods."""
    containers = [
        a for a in plan.actions if a.kind is ActionKind.REMOVE and a.object is ObjectKind.CONTAINER
    ]
    tasks = {
        f"remove:{a.name}": Task(
            remove_container_task(engine, a, grace(stack, a), on_event),
            removal_order(a, containers, stack) | thawed([a], plan),
        )
        for a in containers
    }
    after = frozenset(tasks)
    tasks |= thaw_tasks(plan, engine, on_event)
    for action in plan.actions:
        if action.kind is not ActionKind.REMOVE or action.object is ObjectKind.CONTAINER:
            continue
        remove = (
            engine.remove_network if action.object is ObjectKind.NETWORK else engine.remove_volume
        )
        tasks[f"{action.object.value}:{action.name}"] = Task(
            remove_object_task(remove, action.name, on_event), after
        )
    return _run(tasks, options, on_event)


def _run(tasks: dict[str, Task], options: ApplyOptions, on_event: OnEvent) -> ApplyResult:
    def skipped(key: str, cause: str) -> None:
        if _shown(key):
            on_event(Event(_subject(key), Phase.SKIPPED, _failed(cause)))

    def failed(key: str, detail: str) -> None:
        # Said as it happens, not once everything else has finished.
        on_event(Event(_subject(key), Phase.FAILED, detail))

    def interrupted(key: str, detail: str) -> None:
        on_event(Event(_subject(key), Phase.INTERRUPTED, detail))

    outcomes = run_tasks(
        tasks,
        jobs=options.jobs,
        on_skip=skipped,
        on_fail=failed,
        on_interrupt=interrupted,
        stop=options.stop,
    )
    by_subject: dict[str, Outcome] = {}
    for key, outcome in outcomes.items():
        if not _shown(key):
            continue
        # Several tasks share a subject (a recreate's removal and creation): the worst counts.
        known = by_subject.get(_subject(key))
        if known is None or _SEVERITY[outcome.status] > _SEVERITY[known.status]:
            by_subject[_subject(key)] = outcome
    return ApplyResult(outcomes=by_subject)


_SEVERITY = {Status.DONE: 0, Status.SKIPPED: 1, Status.FAILED: 2}


def _subject(key: str) -> str:
    kind, _, rest = key.partition(":")
    if kind == "wait":
        service, _, condition = rest.partition(":")
        return f"{service} ({condition})"
    return f"{rest} (update)" if kind == "update" else rest


def _failed(key: str) -> str:
    """Why a task's dependents were skipped, in the words of the task that failed."""
    kind, _, rest = key.partition(":")
    if kind == "wait":
        service, _, condition = rest.partition(":")
        verb = {"completed": "complete", "healthy": "turn healthy"}.get(condition, "start")
        return f"{service} did not {verb}"
    if kind == "update":
        return f"the update of {rest} failed"
    return f"{rest} failed"


def _shown(key: str) -> bool:
    return not key.startswith("service:")
