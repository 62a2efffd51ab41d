"""Fixture pairs: ``fixtures/js/telemetry/<case>.input.<ext>`` -> ``<case>.output.<ext>``.

One line of test per case, as in jscodeshift's ``__testfixtures__``. After an
intended change to the output, regenerate with ``UPDATE_FIXTURES=1 pytest`` and
review the diff. ``test_js_node.py`` and ``test_js_tsc.py`` run the pairs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codemodkit.codemods.telemetry.js.codemod import instrument_text, skipped_notes, strip_text
from codemodkit.codemods.telemetry.js.layout import IMPORT_COMMENT
from codemodkit.parsers.javascript import dialect_for, parse_js

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "js" / "telemetry"
CASES = sorted(p.name for p in FIXTURES.glob("*.input.*"))


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def _output(name: str) -> Path:
    return FIXTURES / name.replace(".input.", ".output.")


def _instrument(name: str, source: str) -> str:
    case, _, ext = name.partition(".input.")
    return instrument_text(source, relpath=f"{case}.{ext}")


def _suffix(name: str) -> str:
    return "." + name.rsplit(".", 1)[1]


@pytest.mark.parametrize("name", CASES)
def test_output_matches_fixture(name: str) -> None:
    produced = _instrument(name, _read(FIXTURES / name))
    if os.environ.get("UPDATE_FIXTURES"):
        _output(name).write_bytes(produced.encode("utf-8"))
    assert produced == _read(_output(name))


@pytest.mark.parametrize("name", CASES)
def test_output_parses(name: str) -> None:
    parse_js(_read(_output(name)), dialect_for(_suffix(name)))


@pytest.mark.parametrize("name", CASES)
def test_remove_restores_the_input(name: str) -> None:
    restored = strip_text(_read(_output(name)), _suffix(name))
    assert restored == _read(FIXTURES / name)


@pytest.mark.parametrize("name", CASES)
def test_second_run_changes_nothing(name: str) -> None:
    output = _read(_output(name))
    assert _instrument(name, output) == output


def _crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def _no_final_newline(text: str) -> str:
    return text.rstrip("\n")


def _tabs(text: str) -> str:
    return "\n".join(
        "\t" * ((len(line) - len(line.lstrip(" "))) // 2) + line.lstrip(" ")
        for line in text.split("\n")
    )


@pytest.mark.parametrize(
    "variant", [_crlf, _no_final_newline, _tabs], ids=["crlf", "no-final-newline", "tabs"]
)
@pytest.mark.parametrize("name", CASES)
def test_line_endings_and_indentation_survive(name: str, variant: object) -> None:
    assert callable(variant)
    source = variant(_read(FIXTURES / name))
    produced = _instrument(name, source)
    parse_js(produced, dialect_for(_suffix(name)))
    assert strip_text(produced, _suffix(name)) == source
    assert _instrument(name, produced) == produced
    if source.endswith("\r\n"):
        assert "\n" not in produced.replace("\r\n", "")
    if not source.endswith("\n"):
        assert not produced.endswith("\n")


def test_skip_reasons() -> None:
    notes = dict(skipped_notes(_read(FIXTURES / "skipped.input.js"), "skipped.js"))
    for line in (2, 10, 16):  # var, second declaration, parameter of the same name
        assert "redeclaration" in notes[line]
    for line in (18, 21, 23, 29):
        assert notes[line] == "empty body"
    assert notes[26] == "loop shares its line with other code"
    assert not any("brace-less" in reason for reason in notes.values())


def test_skip_reasons_typescript() -> None:
    notes = skipped_notes(_read(FIXTURES / "declarations.input.ts"), "declarations.ts")
    reasons = [reason for _, reason in notes]
    assert reasons.count("interface: types only") == 1
    assert reasons.count("declare: an ambient declaration, nothing runs") == 3
    assert reasons.count("abstract method (no body)") == 2
    assert reasons.count("overload signature (no body)") == 2


def test_class_skip_reasons() -> None:
    notes = dict(skipped_notes(_read(FIXTURES / "classes.input.js"), "classes.js"))
    assert notes == {
        50: "loop in a class static block",
        55: "nothing after super()",
        61: "derived constructor without a root-level super() call",
    }


IMPORT = f'const _codemod_tel = require("./_telemetry_utils.js"); {IMPORT_COMMENT}'
FUNCTION = "function f(n) {\n  return n;\n}\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # a header comment with a blank line: the import goes below it
        ("// Tools.\n\n", "// Tools.\n\nIMPORT\n"),
        # a comment on the line above, no blank: still the file's header
        ("// Tools.\n", "// Tools.\nIMPORT\n"),
        # a JSDoc block is the function's (its type, in checked JavaScript)
        ("/** @param {number} n */\n", "IMPORT\n/** @param {number} n */\n"),
        ("// Tools.\n/**\n * Doc.\n */\n", "// Tools.\nIMPORT\n/**\n * Doc.\n */\n"),
        # a next-line directive keeps its line, and the comments between go with it
        (
            "// @ts-expect-error: untyped\n// why\n",
            "IMPORT\n// @ts-expect-error: untyped\n// why\n",
        ),
        ("// eslint-disable-next-line\n", "IMPORT\n// eslint-disable-next-line\n"),
        # pragmas must lead the file
        (
            "// @ts-check\n/** @param {number} n */\n",
            "// @ts-check\nIMPORT\n/** @param {number} n */\n",
        ),
        ('"use strict";\n/** Doc. */\n', '"use strict";\nIMPORT\n/** Doc. */\n'),
        # a JSDoc block separated by a blank line documents nothing below
        ("/** File. */\n\n", "/** File. */\n\nIMPORT\n"),
    ],
)
def test_import_keeps_comments_with_their_statement(before: str, after: str) -> None:
    produced = instrument_text(before + FUNCTION, module="cjs")
    head = produced[: produced.index("function f")]
    assert head.replace(IMPORT, "IMPORT") == after
    assert strip_text(produced) == before + FUNCTION
