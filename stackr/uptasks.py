"""The executor tasks of an `up` plan.

Every action becomes executor tasks, keyed so their order follows from what they need:

- `remove:<container>` stops and removes a REMOVE (an orphan, a surplus replica, a leftover of
  an interrupted run). It needs the removals of its dependents.
- `update:<svc>` replaces a service's recreated replicas by its `update` policy (`rollout`); it
  needs what the replicas need. `container:<name>` of such a replica only waits for it.
- `thaw:<container>` unpauses a paused container sharing the processes of one this `up` stops
  (`Action.thaw`): the task that stops that one needs it.
- `park:old-containers` stops and renames every old container on a recreated network, or
  between which a fixed host port moves (`Action.parked`), in one task (`parking`): Ctrl-C
  parks all of them or none. A new container (a created replica) needs it too.
- `network:<name>` creates, recreates or keeps; a recreate needs the parking and every REMOVE,
  and completes (runs after Ctrl-C) once the parking has begun.
- `volume:<name>` creates or keeps: `up` never removes a volume.
- `container:<name>` creates and starts, starts, or keeps. It needs its networks and volumes,
  the conditions of its `depends_on` and every REMOVE (they free host ports); a parked one's
  replacement also needs the parking, and completes once it has begun.
- `service:<svc>` does nothing; it stands for "every replica is up" and needs them.
- `wait:<svc>:<condition>` waits for `healthy`/`completed` on every replica of the service, only
  when a dependent is being (re)created; it needs `service:<svc>`.
- a network REMOVE needs every container removal, the parking and the updates.

The removal tasks themselves, shared with `down`, are in `removals`.

Creating a network or a volume needs nothing, so `first` hands those tasks out before the graph
exists: `apply` starts them while it builds the graph.

Progress goes out through `on_event`; nothing is printed. `apply` runs the tasks.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from stackr import joins
from stackr.desired import (
    DesiredState,
    desired_state,
)
from stackr.engine import Engine
from stackr.errors import Interrupted
from stackr.events import Event, OnEvent, Phase
from stackr.executor import Task, completing
from stackr.graph import Node, NodeKind, StackGraph
from stackr.leaving import ServiceNames
from stackr.observed import container_name, network_name, volume_name
from stackr.parking import PARK, bring_up, park_all
from stackr.plan import Action, ActionKind, ObjectKind, Plan
from stackr.readiness import ConditionWaiter
from stackr.removals import remove_object_task, thaw_tasks, thawed, up_removals
from stackr.rollout import PREV, Rollout
from stackr.spec.model import Condition, Service, Stack


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyOptions:
    """How the executor applies a plan: parallelism, waits, and the Ctrl-C flag."""

    jobs: int = 8
    wait_timeout: float = 300.0
    deadline: float = math.inf  # time.monotonic() by which all of the run's waits must end
    poll_interval: float = 0.1
    # Set on Ctrl-C: waits for health or completion give up instead of running out their time.
    stop: threading.Event = field(default_factory=threading.Event)
    # The one-shot jobs (services another waits on with `condition: completed`) of the whole
    # stack: a stack narrowed to some services may have lost the services that make them jobs.
    one_shot_jobs: frozenset[str] = frozenset()
    # Values masked in what stackr shows of containers' output (`desired.output_secrets`).
    secrets: frozenset[str] = frozenset()


def _noop() -> None:
    return None


class UpTasks:
    """Builds the executor tasks of an `up` plan (see the table in the module docstring)."""

    graph: StackGraph  # the one `build` orders the tasks along

    def __init__(
        self,
        plan: Plan,
        stack: Stack,
        engine: Engine,
        options: ApplyOptions,
        on_event: OnEvent,
    ) -> None:
        self.plan, self.stack, self.engine = plan, stack, engine
        self.options, self.on_event = options, on_event
        self.desired: DesiredState = desired_state(stack)
        self.tasks: dict[str, Task] = {}
        self.waiters: dict[str, ConditionWaiter] = {}
        # Replicas join and leave their service's names one at a time, and containers start
        # through it too, never while one leaves: two rejoining at once, or a start meanwhile,
        # would take the address given up (see `leaving`).
        self.names = ServiceNames(engine)
        # Removals free host ports, so creations wait for them; a leftover of an interrupted
        # update holds none (and may have volumes to hand over first), so it does not count.
        self.removals = frozenset(
            f"remove:{a.name}"
            for a in plan.actions
            if a.object is ObjectKind.CONTAINER and a.kind is ActionKind.REMOVE and not a.successor
        )
        self.parked = {
            a.successor: a.name
            for a in plan.actions
            if a.successor and a.name.endswith(PREV) and a.kind is ActionKind.REMOVE
        }
        # Parking the old containers (`Action.parked`) is one task: begun, it is finished.
        self.parking = frozenset({PARK} if any(a.parked for a in plan.actions) else ())
        self.parks: list[Action] = []
        # A removed network waits for its old containers to leave, replaced by a rollout too.
        self.updates = frozenset(
            f"update:{a.service}"
            for a in plan.actions
            if a.object is ObjectKind.CONTAINER and a.kind is ActionKind.RECREATE and not a.parked
        )
        # The jobs of the whole stack: a narrowed one may lack the services that make them jobs.
        self.jobs = options.one_shot_jobs | stack.jobs()

    def first(self) -> dict[str, Task]:
        """The tasks that can start before the graph exists: creating a network or a volume
        needs nothing else, so `apply` starts them while it builds the graph."""
        first: dict[str, Task] = {}
        for action in self.plan.actions:
            if action.kind is ActionKind.CREATE and action.object is ObjectKind.NETWORK:
                first[f"network:{action.name}"] = Task(
                    self._create_network(action.name, recreate=False)
                )
            elif action.kind is ActionKind.CREATE and action.object is ObjectKind.VOLUME:
                first[f"volume:{action.name}"] = Task(self._create_volume(action.name))
        return first

    def build(self, graph: StackGraph) -> dict[str, Task]:
        """Every task of the plan, ordered along `graph`."""
        self.graph = graph
        self.tasks |= up_removals(self.plan, self.stack, self.engine, self.on_event, self.names)
        self.tasks |= thaw_tasks(self.plan, self.engine, self.on_event)
        for action in self.plan.actions:
            if action.object is ObjectKind.NETWORK:
                self._network(action)
            elif action.object is ObjectKind.VOLUME:
                self._volume(action)
        for node in self.graph.nodes():
            if node.kind is NodeKind.SERVICE:
                self._service(node.name)
        for action in self.plan.actions:
            if action.object is ObjectKind.CONTAINER and action.kind is not ActionKind.REMOVE:
                self._container(action)
        if self.parks:
            self._park(self.parks)
        self._finish_what_replacements_need()
        return self.tasks

    def _finish_what_replacements_need(self) -> None:
        # What a replacement of a parked container needs still runs after Ctrl-C: giving up
        # would leave the old replica parked and its service down until the next `up`. A wait
        # waits on; a dependency's update, cut short, leaves its replicas serving (old or new)
        # and lets the replacement go on.
        for key in completing(self.tasks):
            if key in self.waiters:
                self.waiters[key].interruptible = False
            elif key.startswith("update:"):
                task = self.tasks[key]
                self.tasks[key] = replace(task, run=self._cut_short_is_done(key, task.run))

    def _cut_short_is_done(self, key: str, run: Callable[[], None]) -> Callable[[], None]:
        def finish() -> None:
            try:
                run()
            except Interrupted as interrupted:
                subject = f"{key.removeprefix('update:')} (update)"
                self.on_event(Event(subject, Phase.INTERRUPTED, str(interrupted)))

        return finish

    # -- networks and volumes ---------------------------------------------------------------

    def _network(self, action: Action) -> None:
        key = f"network:{action.name}"
        if action.kind is ActionKind.REMOVE:
            remove = remove_object_task(self.engine.remove_network, action.name, self.on_event)
            self.tasks[key] = Task(remove, self.removals | self.parking | self.updates)
        elif action.kind in (ActionKind.CREATE, ActionKind.RECREATE):
            recreate = action.kind is ActionKind.RECREATE
            needs = self.parking | self.removals if recreate else frozenset()
            # Once the old containers are parked, the replacements need the new network: after
            # Ctrl-C it is still made, so that they can still be completed.
            self.tasks[key] = Task(
                self._create_network(action.name, recreate=recreate),
                needs,
                completes=recreate,
                begun_by=PARK,
            )
        else:
            self.tasks[key] = Task(_noop)

    def _create_network(self, name: str, *, recreate: bool) -> Callable[[], None]:
        spec = self.desired.networks[name]

        def run() -> None:
            self.on_event(Event(name, Phase.CREATING))
            if recreate:
                self.engine.remove_network(name)
            self.engine.create_network(spec)
            self.on_event(Event(name, Phase.DONE, "recreated" if recreate else "created"))

        return run

    def _volume(self, action: Action) -> None:
        run = self._create_volume(action.name) if action.kind is ActionKind.CREATE else _noop
        self.tasks[f"volume:{action.name}"] = Task(run)

    def _create_volume(self, name: str) -> Callable[[], None]:
        spec = self.desired.volumes[name]

        def run() -> None:
            self.on_event(Event(spec.name, Phase.CREATING))
            self.engine.create_volume(spec)
            self.on_event(Event(spec.name, Phase.DONE, "created"))

        return run

    # -- services and their conditions -------------------------------------------------------

    def _service(self, service: str) -> None:
        replicas = [
            n
            for n in self.graph.predecessors(Node(NodeKind.SERVICE, service))
            if n.kind is NodeKind.REPLICA
        ]
        self.tasks[f"service:{service}"] = Task(
            _noop, frozenset(f"container:{self._name(r)}" for r in replicas)
        )
        conditions = self._conditions_asked(service)
        if service in self.jobs and self._changes(service):
            conditions.add(Condition.COMPLETED)  # a job run again: its failure fails this up
        for condition in conditions:
            names = [self._name(r) for r in replicas]
            waiter = ConditionWaiter(
                self.engine, service, names, condition, self.options, self.on_event
            )
            # A job run again (recreated, or restarted after it failed) is waited for even when
            # nothing that depends on it changes: its failure must fail this `up`.
            rerun = condition is Condition.COMPLETED and self._changes(service)
            run = waiter.run if rerun or self._dependent_changes(service, condition) else _noop
            key = f"wait:{service}:{condition.value}"
            self.waiters[key] = waiter
            self.tasks[key] = Task(run, frozenset({f"service:{service}"}))

    def _conditions_asked(self, service: str) -> set[Condition]:
        node = Node(NodeKind.SERVICE, service)
        found = {self.graph.condition(node, s) for s in self.graph.successors(node)}
        return {c for c in found if c is not None}

    def _changes(self, service: str) -> bool:
        return any(
            a.service == service and a.kind is not ActionKind.KEEP
            for a in self.plan.actions
            if a.object is ObjectKind.CONTAINER
        )

    def _dependent_changes(self, service: str, condition: Condition) -> bool:
        # A no-op up must not wait again: only wait when a dependent is about to be (re)made.
        node = Node(NodeKind.SERVICE, service)
        for replica in self.graph.successors(node):
            if self.graph.condition(node, replica) is not condition:
                continue
            action = self.plan.action_for(ObjectKind.CONTAINER, self._name(replica))
            if action is not None and action.kind is not ActionKind.KEEP:
                return True
        return False

    def _name(self, replica: Node) -> str:
        return container_name(self.stack.name, self.stack.profile, replica.name, replica.replica)

    # -- containers ----------------------------------------------------------------------------

    def _container(self, action: Action) -> None:
        node = Node(NodeKind.REPLICA, action.service, action.replica)
        needs = set(self.removals)
        for pred in self.graph.predecessors(node):
            needs.add(self._need_key(pred, node))
        service = self.stack.services[action.service]
        # A service's rollout replaces its changed replicas by its update policy, each new one
        # gated on being ready; a recreated network instead first loses its old containers
        # (`Action.parked`).
        if action.kind is ActionKind.RECREATE and not action.parked:
            key = f"update:{service.name}"
            if key not in self.tasks:
                # An interrupted update's leftovers go first: the rollout reuses their names.
                leftovers = {
                    f"remove:{a.name}"
                    for a in self.plan.actions
                    if a.successor and a.service == service.name
                }
                ours = [a for a in self.plan.actions if a.service == service.name]
                needs |= leftovers | thawed(ours, self.plan)
                self.tasks[key] = Task(self._rollout(service), frozenset(needs))
            self.tasks[f"container:{action.name}"] = Task(_noop, frozenset({key}))
            return
        recreate = action.kind is ActionKind.RECREATE
        if recreate:
            # The network is recreated, or a host port moves: the old containers stop first,
            # without waiting on conditions that need their replacements (that would be a cycle).
            self.parks.append(action)
            needs.add(PARK)
        elif action.kind is ActionKind.CREATE:
            needs |= self.parking  # a new replica may take a host port a parked container holds
        elif action.kind is ActionKind.RESTART:
            needs |= thawed([action], self.plan)
        # Once the old replicas are parked, their replacements run even after Ctrl-C.
        self.tasks[f"container:{action.name}"] = Task(
            self._bring_up(action), frozenset(needs), completes=recreate, begun_by=PARK
        )

    def _need_key(self, pred: Node, node: Node) -> str:
        if pred.kind is NodeKind.SERVICE:
            condition = self.graph.condition(pred, node) or Condition.STARTED
            return f"wait:{pred.name}:{condition.value}"
        naming = network_name if pred.kind is NodeKind.NETWORK else volume_name
        return f"{pred.kind.value}:{naming(self.stack.name, self.stack.profile, pred.name)}"

    def _park(self, actions: list[Action]) -> None:
        specs = [self.desired.containers[a.name] for a in actions]
        # The name -prev of each must be free: a leftover of an interrupted run goes first.
        needs = frozenset(f"remove:{self.parked[a.name]}" for a in actions if a.name in self.parked)
        needs |= thawed(actions, self.plan)
        park = park_all(self.engine, specs, jobs=self.options.jobs, on_event=self.on_event)
        self.tasks[PARK] = Task(park, needs)

    def _rollout(self, service: Service) -> Callable[[], None]:
        actions = [
            a
            for a in self.plan.actions
            if a.object is ObjectKind.CONTAINER
            and a.service == service.name
            and a.kind is ActionKind.RECREATE
            and not a.parked  # a replica on a recreated network is parked instead
        ]
        specs = [self.desired.containers[a.name] for a in actions]
        on_event = self.on_event

        def report(subject: str, phase: str, detail: str) -> None:
            on_event(Event(subject, Phase(phase), detail))

        rollout = Rollout(
            self.engine,
            service,
            sorted(specs, key=lambda spec: spec.replica),
            job=service.name in self.jobs,
            wait_timeout=self.options.wait_timeout,
            deadline=self.options.deadline,
            poll_interval=self.options.poll_interval,
            stopped=self.options.stop.is_set,
            report=report,
            secrets=self.options.secrets,
            endpoints={a.name: a.endpoints for a in actions},
            names=self.names,
            sharers=self._sharers(service),
        )
        return rollout.run

    def _sharers(self, service: Service) -> dict[str, float]:
        """The containers on the network of `service`'s first replica, with their stop grace
        periods: a rollback that runs the old one again restarts them onto it."""
        first = container_name(self.stack.name, self.stack.profile, service.name, 1)
        return {
            name: self.desired.containers[name].stop_grace_period
            for name in joins.sharers(self.stack, first)
            if name in self.desired.containers
        }

    def _bring_up(self, action: Action) -> Callable[[], None]:
        # A recreate parked the old container; a crash may have left one parked for a create.
        parked = action.kind is ActionKind.RECREATE or (
            action.kind is ActionKind.CREATE and action.name in self.parked
        )
        return bring_up(
            self.engine,
            self.desired.containers[action.name],
            action.kind,
            parked=parked,
            on_event=self.on_event,
            names=self.names,
        )
