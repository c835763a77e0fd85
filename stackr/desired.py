"""What the engine should hold for a stack: one spec per container, network and volume, with
engine names, labels and spec-hash filled in. Pure; derived from the model alone.

A container's spec-hash covers everything it is made from, including the specs of the networks
it joins, so changing a network recreates the containers on it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from stackr.canonical import canonical_container
from stackr.externals import engine_network, engine_volume
from stackr.observed import (
    LABEL_CARRIED,
    LABEL_NETWORK,
    LABEL_PROFILE,
    LABEL_REPLICA,
    LABEL_SERVICE,
    LABEL_SPEC,
    LABEL_SPEC_HASH,
    LABEL_STACK,
    LABEL_VOLUME,
    container_name,
    network_name,
    network_settings,
    spec_hash,
    volume_name,
    volume_settings,
)
from stackr.sensitive import MIN_HUNTED, is_secret, masked_spec
from stackr.spec.model import (
    Build,
    FileGrant,
    FileKind,
    FileSource,
    Healthcheck,
    Mount,
    MountKind,
    Service,
    Stack,
)
from stackr.spec.runopts import Runtime


@dataclass(frozen=True, slots=True, kw_only=True)
class PortBinding:
    """A container port published on the host (`host_port` None: any free port)."""

    container_port: int
    protocol: str
    host_ip: str
    host_port: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MountSpec:
    """A mount as the engine takes it: names and paths resolved."""

    kind: MountKind
    source: str  # engine volume name, absolute host path, or "" (anonymous, tmpfs)
    target: str
    read_only: bool
    relabel: str = ""  # a bind's SELinux label: "z" or "Z"
    no_copy: bool = False
    create_host_path: bool = True  # False: a bind whose host path must exist
    size: int | None = None  # a tmpfs's, in bytes
    mode: int | None = None  # a tmpfs's permissions


@dataclass(frozen=True, slots=True, kw_only=True)
class FileSpec:
    """A secret or config file written into a container after it is created."""

    kind: FileKind
    source: str  # its name under top-level secrets/configs
    target: str  # absolute path in the container
    mode: int
    uid: str
    gid: str
    data: bytes = field(repr=False)

    def digest(self) -> str:
        """A salted digest of the content: in the container's spec label, so a changed file
        recreates the container. It tells nothing a user with access to the engine could not
        read from the container itself."""
        salt = f"stackr {self.kind.value} {self.source}\0".encode()
        return "sha256:" + hashlib.sha256(salt + self.data).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerSpec:
    """Everything the engine needs to create one replica, labels included."""

    name: str
    service: str
    replica: int
    image: str
    build: Build | None
    command: tuple[str, ...] | None
    entrypoint: tuple[str, ...] | None
    environment: Mapping[str, str]
    user_labels: Mapping[str, str]
    ports: tuple[PortBinding, ...]
    mounts: tuple[MountSpec, ...]
    networks: tuple[str, ...]  # engine network names; the first is joined at create
    aliases: tuple[str, ...]  # DNS names on every network: the service name
    # More DNS names on some networks, by engine network name (`networks: {front: {aliases}}`).
    network_aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    network_mode: str = ""  # "host" or "none" in place of networks (then there are none)
    healthcheck: Healthcheck | None
    restart: str
    restart_tries: int = 0
    cpus: float | None
    memory: int | None
    user: str | None
    working_dir: str | None
    stop_grace_period: float
    runtime: Runtime = field(default_factory=Runtime)
    files: tuple[FileSpec, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)  # everything, stackr's included

    def aliases_on(self, network: str) -> tuple[str, ...]:
        """The DNS names of this container on the engine network `network`."""
        return (*self.aliases, *self.network_aliases.get(network, ()))


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkSpec:
    """An engine network of the stack: its engine name and its name in the stack file."""

    name: str
    network: str
    driver: str
    internal: bool
    labels: Mapping[str, str]

    def settings(self) -> dict[str, Any]:
        """The options its spec hash covers: the file's labels, not stackr's own."""
        return network_settings(self.driver, self.internal, self.labels)


@dataclass(frozen=True, slots=True, kw_only=True)
class VolumeSpec:
    """A named engine volume of the stack: its engine name and its name in the stack file."""

    name: str
    volume: str
    driver: str
    driver_opts: Mapping[str, str]
    labels: Mapping[str, str]

    def settings(self) -> dict[str, Any]:
        """The options its spec hash covers: the file's labels, not stackr's own."""
        return volume_settings(self.driver, self.driver_opts, self.labels)


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredState:
    """What the engine should hold for one stack and profile, by engine name."""

    containers: Mapping[str, ContainerSpec]
    networks: Mapping[str, NetworkSpec]
    volumes: Mapping[str, VolumeSpec]

    def spec_hash_of(self, name: str) -> str:
        spec = self.containers.get(name) or self.networks.get(name) or self.volumes.get(name)
        return spec.labels[LABEL_SPEC_HASH] if spec else ""


def output_secrets(stack: Stack) -> frozenset[str]:
    """The values to mask in what containers print, when stackr shows it (a failed container's
    last lines): those `Stack.sensitive` holds, and every secret environment value of a
    service, long enough to look for."""
    found = set(stack.sensitive)
    for service in stack.services.values():
        found.update(
            v
            for k, v in service.environment.items()
            if v is not None and len(v) >= MIN_HUNTED and is_secret(k, v, stack.sensitive)
        )
    return frozenset(found)


def desired_state(stack: Stack) -> DesiredState:
    """Every object `stack` asks the engine for, keyed by engine name; external networks and
    volumes are not asked for (they are only used)."""
    networks = {
        spec.name: spec
        for spec in (_network(stack, name) for name, n in stack.networks.items() if not n.external)
    }
    volumes = {
        spec.name: spec
        for spec in (_volume(stack, name) for name, v in stack.volumes.items() if not v.external)
    }
    containers: dict[str, ContainerSpec] = {}
    for service in stack.with_shared_builds().services.values():
        for replica in range(1, service.replicas + 1):
            spec = _container(stack, service, replica, networks)
            containers[spec.name] = spec
    return DesiredState(containers=containers, networks=networks, volumes=volumes)


def _owner(stack: Stack) -> dict[str, str]:
    return {LABEL_STACK: stack.name, LABEL_PROFILE: stack.profile}


def _network(stack: Stack, logical: str) -> NetworkSpec:
    model = stack.networks[logical]
    hashed = {"driver": model.driver, "internal": model.internal, "labels": dict(model.labels)}
    labels = {**model.labels, **_owner(stack), LABEL_NETWORK: logical}
    labels[LABEL_SPEC_HASH] = spec_hash(hashed)
    return NetworkSpec(
        name=network_name(stack.name, stack.profile, logical),
        network=logical,
        driver=model.driver,
        internal=model.internal,
        labels=labels,
    )


def _volume(stack: Stack, logical: str) -> VolumeSpec:
    model = stack.volumes[logical]
    hashed = {"driver": model.driver, "opts": dict(model.driver_opts), "labels": dict(model.labels)}
    labels = {**model.labels, **_owner(stack), LABEL_VOLUME: logical}
    labels[LABEL_SPEC_HASH] = spec_hash(hashed)
    return VolumeSpec(
        name=volume_name(stack.name, stack.profile, logical),
        volume=logical,
        driver=model.driver,
        driver_opts=model.driver_opts,
        labels=labels,
    )


def _container(
    stack: Stack, service: Service, replica: int, networks: Mapping[str, NetworkSpec]
) -> ContainerSpec:
    engine_networks = tuple(engine_network(stack, n) for n in service.networks)
    spec = ContainerSpec(
        name=container_name(stack.name, stack.profile, service.name, replica),
        service=service.name,
        replica=replica,
        image=service.image,
        build=service.build,
        command=service.command,
        entrypoint=service.entrypoint,
        environment=service.environment,
        user_labels=service.labels,
        ports=tuple(
            PortBinding(
                container_port=rule.container_port,
                protocol=rule.protocol,
                host_ip=rule.host_ip,
                host_port=rule.host_port_for(replica),
            )
            for rule in service.ports
        ),
        mounts=tuple(_mount(stack, m) for m in service.mounts),
        networks=engine_networks,
        # On the host's network, none or another's, there is no DNS of the engine's to answer
        # to: the other services reach it under its network's owner's name.
        aliases=() if service.network_mode else (service.name,),
        network_mode=_network_mode(stack, service),
        network_aliases={
            engine_network(stack, net): aliases for net, aliases in service.network_aliases.items()
        },
        healthcheck=service.healthcheck,
        restart=service.restart.value,
        restart_tries=service.restart_tries,
        cpus=service.resources.cpus,
        memory=service.resources.memory,
        user=service.user,
        working_dir=service.working_dir,
        stop_grace_period=service.stop_grace_period,
        runtime=_runtime(stack, service),
        files=(
            *_files(service.secrets, stack.secrets),
            *_files(service.configs, stack.configs),
        ),
    )
    canonical = canonical_container(spec)
    # An external network's spec is its name: what it holds is not the stack's to say.
    canonical["network_specs"] = [
        networks[n].labels[LABEL_SPEC_HASH] if n in networks else f"external:{n}"
        for n in engine_networks
    ]
    labels = {
        **service.labels,
        **_owner(stack),
        LABEL_SERVICE: service.name,
        LABEL_REPLICA: str(replica),
        LABEL_SPEC_HASH: spec_hash(canonical),
        # Stored without secret values (digests in their place); hashed with them above.
        LABEL_SPEC: json.dumps(
            masked_spec(canonical, stack.sensitive), sort_keys=True, separators=(",", ":")
        ),
    }
    return replace(spec, labels=labels)


def _runtime(stack: Stack, service: Service) -> Runtime:
    # `pid: service:NAME` is the process namespace of NAME's first replica, as the network.
    owner = service.shares_processes_of()
    if not owner:
        return service.runtime
    return replace(
        service.runtime, pid=f"container:{container_name(stack.name, stack.profile, owner, 1)}"
    )


def _network_mode(stack: Stack, service: Service) -> str:
    """The engine's network mode: `service:NAME` is the network of NAME's first replica, as in
    Compose (the engine fixes the container's id at create: `joins` recreates the replicas when
    that container is replaced)."""
    owner = service.shares_network_of()
    if owner:
        return f"container:{container_name(stack.name, stack.profile, owner, 1)}"
    return service.network_mode


def _files(grants: tuple[FileGrant, ...], sources: Mapping[str, FileSource]) -> list[FileSpec]:
    return [
        FileSpec(
            kind=sources[g.source].kind,
            source=g.source,
            target=g.target,
            mode=g.mode,
            uid=g.uid,
            gid=g.gid,
            data=sources[g.source].data,
        )
        for g in grants
    ]


def with_carried(spec: ContainerSpec, carried: Mapping[str, str]) -> ContainerSpec:
    """`spec` mounting the anonymous volumes `carried` (target → volume name) of the container it
    replaces, so their data carries over; its spec-hash is unchanged."""
    if not carried:
        return spec
    mounts = tuple(
        replace(m, source=carried[m.target])
        if m.kind is MountKind.ANONYMOUS and m.target in carried
        else m
        for m in spec.mounts
    )
    labels = {**spec.labels, LABEL_CARRIED: ",".join(sorted(carried.values()))}
    return replace(spec, mounts=mounts, labels=labels)


def anonymous_targets(spec: ContainerSpec) -> tuple[str, ...]:
    return tuple(m.target for m in spec.mounts if m.kind is MountKind.ANONYMOUS)


def _mount(stack: Stack, mount: Mount) -> MountSpec:
    source = mount.source
    if mount.kind is MountKind.VOLUME:
        source = engine_volume(stack, source)
    return MountSpec(
        kind=mount.kind,
        source=source,
        target=mount.target,
        read_only=mount.read_only,
        relabel=mount.relabel,
        no_copy=mount.no_copy,
        create_host_path=mount.create_host_path,
        size=mount.size,
        mode=mount.mode,
    )
