"""The images a stack needs: which ones, the digest of each service's build, and building or
pulling those that are missing. The engine does the work; this module decides what to ask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from stackr.engine import Engine
from stackr.errors import EngineError
from stackr.events import Event, OnEvent, Phase, ignore_event
from stackr.spec.model import Stack

if TYPE_CHECKING:
    from stackr.desired import ContainerSpec


def image_refs(stack: Stack) -> tuple[str, ...]:
    """The image references the stack's services run, each once."""
    return tuple(sorted({s.image for s in stack.services.values()}))


def with_build_digests(stack: Stack, engine: Engine) -> Stack:
    """`stack` with the digest of each service's build filled in: what its context holds (as
    the engine would be sent it), its Dockerfile and args. Reads the contexts, so only the use
    cases that plan call it.

    Raises:
        EngineError: a build context cannot be read.
    """
    from stackr.fingerprint import build_digest

    if not any(s.build is not None for s in stack.services.values()):
        return stack
    services = dict(stack.services)
    for name, service in stack.services.items():
        if service.build is not None:
            digest = build_digest(service.build, engine.context_files(service.build))
            services[name] = replace(service, build=replace(service.build, digest=digest))
    return replace(stack, services=services)


def ensure_images(
    stack: Stack,
    engine: Engine,
    *,
    build: bool,
    services: set[str],
    present: Mapping[str, str] | None = None,
    on_event: OnEvent = ignore_event,
) -> None:
    """Build or pull the images of `services` that need it. An image in `present` (the ones
    `observe` found) needs nothing, unless a build must check the digest it was built from.
    A build or a pull is told through `on_event` as it starts and ends: either can be slow."""
    from stackr.desired import desired_state

    desired = desired_state(stack)
    found = present or {}
    done: set[str] = set()
    for spec in desired.containers.values():
        if spec.service not in services or spec.image in done:
            continue
        done.add(spec.image)
        if spec.build is None and spec.image in found:
            continue  # on the engine already: nothing to pull
        _ensure(engine, spec, build=build and spec.build is not None, on_event=on_event)


def _ensure(engine: Engine, spec: ContainerSpec, *, build: bool, on_event: OnEvent) -> None:
    said: list[str] = []

    def announce(what: str) -> None:
        said.append(what)
        on_event(Event(spec.image, Phase(what), "the image"))

    try:
        engine.ensure_image(spec, build=build, announce=announce)
    except EngineError as error:
        if said:  # the line that said "building" must not stay open
            on_event(Event(spec.image, Phase.FAILED, str(error)))
        raise
    if said:
        on_event(Event(spec.image, Phase.DONE, "built" if said[0] == "building" else "pulled"))
