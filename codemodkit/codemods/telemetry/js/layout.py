"""Turn accepted snippets into insertions into the original bytes.

Every change is an insertion, and ``strip.py`` is its exact inverse (deletions only):

* a *region* (a function body in block layout, a whole loop) gains one indentation
  unit ``U`` right after the region's own indentation on each of its lines - except
  blank lines, lines indented less than the region, and lines that start inside a
  multi-line template or string literal (whose bytes are the string's value);
* new lines go in at line starts, indented like their anchor plus one ``U`` for every
  enclosing region that re-indents the anchor's line;
* a body that shares lines with its braces gets the wrap spliced in on those lines
  ("inline"), and an arrow's expression body is enclosed, untouched, in a block that
  returns it;
* a brace-less loop body is enclosed in braces, and so is a loop that is the
  brace-less body of another statement (with its counter and ``try``).

Insertions that share an offset are ordered: closing code of inner sites first, then
opening code of outer sites, then indentation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import chain, filterfalse, repeat

from codemodkit.edits import Insertion
from codemodkit.parsers.javascript import ByteLines

from .sites import (
    ERROR_NAME,
    FunctionSite,
    ImportSite,
    JsFacts,
    LoopSite,
    Region,
    Site,
    VariableSite,
)
from .snippets import JsSnippet

__all__ = ["IMPORT_COMMENT", "layout"]

_AFTER, _BEFORE, _INDENT = 0, 1, 2
#: ends the import line; says what it is and how to undo it
IMPORT_COMMENT = "// codemod telemetry helper; undo with: codemod telemetry --remove"


def _b(text: str) -> bytes:
    return text.encode("utf-8")


_INDENTABLE: dict[bytes, tuple[re.Pattern[bytes], re.Pattern[bytes]]] = {}
_START = re.Match.start


def _indentable(prefix: bytes) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """Lines that start with ``prefix`` and are not blank (a character other than space,
    tab and the line end - ``\\n`` or ``\\r\\n``, a lone ``\\r`` is content as in
    ``ByteLines.text``): a pattern that matches at a line start, and one that finds
    every further line by its newline (a literal first, so the engine jumps from one
    newline to the next instead of trying ``^`` at every byte)."""
    patterns = _INDENTABLE.get(prefix)
    if patterns is None:
        body = re.escape(prefix) + rb"(?=[ \t]*+(?:[^ \t\r\n]|\r(?!\n)))"
        patterns = _INDENTABLE[prefix] = (re.compile(body), re.compile(rb"\n" + body))
    return patterns


class _Layout:
    def __init__(self, facts: JsFacts, sites: Sequence[Site]) -> None:
        self.facts = facts
        self.lines = facts.lines or ByteLines(facts.data)
        self.nl = facts.newline
        self.regions: dict[str, Region] = {}
        for site in sites:
            if isinstance(site, (FunctionSite, LoopSite)) and site.region is not None:
                self.regions[site.id] = site.region
        #: ``(offset, phase, rank, seq, text)``: sorted, the order ``apply_insertions``
        #: splices them in (plain tuples: a long file gets hundreds of thousands)
        self.edits: list[Insertion[bytes]] = []

    def indent(self, prefix: bytes, wraps: Iterable[str], row: int) -> bytes:
        """``prefix`` (of line ``row``) as it reads once enclosing regions are indented."""
        if row in self.facts.protected:  # a line inside a template: never re-indented
            return prefix
        steps = sorted(
            (
                (len(r.prefix), r.unit)
                for w in wraps
                if (r := self.regions.get(w))
                and r.first <= row <= r.last
                and prefix.startswith(r.prefix)
            ),
            reverse=True,
        )
        for column, unit in steps:
            prefix = prefix[:column] + unit + prefix[column:]
        return prefix

    def lines_of(self, prefix: bytes, statements: Sequence[str]) -> bytes:
        """Each statement on a line of its own, indented by ``prefix``."""
        if not statements:
            return b""
        return prefix + (self.nl + prefix).join(map(str.encode, statements)) + self.nl

    def insert(self, at: int, text: bytes, phase: int, rank: float) -> None:
        self.edits.append((at, phase, rank, len(self.edits), text))

    def indent_regions(self) -> None:
        """One unit after the region's prefix on each of its lines that starts with the
        prefix, is not blank and is not protected; found by a regular expression over
        the region's bytes and turned into insertions by C iterators, not line by line
        in Python (a region's lines are re-visited by every region around it)."""
        lines = self.lines
        data = self.facts.data
        protected = {lines.start(row) for row in self.facts.protected}
        edits = self.edits
        for region in self.regions.values():
            head, rest = _indentable(region.prefix)
            first, end = lines.start(region.first), lines.end(region.last)
            # The region's first line, then the line after each newline in the region.
            starts: Iterable[int] = map((1).__add__, map(_START, rest.finditer(data, first, end)))
            if head.match(data, first, end):
                starts = chain((first,), starts)
            if protected:
                starts = filterfalse(protected.__contains__, starts)
            # Indentation sorts after everything else at its offset; among itself, by
            # region (outer first), as when each got the next sequence number.
            seq = len(edits)
            offsets = map(len(region.prefix).__add__, starts)
            edits.extend(zip(offsets, repeat(_INDENT), repeat(0), repeat(seq), repeat(region.unit)))

    # -- the sites ---------------------------------------------------------------------
    def function(self, site: FunctionSite, snippet: JsSnippet) -> None:
        depth = len(site.ancestors)
        nl = self.nl
        catch = f"}} catch ({ERROR_NAME}) {{"
        rethrow = (*snippet.on_error, f"throw {ERROR_NAME};")
        if site.layout == "inline":
            head = " " + " ".join(snippet.before) + " try {"
            tail = f"{catch} {' '.join(rethrow)} }} finally {{ {' '.join(snippet.after)} }} "
            self.insert(site.open_at, _b(head), _BEFORE, depth)
            self.insert(site.close_at, _b(tail), _AFTER, -depth)
            return
        if site.layout == "block":
            assert site.region is not None
            outer = self.indent(site.prefix, site.ancestors, site.region.first)
            inner = outer + site.unit
            self.insert(
                site.open_at,
                self.lines_of(outer, (*snippet.before, "try {")),
                _BEFORE,
                depth,
            )
            self.insert(
                site.close_at,
                self.lines_of(outer, (catch,))
                + self.lines_of(inner, rethrow)
                + self.lines_of(outer, ("} finally {",))
                + self.lines_of(inner, snippet.after)
                + self.lines_of(outer, ("}",)),
                _AFTER,
                -depth,
            )
            return
        # An arrow's expression body: ``=> EXPR`` becomes ``=> { ... return EXPR; ... }``.
        row = self.lines.line_of(site.open_at)
        base = self.indent(site.prefix, site.ancestors, row)
        outer = base + site.unit
        inner = outer + site.unit
        opening = b"{" + nl + self.lines_of(outer, (*snippet.before, "try {")) + inner + b"return "
        closing = (
            b";"
            + nl
            + self.lines_of(outer, (catch,))
            + self.lines_of(inner, rethrow)
            + self.lines_of(outer, ("} finally {",))
            + self.lines_of(inner, snippet.after)
            + self.lines_of(outer, ("}",))
            + base
            + b"}"
        )
        self.insert(site.open_at, opening, _BEFORE, depth)
        self.insert(site.close_at, closing, _AFTER, -depth)

    def loop(self, site: LoopSite, snippet: JsSnippet) -> None:
        depth = len(site.ancestors)
        region = site.region
        if region is None:  # a brace-less body sharing its lines: braces spliced in
            head = "{ " + " ".join((*snippet.before, "try { "))
            tail = f" }} finally {{ {' '.join(snippet.after)} }} }}"
            self.insert(site.open_at, _b(head), _BEFORE, depth)
            self.insert(site.close_at, _b(tail), _AFTER, -depth)
        else:
            outer = self.indent(site.prefix, site.ancestors, region.first)
            unit = region.unit
            opening = closing = b""
            if site.enclosed:  # ``{`` and ``}`` at the loop's indentation, the rest inside
                unit = unit[: len(unit) // 2]
                opening, closing = self.lines_of(outer, ("{",)), self.lines_of(outer, ("}",))
                outer += unit
            opening += self.lines_of(outer, (*snippet.before, "try {"))
            closing = (
                self.lines_of(outer, ("} finally {",))
                + self.lines_of(outer + unit, snippet.after)
                + self.lines_of(outer, ("}",))
                + closing
            )
            self.insert(site.open_at, opening, _BEFORE, depth)
            self.insert(site.close_at, closing, _AFTER, -depth)
        tick = snippet.tick
        if tick is None:
            return
        if site.tick == "line":
            tick_row = self.lines.line_of(site.tick_at)
            prefix = self.indent(site.tick_prefix, (*site.ancestors, site.id), tick_row)
            self.insert(site.tick_at, prefix + _b(tick) + self.nl, _BEFORE, depth + 0.5)
        elif site.tick == "inline":
            self.insert(site.tick_at, _b(" " + tick), _BEFORE, depth + 0.5)
        else:
            self.insert(site.tick_at, _b("{ " + tick + " "), _BEFORE, depth + 0.5)
            self.insert(site.tick_end, b" }", _AFTER, -depth - 0.5)

    def variable(self, site: VariableSite, snippet: JsSnippet) -> None:
        row = self.lines.line_of(site.span[0])
        prefix = self.indent(site.prefix, site.ancestors, row)
        rank = -(len(site.ancestors) + 1)
        self.insert(site.end_at, self.lines_of(prefix, snippet.after), _AFTER, rank)

    def finish(self) -> list[Insertion[bytes]]:
        """Fold insertions at the end of a file that lacks a final newline: the newline
        that whole lines would end with goes before the first of them instead, after
        what is spliced in on the last line (braces closed around a loop or its body)."""
        data = self.facts.data
        end = len(data)
        if not data or data.endswith(b"\n"):
            return self.edits
        at_end = sorted(e for e in self.edits if e[0] == end)
        if not at_end:
            return self.edits
        nl = self.nl
        texts = [e[4] for e in at_end]
        lines = next((i for i, text in enumerate(texts) if text.endswith(nl)), len(texts))
        merged = b"".join(texts[:lines])
        if lines < len(texts):
            merged += nl + b"".join(texts[lines:])[: -len(nl)]
        rest = [e for e in self.edits if e[0] != end]
        return [*rest, (end, _AFTER, 0, 0, merged)]


def layout(
    facts: JsFacts,
    accepted: Sequence[tuple[Site, JsSnippet]],
    import_site: ImportSite | None,
    import_statement: str,
) -> list[Insertion[bytes]]:
    """Insertions (for ``apply_insertions``) that instrument ``facts.data`` with the
    accepted snippets."""
    plan = _Layout(facts, [site for site, _ in accepted])
    if import_site is not None and accepted:
        line = _b(f"{import_statement} {IMPORT_COMMENT}") + plan.nl
        at = import_site.insert_at
        if plan.lines.prefix(at) is not None:  # keep whole lines whole
            at = plan.lines.start(plan.lines.line_of(at))
        plan.insert(at, line, _BEFORE, -1)
    plan.indent_regions()
    for site, snippet in accepted:
        if isinstance(site, FunctionSite):
            plan.function(site, snippet)
        elif isinstance(site, LoopSite):
            plan.loop(site, snippet)
        elif isinstance(site, VariableSite):
            plan.variable(site, snippet)
    return plan.finish()
