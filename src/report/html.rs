//! The self-contained HTML report (issue 6).
//!
//! One file with inline CSS and JS and nothing fetched from anywhere (a CSP meta forbids it).
//! The report document is embedded as JSON in a `<script type="application/json">` element, with
//! `<`, `>` and `&` written as `\u003c`, `\u003e` and `\u0026` so that strings from the cloud
//! (resource names, tags, messages) cannot close the element. The page script renders every piece
//! of data with DOM APIs and `textContent`, never as markup.
//!
//! The findings table shows one page of rows at a time and filters over the parsed document in
//! memory (with lowercase search keys computed once), so reports with tens of thousands of
//! findings stay usable.

use super::json::ReportDoc;
// Text for HTML element content and attribute values.
use super::markdown::html as escape_html;

const CSS: &str = include_str!("html/report.css");
const JS: &str = include_str!("html/report.js");
const BODY: &str = include_str!("html/body.html");

const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

pub fn render(doc: &ReportDoc) -> String {
    // Serializing these owned structs cannot fail; `null` makes the page say so if it ever did.
    let json = serde_json::to_string(doc).unwrap_or_else(|_| "null".to_string());
    let data = script_safe_json(&json);
    let scopes: Vec<&str> = doc.scan.scopes.iter().map(|s| s.id.as_str()).collect();
    let title = format!(
        "cloudscan {} report: {}",
        doc.scan.provider,
        scopes.join(", ")
    );
    let mut out = String::with_capacity(data.len() + CSS.len() + JS.len() + BODY.len() + 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"");
    out.push_str(CSP);
    out.push_str("\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"generator\" content=\"cloudscan ");
    out.push_str(&escape_html(&doc.tool.version));
    out.push_str("\">\n<title>");
    out.push_str(&escape_html(&title));
    out.push_str("</title>\n<style>\n");
    out.push_str(CSS);
    out.push_str("</style>\n</head>\n<body>\n");
    out.push_str(BODY);
    out.push_str("<script type=\"application/json\" id=\"report-data\">");
    out.push_str(&data);
    out.push_str("</script>\n<script>\n");
    out.push_str(JS);
    out.push_str("</script>\n</body>\n</html>\n");
    out
}

/// JSON text that is safe inside a `<script>` element: `<`, `>` and `&` only occur inside JSON
/// strings, where the `\uXXXX` escapes mean the same characters to `JSON.parse`.
fn script_safe_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 64);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_json_cannot_close_the_script_element() {
        let hostile = r#"</script><img src=x onerror=alert(1)> & <!-- "#;
        let json = serde_json::to_string(&serde_json::json!({ "message": hostile })).unwrap();
        let safe = script_safe_json(&json);
        assert!(!safe.contains('<') && !safe.contains('>') && !safe.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["message"], hostile);
    }

    #[test]
    fn title_is_escaped() {
        assert_eq!(
            escape_html(r#"<b a="1">&'"#),
            "&lt;b a=&quot;1&quot;&gt;&amp;&#39;"
        );
    }
}
