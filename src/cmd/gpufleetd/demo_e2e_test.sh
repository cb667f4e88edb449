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
. "$(dirname "$0")/demo_e2e_lib.sh"
start_demo
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
# The agent starts the VM once its vGPU exists and reports the vGPU in use: a running VM.
in_use() {
  curl -sf -H "Authorization: Bearer $GPUFLEET_TOKEN" "$GPUFLEET_SERVER/api/v1/hosts/$FROM/instances" |
    python3 -c '
import json, sys
sys.exit(0 if any(i.get("vm") == "demo-1" and i.get("active") for i in json.load(sys.stdin)["items"]) else 1)'
}
wait_for "demo-1 running on $FROM" 20 in_use
# Its agent's telemetry carries the vGPU's own reading: a metric labelled with the VM.
vgpu_metric() {
  curl -sf -H "Authorization: Bearer $GPUFLEET_TOKEN" "$GPUFLEET_SERVER/metrics" |
    grep -q "^gpufleet_vgpu_utilization_ratio{host=\"$FROM\",gpu=\"[^\"]*\",vm=\"demo-1\",vgpu_type=\"P40-8Q\"}"
}
wait_for "demo-1's vGPU utilisation in /metrics" 20 vgpu_metric
"$CLI" vm migrate demo-1 > "$DIR/migrate" 2>&1 || fail "vm migrate: $(cat "$DIR/migrate")"
moved() { to=$(vm_field demo-1 host); [ -n "$to" ] && [ "$to" != "$FROM" ] && observed demo-1; }
wait_for "demo-1 observed on another host than $FROM" 30 moved
stamp "migrated"
# The demo's agents share one simulated cluster: the move was live, with the stun time reported.
live() { "$CLI" events --kind vm.live-migrated -o json | grep -q "vm demo-1 live-migrated from $FROM"; }
wait_for "demo-1's live migration reported by $FROM's agent" 20 live
"$CLI" events --kind vm.live-migrated | grep -q "paused" || fail "no stun time in the event"
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
# Before the crash: the N+1 check's verdict for this host's failure (which VMs could not restart).
"$CLI" vms -o json > "$DIR/vms-before.json"
"$CLI" ha check -o json > "$DIR/ha.json" 2> /dev/null || true  # exit 1 when not N+1
HA_VERDICT=$(python3 - "$DIR/ha.json" "$DIR/vms-before.json" "$VICTIM" <<'PY'
import json, sys
ha, vms, victim = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
on = sorted(v["name"] for v in vms["items"] if v["vgpus"] and v["vgpus"][0]["host"] == victim)
failure = [f for f in ha.get("failures", []) if f["host"] == victim]
if not failure or failure[0]["vms"] != len(on):
    sys.exit(f"ha check does not describe {victim}'s {len(on)} VMs: {failure}")
stuck = sorted(s["vm"] for s in failure[0]["cannot_restart"])
print(" ".join(v for v in on if v not in stuck) + "|" + " ".join(stuck))
PY
) || fail "ha check before the crash: $HA_VERDICT"
RESTARTABLE=${HA_VERDICT%%|*}
STUCK=${HA_VERDICT#*|}
[ -n "$RESTARTABLE" ] || fail "ha check says none of $VICTIM's VMs could restart"
sim POST "hosts/$VICTIM/crash" > /dev/null || fail "crash $VICTIM"
host_down() { [ "$(host_state "$VICTIM")" = "down" ]; }
wait_for "$VICTIM marked down" 30 host_down
stamp "$VICTIM down"
# Exactly the VMs the N+1 check said could restart come back elsewhere, observed by their agents.
all_restarted() {
  for vm in $RESTARTABLE; do
    h=$(vm_field "$vm" host)
    [ -n "$h" ] && [ "$h" != "$VICTIM" ] && observed "$vm" || return 1
  done
}
wait_for "$RESTARTABLE restarted away from $VICTIM" 40 all_restarted
"$CLI" operations --kind ha-restart -o json | grep -q '"state": "succeeded"' ||
  fail "no succeeded ha-restart operation"
for vm in $STUCK; do
  [ "$(vm_field "$vm" host)" = "$VICTIM" ] || fail "$vm restarted although ha check said it could not"
done
stamp "HA restart of $VICTIM done: $RESTARTABLE (as ha check predicted${STUCK:+; stuck: $STUCK})"

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

stop_demo
echo "ok: placed on $FROM, live-migrated to $TO, evacuated, HA restart after $VICTIM crashed, full"
