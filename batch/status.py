"""Where each request stands: statuses refreshed through Infobip's list, into the journal
and back into the results sheets, and the requests that need a person named by file,
sheet, row and reference.

Infobip reviews a request for days. The list endpoint returns 2,000 requests a page, so
thousands of tracked requests are refreshed in a handful of calls rather than one GET
each; requests already final (COMPLETED, REJECTED, CANCELED) are not asked again.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from batch import columns as cols
from batch import reconcile, results
from batch.accounts import route
from batch.api import Infobip
from batch.config import Settings
from batch.errors import ApiError, ConfigError, InputError
from batch.journal import FINAL, Entry, Journal
from batch.outcome import (
    RESULT_COLUMNS,
    Need,
    Outcome,
    Problem,
    Result,
    feedback_line,
    numbers_text,
    shown,
)
from batch.requirements import RequirementCache
from batch.rows import Candidate
from batch.sheets import Sheet, normalise, read_sheets, write_results
from batch.workbook import Column, Table

logger = logging.getLogger(__name__)
# A DUPLICATE's warning names the row it repeats ("... as sheet 'X' row 2; not sent").
_REPEATS = re.compile(r" as ((?:sheet '[^']*' )?row \d+)")


@dataclass(frozen=True, slots=True)
class Request:
    """A request as `status` reports it: where its row is, and what it needs."""

    where: str  # file, sheet, row
    reference: str
    outcome: Outcome
    type: str = ""
    country: str = ""
    in_sheet: bool = True  # False: known from the journal, its sheet not rewritten

    @property
    def need(self) -> Need:
        return self.outcome.need

    def lines(self) -> list[str]:
        """What to tell a person about it: one line, then one per feedback item, each
        naming the row."""
        ref = f", reference {self.reference}" if self.reference else ""
        head = f"{self.where}{ref} ({self.outcome.request_id})"
        status = self.outcome.request_status or "status unknown"
        step = self.outcome.next_step()[1]
        if not self.in_sheet and self.need is Need.YOU:
            step += " (to see it marked in the sheet, run resource-batch status with the file)"
        lines = [f"{head}: {status}: {step}"]
        lines += [f"{head}: Infobip asks: {feedback_line(f)}" for f in self.outcome.feedback]
        if self.outcome.note and status == "REJECTED":
            lines.append(f"{head}: Infobip's note: {self.outcome.note}")
        return lines


@dataclass(frozen=True, slots=True)
class StatusReport:
    """What a refresh found: every request looked at, the requests Infobip's list did not
    show, and the files rewritten."""

    requests: list[Request]
    missing: list[str]
    files: list[Path]
    out: Path | None = None
    statuses: Counter[str] = field(default_factory=Counter)
    waiting: dict[Path, int] = field(default_factory=dict)  # rows a later run sends, per file
    accounts: tuple[str, ...] = ()  # the config file's accounts asked ("": the default)

    @property
    def needs_person(self) -> list[Request]:
        return [request for request in self.requests if request.need is Need.YOU]

    @property
    def ok(self) -> bool:
        """No request needs a person (the exit code says so, for cron)."""
        return not self.needs_person


async def refresh(
    api: Infobip, request_ids: Collection[str], *, since: datetime | None
) -> dict[str, dict[str, Any]]:
    """The listed state of each of `request_ids` that Infobip's list shows, by id.

    Pages are read newest first until every id is found, the list ends, or it reaches
    requests older than `since` (the oldest submit asked about, when known).
    """
    wanted, found = set(request_ids), dict[str, dict[str, Any]]()
    if not wanted:
        return found
    async for items in api.pages():
        found.update((str(i["id"]), i) for i in items if i.get("id") in wanted)
        oldest = reconcile.requested(items[-1])
        if not wanted - found.keys():
            break
        if since is not None and oldest is not None and oldest < since - reconcile.SKEW:
            break
    return found


async def _reach(api: Infobip) -> dict[str, dict[str, Any]]:
    """One page of one request, only to show that Infobip takes the credentials.

    Raises:
        AuthError, ApiError: it does not, or cannot be reached.
    """
    await api.requests(size=1)
    return {}


def _check_results_sheet(path: Path, sheets: Sequence[Sheet]) -> None:
    """`status` rewrites results sheets; a request sheet without requestIds is not one.

    Raises:
        InputError: no sheet of `path` has a requestId column.
    """
    wanted = normalise("requestId")
    if not any(wanted in map(normalise, sheet.headers) for sheet in sheets):
        msg = (
            "is not a results sheet (it has no requestId column): give status the"
            " .results file a run wrote"
        )
        raise InputError(msg, file=str(path))


def record(journal: Journal, listed: Mapping[str, Mapping[str, Any]]) -> datetime:
    """Record in the journal what the list said of each request, as true now; returns now."""
    now = datetime.now(UTC)
    for request_id, item in listed.items():
        journal.observe(
            request_id,
            str(item.get("status") or "UNKNOWN"),
            at=now,
            feedback=item.get("requirementsFeedback"),
            note=item.get("note"),
            numbers=item.get("numbers"),
        )
    return now


def listed_outcome(item: Mapping[str, Any], at: datetime) -> Outcome:
    """What the list says of a request the journal does not know (made elsewhere)."""
    return Outcome(
        request_id=str(item.get("id") or ""),
        request_status=str(item.get("status") or ""),
        feedback=list(item.get("requirementsFeedback") or []),
        note=str(item.get("note") or ""),
        numbers=numbers_text(item.get("numbers"), item.get("quantity")),
        updated_at=shown(at),
    )


async def run_status(
    settings: Settings,
    files: Sequence[Path],
    *,
    everything: bool = False,
    out: Path | None = None,
) -> StatusReport:
    """Refresh the requests in `files` (results sheets), or with `everything` or no files
    every unfinished request the journal tracks; record them in the journal; rewrite
    `files` with them (and write the journal's list to `out`, when given).

    Each row's request is asked of the account its `account` cell names (else the
    default one); the journals' lists cover `settings`' account, or with no account
    chosen (`--account`) the default one and every account of the config file.

    Raises:
        InputError: a results file cannot be read.
        ConfigError: a results file cannot be written, or a row's account is unknown.
        AuthError, ApiError: Infobip refused the credentials or could not be reached
            (for one of several accounts: once the others' rows are rewritten).
    """
    sheets = {path: read_sheets(path) for path in files}
    for path, read in sheets.items():
        _check_results_sheet(path, read)
    rows = {path: results_rows(found) for path, found in sheets.items()}
    accounts = _accounts(settings, rows)
    listing = everything or not files
    fingerprints = {account.account for account in accounts.values()}
    if listing and not settings.missing and settings.account not in fingerprints:
        accounts[settings.account_name] = settings
        fingerprints.add(settings.account)
    if listing and not settings.account_name:  # every account the config file names
        for account in map(settings.routed, settings.accounts):
            if account.account not in fingerprints:  # one account under two names: once
                accounts[account.account_name] = account
                fingerprints.add(account.account)
    if not accounts:  # one read, to say whether the key is taken
        accounts[settings.account_name] = settings.routed("")
    refreshed, failed = Refreshed(), list[ApiError]()
    for name, account in sorted(accounts.items()):
        ids = {c.request_id for found in rows.values() for c in found if c.route == name}
        try:
            refreshed.add(await _refresh(account, ids - {""}, listing=listing))
        except ApiError as exc:  # the other accounts' rows are refreshed all the same
            failed.append(exc.about(name))
    known, listed, now = refreshed.known, refreshed.listed, refreshed.now
    requests: list[Request] = []
    waiting: dict[Path, int] = {}
    for path, found in rows.items():
        requests += _follow(path, found, known, listed, now, refreshed.histories)
        _rewrite(settings, accounts, path, sheets[path], found)
        later = sum(c.outcome.need is Need.LATER for c in found if not c.request_id)
        if later:
            waiting[path] = later
    in_files = {r.outcome.request_id for r in requests}
    for entry in refreshed.tracked:
        if str(entry.request_id) not in in_files:
            requests.append(_journal_request(known.get(str(entry.request_id), entry), now))
    if out is not None:
        write_results(out, [_listing(requests)])
    if failed:  # after the others' rows are written: theirs keep what they showed
        raise failed[0]
    missing = sorted(refreshed.asked - listed.keys())
    statuses = Counter(r.outcome.request_status or "?" for r in requests)
    asked_of = tuple(sorted(accounts))
    return StatusReport(requests, missing, list(files), out, statuses, waiting, asked_of)


def _accounts(settings: Settings, rows: Mapping[Path, Sequence[Candidate]]) -> dict[str, Settings]:
    """The account of each row that has a request (`Candidate.route`); returns those
    accounts, by name.

    Raises:
        ConfigError: a row names an account the config file lacks, or none where there
            is no default; the message says which row.
    """
    accounts: dict[str, Settings] = {}
    for path, found in rows.items():
        with_request = [c for c in found if c.request_id]
        try:
            accounts |= route(settings, with_request)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        for candidate in with_request:
            problem = next((p for p in candidate.errors if p.column == "account"), None)
            if problem is not None:
                sheet = f"sheet {candidate.row.sheet!r}, " if candidate.row.sheet else ""
                where = f"{path}, {sheet}row {candidate.row.number}"
                raise ConfigError(f"{where}, column account: {problem.text}")
    return accounts


@dataclass(slots=True)
class Refreshed:
    """What a refresh found, over one or more accounts."""

    known: dict[str, Entry] = field(default_factory=dict)
    listed: dict[str, dict[str, Any]] = field(default_factory=dict)
    histories: dict[str, list[tuple[str, str | None, datetime]]] = field(default_factory=dict)
    tracked: list[Entry] = field(default_factory=list)
    asked: set[str] = field(default_factory=set)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def add(self, other: Refreshed) -> None:
        self.known |= other.known
        self.listed |= other.listed
        self.histories |= other.histories
        self.tracked += other.tracked
        self.asked |= other.asked
        self.now = other.now


async def _refresh(settings: Settings, ids: set[str], *, listing: bool) -> Refreshed:
    """Refresh `ids` (and with `listing`, every request the journal tracks) in one
    account: its list read, its journal updated."""
    with Journal.open(settings.state_dir, settings.account) as journal:
        tracked = journal.tracked() if listing else []
        ids |= {str(entry.request_id) for entry in tracked}
        # A row of an older copy may show a request since sent again: follow its replacement.
        moved = {
            old: entry
            for old, entry in journal.replaced_by(ids).items()
            if entry.request_id and entry.request_id != old
        }
        ids |= {str(entry.request_id) for entry in moved.values()}
        known = journal.by_request_id(ids)
        asked = {i for i in ids if i not in known or known[i].request_status not in FINAL}
        asked -= moved.keys()
        sent = [when for i in asked if i in known and (when := known[i].sent_at) is not None]
        since = min(sent) if sent and len(sent) == len(asked) else None
        async with Infobip.connect(settings) as api:
            # With nothing to ask, one small read still says whether the key is taken:
            # a wrong key (an empty journal of its own) must not pass for "all is well".
            listed = await refresh(api, asked, since=since) if asked else await _reach(api)
        now = record(journal, listed)
        known = journal.by_request_id(ids)
        known |= {old: known.get(str(e.request_id), e) for old, e in moved.items()}
        histories = journal.earlier(entry.key for entry in known.values())
    return Refreshed(known, listed, histories, tracked, asked, now)


def results_rows(sheets: Sequence[Sheet]) -> list[Candidate]:
    """The rows of results sheets, each carrying the outcome its result columns show."""
    from batch.run import parse_sheets

    candidates = parse_sheets(sheets, results=True)  # given to status as results sheets
    positions = {
        sheet.name: {normalise(h): i for i, h in enumerate(sheet.headers)} for sheet in sheets
    }
    headers = {sheet.name: sheet.headers for sheet in sheets}
    for candidate in candidates:
        where = positions[candidate.row.sheet]
        cells = {
            name: candidate.row.cells[where[normalise(name)]]
            for name in RESULT_COLUMNS
            if normalise(name) in where
        }
        candidate.outcome = _shown(cells, headers[candidate.row.sheet])
    return candidates


def _shown(cells: Mapping[str, str], headers: Sequence[str]) -> Outcome:
    """The outcome a results row shows (what the run wrote), read back."""
    result = cells.get("result", "").strip()
    days = cells.get("daysUntilRejection", "").strip()
    repeats = _REPEATS.search(cells.get("warnings", "")) if result == Result.DUPLICATE else None
    return Outcome(
        earlier_result=True,
        same_as=repeats.group(1) if repeats else "",
        result=Result(result) if result in Result.__members__ else None,
        request_id=cells.get("requestId", "").strip(),
        request_status=cells.get("requestStatus", "").strip(),
        errors=_problems(cells.get("errors", ""), headers),
        warnings=_problems(cells.get("warnings", ""), headers),
        document_ids=[line for line in cells.get("documentIds", "").splitlines() if line],
        submitted_at=cells.get("submittedAt", "").strip(),
        note=cells.get("note", ""),
        numbers=cells.get("numbers", ""),
        days_until_rejection=int(days) if days.isdigit() else None,
        updated_at=cells.get("updatedAt", "").strip(),
        earlier=[line for line in cells.get("earlierRequests", "").splitlines() if line],
    )


def _problems(text: str, headers: Sequence[str]) -> list[Problem]:
    """Lines of an errors or warnings cell as problems, each on the column it names
    ("vatNumber (VAT Number): ..."), so that the cells can be marked again."""
    known = {normalise(header): header for header in headers}
    found = []
    for line in text.splitlines():
        name, sep, rest = line.partition(": ")
        header = known.get(normalise(name.split(" (")[0])) if sep else None
        found.append(Problem(rest, header, name) if header else Problem(line))
    return found


def _follow(
    path: Path,
    rows: Sequence[Candidate],
    known: Mapping[str, Entry],
    listed: Mapping[str, Mapping[str, Any]],
    now: datetime,
    histories: Mapping[str, list[tuple[str, str | None, datetime]]],
) -> list[Request]:
    """Each row's request as it now stands, from the journal (or the list)."""
    found = []
    for candidate in rows:
        outcome, request_id = candidate.outcome, candidate.request_id
        if not request_id:
            continue
        outcome.resubmit_asked = candidate.action == "resubmit"
        entry = known.get(request_id)
        if entry is not None:
            outcome.known(entry, now=now)
            if entry.request_id != request_id:  # an older copy: the request replacing it
                text = f"{request_id} was sent again as {entry.request_id}; the row shows that one"
                outcome.warnings.append(Problem(text, "requestId"))
                outcome.resubmit_asked = False
            outcome.earlier = [
                f"{shown(when)[:10]}: sent again; the earlier request {rid} was {was}"
                for rid, was, when in histories.get(entry.key, [])
            ] or outcome.earlier
        elif request_id in listed:
            view = listed_outcome(listed[request_id], now)
            outcome.request_status, outcome.feedback = view.request_status, view.feedback
            outcome.note, outcome.numbers = view.note, view.numbers
            outcome.updated_at = view.updated_at
        where = f"{path.name}, " + (
            f"sheet {candidate.row.sheet!r}, " if candidate.row.sheet else ""
        )
        found.append(
            Request(
                f"{where}row {candidate.row.number}",
                candidate.reference or "",
                outcome,
                candidate.type or "",
                candidate.country or "",
            )
        )
    return found


def _rewrite(
    settings: Settings,
    accounts: Mapping[str, Settings],
    path: Path,
    sheets: Sequence[Sheet],
    rows: list[Candidate],
) -> None:
    """Write the results sheet again, laid out as `run` lays it out: the requirements
    from each account's cache (however old: asking Infobip again is not worth a call here)."""
    from batch.run import facts, guide_of

    caches = {name: RequirementCache.for_account(s) for name, s in accounts.items()}
    offers = {}
    for candidate in rows:
        key, lookup = candidate.standard.lookup_key, candidate.lookup
        cache = caches.get(candidate.route)
        if key and lookup and cache is not None and key not in offers:
            offer = cache.peek(lookup)
            if offer is not None:
                offers[key] = offer
    attachments, _ = guide_of(path)
    results.write(
        path,
        sheets,
        rows,
        offers,
        facts=facts(settings, path, accounts.values()),
        attachments=attachments,
        named_accounts=any(accounts),
    )


def _journal_request(entry: Entry, now: datetime) -> Request:
    outcome = Outcome(result=Result.ALREADY_SUBMITTED, key=entry.key)
    outcome.known(entry, now=now)
    reference = entry.key.removeprefix("ref:") if entry.key.startswith("ref:") else ""
    return Request(
        entry.source or "(no row recorded)",
        reference,
        outcome,
        entry.type or "",
        entry.country or "",
        in_sheet=False,
    )


_LISTING = ("where", "reference", "type", "countryCode")


def check_listing_target(out: Path) -> None:
    """`--out` may replace a list `status` wrote before, never another sheet (a results
    sheet, the input) of the same name.

    Raises:
        ConfigError: `out` exists and is not such a list.
    """
    if not out.exists():
        return
    try:
        found = read_sheets(out)
    except InputError:
        found = []
    headers = list(found[0].headers) if found else []
    if headers[:1] != ["nextStep"] or not set(_LISTING) <= set(headers):
        msg = (
            f"{out} exists and is not a list that status wrote (a results or request"
            " sheet?); give --out another name"
        )
        raise ConfigError(msg)


def _listing(requests: Sequence[Request]) -> Table:
    """The requests as one table: where each row is, then the result columns."""
    names = (
        *("nextStep", "requestId", "requestStatus", "daysUntilRejection", "feedback", "note"),
        *("numbers", "submittedAt", "updatedAt"),
    )
    columns = [cols.outcome_column(name) for name in names]
    columns += [Column(name, kind="text") for name in _LISTING]
    table = Table("Requests", columns, [], coloured=1)
    for number, request in enumerate(requests):
        shown_columns = request.outcome.columns()
        values: list[Any] = [shown_columns[name] for name in names]
        values += [request.where, request.reference, request.type, request.country]
        table.rows.append(values)
        table.colours[number] = request.need.colour
    return table
