"""Find the functions, loops and notable variables of a Python module.

The walk follows statement bodies only (expressions cannot contain statements), which
keeps it far cheaper than a generic libcst visitor. What is instrumented and what is
skipped, and why, is documented in the README ("What gets instrumented").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import libcst as cst

from codemodkit.parsers.python import ParsedPython

from .sites import (
    FilePlan,
    FunctionSite,
    ImportSite,
    LoopSite,
    Region,
    VariableSite,
    counter_name,
)

__all__ = ["collect", "find_import_site"]

_ABSTRACT = frozenset(
    {"abstractmethod", "abstractproperty", "abstractclassmethod", "abstractstaticmethod"}
)
_TRIVIAL_NAMES = frozenset({"None", "True", "False"})


@dataclass(frozen=True)
class _Scope:
    kind: Literal["module", "class", "function"]
    #: prefix for the qualified names of definitions in this scope
    qualprefix: str
    #: qualified name reported for loops and variables in this scope
    owner: str
    ancestors: tuple[str, ...] = ()
    loop_depth: int = 0
    in_loop: bool = False
    #: set inside Protocol classes and other places nothing may be injected
    skip: str | None = None


def _decorator_name(decorator: cst.Decorator) -> str | None:
    expr = decorator.decorator
    if isinstance(expr, cst.Call):
        expr = expr.func
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    return None


def _is_docstring(stmt: cst.BaseStatement | cst.BaseSmallStatement) -> bool:
    if isinstance(stmt, cst.SimpleStatementLine):
        if not stmt.body:
            return False
        stmt = stmt.body[0]
    return (
        isinstance(stmt, cst.Expr)
        and isinstance(stmt.value, (cst.SimpleString, cst.ConcatenatedString))
        and not _has_fstring(stmt.value)
    )


def _has_fstring(value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.ConcatenatedString):
        return _has_fstring(value.left) or _has_fstring(value.right)
    return not isinstance(value, cst.SimpleString)


def _small_statements(body: Sequence[cst.BaseStatement]) -> list[cst.BaseSmallStatement] | None:
    """The small statements of a body made only of simple lines, else None."""
    out: list[cst.BaseSmallStatement] = []
    for stmt in body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            return None
        out.extend(stmt.body)
    return out


def _is_trivial_value(value: cst.BaseExpression) -> bool:
    if isinstance(value, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.Ellipsis)):
        return True
    if isinstance(value, cst.ConcatenatedString):
        return not _has_fstring(value)
    if isinstance(value, cst.Name):
        return value.value in _TRIVIAL_NAMES
    if isinstance(value, cst.UnaryOperation):
        return isinstance(value.expression, (cst.Integer, cst.Float, cst.Imaginary))
    if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
        return not value.elements
    if isinstance(value, cst.Dict):
        return not value.elements
    return False


def _target_names(target: cst.BaseExpression) -> list[str] | None:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        names: list[str] = []
        for element in target.elements:
            value = element.value
            if not isinstance(value, cst.Name):
                return None
            names.append(value.value)
        return names
    return None


def _assigned_names(small: cst.BaseSmallStatement) -> list[str]:
    """Names worth recording after ``small``, or [] if it is not a notable assignment."""
    names: list[str] = []
    if isinstance(small, cst.Assign):
        if _is_trivial_value(small.value):
            return []
        for target in small.targets:
            found = _target_names(target.target)
            if found is None:
                return []
            names.extend(found)
    elif isinstance(small, cst.AnnAssign):
        if small.value is None or _is_trivial_value(small.value):
            return []
        found = _target_names(small.target)
        if found is None:
            return []
        names.extend(found)
    elif isinstance(small, cst.AugAssign):
        if not isinstance(small.target, cst.Name):
            return []
        names.append(small.target.value)
    public = [n for n in dict.fromkeys(names) if not n.startswith("_")]
    return public


def _contains_yield(root: cst.CSTNode) -> bool:
    stack: list[cst.CSTNode] = list(root.children)
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is cst.Yield:
            return True
        if kind in (cst.FunctionDef, cst.Lambda, cst.ClassDef):
            continue
        stack.extend(node.children)
    return False


def _param_names(params: cst.Parameters) -> tuple[str, ...]:
    names = [p.name.value for p in (*params.posonly_params, *params.params)]
    if isinstance(params.star_arg, cst.Param):
        names.append(params.star_arg.name.value)
    names.extend(p.name.value for p in params.kwonly_params)
    if params.star_kwarg is not None:
        names.append(params.star_kwarg.name.value)
    return tuple(names)


def _is_protocol(node: cst.ClassDef) -> bool:
    for base in node.bases:
        value = base.value
        if isinstance(value, cst.Subscript):
            value = value.value
        if isinstance(value, cst.Name) and value.value == "Protocol":
            return True
        if isinstance(value, cst.Attribute) and value.attr.value == "Protocol":
            return True
    return False


class _Collector:
    def __init__(self, parsed: ParsedPython, module_name: str, relpath: str) -> None:
        self.parsed = parsed
        self.text = parsed.text
        self.lines = parsed.lines
        self.spans = parsed.spans
        self.relpath = relpath
        self.module_name = module_name
        self.plan = FilePlan()
        self._ids: Counter[str] = Counter()

    # -- helpers -------------------------------------------------------------------
    def _id(self, base: str) -> str:
        self._ids[base] += 1
        return f"{self.relpath}::{base}#{self._ids[base]}"

    def _first_offset(self, stmt: cst.CSTNode) -> int:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) and stmt.decorators:
            return self.spans[stmt.decorators[0]][0]
        return self.spans[stmt][0]

    def _last_line(self, stmt: cst.CSTNode) -> int:
        return self.lines.line_of(self.spans[stmt][1] - 1)

    def _line_prefix(self, offset: int) -> str | None:
        """Indentation before ``offset`` on its line, or None if code precedes it."""
        line_start = self.lines.start(self.lines.line_of(offset))
        prefix = self.text[line_start:offset]
        return prefix if not prefix.strip(" \t\f") else None

    def _unit(self, outer: str, inner: str) -> str:
        """The indentation step from ``outer`` to ``inner``, else the file's default."""
        if inner.startswith(outer) and len(inner) > len(outer):
            return inner[len(outer) :]
        return self.parsed.indent

    def _skip(self, node: cst.CSTNode, reason: str) -> None:
        self.plan.skipped.append((self.lines.line_of(self._first_offset(node)) + 1, reason))

    # -- walking -------------------------------------------------------------------
    def block(self, stmts: Sequence[cst.BaseStatement], scope: _Scope) -> None:
        for stmt in stmts:
            self.statement(stmt, scope)

    def suite(self, suite: cst.BaseSuite, scope: _Scope) -> None:
        if isinstance(suite, cst.IndentedBlock):
            self.block(suite.body, scope)

    def statement(self, stmt: cst.BaseStatement, scope: _Scope) -> None:
        kind = type(stmt)
        if kind is cst.SimpleStatementLine:
            self.simple(stmt, scope)  # type: ignore[arg-type]
        elif kind is cst.FunctionDef:
            self.function(stmt, scope)  # type: ignore[arg-type]
        elif kind is cst.ClassDef:
            self.klass(stmt, scope)  # type: ignore[arg-type]
        elif kind is cst.For or kind is cst.While:
            self.loop(stmt, scope)  # type: ignore[arg-type]
        elif isinstance(stmt, cst.If):
            self.suite(stmt.body, scope)
            orelse = stmt.orelse
            if isinstance(orelse, cst.If):
                self.statement(orelse, scope)
            elif orelse is not None:
                self.suite(orelse.body, scope)
        elif isinstance(stmt, (cst.Try, cst.TryStar)):
            self.suite(stmt.body, scope)
            for handler in stmt.handlers:
                self.suite(handler.body, scope)
            if stmt.orelse is not None:
                self.suite(stmt.orelse.body, scope)
            if stmt.finalbody is not None:
                self.suite(stmt.finalbody.body, scope)
        elif isinstance(stmt, cst.With):
            self.suite(stmt.body, scope)
        elif isinstance(stmt, cst.Match):
            for case in stmt.cases:
                self.suite(case.body, scope)

    def klass(self, node: cst.ClassDef, scope: _Scope) -> None:
        skip = scope.skip or ("member of a Protocol class" if _is_protocol(node) else None)
        inner = _Scope(
            kind="class",
            qualprefix=f"{scope.qualprefix}{node.name.value}.",
            owner=scope.owner,
            ancestors=scope.ancestors,
            skip=skip,
        )
        self.suite(node.body, inner)

    def function(self, node: cst.FunctionDef, scope: _Scope) -> None:
        qualname = f"{scope.qualprefix}{node.name.value}"
        reason = scope.skip or self._function_skip_reason(node)
        site = None if reason else self._function_site(node, qualname, scope)
        if site is None:
            self._skip(node, reason or "body layout cannot be wrapped")
        else:
            self.plan.functions.append(site)
        inner = _Scope(
            kind="function",
            qualprefix=f"{qualname}.<locals>.",
            owner=qualname,
            ancestors=scope.ancestors + ((site.id,) if site else ()),
            skip=scope.skip,
        )
        self.suite(node.body, inner)

    def _function_skip_reason(self, node: cst.FunctionDef) -> str | None:
        decorators = {_decorator_name(d) for d in node.decorators}
        if "overload" in decorators:
            return "typing.overload stub"
        body = node.body
        if isinstance(body, cst.IndentedBlock):
            smalls = _small_statements(body.body)
        else:
            assert isinstance(body, cst.SimpleStatementSuite)
            smalls = list(body.body)
        if smalls is not None:
            rest = smalls[1:] if smalls and _is_docstring(smalls[0]) else smalls
            if all(isinstance(s, cst.Expr) and isinstance(s.value, cst.Ellipsis) for s in rest):
                return "stub body (only a docstring or ...)"
            if decorators & _ABSTRACT and all(_is_placeholder(s) for s in rest):
                return "abstract method with a placeholder body"
        return None

    def _function_site(
        self, node: cst.FunctionDef, qualname: str, scope: _Scope
    ) -> FunctionSite | None:
        body = node.body
        text, lines = self.text, self.lines
        if isinstance(body, cst.IndentedBlock):
            stmts = list(body.body)
            if _is_docstring(stmts[0]):
                first_line = stmts[0]
                if isinstance(first_line, cst.SimpleStatementLine) and len(first_line.body) > 1:
                    return None
                stmts = stmts[1:]
            first_offset = self._first_offset(stmts[0])
            prefix = self._line_prefix(first_offset)
            if prefix is None:
                return None
            def_prefix = self._line_prefix(self.spans[node][0]) or ""
            unit = self._unit(def_prefix, prefix)
            first = lines.line_of(first_offset)
            last = self._last_line(stmts[-1])
            region: Region | None = Region(first, last, prefix, unit)
            insert_at = lines.start(first)
            layout: Literal["block", "suite"] = "block"
        else:
            assert isinstance(body, cst.SimpleStatementSuite)
            if _is_docstring(body.body[0]):
                return None
            header_prefix = self._line_prefix(self.spans[node][0])
            if header_prefix is None:
                return None
            unit = self.parsed.indent
            prefix = header_prefix + unit
            region = None
            insert_at = self.parsed.suite_starts[body]
            last = lines.line_of(self.spans[body][1] - 1)
            layout = "suite"
        start = self._first_offset(node)
        is_gen = "yield" in text[start : self.spans[node][1]] and _contains_yield(node.body)
        if node.asynchronous is not None:
            flavor: Literal["function", "coroutine", "generator", "async_generator"] = (
                "async_generator" if is_gen else "coroutine"
            )
        else:
            flavor = "generator" if is_gen else "function"
        return FunctionSite(
            id=self._id(f"{qualname}::function"),
            qualname=qualname,
            line=lines.line_of(self.spans[node][0]) + 1,
            ancestors=scope.ancestors,
            span=(start, self.spans[node][1]),
            flavor=flavor,
            params=_param_names(node.params),
            layout=layout,
            region=region,
            insert_at=insert_at,
            end_at=lines.end(last),
            prefix=prefix,
            unit=unit,
        )

    def loop(self, node: cst.For | cst.While, scope: _Scope) -> None:
        inner = scope
        site = None
        if scope.skip:
            pass
        elif scope.kind == "class":
            self._skip(node, "loop in a class body")
        else:
            site = self._loop_site(node, scope)
            if site is None:
                self._skip(node, "loop layout cannot be wrapped")
            else:
                self.plan.loops.append(site)
                inner = replace(
                    scope,
                    ancestors=(*scope.ancestors, site.id),
                    loop_depth=scope.loop_depth + 1,
                    in_loop=True,
                )
        if site is None:
            inner = replace(scope, in_loop=True)
        self.suite(node.body, inner)
        if node.orelse is not None:
            self.suite(node.orelse.body, inner)

    def _loop_site(self, node: cst.For | cst.While, scope: _Scope) -> LoopSite | None:
        lines = self.lines
        start, _ = self.spans[node]
        prefix = self._line_prefix(start)
        if prefix is None:
            return None
        first = lines.line_of(start)
        last = self._last_line(node)
        body = node.body
        tick_prefix: str | None
        if isinstance(body, cst.IndentedBlock):
            body_offset = self._first_offset(body.body[0])
            tick_prefix = self._line_prefix(body_offset)
            if tick_prefix is None:
                return None
            tick_at = lines.start(lines.line_of(body_offset))
            unit = self._unit(prefix, tick_prefix)
        else:
            assert isinstance(body, cst.SimpleStatementSuite)
            tick_at = self.spans[body.body[0]][0]
            tick_prefix = None
            unit = self.parsed.indent
        if isinstance(node, cst.While):
            flavor: Literal["for", "async for", "while"] = "while"
        else:
            flavor = "async for" if node.asynchronous is not None else "for"
        depth = scope.loop_depth + 1
        iterable = None
        if isinstance(node, cst.For) and node.asynchronous is None and node.iter in self.spans:
            iterable = self.spans[node.iter]
        return LoopSite(
            id=self._id(f"{scope.owner}::loop"),
            qualname=scope.owner,
            line=first + 1,
            ancestors=scope.ancestors,
            span=self.spans[node],
            flavor=flavor,
            counter=counter_name(depth),
            region=Region(first, last, prefix, unit),
            insert_at=lines.start(first),
            end_at=lines.end(last),
            prefix=prefix,
            tick_at=tick_at,
            tick_prefix=tick_prefix,
            iterable=iterable,
        )

    def simple(self, stmt: cst.SimpleStatementLine, scope: _Scope) -> None:
        if scope.kind != "function" or scope.in_loop or scope.skip or len(stmt.body) != 1:
            return
        names = _assigned_names(stmt.body[0])
        if not names:
            return
        start, end = self.spans[stmt]
        prefix = self._line_prefix(start)
        if prefix is None:
            return
        last = self.lines.line_of(end - 1)
        self.plan.variables.append(
            VariableSite(
                id=self._id(f"{scope.owner}::var:{','.join(names)}"),
                qualname=scope.owner,
                line=self.lines.line_of(start) + 1,
                ancestors=scope.ancestors,
                span=(start, end),
                names=tuple(names),
                end_at=self.lines.end(last),
                prefix=prefix,
            )
        )


def _is_placeholder(small: cst.BaseSmallStatement) -> bool:
    if isinstance(small, cst.Pass):
        return True
    if isinstance(small, cst.Expr):
        return isinstance(small.value, cst.Ellipsis) or _is_docstring(small)
    if isinstance(small, cst.Raise):
        exc = small.exc
        if isinstance(exc, cst.Call):
            exc = exc.func
        return isinstance(exc, cst.Name) and exc.value == "NotImplementedError"
    return False


def collect(parsed: ParsedPython, module_name: str, relpath: str) -> FilePlan:
    """Collect every instrumentable site of ``parsed`` (an uninstrumented module)."""
    collector = _Collector(parsed, module_name, relpath)
    scope = _Scope(
        kind="module", qualprefix=f"{module_name}." if module_name else "", owner=module_name
    )
    collector.block(parsed.module.body, scope)
    return collector.plan


def find_import_site(parsed: ParsedPython, dots: str) -> ImportSite:
    """The helper import goes after the module docstring and ``from __future__`` imports."""
    body = parsed.module.body
    lines = parsed.lines
    after: cst.BaseStatement | None = None
    for index, stmt in enumerate(body):
        if index == 0 and _is_docstring(stmt):
            after = stmt
            continue
        # A line holding a future import (possibly followed by other statements after
        # a semicolon) must stay above the helper import.
        if (
            isinstance(stmt, cst.SimpleStatementLine)
            and stmt.body
            and any(
                isinstance(s, cst.ImportFrom)
                and isinstance(s.module, cst.Name)
                and s.module.value == "__future__"
                and not s.relative
                for s in stmt.body
            )
        ):
            after = stmt
            continue
        break
    if after is not None:
        insert_at = lines.end(lines.line_of(parsed.spans[after][1] - 1))
    elif body:
        first = body[0]
        offset = (
            parsed.spans[first.decorators[0]][0]
            if isinstance(first, (cst.FunctionDef, cst.ClassDef)) and first.decorators
            else parsed.spans[first][0]
        )
        insert_at = lines.start(lines.line_of(offset))
    else:
        insert_at = len(parsed.text)
    return ImportSite(insert_at=insert_at, dots=dots)
