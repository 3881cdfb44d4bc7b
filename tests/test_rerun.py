"""Running again: the journal in the state folder makes a rerun (of the same file, of a
later file sharing rows, of a cron inbox) submit only what was never submitted, and keeps
two runs from using one state folder at once. All through the CLI, against a sandbox over
loopback HTTP, with a real SQLite journal."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import platformdirs
import pytest

from batch import journal as batch_journal
from batch.config import APP
from tests.conftest import Batch
from tests.helpers import failing_pid_write
from tests.test_run import DOC, hr_alpha, hr_rcs, toll_free

SUBMIT = ("submit-resource-request", 201)
UPLOAD = ("upload-document", 201)
FINAL = ("COMPLETED", "REJECTED", "CANCELED")


def results_of(batch: Batch, path: Path) -> list[dict[str, str]]:
    return batch.results(path.with_name(f"{path.stem}.results.csv"))


def sends(batch: Batch) -> int:
    """Every submit or upload attempt the sandbox saw, whatever its answer."""
    return sum(
        n
        for (op, _), n in batch.api.calls().items()
        if op in ("submit-resource-request", "upload-document")
    )


def test_rerunning_the_same_file_submits_nothing(batch) -> None:
    """The same sheet run twice: the second run sends nothing and reports each row
    ALREADY_SUBMITTED with the requestId, status and time the first run got."""
    batch.document(DOC)
    path = batch.csv([hr_alpha(), toll_free(), hr_rcs()])
    first = batch.run(str(path))
    assert first.exit_code == 0, first.output
    before = results_of(batch, path)
    assert [r["result"] for r in before] == ["SUBMITTED"] * 3
    calls, stored = batch.api.calls(), batch.api.stored()
    assert calls[SUBMIT] == 3 and len(stored) == 3

    second = batch.run(str(path))
    assert second.exit_code == 0, second.output
    after = results_of(batch, path)
    assert [r["result"] for r in after] == ["ALREADY_SUBMITTED"] * 3
    assert [r["requestId"] for r in after] == [r["requestId"] for r in before]
    assert all(r["requestId"] for r in after)
    assert [r["requestStatus"] for r in after] == ["PENDING"] * 3
    assert [r["submittedAt"] for r in after] == [r["submittedAt"] for r in before]
    assert all(r["submittedAt"] for r in after)
    assert batch.api.calls()[SUBMIT] == 3
    assert batch.api.calls()[UPLOAD] == calls[UPLOAD] == 1
    assert sends(batch) == 4, batch.api.calls()
    assert len(batch.api.stored()) == 3


def test_a_later_file_sharing_rows_submits_only_the_new_ones(batch) -> None:
    """A different file repeating some rows (same content, no reference) among new ones:
    only the new rows are submitted, the repeated ones are ALREADY_SUBMITTED."""
    batch.document(DOC)
    first = batch.csv([toll_free("1"), hr_alpha("AcmeOne")], name="monday.csv")
    assert batch.run(str(first)).exit_code == 0
    earlier = {r["quantity"] or r["senderName"]: r["requestId"] for r in results_of(batch, first)}

    second = batch.csv(
        [toll_free("3"), hr_alpha("AcmeOne"), toll_free("1"), hr_rcs()], name="tuesday.csv"
    )
    result = batch.run(str(second))
    assert result.exit_code == 0, result.output
    rows = results_of(batch, second)
    assert [r["result"] for r in rows] == [
        "SUBMITTED",
        "ALREADY_SUBMITTED",
        "ALREADY_SUBMITTED",
        "SUBMITTED",
    ]
    assert rows[1]["requestId"] == earlier["AcmeOne"]
    assert rows[2]["requestId"] == earlier["1"]
    stored = batch.api.stored()
    assert len(stored) == 4
    assert batch.api.calls()[SUBMIT] == 4
    assert {rows[0]["requestId"], rows[3]["requestId"]} == {r["id"] for r in stored} - set(
        earlier.values()
    )


def test_same_reference_same_content_is_already_submitted(batch) -> None:
    """A row with a reference sent again unchanged, in a later file among other rows, is
    ALREADY_SUBMITTED with its first requestId."""
    first = batch.csv([toll_free("2", reference="CRM-1")], name="first.csv")
    assert batch.run(str(first)).exit_code == 0
    request_id = results_of(batch, first)[0]["requestId"]
    second = batch.csv(
        [toll_free("5", reference="CRM-2"), toll_free("2", reference="CRM-1")], name="second.csv"
    )
    result = batch.run(str(second))
    assert result.exit_code == 0, result.output
    rows = results_of(batch, second)
    assert [r["result"] for r in rows] == ["SUBMITTED", "ALREADY_SUBMITTED"]
    assert rows[1]["requestId"] == request_id
    assert len(batch.api.stored()) == 2


def test_same_reference_changed_content_is_a_conflict(batch) -> None:
    """A reference already submitted, now with different content (quantity, vatNumber):
    CONFLICT naming the reference and the earlier requestId; nothing sent; exit 1."""
    batch.document(DOC)
    first = batch.csv(
        [toll_free("2", reference="CRM-1"), hr_alpha(reference="CRM-2")], name="first.csv"
    )
    assert batch.run(str(first)).exit_code == 0
    ids = [r["requestId"] for r in results_of(batch, first)]
    stored = len(batch.api.stored())
    attempts = sends(batch)

    second = batch.csv(
        [
            toll_free("3", reference="CRM-1"),
            hr_alpha(reference="CRM-2", vatNumber="HR98765432109"),
        ],
        name="second.csv",
    )
    result = batch.run(str(second))
    assert result.exit_code == 1, result.output
    rows = results_of(batch, second)
    assert [r["result"] for r in rows] == ["CONFLICT", "CONFLICT"]
    for row, reference, request_id in zip(rows, ("CRM-1", "CRM-2"), ids, strict=True):
        assert reference in row["errors"] and request_id in row["errors"], row["errors"]
        assert row["requestId"] == ""
    assert len(batch.api.stored()) == stored
    assert sends(batch) == attempts


def test_deferred_rows_are_sent_by_the_next_run(make_api, tmp_path) -> None:
    """Rows DEFERRED by Infobip's pending cap are sent again by the next run, once there
    is room; the rows submitted before are ALREADY_SUBMITTED."""
    batch = Batch(make_api(rate_limits=False, alpha_pending_cap=1), tmp_path)
    batch.document(DOC)
    path = batch.csv([hr_alpha("AcmeOne"), hr_alpha("AcmeTwo")])
    first = batch.run(str(path))
    assert first.exit_code == 1, first.output
    before = results_of(batch, path)
    assert sorted(r["result"] for r in before) == ["DEFERRED", "SUBMITTED"]
    submitted = next(r for r in before if r["result"] == "SUBMITTED")

    still = batch.run(str(path))  # no room yet: deferred again, nothing else sent twice
    assert still.exit_code == 1, still.output
    assert sorted(r["result"] for r in results_of(batch, path)) == [
        "ALREADY_SUBMITTED",
        "DEFERRED",
    ]
    assert len(batch.api.stored()) == 1

    for _ in range(12):  # make room: the pending request reaches a final status
        (pending,) = batch.api.stored()
        if pending["status"] in FINAL:
            break
        batch.api.advance(5 * 24 * 3600)
    assert pending["status"] in FINAL, pending["status"]

    second = batch.run(str(path))
    assert second.exit_code == 0, second.output
    after = results_of(batch, path)
    for old, new in zip(before, after, strict=True):
        if old["result"] == "SUBMITTED":
            assert new["result"] == "ALREADY_SUBMITTED"
            assert new["requestId"] == old["requestId"] == submitted["requestId"]
        else:
            assert new["result"] == "SUBMITTED" and new["requestId"]
            assert new["requestId"] != submitted["requestId"]
    assert len(batch.api.stored()) == 2
    assert batch.api.calls()[SUBMIT] == 2


def test_validate_after_a_run_shows_already_submitted(batch) -> None:
    """`validate` of a sheet already run says which rows are ALREADY_SUBMITTED (and
    VALID for new ones) and sends nothing."""
    batch.document(DOC)
    path = batch.csv([hr_alpha(), toll_free()])
    assert batch.run(str(path)).exit_code == 0
    ids = [r["requestId"] for r in results_of(batch, path)]
    attempts = sends(batch)
    path = batch.csv([hr_alpha(), toll_free(), toll_free("7")])
    result = batch.run("validate", str(path))
    assert result.exit_code == 0, result.output
    rows = results_of(batch, path)
    assert [r["result"] for r in rows] == ["ALREADY_SUBMITTED", "ALREADY_SUBMITTED", "VALID"]
    assert [r["requestId"] for r in rows[:2]] == ids
    assert sends(batch) == attempts
    assert len(batch.api.stored()) == 2


def test_a_file_uploaded_by_an_earlier_run_is_not_uploaded_again(batch) -> None:
    """A new row in a later run naming a file an earlier run uploaded reuses its
    documentId: no second upload."""
    batch.document(DOC)
    first = batch.csv([hr_alpha("AcmeOne")], name="first.csv")
    assert batch.run(str(first)).exit_code == 0
    assert batch.api.calls()[UPLOAD] == 1
    document_ids = results_of(batch, first)[0]["documentIds"]
    document_id = document_ids.split(": ")[1]

    second = batch.csv([hr_alpha("AcmeTwo"), hr_rcs()], name="second.csv")
    result = batch.run(str(second))
    assert result.exit_code == 0, result.output
    rows = results_of(batch, second)
    assert [r["result"] for r in rows] == ["SUBMITTED", "SUBMITTED"]
    assert rows[0]["documentIds"] == document_ids
    assert rows[1]["documentIds"] == f"attestationLetter: {document_id}"
    assert sum(n for (op, _), n in batch.api.calls().items() if op == "upload-document") == 1


@contextlib.contextmanager
def lock_in_child(state_dir: Path) -> Iterator[subprocess.Popen[str]]:
    """A child process holding the state lock until it is killed."""
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from batch.journal import state_lock\n"
        "with state_lock(Path(sys.argv[1])):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(state_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "locked\n"
        yield child
    finally:
        child.kill()
        child.communicate()


def test_a_held_lock_refuses_run_but_not_validate(batch) -> None:
    """While another run holds the state folder, `run` exits 4 naming that run's pid and
    sends nothing; `validate`, which sends nothing, is not blocked."""
    state_dir = batch.folder / "state"
    path = batch.csv([toll_free()])
    with batch_journal.state_lock(state_dir):
        result = batch.run(str(path), "--state-dir", str(state_dir))
        assert result.exit_code == 4, result.output
        assert f"pid {os.getpid()}" in result.stderr
        assert str(state_dir) in result.stderr
        by_env = batch.run(str(path), env={"RESOURCE_BATCH_STATE_DIR": str(state_dir)})
        assert by_env.exit_code == 4, by_env.output
        checked = batch.run("validate", str(path), "--state-dir", str(state_dir))
        assert checked.exit_code == 0, checked.output
        assert [r["result"] for r in results_of(batch, path)] == ["VALID"]
    assert batch.api.stored() == []
    assert not any(op == "submit-resource-request" for op, _ in batch.api.calls())


def test_a_lock_left_by_a_killed_run_does_not_block(batch) -> None:
    """A run killed with SIGKILL while holding the state folder does not block the next."""
    state_dir = batch.folder / "state"
    path = batch.csv([toll_free()])
    with lock_in_child(state_dir) as child:
        held = batch.run(str(path), "--state-dir", str(state_dir))
        assert held.exit_code == 4
        assert f"pid {child.pid}" in held.stderr
        child.kill()  # SIGKILL; TerminateProcess on Windows
        child.wait(timeout=10)
        result = batch.run(str(path), "--state-dir", str(state_dir))
    assert result.exit_code == 0, result.output
    assert [r["result"] for r in results_of(batch, path)] == ["SUBMITTED"]
    assert len(batch.api.stored()) == 1


def test_inbox_runs_each_file_in_name_order_and_files_it_away(batch) -> None:
    """`run --inbox DIR` runs each .csv in name order, writes DIR/results/<stem>.results.csv,
    moves each input to DIR/processed; other and hidden files are left alone."""
    inbox = batch.folder / "inbox"
    inbox.mkdir()
    b = Batch(batch.api, inbox).csv([toll_free("4"), toll_free("5")], name="b.csv")
    a = Batch(batch.api, inbox).csv([toll_free("1")], name="a.csv")
    notes = inbox / "notes.txt"
    notes.write_text("not a request file")
    partial = Batch(batch.api, inbox).csv([toll_free("9")], name=".partial.csv")
    result = batch.run("--inbox", str(inbox), "--log-format", "json")
    assert result.exit_code == 0, result.output
    assert [r["quantity"] for r in batch.api.stored()] == [1, 4, 5], "a.csv runs first"
    results = inbox / "results"
    assert [r["result"] for r in batch.results(results / "a.results.csv")] == ["SUBMITTED"]
    assert [r["result"] for r in batch.results(results / "b.results.csv")] == ["SUBMITTED"] * 2
    assert sorted(p.name for p in (inbox / "processed").iterdir()) == ["a.csv", "b.csv"]
    assert not a.exists() and not b.exists()
    assert notes.read_text() == "not a request file"
    assert partial.exists()
    assert sorted(p.name for p in inbox.iterdir()) == [
        ".partial.csv",
        "notes.txt",
        "processed",
        "results",
    ]


def test_inbox_rejects_a_broken_file_and_runs_the_others(batch) -> None:
    """An unreadable input goes to DIR/rejected with the reason in DIR/results; the other
    files are still run; exit 2."""
    inbox = batch.folder / "inbox"
    inbox.mkdir()
    (inbox / "a.csv").write_text("type,quantity,type\nNUMBER_PURCHASE,1,x\n")
    (inbox / "b.xlsx").write_text("not a workbook")
    good = Batch(batch.api, inbox).csv([toll_free("3")], name="c.csv")
    result = batch.run("--inbox", str(inbox))
    assert result.exit_code == 2, result.output
    assert sorted(p.name for p in (inbox / "rejected").iterdir()) == ["a.csv", "b.xlsx"]
    assert "duplicate column 'type'" in (inbox / "results" / "a.csv.error.txt").read_text()
    assert "b.xlsx" in (inbox / "results" / "b.xlsx.error.txt").read_text()
    assert not good.exists()
    assert [p.name for p in (inbox / "processed").iterdir()] == ["c.csv"]
    rows = batch.results(inbox / "results" / "c.results.csv")
    assert [r["result"] for r in rows] == ["SUBMITTED"]
    assert [r["quantity"] for r in batch.api.stored()] == [3]


def test_inbox_file_with_deferred_rows_stays_for_the_next_run(make_api, tmp_path) -> None:
    """A file with DEFERRED rows stays in the inbox (exit 1); a file done is filed away."""
    batch = Batch(make_api(rate_limits=False, alpha_pending_cap=1), tmp_path)
    inbox = tmp_path / "inbox"
    folder = Batch(batch.api, inbox)
    folder.document(DOC)
    waiting = folder.csv([hr_alpha("AcmeOne"), hr_alpha("AcmeTwo")], name="a.csv")
    done = folder.csv([toll_free()], name="b.csv")
    result = batch.run("--inbox", str(inbox))
    assert result.exit_code == 1, result.output
    assert waiting.exists() and not done.exists()
    assert [p.name for p in (inbox / "processed").iterdir()] == ["b.csv"]
    rows = batch.results(inbox / "results" / "a.results.csv")
    assert sorted(r["result"] for r in rows) == ["DEFERRED", "SUBMITTED"]


def test_inbox_results_go_to_the_outbox(batch) -> None:
    """With --outbox, the inbox's results are written there."""
    inbox, outbox = batch.folder / "inbox", batch.folder / "outbox"
    inbox.mkdir()
    Batch(batch.api, inbox).csv([toll_free()], name="a.csv")
    result = batch.run("--inbox", str(inbox), "--outbox", str(outbox))
    assert result.exit_code == 0, result.output
    assert [r["result"] for r in batch.results(outbox / "a.results.csv")] == ["SUBMITTED"]
    assert not (inbox / "results").exists()
    assert [p.name for p in (inbox / "processed").iterdir()] == ["a.csv"]


def test_a_file_dropped_again_in_the_inbox_is_already_submitted(batch) -> None:
    """The CRM drops a.csv again with the same rows: ALREADY_SUBMITTED, nothing sent, and
    processed/ and results/ keep both nights' files."""
    inbox = batch.folder / "inbox"
    inbox.mkdir()
    drop = Batch(batch.api, inbox)
    drop.csv([toll_free("1"), toll_free("2")], name="a.csv")
    assert batch.run("--inbox", str(inbox)).exit_code == 0
    first = batch.results(inbox / "results" / "a.results.csv")
    drop.csv([toll_free("1"), toll_free("2")], name="a.csv")
    result = batch.run("--inbox", str(inbox))
    assert result.exit_code == 0, result.output
    processed = sorted(p.name for p in (inbox / "processed").iterdir())
    assert len(processed) == 2 and "a.csv" in processed
    (again,) = [name for name in processed if name != "a.csv"]
    assert again.startswith("a-") and again.endswith(".csv")
    stamped = [p for p in (inbox / "results").iterdir() if p.name != "a.results.csv"]
    assert len(stamped) == 1 and stamped[0].name.endswith(".results.csv")
    rows = batch.results(stamped[0])
    assert [r["result"] for r in rows] == ["ALREADY_SUBMITTED"] * 2
    assert [r["requestId"] for r in rows] == [r["requestId"] for r in first]
    assert batch.results(inbox / "results" / "a.results.csv") == first
    assert len(batch.api.stored()) == 2
    assert batch.api.calls()[SUBMIT] == 2


@pytest.mark.parametrize("both", [False, True], ids=["neither", "both"])
def test_run_needs_exactly_one_of_input_and_inbox(batch, both) -> None:
    """`run` with neither INPUT nor --inbox, or with both, is a usage error (exit 2)."""
    inbox = batch.folder / "inbox"
    inbox.mkdir()
    path = batch.csv([toll_free()])
    args = [str(path), "--inbox", str(inbox)] if both else []
    result = batch.run("run", *args)
    assert result.exit_code == 2
    assert ("not both" if both else "give INPUT or --inbox DIR") in result.output
    assert batch.api.calls() == {}


def test_api_keys_appear_nowhere_and_state_is_private(make_api, tmp_path) -> None:
    """Neither the API key nor a refused one appears in any output or in any file the runs
    leave (results, cache, journal, its WAL); the journal and cache are owner-only."""
    key, wrong = "SECRET-KEY-4a7b9c", "OTHER-SECRET-9f8e7d"
    batch = Batch(make_api(rate_limits=False, api_key=key), tmp_path)
    assert batch.env["INFOBIP_API_KEY"] == key
    batch.document(DOC)
    path = batch.csv([hr_alpha(), toll_free(), hr_alpha("Bad", vatNumber="x")])
    outputs = [
        batch.run(str(path), "--log-format", "json"),
        batch.run("validate", str(path), "--log-format", "json"),
        batch.run(str(path), "--log-format", "json", env={"INFOBIP_API_KEY": wrong}),
    ]
    assert [r.exit_code for r in outputs] == [1, 1, 3]
    assert len(batch.api.stored()) == 2
    for result in outputs:
        for text in (result.stdout, result.stderr, result.output):
            assert key not in text and wrong not in text
    state, cache = Path(platformdirs.user_data_dir(APP)), Path(platformdirs.user_cache_dir(APP))
    folders = (tmp_path, state, cache)  # on Windows the cache is inside the state folder
    written = sorted({p for folder in folders for p in folder.rglob("*") if p.is_file()})
    journals = [p for p in written if p.name.endswith(".sqlite3")]
    assert journals, written
    caches = [p for p in written if p.suffix == ".json" and "cache" in p.parts[-5:]]
    assert caches, written
    for file in written:
        content = file.read_bytes()
        assert key.encode() not in content and wrong.encode() not in content, file
    if sys.platform == "win32":
        return  # modes are POSIX's; on Windows the user profile's ACL keeps these private
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for file in journals + caches:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_a_ca_bundle_that_is_not_pem_is_a_usage_error(batch) -> None:
    """--ca-bundle naming a file that holds no PEM certificates: exit 2 naming the file,
    nothing sent."""
    bundle = batch.folder / "proxy-ca.txt"
    bundle.write_text("this is not a certificate\n")
    path = batch.csv([toll_free()])
    result = batch.run(str(path), "--ca-bundle", str(bundle))
    assert result.exit_code == 2, result.output
    assert str(bundle) in result.output
    assert batch.api.stored() == []


def test_a_ca_bundle_that_is_not_pem_with_cached_requirements(batch) -> None:
    """With every requirement cached (the first request is the submit), a non-PEM
    --ca-bundle is still exit 2 naming the file; nothing is stored or left unsettled, and
    the next run with a good setup submits the row without searching Infobip's list."""
    bundle = batch.folder / "proxy-ca.txt"
    bundle.write_text("this is not a certificate\n")
    path = batch.csv([toll_free()])
    assert batch.run("validate", str(path)).exit_code == 0  # caches the requirements
    result = batch.run(str(path), "--ca-bundle", str(bundle))
    assert result.exit_code == 2, result.output
    assert str(bundle) in result.output
    assert batch.api.stored() == []
    again = batch.run(str(path))
    assert again.exit_code == 0, again.output
    assert [r["result"] for r in results_of(batch, path)] == ["SUBMITTED"]
    assert not any(op == "get-resource-requests" for op, _ in batch.api.calls())


def test_inbox_is_never_a_dry_run_nor_its_own_outbox(batch) -> None:
    """`run --inbox --dry-run` would file inputs away unsent, and an outbox that is the
    inbox would run results as inputs: both are usage errors; nothing moves or is sent."""
    inbox = batch.folder / "inbox"
    inbox.mkdir()
    path = Batch(batch.api, inbox).csv([toll_free()], name="a.csv")
    for extra in (["--dry-run"], ["--outbox", str(inbox)]):
        result = batch.run("--inbox", str(inbox), *extra)
        assert result.exit_code == 2, result.output
        assert path.exists() and not (inbox / "processed").exists()
    assert batch.api.stored() == []


def test_inbox_folders_that_cannot_be_made_are_a_clear_error(batch) -> None:
    """An outbox or processed folder blocked by a file: exit 2 naming it, no traceback."""
    inbox = batch.folder / "inbox"
    inbox.mkdir()
    Batch(batch.api, inbox).csv([toll_free()], name="a.csv")
    (batch.folder / "blocker").write_text("a file, not a folder")
    result = batch.run("--inbox", str(inbox), "--outbox", str(batch.folder / "blocker" / "out"))
    assert result.exit_code == 2 and "blocker" in result.output, result.output
    (inbox / "processed").write_text("a file where the folder goes")
    result = batch.run("--inbox", str(inbox))
    assert result.exit_code == 2 and "processed" in result.output, result.output
    assert (inbox / "results" / "a.results.csv").exists(), "results were written first"


# -- the journal in trouble ---------------------------------------------------------------


def test_a_full_disk_for_the_lock_file_exits_2_saying_out_of_space(batch, monkeypatch) -> None:
    """No room to write the pid in the lock file: exit 2 with an out-of-space message
    naming the state folder, not a traceback; nothing is sent."""
    state_dir = batch.folder / "state"
    path = batch.csv([toll_free()])

    monkeypatch.setattr(batch_journal.os, "write", failing_pid_write(errno.ENOSPC))
    result = batch.run(str(path), "--state-dir", str(state_dir))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(
        f"Error: out of space: cannot write lock file {state_dir / 'lock.pid'}"
        f" ({os.strerror(errno.ENOSPC)}): the disk holding {state_dir} is full"
    )
    assert batch.api.stored() == []


def test_a_full_journal_stops_the_run_saying_out_of_space(batch, monkeypatch) -> None:
    """A journal that cannot grow (SQLite's "database or disk is full"): the run exits 2
    with an out-of-space message naming the journal and sends nothing it could not record;
    with room again, the next run sends each row once."""
    state_dir = batch.folder / "state"
    batch.document(DOC)
    path = batch.csv([toll_free(str(n)) for n in range(1, 41)])
    prepare = batch_journal._prepare

    def full_after_opening(connection, journal_path, **options) -> None:
        prepare(connection, journal_path, **options)
        connection.execute("PRAGMA max_page_count = 1")  # no room beyond what it has

    with monkeypatch.context() as patch:  # undone after: space again
        patch.setattr(batch_journal, "_prepare", full_after_opening)
        result = batch.run(str(path), "--state-dir", str(state_dir))
    assert result.exit_code == 2, result.output
    [journal_path] = state_dir.glob("journal-*.sqlite3")
    assert (
        f"out of space: cannot write journal {journal_path} (database or disk is full):"
        f" the disk holding {state_dir} is full" in result.stderr
    )
    assert batch.api.stored() == []
    # Space again: the next run sends each row once.
    again = batch.run(str(path), "--state-dir", str(state_dir))
    assert again.exit_code == 0, again.output
    assert len(batch.api.stored()) == 40 == batch.api.calls()[SUBMIT]


def test_an_emptied_journal_stops_the_rerun_instead_of_submitting_again(batch) -> None:
    """A journal found empty (0 bytes: a bad restore, a full disk) after a run is not
    taken for a new one: the rerun exits 2 saying what was found and what to do, and
    nothing is submitted a second time."""
    state_dir = batch.folder / "state"
    batch.document(DOC)
    path = batch.csv([toll_free(str(n)) for n in range(1, 31)])
    assert batch.run(str(path), "--state-dir", str(state_dir)).exit_code == 0
    assert len(batch.api.stored()) == 30
    [journal_path] = state_dir.glob("journal-*.sqlite3")
    journal_path.write_bytes(b"")
    again = batch.run(str(path), "--state-dir", str(state_dir))
    assert again.exit_code == 2, again.output
    assert (
        f"Error: journal {journal_path} is empty (0 bytes): it is the record of the requests"
        " already submitted, and without it every row would be submitted again. Restore it"
    ) in again.stderr
    assert "run with --fresh-journal to set it aside and start a new journal" in again.stderr
    assert len(batch.api.stored()) == 30 == batch.api.calls()[SUBMIT]
    assert journal_path.read_bytes() == b""
