"""A submit Infobip stores but does not answer: looked for in Infobip's list while its call
is still open (after `look_after`), instead of after the whole read timeout; found, the
row is SUBMITTED and the call abandoned. Never twice stays absolute."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batch.config import Settings
from batch.journal import Journal
from batch.sandbox.app import Faults
from tests.conftest import Batch
from tests.hostile import Hostile, serve
from tests.test_run import toll_free

REQUESTS = "/resources/1/requests"
LIST, SUBMIT = "get-resource-requests", "submit-resource-request"


def settings_file(folder: Path, **values: float) -> Path:
    path = folder / "config.toml"
    path.write_text("".join(f"{k} = {v}\n" for k, v in values.items()), encoding="utf-8")
    return path


def calls(batch: Batch, operation: str) -> int:
    return sum(n for (op, _), n in batch.api.calls().items() if op == operation)


def journal_of(batch: Batch, state: Path) -> Journal:
    running = batch.api.running
    return Journal.open(state, Settings(running.base_url, running.api_key).account)


@pytest.fixture
def unanswered(make_api: Any, tmp_path: Path) -> Batch:
    """A sandbox that stores every submit and never answers one."""
    return Batch(make_api(rate_limits=False, faults=Faults(accept_timeout_rate=1.0)), tmp_path)


def test_an_unanswered_submit_is_found_in_the_list_while_its_call_is_open(
    unanswered: Batch, tmp_path: Path
) -> None:
    """Unanswered for look_after, the row is looked for in one list read and found: it
    is SUBMITTED with the id Infobip stored, one request stored, and the journal says
    how it was settled. The submit's own deadline (a minute) is never waited out."""
    path = unanswered.csv([toll_free()])
    config = settings_file(tmp_path, look_after=0.3, submit_deadline=60)
    state = tmp_path / "state"

    result = unanswered.run(str(path), "--config", str(config), "--state-dir", str(state))

    assert result.exit_code == 0, result.output
    (stored,) = unanswered.api.stored()
    (row,) = unanswered.results(tmp_path / "requests.results.csv")
    assert (row["result"], row["requestId"]) == ("SUBMITTED", stored["id"])
    assert calls(unanswered, SUBMIT) == 1
    assert calls(unanswered, LIST) == 1
    with journal_of(unanswered, state) as journal:
        (entry,) = journal.by_request_id([stored["id"]]).values()
    assert entry.message is not None
    assert entry.message.startswith("found in Infobip's list while its submit went unanswered")


def test_several_unanswered_submits_are_looked_for_together(
    unanswered: Batch, tmp_path: Path
) -> None:
    """Rows left unanswered at the same moment share list reads: six rows, each found
    once, in fewer reads than rows."""
    path = unanswered.csv([toll_free(quantity=str(n)) for n in range(1, 7)])
    config = settings_file(tmp_path, look_after=0.5, submit_deadline=60)

    result = unanswered.run(str(path), "--config", str(config), "--state-dir", str(tmp_path / "s"))

    assert result.exit_code == 0, result.output
    found = unanswered.results(tmp_path / "requests.results.csv")
    stored = {r["id"] for r in unanswered.api.stored()}
    assert {r["requestId"] for r in found} == stored and len(stored) == 6
    assert [r["result"] for r in found] == ["SUBMITTED"] * 6
    assert calls(unanswered, SUBMIT) == 6
    assert calls(unanswered, LIST) < 6


def test_rows_asking_for_the_same_numbers_each_get_their_own_request(
    unanswered: Batch, tmp_path: Path
) -> None:
    """The same numbers bought four times (four references), every submit unanswered:
    which request is whose cannot be told while the others are in flight, so each waits
    for its deadline; then each row is given a request of its own, none twice."""
    path = unanswered.csv([toll_free(reference=f"numbers-{i}") for i in range(4)])
    config = settings_file(tmp_path, look_after=0.2, submit_deadline=1)

    result = unanswered.run(str(path), "--config", str(config), "--state-dir", str(tmp_path / "s"))

    assert result.exit_code == 0, result.output
    found = unanswered.results(tmp_path / "requests.results.csv")
    stored = {r["id"] for r in unanswered.api.stored()}
    assert len(stored) == 4 and calls(unanswered, SUBMIT) == 4
    assert sorted(r["requestId"] for r in found) == sorted(stored)


def test_a_slow_but_answered_submit_is_not_looked_up(make_api: Any, tmp_path: Path) -> None:
    """Answers slower than usual but within look_after: no list read at all."""
    batch = Batch(make_api(rate_limits=False, faults=Faults(latency_ms=(300, 400))), tmp_path)
    path = batch.csv([toll_free(reference=f"numbers-{i}") for i in range(3)])
    config = settings_file(tmp_path, look_after=2)

    result = batch.run(str(path), "--config", str(config), "--state-dir", str(tmp_path / "s"))

    assert result.exit_code == 0, result.output
    assert [r["result"] for r in batch.results(tmp_path / "requests.results.csv")] == [
        "SUBMITTED"
    ] * 3
    assert calls(batch, LIST) == 0


@pytest.fixture
def hostile(unanswered: Batch) -> Iterator[Hostile]:
    yield from serve(unanswered.api.running.base_url, {})


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_run_killed_while_looking_is_finished_by_the_next_with_nothing_twice(
    unanswered: Batch, hostile: Hostile, tmp_path: Path
) -> None:
    """Killed while its look-up is in flight (the list answering a byte a second), the
    run leaves the row SUBMITTING; the next run finds it in the list and sends nothing."""
    hostile.on("GET", REQUESTS, forward=True, drip=1.0, times=1, body=lambda a: a.content)
    path = unanswered.csv([toll_free()])
    config = settings_file(tmp_path, look_after=0.3, submit_deadline=60)
    state = tmp_path / "state"
    env = {**os.environ, "INFOBIP_BASE_URL": hostile.url}
    env["INFOBIP_API_KEY"] = unanswered.api.running.api_key
    command = [sys.executable, "-m", "batch", "run", str(path), "--config", str(config)]
    command += ["--state-dir", str(state), "--quiet", "--limit", "submit=100"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while hostile.seen["GET", REQUESTS] == 0 and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.02)
        assert hostile.seen["GET", REQUESTS] == 1, "the look-up never started"
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate()
    assert not (tmp_path / "requests.results.csv").exists()

    # Through the same base URL: it names the account, and so the journal.
    again = unanswered.run(
        str(path), "--config", str(config), "--state-dir", str(state),
        env={"INFOBIP_BASE_URL": hostile.url},
    )  # fmt: skip

    assert again.exit_code == 0, again.output
    (stored,) = unanswered.api.stored()
    (row,) = unanswered.results(tmp_path / "requests.results.csv")
    assert row["requestId"] == stored["id"]
    assert row["result"] in ("SUBMITTED", "ALREADY_SUBMITTED")
    assert calls(unanswered, SUBMIT) == 1


def test_rows_whose_look_up_is_given_up_on_leave_nothing_behind(
    make_api: Any, tmp_path: Path
) -> None:
    """Slow list reads (0.2-0.9 s), every submit unanswered, deadlines that pass while
    look-ups wait their turn: a request handed to a look-up given up on goes back, so
    each row is found with its own request and none is sent twice."""
    faults = Faults(accept_timeout_rate=1.0, latency_ms=(200, 900))
    batch = Batch(make_api(rate_limits=False, faults=faults), tmp_path)
    path = batch.csv([toll_free(quantity=str(n)) for n in range(1, 13)])
    config = settings_file(tmp_path, look_after=0.3, submit_deadline=1, reconcile_grace=0.5)

    result = batch.run(str(path), "--config", str(config), "--state-dir", str(tmp_path / "s"))

    assert result.exit_code == 0, result.output
    stored = {r["id"] for r in batch.api.stored()}
    found = [r["requestId"] for r in batch.results(tmp_path / "requests.results.csv")]
    assert len(stored) == 12 and sorted(found) == sorted(stored)


def test_a_list_that_cannot_be_read_fails_every_waiting_row_at_once(
    unanswered: Batch, hostile: Hostile, tmp_path: Path
) -> None:
    """Every list read answered 500 and every submit unanswered: the rows waiting for a
    read share its failure (each would fail the same, one after another) and are
    UNCERTAIN, never sent twice; the next run looks for them again."""
    hostile.on("GET", REQUESTS, status=500, body=b'{"errorCode": "E500"}')
    path = unanswered.csv([toll_free(quantity=str(n)) for n in range(1, 7)])
    config = settings_file(tmp_path, look_after=0.2, submit_deadline=1, reconcile_grace=0.2)

    result = unanswered.run(
        str(path), "--config", str(config), "--state-dir", str(tmp_path / "s"),
        env={"INFOBIP_BASE_URL": hostile.url},
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    found = unanswered.results(tmp_path / "requests.results.csv")
    assert [r["result"] for r in found] == ["UNCERTAIN"] * 6
    assert calls(unanswered, SUBMIT) == 6
    assert hostile.seen["GET", REQUESTS] < 6 * 4, "each row read the list on its own"
