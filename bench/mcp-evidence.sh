#!/usr/bin/env bash
# Benchmark: verify-mcp-evidence on a 1,000,000-line evidence file vs a Node script with the
# original guard's behaviour (bench/original-evidence-guard.mjs), same file, same run. Prints
# median wall time and peak memory of each, the ratio, and merge-gates' memory at 100k lines
# to show it does not grow with the file.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_tools
cargo build --release --locked --quiet
BIN=$PWD/target/release/merge-gates
LINES=${LINES:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

make_repo() { # DIR LINES
  local dir=$1 n=$2 rel=artifacts/bench/2025-10-21/mcp/calls.jsonl
  mkdir -p "$dir/$(dirname $rel)" "$dir/.github"
  python3 - "$dir/$rel" "$n" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
tools = ["context7", "shopify-dev", "storefront", "chrome-devtools", "web-search", "customer-accounts"]
with open(path, "w") as f:
    for i in range(n):
        h, m, s = (i // 3600) % 10 + 8, (i // 60) % 60, i % 60
        f.write('{"tool":"%s","doc_ref":"https://shopify.dev/docs/api/%d","request_id":"mcp-2025-10-21-%07d","timestamp":"2025-10-21T%02d:%02d:%02dZ","purpose":"Look up the Order object fields for the status modal"}\n'
                % (tools[i % len(tools)], i % 977, i, h, m, s))
PY
  printf '## MCP Evidence\n- %s\n' "$rel" > "$dir/body.md"
  printf 'app/x.ts\n%s\n' "$rel" > "$dir/changed.txt"
  printf '[verify-mcp-evidence]\nmax-file-size = "2GiB"\n' > "$dir/.github/merge-gates.toml"
  echo "$dir/$rel"
}

big=$(make_repo "$work/big" "$LINES")
small=$(make_repo "$work/small" $((LINES / 10)))
mg() { echo "$BIN" verify-mcp-evidence --repo "$1" --pr-body-file "$1/body.md" --changed-files "$1/changed.txt" --format json --now 2025-10-22T00:00:00Z; }
# Sanity: both accept the file.
$(mg "$work/big") > /dev/null
node bench/original-evidence-guard.mjs "$big" > /dev/null

size=$(du -h "$big" | cut -f1)
t_mg=$(median_ms $(mg "$work/big"))
t_node=$(median_ms node bench/original-evidence-guard.mjs "$big")
m_mg=$(peak_kb $(mg "$work/big"))
m_mg_small=$(peak_kb $(mg "$work/small"))
m_node=$(peak_kb node bench/original-evidence-guard.mjs "$big")
printf '\nverify-mcp-evidence, %s lines (%s), median of %s runs, %s\n' "$LINES" "$size" "${RUNS:-5}" "$(nproc) cores"
printf '%-34s %12s %14s\n' "tool" "wall (ms)" "peak RSS (MB)"
printf '%-34s %12s %14s\n' "merge-gates verify-mcp-evidence" "$t_mg" "$((m_mg / 1024))"
printf '%-34s %12s %14s\n' "node original guard" "$t_node" "$((m_node / 1024))"
printf 'speed-up: %sx   merge-gates memory at %s lines: %s MB (flat: %s MB at %s)\n' \
  "$(ratio "$t_node" "$t_mg")" "$((LINES / 10))" "$((m_mg_small / 1024))" "$((m_mg / 1024))" "$LINES"
bench_result verify-mcp-evidence "evidence file of $LINES lines ($size)" "$t_mg" \
  "node, original guard's behaviour" "$t_node" "$m_mg" "$m_node"
