"""After the submit: `status` refreshes the results sheet, and the results sheet is the next
input (edits sent as updates, rows cancelled). Through the CLI against the sandbox, its
lifecycle moved on with /_sandbox/clock."""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from batch.outcome import ASKING as ACTION_NEEDED
from tests.conftest import Batch
from tests.test_run import DOC, hr_alpha, toll_free

SENDERS = [f"Acme{i:02d}" for i in range(16)]


def results_path(path: Path) -> Path:
    """Where `run` writes its results: beside the input, and a results sheet's own results
    are that sheet again."""
    if path.stem.endswith(".results"):
        return path
    return path.with_name(f"{path.stem}.results.csv")


def write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, list(dict.fromkeys(k for row in rows for k in row)))
        writer.writeheader()
        writer.writerows(rows)


def submitted(batch: Batch, rows: list[dict[str, str]]) -> tuple[Path, list[dict[str, str]]]:
    batch.document(DOC)
    path = batch.csv(rows)
    result = batch.run(str(path))
    assert result.exit_code == 0, result.output
    return results_path(path), batch.results(results_path(path))


def advance_until(
    batch: Batch,
    wanted: Callable[[set[str]], bool],
    *,
    hours: int = 400,
    step: int = 1,
    ids: set[str] | None = None,
) -> bool:
    """Move the sandbox's clock `step` hours at a time until `wanted(statuses)` of the
    requests `ids` (all when None); False if it never comes."""
    for _ in range(0, hours, step):
        stored = batch.api.stored()
        if wanted({r["status"] for r in stored if ids is None or r["id"] in ids}):
            return True
        batch.api.advance(3600 * step)
    return False


def asked(
    batch: Batch, extra: list[dict[str, str]] | None = None
) -> tuple[Path, list[dict[str, str]], list[dict[str, str]]]:
    """Submit sixteen alphanumeric rows (and `extra`) and move the clock on until Infobip
    asks to change one of them; the input, its rows and its results. The sandbox decides
    lifecycles at random (its documentIds are random), so rarely none of them is asked:
    then another sixteen are sent."""
    for attempt in range(3):
        rows = [hr_alpha(f"Acme{attempt}{i:02d}") for i in range(16)] + (extra or [])
        path = batch.folder / ("requests.csv" if attempt == 0 else f"requests{attempt}.csv")
        write(path, rows)
        batch.document(DOC)
        result = batch.run(str(path))
        assert result.exit_code == 0, result.output
        first = batch.results(results_path(path))
        if advance_until(batch, asked_to_change, ids={r["requestId"] for r in first}):
            return path, rows, first
    pytest.fail(
        f"no request was asked to change: {Counter(r['status'] for r in batch.api.stored())}"
    )


def asked_to_change(statuses: set[str]) -> bool:
    return bool(statuses & ACTION_NEEDED)


def status(batch: Batch, *args: str) -> Any:
    return batch.run("status", *args, fast=False)


def list_calls(batch: Batch) -> int:
    return sum(n for (op, _), n in batch.api.calls().items() if op == "get-resource-requests")


def test_status_writes_statuses_feedback_and_numbers_into_the_sheet(busy, tmp_path) -> None:
    """`status RESULTS` rewrites the sheet with each request's status, Infobip's feedback
    as "key: CODE: text", the numbers bought and when it was refreshed; the results are
    kept; requests already final are not asked again (one small read checks the key)."""
    batch = busy(tmp_path)
    path, _, first = asked(batch, [toll_free("2")])
    results = results_path(path)
    assert status(batch, str(results)).exit_code == 1, "a request asks for changes"
    assert_shown(batch, results)
    assert any(r["feedback"] for r in batch.results(results)), "some request was asked to change"
    assert advance_until(batch, lambda s: s <= {"COMPLETED", "REJECTED"}, hours=2000, step=24)
    rejected = any(r["status"] == "REJECTED" for r in batch.api.stored())
    assert status(batch, str(results)).exit_code == (1 if rejected else 0)
    after = assert_shown(batch, results)
    assert [r["result"] for r in after] == [r["result"] for r in first], "results are kept"
    calls = list_calls(batch)
    assert status(batch, str(results)).exit_code == (1 if rejected else 0)
    # Final requests are not asked again: only one small read, to check the key.
    assert list_calls(batch) == calls + 1


def assert_shown(batch: Batch, results: Path) -> list[dict[str, str]]:
    """Every row of the sheet shows what the sandbox holds for its request."""
    after = batch.results(results)
    stored = {r["id"]: r for r in batch.api.stored()}
    for row in after:
        request = stored[row["requestId"]]
        assert row["requestStatus"] == request["status"]
        assert row["updatedAt"], row
        expected = [
            f"{f['key']}: {f['code']}: {f['feedback']}" for f in request["requirementsFeedback"]
        ]
        assert row["feedback"].splitlines() == expected
        if request["type"] == "NUMBER_PURCHASE" and request["numbers"]:
            shown = row["numbers"].removeprefix("'")  # CSV: a leading + is neutralised
            assert set(shown.splitlines()) >= {n["number"] for n in request["numbers"]}
    return after


def needs_you(batch: Batch) -> int:
    """The exit code a run or `status` gives while the sandbox holds these requests: 1
    while any asks for changes or was rejected (a person must act), else 0."""
    statuses = {r["status"] for r in batch.api.stored()}
    return 1 if statuses & (ACTION_NEEDED | {"REJECTED"}) else 0


def test_an_edited_row_in_update_requested_is_sent_as_an_update(busy, tmp_path) -> None:
    """The team fixes a flagged cell in the results sheet and runs it: the request is
    PATCHed with its full requirement set and moves on; untouched rows are not sent."""
    batch = busy(tmp_path)
    path, _, _ = asked(batch)
    results = results_path(path)
    assert status(batch, str(results)).exit_code == 1
    rows = batch.results(results)
    flagged = next(r for r in rows if r["requestStatus"] in ACTION_NEEDED)
    flagged["vatNumber"] = "HR98765432109"
    write(results, rows)
    submits = batch.api.calls().get(("submit-resource-request", 201), 0)
    result = batch.run(str(results))
    again = batch.results(results_path(results))
    by_id = {r["requestId"]: r for r in again}
    assert by_id[flagged["requestId"]]["result"] == "UPDATED", result.output
    assert {r["result"] for r in again} == {"UPDATED", "ALREADY_SUBMITTED"}
    assert batch.api.calls().get(("submit-resource-request", 201), 0) == submits
    assert batch.api.calls()[("update-resource-request", 200)] == 1
    request = next(r for r in batch.api.stored() if r["id"] == flagged["requestId"])
    values = {f["key"]: f["value"] for f in request["requirements"]}
    assert values["vatNumber"] == "HR98765432109"
    assert len(values) == len(hr_alpha_keys()), "the full requirement set was sent"
    assert request["status"] not in ACTION_NEEDED
    assert result.exit_code == needs_you(batch), result.output


def test_an_updated_row_is_still_known_by_what_it_asked_before_and_after(busy, tmp_path) -> None:
    """After an update, neither the original sheet nor the corrected rows fed in without
    their requestId (a CRM's next export, say) submit anything again: both ways the row
    is ALREADY_SUBMITTED under the one request."""
    batch = busy(tmp_path)
    path, original, _ = asked(batch)
    results = results_path(path)
    assert status(batch, str(results)).exit_code == 1
    rows = batch.results(results)
    flagged = next(r for r in rows if r["requestStatus"] in ACTION_NEEDED)
    flagged["vatNumber"] = "HR98765432109"
    write(results, rows)
    assert batch.run(str(results)).exit_code == needs_you(batch)
    stored = len(batch.api.stored())
    again = batch.run(str(path))  # the original sheet
    assert again.exit_code == needs_you(batch), again.output
    corrected = [
        {**row, "vatNumber": "HR98765432109"} if row["senderName"] == flagged["senderName"] else row
        for row in original
    ]
    export = batch.folder / "export.csv"
    write(export, corrected)
    assert batch.run(str(export)).exit_code == needs_you(batch)
    for shown in (results_path(path), results_path(export)):
        by_sender = {r["senderName"]: r for r in batch.results(shown)}
        assert {r["result"] for r in by_sender.values()} == {"ALREADY_SUBMITTED"}, shown
        assert by_sender[flagged["senderName"]]["requestId"] == flagged["requestId"]
    assert len(batch.api.stored()) == stored


def hr_alpha_keys() -> set[str]:
    from batch.rows import STANDARD

    return {k for k in hr_alpha() if k not in STANDARD}


def test_an_edit_while_in_review_is_reported_once_and_put_back(busy, tmp_path) -> None:
    """Infobip takes changes only when it asks for them: an edited row whose request is
    not in UPDATE_REQUESTED is UPDATE_REFUSED, nothing is sent, and the cell shows again
    what Infobip holds, so the next run does not report it again."""
    batch = busy(tmp_path)
    results, rows = submitted(batch, [hr_alpha(SENDERS[0])])
    rows[0]["companyName"] = "Acme Renamed d.o.o."
    write(results, rows)
    result = batch.run(str(results))
    assert result.exit_code == 1
    (row,) = batch.results(results_path(results))
    assert row["result"] == "UPDATE_REFUSED" and "UPDATE_REQUESTED" in row["errors"]
    assert "edited (companyName)" in row["errors"]
    assert row["companyName"] == "Acme d.o.o.", "what Infobip holds, not what was typed"
    assert not any(op == "update-resource-request" for op, _ in batch.api.calls())
    checked = status(batch, str(results))
    assert checked.exit_code == 0, "reported once: the request needs nobody"
    (row,) = batch.results(results_path(results))
    assert row["result"] == "UPDATE_REFUSED" and row["nextStep"].startswith("Nothing to do")
    again = batch.run(str(results))
    assert again.exit_code == 0, again.output
    (row,) = batch.results(results_path(results))
    assert row["result"] == "ALREADY_SUBMITTED" and not row["errors"]
    assert row["documentIds"].startswith("companyRegistrationDocument: "), "kept from the journal"


def test_cancel_where_allowed_and_where_not_each_sent_once(busy, tmp_path) -> None:
    """`action` = cancel cancels a request Infobip asked to change (CANCELLED); in a
    status that does not allow it, the row says Infobip's reason (CANCEL_REFUSED). Either
    way the action is cleared from the row: the next run sends no cancel again."""
    batch = busy(tmp_path)
    path, _, _ = asked(batch)
    results = results_path(path)
    statuses = {r["id"]: r["status"] for r in batch.api.stored()}
    rows = batch.results(results)
    allowed = next(r for r in rows if statuses[r["requestId"]] in ACTION_NEEDED)
    refused = next(r for r in rows if statuses[r["requestId"]] not in ACTION_NEEDED)
    for row in rows:
        row["action"] = "cancel" if row in (allowed, refused) else ""
    write(results, rows)
    result = batch.run(str(results))
    assert result.exit_code == 1
    by_id = {r["requestId"]: r for r in batch.results(results_path(results))}
    assert by_id[allowed["requestId"]]["result"] == "CANCELLED"
    assert by_id[refused["requestId"]]["result"] == "CANCEL_REFUSED"
    assert "RR-INVALID-STATUS400" in by_id[refused["requestId"]]["errors"]
    assert "cancels only requests it asks to change" in by_id[refused["requestId"]]["errors"]
    assert {r["action"] for r in by_id.values()} == {""}, "done or refused: cleared"
    stored = {r["id"]: r["status"] for r in batch.api.stored()}
    assert stored[allowed["requestId"]] in ("CANCELED", "CANCEL_REQUESTED")
    assert stored[refused["requestId"]] not in ("CANCELED", "CANCEL_REQUESTED")
    cancels = sum(n for (op, _), n in batch.api.calls().items() if op == "cancel-resource-request")
    assert cancels == 2
    batch.run(str(results))
    again = sum(n for (op, _), n in batch.api.calls().items() if op == "cancel-resource-request")
    assert again == cancels, "a cancel is sent once"
    by_id = {r["requestId"]: r for r in batch.results(results_path(results))}
    assert by_id[refused["requestId"]]["result"] == "ALREADY_SUBMITTED"


def test_a_rejected_row_is_resubmitted_once(busy, tmp_path) -> None:
    """`action` = resubmit sends a REJECTED row again as a new request: its new requestId
    replaces the old one in the row, the old one stays in its history, the action is
    cleared, and neither the next run nor an older copy of the sheet sends it again."""
    batch = busy(tmp_path)
    path, _, _ = asked(batch)
    results = results_path(path)
    asking = {r["id"] for r in batch.api.stored() if r["status"] in ACTION_NEEDED}
    batch.api.advance(31 * 86400)  # unanswered for 30 days: rejected
    assert status(batch, str(results)).exit_code == 1
    rows = batch.results(results)
    rejected = next(r for r in rows if r["requestId"] in asking)
    assert rejected["requestStatus"] == "REJECTED"
    old = rejected["requestId"]
    rejected["action"] = "resubmit"
    rejected["vatNumber"] = "HR98765432109"  # what Infobip wanted changed
    write(results, rows)
    copy = tmp_path / "copy.csv"
    write(copy, rows)
    stored = len(batch.api.stored())
    result = batch.run(str(results))
    assert len(batch.api.stored()) == stored + 1, result.output
    row = next(r for r in batch.results(results) if r["senderName"] == rejected["senderName"])
    assert row["result"] == "SUBMITTED" and row["requestId"] not in ("", old)
    assert (
        row["action"] == ""
        and old in row["earlierRequests"]
        and "REJECTED" in row["earlierRequests"]
    )
    new = next(r for r in batch.api.stored() if r["id"] == row["requestId"])
    assert {f["key"]: f["value"] for f in new["requirements"]}["vatNumber"] == "HR98765432109"
    batch.run(str(results))
    batch.run(str(copy))  # an older copy, still asking to resubmit the old request
    assert len(batch.api.stored()) == stored + 1, "resubmitted once"
    again = next(r for r in batch.results(results_path(copy)) if r["requestId"] == row["requestId"])
    assert f"{old} was sent again as {row['requestId']}" in again["warnings"]
    assert again["action"] == ""
    older = tmp_path / "older.results.csv"  # another copy, given to status
    write(older, rows)
    checked = status(batch, str(older), "--log-format", "text")
    (shown,) = [r for r in batch.results(older) if r["senderName"] == rejected["senderName"]]
    assert shown["requestId"] == row["requestId"] and shown["requestStatus"] != "REJECTED"
    assert f"({old})" not in checked.output, "the replaced request needs nobody"


def test_resubmit_is_only_for_a_rejected_or_cancelled_request(busy, tmp_path) -> None:
    """Asked to resubmit a request Infobip is still reviewing, nothing is sent: the row
    says why, once, and the action is cleared."""
    batch = busy(tmp_path)
    results, rows = submitted(batch, [hr_alpha(SENDERS[0])])
    rows[0]["action"] = "resubmit"
    write(results, rows)
    stored = len(batch.api.stored())
    result = batch.run(str(results))
    assert result.exit_code == 0, result.output
    (row,) = batch.results(results_path(results))
    assert row["result"] == "ALREADY_SUBMITTED" and row["action"] == ""
    assert row["warnings"].startswith(
        "action: resubmit sends only a REJECTED or CANCELED request again, and it is PENDING"
    )
    assert len(batch.api.stored()) == stored


def test_a_large_refresh_takes_a_handful_of_calls(make_api, tmp_path) -> None:
    """Refreshing 5,000 tracked requests reads the list 2,000 at a time: 3 calls, not 5,000."""
    api = make_api(rate_limits=False, check=False)
    ids = []
    for quantity in range(5000):
        body = {
            "type": "NUMBER_PURCHASE",
            "quantity": quantity % 49 + 1,
            "numberType": "TOLL_FREE_NUMBER",
            "capabilities": ["SMS"],
            "countryCode": "US",
            "requirements": [],
        }
        ids.append(api.client.post("/resources/1/requests", json=body).json()["id"])
    path = tmp_path / "big.results.csv"
    write(path, [{"reference": f"R{i}", "requestId": i} for i in ids])
    batch = Batch(api, tmp_path)
    result = status(batch, str(path))
    assert result.exit_code == 0, result.output
    assert list_calls(batch) <= 4
    statuses = {r["requestId"]: r["requestStatus"] for r in batch.results(path)}
    assert len(statuses) == 5000 and all(statuses.values())


def test_status_needs_credentials(batch, tmp_path) -> None:
    """No credentials: exit 2 with a message saying what to set."""
    env = {"INFOBIP_BASE_URL": "", "INFOBIP_API_KEY": ""}
    result = batch.run("status", "--all", env=env, fast=False)
    assert result.exit_code == 2 and "INFOBIP_API_KEY" in result.output
    assert os.environ.get("INFOBIP_API_KEY") is None


def test_a_resubmit_held_back_is_tried_again_and_sent_once(make_api, tmp_path) -> None:
    """A resubmit Infobip holds back (its cap on pending requests) keeps its action and
    the rejected requestId: the next runs try again, and once a place is free it is sent,
    once."""
    batch, _, results = rejected_behind_the_cap(make_api, tmp_path, reference="R1")
    rows = batch.results(results)
    old = rows[0]["requestId"]
    rows[0]["action"] = "resubmit"
    write(results, rows)
    for _ in range(2):  # the client does not foresee the cap: Infobip refuses, twice
        batch.run(str(results), "--alpha-pending-cap", "0")
        (row,) = batch.results(results)
        assert (row["result"], row["action"], row["requestId"]) == ("DEFERRED", "resubmit", old)
    assert advance_until(batch, lambda s: s <= {"COMPLETED", "REJECTED"}, hours=400, step=6)
    batch.run(str(results))
    (row,) = batch.results(results)
    assert row["result"] == "SUBMITTED" and row["requestId"] != old and row["action"] == ""
    batch.run(str(results))
    senders = [r["senderName"] for r in batch.api.stored()]
    assert senders.count("Redo03") == 2


def rejected_behind_the_cap(make_api, tmp_path, **cells):
    """A row whose request Infobip rejected, with HR's two pending places taken by
    others: its resubmit is held back by Infobip until they are decided."""
    batch = Batch(make_api(rate_limits=False, alpha_pending_cap=2), tmp_path)
    batch.document(DOC)
    path = batch.folder / "redo.csv"
    write(path, [hr_alpha("Redo03", **cells)])  # asked for changes, by its seed
    assert batch.run(str(path)).exit_code == 0
    assert advance_until(batch, asked_to_change, step=1)
    batch.api.advance(31 * 86400)  # unanswered: rejected
    results = results_path(path)
    assert status(batch, str(results)).exit_code == 1
    blockers = batch.folder / "blockers.csv"
    write(blockers, [hr_alpha(s, reference=s) for s in ("Redo00", "Redo01")])
    assert batch.run(str(blockers)).exit_code == 0
    return batch, path, results


def sent_for(batch: Batch, sender: str) -> list[dict[str, Any]]:
    return [r for r in batch.api.stored() if r["senderName"] == sender]


def test_an_older_copy_cannot_resubmit_what_an_edited_row_sent_again(make_api, tmp_path) -> None:
    """Resubmit asked, held back, the row edited again and sent: an older copy of the
    sheet (asking to resubmit its earlier edit) sends nothing more."""
    batch, _, results = rejected_behind_the_cap(make_api, tmp_path)
    rows = batch.results(results)
    rows[0]["action"], rows[0]["vatNumber"] = "resubmit", "HR11111111111"
    write(results, rows)
    copy = tmp_path / "copy.csv"
    write(copy, rows)
    batch.run(str(results), "--alpha-pending-cap", "0")  # Infobip holds it back
    assert batch.results(results)[0]["result"] == "DEFERRED"
    assert advance_until(batch, lambda s: s <= {"COMPLETED", "REJECTED"}, hours=400, step=6)
    rows = batch.results(results)
    rows[0]["vatNumber"] = "HR22222222222"  # edited once more before the next run
    write(results, rows)
    batch.run(str(results))
    assert batch.results(results)[0]["result"] == "SUBMITTED"
    batch.run(str(copy))
    (row,) = batch.results(results_path(copy))
    assert row["result"] == "ALREADY_SUBMITTED" and "was sent again as" in row["warnings"]
    assert len(sent_for(batch, "Redo03")) == 2, "the rejected request and one resubmit"


def test_the_original_input_does_not_send_a_resubmit_waiting_in_its_results(
    make_api, tmp_path
) -> None:
    """While a resubmit waits (held back), running the original input (say, a cron job
    reading it again) sends nothing: the fixed row in the results sheet is what goes."""
    batch, path, results = rejected_behind_the_cap(make_api, tmp_path, reference="R1")
    rows = batch.results(results)
    old = rows[0]["requestId"]
    rows[0]["action"], rows[0]["vatNumber"] = "resubmit", "HR11111111111"
    write(results, rows)
    batch.run(str(results), "--alpha-pending-cap", "0")  # Infobip holds it back
    checked = status(batch, str(results))
    (row,) = batch.results(results)
    assert checked.exit_code == 0 and row["nextStep"].startswith("Resubmit asked, not sent yet")
    assert advance_until(batch, lambda s: s <= {"COMPLETED", "REJECTED"}, hours=400, step=6)
    original = tmp_path / "original.csv"
    write(original, [hr_alpha("Redo03", reference="R1")])
    batch.run(str(original))
    (row,) = batch.results(results_path(original))
    assert (row["result"], row["requestId"]) == ("ALREADY_SUBMITTED", old)
    assert "sending it again is asked for in its results sheet" in row["warnings"]
    assert len(sent_for(batch, "Redo03")) == 1
    batch.run(str(results))
    resent = [r for r in sent_for(batch, "Redo03") if r["id"] != old]
    assert [{f["key"]: f["value"] for f in r["requirements"]}["vatNumber"] for r in resent] == [
        "HR11111111111"
    ]


def test_a_resubmit_cut_short_then_edited_is_bought_once(busy, tmp_path, monkeypatch) -> None:
    """Numbers, rows known by what they ask: a resubmit whose run stopped before its POST,
    the row edited and sent, then an older copy run: one purchase, not two."""
    from batch.api import Infobip
    from batch.errors import ApiError

    batch = busy(tmp_path)
    path = tmp_path / "numbers.csv"
    write(path, [toll_free(str(q)) for q in range(1, 41)])
    assert batch.run(str(path)).exit_code == 0
    assert advance_until(batch, lambda s: s <= {"COMPLETED", "REJECTED"}, hours=400, step=6)
    results = results_path(path)
    status(batch, str(results))
    rows = batch.results(results)
    row = next(r for r in rows if r["requestStatus"] == "REJECTED")
    quantity, old = row["quantity"], row["requestId"]
    row["action"], row["additionalContactEmails"] = "resubmit", "first@acme.example"
    write(results, [row])
    copy = tmp_path / "copy.csv"
    write(copy, [row])

    async def unreachable(self: Any, body: Any, **callbacks: Any) -> str:
        raise ApiError("Infobip could not be reached: connection refused")

    with monkeypatch.context() as patched:
        patched.setattr(Infobip, "submit", unreachable)
        batch.run(str(results))
    (row,) = batch.results(results)
    assert (row["result"], row["action"], row["requestId"]) == ("FAILED", "resubmit", old)
    row["additionalContactEmails"] = "second@acme.example"
    write(results, [row])
    batch.run(str(results))
    assert batch.results(results)[0]["result"] == "SUBMITTED"
    batch.run(str(copy))
    bought = [r for r in batch.api.stored() if str(r["quantity"]) == quantity]
    assert len(bought) == 2, [(r["id"], r["status"]) for r in bought]


def test_a_submitted_row_keeps_its_requestid_and_its_fixed_cells(busy, tmp_path) -> None:
    """A submitted row edited into a mistake keeps its requestId (fixed later, it is
    still that request, never a new one); an edited sender or quantity is put back, as an
    update cannot change them; a copied row keeping the requestId is told to clear it."""
    batch = busy(tmp_path)
    results, rows = submitted(batch, [toll_free("2", reference="N1")])
    request_id = rows[0]["requestId"]
    rows[0]["quantity"] = "5"
    rows.append({**rows[0], "reference": "N2", "quantity": "7"})
    write(results, rows)
    batch.run(str(results))
    first, copy = batch.results(results)
    assert first["requestId"] == request_id and first["quantity"] == "2"
    assert "quantity: cannot be changed once submitted: the request keeps '2'" in first["warnings"]
    assert copy["result"] == "INVALID" and copy["requestId"] == request_id
    assert copy["errors"].startswith("requestId: also the requestId of row 2 (a copied row?)")
    rows = batch.results(results)
    rows[1]["requestId"] = ""  # as told: the copy is a purchase of its own
    write(results, rows)
    batch.run(str(results))
    assert [r["result"] for r in batch.results(results)] == ["ALREADY_SUBMITTED", "SUBMITTED"]
    assert sorted(r["quantity"] for r in batch.api.stored()) == [2, 7]
