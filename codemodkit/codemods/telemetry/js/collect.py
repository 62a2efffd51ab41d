"""Find the functions, loops and notable variables of a JavaScript or TypeScript file.

One tree-sitter query (run in C) finds every node that matters - functions, loops,
declarations and the scopes around them - so Python never walks the whole tree.
Sorted by position, the captures nest like the code, and a stack of open scopes
gives each node its enclosing function, class and loops. What is instrumented and
what is skipped, and why, is documented in the README ("JavaScript and TypeScript").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from tree_sitter import Node, Query, QueryCursor

from codemodkit.parsers.javascript import ByteLines, Dialect, ParsedJS, language

from .sites import (
    FilePlan,
    FunctionSite,
    ImportSite,
    JsFacts,
    LoopSite,
    Region,
    VariableSite,
    counter_name,
)

__all__ = ["analyse", "collect", "facts", "find_import_site"]

_FUNCTIONS = (
    "function_declaration",
    "generator_function_declaration",
    "function_expression",
    "generator_function",
    "arrow_function",
    "method_definition",
)
_LOOPS = ("for_statement", "for_in_statement", "while_statement", "do_statement")
_COMMON_PATTERNS = f"""
[{" ".join(f"({t})" for t in _FUNCTIONS)}] @function
[{" ".join(f"({t})" for t in _LOOPS)}] @loop
[(lexical_declaration) (variable_declaration)] @declaration
[(class_declaration) (class)] @class
(class_static_block) @static
"""
_TS_PATTERNS = """
(abstract_class_declaration) @class
[(internal_module) (module)] @namespace
(ambient_declaration) @ambient
[(function_signature) (method_signature)] @signature
(abstract_method_signature) @abstract
(interface_declaration) @interface
(assignment_expression "using") @using
"""
#: ``using x = ...`` (explicit resource management): the JavaScript grammar has a
#: node for it; the TypeScript grammar (0.23) reads it as an assignment expression
#: that starts with the token ``using`` (see ``_ts_using``)
_JS_PATTERNS = """
(using_declaration) @declaration
"""
#: literals whose lines after the first are part of the string's value
_STRING_PATTERNS = {
    "templates": "(template_string) @string",
    # a quoted string spans lines only with a line continuation (backslash-newline)
    "all": "[(template_string) (string)] @string",
}
_STATEMENT_LISTS = frozenset({"statement_block", "program", "switch_case", "switch_default"})
#: statements whose brace-less body can be a loop
_BODY_OWNERS = frozenset({"if_statement", "else_clause", "with_statement", *_LOOPS})
_TRIVIAL = frozenset({"number", "true", "false", "null", "undefined", "regex"})
Strings = Literal["none", "templates", "all"]
#: by dialect, whether sites are captured, and which string literals
_QUERIES: dict[tuple[Dialect, bool, Strings], Query] = {}


def _query(dialect: Dialect, sites: bool = True, strings: Strings = "none") -> Query:
    key = (dialect, sites, strings)
    if key not in _QUERIES:
        source = ""
        if sites:
            source += _COMMON_PATTERNS + (_JS_PATTERNS if dialect == "javascript" else _TS_PATTERNS)
        if strings != "none":
            source += _STRING_PATTERNS[strings]
        _QUERIES[key] = Query(language(dialect), source)
    return _QUERIES[key]


def _multiline_strings(parsed: ParsedJS) -> Strings:
    """Which string literals can span lines: templates, quoted strings with a line
    continuation, and JSX attribute strings, which may hold raw line breaks
    (capturing every string of a file costs a tenth of the parse)."""
    data = parsed.data
    if parsed.dialect != "typescript" or b"\\\n" in data or b"\\\r\n" in data:
        return "all"
    return "templates" if b"`" in data else "none"


def _facts(parsed: ParsedJS, strings: Iterable[Node]) -> JsFacts:
    protected: set[int] = set()
    for node in strings:
        first, last = node.start_point.row, node.end_point.row
        if last > first:
            protected.update(range(first + 1, last + 1))
    return JsFacts(
        data=parsed.data,
        newline=parsed.newline,
        indent=parsed.indent,
        protected=frozenset(protected),
        lines=parsed.lines,
    )


def facts(parsed: ParsedJS) -> JsFacts:
    """Newline, indentation and the lines that start inside a string literal."""
    strings: Iterable[Node] = ()
    kinds = _multiline_strings(parsed)
    if kinds != "none":
        query = _query(parsed.dialect, sites=False, strings=kinds)
        strings = QueryCursor(query).captures(parsed.root).get("string", ())
    return _facts(parsed, strings)


# -- small syntax helpers ------------------------------------------------------------
def _text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def _has_token(node: Node, token: str) -> bool:
    """Does ``node`` have the anonymous child ``token`` (``async``, ``*``, ``static`` ...)?"""
    for child in node.children:
        if child.type == token and not child.is_named:
            return True
        if child.type in ("formal_parameters", "statement_block", "property_identifier"):
            break
    return False


def _clean(name: str) -> str:
    """A name usable in a site key (``path:line:qualname``): no ``:`` or ``|``."""
    name = " ".join(name.split())
    name = name.replace(":", "_").replace("|", "_")
    return name if len(name) <= 60 else name[:57] + "..."


def _property_name(node: Node | None) -> str:
    if node is None:
        return "<anonymous>"
    if node.type == "string":
        return _clean(_text(node)[1:-1])
    if node.type == "computed_property_name":
        return "<computed>"
    return _clean(_text(node))


def bound_names(pattern: Node | None) -> Iterator[str]:
    """The identifiers a binding pattern binds (``a``, ``{b, c: [d]}``, ``...e``)."""
    if pattern is None:
        return
    kind = pattern.type
    if kind in ("identifier", "shorthand_property_identifier_pattern"):
        yield _text(pattern)
    elif kind in ("object_pattern", "array_pattern"):
        for child in pattern.named_children:
            yield from bound_names(child)
    elif kind == "pair_pattern":
        yield from bound_names(pattern.child_by_field_name("value"))
    elif kind in ("assignment_pattern", "object_assignment_pattern"):
        yield from bound_names(pattern.child_by_field_name("left"))
    elif kind == "rest_pattern":
        for child in pattern.named_children:
            yield from bound_names(child)
    elif kind in ("required_parameter", "optional_parameter"):
        yield from bound_names(pattern.child_by_field_name("pattern"))


def _params(function: Node) -> tuple[str, ...]:
    single = function.child_by_field_name("parameter")
    if single is not None:  # ``x => ...``
        return (_text(single),)
    params = function.child_by_field_name("parameters")
    if params is None:
        return ()
    names: list[str] = []
    for param in params.named_children:
        if param.type != "comment":
            names.extend(bound_names(param))
    return tuple(dict.fromkeys(n for n in names if n and n != "this"))


def _is_trivial(value: Node) -> bool:
    kind = value.type
    if kind in _TRIVIAL:
        return True
    if kind == "string":
        return True
    if kind == "template_string":
        return not any(c.type == "template_substitution" for c in value.named_children)
    if kind == "unary_expression":
        operand = value.child_by_field_name("argument")
        return operand is not None and operand.type == "number"
    if kind in ("array", "object"):
        return value.named_child_count == 0
    return False


def _is_super_statement(node: Node) -> bool:
    if node.type != "expression_statement" or node.named_child_count != 1:
        return False
    call = node.named_children[0]
    if call.type != "call_expression":
        return False
    callee = call.child_by_field_name("function")
    return callee is not None and callee.type == "super"


def _is_directive(node: Node) -> bool:
    return (
        node.type == "expression_statement"
        and node.named_child_count == 1
        and node.named_children[0].type == "string"
    )


def _inner(block: Node) -> list[Node]:
    """The children of a statement block between its braces (comments included)."""
    children = block.children
    return [c for c in children[1:-1]] if len(children) >= 2 else []


def _code_end(node: Node) -> int:
    """Where ``node``'s code ends: a statement that a line break ends (no ``;``) counts
    a ``//`` comment before the break among its children, and a brace or a closing
    code put after that would be commented out."""
    while node.child_count:  # down to the last token, past trailing comments
        last = node.child(node.child_count - 1)
        assert last is not None
        while last.is_extra and last.prev_sibling is not None:
            last = last.prev_sibling
        node = last
    return node.end_byte


def _is_derived(klass: Node) -> bool:
    for child in klass.children:
        if child.type == "class_heritage":
            return any(c.type in ("extends", "extends_clause") for c in child.children)
    return False


# -- scopes --------------------------------------------------------------------------
@dataclass
class _Frame:
    kind: Literal["module", "function", "loop", "class", "static", "namespace", "skip"]
    node: Node
    end: int
    #: qualified name of the function or class (prefix for what is defined inside)
    name: str = ""
    #: instrumented site id (functions and loops), for the ancestors of nested sites
    site: str | None = None
    #: counter numbers handed out in this function scope
    counters: int = 0
    #: statements before a derived constructor's root-level ``super()`` (byte range)
    before_super: tuple[int, int] | None = None
    #: why nothing inside is instrumented (declarations, interfaces ...)
    skip: str | None = None


@dataclass
class _Collector:
    parsed: ParsedJS
    facts: JsFacts
    relpath: str
    plan: FilePlan = field(default_factory=FilePlan)
    ids: Counter[str] = field(default_factory=Counter)
    #: (function, line) of each loop site: a site key (``path:line:qualname``)
    loop_keys: set[tuple[str, int]] = field(default_factory=set)

    @property
    def lines(self) -> ByteLines:
        return self.parsed.lines

    def id(self, base: str) -> str:
        self.ids[base] += 1
        return f"{self.relpath}::{base}#{self.ids[base]}"

    def skip(self, node: Node, reason: str) -> None:
        self.plan.skipped.append((node.start_point.row + 1, reason))

    def row(self, offset: int) -> int:
        return self.lines.line_of(offset)

    def unit(self, outer: bytes, inner: bytes) -> bytes:
        if inner.startswith(outer) and len(inner) > len(outer):
            return inner[len(outer) :]
        return self.facts.indent

    def line_prefix(self, offset: int) -> bytes:
        """The indentation of the line holding ``offset``, whatever precedes it."""
        text = self.lines.text(self.row(offset))
        return text[: len(text) - len(text.lstrip(b" \t"))]

    def ends_line(self, offset: int) -> bool:
        """Is the rest of the line after ``offset`` blank or a ``//`` comment?"""
        end = self.lines.content_end(self.row(offset))
        rest = self.parsed.data[offset:end].strip(b" \t")
        return not rest or rest.startswith(b"//")

    # -- walking ---------------------------------------------------------------------
    def run(self, captures: dict[str, list[Node]] | None = None) -> FilePlan:
        if captures is None:
            captures = QueryCursor(_query(self.parsed.dialect)).captures(self.parsed.root)
        found = [(node, kind) for kind, nodes in captures.items() for node in nodes]
        found.sort(key=lambda item: (item[0].start_byte, -item[0].end_byte))
        root = self.parsed.root
        stack = [_Frame("module", root, root.end_byte, name="<module>")]
        for node, kind in found:
            start = node.start_byte
            while len(stack) > 1 and stack[-1].end <= start:
                stack.pop()
            frame = self.visit(node, kind, stack)
            if frame is not None:
                stack.append(frame)
        return self.plan

    def visit(self, node: Node, kind: str, stack: list[_Frame]) -> _Frame | None:
        top = stack[-1]
        if top.kind == "skip":
            return None
        if kind == "function":
            return self.function(node, stack)
        if kind == "loop":
            return self.loop(node, stack)
        if kind == "declaration":
            self.declaration(node, stack)
            return None
        if kind == "using":
            statement = _ts_using(node)
            if statement is not None:
                self.declaration(statement, stack)
            return None
        if kind == "class":
            name = _text(node.child_by_field_name("name")) or self.inferred_name(node)
            return _Frame("class", node, node.end_byte, name=self.qualify(stack, name))
        if kind == "static":
            return _Frame("static", node, node.end_byte, name=f"{top.name}.<static>")
        if kind == "namespace":
            name = _clean(_text(node.child_by_field_name("name")))
            return _Frame("namespace", node, node.end_byte, name=self.qualify(stack, name))
        reasons = {
            "ambient": "declare: an ambient declaration, nothing runs",
            "signature": "overload signature (no body)",
            "abstract": "abstract method (no body)",
            "interface": "interface: types only",
        }
        self.skip(node, reasons[kind])
        return _Frame("skip", node, node.end_byte)

    def qualify(self, stack: list[_Frame], name: str) -> str:
        """``name`` inside the innermost named scope (``A.m``, ``f.<locals>.g``)."""
        for frame in reversed(stack):
            if frame.kind in ("function", "static"):
                return f"{frame.name}.<locals>.{name}"
            if frame.kind in ("class", "namespace"):
                return f"{frame.name}.{name}"
        return name

    def inferred_name(self, node: Node) -> str:
        """The name an anonymous function or class gets from where it is defined."""
        parent = node.parent
        while parent is not None and parent.type == "parenthesized_expression":
            parent = parent.parent
        if parent is None:
            return "<anonymous>"
        kind = parent.type
        if kind == "variable_declarator":
            name = parent.child_by_field_name("name")
            if name is not None and name.type == "identifier":
                return _text(name)
        elif kind == "assignment_expression":
            left = parent.child_by_field_name("left")
            if left is not None and left.type in ("identifier", "member_expression"):
                return _clean(_text(left))
        elif kind == "pair":
            return _property_name(parent.child_by_field_name("key"))
        elif kind in ("field_definition", "public_field_definition"):
            name = parent.child_by_field_name("property") or parent.child_by_field_name("name")
            return _property_name(name)
        elif kind == "export_statement":
            return "default"
        return "<anonymous>"

    def enclosing_function(self, stack: list[_Frame]) -> tuple[_Frame, bool]:
        """The innermost function (or module/namespace) scope, and whether a loop or a
        class static block lies between it and the current node."""
        crossed = False
        for frame in reversed(stack):
            if frame.kind in ("function", "module", "namespace"):
                return frame, crossed
            if frame.kind in ("loop", "static", "class"):
                crossed = True
        return stack[0], crossed

    def ancestors(self, stack: list[_Frame]) -> tuple[str, ...]:
        return tuple(f.site for f in stack if f.site is not None)

    # -- functions -------------------------------------------------------------------
    def function(self, node: Node, stack: list[_Frame]) -> _Frame:
        kind = node.type
        name_node = node.child_by_field_name("name")
        if kind == "method_definition":
            name = _property_name(name_node)
        elif name_node is not None:
            name = _text(name_node)
        else:
            name = self.inferred_name(node)
        qualname = self.qualify(stack, name)
        frame = _Frame("function", node, node.end_byte, name=qualname)
        reason, site = self.function_site(node, qualname, stack, frame)
        if site is None:
            self.skip(node, reason or "body layout cannot be wrapped")
        else:
            self.plan.functions.append(site)
            frame.site = site.id
        return frame

    def flavor(self, node: Node) -> str:
        kind = node.type
        is_async = _has_token(node, "async")
        if kind == "arrow_function":
            return "async arrow function" if is_async else "arrow function"
        if kind == "method_definition":
            name = _text(node.child_by_field_name("name"))
            if _has_token(node, "get"):
                return "getter"
            if _has_token(node, "set"):
                return "setter"
            if name == "constructor" and not _has_token(node, "static"):
                return "constructor"
            generator = _has_token(node, "*")
            base = "generator method" if generator else "method"
            return f"async {base}" if is_async else base
        generator = kind in ("generator_function_declaration", "generator_function")
        base = "generator" if generator else "function"
        return f"async {base}" if is_async else base

    def function_site(
        self, node: Node, qualname: str, stack: list[_Frame], frame: _Frame
    ) -> tuple[str | None, FunctionSite | None]:
        body = node.child_by_field_name("body")
        if body is None:
            return "no body", None
        flavor = self.flavor(node)
        params = _params(node)
        common = {
            "qualname": qualname,
            "line": node.start_point.row + 1,
            "ancestors": self.ancestors(stack),
            "span": (node.start_byte, node.end_byte),
            "flavor": flavor,
            "params": params,
        }
        if body.type != "statement_block":
            return None, self.arrow_site(body, common)
        inner = _inner(body)
        opened = body.children[0]  # ``{``
        index = 0
        # The directive prologue ("use strict") stays first.
        while index < len(inner) and (
            inner[index].type == "comment" or _is_directive(inner[index])
        ):
            if inner[index].type != "comment":
                opened = inner[index]
            index += 1
        if flavor == "constructor" and self.derived_class(stack):
            supers = [i for i, c in enumerate(inner) if _is_super_statement(c)]
            if not supers:
                return "derived constructor without a root-level super() call", None
            opened = inner[supers[0]]
            index = supers[0] + 1
            frame.before_super = (body.start_byte, opened.end_byte)
        # A comment on the line of the prologue's end stays there.
        while (
            index < len(inner)
            and inner[index].type == "comment"
            and inner[index].start_point.row == opened.end_point.row
        ):
            index += 1
        rest = inner[index:]
        if not any(c.type != "comment" for c in rest):
            return ("nothing after super()" if frame.before_super else "empty body"), None
        conflict = self.hoisting_conflict(body, params)
        if conflict:
            return conflict, None
        closing = body.children[-1]
        first, last = rest[0], rest[-1]
        lines = self.lines
        prefix = lines.prefix(first.start_byte)
        close_prefix = lines.prefix(closing.start_byte)
        block = (
            prefix is not None
            and close_prefix is not None
            and first.start_point.row > opened.end_point.row
            and last.end_point.row < closing.start_point.row
        )
        if block:
            assert prefix is not None and close_prefix is not None
            first_row = first.start_point.row
            region = Region(first_row, closing.start_point.row - 1, prefix, b"")
            unit = self.unit(close_prefix, prefix)
            region = Region(region.first, region.last, prefix, unit)
            site = FunctionSite(
                id=self.id(f"{qualname}::function"),
                layout="block",
                region=region,
                open_at=lines.start(first_row),
                close_at=lines.start(closing.start_point.row),
                prefix=prefix,
                unit=unit,
                **common,  # type: ignore[arg-type]
            )
            return None, site
        if opened.type != "{" and not _text(opened).endswith(";"):
            return "a directive or super() without ';' shares its line with the body", None
        site = FunctionSite(
            id=self.id(f"{qualname}::function"),
            layout="inline",
            region=None,
            open_at=opened.end_byte,
            close_at=closing.start_byte,
            prefix=b"",
            unit=self.facts.indent,
            **common,  # type: ignore[arg-type]
        )
        return None, site

    def arrow_site(self, body: Node, common: dict[str, object]) -> FunctionSite:
        unit = self.facts.indent
        return FunctionSite(
            id=self.id(f"{common['qualname']}::function"),
            layout="arrow",
            region=None,
            open_at=body.start_byte,
            close_at=body.end_byte,
            prefix=self.line_prefix(body.start_byte),
            unit=unit,
            **common,  # type: ignore[arg-type]
        )

    def derived_class(self, stack: list[_Frame]) -> bool:
        top = stack[-1]
        return top.kind == "class" and _is_derived(top.node)

    def hoisting_conflict(self, body: Node, params: tuple[str, ...]) -> str | None:
        """Function declarations at the top of a body become block-scoped once the body
        sits in ``try {}``: a ``var`` or a second declaration of the same name there is
        a redeclaration (SyntaxError), and a parameter of that name no longer gets
        overwritten (``arguments`` would differ in sloppy mode)."""
        declared: list[str] = []
        for child in body.named_children:
            if child.type in ("function_declaration", "generator_function_declaration"):
                declared.append(_text(child.child_by_field_name("name")))
        if not declared:
            return None
        if self.parsed.dialect != "javascript":
            # tsc rejects a function declaration inside a block when it targets ES5
            # (TS1252), and which target a file is built for is the build's business.
            return (
                f"declares function {declared[0]}() in its body, which try {{}} would make "
                "block-scoped (TS1252 when compiling for ES5)"
            )
        duplicates = {n for n in declared if declared.count(n) > 1}
        clash = duplicates | (set(declared) & set(params)) | (set(declared) & _var_names(body))
        if clash:
            name = sorted(clash)[0]
            return (
                f"function {name}() is declared next to a var, parameter or declaration "
                "of the same name (a redeclaration once the body is wrapped)"
            )
        return None

    # -- loops -----------------------------------------------------------------------
    def loop(self, node: Node, stack: list[_Frame]) -> _Frame:
        owner, _ = self.enclosing_function(stack)
        frame = _Frame("loop", node, node.end_byte)
        reason = None
        if any(f.kind == "static" for f in stack):
            reason = "loop in a class static block"
        elif (
            owner.before_super and owner.before_super[0] <= node.start_byte < owner.before_super[1]
        ):
            reason = "loop before super() in a derived constructor"
        elif (owner.name, node.start_point.row) in self.loop_keys:
            # ``for (...) for (...)``, ``while (a) do ... while (b)`` on one line
            reason = "starts on the line of another loop of the function (one site key for both)"
        site = None
        if reason is None:
            reason, site = self.loop_site(node, owner, stack)
        if site is None:
            self.skip(node, reason or "loop layout cannot be wrapped")
        else:
            self.plan.loops.append(site)
            self.loop_keys.add((owner.name, node.start_point.row))
            frame.site = site.id
        return frame

    def loop_site(
        self, node: Node, owner: _Frame, stack: list[_Frame]
    ) -> tuple[str | None, LoopSite | None]:
        outer = node
        parent = node.parent
        while parent is not None and parent.type == "labeled_statement":
            outer, parent = parent, parent.parent
        if parent is None:
            return "loop is the brace-less body of another statement", None
        lines = self.lines
        prefix = lines.prefix(outer.start_byte)
        end = _code_end(outer)
        alone = prefix is not None and self.ends_line(end)
        enclosed: Literal["", "block", "inline"] = ""
        if parent.type not in _STATEMENT_LISTS:
            # The brace-less body of another statement: the counter and the try need a
            # statement position, so braces go around them. On lines of their own only
            # below an if/else/with: a loop's brace-less body gets the loop's tick
            # braces spliced in at its first byte, which must stay outside these.
            if parent.type not in _BODY_OWNERS:
                return "loop is the brace-less body of another statement", None
            enclosed = "block" if alone and parent.type not in _LOOPS else "inline"
        elif not alone:
            return "loop shares its line with other code", None
        body = node.child_by_field_name("body")
        if body is None:
            return "loop without a body", None
        first_row = outer.start_point.row
        last_row = self.row(outer.end_byte - 1) if outer.end_byte > 0 else 0
        unit = self.facts.indent
        tick: Literal["line", "inline", "braces"]
        tick_prefix = b""
        tick_end = 0
        if body.type == "statement_block":
            inner = _inner(body)
            first = inner[0] if inner else body.children[-1]
            first_prefix = lines.prefix(first.start_byte)
            if inner and first.start_point.row > body.start_point.row and first_prefix is not None:
                tick = "line"
                tick_at = lines.start(first.start_point.row)
                tick_prefix = first_prefix
                if prefix is not None:
                    unit = self.unit(prefix, first_prefix)
            else:
                tick = "inline"
                tick_at = body.children[0].end_byte
        else:
            tick = "braces"
            tick_at, tick_end = body.start_byte, _code_end(body)
        owner.counters += 1
        kind = node.type
        if kind == "for_in_statement":
            operator = _text(node.child_by_field_name("operator"))
            if operator == "of":
                flavor = "for await...of" if _has_token(node, "await") else "for...of"
            else:
                flavor = "for...in"
        else:
            flavor = {"for_statement": "for", "while_statement": "while"}.get(kind, "do...while")
        region: Region | None = None
        if enclosed == "inline":
            open_at, close_at = outer.start_byte, end
        else:
            assert prefix is not None
            # enclosed in braces on lines of their own: ``{``, then the counter and
            # ``try {`` one unit in, the loop two
            region = Region(first_row, last_row, prefix, unit * 2 if enclosed else unit)
            open_at, close_at = lines.start(first_row), lines.end(last_row)
        site = LoopSite(
            id=self.id(f"{owner.name}::loop"),
            qualname=owner.name,
            line=node.start_point.row + 1,
            ancestors=self.ancestors(stack),
            span=(outer.start_byte, outer.end_byte),
            flavor=flavor,
            counter=counter_name(owner.counters, enclosed=bool(enclosed)),
            region=region,
            open_at=open_at,
            close_at=close_at,
            prefix=prefix or b"",
            tick=tick,
            tick_at=tick_at,
            tick_end=tick_end,
            tick_prefix=tick_prefix,
            enclosed=enclosed,
        )
        return None, site

    # -- variables -------------------------------------------------------------------
    def declaration(self, node: Node, stack: list[_Frame]) -> None:
        owner, crossed = self.enclosing_function(stack)
        if owner.kind != "function" or crossed:
            return
        if owner.before_super and owner.before_super[0] <= node.start_byte < owner.before_super[1]:
            return
        parent = node.parent
        if parent is None or parent.type not in _STATEMENT_LISTS:
            return
        names: list[str] = []
        if node.type in ("lexical_declaration", "variable_declaration"):
            for declarator in node.named_children:
                if declarator.type != "variable_declarator":
                    continue
                value = declarator.child_by_field_name("value")
                if value is None or _is_trivial(value):
                    continue
                names.extend(bound_names(declarator.child_by_field_name("name")))
        else:
            for name, value in _using_bindings(node):
                if value is not None and not _is_trivial(value):
                    names.append(_text(name))
        public = tuple(n for n in dict.fromkeys(names) if n and not n.startswith("_"))
        if not public:
            return
        lines = self.lines
        prefix = lines.prefix(node.start_byte)
        if prefix is None or not self.ends_line(node.end_byte):
            return
        last_row = self.row(node.end_byte - 1)
        self.plan.variables.append(
            VariableSite(
                id=self.id(f"{owner.name}::var:{','.join(public)}"),
                qualname=owner.name,
                line=node.start_point.row + 1,
                ancestors=self.ancestors(stack),
                span=(node.start_byte, node.end_byte),
                names=public,
                end_at=lines.end(last_row),
                prefix=prefix,
            )
        )


def _ts_using(assignment: Node) -> Node | None:
    """The statement of a ``using``/``await using`` declaration as the TypeScript
    grammar reads it - ``using a = f()``, ``await using a = f()``, ``using a = f(), b =
    g()`` as an expression statement - or None for any other shape."""
    node = assignment
    parent = node.parent
    if parent is not None and parent.type == "await_expression":
        node, parent = parent, parent.parent
    if parent is not None and parent.type == "sequence_expression":
        if parent.named_children[0] != node:
            return None
        node, parent = parent, parent.parent
    if parent is None or parent.type != "expression_statement":
        return None
    return parent


def _using_bindings(node: Node) -> list[tuple[Node, Node | None]]:
    """``(name, initialiser)`` of each binding of a ``using`` declaration (a
    ``using_declaration`` or, from the TypeScript grammar, an expression statement).
    None of them when the tree only looks like one: ``using`` binds plain identifiers
    with no line break after the keyword (``using\nx = 1`` is two statements, ``using
    [a] = x`` an assignment to ``using[a]``), and the grammars read both as one."""
    if node.type == "using_declaration":
        keywords = [c for c in node.children if c.type in ("await", "using") and not c.is_named]
        bindings = [
            (d.child_by_field_name("name"), d.child_by_field_name("value"))
            for d in node.named_children
            if d.type == "variable_declarator"
        ]
    else:
        expression = node.named_children[0]
        parts = (
            expression.named_children if expression.type == "sequence_expression" else [expression]
        )
        keywords = []
        bindings = []
        for index, part in enumerate(parts):
            if index == 0 and part.type == "await_expression":
                keywords.append(part.children[0])
                part = part.named_children[0]
            if part.type != "assignment_expression":
                return []
            if index == 0:
                keywords.append(part.children[0])
            bindings.append((part.child_by_field_name("left"), part.child_by_field_name("right")))
    if not bindings or not keywords:
        return []
    if any(name is None or name.type != "identifier" for name, _ in bindings):
        return []
    first = bindings[0][0]
    assert first is not None
    row = first.start_point.row
    if any(keyword.start_point.row != row for keyword in keywords):
        return []
    return [(name, value) for name, value in bindings if name is not None]


def _var_names(body: Node) -> set[str]:
    """Names declared with ``var`` in a function body, not counting nested functions."""
    names: set[str] = set()
    stack = list(body.named_children)
    while stack:
        node = stack.pop()
        kind = node.type
        if kind in _FUNCTIONS or kind in ("class_declaration", "class", "class_body"):
            continue
        if kind == "variable_declaration":
            for declarator in node.named_children:
                names.update(bound_names(declarator.child_by_field_name("name")))
        elif kind == "for_in_statement":
            var = node.child_by_field_name("kind")
            if var is not None and _text(var) == "var":
                names.update(bound_names(node.child_by_field_name("left")))
        stack.extend(node.named_children)
    return names


def collect(parsed: ParsedJS, relpath: str, js_facts: JsFacts | None = None) -> FilePlan:
    """Every instrumentable site of ``parsed`` (an uninstrumented file)."""
    return _Collector(parsed, js_facts or facts(parsed), relpath).run()


def analyse(parsed: ParsedJS, relpath: str) -> tuple[JsFacts, FilePlan]:
    """``facts`` and ``collect`` with one query, so the tree is walked once, not twice
    (a walk costs about a fifth of the parse)."""
    strings = _multiline_strings(parsed)
    captures = QueryCursor(_query(parsed.dialect, strings=strings)).captures(parsed.root)
    js_facts = _facts(parsed, captures.pop("string", ()))
    return js_facts, _Collector(parsed, js_facts, relpath).run(captures)


#: comments that only work ahead of all code: tsc and JSX/Flow pragmas, triple slashes
_PRAGMA = re.compile(rb"///\s*<|/[/*]\**\s*@(?:ts-check|ts-nocheck|jsx\w*|flow)\b")
#: comments that belong to the statement below them: a JSDoc block (in checked
#: JavaScript it is the statement's type) and next-line directives of tools
_BINDING = re.compile(
    rb"/\*\*[^/]|.*(?:@ts-ignore|@ts-expect-error|eslint-disable-next-line|prettier-ignore"
    rb"|biome-ignore|deno-lint-ignore|(?:istanbul|c8|v8) ignore)",
    re.DOTALL,
)


def find_import_site(parsed: ParsedJS) -> ImportSite:
    """Before the first statement that is not the hashbang, a comment or a directive,
    but above a JSDoc block or a next-line directive right above that statement (the
    import between them would take it over). Pragmas always stay ahead of the import."""
    run: list[Node] = []  # comments on consecutive lines, each starting its line
    for child in parsed.root.children:
        if child.type in ("comment", "html_comment") and not _PRAGMA.match(child.text or b""):
            line_start = parsed.lines.start(child.start_point.row)
            if parsed.data[line_start : child.start_byte].strip():
                run = []  # a trailing comment of the line above
            elif run and child.start_point.row > run[-1].end_point.row + 1:
                run = [child]
            else:
                run.append(child)
            continue
        if child.type in ("hash_bang_line", "comment", "html_comment") or _is_directive(child):
            run = []
            continue
        if run and child.start_point.row <= run[-1].end_point.row + 1:
            for comment in run:
                if _BINDING.match(comment.text or b""):
                    return ImportSite(insert_at=comment.start_byte)
        return ImportSite(insert_at=child.start_byte)
    return ImportSite(insert_at=len(parsed.data))
