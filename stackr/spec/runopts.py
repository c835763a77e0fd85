"""The options for how a service's containers run, beyond the basics (Compose's `init`,
`cap_add`, `tmpfs`, `ulimits`, `logging`, `expose`, ...), as a frozen value: `Runtime`, read by
`spec.runtime`: a Service's `runtime` (`spec.model`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class LogConfig:
    """Where the engine sends a container's output: a log driver and its options."""

    driver: str = ""  # "": the engine's default driver
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Runtime:
    """Compose's options for how a service's containers run, beyond the basics. Each is None
    or empty where the file leaves it out, and then the image's or the engine's default holds:
    writing `init: false` is not the same as leaving it out (the engine may default to true).
    """

    stop_signal: str | None = None  # SIGINT, or a signal number as text
    hostname: str | None = None
    domainname: str | None = None
    pid: str | None = None  # "host", or "service:NAME" (its first replica's)
    ipc: str | None = None  # "host", "private", "shareable", "none"
    userns_mode: str | None = None  # "host"
    uts: str | None = None  # "host"
    cgroup: str | None = None  # "host", "private"
    cpuset: str | None = None  # "0-3", "0,2"
    cgroup_parent: str | None = None
    runtime: str | None = None  # an OCI runtime the engine knows: runc, runsc, nvidia...
    platform: str | None = None  # os[/arch[/variant]]
    init: bool | None = None
    read_only: bool | None = None
    privileged: bool | None = None
    tty: bool | None = None
    stdin_open: bool | None = None
    shm_size: int | None = None  # bytes
    mem_reservation: int | None = None  # bytes
    memswap_limit: int | None = None  # bytes of memory and swap; -1: swap without limit
    pids_limit: int | None = None
    oom_score_adj: int | None = None
    cpu_shares: int | None = None
    cpu_period: int | None = None  # microseconds
    cpu_quota: int | None = None  # microseconds per period; -1: no limit
    mem_swappiness: int | None = None  # 0-100
    oom_kill_disable: bool | None = None
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    group_add: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()  # HOST[:CONTAINER[:PERMISSIONS]]
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_opt: tuple[str, ...] = ()
    device_cgroup_rules: tuple[str, ...] = ()  # "c 1:3 mr"
    extra_hosts: tuple[str, ...] = ()  # "HOST:IP", as the engine takes them
    tmpfs: Mapping[str, str] = field(default_factory=dict)  # path -> mount options
    expose: tuple[str, ...] = ()  # "START[-END]/PROTOCOL", sorted
    sysctls: Mapping[str, str] = field(default_factory=dict)
    ulimits: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # name -> (soft, hard)
    logging: LogConfig | None = None

    def written(self) -> dict[str, Any]:
        """The options the file gives, as JSON-able data keyed by their Compose names."""
        out: dict[str, Any] = {}
        for name in _RUNTIME_SCALARS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        for name in _RUNTIME_COLLECTIONS:
            value = getattr(self, name)
            if value:
                out[name] = list(value) if isinstance(value, tuple) else dict(value)
        if self.ulimits:
            out["ulimits"] = {k: list(v) for k, v in sorted(self.ulimits.items())}
        if self.logging is not None:
            out["logging"] = {"driver": self.logging.driver, "options": dict(self.logging.options)}
        return out

    def exposed_ports(self) -> tuple[tuple[int, str], ...]:
        """Each port `expose` names, a range's one by one, with its protocol."""
        found: list[tuple[int, str]] = []
        for entry in self.expose:
            ports, _, protocol = entry.partition("/")
            first, _, last = ports.partition("-")
            found.extend((port, protocol) for port in range(int(first), int(last or first) + 1))
        return tuple(found)


_RUNTIME_SCALARS: tuple[str, ...] = ("stop_signal", "hostname", "domainname", "pid", "ipc")
_RUNTIME_SCALARS += ("userns_mode", "cgroup_parent", "runtime", "platform", "memswap_limit")
_RUNTIME_SCALARS += ("init",)
_RUNTIME_SCALARS += ("read_only", "privileged", "tty", "stdin_open", "shm_size")
_RUNTIME_SCALARS += ("mem_reservation", "pids_limit", "oom_score_adj", "cpu_shares")
_RUNTIME_COLLECTIONS: tuple[str, ...] = ("cap_add", "cap_drop", "security_opt", "group_add")
_RUNTIME_COLLECTIONS += ("devices", "dns", "dns_search", "extra_hosts", "tmpfs", "sysctls")
_RUNTIME_COLLECTIONS += ("expose",)
# Added later: each is written (and so hashed) only when the file gives it, so a container
# made before it existed keeps its spec.
_RUNTIME_SCALARS += ("uts", "cgroup", "cpuset", "cpu_period", "cpu_quota", "mem_swappiness")
_RUNTIME_SCALARS += ("oom_kill_disable",)
_RUNTIME_COLLECTIONS += ("dns_opt", "device_cgroup_rules")
