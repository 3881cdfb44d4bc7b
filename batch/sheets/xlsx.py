"""Reading an XLSX workbook through python-calamine, and the guards before it: zip
bombs, encryption, DTDs, error cells and formulas with no saved value."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TypeAlias, cast
from xml.etree import ElementTree

import python_calamine

from batch.errors import InputError
from batch.sheets.shared import (
    _OLE2,
    CELL_LIMIT,
    TOOL_SHEETS,
    Sheet,
    _column,
    _index,
    _letter,
    _read_bytes,
    _sheet,
    _too_long,
    normalise,
)
from batch.workbook import GUIDE

_CellValue: TypeAlias = int | float | str | bool | dt.time | dt.date | dt.datetime | dt.timedelta

_NOT_XLSX = "is not a valid .xlsx workbook (it may be damaged or not an Excel file)"
_PROTECTED = (
    "is password-protected; remove the password (File > Info > Protect Workbook) and try again"
)
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
# Zip bombs: sheet XML from Excel or openpyxl compresses about 10-20:1 (every cell names
# its own reference), while a bomb reaches deflate's ~1000:1. A member refused must be
# both big and compressed more than 10x beyond anything real; the total bounds the time
# calamine and our own scan can spend on a lying or merely huge file.
_MAX_UNPACKED = 1 << 30
_MAX_RATIO = 200
_RATIO_FLOOR = 50 << 20
_CHUNK = 4 << 20


def _read_xlsx(path: Path) -> list[Sheet]:
    file = str(path)
    if _read_bytes(path, file, len(_OLE2)) == _OLE2:
        raise _ole2_error(path, file)
    flagged = _inspect_zip(path, file)
    try:
        with python_calamine.CalamineWorkbook.from_path(path) as book:
            names = [
                meta.name
                for meta in book.sheets_metadata
                if meta.typ == python_calamine.SheetTypeEnum.WorkSheet
                and not _tool_sheet(file, book, meta.name)
            ]
            sheets = [_read_worksheet(path, book, name, flagged) for name in names]
    except python_calamine.PasswordError:
        raise InputError(_PROTECTED, file=file) from None
    except (python_calamine.CalamineError, OSError) as exc:
        raise InputError(f"{_NOT_XLSX}: {exc}", file=file) from exc
    found = [sheet for sheet in sheets if sheet is not None]
    if not found:
        msg = "has no sheet with data: every sheet is empty"
        raise InputError(msg, file=file)
    return found


# Headers that only a request sheet has: a tool-named sheet holding them is the user's.
_REQUEST_HEADERS = frozenset({"countrycode", "sendername", "numbertype", "reference"})


def _tool_sheet(file: str, book: python_calamine.CalamineWorkbook, name: str) -> bool:
    """Whether a sheet is one the tool writes (Summary, Guide, in any case), to skip.

    Raises:
        InputError: a sheet of such a name holds request rows: the tool would write its
            own sheet over them, so it must be renamed rather than skipped.
    """
    if name.casefold() not in {tool.casefold() for tool in TOOL_SHEETS}:
        return False
    first = book.get_sheet_by_name(name).to_python(skip_empty_area=False, nrows=1)
    headers = {normalise(str(cell)) for cell in (first[0] if first else [])}
    if headers & _REQUEST_HEADERS:
        msg = (
            f"sheet {name!r} holds request rows, but resource-batch writes a sheet of that"
            " name into its results; rename the sheet (for example to Requests)"
        )
        raise InputError(msg, file=file, sheet=name)
    return True


def _read_worksheet(
    path: Path, book: python_calamine.CalamineWorkbook, name: str, flagged: _Flagged
) -> Sheet | None:
    raw = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    records = _texts(raw)
    header = records[0] if records else []
    if flagged.errors:
        _refuse_error_cells(path, name, flagged.errors, header)
    formulas = _put_formulas(path, name, records, flagged.formulas) if flagged.formulas else {}
    if max(map(len, itertools.chain.from_iterable(records)), default=0) > CELL_LIMIT:
        for number, cells in enumerate(records, start=1):
            if cells and max(map(len, cells)) > CELL_LIMIT:
                index = next(i for i, cell in enumerate(cells) if len(cell) > CELL_LIMIT)
                column = _column(header, index) if number > 1 else _letter(index)
                raise _too_long(str(path), number, column, sheet=name)
    return _sheet(str(path), name, records, formulas)


def _texts(raw: list[list[_CellValue]]) -> list[list[str]]:
    """Every cell as text. Each distinct non-text value is converted once and the rows
    are mapped through that table, which is four times quicker than cell by cell on a
    big sheet. A sheet holding both booleans and numbers cannot use one table (True ==
    1.0 in Python), nor one holding NaN (never equal to itself): those go cell by cell."""
    others = [value for value in set().union(*raw) if value.__class__ is not str]
    kinds = {value.__class__ for value in others}
    if (bool in kinds and kinds & {int, float}) or any(value != value for value in others):
        return [[c if isinstance(c, str) else _cell_text(c) for c in row] for row in raw]
    table: dict[_CellValue, str] = {value: _cell_text(value) for value in others}
    text = cast(Callable[[_CellValue, _CellValue], str], table.get)  # a text cell: itself
    return [list(map(text, row, row)) for row in raw]


def _cell_text(value: _CellValue) -> str:
    """A non-text cell as the text Excel shows for it in the General format."""
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return _datetime_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        seconds = value.hour * 3600 + value.minute * 60 + value.second
        seconds = (seconds + round(value.microsecond / 1e6)) % 86400
        return f"{seconds // 3600:02}:{seconds // 60 % 60:02}:{seconds % 60:02}"
    return str(value)


def _datetime_text(value: dt.datetime) -> str:
    """To the nearest second, as Excel shows it; the date alone at midnight."""
    if value.microsecond:
        value = (value + dt.timedelta(microseconds=500_000)).replace(microsecond=0)
    if value.time() == dt.time():
        return value.date().isoformat()
    return value.isoformat(sep=" ")


def _float_text(value: float) -> str:
    """Integral floats as their digits (385911234567.0 → 385911234567, 1e20 spelt out);
    others as the shortest text that reads back the same, never in exponent form."""
    if value.is_integer():
        if -(2**53) < value < 2**53:
            return str(int(value))
        return str(int(Decimal(repr(value))))
    text = repr(value)
    return format(Decimal(text), "f") if "e" in text else text


def _ole2_error(path: Path, file: str) -> InputError:
    """Both an encrypted .xlsx and a legacy .xls are OLE2 files; tell them apart."""
    try:
        with path.open("rb") as stream:
            tail = b""
            while chunk := stream.read(_CHUNK):
                if _ENCRYPTED_STREAM in tail + chunk:
                    return InputError(_PROTECTED, file=file)
                tail = chunk[-len(_ENCRYPTED_STREAM) :]
    except OSError as exc:
        return InputError(f"cannot be read: {exc.strerror or exc}", file=file)
    msg = "is an Excel 97-2003 (.xls) workbook, which is not supported; save it as .xlsx"
    return InputError(msg, file=file)


@dataclass(frozen=True, slots=True)
class _Flagged:
    """The XML members that hold error cells, and those that hold formulas with no saved
    value: calamine reads both as empty, so they are looked for in the XML itself."""

    errors: frozenset[str] = frozenset()
    formulas: frozenset[str] = frozenset()


def _inspect_zip(path: Path, file: str) -> _Flagged:
    """Check the archive before calamine parses it: refuse zip bombs, damaged members
    and XML with entity declarations. Returns the members that need a closer look."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            _check_sizes(file, members)
            if "xl/workbook.xml" not in {member.filename for member in members}:
                raise InputError(_NOT_XLSX, file=file)
            if any(member.flag_bits & 0x1 for member in members):
                raise InputError(_PROTECTED, file=file)
            found = {
                member.filename: _scan_xml(file, archive, member)
                for member in members
                if _parsed(member.filename)
            }
            return _Flagged(
                frozenset(name for name, (errors, _) in found.items() if errors),
                frozenset(name for name, (_, formulas) in found.items() if formulas),
            )
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError) as exc:
        raise InputError(_NOT_XLSX, file=file) from exc
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", file=file) from exc


def _parsed(name: str) -> bool:
    """The parts calamine reads (not docProps/ or customXml/, which may hold anything)."""
    return name.startswith(("xl/", "_rels/", "[Content_Types]")) and name.endswith(
        (".xml", ".rels")
    )


def _check_sizes(file: str, members: Sequence[zipfile.ZipInfo]) -> None:
    total = sum(member.file_size for member in members)
    if total > _MAX_UNPACKED:
        msg = (
            f"unpacks to {total >> 20:,} MB, more than the {_MAX_UNPACKED >> 20:,} MB "
            "allowed; it may be a zip bomb"
        )
        raise InputError(msg, file=file)
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _RATIO_FLOOR and ratio > _MAX_RATIO:
            msg = (
                f"its part {member.filename} unpacks to {member.file_size >> 20:,} MB, "
                f"{ratio:,.0f} times its packed size; it may be a zip bomb"
            )
            raise InputError(msg, file=file)


def _scan_xml(file: str, archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> tuple[bool, bool]:
    """Refuse DTDs (entity expansion); say whether the part may hold error cells, and
    whether it holds formulas with no saved value.

    Reading the part through also checks its CRC and its true unpacked size."""
    errors, formulas, tail = False, False, b""
    sheet = member.filename.startswith("xl/worksheets/")
    with archive.open(member) as stream:
        while chunk := stream.read(_CHUNK):
            window = tail + chunk
            if b"<!DOCTYPE" in window:  # entities can only be declared inside one
                msg = (
                    f"its part {member.filename} has a DTD or XML entity declarations, "
                    "which Excel never writes; refusing it as possibly hostile"
                )
                raise InputError(msg, file=file)
            errors = errors or b't="e"' in window or b"t='e'" in window
            formulas = formulas or (sheet and b"<f" in window and _unsaved_formula(window))
            tail = window[-_OVERLAP:]  # a whole cell, however long its formula
    return errors, formulas


# A formula cell with no value after its <f>, or an empty one; Excel always saves one.
_UNSAVED = re.compile(rb"<f(?:\s[^>]*)?(?:/>|>[^<]*</f>)(<v\s*/>|<v></v>)?</c>")
_OVERLAP = 64 << 10  # Excel's longest formula, 8,192 characters, escaped as XML


def _unsaved_formula(window: bytes) -> bool:
    """Whether some formula cell of a stretch of sheet XML has no saved value. An empty
    <v> of a cell typed t="str" is a saved empty text (a formula giving "")."""
    for found in _UNSAVED.finditer(window):
        if found.group(1) is None:
            return True
        tag = window[window.rfind(b"<c", 0, found.start()) : found.start()]
        if b't="str"' not in tag and b"t='str'" not in tag:
            return True
    return False


def _refuse_error_cells(path: Path, name: str, flagged: frozenset[str], header: list[str]) -> None:
    """calamine reads an error cell (#N/A, #DIV/0!) as empty: find it in the XML."""
    try:
        with zipfile.ZipFile(path) as archive:
            member = _sheet_members(archive).get(name)
            found = _first_error_cell(archive, member) if member in flagged else None
    except (ElementTree.ParseError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(_NOT_XLSX, file=str(path)) from exc
    if found is not None:
        row, index, error = found
        column = _column(header, index) if row > 1 else _letter(index)
        msg = f"cell holds the Excel error {error}; correct it or type the value"
        raise InputError(msg, file=str(path), sheet=name, row=row, column=column)


def _put_formulas(
    path: Path, name: str, records: list[list[str]], flagged: frozenset[str]
) -> dict[int, tuple[int, ...]]:
    """Write each formula with no saved value into its cell as its text ("=..."), so
    that it is neither taken for an empty cell nor lost from the results; return those
    cells by row number. The template's own type formula is worked out instead: a
    template filled in by a program (and never opened in Excel) still says each row's
    type."""
    try:
        with zipfile.ZipFile(path) as archive:
            member = _sheet_members(archive).get(name)
            found = _unsaved_formulas(archive, member) if member in flagged else []
    except (ElementTree.ParseError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(_NOT_XLSX, file=str(path)) from exc
    if not found:
        return {}
    width = max(len(records[0]) if records else 0, *(column + 1 for _, column, _ in found))
    height = max(len(records), *(row for row, _, _ in found))
    for cells in records:
        cells.extend([""] * (width - len(cells)))
    records.extend([[""] * width for _ in range(height - len(records))])
    cells_by_row: dict[int, list[int]] = {}
    typed = []
    for row, column, formula in found:
        ours = _TEMPLATE_TYPE.fullmatch(formula)
        if ours and int(ours[1]) == row == int(ours[3]):
            typed.append((row, column, ours[2], ours[4]))
            continue
        if row == 1:
            msg = f"the header is a formula with no saved value ({_shown(formula)}); type it"
            raise InputError(msg, file=str(path), sheet=name, row=1, column=_letter(column))
        records[row - 1][column] = "=" + formula
        cells_by_row.setdefault(row, []).append(column)
    for row, column, last, kind in typed:
        filled = any(cell.strip() for cell in records[row - 1][1 : _index(last) + 1])
        records[row - 1][column] = kind if filled else ""
    return {row: tuple(columns) for row, columns in cells_by_row.items()}


# The template's type formula, =IF(COUNTA(B2:K2)=0,"","NUMBER_PURCHASE") (columns.py):
# the type once the row has any value, else nothing.
_TEMPLATE_TYPE = re.compile(r'IF\(COUNTA\(B(\d+):([A-Z]{1,3})(\d+)\)=0,"","([A-Z_]+)"\)')


def _shown(formula: str, limit: int = 60) -> str:
    text = "=" + formula
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _unsaved_formulas(archive: zipfile.ZipFile, member: str) -> list[tuple[int, int, str]]:
    """The row, 0-based column and formula (without its "=") of every formula cell of a
    sheet part that has no saved value. A shared formula's other cells carry no text of
    their own: theirs is the first cell's, moved as Excel moves it."""
    found: list[tuple[int, int, str]] = []
    shared: dict[str, tuple[str, str]] = {}  # by its index: the first cell's formula, place
    for row, column, element in _cells(archive, member):
        parts = {_local(child.tag): child for child in element}
        if "f" not in parts:
            continue
        text = _formula(parts["f"], _letter(column) + str(row), shared)
        value = parts.get("v")
        saved = value is not None and (bool(value.text) or element.get("t") == "str")
        if not saved and text:
            found.append((row, column, text))
    return found


def _cells(archive: zipfile.ZipFile, member: str) -> Iterator[tuple[int, int, ElementTree.Element]]:
    """Each cell element of a sheet part with its row and 0-based column, streamed: a
    row's elements are freed once it is read."""
    row, column = 0, -1
    with archive.open(member) as stream:
        for event, element in ElementTree.iterparse(stream, events=("start", "end")):
            tag = _local(element.tag)
            if tag == "row" and event == "start":
                row, column = int(element.get("r") or row + 1), -1
            elif tag == "c" and event == "end":
                row, column = _cell_position(element.get("r"), row, column)
                yield row, column, element
            elif tag == "row" and event == "end":
                element.clear()


def _formula(element: ElementTree.Element, where: str, shared: dict[str, tuple[str, str]]) -> str:
    """A cell's formula: its own text, or the shared formula it is a copy of, moved."""
    from openpyxl.formula.translate import Translator

    text, index = element.text or "", element.get("si")
    if element.get("t") != "shared" or index is None:
        return text
    if text:
        shared[index] = (text, where)
        return text
    if index not in shared:
        return ""
    origin, at = shared[index]
    return str(Translator("=" + origin, at).translate_formula(where))[1:]


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _sheet_members(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → its part in the archive, from the workbook and its relationships."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in relations}
    members = {}
    for element in workbook.iter():
        if _local(element.tag) == "sheet":
            ids = [value for key, value in element.attrib.items() if _local(key) == "id"]
            target = targets.get(ids[0] if ids else None, "")
            member = target[1:] if target.startswith("/") else posixpath.join("xl", target)
            members[element.get("name", "")] = posixpath.normpath(member)
    return members


def _first_error_cell(archive: zipfile.ZipFile, member: str) -> tuple[int, int, str] | None:
    """The row, 0-based column and text of the first error cell of a sheet part."""
    for row, column, element in _cells(archive, member):
        if element.get("t") == "e":
            texts = [child.text for child in element if _local(child.tag) == "v"]
            return row, column, (texts[0] if texts else None) or "#ERROR"
    return None


def _cell_position(reference: str | None, row: int, column: int) -> tuple[int, int]:
    from openpyxl.utils.cell import coordinate_to_tuple
    from openpyxl.utils.exceptions import CellCoordinatesException

    if reference:
        with contextlib.suppress(CellCoordinatesException, ValueError):
            found_row, found_column = coordinate_to_tuple(reference)
            return found_row, found_column - 1
    return row, column + 1


def read_guide(path: Path) -> list[list[str]]:
    """The rows of a workbook's Guide sheet as text ([] for a CSV or a workbook without
    one, or one that cannot be read: a Guide only adds to what a run says)."""
    if path.suffix.casefold() not in (".xlsx", ".xlsm"):
        return []
    try:
        with python_calamine.CalamineWorkbook.from_path(path) as book:
            if GUIDE not in book.sheet_names:
                return []
            raw = book.get_sheet_by_name(GUIDE).to_python(skip_empty_area=False)
    except (python_calamine.CalamineError, OSError, ValueError):
        return []
    return _texts(raw)
