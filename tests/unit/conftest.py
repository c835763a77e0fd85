"""Unit tests run without a daemon: any attempt to talk to a real Docker engine fails the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def no_real_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import docker.api.client

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a unit test tried to reach the Docker engine: use FakeEngine")

    monkeypatch.setattr(docker.api.client.APIClient, "__init__", refuse)
    yield
