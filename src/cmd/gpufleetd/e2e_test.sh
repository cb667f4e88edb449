#!/bin/sh
# End to end: the real gpufleetd on port 0 in a fresh data directory. Reads the URL and the
# one-time admin token from its stdout, registers a host, places a VM, checks the admin-token
# file's mode, stops it with SIGTERM, restarts it on the same directory and finds the VM again.
set -eu
BIN="$1"
DIR=$(mktemp -d)
OUT="$DIR/stdout"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT

start() {
  : > "$OUT"
  "$BIN" controller --data-dir "$DIR/data" --listen 127.0.0.1:0 > "$OUT" 2> "$DIR/stderr" &
  PID=$!
  for _ in $(seq 1 100); do
    grep -q "listening on" "$OUT" && break
    sleep 0.1
  done
  URL=$(sed -n 's/^gpufleetd: listening on //p' "$OUT")
  [ -n "$URL" ] || { echo "no URL printed"; cat "$DIR/stderr"; exit 1; }
}

stop() {
  kill -TERM "$PID"
  wait "$PID" || { echo "gpufleetd exited with $?"; exit 1; }
  PID=""
}

start
TOKEN=$(sed -n '/admin token/{n;p;}' "$OUT")
[ -n "$TOKEN" ] || { echo "no admin token printed"; exit 1; }
[ "$(cat "$DIR/data/admin-token")" = "$TOKEN" ] || { echo "admin-token file differs"; exit 1; }
[ "$(stat -c %a "$DIR/data/admin-token")" = "600" ] || { echo "admin-token not 0600"; exit 1; }
if grep -q "$TOKEN" "$DIR/stderr"; then echo "token leaked to stderr"; exit 1; fi
AUTH="Authorization: Bearer $TOKEN"

curl -sf "$URL/readyz" > /dev/null
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/hosts")
[ "$code" = 401 ] || { echo "expected 401 without a token, got $code"; exit 1; }
curl -sf -X PUT -H "$AUTH" -d '{"gpus":[{"pci":"0000:3b:00.0","board":"P40"}]}' \
  "$URL/api/v1/hosts/r730-1" > /dev/null
curl -sf -H "$AUTH" -d '{"name":"web-1","type":"grid_p40-8q"}' "$URL/api/v1/vms" | grep -q '"P40-8Q"'
stop

start
if grep -q "admin token" "$OUT"; then echo "second start printed a token"; exit 1; fi
curl -sf -H "$AUTH" "$URL/api/v1/vms/web-1" | grep -q '"r730-1"'
stop

# A bad flag names itself and exits non-zero before anything starts.
if "$BIN" controller --data-dir "$DIR/data" --listen 127.0.0.1:0 --converge-timeout soon \
  > "$DIR/bad.out" 2>&1; then
  echo "--converge-timeout soon was accepted"; exit 1
fi
grep -q -- "--converge-timeout: 'soon' is not a positive duration" "$DIR/bad.out" \
  || { echo "unclear error for a bad --converge-timeout:"; cat "$DIR/bad.out"; exit 1; }
echo "e2e ok"
