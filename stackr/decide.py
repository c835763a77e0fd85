"""What one container of the stack needs, by its spec against what the engine holds: created,
recreated (its spec or image changed, or drift the engine cannot be talked out of), started
again (drift), or kept. Pure. `plan` weighs these against the other containers' (ports that
move, restarts, shared networks) before it says the last word.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from stackr.actions import ActionKind
from stackr.desired import ContainerSpec
from stackr.observed import LABEL_SPEC, LABEL_SPEC_HASH, ObservedContainer, ObservedState
from stackr.spec.model import RestartPolicy


def decide(
    spec: ContainerSpec, have: ObservedContainer | None, observed: ObservedState, *, job: bool
) -> tuple[ActionKind, str]:
    if have is None:
        return ActionKind.CREATE, "not on the engine"
    if have.spec_hash != spec.labels.get(LABEL_SPEC_HASH) and not _only_reordered(spec, have):
        return ActionKind.RECREATE, "its spec changed"
    moved = image_moved(spec, have, observed)
    if moved:
        return ActionKind.RECREATE, f"image {moved}"
    if _has_run(spec, have):
        # Its work is done, and it never starts again: its network connections no longer
        # matter, and replacing it would run its work again.
        return ActionKind.KEEP, "one-shot container has run (exited 0)"
    missing = [n for n in spec.networks if n not in have.networks]
    if missing:
        # Reconnecting by hand would skip its aliases and order: replace it instead.
        return ActionKind.RECREATE, f"drift: disconnected from {', '.join(missing)} outside stackr"
    gone = _replaced_networks(spec, have, observed)
    if gone:
        # The engine would refuse to start it: it still points at the old network's id.
        return ActionKind.RECREATE, f"drift: network {', '.join(gone)} was removed outside stackr"
    if have.state == "created" and spec.files:
        # Its files are written between create and start: a crash there leaves them partial.
        return ActionKind.RECREATE, "never started, so its secret and config files may be partial"
    if have.running:
        return ActionKind.KEEP, "up to date"
    return _stopped(spec, have, job=job)


def _only_reordered(spec: ContainerSpec, have: ObservedContainer) -> bool:
    """Whether the only change is one a container would not notice: the order of the
    service's `networks:` list (the engine orders a container's networks itself, the default
    route going by network name), `extra_hosts` an earlier stackr kept as written (it now
    sorts them), or a memory limit of 0 an earlier stackr kept (it now reads 0 as no limit,
    as the engine does): a container made then stays."""
    if not have.spec:
        return False
    old, new = have.spec, json.loads(spec.labels[LABEL_SPEC])
    return old != new and _unordered(old) == _unordered(new)


def _unordered(spec: Mapping[str, Any]) -> dict[str, Any]:
    # Each network keeps its own spec: options swapped between two networks are a change.
    pairs = sorted(zip(spec.get("networks") or [], spec.get("network_specs") or [], strict=False))
    unordered = {**spec, "networks": pairs, "network_specs": None}
    if unordered.get("memory") == 0:
        unordered["memory"] = None
    hosts = spec.get("extra_hosts")
    if isinstance(hosts, list):  # stable: a host given twice keeps its first address first
        unordered["extra_hosts"] = sorted(hosts, key=lambda entry: str(entry).split(":")[0])
    return unordered


def _replaced_networks(
    spec: ContainerSpec, have: ObservedContainer, observed: ObservedState
) -> list[str]:
    # An external network made again outside stackr gets a new id too.
    ids = {**observed.external_networks, **{n.name: n.id for n in observed.networks}}
    return [n for n in spec.networks if have.network_ids.get(n, "") not in ("", ids.get(n))]


def _has_run(spec: ContainerSpec, have: ObservedContainer) -> bool:
    """A one-shot container that exited 0: it has done its work."""
    one_shot = RestartPolicy(spec.restart).one_shot
    return one_shot and have.state == "exited" and have.exit_code == 0


def _stopped(spec: ContainerSpec, have: ObservedContainer, *, job: bool) -> tuple[ActionKind, str]:
    # A one-shot that exited 0 has done its work (`decide` keeps it). Any other stop is drift,
    # a failed one-shot included: it runs again, as a fixed cause may now let it succeed.
    one_shot = RestartPolicy(spec.restart).one_shot
    if have.state == "exited" and one_shot and job:
        # A job (others wait for it to complete): its failure is no drift, and it runs again.
        return ActionKind.START, f"the job failed (exit code {have.exit_code}): it runs again"
    if have.state == "paused":
        return ActionKind.START, "drift: container was paused outside stackr (up unpauses it)"
    code = f" (exit code {have.exit_code})" if have.exit_code is not None else ""
    return ActionKind.START, f"drift: container is {have.state}{code}, not running"


def image_moved(spec: ContainerSpec, have: ObservedContainer, observed: ObservedState) -> str:
    """`shop/web:1 now is 5d2c… (runs 9a1b…)` when the image's tag moved to another image.

    A service stackr builds runs a build of its inputs (their digest is in its spec): its tag
    counts only where it is on a build of the same inputs (`up --build` made again, say). A
    tag moved to another image outside stackr changes nothing the container runs; a new
    replica would build the image again first."""
    built = observed.built_from.get(spec.image)
    if spec.build is not None and spec.build.digest and built != spec.build.digest:
        return ""
    image_id = observed.images.get(spec.image, "")
    if image_id and have.image_id and image_id != have.image_id:
        return f"{spec.image} now is {_short(image_id)} (runs {_short(have.image_id)})"
    return ""


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]
