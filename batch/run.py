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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from batch import rows as rowlib
from batch.api import Infobip, Refusal, SubmitUnknown
from batch.config import Settings
from batch.documents import LocalDocument, Resolver
from batch.errors import ApiError
from batch.requirements import RequirementCache
from batch.rows import READABLE, Candidate
from batch.sheets import Sheet, check_writable, gc_paused, read_sheets, write_results

logger = logging.getLogger(__name__)

# Results, and whether a row with that result lets the run exit 0.
RESULTS = {
    "SUBMITTED": True,
    "VALID": True,
    "DUPLICATE": True,
    "INVALID": False,
    "DEFERRED": False,
    "FAILED": False,
    "UNCERTAIN": False,
}


class Progress(Protocol):
    """What the run tells its caller as it goes; the CLI draws or logs it."""

    def start(self, stage: str, total: int) -> None: ...

    def advance(self, stage: str, count: int = 1) -> None: ...

    def outcome(self, candidate: Candidate, outcome: Outcome) -> None: ...


class _Silent:
    def start(self, stage: str, total: int) -> None:
        pass

    def advance(self, stage: str, count: int = 1) -> None:
        pass

    def outcome(self, candidate: Candidate, outcome: Outcome) -> None:
        pass


@dataclass(slots=True)
class Outcome:
    """What became of one row: the values of the result columns."""

    result: str = ""
    request_id: str = ""
    request_status: str = ""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    document_ids: list[str] = field(default_factory=list)
    submitted_at: str = ""

    def columns(self) -> dict[str, str]:
        return {
            "result": self.result,
            "requestId": self.request_id,
            "requestStatus": self.request_status,
            "errors": "\n".join(self.errors),
            "warnings": "\n".join(self.warnings),
            "documentIds": "\n".join(self.document_ids),
            "submittedAt": self.submitted_at,
        }


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
    progress = progress or _Silent()
    output = output or results_path(input_path)
    began = time.monotonic()
    stopped = None
    async with Infobip(
        settings.base_url,
        settings.api_key,
        limits=settings.limits,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
    ) as api:
        found = await examine(settings, api, input_path, output=output, progress=progress)
        sheets, candidates, outcomes = found.sheets, found.candidates, found.outcomes
        ready, timings = found.ready, found.timings
        if ready and not settings.dry_run:
            mark = time.monotonic()
            try:
                stopped = await _submit_all(api, ready, outcomes, progress)
            except asyncio.CancelledError:  # Ctrl-C: what was done is written, then we stop
                _not_sent(ready, outcomes, "the run was interrupted")
                _write(output, sheets, candidates, outcomes, timings)
                raise
            timings["submit"] = time.monotonic() - mark
    for candidate in candidates:
        progress.outcome(candidate, outcomes[id(candidate)])
    timings["total"] = time.monotonic() - began
    _write(output, sheets, candidates, outcomes, timings)
    counts = Counter(o.result for o in outcomes.values())
    return Report(output, counts, timings, stopped)


@dataclass(frozen=True, slots=True)
class Examined:
    """An input read and checked: what `validate` does, and `run` before it submits."""

    sheets: Sequence[Sheet]
    candidates: list[Candidate]
    outcomes: dict[int, Outcome]  # by id(candidate)
    ready: list[Candidate]  # to submit, in input order
    timings: dict[str, float]


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
    progress = progress or _Silent()
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
        earlier = references.get(candidate.reference or "")
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


async def _submit_all(
    api: Infobip, ready: list[Candidate], outcomes: dict[int, Outcome], progress: Progress
) -> str | None:
    """Upload each distinct file once and submit each row as soon as its files are in.

    Returns why the run stopped early (credentials refused, Infobip unreachable), or
    None. Rows not sent by then are FAILED; a row whose submit was in flight is UNCERTAIN.
    """
    files: dict[str, LocalDocument] = {}
    for candidate in ready:
        for document in candidate.documents:
            files.setdefault(document.sha256, document)
    progress.start("files uploaded", len(files))
    progress.start("requests submitted", len(ready))
    uploads: dict[str, asyncio.Task[str]] = {}
    stopped = None
    try:
        async with asyncio.TaskGroup() as tasks:
            for sha, document in files.items():  # in the order rows first need them
                uploads[sha] = tasks.create_task(_upload(api, document, progress))
            queue: asyncio.Queue[Candidate] = asyncio.Queue()
            for candidate in ready:
                queue.put_nowait(candidate)
            workers = min(len(ready), 64 + int(api.rate("submit") * 10))
            for _ in range(workers):
                tasks.create_task(_submitter(api, queue, uploads, outcomes, progress))
    except* ApiError as group:
        stopped = str(group.exceptions[0])
    _not_sent(ready, outcomes, f"the run stopped ({stopped})")
    return stopped


def _not_sent(ready: list[Candidate], outcomes: dict[int, Outcome], reason: str) -> None:
    """Rows the run did not get to are FAILED, saying why."""
    for candidate in ready:
        outcome = outcomes[id(candidate)]
        if not outcome.result:
            outcome.result = "FAILED"
            outcome.errors.append(f"not sent: {reason}")


async def _upload(api: Infobip, document: LocalDocument, progress: Progress) -> str:
    try:
        return await api.upload(document.path)
    finally:
        progress.advance("files uploaded")


async def _submitter(
    api: Infobip,
    queue: asyncio.Queue[Candidate],
    uploads: dict[str, asyncio.Task[str]],
    outcomes: dict[int, Outcome],
    progress: Progress,
) -> None:
    while not queue.empty():
        candidate = queue.get_nowait()
        await _send(api, candidate, uploads, outcomes[id(candidate)])
        progress.advance("requests submitted")


async def _send(
    api: Infobip, candidate: Candidate, uploads: dict[str, asyncio.Task[str]], outcome: Outcome
) -> None:
    """Upload-wait and submit one row, recording what became of it."""
    try:
        body = await _with_document_ids(candidate, uploads, outcome)
    except Refusal as refusal:
        outcome.result, outcome.errors = "FAILED", [f"document upload refused: {refusal}"]
        return
    sent = []
    try:
        outcome.request_id = await api.submit(body, sending=lambda: sent.append(True))
    except Refusal as refusal:
        deferred = refusal.code == "RR-ALPHA-SS-LIMIT400"
        outcome.result = "DEFERRED" if deferred else "FAILED"
        outcome.errors = [str(refusal)]
        return
    except SubmitUnknown as exc:
        outcome.result = "UNCERTAIN"
        outcome.errors = [f"Infobip may or may not have stored this request ({exc}); not re-sent"]
        return
    except asyncio.CancelledError:
        if sent:  # otherwise it never left, and _not_sent says so
            outcome.result = "UNCERTAIN"
            outcome.errors = [
                "the run stopped while this request was being sent; it may have been stored"
            ]
        raise
    outcome.result, outcome.request_status = "SUBMITTED", "PENDING"
    outcome.submitted_at = datetime.now(UTC).isoformat(timespec="seconds")


async def _with_document_ids(
    candidate: Candidate, uploads: dict[str, asyncio.Task[str]], outcome: Outcome
) -> dict[str, Any]:
    """The row's body with each file replaced by the documentId its upload got."""
    body = candidate.body()
    filled = []
    for item in body.get("requirements", []):
        value = item["value"]
        if isinstance(value, list):
            value = [await _document_id(v, uploads) for v in value]
        else:
            value = await _document_id(value, uploads)
        filled.append({"key": item["key"], "value": value})
        if any(isinstance(v, LocalDocument) for v in _as_list(item["value"])):
            outcome.document_ids.append(f"{item['key']}: {', '.join(_as_list(value))}")
    body["requirements"] = filled
    return body


async def _document_id(value: Any, uploads: dict[str, asyncio.Task[str]]) -> Any:
    return await uploads[value.sha256] if isinstance(value, LocalDocument) else value


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


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
