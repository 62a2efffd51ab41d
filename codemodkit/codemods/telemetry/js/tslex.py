"""A lexer and type skipper for the TypeScript subset the JS runtime helper is written in.

It is not a TypeScript parser: it knows just enough to derive the helper's JavaScript
and declaration variants from its one TypeScript source (see ``variants``). The
helper's source keeps to what it understands - no template literals, no regular
expression literals, annotations only on ``function`` parameters and return types and
on ``let``/``const``/``var`` names, ``as`` casts, top-level ``interface``/``type``/
``declare`` statements - and the tests check every variant against ``tsc``'s own
output, so a construct it gets wrong cannot go unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Lexed", "Token", "TypeSyntaxError", "lex"]

_PUNCT3 = ("...",)
_PUNCT2 = ("=>",)  # the only two-character token that matters here: an arrow is no '='
_IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$")
_IDENT_PART = _IDENT_START | frozenset("0123456789")
_OPENERS = {"(": ")", "[": "]", "{": "}"}


class TypeSyntaxError(ValueError):
    """The helper's source uses syntax outside the supported subset."""


@dataclass(frozen=True)
class Token:
    kind: str  # "ws", "comment", "string", "number", "ident", "punct"
    text: str
    start: int


def _scan(source: str) -> list[Token]:
    tokens: list[Token] = []
    index, size = 0, len(source)
    while index < size:
        char = source[index]
        start = index
        if char.isspace():
            while index < size and source[index].isspace():
                index += 1
            kind = "ws"
        elif source.startswith("//", index):
            end = source.find("\n", index)
            index = size if end < 0 else end
            kind = "comment"
        elif source.startswith("/*", index):
            end = source.find("*/", index + 2)
            if end < 0:
                raise TypeSyntaxError(f"unterminated comment at {index}")
            index = end + 2
            kind = "comment"
        elif char in "'\"":
            index += 1
            while index < size and source[index] != char:
                if source[index] == "\n":
                    raise TypeSyntaxError(f"unterminated string at {start}")
                index += 2 if source[index] == "\\" else 1
            if index >= size:
                raise TypeSyntaxError(f"unterminated string at {start}")
            index += 1
            kind = "string"
        elif char == "`":
            raise TypeSyntaxError(f"template literal at {index}: use string concatenation")
        elif char in _IDENT_START:
            while index < size and source[index] in _IDENT_PART:
                index += 1
            kind = "ident"
        elif char.isdigit():
            while index < size and (source[index] in _IDENT_PART or source[index] == "."):
                index += 1
            kind = "number"
        else:
            kind = "punct"
            index += next((len(p) for p in (*_PUNCT3, *_PUNCT2) if source.startswith(p, index)), 1)
        tokens.append(Token(kind, source[start:index], start))
    return tokens


class Lexed:
    """A token list with its significant tokens (no whitespace, no comments) indexed."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _scan(source)
        #: positions in ``tokens`` of the significant ones
        self.sig = [i for i, t in enumerate(self.tokens) if t.kind not in ("ws", "comment")]

    def text(self, p: int) -> str:
        """The text of significant token ``p`` ('' past the end)."""
        return self.tokens[self.sig[p]].text if 0 <= p < len(self.sig) else ""

    def kind(self, p: int) -> str:
        return self.tokens[self.sig[p]].kind if 0 <= p < len(self.sig) else ""

    def expect(self, p: int, text: str) -> int:
        if self.text(p) != text:
            raise TypeSyntaxError(f"expected {text!r} at {self.where(p)}, found {self.text(p)!r}")
        return p + 1

    def where(self, p: int) -> str:
        if p >= len(self.sig):
            return "end of file"
        offset = self.tokens[self.sig[p]].start
        return f"line {self.source.count(chr(10), 0, offset) + 1}"

    def skip_balanced(self, p: int) -> int:
        """From an opening bracket to just past its match."""
        stack = [_OPENERS[self.text(p)]]
        p += 1
        while stack:
            text = self.text(p)
            if text == "":
                raise TypeSyntaxError("unbalanced brackets")
            if text in _OPENERS:
                stack.append(_OPENERS[text])
            elif text in (")", "]", "}") and text != stack.pop():
                raise TypeSyntaxError(f"mismatched {text!r} at {self.where(p)}")
            p += 1
        return p

    def skip_until(self, p: int, stops: tuple[str, ...]) -> int:
        """To the first of ``stops`` outside brackets (an expression or statement end)."""
        while self.text(p) not in stops:
            if self.text(p) == "":
                raise TypeSyntaxError(f"expected one of {stops}")
            p = self.skip_balanced(p) if self.text(p) in _OPENERS else p + 1
        return p

    def skip_type(self, p: int) -> int:
        """Past one type expression starting at ``p``."""
        if self.text(p) in ("|", "&"):
            p += 1
        while True:
            p = self._skip_operand(p)
            if self.text(p) not in ("|", "&"):
                return p
            p += 1

    def _skip_operand(self, p: int) -> int:
        while self.text(p) in ("keyof", "typeof", "readonly", "unique"):
            p += 1
        text, kind = self.text(p), self.kind(p)
        if text == "new":
            return self._skip_operand(p + 1)
        if text == "(":
            p = self.skip_balanced(p)
            if self.text(p) == "=>":
                return self.skip_type(p + 1)
        elif text in ("{", "["):
            p = self.skip_balanced(p)
        elif kind in ("ident", "string", "number"):
            p += 1
            while self.text(p) == "." and self.kind(p + 1) == "ident":
                p += 2
            if self.text(p) == "<":
                p = self._skip_angles(p)
        else:
            raise TypeSyntaxError(f"unsupported type syntax {text!r} at {self.where(p)}")
        while self.text(p) == "[":
            p = self.skip_balanced(p)
        return p

    def _skip_angles(self, p: int) -> int:
        depth = 0
        while True:
            text = self.text(p)
            if text == "":
                raise TypeSyntaxError("unbalanced '<'")
            if text in _OPENERS:
                p = self.skip_balanced(p)
                continue
            depth += {"<": 1, ">": -1}.get(text, 0)
            p += 1
            if depth == 0:
                return p


def lex(source: str) -> Lexed:
    return Lexed(source)
