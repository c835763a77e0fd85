"""stackr run in process, warm: the Docker API calls it makes and the time of each phase."""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

from enginebench.runs import API_VERSION, Bench, progress, run_command
from enginebench.stacks import UP_IMPORTS, Action, Project, stackr_command


@dataclass(slots=True)
class CallLog:
    """HTTP requests the Docker SDK sent, per (method, path template), and their total time."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    seconds: float = 0.0
    templates: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, method: str, url: str, seconds: float) -> None:
        bare = url.split("?", 1)[0]
        path = self.templates.get(bare) or urlsplit(bare).path.removeprefix(f"/v{API_VERSION}")
        with self.lock:
            self.counts[(method, path)] += 1
            self.seconds += seconds


@contextlib.contextmanager
def calls_counted(log: CallLog) -> Iterator[None]:
    """Count every request of `docker.APIClient` (a `requests.Session`) at its `send`; `_url`
    tells which path template each URL was made from."""
    from docker.api.client import APIClient

    make_url, send = APIClient._url, APIClient.send

    def recording_url(self: Any, pathfmt: str, *args: Any, **kwargs: Any) -> Any:
        url = make_url(self, pathfmt, *args, **kwargs)
        log.templates[url] = pathfmt
        return url

    def counting_send(self: Any, request: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return send(self, request, **kwargs)
        finally:
            log.add(str(request.method), str(request.url), time.perf_counter() - started)

    with (
        mock.patch.object(APIClient, "_url", recording_url),
        mock.patch.object(APIClient, "send", counting_send),
    ):
        yield


# The phases of `stackr up`/`down`, as "module:function" or "module:Class.method" → label, each
# wrapped where its caller looks it up at call time. TOP_LEVEL ones run one after another;
# INSIDE_APPLY ones run within apply, most on the executor's threads, so their times are summed
# over the threads.
# A phase this version of stackr lacks is not reported.
TOP_LEVEL = {
    "stackr.api:load_stack": "load + validate the file",
    "stackr.docker_engine:DockerEngine.__init__": "make the Docker client",
    "stackr.docker_engine:DockerEngine.observe": "observe (list calls)",
    "stackr.plan:make_plan": "make the plan",
    "stackr.plan:make_down_plan": "make the down plan",
    "stackr.apply:apply_plan": "apply the plan",
    "stackr.apply:apply_removals": "apply the removals",
}
INSIDE_APPLY = {
    # `apply_plan` builds the graph while the new networks and volumes are being created.
    "stackr.graph:build_graph": "build the graph",
    "stackr.docker_engine:DockerEngine.create_network": "create a network",
    "stackr.docker_engine:DockerEngine.create_container": "create a container",
    "stackr.docker_engine:DockerEngine.start_container": "start a container",
    "stackr.apply:_Waiter.run": "wait for a depends_on condition",  # before readiness.py
    "stackr.readiness:ConditionWaiter.run": "wait for a depends_on condition",
    "stackr.docker_engine:DockerEngine.container_status": "inspect (health poll)",
    "stackr.docker_engine:DockerEngine.remove_container": "stop + remove a container",
    "stackr.docker_engine:DockerEngine.remove_network": "remove a network",
}


@dataclass(slots=True)
class PhaseClock:
    """Calls and seconds per phase label, from any thread."""

    calls: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wrap(self, function: Callable[..., Any], label: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                with self.lock:
                    self.calls[label] += 1
                    spent = time.perf_counter() - started
                    self.seconds[label] = self.seconds.get(label, 0.0) + spent

        return timed


def phase_home(where: str) -> tuple[Any, str]:
    """The object holding the phase's function ("module:Class.method"), and its name."""
    module_name, _, path = where.partition(":")
    owner: Any = import_module(module_name)
    *classes, attribute = path.split(".")
    for name in classes:
        owner = getattr(owner, name, None)
    return owner, attribute


@contextlib.contextmanager
def phases_timed(clock: PhaseClock) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for where, label in (TOP_LEVEL | INSIDE_APPLY).items():
            owner, attribute = phase_home(where)
            function = getattr(owner, attribute, None)
            if callable(function):
                wrapped = clock.wrap(function, label)
                stack.enter_context(mock.patch.object(owner, attribute, wrapped))
        yield


def stackr_in_process(args: list[str]) -> tuple[int, float]:
    """Run `stackr ARGS` through `stackr.cli.app.main`, output discarded: (exit code, seconds)."""
    from stackr.cli.app import main

    sink = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        code = main(args)
    return code, time.perf_counter() - started


@dataclass(frozen=True, slots=True)
class Profiled:
    """One in-process stackr run: its API calls, its phases and its wall-clock seconds."""

    title: str
    log: CallLog
    clock: PhaseClock
    seconds: float


# In process, warm (modules imported, schema compiled), in this order: (title, scenario,
# command, whether the stack runs beforehand — else it starts from nothing).
PROFILES = (
    ("no-op up of 50", "services50", "up", True),
    ("down of 50", "services50", "down", True),
    ("up of 50 services", "services50", "up", False),
    ("10-deep health chain", "chain10", "up", False),
)


def profile_run(
    title: str, project: Project, command: str, *, running: bool, bench: Bench
) -> Profiled:
    cwd = project.file.parent
    up = stackr_command(project, Action.UP, bench.stackr_jobs)
    if running:
        run = run_command(up, cwd, Action.UP, bench.env)
        if run.error is not None:
            raise SystemExit(f"profiling {title}: up failed: {run.error}")
    log, clock = CallLog(), PhaseClock()
    with calls_counted(log), phases_timed(clock):
        code, seconds = stackr_in_process([command, *map(str, up[2:])])
    if code != 0:
        progress(f"in-process {title} exited {code}")
    return Profiled(title, log, clock, seconds)


def profile_stackr(projects: dict[str, list[Project]], bench: Bench) -> list[Profiled]:
    """Run the PROFILES of the scenarios that were benchmarked, stackr in process, warm."""
    chosen = [(t, projects[s][0], c, r) for t, s, c, r in PROFILES if s in projects]
    if not chosen:
        return []
    for module in UP_IMPORTS.removeprefix("import ").split(", "):
        import_module(module)
    stackr_in_process(["validate", "-f", str(chosen[0][1].file)])  # caches filled on first use
    found: list[Profiled] = []
    for title, project, command, running in chosen:
        if not running:
            bench.cleaner.clean(project)
        progress(f"in process: stackr {title}")
        found.append(profile_run(title, project, command, running=running, bench=bench))
    for _, project, _, _ in chosen:
        bench.cleaner.clean(project)
    return found
