"""What a model is asked for one group of errors, and how its answer is read."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from codemodkit.tsfix.grouping import group_diagnostics
from codemodkit.tsfix.prompt import (
    ANSWER_SCHEMA,
    FixAnswer,
    build_prompt,
    fit_replacement,
    parse_answer,
    related_snippets,
    span_indent,
)
from codemodkit.tsfix.types import Diagnostic, Related
from codemodkit.tsfix.validate import Policy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path("/p")
A = "/p/src/a.ts"
ITEM = "/p/src/item.ts"

SOURCE = """\
import { Item } from "./item";

export function total(items: Item[]): number {
  const sum: number = items.reduce((acc, item) => acc + item.price, "0");
  return sum;
}
export const x = 1;
"""
ITEM_SOURCE = "export interface Item {\n  price: number;\n  name: string;\n}\n"


def mismatch(text: str = SOURCE, related: tuple[Related, ...] = ()) -> Diagnostic:
    start = text.index('"0"')
    return Diagnostic(
        2769,
        "No overload matches this call.\n  The last overload gave the following error.",
        file=A,
        start=start,
        length=3,
        related=related,
    )


def text_of(file: str) -> str | None:
    return {A: SOURCE, ITEM: ITEM_SOURCE}.get(file)


def test_the_prompt_has_errors_related_locations_types_and_context() -> None:
    related = (
        Related("'price' is declared here.", file=ITEM, start=ITEM_SOURCE.index("price")),
        Related("The call is here.", file=A, start=SOURCE.index("items.reduce")),
        Related("Somewhere unreadable.", file="/p/src/gone.ts", start=3),
    )
    (group,) = group_diagnostics(SOURCE, None, [mismatch(related=related)])
    snippets = related_snippets(group, text_of, ROOT)
    assert snippets == [
        "- src/item.ts:2: 'price' is declared here.\n    price: number;",
        "- line 2 of the code to fix: The call is here.",
        "- src/gone.ts: Somewhere unreadable.",
    ]
    prompt = build_prompt(group, "src/a.ts", SOURCE, ["items: Item[]", "", "sum: number"], snippets)
    user = prompt.user
    # tsc's format, with the position counted in the code to fix (line 2, column 69)
    assert (
        "src/a.ts(2,69): error TS2769: No overload matches this call.\n"
        "  The last overload gave the following error.\n" in user
    )
    assert "Code to fix: function total\n" in user
    assert "- items: Item[]\n- sum: number\n" in user
    assert '```ts\nimport { Item } from "./item";\n```' in user  # before
    assert "```ts\nexport const x = 1;\n```" in user  # after
    assert "```ts\n" + SOURCE[group.start : group.end] + "\n```" in user
    assert "Allowed here" not in user
    assert prompt.schema == ANSWER_SCHEMA
    assert prompt.template_version.startswith("fix.v1.txt:")
    assert prompt.metadata == {
        "file": "src/a.ts",
        "span": f"{group.start}:{group.end}",
        "lines": "3-6",
        "kind": "function",
        "name": "total",
        "codes": "2769",
    }
    assert "no markdown fences" in prompt.system and "@ts-ignore" in prompt.system


def test_the_fallback_is_the_span_unchanged() -> None:
    (group,) = group_diagnostics(SOURCE, None, [mismatch()])
    answer = parse_answer(build_prompt(group, "src/a.ts", SOURCE).fallback)
    assert isinstance(answer, FixAnswer)
    assert answer.replacement == SOURCE[group.start : group.end]


def test_an_edit_elsewhere_leaves_the_prompt_unchanged() -> None:
    """Positions are relative to the span, so the cache key survives edits above it."""
    (group,) = group_diagnostics(SOURCE, None, [mismatch()])
    shifted_text = "// one\n// two\n// three\n// four\n// five\n// six\n" + SOURCE
    (shifted,) = group_diagnostics(shifted_text, None, [mismatch(shifted_text)])
    first = build_prompt(group, "src/a.ts", SOURCE)
    second = build_prompt(shifted, "src/a.ts", shifted_text)
    assert shifted.line == group.line + 6
    assert (first.system, first.user) != ("", "")
    context_free = [p.user.split("Before the code to fix")[0] for p in (first, second)]
    assert context_free[0] == context_free[1]
    assert first.user.split("Code to fix:\n")[1] == second.user.split("Code to fix:\n")[1]


def test_tsx_and_what_the_policy_allows() -> None:
    text = "export const A = (p: { n: number }) => <b>{p.m}</b>;\n"
    diagnostic = Diagnostic(
        2339, "Property 'm' does not exist.", file="/p/A.tsx", start=text.index("m}"), length=1
    )
    (group,) = group_diagnostics(text, None, [diagnostic])
    prompt = build_prompt(group, "A.tsx", text, policy=Policy(allow_non_null=True))
    assert "Language: TypeScript (TSX)" in prompt.user and "```tsx\n" in prompt.user
    assert "(start of file)" in prompt.user and "(end of file)" in prompt.user
    assert "Allowed here, as a last resort only: non-null assertions (`x!`)." in prompt.user


# -- answers -----------------------------------------------------------------------
def test_a_good_answer_and_a_fenced_replacement() -> None:
    answer = parse_answer(json.dumps({"replacement": "const n = 1;", "explanation": "number"}))
    assert answer == FixAnswer(replacement="const n = 1;", explanation="number")
    fenced = parse_answer(json.dumps({"replacement": "```ts\nconst n = 1;\nf(n);\n```"}))
    assert isinstance(fenced, FixAnswer) and fenced.replacement == "const n = 1;\nf(n);"
    bare = parse_answer(json.dumps({"replacement": "```\nconst n = 1;\n```\n"}))
    assert isinstance(bare, FixAnswer) and bare.replacement == "const n = 1;"
    # A template literal with a fence in it is code, not a wrapper.
    code = "const md = `\n```ts\nx\n```\n`;"
    kept = parse_answer(json.dumps({"replacement": code}))
    assert isinstance(kept, FixAnswer) and kept.replacement == code


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("const n = 1;", "the answer is not JSON"),
        ('```json\n{"replacement": "x"}\n```', "the answer is not JSON"),
        ('["x"]', "the answer must be a JSON object"),
        ('{"explanation": "done"}', "replacement: Field required"),
        ('{"replacement": 3}', "replacement: Input should be a valid string"),
        ('{"replacement": "x", "patch": "y"}', "patch: Extra inputs are not permitted"),
    ],
)
def test_a_bad_answer_is_a_one_line_reason(text: str, reason: str) -> None:
    result = parse_answer(text)
    assert isinstance(result, str) and result.startswith(reason) and "\n" not in result


def test_the_schema_asks_for_a_replacement_and_nothing_else() -> None:
    assert ANSWER_SCHEMA["required"] == ["replacement"]
    assert ANSWER_SCHEMA["additionalProperties"] is False
    assert set(ANSWER_SCHEMA["properties"]) == {"replacement", "explanation"}


def test_a_replacement_is_fitted_to_its_span() -> None:
    text = "function f() {\n  const n: number = 'x';\n}\n"
    diagnostic = Diagnostic(2322, "m", file=A, start=text.index("n:"), length=1)
    (group,) = group_diagnostics(text, "typescript", [diagnostic])
    original = text[group.start : group.end]
    assert span_indent(text, group) == ""  # the whole small function is the span
    assert fit_replacement("  const n = 1;\n", "const n: number = 'x';", "  ") == "const n = 1;"
    assert fit_replacement("  x();", "  x();", "  ") == "  x();"
    assert fit_replacement(original + "\n", original, "") == original


def test_the_prompt_file_is_package_data() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    data = pyproject["tool"]["setuptools"]["package-data"]
    assert data["codemodkit.tsfix.prompts"] == ["*.txt"]
