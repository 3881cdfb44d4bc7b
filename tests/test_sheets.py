"""Reading request sheets as text and writing the results sheet, on real files."""

from __future__ import annotations

import datetime as dt
import os
import time
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.styles import Font

from batch.errors import InputError
from batch.outcome import RESULT_COLUMNS
from batch.sheets import Row, Sheet, read_sheets, shared, xlsx

LOL = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol;" if i == 1 else f"&lol{i - 1};") * 10}">' for i in range(1, 10)
    )
    + "]>\n"
)


def new_book(*titles: str) -> tuple[openpyxl.Workbook, list[Any]]:
    """An empty workbook with the sheets named."""
    book = openpyxl.Workbook()
    book.remove(book.worksheets[0])
    return book, [book.create_sheet(title) for title in titles]


def write_xlsx(path: Path, sheets_rows: dict[str, list[list[Any]]]) -> Path:
    """A workbook as openpyxl writes it, one sheet per item, cells typed as given."""
    book, found = new_book(*sheets_rows)
    for sheet, rows in zip(found, sheets_rows.values(), strict=True):
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def rezip(source: Path, target: Path, changes: dict[str, bytes]) -> Path:
    """A copy of a workbook with some of its parts replaced or added."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for name in old.namelist():
            new.writestr(name, changes.get(name, old.read(name)))
        for name, data in changes.items():
            if name not in old.namelist():
                new.writestr(name, data)
    return target


def sheet_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read("xl/worksheets/sheet1.xml").decode()


def only(path: Path) -> Sheet:
    [sheet] = read_sheets(path)
    return sheet


def cells(sheet: Sheet) -> list[tuple[str, ...]]:
    return [row.cells for row in sheet.rows]


def refused(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        read_sheets(path)
    return str(caught.value)


# CSV in


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"name,phone\r\nAna,00385\r\n", id="comma-crlf"),
        pytest.param(b"name;phone\nAna;00385\n", id="semicolon-lf"),
        pytest.param(b"\xef\xbb\xbfname;phone\r\nAna;00385", id="bom-semicolon-no-final-newline"),
        pytest.param(b'\xef\xbb\xbf"name",phone\r\n"Ana",00385\r\n', id="bom-comma-quoted"),
    ],
)
def test_csv_dialects(tmp_path: Path, raw: bytes) -> None:
    """Comma and semicolon files, with or without a BOM, read as the same text."""
    path = tmp_path / "in.csv"
    path.write_bytes(raw)
    sheet = only(path)
    assert (sheet.name, sheet.headers, cells(sheet)) == (
        None,
        ("name", "phone"),
        [("Ana", "00385")],
    )
    assert sheet.rows[0] == Row(None, 2, ("Ana", "00385"))


def test_csv_quoted_newlines_and_delimiters(tmp_path: Path) -> None:
    """Quoted fields keep their newlines, delimiters and quotes; rows count records."""
    path = tmp_path / "in.csv"
    text = 'a;b;c\n"line 1\nline 2";"x;y";"say ""hi"""\n1,5;2;3\n'
    path.write_text(text, encoding="utf-8")
    sheet = only(path)
    assert sheet.headers == ("a", "b", "c")
    assert cells(sheet) == [("line 1\nline 2", "x;y", 'say "hi"'), ("1,5", "2", "3")]
    assert [row.number for row in sheet.rows] == [2, 3]


def test_csv_bare_cr_inside_quotes_is_kept(tmp_path: Path) -> None:
    """A bare CR (an old Mac's or a CRM's line break) inside a quoted cell stays in it,
    as LF and CRLF do; outside quotes it ends the record."""
    path = tmp_path / "in.csv"
    path.write_bytes(b'a,b\r"VOICE\rSMS","x\r\ny"\r"1\n2",3\r')
    assert cells(only(path)) == [("VOICE\rSMS", "x\r\ny"), ("1\n2", "3")]


def test_csv_short_rows_padded_and_blank_rows_kept(tmp_path: Path) -> None:
    """Short rows are padded, inner blank rows kept, trailing ones and columns dropped."""
    path = tmp_path / "in.csv"
    path.write_text("a,b,,\nx\n\n,\ny,z,,\n,,,\n\n", encoding="utf-8")
    sheet = only(path)
    assert sheet.headers == ("a", "b")
    assert cells(sheet) == [("x", ""), ("", ""), ("", ""), ("y", "z")]
    assert [row.blank for row in sheet.rows] == [False, True, True, False]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            "a,b\nok,fine\nAna,caf\xe9\n".encode("latin-1"),
            "row 3, column 'b': is not UTF-8 text (byte 0xE9)",
            id="latin-1",
        ),
        pytest.param(
            b'a,b\n"multi\nline",x\x00y\n',
            "row 2, column 'b': cell holds a NUL byte",
            id="nul",
        ),
        pytest.param(
            b"a,b\n1,2\n3,4,5\n",
            "row 3: has 3 cells but the header has 2",
            id="extra-cells",
        ),
        pytest.param("a;b\n".encode("utf-16"), ": is UTF-16 text", id="utf-16"),
        pytest.param(b"PK\x03\x04\x14\x00", "is an Excel workbook, not CSV", id="zip"),
        pytest.param(b"", ": is empty", id="empty"),
        pytest.param(b"\xef\xbb\xbf\r\n,,\r\n", ": is empty", id="blank"),
        pytest.param(b"\nname\nAna\n", "row 1 is empty", id="no-header"),
    ],
)
def test_csv_refused(tmp_path: Path, raw: bytes, expected: str) -> None:
    """Undecodable, NUL-holding, over-wide and empty CSV files name where to look."""
    path = tmp_path / "in.csv"
    path.write_bytes(raw)
    message = refused(path)
    assert expected in message
    assert message.startswith(str(path))
    if "UTF-" in expected:
        assert "CSV UTF-8" in message


def test_csv_extra_empty_cells_allowed(tmp_path: Path) -> None:
    """Trailing empty cells beyond the header, as spreadsheets export them, are fine."""
    path = tmp_path / "in.csv"
    path.write_text("a,b\n1,2,,\n", encoding="utf-8")
    assert cells(only(path)) == [("1", "2")]


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(40_000, id="over-excel-limit"),
        pytest.param(200_000, id="over-csv-module-limit"),
    ],
)
def test_csv_huge_cell(tmp_path: Path, size: int) -> None:
    """A cell over Excel's 32,767 characters names its row and column."""
    path = tmp_path / "in.csv"
    path.write_text(f'a,b,c\n1,2,3\n4,"{"x," * (size // 2)}",6\n', encoding="utf-8")
    assert "row 3, column 'b': cell is longer than 32,767 characters" in refused(path)


# XLSX in


def test_xlsx_values_as_text(tmp_path: Path) -> None:
    """Numbers, dates and booleans stored by Excel come back as the text typed."""
    row = [
        385911234567,
        385911234567.0,
        "00123",
        dt.date(2024, 2, 29),
        dt.datetime(2024, 2, 29, 13, 45, 7),
        dt.datetime(2024, 2, 29),
        dt.time(8, 30),
        True,
        False,
        1e20,
        0.1,
        1e-7,
        -42,
        " spaced ",
    ]
    headers = [f"h{i}" for i in range(len(row))]
    path = write_xlsx(tmp_path / "in.xlsx", {"Requests": [headers, row]})
    assert cells(only(path)) == [
        (
            "385911234567",
            "385911234567",
            "00123",
            "2024-02-29",
            "2024-02-29 13:45:07",
            "2024-02-29",
            "08:30:00",
            "TRUE",
            "FALSE",
            "100000000000000000000",
            "0.1",
            "0.0000001",
            "-42",
            " spaced ",
        )
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(12345678901234567890.0, "12345678901234567000", id="beyond-2**53"),
        pytest.param(1.5e300, "15" + "0" * 299, id="huge"),
        pytest.param(2.5, "2.5", id="fraction"),
        pytest.param(-0.0, "0", id="negative-zero"),
        pytest.param(dt.datetime(2024, 1, 1, 23, 59, 59, 999_999), "2024-01-02", id="rounded"),
        pytest.param(dt.timedelta(days=1, hours=2), "1 day, 2:00:00", id="duration"),
        pytest.param(dt.time(23, 59, 59, 600_000), "00:00:00", id="time-rounded"),
        pytest.param(10**20, "100000000000000000000", id="int"),
    ],
)
def test_cell_text_edges(value: Any, expected: str) -> None:
    """Floats never come out in exponent form; times round to the second."""
    assert xlsx._cell_text(value) == expected


def test_xlsx_sheets_in_order_skipping_empty_and_tool_sheets(tmp_path: Path) -> None:
    """Every sheet but empty ones and the tool's Summary, in workbook order."""
    path = write_xlsx(
        tmp_path / "in.xlsx",
        {
            "NUMBER_PURCHASE": [["countryCode"], ["HR"]],
            "Empty": [],
            "Summary": [["result", "count"], ["SUBMITTED", 3]],
            "ALPHANUMERIC_REGISTRATION": [["countryCode", "senderName"], ["DE", "Acme"]],
        },
    )
    found = read_sheets(path)
    assert [sheet.name for sheet in found] == ["NUMBER_PURCHASE", "ALPHANUMERIC_REGISTRATION"]
    assert found[1].rows == (Row("ALPHANUMERIC_REGISTRATION", 2, ("DE", "Acme")),)


def test_xlsx_blank_rows_kept_inside_dropped_at_end(tmp_path: Path) -> None:
    """Blank rows in between keep row numbers; trailing ones and blank columns go."""
    path = tmp_path / "in.xlsx"
    book, [sheet] = new_book("Sheet")
    sheet.append(["a", "b", None])
    sheet.append(["1", None, None])
    sheet.append([])
    sheet.append(["  ", None, None])
    sheet.append(["4", "x", None])
    sheet["C9"] = "   "
    for number in range(10, 200):
        sheet.cell(row=number, column=1).font = Font(bold=True)
    book.save(path)
    found = only(path)
    assert found.headers == ("a", "b")
    assert [(row.number, row.cells, row.blank) for row in found.rows] == [
        (2, ("1", ""), False),
        (3, ("", ""), True),
        (4, ("", ""), True),
        (5, ("4", "x"), False),
    ]


def test_xlsx_padded_with_formatted_empty_rows(tmp_path: Path) -> None:
    """A sheet padded with 200,000 formatted, empty rows reads fast and ends at its data."""
    base = write_xlsx(tmp_path / "base.xlsx", {"Sheet": [["a", "b"], ["x", "y"]]})
    padding = "".join(
        f'<row r="{n}" s="1" customFormat="1"><c r="A{n}" s="1"/><c r="B{n}" s="1"/></row>'
        for n in range(3, 200_003)
    )
    xml = sheet_xml(base).replace("</sheetData>", padding + "</sheetData>")
    path = rezip(base, tmp_path / "padded.xlsx", {"xl/worksheets/sheet1.xml": xml.encode()})
    started = time.perf_counter()
    assert cells(only(path)) == [("x", "y")]
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [["countryCode", "senderName"], ["HR", "Acme"], ["DE", "Beta"]],
            None,
            id="clean",
        ),
        pytest.param(
            [["Country Code", "senderName", "country_code"], ["HR", "Acme", "DE"]],
            "sheet 'S', row 1: duplicate column 'Country Code' (column A) and 'country_code' "
            "(column C)",
            id="duplicate",
        ),
        pytest.param(
            [["countryCode", None, "senderName"], ["HR", "stray", "Acme"]],
            "sheet 'S': column B has values but no header",
            id="missing-header",
        ),
        pytest.param(
            [[None, None], ["HR", "Acme"]],
            "sheet 'S': row 1 is empty: the first row must hold the column names",
            id="blank-header-row",
        ),
        pytest.param(
            [["countryCode", "senderName"], ["HR", "Acme", "stray"]],
            "sheet 'S': column C has values but no header",
            id="beyond-header",
        ),
    ],
)
def test_xlsx_headers(tmp_path: Path, rows: list[list[Any]], expected: str | None) -> None:
    """Headers must be unique after normalising, and every column with data needs one."""
    path = write_xlsx(tmp_path / "in.xlsx", {"S": rows})
    if expected is None:
        assert only(path).headers == ("countryCode", "senderName")
    else:
        assert expected in refused(path)


def test_blank_header_column_without_values_is_kept(tmp_path: Path) -> None:
    """An empty, unnamed column between named ones stays, so columns keep their places."""
    path = write_xlsx(tmp_path / "in.xlsx", {"S": [["a", None, "c"], ["1", None, "3"]]})
    assert only(path).headers == ("a", "", "c")


@pytest.mark.parametrize(
    "error",
    [pytest.param("#N/A", id="na"), pytest.param("#DIV/0!", id="div0")],
)
def test_xlsx_error_cells(tmp_path: Path, error: str) -> None:
    """An Excel error value (read by calamine as empty) names its sheet, row and column."""
    path = tmp_path / "in.xlsx"
    book, [sheet] = new_book("Requests")
    sheet.append(["countryCode", "senderName"])
    sheet.append(["HR", "Acme"])
    sheet.append(["DE", error])
    book.save(path)
    assert 't="e"' in sheet_xml(path)
    message = refused(path)
    assert f"sheet 'Requests', row 3, column 'senderName': cell holds the Excel error {error}" in (
        message
    )


def test_xlsx_huge_cell(tmp_path: Path) -> None:
    """A cell over Excel's own limit, as other tools can write, is refused."""
    base = write_xlsx(tmp_path / "base.xlsx", {"S": [["a", "b"], ["1", "x"]]})
    xml = sheet_xml(base).replace("<t>x</t>", f"<t>{'x' * 40_000}</t>")
    path = rezip(base, tmp_path / "in.xlsx", {"xl/worksheets/sheet1.xml": xml.encode()})
    assert "sheet 'S', row 2, column 'b': cell is longer than 32,767" in refused(path)


def test_xlsx_formula_without_saved_value_is_its_text(tmp_path: Path) -> None:
    """A formula a program wrote and Excel never computed is neither empty nor lost: the
    cell holds its text, and the row says which of its cells are such formulas."""
    path = tmp_path / "in.xlsx"
    book, [sheet] = new_book("Requests")
    sheet.append(["countryCode", "senderName", "note"])
    sheet.append(["HR", '=CONCAT("A","B")', "=1+1"])
    sheet.append(["DE", "Acme", None])
    book.save(path)
    assert '<f>CONCAT("A","B")</f><v' in sheet_xml(path)
    rows = only(path).rows
    assert [row.cells for row in rows] == [("HR", '=CONCAT("A","B")', "=1+1"), ("DE", "Acme", "")]
    assert [row.formulas for row in rows] == [(1, 2), ()]


def test_xlsx_formulas_with_saved_values_read_as_values(tmp_path: Path) -> None:
    """Excel saves each formula's value, an empty text too (t="str", <v></v>): that value
    is read, as before, and nothing is taken for a formula without one."""
    base = write_xlsx(tmp_path / "base.xlsx", {"S": [["a", "b", "c"], ["1", "x", "y"]]})
    xml = sheet_xml(base)
    start, end = xml.index('<c r="B2"'), xml.index("</row>", xml.index('<c r="B2"'))
    saved = (
        '<c r="B2" t="str"><f>CONCAT("A","B")</f><v>AB</v></c>'
        '<c r="C2" t="str"><f>IF(A2="","","x")</f><v></v></c>'
    )
    path = rezip(
        base,
        tmp_path / "in.xlsx",
        {"xl/worksheets/sheet1.xml": (xml[:start] + saved + xml[end:]).encode()},
    )
    [row] = only(path).rows
    assert (row.cells, row.formulas) == (("1", "AB", ""), ())


def test_xlsx_shared_formula_without_saved_values(tmp_path: Path) -> None:
    """A shared formula's copies carry no text of their own: each is shown as Excel
    would show it in its own cell."""
    base = write_xlsx(tmp_path / "base.xlsx", {"S": [["a", "b"], ["1", None], ["2", None]]})
    xml = sheet_xml(base)
    xml = xml.replace(
        '<c r="A2" t="inlineStr"><is><t>1</t></is></c>',
        '<c r="A2" t="inlineStr"><is><t>1</t></is></c>'
        '<c r="B2"><f t="shared" ref="B2:B3" si="0">A2&amp;"x"</f></c>',
    ).replace(
        '<c r="A3" t="inlineStr"><is><t>2</t></is></c>',
        '<c r="A3" t="inlineStr"><is><t>2</t></is></c><c r="B3"><f t="shared" si="0"/></c>',
    )
    path = rezip(base, tmp_path / "in.xlsx", {"xl/worksheets/sheet1.xml": xml.encode()})
    assert cells(only(path)) == [("1", '=A2&"x"'), ("2", '=A3&"x"')]


def test_xlsx_template_type_formula_without_saved_value(tmp_path: Path) -> None:
    """The template's own type formula, filled in by a program and never computed, gives
    the row's type once the row has a value (and nothing on an empty row), as in Excel."""
    path = tmp_path / "in.xlsx"
    book, [sheet] = new_book("Renamed")
    sheet.append(["type", "countryCode", "senderName"])
    for number in (2, 3, 4):
        sheet[f"A{number}"] = f'=IF(COUNTA(B{number}:C{number})=0,"","ALPHANUMERIC_REGISTRATION")'
    sheet["C2"] = "Acme"
    book.save(path)
    [row] = only(path).rows  # rows 3 and 4 are empty: dropped, as trailing blank rows are
    assert (row.cells, row.formulas) == (("ALPHANUMERIC_REGISTRATION", "", "Acme"), ())


def test_xlsx_header_formula_without_saved_value(tmp_path: Path) -> None:
    """A column name that is a formula never computed is refused: it names no column."""
    path = write_xlsx(tmp_path / "in.xlsx", {"S": [["a", '=LOWER("B")'], ["1", "2"]]})
    assert refused(path).endswith(
        "sheet 'S', row 1, column 'B': the header is a formula with no saved value"
        ' (=LOWER("B")); type it'
    )


# Hostile and unreadable files


def test_not_a_workbook(tmp_path: Path) -> None:
    """A text file renamed .xlsx is refused as not a workbook."""
    path = tmp_path / "in.xlsx"
    path.write_text("name,phone\nAna,1\n", encoding="utf-8")
    assert refused(path) == f"{path}: {xlsx._NOT_XLSX}"


def test_truncated_workbook(tmp_path: Path) -> None:
    """A workbook cut short is refused as damaged."""
    whole = write_xlsx(tmp_path / "whole.xlsx", {"S": [["a"], ["b"]]})
    path = tmp_path / "in.xlsx"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert "is not a valid .xlsx workbook (it may be damaged" in refused(path)


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    """A zip without a workbook part (a .docx renamed, say) is refused."""
    path = tmp_path / "in.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<document/>")
    assert "is not a valid .xlsx workbook" in refused(path)


def test_corrupt_member(tmp_path: Path) -> None:
    """A member whose bytes do not match its checksum is refused before calamine runs."""
    whole = write_xlsx(tmp_path / "whole.xlsx", {"S": [["header"], ["value" * 50]]})
    data = bytearray(whole.read_bytes())
    at = data.index(b"xl/worksheets/sheet1.xml") + 40
    data[at : at + 8] = bytes(8)
    path = tmp_path / "in.xlsx"
    path.write_bytes(bytes(data))
    assert "is not a valid .xlsx workbook" in refused(path)


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        pytest.param(
            "in.xlsx",
            b"EncryptionInfo".decode().encode("utf-16-le") + "EncryptedPackage".encode("utf-16-le"),
            "is password-protected; remove the password (File > Info > Protect Workbook)",
            id="encrypted",
        ),
        pytest.param(
            "in.xlsx", "Workbook".encode("utf-16-le"), "Excel 97-2003 (.xls)", id="xls-renamed"
        ),
        pytest.param("in.xls", b"", ".xls is not supported; save the workbook as .xlsx", id="xls"),
    ],
)
def test_ole2_files(tmp_path: Path, name: str, body: bytes, expected: str) -> None:
    """Password-protected workbooks and legacy .xls files each get their own advice."""
    path = tmp_path / name
    path.write_bytes(shared._OLE2 + bytes(504) + body + bytes(512))
    assert expected in refused(path)


def test_zip_bomb_ratio(tmp_path: Path) -> None:
    """A big part packed a thousand times smaller is refused before it is unpacked."""
    base = write_xlsx(tmp_path / "base.xlsx", {"S": [["a"], ["b"]]})
    path = rezip(base, tmp_path / "bomb.xlsx", {"xl/sharedStrings.xml": bytes(60 << 20)})
    started = time.perf_counter()
    assert "unpacks to 60 MB" in refused(path)
    assert "zip bomb" in refused(path)
    assert time.perf_counter() - started < 2


def test_zip_bomb_total(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A workbook unpacking to more than the limit in all is refused."""
    monkeypatch.setattr(xlsx, "_MAX_UNPACKED", 1 << 20)
    base = write_xlsx(tmp_path / "base.xlsx", {"S": [["a"], ["b"]]})
    path = rezip(base, tmp_path / "big.xlsx", {"xl/media/padding.xml": os.urandom(2 << 20)})
    assert "unpacks to 2 MB, more than the 1 MB allowed; it may be a zip bomb" in refused(path)


@pytest.mark.parametrize(
    "part",
    [pytest.param("xl/worksheets/sheet1.xml", id="sheet"), pytest.param("shared", id="shared")],
)
def test_billion_laughs(tmp_path: Path, part: str) -> None:
    """Entity declarations (billion laughs) are refused quickly, never expanded."""
    base = write_xlsx(tmp_path / "base.xlsx", {"S": [["a"], ["b"]]})
    if part == "shared":
        changes = {
            "xl/sharedStrings.xml": (
                LOL + '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                'count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'
            ).encode()
        }
        part = "xl/sharedStrings.xml"
    else:
        xml = sheet_xml(base).replace("<t>b</t>", "<t>&lol9;</t>")
        changes = {part: (LOL + xml).encode()}
    path = rezip(base, tmp_path / "lol.xlsx", changes)
    started = time.perf_counter()
    assert f"its part {part} has a DTD or XML entity declarations" in refused(path)
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("missing.csv", "does not exist", id="missing"),
        pytest.param("folder.xlsx", "is a directory", id="directory"),
        pytest.param("in.ods", "only .csv and .xlsx are supported, not .ods", id="suffix"),
        pytest.param("in", "only .csv and .xlsx are supported", id="no-suffix"),
    ],
)
def test_unreadable_paths(tmp_path: Path, name: str, expected: str) -> None:
    """Missing files, folders and unknown formats are refused with the path named."""
    (tmp_path / "folder.xlsx").mkdir()
    (tmp_path / "in.ods").write_bytes(b"x")
    (tmp_path / "in").write_bytes(b"x")
    message = refused(tmp_path / name)
    assert message.startswith(str(tmp_path / name))
    assert expected in message


@pytest.mark.parametrize("name", ["Summary", "summary", "GUIDE"])
def test_a_request_sheet_named_like_the_tools_own_is_refused(tmp_path: Path, name: str) -> None:
    """A sheet named Summary or Guide (in any case) holding request rows would be
    written over by the tool's own sheet: it is refused, naming it, not skipped."""
    path = write_xlsx(
        tmp_path / "in.xlsx",
        {"Requests": [["countryCode"], ["HR"]], name: [["type", "countryCode"], ["X", "HR"]]},
    )
    assert refused(path) == (
        f"{path}, sheet {name!r}: sheet {name!r} holds request rows, but resource-batch"
        " writes a sheet of that name into its results; rename the sheet (for example to"
        " Requests)"
    )


def test_the_tools_own_sheets_are_skipped(tmp_path: Path) -> None:
    """A results workbook's Summary and Guide sheets are not read as request rows."""
    path = write_xlsx(
        tmp_path / "in.xlsx",
        {
            "Requests": [["countryCode"], ["HR"]],
            "Summary": [["Run", None], ["Input", "x.xlsx"]],
            "guide": [["for", "key", "name"], ["numbers in HR", "vatNumber", "VAT"]],
        },
    )
    assert [sheet.name for sheet in read_sheets(path)] == ["Requests"]


# Through the CLI

TOLL_FREE = {
    "type": "NUMBER_PURCHASE",
    "countryCode": "US",
    "numberType": "TOLL_FREE_NUMBER",
    "capabilities": "SMS",
}


def test_cli_formula_without_saved_value_is_invalid_and_kept(batch) -> None:
    """A formula Excel never computed makes its row INVALID, said on its cell, and not
    sent; the results sheet keeps the formula's text. The other rows go on."""
    path = batch.folder / "made.xlsx"
    book, [sheet] = new_book("Requests")
    sheet.append([*TOLL_FREE, "reference"])
    sheet.append([*TOLL_FREE.values(), "R1"])
    sheet.append([*TOLL_FREE.values(), "R2"])
    sheet["D3"] = '=CONCAT("S","MS")'
    book.save(path)
    result = batch.run(str(path))
    assert result.exit_code == 1, result.output
    [sent] = batch.api.stored()
    assert sent["capabilities"] == ["SMS"]
    out = openpyxl.load_workbook(path.with_name("made.results.xlsx"))["Requests"]
    values = list(out.values)
    rows = {
        row[values[0].index("reference")]: dict(zip(values[0], row, strict=True))
        for row in values[1:]
    }
    assert rows["R1"]["result"] == "SUBMITTED"
    assert rows["R2"]["result"] == "INVALID"
    assert rows["R2"]["errors"] == (
        'capabilities: a formula with no saved value (=CONCAT("S","MS")); open the file in'
        " Excel and save it, or type the value"
    )
    cell = out.cell(3, values[0].index("capabilities") + 1)
    assert (cell.value, cell.data_type) == ('=CONCAT("S","MS")', "s")  # text, kept
    assert "a formula with no saved value" in cell.comment.text
    again = batch.run(str(path.with_name("made.results.xlsx")))  # fed back unfixed
    assert again.exit_code == 1, again.output
    assert len(batch.api.stored()) == 1  # the formula's text is never sent as its value


def test_cli_bare_cr_in_a_csv_cell(batch) -> None:
    """A cell holding values on lines ended by a bare CR is split as on a newline, sent,
    and written back exactly as it was typed."""
    path = batch.folder / "mac.csv"
    path.write_bytes(
        b"type,countryCode,numberType,capabilities,notes\r"
        b'NUMBER_PURCHASE,US,TOLL_FREE_NUMBER,"VOICE\rSMS","call\rme"\r'
    )
    result = batch.run(str(path))
    assert result.exit_code == 0, result.output
    [sent] = batch.api.stored()
    assert sent["capabilities"] == ["SMS", "VOICE"]
    [row] = batch.results(path.with_name("mac.results.csv"))
    assert (row["result"], row["capabilities"], row["notes"]) == (
        "SUBMITTED",
        "VOICE\rSMS",
        "call\rme",
    )


def _wide(path: Path, headers: list[str], row: list[str]) -> Path:
    if path.suffix == ".csv":
        path.write_text(",".join(headers) + "\n" + ",".join(row) + "\n", encoding="utf-8")
        return path
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Requests")
    sheet.append(headers)
    sheet.append(row)
    book.save(path)
    return path


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_cli_input_too_wide_for_its_results(batch, suffix: str) -> None:
    """An input as wide as Excel allows has no room for the result columns: it is
    refused before anything is looked up or sent, saying how many columns it has, how
    many the results add and Excel's limit; a .csv too, as its results open in Excel."""
    headers = [*TOLL_FREE, *(f"note {n}" for n in range(5, 16_385))]
    path = _wide(batch.folder / f"wide{suffix}", headers, [*TOLL_FREE.values(), "x"])
    result = batch.run(str(path))
    assert result.exit_code == 2
    sheet = ", sheet 'Requests'" if suffix == ".xlsx" else ""
    assert f"Error: {path}{sheet}: has 16,384 columns and its results sheet adds 15 (the" in (
        result.output
    )
    assert (
        "result columns in front): 16,399 in all, past Excel's limit of 16,384 columns (A to"
        " XFD); delete the columns you do not need, or split the sheet"
    ) in result.output
    assert not path.with_name(f"wide.results{suffix}").exists()
    assert batch.api.calls() == {}


def test_cli_requirement_columns_past_excels_last_column(batch) -> None:
    """The requirement columns a sheet lacks count too: known once its offers are looked
    up, they refuse it then, still before anything is sent."""
    width = 16_384 - len(RESULT_COLUMNS) - 1  # room for the result columns and action
    headers = ["type", "countryCode", "senderName", *(f"note {n}" for n in range(4, width + 1))]
    path = _wide(batch.folder / "hr.xlsx", headers, ["ALPHANUMERIC_REGISTRATION", "HR", "Acme"])
    result = batch.run(str(path))
    assert result.exit_code == 2
    assert f"Error: {path}, sheet 'Requests': has {width:,} columns and its results sheet" in (
        result.output
    )
    assert "(the result columns in front, the requirement columns it lacks at the end)" in (
        result.output
    )
    assert batch.api.stored() == []


def test_cli_formatted_empty_columns_up_to_excels_last(batch) -> None:
    """Columns with neither a name nor a value, up to Excel's last, formatted only, are
    dropped: the results sheet has room and the row is sent."""
    path = batch.folder / "formatted.xlsx"
    book, [sheet] = new_book("Requests")
    sheet.append(list(TOLL_FREE))
    sheet.append(list(TOLL_FREE.values()))
    sheet.cell(2, 16_384).font = Font(bold=True)
    book.save(path)
    assert '<c r="XFD2"' in sheet_xml(path)
    result = batch.run(str(path))
    assert result.exit_code == 0, result.output
    out = openpyxl.load_workbook(path.with_name("formatted.results.xlsx"))["Requests"]
    assert out.max_column == len(RESULT_COLUMNS) + 1 + len(TOLL_FREE)
    assert len(batch.api.stored()) == 1


def test_cli_a_formula_kept_as_text_is_never_sent_as_a_value(batch) -> None:
    """A free-text cell holding a formula's text (as a results sheet keeps a formula
    that had no saved value) is INVALID on that cell, not sent with the text as value."""
    from tests.test_run import DOC, hr_alpha

    batch.document(DOC)
    path = batch.csv([hr_alpha(companyName='=CONCAT("Acme"," d.o.o.")')])
    result = batch.run(str(path))
    assert result.exit_code == 1, result.output
    [row] = batch.results(path.with_name("requests.results.csv"))
    assert row["result"] == "INVALID"
    assert row["errors"] == (
        'companyName (Company Name): =CONCAT("Acme"," d.o.o.") is a formula, not a value:'
        " type the value itself"
    )
    assert batch.api.stored() == []
