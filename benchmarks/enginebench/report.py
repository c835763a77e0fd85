"""The report: the table of medians against the targets, every sample, the machine."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from enginebench.inprocess import TOP_LEVEL, Profiled
from enginebench.runs import Cleaner, Results
from enginebench.stacks import UP_IMPORTS, Tool

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
    git = ["git", "-C", str(Path(__file__).resolve().parents[2])]
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
