"""The `resource-batch` command line: options in, one library call, errors to exit codes."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

import click
import httpx

from batch import console, journal, kinds, library
from batch import inbox as inbox_files
from batch import rows as rowlib
from batch import template as templates
from batch.config import Settings
from batch.errors import ApiError, ConfigError, InputError, JournalError, Locked, Unavailable
from batch.run import Report, results_path
from batch.run import run as run_sheet
from batch.sheets import check_writable, write_atomically

if TYPE_CHECKING:
    from batch.sandbox.app import SandboxConfig

logger = logging.getLogger("batch")


def _latency(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[int, int] | None:
    """`MIN-MAX` in milliseconds, e.g. `20-200`; a single number means a fixed latency."""
    if value is None:
        return None
    low, _, high = value.partition("-")
    try:
        bounds = (int(low), int(high or low))
    except ValueError:
        msg = f"{value!r} is not MIN-MAX in milliseconds, e.g. 20-200"
        raise click.BadParameter(msg) from None
    if not 0 <= bounds[0] <= bounds[1]:
        raise click.BadParameter(f"{value!r}: need 0 <= MIN <= MAX")
    return bounds


RATE = click.FloatRange(0, 1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="resource-batch")
def main() -> None:
    """Turn a spreadsheet of Infobip resource requests into submitted requests."""
    _sigterm_as_ctrl_c()


# The signal that stopped the command, when it was not Ctrl-C.
_TERMINATED: list[int] = []


def _sigterm_as_ctrl_c() -> None:
    """SIGTERM (systemd, `timeout`, `docker stop`) stops a command as Ctrl-C does: what
    was done is written, the journal keeps the truth, exit 143. The handler passes the
    signal on as SIGINT, so that asyncio cancels the run as it does on Ctrl-C; SIGINT is
    given its default handler first, as a job started in the background has it ignored.
    (The webhook receiver and the sandbox leave both to uvicorn.)"""
    if threading.current_thread() is not threading.main_thread():
        return  # signals can only be handled there; an embedding program keeps its own

    def stop(signum: int, frame: object) -> None:
        # Already stopping: a second SIGTERM must not cut the results short, nor kill
        # the process while Python shuts down (which gives back default handlers, but
        # leaves an ignored signal ignored).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _TERMINATED.append(signum)
        signal.raise_signal(signal.SIGINT)

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, stop)


def _interrupted(message: str) -> NoReturn:
    """Say why the command stopped, as a log line (JSON off a terminal: cron reads it),
    and exit 130 after Ctrl-C, 143 after SIGTERM."""
    code, by = (143, "SIGTERM") if _TERMINATED else (130, "Ctrl-C")
    logger.warning("stopped by %s. %s", by, message, extra={"fields": {"signal": by}})
    sys.exit(code)


@contextlib.contextmanager
def _stoppable(message: str) -> Iterator[None]:
    """Ctrl-C or SIGTERM inside: `message` and exit 130 or 143, not a traceback."""
    try:
        yield
    except KeyboardInterrupt:
        _interrupted(message)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8085, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--api-key", default="sandbox-key", show_default=True, help="The key clients must send."
)
@click.option(
    "--catalogue",
    "catalogue_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Requirements catalogue (JSON); the built-in one by default.",
)
@click.option(
    "--speed",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Rate limits multiplied by X, lifecycle durations divided by X.",
)
@click.option("--seed", default=0, show_default=True, help="Decides lifecycles and faults.")
@click.option("--webhook-url", help="Where status and reminder webhooks are POSTed.")
@click.option(
    "--alpha-pending-cap",
    default=2,
    show_default=True,
    type=click.IntRange(0),
    help="Pending alphanumeric requests allowed per country (0 = no cap).",
)
@click.option(
    "--latency", metavar="MIN-MAX", callback=_latency, help="Milliseconds added to every response."
)
@click.option("--fail-rate", default=0.0, type=RATE, help="Share of calls answered 500 E500.")
@click.option(
    "--drop-rate", default=0.0, type=RATE, help="Share of calls whose connection is closed."
)
@click.option("--throttle-rate", default=0.0, type=RATE, help="Share of calls answered 429 E429.")
@click.option(
    "--accept-timeout-rate",
    default=0.0,
    type=RATE,
    help="Share of submits stored but never answered.",
)
@click.option(
    "--self-check",
    is_flag=True,
    help="Start on a free port, answer one requirements lookup over HTTP, print it, exit.",
)
def sandbox(
    host: str,
    port: int,
    api_key: str,
    catalogue_file: Path | None,
    speed: float,
    seed: int,
    webhook_url: str | None,
    alpha_pending_cap: int,
    latency: tuple[int, int] | None,
    fail_rate: float,
    drop_rate: float,
    throttle_rate: float,
    accept_timeout_rate: float,
    self_check: bool,
) -> None:
    """Serve a sandbox of Infobip's Resources API over HTTP.

    It answers like the real API: same paths, bodies, errors, rate limits and slow
    request lifecycle, with requirements from a catalogue. It is for demos and tests;
    nothing it accepts reaches Infobip.

    \b
    Example:
        resource-batch sandbox --port 8085 --speed 60
        curl -H 'Authorization: App sandbox-key' http://127.0.0.1:8085/resources/1/requests
    """
    # The sandbox (starlette, uvicorn, jsonschema) loads only when asked for.
    from batch.sandbox import catalogue
    from batch.sandbox.app import Faults, Sandbox, SandboxConfig
    from batch.sandbox.server import base_url, listen, serve

    try:
        loaded = catalogue.load(catalogue_file)
    except catalogue.CatalogueError as exc:
        raise click.ClickException(str(exc)) from None
    faults = Faults(latency, fail_rate, drop_rate, throttle_rate, accept_timeout_rate)
    config = SandboxConfig(
        api_key=api_key,
        catalogue=loaded,
        speed=speed,
        seed=seed,
        webhook_url=webhook_url,
        alpha_pending_cap=alpha_pending_cap,
        faults=faults,
    )
    if self_check:
        _self_check(config)
        return
    try:
        sock = listen(host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    url = base_url(sock)

    def started() -> None:
        click.echo(f"Infobip sandbox serving {url} with API key {api_key!r} (Ctrl-C stops it)")
        click.echo(f"  try: curl -H 'Authorization: App {api_key}' {url}/resources/1/requests")

    serve(Sandbox(config), sock, started=started)


def _self_check(config: SandboxConfig) -> None:
    from batch.sandbox.server import RunningSandbox

    lookup = {"type": "ALPHANUMERIC_REGISTRATION", "countryCode": "HR"}
    with RunningSandbox(config) as running:
        click.echo(f"Sandbox started on {running.base_url}; POST /resources/1/requirements-lookup")
        click.echo(json.dumps(lookup))
        try:
            response = httpx.post(
                f"{running.base_url}/resources/1/requirements-lookup",
                json=lookup,
                headers=running.headers,
                timeout=10,
            )
        except httpx.HTTPError as exc:
            raise click.ClickException(f"the sandbox did not answer: {exc}") from None
    click.echo(f"HTTP {response.status_code}")
    click.echo(json.dumps(response.json(), indent=2, ensure_ascii=False))
    if not response.is_success:
        raise click.ClickException("the sandbox answered with an error")


# The options several commands share, declared once.
SHARED = {
    "sandbox": click.option(
        "--sandbox",
        is_flag=True,
        help="Use the built-in Infobip sandbox (nothing reaches Infobip).",
    ),
    "log_format": click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        default=None,
        help="Log lines as text or JSON (default: text on a terminal, JSON otherwise).",
    ),
    "quiet": click.option("--quiet", is_flag=True, help="Only warnings and errors."),
    "verbose": click.option(
        "--verbose",
        is_flag=True,
        help="Log each HTTP exchange with Infobip: method, path, status, milliseconds,"
        " attempt (never a header or the key).",
    ),
    "base_url": click.option(
        "--base-url",
        help="Infobip base URL (else INFOBIP_BASE_URL/IB_BASE_URL, or the config file).",
    ),
    "api_key": click.option(
        "--api-key",
        help="Infobip API key (prefer INFOBIP_API_KEY: flags show in the process list).",
    ),
    "account": click.option(
        "--account",
        metavar="NAME",
        help="Use the config file's [accounts.NAME] (base URL, key, limits) for rows whose"
        " account column is empty or missing.",
    ),
    "config": click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="TOML config file with base_url, api_key and [limits].",
    ),
    "limit": click.option(
        "--limit",
        "limit_pairs",
        multiple=True,
        metavar="ENDPOINT=RATE",
        help="Calls per second for an endpoint (lookup, submit, upload, read, ...).",
    ),
    "state_dir": click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="RESOURCE_BATCH_STATE_DIR",
        help="Where the journal of what was submitted lives (default: the user data"
        " folder; RESOURCE_BATCH_STATE_DIR).",
    ),
    "ca_bundle": click.option(
        "--ca-bundle",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help="PEM certificates to trust in addition to the usual ones (a TLS proxy's).",
    ),
}


def _shared(*names: str) -> Callable[[Any], Any]:
    """The shared options `names`, in that order in --help."""

    def decorate(command: Any) -> Any:
        for name in reversed(names):
            command = SHARED[name](command)
        return command

    return decorate


def _run_options(command: Any) -> Any:
    """The options `run` and `validate` share."""
    options = [
        click.argument(
            "input_path", metavar="INPUT", required=False, type=click.Path(path_type=Path)
        ),
        click.option(
            "--out",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Results file (default: INPUT.results.xlsx/.csv beside the input).",
        ),
        SHARED["sandbox"],
        click.option(
            "--documents-dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="Folder DOCUMENT paths are relative to (default: the input's folder).",
        ),
        click.option(
            "--refresh-requirements",
            is_flag=True,
            help="Look requirements up again instead of using the day-old cache.",
        ),
        click.option(
            "--alpha-pending-cap",
            type=click.IntRange(0),
            metavar="N",
            help="Pending alphanumeric requests Infobip allows per country (default 2, or"
            " alpha_pending_cap in the config file); rows past it are DEFERRED unsent."
            " 0: do not foresee it.",
        ),
        _shared(
            "log_format",
            "quiet",
            "verbose",
            "base_url",
            "api_key",
            "account",
            "config",
            "limit",
            "state_dir",
            "ca_bundle",
        ),  # fmt: skip
    ]
    for option in reversed(options):
        command = option(command)
    return command


@main.command()
@_run_options
@click.option("--dry-run", is_flag=True, help="Check every row, send nothing (same as `validate`).")
@click.option(
    "--resubmit-uncertain",
    is_flag=True,
    help="Send again rows whose earlier submit got no answer and is not in Infobip's list.",
)
@click.option(
    "--reconcile-grace",
    type=click.FloatRange(0),
    metavar="SECONDS",
    help="How long a submit with no answer may take to appear in Infobip's list"
    " (default 30, or reconcile_grace in the config file).",
)
@click.option(
    "--fresh-journal",
    is_flag=True,
    help="Set aside an empty or damaged journal (kept, renamed) and start a new one."
    " Only when it is lost for good: check in Infobip what was already submitted.",
)
@click.option(
    "--inbox",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Run every .csv/.xlsx in this folder (name order) instead of INPUT; for cron.",
)
@click.option(
    "--outbox",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where --inbox results go (default: INBOX/results).",
)
def run(**options: Any) -> None:
    """Check every row of INPUT against Infobip's requirements, upload its documents,
    submit the requests and write a results sheet.

    Rows an earlier run submitted are never sent again: the journal in the state
    folder remembers each row (by its reference, or what it asks for) and its requestId.

    A results sheet can be fed back in (its results are written back into it): rows
    with a requestId are never submitted again; edited ones Infobip asked to change are
    sent as updates; `cancel` in the `action` column cancels, and `resubmit` sends a
    REJECTED or CANCELED row again as a new request.

    With --inbox, each input is moved to INBOX/processed once its results are written
    (unless rows are left to do: then it stays for the next run; unreadable ones go to
    INBOX/rejected), and a second run started meanwhile exits at once with code 4.

    Exit codes: 0 no row needs a person or a later run; 1 some row does (INVALID,
    CONFLICT, FAILED, UNCERTAIN, UPDATE_REFUSED, CANCEL_REFUSED, DEFERRED, or a request
    Infobip asks to change or rejected: see each row's nextStep); 2 bad usage,
    configuration or input, or the journal (missing, damaged, or the disk full); 3
    Infobip unreachable or credentials refused; 4 another run is using the state folder;
    130 Ctrl-C, 143 SIGTERM (what was done is written first).

    \b
    Examples:
        resource-batch run samples/requests.xlsx --sandbox
        resource-batch run --inbox /srv/crm-exports --log-format json
    """
    _batch(**options)


@main.command()
@_run_options
def validate(**options: Any) -> None:
    """Check every row of INPUT and write the results sheet; send nothing.

    Same as `run --dry-run`: requirements are looked up (and cached), documents are
    checked on disk, the pending alphanumeric requests are counted (rows past Infobip's
    cap are marked DEFERRED), nothing is uploaded or submitted. Every problem of every
    row is in the results sheet at once: fix the marked cells there and run it.

    \b
    Example:
        resource-batch validate customer.xlsx
    """
    _batch(dry_run=True, **options)


def _batch(
    *,
    input_path: Path | None,
    out: Path | None,
    sandbox: bool,
    documents_dir: Path | None,
    refresh_requirements: bool,
    log_format: str | None,
    quiet: bool,
    verbose: bool,
    base_url: str | None,
    api_key: str | None,
    account: str | None,
    config_path: Path | None,
    limit_pairs: tuple[str, ...],
    state_dir: Path | None,
    ca_bundle: Path | None,
    dry_run: bool,
    alpha_pending_cap: int | None = None,
    resubmit_uncertain: bool = False,
    fresh_journal: bool = False,
    reconcile_grace: float | None = None,
    inbox: Path | None = None,
    outbox: Path | None = None,
) -> None:
    started = time.time()
    live = sys.stderr.isatty() and not quiet
    _logging(log_format, quiet=quiet, verbose=verbose)
    if input_path is None and inbox is None:
        raise click.UsageError("give INPUT" + ("" if dry_run else " or --inbox DIR"))
    if input_path is not None and inbox is not None:
        raise click.UsageError("give either INPUT or --inbox DIR, not both")
    if inbox is not None and out is not None:
        raise click.UsageError("--out names one results file; with --inbox use --outbox DIR")
    if inbox is not None and dry_run:  # it would file the inputs away unsent
        raise click.UsageError("--inbox cannot be a dry run; use validate on each file")
    if inbox is not None and outbox is not None and outbox.resolve() == inbox.resolve():
        raise click.UsageError("--outbox must not be the inbox: results would be run as inputs")
    try:
        with _exit_codes(), contextlib.ExitStack() as stack:
            settings = _settings(
                stack,
                sandbox=sandbox,
                base_url_flag=base_url,
                api_key_flag=api_key,
                account=account,
                config_path=config_path,
                limit_pairs=limit_pairs,
                state_dir=state_dir,
                ca_bundle=ca_bundle,
            )
            settings = library.for_run(
                stack,
                settings,
                dry_run=dry_run,
                documents_dir=documents_dir,
                refresh_requirements=refresh_requirements,
                resubmit_uncertain=resubmit_uncertain,
                fresh_journal=fresh_journal,
                reconcile_grace=reconcile_grace,
                alpha_pending_cap=alpha_pending_cap,
            )
            if inbox is not None:
                code = _inbox(settings, inbox, outbox or inbox / "results", live=live)
            else:
                assert input_path is not None
                with console.Display(live=live) as display:
                    report = asyncio.run(
                        run_sheet(settings, input_path, output=out, progress=display)
                    )
                console.summary(report, live=live)
                code = _exit_code(report)
    except KeyboardInterrupt:
        if inbox is not None:
            _interrupted(
                "Files not yet filed away stay in the inbox; the results of those done are"
                f" in {outbox or inbox / 'results'}."
            )
        assert input_path is not None  # one of the two, as checked above
        written = out or results_path(input_path)
        if written.exists() and written.stat().st_mtime >= started:
            _interrupted(f"What was done so far is in {written}.")
        _interrupted(
            f"{written} was not written; the journal knows what was sent: run the file again"
            " to write it (nothing is sent twice)."
        )
    sys.exit(code)


@contextlib.contextmanager
def _exit_codes() -> Iterator[None]:
    """The errors a command meets, each as its message and the README's exit code: 4
    another run holds the state folder; 2 usage, configuration or input; 3 Infobip
    unreachable or refusing the key. Anything else is a bug and keeps its traceback."""
    try:
        yield
    except Locked as exc:
        _fail(exc, 4)
    except (ConfigError, InputError, JournalError) as exc:
        _fail(exc, 2)
    except ApiError as exc:
        _fail(exc, 3)


def _logging(log_format: str | None, *, quiet: bool, verbose: bool = False) -> None:
    """Log lines as asked, else as text on a terminal and JSON off one (cron)."""
    console.configure_logging(
        log_format or ("text" if sys.stderr.isatty() else "json"), quiet=quiet, verbose=verbose
    )


def _fail(error: Exception, code: int) -> NoReturn:
    click.echo(f"Error: {error}", err=True)
    sys.exit(code)


def _write_bytes(data: bytes, stream: IO[bytes]) -> None:
    stream.write(data)


def _exit_code(report: Report) -> int:
    if isinstance(report.stopped, JournalError):
        return 2  # the state folder (a full disk, say), not Infobip
    return 3 if report.stopped else 0 if report.ok else 1


def _inbox(settings: Settings, inbox: Path, outbox: Path, *, live: bool) -> int:
    """Run each file in the inbox; the exit code is the worst of theirs. Infobip
    unreachable or refusing the key stops at once (the rest wait for the next run)."""
    files = inbox_files.inputs(inbox)
    logger.info("inbox %s: %d file(s) to run", inbox, len(files))
    inbox_files.make_folder(outbox)
    worst = 0
    for path in files:
        output = inbox_files.vacant(outbox / results_path(path).name)
        try:
            with console.Display(live=live) as display:
                report = asyncio.run(run_sheet(settings, path, output=output, progress=display))
        except InputError as exc:
            logger.error("%s", exc, extra={"fields": {"file": str(path), "result": "REJECTED"}})
            note = inbox_files.vacant(outbox / f"{path.name}.error.txt")
            reason = f"{exc}\n".encode()
            write_atomically(note, functools.partial(_write_bytes, reason), what="the reason")
            inbox_files.file_away(path, inbox / "rejected")
            worst = max(worst, 2)
            continue
        console.summary(report, live=live)
        worst = max(worst, _exit_code(report))
        if inbox_files.finished(report):
            inbox_files.file_away(path, inbox / "processed")
        else:
            logger.warning("%s: rows left to do; it stays in the inbox for the next run", path)
        if report.stopped:
            break
    return worst


def _settings(
    stack: contextlib.ExitStack,
    *,
    sandbox: bool,
    base_url_flag: str | None,
    api_key_flag: str | None,
    config_path: Path | None,
    limit_pairs: tuple[str, ...],
    state_dir: Path | None,
    ca_bundle: Path | None = None,
    account: str | None = None,
) -> Settings:
    """Settings from flags, environment and config file (`library.settings`); with
    --sandbox, the sandbox it started is announced."""
    settings = library.settings(
        stack,
        sandbox=sandbox,
        base_url=base_url_flag,
        api_key=api_key_flag,
        account=account,
        config_path=config_path,
        limits=limit_pairs,
        state_dir=state_dir,
        ca_bundle=ca_bundle,
    )
    if settings.sandbox:
        click.echo(
            f"Using the built-in Infobip sandbox at {settings.base_url}: nothing reaches Infobip.",
            err=True,
        )
    return settings


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8086, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--path",
    "hook_path",
    default="/webhooks/infobip",
    show_default=True,
    help="The URL path Infobip POSTs to; any other path is 404.",
)
@click.option(
    "--username",
    envvar="RESOURCE_BATCH_WEBHOOK_USERNAME",
    help="Basic username Infobip must send (else RESOURCE_BATCH_WEBHOOK_USERNAME).",
)
@click.option(
    "--password",
    envvar="RESOURCE_BATCH_WEBHOOK_PASSWORD",
    help="Basic password Infobip must send (prefer RESOURCE_BATCH_WEBHOOK_PASSWORD:"
    " flags show in the process list).",
)
@_shared("base_url", "api_key", "account", "config", "state_dir", "log_format", "quiet")
def webhook(
    host: str,
    port: int,
    hook_path: str,
    username: str | None,
    password: str | None,
    base_url: str | None,
    api_key: str | None,
    account: str | None,
    config_path: Path | None,
    state_dir: Path | None,
    log_format: str | None,
    quiet: bool,
) -> None:
    """Receive Infobip's request status and reminder webhooks into the journal.

    Each RESOURCE_REQUEST_STATUS_UPDATE and RESOURCE_REQUEST_REMINDER is written to the
    journal `run` keeps for the same account (same base URL, API key and state folder;
    the key only names the journal, nothing is sent to Infobip), and answered 200 once
    it is on disk. Infobip must send the HTTP Basic credentials given here (its BASIC
    subscription security); the receiver does not start without them. GET /healthz
    answers without credentials. Serve it behind a TLS reverse proxy.

    Exit codes: 0 stopped by Ctrl-C or SIGTERM; 1 cannot listen; 2 bad usage,
    configuration, or a journal that cannot be opened.

    \b
    Example:
        export RESOURCE_BATCH_WEBHOOK_USERNAME=infobip RESOURCE_BATCH_WEBHOOK_PASSWORD=...
        resource-batch webhook --port 8086 --path /webhooks/infobip
    """
    from batch import webhook as hooks
    from batch.serving import base_url as url_of
    from batch.serving import listen

    _logging(log_format, quiet=quiet)
    if not username or not password:
        raise click.UsageError(
            "the receiver needs the Basic credentials Infobip will send: set"
            " RESOURCE_BATCH_WEBHOOK_USERNAME and RESOURCE_BATCH_WEBHOOK_PASSWORD"
            " (or --username/--password)"
        )
    if ":" in username:
        raise click.UsageError("--username cannot contain ':' (HTTP Basic splits on it)")
    for name, value in (("username", username), ("password", password)):
        try:
            value.encode()
        except UnicodeEncodeError:  # bytes from the environment that are not UTF-8
            raise click.UsageError(
                f"the webhook {name} has a byte that is not UTF-8 text; set it again"
            ) from None
    if not hook_path.startswith("/") or hook_path == hooks.HEALTH_PATH:
        raise click.UsageError(f"--path must start with '/' and not be {hooks.HEALTH_PATH}")
    with _exit_codes(), contextlib.ExitStack() as stack:
        settings = _settings(
            stack,
            sandbox=False,
            base_url_flag=base_url,
            api_key_flag=api_key,
            account=account,
            config_path=config_path,
            limit_pairs=(),
            state_dir=state_dir,
        ).routed("")  # one account's journal: no default account is a usage error
        receiver = hooks.Receiver(
            hooks.ReceiverConfig(
                state_dir=settings.state_dir,
                account=settings.account,
                username=username,
                password=password,
                path=hook_path,
            )
        )
        stack.callback(receiver.close)
        try:
            sock = listen(host, port)
        except OSError as exc:
            msg = f"cannot listen on {host}:{port}: {exc.strerror}"
            raise click.ClickException(msg) from None
        stack.callback(sock.close)
        url = url_of(sock) + hook_path

        def started() -> None:
            click.echo(f"Receiving Infobip webhooks at {url} (Ctrl-C stops it)")
            click.echo(f"  journal: {receiver.recorder.path}")

        hooks.serve(receiver, sock, started=started)


def _lookup_choice(name: str) -> click.Choice[str]:
    return click.Choice(rowlib.ENUMS[name], case_sensitive=False)


@main.command()
@click.option(
    "--type",
    "kind",
    required=True,
    type=click.Choice(kinds.TYPES, case_sensitive=False),
    help="The request type.",
)
@click.option("--country", required=True, help="ISO 3166 two-letter country code, e.g. HR.")
@click.option(
    "--number-type", type=_lookup_choice("numberType"), help="Numbers (required): the kind."
)
@click.option(
    "--capabilities", metavar="LIST", help="Numbers (required): e.g. SMS,VOICE (SMS, VOICE, MMS)."
)
@click.option("--quantity", type=click.IntRange(1, 49), help="Numbers: how many (default 1).")
@click.option(
    "--client-type",
    type=_lookup_choice("clientType"),
    help="Numbers: LOCAL (local numbers first, else international) or INTERNATIONAL"
    " (the default: international numbers only); each asks for other requirements.",
)
@click.option(
    "--traffic-origin",
    type=_lookup_choice("trafficOrigin"),
    help="Alphanumeric (optional), RCS (required): where the business is based.",
)
@click.option("--traffic-type", type=_lookup_choice("trafficType"), help="Alphanumeric (optional).")
@click.option(
    "--excluded-carriers", metavar="LIST", help="RCS: carriers to leave out, separated by ';'."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Workbook to write (default: TYPE-COUNTRY[-NUMBERTYPE].xlsx here); Infobip's"
    " attachments go to OUT-STEM-attachments/ beside it.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing workbook and attachments.")
@_shared("sandbox", "base_url", "api_key", "account", "config", "ca_bundle", "verbose")
def template(
    *,
    kind: str,
    country: str,
    number_type: str | None,
    capabilities: str | None,
    quantity: int | None,
    client_type: str | None,
    traffic_origin: str | None,
    traffic_type: str | None,
    excluded_carriers: str | None,
    out: Path | None,
    force: bool,
    sandbox: bool,
    base_url: str | None,
    api_key: str | None,
    account: str | None,
    config_path: Path | None,
    ca_bundle: Path | None,
    verbose: bool,
) -> None:
    """Write an .xlsx to fill in for one request type and country, from Infobip's
    requirements lookup: a column per field the run reads, a note on each header,
    dropdowns, a Guide sheet, and Infobip's templates and samples downloaded beside it.

    Fill in one row per request and give the file to `run` as it is. An existing
    workbook is overwritten only with --force.

    Exit codes: 0 written; 1 Infobip does not offer it (or refused the lookup); 2 bad
    usage or configuration, or the workbook cannot be written; 3 Infobip unreachable
    or credentials refused.

    \b
    Examples:
        resource-batch template --type ALPHANUMERIC_REGISTRATION --country HR --sandbox
        resource-batch template --type NUMBER_PURCHASE --country GB \\
            --number-type VIRTUAL_LONG_NUMBER --capabilities SMS,VOICE --out gb-numbers.xlsx
    """
    given = {
        "countryCode": country,
        "numberType": number_type,
        "capabilities": capabilities,
        "quantity": None if quantity is None else str(quantity),
        "clientType": client_type,
        "trafficOrigin": traffic_origin,
        "trafficType": traffic_type,
        "excludedCarriers": excluded_carriers,
    }
    fields = {name: value for name, value in given.items() if value is not None}
    out = out or templates.default_path(kind, fields)
    if verbose:  # otherwise it prints what it wrote, and leaves logging as Python has it
        _logging(None, quiet=False, verbose=True)
    stopping = _stoppable(
        f"Run the command again to be sure {out} and its attachments are whole (with --force"
        " if it was written)."
    )
    with stopping, _exit_codes(), contextlib.ExitStack() as stack:
        try:
            templates.lookup_body(kind, fields)  # a usage error now, before any sandbox starts
            templates.check_target(out, force=force)
            settings = _settings(
                stack,
                sandbox=sandbox,
                base_url_flag=base_url,
                api_key_flag=api_key,
                account=account,
                config_path=config_path,
                limit_pairs=(),
                state_dir=None,
                ca_bundle=ca_bundle,
            ).routed("")  # one account's requirements
            written = asyncio.run(
                templates.make_template(settings, kind, fields, out=out, force=force)
            )
        except Unavailable as exc:
            _fail(exc, 1)
        _report_template(written)


def _report_template(written: templates.Written) -> None:
    click.echo(
        f"Template written to {written.path}: sheet {written.sheet}, columns"
        f" {', '.join(written.columns)}."
    )
    for attachment in written.attachments:
        if attachment.path is None:
            click.echo(
                f"Warning: {attachment.key}: Infobip's {attachment.kind} {attachment.problem}",
                err=True,
            )
        else:
            click.echo(f"{attachment.key}: Infobip's {attachment.kind} saved as {attachment.path}")
    click.echo(f"Fill in one row per request, then: resource-batch run {written.path}")


@main.command()
@click.argument("results", nargs=-1, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--all", "everything", is_flag=True, help="Also every unfinished request in the journal."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Without RESULTS: also write the list of requests to this .xlsx or .csv.",
)
@_shared(
    "base_url",
    "api_key",
    "account",
    "config",
    "state_dir",
    "ca_bundle",
    "limit",
    "log_format",
    "quiet",
    "verbose",
)  # fmt: skip
def status(
    results: tuple[Path, ...],
    everything: bool,
    out: Path | None,
    base_url: str | None,
    api_key: str | None,
    account: str | None,
    config_path: Path | None,
    state_dir: Path | None,
    ca_bundle: Path | None,
    limit_pairs: tuple[str, ...],
    log_format: str | None,
    quiet: bool,
    verbose: bool,
) -> None:
    """Refresh where each request stands, and say which need a person.

    Reads Infobip's list (2,000 requests a call) for the requests in RESULTS (results
    sheets of earlier runs), or with --all or no RESULTS every unfinished request in the
    journal, and rewrites RESULTS with each request's status, Infobip's feedback (the
    cells it asks to change are marked), note, numbers, days left to answer and what to
    do next. Every request that needs a person is named on its own lines: file, sheet,
    row and reference, then each thing Infobip asks. Requests already COMPLETED,
    REJECTED or CANCELED are not asked again. Fix what is marked and give the sheet to
    `run`: the fix is sent.

    With several accounts (the config file's [accounts.NAME]), each row is asked of the
    account its account cell names; without RESULTS, the journals listed are those of
    --account, else of the default account and every named one.

    Exit codes: 0 no request needs a person; 1 some request needs a person (Infobip asks
    for changes, or rejected it): for cron alerts; 2 bad usage, configuration or
    results file; 3 Infobip unreachable or credentials refused; 4 a run is using the
    state folder (and may be writing the same sheets).

    \b
    Examples:
        resource-batch status customer.results.xlsx
        resource-batch status --out open-requests.xlsx
    """
    from batch.status import check_listing_target, run_status

    _logging(log_format, quiet=quiet, verbose=verbose)
    if out is not None and results:
        raise click.UsageError("--out lists the journal's requests; give it without RESULTS")
    stopping = _stoppable("Sheets not yet rewritten keep what they had; run it again.")
    with stopping, _exit_codes(), contextlib.ExitStack() as stack:
        settings = _settings(
            stack,
            sandbox=False,
            base_url_flag=base_url,
            api_key_flag=api_key,
            account=account,
            config_path=config_path,
            limit_pairs=limit_pairs,
            state_dir=state_dir,
            ca_bundle=ca_bundle,
        )
        if out is not None:
            check_writable(out, sheets=1)
            check_listing_target(out)
        if results:  # it rewrites them: not while a run may be writing them too
            stack.enter_context(journal.state_lock(settings.state_dir))
        report = asyncio.run(run_status(settings, results, everything=everything, out=out))
        console.status_summary(report, live=sys.stderr.isatty() and not quiet)
    sys.exit(0 if report.ok else 1)


@main.command()
@_shared(
    "sandbox",
    "base_url",
    "api_key",
    "account",
    "config",
    "state_dir",
    "ca_bundle",
    "limit",
    "log_format",
    "quiet",
    "verbose",
)  # fmt: skip
def check(
    sandbox: bool,
    base_url: str | None,
    api_key: str | None,
    account: str | None,
    config_path: Path | None,
    state_dir: Path | None,
    ca_bundle: Path | None,
    limit_pairs: tuple[str, ...],
    log_format: str | None,
    quiet: bool,
    verbose: bool,
) -> None:
    """Say whether a run would work here, changing nothing: where the base URL and the
    API key come from (flag, environment variable or config file; of the key only its
    length and last four characters), whether Infobip accepts them (one list call of one
    request, timed), whether the state and cache folders can be written (or made),
    whether a run holds the lock now, and the journal's rows by state.

    Exit codes: 0 a run can start (warnings, such as a cache that cannot be written,
    are only shown); 2 configuration: credentials missing, a bad config file, a state
    folder that cannot be written, a journal that cannot be read; 3 Infobip unreachable
    or refusing the key.

    \b
    Examples:
        resource-batch check
        resource-batch check --verbose --log-format json
    """
    from batch import check as checks

    _logging(log_format, quiet=quiet, verbose=verbose)
    with _stoppable("Nothing was changed."), contextlib.ExitStack() as stack:
        try:
            settings = _settings(
                stack,
                sandbox=sandbox,
                base_url_flag=base_url,
                api_key_flag=api_key,
                account=account,
                config_path=config_path,
                limit_pairs=limit_pairs,
                state_dir=state_dir,
                ca_bundle=ca_bundle,
            )
        except ConfigError as exc:
            defaults = Settings(base_url="", api_key="")
            findings = checks.unconfigured(
                exc,
                state_dir=state_dir or defaults.state_dir,
                cache_dir=defaults.cache_dir / "requirements",
            )
        else:
            findings = asyncio.run(checks.check(settings))
    code = checks.exit_code(findings)
    console.check_report(findings, code)
    sys.exit(code)
