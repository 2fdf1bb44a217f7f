#!/usr/bin/env bash
# Coverage-guided fuzzing of cloudscan's parsers with libFuzzer, on the stable toolchain.
#
#   fuzz/run.sh [RUNS] [TARGET...]     RUNS inputs per target (default 1000000); all targets by default
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
ALL="fuzz_access_policy fuzz_access_matchers fuzz_simulate_batch fuzz_waivers fuzz_inventory_load fuzz_fixture_load fuzz_aws_normalize fuzz_gcp_decode fuzz_azure_decode"
TARGETS="${*:-$ALL}"
export CARGO_TARGET_DIR="$PWD/target"
export RUSTC_WRAPPER="$PWD/rustc-wrapper.sh"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
cargo build --release --bins

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
