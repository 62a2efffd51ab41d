"""Instrumented TypeScript type-checks like the original and its compiled output runs.

All TypeScript fixtures are compiled by one ``tsc`` per side (original, instrumented)
under ``strict`` plus ``noImplicitReturns``, ``noUnusedLocals`` and friends, with
declarations on. The instrumented side must report no diagnostic the original does
not, emit the same ``.d.ts`` files (so no inferred return type, type predicate or
signature changed), and its compiled JavaScript must log what the original's does.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from codemodkit.codemods.telemetry.js.runtime import helper_source

from .node_support import run_node, run_tsc

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "js" / "telemetry"
SUFFIXES = (".ts", ".tsx", ".mts", ".cts")
CASES = sorted(p.name for p in FIXTURES.glob("*.input.*") if p.suffix in SUFFIXES)
OPTIONS = {
    "strict": True,
    "noImplicitReturns": True,
    "noUnusedLocals": True,
    "noUnusedParameters": True,
    "noFallthroughCasesInSwitch": True,
    "noImplicitOverride": True,
    "noUncheckedIndexedAccess": True,
    "exactOptionalPropertyTypes": True,
    "allowUnreachableCode": False,
    "declaration": True,
    "target": "es2022",
    "module": "nodenext",
    "moduleResolution": "nodenext",
    "jsx": "react",
    "lib": ["es2022", "dom"],
    "rootDir": ".",
    "outDir": "out",
}
_OUTPUT = {".ts": ".js", ".tsx": ".js", ".mts": ".mjs", ".cts": ".cjs"}


@dataclass
class Side:
    folder: Path
    diagnostics: list[str]


def _side(top: Path, variant: str) -> Side:
    folder = top / variant
    folder.mkdir()
    (folder / "package.json").write_text(json.dumps({"type": "module"}))
    (folder / "tsconfig.json").write_text(
        json.dumps({"compilerOptions": OPTIONS, "include": [f"*{s}" for s in SUFFIXES]})
    )
    for name in CASES:
        case, _, ext = name.partition(".input.")
        source = name if variant == "original" else name.replace(".input.", ".output.")
        shutil.copyfile(FIXTURES / source, folder / f"{case}.{ext}")
    if variant == "instrumented":
        (folder / "_telemetry_utils.ts").write_bytes(helper_source("ts"))
    done = run_tsc(folder)
    # file and code of each error (positions move with the instrumentation)
    found = re.findall(r"^(?:.*[/\\])?([^/\\(]+)\(\d+,\d+\): error (TS\d+)", done.stdout, re.M)
    return Side(folder, sorted(f"{file} {code}" for file, code in found))


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Side, Side]]:
    top = tmp_path_factory.mktemp("tsc")
    yield _side(top, "original"), _side(top, "instrumented")


def test_originals_compile(sides: tuple[Side, Side]) -> None:
    assert sides[0].diagnostics == []


def test_no_new_diagnostics(sides: tuple[Side, Side]) -> None:
    original, instrumented = sides
    assert instrumented.diagnostics == original.diagnostics


@pytest.mark.parametrize("name", CASES)
def test_same_declarations(sides: tuple[Side, Side], name: str) -> None:
    case, _, ext = name.partition(".input.")
    declaration = f"{case}.d.{_OUTPUT['.' + ext][1:].replace('js', 'ts')}"
    original, instrumented = (side.folder / "out" / declaration for side in sides)
    assert original.read_text() == instrumented.read_text()


@pytest.mark.parametrize("name", CASES)
def test_compiled_output_runs_the_same(sides: tuple[Side, Side], name: str) -> None:
    case, _, ext = name.partition(".input.")
    compiled = [side.folder / "out" / f"{case}{_OUTPUT['.' + ext]}" for side in sides]
    runs = run_node(compiled, sides[0].folder.parent)
    original, instrumented = (runs[str(path)] for path in compiled)
    assert isinstance(original, list) and original
    assert not any(line.startswith("THROW") for line in original)
    assert instrumented == original
    telemetry = runs["__telemetry__"]
    assert isinstance(telemetry, dict)
    assert any(site.startswith(f"{case}.{ext}:") for site in telemetry["enter"])
