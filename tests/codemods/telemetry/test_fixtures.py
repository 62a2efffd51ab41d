"""Fixture pairs: ``fixtures/python/telemetry/<case>.input.py`` -> ``<case>.output.py``.

One line of test per case, as in jscodeshift's ``__testfixtures__``. After an
intended change to the output, regenerate with ``UPDATE_FIXTURES=1 pytest`` and
review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codemodkit.codemods.telemetry.python.codemod import instrument_text, strip_text

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "python" / "telemetry"
CASES = sorted(p.name.removesuffix(".input.py") for p in FIXTURES.glob("*.input.py"))


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def _instrument(name: str, source: str) -> str:
    return instrument_text(source, module=name, relpath=f"{name}.py")


@pytest.mark.parametrize("name", CASES)
def test_output_matches_fixture(name: str) -> None:
    source = _read(FIXTURES / f"{name}.input.py")
    produced = _instrument(name, source)
    expected_path = FIXTURES / f"{name}.output.py"
    if os.environ.get("UPDATE_FIXTURES"):
        expected_path.write_bytes(produced.encode("utf-8"))
    assert produced == _read(expected_path)


@pytest.mark.parametrize("name", CASES)
def test_output_is_valid_python(name: str) -> None:
    compile(_read(FIXTURES / f"{name}.output.py"), f"{name}.output.py", "exec")


@pytest.mark.parametrize("name", CASES)
def test_remove_restores_the_input(name: str) -> None:
    assert strip_text(_read(FIXTURES / f"{name}.output.py")) == _read(FIXTURES / f"{name}.input.py")


@pytest.mark.parametrize("name", CASES)
def test_second_run_changes_nothing(name: str) -> None:
    output = _read(FIXTURES / f"{name}.output.py")
    assert _instrument(name, output) == output


def _crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def _no_final_newline(text: str) -> str:
    return text.rstrip("\n")


@pytest.mark.parametrize("variant", [_crlf, _no_final_newline], ids=["crlf", "no-final-newline"])
@pytest.mark.parametrize("name", CASES)
def test_line_endings_survive(name: str, variant: object) -> None:
    assert callable(variant)
    source = variant(_read(FIXTURES / f"{name}.input.py"))
    produced = _instrument(name, source)
    compile(produced, name, "exec")
    assert strip_text(produced) == source
    assert _instrument(name, produced) == produced
    if source.endswith("\r\n"):
        assert "\n" not in produced.replace("\r\n", "")
    if not source.endswith("\n"):
        assert not produced.endswith("\n")
