"""`pull_policy` on a real engine, pulling from a registry on the loopback (`scripts/dev
registry` starts one): a missing image is pulled, `always` pulls on every `up` and recreates
when the tag moved, `never` refuses a missing image before anything changes.

Where no registry answers these tests skip, except under CI (or STACKR_REQUIRE_ENGINE), where
they fail. Each test pushes a repository of its own name, and removes its images from the
engine and the registry when done.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from conftest import IMAGE, SLEEPER, StackFixture

from stackr.errors import EngineError
from stackr.observed import LABEL_STACK
from stackr.pulls import PullRecord

pytestmark = pytest.mark.engine

# The registry's own name for a manifest, asked for when deleting one.
MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


class Registry:
    """A registry on the engine's loopback, and the repositories one test pushed there."""

    def __init__(self, sdk: docker.DockerClient, address: str, prefix: str, stack: str) -> None:
        self.sdk, self.address, self.prefix, self.stack = sdk, address, prefix, stack
        self.pushed: list[str] = []

    def ref(self, name: str) -> str:
        return f"{self.address}/{self.prefix}/{name}:1"

    def push(self, ref: str, *, label: str = "") -> str:
        """Push a build of the test image under `ref` (another image for another `label`);
        its id. The engine keeps the tag: `forget` drops it, as if never pulled."""
        dockerfile = f"FROM {IMAGE}\nLABEL io.stackr.test.build={json.dumps(label)}\n"
        image, _ = self.sdk.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=ref, rm=True)
        for line in self.sdk.images.push(ref, stream=True, decode=True):
            if "error" in line:
                raise AssertionError(f"push of {ref} failed: {line['error']}")
        self.pushed.append(ref)
        return str(image.id)

    def forget(self, ref: str) -> None:
        with contextlib.suppress(docker.errors.ImageNotFound):
            self.sdk.images.remove(ref, force=True)

    def cleanup(self) -> None:
        # The test's containers go first (the stack fixture would remove them only after this):
        # an image one of them runs would outlive the prune below, untagged.
        for container in self.sdk.containers.list(
            all=True, filters={"label": f"{LABEL_STACK}={self.stack}"}
        ):
            container.remove(force=True, v=True)
        for ref in dict.fromkeys(self.pushed):
            self.forget(ref)
            repository, _, tag = ref.removeprefix(f"{self.address}/").rpartition(":")
            url = f"http://{self.address}/v2/{repository}/manifests/{tag}"
            with contextlib.suppress(urllib.error.URLError, KeyError):
                asked = urllib.request.Request(url, method="HEAD", headers={"Accept": MANIFEST})
                with urllib.request.urlopen(asked, timeout=5) as response:
                    digest = response.headers["Docker-Content-Digest"]
                gone = f"http://{self.address}/v2/{repository}/manifests/{digest}"
                urllib.request.urlopen(urllib.request.Request(gone, method="DELETE"), timeout=5)
        self.sdk.images.prune(filters={"dangling": True, "label": "io.stackr.test.build"})


@pytest.fixture
def registry(stack: StackFixture) -> Iterator[Registry]:
    address = os.environ.get("STACKR_TEST_REGISTRY", "127.0.0.1:5111")
    try:
        urllib.request.urlopen(f"http://{address}/v2/", timeout=2).read()
    except (urllib.error.URLError, OSError) as error:
        message = f"no image registry answers at {address} ({error}); run scripts/dev registry"
        if os.environ.get("STACKR_REQUIRE_ENGINE") or os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # Fixed repository names, not the stack's: each test deletes what it pushed, and a later
    # run reuses them, so none pile up in the registry.
    found = Registry(stack.sdk, address, "stackr-test", stack.name)
    yield found
    found.cleanup()


def _service(ref: str, policy: str | None = None) -> dict[str, object]:
    web: dict[str, object] = {"image": ref, "command": SLEEPER}
    if policy:
        web["pull_policy"] = policy
    return {"services": {"web": web}}


def test_a_missing_image_is_pulled_and_then_left_alone(
    stack: StackFixture, registry: Registry
) -> None:
    ref = registry.ref("missing")
    pushed = registry.push(ref)
    registry.forget(ref)
    path = stack.write(_service(ref))
    (action,) = [a for a in stack.up(path).plan.pending() if a.name.endswith("-web-1")]
    assert action.reason.endswith("is not on the engine: it is pulled first)")
    assert stack.containers()[f"{stack.name}-dev-web-1"].image.id == pushed
    # A newer build in the registry, the first still on the engine under the tag: `missing`
    # pulls only what the engine lacks.
    registry.push(ref, label="2")
    registry.sdk.images.get(pushed).tag(ref)
    assert stack.up(path).plan.pending() == ()
    assert registry.sdk.images.get(ref).id == pushed


def test_always_pulls_and_a_moved_tag_recreates(stack: StackFixture, registry: Registry) -> None:
    ref = registry.ref("always")
    first = registry.push(ref)
    path = stack.write(_service(ref, "always"))
    stack.up(path)
    name = f"{stack.name}-dev-web-1"
    assert stack.containers()[name].image.id == first
    assert stack.up(path).plan.pending() == ()  # pulled again: the same image
    second = registry.push(ref, label="2")
    registry.sdk.images.get(first).tag(ref)  # the engine still holds the first under the tag
    (action,) = stack.up(path).plan.pending()
    assert action.name == name and action.kind.value == "recreate"
    assert stack.containers()[name].image.id == second


def test_never_refuses_a_missing_image_before_anything_changes(
    stack: StackFixture, registry: Registry
) -> None:
    ref = registry.ref("never")
    registry.push(ref)
    registry.forget(ref)
    path = stack.write(_service(ref, "never"))
    with pytest.raises(
        EngineError, match=r"pull_policy: never keeps web \(.*stack.yml:\d+\) from pulling it"
    ):
        stack.up(path)
    assert stack.containers() == {} and stack.networks() == []
    with pytest.raises(docker.errors.ImageNotFound):
        registry.sdk.images.get(ref)


def test_a_period_pulls_once_it_has_passed(
    stack: StackFixture, registry: Registry, tmp_path: Path
) -> None:
    # dockerd keeps no pull time for an image: stackr's own record says when it pulled.
    ref = registry.ref("period")
    first = registry.push(ref)
    path = stack.write(_service(ref, "every_1h"))
    record = tmp_path / "pulls.json"
    stack.up(path, pull_record=record)  # never pulled by stackr: due
    name = f"{stack.name}-dev-web-1"
    second = registry.push(ref, label="2")
    registry.sdk.images.get(first).tag(ref)  # the engine holds the first under the tag again
    assert stack.up(path, pull_record=record).plan.pending() == ()  # pulled a moment ago
    assert stack.containers()[name].image.id == first
    PullRecord(record).record(ref, first, time.time() - 7200)  # as if two hours ago
    (action,) = stack.up(path, pull_record=record).plan.pending()
    assert action.kind.value == "recreate"
    assert stack.containers()[name].image.id == second
