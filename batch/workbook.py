"""Writing the workbooks the tool hands out, templates and results sheets alike: request
sheets with a note on every header, dropdowns and checks, marked cells, a Summary and a
Guide sheet.

XlsxWriter writes them, in constant-memory mode: rows stream to disk as they are
written, so a 100,000-row results sheet costs no more memory than its input. It is the
writer pandas and polars use, it writes cell notes, data validations and formats that
Excel and LibreOffice both honour, and it is several times faster than openpyxl, which
stays for reading workbooks back in tests. `sheets.write` writes the CSV flavour.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from xlsxwriter.format import Format
    from xlsxwriter.workbook import Workbook
    from xlsxwriter.worksheet import Worksheet

GUIDE, SUMMARY = "Guide", "Summary"
CELL_LIMIT = 32_767  # Excel's most characters in a cell
_FIT_ROWS = 1000  # column widths are fitted to the header and this many rows
_MAX_WIDTH = 60
_LINE, _MAX_LINES = 15, 8  # points per line of wrapped text; lines shown at most
_LAST_ROW = 1_048_575  # Excel's last row, 0-based: validations cover whole columns
_INLINE_LIST = 255  # the most characters Excel takes in an inline dropdown list
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_WHEN = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?")
_WHOLE = re.compile(r"-?\d{1,15}")

Kind = Literal["text", "integer", "number", "auto", "when"]


@dataclass(frozen=True, slots=True)
class Check:
    """An Excel validation on a column: a list of values, a whole number or a length."""

    kind: Literal["list", "whole", "textLength"]
    values: tuple[str, ...] = ()
    low: int | None = None
    high: int | None = None
    strict: bool = True  # False: Excel warns but lets another value be typed
    message: str = ""


@dataclass(frozen=True, slots=True)
class Column:
    """A column as written: its header and note, its check, and how its cells are
    written: `text` always as text (identifiers: phone numbers, PINs); `integer` whole
    numbers as numbers; `number` numbers given as such; `auto` ISO dates as dates;
    `when` ISO date-times as date-times (UTC)."""

    header: str
    note: str = ""
    check: Check | None = None
    kind: Kind = "auto"
    fill: str | None = None  # the header's colour
    wrap: bool = False
    width: int | None = None  # else fitted to the contents
    formula: str | None = None  # a template's per-row formula; {row}, {last} filled in


@dataclass(frozen=True, slots=True)
class Mark:
    """A marked cell: its colour and the note that says why."""

    colour: str
    note: str


@dataclass(slots=True)
class Table:
    """A request sheet as written: its columns, its rows (texts, numbers or None), the
    marked cells by (row index, column index), and the colour of each row's outcome
    cells (the first `coloured` columns)."""

    name: str | None  # None: a CSV's single sheet
    columns: list[Column]
    rows: list[list[Any]]
    marks: dict[tuple[int, int], Mark] = field(default_factory=dict)
    colours: dict[int, str] = field(default_factory=dict)
    coloured: int = 0
    formula_rows: int = 0  # a template: rows given each column's formula
    delimiter: str = ","  # a CSV's


@dataclass(frozen=True, slots=True)
class Guide:
    """The Guide sheet: a table of requirements, a link per row where Infobip supplies a
    file, and the lookups the workbook was made from (read back to notice when Infobip's
    requirements change)."""

    headers: tuple[str, ...]
    rows: Sequence[Sequence[str]]
    links: Mapping[int, str] = field(default_factory=dict)  # row index -> relative path
    made_from: Sequence[Sequence[str]] = ()
    empty: str = "No requirements were looked up."


MADE_FROM = "lookup"  # the first cell of each row that records a lookup
MADE_FROM_TITLE = "Made from these requirements lookups (resource-batch compares them on each run)"


def write_book(
    stream: IO[bytes],
    tables: Sequence[Table],
    *,
    guide: Guide | None = None,
    summary: Sequence[Sequence[object]] = (),
) -> None:
    """Write the request sheets, then the Summary and the Guide (which also holds the
    dropdown lists too long to write inline)."""
    from xlsxwriter import Workbook

    book = Workbook(stream, {"constant_memory": True, "in_memory": False})
    styles = _Styles(book)
    lists = _Lists(first_column=len(guide.headers) + 1 if guide else 0)
    try:
        for table in tables:
            _write_table(book.add_worksheet(table.name or "Requests"), table, styles, lists)
        if summary:
            _write_summary(book.add_worksheet(SUMMARY), summary, styles)
        if guide is not None or lists.columns:
            _write_guide(book.add_worksheet(GUIDE), guide, lists, styles)
    finally:
        book.close()


class _Styles:
    """Formats, made once per combination (XlsxWriter keeps each one in the file)."""

    def __init__(self, book: Workbook) -> None:
        self._book = book
        self._made: dict[tuple[Any, ...], Format] = {}

    def get(
        self,
        *,
        fill: str | None = None,
        wrap: bool = False,
        quote: bool = False,
        number: str | None = None,
        bold: bool = False,
        colour: str | None = None,
        link: bool = False,
    ) -> Format:
        key = (fill, wrap, quote, number, bold, colour, link)
        if key not in self._made:  # every cell top-aligned, so a row reads across
            properties: dict[str, Any] = {"valign": "top"}
            if fill:
                properties |= {"bg_color": f"#{fill}", "pattern": 1}
            if wrap:
                properties["text_wrap"] = True
            if quote:
                properties["quote_prefix"] = True
            if number:
                properties["num_format"] = number
            if bold:
                properties["bold"] = True
            if colour:
                properties["font_color"] = f"#{colour}"
            if link:
                properties |= {"font_color": "#0563C1", "underline": 1}
            self._made[key] = self._book.add_format(properties)
        return self._made[key]


@dataclass(slots=True)
class _Lists:
    """Dropdown values too long for an inline list, kept in columns of the Guide sheet
    (an inline Excel list holds 255 characters at most, and no commas)."""

    first_column: int
    columns: dict[tuple[str, ...], tuple[int, str]] = field(default_factory=dict)

    def source(self, header: str, values: tuple[str, ...]) -> str | list[str]:
        plain = not any('"' in value or "," in value for value in values)
        if not values or (plain and len(",".join(values)) <= _INLINE_LIST):
            return list(values)
        if values not in self.columns:
            self.columns[values] = (self.first_column + len(self.columns), header)
        column, _ = self.columns[values]
        letter = _letter(column)
        return f"={GUIDE}!${letter}$2:${letter}${len(values) + 1}"


def _write_table(sheet: Worksheet, table: Table, styles: _Styles, lists: _Lists) -> None:
    columns = table.columns
    widths = _widths(table)
    for index, width in enumerate(widths):
        sheet.set_column(index, index, width)
    sheet.freeze_panes(1, min(table.coloured, 1))
    header = [styles.get(fill=c.fill, bold=True, wrap=True) for c in columns]
    for index, column in enumerate(columns):
        sheet.write_string(0, index, _clip(column.header), header[index])
        if column.note:
            _note(sheet, 0, index, column.note)
    last = max(len(table.rows), table.formula_rows)
    for index, column in enumerate(columns):
        if column.check is not None:
            sheet.data_validation(1, index, _LAST_ROW, index, _validation(column, lists))
    writers = [_cell_writer(sheet, column, styles) for column in columns]
    _write_rows(sheet, table, writers, styles, widths)
    for number in range(len(table.rows) + 1, table.formula_rows + 1):
        _write_formulas(sheet, columns, number)
    sheet.autofilter(0, 0, max(last, 1), len(columns) - 1)
    # Identifiers (phone numbers, PINs, VAT numbers) are text on purpose.
    sheet.ignore_errors({"number_stored_as_text": f"A1:{_letter(len(columns) - 1)}{last + 1}"})


def _write_rows(
    sheet: Worksheet, table: Table, writers: list[_Writer], styles: _Styles, widths: list[int]
) -> None:
    colours, coloured = table.colours, table.coloured
    marked: dict[int, dict[int, Mark]] = {}  # by row, then column: few rows have any
    for (row, column), each in table.marks.items():
        marked.setdefault(row, {})[column] = each
    formulas = [i for i, c in enumerate(table.columns) if c.formula]
    wrapped = [(i, widths[i]) for i, c in enumerate(table.columns) if c.wrap]
    for number, values in enumerate(table.rows, start=1):
        index = number - 1
        colour, marks = colours.get(index), marked.get(index)
        if wrapped:  # not every program fits a row to its wrapped text: say how tall
            lines = max(_lines(values[i], width) for i, width in wrapped)
            if lines > 1:
                sheet.set_row(number, _LINE * min(lines, _MAX_LINES))
        for column, value in enumerate(values):
            if value is None or value == "":
                continue
            found = marks.get(column) if marks else None
            fill = found.colour if found else colour if column < coloured else None
            writers[column](number, column, value, fill)
        if formulas and not any(values[i] for i in formulas):
            _write_formulas(sheet, table.columns, number)
        if colour is not None:  # an empty outcome cell still shows the row's colour
            for column in range(coloured):
                if values[column] in (None, ""):
                    sheet.write_blank(number, column, None, styles.get(fill=colour))
        for column, mark in (marks or {}).items():
            if values[column] in (None, ""):
                sheet.write_blank(number, column, None, styles.get(fill=mark.colour))
            _note(sheet, number, column, mark.note)


def _lines(value: Any, width: int) -> int:
    """About how many lines a wrapped text takes in a column `width` characters wide."""
    if not value or not isinstance(value, str):
        return 1
    return sum(1 + len(line) // max(width - 1, 1) for line in value.splitlines())


def _write_formulas(sheet: Worksheet, columns: Sequence[Column], number: int) -> None:
    last = _letter(len(columns) - 1)
    for index, column in enumerate(columns):
        if column.formula:
            formula = column.formula.replace("{row}", str(number + 1)).replace("{last}", last)
            sheet.write_formula(number, index, formula, None, "")


_Writer = Callable[[int, int, Any, "str | None"], object]


def _cell_writer(sheet: Worksheet, column: Column, styles: _Styles) -> _Writer:
    """How one column's cells are written, chosen once per column."""
    wrap = column.wrap
    date = "yyyy-mm-dd"
    when = "yyyy-mm-dd hh:mm:ss"

    plain, write_string = styles.get(wrap=wrap), sheet.write_string

    def text(row: int, col: int, value: Any, fill: str | None) -> object:
        # The common case first: a big sheet writes a million of these.
        if value.__class__ is str and fill is None and len(value) <= CELL_LIMIT:
            if not value.startswith(_FORMULA_START):
                return write_string(row, col, value, plain)
        value = str(value)
        quote = value.startswith(_FORMULA_START)  # never a formula, not even once edited
        return write_string(row, col, _clip(value), styles.get(fill=fill, wrap=wrap, quote=quote))

    def integer(row: int, col: int, value: Any, fill: str | None) -> object:
        if isinstance(value, int) or (isinstance(value, str) and _WHOLE.fullmatch(value)):
            return sheet.write_number(row, col, int(value), styles.get(fill=fill))
        return text(row, col, value, fill)

    def number(row: int, col: int, value: Any, fill: str | None) -> object:
        if isinstance(value, int | float):
            return sheet.write_number(row, col, value, styles.get(fill=fill))
        return integer(row, col, value, fill)

    def auto(row: int, col: int, value: Any, fill: str | None) -> object:
        if isinstance(value, str) and len(value) == 10 and _ISO_DATE.fullmatch(value):
            day = _date(value)
            if day is not None:
                return sheet.write_datetime(row, col, day, styles.get(fill=fill, number=date))
        return text(row, col, value, fill)

    def moment(row: int, col: int, value: Any, fill: str | None) -> object:
        found = _when(value) if isinstance(value, str) else None
        if found is None:
            return text(row, col, value, fill)
        return sheet.write_datetime(row, col, found, styles.get(fill=fill, number=when))

    return {"text": text, "integer": integer, "number": number, "auto": auto, "when": moment}[
        column.kind
    ]


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _when(text: str) -> dt.datetime | None:
    """An ISO date-time as the naive UTC time Excel shows."""
    if not _ISO_WHEN.fullmatch(text.strip()):
        return None
    try:
        found = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if found.tzinfo is not None:
        found = found.astimezone(dt.UTC).replace(tzinfo=None)
    return found.replace(microsecond=0)


def _note(sheet: Worksheet, row: int, column: int, text: str) -> None:
    lines = text.splitlines() or [""]
    height = 30 + 15 * sum(1 + len(line) // 48 for line in lines)
    sheet.write_comment(
        row, column, _clip(text), {"author": "resource-batch", "width": 340, "height": height}
    )


def _validation(column: Column, lists: _Lists) -> dict[str, Any]:
    check = column.check
    assert check is not None
    rule: dict[str, Any]
    if check.kind == "list":
        rule = {"validate": "list", "source": lists.source(column.header, check.values)}
    else:
        low = -(2**31) if check.low is None else check.low
        high = 2**31 - 1 if check.high is None else check.high
        kind = "integer" if check.kind == "whole" else "length"
        rule = {"validate": kind, "criteria": "between", "minimum": low, "maximum": high}
    message = check.message or f"{column.header}: pick a value from the list"
    rule |= {
        "ignore_blank": True,
        "error_type": "stop" if check.strict else "warning",
        "error_title": column.header[:32],
        "error_message": message[:255],
    }
    if check.kind == "list" and not check.strict:
        # A suggestion, not a rule: other values are fine (a consent box's "yes", two
        # capabilities in one cell), so Excel must not complain about them.
        rule["show_error"] = False
    return rule


def _widths(table: Table) -> list[int]:
    """Column widths from the header and the first rows' longest lines, capped; a column
    with a set width keeps it when it has any text."""
    widths = []
    sample = table.rows[:_FIT_ROWS]
    for index, column in enumerate(table.columns):
        header = max(len(line) for line in column.header.splitlines() or [""])
        longest = 0
        for values in sample:
            value = values[index]
            if value:
                text = str(value)
                size = max(map(len, text.splitlines())) if "\n" in text else len(text)
                longest = max(longest, size)
        if column.width is not None and longest:  # a set width, for a column with text
            widths.append(column.width)
        else:  # an empty column is only as wide as its header
            widths.append(min(max(longest + 2, header + 2, 8), _MAX_WIDTH))
    return widths


def _write_summary(sheet: Worksheet, summary: Sequence[Sequence[object]], styles: _Styles) -> None:
    """The summary rows as given; the first row, and each after an empty one, in bold
    (the headings of its tables)."""
    width = max(map(len, summary), default=0)
    for index in range(width):
        longest = max((len(str(row[index])) for row in summary if len(row) > index), default=8)
        sheet.set_column(index, index, min(max(longest + 2, 10), 80))
    bold = styles.get(bold=True)
    previous: Sequence[object] = ()
    for number, row in enumerate(summary):
        heading = number == 0 or not any(v not in (None, "") for v in previous)
        for index, value in enumerate(row):
            _put(sheet, number, index, value, bold if heading else None)
        previous = row


def _put(sheet: Worksheet, row: int, column: int, value: object, style: Format | None) -> None:
    if value is None or value == "":
        return
    if isinstance(value, bool):
        sheet.write_string(row, column, "yes" if value else "no", style)
    elif isinstance(value, int | float):
        sheet.write_number(row, column, value, style)
    else:
        sheet.write_string(row, column, _clip(str(value)), style)


def _write_guide(sheet: Worksheet, guide: Guide | None, lists: _Lists, styles: _Styles) -> None:
    """The requirements table, then the lookups it was made from; the dropdown lists to
    its right. Written row by row (constant memory), so laid out as a grid first."""
    grid: dict[tuple[int, int], tuple[str, Format | None, str | None]] = {}
    bold, grey = styles.get(bold=True), styles.get(colour="808080")
    if guide is not None:
        _guide_table(grid, guide, styles)
        for index, width in enumerate((36, 26, 26, 10, 9, 9, 50, 60, 50)[: len(guide.headers)]):
            sheet.set_column(index, index, width)
        top = max((r for r, _ in grid), default=0) + 2
        if guide.made_from:
            # For the tool, not for reading: hidden rows (unhide them to see them).
            for row in range(top, top + len(guide.made_from) + 1):
                sheet.set_row(row, None, None, {"hidden": True})
            grid[top, 0] = (MADE_FROM_TITLE, bold, None)
            for offset, values in enumerate(guide.made_from, start=1):
                for column, value in enumerate(values):
                    grid[top + offset, column] = (value, grey, None)
    for values, (column, header) in lists.columns.items():
        grid[0, column] = (f"{header} values", bold, None)
        for number, value in enumerate(values, start=1):
            grid[number, column] = (value, None, None)
        sheet.set_column(column, column, min(max(map(len, values), default=8) + 2, 40))
    for (row, column), (value, style, link) in sorted(grid.items()):
        if link:
            sheet.write_url(row, column, link, style, _clip(value))
        else:
            sheet.write_string(row, column, _clip(value), style)
    sheet.freeze_panes(1, 0)


def _guide_table(
    grid: dict[tuple[int, int], tuple[str, Format | None, str | None]],
    guide: Guide,
    styles: _Styles,
) -> None:
    bold, wrap, link = styles.get(bold=True), styles.get(wrap=True), styles.get(link=True)
    for column, header in enumerate(guide.headers):
        grid[0, column] = (header, bold, None)
    for number, values in enumerate(guide.rows, start=1):
        for column, value in enumerate(values):
            if value:
                grid[number, column] = (value, wrap, None)
        target = guide.links.get(number - 1)
        if target:
            last = len(guide.headers) - 1
            grid[number, last] = (values[last], link, f"external:{target}")
    if not guide.rows:
        grid[1, 0] = (guide.empty, None, None)


def _clip(text: str) -> str:
    return text if len(text) <= CELL_LIMIT else text[: CELL_LIMIT - 1] + "…"


def _letter(index: int) -> str:
    from xlsxwriter.utility import xl_col_to_name

    return str(xl_col_to_name(index))


def read_made_from(rows: Iterator[Sequence[str]]) -> list[tuple[str, str, str]]:
    """The (lookup, requirements, when) JSON texts a Guide sheet's rows record."""
    return [
        (values[1], values[2], values[3] if len(values) > 3 else "")
        for values in rows
        if len(values) > 2 and values[0] == MADE_FROM
    ]
