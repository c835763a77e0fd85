"""The benchmark's stacks, written once for stackr and once for Compose, and the commands that
run them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

import yaml

IMAGE = "stackr/busybox:1"
# A PID-1 shell ignores SIGTERM unless it traps it; waiting on a background sleep lets the trap
# run at once, so both tools stop these containers without running out a grace period.
SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 86400 & wait"]
HEALTHCHECK = {
    "test": ["CMD", "true"],
    "interval": "1s",
    "timeout": "1s",
    "retries": 3,
    "start_period": "0s",
}
PROFILE = "dev"
NAME_PREFIX = "ebench"
STACKR = Path(sys.executable).with_name("stackr")
# What an `up` that changes something imports; a no-op `up` skips stackr.apply and stackr.graph
# (and networkx with them).
UP_IMPORTS = (
    "import stackr.cli.app, stackr.api, stackr.apply, stackr.plan, stackr.graph, "
    "stackr.desired, stackr.lock, stackr.docker_engine"
)


class Tool(StrEnum):
    STACKR = "stackr"
    COMPOSE = "compose"


class Action(Enum):
    UP = "up"
    DOWN = "down"
    VERSION = "version"
    PLAN = "plan"
    IMPORTS = "imports"


# -- the stacks -------------------------------------------------------------------------------


def sleeper(**extra: Any) -> dict[str, Any]:
    return {"image": IMAGE, "command": SLEEPER, **extra}


def one_service(tool: Tool) -> dict[str, Any]:
    return {"services": {"svc": sleeper()}}


def fifty_services(tool: Tool) -> dict[str, Any]:
    return {"services": {f"svc-{i:02d}": sleeper() for i in range(1, 51)}}


def health_chain(tool: Tool) -> dict[str, Any]:
    """Ten services, each started once the one before it is healthy."""
    condition = "healthy" if tool is Tool.STACKR else "service_healthy"
    services: dict[str, Any] = {}
    for i in range(1, 11):
        body = sleeper(healthcheck=HEALTHCHECK)
        if i > 1:
            body["depends_on"] = {f"link-{i - 1:02d}": {"condition": condition}}
        services[f"link-{i:02d}"] = body
    return {"services": services}


def twenty_replicas(tool: Tool) -> dict[str, Any]:
    scale = {"replicas": 20} if tool is Tool.STACKR else {"deploy": {"replicas": 20}}
    return {"services": {"svc": sleeper(**scale)}}


@dataclass(frozen=True, slots=True)
class Step:
    """One command of a scenario; `measure` names the row it is timed in (None: untimed)."""

    action: Action
    measure: str | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    document: Callable[[Tool], dict[str, Any]]
    steps: tuple[Step, ...]


SCENARIOS = (
    Scenario(
        "startup",
        one_service,
        (
            Step(Action.VERSION, "CLI start-up (`version`)"),
            Step(Action.IMPORTS, "interpreter + imports of `up`"),
        ),
    ),
    Scenario(
        "services50",
        fifty_services,
        (
            Step(Action.UP, "up of 50 services"),
            Step(Action.UP, "no-op up of 50"),
            Step(Action.PLAN, "plan of 50 running"),
            Step(Action.DOWN, "down of 50"),
        ),
    ),
    Scenario(
        "chain10",
        health_chain,
        (
            Step(Action.UP, "10-deep health chain"),
            Step(Action.UP, "no-op up of the healthy chain"),
            Step(Action.DOWN),
        ),
    ),
    Scenario("replicas20", twenty_replicas, (Step(Action.UP, "20 replicas"), Step(Action.DOWN))),
)


@dataclass(frozen=True, slots=True)
class Project:
    """One scenario's stack written for one tool."""

    tool: Tool
    name: str
    file: Path

    @property
    def owner_label(self) -> str:
        key = "io.stackr.stack" if self.tool is Tool.STACKR else "com.docker.compose.project"
        return f"{key}={self.name}"


def write_project(scenario: Scenario, tool: Tool, directory: Path, suffix: str = "") -> Project:
    name = f"{NAME_PREFIX}-{tool.value}-{scenario.name}{suffix}"
    folder = directory / f"{tool.value}-{scenario.name}{suffix}"
    folder.mkdir()
    file = folder / ("stack.yml" if tool is Tool.STACKR else "compose.yml")
    document = {"name": name, **scenario.document(tool)}
    file.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return Project(tool, name, file)


def stackr_command(project: Project, action: Action, jobs: list[str]) -> list[str]:
    spec = ["-f", str(project.file), "--profile", PROFILE]
    commands = {
        Action.UP: [str(STACKR), "up", *spec, "--progress", "plain", *jobs],
        Action.DOWN: [str(STACKR), "down", *spec, "--progress", "plain", *jobs],
        Action.VERSION: [str(STACKR), "version"],
        Action.PLAN: [str(STACKR), "plan", *spec],
        Action.IMPORTS: [sys.executable, "-c", UP_IMPORTS],
    }
    return commands[action]


def compose_command(project: Project, action: Action) -> list[str] | None:
    base = ["docker", "compose", "-f", str(project.file), "-p", project.name]
    commands = {
        Action.UP: [*base, "up", "-d"],
        Action.DOWN: [*base, "down"],
        Action.VERSION: ["docker", "compose", "version"],
    }
    return commands.get(action)
