"""What can go wrong, as exceptions that carry what a user needs to fix it.

    BatchError
    ├── ConfigError        missing credentials, bad option values (exit 2)
    ├── InputError         an unreadable or malformed input file (exit 2): file, sheet, row, column
    ├── JournalError       the journal cannot be opened, read or written (exit 2)
    │   └── DiskFull       ... for lack of disk space or quota, at any step
    ├── Locked             another run holds the state folder (exit 4)
    ├── Unavailable        `template`: Infobip does not offer what was asked (exit 1)
    └── ApiError           Infobip could not be reached, or answered so (exit 3): endpoint, status
        ├── AuthError      401/403: credentials refused (exit 3)
        ├── Refusal        a 4xx answer: Infobip's errorCode and texts, or a proxy's page
        ├── BadAnswer      an answer that is not what the spec promises (a page of HTML, a
        │                  redirect, no documentId, too big)
        └── SubmitUnknown  a submit that may or may not have been stored

Each kind has one meaning for a row, whatever the call:

- a lookup refused or answered off the spec: the rows that needed it are INVALID, with
  what came back (remembered for a day only when it is Infobip's own error);
- an upload or a submit refused (or an upload answered off the spec): those rows are
  FAILED, nothing was stored;
- a submit with no usable answer (SubmitUnknown): UNCERTAIN until Infobip's list says;
- Infobip unreachable, or the key refused: the run stops, what was done is written.

A problem with one row (a missing value, a bad document path) is not an exception: it
is recorded on the row and the run goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Self


class BatchError(Exception):
    """Base of every error the batch job reports to its user."""

    def about(self, account: str) -> Self:
        """This error, its message naming the config file's account it concerns (as
        is, for the default account: "")."""
        prefix = f"account {account}: "
        if account and not str(self).startswith(prefix):
            self.args = (prefix + str(self),)
        return self


class ConfigError(BatchError):
    """The run cannot start: credentials or options are missing or wrong."""


class InputError(BatchError):
    """An input file that cannot be read as a request sheet.

    The message names the file, and where known the sheet, row and column, so that
    `str(error)` alone tells the user where to look.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file, self.sheet, self.row, self.column = file, sheet, row, column
        where = [file]
        if sheet is not None:
            where.append(f"sheet {sheet!r}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}")


class ApiError(BatchError):
    """Infobip could not be reached, or answered with an error (status None: no answer)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        self.status, self.code = status, code
        super().__init__(message)


class AuthError(ApiError):
    """Infobip refused the credentials (401) or their scope (403)."""


class Refusal(ApiError):
    """A call answered with a 4xx error: Infobip's errorCode, description and violations
    when the body is Infobip's JSON error (`infobip`), else the status and a short,
    redacted excerpt of whatever answered (a proxy's page)."""

    def __init__(
        self,
        status: int,
        code: str,
        description: str = "",
        violations: Sequence[tuple[str, str]] = (),
        *,
        infobip: bool = True,
    ) -> None:
        self.description = description
        self.violations = tuple(violations)
        self.infobip = infobip
        text = f"{code}: {description}" if description else code
        details = "; ".join(f"{prop}: {why}" if prop else why for prop, why in self.violations)
        super().__init__(f"{text} ({details})" if details else text, status=status, code=code)


class BadAnswer(ApiError):
    """An answer that is not what Infobip's spec promises for the call: the message names
    the call, the status and a short, redacted excerpt."""


class SubmitUnknown(ApiError):
    """A submit whose outcome is unknown: it may or may not have been stored."""


class JournalError(BatchError):
    """The journal cannot be opened or read, or a state change would break its promises."""


class DiskFull(JournalError):
    """A file (the journal, the lock, a results sheet) could not be written for lack of
    disk space or quota.

    Everything committed before stays; the change that failed was not made.
    """

    def __init__(self, message: str, *, path: Path) -> None:
        self.path = path
        super().__init__(message)

    @classmethod
    def cannot(cls, action: str, path: Path, detail: str, *, then: str = "") -> DiskFull:
        """The one wording of a full disk, whatever was being written: failing to `action`
        (say "write journal") `path`, for `detail` (the OS's or SQLite's words), with
        what that means for the user's work (`then`), if anything."""
        message = (
            f"out of space: cannot {action} {path} ({detail}): the disk holding {path.parent}"
            " is full; free some space there, then run again"
        )
        return cls(f"{message} ({then})" if then else message, path=path)


class Locked(BatchError):
    """Another run holds the state directory: two runs at once could submit a row twice."""

    def __init__(self, state_dir: Path, pid: int | None) -> None:
        self.state_dir, self.pid = state_dir, pid
        who = "another resource-batch run" + ("" if pid is None else f" (pid {pid})")
        super().__init__(f"{who} is using {state_dir}; wait for it to finish, then run again")


class Unavailable(BatchError):
    """`template`: Infobip does not offer the resource for the type, country and options
    asked."""
