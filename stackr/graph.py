"""The dependency graph of a stack: the only module that imports networkx.

Nodes are networks, volumes, replicas and services; an edge `a → b` means `a` must exist (or be
ready) before `b`. A service node stands for "every replica of the service is up"; an edge from a
service to a dependent replica carries the `depends_on` condition the dependent waits for.
A `depends_on` cycle is refused here, before anything touches an engine.

networkx is imported when a graph is built, not with this module: the node types are needed by
paths (`down`) that never build a graph, and networkx takes about 0.1 s to import.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stackr.errors import CycleError, Issue
from stackr.spec.model import Condition, MountKind, Stack

if TYPE_CHECKING:
    import networkx as nx


class NodeKind(enum.Enum):
    NETWORK = "network"
    VOLUME = "volume"
    REPLICA = "replica"
    SERVICE = "service"


@dataclass(frozen=True, slots=True)
class Node:
    """A vertex of the stack's graph: a service replica, a network or a volume."""

    kind: NodeKind
    name: str  # the logical name in the stack file (service name for replicas)
    replica: int = 0

    def sort_key(self) -> tuple[str, str, int]:
        return (self.kind.value, self.name, self.replica)

    def __str__(self) -> str:
        suffix = f"#{self.replica}" if self.kind is NodeKind.REPLICA else ""
        return f"{self.kind.value} {self.name}{suffix}"


class StackGraph:
    """A built, acyclic dependency graph; read-only after `build_graph`."""

    def __init__(self, graph: nx.DiGraph) -> None:
        self._graph = graph

    def nodes(self) -> list[Node]:
        """Every node, in an order where each comes after what it needs."""
        import networkx as nx

        return list(nx.lexicographical_topological_sort(self._graph, key=Node.sort_key))

    def predecessors(self, node: Node) -> list[Node]:
        return sorted(self._graph.predecessors(node), key=Node.sort_key)

    def successors(self, node: Node) -> list[Node]:
        return sorted(self._graph.successors(node), key=Node.sort_key)

    def condition(self, source: Node, target: Node) -> Condition | None:
        """The condition `target` waits for on `source` (service → replica edges only)."""
        value = self._graph.edges[source, target].get("condition")
        return value if isinstance(value, Condition) else None


def build_graph(stack: Stack) -> StackGraph:
    """The graph of `stack`.

    Raises:
        CycleError: `depends_on` forms a cycle (load_stack reports these first, located).
    """
    import networkx as nx

    _refuse_cycles(stack)
    graph: nx.DiGraph = nx.DiGraph()
    # An external network or volume is there before `up` begins (it checks): nothing waits.
    networks = [name for name, n in stack.networks.items() if not n.external]
    volumes = [name for name, v in stack.volumes.items() if not v.external]
    for name in networks:
        graph.add_node(Node(NodeKind.NETWORK, name))
    for name in volumes:
        graph.add_node(Node(NodeKind.VOLUME, name))
    for service in stack.services.values():
        ready = Node(NodeKind.SERVICE, service.name)
        graph.add_node(ready)
        for replica in _replicas(service.name, service.replicas):
            graph.add_edge(replica, ready)
            for network in service.networks:
                if network in networks:
                    graph.add_edge(Node(NodeKind.NETWORK, network), replica)
            for mount in service.mounts:
                if mount.kind is MountKind.VOLUME and mount.source in volumes:
                    graph.add_edge(Node(NodeKind.VOLUME, mount.source), replica)
            for dep in service.depends_on:
                graph.add_edge(
                    Node(NodeKind.SERVICE, dep.service), replica, condition=dep.condition
                )
    return StackGraph(graph)


def _replicas(service: str, count: int) -> Iterator[Node]:
    return (Node(NodeKind.REPLICA, service, n) for n in range(1, count + 1))


def _refuse_cycles(stack: Stack) -> None:
    # load_stack already reports cycles with their location; this guards models built otherwise.
    import networkx as nx

    deps: nx.DiGraph = nx.DiGraph()
    deps.add_nodes_from(stack.services)
    for service in stack.services.values():
        deps.add_edges_from((service.name, d.service) for d in service.depends_on)
    try:
        edges = nx.find_cycle(deps)
    except nx.NetworkXNoCycle:
        return
    cycle = [edges[0][0], *(target for _, target in edges)]
    issue = Issue(
        file=stack.files[0] if stack.files else "stack.yml",
        path=f"services.{cycle[0]}.depends_on",
        message=f"dependency cycle: {' → '.join(cycle)}",
        hint="remove one of these depends_on entries",
    )
    raise CycleError(cycle, issue)
