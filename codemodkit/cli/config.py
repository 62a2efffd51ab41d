"""``codemod config show``: the effective configuration and where each value came from."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from codemodkit.llm.effective import resolve
from codemodkit.llm.setup import PROVIDERS, ModelFlags

from .errors import guarded

__all__ = ["config", "layer_flags", "layer_options", "stdout_console"]

F = TypeVar("F", bound=Callable[..., Any])

EPILOG = """\b
Examples:
  codemod config show                       what a run in this folder would use
  codemod config show web/ --json           the same as JSON, for scripts
  codemod config show --provider ollama --model qwen2.5-coder:7b

\b
Layers, lowest first: defaults, [tool.codemod] in pyproject.toml or codemod.toml
(the nearest at or above PATH), .env (the nearest at or above PATH), the
environment (LLM_PROVIDER, LLM_MODEL, LLM_BASE_URL, CODEMOD_CACHE_DIR and the
API key variables), then flags. API keys are never printed, only where they are set.
"""


def layer_options(function: F) -> F:
    """The flags that take part in the configuration's layers (as the commands accept them)."""
    decorators = [
        click.option(
            "--provider", type=click.Choice(PROVIDERS), default=None, help="Tier 1's provider."
        ),
        click.option("--model", metavar="NAME", help="Tier 1's model."),
        click.option(
            "--endpoint",
            "endpoints",
            metavar="URL",
            multiple=True,
            help="Tier 1's server (repeatable).",
        ),
        click.option("--api-key", metavar="KEY", help="API key for --provider. Never printed."),
        click.option(
            "--cache-dir",
            type=click.Path(path_type=Path, file_okay=False),
            help="The answer cache's folder.",
        ),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def layer_flags(**flags: Any) -> ModelFlags:
    return ModelFlags(
        provider=flags["provider"],
        model=flags["model"],
        endpoints=tuple(flags["endpoints"]),
        api_key=flags["api_key"],
        cache_dir=flags["cache_dir"],
    )


def stdout_console() -> Console:
    """A console for tables: wrapped to the terminal, one row per line into a pipe."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else 1000)


@click.group(epilog=EPILOG)
def config() -> None:
    """Show the configuration a run would use."""


@config.command(epilog=EPILOG)
@click.argument("path", required=False, default=".", type=click.Path(path_type=Path))
@layer_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@guarded
def show(path: Path, as_json: bool, **flags: Any) -> None:
    """Print the effective configuration for PATH, with the source of every value."""
    effective = resolve(path, layer_flags(**flags))
    if as_json:
        click.echo(json.dumps(effective.as_json(), indent=2))
        return
    out = stdout_console()
    where = str(effective.file) if effective.file else "none found (defaults)"
    out.print(f"configuration file: {where}", markup=False)
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("key", "value", "source"):
        table.add_column(column, overflow="fold")
    for row in effective.rows():
        table.add_row(Text(row.key), Text(row.value), Text(row.source))
    out.print(table)
