"""Cross-checks the schema cannot express: references to undeclared services, volumes,
networks, secrets and configs; two volumes, secrets or configs of a service at one target path;
host ports (`portchecks`); what a `network_mode` rules out (`netmode`); a `healthy` condition
on a service without a healthcheck; options the engine refuses together (`enginechecks`); one
image tag built by two services from different builds. Pure; every problem is an Issue.

A `depends_on` cycle is found here too, so it is reported with everything else, located.
"""

from __future__ import annotations

import difflib
import posixpath
from collections.abc import Collection, Iterator

from stackr.errors import Issue
from stackr.spec.enginechecks import engine_option_issues
from stackr.spec.model import (
    Condition,
    Dependency,
    Mount,
    MountKind,
    PullPolicy,
    Service,
    Stack,
)
from stackr.spec.mounts import UNPARSED_MOUNT
from stackr.spec.netmode import network_mode_issues
from stackr.spec.portchecks import port_clash_issues, port_range_issues
from stackr.spec.prune import Pruned
from stackr.spec.source import Document

Path_ = tuple[str | int, ...]


def check_stack(stack: Stack, doc: Document, *, pruned: Pruned | None = None) -> list[Issue]:
    """Every cross-reference and port problem of `stack`, located through `doc`.

    `pruned` tells what was left out of `stack` for problems already reported: references to
    entries left out are not reported again, nor what a left-out key would have said (a
    dependency's healthcheck or restart policy).
    """
    pruned = pruned or Pruned(doc, set(), {})
    issues: list[Issue] = []
    for service in stack.services.values():
        issues += _references(stack, service, doc, pruned)
        issues += _file_references(stack, service, doc, pruned.broken)
        issues += _targets(service, doc)
        issues += network_mode_issues(stack, service, doc, broken=pruned.broken)
        refused = pruned.without(service.name, "resources")
        issues += engine_option_issues(service, doc, memory_refused=refused)
        if not pruned.without(service.name, "replicas"):  # a refused count says nothing
            issues += port_range_issues(service, doc)
    issues += port_clash_issues(stack, doc)
    issues += _externals_of_its_own(stack, doc)
    issues += _cycles(stack, doc)
    issues += _image_built_two_ways(stack, doc)
    issues += _image_built_and_pulled(stack, doc)
    return issues


def _externals_of_its_own(stack: Stack, doc: Document) -> Iterator[Issue]:
    """An external network or volume named as the stack names its own for this profile: it
    carries the stack's labels, so a plan would remove or recreate it as one of them (and
    `down --volumes` would delete a volume the file says is not the stack's)."""
    own = f"{stack.name}-{stack.profile}-"
    for section, entries in (("networks", stack.networks), ("volumes", stack.volumes)):
        for key, entry in entries.items():
            if entry.external.startswith(own):
                at: Path_ = (section, key, "name")
                yield _issue(
                    doc,
                    at if at in doc.positions else (section, key, "external"),
                    f"{entry.external} is named as this stack names its own {section} for "
                    f"profile {stack.profile}: stackr would take it for one of them",
                    f"declare it without external: true (stackr makes it, and keeps a volume "
                    f"unless `down --volumes`), or give it a name outside {own}*",
                )


def _issue(doc: Document, path: Path_, message: str, hint: str = "") -> Issue:
    return doc.issue(path, message, hint)


def _suggest(name: str, known: list[str], what: str, *, extended: bool = False) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    if known:
        return f"declared {what}: {', '.join(sorted(known))}"
    if extended:  # written in a base another file gives: that file is read for it alone
        return f"declare it under top-level '{what}:' in the stack's own files"
    return f"declare it under top-level '{what}:'"


def _extended(doc: Document, path: Path_) -> bool:
    """Whether the value at `path` comes from a base that `extends` named."""
    return doc.locate(path).layer.startswith("extended from")


# The key of a dependency that says whether a condition on it can hold.
_TELLS = {Condition.HEALTHY: "healthcheck", Condition.COMPLETED: "restart"}


def _references(stack: Stack, service: Service, doc: Document, pruned: Pruned) -> Iterator[Issue]:
    at: Path_ = ("services", service.name)
    broken = pruned.broken
    for dep in service.depends_on:
        if dep.service not in broken:
            yield from _dependency(stack, dep, doc, _dependency_path(doc, at, dep.service), pruned)
    for i, mount in enumerate(service.mounts):
        if mount.kind is MountKind.VOLUME and mount.source not in {*stack.volumes, *broken}:
            extended = _extended(doc, (*at, "volumes", i))
            hint = _suggest(mount.source, list(stack.volumes), "volumes", extended=extended)
            yield _issue(doc, (*at, "volumes", i), f"uses undeclared volume '{mount.source}'", hint)
    for network in service.networks:
        if network not in {*stack.networks, *broken}:
            # The mapping form (`{front: {aliases: [...]}}`) is located by name, a list by index.
            keyed: Path_ = (*at, "networks", network)
            path = (
                keyed if keyed in doc.positions else (*keyed[:-1], service.networks.index(network))
            )
            known = [n for n in stack.networks if n != "default"]
            hint = _suggest(network, known, "networks", extended=_extended(doc, path))
            yield _issue(doc, path, f"joins undeclared network '{network}'", hint)


def _dependency(
    stack: Stack, dep: Dependency, doc: Document, path: Path_, pruned: Pruned
) -> Iterator[Issue]:
    target = stack.services.get(dep.service)
    if target is None:
        hint = _suggest(dep.service, list(stack.services), "services")
        yield _issue(doc, path, f"depends on undeclared service '{dep.service}'", hint)
    elif pruned.without(dep.service, _TELLS.get(dep.condition, "")):
        return  # the key that would tell was refused, and is reported
    elif dep.condition is Condition.HEALTHY and _healthcheck_disabled(target):
        # Without a `healthcheck` key the image's HEALTHCHECK may serve; `up` tells once it
        # runs. Disabled, nothing can.
        said = doc.set_apart(("services", dep.service, "healthcheck"), path)
        yield _issue(
            doc,
            path,
            f"waits for '{dep.service}' to be healthy, but its healthcheck is disabled{said}",
            f"give '{dep.service}' a healthcheck of its own, or use condition: started",
        )
    elif dep.condition is Condition.COMPLETED and not target.restart.one_shot:
        said = doc.set_apart(("services", dep.service, "restart"), path)
        yield _issue(
            doc,
            path,
            f"waits for '{dep.service}' to complete, but its restart policy "
            f"'{target.restart.value}'{said} restarts it whenever it ends",
            f"give '{dep.service}' restart: \"no\" (or on-failure), or use condition: started",
        )


def _file_references(
    stack: Stack, service: Service, doc: Document, broken: Collection[str]
) -> Iterator[Issue]:
    for section, grants, declared in (
        ("secrets", service.secrets, stack.secrets),
        ("configs", service.configs, stack.configs),
    ):
        for i, grant in enumerate(grants):
            path: Path_ = ("services", service.name, section, i)
            if grant.source not in {*declared, *broken}:
                extended = _extended(doc, path)
                hint = _suggest(grant.source, list(declared), section, extended=extended)
                yield _issue(doc, path, f"uses undeclared {section[:-1]} '{grant.source}'", hint)


def _targets(service: Service, doc: Document) -> Iterator[Issue]:
    """Two mounts, secrets or configs of one service at one path: the engine would refuse the
    container ("Duplicate mount point") only once `up` reaches it."""
    at: Path_ = ("services", service.name)
    claims: list[tuple[Path_, str, str]] = [
        ((*at, "volumes", i), m.target, _mount_word(m))
        for i, m in enumerate(service.mounts)
        if m is not UNPARSED_MOUNT
    ]
    for section, grants in (("secrets", service.secrets), ("configs", service.configs)):
        claims += [
            ((*at, section, i), g.target, f"{section[:-1]} '{g.source}'")
            for i, g in enumerate(grants)
        ]
    claims += [(_tmpfs_path(doc, at, i), t, "a tmpfs") for i, t in enumerate(service.runtime.tmpfs)]
    seen: dict[str, str] = {}
    for path, target, what in claims:
        key = posixpath.normpath(target)
        if key in seen:
            yield _issue(
                doc,
                path,
                f"{target} is already the target of {seen[key]}",
                "give each volume, tmpfs, secret and config its own target path",
            )
        seen.setdefault(key, what)
    yield from _files_under_mounts(service, doc)
    yield from _files_in_a_read_only_container(service, doc)


def _tmpfs_path(doc: Document, at: Path_, index: int) -> Path_:
    # `tmpfs` is one string or a list of them.
    return (*at, "tmpfs", index) if (*at, "tmpfs", index) in doc.positions else (*at, "tmpfs")


def _files_under_mounts(service: Service, doc: Document) -> Iterator[Issue]:
    # A secret or config is written into the container after it is made: under a mounted
    # folder it would land in that volume, or on the host through a bind mount; under a tmpfs,
    # the tmpfs mounted at start would hide it.
    folders = [
        (
            posixpath.normpath(m.target),
            _mount_word(m),
            "would be hidden by it" if m.kind is MountKind.TMPFS else "would be written into it",
        )
        for m in service.mounts
        if m is not UNPARSED_MOUNT
    ]
    folders += [
        (posixpath.normpath(t), "a tmpfs", "would be hidden by it") for t in service.runtime.tmpfs
    ]
    for section, grants in (("secrets", service.secrets), ("configs", service.configs)):
        for i, grant in enumerate(grants):
            target = posixpath.normpath(grant.target)
            for folder, what, fate in folders:
                if target.startswith(folder.rstrip("/") + "/"):
                    yield _issue(
                        doc,
                        ("services", service.name, section, i),
                        f"{grant.target} is inside {folder}, where {what} is mounted: the "
                        f"{section[:-1]} {fate}",
                        f"give the {section[:-1]} a target outside {folder}",
                    )
                    break


def _files_in_a_read_only_container(service: Service, doc: Document) -> Iterator[Issue]:
    # Secrets and configs are written into the container's filesystem before it starts, and
    # the engine refuses to write into a read-only one.
    if not service.runtime.read_only:
        return
    for section, grants in (("secrets", service.secrets), ("configs", service.configs)):
        if grants:
            at: Path_ = ("services", service.name, section)
            said = doc.set_apart(("services", service.name, "read_only"), at, "read_only ")
            yield _issue(
                doc,
                at,
                f"a container with read_only: true{said} cannot be given {section}: stackr "
                "writes them into its filesystem, which the engine then refuses",
                "leave out read_only, or pass the values some other way (environment)",
            )


def _mount_word(mount: Mount) -> str:
    if mount.kind is MountKind.BIND:
        return f"the bind mount of {mount.source}"
    if mount.kind is MountKind.VOLUME:
        return f"volume '{mount.source}'"
    if mount.kind is MountKind.TMPFS:
        return "a tmpfs"
    return "an anonymous volume"


def _dependency_path(doc: Document, at: Path_, name: str) -> Path_:
    # `depends_on` is a mapping (`{db: {...}}`) or a list (`[db]`): locate the entry either way.
    keyed: Path_ = (*at, "depends_on", name)
    if keyed in doc.positions:
        return keyed
    written = (doc.data.get("services") or {}).get(at[1]) or {} if doc.data else {}
    for key in ("network_mode", "pid"):  # the dependency `KEY: service:NAME` implies
        if written.get(key) == f"service:{name}":
            return (*at, key)
    raw = doc.data.get("services", {}).get(at[1], {}).get("depends_on") if doc.data else None
    if isinstance(raw, list) and name in raw:
        return (*at, "depends_on", raw.index(name))
    return keyed


def _healthcheck_disabled(service: Service) -> bool:
    return service.healthcheck is not None and service.healthcheck.test == ("NONE",)


def _image_built_two_ways(stack: Stack, doc: Document) -> Iterator[Issue]:
    # One tag holds one image: two different builds of it would overwrite each other, and the
    # services that run it would get whichever came last.
    first: dict[str, Service] = {}
    for name, service in sorted(stack.services.items()):
        if service.build is None:
            continue
        other = first.setdefault(service.image, service)
        if other is not service and other.build != service.build:
            yield _issue(
                doc,
                ("services", name, "build"),
                f"image {service.image} is built by service '{other.name}' too, from another build",
                hint="give each build its own image: tag, or let one service build it and the "
                "other run it without build:",
            )


def _image_built_and_pulled(stack: Stack, doc: Document) -> Iterator[Issue]:
    # A pull would move the tag off the build the builder's containers run, unseen by the plan.
    built = {s.image: s.name for s in stack.services.values() if s.build is not None}
    pulling = (PullPolicy.ALWAYS, PullPolicy.REFRESH)
    for name, service in sorted(stack.services.items()):
        if service.image in built and service.build is None and service.pull_policy in pulling:
            yield _issue(
                doc,
                ("services", name, "pull_policy"),
                f"pulls image {service.image}, which service '{built[service.image]}' builds",
                hint="let it run the build (leave pull_policy out), or give the build its own "
                "image: tag",
            )


def _cycles(stack: Stack, doc: Document) -> Iterator[Issue]:
    """Each distinct `depends_on` cycle once, named from its alphabetically first service."""
    seen: set[frozenset[str]] = set()
    for start in sorted(_reaching_a_cycle(stack)):
        cycle = _cycle_from(stack, start)
        if cycle is None or frozenset(cycle) in seen or cycle[0] != start:
            continue
        seen.add(frozenset(cycle))
        names = " → ".join([*cycle, cycle[0]])
        path = _dependency_path(doc, ("services", start), cycle[1] if len(cycle) > 1 else start)
        hint = "remove one of these depends_on entries"
        if path[-1] in ("network_mode", "pid"):  # the dependency sharing a namespace implies
            hint += f" ({path[-1]}: service:{cycle[1]} starts {start} after {cycle[1]})"
        yield _issue(doc, path, f"dependency cycle: {names}", hint)


def _reaching_a_cycle(stack: Stack) -> set[str]:
    """The services from which a `depends_on` cycle can be reached: only these can be on one.

    One pass, as in a topological sort: a service is set aside once every service it depends
    on has been; what is never set aside reaches a cycle. A valid stack leaves nothing, so the
    search for each cycle's shortest form runs only where there is one.
    """
    waiting = {
        name: {dep.service for dep in service.depends_on if dep.service in stack.services}
        for name, service in stack.services.items()
    }
    dependents: dict[str, list[str]] = {}
    for name, deps in waiting.items():
        for dep in deps:
            dependents.setdefault(dep, []).append(name)
    ready = [name for name, deps in waiting.items() if not deps]
    while ready:
        done = ready.pop()
        for dependent in dependents.get(done, ()):
            waiting[dependent].discard(done)
            if not waiting[dependent]:
                ready.append(dependent)
    return {name for name, deps in waiting.items() if deps}


def _cycle_from(stack: Stack, start: str) -> list[str] | None:
    """The shortest dependency path from `start` back to itself, if any (breadth first)."""
    paths: list[list[str]] = [[start]]
    visited: set[str] = set()
    while paths:
        path = paths.pop(0)
        service = stack.services.get(path[-1])
        for dep in service.depends_on if service else ():
            if dep.service == start:
                return path
            if dep.service not in visited:
                visited.add(dep.service)
                paths.append([*path, dep.service])
    return None
