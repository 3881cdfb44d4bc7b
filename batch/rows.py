"""From a spreadsheet row to an Infobip request body, every problem named by its column.

A row is checked in two passes: `parse` reads the standard columns (type, country,
sender, ...) and says which requirements lookup the row needs; `check_requirements`
then checks the other columns against the specs that lookup returned. Problems are
collected, never raised: a row reports all of its problems at once.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import email_validator
import phonenumbers
import pycountry
import regex

from batch import contract
from batch.documents import DocumentProblem, LocalDocument, Resolver
from batch.sheets import RESULT_COLUMNS, Row, Sheet, normalise

ALPHA, NUMBER, RCS = "ALPHANUMERIC_REGISTRATION", "NUMBER_PURCHASE", "RCS_SENDER_LAUNCH"
TYPES = (ALPHA, NUMBER, RCS)
READABLE = {ALPHA: "alphanumeric registration", NUMBER: "number purchase", RCS: "RCS sender launch"}
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
ENUMS = {
    "numberType": contract.enum("ResourceNumberType"),
    "capabilities": contract.enum("ResourceNumberCapability"),
    "clientType": contract.enum("NumberOfferClientType"),
    "trafficOrigin": contract.enum("TrafficOrigin"),
    "trafficType": contract.enum("TrafficType"),
}
YES = frozenset(
    {"yes", "y", "x", "true", "1", "✓", "✔", "agree", "i agree", "ja", "da", "oui", "si"}
)
SPLIT = regex.compile(r"\s*(?:;|\r?\n)\s*")
SPLIT_LIST = regex.compile(r"\s*(?:[;,]|\r?\n)\s*")
URL = regex.compile(r"(?i)https?://([^/\s?#]+)\S*")
THOUSANDS = regex.compile(r"[+-]?\d{1,3}(,\d{3})+")
WHOLE = regex.compile(r"[+-]?\d+(\.0+)?")
_IGNORED = frozenset([*(normalise(name) for name in RESULT_COLUMNS), "action"])
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

    @classmethod
    def of(cls, sheet: Sheet) -> Layout:
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
        return cls(
            sheet_type,
            tuple(standard),
            reference,
            values,
            request_id=columns.get(normalise("requestId")),
            action=columns.get("action"),
        )


@dataclass(frozen=True, slots=True)
class Standard:
    """What a row's standard columns (type, country, sender, ...) say. Rows that agree
    on them share one: a sheet of a thousand HR numbers parses "HR" once."""

    layout: Layout
    type: str | None
    body: Mapping[str, Any]  # the request body but its requirements; lists as tuples
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
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
    errors: list[str]
    warnings: list[str]
    # One (key, value) per requirement, None where empty or wrong; lists as tuples.
    filled: tuple[tuple[str, Any] | None, ...] = ()

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
        """What a results sheet fed back in asks for the row's request: "cancel" or ""."""
        return self._cell(self.standard.layout.action).casefold()

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

    def error(self, column: str, message: str) -> None:
        self.errors.append(f"{column}: {message}")

    def warn(self, column: str, message: str) -> None:
        self.warnings.append(f"{column}: {message}")

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
        """What the row asks for: two rows with one identity ask for the same thing. A
        sender is registered once per country; numbers are bought per content."""
        if self.type == NUMBER:
            return (self.standard.identity, self.filled)
        return self.standard.identity


def _by_content(value: Any) -> str:
    if isinstance(value, LocalDocument):
        return f"sha256:{value.sha256}"
    raise TypeError(f"{type(value).__name__} is not part of a request")


def _json(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return dict(value) if isinstance(value, Mapping) else value


def parse_sheet(sheet: Sheet) -> list[Candidate]:
    """The sheet's non-blank rows as Candidates, their standard columns checked; each
    distinct combination of standard cells is parsed once."""
    layout = Layout.of(sheet)
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
        found.append(Candidate(row, standard, reference or None, errors, warnings))
    return found


def _standard(layout: Layout, texts: Sequence[str]) -> Standard:
    """Read a row's standard columns: the type, then every field the type uses."""
    cells = {
        name: (header, text.strip())
        for (name, _, header), text in zip(layout.standard, texts, strict=True)
    }
    body: dict[str, Any] = {}
    errors: list[str] = []
    warnings: list[str] = []
    kind = _parse_type(cells, layout.sheet_type, errors)
    if kind is None:
        return Standard(layout, None, body, tuple(errors), (), None, None, ())
    body["type"] = kind
    for name in REQUIRED[kind]:
        if not cells.get(name, ("", ""))[1]:
            header = cells.get(name, (name, ""))[0]
            errors.append(f"{header}: required for a {READABLE[kind]}")
    for name, (header, text) in cells.items():
        if not text or name == "type":
            continue
        if name not in USED[kind] | COMMON:
            warnings.append(f"{header}: not used for a {READABLE[kind]}; not sent")
            continue
        value, problem = _field(kind, name, text)
        if problem is not None:
            errors.append(f"{header}: {problem}")
        elif name in ("applicationId", "entityId"):
            body.setdefault("platform", {})[name] = value
        else:
            body[name] = value
    if kind == NUMBER and "quantity" not in body and not errors:
        body["quantity"] = 1  # the lookup's default; submit states none, so say it
    lookup = _lookup(kind, body)
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


def _lookup(kind: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The requirements-lookup body, or None when the standard columns are too broken
    to ask."""
    if any(name not in body for name in REQUIRED[kind]):
        return None
    names = {
        ALPHA: ("countryCode", "trafficOrigin", "trafficType"),
        NUMBER: ("countryCode", "numberType", "capabilities", "quantity", "clientType"),
        RCS: ("countryCode", "trafficOrigin", "excludedCarriers"),
    }[kind]
    return {"type": kind, **{n: _json(body[n]) for n in names if n in body}}


def _identity(kind: str, body: Mapping[str, Any]) -> tuple[Any, ...]:
    if kind == NUMBER:
        asked = {k: v for k, v in body.items() if k not in ("additionalContactEmails", "platform")}
        return tuple(sorted(asked.items()))
    return (kind, body.get("countryCode"), str(body.get("senderName", "")).casefold())


def _parse_type(
    cells: Mapping[str, tuple[str, str]], sheet_type: str | None, errors: list[str]
) -> str | None:
    header, text = cells.get("type", ("type", ""))
    if not text and sheet_type is None:
        errors.append(
            f"{header}: missing; give one of {', '.join(TYPES)} (or name the sheet after the type)"
        )
        return None
    wanted = text.upper().replace(" ", "_").replace("-", "_") if text else sheet_type
    if wanted not in TYPES:
        errors.append(f"{header}: {text!r} is not a request type; use one of {', '.join(TYPES)}")
        return None
    return wanted


@functools.lru_cache(maxsize=65536)  # country, types, capabilities recur on every row
def _field(kind: str, name: str, text: str) -> tuple[Any, str | None]:
    """A standard column's value as Infobip wants it (lists as tuples), or the problem."""
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
        number = _integer(text)
        if number is None or not 1 <= number <= 49:
            return None, f"{text!r}: quantity must be a whole number from 1 to 49"
        return number, None
    if name == "excludedCarriers":
        return tuple(v for v in SPLIT.split(text) if v), None
    if name == "additionalContactEmails":
        emails = tuple(v for v in SPLIT_LIST.split(text) if v)
        bad = [e for e in emails if _email_problem(e)]
        if len(emails) > 3:
            return None, f"{len(emails)} addresses; Infobip takes at most 3"
        if bad:
            return None, f"not an email address: {', '.join(bad)}"
        return emails, None
    # applicationId, entityId
    return text, None if len(text) <= 255 else "longer than 255 characters"


def _alpha_sender(text: str) -> str | None:
    if not 3 <= len(text) <= 11:
        return f"{text!r} has {len(text)} characters; an alphanumeric sender has 3 to 11"
    outside = sorted(set(text) - contract.GSM7)
    if outside:
        return f"{text!r}: {' '.join(outside)} cannot be sent in SMS (GSM-7 alphabet only)"
    if not any(c.isalpha() for c in text):
        return f"{text!r} needs at least one letter"
    return None


@dataclass(frozen=True, slots=True)
class Requirement:
    """One requirement spec, prepared once per offer: a run checks thousands of rows
    against the same few specs."""

    key: str
    column: str  # the normalised header its values are read from
    kind: str
    name: str
    required: bool
    many: bool
    options: tuple[str, ...]
    rules: Mapping[str, Any]
    pattern: regex.Pattern[str] | None
    by_name: Mapping[str, str]  # normalised option -> option

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> Requirement:
        key = str(spec.get("key", ""))
        options = tuple(str(option) for option in spec.get("options") or ())
        rules = spec.get("validation") or {}
        pattern = rules.get("pattern")
        return cls(
            key=key,
            column=normalise(key),
            kind=str(spec.get("type", "")),
            name=str(spec.get("name") or key),
            required=bool(spec.get("required")),
            many=bool(spec.get("multipleValuesSupported")),
            options=options,
            rules=rules,
            pattern=contract.java_regex(pattern) if pattern else None,
            by_name={normalise(option): option for option in options},
        )

    def label(self, header: str) -> str:
        return header if self.name == header else f"{header} ({self.name})"

    def hint(self) -> str:
        if len(self.options) == 1:
            return f" (put: {self.options[0]})"
        return f" (one of: {', '.join(self.options)})" if self.options else ""

    def judge(self, cell: str, documents: Resolver) -> tuple[tuple[str, Any] | None, str | None]:
        """A cell's (key, value) as Infobip wants it (None when empty), or the problem."""
        text = cell.strip()
        if not text:
            return None, "required by Infobip" + self.hint() if self.required else None
        if not self.many:
            value, problem = self._value(text, documents)
            return (None, problem) if problem else ((self.key, value), None)
        values = []
        for part in SPLIT.split(text):
            if part:
                value, problem = self._value(part, documents)
                if problem:
                    return None, problem
                values.append(value)
        return (self.key, tuple(values)), None

    def _value(self, text: str, documents: Resolver) -> tuple[Any, str | None]:
        if self.kind == "TEXT":
            return self._text(text)
        if self.kind == "INTEGER":
            return self._integer(text)
        if self.kind == "EMAIL":
            return text, _email_problem(text)
        if self.kind == "URL":
            return text, None if _is_url(text) else f"{text!r} is not a web address (https://...)"
        if self.kind == "GSM":
            return _phone(text)
        if self.kind == "DOCUMENT":
            try:
                return documents(text), None
            except DocumentProblem as exc:
                return None, str(exc)
        return text, None  # a field type this version does not know: sent as typed

    def _text(self, text: str) -> tuple[Any, str | None]:
        if self.options:
            chosen = self._option(text)
            if chosen is None:
                shown = self.options[0] if len(self.options) == 1 else ", ".join(self.options)
                return None, f"{text!r} is not one of: {shown}"
            return chosen, None
        low, high = self.rules.get("minLength"), self.rules.get("maxLength")
        if low is not None and len(text) < low:
            return None, f"{len(text)} characters; at least {low} needed"
        if high is not None and len(text) > high:
            return None, f"{len(text)} characters; at most {high} allowed"
        if self.pattern is not None and not self.pattern.fullmatch(text):
            return None, f"{text!r} does not have the expected format ({self.rules['pattern']})"
        return text, None

    def _option(self, text: str) -> str | None:
        """The option a cell means: exact, or ignoring case and spaces; a lone option is
        a consent box, which yes/x/true/1 tick."""
        if text in self.options:
            return text
        chosen = self.by_name.get(normalise(text))
        if chosen is None and len(self.options) == 1 and text.casefold() in YES:
            return self.options[0]
        return chosen

    def _integer(self, text: str) -> tuple[Any, str | None]:
        number = _integer(text)
        if number is None:
            return None, f"{text!r} is not a whole number"
        if "minValue" in self.rules and number < self.rules["minValue"]:
            return None, f"{number} is below the minimum {self.rules['minValue']}"
        if "maxValue" in self.rules and number > self.rules["maxValue"]:
            return None, f"{number} is above the maximum {self.rules['maxValue']}"
        if self.options and str(number) not in self.options:
            return None, f"{number} is not one of {', '.join(self.options)}"
        return number, None


def prepare(specs: Sequence[Mapping[str, Any]]) -> tuple[Requirement, ...]:
    """The specs a lookup returned, ready to check rows against."""
    return tuple(Requirement.of(spec) for spec in specs)


def check_requirements(
    candidates: Sequence[Candidate], requirements: Sequence[Requirement], *, documents: Resolver
) -> None:
    """Check the requirement columns of rows that share one sheet and one offer, and
    set each row's `filled`.

    Column by column, each distinct cell is judged once: a column repeats the same few
    values down a sheet, and a big sheet is checked in about the time it takes to read.
    Every requirement is checked; a non-empty column that matches none is a warning and
    is not sent. DOCUMENT values become `LocalDocument`s or stay documentIds.
    """
    layout = candidates[0].standard.layout
    rows = [candidate.row.cells for candidate in candidates]
    columns = []
    for requirement in requirements:
        index, header = layout.values.get(requirement.column, (None, requirement.key))
        cells = [""] * len(rows) if index is None else list(map(itemgetter(index), rows))
        verdicts = {cell: requirement.judge(cell, documents) for cell in set(cells)}
        columns.append(list(map(_PAIR, map(verdicts.__getitem__, cells))))
        problems = {cell: problem for cell, (_, problem) in verdicts.items() if problem}
        label = requirement.label(header)
        for candidate, cell in _having(candidates, cells, problems):
            candidate.error(label, problems[cell])
    filled = zip(*columns, strict=True) if columns else [()] * len(candidates)
    for candidate, row_filled in zip(candidates, filled, strict=True):
        candidate.filled = row_filled
    known = {requirement.column for requirement in requirements}
    where = f"{READABLE[candidates[0].type or '']}s in {candidates[0].country}"
    for column, (index, header) in layout.values.items():
        if column not in known:
            cells = list(map(itemgetter(index), rows))
            for candidate, _ in _having(candidates, cells, {c for c in set(cells) if c.strip()}):
                candidate.warn(header, f"not a requirement for {where}; not sent")


_PAIR = itemgetter(0)  # of a verdict: (pair, problem)


def _having(
    candidates: Sequence[Candidate], cells: Sequence[str], wanted: Collection[str]
) -> Iterator[tuple[Candidate, str]]:
    """The rows whose cell is one of `wanted` (usually none: then nothing is walked)."""
    if wanted:
        yield from ((c, cell) for c, cell in zip(candidates, cells, strict=True) if cell in wanted)


@functools.lru_cache(maxsize=16384)  # the same numbers and addresses recur down a sheet
def _phone(text: str) -> tuple[Any, str | None]:
    digits = text.strip()
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif not digits.startswith("+"):
        digits = "+" + digits
    try:
        number = phonenumbers.parse(digits, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        return None, f"{text!r} is not a phone number in international format (like +385911234567)"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


@functools.lru_cache(maxsize=16384)
def _email_problem(text: str) -> str | None:
    try:
        email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        return f"{text!r} is not an email address ({exc})"
    return None


def _is_url(text: str) -> bool:
    parts = URL.fullmatch(text)
    return parts is not None and "." in parts[1]


def _integer(text: str) -> int | None:
    """A whole number as typed: 50000, 50 000, 50,000 or 50000.0 (Excel's float)."""
    if text.isascii() and text.isdigit():
        return int(text)
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "").replace("_", "")
    if THOUSANDS.fullmatch(cleaned):
        cleaned = cleaned.replace(",", "")
    if WHOLE.fullmatch(cleaned):
        return int(cleaned.split(".")[0])
    return None
