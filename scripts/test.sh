#!/usr/bin/env bash
# The test suite: unit tests, the rule registry (docs + fixtures + snapshots for every rule) and
# the end-to-end tests that run the built binary against local servers and the local PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prereqs.sh
prereqs_build
prereqs_postgres
cargo test --locked "$@"
