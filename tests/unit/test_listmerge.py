"""Several `-f` files and `extends` merge a service's lists as Compose does; a profile's overlay
still replaces them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stackr.errors import SpecError
from stackr.spec import load_stack
from stackr.spec.model import Service

BASE = """\
name: shop
services:
  web:
    image: shop/web:1
    command: [httpd, -f]
    ports: ["8080:80", "9090:90"]
    volumes: ["data:/data", "./conf:/etc/web:ro"]
    secrets: [token]
    networks: [front]
    depends_on: [db]
    cap_add: [NET_ADMIN]
    dns: 10.0.0.1
    extra_hosts: ["db.internal:10.0.0.5"]
    tmpfs: ["/cache:size=1m"]
    env_file: [base.env]
    expose: [8080]
  db:
    image: shop/db:1
    networks: [back]
  cache:
    image: shop/cache:1
    networks: [back]
volumes:
  data: {}
  logs: {}
networks:
  front: {}
  back: {}
secrets:
  token: {environment: TOKEN}
  other: {environment: TOKEN}
"""


def _web(write_stack: Any, *overrides: str, profile: str = "dev") -> Service:
    base = write_stack(BASE)
    (base.parent / "base.env").write_text("A=1\n")
    (base.parent / "ops.env").write_text("A=2\nB=2\n")
    files = [str(base)] + [
        str(write_stack(text, f"override{i}.yml")) for i, text in enumerate(overrides)
    ]
    return load_stack(files, profile=profile, env={"TOKEN": "t"}).services["web"]


def test_a_later_file_adds_to_a_services_lists(write_stack: Any) -> None:
    web = _web(
        write_stack,
        "services:\n  web:\n"
        "    ports: ['7070:70']\n"
        "    volumes: ['logs:/logs']\n"
        "    secrets: [other]\n"
        "    networks: [back]\n"
        "    depends_on: [cache]\n"
        "    cap_add: [SYS_TIME, net_admin]\n"
        "    dns: [10.0.0.2, 10.0.0.1]\n"
        "    extra_hosts: {cache.internal: 10.0.0.6}\n"
        "    tmpfs: /tmp\n"
        "    env_file: ops.env\n"
        "    expose: ['8080', 53/udp]\n",
    )
    assert [(p.host_start, p.container_port) for p in web.ports] == [
        (8080, 80),
        (9090, 90),
        (7070, 70),
    ]
    assert [m.target for m in web.mounts] == ["/data", "/etc/web", "/logs"]
    assert [g.source for g in web.secrets] == ["token", "other"]
    assert web.networks == ("front", "back")
    assert [d.service for d in web.depends_on] == ["db", "cache"]
    # A capability already there, however written, is not added twice.
    assert web.runtime.cap_add == ("NET_ADMIN", "SYS_TIME")
    assert web.runtime.dns == ("10.0.0.1", "10.0.0.2")
    assert set(web.runtime.extra_hosts) == {"db.internal:10.0.0.5", "cache.internal:10.0.0.6"}
    assert set(web.runtime.tmpfs) == {"/cache", "/tmp"}
    assert web.runtime.expose == ("53/udp", "8080/tcp")  # "8080" is the 8080 already there
    assert dict(web.environment) == {"A": "2", "B": "2"}  # the later env file wins


def test_an_entry_with_an_earlier_ones_key_replaces_it_in_place(write_stack: Any) -> None:
    web = _web(
        write_stack,
        "services:\n  web:\n"
        # the same host port, container port and protocol, in the long syntax
        "    ports: [{target: 80, published: '8080'}, '127.0.0.1:8081:80']\n"
        # the same target: the bind becomes a volume, read-only
        "    volumes: [{type: volume, source: logs, target: /etc/web, read_only: true}]\n"
        "    secrets: [{source: other, target: token}]\n"
        "    tmpfs: ['/cache:size=2m']\n",
    )
    assert [(p.host_ip, p.host_start, p.container_port) for p in web.ports] == [
        ("", 8080, 80),
        ("", 9090, 90),
        ("127.0.0.1", 8081, 80),
    ]
    assert [(m.source, m.target, m.read_only) for m in web.mounts] == [
        ("data", "/data", False),
        ("logs", "/etc/web", True),
    ]
    assert [(g.source, g.target) for g in web.secrets] == [("other", "/run/secrets/token")]
    assert dict(web.runtime.tmpfs) == {"/cache": "size=2m"}


def test_commands_and_healthcheck_tests_are_replaced(write_stack: Any) -> None:
    web = _web(write_stack, "services:\n  web:\n    command: [sleep, '1']\n")
    assert web.command == ("sleep", "1")


def test_network_settings_merge_by_name(write_stack: Any) -> None:
    web = _web(
        write_stack,
        "services:\n  web:\n    networks: {front: {aliases: [api]}, back: null}\n"
        "    depends_on: {db: {condition: healthy}}\n",
        "services:\n  web:\n    networks: {front: {aliases: [www, api]}, back: {aliases: [b]}}\n",
        "services:\n  web:\n    networks: [front]\n",  # named again: its aliases stay
    )
    assert web.networks == ("front", "back")
    assert dict(web.network_aliases) == {"front": ("api", "www"), "back": ("b",)}
    assert [(d.service, d.condition.value) for d in web.depends_on] == [("db", "healthy")]


def test_reset_and_override_still_replace(write_stack: Any) -> None:
    web = _web(
        write_stack,
        "services:\n  web:\n    ports: !override ['7070:70']\n    volumes: !reset []\n"
        "    depends_on: {db: !reset null}\n",
    )
    assert [p.host_start for p in web.ports] == [7070]
    assert web.mounts == ()
    assert web.depends_on == ()


def test_a_profile_still_replaces_a_list(write_stack: Any) -> None:
    web = _web(
        write_stack,
        "profiles:\n  prod:\n    services:\n      web: {ports: ['80:80']}\n",
        "profiles:\n  prod:\n    services:\n      web: {ports: ['443:443']}\n",
        profile="prod",
    )
    # The two files' overlays for prod merge as files do; the overlay then replaces the list.
    assert [p.host_start for p in web.ports] == [80, 443]


def test_extends_adds_to_the_bases_lists(write_stack: Any) -> None:
    path = write_stack(
        "services:\n"
        "  base: {image: x, ports: ['80'], cap_add: [NET_ADMIN], networks: [front]}\n"
        "  web:\n    extends: base\n    ports: ['90']\n    networks: [back]\n"
        "networks: {front: {}, back: {}}\n"
    )
    web = load_stack([str(path)], profile="dev", env={}).services["web"]
    assert [p.container_port for p in web.ports] == [80, 90]
    assert web.runtime.cap_add == ("NET_ADMIN",)
    assert web.networks == ("front", "back")


def test_an_appended_entrys_problem_is_located_in_its_own_file(write_stack: Any) -> None:
    with pytest.raises(SpecError) as caught:
        _web(write_stack, "services:\n  web:\n    volumes:\n      - logs:/logs\n      - nope\n")
    (issue,) = caught.value.issues
    assert (Path(issue.file).name, issue.line, issue.path) == (
        "override0.yml",
        5,
        "services.web.volumes[3]",
    )


def test_two_entries_of_one_file_with_one_target_are_still_refused(write_stack: Any) -> None:
    with pytest.raises(SpecError) as caught:
        _web(write_stack, "services:\n  web:\n    volumes: ['logs:/logs', '/logs']\n")
    assert "already the target" in str(caught.value)


def _merged(write_stack: Any, first: str, second: str, profile: str = "dev") -> Service:
    files = [str(write_stack(first)), str(write_stack(second, "ops.yml"))]
    return load_stack(files, profile=profile, env={}).services["web"]


def test_override_in_a_later_files_profile_replaces_the_earlier_files_list(
    write_stack: Any,
) -> None:
    web = _merged(
        write_stack,
        "services: {web: {image: x, ports: ['8080:80'], environment: {A: '1'}}}\n"
        "profiles: {prod: {services: {web: {ports: ['80:80'], environment: {B: '2'}}}}}\n",
        "profiles:\n  prod:\n    services:\n"
        "      web: {ports: !override ['443:443'], environment: !override {C: '3'}}\n",
        profile="prod",
    )
    assert [p.host_start for p in web.ports] == [443]
    assert dict(web.environment) == {"C": "3"}


@pytest.mark.parametrize(
    ("key", "one"), [("ports", "'9090:90'"), ("cap_add", "SYS_TIME"), ("volumes", "/logs")]
)
def test_a_string_where_only_a_list_is_valid_is_still_refused(
    write_stack: Any, key: str, one: str
) -> None:
    with pytest.raises(SpecError) as caught:
        _merged(
            write_stack,
            "services: {web: {image: x, ports: ['8080:80'], cap_add: [NET_ADMIN], "
            "volumes: ['/data']}}\n",
            f"services: {{web: {{{key}: {one}}}}}\n",
        )
    assert f"services.web.{key}" in str(caught.value)


def test_a_dependency_listed_again_is_read_with_the_lists_defaults(write_stack: Any) -> None:
    web = _merged(
        write_stack,
        "services:\n  db: {image: x}\n  web:\n    image: x\n"
        "    depends_on: {db: {condition: healthy, required: false, restart: true}}\n",
        "services: {web: {depends_on: [db]}}\n",
    )
    (db,) = web.depends_on
    assert (db.condition.value, db.required, db.restart) == ("started", True, True)


def test_a_profiles_env_file_in_a_later_file_replaces_the_earlier_ones(write_stack: Any) -> None:
    first = write_stack(
        "services: {web: {image: x, environment: {A: $A}}}\nprofiles: {prod: {env_file: [a.env]}}\n"
    )
    (first.parent / "a.env").write_text("A=from-a\n")
    (first.parent / "b.env").write_text("A=from-b\n")
    second = write_stack("profiles: {prod: {env_file: b.env}}\n", "ops.yml")
    stack = load_stack([str(first), str(second)], profile="prod", env={})
    assert stack.services["web"].environment["A"] == "from-b"


def test_extra_hosts_a_mapping_with_other_than_text_is_left_to_the_schema(
    write_stack: Any,
) -> None:
    with pytest.raises(SpecError) as caught:
        _merged(
            write_stack,
            "services: {web: {image: x, extra_hosts: {h1: ['1.1.1.1']}}}\n",
            "services: {web: {extra_hosts: ['x:1.2.3.4'], ports: 80}}\n",
        )
    # The list replaces the mapping (as any value of another shape); the later file's own
    # mistake is still told.
    assert "services.web.ports" in str(caught.value)


def test_no_host_ip_and_every_ipv4_address_are_one_port(write_stack: Any) -> None:
    web = _merged(
        write_stack,
        "services: {web: {image: x, ports: ['8080:80']}}\n",
        "services: {web: {ports: ['0.0.0.0:8080:80']}}\n",
    )
    assert [(p.host_ip, p.host_start) for p in web.ports] == [("0.0.0.0", 8080)]


def test_two_later_entries_with_an_earlier_ones_target_are_refused(write_stack: Any) -> None:
    with pytest.raises(SpecError) as caught:
        _merged(
            write_stack,
            "services: {web: {image: x, volumes: ['/data']}}\n",
            "services: {web: {volumes: ['/data', '/data:ro']}}\n",
        )
    assert "already the target" in str(caught.value)
