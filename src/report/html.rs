//! The self-contained HTML report (issue 6).
//!
//! One file with inline CSS and JS and nothing fetched from anywhere (a CSP meta forbids it).
//! The CSP allows exactly the page's one inline script and one inline style, by their SHA-256
//! hashes ([`csp`]): no `'unsafe-inline'`, so markup that ever slipped into the page could not
//! run script or add styles; `base-uri 'none'` and `form-action 'none'` keep a stray `<base>` or
//! `<form>` from redirecting links or submitting anything.
//! The report document is embedded as JSON in a `<script type="application/json">` element, with
//! `<`, `>` and `&` written as `\u003c`, `\u003e` and `\u0026` so that strings from the cloud
//! (resource names, tags, messages) cannot close the element. The page script renders every piece
//! of data with DOM APIs and `textContent`, never as markup.
//!
//! The findings table shows one page of rows at a time and filters over the parsed document in
//! memory (with lowercase search keys computed once), so reports with tens of thousands of
//! findings stay usable.

mod estate;

use super::model::ReportDocument;
// Text for HTML element content and attribute values.
use super::markdown::html as escape_html;

const CSS: &str = include_str!("html/report.css");
const JS: &str = include_str!("html/report.js");
const BODY: &str = include_str!("html/body.html");

/// The text of the page's inline script element, exactly as written between its tags.
fn script_text() -> String {
    format!("\n{JS}")
}

/// The text of the page's inline style element, exactly as written between its tags.
fn style_text() -> String {
    format!("\n{CSS}")
}

/// The Content-Security-Policy: nothing but the page's own inline script and style (by hash).
pub fn csp() -> String {
    format!(
        "default-src 'none'; script-src '{}'; style-src '{}'; img-src data:; base-uri 'none'; \
         form-action 'none'",
        hash_source(&script_text()),
        hash_source(&style_text())
    )
}

/// A CSP hash source: `sha256-` and the base64 of the SHA-256 of the UTF-8 text.
pub fn hash_source(text: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("sha256-{}", base64(&Sha256::digest(text.as_bytes())))
}

/// Standard base64 with padding (RFC 4648), as CSP hash sources use.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                let index = usize::try_from((n >> shift) & 63).unwrap_or(0);
                out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn render(doc: &ReportDocument) -> String {
    // Serializing these owned structs cannot fail; `null` makes the page say so if it ever did.
    let json = serde_json::to_value(doc)
        .map(compact)
        .map(|mut v| {
            if let Some(obj) = v.as_object_mut() {
                obj.insert("_short".to_string(), short_names(doc).into());
            }
            v
        })
        .and_then(|v| serde_json::to_string(&v))
        .unwrap_or_else(|_| "null".to_string());
    let data = script_safe_json(&json);
    let scopes: Vec<&str> = doc.scan.scopes.iter().map(|s| s.id.as_str()).collect();
    let title = format!(
        "cloudscan {} report: {}",
        doc.scan.provider.as_str(),
        scopes.join(", ")
    );
    let mut out = String::with_capacity(data.len() + CSS.len() + JS.len() + BODY.len() + 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"");
    out.push_str(&csp());
    out.push_str("\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"generator\" content=\"cloudscan ");
    out.push_str(&escape_html(&doc.tool.version));
    out.push_str("\">\n<title>");
    out.push_str(&escape_html(&title));
    out.push_str("</title>\n<style>");
    out.push_str(&style_text());
    out.push_str("</style>\n</head>\n<body>\n");
    out.push_str(
        &BODY
            .replace("<!--scopes-nav-->", estate::nav(doc))
            .replace("<!--scopes-->", &estate::section(doc))
            .replace("<!--coverage-groups-->", &estate::shared_gaps(doc)),
    );
    out.push_str("<script type=\"application/json\" id=\"report-data\">");
    out.push_str(&data);
    out.push_str("</script>\n<script>");
    out.push_str(&script_text());
    out.push_str("</script>\n</body>\n</html>\n");
    out
}

/// Fields that are the same for every finding of a rule (title, remediation, compliance ids).
const RULE_FIELDS: [&str; 3] = ["title", "remediation", "compliance"];

/// Writes the per-rule fields of the findings once, in `_rules`, instead of once per finding
/// (a third of a typical finding's size); the page script puts them back. A field is moved only
/// when it equals the rule's value, so nothing is lost if a document ever differs.
fn compact(mut doc: serde_json::Value) -> serde_json::Value {
    use serde_json::{Map, Value};
    let mut rules: Map<String, Value> = Map::new();
    if let Some(findings) = doc.get_mut("findings").and_then(Value::as_array_mut) {
        for finding in findings.iter_mut().filter_map(Value::as_object_mut) {
            let Some(rule) = finding.get("rule_id").and_then(Value::as_str) else {
                continue;
            };
            let entry = rules
                .entry(rule.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            let Some(entry) = entry.as_object_mut() else {
                continue;
            };
            for field in RULE_FIELDS {
                let Some(value) = finding.get(field) else {
                    continue;
                };
                let same = match entry.get(field) {
                    Some(known) => known == value,
                    None => {
                        entry.insert(field.to_string(), value.clone());
                        true
                    }
                };
                if same {
                    finding.remove(field);
                }
            }
        }
    }
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("_rules".to_string(), Value::Object(rules));
    }
    doc
}

/// The display names of the resource and cluster ids that reports shorten
/// ([`super::resource::short`]), for the page script: `{ full id: short name }`, only ids that
/// change. The page looks names up here instead of parsing ids itself.
fn short_names(doc: &ReportDocument) -> serde_json::Map<String, serde_json::Value> {
    let gone = doc
        .diff
        .iter()
        .flat_map(|d| d.fixed.iter().chain(&d.unverified))
        .flat_map(|g| [Some(&g.resource), g.cluster.as_ref()]);
    let ids = doc
        .findings
        .iter()
        .flat_map(|f| [Some(&f.resource), f.cluster.as_ref()])
        .chain(gone)
        .flatten();
    let mut names = serde_json::Map::new();
    for id in ids {
        let short = super::resource::short(id);
        if short != id {
            names.insert(id.clone(), short.into());
        }
    }
    names
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
    fn hash_sources_match_the_csp_specification() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        // The example of CSP Level 3, section 8.4.
        assert_eq!(
            hash_source("alert('Hello, world.');"),
            "sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng="
        );
        let policy = csp();
        assert!(!policy.contains("unsafe"), "{policy}");
        for directive in [
            "default-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ] {
            assert!(policy.contains(directive), "{policy}");
        }
    }

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
    fn rule_fields_are_written_once_and_kept_when_they_differ() {
        let doc = serde_json::json!({"findings": [
            {"rule_id": "a", "title": "T", "remediation": "R", "compliance": ["x"], "resource": "1"},
            {"rule_id": "a", "title": "T", "remediation": "R", "compliance": ["x"], "resource": "2"},
            {"rule_id": "a", "title": "other", "remediation": "R", "compliance": ["x"], "resource": "3"},
        ]});
        let c = compact(doc);
        assert_eq!(c["_rules"]["a"]["title"], "T");
        assert_eq!(c["_rules"]["a"]["compliance"], serde_json::json!(["x"]));
        assert!(c["findings"][0].get("title").is_none());
        assert!(c["findings"][1].get("remediation").is_none());
        // A finding whose value differs keeps its own.
        assert_eq!(c["findings"][2]["title"], "other");
        assert_eq!(c["findings"][2]["resource"], "3");
    }

    #[test]
    fn a_gap_shared_by_many_scopes_is_one_row_naming_them_all_in_details() {
        let doc = crate::report::model::test_docs::estate(200);
        let html = render(&doc);
        let start = html
            .find("<div data-testid=\"coverage-groups\">")
            .expect("groups");
        let block = &html[start..];
        let block = &block[..block.find("</div>").expect("end of groups")];
        assert_eq!(
            block.matches("data-testid=\"coverage-group\"").count(),
            1,
            "{block}"
        );
        assert!(block.contains(
            "<td>s3</td><td>us-east-1</td><td class=\"status\">partial</td><td>s3 \
             GetBucketPolicy: access denied (AccessDenied): needs s3:GetBucketPolicy</td>\
             <td><details><summary>200 scopes</summary><ul><li>100000000000</li>"
        ));
        // Every scope, each once.
        assert_eq!(block.matches("<li>").count(), 200);
        assert!(block.contains("<li>100000000199</li>"));
        // Static markup only: the page still has exactly its one inline script, allowed by hash.
        assert_eq!(html.matches("<script>").count(), 1);
        assert!(html.contains(&csp()));
        // One scope: no group, and the page is the one the body always gave.
        let one = render(&crate::report::model::test_docs::estate(1));
        assert!(!one.contains("coverage-groups"));
        assert!(one.contains(
            "<section id=\"coverage\"><h2>Coverage</h2><div id=\"coverage-list\"></div></section>"
        ));
    }

    #[test]
    fn title_is_escaped() {
        assert_eq!(
            escape_html(r#"<b a="1">&'"#),
            "&lt;b a=&quot;1&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn short_names_cover_the_arns_and_leave_other_ids_out() {
        let finding = |resource: &str, cluster: Option<&str>| crate::finding::Finding {
            rule_id: "api-endpoint-public".to_string(),
            title: String::new(),
            severity: crate::finding::Severity::High,
            resource: resource.to_string(),
            scope: "1".to_string(),
            region: None,
            cluster: cluster.map(str::to_string),
            node_pool: None,
            message: String::new(),
            evidence: Vec::new(),
            remediation: String::new(),
            compliance: Vec::new(),
            fingerprint: resource.to_string(),
        };
        let inventory = cloudscan_inventory::Inventory::new(cloudscan_inventory::Provider::Aws);
        let now = std::time::SystemTime::now();
        let doc = ReportDocument::new(
            &inventory,
            &[
                finding("arn:aws:eks:us-east-1:1:cluster/prod", Some("prod")),
                finding("projects/p/clusters/c", None),
            ],
            crate::report::Mode::Replay,
            now,
            now,
        );
        let names = short_names(&doc);
        assert_eq!(names.len(), 1, "{names:?}");
        assert_eq!(
            names["arn:aws:eks:us-east-1:1:cluster/prod"],
            "cluster/prod"
        );
        let html = render(&doc);
        assert!(
            html.contains(r#""_short":{"arn:aws:eks:us-east-1:1:cluster/prod":"cluster/prod"}"#)
        );
    }
}
