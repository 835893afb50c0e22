#!/usr/bin/env bash
# Benchmark: dev-mcp-ban over a large real production tree vs ripgrep with the original guard's
# pattern on the same files. The tree is a fixed, pinned list of big npm packages (tens of
# thousands of JS/TS files nobody here wrote) copied to `app/vendor/` of a scratch repository,
# plus one planted import that both must find. Prints the median wall time and peak memory of
# each, the ratio, and merge-gates' memory on a tenth of the tree (it must not grow with it).
# The npm install is cached under ${XDG_CACHE_HOME:-$HOME/.cache}/merge-gates/ for re-runs.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_tools
command -v rg >/dev/null || {
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ripgrep >/dev/null
}
command -v npm >/dev/null || {
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
}
cargo build --release --locked --quiet
BIN=$PWD/target/release/merge-gates

PACKAGES=(
  typescript@5.6.3 @babel/core@7.26.0 webpack@5.96.1 eslint@9.15.0 rxjs@7.8.1
  lodash@4.17.21 @mui/material@6.1.8 @mui/icons-material@6.1.8 next@15.0.3
  react@18.3.1 react-dom@18.3.1
)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/merge-gates/bench-dev-mcp-ban-v1
repo=$cache/repo
if [ ! -d "$repo/app/vendor" ]; then
  mkdir -p "$cache/npm"
  [ -f "$cache/npm/package.json" ] || echo '{"private":true}' > "$cache/npm/package.json"
  (cd "$cache/npm" && npm install --silent --no-audit --no-fund --ignore-scripts \
     --legacy-peer-deps --no-package-lock "${PACKAGES[@]}")
  rm -rf "$repo.tmp" && mkdir -p "$repo.tmp/app"
  # The packages become production code: `app/vendor/`, not an ignored node_modules.
  cp -al "$cache/npm/node_modules" "$repo.tmp/app/vendor" 2>/dev/null ||
    cp -r "$cache/npm/node_modules" "$repo.tmp/app/vendor"
  mkdir -p "$repo.tmp/app/routes"
  printf 'import {\n  Client,\n} from "@shopify/dev-mcp";\nexport const docs = new Client();\n' \
    > "$repo.tmp/app/routes/docs.server.ts"
  mv "$repo.tmp" "$repo"
fi
# A small slice of the tree with the same largest files (typescript's bundles), for the memory
# comparison: memory may depend on the largest file in flight, never on the number of files.
small=$cache/small-v2
if [ ! -d "$small" ]; then
  rm -rf "$small.tmp" && mkdir -p "$small.tmp/app/vendor"
  for d in "$repo"/app/vendor/typescript "$repo"/app/vendor/lodash; do
    cp -al "$d" "$small.tmp/app/vendor/" 2>/dev/null || cp -r "$d" "$small.tmp/app/vendor/"
  done
  cp -r "$repo/app/routes" "$small.tmp/app/"
  mv "$small.tmp" "$small"
fi

globs=(-g '*.{js,jsx,mjs,cjs,ts,tsx,mts,cts,py}' -g 'package.json'
       -g '!**/__tests__/**' -g '!*.test.*' -g '!*.spec.*')
files=$(rg --files --hidden "${globs[@]}" "$repo/app" | wc -l)
size=$(du -sh --apparent-size "$repo/app" | cut -f1)
mg() { echo "$BIN" dev-mcp-ban --repo "$1" --format json; }
rgc() { echo rg -i -l --hidden "${globs[@]}" 'mcp.*dev|dev.*mcp' "$1/app"; }

# Sanity: both find the planted import; merge-gates reports it as a banned import.
$(mg "$repo") > "$cache/report.json" || true
python3 - "$cache/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
f = [x for g in r["gates"] for x in g["findings"] if x["rule"] == "dev-mcp-ban/banned-import"]
assert any(x["path"] == "app/routes/docs.server.ts" and x["line"] == 3 for x in f), f
print("merge-gates: %d banned import(s), e.g. %s:%d:%d" % (len(f), f[0]["path"], f[0]["line"], f[0]["column"]))
PY
rg -i -l --hidden "${globs[@]}" 'mcp.*dev|dev.*mcp' "$repo/app" | grep -q 'app/routes/docs.server.ts'

t_mg=$(median_ms $(mg "$repo"))
t_rg=$(median_ms $(rgc "$repo"))
m_mg=$(peak_kb $(mg "$repo"))
m_rg=$(peak_kb $(rgc "$repo"))
m_mg_small=$(peak_kb $(mg "$small"))
small_files=$(rg --files --hidden "${globs[@]}" "$small/app" | wc -l)
printf '\ndev-mcp-ban, %s files (%s) of %s, median of %s runs, %s cores\n' \
  "$files" "$size" "${PACKAGES[*]}" "${RUNS:-5}" "$(nproc)"
printf '%-44s %12s %14s\n' "tool" "wall (ms)" "peak RSS (MB)"
printf '%-44s %12s %14s\n' "merge-gates dev-mcp-ban" "$t_mg" "$((m_mg / 1024))"
printf '%-44s %12s %14s\n' "rg -i 'mcp.*dev|dev.*mcp' (original pattern)" "$t_rg" "$((m_rg / 1024))"
largest=$(rg --files --hidden "${globs[@]}" "$repo/app" | python3 -c '
import os, sys
p = max(sys.stdin.read().splitlines(), key=os.path.getsize)
print(os.path.getsize(p), os.path.relpath(p, sys.argv[1]))' "$repo")
printf 'ratio merge-gates / rg: %sx (target <= 1.2x)\n' \
  "$(python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$t_mg" "$t_rg")"
printf 'merge-gates peak RSS on %s files: %s MB, on all %s: %s MB (largest checked file: %s MB, %s)\n' \
  "$small_files" "$((m_mg_small / 1024))" "$files" "$((m_mg / 1024))" \
  "$(( ${largest%% *} / 1048576 ))" "${largest#* }"
rg_version=$(rg --version)
printf 'rg: %s\n' "${rg_version%%$'\n'*}"
bench_result dev-mcp-ban "$files files ($size) of ${#PACKAGES[@]} npm packages" "$t_mg" \
  "rg -i, original pattern" "$t_rg" "$m_mg" "$m_rg"
