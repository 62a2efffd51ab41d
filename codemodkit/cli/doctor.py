"""``codemod doctor``: is everything a run needs there, and what to do about what is not."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from codemodkit.doctor import run_checks
from codemodkit.llm.effective import resolve
from codemodkit.llm.secrets import redact

from .config import layer_flags, layer_options, stdout_console
from .errors import guarded

__all__ = ["doctor"]

EPILOG = """\b
Examples:
  codemod doctor                  check what a run in this folder would use
  codemod doctor web/             the same for the project in web/
  codemod doctor --provider ollama --model qwen2.5-coder:7b

\b
Checks every configured model's endpoints (reachable, key accepted, model
present), the GPU and its VRAM, the answer cache, and node and typescript
(needed only where a tsconfig.json is at or above PATH). Talks to each server
with one GET of its model list: no tokens are spent.
Exit status: 0 all needed checks pass, 1 something needed is missing,
2 the configuration is invalid.
"""


@click.command(epilog=EPILOG)
@click.argument("path", required=False, default=".", type=click.Path(path_type=Path))
@layer_options
@guarded
def doctor(path: Path, **flags: Any) -> None:
    """Check models, keys, GPU, cache, Node and TypeScript; say how to fix each failure."""
    effective = resolve(path, layer_flags(**flags))
    checks = run_checks(effective)
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("", "check", "result", "fix"):
        table.add_column(column, overflow="fold")
    for check in checks:
        mark = Text("✓", style="green") if check.ok else Text("✗", style="red")
        if not check.ok and not check.needed:
            mark = Text("✗", style="yellow")
        table.add_row(mark, Text(redact(check.name)), Text(redact(check.result)), Text(check.fix))
    out = stdout_console()
    out.print(table)
    failed = [c for c in checks if not c.ok and c.needed]
    if failed:
        noun = "check" if len(failed) == 1 else "checks"
        out.print(
            f"{len(failed)} needed {noun} failed; the fix column says what to do", markup=False
        )
        sys.exit(1)
    out.print("everything needed is in place", markup=False)
