"""Fixtures: sandboxes served over real loopback HTTP, and an httpx client whose every
request and response is checked against Infobip's normalized spec (the copy the package
ships) with openapi-core."""

from __future__ import annotations

import csv
import http.server
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.request.validators import (
    V31RequestParametersValidator,
    V31RequestSecurityValidator,
)
from openapi_core.validation.response.validators import V31ResponseHeadersValidator
from werkzeug.datastructures import Headers, ImmutableMultiDict

from batch import contract
from batch.cli import main as cli_main
from batch.sandbox.app import SandboxConfig
from batch.sandbox.server import RunningSandbox

ROOT = Path(__file__).resolve().parent.parent
SPEC = Path(str(resources.files("batch").joinpath(contract.NORMALIZED)))
PUBLISHED = Path(str(resources.files("batch").joinpath(contract.PUBLISHED)))
# Where CI lays out Infobip's originals beside the clone; the shipped copies must match.
SHARED = ROOT.parent / "shared" / "infobip"


@pytest.fixture(scope="session")
def openapi() -> OpenAPI:
    """Infobip's normalized spec, as the package ships it."""
    return OpenAPI.from_file_path(str(SPEC))


def _check_exchange(
    openapi: OpenAPI, response: httpx.Response, *, request_too: bool = True
) -> None:
    """Validate one exchange against the spec; `/_sandbox/` helpers are not in it."""
    request = response.request
    if request.url.path.startswith("/_sandbox/"):
        return
    response.read()
    request.read()
    query: dict[str, list[str]] = {}
    for name, value in request.url.params.multi_items():
        query.setdefault(name, []).append(value)
    mock = MockRequest(
        # The normalized spec serves from http://127.0.0.1 (no port): match it.
        "http://127.0.0.1",
        request.method,
        request.url.path,
        headers=dict(request.headers),
        data=request.content,
        content_type=request.headers.get("content-type", ""),
    )
    mock.parameters = RequestParameters(
        query=ImmutableMultiDict([(k, v) for k, vs in query.items() for v in vs]),
        header=Headers(dict(request.headers)),
        cookie=ImmutableMultiDict(),
    )
    if request_too and mock.content_type.startswith("multipart/"):
        # openapi-core cannot yet match raw bytes to an OAS 3.1 `format: binary` string
        # (python-openapi/openapi-core#854), so an upload's body is left to the upload
        # tests; its parameters and security are still checked.
        V31RequestParametersValidator(openapi.spec).validate(mock)
        V31RequestSecurityValidator(openapi.spec).validate(mock)
    elif request_too:
        openapi.validate_request(mock)
    answer = MockResponse(
        response.content,
        status_code=response.status_code,
        headers=dict(response.headers),
        content_type=response.headers.get("content-type", "application/json").split(";")[0],
    )
    if answer.content_type == "application/json" or not response.content:
        openapi.validate_response(mock, answer)
    else:  # a downloaded file: the same openapi-core limit as uploads; headers still checked
        V31ResponseHeadersValidator(openapi.spec).validate(mock, answer)


@dataclass
class Api:
    """A running sandbox and a client for it; every exchange is contract-checked."""

    running: RunningSandbox
    client: httpx.Client
    # For requests that break the spec on purpose: only the answers are checked.
    bad: httpx.Client

    @property
    def sandbox(self) -> Any:
        return self.running.sandbox

    def stored(self) -> list[dict[str, Any]]:
        return self.client.get("/_sandbox/requests").json()["results"]

    def calls(self) -> dict[tuple[str, int], int]:
        rows = self.client.get("/_sandbox/calls").json()["calls"]
        return {(row["operation"], row["status"]): row["count"] for row in rows}

    def advance(self, seconds: float) -> None:
        assert (
            self.client.post("/_sandbox/clock", json={"advanceSeconds": seconds}).status_code == 200
        )

    def upload(
        self,
        name: str = "scan.pdf",
        content: bytes = b"%PDF-1.4 test",
        kind: str = "application/pdf",
    ) -> str:
        response = self.client.post(
            "/resources/1/documents", files={"document": (name, content, kind)}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["documentId"])


@pytest.fixture
def make_api(openapi: OpenAPI) -> Iterator[Callable[..., Api]]:
    """Start a sandbox with the given SandboxConfig fields (fast lifecycle unless told)."""
    opened: list[tuple[RunningSandbox, list[httpx.Client]]] = []

    def make(*, check: bool = True, timeout: float = 10, **config: Any) -> Api:
        running = RunningSandbox(SandboxConfig(**config)).__enter__()

        def client(**hook: Any) -> httpx.Client:
            hooks = {"response": [lambda r: _check_exchange(openapi, r, **hook)]} if check else {}
            return httpx.Client(
                base_url=running.base_url,
                headers=running.headers,
                timeout=timeout,
                event_hooks=hooks,
            )

        clients = [client(), client(request_too=False)]
        opened.append((running, clients))
        return Api(running, *clients)

    yield make
    for running, clients in opened:
        for client in clients:
            client.close()
        running.__exit__(None, None, None)


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    """A sandbox for functional tests: no rate limits, and at speed 1 nothing moves in a
    test's span unless the test advances the clock, so every status is deterministic."""
    return make_api(rate_limits=False)


@dataclass
class Receiver:
    """A real webhook receiver on loopback, recording each POST."""

    url: str
    posts: list[dict[str, Any]] = field(default_factory=list)
    auth: list[str | None] = field(default_factory=list)
    status: int = 200
    attempts: int = 0
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 15
    ) -> None:
        with self.arrived:
            if not self.arrived.wait_for(lambda: predicate(self.events()), timeout=timeout):
                raise AssertionError(f"webhooks never satisfied the condition; got {self.events()}")

    def wait_for_attempts(self, count: int, timeout: float = 15) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: self.attempts >= count, timeout=timeout)

    def events(self) -> list[dict[str, Any]]:
        return [result for post in self.posts for result in post["results"]]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box: dict[str, Receiver] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            target = box["receiver"]
            body = self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(target.status)
            self.end_headers()
            with target.arrived:
                target.attempts += 1
                if target.status == 200:
                    target.posts.append(json.loads(body))
                    target.auth.append(self.headers.get("Authorization"))
                target.arrived.notify_all()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box["receiver"] = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hooks")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box["receiver"]
    server.shutdown()
    server.server_close()


def spec_examples(openapi_file: Path, path: str, method: str) -> dict[str, Any]:
    spec = json.loads(openapi_file.read_text())
    content = spec["paths"][path][method]["requestBody"]["content"]
    return {
        name: ex["value"]
        for media in content.values()
        for name, ex in media.get("examples", {}).items()
    }


@pytest.fixture(autouse=True)
def clean_environ(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No credentials from the machine, and caches and config in a fresh folder per test."""
    for name in (
        "INFOBIP_BASE_URL",
        "INFOBIP_API_KEY",
        "IB_BASE_URL",
        "IB_API_KEY",
        "RESOURCE_BATCH_CONFIG",
        "RESOURCE_BATCH_STATE_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    # platformdirs reads no XDG_* on Windows; these are its overrides there.
    monkeypatch.setenv("WIN_PD_OVERRIDE_LOCAL_APPDATA", str(home / "local"))
    monkeypatch.setenv("WIN_PD_OVERRIDE_APPDATA", str(home / "roaming"))


FAST = ["--limit", "submit=1000", "--limit", "upload=1000", "--limit", "lookup=1000"]


@dataclass
class Batch:
    """The batch job run through its CLI against a sandbox, on files in a folder."""

    api: Api
    folder: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            "INFOBIP_BASE_URL": self.api.running.base_url,
            "INFOBIP_API_KEY": self.api.running.api_key,
        }

    def csv(
        self, rows: list[dict[str, str]], name: str = "requests.csv", delimiter: str = ","
    ) -> Path:
        """A CSV with the union of the rows' keys as header, in order of appearance."""
        headers = list(dict.fromkeys(key for row in rows for key in row))
        path = self.folder / name
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, headers, delimiter=delimiter)
            writer.writeheader()
            writer.writerows(rows)
        return path

    def document(self, name: str, content: bytes = b"%PDF-1.4 scan") -> Path:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path

    def run(self, *args: str, env: dict[str, str] | None = None, fast: bool = True) -> Any:
        """`resource-batch run ARGS` (or the command ARGS starts with), in-process."""
        commands = ("run", "validate", "status", "template", "webhook", "check")
        command = list(args) if args and args[0] in commands else ["run", *args]
        if command[0] in ("run", "validate") and "--alpha-pending-cap" not in command:
            # The client foresees the same cap on pending requests the sandbox keeps.
            command += ["--alpha-pending-cap", str(self.api.sandbox.config.alpha_pending_cap)]
        if fast:
            command += FAST
            if command[0] == "run":  # a lost submit is looked for at once, not after 30 s
                command += ["--reconcile-grace", "0.2"]
        return CliRunner().invoke(
            cli_main, command, env={**self.env, **(env or {})}, catch_exceptions=False
        )

    def results(self, path: Path) -> list[dict[str, str]]:
        """The results CSV, read with the standard library."""
        with path.open(newline="", encoding="utf-8-sig") as file:
            return list(csv.DictReader(file))


@pytest.fixture
def batch(make_api: Callable[..., Api], tmp_path: Path) -> Batch:
    return Batch(make_api(rate_limits=False), tmp_path)


@pytest.fixture
def busy(make_api: Callable[..., Api]) -> Callable[[Path], Batch]:
    """A batch whose sandbox has no cap on pending alphanumeric requests."""
    return lambda folder: Batch(make_api(rate_limits=False, alpha_pending_cap=0), folder)
