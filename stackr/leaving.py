"""Taking a running container off a service's DNS names without cutting the requests it has.

The engine drops an endpoint's aliases only with the endpoint, so the container leaves each
network and rejoins it at once without them. The engine hands out the lowest free address of a
network and derives the MAC address from it: the container usually gets back the address it
gave up, and a TCP connection open to it lives on (a packet lost in the instant it was off is
sent again). Usually, not always: where a lower address is free (a container on the network
stopped since, another task took the freed one meanwhile) it gets another, and the connections
open to it there are cut. Which happened is asked of the engine, not assumed.

`ServiceNames` is how `up` admits containers to a service's names and takes them off: one at a
time, since two rejoining at once would take each other's freed address.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
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


class ServiceNames:
    """Admits containers to their service's DNS names and takes them off, one at a time."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()

    def admit(self, container: str, aliases: Mapping[str, tuple[str, ...]]) -> None:
        """Give `container` the DNS names `aliases` lists for each network: an endpoint's
        aliases are fixed when it joins, so it rejoins each network with them."""
        with self._lock:
            for network, names in aliases.items():
                self._engine.disconnect_container(container, network)
                self._engine.connect_container(container, network, aliases=names)

    def leave(self, container: str, networks: Iterable[str]) -> Left:
        """`leave_names`, while no other container joins or leaves through this."""
        with self._lock:
            return leave_names(self._engine, container, networks)
