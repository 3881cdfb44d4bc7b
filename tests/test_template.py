"""`resource-batch template` end to end: the CLI asks a sandbox over loopback, writes a
workbook and Infobip's attachments, and the filled workbook runs as it is."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.worksheet.datavalidation import DataValidation

from batch.cli import main as cli_main
from batch.results import GUIDE_HEADERS
from batch.sandbox import catalogue
from tests.conftest import Batch

ALPHA, NUMBER, RCS = "ALPHANUMERIC_REGISTRATION", "NUMBER_PURCHASE", "RCS_SENDER_LAUNCH"
COMMON = ["additionalContactEmails", "applicationId", "entityId"]
HR_CONSENT = "I consent that Infobip will do registration in my name."
HR_OFFER = {  # what the HR alphanumeric and number offers both ask for
    "companyName": "Acme d.o.o.",
    "vatNumber": "HR12345678901",
    "useCase": "Notifications",
    "expectedMonthlyMessages": 50000,
    "companyEmailAddresses": "contact@acme.hr; info@acme.hr",
    "companyWebsite": "https://acme.hr",
    "contactPhoneNumber": "+385911234567",
    "companyRegistrationDocument": "docs/registration.pdf",
    "registrationConsent": "yes",
}
RCS_OFFER = {
    "trafficOrigin": "LOCAL",
    "excludedCarriers": "Telemach",
    "legalBrandCompanyName": "Acme d.o.o.",
    "contactPersonEmailAddresses": "ana.horvat@acme.hr",
    "contactPersonPhoneNumber": "+385911234567",
    "brandContactEmail": "ana.horvat@acme.hr",
    "companyPhoneNumber": "+38512345678",
    "stopMessage": "Reply STOP to opt out.",
    "agentUseCase": "Transactional",
    "privacyPolicyUrl": "https://acme.hr/privacy",
}
CASES = [
    pytest.param(
        ALPHA,
        ["--country", "HR"],
        ["reference", "countryCode", "senderName", "trafficOrigin", "trafficType", *COMMON],
        ("registrationForm", "TEMPLATE"),
        [
            {"senderName": "AcmeHR", "countryCode": "HR", **HR_OFFER},
            {"senderName": "AcmeShop", "countryCode": "HR", "reference": "R-2", **HR_OFFER},
        ],
        id="alphanumeric",
    ),
    pytest.param(
        NUMBER,
        ["--country", "hr", "--number-type", "VIRTUAL_LONG_NUMBER"]
        + ["--capabilities", "SMS,VOICE", "--quantity", "2"],
        ["reference", "countryCode", "numberType", "capabilities", "quantity", "clientType"]
        + COMMON,
        ("registrationForm", "TEMPLATE"),
        [
            {
                "countryCode": "HR",
                "numberType": "VIRTUAL_LONG_NUMBER",
                "capabilities": "SMS;VOICE",
                "quantity": 2,
                **HR_OFFER,
            }
        ],
        id="number",
    ),
    pytest.param(
        RCS,
        ["--country", "HR", "--traffic-origin", "LOCAL", "--excluded-carriers", "Telemach"],
        ["reference", "countryCode", "senderName", "trafficOrigin", "excludedCarriers", *COMMON],
        ("attestationLetter", "SAMPLE"),
        [{"senderName": "Acme RCS", "countryCode": "HR", **RCS_OFFER}],
        id="rcs",
    ),
]


def template(batch, *args: str, env: dict[str, str] | None = None) -> Any:
    """`resource-batch template ARGS`, in-process, with the sandbox's credentials."""
    return CliRunner().invoke(
        cli_main, ["template", *args], env=batch.env if env is None else env, catch_exceptions=False
    )


def offer(batch, lookup: dict[str, Any]) -> list[dict[str, Any]]:
    """The requirement specs the sandbox's catalogue has for a lookup."""
    return batch.api.sandbox.catalogue.find(lookup).requirements


def validations(sheet) -> dict[str, DataValidation]:
    """Each validation by the header of the column it covers."""
    headers = [cell.value for cell in sheet[1]]
    found = {}
    for rule in sheet.data_validations.dataValidation:
        for cells in rule.sqref.ranges:
            assert (cells.min_row, cells.max_row) == (2, 1_048_576)
            found[headers[cells.min_col - 1]] = rule
    return found


def listed(book, rule: DataValidation) -> list[str]:
    """The values of a list validation: inline, or kept on the Guide sheet when long."""
    if rule.formula1.startswith('"'):
        return rule.formula1.strip('"').split(",")
    sheet, _, cells = rule.formula1.partition("!")
    return [row[0].value for row in book[sheet][cells.replace("$", "")]]


def note(sheet, header: str) -> str:
    headers = [cell.value for cell in sheet[1]]
    return sheet.cell(1, headers.index(header) + 1).comment.text


@pytest.mark.parametrize(("kind", "args", "standard", "attached", "rows"), CASES)
def test_template_is_written_filled_and_run(batch, kind, args, standard, attached, rows) -> None:
    """For each type the workbook has a column per field the run reads, a note on each
    header, dropdowns, a Guide linking Infobip's downloaded file, and, filled in, it runs."""
    path = batch.folder / "offer.xlsx"
    result = template(batch, "--type", kind.lower(), *args, "--out", str(path))
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [kind, "Guide"]
    sheet = book[kind]
    specs = offer(batch, {"type": kind, "countryCode": "HR", "trafficOrigin": "LOCAL"})
    keys = [spec["key"] for spec in specs]
    headers = [cell.value for cell in sheet[1]]
    assert headers == ["type", *standard, *keys]
    for cell, spec in zip(sheet[1][1 + len(standard) :], specs, strict=True):
        text = cell.comment.text
        assert spec["name"] in text and spec["description"] in text
        assert ("Required." if spec["required"] else "Optional.") in text
    assert "Required." in note(sheet, "countryCode") and "countryCode" in note(sheet, "countryCode")
    # The type fills itself in once a row has a value, so that a CSV save keeps it.
    last = openpyxl.utils.get_column_letter(len(headers))
    assert sheet["A2"].value == f'=IF(COUNTA(B2:{last}2)=0,"","{kind}")'
    assert sheet["A2001"].value == f'=IF(COUNTA(B2001:{last}2001)=0,"","{kind}")'
    assert sheet["A2002"].value is None
    rules = validations(sheet)
    assert listed(book, rules["countryCode"]) == ["HR"]
    assert rules["countryCode"].errorStyle == "warning"  # another country: other columns
    for spec in specs:
        if spec.get("options"):
            assert listed(book, rules[spec["key"]]) == spec["options"]

    key, kind_of_file = attached
    guide = {row[1].value: row for row in book["Guide"].iter_rows(min_row=2) if row[1].value}
    assert [cell.value for cell in book["Guide"][1][: len(GUIDE_HEADERS)]] == list(GUIDE_HEADERS)
    assert set(keys) <= set(guide)
    link = guide[key][len(GUIDE_HEADERS) - 1]
    assert link.value.startswith(f"Infobip supplies a {kind_of_file.lower()}: offer-attachments/")
    # XlsxWriter writes a relative link with Windows separators, as Excel keeps it.
    downloaded = path.parent / link.hyperlink.target.replace("\\", "/")
    spec = next(spec for spec in specs if spec["key"] == key)
    stored = batch.api.sandbox.catalogue.attachments[spec["attachment"]["documentId"]]
    assert downloaded.read_bytes() == stored.content
    assert downloaded.parent == path.parent / "offer-attachments"
    assert f"offer-attachments/{downloaded.name}" in note(sheet, key)
    assert [r for r in batch.api.calls() if r[0] == "download-document"] == [
        ("download-document", 200)
    ]

    batch.document("docs/registration.pdf")
    for row in rows:
        # Infobip's own file, "filled in", goes back by its path beside the workbook.
        row = {**row, key: f"offer-attachments/{downloaded.name}"}
        number = _first_free(sheet)
        for column, header in enumerate(headers[1:], start=2):
            sheet.cell(number, column, row.get(header))
    book.save(path)
    result = batch.run(str(path))
    assert result.exit_code == 0, result.output
    out = openpyxl.load_workbook(path.with_name("offer.results.xlsx"))
    assert out.sheetnames == [kind, "Summary", "Guide"]  # the Guide is not read as rows
    values = list(out[kind].values)
    results = [dict(zip(values[0], row, strict=True))["result"] for row in values[1:]]
    assert results == ["SUBMITTED"] * len(rows)
    assert len(batch.api.stored()) == len(rows)


def _first_free(sheet) -> int:
    """The first row below the header whose cells (but the type formula) are empty."""
    number = 2
    while any(cell.value for cell in sheet[number][1:]):
        number += 1
    return number


def test_header_rules_become_excel_validations(batch) -> None:
    """Lengths, numbers and consent boxes get Excel checks matching the lookup's rules."""
    path = batch.folder / "hr.xlsx"
    assert template(batch, "--type", ALPHA, "--country", "HR", "--out", str(path)).exit_code == 0
    book = openpyxl.load_workbook(path)
    rules = validations(book[ALPHA])
    assert (rules["companyName"].type, rules["companyName"].formula1) == ("textLength", "3")
    assert rules["companyName"].formula2 == "100"
    monthly = rules["expectedMonthlyMessages"]
    assert (monthly.type, monthly.formula1, monthly.formula2) == ("whole", "1000", "10000000")
    assert listed(book, rules["registrationConsent"]) == [HR_CONSENT]
    assert not rules["registrationConsent"].showErrorMessage  # "yes" is taken too
    assert rules["useCase"].errorStyle in (None, "stop")  # stop: Excel's default, left out
    assert listed(book, rules["trafficType"]) == ["PROMOTIONAL", "TRANSACTIONAL"]
    assert "companyEmailAddresses" not in rules  # several values: Excel cannot check them
    assert "^[A-Z]{2}[0-9]{8,12}$" in note(book[ALPHA], "vatNumber")


def test_default_name_and_no_attachments(batch, monkeypatch) -> None:
    """Without --out the workbook is named after type, country and number type, here; an
    offer with no requirements gets a Guide that says so, and no attachments folder."""
    monkeypatch.chdir(batch.folder)
    args = ["--type", NUMBER, "--country", "US", "--number-type", "TOLL_FREE_NUMBER"]
    result = template(batch, *args, "--capabilities", "SMS")
    assert result.exit_code == 0, result.output
    path = batch.folder / "number-purchase-us-toll-free-number.xlsx"
    assert sorted(p.name for p in batch.folder.iterdir()) == [path.name]
    book = openpyxl.load_workbook(path)
    assert book["Guide"]["A2"].value.startswith("Infobip needs no requirements")
    assert book["Guide"]["A5"].value == "lookup", "the lookup it was made from, recorded"
    capabilities = validations(book[NUMBER])["capabilities"]
    assert listed(book, capabilities) == ["SMS"]


def test_existing_workbook_is_overwritten_only_with_force(batch) -> None:
    """A second template to the same file is refused (exit 2) unless --force."""
    path = batch.folder / "hr.xlsx"
    args = ["--type", ALPHA, "--country", "HR", "--out", str(path)]
    assert template(batch, *args).exit_code == 0
    again = template(batch, *args)
    assert again.exit_code == 2
    assert f"Error: {path} already exists; pass --force to overwrite it" in again.output
    assert template(batch, *args, "--force").exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--type", NUMBER, "--country", "US", "--number-type", "VIRTUAL_LONG_NUMBER"]
            + ["--capabilities", "SMS"],
            "Error: Infobip offers no VIRTUAL_LONG_NUMBER number purchase in US:"
            " RR-NUMBER-PURCHASE-US-VLN-UNSUPPORTED400",
            id="number",
        ),
        pytest.param(
            ["--type", ALPHA, "--country", "US"],
            "Error: Infobip offers no alphanumeric registration in US: RR-ALPHA-UNAVAILABLE404",
            id="alphanumeric",
        ),
    ],
)
def test_unavailable_offer_is_exit_1(batch, args, message) -> None:
    """An offer Infobip does not have is said plainly, exit 1, and nothing is written."""
    result = template(batch, *args, "--out", str(batch.folder / "t.xlsx"))
    assert result.exit_code == 1
    assert message in result.output
    assert list(batch.folder.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--type", ALPHA, "--country", "HR", "--number-type", "SHORT_CODE"],
            "Error: --number-type: not used for an alphanumeric registration",
            id="option-of-another-type",
        ),
        pytest.param(
            ["--type", NUMBER, "--country", "HR", "--number-type", "SHORT_CODE"],
            "Error: --capabilities: required for a number purchase",
            id="required-option",
        ),
        pytest.param(
            ["--type", ALPHA, "--country", "XX"],
            "Error: --country: 'XX' is not an ISO 3166 two-letter country code",
            id="country",
        ),
        pytest.param(
            ["--type", NUMBER, "--country", "HR", "--number-type", "SHORT_CODE"]
            + ["--capabilities", "SMS,FAX"],
            "Error: --capabilities: FAX: capabilities are SMS, VOICE, MMS",
            id="capability",
        ),
    ],
)
def test_bad_options_are_exit_2(batch, args, message) -> None:
    """Options the type does not take, or missing or wrong ones, are usage errors."""
    result = template(batch, *args, "--out", str(batch.folder / "t.xlsx"))
    assert result.exit_code == 2
    assert message in result.output
    assert batch.api.calls() == {}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param("missing/t.xlsx", "the folder {folder}/missing does not exist", id="folder"),
        pytest.param("t.csv", "a template is an .xlsx workbook", id="suffix"),
    ],
)
def test_unwritable_out_is_exit_2(batch, name, message) -> None:
    """An --out that cannot be written is refused before Infobip is asked."""
    result = template(batch, "--type", ALPHA, "--country", "HR", "--out", str(batch.folder / name))
    assert result.exit_code == 2
    assert message.format(folder=batch.folder) in result.output
    assert batch.api.calls() == {}


def test_no_credentials_is_exit_2(batch) -> None:
    """Without base URL and key (and without --sandbox) it stops and says what to set."""
    result = template(batch, "--type", ALPHA, "--country", "HR", env={})
    assert result.exit_code == 2
    assert "Error: no Infobip base URL and API key: set INFOBIP_BASE_URL" in result.output


def test_refused_credentials_are_exit_3(batch) -> None:
    """A key Infobip refuses is exit 3, and no workbook is written."""
    env = {**batch.env, "INFOBIP_API_KEY": "wrong"}
    out = batch.folder / "t.xlsx"
    result = template(batch, "--type", ALPHA, "--country", "HR", "--out", str(out), env=env)
    assert result.exit_code == 3
    assert "Error: Infobip refused the credentials" in result.output
    assert not out.exists()


def fill(path, rows: list[dict[str, Any]]) -> None:
    """Fill a template's rows as a person would, the type formula left as it is."""
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    for number, row in enumerate(rows, start=2):
        for column, header in enumerate(headers[1:], start=2):
            sheet.cell(number, column, row.get(header))
    book.save(path)


def test_a_results_sheet_saved_as_csv_keeps_each_rows_type(batch) -> None:
    """A results sheet says each row's type in a column, so that saved as CSV (which
    loses the sheet name) it still runs: no row is "type: missing"."""
    path = batch.folder / "hr.xlsx"
    assert template(batch, "--type", ALPHA, "--country", "HR", "--out", str(path)).exit_code == 0
    batch.document("docs/registration.pdf")
    fill(path, [{"senderName": "AcmeHR", "countryCode": "HR", **HR_OFFER}])
    assert batch.run("validate", str(path)).exit_code == 0
    results = openpyxl.load_workbook(path.with_name("hr.results.xlsx"))
    saved = batch.folder / "saved.csv"  # what Excel's "Save as CSV" keeps: the values
    with saved.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        for row in results[ALPHA].iter_rows(values_only=True):
            writer.writerow(["" if value is None else value for value in row])
    result = batch.run("validate", str(saved))
    assert result.exit_code == 0, result.output
    (row,) = batch.results(saved.with_name("saved.results.csv"))
    assert (row["result"], row["type"]) == ("VALID", ALPHA)


def test_a_run_says_when_infobip_changed_the_requirements(make_api, tmp_path) -> None:
    """A template remembers the requirements it was made from; a run against Infobip's
    changed requirements says which columns are new, gone or changed, in its log and
    its Summary."""
    before = Batch(make_api(rate_limits=False), tmp_path)
    path = tmp_path / "hr.xlsx"
    assert template(before, "--type", ALPHA, "--country", "HR", "--out", str(path)).exit_code == 0
    data = json.loads(resources.files("batch.sandbox").joinpath("data/catalogue.json").read_text())
    base = Path(str(resources.files("batch.sandbox").joinpath("data")))
    for attachment in data["attachments"].values():
        attachment["file"] = str(base / attachment["file"])
    specs = data["entries"][0]["requirements"]
    specs[:] = [spec for spec in specs if spec["key"] != "useCase"]
    next(spec for spec in specs if spec["key"] == "vatNumber")["required"] = True
    specs.append({"key": "brandName", "name": "Brand", "type": "TEXT", "required": True})
    changed = tmp_path / "catalogue.json"
    changed.write_text(json.dumps(data))
    after = Batch(make_api(rate_limits=False, catalogue=catalogue.load(changed)), tmp_path)
    after.document("docs/registration.pdf")
    fill(path, [{"senderName": "AcmeHR", "countryCode": "HR", **HR_OFFER}])
    result = after.run("validate", str(path), "--log-format", "text")
    today = datetime.now(UTC).date().isoformat()
    line = (
        f"requirements for alphanumeric registrations in HR changed since {today}: new columns"
        " brandName (required); no longer asked for useCase; changed vatNumber (now required)"
    )
    assert line in result.output
    summary = openpyxl.load_workbook(path.with_name("hr.results.xlsx"))["Summary"]
    assert line in [row[0] for row in summary.iter_rows(values_only=True)]


def test_a_row_that_leaves_out_the_templates_option_is_told(batch) -> None:
    """A template made for clientType LOCAL: a row that leaves clientType empty asks for
    INTERNATIONAL's requirements, and its clientType cell says so."""
    path = batch.folder / "gb.xlsx"
    args = ["--type", NUMBER, "--country", "GB", "--number-type", "VIRTUAL_LONG_NUMBER"]
    args += ["--capabilities", "SMS,VOICE", "--client-type", "LOCAL", "--out", str(path)]
    assert template(batch, *args).exit_code == 0
    base = {"countryCode": "GB", "numberType": "VIRTUAL_LONG_NUMBER", "capabilities": "SMS"}
    fill(path, [{**base, "clientType": "LOCAL"}, dict(base)])
    batch.run("validate", str(path))
    local, empty = [
        dict(zip(values[0], row, strict=True))
        for values in [
            list(openpyxl.load_workbook(path.with_name("gb.results.xlsx"))[NUMBER].values)
        ]
        for row in values[1:]
    ]
    assert "clientType" not in (local["warnings"] or "")
    assert (
        "clientType: left empty (Infobip then takes INTERNATIONAL), while this sheet was made"
        in (empty["warnings"])
    )
