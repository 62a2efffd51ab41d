"""Which model tier an error goes to: a default table by error code, then its shape.

Tier 1 is the fast local model, tier 3 the strongest; a rejected fix climbs anyway,
so the table only says where to *start*. A group of errors (one span) starts at the
highest tier of its errors.

Default table (``DEFAULT_TIERS``; any code not listed starts at tier 2):

====  ==========================================================================
Tier  Error codes
====  ==========================================================================
1     Simple, local fixes. Syntax errors (1005, 1109, 1128, 1135, 1136, 1160,
      1161), ``await`` outside ``async`` (1308); unknown names and misspellings
      (2304, 2551, 2552); a property missing on a simple object type (2339);
      type mismatches between primitive types (2322, 2345, 2355, 2366);
      possibly null/undefined (2531, 2532, 2533, 18047, 18048, 18049) and
      ``unknown`` (18046); use before assignment and missing initializers (2454,
      2564); argument counts (2554, 2555); excess properties (2353); a missing
      ``new`` (2348); a promise used as a condition (2801); ``override`` (4113,
      4114); unused declarations (6133, 6138, 6192, 6196, 6198, 6205); implicit
      ``any`` (7005, 7006, 7008, 7019, 7031, 7034); missing return paths (7030).
2     Fixes that need the types understood. Missing properties (2739, 2740,
      2741); mismatches between object types (by shape, below); imports
      and modules (1192, 2305, 2307, 2613, 2614, 2724); calls and operators on
      the wrong thing (2349, 2351, 2362, 2363, 2365, 2367, 2488, 2538, 2571,
      2698); values and types confused (2693, 2749); conversions (2352, 2559);
      redeclarations (2300, 2393, 2440, 2451); indexing with implicit ``any``
      (7053).
3     Generics and whole-program reasoning. Overloads (2394, 2769); class and
      interface contracts (2415, 2416, 2420, 2430, 2515); constraints (2313,
      2344); circular or too-complex types (2456, 2502, 2589, 2590); ``this``
      (2684); types that cannot be named or are duplicated across packages
      (2719, 2742); JSX element types (2786).
====  ==========================================================================

Then the shape of the error moves it (these rules do not apply to a code the user
configured, whose tier is final):

- related information in another file (a multi-file error) -> tier 3;
- "No overload matches this call" -> tier 3;
- the message names a type parameter (a quoted ``'T'``, ``'U'``, ``'V'``, ``'K'``,
  ``'R'``, ``'S'``, ``'E'`` or ``'TValue'``-style name; "type parameter",
  "generic", "could be instantiated with", "constraint") -> tier 3;
- a generic type instantiation in a quoted type (``'Promise<number>'``) -> at
  least tier 2 (often just a missing ``await``, so not straight to 3);
- 2322/2345 (and 2355/2366) between primitive types only (``string``,
  ``number``, literals, arrays and unions of them) -> tier 1, otherwise tier 2;
- 2339 on an object type that is a union or intersection -> tier 2;
- a message chain deeper than three levels (a nested structural mismatch) -> at
  least tier 2;
- a group spanning more than 40 lines -> at least tier 2, more than 150 -> tier 3.

Override per code in ``[tool.codemod.tsfix] tiers = { "2322" = 2, "TS7006" = 1 }``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .types import Diagnostic

__all__ = [
    "DEFAULT_TIERS",
    "UNLISTED_TIER",
    "GroupContext",
    "classify",
    "classify_group",
    "explain",
]

UNLISTED_TIER = 2

_TIER_1 = (
    1005, 1109, 1128, 1135, 1136, 1160, 1161, 1308,
    2304, 2322, 2339, 2345, 2348, 2353, 2355, 2366, 2454, 2531, 2532, 2533, 2551, 2552,
    2554, 2555, 2564, 2801,
    4113, 4114,
    6133, 6138, 6192, 6196, 6198, 6205,
    7005, 7006, 7008, 7019, 7030, 7031, 7034,
    18046, 18047, 18048, 18049,
)  # fmt: skip
_TIER_2 = (
    1192,
    2300, 2305, 2307, 2349, 2351, 2352, 2362, 2363, 2365, 2367, 2393, 2440, 2451, 2488,
    2538, 2559, 2571, 2613, 2614, 2693, 2698, 2724, 2739, 2740, 2741, 2749,
    7053,
)  # fmt: skip
_TIER_3 = (
    2313, 2344, 2394, 2415, 2416, 2420, 2430, 2456, 2502, 2515, 2589, 2590, 2684, 2719,
    2742, 2769, 2786,
)  # fmt: skip

#: error code -> the tier it starts at
DEFAULT_TIERS: Mapping[int, int] = {
    **dict.fromkeys(_TIER_1, 1),
    **dict.fromkeys(_TIER_2, 2),
    **dict.fromkeys(_TIER_3, 3),
}

#: codes whose tier depends on the types in their first line
_MISMATCH = frozenset({2322, 2345, 2355, 2366})
_QUOTED = re.compile(r"'([^']*)'")
#: a quoted usual type-parameter name (``'T'``, ``'K'``, ``'TValue'``), or words about
#: type parameters (a type really named ``T`` is misread: the cost is a stronger model)
_TYPE_PARAMETER = re.compile(
    r"'[TUVKRSE]'|'T[A-Z][a-z]\w*'"
    r"|(?i:\btype parameters?\b|\bgeneric\b|could be instantiated with|\bconstraint\b)"
)
_PRIMITIVE = re.compile(
    r"""(?:string|number|boolean|bigint|symbol|null|undefined|void|never|true|false
        |-?\d+(?:\.\d+)?n?|"(?:[^"\\]|\\.)*")(?:\[\])*""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class GroupContext:
    """What the error's group adds: how many lines a fix has to rewrite."""

    lines: int = 1
    diagnostics: int = 1


def _primitive(type_text: str) -> bool:
    parts = [part.strip() for part in type_text.split("|")]
    return all(_PRIMITIVE.fullmatch(part) for part in parts)


def _first_line(diagnostic: Diagnostic) -> str:
    return diagnostic.message.split("\n", 1)[0]


def explain(
    diagnostic: Diagnostic,
    group_context: GroupContext | None = None,
    overrides: Mapping[int, int] | None = None,
) -> tuple[int, str]:
    """The tier and the rule that chose it (for ``-v`` and the report)."""
    code = diagnostic.code
    if overrides and code in overrides:
        return overrides[code], f"TS{code}: configured"
    head = _first_line(diagnostic)
    quoted = _QUOTED.findall(head)
    if any(r.file is not None and r.file != diagnostic.file for r in diagnostic.related):
        return 3, "related information in another file"
    if code == 2769 or "No overload matches this call" in diagnostic.message:
        return 3, "overloads"
    if _TYPE_PARAMETER.search(diagnostic.message):
        return 3, "mentions a type parameter"
    tier = DEFAULT_TIERS.get(code, UNLISTED_TIER)
    reason = f"TS{code}: default table" if code in DEFAULT_TIERS else f"TS{code}: not listed"
    if code in _MISMATCH and quoted:
        if all(map(_primitive, quoted)):
            tier, reason = 1, "mismatch between primitive types"
        else:
            tier, reason = 2, "mismatch involving object types"
    elif code == 2339 and len(quoted) >= 2 and re.search(r"[|&]", quoted[-1]):
        tier, reason = 2, "property of a union or intersection type"
    if tier < 2 and any("<" in text for text in quoted):
        tier, reason = 2, "generic type instantiation"
    if tier < 2 and diagnostic.message.count("\n") >= 3:
        tier, reason = 2, "deep message chain"
    if group_context is not None:
        if group_context.lines > 150:
            return 3, f"span of {group_context.lines} lines"
        if tier < 2 and group_context.lines > 40:
            return 2, f"span of {group_context.lines} lines"
    return tier, reason


def classify(
    diagnostic: Diagnostic,
    group_context: GroupContext | None = None,
    overrides: Mapping[int, int] | None = None,
) -> int:
    """The tier (1, 2 or 3) a model fix for ``diagnostic`` starts at."""
    return explain(diagnostic, group_context, overrides)[0]


def classify_group(
    diagnostics: Iterable[Diagnostic],
    lines: int = 1,
    overrides: Mapping[int, int] | None = None,
) -> int:
    """The tier of a group: the highest of its errors' tiers."""
    found = list(diagnostics)
    context = GroupContext(lines=lines, diagnostics=len(found))
    return max((classify(d, context, overrides) for d in found), default=1)
