"""What becomes of a row, what it needs next, and what a run tells its caller as it goes.

The row results, what each one needs from a person, its colour and its exit-code meaning
are kept here, in one place; the results sheet, the console and `status` all read them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from batch.journal import Entry
    from batch.rows import Candidate

# Infobip rejects a request this many days after asking for changes that never came
# (the spec's reminder webhook: reminders at 3, 15 and 27 days, rejection at 30).
DAYS_TO_ANSWER = 30
ASKING = frozenset({"UPDATE_REQUESTED", "UPDATE_REQUESTED_BY_INTERNAL_REVIEWER"})
FINAL = frozenset({"COMPLETED", "REJECTED", "CANCELED"})
REDOABLE = frozenset({"REJECTED", "CANCELED"})
_DOCUMENT_ID = re.compile(r"[0-9A-F]{128}")  # as uploads return them
# The columns the tool puts first in every results sheet, in this order. When the input
# is itself a results sheet (the fix-and-resubmit loop), its columns of these names are
# replaced.
RESULT_COLUMNS = (
    "result",
    "nextStep",
    "errors",
    "requestId",
    "requestStatus",
    "feedback",
    "daysUntilRejection",
    "note",
    "warnings",
    "numbers",
    "documentIds",
    "submittedAt",
    "updatedAt",
    "earlierRequests",
)


class Result(StrEnum):
    """What this run did with a row."""

    SUBMITTED = "SUBMITTED"
    ALREADY_SUBMITTED = "ALREADY_SUBMITTED"
    UPDATED = "UPDATED"
    CANCELLED = "CANCELLED"
    VALID = "VALID"
    DUPLICATE = "DUPLICATE"
    INVALID = "INVALID"
    CONFLICT = "CONFLICT"
    UPDATE_REFUSED = "UPDATE_REFUSED"
    CANCEL_REFUSED = "CANCEL_REFUSED"
    DEFERRED = "DEFERRED"
    FAILED = "FAILED"
    UNCERTAIN = "UNCERTAIN"


class Need(StrEnum):
    """Who has to do something for a row next; its colour in the results sheet. A run or
    `status` exits 1 while any row needs YOU or LATER."""

    YOU = "you"  # a person must act: fix, answer, decide
    LATER = "later"  # run the file again: a later run does the rest
    INFOBIP = "infobip"  # Infobip is working on it: nothing to do but follow it
    READY = "ready"  # checked and sendable (validate)
    DONE = "done"  # finished
    NOTHING = "nothing"  # a duplicate or a cancelled request: nothing to do

    @property
    def colour(self) -> str:
        return _COLOURS[self]

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def ok(self) -> bool:
        """Whether a row with this need lets the command exit 0."""
        return self not in (Need.YOU, Need.LATER)


_COLOURS = {
    Need.YOU: "FFC7CE",  # red
    Need.LATER: "FFEB9C",  # amber
    Need.INFOBIP: "DDEBF7",  # blue
    Need.READY: "C6EFCE",  # green
    Need.DONE: "C6EFCE",
    Need.NOTHING: "D9D9D9",  # grey
}
_LABELS = {
    Need.YOU: "you: fix, answer or decide",
    Need.LATER: "a later run: run the file again",
    Need.INFOBIP: "Infobip: it is reviewing, nothing to do",
    Need.READY: "ready: run sends it",
    Need.DONE: "done",
    Need.NOTHING: "nothing (duplicates, cancelled)",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong (or worth a warning) with a row, and the column it is in: the
    header as the sheet writes it, or the requirement key of a column the sheet lacks.
    `label` is how the message names the column when it is not the header alone."""

    text: str
    column: str | None = None
    label: str | None = None

    def __str__(self) -> str:
        name = self.label or self.column
        return f"{name}: {self.text}" if name else self.text


class Progress(Protocol):
    """What the run tells its caller as it goes; the CLI draws or logs it."""

    def start(self, stage: str, total: int) -> None: ...

    def advance(self, stage: str, count: int = 1) -> None: ...

    def outcome(self, candidate: Candidate, outcome: Outcome) -> None: ...


class Silent:
    def start(self, stage: str, total: int) -> None:
        pass

    def advance(self, stage: str, count: int = 1) -> None:
        pass

    def outcome(self, candidate: Candidate, outcome: Outcome) -> None:
        pass


@dataclass(slots=True)
class Outcome:
    """What became of one row and where its request stands: the result columns."""

    result: Result | None = None
    key: str = ""  # the row's key in the journal, once known
    request_id: str = ""
    request_status: str = ""
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    document_ids: list[str] = field(default_factory=list)
    submitted_at: str = ""
    # What Infobip last said of the request (status command, webhooks, a later run).
    feedback: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    numbers: str = ""
    days_until_rejection: int | None = None
    days_estimated: bool = False  # counted from when the change request was first seen
    updated_at: str = ""
    earlier: list[str] = field(default_factory=list)  # the requests it made before
    stopped: bool = False  # not sent because the run stopped (not refused by Infobip)
    # Cells the results sheet shows changed (an action done, an edit Infobip did not
    # take), by header, with why: {header: (new text, note)}.
    cells: dict[str, tuple[str, str]] = field(default_factory=dict)
    same_as: str = ""  # for a DUPLICATE: the row it repeats
    replaces: str = ""  # resubmitted: the requestId of the REJECTED or CANCELED request
    ready: bool = False  # passed every check: to be sent, or followed up
    # Not checked: its requirements could not be read (a proxy's page, an answer off the
    # spec), which a later run may well read; nothing in the row is known to be wrong.
    unchecked: bool = False
    # `result` is an earlier run's (read back by `status`): where the request stands now
    # decides what is next, not what that run did.
    earlier_result: bool = False
    resubmit_asked: bool = False  # its row asks to resubmit (read back by `status`)
    deferred_by: str = ""  # for a DEFERRED row: the country whose cap holds it

    def known(self, entry: Entry, *, now: datetime | None = None) -> None:
        """Show what the journal knows of the row's request."""
        self.request_id = entry.request_id or self.request_id
        self.request_status = entry.request_status or self.request_status
        self.submitted_at = shown(entry.sent_at) or self.submitted_at
        self.feedback = list(entry.feedback or [])
        self.note = entry.note or ""
        self.numbers = numbers_text(entry.numbers, (entry.body or {}).get("quantity"))
        self.days_until_rejection, self.days_estimated = days_left(entry, now=now)
        self.updated_at = shown(entry.checked_at)
        self.document_ids = self.document_ids or document_ids(entry.body)

    def next_step(self) -> tuple[Need, str]:
        """Who acts next and what to do, in plain words. What this run found wrong with
        the row comes first (a problem to fix, a row held back); otherwise where its
        request stands decides (a result an earlier run wrote never does)."""
        if self.earlier_result and self.request_id:
            return _by_status(self)
        if self.result in _SAID:
            return _SAID[self.result]
        decide = _DECIDED.get(self.result) if self.result is not None else None
        if decide is not None:
            need, text = decide(self)
            if need is not None:
                return need, text
        return _by_status(self)

    @property
    def need(self) -> Need:
        return self.next_step()[0]

    def columns(self) -> dict[str, Any]:
        """The result columns' values (texts, a whole number for the days left)."""
        need, step = self.next_step()
        return {
            "result": str(self.result or ""),
            "nextStep": step,
            "errors": "\n".join(map(str, self.errors)),
            "requestId": self.request_id,
            "requestStatus": self.request_status,
            "feedback": feedback_text(self.feedback),
            "daysUntilRejection": self.days_until_rejection,
            "note": self.note,
            "warnings": "\n".join(map(str, self.warnings)),
            "numbers": self.numbers,
            "documentIds": "\n".join(self.document_ids),
            "submittedAt": self.submitted_at,
            "updatedAt": self.updated_at,
            "earlierRequests": "\n".join(self.earlier),
        }


def _duplicate(o: Outcome) -> tuple[Need, str]:
    return Need.NOTHING, f"Nothing: {o.same_as or 'an earlier row'} asks for the same."


def _valid(o: Outcome) -> tuple[Need | None, str]:
    if o.request_id:  # a followed-up row a run would act on: the request says more
        return None, ""
    return Need.READY, "Ready: resource-batch run sends it."


def _deferred(o: Outcome) -> tuple[Need, str]:
    where = f" in {o.deferred_by}" if o.deferred_by else ""
    return Need.LATER, (
        f"Nothing to fix: Infobip allows only a few pending alphanumeric requests per country,"
        f" and{where} they are taken. Run the file again once one of them is decided;"
        " the run sends it then."
    )


def _invalid(o: Outcome) -> tuple[Need, str]:
    if o.unchecked and len(o.errors) == 1:
        return Need.LATER, (
            "Not checked, not sent: Infobip's requirements for it could not be read (see"
            " errors). Run the file again later; if it keeps happening, ask your IT about it."
        )
    return Need.YOU, "Fix the marked cells (see errors), then validate or run the file again."


def _failed(o: Outcome) -> tuple[Need, str]:
    if o.stopped:
        return Need.LATER, "Not sent because the run stopped: run the file again."
    return Need.YOU, "Infobip refused it (see errors): fix the row, then run the file again."


# What a row needs after this run, by result, where the result alone says it.
_SAID: dict[Result, tuple[Need, str]] = {
    Result.CONFLICT: (
        Need.YOU,
        "This reference was sent before with other content: to ask for something new, give"
        " the row a new reference; else put back what was sent.",
    ),
    Result.UNCERTAIN: (
        Need.YOU,
        "Sent, but Infobip's answer was lost: check in Infobip's portal whether it arrived."
        " Each run looks for it again; --resubmit-uncertain sends it if it is still missing.",
    ),
    Result.UPDATE_REFUSED: (
        Need.YOU,
        "Your edit was not sent (see errors); the marked cells show what Infobip holds."
        " Edit again only when Infobip asks for changes.",
    ),
    Result.CANCEL_REFUSED: (
        Need.YOU,
        "Infobip did not cancel it (see errors); the action was cleared.",
    ),
}
# ... and where it depends on the row (None: the request decides).
_DECIDED: dict[Result, Callable[[Outcome], tuple[Need | None, str]]] = {
    Result.INVALID: _invalid,
    Result.DUPLICATE: _duplicate,
    Result.VALID: _valid,
    Result.DEFERRED: _deferred,
    Result.FAILED: _failed,
}


def _by_status(o: Outcome) -> tuple[Need, str]:
    """What a submitted request needs, from its status."""
    status = o.request_status
    if status in ASKING:
        return Need.YOU, "Infobip asks for changes (see feedback): " + _answer_by(o)
    if status in REDOABLE and o.resubmit_asked:
        return Need.LATER, (
            "Resubmit asked, not sent yet (held back last time): run the file again to send it."
        )
    if status == "REJECTED":
        return Need.YOU, (
            "Infobip rejected it (see note). To ask again, fix the row and put resubmit in"
            " the action column; else delete the row."
        )
    if status == "CANCELED":
        return Need.NOTHING, "Cancelled. To ask again, put resubmit in the action column."
    if status == "CANCEL_REQUESTED":
        return Need.INFOBIP, "Being cancelled: nothing to do."
    if status == "COMPLETED":
        return Need.DONE, "Done." + (" See numbers." if o.numbers else "")
    if not o.request_id:
        return Need.LATER, "Not sent yet: run the file again."
    if status == "IN_PROGRESS":
        return Need.INFOBIP, "Nothing to do: Infobip approved it and is setting it up."
    return Need.INFOBIP, (
        "Nothing to do: Infobip is reviewing it. Run resource-batch status to follow it."
    )


def _answer_by(o: Outcome) -> str:
    fix = "fix the marked cells and run this sheet again"
    days = o.days_until_rejection
    if days is None:
        return f"{fix} within {DAYS_TO_ANSWER} days of the request, or Infobip rejects it."
    if o.days_estimated:
        return (
            f"{fix} within about {days} days (estimated from when the request was first seen"
            " asking; Infobip has sent no reminder), or Infobip rejects it."
        )
    return f"{fix} within {days} days (Infobip's reminder), or Infobip rejects it."


def days_left(entry: Entry, *, now: datetime | None = None) -> tuple[int | None, bool]:
    """Days until Infobip rejects a request it asked to change, and whether that is an
    estimate: Infobip's last reminder when one came, else counted from when the request
    was first seen asking. None when it is not asking."""
    if str(entry.request_status or "") not in ASKING:
        return None, False
    if entry.days_until_rejection is not None:
        return entry.days_until_rejection, False
    if entry.asked_at is None:
        return None, False
    waited = ((now or datetime.now(UTC)) - entry.asked_at).days
    return max(DAYS_TO_ANSWER - waited, 0), True


def document_ids(body: dict[str, Any] | None) -> list[str]:
    """The documentIds a request was sent with, "key: id, id" per requirement."""
    found = []
    for item in (body or {}).get("requirements") or []:
        values = item.get("value")
        values = values if isinstance(values, list) else [values]
        ids = [str(v) for v in values if isinstance(v, str) and _DOCUMENT_ID.fullmatch(v)]
        if ids:
            found.append(f"{item.get('key')}: {', '.join(ids)}")
    return found


def feedback_text(feedback: list[dict[str, Any]] | None) -> str:
    """Infobip's requirementsFeedback, one "key: CODE: text" line each."""
    return "\n".join(map(feedback_line, feedback or []))


def feedback_line(item: dict[str, Any]) -> str:
    return f"{item.get('key', '?')}: {item.get('code', '?')}: {item.get('feedback', '')}"


def numbers_text(numbers: list[dict[str, Any]] | None, ordered: Any) -> str:
    """The numbers bought, one a line, after "3 of 5" when fewer came than ordered."""
    if not numbers:
        return ""
    lines = [str(item.get("number", "?")) for item in numbers]
    if isinstance(ordered, int) and len(lines) < ordered:
        lines.insert(0, f"{len(lines)} of {ordered}")
    return "\n".join(lines)


def shown(when: datetime | None) -> str:
    return "" if when is None else when.astimezone(UTC).isoformat(timespec="seconds")
