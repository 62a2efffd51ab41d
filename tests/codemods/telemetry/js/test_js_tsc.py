"""Instrumented TypeScript type-checks like the original and its compiled output runs.

All TypeScript fixtures are compiled by one ``tsc`` per side (original, instrumented)
under ``strict`` plus ``noImplicitReturns``, ``noUnusedLocals`` and
friends, with declarations on. Each instrumented file imports the helper the way the
codemod's placement does in that project, which also writes the helpers. The
instrumented side must report no diagnostic the original does not, emit the same
``.d.ts`` files (so no inferred return type, type predicate or signature changed), and
its compiled JavaScript must log what the original's does - all of it in one Node
process - while the real helper's JSON lines hold exactly the calls, errors, loop runs
and samples V8 saw.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from js_support import NodeTools, run_tsc

from codemodkit.codemods.telemetry.js.codemod import helper_files, uses_esm_syntax
from codemodkit.codemods.telemetry.js.placement import JsPlacementResolver
from codemodkit.parsers.javascript import dialect_for, parse_js

from .drive import Driven, drive, expected, recorded

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
    # esnext.disposable: the types of `using` (Disposable, Symbol.dispose); tsc lowers
    # the declarations for es2022, so their compiled output runs on Node 20 too
    "lib": ["es2022", "esnext.disposable", "dom"],
    "types": [],  # the fixtures need nothing of @types/node
    "rootDir": ".",
    "outDir": "out",
}
_OUTPUT = {".ts": ".js", ".tsx": ".js", ".mts": ".mjs", ".cts": ".cjs"}
# The helper import of a fixture's output, swapped for what placement writes here.
_IMPORT = re.compile(
    r'^(?:import \* as _codemod_tel from "[^"]+";'
    r'|(?:const|import) _codemod_tel = require\("[^"]+"\);)',
    re.MULTILINE,
)


@dataclass
class Side:
    folder: Path
    diagnostics: list[str]


def _file(name: str) -> str:
    case, _, ext = name.partition(".input.")
    return f"{case}.{ext}"


def _compiled(folder: Path, name: str) -> Path:
    case, _, ext = name.partition(".input.")
    return folder / "out" / f"{case}{_OUTPUT['.' + ext]}"


def _layout(folder: Path, instrumented: bool) -> None:
    folder.mkdir()
    (folder / "package.json").write_text(json.dumps({"type": "module"}))
    (folder / "tsconfig.json").write_text(
        json.dumps({"compilerOptions": OPTIONS, "include": [f"*{s}" for s in SUFFIXES]})
    )
    resolver = JsPlacementResolver()
    for name in CASES:
        target = folder / _file(name)
        if not instrumented:
            shutil.copyfile(FIXTURES / name, target)
            continue
        original = (FIXTURES / name).read_text(encoding="utf-8")
        esm = uses_esm_syntax(parse_js(original, dialect_for(target.suffix)))
        placement = resolver.placement(target, folder, esm)
        output = (FIXTURES / name.replace(".input.", ".output.")).read_text(encoding="utf-8")
        text, swapped = _IMPORT.subn(placement.statement, output, count=1)
        assert swapped == 1, name
        target.write_text(text, encoding="utf-8")
        for helper in helper_files(placement):
            helper.path.write_bytes(helper.content)


def _compile(folder: Path, tools: NodeTools) -> Side:
    # One tsc per side, not one ``tsc -b`` for both: in a shared process the order of
    # union members in the emitted declarations can differ (``"yes" | 0``).
    done = run_tsc(folder, tools=tools)
    # file and code of each error (positions move with the instrumentation)
    found = re.findall(r"^(?:.*[/\\])?([^/\\(]+)\(\d+,\d+\): error (TS\d+)", done.stdout, re.M)
    return Side(folder, sorted(f"{file} {code}" for file, code in found))


@pytest.fixture(scope="module")
def sides(
    node_tools: NodeTools, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Side, Side, Driven]:
    top = tmp_path_factory.mktemp("tsc")
    folders = [top / "original", top / "instrumented"]
    for folder in folders:
        _layout(folder, folder.name == "instrumented")
    original, instrumented = (_compile(folder, node_tools) for folder in folders)
    files = [_compiled(folder, name) for name in CASES for folder in folders]
    return original, instrumented, drive(files, top, node_tools)


def test_originals_compile(sides: tuple[Side, Side, Driven]) -> None:
    assert sides[0].diagnostics == []


def test_no_new_diagnostics(sides: tuple[Side, Side, Driven]) -> None:
    original, instrumented, _ = sides
    assert instrumented.diagnostics == original.diagnostics


def test_helpers_as_placed(sides: tuple[Side, Side, Driven]) -> None:
    folder = sides[1].folder
    assert sorted(p.name for p in folder.glob("_telemetry_utils.*")) == [
        "_telemetry_utils.cts",  # legacy.cts: CommonJS in an ESM package
        "_telemetry_utils.ts",
    ]
    assert 'require("./_telemetry_utils.cjs")' in (folder / "legacy.cts").read_text()


@pytest.mark.parametrize("name", CASES)
def test_same_declarations(sides: tuple[Side, Side, Driven], name: str) -> None:
    case, _, ext = name.partition(".input.")
    declaration = f"{case}.d.{_OUTPUT['.' + ext][1:].replace('js', 'ts')}"
    original, instrumented = (side.folder / "out" / declaration for side in sides[:2])
    assert original.read_text() == instrumented.read_text()


@pytest.mark.parametrize("name", CASES)
def test_compiled_output_runs_the_same(sides: tuple[Side, Side, Driven], name: str) -> None:
    original, instrumented, driven = sides
    logs = driven.logs[str(_compiled(original.folder, name))]
    assert logs and not any(line.startswith("THROW") for line in logs)
    assert driven.logs[str(_compiled(instrumented.folder, name))] == logs


@pytest.mark.parametrize("name", CASES)
def test_the_helper_recorded_what_ran(sides: tuple[Side, Side, Driven], name: str) -> None:
    _, instrumented, driven = sides
    want = expected(driven.counts[str(_compiled(instrumented.folder, name))])
    assert any(key[0] == "calls" for key in want), "the fixture called no function"
    assert recorded(driven.lines, [_file(name)]) == want
