"""The run summary: counts by status, skip reasons, constructs, and one line per problem."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rich.console import Console
from rich.text import Text

from codemodkit.discovery import Problem
from codemodkit.runner import FileResult

__all__ = ["Summary"]


@dataclass
class Summary:
    command: str
    statuses: Counter[str] = field(default_factory=Counter)
    skip_reasons: Counter[str] = field(default_factory=Counter)
    constructs: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    fallbacks: int = 0
    support: Counter[str] = field(default_factory=Counter)
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

    @property
    def failed(self) -> int:
        return self.statuses["failed"]

    def print(self, console: Console, seconds: float, verb: str, constructs_label: str) -> None:
        style = {"failed": "red", "skipped": "yellow", "warning": "yellow"}
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
            requests = (
                f"; {self.requests} requests, {self.fallbacks} fallbacks (provider: template)"
                if self.requests
                else ""
            )
            console.print(
                f"{constructs_label}: {kinds}{requests}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
        for action, count in sorted(self.support.items()):
            console.print(f"helper files: {count} {action}", highlight=False, markup=False)


def _reason_key(reason: str) -> str:
    """Group reasons such as 'larger than --max-file-size (2000 > 1000 bytes)'."""
    return reason.split(" (", 1)[0]
