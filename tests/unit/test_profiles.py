"""Profiles: choosing one, overlaying it by the merge rules, and refusing unknown ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackr.errors import SpecError, StackrError
from stackr.spec import load_stack
from stackr.spec.profiles import choose_profile

BASE = {
    "name": "shop",
    "services": {
        "web": {
            "image": "shop/web:1",
            "environment": {"LOG_LEVEL": "info", "TZ": "UTC"},
            "ports": ["8080:80"],
            "resources": {"cpus": 0.5, "memory": "128m"},
        },
    },
    "profiles": {
        "dev": {"services": {"web": {"environment": {"LOG_LEVEL": "debug"}}}},
        "prod": {
            "services": {
                "web": {"replicas": 3, "ports": ["8081-8083:80"], "resources": {"memory": "1g"}}
            }
        },
    },
}


@pytest.mark.parametrize("name", ["a/b", "Dev Box", "x:y", "-dev", "Prod"])
def test_a_profile_name_that_cannot_name_objects_is_refused(name: str) -> None:
    with pytest.raises(StackrError, match="is not a profile name") as caught:
        choose_profile(name, {})
    assert caught.value.hint.startswith("use lowercase letters, digits")
    with pytest.raises(StackrError, match=r"\$STACKR_PROFILE: .* is not a profile name"):
        choose_profile(None, {"STACKR_PROFILE": name})


def test_choose_profile_order() -> None:
    assert choose_profile("prod", {"STACKR_PROFILE": "staging"}) == "prod"
    assert choose_profile(None, {"STACKR_PROFILE": "staging"}) == "staging"
    assert choose_profile(None, {}) == "dev"


def test_mappings_merge_key_by_key(write_stack) -> None:  # type: ignore[no-untyped-def]
    web = load_stack([str(write_stack(BASE))], profile="dev", env={}).services["web"]
    assert web.environment == {"LOG_LEVEL": "debug", "TZ": "UTC"}
    assert web.replicas == 1


def test_lists_and_scalars_replace(write_stack) -> None:  # type: ignore[no-untyped-def]
    web = load_stack([str(write_stack(BASE))], profile="prod", env={}).services["web"]
    assert [p.render() for p in web.ports] == ["8081-8083:80/tcp"]
    assert web.replicas == 3
    assert (web.resources.cpus, web.resources.memory) == (0.5, 1024**3)


def test_unknown_profile_lists_known_ones(write_stack) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SpecError) as caught:
        load_stack([str(write_stack(BASE))], profile="qa", env={})
    (issue,) = caught.value.issues
    assert issue.message == "no profile 'qa' in this file"
    assert issue.hint == (
        "profiles defined here: dev, prod; choose one with --profile or $STACKR_PROFILE"
    )


def test_unknown_profile_is_reported_before_anything_it_would_mislead_about(write_stack) -> None:  # type: ignore[no-untyped-def]
    spec = {**BASE, "services": {"web": {"image": "shop/web:${TAG:?deploy sets TAG}"}}}
    with pytest.raises(SpecError) as caught:
        load_stack([str(write_stack(spec))], profile="qa", env={})
    assert [i.message for i in caught.value.issues] == ["no profile 'qa' in this file"]


def test_profiles_of_every_file_are_known_before_they_merge(tmp_path) -> None:  # type: ignore[no-untyped-def]
    base = tmp_path / "stack.yml"
    base.write_text("name: shop\nservices:\n  web: {image: x}\nprofiles:\n  prod: {}\n")
    over = tmp_path / "stack.local.yml"
    over.write_text("profiles:\n  staging: {services: {web: {replicas: 2}}}\n")
    stack = load_stack([str(base), str(over)], profile="staging", env={})
    assert stack.services["web"].replicas == 2


def test_file_without_profiles_runs_under_any_name(write_stack) -> None:  # type: ignore[no-untyped-def]
    spec = {"services": {"web": {"image": "x"}}}
    stack = load_stack([str(write_stack(spec))], profile="anything", env={})
    assert stack.profile == "anything"


def test_profile_value_error_names_the_profile(write_stack) -> None:  # type: ignore[no-untyped-def]
    spec = {
        "services": {"web": {"image": "x"}},
        "profiles": {"prod": {"services": {"web": {"replicas": 2, "ports": ["9000:80"]}}}},
    }
    with pytest.raises(SpecError) as caught:
        load_stack([str(write_stack(spec))], profile="prod", env={})
    (issue,) = caught.value.issues
    assert (
        issue.message
        == "2 replicas need 2 host port(s), '9000:80/tcp' gives 1 (set by profile prod)"
    )
    assert (issue.path, issue.line) == ("services.web.ports[0]", 10)


def test_several_files_merge_in_order(write_stack) -> None:  # type: ignore[no-untyped-def]
    base = write_stack(
        {"name": "shop", "services": {"web": {"image": "a", "environment": {"A": "1"}}}}
    )
    ops = write_stack({"services": {"web": {"image": "b", "environment": {"B": "2"}}}}, "ops.yml")
    web = load_stack([str(base), str(ops)], profile="dev", env={}).services["web"]
    assert (web.image, dict(web.environment)) == ("b", {"A": "1", "B": "2"})


def _web(write_stack, text: str, profile: str = "prod"):  # type: ignore[no-untyped-def]
    return load_stack([str(write_stack(text))], profile=profile, env={}).services["web"]


def test_reset_removes_what_the_base_set(write_stack) -> None:  # type: ignore[no-untyped-def]
    web = _web(
        write_stack,
        "services:\n  web: {image: x, ports: ['8080:80'], user: '1000'}\n"
        "profiles:\n  prod:\n    services:\n      web: {ports: !reset [], user: !reset null}\n",
    )
    assert (web.ports, web.user) == ((), None)


def test_override_replaces_a_mapping_wholesale(write_stack) -> None:  # type: ignore[no-untyped-def]
    web = _web(
        write_stack,
        "services:\n  web: {image: x, environment: {A: '1', B: '2'}}\n"
        "profiles:\n  prod:\n    services:\n      web: {environment: !override {C: '3'}}\n",
    )
    assert dict(web.environment) == {"C": "3"}


@pytest.mark.parametrize(
    ("overlay", "options"),
    [
        # Another driver: its options only, the base's would mean nothing to it.
        (
            "{driver: syslog, options: {syslog-address: 'udp://log:514'}}",
            {"syslog-address": "udp://log:514"},
        ),
        # The same driver, or none said: merged key by key, as any mapping.
        ("{driver: json-file, options: {max-file: '3'}}", {"max-size": "10m", "max-file": "3"}),
        ("{options: {max-file: '3'}}", {"max-size": "10m", "max-file": "3"}),
    ],
)
def test_logging_with_another_driver_replaces_the_bases(
    write_stack,
    overlay: str,
    options: dict[str, str],  # type: ignore[no-untyped-def]
) -> None:
    web = _web(
        write_stack,
        "services:\n  web: {image: x, logging: {driver: json-file, options: {max-size: 10m}}}\n"
        f"profiles:\n  prod:\n    services:\n      web: {{logging: {overlay}}}\n",
    )
    assert web.runtime.logging is not None
    assert dict(web.runtime.logging.options) == options


def test_environment_list_and_map_forms_merge_by_key(write_stack) -> None:  # type: ignore[no-untyped-def]
    web = _web(
        write_stack,
        "services:\n  web: {image: x, environment: [A=1, B=2], labels: {team: shop}}\n"
        "profiles:\n  prod:\n    services:\n"
        "      web: {environment: {B: three}, labels: ['tier=front']}\n",
    )
    assert dict(web.environment) == {"A": "1", "B": "three"}
    assert dict(web.labels) == {"team": "shop", "tier": "front"}


def test_reset_in_the_first_file_just_drops_the_key(write_stack) -> None:  # type: ignore[no-untyped-def]
    web = _web(write_stack, "services:\n  web: {image: x, ports: !reset ['80']}\n", "dev")
    assert web.ports == ()


def test_second_file_can_reset_a_key_of_the_first(write_stack) -> None:  # type: ignore[no-untyped-def]
    base = write_stack("services:\n  web: {image: x, ports: ['8080:80']}\n")
    ops = write_stack("services:\n  web: {ports: !reset []}\n", "ops.yml")
    web = load_stack([str(base), str(ops)], profile="dev", env={}).services["web"]
    assert web.ports == ()


def test_list_entry_error_is_located_at_its_line(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = write_stack("services:\n  web:\n    image: x\n    labels:\n      - ok=1\n      - 5\n")
    with pytest.raises(SpecError) as caught:
        load_stack([str(path)], profile="dev", env={})
    assert [(i.line, i.path) for i in caught.value.issues] == [(6, "services.web.labels[1]")]


def test_a_value_another_profile_makes_from_variables_is_not_asked_for(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr.errors import SpecError
    from stackr.spec import load_stack

    path = write_stack(
        "services:\n  web: {image: x}\n"
        "profiles:\n  dev: {}\n"
        "  prod: {services: {web: {replicas: '${R:?set R for prod}'}}}\n"
        "  p2: {services: {web: {replicas: '${R2}'}}}\n"
    )
    assert load_stack([str(path)], profile="dev", env={}).services["web"].replicas == 1
    assert load_stack([str(path)], profile="prod", env={"R": "3"}).services["web"].replicas == 3
    with pytest.raises(SpecError, match="set R for prod"):
        load_stack([str(path)], profile="prod", env={})
    with pytest.raises(SpecError, match="'' is not a valid replica count"):
        load_stack([str(path)], profile="p2", env={})


def test_a_build_written_as_a_context_merges_with_one_written_as_a_mapping(
    write_stack,  # type: ignore[no-untyped-def]
) -> None:
    # As in Compose: `build: ./web` is `{context: ./web}`, so a layer giving only `args` keeps
    # the context, and one giving only a context keeps the args.
    path = write_stack(
        "name: shop\n"
        "services:\n"
        "  a: {image: a, build: ./ctx}\n"
        "  b: {image: b, build: {context: ./ctx, args: {X: '1'}}}\n"
        "profiles:\n"
        "  dev:\n"
        "    services:\n"
        "      a: {build: {args: {A: '1'}}}\n"
        "      b: {build: ./other}\n"
    )
    for folder in ("ctx", "other"):
        (path.parent / folder).mkdir()
        (path.parent / folder / "Dockerfile").write_text("FROM scratch\n")
    stack = load_stack([str(path)], profile="dev", env={})
    builds = {
        n: (Path(s.build.context).name, dict(s.build.args))
        for n, s in stack.services.items()
        if s.build
    }
    assert builds == {"a": ("ctx", {"A": "1"}), "b": ("other", {"X": "1"})}
