#!/usr/bin/env bash
# Scale benchmark over the synthetic estate (mocks/estate): wall time, peak RSS and API calls of a
# real cloudscan release binary against a loopback server with injected latency, next to the
# minimum number of calls the collected facts need. Numbers go to docs/scale.md.
#
#   tests/benches/estate.sh single         # 1 account, 5,000 roles, 50 clusters, 17 regions, 50 ms
#   tests/benches/estate.sh memory         # RSS per 1,000 roles (1k, 2.5k, 5k, 10k roles, no latency)
#   tests/benches/estate.sh azure          # 50 subscriptions x 10 AKS clusters x 40 identities, 50 ms
#   tests/benches/estate.sh org            # 200 accounts x 500 roles x 4 regions, 50 ms, through
#                                          # `cloudscan aws --organization --member-role`
#   tests/benches/estate.sh gcp            # 200 projects x 4 GKE clusters x 20 service accounts in
#                                          # 5+5 folders, 50 ms (`cloudscan gcp --all-projects`)
#
# Every result line ends with the 1-minute load average before and after the run: other work on
# the machine (compiles) slows the numbers down; say so when quoting them.
# Needs `cargo build --release -p cloudscan -p cloudscan-estate` first (the script does not build).
# Every server it starts listens on 127.0.0.1 only and stops itself (--max-seconds) if the script
# dies; the script stops it by its pid.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${CLOUDSCAN_BIN:-target/release/cloudscan}
EST=${ESTATE_BIN:-target/release/cloudscan-estate}
OUT=${BENCH_OUT:-target/bench-estate}
mkdir -p "$OUT"
[ -x "$BIN" ] && [ -x "$EST" ] || { echo "build first: cargo build --release -p cloudscan -p cloudscan-estate" >&2; exit 2; }

server_pid=""
stop() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; server_pid=""; }
trap stop EXIT

# start NAME ESTATE-ARGS... : starts the server, sets URL.
start() {
  local name=$1; shift
  "$EST" serve --max-seconds 1800 "$@" > "$OUT/$name.url" 2> "$OUT/$name.server.err" &
  server_pid=$!
  for _ in $(seq 1 100); do [ -s "$OUT/$name.url" ] && break; sleep 0.05; done
  URL=$(head -1 "$OUT/$name.url")
}

# run NAME CLOUD-ARGS... : runs cloudscan under /usr/bin/time, prints one result line.
run() {
  local name=$1; shift
  local start_ns end_ns load_before load_after
  load_before=$(cut -d' ' -f1 /proc/loadavg)
  start_ns=$(date +%s%N)
  set +e
  /usr/bin/time -v "$BIN" "$@" --no-progress --format json -o "$OUT/$name.report.json" \
    --save-inventory "$OUT/$name.inventory.json" 2> "$OUT/$name.time" > /dev/null &
  local timer=$!
  # RSS and API calls so far, once a second: where the memory grows (collection or analysis).
  ( printf 'seconds\trss_mib\tcalls\n'
    local t=0 pid=""
    while kill -0 "$timer" 2>/dev/null; do
      [ -n "$pid" ] || pid=$(pgrep -P "$timer" | head -1)
      if [ -n "$pid" ]; then
        printf '%s\t%s\t%s\n' "$t" "$(( $(ps -o rss= -p "$pid" 2>/dev/null || echo 0) / 1024 ))" \
          "$(curl -s "$URL/_estate/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total_calls"])' 2>/dev/null)"
      fi
      sleep 1; t=$((t + 1))
    done ) > "$OUT/$name.rss.tsv" &
  local sampler=$!
  wait "$timer"
  local rc=$?
  wait "$sampler" 2>/dev/null || true
  set -e
  end_ns=$(date +%s%N)
  load_after=$(cut -d' ' -f1 /proc/loadavg)
  curl -s "$URL/_estate/stats" > "$OUT/$name.stats.json"
  local rss wall
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/$name.time")
  wall=$(( (end_ns - start_ns) / 1000000 ))
  python3 - "$name" "$rc" "$wall" "$rss" "$OUT/$name.stats.json" "$OUT/$name.minimum.json" "$OUT/$name.report.json" "$load_before" "$load_after" <<'PY'
import json, sys
name, rc, wall, rss, stats, minimum, report, load_before, load_after = sys.argv[1:]
s = json.load(open(stats)); m = json.load(open(minimum))
r = json.load(open(report)) if rc in ("0", "1", "3") else {}
calls, need = s["total_calls"], m["total_calls"]
print(f"{name}: exit {rc}, wall {int(wall)/1000:.2f} s, peak RSS {int(rss)/1024:.1f} MiB, "
      f"API calls {calls} (minimum {need}, {100*(calls-need)/max(need,1):+.1f}%), throttled {s['total_throttled']}, "
      f"findings {len(r.get('findings', []))}, identities {len(json.load(open(report.replace('report','inventory'))).get('identities', [])) if rc in ('0','1','3') else '-'}, "
      f"load average {load_before} -> {load_after}")
over = {k: (v, m["calls"].get(k, 0)) for k, v in s["calls"].items() if v != m["calls"].get(k, 0)}
for k in sorted(set(m["calls"]) - set(s["calls"])):
    over[k] = (0, m["calls"][k])
for k, (got, want) in sorted(over.items()):
    print(f"    {k}: {got} calls, minimum {want}")
PY
}

aws_case() { # NAME LATENCY ESTATE-ARGS...
  local name=$1 latency=$2; shift 2
  "$EST" minimum --cloud aws "$@" > "$OUT/$name.minimum.json"
  start "$name" --latency-ms "$latency" "$@"
  (
    export HOME="$OUT" AWS_ACCESS_KEY_ID=AKIDESTATEBENCH AWS_SECRET_ACCESS_KEY=estate AWS_REGION=us-east-1 \
      AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
      AWS_ENDPOINT_URL="$URL"
    run "$name" aws
  )
  stop
}

case "${1:-single}" in
  single)
    aws_case single-5000-roles 50 --accounts 1 --roles 5000 --clusters 50 --regions 17 --nodegroups 2 --nodes 3
    ;;
  memory)
    for roles in 1000 2500 5000 10000; do
      aws_case "memory-$roles-roles" 0 --accounts 1 --roles "$roles" --clusters 10 --regions 2 --nodegroups 2 --nodes 3
    done
    ;;
  storm)
    "$EST" minimum --cloud aws --roles 2000 --clusters 20 --regions 4 > "$OUT/storm.minimum.json"
    start storm --latency-ms 20 --throttle-every 3 --roles 2000 --clusters 20 --regions 4
    (
      export HOME="$OUT" AWS_ACCESS_KEY_ID=AKIDESTATEBENCH AWS_SECRET_ACCESS_KEY=estate AWS_REGION=us-east-1 \
        AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
        AWS_ENDPOINT_URL="$URL"
      run storm aws --max-attempts 8
    )
    stop
    ;;
  azure)
    "$EST" minimum --cloud azure --subscriptions 50 --aks-clusters 10 --identities 40 > "$OUT/azure.minimum.json"
    start azure --latency-ms 50 --subscriptions 50 --aks-clusters 10 --identities 40
    (
      export HOME="$OUT" AZURE_TENANT_ID=00000000-e57a-4e00-8000-000000000000 AZURE_CLIENT_ID=estate \
        AZURE_CLIENT_SECRET=estate AZURE_AUTHORITY_HOST="$URL" CLOUDSCAN_AZURE_ARM_URL="$URL"
      run azure azure --all-subscriptions
    )
    stop
    ;;
  org)
    # The organization benchmark: the management account lists the organization and assumes
    # MEMBER_ROLE in every member account (the estate accepts any role name).
    "$EST" minimum --cloud aws --accounts 200 --roles 500 --regions 4 --clusters 4 > "$OUT/org.minimum.json"
    start org --latency-ms 50 --accounts 200 --roles 500 --regions 4 --clusters 4
    (
      export HOME="$OUT" AWS_ACCESS_KEY_ID=AKIDESTATEBENCH AWS_SECRET_ACCESS_KEY=estate AWS_REGION=us-east-1 \
        AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
        AWS_ENDPOINT_URL="$URL"
      run org aws --organization --member-role "${MEMBER_ROLE:-OrganizationAccountAccessRole}"
    )
    stop
    ;;
  gcp)
    # A service-account key for google-cloud-auth (it signs its own JWTs; the token exchange
    # is served too). The key is generated per run and never leaves $OUT.
    GCP_SPEC=(--projects 200 --gke-clusters 4 --service-accounts 20 --folders 5)
    "$EST" minimum --cloud gcp "${GCP_SPEC[@]}" > "$OUT/gcp.minimum.json"
    start gcp --latency-ms 50 "${GCP_SPEC[@]}"
    umask 077
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$OUT/gcp-key.pem" 2>/dev/null
    python3 - "$URL" "$OUT/gcp-key.pem" > "$OUT/gcp-sa.json" <<'PY'
import json, sys
url, pem = sys.argv[1:]
print(json.dumps({"type": "service_account", "project_id": "estate-bench", "private_key_id": "bench",
                  "private_key": open(pem).read(), "client_email": "bench@estate-bench.iam.gserviceaccount.com",
                  "client_id": "0", "token_uri": url + "/token"}))
PY
    (
      export HOME="$OUT" GOOGLE_APPLICATION_CREDENTIALS="$OUT/gcp-sa.json" CLOUDSCAN_GCP_BASE_URL="$URL"
      run gcp gcp --all-projects
    )
    stop
    ;;
  *) echo "usage: $0 single|memory|storm|azure|org|gcp" >&2; exit 2 ;;
esac
