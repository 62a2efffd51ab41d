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

A second part instruments one small project per ``module`` setting (``commonjs``,
``node16``/``nodenext``, ``es2015``...``esnext``, ``preserve``, ``amd``/``umd``/``system``,
``none``; with and without ``verbatimModuleSyntax``) holding a ``.ts``, a ``.cts`` and
a ``.mts`` file with the real command, compiles them beside their originals in one
``tsc -b``, and runs the output that Node can run.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import run_codemod
from js_support import NodeTools, link_node_modules, run_tsc, run_tsc_build

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


# -- .cts and .mts files under every `module` setting ------------------------------------
# One small project per setting, instrumented by the command, then compiled (originals
# and instrumented copies together) by one `tsc -b`: tsc emits a .cts file as CommonJS
# under an ES `module` too, but `import x = require()` is TS1202 there, `import` is
# TS1286 there under verbatimModuleSyntax, and `preserve` emits `export` into a .cjs.
MAIN_TS = """\
function total(values: readonly number[]): number {
  let sum = 0;
  for (const value of values) {
    sum += value;
  }
  return sum;
}
console.log(total([1, 2, 3]));
"""
LEGACY_CTS = """\
function legacy(count: number): number {
  const next = count + 1;
  return next;
}
console.log(legacy(1));
"""
LABEL_MTS = """\
export const label = (text: string): string => `[${text}]`;
console.log(label("mts"));
"""
SETTING_OPTIONS = {
    "strict": True,
    "noImplicitReturns": True,
    "noUnusedLocals": True,
    "noUnusedParameters": True,
    "declaration": True,
    "target": "es2022",
    "lib": ["es2022"],
    "types": [],
    "skipDefaultLibCheck": True,  # a second or so per project
    "rootDir": "src",
    "outDir": "dist",
}
CONSOLE = "declare const console: { log(...data: unknown[]): void };\n"
LOGS = {"dist/main.js": ["6"], "dist/legacy.cjs": ["2"], "dist/label.mjs": ["[mts]"]}
CALLS = {"dist/main.js": "total", "dist/legacy.cjs": "legacy", "dist/label.mjs": "label"}
ALL_RUN = tuple(LOGS)


def _require(spec: str) -> str:
    return f'import _codemod_tel = require("{spec}");'


@dataclass(frozen=True)
class Setting:
    id: str
    options: dict[str, object]
    package_type: str | None
    #: the line legacy.cts imports the helper with; None: the file is skipped
    cts_import: str | None
    #: compiled files that Node runs (as it runs the original's)
    runs: tuple[str, ...] = ALL_RUN
    node_types: bool = False
    #: main.ts is CommonJS under verbatimModuleSyntax, where `export` is TS1287
    cjs_verbatim: bool = False


SETTINGS = (
    Setting("commonjs", {"module": "commonjs"}, None, _require("./_telemetry_utils.js")),
    Setting(
        "commonjs-verbatim",
        {"module": "commonjs", "verbatimModuleSyntax": True},
        None,
        _require("./_telemetry_utils.js"),
        cjs_verbatim=True,
    ),
    Setting("node16", {"module": "node16"}, "module", _require("./_telemetry_utils.cjs")),
    Setting(
        "nodenext-verbatim",
        {"module": "nodenext", "verbatimModuleSyntax": True},
        None,
        _require("./_telemetry_utils.js"),
        cjs_verbatim=True,
    ),
    Setting(
        "es2015",
        {"module": "es2015"},
        "module",
        'import * as _codemod_tel from "./_telemetry_utils.cjs";',
    ),
    Setting(
        "es2020-bundler",
        {"module": "es2020", "moduleResolution": "bundler"},
        "module",
        'import * as _codemod_tel from "./_telemetry_utils.cjs";',
    ),
    Setting(
        "esnext",
        {"module": "esnext"},
        "module",
        'import * as _codemod_tel from "./_telemetry_utils.cjs";',
    ),
    Setting(
        # only require() is left, declared by Node's types
        "es2022-verbatim-node-types",
        {
            "module": "es2022",
            "moduleResolution": "bundler",
            "verbatimModuleSyntax": True,
            "types": ["node"],
        },
        "module",
        'const _codemod_tel: typeof import("./_telemetry_utils.cjs")'
        ' = require("./_telemetry_utils.cjs");',
        node_types=True,
    ),
    Setting(
        # no form is left: legacy.cts is skipped (and still runs)
        "esnext-bundler-verbatim",
        {"module": "esnext", "moduleResolution": "bundler", "verbatimModuleSyntax": True},
        "module",
        None,
    ),
    Setting("preserve", {"module": "preserve"}, "module", _require("./_telemetry_utils.cjs")),
    Setting(
        "preserve-verbatim",
        {"module": "preserve", "verbatimModuleSyntax": True},
        "module",
        _require("./_telemetry_utils.cjs"),
    ),
    # AMD and System output needs a loader; UMD's runs as CommonJS (not in a .mjs)
    Setting("amd", {"module": "amd"}, None, _require("./_telemetry_utils.js"), runs=()),
    Setting(
        "umd",
        {"module": "umd"},
        None,
        _require("./_telemetry_utils.js"),
        runs=("dist/main.js", "dist/legacy.cjs"),
    ),
    Setting("system", {"module": "system"}, None, _require("./_telemetry_utils.js"), runs=()),
    # tsc emits CommonJS under `none`, into the .mjs too (which then fails as it did)
    Setting(
        "none",
        {"module": "none"},
        None,
        _require("./_telemetry_utils.cjs"),
        runs=("dist/main.js", "dist/legacy.cjs"),
    ),
)


def _setting_files(setting: Setting) -> dict[str, str]:
    # `export =` is TS1218 under System
    legacy = LEGACY_CTS + ("" if setting.id == "system" else "export = legacy;\n")
    main = MAIN_TS + ("export = total;\n" if setting.cjs_verbatim else "export { total };\n")
    files = {"src/main.ts": main, "src/legacy.cts": legacy, "src/label.mts": LABEL_MTS}
    if not setting.node_types:  # @types/node declares console itself
        files["src/console.d.ts"] = CONSOLE
    package: dict[str, object] = {"private": True}
    if setting.package_type:
        package["type"] = setting.package_type
    config = {"compilerOptions": {**SETTING_OPTIONS, **setting.options}, "include": ["src"]}
    files["package.json"] = json.dumps(package)
    files["tsconfig.json"] = json.dumps(config, indent=2)
    return files


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and p.relative_to(folder).parts[0] not in ("dist", "node_modules")
        and p.suffix != ".tsbuildinfo"
    }


@dataclass
class Settings:
    top: Path
    command: str  # what the command printed
    instrumented: dict[str, dict[str, bytes]]  # by setting: its sources after the command
    second_run: dict[str, dict[str, bytes]]  # the same after running it again
    diagnostics: dict[tuple[str, str], list[str]]  # (side, setting) -> "file TScode"
    original_runs: Driven
    runs: dict[str, Driven]  # by setting, instrumented
    restored: dict[str, bool]


@pytest.fixture(scope="module")
def settings_built(node_tools: NodeTools, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    top = tmp_path_factory.mktemp("module-settings")
    for side in ("original", "instrumented"):
        for setting in SETTINGS:
            folder = top / side / setting.id
            for name, text in _setting_files(setting).items():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_text(text, encoding="utf-8")
            if setting.node_types:
                link_node_modules(folder, node_tools)
    before = {s.id: _tree(top / "original" / s.id) for s in SETTINGS}
    done = run_codemod("telemetry", str(top / "instrumented"))
    assert done.returncode == 0, done.stdout + done.stderr
    instrumented = {s.id: _tree(top / "instrumented" / s.id) for s in SETTINGS}
    again = run_codemod("telemetry", str(top / "instrumented"))
    assert again.returncode == 0, again.stdout + again.stderr
    second = {s.id: _tree(top / "instrumented" / s.id) for s in SETTINGS}
    folders = [top / side / s.id for side in ("original", "instrumented") for s in SETTINGS]
    compiled = run_tsc_build(folders, node_tools)
    diagnostics: dict[tuple[str, str], list[str]] = {
        (side, s.id): [] for side in ("original", "instrumented") for s in SETTINGS
    }
    # paths are relative to original/: "<setting>/src/..", "../instrumented/<setting>/.."
    pattern = r"^(\.\./instrumented/)?([^/]+)/(?:.*/)?([^/(]+)\(\d+,\d+\): error (TS\d+)"
    for line in (compiled.stdout + compiled.stderr).splitlines():
        found = re.match(pattern, line)
        if found:
            side = "instrumented" if found.group(1) else "original"
            diagnostics[(side, found.group(2))].append(f"{found.group(3)} {found.group(4)}")
        elif "error TS" in line:
            pytest.fail(f"unexpected tsc output: {line}")
    originals = [top / "original" / s.id / run for s in SETTINGS for run in s.runs]
    original_runs = drive(originals, top, node_tools)
    runs = {
        s.id: drive([top / "instrumented" / s.id / run for run in s.runs], top, node_tools)
        for s in SETTINGS
        if s.runs
    }
    removed = run_codemod("telemetry", "--remove", str(top / "instrumented"))
    assert removed.returncode == 0, removed.stdout + removed.stderr
    restored = {s.id: _tree(top / "instrumented" / s.id) == before[s.id] for s in SETTINGS}
    return Settings(
        top,
        done.stdout + done.stderr,
        instrumented,
        second,
        diagnostics,
        original_runs,
        runs,
        restored,
    )


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.id)
def test_cts_imports_as_its_module_setting_allows(
    settings_built: Settings, setting: Setting
) -> None:
    files = settings_built.instrumented[setting.id]
    legacy = files["src/legacy.cts"].decode()
    if setting.cts_import is None:
        assert legacy == _setting_files(setting)["src/legacy.cts"]
        assert "src/legacy.cts: a .cts file under an ES `module`" in settings_built.command
        assert "@types/node" in settings_built.command
    else:
        assert legacy.startswith(setting.cts_import + " "), legacy
    # the .mts and .ts files are instrumented under every setting
    assert "_codemod_tel" in files["src/label.mts"].decode()
    assert "_codemod_tel" in files["src/main.ts"].decode()


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.id)
def test_module_settings_type_check_as_before(settings_built: Settings, setting: Setting) -> None:
    original = settings_built.diagnostics[("original", setting.id)]
    assert original == []
    assert settings_built.diagnostics[("instrumented", setting.id)] == original


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.runs], ids=lambda s: s.id)
def test_module_settings_run_as_before(settings_built: Settings, setting: Setting) -> None:
    top = settings_built.top
    driven = settings_built.runs[setting.id]
    calls: dict[str, int] = {}
    for line in driven.lines:
        if line["type"] == "function":
            calls[line["name"]] = calls.get(line["name"], 0) + line["calls"]
    for run in setting.runs:
        logs = settings_built.original_runs.logs[str(top / "original" / setting.id / run)]
        assert logs == LOGS[run]
        assert driven.logs[str(top / "instrumented" / setting.id / run)] == logs
        skipped = run == "dist/legacy.cjs" and setting.cts_import is None
        assert calls.get(CALLS[run]) == (None if skipped else 1), (run, calls)


def test_module_settings_idempotent_and_removable(settings_built: Settings) -> None:
    assert settings_built.second_run == settings_built.instrumented
    assert settings_built.restored == {s.id: True for s in SETTINGS}
