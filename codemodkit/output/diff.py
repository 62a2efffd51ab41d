"""Unified diffs that ``git apply`` and ``patch`` accept (newline-at-EOF markers included)."""

from __future__ import annotations

import difflib
import re

from rich.console import Console
from rich.text import Text

__all__ = ["DiffPrinter", "unified_diff"]

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_NO_NEWLINE = "\\ No newline at end of file\n"


def _lines(text: str) -> list[str]:
    return _LINE.findall(text)


def unified_diff(old: str | None, new: str | None, display: str, context: int = 3) -> str:
    """Diff of one file; ``None`` stands for a file that does not exist."""
    fromfile = "/dev/null" if old is None else f"a/{display}"
    tofile = "/dev/null" if new is None else f"b/{display}"
    out: list[str] = []
    for line in difflib.unified_diff(
        _lines(old or ""), _lines(new or ""), fromfile, tofile, n=context, lineterm="\n"
    ):
        if line.endswith(("\n", "\r")):
            out.append(line)
        else:
            out.append(line + "\n" + _NO_NEWLINE)
    return "".join(out)


class DiffPrinter:
    """Coloured diffs on a terminal; the exact diff text (for ``git apply``) otherwise."""

    _STYLES = (("+++", "bold"), ("---", "bold"), ("@@", "cyan"), ("+", "green"), ("-", "red"))

    def __init__(self, console: Console) -> None:
        self.console = console

    def print(self, diff: str) -> None:
        if not diff:
            return
        if not self.console.is_terminal:
            self.console.file.write(diff)
            self.console.file.flush()
            return
        for line in diff.splitlines():
            style = next((s for prefix, s in self._STYLES if line.startswith(prefix)), "")
            self.console.print(Text(line, style=style), soft_wrap=True, highlight=False)
