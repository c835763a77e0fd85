"""Volume entries of a service read into `Mount`s: the short syntax (`./conf:/etc/app:ro`,
`data:/data`, `/cache`) and Compose's long one (`{type: volume|bind|tmpfs, ...}`). The schema has
checked their shapes; what still makes no sense raises `ValueProblem`, which the caller locates.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from stackr.spec.model import Mount, MountKind
from stackr.spec.values import ValueProblem, octal_mode, parse_size, scalar_text

UNPARSED_MOUNT = Mount(kind=MountKind.ANONYMOUS, source="", target="/unparsed")


def _with_options(mount: Mount, options: list[str]) -> Mount:
    chosen = set(options)
    for pair in (("ro", "rw"), ("z", "Z")):
        if set(pair) <= chosen:
            raise ValueProblem(f"{' and '.join(pair)} contradict each other", "keep one of them")
    relabel = "Z" if "Z" in chosen else "z" if "z" in chosen else ""
    if relabel and mount.kind is not MountKind.BIND:
        raise ValueProblem(
            f"{relabel} (SELinux relabelling) applies to bind mounts only",
            "remove it: the engine labels the volumes it makes itself",
        )
    if "nocopy" in chosen and mount.kind is MountKind.BIND:
        raise ValueProblem(
            "nocopy applies to volumes only", "remove it: a bind mount copies nothing anyway"
        )
    return replace(mount, read_only="ro" in chosen, relabel=relabel, no_copy="nocopy" in chosen)


MOUNT_OPTIONS = ("ro", "rw", "z", "Z", "nocopy", "cached", "delegated", "consistent")


def parse_mount(value: object, *, base_dir: str) -> Mount:
    """`SOURCE:TARGET[:OPTIONS]` or `TARGET[:OPTIONS]` → Mount; a path-like source is a bind,
    relative to `base_dir`; anything else names a volume declared in the stack. OPTIONS are
    `MOUNT_OPTIONS`, comma-separated (`ro,z`). Compose's long syntax, a mapping `{type,
    source, target, read_only, volume: {nocopy}, bind: {selinux}}`, reads into the same Mount
    as the short entry that says the same."""
    if isinstance(value, dict):
        return _long_mount(value, base_dir)
    value = str(value)
    parts = value.split(":")
    options: list[str] = []
    if len(parts) >= 2 and all(o in MOUNT_OPTIONS for o in parts[-1].split(",")):
        options = parts.pop().split(",")
    if len(parts) > 2 or not parts[-1].startswith("/") or (len(parts) == 2 and not parts[0]):
        raise ValueProblem(
            f"{value!r} is not SOURCE:TARGET[:OPTIONS] with an absolute TARGET",
            'e.g. "data:/var/lib/data" (a volume), "./conf:/etc/app:ro" (a bind mount) or '
            '"/tmp/cache" (an anonymous volume)',
        )
    _not_the_root(parts[-1])
    if len(parts) == 1:
        return _with_options(Mount(kind=MountKind.ANONYMOUS, source="", target=parts[0]), options)
    source, target = parts
    if not source.startswith((".", "/", "~")):
        return _with_options(Mount(kind=MountKind.VOLUME, source=source, target=target), options)
    return _with_options(_bind(source, target, base_dir), options)


def _not_the_root(target: str) -> None:
    # The engine refuses it only once `up` creates the container.
    if os.path.normpath(target) in ("/", "//"):
        raise ValueProblem(
            "a mount cannot cover the container's root (/)", "mount it at a folder, e.g. /data"
        )


def _bind(source: str, target: str, base_dir: str) -> Mount:
    try:
        path = Path(source).expanduser()
    except RuntimeError:  # `~user` for a user this machine does not know
        raise ValueProblem(
            f"cannot find the home directory in {source!r}",
            "write the path without ~user, or with ~ for your own home",
        ) from None
    absolute = path if path.is_absolute() else Path(base_dir) / path
    # Made absolute and tidied (`./a/../b`), not resolved: the path names a place on the
    # engine's host, whose symlinks (`/var/run` → `/run`) are its own, as Compose keeps it.
    return Mount(kind=MountKind.BIND, source=os.path.normpath(absolute), target=target)


def _long_mount(value: dict[str, Any], base_dir: str) -> Mount:
    kind, source, target = value.get("type"), str(value.get("source") or ""), value.get("target")
    if not isinstance(target, str) or not target.startswith("/"):
        raise ValueProblem(f"{target!r} is not an absolute path", "e.g. target: /var/lib/data")
    _not_the_root(target)
    bind, volume = value.get("bind") or {}, value.get("volume") or {}
    if kind == "tmpfs":
        return _tmpfs_mount(value, target)
    if value.get("tmpfs") is not None:
        raise ValueProblem(f"tmpfs options do not apply to type {kind}", "remove tmpfs: {...}")
    options = [
        *(["ro"] if value.get("read_only") is True else []),
        *(["nocopy"] if volume.get("nocopy") is True else []),
        *([str(bind["selinux"])] if bind.get("selinux") else []),
    ]
    if kind == "bind":
        if not source:
            raise ValueProblem("a bind mount needs a source", "e.g. source: ./conf")
        made = _with_options(_bind(source, target, base_dir), options)
        if bind.get("create_host_path") is False and made.relabel:
            raise ValueProblem(
                "a bind mount the engine must find (create_host_path: false) cannot be "
                "relabelled for SELinux",
                "remove bind.selinux, or bind.create_host_path",
            )
        return replace(made, create_host_path=bind.get("create_host_path") is not False)
    if source.startswith((".", "/", "~")) or ":" in source:
        raise ValueProblem(
            f"{source!r} is not a volume's name",
            f"to mount the host path {source}, write type: bind",
        )
    named = MountKind.VOLUME if source else MountKind.ANONYMOUS
    return _with_options(Mount(kind=named, source=source, target=target), options)


def _tmpfs_mount(value: dict[str, Any], target: str) -> Mount:
    if value.get("source"):
        raise ValueProblem("a tmpfs has no source", "remove source: a tmpfs starts empty")
    others = [key for key in ("volume", "bind", "consistency") if value.get(key) is not None]
    if others:
        raise ValueProblem(
            f"{others[0]} options do not apply to type tmpfs", f"remove {others[0]}: ..."
        )
    options = value.get("tmpfs") or {}
    size = options.get("size")
    mode = options.get("mode")
    if size is not None and parse_size(size) == 0:
        raise ValueProblem(
            "a tmpfs size of 0 reaches the engine as none: no limit but the engine's",
            "leave size out for the engine's default (half the memory), or give one",
        )
    return Mount(
        kind=MountKind.TMPFS,
        source="",
        target=target,
        read_only=value.get("read_only") is True,
        size=None if size is None else parse_size(size),
        mode=None if mode is None else parse_tmpfs_mode(mode),
    )


def parse_tmpfs_mode(value: object) -> int:
    """A tmpfs's permissions in octal digits, as a secret's mode is written: `1777`, `"0700"`,
    `0o1777` (Compose takes a bare number as decimal, so its `1777` is 0o3361)."""
    mode = octal_mode(value, most=0o7777)
    if mode is None:
        raise ValueProblem(
            f"{scalar_text(value)!r} is not a file mode", 'write it in octal, e.g. 1777 or "0700"'
        )
    if mode == 0:
        raise ValueProblem(
            "a tmpfs mode of 0 reaches the engine as none, which makes it 1777",
            "give it with the service's tmpfs key: tmpfs: [/PATH:mode=0]",
        )
    return mode
