"""The sandbox's HTTP face: Infobip's Resources API paths, bodies, errors and limits.

Every API call goes through the same gate, in this order: auth (401),
the fault knobs (dropped connection, 500, extra 429), the per-endpoint rate limit
(429), then the operation; then `--latency` delays the answer. `/_sandbox/` holds the
test and benchmark helpers.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import itertools
import json
import logging
import random
import time
import urllib.parse
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from batch import contract
from batch.sandbox import catalogue as catalogues
from batch.sandbox import checks
from batch.sandbox.catalogue import Catalogue, Entry
from batch.sandbox.state import ACTIONABLE, FINAL, Clock, Store, StoredRequest

logger = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]
MAX_PAGE_SIZE = 2000
TICK_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class Faults:
    """Failure injection, each off by default. Rates are shares of calls, 0 to 1."""

    latency_ms: tuple[int, int] | None = None
    fail_rate: float = 0.0
    drop_rate: float = 0.0
    throttle_rate: float = 0.0
    accept_timeout_rate: float = 0.0


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    api_key: str = "sandbox-key"
    catalogue: Catalogue | None = None
    speed: float = 1.0
    seed: int = 0
    webhook_url: str | None = None
    alpha_pending_cap: int = 2
    max_upload_bytes: int = 10 * 1024 * 1024
    faults: Faults = field(default_factory=Faults)
    # Off only in tests that exercise something else and drive time with the clock.
    rate_limits: bool = True


class RateWindows:
    """Infobip's time-based limits: at most N calls per endpoint and key in each fixed
    one-second window. `speed` multiplies N; a rate below one call per second gets one
    call per window of 1/rate seconds instead."""

    def __init__(self, speed: float, *, timer: Callable[[], float] = time.monotonic) -> None:
        self._speed = speed
        self._timer = timer
        self._used: dict[tuple[str, str], tuple[int, int]] = {}

    def admit(self, key: str, operation: contract.Operation) -> bool:
        rate = operation.per_second * self._speed
        allowed, length = (int(rate), 1.0) if rate >= 1 else (1, 1 / rate)
        window = int(self._timer() // length)
        seen, used = self._used.get((key, operation.operation_id), (window, 0))
        used = used if seen == window else 0
        if used >= allowed:
            return False
        self._used[(key, operation.operation_id)] = (window, used + 1)
        return True

    def clear(self) -> None:
        self._used.clear()


class NoResponse(Response):
    """Answers nothing. `drop` closes the connection at once; otherwise the connection
    stays open until the client gives up (an accepted submit whose answer never comes)."""

    def __init__(self, *, drop: Callable[[Scope], bool] | None) -> None:
        self.status_code = 0
        self.background = None
        self._drop = drop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._drop is not None and not self._drop(scope):
            logger.warning("cannot drop the connection here; leaving it unanswered instead")
        while (await receive())["type"] != "http.disconnect":
            pass


def api_error(
    code: str,
    violations: Sequence[dict[str, str]] = (),
    *,
    description: str = "Resource not available for given parameters.",
) -> JSONResponse:
    """The spec's ApiError body for an error code, with its HTTP status from the code.

    A catalogue may name codes the spec has no example of (Infobip's guide names
    RES-NUM-LOOKUP404, the spec does not); those, and routing's 404 and 405, get the
    given description.
    """
    example = contract.error_examples().get(code) or {
        "errorCode": code,
        "description": description,
        "action": "Please adjust your parameters and try again.",
        "resources": [],
    }
    body = {key: example[key] for key in ("errorCode", "description", "action", "resources")}
    body["violations"] = list(violations)
    return JSONResponse(body, status_code=int(code[-3:]))


class Sandbox:
    """One sandbox: its state, its limits and its ASGI app (`sandbox.app`)."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.catalogue = config.catalogue or catalogues.load()
        self.clock = Clock(config.speed)
        self.store = Store(seed=config.seed, clock=self.clock)
        self.windows = RateWindows(config.speed)
        self.calls: Counter[tuple[str, int]] = Counter()
        # The latest calls: operation, status, and when each arrived (Unix time).
        self.log: collections.deque[tuple[str, int, float]] = collections.deque(maxlen=100_000)
        self.drop_connection: Callable[[Scope], bool] | None = None
        self._faults = random.Random(config.seed)
        self.app = Starlette(
            routes=self._routes(),
            lifespan=self._lifespan,
            exception_handlers={HTTPException: _routing_error},
        )

    def _routes(self) -> list[Route]:
        api = [
            ("resources-requirements-lookup", self._lookup),
            ("submit-resource-request", self._submit),
            ("get-resource-requests", self._list),
            ("get-resource-request", self._get),
            ("update-resource-request", self._update),
            ("cancel-resource-request", self._cancel),
            ("upload-document", self._upload),
            ("download-document", self._download),
            ("delete-document", self._delete),
        ]
        # One route per path, so a method the path lacks gets a 405 whose Allow header
        # lists every method the path has, not just those of the first route matched.
        by_path: dict[str, dict[str, Handler]] = {}
        for operation_id, handler in api:
            op = contract.operations()[operation_id]
            by_path.setdefault(op.path, {})[op.method] = self._gate(op, handler)
        routes = [Route(p, _by_method(hs), methods=list(hs)) for p, hs in by_path.items()]
        helpers: list[tuple[str, str, Handler]] = [
            ("/_sandbox/requests", "GET", self._dump_requests),
            ("/_sandbox/calls", "GET", self._dump_calls),
            ("/_sandbox/clock", "POST", self._advance_clock),
            ("/_sandbox/reset", "POST", self._reset),
        ]
        routes += [Route(p, self._helper(h), methods=[m]) for p, m, h in helpers]
        return routes

    # -- the gate ---------------------------------------------------------------------

    def _gate(self, op: contract.Operation, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            arrived = time.time()
            response = await self._guarded(op, handler, request)
            self.calls[(op.operation_id, response.status_code)] += 1
            self.log.append((op.operation_id, response.status_code, round(arrived, 4)))
            return response

        return endpoint

    async def _guarded(
        self, op: contract.Operation, handler: Handler, request: Request
    ) -> Response:
        response = await self._answer(op, handler, request)
        latency = self.config.faults.latency_ms
        if latency is not None:  # added to the answer: limits count calls as they arrive
            await asyncio.sleep(self._faults.uniform(*latency) / 1000)
        return response

    async def _answer(self, op: contract.Operation, handler: Handler, request: Request) -> Response:
        faults = self.config.faults
        if not self._authorized(request):
            return api_error("E401")
        self.store.tick()
        if self._faults.random() < faults.drop_rate:
            return NoResponse(drop=self.drop_connection or (lambda scope: False))
        if self._faults.random() < faults.fail_rate:
            return api_error("E500")
        if self._faults.random() < faults.throttle_rate:
            return api_error("E429")
        if self.config.rate_limits and not self.windows.admit(self.config.api_key, op):
            return api_error("E429")
        return await handler(request)

    def _authorized(self, request: Request) -> bool:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme == "App":
            return credentials == self.config.api_key
        if scheme == "Basic":
            with contextlib.suppress(ValueError):
                _, _, password = (
                    base64.b64decode(credentials, validate=True).decode().partition(":")
                )
                return password == self.config.api_key
        return False

    def _helper(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            if not self._authorized(request):
                return api_error("E401")
            self.store.tick()
            return await handler(request)

        return endpoint

    # -- requirements and requests ------------------------------------------------------

    def _offer(self, body: Any, schemas: dict[str, str]) -> Entry | Response:
        """The catalogue entry offering what a lookup or submit body asks for, or the
        answer refusing it: the body's schema violations, or the not-offered code."""
        violations = checks.body_violations(body, schemas)
        if violations:
            return api_error("E400", violations)
        entry = self.catalogue.offer(body)
        return api_error(entry) if isinstance(entry, str) else entry

    def _document_ids(self) -> set[str]:
        """Documents a requirement may name: uploaded ones and Infobip's attachments."""
        return self.store.documents.keys() | self.catalogue.attachments.keys()

    async def _lookup(self, request: Request) -> Response:
        entry = self._offer(await _json(request), checks.LOOKUP_SCHEMAS)
        if isinstance(entry, Response):
            return entry
        return JSONResponse({"requirements": entry.requirements})

    async def _submit(self, request: Request) -> Response:
        body = await _json(request)
        entry = self._offer(body, checks.REQUEST_SCHEMAS)
        if isinstance(entry, Response):
            return entry
        filled = body.get("requirements") or []
        violations = checks.requirement_violations(entry, filled, self._document_ids())
        if violations:
            return api_error("E400", violations)
        code = self._request_rule(body, entry)
        if code is not None:
            return api_error(code)
        stored = self.store.add(body)
        if self._faults.random() < self.config.faults.accept_timeout_rate:
            return NoResponse(drop=None)
        return JSONResponse({"id": stored.id}, status_code=201)

    def _request_rule(self, body: dict[str, Any], entry: Entry) -> str | None:
        """The request-specific error code a valid body still earns, if any."""
        kind, sender, country = body["type"], body.get("senderName"), body["countryCode"]
        if kind == "ALPHANUMERIC_REGISTRATION":
            taken = [
                r
                for r in self.store.requests.values()
                if r.type == kind
                and r.body["senderName"] == sender
                and r.body["countryCode"] == country
                and r.status not in ("REJECTED", "CANCELED")
            ]
            if taken:
                return "RR-ALPHA-SENDER-ALREADY-EXISTS400"
            cap = self.config.alpha_pending_cap
            if cap and len(list(self.store.pending(kind, countryCode=country))) >= cap:
                return "RR-ALPHA-SS-LIMIT400"
            return None
        if kind == "NUMBER_PURCHASE":
            return checks.us_numbering_rule(entry, body)
        senders = self.catalogue.rcs_senders
        if senders is not None and sender not in senders:
            return "RR-RCS-SENDER404"
        launches = [
            r
            for r in self.store.requests.values()
            if r.type == kind and r.body["senderName"] == sender
        ]
        if any(r.status == "COMPLETED" for r in launches):
            return "RR-RCS-SENDER-ALREADY-LAUNCHED400"
        if any(r.status not in FINAL for r in launches):
            return "RR-RCS-SENDER-ALREADY-REQUESTED400"
        return checks.rcs_rule(entry, body)

    async def _list(self, request: Request) -> Response:
        query = request.query_params
        violations = checks.query_violations({name: query.getlist(name) for name in query})
        if violations:
            return api_error("E400", violations)
        types, countries, statuses = (
            checks.list_values(query.getlist(n)) for n in ("type", "countryCode", "status")
        )
        found = [
            r
            for r in self.store.requests.values()
            if (not types or r.type in types)
            and (not countries or r.body["countryCode"] in countries)
            and (not statuses or r.status in statuses)
        ]
        found = _sorted(found, query.getlist("sort"))
        page = max(_int(query.get("page"), 0), 0)
        size = min(max(_int(query.get("size"), 20), 1), MAX_PAGE_SIZE)
        chosen = found[page * size : (page + 1) * size]
        paging = {
            "page": page,
            "size": size,
            "totalPages": -(-len(found) // size),
            "totalResults": len(found),
        }
        return JSONResponse({"results": [r.view() for r in chosen], "paging": paging})

    async def _get(self, request: Request) -> Response:
        stored = self.store.requests.get(request.path_params["id"])
        return api_error("RR404") if stored is None else JSONResponse(stored.view())

    async def _update(self, request: Request) -> Response:
        body = await _json(request)
        violations = checks.schema_violations("UpdateResourceOrderRequest", body)
        if violations:
            return api_error("E400", violations)
        stored = self.store.requests.get(request.path_params["id"])
        if stored is None:
            return api_error("RR404")
        if stored.status not in ACTIONABLE:
            return api_error("RR-INVALID-STATUS400")
        entry = self.catalogue.find(stored.body)
        violations = (
            checks.requirement_violations(entry, body["requirements"], self._document_ids())
            if entry
            else []
        )
        if violations:
            return api_error("E400", violations)
        self.store.update(stored, body["requirements"])
        return JSONResponse(stored.view())

    async def _cancel(self, request: Request) -> Response:
        stored = self.store.requests.get(request.path_params["id"])
        if stored is None:
            return api_error("RR404")
        if stored.status not in ACTIONABLE:
            return api_error("RR-INVALID-STATUS400")
        self.store.cancel(stored)
        return Response(status_code=204)

    # -- documents ----------------------------------------------------------------------

    async def _upload(self, request: Request) -> Response:
        limit = self.config.max_upload_bytes
        if _int(request.headers.get("content-length"), 0) > limit + 64 * 1024:
            return api_error(
                "E400", [{"property": "", "violation": "Maximum upload size exceeded"}]
            )
        try:
            async with request.form(max_files=10, max_fields=100) as form:
                part = form.get("document")
                if part is None or isinstance(part, str):
                    return api_error("E400", [_document("Must not be null or empty.")])
                content = await part.read()
        except (HTTPException, MultiPartException):  # a malformed multipart body
            return api_error("E400", [_document("Must not be null or empty.")])
        if not content:
            return api_error("E400", [_document("Must not be null or empty.")])
        if len(content) > limit:
            return api_error(
                "E400", [{"property": "", "violation": "Maximum upload size exceeded"}]
            )
        content_type = (part.headers.get("content-type") or "").split(";")[0].strip().lower()
        if not content_type:
            return api_error("E400", [_document("Document content type is required.")])
        suffix = PurePath(part.filename or "").suffix.lower()
        if (
            content_type not in contract.DOCUMENT_TYPES.values()
            or suffix not in contract.DOCUMENT_TYPES
        ):
            return api_error("E400", [_document("Unsupported document content type.")])
        stored = self.store.upload(part.filename or "document", content_type, content)
        location = f"{request.base_url}resources/1/documents/{stored.document_id}"
        return JSONResponse({"documentId": stored.document_id}, 201, {"Location": location})

    async def _download(self, request: Request) -> Response:
        document_id = request.path_params["documentId"]
        found = self.store.documents.get(document_id) or self.catalogue.attachments.get(document_id)
        if found is None:
            return api_error("RR-DOC404")
        headers = {"Content-Disposition": _disposition(found.filename)}
        return Response(found.content, 200, headers, media_type=found.content_type)

    async def _delete(self, request: Request) -> Response:
        if self.store.documents.pop(request.path_params["documentId"], None) is None:
            return api_error("RR-DOC404")
        return Response(status_code=204)

    # -- /_sandbox/ helpers -------------------------------------------------------------

    async def _dump_requests(self, request: Request) -> Response:
        results = [
            {**r.view(), "storedAt": r.stored_at, "statusHistory": r.history}
            for r in self.store.requests.values()
        ]
        return JSONResponse({"results": results})

    async def _dump_calls(self, request: Request) -> Response:
        calls = [
            {"operation": op, "status": status, "count": n}
            for (op, status), n in self.calls.items()
        ]
        log = [{"operation": op, "status": status, "at": at} for op, status, at in self.log]
        return JSONResponse({"calls": calls, "log": log})

    async def _advance_clock(self, request: Request) -> Response:
        body = await _json(request)
        seconds = body.get("advanceSeconds") if isinstance(body, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            violation = {"property": "advanceSeconds", "violation": "must be a number >= 0"}
            return api_error("E400", [violation])
        self.clock.advance(seconds)
        self.store.tick()
        return JSONResponse({"clockSeconds": self.clock.now()})

    async def _reset(self, request: Request) -> Response:
        self.store.reset()
        self.calls.clear()
        self.log.clear()
        self.windows.clear()
        return Response(status_code=204)

    # -- the lifecycle ticker and webhooks ----------------------------------------------

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
        async with httpx.AsyncClient(timeout=10) as client, asyncio.TaskGroup() as tasks:
            ticker = tasks.create_task(self._tick_forever(queue))
            sender = tasks.create_task(self._deliver_forever(queue, client))
            try:
                yield
            finally:
                ticker.cancel()
                sender.cancel()

    async def _tick_forever(self, queue: asyncio.Queue[list[dict[str, Any]]]) -> None:
        """Move requests on, and queue their events in batches: the events that came due
        together, of one kind (status or reminder), up to 100 to a body."""
        while True:
            self.store.tick()
            events, self.store.events[:] = list(self.store.events), []
            if self.config.webhook_url:
                for _, group in itertools.groupby(events, key=lambda e: e["event"]):
                    batch = list(group)
                    for start in range(0, len(batch), 100):
                        queue.put_nowait(batch[start : start + 100])
            await asyncio.sleep(TICK_SECONDS)

    async def _deliver_forever(
        self, queue: asyncio.Queue[list[dict[str, Any]]], client: httpx.AsyncClient
    ) -> None:
        while True:
            await self._post_events(client, await queue.get())

    async def _post_events(self, client: httpx.AsyncClient, batch: list[dict[str, Any]]) -> None:
        assert self.config.webhook_url is not None
        for attempt, pause in enumerate((0.2, 0.5, 1.0, 2.0, 5.0), start=1):
            try:
                response = await client.post(self.config.webhook_url, json={"results": batch})
                if response.is_success:
                    return
                reason = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
            logger.warning("webhook delivery attempt %d failed: %s", attempt, reason)
            await asyncio.sleep(pause)
        logger.error("gave up delivering %d webhook event(s)", len(batch))


def _by_method(handlers: dict[str, Handler]) -> Handler:
    """One path's operations as one endpoint; HEAD is answered as GET, as starlette does."""

    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return endpoint


async def _routing_error(request: Request, exc: Exception) -> Response:
    """Routing's own refusals (no such path, no such method) as ApiErrors, like every
    other refusal, keeping their headers (a 405's Allow)."""
    assert isinstance(exc, HTTPException)
    response = api_error(f"E{exc.status_code}", description=exc.detail)
    response.headers.update(exc.headers or {})
    return response


def _disposition(filename: str) -> str:
    """An attachment header for any file name: RFC 6266's `filename*` when the name is
    not plain ASCII (HTTP headers are Latin-1), as starlette's FileResponse does."""
    quoted = urllib.parse.quote(filename)
    if quoted == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename*=utf-8''{quoted}"


def _document(violation: str) -> dict[str, str]:
    return {"property": "document", "violation": violation}


async def _json(request: Request) -> Any:
    """The body as JSON, or None when it is not JSON (the schema check then says so)."""
    try:
        return json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def _sorted(found: list[StoredRequest], sorts: list[str]) -> list[StoredRequest]:
    """Sort by `requestedDate` or `status` (`prop[,asc|desc]`); by default the most
    recently modified first, as the real API does."""
    order = contract.enum("ResourceOrderStatus")
    keys: dict[str, Callable[[StoredRequest], Any]] = {
        "requestedDate": lambda r: (r.requested_date, r.id),
        "status": lambda r: order.index(r.status),
    }
    result = sorted(found, key=lambda r: r.modified, reverse=True)
    for spec in reversed(sorts):
        name, _, direction = spec.partition(",")
        if name in keys:
            result.sort(key=keys[name], reverse=direction.lower() == "desc")
    return result
