"""YAML text of plain data (what `stackr config` prints), the same as `yaml.dump` with
`sort_keys=False, default_flow_style=False` writes, made cheaper.

PyYAML's representer looks up a function per value and keeps every container for aliases;
for the rendered stack, which holds only mappings, lists, strings, numbers, booleans and None,
each written once, the node tree is built here directly and handed to libyaml's emitter. Any
other value, or a container met twice (which `yaml.dump` writes as an anchor and alias), goes
through `yaml.dump` itself, so the text is always the same.
"""

from __future__ import annotations

import gc
import io
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["dump"]

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's, when PyYAML has it
_TAG = "tag:yaml.org,2002:"
_STR = _TAG + "str"
_INF = float("inf")


class _Unusual(Exception):
    """A value only PyYAML's representer writes exactly."""


class _CachingDumper(_Dumper):  # type: ignore[misc]
    """The emitter asks for the implicit tag of every scalar twice, and a rendered stack repeats
    a few thousand texts many times over: each answer is kept (it depends on the text alone
    while no path resolver is registered, and none is)."""

    def __init__(self, stream: io.StringIO) -> None:
        super().__init__(stream, default_flow_style=False, sort_keys=False)
        self.resolved: dict[tuple[str, tuple[bool, bool]], str] = {}

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is not ScalarNode or self.yaml_path_resolvers:
            tag: str = super().resolve(kind, value, implicit)
            return tag
        key = (value, implicit)
        found = self.resolved.get(key)
        if found is None:
            found = self.resolved[key] = super().resolve(kind, value, implicit)
        return found


def dump(data: Any) -> str:
    """`data` as block-style YAML, keys in their order."""
    # The node tree holds no reference cycle, but the collector would walk it again and
    # again as it grows, beside the stack it was rendered from: pause it.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _dump(data)
    finally:
        if paused:
            gc.enable()


def _dump(data: Any) -> str:
    try:
        node = _node(data, set())
    except _Unusual:
        return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
    stream = io.StringIO()
    dumper = _CachingDumper(stream)
    try:
        dumper.open()
        dumper.serialize(node)
        dumper.close()
    finally:
        dumper.dispose()
    return stream.getvalue()


def _node(value: Any, seen: set[int]) -> Node:
    """The node SafeRepresenter makes of `value` (see its represent_* methods)."""
    kind = type(value)
    if kind is str:
        return ScalarNode(_STR, value)
    if kind is dict or kind is list:
        if id(value) in seen:
            raise _Unusual  # shared: yaml.dump writes an alias
        seen.add(id(value))
        # Strings, most of the values and all the keys, are made here without a call.
        if kind is list:
            items = [ScalarNode(_STR, v) if type(v) is str else _node(v, seen) for v in value]
            return SequenceNode(_TAG + "seq", items, flow_style=False)
        pairs = [
            (
                ScalarNode(_STR, k) if type(k) is str else _node(k, seen),
                ScalarNode(_STR, v) if type(v) is str else _node(v, seen),
            )
            for k, v in value.items()
        ]
        return MappingNode(_TAG + "map", pairs, flow_style=False)
    if value is None:
        return ScalarNode(_TAG + "null", "null")
    if kind is bool:
        return ScalarNode(_TAG + "bool", "true" if value else "false")
    if kind is int:
        return ScalarNode(_TAG + "int", str(value))
    if kind is float:
        return ScalarNode(_TAG + "float", _float_text(value))
    raise _Unusual


def _float_text(value: float) -> str:
    if value != value:
        return ".nan"
    if value in (_INF, -_INF):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value).lower()
    # `1e17` is no YAML float: PyYAML writes `1.0e17`.
    return text.replace("e", ".0e", 1) if "." not in text and "e" in text else text
