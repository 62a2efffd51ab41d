"""Python source -> libcst tree plus the offsets the codemods need.

libcst nodes carry no positions. Its ``PositionProvider`` computes line/column for
every node and costs about three times the parse itself; a full visitor pass costs
more than the parse. Codemods here only need the spans of statements, decorators and
suites and the lines that start inside a multi-line token, so this module runs
libcst's own code generator once with a small ``CodegenState`` that records character
offsets for exactly those. The generated text is compared with the input, so every
offset is an offset into the caller's string.
"""

from __future__ import annotations

import ast
import bisect
import re
import threading
import warnings
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import libcst as cst
from libcst._nodes.internal import CodegenState

__all__ = ["LineIndex", "ParsedPython", "PyFacts", "PythonParseError", "parse_python"]

_NEWLINE = re.compile(r"\r\n|\r|\n")
_NEWLINE_TOKENS = frozenset({"\n", "\r\n", "\r"})
#: strings made of several tokens; a part may be exactly a newline, so the whole
#: node is protected rather than its tokens
_COMPOSITE_STRINGS = tuple(
    kind
    for kind in (cst.FormattedString, getattr(cst, "TemplatedString", None))
    if kind is not None
)


class PythonParseError(Exception):
    """The source is not valid Python (or libcst cannot round-trip it)."""


class LineIndex:
    """Line starts of a text, split on Python's newlines only (``\\r\\n``, ``\\r``, ``\\n``)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]
        if self.starts[-1] == len(text) and len(self.starts) > 1:
            # A trailing newline does not open a new (empty) line.
            self.starts.pop()

    def __len__(self) -> int:
        return len(self.starts)

    def line_of(self, offset: int) -> int:
        """0-based line index containing ``offset``."""
        return bisect.bisect_right(self.starts, offset) - 1

    def start(self, line: int) -> int:
        return self.starts[line]

    def end(self, line: int) -> int:
        """Offset just past the line's newline (or the end of the text)."""
        return self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)

    def content_end(self, line: int) -> int:
        """Offset of the line's newline (or the end of the text)."""
        end = self.end(line)
        text = self.text
        if end > self.starts[line] and text[end - 1] == "\n":
            end -= 1
        if end > self.starts[line] and text[end - 1] == "\r":
            end -= 1
        return end

    def line_text(self, line: int) -> str:
        return self.text[self.starts[line] : self.content_end(line)]


@dataclass(frozen=True)
class PyFacts:
    """What editing needs to know about a Python text: plain, picklable data."""

    text: str
    newline: str
    indent: str
    #: lines whose first character lies inside a multi-line token
    protected: frozenset[int]

    def line_index(self) -> LineIndex:
        return LineIndex(self.text)


@dataclass
class ParsedPython:
    """A parsed module with the offsets recorded while regenerating it."""

    text: str
    module: cst.Module
    lines: LineIndex
    #: syntactic (start, end) character offsets of statements, decorators, suites ...
    spans: dict[cst.CSTNode, tuple[int, int]]
    #: where each suite (one-line or indented block) begins: right after its colon
    suite_starts: dict[cst.CSTNode, int]
    #: (start, end) of every token that contains a line break: string literals,
    #: f-string parts, backslash continuations. Lines starting inside one of these
    #: must never be re-indented.
    multiline_tokens: list[tuple[int, int]] = field(default_factory=list)

    @property
    def newline(self) -> str:
        return self.module.default_newline

    @property
    def indent(self) -> str:
        return self.module.default_indent

    def span(self, node: cst.CSTNode) -> tuple[int, int]:
        return self.spans[node]

    def facts(self) -> PyFacts:
        return PyFacts(self.text, self.newline, self.indent, frozenset(self.protected_lines()))

    def protected_lines(self) -> set[int]:
        """Lines whose first character lies inside a multi-line token."""
        protected: set[int] = set()
        starts = self.lines.starts
        for start, end in self.multiline_tokens:
            first = bisect.bisect_right(starts, start)
            last = bisect.bisect_right(starts, end) - 1
            protected.update(range(first, last + 1))
        return protected


#: Nodes whose spans are recorded: statements and the parts of compound statements.
#: Expressions are skipped (about three quarters of all calls).
_RECORDED = frozenset(
    kind
    for kind in vars(cst).values()
    if isinstance(kind, type)
    and issubclass(kind, cst.CSTNode)
    and (
        issubclass(kind, (cst.BaseStatement, cst.BaseSmallStatement, cst.BaseSuite))
        or kind in (cst.Decorator, cst.Else, cst.ExceptHandler, cst.ExceptStarHandler)
        or kind in (cst.Finally, cst.MatchCase)
    )
)

#: A context manager whose __enter__/__exit__ are C calls: a re-entrant lock that only
#: this (single-threaded) code generator ever takes. It stands in for "record nothing".
_NOTHING = threading.RLock()


class _Recorder:
    """Records one node's syntactic span; cheaper than a @contextmanager generator."""

    __slots__ = ("end_node", "node", "start", "start_node", "state")

    def __init__(
        self,
        state: _OffsetState,
        node: cst.CSTNode,
        start_node: cst.CSTNode | None,
        end_node: cst.CSTNode | None,
    ) -> None:
        self.state = state
        self.node = node
        self.start_node = start_node
        self.end_node = end_node
        self.start = 0

    def __enter__(self) -> None:
        self.start = self.state.offset

    def __exit__(self, *exc: object) -> None:
        spans = self.state.spans
        start, end = self.start, self.state.offset
        # Like libcst's PositionProvider: a span may be hoisted from child nodes.
        if self.start_node is not None and self.start_node in spans:
            start = spans[self.start_node][0]
        if self.end_node is not None and self.end_node in spans:
            end = spans[self.end_node][1]
        spans[self.node] = (start, end)


class _OffsetState(CodegenState):
    """Codegen state that tracks character offsets of the nodes codemods need."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__(
            default_indent=module.default_indent, default_newline=module.default_newline
        )
        self.offset = 0
        self.spans: dict[cst.CSTNode, tuple[int, int]] = {}
        self.suite_starts: dict[cst.CSTNode, int] = {}
        self.multiline: list[tuple[int, int]] = []
        self._string_starts: list[tuple[int, int]] = []

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.tokens.append(token)
            self.offset += len(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        start = self.offset
        self.offset = start + len(value)
        if ("\n" in value or "\r" in value) and value not in _NEWLINE_TOKENS:
            self.multiline.append((start, self.offset))

    def pop_trailing_newline(self) -> None:
        if self.tokens:
            self.offset -= len(self.tokens.pop())

    def before_codegen(self, node: cst.CSTNode) -> None:
        kind = type(node)
        if kind is cst.SimpleStatementSuite or kind is cst.IndentedBlock:
            self.suite_starts[node] = self.offset
        elif kind in _COMPOSITE_STRINGS:
            self._string_starts.append((self.offset, len(self.tokens)))

    def after_codegen(self, node: cst.CSTNode) -> None:
        if type(node) in _COMPOSITE_STRINGS:
            offset, first_token = self._string_starts.pop()
            if any("\n" in t or "\r" in t for t in self.tokens[first_token:]):
                self.multiline.append((offset, self.offset))

    def record_syntactic_position(  # type: ignore[override]
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> AbstractContextManager[None]:
        if type(node) in _RECORDED:
            return _Recorder(self, node, start_node, end_node)
        return _NOTHING  # type: ignore[return-value]


def _syntax_error(text: str, exc: cst.ParserSyntaxError) -> str:
    """One line: CPython's own message when it agrees the code is invalid (it is clearer)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except SyntaxError as error:
        return f"syntax error at line {error.lineno}: {error.msg}"
    except (ValueError, RecursionError, MemoryError):
        pass
    message = " ".join(exc.message.split())
    return f"libcst cannot parse this file (line {exc.raw_line}): {message}"


def parse_python(text: str) -> ParsedPython:
    """Parse ``text`` with libcst and record offsets; raise PythonParseError if invalid."""
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        raise PythonParseError(_syntax_error(text, exc)) from None
    except RecursionError:
        raise PythonParseError("too deeply nested for the parser") from None
    state = _OffsetState(module)
    try:
        module._codegen(state)
    except RecursionError:
        raise PythonParseError("too deeply nested for the code generator") from None
    if "".join(state.tokens) != text:
        raise PythonParseError("libcst does not reproduce this file exactly")
    return ParsedPython(
        text=text,
        module=module,
        lines=LineIndex(text),
        spans=state.spans,
        suite_starts=state.suite_starts,
        multiline_tokens=state.multiline,
    )
