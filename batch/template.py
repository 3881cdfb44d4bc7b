"""`resource-batch template`: a workbook to fill in, made from Infobip's requirements lookup.

One sheet named after the request type (so it needs no `type` column) with a column per
field the run reads: the standard columns the type uses, then one per requirement key.
Each header carries a note (name, description, rules, required or not) and, where the
values are a closed list or a number, an Excel validation. A `Guide` sheet lists every
requirement and links the files Infobip supplies (templates, samples, prefilled forms),
downloaded into `<stem>-attachments/` beside the workbook. The run skips the `Guide`
sheet (`sheets.TOOL_SHEETS`), so a filled template runs as it is.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, Literal

from batch import rows
from batch.api import Infobip, Refusal
from batch.config import Settings
from batch.errors import BatchError, ConfigError
from batch.requirements import RequirementCache
from batch.rows import ENUMS, READABLE, REQUIRED, STANDARD, USED, Requirement
from batch.sheets import Row, Sheet, write_atomically

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.worksheet.worksheet import Worksheet

GUIDE = "Guide"  # in sheets.TOOL_SHEETS: the run never reads it as request rows
# The command line's names for the lookup fields, to name them in messages.
OPTIONS = {
    "countryCode": "--country",
    "numberType": "--number-type",
    "capabilities": "--capabilities",
    "quantity": "--quantity",
    "clientType": "--client-type",
    "trafficOrigin": "--traffic-origin",
    "trafficType": "--traffic-type",
    "excludedCarriers": "--excluded-carriers",
}
GUIDE_HEADERS = (
    "key",
    "name",
    "type",
    "required",
    "multiple values",
    "rules",
    "description",
    "attachment",
)
_LAST_ROW = 1_048_576  # Excel's last row: validations cover the whole column
_KINDS = {
    "TEXT": "text",
    "INTEGER": "a whole number",
    "EMAIL": "an email address",
    "URL": "a web address (https://...)",
    "GSM": "a phone number in international format (like +385911234567)",
    "DOCUMENT": (
        "a file path relative to this workbook's folder (.pdf .png .jpg .jpeg .doc .docx"
        " .xls .xlsx .mp4 .avi .mov .webm, at most 10 MiB), or an uploaded documentId"
    ),
}
_NOTES: dict[str, str | dict[str, str]] = {
    "reference": (
        "Your own reference for the row (optional). A row is known again by it: a rerun"
        " never submits the same reference twice."
    ),
    "countryCode": "ISO 3166 two-letter country code.",
    "senderName": {
        rows.ALPHA: "The sender name: 3 to 11 characters of the SMS (GSM-7) alphabet, a letter"
        " among them.",
        rows.RCS: "The RCS sender (agent) name, at most 255 characters.",
    },
    "numberType": "The kind of number to buy.",
    "capabilities": "One or more of the values, separated by ; or ,.",
    "quantity": "How many numbers: 1 to 49 (empty: 1).",
    "clientType": (
        "LOCAL: local numbers, else international ones; INTERNATIONAL or empty:"
        " international numbers only."
    ),
    "trafficOrigin": (
        "LOCAL: the business is based in the sender's country; INTERNATIONAL: elsewhere."
    ),
    "trafficType": "TRANSACTIONAL (OTPs, alerts, notices) or PROMOTIONAL (marketing).",
    "excludedCarriers": "Carriers to leave out of the launch, separated by ; or new lines.",
    "additionalContactEmails": "Up to 3 more email addresses for Infobip to contact, separated"
    " by ; or ,.",
    "applicationId": "CPaaS X application id (optional), at most 255 characters.",
    "entityId": "CPaaS X entity id (optional), at most 255 characters.",
}
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # what XML cannot hold


class Unavailable(BatchError):
    """Infobip does not offer the resource for the type, country and options asked."""


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


@dataclass(frozen=True, slots=True)
class _Check:
    """An Excel validation on a column: a list of values, a whole number or a length."""

    kind: Literal["list", "whole", "textLength"]
    values: tuple[str, ...] = ()
    low: int | None = None
    high: int | None = None
    strict: bool = True  # False: Excel warns but lets another value be typed
    message: str = ""


@dataclass(frozen=True, slots=True)
class _Column:
    header: str
    note: str
    check: _Check | None = None
    required: bool = False
    attachment: tuple[Attachment, str] | None = None  # and its path relative to the workbook


@dataclass(frozen=True, slots=True)
class _Lists:
    """The dropdowns' values, kept in columns of the Guide sheet: an inline Excel list
    cannot hold commas or quotes, nor more than 255 characters, and options do."""

    sheet: Worksheet
    first: int
    used: list[int] = field(default_factory=list)

    def add(self, header: str, values: Sequence[str]) -> str:
        from openpyxl.utils import get_column_letter

        column = self.first + len(self.used)
        self.used.append(column)
        _put(self.sheet.cell(1, column), f"{header} values", bold=True)
        for number, value in enumerate(values, start=2):
            _put(self.sheet.cell(number, column), value)
        letter = get_column_letter(column)
        return f"{GUIDE}!${letter}$2:${letter}${len(values) + 1}"


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
        problems = [_option_named(error) for error in standard.errors]
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
        kind: the request type (one of `rows.TYPES`).
        fields: lookup fields by name (countryCode, numberType, ...) as text.
        out: the workbook to write.
        force: overwrite the workbook and attachments of the same names.

    Raises:
        ConfigError: bad fields, or the workbook or attachments cannot be written.
        Unavailable: Infobip does not offer it, or refused the lookup.
        AuthError, ApiError: credentials refused; Infobip unreachable.
    """
    lookup = lookup_body(kind, fields)
    check_target(out, force=force)
    folder = out.with_name(f"{out.stem}-attachments")
    async with Infobip.connect(settings) as api:
        specs = await _requirements(settings, api, lookup)
        files = await _download(api, specs)
    attachments = _save_attachments(folder, files, force=force)
    columns = _columns(kind, lookup, specs, attachments)
    write_atomically(
        out, lambda stream: _write_book(stream, kind, lookup, columns, specs), what="the template"
    )
    headers = tuple(column.header for column in columns)
    return Written(out, kind, headers, tuple(a for a, _ in attachments.values()))


async def _requirements(
    settings: Settings, api: Infobip, lookup: Mapping[str, Any]
) -> list[tuple[Requirement, Mapping[str, Any]]]:
    """The offer's requirement specs, asked afresh (and cached for the run that follows)."""
    cache = RequirementCache(
        settings.cache_dir / "requirements" / settings.account, ttl=settings.cache_ttl, refresh=True
    )
    try:
        offer = await cache.get(api, lookup)
    except Refusal as refusal:
        raise Unavailable(f"Infobip refused the requirements lookup: {refusal}") from None
    if offer.refusal is not None:
        number_type = f" {lookup['numberType']}" if "numberType" in lookup else ""
        msg = (
            f"Infobip offers no{number_type} {READABLE[lookup['type']]} in"
            f" {lookup['countryCode']}: {offer.refusal}"
        )
        raise Unavailable(msg)
    return [(Requirement.of(spec), spec) for spec in offer.requirements]


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
        except Refusal as refusal:
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
    attachments: Mapping[str, tuple[Attachment, str]],
) -> list[_Column]:
    """The sheet's columns: `reference`, the standard ones the type uses, then one per
    requirement, keyed exactly as the run matches them."""
    names = ["reference"] + [
        name for name in STANDARD if name in USED[kind] | rows.COMMON - {"type", "reference"}
    ]
    columns = [_standard_column(kind, name, lookup) for name in names]
    for requirement, spec in specs:
        columns.append(_requirement_column(requirement, spec, attachments.get(requirement.key)))
    return columns


def _standard_column(kind: str, name: str, lookup: Mapping[str, Any]) -> _Column:
    note = _NOTES[name]
    text = note if isinstance(note, str) else note[kind]
    required = name in REQUIRED[kind]
    lines = [name, "Required." if required else "Optional.", text]
    check = None
    if name in ENUMS:
        lines.append(f"Values: {', '.join(ENUMS[name])}.")
        check = _Check("list", ENUMS[name], strict=name != "capabilities")
    if name == "quantity":
        check = _Check("whole", low=1, high=49, message="quantity: a whole number from 1 to 49")
    if name in lookup and name != "quantity":
        # The requirement columns are this offer's: another value may need others.
        asked = _cell_text(lookup[name])
        lines.append(
            f"The requirement columns are for {asked}: for another value, make another template."
        )
        message = f"This template's requirement columns are for {name} {asked}."
        check = _Check("list", (asked,), strict=False, message=message)
    elif name == "quantity":
        lines.append(f"The requirements were looked up for quantity {lookup[name]}.")
    elif name in OPTIONS:
        lines.append(
            "The requirements were looked up without it: rows that fill it in are checked"
            " against the requirements for their value, which may need other columns."
        )
    return _Column(name, "\n".join(lines), check, required)


def _requirement_column(
    requirement: Requirement,
    spec: Mapping[str, Any],
    attachment: tuple[Attachment, str] | None,
) -> _Column:
    lines = [
        f"{requirement.key}: {requirement.name}",
        "Required." if requirement.required else "Optional.",
        f"Give {_KINDS.get(requirement.kind, requirement.kind.lower())}.",
    ]
    rules = describe_rules(requirement)
    if rules:
        lines.append(rules)
    if spec.get("description"):
        lines.append(str(spec["description"]))
    if attachment is not None:
        lines.append(_attachment_text(*attachment) + " (see the Guide sheet).")
    check = _requirement_check(requirement)
    return _Column(requirement.key, "\n".join(lines), check, requirement.required, attachment)


def describe_rules(requirement: Requirement) -> str:
    """The rules a requirement's values must follow, in words."""
    rules = requirement.rules
    parts = []
    if len(requirement.options) == 1:
        parts.append(f"A consent box: put {requirement.options[0]!r} (or yes, x)")
    elif requirement.options:
        parts.append(f"One of: {'; '.join(requirement.options)}")
    low, high = rules.get("minLength"), rules.get("maxLength")
    if low is not None or high is not None:
        parts.append(_bounds(low, high, "characters"))
    if rules.get("pattern"):
        parts.append(f"format (Java regex) {rules['pattern']}")
    low, high = rules.get("minValue"), rules.get("maxValue")
    if low is not None or high is not None:
        parts.append(_bounds(low, high, "").strip())
    if requirement.many:
        parts.append("several values allowed, separated by ; or new lines")
    text = "; ".join(parts)
    return f"{text[:1].upper()}{text[1:]}." if text else ""


def _bounds(low: Any, high: Any, unit: str) -> str:
    if low is not None and high is not None:
        return f"{low} to {high} {unit}"
    return f"at least {low} {unit}" if low is not None else f"at most {high} {unit}"


def _requirement_check(requirement: Requirement) -> _Check | None:
    """A dropdown for options; bounds for numbers and lengths (single values only: Excel
    checks a cell as a whole)."""
    if requirement.options:
        # A consent box also takes yes/x, and a multi-valued cell holds several options.
        strict = len(requirement.options) > 1 and not requirement.many
        return _Check("list", requirement.options, strict=strict)
    if requirement.many:
        return None
    rules = requirement.rules
    if requirement.kind == "INTEGER":
        low, high = rules.get("minValue"), rules.get("maxValue")
        message = f"{requirement.key}: a whole number"
        if low is not None or high is not None:
            message += f", {_bounds(low, high, '').strip()}"
        return _Check("whole", low=low, high=high, strict=False, message=message)
    low, high = rules.get("minLength"), rules.get("maxLength")
    if requirement.kind == "TEXT" and (low is not None or high is not None):
        message = f"{requirement.key}: {_bounds(low, high, 'characters')}"
        return _Check("textLength", low=low, high=high, message=message)
    return None


def _attachment_text(attachment: Attachment, relative: str) -> str:
    kind = attachment.kind.replace("_", " ").lower()
    if attachment.problem is not None:
        where = f"documentId {attachment.document_id}"
        return f"Infobip supplies a {kind} ({where}) that {attachment.problem}"
    return f"Infobip supplies a {kind}: {relative}"


def _cell_text(value: Any) -> str:
    """A lookup value as a cell holds it: lists separated by `;`."""
    if isinstance(value, list | tuple):
        return ";".join(str(item) for item in value)
    return str(value)


# Writing


def _write_book(
    stream: IO[bytes],
    kind: str,
    lookup: Mapping[str, Any],
    columns: Sequence[_Column],
    specs: Sequence[tuple[Requirement, Mapping[str, Any]]],
) -> None:
    from openpyxl import Workbook

    book: Workbook = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = kind
    guide = book.create_sheet(GUIDE)
    lists = _Lists(guide, first=len(GUIDE_HEADERS) + 2)
    _write_requests(sheet, columns, lists)
    _write_guide(guide, lookup, columns, specs)
    book.active = 0
    book.save(stream)


def _write_requests(sheet: Worksheet, columns: Sequence[_Column], lists: _Lists) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill
    from openpyxl.utils import get_column_letter

    required = PatternFill("solid", fgColor="FCE4D6")
    optional = PatternFill("solid", fgColor="DDEBF7")
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(1, index)
        _put(cell, column.header, bold=True)
        cell.fill = required if column.required else optional
        height = 40 + 15 * sum(1 + len(line) // 50 for line in column.note.splitlines())
        cell.comment = Comment(_clean(column.note), "resource-batch", height=height, width=360)
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = min(max(len(column.header) + 4, 16), 50)
        if column.check is not None:
            rule = _validation(column, lists)
            sheet.add_data_validation(rule)
            rule.add(f"{letter}2:{letter}{_LAST_ROW}")
    sheet.freeze_panes = "A2"


def _validation(column: _Column, lists: _Lists) -> DataValidation:
    from openpyxl.worksheet.datavalidation import DataValidation

    check = column.check
    assert check is not None
    if check.kind == "list":
        rule = DataValidation(type="list", formula1=lists.add(column.header, check.values))
    else:
        low = -(2**31) if check.low is None else check.low
        high = 2**31 - 1 if check.high is None else check.high
        rule = DataValidation(
            type=check.kind, operator="between", formula1=str(low), formula2=str(high)
        )
    rule.allow_blank = True
    rule.errorStyle = "stop" if check.strict else "warning"
    rule.errorTitle = column.header
    rule.error = _clean(check.message or f"{column.header}: pick a value from the list")[:255]
    rule.showErrorMessage = True
    return rule


def _write_guide(
    guide: Worksheet,
    lookup: Mapping[str, Any],
    columns: Sequence[_Column],
    specs: Sequence[tuple[Requirement, Mapping[str, Any]]],
) -> None:
    """The requirements table, then what was looked up; the dropdown lists are to its right."""
    for index, header in enumerate(GUIDE_HEADERS, start=1):
        _put(guide.cell(1, index), header, bold=True)
    links = {column.header: column.attachment for column in columns}
    number = 1
    for number, (requirement, spec) in enumerate(specs, start=2):
        values = [
            requirement.key,
            requirement.name,
            str(spec.get("type", "")),
            "yes" if requirement.required else "no",
            "yes" if requirement.many else "no",
            describe_rules(requirement),
            str(spec.get("description") or ""),
        ]
        for index, value in enumerate(values, start=1):
            _put(guide.cell(number, index), value)
        link = links.get(requirement.key)
        if link is not None:
            _attachment_cell(guide.cell(number, len(GUIDE_HEADERS)), *link)
    if not specs:
        number = 2
        _put(guide.cell(number, 1), "Infobip needs no requirements beyond the standard columns.")
    body = json.dumps(lookup, ensure_ascii=False)
    _put(guide.cell(number + 2, 1), "Requirements looked up with", bold=True)
    _put(guide.cell(number + 2, 2), body)
    from openpyxl.utils import get_column_letter

    for index, width in enumerate((28, 28, 10, 9, 9, 50, 60, 50), start=1):
        guide.column_dimensions[get_column_letter(index)].width = width
    guide.freeze_panes = "A2"


def _attachment_cell(cell: Any, attachment: Attachment, relative: str) -> None:
    """The attachment as the header's note words it, linked to the downloaded file."""
    _put(cell, _attachment_text(attachment, relative))
    if relative:
        # Relative to the workbook's folder, as Excel resolves links; a URL, so quoted.
        cell.hyperlink = urllib.parse.quote(relative)
        cell.style = "Hyperlink"


def _put(cell: Any, value: str, *, bold: bool = False) -> None:
    """A text cell, never a formula, whatever the text starts with."""
    from openpyxl.styles import Font

    cell.value = _clean(value)
    cell.data_type = "s"
    if bold:
        cell.font = Font(bold=True)


def _clean(text: str) -> str:
    return _ILLEGAL.sub("", text)
