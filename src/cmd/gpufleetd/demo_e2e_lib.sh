# Shared by the demo end-to-end scripts (sourced, not run): a temporary directory removed at
# exit, `start_demo ARGS...` (gpufleetd demo on port 0, waits for its banner, exports
# GPUFLEET_SERVER and GPUFLEET_TOKEN for the CLI), `stop_demo` (SIGTERM, must exit 0), `stamp`,
# `fail` and `wait_for`. The caller sets DAEMON (gpufleetd) and CLI (gpufleet) first.
DIR=$(mktemp -d)
OUT="$DIR/stdout"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
stamp() { echo "[$(date +%T)] $*"; }
fail() { echo "FAIL: $*"; echo "--- demo stderr:"; tail -30 "$DIR/stderr"; exit 1; }

start_demo() {
  "$DAEMON" demo --listen 127.0.0.1:0 --heartbeat-interval 1s --data-dir "$DIR/data" "$@" \
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
}

# The token never reaches the log; SIGTERM stops the demo with exit 0.
stop_demo() {
  if grep -q "$GPUFLEET_TOKEN" "$DIR/stderr"; then fail "token leaked to stderr"; fi
  kill -TERM "$PID"
  wait "$PID" || fail "the demo exited with $? on SIGTERM"
  PID=""
  stamp "stopped"
}

# wait_for DESCRIPTION SECONDS COMMAND...: retries COMMAND every 0.2 s.
wait_for() {
  wf_what="$1"; wf_secs="$2"; shift 2
  wf_n=$((wf_secs * 5))
  while [ "$wf_n" -gt 0 ]; do
    if "$@" > /dev/null 2>&1; then return 0; fi
    wf_n=$((wf_n - 1)); sleep 0.2
  done
  fail "$wf_what (after ${wf_secs}s)"
}
