"""`leaving.ServiceNames` against the in-memory engine: no container starts while one leaves
its service's names (a start takes the lowest free address, which may be the one given up),
and a leave waits for the starts in flight."""

from __future__ import annotations

import threading
import time

from fakes import FakeEngine

from stackr import api
from stackr.leaving import ServiceNames

IMAGES = {"img:1": "sha256:1"}
NETWORK = "shop-dev-default"
WEB, API = "shop-dev-web-1", "shop-dev-api-1"


def _engine(write_stack) -> FakeEngine:  # type: ignore[no-untyped-def]
    """web-1 running on the stack's network, api-1 made but stopped (it takes an address when
    it starts: the lowest free one)."""
    services = {"web": {"image": "img:1"}, "api": {"image": "img:1"}}
    engine = FakeEngine(images=dict(IMAGES))
    path = write_stack({"name": "shop", "services": services})
    loaded = api.load([str(path)], profile="dev", env={})
    api.up(loaded, engine, options=api.UpOptions(wait_timeout=1))
    engine.stop_container(API, timeout=0)
    engine.containers[API].addresses.clear()
    engine.log.clear()
    return engine


def test_no_container_starts_while_one_leaves_the_names(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = _engine(write_stack)
    names = ServiceNames(engine)
    starting = threading.Thread(target=names.start, args=(API,))
    disconnect = engine.disconnect_container

    def disconnecting(name: str, network: str) -> None:
        disconnect(name, network)
        starting.start()  # api-1 starts now, with web-1's address free ...
        time.sleep(0.2)  # ... unless it waits until web-1 is back

    engine.disconnect_container = disconnecting  # type: ignore[method-assign]
    before = engine.containers[WEB].addresses[NETWORK]
    left = names.leave(WEB, [NETWORK])
    starting.join(timeout=2)
    assert engine.log == [
        f"disconnect_container {WEB} {NETWORK}",
        f"connect_container {WEB} {NETWORK}",
        f"start_container {API}",
    ]
    assert left.kept and left.cut == ()
    assert engine.containers[WEB].addresses[NETWORK] == before
    assert engine.containers[API].addresses[NETWORK] != before


def test_a_leave_waits_for_the_starts_in_flight(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = _engine(write_stack)
    names = ServiceNames(engine)
    release, in_start = threading.Event(), threading.Event()
    start = engine.start_container

    def slow_start(name: str) -> None:
        in_start.set()
        release.wait(timeout=2)
        start(name)

    engine.start_container = slow_start  # type: ignore[method-assign]
    starting = threading.Thread(target=names.start, args=(API,))
    starting.start()
    assert in_start.wait(timeout=2)
    leaving = threading.Thread(target=names.leave, args=(WEB, [NETWORK]))
    leaving.start()
    time.sleep(0.2)
    assert engine.log == []  # the leave has not begun: api-1 is still starting
    release.set()
    starting.join(timeout=2)
    leaving.join(timeout=2)
    assert engine.log == [
        f"start_container {API}",
        f"disconnect_container {WEB} {NETWORK}",
        f"connect_container {WEB} {NETWORK}",
    ]


def test_starts_run_together(write_stack) -> None:  # type: ignore[no-untyped-def]
    # Only leaving and joining are one at a time: starts alone are not held back.
    engine = _engine(write_stack)
    engine.stop_container(WEB, timeout=0)
    names = ServiceNames(engine)
    both_in = threading.Barrier(2, timeout=2)
    start = engine.start_container

    def meeting(name: str) -> None:
        both_in.wait()  # broken, and raising, unless both starts are in at once
        start(name)

    engine.start_container = meeting  # type: ignore[method-assign]
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            names.start(name)
        except BaseException as error:  # said in the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in (WEB, API)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=3)
    assert errors == []
    assert {engine.containers[n].state for n in (WEB, API)} == {"running"}
