"""Putting replicas back when an update of a service's replicas fails or is cut short, and
the steps the update shares with it.

`PutBack` is the base of `rollout.Rollout`, which holds the state: it starts a failing
stop-first batch's old replicas again (`_put_back`), puts back a replica the update had already
replaced (`_restore`, for `failure_action: rollback`), and restarts the containers sharing the
namespaces of a first replica run again (`_restart_sharers`). A replica put back serves again
under its own name and on the service's names, and is waited for as a new one is; what cannot
be started again is kept in `unrestored`, for the update's error to name. Taking a replica off
the service's names (`_leave`) and letting it drain (`_drain`) are shared with going forward.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress

from stackr.desired import ContainerSpec
from stackr.engine import ContainerStatus, Engine
from stackr.errors import EngineError
from stackr.leaving import Left, ServiceNames
from stackr.replicawait import NotReady, ReadyWait, WaitInterrupted
from stackr.spec.model import Service

NEXT = "-next"
PREV = "-prev"


def _in_use(status: ContainerStatus) -> bool:
    """Whether a container sharing another's namespaces was in use: running or paused, or
    ended with its owner's run (killed with it, as sharing processes does)."""
    return status.state in ("running", "restarting", "paused") or (
        status.state == "exited" and status.exit_code == 137
    )


class PutBack:
    """The replicas of one service an update works on, and how they are put back; the state
    is set by `Rollout`."""

    engine: Engine
    service: Service
    names: ServiceNames
    start_first: bool
    # The containers sharing the first replica's network or processes, with their grace periods.
    sharers: Mapping[str, float]
    # Each old replica's networks, with its DNS names there (`Action.endpoints`).
    endpoints: Mapping[str, Mapping[str, tuple[str, ...]]]
    # Replicas whose old container has begun to leave the service's names to stop (start-first,
    # or stop-first while the others serve): putting one back gives it its names again.
    left: set[str]
    unrestored: list[str]  # old replicas a failure could not start again
    wait: ReadyWait
    wait_timeout: float
    report: Callable[[str, str, str], None]

    def _drain(self) -> None:
        # The requests the leaving replicas have are in flight: Ctrl-C lets them finish, as it
        # lets an engine call finish (a second Ctrl-C stops waiting, and the process ends).
        time.sleep(self.service.update.drain)

    def _put_back(
        self,
        touched: list[ContainerSpec],
        parked: list[ContainerSpec],
        created: list[ContainerSpec],
        *,
        new: str = "",
    ) -> None:
        # The old replicas the batch stopped for new ones serve again; those it had not come
        # to (Ctrl-C came first) still serve. Each step is tried on its own; what fails is
        # left for the next plan to repair, and said. `new` is the suffix the new replicas
        # were made under.
        started: list[str] = []
        for spec in touched:
            if spec in created:
                with suppress(EngineError):
                    self.engine.remove_container(spec.name + new, timeout=0, keep_volumes=True)
            try:
                self._names_back(spec)
            except EngineError as error:
                self.unrestored.append(f"{spec.name} ({error})")
                continue
            if spec in parked:
                with suppress(EngineError):
                    self.engine.rename_container(spec.name + PREV, spec.name)
            try:
                self.names.start(spec.name)
            except EngineError as error:
                self.unrestored.append(f"{spec.name} ({error})")
                continue
            started.append(spec.name)
            self._restart_sharers(spec)
        self._await_put_back(started)

    def _names_back(self, spec: ContainerSpec) -> None:
        """A parked old replica (`-prev`) that left the service's names takes them back, before
        its own name: cut short, it is a leftover, never the replica off its names."""
        if spec.name in self.left:
            self.names.admit(spec.name + PREV, self._old_endpoints(spec))
            self.left.discard(spec.name)

    def _unpark(self, spec: ContainerSpec) -> None:
        """An old replica parked but never stopped takes its names back, then its own name."""
        try:
            self._names_back(spec)
            self.engine.rename_container(spec.name + PREV, spec.name)
        except EngineError as error:
            self.unrestored.append(f"{spec.name} ({error})")

    def _await_put_back(self, names: list[str]) -> None:
        # Said rolled back only once serving again, as the update waited for the new ones;
        # Ctrl-C ends the wait at once.
        try:
            self._await_ready(names, time.monotonic() + self.wait_timeout, put_back=True)
        except WaitInterrupted:
            pass
        except NotReady as error:
            self.unrestored.append(f"{error.name} ({error})")
        except EngineError as error:  # the engine would not say: the next plan looks again
            self.unrestored.append(f"{', '.join(names)} ({error})")

    def _restart_sharers(self, spec: ContainerSpec) -> None:
        # Each on its own; one that will not start is said, and is the next plan's.
        for name, grace in self.sharers.items() if spec.replica == 1 else ():
            try:
                status = self.engine.container_status(name)
            except EngineError:
                continue  # not made yet: it is made onto the current one
            if not _in_use(status):
                continue  # a one-shot that has run, or one never started: left as it is
            try:
                self.report(name, "starting", f"restarting onto the namespaces of {spec.name}")
                self.engine.stop_container(name, timeout=grace)
                self.names.start(name)
                self.report(name, "done", "restarted")
            except EngineError as error:
                self.report(name, "failed", str(error))
                self.unrestored.append(f"{name} (not restarted onto {spec.name}: {error})")

    def _leave(self, spec: ContainerSpec, container: str, networks: Iterable[str]) -> Left:
        """Take `container` (a replica of `spec`) off the service's names on `networks`, still
        answering what it has (`Left.kept`: worth draining), and say where it cannot."""
        left = self.names.leave(container, networks)
        if left.cut:
            said = "; ".join(left.cut)
            self.report(spec.name, "removing", f"the requests it had in flight are cut {said}")
        return left

    def _old_endpoints(self, spec: ContainerSpec) -> Mapping[str, tuple[str, ...]]:
        """The networks the old replica of `spec` is on, with its DNS names there."""
        found = self.endpoints.get(spec.name)
        return found if found is not None else {n: spec.aliases_on(n) for n in spec.networks}

    def _restore(self, spec: ContainerSpec) -> None:
        self.report(spec.name, "removing", "rolling back to the previous replica")
        prev = spec.name + PREV
        if self.start_first:
            # As going forward: the previous replica starts beside the new one, off the
            # service's names, and takes them back only once ready; the new one serves until
            # then. It goes back on its own networks, with its own names, as it was made.
            old = self._old_endpoints(spec)
            for network in old:
                self.engine.connect_container(prev, network, aliases=())
            self.names.start(prev)
            # Its own wait_timeout, whatever the failed forward step used up of the run's;
            # not ready in time, it is still the previous spec and takes the names anyway.
            with suppress(EngineError):
                self._await_ready([prev], time.monotonic() + self.wait_timeout, put_back=True)
            self.names.admit(prev, old)
            # Then the new one leaves the names and drains, as an old one going forward, under
            # a temporary name first: cut short, it is a `-next` the next plan removes.
            self.engine.rename_container(spec.name, spec.name + NEXT)
            self.engine.rename_container(prev, spec.name)
            if self._leave(spec, spec.name + NEXT, spec.networks).kept:
                self._drain()
            self.engine.remove_container(
                spec.name + NEXT, timeout=spec.stop_grace_period, keep_volumes=True
            )
        elif spec.name in self.left:
            # It left the names to stop while the others served: the new one leaves them the
            # same way, under a temporary name, and the previous one starts with them.
            self.engine.rename_container(spec.name, spec.name + NEXT)
            if self._leave(spec, spec.name + NEXT, spec.networks).kept:
                self._drain()
            self.engine.remove_container(
                spec.name + NEXT, timeout=spec.stop_grace_period, keep_volumes=True
            )
            self._names_back(spec)
            self.engine.rename_container(prev, spec.name)
            self.names.start(spec.name)  # a stop-first park left it stopped
        else:
            # Off the service's DNS name first, so no request reaches it as it stops.
            for network in spec.networks:
                self.engine.disconnect_container(spec.name, network)
            self.engine.remove_container(
                spec.name, timeout=spec.stop_grace_period, keep_volumes=True
            )
            self.engine.rename_container(prev, spec.name)
            self.names.start(spec.name)  # a stop-first park left it stopped
        self._restart_sharers(spec)
        if not self.start_first:
            self._await_put_back([spec.name])

    def _await_ready(self, names: list[str], deadline: float, *, put_back: bool = False) -> None:
        self.wait.until_ready(names, deadline, timeout=self.wait_timeout, put_back=put_back)
