"""Turns a validated, profile-merged document into the frozen `Stack` model.

The document has passed the schema, so shapes are known; the short textual forms (ports,
durations, sizes, volume entries) are parsed here, and a value that parses badly becomes a located
Issue. Raw mappings end here: nothing after this module sees one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from stackr.errors import Issue
from stackr.spec.declared import read_network, read_volume
from stackr.spec.dependencies import dependencies, optional_dependencies, owners_first
from stackr.spec.deploy import from_deploy
from stackr.spec.files import env_file_values, file_grants, file_sources, label_file_values
from stackr.spec.identity import stack_name
from stackr.spec.model import (
    Build,
    FailureAction,
    FileKind,
    Healthcheck,
    Network,
    PullPolicy,
    Resources,
    RestartPolicy,
    Service,
    Stack,
    UpdateOrder,
    UpdatePolicy,
)
from stackr.spec.mounts import UNPARSED_MOUNT, parse_mount
from stackr.spec.runtime import parse_runtime
from stackr.spec.source import Document
from stackr.spec.values import (
    parse_command,
    parse_cpus,
    parse_duration,
    parse_pairs,
    parse_port,
    parse_pull_policy,
    parse_size,
    scalar_text,
)

DEFAULT_NETWORK = "default"
T = TypeVar("T")
Path_ = tuple[str | int, ...]


class _Builder:
    """Collects parse issues while building, so every bad value is reported in one run."""

    def __init__(self, doc: Document, env: Mapping[str, str], folder: Path = Path()) -> None:
        self.doc = doc
        self.env = dict(env)
        self.folder = folder  # the first stack file's folder, as given: names env files
        self.issues: list[Issue] = []
        self.warnings: dict[Issue, None] = {}  # one of each: services may share an env file
        # Values read from where the file does not write them (Compose's `deploy`): their
        # paths in the model → where they are written.
        self.moved: dict[Path_, Path_] = {}

    def warn(self, issue: Issue) -> None:
        self.warnings[issue] = None

    def report(self, path: Path_, message: str, hint: str = "") -> None:
        self.issues.append(self.doc.issue(self.written(path), message, hint))

    def written(self, path: Path_) -> Path_:
        """Where the value the model has at `path` is written in the file."""
        for size in range(len(path), 2, -1):
            if path[:size] in self.moved:
                return (*self.moved[path[:size]], *path[size:])
        return path

    def add(self, issue: Issue) -> None:
        self.issues.append(issue)

    def parse(self, path: Path_, parser: Callable[[Any], T], value: Any, default: T) -> T:
        try:
            return parser(value)
        except ValueError as error:
            self.report(path, str(error), getattr(error, "hint", ""))
            return default


def build_stack(
    doc: Document,
    *,
    profile: str,
    files: tuple[str, ...],
    env: Mapping[str, str],
    engine: str | None = None,
) -> tuple[Stack, list[Issue]]:
    """The model of `doc` and the issues met while parsing its values."""
    data: dict[str, Any] = doc.data
    builder = _Builder(doc, env, Path(files[0]).parent)
    project_dir = str(Path(files[0]).resolve().parent)
    name = stack_name(data, files[0])
    if "version" in data:
        builder.warn(
            doc.issue(
                ("version",), "version is obsolete: stackr ignores it, as Compose does", "remove it"
            )
        )
    services = {
        key: _service(builder, key, raw, name=name, project_dir=project_dir)
        for key, raw in (data.get("services") or {}).items()
    }
    services = {
        key: optional_dependencies(owners_first(s, services), services, doc, builder.warn)
        for key, s in services.items()
    }
    networks = {
        key: read_network(builder, key, raw) for key, raw in (data.get("networks") or {}).items()
    }
    if DEFAULT_NETWORK not in networks and any(
        DEFAULT_NETWORK in s.networks for s in services.values()
    ):
        networks[DEFAULT_NETWORK] = Network(name=DEFAULT_NETWORK)
    volumes = {
        key: read_volume(builder, key, raw) for key, raw in (data.get("volumes") or {}).items()
    }
    secrets, configs = (
        file_sources(
            builder, kind, data.get(f"{kind.value}s") or {}, project_dir=project_dir, env=env
        )
        for kind in (FileKind.SECRET, FileKind.CONFIG)
    )
    stack = Stack(
        name=name,
        profile=profile,
        project_dir=project_dir,
        files=files,
        services=services,
        volumes=volumes,
        networks=networks,
        secrets=secrets,
        configs=configs,
        engine=engine,
        warnings=tuple(builder.warnings),
        written_at=_engine_keys_written(builder, services),
    )
    return stack, builder.issues


# The keys only the engine can judge (a runtime it knows, CPUs it has, an image it holds):
# where each is written goes with the model, for the problem found at `up`.
_ENGINE_KEYS: tuple[Path_, ...] = (
    ("runtime",),
    ("pull_policy",),
    ("cpuset",),
    ("resources", "cpus"),
)


def _engine_keys_written(b: _Builder, services: Mapping[str, Service]) -> dict[str, str]:
    found = {}
    for key in services:
        for part in _ENGINE_KEYS:
            written = b.written(("services", key, *part))
            if written in b.doc.positions:
                at = b.doc.locate(written)
                found[".".join(map(str, ("services", key, *part)))] = f"{at.file}:{at.line}"
    return found


def _service(b: _Builder, key: str, raw: dict[str, Any], *, name: str, project_dir: str) -> Service:
    at: Path_ = ("services", key)
    raw, moved = from_deploy(
        raw,
        at,
        report=b.report,
        warn=lambda path, message, hint: b.warn(b.doc.issue(path, message, hint)),
        layer=lambda cause, here: _elsewhere(b.doc, cause, here),
    )
    b.moved |= moved
    build = _build(b, (*at, "build"), raw.get("build"), project_dir)
    grace = raw.get("stop_grace_period", 10)
    policy, every = _pull_policy(b, at, raw, build)
    return Service(
        name=key,
        image=str(raw.get("image") or f"{name}-{key}"),
        build=build,
        pull_policy=policy,
        pull_every=every,
        command=_words(b, (*at, "command"), raw),
        entrypoint=_words(b, (*at, "entrypoint"), raw),
        environment={
            **env_file_values(
                b, (*at, "env_file"), raw.get("env_file"), project_dir, b.env, b.folder
            ),
            **parse_pairs(raw.get("environment") or {}, env=b.env),
        },
        ports=tuple(
            b.parse((*at, "ports", i), parse_port, port, _NO_PORT)
            for i, port in enumerate(raw.get("ports") or [])
        ),
        mounts=tuple(
            b.parse((*at, "volumes", i), _mount_parser(project_dir), entry, UNPARSED_MOUNT)
            for i, entry in enumerate(raw.get("volumes") or [])
        ),
        secrets=file_grants(b, (*at, "secrets"), FileKind.SECRET, raw.get("secrets")),
        configs=file_grants(b, (*at, "configs"), FileKind.CONFIG, raw.get("configs")),
        # A network mode replaces the networks (`checks` refuses the two together).
        networks=() if raw.get("network_mode") else tuple(raw.get("networks") or [DEFAULT_NETWORK]),
        network_aliases={} if raw.get("network_mode") else _network_aliases(raw.get("networks")),
        network_mode=str(raw.get("network_mode") or ""),
        depends_on=dependencies(raw.get("depends_on")),
        healthcheck=_healthcheck(b, (*at, "healthcheck"), raw.get("healthcheck")),
        replicas=int(raw.get("replicas", 1)),
        restart=RestartPolicy(str(raw.get("restart", "no")).partition(":")[0]),
        restart_tries=int(str(raw.get("restart", "")).partition(":")[2] or 0),
        labels={
            **label_file_values(
                b, (*at, "label_file"), raw.get("label_file"), project_dir, b.folder
            ),
            **parse_pairs(raw.get("labels") or {}),
        },
        resources=_resources(b, (*at, "resources"), raw.get("resources") or {}),
        user=scalar_text(raw["user"]) if "user" in raw else None,
        working_dir=raw.get("working_dir"),
        stop_grace_period=b.parse((*at, "stop_grace_period"), parse_duration, grace, 10.0),
        update=_update(b, (*at, "update"), raw.get("update") or {}),
        runtime=parse_runtime(raw, _Under(b, at)),
    )


def _elsewhere(doc: Document, cause: Path_, here: Path_) -> str:
    """Where the value at `cause` comes from, when not from where `here` is written: a profile,
    a base it extends (`set_apart`), or another `-f` file."""
    said = doc.set_apart(cause, here)
    found = doc.positions.get(cause)
    if said or found is None or found.file == doc.locate(here).file:
        return said
    return f" (in {found.file}:{found.line})"


def _pull_policy(
    b: _Builder, at: Path_, raw: dict[str, Any], build: Build | None
) -> tuple[PullPolicy, float]:
    if "pull_policy" not in raw:
        return PullPolicy.MISSING, 0.0
    name, every = b.parse((*at, "pull_policy"), parse_pull_policy, raw["pull_policy"], ("", 0.0))
    if not name:
        return PullPolicy.MISSING, 0.0
    if name == "build" and build is None:
        b.report(
            (*at, "pull_policy"),
            "pull_policy: build, but the service has no build section to build its image from",
            "add a build section, or write another policy (missing, always, never)",
        )
    if name in ("always", "refresh") and build is not None:
        # The containers of a service with a build run a build of its inputs (their digest is
        # in their spec): a pulled image under its tag would never be what they run.
        b.report(
            (*at, "pull_policy"),
            f"pull_policy: {raw['pull_policy']} pulls the image, but the service builds it "
            "from its build section",
            "write pull_policy: build to build it on every up, or remove build to run the "
            "registry's image",
        )
    return PullPolicy(name), every


class _Under:
    """The builder, reporting at paths under one service (runtime.Where)."""

    def __init__(self, b: _Builder, at: Path_) -> None:
        self.b, self.at = b, at

    def parse(self, path: Path_, parser: Callable[[Any], T], value: Any, default: T) -> T:
        return self.b.parse((*self.at, *path), parser, value, default)

    def report(self, path: Path_, message: str, hint: str = "") -> None:
        self.b.report((*self.at, *path), message, hint)


_NO_PORT = parse_port("1")


def _mount_parser(project_dir: str) -> Callable[[Any], Any]:
    return lambda entry: parse_mount(entry, base_dir=project_dir)


def _build(b: _Builder, at: Path_, raw: Any, project_dir: str) -> Build | None:
    if raw is None:
        return None
    written = raw if isinstance(raw, str) else {}
    if isinstance(raw, str):
        raw = {"context": raw}
    context = Path(raw.get("context", "."))
    absolute = (context if context.is_absolute() else Path(project_dir) / context).resolve()
    dockerfile = str(raw.get("dockerfile", "Dockerfile"))
    # Found here, located, rather than by the engine once `up` has begun.
    where = at if written else (*at, "context")
    if not absolute.is_dir():
        b.report(where, f"build context {context} not found", _RELATIVE)
    elif not (absolute / dockerfile).is_file():
        where = at if written or "dockerfile" not in raw else (*at, "dockerfile")
        b.report(where, f"{dockerfile} not found in build context {context}", _RELATIVE)
    return Build(
        context=str(absolute),
        dockerfile=dockerfile,
        args=parse_pairs(raw.get("args") or {}),
        target=str(raw.get("target") or ""),
    )


_RELATIVE = (
    "create it, or fix the path (a context is relative to the stack file, its dockerfile to "
    "the context)"
)


def _healthcheck(b: _Builder, at: Path_, raw: Any) -> Healthcheck | None:
    if not raw:
        return None
    if raw.get("disable"):
        return Healthcheck(test=("NONE",))
    test = raw.get("test")
    if isinstance(test, str):
        test_items: tuple[str, ...] = ("CMD-SHELL", test)
    else:
        test_items = tuple(str(item) for item in test or ())

    def duration(key: str) -> float | None:
        # Left out, it is the image's (or the engine's default): not filled in here.
        return b.parse((*at, key), parse_duration, raw[key], 0.0) if key in raw else None

    return Healthcheck(
        test=test_items,
        interval=duration("interval"),
        timeout=duration("timeout"),
        retries=int(raw["retries"]) if "retries" in raw else None,
        start_period=duration("start_period"),
    )


def _network_aliases(raw: Any) -> dict[str, tuple[str, ...]]:
    # The mapping form: `{front: {aliases: [api]}, back: null}`; a list has no aliases.
    if not isinstance(raw, dict):
        return {}
    found = {name: tuple((entry or {}).get("aliases") or ()) for name, entry in raw.items()}
    return {name: aliases for name, aliases in found.items() if aliases}


def _words(b: _Builder, at: Path_, raw: dict[str, Any]) -> tuple[str, ...] | None:
    key = str(at[-1])
    nothing: tuple[str, ...] = ()
    return b.parse(at, parse_command, raw[key], nothing) if key in raw else None


def _resources(b: _Builder, at: Path_, raw: dict[str, Any]) -> Resources:
    # 0, as the engine reads it (and Compose writes it): no limit, as leaving it out.
    cpus = b.parse((*at, "cpus"), parse_cpus, raw["cpus"], 1.0) if "cpus" in raw else None
    memory = b.parse((*at, "memory"), parse_size, raw["memory"], 0) if "memory" in raw else None
    return Resources(cpus=cpus or None, memory=memory or None)


def _update(b: _Builder, at: Path_, raw: dict[str, Any]) -> UpdatePolicy:
    return UpdatePolicy(
        parallelism=int(raw.get("parallelism", 1)),
        order=UpdateOrder(raw.get("order", "stop-first")),
        delay=b.parse((*at, "delay"), parse_duration, raw.get("delay", 0), 0.0),
        failure_action=FailureAction(raw.get("failure_action", "rollback")),
        monitor=b.parse((*at, "monitor"), parse_duration, raw.get("monitor", 0), 0.0),
        drain=b.parse((*at, "drain"), parse_duration, raw.get("drain", 1), 1.0),
    )
