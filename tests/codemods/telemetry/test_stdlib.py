"""Real code: a slice of the standard library, instrumented, re-run and removed.

``benchmarks/stdlib_roundtrip.py`` runs the same checks on every module.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from codemodkit.codemods.telemetry.python.codemod import instrument_text, strip_text
from codemodkit.parsers.python import PythonParseError

LIB = Path(os.__file__).parent
MODULES = sorted(p for p in LIB.rglob("*.py") if "site-packages" not in p.parts)[::25]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(LIB)))
def test_instrument_compile_rerun_remove(path: Path) -> None:
    try:
        text = path.read_bytes().decode("utf-8")
        instrumented = instrument_text(text, module=path.stem, relpath=path.name)
    except (UnicodeDecodeError, PythonParseError):
        pytest.skip("not valid Python 3 for this interpreter (test data)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compile(instrumented, str(path), "exec", dont_inherit=True)
    assert strip_text(instrumented) == text
    assert instrument_text(instrumented, module=path.stem, relpath=path.name) == instrumented
