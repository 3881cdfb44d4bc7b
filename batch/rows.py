"""From a spreadsheet row to an Infobip request body, every problem named by its column.

A row is checked in two passes: `parse` reads the standard columns (type, country,
sender, ...) and says which requirements lookup the row needs; `check_requirements`, in
`requirements`, then checks the other columns against the specs that lookup returned.
Problems are collected, never raised: a row reports all of its problems at once.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import pycountry

from batch import contract
from batch.cells import SPLIT, SPLIT_LIST, clipped, email_problem, integer
from batch.documents import LocalDocument
from batch.kinds import ALPHA, LOOKUP, NUMBER, RCS, READABLE, TYPES
from batch.outcome import RESULT_COLUMNS, Outcome, Problem
from batch.sheets import Row, Sheet, normalise

STANDARD = (
    "type",
    "countryCode",
    "senderName",
    "numberType",
    "capabilities",
    "quantity",
    "clientType",
    "trafficOrigin",
    "trafficType",
    "excludedCarriers",
    "additionalContactEmails",
    "applicationId",
    "entityId",
    "reference",
)
# The standard columns each type sends, and those it cannot do without.
USED = {
    ALPHA: {"senderName", "trafficOrigin", "trafficType"},
    NUMBER: {"numberType", "capabilities", "quantity", "clientType"},
    RCS: {"senderName", "trafficOrigin", "excludedCarriers"},
}
COMMON = {
    "type",
    "countryCode",
    "additionalContactEmails",
    "applicationId",
    "entityId",
    "reference",
}
REQUIRED = {
    ALPHA: ("countryCode", "senderName"),
    NUMBER: ("countryCode", "numberType", "capabilities"),
    RCS: ("countryCode", "senderName", "trafficOrigin"),
}
ACTIONS = ("cancel", "resubmit")
ENUMS = {
    "numberType": contract.enum("ResourceNumberType"),
    "capabilities": contract.enum("ResourceNumberCapability"),
    "clientType": contract.enum("NumberOfferClientType"),
    "trafficOrigin": contract.enum("TrafficOrigin"),
    "trafficType": contract.enum("TrafficType"),
}
_RESULT_SET = frozenset(normalise(name) for name in RESULT_COLUMNS)
_IGNORED = _RESULT_SET | {"action", "account"}
_STANDARD = {normalise(name): name for name in STANDARD}


@dataclass(frozen=True, slots=True)
class Layout:
    """What a sheet's columns hold, worked out once per sheet: the standard fields
    (name, index, header as written), the reference column, and the requirement
    columns by normalised header. Result columns the tool wrote are in none of them."""

    sheet_type: str | None
    standard: tuple[tuple[str, int, str], ...]
    reference: int | None
    values: Mapping[str, tuple[int, str]]
    # A results sheet fed back in: the request a row made, and what to do with it.
    request_id: int | None = None
    action: int | None = None
    # Which of the config file's accounts a row goes to (empty: the default one).
    account: int | None = None

    @classmethod
    def of(cls, sheet: Sheet, *, results: bool | None = None) -> Layout:
        """The sheet's layout; `results` says whether it is a results sheet (None: tell
        from its headers)."""
        standard, values, reference = [], {}, None
        for index, header in enumerate(sheet.headers):
            name = normalise(header)
            field_name = _STANDARD.get(name)
            if field_name == "reference":
                reference = index
            elif field_name is not None:
                standard.append((field_name, index, header))
            elif name and name not in _IGNORED:
                values[name] = (index, header)
        columns = {normalise(header): index for index, header in enumerate(sheet.headers)}
        sheet_type = sheet.name if sheet.name in TYPES else None
        # Only a results sheet's requestId and action are ours: a request sheet's own
        # "Request ID" (a ticket number, say) must not make its rows look submitted.
        ours = is_results(sheet.headers) if results is None else results
        return cls(
            sheet_type,
            tuple(standard),
            reference,
            values,
            request_id=columns.get(normalise("requestId")) if ours else None,
            action=columns.get("action") if ours else None,
            account=columns.get("account"),
        )


def is_results(headers: Sequence[str]) -> bool:
    """Whether a sheet is a results sheet the tool wrote: it has result and requestId,
    and most of the other result columns (a request sheet may well have a "Result" and
    a "Request ID" of its own, but not a whole set)."""
    found = {normalise(header) for header in headers} & _RESULT_SET
    return {"result", "requestid"} <= found and len(found) >= 5


@dataclass(frozen=True, slots=True)
class Standard:
    """What a row's standard columns (type, country, sender, ...) say. Rows that agree
    on them share one: a sheet of a thousand HR numbers parses "HR" once."""

    layout: Layout
    type: str | None
    body: Mapping[str, Any]  # the request body but its requirements; lists as tuples
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    lookup: Mapping[str, Any] | None  # the requirements-lookup body, when it can be asked
    lookup_key: str | None
    identity: tuple[Any, ...]


@dataclass(slots=True)
class Candidate:
    """A row on its way to becoming a request: its standard columns (shared with rows
    that agree on them), its requirement values once checked, and its problems."""

    row: Row
    standard: Standard
    reference: str | None
    errors: list[Problem]
    warnings: list[Problem]
    # One (key, value) per requirement, None where empty or wrong; lists as tuples.
    filled: tuple[tuple[str, Any] | None, ...] = ()
    outcome: Outcome = field(default_factory=Outcome)  # what became of it, so far
    # Columns whose cell is a formula with no saved value: that is their one problem,
    # not what its formula text would be as a value.
    unsaved: frozenset[str] = frozenset()
    # The name of the config file's account the row goes to ("": the default credentials).
    route: str = ""

    @property
    def type(self) -> str | None:
        return self.standard.type

    @property
    def country(self) -> str | None:
        country = self.standard.body.get("countryCode")
        return None if country is None else str(country)

    @property
    def lookup(self) -> Mapping[str, Any] | None:
        return self.standard.lookup

    @property
    def request_id(self) -> str:
        """The requestId a results sheet fed back in gives the row ("" for a new row)."""
        return self._cell(self.standard.layout.request_id)

    @property
    def action(self) -> str:
        """What a results sheet fed back in asks for the row's request: "cancel",
        "resubmit", or "" (anything else is an error of the row)."""
        return self._cell(self.standard.layout.action).casefold()

    @property
    def account(self) -> str:
        """The account the row's `account` cell names ("" for none: the default one)."""
        return self._cell(self.standard.layout.account)

    def _cell(self, index: int | None) -> str:
        return "" if index is None else self.row.cells[index].strip()

    @property
    def documents(self) -> list[LocalDocument]:
        """The files the row's DOCUMENT values name, to upload before it is sent."""
        return [
            value
            for pair in self.filled
            if pair is not None
            for value in (pair[1] if isinstance(pair[1], tuple) else (pair[1],))
            if isinstance(value, LocalDocument)
        ]

    def error(self, column: str | None, message: str, label: str | None = None) -> None:
        if column not in self.unsaved:
            self.errors.append(Problem(message, column, label))

    def warn(self, column: str | None, message: str, label: str | None = None) -> None:
        self.warnings.append(Problem(message, column, label))

    def body(self) -> dict[str, Any]:
        """The request body; files are `LocalDocument`s, to be replaced by documentIds."""
        body = {name: _json(value) for name, value in self.standard.body.items()}
        body["requirements"] = [
            {"key": key, "value": _json(value)} for key, value in filter(None, self.filled)
        ]
        return body

    def content(self) -> str:
        """A fingerprint of the request the row makes, files by their SHA-256: how a row
        is known again in a later run, and a changed one told apart."""
        text = json.dumps(self.body(), sort_keys=True, ensure_ascii=False, default=_by_content)
        return hashlib.sha256(text.encode()).hexdigest()

    def key(self, content: str) -> str:
        """The row's key in the journal: its reference, or else what it asks for."""
        return f"ref:{self.reference}" if self.reference else f"sha256:{content}"

    def identity(self) -> tuple[Any, ...]:
        """What the row asks for: two rows with one identity ask for the same thing.

        A sender is registered once per country, whatever the references say: Infobip
        refuses a second request for it. Numbers can be bought again: two purchase rows
        are the same only when they ask for the same and carry the same reference (or
        none), so a new reference buys the same numbers once more."""
        if self.type == NUMBER:
            return (self.standard.identity, self.filled, self.reference)
        return self.standard.identity


def _by_content(value: Any) -> str:
    if isinstance(value, LocalDocument):
        return f"sha256:{value.sha256}"
    raise TypeError(f"{type(value).__name__} is not part of a request")


def _json(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return dict(value) if isinstance(value, Mapping) else value


def parse_sheet(sheet: Sheet, *, results: bool | None = None) -> list[Candidate]:
    """The sheet's non-blank rows as Candidates, their standard columns checked; each
    distinct combination of standard cells is parsed once."""
    layout = Layout.of(sheet, results=results)
    indexes = [index for _, index, _ in layout.standard]
    pick = (
        itemgetter(*indexes) if len(indexes) > 1 else lambda cells: tuple(cells[i] for i in indexes)
    )
    parsed: dict[tuple[str, ...], Standard] = {}
    found = []
    for row in sheet.rows:
        if row.blank:
            continue
        texts = pick(row.cells)
        standard = parsed.get(texts)
        if standard is None:
            standard = parsed[texts] = _standard(layout, texts)
        reference = row.cells[layout.reference].strip() if layout.reference is not None else ""
        errors, warnings = list(standard.errors), list(standard.warnings)
        candidate = Candidate(row, standard, reference or None, errors, warnings)
        if row.formulas:
            candidate.errors = _unsaved(sheet, row, errors)
            candidate.unsaved = frozenset(sheet.headers[index] for index in row.formulas)
        if layout.action is not None and candidate.action not in ("", *ACTIONS):
            header = sheet.headers[layout.action]
            text = row.cells[layout.action].strip()
            candidate.error(header, f"{text!r} is not an action; use {' or '.join(ACTIONS)}")
        found.append(candidate)
    return found


def _unsaved(sheet: Sheet, row: Row, errors: list[Problem]) -> list[Problem]:
    """A row's problems with its formulas that have no saved value, first, then those
    of its other columns."""
    headers = {sheet.headers[index] for index in row.formulas}
    found = [
        Problem(
            _unsaved_formula(row.cells[index]),
            sheet.headers[index],
        )
        for index in row.formulas
    ]
    return found + [problem for problem in errors if problem.column not in headers]


def _unsaved_formula(text: str) -> str:
    return (
        f"a formula with no saved value ({clipped(text)}); open the file in Excel and save"
        " it, or type the value"
    )


def _standard(layout: Layout, texts: Sequence[str]) -> Standard:
    """Read a row's standard columns: the type, then every field the type uses. Every
    field is checked; a broken one that the requirements lookup needs leaves the lookup
    without it (when it is optional) so that the requirement columns are still checked."""
    cells = {
        name: (header, text.strip())
        for (name, _, header), text in zip(layout.standard, texts, strict=True)
    }
    body: dict[str, Any] = {}
    errors: list[Problem] = []
    warnings: list[Problem] = []
    kind = _parse_type(cells, layout.sheet_type, errors)
    if kind is None:
        return Standard(layout, None, body, tuple(errors), (), None, None, ())
    body["type"] = kind
    broken = set()
    for name in REQUIRED[kind]:
        if not cells.get(name, ("", ""))[1]:
            header = cells.get(name, (name, ""))[0]
            errors.append(Problem(f"required for {_a(READABLE[kind])}", header))
            broken.add(name)
    for name, (header, text) in cells.items():
        if not text or name == "type":
            continue
        if name not in USED[kind] | COMMON:
            warnings.append(Problem(f"not used for {_a(READABLE[kind])}; not sent", header))
            continue
        value, problem = _field(kind, name, text)
        if problem is not None:
            errors.append(Problem(problem, header))
            broken.add(name)
        elif name in ("applicationId", "entityId"):
            body.setdefault("platform", {})[name] = value
        else:
            body[name] = value
    if kind == NUMBER and "quantity" not in body and "quantity" not in broken:
        body["quantity"] = 1  # the lookup's default; submit states none, so say it
    asked = dict(body)
    if "capabilities" in broken and "capabilities" in cells:
        # SMS,FAX: the row is invalid, but its requirements are those of SMS; check them.
        valid = [v.upper() for v in SPLIT_LIST.split(cells["capabilities"][1]) if v]
        valid = [v for v in ENUMS["capabilities"] if v in valid]
        if valid:
            asked["capabilities"], broken = tuple(valid), broken - {"capabilities"}
    lookup = _lookup(kind, asked, broken)
    return Standard(
        layout,
        kind,
        body,
        tuple(errors),
        tuple(warnings),
        lookup,
        None if lookup is None else json.dumps(lookup, sort_keys=True),
        _identity(kind, body),
    )


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


def _lookup(kind: str, body: Mapping[str, Any], broken: Collection[str]) -> dict[str, Any] | None:
    """The requirements-lookup body, or None when a field it cannot do without is
    missing or wrong. The sender is not part of it: a bad sender name leaves the other
    columns to be checked all the same."""
    names = LOOKUP[kind]
    if any(name in broken for name in names if name in REQUIRED[kind]):
        return None
    return {"type": kind, **{n: _json(body[n]) for n in names if n in body}}


def _identity(kind: str, body: Mapping[str, Any]) -> tuple[Any, ...]:
    if kind == NUMBER:
        asked = {k: v for k, v in body.items() if k not in ("additionalContactEmails", "platform")}
        return tuple(sorted(asked.items()))
    return (kind, body.get("countryCode"), str(body.get("senderName", "")).casefold())


def _parse_type(
    cells: Mapping[str, tuple[str, str]], sheet_type: str | None, errors: list[Problem]
) -> str | None:
    header, text = cells.get("type", ("type", ""))
    if not text and sheet_type is None:
        errors.append(
            Problem(
                f"missing; give one of {', '.join(TYPES)} (or name the sheet after the type)",
                header,
            )
        )
        return None
    wanted = text.upper().replace(" ", "_").replace("-", "_") if text else sheet_type
    if wanted not in TYPES:
        errors.append(
            Problem(f"{text!r} is not a request type; use one of {', '.join(TYPES)}", header)
        )
        return None
    return wanted


@functools.lru_cache(maxsize=65536)  # country, types, capabilities recur on every row
def _field(kind: str, name: str, text: str) -> tuple[Any, str | None]:
    """A standard column's value as Infobip wants it (lists as tuples), or every problem
    it has, in one text."""
    if name == "countryCode":
        code = text.upper()
        if pycountry.countries.get(alpha_2=code) is None:
            return None, f"{text!r} is not an ISO 3166 two-letter country code (like HR, DE, US)"
        return code, None
    if name == "senderName":
        if kind == ALPHA:
            return text, _alpha_sender(text)
        return text, None if len(text) <= 255 else "longer than 255 characters"
    if name == "capabilities":
        values = [v.upper() for v in SPLIT_LIST.split(text) if v]
        if not values:  # ",," or ";": separators only
            return None, f"{text!r} names no capability; give {', '.join(ENUMS[name])}"
        bad = [v for v in values if v not in ENUMS[name]]
        if bad:
            return None, f"{', '.join(bad)}: capabilities are {', '.join(ENUMS[name])}"
        return tuple(sorted(set(values), key=ENUMS[name].index)), None
    if name in ENUMS:
        value = text.upper().replace(" ", "_").replace("-", "_")
        if value not in ENUMS[name]:
            return None, f"{text!r} is not one of {', '.join(ENUMS[name])}"
        return value, None
    if name == "quantity":
        number = integer(text)
        if number is None or not 1 <= number <= 49:
            return None, f"{text!r}: quantity must be a whole number from 1 to 49"
        return number, None
    if name == "excludedCarriers":
        return tuple(v for v in SPLIT.split(text) if v), None
    if name == "additionalContactEmails":
        return _emails(text)
    # applicationId, entityId
    return text, None if len(text) <= 255 else "longer than 255 characters"


def _emails(text: str) -> tuple[Any, str | None]:
    """Up to three contact addresses; every bad one is named, and too many said too."""
    emails = tuple(v for v in SPLIT_LIST.split(text) if v)
    problems = [problem for e in emails if (problem := email_problem(e))]
    if len(emails) > 3:
        problems.insert(0, f"{len(emails)} addresses; Infobip takes at most 3")
    return (None, "; ".join(problems)) if problems else (emails, None)


def _alpha_sender(text: str) -> str | None:
    """Every rule an alphanumeric sender name breaks, in one text (None if none)."""
    problems = []
    if not 3 <= len(text) <= 11:
        problems.append(f"{len(text)} characters; an alphanumeric sender has 3 to 11")
    outside = sorted(set(text) - contract.GSM7)
    if outside:
        problems.append(f"{' '.join(outside)} cannot be sent in SMS (GSM-7 alphabet only)")
    if not any(c.isalpha() for c in text):
        problems.append("needs at least one letter")
    return f"{text!r}: {'; '.join(problems)}" if problems else None
