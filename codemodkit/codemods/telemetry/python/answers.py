"""What a model may answer about a construct, and the judge of those answers.

A model never writes code: it picks an event name and what to record, and the tool
builds the snippet. The judge accepts only choices that are side-effect free and
exist in scope - parameter names or attribute reads on them for a function, assigned
names for a variable, nothing for a loop. Anything else (calls, subscripts,
operators, ``await``/``yield``, walrus assignments, imports, ``eval``, dunder or
injected names, unknown fields) is rejected with the reason, which is what the next
tier is told. Attribute reads are performed by the helper's ``attr()``, which reads
plain data only and never runs a property.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from codemodkit.codemods.base import Verdict

from .sites import RESERVED_PREFIX

__all__ = ["ANSWER_SCHEMA", "TelemetryAnswer", "judge_answer", "parse_answer"]

EVENT_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$"
MAX_RECORD = 8


class TelemetryAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event: str | None = Field(default=None, pattern=EVENT_PATTERN)
    record: tuple[str, ...] = Field(default=(), max_length=MAX_RECORD)


ANSWER_SCHEMA: Mapping[str, Any] = TelemetryAnswer.model_json_schema()


def parse_answer(text: str) -> TelemetryAnswer:
    """The answer's choices; raises ``ValueError`` with a one-line reason."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"the answer is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError("the answer must be a JSON object")
    try:
        return TelemetryAnswer.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "answer"
        raise ValueError(f"{where}: {first['msg']}") from None


def _params(context: Mapping[str, Any]) -> set[str]:
    return {str(p).lstrip("*") for p in context.get("params", ())}


def _check_item(item: str, kind: str, context: Mapping[str, Any]) -> str | None:
    """Why ``item`` may not be recorded, or None."""
    try:
        tree = ast.parse(item.strip(), mode="eval").body
    except SyntaxError:
        return f"{item!r} is not an expression (only names and attribute reads)"
    if kind == "variable":
        assigned = {str(n) for n in context.get("names", ())}
        if not isinstance(tree, ast.Name):
            return f"{item!r}: a variable record must be one of the assigned names"
        if tree.id not in assigned:
            return f"{item!r} is not assigned here (assigned: {', '.join(sorted(assigned))})"
        return None
    chain: list[str] = []
    node: ast.expr = tree
    while isinstance(node, ast.Attribute):
        chain.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        what = type(node).__name__ if node is tree else type(tree).__name__
        return f"{item!r} is a {what} expression; only names and attribute reads are allowed"
    parts = [node.id, *reversed(chain)]
    if any(n.startswith("__") or n.startswith(RESERVED_PREFIX) for n in parts):
        return f"{item!r} reads a dunder or reserved name"
    if node.id not in _params(context):
        return f"{item!r}: {node.id!r} is not a parameter of this function"
    return None


def judge_answer(kind: str, context: Mapping[str, Any], text: str) -> Verdict:
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
