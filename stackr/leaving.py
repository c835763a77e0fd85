"""Taking a running container off a service's DNS names without cutting the requests it has.

The engine drops an endpoint's aliases only with the endpoint, so the container leaves each
network and rejoins it at once without them. The engine hands out the lowest free address of a
network and derives the MAC address from it: the container usually gets back the address it
gave up, and a TCP connection open to it lives on (a packet lost in the instant it was off is
sent again). Usually, not always: where a lower address is free (a container on the network
stopped since, another task took the freed one meanwhile) it gets another, and the connections
open to it there are cut. Which happened is asked of the engine, not assumed.

`ServiceNames` is how `up` admits containers to a service's names and takes them off: one at a
time, since two rejoining at once would take each other's freed address. `up` starts its
containers through it too: a container starting takes an address on each of its networks, so
no start runs while a container leaves or joins (starts run together otherwise).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from stackr.engine import Engine
from stackr.errors import EngineError


@dataclass(frozen=True, slots=True)
class Left:
    """What leaving did: whether the container still answers on an address it had (then it
    is worth draining), and where the requests it had are cut, one phrase for each."""

    kept: bool
    cut: tuple[str, ...] = ()


def leave_names(engine: Engine, container: str, networks: Iterable[str]) -> Left:
    """Take `container` off its DNS names on `networks` (those of the stack it is on), leaving
    it reachable where it was; a container not running only leaves."""
    status = engine.container_status(container)
    before = dict(status.addresses)  # network -> address, "" where it has none
    running = status.state == "running"
    left = [network for network in networks if network in before]
    refused: dict[str, str] = {}
    for network in left:
        engine.disconnect_container(container, network)
        if running:
            # Off the names all the same when this fails: only its open connections are cut.
            try:
                engine.connect_container(container, network, aliases=())
            except EngineError as error:
                refused[network] = str(error)
    had = [network for network in left if running and before[network]]
    if not had:
        return Left(kept=False)
    after = dict(engine.container_status(container).addresses)
    cut = [
        f"on {network}: it could not rejoin it ({refused[network]})"
        if network in refused
        else f"on {network}: it did not get its address back (the engine gave it another)"
        for network in had
        if after.get(network) != before[network]
    ]
    if status.publishes:
        cut.append("through its published ports: the engine drops them as it leaves a network")
    kept = any(after.get(network) == before[network] for network in had)
    return Left(kept=kept, cut=tuple(cut))


class _Gate:
    """Many at once in `shared`, one alone in `alone`; one waiting for `alone` goes before
    those that come to `shared` after it."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._shared = 0
        self._alone = False
        self._waiting = 0  # for `alone`

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._changed:
            while self._alone or self._waiting:
                self._changed.wait()
            self._shared += 1
        try:
            yield
        finally:
            with self._changed:
                self._shared -= 1
                self._changed.notify_all()

    @contextmanager
    def alone(self) -> Iterator[None]:
        with self._changed:
            self._waiting += 1
            while self._alone or self._shared:
                self._changed.wait()
            self._waiting -= 1
            self._alone = True
        try:
            yield
        finally:
            with self._changed:
                self._alone = False
                self._changed.notify_all()


class ServiceNames:
    """Admits containers to their service's DNS names and takes them off, one at a time, and
    starts containers, many at a time but never while one joins or leaves."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._gate = _Gate()

    def admit(self, container: str, aliases: Mapping[str, tuple[str, ...]]) -> None:
        """Give `container` the DNS names `aliases` lists for each network: an endpoint's
        aliases are fixed when it joins, so it rejoins each network with them."""
        with self._gate.alone():
            for network, names in aliases.items():
                self._engine.disconnect_container(container, network)
                self._engine.connect_container(container, network, aliases=names)

    def leave(self, container: str, networks: Iterable[str]) -> Left:
        """`leave_names`, while no other container joins, leaves or starts through this."""
        with self._gate.alone():
            return leave_names(self._engine, container, networks)

    def start(self, container: str) -> None:
        """Start `container`, not while one leaves: it could take the address given up."""
        with self._gate.shared():
            self._engine.start_container(container)
