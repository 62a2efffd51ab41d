"""Recognise injected telemetry in JavaScript/TypeScript and remove it: the exact
inverse of ``layout.py``.

Instrumentation is recognised by its structure: the ``_codemod_tel`` import, the
``const _codemod_t``/``_codemod_a`` token declarations followed by a ``try`` whose
``catch (_codemod_e)`` and ``finally`` hold only helper calls, the ``let _codemod_nN =
0`` counters followed by a ``try``/``finally`` around one loop, the counters' ticks,
and the value records. Three forms carry their own marker, because the original could
have had either shape:

* an arrow whose expression body became a block uses the token ``_codemod_a``: its
  block is reduced back to the expression it returns;
* braces added around a brace-less loop body hold the tick ``_codemod_nN += 1;``
  (a braced body's tick is ``_codemod_nN++;``): they are removed with it;
* braces added around a loop that was itself the brace-less body of another
  statement (``if (x) for ...``) hold its counter, named ``_codemod_bN`` instead of
  ``_codemod_nN``, and its ``try``: they are removed with them.

Removal deletes the bytes layout inserted and the indentation unit it added to each
wrapped line, so an untouched instrumented file strips back to the original exactly.
Anything that does not have the exact shape is left alone (and then reported by the
caller as edited by hand, since it still uses the reserved prefix).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from tree_sitter import Node, Query, QueryCursor

from codemodkit.edits import Edit, apply_edits
from codemodkit.parsers.javascript import Dialect, ParsedJS, language

from .collect import facts
from .layout import IMPORT_COMMENT
from .sites import ARROW_TOKEN, ERROR_NAME, HELPER_ALIAS, RESERVED_PREFIX, TOKEN_NAME

__all__ = ["StripResult", "has_instrumentation", "strip"]

_KEY = r'"(?:[^"\\\n]|\\.)*"'
_H = re.escape(HELPER_ALIAS)
#: an identifier (the recorded name), non-ASCII letters included
_NAME = r"(?:[^\W\d]|\$)[\w$\u200c\u200d]*"
_TOKENS = f"(?:{TOKEN_NAME}|{ARROW_TOKEN})"
_COUNTER = rf"{RESERVED_PREFIX}[nb]\d+"
#: the counter of a loop whose braces were added with it (``counter_name``)
_ENCLOSED = f"{RESERVED_PREFIX}b"
_ENTER = re.compile(rf"const ({_TOKENS}) = {_H}\.on && {_H}\.enter\({_KEY}\);\Z")
_RECORD = re.compile(
    rf"{_H}\.on && !{_H}\.sampled\.has\({_KEY}\) && {_H}\.value\({_KEY}, "
    rf"(?:{_NAME}|{_H}\.attr\({_NAME}, {_KEY}\))\);\Z"
)
_ERROR = re.compile(rf"({_TOKENS}) && {_H}\.error\({_KEY}, \1, {ERROR_NAME}\);\Z")
_LEAVE = re.compile(rf"({_TOKENS}) && {_H}\.leave\({_KEY}, \1\);\Z")
_COUNTER_INIT = re.compile(rf"let ({_COUNTER}) = 0;\Z")
_LOOP = re.compile(rf"{_H}\.on && {_H}\.loop\({_KEY}, ({_COUNTER})\);\Z")
_IMPORTS = (
    re.compile(rf"import \* as {_H} from {_KEY};\Z"),
    re.compile(rf"const {_H} = require\({_KEY}\);\Z"),
    re.compile(rf"import {_H} = require\({_KEY}\);\Z"),
    re.compile(rf"const {_H}: typeof import\(({_KEY})\) = require\(\1\);\Z"),
)
_LOOPS = frozenset({"for_statement", "for_in_statement", "while_statement", "do_statement"})
_QUERIES: dict[Dialect, Query] = {}


def _query(dialect: Dialect) -> Query:
    if dialect not in _QUERIES:
        _QUERIES[dialect] = Query(
            language(dialect),
            f"""
            ((lexical_declaration (variable_declarator name: (identifier) @name)) @decl
             (#match? @name "^{RESERVED_PREFIX}"))
            ((expression_statement) @record (#match? @record "^{HELPER_ALIAS}\\\\.on && !"))
            ((import_statement) @import (#match? @import "{HELPER_ALIAS}"))
            """,
        )
    return _QUERIES[dialect]


@dataclass(frozen=True)
class StripResult:
    text: str
    functions: int = 0
    loops: int = 0
    variables: int = 0
    imports: int = 0

    @property
    def removed(self) -> int:
        return self.functions + self.loops + self.variables + self.imports


def has_instrumentation(text: str) -> bool:
    return HELPER_ALIAS in text


def _src(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def _siblings(node: Node) -> Iterator[Node]:
    """The named siblings after ``node``, comments included."""
    current = node.next_named_sibling
    while current is not None:
        yield current
        current = current.next_named_sibling


def _statements(block: Node | None) -> list[Node]:
    if block is None:
        return []
    return [c for c in block.named_children if c.type != "comment"]


@dataclass
class _Stripper:
    parsed: ParsedJS
    cuts: list[tuple[int, int]] = field(default_factory=list)
    #: (first row, last row, outer indentation, unit) of re-indented regions
    dedents: list[tuple[int, int, bytes, bytes]] = field(default_factory=list)
    consumed: set[int] = field(default_factory=set)
    counts: dict[str, int] = field(
        default_factory=lambda: {"functions": 0, "loops": 0, "variables": 0, "imports": 0}
    )

    @property
    def data(self) -> bytes:
        return self.parsed.data

    def row(self, offset: int) -> int:
        return self.parsed.lines.line_of(offset)

    def whole_lines(self, first: Node, last: Node) -> tuple[int, int]:
        lines = self.parsed.lines
        return lines.start(first.start_point.row), lines.end(self.row(last.end_byte - 1))

    def alone(self, node: Node) -> bool:
        """Does ``node`` fill its lines (only indentation before, nothing after)?"""
        lines = self.parsed.lines
        return lines.prefix(node.start_byte) is not None and lines.rest_is_blank(node.end_byte)

    def indentation(self, node: Node) -> bytes:
        text = self.parsed.lines.text(node.start_point.row)
        return text[: len(text) - len(text.lstrip(b" \t"))]

    # -- the forms ---------------------------------------------------------------------
    def run(self) -> None:
        captures = QueryCursor(_query(self.parsed.dialect)).captures(self.parsed.root)
        found = [(n, k) for k in ("decl", "record", "import") for n in captures.get(k, ())]
        found.sort(key=lambda item: item[0].start_byte)
        for node, kind in found:
            if node.start_byte in self.consumed:
                continue
            text = _src(node)
            at_top = node.parent is not None and node.parent.type == "program"
            if kind == "import" or (at_top and any(p.match(text) for p in _IMPORTS)):
                self.import_line(node, text)
            elif kind == "decl":
                if _ENTER.match(text):
                    self.function(node)
                elif _COUNTER_INIT.match(text):
                    self.loop(node)
            elif _RECORD.match(text) and self.alone(node):
                self.cuts.append(self.whole_lines(node, node))
                self.counts["variables"] += 1

    def import_line(self, node: Node, text: str) -> None:
        if not any(p.match(text) for p in _IMPORTS):
            return
        lines = self.parsed.lines
        end = lines.content_end(node.end_point.row)
        if self.data[node.end_byte : end] != b" " + IMPORT_COMMENT.encode():
            return
        self.cuts.append((node.start_byte, lines.end(node.end_point.row)))
        self.counts["imports"] += 1

    def function(self, decl: Node) -> None:
        body = decl.parent
        if body is None or body.type != "statement_block":
            return
        token = _ENTER.match(_src(decl))
        assert token is not None
        records: list[Node] = []
        wrap: Node | None = None
        for sibling in _siblings(decl):
            if _RECORD.match(_src(sibling)):
                records.append(sibling)
                continue
            wrap = sibling
            break
        if wrap is None or not self.is_function_try(wrap, token.group(1)):
            return
        self.consumed.update(r.start_byte for r in records)
        self.counts["functions"] += 1
        if token.group(1) == ARROW_TOKEN:
            self.arrow(body, decl, wrap)
        elif self.alone(decl) and self.block_opening(wrap):
            self.block(decl, wrap)
        else:
            self.inline(decl, wrap)

    def is_function_try(self, wrap: Node, token: str) -> bool:
        if wrap.type != "try_statement":
            return False
        handler = wrap.child_by_field_name("handler")
        final = wrap.child_by_field_name("finalizer")
        if handler is None or final is None:
            return False
        if _src(handler.child_by_field_name("parameter")) != ERROR_NAME:
            return False
        on_error = handler.child_by_field_name("body")
        throws = re.compile(rf"throw {ERROR_NAME};\Z")
        error = _statements(on_error)
        if len(error) < 2 or not throws.match(_src(error[-1])):
            return False
        for statement in error[:-1]:
            match = _ERROR.match(_src(statement))
            if match is None or match.group(1) != token:
                return False
        after = _statements(final.child_by_field_name("body"))
        return bool(after) and all(
            (m := _LEAVE.match(_src(s))) is not None and m.group(1) == token for s in after
        )

    def block_opening(self, wrap: Node) -> bool:
        """Is ``try {`` a line of its own?"""
        block = wrap.child_by_field_name("body")
        lines = self.parsed.lines
        return (
            block is not None
            and lines.prefix(wrap.start_byte) is not None
            and lines.rest_is_blank(block.start_byte + 1)
        )

    def block(self, decl: Node, wrap: Node) -> None:
        """Whole lines: the prologue up to ``try {``, and ``} catch`` ... ``}``."""
        lines = self.parsed.lines
        block = wrap.child_by_field_name("body")
        handler = wrap.child_by_field_name("handler")
        assert block is not None and handler is not None
        try_row = wrap.start_point.row
        self.cuts.append((lines.start(decl.start_point.row), lines.end(try_row)))
        close_row = block.end_point.row
        self.cuts.append((lines.start(close_row), lines.end(wrap.end_point.row)))
        outer = self.indentation(wrap)
        first_error = _statements(handler.child_by_field_name("body"))[0]
        inner = self.indentation(first_error)
        if inner.startswith(outer) and len(inner) > len(outer):
            self.dedents.append((try_row + 1, close_row - 1, outer, inner[len(outer) :]))

    def inline(self, decl: Node, wrap: Node) -> None:
        """`` const ...; try {`` after the brace and ``} catch ... } `` before it."""
        data = self.data
        block = wrap.child_by_field_name("body")
        assert block is not None
        if (
            data[decl.start_byte - 1 : decl.start_byte] != b" "
            or data[wrap.end_byte : wrap.end_byte + 1] != b" "
        ):
            return
        self.cuts.append((decl.start_byte - 1, block.start_byte + 1))
        self.cuts.append((block.end_byte - 1, wrap.end_byte + 1))

    def arrow(self, body: Node, decl: Node, wrap: Node) -> None:
        """``{ ... return EXPR; ... }`` back to ``EXPR``."""
        block = wrap.child_by_field_name("body")
        returns = _statements(block)
        if len(returns) != 1 or returns[0].type != "return_statement":
            return
        value = returns[0].named_children
        if len(value) != 1 or _statements(body)[0] != decl:
            return
        expression = value[0]
        self.cuts.append((body.start_byte, expression.start_byte))
        self.cuts.append((expression.end_byte, body.end_byte))

    def loop(self, decl: Node) -> None:
        counter = _COUNTER_INIT.match(_src(decl))
        assert counter is not None
        enclosed = counter.group(1).startswith(_ENCLOSED)
        wrap = decl.next_named_sibling
        if wrap is None or wrap.type != "try_statement" or not (enclosed or self.alone(decl)):
            return
        if wrap.child_by_field_name("handler") is not None:
            return
        final = wrap.child_by_field_name("finalizer")
        block = wrap.child_by_field_name("body")
        inside = _statements(block)  # a comment after the loop on its line is inside
        if final is None or len(inside) != 1:
            return
        after = _statements(final.child_by_field_name("body"))
        closing = _LOOP.match(_src(after[0])) if len(after) == 1 else None
        if closing is None or closing.group(1) != counter.group(1):
            return
        loop = inside[0]
        while loop.type == "labeled_statement":
            labelled = loop.child_by_field_name("body")
            if labelled is None:
                return
            loop = labelled
        if loop.type not in _LOOPS or block is None:
            return
        if enclosed:
            braces = decl.parent
            if braces is None or braces.named_children != [decl, wrap]:
                return
            if self.alone(decl):
                if not self.enclosed_block(braces, decl, wrap, block, after[0]):
                    return
            elif not self.enclosed_inline(braces, decl, inside[0], after[0]):
                return
        else:
            self.block_lines(decl, wrap, wrap, block, after[0])
        self.counts["loops"] += 1
        self.tick(loop, counter.group(1))

    def block_lines(self, first: Node, wrap: Node, last: Node, block: Node, call: Node) -> None:
        """Whole lines from ``first`` to ``try {`` and from ``} finally {`` to the end of
        ``last``; the lines between lose what their indentation gained over ``first``'s
        (the finally's ``call`` is indented exactly that much deeper)."""
        lines = self.parsed.lines
        try_row = wrap.start_point.row
        self.cuts.append((lines.start(first.start_point.row), lines.end(try_row)))
        close_row = block.end_point.row
        self.cuts.append((lines.start(close_row), lines.end(self.row(last.end_byte - 1))))
        outer = self.indentation(first)
        inner = self.indentation(call)
        if inner.startswith(outer) and len(inner) > len(outer):
            self.dedents.append((try_row + 1, close_row - 1, outer, inner[len(outer) :]))

    def enclosed_block(self, braces: Node, decl: Node, wrap: Node, block: Node, call: Node) -> bool:
        """``{``, the counter, ``try {`` ... ``}`` on lines of their own around a loop
        that was a brace-less body: the loop's lines lose two units."""
        lines = self.parsed.lines
        if not (
            lines.prefix(braces.start_byte) is not None
            and lines.rest_is_blank(braces.start_byte + 1)
            and decl.start_point.row == braces.start_point.row + 1
            and lines.prefix(braces.end_byte - 1) is not None
            and lines.rest_is_blank(braces.end_byte)
            and braces.end_point.row == wrap.end_point.row + 1
        ):
            return False
        self.block_lines(braces, wrap, braces, block, call)
        return True

    def enclosed_inline(self, braces: Node, decl: Node, loop: Node, call: Node) -> bool:
        """``{ let _codemod_bN = 0; try { `` and `` } finally { ... } }`` spliced in
        around a loop that was a brace-less body."""
        data = self.data
        opening = b"{ " + data[decl.start_byte : decl.end_byte] + b" try { "
        closing = b" } finally { " + data[call.start_byte : call.end_byte] + b" } }"
        if (
            data[braces.start_byte : loop.start_byte] != opening
            or data[loop.end_byte : braces.end_byte] != closing
        ):
            return False
        self.cuts.append((braces.start_byte, loop.start_byte))
        self.cuts.append((loop.end_byte, braces.end_byte))
        return True

    def tick(self, loop: Node, counter: str) -> None:
        body = loop.child_by_field_name("body")
        statements = _statements(body)
        if body is None or not statements:
            return
        first = statements[0]
        text = _src(first)
        data = self.data
        if text == f"{counter}++;":
            if self.alone(first):
                self.cuts.append(self.whole_lines(first, first))
            elif data[first.start_byte - 1 : first.start_byte] == b" ":
                self.cuts.append((first.start_byte - 1, first.end_byte))
        elif text == f"{counter} += 1;" and (
            data[body.start_byte : first.start_byte] == b"{ "
            and data[first.end_byte : first.end_byte + 1] == b" "
            and data[body.end_byte - 2 : body.end_byte] == b" }"
        ):
            self.cuts.append((body.start_byte, first.end_byte + 1))
            self.cuts.append((body.end_byte - 2, body.end_byte))

    # -- edits -------------------------------------------------------------------------
    def edits(self) -> list[Edit[bytes]]:
        data, lines = self.data, self.parsed.lines
        ranges = list(self.cuts)
        protected = facts(self.parsed).protected if self.dedents else frozenset()
        for first, last, outer, unit in self.dedents:
            for row in range(first, last + 1):
                if row in protected:
                    continue
                content = lines.text(row)
                if content.startswith(outer + unit) and content.strip(b" \t"):
                    at = lines.start(row) + len(outer)
                    ranges.append((at, at + len(unit)))
        ranges.sort()
        merged: list[list[int]] = []
        for start, end in ranges:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        if merged and merged[-1][1] == len(data) and not data.endswith(b"\n"):
            # The original ended without a newline; layout had to add one.
            start = merged[-1][0]
            if data[start - 2 : start] == b"\r\n":
                start -= 2
            elif start >= 1 and data[start - 1 : start] == b"\n":
                start -= 1
            merged[-1][0] = start
        return [Edit(start, end, b"") for start, end in merged]


def strip(parsed: ParsedJS) -> StripResult:
    """Remove every recognised piece of injected telemetry from ``parsed``."""
    if not has_instrumentation(parsed.text):
        return StripResult(parsed.text)
    stripper = _Stripper(parsed)
    stripper.run()
    data = apply_edits(parsed.data, stripper.edits())
    return StripResult(data.decode("utf-8"), **stripper.counts)
