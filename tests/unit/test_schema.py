"""Tests of stackr.spec.schema: the published schema, and every error worded and located."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from stackr.errors import Issue
from stackr.spec.schema import load_schema, validate_document
from stackr.spec.source import Document, Position, parse_document

FILE = "stack.yml"

FULL_EXAMPLE = """\
name: shop
services:
  web:
    image: shop/web:1.4
    build: {context: ./web, dockerfile: Dockerfile, args: {VERSION: "1.4", DEBUG: false, N: 2}}
    command: ["httpd", "-f", "-p", "8080"]
    entrypoint: /bin/sh -c
    environment: {LOG_LEVEL: info, WORKERS: 4, VERBOSE: true, FROM_SHELL: null}
    ports: ["8081-8083:8080", "127.0.0.1:9000-9002:9000/udp", 8080, "8080", "[::1]:7000:7000"]
    volumes: ["./conf:/etc/conf:ro", "data:/var/lib/data", "/anon"]
    networks: [front, back]
    depends_on: [db]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "localhost:8080"]
      interval: 2s
      timeout: 1s
      retries: 3
      start_period: 0s
    replicas: 3
    restart: unless-stopped
    labels: {team: shop}
    resources: {cpus: 0.5, memory: 256m}
    user: "1000"
    working_dir: /app
    stop_grace_period: 5s
  db:
    build: ./db
    environment: ["POSTGRES_DB=shop", "PGPASSWORD"]
    labels: ["team=shop"]
    depends_on: {cache: {condition: healthy}, seed: {condition: completed}, log: null}
    healthcheck: {test: "pg_isready", interval: 1m30s}
    resources: {cpus: "2", memory: 1073741824}
    user: 999
    stop_grace_period: 10
  cache:
    image: redis:7
    healthcheck: {disable: true}
    restart: "no"
  seed:
    image: shop/seed:1
    replicas: 0
  log:
    image: shop/log:1
volumes:
  data: {}
  scratch:
  tmp: {driver: local, driver_opts: {type: tmpfs, size: 100}, labels: ["tier=cache"]}
networks:
  front: {}
  back: {internal: true, driver: bridge, labels: {tier: back}}
profiles:
  dev:  {services: {web: {replicas: 1, ports: ["8080:8080"], environment: {LOG_LEVEL: debug}}}}
  prod: {services: {web: {replicas: 4, ports: ["8081-8084:8080"], resources: {memory: 512m}}}}
  ci:
"""


def issues_in(text: str) -> list[Issue]:
    return validate_document(parse_document(textwrap.dedent(text), file=FILE))


def issue(line: int, column: int, path: str, message: str, hint: str = "") -> Issue:
    return Issue(file=FILE, line=line, column=column, path=path, message=message, hint=hint)


def web_with(key: str, value: str) -> str:
    """A minimal valid stack whose service `web` also sets `key: value` (on line 4)."""
    return f"services:\n  web:\n    image: shop/web:1\n    {key}: {value}\n"


# -- the schema itself ------------------------------------------------------------------------


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = load_schema()

    Draft202012Validator.check_schema(schema)

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "https://stackr.dev/schemas/stack.schema.json"


def _properties(node: Any, where: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield f"{where}.{name}", sub
        for key, sub in node.items():
            yield from _properties(sub, f"{where}.{key}")
    elif isinstance(node, list):
        for index, sub in enumerate(node):
            yield from _properties(sub, f"{where}[{index}]")


def _described(schema: dict[str, Any], node: dict[str, Any]) -> bool:
    if "description" in node:
        return True
    ref = node.get("$ref", "")
    return bool(ref) and "description" in schema["$defs"][ref.rsplit("/", 1)[-1]]


def test_every_property_has_a_description() -> None:
    schema = load_schema()

    missing = [where for where, node in _properties(schema, "#") if not _described(schema, node)]

    assert missing == []


# -- valid documents --------------------------------------------------------------------------


def test_full_example_is_valid() -> None:
    assert issues_in(FULL_EXAMPLE) == []


def test_profile_overlay_may_give_a_service_only_what_it_changes() -> None:
    text = """\
    services:
      web: {image: shop/web:1}
    profiles:
      prod:
        services:
          web: {replicas: 4}
          worker: {environment: {QUEUE: high}}
    """
    assert issues_in(text) == []


def test_x_keys_are_allowed_at_the_top_level_and_in_a_service() -> None:
    text = """\
    x-defaults: &defaults {restart: always}
    services:
      web:
        image: shop/web:1
        x-owner: team-shop
    """
    assert issues_in(text) == []


@pytest.mark.parametrize(
    "port",
    ["8080", "80:8080", "8081-8083:8080", "127.0.0.1:9000-9002:9000/udp", "[::1]:53:53/sctp", "1"],
)
def test_port_forms_are_accepted(port: str) -> None:
    assert issues_in(web_with("ports", f'["{port}"]')) == []


@pytest.mark.parametrize("duration", ["2s", "1m30s", "500ms", "1h", "1.5s", "10us", "0", "2.5"])
def test_duration_forms_are_accepted(duration: str) -> None:
    assert issues_in(web_with("stop_grace_period", duration)) == []


@pytest.mark.parametrize("size", ["256m", "1g", "512k", "1024b", "1.5g", "64mb", "1048576"])
def test_size_forms_are_accepted(size: str) -> None:
    assert issues_in(web_with("resources", f"{{memory: {size}}}")) == []


# -- unknown keys -----------------------------------------------------------------------------


def test_unknown_key_is_located_at_the_key_with_a_close_match() -> None:
    text = """\
    services:
      web:
        imgae: shop/web:1
    """
    assert issues_in(text) == [
        issue(3, 5, "services.web.imgae", "unknown key 'imgae'", "did you mean 'image'?"),
    ]


def test_a_typo_of_a_compose_key_says_what_that_key_needs_here() -> None:
    (found,) = issues_in(web_with("contianer_name", "web"))
    assert found.message == "unknown key 'contianer_name'"
    assert found.hint.startswith("'container_name'? stackr names each container")


def test_a_close_compose_key_wins_over_a_distant_key_of_stackrs_and_a_distant_one_never() -> None:
    (found,) = issues_in(web_with("volume_from", "[db]"))
    assert found.hint.startswith("'volumes_from'? share a named volume")
    (found,) = issues_in(web_with("bogus", "1"))
    assert "gpus" not in found.hint


def test_a_compose_key_in_a_profiles_overlay_gets_its_hint_too() -> None:
    text = """\
    services: {web: {image: shop/web:1}}
    profiles:
      prod: {services: {web: {gpus: all}}}
    """
    (found,) = issues_in(text)
    assert found.hint.startswith("devices reserved for a container (GPUs)")


def test_every_refused_item_of_a_list_is_reported_nested_alternatives_too() -> None:
    found = issues_in(web_with("env_file", '["a", "", 3]'))
    assert [(i.path, i.message) for i in found] == [
        ("services.web.env_file[1]", "must not be empty"),
        ("services.web.env_file[2]", "expected a string or a mapping, got integer 3"),
    ]


def test_top_level_service_hints_at_a_forgotten_services_key() -> None:
    text = """\
    name: shop
    web:
      image: shop/web:1
    """
    assert issues_in(text) == [
        issue(2, 1, "web", "unknown key 'web'", "did you forget 'services:'?"),
    ]


def test_unknown_top_level_key_without_close_match_lists_allowed_keys() -> None:
    text = """\
    services: {web: {image: shop/web:1}}
    extras: {}
    """
    assert issues_in(text) == [
        issue(
            2,
            1,
            "extras",
            "unknown key 'extras'",
            "allowed: configs, include, name, networks, profiles, secrets, services, version, "
            "volumes",
        ),
    ]


def test_unknown_service_key_without_close_match_has_no_hint() -> None:
    assert issues_in(web_with("zzz_unheard_of", "true")) == [
        issue(4, 5, "services.web.zzz_unheard_of", "unknown key 'zzz_unheard_of'"),
    ]


def test_x_keys_are_unknown_inside_a_healthcheck() -> None:
    assert issues_in(web_with("healthcheck", "{test: [NONE], x-note: hi}")) == [
        issue(
            4,
            33,
            "services.web.healthcheck.x-note",
            "unknown key 'x-note'",
            "allowed: disable, interval, retries, start_period, test, timeout",
        ),
    ]


def test_unknown_key_in_a_profile_overlay_is_reported() -> None:
    text = """\
    services: {web: {image: shop/web:1}}
    profiles:
      prod: {services: {web: {replica: 4}}}
    """
    assert issues_in(text) == [
        issue(
            3,
            27,
            "profiles.prod.services.web.replica",
            "unknown key 'replica'",
            "did you mean 'replicas'?",
        ),
    ]


# -- wrong values -----------------------------------------------------------------------------


def test_wrong_type_names_both_types_and_gives_an_example() -> None:
    assert issues_in(web_with("replicas", "true")) == [
        issue(
            4,
            5,
            "services.web.replicas",
            "expected an integer or a string, got boolean true",
            "e.g. 3",
        ),
    ]


HEALTHCHECK_EXAMPLE = (
    '{test: ["CMD", "wget", "-q", "-O-", "localhost:8080"], interval: "2s", retries: 3}'
)


@pytest.mark.parametrize(
    ("key", "value", "message", "hint"),
    [
        (
            "command",
            "5",
            "expected a string or a list, got integer 5",
            'e.g. ["httpd", "-f", "-p", "8080"]',
        ),
        (
            "networks",
            "front",
            "expected a list or a mapping, got string 'front'",
            'e.g. ["front", "back"]',
        ),
        (
            "healthcheck",
            "true",
            "expected a mapping, got boolean true",
            f"e.g. {HEALTHCHECK_EXAMPLE}",
        ),
        (
            "environment",
            "null",
            "expected a mapping or a list, got null",
            'e.g. {LOG_LEVEL: "info"}',
        ),
        ("user", "1.5", "expected a string or an integer, got number 1.5", "e.g. 1000"),
    ],
)
def test_wrong_type_messages(key: str, value: str, message: str, hint: str) -> None:
    assert issues_in(web_with(key, value)) == [issue(4, 5, f"services.web.{key}", message, hint)]


def test_bad_port_names_the_port_form() -> None:
    assert issues_in(web_with("ports", '[8080, "eighty"]')) == [
        issue(
            4,
            19,
            "services.web.ports[1]",
            "'eighty' is not a valid port",
            'use a number or "HOST:CONTAINER", e.g. "8080:80"',
        ),
    ]


@pytest.mark.parametrize("port", ["80:eighty", "1.2.3:80:80", "80/tcpx", ":80", "80-:80"])
def test_malformed_ports_are_refused(port: str) -> None:
    (found,) = issues_in(web_with("ports", f'["{port}"]'))
    assert (found.path, found.message) == ("services.web.ports[0]", f"'{port}' is not a valid port")


def test_port_number_out_of_range() -> None:
    assert issues_in(web_with("ports", "[70000]")) == [
        issue(4, 13, "services.web.ports[0]", "must be at most 65535, got 70000", "e.g. 8080:80"),
    ]


def test_bad_duration_names_the_duration_form() -> None:
    assert issues_in(web_with("stop_grace_period", "2 seconds")) == [
        issue(
            4,
            5,
            "services.web.stop_grace_period",
            "'2 seconds' is not a valid duration",
            'use a number of seconds or a string like "10s", "1m30s" or "500ms"',
        ),
    ]


@pytest.mark.parametrize("duration", ["1x", "s", "-1s", "1.s", "2s "])
def test_malformed_durations_are_refused(duration: str) -> None:
    (found,) = issues_in(web_with("stop_grace_period", f'"{duration}"'))
    assert found.message == f"'{duration}' is not a valid duration"


def test_negative_duration_number_is_refused() -> None:
    assert issues_in(web_with("stop_grace_period", "-1")) == [
        issue(4, 5, "services.web.stop_grace_period", "must be at least 0, got -1", "e.g. 10s"),
    ]


def test_bad_size_names_the_size_form() -> None:
    assert issues_in(web_with("resources", "{memory: lots}")) == [
        issue(
            4,
            17,
            "services.web.resources.memory",
            "'lots' is not a valid size",
            'use a number of bytes or a string like "256m", "1g" or "512k"',
        ),
    ]


def test_bad_volume_entry_names_the_volume_form() -> None:
    assert issues_in(web_with("volumes", '["data:relative"]')) == [
        issue(
            4,
            15,
            "services.web.volumes[0]",
            "'data:relative' is not a valid volume entry",
            'use "SOURCE:TARGET[:OPTIONS]" or "TARGET" with an absolute TARGET, '
            'e.g. "data:/var/lib/data" or "./conf:/etc/conf:ro,z"; OPTIONS: ro, rw, z, Z, nocopy '
            "(and cached, delegated, consistent, which change nothing on Linux)",
        ),
    ]


def test_bad_service_name_is_located_at_the_name() -> None:
    text = """\
    services:
      Web: {image: shop/web:1}
    """
    assert issues_in(text) == [
        issue(
            2,
            3,
            "services.Web",
            "'Web' is not a valid service name",
            "use lowercase letters, digits, '-' and '_', starting with a letter or digit",
        ),
    ]


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("sometimes", "e.g. unless-stopped"),
        ("alwys", "did you mean 'always'?"),
        ("Unless-Stopped", "did you mean 'unless-stopped'?"),
        ("false", "did you mean 'no'?"),
    ],
)
def test_bad_restart_policy_lists_the_choices(value: str, hint: str) -> None:
    shown = "false" if value == "false" else f"'{value}'"
    message = f"{shown} is not one of: no, always, on-failure, unless-stopped"
    assert issues_in(web_with("restart", value)) == [
        issue(4, 5, "services.web.restart", message, hint),
    ]


def test_healthcheck_test_must_start_with_a_known_word() -> None:
    assert issues_in(web_with("healthcheck", "{test: [cmd, wget]}")) == [
        issue(
            4,
            26,
            "services.web.healthcheck.test[0]",
            "'cmd' is not one of: CMD, CMD-SHELL, NONE",
            "did you mean 'CMD'?",
        ),
    ]


def test_cpus_may_not_be_negative_and_zero_is_no_limit() -> None:
    assert issues_in(web_with("resources", "{cpus: -1}")) == [
        issue(4, 17, "services.web.resources.cpus", "must be at least 0, got -1", "e.g. 0.5"),
    ]
    assert issues_in(web_with("resources", "{cpus: 0}")) == []


def test_empty_image_is_refused() -> None:
    text = """\
    services:
      web: {image: ""}
    """
    assert issues_in(text) == [
        issue(2, 9, "services.web.image", "must not be empty", "e.g. shop/web:1.4"),
    ]


def test_repeated_network_is_located_at_the_repeat() -> None:
    assert issues_in(web_with("networks", "[front, back, front]")) == [
        issue(4, 29, "services.web.networks[2]", "'front' is listed more than once"),
    ]


# -- missing keys -----------------------------------------------------------------------------


def test_service_without_image_or_build() -> None:
    text = """\
    services:
      web:
        replicas: 2
    """
    assert issues_in(text) == [
        issue(
            2,
            3,
            "services.web",
            "needs 'image' or 'build' or 'extends'",
            "e.g. image: nginx:1.25, or build: ./web",
        )
    ]


def test_missing_services() -> None:
    hint = (
        "a stack file lists its services under a top-level `services:` key, e.g. "
        "services: {web: {image: nginx:1.25}}"
    )
    assert issues_in("name: shop\n") == [issue(1, 1, "", "missing required key 'services'", hint)]


# -- reporting --------------------------------------------------------------------------------


def test_every_problem_is_reported_sorted_by_line_and_column() -> None:
    text = """\
    services:
      web:
        image: shop/web:1
        restart: never
        ports: ["eighty", 8080, 99999]
      db:
        replicas: -1
    netwroks: {}
    """
    found = issues_in(text)

    assert [(i.line, i.column, i.path) for i in found] == [
        (4, 5, "services.web.restart"),
        (5, 13, "services.web.ports[0]"),
        (5, 29, "services.web.ports[2]"),
        (6, 3, "services.db"),
        (7, 5, "services.db.replicas"),
        (8, 1, "netwroks"),
    ]


def test_issue_names_the_profile_that_set_the_value() -> None:
    layer = Position(FILE, 9, 20, layer="set by profile prod")
    doc = Document(
        file=FILE,
        data={"services": {"web": {"image": "shop/web:1", "replicas": "four"}}},
        positions={
            (): Position(FILE, 1, 1),
            ("services",): Position(FILE, 1, 1),
            ("services", "web"): Position(FILE, 2, 3),
            ("services", "web", "replicas"): layer,
        },
    )
    assert validate_document(doc) == [
        issue(
            9,
            20,
            "services.web.replicas",
            "'four' is not a valid replica count (set by profile prod)",
            "use a whole number from 0 to 10000, without leading zeros",
        ),
    ]
