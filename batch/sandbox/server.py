"""Serving a sandbox with uvicorn: in the foreground (`resource-batch sandbox`) or in a
background thread on a free loopback port (`--sandbox` runs and the tests). `listen` and
`base_url` come from `batch.serving` and are re-exported here for the sandbox's users."""

from __future__ import annotations

import socket
from collections.abc import Callable
from types import TracebackType

import uvicorn
from starlette.types import Scope

from batch import serving
from batch.sandbox.app import Sandbox, SandboxConfig
from batch.serving import base_url, listen

__all__ = ["RunningSandbox", "base_url", "listen", "serve"]


def _server(sandbox: Sandbox) -> uvicorn.Server:
    config = uvicorn.Config(
        sandbox.app, log_level="warning", access_log=False, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    sandbox.drop_connection = _dropper(server)
    return server


def _dropper(server: uvicorn.Server) -> Callable[[Scope], bool]:
    """Closes the connection a request came on, without an answer (the drop fault).

    ASGI gives an app no way to close its connection, so this finds uvicorn's
    protocol object for the request's client address and aborts its transport.
    """

    def drop(scope: Scope) -> bool:
        client = tuple(scope.get("client") or ())
        for connection in list(server.server_state.connections):
            if getattr(connection, "client", None) == client:
                connection.transport.abort()
                return True
        return False

    return drop


def serve(sandbox: Sandbox, sock: socket.socket, *, started: Callable[[], None]) -> None:
    """Serve until Ctrl-C or SIGTERM; `started()` runs once it answers."""
    serving.serve(_server(sandbox), sock, started=started)


class RunningSandbox:
    """A sandbox served from a background thread, for as long as the `with` block lasts.

    Example:
        with RunningSandbox(SandboxConfig(speed=50)) as running:
            httpx.get(f"{running.base_url}/resources/1/requests", headers=running.headers)
    """

    def __init__(
        self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ):
        self.sandbox = Sandbox(config or SandboxConfig())
        sock = listen(host, port)
        self.base_url = base_url(sock)
        self._thread = serving.ServerThread(_server(self.sandbox), sock, name="sandbox")

    @property
    def api_key(self) -> str:
        return self.sandbox.config.api_key

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"App {self.api_key}"}

    def __enter__(self) -> RunningSandbox:
        self._thread.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._thread.__exit__(kind, exc, tb)
