"""``codemod telemetry`` end to end on small JavaScript and TypeScript projects."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from conftest import run_codemod
from js_support import NodeTools, run_node, run_tsc

ESM_APP = {
    "package.json": json.dumps({"type": "module"}),
    "src/math.js": (
        "export function total(items) {\n"
        "  let sum = 0;\n"
        "  for (const item of items) {\n"
        "    sum += item;\n"
        "  }\n"
        "  return sum;\n"
        "}\n"
    ),
    "src/app/main.js": (
        'import { total } from "../math.js";\n\n'
        "export const run = (values) => total(values) * 2;\n"
        "console.log(run([1, 2, 3]));\n"
    ),
    "src/legacy.cjs": 'module.exports = function legacy() {\n  return "old";\n};\n',
    "src/app.test.js": "export function notTouched() {\n  return 1;\n}\n",
    "src/vendor.min.js": "function minified(){return 1}\n",
    "src/types.d.ts": "export declare function total(items: number[]): number;\n",
    "src/built.js": "function built() {\n  return 1;\n}\n//# sourceMappingURL=built.js.map\n",
    "node_modules/dep/index.js": "module.exports = function dep() {\n  return 1;\n};\n",
}

TS_APP = {
    "package.json": json.dumps({"type": "module"}),
    "tsconfig.json": json.dumps(
        {
            "compilerOptions": {
                "strict": True,
                "noImplicitReturns": True,
                "noUnusedLocals": True,
                "declaration": True,
                "target": "es2022",
                "module": "nodenext",
                "lib": ["es2022", "dom"],
                "rootDir": "src",
                "outDir": "dist",
            },
            "include": ["src"],
        }
    ),
    "src/index.ts": ('import { mean } from "./stats/mean.js";\n\nconsole.log(mean([1, 2, 3]));\n'),
    "src/stats/mean.ts": (
        "export function mean(values: readonly number[]): number {\n"
        "  let sum = 0;\n"
        "  for (const value of values) {\n"
        "    sum += value;\n"
        "  }\n"
        "  const count = values.length;\n"
        "  return count ? sum / count : 0;\n"
        "}\n"
    ),
}


def _write(root: Path, files: dict[str, str]) -> dict[Path, bytes]:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _snapshot(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _run(main: Path, cwd: Path) -> tuple[str, dict[tuple[str, str], dict[str, Any]]]:
    """Run ``main`` with the real helper; its output and JSON lines by (type, name)."""
    telemetry = cwd.parent / f"{cwd.name}-telemetry.jsonl"  # outside the project
    done = run_node(main, cwd, {"CODEMOD_TELEMETRY_FILE": str(telemetry)})
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    lines = [json.loads(line) for line in telemetry.read_text(encoding="utf-8").splitlines()]
    # loops by their function, functions and variables by their own name
    by_name = {(line["type"], line.get("name", line.get("function"))): line for line in lines}
    return done.stdout, by_name


def test_javascript_project_round_trip(tmp_path: Path, node_tools: NodeTools) -> None:
    before = _write(tmp_path, ESM_APP)
    done = run_codemod("telemetry", "-v", str(tmp_path))
    assert done.returncode == 0, done.stderr
    after = _snapshot(tmp_path)
    helper = tmp_path / "src/_telemetry_utils.js"
    assert helper in after and (tmp_path / "src/_telemetry_utils.cjs") in after
    main = after[tmp_path / "src/app/main.js"].decode()
    assert 'import * as _codemod_tel from "../_telemetry_utils.js";' in main
    assert b'require("./_telemetry_utils.cjs")' in after[tmp_path / "src/legacy.cjs"]
    for untouched in (
        "src/app.test.js",
        "src/vendor.min.js",
        "src/types.d.ts",
        "src/built.js",
        "node_modules/dep/index.js",
    ):
        assert after[tmp_path / untouched] == before[tmp_path / untouched]
    stdout, lines = _run(tmp_path / "src/app/main.js", tmp_path)
    assert stdout == "12\n"
    total, run = lines[("function", "total")], lines[("function", "run")]
    assert (total["file"], total["line"], total["calls"], total["errors"]) == (
        "src/math.js",
        1,
        1,
        0,
    )
    assert (run["file"], run["line"], run["calls"]) == ("src/app/main.js", 3, 1)
    loop = lines[("loop", "total")]
    assert (loop["line"], loop["runs"], loop["iterations"]) == (3, 1, 3)

    again = run_codemod("telemetry", "--check", str(tmp_path))
    assert again.returncode == 0, again.stdout + again.stderr

    removed = run_codemod("telemetry", "--remove", str(tmp_path))
    assert removed.returncode == 0, removed.stderr
    assert _snapshot(tmp_path) == before


def test_typescript_project_compiles_and_runs(tmp_path: Path, node_tools: NodeTools) -> None:
    before = _write(tmp_path, TS_APP)
    done = run_codemod("telemetry", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "src/_telemetry_utils.ts").is_file()
    compiled = run_tsc(tmp_path, tools=node_tools)
    assert compiled.returncode == 0, compiled.stdout
    assert (tmp_path / "dist/_telemetry_utils.js").is_file()
    stdout, lines = _run(tmp_path / "dist/index.js", tmp_path)
    assert stdout == "2\n"
    mean = lines[("function", "mean")]
    assert (mean["file"], mean["line"], mean["calls"], mean["errors"]) == (
        "src/stats/mean.ts",
        1,
        1,
        0,
    )
    assert lines[("loop", "mean")]["iterations"] == 3
    assert lines[("variable", "count")]["samples"] == ["3"]
    assert set(lines) == {("function", "mean"), ("loop", "mean"), ("variable", "count")}

    shutil.rmtree(tmp_path / "dist")
    removed = run_codemod("telemetry", "--remove", str(tmp_path))
    assert removed.returncode == 0, removed.stderr
    assert _snapshot(tmp_path) == before


def test_reserved_prefix_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, {"a.js": "function f() {\n  const _codemod_x = 1;\n  return _codemod_x;\n}\n"})
    done = run_codemod("telemetry", str(tmp_path))
    assert done.returncode == 1
    assert "line 2: uses the reserved prefix '_codemod_'" in done.stderr


def test_syntax_error_is_one_line(tmp_path: Path) -> None:
    _write(tmp_path, {"bad.ts": "export function f(: number {\n  return 1;\n}\n"})
    done = run_codemod("telemetry", str(tmp_path))
    assert done.returncode == 1
    assert "bad.ts: syntax error at line 1, column" in done.stderr


def test_typed_using_is_one_line_and_the_rest_is_processed(tmp_path: Path) -> None:
    """tree-sitter-typescript 0.23 cannot parse `using` with a type annotation."""
    _write(
        tmp_path,
        {
            "typed.ts": "export function f(open: () => Disposable) {\n"
            "  using r: Disposable = open();\n  return r;\n}\n",
            "plain.ts": "export function g(open: () => Disposable) {\n"
            "  using r = open();\n  return r;\n}\n",
        },
    )
    done = run_codemod("telemetry", str(tmp_path))
    assert done.returncode == 1
    failures = [line for line in done.stderr.splitlines() if "syntax error" in line]
    assert len(failures) == 1 and "typed.ts: syntax error at line 2, column" in failures[0]
    assert (tmp_path / "typed.ts").read_text().startswith("export function f(")
    assert '.value("plain.ts:2:g:r", r)' in (tmp_path / "plain.ts").read_text()
