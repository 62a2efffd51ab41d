"""``codemod doctor``: is everything a run needs there, and what to do about what is not."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel
from rich.table import Table
from rich.text import Text

from codemodkit import __version__
from codemodkit.doctor import run_checks
from codemodkit.llm.effective import resolve
from codemodkit.llm.secrets import redact
from codemodkit.sourcefile import atomic_write

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


class DoctorCheck(BaseModel):
    name: str
    ok: bool
    result: str
    fix: str
    needed: bool


class DoctorReport(BaseModel):
    """Schema of ``codemod doctor --report FILE.json`` (secrets redacted)."""

    tool: str = "codemodkit"
    version: str = __version__
    command: str = "codemod doctor"
    ok: bool
    checks: list[DoctorCheck]


@click.command(epilog=EPILOG)
@click.argument("path", required=False, default=".", type=click.Path(path_type=Path))
@layer_options
@click.option(
    "--report",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the checks as JSON (schema: codemodkit.cli.doctor.DoctorReport).",
)
@guarded
def doctor(path: Path, report: Path | None, **flags: Any) -> None:
    """Check models, keys, GPU, cache, Node and TypeScript; say how to fix each failure."""
    effective = resolve(path, layer_flags(**flags))
    checks = run_checks(effective)
    if report is not None:
        rows = [
            DoctorCheck(
                name=redact(c.name), ok=c.ok, result=redact(c.result), fix=c.fix, needed=c.needed
            )
            for c in checks
        ]
        ok = all(c.ok or not c.needed for c in checks)
        document = DoctorReport(ok=ok, checks=rows).model_dump_json(indent=2) + "\n"
        atomic_write(report, document.encode("utf-8"))
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
