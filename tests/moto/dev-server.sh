#!/usr/bin/env bash
# A seeded moto server for working on the AWS adapter by hand (the tests start their own).
#
#   tests/moto/dev-server.sh up      start moto on a free 127.0.0.1 port, seed it, print the env to use
#   tests/moto/dev-server.sh down    stop the server started by `up` (by its recorded PID only)
#
# State (pid, port, log, seed manifest) lives in target/moto-dev/.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=$root/target/moto-venv
state=$root/target/moto-dev
server=${CLOUDSCAN_MOTO_SERVER:-$venv/bin/moto_server}
python=$(dirname "$server")/python

case "${1:-}" in
up)
  if [ ! -x "$server" ]; then
    echo "moto is not installed ($server missing): run tests/install-deps.sh" >&2
    exit 2
  fi
  if [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
    echo "already running (pid $(cat "$state/pid"), port $(cat "$state/port")); run '$0 down' first" >&2
    exit 1
  fi
  mkdir -p "$state"
  port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  echo "$port" >"$state/port"
  # setsid: own session and process group; `exec` so the recorded PID is the server itself.
  MOTO_IAM_LOAD_MANAGED_POLICIES=true MOTO_EC2_LOAD_DEFAULT_AMIS=false \
    setsid bash -c 'echo $$ >"$1"; exec "$2" -H 127.0.0.1 -p "$3"' _ "$state/pid" "$server" "$port" \
    >"$state/moto.log" 2>&1 </dev/null &
  for _ in $(seq 600); do
    if "$python" -c "import sys, urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=2)" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  env -i PATH="$PATH" HOME="$state" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    NO_PROXY=127.0.0.1 "$python" "$root/tests/moto/seed_account.py" \
    --endpoint "http://127.0.0.1:$port" --manifest "$state/manifest.json" >&2
  cat <<EOF
export AWS_ENDPOINT_URL=http://127.0.0.1:$port
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true NO_PROXY=127.0.0.1
# moto log: $state/moto.log   ids -> names: $state/manifest.json
EOF
  ;;
down)
  if [ -f "$state/pid" ]; then
    pid=$(cat "$state/pid")
    kill "$pid" 2>/dev/null && echo "stopped moto (pid $pid)" >&2 || echo "moto (pid $pid) was not running" >&2
    rm -f "$state/pid" "$state/port"
  else
    echo "no moto started by $0" >&2
  fi
  ;;
*)
  echo "usage: $0 up|down" >&2
  exit 2
  ;;
esac
