"""Containers' output over the Docker SDK: the last lines, everything, or following several
containers at once (one reader thread each, lines merged as they come)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import docker
import docker.errors
import requests.exceptions

from stackr.docker_engine.errors import call


def log_lines(api: docker.APIClient, name: str, count: int | None = None) -> list[str]:
    """The container's output so far: the last `count` lines (0: none), or all of it."""
    what = f"read logs of {name}"
    if count is None:
        raw: bytes = call(what, api.logs, name)
    else:
        raw = call(what, api.logs, name, tail=count)
    return raw.decode("utf-8", "replace").splitlines()


def follow(api: docker.APIClient, names: list[str], tail: int | None) -> Iterator[tuple[str, str]]:
    """(container, line) as each line comes, until every container's output ends."""
    lines: queue.Queue[tuple[str, str] | None] = queue.Queue()

    def pump(name: str) -> None:
        try:
            stream = api.logs(name, stream=True, follow=True, tail="all" if tail is None else tail)
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
