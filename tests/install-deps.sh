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

# --- SARIF 2.1.0 JSON schema (tests/sarif_markdown.rs) ---------------------------------------
# The OASIS SARIF TC's `sarif-schema-2.1.0.json` (oasis-tcs/sarif-spec, Schemata/, the draft-07
# revision of the 2.1.0 schema), as shipped inside the crates.io package serde-sarif 0.8.0
# (src/schema.json; the crate is MIT, the schema is the OASIS TC's). Pinned by version and by the
# file's SHA-256; fetched with cargo (a throwaway manifest, nothing compiled) and extracted from
# the downloaded .crate into target/sarif-schema/. Override with CLOUDSCAN_SARIF_SCHEMA=FILE.
sarif_dir=$root/target/sarif-schema
sarif_schema=$sarif_dir/sarif-schema-2.1.0.json
sarif_sha256=af47e7b67f24efe74076621fd3a5fbe7398add9e84fe820c971219a385895cea
if ! echo "$sarif_sha256  $sarif_schema" | sha256sum --check --status 2>/dev/null; then
  echo "installing the SARIF 2.1.0 schema (crate serde-sarif 0.8.0) into $sarif_dir" >&2
  fetch=$sarif_dir/fetch
  mkdir -p "$fetch/src"
  cat >"$fetch/Cargo.toml" <<'TOML'
[package]
name = "sarif-schema-fetch"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
serde-sarif = { version = "=0.8.0", default-features = false }

# Not a member of the cloudscan workspace.
[workspace]
TOML
  : >"$fetch/src/lib.rs"
  cargo fetch --quiet --manifest-path "$fetch/Cargo.toml"
  crate_file=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/serde-sarif-0.8.0.crate | head -n 1)
  tar -xzOf "$crate_file" serde-sarif-0.8.0/src/schema.json >"$sarif_schema.tmp"
  echo "$sarif_sha256  $sarif_schema.tmp" | sha256sum --check --status
  mv "$sarif_schema.tmp" "$sarif_schema"
fi

# --- HTML report test (tests/html_report.rs) ------------------------------------------------
# Needs Debian's Chromium at /usr/bin/chromium and playwright-core (pinned in
# tests/html/package-lock.json) to drive it headless. Chromium comes from apt: directly when
# running as root, through sudo otherwise.
if [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium (apt-get) for the HTML report test" >&2
  if [ "$(id -u)" -eq 0 ]; then
    apt_get=(apt-get)
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    apt_get=(sudo -n apt-get)
  else
    echo "error: /usr/bin/chromium is missing and cannot be installed: not root and no" \
      "passwordless sudo. Install the Debian package 'chromium' and run again." >&2
    exit 1
  fi
  if ! DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y --no-install-recommends chromium; then
    DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" update
    DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y --no-install-recommends chromium
  fi
  if [ ! -x /usr/bin/chromium ]; then
    echo "error: apt-get finished but /usr/bin/chromium still does not exist" >&2
    exit 1
  fi
fi
html=$root/tests/html
if [ -f "$html/package-lock.json" ] && [ ! -f "$html/node_modules/.package-lock.json" ]; then
  echo "installing playwright-core into $html/node_modules" >&2
  (cd "$html" && npm ci --no-audit --no-fund --loglevel=error)
fi

# --- Azure: REST shapes from the Azure SDK for Python (providers/azure/tests/azure_spec_shapes.rs)
# The models of six azure-mgmt-* wheels (generated from azure-rest-api-specs), pinned by version
# and wheel SHA-256 in providers/azure/tests/spec/requirements-azure-spec.txt (pip
# --require-hashes), downloaded without dependencies and parsed (never imported) by
# extract_azure_shapes.py into target/azure-spec/azure-spec-shapes.json. A stamp named after the
# requirements and the script makes a second run a no-op.
azure_spec=$root/providers/azure/tests/spec
azure_dir=$root/target/azure-spec
azure_stamp=$azure_dir/.installed-$(cat "$azure_spec/requirements-azure-spec.txt" \
  "$azure_spec/extract_azure_shapes.py" | sha256sum | cut -c1-16)
if [ ! -f "$azure_stamp" ] || [ ! -f "$azure_dir/azure-spec-shapes.json" ]; then
  echo "installing the Azure SDK model shapes into $azure_dir" >&2
  rm -rf "$azure_dir/wheels"
  mkdir -p "$azure_dir/wheels"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --require-hashes -r "$azure_spec/requirements-azure-spec.txt" -d "$azure_dir/wheels"
  python3 "$azure_spec/extract_azure_shapes.py" "$azure_dir/wheels" "$azure_dir/azure-spec-shapes.json"
  rm -f "$azure_dir"/.installed-*
  touch "$azure_stamp"
fi

# --- GCP: Google API discovery documents (providers/gcp/tests/discovery_gcp.rs) -------------
# Google's published discovery documents for the four APIs the GCP adapter calls, as shipped in
# the PyPI package google-api-python-client 2.202.0 (googleapiclient/discovery_cache/documents/;
# Apache-2.0). Pinned by version, by the wheel's SHA-256 and by each document's SHA-256; fetched
# with pip (no dependencies, nothing installed) and extracted into target/gcp-discovery/.
# Override the directory with CLOUDSCAN_GCP_DISCOVERY_DIR.
gcp_dir=$root/target/gcp-discovery
gcp_wheel=google_api_python_client-2.202.0-py3-none-any.whl
gcp_wheel_sha256=aaa90064c9bb642ff1d065b22ca8958a2cb6e345909cefe70d0e5452fc50e08b
gcp_docs=(
  "cloudresourcemanager.v3.json ef8bc41a9b2e491ba230a3562b4e1ed32b67c355b4923fdbb1181fcd89a3f9d7"
  "compute.v1.json 6a776936c09fdec23f48bb54d6b746eec7d0085d592c1612887abc9881cda697"
  "container.v1.json 22e369f3a8e773e1aeca6bab8569a63527ab1f48b3c539c7993a0f668129739c"
  "iam.v1.json dd38397d052dff9127b29b2525d094b23df7004d6cddf52f4283aa0fccf7485c"
)
gcp_ok=1
for entry in "${gcp_docs[@]}"; do
  set -- $entry
  echo "$2  $gcp_dir/$1" | sha256sum --check --status 2>/dev/null || gcp_ok=0
done
if [ "$gcp_ok" -ne 1 ]; then
  echo "installing the GCP discovery documents (google-api-python-client 2.202.0) into $gcp_dir" >&2
  mkdir -p "$gcp_dir/wheel"
  if ! echo "$gcp_wheel_sha256  $gcp_dir/wheel/$gcp_wheel" | sha256sum --check --status 2>/dev/null; then
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      --dest "$gcp_dir/wheel" "google-api-python-client==2.202.0"
  fi
  echo "$gcp_wheel_sha256  $gcp_dir/wheel/$gcp_wheel" | sha256sum --check --status
  for entry in "${gcp_docs[@]}"; do
    set -- $entry
    python3 - "$gcp_dir/wheel/$gcp_wheel" "googleapiclient/discovery_cache/documents/$1" \
      "$gcp_dir/$1.tmp" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, open(sys.argv[3], "wb") as out:
    out.write(wheel.read(sys.argv[2]))
PY
    echo "$2  $gcp_dir/$1.tmp" | sha256sum --check --status
    mv "$gcp_dir/$1.tmp" "$gcp_dir/$1"
  done
fi
