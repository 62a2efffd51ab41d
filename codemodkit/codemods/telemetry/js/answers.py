"""The judge of model answers for JavaScript and TypeScript.

The answer format is the Python one (``python/answers.py``: an event name and what to
record; a model never writes code). A record item must be ``identifier(.identifier)*``
rooted in a parameter (functions) or be one of the declared names (variables); it may
not read the reserved prefix or ``__proto__``-style names. Attribute reads are done by
the helper's ``attr()``, which reads own data properties only, so no getter, proxy
trap or ``toString`` ever runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from codemodkit.codemods.base import Verdict

from ..python.answers import ANSWER_SCHEMA, TelemetryAnswer, parse_answer
from .sites import RESERVED_PREFIX

__all__ = ["ANSWER_SCHEMA", "TelemetryAnswer", "judge_answer", "parse_answer"]

_NAME = r"(?:[^\W\d]|\$)[\w$]*"
_PATH = re.compile(rf"{_NAME}(?:\.{_NAME})*\Z")
_FORBIDDEN = frozenset({"__proto__", "constructor", "prototype", "this", "arguments", "super"})


def _check_item(item: str, kind: str, context: Mapping[str, Any]) -> str | None:
    """Why ``item`` may not be recorded, or None."""
    if not _PATH.match(item):
        return (
            f"{item!r} is not a name or a chain of property names (no calls, indexing, operators)"
        )
    parts = item.split(".")
    if any(p in _FORBIDDEN or p.startswith(RESERVED_PREFIX) for p in parts):
        return f"{item!r} reads a reserved or prototype name"
    if kind == "variable":
        declared = {str(n) for n in context.get("names", ())}
        if len(parts) > 1:
            return f"{item!r}: a variable record must be one of the declared names"
        if item not in declared:
            return f"{item!r} is not declared here (declared: {', '.join(sorted(declared))})"
        return None
    params = {str(p) for p in context.get("params", ())}
    if parts[0] not in params:
        return f"{item!r}: {parts[0]!r} is not a parameter of this function"
    return None


def judge_answer(kind: str, context: Mapping[str, Any], text: str) -> Verdict:
    if text == "{}":  # the fallback (every template answer): no choices to check
        return Verdict(True)
    try:
        answer = parse_answer(text)
    except ValueError as exc:
        return Verdict(False, str(exc), 0)
    if kind == "loop" and answer.record:
        return Verdict(False, "a loop records nothing (its iterations are counted)", 0)
    for item in answer.record:
        problem = _check_item(item, kind, context)
        if problem is not None:
            return Verdict(False, problem, 0)
    if len(set(answer.record)) != len(answer.record):
        return Verdict(False, "record lists an item twice", 50)
    return Verdict(True)
