"""What the review writes when only some constructs are accepted."""

from __future__ import annotations

from pathlib import Path

from codemodkit.review import finish, plan
from codemodkit.runner import ChangeRecord, FileResult


def record(name: str, text: str, line: str) -> ChangeRecord:
    start = text.encode().index(line.encode())
    span = (start, start + len(line.encode()))
    number = text[: text.index(line)].count("\n") + 1
    return ChangeRecord(
        f"m.py::{name}::variable#1", "variable", number, span, "template", "template"
    )


def result(old: str, new: str, *records: ChangeRecord) -> FileResult:
    return FileResult(
        "m.py",
        Path("m.py"),
        "changed",
        new_data=new.encode(),
        old_text=old,
        new_text=new,
        changes=records,
    )


def test_a_partial_result_that_does_not_parse_is_not_written() -> None:
    old = "a = 1\n\nb = 2\n"
    new = "try:\n    a = 1\n\nfinally:\n    b = 2\n"
    change = plan(result(old, new, record("a", old, "a = 1"), record("b", old, "b = 2")))
    assert [g.label for g in change.groups] == ["variable a (line 1)", "variable b (line 3)"]
    assert finish(change, [0, 1]).new_data == new.encode()
    assert finish(change, []).status == "unchanged"
    partial = finish(change, [1])
    assert partial.status == "failed"
    assert partial.new_data is None
    assert partial.reason.startswith(
        "the accepted changes alone would not parse (line 3: invalid syntax)"
    )
    assert partial.reason.endswith("; not written")


def test_hunks_touching_two_constructs_make_one_change() -> None:
    old = "a = 1\nb = 2\n"
    new = "if on:\n    a = 1\n    b = 2\n"
    change = plan(result(old, new, record("a", old, "a = 1"), record("b", old, "b = 2")))
    assert len(change.groups) == 1
    assert change.groups[0].label == "variable a (line 1), variable b (line 2)"


def test_a_file_with_instrumentation_already_is_one_change() -> None:
    old = "import _codemod_tel\na = 1\n\nb = 2\n"
    new = "import _codemod_tel\na = 1\n_codemod_tel.var(a)\n\nb = 2\n_codemod_tel.var(b)\n"
    change = plan(result(old, new, record("a", old, "a = 1"), record("b", old, "b = 2")))
    assert len(change.groups) == 1
    assert change.groups[0].label.startswith("the whole file")
