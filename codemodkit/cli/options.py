"""Options shared by the file-rewriting commands."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from codemodkit.gitstate import is_revision
from codemodkit.runner import default_jobs
from codemodkit.sourcefile import DEFAULT_MAX_FILE_SIZE

__all__ = [
    "ONLY_CHANGED",
    "Size",
    "check_review",
    "exit_on_change_option",
    "file_options",
    "model_options",
    "only_changed_paths",
    "review_options",
]

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


#: pre-commit's convention: a hook that changed files fails, so the user reviews and stages them
exit_on_change_option = click.option(
    "--exit-non-zero-on-change",
    "exit_on_change",
    is_flag=True,
    help="Exit 1 when files were written (for pre-commit hooks).",
)


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


def model_options(function: F) -> F:
    """Which models answer, how fast, and what is cached (in --help order)."""
    decorators = [
        click.option(
            "--provider",
            type=click.Choice(["template", "ollama", "openai", "anthropic"]),
            default=None,
            help="Who writes each snippet (default: tier 1 of the configuration, else "
            "'template', the built-in deterministic provider).",
        ),
        click.option("--model", metavar="NAME", help="The model of tier 1."),
        click.option(
            "--endpoint",
            "endpoints",
            metavar="URL",
            multiple=True,
            help="A server for tier 1's model (repeatable: requests are spread over them).",
        ),
        click.option(
            "--api-key",
            metavar="KEY",
            envvar=None,
            help="API key for --provider (default: OPENAI_API_KEY, ANTHROPIC_API_KEY or "
            "OLLAMA_API_KEY from the environment or .env). Never printed.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            help="Seconds before one model call is abandoned (and retried).  [default: 120]",
        ),
        click.option(
            "--max-parallel",
            type=click.IntRange(min=1),
            help="Most requests in flight per endpoint (default: from VRAM or the model).",
        ),
        click.option("--no-parallel", is_flag=True, help="One request at a time."),
        click.option("--rpm", type=click.IntRange(min=1), help="Requests per minute, at most."),
        click.option("--tpm", type=click.IntRange(min=1), help="Tokens per minute, at most."),
        click.option(
            "--server-slots",
            type=click.IntRange(min=1),
            help="Requests an Ollama server runs at once (its OLLAMA_NUM_PARALLEL).",
        ),
        click.option(
            "--cloud-fallback",
            is_flag=True,
            help="Retry a local model's failures on the cloud model of its tier.",
        ),
        click.option(
            "--max-attempts",
            type=click.IntRange(min=1, max=10),
            help="Answers asked for per construct before the template is used.  [default: 3]",
        ),
        click.option(
            "--cache-dir",
            type=click.Path(path_type=Path, file_okay=False),
            help="Where model answers are cached (default: the user cache folder).",
        ),
        click.option("--no-cache", is_flag=True, help="Neither read nor write cached answers."),
        click.option(
            "--report",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Write a JSON report: every change's provenance and per-endpoint stats.",
        ),
        click.option("--rate-window", type=float, default=60.0, hidden=True),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


ONLY_CHANGED = click.option(
    "--only-changed",
    metavar="[REV]",
    is_flag=False,
    flag_value="HEAD",
    default=None,
    help="Only files and functions changed since REV (default HEAD: staged and "
    "unstaged changes), and untracked files.",
)


def review_options(function: F) -> F:
    """What gets written: the interactive review, git awareness."""
    decorators = [
        click.option(
            "-i",
            "--interactive",
            is_flag=True,
            help="Show each change (per function or construct) and ask which to write.",
        ),
        ONLY_CHANGED,
        click.option(
            "--force",
            is_flag=True,
            help="Also write files whose working copy has unstaged changes (or is untracked).",
        ),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def check_review(interactive: bool, dry_run: bool, check: bool) -> None:
    """--interactive needs someone at a terminal to answer, and something to write."""
    if not interactive:
        return
    if dry_run or check:
        raise click.UsageError(
            "--interactive cannot be combined with --dry-run or --check",
            click.get_current_context(),
        )
    if not sys.stdin.isatty():
        click.echo(
            "codemod: --interactive needs a terminal to answer on (stdin is not a TTY); "
            "use --dry-run to see the changes instead",
            err=True,
        )
        sys.exit(2)


def only_changed_paths(
    only_changed: str | None, paths: tuple[str, ...], required: bool = True
) -> tuple[str | None, tuple[str, ...]]:
    """``--only-changed`` takes an optional REV, so in ``--only-changed ./src`` click reads
    the path as REV: an existing path that is not a revision is a path after all."""
    if only_changed is not None and only_changed != "HEAD" and Path(only_changed).exists():
        where = Path(only_changed)
        if not is_revision(where if where.is_dir() else where.parent, only_changed):
            return "HEAD", (only_changed, *paths)
    if required and not paths:
        raise click.UsageError("Missing argument 'PATHS...'.", click.get_current_context())
    return only_changed, paths
