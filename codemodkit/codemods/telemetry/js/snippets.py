"""The statements injected at each site.

A snippet is a few one-line statements; where they go (and the ``try {`` /
``catch`` / ``finally`` scaffolding around them) is layout's job, so a snippet can
never change code outside its site. Every helper call is guarded by the helper's
``on`` flag, or by the token, which is ``false`` when telemetry is off.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .sites import (
    ARROW_TOKEN,
    ERROR_NAME,
    HELPER_ALIAS,
    TOKEN_NAME,
    FunctionSite,
    LoopSite,
    Site,
    VariableSite,
)

__all__ = ["JsSnippet", "js_string", "model_snippet", "site_key", "template_snippet", "token_of"]


@dataclass(frozen=True)
class JsSnippet:
    #: before the wrapped code (function: the enter call and records; loop: the counter)
    before: tuple[str, ...] = ()
    #: in ``catch`` before the re-throw (functions only)
    on_error: tuple[str, ...] = ()
    #: in ``finally`` (functions, loops) or after the declaration (variables)
    after: tuple[str, ...] = ()
    #: first statement of each loop iteration
    tick: str | None = None


def js_string(value: str) -> str:
    """An ASCII-only JavaScript string literal (JSON is a subset of JavaScript)."""
    return json.dumps(value, ensure_ascii=True)


def site_key(relpath: str, site: Site, name: str | None = None) -> str:
    """The helper's key for a site: ``path:line:qualname[:variable]`` (as for Python)."""
    key = f"{relpath}:{site.line}:{site.qualname}"
    return f"{key}:{name}" if name is not None else key


def token_of(site: FunctionSite) -> str:
    """An arrow whose expression body became a block has its own token name: the
    marker that lets removal turn the block back into the expression."""
    return ARROW_TOKEN if site.layout == "arrow" else TOKEN_NAME


def _record(key: str, item: str) -> str:
    """A sampled value record of ``item``: a name, or an attribute read done by the
    helper's ``attr()`` (own data properties only, so no getter or proxy trap runs)."""
    root, dot, rest = item.partition(".")
    value = f"{HELPER_ALIAS}.attr({root}, {js_string(rest)})" if dot else root
    literal = js_string(key)
    return (
        f"{HELPER_ALIAS}.on && !{HELPER_ALIAS}.sampled.has({literal}) && "
        f"{HELPER_ALIAS}.value({literal}, {value});"
    )


def model_snippet(
    site: Site, relpath: str, event: str | None, record: tuple[str, ...]
) -> JsSnippet:
    """The snippet for choices a judge accepted (see ``answers.py``); the event name
    rides on the site key (``key|event``), so removal needs no new rules."""
    if isinstance(site, VariableSite):
        return JsSnippet(after=tuple(_record(site_key(relpath, site, n), n) for n in record))
    base = template_snippet(site, relpath, event)
    if isinstance(site, FunctionSite) and record:
        records = tuple(_record(site_key(relpath, site, item), item) for item in record)
        return JsSnippet(before=base.before + records, on_error=base.on_error, after=base.after)
    return base


def template_snippet(site: Site, relpath: str, event: str | None = None) -> JsSnippet:
    """The deterministic snippet: entry/exit/duration/errors, loop counts, values."""
    key = js_string(site_key(relpath, site) + (f"|{event}" if event else ""))
    if isinstance(site, FunctionSite):
        token = token_of(site)
        return JsSnippet(
            before=(f"const {token} = {HELPER_ALIAS}.on && {HELPER_ALIAS}.enter({key});",),
            on_error=(f"{token} && {HELPER_ALIAS}.error({key}, {token}, {ERROR_NAME});",),
            after=(f"{token} && {HELPER_ALIAS}.leave({key}, {token});",),
        )
    if isinstance(site, LoopSite):
        counter = site.counter
        # Braces added around a brace-less body are marked by the tick's form.
        tick = f"{counter} += 1;" if site.tick == "braces" else f"{counter}++;"
        return JsSnippet(
            before=(f"let {counter} = 0;",),
            after=(f"{HELPER_ALIAS}.on && {HELPER_ALIAS}.loop({key}, {counter});",),
            tick=tick,
        )
    if isinstance(site, VariableSite):
        return JsSnippet(after=tuple(_record(site_key(relpath, site, n), n) for n in site.names))
    raise TypeError(f"unknown site {type(site).__name__}")
