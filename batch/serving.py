"""Serving an ASGI app with uvicorn on a socket we opened: in the foreground until Ctrl-C
or SIGTERM (`resource-batch sandbox`, `resource-batch webhook`), or from a background
thread for as long as a `with` block lasts (`--sandbox` runs and the tests)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from collections.abc import Callable
from types import TracebackType

import uvicorn


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


def serve(server: uvicorn.Server, sock: socket.socket, *, started: Callable[[], None]) -> None:
    """Serve until Ctrl-C or SIGTERM, then return; `started()` runs once it answers."""

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():  # noqa: ASYNC110 - no event to wait on
            await asyncio.sleep(0.01)
        if server.started:
            started()
        await task

    # uvicorn shuts down gracefully on SIGINT or SIGTERM, then raises the signal again for
    # the caller: Ctrl-C as KeyboardInterrupt, SIGTERM to this no-op, so that the caller
    # cleans up and exits 0 either way (a service manager's stop is not a crash).
    previous = signal.signal(signal.SIGTERM, lambda number, frame: None)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main())
    finally:
        signal.signal(signal.SIGTERM, previous)


class ServerThread:
    """`server` served on `sock` from a background thread while the `with` block lasts."""

    def __init__(self, server: uvicorn.Server, sock: socket.socket, *, name: str) -> None:
        self._server, self._sock, self._name = server, sock, name
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=name
        )

    def __enter__(self) -> ServerThread:
        self._thread.start()
        for _ in range(1000):
            if self._server.started or not self._thread.is_alive():
                break
            threading.Event().wait(0.01)
        if not self._server.started:
            self.__exit__(None, None, None)
            msg = f"the {self._name} did not start"
            raise RuntimeError(msg)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._sock.close()
