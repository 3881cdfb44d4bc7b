"""What reading CSV and XLSX share: the `Sheet` and `Row` read, header matching and
checking, and the limits both keep."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from batch.errors import InputError

# Sheets the tool writes into workbooks; skipped when such a workbook is read back.
TOOL_SHEETS = ("Summary", "Guide")
# Excel's own limit on the characters of one cell.
CELL_LIMIT = 32_767
# Encrypted workbooks and legacy .xls files are both OLE2 compound files.
_OLE2 = bytes.fromhex("D0CF11E0A1B11AE1")

# OWASP's CSV-injection list: Excel, LibreOffice and Google Sheets evaluate a cell that
# starts with one of these. A CSV cell gets an apostrophe in front; read_sheets takes
# one off again, also when the value itself began with apostrophes, so values round-trip.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NEUTRALISED = re.compile(r"'+[=+\-@\t\r]")


@dataclass(frozen=True, slots=True)
class Row:
    """One spreadsheet row: its number as the spreadsheet shows it (the header is row 1)
    and one text per header, exactly as typed ("" for an empty cell)."""

    sheet: str | None
    number: int
    cells: tuple[str, ...]
    # The cells holding a formula with no saved value (a workbook a program wrote and
    # Excel never computed): their text is the formula ("=..."), kept, but not a value.
    formulas: tuple[int, ...] = ()

    @property
    def blank(self) -> bool:
        return not any(map(str.strip, self.cells))


@dataclass(frozen=True, slots=True)
class Sheet:
    """A sheet of a workbook (name) or a CSV file (name None), with every row up to the
    last non-blank one, blank rows included, so row numbers match the input's."""

    name: str | None
    headers: tuple[str, ...]
    rows: tuple[Row, ...]
    delimiter: str = ","  # a CSV's, kept for its results


@functools.lru_cache(maxsize=8192)
def normalise(header: str) -> str:
    """Header matching ignores case, spaces, underscores and dashes."""
    return "".join(c for c in header.casefold() if c not in " _-\t\n\r")


def _read_bytes(path: Path, file: str, size: int = -1) -> bytes:
    try:
        with path.open("rb") as stream:
            return stream.read(size)
    except FileNotFoundError:
        raise InputError("does not exist", file=file) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a .csv or .xlsx file", file=file) from None
    except PermissionError:
        raise InputError("cannot be read: permission denied", file=file) from None
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", file=file) from None


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _index(letter: str) -> int:
    from openpyxl.utils import column_index_from_string

    return column_index_from_string(letter) - 1


def _column(headers: Sequence[str], index: int) -> str:
    """A column as messages name it: its header, or its letter when it has none."""
    if index < len(headers) and headers[index].strip():
        return headers[index]
    return _letter(index)


def _sheet(
    file: str,
    name: str | None,
    records: list[list[str]],
    formulas: Mapping[int, tuple[int, ...]] | None = None,
) -> Sheet | None:
    """Rectangular text rows (the header first) as a Sheet; None when all blank.
    `formulas`: by row number, the cells that hold a formula with no saved value."""
    while records and not any(cell.strip() for cell in records[-1]):
        records.pop()
    if not records:
        return None
    header, body = records[0], records[1:]
    if not any(cell.strip() for cell in header):
        msg = "row 1 is empty: the first row must hold the column names"
        raise InputError(msg, file=file, sheet=name)
    width = _check_headers(file, name, header, body)
    if width < len(header):
        header, body = header[:width], [cells[:width] for cells in body]
    rows = tuple(Row(name, number, tuple(cells)) for number, cells in enumerate(body, start=2))
    if formulas:
        rows = tuple(
            dataclasses.replace(row, formulas=formulas[row.number])
            if row.number in formulas
            else row
            for row in rows
        )
    return Sheet(name, tuple(header), rows)


def _check_headers(file: str, name: str | None, header: list[str], body: list[list[str]]) -> int:
    """Refuse data without a header and duplicate headers; return the width to keep."""
    for index, text in enumerate(header):
        if not text.strip() and any(cells[index].strip() for cells in body):
            msg = f"column {_letter(index)} has values but no header; name it in row 1"
            raise InputError(msg, file=file, sheet=name)
    seen: dict[str, int] = {}
    for index, text in enumerate(header):
        key = normalise(text)
        if not key:
            continue
        if key in seen:
            first = seen[key]
            msg = (
                f"duplicate column {header[first]!r} (column {_letter(first)}) and {text!r} "
                f"(column {_letter(index)}): headers match ignoring case, spaces, "
                "underscores and dashes; rename or delete one"
            )
            raise InputError(msg, file=file, sheet=name, row=1)
        seen[key] = index
    return max(index for index, text in enumerate(header) if text.strip()) + 1


def _too_long(file: str, number: int, column: str, sheet: str | None = None) -> InputError:
    msg = f"cell is longer than {CELL_LIMIT:,} characters (Excel's limit)"
    return InputError(msg, file=file, sheet=sheet, row=number, column=column)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: the millions of cells, rows and checked values
    a big sheet makes hold no cycles, and the collections they trigger would take a
    third of the time. What was made meanwhile is then frozen (gc.freeze): it lives as
    long as the run, and later collections need not walk it again and again."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if paused:
            gc.enable()
