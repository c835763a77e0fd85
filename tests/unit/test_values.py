"""Parsers of the short textual forms: durations, sizes, ports, volume entries, commands."""

from __future__ import annotations

import pytest

from stackr.spec.model import Mount, MountKind, PortRule
from stackr.spec.mounts import parse_mount
from stackr.spec.values import (
    parse_command,
    parse_duration,
    parse_pairs,
    parse_port,
    parse_size,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2s", 2.0), ("1m30s", 90.0), ("500ms", 0.5), ("1h", 3600.0), ("1.5s", 1.5), (3, 3.0)],
)
def test_duration(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_duration_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("2 seconds")


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("256m", 256 * 1024**2),
        ("1g", 1024**3),
        ("512k", 512 * 1024),
        (100, 100),
        ("1.5g", int(1.5 * 1024**3)),
    ],
)
def test_size(text: object, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("8080", PortRule(container_port=8080)),
        (8080, PortRule(container_port=8080)),
        ("8081-8083:80", PortRule(container_port=80, host_start=8081, host_end=8083)),
        (
            "127.0.0.1:9000-9002:9000/udp",
            PortRule(
                container_port=9000,
                protocol="udp",
                host_ip="127.0.0.1",
                host_start=9000,
                host_end=9002,
            ),
        ),
        (
            "[::1]:53:53/udp",
            PortRule(container_port=53, protocol="udp", host_ip="::1", host_start=53, host_end=53),
        ),
        # A host IP with an empty host port: the engine picks the port.
        ("127.0.0.1::84", PortRule(container_port=84, host_ip="127.0.0.1")),
        ("[::1]::53/udp", PortRule(container_port=53, protocol="udp", host_ip="::1")),
        # Compose's long syntax reads into the same rules.
        ({"target": 8080}, PortRule(container_port=8080)),
        (
            {"target": "80", "published": 8080},
            PortRule(container_port=80, host_start=8080, host_end=8080),
        ),
        (
            {"target": 9000, "published": "9000-9002", "host_ip": "127.0.0.1", "protocol": "udp"},
            PortRule(
                container_port=9000,
                protocol="udp",
                host_ip="127.0.0.1",
                host_start=9000,
                host_end=9002,
            ),
        ),
        (
            {
                "target": 53,
                "host_ip": "[::1]",
                "mode": "host",
                "name": "dns",
                "app_protocol": "dns",
            },
            PortRule(container_port=53, host_ip="::1"),
        ),
    ],
)
def test_port(text: object, rule: PortRule) -> None:
    assert parse_port(text) == rule


def test_port_range_backwards_is_refused() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        parse_port("8083-8081:80")


@pytest.mark.parametrize("text", ["::84", ":84", "127.0.0.1:::84", "127.0.0.1:"])
def test_a_port_with_empty_parts_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a port"):
        parse_port(text)


def test_port_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        parse_port("70000:80")
    with pytest.raises(ValueError, match="out of range"):
        parse_port({"target": 80, "published": "65535-65536"})


def test_long_port_range_backwards_is_refused() -> None:
    with pytest.raises(ValueError, match="8090-8081 ends before it starts"):
        parse_port({"target": 80, "published": "8090-8081"})


@pytest.mark.parametrize(
    "text", ["[::1]:53:53/udp", "127.0.0.1:8081-8083:80/tcp", "80/tcp", "127.0.0.1::80/tcp"]
)
def test_a_port_rule_renders_as_it_reads_back(text: str) -> None:
    # `config` prints rules this way, and its output must read back as the same stack.
    assert parse_port(text).render() == text
    assert parse_port(parse_port(text).render()) == parse_port(text)


def test_host_port_per_replica() -> None:
    rule = parse_port("8081-8083:80")
    assert [rule.host_port_for(n) for n in (1, 2, 3)] == [8081, 8082, 8083]


@pytest.mark.parametrize(
    ("text", "mount"),
    [
        (
            "./conf:/etc/conf:ro",
            Mount(kind=MountKind.BIND, source="/srv/shop/conf", target="/etc/conf", read_only=True),
        ),
        ("/abs:/x", Mount(kind=MountKind.BIND, source="/abs", target="/x")),
        # Tidied, not resolved: a symlink such as /var/run -> /run is the engine host's own.
        (
            "/var/run/docker.sock:/var/run/docker.sock",
            Mount(
                kind=MountKind.BIND, source="/var/run/docker.sock", target="/var/run/docker.sock"
            ),
        ),
        ("./a/../conf/./x:/x", Mount(kind=MountKind.BIND, source="/srv/shop/conf/x", target="/x")),
        ("data:/var/lib/data", Mount(kind=MountKind.VOLUME, source="data", target="/var/lib/data")),
        ("/cache", Mount(kind=MountKind.ANONYMOUS, source="", target="/cache")),
    ],
)
def test_mount(text: str, mount: Mount) -> None:
    assert parse_mount(text, base_dir="/srv/shop") == mount


def test_mount_needs_absolute_target() -> None:
    with pytest.raises(ValueError, match="absolute TARGET"):
        parse_mount("data:relative", base_dir="/")


@pytest.mark.parametrize(
    ("long", "short"),
    [
        (
            {"type": "bind", "source": "./conf", "target": "/etc/conf", "read_only": True},
            "./conf:/etc/conf:ro",
        ),
        (
            {"type": "bind", "source": "conf", "target": "/c", "bind": {"selinux": "Z"}},
            "./conf:/c:Z",
        ),
        (
            {"type": "volume", "source": "data", "target": "/d", "volume": {"nocopy": True}},
            "data:/d:nocopy",
        ),
        ({"type": "volume", "target": "/cache", "read_only": False}, "/cache"),
        (
            {"type": "volume", "source": "data", "target": "/d", "consistency": "cached"},
            "data:/d:cached",
        ),
    ],
)
def test_long_mount_reads_as_the_short_entry_that_says_the_same(
    long: dict[str, object], short: str
) -> None:
    # The same Mount: switching forms changes no container's spec.
    assert parse_mount(long, base_dir="/srv/shop") == parse_mount(short, base_dir="/srv/shop")


def test_long_mount_carries_paths_with_a_colon() -> None:
    mount = parse_mount({"type": "bind", "source": "/srv/a:b", "target": "/x:y"}, base_dir="/")
    assert (mount.kind, mount.source, mount.target) == (MountKind.BIND, "/srv/a:b", "/x:y")


@pytest.mark.parametrize(
    ("long", "problem"),
    [
        ({"type": "volume", "source": "./data", "target": "/d"}, "not a volume's name"),
        ({"type": "bind", "target": "/d"}, "needs a source"),
        ({"type": "volume", "source": "data", "target": "d"}, "not an absolute path"),
        (
            {"type": "volume", "source": "data", "target": "/d", "bind": {"selinux": "z"}},
            "bind mounts only",
        ),
        (
            {"type": "bind", "source": ".", "target": "/d", "volume": {"nocopy": True}},
            "volumes only",
        ),
    ],
)
def test_long_mount_problems(long: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_mount(long, base_dir="/srv/shop")


def test_string_command_is_split_like_a_shell() -> None:
    assert parse_command("sh -c 'echo hi there'") == ("sh", "-c", "echo hi there")


def test_pairs_mix_forms_and_take_bare_keys_from_env() -> None:
    assert parse_pairs(["A=1", "B", "C"], env={"B": "from-env"}) == {"A": "1", "B": "from-env"}
    assert parse_pairs({"DEBUG": True, "N": 3, "X": None}, env={}) == {"DEBUG": "true", "N": "3"}
