"""The helper's life in a process: switched off, exits, files, threads, copies, parity.

Every test runs a real Node program (see ``programs.run_program``) and checks what it
left behind; none of them may print anything or leave an exception.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from js_support import NodeTools

from .programs import run_program

REPO = Path(__file__).resolve().parents[2]
PY_HELPER = REPO / "codemodkit" / "codemods" / "telemetry" / "runtime" / "_telemetry_utils.py"

CALL_EVERYTHING = textwrap.dedent(
    """\
    const fs = require("node:fs");
    const t = require("./_telemetry_utils.js");
    const site = "src/a.js:3:f";
    const token = t.enter(site);
    t.leave(site, token);
    t.error(site, token, new Error("x"));
    t.loop("src/a.js:4:f", 3);
    t.value("src/a.js:5:f:x", { a: 1 });
    t.flush();
    fs.writeFileSync("result.json", JSON.stringify({
      on: t.on,
      token: token,
      attr: t.attr({ a: 1 }, "a"),
      sampled: t.sampled.size,
    }));
    """
)


@pytest.fixture(autouse=True)
def _node(node_tools: NodeTools) -> None:
    """Every test here needs Node and the pinned packages."""


@pytest.mark.parametrize("setting", ["0", " Off ", "false", "no", ""])
def test_disabled(tmp_path: Path, setting: str) -> None:
    outcome = run_program(tmp_path, CALL_EVERYTHING, env={"CODEMOD_TELEMETRY": setting})
    assert outcome.process.returncode == 0 and outcome.silent
    assert outcome.result == {"on": False, "token": False, "attr": 1, "sampled": 0}
    assert not (tmp_path / "telemetry.jsonl").exists()


@pytest.mark.parametrize("setting", ["1", "yes", "anything"])
def test_enabled_by_any_other_value(tmp_path: Path, setting: str) -> None:
    outcome = run_program(tmp_path, CALL_EVERYTHING, env={"CODEMOD_TELEMETRY": setting})
    assert outcome.result["on"] is True and isinstance(outcome.result["token"], float)
    assert len(outcome.lines) == 3


def test_without_process_everything_is_a_no_op(tmp_path: Path) -> None:
    """A browser: no ``process``, no ``require``. The CommonJS flavour is loaded into a
    fresh V8 context that has neither."""
    source = textwrap.dedent(
        """\
        const fs = require("node:fs");
        const vm = require("node:vm");
        const code = fs.readFileSync("_telemetry_utils.js", "utf8");
        const sandbox = { exports: {} };
        vm.runInNewContext(code, sandbox);
        const t = sandbox.exports;
        const token = t.enter("a.js:1:f");
        t.leave("a.js:1:f", token);
        t.error("a.js:1:f", token, new Error("x"));
        t.loop("a.js:1:f", 1);
        t.value("a.js:1:f:x", 1);
        t.flush();
        const attr = t.attr([7], "0");
        fs.writeFileSync("result.json", JSON.stringify({ on: t.on, token, attr }));
        """
    )
    outcome = run_program(tmp_path, source)
    assert outcome.process.returncode == 0 and outcome.silent
    # without util.types.isProxy, attr() cannot tell a Proxy: it gives up (a marker)
    assert outcome.result == {"on": False, "token": False, "attr": {}}
    assert not (tmp_path / "telemetry.jsonl").exists()


def test_types_only(tmp_path: Path) -> None:
    outcome = run_program(tmp_path, CALL_EVERYTHING, env={"CODEMOD_TELEMETRY_VALUES": "0"})
    (variable,) = [line for line in outcome.lines if line["type"] == "variable"]
    assert variable["value_types"] == ["Object"] and "samples" not in variable


def test_unwritable_file_is_silent(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    outcome = run_program(
        tmp_path / "run",
        CALL_EVERYTHING,
        env={"CODEMOD_TELEMETRY_FILE": str(blocker / "telemetry.jsonl")},
        telemetry=False,
    )
    assert outcome.process.returncode == 0 and outcome.silent
    assert outcome.result["on"] is True


EXITS = {
    "process.exit": ("t.leave(site, t.enter(site));\nprocess.exit(3);\n", 3),
    "uncaught": ("t.leave(site, t.enter(site));\nthrow new Error('boom');\n", 1),
    "unhandled rejection": (
        "t.leave(site, t.enter(site));\nPromise.reject(new Error('boom'));\n",
        1,
    ),
    "exitCode": ("t.leave(site, t.enter(site));\nprocess.exitCode = 4;\n", 4),
}


@pytest.mark.parametrize("how", list(EXITS))
def test_flushes_on_every_exit(tmp_path: Path, how: str) -> None:
    code, returncode = EXITS[how]
    source = 'const t = require("./_telemetry_utils.js");\nconst site = "a.js:1:f";\n' + code
    outcome = run_program(tmp_path, source)
    assert outcome.process.returncode == returncode
    assert outcome.process.stdout == ""
    assert "boom" in outcome.process.stderr or outcome.process.stderr == ""
    assert [line["calls"] for line in outcome.lines] == [1]


def test_flush_writes_deltas_to_the_default_file(tmp_path: Path) -> None:
    """``telemetry.jsonl`` in the working folder at load time, even after a chdir."""
    source = textwrap.dedent(
        """\
        const fs = require("node:fs");
        const t = require("./_telemetry_utils.js");
        const site = "a.js:1:f";
        t.leave(site, t.enter(site));
        t.leave(site, t.enter(site));
        t.flush();
        t.flush();  // nothing new: writes nothing
        fs.mkdirSync("elsewhere");
        process.chdir("elsewhere");
        t.leave(site, t.enter(site));
        """
    )
    outcome = run_program(tmp_path, source, telemetry=False)
    assert outcome.silent
    assert [line["calls"] for line in outcome.lines] == [2, 1]
    assert not (tmp_path / "elsewhere" / "telemetry.jsonl").exists()


def test_interval_does_not_keep_the_process_alive(tmp_path: Path) -> None:
    source = 'const t = require("./_telemetry_utils.js");\nt.leave("a:1:f", t.enter("a:1:f"));\n'
    outcome = run_program(tmp_path, source)
    assert outcome.process.returncode == 0 and outcome.silent
    # run_node's timeout is the other half of this test: 10 s would be the timer
    assert len(outcome.lines) == 1


def test_workers_and_children_write_their_own_lines(tmp_path: Path) -> None:
    child = (
        'const t = require("./_telemetry_utils.js");\n'
        't.leave("c.js:1:child", t.enter("c.js:1:child"));\n'
    )
    source = textwrap.dedent(
        """\
        const fs = require("node:fs");
        const path = require("node:path");
        const { Worker } = require("node:worker_threads");
        const { fork } = require("node:child_process");
        const helper = path.join(__dirname, "_telemetry_utils.js");
        const t = require(helper);
        const worker = new Worker(
          `const t = require(${JSON.stringify(helper)});
           t.leave("w.js:1:worker", t.enter("w.js:1:worker"));`,
          { eval: true }
        );
        worker.on("exit", () => {
          const kid = fork(path.join(__dirname, "child.js"));
          kid.on("exit", () => {
            t.leave("m.js:1:main", t.enter("m.js:1:main"));
            fs.writeFileSync("result.json", JSON.stringify({ pid: process.pid, kid: kid.pid }));
          });
        });
        """
    )
    outcome = run_program(tmp_path, source, files={"child.js": child})
    assert outcome.process.returncode == 0 and outcome.silent
    pids = {line["name"]: line["pid"] for line in outcome.lines}
    assert pids == {
        "worker": outcome.result["pid"],  # a thread of the main process
        "main": outcome.result["pid"],
        "child": outcome.result["kid"],
    }


def test_many_copies_share_one_exit_listener(tmp_path: Path) -> None:
    """Jest loads every module again for each test file; more than ten exit listeners
    would make Node print a MaxListenersExceededWarning."""
    source = textwrap.dedent(
        """\
        const fs = require("node:fs");
        const helper = require.resolve("./_telemetry_utils.js");
        for (let i = 0; i < 15; i++) {
          delete require.cache[helper];
          const t = require(helper);
          t.leave("a.js:" + (i + 1) + ":f", t.enter("a.js:" + (i + 1) + ":f"));
        }
        const listeners = process.listenerCount("exit");
        fs.writeFileSync("result.json", JSON.stringify({ listeners }));
        """
    )
    outcome = run_program(tmp_path, source)
    assert outcome.process.returncode == 0 and outcome.silent
    assert outcome.result == {"listeners": 1}
    assert sorted(line["line"] for line in outcome.lines) == list(range(1, 16))


def test_es_module_without_get_builtin_module(tmp_path: Path) -> None:
    """Node before 20.16 has no ``process.getBuiltinModule``, and an ES module no
    ``require``: the helper loads ``fs`` and ``util`` with ``import()``. Until they
    arrive, objects are recorded as ``<object>``."""
    source = textwrap.dedent(
        """\
        import "./setup.js";
        import * as t from "./_telemetry_utils.js";
        t.leave("a.js:1:f", t.enter("a.js:1:f"));
        t.value("a.js:2:f:x", { a: 1 });
        await new Promise((resolve) => setTimeout(resolve, 50));
        t.value("a.js:2:f:x", { a: 2 });
        """
    )
    setup = "delete process.getBuiltinModule;\n"
    outcome = run_program(
        tmp_path, source, flavor="esm", package_type="module", files={"setup.js": setup}
    )
    assert outcome.process.returncode == 0 and outcome.silent
    lines = {line["type"]: line for line in outcome.lines}
    assert lines["function"]["calls"] == 1
    assert lines["variable"]["samples"] == ["<object>", "{a: 2}"]


SITES = [
    "src/a.js:10:f",
    "src/a.js:11:Cls.m|checkout",
    "C:/w/a.js:3:f",  # a colon in the path
    "weird",  # no parts at all
    "a.js:x:f",  # not a line number
    "a.js:5:g|ev:x",  # a colon after the bar: no event
    "a.js:6:h|",  # nothing after the bar: no event
    "a.js:007:k",
]
VARIABLE_SITES = ["src/a.js:12:f:total", "src/a.js:13:f:n|ev", "weird:var", "a.js:1:f"]


def _python_lines(folder: Path) -> list[dict[str, Any]]:
    folder.mkdir()
    shutil.copy(PY_HELPER, folder / "_telemetry_utils.py")
    script = textwrap.dedent(
        f"""\
        import _telemetry_utils as t
        for site in {SITES!r}:
            t.leave(site, t.enter(site))
        try:
            raise KeyError("k")
        except KeyError:
            t.error({SITES[0]!r}, None)
        t.loop({SITES[1]!r}, 3)
        for site in {VARIABLE_SITES!r}:
            t.var(site, 5)
        """
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("CODEMOD_")}
    env["CODEMOD_TELEMETRY_FILE"] = str(folder / "telemetry.jsonl")
    subprocess.run([sys.executable, "-c", script], cwd=folder, env=env, check=True)
    return [json.loads(line) for line in (folder / "telemetry.jsonl").read_text().splitlines()]


def test_same_lines_as_the_python_helper(tmp_path: Path) -> None:
    source = (
        'const t = require("./_telemetry_utils.js");\n'
        f"for (const site of {json.dumps(SITES)}) t.leave(site, t.enter(site));\n"
        f"t.error({json.dumps(SITES[0])}, false, new RangeError('k'));\n"
        f"t.loop({json.dumps(SITES[1])}, 3);\n"
        f"for (const site of {json.dumps(VARIABLE_SITES)}) t.value(site, 5);\n"
    )
    js = run_program(tmp_path / "js", source).lines
    python = _python_lines(tmp_path / "py")
    varying = {"pid", "time", "total_ns", "min_ns", "max_ns", "value_types", "error_types"}

    def comparable(lines: list[dict[str, Any]]) -> list[list[tuple[str, Any]]]:
        return [[(k, v) for k, v in line.items() if k not in varying] for line in lines]

    # same lines, same fields in the same order, same site parsing
    assert comparable(js) == comparable(python)
    assert [list(line) for line in js] == [list(line) for line in python]
    assert js[0]["error_types"] == {"RangeError": 1} and python[0]["error_types"] == {"KeyError": 1}
