"""Fixed host ports moving between containers: which old containers must stop before the new
ones start. Pure."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Set

from stackr.desired import DesiredState
from stackr.observed import ObservedContainer


def port_moves(
    desired: DesiredState,
    found: Mapping[str, ObservedContainer],
    *,
    recreated: Set[str],
    created: Set[str],
) -> dict[str, str]:
    """The recreated containers a fixed host port moves between (a shifted range of replicas,
    two services swapping ports), each with why: the old one holding a port that another
    new container takes must stop before that one starts, whatever their update policies and
    `depends_on` order say, so all of them are stopped first, together (`Action.parked`)."""
    held = {
        port: name
        for name, have in found.items()
        if name in recreated
        for port in _host_ports(have.spec.get("ports"))
    }
    moving: dict[str, str] = {}
    for name, spec in desired.containers.items():
        if name not in recreated and name not in created:
            continue
        for p in spec.ports:
            holder = held.get((p.host_port, p.protocol)) if p.host_port else None
            if holder is not None and holder != name:
                moving.setdefault(holder, f"its host port {p.host_port} goes to {name}")
                if name in recreated:
                    moving.setdefault(name, f"it takes host port {p.host_port} from {holder}")
    return moving


def _host_ports(written: object) -> Iterator[tuple[int, str]]:
    # A spec label's ports: `[IP:]HOST:CONTAINER/PROTO` where a host port is fixed.
    for entry in written if isinstance(written, list) else []:
        body, _, protocol = str(entry).rpartition("/")
        parts = body.rsplit(":", 2)
        if len(parts) >= 2 and parts[-2].isdigit():
            yield int(parts[-2]), protocol
