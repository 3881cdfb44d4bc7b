"""`resource-batch status`: where each request stands, which rows need a person (named by
file, sheet, row and reference), and an exit code cron can alert on. Through the CLI,
against the sandbox, its lifecycle moved on with /_sandbox/clock; a real journal."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import platformdirs

from batch.config import APP
from batch.outcome import ASKING
from tests.test_followup import asked, results_path, status


def test_status_names_the_rows_that_need_a_person_and_exits_1(busy, tmp_path) -> None:
    """Each request Infobip asks to change is named by file, row and reference, each of
    its feedback items on a line of its own; status exits 1 while any needs a person,
    and the sheet's nextStep says what to do."""
    batch = busy(tmp_path)
    path, _, _ = asked(batch)
    results = results_path(path)
    result = status(batch, str(results), "--log-format", "text")
    assert result.exit_code == 1, result.output
    rows = batch.results(results)
    asking = [row for row in rows if row["requestStatus"] in ASKING]
    assert asking
    for row in asking:
        number = rows.index(row) + 2
        head = f"needs you: {results.name}, row {number} ({row['requestId']}): "
        lines = [line for line in result.output.splitlines() if line.startswith(head)]
        assert lines[0].startswith(head + f"{row['requestStatus']}: Infobip asks for changes")
        feedback = row["feedback"].splitlines()
        assert [line.removeprefix(head + "Infobip asks: ") for line in lines[1:]] == feedback
        assert row["nextStep"].startswith("Infobip asks for changes (see feedback)")
        assert "about 30 days" in row["nextStep"] and row["daysUntilRejection"] == "30"
    others = [row for row in rows if row not in asking]
    assert all(row["requestId"] not in result.output for row in others)


def test_status_without_files_lists_the_journal_and_writes_it_out(busy, tmp_path) -> None:
    """Without files, every unfinished request of the journal is listed (with where its
    row was); --out writes them to a workbook, the ones that need a person in red."""
    batch = busy(tmp_path)
    path, _, first = asked(batch)
    out = tmp_path / "open.xlsx"
    result = status(batch, "--out", str(out), "--log-format", "text")
    assert result.exit_code == 1, result.output
    book = openpyxl.load_workbook(out)
    sheet = book["Requests"]
    headers = [cell.value for cell in sheet[1]]
    listed = [dict(zip(headers, (c.value for c in row), strict=True)) for row in sheet.iter_rows(2)]
    assert {row["requestId"] for row in listed} == {row["requestId"] for row in first}
    for row in listed:
        number = next(i for i, r in enumerate(first, start=2) if r["requestId"] == row["requestId"])
        assert row["where"] == f"{path.name}, row {number}"
    red = [
        row
        for row, cells in zip(listed, sheet.iter_rows(2), strict=True)
        if cells[0].fill.fgColor.rgb == "FFFFC7CE"
    ]
    assert {row["requestStatus"] for row in red} <= ASKING and red


def test_status_exits_0_when_nothing_needs_a_person(busy, tmp_path) -> None:
    """Requests Infobip is reviewing need nobody: exit 0, and the sheet says so."""
    batch = busy(tmp_path)
    batch.document("docs/registration.pdf")
    from tests.test_run import toll_free

    path = batch.csv([toll_free("2"), toll_free("3")])
    assert batch.run(str(path)).exit_code == 0
    results = results_path(path)
    result = status(batch, str(results))
    assert result.exit_code == 0, result.output
    assert {row["nextStep"] for row in batch.results(results)} == {
        "Nothing to do: Infobip is reviewing it. Run resource-batch status to follow it."
    }


def test_a_rejected_request_needs_a_person(busy, tmp_path) -> None:
    """Infobip rejects a request left unanswered 30 days after asking: status names it
    (with Infobip's note), exits 1, and the row says how to ask again."""
    batch = busy(tmp_path)
    path, _, _ = asked(batch)
    results = results_path(path)
    ids = {r["requestId"] for r in batch.results(results) if r}
    assert status(batch, str(results)).exit_code == 1
    asking = {r["id"] for r in batch.api.stored() if r["status"] in ASKING and r["id"] in ids}
    batch.api.advance(31 * 86400)
    assert {r["status"] for r in batch.api.stored() if r["id"] in asking} == {"REJECTED"}
    result = status(batch, str(results), "--log-format", "text")
    assert result.exit_code == 1
    for row in batch.results(results):
        if row["requestId"] in asking:
            assert row["requestStatus"] == "REJECTED"
            assert "put resubmit in the action column" in row["nextStep"]
            assert f"({row['requestId']}): REJECTED: Infobip rejected it" in result.output
            assert "Infobip's note: Rejected automatically" in result.output


def test_days_left_are_estimated_without_a_reminder(busy, tmp_path) -> None:
    """Without a reminder webhook, the days left are counted from when the change request
    was first seen, and the sheet says it is an estimate."""
    batch = busy(tmp_path)
    path, _, _ = asked(batch)
    results = results_path(path)
    assert status(batch, str(results)).exit_code == 1
    [journal] = Path(platformdirs.user_data_dir(APP)).rglob("journal-*.sqlite3")
    seen = (datetime.now(UTC) - timedelta(days=10, hours=1)).isoformat(timespec="microseconds")
    with sqlite3.connect(journal) as db:
        db.execute("UPDATE requests SET asked_at = ? WHERE asked_at IS NOT NULL", (seen,))
    assert status(batch, str(results)).exit_code == 1
    rows = [r for r in batch.results(results) if r["requestStatus"] in ASKING]
    assert rows and {r["daysUntilRejection"] for r in rows} == {"20"}
    assert all("about 20 days (estimated" in r["nextStep"] for r in rows)


def test_status_refuses_a_sheet_that_is_not_a_results_sheet(batch, tmp_path) -> None:
    """Given the filled-in input instead of its results, status says so (exit 2) and
    leaves the file exactly as it was."""
    from tests.test_run import toll_free

    path = batch.csv([toll_free("2")])
    before = path.read_bytes()
    result = status(batch, str(path))
    assert result.exit_code == 2
    assert "is not a results sheet (it has no requestId column)" in result.output
    assert path.read_bytes() == before


def test_status_with_a_refused_key_and_nothing_tracked_is_exit_3(batch) -> None:
    """A wrong key has a journal of its own, empty: status still asks Infobip once, so a
    cron job hears of the refused key (exit 3) instead of "nothing needs you"."""
    result = batch.run("status", env={"INFOBIP_API_KEY": "wrong"}, fast=False)
    assert result.exit_code == 3, result.output
    assert "Infobip refused the credentials" in result.output


def test_status_says_which_rows_wait_for_a_later_run(batch, tmp_path) -> None:
    """Rows held back by the pending cap are named as waiting for a later run."""
    from tests.test_run import DOC, hr_alpha

    batch.document(DOC)
    path = batch.csv([hr_alpha(f"Acme{i}") for i in range(3)])
    assert batch.run(str(path)).exit_code == 1
    result = status(batch, str(results_path(path)), "--log-format", "text")
    assert result.exit_code == 0, result.output
    assert "1 row(s) not sent yet (DEFERRED or stopped): run the file again" in result.output


def test_status_waits_for_a_run_that_holds_the_state_folder(batch) -> None:
    """status rewrites results sheets: while a run holds the state folder (and may be
    writing the same sheet) it exits 4 naming it, and leaves the sheet alone; without
    files it only reads, and is not blocked."""
    from batch import journal
    from tests.test_run import toll_free

    state = batch.folder / "state"
    path = batch.csv([toll_free("2")])
    assert batch.run(str(path), "--state-dir", str(state)).exit_code == 0
    results = results_path(path)
    before = results.read_bytes()
    with journal.state_lock(state):
        held = status(batch, str(results), "--state-dir", str(state))
        assert held.exit_code == 4 and f"pid {os.getpid()}" in held.output
        assert results.read_bytes() == before
        assert status(batch, "--state-dir", str(state)).exit_code == 0
