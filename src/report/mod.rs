//! Reports: the report model ([`model::ReportDocument`]) and the formats that render it.
//!
//! Adding an output format: a module here with `pub fn render(&ReportDocument) -> String`, a
//! [`Format`] variant and its arm in [`render`].

pub mod access;
pub mod html;
pub mod json;
pub mod markdown;
pub mod model;
pub mod resource;
pub mod sarif;
pub mod table;

use model::ReportDocument;
use serde::{Deserialize, Serialize};

/// How the scan was run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// The output formats of a scan report.
#[derive(Debug, Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Findings grouped by severity, coverage per service, summary
    Table,
    /// The versioned JSON report (schema cloudscan.report/v2)
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards
    Sarif,
    /// Markdown: summary, changes, findings, framework controls
    Markdown,
    /// One self-contained HTML file: summary, charts, trend, findings, frameworks
    Html,
}

/// Renders a report document in one format.
pub fn render(doc: &ReportDocument, format: Format) -> String {
    match format {
        Format::Table => table::render(doc),
        Format::Json => json::render(doc),
        Format::Sarif => sarif::render(doc),
        Format::Markdown => markdown::render(doc),
        Format::Html => html::render(doc),
    }
}
