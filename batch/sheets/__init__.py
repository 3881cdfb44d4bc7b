"""Reading request sheets (CSV, XLSX) as text, and writing the results sheet.

Everything python-calamine and openpyxl stays in this package: the rest of the
job sees `Sheet` and `Row` and plain strings. `shared` holds what CSV (`csvfile`) and
XLSX (`xlsx`) reading share; `write` writes the results file.
"""

from __future__ import annotations

import logging
from pathlib import Path

from batch.errors import InputError
from batch.sheets.csvfile import _read_csv
from batch.sheets.shared import CELL_LIMIT, TOOL_SHEETS, Row, Sheet, gc_paused, normalise
from batch.sheets.write import check_writable, write_atomically, write_results
from batch.sheets.xlsx import _read_xlsx, read_guide

__all__ = [
    "CELL_LIMIT",
    "TOOL_SHEETS",
    "Row",
    "Sheet",
    "check_writable",
    "gc_paused",
    "normalise",
    "read_guide",
    "read_sheets",
    "write_atomically",
    "write_results",
]

logger = logging.getLogger(__name__)


def read_sheets(path: Path) -> list[Sheet]:
    """Read every sheet of a .csv or .xlsx file as text.

    Raises:
        InputError: the file cannot be read as a request sheet; the message names the
            file and, where it applies, the sheet, row and column.
    """
    suffix = path.suffix.casefold()
    if suffix == ".csv":
        with gc_paused():
            sheets = [_read_csv(path)]
    elif suffix in (".xlsx", ".xlsm"):
        with gc_paused():
            sheets = _read_xlsx(path)
    elif suffix == ".xls":
        raise InputError(".xls is not supported; save the workbook as .xlsx", file=str(path))
    else:
        msg = f"only .csv and .xlsx are supported, not {suffix or 'a file without a suffix'}"
        raise InputError(msg, file=str(path))
    rows = sum(len(sheet.rows) for sheet in sheets)
    logger.info("read %d rows from %d sheet(s) of %s", rows, len(sheets), path)
    return sheets
