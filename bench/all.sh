#!/usr/bin/env bash
# Runs every benchmark of bench/ in turn and prints one Markdown table of their results, with
# the machine it ran on; the same text is written to bench/RESULTS.md. Each script stays
# self-contained (it installs what it needs and can be run alone); this one only collects the
# row each script appends to $BENCH_RESULTS through bench_result (bench/lib.sh).
#   RUNS=3 bash bench/all.sh            fewer runs per median (default 5)
#   LINES=… FILES=… EXISTING=… ROWS=… PROBES=…   input sizes, see each script's header
#   ONLY="health-gate migration-dryrun" bash bench/all.sh   a subset (results not written)
set -uo pipefail
cd "$(dirname "$0")/.."
SCRIPTS=(mcp-evidence dev-mcp-ban migration-lint migration-dryrun health-gate)
selected=(${ONLY:-${SCRIPTS[@]}})
rows=$(mktemp)
logs=$(mktemp -d)
trap 'rm -rf "$rows" "$logs"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date +%s)
failed=()
for s in "${selected[@]}"; do
  printf '\n==== bench/%s.sh\n' "$s"
  t0=$(date +%s)
  if BENCH_RESULTS=$rows bash "bench/$s.sh" 2>&1 | tee "$logs/$s.log"; then
    printf '(%s: %ss)\n' "$s" $(($(date +%s) - t0))
  else
    failed+=("$s")
    printf '(%s FAILED after %ss)\n' "$s" $(($(date +%s) - t0))
  fi
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
os=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}")
commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- src Cargo.toml Cargo.lock bench ':!bench/RESULTS.md' || commit="$commit (with local changes)"
report=$(
  printf '# Benchmark results\n\n'
  printf 'Latest run of `bash bench/all.sh` (how to run it and what each row compares:\n'
  printf '[docs/benchmarks.md](../docs/benchmarks.md)).\n\n'
  printf -- '- **Machine:** %s cores (`nproc`), %s, %s RAM, %s, kernel %s\n' \
    "$(nproc)" "${cpu:-unknown CPU}" "$mem" "$os" "$(uname -r)"
  elapsed=$(($(date +%s) - started))
  printf -- '- **Run:** %s, merge-gates %s, %s runs per median, %dm%02ds in all\n' \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$commit" "${RUNS:-5}" $((elapsed / 60)) $((elapsed % 60))
  printf -- '- **Load average** (1, 5, 15 min): %s before, %s after. ' "$load_before" "$load_after"
  printf 'Above the core count the machine was busy\n  with other work and absolute times are '
  printf 'inflated; both sides of a row ran back to back, so the ratios\n  are the figures to compare.\n\n'
  printf '| Gate | Input | merge-gates | Peer | Peer time | Ratio | Peak memory (merge-gates / peer) |\n'
  printf '|---|---|---:|---|---:|---:|---:|\n'
  while IFS=$'\t' read -r gate input ours peer theirs ratio ours_mb peer_mb; do
    printf '| %s | %s | %s ms | %s | %s ms | %s | %s MB / %s MB |\n' \
      "$gate" "$input" "$ours" "$peer" "$theirs" "$([ "$ratio" = n/a ] && echo n/a || echo "${ratio}x")" "$ours_mb" "$peer_mb"
  done < "$rows"
  for s in "${failed[@]}"; do
    printf '| bench/%s.sh | failed: %s | | | | | |\n' "$s" \
      "$(tail -n 1 "$logs/$s.log" | tr '|' '/' | cut -c1-120)"
  done
  printf '\nWall time is the median of whole-process runs (hyperfine); memory is peak RSS (GNU time).\n'
  printf 'Ratio = merge-gates time / peer time: below 1 merge-gates is faster.\n'
)
printf '\n%s\n' "$report"
if [ -z "${ONLY:-}" ]; then
  printf '%s\n' "$report" > bench/RESULTS.md
  echo "(written to bench/RESULTS.md)"
fi
[ ${#failed[@]} -eq 0 ]
