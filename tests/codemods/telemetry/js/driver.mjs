// Runs many modules in one Node process and prints, as JSON, what each logged and how
// many times each of its telemetry calls ran.
//
// Usage: node driver.mjs [--typescript=<folder of the typescript package>]
//                        [--lower=<file>]... <file>...
//
// A module may export `done` (CommonJS files come in as the default export), a promise
// the driver waits for. A `.jsx` file, and a file named by `--lower` (syntax this Node
// lacks, such as `using` before Node 24), is first compiled beside itself (as
// `<name>.js`) with TypeScript's transpileModule (`jsx: react`, target ES2022);
// `React.createElement` is a stub that builds plain objects.
//
// The counts come from V8's block coverage, not from the helper: for every
// `_codemod_tel.<call>("<site>"` in a file, how many times that expression ran. So a
// `leave` count is the number of calls the helper should report for the site, an
// `error` count its errors, a `loop` count its runs, a `value` count its samples.
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import inspector from "node:inspector/promises";
import { pathToFileURL } from "node:url";
import { format } from "node:util";

const args = process.argv.slice(2);
const tsOption = args.find((arg) => arg.startsWith("--typescript="));
const lowered = new Set(args.filter((arg) => arg.startsWith("--lower=")).map((arg) => arg.slice(8)));
const files = args.filter((arg) => !arg.startsWith("--"));

globalThis.React = {
  Fragment: "Fragment",
  createElement: (tag, props, ...children) => ({
    tag: typeof tag === "function" ? tag.name : tag,
    props,
    children,
  }),
};

function compile(file) {
  if (!tsOption) throw new Error(`${file}: pass --typescript= to compile it`);
  const ts = createRequire(import.meta.url)(tsOption.slice("--typescript=".length));
  const { outputText } = ts.transpileModule(readFileSync(file, "utf8"), {
    fileName: file,
    compilerOptions: { jsx: ts.JsxEmit.React, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  });
  const out = `${file}.js`;
  writeFileSync(out, outputText);
  return out;
}

const session = new inspector.Session();
session.connect();
await session.post("Profiler.enable");
await session.post("Profiler.startPreciseCoverage", { callCount: true, detailed: true });

const logs = {};
const executed = {}; // the file given -> the file Node ran
const original = console.log;
for (const file of files) {
  const lines = [];
  console.log = (...values) => lines.push(format(...values));
  try {
    executed[file] = file.endsWith(".jsx") || lowered.has(file) ? compile(file) : file;
    const mod = await import(pathToFileURL(executed[file]).href);
    const done = mod && (mod.done || (mod.default && mod.default.done));
    if (done && typeof done.then === "function") await done;
    await new Promise((resolve) => setImmediate(resolve));
  } catch (error) {
    lines.push(`THROW ${error && error.name}: ${error && error.message}`);
  }
  console.log = original;
  logs[file] = lines;
}

const { result } = await session.post("Profiler.takePreciseCoverage");
await session.post("Profiler.stopPreciseCoverage");
const CALL = /_codemod_tel\.(enter|leave|error|loop|value)\(("(?:[^"\\]|\\.)*")/g;
const counts = {};
for (const file of files) {
  const path = executed[file];
  if (!path) continue;
  const url = pathToFileURL(path).href;
  const script = result.find((entry) => entry.url === url || entry.url === path);
  const ranges = script ? script.functions.flatMap((fn) => fn.ranges) : [];
  const found = [];
  for (const match of readFileSync(path, "utf8").matchAll(CALL)) {
    // ranges nest: the innermost one holding the call counts its runs
    let best;
    for (const range of ranges) {
      const holds = range.startOffset <= match.index && match.index < range.endOffset;
      if (holds && (!best || range.endOffset - range.startOffset < best.endOffset - best.startOffset)) {
        best = range;
      }
    }
    found.push([match[1], JSON.parse(match[2]), best ? best.count : 0]);
  }
  counts[file] = found;
}
process.stdout.write(JSON.stringify({ logs, counts }));
