#!/usr/bin/env bash
# Re-records the bundled organization scenario: starts moto on 127.0.0.1, seeds an organization
# (tests/moto/seed_organization.py), records `cloudscan aws --organization` of it, then edits the
# recording to add what moto cannot do (mocks/aws/complete_organization.py; see mocks/README.md).
#
#   mocks/aws/record-organization.sh
#
# Needs the moto venv (tests/install-deps.sh) and a built cloudscan.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${CLOUDSCAN_VENV:-$root/target/moto-venv}
bin=${CLOUDSCAN_BIN:-$root/target/debug/cloudscan}
out=$root/mocks/aws/organization
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

env -i PATH="$PATH" HOME="$work" AWS_EC2_METADATA_DISABLED=true NO_PROXY=127.0.0.1 \
  "$venv/bin/python" "$root/tests/moto/seed_organization.py" --endpoint "http://127.0.0.1:$port" \
  --manifest "$work/manifest.json" >/dev/null
rm -rf "$out"
env -i PATH="$PATH" HOME="$work" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_REGION=us-east-1 AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_EC2_METADATA_DISABLED=true \
  NO_PROXY=127.0.0.1 \
  "$bin" aws --organization --member-role cloudscan-scan --region us-east-1 \
  --record "$out" --no-progress --format json -o /dev/null \
  || true  # the suspended member and moto's missing EKS APIs make the scan incomplete (exit 3)
python3 "$root/mocks/aws/complete_organization.py" "$out" "$work/manifest.json"
echo "recorded $out"
