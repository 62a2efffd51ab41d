"""Original and instrumented JavaScript fixtures run under Node with equal results.

Every runnable fixture (``.js``, ``.mjs``, ``.cjs``, and ``.jsx`` compiled by the
pinned TypeScript) runs twice - as written and as instrumented in its ``.output`` file
- in a single Node process, each in a package whose ``type`` matches the module system
the codemod chose for it, beside the real helper of that flavor. What they log must be
identical, and the helper's JSON lines must hold, per site, exactly the calls, errors,
loop runs and variable samples that V8 saw the instrumented code report.
"""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path

import pytest
from js_support import NodeTools, run_node

from codemodkit.codemods.telemetry.js.runtime import helper_source

from .drive import Driven, drive, expected, recorded

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "js" / "telemetry"
CASES = sorted(
    p.name for p in FIXTURES.glob("*.input.*") if p.suffix in (".js", ".mjs", ".cjs", ".jsx")
)
# What the .jsx fixture imports (JSX itself goes through the driver's React stub).
H_MODULE = "export const h = (tag, props) => ({ tag, props });\n"
# Fixtures with syntax that not every supported Node runs: `using` needs Node 24.
NEEDS_USING = {"using.input.js"}


@cache
def _node_runs_using() -> bool:
    return run_node("{ using r = null; }", Path.cwd()).returncode == 0


def _module_system(name: str) -> str:
    output = (FIXTURES / name.replace(".input.", ".output.")).read_text(encoding="utf-8")
    return "esm" if "import * as _codemod_tel" in output else "cjs"


def _target(top: Path, variant: str, name: str) -> Path:
    case, _, ext = name.partition(".input.")
    return top / variant / _module_system(name) / f"{case}.{ext}"


@pytest.fixture(scope="module")
def runs(node_tools: NodeTools, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Driven]:
    top = tmp_path_factory.mktemp("node")
    files: list[Path] = []
    lower: list[Path] = []
    for variant in ("original", "instrumented"):
        for system in ("esm", "cjs"):
            folder = top / variant / system
            folder.mkdir(parents=True)
            kind = "module" if system == "esm" else "commonjs"
            (folder / "package.json").write_text(json.dumps({"type": kind}))
            if system == "esm":
                (folder / "h.js").write_text(H_MODULE)
            if variant == "instrumented":
                (folder / "_telemetry_utils.js").write_bytes(helper_source(system))  # type: ignore[arg-type]
    for name in CASES:
        for variant, source in (
            ("original", name),
            ("instrumented", name.replace(".input.", ".output.")),
        ):
            target = _target(top, variant, name)
            shutil.copyfile(FIXTURES / source, target)
            files.append(target)
            if name in NEEDS_USING and not _node_runs_using():
                lower.append(target)  # both sides, by TypeScript, to ES2022
    return top, drive(files, top, node_tools, lower=lower)


@pytest.mark.parametrize("name", CASES)
def test_same_results(runs: tuple[Path, Driven], name: str) -> None:
    top, driven = runs
    original = driven.logs[str(_target(top, "original", name))]
    assert original and not any(line.startswith("THROW") for line in original)
    assert driven.logs[str(_target(top, "instrumented", name))] == original


@pytest.mark.parametrize("name", CASES)
def test_the_helper_recorded_what_ran(runs: tuple[Path, Driven], name: str) -> None:
    top, driven = runs
    case, _, ext = name.partition(".input.")
    want = expected(driven.counts[str(_target(top, "instrumented", name))])
    assert any(key[0] == "calls" for key in want), "the fixture called no function"
    assert recorded(driven.lines, [f"{case}.{ext}"]) == want
