"""Reads Compose's options for how a service's containers run (`stop_signal`, `init`,
`cap_add`, `tmpfs`, `ulimits`, `logging`, ...) from a validated service into `Runtime`.

The schema has checked their shapes; what only parsing can judge (an IP address, a size, a
soft limit above its hard one) raises `ValueProblem`, which the caller locates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from stackr.spec.runopts import LogConfig, Runtime
from stackr.spec.values import ValueProblem, parse_pairs, parse_size, scalar_text

T = TypeVar("T")
Path_ = tuple[str | int, ...]


class Where(Protocol):
    """Reports problems at paths under the service being read."""

    def parse(self, path: Path_, parser: Callable[[Any], T], value: Any, default: T) -> T:
        """`parser(value)`, or, when it raises ValueError, the problem reported and `default`."""
        ...

    def report(self, path: Path_, message: str, hint: str = "") -> None: ...


HOST_GATEWAY = "host-gateway"  # the engine puts its host's address there
MAX_PORT = 65535


def parse_runtime(raw: dict[str, Any], where: Where) -> Runtime:
    """The service's runtime options; a value that does not parse is reported to `where`."""
    parse = where.parse

    def flag(name: str) -> bool | None:
        return bool(raw[name]) if name in raw else None

    def on(name: str) -> bool | None:
        # Off is the engine's only default for these: `false` and leaving it out are one spec.
        return True if raw.get(name) else None

    def number(name: str) -> int | None:
        # In range: the schema bounds a number, not the text a variable gives.
        low, high = _RANGES[name]
        return parse((name,), _ranged(low, high), raw[name], None) if name in raw else None

    def text(name: str) -> str | None:
        return str(raw[name]) if name in raw else None

    def size(name: str) -> int | None:
        return parse((name,), parse_size, raw[name], 0) if name in raw else None

    def words(name: str) -> tuple[str, ...]:
        return tuple(str(w) for w in raw.get(name) or ())

    return Runtime(
        stop_signal=signal(raw["stop_signal"]) if "stop_signal" in raw else None,
        hostname=text("hostname"),
        domainname=text("domainname"),
        pid=text("pid"),
        ipc=text("ipc"),
        userns_mode=text("userns_mode"),
        uts=text("uts"),
        cgroup=text("cgroup"),
        cpuset=parse(("cpuset",), _cpuset, raw["cpuset"], None) if "cpuset" in raw else None,
        cgroup_parent=text("cgroup_parent"),
        runtime=text("runtime"),
        platform=_platform(text("platform")),
        init=flag("init"),
        read_only=on("read_only"),
        privileged=on("privileged"),
        tty=on("tty"),
        stdin_open=on("stdin_open"),
        shm_size=size("shm_size"),
        mem_reservation=size("mem_reservation"),
        memswap_limit=_memswap(raw, size),
        pids_limit=number("pids_limit"),
        oom_score_adj=number("oom_score_adj"),
        cpu_shares=_shares(number("cpu_shares"), where),
        # 0, as the engine reads it: not set, the same spec as leaving it out (and a quota
        # of -1 is none either).
        cpu_period=number("cpu_period") or None,
        cpu_quota=_quota(number("cpu_quota")),
        mem_swappiness=number("mem_swappiness"),
        oom_kill_disable=on("oom_kill_disable"),
        cap_add=_capabilities(words("cap_add")),
        cap_drop=_capabilities(words("cap_drop")),
        # Sets, as the engine applies them: written in another order, the same spec.
        security_opt=tuple(sorted(words("security_opt"))),
        group_add=tuple(sorted(words("group_add"))),
        devices=tuple(sorted(_device(d) for d in words("devices"))),
        dns=tuple(
            parse(("dns", i) if isinstance(raw["dns"], list) else ("dns",), ip_address, v, "")
            for i, v in enumerate(_strings(raw.get("dns")))
        ),
        dns_search=tuple(_strings(raw.get("dns_search"))),
        dns_opt=tuple(words("dns_opt")),
        # A set, as the engine applies them: written in another order, the same spec.
        device_cgroup_rules=tuple(sorted({_cgroup_rule(r) for r in words("device_cgroup_rules")})),
        extra_hosts=_extra_hosts(raw.get("extra_hosts"), where),
        tmpfs=_tmpfs(raw.get("tmpfs"), where),
        expose=_expose(raw.get("expose"), where),
        sysctls=parse_pairs(raw.get("sysctls") or {}),
        ulimits={
            name: parse(("ulimits", name), ulimit, value, (0, 0))
            for name, value in (raw.get("ulimits") or {}).items()
        },
        logging=_logging(raw["logging"]) if "logging" in raw else None,
    )


# The bounds of the whole numbers (None: no bound), as the engine takes them.
_RANGES: dict[str, tuple[int | None, int | None]] = {
    "pids_limit": (-1, None),
    "oom_score_adj": (-1000, 1000),
    "cpu_shares": (0, None),
    "cpu_period": (0, 1_000_000),
    "cpu_quota": (-1, None),
    "mem_swappiness": (0, 100),
}


def _ranged(low: int | None, high: int | None) -> Callable[[Any], int]:
    def read(value: Any) -> int:
        number = int(str(value))
        if low is not None and number < low:
            raise ValueProblem(f"must be at least {low}, got {number}", f"give {low} or more")
        if high is not None and number > high:
            raise ValueProblem(f"must be at most {high}, got {number}", f"give {high} or less")
        return number

    return read


def _cgroup_rule(rule: str) -> str:
    # `c 1:3 mr` and `c 1:3 rm` grant one access: its letters in one order, one rule.
    kind, number, access = rule.split(" ")
    return f"{kind} {number} {''.join(a for a in 'rwm' if a in access)}"


def _shares(shares: int | None, where: Where) -> int | None:
    # 0, as the engine reads it: its default weight, the same spec as leaving it out.
    if shares == 1:
        where.report(("cpu_shares",), "cpu_shares must be at least 2", "give 2 or more, or 0")
    return shares or None


def _cpuset(value: Any) -> str:
    # The schema has checked the form (`0-3`, `0,2`); a range must run upwards.
    text = str(value)
    for part in text.split(","):
        first, _, last = part.partition("-")
        if last and int(last) < int(first):
            raise ValueProblem(
                f"the range {part} of cpuset runs backwards", f"write {last}-{first}"
            )
    return text


def _quota(quota: int | None) -> int | None:
    return None if quota in (None, 0, -1) else quota


def _memswap(raw: dict[str, Any], size: Callable[[str], int | None]) -> int | None:
    # -1 (also -1.0, or "-1" from a variable): swap without limit; 0, as the engine reads it:
    # no limit set, the same spec as leaving it out.
    written = raw.get("memswap_limit")
    if written is None or isinstance(written, bool):
        return None
    if str(written).strip() in ("-1", "-1.0") or written == -1:
        return -1
    return size("memswap_limit") or None


# The kernel's names for architectures the engine names otherwise (as `docker` reads them).
ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "armhf": "arm", "i386": "386"}


def _platform(written: str | None) -> str | None:
    # `linux/x86_64` is `linux/amd64`: one platform, one spec.
    if written is None:
        return None
    return "/".join(ARCHITECTURES.get(part, part) for part in written.lower().split("/"))


def capability(name: str) -> str:
    """A capability as the engine takes it: `CAP_NET_ADMIN`, `net_admin` and `NET_ADMIN` are
    one capability (`NET_ADMIN`)."""
    return name.upper().removeprefix("CAP_")


def _capabilities(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({capability(name) for name in names}))  # in any order


def signal(value: object) -> str:
    """`SIGINT`, `sigint`, `INT` or `2` → `SIGINT`, so every spelling of a signal is one spec;
    a number without a name (a real-time signal) stays a number."""
    text = str(value).upper()
    if text.isdigit():
        import signal as signals  # only for a number: `validate` of most files never needs it

        try:
            return signals.Signals(int(text)).name
        except ValueError:
            return text
    return text if text.startswith("SIG") else f"SIG{text}"


def _device(entry: str) -> str:
    # `/dev/x`, `/dev/x:/dev/y` and `/dev/x:/dev/y:rwm` as the engine reads them: the same path
    # inside, all permissions, unless said.
    host, _, rest = entry.partition(":")
    inside, _, permissions = rest.partition(":")
    return f"{host}:{inside or host}:{permissions or 'rwm'}"


def ip_address(value: object) -> str:
    """An IPv4 or IPv6 address, brackets dropped.

    Raises:
        ValueProblem: `value` is no IP address.
    """
    import ipaddress  # only for files that name addresses: most never do

    text = str(value).strip().strip("[]")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValueProblem(f"{value!r} is not an IP address", "e.g. 10.0.0.5 or ::1") from None


def ulimit(value: object) -> tuple[int, int]:
    """A limit for both soft and hard, or `{soft, hard}` → (soft, hard); -1 is unlimited.

    Raises:
        ValueProblem: the soft limit is above the hard one.
    """
    if isinstance(value, dict):
        soft, hard = int(value["soft"]), int(value["hard"])
    else:
        soft = hard = int(str(value))
    if hard != -1 and (soft == -1 or soft > hard):
        raise ValueProblem(
            f"soft limit {soft} is above hard limit {hard}",
            "a process may raise its soft limit up to the hard one: make hard the larger",
        )
    return soft, hard


def _strings(value: object) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _extra_hosts(raw: object, where: Where) -> tuple[str, ...]:
    pairs: list[tuple[Path_, str, object]] = []
    if isinstance(raw, dict):
        pairs = [(("extra_hosts", str(k)), str(k), v) for k, v in raw.items()]
    else:
        for i, entry in enumerate(_strings(raw)):
            # The host name holds neither `:` nor `=`; an IPv6 address after it may hold `:`.
            cut = min((entry.find(s) for s in ":=" if s in entry), default=-1)
            pairs.append((("extra_hosts", i), entry[:cut], entry[cut + 1 :]))
    # By host name, as /etc/hosts is read: written in another order, the same spec. Stable, so
    # a host given twice keeps its first address first (the one a lookup finds).
    pairs.sort(key=lambda pair: pair[1])
    return tuple(f"{host}:{where.parse(at, _host_ip, ip, '')}" for at, host, ip in pairs)


def _expose(raw: object, where: Where) -> tuple[str, ...]:
    """`expose` as `START[-END]/PROTOCOL` entries, sorted: each run of ports one range, each
    port once. `80`, `"80"` and `"80/tcp"` are one port, `"9000-9002"` and `9000, 9001, 9002`
    one range, and written in another order, the same spec: as the engine exposes them."""
    ports: set[tuple[str, int]] = set()
    for i, entry in enumerate(raw if isinstance(raw, list) else ()):
        span, protocol = where.parse(("expose", i), _exposed, entry, ((0, -1), ""))
        ports.update((protocol, port) for port in range(span[0], span[1] + 1))
    runs: list[list[int | str]] = []  # [start, end, protocol]
    for protocol, port in sorted(ports):
        if runs and runs[-1][2] == protocol and runs[-1][1] == port - 1:
            runs[-1][1] = port
        else:
            runs.append([port, port, protocol])
    runs.sort(key=lambda run: (run[0], run[2]))
    return tuple(
        (f"{start}-{end}" if end != start else f"{start}") + f"/{protocol}"
        for start, end, protocol in runs
    )


def _exposed(entry: object) -> tuple[tuple[int, int], str]:
    """One `expose` entry: its first and last port, and its protocol."""
    if isinstance(entry, float):  # the schema takes 80.0 for an integer
        raise ValueProblem(f"{entry} is not a port", "write a whole number, e.g. 8080")
    ports, _, protocol = str(entry).partition("/")
    first, _, last = ports.partition("-")
    return _port_span((first, last or first)), protocol or "tcp"


def _port_span(bounds: tuple[str, str]) -> tuple[int, int]:
    first, last = int(bounds[0]), int(bounds[1])
    if max(first, last) > MAX_PORT:
        raise ValueProblem(
            f"{max(first, last)} is not a port: ports go up to {MAX_PORT}",
            'write a port from 1 to 65535, or a range such as "9000-9002"',
        )
    if last < first:
        raise ValueProblem(
            f"the range {first}-{last} ends before it starts", f'write it "{last}-{first}"'
        )
    return first, last


def _host_ip(value: object) -> str:
    return HOST_GATEWAY if str(value).strip() == HOST_GATEWAY else ip_address(value)


def _tmpfs(raw: object, where: Where) -> dict[str, str]:
    mounts: dict[str, str] = {}
    for i, entry in enumerate(_strings(raw)):
        at: Path_ = ("tmpfs", i) if isinstance(raw, list) else ("tmpfs",)
        path, _, options = entry.partition(":")
        path = path.rstrip("/") or "/"
        if path == "/":
            where.report(
                at, "a tmpfs cannot cover the container's root (/)", "mount it at a folder"
            )
        for option in options.split(","):
            name, _, value = option.partition("=")
            if name == "mode" and (not value.isdigit() or "8" in value or "9" in value):
                where.report(
                    at,
                    f"mode={value} is not in octal digits",
                    "write it as the engine takes it: mode=1777",
                )
        options = ",".join(sorted(o for o in options.split(",") if o))  # in any order, one spec
        if path in mounts:
            where.report(at, f"tmpfs {path} is mounted twice", "mount each path once")
        mounts[path] = options
    return mounts


def _logging(raw: dict[str, Any]) -> LogConfig:
    options = {str(k): scalar_text(v) for k, v in (raw.get("options") or {}).items()}
    return LogConfig(driver=str(raw.get("driver") or ""), options=options)
