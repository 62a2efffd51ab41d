"""The table a tsfix run ends with, and its ``--report`` JSON."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from rich.console import Console
from rich.table import Table

from codemodkit import __version__
from codemodkit.llm.stats import Stats
from codemodkit.output.report import EndpointEntry, Provenance
from codemodkit.sourcefile import atomic_write

from .engine import TsfixResult, relative
from .types import Diagnostic

__all__ = ["TsfixReport", "build_report", "location", "print_summary"]


def location(d: Diagnostic, root: Path) -> str:
    if d.file is None:
        return "(project)"
    name = relative(d.file, root)
    return f"{name}:{d.line}:{d.column}" if d.line is not None else name


def print_summary(
    console: Console,
    result: TsfixResult,
    root: Path,
    *,
    cache_hits: int,
    written: int,
    pending: int,
) -> None:
    table = Table(title="codemod tsfix", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("errors before", str(len(result.before)))
    for tier in range(4):
        label = "fixed by tier 0 (TypeScript)" if tier == 0 else f"fixed by tier {tier}"
        table.add_row(label, str(result.fixed_by_tier.get(tier, 0)))
    table.add_row("errors left", str(len(result.after)))
    table.add_row("rounds", str(result.rounds))
    table.add_row("model requests", str(result.requests))
    table.add_row("cache hits", str(cache_hits))
    table.add_row("files changed", str(written if written else pending))
    table.add_row("time", f"{result.seconds:.1f}s")
    console.print(table)
    if result.after:
        console.print("errors left:", markup=False)
        for d in result.after[:50]:
            first = d.message.splitlines()[0] if d.message else ""
            console.print(f"  {location(d, root)}: TS{d.code} {first}", markup=False)
        if len(result.after) > 50:
            console.print(f"  ... and {len(result.after) - 50} more", markup=False)


class FixEntry(Provenance):
    file: str
    span: tuple[int, int]
    line: int
    #: the function or statement rewritten, or TypeScript's description of its fix
    construct_name: str = Field(serialization_alias="construct")
    codes: list[int]
    errors_fixed: int
    strategy: Literal["typescript", "model"]
    fix_name: str


class LeftEntry(BaseModel):
    location: str
    code: int
    message: str


class TsfixReport(BaseModel):
    """Schema of ``codemod tsfix --report FILE.json``."""

    tool: str = "codemodkit"
    version: str = __version__
    command: str = "codemod tsfix"
    errors_before: int
    errors_after: int
    fixed_by_tier: dict[str, int]
    rounds: int
    requests: int
    fixes: list[FixEntry]
    left: list[LeftEntry]
    rejected: list[str]
    endpoints: list[EndpointEntry]


def build_report(result: TsfixResult, root: Path, stats: Stats | None) -> TsfixReport:
    by_tier: Counter[int] = result.fixed_by_tier
    return TsfixReport(
        errors_before=len(result.before),
        errors_after=len(result.after),
        fixed_by_tier={str(t): by_tier.get(t, 0) for t in range(4)},
        rounds=result.rounds,
        requests=result.requests,
        fixes=[
            FixEntry(
                file=relative(f.file, root),
                span=f.span,
                line=f.line,
                construct_name=f.construct,
                codes=list(f.codes),
                errors_fixed=f.fixed,
                strategy=f.strategy,
                fix_name=f.fix_name,
                provider=f.provider,
                model=f.model,
                tier=f.tier,
                endpoint=f.endpoint,
                attempts=f.attempts,
                retries=f.retries,
                tokens_in=f.tokens_in,
                tokens_out=f.tokens_out,
                latency_ms=f.latency_ms,
                cached=f.cached,
                validation="accepted",
            )
            for f in result.fixes
        ],
        left=[
            LeftEntry(location=location(d, root), code=d.code, message=d.message)
            for d in result.after
        ],
        rejected=list(result.rejected),
        endpoints=[
            EndpointEntry.model_validate(row.as_dict())
            for row in (stats.rows() if stats is not None else ())
        ],
    )


def write_report(path: Path, report: TsfixReport) -> None:
    atomic_write(path, (report.model_dump_json(indent=2, by_alias=True) + "\n").encode("utf-8"))
