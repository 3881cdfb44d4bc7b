"""DOCUMENT cells: a file path inside the documents folder, or an existing documentId."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

import regex

from batch.contract import DOCUMENT_TYPES

DOCUMENT_ID = regex.compile(r"[0-9A-Fa-f]{128}")


@dataclass(frozen=True, slots=True)
class LocalDocument:
    """A file to upload, known by its content: the same file named twice is one upload."""

    path: Path
    sha256: str
    size: int

    def __hash__(self) -> int:  # rows are told apart by content, a hash per row
        return hash(self.sha256)


class DocumentProblem(Exception):
    """Why a DOCUMENT cell cannot be used; the message is meant for the results sheet."""


class Resolver:
    """Resolves the DOCUMENT cells of one run, each distinct cell once: a file named by
    a thousand rows is looked at (and hashed) once."""

    def __init__(self, base: Path, *, max_bytes: int) -> None:
        self.base = base
        self._max_bytes = max_bytes
        self._seen: dict[str, LocalDocument | str | DocumentProblem] = {}

    def __call__(self, text: str) -> LocalDocument | str:
        """See `resolve`."""
        if text not in self._seen:
            try:
                self._seen[text] = resolve(text, self.base, max_bytes=self._max_bytes)
            except DocumentProblem as problem:
                self._seen[text] = problem
        found = self._seen[text]
        if isinstance(found, DocumentProblem):
            raise DocumentProblem(str(found))
        return found


def resolve(text: str, base: Path, *, max_bytes: int) -> LocalDocument | str:
    """The file a DOCUMENT cell names under `base`, or the documentId it holds.

    Raises:
        DocumentProblem: the path is absolute, escapes `base` (by `..` or a symlink),
            does not exist, has an extension Infobip does not take, or is too big.
    """
    text = text.strip()
    if DOCUMENT_ID.fullmatch(text):
        return text.upper()
    if (
        PurePosixPath(text).is_absolute()
        or PureWindowsPath(text).is_absolute()
        or text.startswith(("~", "\\"))
    ):
        msg = f"{text!r} is an absolute path; give a path relative to {base}"
        raise DocumentProblem(msg)
    root = base.resolve()
    path = _locate(text, root)
    if not path.is_relative_to(root):
        raise DocumentProblem(f"{text!r} points outside {base}; keep documents inside that folder")
    if not path.is_file():
        where = base.resolve() if str(base) in ("", ".") else base
        raise DocumentProblem(f"file not found: {text!r} (looked in {where})")
    if path.suffix.lower() not in DOCUMENT_TYPES:
        allowed = " ".join(sorted(DOCUMENT_TYPES))
        raise DocumentProblem(f"{text!r}: Infobip takes only these file types: {allowed}")
    size = path.stat().st_size
    if size == 0:
        raise DocumentProblem(f"{text!r} is empty")
    if size > max_bytes:
        mib, limit = size / 2**20, max_bytes / 2**20
        msg = f"{text!r} is {mib:.1f} MiB; documents may be at most {limit:.0f} MiB"
        raise DocumentProblem(msg)
    return LocalDocument(path, _sha256(path, path.stat().st_mtime_ns, size), size)


def _locate(text: str, root: Path) -> Path:
    """The path `text` names under `root`. A backslash, which Windows users type between
    folders (`docs\\registration.pdf`), is a separator on every OS: on POSIX it is also a
    legal character in a name, so a file named with it literally is taken first."""
    literal = (root / text).resolve()
    if "\\" not in text or literal.is_file():
        return literal
    return (root / text.replace("\\", "/")).resolve()


@functools.lru_cache(maxsize=4096)
def _sha256(path: Path, mtime_ns: int, size: int) -> str:
    """The file's SHA-256, computed once per run for a file many rows name."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
