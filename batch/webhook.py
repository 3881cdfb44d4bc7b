"""The webhook receiver: Infobip's RESOURCE_REQUEST_STATUS_UPDATE and
RESOURCE_REQUEST_REMINDER callbacks, written to the account's journal.

    POST <path>  Basic auth ─> read (≤ 1 MiB) ─> check the whole batch ─> journal ─> 200
                 401 / 413 / 415 / 400 before anything is recorded; 503 if the journal fails

A batch is answered 200 only once each of its events is committed, so an event is never
acknowledged and then lost. Infobip delivers at least once and in any order: every event is
kept in the journal's `events` table (a redelivery is a DUPLICATE), a status older than the
one held is ignored (its `receivedAt` says when it was true), and a reminder never changes
the status. A `receivedAt` later than this clock (beyond `CLOCK_SKEW`) is taken as now,
with a warning: kept as it came, it would outrank every status `resource-batch status`
reads (as of now) until that time came. The journal is used from one thread of its own:
a SQLite connection stays in the thread that opened it, and the event loop never waits on
the disk.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import hmac
import json
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from batch import serving
from batch.errors import JournalError
from batch.journal import CLOCK_SKEW, Entry, Journal

logger = logging.getLogger(__name__)

STATUS_UPDATE = "RESOURCE_REQUEST_STATUS_UPDATE"
REMINDER = "RESOURCE_REQUEST_REMINDER"
DEFAULT_PATH = "/webhooks/infobip"
HEALTH_PATH = "/healthz"
MAX_BODY_BYTES = 1024 * 1024
_INT32 = 2**31 - 1
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="resource-batch webhook", charset="UTF-8"'}


@dataclass(frozen=True, slots=True)
class ReceiverConfig:
    """What a receiver needs: whose journal, which Basic credentials, where to listen."""

    state_dir: Path
    account: str  # Settings.account: the fingerprint, never the API key
    username: str
    password: str = field(repr=False)
    path: str = DEFAULT_PATH
    max_body_bytes: int = MAX_BODY_BYTES


@dataclass(frozen=True, slots=True)
class Event:
    """One checked result of a webhook body."""

    kind: str
    request_id: str
    status: str
    body: dict[str, Any]  # the result as received, kept in the journal's events table
    at: datetime | None = None  # receivedAt: when the status became true
    feedback: list[dict[str, Any]] | None = None
    note: str | None = None
    numbers: list[dict[str, Any]] | None = None
    days_until_rejection: int | None = None


class Malformed(ValueError):
    """A webhook body that is not what Infobip sends; `problems` says what is wrong."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


# -- checking a body ----------------------------------------------------------------------


def parse_events(payload: Any) -> list[Event]:
    """The events of a webhook body, all checked before any is used.

    Unknown extra fields are ignored, and so is an unknown status value (it is recorded
    as it is); `receivedAt` may be `2025-03-11T09:22:47.000+0000`, `...Z` or any ISO 8601
    date and time (UTC when it names no offset).

    Raises:
        Malformed: the body, or any one of its results, is not a webhook event.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
        raise Malformed(["the body must be a JSON object with a 'results' list"])
    events: list[Event] = []
    problems: list[str] = []
    for index, result in enumerate(payload["results"]):
        try:
            events.append(_event(result))
        except Malformed as exc:
            problems += [f"results[{index}]{problem}" for problem in exc.problems]
    if problems:
        raise Malformed(problems)
    return events


def _event(result: Any) -> Event:
    if not isinstance(result, dict):
        raise Malformed([": must be an object"])
    content = result.get("content")
    kind = result.get("event")
    problems = []
    if kind not in (STATUS_UPDATE, REMINDER):
        problems.append(f".event: must be {STATUS_UPDATE} or {REMINDER}, not {_shown(kind)}")
    if not isinstance(content, dict):
        raise Malformed([*problems, ".content: must be an object"])
    for name in ("id", "status"):
        if not isinstance(content.get(name), str) or not content[name]:
            problems.append(f".content.{name}: must be a non-empty string")
    days = content.get("daysUntilRejection")
    if kind == REMINDER and not _is_days(days):
        problems.append(".content.daysUntilRejection: must be a whole number of days >= 0")
    at = _received_at(result.get("receivedAt"), problems)
    feedback = _objects(content, "requirementsFeedback", problems)
    numbers = _objects(content, "numbers", problems)
    note = content.get("note")
    if note is not None and not isinstance(note, str):
        problems.append(".content.note: must be a string")
    if problems:
        raise Malformed(problems)
    return Event(
        kind=str(kind),
        request_id=content["id"],
        status=content["status"],
        body=result,
        at=at,
        feedback=feedback,
        note=note,
        numbers=numbers,
        days_until_rejection=days if kind == REMINDER else None,
    )


def _is_days(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _INT32


def _received_at(value: Any, problems: list[str]) -> datetime | None:
    """`receivedAt` as an aware time; None when absent (reminders have none)."""
    if value is None:
        return None
    # A date alone would pass fromisoformat as midnight and reorder the day's statuses.
    if isinstance(value, str) and len(value) > 10:
        with contextlib.suppress(ValueError, OverflowError):  # year 1 at +01:00 overflows
            when = datetime.fromisoformat(value)
            return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).astimezone(UTC)
    problems.append(f".receivedAt: {_shown(value)} is not a date and time")
    return None


def _objects(
    content: dict[str, Any], name: str, problems: list[str]
) -> list[dict[str, Any]] | None:
    value = content.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        problems.append(f".content.{name}: must be a list of objects")
        return None
    return value


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


# -- recording ----------------------------------------------------------------------------


class Recorder:
    """The account's journal, opened and used in one thread of its own.

    Raises:
        JournalError, ValueError: as `Journal.open` does.
    """

    def __init__(self, state_dir: Path, account: str) -> None:
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="journal")
        try:
            self._journal = self._thread.submit(Journal.open, state_dir, account).result()
        except BaseException:
            self._thread.shutdown()
            raise
        self.path = self._journal.path

    async def record(self, events: list[Event]) -> list[str]:
        """Commit each event; returns what became of each (see `_record_one`).

        Raises:
            JournalError: the journal could not be written; the events before the failing
                one are committed (their redelivery is harmless).
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._record, events)

    def close(self) -> None:
        """Close the journal and end its thread; closing twice is harmless."""
        with contextlib.suppress(RuntimeError):  # already shut down
            self._thread.submit(self._journal.close).result()
        self._thread.shutdown()

    def _record(self, events: list[Event]) -> list[str]:
        return [self._record_one(event) for event in events]

    def _record_one(self, event: Event) -> str:
        """RECORDED, DUPLICATE (kept before), OUT_OF_ORDER (older than what the journal
        holds) or UNKNOWN_REQUEST (not a request of this journal: made in the portal)."""
        journal = self._journal
        new = journal.event(event.request_id, event.kind, event.body)
        entry = journal.by_request_id([event.request_id]).get(event.request_id)
        if entry is None:
            return "UNKNOWN_REQUEST" if new else "DUPLICATE"
        applied = _apply(journal, entry, event, new=new)
        return "DUPLICATE" if not new else "RECORDED" if applied else "OUT_OF_ORDER"


def _apply(journal: Journal, entry: Entry, event: Event, *, new: bool) -> bool:
    """Apply an event to its request; a redelivery is applied again (it may follow a
    crash between keeping the event and applying it), which changes nothing."""
    if event.kind == REMINDER:
        assert event.days_until_rejection is not None
        held = entry.days_until_rejection
        # Reminders count down (27, 15, 3 days): one with more days left is an older one.
        if held is not None and event.days_until_rejection > held:
            return False
        return journal.remind(event.request_id, event.days_until_rejection)
    if event.at is None and not new:
        return False  # with no receivedAt, "now" would make a redelivery the newest status
    return journal.observe(
        event.request_id,
        event.status,
        at=_believable(event, datetime.now(UTC)),
        feedback=event.feedback,
        note=event.note,
        numbers=event.numbers,
    )


def _believable(event: Event, now: datetime) -> datetime:
    """When the event's status was true: its receivedAt, but never later than `now` (plus
    the clock skew allowed), and `now` when it has none."""
    if event.at is None:
        return now
    if event.at - now > CLOCK_SKEW:
        logger.warning(
            "webhook %s: receivedAt %s is later than this clock (%s): recorded as of now,"
            " so that a later status can replace it",
            event.request_id,
            event.at.isoformat(),
            now.isoformat(timespec="seconds"),
        )
        return now
    return event.at


# -- the app ------------------------------------------------------------------------------


def create_app(config: ReceiverConfig, recorder: Recorder) -> Starlette:
    """The receiver's ASGI app: POST `config.path` (Basic auth) and GET /healthz (none)."""

    async def receive(request: Request) -> Response:
        if not _authorized(request, config):
            client = request.client.host if request.client else "?"
            logger.warning("webhook from %s refused: wrong or missing Basic credentials", client)
            return _problem(401, "wrong or missing HTTP Basic credentials", headers=_CHALLENGE)
        if not _is_json(request.headers.get("content-type", "")):
            return _problem(415, "the body must be application/json")
        body = await _read(request, config.max_body_bytes)
        if body is None:
            return _problem(413, f"the body is over {config.max_body_bytes} bytes")
        try:
            events = parse_events(json.loads(body))
        except (ValueError, RecursionError) as exc:
            problems = exc.problems if isinstance(exc, Malformed) else ["the body is not JSON"]
            logger.warning("webhook refused: %s", "; ".join(problems))
            return _problem(400, "malformed webhook body; nothing was recorded", problems)
        try:
            outcomes = await recorder.record(events)
        except JournalError as exc:
            logger.error("webhook not recorded: %s", exc)
            return _problem(503, "the journal cannot be written now; send it again later")
        for event, outcome in zip(events, outcomes, strict=True):
            _log(event, outcome)
        return JSONResponse({"received": len(events)})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    app = Starlette(
        routes=[
            Route(config.path, receive, methods=["POST"]),
            Route(HEALTH_PATH, health, methods=["GET"]),
        ]
    )
    app.router.redirect_slashes = False  # any other path is 404, not a redirect
    return app


def _authorized(request: Request, config: ReceiverConfig) -> bool:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except ValueError:  # not base64 (binascii.Error), not ASCII, not UTF-8 once decoded
        return False
    username, colon, password = decoded.partition(":")
    # Both compared, in constant time, so that the answer's timing tells nothing.
    user_ok = hmac.compare_digest(username.encode(), config.username.encode())
    password_ok = hmac.compare_digest(password.encode(), config.password.encode())
    return bool(colon) and user_ok and password_ok


def _is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def _read(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is over `limit` bytes (read no further than that)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _problem(
    status: int,
    error: str,
    problems: list[str] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"error": error}
    if problems:
        body["problems"] = problems
    return JSONResponse(body, status_code=status, headers=headers)


def _log(event: Event, outcome: str) -> None:
    what = (
        f"{event.days_until_rejection} days until rejection"
        if event.kind == REMINDER
        else event.status
    )
    fields = {
        "event": event.kind,
        "requestId": event.request_id,
        "status": event.status,
        "receivedAt": None if event.at is None else event.at.isoformat(),
        "daysUntilRejection": event.days_until_rejection,
        "result": outcome,
    }
    level = logging.WARNING if outcome == "UNKNOWN_REQUEST" else logging.INFO
    note = " (not in this journal: made in the portal, or by another account?)"
    text = f"webhook {event.request_id}: {what} - {outcome}"
    if outcome == "UNKNOWN_REQUEST":
        text += note
    logger.log(level, text, extra={"fields": fields})


# -- serving ------------------------------------------------------------------------------


class Receiver:
    """A receiver's journal and app; close it when done serving.

    Raises:
        JournalError, ValueError: the journal cannot be opened (see `Journal.open`).
    """

    def __init__(self, config: ReceiverConfig) -> None:
        self.config = config
        self.recorder = Recorder(config.state_dir, config.account)
        self.app = create_app(config, self.recorder)

    def close(self) -> None:
        self.recorder.close()


def _server(receiver: Receiver) -> uvicorn.Server:
    # log_config=None: uvicorn's own lines go through the handler cli.py set up (JSON off a
    # terminal), like everything else; the access log is off, each event is logged instead.
    config = uvicorn.Config(
        receiver.app,
        log_config=None,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    return uvicorn.Server(config)


def serve(receiver: Receiver, sock: socket.socket, *, started: Callable[[], None]) -> None:
    """Serve until Ctrl-C or SIGTERM; `started()` runs once it answers."""
    serving.serve(_server(receiver), sock, started=started)


class RunningReceiver:
    """A receiver served from a background thread for as long as the `with` block lasts.

    `sock` is a socket already listening (`batch.serving.listen`), for when its
    address must be known before the receiver can be made; else one is opened here.

    Example:
        with RunningReceiver(config) as running:
            httpx.post(running.url, json={"results": []}, auth=("user", "password"))
    """

    def __init__(
        self,
        config: ReceiverConfig,
        *,
        sock: socket.socket | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        sock = sock or serving.listen(host, port)
        self.base_url = serving.base_url(sock)
        self.url = self.base_url + config.path
        try:
            self.receiver = Receiver(config)
        except BaseException:
            sock.close()
            raise
        self._thread = serving.ServerThread(_server(self.receiver), sock, name="webhook receiver")

    def __enter__(self) -> RunningReceiver:
        try:
            self._thread.__enter__()
        except BaseException:
            self.receiver.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._thread.__exit__(kind, exc, tb)
        self.receiver.close()
