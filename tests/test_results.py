"""The results sheet as a person reads and edits it: written to real files and read back
with the standard library, python-calamine and openpyxl."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from batch import requirements, results, rows, workbook
from batch.documents import Resolver
from batch.errors import ConfigError
from batch.outcome import RESULT_COLUMNS, Need, Outcome, Problem, Result
from batch.requirements import Offer
from batch.run import judge
from batch.sheets import Row, Sheet, read_sheets, write_results

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = json.loads((ROOT / "batch" / "sandbox" / "data" / "catalogue.json").read_text())
HR_ALPHA = {"type": "ALPHANUMERIC_REGISTRATION", "countryCode": "HR"}
HR_SPECS = tuple(CATALOGUE["entries"][0]["requirements"])
OFFERS = {json.dumps(HR_ALPHA, sort_keys=True): Offer(HR_SPECS, lookup=HR_ALPHA, fetched_at=0)}


def request_sheet(name: str | None = None) -> Sheet:
    cells = [
        ("HR", "=1+2", "00385"),
        ("", "", ""),
        ("DE", "+385911234567", "@SUM(A1)"),
        ("-5", "'=quoted", "#N/A"),
        ("tab\tin", "\tlead", "ctrl\x01 _x0041_"),
    ]
    found = tuple(Row(name, number, row) for number, row in enumerate(cells, start=2))
    return Sheet(name, ("countryCode", "senderName", "phone"), found)


OUTCOMES = {
    2: Outcome(Result.SUBMITTED, request_id="r-1", warnings=[Problem("w")]),
    4: Outcome(Result.INVALID, errors=[Problem('=HYPERLINK("x")'), Problem("second problem")]),
    5: Outcome(Result.DUPLICATE, same_as="row 2"),
}


def with_outcomes(sheet: Sheet, outcomes: dict[int, Outcome]) -> list[rows.Candidate]:
    found = rows.parse_sheet(sheet)
    for candidate in found:
        candidate.outcome = outcomes.get(candidate.row.number, Outcome())
    return found


def write(path: Path, sheet: Sheet, outcomes: dict[int, Outcome] = OUTCOMES) -> None:
    results.write(path, [sheet], with_outcomes(sheet, outcomes), {})


def only(path: Path) -> Sheet:
    [sheet] = read_sheets(path)
    return sheet


def hr_sheet(path: Path, values: list[dict[str, Any]], name: str = "ALPHANUMERIC_REGISTRATION"):
    """A sheet of HR alphanumeric rows, checked against the catalogue's requirements as a
    run checks them, without the network."""
    headers = list(dict.fromkeys(key for row in values for key in row))
    found = tuple(
        Row(name, n, tuple(str(row.get(h, "")) for h in headers))
        for n, row in enumerate(values, start=2)
    )
    sheet = Sheet(name, tuple(headers), found)
    (path.parent / "registration.pdf").write_bytes(b"%PDF-1.4 scan")
    candidates = rows.parse_sheet(sheet)
    resolver = Resolver(path.parent, max_bytes=10 << 20)
    requirements.check_requirements(candidates, requirements.prepare(HR_SPECS), documents=resolver)
    judge(candidates, dry_run=True)
    return sheet, candidates


GOOD = {
    "countryCode": "HR",
    "senderName": "AcmeHR",
    "companyName": "Acme d.o.o.",
    "vatNumber": "HR12345678901",
    "useCase": "Notifications",
    "expectedMonthlyMessages": "50000",
    "companyEmailAddresses": "contact@acme.hr",
    "companyWebsite": "https://acme.hr",
    "contactPhoneNumber": "+385911234567",
    "registrationConsent": "yes",
    "companyRegistrationDocument": "registration.pdf",
}


@pytest.mark.parametrize(
    "suffix", [pytest.param(".csv", id="csv"), pytest.param(".xlsx", id="xlsx")]
)
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    """The result columns come first, then `type` and `action` columns, then the input's
    columns: every row (blank ones too) and every value (formula-looking ones too) reads
    back."""
    name = None if suffix == ".csv" else "Requests"
    path = tmp_path / f"out{suffix}"
    write(path, request_sheet(name))
    back = only(path)
    assert back.headers == (*RESULT_COLUMNS, "type", "action", "countryCode", "senderName", "phone")
    assert [row.number for row in back.rows] == [2, 3, 4, 5, 6]
    start = len(RESULT_COLUMNS) + 2
    for before, after in zip(request_sheet(name).rows, back.rows, strict=True):
        assert after.cells[start:] == before.cells
    shown = dict(zip(back.headers, back.rows[0].cells, strict=True))
    assert (shown["result"], shown["requestId"], shown["warnings"]) == ("SUBMITTED", "r-1", "w")
    invalid = dict(zip(back.headers, back.rows[2].cells, strict=True))
    assert invalid["errors"] == '=HYPERLINK("x")\nsecond problem'
    assert back.rows[1].cells == ("",) * len(back.headers)


def test_csv_keeps_its_delimiter(tmp_path: Path) -> None:
    """CSV results are UTF-8 with a BOM, CRLF, formulas neutralised, and separated the
    way the input was: a European Excel's semicolons stay semicolons."""
    source = tmp_path / "in.csv"
    source.write_text("countryCode;senderName\nHR;=1+2\n", encoding="utf-8")
    sheet = only(source)
    path = tmp_path / "out.csv"
    write(path, sheet, {2: Outcome(Result.INVALID, errors=[Problem("bad", "senderName")])})
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfresult;nextStep;errors;")
    lines = raw.decode("utf-8-sig").split("\r\n")
    assert lines[1].startswith("INVALID;Fix the marked cells")
    assert lines[1].endswith(";;HR;'=1+2")
    assert only(path).rows[0].cells[-2:] == ("HR", "=1+2")


def test_xlsx_formulas_written_as_text(tmp_path: Path) -> None:
    """Formula-looking values are text cells with a quote prefix, never formulas."""
    path = tmp_path / "out.xlsx"
    write(path, request_sheet("Requests"))
    sheet = openpyxl.load_workbook(path)["Requests"]
    headers = [cell.value for cell in sheet[1]]
    at = {name: openpyxl.utils.get_column_letter(headers.index(name) + 1) for name in headers}
    for ref, value in [
        (f"{at['senderName']}2", "=1+2"),
        (f"{at['senderName']}4", "+385911234567"),
        (f"{at['phone']}4", "@SUM(A1)"),
        (f"{at['countryCode']}5", "-5"),
    ]:
        assert (sheet[ref].value, sheet[ref].data_type, sheet[ref].quotePrefix) == (
            value,
            "s",
            True,
        )
    assert (sheet[f"{at['phone']}5"].value, sheet[f"{at['phone']}5"].data_type) == ("#N/A", "s")
    assert sheet[f"{at['errors']}4"].value == '=HYPERLINK("x")\nsecond problem'
    with zipfile.ZipFile(path) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()


def test_every_problem_of_a_row_marked_in_its_cell(tmp_path: Path) -> None:
    """Each bad cell is red and carries a note naming its problems; a column no
    requirement asks for has an amber header saying its values are not sent; the result
    and next step are coloured by who must act."""
    bad = {
        **GOOD,
        "senderName": "AcmeHRtoolongname",
        "vatNumber": "HR1",
        "expectedMonthlyMessages": "10",
        "companyWebsite": "acme",
        "companyEmailAddresses": "a@acme.hr; nope; also@bad",
        "favourite": "teal",
    }
    sheet, candidates = hr_sheet(tmp_path, [GOOD, bad])
    path = tmp_path / "out.xlsx"
    results.write(path, [sheet], candidates, OFFERS)
    book = openpyxl.load_workbook(path)
    table = book["ALPHANUMERIC_REGISTRATION"]
    headers = [cell.value for cell in table[1]]

    def cell(name: str, row: int = 3) -> Any:
        return table.cell(row, headers.index(name) + 1)

    for name in ("senderName", "vatNumber", "expectedMonthlyMessages", "companyWebsite"):
        assert cell(name).fill.fgColor.rgb == "FFFFC7CE", name
        assert cell(name).comment is not None, name
    assert "17 characters" in cell("senderName").comment.text
    assert "'nope'" in cell("companyEmailAddresses").comment.text
    assert "'also@bad'" in cell("companyEmailAddresses").comment.text
    favourite = table.cell(1, headers.index("favourite") + 1)
    assert favourite.fill.fgColor.rgb == "FFFFEB9C"
    assert "its values are not sent" in favourite.comment.text
    summary = [row[0] for row in book["Summary"].iter_rows(values_only=True)]
    assert "favourite (sheet ALPHANUMERIC_REGISTRATION)" in summary
    assert (
        cell("vatNumber", 2).comment is None and cell("vatNumber", 2).fill.fgColor.rgb != "FFFFC7CE"
    )
    assert cell("result").value == "INVALID"
    assert cell("result").fill.fgColor.rgb == "FF" + Need.YOU.colour
    assert cell("nextStep").value.startswith("Fix the marked cells")
    assert cell("result", 2).fill.fgColor.rgb == "FF" + Need.READY.colour
    errors = cell("errors").value.splitlines()
    assert [line.split(" (")[0].split(":")[0] for line in errors] == [
        "senderName",
        "vatNumber",
        "expectedMonthlyMessages",
        "companyEmailAddresses",
        "companyWebsite",
    ]


def test_results_sheet_edits_like_a_template(tmp_path: Path) -> None:
    """Where the rows' requirements are known, each header carries its note, options get
    a dropdown and numbers a check, a missing requirement column is added, and the Guide
    lists the requirements and the lookup they came from."""
    lacking = {k: v for k, v in GOOD.items() if k != "companyRegistrationDocument"}
    sheet, candidates = hr_sheet(tmp_path, [lacking])
    path = tmp_path / "out.xlsx"
    results.write(path, [sheet], candidates, OFFERS)
    book = openpyxl.load_workbook(path)
    table = book["ALPHANUMERIC_REGISTRATION"]
    headers = [cell.value for cell in table[1]]
    assert headers[len(RESULT_COLUMNS)] == "type"
    assert headers[-2:] == ["companyRegistrationDocument", "registrationForm"], "columns it lacked"
    missing = table.cell(2, len(headers) - 1)
    assert (
        missing.value is None and "fill in the one the results sheet adds" in missing.comment.text
    )
    notes = {cell.value: cell.comment.text for cell in table[1] if cell.comment}
    assert notes["companyName"].startswith("companyName: Company Name\nRequired.")
    assert "^[A-Z]{2}[0-9]{8,12}$" in notes["vatNumber"]
    assert "What to do next" in notes["nextStep"]
    rules = {}
    for rule in table.data_validations.dataValidation:
        for ranges in rule.sqref.ranges:
            rules[headers[ranges.min_col - 1]] = rule
    assert rules["useCase"].type == "list"
    assert rules["expectedMonthlyMessages"].type == "whole"
    assert rules["type"].formula1 == '"ALPHANUMERIC_REGISTRATION,NUMBER_PURCHASE,RCS_SENDER_LAUNCH"'
    guide = [[cell.value for cell in row] for row in book["Guide"].iter_rows()]
    assert guide[0][:3] == ["for", "key", "name"]
    assert ["alphanumeric registrations in HR", "vatNumber"] == guide[2][:2]
    made = [row for row in guide if row[0] == "lookup"]
    assert json.loads(made[0][1]) == HR_ALPHA and json.loads(made[0][2]) == list(HR_SPECS)


def test_numbers_dates_and_identifiers(tmp_path: Path) -> None:
    """Whole numbers of INTEGER columns are numbers, ISO dates in free columns dates, and
    identifiers (phone numbers, VAT numbers) text, however digit-like."""
    sheet, candidates = hr_sheet(tmp_path, [{**GOOD, "signedOn": "2025-03-11"}])
    path = tmp_path / "out.xlsx"
    results.write(path, [sheet], candidates, OFFERS)
    table = openpyxl.load_workbook(path)["ALPHANUMERIC_REGISTRATION"]
    values = {cell.value: table.cell(2, cell.column).value for cell in table[1]}
    assert values["expectedMonthlyMessages"] == 50000
    assert values["signedOn"] == dt.datetime(2025, 3, 11)
    assert values["contactPhoneNumber"] == "+385911234567"
    assert values["vatNumber"] == "HR12345678901"
    back = only(path)
    assert dict(zip(back.headers, back.rows[0].cells, strict=True))["signedOn"] == "2025-03-11"


def test_result_columns_replaced_on_resubmit(tmp_path: Path) -> None:
    """A results file read back and written again keeps one set of result columns, first;
    a request sheet's own column of such a name is kept, renamed."""
    source = tmp_path / "in.csv"
    source.write_text("countryCode,Result,senderName\nHR,old,Acme\n", encoding="utf-8")
    first = tmp_path / "in.results.csv"
    write(first, only(source), {2: Outcome(Result.INVALID, errors=[Problem("e")])})
    write(first, only(first), {2: Outcome(Result.SUBMITTED, request_id="r-9")})
    sheet = only(first)
    headers = (*RESULT_COLUMNS, "type", "action", "countryCode", "Result (input)", "senderName")
    assert sheet.headers == headers
    shown = dict(zip(sheet.headers, sheet.rows[0].cells, strict=True))
    assert (shown["requestId"], shown["Result (input)"]) == ("r-9", "old")


def test_row_number_gaps_become_blank_rows(tmp_path: Path) -> None:
    """Rows missing from a sheet are written blank, so later rows keep their numbers."""
    path = tmp_path / "out.csv"
    sheet = Sheet(None, ("countryCode",), (Row(None, 2, ("x",)), Row(None, 5, ("y",))))
    write(path, sheet, {5: Outcome(Result.VALID)})
    back = only(path)
    assert [(row.number, row.cells[0], row.cells[-1]) for row in back.rows] == [
        (2, "", "x"),
        (3, "", ""),
        (4, "", ""),
        (5, "VALID", "y"),
    ]


def test_summary_says_what_ran_and_what_is_left(tmp_path: Path) -> None:
    """The Summary counts rows by what they need next, by result and by request status,
    and says what ran."""
    path = tmp_path / "out.xlsx"
    sheet = request_sheet("Requests")
    outcomes = {
        **OUTCOMES,
        6: Outcome(Result.ALREADY_SUBMITTED, request_id="r-2", request_status="REJECTED"),
    }
    facts = [("Input", "in.xlsx"), ("Dry run (nothing sent)", "no")]
    results.write(path, [sheet], with_outcomes(sheet, outcomes), {}, facts=facts)
    book = openpyxl.load_workbook(path)
    summary = [[cell.value for cell in row] for row in book["Summary"].iter_rows()]
    assert ["Input", "in.xlsx"] in summary
    assert [Need.YOU.label, 2] in summary  # INVALID and REJECTED
    assert [Need.INFOBIP.label, 1] in summary
    assert ["REJECTED", 1] in summary and ["SUBMITTED", 1] in summary
    assert book["Summary"]["A1"].font.bold


@pytest.mark.parametrize(
    ("target", "broken"),
    [pytest.param("out.xlsx", "_clip", id="xlsx"), pytest.param("out.csv", "_csv_safe", id="csv")],
)
def test_failed_write_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, broken: str
) -> None:
    """A write failing halfway leaves neither a results file nor a temporary file."""
    from batch.sheets import write as writing

    module = workbook if broken == "_clip" else writing
    original, calls = getattr(module, broken), 0

    def explode(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > 3:
            raise RuntimeError("disk on fire")
        return original(*args, **kwargs)

    monkeypatch.setattr(module, broken, explode)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write(tmp_path / target, request_sheet())
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_previous_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed rewrite leaves the earlier results file exactly as it was."""
    path = tmp_path / "out.xlsx"
    write(path, request_sheet("Requests"))
    before = path.read_bytes()

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(workbook, "_write_summary", explode)
    with pytest.raises(RuntimeError):
        write(path, request_sheet("Requests"))
    assert path.read_bytes() == before
    assert [entry.name for entry in tmp_path.iterdir()] == ["out.xlsx"]


@pytest.mark.parametrize(
    ("name", "count", "expected"),
    [
        pytest.param("out.ods", 1, "must end in .csv or .xlsx", id="suffix"),
        pytest.param("out.csv", 2, "a .csv holds one sheet and the input has 2", id="csv-sheets"),
        pytest.param("missing/out.csv", 1, "missing does not exist", id="no-folder"),
    ],
)
def test_write_refused(tmp_path: Path, name: str, count: int, expected: str) -> None:
    """Results that cannot be written as asked say why."""
    table = results.table(request_sheet(), {}, {})
    with pytest.raises(ConfigError, match=expected):
        write_results(tmp_path / name, [table] * count)


def test_offers_asking_the_same_are_listed_once_and_empty_columns_stay_narrow(
    tmp_path: Path,
) -> None:
    """Number rows of several quantities are several lookups asking the same: the Guide
    lists their requirements once. Result columns with nothing in them are only as wide
    as their headers."""
    lookups = [{**HR_ALPHA, "quantity": q} for q in (1, 2)]
    offers = {json.dumps(lk, sort_keys=True): Offer(HR_SPECS, lookup=lk) for lk in lookups}
    built = results.guide(offers, {})
    assert len(built.rows) == len(HR_SPECS)
    assert len(built.made_from) == 2
    path = tmp_path / "out.xlsx"
    write(path, request_sheet("Requests"))
    sheet = openpyxl.load_workbook(path)["Requests"]
    headers = [cell.value for cell in sheet[1]]

    def width(name: str) -> float:  # adjacent columns of one width are stored as one
        number = headers.index(name) + 1
        found = [d for d in sheet.column_dimensions.values() if d.min <= number <= d.max]
        return float(found[0].width)

    assert width("feedback") < 15
    assert int(width("errors")) == 48  # XlsxWriter adds Excel's padding
