"""The runtime helper ``_telemetry_utils.py`` as users experience it.

The helper reads its environment at import, so every test runs a small program in a
subprocess: a temporary project holding a copy of the helper, an instrumented module
``app.py`` (produced by ``instrument_text``) and a driver script. Assertions are made on
the program's output and on the JSON lines file it leaves behind; the OpenTelemetry
tests use the real SDK with an in-memory exporter.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from codemodkit.codemods.telemetry.python.codemod import instrument_text

REPO = Path(__file__).resolve().parents[3]
HELPER = REPO / "codemodkit" / "codemods" / "telemetry" / "runtime" / "_telemetry_utils.py"

APP_SOURCE = textwrap.dedent(
    """\
    import asyncio
    import time


    def add(a, b):
        total = a + b
        return total


    def fail(message):
        raise ValueError(message)


    def fail_key(mapping):
        return mapping["missing"]


    def count(items):
        n = 0
        for item in items:
            n += item
        return n


    def numbers(k):
        for i in range(k):
            yield i


    def slow():
        time.sleep(0.01)


    def interrupt():
        raise KeyboardInterrupt


    def leave_now():
        raise SystemExit(3)


    def take(iterator):
        return next(iterator)


    async def double(x):
        await asyncio.sleep(0)
        return 2 * x


    async def sleeper():
        await asyncio.sleep(10)


    def keep(value):
        kept = value
        return kept


    def inner():
        return 1


    def outer():
        return inner() + inner()


    def consume(k):
        result = 0
        for x in numbers(k):
            result += inner() + x
        return result


    async def fan_out():
        return await asyncio.gather(double(1), double(2))


    def warmup():
        return None


    class Box:
        def get(self):
            return 1
    """
)

# Not instrumented: user objects that must never be rendered by calling into them.
OBJS_SOURCE = textwrap.dedent(
    """\
    CALLS = []


    class Loud:
        def __repr__(self):
            CALLS.append("repr")
            return "Loud()"

        def __str__(self):
            CALLS.append("str")
            return "Loud"


    class Broken:
        def __repr__(self):
            CALLS.append("repr")
            raise RuntimeError("repr must not be called")

        def __str__(self):
            CALLS.append("str")
            raise RuntimeError("str must not be called")


    class Sneaky:
        @property
        def __class__(self):
            CALLS.append("__class__")
            raise RuntimeError("__class__ must not be read")


    class MyDict(dict):
        def __repr__(self):
            CALLS.append("repr")
            return "MyDict"


    class MyList(list):
        def __repr__(self):
            CALLS.append("repr")
            return "MyList"


    class MyStr(str):
        def __repr__(self):
            CALLS.append("repr")
            return "MyStr"


    class Outer:
        class Inner:
            def __repr__(self):
                CALLS.append("repr")
                return "Inner"


    class Key:
        def __hash__(self):
            CALLS.append("hash")
            return 1

        def __eq__(self, other):
            CALLS.append("eq")
            return self is other

        def __repr__(self):
            CALLS.append("repr")
            return "Key"


    class Meta(type):
        def __eq__(cls, other):
            CALLS.append("meta eq")
            return type.__eq__(cls, other)

        def __hash__(cls):
            CALLS.append("meta hash")
            return type.__hash__(cls)


    class Measured(metaclass=Meta):
        pass
    """
)


def line_of(text: str, source: str = APP_SOURCE) -> int:
    """1-based line of the first line of ``source`` containing ``text``."""
    for number, line in enumerate(source.splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in source")


def clean_env(**overrides: str) -> dict[str, str]:
    """The test process's environment without anything that steers the helper, OTel
    or warnings, plus ``overrides``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CODEMOD_", "OTEL_", "PYTHON"))
    }
    env.update(overrides)
    return env


@dataclass
class Project:
    """A user's project: the helper, the instrumented ``app`` and a driver script."""

    root: Path

    @property
    def out(self) -> Path:
        return self.root / "out" / "telemetry.jsonl"

    def run(
        self,
        script: str,
        *,
        env: dict[str, str] | None = None,
        telemetry_file: str | None = "default",
        python: str = sys.executable,
        flags: Iterable[str] = (),
        cwd: Path | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``script`` as ``main.py``; ``telemetry_file=None`` leaves the variable unset."""
        (self.root / "main.py").write_text(textwrap.dedent(script), encoding="utf-8")
        variables = dict(env or {})
        if telemetry_file == "default":
            variables["CODEMOD_TELEMETRY_FILE"] = str(self.out)
        elif telemetry_file is not None:
            variables["CODEMOD_TELEMETRY_FILE"] = telemetry_file
        result = subprocess.run(
            [python, *flags, str(self.root / "main.py")],
            cwd=cwd or self.root,
            env=clean_env(**variables),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result

    def records(self, path: Path | None = None) -> list[dict[str, Any]]:
        text = (path or self.out).read_text(encoding="utf-8")
        assert text.endswith("\n")
        return [json.loads(line) for line in text.splitlines()]


def make_project(root: Path, relpath: str = "app.py") -> Project:
    root.mkdir(parents=True, exist_ok=True)
    (root / "out").mkdir(exist_ok=True)
    shutil.copy(HELPER, root / "_telemetry_utils.py")
    instrumented = instrument_text(APP_SOURCE, module="app", relpath=relpath)
    assert "_codemod_tel.enter(" in instrumented
    (root / "app.py").write_text(instrumented, encoding="utf-8")
    (root / "objs.py").write_text(OBJS_SOURCE, encoding="utf-8")
    return Project(root)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path / "project")


def functions(records: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [r for r in records if r["type"] == "function" and r["name"] == name]


def only(records: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(records) == 1, records
    return records[0]


def interpreter(version: str) -> str | None:
    """The newest installed pyenv interpreter for ``version`` (e.g. "3.7"), if any."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    if not root.is_dir():
        return None
    candidates = sorted(
        (p for p in root.iterdir() if p.name.startswith(version + ".")),
        key=lambda p: [int(x) for x in p.name.split(".") if x.isdigit()],
    )
    for folder in reversed(candidates):
        binary = folder / "bin" / "python3"
        if binary.exists():
            return str(binary)
    return None


# -- JSON sink: aggregation ------------------------------------------------------------
BASIC_SCRIPT = """\
    import asyncio, json, os
    import app

    for a, b in [(1, 2), (1, 2), (2, 2), (0, 5), (3, 3)]:
        app.add(a, b)
    for message in ["one", "two"]:
        try:
            app.fail(message)
        except ValueError:
            pass
    try:
        app.fail_key({})
    except KeyError:
        pass
    app.count([1, 2, 3])
    app.count([])
    app.count([1] * 5)
    list(app.numbers(4))
    early = app.numbers(10)
    next(early)
    early.close()
    app.slow()
    app.slow()
    try:
        app.interrupt()
    except KeyboardInterrupt:
        pass
    try:
        app.leave_now()
    except SystemExit:
        pass
    try:
        app.take(iter([]))
    except StopIteration:
        pass

    async def cancel():
        task = asyncio.ensure_future(app.sleeper())
        await asyncio.sleep(0)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    asyncio.run(cancel())
    asyncio.run(app.double(4))
    app.Box().get()
    print(json.dumps({"pid": os.getpid()}))
    # no flush(): the helper flushes at exit
"""


@pytest.fixture(scope="module")
def basic(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], int, float]:
    project = make_project(tmp_path_factory.mktemp("basic"))
    started = time.time()
    result = project.run(BASIC_SCRIPT)
    assert result.stderr == ""
    return project.records(), json.loads(result.stdout)["pid"], started


def test_calls_are_counted_per_function(basic: tuple[list[dict[str, Any]], int, float]) -> None:
    records = basic[0]
    assert only(functions(records, "app.add"))["calls"] == 5
    assert only(functions(records, "app.count"))["calls"] == 3
    assert only(functions(records, "app.Box.get"))["calls"] == 1
    assert only(functions(records, "app.double"))["calls"] == 1


def test_errors_are_counted_by_type(basic: tuple[list[dict[str, Any]], int, float]) -> None:
    records = basic[0]
    fail = only(functions(records, "app.fail"))
    assert (fail["calls"], fail["errors"], fail["error_types"]) == (2, 2, {"ValueError": 2})
    key = only(functions(records, "app.fail_key"))
    assert (key["calls"], key["errors"], key["error_types"]) == (1, 1, {"KeyError": 1})
    assert "error_types" not in only(functions(records, "app.add"))


@pytest.mark.parametrize(
    "name",
    ["app.interrupt", "app.leave_now", "app.take", "app.numbers", "app.sleeper"],
    ids=["KeyboardInterrupt", "SystemExit", "StopIteration", "GeneratorExit", "CancelledError"],
)
def test_control_flow_exceptions_are_not_errors(
    basic: tuple[list[dict[str, Any]], int, float], name: str
) -> None:
    record = only(functions(basic[0], name))
    assert record["calls"] >= 1
    assert record["errors"] == 0
    assert "error_types" not in record


def test_durations_are_consistent_nanoseconds(
    basic: tuple[list[dict[str, Any]], int, float],
) -> None:
    for record in (r for r in basic[0] if r["type"] == "function"):
        assert 0 <= record["min_ns"] <= record["max_ns"] <= record["total_ns"], record
    slow = only(functions(basic[0], "app.slow"))
    assert slow["min_ns"] >= 10_000_000  # slept 10 ms
    assert slow["total_ns"] >= slow["min_ns"] + slow["max_ns"]
    assert slow["total_ns"] < 5_000_000_000


def test_loops_record_runs_iterations_and_longest(
    basic: tuple[list[dict[str, Any]], int, float],
) -> None:
    loops = {r["function"]: r for r in basic[0] if r["type"] == "loop"}
    count = loops["app.count"]
    assert (count["runs"], count["iterations"], count["max_iterations"]) == (3, 8, 5)
    assert (count["file"], count["line"]) == ("app.py", line_of("for item in items"))
    numbers = loops["app.numbers"]
    # exhausted after 4, and closed after 1 (the loop's finally still runs)
    assert (numbers["runs"], numbers["iterations"], numbers["max_iterations"]) == (2, 5, 4)


def test_variables_record_types_and_distinct_samples(
    basic: tuple[list[dict[str, Any]], int, float],
) -> None:
    variable = only([r for r in basic[0] if r["type"] == "variable"])
    assert variable["function"] == "app.add"
    assert variable["name"] == "total"
    assert (variable["file"], variable["line"]) == ("app.py", line_of("total = a + b"))
    assert variable["sampled"] == 5
    assert variable["value_types"] == ["int"]
    # 3, 3, 4, 5, 6: at most three samples, no repeats
    assert variable["samples"] == ["3", "4", "5"]


def test_one_line_per_site_flushed_at_exit(
    basic: tuple[list[dict[str, Any]], int, float],
) -> None:
    records, pid, started = basic
    sites = [(r["type"], r["file"], r["line"], r.get("name")) for r in records]
    assert len(sites) == len(set(sites))
    assert {r["pid"] for r in records} == {pid}
    assert all(started - 1 <= r["time"] <= time.time() + 1 for r in records)


def test_function_site_is_split_into_name_file_line(
    basic: tuple[list[dict[str, Any]], int, float],
) -> None:
    add = only(functions(basic[0], "app.add"))
    assert (add["file"], add["line"]) == ("app.py", line_of("def add("))
    get = only(functions(basic[0], "app.Box.get"))
    assert (get["file"], get["line"]) == ("app.py", line_of("def get("))


def test_site_path_containing_colons(tmp_path: Path) -> None:
    relpath = "C:/work/odd:name/app.py"
    project = make_project(tmp_path / "p", relpath=relpath)
    project.run(
        """\
        import app
        app.add(2, 3)
        app.count([1, 1])
        """
    )
    records = project.records()
    add = only(functions(records, "app.add"))
    assert (add["file"], add["line"]) == (relpath, line_of("def add("))
    variable = only([r for r in records if r["type"] == "variable"])
    assert (variable["file"], variable["line"]) == (relpath, line_of("total = a + b"))
    assert (variable["function"], variable["name"]) == ("app.add", "total")
    loop = only([r for r in records if r["type"] == "loop"])
    assert (loop["file"], loop["function"], loop["iterations"]) == (relpath, "app.count", 2)


def test_lines_are_deltas_between_flushes(project: Project) -> None:
    project.run(
        """\
        import app, _telemetry_utils
        for _ in range(3):
            app.add(1, 1)
            app.count([1, 2])
        _telemetry_utils.flush()
        _telemetry_utils.flush()  # nothing new: writes nothing
        for _ in range(2):
            app.add(2, 2)
        _telemetry_utils.flush()
        app.add(3, 3)
        app.count([1])
        """
    )
    records = project.records()
    assert [r["calls"] for r in functions(records, "app.add")] == [3, 2, 1]
    assert [r["calls"] for r in functions(records, "app.count")] == [3, 1]
    loops = [r for r in records if r["type"] == "loop"]
    assert [(r["runs"], r["iterations"], r["max_iterations"]) for r in loops] == [
        (3, 6, 2),
        (1, 1, 1),
    ]
    assert [r["sampled"] for r in records if r["type"] == "variable"] == [3, 2, 1]


def test_long_running_process_flushes_every_ten_seconds(project: Project) -> None:
    """A server that never exits still gets its telemetry written (real 10 s wait)."""
    result = project.run(
        f"""\
        import json, os, time
        import app
        app.add(1, 2)
        time.sleep(10.3)
        app.add(1, 2)  # the first call after the period writes what was gathered before it
        with open({str(project.out)!r}) as stream:
            print(json.dumps([json.loads(line) for line in stream]))
        app.add(1, 2)
        """
    )
    written_while_running = json.loads(result.stdout)
    assert [r["calls"] for r in functions(written_while_running, "app.add")] == [1]
    assert [r["calls"] for r in functions(project.records(), "app.add")] == [1, 2]


def test_appends_to_an_existing_file(project: Project) -> None:
    project.out.write_text('{"type":"earlier"}\n', encoding="utf-8")
    project.run("import app\napp.add(1, 2)\n")
    project.run("import app\napp.add(1, 2)\n")
    records = project.records()
    assert records[0] == {"type": "earlier"}
    assert [r["calls"] for r in functions(records, "app.add")] == [1, 1]


# -- rendering of values --------------------------------------------------------------
# name -> expression evaluated both in the program and here; the sample must equal repr
REPR_CASES = {
    "int": "42",
    "negative": "-7",
    "float": "-1.5",
    "bool": "True",
    "none": "None",
    "complex": "1+2j",
    "str": '"it\'s"',
    "unicode": "'caf\\u00e9 \\u2603'",
    "bytes": "b'\\x00ab'",
    "list": "[1, 'a', None]",
    "tuple1": "(1,)",
    "tuple0": "()",
    "dict": "{'a': [1, 2], 'b': (3,)}",
    "frozenset1": "frozenset({1})",
    "set": "{1}",
    "empty_set": "set()",
    "empty_frozenset": "frozenset()",
}

RENDER_SCRIPT = """\
    import json, sys
    import _telemetry_utils as t
    import objs

    values = {name: eval(expression) for name, expression in CASES.items()}
    nested = [1]
    for _ in range(10000):
        nested = [nested]
    loop = [1]
    loop.append(loop)
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(4300)
    values.update(
        {
            "huge": 10**5000,
            "huge_negative": -(10**5000),
            "long_str": "x" * 1000,
            "long_list": list(range(100)),
            "nested": nested,
            "self_ref": loop,
            "loud": objs.Loud(),
            "broken": objs.Broken(),
            "sneaky": objs.Sneaky(),
            "my_dict": objs.MyDict(a=1),
            "my_list": objs.MyList([1]),
            "my_str": objs.MyStr("s"),
            "inner": objs.Outer.Inner(),
            "in_list": [objs.Broken(), 1],
            "in_dict_value": {"k": objs.Loud()},
            "in_set": {objs.Loud()},
            "function": len,
            "bytearray": bytearray(b"ab"),
        }
    )
    for name, value in values.items():
        t.var("render.py:1:render:" + name, value)
    print(json.dumps(objs.CALLS))
"""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    project = make_project(tmp_path_factory.mktemp("render"))
    script = RENDER_SCRIPT.replace("CASES.items()", f"{REPR_CASES!r}.items()")
    result = project.run(script)
    assert result.stderr == ""
    assert json.loads(result.stdout) == [], "var() called into user code"
    return {r["name"]: r for r in project.records()}


@pytest.mark.parametrize("name", list(REPR_CASES))
def test_builtin_values_render_like_repr(rendered: dict[str, dict[str, Any]], name: str) -> None:
    expected = repr(eval(REPR_CASES[name]))
    assert rendered[name]["samples"] == [expected]
    assert rendered[name]["value_types"] == [type(eval(REPR_CASES[name])).__name__]


def test_huge_ints_render_by_size_without_conversion(
    rendered: dict[str, dict[str, Any]],
) -> None:
    bits = (10**5000).bit_length()
    assert rendered["huge"]["samples"] == [f"<int of {bits} bits>"]
    assert rendered["huge_negative"]["samples"] == [f"<int of {bits} bits>"]
    assert rendered["huge"]["value_types"] == ["int"]


def test_long_values_are_truncated(rendered: dict[str, dict[str, Any]]) -> None:
    (long_str,) = rendered["long_str"]["samples"]
    assert long_str.startswith("'xxxx") and long_str.endswith("...")
    assert len(long_str) < 200
    assert rendered["long_list"]["samples"] == ["[0, 1, 2, 3, 4, ...]"]


def test_deep_and_self_referencing_containers(rendered: dict[str, dict[str, Any]]) -> None:
    assert rendered["nested"]["samples"] == ["[[<list of 1>]]"]
    assert rendered["self_ref"]["samples"] == ["[1, [1, <list of 2>]]"]


@pytest.mark.parametrize(
    ("name", "sample", "value_type"),
    [
        ("loud", "<objs.Loud>", "objs.Loud"),
        ("broken", "<objs.Broken>", "objs.Broken"),
        ("sneaky", "<objs.Sneaky>", "objs.Sneaky"),
        ("my_dict", "<objs.MyDict>", "objs.MyDict"),
        ("my_list", "<objs.MyList>", "objs.MyList"),
        ("my_str", "<objs.MyStr>", "objs.MyStr"),
        ("inner", "<objs.Outer.Inner>", "objs.Outer.Inner"),
        ("in_list", "[<objs.Broken>, 1]", "list"),
        ("in_dict_value", "{'k': <objs.Loud>}", "dict"),
        ("in_set", "{<objs.Loud>}", "set"),
        ("function", "<builtin_function_or_method>", "builtin_function_or_method"),
        ("bytearray", "<bytearray>", "bytearray"),
    ],
)
def test_user_objects_are_recorded_by_type_name(
    rendered: dict[str, dict[str, Any]], name: str, sample: str, value_type: str
) -> None:
    assert rendered[name]["samples"] == [sample]
    assert rendered[name]["value_types"] == [value_type]


def test_hostile_values_through_instrumented_code(project: Project) -> None:
    """The program keeps working and its own objects are never asked to render."""
    result = project.run(
        """\
        import app, objs
        values = [objs.Broken(), objs.Sneaky(), objs.Loud(), 10**5000, objs.MyDict()]
        for value in values:
            assert app.keep(value) is value
        print(len(objs.CALLS))
        """
    )
    assert result.stdout == "0\n"
    assert result.stderr == ""
    variable = only([r for r in project.records() if r["type"] == "variable"])
    assert variable["sampled"] == 5
    assert variable["samples"] == ["<objs.Broken>", "<objs.Sneaky>", "<objs.Loud>"]


def test_dict_with_user_keys_does_not_call_hash(project: Project) -> None:
    result = project.run(
        """\
        import json, objs, _telemetry_utils as t
        value = {objs.Key(): 1, (1, objs.Key()): 2}
        objs.CALLS.clear()
        t.var("a.py:1:f:v", value)
        print(json.dumps(objs.CALLS))
        """
    )
    assert json.loads(result.stdout) == []


def test_metaclass_eq_is_not_called(project: Project) -> None:
    result = project.run(
        """\
        import json, objs, _telemetry_utils as t
        value = objs.Measured()
        objs.CALLS.clear()
        t.var("a.py:1:f:v", value)
        print(json.dumps(objs.CALLS))
        """
    )
    assert json.loads(result.stdout) == []


# -- file location and switches ------------------------------------------------------
def test_default_file_is_in_the_working_directory_at_import(project: Project) -> None:
    work = project.root / "work"
    elsewhere = project.root / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    project.run(
        f"""\
        import os
        import app
        os.chdir({str(elsewhere)!r})
        app.add(1, 2)
        """,
        telemetry_file=None,
        cwd=work,
    )
    assert not (elsewhere / "telemetry.jsonl").exists()
    assert not (project.root / "telemetry.jsonl").exists()
    assert only(functions(project.records(work / "telemetry.jsonl"), "app.add"))["calls"] == 1


def test_relative_file_is_resolved_at_import(project: Project) -> None:
    work = project.root / "work"
    elsewhere = project.root / "elsewhere"
    (work / "logs").mkdir(parents=True)
    (elsewhere / "logs").mkdir(parents=True)
    project.run(
        f"""\
        import os
        import app
        os.chdir({str(elsewhere)!r})
        app.add(1, 2)
        """,
        telemetry_file="logs/t.jsonl",
        cwd=work,
    )
    assert not (elsewhere / "logs" / "t.jsonl").exists()
    assert only(functions(project.records(work / "logs" / "t.jsonl"), "app.add"))["calls"] == 1


DIRECT_CALLS = """\
    import json
    import app, _telemetry_utils as t
    results = [t.on]
    token = t.enter("a.py:1:f")
    t.leave("a.py:1:f", token)
    t.error("a.py:1:f", token)
    t.leave("a.py:5:g", t.enter_gen("a.py:5:g"))
    t.loop("a.py:2:f", 3)
    t.var("a.py:3:f:x", object())
    t.var("a.py:3:f:y", [])
    try:
        raise ValueError("x")
    except ValueError:
        t.error("a.py:1:f", token)
    t.flush()
    try:
        app.fail("x")
    except ValueError:
        pass
    results.append(app.add(1, 2))
    results.append(list(app.numbers(2)))
    print(json.dumps(results))
"""


@pytest.mark.parametrize("value", ["0", "false", "off", "no", " OFF "])
def test_disabled_does_nothing(project: Project, value: str) -> None:
    result = project.run(DIRECT_CALLS, env={"CODEMOD_TELEMETRY": value})
    assert result.stderr == ""
    results = json.loads(result.stdout)
    assert results[0] is False
    assert results[-2:] == [3, [0, 1]]
    assert not project.out.exists()
    assert not (project.root / "telemetry.jsonl").exists()


@pytest.mark.parametrize("value", ["1", "yes", "on", "true"])
def test_truthy_values_enable_telemetry(project: Project, value: str) -> None:
    result = project.run(DIRECT_CALLS, env={"CODEMOD_TELEMETRY": value})
    assert json.loads(result.stdout)[0] is True
    assert only(functions(project.records(), "app.add"))["calls"] == 1


def test_values_off_records_types_without_samples(project: Project) -> None:
    project.run(
        """\
        import app
        app.add(1, 2)
        app.keep("secret")
        """,
        env={"CODEMOD_TELEMETRY_VALUES": "0"},
    )
    variables = {r["name"]: r for r in project.records() if r["type"] == "variable"}
    assert variables["total"]["value_types"] == ["int"]
    assert variables["kept"]["value_types"] == ["str"]
    assert all("samples" not in r for r in variables.values())
    assert "secret" not in project.out.read_text(encoding="utf-8")


@pytest.mark.parametrize("enabled", ["0", "1"])
def test_disabled_instrumented_code_never_calls_the_helper(project: Project, enabled: str) -> None:
    """With telemetry off, every helper entry point may explode: nothing calls it.
    (With telemetry on, the same program must crash, proving the trap works.)"""
    result = project.run(
        """\
        import asyncio, json
        import _telemetry_utils as t

        def trap(*args):
            raise AssertionError("called the helper")

        for name in ("enter", "enter_gen", "leave", "error", "loop", "var", "flush"):
            setattr(t, name, trap)
        import app

        results = [app.add(1, 2), app.count([1, 2]), list(app.numbers(3)), app.outer()]
        try:
            app.fail("x")
        except ValueError as exc:
            results.append(str(exc))
        results.append(asyncio.run(app.fan_out()))
        results.append(app.consume(2))
        print(json.dumps(results))
        """,
        env={"CODEMOD_TELEMETRY": enabled},
        check=False,
    )
    if enabled == "0":
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == [3, 3, [0, 1, 2], 2, "x", [2, 4], 3]
        assert not project.out.exists()
    else:
        assert result.returncode != 0
        assert "called the helper" in result.stderr


# -- silence -------------------------------------------------------------------------
NOISY_PROGRAM = """\
    import asyncio
    import app, objs, _telemetry_utils as t
    print("start")
    print(app.add(1, 2))
    for message in ("a", "b"):
        try:
            app.fail(message)
        except ValueError as exc:
            print("caught", exc)
    gen = app.numbers(5)
    print(next(gen))
    gen.close()
    print(app.keep(objs.Broken()) is not None)
    print(asyncio.run(app.fan_out()))
    t.flush()
    t.flush()
    print(app.count([1, 2, 3]))
    print("end")
"""
NOISY_OUTPUT = "start\n3\ncaught a\ncaught b\n0\nTrue\n[2, 4]\n6\nend\n"


@pytest.mark.parametrize("target", ["writable", "directory", "under_a_file", "missing_dir"])
def test_never_writes_to_stdout_or_stderr_nor_warns(project: Project, target: str) -> None:
    paths = {
        "writable": project.out,
        "directory": project.root / "out",
        "under_a_file": project.root / "objs.py" / "telemetry.jsonl",
        "missing_dir": project.root / "no" / "such" / "dir" / "telemetry.jsonl",
    }
    result = project.run(
        NOISY_PROGRAM, telemetry_file=str(paths[target]), flags=("-X", "dev", "-W", "error")
    )
    assert result.stdout == NOISY_OUTPUT
    assert result.stderr == ""
    if target == "writable":
        assert only(functions(project.records(), "app.fail"))["errors"] == 2
    else:
        assert not project.out.exists()
        assert not (project.root / "no").exists()


# -- concurrency ---------------------------------------------------------------------
THREADS_SCRIPT = """\
    import sys, threading
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    import app

    def work():
        for i in range(2000):
            app.add(i, 1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
"""


def test_threads_lose_no_calls(project: Project) -> None:
    project.run(THREADS_SCRIPT)
    add = only(functions(project.records(), "app.add"))
    assert add["calls"] == 16000
    # Variables are sampled: ten assignments, plus at most one per thread that got past
    # the check while the tenth was being recorded.
    variable = only([r for r in project.records() if r["type"] == "variable"])
    assert 10 <= variable["sampled"] <= 10 + 8


def test_threads_lose_no_calls_on_older_pythons(project: Project) -> None:
    python = next(filter(None, (interpreter(v) for v in ("3.9", "3.8", "3.7"))), None)
    if python is None:
        pytest.skip("no Python 3.7-3.9 installed")
    project.run(THREADS_SCRIPT.replace("range(2000)", "range(5000)"), python=python)
    assert only(functions(project.records(), "app.add"))["calls"] == 40000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_reports_only_its_own_calls(project: Project) -> None:
    result = project.run(
        """\
        import json, os, sys
        import app
        for _ in range(3):
            app.add(1, 1)
        app.count([1, 2])
        pid = os.fork()
        if pid == 0:
            for _ in range(2):
                app.add(2, 2)
            sys.exit(0)  # a normal exit: the child's atexit flush runs
        _, status = os.waitpid(pid, 0)
        app.add(3, 3)
        print(json.dumps({"parent": os.getpid(), "child": pid, "status": status}))
        """
    )
    assert result.stderr == ""
    pids = json.loads(result.stdout)
    assert pids["status"] == 0
    records = project.records()
    by_pid: dict[int, dict[str, int]] = {}
    for record in records:
        if record["type"] == "function":
            key, value = record["name"], record["calls"]
        elif record["type"] == "loop":
            key, value = "loop", record["runs"]
        else:
            continue
        counts = by_pid.setdefault(record["pid"], {})
        counts[key] = counts.get(key, 0) + value
    assert by_pid == {
        pids["child"]: {"app.add": 2},
        pids["parent"]: {"app.add": 4, "app.count": 1, "loop": 1},
    }
    child_var = [r for r in records if r["type"] == "variable" and r["pid"] == pids["child"]]
    assert only(child_var)["sampled"] == 2


# -- OpenTelemetry -----------------------------------------------------------------
SPAN_DUMP = """\
    def dump(exporter):
        out = []
        for span in exporter.get_finished_spans():
            out.append(
                {
                    "name": span.name,
                    "id": span.context.span_id,
                    "parent": span.parent.span_id if span.parent else None,
                    "trace": span.context.trace_id,
                    "attributes": dict(span.attributes),
                    "status": span.status.status_code.name,
                    "events": [
                        {"name": e.name, "attributes": dict(e.attributes)} for e in span.events
                    ],
                }
            )
        return out
"""

OTEL_SETUP = """\
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    def register():
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        return exporter
"""

OTEL_SCRIPT = (
    "import asyncio, json\n"
    + textwrap.dedent(OTEL_SETUP)
    + textwrap.dedent(SPAN_DUMP)
    + textwrap.dedent(
        """\
        exporter = register()
        import app, _telemetry_utils as t

        app.warmup()  # the first instrumented call after registration
        app.add(1, 2)
        try:
            app.fail("boom")
        except ValueError:
            pass
        try:
            app.interrupt()
        except KeyboardInterrupt:
            pass
        app.outer()
        app.count([5, 6, 7])
        app.consume(3)
        asyncio.run(app.double(21))
        asyncio.run(app.fan_out())
        app.keep(10**5000)
        t.flush()
        print(json.dumps(dump(exporter)))
        """
    )
)


@pytest.fixture(scope="module")
def otel_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], Project]:
    pytest.importorskip("opentelemetry.sdk.trace")
    project = make_project(tmp_path_factory.mktemp("otel"))
    result = project.run(OTEL_SCRIPT)
    assert result.stderr == ""
    return json.loads(result.stdout), project


def spans_named(spans: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [s for s in spans if s["name"] == name]


def test_otel_span_per_call_with_code_attributes(
    otel_run: tuple[list[dict[str, Any]], Project],
) -> None:
    spans = otel_run[0]
    add = only(spans_named(spans, "app.add"))
    assert add["attributes"] == {
        "code.function.name": "app.add",
        "code.file.path": "app.py",
        "code.line.number": line_of("def add("),
    }
    assert add["status"] == "UNSET"
    assert len(spans_named(spans, "app.inner")) == 5  # 2 from outer, 3 from consume


def test_otel_exception_marks_span_as_error(
    otel_run: tuple[list[dict[str, Any]], Project],
) -> None:
    fail = only(spans_named(otel_run[0], "app.fail"))
    assert fail["status"] == "ERROR"
    (event,) = [e for e in fail["events"] if e["name"] == "exception"]
    assert event["attributes"]["exception.type"] == "ValueError"
    assert event["attributes"]["exception.message"] == "boom"
    interrupted = only(spans_named(otel_run[0], "app.interrupt"))
    assert interrupted["status"] == "UNSET"
    assert interrupted["events"] == []


def test_otel_nested_calls_are_parent_and_child(
    otel_run: tuple[list[dict[str, Any]], Project],
) -> None:
    spans = otel_run[0]
    outer = only(spans_named(spans, "app.outer"))
    children = [s for s in spans if s["parent"] == outer["id"]]
    assert [s["name"] for s in children] == ["app.inner", "app.inner"]
    assert {s["trace"] for s in children} == {outer["trace"]}
    assert outer["parent"] is None


def test_otel_loop_and_variable_events(otel_run: tuple[list[dict[str, Any]], Project]) -> None:
    spans = otel_run[0]
    count = only(spans_named(spans, "app.count"))
    assert count["events"] == [
        {
            "name": "codemod.loop",
            "attributes": {
                "codemod.loop.iterations": 3,
                "code.function.name": "app.count",
                "code.file.path": "app.py",
                "code.line.number": line_of("for item in items"),
            },
        }
    ]
    add = only(spans_named(spans, "app.add"))
    assert add["events"] == [
        {
            "name": "codemod.variable",
            "attributes": {
                "codemod.variable.name": "total",
                "codemod.variable.type": "int",
                "codemod.variable.value": "3",
                "code.function.name": "app.add",
                "code.file.path": "app.py",
                "code.line.number": line_of("total = a + b"),
            },
        }
    ]
    keep = only(spans_named(spans, "app.keep"))
    (event,) = keep["events"]
    assert event["attributes"]["codemod.variable.value"].startswith("<int of ")


def test_otel_generator_span_is_not_current(
    otel_run: tuple[list[dict[str, Any]], Project],
) -> None:
    spans = otel_run[0]
    consume = only(spans_named(spans, "app.consume"))
    numbers = only(spans_named(spans, "app.numbers"))
    assert numbers["parent"] == consume["id"]
    inner_in_loop = [s for s in spans_named(spans, "app.inner") if s["parent"] == consume["id"]]
    assert len(inner_in_loop) == 3
    assert not [s for s in spans if s["parent"] == numbers["id"]]


def test_otel_coroutines_get_spans(otel_run: tuple[list[dict[str, Any]], Project]) -> None:
    spans = otel_run[0]
    fan_out = only(spans_named(spans, "app.fan_out"))
    doubles = spans_named(spans, "app.double")
    assert len(doubles) == 3
    assert len([s for s in doubles if s["parent"] == fan_out["id"]]) == 2
    assert len([s for s in doubles if s["parent"] is None]) == 1


def test_otel_calls_are_not_written_to_the_json_file(
    otel_run: tuple[list[dict[str, Any]], Project],
) -> None:
    project = otel_run[1]
    names = set()
    if project.out.exists():
        names = {r.get("name") or r.get("function") for r in project.records()}
    assert names <= {"app.warmup"}  # see test_otel_first_call_after_registration_is_a_span


def test_otel_first_call_after_registration_is_a_span(
    otel_run: tuple[list[dict[str, Any]], Project],
) -> None:
    spans, project = otel_run
    assert len(spans_named(spans, "app.warmup")) == 1
    assert not project.out.exists()


LATE_OTEL_SCRIPT = (
    "import json, time\n"
    + textwrap.dedent(OTEL_SETUP)
    + textwrap.dedent(SPAN_DUMP)
    + textwrap.dedent(
        """\
        import app, _telemetry_utils as t
        app.add(1, 2)  # no provider yet: aggregated
        exporter = register()
        time.sleep(1.2)  # longer than the helper's check period
        for _ in range(3):
            app.add(3, 4)
        t.flush()
        print(json.dumps(dump(exporter)))
        """
    )
)


@pytest.fixture(scope="module")
def late_otel_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    pytest.importorskip("opentelemetry.sdk.trace")
    project = make_project(tmp_path_factory.mktemp("late"))
    result = project.run(LATE_OTEL_SCRIPT, env={"CODEMOD_TELEMETRY_VALUES": "0"})
    assert result.stderr == ""
    return json.loads(result.stdout), project.records()


def test_otel_provider_registered_later_is_noticed(
    late_otel_run: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    spans, records = late_otel_run
    json_calls = sum(r["calls"] for r in functions(records, "app.add"))
    span_calls = len(spans_named(spans, "app.add"))
    assert json_calls >= 1  # the call before registration
    assert span_calls >= 2  # switched within the check period
    assert json_calls + span_calls == 4  # nothing lost or counted twice


def test_otel_values_off_keeps_type_only(
    late_otel_run: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    spans = late_otel_run[0]
    for span in spans_named(spans, "app.add"):
        (event,) = span["events"]
        assert event["attributes"]["codemod.variable.type"] == "int"
        assert "codemod.variable.value" not in event["attributes"]


def test_otel_every_call_after_the_switch_is_a_span(
    late_otel_run: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    spans, records = late_otel_run
    assert sum(r["calls"] for r in functions(records, "app.add")) == 1
    assert len(spans_named(spans, "app.add")) == 3


def test_otel_api_without_provider_keeps_aggregating(project: Project) -> None:
    pytest.importorskip("opentelemetry.trace")
    result = project.run(
        """\
        import time
        import opentelemetry.trace
        import app
        app.add(1, 2)
        time.sleep(1.2)  # past the check period: the helper looks, finds no provider
        app.add(1, 2)
        app.add(1, 2)
        print(type(opentelemetry.trace.get_tracer_provider()).__name__)
        """
    )
    assert result.stdout == "ProxyTracerProvider\n"
    assert result.stderr == ""
    assert only(functions(project.records(), "app.add"))["calls"] == 3


# -- older and newer Pythons ---------------------------------------------------------
VERSION_SCRIPT = """\
    import asyncio, json, sys
    import app, objs, _telemetry_utils as t
    app.add(1, 2)
    try:
        app.fail("x")
    except ValueError:
        pass
    app.count([1, 2, 3])
    list(app.numbers(2))
    app.keep(objs.Broken())

    async def cancel():
        task = asyncio.ensure_future(app.sleeper())
        await asyncio.sleep(0)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    asyncio.run(cancel())
    t.flush()
    print("%d.%d" % sys.version_info[:2])
"""


@pytest.mark.parametrize("version", ["3.7", "3.8", "3.12", "3.13"])
def test_helper_runs_on_supported_pythons(project: Project, version: str) -> None:
    python = interpreter(version)
    if python is None:
        pytest.skip(f"Python {version} is not installed")
    result = project.run(VERSION_SCRIPT, python=python, flags=("-W", "error"))
    assert result.stdout == version + "\n"
    assert result.stderr == ""
    records = project.records()
    assert only(functions(records, "app.add"))["calls"] == 1
    fail = only(functions(records, "app.fail"))
    assert fail["error_types"] == {"ValueError": 1}
    sleeper = only(functions(records, "app.sleeper"))  # CancelledError is not an error
    assert (sleeper["calls"], sleeper["errors"]) == (1, 0)
    loops = {r["function"]: r["iterations"] for r in records if r["type"] == "loop"}
    assert loops == {"app.count": 3, "app.numbers": 2}
    variables = {r["name"]: r["samples"] for r in records if r["type"] == "variable"}
    assert variables == {"total": ["3"], "kept": ["<objs.Broken>"]}
