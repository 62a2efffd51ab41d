"""Validation: what a fix may not do to the code, and what it must do to the errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codemodkit.tsfix.tier0 import apply_changes, merge_changes
from codemodkit.tsfix.types import Diagnostic, FileChanges, TextChange
from codemodkit.tsfix.validate import (
    Policy,
    _mapped,
    check_code,
    check_diagnostics,
    validate_fix,
)

ROOT = Path("/p")
NOTHING = Policy()
A = "/p/src/a.ts"
B = "/p/src/b.ts"

SOURCE = """\
const banner = "😀 shop";
interface Item { price: number; name: string }
declare function save(): number;
export function total(items: Item[]): number {
  const sum: number = items.reduce((acc, item) => acc + item.price, "0");
  return sum;
}
export function label(item: Item | undefined): string {
  return item.name;
}
export function unused(): void {
  const x = save();
  let y = 1;
}
"""


def span(snippet: str, text: str = SOURCE) -> tuple[int, int]:
    start = text.index(snippet)
    return start, start + len(snippet)


def code(
    snippet: str,
    replacement: str,
    *,
    targets: tuple[Diagnostic, ...] = (),
    policy: Policy = NOTHING,
    text: str = SOURCE,
    file: str = A,
) -> tuple[bool, str]:
    start, end = span(snippet, text)
    verdict = check_code(text, start, end, replacement, file=file, targets=targets, policy=policy)
    assert "\n" not in verdict.reason
    return verdict.ok, verdict.reason


SUM = 'const sum: number = items.reduce((acc, item) => acc + item.price, "0");'
NAME = "return item.name;"


def test_a_real_fix_passes() -> None:
    assert code(SUM, SUM.replace('"0"', "0")) == (True, "")
    assert code(NAME, 'return item?.name ?? "";') == (True, "")


@pytest.mark.parametrize(
    ("snippet", "replacement", "reason"),
    [
        (SUM, SUM.replace("number", "any"), "the fix adds an 'any' type"),
        (SUM, SUM.replace("items.reduce", "(items as any).reduce"), "adds an 'any' type"),
        (
            SUM,
            SUM.replace('"0")', '"0") as unknown as number'),
            "the fix adds a double assertion through 'unknown'",
        ),
        (
            NAME,
            "// @ts-ignore\n  return item.name;",
            "the fix adds a @ts-ignore/@ts-expect-error/@ts-nocheck comment",
        ),
        (NAME, "return item!.name;", "the fix adds a non-null assertion (!)"),
        ("let y = 1;", "let y!: number;", "non-null assertion"),
    ],
)
def test_escape_hatches_are_refused_unless_allowed(
    snippet: str, replacement: str, reason: str
) -> None:
    ok, why = code(snippet, replacement)
    assert not ok and reason in why
    everything = Policy(allow_any=True, allow_non_null=True, allow_ts_comments=True)
    assert code(snippet, replacement, policy=everything) == (True, "")


BODY = "{\n  return item.name;\n}"


@pytest.mark.parametrize(
    ("snippet", "replacement", "reason"),
    [
        (BODY, '{\n  throw new Error("Function not implemented.");\n}', "adds a stub"),
        (BODY, "{\n  throw new Error('TODO');\n}", "adds a stub"),
        (BODY, "{}", "the fix empties the body of 'label'"),
        (NAME, 'return item?.name ?? ""; // TODO: check types', "TODO/FIXME placeholder"),
    ],
)
def test_stubs_are_refused_whatever_the_policy(snippet: str, replacement: str, reason: str) -> None:
    everything = Policy(allow_any=True, allow_non_null=True, allow_ts_comments=True)
    ok, why = code(snippet, replacement, policy=everything)
    assert not ok and reason in why


@pytest.mark.parametrize(
    ("replacement", "reason"),
    [
        ("", "the fix deletes the code it was asked to fix"),
        ("// nothing to see here", "the fix deletes the code it was asked to fix"),
        (
            "const sum: number = 0;",
            "the fix drops most of the code it was asked to fix (keeps 1 of 6",
        ),
        (
            f"// {SUM}\n  const sum = 0;",
            "the fix comments out code (const sum: number = items.reduce(",
        ),
        (
            SUM.replace("item.price", "(item.price"),
            "the fix does not parse (syntax error at line 5)",
        ),
    ],
)
def test_a_fix_must_not_delete_what_it_should_fix(replacement: str, reason: str) -> None:
    ok, why = code(SUM, replacement)
    assert not ok and why.startswith(reason), why


def unused(name: str) -> Diagnostic:
    start = SOURCE.index(f"{name} =")
    return Diagnostic(
        6133, f"'{name}' is declared but its value is never read.", file=A, start=start, length=1
    )


def test_deleting_unused_code_is_the_fix_but_keeps_its_side_effects() -> None:
    assert code("let y = 1;", "", targets=(unused("y"),)) == (True, "")
    body = "const x = save();\n  let y = 1;"
    both = (unused("x"), unused("y"))
    assert code(body, "save();", targets=both) == (True, "")
    ok, why = code(body, "", targets=both)
    assert (ok, why) == (False, "the fix removes a call to save(), which the program still needs")


def test_offsets_are_characters_and_tsx_is_read_as_tsx() -> None:
    tsx = 'const e = "😀";\nexport const A = (p: { n: number }) => <b>{p.n}</b>;\n'
    snippet = "<b>{p.n}</b>"
    assert code(snippet, "<b>{String(p.n)}</b>", text=tsx, file="/p/A.tsx") == (True, "")
    ok, why = code(snippet, "<b>{(p as any).n}</b>", text=tsx, file="/p/A.tsx")
    assert not ok and "any" in why


# -- diagnostics -------------------------------------------------------------------
MISMATCH = "Type 'string' is not assignable to type 'number'."


def error(
    file: str, start: int | None, code: int = 2322, message: str = MISMATCH, **kw: object
) -> Diagnostic:
    return Diagnostic(code, message, file=file, start=start, length=3, **kw)  # type: ignore[arg-type]


def test_the_targeted_error_must_go_and_nothing_new_may_appear() -> None:
    target = error(A, 100, line=5)
    other_same_message = error(A, 300, line=12)
    before = [target, other_same_message, error(B, 5, 2304, "Cannot find name 'x'.")]
    edit = {A: [TextChange(90, 20, "const sum = 0; // 12345")]}  # 3 characters longer
    # Fixed: the other identical error is still there, shifted by the edit.
    after = [error(A, 303, line=12), error(B, 5, 2304, "Cannot find name 'x'.")]
    assert check_diagnostics(edit, [target], before, after, root=ROOT).ok
    # Not fixed: the same error inside the replaced text.
    verdict = check_diagnostics(edit, [target], before, [*after, error(A, 95, line=5)], root=ROOT)
    assert verdict.reason == f"error TS2322 is still there at src/a.ts:5: {MISMATCH}"
    # A new error in another file, with its position; warnings do not count.
    introduced = error(
        B,
        40,
        2345,
        "Argument of type 'number' is not assignable to parameter of type 'string'.\n  more",
        line=3,
    )
    warning = Diagnostic(6385, "'x' is deprecated.", category="suggestion", file=B, start=1)
    verdict = check_diagnostics(edit, [target], before, [*after, introduced, warning], root=ROOT)
    assert verdict.reason == (
        "the fix introduced error TS2345 at src/b.ts:3: Argument of type 'number' is not "
        "assignable to parameter of type 'string'."
    )
    assert check_diagnostics(edit, [target], before, [*after, warning], root=ROOT).ok


def test_a_target_moved_elsewhere_is_a_new_error_and_counts_add_up() -> None:
    target = error(A, 100)
    edit = {A: [TextChange(90, 20, "x")]}
    moved = error(A, 500, line=30)  # the same message, but somewhere it was not before
    verdict = check_diagnostics(edit, [target], [target], [moved], root=ROOT)
    assert verdict.reason == f"the fix introduced error TS2322 at src/a.ts:30: {MISMATCH}"
    three = [error(B, 1, 2304, f"Cannot find name 'n{i}'.") for i in range(3)]
    verdict = check_diagnostics(edit, [target], [target], three, root=ROOT)
    assert verdict.reason.endswith("Cannot find name 'n0'. (and 2 more)")


def test_an_insertion_before_the_target_shifts_it() -> None:
    """Tier 0 adds an import at the top: the error below moves down, and is still there."""
    target = error(A, 50, 2304, "Cannot find name 'helper'.")
    edit = {A: [TextChange(0, 0, 'import { helper } from "./h";\n')]}
    shifted = error(A, 50 + 30, 2304, "Cannot find name 'helper'.", line=3)
    verdict = check_diagnostics(edit, [target], [target], [shifted], root=ROOT)
    assert verdict.reason.startswith("error TS2304 is still there at src/a.ts:3")
    assert check_diagnostics(edit, [target], [target], [], root=ROOT).ok


def test_errors_without_a_location_match_by_message() -> None:
    option = Diagnostic(5023, "Unknown compiler option 'x'.")
    verdict = check_diagnostics({}, [option], [option], [option])
    assert verdict.reason == "error TS5023 is still there: Unknown compiler option 'x'."


def test_validate_fix_runs_both_and_names_lines_from_the_new_text() -> None:
    start, end = span(SUM)
    target = error(A, SOURCE.index('"0"'))
    replacement = SUM.replace('"0"', "0")
    new_text = SOURCE[:start] + replacement + SOURCE[end:]
    caller = error(
        A, new_text.index("return sum"), 2322, "Type 'number' is not assignable to type 'string'."
    )
    common = {
        "file": A,
        "text": SOURCE,
        "start": start,
        "end": end,
        "targets": [target],
        "root": ROOT,
    }
    assert validate_fix(replacement=replacement, before=[target], after=[], **common).ok  # type: ignore[arg-type]
    verdict = validate_fix(replacement=replacement, before=[target], after=[caller], **common)  # type: ignore[arg-type]
    assert verdict.reason.startswith("the fix introduced error TS2322 at src/a.ts:6: Type 'number'")
    verdict = validate_fix(replacement="", before=[target], after=[], **common)  # type: ignore[arg-type]
    assert verdict.reason == "the fix deletes the code it was asked to fix"


# -- properties --------------------------------------------------------------------
TEXT = "abcdefghijklmnopqrstuvwxyz0123456789"


@given(
    st.lists(
        st.builds(
            lambda start, length, new: TextChange(start, min(length, len(TEXT) - start), new),
            st.integers(0, len(TEXT)),
            st.integers(0, 5),
            st.sampled_from(["", "X", "YYY"]),
        ),
        max_size=6,
    ),
    st.integers(0, len(TEXT) - 1),
)
def test_an_untouched_character_maps_to_itself(changes: list[TextChange], offset: int) -> None:
    merged, _ = merge_changes([FileChanges(A, (c,)) for c in changes])
    accepted = merged.get(A, [])
    new = apply_changes(TEXT, accepted)
    low, high = _mapped(accepted, offset)
    if any(c.start <= offset < c.end or (c.length == 0 and c.start == offset) for c in accepted):
        change = next(c for c in accepted if c.start <= offset < c.end or c.start == offset)
        assert new[low:high] == change.new_text
    else:
        assert low == high and new[low] == TEXT[offset]


def test_an_error_that_gains_a_spelling_suggestion_is_the_same_error() -> None:
    plain = Diagnostic(2304, "Cannot find name 'scheduled'.", file="/p/a.ts", start=5)
    suggesting = Diagnostic(
        2552, "Cannot find name 'scheduled'. Did you mean 'scheduler'?", file="/p/a.ts", start=9
    )
    other = Diagnostic(2304, "Cannot find name 'other'.", file="/p/a.ts", start=5)
    assert plain.key() == suggesting.key() != other.key()
    verdict = check_diagnostics({}, [], [plain], [suggesting])
    assert verdict.ok, verdict.reason
