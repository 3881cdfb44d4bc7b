"""The batch run: read the sheet, check every row, upload documents, submit, write results.

Every problem a row has is found before anything is spent. Uploads and submits then run
side by side, each paced by its own limiter, and a row is submitted as soon as its own
documents are in, so a run takes about max(rows / submit rate, files / upload rate).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from batch import accounts as routing
from batch import kinds, results
from batch import rows as rowlib
from batch.accounts import Clients, Labelled
from batch.config import Settings
from batch.documents import Resolver
from batch.errors import ApiError, BatchError, ConfigError, InputError, JournalError
from batch.followup import FollowUp
from batch.journal import Journal
from batch.outcome import Need, Problem, Progress, Result, Silent
from batch.requirements import (
    Offer,
    RequirementCache,
    changes,
    check_requirements,
    prepare,
    unasked,
)
from batch.rows import Candidate
from batch.sheets import Sheet, check_writable, gc_paused, read_guide, read_sheets
from batch.submit import Sender, not_sent
from batch.workbook import read_made_from

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Report:
    """A finished run: where its results are, what each row came to and what it needs
    next, how long it took."""

    output: Path
    results: Counter[str]
    timings: dict[str, float]
    stopped: BatchError | None = None  # why the run stopped early, if it did
    needs: Counter[Need] = field(default_factory=Counter)
    changes: tuple[str, ...] = ()  # how Infobip's requirements changed since the sheet was made

    @property
    def ok(self) -> bool:
        """Nothing stopped the run and no row needs a person or another run."""
        return self.stopped is None and all(need.ok for need in self.needs)


def results_path(input_path: Path) -> Path:
    """requests.xlsx → requests.results.xlsx, beside the input; the results of a results
    sheet are that sheet again (the fix-and-resubmit loop keeps one file). A macro
    workbook's results are a plain .xlsx."""
    suffix = ".xlsx" if input_path.suffix.lower() == ".xlsm" else input_path.suffix.lower()
    stem = input_path.stem
    if stem.casefold().endswith(".results"):
        return input_path.with_name(f"{stem}{suffix}")
    return input_path.with_name(f"{stem}.results{suffix}")


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
    async with Clients({}) as clients:
        found = await examine(settings, clients, input_path, output=output, progress=progress)
        timings = found.timings
        with contextlib.ExitStack() as journals:
            senders = await _senders(clients, found.accounts, journals, progress)
            mark = time.monotonic()
            try:
                stopped = await _send_each(senders, found, file=input_path.name)
            except asyncio.CancelledError:  # Ctrl-C: what was done is written, then we stop
                not_sent(found.ready, "the run was interrupted")
                write(settings, input_path, output, found)
                raise
            if not settings.dry_run:
                timings["submit"] = time.monotonic() - mark
    for candidate in found.candidates:
        progress.outcome(candidate, candidate.outcome)
    timings["total"] = time.monotonic() - began
    written = write(settings, input_path, output, found)
    return Report(output, written.results, timings, stopped, written.needs, tuple(found.changes))


async def _senders(
    clients: Clients,
    accounts: Mapping[str, Settings],
    journals: contextlib.ExitStack,
    progress: Progress,
) -> dict[str, Sender]:
    """A sender for each account: its client, its journal (closed with `journals`)."""
    senders = {}
    for name, account in accounts.items():
        opened = Journal.open(account.state_dir, account.account, fresh=account.fresh_journal)
        journal = journals.enter_context(opened)
        shown = Labelled(progress, name) if len(accounts) > 1 and name else progress
        senders[name] = Sender(await clients.get(name), journal, account, shown)
    return senders


async def _send_each(
    senders: Mapping[str, Sender], found: Examined, *, file: str
) -> BatchError | None:
    """Each account's rows sent by its own sender, the accounts side by side (each at its
    own limits). Returns why sending stopped early for some account, if it did; the
    other accounts' rows go on."""
    async with asyncio.TaskGroup() as tasks:
        sending = [
            tasks.create_task(
                _send(
                    sender,
                    [c for c in found.candidates if c.route == name],
                    [c for c in found.ready if c.route == name],
                    file=file,
                    dry_run=sender.settings.dry_run,
                )
            )
            for name, sender in senders.items()
        ]
    return next((stopped for task in sending if (stopped := task.result())), None)


async def _send(
    sender: Sender,
    candidates: Sequence[Candidate],
    ready: Sequence[Candidate],
    *,
    file: str,
    dry_run: bool,
) -> BatchError | None:
    """Settle what earlier runs left unsettled, follow up the rows that carry a requestId
    (a results sheet fed back in: never submitted again, unless resubmitted), and send
    the new ones, all of one account. Returns why sending stopped early, if it did."""
    existing = [c for c in candidates if c.request_id and (c.action or c.outcome.ready)]
    try:
        if not dry_run:
            await sender.settle()
        if existing:
            await FollowUp.beside(sender).follow_up(existing, dry_run=dry_run)
        new = [c for c in ready if not c.request_id or c.outcome.replaces]
        rows = await sender.plan(new, record=not dry_run, file=file)
    except (ApiError, JournalError) as exc:  # nothing new is sent, results written
        exc.about(sender.settings.account_name)
        not_sent([*existing, *ready], f"the run stopped ({exc})")
        return exc
    return await sender.send_all(rows) if rows and not dry_run else None


@dataclass(frozen=True, slots=True, repr=False)
class Examined:
    """An input read and checked: what `validate` does, and `run` before it submits."""

    sheets: Sequence[Sheet]
    candidates: list[Candidate]
    ready: list[Candidate]  # to submit, in input order
    timings: dict[str, float]
    offers: Mapping[str, Offer] = field(default_factory=dict)  # by lookup key
    # The accounts the rows go to, by name ("": the default credentials).
    accounts: Mapping[str, Settings] = field(default_factory=dict)
    attachments: Mapping[str, str] = field(default_factory=dict)  # from the input's Guide
    changes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:  # not a hundred thousand rows in a traceback or a log line
        return f"<Examined {len(self.candidates)} rows, {len(self.ready)} ready>"


async def examine(
    settings: Settings,
    clients: Clients,
    input_path: Path,
    *,
    output: Path,
    progress: Progress | None = None,
) -> Examined:
    """Read the input, route every row to its account (`clients.accounts` is set to the
    accounts used) and check every row, asking Infobip only for requirements.

    The cyclic garbage collector is paused throughout: a big sheet makes millions of
    objects that hold no cycles, and collections would otherwise take a third of the time.

    Raises:
        InputError: the input cannot be read as a request sheet, or its results sheet
            would be wider than Excel allows.
        ConfigError: the results file could not be written.
        AuthError, ApiError: Infobip refused the credentials or could not be reached.
        InputError: no default account, and no account column to name one.
    """
    with gc_paused():
        began = time.monotonic()
        sheets = read_sheets(input_path)
        check_writable(output, sheets)  # before anything is spent, not after
        results.check_width(str(input_path), sheets)
        candidates = parse_sheets(sheets)
        try:
            accounts = routing.route(settings, candidates)
        except ConfigError as exc:  # the file names no account, and there is no default
            raise InputError(str(exc), file=str(input_path)) from None
        fingerprints = {account.account for account in accounts.values()}
        if not settings.missing and settings.account not in fingerprints:
            accounts[settings.account_name] = settings  # its unsettled rows are settled too
        clients.accounts.update(accounts)
        attachments, made_from = guide_of(input_path)
        read = time.monotonic()
        offers = await check_rows(settings, clients, candidates, input_path, progress=progress)
        results.check_width(str(input_path), sheets, candidates, offers)  # and what it lacks
        _against_made_from(candidates, made_from)
        ready = judge(candidates, dry_run=settings.dry_run)
        timings = {"read": read - began, "check": time.monotonic() - read}
    found = changes(made_from, offers)
    for line in found:
        logger.warning("%s: %s", input_path, line, extra={"fields": {"changed": line}})
    return Examined(sheets, candidates, ready, timings, offers, accounts, attachments, found)


def guide_of(path: Path) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """What the input's Guide sheet says (a template's, or an earlier results sheet's):
    the attachment text per requirement key, and the lookups it was made from."""
    rows = read_guide(path)
    if not rows:
        return {}, []
    header = rows[0]
    attachments = {}
    if "key" in header and "attachment" in header:
        key, attachment = header.index("key"), header.index("attachment")
        for values in rows[1:]:
            if len(values) > max(key, attachment) and values[attachment]:
                attachments[values[key]] = values[attachment]
    return attachments, read_made_from(iter(rows))


# What Infobip takes when a lookup option is left out (the spec: clientType absent means
# international numbers only).
_DEFAULTS = {"clientType": "INTERNATIONAL"}


def _against_made_from(
    candidates: Sequence[Candidate], made_from: Sequence[tuple[str, str, str]]
) -> None:
    """Warn on the option cells of rows that ask for another offer than the one their
    sheet (a template) was made for: its requirement columns are not theirs, and an empty
    option is the likeliest slip (an empty clientType is INTERNATIONAL, not LOCAL)."""
    made = []
    for lookup_text, _, _ in made_from:
        try:
            made.append(dict(json.loads(lookup_text)))
        except (ValueError, TypeError):
            continue
    if not made:
        return
    warned: dict[int, list[tuple[str, str]]] = {}
    for candidate in candidates:
        lookup = candidate.lookup
        if lookup is None or dict(lookup) in made:
            continue
        key = id(candidate.standard)
        if key not in warned:
            warned[key] = _option_warnings(candidate, lookup, made)
        for column, text in warned[key]:
            candidate.warn(column, text)


def _option_warnings(
    candidate: Candidate, lookup: Mapping[str, Any], made: Sequence[Mapping[str, Any]]
) -> list[tuple[str, str]]:
    same = [m for m in made if m.get("type") == lookup["type"]]
    same = [m for m in same if m.get("countryCode") == lookup.get("countryCode")]
    if not same:
        return []
    headers = {name: header for name, _, header in candidate.standard.layout.standard}
    found = []
    for name in kinds.LOOKUP[str(lookup["type"])]:
        if name in ("countryCode", "quantity") or same[0].get(name) == lookup.get(name):
            continue
        sheet_value = same[0].get(name)
        meant = "none" if sheet_value is None else kinds.cell_text(sheet_value)
        if name in lookup:
            text = (
                f"{kinds.cell_text(lookup[name])}: this sheet was made for {meant}; rows like"
                " this one have other requirements (see errors and the Guide sheet)"
            )
        else:
            default = f" (Infobip then takes {_DEFAULTS[name]})" if name in _DEFAULTS else ""
            text = (
                f"left empty{default}, while this sheet was made for {meant}: its"
                f" requirement columns are {meant}'s; fill in {meant} if that is what you want"
            )
        found.append((headers.get(name, name), text))
    return found


def parse_sheets(sheets: Sequence[Sheet], *, results: bool | None = None) -> list[Candidate]:
    """Every non-blank row as a Candidate; a sheet named after a request type gives its
    rows that type. `results`: whether these are results sheets (None: tell from the
    headers)."""
    return [c for sheet in sheets for c in rowlib.parse_sheet(sheet, results=results)]


async def check_rows(
    settings: Settings,
    clients: Clients,
    candidates: list[Candidate],
    input_path: Path,
    *,
    progress: Progress | None = None,
) -> dict[str, Offer]:
    """Look up each distinct offer once per account (cached on disk), then check every
    row against its account's. Returns the offers, by lookup key (one account's, where
    several looked the same one up).

    Raises:
        AuthError, ApiError: Infobip refused the credentials or could not be reached.
    """
    progress = progress or Silent()
    progress.start("rows checked", len(candidates))
    documents = Resolver(
        settings.documents_dir or input_path.parent, max_bytes=settings.max_document_bytes
    )
    standards = {(c.route, id(c.standard)): c for c in candidates if not _misrouted(c)}
    lookups = {
        (route, c.standard.lookup_key): c.standard.lookup
        for (route, _), c in standards.items()
        if c.standard.lookup_key and c.standard.lookup
    }
    caches = {name: RequirementCache.for_account(s) for name, s in clients.accounts.items()}

    async def look_up(route: str, ask: Mapping[str, Any]) -> Offer:
        try:
            return await caches[route].get(await clients.get(route), dict(ask))
        except ApiError as exc:
            raise exc.about(route) from None

    try:
        async with asyncio.TaskGroup() as tasks:
            asked = {
                (route, key): tasks.create_task(look_up(route, ask))
                for (route, key), ask in lookups.items()
            }
    except* ApiError as failed:  # credentials refused, or Infobip unreachable: stop here
        raise failed.exceptions[0] from None
    by_account = {pair: task.result() for pair, task in asked.items()}
    offers: dict[str, Offer] = {}
    for (_, key), offer in by_account.items():  # a refusal only when every account's is one
        if key not in offers or offers[key].refusal is not None:
            offers[key] = offer
    groups: dict[tuple[int, str, str], list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        lookup_key = candidate.standard.lookup_key
        if lookup_key is not None and not _misrouted(candidate):
            groups[id(candidate.standard.layout), candidate.route, lookup_key].append(candidate)
    prepared = {pair: prepare(offer.requirements) for pair, offer in by_account.items()}
    by_sheet: dict[int, set[str]] = defaultdict(set)  # the columns some offer of it asks for
    layouts = {id(c.standard.layout): c.standard.layout for c in candidates}
    unread = {layout for layout, route, key in groups if by_account[route, key].unread}
    for layout, route, key in groups:
        by_sheet[layout].update(requirement.column for requirement in prepared[route, key])
    for layout, asked_columns in by_sheet.items():
        if layout in unread:  # which columns are asked for is not known
            continue
        for header in unasked(layouts[layout], asked_columns):
            sheet = layouts[layout].sheet_type or "the sheet"
            logger.warning(
                "%s: column %r: no row's requirements ask for it; its values are not sent",
                input_path,
                header,
                extra={"fields": {"column": header, "sheet": sheet}},
            )
    for (layout, route, key), group in groups.items():
        offer = by_account[route, key]
        if offer.refusal is not None:
            problem = offer.why_not()
            for candidate in group:
                candidate.error("countryCode", problem)
                candidate.outcome.unchecked = offer.unread
        else:
            check_requirements(
                group, prepared[route, key], documents=documents, asked=by_sheet[layout]
            )
        progress.advance("rows checked", len(group))
    progress.advance("rows checked", len(candidates) - sum(map(len, groups.values())))
    return offers


def _misrouted(candidate: Candidate) -> bool:
    """Whether the row names no account it can go to (its error says so): its
    requirements cannot be looked up."""
    return any(problem.column == "account" for problem in candidate.errors)


def judge(candidates: list[Candidate], *, dry_run: bool) -> list[Candidate]:
    """Set each row's outcome so far (INVALID, DUPLICATE, VALID on a dry run, else still
    to be decided); returns the rows ready to submit, in input order."""
    seen: dict[tuple[Any, ...], Candidate] = {}
    references: dict[str, Candidate] = {}
    requests: dict[str, Candidate] = {}
    ready = []
    for candidate in candidates:
        outcome = candidate.outcome
        outcome.warnings = list(candidate.warnings)
        # A row's requestId stays in its row whatever this run finds: lost, the row fixed
        # later would be taken for a new request.
        outcome.request_id = candidate.request_id
        if candidate.request_id:
            first_with = requests.setdefault(candidate.request_id, candidate)
            if first_with is not candidate:  # a copied row: it would never be sent
                candidate.error(
                    "requestId",
                    f"also the requestId of {_where(first_with)} (a copied row?); to ask"
                    " for something new, clear this row's requestId: it is then sent as a"
                    " new request",
                )
        earlier = references.get(candidate.reference) if candidate.reference else None
        if earlier is not None and (earlier.route, *earlier.identity()) != (
            candidate.route,
            *candidate.identity(),
        ):
            candidate.error(
                "reference",
                f"{candidate.reference!r} is also the reference of {_where(earlier)}",
            )
        if candidate.errors:
            outcome.result, outcome.errors = Result.INVALID, list(candidate.errors)
            continue
        # Each account registers its own senders and buys its own numbers.
        first = seen.setdefault((candidate.route, *candidate.identity()), candidate)
        if first is not candidate:
            outcome.result, outcome.same_as = Result.DUPLICATE, _where(first)
            outcome.warnings.append(_duplicate(candidate, first))
            continue
        if candidate.reference:
            references.setdefault(candidate.reference, candidate)
        outcome.result = Result.VALID if dry_run else None
        outcome.ready = True
        ready.append(candidate)
    return ready


def _duplicate(candidate: Candidate, first: Candidate) -> Problem:
    if candidate.type == kinds.NUMBER:
        why = "give it a reference of its own to buy the same numbers once more"
        return Problem(f"asks for the same as {_where(first)}; not sent ({why})")
    why = "Infobip registers a sender once per country, whatever the references say"
    return Problem(f"asks for the same sender as {_where(first)}; not sent ({why})")


def _where(candidate: Candidate) -> str:
    sheet = f"sheet {candidate.row.sheet!r} " if candidate.row.sheet else ""
    return f"{sheet}row {candidate.row.number}"


def write(settings: Settings, input_path: Path, output: Path, found: Examined) -> results.Written:
    """Write the results sheet of an examined (and perhaps sent) input."""
    return results.write(
        output,
        found.sheets,
        found.candidates,
        found.offers,
        facts=facts(settings, input_path, found.accounts.values()),
        timings=found.timings,
        attachments=found.attachments,
        changes=found.changes,
        named_accounts=any(found.accounts),
    )


def facts(
    settings: Settings, input_path: Path | None, accounts: Iterable[Settings] = ()
) -> list[tuple[str, object]]:
    """What ran, for a Summary sheet: the accounts the rows went to (else `settings`')."""
    found: list[tuple[str, object]] = []
    if input_path is not None:
        found.append(("Input", str(input_path)))
    found += [
        ("Written", datetime.now(UTC).isoformat(timespec="seconds")),
        ("resource-batch", importlib.metadata.version("resource-batch")),
    ]
    for account in sorted(accounts, key=lambda a: a.account_name) or [settings]:
        where = account.base_url
        if account.sandbox:
            where += " (the built-in sandbox: nothing reached Infobip)"
        name = f" {account.account_name}" if account.account_name else ""
        found += [
            (f"Infobip{name}", where),
            (f"Account{name} (fingerprint of URL and key)", account.account),
        ]
    found.append(("Dry run (nothing sent)", "yes" if settings.dry_run else "no"))
    return found
