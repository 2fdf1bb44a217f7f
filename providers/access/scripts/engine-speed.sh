#!/usr/bin/env bash
# Access engine throughput (docs/scale.md, "Access engine"): evaluations per CPU second of one
# core, the JSON Lines path, and every capability question for an estate of roles.
# Usage: providers/access/scripts/engine-speed.sh [roles (100000)] [threads (1)] [seconds (5)]
set -euo pipefail
roles="${1:-100000}"
threads="${2:-1}"
seconds="${3:-5}"
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
cargo build --release -q -p cloudscan-access --example engine_speed
bin="${CARGO_TARGET_DIR:-$root/target}/release/examples/engine_speed"
pin=()
if command -v taskset >/dev/null; then
  pin=(taskset -c 0)
fi
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"${pin[@]}" "$bin" eval "$seconds"
"${pin[@]}" "$bin" batch "$seconds"
if [ -x /usr/bin/time ]; then
  /usr/bin/time -f "process: peak RSS %M KiB, %e s elapsed, %U s user" "$bin" estate "$roles" "$threads"
else
  "$bin" estate "$roles" "$threads"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
