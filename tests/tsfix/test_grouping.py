"""Errors grouped into the statement or function a model rewrites."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from codemodkit.tsfix.grouping import SMALL_LINES, Group, group_diagnostics
from codemodkit.tsfix.types import Diagnostic

FILE = "/p/src/a.ts"

SOURCE = """\
import { a } from "./a";
export function small(x) {
  const y: number = "s";
  return x.foo;
}
class C {
  @dec() m() { return 1 + "😀"; }
  p: number = "x";
}
for (let i = 0; i < 3; i++) { go(i); }
const f = (q) => q;
interface I {
  a: Missing;
}
namespace N {
  export const z: string = 1;
}
"""


def at(token: str, code: int = 2322, text: str = SOURCE, file: str = FILE) -> Diagnostic:
    start = text.index(token)
    return Diagnostic(code, f"error at {token}", file=file, start=start, length=len(token))


def spans(groups: list[Group], text: str = SOURCE) -> list[tuple[str, str | None, str]]:
    return [(g.kind, g.name, text[g.start : g.end]) for g in groups]


def test_each_error_gets_its_smallest_statement_or_small_function() -> None:
    found = [at("./a"), at("y:"), at("x.foo", 2339), at("1 +"), at('"x"'), at("let i")]
    found += [at("(q)", 7006), at("Missing", 2304), at("z:")]
    groups = group_diagnostics(SOURCE, None, found)
    assert spans(groups) == [
        ("statement", None, 'import { a } from "./a";'),
        (
            "function",
            "small",
            'export function small(x) {\n  const y: number = "s";\n  return x.foo;\n}',
        ),
        ("method", "m", '@dec() m() { return 1 + "😀"; }'),
        ("class member", "p", 'p: number = "x"'),
        ("statement", None, "for (let i = 0; i < 3; i++) { go(i); }"),
        ("statement", "f", "const f = (q) => q;"),
        ("class member", "a", "a: Missing"),
        ("statement", "z", "export const z: string = 1;"),
    ]
    small = groups[1]
    assert [d.code for d in small.diagnostics] == [2322, 2339]
    assert (small.line, small.end_line, small.lines) == (2, 5, 4)
    assert all(g.file == FILE for g in groups)


def test_a_long_function_only_costs_the_statement() -> None:
    body = "".join(f"  const v{i} = {i};\n" for i in range(SMALL_LINES))
    text = f"function big(): void {{\n{body}  const bad: string = 1;\n}}\n"
    (group,) = group_diagnostics(text, "typescript", [at("bad", text=text)])
    assert (group.kind, group.name, text[group.start : group.end]) == (
        "statement",
        "bad",
        "const bad: string = 1;",
    )


def test_nested_and_overlapping_spans_merge_into_the_outer_one() -> None:
    text = "export function f(a) {\n  return g(a, () => h(a));\n}\n"
    whole = Diagnostic(
        7030, "Not all code paths return a value.", file=FILE, start=0, length=len(text) - 1
    )
    inner = at("h(a)", 2304, text=text)
    (group,) = group_diagnostics(text, "typescript", [inner, whole])
    assert (group.start, group.end, group.kind) == (0, len(text) - 1, "function")
    assert group.diagnostics == (whole, inner)


def test_offsets_are_characters_even_after_emoji() -> None:
    text = 'const e = "😀😀😀";\nconst n: number = "x";\n'
    (group,) = group_diagnostics(text, "typescript", [at("n:", text=text)])
    assert text[group.start : group.end] == 'const n: number = "x";'


def test_tsx_files_use_the_tsx_grammar_and_syntax_errors_fall_back_to_lines() -> None:
    tsx = "export const A = () => <div>{count}</div>;\n"
    (group,) = group_diagnostics(tsx, None, [at("count", 2304, text=tsx, file="/p/A.tsx")])
    assert group.kind == "statement" and tsx[group.start : group.end] == tsx.strip()
    broken = "const a = 1;\n)))) ;\n"
    (group,) = group_diagnostics(broken, "typescript", [at("))))", 1128, text=broken)])
    assert broken[group.start : group.end] == ")))) ;" and group.kind == "line"


def test_unlocated_and_other_files_diagnostics_are_left_out() -> None:
    other = Diagnostic(2322, "x", file="/p/src/b.ts", start=0, length=1)
    options = Diagnostic(5058, "The specified path does not exist")
    nowhere = Diagnostic(2322, "x", file=FILE)
    assert group_diagnostics(SOURCE, None, [other, options, nowhere], file=FILE) == []


# -- properties --------------------------------------------------------------------
TEXTS = [
    SOURCE,
    "export function big(a: number) {\n"
    + "".join(f"  if (a > {i}) {{ a += {i}; }}\n" for i in range(40))
    + "  return a;\n}\n",
    'const s = "ünïcödé 😀";\nlet t = `x${s}`;\n\n\n  // trailing comment\n',
    "class K {\n  constructor(private x: number) {}\n  get y() { return this.x; }\n}\n)(\n",
]


@given(st.sampled_from(TEXTS), st.data())
def test_groups_never_overlap_and_hold_each_diagnostic_once(text: str, data: st.DataObject) -> None:
    positions = st.integers(0, len(text))
    found = []
    for start in data.draw(st.lists(positions, max_size=12)):
        length = data.draw(st.integers(0, min(30, len(text) - start)))
        found.append(Diagnostic(2322, f"at {start}", file=FILE, start=start, length=length))
    groups = group_diagnostics(text, "typescript", found)
    for left, right in itertools.pairwise(groups):
        assert left.end <= right.start
        assert not (left.start == left.end == right.start == right.end)
    for diagnostic in found:
        holding = [g for g in groups if any(d is diagnostic for d in g.diagnostics)]
        assert len(holding) == 1
        assert holding[0].contains(diagnostic)
    assert sum(len(g.diagnostics) for g in groups) == len(found)
