"""Splicing edits in one pass."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codemodkit.edits import (
    Edit,
    Insertion,
    OverlapError,
    apply_edits,
    apply_insertions,
    utf8_offsets,
)


def test_edits_apply_in_position_order_whatever_the_input_order() -> None:
    text = "abcdef"
    edits = [Edit(4, 5, "E"), Edit(0, 0, "<"), Edit(6, 6, ">"), Edit(1, 3, "BC")]
    assert apply_edits(text, edits) == "<aBCdEf>"


def test_insertions_at_one_offset_keep_their_key_order() -> None:
    edits = [Edit(1, 1, "2", key=(1,)), Edit(1, 1, "1", key=(0,)), Edit(1, 1, "3", key=(2,))]
    assert apply_edits("ab", edits) == "a123b"


def test_overlapping_edits_are_refused() -> None:
    with pytest.raises(OverlapError):
        apply_edits("abcdef", [Edit(0, 3, "x"), Edit(2, 4, "y")])
    with pytest.raises(OverlapError):
        apply_edits("abc", [Edit(2, 9, "x")])


def test_bytes_work_too() -> None:
    assert apply_edits(b"hello", [Edit(5, 5, b"!")]) == b"hello!"


@st.composite
def text_and_edits(draw: st.DrawFn) -> tuple[str, list[Edit[str]]]:
    text = draw(st.text(max_size=40))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=8)))
    edits = []
    for index, (start, end) in enumerate(zip(cuts[::2], cuts[1::2], strict=False)):
        edits.append(Edit(start, end, draw(st.text(max_size=5)), key=(index,)))
    return text, edits


@given(text_and_edits())
def test_text_outside_edits_is_untouched(case: tuple[str, list[Edit[str]]]) -> None:
    text, edits = case
    result = apply_edits(text, list(reversed(edits)))
    expected, cursor = "", 0
    for edit in edits:
        expected += text[cursor : edit.start] + edit.text
        cursor = edit.end
    assert result == expected + text[cursor:]


@st.composite
def text_and_insertions(draw: st.DrawFn) -> tuple[str, list[Insertion[str]]]:
    text = draw(st.text(max_size=40))
    insertions: list[Insertion[str]] = []
    for seq in range(draw(st.integers(0, 10))):
        at = draw(st.integers(0, len(text)))
        phase = draw(st.integers(0, 2))
        rank = draw(st.sampled_from([0, -1, 0.5, 2]))
        insertions.append((at, phase, rank, seq, draw(st.text(max_size=5))))
    return text, insertions


@given(text_and_insertions())
def test_insertions_splice_like_the_equivalent_edits(
    case: tuple[str, list[Insertion[str]]],
) -> None:
    text, insertions = case
    edits = [Edit(at, at, new, key=(phase, rank, seq)) for at, phase, rank, seq, new in insertions]
    assert apply_insertions(text, insertions) == apply_edits(text, edits)
    if text.isascii():  # character offsets are byte offsets
        encoded = [(*i[:4], i[4].encode()) for i in insertions]
        assert apply_insertions(text.encode(), encoded) == apply_edits(text, edits).encode()


def test_insertions_past_the_end_are_refused() -> None:
    assert apply_insertions(b"ab", []) == b"ab"
    with pytest.raises(OverlapError):
        apply_insertions(b"ab", [(3, 0, 0, 0, b"x")])


@given(st.text(), st.data())
def test_utf8_offsets_match_encoding(text: str, data: st.DataObject) -> None:
    convert = utf8_offsets(text)
    offset = data.draw(st.integers(0, len(text)))
    assert convert(offset) == len(text[:offset].encode("utf-8", "surrogatepass"))


def test_utf8_offsets_across_chunks() -> None:
    text = ("é" * 5000) + "x" + ("😀" * 3000)
    convert = utf8_offsets(text)
    for offset in (0, 1, 4095, 4096, 4097, 5000, 5001, 8000, len(text)):
        assert convert(offset) == len(text[:offset].encode("utf-8"))
