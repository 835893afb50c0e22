#!/usr/bin/env bash
# The run step of every merge-gates action: turn the inputs (which action.yml passes through
# `env:` only, never interpolated into this script) into one argument vector — a bash array, no
# eval, no word splitting — and exec the installed merge-gates.
#
# MG_COMMAND is the subcommand (`run`, `verify-mcp-evidence`, …). Every other MG_* variable is
# one input; an empty value means "not given" and the config file or the built-in default
# applies. Multi-line inputs (`url`, `expect-json`) give one flag per non-blank line. Secrets
# (`database-url`) never go on the command line: the action passes them in
# MERGE_GATES_DATABASE_URL, which merge-gates reads itself.
set -euo pipefail

# The message quotes inputs: escaped as workflow-command data (%, CR, LF), so that a value
# holding a line break cannot start a workflow command of its own.
fail() {
  local m="$*"
  m="${m//%/%25}"
  m="${m//$'\r'/%0D}"
  m="${m//$'\n'/%0A}"
  echo "::error title=merge-gates::$m"
  exit 2
}

# Append NAME=VALUE to $GITHUB_OUTPUT with a random heredoc delimiter (checked not to occur in
# the value), so that no value can end the entry early and add outputs of its own.
output() {
  local name="$1" value="$2" delim
  delim="ghadelimiter_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  case "$value" in *"$delim"*) fail "output $name holds its own delimiter" ;; esac
  printf '%s<<%s\n%s\n%s\n' "$name" "$delim" "$value" "$delim" >> "${GITHUB_OUTPUT:-/dev/null}"
}

args=("${MG_COMMAND:?MG_COMMAND is not set}")

# --flag VALUE when the input is set.
value() {
  local flag="$1" v="${2:-}"
  [ -z "$v" ] || args+=("--$flag" "$v")
}

# --flag when the input is true; false or empty adds nothing.
switch() {
  local flag="$1" v="${2:-}"
  # No ${v,,}: macOS's /bin/bash is 3.2.
  case "$(printf '%s' "$v" | tr '[:upper:]' '[:lower:]')" in
    true | yes | on | 1) args+=("--$flag") ;;
    false | no | off | 0 | "") ;;
    *) fail "input $flag must be true or false, not '$v'" ;;
  esac
}

# --flag LINE for every non-blank line of a multi-line input.
lines() {
  local flag="$1" v="${2:-}" line
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line#"${line%%[![:space:]]*}"}"
    line="${line%"${line##*[![:space:]]}"}"
    [ -z "$line" ] || args+=("--$flag" "$line")
  done <<< "$v"
}

# Common inputs.
workspace="${GITHUB_WORKSPACE:-$PWD}"
if [ -n "${MG_WORKING_DIRECTORY:-}" ]; then
  case "$MG_WORKING_DIRECTORY" in
    /*) repo="$MG_WORKING_DIRECTORY" ;;
    *) repo="$workspace/$MG_WORKING_DIRECTORY" ;;
  esac
  [ -d "$repo" ] || fail "working-directory '$MG_WORKING_DIRECTORY' is not a directory"
  args+=("--repo" "$repo")
  cd "$repo"
fi
value config "${MG_CONFIG:-}"
value fail-on "${MG_FAIL_ON:-}"
value format "${MG_FORMAT:-}"
value reporter "${MG_REPORTER:-}"
value comment "${MG_COMMENT:-}"
value check-name "${MG_CHECK_NAME:-}"
value filter "${MG_FILTER:-}"
if [ -n "${MG_SARIF_FILE:-}" ]; then
  args+=("--sarif" "$MG_SARIF_FILE")
  case "$MG_SARIF_FILE" in
    *$'\n'* | *$'\r'*) fail "input sarif-file must be a single line (a file path)" ;;
  esac
  output sarif-file "$MG_SARIF_FILE"
fi

# Gate inputs: each action sets only its own.
value threshold "${MG_THRESHOLD:-}"
value reference "${MG_REFERENCE:-}"
switch changed-only "${MG_CHANGED_ONLY:-}"
switch all "${MG_ALL:-}"
value pg-version "${MG_PG_VERSION:-}"
lines url "${MG_URL:-}"
value expect-status "${MG_EXPECT_STATUS:-}"
lines expect-json "${MG_EXPECT_JSON:-}"
value timeout "${MG_TIMEOUT:-}"
value interval "${MG_INTERVAL:-}"
value retries "${MG_RETRIES:-}"
value request-timeout "${MG_REQUEST_TIMEOUT:-}"
value max-latency "${MG_MAX_LATENCY:-}"
value warn-latency "${MG_WARN_LATENCY:-}"
value environment "${MG_ENVIRONMENT:-}"
switch follow-redirects "${MG_FOLLOW_REDIRECTS:-}"
value start-period "${MG_START_PERIOD:-}"
value backoff "${MG_BACKOFF:-}"
value success-threshold "${MG_SUCCESS_THRESHOLD:-}"
value samples "${MG_SAMPLES:-}"
value duration "${MG_DURATION:-}"
value min-success-rate "${MG_MIN_SUCCESS_RATE:-}"
value max-p95 "${MG_MAX_P95:-}"
value max-p99 "${MG_MAX_P99:-}"
value failure-limit "${MG_FAILURE_LIMIT:-}"
value method "${MG_METHOD:-}"
value expect-body "${MG_EXPECT_BODY:-}"
value expect-body-regex "${MG_EXPECT_BODY_REGEX:-}"
lines header-from-env "${MG_HEADER_FROM_ENV:-}"
lines header "${MG_HEADER:-}"
switch insecure "${MG_INSECURE:-}"
value cert-min-days "${MG_CERT_MIN_DAYS:-}"

# An empty secret is "not given", not an empty URL.
[ -n "${MERGE_GATES_DATABASE_URL:-}" ] || unset MERGE_GATES_DATABASE_URL

if [ "${MG_PRINT_ARGS:-}" = 1 ]; then
  # For the tests: the argument vector, one per line, instead of running.
  printf '%s\n' "${args[@]}"
  exit 0
fi
exec "${MERGE_GATES_BIN:-merge-gates}" "${args[@]}"
