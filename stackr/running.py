"""What a stack runs on the engine: its containers as `stackr ps` lists them, and their output
(`stackr logs`). Read from the engine by label; nothing is changed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from stackr.engine import Engine
from stackr.errors import StackrError
from stackr.spec.model import Stack


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerRow:
    """One line of `stackr ps`: a container of the stack as the engine reports it."""

    name: str
    service: str
    replica: int
    state: str
    health: str
    status: str
    ports: tuple[str, ...]


def ps(stack: str, profile: str, engine: Engine) -> list[ContainerRow]:
    """The stack's containers, by service and replica."""
    observed = engine.observe(stack, profile)
    rows = [
        ContainerRow(
            name=c.name,
            service=c.service,
            replica=c.replica,
            state=c.state,
            health=c.health,
            status=c.status,
            ports=c.ports,
        )
        for c in observed.containers
    ]
    return sorted(rows, key=lambda r: (r.service, r.replica))


def logs(
    name: str,
    profile: str,
    engine: Engine,
    *,
    stack: Stack | None = None,
    services: Sequence[str] = (),
    follow: bool = False,
    tail: int | None = None,
) -> Iterator[tuple[str, str]]:
    """(container, line) pairs of the containers of stack `name` for `profile`, optionally
    only some services'. `stack`, when its file loads, tells a mistyped service from one that
    has no containers.

    Raises:
        StackrError: a named service is not in the stack, or has no containers.
    """
    from stackr.selection import refuse_unknown

    if stack is not None:
        refuse_unknown(stack, services)
    rows = ps(name, profile, engine)
    unknown = set(services) - {r.service for r in rows}
    if unknown:
        raise StackrError(
            f"no containers for service(s) {', '.join(sorted(unknown))} in {name} ({profile})",
            hint="stackr ps lists what runs; `stackr up` makes what is missing",
        )
    names = [r.name for r in rows if not services or r.service in services]
    return engine.logs(names, follow=follow, tail=tail)
