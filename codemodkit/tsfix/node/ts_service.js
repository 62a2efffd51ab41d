#!/usr/bin/env node
// codemod tsfix: a long-lived TypeScript language-service helper (plain CommonJS, no build).
//
//   node ts_service.js [PATH_OF_TYPESCRIPT_PACKAGE]     (or $CODEMOD_TSFIX_TYPESCRIPT)
//
// Protocol: JSON lines over stdio. Each request is one line
//   {"id": 1, "method": "load", "params": {...}}
// and gets exactly one response line
//   {"id": 1, "result": ...}   or   {"id": 1, "error": {"message": "..."}}
// Nothing else is ever written to stdout (logs go to stderr). A bad request answers an
// error and the helper carries on; end of stdin ends the helper.
//
// Offsets on the wire are code-point indices into the file's text as Python reads it
// (UTF-8 BOM included), never TypeScript's UTF-16 offsets: the conversion happens here,
// where both texts are at hand, and costs nothing for files without astral characters.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const util = require('util');

const PROTOCOL = 1;
// CODEMOD_TSFIX_TIMING=1: how long each request and each phase of a check took (stderr)
const TIMING = !!process.env.CODEMOD_TSFIX_TIMING;
function timing(label, since) {
  if (TIMING) process.stderr.write(`[timing] ${label} ${(performance.now() - since).toFixed(1)} ms\n`);
}
const writeOut = process.stdout.write.bind(process.stdout);
// Anything that logs (TypeScript's own console use included) must not corrupt stdout.
for (const name of ['log', 'info', 'warn', 'debug', 'trace']) {
  console[name] = (...args) => process.stderr.write(util.format(...args) + '\n');
}

const tsPath = process.argv[2] || process.env.CODEMOD_TSFIX_TYPESCRIPT || 'typescript';
let ts;
try {
  ts = require(tsPath);
} catch (e) {
  process.stderr.write(`cannot load TypeScript from ${tsPath}: ${e && e.message}\n`);
  process.exit(3);
}
if (typeof ts.createLanguageService !== 'function') {
  process.stderr.write(
    `TypeScript ${ts.version || '?'} at ${tsPath} has no JavaScript language-service API ` +
      '(TypeScript 7 and later: use the LSP backend)\n',
  );
  process.exit(4);
}

// ---------------------------------------------------------------------------------------
// Offsets: UTF-16 (TypeScript) <-> code points (Python), per text.

/** Number of entries of the sorted array `arr` below `x`. */
function countBelow(arr, x) {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const ASTRAL = /[\uD800-\uDBFF][\uDC00-\uDFFF]/;

class Offsets {
  /** `text` is what TypeScript sees (no BOM); `bom` says Python's text has one more char. */
  constructor(text, bom) {
    this.shift = bom ? 1 : 0;
    this.pairs = null; // UTF-16 indices where a surrogate pair starts
    this.pairsCp = null; // the same pairs as code-point indices (without the BOM shift)
    if (ASTRAL.test(text)) {
      const pairs = [];
      const pairsCp = [];
      for (let i = 0; i < text.length - 1; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0xd800 && c <= 0xdbff) {
          const d = text.charCodeAt(i + 1);
          if (d >= 0xdc00 && d <= 0xdfff) {
            pairsCp.push(i - pairs.length);
            pairs.push(i);
            i++;
          }
        }
      }
      this.pairs = pairs;
      this.pairsCp = pairsCp;
    }
  }

  toCp(u16) {
    // a pair counts once it ends at or before u16
    const astral = this.pairs ? countBelow(this.pairs, u16 - 1) : 0;
    return u16 - astral + this.shift;
  }

  toU16(cp) {
    const c = Math.max(0, cp - this.shift);
    return c + (this.pairsCp ? countBelow(this.pairsCp, c) : 0);
  }

  span(start, length) {
    const s = this.toCp(start);
    return [s, this.toCp(start + length) - s];
  }
}

// ---------------------------------------------------------------------------------------
// Documents: the texts every project sees. `baseline` holds the current state (disk, then
// commits); `overlay` holds the texts of the check in progress, if any.

let versionCounter = 0;

class Doc {
  constructor(fileName, rawText) {
    this.fileName = fileName;
    this.bom = rawText.charCodeAt(0) === 0xfeff;
    this.text = this.bom ? rawText.slice(1) : rawText; // what TypeScript sees
    this.version = String(++versionCounter);
    this._snapshot = null;
    this._offsets = null;
  }
  get rawText() {
    return this.bom ? '\ufeff' + this.text : this.text;
  }
  get snapshot() {
    return this._snapshot || (this._snapshot = ts.ScriptSnapshot.fromString(this.text));
  }
  get offsets() {
    return this._offsets || (this._offsets = new Offsets(this.text, this.bom));
  }
}

function readDisk(fileName) {
  let buffer;
  try {
    buffer = fs.readFileSync(fileName);
  } catch {
    return undefined;
  }
  if (buffer.length >= 2 && ((buffer[0] === 0xfe && buffer[1] === 0xff) || (buffer[0] === 0xff && buffer[1] === 0xfe))) {
    return ts.sys.readFile(fileName); // UTF-16: let TypeScript decode it
  }
  return buffer.toString('utf8'); // a UTF-8 BOM stays, as U+FEFF; Doc strips it
}

// ---------------------------------------------------------------------------------------
// State of one loaded tsconfig (and the projects it references).

let state = null;

function newState(configPath) {
  return {
    configPath,
    registry: ts.createDocumentRegistry(ts.sys.useCaseSensitiveFileNames, ts.sys.getCurrentDirectory()),
    baseline: new Map(), // fileName -> Doc
    overlay: new Map(), // fileName -> Doc, only while a check is pending
    stateVersion: 0, // bumped on every change of texts (LanguageServiceHost.getProjectVersion)
    parsedConfigs: new Map(), // config path -> ParsedCommandLine | undefined
    projects: [], // {config, parsed, ls, files: [fileName]}
    owner: new Map(), // fileName -> project: the project whose diagnostics cover the file
    configDiagnostics: [], // wire diagnostics, fixed at load
    diagCache: new Map(), // fileName -> {version, diags}: the baseline's per-file diagnostics
    shapes: new Map(), // fileName -> .d.ts text or null: the baseline's shapes, where known
    graph: null, // {importers: Map<file, Set<file>>, info: Map<file, {module, augments}>}
    pending: null, // the last check: {texts, changed, results}
  };
}

function currentDoc(fileName) {
  const s = state;
  let doc = s.overlay.get(fileName) || s.baseline.get(fileName);
  if (doc) return doc;
  const raw = readDisk(fileName);
  if (raw === undefined) return undefined;
  doc = new Doc(fileName, raw);
  s.baseline.set(fileName, doc);
  return doc;
}

function parseConfig(configPath) {
  const s = state;
  if (s.parsedConfigs.has(configPath)) return s.parsedConfigs.get(configPath);
  const unrecoverable = [];
  const host = {
    useCaseSensitiveFileNames: ts.sys.useCaseSensitiveFileNames,
    readDirectory: ts.sys.readDirectory,
    fileExists: ts.sys.fileExists,
    readFile: ts.sys.readFile,
    getCurrentDirectory: () => path.dirname(configPath),
    onUnRecoverableConfigFileDiagnostic: (d) => unrecoverable.push(d),
  };
  let parsed;
  try {
    parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, host);
  } catch (e) {
    unrecoverable.push({ messageText: `cannot parse ${configPath}: ${e.message}`, code: 5083, category: 1 });
  }
  for (const d of unrecoverable) s.configDiagnostics.push(wireDiagnostic(d));
  if (parsed) for (const d of parsed.errors) s.configDiagnostics.push(wireDiagnostic(d));
  s.parsedConfigs.set(configPath, parsed);
  return parsed;
}

function makeHost(project) {
  const s = state;
  const parsed = project.parsed;
  return {
    getCompilationSettings: () => parsed.options,
    getScriptFileNames: () => parsed.fileNames,
    getProjectReferences: () => parsed.projectReferences,
    getProjectVersion: () => String(s.stateVersion),
    getScriptVersion: (f) => {
      const doc = currentDoc(f);
      return doc ? doc.version : '0';
    },
    getScriptSnapshot: (f) => {
      const doc = currentDoc(f);
      return doc ? doc.snapshot : undefined;
    },
    getCurrentDirectory: () => path.dirname(project.config),
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    getNewLine: () => ts.sys.newLine,
    useCaseSensitiveFileNames: () => ts.sys.useCaseSensitiveFileNames,
    fileExists: (f) => s.overlay.has(f) || s.baseline.has(f) || ts.sys.fileExists(f),
    readFile: (f, enc) => {
      const doc = s.overlay.get(f) || s.baseline.get(f);
      return doc ? doc.text : ts.sys.readFile(f, enc);
    },
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
    realpath: ts.sys.realpath,
    // A file of a referenced project is read from its source, as editors do: edits to it
    // are seen at once, and no built .d.ts has to exist.
    useSourceOfProjectReferenceRedirect: () => true,
    getParsedCommandLine: (f) => parseConfig(path.resolve(f)),
  };
}

function configFileOf(ref) {
  return ts.resolveProjectReferencePath ? ts.resolveProjectReferencePath(ref) : ref.path;
}

function isOwnCode(program, sf) {
  return !(
    program.isSourceFileDefaultLibrary(sf) ||
    program.isSourceFileFromExternalLibrary(sf) ||
    sf.fileName.split('/').includes('node_modules')
  );
}

function load(params) {
  const config = realpath(path.resolve(String(params.tsconfig)));
  state = newState(config);
  const s = state;
  if (!ts.sys.fileExists(config)) throw new Error(`no such tsconfig: ${config}`);
  // Load the config and every config it references (depth first, each once).
  const order = [];
  const visit = (configPath, stack) => {
    if (stack.includes(configPath) || order.some((p) => p.config === configPath)) return;
    const parsed = parseConfig(configPath);
    if (!parsed) return;
    for (const ref of parsed.projectReferences || []) visit(path.resolve(configFileOf(ref)), [...stack, configPath]);
    order.push({ config: configPath, parsed });
  };
  visit(config, []);
  for (const project of order) {
    // A solution config (`files: []` + references) has nothing of its own to check.
    if (project.parsed.fileNames.length === 0) continue;
    project.ls = ts.createLanguageService(makeHost(project), s.registry);
    project.files = [];
    s.projects.push(project);
  }
  // Root files first belong to their own project, then other files a program pulls in.
  for (const project of s.projects) {
    for (const f of project.parsed.fileNames) {
      if (!s.owner.has(f)) s.owner.set(f, project);
    }
  }
  for (const project of s.projects) {
    const program = project.ls.getProgram();
    for (const sf of program.getSourceFiles()) {
      if (!isOwnCode(program, sf)) continue;
      if (!s.owner.has(sf.fileName)) s.owner.set(sf.fileName, project);
    }
  }
  for (const [f, project] of s.owner) project.files.push(f);
  return {
    tsconfig: config,
    projects: s.projects.map((p) => ({ tsconfig: p.config, files: p.files.length })),
    files: [...s.owner.keys()],
    configDiagnostics: s.configDiagnostics,
  };
}

function realpath(p) {
  try {
    return ts.sys.realpath ? ts.sys.realpath(p) : fs.realpathSync(p);
  } catch {
    return p;
  }
}

function requireState() {
  if (!state) throw new Error('no project loaded: send `load` first');
  return state;
}

// ---------------------------------------------------------------------------------------
// Diagnostics on the wire.

const CATEGORY = ['warning', 'error', 'suggestion', 'message'];

function offsetsOf(fileName, text) {
  const doc = state && (state.overlay.get(fileName) || state.baseline.get(fileName));
  if (doc && doc.text === text) return doc.offsets;
  return new Offsets(text, false);
}

function wireDiagnostic(d) {
  const out = {
    code: d.code,
    category: CATEGORY[d.category] || 'error',
    message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
    file: null,
    start: null,
    length: null,
    line: null,
    column: null,
    related: [],
  };
  if (d.file && d.start !== undefined) {
    const offsets = offsetsOf(d.file.fileName, d.file.text);
    const [start, length] = offsets.span(d.start, d.length || 0);
    const lc = ts.getLineAndCharacterOfPosition(d.file, d.start);
    Object.assign(out, { file: d.file.fileName, start, length, line: lc.line + 1, column: lc.character + 1 });
  } else if (d.file) {
    out.file = d.file.fileName;
  }
  for (const r of d.relatedInformation || []) {
    const rel = { message: ts.flattenDiagnosticMessageText(r.messageText, '\n'), file: null, start: null, length: null };
    if (r.file) {
      rel.file = r.file.fileName;
      if (r.start !== undefined) {
        [rel.start, rel.length] = offsetsOf(r.file.fileName, r.file.text).span(r.start, r.length || 0);
      }
    }
    out.related.push(rel);
  }
  return out;
}

function fileDiagnostics(project, fileName) {
  const ls = project.ls;
  return [...ls.getSyntacticDiagnostics(fileName), ...ls.getSemanticDiagnostics(fileName)].map(wireDiagnostic);
}

/** Options and global diagnostics of every project, deduplicated. */
function globalDiagnostics() {
  const seen = new Set();
  const out = [];
  for (const project of state.projects) {
    for (const d of project.ls.getCompilerOptionsDiagnostics()) {
      const w = wireDiagnostic(d);
      const key = JSON.stringify(w);
      if (!seen.has(key)) {
        seen.add(key);
        out.push(w);
      }
    }
  }
  return out;
}

function revertPending() {
  const s = state;
  if (s.overlay.size > 0) {
    s.overlay.clear();
    s.stateVersion++;
  }
  s.pending = null;
}

function diagnostics() {
  const s = requireState();
  revertPending();
  const out = [...s.configDiagnostics, ...globalDiagnostics()];
  for (const [f, project] of s.owner) {
    const doc = currentDoc(f);
    const version = doc ? doc.version : '0';
    let cached = s.diagCache.get(f);
    if (!cached || cached.version !== version) {
      cached = { version, diags: fileDiagnostics(project, f) };
      s.diagCache.set(f, cached);
    }
    out.push(...cached.diags);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Incremental check.
//
// Rule for which files' diagnostics can change when files F are edited (the rest keep
// their cached baseline diagnostics):
//   * every file of F is rechecked;
//   * a file of F that is (before or after) a global script - not a module - can change
//     anything: recheck everything. So does a file of F that did not exist before (it may
//     change how other files' imports resolve) or one outside the project's own code;
//   * otherwise a module is seen by others only through its exports: its "shape" is its
//     declaration output (the `.d.ts` text - what TypeScript's own incremental builder
//     signs files with). If a file's shape is unchanged nobody else can see a difference.
//     If it changed (or cannot be emitted), the files importing it are rechecked, and
//     their shapes compared in turn (each importer whose shape did not change stops the
//     spread); a changed shape holding `declare global` / `declare module` means
//     everything (augmentations reach files that never import it);
//   * an edit of many files that, with their importers, reach most of the project
//     rechecks everything straight away (the shapes would cost more than they save).
// Shapes of the baseline are computed on demand, kept, and replaced by the new ones on
// commit; an importer whose baseline shape is unknown counts as changed.

const AUGMENTS = /\bdeclare\s+(global|module)\b/;
// CODEMOD_TSFIX_ALWAYS_SPREAD=1 turns off both shortcuts below (the tests use it to take
// the long way on small projects).
const ALWAYS_SPREAD = !!process.env.CODEMOD_TSFIX_ALWAYS_SPREAD;
// below this many transitive importers, rechecking them all beats going back to the
// baseline program for their shapes
const SMALL_CLOSURE = ALWAYS_SPREAD ? 0 : 10;
// the share of the project's files beyond which a check simply rechecks everything
const MOST = ALWAYS_SPREAD ? Infinity : 0.5;
// edited files that count as many (a share of the project's files)
const FEW = 0.2;
const NO_FILES = new Set();

function ownerProgram(fileName) {
  const project = state.owner.get(fileName);
  return project ? project.ls.getProgram() : undefined;
}

/** The import graph of the baseline (who imports whom), over all projects. */
function importGraph() {
  const s = state;
  if (s.graph) return s.graph;
  const importers = new Map();
  const info = new Map();
  let complete = true;
  const edge = (from, to) => {
    if (!to || from === to) return;
    let set = importers.get(to);
    if (!set) importers.set(to, (set = new Set()));
    set.add(from);
  };
  for (const project of s.projects) {
    const program = project.ls.getProgram();
    const byPath = new Map();
    for (const sf of program.getSourceFiles()) {
      byPath.set(sf.path, sf.fileName);
      if (s.owner.has(sf.fileName) && !info.has(sf.fileName)) {
        info.set(sf.fileName, { module: ts.isExternalModule(sf), augments: AUGMENTS.test(sf.text) });
      }
      for (const ref of sf.referencedFiles) edge(sf.fileName, path.resolve(path.dirname(sf.fileName), ref.fileName));
    }
    if (typeof program.forEachResolvedModule === 'function') {
      program.forEachResolvedModule((resolution, _name, _mode, filePath) => {
        const resolved = resolution && resolution.resolvedModule;
        if (!resolved) return;
        const target = program.getSourceFile(resolved.resolvedFileName);
        edge(byPath.get(filePath) || filePath, target ? target.fileName : resolved.resolvedFileName);
      });
    } else {
      complete = false; // TypeScript < 5.3: no public way to list resolutions
    }
  }
  s.graph = { importers, info, complete };
  return s.graph;
}

function importersOf(fileName) {
  return state.graph.importers.get(fileName) || NO_FILES;
}

function transitiveImporters(roots) {
  const out = new Set();
  const queue = [...roots];
  while (queue.length > 0) {
    for (const g of importersOf(queue.pop())) {
      if (!out.has(g)) {
        out.add(g);
        queue.push(g);
      }
    }
  }
  return out;
}

/** The declaration output of a file in the current state, or null when it cannot be had. */
function declarationText(fileName) {
  const project = state.owner.get(fileName);
  if (!project) return null;
  try {
    const out = project.ls.getEmitOutput(fileName, /*emitOnlyDtsFiles*/ true, /*forceDtsEmit*/ true);
    // (under noEmit `emitSkipped` is set although the forced .d.ts text is there)
    if (out.outputFiles.length === 0) return null;
    return out.outputFiles.map((o) => o.text).join('\n');
  } catch {
    return null;
  }
}

/** Remember the baseline shape of a file; only call with the programs at the baseline. */
function ensureBaselineShape(fileName) {
  const s = state;
  if (!s.shapes.has(fileName) && s.owner.has(fileName)) s.shapes.set(fileName, declarationText(fileName));
}

function sameTexts(a, b) {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}

function normalizeTexts(texts) {
  if (!texts || typeof texts !== 'object' || Array.isArray(texts)) {
    throw new Error('`texts` must be an object {file: text}');
  }
  const out = {};
  for (const [f, t] of Object.entries(texts)) {
    if (typeof t !== 'string') throw new Error(`text of ${f} is not a string`);
    out[path.resolve(f)] = t;
  }
  return out;
}

function setOverlay(changed) {
  const s = state;
  s.overlay.clear();
  for (const c of changed) s.overlay.set(c.file, c.doc);
  s.stateVersion++;
}

/** Diagnostics of the project as if `texts` were the files' texts; sets `state.pending`. */
function runCheck(texts, full) {
  const s = requireState();
  texts = normalizeTexts(texts);
  if (s.pending && sameTexts(s.pending.texts, texts) && (s.pending.everything || !full)) return s.pending;
  revertPending();
  let t0 = performance.now();
  const graph = importGraph(); // of the baseline: the programs are at the baseline now
  timing('check: import graph', t0);
  const changed = [];
  let everything = !graph.complete || !!full; // `full`: the reference the rule is tested against
  for (const [f, raw] of Object.entries(texts)) {
    const before = currentDoc(f);
    if (before && before.rawText === raw) continue;
    changed.push({ file: f, before, doc: new Doc(f, raw) });
    const info = graph.info.get(f);
    if (!before || !info || !info.module) everything = true;
  }
  // When many files are edited and they and everything that imports them make up most
  // of the project, comparing shapes costs more than it can save. A few edited files
  // are compared even when widely imported: most edits leave a file's shape alone.
  if (!everything && changed.length > Math.max(1, s.owner.size * FEW)) {
    const reach = transitiveImporters(changed.map((c) => c.file));
    for (const c of changed) reach.add(c.file);
    if (reach.size > s.owner.size * MOST) everything = true;
  }
  t0 = performance.now();
  if (!everything) for (const c of changed) if (importersOf(c.file).size > 0) ensureBaselineShape(c.file);
  timing('check: shapes before', t0);
  t0 = performance.now();
  if (changed.length > 0) setOverlay(changed);

  const dirty = new Set(changed.map((c) => c.file));
  const after = new Map(); // file -> its shape in this state, where computed
  const shapeChanged = (f) => {
    if (!after.has(f)) after.set(f, declarationText(f));
    const before = s.shapes.get(f);
    return before === undefined || before === null || after.get(f) !== before;
  };
  const augments = (f) => {
    const c = changed.find((x) => x.file === f);
    if (c) return AUGMENTS.test(c.doc.text) || AUGMENTS.test(c.before.text);
    const info = graph.info.get(f);
    return !info || info.augments;
  };
  for (const c of changed) {
    if (everything) break;
    const program = ownerProgram(c.file);
    const sf = program && program.getSourceFile(c.file);
    if (sf && !ts.isExternalModule(sf)) everything = true;
  }
  if (!everything) {
    const spreading = changed.map((c) => c.file).filter((f) => importersOf(f).size > 0 && shapeChanged(f));
    if (spreading.some(augments)) everything = true;
    else if (spreading.length > 0) {
      const closure = transitiveImporters(spreading);
      const unknown = [...closure].filter((f) => importersOf(f).size > 0 && !s.shapes.has(f));
      if (unknown.length > 0 && closure.size <= SMALL_CLOSURE) {
        for (const f of closure) dirty.add(f);
      } else {
        if (unknown.length > 0) {
          // back to the baseline for the importers' shapes (kept for later checks)
          const t1 = performance.now();
          revertOverlay();
          for (const f of unknown) ensureBaselineShape(f);
          setOverlay(changed);
          timing(`check: baseline shapes of ${unknown.length} importers`, t1);
        }
        const queue = [...spreading];
        while (queue.length > 0 && !everything) {
          for (const g of importersOf(queue.pop())) {
            if (dirty.has(g)) continue;
            dirty.add(g);
            if (importersOf(g).size === 0 || !shapeChanged(g)) continue;
            if (augments(g)) everything = true;
            queue.push(g);
          }
        }
      }
    }
  }
  timing('check: rebuild + shapes after', t0);
  t0 = performance.now();
  const results = new Map();
  for (const [f, project] of s.owner) {
    if (everything || dirty.has(f)) results.set(f, fileDiagnostics(project, f));
  }
  timing(`check: diagnostics of ${everything ? 'all' : results.size} files`, t0);
  t0 = performance.now();
  const globals = globalDiagnostics();
  timing('check: global diagnostics', t0);
  s.pending = { texts, changed, results, after, globals, everything };
  return s.pending;
}

function revertOverlay() {
  state.overlay.clear();
  state.stateVersion++;
}

function collectDiagnostics(result) {
  const s = state;
  const out = [...s.configDiagnostics, ...result.globals];
  for (const f of s.owner.keys()) {
    const fresh = result.results.get(f);
    if (fresh) out.push(...fresh);
    else {
      const cached = s.diagCache.get(f);
      if (cached) out.push(...cached.diags);
      else out.push(...fileDiagnostics(s.owner.get(f), f)); // never asked for before
    }
  }
  return out;
}

function check(params) {
  const result = runCheck(params.texts, params.full);
  const diags = collectDiagnostics(result);
  return {
    diagnostics: diags,
    rechecked: result.everything ? 'all' : result.results.size,
  };
}

function commit(params) {
  const s = requireState();
  const result = runCheck(params.texts);
  for (const c of result.changed) s.baseline.set(c.file, c.doc); // same Docs: programs stay valid
  for (const [f, diags] of result.results) {
    const doc = currentDoc(f);
    s.diagCache.set(f, { version: doc ? doc.version : '0', diags });
    // the new shapes where known; where not, they are computed again when needed
    if (result.after.has(f)) s.shapes.set(f, result.after.get(f));
    else s.shapes.delete(f);
  }
  if (result.everything) s.shapes = new Map(result.after);
  s.overlay.clear();
  s.pending = null;
  if (result.changed.length > 0) {
    s.stateVersion++;
    s.graph = null; // imports may have changed
  }
  return { committed: result.changed.length, rechecked: result.everything ? 'all' : result.results.size };
}

// ---------------------------------------------------------------------------------------
// Code fixes.

function formatSettings(text) {
  const newLine = text.includes('\r\n') ? '\r\n' : '\n';
  const settings = ts.getDefaultFormatCodeSettings(newLine);
  const indent = /^([ \t]+)\S/m.exec(text);
  if (indent) {
    if (indent[1].startsWith('\t')) settings.convertTabsToSpaces = false;
    else if (indent[1].length === 2 || indent[1].length === 4) {
      settings.indentSize = indent[1].length;
      settings.tabSize = indent[1].length;
    }
  }
  return settings;
}

const PREFERENCES = { quotePreference: 'auto', importModuleSpecifierPreference: 'shortest', includePackageJsonAutoImports: 'off' };

function projectOf(fileName) {
  const project = requireState().owner.get(fileName);
  if (!project) throw new Error(`not a file of the loaded project: ${fileName}`);
  return project;
}

function wireFileChanges(fc) {
  const doc = fc.isNewFile ? undefined : currentDoc(fc.fileName);
  const changes = fc.textChanges.map((c) => {
    if (!doc) return { start: c.span.start, length: c.span.length, newText: c.newText };
    const [start, length] = doc.offsets.span(c.span.start, c.span.length);
    return { start, length, newText: c.newText };
  });
  return { file: fc.fileName, isNewFile: !!fc.isNewFile, changes };
}

function docOf(fileName) {
  const doc = currentDoc(fileName);
  if (!doc) throw new Error(`cannot read ${fileName}`);
  return doc;
}

function codeFixes(params) {
  requireState();
  revertPending();
  const file = path.resolve(String(params.file));
  const project = projectOf(file);
  const doc = docOf(file);
  const start = doc.offsets.toU16(Number(params.start));
  const end = doc.offsets.toU16(Number(params.start) + Number(params.length || 0));
  const fixes = project.ls.getCodeFixesAtPosition(file, start, end, [Number(params.code)], formatSettings(doc.text), PREFERENCES);
  return fixes.map((f) => ({
    fixName: f.fixName,
    description: f.description,
    changes: f.changes.map(wireFileChanges),
    fixId: f.fixId === undefined ? null : String(f.fixId),
    fixAllDescription: f.fixAllDescription || null,
  }));
}

function combinedFix(params) {
  requireState();
  revertPending();
  const file = path.resolve(String(params.file));
  const fixId = String(params.fixId);
  const project = projectOf(file);
  const doc = docOf(file);
  let combined;
  try {
    combined = project.ls.getCombinedCodeFix({ type: 'file', fileName: file }, fixId, formatSettings(doc.text), PREFERENCES);
  } catch (e) {
    const why = String((e && e.message) || e).split('\n')[0];
    if (/overlap/i.test(why)) throw new Error(`TypeScript's combined fix ${fixId} for ${file} has overlapping changes (${why})`);
    if (/getAllCodeActions/.test(why)) throw new Error(`TypeScript has no combined fix with id ${fixId}`);
    throw new Error(`TypeScript cannot combine fix ${fixId} for ${file}: ${why}`);
  }
  return combined.changes.map(wireFileChanges);
}

// ---------------------------------------------------------------------------------------
// Type information for prompts.

function typeInfo(params) {
  requireState();
  revertPending();
  const file = path.resolve(String(params.file));
  const project = projectOf(file);
  const doc = docOf(file);
  const limit = Number(params.limit || 20);
  const s = doc.offsets.toU16(Number(params.start));
  const e = doc.offsets.toU16(Number(params.end));
  const sf = project.ls.getProgram().getSourceFile(file);
  if (!sf) return [];
  const names = new Set();
  const out = [];
  const visit = (node) => {
    if (out.length >= limit || node.end <= s || node.pos >= e) return;
    if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) {
      const at = node.getStart(sf);
      const name = node.text;
      if (at >= s && node.end <= e && !names.has(name)) {
        names.add(name);
        const qi = project.ls.getQuickInfoAtPosition(file, at);
        if (qi && qi.displayParts) {
          let text = ts.displayPartsToString(qi.displayParts);
          // an import's info ends with a line naming the import itself: noise for a prompt
          if (text.startsWith('(alias)')) text = text.split('\n')[0];
          text = text.replace(/\s+/g, ' ').trim();
          if (text.length > 300) text = text.slice(0, 297) + '...';
          if (text && !out.includes(text)) out.push(text);
        }
      }
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function text(params) {
  requireState();
  const file = path.resolve(String(params.file));
  const doc = state.baseline.get(file) || currentDoc(file);
  if (!doc) throw new Error(`cannot read ${file}`);
  return doc.rawText;
}

// ---------------------------------------------------------------------------------------

const METHODS = {
  version: () => ({ typescript: ts.version, node: process.version, protocol: PROTOCOL }),
  load,
  files: () => [...requireState().owner.keys()],
  text,
  diagnostics: () => diagnostics(),
  codeFixes,
  combinedFix,
  check,
  commit,
  typeInfo,
};

function handle(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch (e) {
    return { id: null, error: { message: `bad request (not JSON): ${e.message}` } };
  }
  const id = request && typeof request === 'object' && 'id' in request ? request.id : null;
  const method = request && request.method;
  if (typeof method !== 'string' || !Object.prototype.hasOwnProperty.call(METHODS, method)) {
    return { id, error: { message: `unknown method: ${JSON.stringify(method)}` } };
  }
  const t0 = performance.now();
  try {
    return { id, result: METHODS[method](request.params || {}) };
  } catch (e) {
    process.stderr.write(`${method} failed: ${(e && e.stack) || e}\n`);
    return { id, error: { message: String((e && e.message) || e) } };
  } finally {
    timing(method, t0);
  }
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  if (line.trim() === '') return;
  writeOut(JSON.stringify(handle(line)) + '\n');
});
rl.on('close', () => process.exit(0));
process.on('uncaughtException', (e) => process.stderr.write(`uncaught: ${(e && e.stack) || e}\n`));
