"""What becomes of a row, and what a run tells its caller as it goes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from batch.journal import Entry
    from batch.rows import Candidate

# Results, and whether a row with that result lets the run exit 0.
RESULTS = {
    "SUBMITTED": True,
    "ALREADY_SUBMITTED": True,
    "UPDATED": True,
    "CANCELLED": True,
    "VALID": True,
    "DUPLICATE": True,
    "INVALID": False,
    "CONFLICT": False,
    "UPDATE_REFUSED": False,
    "CANCEL_REFUSED": False,
    "DEFERRED": False,
    "FAILED": False,
    "UNCERTAIN": False,
}


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
    """What became of one row: the values of the result columns."""

    result: str = ""
    key: str = ""  # the row's key in the journal, once known
    request_id: str = ""
    request_status: str = ""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    document_ids: list[str] = field(default_factory=list)
    submitted_at: str = ""
    # What Infobip last said of the request (status command, webhooks, a later run).
    feedback: str = ""
    note: str = ""
    numbers: str = ""
    days_until_rejection: str = ""
    updated_at: str = ""

    def columns(self) -> dict[str, str]:
        return {
            "result": self.result,
            "requestId": self.request_id,
            "requestStatus": self.request_status,
            "errors": "\n".join(self.errors),
            "warnings": "\n".join(self.warnings),
            "documentIds": "\n".join(self.document_ids),
            "submittedAt": self.submitted_at,
            "feedback": self.feedback,
            "note": self.note,
            "numbers": self.numbers,
            "daysUntilRejection": self.days_until_rejection,
            "updatedAt": self.updated_at,
        }

    def known(self, entry: Entry) -> None:
        """Show what the journal knows of the row's request."""
        self.request_id = entry.request_id or self.request_id
        self.request_status = entry.request_status or self.request_status
        self.submitted_at = shown(entry.sent_at) or self.submitted_at
        self.feedback = feedback_text(entry.feedback)
        self.note = entry.note or ""
        self.numbers = numbers_text(entry.numbers, (entry.body or {}).get("quantity"))
        days = entry.days_until_rejection
        self.days_until_rejection = "" if days is None or _settled(entry) else str(days)
        self.updated_at = shown(entry.checked_at)


def _settled(entry: Entry) -> bool:
    """A reminder's countdown means nothing once the request moved on."""
    return not str(entry.request_status or "").startswith("UPDATE_REQUESTED")


def feedback_text(feedback: list[dict[str, Any]] | None) -> str:
    """Infobip's requirementsFeedback, one "key: CODE: text" line each."""
    return "\n".join(
        f"{item.get('key', '?')}: {item.get('code', '?')}: {item.get('feedback', '')}"
        for item in feedback or []
    )


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
