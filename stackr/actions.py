"""A plan as a value: its actions, each with its kind, the object it is about and the reason
for it. `plan` makes plans; `up` executes them; `stackr plan` renders them.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from stackr.changes import Change


class ActionKind(enum.Enum):
    CREATE = "create"
    RECREATE = "recreate"
    START = "start"
    RESTART = "restart"  # kept, stopped and started again: a dependency with restart: true changed
    REMOVE = "remove"
    KEEP = "keep"


class ObjectKind(enum.Enum):
    NETWORK = "network"
    VOLUME = "volume"
    CONTAINER = "container"


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    """One step of a plan, with the reason for it and, for a recreate, what changed."""

    kind: ActionKind
    object: ObjectKind
    name: str  # engine name
    reason: str
    service: str = ""  # containers: their service
    replica: int = 0
    logical: str = ""  # networks and volumes: their name in the stack file
    changes: tuple[Change, ...] = ()  # a recreate: what changed
    # A container removal by `down --volumes`: its anonymous volumes go with it, and these
    # carried-over ones (mounted by name). Any other removal keeps them, as Compose does.
    volumes: tuple[str, ...] = ()
    with_volumes: bool = False
    # A leftover `-next`/`-prev` of an interrupted update: the replica it belongs to, which
    # keeps (or takes over) its anonymous volumes.
    successor: str = ""
    # A recreate whose old container is (or whose new one will be) on a recreated network, or
    # between which and another a fixed host port moves: stopped first, with the others, so
    # the network can go (the port be free), and replaced once it is made again. Any other
    # recreate follows its service's `update` policy.
    parked: bool = False
    # A container removal: the stop_grace_period its container was made with (its spec label),
    # for a container whose service the file no longer has (or a file that does not load).
    stop_grace: float | None = None
    # A recreate: the networks its old container was made to join, each with its DNS names
    # there (what an update takes it off, and a rollback gives back). A replica scaled down
    # while others serve on: the networks it leaves the service's names on before it stops.
    endpoints: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # A container this `up` stops (recreated or restarted) whose processes paused containers
    # share: those are unpaused before it stops, or its run would never end.
    thaw: tuple[str, ...] = ()

    def describe(self) -> str:
        """One plain line: `create container shop-dev-web-1 — not on the engine`."""
        return f"{self.kind.value} {self.object.value} {self.name} — {self.reason}"

    def change_lines(self) -> tuple[str, ...]:
        """What changed, one `field: before → after` line per change."""
        return tuple(c.line() for c in self.changes)


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Every action that makes the engine match one stack and profile, in order."""

    stack: str
    profile: str
    actions: tuple[Action, ...]

    def pending(self) -> tuple[Action, ...]:
        """The actions that change something."""
        return tuple(a for a in self.actions if a.kind is not ActionKind.KEEP)

    def counts(self) -> dict[ActionKind, int]:
        counted = Counter(a.kind for a in self.actions)
        return {kind: counted.get(kind, 0) for kind in ActionKind}

    def action_for(self, kind: ObjectKind, name: str) -> Action | None:
        return next((a for a in self.actions if a.object is kind and a.name == name), None)
