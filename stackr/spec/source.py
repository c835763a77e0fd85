"""Safe YAML loading with positions: the text of one stack file becomes a plain `Document`.

It owns reading the file, parsing it with PyYAML's safe pure-Python parser, and building the
tree itself from the composed nodes, so that every key and list item keeps the line and column
where the user wrote it. Refused, all located and collected into one `SpecError`: tags other
than the plain ones (`!!python/...`), duplicate keys, keys that are not text, several documents,
files over `MAX_FILE_BYTES`, alias expansion past `MAX_NODES` (the "billion laughs" file).
Nothing from PyYAML escapes as a traceback.

Plain scalars are typed by the YAML 1.2 core schema, not PyYAML's YAML 1.1 resolver:

- only `true/True/TRUE/false/False/FALSE` are booleans: `yes`, `no`, `on`, `off`, `y`, `n`
  stay strings;
- `null`, `Null`, `NULL`, `~` and the empty value are None;
- integers are decimal (`-12`, `+3`), `0o17` (octal) or `0x1F` (hex); no underscores, so
  `1_000` stays a string; sexagesimal `22:22` stays a string;
- a decimal with a leading zero such as `0440` stays the STRING "0440": YAML 1.1 reads it
  as octal 288 and YAML 1.2 as decimal 440, and either way Compose users are surprised (file
  modes, port lists), so stackr keeps the text and lets the field that wants a number say so;
- floats need a dot or an exponent (`1.5`, `-1e3`, `.5`), plus `.inf`, `-.inf`, `.nan`;
- everything else, and every quoted scalar, is a string.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from stackr.errors import Issue, SpecError

Path_ = tuple[str | int, ...]

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_NODES = 1_000_000  # cap on nodes after alias expansion


class Position(NamedTuple):
    """Where a value was written; `layer` names the profile layer that set it, if any."""

    file: str
    line: int  # 1-based
    column: int  # 1-based
    layer: str = ""  # where the value came from, e.g. "set by profile prod", "from .env:3"


@dataclass(frozen=True, slots=True)
class Document:
    """One parsed file: its plain tree and where each path in it was written."""

    file: str
    data: Any
    positions: Mapping[Path_, Position]
    # Merge directives written as tags (`!reset`, `!override`), kept beside the plain tree so
    # the schema sees ordinary values; the profile/file merge consumes them.
    tags: Mapping[Path_, str] = field(default_factory=dict)
    # The text of plain scalars read as numbers (`0x1F`, `1.10`), where a string is wanted
    # after all (environment and label values keep what the user wrote).
    texts: Mapping[Path_, str] = field(default_factory=dict)

    def issue(self, path: Path_, message: str, hint: str = "") -> Issue:
        """A problem with the value at `path`, located where it was written; a value a layer
        set says so (`... (set by profile prod)`, `... (from .env.prod:3)`)."""
        pos = self.locate(path)
        layer = f" ({pos.layer})" if pos.layer else ""
        return Issue(
            file=pos.file,
            line=pos.line,
            column=pos.column,
            path=dotted(path),
            message=message + layer,
            hint=hint,
        )

    def locate(self, path: Path_) -> Position:
        """The position of `path`, else of its nearest recorded ancestor, else the root."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(path[:end])
            if found is not None:
                return found
        return Position(self.file, 1, 1)


_PLAIN_TAG = "tag:stackr:plain"  # marks a plain (unquoted, untagged) scalar for _resolve_plain
_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_YAML_TAG_PREFIX = "tag:yaml.org,2002:"

_SYNTAX_HINT = "check indentation and quoting near here"
_TAG_HINT = "stack files are plain YAML: remove the tag"
_KEY_HINT = "write the key as a name, quoting it if needed"
_ANCHOR_HINT = "an anchor is expanded too many times; use fewer or smaller aliases"

# YAML 1.2 core floats, narrowed to need a dot or an exponent so that "0440" is not 440.0.
_FLOAT = re.compile(
    r"[-+]?(?:(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+)"
)
_PLAIN_RULES: tuple[tuple[re.Pattern[str], Callable[[str], Any]], ...] = (
    (re.compile(r"~|null|Null|NULL|"), lambda _: None),
    (re.compile(r"true|True|TRUE"), lambda _: True),
    (re.compile(r"false|False|FALSE"), lambda _: False),
    # No leading zeros: "0440" is left to the string fallback on purpose (see module docstring).
    (re.compile(r"[-+]?(?:0|[1-9][0-9]*)"), int),
    (re.compile(r"0o[0-7]+"), lambda text: int(text[2:], 8)),
    (re.compile(r"0x[0-9a-fA-F]+"), lambda text: int(text[2:], 16)),
    (_FLOAT, float),
    (re.compile(r"[-+]?\.(?:inf|Inf|INF)"), lambda text: -math.inf if text[0] == "-" else math.inf),
    (re.compile(r"\.(?:nan|NaN|NAN)"), lambda _: math.nan),
)


def _resolve_plain(text: str) -> Any:
    """The value of a plain scalar under the rules in the module docstring."""
    for pattern, convert in _PLAIN_RULES:
        if pattern.fullmatch(text):
            try:
                return convert(text)
            except ValueError:  # an integer too long for int(): keep what the user wrote
                return text
    return text


class _Loader(yaml.SafeLoader):
    """Composes nodes only; plain scalars get `_PLAIN_TAG` instead of PyYAML's 1.1 types.

    This pure-Python parser ends deep nesting in a RecursionError that becomes an Issue;
    `_FastLoader` below is libyaml's, several times faster, but recursing in C.
    """

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        # Called only for untagged nodes (and the non-specific tag `!`).
        if kind is ScalarNode:
            return _PLAIN_TAG if implicit[0] else _STR_TAG
        return _SEQ_TAG if kind is SequenceNode else _MAP_TAG


_CLoader: Any = getattr(yaml, "CSafeLoader", None)
_FastLoader: Any = (  # libyaml's parser with the same resolver
    type("_FastLoader", (_CLoader,), {"resolve": _Loader.resolve}) if _CLoader else None
)
_BRACKETS = re.compile(r"[\[\]{}]")
_INDENT = re.compile(r"^[ \t]*", re.MULTILINE)
_SAFE_DEPTH = 100  # flow brackets; libyaml's composer recurses once per level, in C


def _loader_for(text: str) -> Any:
    """libyaml's loader when the text cannot nest deeply, else the pure-Python one.

    Deep nesting needs many unclosed brackets or deep indentation; both are counted generously
    (a bracket inside a quoted string counts too), which only ever picks the slower loader.
    """
    if _FastLoader is None:
        return _Loader
    depth = peak = 0
    for bracket in _BRACKETS.finditer(text):
        depth += 1 if bracket.group() in "[{" else -1
        peak = max(peak, depth)
    indent = max((len(m.group()) for m in _INDENT.finditer(text)), default=0)
    return _FastLoader if peak < _SAFE_DEPTH and indent < 2 * _SAFE_DEPTH else _Loader


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


def parse_document(text: str, *, file: str) -> Document:
    """Parse one YAML document into a plain tree with the position of every key and item.

    An empty file (or one with only comments) gives `data=None`; the caller decides.

    Raises:
        SpecError: every problem found, located: syntax errors, unsupported tags, duplicate
            keys, keys that are not text, several documents, too many nodes after expanding
            aliases, too much nesting or text.
    """
    if len(text) > MAX_FILE_BYTES:
        raise SpecError([_too_large(file)])
    try:
        root = _compose(text, file)
        if root is None:
            return Document(file=file, data=None, positions={(): Position(file, 1, 1)})
        _check_size(root, file)
        return _Builder(file).document(root)
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


def _compose(text: str, file: str) -> Node | None:
    """The node tree of the only document in `text`, or None if there is none."""
    fast = _loader_for(text)
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
            issue = _issue_at(file, mark, "only one YAML document per file", hint)
            raise SpecError([issue])
        return root
    except yaml.YAMLError as exc:
        raise SpecError([_yaml_issue(file, text, exc)]) from None
    finally:
        if loader is not None:
            loader.dispose()


def _yaml_issue(file: str, text: str, exc: yaml.YAMLError) -> Issue:
    """One located Issue from PyYAML's structured error fields."""
    if isinstance(exc, yaml.MarkedYAMLError):
        message = exc.problem or exc.context or "not valid YAML"
        return _issue_at(file, exc.problem_mark or exc.context_mark, message, _SYNTAX_HINT)
    if isinstance(exc, yaml.reader.ReaderError) and isinstance(exc.position, int):
        message = f"character #x{ord(text[exc.position]):04x} is not allowed in YAML"
        hint = "remove control characters from the file"
        return _issue_after(file, text[: exc.position], message, hint)
    return Issue(file=file, message=f"not valid YAML: {' '.join(str(exc).split())}")


def _issue_at(file: str, mark: yaml.Mark | None, message: str, hint: str, path: str = "") -> Issue:
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    return Issue(file=file, line=line, column=column, path=path, message=message, hint=hint)


def _issue_after(file: str, before: str, message: str, hint: str) -> Issue:
    """An Issue located just after the text `before` (everything up to the bad character)."""
    line_start = before.rfind("\n") + 1
    line, column = before.count("\n") + 1, len(before) - line_start + 1
    return Issue(file=file, line=line, column=column, message=message, hint=hint)


def _check_size(root: Node, file: str) -> None:
    """Refuse a tree that expands past MAX_NODES, before any of it is built."""
    if _expanded_size(root, file, {}, set()) > MAX_NODES:
        message = f"too many nodes after expanding aliases (over {MAX_NODES})"
        raise SpecError([_issue_at(file, root.start_mark, message, _ANCHOR_HINT)])


def _expanded_size(node: Node, file: str, sizes: dict[int, int], active: set[int]) -> int:
    """How many nodes `node` becomes once every alias is copied out, capped at MAX_NODES + 1.

    An alias is the same Node object as its anchor, so the DAG is small even when its
    expansion is huge; `sizes` remembers each node's *expanded* count (not a built value),
    which keeps this linear in the text while still counting every copy the builder would make.
    """
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in active:  # an anchor that contains an alias to itself
        message = "an alias refers to the anchor that contains it"
        hint = "an anchored value cannot include itself"
        raise SpecError([_issue_at(file, node.start_mark, message, hint)])
    active.add(key)
    total = 1
    children = node.value if isinstance(node, SequenceNode) else []
    if isinstance(node, MappingNode):
        children = [child for pair in node.value for child in pair]
    for child in children:
        total = min(total + _expanded_size(child, file, sizes, active), MAX_NODES + 1)
    active.discard(key)
    sizes[key] = total
    return total


_Entry = tuple[str, Node, Node]  # (key text, key node, value node)


class _Builder:
    """Builds the plain tree from nodes, recording positions and collecting every issue."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: dict[Path_, Position] = {(): Position(file, 1, 1)}
        self.issues: dict[tuple[int, int, str], Issue] = {}
        self.tags: dict[Path_, str] = {}
        self.texts: dict[Path_, str] = {}

    def document(self, root: Node) -> Document:
        data = self.build(root, ())
        if self.issues:
            raise SpecError(list(self.issues.values()))
        return Document(
            file=self.file, data=data, positions=self.positions, tags=self.tags, texts=self.texts
        )

    def build(self, node: Node, path: Path_) -> Any:
        handler = _HANDLERS.get(node.tag)
        return self.unsupported(node, path) if handler is None else handler(self, node, path)

    def unsupported(self, node: Node, path: Path_) -> None:
        self.issue(node, path, f"unsupported tag '{_show_tag(node.tag)}'", _TAG_HINT)

    def issue(self, node: Node, path: Path_, message: str, hint: str) -> None:
        issue = _issue_at(self.file, node.start_mark, message, hint, path=dotted(path))
        # An aliased node is built once per alias: report each of its problems once.
        self.issues.setdefault((issue.line, issue.column, message), issue)

    def position(self, node: Node) -> Position:
        mark = node.start_mark
        return Position(self.file, mark.line + 1, mark.column + 1)

    def plain(self, node: Node, path: Path_) -> Any:
        value = _resolve_plain(node.value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.texts[path] = node.value
        return value

    def string(self, node: Node, path: Path_) -> Any:
        if isinstance(node, ScalarNode):
            return node.value
        return self.wrong_kind(node, path)

    def sequence(self, node: Node, path: Path_) -> Any:
        if not isinstance(node, SequenceNode):
            return self.wrong_kind(node, path)
        items = []
        for index, item in enumerate(node.value):
            self.positions[(*path, index)] = self.position(item)
            items.append(self.build(item, (*path, index)))
        return items

    def mapping(self, node: Node, path: Path_) -> Any:
        if not isinstance(node, MappingNode):
            return self.wrong_kind(node, path)
        result = {}
        for key, key_node, value_node in self.entries(node, path):
            self.positions[(*path, key)] = self.position(key_node)
            result[key] = self.build(value_node, (*path, key))
        return result

    def reset(self, node: Node, path: Path_) -> Any:
        self.tags[path] = "reset"
        return self.untagged(node, path)

    def override(self, node: Node, path: Path_) -> Any:
        self.tags[path] = "override"
        return self.untagged(node, path)

    def untagged(self, node: Node, path: Path_) -> Any:
        if isinstance(node, ScalarNode):
            return _resolve_plain(node.value)
        if isinstance(node, SequenceNode):
            return self.sequence(node, path)
        return self.mapping(node, path)

    def wrong_kind(self, node: Node, path: Path_) -> None:
        self.issue(node, path, f"tag '{_show_tag(node.tag)}' does not fit this value", _TAG_HINT)

    def entries(self, node: MappingNode, path: Path_) -> list[_Entry]:
        """The mapping's entries after `<<` merges: explicit keys win, then earlier sources."""
        seen: dict[str, Node] = {}
        explicit: dict[str, tuple[Node, Node]] = {}
        merged: dict[str, tuple[Node, Node]] = {}
        order: list[str] = []
        for key_node, value_node in node.value:
            key = self.key_text(key_node, path)
            if key is None or self.is_duplicate(key, key_node, seen, path):
                continue
            seen[key] = key_node
            if _is_merge_key(key_node):
                for name, source_key, source_value in self.merge_sources(value_node, path):
                    merged.setdefault(name, (source_key, source_value))
                    order.append(name)
            else:
                explicit[key] = (key_node, value_node)
                order.append(key)
        winners = {**merged, **explicit}
        return [(key, *winners[key]) for key in dict.fromkeys(order)]

    def merge_sources(self, node: Node, path: Path_) -> list[_Entry]:
        """The entries a `<<` brings in: from one mapping, or from a list of mappings in order."""
        sources = node.value if isinstance(node, SequenceNode) else [node]
        found: list[_Entry] = []
        for source in sources:
            if isinstance(source, MappingNode) and source.tag == _MAP_TAG:
                found += self.entries(source, path)
            else:
                hint = "merge an anchored mapping, e.g. '<<: *defaults'"
                self.issue(source, path, "'<<' takes a mapping or a list of mappings", hint)
        return found

    def key_text(self, node: Node, path: Path_) -> str | None:
        """A key as the text the user wrote (`8080`, `on`), or None after an issue."""
        if isinstance(node, ScalarNode) and node.tag not in (_PLAIN_TAG, _STR_TAG, _MERGE_TAG):
            self.unsupported(node, path)
            return None
        # A null key (`~:`, `: x`) is as unusable as a list or mapping key.
        if not isinstance(node, ScalarNode) or (
            node.tag == _PLAIN_TAG and _resolve_plain(node.value) is None
        ):
            self.issue(node, path, "keys must be text", _KEY_HINT)
            return None
        text: str = node.value
        return text

    def is_duplicate(self, key: str, node: Node, seen: dict[str, Node], path: Path_) -> bool:
        first = seen.get(key)
        if first is None:
            return False
        line = self.position(first).line
        message = f"duplicate key '{key}' (first at line {line})"
        self.issue(node, (*path, key), message, "remove one of them")
        return True


# Tag → builder. Custom tags such as `!reset` or `!override` are one entry here each.
_HANDLERS: dict[str, Callable[[_Builder, Node, Path_], Any]] = {
    _PLAIN_TAG: _Builder.plain,
    _STR_TAG: _Builder.string,
    _SEQ_TAG: _Builder.sequence,
    _MAP_TAG: _Builder.mapping,
    "!reset": _Builder.reset,
    "!override": _Builder.override,
}


def _is_merge_key(node: Node) -> bool:
    return node.tag == _MERGE_TAG or (node.tag == _PLAIN_TAG and node.value == "<<")


def _show_tag(tag: str) -> str:
    """A tag as the user wrote it: `!!python/object`, `!reset`, or `!<verbatim>`."""
    if tag.startswith(_YAML_TAG_PREFIX):
        return "!!" + tag[len(_YAML_TAG_PREFIX) :]
    return tag if tag.startswith("!") else f"!<{tag}>"


def dotted(path: Path_) -> str:
    """`("services", "web", "ports", 0)` → `services.web.ports[0]`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
