"""Infobip's published Resources API spec, shipped in `batch/data/`, and what the
sandbox and the client take from it.

The spec is the source of the sandbox's rate limits (`x-throttling-info`), its error
texts (the spec's own ApiError examples) and the JSON schemas that submit and PATCH
bodies are checked against, so the sandbox cannot drift from the contract by hand.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import regex

if TYPE_CHECKING:
    import jsonschema

SPEC_URI = "urn:infobip:resources"
# Infobip's spec as published, and as normalized (../shared/infobip/normalize.py) so that
# OpenAPI validators can use it: explicit discriminator mappings, JsonNode as any value.
# Both ship in the package, so the contract tests need nothing beside a clone.
PUBLISHED = "data/resources-openapi.published.json"
NORMALIZED = "data/resources-openapi.normalized.json"

# The operations the sandbox serves; the rest of the spec (coverage, search, inbound
# configurations) is outside the resource-request flow.
SERVED = (
    "resources-requirements-lookup",
    "submit-resource-request",
    "get-resource-requests",
    "get-resource-request",
    "update-resource-request",
    "cancel-resource-request",
    "upload-document",
    "download-document",
    "delete-document",
)


# The extensions the spec's upload operation lists, with the MIME type each goes as.
DOCUMENT_TYPES = {
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".pdf": "application/pdf",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".mp4": "video/mp4",
    ".avi": "video/x-msvideo",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
}


# The GSM 03.38 default alphabet, without its control characters (LF, CR, ESC): what an
# alphanumeric sender name may use.
GSM7 = frozenset(
    "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


@dataclass(frozen=True, slots=True)
class Operation:
    operation_id: str
    method: str
    path: str
    per_second: int


@functools.cache
def spec() -> dict[str, Any]:
    """The normalized Resources API spec, as shipped with the package."""
    text = resources.files("batch").joinpath(NORMALIZED).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@functools.cache
def operations() -> dict[str, Operation]:
    """The served operations by operationId, with their published per-second limit."""
    found = {}
    for path, methods in spec()["paths"].items():
        for method, op in methods.items():
            if not isinstance(op, dict) or op.get("operationId") not in SERVED:
                continue
            (limit,) = [t for t in op["x-throttling-info"] if t["type"] == "time"]
            # numberOfTimeUnits is 0 throughout the spec; Infobip's docs render it as
            # "N requests / second", so the window is one time unit.
            if limit["timeUnit"] != "s":
                msg = f"{op['operationId']}: unexpected time unit {limit['timeUnit']!r}"
                raise ValueError(msg)
            found[op["operationId"]] = Operation(
                op["operationId"], method.upper(), path, int(limit["numberOfRequests"])
            )
    return found


@functools.cache
def error_examples() -> dict[str, dict[str, Any]]:
    """Every ApiError example in the spec, by errorCode (the first one seen wins)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            code = node.get("errorCode")
            if isinstance(code, str) and "description" in node and "action" in node:
                found.setdefault(code, node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec()["paths"])
    walk(spec()["components"])
    return found


def schema_name(short: str) -> str:
    """The spec's full (hash-prefixed) schema name for a short name like `PageInfo`."""
    names = [n for n in spec()["components"]["schemas"] if n.split(".")[-1] == short]
    if len(names) != 1:
        msg = f"schema {short!r} matches {names}"
        raise KeyError(msg)
    return str(names[0])


@functools.cache
def validator(short: str, within: str = "") -> jsonschema.protocols.Validator:
    """A JSON-schema validator for one of the spec's component schemas, or for the part
    of it `within` points at (`/properties/results/items`: one item of a page).

    jsonschema is loaded when first needed (a lookup's answer, the sandbox): a run whose
    requirements are all cached starts without it."""
    import jsonschema
    import referencing
    import referencing.jsonschema

    resource = referencing.Resource.from_contents(
        spec(), default_specification=referencing.jsonschema.DRAFT202012
    )
    registry: referencing.Registry[Any] = referencing.Registry().with_resource(SPEC_URI, resource)
    ref = {"$ref": f"{SPEC_URI}#/components/schemas/{schema_name(short)}{within}"}
    return jsonschema.Draft202012Validator(ref, registry=registry)


def enum(short: str) -> tuple[str, ...]:
    """The values of one of the spec's string enums, e.g. `ResourceOrderStatus`."""
    return tuple(spec()["components"]["schemas"][schema_name(short)]["enum"])


# Java's POSIX classes are ASCII-only unless UNICODE_CHARACTER_CLASS is set; the regex
# module reads \p{Alpha} as Unicode, so they are spelled out.
_JAVA_POSIX = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7F",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": "!-/:-@\\[-`{-~",
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \\t",
    "Cntrl": "\\x00-\\x1F\\x7F",
    "XDigit": "0-9a-fA-F",
    "Space": " \\t\\n\\x0B\\f\\r",
}


@functools.lru_cache(maxsize=1024)
def java_regex(pattern: str) -> regex.Pattern[str]:
    """A Java regex as the `regex` module understands it, matched like Java's matches().

    The differences that matter for requirement patterns: POSIX classes (\\p{Alpha}) are
    ASCII in Java; \\p{IsAlphabetic}-style names lose the `Is`; classes nest and
    intersect (`[a-z&&[^aeiou]]`) as in regex's VERSION1; \\z is \\Z. Possessive
    quantifiers, atomic groups and \\p{L}-style Unicode classes work as they are.
    """
    translated = pattern
    for name, chars in _JAVA_POSIX.items():
        translated = translated.replace(f"\\p{{{name}}}", f"[{chars}]")
        translated = translated.replace(f"\\P{{{name}}}", f"[^{chars}]")
    translated = regex.sub(r"\\([pP])\{(?:Is|java)(\w+)\}", r"\\\1{\2}", translated)
    translated = translated.replace("\\z", "\\Z")
    return regex.compile(translated, regex.VERSION1)
