"""LSP positions <-> ``str`` offsets, and tsc's line/column, for any text."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from codemodkit.tsfix.utf16 import LineIndex, utf16_length

# line breaks of both kinds, astral and BMP characters, and plain ones
texts = st.text(alphabet=st.sampled_from(["a", " ", "\r", "\n", "\u2028", "é", "😀", "\U0001d518"]))


def _inside_crlf(text: str, offset: int) -> bool:
    return 0 < offset < len(text) and text[offset - 1 : offset + 1] == "\r\n"


def _expected(text: str, offset: int, breaks: str) -> tuple[int, int]:
    """(line, UTF-16 column) by counting: the slow, obvious way."""
    before = text[:offset]
    found = list(re.finditer(breaks, before))
    line_start = found[-1].end() if found else 0
    return len(found), len(before[line_start:].encode("utf-16-le")) // 2


@given(texts, st.data())
def test_positions_round_trip_and_count_utf16_units(text: str, data: st.DataObject) -> None:
    index = LineIndex(text)
    offset = data.draw(st.integers(0, len(text)))
    if _inside_crlf(text, offset):
        offset -= 1

    line, character = index.position(offset)

    assert (line, character) == _expected(text, offset, "\r\n|\n|\r")
    assert index.offset(line, character) == offset
    line, column = index.tsc_line_column(offset)
    assert (line - 1, column - 1) == _expected(text, offset, "\r\n|[\n\r\u2028\u2029]")


@given(texts, st.integers(-3, 50), st.integers(-3, 50))
def test_any_lsp_position_lands_inside_the_text(text: str, line: int, character: int) -> None:
    offset = LineIndex(text).offset(line, character)

    assert 0 <= offset <= len(text)
    assert not _inside_crlf(text, offset)


def test_an_astral_character_is_two_units() -> None:
    assert utf16_length("a😀b") == 4
    index = LineIndex("x😀y\nz")
    assert index.position(2) == (0, 3)  # after the emoji
    assert index.offset(0, 3) == 2
    assert index.offset(1, 0) == 4
