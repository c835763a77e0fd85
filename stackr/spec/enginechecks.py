"""A service's runtime options that the engine refuses together, or below its bounds, only when
it creates a container: found at load instead, located, with what to write. Pure.

A swap limit without a memory limit, or below it; `cpus` beside `cpu_period` or `cpu_quota`
(two ways to say one limit); a `cpu_quota` or `cpu_period` under 1 ms; `uts: host` beside a
`hostname` or `domainname` (the host's are the ones in use).
"""

from __future__ import annotations

from collections.abc import Iterator

from stackr.errors import Issue
from stackr.spec.model import Service
from stackr.spec.source import Document
from stackr.spec.values import size_text

Path_ = tuple[str | int, ...]
MIN_CPU_TIME = 1000  # microseconds: the kernel's CFS takes no shorter quota or period


def engine_option_issues(
    service: Service, doc: Document, *, memory_refused: bool = False
) -> Iterator[Issue]:
    """Every combination of `service`'s options the engine would refuse at create;
    `memory_refused`: its memory limit was refused (reported), so it says nothing."""
    if not memory_refused:
        yield from _memory_and_swap(service, doc)
    yield from _cpu_limits(service, doc)
    yield from _uts(service, doc)


def _memory_and_swap(service: Service, doc: Document) -> Iterator[Issue]:
    swap, memory = service.runtime.memswap_limit, service.resources.memory
    if swap is None or swap == -1:
        return
    at: Path_ = ("services", service.name, "memswap_limit")
    if memory is None:
        yield doc.issue(
            at,
            "memswap_limit limits memory and swap together, but the service has no memory limit",
            "set resources: {memory: ...} (at most memswap_limit), or leave memswap_limit out",
        )
    elif swap < memory:
        yield doc.issue(
            at,
            f"memswap_limit ({size_text(swap)}) is below resources.memory ({size_text(memory)}): "
            "it counts memory and swap together",
            "make memswap_limit at least the memory limit (equal to it: no swap)",
        )


def _cpu_limits(service: Service, doc: Document) -> Iterator[Issue]:
    runtime = service.runtime
    for key in ("cpu_period", "cpu_quota"):
        if getattr(runtime, key) is not None and service.resources.cpus is not None:
            yield doc.issue(
                ("services", service.name, key),
                f"{key} and resources.cpus ({service.resources.cpus:g}) are two ways to limit "
                "the CPU time, and the engine takes only one",
                "keep resources.cpus (cpus: 0.5 is a quota of half of every period), or "
                "cpu_period and cpu_quota",
            )
    quota, period = runtime.cpu_quota, runtime.cpu_period
    if quota is not None and quota != -1 and quota < MIN_CPU_TIME:
        yield doc.issue(
            ("services", service.name, "cpu_quota"),
            f"cpu_quota is {quota} microseconds, below the least the kernel takes (1000, 1ms)",
            "give at least 1000, or -1 for no limit",
        )
    if period is not None and period < MIN_CPU_TIME:
        yield doc.issue(
            ("services", service.name, "cpu_period"),
            f"cpu_period is {period} microseconds, below the least the kernel takes (1000, 1ms)",
            "give 1000 to 1000000, or leave it out for the engine's 100000",
        )


def _uts(service: Service, doc: Document) -> Iterator[Issue]:
    if service.runtime.uts != "host":
        return
    for key in ("hostname", "domainname"):
        if getattr(service.runtime, key) is not None:
            yield doc.issue(
                ("services", service.name, key),
                f"{key} beside uts: host, whose {key} is the host's",
                f"leave {key} out, or leave uts: host out",
            )
