"""The tree-sitter front end: grammars per extension, errors, byte offsets."""

from __future__ import annotations

import pytest
import tree_sitter
from hypothesis import given, settings
from hypothesis import strategies as st

from codemodkit.parsers.javascript import (
    ByteLines,
    JSParseError,
    ParsedJS,
    check_parses,
    dialect_for,
    language,
    parse_js,
)


@pytest.mark.parametrize(
    ("suffix", "dialect"),
    [
        (".js", "javascript"),
        (".mjs", "javascript"),
        (".cjs", "javascript"),
        (".jsx", "javascript"),
        (".ts", "typescript"),
        (".mts", "typescript"),
        (".cts", "typescript"),
        (".tsx", "tsx"),
    ],
)
def test_dialect_per_extension(suffix: str, dialect: str) -> None:
    assert dialect_for(suffix) == dialect


def test_modern_syntax_parses() -> None:
    parse_js("const v = a?.b ?? c; class A { #p = 1; static { } }\n", "javascript")
    parse_js("const e = <div>{x?.y}</div>;\n", "javascript")
    parse_js("function f<T>(this: A, x?: T): asserts x {}\n", "typescript")
    parse_js("const g = <T,>(x: T) => <b>{x}</b>;\n", "tsx")


def test_typescript_syntax_is_an_error_in_javascript() -> None:
    with pytest.raises(JSParseError, match=r"line 1, column"):
        parse_js("function f(x: number) {}\n", "javascript")


def test_error_names_the_line_and_column_in_characters() -> None:
    with pytest.raises(JSParseError) as caught:
        parse_js('const s = "é";\nconst t = "ü"; let = ;\n', "javascript")
    message = str(caught.value)
    assert message.startswith("syntax error at line 2, column ")
    assert "\n" not in message


def test_missing_token_is_reported() -> None:
    with pytest.raises(JSParseError, match="line 1"):
        parse_js("if (x { y(); }\n", "javascript")


def test_offsets_are_utf8_bytes() -> None:
    parsed = parse_js('const é = "日本";\nfunction f() {}\n', "javascript")
    function = parsed.root.children[1]
    assert parsed.data[function.start_byte : function.end_byte] == b"function f() {}"
    assert parsed.position(function.start_byte) == (2, 1)
    assert parsed.position(parsed.data.index(b'"')) == (1, 11)


def test_byte_lines() -> None:
    lines = ByteLines(b"a\r\n  b\nc")
    assert len(lines) == 3
    assert lines.text(0) == b"a"
    assert lines.content_end(0) == 1
    assert lines.line_of(4) == 1
    assert lines.prefix(5) == b"  "
    assert lines.prefix(6) is None
    assert lines.end(2) == 8


def test_newline_and_indent_detection() -> None:
    assert parse_js("a;\r\nb;\r\n", "javascript").newline == b"\r\n"
    assert parse_js("if (a) {\n    b;\n}\n", "javascript").indent == b"    "
    assert parse_js("if (a) {\n\tb;\n}\n", "javascript").indent == b"\t"


def test_check_parses_raises_what_parse_js_raises() -> None:
    source = 'const s = "é";\nconst t = "ü"; let = ;\n'
    check_parses(b"const a = 1;\n", "javascript")
    with pytest.raises(JSParseError) as parsed:
        parse_js(source, "javascript")
    with pytest.raises(JSParseError) as checked:
        check_parses(source.encode(), "javascript")
    assert str(checked.value) == str(parsed.value)


# -- the fast line table and indentation step, against line-by-line definitions ---------
_PIECES = st.sampled_from(
    [b" ", b"  ", b"    ", b"\t", b"\n", b"\r", b"\r\n", b"\n\n", b"x;", b"a", b"*", b"/", b"//"]
)


def _reference_starts(data: bytes) -> list[int]:
    starts = [0] + [i + 1 for i, byte in enumerate(data) if byte == 0x0A]
    return starts[:-1] if len(starts) > 1 and starts[-1] == len(data) else starts


def _reference_indent(data: bytes) -> bytes:
    """The indentation step as documented, line by line (``ByteLines.text``)."""
    lines = ByteLines(data)
    steps: dict[bytes, int] = {}
    previous = tabs = 0
    for line in range(min(len(lines), 2000)):
        text = lines.text(line)
        stripped = text.lstrip(b" \t")
        if not stripped or stripped.startswith((b"*", b"//")):
            continue
        if text.startswith(b"\t"):
            tabs += 1
            continue
        width = len(text) - len(stripped)
        if width > previous:
            step = b" " * (width - previous)
            steps[step] = steps.get(step, 0) + 1
        previous = width
    best = max(steps.items(), key=lambda item: item[1])[0] if steps else b"  "
    if tabs > sum(steps.values()):
        return b"\t"
    return best if len(best) in (2, 4, 8) else b"  "


def _indent_of(data: bytes) -> bytes:
    tree = tree_sitter.Parser(language("javascript")).parse(b"")
    return ParsedJS(data.decode(), data, tree, "javascript").indent


@settings(max_examples=400)
@given(st.lists(_PIECES, max_size=80))
def test_line_starts_and_indent_step_match_their_definitions(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    assert ByteLines(data).starts == _reference_starts(data)
    assert _indent_of(data) == _reference_indent(data)


def test_indent_step_reads_only_the_first_2000_lines() -> None:
    first = b"if (a) {\n    b;\n}\n" + b"a;\n" * 1997  # 2000 lines: one step of four
    assert _indent_of(first + b"\tb;\n" * 10) == _reference_indent(first) == b"    "
    assert _indent_of(b"\tb;\n" * 10 + first) == b"\t"
