"""The onboarding loop as a person works through it, end to end through the CLI against a
sandbox, on real files: template → fill in → validate (every problem in one round, a
deferral foreseen) → fix in the results sheet → run → status (rows named, exit 1 while a
person must act) → fix what Infobip asks → run (UPDATED); a cancel sent once; a REJECTED
row resubmitted.

The sandbox decides each request's path from its seed and the request's content, so the
senders below were chosen (see `find_senders`) for paths the loop needs: ASKED, TOLD and
LATE are asked for changes at automatic validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl

from batch.outcome import ASKING
from tests.conftest import Batch
from tests.test_template import HR_OFFER, fill, template

ALPHA = "ALPHANUMERIC_REGISTRATION"
ASKED, TOLD, LATE, LAST = "AcmeLoop11", "AcmeLoop12", "AcmeLoop15", "AcmeLoop01"
FORM = "loop-attachments/hr-alphanumeric-registration-form.pdf"
FIXES = {  # a better value for whichever cell Infobip asks to change
    "companyName": "Acme Loop d.o.o.",
    "vatNumber": "HR98765432109",
    "useCase": "Alerts",
    "expectedMonthlyMessages": 60000,
    "companyEmailAddresses": "loop@acme.hr",
    "companyWebsite": "https://loop.acme.hr",
    "contactPhoneNumber": "+385912345678",
    "companyRegistrationDocument": "docs/registration-signed.pdf",
    "registrationForm": "docs/registration-signed.pdf",
}


def row(reference: str, sender: str, **cells: Any) -> dict[str, Any]:
    base = {"reference": reference, "senderName": sender, "countryCode": "HR", **HR_OFFER}
    return {**base, "registrationForm": FORM, **cells}


def sheet_rows(path: Path) -> tuple[Any, list[str], list[dict[str, Any]]]:
    book = openpyxl.load_workbook(path)
    sheet = book[ALPHA]
    headers = [cell.value for cell in sheet[1]]
    values = [dict(zip(headers, r, strict=True)) for r in sheet.iter_rows(2, values_only=True)]
    return book, headers, values


def edit(path: Path, reference: str, **cells: Any) -> None:
    """Change cells of the row with `reference`, as a person does in Excel."""
    book, headers, values = sheet_rows(path)
    number = next(n for n, r in enumerate(values, start=2) if r["reference"] == reference)
    for name, value in cells.items():
        book[ALPHA].cell(number, headers.index(name) + 1, value)
    book.save(path)


def by_reference(path: Path) -> dict[str, dict[str, Any]]:
    return {r["reference"]: r for r in sheet_rows(path)[2]}


def statuses(batch: Batch) -> dict[str, str]:
    return {r["senderName"]: r["status"] for r in batch.api.stored()}


def wait_until(batch: Batch, sender: str, wanted: set[str], hours: int = 24 * 40) -> None:
    for _ in range(hours):
        if statuses(batch).get(sender) in wanted:
            return
        batch.api.advance(3600)
    raise AssertionError(f"{sender} never got to {wanted}: {statuses(batch)}")


def calls(batch: Batch, operation: str) -> int:
    return sum(n for (op, _), n in batch.api.calls().items() if op == operation)


def test_the_onboarding_loop(make_api, tmp_path: Path) -> None:
    """A person's whole loop, in one workbook that goes back and forth."""
    batch = Batch(make_api(rate_limits=False), tmp_path)
    book = tmp_path / "loop.xlsx"
    assert template(batch, "--type", ALPHA, "--country", "HR", "--out", str(book)).exit_code == 0
    batch.document("docs/registration.pdf")
    bad = {
        "senderName": "AcmeNotifications",
        "vatNumber": "HR1",
        "expectedMonthlyMessages": 10,
        "companyWebsite": "acme",
    }
    fill(book, [row("R1", ASKED, **bad), row("R2", TOLD), row("R3", LATE), row("R4", LAST)])

    # validate: every problem of R1 in one round; R4 foreseen past the cap of 2 pending.
    first = batch.run("validate", str(book))
    assert first.exit_code == 1, first.output
    results = book.with_name("loop.results.xlsx")
    rows = by_reference(results)
    assert [rows[r]["result"] for r in ("R1", "R2", "R3", "R4")] == [
        "INVALID",
        "VALID",
        "VALID",
        "DEFERRED",
    ]
    named = [line.split(":")[0].split(" (")[0] for line in rows["R1"]["errors"].splitlines()]
    assert named == ["senderName", "vatNumber", "expectedMonthlyMessages", "companyWebsite"]
    assert "a run would not send it yet" in rows["R4"]["errors"]

    # The results sheet is the next input: marked cells, notes and dropdowns are there.
    sheet = openpyxl.load_workbook(results)[ALPHA]
    headers = [cell.value for cell in sheet[1]]
    vat = sheet.cell(2, headers.index("vatNumber") + 1)
    assert vat.fill.fgColor.rgb == "FFFFC7CE" and "'HR1'" in vat.comment.text
    assert "vatNumber: VAT Number" in sheet.cell(1, headers.index("vatNumber") + 1).comment.text
    covered = {
        headers[r.min_col - 1]
        for v in sheet.data_validations.dataValidation
        for r in v.sqref.ranges
    }
    assert {"useCase", "action", "registrationConsent"} <= covered
    edit(results, "R1", senderName=ASKED, vatNumber="HR12345678901", companyWebsite="https://acme.hr",
         expectedMonthlyMessages=50000)  # fmt: skip

    # run: the first two rows in sheet order get the two places; the others wait.
    sent = batch.run(str(results))
    assert sent.exit_code == 1, sent.output  # rows left for a later run
    rows = by_reference(results)
    assert [rows[r]["result"] for r in ("R1", "R2", "R3", "R4")] == [
        "SUBMITTED",
        "SUBMITTED",
        "DEFERRED",
        "DEFERRED",
    ]
    assert calls(batch, "submit-resource-request") == 2

    # Infobip asks for changes; status names the rows and exits 1.
    wait_until(batch, ASKED, ASKING)
    wait_until(batch, TOLD, ASKING)
    checked = batch.run("status", str(results), "--log-format", "text", fast=False)
    assert checked.exit_code == 1
    rows = by_reference(results)
    for reference in ("R1", "R2"):
        where = f"loop.results.xlsx, sheet '{ALPHA}', row {int(reference[1]) + 1}"
        assert f"needs you: {where}, reference {reference}" in checked.output
        assert rows[reference]["nextStep"].startswith("Infobip asks for changes")
    flagged = rows["R1"]["feedback"].split(":")[0]
    marked = openpyxl.load_workbook(results)[ALPHA]
    cell = marked.cell(2, headers.index(flagged) + 1)
    assert cell.comment.text.startswith("Infobip asks: ")

    # Fix what Infobip asks on R1, cancel R2: one run; the cancel is sent once.
    batch.document("docs/registration-signed.pdf", b"%PDF-1.4 signed scan")
    edit(results, "R1", **{flagged: FIXES[flagged]})
    edit(results, "R2", action="cancel")
    fixed = batch.run(str(results))
    rows = by_reference(results)
    assert (rows["R1"]["result"], rows["R2"]["result"]) == ("UPDATED", "CANCELLED"), fixed.output
    assert rows["R2"]["action"] is None, "a cancel that took is cleared"
    assert calls(batch, "update-resource-request") == 1
    assert calls(batch, "cancel-resource-request") == 1

    # Once the cancel is through, a place is free: R3 goes, R4 still waits.
    wait_until(batch, TOLD, {"CANCELED"})
    batch.run(str(results))
    rows = by_reference(results)
    assert rows["R3"]["result"] == "SUBMITTED" and rows["R4"]["result"] == "DEFERRED"
    assert calls(batch, "cancel-resource-request") == 1, "the cancel is not sent again"

    # R3 is asked for changes and left unanswered: rejected after 30 days; resubmitted.
    wait_until(batch, LATE, ASKING)
    wait_until(batch, LATE, {"REJECTED"})
    assert batch.run("status", str(results), fast=False).exit_code == 1
    rows = by_reference(results)
    old = rows["R3"]["requestId"]
    assert rows["R3"]["requestStatus"] == "REJECTED"
    assert "resubmit" in rows["R3"]["nextStep"]
    edit(results, "R3", action="resubmit")
    batch.run(str(results))
    rows = by_reference(results)
    assert rows["R3"]["result"] == "SUBMITTED" and rows["R3"]["requestId"] != old
    assert old in rows["R3"]["earlierRequests"] and rows["R3"]["action"] is None
    batch.run(str(results))  # once more: nothing is sent twice
    senders = [r["senderName"] for r in batch.api.stored()]
    assert senders.count(LATE) == 2 and senders.count(ASKED) == 1 and senders.count(TOLD) == 1


def find_senders(make_api, tmp_path: Path, count: int = 16) -> dict[str, str]:
    """How the sandbox's lifecycle treats each candidate sender of this loop (run by hand
    to choose the senders above): sender -> the first status it settles in."""
    batch = Batch(make_api(rate_limits=False, alpha_pending_cap=0), tmp_path)
    book = tmp_path / "loop.xlsx"
    template(batch, "--type", ALPHA, "--country", "HR", "--out", str(book))
    batch.document("docs/registration.pdf")
    fill(book, [row(f"R{i}", f"AcmeLoop{i:02d}") for i in range(count)])
    batch.run(str(book), "--alpha-pending-cap", "0")
    seen: dict[str, str] = {}
    for _ in range(48):
        for sender, status in statuses(batch).items():
            if status in ASKING | {"PENDING_REVIEW", "REJECTED", "COMPLETED"}:
                seen.setdefault(sender, status)
        batch.api.advance(3600)
    return seen
