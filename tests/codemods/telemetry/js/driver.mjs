// Runs many fixture modules in one Node process and prints what each logged, as JSON.
// Usage: node driver.mjs <file>...  (CommonJS files come in as the default export)
import { pathToFileURL } from "node:url";
import { format } from "node:util";

const results = {};
const original = console.log;
for (const file of process.argv.slice(2)) {
  const lines = [];
  console.log = (...args) => lines.push(format(...args));
  try {
    const mod = await import(pathToFileURL(file).href);
    const done = mod && (mod.done || (mod.default && mod.default.done));
    if (done && typeof done.then === "function") await done;
    await new Promise((resolve) => setImmediate(resolve));
  } catch (error) {
    lines.push(`THROW ${error && error.name}: ${error && error.message}`);
  }
  console.log = original;
  results[file] = lines;
}
results.__telemetry__ = globalThis.__codemodTelemetry || null;
process.stdout.write(JSON.stringify(results));
