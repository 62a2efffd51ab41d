"""Property-based tests: generated functions behave the same once instrumented.

A hypothesis strategy writes small but varied function bodies (nested ``if``/``else``,
bounded ``for``/``while`` loops with ``break``/``continue``/``else``, ``try``/``except``/
``else``/``finally`` with re-raising, early returns, conditional ``raise``, plain,
tuple and augmented assignments, nested helpers, one-line bodies, multi-line strings,
comments, and, for generator functions, ``yield`` inside loops). Each body is rendered
with a configurable indentation unit, newline and final newline, then:

* run original and instrumented side by side for several inputs (``exec`` in fresh
  namespaces; the instrumented import block falls back to ``import _telemetry_utils``,
  found through the session's ``helper_dir``);
* checked to strip back to the exact original text, and to instrument idempotently.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from codemodkit.codemods.telemetry.python.codemod import instrument_text, strip_text

MAX_DEPTH = 3
INPUTS = (-4, 0, 1, 2, 5, 11)
MAX_YIELDS = 500


def _settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# A line of the body: (depth, text). Depth -1 is column 0 (a comment); text holding
# "\n" is a multi-line string statement whose later lines are not indented.
Line = tuple[int, str]
Draw = Callable[[st.SearchStrategy[Any]], Any]


@dataclass(frozen=True)
class _Ctx:
    """What the statements being drawn may use."""

    #: names that are always bound here (readable); the first ones are also targets
    names: tuple[str, ...]
    targets: tuple[str, ...]
    generator: bool
    in_loop: bool = False
    #: names declared nonlocal here (they cannot be annotated)
    shared: tuple[str, ...] = ()


# -- the strategy -------------------------------------------------------------------------
def _expr(draw: Draw, ctx: _Ctx) -> str:
    n = draw(st.sampled_from(ctx.names))
    m = draw(st.sampled_from((*ctx.names, "len(acc)")))
    k = draw(st.integers(-3, 9))
    return draw(
        st.sampled_from(
            [
                f"{n} + {k}",
                f"{n} * {m} % 97",
                f"{n} - {m}",
                f"({n} + {m}) // 2",
                f"-{n}",
                f"{n} // ({m} % 3)",  # sometimes ZeroDivisionError
                f"abs({n}) % 7",
                f"max({n}, {m})",
                f"[{n}, {k}][{n} % 2]",
                f"{n} if {n} > {k} else {m}",
                f"sum(v for v in range(abs({n}) % 5))",
                f"(lambda v: v * {k})({n})",
                str(k),
            ]
        )
    )


def _cond(draw: Draw, ctx: _Ctx) -> str:
    n = draw(st.sampled_from(ctx.names))
    m = draw(st.sampled_from(ctx.names))
    k = draw(st.integers(-3, 9))
    return draw(
        st.sampled_from(
            [
                f"{n} > {k}",
                f"{n} % 3 == {k % 3}",
                f"len(acc) > {abs(k)}",
                f"{n} == {m}",
                f"not {n}",
                f"{n} < {m} < {k}",
            ]
        )
    )


def _block(draw: Draw, depth: int, ctx: _Ctx) -> list[Line]:
    lines: list[Line] = []
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.integers(0, 9)) == 0:  # a comment first, indented or at column 0
            lines.append((draw(st.sampled_from([depth, -1])), "# a comment"))
        lines.extend(_statement(draw, depth, ctx))
    return lines


def _statement(draw: Draw, depth: int, ctx: _Ctx) -> list[Line]:
    kinds = ["assign", "assign", "aug", "tuple", "append", "raise", "return", "string"]
    if depth < MAX_DEPTH:
        kinds += ["if", "if", "for", "for", "while", "try", "try", "oneline", "helper"]
        kinds += ["with", "match"]
    if ctx.in_loop:
        kinds += ["break", "continue"]
    if ctx.generator:
        kinds += ["yield", "yield", "yield"]
    kind = draw(st.sampled_from(kinds))
    target = draw(st.sampled_from(ctx.targets))
    inner = depth + 1

    if kind == "assign":
        annotated = target not in ctx.shared and draw(st.booleans())
        return [(depth, f"{target}{': int' if annotated else ''} = {_expr(draw, ctx)}")]
    if kind == "aug":
        op = draw(st.sampled_from(["+=", "-=", "*=", "%=", "//="]))
        k = draw(st.integers(1, 7)) if op in ("%=", "//=") else draw(st.integers(-3, 5))
        return [(depth, f"{target} {op} {k}")]
    if kind == "tuple":
        first, second = draw(st.permutations(ctx.targets))[:2]
        return [
            (
                depth,
                draw(
                    st.sampled_from(
                        [
                            f"{first}, {second} = {second}, {first}",
                            f"{first}, {second} = divmod({_expr(draw, ctx)}, 7)",
                            f"{first}, *rest = [{_expr(draw, ctx)}, 1, 2]",
                        ]
                    )
                ),
            )
        ]
    if kind == "append":
        return [(depth, f"acc.append({_expr(draw, ctx)})")]
    if kind == "string":
        return [(depth, 'acc.append("""first\n  second\n\nlast""")')]
    if kind == "raise":
        exc = draw(
            st.sampled_from([f"ValueError({_expr(draw, ctx)})", 'KeyError("k")', "ValueError"])
        )
        return [(depth, f"if {_cond(draw, ctx)}:"), (inner, f"raise {exc}")]
    if kind == "return":
        value = _expr(draw, ctx)
        if draw(st.integers(0, 3)) == 0:
            return [(depth, f"return {value}")]
        return [(depth, f"if {_cond(draw, ctx)}:"), (inner, f"return {value}")]
    if kind in ("break", "continue"):
        return [(depth, f"if {_cond(draw, ctx)}:"), (inner, kind)]
    if kind == "yield":
        value = _expr(draw, ctx)
        return [
            (depth, draw(st.sampled_from([f"yield {value}", f"yield from range({value} % 4)"])))
        ]
    if kind == "if":
        lines = [(depth, f"if {_cond(draw, ctx)}:"), *_block(draw, inner, ctx)]
        if draw(st.booleans()):
            lines += [(depth, f"elif {_cond(draw, ctx)}:"), *_block(draw, inner, ctx)]
        if draw(st.booleans()):
            lines += [(depth, "else:"), *_block(draw, inner, ctx)]
        return lines
    if kind == "for":
        var = f"i{depth}"
        loop = replace(ctx, names=(*ctx.names, var), in_loop=True)
        count = draw(st.integers(0, 4))
        lines = [(depth, f"for {var} in range({count}):"), *_block(draw, inner, loop)]
        if draw(st.booleans()):
            lines += [(depth, "else:"), *_block(draw, inner, ctx)]
        return lines
    if kind == "while":
        var = f"w{depth}"
        loop = replace(ctx, names=(*ctx.names, var), in_loop=True)
        lines = [
            (depth, f"{var} = 0"),
            (depth, f"while {var} < {draw(st.integers(0, 4))}:"),
            (inner, f"{var} += 1"),
            *_block(draw, inner, loop),
        ]
        if draw(st.booleans()):
            lines += [(depth, "else:"), *_block(draw, inner, ctx)]
        return lines
    if kind == "try":
        lines = [(depth, "try:"), *_block(draw, inner, ctx)]
        handlers = draw(st.integers(0, 2))
        if handlers >= 1:
            name = f"e{depth}"
            lines += [
                (depth, f"except (ValueError, ZeroDivisionError) as {name}:"),
                (inner, f"acc.append(type({name}).__name__)"),
            ]
            if draw(st.booleans()):
                lines.append((inner, "raise"))  # re-raise
            else:
                lines += _block(draw, inner, ctx)
        if handlers >= 2:
            lines += [(depth, "except KeyError:"), *_block(draw, inner, ctx)]
        if handlers and draw(st.booleans()):
            lines += [(depth, "else:"), *_block(draw, inner, ctx)]
        if not handlers or draw(st.booleans()):
            lines += [(depth, "finally:"), (inner, 'acc.append("finally")')]
            if draw(st.integers(0, 4)) == 0:
                lines += _block(draw, inner, ctx)  # may return/break from finally
        return lines
    if kind == "oneline":
        var = f"i{depth}"
        return [
            (
                depth,
                draw(
                    st.sampled_from(
                        [
                            f"for {var} in range({draw(st.integers(0, 3))}): acc.append({var})",
                            f"if {_cond(draw, ctx)}: {target} += 1",
                            f"for {var} in range(2): {target} -= {var}; acc.append({target})",
                        ]
                    )
                ),
            )
        ]
    if kind == "with":
        header = draw(
            st.sampled_from(
                [
                    "with contextlib.suppress(KeyError):",
                    f"with contextlib.nullcontext({_expr(draw, ctx)}) as {target}:",
                ]
            )
        )
        return [(depth, header), *_block(draw, inner, ctx)]
    if kind == "match":
        lines = [
            (depth, f"match {draw(st.sampled_from(ctx.names))} % 4:"),
            (inner, "case 0:"),
            *_block(draw, inner + 1, ctx),
            (inner, "case 1 | 2 as matched:"),
            (inner + 1, "acc.append(matched)"),
        ]
        if draw(st.booleans()):
            lines += [(inner, "case _:"), *_block(draw, inner + 1, ctx)]
        return lines
    # a nested helper function (plain, never a generator), then a call to it
    name = f"helper{depth}"
    shares_c = draw(st.booleans())  # rebinds the enclosing function's c (nonlocal)
    helper = _Ctx(
        ("y", "z", "x", "c") if shares_c else ("y", "z", "x"),
        ("y", "z", "c") if shares_c else ("y", "z"),
        generator=False,
        shared=("c",) if shares_c else (),
    )
    lines = [(depth, f"def {name}(y):")]
    if draw(st.booleans()):
        lines.append((inner, '"""A nested helper."""'))
    if shares_c:
        lines.append((inner, "nonlocal c"))
    lines += [(inner, "z = y % 5"), *_block(draw, inner, helper), (inner, "return y")]
    if draw(st.booleans()):
        lines = [(depth, f"def {name}(y): return y * 2 + {draw(st.integers(0, 3))}")]
    return [*lines, (depth, f"{target} = {name}({_expr(draw, ctx)})")]


@dataclass(frozen=True)
class Body:
    lines: tuple[Line, ...]
    generator: bool

    def render(self, unit: str = "    ", newline: str = "\n", final_newline: bool = True) -> str:
        out = []
        for depth, text in self.lines:
            first, *rest = text.split("\n")
            indent = "" if depth < 0 else unit * depth
            out.append(indent + first)
            out.extend(rest)
        source = newline.join(out)
        return source + newline if final_newline else source


@st.composite
def bodies(draw: Draw) -> Body:
    generator = draw(st.booleans())
    ctx = _Ctx(("a", "b", "c", "x"), ("a", "b", "c"), generator)
    lines: list[Line] = [(0, "import contextlib"), (0, ""), (0, ""), (0, "def f(x):")]
    if draw(st.booleans()):
        lines.append((1, '"""A generated function."""'))
    lines += [(1, "acc = []"), (1, "a = x"), (1, "b = x * 2 - 1"), (1, "c = 3")]
    lines += _block(draw, 1, ctx)
    if generator:
        lines += [(1, "yield (a, b, c, acc)"), (1, "return a")]
    else:
        lines.append((1, "return (a, b, c, acc)"))
    return Body(tuple(lines), generator)


# -- running --------------------------------------------------------------------------------
def _exception(exc: BaseException) -> tuple[Any, ...]:
    frames = traceback.extract_tb(exc.__traceback__)
    return ("raised", type(exc).__name__, exc.args, [f.name for f in frames], len(frames))


def _run(function: Callable[[int], Any], arg: int, generator: bool) -> tuple[Any, ...]:
    if not generator:
        try:
            return ("returned", function(arg))
        except Exception as exc:  # the exception is the behaviour compared
            return _exception(exc)
    gen = function(arg)
    values: list[Any] = []
    try:
        while len(values) < MAX_YIELDS:
            values.append(next(gen))
    except StopIteration as stop:
        return ("yielded", values, "returned", stop.value)
    except Exception as exc:  # the exception is the behaviour compared
        return ("yielded", values, *_exception(exc))
    gen.close()
    return ("yielded", values, "still running")


def _load(source: str, filename: str) -> Callable[[int], Any]:
    # as a top-level module: its relative import fails with ImportError, and the import
    # block falls back to ``import _telemetry_utils`` (run as a script it warns first:
    # see test_behaviour.test_script_run_with_warnings_as_errors)
    namespace: dict[str, Any] = {"__name__": "generated", "__package__": ""}
    exec(compile(source, filename, "exec"), namespace)
    return namespace["f"]  # type: ignore[no-any-return]


def _assert_same_behaviour(source: str, instrumented: str, generator: bool) -> None:
    original_f = _load(source, "<generated>")
    instrumented_f = _load(instrumented, "<generated>")
    for arg in INPUTS:
        expected = _run(original_f, arg, generator)
        actual = _run(instrumented_f, arg, generator)
        assert actual == expected, f"f({arg})"


# -- properties --------------------------------------------------------------------------
@_settings(60)
@given(body=bodies())
def test_instrumented_functions_behave_the_same(body: Body, helper_dir: Path) -> None:
    source = body.render()
    note(source)
    instrumented = instrument_text(source)
    note(instrumented)
    assert ("enter_gen(" in instrumented) == body.generator
    _assert_same_behaviour(source, instrumented, body.generator)


@_settings(40)
@given(body=bodies())
def test_strip_restores_the_source_and_instrumenting_is_idempotent(body: Body) -> None:
    source = body.render()
    note(source)
    instrumented = instrument_text(source)
    assert instrumented != source
    assert strip_text(instrumented) == source
    assert instrument_text(instrumented) == instrumented
    assert strip_text(source) == source


@_settings(40)
@given(
    body=bodies(),
    unit=st.sampled_from(["    ", "\t", "  "]),
    newline=st.sampled_from(["\n", "\r\n"]),
    final_newline=st.booleans(),
)
def test_round_trip_with_other_layouts(
    body: Body, unit: str, newline: str, final_newline: bool, helper_dir: Path
) -> None:
    source = body.render(unit, newline, final_newline)
    note(repr(source))
    instrumented = instrument_text(source)
    note(repr(instrumented))
    assert strip_text(instrumented) == source
    assert instrument_text(instrumented) == instrumented
    # everything the instrumentation added follows the file's own layout
    if newline == "\r\n":
        assert "\n" not in instrumented.replace("\r\n", "")
    if final_newline:
        assert instrumented.endswith(newline)
    else:
        assert not instrumented.endswith(("\n", "\r"))
    if unit == "\t":  # no line indented with spaces but the string's own lines
        spaced = {line for line in instrumented.splitlines() if line.startswith(" ")}
        assert spaced <= set(source.splitlines())
    _assert_same_behaviour(source, instrumented, body.generator)
