# Sourced by the record-*.sh scripts: starts moto on a free 127.0.0.1 port in its own process
# group and waits until it answers. Sets `root`, `venv`, `bin`, `work` (a temporary folder
# removed on exit, with moto) and `port`.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
venv=${CLOUDSCAN_VENV:-$root/target/moto-venv}
bin=${CLOUDSCAN_BIN:-$root/target/debug/cloudscan}
work=$(mktemp -d)
port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

MOTO_IAM_LOAD_MANAGED_POLICIES=true MOTO_EC2_LOAD_DEFAULT_AMIS=false \
  setsid bash -c "echo \$\$ > '$work/pid'; exec '$venv/bin/moto_server' -H 127.0.0.1 -p $port" \
  > "$work/moto.log" 2>&1 &
cleanup() { [ -f "$work/pid" ] && kill -- -"$(cat "$work/pid")" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 \
  || { echo "moto did not start on 127.0.0.1:$port (log: $work/moto.log)" >&2; cat "$work/moto.log" >&2; exit 1; }
# moto's identifiers (account, OU, policy, key ids) come from one random generator: seeding it
# makes a re-recording name the same things as the last one, so its diff shows what changed.
curl -sf -X POST "http://127.0.0.1:$port/moto-api/seed?a=${MOTO_RANDOM_SEED:-1213}" >/dev/null \
  || { echo "moto did not take a random seed (127.0.0.1:$port)" >&2; exit 1; }
