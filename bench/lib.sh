#!/usr/bin/env bash
# Shared by the bench/ scripts: tools, timing and peak memory of whole processes.
# median_ms CMD...   → median wall time in ms over $RUNS runs (default 5)
# peak_kb CMD...     → peak resident set size in KiB (GNU time)
# bench_result GATE INPUT OURS_MS PEER PEER_MS OURS_KB PEER_KB
#                    → the uniform result line every script ends with (see below)
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

# The one result line every bench script ends with: a human line on stdout and, when
# $BENCH_RESULTS names a file, one TSV row appended to it for bench/all.sh:
#   gate  input  merge-gates ms  peer  peer ms  ratio  merge-gates peak MB  peer peak MB
# The ratio is always merge-gates' time / the peer's time (< 1: merge-gates is faster), so
# every row reads the same way. Tabs and newlines in the descriptions become spaces.
bench_result() {
  local gate=$1 input=$2 ours_ms=$3 peer=$4 peer_ms=$5 ours_kb=$6 peer_kb=$7 r ours_mb peer_mb
  r=$(python3 -c "import sys; a, b = map(float, sys.argv[1:]); print(f'{a / b:.2f}' if b > 0 else 'n/a')" \
    "$ours_ms" "$peer_ms")
  ours_mb=$(mb "$ours_kb")
  peer_mb=$(mb "$peer_kb")
  printf 'RESULT %s | %s | merge-gates %s ms, %s MB | %s %s ms, %s MB | ratio %s\n' \
    "$gate" "$input" "$ours_ms" "$ours_mb" "$peer" "$peer_ms" "$peer_mb" "$([ "$r" = n/a ] && echo n/a || echo "${r}x")"
  if [ -n "${BENCH_RESULTS:-}" ]; then
    local fields=("$gate" "$input" "$ours_ms" "$peer" "$peer_ms" "$r" "$ours_mb" "$peer_mb")
    (IFS=$'\t'; printf '%s\n' "${fields[*]//[$'\t\n']/ }") >> "$BENCH_RESULTS"
  fi
}

mb() { python3 -c "import sys; print(f'{int(sys.argv[1])/1024:.1f}')" "$1"; }
