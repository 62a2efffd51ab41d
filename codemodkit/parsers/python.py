"""Python source -> libcst tree plus the offsets the codemods need.

libcst nodes carry no positions, and its ``PositionProvider`` costs about three times
the parse (a full visitor pass costs more than the parse). Codemods here only need
the spans of statement-level nodes and the lines that start inside a string literal,
so this module gets them one of two ways:

* **ast lockstep** (the usual path): CPython's ``ast`` has exact positions for every
  statement and costs a tenth of the libcst parse; the statement trees of both
  parsers are walked side by side and each libcst node gets its ``ast`` twin's span;
* **codegen** (the fallback, when ``ast`` cannot parse the file, e.g. syntax newer than
  the running interpreter, or the two trees ever disagree): libcst's own code
  generator runs once with a small state that records the same spans.

Both give identical results (``tests/parsers`` checks this), so output does not depend
on which one ran. Offsets are character offsets into the caller's string.
"""

from __future__ import annotations

import ast
import bisect
import re
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal

import libcst as cst
from libcst._nodes.internal import CodegenState

__all__ = ["LineIndex", "ParsedPython", "PyFacts", "PythonParseError", "parse_python"]

_NEWLINE = re.compile(r"\r\n|\r|\n")

Span = tuple[int, int]


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
    #: lines whose first character lies inside a string literal
    protected: frozenset[int]

    def line_index(self) -> LineIndex:
        return LineIndex(self.text)


@dataclass
class ParsedPython:
    """A parsed module with the offsets of its statement-level nodes."""

    text: str
    module: cst.Module
    lines: LineIndex
    #: syntactic (start, end) of statements, small statements, suites, decorators,
    #: clauses (else, except, finally, case) and the iterables of ``for`` loops
    spans: dict[cst.CSTNode, Span]
    #: where each one-line suite begins: right after its colon
    suite_starts: dict[cst.CSTNode, int]
    #: spans of multi-line string literals (an implicit concatenation is one literal;
    #: parentheses excluded): lines starting inside one must never be re-indented
    strings: list[Span]
    #: "ast" or "codegen": how the spans were found
    positions: str

    @property
    def newline(self) -> str:
        return self.module.default_newline

    @property
    def indent(self) -> str:
        return self.module.default_indent

    def facts(self) -> PyFacts:
        return PyFacts(self.text, self.newline, self.indent, frozenset(self.protected_lines()))

    def protected_lines(self) -> set[int]:
        """Lines whose first character lies inside a multi-line string literal."""
        protected: set[int] = set()
        starts = self.lines.starts
        for start, end in self.strings:
            first = bisect.bisect_right(starts, start)
            last = bisect.bisect_right(starts, end) - 1
            protected.update(range(first, last + 1))
        return protected


# -- the ast lockstep ---------------------------------------------------------------------
class _Mismatch(Exception):
    """The libcst and ast statement trees do not line up."""


_COMPOUND: dict[type[cst.CSTNode], tuple[type[ast.AST], ...]] = {
    cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef),
    cst.ClassDef: (ast.ClassDef,),
    cst.If: (ast.If,),
    cst.For: (ast.For, ast.AsyncFor),
    cst.While: (ast.While,),
    cst.Try: (ast.Try,),
    cst.With: (ast.With, ast.AsyncWith),
    cst.Match: (ast.Match,),
}
if hasattr(ast, "TryStar"):
    _COMPOUND[cst.TryStar] = (ast.TryStar,)

_SMALL: dict[type[cst.CSTNode], type[ast.AST]] = {
    cst.Assign: ast.Assign,
    cst.AnnAssign: ast.AnnAssign,
    cst.AugAssign: ast.AugAssign,
    cst.Expr: ast.Expr,
    cst.Return: ast.Return,
    cst.Pass: ast.Pass,
    cst.Break: ast.Break,
    cst.Continue: ast.Continue,
    cst.Raise: ast.Raise,
    cst.Global: ast.Global,
    cst.Nonlocal: ast.Nonlocal,
    cst.Import: ast.Import,
    cst.ImportFrom: ast.ImportFrom,
    cst.Del: ast.Delete,
    cst.Assert: ast.Assert,
}
if hasattr(cst, "TypeAlias") and hasattr(ast, "TypeAlias"):
    _SMALL[cst.TypeAlias] = ast.TypeAlias

#: ast counts these expressions' own parentheses as part of them, libcst does not, so
#: their spans are not recorded (a loop over one keeps the per-iteration counter)
_OWN_PARENTHESES = (cst.Tuple, cst.GeneratorExp)
_STRING_NODES = tuple(
    k for k in (ast.JoinedStr, getattr(ast, "TemplateStr", None)) if k is not None
)
_BLANK = frozenset(" \t\f")
#: a word opening a line (after blanks), as clause keywords do; comment lines never match
_CLAUSE = re.compile(r"(?:^|(?<=[\r\n]))[ \t\f]*([a-z]+)\b", re.MULTILINE)


class _Lockstep:
    def __init__(self, text: str, lines: LineIndex) -> None:
        self.text = text
        self.lines = lines
        self.spans: dict[cst.CSTNode, Span] = {}
        self.suite_starts: dict[cst.CSTNode, int] = {}
        self.strings: list[Span] = []
        #: UTF-8 form of each non-ASCII line seen (ast columns count bytes)
        self._encoded: dict[int, bytes] = {}
        self._ascii: set[int] = set()

    def offset(self, lineno: int, col: int) -> int:
        """Character offset of ``ast``'s (1-based line, UTF-8 byte column)."""
        index = lineno - 1
        start = self.lines.starts[index]
        if index in self._ascii:
            return start + col
        encoded = self._encoded.get(index)
        if encoded is None:
            line = self.text[start : self.lines.end(index)]
            if line.isascii():
                self._ascii.add(index)
                return start + col
            encoded = self._encoded[index] = line.encode("utf-8", "surrogatepass")
        return start + len(encoded[:col].decode("utf-8", "surrogatepass"))

    def span(self, node: ast.stmt | ast.expr | ast.excepthandler | ast.pattern) -> Span:
        assert node.end_lineno is not None and node.end_col_offset is not None
        return (
            self.offset(node.lineno, node.col_offset),
            self.offset(node.end_lineno, node.end_col_offset),
        )

    # -- statements ------------------------------------------------------------------
    def block(self, stmts: Sequence[cst.BaseStatement], asts: Sequence[ast.stmt]) -> None:
        index = 0
        for stmt in stmts:
            if type(stmt) is cst.SimpleStatementLine:
                for small in stmt.body:
                    self.small(small, asts[index])
                    index += 1
                self.spans[stmt] = (self.spans[stmt.body[0]][0], self.spans[stmt.body[-1]][1])
            else:
                self.compound(stmt, asts[index])
                index += 1
        if index != len(asts):
            raise _Mismatch

    def small(self, small: cst.BaseSmallStatement, node: ast.stmt) -> None:
        if not isinstance(node, _SMALL.get(type(small), ())):
            raise _Mismatch
        self.spans[small] = self.span(node)
        if node.end_lineno != node.lineno:
            self.find_strings(node)

    def suite(self, suite: cst.BaseSuite, asts: Sequence[ast.stmt]) -> None:
        if isinstance(suite, cst.IndentedBlock):
            self.block(suite.body, asts)
            self.spans[suite] = (self.spans[suite.body[0]][0], self.spans[suite.body[-1]][1])
            return
        assert isinstance(suite, cst.SimpleStatementSuite)
        if len(suite.body) != len(asts):
            raise _Mismatch
        for small, node in zip(suite.body, asts, strict=True):
            self.small(small, node)
        start = self.spans[suite.body[0]][0]
        self.spans[suite] = (start, self.spans[suite.body[-1]][1])
        self.suite_starts[suite] = self.after_colon(start)

    def after_colon(self, offset: int) -> int:
        """The offset just past the ':' before ``offset`` (only blanks between)."""
        text = self.text
        at = offset - 1
        while at >= 0 and (text[at] in _BLANK or text[at] in "\r\n\\"):
            at -= 1
        if at < 0 or text[at] != ":":
            raise _Mismatch
        return at + 1

    def compound(self, stmt: cst.BaseStatement, node: ast.stmt) -> None:
        if not isinstance(node, _COMPOUND.get(type(stmt), ())):
            raise _Mismatch
        self.spans[stmt] = self.span(node)
        self.find_strings_in_header(node)
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            self.decorators(stmt.decorators, node.decorator_list)
            self.suite(stmt.body, node.body)
        elif isinstance(stmt, cst.With):
            assert isinstance(node, (ast.With, ast.AsyncWith))
            self.suite(stmt.body, node.body)
        elif isinstance(stmt, (cst.For, cst.While)):
            assert isinstance(node, (ast.For, ast.AsyncFor, ast.While))
            if isinstance(stmt, cst.For) and not isinstance(stmt.iter, _OWN_PARENTHESES):
                assert isinstance(node, (ast.For, ast.AsyncFor))
                self.spans[stmt.iter] = self.span(node.iter)
            self.suite(stmt.body, node.body)
            self.orelse(stmt.orelse, node.orelse, self.spans[stmt.body][1])
        elif isinstance(stmt, cst.If):
            assert isinstance(node, ast.If)
            self.suite(stmt.body, node.body)
            if isinstance(stmt.orelse, cst.If):
                self.block([stmt.orelse], node.orelse)
            else:
                self.orelse(stmt.orelse, node.orelse, self.spans[stmt.body][1])
        elif isinstance(stmt, (cst.Try, cst.TryStar)):
            self.try_(stmt, node)
        elif isinstance(stmt, cst.Match):
            assert isinstance(node, ast.Match)
            if len(stmt.cases) != len(node.cases):
                raise _Mismatch
            previous_end = self.spans[stmt][0]
            for case, ast_case in zip(stmt.cases, node.cases, strict=True):
                self.suite(case.body, ast_case.body)
                pattern_start = self.span(ast_case.pattern)[0]
                keyword = self.keyword_between(previous_end, pattern_start, "case")
                self.spans[case] = (keyword, self.spans[case.body][1])
                previous_end = self.spans[case][1]

    def orelse(self, orelse: cst.Else | None, asts: Sequence[ast.stmt], after: int) -> None:
        """An ``else`` clause; ``after`` is where the clause before it ends."""
        if orelse is None:
            if asts:
                raise _Mismatch
            return
        self.suite(orelse.body, asts)
        keyword = self.keyword_between(after, self.spans[orelse.body][0], "else")
        self.spans[orelse] = (keyword, self.spans[orelse.body][1])

    def try_(self, stmt: cst.Try | cst.TryStar, node: ast.stmt) -> None:
        assert isinstance(node, _COMPOUND[type(stmt)])
        body: list[ast.stmt] = node.body  # type: ignore[attr-defined]
        handlers: list[ast.ExceptHandler] = node.handlers  # type: ignore[attr-defined]
        orelse: list[ast.stmt] = node.orelse  # type: ignore[attr-defined]
        finalbody: list[ast.stmt] = node.finalbody  # type: ignore[attr-defined]
        self.suite(stmt.body, body)
        clauses: Sequence[cst.ExceptHandler | cst.ExceptStarHandler] = stmt.handlers
        if len(clauses) != len(handlers):
            raise _Mismatch
        previous_end = self.spans[stmt.body][1]
        for handler, ast_handler in zip(clauses, handlers, strict=True):
            self.spans[handler] = self.span(ast_handler)
            if ast_handler.type is not None and ast_handler.type.end_lineno != ast_handler.lineno:
                self.find_strings(ast_handler.type)
            self.suite(handler.body, ast_handler.body)
            previous_end = self.spans[handler][1]
        self.orelse(stmt.orelse, orelse, previous_end)
        if stmt.orelse is not None:
            previous_end = self.spans[stmt.orelse][1]
        if stmt.finalbody is None:
            if finalbody:
                raise _Mismatch
            return
        self.suite(stmt.finalbody.body, finalbody)
        keyword = self.keyword_between(previous_end, self.spans[stmt.finalbody.body][0], "finally")
        self.spans[stmt.finalbody] = (keyword, self.spans[stmt.finalbody.body][1])

    def keyword_between(self, start: int, end: int, keyword: str) -> int:
        """Offset of a clause ``keyword`` between two points: only blanks, comments and
        the keyword can lie there, and the keyword is the first word on its line."""
        for match in _CLAUSE.finditer(self.text, start, end):
            if match.group(1) == keyword:
                return match.start(1)
        raise _Mismatch

    def decorators(self, decorators: Sequence[cst.Decorator], asts: Sequence[ast.expr]) -> None:
        if len(decorators) != len(asts):
            raise _Mismatch
        text = self.text
        for decorator, node in zip(decorators, asts, strict=True):
            start, end = self.span(node)
            at, parens = start - 1, 0
            while at >= 0 and (text[at] in _BLANK or text[at] in "(\\\r\n"):
                parens += text[at] == "("
                at -= 1
            if at < 0 or text[at] != "@":
                raise _Mismatch
            while parens:  # ast leaves out the parentheses around the expression
                if text[end] == ")":
                    parens -= 1
                elif text[end] not in _BLANK and text[end] not in "\\\r\n":
                    raise _Mismatch
                end += 1
            self.spans[decorator] = (at, end)

    # -- string literals ---------------------------------------------------------------
    def find_strings_in_header(self, node: ast.stmt) -> None:
        """Multi-line strings in a compound statement's own lines (not its bodies)."""
        for name, value in ast.iter_fields(node):
            if name in ("body", "orelse", "finalbody", "handlers", "cases"):
                if name == "cases":
                    for case in value:
                        self.find_strings(case.pattern)
                        if case.guard is not None:
                            self.find_strings(case.guard)
                continue
            for child in value if isinstance(value, list) else [value]:
                # Nodes without positions (arguments, with-items) are always searched.
                if isinstance(child, ast.AST) and getattr(child, "end_lineno", 0) != getattr(
                    child, "lineno", None
                ):
                    self.find_strings(child)

    def find_strings(self, node: ast.AST) -> None:
        for child in _walk_expressions(node):
            if (
                isinstance(child, ast.Constant) and isinstance(child.value, (str, bytes))
            ) or isinstance(child, _STRING_NODES):
                assert isinstance(child, ast.expr)
                if child.end_lineno != child.lineno:
                    self.strings.append(self.span(child))


def _walk_expressions(node: ast.AST) -> Iterator[ast.AST]:
    """Like ``ast.walk`` but does not descend into strings (they are outermost)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, (ast.Constant, *_STRING_NODES)):
            continue
        stack.extend(ast.iter_child_nodes(current))


def _ast_positions(text: str, module: cst.Module, lines: LineIndex) -> _Lockstep | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    walker = _Lockstep(text, lines)
    try:
        walker.block(module.body, tree.body)
    except (_Mismatch, IndexError, KeyError, AssertionError):
        return None
    walker.strings.sort()
    return walker


# -- the codegen fallback ---------------------------------------------------------------------
#: Nodes whose spans are recorded: statements and the parts of compound statements.
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
_STRING_KINDS = frozenset(
    kind
    for kind in (
        cst.SimpleString,
        cst.ConcatenatedString,
        cst.FormattedString,
        getattr(cst, "TemplatedString", None),
    )
    if kind is not None
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
        state = self.state
        start, end = self.start, state.offset
        if type(self.node) in _STRING_KINDS:
            state.string_depth -= 1
            if state.string_depth == 0:  # outermost literal; multi-line ones kept later
                state.strings.append((start, end))
            return
        spans = state.spans
        # Like libcst's PositionProvider: a span may be hoisted from child nodes.
        if self.start_node is not None and self.start_node in spans:
            start = spans[self.start_node][0]
        if self.end_node is not None and self.end_node in spans:
            end = spans[self.end_node][1]
        spans[self.node] = (start, end)


class _StringRecorder(_Recorder):
    __slots__ = ()

    def __enter__(self) -> None:
        self.start = self.state.offset
        self.state.string_depth += 1


class _OffsetState(CodegenState):
    """Codegen state that tracks character offsets of the nodes codemods need."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__(
            default_indent=module.default_indent, default_newline=module.default_newline
        )
        self.offset = 0
        self.spans: dict[cst.CSTNode, Span] = {}
        self.suite_starts: dict[cst.CSTNode, int] = {}
        self.strings: list[Span] = []
        self.string_depth = 0
        #: the iterable of the ``for`` statement being generated (its span is recorded)
        self.loop_iterable: cst.CSTNode | None = None

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.tokens.append(token)
            self.offset += len(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        self.offset += len(value)

    def pop_trailing_newline(self) -> None:
        if self.tokens:
            self.offset -= len(self.tokens.pop())

    def before_codegen(self, node: cst.CSTNode) -> None:
        kind = type(node)
        if kind is cst.SimpleStatementSuite:
            self.suite_starts[node] = self.offset
        elif kind is cst.For and not isinstance(node.iter, _OWN_PARENTHESES):  # type: ignore[attr-defined]
            self.loop_iterable = node.iter  # type: ignore[attr-defined]

    def record_syntactic_position(  # type: ignore[override]
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> AbstractContextManager[None]:
        kind = type(node)
        if kind in _RECORDED or node is self.loop_iterable:
            return _Recorder(self, node, start_node, end_node)
        if kind in _STRING_KINDS:
            return _StringRecorder(self, node, None, None)
        return _NOTHING  # type: ignore[return-value]


def _codegen_positions(text: str, module: cst.Module) -> _OffsetState:
    state = _OffsetState(module)
    try:
        module._codegen(state)
    except RecursionError:
        raise PythonParseError("too deeply nested for the code generator") from None
    if "".join(state.tokens) != text:
        raise PythonParseError("libcst does not reproduce this file exactly")
    state.strings = [(s, e) for s, e in state.strings if "\n" in text[s:e] or "\r" in text[s:e]]
    return state


# -- entry point ---------------------------------------------------------------------------
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


def parse_python(text: str, positions: Literal["auto", "ast", "codegen"] = "auto") -> ParsedPython:
    """Parse ``text`` with libcst and find its offsets; raise PythonParseError if invalid.

    ``positions`` forces one way of finding spans (tests compare the two).
    """
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        raise PythonParseError(_syntax_error(text, exc)) from None
    except RecursionError:
        raise PythonParseError("too deeply nested for the parser") from None
    lines = LineIndex(text)
    found: _Lockstep | _OffsetState | None = None
    if positions != "codegen":
        found = _ast_positions(text, module, lines)
        if found is None and positions == "ast":
            raise PythonParseError("ast and libcst disagree about this file")
    how = "ast" if found is not None else "codegen"
    if found is None:
        found = _codegen_positions(text, module)
    return ParsedPython(
        text=text,
        module=module,
        lines=lines,
        spans=found.spans,
        suite_starts=found.suite_starts,
        strings=found.strings,
        positions=how,
    )
