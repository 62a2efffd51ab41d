"""Unified diffs that ``git apply`` and ``patch`` accept (newline-at-EOF markers included).

The line matching comes from rapidfuzz's ``Indel.opcodes`` (a longest-common-subsequence
diff in C++, some twenty times faster than ``difflib.SequenceMatcher`` on a codemod's
output) and difflib still groups the opcodes into hunks, so the hunks have difflib's
shape: ``context`` lines around each change, nearby changes merged.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, Literal

from rapidfuzz.distance import Indel
from rich.console import Console
from rich.text import Text

__all__ = ["DiffPrinter", "unified_diff"]

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
#: line breaks of ``str.splitlines`` that are not line breaks in a diff (each looked
#: for with ``in``: a search for a character class is several times slower)
_OTHER_BREAKS = "\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_NO_NEWLINE = "\\ No newline at end of file\n"


def _lines(text: str) -> list[str]:
    """Lines ending in ``\\r\\n``, ``\\r`` or ``\\n`` (the last may have none)."""
    if not any(c in text for c in _OTHER_BREAKS):
        return text.splitlines(keepends=True)  # the same lines, several times faster
    return _LINE.findall(text)


_Op = tuple[Literal["replace", "delete", "insert", "equal"], int, int, int, int]


class _Matcher(difflib.SequenceMatcher[str]):
    """difflib's hunk grouping (``get_grouped_opcodes``) over rapidfuzz's opcodes."""

    def __init__(self, a: Sequence[str], b: Sequence[str]) -> None:
        # No super().__init__: difflib's indexing of ``b`` is what is being skipped.
        self._ops = _merged(Indel.opcodes(a, b))

    def get_opcodes(self) -> list[_Op]:
        return self._ops


def _merged(opcodes: Iterable[Any]) -> list[_Op]:
    """Adjacent inserts and deletes as one ``replace`` (deleted lines print first, as
    in difflib and GNU diff, whichever order rapidfuzz found them in)."""
    merged: list[_Op] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if merged and tag != "equal" and merged[-1][0] != "equal":
            i1, j1 = merged[-1][1], merged[-1][3]
            merged.pop()
            tag = "replace" if i1 < i2 and j1 < j2 else ("delete" if i1 < i2 else "insert")
        merged.append((tag, i1, i2, j1, j2))
    return merged or [("equal", 0, 0, 0, 0)]


def _range(start: int, length: int) -> str:
    """A hunk header's ``start,length`` (difflib's and GNU diff's convention)."""
    first = start + 1
    if length == 1:
        return str(first)
    if not length:
        first -= 1  # an empty range names the line before it
    return f"{first},{length}"


def _unified_lines(a: list[str], b: list[str], fromfile: str, tofile: str, n: int) -> Iterator[str]:
    started = False
    for group in _Matcher(a, b).get_grouped_opcodes(n):
        if not started:
            started = True
            yield f"--- {fromfile}\n"
            yield f"+++ {tofile}\n"
        first, last = group[0], group[-1]
        old = _range(first[1], last[2] - first[1])
        new = _range(first[3], last[4] - first[3])
        yield f"@@ -{old} +{new} @@\n"
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                yield _marked(" ", a[i1:i2])
                continue
            if tag in ("replace", "delete"):
                yield _marked("-", a[i1:i2])
            if tag in ("replace", "insert"):
                yield _marked("+", b[j1:j2])


def _marked(mark: str, lines: list[str]) -> str:
    """``lines`` as diff lines, in one join: every line but a file's last ends with a
    line break, so the mark after each break starts the next line."""
    return mark + mark.join(lines) if lines else ""


def unified_diff(
    old: str | None, new: str | None, display: str, encoding: str = "utf-8", context: int = 3
) -> bytes:
    """Diff of one file as bytes ``git apply`` accepts; ``None`` is a missing file.

    Content lines are encoded in the file's own encoding (a BOM stays on line 1), so
    the diff matches the bytes on disk; the header paths are UTF-8.
    """
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    if encoding == "utf-8-sig":
        old = None if old is None else "\ufeff" + old
        new = None if new is None else "\ufeff" + new
    fromfile = "/dev/null" if old is None else f"a/{display}"
    tofile = "/dev/null" if new is None else f"b/{display}"
    out = bytearray()
    lines = _unified_lines(_lines(old or ""), _lines(new or ""), fromfile, tofile, context)
    if codec == "utf-8" and all(not t or t.endswith(("\n", "\r")) for t in (old, new)):
        # Every line ends with a line break (only a last line can lack one) and UTF-8
        # encodes text piece by piece: the content lines are encoded in one go.
        header = "".join(islice(lines, 2)).encode("utf-8", "surrogateescape")
        return header + "".join(lines).encode("utf-8")
    for index, chunk in enumerate(lines):
        if index < 2:  # the ---/+++ header
            out += chunk.encode("utf-8", "surrogateescape")
            continue
        out += chunk.encode(codec)
        if chunk and not chunk.endswith(("\n", "\r")):  # a file's last line, at most
            out += b"\n" + _NO_NEWLINE.encode()
    return bytes(out)


class DiffPrinter:
    """Coloured diffs on a terminal; the exact diff text (for ``git apply``) otherwise."""

    _STYLES = (("+++", "bold"), ("---", "bold"), ("@@", "cyan"), ("+", "green"), ("-", "red"))

    def __init__(self, console: Console) -> None:
        self.console = console

    def print(self, diff: bytes) -> None:
        if not diff:
            return
        if not self.console.is_terminal:
            stream = self.console.file
            binary = getattr(stream, "buffer", None)
            stream.flush()
            if binary is not None:
                binary.write(diff)
                binary.flush()
            else:
                stream.write(diff.decode("utf-8", "replace"))
            return
        for line in diff.decode("utf-8", "replace").splitlines():
            style = next((s for prefix, s in self._STYLES if line.startswith(prefix)), "")
            self.console.print(Text(line, style=style), soft_wrap=True, highlight=False)
