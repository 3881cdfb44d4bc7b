"""Requirement specs per lookup, fetched once and kept on disk for a day; and checking
a sheet's requirement columns against them.

The cache is per Infobip account (base URL and key fingerprint), one JSON file per
distinct lookup body. Infobip's own refusals ("not offered", an option it does not take)
are kept too: they do not change by the hour. What a proxy or a broken answer said is
never kept: the next run asks again.

`prepare` makes the specs of one offer ready to check rows against (`Requirement`);
`check_requirements` then checks, column by column, the rows that share that offer.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import phonenumbers
import regex

from batch import contract
from batch.api import UNAVAILABLE, Infobip
from batch.cells import FORMULA_TEXT, SPLIT, clipped, email_problem, integer
from batch.config import Settings
from batch.documents import DocumentProblem, Resolver
from batch.errors import BadAnswer, Refusal
from batch.kinds import READABLE, offer_words
from batch.sheets import normalise

if TYPE_CHECKING:  # rows imports this module: its types are for the annotations only
    from batch.rows import Candidate, Layout

logger = logging.getLogger(__name__)

YES = frozenset(
    {"yes", "y", "x", "true", "1", "✓", "✔", "agree", "i agree", "ja", "da", "oui", "si"}
)
URL = regex.compile(r"(?i)https?://([^/\s?#]+)\S*")


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
    description: str = ""

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
            description=str(spec.get("description") or ""),
        )

    def label(self, header: str) -> str:
        return header if self.name == header else f"{header} ({self.name})"

    def hint(self) -> str:
        if len(self.options) == 1:
            return f" (put: {self.options[0]})"
        return f" (one of: {', '.join(self.options)})" if self.options else ""

    def judge(self, cell: str, documents: Resolver) -> tuple[tuple[str, Any] | None, str | None]:
        """A cell's (key, value) as Infobip wants it (None when empty), or every problem
        it has, in one text: each bad value of a multi-value cell is named."""
        text = cell.strip()
        if not text:
            return None, "required by Infobip" + self.hint() if self.required else None
        if FORMULA_TEXT.match(text):
            return None, f"{clipped(text)} is a formula, not a value: type the value itself"
        if not self.many:
            value, problems = self._value(text, documents)
            return (None, "; ".join(problems)) if problems else ((self.key, value), None)
        values, problems = [], []
        for part in SPLIT.split(text):
            if part:
                value, found = self._value(part, documents)
                values.append(value)
                problems += [p if p.startswith(repr(part)) else f"{part!r}: {p}" for p in found]
        if problems:
            return None, "; ".join(problems)
        return (self.key, tuple(values)), None

    def _value(self, text: str, documents: Resolver) -> tuple[Any, list[str]]:
        if self.kind == "TEXT":
            return self._text(text)
        if self.kind == "INTEGER":
            return self.integer(text)
        if self.kind == "EMAIL":
            problem = email_problem(text)
            return text, [problem] if problem else []
        if self.kind == "URL":
            return text, [] if _is_url(text) else [f"{text!r} is not a web address (https://...)"]
        if self.kind == "GSM":
            number, problem = _phone(text)
            return number, [problem] if problem else []
        if self.kind == "DOCUMENT":
            try:
                return documents(text), []
            except DocumentProblem as exc:
                return None, [str(exc)]
        return text, []  # a field type this version does not know: sent as typed

    def _text(self, text: str) -> tuple[Any, list[str]]:
        if self.options:
            chosen = self._option(text)
            if chosen is None:
                shown = self.options[0] if len(self.options) == 1 else ", ".join(self.options)
                return None, [f"{text!r} is not one of: {shown}"]
            return chosen, []
        problems = []
        low, high = self.rules.get("minLength"), self.rules.get("maxLength")
        if low is not None and len(text) < low:
            problems.append(f"{len(text)} characters; at least {low} needed")
        if high is not None and len(text) > high:
            problems.append(f"{len(text)} characters; at most {high} allowed")
        if self.pattern is not None and not self.pattern.fullmatch(text):
            problems.append(self._format_problem(text))
        return text, problems

    def _format_problem(self, text: str) -> str:
        """A pattern mismatch in words: the field's description, then the pattern."""
        what = self.description.rstrip(".") if self.description else f"a {self.name}"
        return (
            f"{text!r} is not in the form Infobip expects: {what} (format {self.rules['pattern']})"
        )

    def _option(self, text: str) -> str | None:
        """The option a cell means: exact, or ignoring case and spaces; a lone option is
        a consent box, which yes/x/true/1 tick."""
        if text in self.options:
            return text
        chosen = self.by_name.get(normalise(text))
        if chosen is None and len(self.options) == 1 and text.casefold() in YES:
            return self.options[0]
        return chosen

    def integer(self, text: str) -> tuple[Any, list[str]]:
        number = integer(text)
        if number is None:
            return None, [f"{text!r} is not a whole number"]
        problems = []
        if "minValue" in self.rules and number < self.rules["minValue"]:
            problems.append(f"{number} is below the minimum {self.rules['minValue']}")
        if "maxValue" in self.rules and number > self.rules["maxValue"]:
            problems.append(f"{number} is above the maximum {self.rules['maxValue']}")
        if self.options and str(number) not in self.options:
            problems.append(f"{number} is not one of {', '.join(self.options)}")
        return number, problems


def prepare(specs: Sequence[Mapping[str, Any]]) -> tuple[Requirement, ...]:
    """The specs a lookup returned, ready to check rows against."""
    return tuple(Requirement.of(spec) for spec in specs)


def check_requirements(
    candidates: Sequence[Candidate],
    requirements: Sequence[Requirement],
    *,
    documents: Resolver,
    asked: Collection[str] = (),
) -> None:
    """Check the requirement columns of rows that share one sheet and one offer, and
    set each row's `filled`.

    Column by column, each distinct cell is judged once: a column repeats the same few
    values down a sheet, and a big sheet is checked in about the time it takes to read.
    Every requirement is checked. A filled column that this offer does not ask for but
    another offer of the sheet does (`asked`: normalised keys) is a warning on the row,
    naming the row's options, and is not sent. DOCUMENT values become `LocalDocument`s
    or stay documentIds.
    """
    layout = candidates[0].standard.layout
    rows = [candidate.row.cells for candidate in candidates]
    columns = []
    for requirement in requirements:
        index, header = layout.values.get(requirement.column, (None, requirement.key))
        cells = [""] * len(rows) if index is None else list(map(itemgetter(index), rows))
        verdicts = {cell: requirement.judge(cell, documents) for cell in set(cells)}
        columns.append(list(map(_PAIR, map(verdicts.__getitem__, cells))))
        problems = {cell: problem for cell, (_, problem) in verdicts.items() if problem}
        if index is None and problems:  # required, and the sheet has no column for it
            problems = {
                "": f"{problems['']}; the sheet has no {requirement.key} column: fill"
                " in the one the results sheet adds"
            }
        label = requirement.label(header)
        for candidate, cell in _having(candidates, cells, problems):
            candidate.error(header, problems[cell], label)
    filled = zip(*columns, strict=True) if columns else [()] * len(candidates)
    for candidate, row_filled in zip(candidates, filled, strict=True):
        candidate.filled = row_filled
    known = {requirement.column for requirement in requirements}
    lookup = candidates[0].lookup or {}
    for column, (index, header) in layout.values.items():
        if column in asked and column not in known:
            cells = list(map(itemgetter(index), rows))
            message = (
                f"Infobip does not ask for it for {offer_words(lookup)}: left out of the"
                " request (other rows' options ask for it)"
            )
            for candidate, _ in _having(candidates, cells, {c for c in set(cells) if c.strip()}):
                candidate.warn(header, message)


def unasked(layout: Layout, asked: Collection[str]) -> list[str]:
    """The sheet's columns that are neither standard nor asked for by any of its rows'
    offers: their values are never sent (a user's own notes, or a misspelt key)."""
    return [header for column, (_, header) in layout.values.items() if column not in asked]


_PAIR = itemgetter(0)  # of a verdict: (pair, problem)


def _having(
    candidates: Sequence[Candidate], cells: Sequence[str], wanted: Collection[str]
) -> Iterator[tuple[Candidate, str]]:
    """The rows whose cell is one of `wanted` (usually none: then nothing is walked)."""
    if wanted:
        yield from ((c, cell) for c, cell in zip(candidates, cells, strict=True) if cell in wanted)


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


def _is_url(text: str) -> bool:
    parts = URL.fullmatch(text)
    return parts is not None and "." in parts[1]
