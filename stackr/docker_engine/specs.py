"""A container's spec as the Docker SDK's arguments: its healthcheck and its mounts."""

from __future__ import annotations

from docker.types import Healthcheck as SdkHealthcheck
from docker.types import Mount as SdkMount

from stackr.desired import ContainerSpec, MountSpec
from stackr.errors import EngineError
from stackr.spec.model import MountKind

NANO = 1_000_000_000  # the engine's durations are in nanoseconds


def healthcheck(spec: ContainerSpec) -> SdkHealthcheck | None:
    check = spec.healthcheck
    if check is None:
        return None

    return SdkHealthcheck(
        test=list(check.test),
        interval=_nanos(check.interval),
        timeout=_nanos(check.timeout),
        retries=check.retries or 0,
        start_period=_nanos(check.start_period),
    )


def _nanos(seconds: float | None) -> int:
    return 0 if seconds is None else int(seconds * NANO)  # 0: the image's, else the default


def as_bind(mount: MountSpec) -> bool:
    return mount.kind is MountKind.BIND and ":" not in mount.source + mount.target


def mount(mount: MountSpec) -> SdkMount:
    # A named volume, an anonymous one (no source), or a bind that a `Binds` entry cannot say.
    if mount.relabel:  # only a `Binds` entry takes an SELinux label
        raise EngineError(
            f"cannot relabel ({mount.relabel}) the bind mount of {mount.source}: its path "
            "holds a ':', which the engine's bind syntax cannot carry",
            hint="move the directory to a path without ':', or drop the z/Z option",
        )
    kind = "bind" if mount.kind is MountKind.BIND else "volume"
    return SdkMount(
        target=mount.target,
        source=mount.source or None,
        type=kind,
        read_only=mount.read_only,
        no_copy=mount.no_copy,
    )
