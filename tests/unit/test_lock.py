"""The per-stack lock: exclusive, names its holder, waits when asked, gone with its holder."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from stackr.errors import LockError
from stackr.lock import stack_lock


@pytest.fixture(autouse=True)
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))


def test_second_holder_is_refused_naming_the_first() -> None:
    with (
        stack_lock("local", "shop", "dev", timeout=0),
        pytest.raises(LockError, match=r"shop \(dev\) is busy: held by pid \d+"),
        stack_lock("local", "shop", "dev", timeout=0),
    ):
        pass


def test_other_profiles_and_stacks_are_independent() -> None:
    with (
        stack_lock("local", "shop", "dev", timeout=0),
        stack_lock("local", "shop", "prod", timeout=0),
        stack_lock("local", "blog", "dev", timeout=0),
    ):
        pass


@pytest.mark.parametrize(
    "other",
    [
        "unix:///var/run/docker.sock",
        "unix:///run/docker.sock",
        "unix:///var/run/docker.sock/",
        "unix:/var/run/docker.sock",  # as DOCKER_HOST may write it: the SDK takes it
    ],
)
def test_one_engine_however_it_is_spelled_has_one_lock(other: str) -> None:
    # /var/run is a link to /run on Debian and most other systems.
    with (
        stack_lock("local", "shop", "dev", timeout=0),
        pytest.raises(LockError, match="is busy"),
        stack_lock(other, "shop", "dev", timeout=0),
    ):
        pass


def test_other_engines_have_their_own_lock() -> None:
    with (
        stack_lock("local", "shop", "dev", timeout=0),
        stack_lock("tcp://10.0.0.5:2376", "shop", "dev", timeout=0),
    ):
        pass


def test_lock_is_free_again_after_the_block() -> None:
    with stack_lock("local", "shop", "dev", timeout=0):
        pass
    with stack_lock("local", "shop", "dev", timeout=0):
        pass


def test_killed_holder_leaves_no_lock(tmp_path: Path) -> None:
    script = (
        "import time\n"
        "from stackr.lock import stack_lock\n"
        "with stack_lock('local', 'shop', 'dev', timeout=0):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(60)\n"
    )
    env = {"XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    holder = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockError), stack_lock("local", "shop", "dev", timeout=0):
            pass
        holder.kill()
        holder.wait()
        started = time.monotonic()
        with stack_lock("local", "shop", "dev", timeout=5):
            assert time.monotonic() - started < 5
    finally:
        holder.kill()
        holder.wait()


def test_a_very_long_stack_or_profile_name_still_locks() -> None:
    long = "x" * 300
    with (
        stack_lock("local", long, "p" * 240, timeout=0),
        pytest.raises(LockError, match="is busy"),
        stack_lock("local", long, "p" * 240, timeout=0),
    ):
        pass


def test_a_lock_folder_that_cannot_be_made_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    refused = f"cannot take the lock of shop/dev in {blocker}"
    with (
        pytest.raises(LockError, match=refused) as caught,
        stack_lock("local", "shop", "dev", timeout=0),
    ):
        pass
    assert "XDG_CACHE_HOME" in caught.value.hint
