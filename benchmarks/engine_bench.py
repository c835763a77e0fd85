"""Benchmark of stackr against Docker Compose v2 on one Docker engine: the wall-clock time of the
commands a user runs and waits for.

Each scenario's stack is written twice into a temporary directory, as a stackr `stack.yml` and as
a Compose `compose.yml` (distinct stack/project names), and run through both CLIs as
subprocesses, interleaved: in every round each scenario runs under both, stackr first in odd
rounds and Compose first in even ones.
Before and after every run the benchmark removes what is left by label (`io.stackr.stack=<name>`
or `com.docker.compose.project=<name>`) with the Docker SDK, and before every timed run it
waits until the machine is quiet (under 0.15 busy cores for half a second, from /proc/stat):
the kernel goes on tearing down a removed container's network namespace after `down` returns.
Scenarios:

- `services50`: `up` of 50 independent sleeping services from nothing, a no-op `up` of them,
  `stackr plan` of them (stackr only), and `down`;
- `chain10`: `up` of a 10-deep chain of health-gated services from nothing (each depends on the
  previous being healthy), then a no-op `up` of the healthy chain;
- `replicas20`: `up` of one service with 20 replicas from nothing;
- `startup`: the CLI's start-up (`stackr version` / `docker compose version`) and, stackr only,
  the interpreter plus the imports an `up` needs.

It prints a Markdown table of medians with the ratio stackr/Compose against the project's
targets, and every sample. Then it runs stackr in process (`stackr.cli.app.main`, warm) for the
no-op `up` and the `down` of the 50 services, their `up` from nothing and the health chain's, and
prints for each the Docker API calls it made (per HTTP method and path template, counted at the
SDK client's `send`) and the time spent in each phase.

The CLIs get bytecode cached in a temporary folder, as an installed stackr has it, even where
PYTHONDONTWRITEBYTECODE is set (`--keep-env` passes the environment on unchanged). A `down` that
fails only because dockerd 20.10 keeps a phantom endpoint on the network counts as done: stackr
warns and exits 0 there, Compose exits 1, after the same work. Standard library plus stackr's own
dependencies. Run: `.venv/bin/python benchmarks/engine_bench.py [--rounds R] [--only NAME]
[--no-compose] [--jobs N] [--keep-env]` (Compose v2 comes from
`bash ../shared/tools/install-compose-v2`; nothing is pulled).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from importlib import import_module
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import docker
import docker.errors
import yaml

IMAGE = "stackr/busybox:1"
# A PID-1 shell ignores SIGTERM unless it traps it; waiting on a background sleep lets the trap
# run at once, so both tools stop these containers without running out a grace period.
SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 86400 & wait"]
HEALTHCHECK = {
    "test": ["CMD", "true"],
    "interval": "1s",
    "timeout": "1s",
    "retries": 3,
    "start_period": "0s",
}
PROFILE = "dev"
API_VERSION = "1.41"
RUN_TIMEOUT = 600.0
PHANTOM = "has active endpoints"  # the engine's refusal to remove a network
# Before a timed run: at most this many cores busy over a window of this many seconds.
SETTLE_LIMIT = 0.15
SETTLE_WINDOW = 0.5
SETTLE_TIMEOUT = 30.0
NAME_PREFIX = "ebench"
STACKR = Path(sys.executable).with_name("stackr")
# What an `up` that changes something imports; a no-op `up` skips stackr.apply and stackr.graph
# (and networkx with them).
UP_IMPORTS = (
    "import stackr.cli.app, stackr.api, stackr.apply, stackr.plan, stackr.graph, "
    "stackr.desired, stackr.lock, stackr.docker_engine"
)
# Modules whose import time the `startup` scenario reports: stackr's top-level ones, each
# followed by the heavy packages it pulls in (cumulative times, so these overlap).
HEAVY_IMPORTS = (
    *("stackr.cli.app", "typer", "rich.console", "stackr.api", "stackr.spec", "stackr.apply"),
    *("networkx", "stackr.docker_engine", "docker", "requests", "tarfile"),
)
# The project's targets for the ratio stackr / Compose of the medians.
TARGETS = {
    "up of 50 services": 1.0,
    "no-op up of 50": 4.0,
    "down of 50": 0.9,
    "10-deep health chain": 0.85,
    "20 replicas": 0.75,
}
# The environment variables that would change what either CLI reads.
UNSET = ("STACKR_PROFILE", "COMPOSE_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES")


class Tool(StrEnum):
    STACKR = "stackr"
    COMPOSE = "compose"


class Action(Enum):
    UP = "up"
    DOWN = "down"
    VERSION = "version"
    PLAN = "plan"
    IMPORTS = "imports"


# -- the stacks -------------------------------------------------------------------------------


def sleeper(**extra: Any) -> dict[str, Any]:
    return {"image": IMAGE, "command": SLEEPER, **extra}


def one_service(tool: Tool) -> dict[str, Any]:
    return {"services": {"svc": sleeper()}}


def fifty_services(tool: Tool) -> dict[str, Any]:
    return {"services": {f"svc-{i:02d}": sleeper() for i in range(1, 51)}}


def health_chain(tool: Tool) -> dict[str, Any]:
    """Ten services, each started once the one before it is healthy."""
    condition = "healthy" if tool is Tool.STACKR else "service_healthy"
    services: dict[str, Any] = {}
    for i in range(1, 11):
        body = sleeper(healthcheck=HEALTHCHECK)
        if i > 1:
            body["depends_on"] = {f"link-{i - 1:02d}": {"condition": condition}}
        services[f"link-{i:02d}"] = body
    return {"services": services}


def twenty_replicas(tool: Tool) -> dict[str, Any]:
    scale = {"replicas": 20} if tool is Tool.STACKR else {"deploy": {"replicas": 20}}
    return {"services": {"svc": sleeper(**scale)}}


@dataclass(frozen=True, slots=True)
class Step:
    """One command of a scenario; `measure` names the row it is timed in (None: untimed)."""

    action: Action
    measure: str | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    document: Callable[[Tool], dict[str, Any]]
    steps: tuple[Step, ...]


SCENARIOS = (
    Scenario(
        "startup",
        one_service,
        (
            Step(Action.VERSION, "CLI start-up (`version`)"),
            Step(Action.IMPORTS, "interpreter + imports of `up`"),
        ),
    ),
    Scenario(
        "services50",
        fifty_services,
        (
            Step(Action.UP, "up of 50 services"),
            Step(Action.UP, "no-op up of 50"),
            Step(Action.PLAN, "plan of 50 running"),
            Step(Action.DOWN, "down of 50"),
        ),
    ),
    Scenario(
        "chain10",
        health_chain,
        (
            Step(Action.UP, "10-deep health chain"),
            Step(Action.UP, "no-op up of the healthy chain"),
            Step(Action.DOWN),
        ),
    ),
    Scenario("replicas20", twenty_replicas, (Step(Action.UP, "20 replicas"), Step(Action.DOWN))),
)


@dataclass(frozen=True, slots=True)
class Project:
    """One scenario's stack written for one tool."""

    tool: Tool
    name: str
    file: Path

    @property
    def owner_label(self) -> str:
        key = "io.stackr.stack" if self.tool is Tool.STACKR else "com.docker.compose.project"
        return f"{key}={self.name}"


def write_project(scenario: Scenario, tool: Tool, directory: Path, suffix: str = "") -> Project:
    name = f"{NAME_PREFIX}-{tool.value}-{scenario.name}{suffix}"
    folder = directory / f"{tool.value}-{scenario.name}{suffix}"
    folder.mkdir()
    file = folder / ("stack.yml" if tool is Tool.STACKR else "compose.yml")
    document = {"name": name, **scenario.document(tool)}
    file.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return Project(tool, name, file)


def stackr_command(project: Project, action: Action, jobs: list[str]) -> list[str]:
    spec = ["-f", str(project.file), "--profile", PROFILE]
    commands = {
        Action.UP: [str(STACKR), "up", *spec, "--progress", "plain", *jobs],
        Action.DOWN: [str(STACKR), "down", *spec, "--progress", "plain", *jobs],
        Action.VERSION: [str(STACKR), "version"],
        Action.PLAN: [str(STACKR), "plan", *spec],
        Action.IMPORTS: [sys.executable, "-c", UP_IMPORTS],
    }
    return commands[action]


def compose_command(project: Project, action: Action) -> list[str] | None:
    base = ["docker", "compose", "-f", str(project.file), "-p", project.name]
    commands = {
        Action.UP: [*base, "up", "-d"],
        Action.DOWN: [*base, "down"],
        Action.VERSION: ["docker", "compose", "version"],
    }
    return commands.get(action)


# -- running and cleaning up ------------------------------------------------------------------


def progress(message: str) -> None:
    """A note on stderr, so a long run shows what it is doing; the report goes to stdout."""
    print(f"... {message}", file=sys.stderr, flush=True)


def child_env(pycache: Path | None) -> dict[str, str]:
    """The CLIs' environment. With `pycache`, Python caches bytecode there (outside the
    checkout), as an installed stackr would have it, even where PYTHONDONTWRITEBYTECODE is set:
    otherwise every run compiles stackr's own modules from source again."""
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


@dataclass(frozen=True, slots=True)
class Run:
    """One CLI run: its wall-clock seconds and why it failed (None when it did not)."""

    seconds: float
    error: str | None
    note: str = ""


def run_command(args: list[str], cwd: Path, action: Action, env: dict[str, str]) -> Run:
    started = time.perf_counter()
    try:
        done = subprocess.run(
            args,
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Run(time.perf_counter() - started, f"timed out after {RUN_TIMEOUT:g}s")
    spent = time.perf_counter() - started
    if done.returncode == 0:
        return Run(spent, None)
    if action is Action.DOWN and PHANTOM in done.stderr:
        # dockerd 20.10 sometimes keeps a phantom endpoint on a network until it restarts;
        # stackr then warns and exits 0, Compose exits 1. Both did the same work: count it.
        return Run(spent, None, "network kept by dockerd (phantom endpoint)")
    tail = " | ".join(done.stderr.strip().splitlines()[-3:])
    return Run(spent, f"exit {done.returncode}: {tail}")


class Cleaner:
    """Removes whatever a project left on the engine, found by its owner label."""

    def __init__(self) -> None:
        self.client: Any = docker.from_env(version=API_VERSION)

    def clean(self, project: Project) -> int:
        """Remove the project's containers, networks and volumes; how many there were."""
        filters = {"label": project.owner_label}
        containers = self.client.containers.list(all=True, filters=filters)
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(self._remove_container, containers))
        networks = self.client.networks.list(filters=filters)
        volumes = self.client.volumes.list(filters=filters)
        for thing in (*networks, *volumes):
            self._remove(thing)
        return len(containers) + len(networks) + len(volumes)

    @staticmethod
    def _remove_container(container: Any) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)

    @staticmethod
    def _remove(thing: Any) -> None:
        try:
            thing.remove()
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as error:  # dockerd 20.10's phantom endpoints
            progress(f"could not remove {thing.name}: {error.explanation}")


@dataclass(slots=True)
class Results:
    """Seconds per row and tool, in the order the rows were first measured."""

    samples: dict[str, dict[Tool, list[float]]] = field(default_factory=dict)
    failures: dict[str, dict[Tool, list[str]]] = field(default_factory=dict)

    def add(self, measure: str, tool: Tool, seconds: float, error: str | None) -> None:
        self.samples.setdefault(measure, {}).setdefault(tool, [])
        if error is None:
            self.samples[measure][tool].append(seconds)
        else:
            self.failures.setdefault(measure, {}).setdefault(tool, []).append(error)

    def median(self, measure: str, tool: Tool) -> float | None:
        found = self.samples.get(measure, {}).get(tool) or []
        return statistics.median(found) if found else None


@dataclass(frozen=True, slots=True)
class Bench:
    cleaner: Cleaner
    results: Results
    stackr_jobs: list[str]
    env: dict[str, str]


def command_for(project: Project, action: Action, bench: Bench) -> list[str] | None:
    if project.tool is Tool.STACKR:
        return stackr_command(project, action, bench.stackr_jobs)
    return compose_command(project, action)


def busy_cores(window: float) -> float | None:
    """How many cores were busy, on average, over the next `window` seconds (None where
    /proc/stat is not there to tell)."""
    try:
        before = _cpu_times()
        time.sleep(window)
        after = _cpu_times()
    except OSError:
        return None
    total = sum(after) - sum(before)
    idle = (after[3] + after[4]) - (before[3] + before[4])  # idle and iowait
    cores = os.cpu_count() or 1
    return cores * (total - idle) / total if total > 0 else 0.0


def _cpu_times() -> list[int]:
    with open("/proc/stat", encoding="ascii") as stat:
        return [int(v) for v in stat.readline().split()[1:]]


def settle(limit: float = SETTLE_LIMIT, timeout: float = SETTLE_TIMEOUT) -> None:
    """Wait until the machine is quiet: the kernel and the engine go on tearing down the
    network namespaces of the containers a `down` removed for a while after it returns, and a
    run timed during that shares the CPU with it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = busy_cores(SETTLE_WINDOW)
        if busy is None or busy < limit:
            return
    progress(f"the machine did not settle below {limit:g} busy cores in {timeout:g}s")


def run_scenario(scenario: Scenario, project: Project, bench: Bench, label: str) -> None:
    """Run the scenario's steps from nothing, timing the measured ones on a quiet machine;
    clean up around them. A failed step ends the scenario (what follows would not measure the
    same thing)."""
    bench.cleaner.clean(project)
    for step in scenario.steps:
        args = command_for(project, step.action, bench)
        if args is None:
            continue
        if step.measure:
            settle()
        run = run_command(args, project.file.parent, step.action, bench.env)
        what = step.measure or f"({step.action.value})"
        outcome = f"{run.seconds:7.2f}s {run.note}"
        if run.error is not None:
            outcome = f"FAILED after {run.seconds:.2f}s: {run.error}"
        progress(f"{label} {project.tool.value:<7} {what:<32} {outcome}".rstrip())
        if step.measure:
            bench.results.add(step.measure, project.tool, run.seconds, run.error)
        if run.error is not None:
            break
    left = bench.cleaner.clean(project)
    if left and scenario.steps[-1].action is Action.DOWN:
        progress(f"{label} {project.tool.value:<7} down left {left} object(s) behind")


def warm_up(projects: dict[str, list[Project]], bench: Bench) -> None:
    """Run each CLI once untimed, so bytecode and the page cache are warm for both."""
    progress("warming up: stackr plan, the imports of up, and docker compose version")
    for action in (Action.IMPORTS, Action.PLAN, Action.VERSION):
        for project in next(iter(projects.values())):
            args = command_for(project, action, bench)
            if args is not None:
                run_command(args, project.file.parent, action, bench.env)


def run_rounds(projects: dict[str, list[Project]], bench: Bench, rounds: int) -> None:
    """Every round: each scenario under both tools, interleaved, the one going first taking
    turns from round to round: whoever runs right after the other's `down` meets the engine
    still finishing that cleanup, and that must not always be the same tool.

    Each round has project names of its own. dockerd 20.10 sometimes keeps a network that
    `down` asked it to remove (a phantom endpoint); under the same name, the tool that met it
    would skip creating its network in every later round, and save that call's time."""
    warm_up(projects, bench)
    for number in range(1, rounds + 1):
        for scenario in SCENARIOS:
            order = projects.get(scenario.name, [])
            for project in order if number % 2 else list(reversed(order)):
                fresh = write_project(
                    scenario, project.tool, project.file.parent.parent, f"-r{number}"
                )
                run_scenario(scenario, fresh, bench, f"round {number}/{rounds} {scenario.name}")


# -- stackr in process: its Docker API calls and its phases ---------------------------------


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


# -- the report ---------------------------------------------------------------------------------


def seconds_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def verdict(ratio: float | None, target: float | None) -> str:
    if target is None:
        return "(no target)"
    if ratio is None:
        return "n/a"
    return "met" if ratio <= target else "**not met**"


def table_row(results: Results, measure: str) -> str:
    stackr = results.median(measure, Tool.STACKR)
    compose = results.median(measure, Tool.COMPOSE)
    ratio = stackr / compose if stackr is not None and compose else None
    target = TARGETS.get(measure)
    cells = [
        measure,
        seconds_text(stackr),
        seconds_text(compose),
        "-" if ratio is None else f"{ratio:.2f}",
        "-" if target is None else f"≤ {target:g}",
        verdict(ratio, target),
    ]
    return "| " + " | ".join(cells) + " |"


def table(results: Results) -> str:
    head = "| scenario | stackr (s) | compose (s) | stackr/compose | target | |"
    lines = [head, "|---|---:|---:|---:|---:|---|"]
    lines += [table_row(results, measure) for measure in results.samples]
    return "\n".join(lines)


def samples_text(results: Results) -> str:
    lines = ["samples (seconds, in run order; failures listed apart):"]
    for measure, by_tool in results.samples.items():
        for tool, values in by_tool.items():
            numbers = " ".join(f"{v:.2f}" for v in values) or "-"
            lines.append(f"  {measure:<32} {tool.value:<7} {numbers}")
    for measure, failed in results.failures.items():
        for tool, errors in failed.items():
            lines += [f"  FAILED {measure} ({tool.value}): {e}" for e in errors]
    return "\n".join(lines)


def profile_text(found: Profiled) -> str:
    log, clock = found.log, found.clock
    lines = [
        f"stackr {found.title}, in process (warm): {found.seconds:.2f} s; "
        f"{sum(log.counts.values())} Docker API calls, {log.seconds:.2f} s inside them "
        "(summed over threads)",
        "  calls  method path",
    ]
    for (method, path), count in sorted(log.counts.items(), key=lambda item: item[0][::-1]):
        lines.append(f"  {count:5d}  {method:<6} {path}")
    lines.append("  calls  seconds  phase (indented: inside apply, summed over threads)")
    for label, spent in clock.seconds.items():
        indent = "" if label in TOP_LEVEL.values() else "  "
        lines.append(f"  {clock.calls[label]:5d}  {spent:7.3f}  {indent}{label}")
    rest = found.seconds - sum(v for k, v in clock.seconds.items() if k in TOP_LEVEL.values())
    lines.append(f"         {rest:7.3f}  the rest (CLI parsing, lock, progress, summary)")
    return "\n".join(lines)


def import_costs(env: dict[str, str], times: int = 3) -> str:
    """The cumulative import time of the heavy packages an `up` imports: the least of `times`
    runs of `python -X importtime` (the tracer itself makes imports slower)."""
    best: dict[str, int] = {}
    for _ in range(times):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", UP_IMPORTS],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        for line in done.stderr.splitlines():
            _, _, rest = line.partition(":")
            cells = [cell.strip() for cell in rest.split("|")]
            if len(cells) == 3 and cells[1].isdigit() and cells[2] in HEAVY_IMPORTS:
                best[cells[2]] = min(best.get(cells[2], 1 << 62), int(cells[1]))
    found = ", ".join(f"{name} {best[name] / 1000:.0f}" for name in HEAVY_IMPORTS if name in best)
    return f"import time of `up`'s heavy packages (ms, cumulative, -X importtime): {found}"


def machine_text(cleaner: Cleaner, compose: str | None) -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    dockerd = cleaner.client.version().get("Version", "unknown")
    return (
        f"machine: {os.cpu_count()} CPUs ({cpu}); dockerd {dockerd}; "
        f"compose {compose or 'not used'}; Python {platform.python_version()}"
    )


def stackr_revision() -> str:
    """The last commit that changed stackr/, and whether its working tree differs from it (the
    checkout's other commits do not change what is timed)."""
    git = ["git", "-C", str(Path(__file__).resolve().parents[1])]
    last = [*git, "log", "-1", "--format=%h %cI", "--", "stackr"]
    found = subprocess.run(last, capture_output=True, text=True)
    changed = subprocess.run([*git, "status", "--porcelain", "--", "stackr"], capture_output=True)
    if found.returncode != 0:
        return "stackr: not a git checkout"
    dirty = " plus uncommitted changes" if changed.stdout.strip() else ""
    return f"stackr/ as of commit {found.stdout.strip()}{dirty}"


def environment_text(given: Mapping[str, str], used: Mapping[str, str]) -> str:
    if "PYTHONPYCACHEPREFIX" not in used:
        return "environment: passed on as it is (--keep-env)"
    lifted = " (PYTHONDONTWRITEBYTECODE lifted)" if "PYTHONDONTWRITEBYTECODE" in given else ""
    return f"environment: bytecode cached in a temporary folder{lifted}, as an install has it"


def revision_text(before: str, after: str) -> str:
    return before if before == after else f"{before}; CHANGED during the run, now: {after}"


def compose_version() -> str | None:
    """Compose v2's version, or None when `docker compose` is not installed."""
    try:
        done = subprocess.run(
            ["docker", "compose", "version", "--short"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


# -- main -------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time stackr against Docker Compose v2.")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument(
        "--only",
        action="append",
        choices=[s.name for s in SCENARIOS],
        help="run only this scenario (repeatable)",
    )
    parser.add_argument("--no-compose", action="store_true", help="time stackr alone")
    parser.add_argument("--jobs", type=int, help="pass --jobs N to stackr up and down")
    parser.add_argument(
        "--keep-env",
        action="store_true",
        help="pass the environment on as it is (by default bytecode is cached in a temporary "
        "folder even where PYTHONDONTWRITEBYTECODE is set)",
    )
    return parser.parse_args(argv)


def write_projects(
    scenarios: list[Scenario], tools: list[Tool], directory: Path
) -> dict[str, list[Project]]:
    return {s.name: [write_project(s, tool, directory) for tool in tools] for s in scenarios}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    compose = None if args.no_compose else compose_version()
    if compose is None and not args.no_compose:
        progress("docker compose v2 not found: timing stackr alone")
    tools = [Tool.STACKR] + ([Tool.COMPOSE] if compose else [])
    scenarios = [s for s in SCENARIOS if not args.only or s.name in args.only]
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    revision = stackr_revision()
    with tempfile.TemporaryDirectory(prefix="stackr-engine-bench-") as tmp:
        env = child_env(None if args.keep_env else Path(tmp) / "pycache")
        bench = Bench(Cleaner(), Results(), jobs, env)
        projects = write_projects(scenarios, tools, Path(tmp))
        run_rounds(projects, bench, max(1, args.rounds))
        profiles = profile_stackr(projects, bench)
        imports = import_costs(env) if "startup" in projects else ""
    command = " ".join(["benchmarks/engine_bench.py", *(argv or sys.argv[1:])])
    parts = [
        machine_text(bench.cleaner, compose),
        revision_text(revision, stackr_revision()),
        f"command: .venv/bin/python {command} (rounds {max(1, args.rounds)})",
        environment_text(os.environ, env),
        table(bench.results),
        *([imports] if imports else []),
        samples_text(bench.results),
        *(profile_text(found) for found in profiles),
    ]
    print("\n\n".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
