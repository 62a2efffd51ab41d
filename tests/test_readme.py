"""The README shows what the tool really writes."""

from __future__ import annotations

import re
from pathlib import Path

from codemodkit.codemods.telemetry.python.codemod import instrument_text, strip_text
from codemodkit.codemods.telemetry.python.layout import import_block

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def python_block(after: str) -> str:
    start = README.index(after)
    match = re.compile(r"```python\n(.*?)```", re.DOTALL).search(README, start)
    assert match is not None
    return match.group(1)


def test_the_instrumented_example_is_real_output() -> None:
    example = python_block("What instrumented code looks like:")
    original = strip_text(example)
    assert "_codemod" not in original
    # The example's site keys name line 13 for the def: put it there.
    line = int(re.search(r":(\d+):shop\.pricing\.total_value\"", example).group(1))  # type: ignore[union-attr]
    padded = "#\n" * (line - 1) + original
    produced = instrument_text(padded, module="shop.pricing", relpath="src/shop/pricing.py")
    assert produced.endswith(example)


def test_the_import_block_is_the_one_written() -> None:
    assert python_block("The import block is the same everywhere:") == import_block(
        ".", "    ", "\n"
    )


def test_the_javascript_example_is_real_output() -> None:
    from codemodkit.codemods.telemetry.js.codemod import instrument_text as instrument_js
    from codemodkit.codemods.telemetry.js.codemod import strip_text as strip_js

    start = README.index("### JavaScript and TypeScript")
    match = re.compile(r"```js\n(.*?)```", re.DOTALL).search(README, start)
    assert match is not None
    example = match.group(1)
    original = strip_js(example)
    assert "_codemod" not in original
    line = int(re.search(r':(\d+):add"', example).group(1))  # type: ignore[union-attr]
    padded = "//\n" * (line - 1) + original
    assert instrument_js(padded, relpath="src/a.js").endswith(example)
