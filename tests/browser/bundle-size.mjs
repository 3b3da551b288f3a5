// The JavaScript a reader's browser downloads before the first page shows:
// every script that the built index.html loads eagerly (its module scripts
// and modulepreload links, and the static imports they pull in), gzip
// compressed. Chunks loaded with import() (the editor, admin, insights,
// the account's pages, the sign-in forms) are not counted. Fails above the
// budget.
//
//   node bundle-size.mjs [dist directory] [budget in kB]
// (defaults: examples/react-spa/dist, 70; 1 kB = 1,000 bytes)

import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(process.argv[2] ?? path.join(here, "../../examples/react-spa/dist"));
const budget = Number(process.argv[3] ?? 70);

const html = await readFile(path.join(dist, "index.html"), "utf8");
const entries = [
  ...html.matchAll(/<script[^>]*type="module"[^>]*src="([^"]+)"/g),
  ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g),
].map((m) => m[1]);
if (!entries.length) throw new Error(`no module script in ${path.join(dist, "index.html")}`);

// A chunk's static imports load with it: `import … from "./x.js"` and
// `import "./x.js"` at the top level (import() is left out).
const seen = new Map();
async function visit(url) {
  const file = path.join(dist, url.replace(/^\//, ""));
  if (seen.has(file)) return;
  const code = await readFile(file);
  seen.set(file, gzipSync(code).length);
  const text = code.toString("utf8");
  for (const m of text.matchAll(/(?:^|[;}\s])import\s*(?:[\w$*{}\s,]+from\s*)?["']([^"']+\.js)["']/g)) {
    await visit(path.posix.join(path.posix.dirname(url), m[1]));
  }
}
for (const url of entries) await visit(url);

const total = [...seen.values()].reduce((a, b) => a + b, 0);
for (const [file, size] of seen) console.log(`  ${(size / 1000).toFixed(1).padStart(6)} kB  ${path.relative(dist, file)}`);
const kb = (total / 1000).toFixed(1);
if (total > budget * 1000) {
  console.error(`bundle size: FAIL: a reader's first load is ${kb} kB of JavaScript (gzip), over the ${budget} kB budget`);
  process.exit(1);
}
console.log(`bundle size: a reader's first load is ${kb} kB of JavaScript (gzip), within ${budget} kB`);
