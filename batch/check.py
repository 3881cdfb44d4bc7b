"""`check`: whether a run would work, told one finding at a time, changing nothing.

Where the base URL and the key came from (the key never shown: at most its last four
characters), whether Infobip accepts them (one cheap read, timed), whether the state and
cache folders can be written, whether a run holds the lock, and what the journal holds.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from batch import journal
from batch.api import Infobip
from batch.config import Settings
from batch.errors import ApiError, AuthError, JournalError
from batch.requirements import RequirementCache

# A key shorter than this shows none of its characters: four would be too much of it.
_HINTED_LENGTH = 16


class Verdict(StrEnum):
    """How a finding bears on a run, and the exit code it leads to."""

    OK = "ok"
    WARNING = "warning"  # a run works, less well (no requirements cache, say)
    CONFIG = "config"  # a run would stop at once: exit 2
    INFOBIP = "infobip"  # Infobip unreachable or refusing the key: exit 3

    @property
    def exit_code(self) -> int:
        return {Verdict.CONFIG: 2, Verdict.INFOBIP: 3}.get(self, 0)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing `check` looked at: what (`topic`), what it found, and its bearing."""

    topic: str
    text: str
    verdict: Verdict = Verdict.OK
    fields: Mapping[str, Any] = field(default_factory=dict)


async def check(settings: Settings, *, api: Infobip | None = None) -> list[Finding]:
    """Everything `check` reports for the account `settings` name, or, when no account
    was chosen and the config file names several, for each of them (and the default).

    Args:
        settings: the account, folders, timeouts and CA bundle to check.
        api: a client to use instead of one made from `settings` (closed afterwards).

    Returns:
        The findings, in the order they are best read.
    """
    accounts = [settings]
    if settings.accounts and not settings.account_name:
        named = [settings.routed(name) for name in settings.accounts]
        accounts = named if settings.missing else [settings, *named]
    findings = []
    for account in accounts:
        client = api if account is settings and api is not None else Infobip.connect(account)
        findings += _named(account, [*credentials(account), await _infobip(client)])
    if settings.missing:
        text = "none: every row must name its account (in an account column)"
        findings.append(Finding("default account", text, Verdict.WARNING))
    cache = RequirementCache.for_account(accounts[0]).folder.parent
    findings += [
        folder("state folder", settings.state_dir, Verdict.CONFIG),
        folder("cache folder", cache, Verdict.WARNING),
        lock(settings.state_dir),
    ]
    for account in accounts:
        findings += _named(account, [_journal(account)])
    return findings


def _named(account: Settings, findings: list[Finding]) -> list[Finding]:
    """`findings` of one of the config file's accounts, its name in their topics."""
    if not account.account_name:
        return findings
    name = account.account_name
    return [
        dataclasses.replace(f, topic=f"{f.topic} ({name})", fields={**f.fields, "account": name})
        for f in findings
    ]


def unconfigured(error: Exception, *, state_dir: Path, cache_dir: Path) -> list[Finding]:
    """What can be checked when the configuration is wrong (`error`): the folders and the
    lock; Infobip, the account's cache and its journal need the credentials."""
    return [
        Finding("configuration", str(error), Verdict.CONFIG, {"error": str(error)}),
        folder("state folder", state_dir, Verdict.CONFIG),
        folder("cache folder", cache_dir, Verdict.WARNING),
        lock(state_dir),
    ]


def exit_code(findings: list[Finding]) -> int:
    """0 when nothing stops a run; else the worst finding's code (3 over 2)."""
    return max((finding.verdict.exit_code for finding in findings), default=0)


def key_hint(key: str) -> str:
    """The key as `check` shows it: its length and, for a key long enough, its last four
    characters; never more."""
    end = f"…{key[-4:]}, " if len(key) >= _HINTED_LENGTH else ""
    return f"{end}{len(key)} characters"


def credentials(settings: Settings) -> list[Finding]:
    """Where the base URL and the key came from; the key only as `key_hint` shows it."""
    hint = key_hint(settings.api_key)
    return [
        Finding(
            "base URL",
            f"{settings.base_url} (from {settings.base_url_from or 'the caller'})",
            fields={"baseUrl": settings.base_url, "from": settings.base_url_from},
        ),
        Finding(
            "API key",
            f"{hint} (from {settings.api_key_from or 'the caller'})",
            fields={"key": hint, "from": settings.api_key_from},
        ),
    ]


async def _infobip(api: Infobip) -> Finding:
    """One page of one request from Infobip's list: the cheapest call that needs the key."""
    call = "GET /resources/1/requests?size=1"
    started = time.monotonic()
    try:
        async with api:
            await api.requests(size=1)
    except AuthError as exc:
        return Finding("Infobip", f"{exc}", Verdict.INFOBIP, {"call": call, "error": str(exc)})
    except ApiError as exc:  # unreachable, failing, or not Infobip (a wrong base URL)
        return Finding("Infobip", str(exc), Verdict.INFOBIP, {"call": call, "error": str(exc)})
    ms = round((time.monotonic() - started) * 1000)
    return Finding("Infobip", f"accepted the key: {call} answered in {ms} ms",
                   fields={"call": call, "ms": ms})  # fmt: skip


def folder(topic: str, path: Path, bad: Verdict) -> Finding:
    """Whether files can be written in `path`, tried for real (a temporary file, gone at
    once); a missing folder is fine when its nearest existing parent is a writable
    folder. `bad` is the verdict when they cannot."""
    fields: dict[str, Any] = {"path": str(path)}
    if path.is_dir():
        try:
            with tempfile.TemporaryFile(dir=path):
                pass
        except OSError as exc:
            return Finding(topic, f"{path}: not writable ({exc.strerror})", bad, fields)
        return Finding(topic, f"{path}: writable", fields=fields | {"writable": True})
    if path.exists():
        return Finding(topic, f"{path}: not a folder", bad, fields)
    parent = next(p for p in path.absolute().parents if p.exists())
    if not parent.is_dir():
        return Finding(topic, f"{path}: cannot be made: {parent} is a file", bad, fields)
    if not os.access(parent, os.W_OK | os.X_OK):
        return Finding(topic, f"{path}: cannot be made: {parent} is not writable", bad, fields)
    return Finding(topic, f"{path}: will be made (in {parent}, writable)",
                   fields=fields | {"writable": True})  # fmt: skip


def lock(state_dir: Path) -> Finding:
    """Whether a run holds the state folder now, and the pid its lock file names."""
    try:
        found = journal.lock_state(state_dir)
    except JournalError as exc:
        return Finding("lock", str(exc), Verdict.CONFIG)
    fields = {"held": found.held, "pid": found.pid}
    if found.held:
        who = "a process that has not written its pid yet" if found.pid is None else found.pid
        return Finding("lock", f"held now by pid {who}: a run is going", fields=fields)
    if found.pid is not None:
        text = f"free; pid {found.pid} is left in it by a run that did not finish (killed?)"
        return Finding("lock", text, fields=fields)
    return Finding(
        "lock", "free" if found.exists else "free (no lock file: no run here yet)", fields=fields
    )


def _journal(settings: Settings) -> Finding:
    """The account's journal: its rows by state, or that there is none yet."""
    path = journal.journal_path(settings.state_dir, settings.account)
    try:  # no state folder (or a file in its place, reported above): no journal either
        has_folder = settings.state_dir.is_dir()
        counts = journal.counts(settings.state_dir, settings.account) if has_folder else None
    except JournalError as exc:
        return Finding("journal", str(exc), Verdict.CONFIG, {"path": str(path)})
    if counts is None:
        return Finding(
            "journal", f"no journal yet (a run makes {path})", fields={"path": str(path)}
        )
    said = ", ".join(f"{state} {n}" for state in journal.State if (n := counts.get(state)))
    fields = {"path": str(path), "counts": {str(state): n for state, n in counts.items()}}
    return Finding("journal", f"{path}: {said or 'no rows'}", fields=fields)
