"""The tsfix rounds: diagnose, fix for free (tier 0), ask the model tiers, validate, commit.

Everything happens in the TypeScript service's memory; the caller writes files at the
end. A round starts from the project's current diagnostics and ends when every fix it
accepted is committed; rounds repeat until a round fixes nothing or ``max_rounds``.

Validation is always against the round's baseline: a candidate is checked on its own
(``service.check``), then the accepted candidates of a file are checked together, and
if together they break something they are taken one by one, each kept only if the
project is still no worse (so two fixes that each pass but clash are never both kept).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from codemodkit.codemods.base import Verdict
from codemodkit.llm.base import Completion, Prompt
from codemodkit.llm.manager import LLMManager, escalated
from codemodkit.parsers.javascript import dialect_for

from . import tier0
from .classify import classify_group
from .grouping import Group, group_diagnostics
from .prompt import build_prompt, fit_replacement, parse_answer, related_snippets, span_indent
from .types import CodeFix, Diagnostic, FileChanges, TextChange, TsService
from .validate import Policy, validate_fix

__all__ = ["FixRecord", "Mode", "TsfixOptions", "TsfixResult", "relative", "run_rounds"]

Mode = Literal["sequential", "parallel", "hybrid"]
Say = Callable[[str], None]


@dataclass(frozen=True)
class TsfixOptions:
    #: may this file be edited? (the whole project is still type-checked)
    editable: Callable[[str], bool] = lambda file: True
    codes: frozenset[int] | None = None
    #: the highest tier used: 0 = TypeScript's own fixes only, no model
    max_tier: int = 3
    mode: Mode = "sequential"
    max_rounds: int = 5
    max_attempts: int = 3
    policy: Policy = field(default_factory=Policy)
    #: error code -> tier, over classify's default table
    tiers: Mapping[int, int] = field(default_factory=dict)
    root: Path = Path(".")


@dataclass(frozen=True)
class FixRecord:
    """One accepted fix, for the report and the summary."""

    file: str
    span: tuple[int, int]
    line: int
    construct: str
    tier: int
    codes: tuple[int, ...]
    fixed: int  # errors it removed
    strategy: Literal["typescript", "model"]
    fix_name: str = ""
    provider: str = "typescript"
    model: str | None = None
    endpoint: str | None = None
    attempts: int = 1
    retries: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    cached: bool = False
    #: what the fix writes, to recognise it when it is proposed again after a rejection
    signature: str = ""


@dataclass
class TsfixResult:
    before: list[Diagnostic]
    after: list[Diagnostic] = field(default_factory=list)
    rounds: int = 0
    fixed_by_tier: Counter[int] = field(default_factory=Counter)
    fixes: list[FixRecord] = field(default_factory=list)
    #: file -> (text on disk, new text), for every file the run changed
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)
    requests: int = 0
    rejected: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _errors(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.category == "error"]


def _keys(diagnostics: Iterable[Diagnostic]) -> Counter[tuple[str | None, int, str]]:
    return Counter(d.key() for d in _errors(diagnostics))


def relative(file: str, root: Path) -> str:
    """``file`` as shown to the user: relative to the project's folder when inside it."""
    try:
        return Path(file).relative_to(root).as_posix()
    except ValueError:
        return file


def _signature(name: str, changes: Mapping[str, Sequence[TextChange]]) -> str:
    """The fix's name and what it writes where (by file, not offset: offsets move)."""
    parts = [name]
    for file in sorted(changes):
        parts.append(file)
        parts.extend(change.new_text for change in changes[file])
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


#: a fix waiting for acceptance: its changes (round-baseline offsets) and its record
Candidate = tuple[dict[str, list[TextChange]], FixRecord]
#: a batch's texts, the project's diagnostics with them, and the errors they add
Checked = tuple[dict[str, str], list[Diagnostic], Counter[tuple[str | None, int, str]]]


class _Rounds:
    def __init__(
        self, service: TsService, manager: LLMManager | None, options: TsfixOptions, say: Say
    ) -> None:
        self.service = service
        self.manager = manager
        self.options = options
        self.say = say
        self.lock = threading.Lock()  # one request at a time to the service
        self.originals: dict[str, str] = {}
        self.fixes: list[FixRecord] = []
        self.requests = 0
        self.rejected: list[str] = []
        #: signatures of fixes rejected once: not proposed again
        self.refused: set[str] = set()
        #: signatures of fixes put off to the next round once (see ``_culprits``); the
        #: next time they are bisected like any other
        self.deferred: set[str] = set()
        #: (error, file text) pairs TypeScript had no allowed fix for
        self.fixless: set[tuple[tuple[str | None, int, str], int]] = set()

    # -- what to fix -----------------------------------------------------------------
    def targets(self, diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
        codes = self.options.codes
        return [
            d
            for d in _errors(diagnostics)
            if d.file is not None
            and d.start is not None
            and (codes is None or d.code in codes)
            and self.options.editable(d.file)
        ]

    def commit(self, texts: Mapping[str, str]) -> None:
        for file in texts:
            self.originals.setdefault(file, self.service.text(file))
        with self.lock:
            self.service.commit(texts)

    def check(self, texts: Mapping[str, str]) -> list[Diagnostic]:
        started = time.perf_counter()
        with self.lock:
            diagnostics = self.service.check(texts)
        seconds = time.perf_counter() - started
        self.say(f"type-checked {len(texts)} edited files in {seconds:.2f}s")
        return diagnostics

    # -- acceptance of a set of candidates ---------------------------------------------
    def settle(self, baseline: list[Diagnostic], candidates: list[Candidate]) -> list[Diagnostic]:
        """Commit as many candidates as can live together; returns the new diagnostics.

        Candidates carry changes in the offsets of the round's baseline texts, so any
        subset that does not overlap can be applied to those texts in one go. A
        candidate overlapping one taken earlier waits for the next round (which
        re-diagnoses and asks again). The rest are checked together; if together they
        add an error, the ones touching the files where new errors appeared are split
        off, and each half is tried on its own (bisection: few checks when few fixes
        are bad, never two clashing fixes kept)."""
        taken: dict[str, list[TextChange]] = {}
        batch: list[Candidate] = []
        for candidate in candidates:
            changes, record = candidate
            if any(
                tier0.overlaps(taken.get(file, ()), file_changes)
                for file, file_changes in changes.items()
            ):
                self.rejected.append(f"{self._display(record.file)}: overlaps another fix")
                continue
            for file, file_changes in changes.items():
                taken.setdefault(file, []).extend(file_changes)
            batch.append(candidate)
        if not batch:
            return baseline
        self._base = {file: self.service.text(file) for file in taken}
        self._committed: dict[str, list[TextChange]] = {}
        self._settled: set[int] = set()
        self._current = baseline
        self._first_try(batch)
        return self._current

    def _first_try(self, batch: list[Candidate]) -> None:
        """Everything at once; when that adds errors in some edited files, keep the
        state (in memory) and take back only the fixes of those files: a small recheck,
        where trying the other fixes again from scratch would recheck the project."""
        checked = self._check_batch(batch)
        texts, after, new = checked
        files = {file for file, _, _ in new}
        if self._improves(after):
            self._accept(batch, texts, after)
            return
        if not new or None in files or not files <= set(texts):
            self._try(batch, checked)  # not attributable to edited files: bisect
            return
        suspects = [c for c in batch if files & set(c[0])]
        innocent = [c for c in batch if c not in suspects]
        if not innocent:
            self._parts(batch, files)
            return
        touched = {file for changes, _ in suspects for file in changes}
        innocent_texts = self._texts(innocent)
        back = {file: innocent_texts.get(file, self._base[file]) for file in touched}
        self.commit(texts)  # not yet for keeps: see below
        after_back = self.check(back)
        kept = {**texts, **back}
        if self._improves(after_back):
            self._accept(innocent, kept, after_back)
        else:  # the fixes interact: back to the round's start, one part at a time
            self.commit({file: self._base[file] for file in texts})
            self._try(innocent)
        self._parts(suspects, files)

    def _parts(self, suspects: list[Candidate], files: set[str | None]) -> None:
        """Bisect the suspects of every file at once: each check tries one subset per
        file, and a file's new errors condemn only that file's subset. What survives is
        checked once more as a whole (a fix may still hurt another file), else the
        files are bisected one by one."""
        queues: dict[str, list[list[Candidate]]] = {}
        single = [c for c in suspects if len(c[0]) == 1]
        for file in sorted(f for f in files if f):
            part = [c for c in single if file in c[0] and id(c) not in self._settled]
            if part:
                queues[file] = [part]
        kept: list[Candidate] = []
        last: tuple[dict[str, str], list[Diagnostic]] | None = None
        while any(queues.values()):
            trial = {file: queue.pop(0) for file, queue in queues.items() if queue}
            texts = self._texts(kept + [c for part in trial.values() for c in part])
            after = self.check(texts)
            hurt = {file for file, _, _ in _keys(after) - _keys(self._current)}
            if None in hurt or hurt - set(trial):
                for file, part in trial.items():  # no attribution possible: give back
                    queues[file].insert(0, part)
                last = None
                break
            for file, part in trial.items():
                if file not in hurt:
                    kept.extend(part)
                elif len(part) == 1:
                    self._reject(part[0], after)
                else:
                    culprits = [
                        c
                        for c in self._culprits(file, part, kept, trial, after)
                        if c[1].signature not in self.deferred
                    ]
                    if culprits and len(culprits) < len(part):
                        # the fixes nearest before each new error wait for the next
                        # round (bisected like the rest there); the others go on now
                        self._defer(culprits)
                        queues[file].insert(0, [c for c in part if c not in culprits])
                    else:
                        half = len(part) // 2
                        queues[file][:0] = [part[:half], part[half:]]
            last = None if hurt else (texts, after)
        leftover = [c for queue in queues.values() for part in queue for c in part]
        if kept:
            if last is not None:
                texts, after = last
            else:
                texts = self._texts(kept)
                after = self.check(texts)
            if self._improves(after):
                self._accept(kept, texts, after)
            else:
                leftover = kept + leftover
        for file in sorted(queues):
            part = [c for c in leftover if file in c[0] and id(c) not in self._settled]
            if part:
                self._try(part)
        rest = [c for c in suspects if id(c) not in self._settled]
        if rest:
            self._try(rest)

    def _culprits(
        self,
        file: str,
        part: list[Candidate],
        kept: list[Candidate],
        trial: Mapping[str, list[Candidate]],
        after: list[Diagnostic],
    ) -> list[Candidate]:
        """For each new error in ``file``, the fix of ``part`` whose change starts
        nearest before it (a parameter's new type sits before the body it breaks)."""
        new = _keys(after) - _keys(self._current)
        tried = kept + [c for candidates in trial.values() for c in candidates]
        applied = sorted(
            (change for c in tried for change in c[0].get(file, ())), key=lambda ch: ch.start
        )
        found: list[Candidate] = []
        for d in after:
            if d.file != file or d.key() not in new or d.start is None:
                continue
            position, shift = d.start, 0
            for change in applied:  # back to the round's baseline offsets
                if change.start + shift + len(change.new_text) > position:
                    break
                shift += len(change.new_text) - change.length
            base = position - shift
            before = [(ch.start, c) for c in part for ch in c[0].get(file, ()) if ch.start <= base]
            if before:
                culprit = max(before, key=lambda pair: pair[0])[1]
                if culprit not in found:
                    found.append(culprit)
        return found

    def _defer(self, candidates: list[Candidate]) -> None:
        for candidate in candidates:
            self._settled.add(id(candidate))
            self.deferred.add(candidate[1].signature)

    def _reject(self, candidate: Candidate, after: list[Diagnostic]) -> None:
        _, record = candidate
        self._settled.add(id(candidate))
        new = _keys(after) - _keys(self._current)
        mine = [key for key in new if key[0] in candidate[0]] or list(new)
        if mine:
            where_file, code, message = mine[0]
            where = self._display(where_file) if where_file else "the project"
            reason = f"it adds error TS{code} in {where}: {message.splitlines()[0]}"
        else:
            reason = "it fixes nothing next to the other fixes"
        self.rejected.append(f"{self._display(record.file)}:{record.line}: {reason}")
        if record.signature:
            self.refused.add(record.signature)

    def _accept(
        self, batch: list[Candidate], texts: dict[str, str], after: list[Diagnostic]
    ) -> None:
        self.commit(texts)
        for changes, _ in batch:
            for file, file_changes in changes.items():
                self._committed.setdefault(file, []).extend(file_changes)
        self._record(self._current, after, [record for _, record in batch])
        self._current = after
        self._settled.update(id(c) for c in batch)

    def _texts(self, batch: list[Candidate]) -> dict[str, str]:
        merged: dict[str, list[TextChange]] = {}
        for changes, _ in batch:
            for file, file_changes in changes.items():
                merged.setdefault(file, list(self._committed.get(file, ()))).extend(file_changes)
        return {file: tier0.apply_changes(self._base[file], c) for file, c in merged.items()}

    def _check_batch(self, batch: list[Candidate]) -> Checked:
        """The batch's texts (with what is committed), their diagnostics, and the
        errors they add."""
        texts = self._texts(batch)
        after = self.check(texts)
        new = _keys(after) - _keys(self._current)
        self.say(
            f"checked {len(batch)} fixes in {len(texts)} files: {len(_errors(self._current))}"
            f" -> {len(_errors(after))} errors, {sum(new.values())} new"
        )
        return texts, after, new

    def _improves(self, after: list[Diagnostic]) -> bool:
        """No new error, and fewer errors than now."""
        return not (_keys(after) - _keys(self._current)) and len(_errors(after)) < len(
            _errors(self._current)
        )

    def _try(self, batch: list[Candidate], checked: Checked | None = None) -> None:
        texts, after, new = checked or self._check_batch(batch)
        if self._improves(after):
            self._accept(batch, texts, after)
            return
        if len(batch) == 1:
            self._reject(batch[0], after)
            return
        # Suspects first: the fixes of each file where new errors are (when every new
        # error is in an edited file), one file at a time; otherwise halves.
        files = {file for file, _, _ in new}
        parts = [[c for c in batch if file in c[0]] for file in sorted(f for f in files if f)]
        parts = [part for part in parts if part]
        suspects = [c for part in parts for c in part]
        if not parts or None in files or (len(suspects) == len(batch) and len(parts) == 1):
            half = len(batch) // 2
            parts = [batch[half:]]
            suspects = parts[0]
        innocent = [c for c in batch if c not in suspects]
        for part in (innocent, *parts):
            # a fix touching two files is in two parts: it is settled once
            part = [c for c in part if id(c) not in self._settled]
            if part:
                self._try(part)

    def _record(
        self, before: list[Diagnostic], after: list[Diagnostic], records: list[FixRecord]
    ) -> None:
        gone = sum((_keys(before) - _keys(after)).values())
        share = [gone // len(records)] * len(records)
        for index in range(gone - sum(share)):
            share[index % len(share)] += 1
        for record, fixed in zip(records, share, strict=True):
            self.fixes.append(replace(record, fixed=fixed))

    # -- tier 0 ----------------------------------------------------------------------
    def tier0(self, baseline: list[Diagnostic]) -> list[Diagnostic]:
        targets = self.targets(baseline)
        by_file: dict[str, list[Diagnostic]] = {}
        for d in targets:
            assert d.file is not None
            by_file.setdefault(d.file, []).append(d)
        candidates: list[Candidate] = []
        for file, diagnostics in by_file.items():
            proposals = self._tier0_proposals(file, diagnostics)
            for fix, targeted in proposals:
                edits = [fc for fc in fix.changes if fc.changes]
                if not edits or not all(self.options.editable(fc.file) for fc in edits):
                    continue
                candidate = self._tier0_candidate(fix, edits, targeted, baseline)
                if candidate is not None:
                    candidates.append(candidate)
        return self.settle(baseline, candidates)

    def _tier0_proposals(
        self, file: str, diagnostics: list[Diagnostic]
    ) -> list[tuple[CodeFix, list[Diagnostic]]]:
        """The first allowed fix of each diagnostic; fixes with a fix id are combined
        once per file (TypeScript merges them, e.g. two imports from one module)."""
        proposals: list[tuple[CodeFix, list[Diagnostic]]] = []
        combined: dict[str, tuple[CodeFix, list[Diagnostic]]] = {}
        display = self._display(file)
        version = hash(self.service.text(file))
        #: code -> the combined fix that already covers every error of that code here
        covered: dict[int, str] = {}
        for d in diagnostics:
            if (d.key(), version) in self.fixless:
                continue
            if d.code in covered:
                combined[covered[d.code]][1].append(d)
                continue
            with self.lock:
                fixes = self.service.code_fixes(d)
            fix, reasons = tier0.choose_fix(fixes, self.service.text)
            if fix is None:
                self.fixless.add((d.key(), version))
                if fixes:
                    self.say(f"{display}: TS{d.code}: no allowed fix ({'; '.join(reasons)})")
                continue
            if fix.fix_id is None:
                proposals.append((fix, [d]))
                continue
            if fix.fix_id in combined:
                combined[fix.fix_id][1].append(d)
                continue
            try:
                with self.lock:
                    changes = self.service.combined_fix(file, fix.fix_id)
            except Exception as exc:  # the service said no: use the single fix
                self.say(f"{display}: combined fix {fix.fix_id} unavailable ({exc})")
                proposals.append((fix, [d]))
                continue
            decision = tier0.allowed_combined(fix.fix_id, changes, self.service.text)
            if not decision:
                self.say(f"{display}: combined {fix.fix_id} refused: {decision.reason}")
                proposals.append((fix, [d]))
                continue
            combined[fix.fix_id] = (replace(fix, changes=tuple(changes)), [d])
            covered[d.code] = fix.fix_id
        proposals.extend(combined.values())
        return proposals

    def _tier0_candidate(
        self,
        fix: CodeFix,
        edits: list[FileChanges],
        targeted: list[Diagnostic],
        baseline: list[Diagnostic],
    ) -> Candidate | None:
        merged, rejected = tier0.merge_changes(edits)
        if rejected or not merged:
            self.rejected.append(f"{fix.fix_name}: overlapping edits, not applied")
            return None
        first = targeted[0]
        assert first.file is not None and first.start is not None
        record = FixRecord(
            file=first.file,
            span=(first.start, first.end or first.start),
            line=first.line or _line_of(self.service.text(first.file), first.start),
            construct=fix.description,
            tier=0,
            codes=tuple(sorted({d.code for d in targeted})),
            fixed=0,
            strategy="typescript",
            fix_name=fix.fix_name,
            signature=_signature(fix.fix_name, merged),
        )
        if record.signature in self.refused:
            return None
        return merged, record

    # -- the model tiers ------------------------------------------------------------------
    def models(self, baseline: list[Diagnostic]) -> list[Diagnostic]:
        manager = self.manager
        if manager is None or not manager.uses_models or self.options.max_tier < 1:
            return baseline
        groups: list[Group] = []
        by_file: dict[str, list[Diagnostic]] = {}
        for d in self.targets(baseline):
            assert d.file is not None
            by_file.setdefault(d.file, []).append(d)
        for file, diagnostics in by_file.items():
            text = self.service.text(file)
            dialect = dialect_for(Path(file).suffix)
            groups.extend(group_diagnostics(text, dialect, diagnostics, file=file))
        if not groups:
            return baseline
        prompts: list[Prompt] = []
        levels: list[int] = []
        for group in groups:
            text = self.service.text(group.file)
            with self.lock:
                info = self.service.type_info(group.file, group.start, group.end)
            related = related_snippets(group, self._text_or_none, self.options.root)
            prompts.append(
                build_prompt(
                    group, self._display(group.file), text, info, related, self.options.policy
                )
            )
            level = classify_group(group.diagnostics, group.lines, self.options.tiers)
            levels.append(min(level, self.options.max_tier))
        by_id = {p.request_id: g for p, g in zip(prompts, groups, strict=True)}
        attempts: dict[str, tuple[str, str]] = {}

        def judge(prompt: Prompt, answer: str) -> Verdict:
            verdict = self._judge(by_id[prompt.request_id], answer, baseline)
            if not verdict.ok:
                attempts[prompt.request_id] = (answer, verdict.reason)
            return verdict

        completions = self._run_mode(manager, prompts, levels, judge, attempts)
        self.requests += len(prompts)
        candidates: list[Candidate] = []
        for prompt, completion in zip(prompts, completions, strict=True):
            group = by_id[prompt.request_id]
            if not completion.ok or completion.text is None:
                self.rejected.append(
                    f"{self._display(group.file)}:{group.line}: {completion.error or 'no answer'}"
                )
                continue
            replacement = self._replacement(group, completion.text)
            assert replacement is not None  # the judge accepted it
            change = TextChange(group.start, group.end - group.start, replacement)
            candidates.append(({group.file: [change]}, self._model_record(group, completion)))
        return self.settle(baseline, candidates)

    def _text_or_none(self, file: str) -> str | None:
        try:
            return self.service.text(file)
        except Exception:
            return None

    def _replacement(self, group: Group, answer: str) -> str | None:
        parsed = parse_answer(answer)
        if isinstance(parsed, str):
            return None
        text = self.service.text(group.file)
        original = text[group.start : group.end]
        return fit_replacement(parsed.replacement, original, span_indent(text, group))

    def _judge(self, group: Group, answer: str, baseline: list[Diagnostic]) -> Verdict:
        parsed = parse_answer(answer)
        if isinstance(parsed, str):
            return Verdict(False, parsed)
        replacement = self._replacement(group, answer)
        assert replacement is not None
        before = self.service.text(group.file)
        after = before[: group.start] + replacement + before[group.end :]
        if after == before:
            return Verdict(False, "the answer changes nothing")
        diagnostics = self.check({group.file: after})
        return validate_fix(
            file=group.file,
            text=before,
            start=group.start,
            end=group.end,
            replacement=replacement,
            targets=list(group.diagnostics),
            before=baseline,
            after=diagnostics,
            policy=self.options.policy,
            root=self.options.root,
            dialect=dialect_for(Path(group.file).suffix),
        )

    def _run_mode(
        self,
        manager: LLMManager,
        prompts: list[Prompt],
        levels: list[int],
        judge: Callable[[Prompt, str], Verdict],
        attempts: dict[str, tuple[str, str]],
    ) -> list[Completion]:
        mode = self.options.mode
        top = self.options.max_tier
        if mode == "parallel":
            return manager.complete_all(prompts, judge, start=levels, stop=top)
        tiers = [t for t in manager.tiers if t.level <= top] or manager.tiers[:1]
        if mode == "sequential":
            return self._sequential(manager, prompts, levels, judge, attempts)
        # hybrid: local tiers and cloud tiers at the same time; what the local tiers
        # reject then climbs to the cloud
        local_top = max((t.level for t in tiers if not t.cloud), default=0)
        results: list[Completion | None] = [None] * len(prompts)
        local = [i for i, level in enumerate(levels) if level <= local_top]
        cloud = [i for i in range(len(prompts)) if i not in set(local)]

        def run(indexes: list[int], stop: int) -> None:
            done = manager.complete_all(
                [prompts[i] for i in indexes],
                judge,
                start=[levels[i] for i in indexes],
                stop=stop,
            )
            for i, completion in zip(indexes, done, strict=True):
                results[i] = completion

        worker = threading.Thread(target=run, args=(cloud, top), daemon=True)
        worker.start()
        run(local, local_top)
        worker.join()
        cloud_levels = [t.level for t in tiers if t.cloud]
        used = {i: c.attempts for i in local if (c := results[i]) is not None and not c.ok}
        retry = [i for i, n in used.items() if n < self.options.max_attempts and cloud_levels]
        if retry:
            asked = []
            for i in retry:
                prompt = prompts[i]
                if prompt.request_id in attempts:
                    prompt = escalated(prompt, *attempts[prompt.request_id])
                asked.append(prompt)
            again = manager.complete_all(
                asked,
                judge,
                start=[cloud_levels[0]] * len(retry),
                stop=top,
                max_attempts=max(1, self.options.max_attempts - max(used[i] for i in retry)),
            )
            for i, completion in zip(retry, again, strict=True):
                results[i] = replace(completion, attempts=completion.attempts + used[i])
        return [r for r in results if r is not None]

    def _sequential(
        self,
        manager: LLMManager,
        prompts: list[Prompt],
        levels: list[int],
        judge: Callable[[Prompt, str], Verdict],
        attempts: dict[str, tuple[str, str]],
    ) -> list[Completion]:
        """Tier by tier: every request of the lowest tier, then the next tier gets its
        own requests plus what the tier below rejected (with the attempt and why)."""
        order = sorted({t.level for t in manager.tiers if t.level <= self.options.max_tier})
        order = order or [manager.tiers[0].level]
        where = [next((lv for lv in order if lv >= level), order[-1]) for level in levels]
        asked = list(prompts)
        used = [0] * len(prompts)
        results: list[Completion | None] = [None] * len(prompts)
        for position, level in enumerate(order):
            last = position == len(order) - 1
            batch = [i for i in range(len(prompts)) if where[i] == level]
            if not batch:
                continue
            done = manager.complete_all(
                [asked[i] for i in batch],
                judge,
                start=[level] * len(batch),
                stop=level,
                # the last tier may use every attempt left; the others one each
                max_attempts=max(1, self.options.max_attempts - min(used[i] for i in batch))
                if last
                else 1,
            )
            for i, completion in zip(batch, done, strict=True):
                used[i] += completion.attempts
                results[i] = replace(completion, attempts=used[i])
                if completion.ok or last or used[i] >= self.options.max_attempts:
                    continue
                where[i] = order[position + 1]
                if prompts[i].request_id in attempts:
                    asked[i] = escalated(prompts[i], *attempts[prompts[i].request_id])
        return [
            r if r is not None else Completion(p.request_id, None, error="not attempted")
            for r, p in zip(results, prompts, strict=True)
        ]

    def _model_record(self, group: Group, completion: Completion) -> FixRecord:
        return FixRecord(
            file=group.file,
            span=(group.start, group.end),
            line=group.line,
            construct=group.name or group.kind,
            tier=completion.tier,
            codes=tuple(sorted({d.code for d in group.diagnostics})),
            fixed=0,
            strategy="model",
            provider=completion.provider,
            model=completion.model,
            endpoint=completion.endpoint,
            attempts=completion.attempts,
            retries=completion.retries,
            tokens_in=completion.tokens_in,
            tokens_out=completion.tokens_out,
            latency_ms=completion.latency_ms,
            cached=completion.cached,
        )

    def _display(self, file: str) -> str:
        return relative(file, self.options.root)


def run_rounds(
    service: TsService,
    manager: LLMManager | None,
    options: TsfixOptions,
    say: Say = lambda line: None,
) -> TsfixResult:
    """Fix what can be fixed; nothing is written (``result.changed`` has the texts)."""
    started = time.perf_counter()
    rounds = _Rounds(service, manager, options, say)
    with rounds.lock:
        current = service.diagnostics()
    result = TsfixResult(before=_errors(current))
    while result.rounds < options.max_rounds and rounds.targets(current):
        result.rounds += 1
        errors = len(_errors(current))
        if service.fixes_available:
            current = rounds.tier0(current)
        current = rounds.models(current)
        say(f"round {result.rounds}: {errors} -> {len(_errors(current))} errors")
        if len(_errors(current)) >= errors:
            break
    result.after = _errors(current)
    result.fixes = [f for f in rounds.fixes if f.fixed > 0 or f.strategy == "model"]
    for record in result.fixes:
        result.fixed_by_tier[record.tier] += record.fixed
    result.changed = {
        file: (original, service.text(file))
        for file, original in rounds.originals.items()
        if service.text(file) != original
    }
    result.requests = rounds.requests
    result.rejected = rounds.rejected
    result.seconds = time.perf_counter() - started
    return result
