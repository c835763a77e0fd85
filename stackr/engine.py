"""The Engine protocol: every call the planner's caller and the executor make to a container
engine. `docker_engine.DockerEngine` implements it over the Docker SDK; tests use an in-memory
fake. Implementations raise `EngineError` (never an SDK exception) for anything that fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from stackr.desired import ContainerSpec, NetworkSpec, VolumeSpec
from stackr.observed import ObservedState
from stackr.spec.model import Build


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerStatus:
    """A container's state as far as gating on `depends_on` conditions needs it."""

    state: str  # created, running, exited, ...
    health: str = ""  # healthy, unhealthy, starting, or "" without a healthcheck
    exit_code: int | None = None
    probe: str = ""  # what the last health check printed: why a container is unhealthy
    restarts: int = 0  # how often its restart policy restarted it, in all its life
    probed: str = ""  # when its last health check ended, as the engine says: tells new from old
    # `on-failure:N`: the engine gives up by itself after N restarts (0: no limit).
    restart_limit: int = 0
    # (network, address) for each network it is on; the address is "" while it has none
    # (not running).
    addresses: tuple[tuple[str, str], ...] = ()
    publishes: bool = False  # whether it has a port published on the host


# A container without a healthcheck counts as running once it has run this long without being
# restarted: seen running once, a crash-looping one (`restart: always`) would pass for up.
STEADY = 0.5

# Restarts during one wait that make a container crash-looping rather than slow to come up (a
# service that exits until its database answers, a job run again by `on-failure`, is restarted
# once or twice).
CRASH_LOOP = 3


@dataclass(slots=True)
class RestartWatch:
    """The restarts one wait has seen of containers: one that its restart policy restarted
    `CRASH_LOOP` times during the wait, or that was found restarting after as many, keeps
    crashing."""

    first: dict[str, int] = field(default_factory=dict)

    def restarted(self, name: str, status: ContainerStatus) -> int:
        """How often `name` was restarted since this wait first saw it."""
        return status.restarts - self.first.setdefault(name, status.restarts)

    def crash_looping(self, name: str, status: ContainerStatus) -> bool:
        if status.restart_limit:
            # The engine stops at its limit, and then the container's exit says it failed;
            # until then each restart is a try the file asked for (`on-failure:5`).
            return False
        if name not in self.first and status.state == "restarting":
            self.first[name] = 0  # found down and restarting: count all its restarts
        return self.restarted(name, status) >= CRASH_LOOP

    def words(self, name: str, status: ContainerStatus) -> str:
        # Its exit code is only known while it is down: running again, the engine says 0.
        code = f", last with code {status.exit_code}" if status.state != "running" else ""
        return f"keeps exiting and being restarted ({self.restarted(name, status)} times{code})"


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class EngineFacts:
    """What an engine can give containers: the OCI runtimes it knows, and its CPUs."""

    runtimes: frozenset[str]
    cpus: int


class Engine(Protocol):
    def observe(
        self,
        stack: str,
        profile: str,
        *,
        images: tuple[str, ...] = (),
        external_networks: tuple[str, ...] = (),
        external_volumes: tuple[str, ...] = (),
    ) -> ObservedState:
        """Every object of `stack`/`profile`, found by label, the ids of `images`, and which of
        the external networks and volumes named exist."""
        ...

    def ensure_image(
        self, spec: ContainerSpec, *, build: bool, announce: Callable[[str], None] = _quiet
    ) -> None:
        """Make `spec.image` exist locally: build it (when `build`, or when the spec has a
        build and the image is missing or was built from another digest), else pull it when
        missing. `announce("building")` or `announce("pulling")` comes just before either."""
        ...

    def context_files(self, build: Build) -> list[str]:
        """The files of `build.context` (relative paths) a build would send to the engine:
        `.dockerignore` applied."""
        ...

    def pull_image(self, image: str, *, platform: str | None = None) -> str:
        """Pull `image` from its registry (for `platform`, else the engine's), though the
        engine may have it; the id of the image it now names."""
        ...

    def image_id(self, image: str) -> str | None:
        """The id of the image `image` names on the engine; None when it lacks one."""
        ...

    def facts(self) -> EngineFacts:
        """The runtimes and CPUs the engine has (one call; asked only when a stack needs them)."""
        ...

    def create_network(self, spec: NetworkSpec) -> None: ...

    def remove_network(self, name: str) -> None: ...

    def create_volume(self, spec: VolumeSpec) -> None: ...

    def remove_volume(self, name: str) -> None: ...

    def create_container(self, spec: ContainerSpec) -> None:
        """Create (not start) the container, connected to all its networks."""
        ...

    def start_container(self, name: str) -> None:
        """Start the container; one paused outside stackr is unpaused instead."""
        ...

    def remove_container(
        self,
        name: str,
        *,
        timeout: float,
        keep_volumes: bool = False,
        volumes: tuple[str, ...] = (),
    ) -> None:
        """Stop (giving it `timeout` seconds) and remove the container and, unless
        `keep_volumes`, its anonymous volumes and the volumes named in `volumes`."""
        ...

    def anonymous_volumes(self, name: str, targets: tuple[str, ...]) -> dict[str, str]:
        """The volumes mounted at `targets` in the container: target → volume name."""
        ...

    def start_times(self, names: tuple[str, ...]) -> dict[str, tuple[float, float]]:
        """Each named container's exact (created, last started) times, in seconds since the
        epoch (one inspect each); a container gone meanwhile is left out."""
        ...

    def stop_container(self, name: str, *, timeout: float) -> None: ...

    def unpause_container(self, name: str) -> None:
        """Unpause the container; one not paused (any more) is no error."""
        ...

    def rename_container(self, name: str, new_name: str) -> None: ...

    def connect_container(self, name: str, network: str, *, aliases: tuple[str, ...]) -> None: ...

    def disconnect_container(self, name: str, network: str) -> None:
        """Take the container off `network` (and so off its DNS names there); one already off
        it is no error."""
        ...

    def container_status(self, name: str) -> ContainerStatus: ...

    def logs(
        self, names: list[str], *, follow: bool, tail: int | None
    ) -> Iterator[tuple[str, str]]:
        """(container name, line) pairs; with `follow`, until the containers stop."""
        ...

    def last_log_lines(self, name: str, count: int) -> list[str]:
        """The last `count` lines of the container's latest run: a job run again does not
        repeat what its earlier runs said."""
        ...
