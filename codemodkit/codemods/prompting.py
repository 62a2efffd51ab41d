"""Prompt templates kept in versioned files next to the codemod that uses them.

A file ``<name>.v<N>.txt`` has a ``[system]`` and a ``[user]`` section (``#`` lines
before the first section are comments) with ``$placeholders`` (``string.Template``,
so code full of braces needs no escaping). The template's version, part of every
cache key, is the file name plus a hash of its text: an edit that forgets to bump
the number still invalidates cached answers.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from string import Template

__all__ = ["PromptTemplate", "load_prompt"]

_SECTION = re.compile(r"^\[(system|user)\]\s*$", re.MULTILINE)


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: str
    system: str
    user: Template

    def render(self, values: Mapping[str, str]) -> tuple[str, str]:
        return self.system, self.user.safe_substitute(values)


def load_prompt(package: str, filename: str) -> PromptTemplate:
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    parts = _SECTION.split(text)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True))
    if set(sections) != {"system", "user"}:
        raise ValueError(f"{filename}: needs exactly a [system] and a [user] section")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return PromptTemplate(
        name=filename,
        version=f"{filename}:{digest}",
        system=sections["system"].strip(),
        user=Template(sections["user"].strip() + "\n"),
    )
