"""Plain data describing where telemetry goes in one JavaScript or TypeScript file.

Everything here is picklable and refers to the *uninstrumented* UTF-8 bytes: 0-based
line indexes and byte offsets. ``layout.py`` turns sites plus snippets into edits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from codemodkit.parsers.javascript import ByteLines

from ..python.sites import HELPER_ALIAS, HELPER_MODULE, RESERVED_PREFIX, TOKEN_NAME

__all__ = [
    "ARROW_TOKEN",
    "ERROR_NAME",
    "HELPER_ALIAS",
    "HELPER_MODULE",
    "RESERVED_PREFIX",
    "TOKEN_NAME",
    "FilePlan",
    "FunctionSite",
    "ImportSite",
    "JsFacts",
    "LoopSite",
    "Region",
    "Site",
    "VariableSite",
    "counter_name",
]

#: The token of an arrow function whose expression body became a block: its own name
#: is the marker that tells ``strip`` to turn the block back into the expression.
ARROW_TOKEN = f"{RESERVED_PREFIX}a"
#: The catch parameter of the function wrap.
ERROR_NAME = f"{RESERVED_PREFIX}e"


def counter_name(index: int, enclosed: bool = False) -> str:
    """Loop counters are numbered per function, so no two ``let`` share a name in one
    function scope (sibling loops in one block would otherwise redeclare it). The
    counter of a loop that gets braces around it (``enclosed``) is ``_codemod_bN``: the
    name is the marker that tells ``strip`` the braces go too."""
    return f"{RESERVED_PREFIX}{'b' if enclosed else 'n'}{index}"


@dataclass(frozen=True)
class JsFacts:
    """What layout needs to know about the text, without the (unpicklable) tree."""

    data: bytes
    newline: bytes
    indent: bytes
    #: lines that start inside a multi-line template or string literal: never re-indented
    protected: frozenset[int]
    #: the line table of ``data``, when the parse already built it
    lines: ByteLines | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Region:
    """Original lines ``first..last`` (inclusive) that gain one indentation level."""

    first: int
    last: int
    #: indentation of the region's statements, before instrumentation
    prefix: bytes
    unit: bytes


@dataclass(frozen=True)
class Site:
    id: str
    #: qualified name of the function (for loops and variables: of the enclosing
    #: function, or ``<module>`` at the top level)
    qualname: str
    #: 1-based line in the uninstrumented file
    line: int
    #: ids of enclosing sites whose regions re-indent this one (outermost first)
    ancestors: tuple[str, ...]
    #: byte span of the construct's code
    span: tuple[int, int]


@dataclass(frozen=True)
class FunctionSite(Site):
    #: "function", "async function", "generator", "arrow function", "method", ...
    flavor: str
    params: tuple[str, ...]
    #: "block": the body's lines are re-indented under ``try {``; "inline": the wrap
    #: is spliced into a body that shares lines with its braces; "arrow": an
    #: expression body becomes a block that returns it
    layout: Literal["block", "inline", "arrow"]
    region: Region | None
    #: block: start of the first wrapped line; inline: just past ``{`` or the
    #: directives; arrow: the expression's first byte
    open_at: int
    #: block: start of the closing brace's line; inline: the closing brace;
    #: arrow: just past the expression
    close_at: int
    #: indentation of the lines the wrap adds (before enclosing wraps are applied)
    prefix: bytes
    unit: bytes


@dataclass(frozen=True)
class LoopSite(Site):
    #: "for", "for...in", "for...of", "for await...of", "while", "do...while"
    flavor: str
    counter: str
    #: the loop's lines (None when ``enclosed`` is "inline": nothing is re-indented)
    region: Region | None
    #: start of the loop's first line / just past its last line (``enclosed`` "inline":
    #: the loop's first byte / just past its last byte, labels included)
    open_at: int
    close_at: int
    prefix: bytes
    #: "line": a new line before the body's first line; "inline": after the body's
    #: ``{``; "braces": the brace-less body gets braces around it
    tick: Literal["line", "inline", "braces"]
    tick_at: int
    #: end of a brace-less body (tick "braces")
    tick_end: int = 0
    #: indentation of the tick line (tick "line")
    tick_prefix: bytes = b""
    #: "": the loop is an item of a statement list; otherwise it is the brace-less body
    #: of another statement (``if (x) for ...``) and gets braces around its counter and
    #: its ``try``: "block" on lines of their own (the region gains two units), "inline"
    #: spliced in around the loop's bytes
    enclosed: Literal["", "block", "inline"] = ""


@dataclass(frozen=True)
class VariableSite(Site):
    names: tuple[str, ...]
    #: just past the declaration's last line
    end_at: int
    prefix: bytes


@dataclass(frozen=True)
class ImportSite:
    """Where the helper import goes: before the first statement after the hashbang,
    the leading comments and the directive prologue."""

    insert_at: int


@dataclass
class FilePlan:
    functions: list[FunctionSite] = field(default_factory=list)
    loops: list[LoopSite] = field(default_factory=list)
    variables: list[VariableSite] = field(default_factory=list)
    #: constructs left alone, with the reason (for ``-v`` and the report)
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def sites(self) -> list[Site]:
        merged: list[Site] = [*self.functions, *self.loops, *self.variables]
        merged.sort(key=lambda s: (s.span[0], len(s.ancestors)))
        return merged
