"""Where each request stands: statuses refreshed through Infobip's list, into the journal
and back into the results sheets.

Infobip reviews a request for days. The list endpoint returns 2,000 requests a page, so
thousands of tracked requests are refreshed in a handful of calls rather than one GET
each; requests already final (COMPLETED, REJECTED, CANCELED) are not asked again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from batch import reconcile
from batch.api import Infobip
from batch.config import Settings
from batch.journal import FINAL, Entry, Journal
from batch.outcome import Outcome, feedback_text, numbers_text, shown
from batch.sheets import RESULT_COLUMNS, Sheet, normalise, read_sheets, write_results

logger = logging.getLogger(__name__)

ACTION_NEEDED = frozenset({"UPDATE_REQUESTED", "UPDATE_REQUESTED_BY_INTERNAL_REVIEWER"})


@dataclass(frozen=True, slots=True)
class StatusReport:
    """What a refresh found: statuses by count, the rows that need the team, and the
    requests Infobip's list did not show."""

    statuses: Counter[str]
    needs_action: list[str]
    missing: list[str]
    files: list[Path]


async def refresh(
    api: Infobip, request_ids: Collection[str], *, since: datetime | None
) -> dict[str, dict[str, Any]]:
    """The listed state of each of `request_ids` that Infobip's list shows, by id.

    Pages are read newest first until every id is found, the list ends, or it reaches
    requests older than `since` (the oldest submit asked about, when known).
    """
    wanted, found = set(request_ids), dict[str, dict[str, Any]]()
    page = 0
    while wanted - found.keys():
        listing = await api.requests(page=page)
        items = listing.get("results") or []
        found.update((str(i["id"]), i) for i in items if i.get("id") in wanted)
        page += 1
        oldest = reconcile.requested(items[-1]) if items else None
        if page >= int((listing.get("paging") or {}).get("totalPages") or 0):
            break
        if since is not None and oldest is not None and oldest < since - reconcile.SKEW:
            break
    return found


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


def columns_of_listed(item: Mapping[str, Any], at: datetime) -> dict[str, str]:
    """The result columns that say what Infobip said of a request just now."""
    return {
        "requestStatus": str(item.get("status") or ""),
        "feedback": feedback_text(item.get("requirementsFeedback")),
        "note": str(item.get("note") or ""),
        "numbers": numbers_text(item.get("numbers"), item.get("quantity")),
        "updatedAt": shown(at),
    }


def columns_of_entry(entry: Entry) -> dict[str, str]:
    """The same, from what the journal holds (webhooks, earlier refreshes)."""
    outcome = Outcome()
    outcome.known(entry)
    shown_columns = outcome.columns()
    names = ("requestStatus", "feedback", "note", "numbers", "daysUntilRejection", "updatedAt")
    return {name: shown_columns[name] for name in names}


async def run_status(
    settings: Settings, files: Sequence[Path], *, everything: bool
) -> StatusReport:
    """Refresh the requests in `files` (and with `everything`, or no files, every request
    the journal tracks), record them in the journal, and rewrite `files` with them.

    Raises:
        InputError: a results file cannot be read.
        ConfigError: a results file cannot be written.
        AuthError, ApiError: Infobip refused the credentials or could not be reached.
    """
    sheets = {path: read_sheets(path) for path in files}
    in_files = {path: _request_ids(found) for path, found in sheets.items()}
    with Journal.open(settings.state_dir, settings.account) as journal:
        ids = {i for rows in in_files.values() for i in rows.values()}
        if everything or not files:
            ids |= {str(e.request_id) for e in journal.tracked()}
        known = journal.by_request_id(ids)
        asked = {i for i in ids if i not in known or known[i].request_status not in FINAL}
        sent = [when for i in asked if i in known and (when := known[i].sent_at) is not None]
        since = min(sent) if sent and len(sent) == len(asked) else None
        listed: dict[str, dict[str, Any]] = {}
        if asked:
            async with Infobip.connect(settings) as api:
                listed = await refresh(api, asked, since=since)
        now = record(journal, listed)
        known = journal.by_request_id(ids)
    views = {i: columns_of_entry(entry) for i, entry in known.items()}
    views.update({i: columns_of_listed(item, now) for i, item in listed.items() if i not in known})
    missing = sorted(asked - listed.keys())
    statuses = Counter(view["requestStatus"] or "?" for view in views.values())
    summary: list[list[object]] = [["Status", "Requests"], *sorted(map(list, statuses.items()))]
    for path, found in sheets.items():
        _rewrite(path, found, in_files[path], views, summary)
    needs_action = [
        f"{request_id}: {view['requestStatus']}"
        + (f" - {view['feedback']}" if view["feedback"] else "")
        for request_id, view in views.items()
        if view["requestStatus"] in ACTION_NEEDED
    ]
    return StatusReport(statuses, needs_action, missing, list(files))


def _request_ids(sheets: Sequence[Sheet]) -> dict[tuple[str | None, int], str]:
    """The requestId of each row of a results sheet that has one."""
    found = {}
    for sheet in sheets:
        index = {normalise(h): i for i, h in enumerate(sheet.headers)}.get(normalise("requestId"))
        if index is None:
            continue
        for row in sheet.rows:
            if row.cells[index].strip():
                found[sheet.name, row.number] = row.cells[index].strip()
    return found


def _rewrite(
    path: Path,
    sheets: Sequence[Sheet],
    request_ids: Mapping[tuple[str | None, int], str],
    views: Mapping[str, dict[str, str]],
    summary: Sequence[Sequence[object]],
) -> None:
    """Write the file again with every result column kept, the status ones refreshed."""
    results = {}
    for sheet in sheets:
        positions = {normalise(h): i for i, h in enumerate(sheet.headers)}
        for row in sheet.rows:
            values = {
                name: row.cells[positions[normalise(name)]]
                for name in RESULT_COLUMNS
                if normalise(name) in positions
            }
            request_id = request_ids.get((sheet.name, row.number))
            if request_id is not None and request_id in views:
                values.update(views[request_id])
            results[sheet.name, row.number] = values
    write_results(path, sheets, results, summary=summary)
