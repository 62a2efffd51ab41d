"""Small TypeScript projects with seeded errors, written into temporary folders.

Each project gets the pinned TypeScript (5.9.3) through a ``node_modules`` symlink to
``tests/node/node_modules``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from js_support import NodeTools, link_node_modules, run_tsc

_OPTIONS = {
    "strict": True,
    "target": "es2022",
    "module": "commonjs",
    "noEmit": True,
    "noUnusedLocals": True,
    "noImplicitOverride": True,
    "types": [],
}

#: one of each seeded error, a dependent chain (util <- consumer <- deep), a BOM file
BASIC: dict[str, str] = {
    "tsconfig.json": json.dumps({"compilerOptions": _OPTIONS, "include": ["src"]}, indent=2),
    "src/util.ts": (
        "export function helperFn(x: number): number {\n"
        "  return x * 2;\n"
        "}\n"
        "\n"
        "export interface Shape {\n"
        "  width: number;\n"
        "}\n"
        "\n"
        "export function scale(x: number): number {\n"
        "  return x * 10;\n"
        "}\n"
    ),
    "src/consumer.ts": (
        'import { scale } from "./util";\n'
        "\n"
        "export const big: number = scale(3);\n"
        "export const inferred = scale(4);\n"
    ),
    "src/deep.ts": (
        'import { inferred } from "./consumer";\n\nexport const text = inferred.toFixed(1);\n'
    ),
    "src/main.ts": (
        "// Größe 😀 — non-ASCII and an astral character before the errors\n"
        'const face = "😀😀"; export const doubled: number = helperFn(face.length);\n'
        "\n"
        "export const box: Shape = { width: 1 };\n"
    ),
    "src/other.ts": (
        'import { scale } from "./util";\n'
        "\n"
        "const leftover = 42;\n"
        "\n"
        "function wait() {\n"
        "  await Promise.resolve(1);\n"
        "}\n"
        "\n"
        "export function ident(value) {\n"
        "  return value.toFixed(2);\n"
        "}\n"
        "\n"
        "class Base {\n"
        "  run(): void {}\n"
        "}\n"
        "\n"
        "export class Child extends Base {\n"
        "  run(): void {}\n"
        "}\n"
        "\n"
        "export const rounded = Math.flor(2.5);\n"
        "export { wait };\n"
    ),
    "src/bom.ts": "\ufeffexport const bad: number = 'text';\n",
}

#: declaration diagnostics (isolatedDeclarations) and a CRLF file
EXTRAS: dict[str, str] = {
    "tsconfig.json": json.dumps(
        {
            "compilerOptions": {**_OPTIONS, "declaration": True, "isolatedDeclarations": True},
            "include": ["src"],
        }
    ),
    "src/lib.ts": "export function helper(x: number): number {\n  return x;\n}\n",
    "src/decl.ts": 'import { helper } from "./lib";\n\nexport const inferred = helper(1);\n',
    "src/crlf.ts": (
        "// windows\r\n"
        "export const one: number = helper(1);\r\n"
        "export const two: number = helper(2);\r\n"
    ),
}

_REF_OPTIONS = {**_OPTIONS, "composite": True, "outDir": "dist", "rootDir": "src"}
del _REF_OPTIONS["noEmit"]

#: a solution config (`files: []`) over two referenced projects, app importing core
REFS: dict[str, str] = {
    "tsconfig.json": json.dumps(
        {"files": [], "references": [{"path": "./packages/core"}, {"path": "./packages/app"}]}
    ),
    "packages/core/tsconfig.json": json.dumps(
        {"compilerOptions": _REF_OPTIONS, "include": ["src"]}, indent=2
    ),
    "packages/core/src/index.ts": (
        "export function total(xs: number[]): number {\n"
        "  return xs.reduce((a, b) => a + b, 0);\n"
        "}\n"
        "\n"
        "const unusedCore = 1;\n"
    ),
    "packages/app/tsconfig.json": json.dumps(
        {
            "compilerOptions": _REF_OPTIONS,
            "include": ["src"],
            "references": [{"path": "../core"}],
        },
        indent=2,
    ),
    "packages/app/src/main.ts": (
        'import { total } from "../../core/src/index";\n'
        "\n"
        "export const sum: number = total([1, 2]);\n"
        "export const oops: string = 5;\n"
    ),
}


def write_project(root: Path, files: Mapping[str, str], tools: NodeTools) -> Path:
    """Write ``files`` under ``root`` (exact text: no newline translation), give it
    TypeScript, and return the resolved path of its top tsconfig.json."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    link_node_modules(root, tools)
    return (root / "tsconfig.json").resolve()


_TSC_LINE = re.compile(r"^(?P<file>.+)\((?P<line>\d+),(?P<col>\d+)\): error TS(?P<code>\d+): ")


def tsc_errors(project: Path, tools: NodeTools) -> set[tuple[str, int, int, int]]:
    """``tsc --noEmit``'s errors as (absolute file, line, column, code)."""
    result = run_tsc(project, "--noEmit", tools=tools)
    found = set()
    for line in result.stdout.splitlines():
        match = _TSC_LINE.match(line)
        if match:
            file = str((project / match["file"]).resolve())
            found.add((file, int(match["line"]), int(match["col"]), int(match["code"])))
    return found
