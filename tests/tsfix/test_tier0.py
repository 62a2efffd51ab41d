"""Tier 0: the allowlist of TypeScript's code fixes, merging their edits, applying them.

The fixes are written out as TypeScript 5.9.3 offers them for these texts (names,
ids, descriptions and edits recorded from ``getCodeFixesAtPosition``)."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codemodkit.edits import OverlapError
from codemodkit.tsfix.tier0 import (
    ALLOWED,
    allowed,
    allowed_combined,
    apply_changes,
    choose_fix,
    merge_changes,
)
from codemodkit.tsfix.types import CodeFix, FileChanges, TextChange

A = "/p/src/a.ts"
B = "/p/src/b.ts"

SOURCE = """\
declare function sideEffect(): number;
function g(a: number, b: number) { return a; }
export function h() {
  const x = sideEffect();
  let y = 1;
  const f = () => sideEffect();
  const a = 1, z = sideEffect(), c = 2;
  return g(a, c) + [1].map((v, i) => v)[0];
}
"""


def fix(
    name: str,
    description: str,
    *changes: TextChange,
    file: str = A,
    fix_id: str | None = None,
) -> CodeFix:
    return CodeFix(name, description, (FileChanges(file, changes),), fix_id=fix_id)


def delete(text: str, snippet: str) -> TextChange:
    return TextChange(SOURCE.index(snippet), len(snippet), "")


def text_of(file: str) -> str:
    assert file == A
    return SOURCE


STUB = '\nfunction helperFn() {\n    throw new Error("Function not implemented.");\n}\n'
METHOD = '\n    area(): number {\n        throw new Error("Method not implemented.");\n    }'


# -- the allowlist -----------------------------------------------------------------
SAFE = [
    fix(
        "import",
        'Add import from "./util"',
        TextChange(80, 0, 'import { helperFn } from "./util";\n'),
        fix_id="fixMissingImport",
    ),
    fix(
        "unusedIdentifier",
        "Prefix 'b' with an underscore",
        TextChange(61, 1, "_b"),
        fix_id="unusedIdentifier_prefix",
    ),
    fix(
        "unusedIdentifier",
        "Remove import from 'fs'",
        TextChange(0, 35, ""),
        fix_id="unusedIdentifier_deleteImports",
    ),
    fix(
        "fixAwaitInSyncFunction",
        "Add async modifier to containing function",
        TextChange(266, 0, "async "),
    ),
    fix("fixOverrideModifier", "Add 'override' modifier", TextChange(213, 0, "override ")),
    fix("addMissingAwait", "Add 'await'", TextChange(227, 1, "await p"), fix_id="addMissingAwait"),
    fix(
        "addMissingNewOperator",
        "Add missing 'new' operator to call",
        TextChange(427, 5, "new Foo()"),
    ),
    fix(
        "inferFromUsage",
        "Infer parameter types from usage",
        TextChange(319, 0, ": { length: number; }"),
        fix_id="inferFromUsage",
    ),
    fix(
        "add-annotation",
        "Add return type 'Promise<number>'",
        TextChange(199, 0, ": Promise<number>"),
        fix_id="fixMissingTypeAnnotationOnExports",
    ),
]

UNSAFE = [
    (
        fix(
            "spelling",
            "Change spelling to 'length'",
            TextChange(300, 5, "length"),
            fix_id="fixSpelling",
        ),
        "spelling guess",
    ),
    (
        fix("fixMissingMember", "Declare property 'c'", TextChange(330, 0, "\n    c: any;")),
        "typed any",
    ),
    (
        fix(
            "fixMissingFunctionDeclaration",
            "Add missing function declaration 'helperFn'",
            TextChange(425, 0, STUB),
        ),
        "not implemented",
    ),
    (
        fix(
            "fixMissingProperties",
            "Add missing properties",
            TextChange(120, 17, '{\n    area: () => 1,\n    name: ""\n}'),
        ),
        "placeholder",
    ),
    (
        fix(
            "fixClassIncorrectlyImplementsInterface",
            "Implement interface 'Shape'",
            TextChange(83, 0, METHOD),
        ),
        "throw",
    ),
    (
        fix(
            "strictClassInitialization",
            "Add definite assignment assertion to property 'p: number;'",
            TextChange(384, 10, "p!: number;"),
        ),
        "definite-assignment",
    ),
    (CodeFix("fixCannotFindModule", "Install '@types/node'", ()), "installs a package"),
    (
        fix(
            "disableJsDiagnostics", "Ignore this error message", TextChange(0, 0, "// @ts-ignore\n")
        ),
        "@ts-ignore",
    ),
    (
        fix(
            "addMissingConstraint", "Add `extends` constraint.", TextChange(308, 1, "T extends any")
        ),
        "extends any",
    ),
    (
        fix(
            "inferFromUsage",
            "Infer parameter types from usage",
            TextChange(379, 0, ": any"),
            fix_id="inferFromUsage",
        ),
        "inserts 'any'",
    ),
    (
        fix(
            "inferFromUsage", "Infer type of 'p' from usage", TextChange(379, 0, ": { x: unknown }")
        ),
        "inserts 'unknown'",
    ),
    (
        fix(
            "add-annotation",
            "Add annotation of type 'any'",
            TextChange(94, 0, ": any"),
            fix_id="fixMissingTypeAnnotationOnExports",
        ),
        "inserts 'any'",
    ),
    (
        fix(
            "add-type-assertion",
            "Add satisfies and an inline type assertion with 'number'",
            TextChange(97, 10, "f() satisfies number as number"),
        ),
        "satisfies",
    ),
    (
        fix(
            "unusedIdentifier",
            "Replace 'infer U' with 'unknown'",
            TextChange(50, 7, "unknown"),
            fix_id="unusedIdentifier_infer",
        ),
        "unusedIdentifier_infer is not allowed",
    ),
    (
        fix(
            "import",
            'Add import from "x"',
            TextChange(0, 0, 'import { a } from "../node_modules/x/lib/a";\n'),
        ),
        "file path",
    ),
    (
        fix(
            "fixOverrideModifier",
            "Add 'override' modifier",
            TextChange(3, 0, "override "),
            file="/p/node_modules/lib/index.d.ts",
        ),
        "under node_modules",
    ),
    (
        fix("addMissingAwait", "Add 'await'", TextChange(3, 0, "x"), file="/p/tsconfig.json"),
        "not source code",
    ),
    (
        CodeFix(
            "import",
            "Add import",
            (FileChanges("/p/src/new.ts", (TextChange(0, 0, "x"),), is_new_file=True),),
        ),
        "new file",
    ),
    (
        fix("someFixFromTypeScript6", "Do something clever", TextChange(0, 0, "x")),
        "not on the tier-0 allowlist",
    ),
]


@pytest.mark.parametrize("candidate", SAFE, ids=lambda f: f.fix_name)
def test_the_allowlisted_fixes_are_allowed(candidate: CodeFix) -> None:
    decision = allowed(candidate, text_of)
    assert decision.ok, decision.reason
    assert decision.reason.startswith(candidate.fix_name)


@pytest.mark.parametrize(("candidate", "why"), UNSAFE, ids=lambda x: getattr(x, "fix_name", ""))
def test_fixes_that_insert_junk_are_refused_with_a_reason(candidate: CodeFix, why: str) -> None:
    decision = allowed(candidate, text_of)
    assert not decision.ok
    assert why in decision.reason and "\n" not in decision.reason


def test_every_allowed_name_is_documented() -> None:
    from codemodkit.tsfix import tier0

    for name in ALLOWED:
        assert f"``{name}``" in (tier0.__doc__ or "")


@pytest.mark.parametrize(
    ("snippet", "ok"),
    [
        ("  let y = 1;\n", True),  # nothing runs
        ("  const f = () => sideEffect();\n", True),  # the call is inside a function
        ("  const x = sideEffect();\n", False),  # TypeScript would drop the call
        (" z = sideEffect(),", False),  # part of a declaration list
        (", i", True),  # a parameter inside a call's callback: the call stays
    ],
)
def test_deleting_an_unused_declaration_keeps_side_effects(snippet: str, ok: bool) -> None:
    candidate = fix(
        "unusedIdentifier",
        "Remove unused declaration",
        delete(SOURCE, snippet),
        fix_id="unusedIdentifier_delete",
    )
    decision = allowed(candidate, text_of)
    assert decision.ok is ok, decision.reason
    if not ok:
        assert "deletes code with a side effect (sideEffect())" in decision.reason
    # Without the text nothing can be checked: a deletion is refused.
    assert not allowed(candidate).ok


def test_choosing_among_the_fixes_for_one_diagnostic() -> None:
    imp = fix(
        "import", 'Add import from "./util"', TextChange(80, 0, "import { h } from './util';\n")
    )
    stub = UNSAFE[2][0]
    chosen, reasons = choose_fix([stub, imp])
    assert chosen is imp and reasons == [
        "fixMissingFunctionDeclaration: adds a function that throws 'not implemented'"
    ]
    other = fix(
        "import", 'Add import from "./other"', TextChange(80, 0, "import { h } from './other';\n")
    )
    chosen, reasons = choose_fix([imp, other, stub])
    assert chosen is None
    assert reasons[0] == "import: 2 modules offer the name; not guessing"


def test_combined_fixes_are_judged_by_fix_id_and_content() -> None:
    imports = [FileChanges(A, (TextChange(80, 0, 'import { helperFn, Shape } from "./util";\n'),))]
    assert allowed_combined("fixMissingImport", imports).ok
    assert not allowed_combined("fixMissingProperties", imports).ok
    annotations = [FileChanges(A, (TextChange(9, 0, ": number"), TextChange(40, 0, ": any")))]
    decision = allowed_combined("fixMissingTypeAnnotationOnExports", annotations)
    assert not decision.ok and "inserts 'any'" in decision.reason


# -- merging -----------------------------------------------------------------------
def test_duplicates_are_dropped_and_overlaps_rejected_whole() -> None:
    import_a = fix("import", "a", TextChange(0, 0, 'import { a } from "./a";\n'))
    same_again = fix("import", "a", TextChange(0, 0, 'import { a } from "./a";\n'))
    delete_import = fix("unusedIdentifier", "d", TextChange(10, 20, ""))
    inside_it = fix("unusedIdentifier", "p", TextChange(15, 1, "_b"), TextChange(40, 0, "x"))
    merged, rejected = merge_changes([import_a, same_again, delete_import, inside_it])
    assert merged == {A: [TextChange(0, 0, 'import { a } from "./a";\n'), TextChange(10, 20, "")]}
    assert [r.item for r in rejected] == [inside_it]  # its other change is not applied
    assert rejected[0].reason == "overlaps an accepted change at a.ts[10:30]"


def test_insertions_at_one_offset_from_two_fixes_are_not_both_applied() -> None:
    first = fix("import", "x", TextChange(5, 0, "import x;\n"))
    second = fix("import", "y", TextChange(5, 0, "import y;\n"))
    merged, rejected = merge_changes([first, second])
    assert merged == {A: [TextChange(5, 0, "import x;\n")]}
    assert [r.item for r in rejected] == [second]


def test_one_fix_keeps_its_own_insertions_in_order() -> None:
    text = "class Sq implements Shape { side = 1; }"
    at = text.index(" }")
    members = fix(
        "fixOverrideModifier",
        "members",
        TextChange(at, 0, "\n    area(): number { return 1; }"),
        TextChange(at, 0, "\n    name: string;"),
        TextChange(at + 1, 0, "\n"),
    )
    merged, rejected = merge_changes([members])
    assert not rejected
    assert apply_changes(text, merged[A]) == (
        "class Sq implements Shape { side = 1;\n    area(): number { return 1; }"
        "\n    name: string; \n}"
    )


def test_a_fix_across_files_is_accepted_or_rejected_whole() -> None:
    taken = FileChanges(B, (TextChange(0, 4, "x"),))
    both = CodeFix(
        "import",
        "export and import",
        (
            FileChanges(A, (TextChange(0, 0, "import { x } from './b';\n"),)),
            FileChanges(B, (TextChange(2, 1, "y"),)),
        ),
    )
    merged, rejected = merge_changes([taken, both])
    assert merged == {B: [TextChange(0, 4, "x")]}
    assert [r.item for r in rejected] == [both]


def test_applying_refuses_overlaps() -> None:
    assert (
        apply_changes(
            "abcdef", [TextChange(4, 1, "E"), TextChange(0, 0, "<"), TextChange(1, 2, "BC")]
        )
        == "<aBCdEf"
    )
    with pytest.raises(OverlapError):
        apply_changes("abcdef", [TextChange(0, 3, "x"), TextChange(2, 2, "y")])
    with pytest.raises(OverlapError):
        apply_changes("abc", [TextChange(2, 5, "x")])


# -- properties --------------------------------------------------------------------
TEXT = "0123456789abcdefghij" * 2


@st.composite
def changes(draw: st.DrawFn) -> TextChange:
    start = draw(st.integers(0, len(TEXT)))
    length = draw(st.integers(0, min(6, len(TEXT) - start)))
    return TextChange(start, length, draw(st.sampled_from(["", "X", "YY", "\n"])))


items = st.lists(
    st.builds(
        lambda file, cs: FileChanges(file, tuple(cs)),
        st.sampled_from([A, B]),
        st.lists(changes(), min_size=1, max_size=3),
    ),
    max_size=8,
)


@given(items, st.randoms())
def test_merged_changes_never_overlap_and_apply_in_any_order(
    batch: list[FileChanges], rng: random.Random
) -> None:
    merged, rejected = merge_changes(batch)
    assert len(rejected) <= len(batch)
    for accepted in merged.values():
        assert accepted == sorted(accepted, key=lambda c: (c.start, c.end))
        for left, right in itertools.pairwise(accepted):
            assert left.end <= right.start
            assert not (left.length == right.length == 0 and left.start == right.start)
        expected = apply_changes(TEXT, accepted)
        shuffled = list(accepted)
        rng.shuffle(shuffled)
        assert apply_changes(TEXT, shuffled) == expected
        # Back to front, one by one, gives the same text.
        text = TEXT
        for change in reversed(accepted):
            text = text[: change.start] + change.new_text + text[change.end :]
        assert text == expected
    # Every change of an item that was not rejected is in the result (maybe joined
    # to a change it touches).
    rejected_items = {id(r.item) for r in rejected}
    for item in batch:
        if id(item) in rejected_items:
            continue
        for change in item.changes:
            assert any(
                m.start <= change.start and change.end <= m.end and change.new_text in m.new_text
                for m in merged[item.file]
            )
