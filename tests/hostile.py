"""A small hostile server in front of the sandbox: it passes every call through, except
those a test scripts, which it answers as a corporate proxy, a broken gateway or a
misbehaving Infobip might (a page of HTML, a redirect, a gzip bomb, a byte a second)."""

from __future__ import annotations

import gzip
import http.server
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Rule:
    """How to answer calls to one method and path (a prefix): `status`, `headers` and
    `body`, after passing the call on to the sandbox when `forward` (so a submit is
    stored); `body` may be a function of the sandbox's answer. `drip` sends the body a
    byte at a time, that many seconds apart; `times` limits how many calls it answers,
    `when` to the calls whose body holds those bytes."""

    status: int = 200
    body: bytes | Callable[[httpx.Response], bytes] = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    forward: bool = False
    drip: float = 0.0
    times: int | None = None
    when: bytes = b""


@dataclass
class Hostile:
    url: str
    upstream: httpx.Client
    rules: dict[tuple[str, str], Rule] = field(default_factory=dict)
    seen: Counter[tuple[str, str]] = field(default_factory=Counter)

    def on(self, method: str, path: str, **rule: Any) -> None:
        self.rules[method, path] = Rule(**rule)

    def rule(self, method: str, path: str, content: bytes) -> Rule | None:
        for (m, prefix), rule in self.rules.items():
            if m != method or not path.startswith(prefix) or rule.when not in content:
                continue
            if rule.times != 0:
                if rule.times is not None:
                    rule.times -= 1
                return rule
        return None


def gzip_bomb(unpacked: int) -> bytes:
    """A gzip body of `unpacked` zero bytes: about a thousandth of that on the wire."""
    block = b"\0" * 2**20
    packer = gzip.GzipFile(fileobj=(buffer := _Sink()), mode="wb", compresslevel=9)
    for _ in range(unpacked // len(block)):
        packer.write(block)
    packer.close()
    return bytes(buffer.data)


class _Sink:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, chunk: bytes) -> int:
        self.data += chunk
        return len(chunk)

    def flush(self) -> None:
        pass


def serve(upstream_url: str, headers: dict[str, str]) -> Iterator[Hostile]:
    """Run a hostile server passing calls on to `upstream_url` (the sandbox)."""
    box: dict[str, Hostile] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            hostile = box["hostile"]
            length = int(self.headers.get("Content-Length") or 0)
            content = self.rfile.read(length) if length else b""
            path = self.path.split("?")[0]
            hostile.seen[self.command, path] += 1
            rule = hostile.rule(self.command, path, content)
            if rule is None or rule.forward:
                passed = hostile.upstream.request(
                    self.command,
                    self.path,
                    content=content,
                    headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                )
            if rule is None:
                self._answer(passed.status_code, dict(passed.headers), passed.content)
                return
            body = rule.body(passed) if callable(rule.body) else rule.body
            self._answer(rule.status, rule.headers, body, drip=rule.drip)

        def _answer(
            self, status: int, headers: dict[str, str], body: bytes, *, drip: float = 0.0
        ) -> None:
            self.send_response(status)
            skip = {"content-length", "transfer-encoding", "connection", "date", "server"}
            for name, value in headers.items():
                if name.lower() not in skip:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                if not drip:
                    self.wfile.write(body)
                    return
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(drip)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as it should

        do_GET = do_POST = do_PATCH = do_DELETE = _handle  # noqa: N815 - http.server's API

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    upstream = httpx.Client(base_url=upstream_url, headers=headers, timeout=30)
    box["hostile"] = Hostile(f"http://127.0.0.1:{server.server_address[1]}", upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box["hostile"]
    finally:
        server.shutdown()
        server.server_close()
        upstream.close()
