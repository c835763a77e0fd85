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


def test_a_chain_across_folders_reads_each_files_paths_from_its_own_folder(
    write_stack,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    write_stack({"services": {"c": {"image": "x", "volumes": ["./data:/data"]}}}, "common.yml")
    middle = {"a": {"extends": {"service": "c", "file": "../common.yml"}, "build": "./ctx"}}
    write_stack({"services": middle}, "a.yml", directory="shop/shared")
    (tmp_path / "shop" / "shared" / "ctx").mkdir()
    (tmp_path / "shop" / "shared" / "ctx" / "Dockerfile").write_text("FROM scratch\n")
    path = write_stack(
        {"name": "shop", "services": {"w": {"extends": {"service": "a", "file": "shared/a.yml"}}}}
    )
    worker = load_stack([str(path)], profile="dev", env={}).services["w"]
    assert worker.mounts[0].source == str((tmp_path / "shop" / "data").resolve())
    assert worker.build is not None
    assert worker.build.context == str((tmp_path / "shop" / "shared" / "ctx").resolve())


def test_a_base_in_the_same_later_file_keeps_the_paths_of_every_file(
    write_stack,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    # Every -f file's relative paths are the project folder's, a base's in it included.
    (tmp_path / "shop" / "ctx").mkdir(parents=True)
    (tmp_path / "shop" / "ctx" / "Dockerfile").write_text("FROM scratch\n")
    first = write_stack({"name": "shop", "services": {"web": {"image": "shop/web:1"}}})
    later = {"base": {"image": "shop/base:1", "build": "./ctx"}, "api": {"extends": "base"}}
    second = write_stack({"services": later}, "dev.yml", directory="shop/over")
    stack = load_stack([str(first), str(second)], profile="dev", env={})
    contexts = {n: s.build.context for n, s in stack.services.items() if s.build}
    assert contexts == dict.fromkeys(("api", "base"), str((tmp_path / "shop" / "ctx").resolve()))


def test_reset_and_override_in_a_service_that_extends_apply_to_earlier_files_too(
    write_stack,  # type: ignore[no-untyped-def]
) -> None:
    first = write_stack(
        {
            "name": "shop",
            "services": {
                "web": {"image": "x", "environment": {"A": "1"}, "labels": {"k": "v"}},
            },
        }
    )
    second = write_stack(
        "services:\n"
        "  tmpl: {image: y, labels: {t: '1'}}\n"
        "  web:\n"
        "    extends: tmpl\n"
        "    environment: !reset {}\n"
        "    labels: !override {own: '1'}\n",
        "override.yml",
    )
    web = load_stack([str(first), str(second)], profile="dev", env={}).services["web"]
    assert (dict(web.environment), dict(web.labels), web.image) == ({}, {"own": "1"}, "y")


def test_odd_shapes_beside_extends_are_told_not_crashed_on(
    write_stack,  # type: ignore[no-untyped-def]
) -> None:
    path = write_stack(
        "name: shop\n"
        "services:\n"
        "  web: oops\n"
        "  api: {image: x}\n"
        "  nul:\n"
        "  one: {extends: nul}\n"
        "  two: {extends: {service: apx}}\n"
        "profiles:\n"
        "  dev:\n"
        "    services:\n"
        "      web: {extends: api}\n"
    )
    with pytest.raises(SpecError) as caught:
        load_stack([str(path)], profile="dev", env={})
    found = {(i.path, i.message.split(" (")[0]) for i in caught.value.issues}
    assert ("services.two.extends.service", "extends undeclared service 'apx'") in found
    assert not any("'nul'" in message for _, message in found)  # the schema tells of `nul`
    assert any(path == "services.web.extends" for path, _ in found)


def test_a_broken_file_two_services_extend_is_told_once(
    write_stack,  # type: ignore[no-untyped-def]
) -> None:
    write_stack("services: [\n", "common.yml")
    ref = {"service": "base", "file": "common.yml"}
    path = write_stack({"name": "shop", "services": {"a": {"extends": ref}, "b": {"extends": ref}}})
    with pytest.raises(SpecError) as caught:
        load_stack([str(path)], profile="dev", env={})
    assert len(caught.value.issues) == 1


def test_a_service_left_without_an_image_by_its_extends_is_told_so(
    write_stack,  # type: ignore[no-untyped-def]
) -> None:
    path = write_stack(
        "name: shop\n"
        "services:\n"
        "  base: {image: x}\n"
        "  m: {extends: base, image: !reset null}\n"
        "  n: {extends: {service: base, file: ./}}\n"
        "  o: {extends: {service: base, file: ../shop}}\n"
    )
    with pytest.raises(SpecError) as caught:
        load_stack([str(path)], profile="dev", env={})
    found = {i.path: i.message for i in caught.value.issues}
    assert found == {
        "services.m.extends": "extends base, and the result has neither an image nor a build",
        # Each service that names a folder is told, not only the first.
        "services.n.extends.file": "extends a service in ./, which is a folder, not a file",
        "services.o.extends.file": "extends a service in ../shop, which is a folder, not a file",
    }


def test_a_problem_in_a_base_elsewhere_is_told_as_the_stacks(
    write_stack,  # type: ignore[no-untyped-def]
) -> None:
    base = {"image": "x", "volumes": ["data:/data"]}
    write_stack({"services": {"lb": base}, "volumes": {"data": {}}}, "b.yml", directory="common")
    path = write_stack(
        {
            "name": "shop",
            "services": {"u": {"extends": {"service": "lb", "file": "../common/b.yml"}}},
        }
    )
    with pytest.raises(SpecError) as caught:
        load_stack([str(path)], profile="dev", env={})
    header = str(caught.value).splitlines()[0]
    assert header == f"{path} is invalid (1 problem):"  # the file asked for, not the base's
    (issue,) = caught.value.issues
    assert Path(issue.file).name == "b.yml" and "(extended from lb)" in issue.message


def test_a_base_in_another_file_that_is_no_mapping_is_told(
    write_stack,  # type: ignore[no-untyped-def]
) -> None:
    write_stack("services:\n  base: oops\n", "common.yml")
    ref = {"service": "base", "file": "common.yml"}
    path = write_stack({"name": "shop", "services": {"web": {"extends": ref}}})
    with pytest.raises(SpecError) as caught:
        load_stack([str(path)], profile="dev", env={})
    (issue,) = caught.value.issues
    assert issue.path == "services.web.extends.service"
    assert issue.message == "extends base in common.yml, which is not a mapping of settings"


def test_an_undeclared_volume_a_base_elsewhere_uses_is_declared_in_the_stacks_files(
    write_stack,  # type: ignore[no-untyped-def]
) -> None:
    base = {"image": "x", "volumes": ["data:/data"], "networks": ["back"]}
    write_stack({"services": {"lb": base}}, "b.yml", directory="common")
    ref = {"service": "lb", "file": "../common/b.yml"}
    path = write_stack({"name": "shop", "services": {"u": {"extends": ref}}})
    with pytest.raises(SpecError) as caught:
        load_stack([str(path)], profile="dev", env={})
    hints = sorted(issue.hint for issue in caught.value.issues)
    assert hints == [
        "declare it under top-level 'networks:' in the stack's own files",
        "declare it under top-level 'volumes:' in the stack's own files",
    ]
