"""The statements injected at each site.

A snippet is a few one-line statements; where they go (and the ``try:`` /
``except BaseException:`` / ``finally:`` scaffolding around them) is layout's job, so
a snippet can never change code outside its site.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sites import HELPER_ALIAS, TOKEN_NAME, FunctionSite, LoopSite, Site, VariableSite

__all__ = ["PySnippet", "model_snippet", "py_string", "site_key", "template_snippet"]


@dataclass(frozen=True)
class PySnippet:
    #: before the wrapped code (function: the enter call; loop: counter reset)
    before: tuple[str, ...] = ()
    #: in ``except BaseException:`` before the re-raise (functions only)
    on_error: tuple[str, ...] = ()
    #: in ``finally:`` (functions, loops) or after the statement (variables)
    after: tuple[str, ...] = ()
    #: first statement of each loop iteration
    tick: str | None = None
    #: text put before and after a ``for`` loop's iterable
    wrap: tuple[str, str] | None = None


def py_string(value: str) -> str:
    """An ASCII-only Python string literal (safe in a file of any encoding)."""
    literal = ascii(value)
    if literal.startswith("'") and '"' not in value and "'" not in value:
        literal = '"' + literal[1:-1] + '"'
    return literal


def site_key(relpath: str, site: Site, name: str | None = None) -> str:
    """The helper's key for a site: ``path:line:qualname[:variable]``."""
    key = f"{relpath}:{site.line}:{site.qualname}"
    return f"{key}:{name}" if name is not None else key


def _record(key: str, item: str) -> str:
    """A sampled value record of ``item``: a name, or an attribute read done by the
    helper's ``attr()`` so that no property or ``__getattr__`` runs."""
    root, dot, rest = item.partition(".")
    value = f"{HELPER_ALIAS}.attr({root}, {py_string(rest)})" if dot else root
    literal = py_string(key)
    wanted = f"{literal} not in {HELPER_ALIAS}.sampled"
    return f"{HELPER_ALIAS}.on and {wanted} and {HELPER_ALIAS}.var({literal}, {value})"


def model_snippet(
    site: Site, relpath: str, event: str | None, record: tuple[str, ...]
) -> PySnippet:
    """The snippet for choices a judge accepted (see ``answers.py``).

    The event name rides on the site key (``key|event``), so the statements have the
    template's shape and removal needs no new rules.
    """
    if isinstance(site, VariableSite):
        return PySnippet(after=tuple(_record(site_key(relpath, site, n), n) for n in record))
    base = template_snippet(site, relpath, event)
    if isinstance(site, FunctionSite) and record:
        records = tuple(_record(site_key(relpath, site, item), item) for item in record)
        return PySnippet(before=base.before + records, on_error=base.on_error, after=base.after)
    return base


def template_snippet(site: Site, relpath: str, event: str | None = None) -> PySnippet:
    """The deterministic snippet: entry/exit/duration/errors, loop counts, values.

    Every helper call is guarded by the helper's ``on`` flag (or by the token, which
    is falsy when it is off), so disabled telemetry costs a branch, not a call. A
    variable is recorded only until the helper has sampled its site enough.
    """
    key = py_string(site_key(relpath, site) + (f"|{event}" if event else ""))
    on_flag = f"{HELPER_ALIAS}.on"
    on = f"{on_flag} and {HELPER_ALIAS}"
    if isinstance(site, FunctionSite):
        enter = "enter_gen" if site.flavor in ("generator", "async_generator") else "enter"
        return PySnippet(
            before=(f"{TOKEN_NAME} = {on}.{enter}({key})",),
            on_error=(f"{TOKEN_NAME} and {HELPER_ALIAS}.error({key}, {TOKEN_NAME})",),
            after=(f"{TOKEN_NAME} and {HELPER_ALIAS}.leave({key}, {TOKEN_NAME})",),
        )
    if isinstance(site, LoopSite):
        counter = site.counter
        if site.iterable is not None:
            # The iterable is wrapped in a C-level counting iterator when telemetry is
            # on and left as it is when it is off: no per-iteration statement at all.
            return PySnippet(
                before=(f"{counter} = {on}.counter()",),
                after=(f"{counter} and {HELPER_ALIAS}.loop({key}, {counter})",),
                wrap=(f"{HELPER_ALIAS}.counted({counter}, ", ")"),
            )
        return PySnippet(
            before=(f"{counter} = 0",),
            after=(f"{on}.loop({key}, {counter})",),
            tick=f"{counter} += 1",
        )
    if isinstance(site, VariableSite):
        return PySnippet(after=tuple(_record(site_key(relpath, site, n), n) for n in site.names))
    raise TypeError(f"unknown site {type(site).__name__}")
