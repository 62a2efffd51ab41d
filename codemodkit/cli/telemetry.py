"""``codemod telemetry``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from codemodkit.codemods.telemetry import TelemetryCodemod, helper_in_use
from codemodkit.config import load_config
from codemodkit.discovery import DiscoveryOptions
from codemodkit.llm.setup import ModelFlags, build_manager
from codemodkit.runner import RunOptions
from codemodkit.session import Session, SessionOptions

from .errors import guarded
from .options import (
    check_review,
    exit_on_change_option,
    file_options,
    model_options,
    only_changed_paths,
    review_options,
)

EPILOG = """\b
Examples:
  codemod telemetry --dry-run ./project     show what would change
  codemod telemetry ./project               instrument in place
  codemod telemetry --check ./project       exit 1 if not fully instrumented
  codemod telemetry --remove ./project      restore the original source
  codemod telemetry -i ./project            choose, function by function, what is written
  codemod telemetry --only-changed .        only functions changed since HEAD
  codemod telemetry --provider ollama --model qwen2.5-coder:7b ./project
                                            let a local model choose what to record

\b
Instrumented code calls a helper, _telemetry_utils.py (or .js/.ts for JavaScript
and TypeScript), that the tool writes into the project (the README says where).
At run time it reports to OpenTelemetry when the application has registered a
tracer provider, and otherwise appends JSON lines
to $CODEMOD_TELEMETRY_FILE (default ./telemetry.jsonl); CODEMOD_TELEMETRY=0 turns
it off. A second run changes nothing.
"""


@click.command(epilog=EPILOG)
@click.argument("paths", nargs=-1, metavar="PATHS...", type=click.Path(path_type=str))
@file_options
@click.option(
    "--remove", is_flag=True, help="Remove the instrumentation, restoring the original source."
)
@exit_on_change_option
@review_options
@model_options
@guarded
def telemetry(
    paths: tuple[str, ...],
    dry_run: bool,
    check: bool,
    jobs: int,
    exclude: tuple[str, ...],
    include_tests: bool,
    include_generated: bool,
    no_gitignore: bool,
    max_file_size: int,
    verbose: bool,
    remove: bool,
    exit_on_change: bool,
    interactive: bool,
    only_changed: str | None,
    force: bool,
    report: Path | None,
    cache_dir: Path | None,
    **model: Any,
) -> None:
    """Instrument functions, loops and notable variables with telemetry.

    Python, JavaScript and TypeScript (.py .js .mjs .cjs .jsx .ts .mts .cts .tsx).

    PATHS are files or folders. Folders are searched recursively, honouring
    .gitignore and skipping tests, virtualenvs, build output and generated files.
    """
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    only_changed, paths = only_changed_paths(only_changed, paths)
    check_review(interactive, dry_run, check)
    start = Path(paths[0])
    loaded = load_config(start)
    # the configuration's defaults, under the flags
    settings = loaded.config.telemetry
    include_tests = include_tests or settings.include_tests
    include_generated = include_generated or settings.include_generated
    exclude = (*loaded.config.exclude, *exclude)
    codemod = TelemetryCodemod(remove=remove, include_generated=include_generated)
    flags = ModelFlags(cache_dir=cache_dir, **model)
    if remove:  # removal needs no answers
        flags = ModelFlags(provider="template")
    manager = build_manager(
        loaded.config,
        flags,
        start=start if start.is_dir() else start.parent,
        say=(lambda line: err.print(line, markup=False)) if verbose else (lambda line: None),
        warn=lambda line: err.print(f"warning: {line}", markup=False),
    )
    options = SessionOptions(
        command="codemod telemetry",
        dry_run=dry_run,
        check=check,
        verbose=verbose,
        run=RunOptions(
            jobs=jobs,
            max_file_size=max_file_size,
            diff=dry_run,
            keep_output=not (dry_run or check),
            records=report is not None or interactive or only_changed is not None,
            keep_texts=interactive or only_changed is not None,
        ),
        discovery=DiscoveryOptions(
            languages=codemod.languages,
            exclude=exclude,
            include_tests=include_tests,
            respect_gitignore=not no_gitignore,
        ),
        verb="would change" if (dry_run or check) else ("restored" if remove else "instrumented"),
        constructs_label="removed" if remove else "constructs",
        report=report,
        exit_on_change=exit_on_change,
        interactive=interactive,
        only_changed=only_changed,
        force=force,
    )
    try:
        session = Session(codemod, options, err=err, manager=manager)
        status = session.execute(paths, in_use=helper_in_use if remove else None)
    finally:
        manager.close()
    sys.exit(status)
