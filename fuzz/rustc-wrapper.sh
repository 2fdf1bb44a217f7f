#!/bin/sh
# RUSTC_WRAPPER for fuzz builds (run.sh sets it): adds the SanitizerCoverage codegen flags (stable
# rustc flags; no nightly -Zsanitizer) and `--cfg fuzzing` to the crates whose code the targets
# explore (cloudscan's own crates, the fuzz targets, the JSON and TOML parsers), and leaves the
# rest of the dependency tree (SDKs, TLS, HTTP) uninstrumented so the build stays small.
rustc="$1"
shift
case " $* " in
*" --crate-type proc-macro "*) ;; # runs inside rustc: never instrumented
*" --crate-name cloudscan"* | *" --crate-name fuzz_"* | *" --crate-name serde_json "* | \
*" --crate-name toml "* | *" --crate-name toml_parser "*)
    exec "$rustc" "$@" --cfg fuzzing \
        -Cpasses=sancov-module \
        -Cllvm-args=-sanitizer-coverage-level=4 \
        -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
        -Cllvm-args=-sanitizer-coverage-pc-table \
        -Cllvm-args=-sanitizer-coverage-trace-compares
    ;;
esac
exec "$rustc" "$@"
