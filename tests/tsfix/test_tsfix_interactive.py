"""``codemod tsfix --interactive`` answered through a real pseudo-terminal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pexpect
from js_support import NodeTools, clean_env, link_node_modules

from .test_tsfix_cli import MAIN, TSCONFIG, UTIL

IMPORTS = (
    'import { helperFn, Shape } from "./util";\n',
    'import { Shape, helperFn } from "./util";\n',
)


def test_only_the_accepted_fixes_are_written_and_quit_stops(
    tmp_path: Path, node_tools: NodeTools
) -> None:
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "tsconfig.json").write_text(json.dumps(TSCONFIG))
    (project / "src" / "util.ts").write_text(UTIL)
    (project / "src" / "main.ts").write_text(MAIN)
    link_node_modules(project, node_tools)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "codemodkit", "tsfix", "--tier", "0", "--interactive", "--cache-dir", ".cache"],
        cwd=str(project),
        env=clean_env({"NO_COLOR": "1"}),
        encoding="utf-8",
        timeout=120,
        dimensions=(60, 200),
    )
    asked = []
    for key in "arq":  # the import, the unused declaration, then quit at `async`
        child.expect(r"\[q\]uit\? ")
        asked.append(child.before)
        child.send(key)
    child.expect(pexpect.EOF)
    child.close()
    assert "+import {" in asked[0]
    assert "-  const unused = 42;" in asked[1]
    assert "+export async function later" in asked[2]
    main = (project / "src" / "main.ts").read_text()
    assert main in (line + "\n" + MAIN for line in IMPORTS)
    assert (project / "src" / "util.ts").read_text() == UTIL


OTHER = """\
export function other(): number {
  const unused = 1;
  return 2;
}
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_only_changed_edits_only_files_changed_since_head(
    tmp_path: Path, node_tools: NodeTools
) -> None:
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "tsconfig.json").write_text(json.dumps(TSCONFIG))
    (project / "src" / "util.ts").write_text(UTIL)
    (project / "src" / "main.ts").write_text(MAIN)
    (project / "src" / "other.ts").write_text(OTHER)
    (project / ".gitignore").write_text("node_modules\n.cache\n")
    link_node_modules(project, node_tools)
    git(project, "init", "-q")
    git(project, "add", ".")
    git(project, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "init")
    (project / "src" / "main.ts").write_text(MAIN.replace("return count;", "return count + 0;"))
    git(project, "add", "src/main.ts")
    done = subprocess.run(
        [sys.executable, "-m", "codemodkit", "tsfix", "--tier", "0", "--only-changed"],
        cwd=project,
        env=clean_env({"NO_COLOR": "1"}),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, (
        done.stderr + done.stdout
    )  # errors are left (other.ts's, main.ts's TS2322)
    main = (project / "src" / "main.ts").read_text()
    assert "const unused" not in main and "export async function later" in main, done.stderr
    assert (project / "src" / "other.ts").read_text() == OTHER  # committed, not changed
