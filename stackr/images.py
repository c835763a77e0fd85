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
from stackr.pulls import PullRecord
from stackr.spec.model import PullPolicy, Service, Stack

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


def refreshes(stack: Stack, *, build: bool) -> bool:
    """Whether `up` builds or pulls images before it plans (`--build`, or a service's
    `pull_policy` of build, always, or a period)."""
    early = (PullPolicy.BUILD, PullPolicy.ALWAYS, PullPolicy.REFRESH)
    return build or any(s.pull_policy in early for s in stack.services.values())


def refresh_images(
    stack: Stack,
    engine: Engine,
    *,
    build: bool,
    now: float,
    pulls: PullRecord | None = None,
    on_event: OnEvent = ignore_event,
) -> None:
    """Before planning, so the plan compares against what they bring: build the images of the
    services that build on every `up` (`build`: all with a build section; else those with
    pull_policy: build), and pull those whose policy says it is time (always; or, for a
    period, the image stackr last pulled longer ago than that, by the time `now`, as `pulls`
    recorded it). Of the services running one image, the most eager policy holds."""
    from stackr.desired import desired_state

    users: dict[str, list[ContainerSpec]] = {}
    for spec in desired_state(stack).containers.values():
        users.setdefault(spec.image, []).append(spec)
    for image, specs in users.items():
        services = [stack.services[spec.service] for spec in specs]
        builds = [
            spec
            for spec, service in zip(specs, services, strict=True)
            if spec.build is not None and (build or service.pull_policy is PullPolicy.BUILD)
        ]
        if builds:
            _ensure(engine, builds[0], build=True, on_event=on_event)
            continue
        periods = [s.pull_every for s in services if s.pull_policy is PullPolicy.REFRESH]
        always = any(s.pull_policy is PullPolicy.ALWAYS for s in services)
        if always or (periods and _due(engine, image, min(periods), now, pulls)):
            _pull(engine, specs[0], now=now, pulls=pulls, on_event=on_event)


def _due(engine: Engine, image: str, every: float, now: float, pulls: PullRecord | None) -> bool:
    pulled = pulls.pulled_at(image, engine.image_id(image), now=now) if pulls else None
    return pulled is None or now - pulled >= every


def _pull(
    engine: Engine,
    spec: ContainerSpec,
    *,
    now: float,
    pulls: PullRecord | None,
    on_event: OnEvent,
) -> None:
    on_event(Event(spec.image, Phase.PULLING, "the image"))
    try:
        image_id = engine.pull_image(spec.image, platform=spec.runtime.platform)
    except EngineError as error:
        on_event(Event(spec.image, Phase.FAILED, str(error)))
        raise
    if pulls is not None:
        pulls.record(spec.image, image_id, now)
    on_event(Event(spec.image, Phase.DONE, "pulled"))


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
        runners = _runners(stack, spec.image, services)
        never = spec.build is None and all(s.pull_policy is PullPolicy.NEVER for s in runners)
        if spec.build is None and spec.image in found and (never or not spec.runtime.platform):
            continue  # on the engine already: nothing to pull (for a platform, the engine checks)
        if never:
            named = ", ".join(
                s.name + stack.place(s.name, "pull_policy") for s in sorted(runners, key=_name)
            )
            raise EngineError(
                f"image {spec.image} is not on this engine, and pull_policy: never keeps "
                f"{named} from pulling it",
                hint="build it or load it into the engine (docker build, docker load), or use "
                "pull_policy: missing",
            )
        _ensure(engine, spec, build=build and spec.build is not None, on_event=on_event)


def _name(service: Service) -> str:
    return service.name


def _runners(stack: Stack, image: str, services: set[str]) -> list[Service]:
    """The services of `services` that run `image`."""
    return [s for s in stack.services.values() if s.name in services and s.image == image]


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
