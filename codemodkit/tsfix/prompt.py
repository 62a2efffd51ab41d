"""The request a model gets for one group of errors, and reading its answer.

The prompt (``prompts/fix.v1.txt``) shows the errors as tsc prints them, but with
positions counted within the code to fix: an edit elsewhere in the file then leaves
the prompt - and its cache key - unchanged. It adds the related locations, type
information from the language service, the code to fix and a few lines of context on
each side. The model answers ``{"replacement": ..., "explanation": ...}``; the
deterministic fallback is the span unchanged (so without a model nothing is fixed,
and nothing is broken).

Model output is untrusted: ``parse_answer`` takes one JSON object with a string
``replacement`` and nothing unknown, and only forgives a Markdown fence around the
code inside ``replacement``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from codemodkit.codemods.prompting import load_prompt
from codemodkit.llm.base import Prompt

from .grouping import Group
from .validate import Policy

__all__ = [
    "ANSWER_SCHEMA",
    "CONTEXT_LINES",
    "PROMPT",
    "FixAnswer",
    "build_prompt",
    "fit_replacement",
    "parse_answer",
    "related_snippets",
    "span_indent",
]

PROMPT = load_prompt("codemodkit.tsfix.prompts", "fix.v1.txt")
#: lines of context shown before and after the code to fix
CONTEXT_LINES = 4
MAX_TYPE_INFO = 40
MAX_RELATED = 8

_FENCE = re.compile(r"\A\s*```[\w+-]*[ \t]*\r?\n(?P<code>.*?)\r?\n?[ \t]*```\s*\Z", re.DOTALL)


class FixAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    replacement: str
    explanation: str = ""


ANSWER_SCHEMA: Mapping[str, Any] = FixAnswer.model_json_schema()


def parse_answer(text: str) -> FixAnswer | str:
    """The model's answer, or a one-line reason it cannot be used."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        return f"the answer is not JSON ({exc})"
    if not isinstance(data, dict):
        return "the answer must be a JSON object with a 'replacement'"
    try:
        answer = FixAnswer.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "answer"
        return f"{where}: {first['msg']}"
    fenced = _FENCE.match(answer.replacement)
    if fenced is not None and "```" not in fenced["code"]:
        answer = answer.model_copy(update={"replacement": fenced["code"]})
    return answer


def fit_replacement(replacement: str, original: str, indent: str) -> str:
    """``replacement`` shaped like the span it replaces: without the indentation
    ``indent`` of the span's first line (which lies before the span) when the model
    repeated it, and without a final newline the original did not have."""
    if indent and not original[:1].isspace() and replacement.startswith(indent):
        replacement = replacement[len(indent) :]
    if not original.endswith("\n") and replacement.endswith("\n"):
        replacement = replacement.rstrip("\r\n")
    return replacement


def _language(file: str) -> tuple[str, str]:
    suffix = PurePath(file).suffix.lower()
    if suffix == ".tsx":
        return "TypeScript (TSX)", "tsx"
    if suffix in (".ts", ".mts", ".cts"):
        return "TypeScript", "ts"
    return "JavaScript", "js"


def _relative_position(text: str, group: Group, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` within the span (columns in characters;
    the span's first line counts from the span's start)."""
    offset = min(max(offset, group.start), group.end)
    line = text.count("\n", group.start, offset) + 1
    line_start = max(text.rfind("\n", group.start, offset) + 1, group.start)
    return line, offset - line_start + 1


def _error_lines(text: str, group: Group, file_rel: str) -> str:
    lines = []
    for diagnostic in group.diagnostics:
        where = ""
        if diagnostic.start is not None:
            line, column = _relative_position(text, group, diagnostic.start)
            where = f"{file_rel}({line},{column}): "
        lines.append(f"{where}{diagnostic.category} TS{diagnostic.code}: {diagnostic.message}")
    return "\n".join(lines)


def _line_at(text: str, offset: int) -> tuple[int, str]:
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return text.count("\n", 0, offset) + 1, text[start : len(text) if end < 0 else end].strip()


def related_snippets(
    group: Group,
    text_of: Callable[[str], str | None],
    root: Path | None = None,
) -> list[str]:
    """The related locations of the group's errors, each with its line of code
    (``text_of(file)`` gives a file's text, None when unknown)."""
    found: list[str] = []
    for diagnostic in group.diagnostics:
        for related in diagnostic.related:
            where = ""
            code = ""
            if related.file is not None:
                path = related.file
                if root is not None and Path(path).is_relative_to(root):
                    path = Path(path).relative_to(root).as_posix()
                text = text_of(related.file)
                if related.start is None or text is None:
                    where = f"{path}: "
                elif related.file == group.file and group.start <= related.start <= group.end:
                    line, _ = _relative_position(text, group, related.start)
                    where = f"line {line} of the code to fix: "
                else:
                    line, code = _line_at(text, related.start)
                    where = f"{path}:{line}: "
            entry = f"- {where}{related.message}"
            if code:
                entry += f"\n    {code}"
            if entry not in found:
                found.append(entry)
    return found[:MAX_RELATED]


def span_indent(text: str, group: Group) -> str:
    """The indentation before the span on its first line ('' if code precedes it)."""
    prefix = text[text.rfind("\n", 0, group.start) + 1 : group.start]
    return prefix if not prefix.strip() else ""


def _context(text: str, group: Group) -> tuple[str, str]:
    """Up to ``CONTEXT_LINES`` lines before the span and after it (the rest of the
    span's first and last lines included)."""
    start = text.rfind("\n", 0, group.start) + 1
    for _ in range(CONTEXT_LINES):
        if start == 0:
            break
        start = text.rfind("\n", 0, start - 1) + 1
    end = group.end
    for _ in range(CONTEXT_LINES + 1):
        newline = text.find("\n", end)
        if newline < 0:
            end = len(text)
            break
        end = newline + 1
    before = text[start : group.start].rstrip(" \t").strip("\r\n")
    return before, text[group.end : end].rstrip("\r\n")


def _allowed(policy: Policy) -> str:
    allowed = [
        name
        for name, flag in (
            ("`any`", policy.allow_any),
            ("non-null assertions (`x!`)", policy.allow_non_null),
            ("`// @ts-expect-error` comments", policy.allow_ts_comments),
        )
        if flag
    ]
    if not allowed:
        return ""
    return f"\nAllowed here, as a last resort only: {', '.join(allowed)}.\n"


def build_prompt(
    group: Group,
    file_rel: str,
    text: str,
    type_info: Sequence[str] = (),
    related_snippets: Sequence[str] = (),
    policy: Policy | None = None,
) -> Prompt:
    """The request for ``group`` of ``text`` (the file's current text; ``file_rel`` is
    the path shown to the model)."""
    language, fence = _language(group.file)
    before, after = _context(text, group)
    code = text[group.start : group.end]
    what = group.kind + (f" {group.name}" if group.name else "")
    types = [line for line in type_info if line.strip()][:MAX_TYPE_INFO]
    system, user = PROMPT.render(
        {
            "language": language,
            "fence": fence,
            "file": file_rel,
            "what": what,
            "errors": _error_lines(text, group, file_rel),
            "related": "\n".join(related_snippets) or "(none)",
            "types": "\n".join(f"- {line}" for line in types) or "(none)",
            "before": before or "(start of file)",
            "code": code,
            "after": after.strip("\r\n") or "(end of file)",
            "allowed": _allowed(policy or Policy()),
        }
    )
    codes = sorted({d.code for d in group.diagnostics})
    fallback = json.dumps({"replacement": code, "explanation": "unchanged (no model)"})
    return Prompt(
        request_id=f"{file_rel}:{group.line}:{what}",
        system=system,
        user=user.rstrip("\n") + "\n",
        fallback=fallback,
        schema=ANSWER_SCHEMA,
        template_version=PROMPT.version,
        metadata={
            "file": file_rel,
            "span": f"{group.start}:{group.end}",
            "lines": f"{group.line}-{group.end_line}",
            "kind": group.kind,
            "name": group.name or "",
            "codes": ",".join(map(str, codes)),
        },
    )
