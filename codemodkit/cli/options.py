"""Options shared by the file-rewriting commands."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

from codemodkit.runner import default_jobs
from codemodkit.sourcefile import DEFAULT_MAX_FILE_SIZE

__all__ = ["Size", "file_options"]

F = TypeVar("F", bound=Callable[..., Any])

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
}


class Size(click.ParamType[int, str | int]):
    """A byte count such as ``1048576``, ``500K``, ``2MB`` or ``1MiB``."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", str(value))
        unit = match.group(2).lower() if match else ""
        if match is None or unit not in _UNITS:
            self.fail(f"{value!r} is not a size (examples: 1048576, 500K, 2MB, 1MiB)", param, ctx)
        return int(match.group(1)) * _UNITS[unit]


def file_options(function: F) -> F:
    """Discovery, parallelism and review options (in the order --help shows them)."""
    decorators = [
        click.option("--dry-run", is_flag=True, help="Print a unified diff and write nothing."),
        click.option(
            "--check", is_flag=True, help="Write nothing; exit 1 if any file would change."
        ),
        click.option(
            "-j",
            "--jobs",
            type=click.IntRange(min=1),
            default=default_jobs(),
            show_default="number of CPUs",
            help="Worker processes for parsing and collecting.",
        ),
        click.option(
            "--exclude",
            metavar="GLOB",
            multiple=True,
            help="Skip paths matching this .gitignore-style pattern (repeatable).",
        ),
        click.option(
            "--include-tests", is_flag=True, help="Also process test files and test folders."
        ),
        click.option(
            "--include-generated", is_flag=True, help="Also process files marked @generated."
        ),
        click.option("--no-gitignore", is_flag=True, help="Do not honour .gitignore files."),
        click.option(
            "--max-file-size",
            type=Size(),
            default=DEFAULT_MAX_FILE_SIZE,
            show_default="1MiB",
            help="Skip larger files.",
        ),
        click.option(
            "-v", "--verbose", is_flag=True, help="Also list constructs left alone, per file."
        ),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function
