"""Finding a request whose submit got no answer in Infobip's list, instead of sending it again.

The Resources API has no idempotency key: a POST that timed out, lost its connection or
got a 5xx may have been stored. Such a row is looked up in GET /resources/1/requests
(its type and country, newest first) back to shortly before its POST left, and matched on
what it asked for: the sender for alphanumeric and RCS registrations; number type,
capabilities, quantity and requirements for numbers. A request already claimed by another
row of the journal is never taken. See docs/batch.md, "Never twice".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Set
from datetime import UTC, datetime, timedelta
from typing import Any

from batch.api import Infobip

logger = logging.getLogger(__name__)

# Infobip's clock and ours may disagree; its requestedDate has 1-second resolution.
SKEW = timedelta(minutes=5)
_SENDER_FIELDS = ("senderName", "trafficOrigin", "trafficType")
_NUMBER_FIELDS = ("numberType", "quantity")


async def find(
    api: Infobip, body: Mapping[str, Any], sent_at: datetime, *, claimed: Set[str]
) -> dict[str, Any] | None:
    """The request Infobip stored for `body`, POSTed at `sent_at` (as listed), or None.

    Raises:
        AuthError, ApiError: the list could not be read.
    """
    since = sent_at - SKEW
    kinds, countries = [str(body["type"])], [str(body["countryCode"])]
    async for items in api.pages(types=kinds, countries=countries):
        for item in items:
            when = requested(item)
            if when is not None and when < since:
                return None  # newest first: everything further down is older still
            if item.get("id") not in claimed and matches(body, item):
                return item
    return None


def matches(body: Mapping[str, Any], item: Mapping[str, Any]) -> bool:
    """Whether a listed request is the one `body` asked for."""
    if item.get("type") != body["type"] or item.get("countryCode") != body["countryCode"]:
        return False
    if body["type"] != "NUMBER_PURCHASE":
        sender = str(body.get("senderName", "")).casefold()
        if str(item.get("senderName", "")).casefold() != sender:
            return False
        return all(item.get(name) == body[name] for name in _SENDER_FIELDS[1:] if name in body)
    if any(_same(item.get(name), body.get(name)) is False for name in _NUMBER_FIELDS):
        return False
    if sorted(item.get("capabilities") or []) != sorted(body.get("capabilities") or []):
        return False
    return matches_requirements(body, item)


def matches_requirements(body: Mapping[str, Any], item: Mapping[str, Any]) -> bool:
    """Whether a listed request holds the requirements `body` sends."""
    return comparable(item.get("requirements")) == comparable(body.get("requirements"))


def _same(listed: Any, sent: Any) -> bool:
    return str(listed) == str(sent) if sent is not None else True


def comparable(filled: Any) -> dict[str, Any]:
    """Requirements as comparable values: Infobip may echo an integer sent as text, or a
    list in another order."""
    found: dict[str, Any] = {}
    for item in filled or []:
        value = item.get("value")
        if isinstance(value, list):
            found[str(item.get("key"))] = sorted(str(v) for v in value)
        else:
            found[str(item.get("key"))] = str(value)
    return found


def requested(item: Mapping[str, Any]) -> datetime | None:
    """A listed request's requestedDate (`2025-03-11T09:22:47.000+0000`); None when
    missing or unreadable."""
    try:
        when = datetime.fromisoformat(str(item.get("requestedDate")))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
