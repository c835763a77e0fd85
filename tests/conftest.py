"""Shared test helpers: writing stack files from dicts (like compose's build_config_details)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

WriteStack = Callable[..., Path]


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
