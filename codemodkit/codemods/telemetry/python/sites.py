"""Plain data describing where telemetry goes in one Python file.

Everything here is picklable and refers to the *uninstrumented* text: 0-based line
indexes and character offsets. ``layout.py`` turns sites plus snippets into edits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: The module alias of the helper, and the prefix of every injected name.
HELPER_ALIAS = "_codemod_tel"
RESERVED_PREFIX = "_codemod_"
TOKEN_NAME = "_codemod_t"
HELPER_MODULE = "_telemetry_utils"


def counter_name(depth: int) -> str:
    """Loop counters are named by nesting depth, so siblings share one and nesting never clashes."""
    return f"{RESERVED_PREFIX}n{depth}"


@dataclass(frozen=True)
class Region:
    """Original lines ``first..last`` (inclusive) that gain one indentation level."""

    first: int
    last: int
    #: indentation text of the statements in the region, before instrumentation
    prefix: str
    #: the indentation step this region adds (learned from the code around it)
    unit: str


@dataclass(frozen=True)
class Site:
    id: str
    #: qualified name of the function (for loops/variables: of the enclosing function,
    #: or the module name at module level)
    qualname: str
    #: 1-based line in the uninstrumented file
    line: int
    #: ids of enclosing sites that wrap this one (outermost first)
    ancestors: tuple[str, ...]
    #: character span of the construct's code
    span: tuple[int, int]


@dataclass(frozen=True)
class FunctionSite(Site):
    flavor: Literal["function", "coroutine", "generator", "async_generator"]
    params: tuple[str, ...]
    #: "block": the body's statements are indented under ``try:``;
    #: "suite": a one-line body moves behind a new ``try:`` line
    layout: Literal["block", "suite"]
    region: Region | None
    #: block: start of the first wrapped line; suite: offset just after the def's colon
    insert_at: int
    #: offset just past the last wrapped line (its newline included)
    end_at: int
    #: indentation of the lines the wrap adds (before enclosing wraps are applied)
    prefix: str
    #: indentation step for the lines inside the added ``except``/``finally`` blocks
    unit: str


@dataclass(frozen=True)
class LoopSite(Site):
    flavor: Literal["for", "async for", "while"]
    counter: str
    region: Region
    insert_at: int
    end_at: int
    prefix: str
    #: where the per-iteration increment goes
    tick_at: int
    #: indentation of the loop body for a block body; None for a one-line body
    tick_prefix: str | None
    #: span of a ``for`` loop's iterable when it can be wrapped in a counting iterator
    #: (then no per-iteration statement is needed)
    iterable: tuple[int, int] | None = None


@dataclass(frozen=True)
class VariableSite(Site):
    names: tuple[str, ...]
    #: offset just past the assignment's last line
    end_at: int
    prefix: str


@dataclass(frozen=True)
class ImportSite:
    """Where the helper import block goes."""

    insert_at: int
    #: leading dots of the relative import ("." for a sibling, ".." one level up, ...)
    dots: str


@dataclass
class FilePlan:
    """All sites of one file, with what layout needs to know about its text."""

    functions: list[FunctionSite] = field(default_factory=list)
    loops: list[LoopSite] = field(default_factory=list)
    variables: list[VariableSite] = field(default_factory=list)
    #: constructs left alone, with the reason (for ``-v`` and the report)
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def sites(self) -> list[Site]:
        merged: list[Site] = [*self.functions, *self.loops, *self.variables]
        merged.sort(key=lambda s: (s.span[0], len(s.ancestors)))
        return merged
