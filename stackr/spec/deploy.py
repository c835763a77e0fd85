"""Compose's ways of writing stackr's own keys of a service, read into them: the `deploy`
section's `replicas`, `resources.limits` (`cpus`, `memory`; `pids` is `pids_limit`),
`resources.reservations.memory` (`mem_reservation`), `update_config` (`update`) and
`restart_policy` (`restart`); and the service's own `scale`, `mem_limit` and `cpus` (`replicas`,
`resources.memory`, `resources.cpus`). Pure.

A key given two ways with two different values is refused, located where Compose's way writes
it, except `restart`: there `deploy.restart_policy` wins, as in Compose, with a warning. The
schema has checked the shapes; `restart_policy: {condition: any, max_attempts: N}`, which the
engine refuses, is refused here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from stackr.spec.values import parse_duration, parse_size

Path_ = tuple[str | int, ...]
Report = Callable[[Path_, str, str], None]


def _to_the_nanosecond(text: str) -> float:
    # `700ms` and `0.7s` are one delay, though not one float (0.7000000000000001 and 0.7).
    return round(parse_duration(text), 9)


# deploy's path → the service's own key it is (a path in the service, a mapping's key beneath),
# and how its text reads, to tell two spellings of one value (`1g`, `1024m`) from two values.
_MOVES: tuple[tuple[Path_, Path_, Callable[[Any], Any]], ...] = (
    (("replicas",), ("replicas",), int),
    (("resources", "limits", "cpus"), ("resources", "cpus"), float),
    (("resources", "limits", "memory"), ("resources", "memory"), parse_size),
    (("resources", "limits", "pids"), ("pids_limit",), int),
    (("resources", "reservations", "memory"), ("mem_reservation",), parse_size),
    *(
        (("update_config", key), ("update", key), read)
        for key, read in (
            ("parallelism", int),
            ("order", str),
            ("delay", _to_the_nanosecond),
            ("failure_action", str),
            ("monitor", _to_the_nanosecond),
        )
    ),
)
# A service's own Compose keys → the stackr key each is (Compose's older spellings of deploy's).
_SPELLINGS: tuple[tuple[str, Path_, Callable[[Any], Any]], ...] = (
    ("scale", ("replicas",), int),
    ("mem_limit", ("resources", "memory"), parse_size),
    ("cpus", ("resources", "cpus"), float),
)
_CONDITIONS = {"none": "no", "on-failure": "on-failure", "any": "always"}
# The service's own keys a `deploy` section may give.
FED = frozenset({"restart", *(str(target[0]) for _, target, _ in _MOVES)})
# The service's own key each Compose spelling gives.
SPELLED = {key: str(target[0]) for key, target, _ in _SPELLINGS}


def from_deploy(
    raw: Mapping[str, Any],
    at: Path_,
    *,
    report: Report,
    warn: Report,
    layer: Callable[[Path_, Path_], str] = lambda cause, here: "",
) -> tuple[dict[str, Any], dict[Path_, Path_]]:
    """The service `raw` (at `at`) with its `deploy` section read into its own keys, and the
    paths it moved: each new path → where the file wrote it, to locate a problem with it.
    `layer(cause, here)` says where the value at `cause` comes from when it is another layer
    than `here`'s (` (set by profile prod)`)."""
    deploy = raw.get("deploy")
    service = {k: v for k, v in raw.items() if k != "deploy" and k not in SPELLED}
    moved: dict[Path_, Path_] = {}

    def move(value: Any, written: Path_, target: Path_, read: Callable[[Any], Any]) -> None:
        other = _get(service, target)
        if other is not None and not _same(read, other, value):
            here = (*at, *target)
            shown = ".".join(str(p) for p in moved.get(here, here)[len(at) :])
            there = layer(moved.get(here, here), written)
            there = there.strip().removeprefix("(").removesuffix(")")
            report(
                written,
                f"{'.'.join(map(str, written[len(at) :]))} ({value}) and {shown} "
                f"({other}{', ' + there if there else ''}) say different things",
                "keep one of the two: a profile, a later file or a service that extends this "
                "one changes it written the same way as here",
            )
            return
        _put(service, target, value)
        moved[(*at, *target)] = written

    for key, target, read in _SPELLINGS:
        if raw.get(key) is not None:
            move(raw[key], (*at, key), target, read)
    if not isinstance(deploy, Mapping):
        return service, moved
    for source, target, read in _MOVES:
        value = _get(deploy, source)
        if value is not None:
            move(value, (*at, "deploy", *source), target, read)
    policy = deploy.get("restart_policy")
    if isinstance(policy, Mapping):
        _restart_from(policy, service, moved, at, report=report, warn=warn)
    return service, moved


def _restart_from(
    policy: Mapping[str, Any],
    service: dict[str, Any],
    moved: dict[Path_, Path_],
    at: Path_,
    *,
    report: Report,
    warn: Report,
) -> None:
    """`restart` of `service` (at `at`) as `deploy.restart_policy` says it, which wins."""
    restart = _restart(policy, (*at, "deploy", "restart_policy"), report)
    if restart is None:
        return
    if "restart" in service and service["restart"] != restart:
        warn(
            (*at, "restart"),
            f"restart: {service['restart']} gives way to deploy.restart_policy "
            f"({restart}), as in Compose",
            "keep one of the two",
        )
    service["restart"] = restart
    moved[(*at, "restart")] = (*at, "deploy", "restart_policy")


def _restart(policy: Mapping[str, Any], at: Path_, report: Report) -> str | None:
    condition = _CONDITIONS[str(policy.get("condition", "any"))]
    attempts = policy.get("max_attempts")
    if attempts is None:
        return condition
    if condition != "on-failure":
        report(
            (*at, "max_attempts"),
            f"max_attempts only counts with condition: on-failure (the engine refuses it with "
            f"{policy.get('condition', 'any')})",
            "write condition: on-failure, or remove max_attempts",
        )
        return None
    return f"on-failure:{attempts}"


def _same(read: Callable[[Any], Any], one: Any, other: Any) -> bool:
    """Whether two spellings say one value (`1g` and `1024m`, `2` and `"2"`); what does not
    read is compared as written (its problem is reported where it is read)."""
    try:
        return bool(read(str(one)) == read(str(other)))
    except ValueError:
        return str(one) == str(other)


def _get(tree: Mapping[str, Any], path: Path_) -> Any:
    node: Any = tree
    for part in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(str(part))
    return node


def _put(tree: dict[str, Any], path: Path_, value: Any) -> None:
    node = tree
    for part in path[:-1]:
        child = node.get(str(part))
        node[str(part)] = child = dict(child) if isinstance(child, Mapping) else {}
        node = child
    node[str(path[-1])] = value
