//! The fixture loader (`providers/collect/src/fixture`): the input is one exchange file (the
//! part after the first NUL, if any, is scenario.json), loaded by the cassette as a replay does.
#![no_main]
use cloudscan_collect::fixture::{Cassette, PathMatch};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// One fixture directory for the whole run (a new one per input would make the file system, not
/// the loader, the bottleneck), in a RAM file system when the machine has one: `/dev/shm`
/// (tmpfs on Linux), else `$TMPDIR`. Each input is still written there and read back through
/// the real loader (`Cassette::load` walks the directory, checks each file's size and reads
/// it), so nothing of the loader is bypassed; only the disk under it is gone. On a disk the
/// target ran at about 430 inputs/s, file-system bound.
fn dir() -> Option<&'static std::path::Path> {
    static DIR: OnceLock<Option<tempfile::TempDir>> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::Builder::new()
                .prefix("cloudscan-fuzz-fixture")
                .tempdir_in(shm)
                .or_else(|_| tempfile::tempdir())
        } else {
            tempfile::tempdir()
        }
        .ok()?;
        std::fs::create_dir_all(dir.path().join("exchanges/svc/global")).ok()?;
        Some(dir)
    })
    .as_ref()
    .map(|d| d.path())
}

fuzz_target!(|data: &[u8]| {
    let Some(dir) = dir() else {
        return;
    };
    let (exchange, scenario) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    if std::fs::write(dir.join("exchanges/svc/global/x.json"), exchange).is_err() {
        return;
    }
    let scenario_file = dir.join("scenario.json");
    let _ = match scenario {
        Some(scenario) => std::fs::write(&scenario_file, scenario),
        None => std::fs::remove_file(&scenario_file),
    };
    for paths in [PathMatch::Exact, PathMatch::CaseInsensitive] {
        if let Ok((cassette, _)) =
            Cassette::load::<std::collections::BTreeMap<String, serde_json::Value>>(dir, paths)
        {
            let _ = cassette.len();
        }
    }
    if let Ok(exchange) = serde_json::from_slice::<cloudscan_collect::fixture::Exchange>(exchange) {
        let key = &exchange.request;
        let _ = key.file_name(PathMatch::Exact);
        let _ = key.describe();
    }
});
