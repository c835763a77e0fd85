"""An in-memory Engine for unit tests: it keeps containers, networks and volumes as the Docker
engine would (by name, with labels), counts every call, and can be told that a service's
containers exit with a code or turn unhealthy."""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from stackr.desired import ContainerSpec, NetworkSpec, VolumeSpec
from stackr.engine import ContainerStatus, EngineFacts
from stackr.errors import EngineError
from stackr.observed import (
    LABEL_NETWORK,
    LABEL_PROFILE,
    LABEL_REPLICA,
    LABEL_SERVICE,
    LABEL_SPEC,
    LABEL_SPEC_HASH,
    LABEL_STACK,
    LABEL_VOLUME,
    ObservedContainer,
    ObservedNetwork,
    ObservedState,
    ObservedVolume,
)
from stackr.spec.model import Build


@dataclass
class FakeContainer:
    spec: ContainerSpec
    state: str = "created"
    exit_code: int | None = None
    health: str = ""
    image_id: str = ""
    networks: list[str] = field(default_factory=list)
    network_ids: dict[str, str] = field(default_factory=dict)  # as attached at create
    restarts: int = 0
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)  # DNS names by network
    created: float = 0.0  # ticks of the engine's clock
    started: float | None = None
    id: str = ""  # a new one on every create, kept by a rename
    joined: str = ""  # the id of the container whose network it shares, fixed at create
    pid_owner: str = ""  # the id of the container whose processes it shares, fixed at create
    # The address it has on each network while running, as the engine's IPAM gives them: the
    # lowest free one, a freed one handed out again at once.
    addresses: dict[str, int] = field(default_factory=dict)


@dataclass
class FakeEngine:
    images: dict[str, str] = field(default_factory=dict)  # ref -> id
    containers: dict[str, FakeContainer] = field(default_factory=dict)
    networks: dict[str, NetworkSpec] = field(default_factory=dict)
    network_ids: dict[str, str] = field(default_factory=dict)  # a new id on every create
    volumes: dict[str, VolumeSpec] = field(default_factory=dict)
    # Made outside any stack: network name -> id, and volume names.
    foreign_networks: dict[str, str] = field(default_factory=dict)
    foreign_volumes: set[str] = field(default_factory=set)
    exit_codes: dict[str, int] = field(default_factory=dict)  # service -> exit code on start
    restarting: set[str] = field(default_factory=set)  # services that crash and are restarted
    # service -> polls it is seen restarting (its run failed) before a run exits 0
    recovering: dict[str, int] = field(default_factory=dict)
    unhealthy: set[str] = field(default_factory=set)  # services whose replicas turn unhealthy
    healthy_after_start: bool = True  # False: health stays "starting"
    unhealthy_names: set[str] = field(default_factory=set)  # containers that turn unhealthy
    image_healthchecks: set[str] = field(default_factory=set)  # images with a HEALTHCHECK
    built: dict[str, str] = field(default_factory=dict)  # image ref -> build digest
    # What a pull finds: image ref -> id (a ref not here cannot be pulled).
    registry: dict[str, str] = field(default_factory=dict)
    runtimes: frozenset[str] = frozenset({"runc", "io.containerd.runc.v2"})
    cpus: int = 2
    calls: Counter[str] = field(default_factory=Counter)
    log: list[str] = field(default_factory=list)  # mutating calls, in order
    stop_timeouts: dict[str, float] = field(default_factory=dict)  # container -> last timeout
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # The engine's clock: one tick per create and start, so times order as they happened.
    _clock: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def _now(self) -> float:
        with self._lock:
            return float(next(self._clock))

    def _record(self, call: str, subject: str = "") -> None:
        with self._lock:
            self.calls[call] += 1
            if subject:
                self.log.append(f"{call} {subject}")

    def observe(
        self,
        stack: str,
        profile: str,
        *,
        images: tuple[str, ...] = (),
        external_networks: tuple[str, ...] = (),
        external_volumes: tuple[str, ...] = (),
    ) -> ObservedState:
        self._record("observe")

        def owned(labels: object) -> bool:
            assert isinstance(labels, dict)
            return labels.get(LABEL_STACK) == stack and labels.get(LABEL_PROFILE) == profile

        return ObservedState(
            containers=tuple(
                ObservedContainer(
                    name=name,
                    id=c.id,
                    service=c.spec.labels[LABEL_SERVICE],
                    replica=int(c.spec.labels[LABEL_REPLICA]),
                    spec_hash=c.spec.labels[LABEL_SPEC_HASH],
                    state=c.state,
                    health=c.health,
                    image_id=c.image_id,
                    spec=json.loads(c.spec.labels.get(LABEL_SPEC, "{}")),
                    networks=tuple(c.networks),
                    network_ids={n: c.network_ids.get(n, "") for n in c.networks},
                    exit_code=c.exit_code if c.state == "exited" else None,
                    created=c.created,
                    joined=c.joined,
                )
                for name, c in sorted(self.containers.items())
                if owned(dict(c.spec.labels))
            ),
            networks=tuple(
                ObservedNetwork(
                    name=n,
                    id=self.network_ids.get(n, f"id-{n}"),
                    network=s.labels[LABEL_NETWORK],
                    spec_hash=s.labels[LABEL_SPEC_HASH],
                    settings=s.settings(),
                )
                for n, s in sorted(self.networks.items())
                if owned(dict(s.labels))
            ),
            volumes=tuple(
                ObservedVolume(
                    name=n,
                    volume=s.labels[LABEL_VOLUME],
                    spec_hash=s.labels[LABEL_SPEC_HASH],
                    settings=s.settings(),
                )
                for n, s in sorted(self.volumes.items())
                if owned(dict(s.labels))
            ),
            images={ref: self.images[ref] for ref in images if ref in self.images},
            built_from={ref: self.built[ref] for ref in images if ref in self.built},
            external_networks={
                n: i for n, i in self.foreign_networks.items() if n in external_networks
            },
            external_volumes=frozenset(self.foreign_volumes & set(external_volumes)),
        )

    def ensure_image(
        self, spec: ContainerSpec, *, build: bool, announce: Callable[[str], None] = str
    ) -> None:
        self._record("ensure_image")
        if spec.build is not None:
            stale = self.built.get(spec.image) != spec.build.digest
            if build or spec.image not in self.images or stale:
                announce("building")
                self._record("build", spec.image)
                self.built[spec.image] = spec.build.digest
                self.images[spec.image] = f"sha256:built-{spec.image}-{self.calls['build']}"
        elif spec.image not in self.images:
            if spec.image not in self.registry:
                raise EngineError(
                    f"image {spec.image} is not on this engine and could not be pulled"
                )
            announce("pulling")
            self.pull_image(spec.image)

    def pull_image(self, image: str, *, platform: str | None = None) -> str:
        self._record("pull_image", image)
        if image not in self.registry:
            raise EngineError(f"could not pull image {image}: not found in its registry")
        self.images[image] = self.registry[image]
        return self.images[image]

    def image_id(self, image: str) -> str | None:
        self._record("image_id")
        return self.images.get(image)

    def facts(self) -> EngineFacts:
        self._record("facts")
        return EngineFacts(runtimes=frozenset(self.runtimes), cpus=self.cpus)

    def context_files(self, build: Build) -> list[str]:
        root = Path(build.context)
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    def create_network(self, spec: NetworkSpec) -> None:
        self._record("create_network", spec.name)
        if spec.name in self.networks:
            raise EngineError(f"network {spec.name} already exists")
        self.networks[spec.name] = spec
        self.network_ids[spec.name] = f"id-{spec.name}-{self.calls['create_network']}"

    def remove_network(self, name: str) -> None:
        self._record("remove_network", name)
        self.networks.pop(name, None)

    def create_volume(self, spec: VolumeSpec) -> None:
        self._record("create_volume", spec.name)
        self.volumes[spec.name] = spec

    def remove_volume(self, name: str) -> None:
        self._record("remove_volume", name)
        self.volumes.pop(name, None)

    def create_container(self, spec: ContainerSpec) -> None:
        self._record("create_container", spec.name)
        if spec.name in self.containers:
            raise EngineError(f"container name {spec.name} is already in use")
        for network in spec.networks:
            if network not in self.networks and network not in self.foreign_networks:
                raise EngineError(f"network {network} not found")
        image_id = self.images.get(spec.image, "")
        owner = spec.network_mode.removeprefix("container:")
        pid = (spec.runtime.pid or "").removeprefix("container:")
        for named in (owner, pid):
            if named and named not in self.containers and named not in ("host", "none"):
                raise EngineError(f"No such container: {named}")
        created = self._now()
        self.containers[spec.name] = FakeContainer(
            spec=spec,
            image_id=image_id,
            # As the engine lists it: a container on the host's network or none is on the
            # network so named; one sharing another's is on none of its own.
            networks=[spec.network_mode]
            if spec.network_mode in ("host", "none")
            else list(spec.networks),
            network_ids={
                n: self.network_ids.get(n) or self.foreign_networks.get(n, "")
                for n in spec.networks
            },
            aliases={n: spec.aliases_on(n) for n in spec.networks},
            created=created,
            id=f"id-{spec.name}-{int(created)}",
            # As the engine: the owner's id, resolved at create.
            joined=self.containers[owner].id if owner != spec.network_mode else "",
            pid_owner=self.containers[pid].id if pid != (spec.runtime.pid or "") else "",
        )

    def _found(self, name: str) -> FakeContainer:
        # As the engine: a name it does not know is an error of the call, not of the caller.
        found = self.containers.get(name)
        if found is None:
            raise EngineError(f"no such container: {name}")
        return found

    def start_container(self, name: str) -> None:
        self._record("start_container", name)
        container = self._found(name)
        for owner in (container.joined, container.pid_owner):
            if owner and not any(
                c.id == owner and c.state == "running" for c in self.containers.values()
            ):
                raise EngineError(f"cannot join a non running container: {owner}")
        container.started = self._now()
        service = container.spec.service
        if service in self.restarting or self.recovering.get(service):
            container.state, container.exit_code = "restarting", 1
            return
        if service in self.exit_codes:
            container.state, container.exit_code = "exited", self.exit_codes[service]
            return
        container.state = "running"
        container.addresses = {}
        for network in container.networks:  # one at a time, as the engine joins them
            container.addresses[network] = self._free_address(network)
        # As the engine: a test of its own, or the image's when it has none (or no key at all).
        check = container.spec.healthcheck
        test = check.test if check is not None else ()
        inherited = not test and container.spec.image in self.image_healthchecks
        if test not in ((), ("NONE",)) or inherited:
            sick = service in self.unhealthy or name in self.unhealthy_names
            container.health = "unhealthy" if sick else "healthy"
            if not self.healthy_after_start:
                container.health = "starting"

    def remove_container(
        self,
        name: str,
        *,
        timeout: float,
        keep_volumes: bool = False,
        volumes: tuple[str, ...] = (),
    ) -> None:
        self._record("remove_container", name)
        self.stop_timeouts[name] = timeout
        self._refuse_a_frozen_namespace(name)
        gone = self.containers.pop(name, None)
        if gone is not None:
            self._end_run_of(gone)
        for volume in () if keep_volumes else volumes:
            self.volumes.pop(volume, None)

    def anonymous_volumes(self, name: str, targets: tuple[str, ...]) -> dict[str, str]:
        self._record("anonymous_volumes")
        container = self.containers.get(name)
        if container is None:
            return {}
        return {
            m.target: m.source or f"anon-{container.spec.name}-{m.target.strip('/')}"
            for m in container.spec.mounts
            if m.target in targets
        }

    def start_times(self, names: tuple[str, ...]) -> dict[str, tuple[float, float]]:
        self._record("start_times")
        return {
            n: (self.containers[n].created, self.containers[n].started or 0.0)
            for n in names
            if n in self.containers
        }

    def stop_container(self, name: str, *, timeout: float) -> None:
        self._record("stop_container", name)
        self.stop_timeouts[name] = timeout
        self._refuse_a_frozen_namespace(name)
        container = self._found(name)
        container.state, container.exit_code = "exited", 0
        self._end_run_of(container)

    def unpause_container(self, name: str) -> None:
        self._record("unpause_container", name)
        container = self.containers.get(name)
        if container is not None and container.state == "paused":
            container.state = "running"

    def _refuse_a_frozen_namespace(self, name: str) -> None:
        # As the engine: a frozen process in its namespace keeps its run from ending.
        owner = self.containers.get(name)
        if owner is not None and any(
            c.pid_owner == owner.id and c.state == "paused" for c in self.containers.values()
        ):
            raise EngineError(
                f"the engine refused to stop container {name}: cannot stop container: "
                f"{name}: tried to kill container, but did not receive an exit event"
            )

    def _end_run_of(self, owner: FakeContainer) -> None:
        # As the kernel: the processes sharing its process namespace end with its run.
        for c in self.containers.values():
            if c.pid_owner == owner.id and c.state == "running":
                c.state, c.exit_code = "exited", 137

    def rename_container(self, name: str, new_name: str) -> None:
        self._record("rename_container", f"{name} {new_name}")
        if new_name in self.containers:
            raise EngineError(f"container name {new_name} is already in use")
        self.containers[new_name] = self._found(name)
        del self.containers[name]

    def connect_container(self, name: str, network: str, *, aliases: tuple[str, ...]) -> None:
        self._record("connect_container", f"{name} {network}")
        c = self._found(name)
        if network in c.networks:
            # As dockerd: a running container cannot join twice; for a stopped one it is a
            # no-op (its aliases there stay as they were).
            if c.state in ("running", "paused"):
                raise EngineError(f"endpoint with name {name} already exists in network {network}")
            return
        c.networks.append(network)
        c.aliases[network] = aliases
        if c.state in ("running", "paused"):
            c.addresses[network] = self._free_address(network)

    def _free_address(self, network: str) -> int:
        taken = {
            c.addresses[network]
            for c in self.containers.values()
            if c.state in ("running", "paused") and network in c.networks and network in c.addresses
        }
        return next(n for n in range(2, 255) if n not in taken)

    def disconnect_container(self, name: str, network: str) -> None:
        self._record("disconnect_container", f"{name} {network}")
        c = self._found(name)
        c.aliases.pop(network, None)
        c.addresses.pop(network, None)
        if network in c.networks:  # as dockerd: already off is no error
            c.networks.remove(network)

    def container_status(self, name: str) -> ContainerStatus:
        self._record("container_status")
        c = self._found(name)
        if c.state == "restarting":
            c.restarts += 1  # it crashes again, and is restarted again
            service = c.spec.service
            if self.recovering.get(service):
                self.recovering[service] -= 1
                if not self.recovering[service]:
                    c.state, c.exit_code = "exited", 0  # this run completed
        probe = f"probe of {name} failed" if c.health == "unhealthy" else ""
        running = c.state in ("running", "paused")
        addresses = tuple(
            (n, f"10.0.0.{c.addresses[n]}" if running and n in c.addresses else "")
            for n in sorted(c.networks)
        )
        # A check runs between any two looks: each look sees a newer result.
        probed = str(self.calls["container_status"]) if c.health else ""
        return ContainerStatus(
            state=c.state,
            health=c.health,
            exit_code=c.exit_code,
            probe=probe,
            restarts=c.restarts,
            probed=probed,
            restart_limit=c.spec.restart_tries if c.spec.restart == "on-failure" else 0,
            addresses=addresses,
            publishes=running and bool(c.spec.ports),
        )

    def logs(
        self, names: list[str], *, follow: bool, tail: int | None
    ) -> Iterator[tuple[str, str]]:
        for name in names:
            yield name, f"log of {name}"

    def last_log_lines(self, name: str, count: int) -> list[str]:
        return [f"last words of {name}"]

    def mutations(self) -> int:
        return sum(
            n
            for call, n in self.calls.items()
            if call
            not in (
                "observe",
                "container_status",
                "ensure_image",
                "anonymous_volumes",
                "start_times",
            )
        )
