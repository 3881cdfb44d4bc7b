"""Settings for a run: where Infobip is, the key, the limits, the paths.

Credentials come from flags, else the environment (`INFOBIP_BASE_URL`/`INFOBIP_API_KEY`,
or Infobip's own `IB_BASE_URL`/`IB_API_KEY`), else a TOML config file
(`--config`, `RESOURCE_BATCH_CONFIG`, or `config.toml` in the user config folder).
"""

from __future__ import annotations

import dataclasses
import hashlib
import tomllib
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from batch.errors import ConfigError

APP = "resource-batch"
# Infobip's published per-endpoint limits (x-throttling-info), calls per second.
PUBLISHED_LIMITS = {
    "lookup": 10.0,
    "submit": 1.0,
    "upload": 1.0,
    "read": 10.0,
    "update": 1.0,
    "cancel": 1.0,
    "download": 1.0,
}
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a run needs; the API key is kept out of repr()."""

    base_url: str
    api_key: str = field(repr=False)
    limits: Mapping[str, float] = field(default_factory=lambda: dict(PUBLISHED_LIMITS))
    cache_dir: Path = field(default_factory=lambda: Path(platformdirs.user_cache_dir(APP)))
    cache_ttl: float = 24 * 3600
    refresh_requirements: bool = False
    documents_dir: Path | None = None
    dry_run: bool = False
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    # The most one call may take from its first byte out to its answer's last byte in,
    # however steadily a slow server trickles it.
    call_deadline: float = 120.0
    max_document_bytes: int = 10 * 1024 * 1024
    # The journal and the lock live here, one journal per account.
    state_dir: Path = field(default_factory=lambda: Path(platformdirs.user_data_dir(APP)))
    # How long a submit with no answer may take to show in Infobip's list.
    reconcile_grace: float = 30.0
    # A submit is a small JSON body Infobip answers in well under a second: one whose
    # POST has gone unanswered this long is looked for in Infobip's list while its call
    # stays open (found, the call is abandoned); and it is given up on after its own
    # deadline, not the one sized for a 10 MB upload.
    look_after: float = 5.0
    submit_deadline: float = 30.0
    resubmit_uncertain: bool = False
    # Set aside an empty or damaged journal and start anew (--fresh-journal).
    fresh_journal: bool = False
    ca_bundle: Path | None = None  # trusted in addition to the usual certificates
    sandbox: bool = False  # the built-in sandbox, started for this run (--sandbox)
    # Infobip's cap on pending alphanumeric requests per country ([gap]: see docs/batch.md);
    # rows past it are not sent (DEFERRED). 0: do not foresee it.
    alpha_pending_cap: int = 2
    # Where base URL and key came from (`check` says so): a flag, a variable, a file.
    base_url_from: str = ""
    api_key_from: str = ""
    # The config file's [accounts.NAME] this is ("": the credentials of flags, variables
    # or the file's top level), and every named account, by casefolded name.
    account_name: str = ""
    accounts: Mapping[str, Account] = field(default_factory=dict)
    # Why there is no default account (no base URL or key but named accounts): rows
    # must then name theirs. Empty when base_url and api_key are set.
    missing: str = ""

    @property
    def account(self) -> str:
        """A fingerprint of base URL and key: names per-account state, never reveals the key."""
        digest = hashlib.sha256(f"{self.base_url}\n{self.api_key}".encode()).hexdigest()
        return digest[:16]

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def label(self) -> str:
        """How messages name the account: `account acme`, or its base URL."""
        return f"account {self.account_name}" if self.account_name else self.base_url

    def routed(self, name: str) -> Settings:
        """The settings of the config file's account `name` (matched ignoring case and
        surrounding blanks), every other option as here; "" is this one.

        Raises:
            ConfigError: no such account, or "" when there are no default credentials.
        """
        wanted = name.strip().casefold()
        if not wanted:
            if self.missing:
                raise ConfigError(self.missing)
            return self
        if wanted == self.account_name.casefold():
            return self
        found = self.accounts.get(wanted)
        if found is None and self.sandbox:
            msg = (
                f"{name.strip()!r}: on the sandbox the config file's accounts are left aside"
                " (nothing reaches Infobip); empty the cell to try the row on the sandbox"
            )
            raise ConfigError(msg)
        if found is None:
            known = ", ".join(a.name for a in self.accounts.values())
            there = f": the config file has {known}" if known else ": the config file has none"
            msg = f"{name.strip()!r} is not an account of the config file ([accounts.NAME]){there}"
            raise ConfigError(msg)
        return self.replace(
            base_url=found.base_url,
            api_key=found.api_key,
            limits=found.limits,
            base_url_from=found.source,
            api_key_from=found.source,
            account_name=found.name,
            missing="",
        )


@dataclass(frozen=True, slots=True)
class Account:
    """A named account of the config file (`[accounts.NAME]`): its base URL, key and
    limits (the file's [limits] and --limit flags applied over Infobip's published ones).
    A reseller's team routes rows to several such accounts."""

    name: str
    base_url: str
    api_key: str = field(repr=False)
    limits: Mapping[str, float] = field(default_factory=lambda: dict(PUBLISHED_LIMITS))
    source: str = ""  # "config file PATH [accounts.NAME]", for `check`


def base_url(text: str) -> str:
    """Infobip's account base URL, the way Infobip's own client reads it: whitespace and
    trailing slashes trimmed, https:// added when no scheme is given, plain http only
    for loopback addresses (the sandbox).

    Raises:
        ConfigError: the URL is not usable.
    """
    text = text.strip().rstrip("/")
    if "://" not in text:
        text = f"https://{text}"
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"base URL {text!r} is not an http(s) URL like https://xxxxx.api.infobip.com"
        raise ConfigError(msg)
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        msg = f"base URL {text!r} uses plain http; Infobip is reached over https only"
        raise ConfigError(msg)
    return text


def parse_limits(pairs: tuple[str, ...], base: Mapping[str, float]) -> dict[str, float]:
    """`submit=2` style overrides of the per-endpoint limits.

    Raises:
        ConfigError: an unknown endpoint or a rate that is not a positive number.
    """
    limits = dict(base)
    for pair in pairs:
        name, _, rate = pair.partition("=")
        if name not in PUBLISHED_LIMITS:
            msg = f"--limit {pair!r}: endpoint must be one of {', '.join(PUBLISHED_LIMITS)}"
            raise ConfigError(msg)
        try:
            limits[name] = float(rate)
        except ValueError:
            limits[name] = 0.0
        if not limits[name] > 0:
            raise ConfigError(
                f"--limit {pair!r}: the rate must be a number of calls per second > 0"
            )
    return limits


def config_path(explicit: Path | None, environ: Mapping[str, str]) -> tuple[Path, bool]:
    """The config file to read, and whether it was named (--config or
    RESOURCE_BATCH_CONFIG: then it must exist) rather than the default one."""
    named = explicit or (
        Path(environ["RESOURCE_BATCH_CONFIG"]) if "RESOURCE_BATCH_CONFIG" in environ else None
    )
    return named or Path(platformdirs.user_config_dir(APP)) / "config.toml", named is not None


def config_file(explicit: Path | None, environ: Mapping[str, str]) -> dict[str, Any]:
    """The config file's contents, or {} when there is none (an explicit one must exist)."""
    path, named = config_path(explicit, environ)
    if not named and not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path}: not valid TOML: {exc}") from None


def timeouts(file: Mapping[str, Any]) -> dict[str, float]:
    """`connect_timeout`, `read_timeout`, `call_deadline`, `submit_deadline`, `look_after`
    and `reconcile_grace` (seconds) from the config file, if set.

    Raises:
        ConfigError: a timeout that is not a positive number.
    """
    found = {}
    names = ("connect_timeout", "read_timeout", "call_deadline", "submit_deadline", "look_after")
    for name in (*names, "reconcile_grace"):
        if name in file:
            value = file[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"config file: {name} must be a number of seconds > 0")
            found[name] = float(value)
    return found


def pending_cap(file: Mapping[str, Any]) -> dict[str, int]:
    """`alpha_pending_cap` from the config file, if set: Infobip's cap on pending
    alphanumeric requests per country (0: do not foresee it).

    Raises:
        ConfigError: not a whole number >= 0.
    """
    if "alpha_pending_cap" not in file:
        return {}
    value = file["alpha_pending_cap"]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError("config file: alpha_pending_cap must be a whole number >= 0")
    return {"alpha_pending_cap": value}


_ACCOUNT_FIELDS = ("base_url", "api_key", "limits")


def accounts(
    file: Mapping[str, Any],
    file_path: Path | None,
    *,
    limits: Mapping[str, float],
    flags: tuple[str, ...] = (),
) -> dict[str, Account]:
    """The file's `[accounts.NAME]` tables, by casefolded name. Each account's limits are
    `limits` (Infobip's, with the file's [limits]), then its own table's, then `flags`.

    Raises:
        ConfigError: a table that is not one, lacks base_url or api_key, or has a field,
            limit or value that is not right; two names that differ only in case.
    """
    found: dict[str, Account] = {}
    tables = file.get("accounts", {})
    if not isinstance(tables, dict):
        raise ConfigError("config file: accounts must be tables, one per account: [accounts.NAME]")
    for name, table in tables.items():
        where = f"config file: [accounts.{name}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table with base_url and api_key")
        unknown = sorted(set(table) - set(_ACCOUNT_FIELDS))
        if unknown:
            raise ConfigError(
                f"{where}: {', '.join(unknown)}: an account has {', '.join(_ACCOUNT_FIELDS)}"
            )
        for field_name in ("base_url", "api_key"):
            value = table.get(field_name)
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where}: {field_name} must be set, as text (in quotes)")
        own = table.get("limits", {})
        if not isinstance(own, dict):
            raise ConfigError(f"{where}: limits must be a table ([accounts.{name}.limits])")
        pairs = tuple(f"{k}={v}" for k, v in own.items())
        try:
            account_limits = parse_limits(flags, parse_limits(pairs, limits))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        source = f"config file {file_path or ''} [accounts.{name}]".replace("  ", " ")
        if not name.strip():
            raise ConfigError(f"{where}: an account needs a name (the cells of an account column)")
        if name.strip().casefold() in found:
            raise ConfigError(f"{where}: another account has the same name but for case or blanks")
        found[name.strip().casefold()] = Account(
            name.strip(),
            base_url(table["base_url"]),
            api_key(table["api_key"], source),
            account_limits,
            source,
        )
    return found


@dataclass(frozen=True, slots=True)
class Credentials:
    """The base URL and key, and where each came from: a flag, an environment variable's
    name, or the config file's path."""

    base_url: str
    api_key: str = field(repr=False)
    base_url_from: str = ""
    api_key_from: str = ""


def credentials(
    *,
    base_url_flag: str | None,
    api_key_flag: str | None,
    environ: Mapping[str, str],
    file: Mapping[str, Any],
    file_path: Path | None = None,
) -> Credentials:
    """The base URL and API key, flags first, then the environment, then the file
    (`file_path`, named as their source).

    Raises:
        ConfigError: either is missing; the message says what to set.
    """
    for name in ("base_url", "api_key"):
        if name in file and not isinstance(file[name], str):
            raise ConfigError(f"config file: {name} must be text (in quotes)")
    # A value of nothing but blanks is no value (a variable set to a line break, say).
    url, key = (
        next((v.strip() for v in values if v and v.strip()), "")
        for values in (
            (base_url_flag, environ.get("INFOBIP_BASE_URL"), environ.get("IB_BASE_URL")),
            (api_key_flag, environ.get("INFOBIP_API_KEY"), environ.get("IB_API_KEY")),
        )
    )
    url = url or str(file.get("base_url", "")).strip()
    key = key or str(file.get("api_key", "")).strip()
    if not url or not key:
        missing = " and ".join(n for n, v in (("base URL", url), ("API key", key)) if not v)
        where = Path(platformdirs.user_config_dir(APP)) / "config.toml"
        msg = (
            f"no Infobip {missing}: set INFOBIP_BASE_URL and INFOBIP_API_KEY (or IB_BASE_URL"
            f" and IB_API_KEY), or put base_url and api_key in {where};"
            " or try it on the built-in sandbox with --sandbox"
        )
        raise ConfigError(msg)
    url_from = _source(("--base-url", base_url_flag), _URL_VARIABLES, environ, file_path)
    key_from = _source(("--api-key", api_key_flag), _KEY_VARIABLES, environ, file_path)
    return Credentials(base_url(str(url)), api_key(key, key_from), url_from, key_from)


_URL_VARIABLES = ("INFOBIP_BASE_URL", "IB_BASE_URL")
_KEY_VARIABLES = ("INFOBIP_API_KEY", "IB_API_KEY")


def _source(
    flag: tuple[str, str | None],
    variables: tuple[str, ...],
    environ: Mapping[str, str],
    file_path: Path | None,
) -> str:
    """Where a credential came from, in the order `credentials` looks."""
    named = [flag, *((name, environ.get(name)) for name in variables)]
    found = next((name for name, value in named if value and value.strip()), None)
    return found or f"config file {file_path or ''}".rstrip()


# What an HTTP header can carry: visible ASCII. Infobip's keys are letters, digits, '-'.
_HEADER_SAFE = frozenset(chr(c) for c in range(0x21, 0x7F))


def api_key(text: str, where: str) -> str:
    """The key with surrounding whitespace trimmed (a line break pasted with it from a
    file), checked to be sendable in a header. Never shown, not even in part.

    Raises:
        ConfigError: a character inside the key that no header can carry.
    """
    key = text.strip()
    bad = next((i for i, char in enumerate(key) if char not in _HEADER_SAFE), None)
    if bad is not None:
        what = "a space or control character" if key[bad].isascii() else "a non-ASCII character"
        msg = (
            f"the API key from {where} has {what} at position {bad + 1} of {len(key)},"
            " which Infobip's keys never contain; copy the key again from Infobip's portal"
        )
        raise ConfigError(msg)
    return key
