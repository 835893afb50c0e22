#!/usr/bin/env bash
# Build merge-gates and run every gate enabled in fixtures/demo/.github/merge-gates.toml on the
# demo pull request: a PR body, its changed files and the repository they describe. The demo has
# real findings, so this exits 1 (the gate fails) — that is the point.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prereqs.sh
prereqs_build
cargo build --release --locked --quiet
set -x
./target/release/merge-gates run \
  --repo fixtures/demo \
  --pr-body-file fixtures/demo/PR_BODY.md \
  --changed-files fixtures/demo/CHANGED_FILES \
  --now 2025-10-21T17:00:00Z "$@"
