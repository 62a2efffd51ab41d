"""The run summary: counts by status, skip reasons, constructs, and one line per problem."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rich.console import Console
from rich.text import Text

from codemodkit.discovery import Problem
from codemodkit.llm.stats import Stats
from codemodkit.runner import FileResult

__all__ = ["Summary", "print_stats"]


@dataclass
class Summary:
    command: str
    statuses: Counter[str] = field(default_factory=Counter)
    skip_reasons: Counter[str] = field(default_factory=Counter)
    constructs: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    fallbacks: int = 0
    support: Counter[str] = field(default_factory=Counter)
    #: (action, path) of each helper file written, named so the user stages it
    support_files: list[tuple[str, str]] = field(default_factory=list)
    #: model traffic: calls, cache hits, retries, tokens (None: template only)
    models: dict[str, int] | None = None
    accepted: int = 0
    #: why model answers could not be used, other than a judge's rejection
    model_errors: Counter[str] = field(default_factory=Counter)
    #: (kind, "path: reason") lines, in the order they happened
    lines: list[tuple[str, str]] = field(default_factory=list)

    def add_problem(self, problem: Problem) -> None:
        if problem.failed:
            self.statuses["failed"] += 1
            self.lines.append(("failed", f"{problem.display}: {problem.reason}"))
        else:
            self.statuses["skipped"] += 1
            self.skip_reasons[_reason_key(problem.reason)] += 1
            self.lines.append(("skipped", f"{problem.display}: {problem.reason}"))

    def add_skips(self, reasons: dict[str, int]) -> None:
        for reason, count in reasons.items():
            self.statuses["skipped"] += count
            self.skip_reasons[reason] += count

    def add(self, result: FileResult) -> None:
        self.statuses[result.status] += 1
        self.requests += result.requests
        self.fallbacks += result.fallbacks
        for change in result.changes:
            if change.strategy == "model":
                self.accepted += 1
            elif change.provider != "template" and not change.validation.startswith("rejected"):
                where = f"{change.provider} {change.model} at {change.endpoint or 'no endpoint'}"
                self.model_errors[f"{where}: {change.validation}"] += 1
        if result.status in ("changed", "unchanged"):
            self.constructs.update(result.counts)
        if result.status == "failed":
            self.lines.append(("failed", f"{result.display}: {result.reason}"))
        elif result.status == "skipped":
            self.skip_reasons[_reason_key(result.reason)] += 1
            if result.reason != "generated file":
                self.lines.append(("skipped", f"{result.display}: {result.reason}"))
        for warning in result.warnings:
            self.lines.append(("warning", f"{result.display}: {warning}"))

    def add_model_stats(self, stats: Stats) -> None:
        self.models = {
            name: stats.total(name)
            for name in ("requests", "failures", "retries", "cache_hits", "tokens_in", "tokens_out")
        }

    @property
    def failed(self) -> int:
        return self.statuses["failed"]

    def print(self, console: Console, seconds: float, verb: str, constructs_label: str) -> None:
        style = {"failed": "red", "skipped": "yellow", "warning": "yellow"}
        for error, count in self.model_errors.most_common():
            self.lines.append(("warning", f"{count} request(s) fell back to the template: {error}"))
        for kind, line in self.lines:
            console.print(
                Text.assemble((kind, style[kind]), ": ", line), highlight=False, soft_wrap=True
            )
        s = self.statuses
        parts = [f"{s['changed']} {verb}", f"{s['unchanged']} unchanged"]
        skipped = f"{s['skipped']} skipped"
        if self.skip_reasons:
            detail = ", ".join(f"{n} {r}" for r, n in self.skip_reasons.most_common())
            skipped += f" ({detail})"
        parts.append(skipped)
        parts.append(f"{s['failed']} failed")
        console.print(
            f"{self.command}: " + ", ".join(parts) + f" in {seconds:.2f}s",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        if self.constructs:
            kinds = ", ".join(
                f"{self.constructs[k]} {k}{'s' if self.constructs[k] != 1 else ''}"
                for k in ("function", "loop", "variable")
                if k in self.constructs
            )
            provider = "models" if self.models is not None else "provider: template"
            requests = (
                f"; {self.requests} requests, {self.fallbacks} fallbacks ({provider})"
                if self.requests
                else ""
            )
            console.print(
                f"{constructs_label}: {kinds}{requests}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
        if self.models is not None:
            m = self.models
            console.print(
                f"models: {self.accepted} answers accepted, {m['cache_hits']} from the cache, "
                f"{m['requests']} HTTP requests ({m['retries']} retries, {m['failures']} failed), "
                f"tokens {m['tokens_in']} in / {m['tokens_out']} out",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
        for action, count in sorted(self.support.items()):
            console.print(f"helper files: {count} {action}", highlight=False, markup=False)
        for action, path in self.support_files:
            console.print(
                f"{_DONE[action]} {path}: stage it with your change (git add)"
                if action != "delete"
                else f"deleted {path}: stage the deletion with your change (git add)",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )


_DONE = {"create": "created", "update": "updated", "delete": "deleted"}


def _reason_key(reason: str) -> str:
    """Group reasons such as 'larger than --max-file-size (2000 > 1000 bytes)'."""
    return reason.split(" (", 1)[0]


def print_stats(console: Console, stats: Stats) -> None:
    """One line per model and endpoint (``-v``): requests, outcomes, retries, cache
    hits, tokens, latency percentiles."""
    for row in stats.rows():
        if row.endpoint == "cache":
            line = f"  {row.provider} {row.model} cache: {row.cache_hits} hits"
        else:
            p50, p95 = row.percentile(0.5), row.percentile(0.95)
            latency = "" if p50 is None or p95 is None else f", p50 {p50:.0f} ms, p95 {p95:.0f} ms"
            line = (
                f"  {row.provider} {row.model} at {row.endpoint}: {row.requests} requests "
                f"({row.successes} ok, {row.failures} failed, {row.retries} retries, "
                f"{row.rate_limited} rate-limited), tokens {row.tokens_in} in / "
                f"{row.tokens_out} out{latency}"
            )
        console.print(line, highlight=False, markup=False, soft_wrap=True)
