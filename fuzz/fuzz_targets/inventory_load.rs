//! `cloudscan scan --inventory FILE`: the saved inventory's JSON, then the access stage and the
//! rules on whatever it accepted.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    if serde_json::from_slice::<cloudscan_inventory::Inventory>(data).is_err() {
        return;
    }
    let Ok(mut file) = tempfile::NamedTempFile::new() else {
        return;
    };
    if file.write_all(data).is_err() {
        return;
    }
    if let Ok(inventory) = cloudscan::assess::load_inventory(file.path()) {
        let facts = cloudscan_access::AccessFacts::for_inventory(&inventory);
        let _ = format!("{facts:?}");
    }
});
