"""`stackr up web worker`: a stack narrowed to some of its services and everything they depend
on, and the engine's state narrowed to match, so that the plan of the narrowed stack touches
nothing else. Pure.

Services left out are neither created, recreated, nor removed; a service that left the file is
not removed either (a full `up` does that). The narrowed stack keeps the networks, volumes,
secrets and configs its services use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from stackr.errors import StackrError
from stackr.observed import ObservedState
from stackr.spec.model import MountKind, Stack


def refuse_unknown(stack: Stack, names: Iterable[str]) -> None:
    """Raises:
    StackrError: a name is not a service of `stack` (the message lists its services).
    """
    unknown = [n for n in dict.fromkeys(names) if n not in stack.services]
    if unknown:
        hint = f"its services: {', '.join(sorted(stack.services))}"
        if any(n.endswith((".yml", ".yaml")) for n in unknown):
            hint += "; a stack file is named with --file (-f, except in `stackr logs`)"
        raise StackrError(
            f"no service {', '.join(repr(n) for n in unknown)} in stack {stack.name}", hint=hint
        )


def narrowed(stack: Stack, names: Iterable[str]) -> Stack:
    """`stack` with only the services `names` and, transitively, those they depend on.

    Raises:
        StackrError: a name is not a service of the stack.
    """
    wanted = list(dict.fromkeys(names))
    refuse_unknown(stack, wanted)
    chosen: set[str] = set()
    while wanted:
        name = wanted.pop()
        if name not in chosen:
            chosen.add(name)
            wanted += [d.service for d in stack.services[name].depends_on]
    # A kept service that runs the image a left-out one builds keeps that build: it is part of
    # what the service is made from.
    shared = stack.with_shared_builds().services
    services = {n: s for n, s in shared.items() if n in chosen}
    used = services.values()
    networks = {n for s in used for n in s.networks}
    volumes = {m.source for s in used for m in s.mounts if m.kind is MountKind.VOLUME}
    secrets = {g.source for s in used for g in s.secrets}
    configs = {g.source for s in used for g in s.configs}
    return replace(
        stack,
        services=services,
        networks={n: v for n, v in stack.networks.items() if n in networks},
        volumes={n: v for n, v in stack.volumes.items() if n in volumes},
        secrets={n: v for n, v in stack.secrets.items() if n in secrets},
        configs={n: v for n, v in stack.configs.items() if n in configs},
    )


def narrowed_state(observed: ObservedState, stack: Stack) -> ObservedState:
    """What the engine holds of the narrowed `stack`: its services' containers (leftovers of
    their interrupted updates included), and its networks and volumes."""
    return replace(
        observed,
        containers=tuple(c for c in observed.containers if c.service in stack.services),
        networks=tuple(n for n in observed.networks if n.network in stack.networks),
        volumes=tuple(v for v in observed.volumes if v.volume in stack.volumes),
    )


def refuse_harm_to_others(
    observed: ObservedState, stack: Stack, *, networks: list[str], sharers: Mapping[str, str]
) -> None:
    """Refuse a narrowed `up` whose plan would break containers of services left out: a
    network it recreates that they are on (`networks`), or a container it replaces or runs
    again whose network or processes they share (`sharers`: owner → them, found by `joins`).

    Raises:
        StackrError: naming those containers.
    """
    others = others_on(observed, stack, networks)
    if others:
        raise StackrError(
            f"network {', '.join(networks)} changed: recreating it would recreate "
            f"{', '.join(others)} too, which belong to services not named",
            hint="run `stackr up` without naming services, to update the whole stack",
        )
    for owner, names in sharers.items():
        raise StackrError(
            f"{names} share(s) the network or processes of {owner}, which this up would "
            "replace or run again, and would be left without them: they belong to services "
            "not named",
            hint="name their services too, or run `stackr up` without naming services",
        )


def others_on(observed: ObservedState, stack: Stack, networks: Iterable[str]) -> list[str]:
    """Containers of services left out of the narrowed `stack` that are attached to any of the
    engine `networks`: recreating one of those networks would recreate them too."""
    names = set(networks)
    return sorted(
        c.name
        for c in observed.containers
        if c.service not in stack.services and names.intersection(c.networks)
    )
