#!/bin/sh
# End to end, real processes: a `gpufleetd controller` and one `gpufleetd agent --backend sim
# --sim-state FILE` whose simulated host (agent_kill_scenario.yaml: three P40s, slow and
# sometimes failing sysfs writes) outlives the agent in FILE, as a real host's driver does. The
# agent is enrolled with the CLI; VMs are created and deleted through the REST API in rounds
# while the agent is killed with SIGKILL at random moments (KILLS times; KILL_SEED fixes the
# sequence of changes and waits, timing still varies) and restarted. Once the last agent is up
# and has converged, the host's live instances (FILE: what the simulated driver has) are exactly
# the controller's desired ones: no orphan (an instance no VM wants), no duplicate, no GPU over
# its capacity, and every VM's vGPUs are observed.
# Usage: agent_kill_e2e_test.sh GPUFLEETD GPUFLEET
set -eu
DAEMON="$1"
CLI="$2"
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/demo_e2e_lib.sh"
KILLS=${KILLS:-24}
SEED=${KILL_SEED:-1}
HOST=kill-1
SIM_STATE="$DIR/sim-state.json"
AGENT=""
trap '[ -n "$AGENT" ] && kill -9 "$AGENT" 2>/dev/null; cleanup' EXIT

# A seeded linear congruential generator, the same under every sh: next_rand N sets R to 0..N-1.
next_rand() {
  SEED=$(((SEED * 1103515245 + 12345) % 2147483648))
  R=$(((SEED / 65536) % $1))
}
sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

"$DAEMON" controller --data-dir "$DIR/data" --listen 127.0.0.1:0 --heartbeat-interval 1s \
  --no-auto-ha-restart > "$OUT" 2> "$DIR/stderr" &
PID=$!
token_printed() { [ -n "$(sed -n '/admin token/{n;p;}' "$OUT")" ]; }
wait_for "the controller's URL and admin token" 20 token_printed
GPUFLEET_SERVER=$(sed -n 's/^gpufleetd: listening on //p' "$OUT")
GPUFLEET_TOKEN=$(sed -n '/admin token/{n;p;}' "$OUT")
export GPUFLEET_SERVER GPUFLEET_TOKEN
stamp "controller up at $GPUFLEET_SERVER"

"$CLI" tokens enrol "$HOST" -o json > "$DIR/enrol.json" || fail "tokens enrol: $(cat "$DIR/enrol.json")"
ENROL=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["token"])' "$DIR/enrol.json")

banners() { grep -c "reporting to" "$DIR/agent.out" 2>/dev/null || true; }
start_agent() {
  BANNERS=$(banners)
  "$DAEMON" agent --server "$GPUFLEET_SERVER" --host "$HOST" --state-dir "$DIR/agent" \
    --backend sim --scenario "$HERE/agent_kill_scenario.yaml" --sim-state "$SIM_STATE" \
    --resync-interval 2s "$@" >> "$DIR/agent.out" 2>> "$DIR/stderr" &
  AGENT=$!
}
# The last agent printed its banner: it is up and handles its stop signals.
agent_up() { [ "$(banners)" -gt "$BANNERS" ]; }
host_ready() { "$CLI" hosts -o json | grep -q '"state": "ready"'; }
start_agent --enrol-token "$ENROL"
wait_for "the agent enrolled and its host ready" 20 host_ready
stamp "agent up"

# api METHOD PATH [BODY]: the controller's REST API as the admin (the CLI's process start costs
# more than the whole request); prints the HTTP status, the body goes to $DIR/api.out.
api() {
  curl -s -o "$DIR/api.out" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $GPUFLEET_TOKEN" \
    -H 'Content-Type: application/json' -d "${3:-}" "$GPUFLEET_SERVER$2"
}
VMS=""  # the VMs that exist in the controller
N=0
TYPES="P40-4Q P40-8Q P40-12Q"
count() { set -- $VMS; echo $#; }
# One change of the desired state: create a VM (1 or 2 vGPUs), or delete one.
change() {
  next_rand 10
  if [ "$R" -lt 6 ] && [ "$(count)" -lt 7 ] || [ -z "$VMS" ]; then
    N=$((N + 1))
    next_rand 3
    type=$(echo "$TYPES" | cut -d' ' -f$((R + 1)))
    next_rand 4
    vgpus=1
    [ "$R" -eq 0 ] && vgpus=2
    code=$(api POST /api/v1/vms "{\"name\": \"vm-$N\", \"type\": \"$type\", \"vgpus\": $vgpus}")
    case "$code" in
      201) VMS="$VMS vm-$N" ;;
      4*) ;;  # a full host refuses: the desired state stays as it was
      *) fail "create vm-$N: HTTP $code $(cat "$DIR/api.out")" ;;
    esac
  else
    next_rand "$(count)"
    victim=$(echo $VMS | cut -d' ' -f$((R + 1)))
    code=$(api DELETE "/api/v1/vms/$victim")
    [ "$code" = 204 ] || fail "delete $victim: HTTP $code $(cat "$DIR/api.out")"
    VMS=$(echo $VMS | tr ' ' '\n' | grep -vx "$victim" | tr '\n' ' ')
  fi
}

# What the controller wants against what the simulated host has (FILE), and the observed flags.
check() {
  curl -sf -H "Authorization: Bearer $GPUFLEET_TOKEN" \
    "$GPUFLEET_SERVER/api/v1/hosts/$HOST/desired" > "$DIR/desired.json" || return 1
  curl -sf -H "Authorization: Bearer $GPUFLEET_TOKEN" "$GPUFLEET_SERVER/api/v1/vms" \
    > "$DIR/vms.json" || return 1
  python3 - "$DIR/desired.json" "$SIM_STATE" "$DIR/vms.json" "$HOST" > "$DIR/diff" 2>&1 <<'PY'
import collections, json, sys
desired, state, vms, host = (json.load(open(sys.argv[1])), json.load(open(sys.argv[2])),
                             json.load(open(sys.argv[3])), sys.argv[4])
def live(i):  # an instance tearing down is on its way out (the file is rewritten at changes only)
    return i["teardown_until"] is None
problems = []
want = {(d["uuid"], d["gpu"], d["type"]) for d in desired["instances"]}
have, uuids = set(), collections.Counter()
for h in state["hosts"]:
    if h["name"] != host:
        continue
    for g in h["gpus"]:
        insts = g["instances"]
        # Equal-size P40 (24 GB): one type per GPU, at most 24 / framebuffer GB instances.
        kinds = {i["type"] for i in insts}
        if len(kinds) > 1:
            problems.append(f"GPU {g['id']} holds several types: {sorted(kinds)}")
        for t in kinds:
            gb = int(t.split("-")[1][:-1])
            if len(insts) > 24 // gb:
                problems.append(f"GPU {g['id']} over capacity: {len(insts)} x {t}")
        for i in insts:
            if live(i):
                uuids[i["uuid"]] += 1
                have.add((i["uuid"], g["id"], i["type"]))
problems += [f"duplicate instance {u}" for u, n in uuids.items() if n > 1]
problems += [f"orphan {o}" for o in sorted(have - want)]
problems += [f"missing {m}" for m in sorted(want - have)]
for vm in vms.get("items", []):
    for v in vm.get("vgpus", []):
        if not v.get("observed"):
            problems.append(f"{vm['name']} vGPU {v['index']} not observed")
print(f"{len(want)} desired, {len(have)} on the host")
print("\n".join(problems))
sys.exit(1 if problems else 0)
PY
}
START=$(date +%s)
MID=0
i=0
while [ "$i" -lt "$KILLS" ]; do
  i=$((i + 1))
  next_rand 3
  changes=$((R + 1))
  while [ "$changes" -gt 0 ]; do change; changes=$((changes - 1)); done
  next_rand 1200  # the agent sees the change within a heartbeat (1 s), then writes for a while
  sleep_ms "$((150 + R))"
  kill -0 "$AGENT" 2>/dev/null || fail "the agent died by itself before kill $i"
  check || MID=$((MID + 1))  # not converged yet: the kill lands mid-reconcile
  kill -9 "$AGENT"
  wait "$AGENT" 2>/dev/null || true
  AGENT=""
  next_rand 2
  [ "$R" -eq 0 ] && change  # the desired state also changes while the agent is dead
  start_agent
done
stamp "$KILLS kills ($MID before convergence) in $(($(date +%s) - START)) s; VMs:$VMS"

wait_for "the last agent started" 20 agent_up
n=0
until check; do
  n=$((n + 1))
  [ "$n" -lt 150 ] || { cat "$DIR/diff"; fail "the host did not converge to the desired state"; }
  sleep 0.2
done
kill -0 "$AGENT" 2>/dev/null || fail "the agent died"
stamp "converged after $KILLS kills: $(head -1 "$DIR/diff"), no orphan, no duplicate"
kill -TERM "$AGENT"
wait "$AGENT" || fail "the agent exited with $? on SIGTERM"
AGENT=""
kill -TERM "$PID"
wait "$PID" || fail "the controller exited with $? on SIGTERM"
PID=""
echo "agent kill e2e ok"
