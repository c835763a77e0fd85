"""Shared test helpers: writing stack files from dicts (like compose's build_config_details)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

WriteStack = Callable[..., Path]


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the lock files `up` and `down` leave behind out of the user's cache directory.

    Set in the environment, so the `stackr` commands the tests run as subprocesses use it too.
    """
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture
def write_stack(tmp_path: Path) -> WriteStack:
    """Write a stack file from a dict (or YAML text) into a fresh directory; returns its path."""

    def write(spec: dict[str, Any] | str, name: str = "stack.yml", directory: str = "shop") -> Path:
        folder = tmp_path / directory
        folder.mkdir(exist_ok=True)
        path = folder / name
        text = spec if isinstance(spec, str) else yaml.safe_dump(spec, sort_keys=False)
        path.write_text(text)
        return path

    return write
