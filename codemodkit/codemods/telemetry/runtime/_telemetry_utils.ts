// codemod-telemetry-helper: 1
/*
 * Runtime helper for JavaScript and TypeScript instrumented by `codemod telemetry`
 * (codemodkit). Written by the tool next to the code it serves and rewritten when the
 * tool changes; `codemod telemetry --remove` deletes it again.
 *
 * What it does at run time:
 *
 * - If the application has registered an OpenTelemetry tracer provider (found through
 *   the API's global registry, without importing `@opentelemetry/api`), every
 *   instrumented call becomes a span named by its qualified name, with the attributes
 *   `code.function.name`, `code.file.path` and `code.line.number`; errors are recorded
 *   on the span; loop counts and variable values become span events of the newest
 *   running span of their function. Spans are not made the active span (that needs
 *   the API's `context.with`, which only runs a callback): they are children of
 *   whatever span the application has active.
 * - Otherwise it aggregates in memory - per function: calls, errors (by type),
 *   total/min/max duration; per loop: runs, iterations, longest run; per variable: the
 *   types and a few distinct values of its first assignments (then the instrumented
 *   code stops calling) - and appends one JSON line per site to
 *   `$CODEMOD_TELEMETRY_FILE` (default `telemetry.jsonl` in the working directory at
 *   load time) every 10 seconds and at exit. Lines are deltas: sum them per site.
 * - A site key may end in `|event` (a name a model chose for the function or loop):
 *   it is reported as `event` in JSON lines and `codemod.event` on spans and events.
 *   `attr(obj, "a.b")` reads plain data properties for the record without running
 *   getters or Proxy traps.
 * - `CODEMOD_TELEMETRY=0` turns everything into no-ops, and so does a platform without
 *   `process` (a browser); `CODEMOD_TELEMETRY_VALUES=0` records variable types but no
 *   values.
 *
 * It never writes to stdout or stderr, never throws into the instrumented code, never
 * emits warnings, and never runs user code to record a value: no getter, `toJSON`,
 * `toString` or Proxy trap. Only primitives and plain arrays and objects are
 * rendered; anything else is recorded by its constructor's name.
 *
 * It type-checks without `@types/node`, the DOM library or any ES2015 library (Node's
 * globals are reached through `globalThis`), so it compiles wherever the project does.
 */

/** What `enter` hands back: a start time in ms, a span, or false (nothing to close). */
export type Token = number | object | false;

/** The variable sites that have been sampled enough (a `Set` at run time). */
interface SiteSet {
  has(site: string): boolean;
  readonly size: number;
}

interface MutableSiteSet extends SiteSet {
  add(site: string): unknown;
  clear(): void;
}

interface Dict<T> {
  [key: string]: T | undefined;
}

interface ProcessLike {
  readonly env?: Dict<string>;
  readonly pid?: number;
  cwd?(): string;
  on?(event: string, listener: () => void): unknown;
  listeners?(event: string): unknown;
  getBuiltinModule?(name: string): unknown;
}

interface FsLike {
  appendFileSync(path: string, data: string): void;
}

interface PathLike {
  resolve(path: string): string;
}

interface UtilLike {
  readonly types?: { isProxy?(value: unknown): boolean };
}

interface TimerLike {
  unref?(): unknown;
}

interface GlobalLike {
  readonly process?: ProcessLike;
  readonly performance?: { now(): number };
  readonly Set?: new () => MutableSiteSet;
  readonly Symbol?: { for(key: string): unknown };
  readonly setInterval?: (callback: () => void, ms: number) => TimerLike;
}

interface Attributes {
  [key: string]: string | number;
}

interface SpanLike {
  end(): void;
  recordException(exception: unknown): void;
  setStatus(status: { code: number; message: string }): void;
  addEvent(name: string, attributes: Attributes): void;
  isRecording(): boolean;
}

interface TracerLike {
  startSpan(name: string, options: { attributes: Attributes }): SpanLike;
}

interface ContextLike {
  getValue(key: unknown): unknown;
}

/** The OpenTelemetry pieces, once the application has registered a provider. */
interface Otel {
  readonly tracer: TracerLike;
  readonly registry: object;
}

/** A site key split into its parts (see `info`). */
interface Info {
  readonly path: string;
  readonly line: number;
  readonly qualname: string;
  readonly variable: string | undefined; // undefined: a variable site that did not parse
  readonly event: string;
}

interface FunctionRecord {
  calls: number;
  errors: number;
  total: number;
  min: number;
  max: number;
  errorTypes: Dict<number> | undefined;
}

interface LoopRecord {
  runs: number;
  iterations: number;
  longest: number;
}

interface VariableRecord {
  fresh: number;
  seen: number;
  types: string[];
  samples: string[];
}

// The CommonJS wrapper's `require`, where there is one; declared here so that the file
// needs no `@types/node`. An ES module sees `typeof require === "undefined"`.
declare const require: ((name: string) => unknown) | undefined;

const FLUSH_EVERY_MS = 10000;
const CHECK_EVERY_MS = 1000;
const MAX_SAMPLES = 3; // distinct values kept per variable site
const SAMPLE_TRIES = 10; // assignments looked at per variable site (JSON lines mode)
const MAX_REPR = 120;
const MAX_OPEN_SPANS = 64; // per function: a generator never finished must not leak
const SPAN_KEY = "OpenTelemetry Context Key SPAN"; // the API's Symbol.for key

// Captured at load, so that fake timers and later monkey-patching by the application
// (or its tests) change nothing here.
const g = globalThis as unknown as GlobalLike;
const getOwn = Object.getOwnPropertyDescriptor;
const getProto = Object.getPrototypeOf;
const objectKeys = Object.keys;
const freeze = Object.freeze;
const createObject = Object.create;
const defineProperty = Object.defineProperty;
const hasOwn = Object.prototype.hasOwnProperty;
const objectProto: object = Object.prototype;
const arrayProto: object = Array.prototype;
const isArray = Array.isArray;
const quote = JSON.stringify;
const dateNow = Date.now;

/** What `attr` returns for a property it will not or cannot read. */
const COMPUTED: object = freeze(createObject(null) as object); // getter or Proxy
const UNSET: object = freeze(createObject(null) as object); // not there (yet)

function readProcess(): ProcessLike | undefined {
  try {
    const proc = g.process;
    return proc !== null && typeof proc === "object" ? proc : undefined;
  } catch {
    return undefined;
  }
}

const proc: ProcessLike | undefined = readProcess();

/** A Node built-in module, loaded synchronously where the platform allows. */
function builtin(name: string): unknown {
  try {
    if (proc !== undefined && typeof proc.getBuiltinModule === "function") {
      const loaded = proc.getBuiltinModule(name); // Node 20.16+, 22.3+
      if (loaded) {
        return loaded;
      }
    }
    if (typeof require === "function") {
      return require(name); // CommonJS
    }
  } catch {
    // not Node, or a bundle without built-ins
  }
  return undefined;
}

function readEnv(name: string): string | undefined {
  try {
    const env = proc !== undefined ? proc.env : undefined;
    const value = env !== undefined ? env[name] : undefined;
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/** As the Python helper reads it: unset is `fallback`; "", 0, false, no, off are off. */
function envFlag(name: string, fallback: boolean): boolean {
  const value = readEnv(name);
  if (value === undefined) {
    return fallback;
  }
  const text = value.trim().toLowerCase();
  return !(text === "0" || text === "false" || text === "no" || text === "off" || text === "");
}

/** Instrumented code skips every call when this is false. */
export const on: boolean = proc !== undefined && envFlag("CODEMOD_TELEMETRY", true);
const recordValues: boolean = envFlag("CODEMOD_TELEMETRY_VALUES", true);

let fs: FsLike | undefined;
let pathModule: PathLike | undefined;
let isProxy: ((value: unknown) => boolean) | undefined;

function useBuiltins(fsModule: unknown, path: unknown, util: unknown): void {
  if (fsModule !== null && typeof fsModule === "object") {
    fs = fsModule as FsLike;
  }
  if (path !== null && typeof path === "object") {
    pathModule = path as PathLike;
  }
  const types = util !== null && typeof util === "object" ? (util as UtilLike).types : undefined;
  if (types !== undefined && typeof types.isProxy === "function") {
    isProxy = types.isProxy;
  }
}

function loadBuiltins(): void {
  if (proc === undefined) {
    return; // not Node: attr() gives up on objects (no way to tell a Proxy)
  }
  // util even when off: attr() needs util.types.isProxy
  useBuiltins(on ? builtin("fs") : undefined, on ? builtin("path") : undefined, builtin("util"));
  if (!on || fs !== undefined) {
    return;
  }
  // An ES module on a Node without process.getBuiltinModule: only import() can load
  // built-ins there. Until it settles, values are recorded as "<object>" and nothing
  // is flushed (the counts wait in memory).
  try {
    const load = new Function("name", "return import(name)") as (
      name: string
    ) => { then(done: (module: unknown) => void, failed: () => void): unknown };
    const ignore = function (): void {
      // no such module here: telemetry stays in memory
    };
    load("node:fs").then(function (module: unknown): void {
      useBuiltins(module, undefined, undefined);
    }, ignore);
    load("node:util").then(function (module: unknown): void {
      useBuiltins(undefined, undefined, module);
    }, ignore);
  } catch {
    // code generation from strings is disabled: telemetry stays in memory
  }
}

loadBuiltins();

function resolvePath(path: string): string {
  try {
    if (pathModule !== undefined) {
      return pathModule.resolve(path);
    }
    if (path.charAt(0) !== "/" && proc !== undefined && typeof proc.cwd === "function") {
      return proc.cwd() + "/" + path;
    }
  } catch {
    // the working directory is gone: keep the path relative
  }
  return path;
}

const telemetryPath: string = resolvePath(readEnv("CODEMOD_TELEMETRY_FILE") || "telemetry.jsonl");

const perf = g.performance;
const perfNow: (() => number) | undefined =
  perf !== undefined && perf !== null && typeof perf.now === "function" ? perf.now : undefined;

/** Milliseconds as a double: from process start in Node, so always above zero. */
function clock(): number {
  return perfNow !== undefined ? perfNow.call(perf) : dateNow();
}

function symbolFor(key: string): unknown {
  const symbols = g.Symbol;
  return symbols !== undefined && typeof symbols.for === "function" ? symbols.for(key) : undefined;
}

function newSiteSet(): MutableSiteSet {
  const SetClass = g.Set;
  if (typeof SetClass === "function") {
    return new SetClass();
  }
  // Only an ES5 engine lacks Set; a dictionary behaves the same for has/add/clear.
  let members: Dict<boolean> = createObject(null) as Dict<boolean>;
  const fallback = {
    size: 0,
    has: function (site: string): boolean {
      return members[site] === true;
    },
    add: function (site: string): unknown {
      if (members[site] !== true) {
        members[site] = true;
        fallback.size++;
      }
      return fallback;
    },
    clear: function (): void {
      members = createObject(null) as Dict<boolean>;
      fallback.size = 0;
    },
  };
  return fallback;
}

const sampledSites: MutableSiteSet = newSiteSet();

/** Variable sites sampled enough: instrumented code tests membership here before
 * calling `value`, so a hot assignment costs a lookup, not a call. */
export const sampled: SiteSet = sampledSites;

// site -> record; dictionaries without a prototype, so no key is ever inherited
const functions: Dict<FunctionRecord> = createObject(null) as Dict<FunctionRecord>;
const loops: Dict<LoopRecord> = createObject(null) as Dict<LoopRecord>;
const variables: Dict<VariableRecord> = createObject(null) as Dict<VariableRecord>;
const infoCache: Dict<Info> = createObject(null) as Dict<Info>;
const variableInfoCache: Dict<Info> = createObject(null) as Dict<Info>;

let otel: Otel | undefined;
let nextCheck = 0;

// -- site keys -----------------------------------------------------------------------

/** Python's `str.rsplit(sep, limit)`. */
function rsplit(text: string, separator: string, limit: number): string[] {
  const parts: string[] = [];
  let end = text.length;
  while (parts.length < limit && end > 0) {
    const at = text.lastIndexOf(separator, end - 1);
    if (at < 0) {
      break;
    }
    parts.unshift(text.slice(at + 1, end));
    end = at;
  }
  parts.unshift(text.slice(0, end));
  return parts;
}

function isDigits(text: string): boolean {
  if (text.length === 0) {
    return false;
  }
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 48 || code > 57) {
      return false;
    }
  }
  return true;
}

/** Split a site key `path:line:qualname[:variable][|event]` (cached), exactly as the
 * Python helper does. */
function info(site: string, variable: boolean): Info {
  const cache = variable ? variableInfoCache : infoCache;
  const cached = cache[site];
  if (cached !== undefined) {
    return cached;
  }
  let key = site;
  let event = "";
  const bar = site.lastIndexOf("|");
  if (bar >= 0 && bar < site.length - 1 && site.indexOf(":", bar + 1) < 0) {
    key = site.slice(0, bar);
    event = site.slice(bar + 1);
  }
  const parts = rsplit(key, ":", variable ? 3 : 2);
  let parsed: Info;
  if (parts.length === (variable ? 4 : 3) && isDigits(parts[1] as string)) {
    parsed = {
      path: parts[0] as string,
      line: parseInt(parts[1] as string, 10),
      qualname: parts[2] as string,
      variable: variable ? parts[3] as string : undefined,
      event: event,
    };
  } else {
    parsed = { path: key, line: 0, qualname: key, variable: undefined, event: event };
  }
  cache[site] = parsed;
  return parsed;
}

// -- reading user values without running user code ------------------------------------

/** True only for an object known not to be a Proxy (so no trap can run). */
function isInspectable(value: object): boolean {
  return isProxy !== undefined && !isProxy(value);
}

function isDataDescriptor(descriptor: PropertyDescriptor): boolean {
  return hasOwn.call(descriptor, "value") || !hasOwn.call(descriptor, "get");
}

/** A data property of `target` or its prototypes: `COMPUTED` for a getter or a Proxy
 * on the way, `UNSET` when there is none. */
function readData(target: object, key: string): unknown {
  let current: object | null = target;
  while (current !== null) {
    if (!isInspectable(current)) {
      return COMPUTED;
    }
    const descriptor = getOwn(current, key);
    if (descriptor !== undefined) {
      return isDataDescriptor(descriptor) ? descriptor.value : COMPUTED;
    }
    current = getProto(current) as object | null;
  }
  return UNSET;
}

/** The constructor's name (`"Object"` without a prototype), or `typeof`. */
function typeName(value: unknown): string {
  if (value === null) {
    return "null";
  }
  const kind = typeof value;
  if (kind !== "object" && kind !== "function") {
    return kind;
  }
  if (value === COMPUTED || value === UNSET) {
    return "unrecorded";
  }
  try {
    if (isProxy === undefined) {
      return kind;
    }
    if (isProxy(value)) {
      return "Proxy";
    }
    const proto = getProto(value) as object | null;
    if (proto === null) {
      return "Object";
    }
    const constructor = readData(proto, "constructor");
    if (typeof constructor === "function") {
      const name = readData(constructor, "name");
      if (typeof name === "string" && name !== "") {
        return name;
      }
    }
  } catch {
    // an exotic object: fall through
  }
  return kind === "function" ? "Function" : "Object";
}

/** The name an error is counted under: its `name` data property when that says more
 * than "Error" (`e.name = "ValidationError"`), else its class (`class NotFound extends
 * Error`), else `typeof` for a thrown primitive. */
function errorName(error: unknown): string {
  try {
    if (error !== null && typeof error === "object" && isInspectable(error)) {
      const name = readData(error, "name");
      if (typeof name === "string" && name !== "" && name !== "Error") {
        return name;
      }
    }
  } catch {
    // fall back to the class name
  }
  return typeName(error);
}

function isIdentifier(key: string): boolean {
  if (key.length === 0) {
    return false;
  }
  for (let index = 0; index < key.length; index++) {
    const code = key.charCodeAt(index);
    const letter = (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
    const other = code === 36 || code === 95 || (index > 0 && code >= 48 && code <= 57);
    if (!letter && !other) {
      return false;
    }
  }
  return true;
}

function renderBigint(value: bigint): string {
  const approximate = Number(value);
  if (approximate <= 1e30 && approximate >= -1e30) {
    return String(value) + "n";
  }
  let magnitude = approximate < 0 ? -approximate : approximate;
  if (magnitude === Infinity) {
    return "<bigint of more than 1024 bits>";
  }
  let bits = 0;
  while (magnitude >= 1) {
    magnitude /= 2; // exact in binary floating point
    bits++;
  }
  return "<bigint of " + bits + " bits>";
}

function renderSlot(descriptor: PropertyDescriptor | undefined, depth: number, parents: object[]): string {
  if (descriptor === undefined) {
    return "<empty>";
  }
  return isDataDescriptor(descriptor) ? render(descriptor.value, depth, parents) : "<computed>";
}

/** A short, JavaScript-like rendering: primitives, and plain arrays and objects two
 * levels deep, five items each. `parents` guards against cycles. */
function render(value: unknown, depth: number, parents: object[]): string {
  if (value === COMPUTED) {
    return "<computed>";
  }
  if (value === UNSET) {
    return "<unset>";
  }
  switch (typeof value) {
    case "string":
      return value.length > MAX_REPR ? quote(value.slice(0, MAX_REPR)) + "..." : quote(value);
    case "number":
      return value === 0 && 1 / value < 0 ? "-0" : String(value);
    case "bigint":
      return renderBigint(value);
    case "boolean":
      return value ? "true" : "false";
    case "undefined":
      return "undefined";
    case "symbol":
      return String(value); // Symbol(description), without calling toString
    case "function":
      return "<" + typeName(value) + ">";
    default:
      break;
  }
  if (value === null) {
    return "null";
  }
  const object = value as object;
  if (isProxy === undefined) {
    return "<object>";
  }
  if (isProxy(object)) {
    return "<Proxy>";
  }
  if (parents.indexOf(object) >= 0) {
    return "<cycle>";
  }
  const proto = getProto(object) as object | null;
  const items: string[] = [];
  if (isArray(object) && proto === arrayProto) {
    const length = (object as unknown[]).length; // an own data property of every array
    if (depth >= 2) {
      return "<Array of " + length + ">";
    }
    parents.push(object);
    for (let index = 0; index < length; index++) {
      if (index === 5) {
        items.push("...");
        break;
      }
      items.push(renderSlot(getOwn(object, String(index)), depth + 1, parents));
    }
    parents.pop();
    return "[" + items.join(", ") + "]";
  }
  if (proto === objectProto || proto === null) {
    if (depth >= 2) {
      return "<Object of " + objectKeys(object).length + ">";
    }
    parents.push(object);
    for (const key in object) {
      if (!hasOwn.call(object, key)) {
        continue; // inherited: only Object.prototype can be here
      }
      if (items.length === 5) {
        items.push("...");
        break;
      }
      const label = isIdentifier(key) ? key : quote(key);
      items.push(label + ": " + renderSlot(getOwn(object, key), depth + 1, parents));
    }
    parents.pop();
    return "{" + items.join(", ") + "}";
  }
  return "<" + typeName(object) + ">";
}

function safeRender(value: unknown): string {
  let text: string;
  try {
    text = render(value, 0, []);
  } catch {
    return "<unrepresentable>";
  }
  return text.length <= MAX_REPR ? text : text.slice(0, MAX_REPR) + "...";
}

/** `obj.a.b` for plain data only: own or inherited data properties, never a getter or
 * a Proxy trap (those are `<computed>`); a missing property is `<unset>`. Primitives
 * are read through their wrapper (`"abc".length`). */
export function attr(obj: unknown, path: string): unknown {
  try {
    let current: unknown = obj;
    const names = path.split(".");
    for (let index = 0; index < names.length; index++) {
      if (current === null || current === undefined) {
        return UNSET;
      }
      if (current === COMPUTED || current === UNSET) {
        return current;
      }
      const target = typeof current === "object" || typeof current === "function" ? current : Object(current);
      current = readData(target as object, names[index] as string);
    }
    return current;
  } catch {
    return COMPUTED;
  }
}

// -- aggregation (JSON lines) -----------------------------------------------------------

function functionRecord(site: string): FunctionRecord {
  let record = functions[site];
  if (record === undefined) {
    record = { calls: 0, errors: 0, total: 0, min: Infinity, max: 0, errorTypes: undefined };
    functions[site] = record;
  }
  return record;
}

function leaveJson(site: string, start: number): void {
  const elapsed = clock() - start;
  const record = functionRecord(site);
  record.calls++;
  record.total += elapsed;
  if (elapsed < record.min) {
    record.min = elapsed;
  }
  if (elapsed > record.max) {
    record.max = elapsed;
  }
}

function errorJson(site: string, error: unknown): void {
  const record = functionRecord(site);
  record.errors++;
  const name = errorName(error);
  let kinds = record.errorTypes;
  if (kinds === undefined) {
    kinds = createObject(null) as Dict<number>;
    record.errorTypes = kinds;
  }
  kinds[name] = (kinds[name] || 0) + 1;
}

function loopJson(site: string, iterations: number): void {
  let record = loops[site];
  if (record === undefined) {
    record = { runs: 0, iterations: 0, longest: 0 };
    loops[site] = record;
  }
  record.runs++;
  record.iterations += iterations;
  if (iterations > record.longest) {
    record.longest = iterations;
  }
}

function valueJson(site: string, value: unknown): void {
  let record = variables[site];
  if (record === undefined) {
    record = { fresh: 0, seen: 0, types: [], samples: [] };
    variables[site] = record;
  }
  record.fresh++;
  record.seen++;
  const kind = typeName(value);
  if (record.types.indexOf(kind) < 0) {
    record.types.push(kind);
  }
  if (recordValues && record.samples.length < MAX_SAMPLES) {
    const text = safeRender(value);
    if (record.samples.indexOf(text) < 0) {
      record.samples.push(text);
    }
  }
  if (record.seen >= SAMPLE_TRIES) {
    sampledSites.add(site); // instrumented code stops calling for this site
  }
}

// -- OpenTelemetry ------------------------------------------------------------------------

// file + "\n" + qualname -> that function's running spans, newest last: loop and
// variable events go to the newest (spans are never made active, see the top).
const openSpans: Dict<SpanLike[]> = createObject(null) as Dict<SpanLike[]>;

function dataValue(target: unknown, key: unknown): unknown {
  if (key === undefined || target === null || (typeof target !== "object" && typeof target !== "function")) {
    return undefined;
  }
  const descriptor = getOwn(target, key as string);
  return descriptor !== undefined && isDataDescriptor(descriptor) ? descriptor.value : undefined;
}

/** Is `provider` a real SDK, not the API's proxy without a delegate (or its no-op)? */
function isRealProvider(provider: object): boolean {
  const proxy = provider as { getDelegate?(): unknown };
  if (typeof proxy.getDelegate !== "function") {
    return true; // registered directly, not through the API's proxy
  }
  // The delegate field when it is there (getDelegate() would hand back the no-op
  // provider in place of a missing one); a renamed field: the no-op's class name.
  const own = getOwn(provider, "_delegate");
  const delegate = own !== undefined ? dataValue(provider, "_delegate") : proxy.getDelegate();
  return (
    delegate !== null &&
    typeof delegate === "object" &&
    delegate !== provider &&
    typeName(delegate) !== "NoopTracerProvider"
  );
}

/** Switch to spans once the application registers a real tracer provider. */
function checkOtel(): void {
  if (otel !== undefined) {
    return;
  }
  const registry = dataValue(globalThis, symbolFor("opentelemetry.js.api.1"));
  const provider = dataValue(registry, "trace") as { getTracer?(name: string): unknown } | undefined;
  if (provider === undefined || provider === null || typeof provider.getTracer !== "function") {
    return;
  }
  if (!isRealProvider(provider)) {
    return;
  }
  const tracer = provider.getTracer("codemod.telemetry") as TracerLike | undefined;
  if (tracer === undefined || tracer === null || typeof tracer.startSpan !== "function") {
    return;
  }
  otel = { tracer: tracer, registry: registry as object };
  sampledSites.clear(); // with spans, every assignment is an event of its call's span
}

function codeAttributes(site: Info, attributes: Attributes): Attributes {
  attributes["code.function.name"] = site.qualname;
  attributes["code.file.path"] = site.path;
  attributes["code.line.number"] = site.line;
  if (site.event !== "") {
    attributes["codemod.event"] = site.event;
  }
  return attributes;
}

function startSpan(tracer: TracerLike, site: string): SpanLike {
  const parsed = info(site, false);
  const span = tracer.startSpan(parsed.qualname, {
    attributes: codeAttributes(parsed, {}),
  });
  const key = parsed.path + "\n" + parsed.qualname;
  const running = openSpans[key] || (openSpans[key] = []);
  if (running.length >= MAX_OPEN_SPANS) {
    running.shift();
  }
  running.push(span);
  return span;
}

function endSpan(site: string, span: SpanLike): void {
  const parsed = info(site, false);
  const key = parsed.path + "\n" + parsed.qualname;
  const running = openSpans[key];
  if (running !== undefined) {
    const index = running.lastIndexOf(span);
    if (index >= 0) {
      running.splice(index, 1);
    }
    if (running.length === 0) {
      delete openSpans[key];
    }
  }
  span.end();
}

/** An exception for `recordException` built from data properties only: the SDK
 * would otherwise read `message`, `name` and `stack` through any getter. */
function exceptionFor(error: unknown): unknown {
  if (typeof error === "string") {
    return error;
  }
  const exception: { name: string; message: string; stack?: string } = {
    name: errorName(error),
    message: "",
  };
  if (error !== null && typeof error === "object" && isInspectable(error)) {
    const message = readData(error, "message");
    exception.message = typeof message === "string" ? message : "";
    // V8 formats `stack` on first read, reading `name` and `message` through any
    // getter: only read it when both are plain data.
    if (message !== COMPUTED && readData(error, "name") !== COMPUTED) {
      const stack = readData(error, "stack");
      if (typeof stack === "string") {
        exception.stack = stack;
      }
    }
  } else {
    exception.message = safeRender(error);
  }
  return exception;
}

function eventSpan(parsed: Info): SpanLike | undefined {
  const running = openSpans[parsed.path + "\n" + parsed.qualname];
  if (running !== undefined && running.length > 0) {
    return running[running.length - 1];
  }
  // Not inside an instrumented call of its own function: the application's active
  // span, through the context manager registered with the API, if any.
  if (otel === undefined) {
    return undefined;
  }
  const manager = dataValue(otel.registry, "context") as { active?(): unknown } | undefined;
  if (manager === undefined || manager === null || typeof manager.active !== "function") {
    return undefined;
  }
  const context = manager.active() as ContextLike | undefined;
  if (context === undefined || context === null || typeof context.getValue !== "function") {
    return undefined;
  }
  const span = context.getValue(symbolFor(SPAN_KEY)) as SpanLike | undefined;
  return span !== undefined && span !== null && typeof span.addEvent === "function" ? span : undefined;
}

function addEvent(name: string, site: string, variable: boolean, attributes: Attributes): void {
  const parsed = info(site, variable);
  const span = eventSpan(parsed);
  if (span !== undefined && span.isRecording()) {
    span.addEvent(name, codeAttributes(parsed, attributes));
  }
}

// -- the API instrumented code calls ---------------------------------------------------

/** Start timing a call of `site` (or start its span). */
export function enter(site: string): Token {
  if (!on) {
    return false;
  }
  try {
    const now = clock();
    if (now >= nextCheck) {
      nextCheck = now + CHECK_EVERY_MS;
      checkOtel();
    }
    if (otel !== undefined) {
      try {
        return startSpan(otel.tracer, site);
      } catch {
        // the SDK failed: time the call instead
      }
    }
    return now;
  } catch {
    return false;
  }
}

/** End the call `enter` started. */
export function leave(site: string, token: Token): void {
  if (!on) {
    return;
  }
  try {
    if (typeof token === "number") {
      leaveJson(site, token); // also a call entered before the switch to spans
    } else if (token) {
      endSpan(site, token as SpanLike);
    }
  } catch {
    // never into user code
  }
}

/** Count an error thrown out of the call (instrumented code rethrows it). */
export function error(site: string, token: Token, err: unknown): void {
  if (!on) {
    return;
  }
  try {
    if (token && typeof token === "object") {
      const span = token as SpanLike;
      span.recordException(exceptionFor(err));
      span.setStatus({ code: 2, message: errorName(err) }); // SpanStatusCode.ERROR
    } else {
      errorJson(site, err);
    }
  } catch {
    // never into user code
  }
}

/** A loop at `site` finished a run of `iterations`. */
export function loop(site: string, iterations: number): void {
  if (!on || typeof iterations !== "number") {
    return;
  }
  try {
    if (otel !== undefined) {
      addEvent("codemod.loop", site, false, { "codemod.loop.iterations": iterations });
    } else {
      loopJson(site, iterations);
    }
  } catch {
    // never into user code
  }
}

/** The variable at `site` was assigned `val`. */
export function value(site: string, val: unknown): void {
  if (!on) {
    return;
  }
  try {
    if (otel !== undefined) {
      const attributes: Attributes = {
        "codemod.variable.name": info(site, true).variable || "",
        "codemod.variable.type": typeName(val),
      };
      if (recordValues) {
        attributes["codemod.variable.value"] = safeRender(val);
      }
      addEvent("codemod.variable", site, true, attributes);
    } else {
      valueJson(site, val);
    }
  } catch {
    // never into user code
  }
}

// -- output ------------------------------------------------------------------------------

function field(name: string, text: string): string {
  return quote(name) + ":" + text;
}

function counts(kinds: Dict<number>): string {
  const items: string[] = [];
  for (const kind in kinds) {
    items.push(field(kind, String(kinds[kind])));
  }
  return "{" + items.join(",") + "}";
}

function list(texts: string[]): string {
  const items: string[] = [];
  for (let index = 0; index < texts.length; index++) {
    items.push(quote(texts[index]));
  }
  return "[" + items.join(",") + "]";
}

/** Take the counts gathered since the last flush, as JSON lines. The fields and their
 * order are the Python helper's; JSON is built by hand from our own strings and
 * numbers, so no `toJSON` anywhere can run. */
function drain(): string {
  const lines: string[] = [];
  const pid = String(proc !== undefined && typeof proc.pid === "number" ? proc.pid : 0);
  const now = String(Math.round(dateNow()) / 1000);
  for (const site in functions) {
    const record = functions[site] as FunctionRecord;
    const calls = record.calls;
    const errors = record.errors;
    const total = record.total;
    const low = record.min;
    const high = record.max;
    const kinds = record.errorTypes;
    record.calls = 0;
    record.errors = 0;
    record.total = 0;
    record.min = Infinity;
    record.max = 0;
    record.errorTypes = undefined;
    if (calls || errors) {
      const parsed = info(site, false);
      const fields = [
        field("type", '"function"'),
        field("name", quote(parsed.qualname)),
        field("file", quote(parsed.path)),
        field("line", String(parsed.line)),
        field("calls", String(calls)),
        field("errors", String(errors)),
        field("total_ns", String(Math.round(total * 1e6))),
        field("min_ns", String(calls ? Math.round(low * 1e6) : 0)),
        field("max_ns", String(Math.round(high * 1e6))),
        field("pid", pid),
        field("time", now),
      ];
      if (kinds !== undefined) {
        fields.push(field("error_types", counts(kinds)));
      }
      if (parsed.event !== "") {
        fields.push(field("event", quote(parsed.event)));
      }
      lines.push("{" + fields.join(",") + "}\n");
    }
  }
  for (const site in loops) {
    const record = loops[site] as LoopRecord;
    const runs = record.runs;
    const iterations = record.iterations;
    const longest = record.longest;
    record.runs = 0;
    record.iterations = 0;
    record.longest = 0;
    if (runs) {
      const parsed = info(site, false);
      const fields = [
        field("type", '"loop"'),
        field("function", quote(parsed.qualname)),
        field("file", quote(parsed.path)),
        field("line", String(parsed.line)),
        field("runs", String(runs)),
        field("iterations", String(iterations)),
        field("max_iterations", String(longest)),
        field("pid", pid),
        field("time", now),
      ];
      if (parsed.event !== "") {
        fields.push(field("event", quote(parsed.event)));
      }
      lines.push("{" + fields.join(",") + "}\n");
    }
  }
  for (const site in variables) {
    const record = variables[site] as VariableRecord;
    const fresh = record.fresh;
    record.fresh = 0;
    if (fresh) {
      const parsed = info(site, true);
      const fields = [
        field("type", '"variable"'),
        field("function", quote(parsed.qualname)),
        field("name", parsed.variable === undefined ? "null" : quote(parsed.variable)),
        field("file", quote(parsed.path)),
        field("line", String(parsed.line)),
        field("sampled", String(fresh)),
        field("value_types", list(record.types)),
        field("pid", pid),
        field("time", now),
      ];
      if (recordValues) {
        fields.push(field("samples", list(record.samples)));
      }
      lines.push("{" + fields.join(",") + "}\n");
    }
  }
  return lines.join("");
}

/** Append what was gathered since the last flush to the telemetry file. */
export function flush(): void {
  if (!on || fs === undefined) {
    return; // without a file system the counts wait in memory
  }
  try {
    const text = drain();
    if (text !== "") {
      fs.appendFileSync(telemetryPath, text); // O_APPEND: one write, whole lines
    }
  } catch {
    // unwritable file: telemetry is lost, the program is not
  }
}

/** Flush at exit and every 10 s. One `exit` listener and one timer serve every copy
 * of this helper in the process (Jest loads modules once per test file, and a
 * monorepo may hold several copies): more listeners would make Node warn. */
function installFlushers(): void {
  if (!on || proc === undefined || typeof proc.on !== "function") {
    return;
  }
  try {
    const listeners = typeof proc.listeners === "function" ? proc.listeners("exit") : undefined;
    if (isArray(listeners)) {
      for (let index = 0; index < listeners.length; index++) {
        const registered = dataValue(listeners[index], "codemodTelemetryFlushers");
        if (isArray(registered)) {
          registered.push(flush);
          return;
        }
      }
    }
    const flushers: Array<() => void> = [flush];
    const flushAll = function (): void {
      for (let index = 0; index < flushers.length; index++) {
        try {
          (flushers[index] as () => void)();
        } catch {
          // the next copy still flushes
        }
      }
    };
    defineProperty(flushAll, "codemodTelemetryFlushers", { value: flushers });
    proc.on("exit", flushAll);
    const every = g.setInterval;
    if (typeof every === "function") {
      const timer = every(flushAll, FLUSH_EVERY_MS);
      if (timer !== null && typeof timer === "object" && typeof timer.unref === "function") {
        timer.unref(); // never keeps the process alive
      }
    }
  } catch {
    // no exit hook: flush() is still there to call
  }
}

installFlushers();
