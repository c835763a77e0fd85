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
from dataclasses import replace

from stackr.actions import ActionKind, Plan
from stackr.engine import Engine, EngineFacts
from stackr.errors import StackrError
from stackr.spec.model import Service, Stack

__all__ = ["refuse_unfit", "unfit", "with_fit_notes"]

_MAKES = (ActionKind.CREATE, ActionKind.RECREATE)

_SHIM = re.compile(r"io\.containerd\.[A-Za-z0-9_.-]+\.v[0-9]+")


def refuse_unfit(stack: Stack, engine: Engine, services: Collection[str]) -> None:
    """Raise when a service of `services` asks what `engine` does not have.

    Raises:
        StackrError: naming each service and what it asks, with what the engine has.
    """
    asking = [s for s in stack.services.values() if s.name in services and _asks(s)]
    if not asking:
        return
    problems = list(unfit(asking, engine.facts(), place=stack.place))
    if not problems:
        return
    hints = ["nothing was changed"]
    if any("runtime" in p for p in problems):
        hints.insert(0, "name a runtime the engine knows, or add it to its daemon.json")
    if any("CPUs" in p for p in problems):
        hints.insert(0, "ask for at most the engine's CPUs")
    raise StackrError(
        "the engine cannot run this stack as written: " + "; ".join(problems),
        hint="; ".join(hints),
    )


def unfit(
    services: Collection[Service],
    facts: EngineFacts,
    *,
    place: Callable[[str, str], str] = lambda service, key: "",
) -> Iterator[str]:
    """What each of `services` asks that an engine with `facts` lacks, in words; `place`
    says where a service's key is written (` (stack.yml:12)`). What the engine does not say
    (no runtimes listed, no CPU count) is not judged."""
    for service in services:
        name = service.name
        runtime = service.runtime.runtime
        if _judged(runtime, facts) and runtime not in facts.runtimes:
            known = ", ".join(sorted(facts.runtimes))
            yield (
                f"{name}'s runtime {runtime}{place(name, 'runtime')} is not one it knows "
                f"(it knows {known})"
            )
        cpus = service.resources.cpus
        if cpus is not None and facts.cpus and cpus > facts.cpus:
            where = place(name, "resources.cpus")
            yield f"{name} asks for {cpus:g} CPUs{where}, and it has {facts.cpus}"


def with_fit_notes(the_plan: Plan, stack: Stack, engine: Engine) -> Plan:
    """`the_plan` with each container it would create or recreate that the engine cannot run
    saying so in its reason, as `up` would refuse it (`plan` is asked before `up`)."""
    changing = {a.service for a in the_plan.pending() if a.kind in _MAKES}
    asking = [s for s in stack.services.values() if s.name in changing and _asks(s)]
    if not asking:
        return the_plan
    facts = engine.facts()
    said = {s.name: "; ".join(unfit([s], facts, place=stack.place)) for s in asking}
    return replace(
        the_plan,
        actions=tuple(
            replace(a, reason=f"{a.reason} ({said[a.service]}: up fails)")
            if a.kind in _MAKES and said.get(a.service)
            else a
            for a in the_plan.actions
        ),
    )


def _judged(runtime: str | None, facts: EngineFacts) -> bool:
    return bool(runtime and facts.runtimes and not _SHIM.fullmatch(runtime))


def _asks(service: Service) -> bool:
    return bool(service.runtime.runtime or service.resources.cpus)
