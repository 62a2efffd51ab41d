"""The tier table: defaults by code, shape rules, the user's overrides from the config."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codemodkit.config import CodemodConfig, ConfigError, load_config
from codemodkit.tsfix import classify as classify_module
from codemodkit.tsfix.classify import (
    DEFAULT_TIERS,
    GroupContext,
    classify,
    classify_group,
    explain,
)
from codemodkit.tsfix.types import Diagnostic, Related

FILE = "/p/src/a.ts"


def diag(code: int, message: str, related: tuple[Related, ...] = ()) -> Diagnostic:
    return Diagnostic(code=code, message=message, file=FILE, start=0, related=related)


@pytest.mark.parametrize(
    ("code", "message", "tier"),
    [
        # simple mismatches and null checks
        (2322, "Type 'string' is not assignable to type 'number'.", 1),
        (2322, "Type '\"a\" | \"b\"' is not assignable to type 'number[]'.", 1),
        (2345, "Argument of type 'number' is not assignable to parameter of type 'string'.", 1),
        (18047, "'q' is possibly 'null'.", 1),
        (2532, "Object is possibly 'undefined'.", 1),
        (2339, "Property 'c' does not exist on type '{ b: number; }'.", 1),
        (7006, "Parameter 'x' implicitly has an 'any' type.", 1),
        (2554, "Expected 2 arguments, but got 1.", 1),
        (6133, "'s' is declared but its value is never read.", 1),
        # object types
        (
            2345,
            "Argument of type '{ a: { b: number; c: number; }; }' is not assignable to "
            "parameter of type 'P'.\n  The types of 'a.c' are incompatible between these types.",
            2,
        ),
        (2322, "Type '{ a: string; }' is not assignable to type 'Shape'.", 2),
        (2741, "Property 'name' is missing in type '{ area: () => number; }' but required.", 2),
        (2339, "Property 'x' does not exist on type 'A | B'.", 2),
        (2322, "Type 'Promise<number>' is not assignable to type 'number'.", 2),
        (9999, "Something TypeScript added after this table was written.", 2),
        # generics, overloads, class contracts
        (2322, "Type 'T' is not assignable to type 'string'.", 3),
        (2345, "Argument of type 'TValue' is not assignable to parameter of type 'number'.", 3),
        (2769, "No overload matches this call.\n  Overload 1 of 2, '(x: string): void'...", 3),
        (2416, "Property 'm' in type 'C' is not assignable to the same property in base type.", 3),
        (2420, "Class 'Sq' incorrectly implements interface 'Shape'.", 3),
        (2344, "Type 'string' does not satisfy the constraint 'number'.", 3),
    ],
)
def test_default_tiers_by_code_and_shape(code: int, message: str, tier: int) -> None:
    assert classify(diag(code, message)) == tier, explain(diag(code, message))


def test_a_deep_chain_is_not_a_simple_mismatch() -> None:
    message = (
        "Type '(x: { a: string; }) => void' is not assignable to type '(x: { a: number; }) "
        "=> void'.\n  Types of parameters 'x' and 'x' are incompatible.\n    Type '{ a: number; "
        "}' is not assignable to type '{ a: string; }'.\n      Types of property 'a' are "
        "incompatible."
    )
    assert classify(diag(2322, message)) == 2
    assert classify(diag(2532, "Object is possibly 'undefined'.\n  a\n    b\n      c")) == 2


def test_related_information_in_another_file_makes_it_multi_file() -> None:
    here = Related("declared here", file=FILE, start=3)
    there = Related("The expected type comes from property 'b'", file="/p/src/b.ts", start=9)
    message = "Type 'string' is not assignable to type 'number'."
    assert classify(diag(2322, message, (here,))) == 1
    assert explain(diag(2322, message, (here, there))) == (3, "related information in another file")


def test_big_groups_start_higher() -> None:
    simple = diag(6133, "'x' is declared but its value is never read.")
    assert classify(simple, GroupContext(lines=10)) == 1
    assert classify(simple, GroupContext(lines=41)) == 2
    assert classify(simple, GroupContext(lines=151)) == 3
    hard = diag(2769, "No overload matches this call.")
    assert classify_group([simple, hard], lines=3) == 3
    assert classify_group([simple], lines=3) == 1


def test_overrides_win_over_every_shape_rule() -> None:
    overloads = diag(2769, "No overload matches this call.")
    assert classify(overloads, overrides={2769: 1}) == 1
    assert classify(overloads, GroupContext(lines=500), overrides={2769: 1}) == 1
    assert explain(overloads, overrides={2769: 2}) == (2, "TS2769: configured")


def test_the_documented_table_is_the_table() -> None:
    """The module docstring (copied into the README) lists exactly DEFAULT_TIERS."""
    doc = classify_module.__doc__ or ""
    table = doc.split("====  ====", 2)[2].split("\n====")[0]
    rows = re.split(r"\n(?=[123] )", table.strip("= \n"))
    documented: dict[int, int] = {}
    for row in rows:
        tier = int(row[0])
        for code in re.findall(r"\b\d{4,5}\b", row):
            documented[int(code)] = tier
    assert documented == dict(DEFAULT_TIERS)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_config_section_sets_tiers_and_policies(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        "[tool.codemod.tsfix]\n"
        'tiers = { "2322" = 3, "TS7006" = 2 }\n'
        'allow_non_null = true\nmax_rounds = 2\nmode = "hybrid"\n',
    )
    tsfix = load_config(tmp_path).config.tsfix
    assert tsfix.tiers == {2322: 3, 7006: 2}
    assert (tsfix.allow_any, tsfix.allow_non_null, tsfix.allow_ts_comments) == (False, True, False)
    assert (tsfix.max_rounds, tsfix.mode) == (2, "hybrid")
    message = "Type 'string' is not assignable to type 'number'."
    assert classify(diag(2322, message), overrides=tsfix.tiers) == 3
    defaults = CodemodConfig().tsfix
    assert defaults.tiers == {} and defaults.mode == "sequential"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[tool.codemod.tsfix]\ntiers = { "2322" = 4 }\n', "tsfix.tiers.2322: Input should be"),
        ('[tool.codemod.tsfix]\ntiers = { "x1" = 1 }\n', "an error code is a number such as 2322"),
        ('[tool.codemod.tsfix]\nmode = "fast"\n', "tsfix.mode: Input should be 'sequential'"),
        ("[tool.codemod.tsfix]\nmax_rounds = 0\n", "tsfix.max_rounds"),
        ("[tool.codemod.tsfix]\nallow_anything = true\n", "tsfix.allow_anything: unknown key"),
    ],
)
def test_a_tsfix_mistake_is_one_line(tmp_path: Path, table: str, message: str) -> None:
    write(tmp_path / "pyproject.toml", table)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    text = str(caught.value)
    assert text.startswith("pyproject.toml: [tool.codemod] ")
    assert message in text and "\n" not in text
