"""Everything between the YAML text and the typed model; `load_stack` is the one entry point.

load (safe YAML, positions) → merge the files in order → interpolate variables → validate
against the schema → overlay the profile → validate again → build the model → cross-checks.
Every problem found on the way is reported at once, sorted, as one SpecError.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from stackr.errors import Issue, SpecError
from stackr.spec.envfile import read_env_file
from stackr.spec.model import Stack
from stackr.spec.source import Document, Position, load_document

__all__ = ["Stack", "load_stack", "stack_env"]


def load_stack(
    paths: Sequence[str], *, profile: str, env: Mapping[str, str] | None = None
) -> Stack:
    """The stack in files `paths` (merged in order), rendered for `profile`.

    `env` is the process environment to interpolate from (default: `os.environ`); `.env`
    beside the first file fills in what it lacks.

    Raises:
        SpecError: any problem in the files, all of them reported, sorted by file and line.
    """
    from stackr.spec.checks import check_stack
    from stackr.spec.interpolate import interpolate_document
    from stackr.spec.normalize import build_stack
    from stackr.spec.profiles import apply_profile, merge_documents, normalise_pairs
    from stackr.spec.schema import validate_document

    files = tuple(paths) or ("stack.yml",)
    variables = stack_env(files[0], os.environ if env is None else env)
    docs = [normalise_pairs(interpolate_document(_load(path), variables)) for path in files]
    # Merging onto an empty layer applies the first file's own `!reset`s too.
    merged = Document(file=docs[0].file, data={}, positions={(): Position(docs[0].file, 1, 1)})
    for doc in docs:
        merged = merge_documents(merged, doc)
    _raise_if(validate_document(merged))
    rendered = apply_profile(merged, profile)
    _raise_if(validate_document(rendered))
    stack, issues = build_stack(rendered, profile=profile, files=files, env=variables)
    _raise_if(issues)
    _raise_if(check_stack(stack, rendered))
    return stack


def stack_env(first_file: str, env: Mapping[str, str]) -> dict[str, str]:
    """The variables a stack is interpolated from: `.env` beside the file, under `env`."""
    dotenv = Path(first_file).resolve().parent / ".env"
    values: dict[str, str] = {}
    if dotenv.is_file():
        values.update(read_env_file(dotenv, display=str(Path(first_file).parent / ".env")))
    values.update(env)
    return values


def _load(path: str) -> Document:
    doc = load_document(path)
    if doc.data is None:
        raise SpecError(
            [
                Issue(
                    file=doc.file,
                    line=1,
                    column=1,
                    message="the file is empty",
                    hint="a stack file needs at least 'services:'",
                )
            ]
        )
    return doc


def _raise_if(issues: list[Issue]) -> None:
    if issues:
        raise SpecError(issues)
