"""Runtime helper for code instrumented by ``codemod telemetry`` (codemodkit).

Written by the tool next to the code it serves and rewritten when the tool changes;
``codemod telemetry --remove`` deletes it again. It runs on Python 3.7 and later.

What it does at run time:

* If the application has registered an OpenTelemetry tracer provider, every
  instrumented function becomes a span named by its qualified name, with the
  attributes ``code.function.name``, ``code.file.path`` and ``code.line.number``;
  exceptions are recorded on the span; loop counts and variable values become span
  events. (With only the OpenTelemetry API installed and no SDK, spans would be
  dropped, so the helper keeps aggregating instead.)
* Otherwise it aggregates in memory - per function: calls, errors (by type),
  total/min/max duration; per loop: runs, iterations, longest run; per variable: the
  types and a few distinct values of its first assignments (then the instrumented
  code stops calling) - and appends one JSON line per site to
  ``$CODEMOD_TELEMETRY_FILE`` (default ``telemetry.jsonl`` in the working directory at
  import time) every 10 seconds and at exit. Lines are deltas: sum them per site.
* A site key may end in ``|event`` (a name a model chose for the function or loop):
  it is reported as ``event`` in JSON lines and ``codemod.event`` on spans and events.
  ``attr(obj, "a.b")`` reads plain attributes for the record without running
  properties or ``__getattr__``.
* ``CODEMOD_TELEMETRY=0`` turns everything into no-ops; ``CODEMOD_TELEMETRY_VALUES=0``
  records variable types but no values.

It never writes to stdout or stderr, never raises into the instrumented code, never
emits warnings, and never calls ``__repr__``/``__str__`` of user objects to record a
value: only built-in scalars and containers of them are rendered, anything else is
recorded by its type name.
"""

# codemod-telemetry-helper: 1

from __future__ import annotations

import atexit
import functools
import importlib
import itertools
import json
import os
import sys
import threading
import time
from typing import Any, Callable, Optional, Tuple

__all__ = [
    "attr",
    "counted",
    "counter",
    "enter",
    "enter_gen",
    "error",
    "flush",
    "leave",
    "loop",
    "on",
    "sampled",
    "var",
]

# Seconds as a float: unlike perf_counter_ns, no big-int allocation per call and per
# addition (it is the largest cost of a call on some machines), and a double still
# resolves a tenth of a nanosecond after weeks of uptime.
_clock = time.perf_counter
_FLUSH_EVERY = 10.0
_CHECK_EVERY = 1.0
_MAX_SAMPLES = 3  # distinct values kept per variable site
_SAMPLE_TRIES = 10  # assignments looked at per variable site (JSON lines mode)
_MAX_REPR = 120


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() not in ("0", "false", "no", "off", "")


_ENABLED = _env_flag("CODEMOD_TELEMETRY", True)
_VALUES = _env_flag("CODEMOD_TELEMETRY_VALUES", True)
_PATH = os.path.abspath(os.environ.get("CODEMOD_TELEMETRY_FILE") or "telemetry.jsonl")

Token = Any  # an int (start time) while aggregating, a (span, context token) pair with spans
Info = Tuple[str, int, str, Optional[str], Optional[str]]

# site -> [calls, errors, total seconds, min seconds, max seconds, {error type: count}]
_functions: dict[str, list[Any]] = {}
# site -> [runs, iterations, max_iterations]
_loops: dict[str, list[int]] = {}
# site -> [sampled since the last flush, sampled in all, [type names], [sample values]]
_variables: dict[str, list[Any]] = {}
#: Variable sites that have been sampled enough: instrumented code tests membership
#: here before calling var(), so a hot assignment costs a set lookup, not a call.
sampled: set[str] = set()
# site -> (path, line, qualname, variable name or None)
_info_cache: dict[str, Info] = {}

_flush_lock = threading.Lock()
_next_check = 0.0
_next_flush = 0.0


class _Otel:
    """The OpenTelemetry pieces, once the application has registered a provider."""

    def __init__(self, trace: Any, provider: Any) -> None:
        self.trace = trace
        self.context = importlib.import_module("opentelemetry.context")
        self.tracer = provider.get_tracer("codemod.telemetry")
        self.status = trace.Status
        self.error_code = trace.StatusCode.ERROR


_otel: _Otel | None = None


def _info(site: str, variable: bool = False) -> Info:
    """Split a site key ``path:line:qualname[:variable][|event]`` (cached)."""
    info = _info_cache.get(site)
    if info is None:
        key, event = site, None
        head, bar, tail = site.rpartition("|")
        if bar and tail and ":" not in tail:
            key, event = head, tail
        parts = key.rsplit(":", 3 if variable else 2)
        if len(parts) == (4 if variable else 3) and parts[1].isdigit():
            info = (parts[0], int(parts[1]), parts[2], parts[3] if variable else None, event)
        else:
            info = (key, 0, key, None, event)
        _info_cache[site] = info
    return info


def _is_error(exc: BaseException | None) -> bool:
    """Control flow (generator close, cancellation, exit) is not an error."""
    return (
        exc is not None
        and isinstance(exc, Exception)
        and not isinstance(exc, (StopIteration, StopAsyncIteration))
        and type(exc).__name__ != "CancelledError"
    )


# Types are compared by identity (``id``): ``in`` on a tuple of classes would run a
# user metaclass's ``__eq__``.
_SCALARS = {id(k) for k in (int, float, complex, bool, str, bytes, type(None))}
_SEQUENCES = {id(list): ("[", "]"), id(tuple): ("(", ")")}
_SETS = {id(set): "set", id(frozenset): "frozenset"}


def _render(value: Any, depth: int) -> str:
    kind = type(value)
    if kind is _Unrecorded:
        return "<" + str(value.label) + ">"
    key = id(kind)
    if key in _SCALARS:
        if kind is int and (value > 10**30 or value < -(10**30)):
            return f"<int of {value.bit_length()} bits>"
        if (kind is str or kind is bytes) and len(value) > _MAX_REPR:
            return repr(value[:_MAX_REPR]) + "..."
        return repr(value)
    if kind is dict:
        if depth >= 2:
            return f"<dict of {len(value)}>"
        items = []
        for index, (item, item_value) in enumerate(value.items()):  # no key lookups: no __hash__
            if index == 5:
                items.append("...")
                break
            items.append(_render(item, depth + 1) + ": " + _render(item_value, depth + 1))
        return "{" + ", ".join(items) + "}"
    if key in _SEQUENCES or key in _SETS:
        if depth >= 2:
            return f"<{kind.__name__} of {len(value)}>"
        items = []
        for index, item in enumerate(value):
            if index == 5:
                items.append("...")
                break
            items.append(_render(item, depth + 1))
        body = ", ".join(items)
        if key in _SETS:
            name = _SETS[key]
            if not items:
                return f"{name}()"
            return "{" + body + "}" if kind is set else f"{name}({{{body}}})"
        opening, closing = _SEQUENCES[key]
        if kind is tuple and len(items) == 1:
            body += ","
        return opening + body + closing
    return f"<{_type_name(kind)}>"


def _type_name(kind: Any) -> str:
    if kind is _Unrecorded:  # see attr()
        return "unrecorded"
    try:
        module = kind.__module__
        name = kind.__qualname__
        return str(name if module == "builtins" else f"{module}.{name}")
    except Exception:
        return "?"


def _safe_repr(value: Any) -> str:
    try:
        text = _render(value, 0)
    except Exception:
        return "<unrepresentable>"
    return text if len(text) <= _MAX_REPR else text[:_MAX_REPR] + "..."


# -- aggregation (no OpenTelemetry) ---------------------------------------------------
def _function_record(site: str) -> list[Any]:
    return _functions.setdefault(site, [0, 0, 0.0, float("inf"), 0.0, {}])


def _enter_json(site: str) -> Token:
    now = _clock()
    if now >= _next_check:
        _tick(now)
        if _otel is not None:  # the application just registered a tracer provider
            return _enter_otel(site)
    return now  # truthy, as instrumented code expects: perf_counter counts from boot


def _enter_gen_json(site: str) -> Token:
    now = _clock()
    if now >= _next_check:
        _tick(now)
        if _otel is not None:
            return _enter_gen_otel(site)
    return now


# The hot paths look records up by subscript (a specialised bytecode, cheaper than a
# .get() call) and rely on try blocks costing nothing until something is raised.
def _leave_json(site: str, token: Token) -> None:
    try:
        now = _clock()
        elapsed = now - token
        try:
            record = _functions[site]
        except KeyError:
            record = _function_record(site)
        record[0] += 1
        record[2] += elapsed
        if elapsed < record[3]:
            record[3] = elapsed
        if elapsed > record[4]:
            record[4] = elapsed
        if now >= _next_check:
            _tick(now)
    except Exception:
        pass


def _error_json(site: str, token: Token) -> None:
    try:
        exc = sys.exc_info()[1]
        if _is_error(exc):
            record = _functions.get(site) or _function_record(site)
            record[1] += 1
            name = type(exc).__name__
            record[5][name] = record[5].get(name, 0) + 1
    except Exception:
        pass


# ``for`` loops count their iterations in C: ``counted(counter(), iterable)`` yields the
# iterable's items unchanged while advancing ``counter``; loop() reads it once at the end.
counter = functools.partial(itertools.count, 1)


def counted(count: Any, iterable: Any) -> Any:
    return itertools.compress(iterable, count)


def _iterations(count: Any) -> int:
    """A tick-counted loop passes an int; a counted() loop passes its counter."""
    return count if type(count) is int else next(count) - 1


def _loop_json(site: str, count: Any) -> None:
    try:
        iterations = _iterations(count)
        try:
            record = _loops[site]
        except KeyError:
            record = _loops.setdefault(site, [0, 0, 0])
        record[0] += 1
        record[1] += iterations
        if iterations > record[2]:
            record[2] = iterations
    except Exception:
        pass


def _var_json(site: str, value: Any) -> None:
    try:
        try:
            record = _variables[site]
        except KeyError:
            record = _variables.setdefault(site, [0, 0, [], []])
        record[0] += 1
        record[1] += 1
        kind = _type_name(type(value))
        if kind not in record[2]:
            record[2].append(kind)
        if _VALUES and len(record[3]) < _MAX_SAMPLES:
            text = _safe_repr(value)
            if text not in record[3]:
                record[3].append(text)
        if record[1] >= _SAMPLE_TRIES:
            sampled.add(site)  # instrumented code stops calling for this site
    except Exception:
        pass


class _Unrecorded:
    """What ``attr`` records for an attribute it will not or cannot read."""

    __slots__ = ("label",)

    def __init__(self, label: str) -> None:
        self.label = label


_COMPUTED = _Unrecorded("computed")  # a property, descriptor or __getattr__
_UNSET = _Unrecorded("unset")  # not there (yet): e.g. read at the start of __init__


def attr(obj: Any, path: str) -> Any:
    """``obj.a.b`` for plain data only: read from instance ``__dict__`` or a slot,
    never through a property, descriptor or ``__getattr__`` (which could run user
    code with side effects). Those are recorded as ``<computed>``, a missing
    attribute as ``<unset>``."""
    try:
        for name in path.split("."):
            try:
                namespace = object.__getattribute__(obj, "__dict__")
            except AttributeError:
                namespace = None
            if type(namespace) is dict and name in namespace:
                obj = namespace[name]
                continue
            slot = _UNSET  # type: Any
            for klass in type(obj).__mro__:
                if name in klass.__dict__:
                    slot = klass.__dict__[name]
                    break
            if slot is _UNSET:
                return _COMPUTED if hasattr(type(obj), "__getattr__") else _UNSET
            if type(slot).__name__ != "member_descriptor":
                return _COMPUTED
            try:
                obj = slot.__get__(obj, type(obj))
            except AttributeError:  # an empty slot
                return _UNSET
        return obj
    except Exception:
        return _COMPUTED


# -- OpenTelemetry --------------------------------------------------------------------
def _start_span(site: str) -> Any:
    assert _otel is not None
    path, line, qualname, _, event = _info(site)
    attributes = {
        "code.function.name": qualname,
        "code.file.path": path,
        "code.line.number": line,
    }  # type: dict[str, Any]
    if event:
        attributes["codemod.event"] = event
    return _otel.tracer.start_span(qualname, attributes=attributes)


def _enter_otel(site: str) -> Token:
    try:
        assert _otel is not None
        span = _start_span(site)
        return (span, _otel.context.attach(_otel.trace.set_span_in_context(span)))
    except Exception:
        return None


def _enter_gen_otel(site: str) -> Token:
    # Generators never make their span current: a context held across ``yield``
    # would leak into the consumer.
    try:
        return (_start_span(site), None)
    except Exception:
        return None


def _leave_otel(site: str, token: Token) -> None:
    if type(token) is not tuple:
        if type(token) is float:  # entered before the switch to spans
            _leave_json(site, token)
        return
    try:
        assert _otel is not None
        span, attached = token
        if attached is not None:
            _otel.context.detach(attached)
        span.end()
    except Exception:
        pass


def _error_otel(site: str, token: Token) -> None:
    try:
        exc = sys.exc_info()[1]
        if not _is_error(exc):
            return
        if type(token) is not tuple:
            _error_json(site, token)
            return
        assert _otel is not None and exc is not None
        span = token[0]
        span.record_exception(exc)
        span.set_status(_otel.status(_otel.error_code, type(exc).__name__))
    except Exception:
        pass


def _event(name: str, site: str, variable: bool, attributes: dict[str, Any]) -> None:
    assert _otel is not None
    span = _otel.trace.get_current_span()
    if span.is_recording():
        path, line, qualname, _, event = _info(site, variable)
        if event:
            attributes["codemod.event"] = event
        attributes["code.function.name"] = qualname
        attributes["code.file.path"] = path
        attributes["code.line.number"] = line
        span.add_event(name, attributes)


def _loop_otel(site: str, count: Any) -> None:
    try:
        iterations = _iterations(count)
        _event("codemod.loop", site, False, {"codemod.loop.iterations": iterations})
    except Exception:
        pass


def _var_otel(site: str, value: Any) -> None:
    try:
        attributes = {
            "codemod.variable.name": _info(site, True)[3] or "",
            "codemod.variable.type": _type_name(type(value)),
        }
        if _VALUES:
            attributes["codemod.variable.value"] = _safe_repr(value)
        _event("codemod.variable", site, True, attributes)
    except Exception:
        pass


def _check_otel() -> None:
    """Switch to spans once the application registers a real tracer provider."""
    global _otel, enter, enter_gen, error, leave, loop, var
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None or _otel is not None:
        return
    try:
        provider = trace.get_tracer_provider()
        if isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
            return
        _otel = _Otel(trace, provider)
    except Exception:
        return
    enter, enter_gen, error, leave = _enter_otel, _enter_gen_otel, _error_otel, _leave_otel
    loop, var = _loop_otel, _var_otel
    sampled.clear()  # with spans, every assignment is an event of its call's span


def _tick(now: float) -> None:
    global _next_check, _next_flush
    _next_check = now + _CHECK_EVERY
    _check_otel()
    if now >= _next_flush:
        if _next_flush:
            flush()
        _next_flush = now + _FLUSH_EVERY


# -- output ---------------------------------------------------------------------------
def _drain() -> list[dict[str, Any]]:
    """Take the counts gathered since the last flush.

    Each read-and-reset is atomic where updates are unlocked (see ``_needs_lock``):
    no call happens between the read and the reset.
    """
    lines: list[dict[str, Any]] = []
    pid = os.getpid()
    now = round(time.time(), 3)
    for site, record in list(_functions.items()):
        calls, errors, total, low, high, kinds = (
            record[0],
            record[1],
            record[2],
            record[3],
            record[4],
            record[5],
        )
        record[0], record[1], record[2], record[3], record[4], record[5] = (
            0, 0, 0.0, float("inf"), 0.0, {}
        )  # fmt: skip
        if calls or errors:
            path, line, qualname, _, event = _info(site)
            entry = {
                "type": "function",
                "name": qualname,
                "file": path,
                "line": line,
                "calls": calls,
                "errors": errors,
                "total_ns": round(total * 1e9),
                "min_ns": round(low * 1e9) if calls else 0,
                "max_ns": round(high * 1e9),
                "pid": pid,
                "time": now,
            }
            if kinds:
                entry["error_types"] = kinds
            if event:
                entry["event"] = event
            lines.append(entry)
    for site, counts in list(_loops.items()):
        runs, iterations, longest = counts[0], counts[1], counts[2]
        counts[0], counts[1], counts[2] = 0, 0, 0
        if runs:
            path, line, qualname, _, event = _info(site)
            entry = {
                "type": "loop",
                "function": qualname,
                "file": path,
                "line": line,
                "runs": runs,
                "iterations": iterations,
                "max_iterations": longest,
                "pid": pid,
                "time": now,
            }
            if event:
                entry["event"] = event
            lines.append(entry)
    for site, record in list(_variables.items()):
        fresh = record[0]
        record[0] = 0
        if fresh:
            path, line, qualname, name, _ = _info(site, True)
            entry = {
                "type": "variable",
                "function": qualname,
                "name": name,
                "file": path,
                "line": line,
                "sampled": fresh,
                "value_types": list(record[2]),
                "pid": pid,
                "time": now,
            }
            if _VALUES:
                entry["samples"] = list(record[3])
            lines.append(entry)
    return lines


def flush() -> None:
    """Append what was gathered since the last flush to the telemetry file."""
    try:
        with _flush_lock:
            if _update_lock is not None:
                with _update_lock:
                    entries = _drain()
            else:
                entries = _drain()
            if not entries:
                return
            data = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in entries)
            fd = os.open(_PATH, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                payload = data.encode("utf-8")
                while payload:
                    payload = payload[os.write(fd, payload) :]
            finally:
                os.close(fd)
    except Exception:
        pass


def _after_fork() -> None:
    global _flush_lock, _update_lock
    _flush_lock = threading.Lock()
    if _update_lock is not None:
        _update_lock = threading.RLock()
    _functions.clear()
    _loops.clear()
    _variables.clear()
    # multiprocessing's forked children leave through os._exit, skipping atexit; its
    # own exit hook runs finalizers, so flush from one.
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        try:
            util.Finalize(None, flush, exitpriority=-100)
        except Exception:
            pass


def _needs_lock() -> bool:
    """Unlocked updates are safe only where no thread switch can happen between the
    read and the write of ``record[0] += 1``: CPython 3.10+ with the GIL."""
    if sys.version_info < (3, 10):
        return True
    gil = getattr(sys, "_is_gil_enabled", None)
    return gil is not None and not gil()


_update_lock = threading.RLock() if _needs_lock() else None  # re-entrant: leave() may flush


#: Instrumented code skips every call when this is false, so disabled telemetry costs
#: an attribute load and a branch per function.
on = _ENABLED

if _ENABLED:
    enter = _enter_json  # type: Callable[[str], Token]
    enter_gen = _enter_gen_json  # type: Callable[[str], Token]
    error = _error_json  # type: Callable[[str, Token], Any]
    leave = _leave_json  # type: Callable[[str, Token], Any]
    loop = _loop_json  # type: Callable[[str, Any], Any]
    var = _var_json  # type: Callable[[str, Any], Any]
    if _update_lock is not None:

        def _locked(function: Callable[[str, Any], None]) -> Callable[[str, Any], None]:
            def call(site: str, value: Any) -> None:
                assert _update_lock is not None
                with _update_lock:
                    function(site, value)

            return call

        error, leave = _locked(_error_json), _locked(_leave_json)
        loop, var = _locked(_loop_json), _locked(_var_json)
    atexit.register(flush)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork)
else:
    # Disabled: instrumented code does not call in (see ``on``); should anything call
    # anyway, C-level no-ops take the same arguments and do nothing.
    _ignore: Any = {}.get
    _length: Any = len
    enter = enter_gen = _length
    error = leave = loop = var = _ignore
    # counted(False, iterable) must hand back the iterable: dict.get's default does.
    counted = _ignore
