"""Benchmark of stackr's start-up: how long short commands take, as a user runs them.

It times, as subprocesses interleaved round by round, `stackr --help`, `stackr version`,
`stackr validate -f examples/quickstart/stack.yml`, and with `--engine` a no-op `stackr up` and
`stackr plan` of 50 running services (it brings them up first and takes them down after). Each
command runs with bytecode in two states:

- `cached`: Python caches bytecode in a temporary directory (`PYTHONPYCACHEPREFIX`), warmed by
  one run first, as an installed stackr would have it, even where PYTHONDONTWRITEBYTECODE is set;
- `uncached`: stackr's own modules are compiled from source on every run (a copy of the package
  without bytecode, PYTHONDONTWRITEBYTECODE=1), while the standard library and the dependencies
  use the bytecode installed with them. This is what a checkout in a sandbox that sets
  PYTHONDONTWRITEBYTECODE sees.

Each row shows the wall time (min and median) and the median CPU time (user + system) of the
command; on a shared machine trust the CPU time. It also lists the heavy packages each command
imports. Standard library plus stackr's own dependencies.

Run: `.venv/bin/python benchmarks/startup_bench.py [--repeat R] [--engine] [--source DIR]`.
With `--source DIR` it runs the stackr in DIR (a `git archive` of another commit, say) instead of
this checkout's, to compare before and after on the same machine state.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import yaml

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "examples" / "quickstart" / "stack.yml"
STACKR = Path(sys.executable).with_name("stackr")
IMAGE = "stackr/busybox:1"
SERVICES = 50
HEAVY = ("pydantic", "rich", "typer", "jsonschema", "yaml", "networkx", "docker", "requests")
MODES = ("cached", "uncached")


class Sample(NamedTuple):
    """One run: wall-clock seconds, and CPU seconds (user + system) of the command."""

    wall: float
    cpu: float


@dataclass(slots=True)
class Row:
    """One command in one bytecode mode, and its samples."""

    name: str
    mode: str
    samples: list[Sample] = field(default_factory=list)


def run(args: list[str], env: Mapping[str, str]) -> Sample:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(args, env=dict(env), capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Sample(wall, cpu)


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["COLUMNS"] = "100"
    return env


def cached_env(pycache: Path, source: Path) -> dict[str, str]:
    return {**base_env(), "PYTHONPYCACHEPREFIX": str(pycache), "PYTHONPATH": str(source)}


def uncached_env(copy: Path) -> dict[str, str]:
    return {**base_env(), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(copy)}


def copy_without_bytecode(source: Path, target: Path) -> Path:
    """stackr's package and its schema, laid out as in the checkout, without bytecode."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(source / "stackr", target / "stackr", ignore=ignore)
    shutil.copytree(source / "schemas", target / "schemas")
    return target


def commands(stack: Path | None) -> dict[str, list[str]]:
    found = {
        "stackr --help": [str(STACKR), "--help"],
        "stackr version": [str(STACKR), "version"],
        "stackr validate (quickstart)": [str(STACKR), "validate", "-f", str(QUICKSTART)],
    }
    if stack is not None:
        spec = ["-f", str(stack)]
        found[f"stackr up, no-op ({SERVICES} services)"] = [
            str(STACKR),
            "up",
            *spec,
            "--progress",
            "plain",
        ]
        found[f"stackr plan ({SERVICES} services)"] = [str(STACKR), "plan", *spec]
    return found


def measure(table: dict[str, list[str]], envs: dict[str, dict[str, str]], times: int) -> list[Row]:
    rows = {(name, mode): Row(name, mode) for name in table for mode in envs}
    for env in envs.values():  # one run each first: warms the caches and the engine
        for args in table.values():
            run(args, env)
    for round_number in range(times):
        progress(f"round {round_number + 1} of {times}")
        for name, args in table.items():
            for mode, env in envs.items():
                rows[name, mode].samples.append(run(args, env))
    return list(rows.values())


_PROBE = """
import json, sys
from stackr.cli.app import main
code = main(sys.argv[1:])
heavy = [name for name in %r if name in sys.modules]
sys.stderr.write("PROBE " + json.dumps([code, len(sys.modules), heavy]))
"""


def imports_line(name: str, args: list[str], env: Mapping[str, str]) -> str:
    # -P: the stackr on PYTHONPATH (--source), not the one in the working directory.
    probe = [sys.executable, "-P", "-c", _PROBE % (HEAVY,), *args[1:]]
    done = subprocess.run(probe, env=dict(env), capture_output=True, text=True, check=False)
    line = next((ln for ln in done.stderr.splitlines() if ln.startswith("PROBE ")), "")
    if not line:
        raise SystemExit(f"import probe failed: {done.stderr}")
    code, count, heavy = json.loads(line.removeprefix("PROBE "))
    return f"  {name:<32} exit {code}, {count:4d} modules; {', '.join(heavy) or '-'}"


def report(rows: list[Row], probes: list[str], times: int) -> str:
    width = max(len(row.name) for row in rows)
    head = f"{'':<{width}}  {'bytecode':<9}  {'min ms':>8}  {'median ms':>9}  {'cpu ms':>8}"
    lines = [
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, repeat {times}, "
        f"load average {os.getloadavg()[0]:.2f}",
        "",
        head,
        "-" * len(head),
    ]
    for row in rows:
        walls = [s.wall * 1000 for s in row.samples]
        cpu = statistics.median(s.cpu * 1000 for s in row.samples)
        lines.append(
            f"{row.name:<{width}}  {row.mode:<9}  {min(walls):8.1f}  "
            f"{statistics.median(walls):9.1f}  {cpu:8.1f}"
        )
    return "\n".join([*lines, "", "heavy packages imported:", *probes])


@contextmanager
def running_stack(directory: Path, env: Mapping[str, str]) -> Iterator[Path]:
    """A stack of 50 sleeping services, up for the duration; down (volumes too) after."""
    services = {
        f"svc-{i:02d}": {"image": IMAGE, "command": ["sleep", "3600"]}
        for i in range(1, SERVICES + 1)
    }
    stack = directory / "stack.yml"
    document = {"name": f"startup-bench-{os.getpid()}", "services": services}
    stack.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    progress(f"bringing up {SERVICES} services")
    run([str(STACKR), "up", "-f", str(stack), "--progress", "plain"], env)
    try:
        yield stack
    finally:
        progress("taking them down")
        run([str(STACKR), "down", "-f", str(stack), "--volumes", "--progress", "plain"], env)


def progress(message: str) -> None:
    """A note on stderr, so a long run shows what it is doing; the table goes to stdout."""
    print(f"... {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time stackr's start-up.")
    parser.add_argument("--repeat", type=int, default=10, help="repetitions (default 10)")
    parser.add_argument(
        "--engine", action="store_true", help=f"also a no-op up and plan of {SERVICES} services"
    )
    parser.add_argument(
        "--source", type=Path, default=ROOT, metavar="DIR", help="run the stackr found in DIR"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    times = max(1, args.repeat)
    with tempfile.TemporaryDirectory(prefix="stackr-startup-") as tmp:
        work = Path(tmp)
        envs = {
            "cached": cached_env(work / "pycache", args.source.resolve()),
            "uncached": uncached_env(copy_without_bytecode(args.source, work / "copy")),
        }
        if not args.engine:
            table = commands(None)
            rows = measure(table, envs, times)
            probes = [imports_line(name, cmd, envs["cached"]) for name, cmd in table.items()]
            print(report(rows, probes, times))
            return 0
        with running_stack(work, envs["cached"]) as stack:
            table = commands(stack)
            rows = measure(table, envs, times)
            probes = [imports_line(name, cmd, envs["cached"]) for name, cmd in table.items()]
        print(report(rows, probes, times))
    return 0


if __name__ == "__main__":
    sys.exit(main())
