"""Errors grouped into spans a model rewrites: one request per statement or function.

For each located diagnostic the span starts as the smallest statement, class or
interface member, or function around it (tree-sitter, the grammar by file extension;
an error in a ``for`` header belongs to the whole loop, not to ``let i = 0``). It
then grows to the enclosing unit while that unit is small (at most
``SMALL_LINES`` lines), stopping at a named function or method, a class member or a
top-level statement: a short function is rewritten whole, so all its errors go in one
request, while an error in a long function only costs its own statement. An
``export`` keyword and a method's decorators belong to the span. Where no unit
covers the position (a syntax error at the top level, the end of the file) the span
is the diagnostic's whole lines.

Spans that nest or overlap merge into one group (the outer span), so groups never
overlap and each located diagnostic is in exactly one group, whose span contains
it. Offsets are code points, like everything in tsfix.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import tree_sitter

from codemodkit.parsers.javascript import Dialect

from .syntax import FUNCTIONS, Source, dialect_of, parse_source
from .types import Diagnostic

__all__ = ["SMALL_LINES", "Group", "group_diagnostics"]

#: a unit up to this many lines is rewritten whole rather than one of its statements
SMALL_LINES = 30

_FUNCTIONS = FUNCTIONS | {"function_signature"}
_METHODS = frozenset({"method_definition", "method_signature", "abstract_method_signature"})
_MEMBERS = frozenset(
    {
        "public_field_definition",
        "property_signature",
        "index_signature",
        "call_signature",
        "construct_signature",
        "class_static_block",
    }
)
#: where a node is a statement of its own (not, say, the ``let i = 0`` of a ``for``)
_STATEMENT_PARENTS = frozenset(
    {
        "program",
        "statement_block",
        "switch_case",
        "switch_default",
        "else_clause",
        "if_statement",
        "labeled_statement",
        "export_statement",
    }
)
_LOOPS = frozenset({"for_statement", "for_in_statement", "while_statement", "do_statement"})
#: named units: a span grows no further than these
_STOPS = _METHODS | _MEMBERS | {"function_declaration", "generator_function_declaration"}


@dataclass(frozen=True)
class Group:
    file: str
    #: code-point offsets of the span in the file's text
    start: int
    end: int
    #: "function", "method", "class member", "statement" or "line"
    kind: str
    #: the function's, method's, member's or declared name, if any
    name: str | None
    diagnostics: tuple[Diagnostic, ...]
    #: 1-based lines of the span's first and last character
    line: int = 1
    end_line: int = 1

    @property
    def lines(self) -> int:
        return self.end_line - self.line + 1

    def contains(self, diagnostic: Diagnostic) -> bool:
        start = diagnostic.start
        return start is not None and self.start <= start and (diagnostic.end or start) <= self.end


def _is_statement(node: tree_sitter.Node) -> bool:
    parent = node.parent
    if parent is None or node.type in ("empty_statement", "statement_block", "comment"):
        return False
    if not (
        node.type.endswith(("_statement", "_declaration")) or node.type == "function_signature"
    ):
        return False
    if parent.type in _LOOPS:
        return parent.child_by_field_name("body") == node
    return parent.type in _STATEMENT_PARENTS


def _is_unit(node: tree_sitter.Node) -> bool:
    return (
        node.type in _FUNCTIONS
        or node.type in _METHODS
        or node.type in _MEMBERS
        or (_is_statement(node))
    )


def _top_level(node: tree_sitter.Node) -> bool:
    parent = node.parent
    while parent is not None and parent.type == "export_statement":
        parent = parent.parent
    if parent is None or parent.type == "program":
        return True
    # the body of ``namespace N { ... }`` or ``declare module "m" { ... }``
    owner = parent.parent
    return (
        parent.type == "statement_block"
        and owner is not None
        and owner.type
        in (
            "internal_module",
            "module",
        )
    )


def _lines(node: tree_sitter.Node) -> int:
    return node.end_point.row - node.start_point.row + 1


def _wrap(node: tree_sitter.Node) -> tree_sitter.Node:
    """The export statement around a declaration."""
    parent = node.parent
    while parent is not None and parent.type == "export_statement":
        node, parent = parent, parent.parent
    return node


def _unit_for(root: tree_sitter.Node, start: int, end: int) -> tree_sitter.Node | None:
    node: tree_sitter.Node | None = root.descendant_for_byte_range(start, end)
    while node is not None and not _is_unit(node):
        node = node.parent
    if node is None:
        return None
    while node.type not in _STOPS and not (_is_statement(node) and _top_level(node)):
        parent = node.parent
        while parent is not None and not _is_unit(parent):
            parent = parent.parent
        if parent is None or _lines(_wrap(parent)) > SMALL_LINES:
            break
        node = parent
    return _wrap(node)


def _declared(node: tree_sitter.Node) -> tree_sitter.Node:
    """The declaration inside an export statement."""
    while node.type == "export_statement":
        inner = node.child_by_field_name("declaration") or next(
            (c for c in node.named_children if c.type != "decorator"), None
        )
        if inner is None:
            break
        node = inner
    return node


def _kind(node: tree_sitter.Node) -> str:
    node = _declared(node)
    if node.type in _FUNCTIONS:
        return "function"
    if node.type in _METHODS:
        return "method"
    if node.type in _MEMBERS:
        return "class member"
    return "statement"


def _name(source: Source, node: tree_sitter.Node) -> str | None:
    node = _declared(node)
    named = node.child_by_field_name("name")
    if named is None and node.type in ("lexical_declaration", "variable_declaration"):
        declarators = [c for c in node.named_children if c.type == "variable_declarator"]
        if len(declarators) == 1:
            named = declarators[0].child_by_field_name("name")
    if named is None and node.type in ("arrow_function", "function_expression"):
        parent = node.parent
        if parent is not None and parent.type in ("variable_declarator", "pair"):
            named = parent.child_by_field_name("name") or parent.child_by_field_name("key")
    if named is None or named.type not in (
        "identifier",
        "type_identifier",
        "property_identifier",
        "private_property_identifier",
        "string",
    ):
        return None
    return source.node_text(named)


def _start_byte(node: tree_sitter.Node) -> int:
    """Where a unit starts, with the decorators written before a method."""
    start = node.start_byte
    sibling = node.prev_named_sibling
    while sibling is not None and sibling.type == "decorator":
        start = sibling.start_byte
        sibling = sibling.prev_named_sibling
    return start


def _line_span(text: str, start: int, end: int) -> tuple[int, int]:
    first = text.rfind("\n", 0, start) + 1
    last = text.find("\n", end)
    return first, len(text) if last < 0 else last


@dataclass
class _Span:
    start: int
    end: int
    kind: str
    name: str | None
    diagnostics: list[Diagnostic]


def group_diagnostics(
    text: str,
    dialect: Dialect | None,
    diagnostics: Iterable[Diagnostic],
    file: str | None = None,
) -> list[Group]:
    """Groups of the diagnostics located in ``text`` (those of ``file``, or of the
    first located diagnostic's file), in text order."""
    located = [d for d in diagnostics if d.start is not None and d.file is not None]
    file = file or (located[0].file if located else None)
    located = [d for d in located if d.file == file]
    if file is None or not located:
        return []
    source = parse_source(text, dialect or dialect_of(file))
    spans: list[_Span] = []
    for diagnostic in located:
        assert diagnostic.start is not None
        start = min(max(diagnostic.start, 0), len(text))
        end = min(max(diagnostic.end or start, start), len(text))
        node = _unit_for(source.root, source.byte(start), source.byte(end))
        if node is not None:
            first, last = source.char(_start_byte(node)), source.char(node.end_byte)
            spans.append(_Span(first, last, _kind(node), _name(source, node), [diagnostic]))
        else:
            first, last = _line_span(text, start, end)
            spans.append(_Span(first, last, "line", None, [diagnostic]))
    spans.sort(key=lambda s: (s.start, -s.end))
    merged: list[_Span] = []
    for span in spans:
        current = merged[-1] if merged else None
        if current is not None and (span.start < current.end or span.end <= current.end):
            if span.end > current.end:  # overlapping, not nested: the union
                current.end = span.end
            current.diagnostics.extend(span.diagnostics)
        else:
            merged.append(span)
    return [
        Group(
            file=file,
            start=span.start,
            end=span.end,
            kind=span.kind,
            name=span.name,
            diagnostics=tuple(sorted(span.diagnostics, key=lambda d: d.start or 0)),
            line=text.count("\n", 0, span.start) + 1,
            end_line=text.count("\n", 0, span.end) + 1,
        )
        for span in merged
    ]
