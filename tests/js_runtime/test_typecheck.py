"""The TypeScript flavours type-check wherever a project does, with zero diagnostics.

``test_scenario`` compiles and runs the helper under the usual module settings without
``node_modules`` (no ``@types/node``, no ``@opentelemetry/api``). This adds what it does
not cover, in one ``tsc -b``:

* lib ES5 (``module: commonjs`` without a ``target``: no ``Set``, no ``Symbol``), whose
  compiled output must also run;
* the ``.d.ts`` checked itself (no ``skipLibCheck``), for the ES module helper and for
  the CommonJS one imported with ``import x = require()``;
* the pinned ``node_modules`` present - ``@types/node`` (whose global ``require`` the
  helper's own declaration shadows), the DOM library, ``@opentelemetry/api``.

Instrumented code is written as the instrumenter writes it; a ``@ts-expect-error`` line
proves the declarations are real types, not ``any``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from js_support import NodeTools, link_node_modules, run_node, run_tsc_build

from codemodkit.codemods.telemetry.js.runtime import Flavor, helper_source

from .scenario import STRICT_FLAGS, read_lines, write_package, write_tsconfig

SITE = "src/user.ts:3:add|sum"
BODY = f"""\
function add(a: number, b: number): number {{
  const _codemod_t = _codemod_tel.on && _codemod_tel.enter("{SITE}");
  try {{
    const total = a + b;
    _codemod_tel.on &&
      !_codemod_tel.sampled.has("src/user.ts:5:add:total") &&
      _codemod_tel.value("src/user.ts:5:add:total", total);
    let n = 0;
    for (let i = 0; i < total; i++) {{
      n++;
    }}
    _codemod_tel.on && _codemod_tel.loop("src/user.ts:9:add", n);
    _codemod_tel.on && _codemod_tel.value("src/user.ts:13:add:a", _codemod_tel.attr(a, "x.y"));
    return total;
  }} catch (_codemod_e) {{
    _codemod_t && _codemod_tel.error("{SITE}", _codemod_t, _codemod_e);
    throw _codemod_e;
  }} finally {{
    _codemod_t && _codemod_tel.leave("{SITE}", _codemod_t);
  }}
}}

function check(): void {{
  // @ts-expect-error: a site is a string
  _codemod_tel.enter(1);
  _codemod_tel.flush();
}}

add(2, 3);
"""
ESM_USER = 'import * as _codemod_tel from "./_telemetry_utils.js";\n\n' + BODY.replace(
    "function add", "export function add"
).replace("function check", "export function check")
REQUIRE_USER = (
    'import _codemod_tel = require("./_telemetry_utils.js");\n\n'
    + BODY
    + "\nconst api: { add: typeof add; check: typeof check } = { add: add, check: check };\n"
    + "export = api;\n"
)


@dataclass(frozen=True)
class Project:
    name: str
    package_type: str | None
    helper: tuple[Flavor, ...]  # "dts" goes beside a JavaScript flavour
    user: str
    options: Mapping[str, Any]
    node_modules: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)  # more files in src/


def _options(**options: Any) -> dict[str, Any]:
    return {**STRICT_FLAGS, "skipDefaultLibCheck": True, **options}


ESM_STRICT = _options(
    module="nodenext",
    verbatimModuleSyntax=True,
    isolatedDeclarations=True,
    erasableSyntaxOnly=True,
)
# .mts/.cts files: the helper as _telemetry_utils.mts and .cts, imported as .mjs/.cjs
EXTENSIONS = {
    "_telemetry_utils.mts": helper_source("ts").decode(),
    "_telemetry_utils.cts": helper_source("ts").decode(),
    "user.mts": ESM_USER.replace("_telemetry_utils.js", "_telemetry_utils.mjs"),
    "user.cts": ESM_USER.replace("_telemetry_utils.js", "_telemetry_utils.cjs"),
}
PROJECTS = (
    # tsc's defaults for module commonjs: target ES5, lib ES5
    Project("es5-commonjs", None, ("ts",), ESM_USER, _options(module="commonjs")),
    Project("dts-esm", "module", ("esm", "dts"), ESM_USER, ESM_STRICT),
    Project(
        "dts-cjs-require",
        None,
        ("cjs", "dts"),
        REQUIRE_USER,
        _options(module="nodenext", verbatimModuleSyntax=True, isolatedDeclarations=True),
    ),
    Project(
        "mts-cts",
        None,
        ("ts",),
        ESM_USER,
        _options(module="nodenext", isolatedDeclarations=True),
        extra=EXTENSIONS,
    ),
    Project(
        "types-node-esm",
        "module",
        ("ts",),
        ESM_USER,
        {**ESM_STRICT, "lib": ["es2022", "dom"], "skipLibCheck": True},
        node_modules=True,
    ),
    Project(
        "types-node-commonjs",
        None,
        ("ts",),
        ESM_USER,
        _options(module="commonjs", target="es2019", skipLibCheck=True),
        node_modules=True,
    ),
    Project(
        "types-node-export-assignment",
        None,
        ("ts-cjs",),
        REQUIRE_USER,
        _options(
            module="commonjs",
            target="es2022",
            verbatimModuleSyntax=True,
            isolatedDeclarations=True,
            skipLibCheck=True,
        ),
        node_modules=True,
    ),
)


def _layout(project: Project, folder: Path, tools: NodeTools) -> None:
    source = folder / "src"
    source.mkdir(parents=True)
    write_package(folder, project.package_type)
    for flavor in project.helper:
        suffix = {"ts": ".ts", "ts-cjs": ".ts", "dts": ".d.ts"}.get(flavor, ".js")
        (source / f"_telemetry_utils{suffix}").write_bytes(helper_source(flavor))
    (source / "user.ts").write_text(project.user, encoding="utf-8")
    for name, text in project.extra.items():
        (source / name).write_text(text, encoding="utf-8")
    write_tsconfig(folder, project.options, ["src"])
    if project.node_modules:
        link_node_modules(folder, tools)


@pytest.fixture(scope="module")
def compiled(node_tools: NodeTools, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("typecheck")
    for project in PROJECTS:
        _layout(project, root / project.name, node_tools)
    result = run_tsc_build([root / p.name for p in PROJECTS], node_tools)
    return root, result.stdout + result.stderr


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_no_diagnostics(compiled: tuple[Path, str], project: Project) -> None:
    root, output = compiled
    mine = [line for line in output.splitlines() if f"{project.name}/" in line]
    assert not mine, "\n".join(mine)
    assert (root / project.name / "dist" / "user.js").exists()


def test_everything_compiled_cleanly(compiled: tuple[Path, str]) -> None:
    assert compiled[1] == ""


def test_node_modules_were_there(compiled: tuple[Path, str]) -> None:
    folder = compiled[0] / "types-node-esm" / "node_modules"
    assert (folder / "@types" / "node").is_dir()
    assert (folder / "@opentelemetry" / "api").is_dir()
    assert not (compiled[0] / "es5-commonjs" / "node_modules").exists()


def test_es5_output_runs(compiled: tuple[Path, str]) -> None:
    folder = compiled[0] / "es5-commonjs"
    helper = (folder / "dist" / "_telemetry_utils.js").read_text()
    assert not re.search(r"^\s*(const|let|class) ", helper, re.MULTILINE)  # really ES5
    telemetry = folder / "telemetry.jsonl"
    result = run_node(
        folder / "dist" / "user.js", folder, {"CODEMOD_TELEMETRY_FILE": str(telemetry)}
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    lines = {(line["type"], line.get("name")): line for line in read_lines(telemetry)}
    assert lines[("function", "add")]["calls"] == 1
    assert lines[("function", "add")]["event"] == "sum"
    assert lines[("variable", "total")]["samples"] == ["5"]
    assert lines[("variable", "a")]["samples"] == ["<unset>"]
    assert lines[("loop", None)]["iterations"] == 5


@pytest.mark.parametrize("main", ["user.mjs", "user.cjs"])
def test_mts_and_cts_output_runs(compiled: tuple[Path, str], main: str) -> None:
    folder = compiled[0] / "mts-cts"
    telemetry = folder / f"{main}.jsonl"
    result = run_node(folder / "dist" / main, folder, {"CODEMOD_TELEMETRY_FILE": str(telemetry)})
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert [line["calls"] for line in read_lines(telemetry) if line["type"] == "function"] == [1]
