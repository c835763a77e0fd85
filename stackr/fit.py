"""What a stack asks of its engine that the engine cannot give — a runtime it does not know,
more CPUs than it has — found before `up` changes anything: the engine would refuse each
container only as it came to create it, half way through. Pure, but for the one question it
asks the engine (`Engine.facts`), and only of a stack that needs it.

A containerd shim named as a runtime (`io.containerd.runsc.v1`) is left to the engine: one
from Docker 23 on runs any shim installed, which its list of runtimes does not name. A
`cpuset` is left to it too: the CPUs its cgroup may use are not the ones it counts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, replace

from stackr.actions import ActionKind, Plan
from stackr.engine import Engine, EngineFacts
from stackr.errors import StackrError
from stackr.spec.model import Service, Stack

__all__ = ["refuse_unfit", "with_fit_notes"]

_MAKES = (ActionKind.CREATE, ActionKind.RECREATE)

_SHIM = re.compile(r"io\.containerd\.[A-Za-z0-9_.-]+\.v[0-9]+")
# What to do about each kind of lack.
_HINTS = {
    "cpus": "ask for at most the engine's CPUs",
    "runtime": "name a runtime the engine knows, or add it to its daemon.json",
}


@dataclass(frozen=True, slots=True)
class _Lack:
    """One thing a service asks that the engine does not have, in words."""

    kind: str  # a key of _HINTS
    text: str


def refuse_unfit(stack: Stack, engine: Engine, services: Collection[str]) -> None:
    """Raise when a service of `services` asks what `engine` does not have.

    Raises:
        StackrError: naming each service and what it asks, with what the engine has.
    """
    lacks = [lack for found in _lacks(stack, engine, services).values() for lack in found]
    if lacks:
        kinds = sorted({lack.kind for lack in lacks})
        raise StackrError(
            "the engine cannot run this stack as written: " + "; ".join(x.text for x in lacks),
            hint="; ".join([*(_HINTS[kind] for kind in kinds), "nothing was changed"]),
        )


def with_fit_notes(the_plan: Plan, stack: Stack, engine: Engine) -> Plan:
    """`the_plan` with each container it would create or recreate that the engine cannot run
    saying so in its reason, as `up` would refuse it (`plan` is asked before `up`)."""
    changing = {a.service for a in the_plan.pending() if a.kind in _MAKES}
    said = {
        name: "; ".join(lack.text for lack in found)
        for name, found in _lacks(stack, engine, changing).items()
    }
    if not said:
        return the_plan
    return replace(
        the_plan,
        actions=tuple(
            replace(a, reason=f"{a.reason} ({said[a.service]}: up fails)")
            if a.kind in _MAKES and a.service in said
            else a
            for a in the_plan.actions
        ),
    )


def _lacks(stack: Stack, engine: Engine, services: Collection[str]) -> dict[str, list[_Lack]]:
    """What each of `services` asks that `engine` lacks (only those lacking something); the
    engine is asked only when one of them sets a runtime or CPUs. What the engine does not
    say (no runtimes listed, no CPU count) is not judged."""
    asking = [s for s in stack.services.values() if s.name in services and _asks(s)]
    if not asking:
        return {}
    facts = engine.facts()
    found = {s.name: list(_service_lacks(s, facts, stack.place)) for s in asking}
    return {name: lacks for name, lacks in found.items() if lacks}


def _service_lacks(
    service: Service, facts: EngineFacts, place: Callable[[str, str], str]
) -> Iterator[_Lack]:
    name, runtime = service.name, service.runtime.runtime
    if _judged(runtime, facts) and runtime not in facts.runtimes:
        known = ", ".join(sorted(facts.runtimes))
        where = place(name, "runtime")
        yield _Lack(
            "runtime", f"{name}'s runtime {runtime}{where} is not one it knows (it knows {known})"
        )
    cpus = service.resources.cpus
    if cpus is not None and facts.cpus and cpus > facts.cpus:
        where = place(name, "resources.cpus")
        yield _Lack("cpus", f"{name} asks for {cpus:g} CPUs{where}, and it has {facts.cpus}")


def _judged(runtime: str | None, facts: EngineFacts) -> bool:
    return bool(runtime and facts.runtimes and not _SHIM.fullmatch(runtime))


def _asks(service: Service) -> bool:
    return bool(service.runtime.runtime or service.resources.cpus)
