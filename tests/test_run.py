"""`resource-batch run` and `validate` end to end: real files in, the CLI, a sandbox over
loopback HTTP, a results sheet out."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
from collections import Counter
from pathlib import Path

import openpyxl
import platformdirs
import pytest

from batch.config import APP
from batch.sandbox.app import Faults

DOC = "docs/registration.pdf"


def hr_alpha(sender: str = "AcmeHR", **cells: str) -> dict[str, str]:
    row = {
        "type": "ALPHANUMERIC_REGISTRATION",
        "countryCode": "HR",
        "senderName": sender,
        "companyName": "Acme d.o.o.",
        "vatNumber": "HR12345678901",
        "useCase": "Notifications",
        "expectedMonthlyMessages": "50000",
        "companyEmailAddresses": "contact@acme.hr; info@acme.hr",
        "companyWebsite": "https://acme.hr",
        "contactPhoneNumber": "+385911234567",
        "companyRegistrationDocument": DOC,
        "registrationConsent": "yes",
    }
    return {**row, **cells}


def toll_free(quantity: str = "2", **cells: str) -> dict[str, str]:
    row = {
        "type": "NUMBER_PURCHASE",
        "countryCode": "US",
        "numberType": "TOLL_FREE_NUMBER",
        "capabilities": "SMS",
        "quantity": quantity,
    }
    return {**row, **cells}


def hr_rcs(sender: str = "Acme RCS", **cells: str) -> dict[str, str]:
    row = {
        "type": "RCS_SENDER_LAUNCH",
        "countryCode": "HR",
        "senderName": sender,
        "trafficOrigin": "LOCAL",
        "excludedCarriers": "Telemach",
        "legalBrandCompanyName": "Acme d.o.o.",
        "contactPersonEmailAddresses": "ana.horvat@acme.hr",
        "contactPersonPhoneNumber": "+385911234567",
        "brandContactEmail": "ana.horvat@acme.hr",
        "companyPhoneNumber": "+38512345678",
        "attestationLetter": DOC,
        "stopMessage": "Reply STOP to opt out.",
        "agentUseCase": "Transactional",
        "privacyPolicyUrl": "https://acme.hr/privacy",
    }
    return {**row, **cells}


def stored_by_sender(batch) -> dict[str, dict]:
    return {r.get("senderName") or r["id"]: r for r in batch.api.stored()}


def test_each_type_is_submitted_with_typed_values(batch) -> None:
    """One row of each type is SUBMITTED; the sandbox holds bodies typed as the spec wants."""
    batch.document(DOC)
    path = batch.csv([hr_alpha(), toll_free(), hr_rcs()])
    result = batch.run(str(path))
    assert result.exit_code == 0, result.output
    rows = batch.results(path.with_name("requests.results.csv"))
    assert [r["result"] for r in rows] == ["SUBMITTED"] * 3
    stored = {r["id"]: r for r in batch.api.stored()}
    assert set(stored) == {r["requestId"] for r in rows}
    alpha = stored[rows[0]["requestId"]]
    values = {item["key"]: item["value"] for item in alpha["requirements"]}
    assert values["expectedMonthlyMessages"] == 50000
    assert values["companyEmailAddresses"] == ["contact@acme.hr", "info@acme.hr"]
    assert (
        values["registrationConsent"] == "I consent that Infobip will do registration in my name."
    )
    assert len(values["companyRegistrationDocument"]) == 128
    assert (
        rows[0]["documentIds"]
        == f"companyRegistrationDocument: {values['companyRegistrationDocument']}"
    )
    number = stored[rows[1]["requestId"]]
    assert (number["quantity"], number["capabilities"], number["requirements"]) == (2, ["SMS"], [])
    rcs = stored[rows[2]["requestId"]]
    assert rcs["excludedCarriers"] == ["Telemach"] and rcs["trafficOrigin"] == "LOCAL"
    assert rows[0]["requestStatus"] == "PENDING" and rows[0]["submittedAt"]


def test_one_upload_per_distinct_file(batch) -> None:
    """Each distinct file (by content, whatever its name) is uploaded once, however many rows."""
    batch.document(DOC)
    batch.document("docs/copy-of-registration.pdf")  # same bytes, other name
    rows = [hr_rcs(f"Sender {i}") for i in range(3)] + [
        hr_rcs("Sender 3", attestationLetter="docs/copy-of-registration.pdf")
    ]
    result = batch.run(str(batch.csv(rows)))
    assert result.exit_code == 0, result.output
    assert batch.api.calls()[("upload-document", 201)] == 1
    letters = {
        item["value"]
        for r in batch.api.stored()
        for item in r["requirements"]
        if item["key"] == "attestationLetter"
    }
    assert len(letters) == 1


def test_a_document_path_with_backslashes_is_found(batch) -> None:
    """`docs\\registration.pdf`, as Windows users type it, names docs/registration.pdf on
    every OS; rows naming it either way share one upload."""
    batch.document(DOC)
    rows = [hr_alpha("Windows", companyRegistrationDocument="docs\\registration.pdf")]
    path = batch.csv([*rows, hr_alpha("Posix")])
    result = batch.run(str(path))
    assert result.exit_code == 0, result.output
    assert [r["result"] for r in batch.results(path.with_name("requests.results.csv"))] == [
        "SUBMITTED"
    ] * 2
    assert batch.api.calls()[("upload-document", 201)] == 1


@pytest.mark.skipif(sys.platform == "win32", reason="a backslash is a separator on Windows")
def test_a_file_named_with_a_backslash_is_taken_first(batch) -> None:
    """On POSIX a backslash may be part of a name: a file named `docs\\registration.pdf`
    itself is the one sent, not docs/registration.pdf."""
    batch.document(DOC, b"%PDF-1.4 in the folder")
    batch.document("docs\\registration.pdf", b"%PDF-1.4 named with a backslash")
    path = batch.csv([hr_alpha(companyRegistrationDocument="docs\\registration.pdf")])
    result = batch.run(str(path))
    assert result.exit_code == 0, result.output
    (row,) = batch.results(path.with_name("requests.results.csv"))
    (request,) = batch.api.stored()
    (document_id,) = (
        item["value"]
        for item in request["requirements"]
        if item["key"] == "companyRegistrationDocument"
    )
    download = batch.api.client.get(f"/resources/1/documents/{document_id}")
    assert download.content == b"%PDF-1.4 named with a backslash", row


def test_validate_sends_nothing(batch) -> None:
    """`validate` checks every row and writes VALID/INVALID, but uploads and submits nothing."""
    batch.document(DOC)
    path = batch.csv([hr_alpha(), hr_alpha("Other", vatNumber="HR1")])
    result = batch.run("validate", str(path))
    assert result.exit_code == 1, result.output
    rows = batch.results(path.with_name("requests.results.csv"))
    assert [r["result"] for r in rows] == ["VALID", "INVALID"]
    assert batch.api.stored() == []
    calls = batch.api.calls()
    assert not any(op in ("upload-document", "submit-resource-request") for op, _ in calls)


@pytest.mark.parametrize(
    ("cells", "column", "text"),
    [
        pytest.param({"companyName": ""}, "companyName", "required by Infobip", id="required"),
        pytest.param({"companyName": "AB"}, "companyName", "at least 3 needed", id="min-length"),
        pytest.param(
            {"companyName": "A" * 101}, "companyName", "at most 100 allowed", id="max-length"
        ),
        pytest.param(
            {"vatNumber": "HR1"}, "vatNumber", "VAT registration number (format", id="pattern"
        ),
        pytest.param({"useCase": "Spam"}, "useCase", "is not one of", id="options"),
        pytest.param(
            {"registrationConsent": "no"}, "registrationConsent", "is not one of", id="consent"
        ),
        pytest.param(
            {"expectedMonthlyMessages": "12.5"},
            "expectedMonthlyMessages",
            "not a whole number",
            id="integer",
        ),
        pytest.param(
            {"expectedMonthlyMessages": "10"},
            "expectedMonthlyMessages",
            "below the minimum 1000",
            id="min-value",
        ),
        pytest.param(
            {"expectedMonthlyMessages": "99999999"},
            "expectedMonthlyMessages",
            "above the maximum",
            id="max-value",
        ),
        pytest.param(
            {"companyEmailAddresses": "contact@acme.hr; nope"},
            "companyEmailAddresses",
            "not an email",
            id="email",
        ),
        pytest.param({"companyWebsite": "acme"}, "companyWebsite", "not a web address", id="url"),
        pytest.param(
            {"contactPhoneNumber": "12"}, "contactPhoneNumber", "international format", id="gsm"
        ),
        pytest.param(
            {"companyRegistrationDocument": "docs/missing.pdf"},
            "companyRegistrationDocument",
            "file not found",
            id="document-missing",
        ),
        pytest.param(
            {"companyRegistrationDocument": "../outside.pdf"},
            "companyRegistrationDocument",
            "points outside",
            id="document-escape",
        ),
        pytest.param(
            {"companyRegistrationDocument": "..\\outside.pdf"},
            "companyRegistrationDocument",
            "points outside",
            id="document-escape-backslash",
        ),
        pytest.param(
            {"companyRegistrationDocument": "\\docs\\registration.pdf"},
            "companyRegistrationDocument",
            "absolute path",
            id="document-absolute-backslash",
        ),
        pytest.param(
            {"companyRegistrationDocument": "/etc/passwd"},
            "companyRegistrationDocument",
            "absolute path",
            id="document-absolute",
        ),
        pytest.param(
            {"companyRegistrationDocument": "docs/notes.txt"},
            "companyRegistrationDocument",
            "only these file types",
            id="document-extension",
        ),
        pytest.param({"senderName": "AB"}, "senderName", "3 to 11", id="sender-short"),
        pytest.param({"senderName": "Acme€Shop"}, "senderName", "GSM-7", id="sender-gsm7"),
        pytest.param(
            {"senderName": "12345"}, "senderName", "at least one letter", id="sender-letter"
        ),
        pytest.param({"countryCode": "XX"}, "countryCode", "ISO 3166", id="country"),
        pytest.param({"trafficType": "SPAM"}, "trafficType", "is not one of", id="enum"),
        pytest.param(
            {"additionalContactEmails": "a@x.io;b@x.io;c@x.io;d@x.io"},
            "additionalContactEmails",
            "at most 3",
            id="contact-emails",
        ),
        pytest.param({"type": "FAX"}, "type", "not a request type", id="type"),
        pytest.param(
            {"countryCode": "US"},
            "countryCode",
            "Infobip offers no alphanumeric registration in US",
            id="unavailable",
        ),
    ],
)
def test_each_rule_makes_the_row_invalid(batch, cells, column, text) -> None:
    """Each validation rule marks the row INVALID with a message naming its column."""
    batch.document(DOC)
    batch.document("docs/notes.txt", b"notes")
    (batch.folder.parent / "outside.pdf").write_bytes(b"%PDF")
    path = batch.csv([hr_alpha(**cells)])
    result = batch.run("validate", str(path))
    assert result.exit_code == 1, result.output
    (row,) = batch.results(path.with_name("requests.results.csv"))
    assert row["result"] == "INVALID"
    assert any(line.startswith(column) and text in line for line in row["errors"].splitlines()), (
        row["errors"]
    )


def test_all_problems_of_a_row_at_once(batch) -> None:
    """A row with several problems lists every one of them in one round: a bad sender
    name does not hide the requirement columns, a cell names every rule it breaks, and
    a multi-value cell every bad value."""
    row = hr_alpha(
        "AcmeNotifications€",
        vatNumber="HR1",
        useCase="Spam",
        companyRegistrationDocument="",
        expectedMonthlyMessages="10",
        companyWebsite="acme",
        companyEmailAddresses="contact@acme.hr; nope; also@bad",
        additionalContactEmails="a@acme.hr; b@acme.hr; c@acme.hr; broken",
    )
    path = batch.csv([row])
    assert batch.run("validate", str(path)).exit_code == 1
    (shown,) = batch.results(path.with_name("requests.results.csv"))
    errors = shown["errors"].splitlines()
    columns = [line.split(":")[0].split(" (")[0] for line in errors]
    assert columns == [
        "senderName",
        "additionalContactEmails",
        "vatNumber",
        "useCase",
        "expectedMonthlyMessages",
        "companyEmailAddresses",
        "companyWebsite",
        "companyRegistrationDocument",
    ]
    sender = errors[0]
    assert "18 characters" in sender and "GSM-7" in sender
    contacts = errors[1]
    assert "4 addresses; Infobip takes at most 3" in contacts and "'broken'" in contacts
    emails = errors[5]
    assert "'nope'" in emails and "'also@bad'" in emails


def test_a_bad_capability_does_not_hide_the_requirement_columns(batch) -> None:
    """SMS,FAX: FAX is named, and the row's other columns are still checked against the
    requirements of the capabilities that are right (SMS), in the same round."""
    row = {
        "type": "NUMBER_PURCHASE",
        "countryCode": "HR",
        "numberType": "VIRTUAL_LONG_NUMBER",
        "capabilities": "SMS,FAX",
        **{k: v for k, v in hr_alpha().items() if k not in ("type", "countryCode", "senderName")},
        "vatNumber": "HR1",
    }
    batch.document(DOC)
    path = batch.csv([row])
    assert batch.run("validate", str(path)).exit_code == 1
    (shown,) = batch.results(path.with_name("requests.results.csv"))
    named = [line.split(":")[0].split(" (")[0] for line in shown["errors"].splitlines()]
    assert named == ["capabilities", "vatNumber"]


def test_requirements_that_depend_on_an_option_are_explained(batch) -> None:
    """A column the row's options do not ask for is a warning naming those options (it
    may be asked for with other ones); a required column the sheet lacks is said to be
    missing, and the results sheet adds it to be filled in."""
    batch.document("docs/lease.pdf")
    gb = {
        "type": "NUMBER_PURCHASE",
        "countryCode": "GB",
        "numberType": "VIRTUAL_LONG_NUMBER",
        "capabilities": "SMS",
        "companyName": "Thames Parcel Ltd",
        "useCase": "Delivery updates",
    }
    rows = [
        {**gb, "clientType": "INTERNATIONAL", "addressLine": "1 Thames St"},
        {**gb, "clientType": "LOCAL", "addressLine": "1 Thames St", "city": "London"},
    ]
    path = batch.csv(rows)
    assert batch.run("validate", str(path)).exit_code == 1
    international, local = batch.results(path.with_name("requests.results.csv"))
    assert (
        "addressLine: Infobip does not ask for it for number purchases (VIRTUAL_LONG_NUMBER,"
        " clientType INTERNATIONAL) in GB: left out of the request"
    ) in international["warnings"]
    assert "endUserDeclaration" in international["errors"]
    missing = next(line for line in local["errors"].splitlines() if line.startswith("postcode"))
    assert "the sheet has no postcode column" in missing
    assert "postcode" in local and local["postcode"] == "", "the results sheet adds the column"


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need a privilege on Windows")
def test_symlink_escape_is_refused(batch) -> None:
    """A document path through a symlink that leaves the folder is refused."""
    outside = batch.folder.parent / "secret.pdf"
    outside.write_bytes(b"%PDF")
    (batch.folder / "docs").mkdir()
    (batch.folder / "docs" / "link.pdf").symlink_to(outside)
    path = batch.csv([hr_alpha(companyRegistrationDocument="docs/link.pdf")])
    batch.run("validate", str(path))
    (row,) = batch.results(path.with_name("requests.results.csv"))
    assert "points outside" in row["errors"]


def test_unknown_columns_are_warned_and_not_sent(batch) -> None:
    """A column no row's requirements ask for (a user's own notes, a misspelt key) is
    said once, in the log, and never sent; a standard column a type does not use is a
    warning on the row."""
    batch.document(DOC)
    path = batch.csv([hr_alpha(favouriteColour="teal"), toll_free(senderName="Ignored")])
    result = batch.run(str(path))
    assert result.exit_code == 0, result.output
    alpha, number = batch.results(path.with_name("requests.results.csv"))
    assert alpha["result"] == "SUBMITTED" and not alpha["warnings"]
    assert result.output.count("'favouriteColour': no row's requirements ask for it") == 1
    assert "senderName: not used for a number purchase" in number["warnings"]
    for stored in batch.api.stored():
        assert "favouriteColour" not in {item["key"] for item in stored["requirements"]}


def test_duplicates(batch) -> None:
    """Two rows asking for the same thing: the later is DUPLICATE and not sent; its next
    step names the row it repeats."""
    path = batch.csv([toll_free(), toll_free(), toll_free(quantity="3")])
    result = batch.run(str(path))
    assert result.exit_code == 0, result.output
    rows = batch.results(path.with_name("requests.results.csv"))
    assert [r["result"] for r in rows] == ["SUBMITTED", "DUPLICATE", "SUBMITTED"]
    assert "row 2" in rows[1]["nextStep"] and "row 2" in rows[1]["warnings"]
    assert len(batch.api.stored()) == 2


def test_numbers_with_their_own_references_are_bought_twice(batch) -> None:
    """Number rows asking for the same with different references are two purchases (a row
    is known by its reference); the same sender twice in a country stays one request,
    whatever the references, as Infobip registers a sender once per country."""
    batch.document(DOC)
    rows = [
        toll_free(reference="BUY-1"),
        toll_free(reference="BUY-2"),
        hr_alpha("AcmeHR", reference="SEND-1"),
        hr_alpha("ACMEHR", reference="SEND-2"),
    ]
    path = batch.csv(rows)
    result = batch.run(str(path))
    assert result.exit_code == 0, result.output
    shown = batch.results(path.with_name("requests.results.csv"))
    assert [r["result"] for r in shown] == ["SUBMITTED", "SUBMITTED", "SUBMITTED", "DUPLICATE"]
    assert "once per country" in shown[3]["warnings"]
    assert len(batch.api.stored()) == 3


def test_pending_cap_defers(batch) -> None:
    """Past Infobip's pending cap for alphanumeric senders, rows are DEFERRED, not FAILED:
    the first rows of the sheet are sent, the rest are held back without a call."""
    batch.document(DOC)
    path = batch.csv([hr_alpha(f"Acme{i}") for i in range(3)])
    result = batch.run(str(path))
    assert result.exit_code == 1
    rows = batch.results(path.with_name("requests.results.csv"))
    assert [r["result"] for r in rows] == ["SUBMITTED", "SUBMITTED", "DEFERRED"]
    assert "HR" in rows[2]["errors"] and "pending" in rows[2]["errors"]
    assert "next run" in rows[2]["errors"] and "not sent" in rows[2]["errors"]
    assert batch.api.calls().get(("submit-resource-request", 400)) is None, "foreseen, not sent"


def test_validate_foresees_the_pending_cap(batch) -> None:
    """`validate` reads how many alphanumeric requests are pending per country and marks
    the rows a run would hold back, in sheet order; the run then does exactly that."""
    batch.document(DOC)
    rows = [hr_alpha(f"Acme{i}") for i in range(3)]
    rows.insert(1, hr_alpha("AcmeDE", countryCode="DE"))
    path = batch.csv(rows)
    result = batch.run("validate", str(path))
    assert result.exit_code == 1
    shown = batch.results(path.with_name("requests.results.csv"))
    assert [r["result"] for r in shown] == ["VALID", "INVALID", "VALID", "DEFERRED"]
    assert shown[3]["errors"].startswith("a run would not send it yet: Infobip allows 2 pending")
    assert "in HR, 0 are pending and the rows above take the 2 places left" in shown[3]["errors"]
    assert "once one of them is decided" in shown[3]["nextStep"]
    assert not batch.api.stored()
    assert batch.run(str(path)).exit_code == 1
    sent = batch.results(path.with_name("requests.results.csv"))
    assert [r["result"] for r in sent] == ["SUBMITTED", "INVALID", "SUBMITTED", "DEFERRED"]
    again = batch.run("validate", str(path))
    assert again.exit_code == 1
    shown = batch.results(path.with_name("requests.results.csv"))
    assert "in HR, 2 are pending;" in shown[3]["errors"]


def test_a_cap_refusal_from_infobip_defers_too(batch) -> None:
    """When Infobip's cap refuses a submit the client did not foresee (its cap set
    higher), the row is DEFERRED with Infobip's code, and the next run sends it."""
    batch.document(DOC)
    path = batch.csv([hr_alpha(f"Acme{i}") for i in range(3)])
    result = batch.run(str(path), "--alpha-pending-cap", "5")
    assert result.exit_code == 1
    rows = batch.results(path.with_name("requests.results.csv"))
    assert sorted(r["result"] for r in rows) == ["DEFERRED", "SUBMITTED", "SUBMITTED"]
    deferred = next(r for r in rows if r["result"] == "DEFERRED")
    assert "RR-ALPHA-SS-LIMIT400" in deferred["errors"] and "HR" in deferred["errors"]


def test_results_keep_every_row_and_column(batch) -> None:
    """Results put the result columns first, then keep the input's columns in order and
    its blank rows, with the delimiter the input used."""
    path = batch.folder / "requests.csv"
    path.write_text(
        "Reference;Type;Country Code;Number Type;Capabilities;Quantity;Notes\n"
        'R1;NUMBER_PURCHASE;US;TOLL_FREE_NUMBER;SMS;1;=HYPERLINK("x")\n'
        ";;;;;;\n"
        "R2;NUMBER_PURCHASE;US;TOLL_FREE_NUMBER;SMS,VOICE;2;\n",
        encoding="utf-8",
    )
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    result = batch.run(str(path))
    assert result.exit_code == 0, result.output
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "the input is never modified"
    results = path.with_name("requests.results.csv")
    with results.open(newline="", encoding="utf-8-sig") as file:
        rows = list(csv.DictReader(file, delimiter=";"))
    assert list(rows[0]) == [
        "result",
        "nextStep",
        "errors",
        "requestId",
        "requestStatus",
        "feedback",
        "daysUntilRejection",
        "note",
        "warnings",
        "numbers",
        "documentIds",
        "submittedAt",
        "updatedAt",
        "earlierRequests",
        "action",
        "Reference",
        "Type",
        "Country Code",
        "Number Type",
        "Capabilities",
        "Quantity",
        "Notes",
    ]
    assert [r["Reference"] for r in rows] == ["R1", "", "R2"]
    assert [r["result"] for r in rows] == ["SUBMITTED", "", "SUBMITTED"]
    assert rows[0]["Notes"] == '\'=HYPERLINK("x")', "formula-looking values are neutralised"


def test_xlsx_in_xlsx_out(batch) -> None:
    """An .xlsx input gives an .xlsx results workbook: result columns first, a `type`
    column where the sheet name gave it, numbers as numbers; frozen header, filter,
    Summary and Guide sheets."""
    path = batch.folder / "requests.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "NUMBER_PURCHASE"
    sheet.append(["countryCode", "numberType", "capabilities", "quantity"])
    sheet.append(["US", "TOLL_FREE_NUMBER", "SMS", 2])
    book.save(path)
    result = batch.run(str(path))
    assert result.exit_code == 0, result.output
    out = openpyxl.load_workbook(path.with_name("requests.results.xlsx"))
    assert out.sheetnames == ["NUMBER_PURCHASE", "Summary", "Guide"]
    results = out["NUMBER_PURCHASE"]
    assert results.freeze_panes == "B2" and results.auto_filter.ref
    header = [c.value for c in results[1]]
    assert header[:4] == ["result", "nextStep", "errors", "requestId"]
    assert header[14:] == [
        *("type", "action", "countryCode", "numberType", "capabilities", "quantity"),
    ]
    values = [c.value for c in results[2]]
    assert values[0] == "SUBMITTED" and values[14] == "NUMBER_PURCHASE"
    assert values[19] == 2, "a number stays a number"
    summary = [[c.value for c in row] for row in out["Summary"].iter_rows()]
    assert ["SUBMITTED", 1] in summary


def test_no_credentials_exit_2(batch) -> None:
    """Without credentials or --sandbox the run stops at once with exit 2 saying what to set."""
    path = batch.csv([toll_free()])
    result = batch.run(str(path), env={"INFOBIP_BASE_URL": "", "INFOBIP_API_KEY": ""})
    assert result.exit_code == 2
    assert "set INFOBIP_BASE_URL and INFOBIP_API_KEY" in result.output
    assert "--sandbox" in result.output


def test_wrong_key_exit_3_nothing_sent(batch) -> None:
    """A refused key stops the run with exit 3; nothing is submitted, no results file is left."""
    batch.document(DOC)
    path = batch.csv([hr_alpha()])
    result = batch.run(str(path), env={"INFOBIP_API_KEY": "wrong-key"})
    assert result.exit_code == 3
    assert "refused the credentials" in result.output
    assert "wrong-key" not in result.output
    assert batch.api.stored() == []
    assert not path.with_name("requests.results.csv").exists()


def test_a_key_pasted_with_its_line_break_is_trimmed(batch) -> None:
    """A key read with the line break it was pasted with (from a file, or the config
    file) is trimmed: the run works, and the key is never shown."""
    path = batch.csv([toll_free()])
    key = batch.api.running.api_key
    result = batch.run(str(path), env={"INFOBIP_API_KEY": f"{key}\r\n"})
    assert result.exit_code == 0, result.output
    config = batch.folder / "config.toml"
    config.write_text(f'api_key = "{key}\\n"\n', encoding="utf-8")
    env = {"INFOBIP_API_KEY": "", "RESOURCE_BATCH_CONFIG": str(config)}
    result = batch.run(str(path), env=env)
    assert result.exit_code == 0, result.output
    assert key not in result.output


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ("abc123\ndef456", "has a space or control character at position 7 of 13"),
        ("abc123déf456", "has a non-ASCII character at position 8 of 12"),
    ],
)
def test_a_key_no_header_can_carry_stops_at_once(batch, key, said) -> None:
    """A key with a line break or a non-ASCII character inside: exit 2 before anything
    is sent, saying where the key came from and which character, never the key."""
    path = batch.csv([toll_free()])
    result = batch.run(str(path), env={"INFOBIP_API_KEY": key})
    assert result.exit_code == 2, result.output
    assert f"Error: the API key from INFOBIP_API_KEY {said}" in result.output
    assert "abc123" not in result.output and "456" not in result.output
    assert batch.api.stored() == []


def test_a_blank_or_untyped_key_is_no_key(batch) -> None:
    """A key of blanks is no key (exit 2 saying what to set, nothing sent), and a
    config file's key that is not text says so."""
    path = batch.csv([toll_free()])
    result = batch.run(str(path), env={"INFOBIP_API_KEY": "  \n"})
    assert result.exit_code == 2, result.output
    assert "Error: no Infobip API key: set INFOBIP_BASE_URL and INFOBIP_API_KEY" in result.output
    config = batch.folder / "config.toml"
    config.write_text("api_key = 0\n", encoding="utf-8")
    env = {"INFOBIP_API_KEY": "", "RESOURCE_BATCH_CONFIG": str(config)}
    result = batch.run(str(path), env=env)
    assert result.exit_code == 2, result.output
    assert "Error: config file: api_key must be text (in quotes)" in result.output
    assert batch.api.stored() == []


def test_unreadable_input_exit_2(batch) -> None:
    """An input that is not a spreadsheet stops with exit 2 naming the file."""
    path = batch.folder / "requests.xlsx"
    path.write_text("not a workbook")
    result = batch.run(str(path))
    assert result.exit_code == 2
    assert str(path) in result.output


def test_throttling_is_waited_out(make_api, tmp_path) -> None:
    """429s (extra ones, on top of the limits) are retried: every row still SUBMITTED once."""
    from tests.conftest import Batch

    batch = Batch(make_api(rate_limits=False, faults=Faults(throttle_rate=0.4)), tmp_path)
    path = batch.csv([toll_free(str(q)) for q in range(1, 11)])
    result = batch.run(str(path))
    assert result.exit_code == 0, result.output
    assert len(batch.api.stored()) == 10
    assert batch.api.calls()[("submit-resource-request", 429)] > 0


def test_server_errors_on_submit_are_looked_up_then_sent_once_more(make_api, tmp_path) -> None:
    """A 500 or dropped connection on submit: the row is looked for in Infobip's list and
    sent once more only when it is not there. No row is ever stored twice."""
    from tests.conftest import Batch

    batch = Batch(
        make_api(rate_limits=False, check=False, faults=Faults(fail_rate=0.3, drop_rate=0.2)),
        tmp_path,
    )
    path = batch.csv([toll_free(str(q)) for q in range(1, 31)])
    result = batch.run(str(path))
    rows = batch.results(path.with_name("requests.results.csv"))
    assert {r["result"] for r in rows} <= {"SUBMITTED", "UNCERTAIN"}, result.output
    stored = Counter(r["quantity"] for r in batch.api.stored())
    assert max(stored.values()) == 1, "a row stored twice"
    submitted = [r["requestId"] for r in rows if r["result"] == "SUBMITTED"]
    assert set(submitted) <= {r["id"] for r in batch.api.stored()}
    assert len(set(submitted)) == len(submitted)
    attempts = sum(n for (op, _), n in batch.api.calls().items() if op == "submit-resource-request")
    assert 30 < attempts <= 60, "a failed submit is sent once more at most"
    lists = sum(n for (op, _), n in batch.api.calls().items() if op == "get-resource-requests")
    assert lists > 0, "lost submits are looked for before anything is sent again"
    uncertain = sum(r["result"] == "UNCERTAIN" for r in rows)
    assert result.exit_code == (1 if uncertain else 0), result.output


def test_accepted_then_timed_out_is_found_in_the_list(make_api, tmp_path) -> None:
    """A submit Infobip stored but never answered is found in its list: SUBMITTED with the
    stored request's id, and stored once."""
    from tests.conftest import Batch

    batch = Batch(make_api(rate_limits=False, faults=Faults(accept_timeout_rate=1.0)), tmp_path)
    (tmp_path / "config.toml").write_text("read_timeout = 1\n")
    batch.document(DOC)
    path = batch.csv([toll_free(), hr_alpha()])
    result = batch.run(str(path), "--config", str(tmp_path / "config.toml"))
    assert result.exit_code == 0, result.output
    stored = {r["type"]: r["id"] for r in batch.api.stored()}
    assert len(batch.api.stored()) == 2
    rows = batch.results(path.with_name("requests.results.csv"))
    assert [r["result"] for r in rows] == ["SUBMITTED", "SUBMITTED"]
    assert [r["requestId"] for r in rows] == [
        stored["NUMBER_PURCHASE"],
        stored["ALPHANUMERIC_REGISTRATION"],
    ]


def test_requirements_are_cached(batch) -> None:
    """A second run reuses the cached requirements; --refresh-requirements asks again."""
    path = batch.csv([toll_free()])
    for args in ((), (), ("--refresh-requirements",)):
        assert batch.run("validate", str(path), *args).exit_code == 0
    assert batch.api.calls()[("resources-requirements-lookup", 200)] == 2


def test_json_logs_name_each_row(batch) -> None:
    """With --log-format json every row outcome is one JSON line with row and result."""
    path = batch.csv([toll_free(), toll_free("0")])
    result = batch.run("validate", str(path), "--log-format", "json")
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    outcomes = {line["row"]: line["result"] for line in lines if "result" in line and "row" in line}
    assert outcomes == {2: "VALID", 3: "INVALID"}
    assert "sandbox-key" not in result.output


def test_json_logs_of_a_run_carry_row_key_and_request_id(batch) -> None:
    """For cron: each row outcome line has the row's journal key and its requestId."""
    path = batch.csv([toll_free(reference="CRM-1"), toll_free("3")])
    result = batch.run(str(path), "--log-format", "json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    rows = {line["row"]: line for line in lines if line.get("result") == "SUBMITTED"}
    assert rows[2]["key"] == "ref:CRM-1" and rows[3]["key"].startswith("sha256:")
    assert {r["requestId"] for r in rows.values()} == {r["id"] for r in batch.api.stored()}


def test_unwritable_results_stop_before_anything_is_sent(batch) -> None:
    """A results file that cannot be written stops the run (exit 2) before any submit."""
    path = batch.csv([toll_free()])
    result = batch.run(str(path), "--out", str(batch.folder / "nowhere" / "out.csv"))
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert batch.api.stored() == []


def test_api_key_never_in_output_or_files(batch) -> None:
    """The API key appears in no output, log line or file the run writes."""
    batch.document(DOC)
    path = batch.csv([hr_alpha(), toll_free(), hr_alpha("Bad", vatNumber="x")])
    key = batch.api.running.api_key
    for args in (("validate", str(path)), (str(path), "--log-format", "json")):
        result = batch.run(*args)
        assert key not in result.output
    cache = Path(platformdirs.user_cache_dir(APP))
    written = [p for folder in (batch.folder, cache) for p in folder.rglob("*") if p.is_file()]
    assert any(p.name == "requests.results.csv" for p in written)
    assert any(p.suffix == ".json" and cache in p.parents for p in written), "the lookup cache"
    for file in written:
        assert key.encode() not in file.read_bytes(), file


@pytest.mark.skipif(sys.platform == "win32", reason="Windows cannot send SIGINT to a process")
def test_interrupted_run_writes_what_it_did(make_api, tmp_path) -> None:
    """Ctrl-C mid-run: exit 130, and the results sheet accounts for every row it sent."""
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import Batch

    batch = Batch(make_api(), tmp_path)  # speed 1: one submit a second
    path = batch.csv([toll_free(str(q)) for q in range(1, 21)])
    env = {**os.environ, **batch.env}
    process = subprocess.Popen(
        [sys.executable, "-m", "batch", "run", str(path), "--log-format", "json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while len(batch.api.stored()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, errors = process.communicate(timeout=30)
    assert process.returncode == 130, errors
    assert "stopped by Ctrl-C. What was done so far is in" in errors
    rows = batch.results(path.with_name("requests.results.csv"))
    assert len(rows) == 20 and all(r["result"] for r in rows)
    stored = {r["id"] for r in batch.api.stored()}
    submitted = {r["requestId"] for r in rows if r["result"] == "SUBMITTED"}
    uncertain = [r for r in rows if r["result"] == "UNCERTAIN"]
    assert submitted <= stored and len(stored) <= len(submitted) + len(uncertain)
    assert any(r["result"] == "FAILED" and "interrupted" in r["errors"] for r in rows), [
        (r["result"], r["errors"]) for r in rows
    ]


def test_a_refused_file_fails_its_rows_not_the_run(make_api, tmp_path) -> None:
    """A document Infobip refuses (too big) fails the rows naming it; the other rows are
    still submitted and the results sheet is written."""
    from tests.conftest import Batch

    batch = Batch(make_api(rate_limits=False, max_upload_bytes=100), tmp_path)
    batch.document(DOC, b"%PDF-1.4 " + b"x" * 500)
    path = batch.csv([hr_alpha(), toll_free()])
    result = batch.run(str(path))
    assert result.exit_code == 1, result.output
    rows = batch.results(path.with_name("requests.results.csv"))
    assert [r["result"] for r in rows] == ["FAILED", "SUBMITTED"]
    assert "document upload refused" in rows[0]["errors"]
    assert "Maximum upload size exceeded" in rows[0]["errors"]
    assert [r["type"] for r in batch.api.stored()] == ["NUMBER_PURCHASE"]


@pytest.mark.skipif(sys.platform == "win32", reason="Windows cannot send SIGINT to a process")
def test_interrupted_while_looking_for_a_lost_submit_is_uncertain(make_api, tmp_path) -> None:
    """Ctrl-C while a submit that got no answer is being looked for: the row is UNCERTAIN
    in the results (it may be stored), never FAILED "not sent"; the next run finds it."""
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import Batch

    api = make_api(rate_limits=False, faults=Faults(accept_timeout_rate=1.0))
    batch = Batch(api, tmp_path)
    (tmp_path / "config.toml").write_text("read_timeout = 0.5\n")
    path = batch.csv([toll_free()])
    env = {**os.environ, **batch.env, "RESOURCE_BATCH_STATE_DIR": str(tmp_path / "state")}
    command = [sys.executable, "-m", "batch", "run", str(path), "--reconcile-grace", "60"]
    command += ["--config", str(tmp_path / "config.toml"), "--log-format", "json"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not api.stored() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)  # past the 0.5 s read timeout: now waiting out the grace period
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    (row,) = batch.results(path.with_name("requests.results.csv"))
    assert row["result"] == "UNCERTAIN", row
    env_fast = ["--reconcile-grace", "0.1", "--config", str(tmp_path / "config.toml")]
    done = subprocess.run([*command[:5], *env_fast], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (row,) = batch.results(path.with_name("requests.results.csv"))
    assert row["result"] == "ALREADY_SUBMITTED" and row["requestId"] == api.stored()[0]["id"]
    assert len(api.stored()) == 1


def test_capabilities_of_separators_only_are_invalid(batch) -> None:
    """A capabilities cell holding only separators (",,") names nothing: INVALID, said so."""
    path = batch.csv([toll_free(capabilities=",,")])
    result = batch.run("validate", str(path))
    assert result.exit_code == 1
    (row,) = batch.results(path.with_name("requests.results.csv"))
    assert row["result"] == "INVALID" and "names no capability" in row["errors"]


def test_a_request_sheets_own_columns_named_like_ours_are_kept(batch) -> None:
    """A request sheet (not a results sheet) may have its own Note, Result, Action or
    Request ID: nothing is lost (they come back renamed), and a Request ID of its own
    does not make a row look submitted."""
    own = {"Note": "call Ana first", "Result": "pending approval", "Action": "call back"}
    path = batch.csv([toll_free(**own, **{"Request ID": "TICKET-17"})])
    result = batch.run(str(path))
    assert result.exit_code == 0, result.output
    (row,) = batch.results(path.with_name("requests.results.csv"))
    assert row["result"] == "SUBMITTED" and len(batch.api.stored()) == 1
    assert row["Note (input)"] == "call Ana first"
    assert row["Result (input)"] == "pending approval"
    assert row["Action (input)"] == "call back" and row["action"] == ""
    assert row["Request ID (input)"] == "TICKET-17" and row["requestId"] != "TICKET-17"
    again = batch.run(str(path.with_name("requests.results.csv")))
    assert again.exit_code == 0, again.output
    (row,) = batch.results(path.with_name("requests.results.csv"))
    assert row["result"] == "ALREADY_SUBMITTED" and row["Note (input)"] == "call Ana first"
