"""Where interpolation variables come from, and where each value came from.

Sources, highest first: the process environment, `--env-file` files (a later one wins), the
profile's own `env_file`, `.env.<profile>`, then `.env` — files beside the first stack file
unless given with a path. A value read from a file remembers its `file:line`, so a problem in a
value built from it can say `(from .env.prod:3)`.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stackr.errors import Issue, SpecError
from stackr.spec.envfile import read_env_file


@dataclass(frozen=True, slots=True, kw_only=True)
class Variables:
    """The values interpolation reads, and the file and line each came from."""

    values: Mapping[str, str] = field(default_factory=dict)
    origins: Mapping[str, str] = field(default_factory=dict)  # name → ".env.prod:3"
    warnings: tuple[Issue, ...] = ()  # variables env files use that are set nowhere

    def origin(self, name: str) -> str:
        """Where `name`'s value comes from: a `file:line`, "the environment", or ""."""
        if name in self.origins:
            return self.origins[name]
        return "the environment" if name in self.values else ""


def collect_variables(
    first_file: str,
    env: Mapping[str, str],
    *,
    profile: str,
    env_files: Sequence[str] = (),
    profile_env_files: Sequence[str] = (),
) -> Variables:
    """Every variable a stack rendered for `profile` can use, with its origin.

    Raises:
        SpecError: an env file given explicitly is missing, or a line of any env file is not
            `KEY=value`.
    """
    folder = Path(first_file).parent
    layers: list[tuple[Path, bool]] = [
        (folder / ".env", False),
        (folder / f".env.{profile}", False),
    ]
    given = [Path(name) for name in env_files]
    layers += [(folder / name, True) for name in profile_env_files]
    layers += [(path, True) for path in given]
    values: dict[str, str] = {}
    origins: dict[str, str] = {}
    warnings: list[Issue] = []
    for path, required in layers:
        if not is_file(path):
            if required:
                raise SpecError([_missing(path, given=path in given)])
            continue
        # A value may use the environment, then what earlier files and lines set.
        lookup = ChainMap(dict(env), values)
        read = read_env_file(path, display=str(path), lookup=lookup, warnings=warnings)
        for name, (value, line) in read.items():
            values[name] = value
            origins[name] = f"{path}:{line}"
    for name, value in env.items():
        values[name] = value
        origins.pop(name, None)
    return Variables(values=values, origins=origins, warnings=tuple(warnings))


def is_file(path: Path) -> bool:
    """Whether `path` is something to read: a file, or a pipe as the shell's `<(...)` gives
    (`/dev/fd/63`). A directory is not, nor a name no file can have (too long, a NUL)."""
    try:
        return path.exists() and not path.is_dir()
    except (OSError, ValueError):  # a name too long, or with a NUL: it cannot be there
        return False


def _missing(path: Path, *, given: bool) -> Issue:
    # An --env-file is found from where stackr runs; a profile's env_file beside the stack file.
    relative = "the current directory" if given else "the stack file"
    option = "--env-file" if given else "the profile's env_file"
    try:
        folder = path.is_dir()
    except (OSError, ValueError):
        folder = False
    found = "a directory, not an env file" if folder else "env file not found"
    return Issue(
        file=str(path), message=found, hint=f"check the path: {option} is relative to {relative}"
    )
