#!/bin/sh
# End to end, real processes: `gpufleetd demo --scenario mixed-kvm` (T4 and A16 equal-size, an
# L40S in mixed-size mode, an A100 in MIG mode; one agent per simulated host over HTTP) driven by
# the real `gpufleet` CLI. The scenario's VMs are placed by the planner and created by the agents
# on the simulated driver, which checks the carving rules itself (equal-size one type per GPU,
# mixed-size placements, MIG geometry); more VMs are created until the MIG GPU refuses; no GPU is
# booked beyond its framebuffer or (MIG) its seven compute slices; the demo stops on SIGTERM.
# Usage: demo_mixed_e2e_test.sh GPUFLEETD GPUFLEET
set -eu
DAEMON="$1"
CLI="$2"
. "$(dirname "$0")/demo_e2e_lib.sh"
start_demo --scenario mixed-kvm
# every_vm_observed: every vGPU of every VM is reported by its host's agent.
every_vm_observed() {
  "$CLI" vms -o json | python3 -c '
import json, sys
vms = json.load(sys.stdin).get("items", [])
ok = vms and all(g.get("observed") for vm in vms for g in vm.get("vgpus", []))
sys.exit(0 if ok else 1)'
}
hosts_ready() { [ "$("$CLI" hosts -o json | grep -c '"state": "ready"')" -eq 4 ]; }

wait_for "four simulated hosts ready" 30 hosts_ready
wait_for "the scenario's VMs created by the agents" 60 every_vm_observed
stamp "scenario VMs observed: $("$CLI" vms -o json | grep -c '"uuid"') vGPUs"

# Each kind of GPU gets a new VM; the agents create them on the simulated driver.
for spec in "t4-new T4-8Q" "a16-new A16-4Q" "l40s-new L40S-12Q" "mig-new A100-1-5C"; do
  set -- $spec
  "$CLI" vm create "$1" --type "$2" > "$DIR/create" 2>&1 || fail "vm create $1: $(cat "$DIR/create")"
done
wait_for "the new VMs created by the agents" 60 every_vm_observed
stamp "new VMs observed"

# The scenario's pool has 4 vCS seats: C-series VMs are placed until they are taken, and the
# next one is refused for its license, not for room.
seated=0
while [ "$seated" -lt 5 ]; do
  code=0
  "$CLI" vm create "vcs-$seated" --type A100-1-5C > "$DIR/fill" 2>&1 || code=$?
  [ "$code" -eq 0 ] || break
  seated=$((seated + 1))
done
[ "$code" -eq 1 ] && grep -q "vCS license seats" "$DIR/fill" ||
  fail "C-series VMs beyond 4 vCS seats are not refused for their seats ($code): $(cat "$DIR/fill")"
"$CLI" licenses pool set more-vcs --edition vCS --seats 16 > "$DIR/pool" 2>&1 ||
  fail "licenses pool set: $(cat "$DIR/pool")"
# Fill the A100 with 1g.5gb MIG instances until the planner refuses for the MIG geometry.
filled=0
while [ "$filled" -lt 10 ]; do
  code=0
  "$CLI" vm create "mig-fill-$filled" --type A100-1-5C > "$DIR/fill" 2>&1 || code=$?
  [ "$code" -eq 0 ] || break
  filled=$((filled + 1))
done
[ "$code" -eq 1 ] || fail "refusal should exit 1, got $code: $(cat "$DIR/fill")"
grep -q "slice" "$DIR/fill" || fail "refusal does not name the MIG slices: $(cat "$DIR/fill")"
wait_for "the MIG instances created by the agent" 60 every_vm_observed
stamp "A100 full after $filled more 1g instances: $(head -1 "$DIR/fill")"

# No GPU beyond its framebuffer or its compute slices; equal-size GPUs hold one type; the modes
# the controller reports are the scenario's.
"$CLI" vms -o json > "$DIR/vms.json"
"$CLI" gpus -o json > "$DIR/gpus.json"
python3 - "$DIR/vms.json" "$DIR/gpus.json" <<'PY' || fail "the fleet breaks a carving rule"
import collections, json, re, sys
vms = json.load(open(sys.argv[1]))["items"]
gpus = {(g["host"], g["pci"]): g for g in json.load(open(sys.argv[2]))["items"]}
fb = {"T4": 16, "A16": 16, "L40S": 48, "A100": 40}
used, types, slices = collections.Counter(), collections.defaultdict(set), collections.Counter()
for vm in vms:
    for v in vm["vgpus"]:
        key = (v["host"], v["gpu"])
        m = re.match(r"([A-Z0-9]+)-(?:(\d)-)?(\d+)[A-Z]$", v["type"])
        board, mig, size = m.group(1), m.group(2), int(m.group(3))
        used[key] += size
        types[key].add(v["type"])
        if mig: slices[key] += int(mig)
bad = []
for key, gb in used.items():
    board = gpus[key]["board"]
    if gb > fb[board]: bad.append(f"{key}: {gb} GB on a {fb[board]} GB {board}")
    if gpus[key]["mode"] in ("equal-size", "unconfigured") and len(types[key]) > 1:
        bad.append(f"{key}: equal-size with {sorted(types[key])}")
for key, n in slices.items():
    if n > 7: bad.append(f"{key}: {n} MIG compute slices")
modes = {gpus[k]["board"]: gpus[k]["mode"] for k in gpus}
if modes.get("A100") != "mig": bad.append(f"A100 mode {modes.get('A100')}")
if modes.get("L40S") != "mixed-size": bad.append(f"L40S mode {modes.get('L40S')}")
for b in bad: print(b)
sys.exit(1 if bad else 0)
PY
stamp "no GPU over its framebuffer or slices; modes as in the scenario"

stop_demo
echo "ok: mixed KVM fleet: scenario VMs, T4/A16/L40S/MIG placements, A100 filled, rules hold"
