"""What can go wrong, as exceptions that carry what a user needs to fix it.

    BatchError
    ├── ConfigError        missing credentials, bad option values (exit 2)
    ├── InputError         an unreadable or malformed input file (exit 2): file, sheet, row, column
    └── ApiError           Infobip answered with an error or not at all: status, code, excerpt
        └── AuthError      401/403: credentials refused (exit 3)

A problem with one row (a missing value, a bad document path) is not an exception: it
is recorded on the row and the run goes on.
"""

from __future__ import annotations


class BatchError(Exception):
    """Base of every error the batch job reports to its user."""


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
    """Infobip answered with an error, or the call's outcome is unknown (status None)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        self.status, self.code = status, code
        super().__init__(message)


class AuthError(ApiError):
    """Infobip refused the credentials (401) or their scope (403)."""
