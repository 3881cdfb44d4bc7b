"""Sending checked rows: each distinct file uploaded once, each request submitted once, ever.

Every step is in the journal before it is taken. A row is recorded SUBMITTING as its POST
leaves; an answer makes it SUBMITTED (or DEFERRED, FAILED). A POST that gets no usable
answer is looked for in Infobip's list (`reconcile`): found, it is SUBMITTED; not found
after a grace period, it is sent once more; still unknown, it is UNCERTAIN and only
`--resubmit-uncertain` sends it again. A later run settles what an earlier one left
SUBMITTING or UNCERTAIN the same way before it sends anything.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from batch import reconcile, status
from batch.api import Infobip, Refusal, SubmitUnknown
from batch.config import Settings
from batch.documents import LocalDocument
from batch.errors import ApiError, AuthError
from batch.journal import Entry, Journal, JournalError
from batch.outcome import Outcome, Progress, shown
from batch.rows import Candidate

logger = logging.getLogger(__name__)

DEFERRING = frozenset({"RR-ALPHA-SS-LIMIT400"})  # too many pending: try again next run
CANCELLING = frozenset({"CANCELED", "CANCEL_REQUESTED"})


class Sender:
    """Uploads and submits the rows of one run, with the account's journal."""

    def __init__(
        self,
        api: Infobip,
        journal: Journal,
        settings: Settings,
        outcomes: Mapping[int, Outcome],
        progress: Progress,
    ) -> None:
        self.api, self.journal, self.settings = api, journal, settings
        self.outcomes, self.progress = outcomes, progress
        self._claimed = journal.request_ids()
        self._uploads: dict[str, asyncio.Future[str | Refusal]] = {}

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
                found = await self._find(entry.body, entry.sent_at)
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

    def plan(
        self, ready: list[Candidate], *, record: bool, file: str
    ) -> list[tuple[Candidate, str]]:
        """The rows to send, with their journal keys. Rows an earlier run submitted are
        ALREADY_SUBMITTED; a changed row under a submitted reference is CONFLICT; rows
        whose earlier submit is unsettled are UNCERTAIN. With `record`, the rows to send
        are recorded VALIDATED."""
        keyed = []
        for candidate in ready:
            content = candidate.content()
            keyed.append((candidate, candidate.key(content), content))
        entries = self.journal.entries(key for _, key, _ in keyed)
        to_send = []
        for candidate, key, content in keyed:
            outcome = self.outcomes[id(candidate)]
            outcome.key = key
            entry = entries.get(key)
            if entry is None or entry.state in ("VALIDATED", "DEFERRED", "FAILED"):
                to_send.append((candidate, key, content))
            elif entry.content != content and not self.journal.had(key, content):
                outcome.result = "CONFLICT"
                outcome.errors = [_conflict(candidate, entry)]
            elif entry.state == "SUBMITTED":
                outcome.result = "ALREADY_SUBMITTED"
                outcome.known(entry)
            else:  # SUBMITTING or UNCERTAIN: may exist at Infobip
                outcome.result = "UNCERTAIN"
                outcome.errors = [_unsettled(entry)]
        if record:
            self.journal.validated(
                (key, content, candidate.type, candidate.country, _source(file, candidate))
                for candidate, key, content in to_send
            )
        return [(candidate, key) for candidate, key, _ in to_send]

    async def follow_up(self, rows: list[Candidate], *, dry_run: bool) -> None:
        """Rows of a results sheet fed back in, which carry a requestId: never submitted
        again. A row marked `action` = cancel is cancelled. A row whose requirement cells
        were edited is sent as an update (PATCH, the full requirement set) when Infobip
        asked for changes, and reported otherwise. Current statuses are read first,
        through the list (a few calls for thousands of rows).

        Raises:
            AuthError, ApiError: the list could not be read.
        """
        ids = {candidate.request_id for candidate in rows}
        known = self.journal.by_request_id(ids)
        sent = [when for i in ids if i in known and (when := known[i].sent_at) is not None]
        since = min(sent) if sent and len(sent) == len(ids) else None
        listed = await status.refresh(self.api, ids, since=since)
        now = status.record(self.journal, listed)
        known = self.journal.by_request_id(ids)
        for candidate in rows:
            outcome = self.outcomes[id(candidate)]
            outcome.errors, outcome.request_id = [], candidate.request_id
            shown_item = listed.get(candidate.request_id)
            entry = known.get(candidate.request_id)
            if entry is not None:
                outcome.known(entry)
                outcome.key = entry.key
            elif shown_item is not None:
                view = status.columns_of_listed(shown_item, now)
                outcome.request_status, outcome.feedback = view["requestStatus"], view["feedback"]
                outcome.note, outcome.numbers = view["note"], view["numbers"]
            if candidate.action == "cancel":
                await self._cancel(candidate, outcome, entry, dry_run=dry_run)
            else:
                await self._update(candidate, outcome, shown_item, entry, dry_run=dry_run)

    async def _cancel(
        self, candidate: Candidate, outcome: Outcome, entry: Entry | None, *, dry_run: bool
    ) -> None:
        if outcome.request_status in CANCELLING:
            outcome.result = "CANCELLED"
            return
        if dry_run:
            outcome.result = "VALID"
            outcome.warnings.append("action: the request will be cancelled by `run`")
            return
        try:
            await self.api.cancel(candidate.request_id)
        except Refusal as refusal:
            now = await self._listed_now(candidate.request_id)  # a retried cancel that took?
            if now is not None and now.get("status") in CANCELLING:
                outcome.result, outcome.request_status = "CANCELLED", str(now["status"])
                return
            outcome.result = "CANCEL_REFUSED"
            outcome.errors = [f"Infobip did not cancel it: {refusal}"]
            return
        # [inferred] CANCELED, perhaps through CANCEL_REQUESTED: recorded as the latter,
        # which is not final, so that `status` asks Infobip what it became.
        outcome.result, outcome.request_status = "CANCELLED", "CANCEL_REQUESTED"
        self.journal.observe(candidate.request_id, "CANCEL_REQUESTED", at=datetime.now(UTC))

    async def _listed_now(self, request_id: str) -> dict[str, Any] | None:
        """The request as the list shows it now, after a refusal that a retry of our own
        successful call may have caused; recorded in the journal. None if not listed."""
        listed = await status.refresh(self.api, [request_id], since=None)
        status.record(self.journal, listed)
        return listed.get(request_id)

    async def _update(
        self,
        candidate: Candidate,
        outcome: Outcome,
        item: Mapping[str, Any] | None,
        entry: Entry | None,
        *,
        dry_run: bool,
    ) -> None:
        if candidate.action:
            outcome.result = "INVALID"
            outcome.errors = [
                f"action: {candidate.action!r} is not known; the only action is cancel"
            ]
            return
        edited = self._edited(candidate, item, entry)
        if edited is None:
            outcome.result = "ALREADY_SUBMITTED"
            outcome.warnings.append(
                "requestId: not in this journal nor in Infobip's list: edits cannot be told"
                " apart, so none is sent"
            )
            return
        if not edited:
            outcome.result = "ALREADY_SUBMITTED"
            return
        if outcome.request_status not in status.ACTION_NEEDED:
            outcome.result = "UPDATE_REFUSED"
            outcome.errors = [
                f"edited, but the request is {outcome.request_status or 'in an unknown status'}:"
                " Infobip takes changes only when it asks for them (UPDATE_REQUESTED);"
                " not sent. Run `status` to see where it stands"
            ]
            return
        if dry_run:
            outcome.result = "VALID"
            outcome.warnings.append("edited: `run` sends it to Infobip as an update")
            return
        try:
            body = await self._with_new_documents(candidate, outcome)
        except Refusal as refusal:
            outcome.result = "UPDATE_REFUSED"
            outcome.errors = [f"document upload refused: {refusal}"]
            return
        try:
            answer = await self.api.update(candidate.request_id, body["requirements"])
        except Refusal as refusal:
            now = await self._listed_now(candidate.request_id)  # a retried PATCH that took?
            took = now is not None and now.get("status") not in status.ACTION_NEEDED
            if not (took and now is not None and reconcile.matches_requirements(body, now)):
                outcome.result = "UPDATE_REFUSED"
                outcome.errors = [f"Infobip refused the update: {refusal}"]
                return
            answer = now
        outcome.result = "UPDATED"
        outcome.request_status = str(answer.get("status") or "")
        outcome.feedback = outcome.days_until_rejection = ""
        if entry is not None:
            self.journal.updated(entry.key, candidate.content(), body, answer.get("status"))

    def _edited(
        self, candidate: Candidate, item: Mapping[str, Any] | None, entry: Entry | None
    ) -> bool | None:
        """Whether the row's requirements differ from what Infobip holds (as listed), else
        from what the journal last sent; None when neither is known."""
        if item is not None:
            requirements = candidate.body()["requirements"]
            for filled in requirements:
                values = filled["value"] if isinstance(filled["value"], list) else [filled["value"]]
                ids = [self._known_id(v) for v in values]
                filled["value"] = ids if isinstance(filled["value"], list) else ids[0]
            listed = reconcile.comparable(item.get("requirements"))
            return reconcile.comparable(requirements) != listed
        if entry is not None:
            return candidate.content() != entry.content
        return None

    def _known_id(self, value: Any) -> Any:
        """A file by the documentId it was uploaded as, or as new (never equal to an id)."""
        if not isinstance(value, LocalDocument):
            return value
        return self.journal.document_id(value.sha256) or f"new file {value.path.name}"

    async def _with_new_documents(self, candidate: Candidate, outcome: Outcome) -> dict[str, Any]:
        for document in candidate.documents:
            if document.sha256 not in self._uploads:
                self._uploads[document.sha256] = asyncio.ensure_future(self._upload(document))
        return await self._with_document_ids(candidate, outcome)

    async def send_all(self, rows: list[tuple[Candidate, str]]) -> str | None:
        """Upload each distinct file once (ever: the journal remembers documentIds) and
        submit each row as soon as its files are in.

        Returns why the run stopped early (credentials refused, Infobip unreachable), or
        None. Rows not sent by then are FAILED; a row whose submit was in flight is
        UNCERTAIN (and SUBMITTING in the journal, settled by the next run).
        """
        files: dict[str, LocalDocument] = {}
        for candidate, _ in rows:
            for document in candidate.documents:
                files.setdefault(document.sha256, document)
        self.progress.start("files uploaded", len(files))
        self.progress.start("requests submitted", len(rows))
        stopped = None
        try:
            async with asyncio.TaskGroup() as tasks:
                for sha, document in files.items():  # in the order rows first need them
                    self._uploads[sha] = tasks.create_task(self._upload(document))
                queue: asyncio.Queue[tuple[Candidate, str]] = asyncio.Queue()
                for row in rows:
                    queue.put_nowait(row)
                workers = min(len(rows), 64 + int(self.api.rate("submit") * 10))
                for _ in range(workers):
                    tasks.create_task(self._worker(queue))
        except* (ApiError, JournalError) as group:
            stopped = str(group.exceptions[0])
        not_sent(self.outcomes, [c for c, _ in rows], f"the run stopped ({stopped})")
        return stopped

    async def _worker(self, queue: asyncio.Queue[tuple[Candidate, str]]) -> None:
        while not queue.empty():
            candidate, key = queue.get_nowait()
            await self._send(candidate, key, self.outcomes[id(candidate)])
            self.progress.advance("requests submitted")

    async def _upload(self, document: LocalDocument) -> str | Refusal:
        """The file's documentId, or Infobip's refusal of it: returned, not raised, so
        that it fails the rows naming the file and not the whole run (a raised error
        would cancel every submit in flight). Unreachable or refused credentials raise."""
        try:
            known = self.journal.document_id(document.sha256)
            if known is not None:
                return known
            document_id = await self.api.upload(document.path)
            self.journal.uploaded(document.sha256, document_id, document.path.name)
            return document_id
        except Refusal as refusal:
            return refusal
        finally:
            self.progress.advance("files uploaded")

    async def _send(self, candidate: Candidate, key: str, outcome: Outcome) -> None:
        """Wait for the row's files, submit it, and settle what became of it."""
        try:
            body = await self._with_document_ids(candidate, outcome)
        except Refusal as refusal:
            message = f"document upload refused: {refusal}"
            outcome.result, outcome.errors = "FAILED", [message]
            self.journal.failed(key, refusal.code, message)
            return
        for attempt in (1, 2):
            sent_at = await self._submit(key, body, outcome)
            if sent_at is None:
                return  # answered: SUBMITTED, DEFERRED or FAILED
            try:
                found = await self._find(body, sent_at)
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

    async def _submit(self, key: str, body: dict[str, Any], outcome: Outcome) -> datetime | None:
        """POST the row once (429s waited out). Returns when it was sent if its outcome is
        unknown, else None with the answer recorded."""
        sent: list[datetime] = []

        def sending() -> None:
            if not sent:  # the journal has it before the first POST leaves
                self.journal.submitting(key, body)
                sent.append(datetime.now(UTC))

        try:
            request_id = await self.api.submit(body, sending=sending)
        except Refusal as refusal:
            deferred = refusal.code in DEFERRING
            outcome.result, outcome.errors = "DEFERRED" if deferred else "FAILED", [str(refusal)]
            record = self.journal.deferred if deferred else self.journal.failed
            record(key, refusal.code, str(refusal))
            return None
        except SubmitUnknown as exc:
            # UNCERTAIN until the list says otherwise, should the run stop meanwhile.
            outcome.result = "UNCERTAIN"
            outcome.errors = [f"no answer to the submit ({exc}); being looked for at Infobip"]
            return sent[0]
        except ApiError as exc:  # unreachable or refused before anything was stored
            if sent:
                self.journal.failed(key, None, f"not sent: {exc}")
            raise
        except asyncio.CancelledError:
            if sent:  # it may have been stored: the journal keeps it SUBMITTING
                outcome.result = "UNCERTAIN"
                outcome.errors = [
                    "the run stopped while this request was being sent; the next run"
                    " checks with Infobip whether it was stored"
                ]
            raise
        self.journal.submitted(key, request_id)
        self._claimed.add(request_id)
        outcome.result, outcome.request_id, outcome.request_status = (
            "SUBMITTED",
            request_id,
            "PENDING",
        )
        outcome.submitted_at = shown(sent[0])
        return None

    async def _find(self, body: Mapping[str, Any], sent_at: datetime) -> dict[str, Any] | None:
        """The listed request matching `body`, waiting first until the grace period after
        `sent_at` is over (a request just stored may not be listed yet)."""
        waited = (datetime.now(UTC) - sent_at).total_seconds()
        if waited < self.settings.reconcile_grace:
            await asyncio.sleep(self.settings.reconcile_grace - waited)
        return await reconcile.find(self.api, body, sent_at, claimed=self._claimed)

    def _found(self, key: str, item: Mapping[str, Any], outcome: Outcome | None = None) -> None:
        request_id = str(item["id"])
        self.journal.submitted(key, request_id, status=item.get("status"))
        self._claimed.add(request_id)
        logger.info("%s: found at Infobip as %s after no answer", key, request_id)
        if outcome is not None:
            outcome.result, outcome.request_id = "SUBMITTED", request_id
            outcome.request_status = str(item.get("status") or "")
            outcome.submitted_at = shown(reconcile.requested(item))
            outcome.errors = []

    def _uncertain(self, key: str, outcome: Outcome, why: str) -> None:
        reason = f"sent with no answer {why}; it may have been stored"
        self.journal.uncertain(key, reason)
        outcome.result = "UNCERTAIN"
        outcome.errors = [
            f"{reason}. Not sent again: the next run looks for it in Infobip's list;"
            " with --resubmit-uncertain it sends it again if it is still not there"
        ]

    async def _with_document_ids(self, candidate: Candidate, outcome: Outcome) -> dict[str, Any]:
        """The row's body with each file replaced by the documentId its upload got."""
        body = candidate.body()
        for item in body["requirements"]:
            value = item["value"]
            values = value if isinstance(value, list) else [value]
            ids = [await self._document_id(v) for v in values]
            item["value"] = ids if isinstance(value, list) else ids[0]
            if any(isinstance(v, LocalDocument) for v in values):
                outcome.document_ids.append(f"{item['key']}: {', '.join(ids)}")
        return body

    async def _document_id(self, value: Any) -> Any:
        """A file's documentId once uploaded (a refused file raises the refusal, for the
        row naming it); any other value as it is."""
        if not isinstance(value, LocalDocument):
            return value
        found = await self._uploads[value.sha256]
        if isinstance(found, Refusal):
            raise found
        return found


def not_sent(outcomes: Mapping[int, Outcome], rows: list[Candidate], reason: str) -> None:
    """Rows the run did not get to are FAILED, saying why; a row carrying a requestId
    (a results sheet fed back in) exists at Infobip whatever happened, and says so."""
    for candidate in rows:
        outcome = outcomes[id(candidate)]
        if outcome.result:
            continue
        if candidate.request_id:
            outcome.result = "ALREADY_SUBMITTED"
            outcome.errors.append(f"not followed up: {reason}")
        else:
            outcome.result = "FAILED"
            outcome.errors.append(f"not sent: {reason}")


def _conflict(candidate: Candidate, entry: Entry) -> str:
    what = f"requestId {entry.request_id}" if entry.request_id else "a request"
    return (
        f"reference {candidate.reference!r} was already sent on {shown(entry.sent_at)} as"
        f" {what} with different content ({entry.source}); not sent. To ask for something"
        " new, give this row a new reference"
    )


def _unsettled(entry: Entry) -> str:
    return (
        f"an earlier run sent this on {shown(entry.sent_at)} without an answer and it is not"
        " settled yet; not sent again (each run looks for it in Infobip's list;"
        " --resubmit-uncertain sends it again if it is still not there)"
    )


def _source(file: str, candidate: Candidate) -> str:
    sheet = f", sheet {candidate.row.sheet!r}" if candidate.row.sheet else ""
    return f"{file}{sheet}, row {candidate.row.number}"
