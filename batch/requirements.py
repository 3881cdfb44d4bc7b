"""Requirement specs per lookup, fetched once and kept on disk for a day.

The cache is per Infobip account (base URL and key fingerprint), one JSON file per
distinct lookup body. "Not offered" answers are kept too: they do not change by the hour.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batch.api import UNAVAILABLE, Infobip, Refusal

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Offer:
    """What a lookup said: the requirement specs, or why the resource is not offered."""

    requirements: tuple[Mapping[str, Any], ...] = ()
    refusal: str | None = None


class RequirementCache:
    """Looks requirements up through the API, remembering answers on disk for `ttl` s."""

    def __init__(self, folder: Path, *, ttl: float, refresh: bool = False) -> None:
        self._folder = folder
        self._ttl = ttl
        self._refresh = refresh

    async def get(self, api: Infobip, lookup: Mapping[str, Any]) -> Offer:
        """The offer for one lookup body, from disk when fresh, else from Infobip."""
        key = json.dumps(lookup, sort_keys=True)
        path = self._folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"
        cached = None if self._refresh else _read(path, self._ttl)
        if cached is not None:
            return cached
        try:
            offer = Offer(requirements=tuple(await api.lookup(lookup)))
        except Refusal as refusal:
            if refusal.code not in UNAVAILABLE and refusal.status != 404:
                raise
            offer = Offer(refusal=str(refusal))
        _write(path, lookup, offer)
        return offer


def _read(path: Path, ttl: float) -> Offer | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if time.time() - float(data["fetchedAt"]) > ttl:
            return None
        return Offer(tuple(data["requirements"]), data["refusal"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent, stale or damaged: ask again


def _write(path: Path, lookup: Mapping[str, Any], offer: Offer) -> None:
    """Write atomically (a crash never leaves half a file), readable by the owner only."""
    data = {
        "fetchedAt": time.time(),
        "lookup": lookup,
        "requirements": list(offer.requirements),
        "refusal": offer.refusal,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".lookup-")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(data, file)
        os.replace(temporary, path)
    except OSError as exc:
        logger.warning("cannot cache requirements in %s: %s", path.parent, exc.strerror)
