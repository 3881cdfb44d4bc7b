"""The `resource-batch` command line: options in, one library call, errors to exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import click
import httpx

from batch.sandbox import catalogue
from batch.sandbox.app import Faults, Sandbox, SandboxConfig
from batch.sandbox.server import RunningSandbox, base_url, listen, serve


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
