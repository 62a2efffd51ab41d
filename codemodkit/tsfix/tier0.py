"""Tier 0: which of TypeScript's own code fixes are free and safe, and merging them.

TypeScript offers a fix for some 200 error codes, but many of them trade the error for
junk: a member declared as ``any``, a function whose body throws "not implemented",
placeholder property values, a ``@ts-ignore``. Only the fixes on ``ALLOWED`` are
applied (by their ``fixName``; for a combined fix, by ``fixId``), and even those only
when the text they insert contains no ``any``, no ``@ts-`` directive and no
"not implemented" stub, and they touch no file under ``node_modules`` and no new file.
Those checks stand in for the code rules of ``validate.py`` (which would refuse the
deletions that are the point of some fixes); the error rules apply to a tier-0 fix
like to any other (``validate.check_diagnostics``: its errors gone, none new).

Allowed (why):

- ``import`` (fixId ``fixMissingImport``): adds an import of a name another module
  exports. Refused when TypeScript offers several modules for one name (which one is
  meant is a guess) or the module path runs into ``node_modules/``.
- ``unusedIdentifier`` (``unusedIdentifier_deleteImports``, ``_prefix``, ``_delete``):
  removes unused imports, prefixes an unused parameter with ``_``, or deletes an
  unused declaration - the last only when the deleted code has no side effect (no
  call, ``new``, ``await``, ``yield``, assignment, ``++``/``--`` or ``delete`` outside
  a nested function): TypeScript deletes ``const x = save();`` whole. Its ``_infer``
  variant (``infer U`` -> ``unknown``) is not allowed.
- ``fixAwaitInSyncFunction``: adds ``async`` where the body already uses ``await``.
- ``fixOverrideModifier`` (``fixAddOverrideModifier``, ``fixRemoveOverrideModifier``):
  the ``override`` keyword, as the base class says.
- ``inferFromUsage``: a parameter or variable type inferred from its uses - only when
  the inferred type is concrete (no ``any`` or ``unknown`` in it).
- ``add-annotation`` (fixId ``fixMissingTypeAnnotationOnExports``, for
  ``isolatedDeclarations``): the declared type spelled out, when concrete. Its
  ``add-type-assertion`` and ``extract-expression`` variants rewrite expressions into
  ``x satisfies T as T`` or new variables and are not allowed.
- ``addMissingAwait``: ``await`` on a promise used as its value ("Did you forget to use
  'await'?"); a wrong one fails validation (new errors in a sync function).
- ``addMissingNewOperator``: ``new`` before a class called like a function.

Never (why): ``spelling`` (a guess by edit distance: a wrong name that exists type-checks,
so validation cannot catch it; the model tiers see TypeScript's "Did you mean" instead),
``fixMissingMember``, ``fixMissingProperties``, ``fixMissingAttributes``,
``fixMissingFunctionDeclaration``, ``fixClassIncorrectlyImplementsInterface``,
``fixClassDoesntImplementInheritedAbstractMember`` (``any`` members, placeholder
values or bodies that throw "not implemented"), ``strictClassInitialization`` (a
definite-assignment ``!`` or a placeholder initializer), ``addMissingConstraint``
(``T extends any``), ``fixCannotFindModule`` / ``installTypesPackage`` (a command, no
edit), ``disableJsDiagnostics`` (``@ts-ignore`` / ``@ts-nocheck``), ``fixUnreachableCode``
(deletes code), ``fixEnableJsxFlag`` and other fixes that edit ``tsconfig.json``. Any
fix not on the list is refused.

``merge_changes`` combines the accepted fixes' edits per file: exact duplicates (the
same import added twice) are dropped, and a fix with any change that overlaps a change
already accepted - or inserts at the same offset, where the order would be a guess - is
rejected whole, never half-applied. The rejected ones are retried next round, against
the new text.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath

import tree_sitter

from codemodkit.edits import Edit, apply_edits

from .syntax import DEFERRED, SIDE_EFFECTS, dialect_of, parse_source
from .types import CodeFix, FileChanges, TextChange

__all__ = [
    "ALLOWED",
    "REFUSED",
    "Decision",
    "Rejected",
    "allowed",
    "allowed_combined",
    "apply_changes",
    "choose_fix",
    "merge_changes",
    "overlaps",
]

TextOf = Callable[[str], str]


@dataclass(frozen=True)
class Decision:
    ok: bool
    reason: str

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class _Rule:
    why: str
    #: the fix ids it may be combined under (a fix with another id is refused)
    fix_ids: tuple[str, ...]
    #: what it deletes must be free of side effects
    deletes_code: bool = False
    #: what it inserts must not contain ``unknown`` either (``any`` never)
    concrete: bool = False


#: fix name -> rule
ALLOWED: Mapping[str, _Rule] = {
    "import": _Rule("adds an import of an exported name", ("fixMissingImport",)),
    "unusedIdentifier": _Rule(
        "removes an unused import or declaration, or prefixes it with _",
        ("unusedIdentifier_deleteImports", "unusedIdentifier_prefix", "unusedIdentifier_delete"),
        deletes_code=True,
        concrete=True,  # its _infer variant writes `unknown`
    ),
    "fixAwaitInSyncFunction": _Rule(
        "adds async to a function that uses await", ("fixAwaitInSyncFunction",)
    ),
    "fixOverrideModifier": _Rule(
        "adds or removes override as the base class says",
        ("fixAddOverrideModifier", "fixRemoveOverrideModifier"),
    ),
    "inferFromUsage": _Rule("a type inferred from usage", ("inferFromUsage",), concrete=True),
    "add-annotation": _Rule(
        "spells out an exported declaration's type",
        ("fixMissingTypeAnnotationOnExports",),
        concrete=True,
    ),
    "addMissingAwait": _Rule("awaits a promise used as its value", ("addMissingAwait",)),
    "addMissingNewOperator": _Rule(
        "adds new before a class called as a function", ("addMissingNewOperator",)
    ),
}

#: fix name -> why it is never applied (the rest are refused as "not on the allowlist")
REFUSED: Mapping[str, str] = {
    "spelling": "a spelling guess: a wrong existing name still type-checks",
    "fixMissingMember": "declares members typed any",
    "fixMissingProperties": "fills in placeholder values",
    "fixMissingAttributes": "fills in placeholder values",
    "fixMissingFunctionDeclaration": "adds a function that throws 'not implemented'",
    "fixClassIncorrectlyImplementsInterface": "adds methods that throw 'not implemented'",
    "fixClassDoesntImplementInheritedAbstractMember": "adds methods that throw",
    "strictClassInitialization": "adds a definite-assignment ! or a placeholder value",
    "addMissingConstraint": "adds 'extends any'",
    "fixCannotFindModule": "installs a package (a command, not an edit)",
    "installTypesPackage": "installs a package (a command, not an edit)",
    "disableJsDiagnostics": "adds @ts-ignore or @ts-nocheck",
    "fixUnreachableCode": "deletes code",
    "fixEnableJsxFlag": "edits tsconfig.json",
    "add-type-assertion": "rewrites an expression into 'satisfies T as T'",
    "extract-expression": "moves an expression into a new variable",
}

_FIX_ID_RULES: Mapping[str, str] = {
    fix_id: name for name, rule in ALLOWED.items() for fix_id in rule.fix_ids
}
_DIRECTIVE = re.compile(r"@ts-(?:ignore|expect-error|nocheck)\b")
_ANY = re.compile(r"\bany\b")
_UNKNOWN = re.compile(r"\bunknown\b")
_STUB = re.compile(r"not\s+implemented|throw\s+new\s+Error\b", re.IGNORECASE)
_IMPORT_FROM = re.compile(r"""\bfrom\s*["']([^"']*)["']|import\s*\(\s*["']([^"']*)["']""")
_SOURCE = re.compile(r"\.(?:[cm]?[jt]sx?)\Z")


# -- judging one fix ---------------------------------------------------------------
def _content_problem(changes: Iterable[FileChanges], concrete: bool) -> str | None:
    for file_changes in changes:
        path = PurePath(file_changes.file)
        if file_changes.is_new_file:
            return f"creates a new file {path.name}"
        if "node_modules" in path.parts:
            return f"edits {path.name} under node_modules"
        if not _SOURCE.search(path.name):
            return f"edits {path.name}, which is not source code"
        for change in file_changes.changes:
            text = change.new_text
            if _DIRECTIVE.search(text):
                return "inserts a @ts- directive"
            if _ANY.search(text):
                return "inserts 'any'"
            if concrete and _UNKNOWN.search(text):
                return "inserts 'unknown'"
            if _STUB.search(text):
                return "inserts a stub that throws"
            for found in _IMPORT_FROM.finditer(text):
                module = found[1] or found[2] or ""
                if "node_modules/" in module or module.startswith("/"):
                    return f"imports from a file path {module!r}"
    return None


def _side_effect_in(root: tree_sitter.Node, start: int, end: int) -> tree_sitter.Node | None:
    """The first node with a side effect among those ``[start, end)`` (bytes) deletes
    or cuts into, not looking inside functions (they do not run where written)."""
    stack = [root]
    while stack:
        node = stack.pop()
        for child in reversed(node.children):
            if child.end_byte <= start or child.start_byte >= end:
                continue
            contains = child.start_byte <= start and end <= child.end_byte
            inside = start <= child.start_byte and child.end_byte <= end
            if child.type in DEFERRED and (inside or not contains):
                continue
            if child.type in SIDE_EFFECTS and not contains:
                return child
            operator = child.child(0) if child.type == "unary_expression" else None
            if operator is not None and operator.type == "delete" and not contains:
                return child
            stack.append(child)
    return None


def _deletion_problem(changes: Iterable[FileChanges], text_of: TextOf | None) -> str | None:
    for file_changes in changes:
        removing = [c for c in file_changes.changes if c.length]
        if not removing:
            continue
        if text_of is None:
            return "deletes code that was not checked for side effects"
        source = parse_source(text_of(file_changes.file), dialect_of(file_changes.file))
        for change in removing:
            found = _side_effect_in(source.root, source.byte(change.start), source.byte(change.end))
            if found is not None:
                code = " ".join(source.node_text(found).split())
                code = code if len(code) <= 40 else code[:37] + "..."
                return f"deletes code with a side effect ({code})"
    return None


def allowed(fix: CodeFix, text_of: TextOf | None = None) -> Decision:
    """May tier 0 apply ``fix``? ``text_of(file)`` gives current texts, needed to check
    that a deletion removes no side effect (without it, deletions are refused)."""
    rule = ALLOWED.get(fix.fix_name)
    if rule is None:
        why = REFUSED.get(fix.fix_name, "not on the tier-0 allowlist")
        return Decision(False, f"{fix.fix_name}: {why}")
    if fix.fix_id is not None and fix.fix_id not in rule.fix_ids:
        return Decision(False, f"{fix.fix_name}: its variant {fix.fix_id} is not allowed")
    if not fix.changes or not any(c.changes for c in fix.changes):
        return Decision(False, f"{fix.fix_name}: no edit")
    problem = _content_problem(fix.changes, rule.concrete)
    if problem is None and rule.deletes_code:
        problem = _deletion_problem(fix.changes, text_of)
    if problem is not None:
        return Decision(False, f"{fix.fix_name}: {problem}")
    return Decision(True, f"{fix.fix_name}: {rule.why}")


def allowed_combined(
    fix_id: str, changes: Sequence[FileChanges], text_of: TextOf | None = None
) -> Decision:
    """May tier 0 apply the combined fix ``fix_id`` (``getCombinedCodeFix``'s edits)?"""
    name = _FIX_ID_RULES.get(fix_id)
    if name is None:
        return Decision(False, f"{fix_id}: not on the tier-0 allowlist")
    return allowed(CodeFix(name, fix_id, tuple(changes), fix_id=fix_id), text_of)


def choose_fix(
    fixes: Sequence[CodeFix], text_of: TextOf | None = None
) -> tuple[CodeFix | None, list[str]]:
    """The first allowed fix in TypeScript's order, and why each other was refused.
    Several imports for one name are ambiguous: none of them is chosen."""
    imports = {f.description for f in fixes if f.fix_name == "import"}
    reasons: list[str] = []
    for fix in fixes:
        if fix.fix_name == "import" and len(imports) > 1:
            reasons.append(f"import: {len(imports)} modules offer the name; not guessing")
            continue
        decision = allowed(fix, text_of)
        if decision.ok:
            return fix, reasons
        reasons.append(decision.reason)
    return None, reasons


# -- merging and applying ----------------------------------------------------------
@dataclass(frozen=True)
class Rejected:
    item: FileChanges | CodeFix
    reason: str


def _fold(changes: Sequence[TextChange]) -> list[TextChange] | None:
    """One fix's changes in order, with touching ones (insertions at one offset
    included) made one change, so their order can never be mixed with another fix's.
    None if they overlap each other."""
    ordered = sorted(changes, key=lambda c: (c.start, c.end))  # stable: keeps TS's order
    folded: list[TextChange] = []
    for change in ordered:
        if folded and change.start < folded[-1].end:
            return None
        if folded and change.start == folded[-1].end:
            last = folded[-1]
            folded[-1] = TextChange(
                last.start, change.end - last.start, last.new_text + change.new_text
            )
        else:
            folded.append(change)
    return folded


def _overlap(a: TextChange, b: TextChange) -> bool:
    if a.length == 0 and b.length == 0:
        return a.start == b.start  # two insertions at one offset: order unknown
    return a.start < b.end and b.start < a.end


def overlaps(taken: Iterable[TextChange], changes: Iterable[TextChange]) -> bool:
    """Would any of ``changes`` overlap one of ``taken`` (same file, same offsets)?"""
    taken = list(taken)
    return any(_overlap(a, b) for a in taken for b in changes)


def _describe(file: str, change: TextChange) -> str:
    return f"{PurePath(file).name}[{change.start}:{change.end}]"


def merge_changes(
    items: Iterable[FileChanges | CodeFix],
) -> tuple[dict[str, list[TextChange]], list[Rejected]]:
    """The edits of ``items`` per file, sorted and never overlapping. An item (one
    file's changes, or a whole fix across files) is accepted whole or rejected whole:
    first come, first served."""
    accepted: dict[str, list[TextChange]] = {}
    starts: dict[str, list[int]] = {}
    seen: set[tuple[str, TextChange]] = set()
    rejected: list[Rejected] = []
    for item in items:
        units = item.changes if isinstance(item, CodeFix) else (item,)
        planned: list[tuple[str, list[TextChange]]] = []
        problem: str | None = None
        for unit in units:
            if unit.is_new_file:
                problem = f"creates a new file {PurePath(unit.file).name}"
                break
            fresh = [c for c in dict.fromkeys(unit.changes) if (unit.file, c) not in seen]
            folded = _fold(fresh)
            if folded is None:
                problem = f"its own changes overlap in {PurePath(unit.file).name}"
                break
            mine = accepted.get(unit.file, [])
            positions = starts.get(unit.file, [])
            for change in folded:
                # Accepted changes never overlap, so a conflict is next to where this goes.
                index = bisect.bisect_left(positions, change.start)
                for other in mine[max(0, index - 1) : index + 2]:
                    if _overlap(change, other):
                        problem = f"overlaps an accepted change at {_describe(unit.file, other)}"
                        break
                if problem:
                    break
            if problem:
                break
            planned.append((unit.file, folded))
        if problem is not None:
            rejected.append(Rejected(item, problem))
            continue
        for unit in units:
            seen.update((unit.file, c) for c in unit.changes)
        for file, folded in planned:
            mine = accepted.setdefault(file, [])
            positions = starts.setdefault(file, [])
            for change in folded:
                index = bisect.bisect_left(positions, change.start)
                if index < len(mine) and (mine[index].start, mine[index].end) < (
                    change.start,
                    change.end,
                ):
                    index += 1
                mine.insert(index, change)
                positions.insert(index, change.start)
    return {file: changes for file, changes in accepted.items() if changes}, rejected


def apply_changes(text: str, changes: Iterable[TextChange]) -> str:
    """``text`` with ``changes`` made, each at its original offsets (as if applied back
    to front). Insertions at one offset keep their given order; overlaps raise
    ``OverlapError``."""
    return apply_edits(
        text, [Edit(c.start, c.end, c.new_text, (i,)) for i, c in enumerate(changes)]
    )
