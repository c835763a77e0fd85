"""Compose's `deploy` section, read into stackr's own keys of a service: `replicas`,
`resources.limits` (`cpus`, `memory`; `pids` is `pids_limit`), `resources.reservations.memory`
(`mem_reservation`), `update_config` (`update`) and `restart_policy` (`restart`). Pure.

A key given both ways with two different values is refused, located in `deploy`, except
`restart`: there `deploy.restart_policy` wins, as in Compose, with a warning. The schema has
checked the shapes; `restart_policy: {condition: any, max_attempts: N}`, which the engine
refuses, is refused here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Path_ = tuple[str | int, ...]
Report = Callable[[Path_, str, str], None]

# deploy's path → the service's own key it is (a path in the service, a mapping's key beneath).
_MOVES: tuple[tuple[Path_, Path_], ...] = (
    (("replicas",), ("replicas",)),
    (("resources", "limits", "cpus"), ("resources", "cpus")),
    (("resources", "limits", "memory"), ("resources", "memory")),
    (("resources", "limits", "pids"), ("pids_limit",)),
    (("resources", "reservations", "memory"), ("mem_reservation",)),
    (("update_config",), ("update",)),
)
_CONDITIONS = {"none": "no", "on-failure": "on-failure", "any": "always"}
# The service's own keys a `deploy` section may give.
FED = frozenset({"restart", *(target[0] for _, target in _MOVES)})


def from_deploy(
    raw: Mapping[str, Any], at: Path_, *, report: Report, warn: Report
) -> tuple[dict[str, Any], dict[Path_, Path_]]:
    """The service `raw` (at `at`) with its `deploy` section read into its own keys, and the
    paths it moved: each new path → where the file wrote it, to locate a problem with it."""
    deploy = raw.get("deploy")
    service = {k: v for k, v in raw.items() if k != "deploy"}
    if not isinstance(deploy, Mapping):
        return service, {}
    moved: dict[Path_, Path_] = {}
    for source, target in _MOVES:
        value = _get(deploy, source)
        if value is None:
            continue
        written = (*at, "deploy", *source)
        if _get(service, target) is not None and _get(service, target) != value:
            shown = ".".join(str(p) for p in target)
            report(
                written,
                f"deploy.{'.'.join(map(str, source))} and {shown} say different things",
                f"keep one of the two: {shown} is stackr's way of writing it",
            )
            continue
        _put(service, target, value)
        moved[(*at, *target)] = written
    policy = deploy.get("restart_policy")
    if isinstance(policy, Mapping):
        restart = _restart(policy, (*at, "deploy", "restart_policy"), report)
        if restart is not None:
            if "restart" in service and service["restart"] != restart:
                warn(
                    (*at, "restart"),
                    f"restart: {service['restart']} gives way to deploy.restart_policy "
                    f"({restart}), as in Compose",
                    "keep one of the two",
                )
            service["restart"] = restart
            moved[(*at, "restart")] = (*at, "deploy", "restart_policy")
    return service, moved


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
