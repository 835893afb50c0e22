#!/usr/bin/env bash
# Shared by the bench/ scripts: tools, timing and peak memory of whole processes.
# median_ms CMD...   → median wall time in ms over $RUNS runs (default 5)
# peak_kb CMD...     → peak resident set size in KiB (GNU time)
set -euo pipefail

bench_tools() {
  local missing=()
  [ -x /usr/bin/time ] || missing+=(time)
  command -v hyperfine >/dev/null || missing+=(hyperfine)
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

median_ms() {
  local out
  out=$(mktemp)
  hyperfine --style none --warmup 1 --runs "${RUNS:-5}" -i --export-json "$out" -- "$(printf '%q ' "$@")" >/dev/null 2>&1
  python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["results"][0]["median"]*1000, 1))' "$out"
  rm -f "$out"
}

peak_kb() {
  local f
  f=$(mktemp)
  /usr/bin/time -f '%M' -o "$f" "$@" >/dev/null 2>&1 || true
  tail -n 1 "$f"
  rm -f "$f"
}

ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.1f}')" "$1" "$2"; }
