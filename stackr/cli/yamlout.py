"""YAML text of plain data (what `stackr config` prints), the same as `yaml.dump` with
`sort_keys=False, default_flow_style=False` writes, made cheaper.

`yaml.dump` represents the data as a node tree (looking up a function per value and keeping
every container to find aliases), then serializes the tree into events for libyaml's emitter,
asking the resolver twice per scalar whether its tag can stay implicit. For the rendered stack,
which holds only mappings, lists, strings, numbers, booleans and None, each written once, the
events are made here directly, the same ones, with each text's implicit-tag answer remembered (a
rendered stack repeats a few thousand texts many times over). Any other value, or a container
met twice (which `yaml.dump` writes as an anchor and alias), goes through `yaml.dump` itself, so
the text is always the same.
"""

from __future__ import annotations

import gc
import io
from collections.abc import Callable
from typing import Any

import yaml
from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import ScalarNode

from stackr.spec.yamltree import resolve_plain

__all__ = ["dump"]

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's, when PyYAML has it
_TAG = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ = _TAG + "str", _TAG + "map", _TAG + "seq"
_INF = float("inf")


class _Unusual(Exception):
    """A value only PyYAML's representer writes exactly."""


def dump(data: Any) -> str:
    """`data` as block-style YAML, keys in their order."""
    # The events hold no reference cycle, but the collector would walk them again and again,
    # beside the stack they were rendered from: pause it.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _dump(data)
    except _Unusual:
        return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
    finally:
        if paused:
            gc.enable()


def _dump(data: Any) -> str:
    stream = io.StringIO()
    dumper = _Dumper(stream, default_flow_style=False, sort_keys=False)
    if dumper.yaml_path_resolvers:  # tags would depend on where a value is: not handled here
        raise _Unusual
    try:
        dumper.open()
        dumper.emit(DocumentStartEvent(explicit=False))
        _Writer(dumper).write(data)
        dumper.emit(DocumentEndEvent(explicit=False))
        dumper.close()
    finally:
        dumper.dispose()
    return stream.getvalue()


class _Writer:
    """Emits the events PyYAML's SafeRepresenter and serializer would for each value."""

    def __init__(self, dumper: Any) -> None:
        self.emit: Callable[[Event], None] = dumper.emit
        self.resolve: Callable[[type, str, tuple[bool, bool]], str] = dumper.resolve
        self.seen: set[int] = set()
        self.implicit: dict[tuple[str, str], tuple[bool, bool]] = {}

    def write(self, value: Any) -> None:
        kind = type(value)
        if kind is dict or kind is list:
            if id(value) in self.seen:
                raise _Unusual  # shared: yaml.dump writes an alias
            self.seen.add(id(value))
        if kind is dict:
            self.emit(MappingStartEvent(None, _MAP, True, flow_style=False))
            for key, item in value.items():
                self.write(key)
                self.write(item)
            self.emit(MappingEndEvent())
        elif kind is list:
            self.emit(SequenceStartEvent(None, _SEQ, True, flow_style=False))
            for item in value:
                self.write(item)
            self.emit(SequenceEndEvent())
        else:
            self.scalar(*_scalar(value))

    def scalar(self, tag: str, text: str) -> None:
        implicit = self.implicit.get((tag, text))
        if implicit is None:
            # As the serializer decides: may the tag be left out, plain and quoted? And a
            # string stackr's own reading (YAML 1.2) takes for something else is quoted:
            # `0o755` is a number to it, not to PyYAML's YAML 1.1.
            plain = self.resolve(ScalarNode, text, (True, False)) == tag
            plain = plain and (tag != _STR or resolve_plain(text) == text)
            quoted = self.resolve(ScalarNode, text, (False, True)) == tag
            implicit = self.implicit[(tag, text)] = (plain, quoted)
        self.emit(ScalarEvent(None, tag, implicit, text))


def _scalar(value: Any) -> tuple[str, str]:
    """The tag and text SafeRepresenter gives a scalar (see its represent_* methods)."""
    kind = type(value)
    if kind is str:
        return _STR, value
    if value is None:
        return _TAG + "null", "null"
    if kind is bool:
        return _TAG + "bool", "true" if value else "false"
    if kind is int or issubclass(kind, int):  # an int written 0o17 or 0x1F too
        return _TAG + "int", str(int(value))
    if kind is float:
        return _TAG + "float", _float_text(value)
    raise _Unusual


def _float_text(value: float) -> str:
    if value != value:
        return ".nan"
    if value in (_INF, -_INF):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value).lower()
    # `1e17` is no YAML float: PyYAML writes `1.0e17`.
    return text.replace("e", ".0e", 1) if "." not in text and "e" in text else text
