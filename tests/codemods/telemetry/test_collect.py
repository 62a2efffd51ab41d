"""Which constructs become edit requests, and which are left alone (with a reason)."""

from __future__ import annotations

import textwrap

import pytest

from codemodkit.codemods.telemetry.python.collect import collect
from codemodkit.codemods.telemetry.python.sites import (
    FilePlan,
    FunctionSite,
    LoopSite,
    VariableSite,
)
from codemodkit.parsers.python import parse_python


def plan_of(source: str) -> FilePlan:
    return collect(parse_python(textwrap.dedent(source)), "mod", "mod.py")


def functions(source: str) -> dict[str, str]:
    return {site.qualname: site.flavor for site in plan_of(source).functions}


def test_every_kind_of_function_is_collected() -> None:
    found = functions(
        """
        import functools

        def plain(): return 1
        async def coro(): return 1
        def gen(): yield 1
        async def agen(): yield 1
        def gen_from(): yield from range(3)

        @functools.lru_cache
        def decorated(x): return x

        class C:
            def method(self): return 1
            @staticmethod
            def static(): return 2
            @property
            def prop(self): return 3
            class Inner:
                def deep(self): return 4

        def outer():
            def inner():
                return 1
            return inner
        """
    )
    assert found == {
        "mod.plain": "function",
        "mod.coro": "coroutine",
        "mod.gen": "generator",
        "mod.agen": "async_generator",
        "mod.gen_from": "generator",
        "mod.decorated": "function",
        "mod.C.method": "function",
        "mod.C.static": "function",
        "mod.C.prop": "function",
        "mod.C.Inner.deep": "function",
        "mod.outer": "function",
        "mod.outer.<locals>.inner": "function",
    }


def test_yield_in_a_nested_function_does_not_make_the_outer_one_a_generator() -> None:
    found = functions(
        """
        def outer():
            def inner():
                yield 1
            squares = (x * x for x in range(3))
            return inner, squares
        """
    )
    assert found == {"mod.outer": "function", "mod.outer.<locals>.inner": "generator"}


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (
            """
            from typing import overload
            @overload
            def f(x: int) -> int: ...
            """,
            "typing.overload stub",
        ),
        ("def f():\n    ...\n", "stub body (only a docstring or ...)"),
        ('def f():\n    """Only a docstring."""\n', "stub body (only a docstring or ...)"),
        (
            """
            import abc
            class A(abc.ABC):
                @abc.abstractmethod
                def f(self): pass
            """,
            "abstract method with a placeholder body",
        ),
        (
            """
            import abc
            class A(abc.ABC):
                @abc.abstractmethod
                def f(self):
                    raise NotImplementedError()
            """,
            "abstract method with a placeholder body",
        ),
        (
            """
            from typing import Protocol
            class P(Protocol):
                def size(self) -> int:
                    return 0
            """,
            "member of a Protocol class",
        ),
        ('def f():\n    """Doc."""; return 1\n', "body layout cannot be wrapped"),
        ('def f(): "doc"; return 1\n', "body layout cannot be wrapped"),
    ],
    ids=[
        "overload",
        "ellipsis",
        "docstring-only",
        "abstract-pass",
        "abstract-raise",
        "protocol",
        "docstring-shares-line",
        "one-line-docstring",
    ],
)
def test_left_alone_with_a_reason(source: str, reason: str) -> None:
    plan = plan_of(source)
    assert plan.functions == []
    assert [r for _, r in plan.skipped] == [reason]


def test_abstract_method_with_a_real_body_is_instrumented() -> None:
    found = functions(
        """
        import abc
        class A(abc.ABC):
            @abc.abstractmethod
            def f(self):
                return compute()
        """
    )
    assert found == {"mod.A.f": "function"}


def test_loops_everywhere_but_class_bodies() -> None:
    plan = plan_of(
        """
        import enum
        for a in range(2):
            pass

        class E(enum.Enum):
            X = 1
            for b in range(0):
                pass

        async def f(items):
            while True:
                break
            async for c in items:
                for d in c:
                    pass
        """
    )
    loops = [(site.qualname, site.flavor, site.counter) for site in plan.loops]
    assert loops == [
        ("mod", "for", "_codemod_n1"),
        ("mod.f", "while", "_codemod_n1"),
        ("mod.f", "async for", "_codemod_n1"),
        ("mod.f", "for", "_codemod_n2"),
    ]
    assert (8, "loop in a class body") in plan.skipped


def variables(source: str) -> list[tuple[str, ...]]:
    return [site.names for site in plan_of(source).variables]


def test_notable_variables() -> None:
    found = variables(
        """
        def f(items, obj):
            total = sum(items)
            count: int = len(items)
            first, *rest = items
            total += 1
            _private = total
            constant = 42
            empty = []
            label = "fixed"
            negative = -1
            nothing = None
            obj.attr = total
            items[0] = total
            a = b = total * 2
            x = 1; y = total
            if total:
                kept = total
            for item in items:
                inside = item
            return total
        """
    )
    assert found == [("total",), ("count",), ("first", "rest"), ("total",), ("a", "b"), ("kept",)]


def test_variables_only_inside_functions() -> None:
    assert variables("module_level = compute()\nclass C:\n    attr = compute()\n") == []


def test_ids_are_stable_and_unique() -> None:
    source = """
    def f(x):
        for a in x:
            pass
        for b in x:
            pass
        y = g(x)
        y = g(y)
        return y
    """
    first = [site.id for site in plan_of(source).sites()]
    assert len(first) == len(set(first))
    shifted = [site.id for site in plan_of("import os\n\n\n" + textwrap.dedent(source)).sites()]
    assert first == shifted  # unrelated edits above do not change ids
    assert "mod.py::mod.f::loop#2" in first


def test_sites_refer_to_the_right_code() -> None:
    source = "def f(x):\n    y = g(x)\n    return y\n"
    plan = plan_of(source)
    (function,) = plan.functions
    (variable,) = plan.variables
    assert isinstance(function, FunctionSite) and isinstance(variable, VariableSite)
    assert source[function.span[0] : function.span[1]].startswith("def f(x):")
    assert source[variable.span[0] : variable.span[1]] == "y = g(x)"
    assert (function.line, variable.line) == (1, 2)
    assert not any(isinstance(s, LoopSite) for s in plan.sites())
