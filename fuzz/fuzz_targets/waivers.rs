//! The waiver file (`cloudscan.toml`, `src/waivers.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let rules = [
            "identity-admin-access",
            "api-endpoint-public",
            "node-metadata-exposed",
        ];
        let _ =
            cloudscan::waivers::Config::parse(text, std::path::Path::new("cloudscan.toml"), &rules);
        let _ = cloudscan::waivers::Day::parse(text);
    }
});
