"""What a stack asks of its engine that the engine cannot give — a runtime it does not know,
more CPUs than it has, CPUs of a `cpuset` it lacks — found before `up` changes anything: the
engine would refuse each container only as it came to create it, half way through. Pure, but
for the one question it asks the engine (`Engine.facts`), and only of a stack that needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator

from stackr.engine import Engine, EngineFacts
from stackr.errors import StackrError
from stackr.spec.model import Service, Stack

__all__ = ["refuse_unfit", "unfit"]


def refuse_unfit(stack: Stack, engine: Engine, services: Collection[str]) -> None:
    """Raise when a service of `services` asks what `engine` does not have.

    Raises:
        StackrError: naming each service and what it asks, with what the engine has.
    """
    asking = [s for s in stack.services.values() if s.name in services and _asks(s)]
    if not asking:
        return
    problems = list(unfit(asking, engine.facts(), place=stack.place))
    if problems:
        raise StackrError(
            "the engine cannot run this stack as written: " + "; ".join(problems),
            hint="change the services' settings, or the engine (a runtime is added in its "
            "daemon.json); nothing was changed",
        )


def unfit(
    services: Collection[Service],
    facts: EngineFacts,
    *,
    place: Callable[[str, str], str] = lambda service, key: "",
) -> Iterator[str]:
    """What each of `services` asks that an engine with `facts` lacks, in words; `place`
    says where a service's key is written (` (stack.yml:12)`)."""
    for service in services:
        name = service.name
        runtime = service.runtime.runtime
        if runtime is not None and runtime not in facts.runtimes:
            known = ", ".join(sorted(facts.runtimes)) or "none"
            yield (
                f"{name}'s runtime {runtime}{place(name, 'runtime')} is not one it knows "
                f"(it knows {known})"
            )
        cpus = service.resources.cpus
        if cpus is not None and facts.cpus and cpus > facts.cpus:
            where = place(name, "resources.cpus")
            yield f"{name} asks for {cpus:g} CPUs{where}, and it has {facts.cpus}"
        missing = sorted(c for c in _cpu_numbers(service.runtime.cpuset) if c >= facts.cpus)
        if facts.cpus and missing:
            yield (
                f"{name}'s cpuset{place(name, 'cpuset')} names CPU "
                f"{', '.join(map(str, missing))}, and it has CPUs 0-{facts.cpus - 1}"
            )


def _asks(service: Service) -> bool:
    runtime = service.runtime
    return bool(runtime.runtime or runtime.cpuset or service.resources.cpus)


def _cpu_numbers(cpuset: str | None) -> set[int]:
    # `0-2,5` → {0, 1, 2, 5} (the schema has checked the form).
    found: set[int] = set()
    for part in (cpuset or "").split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        found.update(range(int(first), int(last or first) + 1))
    return found
