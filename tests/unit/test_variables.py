"""Variable sources and their order; a value's origin shows in the problems it causes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from stackr.errors import SpecError
from stackr.spec import load_stack, load_variables

STACK = "services:\n  web:\n    image: shop/web:${TAG:-latest}\n    replicas: 1\n"


def _image(path: Path, profile: str = "dev", **kwargs: object) -> str:
    return load_stack([str(path)], profile=profile, **kwargs).services["web"].image  # type: ignore[arg-type]


@pytest.fixture
def layered(write_stack) -> Path:  # type: ignore[no-untyped-def]
    path: Path = write_stack(STACK + "profiles:\n  dev: {}\n  prod: {env_file: prod.env}\n")
    (path.parent / ".env").write_text("TAG=from-dotenv\n")
    (path.parent / ".env.dev").write_text("# dev\nexport TAG='from-dotenv-dev'\n")
    (path.parent / "prod.env").write_text("TAG=from-profile-env-file\n")
    (path.parent / "cli.env").write_text('TAG="from-cli"\n')
    return path


def test_profile_dotenv_beats_dotenv(layered: Path) -> None:
    assert _image(layered, env={}) == "shop/web:from-dotenv-dev"


def test_profile_env_file_beats_dotenv(layered: Path) -> None:
    assert _image(layered, "prod", env={}) == "shop/web:from-profile-env-file"


def test_cli_env_file_beats_profile_files(layered: Path) -> None:
    cli = str(layered.parent / "cli.env")
    assert _image(layered, "prod", env={}, env_files=[cli]) == "shop/web:from-cli"


def test_process_environment_beats_everything(layered: Path) -> None:
    cli = str(layered.parent / "cli.env")
    assert _image(layered, env={"TAG": "from-env"}, env_files=[cli]) == "shop/web:from-env"


def test_missing_explicit_env_file_is_an_error(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = write_stack(STACK)
    with pytest.raises(SpecError, match="env file not found"):
        load_stack([str(path)], profile="dev", env={}, env_files=["nope.env"])


def test_an_env_file_may_be_a_pipe(layered: Path, tmp_path: Path) -> None:
    # `--env-file <(vault read ...)`: the shell passes a pipe such as /dev/fd/63.
    fifo = tmp_path / "pipe.env"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_text, args=("TAG=from-pipe\n",))
    writer.start()
    try:
        assert _image(layered, env={}, env_files=[str(fifo)]) == "shop/web:from-pipe"
    finally:
        writer.join(timeout=5)


def test_a_directory_is_not_an_env_file(write_stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_stack(STACK)
    with pytest.raises(SpecError, match="a directory, not an env file"):
        load_stack([str(path)], profile="dev", env={}, env_files=[str(tmp_path)])


def test_value_from_env_file_names_its_line(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = write_stack("services:\n  web:\n    image: x\n    replicas: 1\n    ports: ['${PORT}']\n")
    (path.parent / ".env.prod").write_text("# ports\n\nPORT=eighty\n")
    with pytest.raises(SpecError) as caught:
        load_stack([str(path)], profile="prod", env={})
    (issue,) = caught.value.issues
    assert issue.message.endswith(f"(from {path.parent / '.env.prod'}:3)")
    assert (issue.line, issue.path) == (5, "services.web.ports[0]")


def test_value_made_of_several_variables_names_each_source(write_stack) -> None:  # type: ignore[no-untyped-def]
    text = "services:\n  web:\n    image: x\n    ports: ['${HOST}:${CPORT}']\n"
    path = write_stack(text)
    (path.parent / ".env").write_text("HOST=eighty\n")
    (path.parent / ".env.prod").write_text("\nCPORT=80x\n")
    with pytest.raises(SpecError) as caught:
        load_stack([str(path)], profile="prod", env={})
    (issue,) = caught.value.issues
    env, prod = path.parent / ".env", path.parent / ".env.prod"
    assert issue.message.endswith(f"(from HOST in {env}:1, CPORT in {prod}:2)")
    with pytest.raises(SpecError) as caught:
        load_stack([str(path)], profile="prod", env={"HOST": "99999"})
    (issue,) = caught.value.issues
    assert issue.message.endswith(f"(from HOST in the environment, CPORT in {prod}:2)")


def test_variables_are_listed_with_defaults_and_origins(layered: Path) -> None:
    read = load_variables([str(layered)], profile="prod", env={})
    uses, variables = read.uses, read.found
    assert read.secret_sources == frozenset()
    assert [(u.name, u.default, u.required) for u in uses] == [("TAG", "latest", False)]
    assert uses[0].position is not None and uses[0].position.line == 3
    assert variables.origin("TAG") == f"{layered.parent / 'prod.env'}:1"
    assert variables.values["TAG"] == "from-profile-env-file"


def test_secret_variables_stay_hidden_in_config_and_the_variable_list(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr import api

    spec = {
        "name": "shop",
        "services": {"web": {"image": "shop/web:${TAG}", "configs": ["app"]}},
        "configs": {"app": {"content": "password=${DB_PASSWORD}\nlevel=${TAG}\n"}},
    }
    path = write_stack(spec)
    env = {"DB_PASSWORD": "pw-s3cr3t", "TAG": "1.5"}
    stack = load_stack([str(path)], profile="dev", env=env)
    assert api.config(stack)["configs"]["app"] == {"content": "password=***\nlevel=1.5\n"}
    rows = {r.name: r.value for r in api.variables([str(path)], profile="dev", env=env)}
    assert rows == {"TAG": "1.5", "DB_PASSWORD": "***"}


def test_a_variable_holding_a_secret_files_content_is_hidden_in_the_list(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr import api

    spec = {
        "name": "shop",
        "services": {"web": {"image": "shop/web:1", "environment": {"COPY": "${DBPW_COPY}"}}},
        "secrets": {"db": {"file": "db.txt"}},
    }
    path = write_stack(spec)
    (path.parent / "db.txt").write_text("hunter2hunter2\n")
    env = {"DBPW_COPY": "hunter2hunter2"}
    rows = {r.name: r.value for r in api.variables([str(path)], profile="dev", env=env)}
    assert rows == {"DBPW_COPY": "***"}
    stack = load_stack([str(path)], profile="dev", env=env)
    assert api.config(stack)["services"]["web"]["environment"] == {"COPY": "***"}


def test_a_secret_variables_default_is_hidden_too(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr import api

    environment = {"TOKEN": "${API_TOKEN:-abcdefgh123}", "LEVEL": "${LEVEL:-info}"}
    path = write_stack({"services": {"web": {"image": "x", "environment": environment}}})
    rows = {r.name: (r.value, r.default) for r in api.variables([str(path)], profile="dev")}
    assert rows == {"API_TOKEN": ("***", "***"), "LEVEL": ("info", "info")}


def test_a_value_holding_a_secret_variables_value_is_hidden_in_the_list(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr import api

    environment = {"URL": "${URL}", "T": "${API_TOKEN}"}
    path = write_stack({"services": {"web": {"image": "x", "environment": environment}}})
    env = {"API_TOKEN": "abcdef123", "URL": "http://x?t=abcdef123"}
    rows = {r.name: r.value for r in api.variables([str(path)], profile="dev", env=env)}
    assert rows == {"API_TOKEN": "***", "URL": "***"}


def test_an_unset_plain_variable_is_empty_with_a_located_warning(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = write_stack(
        "services:\n  web:\n    image: 'shop/web:${TAG}'\n"
        "    environment: {A: $GONE, B: '${SET}', C: '${GONE:-fallback}', D: '${GONE-}'}\n"
        "profiles:\n  dev: {}\n  prod:\n    services:\n      web: {labels: {x: '${PROD_ONLY}'}}\n"
    )
    stack = load_stack([str(path)], profile="dev", env={"SET": "1"})
    assert stack.services["web"].image == "shop/web:"
    assert [(w.line, w.path, w.message) for w in stack.warnings] == [
        (3, "services.web.image", "TAG is not set: an empty string is used"),
        (4, "services.web.environment.A", "GONE is not set: an empty string is used"),
    ]
    assert stack.warnings[0].hint == "set TAG, or write ${TAG:-default} (${TAG:-} for an empty one)"


def test_numbers_can_come_from_variables(write_stack) -> None:  # type: ignore[no-untyped-def]
    web = {
        "image": "shop/web:1",
        "replicas": "${WEB_REPLICAS:-2}",
        "healthcheck": {"test": ["CMD", "true"], "retries": "${RETRIES}"},
        "update": {"parallelism": "${BATCH:-1}"},
    }
    path = write_stack({"services": {"web": web}})
    env = {"WEB_REPLICAS": "5", "RETRIES": "7"}
    service = load_stack([str(path)], profile="dev", env=env).services["web"]
    assert (service.replicas, service.update.parallelism) == (5, 1)
    assert service.healthcheck is not None and service.healthcheck.retries == 7
    with pytest.raises(SpecError) as caught:
        load_stack([str(path)], profile="dev", env={**env, "WEB_REPLICAS": "lots"})
    assert "services.web.replicas: 'lots' is not a valid replica count" in str(caught.value)


def test_variables_include_bare_environment_keys_and_secret_sources(
    write_stack,
) -> None:  # type: ignore[no-untyped-def]
    from stackr import api

    spec = {
        "name": "shop",
        "services": {
            "web": {"image": "x", "environment": ["PASSTHRU", "A=1"], "secrets": ["api"]},
            "db": {"image": "x", "environment": {"LEVEL": None}},
        },
        "secrets": {"api": {"environment": "API_TOKEN"}},
    }
    path = write_stack(spec)
    env = {"PASSTHRU": "hello", "API_TOKEN": "supersecret123"}
    rows = {r.name: r for r in api.variables([str(path)], profile="dev", env=env)}
    assert sorted(rows) == ["API_TOKEN", "LEVEL", "PASSTHRU"]
    assert (rows["PASSTHRU"].value, rows["PASSTHRU"].required) == ("hello", False)
    assert (rows["API_TOKEN"].value, rows["API_TOKEN"].required) == ("***", True)
    assert (rows["LEVEL"].value, rows["LEVEL"].source) == (None, "unset")


def test_a_duration_from_a_variable_may_be_a_number_of_seconds(write_stack) -> None:  # type: ignore[no-untyped-def]
    text = "services:\n  web:\n    image: x\n    stop_grace_period: '${GRACE:-10}'\n"
    stack = load_stack([str(write_stack(text))], profile="dev", env={"GRACE": "2.5"})
    assert stack.services["web"].stop_grace_period == 2.5


def test_a_profiles_env_file_a_later_file_replaces_is_not_missing(tmp_path: Path) -> None:
    (tmp_path / "stack.yml").write_text(
        "services:\n  web: {image: 'nginx:${TAG:?set TAG}'}\n"
        "profiles:\n  prod: {env_file: .env.missing}\n"
    )
    (tmp_path / "override.yml").write_text("profiles:\n  prod: {env_file: .env.real}\n")
    (tmp_path / ".env.real").write_text("TAG=1\n")
    files = [str(tmp_path / "stack.yml"), str(tmp_path / "override.yml")]
    assert load_stack(files, profile="prod", env={}).services["web"].image == "nginx:1"
    with pytest.raises(SpecError) as caught:
        load_stack(files[:1], profile="prod", env={})
    assert [i.message for i in caught.value.issues] == [
        "set TAG (${TAG} is not set)",
        "env file .env.missing not found",
    ]


def test_a_nested_default_reads_as_the_variables_at_hand_and_hides_a_secrets_default(
    write_stack,
) -> None:  # type: ignore[no-untyped-def]
    from stackr import api

    environment = {
        "PLAIN": "${PLAINVAR:-${SECRET_KEY:-nesteddefault999}}",
        "O3": "${UNSETPLAIN:-${LEVEL:-info}}",
    }
    path = write_stack({"services": {"web": {"image": "x", "environment": environment}}})
    rows = {r.name: (r.value, r.default) for r in api.variables([str(path)], profile="dev", env={})}
    assert rows["PLAINVAR"] == ("***", "***")  # SECRET_KEY's default, nested
    assert rows["UNSETPLAIN"] == ("info", "info")
    env = {"SECRET_KEY": "envsk12345", "LEVEL": "debug"}
    rows = {
        r.name: (r.value, r.default) for r in api.variables([str(path)], profile="dev", env=env)
    }
    assert rows["UNSETPLAIN"] == ("debug", "info")  # its default, with LEVEL as it is set
    assert rows["PLAINVAR"] == ("***", "***")


def test_the_variables_of_a_profile_the_file_lacks_are_refused(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = write_stack("services:\n  web:\n    image: ${IMAGE}\nprofiles:\n  prod: {}\n")
    with pytest.raises(SpecError, match="no profile 'staging' in this file"):
        load_variables([str(path)], profile="staging", env={})


def test_an_env_file_is_utf8_and_may_start_with_a_byte_order_mark(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = write_stack(STACK)
    (path.parent / "bom.env").write_bytes(b"\xef\xbb\xbfTAG=from-bom\n")
    assert _image(path, env={}, env_files=[str(path.parent / "bom.env")]) == "shop/web:from-bom"
    (path.parent / "latin1.env").write_bytes(b"# caf\xe9\nTAG=x\n")
    with pytest.raises(SpecError) as caught:
        load_stack([str(path)], profile="dev", env={}, env_files=[str(path.parent / "latin1.env")])
    (issue,) = caught.value.issues
    assert (issue.line, issue.message) == (1, "not UTF-8: byte 0xe9 cannot be read")
