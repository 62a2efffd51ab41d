"""tree-sitter for tsfix: lenient parses and offsets in characters.

The rest of tsfix works in code points (Python ``str`` indices) while tree-sitter
works on UTF-8 bytes; ``Source`` converts both ways. Unlike ``parse_js`` it keeps a
tree with syntax errors: a file with compiler errors may well have a syntax error,
and its other statements still need spans.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePath

import tree_sitter

from codemodkit.edits import utf8_offsets
from codemodkit.parsers.javascript import Dialect, dialect_for, parser_for

__all__ = [
    "DEFERRED",
    "FUNCTIONS",
    "SIDE_EFFECTS",
    "Source",
    "dialect_of",
    "nodes_in",
    "parse_source",
    "walk",
]

# Code whose evaluation is visible: deleting it changes what the program does.
SIDE_EFFECTS = frozenset(
    {
        "call_expression",
        "new_expression",
        "await_expression",
        "yield_expression",
        "assignment_expression",
        "augmented_assignment_expression",
        "update_expression",
    }
)
# Functions of every form but methods (``function`` is the older grammars' expression).
FUNCTIONS = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "function_expression",
        "function",
        "generator_function",
        "arrow_function",
    }
)
# Nothing inside these runs where it is written.
DEFERRED = FUNCTIONS | {"method_definition", "import_statement"}


def dialect_of(file: str | None) -> Dialect:
    """The grammar for a file; TypeScript when there is no file name."""
    if not file:
        return "typescript"
    return dialect_for(PurePath(file).suffix)


@dataclass
class Source:
    text: str
    data: bytes
    tree: tree_sitter.Tree
    dialect: Dialect

    @property
    def root(self) -> tree_sitter.Node:
        return self.tree.root_node

    def byte(self, offset: int) -> int:
        """The UTF-8 byte offset of a character offset."""
        return offset if self.text.isascii() else self._to_byte(offset)

    @cached_property
    def _to_byte(self) -> Callable[[int], int]:
        return utf8_offsets(self.text)

    def char(self, byte: int) -> int:
        """The character offset of a UTF-8 byte offset (one on a character boundary)."""
        if self.text.isascii():
            return byte
        return bisect.bisect_left(range(len(self.text) + 1), byte, key=self.byte)

    def span(self, node: tree_sitter.Node) -> tuple[int, int]:
        return self.char(node.start_byte), self.char(node.end_byte)

    def node_text(self, node: tree_sitter.Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")


def parse_source(text: str, dialect: Dialect) -> Source:
    """Parse ``text``, syntax errors or not."""
    data = text.encode("utf-8", "surrogatepass")
    return Source(text, data, parser_for(dialect).parse(data), dialect)


def walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """``node`` and everything below it, in document order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def nodes_in(node: tree_sitter.Node, start: int, end: int) -> Iterator[tree_sitter.Node]:
    """The nodes wholly inside bytes ``[start, end]``, in document order (outer first)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.end_byte < start or current.start_byte > end:
            continue
        if start <= current.start_byte and current.end_byte <= end:
            yield current
        stack.extend(reversed(current.children))
