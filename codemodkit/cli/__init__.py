"""The ``codemod`` command line: click commands only (flags -> options -> pipeline -> print)."""

from __future__ import annotations

import click

from codemodkit import __version__

from .cache import cache
from .config import config
from .doctor import doctor
from .telemetry import telemetry
from .tsfix import tsfix

__all__ = ["main"]

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


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.version_option(__version__, "-V", "--version", prog_name="codemod")
def main() -> None:
    """Rewrite source code in bulk, with or without a language model.

    Every command works offline with the built-in deterministic provider.
    """


main.add_command(telemetry)
main.add_command(tsfix)
main.add_command(cache)
main.add_command(config)
main.add_command(doctor)
