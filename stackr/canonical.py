"""The canonical form of a container's spec: what it is made from, as plain data, in one
order. Its hash is the container's spec-hash, and it is kept in the container's `io.stackr.spec`
label so a later plan can say which fields changed. Pure.

Fields stackr added over time appear only when a container has them, so adding them changed no
existing container's hash.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from stackr.spec.model import FileKind, Healthcheck, MountKind, mount_options, restart_text

if TYPE_CHECKING:
    from stackr.desired import ContainerSpec, MountSpec


def canonical_container(spec: ContainerSpec) -> dict[str, Any]:
    """What a container is made from, as plain data: hashed into its spec-hash, and kept in its
    `io.stackr.spec` label so a later plan can say which fields changed.

    A service with `build:` has the digest of its build (context files, Dockerfile, args), so
    a changed context recreates its containers (and rebuilds their image). Secrets
    and configs appear only when the container has some (so adding the keys to stackr did not
    change the hash of containers without them), with a digest in place of their content.
    """
    check = spec.healthcheck
    canonical: dict[str, Any] = {
        "image": spec.image,
        "command": list(spec.command) if spec.command is not None else None,
        "entrypoint": list(spec.entrypoint) if spec.entrypoint is not None else None,
        "environment": dict(spec.environment),
        "labels": dict(spec.user_labels),
        "ports": [
            f"{p.host_ip + ':' if p.host_ip else ''}{p.host_port or ''}"
            f"{':' if p.host_port else ''}{p.container_port}/{p.protocol}"
            for p in spec.ports
        ],
        "volumes": [_canonical_mount(m) for m in spec.mounts],
        "networks": list(spec.networks),
        "healthcheck": _canonical_check(check) if check is not None else None,
        # `on-failure:3` as Compose writes it; a policy without a limit as it always was.
        "restart": restart_text(spec.restart, spec.restart_tries),
        "cpus": spec.cpus,
        "memory": spec.memory,
        "user": spec.user,
        "working_dir": spec.working_dir,
        "stop_grace_period": spec.stop_grace_period,
    }
    # Only the options the file gives: the hash of a container without them is as it was.
    canonical.update(spec.runtime.written())
    if spec.network_mode:  # only then, as network_aliases below
        canonical["network_mode"] = spec.network_mode
    if spec.network_aliases:  # only then: the hash of a container without them is as it was
        # Sorted: the order aliases are written in changes nothing the engine does.
        canonical["network_aliases"] = {
            k: sorted(v) for k, v in sorted(spec.network_aliases.items())
        }
    if spec.build is not None and spec.build.digest:
        canonical["build"] = spec.build.digest
    for kind in FileKind:
        files = [f for f in spec.files if f.kind is kind]
        if files:
            canonical[f"{kind.value}s"] = {
                f.target: {
                    "source": f.source,
                    "mode": f"{f.mode:04o}",
                    "owner": f"{f.uid}:{f.gid}",
                    "content": f.digest(),
                }
                for f in files
            }
    return canonical


def _canonical_check(check: Healthcheck) -> dict[str, Any]:
    # A field left out is absent, not the engine's default: it is the image's HEALTHCHECK's
    # when the image has one, so writing `interval: 30s` there changes what the engine runs.
    return {k: v for k, v in asdict(check).items() if v is not None}


def _canonical_mount(mount: MountSpec) -> str:
    # Written as before for the mounts and options stackr always had, so adding the others
    # changed no container's hash.
    chosen = [mount_options(mount.read_only, mount.relabel, mount.no_copy)]
    chosen += [] if mount.create_host_path else ["nocreate"]
    chosen += [] if mount.size is None else [f"size={_size_text(mount.size)}"]
    chosen += [] if mount.mode is None else [f"mode={mount.mode:o}"]
    options = ",".join(o for o in chosen if o)
    # "(tmpfs)" is no volume's name and no host path: a tmpfs cannot read as a volume.
    source = "(tmpfs):" if mount.kind is MountKind.TMPFS else ""
    source += f"{mount.source}:" if mount.source else ""
    return f"{source}{mount.target}{':' + options if options else ''}"


def _size_text(size: int) -> str:
    """`64m` for 67108864: as a person writes a size, where it is a whole number of units."""
    for unit, factor in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)
