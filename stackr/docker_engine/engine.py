"""DockerEngine: the Engine protocol over the Docker SDK's low-level `APIClient`.

Observing a stack is exactly three filtered list calls (containers, networks, volumes) plus one
image list, with no per-container inspect; `docker_json` reads their replies. Every SDK or
transport failure becomes an `EngineError` in `errors.translate`, once, with a hint.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import docker
import docker.context
import docker.errors
import requests.exceptions

from stackr.archive import files_archive
from stackr.desired import ContainerSpec, NetworkSpec, VolumeSpec
from stackr.docker_engine import specs
from stackr.docker_engine.client import connect
from stackr.docker_engine.errors import (
    call,
    explain,
    is_paused,
    port_holders,
    port_taken,
    translate,
)
from stackr.docker_engine.images import (
    context_files,
    ensure_image,
    image_id,
    observed_images,
    pull_image,
)
from stackr.docker_engine.logs import follow as follow_logs
from stackr.docker_engine.logs import latest_run_lines, log_lines
from stackr.docker_json import observed_state, start_times
from stackr.engine import ContainerStatus, EngineFacts
from stackr.errors import EngineError
from stackr.observed import LABEL_PROFILE, LABEL_STACK, ObservedState, owner_filters
from stackr.spec.model import Build

PORT_RELEASE_WAIT = 3.0  # seconds a start retries while its host port is still being released


def _quiet(_: str) -> None:
    return None


class DockerEngine:
    """An Engine talking to one Docker daemon (DOCKER_HOST or the local socket)."""

    def __init__(self, *, target: str | None = None, pool_size: int = 16) -> None:
        """`target`: a host URL (`unix://`, `tcp://`, `ssh://`) or a docker context name; by
        default DOCKER_HOST, else the local socket."""
        self._api = connect(target, pool_size=pool_size)

    # -- observing ------------------------------------------------------------------------

    def observe(
        self,
        stack: str,
        profile: str,
        *,
        images: tuple[str, ...] = (),
        external_networks: tuple[str, ...] = (),
        external_volumes: tuple[str, ...] = (),
    ) -> ObservedState:
        filters = {"label": owner_filters(stack, profile)}
        raw_containers = call("list containers", self._api.containers, all=True, filters=filters)
        raw_networks = call("list networks", self._api.networks, filters=filters)
        raw_volumes = call("list volumes", self._api.volumes, filters=filters)
        ids, built = observed_images(self._api, images) if images else ({}, {})
        observed = observed_state(raw_containers, raw_networks, raw_volumes, ids, built)
        if not (external_networks or external_volumes):
            return observed
        return replace(
            observed,
            external_networks=self._external_networks(external_networks),
            external_volumes=self._external_volumes(external_volumes),
        )

    def _external_networks(self, names: tuple[str, ...]) -> dict[str, str]:
        if not names:
            return {}
        # The engine's name filter matches any part of a name: keep the exact ones.
        found = call("list networks", self._api.networks, names=list(names))
        return {n["Name"]: n["Id"] for n in found if n["Name"] in names}

    def _external_volumes(self, names: tuple[str, ...]) -> frozenset[str]:
        if not names:
            return frozenset()
        found = call("list volumes", self._api.volumes, filters={"name": list(names)})
        return frozenset(
            v["Name"] for v in (found or {}).get("Volumes") or [] if v["Name"] in names
        )

    # -- images ---------------------------------------------------------------------------

    def ensure_image(
        self, spec: ContainerSpec, *, build: bool, announce: Callable[[str], None] = _quiet
    ) -> None:
        ensure_image(self._api, spec, build=build, announce=announce)

    def context_files(self, build: Build) -> list[str]:
        return context_files(build)

    def pull_image(self, image: str, *, platform: str | None = None) -> str:
        pull_image(self._api, image, platform)
        found = image_id(self._api, image)
        if found is None:
            raise EngineError(f"image {image} was pulled, but the engine does not list it")
        return found

    def image_id(self, image: str) -> str | None:
        return image_id(self._api, image)

    def facts(self) -> EngineFacts:
        info = call("ask the engine what it has", self._api.info)
        runtimes = info.get("Runtimes") or {}
        return EngineFacts(runtimes=frozenset(runtimes), cpus=int(info.get("NCPU") or 0))

    # -- networks and volumes -------------------------------------------------------------

    def create_network(self, spec: NetworkSpec) -> None:
        try:
            self._api.create_network(
                spec.name,
                driver=spec.driver,
                internal=spec.internal,
                labels=dict(spec.labels),
                check_duplicate=True,
            )
        except docker.errors.APIError as e:
            if e.status_code != 409:  # 409: the name is taken, by a network stackr does not own
                raise translate(e, f"create network {spec.name}", self._api) from None
            raise EngineError(
                f"network {spec.name} already exists and was not made by stackr for this stack",
                hint=f"remove it (`docker network rm {spec.name}`) to let stackr make it",
            ) from None
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as e:
            raise translate(e, f"create network {spec.name}", self._api) from None

    def remove_network(self, name: str) -> None:
        try:
            self._api.remove_network(name)
        except docker.errors.NotFound:
            return
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise translate(e, f"remove network {name}", self._api) from None

    def create_volume(self, spec: VolumeSpec) -> None:
        made = call(
            f"create volume {spec.name}",
            self._api.create_volume,
            spec.name,
            driver=spec.driver,
            driver_opts=dict(spec.driver_opts) or None,
            labels=dict(spec.labels),
        )
        # The engine answers a create of a name it has with the volume it has: one made outside
        # stackr keeps its own labels, so the stack would never find it (and never converge).
        labels = (made or {}).get("Labels") or {}
        if any(
            labels.get(k) != v for k, v in spec.labels.items() if k in (LABEL_STACK, LABEL_PROFILE)
        ):
            raise EngineError(
                f"volume {spec.name} already exists and was not made by stackr for this stack",
                hint=f"its data is kept: remove it (`docker volume rm {spec.name}`) to let stackr "
                "make it, or copy its data out first",
            )

    def remove_volume(self, name: str) -> None:
        try:
            self._api.remove_volume(name)
        except docker.errors.NotFound:
            return
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise translate(e, f"remove volume {name}", self._api) from None

    # -- containers -----------------------------------------------------------------------

    def create_container(self, spec: ContainerSpec) -> None:
        what = f"create container {spec.name}"
        networking = None
        first, others = spec.network_mode, list[str]()
        if not spec.network_mode:
            first, *others = spec.networks
            networking = self._api.create_networking_config(
                {first: self._api.create_endpoint_config(aliases=list(spec.aliases_on(first)))}
            )
        call(
            what,
            self._api.create_container,
            spec.image,
            name=spec.name,
            command=list(spec.command) if spec.command is not None else None,
            entrypoint=list(spec.entrypoint) if spec.entrypoint is not None else None,
            environment=[f"{k}={v}" for k, v in spec.environment.items()],
            labels=dict(spec.labels),
            ports=[
                *((p.container_port, p.protocol) for p in spec.ports),
                *spec.runtime.exposed_ports(),
            ],
            user=spec.user,
            working_dir=spec.working_dir,
            healthcheck=specs.healthcheck(spec),
            stop_timeout=math.ceil(spec.stop_grace_period),
            host_config=self._api.create_host_config(**specs.host_config(spec, first)),
            networking_config=networking,
            **specs.container_options(spec.runtime),
        )
        for network in others:
            call(
                f"connect {spec.name} to {network}",
                self._api.connect_container_to_network,
                spec.name,
                network,
                aliases=list(spec.aliases_on(network)),
            )
        if spec.files:
            self._write_files(spec)

    def _write_files(self, spec: ContainerSpec) -> None:
        try:
            self._api.put_archive(spec.name, "/", files_archive(spec.files))
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            # A container without its files must not be started later: take it away.
            self._api.remove_container(spec.name, force=True)
            raise translate(
                e, f"write secret and config files into {spec.name}", self._api
            ) from None

    def start_container(self, name: str) -> None:
        # dockerd releases a stopped container's host ports a moment after `stop` returns, so a
        # replacement started at once can find its port still "allocated": retry that, briefly.
        deadline = time.monotonic() + PORT_RELEASE_WAIT
        while True:
            try:
                self._api.start(name)
                return
            except docker.errors.APIError as e:
                if is_paused(e):
                    call(f"unpause container {name}", self._api.unpause, name)
                    return
                if not port_taken(e):
                    raise translate(e, f"start container {name}", self._api) from None
                if time.monotonic() > deadline:
                    raise EngineError(
                        f"the engine refused to start container {name}: {explain(e)}",
                        hint=port_holders(self._api, e),
                    ) from None
            except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
                raise translate(e, f"start container {name}", self._api) from None
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
            raise translate(e, f"remove container {name}", self._api) from None
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
            raise translate(e, f"inspect container {name}", self._api) from None
        return {
            m["Destination"]: m["Name"]
            for m in mounts
            if m.get("Type") == "volume" and m.get("Destination") in targets and m.get("Name")
        }

    def start_times(self, names: tuple[str, ...]) -> dict[str, tuple[float, float]]:
        times: dict[str, tuple[float, float]] = {}
        for name in names:
            try:
                times[name] = start_times(self._api.inspect_container(name))
            except docker.errors.NotFound:
                continue
            except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
                raise translate(e, f"inspect container {name}", self._api) from None
        return times

    def stop_container(self, name: str, *, timeout: float) -> None:
        call(f"stop container {name}", self._api.stop, name, timeout=math.ceil(timeout))

    def unpause_container(self, name: str) -> None:
        try:
            self._api.unpause(name)
        except docker.errors.NotFound:
            return  # gone meanwhile: nothing of it is frozen
        except docker.errors.APIError as e:
            # Unpaused (or stopped) meanwhile: it no longer holds anything frozen.
            said = explain(e)
            if "is not paused" not in said and "stopped container" not in said:
                raise translate(e, f"unpause container {name}", self._api) from None
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise translate(e, f"unpause container {name}", self._api) from None

    def rename_container(self, name: str, new_name: str) -> None:
        call(f"rename container {name} to {new_name}", self._api.rename, name, new_name)

    def connect_container(self, name: str, network: str, *, aliases: tuple[str, ...]) -> None:
        call(
            f"connect {name} to {network}",
            self._api.connect_container_to_network,
            name,
            network,
            aliases=list(aliases),
        )

    def disconnect_container(self, name: str, network: str) -> None:
        try:
            self._api.disconnect_container_from_network(name, network)
        except docker.errors.APIError as e:
            # Already off it (disconnected outside stackr, say): that is what was asked.
            if "is not connected" not in explain(e):
                raise translate(e, f"disconnect {name} from {network}", self._api) from None
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise translate(e, f"disconnect {name} from {network}", self._api) from None

    def container_status(self, name: str) -> ContainerStatus:
        found = call(f"inspect container {name}", self._api.inspect_container, name)
        state = found["State"]
        settings = found.get("NetworkSettings") or {}
        checks = state.get("Health") or {}
        probes = checks.get("Log") or [{}]
        return ContainerStatus(
            state=state["Status"],
            health=checks.get("Status", ""),
            exit_code=state.get("ExitCode"),
            probe=str(probes[-1].get("Output") or "").strip(),
            restarts=int(found.get("RestartCount") or 0),
            probed=str(probes[-1].get("End") or ""),
            restart_limit=int(
                ((found.get("HostConfig") or {}).get("RestartPolicy") or {}).get(
                    "MaximumRetryCount"
                )
                or 0
            ),
            addresses=tuple(
                (network, str((endpoint or {}).get("IPAddress") or ""))
                for network, endpoint in sorted((settings.get("Networks") or {}).items())
            ),
            # Exposed-only ports are listed too, without bindings.
            publishes=any((settings.get("Ports") or {}).values()),
        )

    # -- logs -----------------------------------------------------------------------------

    def last_log_lines(self, name: str, count: int) -> list[str]:
        try:
            return latest_run_lines(self._api, name, count)
        except EngineError as error:
            # Told beside a failure: what failed must still be said (`logging: {driver: none}`).
            return [f"(its output cannot be read back: {error})"]

    def logs(
        self, names: list[str], *, follow: bool, tail: int | None
    ) -> Iterator[tuple[str, str]]:
        if follow:
            yield from follow_logs(self._api, names, tail)
            return
        for name in names:
            for line in log_lines(self._api, name, tail):
                yield name, line
