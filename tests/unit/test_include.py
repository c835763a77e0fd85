"""Compose's `include`: what the golden cases (tests/cases/*/include*) do not show — where an
included file's variables come from, how the including file changes what it includes, files
included more than once, nesting, and that an included service is the same container as one
written out."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackr.desired import desired_state
from stackr.errors import SpecError
from stackr.fileviews import variables
from stackr.spec import Stack, load_stack


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _load(path: Path, env: dict[str, str] | None = None, profile: str = "dev") -> Stack:
    return load_stack([str(path)], profile=profile, env=env or {})


def _problems(path: Path) -> list[str]:
    with pytest.raises(SpecError) as caught:
        _load(path)
    return [f"{Path(i.file).name}:{i.line} {i.path}: {i.message}" for i in caught.value.issues]


def test_an_included_files_variables_come_from_the_stack_then_its_own_env_files(
    tmp_path: Path,
) -> None:
    # As Compose: the stack's environment (and its own .env) wins; the included project's
    # .env and .env.<profile> fill in what it lacks, the profile's over the plain one.
    _write(
        tmp_path, "db/stack.yml", "services:\n  db:\n    image: shop/db:${TAG}-${FLAVOUR}-${MODE}\n"
    )
    _write(tmp_path, "db/.env", "TAG=from-db-env\nFLAVOUR=plain\nMODE=plain\n")
    _write(tmp_path, "db/.env.prod", "MODE=prod\n")
    _write(tmp_path, ".env", "FLAVOUR=from-stack-env\n")
    main = _write(tmp_path, "stack.yml", "name: shop\ninclude: [db/stack.yml]\nservices: {}\n")
    assert (
        _load(main, profile="prod").services["db"].image
        == "shop/db:from-db-env-from-stack-env-prod"
    )
    stack = _load(main, env={"TAG": "from-environment"})
    assert stack.services["db"].image == "shop/db:from-environment-from-stack-env-plain"


def test_an_include_env_file_replaces_the_project_directorys_own(tmp_path: Path) -> None:
    _write(tmp_path, "db/stack.yml", "services:\n  db:\n    image: shop/db:${TAG}\n")
    _write(tmp_path, "db/.env", "TAG=never-read\n")
    _write(tmp_path, "envs/db.env", "TAG=given\n")
    main = _write(
        tmp_path,
        "stack.yml",
        "name: shop\ninclude:\n  - {path: db/stack.yml, env_file: envs/db.env}\nservices: {}\n",
    )
    assert _load(main).services["db"].image == "shop/db:given"


def test_config_variables_lists_an_included_files_variables_and_where_they_come_from(
    tmp_path: Path,
) -> None:
    _write(tmp_path, "db/stack.yml", "services:\n  db:\n    image: shop/db:${TAG}\n")
    _write(tmp_path, "db/.env", "TAG=16\n")
    main = _write(tmp_path, "stack.yml", "name: shop\ninclude: [db/stack.yml]\nservices: {}\n")
    [row] = variables([str(main)], profile="dev", env={})
    assert (row.name, row.value, row.source) == ("TAG", "16", f"{tmp_path}/db/.env:1")
    assert row.used_at == (f"{tmp_path}/db/stack.yml:3",)


def test_the_including_file_changes_what_it_includes_by_the_merge_rules(tmp_path: Path) -> None:
    # Its own definition merges over the included one, as a later -f file's does: a mapping
    # adds up, a !reset clears, a plain value replaces.
    _write(
        tmp_path,
        "db/stack.yml",
        "services:\n  db:\n    image: shop/db:1\n    environment: {A: '1', B: '2'}\n"
        "    ports: ['5432']\n",
    )
    main = _write(
        tmp_path,
        "stack.yml",
        "name: shop\ninclude: [db/stack.yml]\nservices:\n  db:\n    image: shop/db:2\n"
        "    environment: {B: changed}\n    ports: !reset []\n",
    )
    db = _load(main).services["db"]
    assert (db.image, dict(db.environment), db.ports) == (
        "shop/db:2",
        {"A": "1", "B": "changed"},
        (),
    )


def test_a_file_two_included_files_include_is_one_definition(tmp_path: Path) -> None:
    common = "services:\n  cache:\n    image: shop/cache:1\n    ports: ['6379']\n"
    _write(tmp_path, "common/stack.yml", common)
    _write(
        tmp_path, "a/stack.yml", "include: [../common/stack.yml]\nservices:\n  a: {image: a:1}\n"
    )
    _write(
        tmp_path, "b/stack.yml", "include: [../common/stack.yml]\nservices:\n  b: {image: b:1}\n"
    )
    main = _write(tmp_path, "stack.yml", "name: shop\ninclude: [a/stack.yml, b/stack.yml]\n")
    stack = _load(main)
    assert sorted(stack.services) == ["a", "b", "cache"]
    assert len(stack.services["cache"].ports) == 1  # not merged with itself


def test_two_included_files_defining_one_name_differently_are_refused(tmp_path: Path) -> None:
    _write(tmp_path, "a.yml", "networks:\n  back: {internal: true}\n")
    _write(tmp_path, "b.yml", "networks:\n  back: {}\n")
    main = _write(tmp_path, "stack.yml", "name: shop\ninclude: [a.yml, b.yml]\nservices: {}\n")
    assert _problems(main) == [
        f"b.yml:2 networks.back: network back is included twice, differently: also from "
        f"{tmp_path}/a.yml:2"
    ]


def test_an_included_files_paths_are_its_project_directorys_its_includes_its_own(
    tmp_path: Path,
) -> None:
    # Its relative paths are its project's (the project_directory the entry gives, else its
    # folder); the files its own include and extends name are relative to the file itself.
    _write(tmp_path, "infra/base/stack.yml", "services:\n  base: {image: base:1}\n")
    _write(
        tmp_path,
        "infra/stack.yml",
        "include: [base/stack.yml]\nservices:\n  app:\n    extends: {service: tpl, file: tpl.yml}\n"
        "    volumes: ['./data:/data']\n    label_file: app.labels\n",
    )
    _write(
        tmp_path, "infra/tpl.yml", "services:\n  tpl:\n    image: app:1\n    env_file: app.env\n"
    )
    _write(tmp_path, "infra/app.env", "A=1\n")
    _write(tmp_path, "infra/conf/data/.keep", "")
    _write(tmp_path, "infra/conf/app.labels", "tier=app\n")
    main = _write(
        tmp_path,
        "stack.yml",
        "name: shop\ninclude:\n  - {path: infra/stack.yml, project_directory: infra/conf}\n",
    )
    stack = _load(main)
    assert sorted(stack.services) == ["app", "base"]
    app = stack.services["app"]
    assert dict(app.environment) == {"A": "1"}
    assert [m.source for m in app.mounts] == [f"{tmp_path}/infra/conf/data"]
    assert app.labels == {"tier": "app"}


def test_an_included_service_is_the_same_container_as_one_written_out(tmp_path: Path) -> None:
    # Moving a service into a file of its own and including it recreates nothing: its paths
    # name what they named.
    body = (
        "services:\n  db:\n    image: shop/db:1\n    env_file: db.env\n"
        "    volumes: ['./init:/init']\n"
    )
    _write(tmp_path, "db/db.env", "A=1\n")
    (tmp_path / "db/init").mkdir()
    written_out = _write(tmp_path, "db/alone.yml", f"name: shop\n{body}")
    _write(tmp_path, "db/stack.yml", body)
    included = _write(tmp_path, "stack.yml", "name: shop\ninclude: [db/stack.yml]\n")

    def labels(path: Path) -> dict[str, str]:
        [container] = desired_state(_load(path)).containers.values()
        return dict(container.labels)

    assert labels(written_out) == labels(included)
    assert f"{tmp_path}/db/init:/init" in labels(included)["io.stackr.spec"]


def test_each_file_of_a_file_set_brings_its_own_includes(tmp_path: Path) -> None:
    _write(tmp_path, "db.yml", "services:\n  db: {image: shop/db:1}\n")
    first = _write(tmp_path, "stack.yml", "name: shop\nservices:\n  web: {image: shop/web:1}\n")
    second = _write(
        tmp_path, "more.yml", "include: [db.yml]\nservices:\n  web: {depends_on: [db]}\n"
    )
    stack = load_stack([str(first), str(second)], profile="dev", env={})
    assert sorted(stack.services) == ["db", "web"]
    assert [d.service for d in stack.services["web"].depends_on] == ["db"]


def test_a_secret_from_an_included_files_env_is_hidden_as_the_stacks_own(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "db/stack.yml",
        "services:\n  db:\n    image: shop/db:1\n    environment: {CONN: 'pw=${DB_PASSWORD}'}\n"
        "secrets:\n  pw: {file: pw.txt}\n",
    )
    _write(tmp_path, "db/.env", "DB_PASSWORD=hunter2-very-secret\nDB_NAME=file-secret\n")
    _write(tmp_path, "db/pw.txt", "file-secret")
    main = _write(tmp_path, "stack.yml", "name: shop\ninclude: [db/stack.yml]\n")
    assert "hunter2-very-secret" in _load(main).sensitive
    rows = {r.name: r for r in variables([str(main)], profile="dev", env={})}
    assert rows["DB_PASSWORD"].value == "***"


def test_a_service_extends_an_included_one_as_the_including_file_changes_it(
    tmp_path: Path,
) -> None:
    _write(
        tmp_path,
        "base.yml",
        "services:\n  base:\n    image: shop/web:1\n    environment: {A: '1'}\n",
    )
    main = _write(
        tmp_path,
        "stack.yml",
        "name: shop\ninclude: [base.yml]\nservices:\n  web:\n    extends: base\n"
        "    environment: {B: '2'}\n",
    )
    assert dict(_load(main).services["web"].environment) == {"A": "1", "B": "2"}
    # Defined here too, the base is the included one as this file changes it.
    main = _write(
        tmp_path,
        "stack.yml",
        "name: shop\ninclude: [base.yml]\nservices:\n  base:\n    environment: {B: '2'}\n"
        "    ports: ['80']\n  web:\n    extends: base\n",
    )
    stack = _load(main)
    for name in ("base", "web"):
        service = stack.services[name]
        assert (service.image, dict(service.environment)) == ("shop/web:1", {"A": "1", "B": "2"})
        assert len(service.ports) == 1  # the including file's own, once


def test_a_network_declared_empty_either_way_is_one_definition(tmp_path: Path) -> None:
    _write(tmp_path, "a.yml", "networks:\n  back:\nvolumes:\n  data: {}\n")
    _write(tmp_path, "b.yml", "networks:\n  back: {}\nvolumes:\n  data:\n")
    main = _write(tmp_path, "stack.yml", "name: shop\ninclude: [a.yml, b.yml]\nservices: {}\n")
    stack = _load(main)
    assert ("back" in stack.networks, "data" in stack.volumes) == (True, True)


def test_one_file_included_twice_with_different_variables_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "common/c.yml", "services:\n  c: {image: 'c:${V}'}\n")
    for side in ("x", "y"):
        _write(tmp_path, f"{side}/.env", f"V={side}\n")
        _write(tmp_path, f"{side}/s.yml", "include: [../common/c.yml]\n")
    main = _write(tmp_path, "stack.yml", "name: shop\ninclude: [x/s.yml, y/s.yml]\n")
    assert _problems(main) == [
        "c.yml:2 services.c: service c reads differently where its file is included twice: "
        "the includes give it different variables"
    ]
