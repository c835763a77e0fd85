"""External networks and volumes (`external: true`): the names the engine knows them by,
which of them a stack's services use, and refusing to go on while one is missing. stackr never
makes or removes them."""

from __future__ import annotations

from stackr.errors import StackrError
from stackr.observed import ObservedState, network_name, volume_name
from stackr.spec.model import MountKind, Stack


def engine_network(stack: Stack, logical: str) -> str:
    """The engine's name of the stack's network `logical`: an external one's own."""
    network = stack.networks.get(logical)
    if network is not None and network.external:
        return network.external
    return network_name(stack.name, stack.profile, logical)


def engine_volume(stack: Stack, logical: str) -> str:
    """The engine's name of the stack's volume `logical`: an external one's own."""
    volume = stack.volumes.get(logical)
    if volume is not None and volume.external:
        return volume.external
    return volume_name(stack.name, stack.profile, logical)


def externals(stack: Stack) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The engine names of the external networks and volumes the stack's services use."""
    used_networks = {n for s in stack.services.values() for n in s.networks}
    used_volumes = {
        m.source for s in stack.services.values() for m in s.mounts if m.kind is MountKind.VOLUME
    }
    networks = sorted(
        n.external for k, n in stack.networks.items() if n.external and k in used_networks
    )
    volumes = sorted(
        v.external for k, v in stack.volumes.items() if v.external and k in used_volumes
    )
    return tuple(networks), tuple(volumes)


def refuse_missing(
    stack: Stack, observed: ObservedState, networks: tuple[str, ...], volumes: tuple[str, ...]
) -> None:
    # stackr never makes them, and the engine would refuse the first container that uses one.
    missing = [f"network {n}" for n in networks if n not in observed.external_networks]
    missing += [f"volume {v}" for v in volumes if v not in observed.external_volumes]
    if missing:
        make = [f"`docker {kind} create {name}`" for kind, name in (m.split() for m in missing)]
        raise StackrError(
            f"stack {stack.name} uses external {', '.join(missing)}, which the engine does not "
            "have",
            hint=f"make them first ({', '.join(make)}, or up the stack that owns them), or drop "
            "external: true to let stackr make them",
        )
