# ruff: noqa: E501
"""STAND-IN for the JavaScript/TypeScript runtime helper (branch ``js-runtime``).

The real module, with OpenTelemetry support and JSON-lines output, replaces this file
when that branch lands on main. This one implements the same API with in-memory
counters (``globalThis.__codemodTelemetry``) so instrumented code can run in tests.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["HELPER_MARKER", "helper_source"]

HELPER_MARKER = b"// codemod-telemetry-helper:"

_JS_BODY = """\
const stats = (globalThis.__codemodTelemetry ??= { enter: {}, leave: {}, error: {}, loop: {}, value: {} });
let next = 1;
function bump(table, site, by) {
  table[site] = (table[site] || 0) + by;
}
EXPORT const on = typeof process === "undefined" || !process.env || process.env.CODEMOD_TELEMETRY !== "0";
EXPORT const sampled = new Set();
EXPORT function enter(site) { bump(stats.enter, site, 1); return next++; }
EXPORT function leave(site, token) { if (token) bump(stats.leave, site, 1); }
EXPORT function error(site, token, err) { if (token && err !== undefined) bump(stats.error, site, 1); }
EXPORT function loop(site, iterations) { bump(stats.loop, site, iterations); }
EXPORT function value(site, v) {
  bump(stats.value, site, 1);
  if (stats.value[site] >= 3) sampled.add(site);
  void v;
}
EXPORT function attr(obj, path) {
  let current = obj;
  for (const part of path.split(".")) {
    if (current === null || (typeof current !== "object" && typeof current !== "function")) return undefined;
    const d = Object.getOwnPropertyDescriptor(current, part);
    if (!d || !("value" in d)) return undefined;
    current = d.value;
  }
  return current;
}
EXPORT function flush() {}
"""

_TS = """\
type Table = Record<string, number>;
interface Stats { enter: Table; leave: Table; error: Table; loop: Table; value: Table }
const g = globalThis as unknown as { __codemodTelemetry?: Stats };
const stats: Stats = (g.__codemodTelemetry ??= { enter: {}, leave: {}, error: {}, loop: {}, value: {} });
let next = 1;
function bump(table: Table, site: string, by: number): void {
  table[site] = (table[site] || 0) + by;
}
declare const process: { env?: Record<string, string | undefined> } | undefined;
export type Token = number;
export const on: boolean = typeof process === "undefined" || !process.env || process.env["CODEMOD_TELEMETRY"] !== "0";
export const sampled: Set<string> = new Set();
export function enter(site: string): Token { bump(stats.enter, site, 1); return next++; }
export function leave(site: string, token: Token): void { if (token) bump(stats.leave, site, 1); }
export function error(site: string, token: Token, err: unknown): void {
  if (token && err !== undefined) bump(stats.error, site, 1);
}
export function loop(site: string, iterations: number): void { bump(stats.loop, site, iterations); }
export function value(site: string, v: unknown): void {
  bump(stats.value, site, 1);
  if ((stats.value[site] ?? 0) >= 3) sampled.add(site);
  void v;
}
export function attr(obj: unknown, path: string): unknown {
  let current: unknown = obj;
  for (const part of path.split(".")) {
    if (current === null || (typeof current !== "object" && typeof current !== "function")) return undefined;
    const d = Object.getOwnPropertyDescriptor(current, part);
    if (!d || !("value" in d)) return undefined;
    current = d.value;
  }
  return current;
}
export function flush(): void {}
"""

_DTS = """\
export type Token = number;
export declare const on: boolean;
export declare const sampled: Set<string>;
export declare function enter(site: string): Token;
export declare function leave(site: string, token: Token): void;
export declare function error(site: string, token: Token, err: unknown): void;
export declare function loop(site: string, iterations: number): void;
export declare function value(site: string, v: unknown): void;
export declare function attr(obj: unknown, path: string): unknown;
export declare function flush(): void;
"""


def helper_source(flavor: Literal["esm", "cjs", "ts", "dts"]) -> bytes:
    head = HELPER_MARKER + b" stand-in (js-core tests); do not edit\n"
    if flavor == "esm":
        return head + _JS_BODY.replace("EXPORT ", "export ").encode()
    if flavor == "cjs":
        body = _JS_BODY.replace("EXPORT const on", "const on").replace(
            "EXPORT const sampled", "const sampled"
        )
        body = body.replace("EXPORT ", "")
        names = "on, sampled, enter, leave, error, loop, value, attr, flush"
        return head + (f'"use strict";\n{body}module.exports = {{ {names} }};\n').encode()
    if flavor == "ts":
        return head + _TS.encode()
    return head + _DTS.encode()
