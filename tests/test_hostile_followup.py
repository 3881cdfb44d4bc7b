"""The follow-up of a results sheet fed back in (updates, cancels, status) with a hostile
server in front of the sandbox, and the sheet run from another state folder."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Batch
from tests.hostile import Hostile, serve
from tests.test_followup import ACTION_NEEDED, asked, results_path, status, write

REQUESTS = "/resources/1/requests"


@pytest.fixture
def asking(busy, tmp_path) -> Iterator[tuple[Batch, Hostile, Path]]:
    """A results sheet one of whose requests Infobip asks to change, refreshed by
    `status`, and a hostile server in front of its sandbox (passing everything on)."""
    batch = busy(tmp_path)
    path, _, _ = asked(batch)
    results = results_path(path)
    assert status(batch, str(results)).exit_code == 1
    for hostile in serve(batch.api.running.base_url, {}):
        yield batch, hostile, results


def through(batch: Batch, hostile: Hostile, *args: str) -> tuple[int, str]:
    result = batch.run(*args, env={"INFOBIP_BASE_URL": hostile.url})
    assert batch.api.running.api_key not in result.output
    return result.exit_code, result.output


def test_an_update_answered_off_the_spec_is_that_rows_result_not_the_runs(asking) -> None:
    """The PATCH of one edited row is answered with a page of HTML: that row says its
    edit was sent but the answer could not be read; every other row still shows where
    its request stands; the run is not stopped."""
    batch, hostile, results = asking
    rows = batch.results(results)
    flagged = next(r for r in rows if r["requestStatus"] in ACTION_NEEDED)
    flagged["vatNumber"] = "HR98765432109"
    write(results, rows)
    hostile.on("PATCH", REQUESTS, forward=True, body=b"<html>ok</html>", headers={})
    code, output = through(batch, hostile, "run", str(results))
    assert code == 1, output
    again = {r["requestId"]: r for r in batch.results(results)}
    row = again[flagged["requestId"]]
    assert row["result"] == "ALREADY_SUBMITTED"
    assert row["errors"].startswith("your edit was sent, but Infobip's answer could not be read")
    stored = {r["id"]: r["status"] for r in batch.api.stored()}
    others = {i: r for i, r in again.items() if i != flagged["requestId"]}
    shown = {i: (r["requestStatus"], stored[i]) for i, r in others.items()}
    assert {i: v for i, v in shown.items() if v[0] != v[1]} == {}
    hostile.rules.clear()  # the next run sees what Infobip holds and sends nothing again
    assert through(batch, hostile, "run", str(results))[0] in (0, 1)
    assert batch.api.calls()[("update-resource-request", 200)] == 1


def test_a_cancel_answered_with_a_login_page_keeps_its_action(asking) -> None:
    """A cancel answered 200 with a login page (not the spec's 204) was not cancelled:
    the row says so and keeps `cancel` for the next run."""
    batch, hostile, results = asking
    rows = batch.results(results)
    target = next(r for r in rows if r["requestStatus"] in ACTION_NEEDED)
    target["action"] = "cancel"
    write(results, rows)
    hostile.on("POST", f"{REQUESTS}/{target['requestId']}/cancel", body=b"<html>Login</html>")
    code, output = through(batch, hostile, "run", str(results))
    row = {r["requestId"]: r for r in batch.results(results)}[target["requestId"]]
    assert row["result"] == "ALREADY_SUBMITTED", output
    assert "the cancel was sent, but Infobip's answer could not be read" in row["errors"]
    assert "not the spec's 204 No Content" in row["errors"]
    assert row["action"] == "cancel"
    hostile.rules.clear()
    through(batch, hostile, "run", str(results))
    row = {r["requestId"]: r for r in batch.results(results)}[target["requestId"]]
    assert row["result"] == "CANCELLED" and row["action"] == ""


def test_a_sheet_run_from_another_state_folder_sends_no_update(asking, tmp_path) -> None:
    """The results sheet and its documents copied to a colleague's machine (another state
    folder): files this journal never uploaded are not taken for edits, so nothing is
    PATCHed and no cell is rewritten."""
    batch, hostile, results = asking
    elsewhere = tmp_path / "colleague"
    shutil.copytree(batch.folder / "docs", elsewhere / "docs")
    copy = elsewhere / results.name
    shutil.copy(results, copy)
    before = batch.results(copy)
    result = batch.run(str(copy), "--state-dir", str(elsewhere / "state"))
    after = batch.results(copy)
    assert ("update-resource-request", 200) not in batch.api.calls(), result.output
    assert {r["result"] for r in after} == {"ALREADY_SUBMITTED"}, result.output
    assert [r["companyRegistrationDocument"] for r in after] == [
        r["companyRegistrationDocument"] for r in before
    ]
    assert "this request was not sent from this state folder" in after[0]["warnings"]


def test_a_list_that_never_ends_is_read_to_its_first_repeat(asking) -> None:
    """A list whose paging promises a billion pages while every page is the same (a
    caching proxy ignoring `page`): `status` stops at the first repeat."""
    batch, hostile, results = asking

    def endless(passed) -> bytes:
        page = passed.json()
        page["paging"]["totalPages"] = 10**9
        return json.dumps(page).encode()

    hostile.on("GET", REQUESTS, forward=True, body=endless)
    code, output = through(batch, hostile, "status", str(results))
    assert code in (0, 1), output
    assert hostile.seen["GET", REQUESTS] <= 3


def test_status_out_never_replaces_a_results_sheet(asking) -> None:
    """`status --out` naming the results sheet: refused (exit 2), the sheet untouched."""
    batch, _, results = asking
    before = results.read_bytes()
    result = status(batch, "--out", str(results))
    assert result.exit_code == 2, result.output
    assert "exists and is not a list that status wrote" in result.output
    assert results.read_bytes() == before
    listing = results.with_name("open.csv")
    assert status(batch, "--out", str(listing)).exit_code in (0, 1)
    assert status(batch, "--out", str(listing)).exit_code in (0, 1), "its own list: replaced"
