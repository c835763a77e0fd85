"""The use cases behind the commands: validate, config, plan, up, down, ps, logs (and, from
`fileviews`, diff and config --variables).

Each takes parsed options and an Engine, returns a value, and never prints; the CLI renders.
`validate` and `config` need only `stackr.spec`: the graph, the planner and the executor (and
networkx with them) are imported by the use cases that need them, to keep those commands fast.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackr import images, joins
from stackr.errors import ApplyError
from stackr.events import OnEvent, ignore_event
from stackr.externals import externals, refuse_missing
from stackr.fileviews import VariableRow, diff, variables
from stackr.restarts import asked_times, with_times
from stackr.running import ContainerRow as ContainerRow
from stackr.running import logs as logs
from stackr.running import ps as ps
from stackr.spec import load_stack
from stackr.spec.model import Stack

if TYPE_CHECKING:
    from stackr.apply import ApplyResult
    from stackr.engine import Engine
    from stackr.graph import StackGraph
    from stackr.observed import ObservedState
    from stackr.plan import Plan

# `stackr diff` and `config --variables` need no engine: their use cases live in `fileviews`.
__all__ = [
    "ContainerRow",
    "DownResult",
    "Loaded",
    "UpOptions",
    "UpResult",
    "VariableRow",
    "config",
    "diff",
    "down",
    "identity",
    "load",
    "logs",
    "plan",
    "ps",
    "up",
    "validate",
    "variables",
]


class Loaded:
    """A stack read from its files, and its dependency graph, built the first time it is asked
    for: a `plan`, or an `up` with nothing to do, never needs it, and networkx alone takes about
    0.1 s to import."""

    __slots__ = ("_graph", "narrowed", "stack", "whole")

    def __init__(self, *, stack: Stack, narrowed: bool = False, whole: Stack | None = None) -> None:
        self.stack = stack
        self.narrowed = narrowed  # only some services (and their dependencies): see `only`
        self.whole = whole or stack  # the stack before it was narrowed
        self._graph: StackGraph | None = None

    def only(self, services: Sequence[str]) -> Loaded:
        """The stack narrowed to `services` and what they depend on, as `up web` does in
        Compose; the others are left as they are (`stackr.selection`). No names: all.

        Raises:
            StackrError: a name is not a service of the stack.
        """
        if not services:
            return self
        from stackr.selection import narrowed

        return Loaded(stack=narrowed(self.stack, services), narrowed=True, whole=self.stack)

    @property
    def graph(self) -> StackGraph:
        if self._graph is None:
            from stackr.graph import build_graph

            self._graph = build_graph(self.stack)
        return self._graph


@dataclass(frozen=True, slots=True, kw_only=True)
class UpOptions:
    """How `up` runs: its parallelism, whether it builds, and what it waits for."""

    jobs: int = 8
    build: bool = False
    wait: bool = False  # after applying, wait until services are ready and jobs are done
    wait_timeout: float = 300.0
    # Where stackr records when it pulled each image, for pull_policy periods (`pulls`);
    # None: no record, so a period's pull is always due.
    pull_record: Path | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UpResult:
    """What `up` did: the plan it executed, each task's outcome, and the time it took."""

    plan: Plan
    result: ApplyResult | None  # None when nothing was pending: the executor did not run
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class DownResult:
    """What `down` did, with the warnings it finished despite (a network dockerd kept)."""

    plan: Plan
    result: ApplyResult
    warnings: tuple[str, ...]
    seconds: float


def validate(
    files: Sequence[str],
    *,
    profile: str,
    env: Mapping[str, str] | None = None,
    env_files: Sequence[str] = (),
) -> Stack:
    """The stack in `files` for `profile`, checked (cycles included) but without its graph.

    Raises:
        SpecError: any problem in the files, all of them, sorted.
    """
    return load_stack(files, profile=profile, env=env, env_files=env_files)


def load(
    files: Sequence[str],
    *,
    profile: str,
    env: Mapping[str, str] | None = None,
    env_files: Sequence[str] = (),
) -> Loaded:
    """The stack in `files` for `profile`, with its dependency graph (built on first use).

    Raises:
        SpecError: any problem in the files (a `depends_on` cycle included).
    """
    return Loaded(stack=validate(files, profile=profile, env=env, env_files=env_files))


def identity(files: Sequence[str], *, profile: str) -> tuple[str, str | None]:
    """The stack's name and the profile's engine, read without loading the stack (see
    `stackr.spec.stack_identity`)."""
    from stackr.spec import stack_identity

    return stack_identity(files, profile=profile)


def config(stack: Stack) -> dict[str, Any]:
    """The effective stack for its profile, normalised, as a stack file that renders to it."""
    from stackr.spec.render import config_document

    return config_document(stack)


def plan(loaded: Loaded, engine: Engine) -> Plan:
    """What `up` would do now.

    Raises:
        EngineError: the engine cannot be reached.
        StackrError: services were named and a network they use must be recreated while
            containers of other services are on it, or a container whose network or
            processes those share replaced or run again; or an external network or volume
            the services use is missing.
    """
    from stackr.fit import with_fit_notes

    stack = images.with_build_digests(loaded.stack, engine)
    return with_fit_notes(_plan(stack, engine, loaded=loaded)[0], stack, engine)


def _plan(stack: Stack, engine: Engine, *, loaded: Loaded) -> tuple[Plan, ObservedState]:
    from stackr.plan import make_plan

    networks, volumes = externals(stack)
    observed = engine.observe(
        stack.name,
        stack.profile,
        images=images.image_refs(stack),
        external_networks=networks,
        external_volumes=volumes,
    )
    refuse_missing(stack, observed, networks, volumes)
    asked = (*asked_times(stack, observed), *joins.asked_times(stack, observed))
    if asked:
        # Whether a `depends_on.restart` dependent started after its dependency was made, and
        # whether a network's owner started after a replica joined it.
        observed = with_times(observed, engine.start_times(tuple(dict.fromkeys(asked))))
    if not loaded.narrowed:
        return make_plan(stack, observed), observed
    from stackr.plan import ActionKind, ObjectKind
    from stackr.selection import narrowed_state, refuse_harm_to_others

    the_plan = make_plan(stack, narrowed_state(observed, stack))
    pending = the_plan.pending()
    containers = [a for a in pending if a.object is ObjectKind.CONTAINER]
    again = (ActionKind.START, ActionKind.RESTART)
    refuse_harm_to_others(
        observed,
        stack,
        networks=[
            a.name
            for a in pending
            if a.object is ObjectKind.NETWORK and a.kind is ActionKind.RECREATE
        ],
        sharers=joins.left_behind(
            loaded.whole,
            stack,
            observed,
            replaced=[a.name for a in containers if a.kind is ActionKind.RECREATE],
            run_again=[a.name for a in containers if a.kind in again],
        ),
    )
    return the_plan, observed


def _check_externals(stack: Stack, engine: Engine) -> None:
    networks, volumes = externals(stack)
    if networks or volumes:
        observed = engine.observe(
            stack.name, stack.profile, external_networks=networks, external_volumes=volumes
        )
        refuse_missing(stack, observed, networks, volumes)


def up(
    loaded: Loaded, engine: Engine, *, options: UpOptions, on_event: OnEvent = ignore_event
) -> UpResult:
    """Make the engine hold the stack: build/pull what is missing, then apply the plan.

    Raises:
        EngineError: the engine cannot be reached, or an image can be neither found nor built.
        StackrError: services were named and a network they use must be recreated while
            containers of other services are on it, or a container whose network or
            processes those share replaced or run again; or an external network or volume
            the services use is missing (before anything changes).
        ApplyError: some objects failed; the others were applied.
    """
    from stackr.fit import refuse_unfit
    from stackr.plan import ActionKind

    started = time.monotonic()
    deadline = started + options.wait_timeout  # all of this run's waits, together
    stack = images.with_build_digests(loaded.stack, engine)
    checked = False
    if images.refreshes(stack, build=options.build):
        _check_externals(stack, engine)  # before builds or pulls that may take minutes
        refuse_unfit(stack, engine, stack.services)  # the plan, which would narrow it, is after
        checked = True
        from stackr.pulls import PullRecord

        record = PullRecord(options.pull_record) if options.pull_record else None
        images.refresh_images(
            stack, engine, build=options.build, now=time.time(), pulls=record, on_event=on_event
        )
    the_plan, observed = _plan(stack, engine, loaded=loaded)
    changing = {
        a.service for a in the_plan.pending() if a.kind in (ActionKind.CREATE, ActionKind.RECREATE)
    }
    if not checked:
        refuse_unfit(stack, engine, changing)  # before builds and pulls, and before any change
    images.ensure_images(
        stack,
        engine,
        build=False,
        services=changing,
        present=observed.images,
        on_event=on_event,
    )
    # With nothing pending every task would be a no-op: skip the executor, and with it the
    # graph and networkx, which would be most of a no-op `up`'s time.
    result = (
        _apply(loaded, stack, engine, the_plan, options, deadline, on_event)
        if the_plan.pending()
        else None
    )
    if options.wait:
        from stackr.apply import ApplyOptions
        from stackr.desired import output_secrets
        from stackr.readiness import wait_until_ready

        apply_options = ApplyOptions(
            jobs=options.jobs,
            wait_timeout=options.wait_timeout,
            deadline=deadline,
            secrets=output_secrets(stack),
        )
        jobs = loaded.whole.jobs()  # a narrowed stack may lack what waits on a job
        wait_until_ready(stack, engine, options=apply_options, on_event=on_event, jobs=jobs)
    return UpResult(plan=the_plan, result=result, seconds=time.monotonic() - started)


def _apply(
    loaded: Loaded,
    stack: Stack,
    engine: Engine,
    the_plan: Plan,
    options: UpOptions,
    deadline: float,
    on_event: OnEvent,
) -> ApplyResult:
    from stackr.apply import ApplyOptions, apply_plan
    from stackr.desired import output_secrets

    apply_options = ApplyOptions(
        jobs=options.jobs,
        wait_timeout=options.wait_timeout,
        deadline=deadline,
        one_shot_jobs=loaded.whole.jobs(),
        secrets=output_secrets(stack),
    )
    result = apply_plan(
        the_plan, stack, lambda: loaded.graph, engine, options=apply_options, on_event=on_event
    )
    if result.failures():
        raise ApplyError(
            result.failures(),
            hint="fix the cause and run `stackr up` again: it picks up where this stopped",
        )
    return result


def down(
    stack: str,
    profile: str,
    engine: Engine,
    *,
    volumes: bool,
    loaded: Loaded | None = None,
    jobs: int = 8,
    on_event: OnEvent = ignore_event,
) -> DownResult:
    """Remove the profile's containers and networks (and volumes with `volumes`).

    A network the engine refuses to remove is reported as a warning, not a failure: the next
    `up` finds it by label and reuses it.

    Raises:
        EngineError: the engine cannot be reached.
        ApplyError: a container or volume could not be removed.
    """
    from stackr.apply import ApplyOptions, apply_removals
    from stackr.downplan import make_down_plan

    started = time.monotonic()
    observed = engine.observe(stack, profile)
    the_plan = make_down_plan(stack, profile, observed, volumes=volumes)
    result = apply_removals(
        the_plan,
        engine,
        options=ApplyOptions(jobs=jobs),
        stack=loaded.stack if loaded else None,
        on_event=on_event,
    )
    network_names = {n.name for n in observed.networks}
    failures = {k: v for k, v in result.failures().items() if k not in network_names}
    warnings = tuple(
        f"network {k} was not removed: {v}"
        for k, v in sorted(result.failures().items())
        if k in network_names
    )
    if failures:
        raise ApplyError(failures, hint="run `stackr down` again once the cause is fixed")
    return DownResult(
        plan=the_plan, result=result, warnings=warnings, seconds=time.monotonic() - started
    )
