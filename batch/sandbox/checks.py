"""How the sandbox judges lookup, submit and PATCH bodies (the spec's schemas, then the
matching catalogue entry's requirement specs, then the request-specific rules) and the
list's query parameters."""

from __future__ import annotations

import urllib.parse
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import jsonschema
import regex

from batch import contract
from batch.sandbox.catalogue import Entry

Violation = dict[str, str]

EMAIL = regex.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
GSM_NUMBER = regex.compile(r"\+?[1-9][0-9]{6,14}")
INTEGER = regex.compile(r"-?[0-9]+")
COUNTRY = regex.compile(r"[A-Z]{2}")
DECIMAL = regex.compile(r"[+-]?[0-9]+")
INT32 = range(-(2**31), 2**31)
REQUEST_SCHEMAS = {
    "ALPHANUMERIC_REGISTRATION": "AlphaResourceOrderRequestApiDoc",
    "NUMBER_PURCHASE": "NumberResourceOrderRequestApiDoc",
    "RCS_SENDER_LAUNCH": "RcsSenderResourceOrderRequestApiDoc",
}
LOOKUP_SCHEMAS = {
    "ALPHANUMERIC_REGISTRATION": "AlphaRequirementSpecsRequestApiDoc",
    "NUMBER_PURCHASE": "NumberRequirementSpecsRequestApiDoc",
    "RCS_SENDER_LAUNCH": "RcsRequirementSpecsRequestApiDoc",
}
SHARED_MAILBOXES = frozenset(
    "info support team contact sales admin hello office noreply no-reply help marketing".split()
)


def schema_violations(short: str, body: Any) -> list[Violation]:
    """Violations of one of the spec's schemas, as Infobip words them (Bean Validation)."""
    found: list[Violation] = []
    for error in contract.validator(short).iter_errors(body):
        path = _path(error.absolute_path)
        if error.validator == "required":
            wanted = error.validator_value if isinstance(error.validator_value, list) else []
            present = error.instance if isinstance(error.instance, dict) else {}
            missing = [name for name in wanted if name not in present]
            found += [_v(_join(path, name), "must not be null") for name in missing]
        else:
            found.append(_v(path, _bean_message(error)))
    return _unique(found)


def body_violations(body: Any, schemas: Mapping[str, str]) -> list[Violation]:
    """Violations of a submit or lookup body: its type first, then that type's schema."""
    if not isinstance(body, dict):
        return [_v("", "must be a JSON object")]
    kind = body.get("type")
    # An object or list here is a wrong type, not a key: `in` on it would raise.
    if not isinstance(kind, str) or kind not in schemas:
        return [_v("type", f"must be one of {sorted(schemas)}")]
    found = schema_violations(schemas[kind], body)
    country = body.get("countryCode")
    if isinstance(country, str) and not COUNTRY.fullmatch(country):
        found.append(_v("countryCode", "must be an ISO 3166-1 alpha-2 country code"))
    sender = body.get("senderName")
    if body["type"] == "ALPHANUMERIC_REGISTRATION" and isinstance(sender, str):
        if not set(sender) <= contract.GSM7 or not any(c.isalpha() for c in sender):
            found.append(_v("senderName", "must use the GSM-7 alphabet and contain a letter"))
    emails = body.get("additionalContactEmails")
    # A wrong type is already a schema violation; the rules below judge only right ones.
    for index, email in enumerate(emails if isinstance(emails, list) else []):
        if isinstance(email, str) and not EMAIL.fullmatch(email):
            found.append(_v(f"additionalContactEmails[{index}]", "must be a valid email address"))
    return _unique(found)


def query_violations(query: Mapping[str, Sequence[str]]) -> list[Violation]:
    """Violations of the list's query parameters, refused as Spring's parameter binding
    (which the spec's springdoc naming shows Infobip runs on) refuses them.

    `page` and `size` must be 32-bit integers and `type` and `status` values must be in
    their enums (each comma-joined part alike, and an empty one is in no enum). A size
    or page out of range is no violation: the spec's schema allows any int32 and
    documents no 400 for the list, so the nearest page size or page is served instead.
    """
    found = [
        _v(name, "must be a 32-bit integer")
        for name in ("page", "size")
        for value in query.get(name, ())
        if not (DECIMAL.fullmatch(value) and int(value) in INT32)
    ]
    enums = {"type": tuple(REQUEST_SCHEMAS), "status": contract.enum("ResourceOrderStatus")}
    found += [
        _v(name, f"must be one of {list(allowed)}")
        for name, allowed in enums.items()
        if not _parts(query.get(name, ())) <= set(allowed)
    ]
    return found


def list_values(values: Iterable[str]) -> set[str]:
    """Repeated keys (`type=A&type=B`) and comma-joined values (`type=A,B`) alike."""
    return _parts(values) - {""}


def _parts(values: Iterable[str]) -> set[str]:
    return {part.strip() for value in values for part in value.split(",")}


def requirement_violations(
    entry: Entry, filled: Iterable[Mapping[str, Any]], documents: Collection[str]
) -> list[Violation]:
    """Violations of the entry's requirement specs by a full set of filled requirements.

    Args:
        entry: the catalogue entry the request matched.
        filled: the body's `requirements` (already schema-checked: each has key and value).
        documents: the documentIds that exist (uploaded or Infobip-supplied).
    """
    keys = [item["key"] for item in filled]
    values = {item["key"]: item["value"] for item in filled}
    specs = {spec["key"]: spec for spec in entry.requirements}
    found = [_v(f"requirements.{key}", "is given more than once") for key in _repeated(keys)]
    found += [
        _v(f"requirements.{key}", "is not a requirement of this request")
        for key in values
        if key not in specs
    ]
    for key, spec in specs.items():
        value = values.get(key)
        if _is_empty(value):
            if spec["required"]:
                found.append(_v(f"requirements.{key}", "must not be null or empty"))
            continue
        if isinstance(value, list) and not spec.get("multipleValuesSupported", False):
            if len(value) > 1:
                found.append(_v(f"requirements.{key}", "takes a single value"))
                continue
        items = value if isinstance(value, list) else [value]
        for item in items:
            problem = _value_problem(spec, item, entry.patterns.get(key), documents)
            if problem:
                found.append(_v(f"requirements.{key}", problem))
                break
    return found


def _value_problem(
    spec: Mapping[str, Any],
    value: Any,
    pattern: regex.Pattern[str] | None,
    documents: Collection[str],
) -> str | None:
    kind = spec["type"]
    rules = spec.get("validation", {})
    if kind == "INTEGER":
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, str) and INTEGER.fullmatch(value))
        ):
            return "must be a whole number"
        number = int(value)
        if "minValue" in rules and number < rules["minValue"]:
            return f"must be greater than or equal to {rules['minValue']}"
        if "maxValue" in rules and number > rules["maxValue"]:
            return f"must be less than or equal to {rules['maxValue']}"
        if spec.get("options") and str(number) not in spec["options"]:
            return f"must be one of {spec['options']}"
        return None
    if not isinstance(value, str):
        return "must be a string"
    if kind == "TEXT":
        return _text_problem(spec, value, pattern)
    if kind == "EMAIL" and not EMAIL.fullmatch(value):
        return "must be a valid email address"
    if kind == "URL" and not _is_url(value):
        return "must be a valid URL"
    if kind == "GSM" and not GSM_NUMBER.fullmatch(value.replace(" ", "")):
        return "must be a phone number in international format"
    if kind == "DOCUMENT" and value not in documents:
        return "must be the documentId of an uploaded document"
    return None


def _text_problem(
    spec: Mapping[str, Any], value: str, pattern: regex.Pattern[str] | None
) -> str | None:
    rules = spec.get("validation", {})
    low, high = rules.get("minLength", 0), rules.get("maxLength")
    if len(value) < low or (high is not None and len(value) > high):
        return f"size must be between {low} and {high if high is not None else 'any'}"
    if pattern is not None and not pattern.fullmatch(value):
        return f'must match "{pattern.pattern}"'
    if spec.get("options") and value not in spec["options"]:
        return f"must be one of {spec['options']}"
    return None


def rcs_rule(entry: Entry, body: Mapping[str, Any]) -> str | None:
    """The RCS-specific error code a launch body earns from its catalogue entry, if any."""
    carriers = entry.raw.get("carriers")
    if carriers is not None and not set(body.get("excludedCarriers") or []) <= set(carriers):
        return "RR-RCS-SENDER-INVALID-CARRIERS400"
    values = {item["key"]: item["value"] for item in body.get("requirements") or []}
    brand = values.get(entry.raw.get("brandContactEmail", ""))
    brand_list = brand if isinstance(brand, list) else [brand]
    if any(isinstance(e, str) and e.split("@")[0].lower() in SHARED_MAILBOXES for e in brand_list):
        return "RR-RCS-SENDER-INVALID-BRAND-CONTACT-EMAIL400"
    phones = entry.raw.get("distinctPhones")
    if (
        phones
        and values.get(phones[0]) is not None
        and values.get(phones[0]) == values.get(phones[1])
    ):
        return "RR-RCS-SENDER-PHONE-NUMBER-CONFLICT400"
    return None


def us_numbering_rule(entry: Entry, body: Mapping[str, Any]) -> str | None:
    """The npa/nxx/state error code a 10DLC purchase earns from its catalogue entry."""
    npa_by_state, nxx_by_npa = entry.raw.get("npaByState"), entry.raw.get("nxxByNpa")
    if npa_by_state is None and nxx_by_npa is None:
        return None
    values = {item["key"]: item["value"] for item in body.get("requirements") or []}
    state, npa, nxx = (values.get(k) for k in ("state", "npa", "nxx"))
    if nxx and not (npa and state):
        return "RR-NUMBER-PURCHASE-NXX-REQUIRES-NPA-STATE400"
    if npa and state and npa_by_state is not None and npa not in npa_by_state.get(state, []):
        return "RR-NUMBER-PURCHASE-INVALID-STATE-NPA-COMBO400"
    if npa and nxx and nxx_by_npa is not None and nxx not in nxx_by_npa.get(npa, []):
        return "RR-NUMBER-PURCHASE-INVALID-NPA-NXX-COMBO400"
    return None


def _repeated(keys: list[str]) -> list[str]:
    return [key for key in dict.fromkeys(keys) if keys.count(key) > 1]


def _is_url(value: str) -> bool:
    parts = urllib.parse.urlsplit(value)
    return parts.scheme in ("http", "https") and "." in parts.netloc and " " not in value


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _bean_message(error: jsonschema.ValidationError) -> str:
    rule, limit = error.validator, error.validator_value
    schema = error.schema if isinstance(error.schema, dict) else {}
    if rule in ("minLength", "maxLength"):
        return f"size must be between {schema.get('minLength', 0)} and {schema.get('maxLength')}"
    if rule in ("minItems", "maxItems"):
        return f"size must be between {schema.get('minItems', 0)} and {schema.get('maxItems')}"
    if rule == "minimum":
        return f"must be greater than or equal to {limit}"
    if rule == "maximum":
        return f"must be less than or equal to {limit}"
    if rule == "enum":
        return f"must be one of {limit}"
    if rule == "type":
        return f"must be of type {limit}"
    return str(error.message)


def _path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text = f"{text}[{part}]" if isinstance(part, int) else _join(text, str(part))
    return text


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _v(prop: str, violation: str) -> Violation:
    return {"property": prop, "violation": violation}


def _unique(found: list[Violation]) -> list[Violation]:
    return [dict(t) for t in dict.fromkeys(tuple(v.items()) for v in found)]
