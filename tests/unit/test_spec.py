"""load_stack end to end: defaults, interpolation, and the cross-checks, reported together."""

from __future__ import annotations

import re

import pytest

from stackr.errors import SpecError
from stackr.spec import load_stack
from stackr.spec.model import Condition, MountKind, RestartPolicy


def _issues(path: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_stack([path], profile="dev", env={})
    return [issue.render().split("  ", 1)[1] for issue in caught.value.issues]


def test_defaults_and_normal_forms(write_stack) -> None:  # type: ignore[no-untyped-def]
    spec = {
        "services": {
            "web": {
                "build": "./web",
                "command": "httpd -f -p 80",
                "environment": ["A=1", "B=two"],
                "volumes": ["./conf:/etc/conf:ro", "/cache"],
                "depends_on": {"db": {"condition": "healthy"}},
                "stop_grace_period": "1m30s",
            },
            "db": {"image": "db:1", "healthcheck": {"test": "pg_isready", "interval": "500ms"}},
        }
    }
    path = write_stack(spec, directory="My Shop")
    (path.parent / "web").mkdir()
    (path.parent / "web" / "Dockerfile").write_text("FROM scratch\n")
    stack = load_stack([str(path)], profile="dev", env={})
    web, db = stack.services["web"], stack.services["db"]
    assert stack.name == "my-shop"
    assert web.image == "my-shop-web"
    assert web.build is not None and web.build.context == str(path.parent / "web")
    assert web.command == ("httpd", "-f", "-p", "80")
    assert dict(web.environment) == {"A": "1", "B": "two"}
    assert [m.kind for m in web.mounts] == [MountKind.BIND, MountKind.ANONYMOUS]
    assert web.depends_on[0].condition is Condition.HEALTHY
    assert web.stop_grace_period == 90.0
    assert web.networks == ("default",)
    assert web.restart is RestartPolicy.NO
    assert db.healthcheck is not None
    assert (db.healthcheck.test, db.healthcheck.interval) == (("CMD-SHELL", "pg_isready"), 0.5)
    assert list(stack.networks) == ["default"]


def test_variables_are_substituted(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = write_stack({"services": {"web": {"image": "shop/web:${TAG:-latest}"}}})
    (path.parent / ".env").write_text("TAG=from-dotenv\n")
    assert (
        load_stack([str(path)], profile="dev", env={}).services["web"].image
        == "shop/web:from-dotenv"
    )
    stack = load_stack([str(path)], profile="dev", env={"TAG": "1.5"})
    assert stack.services["web"].image == "shop/web:1.5"


def test_missing_required_variable_is_located(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = write_stack("services:\n  web:\n    image: ${IMAGE:?set IMAGE}\n")
    assert _issues(str(path)) == [
        "services.web.image: set IMAGE (${IMAGE} is not set) — set IMAGE in the environment, "
        "an --env-file, the profile's env_file, .env.<profile> or .env"
    ]


def test_a_variable_required_by_one_profile_is_not_required_by_the_others(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = write_stack(
        "services:\n  web:\n    image: shop/web:1\n"
        "profiles:\n  dev: {}\n  prod:\n    services:\n"
        "      web: {image: 'shop/web:${TAG:?TAG must be set for prod}'}\n"
    )
    assert load_stack([str(path)], profile="dev", env={}).services["web"].image == "shop/web:1"
    assert load_stack([str(path)], profile="prod", env={"TAG": "2"}).services["web"].image == (
        "shop/web:2"
    )
    with pytest.raises(SpecError, match="TAG must be set for prod"):
        load_stack([str(path)], profile="prod", env={})


def test_cross_checks_are_reported_together(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = write_stack(
        "services:\n"
        "  web:\n"
        "    image: x\n"
        "    depends_on: [dbb]\n"
        "    networks: [front]\n"
        "    volumes: ['data:/d']\n"
        "    healthcheck: {disable: true}\n"
        "  db:\n"
        "    image: y\n"
        "    depends_on: {web: {condition: healthy}}\n"
    )
    assert _issues(str(path)) == [
        "services.web.depends_on[0]: depends on undeclared service 'dbb' — did you mean 'db'?",
        "services.web.networks[0]: joins undeclared network 'front'"
        " — declare it under top-level 'networks:'",
        "services.web.volumes[0]: uses undeclared volume 'data'"
        " — declare it under top-level 'volumes:'",
        "services.db.depends_on.web: waits for 'web' to be healthy, but its healthcheck is"
        " disabled — give 'web' a healthcheck of its own, or use condition: started",
    ]


def test_cycle_is_named(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = write_stack(
        "services:\n"
        "  web: {image: x, depends_on: [api]}\n"
        "  api: {image: x, depends_on: [worker]}\n"
        "  worker: {image: x, depends_on: [web]}\n"
    )
    assert _issues(str(path)) == [
        "services.api.depends_on[0]: dependency cycle: api → worker → web → api"
        " — remove one of these depends_on entries"
    ]


def test_each_cycle_is_named_once_and_services_leading_into_it_are_not(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = write_stack(
        "services:\n"
        "  gate: {image: x, depends_on: [web, solo]}\n"
        "  web: {image: x, depends_on: [db]}\n"
        "  db: {image: x, depends_on: [web]}\n"
        "  solo: {image: x, depends_on: [solo]}\n"
        "  leaf: {image: x}\n"
    )
    # Named from the alphabetically first service on it.
    assert _issues(str(path)) == [
        "services.db.depends_on[0]: dependency cycle: db → web → db"
        " — remove one of these depends_on entries",
        "services.solo.depends_on[0]: dependency cycle: solo → solo"
        " — remove one of these depends_on entries",
    ]


def test_port_clash_between_services(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = write_stack(
        "services:\n"
        "  a: {image: x, ports: ['8080:80']}\n"
        "  b: {image: x, ports: ['127.0.0.1:8080:81']}\n"
        "  c: {image: x, ports: ['8080:80/udp']}\n"
    )
    assert _issues(str(path)) == [
        "services.b.ports[0]: host port 8080/tcp is already published by a (replica 1)"
        " — give each replica and service its own host port",
    ]


def test_schema_and_cross_check_problems_come_together(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = write_stack(
        "services:\n"
        "  web:\n"
        "    imgae: x\n"
        "  api:\n"
        "    image: y\n"
        "    depends_on: [web]\n"
        "    volumes: ['data:/d']\n"
    )
    assert _issues(str(path)) == [
        "services.web.imgae: unknown key 'imgae' — did you mean 'image'?",
        "services.api.volumes[0]: uses undeclared volume 'data'"
        " — declare it under top-level 'volumes:'",
    ]


def test_identity_of_a_file_that_no_longer_parses_is_its_name_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from stackr.spec import stack_identity

    path = tmp_path / "stack.yml"
    path.write_text('name: "shop"  # the team\nservices:\n  web: {image: [a b\n')
    assert stack_identity([str(path)], profile="dev") == ("shop", None)
    # A file that could also name an engine: which one cannot be told, so the error stands.
    path.write_text("name: shop\nprofiles:\n  prod: {engine: ssh://deploy@prod}\n  [\n")
    with pytest.raises(SpecError):
        stack_identity([str(path)], profile="prod")


@pytest.mark.parametrize(
    ("entry", "kind", "options"),
    [
        ("./conf:/etc/app:ro,z", "bind", "ro,z"),
        ("./conf:/etc/app:Z", "bind", "Z"),
        ("./conf:/etc/app:cached", "bind", ""),  # Docker Desktop's, no effect on Linux
        ("data:/var/lib/data:nocopy", "volume", "nocopy"),
        ("/cache:rw", "anonymous", ""),
    ],
)
def test_mount_options_as_compose_takes_them(
    write_stack, entry: str, kind: str, options: str
) -> None:  # type: ignore[no-untyped-def]
    spec = {"services": {"web": {"image": "x", "volumes": [entry]}}, "volumes": {"data": {}}}
    (mount,) = load_stack([str(write_stack(spec))], profile="dev", env={}).services["web"].mounts
    assert (mount.kind.value, mount.options()) == (kind, options)


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ("./conf:/etc/app:ro,rw", "ro and rw contradict each other"),
        ("data:/var/lib/data:z", "z (SELinux relabelling) applies to bind mounts only"),
        ("./conf:/etc/app:nocopy", "nocopy applies to volumes only"),
    ],
)
def test_contradicting_or_misplaced_mount_options_are_refused(
    write_stack, entry: str, said: str
) -> None:  # type: ignore[no-untyped-def]
    spec = {"services": {"web": {"image": "x", "volumes": [entry]}}, "volumes": {"data": {}}}
    with pytest.raises(SpecError, match=re.escape(said)):
        load_stack([str(write_stack(spec))], profile="dev", env={})


def test_two_unparsable_mounts_are_two_problems_not_also_a_clash(write_stack) -> None:  # type: ignore[no-untyped-def]
    spec = {"services": {"web": {"image": "x", "volumes": ["./a:/x:ro,rw", "./b:/y:z,Z"]}}}
    with pytest.raises(SpecError) as caught:
        load_stack([str(write_stack(spec))], profile="dev", env={})
    assert [i.message for i in caught.value.issues] == [
        "ro and rw contradict each other",
        "z and Z contradict each other",
    ]


def test_identity_never_guesses_a_name_made_otherwise(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from stackr.spec import stack_identity

    path = tmp_path / "stack.yml"
    path.write_text("\ufeffname: shop\nservices:\n  web: {image: [a b\n")  # a BOM, broken YAML
    assert stack_identity([str(path)], profile="dev") == ("shop", None)
    for written in ('name: "${STACK:-shop}"\n', '"name": shop\n'):
        path.write_text(written + "services:\n  web: {image: [a b\n")
        with pytest.raises(SpecError):  # not the folder's name instead
            stack_identity([str(path)], profile="dev")
    path.write_text('name: "${STACK:-shop}"\nservices:\n  web: {image: x, restart: bad}\n')
    with pytest.raises(SpecError, match="made from variables"):
        stack_identity([str(path)], profile="dev")


def test_a_compose_files_version_and_optional_dependencies_only_warn(write_stack) -> None:  # type: ignore[no-untyped-def]
    web = {"image": "x", "depends_on": {"db": {"condition": "service_healthy", "required": False}}}
    path = write_stack({"version": "3.8", "services": {"web": web}})
    stack = load_stack([str(path)], profile="dev", env={})
    assert stack.services["web"].depends_on == ()
    assert [(w.path, w.message) for w in stack.warnings] == [
        ("version", "version is obsolete: stackr ignores it, as Compose does"),
        (
            "services.web.depends_on.db",
            "depends on 'db', which this stack does not have: not waited for (required: false)",
        ),
    ]


def test_a_long_syntax_tmpfs_and_a_bind_that_must_exist_read_and_render_back(
    write_stack,
) -> None:  # type: ignore[no-untyped-def]
    from stackr.spec.model import MountKind
    from stackr.spec.render import render_stack

    volumes = [
        {"type": "tmpfs", "target": "/run/cache", "tmpfs": {"size": "8m", "mode": 1770}},
        {"type": "tmpfs", "target": "/tmp", "read_only": True},
        {"type": "bind", "source": "./conf", "target": "/c", "bind": {"create_host_path": False}},
    ]
    path = write_stack({"services": {"web": {"image": "x", "volumes": volumes}}})
    stack = load_stack([str(path)], profile="dev", env={})
    cache, tmp, conf = stack.services["web"].mounts
    assert (cache.kind, cache.size, cache.mode) == (MountKind.TMPFS, 8 * 2**20, 0o1770)
    assert (tmp.kind, tmp.read_only, tmp.size, tmp.mode) == (MountKind.TMPFS, True, None, None)
    assert (conf.kind, conf.create_host_path) == (MountKind.BIND, False)
    # `stackr config` writes them in the long syntax, which reads back as the same mounts.
    rendered = render_stack(stack)["services"]["web"]["volumes"]
    again = write_stack({"services": {"web": {"image": "x", "volumes": rendered}}}, "again.yml")
    assert load_stack([str(again)], profile="dev", env={}).services["web"].mounts == (
        cache,
        tmp,
        conf,
    )


@pytest.mark.parametrize(
    ("written", "mode"),
    [("1770", 0o1770), ("'0700'", 0o700), ("0o1777", 0o1777), ("0x1ff", 0o777), ('"0o750"', 0o750)],
)
def test_a_tmpfs_mode_is_read_as_octal_however_it_is_written(
    write_stack, written: str, mode: int
) -> None:  # type: ignore[no-untyped-def]
    text = (
        "services:\n  web:\n    image: x\n    volumes:\n"
        f"      - {{type: tmpfs, target: /t, tmpfs: {{mode: {written}}}}}\n"
    )
    (mount,) = load_stack([str(write_stack(text))], profile="dev", env={}).services["web"].mounts
    assert mount.mode == mode


def test_a_secret_mode_written_as_an_octal_number_is_that_number(write_stack) -> None:  # type: ignore[no-untyped-def]
    text = (
        "services:\n  web:\n    image: x\n    secrets: [{source: pw, mode: 0o440}]\n"
        "secrets:\n  pw: {environment: PW}\n"
    )
    stack = load_stack([str(write_stack(text))], profile="dev", env={"PW": "s"})
    assert stack.services["web"].secrets[0].mode == 0o440


def test_a_number_tagged_override_keeps_its_text_in_an_environment(write_stack) -> None:  # type: ignore[no-untyped-def]
    base = write_stack("services:\n  web:\n    image: x\n    environment: {A: 1}\n")
    later = write_stack(
        "services:\n  web:\n    environment: {A: !override 0o755, B: !override 1.10}\n",
        "later.yml",
    )
    stack = load_stack([str(base), str(later)], profile="dev", env={})
    assert dict(stack.services["web"].environment) == {"A": "0o755", "B": "1.10"}
