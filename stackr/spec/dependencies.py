"""A service's `depends_on` read into the model: Compose's condition names, the dependency a
shared namespace implies (`network_mode`/`pid: service:NAME`), and `required: false`
dependencies the stack does not have, left out with a warning. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from stackr.errors import Issue
from stackr.spec.document import Document
from stackr.spec.model import Condition, Dependency, Service


def dependencies(raw: Any) -> tuple[Dependency, ...]:
    if not raw:
        return ()
    if isinstance(raw, list):
        return tuple(Dependency(service=str(name)) for name in raw)
    return tuple(
        Dependency(
            service=str(name),
            condition=_condition(str((opts or {}).get("condition", "started"))),
            required=bool((opts or {}).get("required", True)),
            restart=bool((opts or {}).get("restart", False)),
        )
        for name, opts in raw.items()
    )


def owners_first(service: Service, services: Mapping[str, Service]) -> Service:
    """`service` depending on the services whose network or processes it shares, if it does
    not already say so: its replicas can only join a running container's namespace (as
    Compose implies it)."""
    declared = {dep.service for dep in service.depends_on}
    # A missing owner, or the service itself, is `checks`' to refuse.
    implied = [o for o in service.owners() if o in services and o != service.name]
    added = tuple(Dependency(service=o) for o in implied if o not in declared)
    return replace(service, depends_on=(*service.depends_on, *added)) if added else service


def optional_dependencies(
    service: Service, services: Mapping[str, Service], doc: Document, warn: Callable[[Issue], None]
) -> Service:
    """`service` without the `required: false` dependencies the stack does not have."""
    kept: list[Dependency] = []
    for dep in service.depends_on:
        if dep.required or dep.service in services:
            kept.append(dep)
            continue
        warn(
            doc.issue(
                ("services", service.name, "depends_on", dep.service),
                f"depends on '{dep.service}', which this stack does not have: not waited for "
                "(required: false)",
            )
        )
    return (
        service
        if len(kept) == len(service.depends_on)
        else replace(service, depends_on=tuple(kept))
    )


# Compose's names for the conditions.
_COMPOSE_CONDITIONS = {
    "service_started": Condition.STARTED,
    "service_healthy": Condition.HEALTHY,
    "service_completed_successfully": Condition.COMPLETED,
}


def _condition(written: str) -> Condition:
    return _COMPOSE_CONDITIONS.get(written) or Condition(written)
