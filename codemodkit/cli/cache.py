"""``codemod cache stats`` and ``codemod cache clear``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from codemodkit.cache import CacheError, cache_stats, clear_cache
from codemodkit.llm.effective import resolve
from codemodkit.llm.setup import ModelFlags

from .errors import guarded

__all__ = ["cache"]

EXIT_CACHE_ERROR = 1

EPILOG = """\b
Examples:
  codemod cache stats                         where the cache is, entries, size
  codemod cache clear                         remove every cached answer
  codemod cache stats --cache-dir ./.cache    inspect another cache folder
  codemod cache stats path/to/project         the cache that project's runs use

\b
Model answers are cached so that a rerun with nothing changed makes no model call.
The key covers the provider, model, messages, parameters and prompt-template
version; endpoints and API keys are never part of it and never stored. The cache is
the folder a run on PATH (default: the current folder) would use: --cache-dir, else
CODEMOD_CACHE_DIR (environment or .env), else cache_dir in the configuration file,
else the user cache folder.
Exit status: 0 success, 1 the cache folder cannot be used, 2 invalid configuration.
"""

cache_dir_option = click.option(
    "--cache-dir",
    type=click.Path(path_type=Path),
    default=None,
    show_default="CODEMOD_CACHE_DIR, the configuration's cache_dir or the user cache folder",
    help="The cache folder to use.",
)
path_argument = click.argument(
    "path", required=False, default=".", type=click.Path(path_type=Path, exists=True)
)


def _folder(path: Path, cache_dir: Path | None) -> Path:
    """The cache folder a run on ``path`` would use (every layer applied)."""
    return resolve(path, ModelFlags(cache_dir=cache_dir)).cache_dir


def human_size(size: int) -> str:
    """``512 B``, ``36.0 KiB``, ``1.5 GiB``: binary units, like ``du -h``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _fail(command: str, error: CacheError) -> NoReturn:
    click.echo(f"codemod cache {command}: {error}", err=True)
    sys.exit(EXIT_CACHE_ERROR)


@click.group(epilog=EPILOG)
def cache() -> None:
    """Inspect or empty the cache of model answers."""


@cache.command(epilog=EPILOG)
@cache_dir_option
@path_argument
@guarded
def stats(cache_dir: Path | None, path: Path) -> None:
    """Show where the cache is, its number of entries and its size."""
    directory = _folder(path, cache_dir)
    try:
        result = cache_stats(directory)
    except CacheError as error:
        _fail("stats", error)
    missing = "" if directory.is_dir() else " (not created yet)"
    click.echo(f"location: {result.directory}{missing}")
    click.echo(f"entries:  {result.entries}")
    click.echo(f"size:     {human_size(result.size_bytes)}")


@cache.command(epilog=EPILOG)
@cache_dir_option
@path_argument
@guarded
def clear(cache_dir: Path | None, path: Path) -> None:
    """Remove every cached answer; the next run asks the models again."""
    directory = _folder(path, cache_dir)
    try:
        removed = clear_cache(directory)
    except CacheError as error:
        _fail("clear", error)
    noun = "entry" if removed == 1 else "entries"
    click.echo(f"removed {removed} {noun} from {directory}")
