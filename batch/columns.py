"""What each column of a request sheet means: its header note, its Excel check and how
its cells are written. Templates and results sheets are made from the same columns, so a
results sheet is as good to edit as the template it came from.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from batch import rows
from batch.kinds import ALPHA, RCS, TYPES, cell_text
from batch.outcome import DAYS_TO_ANSWER
from batch.requirements import Requirement
from batch.rows import ENUMS, REQUIRED
from batch.workbook import Check, Column, Kind

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
REQUIRED_FILL, OPTIONAL_FILL, OUTCOME_FILL = "FCE4D6", "DDEBF7", "E7E6E6"
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
        ALPHA: "The sender name: 3 to 11 characters of the SMS (GSM-7) alphabet, a letter"
        " among them.",
        RCS: "The RCS sender (agent) name, at most 255 characters.",
    },
    "numberType": "The kind of number to buy.",
    "capabilities": "One or more of the values, separated by ; or ,.",
    "quantity": "How many numbers: 1 to 49 (empty: 1).",
    "clientType": (
        "LOCAL: local numbers first, international ones when no local number is left."
        " INTERNATIONAL, or empty: international numbers only. The two ask for different"
        " requirements."
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
ACTION_NOTE = (
    "action\nWhat to do with the row's request, on the next run:\n"
    "cancel: cancel it (Infobip allows it while it asks for changes).\n"
    "resubmit: send the row again as a new request, after a REJECTED or CANCELED one"
    " (the earlier requestId is kept in earlierRequests).\n"
    "The run clears it once done."
)
ACCOUNT_NOTE = (
    "account\nWhich Infobip account the row goes to: the name of one of the config file's"
    " [accounts.NAME] tables. Empty: the default account (--account, else the base URL and"
    " key of the environment or the config file). Keep it once the row is sent: its request"
    " is in that account."
)
# The result columns: their notes, and how their cells are written.
OUTCOME: dict[str, tuple[str, Kind]] = {
    "result": ("What this run did with the row.", "text"),
    "nextStep": (
        "What to do next, and who: the colour says it (red: you; amber: run the file again"
        " later; blue: Infobip is reviewing; green: ready or done; grey: nothing).",
        "text",
    ),
    "errors": ("What is wrong, by column; the cells are marked too (hover over them).", "text"),
    "requestId": ("Infobip's id of the request. Keep it: it ties the row to the request.", "text"),
    "requestStatus": ("Where the request stands at Infobip, as last seen.", "text"),
    "feedback": (
        "What Infobip asks to change: key: CODE: text, one per line; the cells are marked.",
        "text",
    ),
    "daysUntilRejection": (
        f"Days left to answer Infobip's change request; it rejects the request"
        f" {DAYS_TO_ANSWER} days after asking.",
        "number",
    ),
    "note": ("Infobip's note: why it was rejected, or how many numbers it got.", "text"),
    "warnings": ("Worth a look, but nothing stops the row.", "text"),
    "numbers": ("The numbers bought.", "text"),
    "documentIds": ("The documentIds the row's files were uploaded as.", "text"),
    "submittedAt": ("When the request was sent (UTC).", "when"),
    "updatedAt": ("When its status was last read from Infobip (UTC).", "when"),
    "earlierRequests": (
        "Requests this row made before its current one (sent again after REJECTED or CANCELED).",
        "text",
    ),
}
WRAPPED = frozenset({"nextStep", "errors", "feedback", "warnings", "note", "earlierRequests"})
WIDTHS = {"result": 18, "nextStep": 48, "errors": 48, "feedback": 48, "warnings": 40}


def outcome_column(name: str) -> Column:
    note, kind = OUTCOME[name]
    return Column(
        name,
        f"{name}\n{note}",
        kind=kind,
        fill=OUTCOME_FILL,
        wrap=name in WRAPPED,
        width=WIDTHS.get(name),
    )


def type_column(kinds: Collection[str], *, formula_for: str | None = None) -> Column:
    """The `type` column: kept in every sheet the tool writes, so that a sheet saved as
    CSV (which loses the sheet name) still says each row's type. In a template it fills
    itself in (`formula_for`): a formula gives the type as soon as the row has a value."""
    lines = ["type", "The request type: " + ", ".join(TYPES) + "."]
    if formula_for is not None:
        lines.append(
            f"Fills itself in with {formula_for} once the row has any value (for the first"
            f" {TEMPLATE_ROWS:,} rows; below them, copy it down or type it)."
        )
        return Column("type", "\n".join(lines), formula=_TYPE_FORMULA.format(kind=formula_for))
    return Column("type", "\n".join(lines), check=Check("list", TYPES), fill=OPTIONAL_FILL)


TEMPLATE_ROWS = 2000
# {row} is the row's number; {last} the letter of the template's last column.
_TYPE_FORMULA = '=IF(COUNTA(B{{row}}:{{last}}{{row}})=0,"","{kind}")'


def standard_column(
    name: str, kinds: Collection[str], lookup: Mapping[str, Any] | None = None
) -> Column:
    """A standard column (countryCode, senderName, ...) for rows of `kinds`; `lookup` is
    the requirements lookup a template was made from."""
    if name == "type":
        return type_column(kinds)
    if name == "action":
        return Column("action", ACTION_NOTE, check=Check("list", rows.ACTIONS), fill=OPTIONAL_FILL)
    if name == "account":
        return Column("account", ACCOUNT_NOTE, fill=OPTIONAL_FILL)
    note = _NOTES.get(name, name)
    texts = [note] if isinstance(note, str) else [note[k] for k in kinds if k in note]
    required = bool(kinds) and all(name in REQUIRED[k] for k in kinds)
    lines = [name, "Required." if required else "Optional.", *texts]
    check: Check | None = None
    kind: Kind = "text"
    if name in ENUMS:
        lines.append(f"Values: {', '.join(ENUMS[name])}.")
        check = Check("list", ENUMS[name], strict=name != "capabilities")
    if name == "quantity":
        check = Check("whole", low=1, high=49, message="quantity: a whole number from 1 to 49")
        kind = "integer"
    lookup = lookup or {}
    if name in lookup and name != "quantity":
        # The requirement columns are this offer's: another value may need others.
        asked = cell_text(lookup[name])
        lines.append(
            f"The requirement columns are for {asked}: for another value, make another template."
        )
        message = f"This template's requirement columns are for {name} {asked}."
        check = Check("list", (asked,), strict=False, message=message)
    elif name == "quantity" and name in lookup:
        lines.append(f"The requirements were looked up for quantity {lookup[name]}.")
    elif lookup and name in OPTIONS:
        lines.append(
            "The requirements were looked up without it: rows that fill it in are checked"
            " against the requirements for their value, which may need other columns."
        )
    fill = REQUIRED_FILL if required else OPTIONAL_FILL
    return Column(name, "\n".join(lines), check, kind=kind, fill=fill)


def requirement_column(
    requirement: Requirement, header: str | None = None, *, attachment: str = ""
) -> Column:
    """A requirement's column: its note says what to give and by which rules."""
    lines = [
        f"{requirement.key}: {requirement.name}",
        "Required." if requirement.required else "Optional.",
        f"Give {_KINDS.get(requirement.kind, requirement.kind.lower())}.",
    ]
    rules = describe_rules(requirement)
    if rules:
        lines.append(rules)
    if requirement.description:
        lines.append(requirement.description)
    if attachment:
        lines.append(attachment + " (see the Guide sheet).")
    kind: Kind = "integer" if requirement.kind == "INTEGER" and not requirement.many else "text"
    fill = REQUIRED_FILL if requirement.required else OPTIONAL_FILL
    return Column(
        header or requirement.key,
        "\n".join(lines),
        requirement_check(requirement),
        kind=kind,
        fill=fill,
    )


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


def requirement_check(requirement: Requirement) -> Check | None:
    """A dropdown for options; bounds for numbers and lengths (single values only: Excel
    checks a cell as a whole)."""
    if requirement.options:
        # A consent box also takes yes/x, and a multi-valued cell holds several options.
        strict = len(requirement.options) > 1 and not requirement.many
        return Check("list", requirement.options, strict=strict)
    if requirement.many:
        return None
    rules = requirement.rules
    if requirement.kind == "INTEGER":
        low, high = rules.get("minValue"), rules.get("maxValue")
        message = f"{requirement.key}: a whole number"
        if low is not None or high is not None:
            message += f", {_bounds(low, high, '').strip()}"
        return Check("whole", low=low, high=high, strict=False, message=message)
    low, high = rules.get("minLength"), rules.get("maxLength")
    if requirement.kind == "TEXT" and (low is not None or high is not None):
        message = f"{requirement.key}: {_bounds(low, high, 'characters')}"
        return Check("textLength", low=low, high=high, message=message)
    return None
