#!/usr/bin/env bash
# Coverage-guided fuzzing of cloudscan's parsers with libFuzzer, on the stable toolchain.
#
#   fuzz/run.sh [RUNS] [TARGET...]     RUNS inputs per target (default 1000000); all targets by default
#
# FUZZ_BUILD_ARGS (default `--bins`) are the build's cargo arguments (docs/fuzzing.md).
#
# Builds fuzz/ (its own workspace) with SanitizerCoverage instrumentation through stable rustc
# codegen flags (rustc-wrapper.sh: -Cpasses=sancov-module + -Cllvm-args=-sanitizer-coverage-*,
# --cfg fuzzing), seeds each target's corpus from the bundled fixtures (seed.py), runs each
# target for RUNS inputs, and prints libFuzzer's final statistics. A crash leaves its input in
# fuzz/artifacts/<target>/ and stops the script with libFuzzer's exit code. CI does not run this.
set -euo pipefail
cd "$(dirname "$0")"
RUNS="${1:-1000000}"
shift || true
ALL="fuzz_access_policy fuzz_access_matchers fuzz_simulate_batch fuzz_waivers fuzz_inventory_load fuzz_fixture_load fuzz_aws_normalize fuzz_gcp_decode fuzz_azure_decode fuzz_kube_decode fuzz_org_normalize fuzz_inventory_merge"
TARGETS="${*:-$ALL}"
export CARGO_TARGET_DIR="$PWD/target"
export RUSTC_WRAPPER="$PWD/rustc-wrapper.sh"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
# FUZZ_BUILD_ARGS replaces `--bins`, e.g. the targets that build without the AWS SDK:
#   FUZZ_BUILD_ARGS="--no-default-features --bin fuzz_fixture_load" fuzz/run.sh 1000000 fuzz_fixture_load
# shellcheck disable=SC2086
cargo build --release ${FUZZ_BUILD_ARGS:---bins}

# Inventories to seed the inventory loader: the bundled scenarios, replayed and saved (with the
# debug binary `cargo build` makes, or $CLOUDSCAN).
mkdir -p target/inventories
for cloud in aws gcp azure; do
    for scenario in insecure hardened; do
        out="target/inventories/$cloud-$scenario.json"
        [ -s "$out" ] || (cd .. && "${CLOUDSCAN:-target/debug/cloudscan}" "$cloud" --replay \
            "mocks/$cloud/$scenario" --no-progress --save-inventory "fuzz/$out" -o /dev/null) || true
    done
done
# The Kubernetes facts (EKS scan joined with its recorded clusters), the organization scan and
# its two shards (`--shard 0/2`, `1/2`: what `scan --inventory` merges), for the merge target.
save() {
    out="target/inventories/$1.json"
    shift
    [ -s "$out" ] || (cd .. && "${CLOUDSCAN:-target/debug/cloudscan}" "$@" --no-progress \
        --save-inventory "fuzz/$out" -o /dev/null) || true
}
save aws-insecure-kube aws --replay mocks/aws/insecure --kube-replay mocks/kube/aws-insecure
save aws-organization aws --replay mocks/aws/organization --organization --member-role cloudscan-scan
for shard in 0 1; do
    save "aws-organization-shard-$shard" aws --replay mocks/aws/organization --organization \
        --member-role cloudscan-scan --shard "$shard/2"
done
python3 seed.py

mkdir -p artifacts logs
for t in $TARGETS; do
    mkdir -p "artifacts/$t" "corpus/$t"
    echo "== $t ($RUNS runs)"
    start=$(date +%s)
    "target/release/$t" -runs="$RUNS" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="artifacts/$t/" "corpus/$t" 2>"logs/$t.log" || {
        code=$?
        tail -40 "logs/$t.log"
        echo "$t: libFuzzer exited $code; the crashing input is in fuzz/artifacts/$t/"
        exit "$code"
    }
    end=$(date +%s)
    grep -E "^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)" "logs/$t.log" || true
    grep -E "DONE" "logs/$t.log" | tail -1 || true
    echo "$t: $((end - start)) s"
done
# fuzz_fixture_load's directory in /dev/shm outlives the process (libFuzzer exits without
# running destructors): remove this user's.
find /dev/shm -maxdepth 1 -name 'cloudscan-fuzz-fixture*' -user "$(id -u)" -exec rm -rf {} + 2>/dev/null || true
