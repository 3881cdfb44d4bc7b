"""What becomes of a row, and what a run tells its caller as it goes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from batch.rows import Candidate

# Results, and whether a row with that result lets the run exit 0.
RESULTS = {
    "SUBMITTED": True,
    "ALREADY_SUBMITTED": True,
    "VALID": True,
    "DUPLICATE": True,
    "INVALID": False,
    "CONFLICT": False,
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

    def columns(self) -> dict[str, str]:
        return {
            "result": self.result,
            "requestId": self.request_id,
            "requestStatus": self.request_status,
            "errors": "\n".join(self.errors),
            "warnings": "\n".join(self.warnings),
            "documentIds": "\n".join(self.document_ids),
            "submittedAt": self.submitted_at,
        }
