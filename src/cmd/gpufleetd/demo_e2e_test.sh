#!/bin/sh
# End to end, real processes: `gpufleetd demo` (controller + simulated seed cluster + one agent
# per host over HTTP) driven by the real `gpufleet` CLI and the demo's fault API. A VM is placed
# by the planner and created by an agent (observed), migrated, its host evacuated (maintenance)
# and brought back; a simulated host crashes, is marked down, and the HA restart brings its VMs
# up elsewhere; VMs are created until the cluster is full and the next one is refused with the
# planner's reason; the demo stops cleanly on SIGTERM. Usage: demo_e2e_test.sh GPUFLEETD GPUFLEET
set -eu
DAEMON="$1"
CLI="$2"
DIR=$(mktemp -d)
OUT="$DIR/stdout"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
stamp() { echo "[$(date +%T)] $*"; }
fail() { echo "FAIL: $*"; echo "--- demo stderr:"; tail -30 "$DIR/stderr"; exit 1; }

"$DAEMON" demo --listen 127.0.0.1:0 --heartbeat-interval 1s --data-dir "$DIR/data" \
  > "$OUT" 2> "$DIR/stderr" &
PID=$!
for _ in $(seq 1 300); do
  grep -q "Ctrl-C stops" "$OUT" && break
  kill -0 "$PID" 2>/dev/null || fail "the demo exited early"
  sleep 0.1
done
GPUFLEET_SERVER=$(sed -n 's/^ *URL: *//p' "$OUT")
GPUFLEET_TOKEN=$(sed -n 's/^ *token: *\([^ ]*\).*/\1/p' "$OUT")
export GPUFLEET_SERVER GPUFLEET_TOKEN
[ -n "$GPUFLEET_SERVER" ] && [ -n "$GPUFLEET_TOKEN" ] || fail "no URL or token printed"

# wait_for DESCRIPTION SECONDS COMMAND...: retries COMMAND every 0.2 s.
wait_for() {
  what="$1"; secs="$2"; shift 2
  n=$((secs * 5))
  while [ "$n" -gt 0 ]; do
    if "$@" > /dev/null 2>&1; then return 0; fi
    n=$((n - 1)); sleep 0.2
  done
  fail "$what (after ${secs}s)"
}
hosts_ready() { [ "$("$CLI" hosts -o json | grep -c '"state": "ready"')" -eq 3 ]; }
# vm_field NAME FIELD: FIELD (host, observed) of the first vGPU of VM NAME.
vm_field() {
  "$CLI" vms -o json | python3 -c '
import json, sys
items = json.load(sys.stdin).get("items", [])
for vm in items:
    if vm.get("name") == sys.argv[1] and vm.get("vgpus"):
        print(str(vm["vgpus"][0].get(sys.argv[2], "")).lower())' "$1" "$2"
}
observed() { [ "$(vm_field "$1" observed)" = "true" ]; }
host_state() {
  "$CLI" hosts -o json | python3 -c '
import json, sys
for h in json.load(sys.stdin).get("items", []):
    if h.get("name") == sys.argv[1]:
        print(h.get("state"))' "$1"
}

stamp "demo up"
wait_for "three simulated hosts ready" 20 hosts_ready
stamp "hosts ready"
"$CLI" vm create demo-1 --type P40-8Q > "$DIR/create" || fail "vm create: $(cat "$DIR/create")"
wait_for "demo-1's vGPU created by the agent" 20 observed demo-1
stamp "demo-1 observed"
FROM=$(vm_field demo-1 host)
[ -n "$FROM" ] || fail "demo-1 has no host"
"$CLI" vm migrate demo-1 > "$DIR/migrate" 2>&1 || fail "vm migrate: $(cat "$DIR/migrate")"
moved() { to=$(vm_field demo-1 host); [ -n "$to" ] && [ "$to" != "$FROM" ] && observed demo-1; }
wait_for "demo-1 observed on another host than $FROM" 30 moved
stamp "migrated"
TO=$(vm_field demo-1 host)
"$CLI" host maintenance "$TO" > "$DIR/evacuate" 2>&1 || fail "maintenance: $(cat "$DIR/evacuate")"
off_host() { now=$(vm_field demo-1 host); [ "$now" != "$TO" ] && observed demo-1; }
wait_for "demo-1 evacuated from $TO" 30 off_host
stamp "evacuated"
[ "$(host_state "$TO")" = "maintenance" ] || fail "$TO is not in maintenance"
"$CLI" host maintenance "$TO" --exit > "$DIR/exit" 2>&1 || fail "exit maintenance: $(cat "$DIR/exit")"
[ "$(host_state "$TO")" = "ready" ] || fail "$TO did not come back"

# Crash the host of model-1 (the simulator's fault API): down after 3 missed heartbeats, then
# the automatic HA restart places its VMs elsewhere and their agents create them.
sim() { curl -sf -X "$1" -H "Authorization: Bearer $GPUFLEET_TOKEN" \
             -H 'Content-Type: application/json' -d "${3:-{\}}" "$GPUFLEET_SERVER/api/v1/sim/$2"; }
status_of() { curl -s -o /dev/null -w '%{http_code}' -X "$1" -H "Authorization: Bearer $2" \
                  -H 'Content-Type: application/json' -d "$4" "$GPUFLEET_SERVER/api/v1/sim/$3"; }
[ "$(status_of PUT "$GPUFLEET_TOKEN" license-server '{"up":"yes"}')" = 400 ] ||
  fail "a bad fault body is not a 400"
[ "$(status_of POST "$GPUFLEET_TOKEN" hosts/nope/crash '{}')" = 404 ] || fail "unknown host not 404"
[ "$(status_of POST wrong-token hosts/r730-1/crash '{}')" = 401 ] || fail "fault API without auth"
VICTIM=$(vm_field model-1 host)
[ -n "$VICTIM" ] || fail "model-1 has no host"
sim POST "hosts/$VICTIM/crash" > /dev/null || fail "crash $VICTIM"
host_down() { [ "$(host_state "$VICTIM")" = "down" ]; }
wait_for "$VICTIM marked down" 30 host_down
stamp "$VICTIM down"
restarted() { h=$(vm_field model-1 host); [ -n "$h" ] && [ "$h" != "$VICTIM" ] && observed model-1; }
wait_for "model-1 restarted away from $VICTIM" 40 restarted
"$CLI" operations --kind ha-restart -o json | grep -q '"state": "succeeded"' ||
  fail "no succeeded ha-restart operation"
stamp "HA restart of $VICTIM done"

# Fill the cluster with P40-8Q VMs: every placement respects the carving (a P40 holds 3), and
# the first refusal names the reason.
n=0
while [ "$n" -lt 12 ]; do
  n=$((n + 1))
  code=0
  "$CLI" vm create "fill-$n" --type P40-8Q > "$DIR/fill" 2>&1 || code=$?
  [ "$code" -eq 0 ] && continue
  [ "$code" -eq 1 ] || fail "refusal should exit 1, got $code: $(cat "$DIR/fill")"
  grep -q "carved for P40-3Q" "$DIR/fill" || fail "refusal does not say why: $(cat "$DIR/fill")"
  break
done
[ "$n" -lt 12 ] || fail "12 more P40-8Q VMs fit on two P40s"
over=$("$CLI" vms -o json | python3 -c '
import collections, json, sys
size = {"P40-8Q": 8, "P40-3Q": 3}
used = collections.Counter()
for vm in json.load(sys.stdin).get("items", []):
    for g in vm.get("vgpus", []):
        used[(g["host"], g["gpu"])] += size.get(g["type"], 24)
print(sum(1 for v in used.values() if v > 24))')
[ "$over" = "0" ] || fail "$over GPUs are booked beyond 24 GB"
stamp "full after $((n - 1)) more VMs: $(head -1 "$DIR/fill")"

if grep -q "$GPUFLEET_TOKEN" "$DIR/stderr"; then fail "token leaked to stderr"; fi

kill -TERM "$PID"
wait "$PID" || fail "the demo exited with $? on SIGTERM"
PID=""
stamp "stopped"
echo "ok: placed on $FROM, migrated to $TO, evacuated, HA restart after $VICTIM crashed, full"
