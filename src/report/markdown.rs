//! Markdown output: a report that reads well on GitHub and GitLab (pull-request comments, issues,
//! job summaries, wiki pages).
//!
//! Sections: title and scan line, an INCOMPLETE warning when some reads failed, summary table,
//! changes since the previous scan (with history), open findings per severity (a table, then one
//! `<details>` block per finding with evidence, remediation, compliance ids and fingerprint),
//! waived findings, waiver notes, framework controls, coverage gaps.
//!
//! Cloud-provided text (resource ids, names, messages, evidence, waiver reasons) is never trusted
//! as markup: [`escape`] makes it literal text for paragraphs and table cells, [`html`] for the
//! raw-HTML `<summary>` lines, [`code`] makes a code span that no backtick inside can close.

use super::model::{
    Change, ControlStatus, FindingEntry, FindingStatus, GapRow, GoneFinding, ReportDocument,
    ScopeCoverage, ScopeSummary, WaiverRef, GROUP_SCOPES_NAMED,
};
use super::resource::short;
use crate::finding::{Evidence, Severity};
use cloudscan_inventory::CoverageStatus;
use std::fmt::Write;

/// Makes `text` literal Markdown text, safe in a paragraph, a list item or a GFM table cell:
/// Markdown punctuation is backslash-escaped, `<`, `>` and `&` become entities (no HTML, no
/// autolinks), `|` cannot end a table cell, and a line break becomes `<br>` (a newline would end
/// the table row or the list item).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("<br>");
                }
            }
            '\n' => out.push_str("<br>"),
            '\t' => out.push(' '),
            // Inline markup (emphasis, code, link and image brackets, strikethrough, math,
            // headings), table cells, escapes. `(`, `)` and `!` are harmless once `[`/`]` are
            // escaped; line-start markers (`-`, `+`, `1.`, `=`) need no escape: every caller
            // starts the line with its own text.
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' | '$' => {
                out.push('\\');
                out.push(c);
            }
            // Cloud data must not notify people or teams (`@name`, `@org/team`) or become a
            // link (`https://…`, `www.…`) in a rendered pull-request comment or issue: the
            // entity forms render the same characters without triggering either.
            '@' => out.push_str("&#64;"),
            ':' if chars.clone().take(2).eq("//".chars()) => out.push_str("&#58;"),
            '.' if starts_www(out.as_bytes()) => out.push_str("&#46;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Whether `out` ends with a word `www` (the start of a `www.` autolink).
fn starts_www(out: &[u8]) -> bool {
    let n = out.len();
    n >= 3
        && out[n - 3..].eq_ignore_ascii_case(b"www")
        && (n == 3 || !out[n - 4].is_ascii_alphanumeric())
}

/// Escapes `text` for raw HTML (the `<summary>` line of a `<details>` block, where Markdown is
/// not interpreted); line breaks become spaces.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Cloud data must not notify people or teams (`@name`, `@org/team`) or become a
            // link (`https://…`, `www.…`) in a rendered pull-request comment or issue: the
            // entity forms render the same characters without triggering either.
            '@' => out.push_str("&#64;"),
            ':' if chars.clone().take(2).eq("//".chars()) => out.push_str("&#58;"),
            '.' if starts_www(out.as_bytes()) => out.push_str("&#46;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A code span showing `text` literally (outside tables): the fence is one backtick longer than
/// the longest run inside, and line breaks become spaces.
pub fn code(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut longest = 0;
    let mut run = 0;
    for c in flat.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    if flat.starts_with('`') || flat.ends_with('`') || flat.is_empty() {
        format!("{fence} {flat} {fence}")
    } else {
        format!("{fence}{flat}{fence}")
    }
}

/// One table row from already-escaped cells.
fn row(cells: &[String]) -> String {
    format!("| {} |\n", cells.join(" | "))
}

fn header(names: &[&str]) -> String {
    let mut s = row(&names.iter().map(|n| n.to_string()).collect::<Vec<_>>());
    s.push_str(&row(&names
        .iter()
        .map(|_| "---".to_string())
        .collect::<Vec<_>>()));
    s
}

fn place(f: &FindingEntry) -> String {
    [
        f.region.as_deref(),
        f.cluster.as_deref(),
        f.node_pool.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" / ")
}

fn or_dash(s: String) -> String {
    if s.is_empty() {
        "-".to_string()
    } else {
        s
    }
}

fn evidence_value(e: &Evidence) -> String {
    match &e.value {
        serde_json::Value::String(s) => s.clone(),
        v => serde_json::to_string(v).unwrap_or_default(),
    }
}

fn title_case(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn finding_details(out: &mut String, f: &FindingEntry) {
    let new = if f.change == Some(Change::New) {
        " (new)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "<details><summary>{} on {}{}</summary>\n",
        html(&f.rule_id),
        html(short(&f.resource)),
        new
    );
    let _ = writeln!(out, "**{}**: {}\n", escape(&f.title), escape(&f.message));
    let _ = writeln!(out, "- Resource: {}", code(&f.resource));
    let _ = writeln!(out, "- Scope: {}", code(&f.scope));
    let where_ = place(f);
    if !where_.is_empty() {
        let _ = writeln!(out, "- Where: {}", escape(&where_));
    }
    let _ = writeln!(out, "- Severity: {}", escape(f.severity.as_str()));
    if f.evidence.is_empty() {
        let _ = writeln!(out, "- Evidence: none recorded");
    } else {
        let _ = writeln!(out, "- Evidence:");
        for e in &f.evidence {
            let _ = writeln!(
                out,
                "  - {} {}: {}",
                escape(&e.source),
                code(&e.field),
                code(&evidence_value(e))
            );
        }
    }
    let _ = writeln!(out, "- Remediation: {}", escape(&f.remediation));
    if f.compliance.is_empty() {
        let _ = writeln!(out, "- Compliance: none mapped");
    } else {
        let ids: Vec<String> = f.compliance.iter().map(|c| escape(c)).collect();
        let _ = writeln!(out, "- Compliance: {}", ids.join(", "));
    }
    let _ = writeln!(out, "- Fingerprint: {}", code(&f.fingerprint));
    let _ = writeln!(out, "\n</details>\n");
}

fn waiver_line(w: &WaiverRef) -> String {
    format!(
        "{} (owner {}, expires {}, {})",
        escape(&w.reason),
        escape(&w.owner),
        escape(&w.expires),
        escape(&w.location)
    )
}

fn gone_table(out: &mut String, gone: &[GoneFinding]) {
    out.push_str(&header(&[
        "severity",
        "rule",
        "resource",
        "cluster",
        "fingerprint",
    ]));
    for g in gone {
        out.push_str(&row(&[
            escape(g.severity.as_str()),
            escape(&g.rule_id),
            escape(short(&g.resource)),
            escape(g.cluster.as_deref().unwrap_or("-")),
            escape(&g.fingerprint),
        ]));
    }
    out.push('\n');
}

/// The `## Scopes` section of a report that covers several scopes.
fn scopes_table(out: &mut String, scopes: &[ScopeSummary]) {
    let clean = scopes.iter().filter(|s| s.clean()).count();
    let _ = writeln!(out, "## Scopes\n");
    let _ = writeln!(
        out,
        "{} scopes: {} with open findings, {} incomplete, {} not scanned, {clean} clean and complete.\n",
        scopes.len(),
        scopes.iter().filter(|s| s.open() > 0).count(),
        scopes
            .iter()
            .filter(|s| s.coverage == ScopeCoverage::Incomplete)
            .count(),
        scopes
            .iter()
            .filter(|s| s.coverage == ScopeCoverage::NotScanned)
            .count(),
    );
    let listed: Vec<&ScopeSummary> = scopes.iter().filter(|s| !s.clean()).collect();
    if !listed.is_empty() {
        out.push_str(&header(&[
            "scope",
            "name / path",
            "critical",
            "high",
            "medium",
            "low",
            "info",
            "waived",
            "coverage",
        ]));
        for s in listed {
            let names: Vec<String> = [s.name.as_deref(), s.path.as_deref()]
                .into_iter()
                .flatten()
                .map(escape)
                .collect();
            let coverage = match s.coverage_parts() {
                (state, Some(detail)) => format!("**{state}**: {}", escape(&detail)),
                (state, None) => state.to_string(),
            };
            out.push_str(&row(&[
                escape(&s.id),
                or_dash(names.join(", ")),
                s.critical.to_string(),
                s.high.to_string(),
                s.medium.to_string(),
                s.low.to_string(),
                s.info.to_string(),
                s.waived.to_string(),
                coverage,
            ]));
        }
        out.push('\n');
    }
    if clean > 0 {
        let _ = writeln!(
            out,
            "{clean} scope(s) clean and complete: no finding, every call read.\n"
        );
    }
}

pub fn render(doc: &ReportDocument) -> String {
    let mut out = String::new();
    let scan = &doc.scan;
    let s = &doc.summary;
    let scopes: Vec<String> = scan
        .scopes
        .iter()
        .map(|sc| match &sc.name {
            Some(name) if name != &sc.id => format!("{} ({})", escape(&sc.id), escape(name)),
            _ => escape(&sc.id),
        })
        .collect();

    let _ = writeln!(
        out,
        "# cloudscan report: {} {}\n",
        escape(scan.provider.as_str()),
        if scopes.is_empty() {
            "(no scope)".to_string()
        } else {
            scopes.join(", ")
        }
    );
    let _ = writeln!(
        out,
        "Scanned {} to {} ({} mode), {} region(s), {} cluster(s){}{}.\n",
        escape(&scan.started_at),
        escape(&scan.finished_at),
        escape(scan.mode.as_str()),
        scan.regions.len(),
        scan.clusters.len(),
        scan.caller
            .as_deref()
            .map(|c| format!(", as {}", escape(c)))
            .unwrap_or_default(),
        scan.id
            .map(|id| format!(", stored as scan {id}"))
            .unwrap_or_default(),
    );
    if !scan.complete {
        let _ = writeln!(
            out,
            "> **⚠️ INCOMPLETE SCAN**: {} service/region read(s) did not complete. The absence of \
findings there proves nothing; see [Coverage gaps](#coverage-gaps).\n",
            s.coverage_incomplete
        );
    }

    // Summary.
    let open = s.findings - s.waived;
    let _ = writeln!(out, "## Summary\n");
    out.push_str(&header(&["", "count"]));
    for (name, n) in [
        ("🔴 Critical", s.critical),
        ("🟠 High", s.high),
        ("🟡 Medium", s.medium),
        ("🔵 Low", s.low),
        ("⚪ Info", s.info),
    ] {
        out.push_str(&row(&[name.to_string(), n.to_string()]));
    }
    out.push_str(&row(&["**Open**".to_string(), format!("**{open}**")]));
    out.push_str(&row(&["Waived".to_string(), s.waived.to_string()]));
    out.push_str(&row(&[
        "Waivers in force".to_string(),
        s.waivers.to_string(),
    ]));
    if doc.diff.is_some() {
        out.push_str(&row(&[
            "New since the previous scan".to_string(),
            s.new.to_string(),
        ]));
        out.push_str(&row(&[
            "Fixed since the previous scan".to_string(),
            s.fixed.to_string(),
        ]));
    }
    out.push_str(&row(&[
        "Coverage (service/region reads)".to_string(),
        format!(
            "{} complete, {} incomplete",
            s.coverage_complete, s.coverage_incomplete
        ),
    ]));
    out.push('\n');

    // An estate: one row per scope that has findings or was not read completely, worst first.
    if doc.scopes.len() > 1 {
        scopes_table(&mut out, &doc.scopes);
    }

    // Since the previous scan.
    if let Some(diff) = &doc.diff {
        let _ = writeln!(out, "## Since the previous scan\n");
        for b in &diff.baselines {
            match (b.scan_id, &b.started_at) {
                (Some(id), Some(at)) => {
                    let _ = writeln!(
                        out,
                        "- {}: compared with scan {id} ({})",
                        escape(&b.scope),
                        escape(at)
                    );
                }
                (Some(id), None) => {
                    let _ = writeln!(out, "- {}: compared with scan {id}", escape(&b.scope));
                }
                (None, _) => {
                    let _ = writeln!(
                        out,
                        "- {}: first stored scan, nothing to compare with",
                        escape(&b.scope)
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "\n**{} new**, **{} fixed**, {} still open{}.\n",
            diff.new,
            diff.fixed.len(),
            diff.open,
            if diff.unverified.is_empty() {
                String::new()
            } else {
                format!(
                    ", {} not re-assessed (scope not read completely)",
                    diff.unverified.len()
                )
            }
        );
        let new: Vec<&FindingEntry> = doc
            .open()
            .filter(|f| f.change == Some(Change::New))
            .collect();
        if !new.is_empty() {
            let _ = writeln!(out, "### New\n");
            out.push_str(&header(&["severity", "rule", "resource", "where"]));
            for f in new {
                out.push_str(&row(&[
                    escape(f.severity.as_str()),
                    escape(&f.rule_id),
                    escape(short(&f.resource)),
                    escape(&or_dash(place(f))),
                ]));
            }
            out.push('\n');
        }
        if !diff.fixed.is_empty() {
            let _ = writeln!(out, "### Fixed\n");
            gone_table(&mut out, &diff.fixed);
        }
        if !diff.unverified.is_empty() {
            let _ = writeln!(
                out,
                "### Not re-assessed\n\nIn the previous scan, not in this one, but this scan could \
not read their scope completely: not counted as fixed.\n"
            );
            gone_table(&mut out, &diff.unverified);
        }
    }

    // Open findings by severity.
    let _ = writeln!(out, "## Findings\n");
    if doc.open().next().is_none() {
        let _ = writeln!(out, "No open findings.\n");
    }
    for severity in Severity::ALL {
        let rows: Vec<&FindingEntry> = doc.open().filter(|f| f.severity == severity).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "### {} ({})\n",
            title_case(severity.as_str()),
            rows.len()
        );
        out.push_str(&header(&["rule", "resource", "where", "finding"]));
        for f in &rows {
            let rule = match f.change {
                Some(Change::New) => format!("{} 🆕", escape(&f.rule_id)),
                _ => escape(&f.rule_id),
            };
            out.push_str(&row(&[
                rule,
                escape(short(&f.resource)),
                escape(&or_dash(place(f))),
                escape(&f.message),
            ]));
        }
        out.push('\n');
        for f in rows {
            finding_details(&mut out, f);
        }
    }

    // Waived findings.
    let waived: Vec<&FindingEntry> = doc
        .findings
        .iter()
        .filter(|f| f.status == FindingStatus::Waived)
        .collect();
    if !waived.is_empty() {
        let _ = writeln!(out, "## Waived findings ({})\n", waived.len());
        out.push_str(&header(&[
            "rule", "severity", "resource", "reason", "owner", "expires", "waiver",
        ]));
        for f in waived {
            let w = f.waiver.as_ref();
            let field = |get: fn(&WaiverRef) -> &str| escape(w.map(get).unwrap_or("-"));
            out.push_str(&row(&[
                escape(&f.rule_id),
                escape(f.severity.as_str()),
                escape(short(&f.resource)),
                field(|w| &w.reason),
                field(|w| &w.owner),
                field(|w| &w.expires),
                field(|w| &w.location),
            ]));
        }
        out.push('\n');
    }

    // Waiver notes.
    if !doc.waivers.expired.is_empty() || !doc.waivers.stale.is_empty() {
        let _ = writeln!(out, "## Waiver notes\n");
        for n in &doc.waivers.expired {
            let _ = writeln!(
                out,
                "- ⚠️ **Expired** ({} finding(s) open again): {}<br>Waiver: {}",
                n.matches,
                escape(&n.message),
                waiver_line(&n.waiver)
            );
        }
        for n in &doc.waivers.stale {
            let _ = writeln!(
                out,
                "- **Stale** (matches nothing): {}<br>Waiver: {}",
                escape(&n.message),
                waiver_line(&n.waiver)
            );
        }
        out.push('\n');
    }

    // Framework controls.
    if !doc.frameworks.is_empty() {
        let _ = writeln!(out, "## Framework controls\n");
        for fw in &doc.frameworks {
            let _ = writeln!(
                out,
                "### {}\n\n{} passed, {} failed, {} waived, {} not assessed ({}).\n",
                escape(&fw.title),
                fw.passed,
                fw.failed,
                fw.waived,
                fw.not_assessed,
                code(&fw.id)
            );
            out.push_str(&header(&["control", "title", "status", "reason", "rules"]));
            for c in &fw.controls {
                let status = match c.status {
                    ControlStatus::Passed => "✅ passed",
                    ControlStatus::Failed => "❌ failed",
                    ControlStatus::Waived => "⚠️ waived",
                    ControlStatus::NotAssessed => "➖ not assessed",
                };
                let rules: Vec<String> = c.rules.iter().map(|r| escape(r)).collect();
                out.push_str(&row(&[
                    escape(&c.id),
                    escape(&c.title),
                    status.to_string(),
                    escape(&c.reason),
                    rules.join(", "),
                ]));
            }
            out.push('\n');
        }
    }

    // Coverage gaps.
    let _ = writeln!(out, "## Coverage gaps\n");
    let gaps: Vec<_> = doc
        .coverage
        .iter()
        .filter(|c| c.status != CoverageStatus::Complete)
        .collect();
    if gaps.is_empty() {
        let _ = writeln!(
            out,
            "None: every service/region read ({}) completed.",
            doc.coverage.len()
        );
    } else {
        out.push_str(&header(&["scope", "service", "region", "status", "detail"]));
        // A gap several scopes share is one row naming how many and the first few.
        for gap in doc.gap_rows() {
            out.push_str(&match gap {
                GapRow::Entry(c) => row(&[
                    escape(&c.scope),
                    escape(&c.service),
                    escape(&c.region),
                    escape(c.status.as_str()),
                    escape(c.detail.as_deref().unwrap_or("-")),
                ]),
                GapRow::Shared(g) => row(&[
                    escape(&g.scopes_text(GROUP_SCOPES_NAMED)),
                    escape(g.service),
                    escape(g.region),
                    escape(g.status.as_str()),
                    or_dash(escape(&g.reason)),
                ]),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_shared_by_many_scopes_is_one_row_and_distinct_gaps_stay_rows() {
        let doc = crate::report::model::test_docs::estate(200);
        let out = render(&doc);
        let gaps = out.split("## Coverage gaps").nth(1).unwrap_or_default();
        let rows: Vec<&str> = gaps
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| ---"))
            .collect();
        // The header, then the shared gap and the three distinct ones.
        assert_eq!(rows.len(), 5, "{gaps}");
        assert_eq!(
            rows[1],
            "| 200 scopes: 100000000000, 100000000001, 100000000002 and 197 more | s3 | \
             us-east-1 | partial | s3 GetBucketPolicy: access denied (AccessDenied): needs \
             s3:GetBucketPolicy |"
        );
        assert!(
            rows[2].starts_with(
                "| 100000000000 | kms | us-east-1 | partial | kms GetKeyPolicy (arn:aws:kms:"
            ),
            "{}",
            rows[2]
        );
        assert!(rows[3].starts_with("| 100000000001 | s3 | eu-west-1 | partial | s3 GetBucketPolicy (arn:aws:s3:::logs-100000000001)"), "{}", rows[3]);
        assert!(
            rows[4].starts_with(
                "| 100000000001 | kms | us-east-1 | failed | kms ListKeys (us-east-1)"
            ),
            "{}",
            rows[4]
        );
        // JSON keeps every entry of every scope.
        let json = crate::report::json::render(&doc);
        let parsed: serde_json::Value = serde_json::from_str(&json).expect("json");
        let s3 = parsed["coverage"]
            .as_array()
            .map(|c| c.iter().filter(|e| e["service"] == "s3").count());
        assert_eq!(s3, Some(201));
    }

    #[test]
    fn escape_table_breakers() {
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(escape("line1\nline2"), "line1<br>line2");
        assert_eq!(escape("line1\r\nline2\rx"), "line1<br>line2<br>x");
        assert_eq!(escape("`rm -rf`"), "\\`rm -rf\\`");
        assert_eq!(escape("\\|"), "\\\\\\|");
    }

    #[test]
    fn escape_html_and_links() {
        assert_eq!(
            escape("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(escape("&lt;"), "&amp;lt;");
        assert_eq!(escape("[click](javascript:x)"), "\\[click\\](javascript:x)");
        assert_eq!(
            escape("**bold** _it_ ~~s~~"),
            "\\*\\*bold\\*\\* \\_it\\_ \\~\\~s\\~\\~"
        );
        assert_eq!(escape("![img](u)"), "!\\[img\\](u)");
    }

    #[test]
    fn escape_keeps_ordinary_ids_readable() {
        assert_eq!(
            escape("arn:aws:eks:us-east-1:123456789012:cluster/prod-1.2"),
            "arn:aws:eks:us-east-1:123456789012:cluster/prod-1.2"
        );
    }

    #[test]
    fn escape_neutralizes_mentions_and_bare_links() {
        let out = escape(
            "ask @security-team or @org/admins, see https://evil.example/x and www.evil.example",
        );
        assert!(!out.contains('@'), "{out}");
        assert!(!out.contains("https://"), "{out}");
        assert!(!out.contains("www.evil"), "{out}");
        assert!(
            out.contains("&#64;security-team") && out.contains("https&#58;//evil"),
            "{out}"
        );
        // Ordinary text keeps its characters.
        assert_eq!(escape("a.b: c"), "a.b: c");
        assert_eq!(escape("awww.x"), "awww.x");
    }

    #[test]
    fn escape_drops_control_characters() {
        assert_eq!(escape("a\u{1b}[31mb\tc"), "a \\[31mb c");
    }

    #[test]
    fn html_escapes_markup() {
        assert_eq!(
            html("</summary><script>\"x\"&'y'"),
            "&lt;/summary&gt;&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;"
        );
        assert_eq!(html("a\nb"), "a b");
    }

    #[test]
    fn code_spans_cannot_be_closed() {
        assert_eq!(code("abc"), "`abc`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("``x"), "``` ``x ```");
        assert_eq!(code("a\nb"), "`a b`");
        assert_eq!(code(""), "`  `");
    }
}
