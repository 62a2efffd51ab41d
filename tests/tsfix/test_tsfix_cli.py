"""``codemod tsfix`` end to end: real TypeScript 5.9 (tests/node), a simulated model
server, temporary projects with seeded errors, the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from js7_support import Node7Tools, link_node7_modules, node7_tools, run_tsc7
from js_support import NodeTools, clean_env, link_node_modules, run_tsc
from llm_server import ServerConfig, SimRequest, SimServer

__all__ = ["node7_tools"]  # a fixture

TSCONFIG = {
    "compilerOptions": {
        "target": "ES2022",
        "module": "commonjs",
        "strict": True,
        "noUnusedLocals": True,
        "noImplicitOverride": True,
        "outDir": "out",
        "rootDir": "src",
    },
    "include": ["src"],
}

UTIL = """\
export function helperFn(x: number): number {
  return x * 2;
}

export interface Shape {
  width: number;
}

export function area(shape: Shape): number {
  return shape.width * shape.width;
}
"""

# 2304 x2 (helperFn, Shape: one combined import), 6133 (unused), 1308 (await without
# async), 2322 (a string where a number is declared: no TypeScript fix, a model's job)
MAIN = """\
export function double(n: number): number {
  const unused = 42;
  return helperFn(n);
}

export function box(): Shape {
  return { width: 3 };
}

export function later(p: Promise<number>) {
  const value = await p;
  return value + 1;
}

export function label(): number {
  const count: number = "three";
  return count;
}
"""


def tsc_codes(project: Path) -> list[int]:
    result = run_tsc(project, "--noEmit")
    return sorted(
        int(line.split("error TS", 1)[1].split(":", 1)[0])
        for line in result.stdout.splitlines()
        if "error TS" in line
    )


def run_codemod(
    project: Path, *args: str, env: Mapping[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codemodkit", "tsfix", *args],
        cwd=project,
        env=clean_env({"NO_COLOR": "1", **(env or {})}),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def make_project(tmp_path: Path, node_tools: NodeTools) -> Callable[..., Path]:
    def make(files: Mapping[str, str] | None = None, *, link: bool = True) -> Path:
        project = tmp_path / "proj"
        (project / "src").mkdir(parents=True)
        (project / "tsconfig.json").write_text(json.dumps(TSCONFIG, indent=2))
        for name, text in (files or {"util.ts": UTIL, "main.ts": MAIN}).items():
            (project / "src" / name).write_text(text)
        if link:
            link_node_modules(project, node_tools)
        return project

    return make


def snapshot(project: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted((project / "src").rglob("*.ts"))}


def test_tier0_fixes_what_typescript_can_and_leaves_the_rest(
    make_project: Callable[..., Path],
) -> None:
    project = make_project()
    assert tsc_codes(project) == [1308, 2304, 2304, 2322, 6133]
    result = run_codemod(project, "--tier", "0", "--cache-dir", str(project / ".cache"))
    assert result.returncode == 1, result.stderr  # one error is left
    main = (project / "src" / "main.ts").read_text()
    assert 'import { helperFn, Shape } from "./util";' in main or (
        'import { Shape, helperFn } from "./util";' in main
    )
    assert "const unused" not in main
    assert "export async function later" in main
    assert 'const count: number = "three";' in main  # not TypeScript's to fix
    assert tsc_codes(project) == [2322]  # and no new error of any kind
    assert "errors before" in result.stderr and "TS2322" in result.stderr
    assert re.search(r"src/main\.ts:\d+:9: TS2322 ", result.stderr)  # where it is left


def test_dry_run_prints_a_diff_writes_nothing_and_exits_1(
    make_project: Callable[..., Path],
) -> None:
    project = make_project()
    before = snapshot(project)
    result = run_codemod(project, "--tier", "0", "--dry-run")
    assert result.returncode == 1
    assert snapshot(project) == before
    assert result.stdout.startswith("--- a/src/main.ts\n+++ b/src/main.ts\n")
    assert "+export async function later" in result.stdout
    check = run_codemod(project, "--tier", "0", "--check")
    assert check.returncode == 1 and check.stdout == "" and snapshot(project) == before


def test_a_clean_project_exits_0_and_codes_filter_what_is_fixed(
    make_project: Callable[..., Path],
) -> None:
    project = make_project({"util.ts": UTIL})
    assert run_codemod(project, "--tier", "0").returncode == 0
    src = project / "src" / "main.ts"
    src.write_text(MAIN)
    result = run_codemod(project, "--tier", "0", "--codes", "6133")
    assert result.returncode == 1
    text = src.read_text()
    assert "const unused" not in text and "import" not in text and "async" not in text


def test_paths_restrict_edits_but_the_whole_project_is_checked(
    make_project: Callable[..., Path],
) -> None:
    other = "export function f(): number {\n  const spare = 1;\n  return 2;\n}\n"
    project = make_project({"util.ts": UTIL, "main.ts": MAIN, "other.ts": other})
    result = run_codemod(project, "--tier", "0", "src/other.ts")
    assert result.returncode == 1
    assert (project / "src" / "main.ts").read_text() == MAIN  # not passed: not edited
    assert "spare" not in (project / "src" / "other.ts").read_text()
    assert "TS2304" in result.stderr  # still reported as left


def test_files_with_unstaged_changes_are_refused_without_force(
    make_project: Callable[..., Path],
) -> None:
    project = make_project()
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@e"

    def git(*args: str) -> None:
        subprocess.run(
            ["git", *args], cwd=project, check=True, capture_output=True, env={**os.environ, **env}
        )

    git("init", "-q")
    git("add", "src", "tsconfig.json")
    git("commit", "-qm", "init")
    (project / "src" / "main.ts").write_text(MAIN + "\n// work in progress\n")
    result = run_codemod(project, "--tier", "0")
    assert result.returncode == 1
    assert "src/main.ts: not written: it has unstaged changes (use --force)" in result.stderr
    assert (project / "src" / "main.ts").read_text().endswith("// work in progress\n")
    git("add", "src/main.ts")  # staged is fine: that is what a pre-commit hook sees
    assert run_codemod(project, "--tier", "0").returncode == 1
    assert "async function later" in (project / "src" / "main.ts").read_text()


def test_no_typescript_and_no_tsconfig_are_tool_failures(
    make_project: Callable[..., Path], tmp_path: Path
) -> None:
    project = make_project(link=False)
    result = run_codemod(
        project,
        "--tier",
        "0",
        env={"PATH": os.environ["PATH"], "NPM_CONFIG_PREFIX": str(tmp_path / "noglobal")},
    )
    assert result.returncode == 2
    assert "npm install --save-dev typescript@5" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_codemod(empty)
    assert result.returncode == 2 and "no tsconfig.json" in result.stderr


def test_a_broken_helper_is_a_clear_tool_failure(make_project: Callable[..., Path]) -> None:
    project = make_project(link=False)
    fake = project / "node_modules" / "typescript"
    (fake / "lib").mkdir(parents=True)
    (fake / "package.json").write_text(
        '{"name": "typescript", "version": "5.9.3", "main": "lib/typescript.js"}'
    )
    (fake / "lib" / "typescript.js").write_text("throw new Error('corrupt install');\n")
    result = run_codemod(project, "--tier", "0")
    assert result.returncode == 2
    assert "codemod tsfix:" in result.stderr and "Traceback" not in result.stderr


def test_from_tsc_output_lists_the_errors_without_fixing(make_project: Callable[..., Path]) -> None:
    project = make_project()
    output = run_tsc(project, "--noEmit").stdout
    before = snapshot(project)
    result = run_codemod(project, "--from-tsc-output", "-", stdin=output)
    assert result.returncode == 1
    assert snapshot(project) == before
    assert "tier 0 and model fixes are unavailable" in result.stderr
    assert result.stderr.count("TS2304") == 2


LABEL = 'const count: number = "three";'
WRONG = 'const count: string = "three";'  # moves the error to `return count`
RIGHT = "const count: number = 3;"


def _fix_answer(replacement: str) -> str:
    return json.dumps({"replacement": replacement, "explanation": "typed"})


def test_a_model_fix_that_adds_an_error_is_rejected_and_escalated_with_context(
    make_project: Callable[..., Path], tmp_path: Path
) -> None:
    project = make_project()

    def answer_with(replacement: str) -> Callable[[SimRequest], str]:
        def respond(request: SimRequest) -> str:
            code = request.text.split("Code to fix:\n```ts\n", 1)[1].split("\n```", 1)[0]
            return _fix_answer(code.replace(LABEL, replacement))

        return respond

    weak = SimServer(ServerConfig(responder=answer_with(WRONG))).start()
    strong = SimServer(ServerConfig(responder=answer_with(RIGHT))).start()
    try:
        (project / "codemod.toml").write_text(
            "[tiers.1]\n"
            f'provider = "ollama"\nmodel = "sim-model"\nendpoints = ["{weak.url}"]\n'
            "[tiers.2]\n"
            f'provider = "ollama"\nmodel = "sim-model"\nendpoints = ["{strong.url}"]\n'
        )
        report = tmp_path / "report.json"
        result = run_codemod(
            project,
            "--codes",
            "2322",
            "--mode",
            "sequential",
            "--report",
            str(report),
            "--cache-dir",
            str(tmp_path / "cache"),
        )
        assert result.returncode == 1, result.stderr  # the other seeded errors stay
        assert "const count: number = 3;" in (project / "src" / "main.ts").read_text()
        assert weak.stats.total >= 1 and strong.stats.total >= 1
        asked = strong.stats.last_request.text
        assert "const count: string" in asked  # the failed attempt
        assert "TS2322" in asked  # and the compiler's complaint about it
        data = json.loads(report.read_text())
        (fix,) = [f for f in data["fixes"] if f["strategy"] == "model"]
        assert fix["tier"] == 2 and fix["attempts"] == 2 and 2322 in fix["codes"]
        assert 2322 not in tsc_codes(project)
    finally:
        weak.stop()
        strong.stop()


def test_a_typescript_7_project_goes_through_its_language_server(
    tmp_path: Path, node7_tools: Node7Tools
) -> None:
    project = tmp_path / "proj7"
    (project / "src").mkdir(parents=True)
    (project / "tsconfig.json").write_text(json.dumps(TSCONFIG, indent=2))
    (project / "src" / "util.ts").write_text(UTIL)
    (project / "src" / "main.ts").write_text(MAIN)
    link_node7_modules(project, node7_tools)
    result = run_codemod(project, "--tier", "0", "-v")
    assert result.returncode == 1, result.stderr
    assert "TypeScript 7.0.2" in result.stderr and "tsc --lsp" in result.stderr
    main = (project / "src" / "main.ts").read_text()
    assert "helperFn" in main.split("export function double", 1)[0]  # the import was added
    codes = [int(m) for m in re.findall(r"error TS(\d+)", run_tsc7(project, "--noEmit").stdout)]
    assert 2304 not in codes and codes  # the rest needs fixes TypeScript 7 does not offer
    assert "errors left" in result.stderr


MODES = """\
export function add(a: number): number {
  return a;
}

export function one(): number {
  const a: number = "three";
  return a;
}

export function two(): number {
  const b: number = "three";
  return b;
}

export function three(): number {
  return add(1, 2);
}

export function four(): number {
  return add(3, 4);
}
"""


def _fixing(request: SimRequest) -> str:
    code = request.text.split("Code to fix:\n```ts\n", 1)[1].split("\n```", 1)[0]
    fixed = code.replace('"three"', "3").replace("(1, 2)", "(1)").replace("(3, 4)", "(3)")
    return _fix_answer(fixed)


@pytest.mark.parametrize("mode", ["sequential", "parallel", "hybrid"])
def test_modes_run_the_tiers_one_after_the_other_or_side_by_side(
    make_project: Callable[..., Path], tmp_path: Path, mode: str
) -> None:
    project = make_project({"modes.ts": MODES})
    local = SimServer(ServerConfig(responder=_fixing, latency=0.6)).start()
    cloud = SimServer(ServerConfig(responder=_fixing, latency=0.6)).start()
    try:
        (project / "codemod.toml").write_text(
            f'[tiers.1]\nprovider = "ollama"\nmodel = "sim-model"\nendpoints = ["{local.url}"]\n'
            f'[tiers.2]\nprovider = "ollama"\nmodel = "sim-model"\nendpoints = ["{cloud.url}"]\n'
            "cloud = true\n"
            '[tsfix]\ntiers = { "2322" = 1, "2554" = 2 }\n'
        )
        result = run_codemod(project, "--mode", mode, "--cache-dir", str(tmp_path / "c"))
        assert result.returncode == 0, result.stderr  # all four fixed
        text = (project / "src" / "modes.ts").read_text()
        assert '"three"' not in text and "add(1)" in text and "add(3)" in text
        # each error at its own tier (chat requests only: Ollama is also asked its models)
        assert local.stats.by_path["/api/chat"] == 2 and cloud.stats.by_path["/api/chat"] == 2
        local_times, cloud_times = local.stats.accepted_times, cloud.stats.accepted_times
        if mode == "sequential":  # tier 2 starts once tier 1 is done
            assert min(cloud_times) >= max(local_times) + 0.4
        else:  # side by side
            assert abs(min(cloud_times) - min(local_times)) < 0.5
    finally:
        local.stop()
        cloud.stop()


def test_tier0_never_guesses_spellings_or_writes_stubs(make_project: Callable[..., Path]) -> None:
    main = (
        'import { area } from "./util";\n\n'
        "export function size(): number {\n"
        "  const shape = { width: 2 };\n"
        "  return area(shape) + shape.widht;\n"  # TS2551: "Did you mean 'width'?"
        "}\n\n"
        "export function later(): number {\n"
        "  return missingHelper(1);\n"  # TS2304: TypeScript offers a throwing stub
        "}\n"
    )
    project = make_project({"util.ts": UTIL, "main.ts": main})
    before = snapshot(project)
    result = run_codemod(project, "--tier", "0")
    assert result.returncode == 1
    assert snapshot(project) == before  # nothing TypeScript offers here is safe
    assert "TS2551" in result.stderr and "TS2304" in result.stderr


def test_configured_excludes_are_never_edited(make_project: Callable[..., Path]) -> None:
    other = "export function f(): number {\n  const spare = 1;\n  return 2;\n}\n"
    project = make_project({"util.ts": UTIL, "main.ts": MAIN, "other.ts": other})
    (project / "codemod.toml").write_text('exclude = ["src/main.ts"]\n')
    result = run_codemod(project, "--tier", "0")
    assert result.returncode == 1
    assert (project / "src" / "main.ts").read_text() == MAIN  # excluded: left alone
    assert "spare" not in (project / "src" / "other.ts").read_text()


FAKE_TSC7 = """#!/usr/bin/env node
// A TypeScript 7 whose language server cannot start; its command line still type-checks.
const args = process.argv.slice(2);
if (args.includes("--noEmit")) {
  process.stdout.write("src/main.ts(3,10): error TS2304: Cannot find name 'helperFn'.\\n");
  process.exit(1);
}
process.stderr.write("language server unavailable\\n");
process.exit(1);
"""


def test_typescript_7_without_a_language_server_falls_back_to_its_output(
    make_project: Callable[..., Path],
) -> None:
    project = make_project(link=False)
    package = project / "node_modules" / "typescript"
    (package / "bin").mkdir(parents=True)
    (package / "package.json").write_text(
        '{"name": "typescript", "version": "7.0.0", "bin": {"tsc": "bin/tsc"}}'
    )
    (package / "bin" / "tsc").write_text(FAKE_TSC7)
    (package / "bin" / "tsc").chmod(0o755)
    before = snapshot(project)
    result = run_codemod(project, "--tier", "0")
    assert result.returncode == 1, result.stderr  # errors listed, not a crash
    assert "its language server cannot run" in result.stderr
    assert "tier 0 is skipped" in result.stderr
    assert "src/main.ts:3:10: TS2304" in result.stderr
    assert snapshot(project) == before
