"""Services' env_files and label_files, and secrets and configs: read while loading, located
when wrong, never shown, and part of the containers' spec so that a changed file is a changed
container."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakes import FakeEngine

from stackr import api
from stackr.errors import SpecError
from stackr.plan import ActionKind, ObjectKind
from stackr.spec import load_stack
from stackr.spec.model import FileGrant, FileKind

IMAGES = {"shop/web:1": "sha256:aaa"}


def _stack_dir(tmp_path: Path, spec: str, files: dict[str, str]) -> Path:
    (tmp_path / "stack.yml").write_text(spec)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path / "stack.yml"


def _problems(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(path.parent)
        with pytest.raises(SpecError) as caught:
            load_stack([path.name], profile="dev", env=env or {})
    return [i.render() for i in caught.value.issues]


SECRETS = """\
name: shop
services:
  web:
    image: shop/web:1
    env_file: [common.env, {path: local.env, required: false}, web.env]
    environment: {LOG_LEVEL: warn}
    secrets:
      - db_password
      - {source: token, target: api/token, mode: "0400", uid: 1000, gid: 1000}
    configs:
      - motd
      - {source: nginx, target: /etc/nginx/nginx.conf}
secrets:
  db_password: {file: ./db.txt}
  token: {environment: API_TOKEN}
configs:
  motd: {content: "hello ${WHO:-world}\\n"}
  nginx: {file: nginx.conf}
"""
FILES = {
    "common.env": "LOG_LEVEL=info\nREGION=eu\n",
    "web.env": "REGION=us\n# comment\nexport QUOTED='a b'\n",
    "db.txt": "s3cret\n",
    "nginx.conf": "events {}\n",
}


def test_env_files_merge_in_order_and_environment_wins(tmp_path: Path) -> None:
    stack = load_stack(
        [str(_stack_dir(tmp_path, SECRETS, FILES))], profile="dev", env={"API_TOKEN": "t"}
    )
    assert dict(stack.services["web"].environment) == {
        "LOG_LEVEL": "warn",
        "REGION": "us",
        "QUOTED": "a b",
    }


def test_secrets_and_configs_are_read_with_their_targets(tmp_path: Path) -> None:
    stack = load_stack(
        [str(_stack_dir(tmp_path, SECRETS, FILES))], profile="dev", env={"API_TOKEN": "t0k"}
    )
    web = stack.services["web"]
    assert web.secrets == (
        FileGrant(source="db_password", target="/run/secrets/db_password"),
        FileGrant(
            source="token", target="/run/secrets/api/token", mode=0o400, uid="1000", gid="1000"
        ),
    )
    assert [g.target for g in web.configs] == ["/motd", "/etc/nginx/nginx.conf"]
    assert stack.secrets["db_password"].data == b"s3cret\n"
    assert stack.secrets["token"].data == b"t0k"
    assert stack.configs["motd"].data == b"hello world\n"
    assert stack.configs["nginx"].kind is FileKind.CONFIG


def test_config_output_names_sources_never_secret_values(tmp_path: Path) -> None:
    path = _stack_dir(tmp_path, SECRETS, FILES)
    rendered = api.config(api.validate([str(path)], profile="dev", env={"API_TOKEN": "t0k"}))
    assert rendered["secrets"] == {
        "db_password": {"file": str(tmp_path / "db.txt")},
        "token": {"environment": "API_TOKEN"},
    }
    assert rendered["services"]["web"]["secrets"][1] == {
        "source": "token",
        "target": "/run/secrets/api/token",
        "mode": "0400",
        "uid": "1000",
        "gid": "1000",
    }
    assert "s3cret" not in repr(rendered) and "t0k" not in repr(rendered)


def test_missing_files_and_variables_are_located(tmp_path: Path) -> None:
    files = {k: v for k, v in FILES.items() if k not in ("web.env", "db.txt")}
    assert _problems(_stack_dir(tmp_path, SECRETS, files)) == [
        "stack.yml:5:64  services.web.env_file[2]: env file web.env not found — create it, fix "
        "the path (relative to the stack file), or mark it `required: false`",
        "stack.yml:14:17  secrets.db_password.file: file ./db.txt not found — create it, or fix "
        "the path (relative to the stack file)",
        "stack.yml:15:11  secrets.token.environment: variable API_TOKEN is not set — set it in "
        "the environment, an --env-file, the profile's env_file, .env.<profile> or .env",
    ]


def test_a_broken_env_file_line_is_reported_at_its_line(tmp_path: Path) -> None:
    files = {**FILES, "web.env": "GOOD=1\nnot a line\n"}
    assert _problems(_stack_dir(tmp_path, SECRETS, files), {"API_TOKEN": "t"}) == [
        "web.env:2:1  not a KEY=value line: 'not a line' — write KEY=value, or start the line "
        "with # to comment it out",
    ]


def test_env_file_values_substitute_variables_as_compose_does(tmp_path: Path) -> None:
    spec = (
        "services:\n  web:\n    image: shop/web:1\n    env_file: web.env\n"
        "    environment: {B: '${B}', C: '${C}', D: '${D}', E: '${E}', F: '${F}'}\n"
    )
    files = {
        ".env": "A=1\nB=${A}-x\nC=\"${A}-y\"\nD='${A}-z'\nE=$$HOME\nF=${NOPE:-dflt}\n",
        "web.env": "V=${B}+v\nW=${V}+w\nLIT='$V'\n",
    }
    path = _stack_dir(tmp_path, spec, files)
    web = load_stack([str(path)], profile="dev", env={}).services["web"]
    assert dict(web.environment) == {
        **{"B": "1-x", "C": "1-y", "D": "${A}-z", "E": "$HOME", "F": "dflt"},
        **{"V": "1-x+v", "W": "1-x+v+w", "LIT": "$V"},
    }
    # The environment comes before the lines above.
    web = load_stack([str(path)], profile="dev", env={"A": "9"}).services["web"]
    assert (web.environment["B"], web.environment["V"]) == ("9-x", "9-x+v")


def test_an_escaped_dollar_in_an_env_file_is_a_dollar(tmp_path: Path) -> None:
    spec = "services:\n  web:\n    image: shop/web:1\n    env_file: web.env\n"
    files = {"web.env": 'B=1\nF="a\\$B"\nG=a\\$B\nH=a$B\n'}
    web = load_stack([str(_stack_dir(tmp_path, spec, files))], profile="dev", env={})
    assert {k: web.services["web"].environment[k] for k in "FGH"} == {
        "F": "a$B",
        "G": "a$B",
        "H": "a1",
    }


def test_a_variable_an_env_file_uses_that_is_set_nowhere_is_warned_of_once(
    tmp_path: Path,
) -> None:
    spec = (
        "services:\n  a: {image: shop/web:1, env_file: app.env, environment: {B: '${B}'}}\n"
        "  b: {image: shop/web:1, env_file: app.env}\n"
    )
    files = {".env": "B=${NOT_SET}-x\n", "app.env": "S=${ALSO_NOT_SET}-web\nT=${X:-ok}\n"}
    stack = load_stack([str(_stack_dir(tmp_path, spec, files))], profile="dev", env={})
    assert [(w.line, w.message) for w in stack.warnings] == [
        (1, "NOT_SET is not set: an empty string is used"),
        (1, "ALSO_NOT_SET is not set: an empty string is used"),
    ]
    assert stack.services["b"].environment == {"S": "-web", "T": "ok"}


def test_a_dollar_in_a_secret_looking_value_is_never_named_in_a_warning(tmp_path: Path) -> None:
    spec = "services:\n  web: {image: shop/web:1, env_file: web.env}\n"
    files = {"web.env": "DB_PASSWORD=s3cr$Et9pass\nOK='s3cr$Et9pass'\n"}
    stack = load_stack([str(_stack_dir(tmp_path, spec, files))], profile="dev", env={})
    (warning,) = stack.warnings
    assert "Et9pass" not in warning.render()
    assert (
        warning.message == "DB_PASSWORD's value uses a variable that is not set: it reads as empty"
    )
    assert stack.services["web"].environment["OK"] == "s3cr$Et9pass"
    files = {"web.env": "API_TOKEN=ab${cd\n"}
    problems = _problems(_stack_dir(tmp_path, spec, files))
    assert problems == [
        "web.env:1:1  API_TOKEN's value cannot be substituted — write $$ or \\$ for a literal $, "
        "or single-quote the value"
    ]


def test_the_dotenv_read_for_variables_and_as_an_env_file_warns_once(tmp_path: Path) -> None:
    spec = "services:\n  web: {image: shop/web:1, env_file: .env}\n"
    files = {".env": "B=${NOT_SET}-x\n"}
    stack = load_stack([str(_stack_dir(tmp_path, spec, files))], profile="dev", env={})
    assert [w.message for w in stack.warnings] == ["NOT_SET is not set: an empty string is used"]


def test_a_value_made_from_an_env_files_secret_is_hidden_everywhere(tmp_path: Path) -> None:
    from stackr.desired import desired_state

    spec = "name: shop\nservices:\n  web: {image: shop/web:1, env_file: svc.env}\n"
    files = {
        "svc.env": "DB_PASSWORD=hunter2secret\nPLAIN=${DB_PASSWORD}\nURL2=mysql://db/?pw=${DB_PASSWORD}\n"
    }
    stack = load_stack([str(_stack_dir(tmp_path, spec, files))], profile="dev", env={})
    shown = api.config(stack)["services"]["web"]["environment"]
    assert shown == {"DB_PASSWORD": "***", "PLAIN": "***", "URL2": "***"}
    (container,) = desired_state(stack).containers.values()
    assert "hunter2secret" not in container.labels["io.stackr.spec"]


def test_an_unclosed_quote_in_an_env_file_is_located(tmp_path: Path) -> None:
    files = {**FILES, "web.env": 'A="unterminated\nB=2\n'}
    assert _problems(_stack_dir(tmp_path, SECRETS, files), {"API_TOKEN": "t"}) == [
        "web.env:1:1  the double quote that opens this value is never closed — close it: a "
        "quoted value goes on over the lines after it until its quote closes",
    ]


def test_a_quoted_env_file_value_may_span_lines(tmp_path: Path) -> None:
    spec = "services:\n  web: {image: shop/web:1, env_file: web.env}\n"
    files = {"web.env": 'KEY="-----BEGIN\nabc \\"x\\"\n-----END"\nNEXT=1\nLIT=\'a\nb\'\n'}
    web = load_stack([str(_stack_dir(tmp_path, spec, files))], profile="dev", env={})
    assert dict(web.services["web"].environment) == {
        "KEY": '-----BEGIN\nabc "x"\n-----END',
        "NEXT": "1",
        "LIT": "a\nb",
    }


def test_an_env_file_value_that_cannot_be_substituted_is_located(tmp_path: Path) -> None:
    files = {**FILES, "web.env": "GOOD=1\nTOKEN=${TOKEN_SOURCE:?set TOKEN_SOURCE}\n"}
    assert _problems(_stack_dir(tmp_path, SECRETS, files), {"API_TOKEN": "t"}) == [
        "web.env:2:1  set TOKEN_SOURCE (${TOKEN_SOURCE} is not set) — set TOKEN_SOURCE in the "
        "environment, an --env-file, the profile's env_file, .env.<profile> or .env",
    ]


def test_references_targets_and_modes_are_checked(tmp_path: Path) -> None:
    spec = """\
services:
  web:
    image: shop/web:1
    secrets:
      - db_pasword
      - {source: db_password, mode: 999}
      - {source: db_password, target: /run/secrets/db_password}
    configs: [nothing]
secrets:
  db_password: {file: db.txt}
  both: {file: db.txt, environment: X}
"""
    assert _problems(_stack_dir(tmp_path, spec, {"db.txt": "x"})) == [
        "stack.yml:5:9  services.web.secrets[0]: uses undeclared secret 'db_pasword' — did you "
        "mean 'db_password'?",
        "stack.yml:6:31  services.web.secrets[1].mode: '999' is not a file mode — write the mode "
        'in octal, e.g. "0440"',
        "stack.yml:7:9  services.web.secrets[2]: /run/secrets/db_password is already the target "
        "of secret 'db_password' — give each volume, tmpfs, secret and config its own target path",
        "stack.yml:8:15  services.web.configs[0]: uses undeclared config 'nothing' — declare it "
        "under top-level 'configs:'",
        "stack.yml:11:3  secrets.both: give only one of 'file', 'environment'",
    ]


def test_a_bad_grant_is_reported_as_a_mapping_not_as_a_name(tmp_path: Path) -> None:
    spec = """\
services:
  web:
    image: shop/web:1
    configs: [{source: c, uid: root}]
configs:
  c: {content: x}
"""
    assert _problems(_stack_dir(tmp_path, spec, {})) == [
        "stack.yml:4:27  services.web.configs[0].uid: 'root' is not a valid numeric id — use a "
        "number, e.g. 1000",
    ]


def _plan_after_change(tmp_path: Path, change: dict[str, str], env: dict[str, str]) -> Any:
    path = _stack_dir(tmp_path, SECRETS, FILES)
    engine = FakeEngine(images=dict(IMAGES))
    api.up(api.load([str(path)], profile="dev", env=env), engine, options=api.UpOptions(jobs=2))
    for name, text in change.items():
        (tmp_path / name).write_text(text)
    plan = api.plan(api.load([str(path)], profile="dev", env=env), engine)
    return plan.action_for(ObjectKind.CONTAINER, "shop-dev-web-1")


def test_unchanged_files_keep_the_container(tmp_path: Path) -> None:
    action = _plan_after_change(tmp_path, {}, {"API_TOKEN": "t"})
    assert action.kind is ActionKind.KEEP


def test_changed_secret_config_and_env_file_contents_recreate(tmp_path: Path) -> None:
    change = {"db.txt": "n3w\n", "nginx.conf": "events { }\n", "web.env": "REGION=ap\n"}
    action = _plan_after_change(tmp_path, change, {"API_TOKEN": "t"})
    assert (action.kind, action.reason) == (ActionKind.RECREATE, "its spec changed")
    assert action.change_lines() == (
        "environment.QUOTED: a b → (unset)",
        "environment.REGION: us → ap",
        "secrets./run/secrets/db_password: content changed",
        "configs./etc/nginx/nginx.conf: content changed",
    )


def test_a_secret_from_the_environment_is_compared_too(tmp_path: Path) -> None:
    path = _stack_dir(tmp_path, SECRETS, FILES)
    engine = FakeEngine(images=dict(IMAGES))
    first = api.load([str(path)], profile="dev", env={"API_TOKEN": "tok-alpha"})
    api.up(first, engine, options=api.UpOptions(jobs=2))
    again = api.plan(api.load([str(path)], profile="dev", env={"API_TOKEN": "tok-beta"}), engine)
    action = again.action_for(ObjectKind.CONTAINER, "shop-dev-web-1")
    assert action is not None
    assert action.change_lines() == ("secrets./run/secrets/api/token: content changed",)
    assert "tok-alpha" not in repr(again) and "tok-beta" not in repr(again)


def test_grants_added_and_removed_are_named(tmp_path: Path) -> None:
    from stackr.changes import spec_changes

    old = {"secrets": {"/run/secrets/a": {"source": "a", "mode": "0444", "content": "x"}}}
    new = {"configs": {"/b": {"source": "b", "mode": "0444", "content": "y"}}}
    assert [c.line() for c in spec_changes(old, new)] == [
        "secrets./run/secrets/a: removed (secret a)",
        "configs./b: added (config b)",
    ]


def test_a_never_started_container_with_files_is_recreated(tmp_path: Path) -> None:
    path = _stack_dir(tmp_path, SECRETS, FILES)
    engine = FakeEngine(images=dict(IMAGES))
    loaded = api.load([str(path)], profile="dev", env={"API_TOKEN": "t"})
    api.up(loaded, engine, options=api.UpOptions(jobs=2))
    engine.containers["shop-dev-web-1"].state = "created"
    action = api.plan(loaded, engine).action_for(ObjectKind.CONTAINER, "shop-dev-web-1")
    assert action is not None
    assert action.describe() == (
        "recreate container shop-dev-web-1 — never started, so its secret and config files "
        "may be partial"
    )


BUILT = """\
name: shop
services:
  web:
    build: {context: ./web, args: {VERSION: "1"}}
  db:
    image: shop/web:1
"""


def _built(tmp_path: Path) -> tuple[Path, FakeEngine]:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "Dockerfile").write_text("FROM scratch\nCOPY app.txt /\n")
    (tmp_path / "web" / "app.txt").write_text("v1\n")
    path = _stack_dir(tmp_path, BUILT, {})
    engine = FakeEngine(images=dict(IMAGES))
    api.up(api.load([str(path)], profile="dev", env={}), engine, options=api.UpOptions(jobs=2))
    return path, engine


def test_an_unchanged_build_context_is_neither_rebuilt_nor_recreated(tmp_path: Path) -> None:
    path, engine = _built(tmp_path)
    result = api.up(api.load([str(path)], profile="dev", env={}), engine, options=api.UpOptions())
    assert result.plan.pending() == ()
    assert engine.calls["build"] == 1


def test_a_tag_moved_off_a_built_image_outside_stackr_recreates_nothing(tmp_path: Path) -> None:
    # The container runs a build of the service's inputs (their digest is in its spec): another
    # image under its tag changes nothing it runs.
    path, engine = _built(tmp_path)
    image = api.load([str(path)], profile="dev", env={}).stack.services["web"].image
    engine.images[image] = "sha256:someone-elses-image"
    del engine.built[image]
    result = api.up(api.load([str(path)], profile="dev", env={}), engine, options=api.UpOptions())
    assert result.plan.pending() == ()
    assert engine.calls["build"] == 1
    # A new replica would run the tag: the plan says it is built again first.
    _stack_dir(tmp_path, BUILT.replace("  web:\n", "  web:\n    replicas: 2\n"), {})
    loaded = api.load([str(path)], profile="dev", env={})
    lines = [a.describe() for a in api.plan(loaded, engine).pending()]
    assert lines == [
        f"create container shop-dev-web-2 — not on the engine (its image {image} is built first)"
    ]


def test_up_build_making_another_image_of_the_same_inputs_recreates(tmp_path: Path) -> None:
    path, engine = _built(tmp_path)
    loaded = api.load([str(path)], profile="dev", env={})
    result = api.up(loaded, engine, options=api.UpOptions(build=True))
    image = loaded.stack.services["web"].image
    (action,) = result.plan.pending()
    assert (action.name, action.kind) == ("shop-dev-web-1", ActionKind.RECREATE)
    assert action.reason.startswith(f"image {image} now is ")
    assert engine.containers["shop-dev-web-1"].image_id == f"sha256:built-{image}-2"


def test_a_changed_build_context_rebuilds_and_recreates_only_its_service(tmp_path: Path) -> None:
    path, engine = _built(tmp_path)
    (tmp_path / "web" / "app.txt").write_text("v2\n")
    result = api.up(api.load([str(path)], profile="dev", env={}), engine, options=api.UpOptions())
    assert [(a.name, a.change_lines()) for a in result.plan.pending()] == [
        (
            "shop-dev-web-1",
            ("build: its context, Dockerfile, args or target changed (the image is rebuilt)",),
        )
    ]
    assert engine.calls["build"] == 2
    again = api.plan(api.load([str(path)], profile="dev", env={}), engine)
    assert again.pending() == ()


def test_the_plan_says_an_image_missing_from_the_engine_is_built_first(tmp_path: Path) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "Dockerfile").write_text("FROM scratch\n")
    path = _stack_dir(tmp_path, BUILT, {})
    loaded = api.load([str(path)], profile="dev", env={})
    web = api.plan(loaded, FakeEngine(images=dict(IMAGES))).action_for(
        ObjectKind.CONTAINER, "shop-dev-web-1"
    )
    image = loaded.stack.services["web"].image
    assert web is not None and web.reason.endswith(f"(its image {image} is built first)")


def test_a_build_shows_in_the_progress_as_it_starts_and_ends(tmp_path: Path) -> None:
    from stackr.events import Event, Phase

    path, engine = _built(tmp_path)
    (tmp_path / "web" / "app.txt").write_text("v2\n")
    events: list[Event] = []
    loaded = api.load([str(path)], profile="dev", env={})
    api.up(loaded, engine, options=api.UpOptions(), on_event=events.append)
    image = loaded.stack.services["web"].image
    shown = [(e.phase, e.detail) for e in events if e.subject == image]
    assert shown == [(Phase.BUILDING, "the image"), (Phase.DONE, "built")]


def test_build_digest_covers_dockerfile_args_and_executable_bits(tmp_path: Path) -> None:
    from stackr.fingerprint import build_digest
    from stackr.spec.model import Build

    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "run.sh").write_text("echo\n")
    files = ["Dockerfile", "run.sh"]
    base = Build(context=str(tmp_path))
    first = build_digest(base, files)
    assert build_digest(base, files) == first
    assert build_digest(Build(context=str(tmp_path), args={"A": "1"}), files) != first
    (tmp_path / "run.sh").chmod(0o755)
    assert build_digest(base, files) != first
    (tmp_path / "run.sh").chmod(0o644)
    assert build_digest(base, files) == first
    (tmp_path / "Dockerfile").write_text("FROM scratch\nUSER 1\n")
    assert build_digest(base, files) != first


def test_a_grant_given_another_source_says_so_and_not_that_content_changed() -> None:
    from stackr.changes import spec_changes

    old = {"secrets": {"/run/secrets/db": {"source": "db_v1", "mode": "0444", "content": "x"}}}
    new = {"secrets": {"/run/secrets/db": {"source": "db_v2", "mode": "0444", "content": "y"}}}
    assert [c.line() for c in spec_changes(old, new)] == [
        "secrets./run/secrets/db.source: db_v1 → db_v2"
    ]


SHARED_BUILD = """\
name: shop
services:
  web:
    build: ./web
    image: shop/app:dev
  worker:
    image: shop/app:dev
"""


def test_a_service_running_an_image_another_builds_is_recreated_with_it(tmp_path: Path) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "Dockerfile").write_text("FROM scratch\nCOPY app.txt /\n")
    (tmp_path / "web" / "app.txt").write_text("v1\n")
    path = _stack_dir(tmp_path, SHARED_BUILD, {})
    engine = FakeEngine()
    api.up(api.load([str(path)], profile="dev", env={}), engine, options=api.UpOptions(jobs=2))
    assert engine.calls["build"] == 1
    (tmp_path / "web" / "app.txt").write_text("v2\n")
    result = api.up(api.load([str(path)], profile="dev", env={}), engine, options=api.UpOptions())
    rebuilt = ("build: its context, Dockerfile, args or target changed (the image is rebuilt)",)
    assert [(a.name, a.change_lines()) for a in result.plan.pending()] == [
        ("shop-dev-web-1", rebuilt),
        ("shop-dev-worker-1", rebuilt),
    ]
    assert engine.calls["build"] == 2  # once for both
    built = engine.images["shop/app:dev"]
    assert {engine.containers[f"shop-dev-{s}-1"].image_id for s in ("web", "worker")} == {built}
    assert api.plan(api.load([str(path)], profile="dev", env={}), engine).pending() == ()


def test_up_of_a_service_running_an_image_another_builds_builds_it_and_stays_put(
    tmp_path: Path,
) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "Dockerfile").write_text("FROM scratch\nCOPY app.txt /\n")
    (tmp_path / "web" / "app.txt").write_text("v1\n")
    path = _stack_dir(tmp_path, SHARED_BUILD, {})
    engine = FakeEngine()

    def up_worker() -> api.UpResult:
        loaded = api.load([str(path)], profile="dev", env={}).only(["worker"])
        return api.up(loaded, engine, options=api.UpOptions(jobs=2))

    up_worker()  # built, not pulled: the fake engine cannot pull
    assert engine.calls["build"] == 1
    assert sorted(engine.containers) == ["shop-dev-worker-1"]
    assert up_worker().plan.pending() == ()
    full = api.up(api.load([str(path)], profile="dev", env={}), engine, options=api.UpOptions())
    assert [a.name for a in full.plan.pending()] == ["shop-dev-web-1"]


def test_one_image_built_two_ways_is_refused(tmp_path: Path) -> None:
    for folder in ("web", "api"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "Dockerfile").write_text("FROM scratch\n")
    spec = (
        "name: shop\nservices:\n"
        "  web: {build: ./web, image: shop/app:1}\n"
        "  api: {build: ./api, image: shop/app:1}\n"
    )
    path = _stack_dir(tmp_path, spec, {})
    with pytest.raises(SpecError) as caught:
        load_stack([str(path)], profile="dev", env={})
    (issue,) = caught.value.issues
    assert (issue.line, issue.path) == (3, "services.web.build")
    assert issue.message == "image shop/app:1 is built by service 'api' too, from another build"


def test_a_variable_a_secret_is_made_from_is_never_shown(tmp_path: Path) -> None:
    import json

    spec = (
        "name: shop\n"
        "secrets: {dbpw: {environment: DBPW}}\n"
        'configs: {motd: {content: "pw is ${DBPW}\\n"}}\n'
        "services:\n"
        "  app:\n"
        "    image: shop/web:1\n"
        "    secrets: [dbpw]\n"
        "    configs: [motd]\n"
        '    environment: {OTHER: "pw=${DBPW}"}\n'
        '    command: ["serve", "--pw=${DBPW}"]\n'
    )
    path = _stack_dir(tmp_path, spec, {})
    before, after = {"DBPW": "hunter2hunter2"}, {"DBPW": "hunter3hunter3"}
    printed = json.dumps(api.config(api.validate([str(path)], profile="dev", env=before)))
    assert "hunter2" not in printed and "OTHER" in printed
    rows = api.variables([str(path)], profile="dev", env=before)
    assert [(r.name, r.value) for r in rows] == [("DBPW", "***")]
    engine = FakeEngine(images=dict(IMAGES))
    api.up(api.load([str(path)], profile="dev", env=before), engine, options=api.UpOptions())
    the_plan = api.plan(api.load([str(path)], profile="dev", env=after), engine)
    shown = repr([a.change_lines() for a in the_plan.actions])
    assert "environment.OTHER: *** → ***" in shown
    assert "hunter" not in shown


def test_secret_values_are_masked_in_config_and_diff_wherever_they_hide(tmp_path: Path) -> None:
    import json

    spec = (
        "name: shop\n"
        "volumes:\n"
        "  data: {driver_opts: {password: '${NFS_PASSWORD}'}}\n"
        "services:\n"
        "  db:\n"
        "    image: shop/db:1\n"
        "    build: {context: ., args: {NPM_TOKEN: '${NPM_TOKEN}'}}\n"
        "    environment: {DB_PASSWORD: '${DB_PASSWORD}'}\n"
        "    healthcheck: {test: ['CMD', 'ping', '-p${DB_PASSWORD}']}\n"
        "    volumes: ['data:/data']\n"
        "profiles:\n"
        "  dev: {}\n"
        "  prod: {}\n"
    )
    path = _stack_dir(tmp_path, spec, {"Dockerfile": "FROM scratch\n"})
    env = {
        "NFS_PASSWORD": "nfs-secret-1",
        "NPM_TOKEN": "npm-secret-1",
        "DB_PASSWORD": "db-secret-1",
    }
    printed = json.dumps(api.config(api.validate([str(path)], profile="dev", env=env)))
    assert "secret-1" not in printed
    rows = api.variables([str(path)], profile="dev", env={**env, "DB_PASSWORD": "x", "URL": ""})
    assert all(r.value in (None, "***") for r in rows)
    # The same values in both profiles: no difference; a secret that differs shows as ***.
    assert api.diff([str(path)], left="dev", right="prod", env=env) == []
    env_prod = dict(env)
    (tmp_path / ".env.prod").write_text("DB_PASSWORD=db-secret-2\n")
    del env_prod["DB_PASSWORD"]
    (tmp_path / ".env").write_text("DB_PASSWORD=db-secret-1\n")
    found = api.diff([str(path)], left="dev", right="prod", env=env_prod)
    assert {d.path for d in found} == {
        "services.db.environment.DB_PASSWORD",
        "services.db.healthcheck.test",
    }
    assert "secret" not in repr(found)


LABELLED = """\
name: shop
services:
  web:
    image: shop/web:1
    label_file: [team.labels, build.labels]
    labels: {com.example.team: web}
"""


def test_label_files_give_labels_that_labels_and_later_files_win_over(tmp_path: Path) -> None:
    # As in Compose: a value may use what earlier lines and earlier files set, its own lines
    # first.
    files = {
        "team.labels": "com.example.team=shop\nversion=1\n",
        "build.labels": "# from CI\nversion=2\ncom.example.build=v${version}\n",
    }
    path = _stack_dir(tmp_path, LABELLED, files)
    stack = load_stack([str(path)], profile="dev", env={"version": "from-environment"})
    assert stack.services["web"].labels == {
        "com.example.team": "web",
        "version": "2",
        "com.example.build": "v2",
    }


def test_a_changed_label_file_recreates_and_a_missing_one_is_located(tmp_path: Path) -> None:
    files = {"team.labels": "com.example.team=shop\n", "build.labels": "com.example.build=1\n"}
    path = _stack_dir(tmp_path, LABELLED, files)
    engine = FakeEngine(images=dict(IMAGES))
    api.up(api.load([str(path)], profile="dev", env={}), engine, options=api.UpOptions())
    (tmp_path / "build.labels").write_text("com.example.build=2\n")
    plan = api.plan(api.load([str(path)], profile="dev", env={}), engine)
    action = plan.action_for(ObjectKind.CONTAINER, "shop-dev-web-1")
    assert action is not None and action.kind is ActionKind.RECREATE
    assert action.change_lines() == ("labels.com.example.build: 1 → 2",)
    (tmp_path / "build.labels").unlink()
    assert _problems(path) == [
        "stack.yml:5:31  services.web.label_file[1]: label file build.labels not found — name "
        "a file of KEY=value lines, relative to the stack file"
    ]
