"""The dependency graph: nodes, must-exist-first edges, conditions, dependents."""

from __future__ import annotations

import pytest

from stackr.errors import CycleError
from stackr.graph import Node, NodeKind, build_graph
from stackr.spec import load_stack
from stackr.spec.model import Condition, Dependency, Service, Stack

SPEC = {
    "services": {
        "web": {
            "image": "x",
            "replicas": 2,
            "networks": ["front"],
            "depends_on": {"db": {"condition": "healthy"}},
        },
        "db": {
            "image": "x",
            "volumes": ["data:/d"],
            "networks": ["front"],
            "healthcheck": {"test": ["CMD", "true"]},
        },
    },
    "volumes": {"data": {}},
    "networks": {"front": {}},
}


def test_nodes_and_edges(write_stack) -> None:  # type: ignore[no-untyped-def]
    graph = build_graph(load_stack([str(write_stack(SPEC))], profile="dev", env={}))
    web1 = Node(NodeKind.REPLICA, "web", 1)
    assert graph.predecessors(web1) == [
        Node(NodeKind.NETWORK, "front"),
        Node(NodeKind.SERVICE, "db"),
    ]
    assert graph.predecessors(Node(NodeKind.REPLICA, "db", 1)) == [
        Node(NodeKind.NETWORK, "front"),
        Node(NodeKind.VOLUME, "data"),
    ]
    assert graph.condition(Node(NodeKind.SERVICE, "db"), web1) is Condition.HEALTHY


def test_order_puts_needs_first(write_stack) -> None:  # type: ignore[no-untyped-def]
    order = build_graph(load_stack([str(write_stack(SPEC))], profile="dev", env={})).nodes()
    assert order.index(Node(NodeKind.VOLUME, "data")) < order.index(Node(NodeKind.REPLICA, "db", 1))
    assert order.index(Node(NodeKind.SERVICE, "db")) < order.index(Node(NodeKind.REPLICA, "web", 2))


def test_dependents_are_transitive(write_stack) -> None:  # type: ignore[no-untyped-def]
    spec = {
        "services": {
            "a": {"image": "x"},
            "b": {"image": "x", "depends_on": ["a"]},
            "c": {"image": "x", "depends_on": ["b"]},
            "d": {"image": "x", "replicas": 0, "depends_on": ["a"]},
        }
    }
    stack = load_stack([str(write_stack(spec))], profile="dev", env={})
    assert stack.dependents("a") == {"b", "c", "d"}
    assert stack.dependents("b") == {"c"}
    assert stack.dependents("c") == set()


def test_model_built_by_hand_with_a_cycle_is_refused() -> None:
    services = {
        "a": Service(name="a", image="x", depends_on=(Dependency(service="b"),)),
        "b": Service(name="b", image="x", depends_on=(Dependency(service="a"),)),
    }
    stack = Stack(name="s", profile="dev", project_dir="/", files=("s.yml",), services=services)
    with pytest.raises(CycleError, match="dependency cycle: a → b → a"):
        build_graph(stack)
