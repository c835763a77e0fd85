"""Waiting for the replicas an update starts to be ready: a new replica before it takes the
service's names (or before the next batch), an old one a failure puts back before `up` says it
serves again. Ready is healthy where a healthcheck says (the replica's own, or its image's),
else running without a restart for `STEADY`; then, for a new replica, for the update's
`monitor` too. A replica that stops, turns unhealthy or keeps being restarted will not be
ready: the wait ends at once and names it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from stackr.engine import STEADY, ContainerStatus, Engine, RestartWatch
from stackr.errors import EngineError
from stackr.sensitive import hide
from stackr.spec.model import Service


class WaitInterrupted(EngineError):
    """Ctrl-C (or SIGTERM) while a batch waited for its new replicas: not their failure."""


class NotReady(EngineError):
    """A replica that will not be ready, or was not in time: `name` says which."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


@dataclass(slots=True)
class _Watch:
    """A replica being waited for: its restarts, and since when it has been ready."""

    name: str
    # An old replica started again: ready by what the engine says of it (its own spec, not
    # the new one, says whether it has a healthcheck), without the new spec's monitor.
    put_back: bool = False
    restarts: RestartWatch = field(default_factory=RestartWatch)
    count: int | None = None  # its restarts when first seen: one more starts the clock again
    stable_since: float | None = None

    def who(self) -> str:
        return "the previous replica" if self.put_back else "the new replica"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadyWait:
    """How one service's update waits for its replicas."""

    engine: Engine
    service: Service
    job: bool  # a one-shot job: ready only once it exited 0
    has_check: bool  # the new spec has a healthcheck of its own
    secrets: frozenset[str]  # masked in the output a failure shows
    poll_interval: float
    stopped: Callable[[], bool]

    def until_ready(
        self, names: list[str], deadline: float, *, timeout: float, put_back: bool = False
    ) -> None:
        """Wait until every one of `names` (the replicas of one batch) is ready. They are
        watched together: a batch waits `monitor` once, not once per replica. `timeout` is
        what `deadline` was worked out from, for the message.

        Raises:
            NotReady: one of them will not be ready, or was not in time (it is named).
            WaitInterrupted: Ctrl-C came first.
        """
        watches = [_Watch(name, put_back=put_back) for name in names]
        while True:
            if self.stopped():
                raise WaitInterrupted("interrupted")
            watches = [watch for watch in watches if not self._ready(watch)]
            if not watches:
                return
            if time.monotonic() > deadline:
                late = watches[0]
                raise NotReady(late.name, f"{late.who()} was not ready within {timeout:g}s")
            time.sleep(self.poll_interval)

    def _ready(self, watch: _Watch) -> bool:
        status = self.engine.container_status(watch.name)
        if self._finished(status.state, status.exit_code):
            return True  # a one-shot that ran to its end is as ready as it gets
        self._refuse_failed(watch, status)
        running = status.state == "running" and not self.job  # a job: only its exit 0
        watch.count = status.restarts if watch.count is None else watch.count
        if status.restarts != watch.count:
            watch.count, running = status.restarts, False
        # Checked by its own healthcheck or its image's: ready once healthy. Unchecked, once
        # it has run STEADY without a restart: seen running once, a replica that exits at once
        # (and is restarted by its policy) would pass for ready.
        checked = bool(status.health) or (self.has_check and not watch.put_back)
        ready = running and (status.health == "healthy" or not checked)
        monitor = 0.0 if watch.put_back else self.service.update.monitor
        monitor = monitor if checked else max(monitor, STEADY)
        now = time.monotonic()
        watch.stable_since = (watch.stable_since or now) if ready else None
        return watch.stable_since is not None and now - watch.stable_since >= monitor

    def _finished(self, state: str, exit_code: int | None) -> bool:
        return self.service.restart.one_shot and state == "exited" and exit_code == 0

    def _refuse_failed(self, watch: _Watch, status: ContainerStatus) -> None:
        name, who = watch.name, watch.who()
        if watch.restarts.crash_looping(name, status):
            # Restarted by `on-failure` or `always` again and again: it will not come up.
            words = watch.restarts.words(name, status)
            raise NotReady(name, f"{who} {words} (last output: {self.said(name)})")
        if status.state in ("exited", "dead") or status.health == "unhealthy":
            what = "is unhealthy" if status.health == "unhealthy" else "stopped"
            if status.state == "exited" and status.exit_code is not None:
                what = f"exited with code {status.exit_code}"
            if status.probe:
                what += f" (its last health check said: {hide(status.probe, self.secrets)})"
            raise NotReady(name, f"{who} {what} (last output: {self.said(name)})")

    def said(self, name: str) -> str:
        """The last lines `name` wrote, secrets masked."""
        lines = "; ".join(self.engine.last_log_lines(name, 3)) or "no output"
        return hide(lines, self.secrets)
