"""The three request types the Resources API takes, and how a person names an offer of one.

Kept apart from `rows` so that `requirements` can name offers without importing the
module that imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ALPHA, NUMBER, RCS = "ALPHANUMERIC_REGISTRATION", "NUMBER_PURCHASE", "RCS_SENDER_LAUNCH"
TYPES = (ALPHA, NUMBER, RCS)
READABLE = {ALPHA: "alphanumeric registration", NUMBER: "number purchase", RCS: "RCS sender launch"}
# The fields of a requirements lookup, per type: what decides which requirements a row has.
LOOKUP = {
    ALPHA: ("countryCode", "trafficOrigin", "trafficType"),
    NUMBER: ("countryCode", "numberType", "capabilities", "quantity", "clientType"),
    RCS: ("countryCode", "trafficOrigin", "excludedCarriers"),
}


def offer_words(lookup: Mapping[str, Any]) -> str:
    """An offer as a person names it: "number purchases (VIRTUAL_LONG_NUMBER, clientType
    INTERNATIONAL) in GB"."""
    kind = str(lookup.get("type", ""))
    options = [
        f"{name} {cell_text(lookup[name])}" if name != "numberType" else str(lookup[name])
        for name in LOOKUP.get(kind, ())
        if name in lookup and name not in ("countryCode", "quantity", "capabilities")
    ]
    shown = f" ({', '.join(options)})" if options else ""
    return f"{READABLE.get(kind, kind)}s{shown} in {lookup.get('countryCode', '?')}"


def cell_text(value: Any) -> str:
    """A lookup value as a cell holds it: lists separated by `;`."""
    return ";".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
