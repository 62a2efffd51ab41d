"""Property tests on generated JavaScript: instrumenting is idempotent, removal is its
exact inverse, and the result always parses."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from codemodkit.codemods.telemetry.js.codemod import instrument_text, strip_text
from codemodkit.parsers.javascript import parse_js

NAMES = st.sampled_from(["a", "b", "total", "item", "rows", "é", "値"])
EXPRESSIONS = st.sampled_from(
    [
        "a + 1",
        "f(a, b)",
        "`x${a}`",
        "`two\n  lines`",
        '"str"',
        "[1, 2].map((v) => v * 2)",
        "() => ({ a: 1 })",
        "async (x) => await x",
        "function (q) { return q; }",
        "a?.b ?? c",
        "{ k: (z) => z }",
        "0",
    ]
)


@st.composite
def statements(draw: st.DrawFn, depth: int, indent: str, unit: str) -> str:
    inner = indent + unit
    kinds = ["let", "expr", "comment", "blank"]
    if depth < 3:
        kinds += ["for", "forof", "while", "do", "braceless", "function", "arrow", "if", "label"]
        kinds += ["nested"]
    kind = draw(st.sampled_from(kinds))
    name = draw(NAMES)
    expr = draw(EXPRESSIONS)
    semi = draw(st.sampled_from([";", ""]))
    if kind == "let":
        keyword = draw(st.sampled_from(["let", "const", "var"]))
        return f"{indent}{keyword} {name} = {expr}{semi}\n"
    if kind == "expr":
        return f"{indent}g({expr}){semi}\n"
    if kind == "comment":
        return (
            f"{indent}// note\n"
            if draw(st.booleans())
            else f"{indent}/* block\n{indent}   comment */\n"
        )
    if kind == "blank":
        return "\n"
    if kind == "nested":
        return draw(nested_loops(depth, indent, unit))
    body = draw(blocks(depth + 1, inner, unit))
    if kind == "for":
        return f"{indent}for (let i = 0; i < 3; i++) {{\n{body}{indent}}}\n"
    if kind == "forof":
        return f"{indent}for (const {name} of xs) {{\n{body}{indent}}}\n"
    if kind == "while":
        return f"{indent}while (k-- > 0) {{\n{body}{indent}}}\n"
    if kind == "do":
        return f"{indent}do {{\n{body}{indent}}} while (k-- > 0){semi}\n"
    if kind == "braceless":
        trailing = " // note" if draw(st.booleans()) else ""
        return f"{indent}for (const {name} in obj) g({name}){semi}{trailing}\n"
    if kind == "label":
        return f"{indent}outer: for (;;) {{ break outer; }}\n"
    if kind == "if":
        return f"{indent}if ({name}) {{\n{body}{indent}}}\n"
    if kind == "arrow":
        return f"{indent}const {name}Fn = (p) => {expr}{semi}\n"
    one_line = draw(st.booleans())
    if one_line:
        return f"{indent}function {name}F(p) {{ return {expr}; }}\n"
    directive = f'{inner}"use strict";\n' if draw(st.booleans()) else ""
    return f"{indent}function {name}F(p, q) {{\n{directive}{body}{indent}}}\n"


@st.composite
def loop_bodies(draw: st.DrawFn, depth: int, indent: str, unit: str) -> str:
    """A loop that can be a brace-less body: one line, or (its last line at ``indent``)
    a block over several."""
    name = draw(NAMES)
    kind = draw(st.sampled_from(["forin", "while", "do", "label", "block"]))
    if kind == "forin":
        return f"for (const {name} in obj) g({name});"
    if kind == "while":
        return "while (k-- > 0) g(k);"
    if kind == "do":
        return "do g(k); while (k-- > 0);"
    if kind == "label":
        return "inner: for (;;) { if (k) continue inner; break inner; }"
    body = draw(blocks(depth + 1, indent + unit, unit))
    return f"for (const {name} of xs) {{\n{body}{indent}}}"


@st.composite
def nested_loops(draw: st.DrawFn, depth: int, indent: str, unit: str) -> str:
    """A loop as the brace-less body of an if/else/loop: on the owner's line or its own."""
    inner = indent + unit
    name = draw(NAMES)
    form = draw(
        st.sampled_from(
            ["if", "if-else", "else-if", "for", "while", "do", "own-line", "comment", "asi"]
        )
    )
    if form in ("own-line", "comment"):
        loop = draw(loop_bodies(depth, inner, unit))
        comment = " // why" if form == "comment" else ""
        tail = f"{indent}else\n{inner}g(0);\n" if draw(st.booleans()) else ""
        return f"{indent}if ({name}){comment}\n{inner}{loop}\n{tail}"
    if form == "asi":  # no semicolon: the loop ends where the line does
        return f"{indent}if ({name}) for (const q of xs) g(q)\n{indent}g(1)\n"
    loop = draw(loop_bodies(depth, indent, unit))
    if form == "if":
        return f"{indent}if ({name}) {loop}\n"
    if form == "if-else":
        return f"{indent}if ({name}) {loop} else g(0);\n"
    if form == "else-if":
        return f"{indent}if ({name}) g(0);\n{indent}else if (b) {loop}\n{indent}else g(1);\n"
    if form == "for":
        return f"{indent}for (const q of xs) {loop}\n"
    if form == "while":
        return f"{indent}while (k-- > 0) {loop}\n"
    return f"{indent}do {loop} while (k-- > 0);\n"


@st.composite
def blocks(draw: st.DrawFn, depth: int, indent: str, unit: str) -> str:
    parts = draw(st.lists(statements(depth, indent, unit), min_size=1, max_size=4))
    return "".join(parts)


@st.composite
def programs(draw: st.DrawFn) -> str:
    unit = draw(st.sampled_from(["  ", "    ", "\t"]))
    body = draw(blocks(0, "", unit))
    header = draw(st.sampled_from(["", "#!/usr/bin/env node\n", '"use strict";\n', "// license\n"]))
    text = header + body
    if draw(st.booleans()):
        text = text.rstrip("\n")
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    return text


@settings(max_examples=150, deadline=None)
@given(programs())
def test_strip_inverts_instrument_and_second_run_is_stable(source: str) -> None:
    parse_js(source, "javascript")
    produced = instrument_text(source, "p.js")
    parse_js(produced, "javascript")
    assert strip_text(produced) == source
    assert instrument_text(produced, "p.js") == produced
