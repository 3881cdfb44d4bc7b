"""The sandbox's catalogue: which requirements each offer has, or why it is unavailable.

A catalogue is a JSON file `{"attachments": {...}, "entries": [...]}`. Each entry names
`type`, `countryCode` and optionally `numberType`, `capabilities`, `clientType`,
`trafficOrigin`, `trafficType`, then either `requirements` (requirement specs exactly
as requirements-lookup returns them) or `unavailable` (the error code to answer).
The first entry that matches a lookup wins. An optional top-level `rcsSenders` lists the
RCS senders that exist (launching any other is RR-RCS-SENDER404). `docs/sandbox.md`
describes the format.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import regex

from batch import contract

REQUEST_TYPES = ("ALPHANUMERIC_REGISTRATION", "NUMBER_PURCHASE", "RCS_SENDER_LAUNCH")

# The code answered when no entry matches, per request type. RCS has no 404 of its own:
# the spec's "not offered here" answer for RCS is the country-unsupported 400.
UNAVAILABLE = {
    "ALPHANUMERIC_REGISTRATION": "RR-ALPHA-UNAVAILABLE404",
    "NUMBER_PURCHASE": "RR-NUMBER-PURCHASE-UNAVAILABLE404",
    "RCS_SENDER_LAUNCH": "RR-RCS-SENDER-COUNTRY-UNSUPPORTED400",
}

_STRINGS = {"type": "array", "items": {"type": "string"}}
_REQUIREMENT = {
    "type": "object",
    "required": ["key", "type", "name", "required"],
    "properties": {
        "key": {"type": "string", "minLength": 1},
        "type": {"enum": list(contract.enum("FieldType"))},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "required": {"type": "boolean"},
        "multipleValuesSupported": {"type": "boolean"},
        "category": {"enum": list(contract.enum("Category"))},
        "options": _STRINGS,
        "validation": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "minLength": {"type": "integer", "minimum": 0},
                "maxLength": {"type": "integer", "minimum": 0},
                "pattern": {"type": "string"},
                "minValue": {"type": "integer"},
                "maxValue": {"type": "integer"},
            },
        },
        "attachment": {
            "type": "object",
            "required": ["documentId", "documentType"],
            "properties": {
                "documentId": {"type": "string"},
                "documentType": {"enum": list(contract.enum("DocumentType"))},
            },
        },
    },
}
_ENTRY = {
    "type": "object",
    "required": ["type", "countryCode"],
    "additionalProperties": False,
    "properties": {
        "type": {"enum": list(REQUEST_TYPES)},
        "countryCode": {"type": "string", "pattern": "^[A-Z]{2}$"},
        "numberType": {"enum": list(contract.enum("ResourceNumberType"))},
        "capabilities": {
            "type": "array",
            "items": {"enum": list(contract.enum("ResourceNumberCapability"))},
        },
        "clientType": {"enum": list(contract.enum("NumberOfferClientType"))},
        "trafficOrigin": {"enum": list(contract.enum("TrafficOrigin"))},
        "trafficType": {"enum": list(contract.enum("TrafficType"))},
        "requirements": {"type": "array", "items": _REQUIREMENT},
        "unavailable": {"type": "string", "pattern": "^[A-Z0-9-]+(400|404)$"},
        "carriers": _STRINGS,
        "brandContactEmail": {"type": "string"},
        "distinctPhones": {**_STRINGS, "minItems": 2, "maxItems": 2},
        "npaByState": {"type": "object", "additionalProperties": _STRINGS},
        "nxxByNpa": {"type": "object", "additionalProperties": _STRINGS},
    },
}
SCHEMA = {
    "type": "object",
    "required": ["entries"],
    "properties": {
        "entries": {"type": "array", "items": _ENTRY},
        "rcsSenders": _STRINGS,
        "attachments": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["file", "contentType"],
                "properties": {"file": {"type": "string"}, "contentType": {"type": "string"}},
            },
        },
    },
}
# The lookup fields an entry may pin; a lookup matches when it agrees on each pinned one.
_PINNED = ("numberType", "clientType", "trafficOrigin", "trafficType")


class CatalogueError(Exception):
    """A catalogue file that cannot be used; the message names the entry and field."""


@dataclass(frozen=True, slots=True)
class Attachment:
    document_id: str
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Entry:
    raw: Mapping[str, Any]
    patterns: Mapping[str, regex.Pattern[str]] = field(default_factory=dict)

    @property
    def unavailable(self) -> str | None:
        return self.raw.get("unavailable")

    @property
    def requirements(self) -> list[dict[str, Any]]:
        return list(self.raw.get("requirements", []))

    def matches(self, lookup: Mapping[str, Any]) -> bool:
        """Whether a lookup (or the lookup part of a submit body) is this entry's offer."""
        raw = self.raw
        if lookup.get("type") != raw["type"] or lookup.get("countryCode") != raw["countryCode"]:
            return False
        for name in _PINNED:
            # An absent clientType means INTERNATIONAL (the spec): a LOCAL offer is not it.
            default = "INTERNATIONAL" if name == "clientType" else raw.get(name)
            if name in raw and lookup.get(name, default) != raw[name]:
                return False
        asked = lookup.get("capabilities") or []
        return "capabilities" not in raw or set(asked) <= set(raw["capabilities"])


@dataclass(frozen=True, slots=True)
class Catalogue:
    entries: tuple[Entry, ...]
    attachments: Mapping[str, Attachment]
    # The RCS senders that exist on the account; None means any name exists.
    rcs_senders: frozenset[str] | None = None

    def find(self, lookup: Mapping[str, Any]) -> Entry | None:
        return next((entry for entry in self.entries if entry.matches(lookup)), None)

    def offer(self, lookup: Mapping[str, Any]) -> Entry | str:
        """The entry that offers what a lookup or submit asks for, or the error code
        saying it is not offered."""
        entry = self.find(lookup)
        if entry is None:
            return UNAVAILABLE[lookup["type"]]
        return entry.unavailable or entry


def load(path: Path | None = None) -> Catalogue:
    """Load a catalogue file, or the built-in one when `path` is None.

    Raises:
        CatalogueError: the file is unreadable or an entry is malformed.
    """
    if path is None:
        base = resources.files("batch.sandbox").joinpath("data")
        name = "built-in catalogue"
        text = base.joinpath("catalogue.json").read_text(encoding="utf-8")
        return parse(json.loads(text), name=name, read=lambda f: base.joinpath(f).read_bytes())
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{path}: cannot read the catalogue: {exc}"
        raise CatalogueError(msg) from None
    except json.JSONDecodeError as exc:
        msg = f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        raise CatalogueError(msg) from None
    return parse(data, name=str(path), read=lambda f: _read_beside(path, f))


def _read_beside(catalogue: Path, relative: str) -> bytes:
    return (catalogue.parent / relative).read_bytes()


def parse(data: Any, *, name: str, read: Any) -> Catalogue:
    """Check a loaded catalogue document and build the Catalogue; `read(file)` reads an
    attachment file named relative to the catalogue."""
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(SCHEMA).iter_errors(data)
    )
    if error is not None:
        raise CatalogueError(f"{name}: {_where(data, error.absolute_path)}: {error.message}")
    attachments = _attachments(data.get("attachments", {}), name=name, read=read)
    entries = []
    for index, raw in enumerate(data["entries"]):
        where = f"{name}: {_where(data, ['entries', index])}"
        entries.append(Entry(raw, _check_requirements(raw, attachments, where=where)))
    senders = data.get("rcsSenders")
    return Catalogue(tuple(entries), attachments, None if senders is None else frozenset(senders))


def _where(data: Any, path: Any) -> str:
    """`entries[3] (NUMBER_PURCHASE US).requirements[2].key`, from a JSON path."""
    parts = list(path)
    text = ""
    node = data
    for i, part in enumerate(parts):
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
        node = node[part] if isinstance(node, (dict, list)) else None
        if i == 1 and parts[0] == "entries" and isinstance(node, dict):
            text += f" ({node.get('type', '?')} {node.get('countryCode', '?')})"
    return text or "top level"


def _attachments(raw: Mapping[str, Any], *, name: str, read: Any) -> dict[str, Attachment]:
    found = {}
    for document_id, spec in raw.items():
        try:
            content = read(spec["file"])
        except OSError as exc:
            msg = f"{name}: attachments.{document_id}.file: cannot read {spec['file']!r}: {exc}"
            raise CatalogueError(msg) from None
        filename = Path(spec["file"]).name
        found[document_id] = Attachment(document_id, filename, spec["contentType"], content)
    return found


def _check_requirements(
    raw: Mapping[str, Any], attachments: Mapping[str, Attachment], *, where: str
) -> dict[str, regex.Pattern[str]]:
    if ("requirements" in raw) == ("unavailable" in raw):
        given = "both" if "unavailable" in raw else "neither"
        msg = f'{where}: give "requirements" or "unavailable" (an error code); {given} given'
        raise CatalogueError(msg)
    patterns = {}
    keys: set[str] = set()
    for index, spec in enumerate(raw.get("requirements", [])):
        here = f"{where}.requirements[{index}]"
        if spec["key"] in keys:
            raise CatalogueError(f"{here}.key: {spec['key']!r} appears twice in this entry")
        keys.add(spec["key"])
        pattern = spec.get("validation", {}).get("pattern")
        if pattern is not None:
            try:
                patterns[spec["key"]] = contract.java_regex(pattern)
            except regex.error as exc:
                msg = f"{here}.validation.pattern: {pattern!r} is not a valid pattern: {exc}"
                raise CatalogueError(msg) from None
        attachment = spec.get("attachment")
        if attachment and attachment["documentId"] not in attachments:
            msg = (
                f"{here}.attachment.documentId: {attachment['documentId'][:16]}... has no file;"
                ' add it under "attachments"'
            )
            raise CatalogueError(msg)
    named = [raw["brandContactEmail"]] if "brandContactEmail" in raw else []
    for key in [*named, *raw.get("distinctPhones", [])]:
        if key not in keys:
            raise CatalogueError(f"{where}: {key!r} is not a requirement key of this entry")
    return patterns
