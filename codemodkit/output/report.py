"""``--report FILE.json``: every change's provenance, totals and per-endpoint stats.

The schema is the pydantic model ``Report`` (``Report.model_json_schema()`` prints
it); the file never contains an API key (keys are not part of any record).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from codemodkit import __version__
from codemodkit.llm.stats import Stats
from codemodkit.runner import ChangeRecord, FileResult
from codemodkit.sourcefile import atomic_write

__all__ = ["EndpointEntry", "Provenance", "Report", "build_report", "write_report"]


class Provenance(BaseModel):
    """Who wrote a change and how it went (shared by every command's report)."""

    provider: str
    model: str | None
    tier: int
    endpoint: str | None
    attempts: int
    retries: int
    tokens_in: int
    tokens_out: int
    latency_ms: float
    cached: bool
    validation: str


class Change(Provenance):
    request_id: str
    kind: str
    line: int
    span: tuple[int, int]
    strategy: Literal["template", "model"]


class FileEntry(BaseModel):
    path: str
    status: str
    reason: str = ""
    changes: list[Change]


class EndpointEntry(BaseModel):
    provider: str
    model: str
    endpoint: str
    requests: int
    successes: int
    failures: int
    retries: int
    cache_hits: int
    rate_limited: int
    tokens_in: int
    tokens_out: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None


class Totals(BaseModel):
    files: dict[str, int]
    requests: int
    from_models: int
    from_cache: int
    fallbacks: int
    retries: int
    tokens_in: int
    tokens_out: int


class Report(BaseModel):
    tool: str = "codemodkit"
    version: str = __version__
    command: str
    seconds: float
    totals: Totals
    endpoints: list[EndpointEntry]
    files: list[FileEntry]


def _change(record: ChangeRecord) -> Change:
    return Change.model_validate(record, from_attributes=True)


def build_report(
    command: str, seconds: float, results: list[FileResult], stats: Stats | None
) -> Report:
    changes = [c for r in results for c in r.changes]
    statuses: dict[str, int] = {}
    for result in results:
        statuses[result.status] = statuses.get(result.status, 0) + 1
    return Report(
        command=command,
        seconds=round(seconds, 3),
        totals=Totals(
            files=statuses,
            requests=sum(r.requests for r in results),
            from_models=sum(c.strategy == "model" for c in changes),
            from_cache=sum(c.cached for c in changes),
            fallbacks=sum(r.fallbacks for r in results),
            retries=sum(c.retries for c in changes),
            tokens_in=sum(c.tokens_in for c in changes),
            tokens_out=sum(c.tokens_out for c in changes),
        ),
        endpoints=[
            EndpointEntry.model_validate(row.as_dict()) for row in (stats.rows() if stats else ())
        ],
        files=[
            FileEntry(
                path=r.display,
                status=r.status,
                reason=r.reason,
                changes=[_change(c) for c in r.changes],
            )
            for r in results
        ],
    )


def write_report(path: Path, report: Report) -> None:
    atomic_write(path, (report.model_dump_json(indent=2) + "\n").encode("utf-8"))
