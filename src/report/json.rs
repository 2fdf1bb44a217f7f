//! The JSON report: the report document ([`super::model::ReportDocument`]) as it is, pretty
//! printed (schema `cloudscan.report/v2`).

use super::model::ReportDocument;

pub fn render(doc: &ReportDocument) -> String {
    // Serializing these owned structs cannot fail.
    serde_json::to_string_pretty(doc).unwrap_or_default() + "\n"
}
