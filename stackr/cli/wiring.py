"""The composition root's wiring: which Engine and which lock a command works with.

The only place the Docker engine is picked; its module (and so the Docker SDK) is imported
when a command first asks for an engine.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stackr.engine import Engine
    from stackr.spec.model import Stack


def engine_for(stack: Stack, *, jobs: int = 8) -> Engine:
    """The engine `stack` names (its `engine` key), else the environment's."""
    return engine_at(stack.engine, jobs=jobs)


def engine_at(target: str | None, *, jobs: int = 8) -> Engine:
    from stackr.docker_engine import DockerEngine

    # Connections kept for reuse: the workers' calls, and as many again for the first
    # networks and volumes and for health polls.
    return DockerEngine(target=target, pool_size=max(16, 2 * jobs))


def locked(stack: Stack, timeout: float) -> AbstractContextManager[None]:
    """The lock of `stack`'s profile on its engine, waited for up to `timeout` seconds."""
    return locked_at(stack.engine, stack.name, stack.profile, timeout)


def locked_at(
    target: str | None, name: str, profile: str, timeout: float
) -> AbstractContextManager[None]:
    from stackr.lock import stack_lock

    engine = target or os.environ.get("DOCKER_HOST") or "local"
    return stack_lock(engine, name, profile, timeout=timeout)
