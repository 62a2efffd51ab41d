"""Seed TypeScript compiler errors into a copy of a real project, deterministically.

The default project is rxjs 7.8.2's ``src/`` (``npm pack``; 250 root ``.ts`` files),
checked with the pinned TypeScript of ``tests/node`` through a tsconfig of our own that
extends ``src/tsconfig.cjs.json`` with ``noUnusedLocals``, ``noImplicitAny``, no emit,
no ``incremental`` and ``"types": []``. The copy gets one baseline patch (rxjs declares
a local ``starts`` that it only ever writes) so that this stricter config reports
0 errors before seeding.

Seed kinds (each is one edit, found with tree-sitter, and the errors it must cause):

===================  =======================================  =========  =================
kind                 edit                                     codes      TypeScript's fix
===================  =======================================  =========  =================
missing-import       drop a named import the file still uses  2304/2552  import
unused-local         add ``const unusedX = 0;`` to a body     6133       unusedIdentifier
unused-import        import 1-2 names the file never uses     6133/6192  unusedIdentifier
missing-async        drop ``async`` of a callback that awaits 1308/1103  fixAwaitInSync...
implicit-any         drop a parameter's type annotation       7006       inferFromUsage
misspelled-property  ``this.member`` minus one letter         2551       spelling
missing-override     drop ``override`` (noImplicitOverride)   4114/4115  fixOverrideModifier
===================  =======================================  =========  =================

"tier-0-fixable" in the manifest is ``yes``, ``maybe`` (inferFromUsage may not find a
concrete type) or ``no`` (a spelling guess: tier 0 must not take it). A kind whose
compiler flag is off in the project's config is skipped (rxjs has no ``override``
modifiers, so ``missing-override`` finds nothing there; its few ``async`` functions are
declarations whose callers use the promise, so ``missing-async`` - kept to callbacks,
where dropping ``async`` changes nothing else - finds nothing either: the test fixture
covers both). Candidates are shuffled with ``random.Random(f"{seed}:{kind}")``, so a
kind's picks do not depend on the others' counts; seeds never touch each other's text
or the names another seed relies on.

Static rules keep seeds from causing other errors (no import of a base class or of a
callee with callbacks, no type removed from a parameter that is called with callbacks,
no misspelling in a condition ...), but types flow: so the seeded copy is checked with
tsc, and a seed whose error does not show, or the seed nearest to an unexpected error,
is replaced by the next candidate, up to ``--rounds`` times. The result depends only on
the seed, the package and the TypeScript version; the manifest lists each seed's
candidate id, so ``tsfix_bench.py --manifest`` recreates the copy without tsc.

    python benchmarks/tsfix_seed.py [--seed 1] [--count 80] [--kinds ...] [--json PATH]
                                    [--verify-fixes]

Creates ``<work>/tsfix-seed/rxjs-7.8.2-seed<S>/`` (replaced if present) and the manifest
``<copy>.json``, runs ``tsc`` on the unseeded copy (unless ``--no-baseline``) and prints,
per kind: candidates, seeds, errors expected, errors observed with the expected code at
the expected line, expected but missing, and unexpected errors. ``--verify-fixes`` also
asks TypeScript's language service which seeded errors it offers the kind's fix for.
Exits 1 when an error is missing or unexpected, or fewer than ``--min-tier0`` (200)
tier-0-fixable errors were seeded.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tree_sitter
import tree_sitter_typescript

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also when loaded by path (tests)

from npm_pack import fetch_package  # a sibling script, not a package

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE.parent / "tests" / "node"
WORK = HERE / "work"
PACKAGE = "rxjs@7.8.2"
TSCONFIG_NAME = "tsconfig.tsfix.json"
RXJS_TSCONFIG = {
    "extends": "./src/tsconfig.cjs.json",
    "compilerOptions": {
        "noEmit": True,
        "incremental": False,  # a .tsbuildinfo would make the second tsc run cheaper
        "noUnusedLocals": True,
        "noImplicitAny": True,
        "types": [],  # the symlinked node_modules has @types/node; rxjs does not use it
    },
}
#: (file, exact text, replacement): rxjs 7.8.2 writes ``starts`` but never reads it,
#: which noUnusedLocals reports; without it the baseline is clean.
RXJS_PATCHES = (
    ("src/internal/operators/windowCount.ts", "    let starts: number[] = [];\n", ""),
    ("src/internal/operators/windowCount.ts", "          starts = null!;\n", ""),
)


@dataclass(frozen=True)
class Kind:
    codes: tuple[int, ...]
    tier0: str  # "yes" | "maybe" | "no"
    fix: str  # TypeScript's fixId for it
    flag: str | None  # the compiler option the error needs
    fix_name: str  # the name of TypeScript's code fix (``getCodeFixesAtPosition``)


KINDS: dict[str, Kind] = {
    "missing-import": Kind((2304, 2552, 2503), "yes", "fixMissingImport", None, "import"),
    "unused-local": Kind(
        (6133,), "yes", "unusedIdentifier_delete", "noUnusedLocals", "unusedIdentifier"
    ),
    "unused-import": Kind(
        (6133, 6192), "yes", "unusedIdentifier_delete", "noUnusedLocals", "unusedIdentifier"
    ),
    "missing-async": Kind(
        (1308, 1103), "yes", "fixAwaitInSyncFunction", None, "fixAwaitInSyncFunction"
    ),
    "implicit-any": Kind((7006,), "maybe", "inferFromUsage", "noImplicitAny", "inferFromUsage"),
    "misspelled-property": Kind((2551,), "no", "fixSpelling", None, "spelling"),
    "missing-override": Kind(
        (4114, 4115, 4116),
        "yes",
        "fixAddOverrideModifier",
        "noImplicitOverride",
        "fixOverrideModifier",
    ),
}

_FUNCTIONS = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "function_expression",
        "generator_function",
        "arrow_function",
        "method_definition",
    }
)
_CLASSES = frozenset({"class_declaration", "abstract_class_declaration", "class"})
#: (parent type, field) pairs where an identifier declares a name rather than uses it
_DECLARES = frozenset(
    {
        ("variable_declarator", "name"),
        ("required_parameter", "pattern"),
        ("optional_parameter", "pattern"),
        ("function_declaration", "name"),
        ("generator_function_declaration", "name"),
        ("function_signature", "name"),
        ("function_expression", "name"),
        ("generator_function", "name"),
        ("class_declaration", "name"),
        ("abstract_class_declaration", "name"),
        ("class", "name"),
        ("interface_declaration", "name"),
        ("type_alias_declaration", "name"),
        ("enum_declaration", "name"),
        ("type_parameter", "name"),
        ("internal_module", "name"),
        ("module", "name"),
        ("catch_clause", "parameter"),
        ("for_in_statement", "left"),
        ("assignment_pattern", "left"),
        ("object_assignment_pattern", "left"),
        ("pair_pattern", "value"),
    }
)
_DECLARING_PARENTS = frozenset(
    {"import_specifier", "import_clause", "namespace_import", "array_pattern", "rest_pattern"}
)
_LIB_NAME = re.compile(
    rb"\b(?:declare\s+(?:var|let|const|function|class|namespace|module)|interface|type|class)"
    rb"\s+([A-Za-z_$][\w$]*)"
)
_WORD = re.compile(rb"[A-Za-z_$][\w$]*")
_NAME_NODES = frozenset(
    {
        "identifier",
        "type_identifier",
        "shorthand_property_identifier",
        "shorthand_property_identifier_pattern",
    }
)
_UNUSED_NAMES = ("unusedCount", "unusedFlag", "unusedLabel", "unusedLimit", "unusedIndex")
_UNUSED_VALUES = ("0", "true", "'none'", "-1")
_PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_typescript.language_typescript()))


# -- one edit per seed, and what it must cause ------------------------------------------


@dataclass(frozen=True)
class Edit:
    start: int  # byte offsets in the original file
    end: int
    text: bytes


@dataclass(frozen=True)
class Expect:
    """An error at ``offset`` (original bytes), or ``inserted_line`` lines into the seed's
    own inserted text when that is where the error is."""

    offset: int
    codes: tuple[int, ...]
    inserted_line: int | None = None


@dataclass(frozen=True)
class Candidate:
    kind: str
    file: Path
    edit: Edit
    anchor: int  # where the seed is, for the manifest's line
    expects: tuple[Expect, ...]
    detail: str
    reserved: tuple[tuple[int, int], ...] = ()  # byte ranges no other seed may touch
    keys: tuple[str, ...] = ()  # facts no other seed may also rely on


@dataclass
class SourceFile:
    path: Path
    rel: str
    data: bytes
    root: tree_sitter.Node
    words: frozenset[bytes] = field(default_factory=frozenset)
    names: dict[bytes, list[tree_sitter.Node]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path, root_dir: Path) -> SourceFile:
        data = path.read_bytes()
        tree = _PARSER.parse(data)
        source = cls(path, path.relative_to(root_dir).as_posix(), data, tree.root_node)
        source.words = frozenset(_WORD.findall(data))
        for node in walk(tree.root_node):
            if node.type in _NAME_NODES:
                source.names.setdefault(text(node), []).append(node)
        return source

    def line(self, offset: int) -> int:
        return self.data.count(b"\n", 0, offset) + 1

    def fresh_name(self, base: str, taken: set[bytes]) -> bytes:
        for n in range(1, 1000):
            name = f"{base}{n}".encode()
            if name not in self.words and name not in taken:
                taken.add(name)
                return name
        raise RuntimeError(f"no free name like {base} in {self.rel}")


def walk(node: tree_sitter.Node, skip: frozenset[str] = frozenset()) -> Iterator[tree_sitter.Node]:
    """``node`` and its descendants, not entering children whose type is in ``skip``."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(child for child in reversed(current.children) if child.type not in skip)


def text(node: tree_sitter.Node) -> bytes:
    return node.text or b""


def field_of(node: tree_sitter.Node) -> str | None:
    parent = node.parent
    if parent is None:
        return None
    for index, child in enumerate(parent.children):
        if child.id == node.id:
            return parent.field_name_for_child(index)
    return None


def has_token(node: tree_sitter.Node, token: str) -> tree_sitter.Node | None:
    return next((child for child in node.children if child.type == token), None)


def through_space(data: bytes, offset: int) -> int:
    while offset < len(data) and data[offset : offset + 1] in (b" ", b"\t"):
        offset += 1
    return offset


def whole_lines(data: bytes, start: int, end: int) -> tuple[int, int]:
    """``start..end`` widened to whole lines when nothing else shares them."""
    line_start = data.rfind(b"\n", 0, start) + 1
    line_end = data.find(b"\n", end)
    line_end = len(data) if line_end < 0 else line_end + 1
    if data[line_start:start].strip() or data[end:line_end].strip():
        return start, end
    return line_start, line_end


def functions_awaits(body: tree_sitter.Node) -> list[tuple[int, int]]:
    """(offset, code) of the ``await``s that belong to ``body``'s own function."""
    found = []
    for node in walk(body, skip=_FUNCTIONS | _CLASSES):
        if node.type == "await_expression":
            found.append((node.start_byte, 1308))
        elif node.type == "for_in_statement" and has_token(node, "await"):
            found.append((node.start_byte, 1103))
    return found


# -- candidates per kind -------------------------------------------------------------------


def missing_imports(source: SourceFile, globals_: frozenset[bytes]) -> Iterator[Candidate]:
    for statement in source.root.children:
        if statement.type != "import_statement":
            continue
        clause = has_token(statement, "import_clause")
        named = clause and has_token(clause, "named_imports")
        if clause is None or named is None:
            continue
        specifiers = [c for c in named.children if c.type == "import_specifier"]
        only = len(specifiers) == 1 and clause.named_child_count == 1
        for spec in specifiers:
            name_node = spec.child_by_field_name("name")
            if name_node is None or spec.child_by_field_name("alias") or has_token(spec, "type"):
                continue
            name = text(name_node)
            if name in globals_:
                continue  # without the import it would resolve to a lib global
            expects = _usages(source, name, spec)
            if not expects:
                continue
            if only:
                start, end = whole_lines(source.data, statement.start_byte, statement.end_byte)
            else:
                start, end = _specifier_span(source.data, spec)
            reserved = [(start, end)] + [(e.offset, e.offset + len(name)) for e in expects]
            yield Candidate(
                "missing-import",
                source.path,
                Edit(start, end, b""),
                statement.start_byte,
                tuple(expects),
                f"removed import of '{name.decode()}' ({len(expects)} uses)",
                tuple(reserved),
            )


def _usages(source: SourceFile, name: bytes, spec: tree_sitter.Node) -> list[Expect]:
    """Where the file uses ``name`` - or nothing when a use would not simply become
    "cannot find name" (a local declaration, a shorthand property, an export)."""
    expects = []
    for node in source.names.get(name, []):
        parent = node.parent
        if parent is None or parent.id == spec.id:
            continue
        if node.type != "identifier" and node.type != "type_identifier":
            return []  # shorthand property (TS18004) or a destructuring declaration
        if parent.type in _DECLARING_PARENTS or parent.type == "export_specifier":
            return []
        if (parent.type, field_of(node)) in _DECLARES or _shapes_types(node):
            return []
        if parent.type == "nested_type_identifier" and field_of(node) == "module":
            expects.append(Expect(node.start_byte, (2503, 2833)))
        else:
            expects.append(Expect(node.start_byte, (2304, 2552)))
    return expects


def _shapes_types(node: tree_sitter.Node) -> bool:
    """Would losing this name change more than the name itself: a base class (its
    members vanish), a callee whose function arguments lose their contextual types
    (TS7006 and ``unknown`` further on), an exported signature?"""
    if _callee_with_callbacks(node):
        return True
    # Only uses inside function bodies: one in a signature or a type declaration would
    # change what the module exports, and other files would report errors of their own.
    current = node.parent
    while current is not None and current.type != "statement_block":
        if current.type == "class_heritage":
            return True
        current = current.parent
    return current is None


def _callee_with_callbacks(node: tree_sitter.Node) -> bool:
    """Is ``node`` called (or constructed) with a function among the arguments?"""
    parent = node.parent
    if parent is None or parent.type not in ("call_expression", "new_expression"):
        return False
    arguments = parent.child_by_field_name("arguments")
    return arguments is not None and any(
        n.type in ("arrow_function", "function_expression") for n in walk(arguments)
    )


def _specifier_span(data: bytes, spec: tree_sitter.Node) -> tuple[int, int]:
    after = spec.next_sibling
    if after is not None and after.type == ",":
        following = after.next_sibling
        end = following.start_byte if following is not None else after.end_byte
        return spec.start_byte, end
    before = spec.prev_sibling
    if before is not None and before.type == ",":
        return before.start_byte, spec.end_byte
    return spec.start_byte, spec.end_byte


def unused_locals(source: SourceFile, rng: random.Random, taken: set[bytes]) -> Iterator[Candidate]:
    for node in walk(source.root):
        if node.type not in _FUNCTIONS:
            continue
        body = node.child_by_field_name("body")
        if body is None or body.type != "statement_block":
            continue
        if node.type == "method_definition" and _name(node) == b"constructor":
            continue  # a statement before super() is an error of its own
        statements = [c for c in body.named_children if c.type != "comment"]
        if not statements:
            continue
        first = statements[0]
        if source.line(first.start_byte) == source.line(body.start_byte):
            continue
        if first.type == "expression_statement" and first.named_children[0].type == "string":
            continue  # a directive prologue ("use strict") must stay first
        line_start = source.data.rfind(b"\n", 0, first.start_byte) + 1
        indent = source.data[line_start : through_space(source.data, line_start)]
        name = source.fresh_name(rng.choice(_UNUSED_NAMES), taken)
        value = rng.choice(_UNUSED_VALUES).encode()
        at = body.start_byte + 1
        yield Candidate(
            "unused-local",
            source.path,
            Edit(at, at, b"\n" + indent + b"const " + name + b" = " + value + b";"),
            at,
            (Expect(at, (6133,), inserted_line=1),),
            f"added unused 'const {name.decode()}' in {_describe(node)}",
            ((at, at + 1),),
        )


def _name(node: tree_sitter.Node) -> bytes:
    name = node.child_by_field_name("name")
    return text(name) if name is not None else b""


def _describe(node: tree_sitter.Node) -> str:
    name = _name(node)
    return f"{node.type} {name.decode()}" if name else node.type


def exported_names(sources: Sequence[SourceFile]) -> dict[Path, set[bytes]]:
    """Names each project file is known to export: those other files import from it."""
    by_path = {source.path for source in sources}
    exports: dict[Path, set[bytes]] = defaultdict(set)
    for source in sources:
        for statement in source.root.children:
            if statement.type != "import_statement" or has_token(statement, "type"):
                continue
            target = _resolve(source.path, statement, by_path)
            clause = has_token(statement, "import_clause")
            named = clause and has_token(clause, "named_imports")
            if target is None or named is None:
                continue
            for spec in named.children:
                name = spec.child_by_field_name("name")
                if spec.type == "import_specifier" and name is not None:
                    exports[target].add(text(name))
    return exports


def _resolve(importer: Path, statement: tree_sitter.Node, files: set[Path]) -> Path | None:
    module = statement.child_by_field_name("source")
    spec = text(module).strip(b"'\"").decode() if module is not None else ""
    if not spec.startswith("."):
        return None
    base = (importer.parent / spec).resolve()
    for candidate in (base.with_name(base.name + ".ts"), base / "index.ts"):
        if candidate in files:
            return candidate
    return None


def unused_imports(
    source: SourceFile, exports: dict[Path, set[bytes]], rng: random.Random
) -> Iterator[Candidate]:
    imports = [c for c in source.root.children if c.type == "import_statement"]
    if not imports:
        return  # a file without imports may be a script: an import would make it a module
    at = imports[-1].end_byte
    targets = [
        (target, names)
        for target in sorted(exports)
        if target != source.path
        and (names := sorted(name for name in exports[target] if name not in source.words))
    ]
    if targets:  # one per file: a second import statement would share the anchor
        target, names = rng.choice(targets)
        picked = sorted(rng.sample(names, min(len(names), rng.choice((1, 2)))))
        module = os.path.relpath(target.with_suffix(""), source.path.parent).replace(os.sep, "/")
        module = module if module.startswith(".") else "./" + module
        listed = b", ".join(picked)
        statement = b"import { " + listed + b" } from '" + module.encode() + b"';"
        code = 6133 if len(picked) == 1 else 6192
        yield Candidate(
            "unused-import",
            source.path,
            Edit(at, at, b"\n" + statement),
            at,
            (Expect(at, (code,), inserted_line=1),),
            f"added unused import {{ {listed.decode()} }} from '{module}'",
            ((at, at + 1),),
            (f"unused-import:{source.rel}",),
        )


def missing_asyncs(source: SourceFile) -> Iterator[Candidate]:
    """Only callbacks without a return type: elsewhere the return type would turn from
    ``Promise<T>`` into ``T`` and callers (or the annotation) would report errors."""
    for node in walk(source.root):
        if node.type not in ("arrow_function", "function_expression"):
            continue
        keyword = has_token(node, "async")
        body = node.child_by_field_name("body")
        if keyword is None or body is None or node.child_by_field_name("return_type"):
            continue
        if node.parent is None or node.parent.type != "arguments":
            continue
        awaits = functions_awaits(body)
        if not awaits:
            continue
        start, end = keyword.start_byte, through_space(source.data, keyword.end_byte)
        yield Candidate(
            "missing-async",
            source.path,
            Edit(start, end, b""),
            start,
            tuple(Expect(offset, (code,)) for offset, code in awaits),
            f"removed 'async' of {_describe(node)} ({len(awaits)} await)",
            ((start, end), *((offset, offset + 5) for offset, _ in awaits)),
        )


def implicit_anys(source: SourceFile) -> Iterator[Candidate]:
    for node in walk(source.root):
        if node.type not in ("function_declaration", "generator_function_declaration"):
            if node.type != "method_definition" or node.parent is None:
                continue
            if node.parent.type != "class_body":
                continue  # an object literal's methods may be contextually typed
        if node.child_by_field_name("body") is None or _name(node) == b"constructor":
            continue
        if node.child_by_field_name("return_type") is None:
            continue  # an `any` parameter could change the inferred return type for callers
        parameters = node.child_by_field_name("parameters")
        for parameter in parameters.named_children if parameters is not None else ():
            candidate = _implicit_any(source, node, parameter)
            if candidate is not None:
                yield candidate


def _implicit_any(
    source: SourceFile, function: tree_sitter.Node, parameter: tree_sitter.Node
) -> Candidate | None:
    if parameter.type not in ("required_parameter", "optional_parameter"):
        return None
    pattern = parameter.child_by_field_name("pattern")
    annotation = parameter.child_by_field_name("type")
    if pattern is None or annotation is None or pattern.type != "identifier":
        return None
    if parameter.child_by_field_name("value") is not None:
        return None  # a default value gives the parameter a type
    if any(
        c.type in ("accessibility_modifier", "override_modifier", "readonly")
        for c in parameter.children
    ):
        return None  # fmt: skip
    # The names the annotation uses must stay used elsewhere (else: a new TS6133), and
    # no type parameter: an `any` argument would change what a generic call infers.
    used = {text(n) for n in walk(annotation) if n.type in ("identifier", "type_identifier")}
    if used & _type_parameters(function):
        return None
    if any(n.type == "predefined_type" and text(n) == b"any" for n in walk(annotation)):
        return None  # `x: any` was the author's choice: a fix could only restore an `any`
    for name in used:
        others = [
            n
            for n in source.names.get(name, [])
            if not annotation.start_byte <= n.start_byte < annotation.end_byte
        ]
        if len(others) < 2:  # its declaration or import, and one more use
            return None
    if _calls_with_callbacks(function, text(pattern)):
        return None  # calls on an `any` receiver give callbacks no contextual type: TS7006
    question = has_token(parameter, "?")
    start = question.end_byte if question is not None else pattern.end_byte
    end = annotation.end_byte
    return Candidate(
        "implicit-any",
        source.path,
        Edit(start, end, b""),
        pattern.start_byte,
        (Expect(pattern.start_byte, (7006,)),),
        f"removed the type of parameter '{text(pattern).decode()}' of {_describe(function)}",
        ((start, end),),
        tuple(f"type-name:{source.rel}:{name.decode()}" for name in sorted(used)),
    )


def _calls_with_callbacks(function: tree_sitter.Node, name: bytes) -> bool:
    """Does ``function``'s body call ``name`` or a member of it with a callback?"""
    body = function.child_by_field_name("body")
    for node in walk(body) if body is not None else ():
        if node.type != "identifier" or text(node) != name:
            continue
        callee = node
        while callee.parent is not None and callee.parent.type == "member_expression":
            callee = callee.parent
        if _callee_with_callbacks(callee):
            return True
    return False


def _type_parameters(function: tree_sitter.Node) -> set[bytes]:
    names = set()
    current: tree_sitter.Node | None = function
    while current is not None:  # the function's own and those of enclosing classes
        parameters = current.child_by_field_name("type_parameters")
        for parameter in parameters.named_children if parameters is not None else ():
            name = parameter.child_by_field_name("name")
            if name is not None:
                names.add(text(name))
        current = current.parent
    return names


def loose_classes(sources: Sequence[SourceFile]) -> frozenset[bytes]:
    """Names of the project's classes that accept any property name: a member named
    by a computed ``string | symbol`` (rxjs's ``[Symbol_observable]()``) gives a class
    an implicit ``[x: string]: any``, and subclasses inherit it. Matched by name."""
    bases: dict[bytes, bytes | None] = {}
    loose: set[bytes] = set()
    for source in sources:
        for klass in walk(source.root):
            name, body = klass.child_by_field_name("name"), klass.child_by_field_name("body")
            if klass.type not in _CLASSES or name is None or body is None:
                continue
            heritage = has_token(klass, "class_heritage")
            extends = heritage and has_token(heritage, "extends_clause")
            value = extends and extends.child_by_field_name("value")
            bases[text(name)] = text(value) if value else None
            if any(n.type == "computed_property_name" for m in body.children for n in m.children):
                loose.add(text(name))
    for class_name in bases:
        seen: set[bytes] = set()
        current: bytes | None = class_name
        while current is not None and current not in seen and current not in loose:
            seen.add(current)
            current = bases.get(current)
        if current is not None and current in loose:
            loose.add(class_name)
    return frozenset(loose)


def misspelled_properties(source: SourceFile, loose: frozenset[bytes]) -> Iterator[Candidate]:
    for klass in walk(source.root):
        if klass.type not in _CLASSES:
            continue
        body = klass.child_by_field_name("body")
        if body is None or _name(klass) in loose:
            continue
        members = _instance_members(body)
        for method in body.named_children:
            if method.type != "method_definition" or has_token(method, "static"):
                continue
            method_body = method.child_by_field_name("body")
            if method_body is None:
                continue
            for node in walk(method_body, skip=_FUNCTIONS - {"arrow_function"} | _CLASSES):
                candidate = _misspelling(source, klass, node, members, body)
                if candidate is not None:
                    yield candidate


def _instance_members(body: tree_sitter.Node) -> dict[bytes, bool]:
    """Instance member name -> is it private."""
    members: dict[bytes, bool] = {}
    for member in body.named_children:
        name = member.child_by_field_name("name")
        if name is None or name.type != "property_identifier" or has_token(member, "static"):
            continue
        if member.type in ("public_field_definition", "method_definition"):
            members[text(name)] = _is_private(member)
        if member.type == "method_definition" and text(name) == b"constructor":
            parameters = member.child_by_field_name("parameters")
            for parameter in parameters.named_children if parameters is not None else ():
                pattern = parameter.child_by_field_name("pattern")
                modifiers = {c.type for c in parameter.children}
                if pattern is not None and modifiers & {"accessibility_modifier", "readonly"}:
                    members[text(pattern)] = _is_private(parameter)
    return members


def _is_private(node: tree_sitter.Node) -> bool:
    modifier = has_token(node, "accessibility_modifier")
    return modifier is not None and text(modifier) == b"private"


def _misspelling(
    source: SourceFile,
    klass: tree_sitter.Node,
    node: tree_sitter.Node,
    members: dict[bytes, bool],
    body: tree_sitter.Node,
) -> Candidate | None:
    if node.type != "member_expression":
        return None
    receiver = node.child_by_field_name("object")
    prop = node.child_by_field_name("property")
    if receiver is None or prop is None or receiver.type != "this":
        return None
    if not _plain_use(node):
        return None
    name = text(prop)
    if prop.type != "property_identifier" or name not in members or len(name) < 4:
        return None
    if members[name] and _reads_elsewhere(body, name, node) == 0:
        return None  # the last read of a private member: it would become unused (TS6138)
    for index in _middle_out(len(name)):
        wrong = name[:index] + name[index + 1 :]
        if wrong not in source.words and wrong.lower() != name.lower():
            break
    else:
        return None
    return Candidate(
        "misspelled-property",
        source.path,
        Edit(prop.start_byte, prop.end_byte, wrong),
        prop.start_byte,
        (Expect(prop.start_byte, (2551,)),),
        f"this.{name.decode()} -> this.{wrong.decode()}",
        ((prop.start_byte, prop.end_byte),),
        (f"member:{source.rel}:{klass.start_byte}:{name.decode()}",),
    )


_NARROWING_OPERATORS = frozenset(
    {"&&", "||", "??", "!", "===", "!==", "==", "!=", "instanceof", "in", "typeof"}
)
_PLAIN_STATEMENTS = frozenset(
    {
        "expression_statement",
        "return_statement",
        "lexical_declaration",
        "variable_declaration",
        "throw_statement",
    }
)


def _plain_use(node: tree_sitter.Node) -> bool:
    """Is ``node`` a read whose value narrows nothing? A misspelled condition would
    lose its narrowing (TS2531 further on), a misspelled assignment target would leave
    the real field uninitialized (TS2564)."""
    assigned = ("assignment_expression", "augmented_assignment_expression")
    if node.parent is not None and node.parent.type in assigned and field_of(node) == "left":
        return False
    if _callee_with_callbacks(node):
        return False  # the callbacks would lose their contextual types (TS7006)
    current = node.parent
    while current is not None and not current.type.endswith(("statement", "declaration")):
        if current.type in ("ternary_expression", "non_null_expression"):
            return False
        if current.type in ("binary_expression", "unary_expression"):
            operator = current.child_by_field_name("operator")
            if operator is not None and text(operator).decode() in _NARROWING_OPERATORS:
                return False
        current = current.parent
    return current is not None and current.type in _PLAIN_STATEMENTS


def _middle_out(length: int) -> Iterator[int]:
    middle = length // 2
    for step in range(length):
        for index in (middle - step, middle + step):
            if 0 < index < length - 1:  # keep the first and last letters
                yield index


def _reads_elsewhere(body: tree_sitter.Node, name: bytes, node: tree_sitter.Node) -> int:
    reads = 0
    for other in walk(body):
        if other.type != "member_expression" or other.id == node.id:
            continue
        prop = other.child_by_field_name("property")
        if prop is None or text(prop) != name:
            continue
        parent = other.parent
        written = (
            parent is not None
            and parent.type == "assignment_expression"
            and (field_of(other) == "left")
        )
        reads += not written
    return reads


def missing_overrides(source: SourceFile) -> Iterator[Candidate]:
    for node in walk(source.root):
        modifier = has_token(node, "override_modifier")
        if modifier is None:
            continue
        name = node.child_by_field_name("name") or node.child_by_field_name("pattern")
        if name is None:
            continue
        start, end = modifier.start_byte, through_space(source.data, modifier.end_byte)
        yield Candidate(
            "missing-override",
            source.path,
            Edit(start, end, b""),
            name.start_byte,
            (Expect(name.start_byte, KINDS["missing-override"].codes),),
            f"removed 'override' of {text(name).decode()}",
            ((start, end),),
        )


# -- choosing and applying ------------------------------------------------------------------


@dataclass(frozen=True)
class Flags:
    """The compiler options some kinds need (``tsc --showConfig`` tells)."""

    no_unused_locals: bool = True
    no_implicit_any: bool = True
    no_implicit_override: bool = False

    def allows(self, kind: str) -> bool:
        flag = KINDS[kind].flag
        return {
            None: True,
            "noUnusedLocals": self.no_unused_locals,
            "noImplicitAny": self.no_implicit_any,
            "noImplicitOverride": self.no_implicit_override,
        }[flag]


def parse(data: bytes) -> tree_sitter.Node:
    return _PARSER.parse(data).root_node


@functools.cache
def lib_globals(typescript_dir: Path) -> frozenset[bytes]:
    """Names the default libraries declare (a superset of what any one config loads)."""
    names: set[bytes] = set()
    for lib in sorted((typescript_dir / "lib").glob("lib.*.d.ts")):
        names.update(_LIB_NAME.findall(lib.read_bytes()))
    return frozenset(names)


def candidate_id(candidate: Candidate, root: Path) -> str:
    return f"{candidate.kind}:{candidate.file.relative_to(root).as_posix()}:{candidate.edit.start}"


class Seeder:
    """The candidates of a project (found once, on its pristine text), a deterministic
    choice among them, and writing that choice over the project's files."""

    def __init__(
        self,
        root: Path,
        files: Iterable[Path],
        *,
        typescript_dir: Path,
        seed: int = 1,
        count: int = 80,
        kinds: Sequence[str] = tuple(KINDS),
        flags: Flags = Flags(),
    ) -> None:
        self.root = root.resolve()
        self.seed, self.count, self.kinds = seed, count, [k for k in KINDS if k in kinds]
        self.sources = [SourceFile.read(path.resolve(), self.root) for path in sorted(set(files))]
        globals_ = lib_globals(typescript_dir)
        self.found: dict[str, list[Candidate]] = {}
        for kind in self.kinds:
            found = _candidates(kind, self.sources, globals_, seed) if flags.allows(kind) else []
            random.Random(f"{seed}:{kind}").shuffle(found)
            self.found[kind] = found

    def select(
        self, exclude: Iterable[str] = (), only: Iterable[str] | None = None
    ) -> list[Candidate]:
        """Up to ``count`` candidates per kind, in the seed's order, none touching another's
        text or facts; ``exclude``/``only`` filter by :func:`candidate_id`."""
        excluded, wanted = set(exclude), None if only is None else set(only)
        reserved: dict[Path, list[tuple[int, int]]] = defaultdict(list)
        keys: set[str] = set()
        chosen: list[Candidate] = []
        for kind in self.kinds:
            picked = 0
            for candidate in self.found[kind]:
                if picked >= self.count:
                    break
                ident = candidate_id(candidate, self.root)
                if ident in excluded or (wanted is not None and ident not in wanted):
                    continue
                spans = reserved[candidate.file]
                if set(candidate.keys) & keys or any(
                    a < d and c < b for a, b in candidate.reserved for c, d in spans
                ):
                    continue
                spans.extend(candidate.reserved)
                keys.update(candidate.keys)
                chosen.append(candidate)
                picked += 1
        return chosen

    def write(self, chosen: Sequence[Candidate]) -> dict[str, Any]:
        """Rewrite every file as pristine text plus its chosen seeds; the manifest."""
        by_file: dict[Path, list[Candidate]] = defaultdict(list)
        for candidate in chosen:
            by_file[candidate.file].append(candidate)
        seeds: list[dict[str, Any]] = []
        for source in self.sources:
            here = sorted(by_file.get(source.path, []), key=lambda c: c.edit.start)
            data = source.data
            for candidate in reversed(here):
                edit = candidate.edit
                data = data[: edit.start] + edit.text + data[edit.end :]
            if source.path.read_bytes() != data:
                source.path.write_bytes(data)
            seeds.extend(self._entry(source, here, candidate) for candidate in here)
        order = {kind: i for i, kind in enumerate(KINDS)}
        seeds.sort(key=lambda s: (order[s["kind"]], s["file"], s["line"]))
        for number, entry in enumerate(seeds, 1):
            entry["id"] = number
        return {
            "root": str(self.root),
            "seed": self.seed,
            "count_per_kind": self.count,
            "kinds": {
                kind: {
                    "codes": list(KINDS[kind].codes),
                    "tier0": KINDS[kind].tier0,
                    "fix": KINDS[kind].fix,
                    "candidates": len(self.found[kind]),
                    "seeded": sum(s["kind"] == kind for s in seeds),
                    "errors": sum(len(s["expected"]) for s in seeds if s["kind"] == kind),
                }
                for kind in self.kinds
            },
            "seeds": seeds,
        }

    def _entry(
        self, source: SourceFile, here: Sequence[Candidate], candidate: Candidate
    ) -> dict[str, Any]:
        expected = [
            {"line": _line_after(source, here, e, candidate), "codes": list(e.codes)}
            for e in candidate.expects
        ]
        return {
            "kind": candidate.kind,
            "file": source.rel,
            "line": _line_after(source, here, Expect(candidate.anchor, ()), candidate),
            "detail": candidate.detail,
            "tier0": KINDS[candidate.kind].tier0,
            "fix": KINDS[candidate.kind].fix,
            "expected": sorted(expected, key=lambda x: x["line"]),
            "candidate": candidate_id(candidate, self.root),
        }


def seed_project(
    root: Path,
    files: Iterable[Path],
    *,
    typescript_dir: Path,
    seed: int = 1,
    count: int = 80,
    kinds: Sequence[str] = tuple(KINDS),
    flags: Flags = Flags(),
) -> dict[str, Any]:
    """Seed errors into ``files`` of the project at ``root`` (a copy: they are rewritten
    in place); returns the manifest. ``count`` is per kind."""
    seeder = Seeder(
        root, files, typescript_dir=typescript_dir, seed=seed, count=count, kinds=kinds,
        flags=flags,
    )  # fmt: skip
    return seeder.write(seeder.select())


def _candidates(
    kind: str, sources: Sequence[SourceFile], globals_: frozenset[bytes], seed: int
) -> list[Candidate]:
    rng = random.Random(f"{seed}:{kind}:make")
    taken: set[bytes] = set()
    exports = exported_names(sources) if kind == "unused-import" else {}
    loose = loose_classes(sources) if kind == "misspelled-property" else frozenset()
    found: list[Candidate] = []
    for source in sources:
        if kind == "missing-import":
            found.extend(missing_imports(source, globals_))
        elif kind == "unused-local":
            found.extend(unused_locals(source, rng, taken))
        elif kind == "unused-import":
            found.extend(unused_imports(source, exports, rng))
        elif kind == "missing-async":
            found.extend(missing_asyncs(source))
        elif kind == "implicit-any":
            found.extend(implicit_anys(source))
        elif kind == "misspelled-property":
            found.extend(misspelled_properties(source, loose))
        elif kind == "missing-override":
            found.extend(missing_overrides(source))
        else:
            raise ValueError(f"unknown seed kind {kind!r}")
    return found


def _line_after(
    source: SourceFile, edits: Sequence[Candidate], expect: Expect, own: Candidate
) -> int:
    """The 1-based line of ``expect`` once all of the file's seeds are applied."""
    line = source.line(expect.offset)
    for other in edits:
        edit = other.edit
        if edit.end > expect.offset or (other is own and expect.inserted_line is not None):
            continue
        line += edit.text.count(b"\n") - source.data.count(b"\n", edit.start, edit.end)
    return line + (expect.inserted_line or 0)


# -- tsc and the comparison ------------------------------------------------------------------

_TSC_LINE = re.compile(r"^(?P<file>.+?)\((?P<line>\d+),(?P<col>\d+)\): error TS(?P<code>\d+): ")
_TSC_GLOBAL = re.compile(r"^error TS(?P<code>\d+): ")


@dataclass(frozen=True)
class TscError:
    file: str  # as tsc prints it (relative to its cwd); "" for a global error
    line: int
    column: int
    code: int
    message: str

    def key(self) -> tuple[str, int, str]:
        """Identity that survives edits elsewhere in the file. An error that gains a
        spelling hint ("Did you mean 'y'?", TS2552/TS2551) is the same error, as in
        codemodkit's ``Diagnostic.key``."""
        code = {2552: 2304, 2551: 2339, 2833: 2503}.get(self.code, self.code)
        message = self.message.split(" Did you mean", 1)[0] if code != self.code else self.message
        return (self.file, code, message)

    def __str__(self) -> str:
        return f"{self.file}({self.line},{self.column}): error TS{self.code}: {self.message}"


@dataclass(frozen=True)
class TscRun:
    errors: list[TscError]
    seconds: float
    exit_code: int


def parse_tsc(output: str) -> list[TscError]:
    errors: list[TscError] = []
    for raw in output.splitlines():
        located = _TSC_LINE.match(raw)
        bare = None if located else _TSC_GLOBAL.match(raw)
        if located:
            errors.append(
                TscError(
                    located["file"],
                    int(located["line"]),
                    int(located["col"]),
                    int(located["code"]),
                    raw[located.end() :],
                )
            )
        elif bare:
            errors.append(TscError("", 0, 0, int(bare["code"]), raw[bare.end() :]))
        elif raw.startswith(" ") and errors:  # a message chain's next level
            last = errors[-1]
            errors[-1] = TscError(
                last.file, last.line, last.column, last.code, last.message + "\n" + raw
            )
    return errors


def tsc_binary() -> Path:
    """The pinned ``tsc`` of ``tests/node`` (``npm ci`` there first when missing)."""
    binary = NODE_DIR / "node_modules" / "typescript" / "bin" / "tsc"
    if not binary.exists():
        subprocess.run(
            ["npm", "ci", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund"],
            check=True,
            capture_output=True,
        )
    return binary


#: CPU seconds (user + system) of the last ``run_tsc``'s process
LAST_CPU = 0.0


def child_cpu() -> float:
    """CPU seconds used so far by finished child processes (less noisy than wall time
    on a shared machine)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_tsc(root: Path, tsconfig: Path, tsc: Path | None = None) -> TscRun:
    """``tsc --noEmit -p tsconfig`` in ``root``; raises when it could not check."""
    binary = str(tsc or tsc_binary())
    command = ["node", binary, "--noEmit", "-p", str(tsconfig), "--pretty", "false"]
    started, cpu = time.perf_counter(), child_cpu()
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    global LAST_CPU
    LAST_CPU = child_cpu() - cpu
    errors = parse_tsc(done.stdout)
    if done.returncode != 0 and not errors:
        raise RuntimeError(
            f"tsc could not check {tsconfig}:\n{(done.stdout + done.stderr)[-2000:]}"
        )
    return TscRun(errors, seconds, done.returncode)


def compiler_flags(root: Path, tsconfig: Path, tsc: Path | None = None) -> tuple[Flags, list[Path]]:
    """The flags that enable some kinds, and the project's root files (``--showConfig``)."""
    command = ["node", str(tsc or tsc_binary()), "-p", str(tsconfig), "--showConfig"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True)
    config = json.loads(done.stdout)
    options = config.get("compilerOptions", {})
    strict = bool(options.get("strict"))
    flags = Flags(
        no_unused_locals=bool(options.get("noUnusedLocals")),
        no_implicit_any=bool(options.get("noImplicitAny", strict)),
        no_implicit_override=bool(options.get("noImplicitOverride")),
    )
    files = [
        (tsconfig.parent / name).resolve()
        for name in config.get("files", [])
        if not name.endswith(".d.ts") and "node_modules" not in Path(name).parts
    ]
    return flags, files


@dataclass
class KindCheck:
    seeds: int = 0
    expected: int = 0
    observed: int = 0
    missing: int = 0
    unexpected: int = 0


@dataclass(frozen=True)
class Check:
    per_kind: dict[str, KindCheck]
    matched: dict[TscError, str]  # observed error -> the kind that caused it
    missing: list[tuple[str, str, int, list[int]]]  # kind, file, line, codes
    unexpected: list[tuple[TscError, str]]  # error, the kind of the nearest seed (or "")


def check(manifest: dict[str, Any], errors: Sequence[TscError], root: Path, cwd: Path) -> Check:
    """Match tsc's errors to the manifest's expectations by file, line and code."""
    prefix = os.path.relpath(root, cwd).replace(os.sep, "/")
    prefix = "" if prefix == "." else prefix + "/"
    pool: dict[tuple[str, int], list[TscError]] = defaultdict(list)
    for error in errors:
        pool[(error.file.removeprefix(prefix), error.line)].append(error)
    per_kind = {kind: KindCheck() for kind in manifest["kinds"]}
    matched: dict[TscError, str] = {}
    missing = []
    for entry in manifest["seeds"]:
        row = per_kind[entry["kind"]]
        row.seeds += 1
        for want in entry["expected"]:
            row.expected += 1
            here = pool[(entry["file"], want["line"])]
            hit = next((e for e in here if e.code in want["codes"] and e not in matched), None)
            if hit is None:
                row.missing += 1
                missing.append((entry["kind"], entry["file"], want["line"], want["codes"]))
            else:
                row.observed += 1
                matched[hit] = entry["kind"]
    unexpected = []
    for error in errors:
        if error in matched:
            continue
        kind = _nearest_kind(manifest, error.file.removeprefix(prefix), error.line)
        if kind:
            per_kind[kind].unexpected += 1
        unexpected.append((error, kind))
    return Check(per_kind, matched, missing, unexpected)


def _nearest_kind(manifest: dict[str, Any], file: str, line: int) -> str:
    here = [s for s in manifest["seeds"] if s["file"] == file]
    if not here:
        return ""
    return str(min(here, key=lambda s: abs(s["line"] - line))["kind"])


def table(result: Check, manifest: dict[str, Any]) -> str:
    header = (
        "kind", "tier0", "candidates", "seeds", "expected", "observed", "missing", "unexpected"
    )  # fmt: skip
    rows = [header]
    total = KindCheck()
    for kind, row in result.per_kind.items():
        info = manifest["kinds"][kind]
        rows.append(
            (kind, info["tier0"], str(info["candidates"]), str(row.seeds), str(row.expected),
             str(row.observed), str(row.missing), str(row.unexpected))
        )  # fmt: skip
        for name in ("seeds", "expected", "observed", "missing", "unexpected"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    unattributed = sum(1 for _, kind in result.unexpected if not kind)
    rows.append(
        ("total", "", "", str(total.seeds), str(total.expected), str(total.observed),
         str(total.missing), str(total.unexpected + unattributed))
    )  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    lines.insert(len(lines) - 1, "-" * len(lines[0]))
    return "\n".join(lines)


def tier0_errors(manifest: dict[str, Any]) -> int:
    return sum(len(s["expected"]) for s in manifest["seeds"] if s["tier0"] == "yes")


# -- the default project ------------------------------------------------------------------


def prepare_rxjs(work: Path, dest: Path) -> Path:
    """A fresh copy of rxjs's ``src/`` at ``dest`` with our tsconfig; returns the tsconfig."""
    package = fetch_package(PACKAGE, work)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copytree(package / "src", dest / "src")
    shutil.copy2(package / "tsconfig.json", dest / "tsconfig.json")
    for rel, old, new in RXJS_PATCHES:
        path = dest / rel
        content = path.read_text("utf-8")
        if content.count(old) != 1:
            raise RuntimeError(f"baseline patch does not apply to {rel}: {old!r}")
        path.write_text(content.replace(old, new), "utf-8")
    tsconfig = dest / TSCONFIG_NAME
    tsconfig.write_text(json.dumps(RXJS_TSCONFIG, indent=2) + "\n", "utf-8")
    link_node_modules(dest)
    return tsconfig


def link_node_modules(project: Path) -> None:
    """``typescript`` for whatever runs in the copy: the pinned one of tests/node."""
    tsc_binary()
    link = project / "node_modules"
    if not link.exists():
        link.symlink_to(NODE_DIR / "node_modules", target_is_directory=True)


# -- what TypeScript's own code fixes offer -------------------------------------------------

#: For each error in the given files: the code fixes the language service offers, with
#: the text they insert. Plain JavaScript, run by Node with the project's TypeScript.
_FIXES_JS = r"""
const path = require("path");
const fs = require("fs");
const [root, tsconfig, listFile] = process.argv.slice(1);
const ts = require(path.join(root, "node_modules", "typescript"));
const files = JSON.parse(fs.readFileSync(listFile, "utf8"));
const fail = (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n")); };
const config = ts.getParsedCommandLineOfConfigFile(
  tsconfig, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: fail });
const host = {
  getCompilationSettings: () => config.options,
  getScriptFileNames: () => config.fileNames,
  getScriptVersion: () => "0",
  getScriptSnapshot: (f) => {
    const t = ts.sys.readFile(f);
    return t === undefined ? undefined : ts.ScriptSnapshot.fromString(t);
  },
  getCurrentDirectory: () => root,
  getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
  fileExists: ts.sys.fileExists,
  readFile: ts.sys.readFile,
  readDirectory: ts.sys.readDirectory,
  directoryExists: ts.sys.directoryExists,
  getDirectories: ts.sys.getDirectories,
};
const service = ts.createLanguageService(host, ts.createDocumentRegistry());
const format = ts.getDefaultFormatCodeSettings("\n");
for (const file of files) {
  const source = service.getProgram().getSourceFile(file);
  const found = [...service.getSyntacticDiagnostics(file), ...service.getSemanticDiagnostics(file)];
  for (const d of found) {
    if (d.start === undefined) continue;
    let fixes;
    try {
      const end = d.start + d.length;
      fixes = service.getCodeFixesAtPosition(file, d.start, end, [d.code], format, {});
    } catch (e) {
      fixes = [{ fixName: "(error) " + e.message, changes: [] }];
    }
    console.log(JSON.stringify({
      file, line: source.getLineAndCharacterOfPosition(d.start).line + 1, code: d.code,
      fixes: fixes.map((f) => ({
        name: f.fixName,
        text: f.changes.flatMap((c) => c.textChanges.map((t) => t.newText)).join("\n"),
      })),
    }));
  }
}
"""


@dataclass
class FixOffer:
    errors: int = 0
    offered: int = 0  # the kind's own fix is among the language service's fixes
    concrete: int = 0  # ... and inserts no `any`


def offered_fixes(manifest: dict[str, Any], root: Path, tsconfig: Path) -> dict[str, FixOffer]:
    """Per kind: how many seeded errors TypeScript's language service offers the kind's
    fix for (``getCodeFixesAtPosition``): the manifest's tier-0 claims, checked."""
    files = sorted({str(root / entry["file"]) for entry in manifest["seeds"]})
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as listing:
        json.dump(files, listing)
    try:
        done = subprocess.run(
            ["node", "-e", _FIXES_JS, str(root), str(tsconfig), listing.name],
            cwd=root, capture_output=True, text=True, check=False,
        )  # fmt: skip
    finally:
        os.unlink(listing.name)
    if done.returncode != 0:
        raise RuntimeError(f"the code-fix probe failed:\n{done.stderr[-2000:]}")
    offers: dict[tuple[str, int, int], list[dict[str, str]]] = {}
    for line in done.stdout.splitlines():
        item = json.loads(line)
        rel = Path(item["file"]).relative_to(root).as_posix()
        offers.setdefault((rel, item["line"], item["code"]), item["fixes"])
    result = {kind: FixOffer() for kind in manifest["kinds"]}
    for entry in manifest["seeds"]:
        row, name = result[entry["kind"]], KINDS[entry["kind"]].fix_name
        for want in entry["expected"]:
            row.errors += 1
            keys = [(entry["file"], want["line"], code) for code in want["codes"]]
            fixes = next((offers[key] for key in keys if key in offers), [])
            own = [fix for fix in fixes if fix["name"] == name]
            want["ls_fixes"] = sorted({fix["name"] for fix in fixes})
            row.offered += bool(own)
            row.concrete += any(not re.search(r"\bany\b", fix["text"]) for fix in own)
    for kind, row in result.items():
        manifest["kinds"][kind]["ls_offers_fix"] = row.offered
        manifest["kinds"][kind]["ls_fix_without_any"] = row.concrete
    return result


def offers_table(manifest: dict[str, Any], offers: dict[str, FixOffer]) -> str:
    rows = [("kind", "tier0", "fix", "errors", "LS offers it", "without any")]
    for kind, row in offers.items():
        info = manifest["kinds"][kind]
        rows.append(
            (kind, info["tier0"], KINDS[kind].fix_name, str(row.errors), str(row.offered),
             str(row.concrete))
        )  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if i < 3 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def calibration_drops(manifest: dict[str, Any], result: Check) -> dict[str, str]:
    """Seeds to leave out next time: one whose error did not show (TS did not see it
    that way), and for each unexpected error the nearest seed in its file that changes
    types (an added unused declaration cannot cause other errors), or, in a file without
    seeds, those in the files it imports."""
    drops: dict[str, str] = {}
    seeds_by_file: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in manifest["seeds"]:
        seeds_by_file[entry["file"]].append(entry)
    for kind, file, line, codes in result.missing:
        for entry in seeds_by_file[file]:
            if entry["kind"] == kind and any(w["line"] == line for w in entry["expected"]):
                drops[entry["candidate"]] = f"no TS{'/'.join(map(str, codes))} at line {line}"
    prefix = manifest["root_from_cwd"]
    for error, _ in result.unexpected:
        file = error.file.removeprefix(prefix)
        here = seeds_by_file.get(file, [])
        if not here:  # a seed changed what a module this file imports exports
            for entry in _imported_seeds(manifest, file, seeds_by_file):
                drops.setdefault(entry["candidate"], f"unexpected TS{error.code} in {file}")
            continue
        suspects = [entry for entry in here if entry["kind"] in _TYPE_CHANGING] or here
        distance = {
            entry["candidate"]: min(abs(line - error.line) for line in _lines(entry))
            for entry in suspects
        }
        nearest = min(distance.values())
        for candidate, away in distance.items():
            if away == nearest:
                drops.setdefault(candidate, f"unexpected TS{error.code} {away} lines away")
    return drops


#: kinds whose edit changes a type or a contextual type, not only adds a declaration
_TYPE_CHANGING = frozenset(
    {"missing-import", "implicit-any", "missing-async", "misspelled-property"}
)
_IMPORT_FROM = re.compile(r"""^(?:import|export)\b[^;]*?\bfrom\s*['"](\.[^'"]*)['"]""", re.M)


def _lines(entry: dict[str, Any]) -> list[int]:
    return [entry["line"], *(want["line"] for want in entry["expected"])]


def _imported_seeds(
    manifest: dict[str, Any], file: str, seeds_by_file: dict[str, list[dict[str, Any]]]
) -> Iterator[dict[str, Any]]:
    """Seeds that change types, in the files ``file`` imports (relative imports)."""
    root = Path(manifest["root"])
    path = root / file
    try:
        content = path.read_text("utf-8")
    except OSError:
        return
    for spec in _IMPORT_FROM.findall(content):
        base = os.path.normpath(path.parent / spec)
        for target in (base + ".ts", os.path.join(base, "index.ts")):
            rel = Path(target).relative_to(root).as_posix() if target.startswith(str(root)) else ""
            for entry in seeds_by_file.get(rel, []):
                if entry["kind"] in _TYPE_CHANGING:
                    yield entry


@dataclass(frozen=True)
class Seeded:
    root: Path
    tsconfig: Path
    manifest: dict[str, Any]
    manifest_path: Path
    baseline: TscRun | None
    last_run: TscRun | None  # tsc on the final seeded copy (None without calibration)
    last_check: Check | None


def make_seeded_rxjs(
    work: Path,
    dest: Path,
    *,
    seed: int,
    count: int,
    kinds: Sequence[str],
    manifest_path: Path,
    baseline: bool = True,
    rounds: int = 6,
    only: Iterable[str] | None = None,
    log: Callable[[str], None] = print,
) -> Seeded:
    """Fresh copy, optional baseline tsc, seeding; then up to ``rounds`` times: tsc, and
    seeds that misbehaved are replaced by the next candidates (``rounds=0``: no tsc).
    ``only`` (candidate ids from a manifest) recreates that manifest's seeding."""
    tsconfig = prepare_rxjs(work, dest)
    before = run_tsc(dest, tsconfig) if baseline else None
    flags, files = compiler_flags(dest, tsconfig)
    typescript_dir = NODE_DIR / "node_modules" / "typescript"
    seeder = Seeder(
        dest, files, typescript_dir=typescript_dir, seed=seed, count=count, kinds=kinds,
        flags=flags,
    )  # fmt: skip
    dropped: dict[str, str] = {}
    calibration: list[dict[str, Any]] = []
    run = result = None
    for attempt in range(rounds + 1):
        manifest = {
            "project": f"{PACKAGE} src/ (npm pack)",
            "tsconfig": tsconfig.name,
            "typescript": _typescript_version(),
            "baseline_patches": [f"{rel}: removed {old.strip()!r}" for rel, old, _ in RXJS_PATCHES],
            "root_from_cwd": "",
            **seeder.write(seeder.select(exclude=dropped, only=only)),
            "calibration": calibration,
        }  # fmt: skip
        if attempt == rounds:
            break
        run = run_tsc(dest, tsconfig)
        result = check(manifest, run.errors, dest, dest)
        drops = calibration_drops(manifest, result)
        calibration.append(
            {
                "round": attempt + 1,
                "tsc_errors": len(run.errors),
                "tsc_seconds": round(run.seconds, 2),
                "dropped": [{"candidate": c, "why": why} for c, why in sorted(drops.items())],
            }
        )
        log(
            f"calibration round {attempt + 1}: {len(run.errors)} errors, tsc {run.seconds:.1f}s,"
            f" {len(drops)} seeds replaced"
        )
        if not drops:
            break
        dropped.update(drops)
        run = result = None
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n", "utf-8")
    return Seeded(dest, tsconfig, manifest, manifest_path, before, run, result)


def _typescript_version() -> str:
    package = NODE_DIR / "node_modules" / "typescript" / "package.json"
    return str(json.loads(package.read_text("utf-8"))["version"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--work", type=Path, default=WORK, help="where the package is fetched")
    parser.add_argument("--out", type=Path, help="the seeded copy (default: under --work)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=80, help="seeds per kind (default 80)")
    parser.add_argument("--kinds", nargs="+", choices=list(KINDS), default=list(KINDS))
    parser.add_argument("--json", type=Path, help="manifest path (default: <out>.json)")
    parser.add_argument("--no-baseline", action="store_true", help="skip tsc before seeding")
    parser.add_argument(
        "--rounds", type=int, default=6,
        help="tsc runs that replace misbehaving seeds (default 6; 0: no tsc after seeding)",
    )  # fmt: skip
    parser.add_argument(
        "--min-tier0", type=int, default=200, help="fail below this many tier-0-fixable errors"
    )
    parser.add_argument(
        "--verify-fixes",
        action="store_true",
        help="ask TypeScript's language service which seeded errors it offers the fix for",
    )
    args = parser.parse_args(argv)
    dest = (args.out or args.work / "tsfix-seed" / f"rxjs-7.8.2-seed{args.seed}").resolve()
    manifest_path = (args.json or dest.with_name(dest.name + ".json")).resolve()
    print(f"copy: {dest}")
    seeded = make_seeded_rxjs(
        args.work.resolve(), dest, seed=args.seed, count=args.count, kinds=args.kinds,
        manifest_path=manifest_path, baseline=not args.no_baseline, rounds=args.rounds,
    )  # fmt: skip
    manifest = seeded.manifest
    print(f"project: {manifest['project']}, TypeScript {manifest['typescript']}, seed {args.seed}")
    print(f"manifest: {manifest_path}")
    failed = False
    if seeded.baseline is not None:
        run = seeded.baseline
        print(
            f"baseline (unseeded copy): {len(run.errors)} errors, tsc --noEmit {run.seconds:.1f}s"
        )
        for error in run.errors[:10]:
            print(f"  {error}")
        failed = bool(run.errors)
    fixable = tier0_errors(manifest)
    dropped = sum(len(r["dropped"]) for r in manifest["calibration"])
    print(
        f"seeded: {len(manifest['seeds'])} seeds, {fixable} tier-0-fixable errors"
        f" ({dropped} misbehaving seeds replaced)"
    )
    failed = failed or fixable < args.min_tier0
    if seeded.last_run is None or seeded.last_check is None:
        if args.rounds:
            print("calibration did not settle: the last seeding was not checked")
            failed = True
        print_kinds(manifest)
        return int(failed)
    result = seeded.last_check
    last = seeded.last_run
    print(f"tsc --noEmit on the seeded copy: {len(last.errors)} errors in {last.seconds:.1f}s")
    print(table(result, manifest))
    for kind, file, line, codes in result.missing[:20]:
        print(f"missing: {kind} {file}:{line} expected TS{'/'.join(map(str, codes))}")
    for error, kind in result.unexpected[:20]:
        print(f"unexpected{f' (near a {kind} seed)' if kind else ''}: {error}")
    if args.verify_fixes:
        started = time.perf_counter()
        offers = offered_fixes(manifest, dest, seeded.tsconfig)
        seconds = time.perf_counter() - started
        print(f"TypeScript's code fixes for the seeded errors ({seconds:.1f}s):")
        print(offers_table(manifest, offers))
        manifest_path.write_text(json.dumps(manifest, indent=1) + "\n", "utf-8")
    return int(failed or bool(result.missing or result.unexpected))


def print_kinds(manifest: dict[str, Any]) -> None:
    for kind, info in manifest["kinds"].items():
        print(f"  {kind}: {info['seeded']} seeds, {info['errors']} errors (tier0 {info['tier0']})")


if __name__ == "__main__":
    sys.exit(main())
