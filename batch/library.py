"""The library: `validate`, `run` and `status` from Python, each returning a DataFrame.

The command line calls the same functions underneath (`settings`); these add what a
notebook wants: a DataFrame in as well as a path, a DataFrame out (the results sheet's
rows and columns, in its order), errors as `batch.errors` exceptions, never an exit.

    import batch
    results = batch.run("customer.xlsx", sandbox=True)
    results[results.result == "INVALID"][["reference", "errors"]]

pandas is imported inside these functions, so the command line never loads it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import os
import tempfile
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from batch import config, journal
from batch.api import tls_context
from batch.config import Settings
from batch.errors import ConfigError
from batch.run import results_path
from batch.run import run as run_sheet
from batch.sheets import TOOL_SHEETS, read_sheets

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

Source: TypeAlias = "str | os.PathLike[str] | pd.DataFrame"
T = TypeVar("T")


def settings(
    stack: contextlib.ExitStack,
    *,
    sandbox: bool = False,
    base_url: str | None = None,
    api_key: str | None = None,
    account: str | None = None,
    config_path: Path | None = None,
    limits: Mapping[str, float] | Iterable[str] = (),
    state_dir: Path | None = None,
    ca_bundle: Path | None = None,
) -> Settings:
    """Settings from arguments, else the environment, else the config file.

    With `sandbox`, the built-in sandbox is started on a free loopback port (stopped when
    `stack` closes) with a journal that goes with it, unless `state_dir` says where. A CA
    bundle is loaded here, so that a bad one is an error before anything starts.

    Args:
        account: the config file's `[accounts.NAME]` to use for rows that name none
            (instead of `base_url` and `api_key`, the environment or the file's top level).
        limits: calls per second by endpoint (`{"submit": 2}`), or `submit=2` texts.

    Raises:
        ConfigError: credentials missing (and no accounts in the config file), a bad
            config file, an unknown account, a bad limit or CA bundle.
    """
    if ca_bundle is not None:
        tls_context(ca_bundle)
    file = config.config_file(config_path, os.environ)
    file_path, _ = config.config_path(config_path, os.environ)
    pairs = tuple(f"{k}={v}" for k, v in (file.get("limits") or {}).items())
    file_limits = config.parse_limits(pairs, config.PUBLISHED_LIMITS)
    found_limits = config.parse_limits(_pairs(limits), file_limits)
    accounts = config.accounts(file, file_path, limits=file_limits, flags=_pairs(limits))
    timeouts = config.timeouts(file) | config.pending_cap(file)
    if account is not None and (sandbox or base_url or api_key):
        msg = (
            "an account says where rows go by itself: give it without the sandbox, a base"
            " URL or a key"
        )
        raise ConfigError(msg)
    if account is not None and not account.strip():
        raise ConfigError(
            "the account is empty: give the name of one of the config file's [accounts.NAME]"
        )
    if sandbox:
        built = _sandbox(stack, found_limits)
        state_dir = state_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
    elif account is not None:
        built = Settings(base_url="", api_key="", accounts=accounts).routed(account)
    else:
        try:
            found = config.credentials(
                base_url_flag=base_url,
                api_key_flag=api_key,
                environ=os.environ,
                file=file,
                file_path=file_path,
            )
        except ConfigError as exc:
            if not accounts or base_url or api_key:
                raise
            names = ", ".join(a.name for a in accounts.values())
            missing = (
                f"{exc}; or name one of the config file's accounts ({names}) with --account"
                " or in an account column"
            )
            built = Settings(base_url="", api_key="", limits=found_limits, missing=missing)
        else:
            built = Settings(
                base_url=found.base_url,
                api_key=found.api_key,
                limits=found_limits,
                base_url_from=found.base_url_from,
                api_key_from=found.api_key_from,
            )
        built = built.replace(accounts=accounts)
    if state_dir is not None:
        built = built.replace(state_dir=Path(state_dir))
    return built.replace(ca_bundle=ca_bundle, **timeouts)


def _pairs(limits: Mapping[str, float] | Iterable[str]) -> tuple[str, ...]:
    if isinstance(limits, Mapping):
        return tuple(f"{name}={rate}" for name, rate in limits.items())
    return tuple(limits)


def _sandbox(stack: contextlib.ExitStack, limits: Mapping[str, float]) -> Settings:
    # The sandbox (starlette, uvicorn, jsonschema) loads only when asked for.
    from batch.sandbox.app import SandboxConfig
    from batch.sandbox.server import RunningSandbox

    running = stack.enter_context(RunningSandbox(SandboxConfig()))
    logger.info(
        "using the built-in Infobip sandbox at %s: nothing reaches Infobip", running.base_url
    )
    return Settings(
        base_url=running.base_url,
        api_key=running.api_key,
        limits=limits,
        sandbox=True,
        base_url_from="--sandbox",
        api_key_from="--sandbox",
    )


def validate(source: Source, **options: Any) -> pd.DataFrame:
    """Check every row of `source` against Infobip's requirements; send nothing.

    The same as `run(source, dry_run=True, ...)`: see `run` for the options.
    """
    return run(source, **{**options, "dry_run": True})


def run(
    source: Source,
    *,
    dry_run: bool = False,
    out: str | os.PathLike[str] | None = None,
    documents_dir: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    account: str | None = None,
    config: str | os.PathLike[str] | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    sandbox: bool = False,
    limits: Mapping[str, float] | Iterable[str] = (),
    ca_bundle: str | os.PathLike[str] | None = None,
    refresh_requirements: bool = False,
    alpha_pending_cap: int | None = None,
    resubmit_uncertain: bool = False,
    reconcile_grace: float | None = None,
    fresh_journal: bool = False,
) -> pd.DataFrame:
    """Check, upload and submit every row of `source`, as `resource-batch run` does.

    Args:
        source: a .csv/.xlsx request sheet (its results sheet is written beside it, as
            the command line writes it, unless `out` says where), or a DataFrame with a
            sheet's columns (its results are written only where `out` says).
        documents_dir: the folder document paths are relative to (default: the
            sheet's folder; for a DataFrame, the current folder).
        base_url, api_key, config: else the environment, else the config file.
        account: the config file's `[accounts.NAME]` for rows whose `account` column
            is empty or missing (rows that name one go to theirs).
        state_dir: where the journal lives (default: the user data folder).
        sandbox: use the built-in sandbox; nothing reaches Infobip.
        limits: calls per second by endpoint, e.g. `{"submit": 2}`.

    Returns:
        The results sheet's rows: its result columns, then the input's columns (and the
        requirement columns it lacks), every value as text.

    Raises:
        ConfigError, InputError, JournalError, Locked, ApiError: as the command line's
            exit codes 2, 2, 2, 4 and 3.
    """
    with contextlib.ExitStack() as stack:
        found = settings(
            stack,
            sandbox=sandbox,
            base_url=base_url,
            api_key=api_key,
            account=account,
            config_path=_path(config),
            limits=limits,
            state_dir=_path(state_dir),
            ca_bundle=_path(ca_bundle),
        )
        found = for_run(
            stack,
            found,
            dry_run=dry_run,
            documents_dir=_path(documents_dir),
            refresh_requirements=refresh_requirements,
            resubmit_uncertain=resubmit_uncertain,
            fresh_journal=fresh_journal,
            reconcile_grace=reconcile_grace,
            alpha_pending_cap=alpha_pending_cap,
        )
        input_path = _input(stack, source)
        if not isinstance(source, str | os.PathLike):
            found = found.replace(documents_dir=found.documents_dir or Path.cwd())
        output = _path(out) or results_path(input_path)
        report = _complete(run_sheet(found, input_path, output=output))
        return frame(report.output)


def for_run(
    stack: contextlib.ExitStack,
    found: Settings,
    *,
    dry_run: bool,
    documents_dir: Path | None,
    refresh_requirements: bool,
    resubmit_uncertain: bool,
    fresh_journal: bool,
    reconcile_grace: float | None,
    alpha_pending_cap: int | None,
) -> Settings:
    """`found` with a run's own options (None: as the config file or the default has
    it), and the state folder locked for a sending run (released when `stack` closes):
    one sending run per state folder, never two at once.

    Raises:
        Locked: another run holds the state folder.
    """
    found = found.replace(
        dry_run=dry_run,
        documents_dir=documents_dir,
        refresh_requirements=refresh_requirements,
        resubmit_uncertain=resubmit_uncertain,
        fresh_journal=fresh_journal,
    )
    if reconcile_grace is not None:
        found = found.replace(reconcile_grace=reconcile_grace)
    if alpha_pending_cap is not None:
        found = found.replace(alpha_pending_cap=alpha_pending_cap)
    if not dry_run:
        stack.enter_context(journal.state_lock(found.state_dir))
    return found


def status(
    *results: str | os.PathLike[str],
    base_url: str | None = None,
    api_key: str | None = None,
    account: str | None = None,
    config: str | os.PathLike[str] | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    limits: Mapping[str, float] | Iterable[str] = (),
    ca_bundle: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Refresh where each request of the results sheets `results` stands, rewrite them
    (as `resource-batch status RESULTS` does) and return their rows, one after another.

    Raises:
        ConfigError, InputError, JournalError, Locked, ApiError: as for `run`.
    """
    from batch.status import run_status

    if not results:
        msg = "give the results sheets to refresh"
        raise ValueError(msg)
    files = [Path(path) for path in results]
    with contextlib.ExitStack() as stack:
        found = settings(
            stack,
            base_url=base_url,
            api_key=api_key,
            account=account,
            config_path=_path(config),
            limits=limits,
            state_dir=_path(state_dir),
            ca_bundle=_path(ca_bundle),
        )
        stack.enter_context(journal.state_lock(found.state_dir))
        _complete(run_status(found, files))
    return _concat([frame(path) for path in files])


def frame(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A results sheet's rows as a DataFrame of text, in its column order; a workbook's
    request sheets one after another, with a `sheet` column first when there are more
    than one (its Summary and Guide left out).

    Raises:
        InputError: the file cannot be read as a sheet.
    """
    import pandas as pd

    sheets = [s for s in read_sheets(Path(path)) if s.name not in TOOL_SHEETS]
    frames = []
    for sheet in sheets:
        rows = [row.cells for row in sheet.rows if not row.blank]
        table = pd.DataFrame(rows, columns=list(sheet.headers), dtype=object)
        if len(sheets) > 1:
            table.insert(0, "sheet", sheet.name)
        frames.append(table)
    return _concat(frames)


def _concat(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True).fillna("") if frames else pd.DataFrame()


def _input(stack: contextlib.ExitStack, source: Source) -> Path:
    """The sheet to run: `source` itself, or a DataFrame written as a CSV of text (an
    empty cell for a missing value) in a folder removed afterwards."""
    if isinstance(source, str | os.PathLike):
        return Path(source)
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="resource-batch-")))
    path = folder / "requests.csv"
    source.map(_text).to_csv(path, index=False, encoding="utf-8")
    return path


def _text(value: object) -> str:
    """A cell as a sheet shows it: a missing value empty, and a whole number without the
    `.0` it gets in a column pandas made float because a cell is missing."""
    import pandas as pd

    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float):  # numpy's too
        return "" if math.isnan(value) else str(int(value)) if value.is_integer() else str(value)
    return str(value)


def _path(value: str | os.PathLike[str] | None) -> Path | None:
    return None if value is None else Path(value)


def _complete(job: Coroutine[Any, Any, T]) -> T:
    """Run `job` to its end; in a thread of its own where a loop already runs (Jupyter),
    since asyncio.run cannot be called from inside one."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(job)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, job).result()
