"""The scripted scenario through every flavour and module system, with real Node and tsc.

Each variant (see ``scenario.VARIANTS``) is a project: ES modules in a ``"type":
"module"`` package, CommonJS in a default one, ``.mjs``/``.cjs`` files, TypeScript
compiled by tsc under strict flags to ES modules and to CommonJS, the ``.js`` helper
used from TypeScript through its ``.d.ts`` and through ``allowJs``. All TypeScript
projects compile in one ``tsc -b``; every program then runs once. The JSON lines of
all variants must be the same, apart from pids, times and durations.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from js_support import NodeTools, run_node, run_tsc_build

from .scenario import BY_NAME, FILE, VARIANTS, after_tsc, build, by_site, normalised, read_lines


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    lines: list[dict[str, Any]]
    result: dict[str, Any]


@pytest.fixture(scope="module")
def runs(node_tools: NodeTools, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    root = tmp_path_factory.mktemp("scenario")
    mains = {variant.name: build(variant, root / variant.name) for variant in VARIANTS}
    typescript = [root / v.name for v in VARIANTS if v.is_typescript]
    compiled = run_tsc_build(typescript, node_tools)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    assert compiled.stdout == ""
    found: dict[str, Run] = {}
    for variant in VARIANTS:
        folder = root / variant.name
        if variant.is_typescript:
            after_tsc(variant, folder)
        telemetry = folder / "telemetry.jsonl"
        start = time.monotonic()
        result = run_node(mains[variant.name], folder, {"CODEMOD_TELEMETRY_FILE": str(telemetry)})
        seconds = time.monotonic() - start
        seen = folder / "result.json"
        found[variant.name] = Run(
            result.returncode,
            result.stdout,
            result.stderr,
            seconds,
            read_lines(telemetry),
            json.loads(seen.read_text()) if seen.exists() else {},
        )
    return found


@pytest.mark.parametrize("name", [v.name for v in VARIANTS])
def test_runs_silently_and_exits_promptly(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    assert run.seconds < 5  # the 10 s flush timer is unref'd


@pytest.mark.parametrize("name", [v.name for v in VARIANTS if v.name != "esm"])
def test_same_telemetry_in_every_variant(runs: dict[str, Run], name: str) -> None:
    assert normalised(runs[name].lines) == normalised(runs["esm"].lines)
    assert runs[name].result == runs["esm"].result


def test_what_the_program_saw(runs: dict[str, Run]) -> None:
    result = runs["esm"].result
    assert result["on"] is True
    assert result["tokenType"] == "number"  # performance.now() while aggregating
    assert result["sampledCount"] is True and result["sampledSize"] == 1
    assert (result["attrPlain"], result["attrField"], result["attrString"]) == (2, 2, 3)
    assert result["exports"] == sorted(
        ["attr", "enter", "error", "flush", "leave", "loop", "on", "sampled", "value"]
    )
    # no getter, Proxy trap, toJSON or toString of the user's ever ran
    assert not any(result["touched"].values()), result["touched"]


def test_function_lines(runs: dict[str, Run]) -> None:
    sites = by_site(runs["esm"].lines)
    buy = sites[("function", "Shop.buy")]
    assert (buy["file"], buy["line"], buy["calls"], buy["errors"]) == (FILE, 10, 3, 0)
    assert buy["event"] == "purchase" and "error_types" not in buy
    assert 0 < buy["min_ns"] <= buy["max_ns"] <= buy["total_ns"] < 2_000_000_000
    fail = sites[("function", "Shop.fail")]
    assert (fail["calls"], fail["errors"]) == (6, 6) and "event" not in fail
    assert fail["error_types"] == {
        "TypeError": 1,
        "NotFound": 1,  # its class: its name is Error's
        "ValidationError": 1,  # its name: e.name = "ValidationError"
        "string": 1,  # a thrown primitive
        "Object": 1,  # a thrown object whose name is a getter (not run)
        "Error": 1,  # an Error whose message is a getter (not run)
    }
    assert set(buy) == {
        "type", "name", "file", "line", "calls", "errors", "total_ns", "min_ns", "max_ns",
        "pid", "time", "event",
    }  # fmt: skip
    assert isinstance(buy["pid"], int) and abs(buy["time"] - time.time()) < 600


def test_loop_line(runs: dict[str, Run]) -> None:
    loop = by_site(runs["esm"].lines)[("loop", "Shop.buy")]
    assert (loop["line"], loop["runs"], loop["iterations"], loop["max_iterations"]) == (
        12,
        3,
        11,
        7,
    )
    assert loop["event"] == "scan"


EXPECTED_SAMPLES = {
    "count": (["number"], ["0", "1", "2"]),
    "mixed": (["number", "string", "null", "boolean"], ["1", '"one"', "null"]),
    "big": (["bigint"], ["123n"]),
    "huge": (["bigint"], ["<bigint of 201 bits>"]),
    "text": (["string"], ['"' + "x" * 119 + "..."]),
    "sym": (["symbol"], ["Symbol(tag)"]),
    "cycle": (["Object"], ['{name: "a", self: <cycle>}']),
    "getter": (["Object"], ["{plain: 1, boom: <computed>}"]),
    "proxy": (["Proxy"], ["<Proxy>"]),
    "hooks": (["Object"], ["{toJSON: <Function>, toString: <Function>}"]),
    "shop": (["Shop"], ["<Shop>"]),
    "nested": (["Object"], ['{a: [1, <Object of 1>], "key with space": true}']),
    "holes": (["Array"], ["[1, <empty>, 3, 4, 5, ...]"]),
    "nullproto": (["Object"], ["{k: 1}"]),
    "undef": (["undefined"], ["undefined"]),
    "nul": (["null"], ["null"]),
    "negzero": (["number"], ["-0"]),
    "nan": (["number"], ["NaN"]),
    "date": (["Date"], ["<Date>"]),
    "map": (["Map"], ["<Map>"]),
    "fn": (["Function"], ["<Function>"]),
    "klass": (["Function"], ["<Function>"]),
    "bytes": (["Uint8Array"], ["<Uint8Array>"]),
    "attrPlain": (["number"], ["2"]),
    "attrGetter": (["unrecorded"], ["<computed>"]),
    "attrMissing": (["unrecorded"], ["<unset>"]),
    "attrProxy": (["unrecorded"], ["<computed>"]),
    "attrNull": (["unrecorded"], ["<unset>"]),
    "attrString": (["number"], ["3"]),
    "attrField": (["number"], ["2"]),
    "attrAccessor": (["unrecorded"], ["<computed>"]),  # a getter on the prototype
    "attrMethod": (["Function"], ["<Function>"]),  # inherited data: safe to read
    "attrDeep": (["unrecorded"], ["<unset>"]),
}


@pytest.mark.parametrize("name", list(EXPECTED_SAMPLES))
def test_variable_lines(runs: dict[str, Run], name: str) -> None:
    line = by_site(runs["esm"].lines)[("variable", name)]
    types, samples = EXPECTED_SAMPLES[name]
    assert (line["value_types"], line["samples"]) == (types, samples)
    assert (line["function"], line["file"], line["line"]) == ("Shop.report", FILE, 30)
    sampled = {"count": 10, "mixed": 5}.get(name, 1)  # sampling stops the calls at 10
    assert line["sampled"] == sampled


def test_variants_cover_the_module_systems() -> None:
    assert BY_NAME["esm"].package_type == "module" and BY_NAME["cjs"].package_type is None
    typescript = {v.tsconfig["module"] for v in VARIANTS if v.tsconfig is not None}
    assert typescript == {"nodenext", "commonjs", "esnext"}
    assert Path(BY_NAME["mjs"].main_file).suffix == ".mjs"
    assert Path(BY_NAME["cjs-ext"].main_file).suffix == ".cjs"
