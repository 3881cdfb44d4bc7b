"""Following up the rows of a results sheet fed back in, which carry a requestId.

They are never submitted again: an edit Infobip asked for is sent as an update,
`action` = cancel cancels the request, and `action` = resubmit sends a REJECTED or
CANCELED row again as a new request (through `submit.Sender`, which sends new rows). An
action that was done, or refused, is cleared from the row, so that it is never sent
twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from batch import reconcile
from batch.api import Infobip
from batch.documents import LocalDocument
from batch.errors import BadAnswer, Refusal
from batch.journal import Entry, Journal
from batch.outcome import ASKING, REDOABLE, Outcome, Problem, Result, shown
from batch.rows import Candidate
from batch.sheets import normalise
from batch.status import listed_outcome
from batch.status import record as record_listed
from batch.status import refresh as refresh_listed
from batch.submit import Sender, show_earlier
from batch.uploads import UPLOAD_FAILED, Uploads, upload_failed

CANCELLING = frozenset({"CANCELED", "CANCEL_REQUESTED"})


class FollowUp:
    """Follows up the rows that carry a requestId, beside the `Sender` of the same run:
    the requestIds it claims and the files it uploads are the Sender's too."""

    def __init__(
        self, api: Infobip, journal: Journal, *, uploads: Uploads, claimed: set[str]
    ) -> None:
        self.api, self.journal, self.uploads, self.claimed = api, journal, uploads, claimed

    @classmethod
    def beside(cls, sender: Sender) -> FollowUp:
        """The follow-up of the run `sender` sends the new rows of."""
        return cls(sender.api, sender.journal, uploads=sender.uploads, claimed=sender.claimed)

    async def follow_up(self, rows: list[Candidate], *, dry_run: bool) -> None:
        """Rows of a results sheet fed back in, which carry a requestId: never submitted
        again, but `action` = resubmit after a REJECTED or CANCELED request. A row marked
        `action` = cancel is cancelled. A row whose requirement cells were edited is sent
        as an update (PATCH, the full requirement set) when Infobip asked for changes;
        otherwise the edit is shown refused and the cells show what Infobip holds.
        Current statuses are read first, through the list (a few calls for thousands).

        A row to submit again after a REJECTED or CANCELED request is given the
        requestId it `replaces` on its outcome, for `plan`.

        Raises:
            AuthError, ApiError: the list could not be read.
        """
        # Rows whose request was since sent again (an older copy of the sheet); a resubmit
        # that never went (the run stopped) has no new request yet and is still to do.
        replaced = {
            old: entry
            for old, entry in self.journal.replaced_by(c.request_id for c in rows).items()
            if entry.request_id
        }
        ids = {candidate.request_id for candidate in rows} - replaced.keys()
        ids |= {str(entry.request_id) for entry in replaced.values() if entry.request_id}
        known = self.journal.by_request_id(ids)
        sent = [when for i in ids if i in known and (when := known[i].sent_at) is not None]
        since = min(sent) if sent and len(sent) == len(ids) else None
        listed = await refresh_listed(self.api, ids, since=since)
        now = record_listed(self.journal, listed)
        known = self.journal.by_request_id(ids)
        # Every row shows where its request stands before any is acted on: a run stopped
        # halfway still shows them all.
        to_act = []
        for candidate in rows:
            if candidate.request_id in replaced:
                _moved_on(candidate, replaced[candidate.request_id], known)
                continue
            item, entry = listed.get(candidate.request_id), known.get(candidate.request_id)
            _show(candidate.outcome, candidate.request_id, entry, item, now)
            to_act.append((candidate, item, entry))
        show_earlier(self.journal, rows)
        for candidate, item, entry in to_act:
            outcome = candidate.outcome
            try:
                if candidate.action == "cancel":
                    outcome.errors = []
                    await self._cancel(candidate, outcome, dry_run=dry_run)
                elif outcome.result in (Result.INVALID, Result.DUPLICATE):
                    continue  # nothing is sent for a row with problems, or one that repeats
                elif candidate.action == "resubmit":
                    self._resubmit(candidate, outcome, known=entry or item, dry_run=dry_run)
                else:
                    await self._update(candidate, outcome, item, entry, dry_run=dry_run)
            except BadAnswer as exc:  # that row's answer, not the run's: the rest go on
                _unconfirmed(candidate, exc)

    def _resubmit(
        self,
        candidate: Candidate,
        outcome: Outcome,
        *,
        known: object,
        dry_run: bool,
    ) -> None:
        was = outcome.request_status
        if known is None or was not in REDOABLE:
            where = f"it is {was}" if known is not None else "its request is not known here"
            outcome.result = Result.ALREADY_SUBMITTED
            outcome.warnings.append(
                Problem(
                    f"resubmit sends only a REJECTED or CANCELED request again, and {where};"
                    " not sent, and the action cleared",
                    "action",
                )
            )
            outcome.cells["action"] = ("", f"resubmit not done: {where}.")
            return
        self.claimed.add(candidate.request_id)  # never "found" as its own replacement
        outcome.replaces = candidate.request_id
        outcome.feedback, outcome.days_until_rejection = [], None
        if dry_run:
            outcome.result = Result.VALID
            outcome.warnings.append(Problem("`run` sends it again as a new request", "action"))
        else:
            outcome.result = None

    async def _cancel(self, candidate: Candidate, outcome: Outcome, *, dry_run: bool) -> None:
        when, was = shown(datetime.now(UTC))[:10], outcome.request_status or "unknown"
        if outcome.request_status in CANCELLING:
            outcome.result = Result.CANCELLED
            outcome.cells["action"] = ("", f"cancel: already {outcome.request_status}.")
            return
        if dry_run:
            outcome.result = Result.VALID
            outcome.warnings.append(Problem("`run` cancels the request", "action"))
            return
        try:
            await self.api.cancel(candidate.request_id)
        except Refusal as refusal:
            now = await self._listed_now(candidate.request_id)  # a retried cancel that took?
            if now is not None and now.get("status") in CANCELLING:
                outcome.result, outcome.request_status = Result.CANCELLED, str(now["status"])
                outcome.cells["action"] = ("", f"cancel sent {when}.")
                return
            why = f"Infobip did not cancel it: {str(refusal).rstrip('.')}"
            if refusal.code == "RR-INVALID-STATUS400":
                why += f" (it cancels only requests it asks to change; this one is {was})"
            outcome.result = Result.CANCEL_REFUSED
            outcome.errors = [Problem(why, "action")]
            outcome.cells["action"] = ("", f"cancel refused {when}; not sent again. {why}.")
            return
        # [inferred] CANCELED, perhaps through CANCEL_REQUESTED: recorded as the latter,
        # which is not final, so that `status` asks Infobip what it became.
        outcome.result, outcome.request_status = Result.CANCELLED, "CANCEL_REQUESTED"
        outcome.feedback, outcome.days_until_rejection = [], None
        outcome.cells["action"] = ("", f"cancel sent {when}.")
        self.journal.observe(candidate.request_id, "CANCEL_REQUESTED", at=datetime.now(UTC))

    async def _listed_now(self, request_id: str) -> dict[str, Any] | None:
        """The request as the list shows it now, after a refusal that a retry of our own
        successful call may have caused; recorded in the journal. None if not listed."""
        listed = await refresh_listed(self.api, [request_id], since=None)
        record_listed(self.journal, listed)
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
        held = _held(item, entry)
        if held is None:
            outcome.result = Result.ALREADY_SUBMITTED
            outcome.warnings.append(
                Problem(
                    "not in this journal nor in Infobip's list: edits cannot be told apart,"
                    " so none is sent",
                    "requestId",
                )
            )
            return
        _put_back_standard(candidate, outcome, (entry.body if entry else None) or item or {})
        edited = self._edited(candidate, outcome, held, ours=entry is not None)
        if not edited:
            outcome.result = Result.ALREADY_SUBMITTED
            if outcome.request_status in ASKING:
                for item in outcome.feedback:
                    key = str(item.get("key", ""))
                    header = candidate.standard.layout.values.get(normalise(key), (0, key))[1]
                    text = "Infobip asks to change it, and it still holds what was sent"
                    outcome.warnings.append(Problem(text, header))
            return
        if outcome.request_status not in ASKING:
            why = (
                f"the request is {outcome.request_status or 'in an unknown status'}, and"
                " Infobip takes changes only when it asks for them (UPDATE_REQUESTED)"
            )
            _refused(candidate, outcome, held, edited, why)
            return
        if dry_run:
            outcome.result = Result.VALID
            outcome.warnings.append(Problem("edited: `run` sends it to Infobip as an update"))
            return
        try:
            body = await self._with_new_documents(candidate, outcome)
        except UPLOAD_FAILED as refusal:
            outcome.result = Result.UPDATE_REFUSED
            outcome.errors = [Problem(upload_failed(refusal))]
            return
        try:
            answer = await self.api.update(candidate.request_id, body["requirements"])
        except Refusal as refusal:
            now = await self._listed_now(candidate.request_id)  # a retried PATCH that took?
            took = now is not None and now.get("status") not in ASKING
            if not (took and now is not None and reconcile.matches_requirements(body, now)):
                _refused(candidate, outcome, held, edited, f"Infobip refused it ({refusal})")
                return
            answer = now
        outcome.result = Result.UPDATED
        outcome.request_status = str(answer.get("status") or "")
        outcome.feedback, outcome.days_until_rejection = [], None
        if entry is not None:
            self.journal.updated(entry.key, candidate.content(), body, answer.get("status"))

    def _edited(
        self,
        candidate: Candidate,
        outcome: Outcome,
        held: Sequence[Mapping[str, Any]],
        *,
        ours: bool,
    ) -> list[str]:
        """The requirement keys whose values in the row differ from what Infobip holds
        (files compared by the documentIds they were uploaded as).

        A file this journal never uploaded is a new one (a better scan: an edit) when
        this journal sent the request (`ours`). When it did not (the sheet came from
        another machine or state folder), no file can be compared: each is taken as
        unchanged, and the row says so, rather than sent as an edit nobody made."""
        requirements = candidate.body()["requirements"]
        unknown = []
        for filled in requirements:
            values = filled["value"] if isinstance(filled["value"], list) else [filled["value"]]
            if any(isinstance(v, LocalDocument) for v in values) and not ours:
                unknown.append(str(filled["key"]))
            ids = [self._known_id(v) for v in values]
            filled["value"] = ids if isinstance(filled["value"], list) else ids[0]
        mine, theirs = reconcile.comparable(requirements), reconcile.comparable(held)
        for key in unknown:
            header = candidate.standard.layout.values.get(normalise(key), (0, key))[1]
            text = (
                "this request was not sent from this state folder, so whether the file"
                " changed cannot be told: it is not sent as an edit (send a new file from"
                " the state folder that sent the request)"
            )
            outcome.warnings.append(Problem(text, header))
        keys = dict.fromkeys([*mine, *theirs])
        return [key for key in keys if key not in unknown and mine.get(key) != theirs.get(key)]

    def _known_id(self, value: Any) -> Any:
        """A file by the documentId it was uploaded as, or as new (never equal to an id)."""
        if not isinstance(value, LocalDocument):
            return value
        return self.journal.document_id(value.sha256) or f"new file {value.path.name}"

    async def _with_new_documents(self, candidate: Candidate, outcome: Outcome) -> dict[str, Any]:
        for document in candidate.documents:
            self.uploads.start(document)
        return await self.uploads.with_document_ids(candidate, outcome)


def _show(
    outcome: Outcome,
    request_id: str,
    entry: Entry | None,
    item: Mapping[str, Any] | None,
    now: datetime,
) -> None:
    """Show where a followed-up row's request stands: as the journal has it, else as
    Infobip's list shows it."""
    outcome.request_id = request_id
    if entry is not None:
        outcome.known(entry)
        outcome.key = entry.key
    elif item is not None:
        view = listed_outcome(item, now)
        outcome.request_status, outcome.feedback = view.request_status, view.feedback
        outcome.note, outcome.numbers = view.note, view.numbers


def _unconfirmed(candidate: Candidate, error: BadAnswer) -> None:
    """A cancel or an update whose answer was off the spec: it may or may not have been
    taken. The row says so and keeps its action; the next run sees what Infobip holds
    and acts again only if it is still needed."""
    outcome = candidate.outcome
    what = "the cancel" if candidate.action == "cancel" else "your edit"
    outcome.result = Result.ALREADY_SUBMITTED
    outcome.errors = [
        Problem(
            f"{what} was sent, but Infobip's answer could not be read ({error}); run the"
            " file again: it checks what Infobip holds and sends it again only if needed",
            "action" if candidate.action == "cancel" else None,
        )
    ]
    outcome.cells.pop("action", None)


def _moved_on(candidate: Candidate, replaced: Entry, known: Mapping[str, Entry]) -> None:
    """A row showing a request that was since sent again (an older copy of the sheet):
    it now shows the request that replaced it, and its action is not repeated."""
    outcome, entry = candidate.outcome, known.get(str(replaced.request_id), replaced)
    outcome.result, outcome.key = Result.ALREADY_SUBMITTED, entry.key
    outcome.known(entry)
    text = f"{candidate.request_id} was sent again as {entry.request_id}; the row shows that one"
    outcome.warnings.append(Problem(text, "requestId"))
    if candidate.action:
        outcome.cells["action"] = ("", f"{candidate.action}: not repeated ({text}).")


# The standard columns a request keeps once submitted (an update sends requirements only).
_FIXED = (
    *("senderName", "countryCode", "numberType", "capabilities", "quantity"),
    *("trafficOrigin", "trafficType", "excludedCarriers", "clientType"),
)


def _put_back_standard(candidate: Candidate, outcome: Outcome, sent: Mapping[str, Any]) -> None:
    """A submitted row's standard cells (sender, country, quantity, ...) cannot be changed:
    one that was edited is put back to what was sent, with a note, and never sent."""
    headers = {name: header for name, _, header in candidate.standard.layout.standard}
    typed = {
        name: candidate.row.cells[index] for name, index, _ in candidate.standard.layout.standard
    }
    now = candidate.standard.body
    for name in _FIXED:
        if name not in sent or name not in headers:
            continue
        if _comparable(now.get(name)) == _comparable(sent[name]):
            continue
        was = _cell(sent[name])
        text = (
            f"cannot be changed once submitted: the request keeps {was!r}; to ask for"
            " something else, add a row of its own (without requestId)"
        )
        outcome.warnings.append(Problem(text, headers[name]))
        outcome.cells[headers[name]] = (was, f"You wrote {typed[name]!r}; {text}.")


def _comparable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return sorted(str(v).casefold() for v in value)
    return "" if value is None else str(value).casefold()


def _held(
    item: Mapping[str, Any] | None, entry: Entry | None
) -> Sequence[Mapping[str, Any]] | None:
    """The requirements Infobip holds for a request: as listed, else as last sent."""
    if item is not None:
        return list(item.get("requirements") or [])
    if entry is not None and entry.body is not None:
        return list(entry.body.get("requirements") or [])
    return None


def _refused(
    candidate: Candidate,
    outcome: Outcome,
    held: Sequence[Mapping[str, Any]],
    edited: Sequence[str],
    why: str,
) -> None:
    """An edit not sent: said once, and the edited cells put back to what Infobip holds
    (each with a note of what was typed), so that the next run does not repeat it."""
    outcome.result = Result.UPDATE_REFUSED
    outcome.errors = [Problem(f"edited ({', '.join(edited)}) but not sent: {why}")]
    values = {str(item.get("key")): item.get("value") for item in held}
    layout = candidate.standard.layout
    for key in edited:
        index, header = layout.values.get(normalise(key), (None, key))
        if index is None:
            continue
        typed = candidate.row.cells[index]
        now = _cell(values.get(key))
        outcome.cells[header] = (now, f"You wrote {typed!r}; not sent: {why}. Infobip holds this.")


def _cell(value: Any) -> str:
    """A requirement value as a cell holds it: lists separated by `;`."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(map(str, value))
    return str(value)
