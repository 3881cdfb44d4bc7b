"""What the command line shows while a run goes: a rich progress display on a terminal,
plain or JSON log lines elsewhere (cron), and a summary at the end. Used by cli.py only.
"""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from batch.outcome import RESULTS, Outcome
from batch.rows import Candidate
from batch.run import Report
from batch.status import StatusReport

logger = logging.getLogger("batch")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, message, and the record's `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(log_format: str, *, quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter("%(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if quiet else logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("stamina").setLevel(logging.ERROR)  # one line per retry is noise


class Display:
    """The run's Progress: bars on a terminal, one log line per row outcome otherwise."""

    def __init__(self, *, live: bool) -> None:
        self._console = Console(stderr=True)
        self._bars: Progress | None = None
        self._tasks: dict[str, Any] = {}
        if live:
            self._bars = Progress(
                TextColumn("{task.description:<20}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=self._console,
                transient=False,
            )

    def __enter__(self) -> Display:
        if self._bars is not None:
            self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bars is not None:
            self._bars.stop()

    def start(self, stage: str, total: int) -> None:
        if self._bars is not None:
            self._tasks[stage] = self._bars.add_task(stage, total=total)
        else:
            logger.info(
                "%s: %d to do", stage, total, extra={"fields": {"stage": stage, "total": total}}
            )

    def advance(self, stage: str, count: int = 1) -> None:
        if self._bars is not None:
            self._bars.advance(self._tasks[stage], count)

    def outcome(self, candidate: Candidate, outcome: Outcome) -> None:
        if self._bars is not None and RESULTS.get(outcome.result, False):
            return  # on a terminal only the rows that need attention are listed
        row = candidate.row
        where = f"{row.sheet} row {row.number}" if row.sheet else f"row {row.number}"
        text = f"{where}: {outcome.result}"
        if outcome.request_id:
            text += f" {outcome.request_id}"
        if outcome.errors:
            text += " - " + "; ".join(outcome.errors)
        fields = {
            "sheet": row.sheet,
            "row": row.number,
            "reference": candidate.reference,
            "key": outcome.key or None,
            "type": candidate.type,
            "result": outcome.result,
            "requestId": outcome.request_id or None,
            "errors": outcome.errors,
        }
        level = logging.INFO if RESULTS.get(outcome.result, False) else logging.WARNING
        logger.log(level, text, extra={"fields": fields})


def summary(report: Report, *, live: bool) -> None:
    """The closing summary: a table on a terminal, one log line otherwise."""
    counts: Counter[str] = report.results
    if live:
        table = Table()  # the log line after it names the results file, unwrapped
        table.add_column("result")
        table.add_column("rows", justify="right")
        for result, count in sorted(counts.items(), key=lambda item: list(RESULTS).index(item[0])):
            table.add_row(result, str(count))
        table.add_row("total", str(sum(counts.values())), style="bold")
        Console(stderr=True).print(table)
    fields = {"output": str(report.output), "results": dict(counts), "seconds": report.timings}
    logger.info("results written to %s: %s", report.output, dict(counts), extra={"fields": fields})
    if report.stopped:
        logger.error(
            "the run stopped early: %s",
            report.stopped,
            extra={"fields": {"stopped": report.stopped}},
        )


def status_summary(report: StatusReport, *, live: bool) -> None:
    """What `status` found: a table on a terminal, log lines otherwise; the requests that
    need the team listed either way."""
    for line in report.needs_action:
        logger.warning("action needed: %s", line, extra={"fields": {"needsAction": line}})
    for request_id in report.missing:
        logger.warning("%s: not in Infobip's list", request_id)
    if live:
        table = Table()
        table.add_column("status")
        table.add_column("requests", justify="right")
        for name, count in sorted(report.statuses.items()):
            table.add_row(name, str(count))
        Console(stderr=True).print(table)
    counts = dict(sorted(report.statuses.items()))
    files = ", ".join(map(str, report.files)) or "the journal"
    logger.info("statuses of %s: %s", files, counts, extra={"fields": {"statuses": counts}})
