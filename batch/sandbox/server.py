"""Serving a sandbox with uvicorn: in the foreground (`resource-batch sandbox`) or in a
background thread on a free loopback port (`--sandbox` runs and the tests)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable
from types import TracebackType

import uvicorn
from starlette.types import Scope

from batch.sandbox.app import Sandbox, SandboxConfig


def listen(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free one.

    Raises:
        OSError: the address cannot be bound (in use, or not an address of this machine).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio turns Nagle off only on sockets that say TCP, and
    # Nagle with delayed ACKs adds ~40 ms to each keep-alive request.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


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
    """Serve until interrupted (Ctrl-C or SIGTERM); `started()` runs once it answers."""
    server = _server(sandbox)

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():  # noqa: ASYNC110 - no event to wait on
            await asyncio.sleep(0.01)
        if server.started:
            started()
        await task

    # uvicorn shuts down gracefully on SIGINT, then raises it again for the caller.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


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
        self._sock = listen(host, port)
        self.base_url = base_url(self._sock)
        self._server = _server(self.sandbox)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True, name="sandbox"
        )

    @property
    def api_key(self) -> str:
        return self.sandbox.config.api_key

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"App {self.api_key}"}

    def __enter__(self) -> RunningSandbox:
        self._thread.start()
        for _ in range(1000):
            if self._server.started or not self._thread.is_alive():
                break
            threading.Event().wait(0.01)
        if not self._server.started:
            self.__exit__(None, None, None)
            msg = "the sandbox did not start"
            raise RuntimeError(msg)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
