"""Recognise injected telemetry and remove it: the exact inverse of ``layout.py``.

Instrumentation is recognised by its structure, not by comments: statements that call
the helper alias, the ``_codemod_t`` / ``_codemod_nN`` bookkeeping, and the ``try``
scaffolding around them. Removal deletes the lines layout inserted and the one
indentation unit it added to each wrapped line, so an untouched instrumented file
strips back to the original byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from codemodkit.edits import Edit, apply_edits
from codemodkit.parsers.python import ParsedPython

from .sites import HELPER_ALIAS, HELPER_MODULE, RESERVED_PREFIX, TOKEN_NAME

__all__ = ["StripResult", "has_instrumentation", "strip"]

_COUNTER = re.compile(rf"{RESERVED_PREFIX}n\d+\Z")


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


# -- shape predicates --------------------------------------------------------------
def _only(stmt: cst.CSTNode) -> cst.BaseSmallStatement | None:
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        return stmt.body[0]
    return None


def _is_helper_call(expr: cst.BaseExpression) -> bool:
    return (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Attribute)
        and isinstance(expr.func.value, cst.Name)
        and expr.func.value.value == HELPER_ALIAS
    )


def _is_helper_attribute(expr: cst.BaseExpression, name: str) -> bool:
    return (
        isinstance(expr, cst.Attribute)
        and isinstance(expr.value, cst.Name)
        and expr.value.value == HELPER_ALIAS
        and expr.attr.value == name
    )


def _is_guard(expr: cst.BaseExpression) -> bool:
    """What a helper call may be guarded by: ``_codemod_t``, a loop counter,
    ``_codemod_tel.on``, or ``"<site>" not in _codemod_tel.sampled``."""
    if isinstance(expr, cst.Name):
        return expr.value == TOKEN_NAME or bool(_COUNTER.match(expr.value))
    if isinstance(expr, cst.Comparison) and len(expr.comparisons) == 1:
        target = expr.comparisons[0]
        return (
            isinstance(expr.left, cst.SimpleString)
            and isinstance(target.operator, cst.NotIn)
            and _is_helper_attribute(target.comparator, "sampled")
        )
    return _is_helper_attribute(expr, "on")


def _and_operands(expr: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The operands of ``a and b and c`` (which nests as ``(a and b) and c``)."""
    if isinstance(expr, cst.BooleanOperation) and isinstance(expr.operator, cst.And):
        return [*_and_operands(expr.left), *_and_operands(expr.right)]
    return [expr]


def _is_helper_expr(expr: cst.BaseExpression) -> bool:
    """A helper call, possibly guarded: ``guard and ... and <helper call>``."""
    *guards, call = _and_operands(expr)
    return all(_is_guard(g) for g in guards) and _is_helper_call(call)


def _is_helper_statement(small: cst.BaseSmallStatement | None) -> bool:
    """A (guarded) call into the helper, or ``_codemod_t = <that>``."""
    if isinstance(small, cst.Expr):
        return _is_helper_expr(small.value)
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
        return (
            isinstance(target, cst.Name)
            and target.value == TOKEN_NAME
            and _is_helper_expr(small.value)
        )
    return False


def _counter_init(small: cst.BaseSmallStatement | None) -> str | None:
    """``_codemod_nN = 0`` or ``_codemod_nN = _codemod_tel.on and _codemod_tel.counter()``."""
    if not (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
        and _COUNTER.match(small.targets[0].target.value)
    ):
        return None
    value = small.value
    if (isinstance(value, cst.Integer) and value.value == "0") or _is_helper_expr(value):
        return small.targets[0].target.value
    return None


def _is_tick(small: cst.BaseSmallStatement | None, counter: str) -> bool:
    return (
        isinstance(small, cst.AugAssign)
        and isinstance(small.target, cst.Name)
        and small.target.value == counter
        and isinstance(small.operator, cst.AddAssign)
        and isinstance(small.value, cst.Integer)
        and small.value.value == "1"
    )


def _helper_only(body: Sequence[cst.BaseStatement], allow_raise: bool) -> bool:
    for index, stmt in enumerate(body):
        small = _only(stmt)
        last = index == len(body) - 1
        if allow_raise and last:
            if not (isinstance(small, cst.Raise) and small.exc is None):
                return False
        elif not _is_helper_statement(small):
            return False
    return bool(body)


def _is_function_try(stmt: cst.CSTNode) -> bool:
    if not (isinstance(stmt, cst.Try) and stmt.orelse is None and stmt.finalbody is not None):
        return False
    if len(stmt.handlers) != 1:
        return False
    handler = stmt.handlers[0]
    if not (isinstance(handler.type, cst.Name) and handler.type.value == "BaseException"):
        return False
    if handler.name is not None or not isinstance(handler.body, cst.IndentedBlock):
        return False
    final = stmt.finalbody.body
    return (
        _helper_only(handler.body.body, allow_raise=True)
        and isinstance(final, cst.IndentedBlock)
        and _helper_only(final.body, allow_raise=False)
    )


def _is_loop_try(stmt: cst.CSTNode) -> bool:
    if not (isinstance(stmt, cst.Try) and not stmt.handlers and stmt.orelse is None):
        return False
    if stmt.finalbody is None or not isinstance(stmt.body, cst.IndentedBlock):
        return False
    body = stmt.body.body
    final = stmt.finalbody.body
    return (
        len(body) == 1
        and isinstance(body[0], (cst.For, cst.While))
        and isinstance(final, cst.IndentedBlock)
        and _helper_only(final.body, allow_raise=False)
    )


def _is_import_block(stmt: cst.CSTNode) -> bool:
    """``if <package test>: from . import helper as alias`` / ``else: import helper as alias``."""
    if not (isinstance(stmt, cst.If) and isinstance(stmt.orelse, cst.Else)):
        return False
    body, other = stmt.body, stmt.orelse.body
    if not (isinstance(body, cst.IndentedBlock) and isinstance(other, cst.IndentedBlock)):
        return False
    if len(body.body) != 1 or len(other.body) != 1:
        return False
    relative, absolute = _only(body.body[0]), _only(other.body[0])
    return (
        isinstance(relative, cst.ImportFrom)
        and relative.module is None
        and _is_helper_alias(relative.names)
        and isinstance(absolute, cst.Import)
        and _is_helper_alias(absolute.names)
    )


def _is_helper_alias(names: Sequence[cst.ImportAlias] | cst.ImportStar) -> bool:
    if isinstance(names, cst.ImportStar) or len(names) != 1:
        return False
    alias = names[0]
    return (
        isinstance(alias.name, cst.Name)
        and alias.name.value == HELPER_MODULE
        and alias.asname is not None
        and isinstance(alias.asname.name, cst.Name)
        and alias.asname.name.value == HELPER_ALIAS
    )


class _Stripper:
    def __init__(self, parsed: ParsedPython) -> None:
        self.parsed = parsed
        self.lines = parsed.lines
        self.spans = parsed.spans
        self.deleted_lines: set[int] = set()
        self.cuts: list[tuple[int, int]] = []
        #: (try statement, body block) pairs whose body loses one indentation unit
        self.dedents: list[tuple[cst.Try, cst.BaseSuite]] = []
        self.counts = {"functions": 0, "loops": 0, "variables": 0, "imports": 0}

    def first_line(self, node: cst.CSTNode) -> int:
        """The line a statement starts on: its first decorator's, if it has any."""
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)) and node.decorators:
            node = node.decorators[0]
        return self.lines.line_of(self.spans[node][0])

    def last_line(self, node: cst.CSTNode) -> int:
        return self.lines.line_of(self.spans[node][1] - 1)

    def drop_lines(self, first: int, last: int) -> None:
        self.deleted_lines.update(range(first, last + 1))

    def drop_statement(self, stmt: cst.CSTNode) -> None:
        self.drop_lines(self.first_line(stmt), self.last_line(stmt))

    # -- walking -----------------------------------------------------------------
    def block(
        self,
        stmts: Sequence[cst.BaseStatement],
        owner: cst.IndentedBlock | None = None,
        module_level: bool = False,
    ) -> None:
        """Strip one block; ``owner`` is the indented block that holds ``stmts``."""
        index = 0
        while index < len(stmts):
            stmt = stmts[index]
            small = _only(stmt)
            following = stmts[index + 1] if index + 1 < len(stmts) else None
            if module_level and _is_import_block(stmt):
                self.drop_statement(stmt)
                self.counts["imports"] += 1
            elif (
                (counter := _counter_init(small))
                and following is not None
                and _is_loop_try(following)
            ):
                self.drop_statement(stmt)
                self.loop_try(following, counter)  # type: ignore[arg-type]
                index += 1
            elif _is_helper_statement(small):
                end = index
                while end < len(stmts) and _is_helper_statement(_only(stmts[end])):
                    end += 1
                wrapped = stmts[end] if end < len(stmts) else None
                if wrapped is not None and _is_function_try(wrapped):
                    assert isinstance(wrapped, cst.Try)
                    one_line = isinstance(wrapped.body, cst.SimpleStatementSuite)
                    if not one_line or (index == 0 and owner is not None):
                        for helper in stmts[index:end]:
                            self.drop_statement(helper)
                        self.function_try(wrapped, stmts[index])
                    # else: edited by hand; leftover names are reported by the caller
                    index = end + 1
                    continue
                for helper in stmts[index:end]:
                    self.drop_statement(helper)
                    self.counts["variables"] += 1
                index = end
                continue
            else:
                self.compound(stmt)
            index += 1

    def suite(self, suite: cst.BaseSuite) -> None:
        if isinstance(suite, cst.IndentedBlock):
            self.block(suite.body, suite)

    def compound(self, stmt: cst.BaseStatement) -> None:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef, cst.With)):
            self.suite(stmt.body)
        elif isinstance(stmt, (cst.For, cst.While)):
            self.suite(stmt.body)
            if stmt.orelse is not None:
                self.suite(stmt.orelse.body)
        elif isinstance(stmt, cst.If):
            self.suite(stmt.body)
            if isinstance(stmt.orelse, cst.If):
                self.compound(stmt.orelse)
            elif stmt.orelse is not None:
                self.suite(stmt.orelse.body)
        elif isinstance(stmt, (cst.Try, cst.TryStar)):
            self.suite(stmt.body)
            for handler in stmt.handlers:
                self.suite(handler.body)
            if stmt.orelse is not None:
                self.suite(stmt.orelse.body)
            if stmt.finalbody is not None:
                self.suite(stmt.finalbody.body)
        elif isinstance(stmt, cst.Match):
            for case in stmt.cases:
                self.suite(case.body)

    # -- the two wraps -------------------------------------------------------------
    def scaffolding(self, node: cst.Try) -> None:
        """Drop the ``try:`` line and everything from ``except``/``finally`` to the end."""
        tail = node.handlers[0] if node.handlers else node.finalbody
        assert tail is not None
        self.drop_lines(self.first_line(tail), self.last_line(node))

    def function_try(self, node: cst.Try, first_helper: cst.BaseStatement) -> None:
        if isinstance(node.body, cst.SimpleStatementSuite):
            # The original read "def f(): <body>"; layout inserted a newline, the
            # prologue and "try:" after the def's colon. Cut exactly that.
            start = self.lines.start(self.first_line(first_helper))
            text = self.parsed.text
            start -= 2 if text[start - 2 : start] == "\r\n" else 1
            self.counts["functions"] += 1
            self.scaffolding(node)
            self.cuts.append((start, self.parsed.suite_starts[node.body]))
            return
        assert isinstance(node.body, cst.IndentedBlock)
        self.counts["functions"] += 1
        self.scaffolding(node)
        self.drop_lines(self.first_line(node), self.first_line(node))
        self.dedents.append((node, node.body))
        self.block(node.body.body, node.body)

    def loop_try(self, node: cst.Try, counter: str) -> None:
        self.counts["loops"] += 1
        self.drop_lines(self.first_line(node), self.first_line(node))
        self.scaffolding(node)
        self.dedents.append((node, node.body))
        assert isinstance(node.body, cst.IndentedBlock)
        loop = node.body.body[0]
        assert isinstance(loop, (cst.For, cst.While))
        if isinstance(loop, cst.For) and loop.iter in self.spans:
            self.unwrap_iterable(loop.iter, counter)
        body = loop.body
        if isinstance(body, cst.IndentedBlock):
            if _is_tick(_only(body.body[0]), counter):
                self.drop_statement(body.body[0])
        elif (
            isinstance(body, cst.SimpleStatementSuite)
            and len(body.body) > 1
            and _is_tick(body.body[0], counter)
        ):
            self.cuts.append((self.spans[body.body[0]][0], self.spans[body.body[1]][0]))
        self.compound(loop)

    def unwrap_iterable(self, iterable: cst.BaseExpression, counter: str) -> None:
        """Cut ``_codemod_tel.counted(<counter>, `` and the closing ``)`` around the
        original iterable, when the text is exactly what layout wrote."""
        start, end = self.spans[iterable]
        prefix = f"{HELPER_ALIAS}.counted({counter}, "
        text = self.parsed.text
        if text.startswith(prefix, start) and text[end - 1] == ")":
            self.cuts.append((start, start + len(prefix)))
            self.cuts.append((end - 1, end))

    # -- edits -----------------------------------------------------------------------
    def edits(self) -> list[Edit[str]]:
        text, lines = self.parsed.text, self.lines
        protected = self.parsed.protected_lines()
        ranges = list(self.cuts)
        ranges.extend((lines.start(line), lines.end(line)) for line in self.deleted_lines)
        for node, body in self.dedents:
            try_line = self.first_line(node)
            outer = text[lines.start(try_line) : self.spans[node][0]]
            assert isinstance(body, cst.IndentedBlock)
            first = self.first_line(body.body[0])
            inner = lines.line_text(first)
            inner = inner[: len(inner) - len(inner.lstrip(" \t\f"))]
            if not inner.startswith(outer) or inner == outer:
                continue
            unit = inner[len(outer) :]
            for line in range(first, self.last_line(body) + 1):
                if line in protected or line in self.deleted_lines:
                    continue
                content = lines.line_text(line)
                if content.startswith(outer + unit) and content.strip():
                    at = lines.start(line) + len(outer)
                    ranges.append((at, at + len(unit)))
        ranges.sort()
        merged: list[list[int]] = []
        for start, end in ranges:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        if merged and merged[-1][1] == len(text) and not text.endswith(("\n", "\r")):
            # The original ended without a newline; layout had to add one.
            start = merged[-1][0]
            if text[start - 2 : start] == "\r\n":
                start -= 2
            elif start >= 1 and text[start - 1] in "\r\n":
                start -= 1
            merged[-1][0] = start
        return [Edit(start, end, "") for start, end in merged]


def strip(parsed: ParsedPython) -> StripResult:
    """Remove every recognised piece of injected telemetry from ``parsed``."""
    if not has_instrumentation(parsed.text):
        return StripResult(parsed.text)
    stripper = _Stripper(parsed)
    stripper.block(parsed.module.body, module_level=True)
    text = apply_edits(parsed.text, stripper.edits())
    return StripResult(text, **stripper.counts)
