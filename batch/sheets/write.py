"""Writing the results file, atomically: CSV here, XLSX through `workbook`."""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from batch.errors import ConfigError, DiskFull
from batch.sheets.shared import _FORMULA_START, _NEUTRALISED, Sheet
from batch.workbook import Guide, Table, write_book


def write_results(
    path: Path,
    tables: Sequence[Table],
    *,
    guide: Guide | None = None,
    summary: Sequence[Sequence[object]] = (),
) -> None:
    """Write the results sheets, atomically: a .csv holds the one table, as delimited as
    its input was; an .xlsx all of them with their notes and marks, a Summary and a Guide.

    Raises:
        ConfigError: the suffix is not .csv or .xlsx, a .csv would need several sheets,
            or the file cannot be written.
    """
    _check_path(path, len(tables))
    if path.suffix.casefold() == ".csv":
        write_atomically(path, lambda stream: _write_csv(stream, tables[0]))
    else:
        write_atomically(
            path, lambda stream: write_book(stream, tables, guide=guide, summary=summary)
        )


def check_writable(path: Path, sheets: Sequence[Sheet] | int) -> None:
    """Whether results for these sheets can be written at `path`, checked before a run
    spends anything rather than discovered after it.

    Raises:
        ConfigError: the suffix is not .csv or .xlsx, a .csv would need several sheets,
            or the folder does not exist or cannot be written.
    """
    _check_path(path, sheets if isinstance(sheets, int) else len(sheets))


def _check_path(path: Path, sheets: int) -> None:
    suffix = path.suffix.casefold()
    if suffix not in (".csv", ".xlsx"):
        raise ConfigError(f"{path}: the results file must end in .csv or .xlsx")
    if suffix == ".csv" and sheets > 1:
        msg = f"{path}: a .csv holds one sheet and the input has {sheets}; write .xlsx"
        raise ConfigError(msg)
    folder = path.parent
    if not folder.is_dir():
        raise ConfigError(f"{path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"{path}: cannot write in {folder}")


def write_atomically(
    path: Path, write: Callable[[IO[bytes]], object], *, what: str = "the results file"
) -> None:
    """Write to a new file beside `path`, then rename it: readers never see half a file.

    Raises:
        ConfigError: the file cannot be written (the message names it as `what`).
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with temporary.open("xb") as stream:
            write(stream)
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            sent = "the journal knows what was sent: nothing is sent twice"
            raise DiskFull.cannot(f"write {what}", path, str(exc.strerror), then=sent) from exc
        if isinstance(exc, OSError):
            msg = f"cannot write {what} {path}: {exc.strerror or exc}"
            raise ConfigError(msg) from exc
        raise


def _csv_safe(value: str) -> str:
    if value.startswith(_FORMULA_START) or _NEUTRALISED.match(value):
        return "'" + value
    return value


def _write_csv(stream: IO[bytes], table: Table) -> None:
    """The table as CSV text (UTF-8 with a BOM, so that Excel reads it as such), with the
    input's delimiter; values Excel would evaluate are neutralised."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    writer = csv.writer(text, delimiter=table.delimiter, lineterminator="\r\n")
    writer.writerow([_csv_safe(column.header) for column in table.columns])
    writer.writerows([_csv_safe(_csv_text(v)) for v in values] for values in table.rows)
    text.flush()
    text.detach()


def _csv_text(value: object) -> str:
    return "" if value is None else str(value)
