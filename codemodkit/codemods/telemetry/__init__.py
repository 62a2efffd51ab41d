"""``codemod telemetry``: inject entry/exit/duration/error, loop and variable telemetry."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from codemodkit.codemods.base import (
    Codemod,
    EditRequest,
    FileContext,
    FileOutcome,
    Prepared,
    Verdict,
)
from codemodkit.llm.base import Prompt
from codemodkit.sourcefile import DecodedSource

from .js.codemod import JsTelemetry
from .python.placement import helper_users
from .python.sites import HELPER_ALIAS, HELPER_MODULE

__all__ = ["TelemetryCodemod", "helper_in_use"]


_JS_SUFFIXES = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx")


def _js_helper_users(helper: Path) -> list[Path]:
    """JavaScript/TypeScript files that may import ``helper``: the files below its
    folder (imports of it are relative and go up, never down)."""
    found = []
    for path in helper.parent.rglob("*"):
        if "node_modules" in path.parts or not path.name.endswith(_JS_SUFFIXES):
            continue
        if path.name.split(".", 1)[0] != HELPER_MODULE and path.is_file():
            found.append(path)
    return found


def helper_in_use(helper: Path, known: Mapping[Path, bool]) -> bool:
    """Does any file the helper serves still need it? ``known`` has this run's verdicts."""
    marker = HELPER_ALIAS.encode()
    users = helper_users(helper) if helper.suffix == ".py" else _js_helper_users(helper)
    for user in users:
        if user in known:
            if known[user]:
                return True
            continue
        try:
            if marker in user.read_bytes():
                return True
        except OSError:
            continue
    return False


class TelemetryCodemod:
    """Dispatches to the implementation for each file's language."""

    name = "telemetry"

    languages = frozenset({"python", "javascript", "typescript"})

    def __init__(self, remove: bool = False, include_generated: bool = False) -> None:
        self.remove = remove
        self.include_generated = include_generated
        js = JsTelemetry(remove=remove, include_generated=include_generated)
        self.by_language: dict[str, Codemod] = {"javascript": js, "typescript": js}

    def _for(self, language: str) -> Codemod:
        codemod = self.by_language.get(language)
        if codemod is None and language == "python":
            # libcst takes about a third of the command's start-up: a run without
            # Python files never imports it (a worker process imports it on demand).
            from .python.codemod import PythonTelemetry

            codemod = PythonTelemetry(remove=self.remove, include_generated=self.include_generated)
            self.by_language[language] = codemod
        if codemod is None:
            raise KeyError(language)
        return codemod

    def prepare(self, context: FileContext, source: DecodedSource) -> Prepared | FileOutcome:
        return self._for(context.language).prepare(context, source)

    def prompt(self, request: EditRequest) -> Prompt:
        return self._for(request.language).prompt(request)

    def judge(self, request: EditRequest, answer: str) -> Verdict:
        return self._for(request.language).judge(request, answer)

    def finish(self, prepared: Prepared, answers: Mapping[str, str]) -> FileOutcome:
        return self._for(prepared.context.language).finish(prepared, answers)
