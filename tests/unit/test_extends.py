"""Compose's `extends` across files and alongside several `-f` files and profiles: what the
golden cases (tests/cases/*/extends*) do not show."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackr import api
from stackr.desired import desired_state
from stackr.errors import SpecError
from stackr.spec import load_stack


def _hashes(path: Path) -> dict[str, str]:
    stack = load_stack([str(path)], profile="dev", env={})
    return {
        name: spec.labels["io.stackr.spec-hash"]
        for name, spec in desired_state(stack).containers.items()
    }


def test_a_service_written_with_extends_is_the_same_container_as_written_out(
    write_stack,  # type: ignore[no-untyped-def]
) -> None:
    # Moving shared settings into a base changes nothing on the engine: nothing is recreated.
    web = {"image": "shop/web:1", "environment": {"A": "1", "B": "2"}, "ports": ["8080"]}
    written_out = write_stack({"name": "shop", "services": {"web": web}})
    before = _hashes(written_out)
    common = {"services": {"base": {"image": "shop/web:1", "environment": {"A": "1", "B": "9"}}}}
    write_stack(common, "common.yml", directory="shop")
    extended = {"extends": {"service": "base", "file": "common.yml"}, "environment": {"B": "2"}}
    extended["ports"] = ["8080"]
    assert _hashes(write_stack({"name": "shop", "services": {"web": extended}})) == before


def test_a_later_file_merges_onto_the_resolved_service_not_its_base(
    write_stack,  # type: ignore[no-untyped-def]
) -> None:
    # As in Compose: each file's extends is resolved on its own, then the files merge.
    first = write_stack(
        {
            "name": "shop",
            "services": {
                "base": {"image": "shop/web:1", "environment": {"A": "1"}},
                "web": {"extends": "base", "environment": {"B": "2"}},
            },
        }
    )
    second = write_stack(
        {"services": {"base": {"environment": {"A": "changed"}}, "web": {"replicas": 3}}},
        "override.yml",
    )
    stack = load_stack([str(first), str(second)], profile="dev", env={})
    web = stack.services["web"]
    assert (dict(web.environment), web.replicas) == ({"A": "1", "B": "2"}, 3)
    assert stack.services["base"].environment == {"A": "changed"}


def test_a_second_file_may_extend_a_service_of_its_own_folder(
    write_stack,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    first = write_stack({"name": "shop", "services": {"web": {"image": "shop/web:1"}}})
    write_stack({"services": {"tool": {"image": "shop/tool:1"}}}, "tools.yml", directory="ops")
    second = write_stack(
        {"services": {"debug": {"extends": {"service": "tool", "file": "tools.yml"}}}},
        "debug.yml",
        directory="ops",
    )
    stack = load_stack([str(first), str(second)], profile="dev", env={})
    assert stack.services["debug"].image == "shop/tool:1"


def test_a_problem_in_a_base_in_another_file_is_located_there(
    write_stack,  # type: ignore[no-untyped-def]
) -> None:
    write_stack({"services": {"base": {"image": "shop/web:1", "replicas": "many"}}}, "common.yml")
    path = write_stack(
        {
            "name": "shop",
            "services": {"web": {"extends": {"service": "base", "file": "common.yml"}}},
        }
    )
    with pytest.raises(SpecError) as caught:
        load_stack([str(path)], profile="dev", env={})
    (issue,) = caught.value.issues
    assert (Path(issue.file).name, issue.line, issue.path) == (
        "common.yml",
        4,
        "services.web.replicas",
    )
    assert "(extended from base)" in issue.message


def test_a_required_variable_a_base_in_another_file_needs_is_asked_for(
    write_stack,  # type: ignore[no-untyped-def]
) -> None:
    base = {"image": "shop/web:${TAG:?set TAG to the release}"}
    write_stack({"services": {"base": base}}, "common.yml")
    path = write_stack(
        {
            "name": "shop",
            "services": {"web": {"extends": {"service": "base", "file": "common.yml"}}},
        }
    )
    with pytest.raises(SpecError, match="set TAG to the release"):
        load_stack([str(path)], profile="dev", env={})
    stack = load_stack([str(path)], profile="dev", env={"TAG": "7"})
    assert stack.services["web"].image == "shop/web:7"
    assert api.config(stack)["services"]["web"]["image"] == "shop/web:7"


def test_the_variables_of_an_extended_file_are_listed_with_the_stacks(
    write_stack,  # type: ignore[no-untyped-def]
) -> None:
    from stackr.spec import load_variables

    base = {"image": "shop/web:${TAG:-1}"}
    write_stack({"services": {"base": base}}, "common.yml", directory="ops")
    path = write_stack(
        {
            "name": "shop",
            "services": {"web": {"extends": {"service": "base", "file": "../ops/common.yml"}}},
        }
    )
    found = load_variables([str(path)], profile="dev", env={})
    (use,) = found.uses
    assert (use.name, Path(use.position.file).name) == ("TAG", "common.yml")
