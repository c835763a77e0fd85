"""Progress events: what `up` and `down` report about each object as they work. Nothing here
prints; the CLI renders them."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass


class Phase(enum.Enum):
    WAITING = "waiting"
    CREATING = "creating"
    BUILDING = "building"  # an image, from its build context
    PULLING = "pulling"  # an image, from its registry
    STARTING = "starting"
    REMOVING = "removing"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"  # cut short by Ctrl-C: not a failure of the stack


@dataclass(frozen=True, slots=True)
class Event:
    """A step of one object's progress, for the progress view."""

    subject: str
    phase: Phase
    detail: str = ""


OnEvent = Callable[[Event], None]


def ignore_event(_: Event) -> None:
    return None
