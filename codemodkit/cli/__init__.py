"""The ``codemod`` command line: click commands only (flags -> options -> pipeline -> print)."""

from __future__ import annotations

import importlib

import click

from codemodkit import __version__

__all__ = ["main"]

#: command name -> the module that defines it (as a function of the same name)
COMMANDS = {
    "telemetry": "codemodkit.cli.telemetry",
    "tsfix": "codemodkit.cli.tsfix",
    "cache": "codemodkit.cli.cache",
    "config": "codemodkit.cli.config",
    "doctor": "codemodkit.cli.doctor",
}


class LazyGroup(click.Group):
    """Imports a command's module only when that command runs (or help lists it):
    ``codemod telemetry`` never loads tsfix's or doctor's dependencies, which saves a
    large part of the start-up time (see benchmarks/RESULTS.md)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        command = getattr(importlib.import_module(module), cmd_name)
        assert isinstance(command, click.Command)
        return command


EPILOG = """\b
Examples:
  codemod telemetry --dry-run ./project     review the diff, write nothing
  codemod telemetry ./project               instrument the project in place
  codemod telemetry --check src/            exit 1 if anything would change
  codemod telemetry --remove ./project      take the instrumentation out again
  codemod tsfix --dry-run                   fix the TypeScript project's errors (diff only)
  codemod cache stats                       where the answer cache is and its size
  codemod config show                       the effective configuration and its sources
  codemod doctor                            check models, keys, GPU, cache, node, typescript

Exit status: 0 success, 1 changes pending (--check), files written
(--exit-non-zero-on-change, as pre-commit hooks do) or a file failed,
2 usage or internal error.
"""


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.version_option(__version__, "-V", "--version", prog_name="codemod")
def main() -> None:
    """Rewrite source code in bulk, with or without a language model.

    Every command works offline with the built-in deterministic provider.
    """
