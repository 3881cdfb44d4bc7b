"""`resource-batch template`: a workbook to fill in, made from Infobip's requirements lookup.

One sheet named after the request type with a column per field the run reads: `type`
(a formula fills it in as soon as a row has a value, so that a CSV save keeps it), the
standard columns the type uses, then one per requirement key. Each header carries a note
(name, description, rules, required or not) and, where the values are a closed list or a
number, an Excel validation. A `Guide` sheet lists every requirement, links the files
Infobip supplies (templates, samples, prefilled forms), downloaded into
`<stem>-attachments/` beside the workbook, and records the lookup it was made from, so
that a later run notices when Infobip's requirements change. The run skips the `Guide`
sheet (`sheets.TOOL_SHEETS`), so a filled template runs as it is.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from batch import columns as cols
from batch import results, rows
from batch.api import Infobip
from batch.columns import OPTIONS
from batch.config import Settings
from batch.errors import ApiError, BadAnswer, ConfigError, Refusal, Unavailable
from batch.kinds import READABLE
from batch.requirements import Offer, Requirement, RequirementCache
from batch.rows import REQUIRED, STANDARD, USED
from batch.sheets import Row, Sheet, write_atomically
from batch.workbook import Column, Table, write_book

_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file Infobip supplies for a DOCUMENT requirement, as downloaded (or why not)."""

    key: str
    kind: str  # TEMPLATE, SAMPLE or PREFILLED_DOCUMENT
    document_id: str
    path: Path | None = None  # where it was saved
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Written:
    """A template written: the workbook, its columns and the attachments beside it."""

    path: Path
    sheet: str
    columns: tuple[str, ...]
    attachments: tuple[Attachment, ...]


def default_path(kind: str, fields: Mapping[str, str]) -> Path:
    """`number-purchase-hr-virtual-long-number.xlsx` style, in the current folder."""
    parts = [kind, fields.get("countryCode", ""), fields.get("numberType", "")]
    slug = "-".join(p.strip().lower().replace("_", "-") for p in parts if p.strip())
    return Path(f"{slug}.xlsx")


def lookup_body(kind: str, fields: Mapping[str, str]) -> dict[str, Any]:
    """The requirements-lookup body for a type and the fields given (as text, the way a
    sheet's cells give them), read exactly as the run reads a row's standard columns.

    Raises:
        ConfigError: a field the type does not use, or one missing or wrong.
    """
    unused = [OPTIONS.get(n, n) for n in fields if n not in USED[kind] | {"countryCode"}]
    if unused:
        article = "an" if READABLE[kind][0] in "aeiouR" else "a"
        msg = f"{', '.join(unused)}: not used for {article} {READABLE[kind]}"
        raise ConfigError(msg)
    # A row needs a sender to be parsed; the lookup does not ask for one.
    cells = {**fields, "senderName": "Template"} if "senderName" in REQUIRED[kind] else fields
    sheet = Sheet(kind, tuple(cells), (Row(kind, 2, tuple(cells.values())),))
    standard = rows.parse_sheet(sheet)[0].standard
    if standard.errors or standard.lookup is None:
        problems = [_option_named(str(error)) for error in standard.errors]
        raise ConfigError("; ".join(problems) or "the lookup cannot be asked")
    return dict(standard.lookup)


def _option_named(error: str) -> str:
    name, _, problem = error.partition(": ")
    return f"{OPTIONS.get(name, name)}: {problem}"


def check_target(path: Path, *, force: bool) -> None:
    """Whether the template can be written at `path`, before anything is asked.

    Raises:
        ConfigError: not .xlsx, the folder is missing or read-only, or the file exists
            and `force` is not set.
    """
    if path.suffix.casefold() != ".xlsx":
        raise ConfigError(f"{path}: a template is an .xlsx workbook; name it *.xlsx")
    folder = path.parent
    if not folder.is_dir():
        raise ConfigError(f"{path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"{path}: cannot write in {folder}")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder")
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists; pass --force to overwrite it")


async def make_template(
    settings: Settings,
    kind: str,
    fields: Mapping[str, str],
    *,
    out: Path,
    force: bool = False,
) -> Written:
    """Look the requirements up and write a workbook to fill in, with Infobip's
    attachments downloaded into `<out stem>-attachments/` beside it.

    Args:
        settings: where Infobip is, the key, limits and timeouts.
        kind: the request type (one of `kinds.TYPES`).
        fields: lookup fields by name (countryCode, numberType, ...) as text.
        out: the workbook to write.
        force: overwrite the workbook and attachments of the same names.

    Raises:
        ConfigError: bad fields, or the workbook or attachments cannot be written.
        Unavailable: Infobip does not offer it, or refused the lookup.
        AuthError, ApiError: credentials refused; Infobip unreachable, or the lookup refused
            by a proxy or answered off the spec.
    """
    lookup = lookup_body(kind, fields)
    check_target(out, force=force)
    folder = out.with_name(f"{out.stem}-attachments")
    async with Infobip.connect(settings) as api:
        offer = await _requirements(settings, api, lookup)
        specs = [(Requirement.of(spec), spec) for spec in offer.requirements]
        files = await _download(api, specs)
    attachments = _save_attachments(folder, files, force=force)
    texts = {key: _attachment_text(*found) for key, found in attachments.items()}
    columns = _columns(kind, lookup, specs, texts)
    table = Table(kind, columns, [], formula_rows=cols.TEMPLATE_ROWS)
    guide = results.guide({"": offer}, texts)
    write_atomically(
        out, lambda stream: write_book(stream, [table], guide=guide), what="the template"
    )
    headers = tuple(column.header for column in columns)
    return Written(out, kind, headers, tuple(a for a, _ in attachments.values()))


async def _requirements(settings: Settings, api: Infobip, lookup: Mapping[str, Any]) -> Offer:
    """The offer, asked afresh (and cached for the run that follows)."""
    offer = await RequirementCache.for_account(settings, refresh=True).get(api, lookup)
    if offer.unread:  # not Infobip's word: a clean stop, as when Infobip is unreachable
        raise ApiError(offer.why_not())
    if offer.refusal is not None:
        raise Unavailable(offer.why_not())
    return offer


async def _download(
    api: Infobip, specs: Sequence[tuple[Requirement, Mapping[str, Any]]]
) -> list[tuple[Attachment, str, bytes]]:
    """Each attachment the specs name, with its file name and bytes (empty on failure)."""
    found = []
    for requirement, spec in specs:
        attachment = spec.get("attachment") or {}
        document_id = str(attachment.get("documentId") or "")
        if requirement.kind != "DOCUMENT" or not document_id:
            continue
        kind = str(attachment.get("documentType") or "ATTACHMENT")
        try:
            name, content = await api.download(document_id)
        except (Refusal, BadAnswer) as refusal:
            problem = f"could not be downloaded ({refusal})"
            found.append((Attachment(requirement.key, kind, document_id, problem=problem), "", b""))
            continue
        found.append((Attachment(requirement.key, kind, document_id), name, content))
    return found


def _save_attachments(
    folder: Path, files: Sequence[tuple[Attachment, str, bytes]], *, force: bool
) -> dict[str, tuple[Attachment, str]]:
    """Write the downloaded files, each atomically; per requirement key, the attachment
    and its path relative to the workbook's folder ("" when it was not downloaded).

    Raises:
        ConfigError: a file of that name exists (without `force`), or cannot be written.
    """
    targets: dict[str, tuple[Attachment, str]] = {}
    taken: set[str] = set()
    planned = []
    for attachment, name, content in files:
        if attachment.problem is not None:
            targets[attachment.key] = (attachment, "")
            continue
        filename = _safe_name(name, attachment, content)
        if filename.casefold() in taken:
            filename = f"{attachment.key}-{filename}"
        taken.add(filename.casefold())
        path = folder / filename
        if path.exists() and not force:
            raise ConfigError(f"{path} already exists; pass --force to overwrite it")
        planned.append((attachment, path, content))
    if planned:
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot make the folder {folder}: {exc.strerror or exc}") from None
    for attachment, path, content in planned:
        write_atomically(path, _writer(content), what="the attachment")
        saved = Attachment(attachment.key, attachment.kind, attachment.document_id, path)
        targets[attachment.key] = (saved, f"{folder.name}/{path.name}")
    return targets


def _writer(content: bytes) -> Callable[[IO[bytes]], int]:
    return lambda stream: stream.write(content)


def _safe_name(name: str, attachment: Attachment, content: bytes) -> str:
    """The file name Infobip gave, reduced to a plain name that is safe on any system;
    else one made from the requirement key."""
    base = PurePosixPath(name.replace("\\", "/")).name
    base = _UNSAFE_NAME.sub("_", base).strip(" .")
    if base:
        return base
    suffix = ".pdf" if content.startswith(b"%PDF") else ""
    return f"{attachment.key}-{attachment.kind.lower().replace('_', '-')}{suffix}"


def _columns(
    kind: str,
    lookup: Mapping[str, Any],
    specs: Sequence[tuple[Requirement, Mapping[str, Any]]],
    attachments: Mapping[str, str],
) -> list[Column]:
    """The sheet's columns: `type` (filled in by a formula), `reference`, the standard
    ones the type uses, then one per requirement, keyed exactly as the run matches them."""
    names = ["reference"] + [
        name for name in STANDARD if name in USED[kind] | rows.COMMON - {"type", "reference"}
    ]
    columns = [cols.type_column([kind], formula_for=kind)]
    columns += [cols.standard_column(name, [kind], lookup) for name in names]
    for requirement, _ in specs:
        text = attachments.get(requirement.key, "")
        columns.append(cols.requirement_column(requirement, attachment=text))
    return columns


def _attachment_text(attachment: Attachment, relative: str) -> str:
    kind = attachment.kind.replace("_", " ").lower()
    if attachment.problem is not None:
        where = f"documentId {attachment.document_id}"
        return f"Infobip supplies a {kind} ({where}) that {attachment.problem}"
    return f"Infobip supplies a {kind}: {relative}"
