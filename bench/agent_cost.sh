#!/bin/sh
# Agent cost (docs/performance.md, "Agent"): a real `gpufleetd agent` process with the simulated
# backend (bench/agent_8gpu.yaml: 8 GPUs, telemetry at 1 Hz, 16 vGPUs to keep converged) against
# a real controller, both on this machine. Prints the agent's CPU share of one core and its
# resident memory over a measured window. Targets: <= 0.5% of a core, <= 15 MiB RSS.
# Usage: agent_cost.sh GPUFLEETD GPUFLEET [SECONDS]   (build with the bench or release preset;
# a sanitizer build measures the sanitizers)
set -eu
DAEMON="$1"
CLI="$2"
SECS="${3:-60}"
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$(mktemp -d)
CPID=""
APID=""
cleanup() {
  [ -n "$APID" ] && kill "$APID" 2>/dev/null || true
  [ -n "$CPID" ] && kill "$CPID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

"$DAEMON" controller --data-dir "$DIR/ctl" --listen 127.0.0.1:0 --heartbeat-interval 10s \
  > "$DIR/ctl.out" 2> "$DIR/ctl.err" &
CPID=$!
for _ in $(seq 1 100); do grep -q "admin token" "$DIR/ctl.out" && break; sleep 0.1; done
GPUFLEET_SERVER=$(sed -n 's/^gpufleetd: listening on //p' "$DIR/ctl.out")
GPUFLEET_TOKEN=$(sed -n '/admin token/{n;p;}' "$DIR/ctl.out")
export GPUFLEET_SERVER GPUFLEET_TOKEN
"$CLI" licenses pool set vws --edition vWS --seats 64 > /dev/null
ENROL=$("$CLI" tokens enrol bench-1 -o json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
GPUFLEET_ENROL_TOKEN="$ENROL" "$DAEMON" agent --server "$GPUFLEET_SERVER" --host bench-1 \
  --state-dir "$DIR/agent" --backend sim --scenario "$HERE/agent_8gpu.yaml" \
  --telemetry-interval 1s > "$DIR/agent.out" 2> "$DIR/agent.err" &
APID=$!
for _ in $(seq 1 100); do
  "$CLI" hosts -o json 2>/dev/null | grep -q bench-1 && break
  sleep 0.1
done
i=1
while [ "$i" -le 16 ]; do
  "$CLI" vm create "bench-vm-$i" --type P40-12Q > /dev/null
  i=$((i + 1))
done
# Warm-up: enrolment, the first reconciles (the agent creates the 16 vGPUs), the first reports.
observed=0
for _ in $(seq 1 120); do
  observed=$("$CLI" vms -o json | grep -c '"observed": true' || true)
  [ "$observed" -eq 16 ] && break
  sleep 0.5
done
[ "$observed" -eq 16 ] || { echo "only $observed of 16 vGPUs observed"; tail -20 "$DIR/agent.err"; exit 1; }
sleep 2

ticks() { awk '{print $14 + $15}' "/proc/$APID/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks)
start=$(date +%s.%N)
sleep "$SECS"
t1=$(ticks)
end=$(date +%s.%N)
rss=$(awk '/^VmRSS/{print $2}' "/proc/$APID/status")
hwm=$(awk '/^VmHWM/{print $2}' "/proc/$APID/status")
kill -0 "$APID" || { echo "the agent died"; cat "$DIR/agent.err"; exit 1; }
python3 - "$t0" "$t1" "$hz" "$start" "$end" "$rss" "$hwm" "$observed" <<'PY'
import sys
t0, t1, hz, start, end, rss, hwm, observed = sys.argv[1:]
cpu = (int(t1) - int(t0)) / int(hz)
wall = float(end) - float(start)
print("| agent (sim backend, 8 GPUs, 1 Hz telemetry, 16 vGPUs) | value | target |")
print("|---|---|---|")
print(f"| measured window | {wall:.1f} s | |")
print(f"| CPU | {100 * cpu / wall:.3f} % of one core | <= 0.5 % |")
print(f"| resident memory now | {int(rss) / 1024:.1f} MiB | <= 15 MiB |")
print(f"| resident memory peak | {int(hwm) / 1024:.1f} MiB | |")
print(f"| vGPUs kept converged | {observed} | 16 |")
PY
