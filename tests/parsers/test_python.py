"""The libcst parse and the offsets recorded alongside it."""

from __future__ import annotations

import os
import sys
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


STDLIB = Path(os.__file__).parent
# A spread of real modules: big, async, decorators, match, f-strings, odd layouts.
STDLIB_MODULES = [
    "argparse.py",
    "asyncio/tasks.py",
    "dataclasses.py",
    "typing.py",
    "inspect.py",
    "ast.py",
    "functools.py",
    "enum.py",
    "pathlib.py",
    "tomllib/_parser.py",
    "re/_parser.py",
    "json/encoder.py",
    "difflib.py",
    "email/_header_value_parser.py",
    "collections/__init__.py",
    "unittest/mock.py",
    "_pydecimal.py",
    "pydoc.py",
]
STDLIB_SAMPLE = [STDLIB / name for name in STDLIB_MODULES if (STDLIB / name).is_file()]

EDGE_CASES = {
    "decorators": (
        "@ (lambda f: f)\n@deco(\n    1)\nclass C:\n    @property\n    def x(self): return 1\n"
    ),
    "finally-comment": (
        "try:\n    a = 1\n    # finally: not the keyword\nexcept E:  # finally\n    pass\n"
        "# comment\nfinally:\n    b = 2\n"
    ),
    "try-star": "try:\n    pass\nexcept* ValueError:\n    pass\nelse:\n    x = 1\nfinally: y = 2\n",
    "match": (
        'match p:\n    # case in a comment\n    case {"a": [1, *rest]} if rest:\n        pass\n'
        '    case _: q = """\n"""\n'
    ),
    "suites": "if a: b = 1; c = 2\nelif d: pass\nelse: e()\nwhile x: \\\n  y()\n",
    "async": "async def f():\n    async with a as b, c:\n        async for i in b: await i\n",
    "strings": (
        'def f(a="""x\ny""", *, b=(\n  "p"\n  "q")):\n    return f"""{a}\n{b!r:>{10}}"""\n'
    ),
    "unicode": 'def f():\n    é = "ünï"; ç = """x\n ÿ"""\n    return é + ç\n',
    "crlf": "def f():\r\n    x = '''a\r\nb'''\r\n    return x\r\n",
}


def _same_positions(text: str) -> None:
    """Both ways of finding spans give the same answers (the trees differ, so compare
    the sets of spans; every statement-level node has one)."""
    by_ast = parse_python(text, positions="ast")
    by_codegen = parse_python(text, positions="codegen")
    assert by_ast.spans
    assert sorted(by_ast.spans.values()) == sorted(by_codegen.spans.values())
    assert sorted(by_ast.suite_starts.values()) == sorted(by_codegen.suite_starts.values())
    assert by_ast.protected_lines() == by_codegen.protected_lines()


@pytest.mark.parametrize("path", [*SAMPLES, *STDLIB_SAMPLE], ids=lambda p: p.name)
def test_ast_and_codegen_positions_agree(path: Path) -> None:
    _same_positions(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_ast_and_codegen_positions_agree_on_edge_cases(name: str) -> None:
    text = EDGE_CASES[name]
    assert parse_python(text).positions == "ast"
    _same_positions(text)


def test_syntax_newer_than_the_interpreter_falls_back_to_codegen() -> None:
    # PEP 695 (Python 3.12) parses with libcst whatever interpreter runs it.
    text = (
        "type Point = tuple[float, float]\n"
        "def first[T](items: list[T]) -> T:\n    return items[0]\n"
    )
    parsed = parse_python(text)
    assert parsed.positions == ("ast" if sys.version_info >= (3, 12) else "codegen")
    function = parsed.module.body[1]
    assert text[slice(*parsed.spans[function])].startswith("def first[T]")


@pytest.mark.parametrize("positions", ["ast", "codegen"])
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_offsets_agree_with_libcst_position_provider(path: Path, positions: str) -> None:
    text = path.read_text(encoding="utf-8")
    parsed = parse_python(text, positions=positions)  # type: ignore[arg-type]
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


@pytest.mark.parametrize("positions", ["ast", "codegen"])
def test_one_line_suites_start_right_after_the_colon(positions: str) -> None:
    text = "def f(x) :  return x\nclass C:\n    pass\nif x: y = 1; z = 2\n"
    parsed = parse_python(text, positions=positions)  # type: ignore[arg-type]
    offsets = sorted(parsed.suite_starts.values())
    assert [text[o - 1 : o + 2] for o in offsets] == [":  ", ": y"]


@pytest.mark.parametrize("positions", ["ast", "codegen"])
def test_protected_lines_start_inside_string_literals(positions: str) -> None:
    text = (
        'x = """a\nb\n"""\n'  # lines 0-2: a triple-quoted string
        "y = (1 +\n     2)\n"  # 3-4: a bracket continuation needs no protection
        "z = 1 + \\\n    2\n"  # 5-6: nor does a backslash continuation
        'f"""{x}\n{y}"""\n'  # 7-8: an f-string whose literal part is just a newline
        'w = ("a"\n     "b")\n'  # 9-10: implicit concatenation counts as one literal
    )
    parsed = parse_python(text, positions=positions)  # type: ignore[arg-type]
    assert parsed.positions == positions
    assert parsed.protected_lines() == {1, 2, 8, 10}


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
