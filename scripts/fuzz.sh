#!/usr/bin/env bash
# Build every fuzz target (fuzz/, cargo-fuzz + libFuzzer on the nightly toolchain) and run each
# for SECONDS (default 60) on its seeded corpus, with a 5 s per-input timeout and a 2 GiB memory
# cap, then print one table: target, runs, seconds, crashes. Crashing inputs land in
# fuzz/artifacts/<target>/; each log in fuzz/target/logs/<target>.log. Exit 1 if any target found
# a crash, hang or memory blow-up.
#   bash scripts/fuzz.sh 600        # ten minutes per target
#   bash scripts/fuzz.sh 60 scan_js # one target
# FUZZ_TARGET_DIR (default fuzz/target) is where the instrumented build goes; CI keeps it in its
# cache so that only merge-gates and the targets are rebuilt (a clean build compiles every
# dependency with coverage instrumentation and takes long, see docs/fuzzing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz: the nightly Rust toolchain is not installed (cargo-fuzz needs it):" >&2
  echo "      rustup toolchain install nightly" >&2
  exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --quiet
fi

bash scripts/fuzz-seed.sh
target_dir="${FUZZ_TARGET_DIR:-fuzz/target}"
started=$(date +%s)
cargo +nightly fuzz build -O --target-dir "$target_dir"
echo "fuzz: targets built in $(( $(date +%s) - started )) s"

if [ "$#" -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo +nightly fuzz list); fi
bin="$target_dir/x86_64-unknown-linux-gnu/release"
mkdir -p fuzz/target/logs
rows=()
failed=0
for t in "${targets[@]}"; do
  mkdir -p "fuzz/artifacts/$t" "fuzz/corpus/$t"
  before=$(find "fuzz/artifacts/$t" -type f | wc -l)
  log="fuzz/target/logs/$t.log"
  t0=$(date +%s.%N)
  # Leak checks off: libpg_query keeps per-thread memory contexts for the process's lifetime,
  # which LeakSanitizer reports on exit; memory that grows is caught by -rss_limit_mb instead.
  set +e
  "$bin/$t" "fuzz/corpus/$t" -artifact_prefix="fuzz/artifacts/$t/" -max_total_time="$secs" \
    -timeout=5 -rss_limit_mb=2048 -detect_leaks=0 -print_final_stats=1 > "$log" 2>&1
  code=$?
  set -e
  t1=$(date +%s.%N)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\)[[:space:]]*DONE.*/\1/p' "$log" | tail -1)
  after=$(find "fuzz/artifacts/$t" -type f | wc -l)
  crashes=$(( after - before ))
  if [ "$code" != 0 ] && [ "$crashes" = 0 ]; then crashes="error $code"; fi
  if [ "$crashes" != 0 ]; then
    failed=1
    echo "fuzz: $t failed; see $log and fuzz/artifacts/$t/" >&2
  fi
  rows+=("$(printf '%-22s %12s %8.0f %8s' "$t" "${runs:-?}" "$(awk "BEGIN { print $t1 - $t0 }")" "$crashes")")
done

printf '\n%-22s %12s %8s %8s\n' target runs seconds crashes
for r in "${rows[@]}"; do echo "$r"; done
exit "$failed"
