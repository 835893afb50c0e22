#!/usr/bin/env bash
# Install what building and testing merge-gates needs, when it is missing: a C toolchain and
# libclang (pg_query compiles PostgreSQL's parser and generates bindings with bindgen), git, and
# a PostgreSQL server answering on 127.0.0.1:5432 for the migration dry-run tests.
# Sourced by scripts/demo.sh, scripts/test.sh and .ci/run; safe to run again.
set -euo pipefail

apt_updated=""
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "prereqs: please install: $*" >&2
    return 1
  fi
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if [ -z "$apt_updated" ]; then
    $sudo apt-get update -qq >/dev/null
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

prereqs_build() {
  command -v cargo >/dev/null || { echo "prereqs: Rust (cargo) is required: https://rustup.rs" >&2; exit 2; }
  command -v git >/dev/null || apt_install git
  command -v cc >/dev/null || apt_install build-essential
  # tests/hostile.rs measures each child's peak memory with GNU time.
  [ -x /usr/bin/time ] || apt_install time
  # bindgen loads libclang itself (libclang.so / libclang-N.so.*); libclang-cpp, which other
  # packages bring, is not it.
  if ! ls /usr/lib/llvm-*/lib/libclang.so* /usr/lib/x86_64-linux-gnu/libclang-[0-9]*.so* >/dev/null 2>&1; then
    echo "prereqs: installing libclang-dev and clang (for pg_query)"
    apt_install libclang-dev clang
  fi
}

pg_up() { command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; }

prereqs_postgres() {
  pg_up && return 0
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "prereqs: installing PostgreSQL"
    apt_install postgresql
  fi
  local ver
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  local conf="/etc/postgresql/$ver/main"
  # Tests connect as postgres over TCP without a password (trust on loopback only).
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$conf/pg_hba.conf"; then
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$conf/pg_hba.conf"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || pg_ctlcluster "$ver" main start
  for _ in $(seq 1 30); do pg_up && return 0; sleep 1; done
  echo "prereqs: PostgreSQL did not come up on 127.0.0.1:5432" >&2
  exit 2
}
