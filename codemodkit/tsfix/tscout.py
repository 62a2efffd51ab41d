"""Diagnostics from ``tsc``'s own output, for projects where no language service runs.

``tsc --noEmit --pretty false`` and ``tsc -b --pretty false`` print one line per
diagnostic, ``src/a.ts(2,15): error TS2304: Cannot find name 'x'.``, with the rest of a
message chain on the following lines, indented two spaces per level (kept in the
message, as the language-service backends keep them). Some diagnostics have no
location (``error TS5058: ...``). Paths are relative to tsc's working folder; line and
column are 1-based and the column counts UTF-16 code units, so an emoji counts two:
we turn them into a code-point offset when the file can be read, and leave ``start``
None when it cannot (or the position does not exist in the file we read).

Pretty output (``file:line:col - error TSxxxx: ...`` with colours, code frames and
related locations) is read leniently, ``-b --verbose`` timestamp lines are skipped,
and anything else (summaries, npm noise) is ignored.

``run_tsc`` runs the compiler and applies the exit rule: status 0 means no errors
whatever was printed; a non-zero status with error lines means those errors; a
non-zero status without a single error line is a tool failure (``ServiceError`` with
the tail of what it printed).
"""

from __future__ import annotations

import bisect
import os
import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from .types import Category, Diagnostic, Related, ServiceError

__all__ = [
    "format_diagnostic",
    "line_column",
    "offset_of",
    "parse_tsc_output",
    "read_source",
    "run_tsc",
    "tsc_command",
    "tsc_result",
]

_CATEGORY = r"(?P<cat>error|warning|suggestion|message) TS(?P<code>\d+): ?(?P<msg>.*)"
_PLAIN = re.compile(rf"(?P<file>.+?)\((?P<line>\d+),(?P<col>\d+)\): {_CATEGORY}\Z")
_PRETTY = re.compile(rf"(?P<file>.+?):(?P<line>\d+):(?P<col>\d+) - {_CATEGORY}\Z")
_GLOBAL = re.compile(rf"{_CATEGORY}\Z")
#: a related location in pretty output: ``  file:line:col`` alone on its line
_RELATED = re.compile(r"  (?P<file>\S.*?):(?P<line>\d+):(?P<col>\d+)\Z")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
#: ``8:57:23 AM - Projects in this build:`` (``-b --verbose``; bracketed when pretty)
_TIMESTAMP = re.compile(r"\[?\d{1,2}:\d{2}:\d{2}(?:\s*[AaPp]\.?\s?[Mm]\.?)?\]?\s+-\s")
_SUMMARY = re.compile(r"Found \d+ errors?\b")
#: a code-frame underline once colours are gone: only squiggles after the gutter
_SQUIGGLE = re.compile(r"\s*~[~\s]*\Z")
#: TypeScript's line breaks (``isLineBreak``): not Python's ``splitlines`` set
_LINE_BREAK = re.compile("\r\n|[\r\n\u2028\u2029]")
_BOM = "\ufeff"

Reader = Callable[[str], str | None]


# -- positions ---------------------------------------------------------------------
class _Lines:
    """Line starts of a text as TypeScript counts lines (CR, LF, CRLF, LS, PS)."""

    def __init__(self, text: str) -> None:
        # TypeScript reads files without their BOM: its columns on line 1 start after it.
        self.skip = 1 if text.startswith(_BOM) else 0
        self.text = text
        self.starts = [self.skip, *(m.end() for m in _LINE_BREAK.finditer(text, self.skip))]

    def offset(self, line: int, column: int) -> int | None:
        if not 1 <= line <= len(self.starts) or column < 1:
            return None
        start = self.starts[line - 1]
        end = self.starts[line] if line < len(self.starts) else len(self.text)
        units = column - 1
        segment = self.text[start:end]
        if segment.isascii() or max(segment) <= "\uffff":
            return start + units if units <= len(segment) else None
        for index, char in enumerate(segment):
            if units <= 0:
                return start + index
            units -= 2 if char > "\uffff" else 1
        return end if units <= 0 else None

    def position(self, offset: int) -> tuple[int, int]:
        line = max(0, bisect.bisect_right(self.starts, offset) - 1)
        start = self.starts[line]
        before = self.text[start:offset]
        return line + 1, len(before) + sum(char > "\uffff" for char in before) + 1


def offset_of(text: str, line: int, column: int) -> int | None:
    """The code-point offset of tsc's 1-based ``line`` and UTF-16 ``column``, or None
    when ``text`` has no such position."""
    return _Lines(text).offset(line, column)


def line_column(text: str, offset: int) -> tuple[int, int]:
    """tsc's 1-based line and UTF-16 column of a code-point offset (inverse of
    ``offset_of``)."""
    return _Lines(text).position(offset)


def read_source(path: str) -> str | None:
    """A file's text exactly as stored (no newline translation), or None."""
    try:
        return Path(path).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


# -- parsing -----------------------------------------------------------------------
@dataclass
class _Pending:
    code: int
    category: Category
    lines: list[str]
    file: str | None = None
    line: int | None = None
    column: int | None = None
    related: list[tuple[str, int, int, list[str]]] = field(default_factory=list)


class _Parser:
    def __init__(self, cwd: Path, read_text: Reader) -> None:
        self.cwd = cwd
        self.read_text = read_text
        self.paths: dict[str, str] = {}
        self.indexes: dict[str, _Lines | None] = {}
        self.done: list[Diagnostic] = []

    def path(self, name: str) -> str:
        if name not in self.paths:
            self.paths[name] = str((self.cwd / name.strip()).resolve())
        return self.paths[name]

    def offset(self, file: str, line: int, column: int) -> int | None:
        if file not in self.indexes:
            text = self.read_text(file)
            self.indexes[file] = None if text is None else _Lines(text)
        index = self.indexes[file]
        return None if index is None else index.offset(line, column)

    def finish(self, pending: _Pending | None) -> None:
        if pending is None:
            return
        start = None
        if pending.file is not None and pending.line is not None and pending.column is not None:
            start = self.offset(pending.file, pending.line, pending.column)
        related = tuple(
            Related(
                message="\n".join(lines).strip("\n"),
                file=self.path(name),
                start=self.offset(self.path(name), line, column),
            )
            for name, line, column, lines in pending.related
        )
        self.done.append(
            Diagnostic(
                code=pending.code,
                message="\n".join(pending.lines),
                category=pending.category,
                file=pending.file,
                start=start,
                line=pending.line,
                column=pending.column,
                related=related,
            )
        )


def _header(line: str) -> tuple[_Pending, bool] | None:
    """A diagnostic's first line (and whether it is pretty output), or None."""
    if line[:1].isspace():
        return None  # continuation lines, frames and related locations are indented
    for pattern, pretty in ((_PLAIN, False), (_PRETTY, True), (_GLOBAL, False)):
        found = pattern.match(line)
        if found is None:
            continue
        pending = _Pending(
            code=int(found["code"]),
            category=cast(Category, found["cat"]),
            lines=[found["msg"]],
        )
        if "file" in found.re.groupindex:
            pending.file = found["file"]
            pending.line = int(found["line"])
            pending.column = int(found["col"])
        return pending, pretty
    return None


def _is_frame(raw: str, plain: str, following: str) -> bool:
    """A code-frame line of pretty output: the reverse-video gutter, or (colours
    stripped by some log) a numbered code line above a squiggle line."""
    if "\x1b[7m" in raw or _SQUIGGLE.match(plain):
        return True
    return bool(re.match(r"\s*\d+ ", plain)) and bool(_SQUIGGLE.match(following))


def parse_tsc_output(output: str, cwd: Path, read_text: Reader | None = None) -> list[Diagnostic]:
    """Every diagnostic in ``output`` (tsc's stdout), in order. Relative paths are
    taken from ``cwd``; ``read_text(path)`` gives a file's text for offsets (default:
    read it from disk; None when unreadable)."""
    parser = _Parser(cwd.resolve(), read_text or read_source)
    raw_lines = output.replace("\r\n", "\n").split("\n")
    plain_lines = [_ANSI.sub("", line).rstrip("\r") for line in raw_lines]
    pending: _Pending | None = None
    pretty = False
    # "chain": reading a message's continuation lines; "frame": past the blank line
    # after a pretty header (code frames and related locations follow)
    state = "none"
    for index, plain in enumerate(plain_lines):
        header = _header(plain)
        if header is not None:
            parser.finish(pending)
            pending, pretty = header
            if pending.file is not None:
                pending.file = parser.path(pending.file)
            state = "chain"
            continue
        if pending is None:
            continue
        if _TIMESTAMP.match(plain) or _SUMMARY.match(plain):
            parser.finish(pending)
            pending, state = None, "none"
        elif state == "chain":
            if plain.startswith("  ") and plain.strip():
                pending.lines.append(plain)
            elif not plain.strip() and pretty:
                state = "frame"
            else:
                parser.finish(pending)
                pending, state = None, "none"
        elif state == "frame":
            following = plain_lines[index + 1] if index + 1 < len(plain_lines) else ""
            related = _RELATED.match(plain)
            if related is not None:
                pending.related.append(
                    (related["file"], int(related["line"]), int(related["col"]), [])
                )
            elif (
                pending.related
                and plain.startswith("    ")
                and plain.strip()
                and not _is_frame(raw_lines[index], plain, following)
            ):
                pending.related[-1][3].append(plain[4:])
    parser.finish(pending)
    return parser.done


# -- running tsc -------------------------------------------------------------------
def tsc_command(tsc: Sequence[str], project: Path, build: bool = False) -> list[str]:
    """``tsc -p PROJECT --noEmit --pretty false``, or ``tsc -b PROJECT --pretty false``
    (a build: ``-b --noEmit`` fails on composite references)."""
    if build:
        return [*tsc, "-b", str(project), "--pretty", "false"]
    return [*tsc, "-p", str(project), "--noEmit", "--pretty", "false"]


def _tail(text: str, lines: int = 4, limit: int = 400) -> str:
    kept = [line.strip() for line in _ANSI.sub("", text).splitlines() if line.strip()]
    tail = " | ".join(kept[-lines:])
    return tail if len(tail) <= limit else "..." + tail[-limit:]


def tsc_result(
    returncode: int,
    stdout: str,
    stderr: str,
    cwd: Path,
    read_text: Reader | None = None,
    name: str = "tsc",
) -> list[Diagnostic]:
    """The exit rule: 0 is no errors; non-zero with error lines is those diagnostics;
    non-zero without one is a tool failure (``ServiceError``)."""
    if returncode == 0:
        return []
    diagnostics = parse_tsc_output(stdout, cwd, read_text)
    if any(d.category == "error" for d in diagnostics):
        return diagnostics
    said = _tail(stderr) or _tail(stdout)
    detail = f": {said}" if said else " and printed nothing"
    raise ServiceError(f"{name} failed (exit status {returncode}) without an error line{detail}")


def run_tsc(
    tsc: Sequence[str],
    project: Path,
    build: bool = False,
    *,
    timeout: float | None = None,
    read_text: Reader | None = None,
) -> list[Diagnostic]:
    """Type-check ``project`` (a ``tsconfig.json`` or its folder) with the command
    ``tsc`` (for example ``["node", ".../bin/tsc"]``); its folder is the working folder."""
    project = project.resolve()
    cwd = project if project.is_dir() else project.parent
    command = tsc_command(tsc, project, build)
    name = os.path.basename(tsc[-1]) if tsc else "tsc"
    done = run_tool(command, cwd, timeout, name)
    return tsc_result(done.returncode, done.stdout, done.stderr, cwd, read_text, name)


def run_tool(
    command: Sequence[str], cwd: Path, timeout: float | None, name: str
) -> subprocess.CompletedProcess[str]:
    """Run a compiler command to completion (output as text); a timeout or a program
    that cannot start is a ``ServiceError`` naming it."""
    try:
        return subprocess.run(
            list(command),
            cwd=cwd,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ServiceError(f"{name} did not finish within {timeout:g} s") from None
    except OSError as exc:
        raise ServiceError(f"cannot run {command[0]}: {exc.strerror or exc}") from None


def format_diagnostic(diagnostic: Diagnostic, cwd: Path | None = None) -> str:
    """The diagnostic as ``tsc --pretty false`` prints it (paths relative to ``cwd``)."""
    head = f"{diagnostic.category} TS{diagnostic.code}: {diagnostic.message}"
    if diagnostic.file is None or diagnostic.line is None or diagnostic.column is None:
        return head
    path = diagnostic.file
    if cwd is not None:
        path = os.path.relpath(path, cwd)
    return f"{path}({diagnostic.line},{diagnostic.column}): {head}"
