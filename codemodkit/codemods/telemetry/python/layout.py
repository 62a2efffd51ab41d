"""Turn accepted snippets into insertions into the original text.

Every change is an insertion, and ``strip.py`` is its exact inverse (deletions only):

* a *region* (a function body, a whole loop) gains one indentation unit ``U``, inserted
  right after the region's own indentation on each of its lines — except blank lines,
  lines that start inside a multi-line string or continuation, and lines indented less
  than the region (comments at column 0), whose indentation does not matter;
* new lines are inserted at line starts, indented like their anchor plus one ``U`` for
  every enclosing region.

Insertions that share an offset are ordered: closing code of inner sites first, then
opening code of outer sites, then indentation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from codemodkit.edits import Edit
from codemodkit.parsers.python import PyFacts

from .sites import (
    HELPER_ALIAS,
    HELPER_MODULE,
    FunctionSite,
    ImportSite,
    LoopSite,
    Region,
    Site,
    VariableSite,
)
from .snippets import PySnippet

__all__ = ["import_block", "layout"]

_AFTER, _BEFORE, _INDENT = 0, 1, 2


def import_block(dots: str, indent: str, newline: str) -> str:
    """The helper import: relative inside a package, beside the file otherwise.

    Testing ``__package__`` (rather than trying the relative import and catching the
    failure) avoids the ImportWarning a script would emit, which ``-W error`` turns
    into a crash. ``globals().get`` also works in a bare ``exec`` namespace.
    """
    return (
        f'if globals().get("__package__"):  # codemod telemetry helper; '
        f"undo with: codemod telemetry --remove{newline}"
        f"{indent}from {dots} import {HELPER_MODULE} as {HELPER_ALIAS}{newline}"
        f"else:  # a script or top-level module: the helper sits beside it{newline}"
        f"{indent}import {HELPER_MODULE} as {HELPER_ALIAS}{newline}"
    )


class _Layout:
    def __init__(self, facts: PyFacts, sites: Sequence[Site]) -> None:
        self.facts = facts
        self.text = facts.text
        self.line_index = facts.line_index()
        self.nl = facts.newline
        self.unit = facts.indent
        self.regions: dict[str, Region] = {}
        for site in sites:
            if isinstance(site, (FunctionSite, LoopSite)) and site.region is not None:
                self.regions[site.id] = site.region
        self.edits: list[Edit[str]] = []

    def indent(self, prefix: str, wraps: Iterable[str]) -> str:
        """``prefix`` as it reads once the given enclosing regions are indented."""
        steps = sorted(
            (
                (len(r.prefix), r.unit)
                for w in wraps
                if (r := self.regions.get(w)) and prefix.startswith(r.prefix)
            ),
            reverse=True,
        )
        for column, unit in steps:
            prefix = prefix[:column] + unit + prefix[column:]
        return prefix

    def lines(self, prefix: str, statements: Iterable[str]) -> str:
        return "".join(f"{prefix}{s}{self.nl}" for s in statements)

    def insert(self, at: int, text: str, phase: int, rank: float) -> None:
        self.edits.append(Edit(at, at, text, key=(phase, rank, len(self.edits))))

    def indent_regions(self) -> None:
        lines = self.line_index
        protected = self.facts.protected
        for region in self.regions.values():
            width = len(region.prefix)
            for line in range(region.first, region.last + 1):
                if line in protected:
                    continue
                content = lines.line_text(line)
                if content.startswith(region.prefix) and content.strip():
                    at = lines.start(line) + width
                    self.insert(at, region.unit, _INDENT, 0)

    def function(self, site: FunctionSite, snippet: PySnippet) -> None:
        depth = len(site.ancestors)
        outer = self.indent(site.prefix, site.ancestors)
        inner = outer + site.unit
        closing = (
            f"{outer}except BaseException:{self.nl}"
            + self.lines(inner, (*snippet.on_error, "raise"))
            + f"{outer}finally:{self.nl}"
            + self.lines(inner, snippet.after)
        )
        if site.layout == "block":
            opening = self.lines(outer, snippet.before) + f"{outer}try:{self.nl}"
        else:
            opening = self.nl + self.lines(outer, snippet.before) + f"{outer}try:"
        self.insert(site.insert_at, opening, _BEFORE, depth)
        self.insert(site.end_at, closing, _AFTER, -depth)

    def loop(self, site: LoopSite, snippet: PySnippet) -> None:
        depth = len(site.ancestors)
        outer = self.indent(site.prefix, site.ancestors)
        self.insert(
            site.insert_at,
            self.lines(outer, snippet.before) + f"{outer}try:{self.nl}",
            _BEFORE,
            depth,
        )
        closing = f"{outer}finally:{self.nl}" + self.lines(outer + site.region.unit, snippet.after)
        self.insert(site.end_at, closing, _AFTER, -depth)
        if snippet.wrap is not None and site.iterable is not None:
            start, end = site.iterable
            self.insert(start, snippet.wrap[0], _BEFORE, depth)
            self.insert(end, snippet.wrap[1], _AFTER, -depth)
        if snippet.tick is not None:
            if site.tick_prefix is None:
                self.insert(site.tick_at, f"{snippet.tick}; ", _BEFORE, depth + 0.5)
            else:
                prefix = self.indent(site.tick_prefix, (*site.ancestors, site.id))
                self.insert(site.tick_at, f"{prefix}{snippet.tick}{self.nl}", _BEFORE, depth + 0.5)

    def variable(self, site: VariableSite, snippet: PySnippet) -> None:
        prefix = self.indent(site.prefix, site.ancestors)
        self.insert(
            site.end_at, self.lines(prefix, snippet.after), _AFTER, -(len(site.ancestors) + 1)
        )

    def finish(self) -> list[Edit[str]]:
        """Fold insertions at the end of a file that lacks a final newline."""
        text = self.text
        end = len(text)
        if not text or text.endswith(("\n", "\r")):
            return self.edits
        at_end = sorted((e for e in self.edits if e.start == end), key=lambda e: e.key)
        if not at_end:
            return self.edits
        merged = "".join(e.text for e in at_end)
        if merged.endswith(self.nl):
            merged = self.nl + merged[: -len(self.nl)]
        rest = [e for e in self.edits if e.start != end]
        return [*rest, Edit(end, end, merged, key=(_AFTER, 0, 0))]


def layout(
    facts: PyFacts,
    accepted: Sequence[tuple[Site, PySnippet]],
    import_site: ImportSite | None,
) -> list[Edit[str]]:
    """Edits that instrument the text of ``facts`` with the accepted snippets."""
    plan = _Layout(facts, [site for site, _ in accepted])
    if import_site is not None and accepted:
        block = import_block(import_site.dots, plan.unit, plan.nl)
        plan.insert(import_site.insert_at, block, _BEFORE, -1)
    plan.indent_regions()
    for site, snippet in accepted:
        if isinstance(site, FunctionSite):
            plan.function(site, snippet)
        elif isinstance(site, LoopSite):
            plan.loop(site, snippet)
        elif isinstance(site, VariableSite):
            plan.variable(site, snippet)
    return plan.finish()
