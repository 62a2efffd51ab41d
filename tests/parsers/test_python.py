"""The libcst parse and the offsets recorded alongside it."""

from __future__ import annotations

import os
from pathlib import Path

import libcst as cst
import pytest
from hypothesis import given
from hypothesis import strategies as st
from libcst.metadata import MetadataWrapper, PositionProvider

from codemodkit.parsers.python import LineIndex, PythonParseError, parse_python

REPO = Path(__file__).resolve().parents[2]
SAMPLES = [
    *sorted((REPO / "fixtures" / "python" / "telemetry").glob("*.py")),
    Path(os.__file__),  # a large, varied real module
    Path(cst.__file__).parent / "_nodes" / "statement.py",
]


def _offsets(text: str) -> list[int]:
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            starts.append(index + 1)
    return starts


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_offsets_agree_with_libcst_position_provider(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    parsed = parse_python(text)
    wrapper = MetadataWrapper(parsed.module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    starts = _offsets(text)
    for node, (start, end) in parsed.spans.items():
        expected = positions[node]
        assert start == starts[expected.start.line - 1] + expected.start.column, node
        assert end == starts[expected.end.line - 1] + expected.end.column, node
    statements = [
        node
        for node in positions
        if isinstance(node, (cst.BaseStatement, cst.BaseSmallStatement, cst.Decorator))
    ]
    assert statements
    assert all(node in parsed.spans for node in statements)


def test_suite_starts_are_right_after_the_colon() -> None:
    text = "def f(x) :  return x\nclass C:\n    pass\n"
    parsed = parse_python(text)
    offsets = sorted(parsed.suite_starts.values())
    assert [text[o - 1] for o in offsets] == [":", ":"]


def test_protected_lines_are_inside_multiline_tokens() -> None:
    text = 'x = """a\nb\n"""\ny = (1 +\n     2)\nz = 1 + \\\n    2\nf"""{x}\n{y}"""\n'
    parsed = parse_python(text)
    # string interiors (lines 1, 2), the line after a backslash continuation (6), and
    # the f-string's second line (8); bracket continuations (4) need no protection
    assert parsed.protected_lines() == {1, 2, 6, 8}


def test_syntax_errors_are_one_line() -> None:
    with pytest.raises(PythonParseError) as error:
        parse_python("def f(:\n    pass\n")
    message = str(error.value)
    assert "\n" not in message and "line 1" in message


@given(st.lists(st.sampled_from(["a", "\n", "\r\n", "\r", "é", " "]), max_size=30))
def test_line_index_splits_on_python_newlines_only(parts: list[str]) -> None:
    text = "".join(parts) + "\x0c\u2028"  # form feed and LINE SEPARATOR are not newlines
    index = LineIndex(text)
    rebuilt = "".join(text[index.start(i) : index.end(i)] for i in range(len(index)))
    assert rebuilt == text
    for i in range(len(index)):
        line = index.line_text(i)
        assert "\n" not in line and "\r" not in line
        assert index.line_of(index.start(i)) == i
