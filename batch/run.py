"""The batch run: read the sheet, check every row, upload documents, submit, write results.

Every problem a row has is found before anything is spent. Uploads and submits then run
side by side, each paced by its own limiter, and a row is submitted as soon as its own
documents are in, so a run takes about max(rows / submit rate, files / upload rate).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batch import rows as rowlib
from batch.api import Infobip
from batch.config import Settings
from batch.documents import Resolver
from batch.errors import ApiError
from batch.journal import Journal
from batch.outcome import RESULTS, Outcome, Progress, Silent
from batch.requirements import RequirementCache
from batch.rows import READABLE, Candidate
from batch.sheets import Sheet, check_writable, gc_paused, read_sheets, write_results
from batch.submit import Sender, not_sent

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Report:
    """A finished run: where its results are, what each row came to, how long it took."""

    output: Path
    results: Counter[str]
    timings: dict[str, float]
    stopped: str | None = None  # why the run stopped early, if it did

    @property
    def ok(self) -> bool:
        return self.stopped is None and all(RESULTS.get(r, False) for r in self.results)


def results_path(input_path: Path) -> Path:
    """requests.xlsx → requests.results.xlsx, beside the input (a macro workbook's
    results are a plain .xlsx)."""
    suffix = ".xlsx" if input_path.suffix.lower() == ".xlsm" else input_path.suffix.lower()
    return input_path.with_name(f"{input_path.stem}.results{suffix}")


async def run(
    settings: Settings,
    input_path: Path,
    *,
    output: Path | None = None,
    progress: Progress | None = None,
) -> Report:
    """Check and (unless `settings.dry_run`) submit every row of a request sheet.

    Raises:
        InputError: the input cannot be read as a request sheet.
        AuthError: Infobip refused the credentials before anything was written.
    """
    progress = progress or Silent()
    output = output or results_path(input_path)
    began = time.monotonic()
    stopped = None
    async with Infobip.connect(settings) as api:
        found = await examine(settings, api, input_path, output=output, progress=progress)
        sheets, candidates, outcomes = found.sheets, found.candidates, found.outcomes
        timings = found.timings
        with Journal.open(settings.state_dir, settings.account) as journal:
            sender = Sender(api, journal, settings, outcomes, progress)
            mark = time.monotonic()
            try:
                stopped = await _send(sender, found, file=input_path.name, dry_run=settings.dry_run)
            except asyncio.CancelledError:  # Ctrl-C: what was done is written, then we stop
                not_sent(outcomes, found.ready, "the run was interrupted")
                _write(output, sheets, candidates, outcomes, timings)
                raise
            if not settings.dry_run:
                timings["submit"] = time.monotonic() - mark
    for candidate in candidates:
        progress.outcome(candidate, outcomes[id(candidate)])
    timings["total"] = time.monotonic() - began
    _write(output, sheets, candidates, outcomes, timings)
    counts = Counter(o.result for o in outcomes.values())
    return Report(output, counts, timings, stopped)


async def _send(sender: Sender, found: Examined, *, file: str, dry_run: bool) -> str | None:
    """Settle what earlier runs left unsettled, follow up the rows that carry a requestId
    (a results sheet fed back in: never submitted again), and send the new ones. Returns
    why sending stopped early, if it did."""
    ready = {id(c) for c in found.ready}
    existing = [c for c in found.candidates if c.request_id and (c.action or id(c) in ready)]
    try:
        if not dry_run:
            await sender.settle()
        if existing:
            await sender.follow_up(existing, dry_run=dry_run)
    except ApiError as exc:  # refused or unreachable: nothing new is sent, results written
        not_sent(sender.outcomes, [*existing, *found.ready], f"the run stopped ({exc})")
        return str(exc)
    new = [c for c in found.ready if not c.request_id]
    rows = sender.plan(new, record=not dry_run, file=file)
    return await sender.send_all(rows) if rows and not dry_run else None


@dataclass(frozen=True, slots=True, repr=False)
class Examined:
    """An input read and checked: what `validate` does, and `run` before it submits."""

    sheets: Sequence[Sheet]
    candidates: list[Candidate]
    outcomes: dict[int, Outcome]  # by id(candidate)
    ready: list[Candidate]  # to submit, in input order
    timings: dict[str, float]

    def __repr__(self) -> str:  # not a hundred thousand rows in a traceback or a log line
        return f"<Examined {len(self.candidates)} rows, {len(self.ready)} ready>"


async def examine(
    settings: Settings,
    api: Infobip,
    input_path: Path,
    *,
    output: Path,
    progress: Progress | None = None,
) -> Examined:
    """Read the input and check every row, asking Infobip only for requirements.

    The cyclic garbage collector is paused throughout: a big sheet makes millions of
    objects that hold no cycles, and collections would otherwise take a third of the time.

    Raises:
        InputError: the input cannot be read as a request sheet.
        ConfigError: the results file could not be written.
        AuthError, ApiError: Infobip refused the credentials or could not be reached.
    """
    with gc_paused():
        began = time.monotonic()
        sheets = read_sheets(input_path)
        check_writable(output, sheets)  # before anything is spent, not after
        candidates = parse_sheets(sheets)
        read = time.monotonic()
        await check_rows(settings, api, candidates, input_path, progress=progress)
        outcomes, ready = judge(candidates, dry_run=settings.dry_run)
        timings = {"read": read - began, "check": time.monotonic() - read}
    return Examined(sheets, candidates, outcomes, ready, timings)


def parse_sheets(sheets: Sequence[Sheet]) -> list[Candidate]:
    """Every non-blank row as a Candidate; a sheet named after a request type gives its
    rows that type."""
    return [candidate for sheet in sheets for candidate in rowlib.parse_sheet(sheet)]


async def check_rows(
    settings: Settings,
    api: Infobip,
    candidates: list[Candidate],
    input_path: Path,
    *,
    progress: Progress | None = None,
) -> None:
    """Look up each distinct offer once (cached on disk), then check every row against it.

    Raises:
        AuthError, ApiError: Infobip refused the credentials or could not be reached.
    """
    progress = progress or Silent()
    cache = RequirementCache(
        settings.cache_dir / "requirements" / settings.account,
        ttl=settings.cache_ttl,
        refresh=settings.refresh_requirements,
    )
    documents = Resolver(
        settings.documents_dir or input_path.parent, max_bytes=settings.max_document_bytes
    )
    progress.start("rows checked", len(candidates))
    standards = {id(c.standard): c.standard for c in candidates}.values()
    lookups = {s.lookup_key: s.lookup for s in standards if s.lookup_key and s.lookup}
    try:
        async with asyncio.TaskGroup() as tasks:
            asked = {
                key: tasks.create_task(cache.get(api, dict(ask))) for key, ask in lookups.items()
            }
    except* ApiError as failed:  # credentials refused, or Infobip unreachable: stop here
        raise failed.exceptions[0] from None
    groups: dict[tuple[int, str], list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        if candidate.standard.lookup_key is not None:
            groups[id(candidate.standard.layout), candidate.standard.lookup_key].append(candidate)
    for (_, key), group in groups.items():
        offer = asked[key].result()
        if offer.refusal is not None:
            problem = _not_offered(lookups[key], offer.refusal)
            for candidate in group:
                candidate.error("countryCode", problem)
        else:
            requirements = rowlib.prepare(offer.requirements)
            rowlib.check_requirements(group, requirements, documents=documents)
        progress.advance("rows checked", len(group))
    progress.advance("rows checked", len(candidates) - sum(map(len, groups.values())))


def _not_offered(lookup: Mapping[str, Any], refusal: str) -> str:
    what = READABLE[lookup["type"]]
    number_type = f" {lookup['numberType']}" if "numberType" in lookup else ""
    return f"Infobip offers no{number_type} {what} in {lookup['countryCode']}: {refusal}"


def judge(
    candidates: list[Candidate], *, dry_run: bool
) -> tuple[dict[int, Outcome], list[Candidate]]:
    """Each row's outcome so far (INVALID, DUPLICATE, VALID on a dry run, else still to
    be decided) by id(candidate), and the rows ready to submit, in input order."""
    outcomes = {}
    seen: dict[tuple[Any, ...], Candidate] = {}
    references: dict[str, Candidate] = {}
    ready = []
    for candidate in candidates:
        outcomes[id(candidate)] = outcome = Outcome(warnings=list(candidate.warnings))
        earlier = references.get(candidate.reference) if candidate.reference else None
        if earlier is not None and earlier.identity() != candidate.identity():
            candidate.error(
                "reference",
                f"{candidate.reference!r} is also the reference of {_where(earlier)}",
            )
        if candidate.errors:
            outcome.result, outcome.errors = "INVALID", list(candidate.errors)
            continue
        first = seen.setdefault(candidate.identity(), candidate)
        if first is not candidate:
            outcome.result = "DUPLICATE"
            outcome.errors = [f"asks for the same as {_where(first)}; not sent again"]
            continue
        if candidate.reference:
            references.setdefault(candidate.reference, candidate)
        outcome.result = "VALID" if dry_run else ""
        ready.append(candidate)
    return outcomes, ready


def _where(candidate: Candidate) -> str:
    sheet = f"sheet {candidate.row.sheet!r} " if candidate.row.sheet else ""
    return f"{sheet}row {candidate.row.number}"


def _write(
    output: Path,
    sheets: Sequence[Sheet],
    candidates: list[Candidate],
    outcomes: dict[int, Outcome],
    timings: dict[str, float],
) -> None:
    results = {(c.row.sheet, c.row.number): outcomes[id(c)].columns() for c in candidates}
    counts = Counter(o.result for o in outcomes.values())
    summary: list[list[object]] = [["Result", "Rows"]]
    summary += [[result, counts[result]] for result in RESULTS if counts[result]]
    summary += [[], ["Type", "Rows"]]
    summary += sorted([kind, n] for kind, n in Counter(c.type or "?" for c in candidates).items())
    summary += [[], ["Country", "Rows"]]
    countries = Counter(c.country or "?" for c in candidates)
    summary += sorted([country, n] for country, n in countries.items())
    summary += [[], ["Timing", "Seconds"]]
    summary += [[stage, round(seconds, 2)] for stage, seconds in timings.items()]
    write_results(output, sheets, results, summary=summary)
