"""The results sheet, laid out for the person who reads it and edits it next.

Each input sheet comes back with the result columns first (what happened, what to do
next, what is wrong, the request and where it stands), then the input's own columns in
their order, with a `type` column (so that a CSV save keeps each row's type) and every
requirement column of the sheet's offers (a missing one is added, to be filled in). The
bad cells are coloured and carry a note saying what is wrong; the cells Infobip asks to
change too. Where the requirements of the rows are known, the header notes, dropdowns and
checks of a template are put back, and a Guide sheet lists the requirements, so that a
results sheet is as good to edit as the template it came from. A Summary sheet counts
rows by what they need next, by result and by request status, and says what ran.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from batch import columns as cols
from batch import requirements, rows
from batch.errors import InputError
from batch.kinds import TYPES, offer_words
from batch.outcome import ASKING, RESULT_COLUMNS, Need, Problem, Result, feedback_line
from batch.requirements import Offer, Requirement
from batch.rows import STANDARD, Candidate
from batch.sheets import Sheet, normalise, write_results
from batch.workbook import Column, Guide, Mark, Table

ERROR, WARNING, CHANGED = "FFC7CE", "FFEB9C", "FFEB9C"
GUIDE_HEADERS = (
    "for",
    "key",
    "name",
    "type",
    "required",
    "multiple values",
    "rules",
    "description",
    "attachment",
)
_RESULT_NAMES = frozenset(normalise(name) for name in RESULT_COLUMNS)
_UNASKED = (
    "{header}\nNo row's requirements ask for a column of this name: its values are not sent"
    " to Infobip. Keep it for your own notes; if it is meant as a requirement, check its"
    " name against the Guide sheet."
)
_STANDARD = {normalise(name): name for name in (*STANDARD, "action", "account")}
EXCEL_COLUMNS = 16_384  # A to XFD


@dataclass(frozen=True, slots=True)
class Written:
    """What the results file says, counted: by result, by what the rows need next, and
    by request status."""

    path: Path
    results: Counter[str]
    needs: Counter[Need]
    statuses: Counter[str]


def write(
    path: Path,
    sheets: Sequence[Sheet],
    candidates: Sequence[Candidate],
    offers: Mapping[str, Offer],
    *,
    facts: Sequence[tuple[str, object]] = (),
    timings: Mapping[str, float] | None = None,
    attachments: Mapping[str, str] | None = None,
    changes: Sequence[str] = (),
    results_sheet: bool | None = None,
    named_accounts: bool = False,
) -> Written:
    """Write the results of `candidates` (the rows of `sheets`) to `path`, atomically.

    Args:
        offers: the requirements each lookup returned, by lookup key.
        facts: what ran, for the Summary: (label, value) pairs.
        timings: seconds per stage, for the Summary.
        attachments: per requirement key, the text of the input Guide's attachment
            cell (a template's downloaded form), kept in the new Guide.
        changes: how Infobip's requirements changed since the input was made.
        results_sheet: whether the input is a results sheet, whose result columns are
            replaced (None: tell from its headers).
        named_accounts: whether some row went to one of the config file's accounts: each
            row's account is then written in an `account` column (added if need be), so
            that `status` and the next run find its request in that account.

    Raises:
        ConfigError: the file cannot be written.
    """
    by_sheet: dict[str | None, dict[int, Candidate]] = defaultdict(dict)
    for candidate in candidates:
        by_sheet[candidate.row.sheet][candidate.row.number] = candidate
    tables, unsent = [], []
    for sheet in sheets:
        found = by_sheet[sheet.name]
        specs = _requirements(found.values(), offers)
        tables.append(_table(sheet, found, specs, results_sheet, named_accounts=named_accounts))
        where = f" (sheet {sheet.name})" if sheet.name else ""
        unsent += [f"{header}{where}" for header in _unasked(sheet, specs)]
    used = {c.standard.lookup_key for c in candidates if c.standard.lookup_key in offers}
    chosen = {key: offers[key] for key in offers if key in used}
    outcomes = [c.outcome for c in candidates]
    written = Written(
        path,
        Counter(str(o.result) for o in outcomes if o.result),
        Counter(o.need for o in outcomes),
        Counter(o.request_status for o in outcomes if o.request_status),
    )
    summary = _summary(written, candidates, facts, timings or {}, changes, unsent)
    write_results(path, tables, guide=guide(chosen, attachments or {}), summary=summary)
    return written


def table(sheet: Sheet, found: Mapping[int, Candidate], offers: Mapping[str, Offer]) -> Table:
    """One input sheet as its results sheet: result columns, then the input's columns
    (and the ones it lacks), each cell marked where something is wrong with it."""
    return _table(sheet, found, _requirements(found.values(), offers), None)


@dataclass(frozen=True, slots=True)
class _Plan:
    """Which columns a sheet's results sheet has, after the result columns: the leading
    ones the input lacks, the input's own (some renamed), the requirement columns added."""

    leading: list[str]
    kept: list[int]
    renamed: dict[int, str]
    added: list[str]

    @property
    def width(self) -> int:
        return len(RESULT_COLUMNS) + len(self.leading) + len(self.kept) + len(self.added)


def _plan(
    sheet: Sheet,
    specs: Mapping[str, list[Requirement]],
    results_sheet: bool | None,
    *,
    named_accounts: bool = False,
) -> _Plan:
    headers = [normalise(h) for h in sheet.headers]
    ours = rows.is_results(sheet.headers) if results_sheet is None else results_sheet
    # A results sheet's result columns are replaced; a request sheet's own columns of
    # those names (a "Note", an "Action") are kept, renamed so as not to be taken for ours.
    taken = _RESULT_NAMES | {"action"}
    kept = [i for i, name in enumerate(headers) if not (ours and name in _RESULT_NAMES)]
    renamed = {i: f"{sheet.headers[i]} (input)" for i in kept if not ours and headers[i] in taken}
    present = {headers[i] for i in kept if i not in renamed}
    # Every results sheet says each row's type (kept by a CSV save) and has an action
    # column (cancel, resubmit), both first among the input's columns when it lacks them.
    wanted = ("type", "action", "account") if named_accounts else ("type", "action")
    leading = [name for name in wanted if name not in present]
    added = [key for key in specs if normalise(key) not in present]
    return _Plan(leading, kept, renamed, added)


def check_width(
    file: str,
    sheets: Sequence[Sheet],
    candidates: Sequence[Candidate] = (),
    offers: Mapping[str, Offer] | None = None,
) -> None:
    """Refuse an input whose results sheet would run past Excel's last column: checked
    once it is read (the columns every results sheet adds) and again once its offers
    are known (the requirement columns it lacks), both before anything is sent. A .csv
    of results is held to it too: it is opened in Excel, which drops what lies beyond.

    Raises:
        InputError: a sheet has too many columns; the message says how many.
    """
    by_sheet: dict[str | None, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        by_sheet[candidate.row.sheet].append(candidate)
    for sheet in sheets:
        plan = _plan(sheet, _requirements(by_sheet[sheet.name], offers or {}), None)
        if plan.width > EXCEL_COLUMNS:
            has = len(sheet.headers)
            lacking = ", the requirement columns it lacks at the end" if plan.added else ""
            msg = (
                f"has {has:,} columns and its results sheet adds {plan.width - has:,} (the"
                f" result columns in front{lacking}): {plan.width:,} in all, past Excel's"
                f" limit of {EXCEL_COLUMNS:,} columns (A to XFD); delete the columns you do"
                " not need, or split the sheet"
            )
            raise InputError(msg, file=file, sheet=sheet.name)


def _table(
    sheet: Sheet,
    found: Mapping[int, Candidate],
    specs: Mapping[str, list[Requirement]],
    results_sheet: bool | None,
    *,
    named_accounts: bool = False,
) -> Table:
    kinds = sorted({c.type for c in found.values() if c.type}) or list(TYPES)
    unasked = set(_unasked(sheet, specs))
    plan = _plan(sheet, specs, results_sheet, named_accounts=named_accounts)
    leading, kept, renamed, added = plan.leading, plan.kept, plan.renamed, plan.added
    columns = [cols.outcome_column(name) for name in RESULT_COLUMNS]
    columns += [cols.standard_column(name, kinds) for name in leading]
    for index in kept:
        header = sheet.headers[index]
        if index in renamed:
            note = (
                f"{renamed[index]}\nThe input's own column {header!r}, renamed: the tool"
                " writes a column of that name."
            )
            columns.append(Column(renamed[index], note))
        elif header in unasked:
            columns.append(Column(header, _UNASKED.format(header=header), fill=WARNING))
        else:
            columns.append(_input_column(header, kinds, specs))
    columns += [cols.requirement_column(specs[key][0]) for key in added]
    where = {normalise(column.header): i for i, column in enumerate(columns)}
    result = Table(sheet.name, columns, [], coloured=2, delimiter=sheet.delimiter)
    start = len(RESULT_COLUMNS)
    type_at = start if "type" in leading else None
    width = len(columns)
    for row in sheet.rows:
        while len(result.rows) < row.number - 2:  # row N of the results is row N of the input
            result.rows.append([None] * width)
        candidate = found.get(row.number)
        cells: list[Any] = [""] * len(leading) + [row.cells[i] for i in kept] + [""] * len(added)
        values: list[Any] = [None] * start + cells
        if candidate is not None:
            _fill(result, len(result.rows), values, candidate, where, type_at)
        result.rows.append(values)
    return result


def _input_column(header: str, kinds: list[str], specs: Mapping[str, list[Requirement]]) -> Column:
    """An input column as written back: standard columns and requirement columns with
    their notes and checks, anything else as it is."""
    name = normalise(header)
    if name in _STANDARD:
        return dataclasses.replace(cols.standard_column(_STANDARD[name], kinds), header=header)
    found = next((found for key, found in specs.items() if normalise(key) == name), None)
    if found is None:
        return Column(header)
    if any(requirement != found[0] for requirement in found[1:]):
        note = f"{header}\nIts rules differ between the offers of this sheet: see the Guide sheet."
        return Column(header, note, kind="text")
    return cols.requirement_column(found[0], header)


def _unasked(sheet: Sheet, specs: Mapping[str, list[Requirement]]) -> list[str]:
    """The sheet's columns no offer of its rows asks for (when any offer is known): never
    sent, said once."""
    if not specs:
        return []
    return requirements.unasked(rows.Layout.of(sheet), {normalise(key) for key in specs})


def _requirements(candidates: Any, offers: Mapping[str, Offer]) -> dict[str, list[Requirement]]:
    """The requirements of the rows' offers, by key, in the order the offers list them."""
    found: dict[str, list[Requirement]] = {}
    for key in dict.fromkeys(c.standard.lookup_key for c in candidates):
        offer = offers.get(key) if key else None
        if offer is None or offer.refusal is not None:
            continue
        for requirement in requirements.prepare(offer.requirements):
            found.setdefault(requirement.key, []).append(requirement)
    return found


def _fill(
    table: Table,
    number: int,
    values: list[Any],
    candidate: Candidate,
    where: Mapping[str, int],
    type_at: int | None,
) -> None:
    """A row's result columns, its type, its changed cells and its marks."""
    outcome = candidate.outcome
    shown = outcome.columns()
    for position, name in enumerate(RESULT_COLUMNS):
        values[position] = shown[name]
    start = len(RESULT_COLUMNS)
    if type_at is not None:
        values[type_at] = candidate.type or ""
    elif candidate.type and not values[where["type"]]:
        values[where["type"]] = candidate.type  # given by the sheet's name: said in the row
    account_at = where.get("account")
    if candidate.route and account_at is not None and not values[account_at]:
        # The row goes to it: its request is there. A row that already had a request when
        # it came in keeps its cell as it was: that request may be in another account.
        if not candidate.request_id:
            values[account_at] = candidate.route
    table.colours[number] = outcome.need.colour
    notes: dict[int, tuple[str, list[str]]] = {}
    for header, (text, note) in outcome.cells.items():
        index = where.get(normalise(header))
        if index is not None and index >= start:
            values[index] = text
            _add(notes, index, CHANGED, note)
    for problems, colour in ((outcome.errors, ERROR), (outcome.warnings, WARNING)):
        for problem in problems:
            index = _column_of(problem, where)
            if index is not None and index >= start:
                _add(notes, index, colour, problem.text)
    if outcome.request_status in ASKING:
        for item in outcome.feedback:
            index = where.get(normalise(str(item.get("key", ""))))
            if index is not None and index >= start:
                _add(notes, index, ERROR, f"Infobip asks: {feedback_line(item)}")
    for index, (colour, lines) in notes.items():
        table.marks[number, index] = Mark(colour, "\n".join(lines))


def _column_of(problem: Problem, where: Mapping[str, int]) -> int | None:
    return where.get(normalise(problem.column)) if problem.column else None


def _add(notes: dict[int, tuple[str, list[str]]], index: int, colour: str, text: str) -> None:
    """Add a note to a cell; an error's red wins over a warning's amber."""
    held = notes.get(index)
    if held is None:
        notes[index] = (colour, [text])
    else:
        held[1].append(text)
        if colour == ERROR:
            notes[index] = (ERROR, held[1])


def guide(offers: Mapping[str, Offer], attachments: Mapping[str, str]) -> Guide:
    """The Guide sheet: every requirement of the offers (offers asking the same listed
    once), and the lookups themselves (read back by a later run to notice when Infobip's
    requirements change)."""
    from batch.columns import describe_rules

    blocks: dict[tuple[str, str], list[Offer]] = {}
    for offer in offers.values():
        if offer.refusal is None:
            specs = json.dumps(list(offer.requirements), sort_keys=True)
            blocks.setdefault((offer_words(offer.lookup), specs), []).append(offer)
    labels = Counter(label for label, _ in blocks)
    table_rows: list[list[str]] = []
    links: dict[int, str] = {}
    for (label, _), same in blocks.items():
        if labels[label] > 1:  # the same words, other requirements: say what differs
            quantities = sorted({str(o.lookup.get("quantity", 1)) for o in same}, key=int)
            label += f", quantity {', '.join(quantities)}"
        offer = same[0]
        for spec, requirement in zip(
            offer.requirements, requirements.prepare(offer.requirements), strict=True
        ):
            attachment = attachments.get(requirement.key, "")
            link = attachment.partition(": ")[2] if ": " in attachment else ""
            if link and not link.startswith(("http:", "https:")) and "/" in link:
                links[len(table_rows)] = link
            table_rows.append(
                [
                    label,
                    requirement.key,
                    requirement.name,
                    str(spec.get("type", "")),
                    "yes" if requirement.required else "no",
                    "yes" if requirement.many else "no",
                    describe_rules(requirement),
                    requirement.description,
                    attachment,
                ]
            )
    made_from = [made_from_row(o) for o in offers.values() if o.refusal is None]
    if made_from and not table_rows:
        empty = "Infobip needs no requirements beyond the standard columns."
        return Guide(GUIDE_HEADERS, table_rows, links, made_from, empty)
    return Guide(GUIDE_HEADERS, table_rows, links, made_from)


def made_from_row(offer: Offer) -> list[str]:
    """The Guide's record of one lookup: its body, its answer and when it was asked."""
    when = ""
    if offer.fetched_at is not None:
        when = datetime.fromtimestamp(offer.fetched_at, UTC).isoformat(timespec="seconds")
    return [
        "lookup",
        json.dumps(dict(offer.lookup), sort_keys=True, ensure_ascii=False),
        json.dumps(list(offer.requirements), sort_keys=True, ensure_ascii=False),
        when,
    ]


def _summary(
    written: Written,
    candidates: Sequence[Candidate],
    facts: Sequence[tuple[str, object]],
    timings: Mapping[str, float],
    changes: Sequence[str],
    unsent: Sequence[str],
) -> list[list[object]]:
    summary: list[list[object]] = [["Run", ""], *[[label, value] for label, value in facts]]
    summary += [[], ["What to do next", "Rows"]]
    summary += [[need.label, written.needs[need]] for need in Need if written.needs[need]]
    summary += [[], ["Result", "Rows"]]
    summary += [[str(r), written.results[r]] for r in Result if written.results[r]]
    if written.statuses:
        summary += [[], ["Request status", "Requests"]]
        summary += sorted([status, n] for status, n in written.statuses.items())
    summary += [[], ["Type", "Rows"]]
    summary += sorted([kind, n] for kind, n in Counter(c.type or "?" for c in candidates).items())
    summary += [[], ["Country", "Rows"]]
    countries = Counter(c.country or "?" for c in candidates)
    summary += sorted([country, n] for country, n in countries.items())
    if unsent:
        summary += [[], ["Columns no requirement asks for (never sent)", ""]]
        summary += [[column, ""] for column in unsent]
    if changes:
        summary += [[], ["Infobip's requirements changed", ""]]
        summary += [[line, ""] for line in changes]
    if timings:
        summary += [[], ["Timing", "Seconds"]]
        summary += [[stage, round(seconds, 2)] for stage, seconds in timings.items()]
    return summary
