"""The effective stack in its normalised, canonical form: what `stackr config` prints.

`environment` and `labels` are mappings, defaults are filled in (but for a healthcheck's, which
are the image's), ports and volumes have one
canonical shape, durations are seconds written as `Ns`, sizes are bytes. What `config` prints
is itself a valid stack file that renders to the same stack: a `$` in a value is written `$$`,
and the profile it was rendered for is its one profile (with that profile's engine, if any).
Secret values are the exception: they are never printed, so they show as `***`. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stackr.sensitive import MASK, hide, is_secret
from stackr.spec.model import (
    FileGrant,
    FileSource,
    Healthcheck,
    Mount,
    MountKind,
    PullPolicy,
    Service,
    Stack,
    restart_text,
)
from stackr.spec.runopts import Runtime
from stackr.spec.values import duration_text


def config_document(stack: Stack) -> dict[str, Any]:
    """`stack` as a stack file that renders to it again: `render_stack` with each `$` in a
    value written `$$`, and one profile, the one it was rendered for, with its engine if it has
    one: reading the file for another profile is refused instead of quietly taking this one's
    settings."""
    rendered = render_stack(stack)
    profile = {"engine": stack.engine} if stack.engine is not None else {}
    document: dict[str, Any] = _escaped(rendered)
    return document | {"profiles": {stack.profile: profile}}


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    return value


class _Mask:
    """Hides secret values as a plan does (by name, a URL password, a secret variable's value),
    or, made with `masked=False`, shows them."""

    def __init__(self, sensitive: frozenset[str] | None) -> None:
        self.sensitive = sensitive

    def text(self, text: str) -> str:
        return text if self.sensitive is None else hide(text, self.sensitive)

    def pairs(self, pairs: Mapping[str, str]) -> dict[str, str]:
        if self.sensitive is None:
            return dict(sorted(pairs.items()))
        hunted = self.sensitive
        return {k: MASK if is_secret(k, v, hunted) else v for k, v in sorted(pairs.items())}


def render_stack(stack: Stack, *, masked: bool = True) -> dict[str, Any]:
    """`stack` as plain data, its values as the containers get them, keys in a stable order.
    Secrets and configs appear only when the stack has some, and show where their content
    comes from, never a secret's value (nor a secret variable's value inside a config's inline
    content)."""
    mask = _Mask(stack.sensitive if masked else None)
    out = {
        "name": stack.name,
        "services": {name: _service(s, mask) for name, s in sorted(stack.services.items())},
        "volumes": {
            name: {"external": True, "name": v.external}
            if v.external
            else {
                "driver": v.driver,
                "driver_opts": mask.pairs(v.driver_opts),
                "labels": dict(v.labels),
            }
            for name, v in sorted(stack.volumes.items())
        },
        "networks": {
            name: {"external": True, "name": n.external}
            if n.external
            else {"driver": n.driver, "internal": n.internal, "labels": dict(n.labels)}
            for name, n in sorted(stack.networks.items())
        },
    }
    for section, sources in (("secrets", stack.secrets), ("configs", stack.configs)):
        if sources:
            out[section] = {name: _source(s, mask) for name, s in sorted(sources.items())}
    return out


def _service(service: Service, mask: _Mask) -> dict[str, Any]:
    out: dict[str, Any] = {"image": service.image}
    if service.build is not None:
        out["build"] = {
            "context": service.build.context,
            "dockerfile": service.build.dockerfile,
            "args": mask.pairs(service.build.args),
        }
        if service.build.target:
            out["build"]["target"] = service.build.target
    out |= _pull_policy(service)
    if service.entrypoint is not None:
        out["entrypoint"] = [mask.text(arg) for arg in service.entrypoint]
    if service.command is not None:
        out["command"] = [mask.text(arg) for arg in service.command]
    out |= {
        "environment": mask.pairs(service.environment),
        "ports": [rule.render() for rule in service.ports],
        "volumes": [_mount(m) for m in service.mounts],
        # A network mode replaces the networks: the file may not give both.
        **(
            {"network_mode": service.network_mode}
            if service.network_mode
            else {"networks": _networks(service)}
        ),
        "depends_on": {
            d.service: {"condition": d.condition.value, **({"restart": True} if d.restart else {})}
            for d in service.depends_on
        },
        "replicas": service.replicas,
        "restart": restart_text(service.restart.value, service.restart_tries),
        "labels": mask.pairs(service.labels),
        "resources": _resources(service),
        "stop_grace_period": _seconds(service.stop_grace_period),
        "update": {
            "parallelism": service.update.parallelism,
            "order": service.update.order.value,
            "delay": _seconds(service.update.delay),
            "failure_action": service.update.failure_action.value,
            "monitor": _seconds(service.update.monitor),
            "drain": _seconds(service.update.drain),
        },
    }
    for section, grants in (("secrets", service.secrets), ("configs", service.configs)):
        if grants:
            out[section] = [_grant(g) for g in grants]
    if service.healthcheck is not None:
        out["healthcheck"] = _healthcheck(service.healthcheck, mask)
    if service.user is not None:
        out["user"] = service.user
    if service.working_dir is not None:
        out["working_dir"] = service.working_dir
    return out | _runtime(service.runtime, mask)


def _runtime(runtime: Runtime, mask: _Mask) -> dict[str, Any]:
    # In Compose's forms, each only where the file gives it.
    out = runtime.written()
    if runtime.tmpfs:
        out["tmpfs"] = [f"{path}:{opts}" if opts else path for path, opts in runtime.tmpfs.items()]
    if runtime.ulimits:
        out["ulimits"] = {
            name: soft if soft == hard else {"soft": soft, "hard": hard}
            for name, (soft, hard) in runtime.ulimits.items()
        }
    if runtime.logging is not None:
        logging: dict[str, Any] = (
            {"driver": runtime.logging.driver} if runtime.logging.driver else {}
        )
        if runtime.logging.options:
            logging["options"] = mask.pairs(runtime.logging.options)
        out["logging"] = logging
    return out


def _resources(service: Service) -> dict[str, Any]:
    limits = {"cpus": service.resources.cpus, "memory": service.resources.memory}
    return {k: v for k, v in limits.items() if v is not None}


def _source(source: FileSource, mask: _Mask) -> dict[str, str]:
    if source.file is not None:
        return {"file": source.file}
    if source.environment is not None:
        return {"environment": source.environment}
    # A config written in the file, interpolated: a secret variable's value in it stays hidden.
    return {"content": mask.text(source.content or "")}


def _grant(grant: FileGrant) -> dict[str, str]:
    return {
        "source": grant.source,
        "target": grant.target,
        "mode": f"{grant.mode:04o}",
        "uid": grant.uid,
        "gid": grant.gid,
    }


def _mount(mount: Mount) -> str | dict[str, Any]:
    if mount.long_only():
        return _long_mount(mount)
    mode = f":{mount.options()}" if mount.options() else ""
    if mount.kind is MountKind.ANONYMOUS:
        return f"{mount.target}{mode}"
    return f"{mount.source}:{mount.target}{mode}"


def _long_mount(mount: Mount) -> dict[str, Any]:
    kinds = {MountKind.BIND: "bind", MountKind.TMPFS: "tmpfs"}
    out: dict[str, Any] = {"type": kinds.get(mount.kind, "volume")}
    out |= {"source": mount.source} if mount.source else {}
    out |= {"target": mount.target, "read_only": mount.read_only}
    bind: dict[str, Any] = {"selinux": mount.relabel} if mount.relabel else {}
    bind |= {} if mount.create_host_path else {"create_host_path": False}
    out |= {"bind": bind} if bind else {}
    out |= {"volume": {"nocopy": True}} if mount.no_copy else {}
    tmpfs: dict[str, Any] = {} if mount.size is None else {"size": mount.size}
    tmpfs |= {} if mount.mode is None else {"mode": f"{mount.mode:o}"}
    out |= {"tmpfs": tmpfs} if tmpfs else {}
    return out


def _networks(service: Service) -> list[str] | dict[str, Any]:
    # A list unless some network gives its replicas more names: then the mapping form.
    if not service.network_aliases:
        return list(service.networks)
    return {
        name: {"aliases": list(service.network_aliases[name])}
        if name in service.network_aliases
        else None
        for name in service.networks
    }


def _healthcheck(check: Healthcheck, mask: _Mask) -> dict[str, Any]:
    # What the file leaves out is the image's: shown as left out (an empty `test` could not be
    # read back either).
    given = {
        "test": [mask.text(arg) for arg in check.test] if check.test else None,
        "interval": None if check.interval is None else _seconds(check.interval),
        "timeout": None if check.timeout is None else _seconds(check.timeout),
        "retries": check.retries,
        "start_period": None if check.start_period is None else _seconds(check.start_period),
    }
    written = {k: v for k, v in given.items() if v is not None}
    # Nothing set (`disable: false`): an empty mapping would read back as no healthcheck.
    return written or {"disable": False}


def _pull_policy(service: Service) -> dict[str, str]:
    policy = service.pull_policy
    if policy is PullPolicy.MISSING:
        return {}
    if policy is not PullPolicy.REFRESH:
        return {"pull_policy": policy.value}
    named = {86400.0: "daily", 7 * 86400.0: "weekly"}
    return {"pull_policy": named.get(service.pull_every) or f"every_{_seconds(service.pull_every)}"}


def _seconds(value: float) -> str:
    return duration_text(value)
