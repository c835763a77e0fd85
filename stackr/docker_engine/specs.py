"""A container's spec as the Docker SDK's arguments: its host config (ports, mounts, restart
policy, limits, runtime options), its healthcheck, and the options `create_container` takes."""

from __future__ import annotations

from typing import Any

from docker.types import Healthcheck as SdkHealthcheck
from docker.types import Mount as SdkMount

from stackr.desired import ContainerSpec, MountSpec
from stackr.errors import EngineError
from stackr.spec.model import MountKind
from stackr.spec.runopts import Runtime

NANO = 1_000_000_000  # the engine's durations are in nanoseconds


def healthcheck(spec: ContainerSpec) -> SdkHealthcheck | None:
    check = spec.healthcheck
    if check is None:
        return None

    return SdkHealthcheck(
        test=list(check.test),
        interval=_nanos(check.interval),
        timeout=_nanos(check.timeout),
        retries=check.retries or 0,
        start_period=_nanos(check.start_period),
    )


def container_options(runtime: Runtime) -> dict[str, Any]:
    """The runtime options `create_container` takes itself; one left out is not sent."""
    options = {
        "stop_signal": runtime.stop_signal,
        "hostname": runtime.hostname,
        "domainname": runtime.domainname,
        "tty": runtime.tty,
        "stdin_open": runtime.stdin_open,
        "platform": runtime.platform,
    }
    return {k: v for k, v in options.items() if v is not None}


def host_options(runtime: Runtime) -> dict[str, Any]:
    """The runtime options that go in the container's host config; one left out is not sent,
    so the engine's default holds (`Init` unset follows the daemon's own setting)."""
    options: dict[str, Any] = {
        "init": runtime.init,
        "pid_mode": runtime.pid,
        "ipc_mode": runtime.ipc,
        "read_only": runtime.read_only,
        "privileged": runtime.privileged,
        "shm_size": runtime.shm_size,
        "mem_reservation": runtime.mem_reservation,
        "memswap_limit": runtime.memswap_limit,
        "userns_mode": runtime.userns_mode,
        "cgroup_parent": runtime.cgroup_parent,
        "runtime": runtime.runtime,
        "pids_limit": runtime.pids_limit,
        "oom_score_adj": runtime.oom_score_adj,
        "cpu_shares": runtime.cpu_shares,
        "cpuset_cpus": runtime.cpuset,
        "cpu_period": runtime.cpu_period,
        "cpu_quota": runtime.cpu_quota,
        "mem_swappiness": runtime.mem_swappiness,
        "oom_kill_disable": runtime.oom_kill_disable,
        "uts_mode": runtime.uts,
        "cgroupns": runtime.cgroup,
        "dns_opt": list(runtime.dns_opt) or None,
        "device_cgroup_rules": list(runtime.device_cgroup_rules) or None,
        "group_add": list(runtime.group_add) or None,
        "devices": list(runtime.devices) or None,
        "cap_add": list(runtime.cap_add) or None,
        "cap_drop": list(runtime.cap_drop) or None,
        "security_opt": list(runtime.security_opt) or None,
        "dns": list(runtime.dns) or None,
        "dns_search": list(runtime.dns_search) or None,
        "extra_hosts": list(runtime.extra_hosts) or None,
        "tmpfs": dict(runtime.tmpfs) or None,
        "sysctls": dict(runtime.sysctls) or None,
        "ulimits": [
            {"name": name, "soft": soft, "hard": hard}
            for name, (soft, hard) in runtime.ulimits.items()
        ]
        or None,
    }
    if runtime.logging is not None:
        options["log_config"] = {
            "type": runtime.logging.driver,
            "config": dict(runtime.logging.options),
        }
    return {k: v for k, v in options.items() if v is not None}


def _nanos(seconds: float | None) -> int:
    return 0 if seconds is None else int(seconds * NANO)  # 0: the image's, else the default


def as_bind(mount: MountSpec) -> bool:
    # A `Binds` entry makes a missing host path: one that must exist goes as a mount, which
    # the engine refuses without it.
    return (
        mount.kind is MountKind.BIND
        and mount.create_host_path
        and ":" not in mount.source + mount.target
    )


def mount(mount: MountSpec) -> SdkMount:
    # A named volume, an anonymous one (no source), a tmpfs, or a bind that a `Binds` entry
    # cannot say.
    if mount.kind is MountKind.TMPFS:
        return SdkMount(
            target=mount.target,
            source=None,
            type="tmpfs",
            read_only=mount.read_only,
            tmpfs_size=mount.size,
            tmpfs_mode=mount.mode,
        )
    if mount.relabel:  # only a `Binds` entry takes an SELinux label
        raise EngineError(
            f"cannot relabel ({mount.relabel}) the bind mount of {mount.source}: its path "
            "holds a ':', which the engine's bind syntax cannot carry",
            hint="move the directory to a path without ':', or drop the z/Z option",
        )
    kind = "bind" if mount.kind is MountKind.BIND else "volume"
    return SdkMount(
        target=mount.target,
        source=mount.source or None,
        type=kind,
        read_only=mount.read_only,
        no_copy=mount.no_copy,
    )


def host_config(spec: ContainerSpec, network: str) -> dict[str, Any]:
    """The arguments of the SDK's `create_host_config` for `spec`, joined first to `network`
    (or with `network` its network mode: host, none)."""
    bindings: dict[str, list[tuple[str, str]]] = {}
    for port in spec.ports:
        host = "" if port.host_port is None else str(port.host_port)
        bindings.setdefault(f"{port.container_port}/{port.protocol}", []).append(
            (port.host_ip, host)
        )
    restart = None
    if spec.restart != "no":
        restart = {"Name": spec.restart, "MaximumRetryCount": spec.restart_tries}
    return dict(
        port_bindings=bindings or None,
        # A bind mount goes as a `Binds` entry, as `docker run -v` and Compose send it: the
        # engine then creates a missing host directory instead of refusing the container.
        # (A path with a ':' cannot be written there: it goes as a mount, not created.)
        binds=[
            f"{m.source}:{m.target}:{'ro' if m.read_only else 'rw'}"
            + (f",{m.relabel}" if m.relabel else "")
            for m in spec.mounts
            if as_bind(m)
        ]
        or None,
        mounts=[mount(m) for m in spec.mounts if not as_bind(m)],
        restart_policy=restart,
        nano_cpus=int(spec.cpus * NANO) if spec.cpus else None,
        mem_limit=spec.memory,
        network_mode=network,
        **host_options(spec.runtime),
    )
