"""A stack's name and engine as its files write them, read without loading the stack: what
`down`, `ps` and `logs` go by when the files no longer load for the profile (a variable only
the deploy sets, a problem since introduced), even when the YAML itself no longer parses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stackr.errors import Issue, SpecError
from stackr.spec.profiles import profile_settings
from stackr.spec.source import Document, load_document

__all__ = ["stack_identity", "stack_name"]

# As the schema's `stackName`.
PLAIN_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


def stack_identity(paths: Sequence[str], *, profile: str) -> tuple[str, str | None]:
    """The stack's name and the profile's engine as the files write them, nothing else read
    or checked: what `down` needs to find a stack's objects when its files do not load for
    the profile (a variable only its deploy sets, a problem since introduced).

    Raises:
        SpecError: a file cannot be read or parsed, or the name is not written plainly.
    """
    files = tuple(paths) or ("stack.yml",)
    name: object = None
    engine: str | None = None
    for path in files:
        try:
            doc = _parsed(path)
        except SpecError as error:
            name = _written_name(path, error) or name
            continue
        data = doc.data if isinstance(doc.data, dict) else {}
        written = data.get("name")
        if isinstance(written, str) and "$" in written:
            # Made from variables: which stack it names cannot be told without loading the
            # files, and a guess could take down another stack.
            issue = Issue(
                file=path,
                line=1,
                column=1,
                message=f"the stack's name {written!r} "
                "is made from variables, and the file does not load to resolve them",
            )
            raise SpecError([issue])
        name = written or name
        target = profile_settings(doc, profile).get("engine")
        engine = target if isinstance(target, str) and "$" not in target else engine
    chosen = stack_name({"name": name} if name else {}, files[0])
    if not PLAIN_NAME.fullmatch(chosen):
        issue = Issue(file=files[0], line=1, column=1, message=f"no plain stack name: {chosen!r}")
        raise SpecError([issue])
    return chosen, engine


_NAME_LINE = re.compile(r"""name:[ \t]*(["']?)([a-z0-9][a-z0-9_-]*)\1[ \t]*(#.*)?""")


def _written_name(path: str, error: SpecError) -> str | None:
    """The name a file that does not parse gives on a top-level `name:` line of its own, so
    that a stack can be taken down even after its YAML broke. Not a file that could also name
    an engine: which engine it meant cannot be told, so its error stands.

    Raises:
        SpecError: `error`, when the file cannot be read, or could set an engine.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise error from None
    if re.search(r"\bengine\s*:", text):
        raise error
    for line in text.lstrip("\ufeff").splitlines():
        found = _NAME_LINE.fullmatch(line.rstrip())
        if found:
            return found.group(2)
        if re.match(r"""["']?name["']?\s*:""", line):
            raise error  # a name written otherwise (a variable, quoted): no guessing
    return None


def _parsed(path: str) -> Document:
    doc = load_document(path)
    if doc.data is None:
        raise SpecError([Issue(file=doc.file, line=1, column=1, message="the file is empty")])
    return doc


def stack_name(data: Mapping[str, Any], first_file: str) -> str:
    """The stack's name: `name:`, else the stack file's directory name made engine-safe."""
    if data.get("name"):
        return str(data["name"])
    directory = Path(first_file).resolve().parent.name.lower()
    return re.sub(r"[^a-z0-9_-]+", "-", directory).strip("-_") or "stack"
