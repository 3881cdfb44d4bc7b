"""Finding a request whose submit got no answer in Infobip's list, instead of sending it again.

The Resources API has no idempotency key: a POST that timed out, lost its connection or
got a 5xx may have been stored. Such a row is looked up in GET /resources/1/requests
(its type and country, newest first) back to shortly before its POST left, and matched on
what it asked for: the sender for alphanumeric and RCS registrations; number type,
capabilities, quantity and requirements for numbers. A request already claimed by another
row of the journal is never taken. See docs/batch.md, "Never twice".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from batch.api import Infobip

logger = logging.getLogger(__name__)

# Infobip's clock and ours may disagree; its requestedDate has 1-second resolution.
SKEW = timedelta(minutes=5)
_SENDER_FIELDS = ("senderName", "trafficOrigin", "trafficType")
_NUMBER_FIELDS = ("numberType", "quantity")
RECENT_PAGE = 200


async def recent(
    api: Infobip,
    wanted: Sequence[tuple[Mapping[str, Any], datetime]],
    *,
    taken: Callable[[str], bool],
) -> list[dict[str, Any]]:
    """The listed requests of `wanted`'s types and countries, newest first, read until
    each of `wanted` has a match not `taken` or the list reaches back to shortly before
    the earliest POST (requestedDate by Infobip's clock, which may differ from ours).

    Raises:
        AuthError, ApiError: the list could not be read.
    """
    read: list[dict[str, Any]] = []
    if not wanted:
        return read
    since = min(sent_at for _, sent_at in wanted) - SKEW
    kinds = sorted({str(body["type"]) for body, _ in wanted})
    countries = sorted({str(body["countryCode"]) for body, _ in wanted})
    # Pages of a few hundred: what is looked for was sent moments ago, so it is among the
    # newest, and each page is checked against the spec.
    async for items in api.pages(types=kinds, countries=countries, size=RECENT_PAGE):
        older = next((i for i, item in enumerate(items) if _before(item, since)), None)
        read += items[:older]
        if older is not None or None not in assign(wanted, read, taken=taken):
            break
    return read


def assign(
    wanted: Sequence[tuple[Mapping[str, Any], datetime]],
    items: Sequence[Mapping[str, Any]],
    *,
    taken: Callable[[str], bool],
) -> list[dict[str, Any] | None]:
    """Give each of `wanted` (in order) the newest of `items` (newest first) that it
    matches, was listed after its POST (clock skew allowed), and is neither `taken` nor
    given to another of `wanted`."""
    given: set[str] = set()
    found: list[dict[str, Any] | None] = []
    for body, sent_at in wanted:
        match = next(
            (
                item
                for item in items
                if (key := str(item.get("id"))) not in given
                and not taken(key)
                and not _before(item, sent_at - SKEW)
                and matches(body, item)
            ),
            None,
        )
        if match is not None:
            given.add(str(match.get("id")))
        found.append(dict(match) if match is not None else None)
    return found


def _before(item: Mapping[str, Any], since: datetime) -> bool:
    when = requested(item)
    return when is not None and when < since


class Lookout:
    """Looks in Infobip's list for rows whose submit got no answer (or has none yet):
    rows that ask while a reading is under way are looked for together in the next one,
    so that one list read serves many. A listed request is handed to one row at most,
    never one already claimed (checked when it is handed, not when the read began):
    rows asking for the same (the same numbers bought twice) each get their own."""

    def __init__(self, api: Infobip, *, claimed: Set[str]) -> None:
        self.api, self.claimed = api, claimed
        self.handed: set[str] = set()  # given to a row that has not said whether it takes it
        self._waiting: list[_Wanted] = []
        self._reading = asyncio.Lock()

    def release(self, item: Mapping[str, Any]) -> None:
        """`item`, handed to a row that does not take it, may go to another."""
        self.handed.discard(str(item.get("id")))

    def _taken(self, key: str) -> bool:
        return key in self.claimed or key in self.handed

    async def find(self, body: Mapping[str, Any], sent_at: datetime) -> dict[str, Any] | None:
        """The request Infobip stored for `body`, or None (not listed yet). The row takes
        it (its id goes into `claimed`) or gives it back with `release`; a caller that
        gives up (cancelled) gives back whatever it was handed.

        Raises:
            AuthError, ApiError: the list could not be read.
        """
        wanted = _Wanted(body, sent_at, asyncio.get_running_loop().create_future())
        self._waiting.append(wanted)
        try:
            async with self._reading:
                if not wanted.found.done():  # no reading since it asked: read for all
                    await self._read(wanted)
        except BaseException:
            self._give_up(wanted)
            raise
        finally:
            if wanted in self._waiting:
                self._waiting.remove(wanted)
        return wanted.found.result()

    def _give_up(self, wanted: _Wanted) -> None:
        """`wanted`'s caller is gone: a reading skips it, and what it was handed goes back."""
        found = wanted.found
        if not found.done():
            found.cancel()
        elif not found.cancelled() and found.exception() is None and found.result() is not None:
            self.release(found.result() or {})

    async def _read(self, reader: _Wanted) -> None:
        """One reading for every row waiting; `reader` is the one reading. A failed
        reading is every waiting row's answer (each would fail the same, one by one)."""
        batch, self._waiting = self._waiting, []
        try:
            items = await recent(self.api, [(w.body, w.sent_at) for w in batch], taken=self._taken)
        except Exception as exc:  # handed to each waiting row's caller
            for wanted in batch:
                if not wanted.found.done():
                    wanted.found.set_exception(exc)
            return
        except BaseException:  # cancelled: the others, waiting for the lock, read for themselves
            self._waiting[:0] = [w for w in batch if w is not reader and not w.found.done()]
            raise
        alive = [w for w in batch if not w.found.done()]  # callers gone meanwhile: skipped
        # Assigned now, with no await before handing out: claims made during the read count.
        given = assign([(w.body, w.sent_at) for w in alive], items, taken=self._taken)
        for wanted, item in zip(alive, given, strict=True):
            if item is not None:
                self.handed.add(str(item.get("id")))
            wanted.found.set_result(item)


@dataclass(frozen=True, slots=True)
class _Wanted:
    body: Mapping[str, Any]
    sent_at: datetime
    found: asyncio.Future[dict[str, Any] | None]


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
