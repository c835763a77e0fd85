"""Replacing a service's changed replicas by its `update` policy, batch by batch, gated on
each new replica being ready: start-first (updates without downtime) or stop-first.

Start-first, for each batch of `update.parallelism` replicas:
  1. start the new replica beside the old one as `{name}-next`, on the same networks but not
     yet under the service's DNS name, and wait until it is ready (healthy when it has a
     healthcheck, its own or its image's, else running), then watch it for `update.monitor` seconds;
  2. admit it to the service's DNS name (reconnect it with the alias), so both serve;
  3. park the old one as `{name}-prev` and give the new one the replica's name;
  4. take the old one off the service's DNS names, still answering the requests it has
     (`leaving`), let it answer them for `update.drain` seconds (once for the batch), then
     stop it, giving it its stop grace period.
A new replica that never turns ready was never given the service's name or aliases.
When the last batch is done the parked replicas are removed. When a new replica does not turn
ready, it is removed and the old ones of its batch keep serving; with `failure_action: rollback`
the replicas this run replaced are put back from their parked containers, with `pause` the
replaced ones stay. Either way the update fails with a message that says which happened.
Stop-first, for each batch: stop the old replica and park it as `{name}-prev`, create and
start the new one in its place (it takes over the old one's anonymous volumes), and wait until
it is ready as above. When other replicas may serve (the service has more than the batch,
on networks of its own, and no fixed host port), the old one first leaves the service's DNS
names and drains as in step 4, and the new one starts off them as `{name}-next` and takes
them, and the replica's name, only once ready, as in steps 1 to 3. When one does not turn
ready, the batch's new replicas are removed and its old ones started again (back on the
names); `failure_action` then applies as for start-first.
Ctrl-C is no failure of the new spec: the batch in flight is put back as on a failure, but the
batches already replaced stay replaced, no new batch starts, and the update says how far it got.
A crash part-way leaves `-next`/`-prev` containers that the next plan removes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import replace

from stackr.desired import ContainerSpec, anonymous_targets, with_carried
from stackr.engine import Engine
from stackr.errors import EngineError, Interrupted
from stackr.leaving import Left, ServiceNames
from stackr.putback import NEXT, PREV, PutBack
from stackr.replicawait import NotReady, ReadyWait, WaitInterrupted
from stackr.spec.model import FailureAction, Service

__all__ = ["NEXT", "PREV", "Rollout"]


def _failed(batch: list[ContainerSpec], error: EngineError, at: ContainerSpec) -> ContainerSpec:
    """The replica of `batch` a failure is about: the one named by a readiness failure, else
    `at`, the one being worked on when it came."""
    if isinstance(error, NotReady):
        named = (s for s in batch if error.name in (s.name, s.name + NEXT))
        return next(named, at)
    return at


class Rollout(PutBack):
    """Replaces `specs` (the new specs of one service's changed replicas), start-first when
    the service can be, else stop-first."""

    def __init__(
        self,
        engine: Engine,
        service: Service,
        specs: list[ContainerSpec],
        *,
        job: bool = False,
        wait_timeout: float,
        deadline: float = math.inf,
        poll_interval: float,
        stopped: Callable[[], bool],
        report: Callable[[str, str, str], None],
        secrets: frozenset[str] = frozenset(),
        endpoints: Mapping[str, Mapping[str, tuple[str, ...]]] | None = None,
        sharers: Mapping[str, float] | None = None,
        names: ServiceNames | None = None,
    ) -> None:
        self.engine, self.service, self.specs = engine, service, specs
        # The containers sharing the first replica's network or processes (`network_mode:` or
        # `pid: service:`), with their stop grace periods: an old first replica run again has
        # new namespaces, which they join by restarting.
        self.sharers = sharers or {}
        # How replicas join and leave the service's names: `up` gives every rollout and
        # removal the same, so that two never rejoin at once and swap addresses.
        self.names = names if names is not None else ServiceNames(engine)
        self.unrestored, self.left = [], set()  # see `PutBack`
        # Each old replica's networks, with its DNS names there (`Action.endpoints`): where a
        # swap takes it off, and a rollback puts it back, though the new spec's differ.
        self.endpoints = endpoints or {}
        # Each new replica may wait `wait_timeout`, and all of them no later than `deadline`:
        # `--wait-timeout` bounds all of an `up`'s waits together.
        self.wait_timeout, self.deadline = wait_timeout, deadline
        self.poll_interval = poll_interval
        self.stopped, self.report = stopped, report
        self.replaced: list[ContainerSpec] = []
        # A one-shot job (another service waits for it to complete) runs once, to its end: its
        # new run is ready when it exits 0, and there is no old run to keep serving.
        self.job = job
        self.start_first = service.start_first() and not job
        self.wait = ReadyWait(
            engine=engine,
            service=service,
            job=job,
            # A test of its own is checked for sure; without one, the image's may check it,
            # and then the engine reports a health.
            has_check=any(
                s.healthcheck and s.healthcheck.test not in ((), ("NONE",)) for s in specs
            ),
            secrets=secrets,
            poll_interval=poll_interval,
            stopped=stopped,
        )

    def run(self) -> None:
        policy = self.service.update
        batches = [
            self.specs[i : i + policy.parallelism]
            for i in range(0, len(self.specs), policy.parallelism)
        ]
        for number, batch in enumerate(batches):
            if number and policy.delay:
                self._pause(policy.delay)
            if self.stopped():
                self._interrupted()  # no new batch once interrupted
            if self.start_first:
                self._batch(batch)
            else:
                self._stop_first(batch)
        self._keep_replaced()

    def _pause(self, seconds: float) -> None:
        # The delay between batches; Ctrl-C ends it at once.
        deadline = time.monotonic() + seconds
        while not self.stopped() and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, self.poll_interval))

    def _keep_replaced(self) -> None:
        for spec in self.replaced:
            self.engine.remove_container(spec.name + PREV, timeout=0, keep_volumes=True)

    def _interrupted(self, new_runs: int = 0) -> None:
        # The batches already replaced stay replaced; the next `up` replaces the rest.
        self._keep_replaced()
        name = self.service.name
        if self.job:
            left = (
                f"{new_runs} new run(s) started and go on, not waited for"
                if new_runs
                else "its new run was not started, and its previous run is not run again"
            )
            raise Interrupted(
                f"the run of {name} (a job) was interrupted: {left}",
                hint="run `stackr up` again: it sees how the job ends",
            )
        done, total = len(self.replaced), len(self.specs)
        raise Interrupted(
            f"update of {name} interrupted: {done} of the {total} replica(s) it was replacing "
            "run the new spec, the others the previous one",
            hint="run `stackr up` again to finish the update",
        )

    def _check(self) -> None:
        # Between the steps of a batch: after Ctrl-C, no further replica is touched.
        if self.stopped():
            raise WaitInterrupted("interrupted")

    def _batch(self, batch: list[ContainerSpec]) -> None:
        at = batch[0]
        try:
            for spec in batch:
                at = spec  # the replica a failure here is about
                self._check()
                self.report(spec.name, "creating", "new replica beside the old one")
                # It shares the old one's anonymous volumes, so their data carries over.
                carried = self.engine.anonymous_volumes(spec.name, anonymous_targets(spec))
                next_spec = with_carried(
                    replace(spec, name=spec.name + NEXT, aliases=(), network_aliases={}), carried
                )
                self.engine.create_container(next_spec)
                self.names.start(spec.name + NEXT)
            self._await_ready([spec.name + NEXT for spec in batch], self._ready_by())
        except EngineError as error:
            for spec in batch:
                # A failed clean-up must not hide why the update failed: the next plan
                # removes what is left ("left over from an interrupted update").
                with suppress(EngineError):
                    self.engine.remove_container(spec.name + NEXT, timeout=0, keep_volumes=True)
            if isinstance(error, WaitInterrupted):
                self._interrupted()
            self._give_up(_failed(batch, error, at), error)
        # Every new replica of the batch serves before an old one leaves; the old ones then
        # drain together, once, and stop.
        for spec in batch:
            self._admit(spec)
            # Renamed before it leaves the names: an update cut short from here on leaves a
            # `-prev`, which the next plan removes, never an old replica under the replica's
            # name but off the service's names (the plan cannot see aliases).
            self.engine.rename_container(spec.name, spec.name + PREV)
            self.engine.rename_container(spec.name + NEXT, spec.name)
        left = self._leave_and_drain(batch)
        for spec in batch:
            self.engine.stop_container(spec.name + PREV, timeout=spec.stop_grace_period)
            self.replaced.append(spec)
            cut = left[spec.name].cut  # said as it happened
            said = "replaced; the old one's requests in flight were cut" if cut else ""
            self.report(spec.name, "done", said or "replaced without downtime")

    def _leave_and_drain(self, batch: list[ContainerSpec]) -> dict[str, Left]:
        """The batch's old replicas, parked as `-prev`, leave the service's names one after
        another, then drain together, once; what each leave did, by replica."""
        left: dict[str, Left] = {}
        for spec in batch:
            self.left.add(spec.name)  # from here on, a put-back gives it the names back
            left[spec.name] = self._leave(spec, spec.name + PREV, self._old_endpoints(spec))
        if any(done.kept for done in left.values()):
            self._drain()
        return left

    def _stop_first(self, batch: list[ContainerSpec]) -> None:
        # Other replicas serve while this batch is replaced, under names of the stack's
        # networks (on the host's or another service's network there are none to leave).
        # Not with a fixed host port: leaving a network drops it at once, and a leftover cut
        # short while draining would still hold it when the next `up` starts the replica.
        fixed = any(rule.host_start is not None for rule in self.service.ports)
        serving = self.service.networks and self.service.replicas > len(batch)
        if serving and not fixed and not self.job:
            self._stop_first_serving(batch)
            return
        touched: list[ContainerSpec] = []  # its stop was asked for
        parked: list[ContainerSpec] = []
        created: list[ContainerSpec] = []
        at = batch[0]
        try:
            for spec in batch:
                at = spec  # the replica a failure here is about
                self._check()
                self.report(spec.name, "removing", "stopping the old replica")
                touched.append(spec)
                self.engine.stop_container(spec.name, timeout=spec.stop_grace_period)
                self.engine.rename_container(spec.name, spec.name + PREV)
                parked.append(spec)
                self._check()  # Ctrl-C while it stopped: it is put back, not replaced
                self.report(spec.name, "creating", "new replica in its place")
                carried = self.engine.anonymous_volumes(spec.name + PREV, anonymous_targets(spec))
                self.engine.create_container(with_carried(spec, carried))
                created.append(spec)
                self.names.start(spec.name)
            self._await_ready([spec.name for spec in batch], self._ready_by())
        except EngineError as error:
            if self.job:
                self._job_settle(parked, created)
                if isinstance(error, WaitInterrupted):
                    self._interrupted(new_runs=len(created))
                self._job_failed(_failed(batch, error, at), error)
            self._put_back(touched, parked, created)
            if isinstance(error, WaitInterrupted):
                self._interrupted()
            self._give_up(_failed(batch, error, at), error)
        for spec in batch:
            self.replaced.append(spec)
            self.report(spec.name, "done", "recreated")

    def _stop_first_serving(self, batch: list[ContainerSpec]) -> None:
        """Stop-first while the service's other replicas serve: each old replica of the batch
        leaves the service's names and drains before it stops, and its replacement starts off
        them as `-next`, taking them (and the replica's name) only once ready."""
        parked: list[ContainerSpec] = []
        stopped: list[ContainerSpec] = []
        created: list[ContainerSpec] = []
        at = batch[0]
        try:
            for spec in batch:
                at = spec
                self._check()
                self.report(spec.name, "removing", "leaving the service's names first")
                # Parked before it leaves the names, as in a start-first update: cut short
                # from here on, the replica's name is free and the next plan fills it.
                self.engine.rename_container(spec.name, spec.name + PREV)
                parked.append(spec)
            self._leave_and_drain(batch)
            self._check()  # Ctrl-C during the drain: none was stopped, all are put back
            for spec in batch:
                at = spec
                self.report(spec.name, "removing", "stopping the old replica")
                stopped.append(spec)
                self.engine.stop_container(spec.name + PREV, timeout=spec.stop_grace_period)
                self._check()  # Ctrl-C while it stopped: it is put back, not replaced
                self.report(spec.name, "creating", "new replica in its place")
                carried = self.engine.anonymous_volumes(spec.name + PREV, anonymous_targets(spec))
                next_spec = replace(spec, name=spec.name + NEXT, aliases=(), network_aliases={})
                self.engine.create_container(with_carried(next_spec, carried))
                created.append(spec)
                self.names.start(spec.name + NEXT)
            self._await_ready([spec.name + NEXT for spec in batch], self._ready_by())
        except EngineError as error:
            for spec in parked:
                if spec not in stopped:
                    self._unpark(spec)  # never stopped: it only takes its name back
            self._put_back(stopped, stopped, created, new=NEXT)
            if isinstance(error, WaitInterrupted):
                self._interrupted()
            self._give_up(_failed(batch, error, at), error)
        for spec in batch:
            self._admit(spec)
            self.engine.rename_container(spec.name + NEXT, spec.name)
            self.replaced.append(spec)
            self.report(spec.name, "done", "recreated; the old one left the service's names first")

    def _job_settle(self, parked: list[ContainerSpec], created: list[ContainerSpec]) -> None:
        # An old run is never started again: it would run the old job (a migration, say) once
        # more. Where the new run exists it stays, running on or failed with its output, and the
        # next `up` sees to it; where it does not, the old one takes its name back, exited as
        # it was.
        for spec in parked:
            with suppress(EngineError):
                if spec in created:
                    self.engine.remove_container(spec.name + PREV, timeout=0, keep_volumes=True)
                else:
                    self.engine.rename_container(spec.name + PREV, spec.name)

    def _job_failed(self, spec: ContainerSpec, error: EngineError) -> None:
        self._keep_replaced()
        raise EngineError(
            f"{self.service.name} (a job) failed at {spec.name}: {error}",
            hint=f"fix it (stackr logs {self.service.name}) and run `stackr up` again: it runs "
            "the job again",
        )

    def _admit(self, spec: ContainerSpec) -> None:
        self.names.admit(spec.name + NEXT, {n: spec.aliases_on(n) for n in spec.networks})

    def _give_up(self, spec: ContainerSpec, error: EngineError) -> None:
        rollback = self.service.update.failure_action is FailureAction.ROLLBACK
        if rollback:
            for done in reversed(self.replaced):
                self._restore(done)
            outcome = "rolled back: every replica runs the previous spec"
            if self.unrestored:
                outcome = "rolled back, but not everything runs again: " + ", ".join(
                    self.unrestored
                )
        else:
            for done in self.replaced:
                self.engine.remove_container(done.name + PREV, timeout=0, keep_volumes=True)
            count = len(self.replaced)
            outcome = f"paused: {count} replica(s) run the new spec, the others the previous one"
            first = next((done for done in self.replaced if done.replica == 1), None)
            if self.sharers and first is not None:
                # Their container is gone and they cannot join the new one: their recreate
                # waits for the whole service, which failed.
                outcome += (
                    f"; {', '.join(self.sharers)} shared the namespaces of the previous "
                    f"{first.name} and are without them until an up gets past "
                    f"{self.service.name}"
                )
            if self.unrestored:
                outcome += f"; not started again: {', '.join(self.unrestored)}"
        raise EngineError(
            f"update of {self.service.name} failed at {spec.name}: {error}; {outcome}",
            hint=f"fix the service (stackr logs {self.service.name}) and run `stackr up` again",
        )

    def _ready_by(self) -> float:
        # Each new replica may wait `wait_timeout`, all of the run's waits no later than
        # `deadline`.
        return min(time.monotonic() + self.wait_timeout, self.deadline)
