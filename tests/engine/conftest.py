"""Engine tests run against a real Docker daemon and clean up after themselves by label.

Where no engine answers they skip — except when STACKR_REQUIRE_ENGINE=1 or CI is set (as
`.ci/run` does): there a missing engine fails every test instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml

from stackr import api
from stackr.docker_engine import DockerEngine
from stackr.observed import LABEL_CARRIED, LABEL_STACK

IMAGE = "stackr/busybox:1"
ANONYMOUS = re.compile(r"[0-9a-f]{64}")  # the engine's name for an anonymous volume
# A PID-1 shell ignores SIGTERM; trapping it keeps stops fast.
SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done & wait"]
WEB = [
    "sh",
    "-c",
    "trap 'exit 0' TERM; mkdir -p /www; hostname > /www/index.html; "
    "httpd -f -p 8080 -h /www & wait",
]


def _required() -> bool:
    return bool(os.environ.get("STACKR_REQUIRE_ENGINE") or os.environ.get("CI"))


@pytest.fixture(scope="session")
def sdk() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    try:
        client.ping()
    except Exception as error:
        message = f"no Docker engine answers ({error}); run scripts/dev engine"
        if _required():
            pytest.fail(message)
        pytest.skip(message)
    try:
        client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"test image {IMAGE} is missing: run scripts/dev images")
    yield client
    client.close()


@dataclass
class StackFixture:
    """One throw-away stack: a unique name, a folder for its file, and helpers."""

    name: str
    folder: Path
    engine: DockerEngine
    sdk: docker.DockerClient

    def write(self, spec: dict[str, Any], filename: str = "stack.yml") -> Path:
        path = self.folder / filename
        path.write_text(yaml.safe_dump({"name": self.name, **spec}, sort_keys=False))
        return path

    def load(self, path: Path, profile: str = "dev") -> api.Loaded:
        return api.load([str(path)], profile=profile, env={})

    def up(self, path: Path, profile: str = "dev", **options: Any) -> api.UpResult:
        opts = api.UpOptions(**{"wait_timeout": 60.0, **options})
        return api.up(self.load(path, profile), self.engine, options=opts)

    def down(self, path: Path, profile: str = "dev", volumes: bool = False) -> api.DownResult:
        loaded = self.load(path, profile)
        return api.down(self.name, profile, self.engine, volumes=volumes, loaded=loaded)

    def containers(self, profile: str | None = None) -> dict[str, Any]:
        labels = [f"{LABEL_STACK}={self.name}"]
        if profile:
            labels.append(f"io.stackr.profile={profile}")
        found = self.sdk.containers.list(all=True, filters={"label": labels})
        return {c.name: c for c in found}

    def networks(self) -> list[str]:
        found = self.sdk.networks.list(filters={"label": f"{LABEL_STACK}={self.name}"})
        return sorted(n.name for n in found)

    def volumes(self) -> list[str]:
        found = self.sdk.volumes.list(filters={"label": f"{LABEL_STACK}={self.name}"})
        return sorted(v.name for v in found)


@pytest.fixture
def stack(sdk: docker.DockerClient, tmp_path: Path) -> Iterator[StackFixture]:
    name = f"t{uuid.uuid4().hex[:8]}"
    fixture = StackFixture(name=name, folder=tmp_path, engine=DockerEngine(), sdk=sdk)
    before = {v.name for v in sdk.volumes.list()}
    yield fixture
    _cleanup(sdk, name, before)


def _cleanup(sdk: docker.DockerClient, name: str, before: set[str]) -> None:
    label = {"label": f"{LABEL_STACK}={name}"}
    carried: list[str] = []
    for container in sdk.containers.list(all=True, filters=label):
        # A recreated container mounts its predecessor's anonymous volumes by name, so the
        # engine no longer removes them with it: its label lists them.
        carried += [v for v in container.labels.get(LABEL_CARRIED, "").split(",") if v]
        container.remove(force=True, v=True)
    for volume in carried:
        with contextlib.suppress(docker.errors.NotFound):
            sdk.volumes.get(volume).remove(force=True)
    for network in sdk.networks.list(filters=label):
        network.remove()
    for volume in sdk.volumes.list(filters=label):
        volume.remove(force=True)
    # `down` without --volumes leaves anonymous volumes behind, as Compose does; they carry no
    # label, so the ones this test made are told by being new and unused.
    for volume in sdk.volumes.list(filters={"dangling": True}):
        if volume.name not in before and ANONYMOUS.fullmatch(volume.name):
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                volume.remove(force=True)
