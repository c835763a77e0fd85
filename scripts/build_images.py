"""Build the local images stackr's tests and examples use, offline, with the Docker SDK.

`stackr/busybox:1` is `images/busybox/Dockerfile` (FROM scratch) plus a statically linked
busybox binary: the build context is a temporary directory holding both, so nothing is pulled
and no registry is needed. The image is labelled with the sha256 of the binary and of the
Dockerfile; when an image with the tag and those labels exists, nothing is built.

Run by `scripts/dev images` with the venv's python:

    .venv/bin/python scripts/build_images.py --busybox /bin/busybox

Exit status: 0 built or up to date, 1 on any failure (one line saying what went wrong).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from docker.models.images import Image

ROOT = Path(__file__).resolve().parent.parent
BUSYBOX_LABEL = "io.stackr.busybox-sha256"
DOCKERFILE_LABEL = "io.stackr.dockerfile-sha256"


class BuildFailed(Exception):
    """A failure with a message a person can act on."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageSpec:
    """One local image: its tag, its Dockerfile and the binary copied next to it."""

    tag: str
    dockerfile: Path
    busybox: Path

    def labels(self) -> dict[str, str]:
        return {
            BUSYBOX_LABEL: sha256_of(self.busybox),
            DOCKERFILE_LABEL: sha256_of(self.dockerfile),
        }


def sha256_of(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as error:
        raise BuildFailed(f"cannot read {path}: {error.strerror or error}") from error


def existing_labels(client: docker.DockerClient, tag: str) -> dict[str, str] | None:
    """The labels of the image tagged `tag`, or None when there is no such image."""
    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None
    labels: dict[str, str] | None = image.labels
    return labels or {}


def build(client: docker.DockerClient, spec: ImageSpec) -> str:
    """Build `spec` from a temporary context; return a line saying what was done."""
    labels = spec.labels()
    current = existing_labels(client, spec.tag)
    if current is not None and all(current.get(k) == v for k, v in labels.items()):
        return f"{spec.tag} is up to date (busybox sha256 {labels[BUSYBOX_LABEL][:12]})"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="stackr-image-") as context:
        shutil.copyfile(spec.dockerfile, Path(context, "Dockerfile"))
        shutil.copy(spec.busybox, Path(context, "busybox"))  # copy() keeps the exec bit
        image = _run_build(client, context=context, tag=spec.tag, labels=labels)
    verb = "built" if current is None else "rebuilt (busybox or Dockerfile changed)"
    seconds = time.monotonic() - started
    return f"{spec.tag} {verb}: {image.short_id} in {seconds:.1f}s"


def _run_build(
    client: docker.DockerClient, *, context: str, tag: str, labels: dict[str, str]
) -> Image:
    try:
        image, _log = client.images.build(
            path=context, tag=tag, labels=labels, pull=False, rm=True, forcerm=True
        )
    except docker.errors.BuildError as error:
        lines = [
            str(entry.get("stream", entry.get("error", ""))).rstrip() for entry in error.build_log
        ]
        tail = "\n".join(line for line in lines if line)[-2000:]
        raise BuildFailed(f"building {tag} failed: {error.msg}\n{tail}") from error
    return image


def parse_args(argv: list[str]) -> ImageSpec:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--busybox", type=Path, required=True, help="a statically linked busybox binary"
    )
    parser.add_argument("--tag", default="stackr/busybox:1")
    parser.add_argument(
        "--dockerfile", type=Path, default=ROOT / "images" / "busybox" / "Dockerfile"
    )
    args = parser.parse_args(argv)
    return ImageSpec(tag=args.tag, dockerfile=args.dockerfile, busybox=args.busybox)


def main(argv: list[str]) -> int:
    spec = parse_args(argv)
    try:
        client = docker.from_env()
        try:
            print(f"==> images: {build(client, spec)}")
        finally:
            client.close()
    except BuildFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    # requests' errors derive from OSError; the SDK's from DockerException.
    except (docker.errors.DockerException, OSError) as error:
        print(f"error: cannot build {spec.tag}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
