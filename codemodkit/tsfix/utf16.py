"""Positions in UTF-16 units, as the language server and tsc count them.

The language server speaks LSP positions (0-based line, UTF-16 ``character``); the rest
of tsfix works in Python ``str`` indices, and shows lines and columns as tsc prints
them. Two line rules are involved: LSP breaks lines only at ``\\r\\n``, ``\\n`` and
``\\r`` (TypeScript 7's server follows it), while tsc's messages also break at U+2028
and U+2029. ``LineIndex`` converts LSP positions to offsets and back, and offsets to
tsc's (line, column).
"""

from __future__ import annotations

import bisect
import re

__all__ = ["LineIndex", "utf16_length"]

_LSP_BREAKS = re.compile("\r\n|[\n\r]")
_TSC_BREAKS = re.compile("\r\n|[\n\r\u2028\u2029]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def utf16_length(text: str) -> int:
    """How many UTF-16 code units ``text`` takes (an astral character takes two)."""
    return len(text) + len(_ASTRAL.findall(text))


class _Lines:
    """Where each line starts and where its content ends (before its line break)."""

    def __init__(self, text: str, breaks: re.Pattern[str]) -> None:
        found = list(breaks.finditer(text))
        self.starts = [0, *(match.end() for match in found)]
        self.ends = [*(match.start() for match in found), len(text)]

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset) - 1


class LineIndex:
    """One text's lines, for converting between LSP positions, ``str`` offsets and
    tsc's line and column."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._lsp = _Lines(text, _LSP_BREAKS)
        self._tsc: _Lines | None = None
        self._astral = _ASTRAL.search(text) is not None

    def offset(self, line: int, character: int) -> int:
        """The ``str`` index of an LSP position, clamped to the text (as LSP asks: a
        character past the end of its line means the line's end)."""
        if line < 0:
            return 0
        if line >= len(self._lsp.starts):
            return len(self.text)
        start, end = self._lsp.starts[line], self._lsp.ends[line]
        if not self._astral:
            return min(start + max(character, 0), end)
        units = 0
        index = start
        while index < end and units < character:
            units += 2 if ord(self.text[index]) > 0xFFFF else 1
            index += 1
        return index

    def position(self, offset: int) -> tuple[int, int]:
        """The LSP (line, UTF-16 character) of a ``str`` index."""
        return self._locate(self._lsp, offset)

    def tsc_line_column(self, offset: int) -> tuple[int, int]:
        """The 1-based line and UTF-16 column tsc prints for a ``str`` index."""
        if self._tsc is None:
            plain = "\u2028" not in self.text and "\u2029" not in self.text
            self._tsc = self._lsp if plain else _Lines(self.text, _TSC_BREAKS)
        line, character = self._locate(self._tsc, offset)
        return line + 1, character + 1

    def _locate(self, lines: _Lines, offset: int) -> tuple[int, int]:
        offset = min(max(offset, 0), len(self.text))
        line = lines.line_of(offset)
        # an offset inside a "\r\n" pair belongs to the end of its line
        segment = self.text[lines.starts[line] : min(offset, lines.ends[line])]
        return line, (utf16_length(segment) if self._astral else len(segment))
