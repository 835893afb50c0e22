#!/usr/bin/env bash
# Seed every fuzz target's corpus from the test fixtures and the demo: `fuzz/corpus/<target>/`
# (gitignored; libFuzzer adds what it finds there). Files are named by their content's hash,
# so re-running adds nothing twice.
set -euo pipefail
cd "$(dirname "$0")/.."

# seed TARGET FIND-ARGS…: copy every matching fixture file into the target's corpus.
seed() {
  local target="$1"
  shift
  local dir="fuzz/corpus/$target"
  mkdir -p "$dir"
  find tests/fixtures fixtures/demo -type f "$@" -print0 |
    while IFS= read -r -d '' f; do
      cp "$f" "$dir/$(sha1sum "$f" | cut -c1-16)"
    done
}

seed pr_body \( -name 'body.md' -o -name 'PR_BODY.md' -o -name '*.md' -path '*/events/*' \)
seed evidence_line -name '*.jsonl'
seed heartbeat_line \( -name '*.ndjson' -o -name 'heartbeat*.jsonl' \)
seed scan_js \( -name '*.ts' -o -name '*.tsx' -o -name '*.js' -o -name '*.jsx' -o -name '*.mjs' -o -name '*.cjs' \)
seed scan_py -name '*.py'
seed manifest -name 'package.json'
seed migration_lint -name '*.sql'
seed deploy_fly -name 'fly.toml'
seed deploy_workflow -path '*/.github/workflows/*' \( -name '*.yml' -o -name '*.yaml' \)
seed deploy_dockerfile \( -name 'Dockerfile' -o -name '*.Dockerfile' -o -name 'Dockerfile.*' \)
seed deploy_procfile -name 'Procfile*'
seed deploy_package_json -name 'package.json'
seed config -name 'merge-gates.toml'
seed health_body -name 'api.json'

# Targets whose input is not a file of the fixtures: a few hand-written seeds.
mkdir -p fuzz/corpus/health_parsers fuzz/corpus/escape fuzz/corpus/scan_py
for s in 30s 1m30s 250ms 2h '200-299,304' 2xx '5XX' 'checks.database.status=healthy' \
  'items.0.id=1' 'Wed, 21 Oct 2025 07:28:00 GMT' 120; do
  printf '%s' "$s" > "fuzz/corpus/health_parsers/$(printf '%s' "$s" | sha1sum | cut -c1-16)"
done
printf 'import os\nfrom shopify_dev_mcp.client import (\n    Client,\n)\n"""import no"""\n' \
  > fuzz/corpus/scan_py/seed-imports
printf 'src/%%0A::error::x,y:z\r\n\x1b[31m' > fuzz/corpus/escape/seed-hostile
# Inputs that once crashed a target (fuzz/regressions/<target>/, committed): every run tries them.
for d in fuzz/regressions/*/; do
  t=$(basename "$d")
  mkdir -p "fuzz/corpus/$t"
  cp "$d"* "fuzz/corpus/$t/"
done
# Structured targets start from libFuzzer's own inputs plus the source seeds.
mkdir -p fuzz/corpus/scan_js_structured fuzz/corpus/scan_py_structured
echo "fuzz corpora seeded: $(find fuzz/corpus -type f | wc -l) files in $(ls fuzz/corpus | wc -l) targets"
