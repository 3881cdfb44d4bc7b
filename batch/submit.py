"""Sending checked rows: each distinct file uploaded once, each request submitted once, ever.

Every step is in the journal before it is taken. A row is recorded SUBMITTING as its POST
leaves; an answer makes it SUBMITTED (or DEFERRED, FAILED). A POST that gets no usable
answer is looked for in Infobip's list (`reconcile`): found, it is SUBMITTED; not found
after a grace period, it is sent once more; still unknown, it is UNCERTAIN and only
`--resubmit-uncertain` sends it again. A later run settles what an earlier one left
SUBMITTING or UNCERTAIN the same way before it sends anything.

Rows of a results sheet fed back in carry a requestId and are followed up instead
(`followup`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from batch import reconcile
from batch.api import Infobip
from batch.config import Settings
from batch.documents import LocalDocument
from batch.errors import (
    ApiError,
    AuthError,
    JournalError,
    Refusal,
    SubmitUnknown,
)
from batch.journal import Entry, Journal
from batch.kinds import ALPHA
from batch.outcome import FINAL, Outcome, Problem, Progress, Result, shown
from batch.rows import Candidate
from batch.uploads import UPLOAD_FAILED, Uploads, upload_failed

logger = logging.getLogger(__name__)

DEFERRING = frozenset({"RR-ALPHA-SS-LIMIT400"})  # too many pending: try again next run
_MAY_EXIST = frozenset({"SUBMITTING", "SUBMITTED", "UNCERTAIN"})  # a POST may have gone


class Sender:
    """Uploads and submits the rows of one run, with the account's journal."""

    def __init__(
        self, api: Infobip, journal: Journal, settings: Settings, progress: Progress
    ) -> None:
        self.api, self.journal, self.settings, self.progress = api, journal, settings, progress
        self.claimed = journal.request_ids()
        self.uploads = Uploads(api, journal, progress)
        self.lookout = reconcile.Lookout(api, claimed=self.claimed)
        self.in_flight: dict[str, Mapping[str, Any]] = {}  # submits not yet answered, by key
        self._answer_came = asyncio.Event()  # set, and replaced, as each leaves `in_flight`

    async def settle(self) -> None:
        """Settle what earlier runs left SUBMITTING (killed mid-POST) or UNCERTAIN: found
        in Infobip's list, SUBMITTED; a SUBMITTING one not found, DEFERRED, so that its
        row is sent again when it comes. An UNCERTAIN one not found stays UNCERTAIN (it
        was already sent twice: if our matching misses what Infobip stored, sending on
        every run would buy the numbers every night) unless --resubmit-uncertain.
        Listing failures leave them as they are.

        Raises:
            AuthError: Infobip refused the credentials.
        """
        for entry in self.journal.unresolved():
            if entry.body is None or entry.sent_at is None:
                continue
            try:
                found = await self._find(entry.key, entry.body, entry.sent_at)
            except AuthError:
                raise
            except ApiError as exc:
                logger.warning("could not check %s in Infobip's list: %s", entry.key, exc)
                continue
            if found is not None:
                self._found(entry.key, found)
            elif entry.state == "SUBMITTING":
                reason = "not found at Infobip after an interrupted run; to be sent again"
                self.journal.deferred(entry.key, None, reason)
            elif self.settings.resubmit_uncertain:
                self.journal.deferred(entry.key, None, "not found; sent again as asked")

    async def plan(
        self,
        ready: list[Candidate],
        *,
        record: bool,
        file: str,
    ) -> list[tuple[Candidate, str]]:
        """The rows to send, with their journal keys, in sheet order. Rows an earlier run
        submitted are ALREADY_SUBMITTED; a changed row under a submitted reference is
        CONFLICT; rows whose earlier submit is unsettled are UNCERTAIN; alphanumeric rows
        past Infobip's cap on pending requests are DEFERRED. A row whose outcome
        `replaces` a REJECTED or CANCELED request (`FollowUp` set it) is that request
        sent again. With `record`, the rows to send are recorded VALIDATED.

        Raises:
            AuthError: Infobip refused the credentials (reading the pending requests).
        """
        keyed: list[tuple[Candidate, str, str]] = []
        for candidate in ready:
            # A referenced row is known by its reference: what it asks for is worked
            # out only when it matters (a known reference, or a row to record).
            content = "" if candidate.reference else candidate.content()
            keyed.append((candidate, candidate.key(content), content))
        entries = self.journal.entries(key for _, key, _ in keyed)
        # Resubmits: a rejected request is replaced once. And a row waiting to be sent
        # again is sent only by a row that asks for it (not by the original input).
        replacing = self.journal.replaced_by(
            c.outcome.replaces for c in ready if c.outcome.replaces
        )
        waiting = self.journal.earlier(
            key for _, key, _ in keyed if key in entries and entries[key].request_id is None
        )
        to_send, reopened = [], []
        for candidate, key, content in keyed:
            outcome = candidate.outcome
            outcome.key = key
            entry = entries.get(key)
            earlier = outcome.replaces or None
            went = replacing.get(earlier) if earlier is not None else None
            if earlier and went is not None and went.key != key and went.state in _MAY_EXIST:
                _gone_again(outcome, earlier, went)
            elif earlier is None and key in waiting:
                _waits_for_resubmit(outcome, waiting[key][-1])
            elif earlier is not None and entry is not None and entry.state == "SUBMITTED":
                if entry.request_id == earlier:  # still the rejected one: ask anew
                    reopened.append((key, earlier))
                    to_send.append((candidate, key, content))
                else:
                    outcome.result = Result.ALREADY_SUBMITTED
                    outcome.known(entry)
                    outcome.warnings.append(_redone(earlier, entry))
                    outcome.cells["action"] = ("", f"{earlier} was already sent again.")
            elif entry is None or entry.state in ("VALIDATED", "DEFERRED", "FAILED"):
                to_send.append((candidate, key, content))
            elif (content := content or candidate.content()) != entry.content and not (
                self.journal.had(key, content)
            ):
                outcome.result = Result.CONFLICT
                outcome.errors = [_conflict(candidate, entry)]
            elif entry.state == "SUBMITTED":
                outcome.result = Result.ALREADY_SUBMITTED
                outcome.known(entry)
            else:  # SUBMITTING or UNCERTAIN: may exist at Infobip
                outcome.result = Result.UNCERTAIN
                outcome.errors = [_unsettled(entry)]
        to_send = await self._within_cap(to_send)
        if record:
            sending = {key for _, key, _ in to_send}
            for key, earlier in reopened:
                if key in sending:
                    self.journal.reopen(key, earlier)
            self.journal.validated(
                (
                    key,
                    content or candidate.content(),
                    candidate.type,
                    candidate.country,
                    _source(file, candidate),
                )
                for candidate, key, content in to_send
            )
            for candidate, key, _ in to_send:
                earlier = candidate.outcome.replaces
                if earlier and key not in dict(reopened):
                    self.journal.replaced(key, earlier, candidate.outcome.request_status or None)
        show_earlier(self.journal, (candidate for candidate, _, _ in keyed))
        return [(candidate, key) for candidate, key, _ in to_send]

    async def _within_cap(
        self, rows: list[tuple[Candidate, str, str]]
    ) -> list[tuple[Candidate, str, str]]:
        """The rows without those Infobip would refuse for its cap on pending alphanumeric
        requests per country, which are DEFERRED here, in sheet order, without a call:
        the rows first in the sheet get the places left."""
        cap = self.settings.alpha_pending_cap
        countries = sorted({str(c.country) for c, _, _ in rows if c.type == ALPHA})
        if not cap or not countries:
            return rows
        try:
            pending = await self._pending(countries)
        except AuthError:
            raise
        except ApiError as exc:
            logger.warning("could not count the pending alphanumeric requests: %s", exc)
            return rows
        left = {country: cap - pending[country] for country in countries}
        kept = []
        for row in rows:
            candidate = row[0]
            country = str(candidate.country)
            if candidate.type == ALPHA:
                if left[country] <= 0:
                    _defer(
                        candidate.outcome,
                        country,
                        _capped(cap, country, pending[country], dry_run=self.settings.dry_run),
                    )
                    continue
                left[country] -= 1
            kept.append(row)
        return kept

    async def _pending(self, countries: Sequence[str]) -> Counter[str]:
        """How many alphanumeric requests are pending (not final) per country."""
        counts: Counter[str] = Counter()
        async for items in self.api.pages(types=[ALPHA], countries=countries):
            for item in items:
                if item.get("status") not in FINAL:
                    counts[str(item.get("countryCode"))] += 1
        return counts

    async def send_all(self, rows: list[tuple[Candidate, str]]) -> ApiError | JournalError | None:
        """Upload each distinct file once (ever: the journal remembers documentIds) and
        submit each row as soon as its files are in.

        Returns why the run stopped early (credentials refused, Infobip unreachable, the
        journal unwritable), or None. Rows not sent by then are FAILED; a row whose submit
        was in flight is UNCERTAIN (and SUBMITTING in the journal, settled by the next run).
        """
        files: dict[str, LocalDocument] = {}
        for candidate, _ in rows:
            for document in candidate.documents:
                files.setdefault(document.sha256, document)
        self.progress.start("files uploaded", len(files))
        self.progress.start("requests submitted", len(rows))
        stopped: ApiError | JournalError | None = None
        try:
            async with asyncio.TaskGroup() as tasks:
                for sha, document in files.items():  # in the order rows first need them
                    self.uploads.futures[sha] = tasks.create_task(self.uploads.upload(document))
                queue: asyncio.Queue[tuple[Candidate, str]] = asyncio.Queue()
                for row in rows:
                    queue.put_nowait(row)
                workers = min(len(rows), 64 + int(self.api.rate("submit") * 10))
                for _ in range(workers):
                    tasks.create_task(self._worker(queue))
        except* (ApiError, JournalError) as group:
            first = group.exceptions[0]
            assert isinstance(first, (ApiError, JournalError))
            stopped = first.about(self.settings.account_name)
        not_sent([c for c, _ in rows], f"the run stopped ({stopped})")
        return stopped

    async def _worker(self, queue: asyncio.Queue[tuple[Candidate, str]]) -> None:
        while not queue.empty():
            candidate, key = queue.get_nowait()
            await self._send(candidate, key, candidate.outcome)
            self.progress.advance("requests submitted")

    async def _send(self, candidate: Candidate, key: str, outcome: Outcome) -> None:
        """Wait for the row's files, submit it, and settle what became of it."""
        try:
            body = await self.uploads.with_document_ids(candidate, outcome)
        except UPLOAD_FAILED as refusal:
            message = upload_failed(refusal)
            outcome.result, outcome.errors = Result.FAILED, [Problem(message)]
            self.journal.failed(key, refusal.code, message)
            return
        for attempt in (1, 2):
            sent_at = await self._submit(candidate, key, body, outcome)
            if sent_at is None:
                return  # answered: SUBMITTED, DEFERRED or FAILED
            try:
                found = await self._find(key, body, sent_at)
            except AuthError:
                raise
            except ApiError as exc:
                self._uncertain(key, outcome, f"and Infobip's list could not be read ({exc})")
                return
            if found is not None:
                self._found(key, found, outcome)
                return
            if attempt == 1:
                self.journal.deferred(key, None, "no answer, and not in Infobip's list")
                logger.info("%s: not stored by Infobip after no answer; sending it once more", key)
        self._uncertain(key, outcome, "twice, and neither is in Infobip's list yet")

    async def _submit(
        self, candidate: Candidate, key: str, body: dict[str, Any], outcome: Outcome
    ) -> datetime | None:
        """POST the row once (429s waited out). Returns when it was sent if its outcome is
        unknown, else None with the answer recorded."""
        sent: list[datetime] = []
        left: list[float] = []  # when the POST owed an answer left (none: none owed)

        def sending() -> None:
            left[:] = [time.monotonic()]
            if not sent:  # the journal has it before the first POST leaves
                self.journal.submitting(key, body)
                sent.append(datetime.now(UTC))
                self.in_flight[key] = body
                # Until an answer is recorded, the row claims no more than the journal.
                outcome.result = Result.UNCERTAIN
                outcome.errors = [Problem(_IN_FLIGHT)]

        call = asyncio.ensure_future(self.api.submit(body, sending=sending, answered=left.clear))
        try:
            listed = await self._watch(call, key, body, sent, left)
        except BaseException:
            call.cancel()
            raise
        finally:
            if self.in_flight.pop(key, None) is not None:
                self._answer_came.set()
                self._answer_came = asyncio.Event()
        if listed is not None:  # stored, its answer not come: the call is abandoned
            call.cancel()
            why = f"while its submit went unanswered (over {self.settings.look_after:g} s)"
            self._found(key, listed, outcome, why=why)
            return None
        try:
            request_id = await call
        except Refusal as refusal:
            if refusal.code in DEFERRING:
                why = (
                    f"not sent: Infobip refused it, as {candidate.country} already has as many"
                    f" pending alphanumeric requests as it allows ({refusal.code})"
                )
                _defer(outcome, str(candidate.country), why)
                self.journal.deferred(key, refusal.code, str(refusal))
            else:
                outcome.result, outcome.errors = Result.FAILED, _refusal_problems(refusal)
                self.journal.failed(key, refusal.code, str(refusal))
            return None
        except SubmitUnknown as exc:
            # UNCERTAIN until the list says otherwise, should the run stop meanwhile.
            outcome.result = Result.UNCERTAIN
            outcome.errors = [
                Problem(f"no answer to the submit ({exc}); being looked for at Infobip")
            ]
            return sent[0]
        except ApiError as exc:  # unreachable or refused before anything was stored
            if sent:
                outcome.result, outcome.stopped = Result.FAILED, True
                outcome.errors = [Problem(f"not sent: the run stopped ({exc})")]
                self.journal.failed(key, None, f"not sent: {exc}")
            raise
        self.claimed.add(request_id)
        _submitted(outcome, request_id, "PENDING", sent[0])
        try:
            self.journal.submitted(key, request_id)
        except JournalError:
            outcome.errors = [Problem(_UNRECORDED)]
            raise
        return None

    async def _watch(
        self,
        call: asyncio.Future[str],
        key: str,
        body: Mapping[str, Any],
        sent: list[datetime],
        left: list[float],
    ) -> dict[str, Any] | None:
        """Wait for the submit `call`. Once a POST of it has gone unanswered for
        `look_after` seconds (`left`: when the POST owed an answer left; a 429 answered
        and waiting to be sent again owes none), look for the row in Infobip's list
        meanwhile (once): returns the listed request if it is found before the call ends,
        else None when the call has ended.

        A listed request that another unanswered submit of this run may have made (the
        same numbers bought twice, under two references) is not taken: which is whose
        is told by their answers, or after them by `_find`."""
        look_after = self.settings.look_after
        while not left or time.monotonic() - left[-1] < look_after:
            remaining = look_after - (time.monotonic() - left[-1]) if left else look_after
            done, _ = await asyncio.wait({call}, timeout=max(remaining, 0.01))
            if done:
                return None
        look = asyncio.ensure_future(self.lookout.find(body, sent[0]))
        both: set[asyncio.Future[Any]] = {call, look}
        try:
            await asyncio.wait(both, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not look.done():  # answered first: the reading goes on for the others
                look.cancel()
        read = look.done() and not look.cancelled()
        failed = look.exception() if read else None
        item = look.result() if read and failed is None else None
        if item is not None and not call.done() and self._only_match(key, item):
            return item
        if item is not None:  # answered meanwhile, or it may be another row's
            self.lookout.release(item)
        elif failed is not None:
            logger.info(
                "%s: Infobip's list could not be read while its submit was unanswered (%s);"
                " waiting for the answer",
                key,
                failed,
            )
        await asyncio.wait({call})
        return None

    def _only_match(self, key: str, item: Mapping[str, Any]) -> bool:
        """Whether `item` is unclaimed and no other unanswered submit of the run matches it."""
        return str(item.get("id")) not in self.claimed and not self._others_owe(key, item)

    async def _find(
        self, key: str, body: Mapping[str, Any], sent_at: datetime
    ) -> dict[str, Any] | None:
        """The listed request matching `body` (the row `key`'s), waiting first until the
        grace period after `sent_at` is over (a request just stored may not be listed
        yet). A listed request that another submit still owed an answer may equally have
        made is not taken: its answer says whose it is, and then the list is read again
        (those calls end by their deadline)."""
        waited = (datetime.now(UTC) - sent_at).total_seconds()
        if waited < self.settings.reconcile_grace:
            await asyncio.sleep(self.settings.reconcile_grace - waited)
        found = await self.lookout.find(body, sent_at)
        while found is not None and not self._only_match(key, found):
            self.lookout.release(found)
            while self._others_owe(key, found):
                await self._answer_came.wait()
            found = await self.lookout.find(body, sent_at)
        return found

    def _others_owe(self, key: str, item: Mapping[str, Any]) -> bool:
        """Whether another row's unanswered submit may have made `item`."""
        return any(
            reconcile.matches(body, item) for other, body in self.in_flight.items() if other != key
        )

    def _found(
        self,
        key: str,
        item: Mapping[str, Any],
        outcome: Outcome | None = None,
        *,
        why: str = "after no answer",
    ) -> None:
        request_id = str(item["id"])
        self.claimed.add(request_id)
        self.lookout.release(item)  # taken: in `claimed` now
        logger.info("%s: found at Infobip as %s %s", key, request_id, why)
        if outcome is not None:
            _submitted(
                outcome, request_id, str(item.get("status") or ""), reconcile.requested(item)
            )
        try:
            found = f"found in Infobip's list {why}"
            self.journal.submitted(key, request_id, status=item.get("status"), why=found)
        except JournalError:
            if outcome is not None:
                outcome.errors = [Problem(_UNRECORDED)]
            raise

    def _uncertain(self, key: str, outcome: Outcome, why: str) -> None:
        reason = f"sent with no answer {why}; it may have been stored"
        self.journal.uncertain(key, reason)
        outcome.result = Result.UNCERTAIN
        outcome.errors = [
            Problem(
                f"{reason}. Not sent again: the next run looks for it in Infobip's list;"
                " with --resubmit-uncertain it sends it again if it is still not there"
            )
        ]


# What a row says while the journal holds it SUBMITTING and no answer is recorded.
_IN_FLIGHT = (
    "the run stopped while this request was being sent; the next run checks with Infobip"
    " whether it was stored"
)
_UNRECORDED = (
    "Infobip has it, but the journal could not record its requestId (see the run's"
    " error); the next run finds it in Infobip's list and records it, sending nothing again"
)


def not_sent(rows: Iterable[Candidate], reason: str) -> None:
    """Rows the run did not get to are FAILED, saying why; a row carrying a requestId
    (a results sheet fed back in) exists at Infobip whatever happened, and says so."""
    for candidate in rows:
        outcome = candidate.outcome
        if outcome.result is not None:
            continue
        if candidate.request_id and not outcome.replaces:
            outcome.result = Result.ALREADY_SUBMITTED
            outcome.errors.append(Problem(f"not followed up: {reason}"))
        else:
            outcome.result, outcome.stopped = Result.FAILED, True
            outcome.errors.append(Problem(f"not sent: {reason}"))


def show_earlier(journal: Journal, candidates: Iterable[Candidate]) -> None:
    """Each row's earlier requests, for its earlierRequests column."""
    by_key = {c.outcome.key: c for c in candidates if c.outcome.key}
    for key, earlier in journal.earlier(by_key).items():
        by_key[key].outcome.earlier = [
            f"{shown(when)[:10]}: sent again; the earlier request {request_id} was"
            f" {was or 'closed'}"
            for request_id, was, when in earlier
        ]


def _submitted(outcome: Outcome, request_id: str, status: str, when: datetime | None) -> None:
    """A row Infobip now has a request for; a resubmit that took is cleared from the row."""
    outcome.result, outcome.request_id, outcome.request_status = (
        Result.SUBMITTED,
        request_id,
        status,
    )
    outcome.submitted_at, outcome.errors = shown(when), []
    outcome.note = outcome.numbers = ""
    if outcome.replaces:
        day = shown(datetime.now(UTC))[:10]
        outcome.cells["action"] = ("", f"resubmit done {day}: replaces {outcome.replaces}.")


def _defer(outcome: Outcome, country: str, why: str) -> None:
    outcome.result, outcome.deferred_by = Result.DEFERRED, country
    outcome.errors = [Problem(why)]


def _capped(cap: int, country: str, pending: int, *, dry_run: bool) -> str:
    held = f"in {country}, {pending} {'is' if pending == 1 else 'are'} pending"
    if pending < cap:
        left = cap - pending
        held += f" and the rows above take the {left} place{'s' if left > 1 else ''} left"
    said = "a run would not send it yet" if dry_run else "not sent"
    return (
        f"{said}: Infobip allows {cap} pending alphanumeric requests per country, and {held};"
        " the next run after one of them is decided sends it"
    )


def _refusal_problems(refusal: Refusal) -> list[Problem]:
    """Infobip's refusal, each violation of a requirement on that requirement's cell."""
    problems = [Problem(f"Infobip refused it: {refusal.code}: {refusal.description}".rstrip(": "))]
    for prop, text in refusal.violations:
        key = prop.removeprefix("requirements.") if prop.startswith("requirements.") else None
        problems.append(Problem(text, key) if key else Problem(f"{prop}: {text}" if prop else text))
    return problems


def _gone_again(outcome: Outcome, earlier: str, went: Entry) -> None:
    """A resubmit of a request another row (an edited copy) already sent again."""
    outcome.result = Result.UNCERTAIN if went.state != "SUBMITTED" else Result.ALREADY_SUBMITTED
    outcome.known(went)
    outcome.warnings.append(
        Problem(f"{earlier} was already sent again ({went.source}); not sent again", "action")
    )
    outcome.cells["action"] = ("", f"{earlier} was already sent again.")


def _waits_for_resubmit(outcome: Outcome, earlier: tuple[str, str | None, datetime]) -> None:
    """A row (the original input, say) whose request was rejected and is waiting to be
    sent again from its results sheet: only a row asking to resubmit sends it."""
    request_id, status, _ = earlier
    outcome.result = Result.ALREADY_SUBMITTED
    outcome.request_id, outcome.request_status = request_id, status or ""
    outcome.warnings.append(
        Problem(
            f"its request {request_id} was {status or 'closed'}, and sending it again is asked"
            " for in its results sheet: not sent from here (resubmit in the action column"
            " sends it)"
        )
    )


def _redone(earlier: str, entry: Entry) -> Problem:
    return Problem(
        f"{earlier} was already sent again as {entry.request_id}; not sent again", "action"
    )


def _conflict(candidate: Candidate, entry: Entry) -> Problem:
    what = f"requestId {entry.request_id}" if entry.request_id else "a request"
    return Problem(
        f"{candidate.reference!r} was already sent on {shown(entry.sent_at)} as"
        f" {what} with different content ({entry.source}); not sent. To ask for something"
        " new, give this row a new reference",
        "reference",
    )


def _unsettled(entry: Entry) -> Problem:
    return Problem(
        f"an earlier run sent this on {shown(entry.sent_at)} without an answer and it is not"
        " settled yet; not sent again (each run looks for it in Infobip's list;"
        " --resubmit-uncertain sends it again if it is still not there)"
    )


def _source(file: str, candidate: Candidate) -> str:
    sheet = f", sheet {candidate.row.sheet!r}" if candidate.row.sheet else ""
    return f"{file}{sheet}, row {candidate.row.number}"
