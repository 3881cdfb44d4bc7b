"""The Infobip Resources API client: one httpx.AsyncClient, a limiter per endpoint,
retries where a retry is safe, and Infobip's errors mapped to ours.

Safe to retry: lookups, reads and uploads (an upload retried at worst leaves an unused
document). A submit is retried only when it certainly did not reach Infobip (throttled
with 429, or the connection never opened); any other failure leaves its outcome unknown
and raises `SubmitUnknown`, never a second POST.

Every call is bounded: its whole answer must arrive within `call_deadline` and be at most
MAX_ANSWER_BYTES once decompressed; redirects are never followed (the key would go with
them). An answer that is not what the spec promises is a `BadAnswer` naming the call,
its status and a short excerpt with the key blanked out.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import mimetypes
import re
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import certifi
import httpx
import stamina
from aiolimiter import AsyncLimiter

from batch import contract
from batch.contract import DOCUMENT_TYPES
from batch.errors import ApiError, AuthError, BadAnswer, ConfigError, Refusal, SubmitUnknown

if TYPE_CHECKING:
    from batch.config import Settings

logger = logging.getLogger(__name__)
# One INFO line per HTTP exchange (`--verbose`): method, path and query, status, time,
# attempt; never a header, and the key blanked wherever it could appear.
http_logger = logging.getLogger("batch.http")

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
SUBMIT_CONNECTIONS = 80  # of them submits, each waiting for its answer; the rest for the others
# Nagle plus delayed ACKs would add ~40 ms to each keep-alive request.
_SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
# Failures after which a request certainly never reached the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


# The most an answer may be once decompressed: a page of 2000 requests is a few MB; a
# gzip bomb (2 MB sent, 2 GiB unpacked) stops here.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
# A Retry-After longer than this is logged: the run is waiting, not stuck.
_LONG_WAIT = 5.0


@dataclass(frozen=True, slots=True)
class Answer:
    """A whole answer, read within the call's bounds."""

    call: str  # "POST /resources/1/requests", for messages
    status_code: int
    headers: httpx.Headers
    content: bytes
    secret: bytes = field(default=b"", repr=False)  # blanked out of every excerpt

    @property
    def is_error(self) -> bool:
        return self.status_code >= 400

    def json(self) -> Any:
        """The body as JSON.

        Raises:
            BadAnswer: it is not JSON.
        """
        try:
            return json.loads(self.content)
        except ValueError:
            raise self.bad("not JSON") from None

    def bad(self, what: str, *, shown: bool = True) -> BadAnswer:
        """This answer as off the spec: `what` it is, the status, the type, an excerpt
        (unless not `shown`)."""
        kind = self.excerpt(
            self.headers.get("content-type", "no content type").split(";")[0].encode()
        )
        excerpt = f": {self.excerpt(self.content)!r}" if self.content.strip() else ", empty"
        excerpt = excerpt if shown else ""
        return BadAnswer(
            f"{self.call} answered HTTP {self.status_code} ({kind}{excerpt}): {what},"
            " not what Infobip's API answers",
            status=self.status_code,
        )

    def excerpt(self, content: bytes, limit: int = 120) -> str:
        """The start of `content` as one short line of printable text, the key blanked."""
        content = redacted(content, self.secret)
        text = " ".join(content[: limit * 4].decode("utf-8", "replace").split())
        text = "".join(char if char.isprintable() else "?" for char in text)
        return text if len(text) <= limit else f"{text[: limit - 1]}…"


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
        call_deadline: float = 120.0,
        submit_deadline: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        ca_bundle: Path | None = None,
    ) -> None:
        self._limiters = {name: _limiter(rate) for name, rate in limits.items()}
        # Calls the limiter let through wait here, not in httpcore's pool, whose bookkeeping
        # is quadratic in the calls queued on it: at high rates and slow answers, thousands
        # of queued submits spent the CPU there rather than on sending. Taken after the
        # limiter, so that calls waiting for their turn never hold one.
        self._slots = asyncio.Semaphore(CONNECTIONS - SUBMIT_CONNECTIONS)
        # Submits have slots of their own: a hundred left unanswered must not keep the
        # list read that looks for them (or any other call) from getting a connection.
        self._submit_slots = asyncio.Semaphore(SUBMIT_CONNECTIONS)
        self._deadline = call_deadline
        self._listed_ok: set[str] = set()  # listed items already checked, as JSON text
        # A submit's whole answer, read and all: its body is small, unlike an upload's.
        self._submit_timeout = httpx.Timeout(submit_deadline, connect=connect_timeout, pool=None)
        self._secret = api_key.encode()  # blanked out of every excerpt shown
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
            call_deadline=settings.call_deadline,
            submit_deadline=settings.submit_deadline,
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
            BadAnswer: the answer is not a list of requirements.
            AuthError, ApiError: credentials refused; unreachable after retries.
        """
        answer = await self._safe("lookup", "POST", "/resources/1/requirements-lookup", json=body)
        found = _checked(answer, "RequirementSpecs")
        requirements: list[dict[str, Any]] = found.get("requirements") or []
        if not all(isinstance(item.get("key"), str) and item["key"] for item in requirements):
            raise answer.bad("a requirement without a key")
        return requirements

    async def upload(self, path: Path) -> str:
        """Upload a document; returns its documentId.

        Raises:
            Refusal: Infobip refused the file.
            BadAnswer: the answer has no documentId.
            AuthError, ApiError: credentials refused; unreachable after retries.
        """
        kind = DOCUMENT_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
        content = await asyncio.to_thread(path.read_bytes)
        files = {"document": (path.name, content, kind or "application/octet-stream")}
        answer = await self._safe("upload", "POST", "/resources/1/documents", files=files)
        found = answer.json()
        document_id = found.get("documentId") if isinstance(found, dict) else None
        if not isinstance(document_id, str) or not document_id.strip():
            raise answer.bad("no documentId")
        return document_id

    async def submit(
        self,
        body: Mapping[str, Any],
        *,
        sending: Callable[[], None] = lambda: None,
        answered: Callable[[], None] = lambda: None,
    ) -> str:
        """Submit a request; returns its id. `sending()` is called as each POST leaves,
        so a caller interrupted later knows whether Infobip may have it, and `answered()`
        as each answer (a 429 too) is read: between them, Infobip owes an answer.

        Raises:
            Refusal: Infobip refused it (nothing was stored).
            SubmitUnknown: it may have been stored (no answer, a 5xx, an answer without
                a request id, a redirect, a 4xx page that is not Infobip's): never re-send
                it blindly.
            AuthError, ApiError: credentials refused; Infobip unreachable.
        """
        try:
            async for attempt in stamina.retry_context(on=_retry_hook(), **_BACKOFF):
                with attempt:
                    async with self._limiters["submit"], self._submit_slots:
                        client = self._client  # made before the journal says "sending"
                        sending()
                        try:
                            answer = await self._exchange(
                                client,
                                "POST",
                                "/resources/1/requests",
                                json=body,
                                attempt=attempt.num,
                                timeout=self._submit_timeout,
                            )
                            answered()
                        except _NOT_SENT:
                            raise  # the connection never opened: nothing was sent
                        except httpx.TransportError as exc:
                            raise SubmitUnknown(self._describe(exc)) from None
                        except ApiError as exc:  # too slow or too big: it may be stored
                            raise SubmitUnknown(str(exc)) from None
                    if answer.status_code == 429:
                        raise _Retry(self._refusal(answer), retry_after=self._waited(answer))
                    if answer.status_code >= 500:
                        raise SubmitUnknown(f"HTTP {answer.status_code}: {self._refusal(answer)}")
        except httpx.TransportError as exc:
            raise ApiError(f"Infobip could not be reached: {self._describe(exc)}") from None
        if not answer.is_error and not 200 <= answer.status_code < 300:  # a redirect, say
            raise SubmitUnknown(str(self._off_route(answer)))
        if answer.is_error and answer.status_code not in (401, 403):
            refusal = self._refusal(answer)
            if not refusal.infobip:  # a gateway's page: it may have passed the POST on
                raise SubmitUnknown(
                    f"HTTP {answer.status_code} from something that is not Infobip's API:"
                    f" {refusal.description or 'no text'}"
                )
        self._raise_for_status(answer)
        try:
            found = answer.json()
        except BadAnswer as exc:  # stored, but which request is it?
            raise SubmitUnknown(str(exc)) from None
        request_id = found.get("id") if isinstance(found, dict) else None
        if not isinstance(request_id, str) or not request_id.strip():
            raise SubmitUnknown(str(answer.bad("no request id")))
        return request_id

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
        answer = await self._safe("read", "GET", "/resources/1/requests", params=params)
        found = answer.json()
        results = found.get("results") if isinstance(found, dict) else None
        if not isinstance(results, list):
            raise answer.bad("no list of results")
        _checked(answer, "PageResourceOrderApiDoc", {**found, "results": []})
        # Each item once: reconciliation reads the same newest requests again and again,
        # and checking a page of 2,000 from scratch takes 0.6 s of CPU.
        fresh = {}
        for index, item in enumerate(results):
            text = json.dumps(item, sort_keys=True)
            if text not in self._listed_ok:
                fresh[text] = index
        for index in fresh.values():
            _checked(answer, "PageResourceOrderApiDoc", results[index], f"results[{index}]")
        if len(self._listed_ok) > _LISTED_KEPT:
            self._listed_ok.clear()
        self._listed_ok.update(fresh)
        if not all(isinstance(r.get("id"), str) and r["id"] for r in results):
            raise answer.bad("a listed request without an id")
        page_json: dict[str, Any] = found
        return page_json

    async def pages(
        self, *, types: Sequence[str] = (), countries: Sequence[str] = (), size: int = LIST_PAGE
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The account's requests (of these types, in these countries; all when empty),
        newest first, a page of up to `size` (2,000) at a time, until the list ends: the last
        page by its paging, an empty page, or a page that repeats the one before (an
        answer off the spec must not keep a run reading forever).

        Raises:
            AuthError, ApiError: a page could not be read.
        """
        page, first = 0, None
        while True:
            listing = await self.requests(types=types, countries=countries, page=page, size=size)
            items: list[dict[str, Any]] = listing.get("results") or []
            if not items or items[0]["id"] == first:
                return
            yield items
            first, page = items[0]["id"], page + 1
            if page >= int((listing.get("paging") or {}).get("totalPages") or 0):
                return

    async def update(self, request_id: str, requirements: list[dict[str, Any]]) -> dict[str, Any]:
        """PATCH a request Infobip asked to change with the full requirement set; returns
        the request as it now is. Repeating it is harmless, so it is retried like a read.

        Raises:
            Refusal: refused (RR-INVALID-STATUS400: its status does not allow changes).
        """
        url = f"/resources/1/requests/{request_id}"
        body = {"requirements": requirements}
        answer = await self._safe("update", "PATCH", url, json=body)
        updated: dict[str, Any] = _checked(answer, "ResourceOrderApiDoc")
        return updated

    async def cancel(self, request_id: str) -> None:
        """Cancel a request.

        Raises:
            Refusal: refused (RR-INVALID-STATUS400: its status does not allow it).
            BadAnswer: answered with anything but 204: whether it was cancelled is unknown.
        """
        answer = await self._safe("cancel", "POST", f"/resources/1/requests/{request_id}/cancel")
        if answer.status_code != 204:  # a login page answering 200 cancelled nothing
            raise answer.bad("not the spec's 204 No Content")

    async def _safe(self, endpoint: str, method: str, url: str, **kwargs: Any) -> Answer:
        """A call that is safe to repeat: retried on 429 for as long as it takes, and on
        5xx and network failures a few times, with capped exponential backoff and jitter.

        Raises:
            Refusal: a 4xx answer. AuthError: 401 or 403.
            BadAnswer: a redirect, or an answer too big.
            ApiError: no answer after retries, or none within the call's deadline.
        """
        try:
            async for attempt in stamina.retry_context(on=_retry_hook(), **_BACKOFF):
                with attempt:
                    async with self._limiters[endpoint], self._slots:
                        answer = await self._exchange(
                            self._client, method, url, attempt=attempt.num, **kwargs
                        )
                    if answer.status_code == 429 or answer.status_code >= 500:
                        raise _Retry(self._refusal(answer), retry_after=self._waited(answer))
        except httpx.TransportError as exc:
            raise ApiError(
                f"Infobip did not answer {method} {url}: {self._describe(exc)}"
            ) from None
        except _Retry as exc:
            raise ApiError(f"Infobip kept failing {method} {url}: {exc.refusal}") from None
        if not answer.is_error and not 200 <= answer.status_code < 300:
            raise self._off_route(answer)
        self._raise_for_status(answer)
        return answer

    async def _exchange(
        self, client: httpx.AsyncClient, method: str, url: str, *, attempt: int = 1, **kwargs: Any
    ) -> Answer:
        """One exchange, its whole answer read within the call's deadline and size bound,
        then logged to `batch.http` (or its failure is).

        Raises:
            httpx.TransportError: the connection failed or a timeout passed.
            ApiError: no whole answer within the deadline.
            BadAnswer: an answer bigger than MAX_ANSWER_BYTES once decompressed.
        """
        request = client.build_request(method, url, **kwargs)
        started = time.monotonic()
        timeout = kwargs.get("timeout")
        deadline = (
            (timeout.read, "submit_deadline") if timeout else (self._deadline, "call_deadline")
        )
        try:
            answer = await self._read(client, request, f"{method} {url}", deadline)
        except BaseException as exc:
            status = exc.status if isinstance(exc, ApiError) else None
            self._log_exchange(request, status, self._failure(exc), started, attempt)
            raise
        self._log_exchange(request, answer.status_code, None, started, attempt)
        return answer

    async def _read(
        self,
        client: httpx.AsyncClient,
        request: httpx.Request,
        call: str,
        deadline: tuple[float, str],
    ) -> Answer:
        """Send `request` and read its whole answer, within the call's bounds: `deadline`
        is the seconds it may take, and the setting that says so."""
        seconds, setting = deadline
        try:
            async with asyncio.timeout(seconds):
                response = await client.send(request, stream=True)
                try:
                    chunks, size = [], 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > MAX_ANSWER_BYTES:
                            answer = Answer(call, response.status_code, response.headers, b"")
                            raise answer.bad(
                                f"more than {MAX_ANSWER_BYTES // 2**20} MB once unpacked",
                                shown=False,
                            )
                        chunks.append(chunk)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise ApiError(
                f"Infobip did not finish answering {call} within {seconds:g} s ({setting})"
            ) from None
        except httpx.DecodingError as exc:
            raise Answer(call, response.status_code, response.headers, b"").bad(
                f"its compressed body is damaged ({exc})", shown=False
            ) from None
        content = b"".join(chunks)
        return Answer(call, response.status_code, response.headers, content, self._secret)

    def _failure(self, exc: BaseException) -> str:
        """Why an exchange has no usable answer, for its log line, the key blanked."""
        if isinstance(exc, httpx.TransportError):
            return self._describe(exc)
        if isinstance(exc, ApiError):
            return redacted(str(exc).encode(), self._secret).decode()
        return type(exc).__name__  # cancelled: Ctrl-C, or the run stopping

    def _log_exchange(
        self,
        request: httpx.Request,
        status: int | None,
        failure: str | None,
        started: float,
        attempt: int,
    ) -> None:
        """One `batch.http` line: method, path and query (the key blanked), the status and
        what went wrong if anything, the milliseconds from sending to the answer's last
        byte, which attempt it was. Never a header."""
        if not http_logger.isEnabledFor(logging.INFO):
            return
        ms = round((time.monotonic() - started) * 1000)
        target = redacted(request.url.raw_path, self._secret).decode("ascii", "replace")
        which = "1st attempt" if attempt == 1 else f"retry {attempt - 1}"
        said = " ".join(filter(None, (f"HTTP {status}" if status else "", failure or "")))
        fields = {"method": request.method, "path": target, "status": status, "ms": ms}
        fields |= {"attempt": attempt, "error": failure}
        http_logger.info(
            "%s %s: %s in %d ms (%s)", request.method, target, said, ms, which,
            extra={"fields": fields},
        )  # fmt: skip

    def _describe(self, exc: httpx.TransportError) -> str:
        """A transport failure in words, the key blanked (httpx's header errors quote the
        header's value)."""
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return redacted(text.encode(), self._secret).decode()

    def _off_route(self, answer: Answer) -> BadAnswer:
        """A 1xx or 3xx answer: never followed, so the key goes nowhere else."""
        location = answer.headers.get("location")
        if location:
            target = httpx.URL(location)
            where = f"{target.scheme}://{target.host}{target.path}" if target.host else location
            return answer.bad(
                f"a redirect to {answer.excerpt(where.encode())}; redirects are never followed"
                " (the API key would go with them): check the base URL"
            )
        return answer.bad("neither an answer nor an error")

    def _waited(self, answer: Answer) -> float:
        """The Retry-After an answer asks for, logged when long."""
        seconds = _retry_after(answer)
        if seconds >= _LONG_WAIT:
            logger.warning(
                "%s: Infobip asks to wait %g s before trying again (HTTP %d, Retry-After)",
                answer.call,
                seconds,
                answer.status_code,
                extra={"fields": {"retry_after": seconds}},
            )
        return seconds

    def _raise_for_status(self, answer: Answer) -> None:
        if answer.status_code in (401, 403):
            refusal = self._refusal(answer)
            said = (
                f"Infobip refused the credentials: {refusal}"
                if refusal.infobip
                else f"{answer.call} was refused with HTTP {answer.status_code} by something"
                f" that is not Infobip's API (a proxy?): {refusal.description or 'no text'}"
            )
            raise AuthError(said, status=refusal.status, code=refusal.code)
        if answer.is_error:
            raise self._refusal(answer)

    def _refusal(self, answer: Answer) -> Refusal:
        """Infobip's error body, in either of its two shapes, or the status and an
        excerpt of whatever answered (a proxy's page), the key blanked out."""
        refusal = _refusal(answer)
        if refusal.infobip:  # its texts may quote the key ("Unknown key: App ...")
            return Refusal(
                refusal.status or answer.status_code,
                refusal.code or "",
                answer.excerpt(refusal.description.encode(), limit=500),
                [
                    (prop, answer.excerpt(why.encode(), limit=500))
                    for prop, why in refusal.violations
                ],
            )
        return Refusal(
            answer.status_code,
            f"HTTP {answer.status_code}",
            answer.excerpt(answer.content),
            infobip=False,
        )

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
        answer = await self._safe("download", "GET", url, headers={"Accept": "*/*"})
        header = Message()
        header["Content-Disposition"] = answer.headers.get("content-disposition", "")
        name = redacted((header.get_filename() or "").encode(), self._secret).decode()
        return name, answer.content


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


def _refusal(answer: Answer) -> Refusal:
    """Infobip's error body, in either of its two shapes; `infobip` False when the body
    is neither (a proxy's page, an empty body)."""
    try:
        body = json.loads(answer.content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return Refusal(answer.status_code, f"HTTP {answer.status_code}", infobip=False)
    error = body.get("requestError")
    legacy = error.get("serviceException") if isinstance(error, dict) else None
    if isinstance(legacy, dict):
        errors = legacy.get("validationErrors")
        violations = tuple(
            (str(k), str(text))
            for k, texts in (errors.items() if isinstance(errors, dict) else ())
            for text in (texts if isinstance(texts, list) else [texts])
        )
        return Refusal(
            answer.status_code,
            f"E{answer.status_code}",
            str(legacy.get("text", "")),
            violations,
        )
    code = body.get("errorCode")
    if not isinstance(code, str) or not code:
        return Refusal(answer.status_code, f"HTTP {answer.status_code}", infobip=False)
    found = body.get("violations")
    violations = tuple(
        (str(v.get("property", "")), str(v.get("violation", "")))
        for v in (found if isinstance(found, list) else ())
        if isinstance(v, dict)
    )
    return Refusal(answer.status_code, code, str(body.get("description") or ""), violations)


_WHOLE: Any = object()  # `_checked`: the whole answer
_LISTED_KEPT = 100_000  # listed items known to be on the spec, kept to check no more


def _checked(answer: Answer, schema: str, part: Any = _WHOLE, item: str = "") -> dict[str, Any]:
    """The answer's JSON object, checked against the spec's schema for it: what is off
    the spec stops here, not deep in the code that reads it. With `part` and `item`
    (`results[3]`), only that item of a list answer is checked, against the schema's
    item schema.

    Raises:
        BadAnswer: not JSON, or not what the schema says (the first difference named).
    """
    found = answer.json() if part is _WHOLE else part
    within = "/properties/results/items" if item else ""
    error = next(contract.validator(schema, within).iter_errors(found), None)
    if error is not None:
        where = item + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
        text = answer.excerpt(error.message.encode())
        raise answer.bad(f"{where.lstrip('.') or 'the body'}: {text}")
    if not isinstance(found, dict):
        raise answer.bad("not a JSON object")
    return found


def redacted(content: bytes, secret: bytes) -> bytes:
    """`content` with every occurrence of the key blanked out, in any letter case (a
    host name comes back lowercased)."""
    if not secret:
        return content
    return re.sub(re.escape(secret), b"[API key]", content, flags=re.IGNORECASE)


def _retry_after(answer: Answer) -> float:
    """Seconds a Retry-After header asks for (Infobip documents none; honoured if sent,
    up to a minute)."""
    try:
        seconds = float(answer.headers.get("retry-after", 0))
    except ValueError:
        return 0.0
    return min(seconds, 60.0) if seconds > 0 else 0.0
