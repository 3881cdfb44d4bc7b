"""The Infobip Resources API client: one httpx.AsyncClient, a limiter per endpoint,
retries where a retry is safe, and Infobip's errors mapped to ours.

Safe to retry: lookups, reads and uploads (an upload retried at worst leaves an unused
document). A submit is retried only when it certainly did not reach Infobip (throttled
with 429, or the connection never opened); any other failure leaves its outcome unknown
and raises `SubmitUnknown`, never a second POST.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import mimetypes
import socket
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import certifi
import httpx
import stamina
from aiolimiter import AsyncLimiter

from batch.contract import DOCUMENT_TYPES
from batch.errors import ApiError, AuthError, ConfigError

if TYPE_CHECKING:
    from batch.config import Settings

logger = logging.getLogger(__name__)

# Errors that mean "Infobip does not offer this": the row is reported, never submitted.
UNAVAILABLE = frozenset(
    {
        "RR-ALPHA-UNAVAILABLE404",
        "RR-NUMBER-PURCHASE-UNAVAILABLE404",
        "RES-NUM-LOOKUP404",
        "RR-NUMBER-PURCHASE-US-VLN-UNSUPPORTED400",
        "RR-NUMBER-PURCHASE-US-SC-WEB-ONLY400",
        "RR-RCS-SENDER-COUNTRY-UNSUPPORTED400",
    }
)
LIST_PAGE = 2000  # the most GET /resources/1/requests returns per page
CONNECTIONS = 100  # calls in flight at once
# Nagle plus delayed ACKs would add ~40 ms to each keep-alive request.
_SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
# Failures after which a request certainly never reached the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True, slots=True)
class Refusal(Exception):
    """Infobip answered a call with an error: HTTP status, errorCode, texts, violations."""

    status: int
    code: str
    description: str = ""
    violations: tuple[tuple[str, str], ...] = field(default=())

    def __str__(self) -> str:
        text = f"{self.code}: {self.description}" if self.description else self.code
        details = "; ".join(f"{prop}: {text}" if prop else text for prop, text in self.violations)
        return f"{text} ({details})" if details else text


class SubmitUnknown(Exception):
    """A submit whose outcome is unknown: it may or may not have been stored."""


class _Retry(Exception):
    """A 429 or 5xx answer that a retry may cure."""

    def __init__(self, refusal: Refusal, *, retry_after: float = 0.0) -> None:
        self.refusal = refusal
        self.retry_after = retry_after


class Infobip:
    """An open connection to one Infobip account; use as `async with Infobip(...) as api`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        limits: Mapping[str, float],
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        ca_bundle: Path | None = None,
    ) -> None:
        self._limiters = {name: _limiter(rate) for name, rate in limits.items()}
        # Calls the limiter let through wait here, not in httpcore's pool, whose bookkeeping
        # is quadratic in the calls queued on it: at high rates and slow answers, thousands
        # of queued submits spent the CPU there rather than on sending. Taken after the
        # limiter, so that calls waiting for their turn never hold one.
        self._slots = asyncio.Semaphore(CONNECTIONS)
        timeout = httpx.Timeout(read_timeout, connect=connect_timeout, pool=None)
        self._make_client = functools.partial(
            httpx.AsyncClient,
            base_url=base_url,
            headers={"Authorization": f"App {api_key}", "Accept": "application/json"},
            timeout=timeout,
            limits=httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS),
        )
        self._transport = transport
        self._ca_bundle = ca_bundle

    @functools.cached_property
    def _client(self) -> httpx.AsyncClient:
        """Made on first use: a run whose requirements are all cached never connects, and
        is spared loading the certificate store."""
        transport = self._transport or httpx.AsyncHTTPTransport(
            verify=tls_context(self._ca_bundle), socket_options=_SOCKET_OPTIONS
        )
        return self._make_client(transport=transport)

    @classmethod
    def connect(cls, settings: Settings) -> Infobip:
        """A client for the account, limits, timeouts and CA bundle `settings` name."""
        return cls(
            settings.base_url,
            settings.api_key,
            limits=settings.limits,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            ca_bundle=settings.ca_bundle,
        )

    async def __aenter__(self) -> Infobip:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if "_client" in self.__dict__:
            await self._client.aclose()

    def rate(self, endpoint: str) -> float:
        """The calls per second this client allows itself on an endpoint."""
        limiter = self._limiters[endpoint]
        return limiter.max_rate / limiter.time_period

    async def lookup(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The requirement specs for a request's type, country and parameters.

        Raises:
            Refusal: Infobip answered an error; `code in UNAVAILABLE` means not offered.
            AuthError, ApiError: credentials refused; unreachable after retries.
        """
        response = await self._safe("lookup", "POST", "/resources/1/requirements-lookup", json=body)
        requirements: list[dict[str, Any]] = response.json().get("requirements") or []
        return requirements

    async def upload(self, path: Path) -> str:
        """Upload a document; returns its documentId."""
        kind = DOCUMENT_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
        content = await asyncio.to_thread(path.read_bytes)
        files = {"document": (path.name, content, kind or "application/octet-stream")}
        response = await self._safe("upload", "POST", "/resources/1/documents", files=files)
        return str(response.json()["documentId"])

    async def submit(
        self, body: Mapping[str, Any], *, sending: Callable[[], None] = lambda: None
    ) -> str:
        """Submit a request; returns its id. `sending()` is called as each POST leaves,
        so a caller interrupted later knows whether Infobip may have it.

        Raises:
            Refusal: Infobip refused it (nothing was stored).
            SubmitUnknown: it may have been stored; never re-send it blindly.
            AuthError, ApiError: credentials refused; Infobip unreachable.
        """
        try:
            async for attempt in stamina.retry_context(on=_retry_hook(), **_BACKOFF):
                with attempt:
                    async with self._limiters["submit"], self._slots:
                        client = self._client  # made before the journal says "sending"
                        sending()
                        try:
                            response = await client.post("/resources/1/requests", json=body)
                        except _NOT_SENT:
                            raise  # the connection never opened: nothing was sent
                        except httpx.TransportError as exc:
                            raise SubmitUnknown(_describe(exc)) from None
                    if response.status_code == 429:
                        raise _Retry(_refusal(response), retry_after=_retry_after(response))
                    if response.status_code >= 500:
                        raise SubmitUnknown(f"HTTP {response.status_code}: {_refusal(response)}")
        except httpx.TransportError as exc:
            raise ApiError(f"Infobip could not be reached: {_describe(exc)}") from None
        _raise_for_status(response)
        try:
            return str(response.json()["id"])
        except (ValueError, KeyError, TypeError):  # stored, but which request is it?
            raise SubmitUnknown(f"HTTP {response.status_code} without a request id") from None

    async def requests(
        self,
        *,
        types: Sequence[str] = (),
        countries: Sequence[str] = (),
        page: int = 0,
        size: int = LIST_PAGE,
    ) -> dict[str, Any]:
        """One page of the account's requests (of these types, in these countries; all
        when empty), newest first, as many as Infobip allows a page unless `size` says
        fewer: `{"results": [...], "paging": {...}}`."""
        params: dict[str, Any] = {"sort": "requestedDate,desc", "page": page, "size": size}
        if types:
            params["type"] = list(types)
        if countries:
            params["countryCode"] = list(countries)
        response = await self._safe("read", "GET", "/resources/1/requests", params=params)
        page_json: dict[str, Any] = response.json()
        return page_json

    async def update(self, request_id: str, requirements: list[dict[str, Any]]) -> dict[str, Any]:
        """PATCH a request Infobip asked to change with the full requirement set; returns
        the request as it now is. Repeating it is harmless, so it is retried like a read.

        Raises:
            Refusal: refused (RR-INVALID-STATUS400: its status does not allow changes).
        """
        url = f"/resources/1/requests/{request_id}"
        body = {"requirements": requirements}
        response = await self._safe("update", "PATCH", url, json=body)
        updated: dict[str, Any] = response.json()
        return updated

    async def cancel(self, request_id: str) -> None:
        """Cancel a request.

        Raises:
            Refusal: refused (RR-INVALID-STATUS400: its status does not allow it).
        """
        await self._safe("cancel", "POST", f"/resources/1/requests/{request_id}/cancel")

    async def _safe(self, endpoint: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """A call that is safe to repeat: retried on 429 for as long as it takes, and on
        5xx and network failures a few times, with capped exponential backoff and jitter."""
        try:
            async for attempt in stamina.retry_context(on=_retry_hook(), **_BACKOFF):
                with attempt:
                    async with self._limiters[endpoint], self._slots:
                        response = await self._client.request(method, url, **kwargs)
                    if response.status_code == 429 or response.status_code >= 500:
                        raise _Retry(_refusal(response), retry_after=_retry_after(response))
        except httpx.TransportError as exc:
            raise ApiError(f"Infobip did not answer {method} {url}: {_describe(exc)}") from None
        except _Retry as exc:
            raise ApiError(f"Infobip kept failing {method} {url}: {exc.refusal}") from None
        _raise_for_status(response)
        return response

    async def download(self, document_id: str) -> tuple[str, bytes]:
        """A document by its id (an attachment a requirement names, or an upload): its
        file name as Content-Disposition gives it ("" when none) and its bytes.

        Raises:
            Refusal: Infobip answered an error (RR-DOC404: no such document).
            AuthError, ApiError: credentials refused; unreachable after retries.
        """
        import urllib.parse
        from email.message import Message

        url = f"/resources/1/documents/{urllib.parse.quote(document_id, safe='')}"
        # The body is the file itself, of whatever type: not JSON.
        response = await self._safe("download", "GET", url, headers={"Accept": "*/*"})
        header = Message()
        header["Content-Disposition"] = response.headers.get("content-disposition", "")
        return header.get_filename() or "", response.content


def tls_context(ca_bundle: Path | None = None) -> ssl.SSLContext:
    """Certificates are always verified: against the usual authorities (certifi's), plus
    `ca_bundle` when given (a company proxy's own authority, say). Nothing turns it off.

    Raises:
        ConfigError: the bundle cannot be read as PEM certificates.
    """
    context = ssl.create_default_context(cafile=certifi.where())
    if ca_bundle is not None:
        try:
            context.load_verify_locations(cafile=ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"CA bundle {ca_bundle}: not readable as PEM certificates ({exc})"
            ) from None
    return context


def _limiter(rate: float) -> AsyncLimiter:
    """Calls spread evenly at `rate` per second, with a bucket of a tenth of a second's
    calls (at least one): small enough that Infobip's fixed one-second windows see no
    burst worth throttling, big enough that a busy event loop's late wake-ups are made
    up for instead of lost."""
    burst = max(1, int(rate / 10))
    return AsyncLimiter(burst, burst / rate)


# Backoff: 0.25 s doubling to at most 10 s, plus up to 0.5 s jitter; no overall cap,
# since _retry_hook decides when to stop.
_BACKOFF: dict[str, Any] = {
    "attempts": None,
    "timeout": None,
    "wait_initial": 0.25,
    "wait_max": 10.0,
    "wait_jitter": 0.5,
}
MAX_FAILURES = 6


def _retry_hook() -> Any:
    """Retry 429 answers without limit, and 5xx answers and network failures up to
    MAX_FAILURES times for one call; a submit reaches here only with 429s and
    connections that never opened.

    A 429 says "not in this window": the retry waits for its turn at the endpoint's
    limiter, which paces it, so no backoff is added (Retry-After is honoured if sent).
    """
    failures = 0

    def hook(exc: Exception) -> bool | float:
        nonlocal failures
        if isinstance(exc, _Retry) and exc.refusal.status == 429:
            return exc.retry_after
        if isinstance(exc, (_Retry, httpx.TransportError)):
            failures += 1
            return failures < MAX_FAILURES
        return False

    return hook


def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code in (401, 403):
        refusal = _refusal(response)
        raise AuthError(
            f"Infobip refused the credentials: {refusal}", status=refusal.status, code=refusal.code
        )
    if response.is_error:
        raise _refusal(response)


def _refusal(response: httpx.Response) -> Refusal:
    """Infobip's error body, in either of its two shapes, or what little there is."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    legacy = (
        body.get("requestError", {}).get("serviceException") if "requestError" in body else None
    )
    if isinstance(legacy, dict):
        violations = tuple(
            (str(k), str(text))
            for k, texts in (legacy.get("validationErrors") or {}).items()
            for text in texts
        )
        return Refusal(
            response.status_code,
            f"E{response.status_code}",
            str(legacy.get("text", "")),
            violations,
        )
    violations = tuple(
        (str(v.get("property", "")), str(v.get("violation", "")))
        for v in body.get("violations") or []
        if isinstance(v, dict)
    )
    code = str(body.get("errorCode") or f"HTTP {response.status_code}")
    return Refusal(response.status_code, code, str(body.get("description") or ""), violations)


def _retry_after(response: httpx.Response) -> float:
    """Seconds a Retry-After header asks for (Infobip documents none; honoured if sent)."""
    try:
        return min(max(float(response.headers.get("retry-after", 0)), 0.0), 60.0)
    except ValueError:
        return 0.0


def _describe(exc: httpx.TransportError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
