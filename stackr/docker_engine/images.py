"""Images over the Docker SDK: which ids tags point at, making an image exist (build or pull),
and the files a build context sends (`.dockerignore` applied, as `docker build` reads it).
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Iterator
from typing import Any

import docker
import docker.errors
import docker.utils.build
import requests.exceptions

from stackr.desired import ContainerSpec
from stackr.docker_engine.errors import call, reason, translate
from stackr.docker_json import full_ref
from stackr.errors import EngineError
from stackr.observed import LABEL_BUILD_DIGEST
from stackr.spec.model import Build
from stackr.spec.runtime import ARCHITECTURES

_ID_PREFIX = re.compile(r"(?:sha256:)?([0-9a-f]{12,64})")


def observed_images(
    api: docker.APIClient, refs: tuple[str, ...]
) -> tuple[dict[str, str], dict[str, str]]:
    """The id each of `refs` points at (those on the engine), and the build digest of those
    stackr built (its label): one list call."""
    images = call("list images", api.images)
    ids = _ids(images, refs)
    labels = {image["Id"]: image.get("Labels") or {} for image in images}
    built = {ref: labels[i].get(LABEL_BUILD_DIGEST, "") for ref, i in ids.items() if i in labels}
    return ids, {ref: digest for ref, digest in built.items() if digest}


def _ids(images: list[dict[str, Any]], refs: tuple[str, ...]) -> dict[str, str]:
    wanted: dict[str, list[str]] = {}
    for ref in refs:
        wanted.setdefault(full_ref(ref), []).append(ref)
    found: dict[str, str] = {}
    for image in images:
        # Named by a tag, by a digest (`shop/web@sha256:...`) or by its id.
        names = [*(image.get("RepoTags") or []), *(image.get("RepoDigests") or [])]
        for name in (*names, image["Id"]):
            for ref in wanted.get(name, ()):
                found[ref] = image["Id"]
    # A name no tag matches may be an id, or the start of one, as the engine reads it.
    for ref in refs:
        prefix = _ID_PREFIX.fullmatch(ref)
        if ref not in found and prefix:
            start = prefix.group(1)
            ids = [i["Id"] for i in images if i["Id"].removeprefix("sha256:").startswith(start)]
            if len(ids) == 1:
                found[ref] = ids[0]
    return found


def ensure_image(
    api: docker.APIClient, spec: ContainerSpec, *, build: bool, announce: Callable[[str], None]
) -> None:
    """Build `spec.image` when asked, or when the spec has a build and the image is missing or
    was built from another digest; else pull it when it is missing. `announce` is told which,
    just before."""
    if build and spec.build is not None:
        announce("building")
        _build(api, spec)
        return
    try:
        image = api.inspect_image(spec.image)
    except docker.errors.ImageNotFound:
        image = None
    except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
        raise translate(e, f"inspect image {spec.image}", api) from None
    if spec.build is not None:
        labels = ((image or {}).get("Config") or {}).get("Labels") or {}
        digest = spec.build.digest
        stale = bool(digest) and labels.get(LABEL_BUILD_DIGEST) != digest
        # A build for another platform is another image: built again for the one asked.
        if image is None or stale or not for_platform(image, spec.runtime.platform):
            announce("building")
            _build(api, spec)
    elif image is None or not for_platform(image, spec.runtime.platform):
        announce("pulling")
        _pull(api, spec.image, spec.runtime.platform)


def for_platform(image: dict[str, Any], platform: str | None) -> bool:
    """Whether an inspected image is for `platform` (`os[/arch[/variant]]`; None: any)."""
    if not platform:
        return True
    wanted = [ARCHITECTURES.get(part, part) for part in platform.lower().split("/")]
    arch = str(image.get("Architecture", ""))
    have = [str(image.get("Os", "")), ARCHITECTURES.get(arch, arch), str(image.get("Variant", ""))]
    return all(w == h for w, h in zip(wanted, have, strict=False) if w)


def context_files(build: Build) -> list[str]:
    """The files a build of `build.context` sends to the engine, and the folders it sends with
    nothing under them (relative paths)."""
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
    folders = {p for p in found if os.path.isdir(os.path.join(build.context, p))}
    files = found - folders
    # A folder counts only when nothing under it is sent (empty, or all of it ignored): it is
    # still in the image (`COPY . /app` makes it), and its files already speak for the others.
    inside = {posixpath.dirname(p) for p in found if posixpath.dirname(p)}
    parents = {"/".join(p.split("/")[:i]) for p in inside for i in range(1, p.count("/") + 2)}
    return sorted(files | (folders - parents))


def _build(api: docker.APIClient, spec: ContainerSpec) -> None:
    assert spec.build is not None
    what = f"build image {spec.image} for service {spec.service}"
    stream = call(
        what,
        api.build,
        path=spec.build.context,
        dockerfile=spec.build.dockerfile,
        tag=spec.image,
        buildargs=dict(spec.build.args),
        target=spec.build.target or None,
        platform=spec.runtime.platform,
        labels={LABEL_BUILD_DIGEST: spec.build.digest} if spec.build.digest else None,
        rm=True,
        forcerm=True,  # a failed step's container goes too, not only a passed one's
        decode=True,
    )
    tail: list[str] = []
    for chunk in _iterate(api, what, stream):
        if "error" in chunk:
            raise EngineError(
                f"building {spec.image} failed: {chunk['error'].strip()}",
                hint="last build output:\n" + "".join(tail[-5:]),
            )
        tail.append(str(chunk.get("stream", "")))


def _pull(api: docker.APIClient, image: str, platform: str | None) -> None:
    """Pull `image`, which the engine lacks (for `platform`: or holds for another one)."""
    lacking = f"for platform {platform}" if platform else ""
    _pulled(
        api,
        image,
        platform,
        failed=f"image {image} is not on this engine{' ' + lacking if lacking else ''} and "
        "could not be pulled",
        hint="build it (give the service a 'build:'), or load it into the engine first "
        "(docker load / docker pull)",
    )


def pull_image(api: docker.APIClient, image: str, platform: str | None) -> None:
    """Pull `image` (for `platform`, or the engine's), whether or not the engine has it (a
    newer one may be there)."""
    _pulled(
        api,
        image,
        platform,
        failed=f"could not pull image {image}",
        hint="check the name and that the engine reaches its registry, or use "
        "pull_policy: missing to run the image the engine has",
    )


def _pulled(
    api: docker.APIClient, image: str, platform: str | None, *, failed: str, hint: str
) -> None:
    try:
        api.pull(image, platform=platform)
    except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
        raise EngineError(f"{failed}: {reason(e)}", hint=hint) from None


def image_id(api: docker.APIClient, image: str) -> str | None:
    """The id of the image `image` names; None when the engine lacks it."""
    try:
        return str(api.inspect_image(image)["Id"])
    except docker.errors.ImageNotFound:
        return None
    except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
        raise translate(e, f"inspect image {image}", api) from None


def _iterate(api: docker.APIClient, what: str, stream: Any) -> Iterator[dict[str, Any]]:
    try:
        yield from stream
    except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
        raise translate(e, what, api) from None
