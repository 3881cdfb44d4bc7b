"""Several Infobip accounts in one run: which account each row goes to, and one client
per account.

Infobip's limits are per account, so each account gets its own client (and with it its
own limiters), its own journal and its own requirements cache: two accounts run side by
side, each at its own ceiling. A row goes to the account its `account` cell names (one
of the config file's `[accounts.NAME]`), or, when the cell is empty or the sheet has
none, to the run's default account (`--account`, else the flags, the environment or the
config file's top level).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from types import TracebackType

from batch.api import Infobip
from batch.config import Settings
from batch.errors import ConfigError
from batch.outcome import Outcome, Progress
from batch.rows import Candidate


def route(settings: Settings, candidates: Iterable[Candidate]) -> dict[str, Settings]:
    """Give each row the account it goes to (`Candidate.route`); a row naming an account
    the config file lacks, or naming none where there is no default, gets the error on its
    account cell instead. Returns the settings of each account a row goes to, by name;
    two names for one base URL and key (the environment's and a named account's, say) are
    one account, under the first name met, so that its rows share one journal and limits.

    Raises:
        ConfigError: there is no default account and no row has an account column to
            name one (the message says what to set).
    """
    used: dict[str, Settings] = {}
    by_fingerprint: dict[str, Settings] = {}  # one account under two names is one account
    rows = list(candidates)
    if settings.missing and not any(c.standard.layout.account is not None for c in rows):
        raise ConfigError(settings.missing)
    names = ", ".join(account.name for account in settings.accounts.values())
    for candidate in rows:
        name = candidate.account
        if not name and settings.missing:
            candidate.error("account", _nowhere(candidate, names))
            continue
        try:
            found = used.get(name.casefold()) or settings.routed(name)
        except ConfigError as exc:
            candidate.error("account", str(exc))
            continue
        found = by_fingerprint.setdefault(found.account, found)
        used.setdefault(name.casefold(), found)
        candidate.route = found.account_name
    return {s.account_name: s for s in used.values()}


def _nowhere(candidate: Candidate, names: str) -> str:
    """Why a row that names no account goes nowhere, and what to do."""
    if candidate.standard.layout.account is None:
        return (
            f"this sheet has no account column, and there is no default account: add one"
            f" naming {names}, or run with --account NAME"
        )
    return (
        f"empty, and there is no default account: give one of {names}, or run with --account NAME"
    )


class Labelled:
    """The run's progress, its stages named after one account ("requests submitted
    (north)"), so that accounts sent side by side each have their own."""

    def __init__(self, progress: Progress, account: str) -> None:
        self.progress, self.suffix = progress, f" ({account})"

    def start(self, stage: str, total: int) -> None:
        self.progress.start(stage + self.suffix, total)

    def advance(self, stage: str, count: int = 1) -> None:
        self.progress.advance(stage + self.suffix, count)

    def outcome(self, candidate: Candidate, outcome: Outcome) -> None:
        self.progress.outcome(candidate, outcome)


class Clients:
    """One Infobip client per account, made on first use and closed together."""

    def __init__(
        self, accounts: Mapping[str, Settings], *, given: Mapping[str, Infobip] | None = None
    ) -> None:
        """`given`: clients to use instead of making them (closed by their owner)."""
        self.accounts = dict(accounts)
        self._open: dict[str, Infobip] = dict(given or {})
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> Clients:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()

    async def get(self, name: str) -> Infobip:
        """The client of the account `name` (one of `accounts`)."""
        if name not in self._open:
            client = Infobip.connect(self.accounts[name])
            self._open[name] = await self._stack.enter_async_context(client)
        return self._open[name]
