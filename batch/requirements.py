"""Requirement specs per lookup, fetched once and kept on disk for a day.

The cache is per Infobip account (base URL and key fingerprint), one JSON file per
distinct lookup body. Infobip's own refusals ("not offered", an option it does not take)
are kept too: they do not change by the hour. What a proxy or a broken answer said is
never kept: the next run asks again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batch.api import UNAVAILABLE, Infobip
from batch.config import Settings
from batch.errors import BadAnswer, Refusal
from batch.kinds import READABLE, offer_words

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Offer:
    """What a lookup said: the requirement specs, or why there are none (`refusal`, of a
    `kind`: "unavailable" not offered, "refused" any other refusal of Infobip's,
    "blocked" refused by something else (a proxy), "unreadable" an answer off the spec);
    the lookup asked, and when (a Unix time)."""

    requirements: tuple[Mapping[str, Any], ...] = ()
    refusal: str | None = None
    lookup: Mapping[str, Any] = field(default_factory=dict)
    fetched_at: float | None = None
    kind: str = "unavailable"

    @property
    def unread(self) -> bool:
        """Whether the answer could not be had (a proxy's refusal, an answer off the
        spec): rows needing it are not known to be wrong, and a later run may read it."""
        return self.refusal is not None and self.kind in ("blocked", "unreadable")

    def why_not(self) -> str:
        """Why there are no requirements, in words for the rows that needed them."""
        lookup = self.lookup
        number_type = f" {lookup['numberType']}" if "numberType" in lookup else ""
        asked = f"{number_type} {READABLE[lookup['type']]} in {lookup['countryCode']}"
        if self.kind == "unavailable":
            return f"Infobip offers no{asked}: {self.refusal}"
        if self.kind == "refused":
            return f"Infobip refused the requirements lookup for{asked}: {self.refusal}"
        if self.kind == "blocked":
            return (
                f"the requirements lookup for{asked} was refused on its way to Infobip (by a"
                f" proxy?): {self.refusal}; run it again once that is put right"
            )
        return f"the requirements for{asked} could not be read ({self.refusal}); run it again later"


class RequirementCache:
    """Looks requirements up through the API, remembering answers on disk for `ttl` s."""

    def __init__(self, folder: Path, *, ttl: float, refresh: bool = False) -> None:
        self._folder = folder
        self._ttl = ttl
        self._refresh = refresh

    @property
    def folder(self) -> Path:
        """Where the answers are kept (made on the first one)."""
        return self._folder

    @classmethod
    def for_account(cls, settings: Settings, *, refresh: bool | None = None) -> RequirementCache:
        """The cache of the account `settings` name; `refresh` asks Infobip afresh (by
        default, as --refresh-requirements says)."""
        return cls(
            settings.cache_dir / "requirements" / settings.account,
            ttl=settings.cache_ttl,
            refresh=settings.refresh_requirements if refresh is None else refresh,
        )

    async def get(self, api: Infobip, lookup: Mapping[str, Any]) -> Offer:
        """The offer for one lookup body, from disk when fresh, else from Infobip."""
        path = self._path(lookup)
        cached = None if self._refresh else _read(path, self._ttl)
        if cached is not None:
            return cached
        now = time.time()
        try:
            offer = Offer(tuple(await api.lookup(lookup)), lookup=dict(lookup), fetched_at=now)
        except Refusal as refusal:
            offered = refusal.code not in UNAVAILABLE and refusal.status != 404
            kind = "refused" if offered else "unavailable"
            kind = kind if refusal.infobip else "blocked"
            offer = Offer(refusal=str(refusal), lookup=dict(lookup), fetched_at=now, kind=kind)
            if not refusal.infobip:
                return offer
        except BadAnswer as bad:
            return Offer(refusal=str(bad), lookup=dict(lookup), fetched_at=now, kind="unreadable")
        _write(path, offer)
        return offer

    def peek(self, lookup: Mapping[str, Any]) -> Offer | None:
        """The offer last looked up, however old; None when never asked. For laying out a
        sheet again (`status`), where asking Infobip afresh is not worth a call."""
        return _read(self._path(lookup), float("inf"))

    def _path(self, lookup: Mapping[str, Any]) -> Path:
        key = json.dumps(lookup, sort_keys=True)
        return self._folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"


def _read(path: Path, ttl: float) -> Offer | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        fetched = float(data["fetchedAt"])
        if time.time() - fetched > ttl:
            return None
        kind = str(data.get("kind", "unavailable"))
        return Offer(
            tuple(data["requirements"]), data["refusal"], dict(data["lookup"]), fetched, kind
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent, stale or damaged: ask again


def _write(path: Path, offer: Offer) -> None:
    """Write atomically (a crash never leaves half a file), readable by the owner only."""
    data = {
        "fetchedAt": offer.fetched_at,
        "lookup": dict(offer.lookup),
        "requirements": list(offer.requirements),
        "refusal": offer.refusal,
        "kind": offer.kind,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".lookup-")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(data, file)
        os.replace(temporary, path)
    except OSError as exc:
        logger.warning("cannot cache requirements in %s: %s", path.parent, exc.strerror)


def changes(remembered: Sequence[tuple[str, str, str]], offers: Mapping[str, Offer]) -> list[str]:
    """How Infobip's live requirements differ from those a sheet was made from (its Guide
    records each lookup: body, answer, when), one line per offer that changed: the
    columns that are new, gone or changed."""
    found = []
    for lookup_text, specs_text, when in remembered:
        try:
            lookup, before = json.loads(lookup_text), json.loads(specs_text)
            key = json.dumps(lookup, sort_keys=True)
            old = {str(spec["key"]): spec for spec in before}
        except (ValueError, TypeError, KeyError):
            continue  # not a record this version wrote: nothing to compare
        offer = offers.get(key)
        if offer is None or offer.refusal is not None:
            continue
        new = {str(spec.get("key")): spec for spec in offer.requirements}
        parts = []
        added = [_named(key, new[key]) for key in new if key not in old]
        if added:
            parts.append("new columns " + ", ".join(added))
        gone = [key for key in old if key not in new]
        if gone:
            parts.append("no longer asked for " + ", ".join(gone))
        changed = [_change(key, old[key], new[key]) for key in new if key in old]
        changed = [text for text in changed if text]
        if changed:
            parts.append("changed " + "; ".join(changed))
        if parts:
            since = f" since {when[:10]}" if when else ""
            found.append(
                f"requirements for {offer_words(lookup)} changed{since}: " + "; ".join(parts)
            )
    return found


_COMPARED = ("type", "required", "multipleValuesSupported", "options", "validation")


def _named(key: str, spec: Mapping[str, Any]) -> str:
    return f"{key} (required)" if spec.get("required") else key


def _change(key: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """What changed in one requirement, in words ("" when nothing that matters did)."""
    said = []
    for name in _COMPARED:
        if old.get(name) != new.get(name):
            if name == "required":
                said.append("now required" if new.get(name) else "now optional")
            elif name == "validation":
                said.append(f"rules now {json.dumps(new.get(name) or {}, sort_keys=True)}")
            else:
                said.append(f"{name} now {new.get(name)!r}")
    return f"{key} ({', '.join(said)})" if said else ""
