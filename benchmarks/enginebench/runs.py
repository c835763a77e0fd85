"""Running the CLIs, timed on a quiet machine, and removing what each run left behind."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors

from enginebench.stacks import (
    SCENARIOS,
    Action,
    Project,
    Scenario,
    Tool,
    compose_command,
    stackr_command,
    write_project,
)

API_VERSION = "1.41"
RUN_TIMEOUT = 600.0
PHANTOM = "has active endpoints"  # the engine's refusal to remove a network
# Before a timed run: at most this many cores busy over a window of this many seconds.
SETTLE_LIMIT = 0.15
SETTLE_WINDOW = 0.5
SETTLE_TIMEOUT = 30.0
# The environment variables that would change what either CLI reads.
UNSET = ("STACKR_PROFILE", "COMPOSE_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES")


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
