"""The journal and the state lock, on real files and real SQLite, across real processes."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from batch import journal as journal_module
from batch.errors import BatchError
from batch.journal import (
    DiskFull,
    Journal,
    JournalError,
    Locked,
    State,
    out_of_space,
    state_lock,
)
from tests.helpers import failing_pid_write

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "0123456789abcdef"
BODY = {"type": "ALPHANUMERIC_REGISTRATION", "senderName": "InfobipHR", "documentIds": ["AB"]}


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def journal(state_dir: Path) -> Iterator[Journal]:
    with Journal.open(state_dir, ACCOUNT) as journal:
        yield journal


Row = tuple[str, str, str | None, str | None, str]


def row(key: str, content: str = "c1", source: str = "requests.xlsx, row 2") -> Row:
    return (key, content, "ALPHANUMERIC_REGISTRATION", "HR", source)


def put(journal: Journal, key: str, state: str) -> None:
    """Bring a new row to `state` the way a run would."""
    journal.validated([row(key)])
    if state == "VALIDATED":
        return
    if state in ("DEFERRED", "FAILED"):
        getattr(journal, state.lower())(key, "E429", "later")
        return
    journal.submitting(key, BODY)
    if state == "SUBMITTED":
        journal.submitted(key, f"id-{key}")
    elif state == "UNCERTAIN":
        journal.uncertain(key, "read timeout")


def python(code: str) -> subprocess.Popen[str]:
    """A separate Python process running `code` against this checkout."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_states_survive_close_and_reopen(state_dir: Path) -> None:
    """Every state and its details read back the same after the journal is reopened, as
    a State whose text on disk is its name."""
    with Journal.open(state_dir, ACCOUNT) as journal:
        for state in State:
            put(journal, state.lower(), state)
    with Journal.open(state_dir, ACCOUNT) as journal:
        found = journal.entries(state.lower() for state in State)
    assert {key: entry.state for key, entry in found.items()} == {s.lower(): s for s in State}
    assert all(isinstance(entry.state, State) for entry in found.values())
    with contextlib.closing(sqlite3.connect(state_dir / f"journal-{ACCOUNT}.sqlite3")) as db:
        stored = dict(db.execute("SELECT key, typeof(state) || ':' || state FROM requests"))
    assert stored == {s.lower(): f"text:{s.value}" for s in State}, "on disk: the same text"
    submitted = found["submitted"]
    assert (submitted.request_id, submitted.request_status) == ("id-submitted", "PENDING")
    assert submitted.body == BODY
    assert submitted.sent_at is not None and submitted.sent_at.utcoffset() is not None
    assert (found["failed"].code, found["failed"].message) == ("E429", "later")
    assert found["uncertain"].message == "read timeout"
    validated = found["validated"]
    assert (validated.content, validated.type, validated.country) == (
        "c1",
        "ALPHANUMERIC_REGISTRATION",
        "HR",
    )
    assert validated.source == "requests.xlsx, row 2"
    assert validated.body is None and validated.sent_at is None
    assert validated.created_at.utcoffset() is not None


@pytest.mark.parametrize("state", ["VALIDATED", "DEFERRED", "FAILED"])
def test_validated_refreshes_rows_not_yet_sent(journal: Journal, state: str) -> None:
    """A row not yet at Infobip takes the sheet's new content and source, keeping its state."""
    put(journal, "k", state)
    before = journal.get("k")
    journal.validated([row("k", content="c2", source="new.xlsx, row 9")])
    after = journal.get("k")
    assert before is not None and after is not None
    assert (after.content, after.source, after.state) == ("c2", "new.xlsx, row 9", state)
    assert after.updated_at > before.updated_at


@pytest.mark.parametrize("state", ["SUBMITTING", "SUBMITTED", "UNCERTAIN"])
def test_validated_never_touches_rows_that_may_be_at_infobip(journal: Journal, state: str) -> None:
    """Validating again leaves a sent or possibly sent row exactly as it was."""
    put(journal, "k", state)
    before = journal.get("k")
    journal.validated([row("k", content="c2", source="new.xlsx, row 9"), row("other")])
    assert journal.get("k") == before
    assert journal.get("other") is not None


def test_submitted_refuses_a_second_request_id(journal: Journal) -> None:
    """A second, different requestId for one row is refused: it would be a double submit."""
    put(journal, "k", "SUBMITTED")
    with pytest.raises(JournalError, match="id-k.*other-id.*submitted twice"):
        journal.submitted("k", "other-id")
    entry = journal.get("k")
    assert entry is not None and entry.request_id == "id-k"


def test_submitted_again_with_the_same_id_updates_the_status(journal: Journal) -> None:
    """Recording the same requestId again is harmless and updates its status."""
    put(journal, "k", "SUBMITTED")
    journal.submitted("k", "id-k", "APPROVED")
    entry = journal.get("k")
    assert entry is not None and (entry.request_id, entry.request_status) == ("id-k", "APPROVED")


def test_an_uncertain_row_can_be_resolved_as_submitted(journal: Journal) -> None:
    """A row found in Infobip's list after a lost answer takes its requestId."""
    put(journal, "k", "UNCERTAIN")
    journal.submitted("k", "found-id", "IN_PROGRESS")
    entry = journal.get("k")
    assert entry is not None and (entry.state, entry.request_id) == ("SUBMITTED", "found-id")
    assert entry.message is None


@pytest.mark.parametrize("state", ["SUBMITTING", "SUBMITTED", "UNCERTAIN"])
def test_submitting_refuses_rows_that_may_be_at_infobip(journal: Journal, state: str) -> None:
    """A row that may already exist at Infobip cannot be sent again without resolving it."""
    put(journal, "k", state)
    with pytest.raises(JournalError, match=f"'k' is {state}.*cannot become SUBMITTING"):
        journal.submitting("k", BODY)


@pytest.mark.parametrize("state", ["DEFERRED", "FAILED"])
def test_submitting_retries_rows_that_were_not_accepted(journal: Journal, state: str) -> None:
    """A deferred or failed row may be sent again, and its old error is cleared."""
    put(journal, "k", state)
    journal.submitting("k", {**BODY, "senderName": "Fixed"})
    entry = journal.get("k")
    assert entry is not None and entry.state == "SUBMITTING"
    assert entry.body is not None and entry.body["senderName"] == "Fixed"
    assert (entry.code, entry.message) == (None, None)


@pytest.mark.parametrize("change", ["deferred", "failed", "uncertain"])
def test_a_submitted_row_cannot_lose_its_request_id(journal: Journal, change: str) -> None:
    """A SUBMITTED row cannot be marked deferred, failed or uncertain (and resent later)."""
    put(journal, "k", "SUBMITTED")
    args = ("read timeout",) if change == "uncertain" else ("E400", "bad")
    with pytest.raises(JournalError, match="SUBMITTED as requestId 'id-k'"):
        getattr(journal, change)("k", *args)


def test_uncertain_needs_a_row_being_sent(journal: Journal) -> None:
    """Only a row whose POST went out can be uncertain."""
    put(journal, "k", "VALIDATED")
    with pytest.raises(JournalError, match="cannot become UNCERTAIN"):
        journal.uncertain("k", "timeout")


@pytest.mark.parametrize(
    ("method", "args"),
    [
        pytest.param("submitting", (BODY,), id="submitting"),
        pytest.param("submitted", ("id",), id="submitted"),
        pytest.param("deferred", ("E429", "later"), id="deferred"),
        pytest.param("failed", ("E400", "bad"), id="failed"),
        pytest.param("uncertain", ("timeout",), id="uncertain"),
    ],
)
def test_state_changes_refuse_unknown_keys(
    journal: Journal, method: str, args: tuple[Any, ...]
) -> None:
    """A state change for a row never recorded as validated is refused, naming the key."""
    with pytest.raises(JournalError, match="no request 'ghost'"):
        getattr(journal, method)("ghost", *args)
    assert journal.get("ghost") is None


def test_entries_returns_25000_keys(journal: Journal) -> None:
    """A bulk fetch returns every known key of a large sheet, and leaves unknown ones out."""
    keys = [f"ref-{n:05d}" for n in range(25_000)]
    journal.validated(row(key, content=f"c{key}") for key in keys)
    found = journal.entries([*keys, "unknown", keys[0]])
    assert sorted(found) == keys
    assert found["ref-12345"].content == "cref-12345"


def test_entries_works_under_sqlites_oldest_parameter_limit(journal: Journal) -> None:
    """A bulk fetch stays within 999 host parameters, the default of older SQLite builds."""
    journal._db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    keys = [f"ref-{n:04d}" for n in range(2_500)]
    journal.validated(row(key) for key in keys)
    assert sorted(journal.entries(keys)) == keys


def test_unresolved_lists_sent_rows_oldest_first(journal: Journal) -> None:
    """Only SUBMITTING and UNCERTAIN rows are unresolved, the earliest sent first."""
    for key in ("a", "b", "c", "d", "e"):
        journal.validated([row(key)])
    for key in ("c", "a", "b", "d"):
        journal.submitting(key, BODY)
    journal.uncertain("a", "timeout")
    journal.submitted("d", "id-d")
    assert [entry.key for entry in journal.unresolved()] == ["c", "a", "b"]


def test_document_ids_persist(state_dir: Path) -> None:
    """An uploaded document's id is remembered across runs, and the latest upload wins."""
    with Journal.open(state_dir, ACCOUNT) as journal:
        journal.uploaded("aa" * 32, "DOC1", "registration.pdf")
        journal.uploaded("bb" * 32, "DOC2")
        journal.uploaded("bb" * 32, "DOC3")
    with Journal.open(state_dir, ACCOUNT) as journal:
        assert journal.document_id("aa" * 32) == "DOC1"
        assert journal.document_id("bb" * 32) == "DOC3"
        assert journal.document_id("cc" * 32) is None


def test_journals_are_per_account(state_dir: Path) -> None:
    """Each account has its own file: one account's rows are unknown to another."""
    with Journal.open(state_dir, ACCOUNT) as journal:
        journal.validated([row("k")])
    with Journal.open(state_dir, "fedcba9876543210") as other:
        assert other.get("k") is None
        assert other.path.name == "journal-fedcba9876543210.sqlite3"


def test_account_must_be_a_fingerprint(state_dir: Path) -> None:
    """Something that is not a hex fingerprint (an API key, say) is refused and not echoed."""
    with pytest.raises(ValueError, match="hex fingerprint") as caught:
        Journal.open(state_dir, "App 1234-secret-key")
    assert "secret" not in str(caught.value)
    assert not state_dir.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="file modes are POSIX's")
def test_files_are_owner_only(tmp_path: Path) -> None:
    """The state folders are 0o700 and the journal and its WAL 0o600, even with umask 022."""
    state_dir = tmp_path / "parent" / "state"
    previous = os.umask(0o022)
    try:
        journal = Journal.open(state_dir, ACCOUNT)
    finally:
        os.umask(previous)
    with journal:
        journal.validated([row("k")])
        wal = journal.path.with_name(journal.path.name + "-wal")
        assert wal.exists()
        assert stat.S_IMODE(wal.stat().st_mode) == 0o600
        assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(state_dir.parent.stat().st_mode) == 0o700


@pytest.mark.skipif(sys.platform == "win32", reason="file modes are POSIX's")
def test_an_existing_journal_is_made_private(state_dir: Path) -> None:
    """A journal file left readable by others is made owner-only on open."""
    Journal.open(state_dir, ACCOUNT).close()
    path = state_dir / f"journal-{ACCOUNT}.sqlite3"
    path.chmod(0o644)
    Journal.open(state_dir, ACCOUNT).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_schema_version_is_recorded(state_dir: Path) -> None:
    """A new journal is at the current schema version and in WAL mode."""
    with Journal.open(state_dir, ACCOUNT) as journal:
        path = journal.path
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == journal_module.SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"this is a spreadsheet, not a database\n" * 20, id="text"),
        pytest.param(b"SQLite format 3\x00" + b"\xff" * 200, id="bad-header"),
    ],
)
def test_a_damaged_file_asks_to_move_it_aside(state_dir: Path, content: bytes) -> None:
    """A file that is not a journal gives a JournalError naming it and saying what to do."""
    state_dir.mkdir()
    path = state_dir / f"journal-{ACCOUNT}.sqlite3"
    path.write_bytes(content)
    with pytest.raises(JournalError, match="move it aside.*--fresh-journal") as caught:
        Journal.open(state_dir, ACCOUNT)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == content


# -- a journal lost, emptied or damaged ----------------------------------------------------


def journal_path(state_dir: Path) -> Path:
    return state_dir / f"journal-{ACCOUNT}.sqlite3"


def with_rows(state_dir: Path, count: int = 1) -> Path:
    """A journal holding `count` submitted rows, closed (its WAL checkpointed away)."""
    with Journal.open(state_dir, ACCOUNT) as journal:
        for n in range(count):
            put(journal, f"k{n}", "SUBMITTED")
    return journal_path(state_dir)


def emptied(state_dir: Path) -> str:
    with_rows(state_dir).write_bytes(b"")
    return "is empty (0 bytes)"


def emptied_and_unmarked(state_dir: Path) -> str:
    found = emptied(state_dir)
    (state_dir / f"journal-{ACCOUNT}.made").unlink()
    return found


def deleted(state_dir: Path) -> str:
    with_rows(state_dir).unlink()
    return f"is missing, but journal-{ACCOUNT}.made says this account has one"


def copied_without_wal(state_dir: Path) -> str:
    """What a backup that copied the main file of a journal open in WAL mode holds."""
    path = with_rows(state_dir)
    path.unlink()
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode = WAL")
    return "holds no journal (no tables: copied without its -wal file?)"


LOST = [
    pytest.param(emptied, id="empty"),
    pytest.param(emptied_and_unmarked, id="empty-without-marker"),
    pytest.param(deleted, id="missing"),
    pytest.param(copied_without_wal, id="no-tables"),
]


@pytest.mark.parametrize("lose", LOST)
def test_a_lost_journal_stops_rather_than_start_afresh(state_dir: Path, lose: Any) -> None:
    """An empty journal file, or a missing or table-less one where the account's marker
    says there was a journal, is not taken for a new journal (every row would be
    submitted again): JournalError saying what was found, to restore it or pass
    --fresh-journal; the file is left exactly as it was."""
    found = lose(state_dir)
    path = journal_path(state_dir)
    before = path.read_bytes() if path.exists() else None
    with pytest.raises(JournalError) as caught:
        Journal.open(state_dir, ACCOUNT)
    message = str(caught.value)
    assert message.startswith(f"journal {path} {found}: it is the record of the requests")
    assert "Restore it from a backup" in message
    assert "run with --fresh-journal to set it aside and start a new journal" in message
    assert (path.read_bytes() if path.exists() else None) == before


def damaged_page(state_dir: Path) -> str:
    """A journal whose header is fine but one of its pages is garbage (a bad sector)."""
    path = with_rows(state_dir, 300)
    data = bytearray(path.read_bytes())
    data[4096 * 3 : 4096 * 4] = b"\xa5" * 4096
    path.write_bytes(bytes(data))
    return "is damaged ("


def truncated(state_dir: Path) -> str:
    """A journal cut short (a full disk during a copy): SQLite's header, half the pages."""
    path = with_rows(state_dir, 300)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return "is damaged or not a resource-batch journal (database disk image is malformed)"


@pytest.mark.parametrize(
    "damage", [pytest.param(damaged_page, id="garbage-page"), pytest.param(truncated, id="cut")]
)
def test_a_damaged_journal_is_found_on_open(state_dir: Path, damage: Any) -> None:
    """A journal with SQLite's header but garbage or missing pages is refused when
    opened, before any row is read from it: JournalError saying so, not a traceback."""
    found = damage(state_dir)
    with pytest.raises(JournalError) as caught:
        Journal.open(state_dir, ACCOUNT)
    assert str(caught.value).startswith(f"journal {journal_path(state_dir)} {found}")
    assert "move it aside" in str(caught.value) and "--fresh-journal" in str(caught.value)


@pytest.mark.parametrize("lose", [*LOST, pytest.param(damaged_page, id="damaged")])
def test_fresh_sets_the_lost_journal_aside_and_starts_anew(
    state_dir: Path, lose: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """With fresh=True the empty, damaged or missing journal is renamed with a timestamp
    (kept byte for byte, never deleted), a warning says so, and a new empty journal is
    used (and expected from then on)."""
    lose(state_dir)
    path = journal_path(state_dir)
    before = path.read_bytes() if path.exists() else None
    with caplog.at_level("WARNING", logger="batch.journal"):
        with Journal.open(state_dir, ACCOUNT, fresh=True) as journal:
            assert journal.get("k0") is None
            journal.validated([row("new")])
    aside = [p for p in state_dir.iterdir() if re.fullmatch(r".*\.\d{8}T\d{6}\.\d{6}Z", p.name)]
    [warning] = [r for r in caplog.records if r.name == "batch.journal"]
    assert warning.levelname == "WARNING"
    assert warning.getMessage().startswith(f"journal {path} ")
    assert warning.getMessage().endswith("starting a new journal (--fresh-journal)")
    if before is None:
        assert aside == [] and "nothing to set aside" in warning.getMessage()
    else:
        assert [p.name[: len(path.name)] for p in aside] == [path.name]
        assert aside[0].read_bytes() == before
        assert f"set aside as {aside[0]}, starting" in warning.getMessage()
    with Journal.open(state_dir, ACCOUNT) as journal:
        assert journal.get("new") is not None
    path.unlink()
    with pytest.raises(JournalError, match="is missing"):
        Journal.open(state_dir, ACCOUNT)


def test_fresh_opens_a_good_journal_as_it_is(state_dir: Path) -> None:
    """fresh=True never sets a good journal aside: its rows are all there."""
    with_rows(state_dir, 2)
    with Journal.open(state_dir, ACCOUNT, fresh=True) as journal:
        assert set(journal.entries(["k0", "k1"])) == {"k0", "k1"}
    assert sorted(p.name for p in state_dir.iterdir()) == [
        f"journal-{ACCOUNT}.made",
        f"journal-{ACCOUNT}.sqlite3",
    ]


def test_a_journal_older_than_markers_gets_one(state_dir: Path) -> None:
    """A journal made before markers existed is marked when next opened: from then on,
    losing it stops the run. The marker is a small text file saying what it is for."""
    path = with_rows(state_dir)
    marker = state_dir / f"journal-{ACCOUNT}.made"
    assert marker.read_text().startswith(f"resource-batch made {path.name} here.")
    marker.unlink()
    Journal.open(state_dir, ACCOUNT).close()
    assert marker.exists()
    assert sys.platform == "win32" or stat.S_IMODE(marker.stat().st_mode) == 0o600
    path.unlink()
    with pytest.raises(JournalError, match="is missing"):
        Journal.open(state_dir, ACCOUNT)


def test_a_full_disk_for_the_marker_says_out_of_space(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No room for the marker of a new journal: DiskFull naming it."""

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(journal_module.os, "fsync", full)
    with pytest.raises(DiskFull, match="out of space: cannot write journal marker .*made"):
        Journal.open(state_dir, ACCOUNT)
    assert [p.name for p in state_dir.glob("*.tmp")] == []


def test_a_newer_journal_asks_to_upgrade(state_dir: Path) -> None:
    """A journal from a newer schema version is not touched: the user is told to upgrade."""
    with Journal.open(state_dir, ACCOUNT) as journal:
        journal.validated([row("k")])
        path = journal.path
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version = {journal_module.SCHEMA_VERSION + 1}")
        db.commit()
    with pytest.raises(JournalError, match="newer resource-batch.*upgrade resource-batch"):
        Journal.open(state_dir, ACCOUNT)


@pytest.mark.skipif(sys.platform == "win32", reason="a process cannot SIGKILL itself there")
def test_submitting_is_on_disk_when_it_returns(state_dir: Path) -> None:
    """A process killed (SIGKILL) right after submitting() returns leaves the row SUBMITTING."""
    with Journal.open(state_dir, ACCOUNT) as journal:
        journal.validated([row("k")])
    code = f"""
        import os, signal
        from pathlib import Path
        from batch.journal import Journal
        journal = Journal.open(Path({str(state_dir)!r}), {ACCOUNT!r})
        journal.submitting("k", {BODY!r})
        os.kill(os.getpid(), signal.SIGKILL)
    """
    with python(code) as child:
        _, errors = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, errors
    with Journal.open(state_dir, ACCOUNT) as journal:
        entry = journal.get("k")
        assert entry is not None and (entry.state, entry.body) == ("SUBMITTING", BODY)
        assert [e.key for e in journal.unresolved()] == ["k"]


@contextlib.contextmanager
def lock_holder(state_dir: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process that holds the state lock until it is killed."""
    code = f"""
        import time
        from pathlib import Path
        from batch.journal import state_lock
        with state_lock(Path({str(state_dir)!r})):
            print("locked", flush=True)
            time.sleep(120)
    """
    with python(code) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == "locked\n", child.stderr
            yield child
        finally:
            child.kill()
            child.wait()


def test_lock_held_by_another_process_names_its_pid(state_dir: Path) -> None:
    """A second run is refused with Locked, naming the running pid and the folder."""
    with lock_holder(state_dir) as holder:
        with pytest.raises(Locked) as caught, state_lock(state_dir):
            pass
    assert caught.value.pid == holder.pid
    assert isinstance(caught.value, BatchError)
    expected = f"another resource-batch run (pid {holder.pid}) is using {state_dir}"
    assert str(caught.value).startswith(expected)


def test_lock_of_a_killed_run_does_not_block(state_dir: Path) -> None:
    """After the holder is killed (its pid left in the file), the next run gets the lock."""
    with lock_holder(state_dir) as holder:
        pass
    pid = state_dir / "lock.pid"
    assert pid.read_text() == f"{holder.pid}\n"
    with state_lock(state_dir):
        assert pid.read_text() == f"{os.getpid()}\n"
    assert pid.read_text() == ""
    if sys.platform != "win32":  # modes are POSIX's
        for path in (state_dir / "lock", pid):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700


def test_lock_is_released_when_the_run_ends(state_dir: Path) -> None:
    """The lock can be taken again once the block that held it has ended."""
    with state_lock(state_dir):
        with pytest.raises(Locked, match=f"pid {os.getpid()}"), state_lock(state_dir):
            pass
    with state_lock(state_dir):
        pass


def test_a_version_1_journal_is_upgraded_keeping_its_rows(state_dir: Path) -> None:
    """A journal written before status tracking opens with every row still there."""
    path = state_dir / f"journal-{ACCOUNT}.sqlite3"
    state_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path)) as db:
        for statement in journal_module._MIGRATIONS[0]:
            db.execute(statement)
        db.execute(
            "INSERT INTO requests (key, content, state, request_id, created_at, updated_at)"
            " VALUES ('k', 'c', 'SUBMITTED', 'id-1', '2026-01-01T00:00:00+00:00',"
            " '2026-01-01T00:00:00+00:00')"
        )
        db.execute("PRAGMA user_version = 1")
        db.commit()
    with Journal.open(state_dir, ACCOUNT) as journal:
        entry = journal.get("k")
        assert entry is not None and entry.request_id == "id-1" and entry.state == "SUBMITTED"
        assert journal.observe("id-1", "IN_REVIEW", at=datetime.now(UTC))
        assert [e.key for e in journal.tracked()] == ["k"]


def test_an_older_status_never_overwrites_a_newer_one(state_dir: Path) -> None:
    """Webhooks come late and out of order: what was true later wins; a final status
    leaves the tracked list; unknown requestIds are not recorded."""
    later = datetime.now(UTC)
    earlier = later - timedelta(minutes=5)
    with Journal.open(state_dir, ACCOUNT) as journal:
        journal.validated([row("k")])
        journal.submitting("k", {"type": "NUMBER_PURCHASE"})
        journal.submitted("k", "id-1")
        feedback = [{"key": "vatNumber", "code": "RES_REQ_FEED_FORMAT", "feedback": "bad"}]
        assert journal.observe("id-1", "UPDATE_REQUESTED", at=later, feedback=feedback)
        assert not journal.observe("id-1", "IN_REVIEW", at=earlier)
        entry = journal.get("k")
        assert entry is not None and entry.request_status == "UPDATE_REQUESTED"
        assert entry.feedback == feedback
        assert journal.remind("id-1", 27)
        assert journal.get("k").days_until_rejection == 27  # type: ignore[union-attr]
        assert journal.observe("id-1", "COMPLETED", at=later + timedelta(seconds=1))
        assert journal.tracked() == []
        assert not journal.observe("id-unknown", "COMPLETED", at=later)
        assert journal.event("id-1", "RESOURCE_REQUEST_REMINDER", {"daysUntilRejection": 27})
        assert not journal.event("id-1", "RESOURCE_REQUEST_REMINDER", {"daysUntilRejection": 27})


def test_a_status_held_as_of_a_time_ahead_of_this_clock_is_replaced(state_dir: Path) -> None:
    """A status held as of a time beyond now plus CLOCK_SKEW (recorded before webhooks
    were clamped, or with the clock since set back) no longer blocks what is read now;
    one ahead by less than the skew still outranks an older observation."""
    now = datetime.now(UTC)
    with Journal.open(state_dir, ACCOUNT) as journal:
        put(journal, "k", "SUBMITTED")
        assert journal.observe("id-k", "UPDATE_REQUESTED", at=now + timedelta(days=1))
        assert journal.observe("id-k", "IN_REVIEW", at=now)
        assert journal.observe("id-k", "UPDATE_REQUESTED", at=now + timedelta(minutes=1))
        assert not journal.observe("id-k", "PENDING", at=now)
        entry = journal.get("k")
    assert entry is not None and entry.request_status == "UPDATE_REQUESTED"
    assert journal_module.CLOCK_SKEW == timedelta(minutes=5)


def test_a_new_status_starts_a_new_reminder_countdown(state_dir: Path) -> None:
    """A request asked to change again after moving on counts its days afresh: the last
    cycle's "3 days left" does not stay, nor block the new cycle's reminders."""
    now = datetime.now(UTC)
    with Journal.open(state_dir, ACCOUNT) as journal:
        journal.validated([row("k")])
        journal.submitting("k", {"type": "NUMBER_PURCHASE"})
        journal.submitted("k", "id-1")
        assert journal.observe("id-1", "UPDATE_REQUESTED", at=now)
        assert journal.remind("id-1", 3)
        assert journal.observe("id-1", "UPDATE_REQUESTED", at=now + timedelta(seconds=1))
        assert journal.get("k").days_until_rejection == 3  # type: ignore[union-attr]
        assert journal.observe("id-1", "IN_REVIEW", at=now + timedelta(seconds=2))
        assert journal.get("k").days_until_rejection is None  # type: ignore[union-attr]


def sent(journal: Journal, key: str = "k") -> str:
    """Bring a new row to SUBMITTED and return its requestId."""
    put(journal, key, "SUBMITTED")
    return f"id-{key}"


@pytest.mark.parametrize(
    "status",
    [
        pytest.param("UPDATE_REQUESTED", id="update-requested"),
        pytest.param("UPDATE_REQUESTED_BY_INTERNAL_REVIEWER", id="by-internal-reviewer"),
    ],
)
def test_asked_at_is_when_a_change_request_was_first_seen(journal: Journal, status: str) -> None:
    """A change request seen again later keeps the time it was first seen as asked_at."""
    first = datetime.now(UTC)
    request_id = sent(journal)
    assert journal.get("k").asked_at is None  # type: ignore[union-attr]
    assert journal.observe(request_id, status, at=first)
    assert journal.get("k").asked_at == first  # type: ignore[union-attr]
    assert journal.observe(request_id, status, at=first + timedelta(hours=1))
    entry = journal.get("k")
    assert entry is not None and entry.status_at == first + timedelta(hours=1)
    assert entry.asked_at == first


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "UPDATE_REQUESTED", "UPDATE_REQUESTED_BY_INTERNAL_REVIEWER", id="to-internal-reviewer"
        ),
        pytest.param(
            "UPDATE_REQUESTED_BY_INTERNAL_REVIEWER", "UPDATE_REQUESTED", id="to-update-requested"
        ),
    ],
)
def test_asked_at_starts_anew_with_the_other_asking_status(
    journal: Journal, before: str, after: str
) -> None:
    """A change from one asking status to the other is a new request for changes."""
    first = datetime.now(UTC)
    request_id = sent(journal)
    assert journal.observe(request_id, before, at=first)
    assert journal.observe(request_id, after, at=first + timedelta(hours=1))
    entry = journal.get("k")
    assert entry is not None and entry.request_status == after
    assert entry.asked_at == first + timedelta(hours=1)


@pytest.mark.parametrize(
    "status",
    [
        pytest.param("IN_REVIEW", id="in-review"),
        pytest.param("PENDING", id="pending"),
        pytest.param("REJECTED", id="rejected"),
        pytest.param("COMPLETED", id="completed"),
    ],
)
def test_asked_at_is_cleared_when_infobip_stops_asking(journal: Journal, status: str) -> None:
    """A non-asking status clears asked_at, and a later change request is timed afresh."""
    first = datetime.now(UTC)
    request_id = sent(journal)
    assert journal.observe(request_id, "UPDATE_REQUESTED", at=first)
    assert journal.observe(request_id, status, at=first + timedelta(hours=1))
    assert journal.get("k").asked_at is None  # type: ignore[union-attr]
    assert journal.observe(request_id, "UPDATE_REQUESTED", at=first + timedelta(hours=2))
    assert journal.get("k").asked_at == first + timedelta(hours=2)  # type: ignore[union-attr]


def test_an_older_observation_leaves_asked_at_alone(journal: Journal) -> None:
    """A late webhook from before the change request neither clears nor moves asked_at."""
    asked = datetime.now(UTC)
    request_id = sent(journal)
    assert journal.observe(request_id, "UPDATE_REQUESTED", at=asked)
    assert not journal.observe(request_id, "IN_REVIEW", at=asked - timedelta(minutes=5))
    assert not journal.observe(request_id, "UPDATE_REQUESTED", at=asked - timedelta(minutes=1))
    entry = journal.get("k")
    assert entry is not None and (entry.request_status, entry.asked_at) == (
        "UPDATE_REQUESTED",
        asked,
    )


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("ref-1", id="referenced"),
        pytest.param("sha256:c1", id="by-content"),
    ],
)
def test_updated_clears_asked_at(journal: Journal, key: str) -> None:
    """A request PATCHed with the changes asked for is no longer being asked to change."""
    request_id = sent(journal, key)
    assert journal.observe(request_id, "UPDATE_REQUESTED", at=datetime.now(UTC))
    assert journal.get(key).asked_at is not None  # type: ignore[union-attr]
    journal.updated(key, "c2", {**BODY, "senderName": "Fixed"}, "IN_REVIEW")
    keys = [key, "sha256:c2"] if key.startswith("sha256:") else [key]
    found = journal.entries(keys)
    assert sorted(found) == sorted(keys)
    for entry in found.values():
        assert (entry.request_status, entry.asked_at) == ("IN_REVIEW", None)


def test_reopen_makes_a_rejected_row_ready_to_send_again(journal: Journal) -> None:
    """A row whose request was rejected becomes VALIDATED, with no request or status."""
    request_id = sent(journal)
    feedback = [{"key": "vatNumber", "code": "RES_REQ_FEED_FORMAT", "feedback": "bad"}]
    assert journal.observe(request_id, "UPDATE_REQUESTED", at=datetime.now(UTC))
    assert journal.remind(request_id, 3)
    assert journal.observe(request_id, "REJECTED", at=datetime.now(UTC), feedback=feedback)
    journal.reopen("k", request_id)
    entry = journal.get("k")
    assert entry is not None and entry.state == "VALIDATED"
    assert (entry.request_id, entry.request_status, entry.status_at) == (None, None, None)
    assert (entry.feedback, entry.days_until_rejection, entry.asked_at) == (None, None, None)
    assert journal.by_request_id([request_id]) == {}


def test_reopen_keeps_the_old_request_among_the_earlier_ones(journal: Journal) -> None:
    """The rejected request stays known: listed by earlier() and request_ids(), and
    replaced_by() leads from it to the row as it now is."""
    request_id = sent(journal)
    assert journal.observe(request_id, "REJECTED", at=datetime.now(UTC))
    journal.reopen("k", request_id)
    entry = journal.get("k")
    assert entry is not None
    assert journal.earlier(["k", "unknown"]) == {"k": [(request_id, "REJECTED", entry.updated_at)]}
    assert journal.request_ids() == {request_id}
    assert journal.replaced_by([request_id, "id-unknown"]) == {request_id: entry}


@pytest.mark.parametrize(
    ("state", "request_id"),
    [
        pytest.param("VALIDATED", "id-k", id="validated"),
        pytest.param("SUBMITTING", "id-k", id="submitting"),
        pytest.param("UNCERTAIN", "id-k", id="uncertain"),
        pytest.param("FAILED", "id-k", id="failed"),
        pytest.param("SUBMITTED", "id-other", id="submitted-as-another-id"),
        pytest.param(None, "id-k", id="unknown-key"),
    ],
)
def test_reopen_refuses_a_row_not_submitted_as_that_request(
    journal: Journal, state: str | None, request_id: str
) -> None:
    """Only a row SUBMITTED as the given requestId can be reopened; nothing else changes."""
    if state is not None:
        put(journal, "k", state)
    before = journal.get("k")
    with pytest.raises(JournalError, match=f"'k' is not SUBMITTED as '{request_id}'"):
        journal.reopen("k", request_id)
    assert journal.get("k") == before
    assert journal.earlier(["k"]) == {}
    assert journal.replaced_by([request_id]) == {}


def test_a_reopened_row_is_submitted_again_with_a_new_request_id(journal: Journal) -> None:
    """After reopen the row is sent again and takes a second requestId without a
    double-submit error; both requestIds stay known, the old one leading to the new."""
    old_id = sent(journal)
    assert journal.observe(old_id, "REJECTED", at=datetime.now(UTC))
    journal.reopen("k", old_id)
    journal.submitting("k", {**BODY, "senderName": "Fixed"})
    journal.submitted("k", "id-new", "PENDING")
    entry = journal.get("k")
    assert entry is not None and (entry.state, entry.request_id) == ("SUBMITTED", "id-new")
    assert journal.request_ids() == {old_id, "id-new"}
    assert [old for old, _, _ in journal.earlier(["k"])["k"]] == [old_id]
    assert journal.replaced_by([old_id]) == {old_id: entry}
    assert [e.key for e in journal.tracked()] == ["k"]


def test_earlier_lists_every_replaced_request_oldest_first(journal: Journal) -> None:
    """A row rejected twice lists both of its earlier requests, in the order replaced."""
    journal.validated([row("k")])
    for request_id, status in [("id-1", "REJECTED"), ("id-2", "CANCELED")]:
        journal.submitting("k", BODY)
        journal.submitted("k", request_id)
        assert journal.observe(request_id, status, at=datetime.now(UTC))
        journal.reopen("k", request_id)
    earlier = journal.earlier(["k"])["k"]
    assert [(old, status) for old, status, _ in earlier] == [
        ("id-1", "REJECTED"),
        ("id-2", "CANCELED"),
    ]
    assert set(journal.replaced_by(["id-1", "id-2"])) == {"id-1", "id-2"}


def test_replaced_records_an_earlier_request_once(journal: Journal) -> None:
    """Recording that a new row replaces a request twice keeps one earlier request."""
    journal.validated([row("new")])
    journal.replaced("new", "id-old", "REJECTED")
    journal.replaced("new", "id-old", "REJECTED")
    earlier = journal.earlier(["new"])
    assert [(old, status) for old, status, _ in earlier["new"]] == [("id-old", "REJECTED")]
    assert earlier["new"][0][2].utcoffset() is not None
    assert journal.request_ids() == {"id-old"}
    assert journal.replaced_by(["id-old"]) == {"id-old": journal.get("new")}


def test_a_version_3_journal_is_upgraded_keeping_its_rows(state_dir: Path) -> None:
    """A journal written before asked_at and earlier requests opens with its rows and
    versions, asked_at unknown, and can record earlier requests."""
    path = state_dir / f"journal-{ACCOUNT}.sqlite3"
    state_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path)) as db:
        for step in journal_module._MIGRATIONS[:3]:
            for statement in step:
                db.execute(statement)
        db.execute(
            "INSERT INTO requests (key, content, state, request_id, request_status, status_at,"
            " created_at, updated_at) VALUES ('k', 'c', 'SUBMITTED', 'id-1', 'UPDATE_REQUESTED',"
            " '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00',"
            " '2026-01-01T00:00:00+00:00')"
        )
        db.execute("INSERT INTO versions (key, content) VALUES ('k', 'c0')")
        db.execute("PRAGMA user_version = 3")
        db.commit()
    with Journal.open(state_dir, ACCOUNT) as journal:
        entry = journal.get("k")
        assert entry is not None and (entry.state, entry.request_id) == ("SUBMITTED", "id-1")
        assert (entry.request_status, entry.asked_at) == ("UPDATE_REQUESTED", None)
        assert journal.had("k", "c0")
        assert journal.earlier(["k"]) == {}
        assert journal.observe("id-1", "REJECTED", at=datetime.now(UTC))
        journal.reopen("k", "id-1")
        assert [(old, status) for old, status, _ in journal.earlier(["k"])["k"]] == [
            ("id-1", "REJECTED")
        ]
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == journal_module.SCHEMA_VERSION


# -- out of space -------------------------------------------------------------------------


def fill(journal: Journal) -> None:
    """Make the journal's disk "full": SQLite may not grow the file past its size now
    (the limit holds for this connection only, so a later open is not full)."""
    journal._db.execute("PRAGMA max_page_count = 1")  # never below the current size


def test_a_full_journal_says_out_of_space_and_keeps_what_it_had(state_dir: Path) -> None:
    """SQLite's "database or disk is full" is a DiskFull (a JournalError) that says out of
    space and names the file and its folder; the failed change is not made, what was
    committed before stays, and a row that could not become SUBMITTING stays VALIDATED
    (so its POST never leaves)."""
    big = {"note": "x" * 50_000}
    with Journal.open(state_dir, ACCOUNT) as journal:
        journal.validated([row("k")])
        fill(journal)
        with pytest.raises(DiskFull) as caught:
            journal.validated([row(f"new-{n}", "c" * 10_000) for n in range(20)])
        with pytest.raises(DiskFull):
            journal.submitting("k", big)
        path = journal.path
    message = str(caught.value)
    assert message.startswith(f"out of space: cannot write journal {path} (database or disk")
    assert f"the disk holding {state_dir} is full; free some space there" in message
    assert isinstance(caught.value, JournalError) and caught.value.path == path
    assert out_of_space(caught.value)
    with Journal.open(state_dir, ACCOUNT) as journal:
        entry = journal.get("k")
        assert entry is not None and entry.state is State.VALIDATED and entry.body is None
        assert journal.get("new-0") is None
        journal.submitting("k", big)  # room again: the journal works as before


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT], ids=["ENOSPC", "EDQUOT"])
def test_a_full_disk_when_taking_the_lock_says_out_of_space(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    """Writing the pid to the lock file on a full disk (or over quota) is a DiskFull naming
    the lock file and its folder, not an OSError; the lock is not left held."""

    with monkeypatch.context() as patch, pytest.raises(DiskFull) as caught:
        patch.setattr(journal_module.os, "write", failing_pid_write(code))
        with state_lock(state_dir):
            pytest.fail("the lock was taken")
    pid = state_dir / "lock.pid"
    expected = f"out of space: cannot write lock file {pid} ({os.strerror(code)}): the disk"
    assert str(caught.value).startswith(expected)
    assert f"the disk holding {state_dir} is full" in str(caught.value)
    assert out_of_space(caught.value) and caught.value.path == pid
    with state_lock(state_dir):
        assert pid.read_text() == f"{os.getpid()}\n"


def test_other_lock_file_failures_are_not_out_of_space(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An I/O error writing the lock file is a JournalError naming it, not a DiskFull."""

    monkeypatch.setattr(journal_module.os, "write", failing_pid_write(errno.EIO))
    with pytest.raises(JournalError) as caught, state_lock(state_dir):
        pytest.fail("the lock was taken")
    pid, error = state_dir / "lock.pid", os.strerror(errno.EIO)
    assert str(caught.value) == f"cannot write lock file {pid}: {error}"
    assert not isinstance(caught.value, DiskFull) and not out_of_space(caught.value)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(OSError(errno.ENOSPC, "No space left on device"), True, id="ENOSPC"),
        pytest.param(OSError(errno.EDQUOT, "Disk quota exceeded"), True, id="EDQUOT"),
        pytest.param(OSError(errno.EACCES, "Permission denied"), False, id="EACCES"),
        pytest.param(JournalError("journal x: disk I/O error"), False, id="journal-error"),
        pytest.param(ValueError("no"), False, id="other"),
    ],
)
def test_out_of_space_tells_a_full_disk_from_anything_else(
    error: BaseException, expected: bool
) -> None:
    """out_of_space() is true for a full disk or quota, also as the cause of another error."""
    assert out_of_space(error) is expected
    try:
        try:
            raise error
        except BaseException as exc:
            raise RuntimeError("wrapped") from exc
    except RuntimeError as wrapped:
        assert out_of_space(wrapped) is expected


def test_a_journal_that_is_a_folder_says_so(tmp_path: Path) -> None:
    """A folder where the journal file belongs: a JournalError saying so, not SQLite's
    "unable to open database file"."""
    (tmp_path / "journal-abc.sqlite3").mkdir()
    with pytest.raises(JournalError) as caught:
        Journal.open(tmp_path, "abc")
    assert str(caught.value) == (
        f"journal {tmp_path / 'journal-abc.sqlite3'}: cannot open it: it is a folder, not a"
        " journal file: move it aside"
    )
