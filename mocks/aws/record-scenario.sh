#!/usr/bin/env bash
# Re-records a bundled AWS scenario: starts moto on 127.0.0.1, seeds it, records a cloudscan scan
# of it, then completes the recording with the EKS APIs moto lacks (see mocks/README.md).
#
#   mocks/aws/record-scenario.sh insecure|hardened
#
# Needs the moto venv (`.ci/run` or `python3 -m venv target/moto-venv &&
# target/moto-venv/bin/pip install -r tests/moto/requirements.txt`) and a built cloudscan.
set -euo pipefail
scenario=${1:?usage: $0 insecure|hardened}
source "$(dirname "$0")/moto-server.sh"
out=$root/mocks/aws/$scenario

"$venv/bin/python" "$root/tests/moto/seed_account.py" --endpoint "http://127.0.0.1:$port" --scenario "$scenario"
rm -rf "$out"
env -i PATH="$PATH" HOME="$work" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_REGION=us-east-1 AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_EC2_METADATA_DISABLED=true \
  NO_PROXY=127.0.0.1 \
  "$bin" aws --region us-east-1,us-west-2 --record "$out" --no-progress --format json -o /dev/null \
  || true  # moto's 404s make the scan incomplete (exit 3) until completed below
python3 "$root/mocks/aws/complete_scenario.py" "$out" "$scenario"
python3 - "$out" "$scenario" <<'PY'
import json, sys, pathlib
p = pathlib.Path(sys.argv[1]) / "scenario.json"
s = json.loads(p.read_text())
s["description"] = {
    "insecure": "An account where every AWS rule fires (recorded from moto, completed; see mocks/README.md)",
    "hardened": "The same account with every finding fixed: no AWS rule fires (recorded from moto, completed)",
}[sys.argv[2]]
p.write_text(json.dumps(s, indent=2) + "\n")
PY
echo "recorded $out"
