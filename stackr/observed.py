"""What the engine has, as stackr sees it, and the naming and labelling contract that lets
stackr find what it owns.

Names (stable, documented in docs/naming.md):
  containers `{stack}-{profile}-{service}-{n}`, networks `{stack}-{profile}-{network}`,
  volumes `{stack}-{profile}-{volume}`.
Labels on every object stackr creates: `io.stackr.stack`, `io.stackr.profile`,
`io.stackr.spec-hash`; containers also `io.stackr.service`, `io.stackr.replica` and
`io.stackr.spec` (the canonical spec, so a plan can name the fields that changed), networks
`io.stackr.network`, volumes `io.stackr.volume`. Ownership is decided by labels alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

LABEL_NAMESPACE = "io.stackr."
LABEL_STACK = "io.stackr.stack"
LABEL_PROFILE = "io.stackr.profile"
LABEL_SERVICE = "io.stackr.service"
LABEL_REPLICA = "io.stackr.replica"
LABEL_NETWORK = "io.stackr.network"
LABEL_VOLUME = "io.stackr.volume"
LABEL_SPEC_HASH = "io.stackr.spec-hash"
LABEL_SPEC = "io.stackr.spec"  # containers: the canonical spec they were made from (JSON)
# containers: anonymous volumes taken over from the container they replaced (comma-separated);
# mounted by name, the engine would no longer remove them with the container, so stackr does.
LABEL_CARRIED = "io.stackr.carried-volumes"
LABEL_BUILD_DIGEST = "io.stackr.build-digest"  # images stackr built: the build's digest


def container_name(stack: str, profile: str, service: str, replica: int) -> str:
    return f"{stack}-{profile}-{service}-{replica}"


def network_name(stack: str, profile: str, network: str) -> str:
    return f"{stack}-{profile}-{network}"


def volume_name(stack: str, profile: str, volume: str) -> str:
    return f"{stack}-{profile}-{volume}"


def owner_filters(stack: str, profile: str) -> list[str]:
    """The label filters that select exactly one stack and profile's objects."""
    return [f"{LABEL_STACK}={stack}", f"{LABEL_PROFILE}={profile}"]


def user_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """The labels a stack file gave an object, without those stackr adds to every object."""
    return {k: v for k, v in labels.items() if not k.startswith(LABEL_NAMESPACE)}


def network_settings(driver: str, internal: bool, labels: Mapping[str, str]) -> dict[str, Any]:
    """What a network's spec hash covers, in one shape for the file's side and the engine's."""
    return {"driver": driver, "internal": internal, "labels": user_labels(labels)}


def volume_settings(
    driver: str, driver_opts: Mapping[str, str], labels: Mapping[str, str]
) -> dict[str, Any]:
    """What a volume's spec hash covers, in one shape for the file's side and the engine's."""
    return {"driver": driver, "driver_opts": dict(driver_opts), "labels": user_labels(labels)}


def spec_hash(canonical: object) -> str:
    """A short, stable hash of a JSON-able value (keys sorted, no whitespace)."""
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass(frozen=True, slots=True, kw_only=True)
class ObservedContainer:
    """A container of the stack as the engine lists it, read from its labels and state."""

    name: str
    id: str
    service: str
    replica: int
    spec_hash: str
    state: str  # created, running, paused, restarting, removing, exited, dead
    health: str = ""  # healthy, unhealthy, starting, or "" when there is no healthcheck
    image_id: str = ""
    status: str = ""  # the engine's human text, e.g. "Up 3 minutes (healthy)"
    ports: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()  # engine network names it is connected to
    network_ids: Mapping[str, str] = field(default_factory=dict)  # network name → its id
    exit_code: int | None = None  # an exited container's, from the engine's status text
    spec: Mapping[str, Any] = field(default_factory=dict)  # from its io.stackr.spec label
    carried_volumes: tuple[str, ...] = ()  # from its io.stackr.carried-volumes label
    # The id of the container whose network it shares (`network_mode: service:NAME`), as the
    # engine fixed it at create; "" for none.
    joined: str = ""
    # When it was made, in seconds since the epoch: whole seconds as the list call gives them,
    # exact once looked up (`with_times`), as is `started`, when it last started (None: not
    # looked up). `restarts` asks for them.
    created: float = 0.0
    started: float | None = None

    @property
    def running(self) -> bool:
        return self.state in ("running", "restarting")

    @property
    def made_with_grace(self) -> float | None:
        """The stop_grace_period it was made with (its spec label), if it says one."""
        grace = self.spec.get("stop_grace_period")
        return (
            float(grace) if isinstance(grace, int | float) and not isinstance(grace, bool) else None
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ObservedNetwork:
    """A network of the stack as the engine lists it."""

    name: str
    id: str
    network: str  # logical name in the stack file
    spec_hash: str
    # What its spec hash covers, as the engine lists it (`NetworkSpec.settings()`'s shape):
    # tells a plan which option changed.
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ObservedVolume:
    """A named volume of the stack as the engine lists it."""

    name: str
    volume: str  # logical name in the stack file
    spec_hash: str
    settings: Mapping[str, Any] = field(default_factory=dict)  # as `VolumeSpec.settings()`


@dataclass(frozen=True, slots=True, kw_only=True)
class ObservedState:
    """One stack and profile's objects on the engine, found by label."""

    containers: tuple[ObservedContainer, ...] = ()
    networks: tuple[ObservedNetwork, ...] = ()
    volumes: tuple[ObservedVolume, ...] = ()
    images: Mapping[str, str] = field(default_factory=dict)  # image reference → image id
    # Image reference → the digest of the build its image was made from, for images stackr
    # built (a tag moved to another image outside stackr has none, or another).
    built_from: Mapping[str, str] = field(default_factory=dict)
    # The external networks and volumes the stack uses that the engine has: name → network id,
    # and the volumes' names.
    external_networks: Mapping[str, str] = field(default_factory=dict)
    external_volumes: frozenset[str] = frozenset()
