"""Parsers for the short textual forms of the stack file: durations, sizes, ports, commands,
pairs (volume entries are `mounts`').

The schema has already checked the shape of each string; these turn it into typed values. A
`ValueError` here means a value the schema's pattern let through but that still makes no sense
(e.g. a port range that ends before it starts); the caller turns it into a located Issue, with
the hint of a `ValueProblem`.
"""

from __future__ import annotations

import re
import shlex
from typing import TypeVar

from stackr.spec.model import PortRule
from stackr.spec.yamltree import BasedInt

_T = TypeVar("_T")


class ValueProblem(ValueError):
    """A value that makes no sense, and what to write instead."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


_DURATION_HINT = 'a number of seconds, or e.g. "10s", "1m30s", "500ms"'
_PORT_HINT = 'a port is a number from 1 to 65535: "8080:80", or "8081-8083:80" for replicas'

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)")
_SECONDS = re.compile(r"\d+(?:\.\d+)?")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_DIGITS = re.compile(r"\d{1,5}")  # a port: more digits are out of range anyway
# The engine keeps durations in nanoseconds and sizes in bytes, each in 64 bits: far below its
# limits, and far above anything meant.
MAX_SECONDS = 10**9  # about 31 years
MAX_BYTES = 2**62
MAX_CPUS = 10**6
MIN_CPUS = 0.01  # as the docker CLI: below, the engine's nano-CPUs round to 0, no limit at all
_PORT = re.compile(
    r"^(?:(?P<ip>\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?"
    # After a host IP, an empty host port (`127.0.0.1::80`) lets the engine pick one.
    r"(?:(?P<start>\d{1,5})(?:-(?P<end>\d{1,5}))?:|(?<=:):)?"
    r"(?P<container>\d{1,5})(?:/(?P<proto>tcp|udp|sctp))?$"
)


def parse_duration(value: object) -> float:
    """`2s`, `1m30s`, `500ms` or a number of seconds → seconds, up to MAX_SECONDS."""
    seconds = _duration(value)
    if seconds > MAX_SECONDS:
        raise ValueProblem(
            f"{value!r} is far too long", f"a duration goes up to {MAX_SECONDS}s (about 31 years)"
        )
    if 0 < seconds < 1e-9:
        raise ValueProblem(
            f"{value!r} is shorter than a nanosecond, the engine's finest unit",
            "write 0, or a duration of at least 1ns",
        )
    return seconds


def _duration(value: object) -> float:
    if isinstance(value, bool):
        raise ValueProblem(f"{value!r} is not a duration", _DURATION_HINT)
    if isinstance(value, int | float):
        return _finite(float(_bounded(value)), "duration")
    text = str(value).strip()
    if _SECONDS.fullmatch(text):  # "10" from a variable: seconds, as the number 10 is
        return _finite(float(_bounded(text)), "duration")
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueProblem(f"{text!r} is not a duration", _DURATION_HINT)
    return _finite(sum(float(_bounded(n)) * _DURATION_UNITS[u] for n, u in parts), "duration")


_PULL_PERIODS = {"daily": 86400.0, "weekly": 7 * 86400.0}


def parse_pull_policy(value: object) -> tuple[str, float]:
    """Compose's `pull_policy` → (missing, always, never, build or refresh; the seconds a
    refresh waits): `if_not_present` is `missing`, `daily` is every 24 h, `every_12h` every
    12 h."""
    text = str(value)
    if text == "if_not_present":
        return "missing", 0.0
    if text in _PULL_PERIODS:
        return "refresh", _PULL_PERIODS[text]
    if not text.startswith("every_"):
        return text, 0.0
    try:
        seconds = parse_duration(text.removeprefix("every_"))
    except ValueProblem:
        raise ValueProblem(
            f"{text!r} is not a pull period", "write every_ and a duration: every_12h, every_30m"
        ) from None
    if seconds < 1:
        raise ValueProblem(f"{text!r} would pull on every up", "write always, or a longer period")
    return "refresh", seconds


def duration_text(seconds: float) -> str:
    """The shortest text `parse_duration` reads back as exactly `seconds` (`700ms`, `1.5s`,
    `90m`), without an exponent: what `config` writes, so its output plans as the file did."""
    best = f"{_plain(seconds)}s"  # always reads back: float(repr(x)) is x, times 1.0
    for unit, factor in _DURATION_UNITS.items():
        scaled = seconds / factor
        for number in (scaled, round(scaled, 9)):
            text = f"{_plain(number)}{unit}"
            if len(text) < len(best) and _reads_as(text, seconds):
                best = text
    return best


def _reads_as(text: str, seconds: float) -> bool:
    try:
        return _duration(text) == seconds
    except ValueError:  # a number too long to read: not a text to write
        return False


def _plain(number: float) -> str:
    """A float's shortest text, written out: `0.00001`, not `1e-05`; `90`, not `90.0`."""
    from decimal import Decimal  # only `config` writes durations

    text = format(Decimal(repr(float(number))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def parse_cpus(value: object) -> float:
    """A number of CPUs (`0.5`, `"2"`), from MIN_CPUS to MAX_CPUS; 0 is no limit, as the
    engine reads it."""
    number = value if isinstance(value, int | float) else str(value)
    cpus = _finite(float(_bounded(number)), "CPU count")
    if cpus == 0:
        return 0.0
    if cpus < 0:
        raise ValueProblem(
            f"{value!r} is not a CPU count", "e.g. 0.5 for half a CPU, 0 for no limit"
        )
    if not MIN_CPUS <= cpus <= MAX_CPUS:
        raise ValueProblem(
            f"{value!r} CPUs is out of range",
            f"give from {MIN_CPUS} (a hundredth of a CPU) up to the engine's CPUs, e.g. 0.5",
        )
    return cpus


def _bounded(value: _T) -> _T:
    # float() of a 400-digit integer overflows: refuse absurd magnitudes as plain errors.
    if (isinstance(value, int) and abs(value) > 10**15) or (
        isinstance(value, str) and len(value) > 32
    ):
        raise ValueError(f"{str(value)[:20]}... is far too large")
    return value


def _finite(number: float, what: str) -> float:
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueProblem(f"{number} is not a usable {what}", "give a finite number")
    return number


def parse_size(value: object) -> int:
    """`256m`, `1g`, `512k` or a number of bytes → bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return int(_bounded(value))
    match = _SIZE.match(str(_bounded(str(value))).strip())
    if not match:
        raise ValueProblem(f"{value!r} is not a size", 'e.g. "512m" or "1g"')
    size = int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])
    if size > MAX_BYTES:
        raise ValueProblem(f"{value!r} is far too large", 'a size such as "512m" or "64g"')
    return size


def size_text(size: int) -> str:
    """Bytes as a file would write them: `64m` for 67108864, `1536k`, else `1000b`."""
    for unit, factor in (("g", 1024**3), ("m", 1024**2), ("k", 1024)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}b"


def parse_port(value: object) -> PortRule:
    """A `ports` entry → PortRule: Compose's short syntax `[IP:][HOST[-END]:]CONTAINER[/PROTO]`,
    or its long syntax, a mapping `{target, published, host_ip, protocol}` (its `mode`, `name`
    and `app_protocol` change nothing on one engine)."""
    if isinstance(value, dict):
        return _long_port(value)
    match = _PORT.match(str(value).strip())
    if not match:
        raise ValueProblem(f"{value!r} is not a port", _PORT_HINT)
    return _port_rule(
        container=match.group("container"),
        start=match.group("start"),
        end=match.group("end"),
        protocol=match.group("proto") or "tcp",
        host_ip=match.group("ip") or "",
    )


def _long_port(value: dict[str, object]) -> PortRule:
    target = value.get("target")
    published = str(value.get("published", "")).strip()
    start, _, end = published.partition("-")
    if not _DIGITS.fullmatch(str(target)) or not all(
        _DIGITS.fullmatch(p) for p in (start, end) if p
    ):
        raise ValueProblem(f"{value!r} is not a port", _PORT_HINT)
    return _port_rule(
        container=str(target),
        start=start or None,
        end=end or None,
        protocol=str(value.get("protocol") or "tcp"),
        host_ip=str(value.get("host_ip") or ""),
    )


def _port_rule(
    *, container: str, start: str | None, end: str | None, protocol: str, host_ip: str
) -> PortRule:
    first = int(start) if start else None
    last = int(end) if end else first
    for port in (int(container), first, last):
        if port is not None and not 0 < port < 65536:
            raise ValueProblem(f"port {port} is out of range 1-65535", _PORT_HINT)
    if first is not None and last is not None and last < first:
        raise ValueProblem(
            f"port range {first}-{last} ends before it starts",
            f"write the lower port first: {last}-{first}",
        )
    return PortRule(
        container_port=int(container),
        protocol=protocol,
        host_ip=host_ip.strip("[]"),
        host_start=first,
        host_end=last,
    )


# Options after a mount's target, as Compose takes them. `cached`, `delegated` and
# `consistent` tune Docker Desktop's file sharing on macOS: on Linux they change nothing.
def octal_mode(value: object, *, most: int) -> int | None:
    """Permissions written in octal digits (`440`, `"0440"`, `"0o440"`) or as an octal or hex
    number (`0o440`, which YAML reads as 288), up to `most`; None for anything else."""
    if isinstance(value, BasedInt):
        return int(value) if 0 <= value <= most else None
    text = scalar_text(value).strip().removeprefix("0o") if not isinstance(value, bool) else ""
    if not text.isdigit() or any(c not in "01234567" for c in text):
        return None
    mode = int(text, 8)
    return mode if mode <= most else None


# What stands in for a volume entry that does not parse (reported already), keeping the
# others at their index: checks skip it.
def parse_command(value: object) -> tuple[str, ...]:
    """A command or entrypoint: a list as given, a string split as a shell would (like Compose)."""
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    try:
        return tuple(shlex.split(str(value)))
    except ValueError as error:  # e.g. "No closing quotation"
        raise ValueProblem(
            f"cannot split {value!r} into words: {str(error).lower()}",
            'close the quote, or write it as a list: ["sh", "-c", "..."]',
        ) from None


def parse_pairs(value: object, *, env: dict[str, str] | None = None) -> dict[str, str]:
    """`environment`/`labels` in either form (mapping, or list of `KEY=value`) → mapping.

    A key with no value (`KEY` in a list, `KEY:` with null in a mapping) takes its value from
    `env` when given and set there, and is dropped otherwise, as Compose does.
    """
    items: list[tuple[str, object]]
    if isinstance(value, dict):
        items = list(value.items())
    else:
        items = []
        for entry in value if isinstance(value, list) else []:
            key, sep, rest = str(entry).partition("=")
            items.append((key, rest if sep else None))
    result: dict[str, str] = {}
    for key, raw in items:
        if raw is None:
            if env is not None and key in env:
                result[key] = env[key]
            continue
        result[key] = scalar_text(raw)
    return result


def scalar_text(value: object) -> str:
    """A YAML scalar as the text the engine gets (`true` → "true", like Compose)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
