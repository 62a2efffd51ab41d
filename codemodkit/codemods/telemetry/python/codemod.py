"""``codemod telemetry`` for Python files."""

from __future__ import annotations

import ast
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import libcst as cst

from codemodkit.codemods.base import (
    EditRequest,
    FileContext,
    FileOutcome,
    Prepared,
    SupportFile,
    Verdict,
)
from codemodkit.codemods.prompting import load_prompt
from codemodkit.edits import apply_edits, utf8_offsets
from codemodkit.llm.base import Prompt
from codemodkit.parsers.python import PyFacts, PythonParseError, parse_python
from codemodkit.sourcefile import DecodedSource

from .answers import ANSWER_SCHEMA, judge_answer, parse_answer
from .collect import collect, find_import_site
from .layout import layout
from .placement import Placement, PlacementResolver
from .sites import HELPER_MODULE, RESERVED_PREFIX, FunctionSite, ImportSite, LoopSite, Site
from .snippets import PySnippet, model_snippet, site_key, template_snippet
from .strip import has_instrumentation, strip

__all__ = ["PythonTelemetry", "helper_file", "instrument_text", "strip_text"]

GENERATED_MARKER = "@" + "generated"
PROMPT = load_prompt("codemodkit.codemods.telemetry.prompts", "python.v1.txt")
HELPER_MARKER = b"# codemod-telemetry-helper:"


def helper_file(path: Path) -> SupportFile:
    content = resources.files("codemodkit.codemods.telemetry.runtime").joinpath(
        f"{HELPER_MODULE}.py"
    )
    return SupportFile(path=path, content=content.read_bytes(), marker=HELPER_MARKER)


@dataclass(frozen=True)
class _State:
    facts: PyFacts
    sites: tuple[Site, ...]
    import_site: ImportSite
    placement: Placement


def _kind(site: Site) -> str:
    if isinstance(site, FunctionSite):
        return "function"
    if isinstance(site, LoopSite):
        return "loop"
    return "variable"


_IDENTIFIER_FIELDS = ("id", "arg", "name", "asname", "rest")


def _reserved_use(text: str) -> int | None:
    """Line of the first identifier the code binds or reads with the reserved prefix."""
    if RESERVED_PREFIX not in text:
        return None
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        names = [getattr(node, field, None) for field in _IDENTIFIER_FIELDS]
        names.extend(getattr(node, "names", None) or ())  # global/nonlocal
        if any(isinstance(n, str) and n.startswith(RESERVED_PREFIX) for n in names):
            return getattr(node, "lineno", 1)
    return None


def _still_compiles(new_text: str, old_text: str, filename: str) -> str | None:
    """None if ``new_text`` compiles, else the error.

    ``compile`` is both faster than ``ast.parse`` and stricter: it also rejects a
    ``return``, ``yield`` or ``await`` in the wrong place.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(new_text, filename, "exec", dont_inherit=True)
            return None
        except (SyntaxError, ValueError) as exc:
            error = f"line {getattr(exc, 'lineno', '?')}: {getattr(exc, 'msg', exc)}"
        try:
            compile(old_text, filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            # Syntax newer than this interpreter: fall back to libcst's grammar.
            try:
                cst.parse_module(new_text)
                return None
            except cst.ParserSyntaxError as exc:
                return f"line {exc.raw_line}: {exc.message}"
    return error


class PythonTelemetry:
    """Instruments (or, with ``remove``, un-instruments) Python files."""

    name = "telemetry"
    languages = frozenset({"python"})

    def __init__(self, remove: bool = False, include_generated: bool = False) -> None:
        self.remove = remove
        self.include_generated = include_generated
        self._resolver: PlacementResolver | None = None

    def __getstate__(self) -> dict[str, object]:
        return {
            "remove": self.remove,
            "include_generated": self.include_generated,
            "_resolver": None,
        }

    def placement(self, context: FileContext) -> Placement:
        if self._resolver is None:
            self._resolver = PlacementResolver()
        return self._resolver.placement(context.path, context.root)

    # -- prepare -------------------------------------------------------------------
    def prepare(self, context: FileContext, source: DecodedSource) -> Prepared | FileOutcome:
        text = source.text
        if not self.include_generated and GENERATED_MARKER in text:
            return FileOutcome("skipped", "generated file")
        try:
            parsed = parse_python(text)
        except PythonParseError as exc:
            return FileOutcome("failed", str(exc))
        removed = None
        if has_instrumentation(text):
            removed = strip(parsed)
            try:
                parsed = parse_python(removed.text)
            except PythonParseError as exc:
                return FileOutcome("failed", f"cannot remove the existing instrumentation: {exc}")
        line = _reserved_use(parsed.text)
        if line is not None:
            why = (
                "existing instrumentation was edited by hand"
                if removed is not None and removed.removed
                else f"uses the reserved prefix {RESERVED_PREFIX!r}"
            )
            return FileOutcome("failed", f"line {line}: {why}; rename it or exclude the file")
        placement = self.placement(context)
        if self.remove:
            counts = {
                "function": removed.functions if removed else 0,
                "loop": removed.loops if removed else 0,
                "variable": removed.variables if removed else 0,
            }
            return FileOutcome(
                "changed" if parsed.text != text else "unchanged",
                text=parsed.text,
                counts=counts,
                releases=(helper_file(placement.helper),),
            )
        plan = collect(parsed, placement.module, placement.relpath)
        sites = tuple(plan.sites())
        to_bytes = utf8_offsets(parsed.text)
        requests = [
            self._request(context, placement, parsed.text, site, to_bytes) for site in sites
        ]
        state = _State(
            facts=parsed.facts(),
            sites=sites,
            import_site=find_import_site(parsed, placement.dots),
            placement=placement,
        )
        notes = tuple(f"line {line}: {reason}" for line, reason in plan.skipped)
        return Prepared(context=context, source=source, requests=requests, state=state, notes=notes)

    def _request(
        self,
        context: FileContext,
        placement: Placement,
        text: str,
        site: Site,
        to_bytes: Callable[[int], int],
    ) -> EditRequest:
        context_info: dict[str, str | tuple[str, ...]] = {
            "qualname": site.qualname,
            "module": placement.module,
            "site": site_key(placement.relpath, site),
        }
        if isinstance(site, FunctionSite):
            context_info["flavor"] = site.flavor
            context_info["params"] = site.params
        elif isinstance(site, LoopSite):
            context_info["flavor"] = site.flavor
        else:
            context_info["names"] = getattr(site, "names", ())
        return EditRequest(
            id=site.id,
            file=context.display,
            language="python",
            kind=_kind(site),
            span=(to_bytes(site.span[0]), to_bytes(site.span[1])),
            line=site.line,
            code=text[site.span[0] : site.span[1]],
            context=context_info,
            fallback="{}",
        )

    # -- prompt, judge and finish ---------------------------------------------------
    def prompt(self, request: EditRequest) -> Prompt:
        """What a model is asked about one construct. No line numbers or ids: an edit
        elsewhere in the file must not change this prompt (nor its cache key)."""
        context = request.context
        system, user = PROMPT.render(
            {
                "kind": request.kind,
                "flavor": str(context.get("flavor", "")) or request.kind,
                "file": request.file,
                "qualname": str(context.get("qualname", "")),
                "params": ", ".join(context.get("params", ())) or "-",
                "names": ", ".join(context.get("names", ())) or "-",
                "code": request.code,
            }
        )
        return Prompt(
            request_id=request.id,
            system=system,
            user=user,
            fallback=request.fallback,
            schema=ANSWER_SCHEMA,
            template_version=PROMPT.version,
        )

    def judge(self, request: EditRequest, answer: str) -> Verdict:
        """Accept only side-effect-free choices that exist in scope (``answers.py``);
        the template's ``{}`` means the default instrumentation."""
        return judge_answer(request.kind, request.context, answer)

    def snippet(self, site: Site, relpath: str, answer: str) -> PySnippet:
        """The statements for ``site`` from an accepted answer (see ``judge``)."""
        if answer.strip() == "{}":
            return template_snippet(site, relpath)
        choice = parse_answer(answer)
        return model_snippet(site, relpath, choice.event, choice.record)

    def finish(self, prepared: Prepared, answers: Mapping[str, str]) -> FileOutcome:
        state = prepared.state
        assert isinstance(state, _State)
        relpath = state.placement.relpath
        accepted: list[tuple[Site, PySnippet]] = []
        counts = {"function": 0, "loop": 0, "variable": 0}
        for request, site in zip(prepared.requests, state.sites, strict=True):
            answer = answers.get(request.id, request.fallback)
            if not self.judge(request, answer).ok:
                answer = request.fallback
            accepted.append((site, self.snippet(site, relpath, answer)))
            counts[_kind(site)] += 1
        current = prepared.source.text
        new_text = apply_edits(state.facts.text, layout(state.facts, accepted, state.import_site))
        if new_text != state.facts.text:
            problem = _still_compiles(new_text, state.facts.text, prepared.context.display)
            if problem is not None:
                return FileOutcome(
                    "failed", f"instrumented code would not parse ({problem}); left untouched"
                )
        warnings_: tuple[str, ...] = ()
        needs: tuple[SupportFile, ...] = ()
        if accepted:
            needs = (helper_file(state.placement.helper),)
            if state.placement.warning:
                warnings_ = (state.placement.warning,)
        return FileOutcome(
            "changed" if new_text != current else "unchanged",
            text=new_text,
            counts=counts,
            warnings=warnings_,
            needs=needs,
        )


def strip_text(text: str) -> str:
    """``text`` with any telemetry instrumentation removed."""
    parsed = parse_python(text)
    return strip(parsed).text


def instrument_text(text: str, module: str = "m", relpath: str = "m.py", dots: str = ".") -> str:
    """Instrument a module's source with template snippets, without touching any file.

    Existing instrumentation is stripped first, as the command does, so the result is
    the same whether ``text`` was instrumented before or not.
    """
    parsed = parse_python(text)
    if has_instrumentation(text):
        parsed = parse_python(strip(parsed).text)
    plan = collect(parsed, module, relpath)
    accepted = [(site, template_snippet(site, relpath)) for site in plan.sites()]
    edits = layout(parsed.facts(), accepted, find_import_site(parsed, dots))
    return apply_edits(parsed.text, edits)
