"""The plain tree of one stack file, built from PyYAML's composed nodes with every position kept.

It owns what a stack file's YAML means once parsed: the scalar types (below), the merge key
`<<`, the `!reset`/`!override` tags, and what is refused, each located and all collected into
one `SpecError`: other tags (`!!python/...`), duplicate keys, keys that are not text, alias
expansion past `MAX_NODES` (the "billion laughs" file) or into itself.

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
import re
from collections.abc import Callable
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from stackr.errors import Issue, SpecError
from stackr.spec.document import Document, Path_, Position, dotted

MAX_NODES = 1_000_000  # cap on nodes after alias expansion

PLAIN_TAG = "tag:stackr:plain"  # marks a plain (unquoted, untagged) scalar for resolve_plain
STR_TAG = "tag:yaml.org,2002:str"
SEQ_TAG = "tag:yaml.org,2002:seq"
MAP_TAG = "tag:yaml.org,2002:map"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_YAML_TAG_PREFIX = "tag:yaml.org,2002:"

_KEY_TAGS = frozenset((PLAIN_TAG, STR_TAG, _MERGE_TAG))
_TAG_HINT = "stack files are plain YAML: remove the tag"
_KEY_HINT = "write the key as a name, quoting it if needed"
_ANCHOR_HINT = "an anchor is expanded too many times; use fewer or smaller aliases"


class BasedInt(int):
    """An integer written in octal or hex (`0o644`, `0x1ff`): where a number is read as octal
    digits (a file mode), it stands for its value, not for its decimal digits."""

    __slots__ = ()


# The numbers whose text as written is kept beside them (`Document.texts`).
NUMBERS = frozenset((int, float, BasedInt))

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
    (re.compile(r"0o[0-7]+"), lambda text: BasedInt(text[2:], 8)),
    (re.compile(r"0x[0-9a-fA-F]+"), lambda text: BasedInt(text[2:], 16)),
    (_FLOAT, float),
    (re.compile(r"[-+]?\.(?:inf|Inf|INF)"), lambda text: -math.inf if text[0] == "-" else math.inf),
    (re.compile(r"\.(?:nan|NaN|NAN)"), lambda _: math.nan),
)
# Every rule above needs one of these first characters (or empty text): most plain scalars
# ("nginx:1.25", "image", "/app") are strings at one glance.
_TYPED_STARTS = frozenset("~nNtTfF0123456789+-.")
_NULL_TEXTS = frozenset(("~", "null", "Null", "NULL", ""))


def resolve_plain(text: str) -> Any:
    """The value of a plain scalar under the rules in the module docstring."""
    if text and text[0] not in _TYPED_STARTS:
        return text
    for pattern, convert in _PLAIN_RULES:
        if pattern.fullmatch(text):
            try:
                return convert(text)
            except ValueError:  # an integer too long for int(): keep what the user wrote
                return text
    return text


def issue_at(file: str, mark: yaml.Mark | None, message: str, hint: str, path: str = "") -> Issue:
    """An Issue at a PyYAML mark (0-based) shown 1-based, or at 0:0 without one."""
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    return Issue(file=file, line=line, column=column, path=path, message=message, hint=hint)


def build_document(root: Node, file: str, *, aliased: bool) -> Document:
    """The Document of the composed tree `root`. `aliased`: the text may hold aliases, so the
    tree's expanded size is checked before anything is built.

    Raises:
        SpecError: every problem in the tree, located (see the module docstring).
    """
    if not aliased:
        try:
            return _Builder(file, root, count=True).document()
        except _MergeFound:
            pass  # a `<<` can repeat what it merges: size the tree first after all
    _check_size(root, file)
    return _Builder(file, root, count=False).document()


class _MergeFound(Exception):
    """A `<<` met while counting nodes as they are built, where counting is not exact."""


def _too_many_nodes(file: str, root: Node) -> SpecError:
    message = f"too many nodes after expanding aliases (over {MAX_NODES})"
    return SpecError([issue_at(file, root.start_mark, message, _ANCHOR_HINT)])


def _check_size(root: Node, file: str) -> None:
    """Refuse a tree that expands past MAX_NODES, before any of it is built."""
    if _expanded_size(root, file, {}, set()) > MAX_NODES:
        raise _too_many_nodes(file, root)


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [child for pair in node.value for child in pair]
    return node.value if isinstance(node, SequenceNode) else []


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
        raise SpecError([issue_at(file, node.start_mark, message, hint)])
    active.add(key)
    total = 1
    for child in _children(node):
        total = min(total + _expanded_size(child, file, sizes, active), MAX_NODES + 1)
    active.discard(key)
    sizes[key] = total
    return total


def _tree_size(node: Node) -> int:
    """The nodes in a tree without aliases (the builder skips this one: count it all the same)."""
    return 1 + sum(_tree_size(child) for child in _children(node))


_Entry = tuple[str, Node, Node]  # (key text, key node, value node)


class _Builder:
    """Builds the plain tree from nodes, recording positions and collecting every issue.

    With `count`, the text had no alias: every node is built at most once, so counting them as
    they are built (instead of walking the tree first) enforces MAX_NODES.
    """

    def __init__(self, file: str, root: Node, *, count: bool) -> None:
        self.file = file
        self.root = root
        self.counting = count
        self.positions: dict[Path_, Position] = {(): Position(file, 1, 1)}
        self.issues: dict[tuple[int, int, str], Issue] = {}
        self.tags: dict[Path_, str] = {}
        self.texts: dict[Path_, str] = {}
        self.nodes = 0
        # A plain scalar's value depends on its text only, and keys repeat a lot.
        self.plains: dict[str, Any] = {}

    def document(self) -> Document:
        data = self.build(self.root, ())
        self.check_count()
        if self.issues:
            raise SpecError(list(self.issues.values()))
        return Document(
            file=self.file, data=data, positions=self.positions, tags=self.tags, texts=self.texts
        )

    def build(self, node: Node, path: Path_) -> Any:
        self.nodes += 1
        handler = _HANDLERS.get(node.tag)
        return self.unsupported(node, path) if handler is None else handler(self, node, path)

    def check_count(self) -> None:
        if self.counting and self.nodes > MAX_NODES:
            raise _too_many_nodes(self.file, self.root)

    def skipped(self, node: Node, *, counted: bool = True) -> None:
        """Count a tree left unbuilt after an issue (`counted`: but for the node itself)."""
        if self.counting:
            self.nodes += _tree_size(node) - counted

    def unsupported(self, node: Node, path: Path_) -> None:
        self.skipped(node)
        self.issue(node, path, f"unsupported tag '{_show_tag(node.tag)}'", _TAG_HINT)

    def issue(self, node: Node, path: Path_, message: str, hint: str) -> None:
        issue = issue_at(self.file, node.start_mark, message, hint, path=dotted(path))
        # An aliased node is built once per alias: report each of its problems once.
        self.issues.setdefault((issue.line, issue.column, message), issue)

    def position(self, node: Node) -> Position:
        mark = node.start_mark
        return Position(self.file, mark.line + 1, mark.column + 1)

    def plain(self, node: Node, path: Path_) -> Any:
        text = node.value
        try:
            value = self.plains[text]
        except KeyError:
            value = self.plains[text] = resolve_plain(text)
        if value.__class__ in NUMBERS:
            self.texts[path] = text
        return value

    def string(self, node: Node, path: Path_) -> Any:
        if isinstance(node, ScalarNode):
            return node.value
        return self.wrong_kind(node, path)

    def sequence(self, node: Node, path: Path_) -> Any:
        if not isinstance(node, SequenceNode):
            return self.wrong_kind(node, path)
        items = []
        positions, file, build = self.positions, self.file, self.build
        for index, item in enumerate(node.value):
            at = (*path, index)
            mark = item.start_mark
            positions[at] = Position(file, mark.line + 1, mark.column + 1)
            items.append(build(item, at))
        self.check_count()
        return items

    def mapping(self, node: Node, path: Path_) -> Any:
        if not isinstance(node, MappingNode):
            return self.wrong_kind(node, path)
        if any(_is_merge_key(key) for key, _ in node.value):
            if self.counting:
                raise _MergeFound
            return self.merged_mapping(node, path)
        # No `<<` here: each key is its own entry (the common case, kept lean).
        result: dict[str, Any] = {}
        positions, file = self.positions, self.file
        self.nodes += len(node.value)
        for key_node, value_node in node.value:
            key = self.key_text(key_node, path)
            if key is None or (key in result and self.duplicate(key, key_node, path)):
                self.skipped(value_node, counted=False)
                continue
            at = (*path, key)
            mark = key_node.start_mark
            positions[at] = Position(file, mark.line + 1, mark.column + 1)
            result[key] = self.build(value_node, at)
        self.check_count()
        return result

    def merged_mapping(self, node: MappingNode, path: Path_) -> dict[str, Any]:
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
            value = resolve_plain(node.value)
            if value.__class__ in NUMBERS:  # its text kept, as an untagged number's
                self.texts[path] = node.value
            return value
        if isinstance(node, SequenceNode):
            return self.sequence(node, path)
        return self.mapping(node, path)

    def wrong_kind(self, node: Node, path: Path_) -> None:
        self.skipped(node)
        self.issue(node, path, f"tag '{_show_tag(node.tag)}' does not fit this value", _TAG_HINT)

    def entries(self, node: MappingNode, path: Path_) -> list[_Entry]:
        """The mapping's entries after `<<` merges: explicit keys win, then earlier sources."""
        seen: dict[str, Node] = {}
        explicit: dict[str, tuple[Node, Node]] = {}
        merged: dict[str, tuple[Node, Node]] = {}
        order: list[str] = []
        for key_node, value_node in node.value:
            key = self.key_text(key_node, path)
            if key is None or (key in seen and self.duplicate(key, key_node, path, seen[key])):
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
            if isinstance(source, MappingNode) and source.tag == MAP_TAG:
                found += self.entries(source, path)
            else:
                hint = "merge an anchored mapping, e.g. '<<: *defaults'"
                self.issue(source, path, "'<<' takes a mapping or a list of mappings", hint)
        return found

    def key_text(self, node: Node, path: Path_) -> str | None:
        """A key as the text the user wrote (`8080`, `on`), or None after an issue."""
        tag = node.tag
        if isinstance(node, ScalarNode) and tag not in _KEY_TAGS:
            self.unsupported(node, path)
            return None
        # A null key (`~:`, `: x`) is as unusable as a list or mapping key.
        if not isinstance(node, ScalarNode) or (tag == PLAIN_TAG and node.value in _NULL_TEXTS):
            self.issue(node, path, "keys must be text", _KEY_HINT)
            return None
        text: str = node.value
        return text

    def duplicate(self, key: str, node: Node, path: Path_, first: Node | None = None) -> bool:
        """Report a repeated key at its second place, naming the line of the first."""
        line = self.position(first).line if first else self.positions[(*path, key)].line
        message = f"duplicate key '{key}' (first at line {line})"
        self.issue(node, (*path, key), message, "remove one of them")
        return True


# Tag → builder. Custom tags such as `!reset` or `!override` are one entry here each.
_HANDLERS: dict[str, Callable[[_Builder, Node, Path_], Any]] = {
    PLAIN_TAG: _Builder.plain,
    STR_TAG: _Builder.string,
    SEQ_TAG: _Builder.sequence,
    MAP_TAG: _Builder.mapping,
    "!reset": _Builder.reset,
    "!override": _Builder.override,
}


def _is_merge_key(node: Node) -> bool:
    return node.tag == _MERGE_TAG or (node.tag == PLAIN_TAG and node.value == "<<")


def _show_tag(tag: str) -> str:
    """A tag as the user wrote it: `!!python/object`, `!reset`, or `!<verbatim>`."""
    if tag.startswith(_YAML_TAG_PREFIX):
        return "!!" + tag[len(_YAML_TAG_PREFIX) :]
    return tag if tag.startswith("!") else f"!<{tag}>"
