"""The tree-sitter front end: grammars per extension, errors, byte offsets."""

from __future__ import annotations

import pytest

from codemodkit.parsers.javascript import ByteLines, JSParseError, dialect_for, parse_js


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
