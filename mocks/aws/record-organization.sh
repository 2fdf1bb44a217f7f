#!/usr/bin/env bash
# Re-records the bundled organization scenario: starts moto on 127.0.0.1, seeds an organization
# (tests/moto/seed_organization.py), records `cloudscan aws --organization` of it, then edits the
# recording to add what moto cannot do (mocks/aws/complete_organization.py; see mocks/README.md).
#
#   mocks/aws/record-organization.sh
#
# Needs the moto venv (tests/install-deps.sh) and a built cloudscan.
set -euo pipefail
source "$(dirname "$0")/moto-server.sh"
out=$root/mocks/aws/organization

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
