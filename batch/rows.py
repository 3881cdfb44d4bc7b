"""From a spreadsheet row to an Infobip request body, every problem named by its column.

A row is checked in two passes: `parse` reads the standard columns (type, country,
sender, ...) and says which requirements lookup the row needs; `check_requirements`
then checks the other columns against the specs that lookup returned. Problems are
collected, never raised: a row reports all of its problems at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import email_validator
import phonenumbers
import pycountry
import regex

from batch import contract
from batch.documents import DocumentProblem, LocalDocument, resolve
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
GSM7 = frozenset(
    "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
YES = frozenset(
    {"yes", "y", "x", "true", "1", "✓", "✔", "agree", "i agree", "ja", "da", "oui", "si"}
)
SPLIT = regex.compile(r"\s*(?:;|\r?\n)\s*")
SPLIT_LIST = regex.compile(r"\s*(?:[;,]|\r?\n)\s*")
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


def parse(row: Row, headers: Sequence[str], *, sheet_type: str | None) -> Candidate:
    """Read a row's standard columns; the rest become requirement values."""
    candidate = Candidate(row)
    standard: dict[str, tuple[str, str]] = {}
    for header, text in zip(headers, row.cells, strict=True):
        name = _STANDARD.get(normalise(header))
        if name is not None:
            standard[name] = (header, text.strip())
        elif normalise(header) not in _IGNORED and text.strip():
            candidate.values[normalise(header)] = (header, text)
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
    kind, body = candidate.type, candidate.body
    if name == "countryCode":
        code = text.upper()
        if pycountry.countries.get(alpha_2=code) is None:
            candidate.error(
                header, f"{text!r} is not an ISO 3166 two-letter country code (like HR, DE, US)"
            )
        else:
            body["countryCode"] = code
    elif name == "senderName":
        problem = (
            _alpha_sender(text)
            if kind == ALPHA
            else None
            if len(text) <= 255
            else "longer than 255"
        )
        if problem:
            candidate.error(header, problem)
        else:
            body["senderName"] = text
    elif name == "capabilities":
        values = [v.upper() for v in SPLIT_LIST.split(text) if v]
        bad = [v for v in values if v not in ENUMS[name]]
        if bad:
            candidate.error(header, f"{', '.join(bad)}: capabilities are {', '.join(ENUMS[name])}")
        else:
            body["capabilities"] = sorted(set(values), key=ENUMS[name].index)
    elif name in ENUMS:
        value = text.upper().replace(" ", "_").replace("-", "_")
        if value not in ENUMS[name]:
            candidate.error(header, f"{text!r} is not one of {', '.join(ENUMS[name])}")
        else:
            body[name] = value
    elif name == "quantity":
        number = _integer(text)
        if number is None or not 1 <= number <= 49:
            candidate.error(header, f"{text!r}: quantity must be a whole number from 1 to 49")
        else:
            body["quantity"] = number
    elif name == "excludedCarriers":
        body["excludedCarriers"] = [v for v in SPLIT.split(text) if v]
    elif name == "additionalContactEmails":
        emails = [v for v in SPLIT_LIST.split(text) if v]
        bad = [e for e in emails if _email_problem(e)]
        if len(emails) > 3:
            candidate.error(header, f"{len(emails)} addresses; Infobip takes at most 3")
        elif bad:
            candidate.error(header, f"not an email address: {', '.join(bad)}")
        else:
            body["additionalContactEmails"] = emails
    elif name in ("applicationId", "entityId"):
        if len(text) > 255:
            candidate.error(header, "longer than 255 characters")
        else:
            body.setdefault("platform", {})[name] = text


def _alpha_sender(text: str) -> str | None:
    if not 3 <= len(text) <= 11:
        return f"{text!r} has {len(text)} characters; an alphanumeric sender has 3 to 11"
    outside = sorted(set(text) - GSM7)
    if outside:
        return f"{text!r}: {' '.join(outside)} cannot be sent in SMS (GSM-7 alphabet only)"
    if not any(c.isalpha() for c in text):
        return f"{text!r} needs at least one letter"
    return None


def check_requirements(
    candidate: Candidate, specs: Sequence[Mapping[str, Any]], *, base: Path, max_document_bytes: int
) -> None:
    """Check the row's requirement columns against the specs, and fill body["requirements"].

    Every spec is checked; a non-empty column that matches no spec is a warning and is
    not sent. DOCUMENT values are resolved to files (`candidate.documents`) or kept as
    documentIds; files are put in the body as `LocalDocument`s, replaced by their
    documentId once uploaded.
    """
    assert candidate.type is not None
    filled: list[dict[str, Any]] = []
    keys = {normalise(str(spec.get("key", ""))) for spec in specs}
    for spec in specs:
        key = str(spec.get("key", ""))
        header, text = candidate.values.get(normalise(key), (key, ""))
        value = _requirement(candidate, spec, header, text.strip(), base, max_document_bytes)
        if value is not None:
            filled.append({"key": key, "value": value})
    where = f"{READABLE[candidate.type]}s in {candidate.body.get('countryCode', '?')}"
    for name, (header, _) in candidate.values.items():
        if name not in keys:
            candidate.warn(header, f"not a requirement for {where}; not sent")
    candidate.body["requirements"] = filled


def _requirement(
    candidate: Candidate,
    spec: Mapping[str, Any],
    header: str,
    text: str,
    base: Path,
    max_bytes: int,
) -> Any:
    """One requirement's value as Infobip wants it, or None (with the problem recorded)."""
    label = f"{header}" if spec.get("name") in (None, header) else f"{header} ({spec['name']})"
    if not text:
        if spec.get("required"):
            candidate.error(label, "required by Infobip" + _hint(spec))
        return None
    many = bool(spec.get("multipleValuesSupported"))
    parts = [p for p in SPLIT.split(text) if p] if many else [text]
    values = []
    for part in parts:
        value, problem = _value(spec, part, base, max_bytes)
        if problem:
            candidate.error(label, problem)
            return None
        if isinstance(value, LocalDocument):
            candidate.documents.setdefault(str(spec["key"]), []).append(value)
        values.append(value)
    return values if many else values[0]


def _value(
    spec: Mapping[str, Any], text: str, base: Path, max_bytes: int
) -> tuple[Any, str | None]:
    kind = spec.get("type")
    rules = spec.get("validation") or {}
    if kind == "INTEGER":
        number = _integer(text)
        if number is None:
            return None, f"{text!r} is not a whole number"
        if "minValue" in rules and number < rules["minValue"]:
            return None, f"{number} is below the minimum {rules['minValue']}"
        if "maxValue" in rules and number > rules["maxValue"]:
            return None, f"{number} is above the maximum {rules['maxValue']}"
        options = spec.get("options") or []
        if options and str(number) not in options:
            return None, f"{number} is not one of {', '.join(options)}"
        return number, None
    if kind == "TEXT":
        return _text(spec, text)
    if kind == "EMAIL":
        return text, _email_problem(text)
    if kind == "URL":
        return text, None if _is_url(text) else f"{text!r} is not a web address (https://...)"
    if kind == "GSM":
        return _phone(text)
    if kind == "DOCUMENT":
        try:
            return resolve(text, base, max_bytes=max_bytes), None
        except DocumentProblem as exc:
            return None, str(exc)
    return text, None  # a field type this version does not know: sent as typed


def _text(spec: Mapping[str, Any], text: str) -> tuple[Any, str | None]:
    rules = spec.get("validation") or {}
    options = list(spec.get("options") or [])
    if options:
        chosen = _option(text, options)
        if chosen is None:
            shown = options[0] if len(options) == 1 else ", ".join(options)
            return None, f"{text!r} is not one of: {shown}"
        return chosen, None
    low, high = rules.get("minLength"), rules.get("maxLength")
    if low is not None and len(text) < low:
        return None, f"{len(text)} characters; at least {low} needed"
    if high is not None and len(text) > high:
        return None, f"{len(text)} characters; at most {high} allowed"
    pattern = rules.get("pattern")
    if pattern and not contract.java_regex(pattern).fullmatch(text):
        return None, f"{text!r} does not have the expected format ({pattern})"
    return text, None


def _option(text: str, options: list[str]) -> str | None:
    """The option a cell means: exact, or ignoring case and spaces; a lone option is a
    consent box, which yes/x/true/1 tick."""
    for option in options:
        if normalise(option) == normalise(text):
            return option
    if len(options) == 1 and text.strip().casefold() in YES:
        return options[0]
    return None


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


def _email_problem(text: str) -> str | None:
    try:
        email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        return f"{text!r} is not an email address ({exc})"
    return None


def _is_url(text: str) -> bool:
    parts = regex.match(r"(?i)^https?://([^/\s?#]+)[^\s]*$", text)
    return parts is not None and "." in parts[1]


def _integer(text: str) -> int | None:
    """A whole number as typed: 50000, 50 000, 50,000 or 50000.0 (Excel's float)."""
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "").replace("_", "")
    if regex.fullmatch(r"[+-]?\d{1,3}(,\d{3})+", cleaned):
        cleaned = cleaned.replace(",", "")
    if regex.fullmatch(r"[+-]?\d+(\.0+)?", cleaned):
        return int(cleaned.split(".")[0])
    return None


def _hint(spec: Mapping[str, Any]) -> str:
    options = spec.get("options") or []
    if len(options) == 1:
        return f" (put: {options[0]})"
    if options:
        return f" (one of: {', '.join(options)})"
    return ""
