//! `cloudscan iam simulate --batch`: the JSON Lines reader, each case's policies (identity,
//! boundary, SCP levels, resource and session policies), conditions with a complete context, and
//! the evaluation (`providers/access/src/simulate.rs`, `eval.rs`, `condition.rs`). Any bytes,
//! invalid UTF-8 included.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    let _ = cloudscan_access::simulate::run_batch(data, &mut out);
});
