"""Derive the JS runtime helper's variants from its one TypeScript source.

``runtime/_telemetry_utils.ts`` is the only copy written by hand. From it:

* ``strip_types`` - the ES module: annotations, casts and type-only statements removed,
  everything else byte for byte (comments and layout included);
* ``to_commonjs`` - the CommonJS module: the ES module with ``export`` dropped from its
  declarations and an ``exports.name = name;`` block appended (a form Node's
  CommonJS export detection reads, so ``import`` of it gets named exports);
* ``declarations`` - the ``.d.ts`` for either JavaScript variant: exported signatures
  and the types they use, as ``tsc --declaration`` writes them;
* ``to_export_assignment`` - TypeScript for CommonJS projects under
  ``verbatimModuleSyntax``, which reject ``export`` in a CommonJS file: the same source
  with ``export =`` of one object (imported with ``import x = require(...)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .tslex import Lexed, TypeSyntaxError, lex

__all__ = [
    "after_line_comments",
    "declarations",
    "strip_types",
    "to_commonjs",
    "to_export_assignment",
]

_DECLARATION_KEYWORDS = ("const", "let", "var")


class _Editor:
    """Token-level deletions on a lexed source, rendered back to text."""

    def __init__(self, lexed: Lexed) -> None:
        self.lexed = lexed
        self.replaced: dict[int, str] = {}

    def drop(self, first: int, end: int, space_before: bool = False) -> None:
        """Delete significant tokens ``first`` to ``end`` (exclusive) and all between."""
        sig = self.lexed.sig
        start = sig[first] - 1 if space_before and self._is_space(sig[first] - 1) else sig[first]
        for index in range(start, sig[end - 1] + 1):
            self.replaced[index] = ""

    def drop_statement(self, first: int, end: int) -> None:
        """Delete a whole statement with its attached comments and its line break."""
        self.drop(first, end)
        tokens, sig = self.lexed.tokens, self.lexed.sig
        index = sig[first] - 1  # attached comments: no blank line between them
        while index > 1 and self._is_space(index, 1) and tokens[index - 1].kind == "comment":
            self.replaced[index] = self.replaced[index - 1] = ""
            index -= 2
        after = sig[end - 1] + 1
        if after < len(tokens) and tokens[after].kind == "ws":
            text = tokens[after].text
            self.replaced[after] = text[text.index("\n") + 1 :] if "\n" in text else ""

    def _is_space(self, index: int, max_newlines: int | None = None) -> bool:
        if index < 0 or self.lexed.tokens[index].kind != "ws":
            return False
        return max_newlines is None or self.lexed.tokens[index].text.count("\n") <= max_newlines

    def text(self) -> str:
        out = "".join(self.replaced.get(i, t.text) for i, t in enumerate(self.lexed.tokens))
        return re.sub(r"\n{3,}", "\n\n", out)


def _type_statement_end(lexed: Lexed, p: int) -> int:
    """If a type-only statement (``interface``, ``type X =``, ``declare``) starts at
    ``p`` (after any ``export``), the position past its end, else -1."""
    text = lexed.text(p)
    if text == "interface" and lexed.kind(p + 1) == "ident":
        while lexed.text(p) != "{":
            p += 1
        return lexed.skip_balanced(p)
    if text == "type" and lexed.kind(p + 1) == "ident" and lexed.text(p + 2) in ("=", "<"):
        return lexed.skip_until(p, (";",)) + 1
    if text == "declare":
        return lexed.skip_until(p, (";",)) + 1
    return -1


def _signature_end(lexed: Lexed, p: int, editor: _Editor | None) -> int:
    """From ``function`` past its parameter list and return type (deleted if an
    editor is given); returns the position of the body's ``{``."""
    p += 1
    if lexed.kind(p) == "ident":
        p += 1
    p = lexed.expect(p, "(")
    while lexed.text(p) != ")":
        if lexed.text(p) == "...":
            p += 1
        p = lexed.skip_balanced(p) if lexed.text(p) in ("{", "[") else p + 1
        if lexed.text(p) == "?" and lexed.text(p + 1) == ":":
            if editor is not None:
                editor.drop(p, p + 1)
            p += 1
        if lexed.text(p) == ":":
            end = lexed.skip_type(p + 1)
            if editor is not None:
                editor.drop(p, end)
            p = end
        if lexed.text(p) == "=":
            p = lexed.skip_until(p, (",", ")"))
        if lexed.text(p) == ",":
            p += 1
        elif lexed.text(p) != ")":
            raise TypeSyntaxError(f"unsupported parameter syntax at {lexed.where(p)}")
    p += 1
    if lexed.text(p) == ":":
        end = lexed.skip_type(p + 1)
        if editor is not None:
            editor.drop(p, end)
        p = end
    return p


def _grouping_one_name(lexed: Lexed, cast: int, end: int) -> bool:
    """Is the cast at ``cast`` the whole of ``( name as T )``, with parentheses that
    group rather than call (so that dropping them changes nothing)?"""
    before = lexed.text(cast - 3)
    return (
        lexed.text(cast - 2) == "("
        and lexed.kind(cast - 1) == "ident"
        and lexed.text(end) == ")"
        and lexed.kind(cast - 3) == "punct"
        and before not in (")", "]")
    )


def strip_types(source: str) -> str:
    """The JavaScript of a TypeScript source in the supported subset."""
    lexed = lex(source)
    editor = _Editor(lexed)
    p, count = 0, len(lexed.sig)
    while p < count:
        text = lexed.text(p)
        if p == 0 or lexed.text(p - 1) in (";", "{", "}"):  # a statement starts here
            first = p + 1 if text == "export" else p
            end = _type_statement_end(lexed, first)
            if end >= 0:
                editor.drop_statement(p, end)
                p = end
                continue
        if text == "function":
            p = _signature_end(lexed, p, editor)
        elif (
            text in _DECLARATION_KEYWORDS
            and lexed.kind(p + 1) == "ident"
            and lexed.text(p + 2) == ":"
        ):
            end = lexed.skip_type(p + 3)
            editor.drop(p + 2, end)
            p = end
        elif text == "as" and lexed.kind(p) == "ident":
            end = lexed.skip_type(p + 1)
            editor.drop(p, end, space_before=True)
            if _grouping_one_name(lexed, p, end):  # (x as T).y -> x.y, not (x).y
                editor.drop(p - 2, p - 1)
                editor.drop(end, end + 1)
            p = end
        else:
            p += 1
    return editor.text()


def _exported_names(lexed: Lexed, editor: _Editor) -> list[str]:
    """Drop ``export`` from every top-level declaration; return the value names."""
    names: list[str] = []
    depth = 0
    for p in range(len(lexed.sig)):
        text = lexed.text(p)
        if text in ("(", "[", "{"):
            depth += 1
        elif text in (")", "]", "}"):
            depth -= 1
        elif text == "export" and depth == 0:
            keyword = lexed.text(p + 1)
            if keyword in ("function", *_DECLARATION_KEYWORDS):
                names.append(lexed.text(p + 2))
            elif keyword not in ("type", "interface"):
                raise TypeSyntaxError(f"unsupported export at {lexed.where(p)}")
            editor.drop(p, p + 1)
            editor.replaced[lexed.sig[p] + 1] = ""  # the space after it
    return names


def after_line_comments(text: str, insert: str) -> str:
    """Insert after the file's leading ``//`` lines (the marker line stays first, and
    pragmas such as ``// @ts-nocheck`` stay before any statement)."""
    lines = text.splitlines(keepends=True)
    count = 0
    while count < len(lines) and lines[count].startswith("//"):
        count += 1
    return "".join(lines[:count]) + insert + "".join(lines[count:])


def to_commonjs(esm: str) -> str:
    """The CommonJS module of the ES module variant."""
    lexed = lex(esm)
    editor = _Editor(lexed)
    names = _exported_names(lexed, editor)
    exports = "".join(f"exports.{name} = {name};\n" for name in names)
    body = editor.text().rstrip("\n")
    return after_line_comments(body, '"use strict";\n') + "\n\n" + exports


def to_export_assignment(source: str) -> str:
    """TypeScript with ``export =`` instead of ``export`` declarations."""
    lexed = lex(source)
    editor = _Editor(lexed)
    names = _exported_names(lexed, editor)
    typed = "".join(f"  readonly {name}: typeof {name};\n" for name in names)
    values = "".join(f"  {name}: {name},\n" for name in names)
    tail = (
        "\n\n// CommonJS under verbatimModuleSyntax:"
        ' import _codemod_tel = require("./_telemetry_utils.js");\n'
        f"const codemodTelemetry: {{\n{typed}}} = {{\n{values}}};\n"
        "export = codemodTelemetry;\n"
    )
    return editor.text().rstrip("\n") + tail


@dataclass
class _Declaration:
    name: str
    text: str  # what the .d.ts says
    exported: bool
    is_type: bool
    comments: str


def _leading_comments(lexed: Lexed, p: int) -> str:
    """The comments right above significant token ``p`` (no blank line between)."""
    tokens = lexed.tokens
    index = lexed.sig[p] - 1
    found: list[str] = []
    while index >= 1 and tokens[index].kind == "ws" and tokens[index].text.count("\n") <= 1:
        if tokens[index - 1].kind != "comment" or index - 1 == 0:  # not the marker line
            break
        found.insert(0, tokens[index - 1].text + "\n")
        index -= 2
    return "".join(found)


def _slice(lexed: Lexed, first: int, end: int) -> str:
    start_token = lexed.tokens[lexed.sig[first]]
    last = lexed.tokens[lexed.sig[end - 1]]
    return lexed.source[start_token.start : last.start + len(last.text)]


def _top_level(lexed: Lexed) -> list[_Declaration]:
    found: list[_Declaration] = []
    p, count = 0, len(lexed.sig)
    while p < count:
        first = p
        exported = lexed.text(p) == "export"
        if exported:
            p += 1
        keyword, name = lexed.text(p), lexed.text(p + 1)
        end = _type_statement_end(lexed, p)
        if end >= 0:
            is_type = keyword != "declare"
            text = _slice(lexed, first, end)
        elif keyword == "function":
            body = _signature_end(lexed, p, None)
            text = "export declare " + _slice(lexed, p, body) + ";"
            end = lexed.skip_balanced(body)
            is_type = False
        elif exported and keyword in _DECLARATION_KEYWORDS:
            if lexed.text(p + 2) != ":":
                raise TypeSyntaxError(f"exported {name} needs a type at {lexed.where(p)}")
            annotation = _slice(lexed, p + 2, lexed.skip_type(p + 3))
            text = f"export declare {keyword} {name}{annotation};"
            end = lexed.skip_until(p, (";",)) + 1
            is_type = False
        elif exported:
            raise TypeSyntaxError(f"unsupported export at {lexed.where(p)}")
        else:  # a statement of the implementation
            end = lexed.skip_until(p, (";",)) + 1
            is_type, text = False, ""
        found.append(_Declaration(name, text, exported, is_type, _leading_comments(lexed, first)))
        p = end
    return found


def declarations(source: str) -> str:
    """The ``.d.ts`` of the JavaScript variants: exported declarations and the local
    types they need (``tsc`` keeps the same ones)."""
    lexed = lex(source)
    found = _top_level(lexed)
    local_types = {d.name: d for d in found if d.is_type and not d.exported}
    kept = [d for d in found if d.exported]
    pending = [d.text for d in kept]
    needed: set[str] = set()
    while pending:
        for word in re.findall(r"[A-Za-z_$][\w$]*", pending.pop()):
            if word in local_types and word not in needed:
                needed.add(word)
                pending.append(local_types[word].text)
    marker = source.partition("\n")[0]
    parts = [marker, "// Types of the JavaScript helper beside this file (codemod telemetry)."]
    for declaration in found:
        if declaration.exported or declaration.name in needed:
            parts.append(declaration.comments + declaration.text)
    if needed:
        parts.append("export {};")
    return "\n".join(parts) + "\n"
