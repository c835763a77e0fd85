"""The Engine protocol over the Docker SDK: the ONLY module that imports `docker`.

It speaks the SDK's low-level `APIClient`, so observing a stack is exactly three filtered list
calls (containers, networks, volumes) plus one image list, with no per-container inspect; their
replies are read by `docker_json`. Every SDK or transport failure becomes an `EngineError` in
`_translate`, once, with a hint.
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import docker
import docker.context
import docker.errors
import docker.utils.build
import requests.exceptions
from docker.types import Healthcheck as SdkHealthcheck
from docker.types import Mount as SdkMount

from stackr.archive import files_archive
from stackr.desired import ContainerSpec, NetworkSpec, VolumeSpec
from stackr.docker_json import full_ref, observed_state
from stackr.engine import ContainerStatus
from stackr.errors import EngineError
from stackr.observed import (
    LABEL_BUILD_DIGEST,
    ObservedState,
    owner_filters,
)
from stackr.spec.model import Build, MountKind

T = TypeVar("T")
# 1.41 is dockerd 20.10's API: pinning it spares a version round trip on every command, and
# newer engines still serve it.
API_VERSION = "1.41"
NANO = 1_000_000_000
PORT_RELEASE_WAIT = 3.0  # seconds a start retries while its host port is still being released
ENGINE_HINT = (
    "start the Docker engine (on Debian as root: scripts/dev engine), "
    "or point DOCKER_HOST at a running one"
)


def _translate(error: Exception, what: str) -> EngineError:
    """The one place an SDK or transport failure becomes a StackrError."""
    if isinstance(error, requests.exceptions.ConnectionError | FileNotFoundError):
        return EngineError(
            f"cannot reach the Docker engine while trying to {what}", hint=ENGINE_HINT
        )
    if isinstance(error, docker.errors.ImageNotFound):
        return EngineError(f"image not found while trying to {what}: {_explain(error)}")
    if isinstance(error, docker.errors.APIError):
        return EngineError(
            f"the engine refused to {what}: {_explain(error)}", hint=_hint_for(error)
        )
    if isinstance(error, docker.errors.DockerException):
        return EngineError(f"Docker client error while trying to {what}: {error}", hint=ENGINE_HINT)
    return EngineError(f"failed to {what}: {error}")


def _explain(error: docker.errors.APIError) -> str:
    return str(error.explanation or error)


def _port_taken(error: docker.errors.APIError) -> bool:
    # dockerd says so only in words (an HTTP 500 with this text), in every version since 1.x.
    text = _explain(error).lower()
    return "port is already allocated" in text or "address already in use" in text


def _hint_for(error: docker.errors.APIError) -> str:
    text = _explain(error).lower()
    if _port_taken(error):
        return "another process or container holds that host port: free it or change 'ports'"
    if "active endpoints" in text:
        return "the engine still lists endpoints on it; restarting dockerd clears them"
    return ""


class DockerEngine:
    """An Engine talking to one Docker daemon (DOCKER_HOST or the local socket)."""

    def __init__(self, *, target: str | None = None, pool_size: int = 16) -> None:
        """`target`: a host URL (`unix://`, `tcp://`, `ssh://`) or a docker context name; by
        default DOCKER_HOST, else the local socket."""
        kwargs: dict[str, Any] = docker.utils.kwargs_from_env()
        if target:
            kwargs.update(_target_kwargs(target))
        try:
            self._api = docker.APIClient(
                version=os.environ.get("DOCKER_API_VERSION", API_VERSION),
                max_pool_size=pool_size,
                **kwargs,
            )
        except docker.errors.DockerException as error:
            raise _translate(error, "connect") from None

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as e:
            raise _translate(e, what) from None

    # -- observing ------------------------------------------------------------------------

    def observe(self, stack: str, profile: str, *, images: tuple[str, ...] = ()) -> ObservedState:
        filters = {"label": owner_filters(stack, profile)}
        raw_containers = self._call(
            "list containers", self._api.containers, all=True, filters=filters
        )
        raw_networks = self._call("list networks", self._api.networks, filters=filters)
        raw_volumes = self._call("list volumes", self._api.volumes, filters=filters)
        image_ids = self._image_ids(images) if images else {}
        return observed_state(raw_containers, raw_networks, raw_volumes, image_ids)

    def _image_ids(self, refs: tuple[str, ...]) -> dict[str, str]:
        wanted = {full_ref(ref): ref for ref in refs}
        found: dict[str, str] = {}
        for image in self._call("list images", self._api.images):
            for tag in image.get("RepoTags") or []:
                if tag in wanted:
                    found[wanted[tag]] = image["Id"]
        return found

    # -- images ---------------------------------------------------------------------------

    def ensure_image(self, spec: ContainerSpec, *, build: bool) -> None:
        if build and spec.build is not None:
            self._build(spec)
            return
        try:
            image = self._api.inspect_image(spec.image)
        except docker.errors.ImageNotFound:
            image = None
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise _translate(e, f"inspect image {spec.image}") from None
        if spec.build is not None:
            labels = ((image or {}).get("Config") or {}).get("Labels") or {}
            digest = spec.build.digest
            if image is None or (digest and labels.get(LABEL_BUILD_DIGEST) != digest):
                self._build(spec)
        elif image is None:
            self._pull(spec.image)

    def context_files(self, build: Build) -> list[str]:
        ignore = os.path.join(build.context, ".dockerignore")
        patterns: list[str] = []
        if os.path.exists(ignore):
            with open(ignore, encoding="utf-8", errors="replace") as handle:
                lines = (line.strip() for line in handle.read().splitlines())
                patterns = [line for line in lines if line and not line.startswith("#")]
        try:
            found = docker.utils.build.exclude_paths(build.context, patterns, build.dockerfile)
        except OSError as error:
            raise EngineError(
                f"cannot read build context {build.context}: {error.strerror}",
                hint="check that the directory exists and is readable",
            ) from None
        return sorted(p for p in found if not os.path.isdir(os.path.join(build.context, p)))

    def _build(self, spec: ContainerSpec) -> None:
        assert spec.build is not None
        what = f"build image {spec.image} for service {spec.service}"
        stream = self._call(
            what,
            self._api.build,
            path=spec.build.context,
            dockerfile=spec.build.dockerfile,
            tag=spec.image,
            buildargs=dict(spec.build.args),
            labels={LABEL_BUILD_DIGEST: spec.build.digest} if spec.build.digest else None,
            rm=True,
            decode=True,
        )
        tail: list[str] = []
        for chunk in self._iterate(what, stream):
            if "error" in chunk:
                raise EngineError(
                    f"building {spec.image} failed: {chunk['error'].strip()}",
                    hint="last build output:\n" + "".join(tail[-5:]),
                )
            tail.append(str(chunk.get("stream", "")))

    def _pull(self, image: str) -> None:
        try:
            self._api.pull(image)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise EngineError(
                f"image {image} is not on this engine and could not be pulled: {_reason(e)}",
                hint="build it (give the service a 'build:'), or load it into the engine first "
                "(docker load / docker pull)",
            ) from None

    def _iterate(self, what: str, stream: Any) -> Iterator[dict[str, Any]]:
        try:
            yield from stream
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise _translate(e, what) from None

    # -- networks and volumes -------------------------------------------------------------

    def create_network(self, spec: NetworkSpec) -> None:
        self._call(
            f"create network {spec.name}",
            self._api.create_network,
            spec.name,
            driver=spec.driver,
            internal=spec.internal,
            labels=dict(spec.labels),
            check_duplicate=True,
        )

    def remove_network(self, name: str) -> None:
        try:
            self._api.remove_network(name)
        except docker.errors.NotFound:
            return
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise _translate(e, f"remove network {name}") from None

    def create_volume(self, spec: VolumeSpec) -> None:
        self._call(
            f"create volume {spec.name}",
            self._api.create_volume,
            spec.name,
            driver=spec.driver,
            driver_opts=dict(spec.driver_opts) or None,
            labels=dict(spec.labels),
        )

    def remove_volume(self, name: str) -> None:
        try:
            self._api.remove_volume(name)
        except docker.errors.NotFound:
            return
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise _translate(e, f"remove volume {name}") from None

    # -- containers -----------------------------------------------------------------------

    def create_container(self, spec: ContainerSpec) -> None:
        what = f"create container {spec.name}"
        first, *others = spec.networks
        networking = self._api.create_networking_config(
            {first: self._api.create_endpoint_config(aliases=list(spec.aliases))}
        )
        self._call(
            what,
            self._api.create_container,
            spec.image,
            name=spec.name,
            command=list(spec.command) if spec.command is not None else None,
            entrypoint=list(spec.entrypoint) if spec.entrypoint is not None else None,
            environment=[f"{k}={v}" for k, v in spec.environment.items()],
            labels=dict(spec.labels),
            ports=[(p.container_port, p.protocol) for p in spec.ports],
            user=spec.user,
            working_dir=spec.working_dir,
            healthcheck=_healthcheck(spec),
            stop_timeout=math.ceil(spec.stop_grace_period),
            host_config=self._host_config(spec, first),
            networking_config=networking,
        )
        for network in others:
            self._call(
                f"connect {spec.name} to {network}",
                self._api.connect_container_to_network,
                spec.name,
                network,
                aliases=list(spec.aliases),
            )
        if spec.files:
            self._write_files(spec)

    def _write_files(self, spec: ContainerSpec) -> None:
        try:
            self._api.put_archive(spec.name, "/", files_archive(spec.files))
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            # A container without its files must not be started later: take it away.
            self._api.remove_container(spec.name, force=True)
            raise _translate(e, f"write secret and config files into {spec.name}") from None

    def _host_config(self, spec: ContainerSpec, network: str) -> Any:
        bindings: dict[str, list[tuple[str, str]]] = {}
        for port in spec.ports:
            host = "" if port.host_port is None else str(port.host_port)
            bindings.setdefault(f"{port.container_port}/{port.protocol}", []).append(
                (port.host_ip, host)
            )
        restart = None
        if spec.restart != "no":
            restart = {"Name": spec.restart, "MaximumRetryCount": 0}
        return self._api.create_host_config(
            port_bindings=bindings or None,
            mounts=[_mount(m.kind, m.source, m.target, m.read_only) for m in spec.mounts],
            restart_policy=restart,
            nano_cpus=int(spec.cpus * NANO) if spec.cpus else None,
            mem_limit=spec.memory,
            network_mode=network,
        )

    def start_container(self, name: str) -> None:
        # dockerd releases a stopped container's host ports a moment after `stop` returns, so a
        # replacement started at once can find its port still "allocated": retry that, briefly.
        deadline = time.monotonic() + PORT_RELEASE_WAIT
        while True:
            try:
                self._api.start(name)
                return
            except docker.errors.APIError as e:
                if not _port_taken(e) or time.monotonic() > deadline:
                    raise _translate(e, f"start container {name}") from None
            except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
                raise _translate(e, f"start container {name}") from None
            time.sleep(0.2)

    def remove_container(
        self,
        name: str,
        *,
        timeout: float,
        keep_volumes: bool = False,
        volumes: tuple[str, ...] = (),
    ) -> None:
        try:
            self._api.stop(name, timeout=math.ceil(timeout))
            self._api.remove_container(name, v=not keep_volumes, force=True)
        except docker.errors.NotFound:
            return
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise _translate(e, f"remove container {name}") from None
        for volume in () if keep_volumes else volumes:
            self.remove_volume(volume)

    def anonymous_volumes(self, name: str, targets: tuple[str, ...]) -> dict[str, str]:
        if not targets:
            return {}
        try:
            mounts = self._api.inspect_container(name).get("Mounts") or []
        except docker.errors.NotFound:
            return {}
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise _translate(e, f"inspect container {name}") from None
        return {
            m["Destination"]: m["Name"]
            for m in mounts
            if m.get("Type") == "volume" and m.get("Destination") in targets and m.get("Name")
        }

    def stop_container(self, name: str, *, timeout: float) -> None:
        self._call(f"stop container {name}", self._api.stop, name, timeout=math.ceil(timeout))

    def rename_container(self, name: str, new_name: str) -> None:
        self._call(f"rename container {name} to {new_name}", self._api.rename, name, new_name)

    def connect_container(self, name: str, network: str, *, aliases: tuple[str, ...]) -> None:
        self._call(
            f"connect {name} to {network}",
            self._api.connect_container_to_network,
            name,
            network,
            aliases=list(aliases),
        )

    def disconnect_container(self, name: str, network: str) -> None:
        self._call(
            f"disconnect {name} from {network}",
            self._api.disconnect_container_from_network,
            name,
            network,
        )

    def container_status(self, name: str) -> ContainerStatus:
        state = self._call(f"inspect container {name}", self._api.inspect_container, name)["State"]
        health = (state.get("Health") or {}).get("Status", "")
        return ContainerStatus(
            state=state["Status"], health=health, exit_code=state.get("ExitCode")
        )

    # -- logs -----------------------------------------------------------------------------

    def last_log_lines(self, name: str, count: int) -> list[str]:
        raw: bytes = self._call(f"read logs of {name}", self._api.logs, name, tail=count)
        return raw.decode("utf-8", "replace").splitlines()

    def logs(
        self, names: list[str], *, follow: bool, tail: int | None
    ) -> Iterator[tuple[str, str]]:
        if not follow:
            for name in names:
                for line in self.last_log_lines(name, tail) if tail else self._all_lines(name):
                    yield name, line
            return
        yield from self._follow(names, tail)

    def _all_lines(self, name: str) -> list[str]:
        raw: bytes = self._call(f"read logs of {name}", self._api.logs, name)
        return raw.decode("utf-8", "replace").splitlines()

    def _follow(self, names: list[str], tail: int | None) -> Iterator[tuple[str, str]]:
        lines: queue.Queue[tuple[str, str] | None] = queue.Queue()

        def pump(name: str) -> None:
            try:
                stream = self._api.logs(name, stream=True, follow=True, tail=tail or "all")
                buffer = b""
                for chunk in stream:
                    buffer += chunk
                    *complete, buffer = buffer.split(b"\n")
                    for line in complete:
                        lines.put((name, line.decode("utf-8", "replace")))
            except (docker.errors.DockerException, requests.exceptions.RequestException):
                pass
            finally:
                lines.put(None)

        for name in names:
            threading.Thread(target=pump, args=(name,), daemon=True).start()
        open_streams = len(names)
        while open_streams:
            item = lines.get()
            if item is None:
                open_streams -= 1
            else:
                yield item


def _target_kwargs(target: str) -> dict[str, Any]:
    if "://" in target:
        return {"base_url": target}
    try:
        context = docker.context.ContextAPI.get_context(target)
    except docker.errors.DockerException as error:
        raise EngineError(f"cannot read docker context '{target}': {error}") from None
    if context is None:
        raise EngineError(
            f"no docker context named '{target}'",
            hint="list them with `docker context ls`, or give the profile's engine as a URL",
        )
    kwargs: dict[str, Any] = {"base_url": context.Host}
    if context.TLSConfig:
        kwargs["tls"] = context.TLSConfig
    return kwargs


def _reason(error: Exception) -> str:
    if isinstance(error, docker.errors.APIError):
        return _explain(error)
    return str(error)


def _healthcheck(spec: ContainerSpec) -> SdkHealthcheck | None:
    check = spec.healthcheck
    if check is None:
        return None
    return SdkHealthcheck(
        test=list(check.test),
        interval=int(check.interval * NANO),
        timeout=int(check.timeout * NANO),
        retries=check.retries,
        start_period=int(check.start_period * NANO),
    )


def _mount(kind: MountKind, source: str, target: str, read_only: bool) -> SdkMount:
    if kind is MountKind.BIND:
        return SdkMount(target=target, source=source, type="bind", read_only=read_only)
    return SdkMount(target=target, source=source or None, type="volume", read_only=read_only)
