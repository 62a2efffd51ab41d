"""The helper placement rules, measured: small projects instrumented by the command, then
compiled by the pinned tsc and run by Node with the real helper.

Every project goes through one ``codemod telemetry`` run, the TypeScript ones through
one ``tsc -b``; then one Node process per project runs its entry points (see
``drive.py``), and one more runs those that involve CommonJS as Node before 20.19
would (``--no-experimental-require-module``: no ``require()`` of an ES module). Three
control projects, laid out by hand, show that the facts the rules rest on still hold:
an ES module helper fails under CommonJS ``verbatimModuleSyntax`` (TS1287), a ``.d.ts``
beside a ``.js`` reached only through imports keeps tsc from emitting the ``.js``, and
``require()`` of an ES module fails on an older Node. At the end ``--remove`` restores
every project.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import run_codemod
from js_support import NodeTools, run_tsc_build

from codemodkit.codemods.telemetry.js.runtime import Flavor, helper_source

from .drive import Driven, drive

#: Node as it was before 20.19: require() of an ES module throws ERR_REQUIRE_ESM
OLD_NODE = {"NODE_OPTIONS": "--no-experimental-require-module"}
# All the programs need of Node's types (no @types/node: parsing it costs seconds).
CONSOLE = "declare const console: { log(...data: unknown[]): void };\n"
OPTIONS: dict[str, Any] = {
    "strict": True,
    "noImplicitReturns": True,
    "noUnusedLocals": True,
    "noUnusedParameters": True,
    "target": "es2022",
    "lib": ["es2022"],
    "types": [],
    "skipDefaultLibCheck": True,
}

TOTAL_TS = """\
function total(values: readonly number[]): number {
  let sum = 0;
  for (const value of values) {
    sum += value;
  }
  const doubled = sum * 2;
  return doubled;
}
"""
TOTAL_JS = """\
/** @param {number[]} values */
export function total(values) {
  let sum = 0;
  for (const value of values) {
    sum += value;
  }
  return sum;
}
"""
NEXT_CJS = """\
/** @param {number} n */
function next(n) {
  return n + 1;
}
console.log(next(1));
module.exports = next;
"""
LEGACY_CTS = """\
function legacy(count: number): number {
  return count + 1;
}
console.log(legacy(1));
export = legacy;
"""
LABEL_MTS = """\
export const label = (text: string): string => `[${text}]`;
console.log(label("mts"));
"""


@dataclass(frozen=True)
class Run:
    main: str
    logs: str  # what it prints
    calls: Mapping[str, int]  # function name -> calls in the JSON lines
    old_node: bool = False  # also run it as Node before 20.19


@dataclass(frozen=True)
class Project:
    name: str
    package_type: str | None
    options: Mapping[str, Any] | None  # compilerOptions; None: plain JavaScript
    files: Mapping[str, str]
    helpers: Mapping[str, Flavor]  # every helper the command must write
    runs: tuple[Run, ...]
    include: tuple[str, ...] = ("src",)
    #: a line each of these files must hold after instrumenting
    imports: Mapping[str, str] = field(default_factory=dict)


PROJECTS = (
    Project(
        # `export` in a CommonJS file is TS1287 under verbatimModuleSyntax: "ts-cjs"
        "cjs-verbatim",
        None,
        {"module": "nodenext", "verbatimModuleSyntax": True, "rootDir": "src", "outDir": "dist"},
        {
            "src/lib.ts": TOTAL_TS + "const api = { total: total };\nexport = api;\n",
            "src/main.ts": (
                'import lib = require("./lib.js");\n\nconsole.log(lib.total([1, 2, 3]));\n'
            ),
            "src/label.mts": LABEL_MTS,
        },
        {"src/_telemetry_utils.ts": "ts-cjs", "src/_telemetry_utils.mts": "ts"},
        (
            Run("dist/main.js", "12\n", {"total": 1}, old_node=True),
            Run("dist/label.mjs", "[mts]\n", {"label": 1}),
        ),
        imports={
            "src/lib.ts": 'import _codemod_tel = require("./_telemetry_utils.js");',
            "src/label.mts": 'import * as _codemod_tel from "./_telemetry_utils.mjs";',
        },
    ),
    Project(
        "commonjs-verbatim",
        None,
        {"module": "commonjs", "verbatimModuleSyntax": True, "rootDir": "src", "outDir": "dist"},
        {"src/main.ts": TOTAL_TS + "console.log(total([4]));\n"},
        {"src/_telemetry_utils.ts": "ts-cjs"},
        (Run("dist/main.js", "8\n", {"total": 1}, old_node=True),),
    ),
    Project(
        # a .cts file in an ES module package gets a CommonJS helper of its own
        "cts-in-esm",
        "module",
        {"module": "nodenext", "verbatimModuleSyntax": True, "rootDir": "src", "outDir": "dist"},
        {
            "src/main.ts": "export " + TOTAL_TS + "console.log(total([1]));\n",
            "src/legacy.cts": LEGACY_CTS,
        },
        {"src/_telemetry_utils.ts": "ts", "src/_telemetry_utils.cts": "ts-cjs"},
        (
            Run("dist/main.js", "2\n", {"total": 1}),
            Run("dist/legacy.cjs", "2\n", {"legacy": 1}, old_node=True),
        ),
        imports={"src/legacy.cts": 'import _codemod_tel = require("./_telemetry_utils.cjs");'},
    ),
    Project(
        # allowJs with emit: the one .js helper serves JavaScript and TypeScript, and
        # tsc emits it; the .cjs file gets a .cjs helper
        "allowjs-emit",
        "module",
        {
            "module": "nodenext",
            "allowJs": True,
            "checkJs": True,
            "declaration": True,
            "rootDir": "src",
            "outDir": "dist",
        },
        {
            "src/a.js": TOTAL_JS,
            "src/b.ts": (
                'import { total } from "./a.js";\n\n'
                "export function report(values: number[]): string {\n"
                "  return `total ${total(values)}`;\n"
                "}\n"
                "console.log(report([1, 2]));\n"
            ),
            "src/c.cjs": NEXT_CJS,
        },
        {"src/_telemetry_utils.js": "esm", "src/_telemetry_utils.cjs": "cjs"},
        (
            Run("dist/b.js", "total 3\n", {"total": 1, "report": 1}),
            Run("dist/c.cjs", "2\n", {"next": 1}, old_node=True),
        ),
    ),
    Project(
        # allowJs, nothing emitted: the JavaScript runs as it is, checked by tsc
        "allowjs-noemit",
        "module",
        {"module": "nodenext", "allowJs": True, "checkJs": True, "noEmit": True},
        {
            "src/a.js": TOTAL_JS,
            "src/run.js": 'import { total } from "./a.js";\n\nconsole.log(total([5, 5]));\n',
            "src/check.ts": (
                'import { total } from "./a.js";\n\n'
                "export function twice(values: number[]): number {\n"
                "  return 2 * total(values);\n"
                "}\n"
            ),
        },
        {"src/_telemetry_utils.js": "esm"},
        (Run("src/run.js", "10\n", {"total": 1}),),
    ),
    Project(
        # declarations only, no rootDir and no TypeScript: the JavaScript runs as it
        # is, and the helper (in src/, tsc's root) leaves the layout of types/ alone
        "allowjs-declarations-only",
        None,
        {
            "module": "nodenext",
            "allowJs": True,
            "checkJs": True,
            "declaration": True,
            "emitDeclarationOnly": True,
            "outDir": "types",
        },
        {
            "src/a.js": "module.exports = { next: require('./lib/next.cjs') };\n",
            "src/lib/next.cjs": NEXT_CJS.replace("console.log(next(1));\n", ""),
            "src/run.js": "const a = require('./a.js');\n\nconsole.log(a.next(41));\n",
        },
        {"src/_telemetry_utils.js": "cjs"},
        (Run("src/run.js", "42\n", {"next": 1}),),
    ),
    Project(
        # a bundler's settings: ES modules whatever package.json says (no `import =
        # require`, TS1202 there); tsc only checks
        "bundler",
        None,
        {
            "module": "esnext",
            "moduleResolution": "bundler",
            "verbatimModuleSyntax": True,
            "noEmit": True,
        },
        {"src/main.ts": "export " + TOTAL_TS},
        {"src/_telemetry_utils.ts": "ts"},
        (),
        imports={"src/main.ts": 'import * as _codemod_tel from "./_telemetry_utils.js";'},
    ),
    Project(
        "plain-esm",
        "module",
        None,
        {"src/a.js": TOTAL_JS + "console.log(total([1, 1]));\n", "src/b.cjs": NEXT_CJS},
        {"src/_telemetry_utils.js": "esm", "src/_telemetry_utils.cjs": "cjs"},
        (
            Run("src/a.js", "2\n", {"total": 1}),
            Run("src/b.cjs", "2\n", {"next": 1}, old_node=True),
        ),
    ),
)
BY_NAME = {project.name: project for project in PROJECTS}


def _write(folder: Path, files: Mapping[str, str | bytes]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")


def _layout(
    folder: Path,
    package_type: str | None,
    options: Mapping[str, Any] | None,
    files: Mapping[str, str | bytes],
    include: tuple[str, ...] = ("src",),
) -> None:
    package: dict[str, Any] = {"private": True}
    if package_type:
        package["type"] = package_type
    tree: dict[str, str | bytes] = {"package.json": json.dumps(package), **files}
    if options is not None:
        config = {"compilerOptions": {**OPTIONS, **options}, "include": list(include)}
        tree["tsconfig.json"] = json.dumps(config, indent=2)
        tree["src/console.d.ts"] = CONSOLE
    _write(folder, tree)


def _controls(top: Path) -> list[Path]:
    """Projects laid out by hand, to show the facts behind the rules."""
    uses = 'import _codemod_tel = require("./_telemetry_utils.js");\n_codemod_tel.flush();\n'
    _layout(
        top / "esm-helper-under-cjs-verbatim",
        None,
        {"module": "nodenext", "verbatimModuleSyntax": True, "rootDir": "src", "outDir": "dist"},
        {"src/_telemetry_utils.ts": helper_source("ts"), "src/main.ts": uses},
    )
    main = 'import * as _codemod_tel from "./_telemetry_utils.js";\n_codemod_tel.flush();\n'
    for name, dts in (("dts-beside-js", True), ("js-alone", False)):
        files: dict[str, str | bytes] = {
            "src/_telemetry_utils.js": helper_source("esm"),
            "src/main.ts": main,
        }
        if dts:
            files["src/_telemetry_utils.d.ts"] = helper_source("dts")
        options = {"module": "nodenext", "allowJs": True, "rootDir": "src", "outDir": "dist"}
        # the helper is reached through the import only, as with `include: ["src/**/*.ts"]`
        _layout(top / name, "module", options, files, include=("src/**/*.ts",))
    _layout(
        top / "require-esm",
        "module",
        None,
        {
            "_telemetry_utils.js": helper_source("esm"),
            "old.cjs": uses.replace("import _codemod_tel =", "const _codemod_tel ="),
        },
    )
    return [top / name for name in ("esm-helper-under-cjs-verbatim", "dts-beside-js", "js-alone")]


@dataclass
class Built:
    root: Path
    controls: Path
    instrumented: dict[str, dict[str, bytes]]  # project -> its files after the command
    tsc: str  # everything tsc -b said
    runs: dict[str, Driven]  # by project
    old_node: Driven  # every run marked old_node, and the control
    remove_status: int
    restored: dict[str, bool]


def _sources(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file()
        and p.relative_to(folder).parts[0] not in ("dist", "types")
        and not p.name.endswith((".jsonl", ".tsbuildinfo"))
    }


@pytest.fixture(scope="module")
def built(node_tools: NodeTools, tmp_path_factory: pytest.TempPathFactory) -> Built:
    top = tmp_path_factory.mktemp("projects")
    root, controls = top / "projects", top / "controls"
    for project in PROJECTS:
        _layout(root / project.name, project.package_type, project.options, project.files)
    before = {project.name: _sources(root / project.name) for project in PROJECTS}
    done = run_codemod("telemetry", str(root))
    assert done.returncode == 0, done.stdout + done.stderr
    instrumented = {project.name: _sources(root / project.name) for project in PROJECTS}
    typescript = [root / p.name for p in PROJECTS if p.options is not None]
    compiled = run_tsc_build([*typescript, *_controls(controls)], node_tools)
    runs = {
        p.name: drive([root / p.name / r.main for r in p.runs], root / p.name, node_tools)
        for p in PROJECTS
        if p.runs
    }
    old = [root / p.name / r.main for p in PROJECTS for r in p.runs if r.old_node]
    old_node = drive([*old, controls / "require-esm" / "old.cjs"], top, node_tools, OLD_NODE)
    removed = run_codemod("telemetry", "--remove", str(root))
    restored = {p.name: _sources(root / p.name) == before[p.name] for p in PROJECTS}
    return Built(
        root,
        controls,
        instrumented,
        compiled.stdout + compiled.stderr,
        runs,
        old_node,
        removed.returncode,
        restored,
    )


def _diagnostics(built: Built, name: str) -> list[str]:
    # paths are relative to the first project's parent: "name/src/..", "../controls/name/.."
    return [line for line in built.tsc.splitlines() if re.match(rf"(.*/)?{name}/", line)]


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_helpers_as_placed(built: Built, project: Project) -> None:
    files = built.instrumented[project.name]
    helpers = [name for name in files if "_telemetry_utils." in name]
    assert sorted(helpers) == sorted(project.helpers)
    for name, flavor in project.helpers.items():
        assert files[name] == helper_source(flavor), (name, flavor)
    for name, statement in project.imports.items():
        assert statement in files[name].decode(), files[name].decode()


@pytest.mark.parametrize(
    "project", [p for p in PROJECTS if p.options is not None], ids=lambda p: p.name
)
def test_compiles_cleanly(built: Built, project: Project) -> None:
    assert _diagnostics(built, project.name) == []


@pytest.mark.parametrize("project", [p for p in PROJECTS if p.runs], ids=lambda p: p.name)
def test_runs_and_records(built: Built, project: Project) -> None:
    driven = built.runs[project.name]
    for run in project.runs:
        assert driven.logs[str(built.root / project.name / run.main)] == run.logs.splitlines()
    calls: dict[str, int] = {}
    for line in driven.lines:
        assert line["type"] != "function" or line["errors"] == 0, line
        if line["type"] == "function":
            calls[line["name"]] = calls.get(line["name"], 0) + line["calls"]
    assert calls == {name: n for run in project.runs for name, n in run.calls.items()}


@pytest.mark.parametrize(
    ("project", "run"),
    [(p, r) for p in PROJECTS for r in p.runs if r.old_node],
    ids=lambda v: v.name if isinstance(v, Project) else v.main,
)
def test_runs_on_node_before_20_19(built: Built, project: Project, run: Run) -> None:
    logs = built.old_node.logs[str(built.root / project.name / run.main)]
    assert logs == run.logs.splitlines()


def test_declarations_only_keeps_the_layout(built: Built) -> None:
    types = built.root / "allowjs-declarations-only" / "types"
    assert (types / "a.d.ts").is_file() and (types / "lib" / "next.d.cts").is_file()


def test_remove_restores_every_project(built: Built) -> None:
    assert built.remove_status == 0
    assert built.restored == {project.name: True for project in PROJECTS}


# -- the facts behind the rules ---------------------------------------------------------
def test_fact_esm_helper_fails_under_commonjs_verbatim(built: Built) -> None:
    found = _diagnostics(built, "esm-helper-under-cjs-verbatim")
    assert found and all("error TS1287" in line for line in found), found


def test_fact_a_dts_keeps_tsc_from_emitting_the_js(built: Built) -> None:
    assert not (built.controls / "dts-beside-js" / "dist" / "_telemetry_utils.js").exists()
    assert (built.controls / "js-alone" / "dist" / "_telemetry_utils.js").is_file()
    assert _diagnostics(built, "dts-beside-js") == _diagnostics(built, "js-alone") == []


def test_fact_old_node_cannot_require_an_es_module(built: Built) -> None:
    (line,) = built.old_node.logs[str(built.controls / "require-esm" / "old.cjs")]
    assert line.startswith("THROW Error: require() of ES Module"), line
