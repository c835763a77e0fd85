"""The files a stack's files lead to besides themselves — the bases their services extend,
the files they include, and theirs — read for what `config --variables` lists: the variables
they use, the env files that fill in an include's, and the contents of the secrets they read
from files. A file that does not load is passed over: loading the stack says why.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from stackr.errors import SpecError
from stackr.spec.document import Document
from stackr.spec.variables import Variables, is_file

__all__ = ["filled_in", "secret_files", "with_linked"]


def secret_files(raw: Sequence[Document], linked: Sequence[Document] = ()) -> list[bytes]:
    """The content of each secret read from a file, as the base and every profile name them
    (a path made from variables is left out): what the stack, not loaded here, would hide.
    Those of `raw` are read from the first file's folder, those of `linked` (files extended
    or included) from their own."""
    contents: list[bytes] = []
    # Each with the folder its secrets' files are read from.
    places = [(doc, Path(raw[0].file).parent) for doc in raw]
    places += [(doc, Path(doc.file).parent) for doc in linked]
    for doc, folder in places:
        data = doc.data if isinstance(doc.data, dict) else {}
        profiles = data.get("profiles")
        layers = [data, *(profiles.values() if isinstance(profiles, dict) else ())]
        for layer in layers:
            section = layer.get("secrets") if isinstance(layer, dict) else None
            for entry in section.values() if isinstance(section, dict) else ():
                file = entry.get("file") if isinstance(entry, dict) else None
                # A regular file only: a pipe read here would be gone for the load.
                if isinstance(file, str) and "$" not in file and (folder / file).is_file():
                    with contextlib.suppress(OSError):
                        contents.append((folder / file).read_bytes())
    return contents


def with_linked(
    raw: list[Document],
    profile: str,
    load: Callable[[str], Document],
    values: Mapping[str, str],
) -> tuple[list[Document], list[str]]:
    """`raw`, and the files their services extend and they include, and those theirs, each
    once (one that does not load is left out: loading the stack says why); and the env files
    that fill in the included files' variables."""
    from stackr.spec.extends import extended_files
    from stackr.spec.includeentries import included_files

    docs = list(raw)
    env_files: list[str] = []
    seen = {os.path.realpath(doc.file) for doc in docs}
    for doc in docs:  # grows as it goes
        included = included_files(doc, profile=profile, values=values)
        env_files += [path for _, paths in included for path in paths]
        for path in [*extended_files(doc), *(path for path, _ in included)]:
            if os.path.realpath(path) in seen:
                continue
            seen.add(os.path.realpath(path))
            try:
                docs.append(load(path))
            except SpecError:
                continue
    return docs, env_files


def filled_in(variables: Variables, env_files: list[str]) -> Variables:
    """`variables`, with what `env_files` (the includes', the one that wins first) set filling
    in the rest: an including file's env files win over those of the files it includes, as
    in loading (each included file reads its own: a name two includes set differently shows
    the first; an env file that does not read is left out, loading the stack says why)."""
    from stackr.spec.envfile import read_env_file

    values, origins = dict(variables.values), dict(variables.origins)
    for name in dict.fromkeys(env_files):
        if not is_file(Path(name)):
            continue
        try:
            read = read_env_file(Path(name), display=name, lookup=values)
        except SpecError:
            continue
        for key, (value, line) in read.items():
            if key not in values:
                values[key] = value
                origins[key] = f"{name}:{line}"
    return replace(variables, values=values, origins=origins)
