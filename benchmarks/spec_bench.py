"""Benchmark of the spec pipeline: load, validate and render a large stack, in process and as
a user runs it.

It writes a realistic stack file with N services into a temporary directory: every common key,
variables, both forms of `environment` and `labels`, port ranges sized to replicas, bind and
named volumes, networks, `depends_on` chains and fan-in, three profiles, and a `.env` and a
`.env.prod`. Then it times, over R repetitions:

- in process: `stackr.spec.load_stack(..., profile="prod")`, and each of its stages. The stages
  are timed by wrapping the stage functions `load_stack` calls, in this process only, so the
  real calls are measured in the real order without changing stackr. Also
  `stackr.api.config(stack)`, and `stackr.cli.render.config`, which prints it for
  `stackr config`;
- as a user sees it: `stackr validate`, `stackr config` and `stackr --help` as subprocesses;
- the same for `examples/quickstart/stack.yml`.

Each row shows the wall time (min, median, first repetition) and the median CPU time of the
measured process. The CPU time is the number to trust when the machine is shared. It also
reports which heavy modules the commands import (the Docker SDK and networkx must not be among
them). Uses only the standard library and stackr's own dependencies.

Run: `.venv/bin/python benchmarks/spec_bench.py [--services N] [--repeat R]`. With
`--write DIR`, it only writes the files into DIR, for profiling.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import json
import operator
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import yaml

import stackr
from stackr import api
from stackr.spec import load_stack
from stackr.spec.model import Stack

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "examples" / "quickstart" / "stack.yml"
STACKR = Path(sys.executable).with_name("stackr")
PROFILE = "prod"
PROFILES = ("dev", "staging", "prod")
PORT_BLOCK = 8  # host ports reserved per service: more than any profile's replicas
FIRST_PORT = 10000
CHAIN = 10  # services per depends_on chain
FAN_IN_EVERY = 50  # every this many services, one gateway waits for the chains before it
VOLUMES = 40
NETWORKS = 12
ENV = {"REGION": "eu-west-1", "TAG": "2.3.1"}  # what the process environment holds
DOTENV = (
    "# written by benchmarks/spec_bench.py\nDB_PASS=s3cret\nLOG_LEVEL=info\nexport OWNER=platform\n"
)
DOTENV_PROFILE = "# read for the prod profile\nLOG_LEVEL=warn\n"
HEAVY_MODULES = ("docker", "networkx", "jsonschema", "yaml", "typer", "rich")

T = TypeVar("T")


# -- the generated stack ----------------------------------------------------------------------


def service_name(index: int) -> str:
    return f"svc-{index:04d}"


def has_healthcheck(index: int) -> bool:
    return index % 7 != 3


def is_job(index: int) -> bool:
    """A one-shot job (restart "no", waited for as `completed`): the head of some chains."""
    return index % CHAIN == 0 and index % 30 == 0


def host_port(index: int) -> int | None:
    """The first host port of the service's block, or None once the port space runs out."""
    start = FIRST_PORT + index * PORT_BLOCK
    return start if start + PORT_BLOCK < 65536 else None


def ports(index: int, replicas: int, *, ip: str = "") -> list[str | int]:
    start = host_port(index)
    prefix = f"{ip}:" if ip else ""
    published: list[str | int] = [9100 + index % 10, f"{9200 + index % 5}/udp"]
    if start is None or replicas == 0:
        return published
    span = f"{start}" if replicas == 1 else f"{start}-{start + replicas - 1}"
    return [f"{prefix}{span}:8080", *published]


def condition(dep: int) -> str:
    if is_job(dep):
        return "completed"
    return "healthy" if has_healthcheck(dep) else "started"


def dependencies(index: int) -> Any:
    """A chain (each service waits for the one before it), and fan-in at every gateway."""
    deps: list[int] = []
    if index % CHAIN:
        deps.append(index - 1)
    if index and index % FAN_IN_EVERY == 0:
        deps += [index - k * CHAIN - 1 for k in range(5) if index - k * CHAIN - 1 >= 0]
        deps.append(index - FAN_IN_EVERY)  # the previous gateway
    if not deps:
        return None
    if index % 4 == 1:
        return [service_name(d) for d in deps]
    return {service_name(d): {"condition": condition(d)} for d in dict.fromkeys(deps)}


def environment(index: int) -> Any:
    pairs = {
        "SERVICE": service_name(index),
        "LOG_LEVEL": "${LOG_LEVEL:-warn}",
        "REGION": "${REGION:?set REGION to the deployment region}",
        "DB_URL": "postgres://app:${DB_PASS}@db-${REGION}.internal:5432/app",
        "WORKERS": str(2 + index % 6),
        "FEATURE_FLAGS": "search,checkout,${EXTRA_FLAG-none}",
        "OWNER": None,  # taken from the environment (.env)
    }
    if index % 2:
        return [key if value is None else f"{key}={value}" for key, value in pairs.items()]
    return pairs


def labels(index: int) -> Any:
    pairs = {"team": f"team-{index % 12}", "tier": ("web", "api", "worker", "db")[index % 4]}
    if index % 3 == 0:
        return [f"{key}={value}" for key, value in pairs.items()]
    return {**pairs, "com.example.cost-centre": f"cc-{index % 9}"}


def healthcheck(index: int) -> dict[str, Any]:
    test: Any = ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:8080/health"]
    if index % 5 == 0:
        test = "wget -q -O /dev/null http://localhost:8080/health || exit 1"
    return {"test": test, "interval": "10s", "timeout": "2s", "retries": 3, "start_period": "5s"}


def command(index: int) -> Any:
    if index % 3 == 0:
        return f"/app/bin/server --port 8080 --name {service_name(index)} --cache '$$HOME/c'"
    return ["/app/bin/server", "--port", "8080", "--workers", str(2 + index % 6)]


def service(index: int) -> dict[str, Any]:
    replicas = 1 + index % 3
    body: dict[str, Any] = {
        "image": f"registry.example.com/team-{index % 12}/app-{index % 40}:${{TAG:-1.0}}",
        "command": command(index),
        "environment": environment(index),
        "ports": ports(index, replicas, ip="127.0.0.1" if index % 9 == 0 else ""),
        "volumes": [
            f"./data/{service_name(index)}:/var/lib/app",
            f"vol-{index % VOLUMES:02d}:/var/cache/shared:ro",
            "/tmp/scratch",
        ],
        "networks": sorted({f"net-{index % NETWORKS:02d}", f"net-{(index // 3) % NETWORKS:02d}"}),
        "replicas": replicas,
        "restart": "no" if is_job(index) else ("always", "unless-stopped", "on-failure")[index % 3],
        "labels": labels(index),
        "resources": {"cpus": 0.25 * (1 + index % 4), "memory": f"{128 * (1 + index % 4)}m"},
        "stop_grace_period": ("5s", "1m30s", "500ms", 20)[index % 4],
    }
    if has_healthcheck(index):
        body["healthcheck"] = healthcheck(index)
    deps = dependencies(index)
    if deps:
        body["depends_on"] = deps
    if index % 8 == 0:
        body |= {"user": "1000:1000", "working_dir": "/app", "entrypoint": ["/sbin/tini", "--"]}
    if index % 10 == 0:
        body["x-owner"] = "${OWNER}"
    return body


def profile_overlay(count: int, profile: str) -> dict[str, Any]:
    """Replicas, ports, environment and resources of a good share of the services."""
    share = {"dev": 3, "staging": 2, "prod": 1}[profile]  # every Nth service is overridden
    replicas = {"dev": 1, "staging": 2, "prod": 4}[profile]
    services: dict[str, Any] = {}
    for index in range(0, count, share):
        environment: Any = {
            "LOG_LEVEL": "debug" if profile == "dev" else "info",
            "PROFILE": profile,
        }
        if index % 2:
            environment = [f"{key}={value}" for key, value in environment.items()]
        services[service_name(index)] = {
            "replicas": replicas,
            "ports": ports(index, replicas),
            "environment": environment,
            "resources": {"memory": f"{256 * replicas}m", "cpus": 0.5 * replicas},
        }
    return {"services": services}


def stack_document(count: int) -> dict[str, Any]:
    return {
        "name": "bench",
        "services": {service_name(i): service(i) for i in range(count)},
        "volumes": {
            f"vol-{v:02d}": {"driver": "local", "labels": {"backup": "daily"}}
            for v in range(VOLUMES)
        },
        "networks": {
            f"net-{n:02d}": {"driver": "bridge", "internal": n % 4 == 3} for n in range(NETWORKS)
        },
        "profiles": {name: profile_overlay(count, name) for name in PROFILES},
    }


def write_stack(directory: Path, count: int) -> Path:
    """Write `stack.yml` and `.env` into `directory`; return the stack file's path."""
    path = directory / "stack.yml"
    text = yaml.safe_dump(stack_document(count), sort_keys=False, width=120)
    path.write_text("# generated by benchmarks/spec_bench.py\n" + text, encoding="utf-8")
    (directory / ".env").write_text(DOTENV, encoding="utf-8")
    (directory / f".env.{PROFILE}").write_text(DOTENV_PROFILE, encoding="utf-8")
    return path


# -- measuring --------------------------------------------------------------------------------

# The stages of `load_stack`, as (defining module, function). `load_stack` imports some inside
# the function and others at the top of `stackr.spec`, so each is wrapped where it is defined and,
# if `stackr.spec` holds the same function, there too: the real calls are timed, in the real
# order. A stage a given version of stackr does not have is not reported.
STAGES = (
    ("stackr.spec", "stack_env"),
    ("stackr.spec.variables", "collect_variables"),
    ("stackr.spec.source", "load_document"),
    ("stackr.spec.interpolate", "interpolate_document"),
    ("stackr.spec.profiles", "normalise_pairs"),
    ("stackr.spec.profiles", "merge_documents"),
    ("stackr.spec.schema", "validate_document"),
    ("stackr.spec.profiles", "profile_settings"),
    ("stackr.spec.profiles", "apply_profile"),
    ("stackr.spec.prune", "prune_invalid"),
    ("stackr.spec.normalize", "build_stack"),
    ("stackr.spec.checks", "check_stack"),
)
ORDINALS = ("", " (2nd call)", " (3rd call)")


class Sample(NamedTuple):
    """One timing: wall-clock seconds, and CPU seconds (user + system) of the process measured."""

    wall: float
    cpu: float

    def __sub__(self, other: object) -> Sample:
        assert isinstance(other, Sample)
        return Sample(self.wall - other.wall, self.cpu - other.cpu)


ZERO = Sample(0.0, 0.0)


def now() -> Sample:
    return Sample(time.perf_counter(), time.process_time())


def children_now() -> Sample:
    """The clock and the CPU time used so far by this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Sample(time.perf_counter(), usage.ru_utime + usage.ru_stime)


@dataclass(frozen=True, slots=True)
class Row:
    """One measured thing: its name and the timing of each repetition."""

    name: str
    samples: tuple[Sample, ...]


def timed(call: Callable[[], T]) -> tuple[T, Sample]:
    started = now()
    result = call()
    return result, now() - started


def repeat(name: str, call: Callable[[], object], times: int) -> Row:
    return Row(name, tuple(timed(call)[1] for _ in range(times)))


class StageClock:
    """Times the outermost stage calls of one `load_stack` run after another.

    A stage called from inside another (the profile overlay merges documents) counts for the
    outer one only, so the stages add up to the whole.
    """

    def __init__(self) -> None:
        self.runs: list[dict[str, Sample]] = []
        self.active = False

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed_stage(*args: Any, **kwargs: Any) -> Any:
            if self.active:
                return function(*args, **kwargs)
            self.active = True
            started = now()
            try:
                return function(*args, **kwargs)
            finally:
                self.active = False
                self.record(name, now() - started)

        return timed_stage

    def record(self, name: str, spent: Sample) -> None:
        run = self.runs[-1]
        calls = sum(1 for key in run if key.startswith(name))
        run[name + ORDINALS[min(calls, len(ORDINALS) - 1)]] = spent

    def rows(self, totals: list[Sample]) -> Iterator[Row]:
        for name in self.runs[0]:
            yield Row(f"  {name}", tuple(run.get(name, ZERO) for run in self.runs))
        rest = tuple(
            functools.reduce(operator.sub, run.values(), total)
            for total, run in zip(totals, self.runs, strict=True)
        )
        yield Row("  (between stages)", rest)


def stage_homes(module_name: str, attribute: str) -> list[tuple[Any, Callable[..., Any]]]:
    """The modules through which `load_stack` can reach the stage, with the function."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return []
    found = getattr(module, attribute, None)
    if not callable(found):
        return []
    function: Callable[..., Any] = found
    spec = importlib.import_module("stackr.spec")
    homes = [module]
    if spec is not module and getattr(spec, attribute, None) is function:
        homes.append(spec)
    return [(home, function) for home in homes]


@contextlib.contextmanager
def stages_wrapped(clock: StageClock) -> Iterator[None]:
    """Wrap every stage function found; put the originals back afterwards."""
    originals: list[tuple[Any, str, Callable[..., Any]]] = []
    for module_name, attribute in STAGES:
        for home, function in stage_homes(module_name, attribute):
            originals.append((home, attribute, function))
            setattr(home, attribute, clock.wrap(attribute, function))
    try:
        yield
    finally:
        for home, attribute, function in originals:
            setattr(home, attribute, function)


def load_rows(path: str, env: Mapping[str, str], times: int) -> tuple[Stack, list[Row]]:
    """`load_stack` cold then warm, and a second series split into its stages."""
    load = functools.partial(load_stack, [path], profile=PROFILE, env=env)
    stack, first = timed(load)
    whole = Row(
        "load_stack (prod), in process", (first, *(timed(load)[1] for _ in range(times - 1)))
    )
    clock = StageClock()
    totals: list[Sample] = []
    with stages_wrapped(clock):
        for _ in range(times):
            clock.runs.append({})
            totals.append(timed(load)[1])
    return stack, [whole, *clock.rows(totals)]


def in_process_rows(path: str, env: Mapping[str, str], times: int) -> list[Row]:
    stack, rows = load_rows(path, env, times)
    config = api.config(stack)
    return [
        *rows,
        repeat("api.config(stack)", lambda: api.config(stack), times),
        repeat("render.config (YAML), as `config` prints", lambda: print_config(config), times),
    ]


def print_config(config: dict[str, Any]) -> None:
    """What `stackr config` does with the rendered stack, written to /dev/null."""
    from stackr.cli import render

    with open(os.devnull, "w", encoding="utf-8") as sink, contextlib.redirect_stdout(sink):
        render.config(config, fmt="yaml")


def run_cli(args: list[str], env: Mapping[str, str]) -> Sample:
    started = children_now()
    done = subprocess.run(
        args, env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    spent = children_now() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.decode()}")
    return spent


def cli_rows(path: str, env: Mapping[str, str], times: int) -> list[Row]:
    commands = {
        f"stackr {command} --profile prod": [str(STACKR), command, "-f", path, "--profile", PROFILE]
        for command in ("validate", "config")
    }
    return [
        Row(name, tuple(run_cli(args, env) for _ in range(times)))
        for name, args in commands.items()
    ]


def startup_row(env: Mapping[str, str], times: int) -> Row:
    return Row("stackr --help", tuple(run_cli([str(STACKR), "--help"], env) for _ in range(times)))


_PROBE = """
import json, sys
from stackr.cli.app import main
code = main(sys.argv[1:])
loaded = {name: name in sys.modules for name in %r}
sys.stderr.write("PROBE " + json.dumps({"code": code, "modules": len(sys.modules), **loaded}))
"""


def imported_by(args: list[str], env: Mapping[str, str]) -> dict[str, Any]:
    """Which heavy modules running `stackr ARGS` imports (run in a fresh interpreter)."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE % (HEAVY_MODULES,), *args],
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    line = next((ln for ln in done.stderr.splitlines() if ln.startswith("PROBE ")), "")
    if not line:
        raise SystemExit(f"import probe failed: {done.stderr}")
    found: dict[str, Any] = json.loads(line.removeprefix("PROBE "))
    return found


# -- output -----------------------------------------------------------------------------------


def milliseconds(value: float) -> str:
    return f"{value * 1000:9.1f}"


def table(title: str, rows: list[Row]) -> str:
    width = max(len(row.name) for row in rows)
    names = ("min ms", "median ms", "first ms", "cpu ms")
    head = f"{'':<{width}}  " + "  ".join(f"{name:>9}" for name in names)
    lines = [title, head, "-" * len(head)]
    for row in rows:
        walls = [sample.wall for sample in row.samples]
        cpus = [sample.cpu for sample in row.samples]
        numbers = (min(walls), statistics.median(walls), walls[0], statistics.median(cpus))
        cells = "  ".join(milliseconds(n) for n in numbers)
        lines.append(f"{row.name:<{width}}  {cells}")
    return "\n".join(lines)


def imports_line(label: str, args: list[str], env: Mapping[str, str]) -> str:
    found = imported_by(args, env)
    loaded = ", ".join(f"{name}={'yes' if found[name] else 'no'}" for name in HEAVY_MODULES)
    return f"  {label:<22} exit {found['code']}, {found['modules']:4d} modules; {loaded}"


def progress(message: str) -> None:
    """A note on stderr, so a long run shows what it is doing; the table goes to stdout."""
    print(f"... {message}", file=sys.stderr, flush=True)


def file_rows(path: Path, label: str, times: int) -> list[Row]:
    env = {**os.environ, **ENV}
    progress(f"{label}: in process, {times} x 2 runs of load_stack")
    rows = in_process_rows(str(path), ENV, times)
    progress(f"{label}: stackr validate and config, {times} x each")
    return rows + cli_rows(str(path), env, times)


def report(path: Path, count: int, times: int) -> str:
    env = {**os.environ, **ENV}
    kib = path.stat().st_size / 1024
    big = [*file_rows(path, f"{count} services", times), startup_row(env, times)]
    small = file_rows(QUICKSTART, "quickstart", times)
    progress("imports")
    # What gets imported does not depend on the file's size: probe with the small one.
    quickstart = ["-f", str(QUICKSTART), "--profile", PROFILE]
    probes = [
        imports_line("stackr validate", ["validate", *quickstart], env),
        imports_line("stackr config", ["config", *quickstart], env),
        imports_line("stackr --help", ["--help"], env),
    ]
    return "\n\n".join(
        [
            f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, repeat {times}, "
            f"stackr from {Path(stackr.__file__).parent}",
            table(f"{count} services, profile prod ({kib:.0f} KiB of YAML)", big),
            table(f"quickstart ({QUICKSTART.relative_to(ROOT)}), profile prod", small),
            "modules imported (quickstart, profile prod):\n" + "\n".join(probes),
        ]
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time stackr's spec pipeline and CLI startup.")
    parser.add_argument("--services", type=int, default=1000, help="services (default 1000)")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions (default 5)")
    parser.add_argument(
        "--write", type=Path, metavar="DIR", help="only write the stack and .env files into DIR"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    count, times = max(1, args.services), max(1, args.repeat)
    if args.write is not None:
        args.write.mkdir(parents=True, exist_ok=True)
        print(write_stack(args.write, count))
        return 0
    with tempfile.TemporaryDirectory(prefix="stackr-bench-") as tmp:
        print(report(write_stack(Path(tmp), count), count, times))
    return 0


if __name__ == "__main__":
    sys.exit(main())
