"""A cell's text read as a value: lists, whole numbers, email addresses, formulas kept
as text. Shared by the standard columns (`rows`) and the requirement columns
(`requirements`), so that both read a cell alike.
"""

from __future__ import annotations

import functools

import email_validator
import regex

# A line break in a cell is LF (Excel's), CRLF, or a bare CR (a Mac or a CRM's export).
SPLIT = regex.compile(r"\s*(?:;|\r\n?|\n)\s*")
SPLIT_LIST = regex.compile(r"\s*(?:[;,]|\r\n?|\n)\s*")
THOUSANDS = regex.compile(r"[+-]?\d{1,3}(,\d{3})+")
WHOLE = regex.compile(r"[+-]?\d+(\.0+)?")
# A formula as text: how a results sheet keeps one that had no saved value, so that a
# rerun of it unfixed does not send the formula as the value.
FORMULA_TEXT = regex.compile(r"=\s*(?:[A-Za-z_][\w.]*\s*\(|\$?[A-Za-z]{1,3}\$?\d)")


def clipped(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@functools.lru_cache(maxsize=16384)  # the same addresses recur down a sheet
def email_problem(text: str) -> str | None:
    try:
        email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        return f"{text!r} is not an email address ({exc})"
    return None


def integer(text: str) -> int | None:
    """A whole number as typed: 50000, 50 000, 50,000 or 50000.0 (Excel's float)."""
    if text.isascii() and text.isdigit():
        return int(text)
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "").replace("_", "")
    if THOUSANDS.fullmatch(cleaned):
        cleaned = cleaned.replace(",", "")
    if WHOLE.fullmatch(cleaned):
        return int(cleaned.split(".")[0])
    return None
