"""The sandbox's memory: stored requests and documents, and how requests move on.

Every request follows a plan of timed steps drawn when it is stored (or updated) from a
random generator seeded with `--seed` and the request's content, so a given seed and
body always take the same path. Times are lifecycle seconds on a `Clock`: real seconds
times `--speed`, plus whatever `/_sandbox/clock` advanced.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import itertools
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import phonenumbers

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
FINAL = frozenset({"COMPLETED", "REJECTED", "CANCELED"})
ACTIONABLE = frozenset({"UPDATE_REQUESTED", "UPDATE_REQUESTED_BY_INTERNAL_REVIEWER"})
NOTIFIED = ACTIONABLE | {"REJECTED", "COMPLETED"}
REQUESTER = "sandbox.user@example.com"
# Reminders after 3, 15 and 27 days without an update; rejection after 30 (the spec's
# reminder webhook).
REMINDERS = ((3, 27), (15, 15), (27, 3))
AUTO_REJECT_DAYS = 30

# Automatic validation flags a value's form: "required" or "too long" would contradict a
# value the client checked against the same rules (and confuse a demo).
_AUTOMATIC_FEEDBACK = (("RES_REQ_FEED_FORMAT", "The value does not have the expected format."),)
_REVIEWER_FEEDBACK = (
    ("RES_REQ_FEED_OTHER", "The information could not be verified. Please correct it."),
    ("RES_REQ_FEED_USER_ACTION_REQUIRED", "Please upload a clearer, signed copy."),
)
_REJECTION = (
    "Your request has been rejected because it contains invalid information for the"
    " selected destination."
)


def timestamp(moment: float | None = None) -> str:
    """A date-time the way Infobip writes it: `2025-03-11T09:22:47.000+0000`."""
    when = datetime.fromtimestamp(time.time() if moment is None else moment, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"


class Clock:
    """Lifecycle time in seconds: real time times `speed`, plus what was advanced."""

    def __init__(self, speed: float, *, timer: Callable[[], float] = time.monotonic) -> None:
        self.speed = speed
        self._timer = timer
        self._start = timer()
        self.advanced = 0.0

    def now(self) -> float:
        return (self._timer() - self._start) * self.speed + self.advanced

    def advance(self, seconds: float) -> None:
        self.advanced += seconds


@dataclass(slots=True)
class Step:
    """One planned change: a new status (with what comes with it), or a reminder."""

    at: float
    status: str | None
    feedback: list[dict[str, str]] = field(default_factory=list)
    note: str | None = None
    numbers: list[dict[str, str]] | None = None
    days_until_rejection: int | None = None


@dataclass(slots=True)
class StoredRequest:
    id: str
    body: dict[str, Any]
    requested_date: str
    stored_at: str
    status: str = "PENDING"
    revision: int = 0
    feedback: list[dict[str, str]] = field(default_factory=list)
    note: str | None = None
    numbers: list[dict[str, str]] = field(default_factory=list)
    modified: float = field(default_factory=time.time)
    steps: list[Step] = field(default_factory=list)
    history: list[str] = field(default_factory=lambda: ["PENDING"])

    @property
    def type(self) -> str:
        return str(self.body["type"])

    def view(self) -> dict[str, Any]:
        """The request as GET /resources/1/requests/{id} returns it."""
        body = self.body
        emails = list(body.get("additionalContactEmails") or [])
        shown: dict[str, Any] = {"id": self.id, "type": self.type, "status": self.status}
        shown["countryCode"] = body["countryCode"]
        if self.type != "NUMBER_PURCHASE":
            shown["senderName"] = body["senderName"]
        shown["requestedByEmailAddress"] = REQUESTER
        # The response names differ by type; the request field is the same for all three.
        emails_name = (
            "additionalContactEmails"
            if self.type == "RCS_SENDER_LAUNCH"
            else ("additionalContactEmailAddresses")
        )
        shown[emails_name] = emails
        shown["requestedDate"] = self.requested_date
        if self.type == "NUMBER_PURCHASE":
            shown["numberType"] = body["numberType"]
            shown["capabilities"] = list(body["capabilities"])
            shown["quantity"] = body.get("quantity", 1)
            shown["numbers"] = list(self.numbers)
        else:
            _copy(body, shown, "trafficOrigin")
        if self.type == "ALPHANUMERIC_REGISTRATION":
            _copy(body, shown, "trafficType")
        if self.type == "RCS_SENDER_LAUNCH":
            shown["excludedCarriers"] = list(body.get("excludedCarriers") or [])
        if self.note is not None:
            shown["note"] = self.note
        shown["requirements"] = list(body.get("requirements") or [])
        shown["requirementsFeedback"] = list(self.feedback)
        _copy(body, shown, "platform")
        return shown

    def status_event(self) -> dict[str, Any]:
        """The RESOURCE_REQUEST_STATUS_UPDATE result for the current status."""
        content: dict[str, Any] = {"id": self.id, "status": self.status, "type": self.type}
        if self.type == "NUMBER_PURCHASE":
            content["numbers"] = list(self.numbers)
        content["requirementsFeedback"] = list(self.feedback)
        if self.note is not None:
            content["note"] = self.note
        event = {
            "event": "RESOURCE_REQUEST_STATUS_UPDATE",
            "receivedAt": timestamp(),
            "content": content,
        }
        _copy(self.body, event, "platform")
        return event

    def reminder_event(self, days: int) -> dict[str, Any]:
        content: dict[str, Any] = {"id": self.id, "status": self.status, "type": self.type}
        return {
            "event": "RESOURCE_REQUEST_REMINDER",
            "content": {**content, "daysUntilRejection": days},
        }


@dataclass(slots=True)
class Document:
    document_id: str
    filename: str
    content_type: str
    content: bytes


class Store:
    """Requests and uploaded documents, and the queue of webhook events they raise."""

    def __init__(self, *, seed: int, clock: Clock) -> None:
        self.seed = seed
        self.clock = clock
        self.requests: dict[str, StoredRequest] = {}
        self.documents: dict[str, Document] = {}
        self.events: list[dict[str, Any]] = []
        self._due: list[tuple[float, int, str]] = []
        self._order = itertools.count()
        self._sold: set[str] = set()  # numbers promised to purchases, so none is sold twice
        self._uploaded: dict[str, int] = {}  # uploads per content hash

    def add(self, body: dict[str, Any]) -> StoredRequest:
        now = time.time()
        request = StoredRequest(str(uuid.uuid4()), body, timestamp(now), timestamp(now))
        self.requests[request.id] = request
        self._plan(request, _lifecycle(request, self._rng(request), self._sold))
        return request

    def update(self, request: StoredRequest, requirements: list[dict[str, Any]]) -> None:
        """A PATCH: new requirements, feedback cleared, back to automatic validation."""
        request.body = {**request.body, "requirements": requirements}
        request.revision += 1
        request.feedback = []
        self._move(request, "AUTOMATIC_VALIDATION")
        # The first step, AUTOMATIC_VALIDATION, has just been taken.
        steps = _lifecycle(request, self._rng(request), self._sold)[1:]
        self._plan(request, steps)

    def cancel(self, request: StoredRequest) -> None:
        self._move(request, "CANCEL_REQUESTED")
        delay = self._rng(request).uniform(1, 10) * MINUTE
        self._plan(request, [Step(delay, "CANCELED")])

    def upload(self, filename: str, content_type: str, content: bytes) -> Document:
        """Store a document under a new id. Ids look random and are never reused (the
        same file uploaded twice gets two), but follow from the seed, the content and
        how often it came before: requests that name them take repeatable lifecycles."""
        digest = hashlib.sha256(content).hexdigest()
        seen = self._uploaded.get(digest, 0)
        self._uploaded[digest] = seen + 1
        document_id = hashlib.sha512(f"{self.seed}|{digest}|{seen}".encode()).hexdigest().upper()
        document = Document(document_id, filename, content_type, content)
        self.documents[document.document_id] = document
        return document

    def reset(self) -> None:
        self.requests.clear()
        self.documents.clear()
        self.events.clear()
        self._due.clear()
        self._sold.clear()
        self._uploaded.clear()

    def tick(self) -> None:
        """Apply every planned step that is due, queueing the webhook events they raise."""
        now = self.clock.now()
        while self._due and self._due[0][0] <= now:
            _, _, request_id = heapq.heappop(self._due)
            request = self.requests.get(request_id)
            if request is None or not request.steps or request.steps[0].at > now:
                continue  # reset, or re-planned since this entry was queued
            self._apply(request, request.steps.pop(0))
            if request.steps:
                self._queue(request)

    def pending(self, request_type: str, **where: Any) -> Iterator[StoredRequest]:
        """Requests of a type that are not final, matching the body fields in `where`."""
        for request in self.requests.values():
            if request.type == request_type and request.status not in FINAL:
                if all(request.body.get(k) == v for k, v in where.items()):
                    yield request

    def _apply(self, request: StoredRequest, step: Step) -> None:
        if step.status is None:
            assert step.days_until_rejection is not None
            self.events.append(request.reminder_event(step.days_until_rejection))
            return
        request.feedback = step.feedback
        if step.note is not None:
            request.note = step.note
        if step.numbers is not None:
            request.numbers = step.numbers
        self._move(request, step.status)

    def _move(self, request: StoredRequest, status: str) -> None:
        request.status = status
        request.history.append(status)
        request.modified = time.time()
        if status in NOTIFIED:
            self.events.append(request.status_event())

    def _plan(self, request: StoredRequest, steps: list[Step]) -> None:
        """Replace the request's plan; step times are offsets from now."""
        now = self.clock.now()
        request.steps = [dataclasses.replace(step, at=now + step.at) for step in steps]
        if request.steps:
            self._queue(request)

    def _queue(self, request: StoredRequest) -> None:
        heapq.heappush(self._due, (request.steps[0].at, next(self._order), request.id))

    def _rng(self, request: StoredRequest) -> random.Random:
        content = json.dumps(request.body, sort_keys=True)
        digest = hashlib.sha256(f"{self.seed}|{request.revision}|{content}".encode()).digest()
        return random.Random(digest)


def _lifecycle(request: StoredRequest, rng: random.Random, taken: set[str]) -> list[Step]:
    """The steps of a new (or updated) request, as offsets from now.

    Automatic validation may ask for an update; a reviewer may too, or reject, or pass
    the request on to be provisioned. Updates are asked for only of a request's first
    revision, so a corrected request goes on to review and the fix loop ends.
    """
    keys = [item["key"] for item in request.body.get("requirements") or []]
    t = rng.uniform(1, 5) * MINUTE
    steps = [Step(t, "AUTOMATIC_VALIDATION")]
    t += rng.uniform(5, 30) * MINUTE
    first = request.revision == 0
    if first and keys and rng.random() < 0.25:
        return steps + _update_requested(t, "UPDATE_REQUESTED", keys, _AUTOMATIC_FEEDBACK, rng)
    steps.append(Step(t, "PENDING_REVIEW"))
    t += rng.uniform(30, 180) * MINUTE
    steps.append(Step(t, "IN_REVIEW"))
    t += rng.uniform(1, 6) * HOUR
    verdict = rng.random()
    if verdict < 0.12 and first and keys:
        reviewer = "UPDATE_REQUESTED_BY_INTERNAL_REVIEWER"
        return steps + _update_requested(t, reviewer, keys, _REVIEWER_FEEDBACK, rng)
    if 0.12 <= verdict < 0.22:
        return steps + [
            Step(t, "REJECTED", note=_REJECTION, numbers=[] if _buys(request) else None)
        ]
    numbers, note = _numbers(request, rng, taken) if _buys(request) else (None, None)
    steps.append(Step(t, "IN_PROGRESS", numbers=numbers))
    t += rng.uniform(1, 24) * HOUR
    return steps + [Step(t, "COMPLETED", note=note)]


def _update_requested(
    t: float, status: str, keys: list[str], texts: tuple[tuple[str, str], ...], rng: random.Random
) -> list[Step]:
    flagged = rng.sample(keys, k=min(len(keys), rng.choice((1, 1, 2))))
    feedback = []
    for key in flagged:
        code, text = rng.choice(texts)
        feedback.append({"key": key, "code": code, "feedback": text})
    steps = [Step(t, status, feedback=feedback)]
    steps += [Step(t + day * DAY, None, days_until_rejection=left) for day, left in REMINDERS]
    note = f"Rejected automatically: no update within {AUTO_REJECT_DAYS} days."
    return steps + [Step(t + AUTO_REJECT_DAYS * DAY, "REJECTED", note=note)]


def _buys(request: StoredRequest) -> bool:
    return request.type == "NUMBER_PURCHASE"


def _numbers(
    request: StoredRequest, rng: random.Random, taken: set[str]
) -> tuple[list[dict[str, str]], str | None]:
    """The numbers a purchase gets, none sold before: sometimes fewer than ordered, with
    a note saying so. They look like the country's mobile numbers."""
    ordered = int(request.body.get("quantity") or 1)
    got = rng.randint(1, ordered - 1) if ordered > 1 and rng.random() < 0.2 else ordered
    region = request.body["countryCode"]
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    e164 = (
        phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164) if example else ""
    )
    # The last six digits vary: a million numbers per country, far more than any run buys;
    # should they ever run out, the order gets fewer numbers instead of looping forever.
    prefix = e164[:-6] or "+999123"
    numbers = []
    for _ in range(got):
        suffix = rng.randrange(10**6)
        for _ in range(10**6):
            if f"{prefix}{suffix:06d}" not in taken:
                break
            suffix = (suffix + 1) % 10**6
        else:
            break
        taken.add(f"{prefix}{suffix:06d}")
        key = rng.randbytes(16).hex().upper()
        numbers.append({"number": f"{prefix}{suffix:06d}", "numberKey": key, "status": "SUCCESS"})
    got = len(numbers)
    note = (
        f"Only {got} out of {ordered} requested numbers could be procured."
        if got < ordered
        else None
    )
    return numbers, note


def _copy(source: dict[str, Any], target: dict[str, Any], name: str) -> None:
    if source.get(name) is not None:
        target[name] = source[name]
