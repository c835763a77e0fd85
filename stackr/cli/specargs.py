"""The options every command that reads a stack file takes (-f, --profile, --env-file), and
how they turn into a loaded stack: the files found, the profile chosen, the warnings shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from stackr.cli import render
from stackr.errors import SpecError, StackrError

if TYPE_CHECKING:
    from stackr.api import Loaded
    from stackr.spec.model import Stack

DEFAULT_FILES = ("stack.yml", "stack.yaml")
COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


@dataclass(frozen=True, slots=True)
class SpecArgs:
    """The options every command that reads a stack file takes."""

    files: list[Path] | None
    profile: str | None
    env_files: list[Path] | None = None

    def paths(self) -> list[str]:
        if self.files:
            if any(str(f) == "-" for f in self.files):
                raise StackrError(
                    "-f -: stackr does not read a stack file from standard input",
                    hint="save it to a file first (its relative paths are relative to it): "
                    "... > stack.yml && stackr ... -f stack.yml",
                )
            return [str(f) for f in self.files]
        found = next((name for name in DEFAULT_FILES if _exists(name)), None)
        if found is None:
            compose = next((name for name in COMPOSE_FILES if _exists(name)), None)
            if compose is not None:
                raise StackrError(
                    f"no {DEFAULT_FILES[0]} here, only Compose's {compose}",
                    hint=f"stackr reads it when asked: -f {compose} (a Compose key it has no "
                    "use for is reported with what to write instead)",
                )
        return [found or DEFAULT_FILES[0]]

    def chosen_profile(self) -> str:
        from stackr.spec.profiles import choose_profile

        return choose_profile(self.profile)

    def validate(self) -> Stack:
        # Spec only: no graph, no networkx, no Docker SDK on this path.
        from stackr import api

        env_files = [str(f) for f in self.env_files or []]
        stack = api.validate(self.paths(), profile=self.chosen_profile(), env_files=env_files)
        _warn(stack)
        return stack

    def load(self) -> Loaded:
        from stackr import api

        env_files = [str(f) for f in self.env_files or []]
        loaded = api.load(self.paths(), profile=self.chosen_profile(), env_files=env_files)
        _warn(loaded.stack)
        return loaded

    def found(self) -> tuple[Loaded | None, str, str, str | None]:
        """The loaded stack with its name, profile and engine; when the files do not load
        for the profile, None with the name and engine as the files write them, so `down`
        and `ps` still reach what the stack left on the engine."""
        from stackr import api

        chosen = self.chosen_profile()
        try:
            loaded = self.load()
        except SpecError as error:
            try:
                name, engine = api.identity(self.paths(), profile=chosen)
            except SpecError:
                raise error from None
            count = len(error.issues)
            render.warning(
                f"the stack file does not load for profile {chosen} ({count} problem(s); "
                f"`stackr validate --profile {chosen}` lists them): going by its name, {name}"
            )
            return None, name, chosen, engine
        return loaded, loaded.stack.name, chosen, loaded.stack.engine


def _exists(name: str) -> bool:
    # In a folder it may not search, nothing is found: the loader then says why it cannot read.
    try:
        return Path(name).exists()
    except OSError:
        return False


def _warn(stack: Stack) -> None:
    for issue in stack.warnings:
        render.warning(issue.render())
