"""The common case of loading, made cheap: an ordinary stack file built straight from libyaml's
parse events, without composing a node tree first.

An ordinary file is one `stackr.spec.yamltree` would build without a word to say: text keys
written once each, plain and quoted scalars, lists and mappings, the `!reset`/`!override` tags,
no anchor, alias or `<<`. On anything else (a syntax error, another tag, a duplicate or null
key, several documents, more than `MAX_NODES` nodes) this builder gives up and returns None, and
the full loader in `stackr.spec.source` takes the file from the start: it alone words problems,
so both always agree. The tests hold the two to the same result on every file they accept.
"""

from __future__ import annotations

from typing import Any

from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)

from stackr.spec import yamltree
from stackr.spec.document import Document, Path_, Position
from stackr.spec.yamltree import MAP_TAG, NUMBERS, SEQ_TAG, STR_TAG, resolve_plain

__all__ = ["build_ordinary"]

_MERGE_TAGS = {"!reset": "reset", "!override": "override"}
_NULL_TEXTS = frozenset(("~", "null", "Null", "NULL", ""))


class _NotOrdinary(Exception):
    """Something only the full loader handles or words."""


def build_ordinary(text: str, file: str, loader: Any) -> Document | None:
    """The Document of `text` parsed by `loader` (libyaml's), or None if the file is not
    ordinary (see the module docstring)."""
    try:
        return _EventBuilder(text, file, loader).document()
    except Exception:  # _NotOrdinary, or anything the parser raises: the full loader decides
        return None


class _EventBuilder:
    def __init__(self, text: str, file: str, loader: Any) -> None:
        self.file = file
        self.parser = loader(text)
        self.next: Any = self.parser.get_event
        self.positions: dict[Path_, Position] = {(): Position(file, 1, 1)}
        self.tags: dict[Path_, str] = {}
        self.texts: dict[Path_, str] = {}
        self.entries = 0  # mapping values: with the positions (keys, items, root), the nodes
        self.plains: dict[str, Any] = {}  # a plain scalar's value depends on its text only

    def document(self) -> Document:
        try:
            self.expect(StreamStartEvent)
            self.expect(DocumentStartEvent)
            data = self.node(self.next(), ())
            self.expect(DocumentEndEvent)
            self.expect(StreamEndEvent)
        finally:
            self.parser.dispose()
        if len(self.positions) + self.entries > yamltree.MAX_NODES:
            raise _NotOrdinary
        return Document(
            file=self.file, data=data, positions=self.positions, tags=self.tags, texts=self.texts
        )

    def expect(self, kind: type[Event]) -> None:
        if self.next().__class__ is not kind:
            raise _NotOrdinary

    def node(self, event: Any, path: Path_) -> Any:
        if event.anchor is not None:
            raise _NotOrdinary
        kind = event.__class__
        tag = event.tag
        if tag is not None and tag in _MERGE_TAGS:
            self.tags[path] = _MERGE_TAGS[tag]
            if kind is ScalarEvent:
                value = resolve_plain(event.value)  # as written, even quoted
                if value.__class__ in NUMBERS:  # and its text kept, as an untagged one's
                    self.texts[path] = event.value
                return value
            tag = None
        if kind is ScalarEvent:
            return self.scalar(event, path)
        if kind is MappingStartEvent and (tag is None or tag == MAP_TAG):
            return self.mapping(path)
        if kind is SequenceStartEvent and (tag is None or tag == SEQ_TAG):
            return self.sequence(path)
        raise _NotOrdinary  # an alias, or a tag the full loader refuses

    def scalar(self, event: Any, path: Path_) -> Any:
        text = event.value
        if event.tag is None and event.implicit[0]:  # plain: typed by YAML 1.2 core
            try:
                value = self.plains[text]
            except KeyError:
                value = self.plains[text] = resolve_plain(text)
            if value.__class__ in NUMBERS:
                self.texts[path] = text
            return value
        if event.tag is None or event.tag == STR_TAG:
            return text
        raise _NotOrdinary

    def mapping(self, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        positions, file, next_event = self.positions, self.file, self.next
        while True:
            key = next_event()
            if key.__class__ is MappingEndEvent:
                self.entries += len(result)
                return result
            text = self.key_text(key)
            if text in result:
                raise _NotOrdinary  # a duplicate key, reported by the full loader
            at = (*path, text)
            mark = key.start_mark
            positions[at] = Position(file, mark.line + 1, mark.column + 1)
            result[text] = self.node(next_event(), at)

    def key_text(self, event: Any) -> str:
        if event.__class__ is not ScalarEvent or event.anchor is not None:
            raise _NotOrdinary
        text: str = event.value
        if event.tag is None and event.implicit[0]:
            if text == "<<" or text in _NULL_TEXTS:
                raise _NotOrdinary  # a merge, or a null key
            return text
        if event.tag is None or event.tag == STR_TAG:
            return text
        raise _NotOrdinary

    def sequence(self, path: Path_) -> list[Any]:
        items: list[Any] = []
        positions, file, next_event = self.positions, self.file, self.next
        while True:
            item = next_event()
            if item.__class__ is SequenceEndEvent:
                return items
            at = (*path, len(items))
            mark = item.start_mark
            positions[at] = Position(file, mark.line + 1, mark.column + 1)
            items.append(self.node(item, at))
