//! Markdown output. (Being written: see issue 6.)

use super::json::ReportDoc;

pub fn render(doc: &ReportDoc) -> String {
    let _ = doc;
    String::new()
}
