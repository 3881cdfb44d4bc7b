"""Each distinct file of a run uploaded once, ever: the journal remembers documentIds.

Shared by the submits of new rows (`submit.Sender`) and the updates of followed-up ones
(`followup.FollowUp`), so that a file both need is uploaded once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from batch.api import Infobip
from batch.documents import LocalDocument
from batch.errors import ApiError, BadAnswer, Refusal
from batch.journal import Journal
from batch.outcome import Outcome, Progress
from batch.rows import Candidate

# An upload that fails the rows naming its file, not the run: refused, or answered with
# no documentId (nothing the rows could be sent with).
UPLOAD_FAILED = (Refusal, BadAnswer)


def upload_failed(error: ApiError) -> str:
    return f"document upload {'refused' if isinstance(error, Refusal) else 'failed'}: {error}"


class Uploads:
    """The run's uploads, by the file's SHA-256: each a future of its documentId."""

    def __init__(self, api: Infobip, journal: Journal, progress: Progress) -> None:
        self.api, self.journal, self.progress = api, journal, progress
        self.futures: dict[str, asyncio.Future[str | ApiError]] = {}

    def start(self, document: LocalDocument) -> None:
        """Upload the file, unless its upload is already under way (or done)."""
        if document.sha256 not in self.futures:
            self.futures[document.sha256] = asyncio.ensure_future(self.upload(document))

    async def upload(self, document: LocalDocument) -> str | ApiError:
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
        except UPLOAD_FAILED as refusal:
            return refusal
        finally:
            self.progress.advance("files uploaded")

    async def with_document_ids(self, candidate: Candidate, outcome: Outcome) -> dict[str, Any]:
        """The row's body with each file replaced by the documentId its upload got; the
        row shows those documentIds (not the ones of what was sent before)."""
        body = candidate.body()
        outcome.document_ids = []
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
        found = await self.futures[value.sha256]
        if isinstance(found, ApiError):
            raise found
        return found
