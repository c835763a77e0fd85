"""Containers' output over the Docker SDK: the last lines, everything, or following several
containers at once (one reader thread each, lines merged as they come)."""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import docker
import docker.errors
import requests.exceptions

from stackr.docker_engine.errors import call

# Seconds before a container's recorded start its latest run's output may come: under the
# engine's first restart delay (0.1 s), so a restart policy's quick reruns do not mix in.
START_SLACK = 0.09


def log_lines(
    api: docker.APIClient, name: str, count: int | None = None, *, since: float | None = None
) -> list[str]:
    """The container's output so far: the last `count` lines (0: none), or all of it; with
    `since` (a Unix time), only what it wrote from then on."""
    what = f"read logs of {name}"
    options: dict[str, Any] = {} if count is None else {"tail": count}
    if since is not None:
        options["since"] = since
    raw: bytes = call(what, api.logs, name, **options)
    return raw.decode("utf-8", "replace").splitlines()


def latest_run_lines(api: docker.APIClient, name: str, count: int) -> list[str]:
    """The last `count` lines the container wrote since it last started."""
    found = call(f"inspect container {name}", api.inspect_container, name)
    started = _unix_time(str(found["State"].get("StartedAt") or ""))
    # The engine notes the start once its process runs, and a quick job may have written by
    # then: look a little earlier. An earlier run ended before (`up` starts a job again, a
    # restart policy after its delay).
    return log_lines(api, name, count, since=None if started is None else started - START_SLACK)


def _unix_time(stamp: str) -> float | None:
    # RFC 3339 with nanoseconds; "0001-01-01T00:00:00Z" for a container never started.
    try:
        moment = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", stamp))
    except ValueError:
        return None
    return moment.timestamp() if moment.year > 1970 else None


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
