//! The IAM policy parser (`providers/access/src/policy.rs`): any text, URL-encoded or not.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(policy) = cloudscan_access::Policy::parse(text) {
            let _ = format!("{policy:?}");
        }
        let _ = cloudscan_access::decode_document(text);
    }
});
