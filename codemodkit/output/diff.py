"""Unified diffs that ``git apply`` and ``patch`` accept (newline-at-EOF markers included)."""

from __future__ import annotations

import difflib
import re
from itertools import islice

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
    lines = difflib.unified_diff(
        _lines(old or ""), _lines(new or ""), fromfile, tofile, n=context, lineterm="\n"
    )
    if codec == "utf-8" and all(not t or t.endswith(("\n", "\r")) for t in (old, new)):
        # Every line ends with a line break (only a last line can lack one) and UTF-8
        # encodes text piece by piece: the content lines are encoded in one go.
        header = "".join(islice(lines, 2)).encode("utf-8", "surrogateescape")
        return header + "".join(lines).encode("utf-8")
    for index, line in enumerate(lines):
        if index < 2:  # the ---/+++ header
            out += line.encode("utf-8", "surrogateescape")
            continue
        out += line.encode(codec)
        if not line.endswith(("\n", "\r")):
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
