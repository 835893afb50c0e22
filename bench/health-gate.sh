#!/usr/bin/env bash
# Benchmark: health-gate's own overhead per probe vs `curl` against the same local server
# (a small Python HTTP server on 127.0.0.1 answering `{"status":"healthy"}`).
#   1. one healthy probe, whole process: `merge-gates health-gate --url …` vs `curl -fsS`;
#   2. the marginal cost of one more probe inside a run: (50 probes − 1 probe) / 49, for
#      merge-gates (`--success-threshold 50 --interval 0ms`) and for curl (50 URLs in one
#      process, a fresh connection each, as merge-gates makes);
#   3. the same for one more sample of an analysis window (`--samples 49 --interval 0ms`:
#      1 probe to pass, then 49 samples judged for success rate and P50/P95/P99).
# Prints median wall times, peak memory and the ratios. BIN=… benchmarks another build;
# PROBES=… sets the number of probes of the second figure (default 50).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_tools
command -v curl >/dev/null || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null; }
if [ -z "${BIN:-}" ]; then
  cargo build --release --locked --quiet
  BIN=$PWD/target/release/merge-gates
fi
work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

cat > "$work/server.py" <<'PY'
import http.server, socketserver, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16              # head and body in one segment
    disable_nagle_algorithm = True
    def log_message(self, *a): pass
    def do_GET(self):
        body = b'{"status":"healthy","checks":{"database":{"status":"healthy","latency_ms":1.2}}}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
s = S(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
python3 "$work/server.py" > "$work/port" &
server_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
URL="http://127.0.0.1:$(cat "$work/port")/health"

# Sanity: both see a healthy endpoint.
"$BIN" health-gate --url "$URL" --expect-json status=healthy --format json > /dev/null
curl -fsS -o /dev/null "$URL"

N=${PROBES:-50}
urls=()
for _ in $(seq $N); do urls+=(-o /dev/null "$URL"); done
# `Connection: close`: curl would reuse one connection; merge-gates connects afresh per attempt.
mg1=$(median_ms "$BIN" health-gate --url "$URL" --expect-json status=healthy --format json)
mgN=$(median_ms "$BIN" health-gate --url "$URL" --expect-json status=healthy --format json \
  --success-threshold $N --interval 0ms --timeout 1m)
c1=$(median_ms curl -fsS -o /dev/null "$URL")
cN=$(median_ms curl -fsS -H 'Connection: close' "${urls[@]}")
per() { python3 -c "import sys; print(round((float(sys.argv[1])-float(sys.argv[2]))/(int(sys.argv[3])-1), 2))" "$1" "$2" "$N"; }
mgW=$(median_ms "$BIN" health-gate --url "$URL" --expect-json status=healthy --format json \
  --samples $((N - 1)) --interval 0ms --timeout 1m)
m_mg1=$(peak_kb "$BIN" health-gate --url "$URL" --expect-json status=healthy --format json)
m_mgN=$(peak_kb "$BIN" health-gate --url "$URL" --expect-json status=healthy --format json \
  --success-threshold $N --interval 0ms --timeout 1m)
m_mgW=$(peak_kb "$BIN" health-gate --url "$URL" --expect-json status=healthy --format json \
  --samples $((N - 1)) --interval 0ms --timeout 1m)
m_c1=$(peak_kb curl -fsS -o /dev/null "$URL")
m_cN=$(peak_kb curl -fsS -H 'Connection: close' "${urls[@]}")
mg_per=$(per "$mgN" "$mg1")
mg_wper=$(per "$mgW" "$mg1")
c_per=$(per "$cN" "$c1")

printf '\nhealth-gate vs curl, local server, median of %s runs, %s cores\n' "${RUNS:-5}" "$(nproc)"
printf '%-44s %14s %14s %8s\n' "" "merge-gates" "curl" "ratio"
printf '%-44s %14s %14s %8s\n' "one probe, whole process (ms)" "$mg1" "$c1" "$(ratio "$mg1" "$c1")"
printf '%-44s %14s %14s %8s\n' "one more probe within a run (ms)" "$mg_per" "$c_per" "$(ratio "$mg_per" "$c_per")"
printf '%-44s %14s %14s %8s\n' "one more sample of an analysis window (ms)" "$mg_wper" "$c_per" "$(ratio "$mg_wper" "$c_per")"
printf '(merge-gates also checks the JSON body, records every attempt and writes a JSON report.)\n'
bench_result health-gate "one probe, whole process" "$mg1" "curl -fsS" "$c1" "$m_mg1" "$m_c1"
bench_result health-gate "one more probe in a run of $N" "$mg_per" "curl, $N URLs" "$c_per" "$m_mgN" "$m_cN"
bench_result health-gate "one more sample of a window of $((N - 1))" "$mg_wper" "curl, $N URLs" "$c_per" "$m_mgW" "$m_cN"
