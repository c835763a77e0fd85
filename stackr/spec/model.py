"""The typed, frozen model of a stack, as every layer after the loader sees it.

Nothing here validates: the schema and the cross-checks in `spec` did that before a model is
built. Values are already normalised (durations in seconds, sizes in bytes, paths absolute).

The options for how a service's containers run (`Runtime`, `LogConfig`) are `runopts`'.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from stackr.errors import Issue
from stackr.spec.runopts import Runtime


class Condition(enum.Enum):
    """What a dependent waits for before it starts."""

    STARTED = "started"
    HEALTHY = "healthy"
    COMPLETED = "completed"


class RestartPolicy(enum.Enum):
    NO = "no"
    ALWAYS = "always"
    ON_FAILURE = "on-failure"
    UNLESS_STOPPED = "unless-stopped"

    @property
    def one_shot(self) -> bool:
        """Whether a container under this policy stays exited once it ends with 0: it can
        complete (a job), where `always` and `unless-stopped` would start it again."""
        return self in (RestartPolicy.NO, RestartPolicy.ON_FAILURE)


def restart_text(policy: str, tries: int) -> str:
    """A restart policy as Compose writes it: `on-failure:3` with a limit, else the policy."""
    return f"{policy}:{tries}" if tries else policy


class MountKind(enum.Enum):
    BIND = "bind"
    VOLUME = "volume"
    ANONYMOUS = "anonymous"
    TMPFS = "tmpfs"  # the long syntax's `type: tmpfs` (the `tmpfs` key is the runtime's)


@dataclass(frozen=True, slots=True, kw_only=True)
class PortRule:
    """One `ports` entry: a host port range (one port per replica) mapped to a container port."""

    container_port: int
    protocol: str = "tcp"
    host_ip: str = ""
    host_start: int | None = None  # None: the engine picks a free host port
    host_end: int | None = None

    def host_port_for(self, replica: int) -> int | None:
        """The host port replica `replica` (1-based) publishes on, or None for an ephemeral one."""
        if self.host_start is None:
            return None
        return self.host_start + replica - 1

    def render(self) -> str:
        host = ""
        if self.host_start is not None:
            end = f"-{self.host_end}" if self.host_end not in (None, self.host_start) else ""
            host = f"{self.host_start}{end}:"
        elif self.host_ip:
            host = ":"  # `127.0.0.1::80`: the engine picks the host port, as Compose writes it
        # An IPv6 address goes in brackets, as the short syntax reads it back.
        ip = (
            f"[{self.host_ip}]:"
            if ":" in self.host_ip
            else f"{self.host_ip}:"
            if self.host_ip
            else ""
        )
        return f"{ip}{host}{self.container_port}/{self.protocol}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Mount:
    """A bind mount, named volume, anonymous volume or tmpfs of a service."""

    kind: MountKind
    # absolute host path (bind), logical volume name (volume), "" (anonymous, tmpfs)
    source: str
    target: str
    read_only: bool = False
    relabel: str = ""  # a bind's SELinux label: "z" shared by containers, "Z" its own
    no_copy: bool = False  # a volume not filled from the image's files at its target
    create_host_path: bool = True  # a bind's missing host path is made; False: refused
    size: int | None = None  # a tmpfs's, in bytes (None: the engine's default)
    mode: int | None = None  # a tmpfs's permissions (None: the engine's default, 1777)

    def long_only(self) -> bool:
        """Whether only the long syntax can say it: a tmpfs, a bind that must exist, or a
        path with a ':' in it."""
        return (
            self.kind is MountKind.TMPFS
            or not self.create_host_path
            or ":" in self.source + self.target
        )

    def options(self) -> str:
        """Its options as written after the target (`ro,z`), "" when all are the defaults."""
        return mount_options(self.read_only, self.relabel, self.no_copy)


def mount_options(read_only: bool, relabel: str, no_copy: bool) -> str:
    """A mount's options as written after its target, in one order (`ro,z`): how `config`
    prints them and how a container's spec label records them."""
    chosen = ["ro"] if read_only else []
    chosen += [relabel] if relabel else []
    chosen += ["nocopy"] if no_copy else []
    return ",".join(chosen)


@dataclass(frozen=True, slots=True, kw_only=True)
class Healthcheck:
    """A service's health check, its durations in seconds. What the file leaves out (None, or
    an empty `test`) is the image's HEALTHCHECK's, as with Compose, else the engine's default
    (`HEALTHCHECK_DEFAULTS`)."""

    test: tuple[str, ...]  # ("CMD", ...), ("CMD-SHELL", "..."), ("NONE",) to disable, or ()
    interval: float | None = None
    timeout: float | None = None
    retries: int | None = None
    start_period: float | None = None


# The engine's values for what neither the stack file nor the image's HEALTHCHECK sets.
HEALTHCHECK_DEFAULTS: Mapping[str, float] = {
    "interval": 30.0,
    "timeout": 30.0,
    "retries": 3,
    "start_period": 0.0,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Build:
    """How to build a service's image from a context directory."""

    context: str  # absolute path
    dockerfile: str = "Dockerfile"
    args: Mapping[str, str] = field(default_factory=dict)
    target: str = ""  # a stage of a multi-stage Dockerfile; "": its last
    # What the build is made from (context files, Dockerfile, args), digested; filled in before
    # planning (`api`), since reading the context is I/O the loader does not do. "" until then.
    digest: str = ""


class FileKind(enum.Enum):
    SECRET = "secret"
    CONFIG = "config"


@dataclass(frozen=True, slots=True, kw_only=True)
class FileSource:
    """A top-level secret or config: where its content comes from, and the content itself,
    read while loading so that a changed file changes the containers' spec-hash."""

    name: str
    kind: FileKind
    file: str | None = None  # absolute path
    environment: str | None = None  # the variable it was read from
    content: str | None = None  # a config's text, written in the stack file
    data: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class FileGrant:
    """A service's use of a secret or config: the file it appears as in each container."""

    source: str
    target: str  # absolute path inside the container
    mode: int = 0o444
    uid: str = "0"
    gid: str = "0"


@dataclass(frozen=True, slots=True, kw_only=True)
class Dependency:
    """A service this one waits for, and the condition it waits on."""

    service: str
    condition: Condition = Condition.STARTED
    required: bool = True  # false: skipped where the stack does not have the service
    restart: bool = False  # true: restarted once the dependency is recreated and ready again


@dataclass(frozen=True, slots=True, kw_only=True)
class Resources:
    """Limits on a service's containers: CPUs and memory."""

    cpus: float | None = None
    memory: int | None = None  # bytes


class PullPolicy(enum.Enum):
    """When `up` pulls a service's image (Compose's `pull_policy`)."""

    MISSING = "missing"  # only when the engine lacks it (also written if_not_present)
    ALWAYS = "always"  # on every `up`, before planning
    NEVER = "never"  # an image the engine lacks is an error
    BUILD = "build"  # built on every `up`, as with --build
    REFRESH = "refresh"  # daily, weekly, every_DURATION: when last pulled longer ago


class UpdateOrder(enum.Enum):
    START_FIRST = "start-first"
    STOP_FIRST = "stop-first"


class FailureAction(enum.Enum):
    ROLLBACK = "rollback"
    PAUSE = "pause"


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdatePolicy:
    """How a changed service replaces its replicas."""

    parallelism: int = 1
    order: UpdateOrder = UpdateOrder.STOP_FIRST
    delay: float = 0.0
    failure_action: FailureAction = FailureAction.ROLLBACK
    monitor: float = 0.0
    # Seconds a replica leaving the service's names (an old one in a start-first update, one
    # scaled down while others serve on) answers what it has before it stops.
    drain: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    """A service of the stack, after profile overlay and interpolation."""

    name: str
    image: str
    build: Build | None = None
    pull_policy: PullPolicy = PullPolicy.MISSING
    pull_every: float = 0.0  # REFRESH: seconds since the image was last pulled
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[PortRule, ...] = ()
    mounts: tuple[Mount, ...] = ()
    secrets: tuple[FileGrant, ...] = ()
    configs: tuple[FileGrant, ...] = ()
    networks: tuple[str, ...] = ("default",)
    # More DNS names of its replicas, by network (Compose's `networks: {front: {aliases: [..]}}`).
    network_aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Compose's `network_mode`: "host", "none" or "service:NAME" (the network of service NAME's
    # first replica) instead of the stack's networks (then `networks` is empty); "" joins
    # `networks`.
    network_mode: str = ""
    depends_on: tuple[Dependency, ...] = ()
    healthcheck: Healthcheck | None = None
    replicas: int = 1
    restart: RestartPolicy = RestartPolicy.NO
    restart_tries: int = 0  # on-failure:N: at most N restarts (0: no limit)
    labels: Mapping[str, str] = field(default_factory=dict)
    resources: Resources = field(default_factory=Resources)
    user: str | None = None
    working_dir: str | None = None
    stop_grace_period: float = 10.0
    update: UpdatePolicy = field(default_factory=UpdatePolicy)
    runtime: Runtime = field(default_factory=Runtime)

    def shares_network_of(self) -> str:
        """The service whose network its replicas share (`network_mode: service:NAME`), or ""."""
        return _service_named(self.network_mode)

    def shares_processes_of(self) -> str:
        """The service whose process namespace its replicas share (`pid: service:NAME`), or
        ""."""
        return _service_named(self.runtime.pid or "")

    def owners(self) -> tuple[str, ...]:
        """The services whose namespaces its replicas share: they start after them."""
        return tuple(
            dict.fromkeys(o for o in (self.shares_network_of(), self.shares_processes_of()) if o)
        )

    def start_first(self) -> bool:
        """Whether replicas can be replaced start-first: asked for, no fixed host port (a host
        port is held by one container at a time), and not on a network it does not own: on the
        host's every port a replica listens on is a host port, and on another service's a new
        replica would listen beside the old one on the same ports."""
        fixed = any(rule.host_start is not None for rule in self.ports)
        shared = self.network_mode == "host" or bool(self.shares_network_of())
        return self.update.order is UpdateOrder.START_FIRST and not fixed and not shared


def _service_named(mode: str) -> str:
    return mode.removeprefix("service:") if mode.startswith("service:") else ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Volume:
    """A named volume declared in the stack file."""

    name: str
    driver: str = "local"
    driver_opts: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    external: str = ""  # made outside the stack: its name on the engine; "": stackr makes it


@dataclass(frozen=True, slots=True, kw_only=True)
class Network:
    """A network declared in the stack file (or the implicit `default`)."""

    name: str
    driver: str = "bridge"
    internal: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    external: str = ""  # made outside the stack: its name on the engine; "": stackr makes it


@dataclass(frozen=True, slots=True, kw_only=True)
class Stack:
    """A stack file set rendered for one profile."""

    name: str
    profile: str
    project_dir: str
    files: tuple[str, ...]
    services: Mapping[str, Service]
    volumes: Mapping[str, Volume] = field(default_factory=dict)
    networks: Mapping[str, Network] = field(default_factory=dict)
    secrets: Mapping[str, FileSource] = field(default_factory=dict)
    configs: Mapping[str, FileSource] = field(default_factory=dict)
    engine: str | None = None  # the profile's engine: a host URL or a docker context name
    # Values of variables whose names look secret (`stackr.sensitive`): masked wherever shown.
    sensitive: frozenset[str] = frozenset()
    # What loading noticed without refusing it: an unset `${VAR}` made empty, located.
    warnings: tuple[Issue, ...] = ()
    # Where a few keys only the engine can judge are written (`services.web.runtime` →
    # `stack.yml:12`), for the problem `up` finds against the engine. Not part of the stack.
    written_at: Mapping[str, str] = field(default_factory=dict, compare=False)

    def place(self, service: str, key: str) -> str:
        """` (stack.yml:12)`, where `services.SERVICE.KEY` is written; "" when not known."""
        found = self.written_at.get(f"services.{service}.{key}")
        return f" ({found})" if found else ""

    def with_shared_builds(self) -> Stack:
        """The stack with each service that runs an image another service builds (same
        `image:`, no `build:` of its own) given that build: it is made from it too, so a new
        build recreates it as well, and either service may build the image."""
        builds = {s.image: s.build for _, s in sorted(self.services.items()) if s.build is not None}
        if not builds:
            return self
        return replace(
            self,
            services={
                name: s
                if s.build is not None or s.image not in builds
                else replace(s, build=builds[s.image])
                for name, s in self.services.items()
            },
        )

    def jobs(self) -> frozenset[str]:
        """The one-shot jobs: the services another waits on with `condition: completed`."""
        return frozenset(
            dep.service
            for service in self.services.values()
            for dep in service.depends_on
            if dep.condition is Condition.COMPLETED
        )

    def dependents(self, service: str) -> set[str]:
        """Services that depend on `service`, directly or not: `down` stops them first. Asked of
        the model, not the graph, so `down` does not import networkx."""
        found: set[str] = set()
        todo = [service]
        while todo:
            current = todo.pop()
            for other in self.services.values():
                if other.name not in found and any(d.service == current for d in other.depends_on):
                    found.add(other.name)
                    todo.append(other.name)
        return found
