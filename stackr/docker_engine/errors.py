"""Docker SDK and transport failures, made `EngineError`s with a hint: the one place it happens."""

from __future__ import annotations

import errno
import re
from collections.abc import Callable
from typing import Any, TypeVar

import docker.errors
import requests.exceptions

from stackr.errors import EngineError

T = TypeVar("T")
ENGINE_HINT = (
    "start the Docker engine (`sudo systemctl start docker`; in a checkout of stackr, "
    "`scripts/dev engine`), or point DOCKER_HOST at a running one"
)
ADDRESS_HINT = (
    "check DOCKER_HOST (or the profile's engine:): unix:///path/to/docker.sock, "
    "tcp://host:2376, ssh://user@host, or a docker context's name"
)
SOCKET_HINT = (
    "add your user to the docker group (`sudo usermod -aG docker $USER`, then log in again), "
    "or run stackr as a user that may use the socket"
)

LOCAL = "unix:///var/run/docker.sock"
REMOTE_HINT = (
    "check that the engine is running and reachable from here, or point DOCKER_HOST (or the "
    "profile's engine:) at another one"
)


def call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)`, a method of the SDK's APIClient, any SDK or transport failure
    raised as an EngineError about `what` the call was trying to do."""
    try:
        return fn(*args, **kwargs)
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as e:
        raise translate(e, what, getattr(fn, "__self__", None)) from None


def translate(
    error: Exception, what: str, api: Any = None, *, where: str | None = None
) -> EngineError:
    """The one place an SDK or transport failure becomes a StackrError; `api`, the client
    that failed (or `where`, before there is one), names the engine a failed connection was
    for."""
    where = address(api) if api is not None else where or LOCAL
    if isinstance(error, requests.exceptions.ConnectionError) and _denied(error):
        return EngineError(
            f"permission denied on the Docker engine's socket {where} while trying to {what}",
            hint=SOCKET_HINT,
        )
    if isinstance(error, requests.exceptions.Timeout):
        return EngineError(
            f"the Docker engine at {where} did not answer in time while trying to {what}",
            hint="check that it is a Docker engine and not overloaded; " + ADDRESS_HINT,
        )
    if isinstance(error, requests.exceptions.ConnectionError | FileNotFoundError):
        hint = ENGINE_HINT if where == LOCAL else REMOTE_HINT
        return EngineError(
            f"cannot reach the Docker engine at {where} while trying to {what}", hint=hint
        )
    if isinstance(error, docker.errors.APIError) and _not_docker(error):
        return EngineError(
            f"{where} answered, but not as a Docker engine (HTTP {error.status_code}) while "
            f"trying to {what}",
            hint=ADDRESS_HINT,
        )
    if isinstance(error, docker.errors.ImageNotFound):
        return EngineError(f"image not found while trying to {what}: {explain(error)}")
    if isinstance(error, docker.errors.APIError):
        return EngineError(f"the engine refused to {what}: {explain(error)}", hint=hint_for(error))
    if isinstance(error, docker.errors.DockerException) and "paramiko" in str(error):
        return EngineError(
            "an ssh:// engine needs the paramiko package, which is not installed",
            hint="install stackr with its ssh extra: pip install 'stackr[ssh]'",
        )
    if isinstance(error, docker.errors.DockerException):
        hint = ADDRESS_HINT if what == "connect" else ENGINE_HINT
        return EngineError(f"Docker client error while trying to {what}: {error}", hint=hint)
    return EngineError(f"failed to {what}: {error}")


def _denied(error: BaseException) -> bool:
    """Whether a connection failed because the socket refused this user: urllib3 carries the
    socket's PermissionError in an argument of its error, requests in a cause."""
    pending: list[BaseException] = [error]
    for _ in range(12):
        if not pending:
            return False
        seen = pending.pop()
        if isinstance(seen, PermissionError) or getattr(seen, "errno", None) == errno.EACCES:
            return True
        pending += [a for a in seen.args if isinstance(a, BaseException)]
        pending += [e for e in (seen.__cause__, seen.__context__) if e is not None]
    return False


def _not_docker(error: docker.errors.APIError) -> bool:
    # An HTTP server that is not an engine answers a Docker API call with its own page.
    text = explain(error).lstrip().lower()
    return text.startswith(("<!doctype", "<html", "<?xml"))


def address(api: Any) -> str:
    """Where `api` (the SDK's APIClient) connects, as DOCKER_HOST would say it."""
    try:
        # The adapter that serves the client's own URL: a socket's, an ssh connection's, or
        # plain HTTP(S) for a tcp:// engine.
        adapter = api.get_adapter(api.base_url)
    except (AttributeError, requests.exceptions.InvalidSchema):
        adapter = None  # naming the address must never hide the error itself
    for attribute, scheme in (("socket_path", "unix://"), ("ssh_host", "ssh://")):
        found = getattr(adapter, attribute, None)
        if isinstance(found, str):
            return found if "://" in found else scheme + found
    url = str(getattr(api, "base_url", LOCAL))
    # The SDK speaks HTTP(S) to a tcp:// engine; name it as DOCKER_HOST does.
    return "tcp://" + url.split("://", 1)[1] if url.startswith(("http://", "https://")) else url


def explain(error: docker.errors.APIError) -> str:
    return str(error.explanation or error).strip()  # the engine may end it with a newline


def port_taken(error: docker.errors.APIError) -> bool:
    # dockerd says so only in words (an HTTP 500 with this text), in every version since 1.x.
    text = explain(error).lower()
    return "port is already allocated" in text or "address already in use" in text


def is_paused(error: docker.errors.APIError) -> bool:
    # A start of a paused container is refused (409) with "try unpause instead".
    return "paused container" in explain(error).lower()


def hint_for(error: docker.errors.APIError) -> str:
    text = explain(error).lower()
    if port_taken(error):
        return "another process or container holds that host port: free it or change 'ports'"
    if "does not support reading" in text:
        return (
            "its logging driver keeps no output the engine can give back: json-file, local and "
            "journald do (the service's logging: key)"
        )
    if "active endpoints" in text:
        return "the engine still lists endpoints on it; restarting dockerd clears them"
    if "unknown runtime specified" in text:
        return (
            "the service's runtime is not one this engine knows (`docker info` lists them under "
            "Runtimes): name one of those, or add it to the engine's daemon.json"
        )
    if "does not match the specified platform" in text:
        return (
            "the image under that name is for another platform than the service's platform: "
            "build or pull it for that one, or change platform"
        )
    if "bind source path does not exist" in text:
        return (
            "a bind mount with bind.create_host_path: false needs its host path on the "
            "engine's host: create it there, or drop create_host_path: false to have it made"
        )
    if "is already in use by container" in text:
        return (
            "a container of that name exists that this stack does not own (made outside "
            "stackr, or its labels were changed): remove or rename it, or name the stack "
            "otherwise"
        )
    return ""


_TAKEN_PORT = re.compile(r":(\d+) failed: port is already allocated")


def port_holders(api: Any, error: docker.errors.APIError) -> str:
    """The hint for a host port dockerd says is taken, naming the containers that publish it
    when there are some (a host process may hold it instead)."""
    found = _TAKEN_PORT.search(explain(error))
    names: list[str] = []
    if found:
        try:
            listed = api.containers(filters={"publish": found.group(1)})
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            listed = []  # naming the holder must never hide the error itself
        names = sorted(n.lstrip("/") for c in listed for n in (c.get("Names") or [])[:1])
    if not names:
        return hint_for(error)
    port = found.group(1) if found else "that port"
    return f"host port {port} is published by {', '.join(names)}: stop it, or change 'ports'"


def reason(error: Exception) -> str:
    if isinstance(error, docker.errors.APIError):
        return explain(error)
    return str(error)
