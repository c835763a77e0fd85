"""DockerEngine's own logic, with its API client replaced by a stub: no daemon is contacted."""

from __future__ import annotations

from typing import Any

import docker.errors
import pytest
import requests

import stackr.docker_engine.engine
from stackr.docker_engine import DockerEngine
from stackr.docker_engine.images import observed_images
from stackr.errors import EngineError

# Taken before the autouse guard replaces it: the tests below build clients for addresses where
# no engine can be (a missing socket, port 1), so nothing is ever reached.
_CLIENT_INIT = docker.APIClient.__init__


@pytest.fixture
def client_for_nowhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docker.APIClient, "__init__", _CLIENT_INIT)


def _refusal(text: str) -> docker.errors.APIError:
    response = requests.Response()
    response.status_code = 500
    return docker.errors.APIError("500 Server Error", response=response, explanation=text)


class _StartStub:
    """Refuses the first `refusals` starts with `text`, then starts."""

    def __init__(self, refusals: int, text: str) -> None:
        self.refusals, self.text, self.calls = refusals, text, 0

    def start(self, name: str) -> None:
        self.calls += 1
        if self.calls <= self.refusals:
            raise _refusal(self.text)

    def containers(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        return []  # no container publishes the port: a host process holds it


def _engine(api: Any) -> DockerEngine:
    engine = DockerEngine.__new__(DockerEngine)
    engine._api = api
    return engine


PORT_TAKEN = (
    "driver failed programming external connectivity on endpoint web-1: "
    "Bind for 0.0.0.0:8080 failed: port is already allocated"
)


def test_start_retries_while_a_released_port_is_still_allocated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stackr.docker_engine.engine.time, "sleep", lambda _: None)
    stub = _StartStub(refusals=2, text=PORT_TAKEN)
    _engine(stub).start_container("web-1")
    assert stub.calls == 3


def test_start_gives_up_on_a_port_held_for_good(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(0, 100))
    monkeypatch.setattr(stackr.docker_engine.engine.time, "sleep", lambda _: None)
    monkeypatch.setattr(stackr.docker_engine.engine.time, "monotonic", lambda: float(next(clock)))
    stub = _StartStub(refusals=100, text=PORT_TAKEN)
    with pytest.raises(EngineError) as caught:
        _engine(stub).start_container("web-1")
    assert "port is already allocated" in str(caught.value)
    assert caught.value.hint == (
        "another process or container holds that host port: free it or change 'ports'"
    )
    assert 1 < stub.calls < 10


def test_start_does_not_retry_other_refusals() -> None:
    stub = _StartStub(refusals=1, text="OCI runtime create failed: no such file")
    with pytest.raises(EngineError, match="no such file"):
        _engine(stub).start_container("web-1")
    assert stub.calls == 1


class _ImagesStub:
    def images(self) -> list[dict[str, Any]]:
        return [
            {
                "Id": "sha256:bb",
                "RepoTags": ["busybox:latest", "rv/bb:cur"],
                "RepoDigests": ["busybox@sha256:d1"],
            },
            {
                "Id": "sha256:own",
                "RepoTags": ["registry.example:5000/library/app:1"],
                "Labels": {"io.stackr.build-digest": "sha256:inputs", "other": "x"},
            },
            {"Id": "sha256:" + "0123456789abcdef" * 4, "RepoTags": []},
        ]


def test_image_ids_match_docker_hub_references_however_they_are_written() -> None:
    refs = (
        "busybox",
        "docker.io/library/busybox:latest",
        "library/busybox",
        "docker.io/rv/bb:cur",
        "index.docker.io/rv/bb:cur",
        "registry.example:5000/library/app:1",
        "registry.example:5000/app:1",
        "docker.io/library/busybox@sha256:d1",
        "sha256:own",
        "0123456789ab",
        "0123456789abcdef" * 4,
        "sha256:0123456789ab",
        "busybox:1.36@sha256:d1",
    )
    ids, built = observed_images(_ImagesStub(), refs)  # type: ignore[arg-type]
    # The digest of the build an image was made from, for those stackr built.
    assert built == {
        "registry.example:5000/library/app:1": "sha256:inputs",
        "sha256:own": "sha256:inputs",
    }
    assert ids == {
        "busybox": "sha256:bb",
        "docker.io/library/busybox:latest": "sha256:bb",
        "library/busybox": "sha256:bb",
        "docker.io/rv/bb:cur": "sha256:bb",
        "index.docker.io/rv/bb:cur": "sha256:bb",
        "registry.example:5000/library/app:1": "sha256:own",
        "docker.io/library/busybox@sha256:d1": "sha256:bb",  # by digest
        "sha256:own": "sha256:own",  # by id
        "0123456789ab": "sha256:" + "0123456789abcdef" * 4,  # by the start of its id
        "0123456789abcdef" * 4: "sha256:" + "0123456789abcdef" * 4,
        "sha256:0123456789ab": "sha256:" + "0123456789abcdef" * 4,
        "busybox:1.36@sha256:d1": "sha256:bb",  # a tag beside the digest is not listed
    }


class _PausedStub:
    def __init__(self) -> None:
        self.unpaused: list[str] = []

    def start(self, name: str) -> None:
        raise _refusal("cannot start a paused container, try unpause instead")

    def unpause(self, name: str) -> None:
        self.unpaused.append(name)


def test_start_unpauses_a_paused_container() -> None:
    stub = _PausedStub()
    _engine(stub).start_container("web-1")
    assert stub.unpaused == ["web-1"]


@pytest.mark.parametrize(
    ("target", "where", "hint"),
    [
        ("unix:///nonexistent/docker.sock", "unix:///nonexistent/docker.sock", "check that"),
        ("tcp://127.0.0.1:1", "tcp://127.0.0.1:1", "check that"),
    ],
)
@pytest.mark.usefixtures("client_for_nowhere")
def test_an_unreachable_engine_is_named(target: str, where: str, hint: str) -> None:
    with pytest.raises(EngineError) as caught:
        DockerEngine(target=target).observe("shop", "dev")
    assert str(caught.value) == (
        f"cannot reach the Docker engine at {where} while trying to list containers"
    )
    assert caught.value.hint.startswith(hint)


@pytest.mark.usefixtures("client_for_nowhere")
def test_one_connection_pool_serves_every_path_of_the_socket() -> None:
    # The SDK keys its pools by URL: one per container path meant a new connection per call.
    api = DockerEngine(target="unix:///nonexistent/docker.sock")._api
    adapter = api.get_adapter("http+docker://localhost/v1.41/containers/a/start")
    first = adapter.get_connection("http+docker://localhost/v1.41/containers/a/start")
    second = adapter.get_connection("http+docker://localhost/v1.41/containers/b/json")
    assert first is second


class _StubClient:
    """What `address` reads of an APIClient: its URL and the adapter that serves it."""

    def __init__(self, base_url: str, **adapter: str) -> None:
        self.base_url, self.adapter = base_url, type("Adapter", (), adapter)()

    def get_adapter(self, url: str) -> object:
        return self.adapter


@pytest.mark.parametrize(
    ("client", "where"),
    [
        (
            _StubClient("http+docker://localhost", socket_path="/run/user/1000/docker.sock"),
            "unix:///run/user/1000/docker.sock",
        ),
        (_StubClient("http+docker://ssh", ssh_host="deploy@prod-1"), "ssh://deploy@prod-1"),
        (_StubClient("https://10.0.0.5:2376"), "tcp://10.0.0.5:2376"),
    ],
)
def test_the_engine_is_named_as_docker_host_would_name_it(client: _StubClient, where: str) -> None:
    from stackr.docker_engine.errors import address

    assert address(client) == where


def test_the_local_socket_gets_the_start_the_engine_hint() -> None:
    from stackr.docker_engine.errors import ENGINE_HINT, translate

    local = _StubClient("http+docker://localhost", socket_path="/var/run/docker.sock")
    error = translate(requests.exceptions.ConnectionError("refused"), "list containers", local)
    assert str(error) == (
        "cannot reach the Docker engine at unix:///var/run/docker.sock while trying to list "
        "containers"
    )
    assert error.hint == ENGINE_HINT


def test_a_taken_port_names_the_containers_that_publish_it() -> None:
    from stackr.docker_engine.errors import port_holders

    class Lister:
        def __init__(self) -> None:
            self.asked: dict[str, str] = {}

        def containers(self, filters: dict[str, str]) -> list[dict[str, Any]]:
            self.asked = filters
            return [{"Names": ["/shop-dev-web-1"]}, {"Names": ["/other"]}]

    lister = Lister()
    hint = port_holders(lister, _refusal(PORT_TAKEN))
    assert lister.asked == {"publish": "8080"}
    assert (
        hint == "host port 8080 is published by other, shop-dev-web-1: stop it, or change 'ports'"
    )


def test_a_socket_stackr_may_not_use_says_so_and_how_to_fix_it() -> None:
    import urllib3.exceptions

    from stackr.docker_engine.errors import SOCKET_HINT, translate

    local = _StubClient("http+docker://localhost", socket_path="/var/run/docker.sock")
    # As urllib3 and requests wrap it: the socket's PermissionError is an argument, not text.
    aborted = urllib3.exceptions.ProtocolError("Connection aborted.", PermissionError(13, "no"))
    error = translate(requests.exceptions.ConnectionError(aborted), "list containers", local)
    assert str(error) == (
        "permission denied on the Docker engine's socket unix:///var/run/docker.sock while "
        "trying to list containers"
    )
    assert error.hint == SOCKET_HINT
    # A file of a build context stackr may not read is no socket problem.
    unreadable = OSError("Can not read file in context: secret.key")
    unreadable.__cause__ = PermissionError(13, "Permission denied")
    assert "socket" not in str(translate(unreadable, "build image shop/web", local))


def test_an_engine_that_does_not_answer_in_time_is_not_called_unreachable() -> None:
    from stackr.docker_engine.errors import translate

    remote = _StubClient("http://10.0.0.5:2375")
    error = translate(requests.exceptions.ReadTimeout("read timed out"), "list containers", remote)
    assert str(error) == (
        "the Docker engine at tcp://10.0.0.5:2375 did not answer in time while trying to list "
        "containers"
    )


@pytest.mark.usefixtures("client_for_nowhere")  # a web server of the test's own, no engine
def test_a_web_server_that_is_not_an_engine_is_named_so() -> None:
    import http.server
    import threading

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!DOCTYPE html><html><body>Not Found</body></html>"
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        where = f"tcp://127.0.0.1:{server.server_address[1]}"
        with pytest.raises(EngineError) as caught:
            DockerEngine(target=where).observe("shop", "dev")
    finally:
        server.shutdown()
    assert str(caught.value) == (
        f"{where} answered, but not as a Docker engine (HTTP 404) while trying to list containers"
    )
    assert "check DOCKER_HOST" in caught.value.hint


def test_a_build_context_counts_its_files_and_its_folders_with_nothing_sent_under_them(
    tmp_path: Any,
) -> None:
    from stackr.docker_engine.images import context_files
    from stackr.spec.model import Build

    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY . /app\n")
    (tmp_path / "src" / "lib").mkdir(parents=True)
    (tmp_path / "src" / "lib" / "a.py").write_text("a\n")
    build = Build(context=str(tmp_path))
    before = context_files(build)
    assert before == ["Dockerfile", "src/lib/a.py"]  # a folder with files: its files say it
    # An empty folder is in the image all the same (COPY makes it), and so is one whose
    # files are all ignored.
    (tmp_path / "src" / "empty").mkdir()
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "x.log").write_text("x\n")
    (tmp_path / ".dockerignore").write_text("logs/*.log\n")
    assert context_files(build) == [
        ".dockerignore",
        "Dockerfile",
        "logs",
        "src/empty",
        "src/lib/a.py",
    ]


def test_an_image_is_for_a_platform_as_the_engine_names_it() -> None:
    from stackr.docker_engine.images import for_platform

    amd64 = {"Os": "linux", "Architecture": "amd64"}
    arm = {"Os": "linux", "Architecture": "arm64", "Variant": "v8"}
    assert for_platform(amd64, None) and for_platform(amd64, "linux")
    assert for_platform(amd64, "linux/amd64") and not for_platform(amd64, "linux/arm64")
    assert for_platform(arm, "linux/arm64/v8") and not for_platform(arm, "linux/arm64/v7")
    assert for_platform({"Os": "linux", "Architecture": "x86_64"}, "linux/amd64")
    assert for_platform(amd64, "linux/x86_64")  # the kernel's name, which docker takes too


@pytest.mark.parametrize(
    ("said", "hinted"),
    [
        ("Unknown runtime specified xyz", "not one this engine knows"),
        (
            "image with reference x:1 was found but does not match the specified platform",
            "for another platform than the service's platform",
        ),
    ],
)
def test_an_engine_refusal_of_a_service_option_gets_a_hint(said: str, hinted: str) -> None:
    from stackr.docker_engine.errors import hint_for

    assert hinted in hint_for(docker.errors.APIError("500", explanation=said))
