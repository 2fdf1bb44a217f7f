//! Reports: every output format renders the same [`Report`].

pub mod access;
pub mod html;
pub mod json;
pub mod markdown;
pub mod sarif;
pub mod table;

use crate::finding::{Finding, Severity};
use cloudscan_inventory::{Coverage, CoverageStatus, Inventory};

/// How the scan was run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Live,
    Replay,
    Inventory,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Live => "live",
            Mode::Replay => "replay",
            Mode::Inventory => "inventory",
        }
    }
}

/// A finished scan, ready to render.
pub struct Report<'a> {
    pub inventory: &'a Inventory,
    pub findings: &'a [Finding],
    pub mode: Mode,
    pub started_at: std::time::SystemTime,
    pub finished_at: std::time::SystemTime,
}

impl Report<'_> {
    /// True when every collector read everything it tried.
    pub fn complete(&self) -> bool {
        self.inventory.all_complete()
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// Coverage entries that are not complete.
    pub fn gaps(&self) -> impl Iterator<Item = &Coverage> {
        self.inventory
            .coverage
            .iter()
            .filter(|c| c.status != CoverageStatus::Complete)
    }
}
