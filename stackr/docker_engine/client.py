"""Connecting to a Docker daemon: DOCKER_HOST (or a profile's engine: a URL or a docker
context), the pinned API version, and one connection pool per Unix socket.
"""

from __future__ import annotations

import os
from typing import Any

import docker
import docker.context
import docker.errors
from docker.transport import UnixHTTPAdapter

from stackr.docker_engine.errors import translate
from stackr.errors import EngineError

# 1.41 is dockerd 20.10's API: pinning it spares a version round trip on every command, and
# newer engines still serve it.
API_VERSION = "1.41"


def connect(target: str | None, *, pool_size: int) -> docker.APIClient:
    """A client of `target`: a host URL (`unix://`, `tcp://`, `ssh://`) or a docker context
    name; by default DOCKER_HOST, else the local socket. Nothing is asked of the engine yet."""
    kwargs: dict[str, Any] = docker.utils.kwargs_from_env()
    if target:
        kwargs.update(_target_kwargs(target))
    if str(kwargs.get("base_url", "")).startswith("ssh://"):
        # Through the `ssh` program, as the docker CLI goes: it reads ~/.ssh/config and the
        # agent (the SDK still needs paramiko installed for its ssh transport).
        kwargs["use_ssh_client"] = True
    try:
        api = docker.APIClient(
            version=os.environ.get("DOCKER_API_VERSION", API_VERSION),
            max_pool_size=pool_size,
            **kwargs,
        )
    except docker.errors.DockerException as error:
        raise translate(error, "connect", where=kwargs.get("base_url")) from None
    if api.base_url.startswith("http+docker://"):
        # A unix socket, named pipe or ssh connection takes no HTTP proxy and no .netrc:
        # spare requests looking for them in the environment and at home on every call.
        api.trust_env = False
    _share_socket_pool(api)
    return api


class _SocketPoolAdapter(UnixHTTPAdapter):  # type: ignore[misc]
    """The SDK's Unix-socket adapter with one connection pool for the socket.

    The SDK keys its pools by request URL, and every container has URLs of its own: each call
    on a new path opened a new connection (and evicted an older pool), so connections were
    never reused. One pool keeps them alive from call to call, which spares the engine and
    stackr a connection setup per call."""

    def get_connection(self, url: str | bytes, proxies: Any = None) -> Any:
        return super().get_connection(f"http+unix://{self.socket_path}", proxies)


def _share_socket_pool(api: docker.APIClient) -> None:
    adapter = api.adapters.get("http+docker://")
    if type(adapter) is UnixHTTPAdapter:
        shared = _SocketPoolAdapter(
            adapter.socket_path, adapter.timeout, max_pool_size=adapter.max_pool_size
        )
        api.mount("http+docker://", shared)


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
