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


def _apply(old: str, diff: str) -> str:
    """Apply a unified diff the way ``patch`` does (hunks in order, context checked)."""
    source = _lines(old)
    out: list[str] = []
    cursor = 0
    lines = _LINE.findall(diff)[2:]
    index = 0
    while index < len(lines):
        header = lines[index]
        assert header.startswith("@@ -"), header
        old_start = int(header[4:].split(" ")[0].split(",")[0])
        old_len_text = header[4:].split(" ")[0].split(",")
        old_len = int(old_len_text[1]) if len(old_len_text) > 1 else 1
        start = old_start - 1 if old_len else old_start
        out += source[cursor:start]
        cursor = start
        index += 1
        while index < len(lines) and not lines[index].startswith("@@ -"):
            line = lines[index]
            index += 1
            if line.startswith("\\"):
                out[-1] = out[-1].rstrip("\n")  # the line before had no final newline
                continue
            if line.startswith(("-", " ")):
                assert source[cursor].rstrip("\n") == line[1:].rstrip("\n"), (line, cursor)
                cursor += 1
            if line.startswith(("+", " ")):
                out.append(line[1:])
    out += source[cursor:]
    return "".join(out)


_LINES = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "}\n", "\n", "  x\n"]), max_size=30)


@given(
    _LINES,
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 40), st.sampled_from(["q\n", "a\n", "}\n"])),
        max_size=8,
    ),
)
def test_a_diff_applied_to_the_old_text_gives_the_new(
    old_lines: list[str], ops: list[tuple[bool, int, str]]
) -> None:
    new_lines = list(old_lines)
    for delete, where, line in ops:
        if delete and new_lines:
            del new_lines[where % len(new_lines)]
        else:
            new_lines.insert(where % (len(new_lines) + 1), line)
    old, new = "".join(old_lines), "".join(new_lines)
    diff = unified_diff(old, new, "f.txt").decode()
    assert (diff == "") == (old == new)
    if diff:
        assert diff.startswith("--- a/f.txt\n+++ b/f.txt\n@@ -")
        assert _apply(old, diff) == new


def test_hunks_keep_three_lines_of_context_and_merge_nearby_changes() -> None:
    old = "".join(f"{n}\n" for n in range(20))
    extra = {5: "X\n", 8: "Y\n", 18: "Z\n"}
    new = "".join(f"{n}\n{extra.get(n, '')}" for n in range(20))
    diff = unified_diff(old, new, "f.txt").decode()
    assert diff.count("@@ -") == 2  # 5 and 8 share a hunk, 18 has its own
    assert "@@ -4,9 +4,11 @@" in diff
    assert "@@ -17,4 +19,5 @@" in diff
