// The original CI guard's evidence check (see ../shared/GUARDS-ORIGIN.md §1), reproduced for
// benchmarking: read the whole file, trim, split lines, JSON.parse each non-blank line, require
// truthy `tool` and `timestamp`, timestamp matching YYYY-MM-DDTHH:MM:SSZ; stop at the first error.
import { readFileSync } from "node:fs";
const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
let lines = 0;
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, "utf8").trim();
  if (!text) { console.error(`${file}: empty`); process.exit(1); }
  for (const [i, line] of text.split("\n").entries()) {
    if (!line.trim()) continue;
    let obj;
    try { obj = JSON.parse(line); } catch { console.error(`${file}:${i + 1}: not valid JSON`); process.exit(1); }
    if (!obj.tool || !obj.timestamp) { console.error(`${file}:${i + 1}: missing tool/timestamp`); process.exit(1); }
    if (!TS.test(obj.timestamp)) { console.error(`${file}:${i + 1}: bad timestamp`); process.exit(1); }
    lines++;
  }
}
console.log(`${lines} lines OK`);
