"""Is a fix a fix? The checks every candidate passes before it is applied.

A candidate replaces one span of one file (a model's answer) or makes a set of text
changes (a tier-0 fix). It is accepted only if all of these hold; the first that
fails is the verdict's reason, one line, which goes into the escalation prompt.

On the code (``check_code``, before any type check - it is cheap):

1. It parses: no more tree-sitter ``ERROR``/``MISSING`` nodes than before.
2. It does not delete the code it was asked to fix: the new span is not empty or
   comments only where the old one had code; where the old span has at least
   ``MIN_NAMES`` distinct names (identifiers, properties, types), at least half of
   them are still there; and no line of the old code turns up inside a new comment
   (commented out). When every targeted error is an unused-code error (6133 and
   friends, 7027, 7028) deleting is the fix, but every call, ``new``, ``await``,
   ``yield``, ``delete`` and assignment of the old span must survive (counted by
   callee or target name, nested functions included), or the program would do less.
3. No new ``any``: more ``any`` type nodes in the span than before, or a new double
   assertion ``x as unknown as T`` (``allow_any`` permits both).
4. No new ``@ts-ignore``, ``@ts-expect-error`` or ``@ts-nocheck`` comment
   (``allow_ts_comments``).
5. No new non-null assertion ``x!`` or definite-assignment ``x!: T``
   (``allow_non_null``).
6. No stub: no new ``throw new Error("... not implemented ...")`` (or "todo",
   "unimplemented"), no function whose body had statements and now has none or only a
   ``throw``, no new ``TODO``/``FIXME``/``XXX`` comment or string.

On the diagnostics (``check_diagnostics``, with the project's errors before and after
the candidate, from the language service's in-memory check):

7. The targeted errors are gone. Positions shift with the edit, so an error still
   counts as there when one with the same code and message sits where the target's
   position maps to (anywhere in the replaced text for a target inside an edit).
8. No new error anywhere in the project: for every (file, code, message), the number
   of errors after is at most the number before minus the targeted ones. Warnings and
   suggestions do not count. (An error the fix merely uncovered counts as new too.)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import tree_sitter

from codemodkit.codemods.base import Verdict
from codemodkit.parsers.javascript import Dialect

from .syntax import FUNCTIONS, SIDE_EFFECTS, Source, dialect_of, nodes_in, parse_source
from .tscout import line_column
from .types import Diagnostic, TextChange

__all__ = [
    "MIN_NAMES",
    "UNUSED_CODES",
    "Policy",
    "Verdict",
    "check_code",
    "check_diagnostics",
    "validate_fix",
]

#: a span with fewer distinct names than this is too small for the "half kept" rule
MIN_NAMES = 4
#: errors whose fix is deleting code
UNUSED_CODES = frozenset({6133, 6138, 6192, 6196, 6198, 6199, 6205, 7027, 7028})

_NAMES = frozenset(
    {
        "identifier",
        "property_identifier",
        "shorthand_property_identifier",
        "shorthand_property_identifier_pattern",
        "type_identifier",
        "private_property_identifier",
    }
)
_DIRECTIVE = re.compile(r"@ts-(?:ignore|expect-error|nocheck)\b")
_PLACEHOLDER = re.compile(r"\b(?:TODO|FIXME|XXX)\b")
_STUB_MESSAGE = re.compile(r"not\s+(?:yet\s+)?implemented|unimplemented|\btodo\b", re.IGNORECASE)
_BLOCK_FUNCTIONS = FUNCTIONS | {"method_definition"}


@dataclass(frozen=True)
class Policy:
    """What the user allows fixes to add (``[tool.codemod.tsfix]`` / flags)."""

    allow_any: bool = False
    allow_non_null: bool = False
    allow_ts_comments: bool = False


# -- facts about a span ------------------------------------------------------------
@dataclass
class _Facts:
    code: bool  # any node that is not a comment
    errors: int
    names: set[str]
    any_types: int
    double_assertions: int
    directives: int
    non_null: int
    stubs: int
    placeholders: int
    comments: list[str]
    bodies: list[tuple[str, int, bool]]  # (function, statements, only a throw)
    effects: Counter[str]


def _compact(text: str) -> str:
    return " ".join(text.split())


def _last_name(source: Source, node: tree_sitter.Node | None) -> str:
    """``save`` for ``a.b?.save``, ``x`` for ``x``: what a call or assignment is about."""
    while node is not None and node.type in ("parenthesized_expression", "non_null_expression"):
        node = node.named_children[0] if node.named_children else None
    if node is None:
        return "?"
    if node.type in ("member_expression", "subscript_expression"):
        inner = node.child_by_field_name("property") or node.child_by_field_name("index")
        return _last_name(source, inner)
    return _compact(source.node_text(node))


def _effect(source: Source, node: tree_sitter.Node) -> str | None:
    kind = node.type
    if kind == "call_expression":
        return f"a call to {_last_name(source, node.child_by_field_name('function'))}()"
    if kind == "new_expression":
        return f"new {_last_name(source, node.child_by_field_name('constructor'))}"
    if kind in ("assignment_expression", "augmented_assignment_expression"):
        return f"an assignment to {_last_name(source, node.child_by_field_name('left'))}"
    if kind == "update_expression":
        return f"an update of {_last_name(source, node.child_by_field_name('argument'))}"
    if kind == "await_expression":
        return "an await"
    if kind == "yield_expression":
        return "a yield"
    return None


def _function_name(source: Source, node: tree_sitter.Node, index: int) -> str:
    named = node.child_by_field_name("name")
    if named is None and node.parent is not None and node.parent.type == "variable_declarator":
        named = node.parent.child_by_field_name("name")
    return source.node_text(named) if named is not None else f"#{index}"


def _facts(source: Source, start: int, end: int) -> _Facts:
    """What the span ``[start, end)`` (characters) of ``source`` holds."""
    facts = _Facts(False, 0, set(), 0, 0, 0, 0, 0, 0, [], [], Counter())
    low, high = source.byte(start), source.byte(end)
    anonymous = 0
    for node in nodes_in(source.root, low, high):
        kind = node.type
        if node.is_error or node.is_missing:
            facts.errors += 1
        if kind == "comment":
            text = source.node_text(node)
            facts.comments.append(text)
            facts.directives += bool(_DIRECTIVE.search(text))
            facts.placeholders += bool(_PLACEHOLDER.search(text))
            continue
        if node.is_named and kind not in ("program", "ERROR"):
            facts.code = True
        if kind in _NAMES:
            facts.names.add(source.node_text(node))
        elif kind == "predefined_type":
            text = source.node_text(node)
            facts.any_types += text == "any"
        elif kind == "as_expression":
            inner = node.named_children[0] if node.named_children else None
            last = node.named_children[-1] if node.named_children else None
            if inner is not None and inner.type == "as_expression" and last is not None:
                inner_type = inner.named_children[-1] if inner.named_children else None
                if inner_type is not None and source.node_text(inner_type) in ("unknown", "any"):
                    facts.double_assertions += 1
        elif kind == "non_null_expression":
            facts.non_null += 1
        elif kind in ("variable_declarator", "public_field_definition"):
            facts.non_null += any(c.type == "!" for c in node.children)
        elif kind in ("string", "template_string"):
            facts.placeholders += bool(_PLACEHOLDER.search(source.node_text(node)))
        elif kind == "throw_statement":
            thrown = source.node_text(node)
            facts.stubs += bool("Error" in thrown and _STUB_MESSAGE.search(thrown))
        owner = node.parent
        if kind == "statement_block" and owner is not None and owner.type in _BLOCK_FUNCTIONS:
            # A function's body (the span may be the body alone).
            statements = [c for c in node.named_children if c.type != "comment"]
            only_throw = len(statements) == 1 and statements[0].type == "throw_statement"
            name = _function_name(source, owner, anonymous)
            anonymous += name.startswith("#")
            facts.bodies.append((name, len(statements), only_throw))
        # Effects inside nested functions count too: the span may be the function.
        if kind in SIDE_EFFECTS:
            effect = _effect(source, node)
            if effect is not None:
                facts.effects[effect] += 1
        elif kind == "unary_expression":
            operator = node.child(0)
            if operator is not None and operator.type == "delete":
                facts.effects["a delete"] += 1
    return facts


def _first_new_error(source: Source, start: int, end: int) -> str:
    for node in nodes_in(source.root, source.byte(start), source.byte(end)):
        if node.is_error or node.is_missing:
            line, _ = line_column(source.text, source.char(node.start_byte))
            return f"line {line}"
    for node in nodes_in(source.root, 0, len(source.data)):
        if node.is_error or node.is_missing:
            line, _ = line_column(source.text, source.char(node.start_byte))
            return f"line {line}"
    return "unknown line"


def _commented_out(old: Source, start: int, end: int, new: _Facts, old_facts: _Facts) -> str:
    """A line of the old code that now sits inside a new comment, or ''."""
    fresh = [c for c in new.comments if c not in old_facts.comments]
    if not fresh:
        return ""
    for line in old.text[start:end].splitlines():
        code = line.strip()
        if len(code) < 8 or code.startswith(("//", "/*", "*")):
            continue
        if any(code in comment for comment in fresh):
            return code
    return ""


# -- the code checks ---------------------------------------------------------------
def check_code(
    text: str,
    start: int,
    end: int,
    replacement: str,
    *,
    dialect: Dialect | None = None,
    file: str | None = None,
    targets: Collection[Diagnostic] = (),
    policy: Policy = Policy(),
) -> Verdict:
    """Rules 1-6 for replacing ``text[start:end]`` with ``replacement``."""
    dialect = dialect or dialect_of(file)
    old = parse_source(text, dialect)
    new = parse_source(text[:start] + replacement + text[end:], dialect)
    new_end = start + len(replacement)
    before = _facts(old, start, end)
    after = _facts(new, start, new_end)
    old_errors = sum(1 for n in nodes_in(old.root, 0, len(old.data)) if n.is_error or n.is_missing)
    new_errors = sum(1 for n in nodes_in(new.root, 0, len(new.data)) if n.is_error or n.is_missing)
    if new_errors > old_errors:
        where = _first_new_error(new, start, new_end)
        return Verdict(False, f"the fix does not parse (syntax error at {where})", 0)

    deleting = bool(targets) and all(t.code in UNUSED_CODES for t in targets)
    commented = _commented_out(old, start, end, after, before)
    if commented:
        return Verdict(False, f"the fix comments out code ({commented[:60]})", 0)
    if deleting:
        lost = sorted(before.effects - after.effects)  # a multiset: one of two calls counts
        if lost:
            return Verdict(False, f"the fix removes {lost[0]}, which the program still needs", 0)
    elif before.code and not after.code:
        return Verdict(False, "the fix deletes the code it was asked to fix", 0)
    elif len(before.names) >= MIN_NAMES:
        kept = before.names & after.names
        if 2 * len(kept) < len(before.names):
            gone = ", ".join(sorted(before.names - kept)[:5])
            return Verdict(
                False,
                f"the fix drops most of the code it was asked to fix "
                f"(keeps {len(kept)} of {len(before.names)} names; gone: {gone})",
                0,
            )

    if not policy.allow_any:
        if after.any_types > before.any_types:
            return Verdict(False, "the fix adds an 'any' type", 0)
        if after.double_assertions > before.double_assertions:
            return Verdict(False, "the fix adds a double assertion through 'unknown'", 0)
    if not policy.allow_ts_comments and after.directives > before.directives:
        return Verdict(False, "the fix adds a @ts-ignore/@ts-expect-error/@ts-nocheck comment", 0)
    if not policy.allow_non_null and after.non_null > before.non_null:
        return Verdict(False, "the fix adds a non-null assertion (!)", 0)

    if after.stubs > before.stubs:
        return Verdict(False, "the fix adds a stub that throws 'not implemented'", 0)
    old_bodies = {name: (count, only) for name, count, only in before.bodies}
    for name, count, only_throw in after.bodies:
        was = old_bodies.get(name)
        if was is not None and was[0] > 0 and not was[1] and (count == 0 or only_throw):
            shown = "an anonymous function" if name.startswith("#") else f"'{name}'"
            return Verdict(False, f"the fix empties the body of {shown}", 0)
    if after.placeholders > before.placeholders:
        return Verdict(False, "the fix leaves a TODO/FIXME placeholder", 0)
    return Verdict(True)


# -- the diagnostics checks --------------------------------------------------------
def _mapped(changes: Sequence[TextChange], offset: int) -> tuple[int, int]:
    """Where ``offset`` of the old text is in the new one: a point, or the whole new
    text of the change it was inside (or at, for an insertion)."""
    delta = 0
    for change in sorted(changes, key=lambda c: (c.start, c.end)):
        if change.start <= offset < change.end or (change.length == 0 and change.start == offset):
            low = change.start + delta
            return low, low + len(change.new_text)
        if change.start > offset:
            break
        delta += len(change.new_text) - change.length
    return offset + delta, offset + delta


def _where(diagnostic: Diagnostic, root: Path | None, texts: Mapping[str, str]) -> str:
    if diagnostic.file is None:
        return ""
    path = diagnostic.file
    if root is not None and Path(path).is_relative_to(root):
        path = Path(path).relative_to(root).as_posix()
    line = diagnostic.line
    if line is None and diagnostic.start is not None and diagnostic.file in texts:
        line = line_column(texts[diagnostic.file], diagnostic.start)[0]
    return f" at {path}:{line}" if line is not None else f" in {path}"


def _first_line(message: str, limit: int = 200) -> str:
    first = message.split("\n", 1)[0]
    return first if len(first) <= limit else first[: limit - 3] + "..."


def check_diagnostics(
    edits: Mapping[str, Sequence[TextChange]],
    targets: Sequence[Diagnostic],
    before: Sequence[Diagnostic],
    after: Sequence[Diagnostic],
    *,
    root: Path | None = None,
    texts_after: Mapping[str, str] | None = None,
) -> Verdict:
    """Rules 7-8: ``edits`` (file -> changes, in the old text's offsets) turned the
    project's diagnostics ``before`` into ``after``; ``targets`` had to go."""
    texts = texts_after or {}
    errors_after = [d for d in after if d.category == "error"]
    for target in targets:
        if target.file is not None and target.start is not None:
            low, high = _mapped(edits.get(target.file, ()), target.start)
            still = next(
                (
                    d
                    for d in errors_after
                    if d.key() == target.key() and d.start is not None and low <= d.start <= high
                ),
                None,
            )
        else:
            still = next((d for d in errors_after if d.key() == target.key()), None)
        if still is not None:
            return Verdict(
                False,
                f"error TS{still.code} is still there{_where(still, root, texts)}: "
                f"{_first_line(still.message)}",
                0,
            )
    allowed = Counter(d.key() for d in before if d.category == "error")
    allowed.subtract(t.key() for t in targets)
    seen: Counter[tuple[str | None, int, str]] = Counter()
    new: list[Diagnostic] = []
    for diagnostic in errors_after:
        seen[diagnostic.key()] += 1
        if seen[diagnostic.key()] > allowed[diagnostic.key()]:
            new.append(diagnostic)
    if new:
        first = new[0]
        more = f" (and {len(new) - 1} more)" if len(new) > 1 else ""
        return Verdict(
            False,
            f"the fix introduced error TS{first.code}{_where(first, root, texts)}: "
            f"{_first_line(first.message)}{more}",
            0,
        )
    return Verdict(True)


def validate_fix(
    *,
    file: str,
    text: str,
    start: int,
    end: int,
    replacement: str,
    targets: Sequence[Diagnostic],
    before: Sequence[Diagnostic],
    after: Sequence[Diagnostic],
    policy: Policy = Policy(),
    root: Path | None = None,
    dialect: Dialect | None = None,
) -> Verdict:
    """All rules for a model's replacement of ``text[start:end]`` in ``file``, given
    the project's diagnostics before and after it (run ``check_code`` alone first to
    spare the type check of a candidate that fails on its code)."""
    verdict = check_code(
        text, start, end, replacement, dialect=dialect, file=file, targets=targets, policy=policy
    )
    if not verdict.ok:
        return verdict
    new_text = text[:start] + replacement + text[end:]
    return check_diagnostics(
        {file: [TextChange(start, end - start, replacement)]},
        targets,
        before,
        after,
        root=root,
        texts_after={file: new_text},
    )
