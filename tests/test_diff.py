"""Dry-run diffs: the fast paths give the bytes of the general ones."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from codemodkit.output.diff import _LINE, _lines, unified_diff

_TEXT = st.text(alphabet=st.sampled_from(list("ab \t\r\n\v\f\x1c\x85\u2028é")), max_size=40)


@given(_TEXT)
def test_lines_split_only_at_cr_lf_and_crlf(text: str) -> None:
    assert _lines(text) == _LINE.findall(text)


@given(st.one_of(st.none(), _TEXT), st.one_of(st.none(), _TEXT))
def test_utf8_content_encoded_in_one_go_is_the_same_diff(old: str | None, new: str | None) -> None:
    # "utf8" names the same codec but takes the line-by-line path.
    assert unified_diff(old, new, "f.txt", "utf-8") == unified_diff(old, new, "f.txt", "utf8")


def test_missing_final_newline_is_marked() -> None:
    diff = unified_diff("a\nb\n", "a\nc", "f.txt").decode()
    assert diff.endswith("+c\n\\ No newline at end of file\n")
