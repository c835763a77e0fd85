"""Safe YAML loading with positions: the text of one stack file becomes a plain `Document`.

It owns reading the file, decoding it, and parsing it with PyYAML: libyaml's parser when the
text cannot nest deeply, else (and to word any syntax error) the pure-Python one. An ordinary
file is built straight from libyaml's events (`stackr.spec.fastyaml`); any other is composed
into nodes first, and what those mean, and what is refused in them, is `stackr.spec.yamltree`'s.
Refused here, located: files over `MAX_FILE_BYTES`, text that is not UTF-8, syntax errors,
several documents, too much nesting. Nothing from PyYAML escapes as a traceback.
"""

from __future__ import annotations

import os
import re
from typing import Any

import yaml
from yaml.nodes import Node, ScalarNode, SequenceNode

from stackr.errors import Issue, SpecError
from stackr.spec.document import Document, Path_, Position, dotted
from stackr.spec.fastyaml import build_ordinary
from stackr.spec.yamltree import (
    MAP_TAG,
    MAX_NODES,
    PLAIN_TAG,
    SEQ_TAG,
    STR_TAG,
    build_document,
    issue_at,
)

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "Document",
    "Path_",
    "Position",
    "dotted",
    "load_document",
    "parse_document",
]

MAX_FILE_BYTES = 8 * 1024 * 1024

_SYNTAX_HINT = "check indentation and quoting near here"


class _Loader(yaml.SafeLoader):
    """Composes nodes only; plain scalars get `PLAIN_TAG` instead of PyYAML's 1.1 types.

    This pure-Python parser ends deep nesting in a RecursionError that becomes an Issue;
    `_FastLoader` below is libyaml's, several times faster, but recursing in C.
    """

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        # Called only for untagged nodes (and the non-specific tag `!`).
        if kind is ScalarNode:
            return PLAIN_TAG if implicit[0] else STR_TAG
        return SEQ_TAG if kind is SequenceNode else MAP_TAG


_CLoader: Any = getattr(yaml, "CSafeLoader", None)
_FastLoader: Any = (  # libyaml's parser with the same resolver
    type("_FastLoader", (_CLoader,), {"resolve": _Loader.resolve}) if _CLoader else None
)
_BRACKETS = re.compile(r"[\[\]{}]")
_SAFE_DEPTH = 100  # flow brackets; libyaml's composer recurses once per level, in C
_DEEP_INDENT = re.compile(rf"\n[ \t]{{{2 * _SAFE_DEPTH}}}")
# A pair of brackets with no bracket inside, such as the braces of `${TAG}`.
_INNERMOST = re.compile(r"[\[{][^\[\]{}]*[\]}]")


def _loader_for(text: str) -> Any:
    """libyaml's loader when the text cannot nest deeply, else the pure-Python one.

    Deep nesting needs many unclosed brackets or deep indentation; both are counted generously
    (a bracket inside a quoted string counts too), which only ever picks the slower loader.
    """
    if _FastLoader is None:
        return _Loader
    if _DEEP_INDENT.search("\n" + text[: 2 * _SAFE_DEPTH]) or _DEEP_INDENT.search(text):
        return _Loader
    # Dropping the innermost pairs lowers the peak depth by one at most, and leaves far fewer
    # brackets to follow.
    reduced = _INNERMOST.sub("", text)
    if reduced.count("[") + reduced.count("{") < _SAFE_DEPTH - 1:
        return _FastLoader
    depth = peak = 0
    for bracket in _BRACKETS.finditer(reduced):
        depth += 1 if bracket.group() in "[{" else -1
        peak = max(peak, depth)
    return _FastLoader if peak < _SAFE_DEPTH - 1 else _Loader


def load_document(path: str | os.PathLike[str], *, display: str | None = None) -> Document:
    """Read and parse the UTF-8 YAML file at `path`, shown in issues as `display` (or `path`).

    Raises:
        SpecError: the file is missing, unreadable, too large, not UTF-8, or not valid YAML
            for a stack file (see `parse_document`).
    """
    shown = os.fspath(path) if display is None else display
    data = _read_bytes(path, shown)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError([_not_utf8(shown, data, exc.start)]) from None
    return parse_document(text, file=shown)


def parse_document(text: str, *, file: str, ordinary: bool = True) -> Document:
    """Parse one YAML document into a plain tree with the position of every key and item.

    An empty file (or one with only comments) gives `data=None`; the caller decides. With
    `ordinary=False`, the file is always composed into nodes first (tests compare the two).

    Raises:
        SpecError: every problem found, located: syntax errors, unsupported tags, duplicate
            keys, keys that are not text, several documents, too many nodes after expanding
            aliases, too much nesting or text.
    """
    if len(text) > MAX_FILE_BYTES:
        raise SpecError([_too_large(file)])
    aliased = "*" in text  # an alias is always written `*name`
    loader = _loader_for(text)
    if ordinary and loader is not _Loader and not aliased:
        built = build_ordinary(text, file, loader)
        if built is not None:
            return built
    try:
        root = _compose(text, file, loader)
        if root is None:
            return Document(file=file, data=None, positions={(): Position(file, 1, 1)})
        return build_document(root, file, aliased=aliased)
    except RecursionError:
        hint = "stack files rarely nest more than a few levels; flatten this one"
        raise SpecError([Issue(file=file, message="too deeply nested", hint=hint)]) from None


_READ_PROBLEMS: tuple[tuple[type[OSError], str, str], ...] = (
    (FileNotFoundError, "file not found", "check the path and the working directory"),
    (IsADirectoryError, "is a directory, not a file", "name the YAML file inside it"),
    (PermissionError, "permission denied", "check the file's permissions"),
)


def _read_bytes(path: str | os.PathLike[str], shown: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            # One byte past the cap is enough to refuse, and never reads a huge file whole.
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SpecError([_unreadable(shown, exc)]) from None
    if len(data) > MAX_FILE_BYTES:
        raise SpecError([_too_large(shown)])
    return data


def _unreadable(file: str, exc: OSError) -> Issue:
    for kind, message, hint in _READ_PROBLEMS:
        if isinstance(exc, kind):
            return Issue(file=file, message=message, hint=hint)
    reason = exc.strerror or type(exc).__name__
    return Issue(file=file, message=f"cannot read the file ({reason})", hint="check the path")


def _too_large(file: str) -> Issue:
    mib = MAX_FILE_BYTES // (1024 * 1024)
    hint = "a stack file is small text: check that this is the right file"
    return Issue(file=file, message=f"the file is larger than {mib} MiB", hint=hint)


def _not_utf8(file: str, data: bytes, offset: int) -> Issue:
    # Everything before the first bad byte decodes, so the column counts characters.
    before = data[:offset].decode("utf-8-sig")
    return _issue_after(file, before, "the file is not UTF-8 text", "save it as UTF-8")


def _compose(text: str, file: str, fast: Any) -> Node | None:
    """The node tree of the only document in `text`, or None if there is none; parsed with
    `fast` (libyaml's loader, or `_Loader`), and again with `_Loader` if that fails."""
    if fast is not _Loader:
        try:
            return _compose_with(fast, text, file)
        except Exception:
            pass
    return _compose_with(_Loader, text, file)


def _compose_with(loader_class: Any, text: str, file: str) -> Node | None:
    loader: Any = None
    try:
        loader = loader_class(text)  # the reader checks for unprintable characters right here
        root = loader.get_node() if loader.check_node() else None
        if loader.check_node():
            mark = loader.peek_event().start_mark
            hint = "split the documents into separate files, listed with -f"
            issue = issue_at(file, mark, "only one YAML document per file", hint)
            raise SpecError([issue])
        return root
    except yaml.YAMLError as exc:
        raise SpecError([_yaml_issue(file, text, exc)]) from None
    finally:
        if loader is not None:
            loader.dispose()


def _opens_quote(text: str, exc: yaml.MarkedYAMLError) -> bool:
    """A scanner error whose context is a quote that opens a value: the scanner only notices
    the value never closes at the end of the file."""
    mark = exc.context_mark
    if not isinstance(exc, yaml.scanner.ScannerError) or mark is None:
        return False
    return 0 <= mark.index < len(text) and text[mark.index] in "'\""


def _yaml_issue(file: str, text: str, exc: yaml.YAMLError) -> Issue:
    """One located Issue from PyYAML's structured error fields."""
    if isinstance(exc, yaml.MarkedYAMLError):
        if _opens_quote(text, exc):
            # The scanner only notices at the end of the file: point at the quote that opens it.
            message = "a quoted value starts here and is never closed"
            hint = "close the quote; inside \"...\" a quote is written \\\", inside '...' it is ''"
            return issue_at(file, exc.context_mark, message, hint)
        message = exc.problem or exc.context or "not valid YAML"
        return issue_at(file, exc.problem_mark or exc.context_mark, message, _SYNTAX_HINT)
    if isinstance(exc, yaml.reader.ReaderError) and isinstance(exc.position, int):
        message = f"character #x{ord(text[exc.position]):04x} is not allowed in YAML"
        hint = "remove control characters from the file"
        return _issue_after(file, text[: exc.position], message, hint)
    return Issue(file=file, message=f"not valid YAML: {' '.join(str(exc).split())}")


def _issue_after(file: str, before: str, message: str, hint: str) -> Issue:
    """An Issue located just after the text `before` (everything up to the bad character)."""
    line_start = before.rfind("\n") + 1
    line, column = before.count("\n") + 1, len(before) - line_start + 1
    return Issue(file=file, line=line, column=column, message=message, hint=hint)
