"""The contract between a codemod and the runner.

A codemod turns one file into independent edit requests, judges each answer (from a
model or the deterministic fallback) and applies the accepted ones in one pass. The
runner, the LLM manager and the printers never look inside a codemod. Everything
that crosses the process pool is a frozen dataclass of plain data (LibCST's rule).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from codemodkit.llm.base import Prompt
from codemodkit.sourcefile import DecodedSource

__all__ = [
    "Codemod",
    "EditRequest",
    "FileContext",
    "FileOutcome",
    "Prepared",
    "SupportFile",
    "Verdict",
]


@dataclass(frozen=True)
class EditRequest:
    """One construct a model (or the template) is asked about."""

    #: stable across runs and unrelated edits: ``path::qualname::kind#n``
    id: str
    file: str
    language: str
    kind: str
    #: byte offsets of the construct in the UTF-8 form of the file's text
    span: tuple[int, int]
    line: int
    #: the construct's source code
    code: str
    #: what a model needs besides the code (qualified name, parameters, ...)
    context: Mapping[str, str | tuple[str, ...]]
    #: the deterministic answer; also what the built-in ``template`` provider returns
    fallback: str


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""
    #: 0-100; a codemod may set a pass threshold
    score: int = 100


@dataclass(frozen=True)
class FileContext:
    """What a codemod learns about a file besides its text."""

    path: Path
    display: str
    language: str
    #: the folder the user named, for files outside any project
    root: Path


@dataclass(frozen=True)
class SupportFile:
    """A file the changed code depends on (the telemetry helper)."""

    path: Path
    content: bytes
    #: a line that marks files this tool wrote (an existing file without it is not ours)
    marker: bytes


@dataclass(frozen=True)
class Prepared:
    """A parsed and collected file, ready for answers."""

    context: FileContext
    source: DecodedSource
    requests: Sequence[EditRequest]
    #: codemod-private, picklable state (sites, text facts ...)
    state: object = None
    #: constructs left alone, as "line N: reason"
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileOutcome:
    status: Literal["changed", "unchanged", "skipped", "failed"]
    reason: str = ""
    text: str | None = None
    #: counts by construct kind ("function", "loop", ...)
    counts: Mapping[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    #: files the result needs to exist (written before the file itself)
    needs: tuple[SupportFile, ...] = ()
    #: support files the result no longer needs (candidates for removal)
    releases: tuple[SupportFile, ...] = ()


class Codemod(Protocol):
    name: str
    languages: frozenset[str]

    def prepare(self, context: FileContext, source: DecodedSource) -> Prepared | FileOutcome:
        """Parse and collect; a FileOutcome means the file is done (skipped/failed/unchanged)."""
        ...

    def prompt(self, request: EditRequest) -> Prompt:
        """What a model is asked for one request (its fallback included)."""
        ...

    def judge(self, request: EditRequest, answer: str) -> Verdict:
        """Validate an answer for one request; rejected answers are never applied."""
        ...

    def finish(self, prepared: Prepared, answers: Mapping[str, str]) -> FileOutcome:
        """Apply the accepted answers (by request id) in one pass and re-check the result."""
        ...
