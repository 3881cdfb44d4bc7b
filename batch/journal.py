"""The journal: a durable record of every request row, so that a rerun never submits a row
twice and never loses one.

One SQLite file per Infobip account in the state directory. Each state change is its own
committed transaction, so a row is on disk as SUBMITTING before its POST leaves: after a
crash, such a row is looked up in Infobip's list rather than sent again.

    VALIDATED ──> SUBMITTING ──> SUBMITTED
        ^             │    ^         (a second, different requestId is refused)
        │             v    │
        └── DEFERRED / FAILED <── UNCERTAIN (no answer: resolve before resending)

`state_lock` keeps two cron runs from working on one state directory at once.

A journal that is lost must not pass for a new one, or every row is submitted again.
So when the journal is made, a marker `journal-<account>.made` is written next to it
(atomically; a journal made before markers gets one when next opened). `Journal.open`
then refuses, with a JournalError saying to restore it or pass --fresh-journal:
a journal file of 0 bytes (marker or not), a missing journal whose marker is there,
a bare SQLite file (no tables) whose marker is there, and a damaged file (SQLite's
quick_check runs on every open). `fresh=True` renames such a file with a timestamp
suffix (keeping it), logs a warning and starts a new journal; a good journal is never
set aside. The marker cannot tell a stale backup from the latest journal.

Lack of space anywhere here (journal, lock file, marker) is a `DiskFull` whose message
starts "out of space"; `out_of_space(exc)` recognises it, or its OSError or SQLite cause.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import sqlite3
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

import filelock

from batch.errors import DiskFull, JournalError, Locked

logger = logging.getLogger(__name__)


class State(StrEnum):
    """Where a request row stands; the values are the text stored in the journal."""

    VALIDATED = "VALIDATED"  # checked, not sent (or to be sent again)
    SUBMITTING = "SUBMITTING"  # on disk before its POST leaves: it may exist at Infobip
    SUBMITTED = "SUBMITTED"  # Infobip's requestId is known
    DEFERRED = "DEFERRED"  # not accepted this time: send it again later
    FAILED = "FAILED"  # refused by Infobip, or could not be sent
    UNCERTAIN = "UNCERTAIN"  # a POST got no usable answer: resolve it before resending


# The states a row may be in before each change: a row that may already exist at Infobip
# (SUBMITTING, UNCERTAIN, SUBMITTED) is never sent again without being resolved first.
_OPEN = frozenset({State.VALIDATED, State.DEFERRED, State.FAILED})
_ALLOWED_FROM = {
    State.SUBMITTING: _OPEN,
    State.SUBMITTED: frozenset({State.SUBMITTING, State.UNCERTAIN, State.SUBMITTED}),
    State.DEFERRED: frozenset(State) - {State.SUBMITTED},
    State.FAILED: frozenset(State) - {State.SUBMITTED},
    State.UNCERTAIN: frozenset({State.SUBMITTING, State.UNCERTAIN}),
}
_ACCOUNT = re.compile(r"[0-9a-f]{1,64}")
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# Windows opens files in text mode unless told otherwise; elsewhere the flag does not exist.
_BINARY = getattr(os, "O_BINARY", 0)
# How far ahead of this clock a status's time may be and still be believed (see observe).
CLOCK_SKEW = timedelta(minutes=5)
# Under SQLite's oldest default limit of 999 host parameters per statement.
_CHUNK = 900

# Migration steps: entry i takes the schema from version i to i + 1 (PRAGMA user_version).
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE requests (
            key TEXT PRIMARY KEY,
            content TEXT NOT NULL,
            state TEXT NOT NULL,
            type TEXT,
            country TEXT,
            body TEXT,
            request_id TEXT,
            request_status TEXT,
            code TEXT,
            message TEXT,
            source TEXT,
            sent_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX requests_state ON requests (state)",
        """CREATE TABLE documents (
            sha256 TEXT PRIMARY KEY,
            document_id TEXT NOT NULL,
            name TEXT,
            uploaded_at TEXT NOT NULL
        )""",
    ),
    (  # 2: what Infobip says of each request (status command, webhooks)
        "ALTER TABLE requests ADD COLUMN status_at TEXT",  # when the status held was true
        "ALTER TABLE requests ADD COLUMN checked_at TEXT",  # when it was last refreshed
        "ALTER TABLE requests ADD COLUMN feedback TEXT",  # JSON requirementsFeedback
        "ALTER TABLE requests ADD COLUMN note TEXT",
        "ALTER TABLE requests ADD COLUMN numbers TEXT",  # JSON ProcuredNumber list
        "ALTER TABLE requests ADD COLUMN days_until_rejection INTEGER",
        "CREATE INDEX requests_request_id ON requests (request_id)",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            request_id TEXT NOT NULL,
            event TEXT NOT NULL,
            body TEXT NOT NULL,
            received_at TEXT NOT NULL,
            UNIQUE (request_id, event, body)
        )""",
    ),
    (  # 3: every content a request has had, so that an updated row is still known
        """CREATE TABLE versions (
            key TEXT NOT NULL,
            content TEXT NOT NULL,
            PRIMARY KEY (key, content)
        )""",
    ),
    (  # 4: when Infobip was first seen asking for changes; requests a row sent again
        "ALTER TABLE requests ADD COLUMN asked_at TEXT",
        """CREATE TABLE earlier_requests (
            request_id TEXT PRIMARY KEY,
            key TEXT NOT NULL,
            status TEXT,
            replaced_at TEXT NOT NULL
        )""",
        "CREATE INDEX earlier_requests_key ON earlier_requests (key)",
    ),
)
FINAL = frozenset({"COMPLETED", "REJECTED", "CANCELED"})
_ASKING = frozenset({"UPDATE_REQUESTED", "UPDATE_REQUESTED_BY_INTERNAL_REVIEWER"})
SCHEMA_VERSION = len(_MIGRATIONS)

_COLUMNS = (
    "key, content, state, type, country, body, request_id, request_status, code, message,"
    " source, sent_at, created_at, updated_at, status_at, checked_at, feedback, note, numbers,"
    " days_until_rejection, asked_at"
)
_AFTER_CONTENT = _COLUMNS.removeprefix("key, content, ")
_UPSERT_VALIDATED = f"""
    INSERT INTO requests (key, content, state, type, country, source, created_at, updated_at)
    VALUES (?, ?, '{State.VALIDATED}', ?, ?, ?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET
        content = excluded.content, type = excluded.type, country = excluded.country,
        source = excluded.source, updated_at = excluded.updated_at
    WHERE requests.state IN ({", ".join(f"'{state}'" for state in sorted(_OPEN))})
"""


def out_of_space(error: BaseException) -> bool:
    """Whether `error`, or an error it was raised from, is a lack of disk space or quota:
    a `DiskFull`, an OSError ENOSPC or EDQUOT, or SQLite's "database or disk is full"."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, DiskFull) or (isinstance(seen, OSError) and seen.errno in _FULL_ERRNOS):
            return True
        if getattr(seen, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@dataclass(frozen=True, slots=True)
class Entry:
    """One request row as the journal knows it."""

    key: str
    content: str
    state: State
    type: str | None
    country: str | None
    body: dict[str, Any] | None
    request_id: str | None
    request_status: str | None
    code: str | None
    message: str | None
    source: str | None
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime
    status_at: datetime | None = None
    checked_at: datetime | None = None
    feedback: list[dict[str, Any]] | None = None
    note: str | None = None
    numbers: list[dict[str, Any]] | None = None
    days_until_rejection: int | None = None
    asked_at: datetime | None = None  # when the change request held was first seen


class Journal:
    """The journal of one Infobip account; open it with `Journal.open`.

    Use it from one thread: the connection is not shared.
    """

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    @classmethod
    def open(cls, state_dir: Path, account: str, *, fresh: bool = False) -> Journal:
        """Open the account's journal in `state_dir`, creating both if missing (and no
        marker says the account had one).

        The folder is created owner-only (0o700) and the file kept owner-only (0o600):
        request bodies name customers.

        Args:
            state_dir: the folder holding per-account state.
            account: the account fingerprint (`Settings.account`), never the API key.
            fresh: when the journal is empty, damaged or missing though expected, set it
                aside (renamed with a timestamp, never deleted) and start a new one,
                logging a warning, instead of raising. A good journal is opened as usual.

        Raises:
            ValueError: `account` is not a hex fingerprint.
            DiskFull: there is no space to create or upgrade it.
            JournalError: the file is empty, missing though expected, damaged or not a
                journal (unless `fresh`), is from a newer resource-batch, or cannot be
                opened.
        """
        path = journal_path(state_dir, account)
        with _private_umask():
            _make_private_dir(state_dir, what="journal")
            try:
                connection = _connect(path, expected=_marker(path).exists())
            except _Unusable as exc:
                if not fresh:
                    raise
                _set_aside(path, exc.found)
                connection = _connect(path, expected=False)
            try:
                _make_private(path)
                _mark(path)
            except BaseException:
                connection.close()
                raise
        return cls(path, connection)

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file; a closed journal cannot be used again. Closing twice is harmless."""
        self._db.close()

    def entries(self, keys: Iterable[str]) -> dict[str, Entry]:
        """The entries for `keys` that the journal knows, by key; unknown keys are absent."""
        return {entry.key: entry for entry in self._select_in("key", keys)}

    def get(self, key: str) -> Entry | None:
        """The entry for `key`, or None when the journal has never seen it."""
        with self._errors():
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM requests WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else _entry(row)

    def validated(self, rows: Iterable[tuple[str, str, str | None, str | None, str]]) -> None:
        """Record rows about to be sent, in one transaction.

        New keys become VALIDATED. Known keys in VALIDATED, DEFERRED or FAILED get the new
        content, type, country and source, keeping their state; rows that may exist at
        Infobip (SUBMITTING, SUBMITTED, UNCERTAIN) are left exactly as they are.

        Args:
            rows: (key, content, type, country, source) per row.
        """
        now = _now()
        with self._transaction() as db:
            db.executemany(
                _UPSERT_VALIDATED,
                (
                    (key, content, kind, country, source, now, now)
                    for key, content, kind, country, source in rows
                ),
            )

    def submitting(self, key: str, body: dict[str, Any]) -> None:
        """Record that `body` is about to be POSTed for `key`; on disk when this returns.

        Raises:
            JournalError: the key is unknown, or its row may already exist at Infobip.
        """
        text = json.dumps(body, ensure_ascii=False, sort_keys=True)
        self._change(key, State.SUBMITTING, body=text, sent_at=_now(), code=None, message=None)

    def submitted(
        self, key: str, request_id: str, status: str | None = "PENDING", *, why: str | None = None
    ) -> None:
        """Record Infobip's requestId (and its status) for a sent row; `why`, when it was
        not the submit's answer that gave it (found in Infobip's list).

        Raises:
            JournalError: the key is unknown, was never sent, or already has a different
                requestId (which would mean it was submitted twice).
        """
        self._change(
            key,
            State.SUBMITTED,
            request_id=request_id,
            request_status=status,
            code=None,
            message=why,
        )

    def deferred(self, key: str, code: str | None, message: str) -> None:
        """Record that the row was not accepted this time and should be sent again later.

        Raises:
            JournalError: the key is unknown or already SUBMITTED.
        """
        self._change(key, State.DEFERRED, code=code, message=message)

    def failed(self, key: str, code: str | None, message: str) -> None:
        """Record that Infobip refused the row, or it could not be sent.

        Raises:
            JournalError: the key is unknown or already SUBMITTED.
        """
        self._change(key, State.FAILED, code=code, message=message)

    def uncertain(self, key: str, reason: str) -> None:
        """Record that a POST got no usable answer: the request may exist at Infobip.

        Raises:
            JournalError: the key is unknown, or was not being sent.
        """
        self._change(key, State.UNCERTAIN, code=None, message=reason)

    def unresolved(self) -> list[Entry]:
        """Rows that may exist at Infobip without our knowing their requestId (SUBMITTING or
        UNCERTAIN), oldest `sent_at` first: to be matched in Infobip's list before resending."""
        query = (
            f"SELECT {_COLUMNS} FROM requests WHERE state IN (?, ?)"
            " ORDER BY sent_at IS NULL, sent_at, key"
        )
        with self._errors():
            rows = self._db.execute(query, (State.SUBMITTING, State.UNCERTAIN))
            return [_entry(row) for row in rows]

    def tracked(self) -> list[Entry]:
        """Submitted rows whose request is not final yet, oldest first."""
        query = (
            f"SELECT {_COLUMNS} FROM requests WHERE request_id IS NOT NULL AND"
            " (request_status IS NULL OR request_status NOT IN ('COMPLETED', 'REJECTED',"
            " 'CANCELED')) ORDER BY sent_at, key"
        )
        with self._errors():
            return [_entry(row) for row in self._db.execute(query)]

    def by_request_id(self, request_ids: Iterable[str]) -> dict[str, Entry]:
        """The entries holding these requestIds, by requestId; unknown ids are absent."""
        return {str(e.request_id): e for e in self._select_in("request_id", request_ids)}

    def _select_in(self, column: str, values: Iterable[str]) -> Iterator[Entry]:
        """The entries whose `column` is one of `values`, asked a chunk at a time (SQLite
        limits the parameters of one statement)."""
        wanted = list(dict.fromkeys(values))
        with self._errors():
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                marks = ", ".join("?" * len(chunk))
                query = f"SELECT {_COLUMNS} FROM requests WHERE {column} IN ({marks})"
                rows = self._db.execute(query, chunk).fetchall()
                yield from map(_entry, rows)

    def observe(
        self,
        request_id: str,
        status: str,
        *,
        at: datetime,
        feedback: list[dict[str, Any]] | None = None,
        note: str | None = None,
        numbers: list[dict[str, Any]] | None = None,
    ) -> bool:
        """Record what Infobip says of a request, as it was at `at`. An observation older
        than the one held is ignored (webhooks come late and out of order), unless the one
        held claims a time beyond this clock's now plus `CLOCK_SKEW` (a clock ahead, a
        bad receivedAt): such a status would otherwise never be replaced. Returns whether
        it was recorded; False too for a requestId the journal does not know."""
        now = _now()
        unbelievable = _stamp(datetime.now(UTC) + CLOCK_SKEW)
        with self._transaction() as db:
            asking = status in _ASKING
            cursor = db.execute(
                "UPDATE requests SET days_until_rejection = CASE WHEN request_status IS ?"
                " THEN days_until_rejection END,"  # a new status starts a new countdown
                # First seen asking for changes: the start of Infobip's 30 days.
                " asked_at = CASE WHEN NOT ? THEN NULL WHEN request_status IS ?"
                " THEN COALESCE(asked_at, ?) ELSE ? END,"
                " request_status = ?, status_at = ?, checked_at = ?,"
                " feedback = ?, note = ?, numbers = ?, updated_at = ?"
                " WHERE request_id = ? AND (status_at IS NULL OR status_at <= ? OR status_at > ?)",
                (
                    status,
                    asking,
                    status,
                    _stamp(at),
                    _stamp(at),
                    status,
                    _stamp(at),
                    now,
                    None if feedback is None else json.dumps(feedback, ensure_ascii=False),
                    note,
                    None if numbers is None else json.dumps(numbers, ensure_ascii=False),
                    now,
                    request_id,
                    _stamp(at),
                    unbelievable,
                ),
            )
            return cursor.rowcount > 0

    def remind(self, request_id: str, days_until_rejection: int) -> bool:
        """Record Infobip's reminder that a request is rejected in so many days unless
        updated. Returns False for a requestId the journal does not know."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE requests SET days_until_rejection = ?, updated_at = ? WHERE request_id = ?",
                (days_until_rejection, _now(), request_id),
            )
            return cursor.rowcount > 0

    def event(self, request_id: str, kind: str, body: dict[str, Any]) -> bool:
        """Keep a webhook event as received; False when the same one was kept before."""
        text = json.dumps(body, ensure_ascii=False, sort_keys=True)
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO events (request_id, event, body, received_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (request_id, kind, text, _now()),
            )
            return cursor.rowcount > 0

    def updated(self, key: str, content: str, body: dict[str, Any], status: str | None) -> None:
        """Record that the request of `key` was PATCHed with `body`, whose content is now
        `content`. The row remains known by every content it has had: a later run of the
        original sheet, or of the corrected one without its requestId, finds it submitted.
        A row known by what it asked (a `sha256:` key) gets its new content as a second key
        for the same request; a referenced row keeps its key and takes the new content."""
        now, text = _now(), json.dumps(body, ensure_ascii=False, sort_keys=True)
        with self._transaction() as db:
            row = db.execute(
                "SELECT content FROM requests WHERE key = ? AND state = ?", (key, State.SUBMITTED)
            ).fetchone()
            if row is None:
                return
            db.executemany(
                "INSERT INTO versions (key, content) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(key, row[0]), (key, content)],
            )
            changes = "body = ?, request_status = ?, status_at = ?, feedback = NULL,"
            changes += " days_until_rejection = NULL, asked_at = NULL, updated_at = ?"
            if key.startswith("sha256:"):
                db.execute(
                    f"INSERT INTO requests ({_COLUMNS}) SELECT ?, ?, {_AFTER_CONTENT}"
                    " FROM requests WHERE key = ? ON CONFLICT DO NOTHING",
                    (f"sha256:{content}", content, key),
                )
            else:
                db.execute("UPDATE requests SET content = ? WHERE key = ?", (content, key))
            db.execute(
                f"UPDATE requests SET {changes} WHERE key IN (?, ?)",
                (text, status, now, now, key, f"sha256:{content}"),
            )

    def had(self, key: str, content: str) -> bool:
        """Whether the request of `key` has had `content` (before an update, say)."""
        with self._errors():
            row = self._db.execute(
                "SELECT 1 FROM versions WHERE key = ? AND content = ?", (key, content)
            ).fetchone()
        return row is not None

    def request_ids(self) -> set[str]:
        """Every requestId the journal has given a row, earlier ones included: a request
        found in Infobip's list with one of these belongs to that row, not to a lost one
        (nor to the row sent again after it was rejected)."""
        with self._errors():
            rows = self._db.execute(
                "SELECT request_id FROM requests WHERE request_id IS NOT NULL"
                " UNION SELECT request_id FROM earlier_requests"
            )
            return {str(row[0]) for row in rows}

    def reopen(self, key: str, request_id: str) -> None:
        """Make a row whose request `request_id` Infobip rejected (or that was cancelled)
        ready to be sent again: VALIDATED, the old request kept among its earlier ones.

        Raises:
            JournalError: the row is not SUBMITTED as `request_id`.
        """
        now = _now()
        with self._transaction() as db:
            row = db.execute(
                "SELECT state, request_id, request_status FROM requests WHERE key = ?", (key,)
            ).fetchone()
            if row is None or row[0] != State.SUBMITTED or row[1] != request_id:
                msg = f"request {key!r} is not SUBMITTED as {request_id!r}; it cannot be reopened"
                raise JournalError(msg)
            db.execute(
                "INSERT INTO earlier_requests (request_id, key, status, replaced_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (request_id, key, row[2], now),
            )
            db.execute(
                "UPDATE requests SET state = ?, request_id = NULL,"
                " request_status = NULL, status_at = NULL, checked_at = NULL, feedback = NULL,"
                " note = NULL, numbers = NULL, days_until_rejection = NULL, asked_at = NULL,"
                " code = NULL, message = NULL, updated_at = ? WHERE key = ?",
                (State.VALIDATED, now, key),
            )

    def replaced(self, key: str, request_id: str, status: str | None) -> None:
        """Record that the row of `key` is to be sent again in place of request
        `request_id`. The latest such row takes its place: one whose replacement never
        went (a run stopped, the row was edited since) gives it up. Whether a replacement
        went already is the caller's to check (`replaced_by`) before it sends another."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO earlier_requests (request_id, key, status, replaced_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (request_id) DO UPDATE SET key = excluded.key,"
                " status = COALESCE(excluded.status, earlier_requests.status),"
                " replaced_at = excluded.replaced_at",
                (request_id, key, status, _now()),
            )

    def earlier(self, keys: Iterable[str]) -> dict[str, list[tuple[str, str | None, datetime]]]:
        """The requests each row of `keys` made before its current one: (requestId, its
        last status, when it was replaced), oldest first."""
        found: dict[str, list[tuple[str, str | None, datetime]]] = {}
        wanted = list(dict.fromkeys(keys))
        with self._errors():
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                marks = ", ".join("?" * len(chunk))
                query = (
                    "SELECT key, request_id, status, replaced_at FROM earlier_requests"
                    f" WHERE key IN ({marks}) ORDER BY replaced_at"
                )
                for key, request_id, status, when in self._db.execute(query, chunk):
                    found.setdefault(key, []).append(
                        (request_id, status, datetime.fromisoformat(when))
                    )
        return found

    def replaced_by(self, request_ids: Iterable[str]) -> dict[str, Entry]:
        """For each of `request_ids` that a row has since replaced by sending it again,
        the row as it now is."""
        wanted = list(dict.fromkeys(request_ids))
        keys: dict[str, str] = {}
        with self._errors():
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                marks = ", ".join("?" * len(chunk))
                query = (
                    f"SELECT request_id, key FROM earlier_requests WHERE request_id IN ({marks})"
                )
                keys.update(self._db.execute(query, chunk).fetchall())
        entries = self.entries(keys.values())
        return {old: entries[key] for old, key in keys.items() if key in entries}

    def document_id(self, sha256: str) -> str | None:
        """The documentId of an already uploaded file with this content, if any."""
        with self._errors():
            row = self._db.execute(
                "SELECT document_id FROM documents WHERE sha256 = ?", (sha256,)
            ).fetchone()
        return None if row is None else str(row[0])

    def uploaded(self, sha256: str, document_id: str, name: str | None = None) -> None:
        """Remember the documentId Infobip gave a file, so that it is uploaded once."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO documents (sha256, document_id, name, uploaded_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (sha256) DO UPDATE SET document_id = excluded.document_id,"
                " name = excluded.name, uploaded_at = excluded.uploaded_at",
                (sha256, document_id, name, _now()),
            )

    def _change(self, key: str, state: State, **columns: str | None) -> None:
        """Move `key` to `state` and set `columns`, in one committed transaction."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT state, request_id FROM requests WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                msg = f"journal {self.path}: no request {key!r}; record it with validated() first"
                raise JournalError(msg)
            _check_change(key, State(row[0]), row[1], state, columns.get("request_id"))
            values = {**columns, "state": state, "updated_at": _now()}
            assignments = ", ".join(f"{name} = ?" for name in values)
            db.execute(f"UPDATE requests SET {assignments} WHERE key = ?", (*values.values(), key))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed (and synced) on leaving, rolled back on error."""
        with self._errors():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # a failed COMMIT too: never stay stuck in it
                    self._db.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Report SQLite failures (disk full, damage, I/O errors) as JournalError naming
        the file."""
        try:
            yield
        except sqlite3.Error as exc:
            raise _sqlite_error(self.path, exc) from exc


def journal_path(state_dir: Path, account: str) -> Path:
    """Where the journal of `account` (`Settings.account`) lives in `state_dir`.

    Raises:
        ValueError: `account` is not a hex fingerprint.
    """
    if not _ACCOUNT.fullmatch(account):
        msg = "account must be a hex fingerprint such as Settings.account"
        raise ValueError(msg)  # the value is left out: it could be an API key
    return state_dir / f"journal-{account}.sqlite3"


def counts(state_dir: Path, account: str) -> dict[State, int] | None:
    """How many rows the account's journal holds in each state, read without changing it
    (no schema upgrade, no journal made); None when the account has none yet.

    Raises:
        JournalError: it is empty, missing though expected, damaged, newer than this
            program, or cannot be read.
    """
    path = journal_path(state_dir, account)
    expected = _marker(path).exists()
    found = _lost(path, expected=expected)
    if found is not None:
        raise _Unusable(path, found, _RESTORE_HELP)
    if not path.exists():
        return None
    # SQLite makes the -wal and -shm files even to read: they must be private too.
    with _private_umask(), contextlib.closing(_connect_read_only(path)) as connection:
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION or (version == 0 and expected):
                _prepare(connection, path, expected=expected)  # raises what opening would
            if version == 0:
                return {}
            _check_intact(connection, path)
            query = "SELECT state, COUNT(*) FROM requests GROUP BY state"
            return {State(state): count for state, count in connection.execute(query)}
        except sqlite3.Error as exc:
            raise _sqlite_error(path, exc, opening=True) from None


def _connect_read_only(path: Path) -> sqlite3.Connection:
    try:
        return sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error as exc:
        raise _sqlite_error(path, exc, opening=True) from None


def _check_change(
    key: str, current: State, request_id: str | None, state: State, new_id: str | None
) -> None:
    """Refuse a change that could lose a submitted request or hide a double submit."""
    if current is State.SUBMITTED and state is State.SUBMITTED and request_id != new_id:
        msg = (
            f"request {key!r} is already SUBMITTED as requestId {request_id!r}; a second"
            f" requestId {new_id!r} means it was submitted twice: check both in Infobip"
        )
        raise JournalError(msg)
    if current not in _ALLOWED_FROM[state]:
        where = f" as requestId {request_id!r}" if request_id else ""
        msg = f"request {key!r} is {current}{where}; it cannot become {state}"
        raise JournalError(msg)


def _connect(path: Path, *, expected: bool) -> sqlite3.Connection:
    """Open the database at `path`, set it up for durability and bring its schema up to
    date; a new one only when none is `expected` (the account's marker is there).

    Raises:
        _Unusable: the file is empty, damaged or not a journal, or missing though expected.
        JournalError: the file is newer than this program, or cannot be opened.
    """
    found = _lost(path, expected=expected)
    if found is not None:
        raise _Unusable(path, found, _RESTORE_HELP)
    try:
        connection = sqlite3.connect(path, timeout=5.0, isolation_level=None)
    except sqlite3.Error as exc:
        raise _sqlite_error(path, exc, opening=True) from None
    try:
        _prepare(connection, path, expected=expected)
    except sqlite3.Error as exc:
        connection.close()
        raise _sqlite_error(path, exc, opening=True) from None
    except BaseException:
        connection.close()
        raise
    return connection


def _prepare(connection: sqlite3.Connection, path: Path, *, expected: bool) -> None:
    connection.execute("PRAGMA busy_timeout = 5000")
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        msg = (
            f"journal {path} was written by a newer resource-batch (schema version {version},"
            f" this one knows up to {SCHEMA_VERSION}): upgrade resource-batch"
        )
        raise JournalError(msg)
    if version == 0 and expected:  # a bare SQLite file: a copy made without its -wal?
        found = "holds no journal (no tables: copied without its -wal file?)"
        raise _Unusable(path, found, _RESTORE_HELP)
    if version > 0:
        _check_intact(connection, path)
    mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        logger.warning("journal %s: WAL is not available here, using %s mode", path, mode)
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA foreign_keys = ON")
    _migrate(connection, path)


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    """Apply the missing migration steps and the new user_version in one transaction."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        # Read again under the write lock: another process may have migrated meanwhile.
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if 0 < version < SCHEMA_VERSION:  # an existing journal (a new one is just made)
            logger.info("journal %s: upgrading it to schema version %d", path, SCHEMA_VERSION)
        for step in _MIGRATIONS[version:]:
            for statement in step:
                connection.execute(statement)
        if version < SCHEMA_VERSION:
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _check_intact(connection: sqlite3.Connection, path: Path) -> None:
    """Raise _Unusable when SQLite finds the journal damaged: better now than halfway
    through a run, or never (a damaged index could hide a submitted row)."""
    problems = [row[0] for row in connection.execute("PRAGMA quick_check(3)")]
    if problems != ["ok"]:
        raise _Unusable(path, f"is damaged ({'; '.join(problems)})", _DAMAGED_HELP)


def _sqlite_error(path: Path, exc: sqlite3.Error, *, opening: bool = False) -> JournalError:
    """A SQLite failure as a JournalError that names the file and says what to do."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_FULL:
        return _disk_full(path, "write journal", str(exc))
    if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
        found = f"is damaged or not a resource-batch journal ({exc})"
        return _Unusable(path, found, _DAMAGED_HELP)
    if code == sqlite3.SQLITE_CANTOPEN or code == sqlite3.SQLITE_READONLY:
        return JournalError(f"journal {path}: cannot open it: {_why_not_open(path) or exc}")
    return JournalError(f"journal {path}: {'cannot open it: ' if opening else ''}{exc}")


def _why_not_open(path: Path) -> str | None:
    """What SQLite's "unable to open database file" means here, when it can be told."""
    if path.is_dir():
        return "it is a folder, not a journal file: move it aside"
    if not os.access(path.parent, os.W_OK):
        return f"cannot write in {path.parent} (the journal needs its folder writable)"
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return "no permission to read and write it"
    return None


# -- a journal lost or damaged ----------------------------------------------------------

_RESTORE_HELP = (
    "it is the record of the requests already submitted, and without it every row would"
    " be submitted again. Restore it from a backup (with its -wal file, if any) and run"
    " again; or, if it is lost for good, run with --fresh-journal to set it aside and"
    " start a new journal (check in Infobip what was already submitted)"
)
_DAMAGED_HELP = (
    "move it aside (keep it: it may list requests already submitted) and run again;"
    " or run with --fresh-journal, which sets it aside and starts a new journal"
)


class _Unusable(JournalError):
    """The journal is empty, damaged, or missing though the account had one."""

    def __init__(self, path: Path, found: str, help_text: str) -> None:
        self.found = found
        super().__init__(f"journal {path} {found}: {help_text}")


def _marker(path: Path) -> Path:
    """The file saying that the account of journal `path` has a journal."""
    return path.with_suffix(".made")


def _lost(path: Path, *, expected: bool) -> str | None:
    """What is wrong with journal `path` before SQLite opens it: empty (0 bytes: SQLite
    would take it for a new database) or missing though `expected`; None when neither."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return (
            f"is missing, but {_marker(path).name} says this account has one" if expected else None
        )
    except OSError as exc:
        raise JournalError(f"journal {path}: cannot open it: {exc.strerror}") from None
    return "is empty (0 bytes)" if size == 0 else None


def _set_aside(path: Path, found: str) -> None:
    """Rename the journal (and its -wal and -shm files) with a timestamp, keeping it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    aside = path.with_name(f"{path.name}.{stamp}")
    moved = []
    for suffix in ("", "-wal", "-shm"):
        source, target = (p.with_name(p.name + suffix) for p in (path, aside))
        try:
            source.rename(target)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise _os_error(source, exc, action="set aside journal") from None
        moved.append(str(target))
    what = f"set aside as {', '.join(moved)}" if moved else "nothing to set aside"
    logger.warning("journal %s %s; %s, starting a new journal (--fresh-journal)", path, found, what)


def _make_private(path: Path) -> None:
    if sys.platform == "win32":
        # os.chmod there only sets or clears the read-only flag; the journal is kept
        # private by the ACL of the user's profile folder, where the state folder lives.
        return
    try:
        os.chmod(path, 0o600)
    except OSError as exc:
        raise JournalError(f"journal {path}: cannot make it private: {exc.strerror}") from None


def _mark(path: Path) -> None:
    """Record, once, that the account has journal `path`; written whole or not at all."""
    marker = _marker(path)
    if marker.exists():
        return
    text = (
        f"resource-batch made {path.name} here. While this file exists, a run stops if"
        " that journal is missing or empty rather than submit every row again.\n"
    )
    temporary = marker.with_name(f".{marker.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, marker)
        _sync_folder(marker.parent)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise _os_error(marker, exc, action="write journal marker") from None


def _sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable; Windows cannot open a folder to sync it (and
    NTFS journals the rename itself), so there this does nothing."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _disk_full(path: Path, action: str, detail: str) -> DiskFull:
    """DiskFull for failing to `action` (say "write journal") `path`: what a user reads."""
    kept = "the journal keeps every change made before this one"
    return DiskFull.cannot(action, path, detail, then=kept if action == "write journal" else "")


def _os_error(path: Path, exc: OSError, *, action: str) -> JournalError:
    """An OSError met trying to `action` `path`, as a JournalError (DiskFull when the
    disk or the quota is full)."""
    detail = exc.strerror or str(exc)
    if exc.errno in _FULL_ERRNOS:
        return _disk_full(path, action, detail)
    return JournalError(f"cannot {action} {path}: {detail}")


def _entry(row: tuple[Any, ...]) -> Entry:
    (key, content, state, kind, country, body, request_id, request_status, code, message,
     source, sent_at, created_at, updated_at, status_at, checked_at, feedback, note, numbers,
     days, asked_at) = row  # fmt: skip
    return Entry(
        key=key,
        content=content,
        state=State(state),
        type=kind,
        country=country,
        body=None if body is None else json.loads(body),
        request_id=request_id,
        request_status=request_status,
        code=code,
        message=message,
        source=source,
        sent_at=None if sent_at is None else datetime.fromisoformat(sent_at),
        created_at=datetime.fromisoformat(created_at),
        updated_at=datetime.fromisoformat(updated_at),
        status_at=_when(status_at),
        checked_at=_when(checked_at),
        feedback=None if feedback is None else json.loads(feedback),
        note=note,
        numbers=None if numbers is None else json.loads(numbers),
        days_until_rejection=days,
        asked_at=_when(asked_at),
    )


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _stamp(when: datetime) -> str:
    """A time as the journal stores it: UTC, fixed width, so that text order is time order."""
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def _now() -> str:
    """Now in UTC as fixed-width ISO-8601 text, so that text order is time order."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


@contextlib.contextmanager
def state_lock(state_dir: Path) -> Iterator[None]:
    """Hold the state directory for one run; released when the block ends or the process
    dies (an OS lock on `lock`, through filelock), so a killed run never blocks the next.

    The holder's pid goes in a sibling `lock.pid`, not in `lock` itself: on Windows a
    locked file cannot be read by another process, which must still name the holder.

    Raises:
        Locked: another process holds it; the message names its pid when known.
        DiskFull: no room to create the lock file or write the pid.
        JournalError: the directory or lock file cannot be created.
    """
    path, pid_path = state_dir / "lock", state_dir / "lock.pid"
    # thread_local=False: the run holds the lock, whichever thread ends it.
    lock = filelock.FileLock(path, mode=0o600, thread_local=False)
    try:
        with _private_umask():
            _make_private_dir(state_dir, what="state")
            lock.acquire(blocking=False)
    except filelock.Timeout:
        raise Locked(state_dir, _holder(pid_path)) from None
    except OSError as exc:
        raise _os_error(path, exc, action="create lock file") from None
    try:
        _write_holder(pid_path, f"{os.getpid()}\n")
        yield
        # Still held here: no other run can be writing its pid yet. A stale pid left by a
        # killed run is harmless: the next holder overwrites it.
        with contextlib.suppress(OSError):
            _write_holder(pid_path, "")
    finally:
        lock.release()


@dataclass(frozen=True, slots=True)
class LockState:
    """The state folder's lock as `check` finds it: whether the file is there, whether a
    process holds it now, and the pid named beside it (a holder's, or one a killed run
    left)."""

    exists: bool
    held: bool
    pid: int | None


def lock_state(state_dir: Path) -> LockState:
    """Whether a run holds the state folder now, found by taking the lock for an instant
    (never waiting) and letting it go; nothing is created.

    Raises:
        JournalError: the lock file is there but cannot be opened.
    """
    path = state_dir / "lock"
    if not path.is_file():
        return LockState(exists=False, held=False, pid=None)
    pid = _holder(state_dir / "lock.pid")
    lock = filelock.FileLock(path, thread_local=False)
    try:
        lock.acquire(blocking=False)
    except filelock.Timeout:
        return LockState(exists=True, held=True, pid=pid)
    except OSError as exc:
        raise _os_error(path, exc, action="open lock file") from None
    lock.release()
    return LockState(exists=True, held=False, pid=pid)


def _write_holder(path: Path, text: str) -> None:
    """Write the holder's pid (or nothing) to `path`, readable by the owner only."""
    try:
        with _private_umask():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _BINARY, 0o600)
        try:
            os.write(fd, text.encode("ascii"))
        finally:
            os.close(fd)
    except OSError as exc:
        raise _os_error(path, exc, action="write lock file") from None


def _holder(path: Path) -> int | None:
    """The pid the lock holder wrote, or None if it has not written it yet."""
    try:
        return int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def _private_umask() -> Iterator[None]:
    """Create files and folders owner-only, whatever the caller's umask."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def _make_private_dir(folder: Path, *, what: str) -> None:
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise _os_error(folder, exc, action=f"create {what} folder") from None
