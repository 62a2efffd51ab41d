"""Instrumented code must behave exactly like the original: run both side by side.

Each test imports a source and its instrumented version (``load_pair``), drives both
the same way and compares what a user can observe: return values, exceptions (type,
args, traceback shape), side effects, introspection (``__doc__``, ``inspect``), and,
in subprocesses, what the runtime helper records.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import importlib.util
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import codemodkit
from codemodkit.codemods.telemetry.python.codemod import instrument_text

HELPER_SOURCE = (
    Path(codemodkit.__file__).resolve().parent
    / "codemods"
    / "telemetry"
    / "runtime"
    / "_telemetry_utils.py"
)

# Module attributes that legitimately differ between two imported modules.
MODULE_DUNDERS = frozenset(
    {"__name__", "__file__", "__cached__", "__spec__", "__loader__", "__builtins__"}
)

LoadPair = Callable[[str], Any]


# -- helpers ----------------------------------------------------------------------------
def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    """What a call did, as plain comparable data: its value, or its exception."""
    try:
        return ("value", call())
    except BaseException as exc:  # every exception is part of the behaviour compared
        return raised(exc)


def raised(exc: BaseException) -> tuple[Any, ...]:
    described: tuple[Any, ...] = ("raised", type(exc).__qualname__, repr(exc.args))
    group = getattr(exc, "exceptions", None)  # an ExceptionGroup (Python 3.11+)
    if isinstance(group, tuple):
        described += (exc.message, [repr(e) for e in group])  # type: ignore[attr-defined]
    return described


def run_async(make: Callable[[], Any]) -> tuple[Any, ...]:
    """``outcome`` of running the coroutine ``make()`` to completion."""
    return outcome(lambda: asyncio.run(make()))


def instrumented_functions(instrumented_source: str, module: str) -> set[str]:
    """Qualified names (without the module) of the functions that got an enter call."""
    keys = re.findall(r'\.enter(?:_gen)?\("[^"]*?:\d+:([^"]+)"\)', instrumented_source)
    prefix = module + "."
    return {k[len(prefix) :] if k.startswith(prefix) else k for k in keys}


def assert_instrumented(pair: Any, *qualnames: str) -> None:
    """The functions under test really were instrumented (else the test proves nothing)."""
    found = instrumented_functions(pair.instrumented_source, pair.instrumented.__name__)
    missing = set(qualnames) - found
    assert not missing, f"not instrumented: {sorted(missing)}"


def both(pair: Any, scenario: Callable[[ModuleType], Any]) -> Any:
    """Run ``scenario`` on the original and the instrumented module; they must agree."""
    expected = scenario(pair.original)
    actual = scenario(pair.instrumented)
    assert actual == expected
    return expected


def tb_shape(exc: BaseException) -> list[tuple[str, str | None]]:
    """Function names and source line texts of a traceback (line numbers shift)."""
    return [(frame.name, frame.line) for frame in traceback.extract_tb(exc.__traceback__)]


def catch(call: Callable[[], Any]) -> BaseException:
    try:
        call()
    except BaseException as exc:  # the exception is what the caller inspects
        return exc
    raise AssertionError("expected an exception")


def aggregate(records: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Sum the JSON-lines deltas per (type, function[/variable]) site."""
    sums: dict[tuple[str, str], dict[str, Any]] = {}
    for record in records:
        kind = record["type"]
        if kind == "function":
            key = (kind, record["name"])
            entry = sums.setdefault(key, {"calls": 0, "errors": 0, "error_types": {}})
            entry["calls"] += record["calls"]
            entry["errors"] += record["errors"]
            for name, count in record.get("error_types", {}).items():
                entry["error_types"][name] = entry["error_types"].get(name, 0) + count
        elif kind == "loop":
            key = (kind, f"{record['function']}:{record['line']}")
            entry = sums.setdefault(key, {"runs": 0, "iterations": 0, "max_iterations": 0})
            entry["runs"] += record["runs"]
            entry["iterations"] += record["iterations"]
            entry["max_iterations"] = max(entry["max_iterations"], record["max_iterations"])
        else:
            key = (kind, f"{record['function']}:{record['name']}")
            entry = sums.setdefault(key, {"sampled": 0, "value_types": [], "samples": []})
            entry["sampled"] += record["sampled"]
            entry["value_types"] += [
                t for t in record["value_types"] if t not in entry["value_types"]
            ]
            entry["samples"] += record.get("samples", [])
    return sums


SCRIPT_PRELUDE = """
import json
import sys

import _telemetry_utils
import orig_mod
import instr_mod


def attempt(call):
    try:
        return ["value", call()]
    except BaseException as exc:
        return ["raised", type(exc).__name__, repr(exc.args)]

"""

SCRIPT_EPILOGUE = """

results = {"original": scenario(orig_mod), "instrumented": scenario(instr_mod)}
_telemetry_utils.flush()
print(json.dumps(results))
"""


def run_script(
    tmp_path: Path, source: str, driver: str, env: dict[str, str] | None = None
) -> tuple[Any, list[dict[str, Any]] | None]:
    """Run ``driver`` (defining ``scenario(module)``) on both modules in a subprocess.

    Returns the scenario's result (asserted equal for both modules) and the telemetry
    records written, or None when no telemetry file was written.
    """
    source = textwrap.dedent(source)
    (tmp_path / "orig_mod.py").write_text(source, encoding="utf-8")
    instrumented = instrument_text(source, module="instr_mod", relpath="instr_mod.py")
    (tmp_path / "instr_mod.py").write_text(instrumented, encoding="utf-8")
    shutil.copy(HELPER_SOURCE, tmp_path / "_telemetry_utils.py")
    script = SCRIPT_PRELUDE + textwrap.dedent(driver) + SCRIPT_EPILOGUE
    (tmp_path / "driver.py").write_text(script, encoding="utf-8")
    telemetry = tmp_path / "telemetry.jsonl"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CODEMOD_TELEMETRY")}
    full_env.update({"CODEMOD_TELEMETRY_FILE": str(telemetry), **(env or {})})
    proc = subprocess.run(
        [sys.executable, "driver.py"],
        cwd=tmp_path,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert results["instrumented"] == results["original"]
    if not telemetry.exists():
        return results["original"], None
    lines = telemetry.read_text(encoding="utf-8").splitlines()
    return results["original"], [json.loads(line) for line in lines if line.strip()]


# -- docstrings, __future__, shebang and coding lines ------------------------------------
DOCSTRINGS = '''
"""Module docstring."""


def plain(x):
    """Plain docstring."""
    y = x * 2
    return y


def gen(n):
    """Generator docstring."""
    for i in range(n):
        yield i


async def coro():
    """Coroutine docstring."""
    return 1


def multi():
    """Multi-line
    docstring with "quotes".
    """
    return multi.__doc__


class Klass:
    """Class docstring."""

    def method(self):
        """Method docstring."""
        value = type(self).__name__
        return value

    @property
    def prop(self):
        """Property docstring."""
        return 3
'''


def test_docstrings_stay_first(load_pair: LoadPair) -> None:
    pair = load_pair(DOCSTRINGS)
    assert_instrumented(pair, "plain", "gen", "coro", "multi", "Klass.method", "Klass.prop")

    def docs(m: ModuleType) -> dict[str, str | None]:
        return {
            "module": m.__doc__,
            "plain": m.plain.__doc__,
            "gen": m.gen.__doc__,
            "coro": m.coro.__doc__,
            "multi": m.multi.__doc__,
            "multi()": m.multi(),
            "class": m.Klass.__doc__,
            "method": m.Klass.method.__doc__,
            "prop": m.Klass.prop.__doc__,
            "getdoc": inspect.getdoc(m.multi),
        }

    result = both(pair, docs)
    assert result["module"] == "Module docstring."
    assert result["method"] == "Method docstring."
    assert result["multi()"] == result["multi"]
    assert pair.instrumented.plain(4) == pair.original.plain(4) == 8


FUTURE = '''
"""Doc."""
from __future__ import annotations

import typing


def scale(x: int, factors: list[int] | None = None) -> dict[str, int]:
    total = x * len(factors or [1])
    return {"total": total}


class Node:
    def link(self, other: Node) -> typing.Optional[Node]:
        return other
'''


def test_future_import_stays_first(load_pair: LoadPair) -> None:
    pair = load_pair(FUTURE)  # importing at all proves the future import still comes first
    assert_instrumented(pair, "scale", "Node.link")
    body = ast.parse(pair.instrumented_source).body
    assert isinstance(body[0], ast.Expr) and body[0].value.value == "Doc."  # type: ignore[attr-defined]
    assert isinstance(body[1], ast.ImportFrom) and body[1].module == "__future__"

    def annotations(m: ModuleType) -> Any:
        return (
            m.__doc__,
            m.scale.__annotations__,
            m.Node.link.__annotations__,
            m.scale(3, [1, 2]),
        )

    result = both(pair, annotations)
    assert result[1] == {"x": "int", "factors": "list[int] | None", "return": "dict[str, int]"}
    assert all(isinstance(v, str) for v in result[2].values())


LATIN1 = (
    "#!/usr/bin/env python\n"
    "# -*- coding: latin-1 -*-\n"
    "{doc}"
    "import string\n"
    "\n"
    "SIGN = 'na\xefve'\n"
    "\n"
    "\n"
    "def greet(name):\n"
    "    text = 'caf\xe9, ' + name + string.ascii_lowercase[:1]\n"
    "    return text\n"
)


def import_path(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("doc", ["", '"""Latin-1 module."""\n'], ids=["no-doc", "docstring"])
def test_shebang_and_coding_lines_stay_on_top(tmp_path: Path, helper_dir: Path, doc: str) -> None:
    data = LATIN1.format(doc=doc).encode("latin-1")
    original = tmp_path / "orig" / "latin_mod.py"
    target = tmp_path / "work" / "latin_mod.py"
    original.parent.mkdir()
    target.parent.mkdir()
    original.write_bytes(data)
    target.write_bytes(data)
    proc = subprocess.run(
        [sys.executable, "-m", "codemodkit", "telemetry", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    new = target.read_bytes()
    assert b"_codemod_tel" in new, "the module was not instrumented"
    assert new.splitlines()[:2] == [b"#!/usr/bin/env python", b"# -*- coding: latin-1 -*-"]
    assert b"caf\xe9, " in new and b"na\xefve" in new  # still latin-1, not re-encoded
    tag = "doc" if doc else "nodoc"
    orig_mod = import_path(original, f"latin_orig_{tag}")
    instr_mod = import_path(target, f"latin_instr_{tag}")
    assert instr_mod.greet("x") == orig_mod.greet("x") == "caf\xe9, xa"
    assert instr_mod.SIGN == orig_mod.SIGN == "na\xefve"
    assert instr_mod.__doc__ == orig_mod.__doc__


# -- global / nonlocal --------------------------------------------------------------------
SCOPES = """
counter = 0
history = []


def bump(step):
    global counter
    counter += step
    history.append(counter)
    return counter


def reset():
    \"\"\"Reset the globals.\"\"\"
    global counter, history
    old = counter, history
    counter = 0
    history = []
    return old


def make_accumulator(start):
    total = start

    def add(x):
        nonlocal total
        total += x
        return total

    def get():
        return total

    return add, get


def outer():
    x = 1

    def middle():
        nonlocal x
        x = x * 10

        def inner():
            nonlocal x
            x += 5

        inner()
        return x

    result = middle()
    return x, result
"""


def test_global_and_nonlocal_declarations(load_pair: LoadPair) -> None:
    pair = load_pair(SCOPES)
    assert_instrumented(
        pair,
        "bump",
        "reset",
        "make_accumulator.<locals>.add",
        "outer.<locals>.middle.<locals>.inner",
    )

    def scenario(m: ModuleType) -> Any:
        steps = [m.bump(2), m.bump(3), (m.counter, list(m.history))]
        steps.append(m.reset())
        steps.append((m.counter, m.history, m.bump(7), m.history))
        add, get = m.make_accumulator(10)
        steps.append((add(1), add(2), get()))
        steps.append(m.outer())
        return steps

    assert both(pair, scenario) == [
        2,
        5,
        (5, [2, 5]),
        (5, [2, 5]),
        (0, [7], 7, [7]),
        (11, 13, 13),
        (15, 15),
    ]


# -- generators -----------------------------------------------------------------------------
GENERATORS = """
import inspect

log = []


def count(n):
    for i in range(n):
        yield i * i


def echo():
    received = None
    while True:
        received = yield received
        if received == "stop":
            return "stopped"
        received = received * 2


def catcher():
    while True:
        try:
            yield "ready"
        except ValueError as exc:
            yield f"caught {exc.args[0]}"


def no_catch():
    yield 1
    yield 2


def with_finally():
    try:
        yield 1
        yield 2
    finally:
        log.append("finally ran")


def sees_exit():
    try:
        yield 1
    except GeneratorExit:
        log.append("saw GeneratorExit")
        raise


def ignores_exit():
    try:
        yield 1
    except GeneratorExit:
        yield "ignored"


def returns(n):
    total = 0
    for i in range(n):
        total += yield i
    return total


def delegate(n):
    result = yield from returns(n)
    yield ("inner returned", result)
    return result * 10
"""


def _drive(gen: Iterator[Any], *steps: tuple[str, Any]) -> list[Any]:
    """Apply next/send/throw/close steps to ``gen``; record each outcome."""
    out: list[Any] = []
    for op, arg in steps:
        if op == "next":
            result = outcome(lambda: next(gen))
        elif op == "send":
            result = outcome(lambda arg=arg: gen.send(arg))  # type: ignore[attr-defined,misc]
        elif op == "throw":
            result = outcome(lambda arg=arg: gen.throw(arg))  # type: ignore[attr-defined,misc]
        else:
            result = outcome(gen.close)  # type: ignore[attr-defined]
        if result[0] == "raised" and result[1] == "StopIteration":
            result = (*result, "StopIteration.value")
        out.append(result)
    return out


def _stop_value(gen: Iterator[Any], *sends: Any) -> Any:
    next(gen)
    try:
        for value in sends:
            gen.send(value)  # type: ignore[attr-defined]
    except StopIteration as stop:
        return ("returned", stop.value)
    return ("still running",)


GENERATOR_SCENARIOS: dict[str, tuple[Callable[[ModuleType], Any], Any]] = {
    "values": (lambda m: list(m.count(5)), [0, 1, 4, 9, 16]),
    "send": (
        lambda m: _drive(m.echo(), ("next", None), ("send", 3), ("send", "ab"), ("send", "stop")),
        [
            ("value", None),
            ("value", 6),
            ("value", "abab"),
            ("raised", "StopIteration", "('stopped',)", "StopIteration.value"),
        ],
    ),
    "throw-caught": (
        lambda m: _drive(
            m.catcher(), ("next", None), ("throw", ValueError("x")), ("next", None), ("close", None)
        ),
        [("value", "ready"), ("value", "caught x"), ("value", "ready"), ("value", None)],
    ),
    "throw-uncaught": (
        lambda m: _drive(m.no_catch(), ("next", None), ("throw", KeyError("k")), ("next", None)),
        [
            ("value", 1),
            ("raised", "KeyError", "('k',)"),
            ("raised", "StopIteration", "()", "StopIteration.value"),
        ],
    ),
    "throw-unstarted": (
        lambda m: (_drive(m.with_finally(), ("throw", KeyError("k")), ("next", None)), m.log),
        (
            [
                ("raised", "KeyError", "('k',)"),
                ("raised", "StopIteration", "()", "StopIteration.value"),
            ],
            [],
        ),
    ),
    "close-with-finally": (
        lambda m: (
            _drive(m.with_finally(), ("next", None), ("close", None), ("next", None)),
            m.log,
        ),
        (
            [
                ("value", 1),
                ("value", None),
                ("raised", "StopIteration", "()", "StopIteration.value"),
            ],
            ["finally ran"],
        ),
    ),
    "close-without-finally": (
        lambda m: _drive(m.no_catch(), ("next", None), ("close", None), ("close", None)),
        [("value", 1), ("value", None), ("value", None)],
    ),
    "close-seen": (
        lambda m: (_drive(m.sees_exit(), ("next", None), ("close", None)), m.log),
        ([("value", 1), ("value", None)], ["saw GeneratorExit"]),
    ),
    "close-ignored": (
        lambda m: _drive(m.ignores_exit(), ("next", None), ("close", None), ("next", None)),
        [
            ("value", 1),
            ("raised", "RuntimeError", "('generator ignored GeneratorExit',)"),
            ("raised", "StopIteration", "()", "StopIteration.value"),
        ],
    ),
    "return-value": (lambda m: _stop_value(m.returns(3), 10, 20, 30), ("returned", 60)),
    "yield-from": (
        lambda m: _drive(m.delegate(2), ("next", None), ("send", 5), ("send", 6), ("next", None)),
        [
            ("value", 0),
            ("value", 1),
            ("value", ("inner returned", 11)),
            ("raised", "StopIteration", "(110,)", "StopIteration.value"),
        ],
    ),
    "isgeneratorfunction": (
        lambda m: [
            inspect.isgeneratorfunction(getattr(m, name))
            for name in ("count", "echo", "catcher", "returns", "delegate")
        ],
        [True] * 5,
    ),
}


@pytest.mark.parametrize("name", list(GENERATOR_SCENARIOS))
def test_generators(load_pair: LoadPair, name: str) -> None:
    pair = load_pair(GENERATORS)
    assert_instrumented(pair, "count", "echo", "catcher", "no_catch", "with_finally", "delegate")
    scenario, expected = GENERATOR_SCENARIOS[name]
    assert both(pair, scenario) == expected


def test_generator_exception_traceback_is_unchanged(load_pair: LoadPair) -> None:
    pair = load_pair(GENERATORS)

    def shape(m: ModuleType) -> Any:
        gen = m.no_catch()
        next(gen)
        exc = catch(lambda: gen.throw(KeyError("k")))
        return type(exc).__name__, tb_shape(exc)

    name, frames = both(pair, shape)
    assert name == "KeyError" and frames[-1][0] == "no_catch"


# -- async generators and coroutines --------------------------------------------------------
ASYNC_GENERATORS = """
import asyncio

log = []


async def ticker(n):
    for i in range(n):
        await asyncio.sleep(0)
        yield i


async def echo():
    value = None
    while True:
        try:
            value = yield value
        except KeyError as exc:
            value = f"caught {exc.args[0]}"


async def guarded():
    try:
        yield 1
        yield 2
    finally:
        log.append("async finally")


async def fails():
    yield 1
    raise ValueError("async boom")


async def returns_early(n):
    for i in range(n):
        if i == 2:
            return
        yield i
"""


async def _async_echo(m: ModuleType) -> list[Any]:
    gen = m.echo()
    out = [await gen.asend(None), await gen.asend(5), await gen.athrow(KeyError("k"))]
    out.append(await gen.asend("again"))
    out.append(await gen.aclose())
    try:
        await gen.asend(1)
    except StopAsyncIteration:
        out.append("exhausted")
    return out


async def _async_guarded_close(m: ModuleType) -> list[Any]:
    gen = m.guarded()
    out = [await gen.asend(None), await gen.aclose(), list(m.log)]
    return out


async def _async_guarded_throw(m: ModuleType) -> list[Any]:
    gen = m.guarded()
    out: list[Any] = [await gen.__anext__()]
    try:
        await gen.athrow(ValueError("v"))
    except ValueError as exc:
        out.append(("raised", exc.args))
    out.append(list(m.log))
    return out


async def _async_fails(m: ModuleType) -> list[Any]:
    out: list[Any] = []
    try:
        async for value in m.fails():
            out.append(value)
    except ValueError as exc:
        out.append(("raised", exc.args))
    return out


async def _async_values(m: ModuleType) -> list[Any]:
    return [[x async for x in m.ticker(4)], [x async for x in m.returns_early(5)]]


ASYNC_GEN_SCENARIOS: dict[str, tuple[Callable[[ModuleType], Any], Any]] = {
    "values": (lambda m: asyncio.run(_async_values(m)), [[0, 1, 2, 3], [0, 1]]),
    "asend-athrow-aclose": (
        lambda m: asyncio.run(_async_echo(m)),
        [None, 5, "caught k", "again", None, "exhausted"],
    ),
    "aclose-finally": (
        lambda m: asyncio.run(_async_guarded_close(m)),
        [1, None, ["async finally"]],
    ),
    "athrow-uncaught": (
        lambda m: asyncio.run(_async_guarded_throw(m)),
        [1, ("raised", ("v",)), ["async finally"]],
    ),
    "raises": (lambda m: asyncio.run(_async_fails(m)), [1, ("raised", ("async boom",))]),
    "isasyncgenfunction": (
        lambda m: [
            inspect.isasyncgenfunction(getattr(m, n))
            for n in ("ticker", "echo", "guarded", "fails", "returns_early")
        ],
        [True] * 5,
    ),
}


@pytest.mark.parametrize("name", list(ASYNC_GEN_SCENARIOS))
def test_async_generators(load_pair: LoadPair, name: str) -> None:
    pair = load_pair(ASYNC_GENERATORS)
    assert_instrumented(pair, "ticker", "echo", "guarded", "fails", "returns_early")
    scenario, expected = ASYNC_GEN_SCENARIOS[name]
    assert both(pair, scenario) == expected


COROUTINES = """
import asyncio
import functools

events = []


def traced(fn):
    @functools.wraps(fn)
    async def wrapper(*args, **kwargs):
        result = await fn(*args, **kwargs)
        return ("traced", result)

    return wrapper


def sync_wrapped(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


async def add(a, b):
    await asyncio.sleep(0)
    return a + b


async def fail(message):
    await asyncio.sleep(0)
    raise LookupError(message)


@traced
async def decorated(x):
    value = await add(x, 1)
    return value


@sync_wrapped
async def passthrough(x):
    return x


async def sleeper():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        events.append("sleeper cancelled")
        raise
    finally:
        events.append("sleeper finally")


async def stubborn():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        events.append("stubborn swallowed")
    return "survived"


async def cancel(factory):
    task = asyncio.ensure_future(factory())
    await asyncio.sleep(0)
    task.cancel()
    try:
        result = await task
    except asyncio.CancelledError:
        events.append("caller saw CancelledError")
        return "cancelled"
    return result


async def timeout():
    try:
        await asyncio.wait_for(sleeper(), 0.01)
    except asyncio.TimeoutError:
        return "timed out"
"""

COROUTINE_SCENARIOS: dict[str, tuple[Callable[[ModuleType], Any], Any]] = {
    "result": (lambda m: run_async(lambda: m.add(2, 3)), ("value", 5)),
    "exception": (
        lambda m: run_async(lambda: m.fail("nope")),
        ("raised", "LookupError", "('nope',)"),
    ),
    "decorated": (lambda m: run_async(lambda: m.decorated(4)), ("value", ("traced", 5))),
    "sync-wrapped": (lambda m: run_async(lambda: m.passthrough(9)), ("value", 9)),
    "iscoroutinefunction": (
        lambda m: [
            (inspect.iscoroutinefunction(f), asyncio.iscoroutinefunction(f))
            for f in (m.add, m.fail, m.decorated, m.decorated.__wrapped__, m.passthrough)
        ],
        [(True, True)] * 4 + [(False, False)],
    ),
    "cancelled": (
        lambda m: (run_async(lambda: m.cancel(m.sleeper)), m.events),
        (
            ("value", "cancelled"),
            ["sleeper cancelled", "sleeper finally", "caller saw CancelledError"],
        ),
    ),
    "cancel-swallowed": (
        lambda m: (run_async(lambda: m.cancel(m.stubborn)), m.events),
        (("value", "survived"), ["stubborn swallowed"]),
    ),
    "cancel-uncaught": (
        lambda m: _cancel_directly(m),
        (("raised", "CancelledError", "()"), ["sleeper cancelled", "sleeper finally"]),
    ),
    "timeout": (
        lambda m: (run_async(m.timeout), m.events),
        (("value", "timed out"), ["sleeper cancelled", "sleeper finally"]),
    ),
}


def _cancel_directly(m: ModuleType) -> Any:
    """Cancel a task and let CancelledError reach asyncio.run's caller."""

    async def main() -> Any:
        task = asyncio.ensure_future(m.sleeper())
        await asyncio.sleep(0)
        task.cancel()
        return await task

    return run_async(main), m.events


@pytest.mark.parametrize("name", list(COROUTINE_SCENARIOS))
def test_coroutines(load_pair: LoadPair, name: str) -> None:
    pair = load_pair(COROUTINES)
    assert_instrumented(pair, "add", "fail", "decorated", "traced.<locals>.wrapper", "sleeper")
    scenario, expected = COROUTINE_SCENARIOS[name]
    assert both(pair, scenario) == expected


# -- recursion ------------------------------------------------------------------------------
RECURSION = """
reached = 0


def dive(n):
    global reached
    reached = n
    dive(n + 1)


def factorial(n):
    if n <= 1:
        return 1
    return n * factorial(n - 1)
"""


def _max_depth(m: ModuleType) -> tuple[int, str]:
    m.reached = 0
    try:
        m.dive(0)
    except RecursionError as exc:
        return m.reached, type(exc).__name__
    raise AssertionError("no RecursionError")


def test_recursion_depth_is_not_doubled(load_pair: LoadPair) -> None:
    pair = load_pair(RECURSION)
    assert_instrumented(pair, "dive", "factorial")
    original, kind = _max_depth(pair.original)
    instrumented, instr_kind = _max_depth(pair.instrumented)
    assert kind == instr_kind == "RecursionError"
    assert original > 100
    assert instrumented >= original - 2, (original, instrumented)
    n = original - 50
    assert pair.instrumented.factorial(n) == pair.original.factorial(n)


# -- return / break / continue through finally --------------------------------------------
FINALLY = """
log = []


def return_in_try(x):
    try:
        return x * 2
    finally:
        log.append(("finally", x))


def return_in_finally_swallows(x):
    try:
        raise ValueError(x)
    finally:
        return "swallowed"


def finally_overrides(x):
    try:
        return "try"
    finally:
        if x:
            return "finally"


def raise_after_finally(x):
    try:
        raise KeyError(x)
    finally:
        log.append("cleanup")


def break_in_finally(n):
    seen = []
    for i in range(n):
        try:
            if i == 3:
                raise KeyError(i)
            seen.append(i)
        finally:
            if i == 3:
                break
    return seen


def continue_in_try(n):
    seen = []
    for i in range(n):
        try:
            if i % 2:
                continue
            seen.append(i)
        finally:
            seen.append(-i)
    return seen


def continue_in_finally(n):
    seen = []
    for i in range(n):
        try:
            if i == 1:
                raise ValueError(i)
            seen.append(i)
        finally:
            continue
    return seen


def while_break_in_try(n):
    i = 0
    out = []
    while True:
        try:
            i += 1
            if i > n:
                break
            out.append(i)
        finally:
            out.append("f")
    return out


def nested_return(x):
    for i in range(5):
        try:
            for j in range(3):
                try:
                    if (i, j) == x:
                        return i * 10 + j
                finally:
                    log.append(("inner", i, j))
        finally:
            log.append(("outer", i))
    return None


def gen_return_in_finally():
    try:
        yield 1
        raise ValueError("lost")
    finally:
        return "from finally"
"""

FINALLY_CASES: list[tuple[str, tuple[Any, ...], Any]] = [
    ("return_in_try", (4,), (("value", 8), [("finally", 4)])),
    ("return_in_finally_swallows", (1,), (("value", "swallowed"), [])),
    ("finally_overrides", (0,), (("value", "try"), [])),
    ("finally_overrides", (1,), (("value", "finally"), [])),
    ("raise_after_finally", ("k",), (("raised", "KeyError", "('k',)"), ["cleanup"])),
    ("break_in_finally", (6,), (("value", [0, 1, 2]), [])),
    ("continue_in_try", (5,), (("value", [0, 0, -1, 2, -2, -3, 4, -4]), [])),
    ("continue_in_finally", (3,), (("value", [0, 2]), [])),
    ("while_break_in_try", (2,), (("value", [1, "f", 2, "f", "f"]), [])),
    (
        "nested_return",
        ((1, 1),),
        (
            ("value", 11),
            [
                *[("inner", 0, 0), ("inner", 0, 1), ("inner", 0, 2), ("outer", 0)],
                *[("inner", 1, 0), ("inner", 1, 1), ("outer", 1)],
            ],
        ),
    ),
    ("nested_return", ((9, 9),), (("value", None), None)),
]


@pytest.mark.parametrize(("function", "args", "expected"), FINALLY_CASES)
def test_return_break_continue_through_finally(
    load_pair: LoadPair, function: str, args: tuple[Any, ...], expected: Any
) -> None:
    pair = load_pair(FINALLY)
    assert_instrumented(pair, function)

    def scenario(m: ModuleType) -> Any:
        result = outcome(lambda: getattr(m, function)(*args))
        return result, list(m.log)

    result, log = both(pair, scenario)
    assert result == expected[0]
    if expected[1] is not None:
        assert log == expected[1]


def test_generator_return_in_finally(load_pair: LoadPair) -> None:
    pair = load_pair(FINALLY)
    assert_instrumented(pair, "gen_return_in_finally")
    result = both(pair, lambda m: _drive(m.gen_return_in_finally(), ("next", None), ("next", None)))
    assert result == [
        ("value", 1),
        ("raised", "StopIteration", "('from finally',)", "StopIteration.value"),
    ]


# -- exception tracebacks ------------------------------------------------------------------
TRACEBACKS = """
def inner(mapping):
    value = mapping["missing"]
    return value


def middle(mapping):
    return inner(mapping)


def outer(mapping):
    try:
        return middle(mapping)
    finally:
        pass


def chained(mapping):
    try:
        return inner(mapping)
    except KeyError as exc:
        raise ValueError("wrapped") from exc


def implicit(mapping):
    try:
        return inner(mapping)
    except KeyError:
        raise TypeError("during handling")
"""


@pytest.mark.parametrize("function", ["outer", "chained", "implicit"])
def test_exception_traceback_shape_unchanged(load_pair: LoadPair, function: str) -> None:
    pair = load_pair(TRACEBACKS)
    assert_instrumented(pair, "inner", "middle", "outer", "chained", "implicit")

    def shape(m: ModuleType) -> Any:
        exc = catch(lambda: getattr(m, function)({}))
        cause = exc.__cause__
        context = exc.__context__
        return (
            raised(exc),
            tb_shape(exc),
            len(traceback.extract_tb(exc.__traceback__)),
            raised(cause) if cause else None,
            tb_shape(context) if context else None,
            exc.__suppress_context__,
        )

    result = both(pair, shape)
    assert result[2] >= 3


# -- exceptions that are control flow, not errors (subprocess, telemetry file) ------------
CONTROL_FLOW = """
import asyncio


class Countdown:
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return self

    def __next__(self):
        if self.n <= 0:
            raise StopIteration
        self.n -= 1
        return self.n


class AsyncCountdown:
    def __init__(self, n):
        self.n = n

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self.n <= 0:
            raise StopAsyncIteration
        self.n -= 1
        return self.n


async def drain(n):
    return [value async for value in AsyncCountdown(n)]


def numbers():
    try:
        yield 1
        yield 2
    finally:
        pass


def raise_generator_exit():
    raise GeneratorExit("direct")


def interrupt():
    raise KeyboardInterrupt("stop")


def leave():
    raise SystemExit(3)


async def waiter():
    await asyncio.sleep(10)


async def cancel_waiter():
    task = asyncio.ensure_future(waiter())
    await asyncio.sleep(0)
    task.cancel()
    await task


def broken():
    raise ValueError("bad")
"""

CONTROL_FLOW_DRIVER = """
import asyncio


def scenario(m):
    out = [list(m.Countdown(3)), asyncio.run(m.drain(2))]
    gen = m.numbers()
    out.append(next(gen))
    out.append(attempt(gen.close))
    out.append(attempt(m.raise_generator_exit))
    out.append(attempt(m.interrupt))
    out.append(attempt(m.leave))
    out.append(attempt(lambda: asyncio.run(m.cancel_waiter())))
    out.append(attempt(m.broken))
    return out
"""


def test_control_flow_exceptions_pass_through_and_are_not_errors(tmp_path: Path) -> None:
    result, records = run_script(tmp_path, CONTROL_FLOW, CONTROL_FLOW_DRIVER)
    assert result == [
        [2, 1, 0],
        [1, 0],
        1,
        ["value", None],
        ["raised", "GeneratorExit", "('direct',)"],
        ["raised", "KeyboardInterrupt", "('stop',)"],
        ["raised", "SystemExit", "(3,)"],
        ["raised", "CancelledError", "()"],
        ["raised", "ValueError", "('bad',)"],
    ]
    assert records is not None
    sites = aggregate(records)

    def function(name: str) -> dict[str, Any]:
        return sites[("function", f"instr_mod.{name}")]

    assert function("Countdown.__next__")["calls"] == 4
    assert function("AsyncCountdown.__anext__")["calls"] == 3
    for name in (
        "Countdown.__next__",
        "AsyncCountdown.__anext__",
        "numbers",
        "raise_generator_exit",
        "interrupt",
        "leave",
        "waiter",
        "cancel_waiter",
    ):
        assert function(name)["errors"] == 0, name
        assert function(name)["error_types"] == {}, name
        assert function(name)["calls"] >= 1, name
    assert function("broken") == {"calls": 1, "errors": 1, "error_types": {"ValueError": 1}}


# -- injected names and the reserved prefix -----------------------------------------------
USER_NAMES = """
t = "global t"
n1 = 10
tel = "tel"
on = False
leave = "leave"


def enter(x):
    return ("user enter", x)


def error(t, n1, tel=3):
    on = t + n1
    for n2 in range(2):
        on += n2
    return on, tel, enter(n1)


def loop(var):
    e = [var, t]
    return e


def uses_globals():
    return t, n1, tel, on, leave


def shadowing(codemod, _telemetry_utils=None):
    for t in range(2):
        for n1 in range(2):
            for n2 in range(2):
                codemod += t + n1 + n2
    return codemod, _telemetry_utils
"""


def test_injected_names_do_not_shadow_user_names(load_pair: LoadPair) -> None:
    pair = load_pair(USER_NAMES)
    assert_instrumented(pair, "enter", "error", "loop", "uses_globals", "shadowing")

    def scenario(m: ModuleType) -> Any:
        return [m.error(1, 2), m.loop("v"), m.uses_globals(), m.shadowing(0), m.enter(5)]

    assert both(pair, scenario) == [
        (4, 3, ("user enter", 2)),
        ["v", "global t"],
        ("global t", 10, "tel", False, "leave"),
        (12, None),
        ("user enter", 5),
    ]


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("def f():\n    _codemod_x = 1\n    return _codemod_x\n", id="local"),
        pytest.param("def _codemod_helper(x):\n    return x\n", id="function"),
        pytest.param("def f(_codemod_t):\n    return _codemod_t\n", id="parameter"),
        pytest.param(
            "import os as _codemod_tel\n\n\ndef f():\n    return _codemod_tel.sep\n",
            id="import-alias",
        ),
        pytest.param("total = 0\nfor _codemod_n1 in range(3):\n    total += 1\n", id="loop-target"),
        pytest.param(
            "def f(items):\n    for x in items:\n        match x:\n"
            '            case {"n": _codemod_n1}:\n                pass\n',
            id="match-capture",
        ),
    ],
)
def test_reserved_prefix_is_refused(tmp_path: Path, source: str) -> None:
    target = tmp_path / "user_module.py"
    target.write_text(source, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "codemodkit", "telemetry", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    output = (proc.stdout + proc.stderr).splitlines()
    assert any("reserved prefix" in line for line in output), output
    assert target.read_text(encoding="utf-8") == source
    assert not (tmp_path / "_telemetry_utils.py").exists()


# -- locals() --------------------------------------------------------------------------------
LOCALS = """
def fmt(a, b):
    c = a + b
    return "{a} {b} {c}".format(**locals())


def keys(a):
    b = a * 2
    return locals()["b"], "a" in locals(), "c" in locals()


def in_loop(n):
    out = []
    for i in range(n):
        out.append("{i}/{n}".format(**locals()))
    return out


def with_vars(x):
    y = [x, x]
    return vars()["y"]


def gen_locals(n):
    for i in range(n):
        yield "{i}-{n}".format(**locals())
"""


def test_locals_keys_still_readable(load_pair: LoadPair) -> None:
    pair = load_pair(LOCALS)
    assert_instrumented(pair, "fmt", "keys", "in_loop", "with_vars", "gen_locals")

    def scenario(m: ModuleType) -> Any:
        return [m.fmt(1, 2), m.keys(3), m.in_loop(2), m.with_vars(0), list(m.gen_locals(2))]

    assert both(pair, scenario) == [
        "1 2 3",
        (6, True, False),
        ["0/2", "1/2"],
        [0, 0],
        ["0-2", "1-2"],
    ]


# -- decorators, classes, closures -----------------------------------------------------------
CLASSES = """
import contextlib
import dataclasses
import enum
import functools

calls = []


@functools.lru_cache(maxsize=None)
def fib(n):
    calls.append(n)
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


class Temperature:
    def __init__(self, celsius):
        self._c = celsius

    @property
    def celsius(self):
        \"\"\"Degrees Celsius.\"\"\"
        return self._c

    @celsius.setter
    def celsius(self, value):
        if value < -273.15:
            raise ValueError("below absolute zero")
        self._c = value

    @staticmethod
    def to_fahrenheit(c):
        f = c * 9 / 5 + 32
        return f

    @classmethod
    def freezing(cls):
        return cls(0)


@contextlib.contextmanager
def managed(name, log):
    log.append(("enter", name))
    try:
        yield name.upper()
    except KeyError as exc:
        log.append(("handled", exc.args))
    finally:
        log.append(("exit", name))


class Base:
    registry = []

    def __init_subclass__(cls, tag="none", **kwargs):
        super().__init_subclass__(**kwargs)
        cls.tag = tag
        Base.registry.append(cls.__name__)

    def describe(self):
        return f"Base({type(self).__name__})"

    def cell(self):
        return __class__.__name__


class Child(Base, tag="child"):
    def describe(self):
        parent = super().describe()
        return f"Child<{parent}>"

    def cell(self):
        return (__class__.__name__, super().cell())


class Grandchild(Child):
    pass


class Color(enum.Enum):
    RED = 1
    GREEN = 2
    BLUE = 3

    def describe(self):
        label = self.name.lower()
        return f"{label}={self.value}"

    @classmethod
    def parse(cls, text):
        return cls[text.upper()]

    @property
    def warm(self):
        return self is Color.RED


@dataclasses.dataclass(order=True)
class Point:
    x: int
    y: int = 0
    tags: list = dataclasses.field(default_factory=list)

    def __post_init__(self):
        if self.x < 0:
            raise ValueError("negative x")

    def norm1(self):
        total = abs(self.x) + abs(self.y)
        return total
"""


def _with_block(m: ModuleType, exc: BaseException | None) -> Any:
    log: list[Any] = []

    def body() -> Any:
        with m.managed("res", log) as value:
            log.append(("body", value))
            if exc is not None:
                raise exc
        return "completed"

    return outcome(body), log


CLASS_SCENARIOS: dict[str, tuple[Callable[[ModuleType], Any], Any]] = {
    "lru_cache": (
        lambda m: (m.fib(10), m.fib(10), list(m.calls), m.fib.cache_info().hits > 0),
        (55, 55, [10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0], True),
    ),
    "property": (
        lambda m: (
            m.Temperature(5).celsius,
            outcome(lambda: setattr(m.Temperature(1), "celsius", -300)),
            m.Temperature.celsius.__doc__,
        ),
        (5, ("raised", "ValueError", "('below absolute zero',)"), "Degrees Celsius."),
    ),
    "property-setter": (
        lambda m: [(t := m.Temperature(1)), setattr(t, "celsius", 30), t.celsius][2],
        30,
    ),
    "staticmethod-classmethod": (
        lambda m: (
            m.Temperature.to_fahrenheit(100),
            m.Temperature(3).to_fahrenheit(0),
            m.Temperature.freezing().celsius,
            isinstance(inspect.getattr_static(m.Temperature, "to_fahrenheit"), staticmethod),
        ),
        (212.0, 32.0, 0, True),
    ),
    "contextmanager-ok": (
        lambda m: _with_block(m, None),
        (("value", "completed"), [("enter", "res"), ("body", "RES"), ("exit", "res")]),
    ),
    "contextmanager-handled": (
        lambda m: _with_block(m, KeyError("k")),
        (
            ("value", "completed"),
            [("enter", "res"), ("body", "RES"), ("handled", ("k",)), ("exit", "res")],
        ),
    ),
    "contextmanager-propagates": (
        lambda m: _with_block(m, IndexError("i")),
        (
            ("raised", "IndexError", "('i',)"),
            [("enter", "res"), ("body", "RES"), ("exit", "res")],
        ),
    ),
    "super-init_subclass-class-cell": (
        lambda m: (
            m.Child().describe(),
            m.Grandchild().describe(),
            m.Child.tag,
            m.Grandchild.tag,
            list(m.Base.registry),
            m.Base().cell(),
            m.Grandchild().cell(),
        ),
        (
            "Child<Base(Child)>",
            "Child<Base(Grandchild)>",
            "child",
            "none",
            ["Child", "Grandchild"],
            "Base",
            ("Child", "Base"),
        ),
    ),
    "enum": (
        lambda m: (
            [(c.name, c.value) for c in m.Color],
            list(m.Color.__members__),
            m.Color.GREEN.describe(),
            m.Color.parse("blue").name,
            [c.warm for c in m.Color],
        ),
        (
            [("RED", 1), ("GREEN", 2), ("BLUE", 3)],
            ["RED", "GREEN", "BLUE"],
            "green=2",
            "BLUE",
            [True, False, False],
        ),
    ),
    "dataclass": (
        lambda m: (
            [(f.name, f.type.__name__, f.default) for f in dataclasses.fields(m.Point)],
            m.Point(1, 2) == m.Point(1, 2),
            m.Point(1) < m.Point(2),
            m.Point(3, -4).norm1(),
            repr(m.Point(1, 2)),
            outcome(lambda: m.Point(-1)),
        ),
        (
            [
                ("x", "int", dataclasses.MISSING),
                ("y", "int", 0),
                ("tags", "list", dataclasses.MISSING),
            ],
            True,
            True,
            7,
            "Point(x=1, y=2, tags=[])",
            ("raised", "ValueError", "('negative x',)"),
        ),
    ),
}


@pytest.mark.parametrize("name", list(CLASS_SCENARIOS))
def test_decorators_and_classes(load_pair: LoadPair, name: str) -> None:
    pair = load_pair(CLASSES)
    assert_instrumented(
        pair,
        "fib",
        "Temperature.celsius",
        "Temperature.to_fahrenheit",
        "Temperature.freezing",
        "managed",
        "Base.__init_subclass__",
        "Base.cell",
        "Child.describe",
        "Color.describe",
        "Color.parse",
        "Point.__post_init__",
        "Point.norm1",
    )
    scenario, expected = CLASS_SCENARIOS[name]
    assert both(pair, scenario) == expected


CLOSURES = """
import itertools


def make_counter():
    count = 0

    def inc(by=1):
        nonlocal count
        count += by
        return count

    return inc


def compose(*fns):
    def run(x):
        for fn in reversed(fns):
            x = fn(x)
        return x

    return run


def comprehensions(n):
    factor = 3
    squares = [i * i for i in range(n)]
    scaled = {i: i * factor for i in range(n)}
    odd = {x for x in squares if x % 2}
    big = sum(x for x in squares if x > factor)
    order = sorted(range(n), key=lambda v: -v * factor)
    nested = [[j for j in range(i)] for i in range(n)]
    return squares, scaled, sorted(odd), big, order, nested


def adders(n):
    return [lambda x, i=i: x + i for i in range(n)]


def late_binding(n):
    fns = []
    for i in range(n):
        fns.append(lambda: i)
    return [f() for f in fns]


def exception_groups(kind, log):
    try:
        if kind == "mixed":
            raise ExceptionGroup("many", [ValueError(1), TypeError(2), KeyError(3)])
        if kind == "value":
            raise ExceptionGroup("one", [ValueError("v")])
        if kind == "plain":
            raise ValueError("plain")
        log.append("no error")
    except* ValueError as group:
        log.append(("value", [repr(e) for e in group.exceptions]))
    except* TypeError as group:
        log.append(("type", [repr(e) for e in group.exceptions]))
    else:
        log.append("else")
    finally:
        log.append("finally")
    return "done"


def classify(obj):
    match obj:
        case {"kind": "point", "x": x, "y": y}:
            return ("point", x, y)
        case [first, *rest] if (count := len(rest)) > 1:
            return ("list", first, count)
        case int(n) | float(n) if n < 0:
            return ("negative", n)
        case str() as text:
            return ("text", text.upper())
        case _:
            return ("other", repr(obj))


def chunks(data):
    out = []
    it = iter(data)
    while chunk := list(itertools.islice(it, 2)):
        out.append(chunk)
    return out


def find(items, target):
    for index, item in enumerate(items):
        if item == target:
            found = index
            break
    else:
        found = -1
    return found


def countdown(n):
    steps = []
    while n > 0:
        n -= 1
        if n == 42:
            break
        steps.append(n)
    else:
        steps.append("done")
    return steps
"""


def _counter_run(m: ModuleType) -> Any:
    inc = m.make_counter()
    return inc(), inc(5), inc.__code__.co_freevars, inc.__closure__[0].cell_contents


def _groups(m: ModuleType, kind: str) -> Any:
    log: list[Any] = []
    return outcome(lambda: m.exception_groups(kind, log)), log


CLOSURE_SCENARIOS: dict[str, tuple[Callable[[ModuleType], Any], Any]] = {
    "closure": (_counter_run, (1, 6, ("count",), 6)),
    "nested": (
        lambda m: m.compose(lambda x: x + 1, lambda x: x * 10)(2),
        21,
    ),
    "comprehensions": (
        lambda m: m.comprehensions(4),
        (
            [0, 1, 4, 9],
            {0: 0, 1: 3, 2: 6, 3: 9},
            [1, 9],
            13,
            [3, 2, 1, 0],
            [[], [0], [0, 1], [0, 1, 2]],
        ),
    ),
    "lambdas": (
        lambda m: ([f(10) for f in m.adders(3)], m.late_binding(3)),
        ([10, 11, 12], [2, 2, 2]),
    ),
    "except-star-mixed": (
        lambda m: _groups(m, "mixed"),
        (
            ("raised", "ExceptionGroup", "('many', [KeyError(3)])", "many", ["KeyError(3)"]),
            [("value", ["ValueError(1)"]), ("type", ["TypeError(2)"]), "finally"],
        ),
    ),
    "except-star-value": (
        lambda m: _groups(m, "value"),
        (("value", "done"), [("value", ["ValueError('v')"]), "finally"]),
    ),
    "except-star-plain": (
        lambda m: _groups(m, "plain"),
        (("value", "done"), [("value", ["ValueError('plain')"]), "finally"]),
    ),
    "except-star-else": (
        lambda m: _groups(m, "none"),
        (("value", "done"), ["no error", "else", "finally"]),
    ),
    "match-walrus": (
        lambda m: [
            m.classify({"kind": "point", "x": 1, "y": 2}),
            m.classify([7, 8, 9]),
            m.classify([7, 8]),
            m.classify(-2.5),
            m.classify("ab"),
        ],
        [("point", 1, 2), ("list", 7, 2), ("other", "[7, 8]"), ("negative", -2.5), ("text", "AB")],
    ),
    "walrus-while": (lambda m: m.chunks(range(5)), [[0, 1], [2, 3], [4]]),
    "for-else-break": (
        lambda m: (m.find("abc", "b"), m.find("abc", "z")),
        (1, -1),
    ),
    "while-else": (
        lambda m: (m.countdown(3), m.countdown(44)),
        ([2, 1, 0, "done"], [43]),
    ),
}


@pytest.mark.parametrize("name", list(CLOSURE_SCENARIOS))
def test_closures_comprehensions_and_statements(load_pair: LoadPair, name: str) -> None:
    pair = load_pair(CLOSURES)
    assert_instrumented(
        pair,
        "make_counter",
        "make_counter.<locals>.inc",
        "compose.<locals>.run",
        "comprehensions",
        "late_binding",
        "exception_groups",
        "classify",
        "chunks",
        "find",
        "countdown",
    )
    scenario, expected = CLOSURE_SCENARIOS[name]
    assert both(pair, scenario) == expected


MODULE_LOOPS = """
import itertools

total = 0
for i in range(5):
    total += i
else:
    finished = True

squares = []
n = 0
while n < 4:
    squares.append(n * n)
    n += 1

for name in ["a", "b", "c"]:
    if name == "b":
        break
    last = name

for a, b in itertools.product(range(2), repeat=2):
    for c in range(2):
        pairs = (a, b, c)


class Holder:
    values = []
    for k in range(3):
        values.append(k)
"""


def test_module_level_loops_leave_the_same_globals(load_pair: LoadPair) -> None:
    pair = load_pair(MODULE_LOOPS)
    assert "_codemod_n1 = 0" in pair.instrumented_source

    def user_globals(m: ModuleType) -> dict[str, Any]:
        return {
            k: v
            for k, v in vars(m).items()
            if not k.startswith("_codemod") and k not in MODULE_DUNDERS
        }

    original = user_globals(pair.original)
    instrumented = user_globals(pair.instrumented)
    assert set(instrumented) == set(original)
    plain = {k for k, v in original.items() if isinstance(v, (int, str, list, tuple, bool))}
    assert {k: instrumented[k] for k in plain} == {k: original[k] for k in plain}
    assert instrumented["Holder"].values == original["Holder"].values == [0, 1, 2]
    assert set(vars(instrumented["Holder"])) == set(vars(original["Holder"]))
    assert (original["total"], original["last"], original["pairs"]) == (10, "a", (1, 1, 1))


# -- one-line bodies ---------------------------------------------------------------------------
ONE_LINERS = """
def f(x): return x + 1


def g(n):
    total = 0
    for i in range(n): total += i
    return total


def h(n):
    while n > 0: n -= 3
    return n


class K:
    def m(self, x): return x * 2


async def a(x): return x


def gen(n): yield from range(n)


def fails(x): raise KeyError(x)
"""


def test_one_line_bodies(load_pair: LoadPair) -> None:
    pair = load_pair(ONE_LINERS)
    assert_instrumented(pair, "f", "g", "h", "K.m", "a", "gen", "fails")
    # a one-line for loop is counted by wrapping its iterable; a one-line while loop
    # gets the increment in front of its body
    assert "for i in _codemod_tel.counted(_codemod_n1, range(n)): total += i" in (
        pair.instrumented_source
    )
    assert "while n > 0: _codemod_n1 += 1; n -= 3" in pair.instrumented_source

    def scenario(m: ModuleType) -> Any:
        return [
            m.f(1),
            m.g(3),
            m.g(0),
            m.h(7),
            m.K().m(4),
            run_async(lambda: m.a(5)),
            list(m.gen(3)),
            outcome(lambda: m.fails("x")),
        ]

    assert both(pair, scenario) == [
        2,
        3,
        0,
        -2,
        8,
        ("value", 5),
        [0, 1, 2],
        ("raised", "KeyError", "('x',)"),
    ]


# -- stubs that are left alone ------------------------------------------------------------
STUBS = '''
import abc
from typing import Protocol, overload, runtime_checkable


@overload
def parse(value: int) -> int: ...
@overload
def parse(value: str) -> str: ...
def parse(value):
    result = value * 2
    return result


@runtime_checkable
class Greeter(Protocol):
    def greet(self, name: str) -> str:
        ...

    def wave(self) -> str:
        return "wave"


class Shape(abc.ABC):
    @abc.abstractmethod
    def area(self) -> float:
        raise NotImplementedError

    @abc.abstractmethod
    def name(self) -> str:
        """The shape's name."""

    def describe(self):
        text = f"{self.name()} of area {self.area()}"
        return text


class Square(Shape):
    def __init__(self, side):
        self.side = side

    def area(self):
        return self.side**2

    def name(self):
        return "square"


class English:
    def greet(self, name):
        return "hello " + name

    def wave(self):
        return "o/"
'''

UNTOUCHED = [
    "@overload\ndef parse(value: int) -> int: ...\n@overload\ndef parse(value: str) -> str: ...\n",
    "@runtime_checkable\nclass Greeter(Protocol):\n    def greet(self, name: str) -> str:\n"
    '        ...\n\n    def wave(self) -> str:\n        return "wave"\n',
    "    @abc.abstractmethod\n    def area(self) -> float:\n        raise NotImplementedError\n",
    '    @abc.abstractmethod\n    def name(self) -> str:\n        """The shape\'s name."""\n',
]


def test_overload_protocol_and_abstract_stubs_untouched(load_pair: LoadPair) -> None:
    pair = load_pair(STUBS)
    for text in UNTOUCHED:
        assert text in pair.source
        assert text in pair.instrumented_source
    assert_instrumented(pair, "parse", "Shape.describe", "Square.area", "English.greet")

    def scenario(m: ModuleType) -> Any:
        return [
            m.parse(2),
            m.parse("ab"),
            isinstance(m.English(), m.Greeter),
            isinstance(object(), m.Greeter),
            outcome(m.Shape),
            m.Square(3).describe(),
            sorted(m.Shape.__abstractmethods__),
        ]

    result = both(pair, scenario)
    assert result[:4] == [4, "abab", True, False]
    assert result[4][:2] == ("raised", "TypeError")
    assert result[5:] == ["square of area 9", ["area", "name"]]


# -- multi-line strings and continuation lines -------------------------------------------
MULTILINE = '''
def text_block(n):
    block = """first
  second
third"""
    joined = "a" \\
        "b"
    for i in range(n):
        block += f"""
{i}:
    {joined}"""
    return block
'''


def test_multiline_strings_keep_their_content(load_pair: LoadPair) -> None:
    pair = load_pair(MULTILINE)
    assert_instrumented(pair, "text_block")
    result = both(pair, lambda m: m.text_block(2))
    assert result == "first\n  second\nthird\n0:\n    ab\n1:\n    ab"


# -- telemetry is recorded, and CODEMOD_TELEMETRY=0 turns it off -------------------------
RECORDED = """
def square(x):
    result = x * x
    return result


def first_over(values, limit):
    for v in values:
        if v > limit:
            return v
    return None


def until_break(n):
    count = 0
    for i in range(n):
        if i == 3:
            break
        count += 1
    return count


def spin(n):
    i = 0
    while i < n:
        i += 1
    return i


def grid(rows, cols):
    cells = 0
    for r in range(rows):
        for c in range(cols):
            cells += 1
    return cells


def explode(n):
    for i in range(n):
        if i == 2:
            raise KeyError(i)


def numbers(n):
    for i in range(n):
        yield i


warmup = 0
for k in range(3):
    warmup += k
"""

RECORDED_DRIVER = """
def scenario(m):
    return [
        [m.square(x) for x in (2, 3, 4)],
        m.first_over([1, 5, 9], 4),
        m.first_over([1, 2], 4),
        m.until_break(10),
        m.spin(5),
        m.spin(0),
        m.grid(3, 4),
        attempt(lambda: m.explode(10)),
        take_two(m.numbers(10)),
        m.warmup,
    ]


def take_two(gen):
    values = [next(gen), next(gen)]
    gen.close()
    return values
"""

RECORDED_RESULT = [
    [4, 9, 16],
    5,
    None,
    3,
    5,
    0,
    12,
    ["raised", "KeyError", "(2,)"],
    [0, 1],
    3,
]


def test_telemetry_is_recorded(tmp_path: Path) -> None:
    result, records = run_script(tmp_path, RECORDED, RECORDED_DRIVER)
    assert result == RECORDED_RESULT
    assert records is not None
    sites = aggregate(records)
    calls = {name: s["calls"] for (kind, name), s in sites.items() if kind == "function"}
    assert calls == {
        "instr_mod.square": 3,
        "instr_mod.first_over": 2,
        "instr_mod.until_break": 1,
        "instr_mod.spin": 2,
        "instr_mod.grid": 1,
        "instr_mod.explode": 1,
        "instr_mod.numbers": 1,
    }
    assert sites[("function", "instr_mod.explode")]["error_types"] == {"KeyError": 1}
    by_line: dict[str, list[tuple[int, tuple[int, int, int]]]] = {}
    for (kind, name), s in sites.items():
        if kind == "loop":  # name is "function:line"
            function, line = name.rsplit(":", 1)
            counts = (s["runs"], s["iterations"], s["max_iterations"])
            by_line.setdefault(function, []).append((int(line), counts))
    loops = {function: [c for _, c in sorted(found)] for function, found in by_line.items()}
    assert loops == {
        "instr_mod.first_over": [(2, 4, 2)],  # one run left with return, one exhausted
        "instr_mod.until_break": [(1, 4, 4)],  # the iteration that breaks counts
        "instr_mod.spin": [(2, 5, 5)],  # a while loop that never iterates still runs
        "instr_mod.grid": [(1, 3, 3), (3, 12, 4)],  # outer loop, then the nested one
        "instr_mod.explode": [(1, 3, 3)],  # left by an exception
        "instr_mod.numbers": [(1, 2, 2)],  # left by close() at a yield
        "instr_mod": [(1, 3, 3)],  # at module level
    }
    variable = sites[("variable", "instr_mod.square:result")]
    assert variable == {"sampled": 3, "value_types": ["int"], "samples": ["4", "9", "16"]}
    assert all(r["file"] == "instr_mod.py" for r in records)


def test_disabled_telemetry_behaves_the_same_and_writes_nothing(tmp_path: Path) -> None:
    result, records = run_script(
        tmp_path, RECORDED, RECORDED_DRIVER, env={"CODEMOD_TELEMETRY": "0"}
    )
    assert result == RECORDED_RESULT
    assert records is None
    assert not (tmp_path / "telemetry.jsonl").exists()


# -- recording a value runs no user code ----------------------------------------------------
USER_OBJECTS = """
seen = []


class Loud:
    def __repr__(self):
        seen.append("repr")
        return "Loud()"

    def __str__(self):
        seen.append("str")
        return "loud"


class Key:
    def __init__(self, name):
        self.name = name

    def __hash__(self):
        seen.append(("hash", self.name))
        return hash(self.name)

    def __eq__(self, other):
        seen.append(("eq", self.name))
        return isinstance(other, Key) and other.name == self.name


def make_loud():
    value = Loud()
    items = [Loud(), (Loud(),)]
    return value, items


def make_table(names):
    table = {Key(n): len(n) for n in names}
    return len(table)
"""


def test_recording_objects_runs_no_repr(tmp_path: Path) -> None:
    driver = """
    def scenario(m):
        m.make_loud()
        return list(m.seen)
    """
    result, records = run_script(tmp_path, USER_OBJECTS, driver)
    assert result == []
    assert records is not None
    samples = aggregate(records)[("variable", "instr_mod.make_loud:value")]["samples"]
    assert samples == ["<instr_mod.Loud>"]


def test_recording_a_dict_calls_no_user_hash(tmp_path: Path) -> None:
    driver = """
    def scenario(m):
        size = m.make_table(["a", "bb"])
        return [size, [list(s) if isinstance(s, tuple) else s for s in m.seen]]
    """
    result, records = run_script(tmp_path, USER_OBJECTS, driver)  # asserts both agree
    assert result == [2, [["hash", "a"], ["hash", "bb"]]]
    assert records is not None


# -- an instrumented script run directly -----------------------------------------------------
SCRIPT = """\
import sys


def greet(name):
    text = "hello " + name
    return text


for arg in sys.argv[1:]:
    print(greet(arg))
"""


@pytest.mark.parametrize(
    "flags",
    [
        pytest.param((), id="default-warnings"),
        pytest.param(
            ("-W", "error"),
            id="warnings-as-errors",
        ),
        pytest.param(
            ("-W", "default"),
            id="warnings-shown",
        ),
    ],
)
def test_script_run_directly(tmp_path: Path, flags: tuple[str, ...]) -> None:
    original = tmp_path / "orig" / "script.py"
    target = tmp_path / "work" / "script.py"
    for path in (original, target):
        path.parent.mkdir()
        path.write_text(SCRIPT, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "codemodkit", "telemetry", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "_codemod_tel" in target.read_text(encoding="utf-8")
    assert (target.parent / "_telemetry_utils.py").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEMOD_", "PYTHONWARN"))}
    env["CODEMOD_TELEMETRY_FILE"] = str(tmp_path / "telemetry.jsonl")
    runs = [
        subprocess.run(
            [sys.executable, *flags, path.name, "ada", "bob"],
            cwd=path.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        for path in (original, target)
    ]
    assert runs[0].returncode == 0 and runs[0].stdout == "hello ada\nhello bob\n"
    assert (runs[1].returncode, runs[1].stdout, runs[1].stderr) == (
        runs[0].returncode,
        runs[0].stdout,
        runs[0].stderr,
    )
