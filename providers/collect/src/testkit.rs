//! Helpers for the adapters' tests (and anyone checking a recording): copy a fixture directory,
//! list and edit its exchanges. Plain functions over files; nothing here runs in a scan.

use crate::fixture::EXCHANGES_DIR;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Copies a directory tree (a fixture directory) to `to`.
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Every exchange file of a fixture directory, sorted.
pub fn exchange_files(dir: &Path) -> Vec<PathBuf> {
    crate::fixture::json_files(&dir.join(EXCHANGES_DIR)).unwrap_or_default()
}

/// The text of every exchange file of a fixture directory, concatenated (to look for leaks).
pub fn all_exchanges_text(dir: &Path) -> String {
    exchange_files(dir)
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Rewrites the `responses` of every exchange whose operation is `operation` and whose
/// `request` satisfies `select`; returns how many files were changed. An unreadable exchange
/// file is an error (the test's fixture is broken).
pub fn edit_responses(
    dir: &Path,
    operation: &str,
    select: impl Fn(&Value) -> bool,
    responses: impl Fn(&Value) -> Value,
) -> std::io::Result<usize> {
    let mut changed = 0;
    for file in exchange_files(dir) {
        let text = std::fs::read_to_string(&file)?;
        let mut exchange: Value = serde_json::from_str(&text)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        if exchange["request"]["operation"] != operation || !select(&exchange["request"]) {
            continue;
        }
        exchange["responses"] = responses(&exchange["responses"]);
        std::fs::write(&file, exchange.to_string())?;
        changed += 1;
    }
    Ok(changed)
}

/// Selects every request.
pub fn any(_: &Value) -> bool {
    true
}

/// The requests a fixture directory (a recording) holds, in file order. An unreadable exchange
/// file is an error.
pub fn recorded_requests(dir: &Path) -> std::io::Result<Vec<crate::fixture::RequestKey>> {
    exchange_files(dir)
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file)?;
            serde_json::from_str::<crate::fixture::Exchange>(&text)
                .map(|e| e.request)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
        })
        .collect()
}

/// Runs the repository's `tests/install-deps.sh` (below `root`) when any of `needed` is
/// missing, at most once per test process, so that `cargo test` works on a fresh machine.
/// `Err` names what is still missing afterwards and how the script ended.
pub fn install_if_missing(root: &Path, needed: &[PathBuf]) -> Result<(), String> {
    static RAN: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
    let missing = || -> Vec<String> {
        needed
            .iter()
            .filter(|p| !p.exists())
            .map(|p| p.display().to_string())
            .collect()
    };
    if missing().is_empty() {
        return Ok(());
    }
    let script = root.join("tests/install-deps.sh");
    let outcome = {
        let mut ran = RAN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        ran.get_or_insert_with(
            || match std::process::Command::new("bash").arg(&script).status() {
                Ok(s) if s.success() => "succeeded".to_string(),
                Ok(s) => format!("failed ({s})"),
                Err(e) => format!("could not start ({e})"),
            },
        )
        .clone()
    };
    let still = missing();
    if still.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} missing; {} {outcome}",
            still.join(", "),
            script.display()
        ))
    }
}
