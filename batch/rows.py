"""From a spreadsheet row to an Infobip request body, every problem named by its column.

A row is checked in two passes: `parse` reads the standard columns (type, country,
sender, ...) and says which requirements lookup the row needs; `check_requirements`
then checks the other columns against the specs that lookup returned. Problems are
collected, never raised: a row reports all of its problems at once.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import email_validator
import phonenumbers
import pycountry
import regex

from batch import contract
from batch.documents import DocumentProblem, LocalDocument, Resolver
from batch.sheets import RESULT_COLUMNS, Row, normalise

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
_IGNORED = frozenset(normalise(name) for name in RESULT_COLUMNS)
_STANDARD = {normalise(name): name for name in STANDARD}


@dataclass(slots=True)
class Candidate:
    """A row on its way to becoming a request body."""

    row: Row
    type: str | None = None
    body: dict[str, Any] = field(default_factory=dict)
    reference: str | None = None
    # Requirement columns: normalised header -> (header as written, text).
    values: dict[str, tuple[str, str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    documents: dict[str, list[LocalDocument]] = field(default_factory=dict)

    def error(self, column: str, message: str) -> None:
        self.errors.append(f"{column}: {message}")

    def warn(self, column: str, message: str) -> None:
        self.warnings.append(f"{column}: {message}")

    @property
    def lookup(self) -> dict[str, Any] | None:
        """The requirements-lookup body for this row, or None when its standard columns
        are too broken to ask."""
        if self.type is None or any(name not in self.body for name in REQUIRED[self.type]):
            return None
        names = {
            ALPHA: ("countryCode", "trafficOrigin", "trafficType"),
            NUMBER: ("countryCode", "numberType", "capabilities", "quantity", "clientType"),
            RCS: ("countryCode", "trafficOrigin", "excludedCarriers"),
        }[self.type]
        return {"type": self.type, **{n: self.body[n] for n in names if n in self.body}}

    def identity(self) -> str:
        """What the row asks for: two rows with one identity ask for the same thing."""
        body = self.body
        if self.type == NUMBER:
            asked = {
                k: v for k, v in body.items() if k not in ("additionalContactEmails", "platform")
            }
            return json.dumps({"type": self.type, **asked}, sort_keys=True, default=str)
        sender = str(body.get("senderName", "")).casefold()
        return json.dumps([self.type, body.get("countryCode"), sender])


@dataclass(frozen=True, slots=True)
class Column:
    """What a sheet's column holds: a standard field (`standard`), a requirement value
    (`key`, its normalised header), or neither (a result column the tool wrote)."""

    header: str
    standard: str | None
    key: str | None


def columns(headers: Sequence[str]) -> tuple[Column, ...]:
    """The roles of a sheet's columns, worked out once per sheet."""
    found = []
    for header in headers:
        name = normalise(header)
        standard = _STANDARD.get(name)
        key = None if standard is not None or name in _IGNORED else name
        found.append(Column(header, standard, key))
    return tuple(found)


def parse(row: Row, roles: Sequence[Column], *, sheet_type: str | None) -> Candidate:
    """Read a row's standard columns; the rest become requirement values."""
    candidate = Candidate(row)
    standard: dict[str, tuple[str, str]] = {}
    for column, text in zip(roles, row.cells, strict=True):
        if column.standard is not None:
            standard[column.standard] = (column.header, text.strip())
        elif column.key is not None and text.strip():
            candidate.values[column.key] = (column.header, text)
    _parse_type(candidate, standard, sheet_type)
    if candidate.type is None:
        return candidate
    for name in REQUIRED[candidate.type]:
        if not standard.get(name, ("", ""))[1]:
            candidate.error(
                standard.get(name, (name, ""))[0], f"required for a {READABLE[candidate.type]}"
            )
    for name, (header, text) in standard.items():
        if not text or name in ("type", "reference"):
            continue
        if name not in USED[candidate.type] | COMMON:
            candidate.warn(header, f"not used for a {READABLE[candidate.type]}; not sent")
            continue
        _parse_field(candidate, name, header, text)
    if "reference" in standard and standard["reference"][1]:
        candidate.reference = standard["reference"][1]
    if candidate.type == NUMBER and "quantity" not in candidate.body and not candidate.errors:
        candidate.body["quantity"] = 1  # the lookup's default; submit states none, so say it
    return candidate


def _parse_type(
    candidate: Candidate, standard: Mapping[str, tuple[str, str]], sheet_type: str | None
) -> None:
    header, text = standard.get("type", ("type", ""))
    if not text and sheet_type is None:
        candidate.error(
            header, f"missing; give one of {', '.join(TYPES)} (or name the sheet after the type)"
        )
        return
    wanted = text.upper().replace(" ", "_").replace("-", "_") if text else sheet_type
    if wanted not in TYPES:
        candidate.error(header, f"{text!r} is not a request type; use one of {', '.join(TYPES)}")
        return
    candidate.type = wanted
    candidate.body["type"] = wanted


def _parse_field(candidate: Candidate, name: str, header: str, text: str) -> None:
    """Check one standard column and put its typed value in the body."""
    assert candidate.type is not None
    value, problem = _field(candidate.type, name, text)
    if problem is not None:
        candidate.error(header, problem)
    elif name in ("applicationId", "entityId"):
        candidate.body.setdefault("platform", {})[name] = value
    else:
        candidate.body[name] = list(value) if isinstance(value, tuple) else value


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
    seen: dict[str, tuple[Any, str | None]] = field(default_factory=dict, compare=False)

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

    def value(self, text: str, documents: Resolver) -> tuple[Any, str | None]:
        """The value as Infobip wants it, or the problem with the text; each distinct
        text is judged once (up to a bound), since most columns repeat down a sheet."""
        found = self.seen.get(text)
        if found is None:
            found = self._value(text, documents)
            if len(self.seen) < 50_000:
                self.seen[text] = found
        return found

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
    candidate: Candidate, requirements: Sequence[Requirement], *, documents: Resolver
) -> None:
    """Check the row's requirement columns and fill body["requirements"].

    Every requirement is checked; a non-empty column that matches none is a warning
    and is not sent. DOCUMENT values are resolved to files (`candidate.documents`) or
    kept as documentIds; files go in the body as `LocalDocument`s, replaced by their
    documentId once uploaded.
    """
    assert candidate.type is not None
    filled: list[dict[str, Any]] = []
    for requirement in requirements:
        header, text = candidate.values.get(requirement.column, (requirement.key, ""))
        value = _requirement(candidate, requirement, header, text.strip(), documents)
        if value is not None:
            filled.append({"key": requirement.key, "value": value})
    known = {requirement.column for requirement in requirements}
    for column, (header, _) in candidate.values.items():
        if column not in known:
            where = f"{READABLE[candidate.type]}s in {candidate.body.get('countryCode', '?')}"
            candidate.warn(header, f"not a requirement for {where}; not sent")
    candidate.body["requirements"] = filled


def _requirement(
    candidate: Candidate, requirement: Requirement, header: str, text: str, documents: Resolver
) -> Any:
    """One requirement's value as Infobip wants it, or None (with the problem recorded)."""
    if not text:
        if requirement.required:
            candidate.error(requirement.label(header), "required by Infobip" + requirement.hint())
        return None
    parts = [p for p in SPLIT.split(text) if p] if requirement.many else [text]
    values = []
    for part in parts:
        value, problem = requirement.value(part, documents)
        if problem:
            candidate.error(requirement.label(header), problem)
            return None
        if isinstance(value, LocalDocument):
            candidate.documents.setdefault(requirement.key, []).append(value)
        values.append(value)
    return values if requirement.many else values[0]


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
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "").replace("_", "")
    if THOUSANDS.fullmatch(cleaned):
        cleaned = cleaned.replace(",", "")
    if WHOLE.fullmatch(cleaned):
        return int(cleaned.split(".")[0])
    return None
