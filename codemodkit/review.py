"""Choosing which parts of a computed change get written.

A changed file's line hunks are grouped per construct: every hunk that touches a
construct's lines (a function with its loops and variables, or a module-level loop)
belongs to it, and a hunk touching two constructs joins them. One telemetry construct
is several hunks (a wrapper's head and tail, a re-indented body cut at blank lines),
and accepting only some of those would leave broken code, so a construct is accepted
or rejected as a whole. Hunks outside every construct (the helper import) are applied
when any construct of the file is accepted. A partial result is parsed again before
it is written; one that does not parse is not written and says so.

Files that already hold instrumentation are one group: the codemod's spans then refer
to the text with the old instrumentation removed, not to the file on disk.
``codemod tsfix`` fixes are small independent edits: one group per line hunk
(``plan_hunks``), with the same parse check of a partial result.

Nothing is written during the review: the session writes afterwards, so Ctrl-C
writes nothing and q writes what was accepted before it.
"""

from __future__ import annotations

import bisect
import itertools
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from codemodkit.output.diff import _lines, unified_diff
from codemodkit.output.hunks import Hunk, rebuild, split_hunks
from codemodkit.parsers.javascript import JSParseError, check_parses, dialect_for
from codemodkit.runner import ChangeRecord, FileResult

__all__ = ["FileChange", "Group", "Quit", "Reviewer", "finish", "plan", "plan_hunks"]

#: every name the telemetry codemods write starts with this
_INSTRUMENTED = "_codemod_"


@dataclass(frozen=True)
class Group:
    """Hunks accepted or rejected together: one construct (or several that touch)."""

    hunks: tuple[int, ...]
    records: tuple[ChangeRecord, ...]
    #: 1-based, inclusive line range in the old text
    lines: tuple[int, int]
    label: str


@dataclass(frozen=True)
class FileChange:
    result: FileResult
    old: str
    new: str
    hunks: tuple[Hunk, ...]
    groups: tuple[Group, ...]
    #: hunks applied whenever any group is (the helper import)
    support: tuple[int, ...]


def _qualname(record: ChangeRecord) -> str:
    parts = record.request_id.split("::")
    return parts[1] if len(parts) >= 3 else record.request_id


def _describe(records: Sequence[ChangeRecord], outer: Sequence[ChangeRecord]) -> str:
    names = ", ".join(f"{r.kind} {_qualname(r)} (line {r.line})" for r in outer)
    inner = Counter(r.kind for r in records if r not in outer)
    if inner:
        names += " with " + ", ".join(f"{n} {k}{'s' if n > 1 else ''}" for k, n in inner.items())
    return names


def provenance(records: Iterable[ChangeRecord]) -> str:
    """Who wrote a group's snippets: the template, or which model of which tier."""
    seen: dict[str, None] = {}
    for r in records:
        if r.strategy == "model":
            seen[f"model {r.model or '?'} ({r.provider}, tier {r.tier})"] = None
        else:
            seen["template"] = None
    return ", ".join(seen)


def _line_of(starts: Sequence[int], offset: int) -> int:
    """0-based line holding byte ``offset`` (``starts``: byte offset of each line)."""
    return max(0, bisect.bisect_right(starts, offset) - 1)


def _touches(hunk: Hunk, first: int, last: int) -> bool:
    if hunk.old_start < hunk.old_end:
        return hunk.old_start <= last and hunk.old_end - 1 >= first
    # An insertion before line ``old_start``: inside the construct or right after it
    # (statements added after its last line); before its first line is outside.
    return first < hunk.old_start <= last + 1


def plan(result: FileResult) -> FileChange:
    """Hunks and groups of a changed file (the runner kept its texts)."""
    assert result.old_text is not None and result.new_text is not None
    old, new = result.old_text, result.new_text
    hunks = tuple(split_hunks(old, new))
    lines = _lines(old)
    records = result.changes
    if not records or _INSTRUMENTED in old:
        whole = Group(
            tuple(range(len(hunks))),
            records,
            (1, max(1, len(lines))),
            "the whole file" + (f": {_describe(records, records)}" if records else ""),
        )
        return FileChange(result, old, new, hunks, (whole,), ())
    starts = [0, *itertools.accumulate(len(line.encode("utf-8")) for line in lines)]
    spans = [
        (_line_of(starts, r.span[0]), _line_of(starts, max(r.span[0], r.span[1] - 1)), r)
        for r in records
    ]
    # Outermost constructs; nested ones (a function's loops) go with them.
    outer = [
        s
        for i, s in enumerate(spans)
        if not any(
            o[0] <= s[0] and s[1] <= o[1] and (o[:2] != s[:2] or j < i)
            for j, o in enumerate(spans)
            if j != i
        )
    ]
    outer.sort(key=lambda s: (s[0], s[1]))
    parent = list(range(len(outer)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[int, int] = {}
    support: list[int] = []
    for index, hunk in enumerate(hunks):
        touched = [i for i, (first, last, _) in enumerate(outer) if _touches(hunk, first, last)]
        if not touched:
            support.append(index)
            continue
        for other in touched[1:]:
            parent[root(other)] = root(touched[0])
        owner[index] = touched[0]
    members: dict[int, list[int]] = {}
    for index, construct in owner.items():
        members.setdefault(root(construct), []).append(index)
    groups = []
    for top, indexes in sorted(members.items(), key=lambda item: min(item[1])):
        heads = [o for i, o in enumerate(outer) if root(i) == top]
        first = min(h[0] for h in heads)
        last = max(h[1] for h in heads)
        inside = tuple(s[2] for s in spans if first <= s[0] and s[1] <= last)
        label = _describe(inside, [h[2] for h in heads])
        groups.append(Group(tuple(sorted(indexes)), inside, (first + 1, last + 1), label))
    return FileChange(result, old, new, hunks, tuple(groups), tuple(support))


def plan_hunks(
    display: str, path: Path, old: str, new: str, labels: Callable[[Hunk], str]
) -> FileChange:
    """One group per line hunk (fixes are small, independent edits), named by ``labels``."""
    hunks = tuple(split_hunks(old, new))
    groups = tuple(
        Group(
            (index,),
            (),
            (hunk.old_start + 1, max(hunk.old_start + 1, hunk.old_end)),
            labels(hunk),
        )
        for index, hunk in enumerate(hunks)
    )
    result = FileResult(display, path, "changed", old_text=old, new_text=new)
    return FileChange(result, old, new, hunks, groups, ())


def _problem(text: str, old: str, path: Path) -> str | None:
    """Why ``text`` does not parse, when ``old`` did; else None."""
    if path.suffix == ".py":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                compile(old, str(path), "exec", dont_inherit=True)
            except (SyntaxError, ValueError):
                return None
            try:
                compile(text, str(path), "exec", dont_inherit=True)
            except (SyntaxError, ValueError) as exc:
                return f"line {getattr(exc, 'lineno', '?')}: {getattr(exc, 'msg', exc)}"
        return None
    dialect = dialect_for(path.suffix)
    try:
        check_parses(old.encode("utf-8"), dialect)
    except JSParseError:
        return None
    try:
        check_parses(text.encode("utf-8"), dialect)
    except JSParseError as exc:
        return str(exc)
    return None


def finish(change: FileChange, accepted: Iterable[int]) -> FileResult:
    """The file's result with only the ``accepted`` groups (by index) applied."""
    chosen = sorted(set(accepted))
    result = change.result
    if len(chosen) == len(change.groups):
        return result
    if not chosen:
        return replace(
            result, status="unchanged", new_data=None, diff=None, counts={}, needs=(), warnings=()
        )
    hunks = [*change.support, *(h for g in chosen for h in change.groups[g].hunks)]
    text = rebuild(change.old, change.hunks, hunks)
    problem = _problem(text, change.old, result.path)
    if problem is not None:
        reason = f"the accepted changes alone would not parse ({problem}); not written"
        return replace(result, status="failed", reason=reason, new_data=None)
    kept = [r for g in chosen for r in change.groups[g].records]
    diff = result.diff
    if diff is not None:
        diff = unified_diff(change.old, text, result.display, result.encoding)
    return replace(
        result,
        diff=diff,
        new_data=text.encode(result.encoding),
        new_text=text,
        counts=dict(Counter(r.kind for r in kept)),
        changes=tuple(kept),
    )


# -- the interactive review ----------------------------------------------------------------
KEYS = "[a]ccept  [r]eject  accept all in this [f]ile  accept [A]ll  [q]uit"
_CONTEXT = 2


class Quit(Exception):
    """The user pressed q: write what was accepted so far, nothing else."""


class Reviewer:
    """Asks, construct by construct, which changes to write."""

    def __init__(self, console: Console, read_key: Callable[[], str] = click.getchar) -> None:
        self.console = console
        self.read_key = read_key
        self.accept_all = False

    def _show(self, change: FileChange, group: Group, number: int, total: int) -> None:
        c = self.console
        c.print(
            Text.assemble(
                (change.result.display, "bold"),
                f"  change {number}/{total}: ",
                (group.label, "bold cyan"),
            ),
            soft_wrap=True,
        )
        if group.records:
            written = provenance(group.records)
            c.print(Text(f"written by: {written}", style="dim"), soft_wrap=True)
        old_lines = _lines(change.old)
        shown = [*(change.support if number == 1 else ()), *group.hunks]
        for index in sorted(shown):
            hunk = change.hunks[index]
            c.print(Text(f"@@ line {hunk.old_start + 1} @@", style="cyan"))
            for line in old_lines[max(0, hunk.old_start - _CONTEXT) : hunk.old_start]:
                c.print(Text(" " + line.rstrip("\r\n")), soft_wrap=True)
            for line in hunk.old_lines:
                c.print(Text("-" + line.rstrip("\r\n"), style="red"), soft_wrap=True)
            for line in hunk.new_lines:
                c.print(Text("+" + line.rstrip("\r\n"), style="green"), soft_wrap=True)
            for line in old_lines[hunk.old_end : hunk.old_end + _CONTEXT]:
                c.print(Text(" " + line.rstrip("\r\n")), soft_wrap=True)
        if number == 1 and change.support and total > 1:
            c.print(Text("(the first lines shown go in with any accepted change)", style="dim"))

    def _ask(self) -> str:
        while True:
            self.console.print(Text(KEYS + "? ", style="bold"), end="")
            key = self.read_key()
            if key in ("\x04", ""):  # Ctrl-D
                key = "q"
            self.console.print(key if key.isprintable() else "")
            if key in ("a", "r", "f", "A", "q"):
                return key
            self.console.print(Text("please answer a, r, f, A or q", style="yellow"))

    def review(self, change: FileChange, groups: Sequence[int]) -> list[int]:
        """Which of ``groups`` (indexes into the file's groups) to write; raises Quit
        (with those accepted so far) on q."""
        accepted: list[int] = []
        whole_file = False
        for number, index in enumerate(groups, 1):
            if self.accept_all or whole_file:
                accepted.append(index)
                continue
            self._show(change, change.groups[index], number, len(groups))
            key = self._ask()
            if key == "q":
                raise Quit(accepted)
            if key == "r":
                continue
            accepted.append(index)
            whole_file = key == "f"
            self.accept_all = key == "A"
        return accepted
