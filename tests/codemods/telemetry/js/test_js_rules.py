"""JS/TS discovery rules, content skips, and the model-answer judge."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from codemodkit.codemods.base import EditRequest, FileContext, Prepared
from codemodkit.codemods.telemetry.js.answers import judge_answer
from codemodkit.codemods.telemetry.js.codemod import (
    JsTelemetry,
    instrument_text,
    skip_reason,
    skipped_notes,
    strip_text,
)
from codemodkit.codemods.telemetry.js.sites import Site
from codemodkit.codemods.telemetry.js.snippets import JsSnippet
from codemodkit.discovery import DiscoveryOptions, discover
from codemodkit.parsers.javascript import parse_js
from codemodkit.sourcefile import decode_source


def _make(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("export const x = 1;\n", encoding="utf-8")


def _found(root: Path, **options: object) -> tuple[list[str], dict[str, int]]:
    result = discover([root], DiscoveryOptions(**options))  # type: ignore[arg-type]
    return sorted(c.path.relative_to(root).as_posix() for c in result.candidates), result.skipped


def test_discovery_skips(tmp_path: Path) -> None:
    _make(
        tmp_path,
        "src/a.js",
        "src/b.ts",
        "src/b.js",  # compiled from b.ts
        "src/c.tsx",
        "src/d.mts",
        "src/types.d.ts",
        "src/types.d.mts",
        "src/vendor.min.js",
        "src/app.bundle.js",
        "src/a.test.ts",
        "src/a.spec.jsx",
        "src/__tests__/x.js",
        "test/y.js",
        "coverage/lcov-report/prettify.js",
        ".next/server/page.js",
        "node_modules/dep/index.js",
        "dist/index.js",
        "src/_telemetry_utils.ts",
    )
    files, skipped = _found(tmp_path)
    assert files == ["src/a.js", "src/b.ts", "src/c.tsx", "src/d.mts"]
    assert skipped["declaration file"] == 2
    assert skipped["minified or bundled"] == 2
    assert skipped["compiled from TypeScript"] == 1
    assert skipped["test file"] == 4
    files, _ = _found(tmp_path, include_tests=True)
    assert "src/a.test.ts" in files and "test/y.js" in files


def test_content_skips() -> None:
    assert skip_reason("var a=1;\n" + "x" * 1200 + "\n") is not None
    assert "sourceMappingURL" in (skip_reason("a();\n//# sourceMappingURL=a.js.map\n") or "")
    assert skip_reason("function f() {\n  return 1;\n}\n") is None


def test_generated_and_minified_files_are_skipped(tmp_path: Path) -> None:
    codemod = JsTelemetry()
    for text, reason in (
        ("// @" + "generated\nfunction f() {\n  return 1;\n}\n", "generated file"),
        ("function f(){return 1}" + ";" * 1100 + "\n", "minified"),
    ):
        path = tmp_path / "a.js"
        context = FileContext(path, "a.js", "javascript", tmp_path)
        outcome = codemod.prepare(context, decode_source(text.encode(), "javascript"))
        assert not isinstance(outcome, Prepared)
        assert outcome.status == "skipped" and reason in outcome.reason


def _request(kind: str, **context: tuple[str, ...]) -> EditRequest:
    return EditRequest("id", "a.js", "javascript", kind, (0, 1), 1, "", context, "{}")


@pytest.mark.parametrize(
    ("kind", "answer", "ok"),
    [
        ("function", {"event": "orders.load", "record": ["order", "order.id"]}, True),
        ("function", {"record": ["order.items.length"]}, True),
        ("function", {"record": ["other"]}, False),
        ("function", {"record": ["order.total()"]}, False),
        ("function", {"record": ["order[0]"]}, False),
        ("function", {"record": ["order?.id"]}, False),
        ("function", {"record": ["order.__proto__"]}, False),
        ("function", {"record": ["_codemod_t"]}, False),
        ("function", {"record": ["order", "order"]}, False),
        ("function", {"event": "bad event"}, False),
        ("variable", {"record": ["total"]}, True),
        ("variable", {"record": ["total.value"]}, False),
        ("variable", {"record": ["missing"]}, False),
        ("loop", {"record": []}, True),
        ("loop", {"record": ["i"]}, False),
    ],
)
def test_judge(kind: str, answer: dict[str, object], ok: bool) -> None:
    context = {"params": ("order",)} if kind == "function" else {"names": ("total",)}
    assert judge_answer(kind, context, json.dumps(answer)).ok is ok


def test_model_answers_are_applied_and_removable(tmp_path: Path) -> None:
    source = (
        "function price(order, rate) {\n"
        "  const total = order.items.length * rate;\n"
        "  return total;\n"
        "}\n"
    )
    path = tmp_path / "a.js"
    path.write_text(source)
    codemod = JsTelemetry()
    context = FileContext(path, "a.js", "javascript", tmp_path)
    prepared = codemod.prepare(context, decode_source(source.encode(), "javascript"))
    assert isinstance(prepared, Prepared)
    prompt = codemod.prompt(prepared.requests[0])
    assert "Language: JavaScript" in prompt.user and "```js" in prompt.user
    answers = {
        prepared.requests[0].id: json.dumps({"event": "price", "record": ["order.items", "rate"]}),
        prepared.requests[1].id: json.dumps({"record": ["total"]}),
    }
    outcome = codemod.finish(prepared, answers)
    assert outcome.text is not None
    assert '_codemod_tel.attr(order, "items")' in outcome.text
    assert '"a.js:1:price|price"' in outcome.text
    parse_js(outcome.text, "javascript")
    assert strip_text(outcome.text) == source


def test_typescript_leaves_alone_a_function_whose_body_declares_functions() -> None:
    """Found by instrumenting rxjs: in try {} the inner declaration is block-scoped,
    which tsc rejects when it compiles for ES5 (TS1252). JavaScript keeps it."""
    from codemodkit.codemods.telemetry.js.codemod import instrument_text, skipped_notes

    source = (
        "export function outer(x) {\n  function inner() {\n    return x;\n  }\n"
        "  return inner();\n}\n"
    )
    typed = source.replace("(x)", "(x: number)")
    assert any("declares function inner()" in reason for _, reason in skipped_notes(typed, "m.ts"))
    instrumented = instrument_text(typed, "m.ts")
    assert 'enter("m.ts:1:outer")' not in instrumented
    assert 'enter("m.ts:2:outer.<locals>.inner")' in instrumented  # the inner one still is
    assert 'enter("m.js:1:outer")' in instrument_text(source, "m.js")


@pytest.mark.parametrize(
    ("source", "relpath", "literal"),
    [
        # a JSX attribute string holds its line break as it is: no template, no backslash
        (
            'function App() {\n  const a = <div title="one\n  two">hi</div>;\n  return a;\n}\n',
            "a.jsx",
            '"one\n  two"',
        ),
        (
            'function f() {\n  const s = "one \\\n  two";\n  return s;\n}\n',
            "a.ts",
            '"one \\\n  two"',
        ),
        ("function f() {\n  const s = `one\n  two`;\n  return s;\n}\n", "a.ts", "`one\n  two`"),
    ],
)
def test_lines_inside_a_string_literal_are_never_reindented(
    source: str, relpath: str, literal: str
) -> None:
    out = instrument_text(source, relpath)
    assert literal in out
    assert "try {" in out  # the function around it was instrumented
    assert strip_text(out, Path(relpath).suffix) == source


class _BrokenModelSnippets(JsTelemetry):
    """Stands in for a model answer that got past the judge but breaks the syntax."""

    def snippet(self, site: Site, relpath: str, answer: str) -> JsSnippet:
        if answer.strip() == "{}":
            return super().snippet(site, relpath, answer)
        return JsSnippet(before=("const = ;",))


def test_a_result_holding_a_model_answer_that_would_not_parse_is_left_untouched(
    tmp_path: Path,
) -> None:
    source = "function price(order) {\n  return order.total;\n}\n"
    path = tmp_path / "a.js"
    path.write_text(source)
    codemod = _BrokenModelSnippets()
    context = FileContext(path, "a.js", "javascript", tmp_path)
    prepared = codemod.prepare(context, decode_source(source.encode(), "javascript"))
    assert isinstance(prepared, Prepared)
    outcome = codemod.finish(prepared, {prepared.requests[0].id: '{"record": ["order"]}'})
    assert outcome.status == "failed"
    assert outcome.reason.startswith("instrumented code would not parse (syntax error at line")
    assert outcome.reason.endswith("; left untouched")


USING = (
    "async function f(open) {\n"
    "  using res = open(1);\n"
    "  await using a = open(2), b = open(3);\n"
    "  using none = null;\n"
    "  using _quiet = open(4);\n"
    "  using\n"
    "  notOne = open(5);\n"  # two statements: `using;` and an assignment
    "  using [at] = open;\n"  # an assignment to `using[at]`
    "  return res;\n"
    "}\n"
)


@pytest.mark.parametrize("suffix", [".js", ".ts", ".tsx"])
def test_using_declarations_are_recorded_like_const(suffix: str) -> None:
    """tree-sitter-javascript has a node for `using`; tree-sitter-typescript 0.23 reads
    it as an assignment starting with the token `using`. Both are recorded, and
    neither grammar's look-alikes are."""
    produced = instrument_text(USING, f"m{suffix}")
    recorded = re.findall(r'_codemod_tel\.value\("m\.\w+:(\d+):f:(\w+)"', produced)
    assert recorded == [("2", "res"), ("3", "a"), ("3", "b")]
    lines = produced.splitlines()
    at = lines.index("    await using a = open(2), b = open(3);")
    assert "value(" in lines[at + 1] and "value(" in lines[at + 2]  # after initialisation
    assert strip_text(produced, suffix) == USING
    assert instrument_text(produced, f"m{suffix}") == produced


def test_typed_using_is_a_syntax_error_in_typescript(tmp_path: Path) -> None:
    """tree-sitter-typescript 0.23 cannot parse a `using` with a type annotation, nor
    `using` in a for...of head: the file is reported in one line and left alone."""
    codemod = JsTelemetry()
    for text, where in (
        ("export function f(open: () => Disposable) {\n  using r: Disposable = open();\n}\n", 2),
        ("export function f(xs: Disposable[]) {\n  for (using x of xs) {\n  }\n}\n", 1),
    ):
        path = tmp_path / "a.ts"
        context = FileContext(path, "a.ts", "typescript", tmp_path)
        outcome = codemod.prepare(context, decode_source(text.encode(), "typescript"))
        assert not isinstance(outcome, Prepared)
        assert outcome.status == "failed"
        assert outcome.reason.startswith(f"syntax error at line {where}, column")
        assert "\n" not in outcome.reason


#: (a function body, the loops in it): every loop is instrumented
BRACELESS = [
    ("if (x) for (const a of xs) g(a);", 1),
    ("if (x) for (const a of xs) g(a)\nelse g(0)", 1),
    ("if (x) g(0);\nelse while (k-- > 0) g(k);", 1),
    ("if (x) g(0);\nelse if (y) for (;;) break;\nelse g(1);", 1),
    ("for (const a of xs)\n  for (const b of a) g(b);", 2),
    ("while (k-- > 0)\n  do g(k); while (k % 3);", 2),
    ("do\n  for (const a of xs) g(a);\nwhile (k-- > 0);", 2),
    ("if (x) for (const a of xs) g(a);\nelse for (const b of xs) g(b);", 2),
    ("if (x) outer: for (const a of xs) {\n  for (;;) continue outer;\n}", 2),
    ("if (x)\n  for (const a of xs) {\n    g(a);\n  }\nelse\n  while (k-- > 0) g(k);", 2),
    ("if (x) // why\n  outer: for (const a of xs) g(a); // trailing", 1),
    ("for (const a of xs)\n  for (const b of a) {\n    g(b);\n  }", 2),
    ("if (x) for (const a of xs) g(a)\n;[1].forEach(g)", 1),
    ("with (o) for (const a of xs) g(a);", 1),
]


@pytest.mark.parametrize(("body", "loops"), BRACELESS)
def test_loops_in_brace_less_bodies_are_enclosed(body: str, loops: int) -> None:
    lines = "".join(f"  {line}\n" for line in body.splitlines())
    source = f"function f(x, y, xs, k, o) {{\n{lines}}}\n"
    assert skipped_notes(source, "m.js") == []
    produced = instrument_text(source, "m.js")
    parse_js(produced, "javascript")
    assert produced.count("_codemod_tel.loop(") == loops
    assert "let _codemod_b" in produced
    assert strip_text(produced) == source
    assert instrument_text(produced, "m.js") == produced


@pytest.mark.parametrize(
    "body",
    [
        "for (const a of xs) for (const b of a) g(b);",
        "while (k-- > 0) do g(k); while (k % 3);",
        "if (x) for (const a of xs) g(a); else for (const b of xs) g(b);",
    ],
)
def test_a_second_loop_on_a_line_is_left_alone(body: str) -> None:
    """Two loops of one function starting on one line would share a site key (and the
    helper would add up their counts): the first is instrumented, the second is not."""
    source = f"function f(x, xs, k) {{\n  {body}\n}}\n"
    assert skipped_notes(source, "m.js") == [
        (2, "starts on the line of another loop of the function (one site key for both)")
    ]
    produced = instrument_text(source, "m.js")
    assert produced.count('_codemod_tel.loop("m.js:2:f"') == 1
    assert strip_text(produced) == source
    assert instrument_text(produced, "m.js") == produced


def test_braces_the_user_wrote_stay() -> None:
    """A brace-less loop on its own lines and the same loop in braces the user wrote
    (GNU style) instrument to the same code but for the counter's name: the marker
    that tells removal whether the braces go."""
    loop = "    for (const a of xs) {\n      g(a);\n    }\n"
    bare = f"function f(x, xs) {{\n  if (x)\n{loop}}}\n"
    braced = f"function f(x, xs) {{\n  if (x)\n    {{\n{loop.replace('    ', '      ')}    }}\n}}\n"
    from_bare, from_braced = instrument_text(bare), instrument_text(braced)
    assert "_codemod_b1" in from_bare and "_codemod_n1" in from_braced
    # the same but for the counter's name (and the line of the loop's key)
    same = from_bare.replace("_codemod_b1", "_codemod_n1").replace("m.js:3:f", "m.js:4:f")
    assert same == from_braced
    assert strip_text(from_bare) == bare and strip_text(from_braced) == braced


def test_edited_braces_are_left_alone() -> None:
    """Added braces whose bytes were changed are not guessed at: they stay, and the
    file still uses the reserved prefix (reported as edited by hand)."""
    source = "function f(x, xs) {\n  if (x) for (const a of xs) g(a);\n  return 1;\n}\n"
    produced = instrument_text(source)
    edited = produced.replace("_codemod_b1); } }", "_codemod_b1); }  }")
    assert edited != produced
    assert "let _codemod_b1 = 0;" in strip_text(edited)
