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

from batch.check import Finding, Verdict
from batch.outcome import Need, Outcome, Result
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


def configure_logging(log_format: str, *, quiet: bool, verbose: bool = False) -> None:
    """Log lines to stderr as text or JSON; INFO and up unless `quiet`; one line per HTTP
    exchange (`batch.http`) only when `verbose`, even with `quiet`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter("%(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if quiet else logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("stamina").setLevel(logging.ERROR)  # one line per retry is noise
    logging.getLogger("batch.http").setLevel(logging.INFO if verbose else logging.WARNING)


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
        need, step = outcome.next_step()
        if self._bars is not None and need.ok:
            return  # on a terminal only the rows that need attention are listed
        row = candidate.row
        where = f"{row.sheet} row {row.number}" if row.sheet else f"row {row.number}"
        if candidate.reference:
            where += f" ({candidate.reference})"
        text = f"{where}: {outcome.result or ''}"
        if outcome.request_id:
            text += f" {outcome.request_id}"
        if outcome.request_status:
            text += f" {outcome.request_status}"
        if outcome.errors:
            text += " - " + "; ".join(map(str, outcome.errors))
        if not need.ok:
            text += f" - next: {step}"
        fields = {
            "sheet": row.sheet,
            "row": row.number,
            "reference": candidate.reference,
            "key": outcome.key or None,
            "type": candidate.type,
            "result": str(outcome.result or ""),
            "requestId": outcome.request_id or None,
            "requestStatus": outcome.request_status or None,
            "errors": [str(problem) for problem in outcome.errors],
            "needs": str(need),
            "nextStep": step,
        }
        level = logging.INFO if need.ok else logging.WARNING
        logger.log(level, text, extra={"fields": fields})


def summary(report: Report, *, live: bool) -> None:
    """The closing summary: a table on a terminal, one log line otherwise."""
    counts: Counter[str] = report.results
    if live:
        table = Table()  # the log line after it names the results file, unwrapped
        table.add_column("result")
        table.add_column("rows", justify="right")
        for result in Result:
            if counts[result]:
                table.add_row(str(result), str(counts[result]))
        table.add_row("total", str(sum(counts.values())), style="bold")
        Console(stderr=True).print(table)
    needs = {str(need): count for need, count in report.needs.items()}
    fields = {
        "output": str(report.output),
        "results": dict(counts),
        "needs": needs,
        "seconds": report.timings,
    }
    said = ", ".join(f"{result} {counts[result]}" for result in Result if counts[result])
    logger.info("results written to %s: %s", report.output, said, extra={"fields": fields})
    for line in report.changes:
        logger.warning("%s", line, extra={"fields": {"changed": line}})
    if report.needs[Need.YOU]:
        logger.warning(
            "%d row(s) need you: see their nextStep in %s",
            report.needs[Need.YOU],
            report.output,
            extra={"fields": {"needYou": report.needs[Need.YOU]}},
        )
    if report.needs[Need.LATER] and not report.stopped:
        logger.warning(
            "%d row(s) wait for a later run (see their nextStep in %s): run the file again",
            report.needs[Need.LATER],
            report.output,
            extra={"fields": {"needLater": report.needs[Need.LATER]}},
        )
    if report.stopped:
        logger.error(
            "the run stopped early: %s",
            report.stopped,
            extra={"fields": {"stopped": str(report.stopped)}},
        )


def status_summary(report: StatusReport, *, live: bool) -> None:
    """What `status` found: the requests that need a person, each line naming its file,
    sheet, row and reference; a table of every request on a terminal; counts."""
    for request in report.needs_person:
        fields = {
            "where": request.where,
            "reference": request.reference or None,
            "requestId": request.outcome.request_id,
            "requestStatus": request.outcome.request_status,
        }
        for line in request.lines():
            logger.warning("needs you: %s", line, extra={"fields": {**fields, "line": line}})
    for request_id in report.missing:
        logger.warning("%s: not in Infobip's list", request_id)
    for path, count in report.waiting.items():
        logger.warning(
            "%s: %d row(s) not sent yet (DEFERRED or stopped): run the file again to send them",
            path,
            count,
            extra={"fields": {"file": str(path), "waiting": count}},
        )
    if live and report.requests:
        table = Table()
        for name in ("where", "reference", "status", "days left", "who acts"):
            table.add_column(name, overflow="fold")
        for request in report.requests:
            outcome = request.outcome
            days = outcome.days_until_rejection
            table.add_row(
                request.where,
                request.reference,
                outcome.request_status,
                "" if days is None else f"{'~' if outcome.days_estimated else ''}{days}",
                request.need.label,
                style="red" if request.need is Need.YOU else None,
            )
        Console(stderr=True).print(table)
    counts = dict(sorted(report.statuses.items()))
    files = ", ".join(map(str, report.files))
    named = [name for name in report.accounts if name]
    if files:
        whose = f"the requests of {files}"
    elif len(report.accounts) > 1:
        names = ", ".join(name or "(default)" for name in report.accounts)
        whose = f"the open requests of accounts {names}"
    else:
        whose = f"account {named[0]}'s open requests" if named else "this account's open requests"
    needed = len(report.needs_person)
    said = ", ".join(f"{status} {count}" for status, count in counts.items()) or "none"
    logger.info(
        "where %s stand: %s; %d need you",
        whose,
        said,
        needed,
        extra={"fields": {"statuses": counts, "needYou": needed}},
    )
    if report.out is not None:
        logger.info(
            "requests written to %s", report.out, extra={"fields": {"output": str(report.out)}}
        )


def check_report(findings: list[Finding], code: int) -> None:
    """What `check` found, a line each (a warning or an error where it is one), then the
    verdict; off a terminal each line carries its finding's fields."""
    levels = {Verdict.OK: logging.INFO, Verdict.WARNING: logging.WARNING}
    width = max((len(finding.topic) + 2 for finding in findings), default=0)
    for finding in findings:
        fields = {"check": finding.topic, "verdict": str(finding.verdict), **finding.fields}
        text = f"{finding.topic + ':':<{max(width, 15)}}{finding.text}"
        logger.log(levels.get(finding.verdict, logging.ERROR), "%s", text, extra={"fields": fields})
    if code == 0:
        logger.info("all is well: a run can start", extra={"fields": {"exitCode": 0}})
    else:
        problems = sum(finding.verdict.exit_code > 0 for finding in findings)
        logger.error(
            "%d problem(s): a run would stop (exit %d)",
            problems,
            code,
            extra={"fields": {"exitCode": code, "problems": problems}},
        )
