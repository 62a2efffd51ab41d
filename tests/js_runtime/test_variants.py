"""The helper's flavours are one program: derived from one source, equal to what tsc makes.

``strip_types`` and ``declarations`` are checked against TypeScript's own compiler
(``transpileModule`` and ``transpileDeclaration``): the syntax trees must be the same,
parentheses aside. The CommonJS flavour must be the ES module's tree, statement for
statement, with ``export`` moved to an ``exports.name = name`` block. Behaviour across
flavours is compared in ``test_scenario``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from js_support import NodeTools, run_node

from codemodkit.codemods.telemetry.js.runtime import FLAVORS, HELPER_MARKER, helper_source
from codemodkit.codemods.telemetry.js.tslex import TypeSyntaxError
from codemodkit.codemods.telemetry.js.variants import (
    declarations,
    strip_types,
    to_commonjs,
    to_export_assignment,
)

API = {"on", "sampled", "enter", "leave", "error", "loop", "value", "attr", "flush"}

# Syntax trees of each flavour and of tsc's output, as lists of node kinds (with the
# text of names and literals); parentheses are skipped because tsc drops those that a
# removed cast made redundant.
SHAPES = r"""
const ts = require(process.argv[1]);
const fs = require("node:fs");
const read = (name) => fs.readFileSync(name, "utf8");
const master = read("helper.ts");
const options = { target: ts.ScriptTarget.ESNext, module: ts.ModuleKind.ESNext };
function shape(text, name, skipStatement) {
  const file = ts.createSourceFile(name, text, ts.ScriptTarget.ESNext, true);
  const out = [];
  const visit = (node) => {
    if (ts.isParenthesizedExpression(node)) return visit(node.expression);
    if (node.kind === ts.SyntaxKind.ExportKeyword) return;
    const named = ts.isIdentifier(node) || ts.isStringLiteral(node) || ts.isNumericLiteral(node);
    out.push(ts.SyntaxKind[node.kind] + (named ? ":" + node.text : ""));
    ts.forEachChild(node, visit);
  };
  for (const statement of file.statements) {
    if (!(skipStatement && skipStatement(statement))) visit(statement);
  }
  return out;
}
const isExportsBlock = (s) =>
  ts.isExpressionStatement(s) &&
  (ts.isStringLiteral(s.expression) ||
    (ts.isBinaryExpression(s.expression) &&
      ts.isPropertyAccessExpression(s.expression.left) &&
      s.expression.left.expression.getText() === "exports"));
const tscJs = ts.transpileModule(master, { compilerOptions: options }).outputText;
const tscDts = ts.transpileDeclaration(master, { compilerOptions: options }).outputText;
fs.writeFileSync(
  "shapes.json",
  JSON.stringify({
    esm: shape(read("helper.js"), "helper.js"),
    tscJs: shape(tscJs, "tsc.js"),
    cjs: shape(read("helper.cjs"), "helper.cjs", isExportsBlock),
    dts: shape(read("helper.d.ts"), "helper.d.ts"),
    tscDts: shape(tscDts, "tsc.d.ts"),
  })
);
"""


def _first_difference(mine: list[str], theirs: list[str]) -> str:
    for index, (a, b) in enumerate(zip(mine, theirs, strict=False)):
        if a != b:
            return f"at node {index}: {a} != {b}; context {mine[max(0, index - 8) : index + 3]}"
    return f"lengths {len(mine)} != {len(theirs)}"


@pytest.fixture(scope="module")
def shapes(node_tools: NodeTools, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    folder = tmp_path_factory.mktemp("shapes")
    (folder / "helper.ts").write_bytes(helper_source("ts"))
    (folder / "helper.js").write_bytes(helper_source("esm"))
    (folder / "helper.cjs").write_bytes(helper_source("cjs"))
    (folder / "helper.d.ts").write_bytes(helper_source("dts"))
    typescript = str(node_tools.node_modules / "typescript")
    result = run_node(SHAPES, cwd=folder, args=[typescript])
    assert result.returncode == 0, result.stderr
    shapes: dict[str, list[str]] = json.loads((folder / "shapes.json").read_text())
    return shapes


def test_esm_flavour_is_what_tsc_emits(shapes: dict[str, list[str]]) -> None:
    assert len(shapes["esm"]) > 3000  # the whole helper, not an empty parse
    assert shapes["esm"] == shapes["tscJs"], _first_difference(shapes["esm"], shapes["tscJs"])


def test_cjs_flavour_is_the_esm_flavour(shapes: dict[str, list[str]]) -> None:
    assert shapes["cjs"] == shapes["esm"], _first_difference(shapes["cjs"], shapes["esm"])


def test_dts_flavour_is_what_tsc_declares(shapes: dict[str, list[str]]) -> None:
    assert shapes["dts"] == shapes["tscDts"], _first_difference(shapes["dts"], shapes["tscDts"])


@pytest.mark.parametrize("flavor", FLAVORS)
def test_every_flavour_starts_with_the_marker(flavor: str) -> None:
    source = helper_source(flavor)  # type: ignore[arg-type]
    assert isinstance(source, bytes)
    first_line = source.split(b"\n", 1)[0]
    assert first_line == HELPER_MARKER + b" 1"
    assert source.endswith(b"\n") and b"\r" not in source
    assert helper_source(flavor) is source  # computed once  # type: ignore[arg-type]


def test_unknown_flavour() -> None:
    with pytest.raises(ValueError, match="unknown helper flavor"):
        helper_source("python")  # type: ignore[arg-type]


def test_every_flavour_has_the_whole_api() -> None:
    def names(pattern: str, text: bytes) -> set[str]:
        return set(re.findall(pattern, text.decode(), flags=re.MULTILINE))

    esm = names(r"^export (?:const|function) (\w+)", helper_source("esm"))
    cjs = names(r"^exports\.(\w+) = \1;$", helper_source("cjs"))
    ts = names(r"^export (?:const|function) (\w+)", helper_source("ts"))
    dts = names(r"^export declare (?:const|function) (\w+)", helper_source("dts"))
    ts_cjs = names(r"^  (\w+): \1,$", helper_source("ts-cjs"))
    assert esm == cjs == ts == dts == ts_cjs == API


def test_javascript_flavours_are_not_type_checked_by_checkjs() -> None:
    for flavor in ("esm", "cjs"):
        lines = helper_source(flavor).decode().splitlines()  # type: ignore[arg-type]
        assert lines[1] == "// @ts-nocheck"  # a pragma only counts before any statement
    assert helper_source("cjs").decode().splitlines()[2] == '"use strict";'
    assert b"@ts-nocheck" not in helper_source("ts") + helper_source("ts-cjs")


def test_flavours_of_the_shipped_file() -> None:
    """The master is package data next to the Python helper (see pyproject.toml)."""
    runtime = Path(__file__).resolve().parents[2] / "codemodkit/codemods/telemetry/runtime"
    assert (runtime / "_telemetry_utils.ts").read_bytes() == helper_source("ts")


STRIP_CASES = [
    ("const a: number = 1;", "const a = 1;"),
    ("let b: Dict<string> | undefined;", "let b;"),
    ("function f(x: number, y?: string): void {}", "function f(x, y) {}"),
    ("const g = function (z: (q: T) => void): { a: 1 } {};", "const g = function (z) {};"),
    ("const c = (d as Foo<Bar, Baz>).e;", "const c = d.e;"),
    ("f(d as T);", "f(d);"),
    ("const h = x as unknown as T[];", "const h = x;"),
    ("// marker\n// doc\ninterface I {\n  a: string;\n}\nconst i = 1;", "// marker\nconst i = 1;"),
    ("export type T = A | B;\nexport const j: T = 1;", "export const j = 1;"),
    ("declare const require: R | undefined;\nrequire;", "require;"),
    ("const k = { a: 1, b: c ? d : e };", "const k = { a: 1, b: c ? d : e };"),
]


@pytest.mark.parametrize(("typescript", "javascript"), STRIP_CASES)
def test_strip_types(typescript: str, javascript: str) -> None:
    assert strip_types(typescript) == javascript


@pytest.mark.parametrize(
    "typescript",
    ["const a = `template`;", "let b: = 1;", "function f(x: number { }", "const c = 'open"],
)
def test_unsupported_syntax_is_an_error(typescript: str) -> None:
    with pytest.raises(TypeSyntaxError):
        strip_types(typescript)


def test_commonjs_and_export_assignment() -> None:
    esm = "// marker\n// @ts-nocheck\nexport const on = true;\nexport function f() {}\n"
    assert to_commonjs(esm) == (
        '// marker\n// @ts-nocheck\n"use strict";\nconst on = true;\nfunction f() {}\n\n'
        "exports.on = on;\nexports.f = f;\n"
    )
    ts = "// marker\nexport type T = 1;\nexport const on: boolean = true;\n"
    assigned = to_export_assignment(ts)
    assert "type T = 1;\nconst on: boolean = true;" in assigned
    assert assigned.endswith(
        "const codemodTelemetry: {\n  readonly on: typeof on;\n} = {\n  on: on,\n};\n"
        "export = codemodTelemetry;\n"
    )


def test_declarations_keep_only_what_exports_use() -> None:
    ts = (
        "// marker\ninterface Used { a: number }\ninterface Unused { b: number }\n"
        "/** doc */\nexport function f(x: Used): number {\n  return x.a;\n}\n"
        "const hidden: Unused = { b: 1 };\nexport const n: number = hidden.b;\n"
    )
    assert declarations(ts) == (
        "// marker\n// Types of the JavaScript helper beside this file (codemod telemetry).\n"
        "interface Used { a: number }\n/** doc */\nexport declare function f(x: Used): number;\n"
        "export declare const n: number;\nexport {};\n"
    )
