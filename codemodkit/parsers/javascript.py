"""JavaScript, TypeScript and TSX source -> tree-sitter tree plus byte-level line facts.

tree-sitter works on the UTF-8 bytes of a text and reports byte offsets, so the JS
codemods work on bytes too: every span, edit and line start here is a byte offset of
``text.encode("utf-8")`` (which is also what ``EditRequest.span`` wants). Only error
messages convert back to characters.

Grammar per extension: the JavaScript grammar (which includes JSX) for ``.js .mjs .cjs
.jsx``; the TypeScript grammar for ``.ts .mts .cts``; the TSX grammar for ``.tsx``. The
TSX grammar would also read ``.jsx``, but it accepts TypeScript-only syntax that a
JavaScript engine rejects and reads ``a < b, c > (d)`` as a generic call, so JSX files
get the grammar of the language they are written in.

A tree with ``ERROR`` or ``MISSING`` nodes is refused with the first one's position:
tree-sitter recovers from errors, but edits planned on a guessed tree could break code.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate, filterfalse
from operator import methodcaller, sub
from typing import Literal

import tree_sitter
import tree_sitter_javascript
import tree_sitter_typescript

__all__ = [
    "ByteLines",
    "Dialect",
    "JSParseError",
    "ParsedJS",
    "check_parses",
    "dialect_for",
    "language",
    "parse_js",
    "parser_for",
]

Dialect = Literal["javascript", "typescript", "tsx"]

_DIALECTS: dict[str, Dialect] = {
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
}

_LANGUAGES: dict[Dialect, tree_sitter.Language] = {}
#: after each ``\n``: the indentation of a line of code - one that is not blank and
#: does not start with ``*`` or ``//`` (a ``\r`` that does not end the line is code).
#: A literal first, not ``^``: the engine jumps from newline to newline.
_CODE_INDENT = re.compile(rb"\n([ \t]*+)(?=[^ \t\r\n*/]|/(?!/)|\r(?!\n))")
_TABBED = methodcaller("startswith", b"\t")
_local = threading.local()


class JSParseError(Exception):
    """The source does not parse cleanly; the message is one line with a position."""


def dialect_for(suffix: str) -> Dialect:
    """The grammar for a file extension (``.ts`` ...); unknown ones read as JavaScript."""
    return _DIALECTS.get(suffix.lower(), "javascript")


def language(dialect: Dialect) -> tree_sitter.Language:
    if dialect not in _LANGUAGES:
        if dialect == "javascript":
            capsule = tree_sitter_javascript.language()
        elif dialect == "typescript":
            capsule = tree_sitter_typescript.language_typescript()
        else:
            capsule = tree_sitter_typescript.language_tsx()
        _LANGUAGES[dialect] = tree_sitter.Language(capsule)
    return _LANGUAGES[dialect]


def parser_for(dialect: Dialect) -> tree_sitter.Parser:
    """This thread's parser for ``dialect`` (a Parser is not thread-safe)."""
    parsers: dict[Dialect, tree_sitter.Parser] | None = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    if dialect not in parsers:
        parsers[dialect] = tree_sitter.Parser(language(dialect))
    return parsers[dialect]


class ByteLines:
    """Line starts of UTF-8 bytes. Lines end at ``\\n`` (a ``\\r`` before it belongs to
    the line end), which is also where tree-sitter counts rows."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        # Each line starts one byte past the previous line's end: summed in C, not in a
        # Python loop over the lines.
        lengths = map((1).__add__, map(len, data.split(b"\n")[:-1]))
        starts = list(accumulate(lengths, initial=0))
        if len(starts) > 1 and starts[-1] == len(data):
            starts.pop()  # a final newline does not open an empty line
        self.starts = starts

    def __len__(self) -> int:
        return len(self.starts)

    def line_of(self, offset: int) -> int:
        """0-based line holding ``offset``."""
        return bisect.bisect_right(self.starts, offset) - 1

    def start(self, line: int) -> int:
        return self.starts[line]

    def end(self, line: int) -> int:
        """Offset just past the line's newline (or the end of the data)."""
        return self.starts[line + 1] if line + 1 < len(self.starts) else len(self.data)

    def content_end(self, line: int) -> int:
        """Offset of the line's ``\\r\\n``/``\\n`` (or the end of the data)."""
        end = self.end(line)
        data = self.data
        if end > self.starts[line] and data[end - 1] == 0x0A:
            end -= 1
            if end > self.starts[line] and data[end - 1] == 0x0D:
                end -= 1
        return end

    def text(self, line: int) -> bytes:
        return self.data[self.starts[line] : self.content_end(line)]

    def prefix(self, offset: int) -> bytes | None:
        """The indentation before ``offset`` on its line, or None if code precedes it."""
        start = self.starts[self.line_of(offset)]
        before = self.data[start:offset]
        return before if not before.strip(b" \t") else None

    def rest_is_blank(self, offset: int) -> bool:
        """Is everything from ``offset`` to the end of its line whitespace?"""
        end = self.content_end(self.line_of(offset))
        return not self.data[offset:end].strip(b" \t")


@dataclass
class ParsedJS:
    text: str
    data: bytes
    tree: tree_sitter.Tree
    dialect: Dialect

    @cached_property
    def lines(self) -> ByteLines:
        return ByteLines(self.data)

    @property
    def root(self) -> tree_sitter.Node:
        return self.tree.root_node

    @property
    def newline(self) -> bytes:
        """The file's line ending: CRLF when most lines use it."""
        data = self.data
        crlf = data.count(b"\r\n")
        return b"\r\n" if crlf and crlf * 2 >= data.count(b"\n") else b"\n"

    @property
    def indent(self) -> bytes:
        """The file's indentation step: a tab, or the commonest step between lines."""
        # Over the first 2000 lines: the indentation of each line of code (blank lines
        # and comment lines do not count), found and counted in C.
        starts = self.lines.starts
        end = starts[2000] if len(starts) > 2000 else len(self.data)
        head = b"\n" + self.data[:end]  # line 0 follows a newline too
        code = _CODE_INDENT.findall(head)
        if b"\n\t" in head:
            tabs = sum(map(_TABBED, code))
            widths = list(map(len, filterfalse(_TABBED, code)))
        else:  # no line starts with a tab (most files): nothing to filter
            tabs, widths = 0, list(map(len, code))
        # How far each line is indented past the previous one, where it is further
        # (``Counter`` keeps the order of first appearance, which breaks ties in ``max``).
        steps = Counter(filter((0).__lt__, map(sub, widths, [0, *widths])))
        best = b" " * max(steps.items(), key=lambda item: item[1])[0] if steps else b"  "
        if tabs > sum(steps.values()):
            return b"\t"
        return best if len(best) in (2, 4, 8) else b"  "

    def node_text(self, node: tree_sitter.Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8")

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and column (in characters) of a byte offset."""
        line = self.lines.line_of(offset)
        start = self.lines.start(line)
        column = len(self.data[start:offset].decode("utf-8", "replace"))
        return line + 1, column + 1


def _first_error(root: tree_sitter.Node) -> tree_sitter.Node | None:
    """The first ERROR or MISSING node in document order, descending only where
    ``has_error`` says one is."""
    node = root
    while True:
        if node.is_error or node.is_missing:
            return node
        for child in node.children:
            if child.has_error or child.is_missing:
                node = child
                break
        else:
            return node if node is not root else None


def _syntax_error(parsed: ParsedJS) -> JSParseError:
    root = parsed.root
    data = parsed.data
    bad = _first_error(root) or root
    line, column = parsed.position(bad.start_byte)
    if bad.is_missing:
        what = f"missing {bad.type!r}"
    else:
        snippet = data[bad.start_byte : bad.start_byte + 20].decode("utf-8", "replace")
        snippet = snippet.split("\n", 1)[0].strip()
        what = f"unexpected {snippet!r}" if snippet else "unexpected end of file"
    return JSParseError(f"syntax error at line {line}, column {column}: {what}")


def parse_js(text: str, dialect: Dialect) -> ParsedJS:
    """Parse ``text``; raises JSParseError naming the first syntax error's position."""
    data = text.encode("utf-8")
    tree = parser_for(dialect).parse(data)
    parsed = ParsedJS(text=text, data=data, tree=tree, dialect=dialect)
    if tree.root_node.has_error:
        raise _syntax_error(parsed)
    return parsed


def check_parses(data: bytes, dialect: Dialect) -> None:
    """Raise JSParseError (as ``parse_js`` would) unless UTF-8 ``data`` parses cleanly.

    For checking a result: no text, line table or tree is kept unless it fails."""
    tree = parser_for(dialect).parse(data)
    if tree.root_node.has_error:
        raise _syntax_error(ParsedJS(data.decode("utf-8"), data, tree, dialect))
