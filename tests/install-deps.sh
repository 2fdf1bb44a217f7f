#!/usr/bin/env bash
# Installs what the tests need beyond cargo, idempotently (a second run is a no-op):
#  - the moto AWS emulator + boto3 in a venv at target/moto-venv (end-to-end AWS tests)
#  - @cloud-copilot/iam-simulate in providers/access/tests/oracle (differential IAM tests)
# The test harness runs this itself when something is missing, so `cargo test --workspace`
# works on a fresh machine; CI runs it up front so failures show here.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$root/target/moto-venv
req=$root/tests/moto/requirements.txt
stamp=$venv/.installed-$(sha256sum "$req" | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "installing moto into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  touch "$stamp"
fi
oracle=$root/providers/access/tests/oracle
if [ -f "$oracle/package-lock.json" ] && [ ! -f "$oracle/node_modules/.package-lock.json" ]; then
  echo "installing the iam-simulate oracle into $oracle/node_modules" >&2
  (cd "$oracle" && npm ci --no-audit --no-fund --loglevel=error)
fi
