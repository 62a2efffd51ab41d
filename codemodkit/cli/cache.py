"""``codemod cache stats`` and ``codemod cache clear``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from codemodkit.cache import CacheError, cache_stats, clear_cache, default_cache_dir

from .errors import guarded

__all__ = ["cache"]

EXIT_CACHE_ERROR = 1

EPILOG = """\b
Examples:
  codemod cache stats                         where the cache is, entries, size
  codemod cache clear                         remove every cached answer
  codemod cache stats --cache-dir ./.cache    inspect another cache folder

\b
Model answers are cached so that a rerun with nothing changed makes no model call.
The key covers the provider, model, messages, parameters and prompt-template
version; endpoints and API keys are never part of it and never stored. The cache
lives in $CODEMOD_CACHE_DIR if set, else in the user cache folder.
Exit status: 0 success, 1 the cache folder cannot be used.
"""

cache_dir_option = click.option(
    "--cache-dir",
    type=click.Path(path_type=Path),
    default=None,
    show_default="$CODEMOD_CACHE_DIR or the user cache folder",
    help="The cache folder to use.",
)


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
@guarded
def stats(cache_dir: Path | None) -> None:
    """Show where the cache is, its number of entries and its size."""
    directory = cache_dir if cache_dir is not None else default_cache_dir()
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
@guarded
def clear(cache_dir: Path | None) -> None:
    """Remove every cached answer; the next run asks the models again."""
    directory = cache_dir if cache_dir is not None else default_cache_dir()
    try:
        removed = clear_cache(directory)
    except CacheError as error:
        _fail("clear", error)
    noun = "entry" if removed == 1 else "entries"
    click.echo(f"removed {removed} {noun} from {directory}")
