"""The stack's top-level networks and volumes, read into the model: a driver, its options and
labels for one stackr makes, or the engine's name of an external one (which takes no options:
each is refused, located, with a hint that tells a profile's `external: true` apart).
"""

from __future__ import annotations

from typing import Any, Protocol

from stackr.spec.model import Network, Volume
from stackr.spec.source import Document
from stackr.spec.values import parse_pairs

__all__ = ["Builder", "read_network", "read_volume"]

Path_ = tuple[str | int, ...]


class Builder(Protocol):
    """What reading needs of the model's builder: the document, and where problems go."""

    doc: Document

    def report(self, path: Path_, message: str, hint: str = "") -> None: ...


def read_network(b: Builder, key: str, raw: Any) -> Network:
    raw = raw or {}
    return Network(
        name=key,
        driver=str(raw.get("driver", "bridge")),
        internal=bool(raw.get("internal", False)),
        labels=parse_pairs(raw.get("labels") or {}),
        external=_external(b, ("networks", key), raw, ("driver", "internal", "labels")),
    )


def read_volume(b: Builder, key: str, raw: Any) -> Volume:
    raw = raw or {}
    return Volume(
        name=key,
        driver=str(raw.get("driver", "local")),
        driver_opts=parse_pairs(raw.get("driver_opts") or {}),
        labels=parse_pairs(raw.get("labels") or {}),
        external=_external(b, ("volumes", key), raw, ("driver", "driver_opts", "labels")),
    )


def _external(b: Builder, at: Path_, raw: dict[str, Any], options: tuple[str, ...]) -> str:
    """An external network's or volume's name on the engine, or "" for one stackr makes."""
    what = str(at[0])[:-1]
    if not raw.get("external"):
        if "name" in raw:
            b.report(
                (*at, "name"),
                f"only an external {what} takes a name",
                f"stackr names the {what}s it makes STACK-PROFILE-{at[1]}; for one made "
                "outside the stack, add external: true",
            )
        return ""
    made_by = b.doc.positions.get((*at, "external"))
    for option in options:
        if option in raw:
            hint = f"set it where the {what} is made, and remove it here"
            said = b.doc.positions.get((*at, option))
            if made_by is not None and said is not None and made_by.layer not in ("", said.layer):
                # A profile makes a base entry external: the base's options still merge in.
                hint = (
                    f"external: true is {made_by.layer}: write the {what} there as "
                    f"`{at[1]}: !override {{external: true}}`, so the base's {option} does not "
                    "apply"
                )
            b.report(
                (*at, option),
                f"an external {what} is made outside the stack: stackr cannot set its {option}",
                hint,
            )
    return str(raw.get("name") or at[1])
