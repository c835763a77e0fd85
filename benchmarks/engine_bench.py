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
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from enginebench.inprocess import profile_stackr
from enginebench.report import (
    compose_version,
    environment_text,
    import_costs,
    machine_text,
    profile_text,
    revision_text,
    samples_text,
    stackr_revision,
    table,
)
from enginebench.runs import Bench, Cleaner, Results, child_env, progress, run_rounds
from enginebench.stacks import SCENARIOS, Project, Scenario, Tool, write_project

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
        # The lock files of every round's stack go with the run, not into the user's cache.
        os.environ["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")
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
