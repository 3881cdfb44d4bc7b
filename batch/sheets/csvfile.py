"""Reading a CSV file: UTF-8 text, comma or semicolon, cells neutralised against
formula injection taken back as typed."""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import itertools
import re
from pathlib import Path

from batch.errors import InputError
from batch.sheets.shared import (
    _NEUTRALISED,
    _OLE2,
    CELL_LIMIT,
    Sheet,
    _column,
    _read_bytes,
    _sheet,
    _too_long,
)

_BAD_TEXT = re.compile("[\x00\udc80-\udcff]")


def _read_csv(path: Path) -> Sheet:
    file = str(path)
    data = _read_bytes(path, file).removeprefix(codecs.BOM_UTF8)
    if data.startswith((b"PK\x03\x04", _OLE2)):
        msg = "is an Excel workbook, not CSV text; give it the .xlsx suffix"
        raise InputError(msg, file=file)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        msg = 'is UTF-16 text; in Excel use File > Save As > "CSV UTF-8 (Comma delimited)"'
        raise InputError(msg, file=file)
    try:
        text = data.decode("utf-8")
        suspect = "\x00" in text
    except UnicodeDecodeError:
        # Undecodable bytes become lone surrogates, found again cell by cell below.
        text, suspect = data.decode("utf-8", "surrogateescape"), True
    delimiter = _delimiter(text)
    sheet = _sheet(file, None, _csv_records(file, text, delimiter, suspect=suspect))
    if sheet is None:
        raise InputError("is empty: the first row must hold the column names", file=file)
    return dataclasses.replace(sheet, delimiter=delimiter)


def _delimiter(text: str) -> str:
    """Comma or semicolon (European Excel), whichever the header line has more of."""
    line = re.split(r"[\r\n]", text[:65536], maxsplit=1)[0]
    unquoted = re.sub(r'"[^"]*"', "", line)
    return ";" if unquoted.count(";") > unquoted.count(",") else ","


def _csv_records(file: str, text: str, delimiter: str, *, suspect: bool) -> list[list[str]]:
    """Every record, checked and padded to the header's width; `suspect` when the text
    holds NUL or undecodable bytes, to be found cell by cell."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[list[str]] = []
    while True:
        start = reader.line_num
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            where = (len(records) + 1, records[0] if records else [])
            raise _csv_error(file, text, delimiter, (start, reader.line_num), where, exc) from None
        header = records[0] if records else []
        _check_csv_cells(file, cells, len(records) + 1, header, suspect)
        records.append([_unneutralise(cell) for cell in cells])
    if records:
        _fit_csv_records(file, records, delimiter)
    return records


def _check_csv_cells(
    file: str, cells: list[str], number: int, header: list[str], suspect: bool
) -> None:
    if suspect:
        for index, cell in enumerate(cells):
            if found := _BAD_TEXT.search(cell):
                raise _bad_character(file, found.group(), number, _column(header, index))
    if cells and max(map(len, cells)) > CELL_LIMIT:
        index = next(i for i, cell in enumerate(cells) if len(cell) > CELL_LIMIT)
        raise _too_long(file, number, _column(header, index))


def _bad_character(file: str, char: str, number: int, column: str) -> InputError:
    if char == "\x00":
        msg = "cell holds a NUL byte; is this really a CSV text file?"
    else:
        msg = (
            f"is not UTF-8 text (byte 0x{ord(char) - 0xDC00:02X}); in Excel use "
            'File > Save As > "CSV UTF-8 (Comma delimited)"'
        )
    return InputError(msg, file=file, row=number, column=column)


def _csv_error(
    file: str,
    text: str,
    delimiter: str,
    lines: tuple[int, int],
    where: tuple[int, list[str]],
    exc: csv.Error,
) -> InputError:
    """The csv module's own error: over its field size limit, or damaged quoting."""
    number, header = where
    if "field larger than field limit" not in str(exc):
        return InputError(f"cannot be read as CSV: {exc}", file=file, row=number)
    record = "".join(itertools.islice(io.StringIO(text, newline=""), *lines))
    return _too_long(file, number, _column(header, _long_field(record, delimiter)))


def _long_field(record: str, delimiter: str) -> int:
    """The 0-based column of the first field longer than CELL_LIMIT in one CSV record."""
    column, length, quoted = 0, 0, False
    for char in record:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            column, length = column + 1, 0
        else:
            length += 1
            if length > CELL_LIMIT:
                break
    return column


def _unneutralise(cell: str) -> str:
    return cell[1:] if cell[:1] == "'" and _NEUTRALISED.match(cell) else cell


def _fit_csv_records(file: str, records: list[list[str]], delimiter: str) -> None:
    """Pad short records to the header's width; refuse long ones with values beyond it."""
    width = len(records[0])
    if not any(cell.strip() for cell in records[0]):
        return  # no header: _sheet says so, or that the file is empty
    for number, cells in enumerate(records, start=1):
        if len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        elif len(cells) > width:
            used = max(i for i, cell in enumerate(cells) if cell.strip() or i < width) + 1
            if used > width:
                msg = (
                    f"has {used} cells but the header has {width} (is a value holding "
                    f"{delimiter!r} missing its quotes?)"
                )
                raise InputError(msg, file=file, row=number)
            del cells[width:]
