//! The fixture loader (`providers/collect/src/fixture`): the input is one exchange file (the
//! part after the first NUL, if any, is scenario.json), loaded by the cassette as a replay does.
#![no_main]
use cloudscan_collect::fixture::{Cassette, PathMatch};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let (exchange, scenario) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let folder = dir.path().join("exchanges/svc/global");
    if std::fs::create_dir_all(&folder).is_err()
        || std::fs::write(folder.join("x.json"), exchange).is_err()
    {
        return;
    }
    if let Some(scenario) = scenario {
        let _ = std::fs::write(dir.path().join("scenario.json"), scenario);
    }
    for paths in [PathMatch::Exact, PathMatch::CaseInsensitive] {
        if let Ok((cassette, _)) =
            Cassette::load::<std::collections::BTreeMap<String, serde_json::Value>>(dir.path(), paths)
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
