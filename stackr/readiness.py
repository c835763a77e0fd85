"""Waiting for containers: the `depends_on` conditions `healthy` and `completed` (a dependent
starts only once they hold), and `up --wait` (every service ready, every job done).

Polls each container's status every `poll_interval` (100 ms by default), gives up when
`options.stop` is set (Ctrl-C; except a condition a parked replica's replacement waits on) or
`wait_timeout` runs out, and fails at once — with the container's last output — when a
container turns unhealthy or a job exits non-zero.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

from stackr.desired import ContainerSpec, desired_state
from stackr.engine import STEADY, ContainerStatus, Engine, RestartWatch
from stackr.errors import EngineError, Interrupted
from stackr.events import Event, OnEvent, Phase, ignore_event
from stackr.sensitive import hide
from stackr.spec.model import Condition, RestartPolicy, Stack


class WaitOptions(Protocol):
    """How long and how often to wait, and the flag Ctrl-C sets (`apply.ApplyOptions`)."""

    @property
    def wait_timeout(self) -> float: ...

    @property
    def deadline(self) -> float:
        """When (`time.monotonic()`) every wait of this run must be over: `--wait-timeout`
        bounds the run's waits together, not each one."""
        ...

    @property
    def poll_interval(self) -> float: ...

    @property
    def stop(self) -> threading.Event: ...

    @property
    def secrets(self) -> frozenset[str]:
        """Values masked in the output a failure shows."""
        ...


def wait_until_ready(
    stack: Stack,
    engine: Engine,
    *,
    options: WaitOptions,
    on_event: OnEvent = ignore_event,
    jobs: frozenset[str] | None = None,
) -> None:
    """Wait until every long-running container of `stack` is running (healthy, when it has a
    healthcheck, its own or its image's; else for `STEADY` seconds without a restart) and
    every one-shot job has exited 0. A job is a service that another waits on with
    `condition: completed`; any other one-shot container (`restart: "no"` or
    `on-failure`) is ready once it runs (healthy, if checked) or has exited 0. `jobs`
    overrides which services are jobs: a stack narrowed to some services may have lost the
    ones that wait on a job.

    Raises:
        EngineError: a job failed, a container turned unhealthy, stopped or keeps being
            restarted, or `wait_timeout` ran out; the message names what it was still waiting
            for.
    """
    desired = desired_state(stack)
    jobs = stack.jobs() if jobs is None else jobs
    pending = dict.fromkeys(desired.containers)
    watches: dict[str, _Watch] = {}
    restarts, looks = RestartWatch(), FirstLook()
    deadline = min(time.monotonic() + options.wait_timeout, options.deadline)
    on_event(Event(stack.name, Phase.WAITING, f"until {len(pending)} container(s) are ready"))
    while pending:
        if options.stop.is_set():
            raise Interrupted("interrupted while waiting for the stack to be ready")
        for name in list(pending):
            spec = desired.containers[name]
            job = spec.service in jobs
            watch = watches.setdefault(name, _Watch(restarts, looks))
            ready = _ready(engine, spec, job=job, watch=watch, secrets=options.secrets)
            if ready:
                del pending[name]
        if pending and time.monotonic() > deadline:
            raise EngineError(
                f"--wait-timeout ({options.wait_timeout:g}s) ran out; still waiting for "
                + ", ".join(_waiting_for(desired.containers[n], jobs, watches) for n in pending),
                hint="check `stackr ps` and `stackr logs`, or raise --wait-timeout",
            )
        if pending:
            time.sleep(options.poll_interval)
    on_event(Event(stack.name, Phase.DONE, "ready"))


CRASH_HINT = "stackr logs {service} shows why it exits"


@dataclass(slots=True)
class FirstLook:
    """The health check result each container showed when a wait first looked at it. An
    `unhealthy` that still carries that result may be older than this run (a container paused
    outside stackr keeps its status through `up`'s unpause until its next check), so only a
    newer result fails the wait."""

    probes: dict[str, str | None] = field(default_factory=dict)

    def unhealthy(self, name: str, status: ContainerStatus) -> bool:
        old = status.probed if status.health == "unhealthy" else None
        first = self.probes.setdefault(name, old)
        return status.health == "unhealthy" and status.probed != first


@dataclass(slots=True)
class _Watch:
    """What `up --wait` has seen of a container: its restarts, its health checks, the health it
    last had ("" without a healthcheck), and since when it has run without a restart."""

    restarts: RestartWatch
    looks: FirstLook
    count: int | None = None
    health: str = ""
    running_since: float | None = None

    def saw(self, status: ContainerStatus, now: float) -> None:
        self.health = status.health
        if self.count is None:
            self.count = status.restarts
        if status.restarts != self.count or status.state != "running":
            self.count, self.running_since = status.restarts, None
        elif self.running_since is None:
            self.running_since = now

    def steady(self, now: float) -> bool:
        return self.running_since is not None and now - self.running_since >= STEADY


def _ready(
    engine: Engine, spec: ContainerSpec, *, job: bool, watch: _Watch, secrets: frozenset[str]
) -> bool:
    status = engine.container_status(spec.name)

    def last_words(what: str, probe: str = "") -> str:
        return _last_words(engine, spec.name, what, probe, secrets)

    # `restart: no` or `on-failure`: a container that exited 0 has done its work.
    if RestartPolicy(spec.restart).one_shot and status.state in ("exited", "dead"):
        if status.exit_code == 0:
            return True
        raise EngineError(
            last_words(f"exited with code {status.exit_code}"),
            hint=f"`stackr logs {spec.service}` shows why; the next `stackr up` runs it again",
        )
    if status.state in ("exited", "dead"):
        raise EngineError(
            last_words(f"is {status.state}"), hint=f"`stackr logs {spec.service}` shows why"
        )
    if watch.looks.unhealthy(spec.name, status):
        raise EngineError(
            last_words("is unhealthy", status.probe),
            hint=f"its health check fails: check its test, and `stackr logs {spec.service}`",
        )
    if watch.restarts.crash_looping(spec.name, status):
        what = watch.restarts.words(spec.name, status)
        raise EngineError(last_words(what), hint=CRASH_HINT.format(service=spec.service))
    now = time.monotonic()
    watch.saw(status, now)
    if job:
        return False  # ready only once it has exited 0
    if status.health:  # a healthcheck of its own, or its image's
        return status.state == "running" and status.health == "healthy"
    return watch.steady(now)


def _waiting_for(spec: ContainerSpec, jobs: frozenset[str], watches: dict[str, _Watch]) -> str:
    if spec.service in jobs:
        return f"{spec.name} (a job) to exit 0"
    watch = watches.get(spec.name)
    if watch is not None and watch.health:
        return f"{spec.name} to be healthy"
    return f"{spec.name} to run"


def _last_words(
    engine: Engine, name: str, what: str, probe: str = "", secrets: frozenset[str] = frozenset()
) -> str:
    lines = [hide(line, secrets) for line in engine.last_log_lines(name, 10)]
    probe = hide(probe, secrets)
    tail = "\n".join(f"    {line}" for line in lines) or "    (no output)"
    # An unhealthy container's own output rarely says why; its health check's does.
    said = f"; its last health check said: {probe}" if probe else ""
    return f"{name} {what}{said}; its last output:\n{tail}"


class ConditionWaiter:
    """Waits until every replica of a service meets a `depends_on` condition."""

    def __init__(
        self,
        engine: Engine,
        service: str,
        names: list[str],
        condition: Condition,
        options: WaitOptions,
        on_event: OnEvent,
    ) -> None:
        self.engine, self.service, self.names = engine, service, names
        self.condition, self.options, self.on_event = condition, options, on_event
        # False: Ctrl-C does not end this wait (what waits on it completes work already begun).
        self.interruptible = True
        self.restarts, self.looks = RestartWatch(), FirstLook()

    def run(self) -> None:
        if self.condition is Condition.STARTED:
            return  # the replicas' own tasks started them
        if not self.names:
            # `replicas: 0` (a profile that runs without it): nothing to wait for, and said so.
            self.on_event(Event(self.service, Phase.DONE, "has no replicas: not waited for"))
            return
        self.on_event(Event(self.service, Phase.WAITING, f"until {self._word()}"))
        deadline = min(time.monotonic() + self.options.wait_timeout, self.options.deadline)
        pending = list(self.names)
        while pending:
            if self.interruptible and self.options.stop.is_set():
                raise Interrupted(f"interrupted while waiting for {self.service}")
            pending = [name for name in pending if not self._met(name)]
            if pending and time.monotonic() > deadline:
                raise EngineError(
                    f"--wait-timeout ({self.options.wait_timeout:g}s) ran out waiting for "
                    f"{', '.join(pending)} to be {self._word()}",
                    hint=(
                        f"check its healthcheck and `stackr logs {self.service}`, or raise "
                        "--wait-timeout"
                        if self.condition is Condition.HEALTHY
                        else f"`stackr logs {self.service}` shows what it is still doing, or "
                        "raise --wait-timeout"
                    ),
                )
            if pending:
                time.sleep(self.options.poll_interval)
        self.on_event(Event(self.service, Phase.DONE, self._word()))

    def _word(self) -> str:
        return "healthy" if self.condition is Condition.HEALTHY else "completed"

    def _met(self, name: str) -> bool:
        status = self.engine.container_status(name)
        # `on-failure` runs a failed job again, `always` a crashed service: either may still
        # come up, unless it keeps failing.
        if self.restarts.crash_looping(name, status):
            self._fail(name, self.restarts.words(name, status))
        if self.condition is Condition.HEALTHY:
            if status.health == "healthy":
                return True
            if self.looks.unhealthy(name, status):
                self._fail(name, "is unhealthy", status.probe)
            if status.state in ("exited", "dead"):
                self._fail(name, "stopped", status.probe)
            if status.state == "running" and not status.health:
                raise EngineError(
                    f"{name} has no healthcheck test, neither in the stack file nor in its "
                    "image, so it never turns healthy and its dependents were not started",
                    hint=f"give '{self.service}' a healthcheck, or wait for it with "
                    "condition: started",
                )
            return False
        if status.state in ("exited", "dead"):
            if status.exit_code == 0:
                return True
            self._fail(name, f"exited with code {status.exit_code}")
        return False

    def _fail(self, name: str, what: str, probe: str = "") -> None:
        raise EngineError(
            _last_words(
                self.engine,
                name,
                f"{what}, so its dependents were not started",
                probe,
                self.options.secrets,
            ),
            hint=f"stackr logs {self.service}",
        )
