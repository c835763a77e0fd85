"""The Docker API's list replies (JSON), read into an ObservedState. No SDK here: the replies
are plain data, whichever client fetched them.

Everything stackr needs comes from the list calls and the labels stackr wrote, so observing a
stack needs no per-container inspect; only the exact start times `depends_on.restart` may ask
for come from one (`start_times`).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from stackr.observed import (
    LABEL_CARRIED,
    LABEL_NETWORK,
    LABEL_REPLICA,
    LABEL_SERVICE,
    LABEL_SPEC,
    LABEL_SPEC_HASH,
    LABEL_VOLUME,
    ObservedContainer,
    ObservedNetwork,
    ObservedState,
    ObservedVolume,
    network_settings,
    volume_settings,
)


def observed_state(
    containers: list[dict[str, Any]],
    networks: list[dict[str, Any]],
    volumes: dict[str, Any] | None,
    images: Mapping[str, str],
    built_from: Mapping[str, str] | None = None,
) -> ObservedState:
    """The state the list replies describe; `images` maps image refs to ids, `built_from` those
    stackr built to their build's digest."""
    return ObservedState(
        containers=tuple(observed_container(c) for c in containers),
        networks=tuple(
            ObservedNetwork(
                name=n["Name"],
                id=n["Id"],
                network=(n.get("Labels") or {}).get(LABEL_NETWORK, ""),
                spec_hash=(n.get("Labels") or {}).get(LABEL_SPEC_HASH, ""),
                settings=network_settings(
                    n.get("Driver") or "", bool(n.get("Internal")), n.get("Labels") or {}
                ),
            )
            for n in networks
        ),
        volumes=tuple(
            ObservedVolume(
                name=v["Name"],
                volume=(v.get("Labels") or {}).get(LABEL_VOLUME, ""),
                spec_hash=(v.get("Labels") or {}).get(LABEL_SPEC_HASH, ""),
                settings=volume_settings(
                    v.get("Driver") or "", v.get("Options") or {}, v.get("Labels") or {}
                ),
            )
            for v in (volumes or {}).get("Volumes") or []
        ),
        images=dict(images),
        built_from=dict(built_from or {}),
    )


def observed_container(raw: dict[str, Any]) -> ObservedContainer:
    labels = raw.get("Labels") or {}
    networks = (raw.get("NetworkSettings") or {}).get("Networks") or {}
    return ObservedContainer(
        name=(raw.get("Names") or ["/"])[0].lstrip("/"),
        id=raw["Id"],
        service=labels.get(LABEL_SERVICE, ""),
        replica=int(labels.get(LABEL_REPLICA, "0") or 0),
        spec_hash=labels.get(LABEL_SPEC_HASH, ""),
        state=raw.get("State", ""),
        health=_health(raw.get("Status", "")),
        image_id=raw.get("ImageID", ""),
        status=raw.get("Status", ""),
        ports=tuple(
            dict.fromkeys(_port_text(p) for p in raw.get("Ports") or [] if p.get("PublicPort"))
        ),
        networks=tuple(sorted(networks)),
        network_ids={name: (n or {}).get("NetworkID") or "" for name, n in networks.items()},
        exit_code=_exit_code(raw.get("Status", "")),
        spec=_spec_label(labels.get(LABEL_SPEC, "")),
        carried_volumes=tuple(v for v in labels.get(LABEL_CARRIED, "").split(",") if v),
        joined=_joined(str((raw.get("HostConfig") or {}).get("NetworkMode") or "")),
        created=float(raw.get("Created") or 0),
    )


def _joined(mode: str) -> str:
    # The engine lists a shared network as `container:<id>`, the id it resolved at create.
    return mode.removeprefix("container:") if mode.startswith("container:") else ""


def start_times(raw: dict[str, Any]) -> tuple[float, float]:
    """When an inspected container was made and last started, in seconds since the epoch."""
    state = raw.get("State") or {}
    return _instant(str(raw.get("Created") or "")), _instant(str(state.get("StartedAt") or ""))


def _instant(stamp: str) -> float:
    """The engine's RFC 3339 time (`2026-11-27T19:45:01.123456789Z`, trailing zeros cut) in
    seconds since the epoch; 0 for none (a container never started says `0001-01-01...`)."""
    whole, _, fraction = stamp.removesuffix("Z").partition(".")
    try:
        moment = datetime.fromisoformat(whole).replace(tzinfo=UTC)
    except ValueError:
        return 0.0
    digits = "".join(itertools.takewhile(str.isdigit, fraction))
    return max(moment.timestamp() + (int(digits) / 10 ** len(digits) if digits else 0.0), 0.0)


def _spec_label(text: str) -> dict[str, Any]:
    # Written by stackr itself; anything unreadable just means "no field-level detail".
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _exit_code(status: str) -> int | None:
    # Like health, the list call gives an exited container's code only in its Status text:
    # "Exited (137) 5 seconds ago".
    if not status.startswith("Exited ("):
        return None
    code = status[len("Exited (") :].partition(")")[0]
    return int(code) if code.lstrip("-").isdigit() else None


def _health(status: str) -> str:
    # The list call carries health only inside its Status text; reading it there spares an
    # inspect per container on every observe.
    for marker, health in (
        ("(healthy)", "healthy"),
        ("(unhealthy)", "unhealthy"),
        ("(health: starting)", "starting"),
    ):
        if marker in status:
            return health
    return ""


def _port_text(port: dict[str, Any]) -> str:
    # The engine lists an IPv4 and an IPv6 binding for one published port; show it once.
    ip = port.get("IP", "")
    host = str(port["PublicPort"]) if ip in ("", "0.0.0.0", "::") else f"{ip}:{port['PublicPort']}"
    return f"{host}->{port['PrivatePort']}/{port.get('Type', 'tcp')}"


_HUB_PREFIXES = ("docker.io/", "index.docker.io/", "registry-1.docker.io/")


def full_ref(ref: str) -> str:
    """`ref` as the engine lists it in an image's `RepoTags`: with its tag (`latest` when it
    has none), and without Docker Hub's registry or its `library/` namespace, which the engine
    leaves out (`docker.io/library/busybox` is listed as `busybox:latest`)."""
    for prefix in _HUB_PREFIXES:
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
            break
    ref = ref.removeprefix("library/")
    if "@" in ref:
        # `nginx:1.25@sha256:...` is listed in `RepoDigests` without its tag.
        name, _, digest = ref.partition("@")
        head, _, last = name.rpartition("/")
        return f"{head + '/' if head else ''}{last.partition(':')[0]}@{digest}"
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last else f"{ref}:latest"
