"""Cron mode: run every request file a CRM dropped into a folder, file each one away.

An input moves to `processed/` once its results are safely written, unless some of its
rows are still to be done (DEFERRED, UNCERTAIN, not checked because Infobip's
requirements could not be read, or the run stopped): then it stays, and
the next run finishes it (what was submitted comes back ALREADY_SUBMITTED, at no cost).
A file that cannot be read moves to `rejected/`, with the reason beside its results.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from batch.errors import ConfigError
from batch.outcome import Need
from batch.run import Report

SUFFIXES = (".csv", ".xlsx", ".xlsm")
UNFINISHED = frozenset({"DEFERRED", "UNCERTAIN"})


def inputs(inbox: Path) -> list[Path]:
    """The request files in `inbox`, in name order (hidden and partial files skipped:
    a CRM still writing `.export.csv.tmp` is not read half-written)."""
    return sorted(
        path
        for path in inbox.iterdir()
        if path.is_file() and path.suffix.lower() in SUFFIXES and not path.name.startswith(".")
    )


def finished(report: Report) -> bool:
    """Whether nothing is left to do for the file: it can be filed away."""
    later = report.needs.get(Need.LATER, 0)
    return report.stopped is None and not later and not UNFINISHED & set(report.results)


def file_away(path: Path, folder: Path) -> Path:
    """Move `path` into `folder` (created), never over an earlier file of the same name.

    Raises:
        ConfigError: the folder cannot be made or the file not moved into it.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = vacant(folder / path.name)
        os.replace(path, target)  # same file system: atomic
    except OSError as exc:
        raise ConfigError(f"cannot move {path} into {folder}: {exc.strerror or exc}") from None
    return target


def make_folder(folder: Path) -> None:
    """Raises: ConfigError: `folder` cannot be made (a file is in the way, no permission)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot make the folder {folder}: {exc.strerror or exc}") from None


def vacant(path: Path) -> Path:
    """`path`, or when taken the same name stamped with the time: a CRM that drops
    `export.csv` every night keeps every night's results."""
    if not path.exists():
        return path
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    stem, dot, suffixes = path.name.partition(".")
    return path.with_name(f"{stem}-{stamp}{dot}{suffixes}")
