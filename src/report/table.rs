//! The human report: findings grouped by severity, then coverage, then a summary.

use super::model::{
    Change, FindingEntry, FindingStatus, GapRow, ReportDocument, ScopeCoverage, ScopeSummary,
    GROUP_SCOPES_NAMED,
};
use super::resource::short;
use crate::finding::Severity;
use cloudscan_inventory::CoverageStatus;
use std::collections::BTreeMap;
use std::fmt::Write;
use tabled::settings::{object::Columns, Modify, Style, Width};
use tabled::{Table, Tabled};

#[derive(Tabled)]
struct FindingLine {
    #[tabled(rename = "rule")]
    rule: String,
    #[tabled(rename = "resource")]
    resource: String,
    #[tabled(rename = "where")]
    location: String,
    #[tabled(rename = "finding")]
    message: String,
}

#[derive(Tabled)]
struct CoverageLine {
    #[tabled(rename = "service")]
    service: String,
    #[tabled(rename = "complete")]
    complete: String,
    #[tabled(rename = "not complete (status: why)")]
    problems: String,
}

#[derive(Tabled)]
struct ScopeLine {
    #[tabled(rename = "scope")]
    id: String,
    #[tabled(rename = "name / path")]
    name: String,
    #[tabled(rename = "crit")]
    critical: usize,
    #[tabled(rename = "high")]
    high: usize,
    #[tabled(rename = "med")]
    medium: usize,
    #[tabled(rename = "low")]
    low: usize,
    #[tabled(rename = "info")]
    info: usize,
    #[tabled(rename = "waived")]
    waived: usize,
    #[tabled(rename = "coverage")]
    coverage: String,
}

/// How wide the coverage column of the scope summary is (a not-scanned reason wraps).
const SCOPE_COVERAGE_WIDTH: usize = 60;

/// How wide the prose columns are: finding messages and waiver reasons, coverage problems.
const MESSAGE_WIDTH: usize = 70;
const PROBLEMS_WIDTH: usize = 90;

/// Wraps prose into lines of at most `width` characters, breaking between words (runs of
/// whitespace become one space; line breaks are kept). Only a word longer than a whole line is
/// cut. The cells then need no wrapping of their own, which would cut words (`se|rvice`) or
/// start a line with a space.
fn wrap_words(text: &str, width: usize) -> String {
    let width = width.max(1);
    let mut lines: Vec<String> = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut line_len = 0;
        for word in paragraph.split_whitespace() {
            let mut rest = word;
            let mut rest_len = rest.chars().count();
            if line_len > 0 {
                if line_len + 1 + rest_len <= width {
                    line.push(' ');
                    line_len += 1;
                } else {
                    lines.push(std::mem::take(&mut line));
                    line_len = 0;
                }
            }
            // Only on an empty line: a word wider than the column.
            while rest_len > width {
                let cut = rest
                    .char_indices()
                    .nth(width)
                    .map(|(i, _)| i)
                    .unwrap_or(rest.len());
                lines.push(rest[..cut].to_string());
                rest = &rest[cut..];
                rest_len -= width;
            }
            line.push_str(rest);
            line_len += rest_len;
        }
        lines.push(line);
    }
    lines.join("\n")
}

pub fn render(doc: &ReportDocument) -> String {
    printable(render_raw(doc))
}

/// Replaces what a terminal would act on instead of print (ANSI escape sequences, other C0 and
/// C1 control characters, bidirectional overrides) with `�`: error bodies, names and tags come
/// from the cloud, and a table goes straight to a terminal. Line breaks stay; tabs become spaces.
pub fn printable(text: String) -> String {
    let bad = |c: char| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
    };
    if !text.chars().any(bad) {
        return text;
    }
    text.chars()
        .map(|c| match c {
            '\t' => ' ',
            c if bad(c) => '\u{FFFD}',
            c => c,
        })
        .collect()
}

fn render_raw(doc: &ReportDocument) -> String {
    let mut out = String::new();
    let scan = &doc.scan;
    let scopes: Vec<&str> = scan.scopes.iter().map(|s| s.id.as_str()).collect();
    // An estate (more than one scope): a summary per scope, then the findings of each scope.
    let estate = doc.scopes.len() > 1;
    let scope_list = if estate {
        format!("{} (summary below)", doc.scopes.len())
    } else {
        scopes.join(", ")
    };
    let _ = writeln!(
        out,
        "cloudscan {} report: {} {} ({} mode), {} region(s), {} cluster(s){}",
        scan.provider.as_str(),
        if scopes.len() == 1 && !estate {
            "scope"
        } else {
            "scopes"
        },
        scope_list,
        scan.mode,
        scan.regions.len(),
        scan.clusters.len(),
        scan.id
            .map(|id| format!(", stored as scan {id}"))
            .unwrap_or_default(),
    );
    if let Some(caller) = &scan.caller {
        let _ = writeln!(out, "scanned as {caller}");
    }
    let _ = writeln!(out);

    if estate {
        scope_summary(&mut out, &doc.scopes);
        for scope in &doc.scopes {
            let open: Vec<&FindingEntry> = doc.open().filter(|f| f.scope == scope.id).collect();
            if open.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "== SCOPE {}: {} open finding(s) ==",
                scope.label(),
                open.len()
            );
            severity_tables(&mut out, &open, "  ");
        }
    } else {
        let open: Vec<&FindingEntry> = doc.open().collect();
        severity_tables(&mut out, &open, "");
    }
    if doc.open().next().is_none() {
        let _ = writeln!(out, "No open findings.\n");
    }

    let waived: Vec<FindingLine> = doc
        .findings
        .iter()
        .filter(|f| f.status == FindingStatus::Waived)
        .map(|f| {
            let w = f.waiver.as_ref();
            FindingLine {
                rule: format!("{}\n({})", f.rule_id, f.severity),
                resource: short(&f.resource).to_string(),
                location: if estate {
                    scoped_location(f)
                } else {
                    location(f)
                },
                message: w
                    .map(|w| {
                        wrap_words(
                            &format!(
                                "waived until {} by {}: {} ({})",
                                w.expires, w.owner, w.reason, w.location
                            ),
                            MESSAGE_WIDTH,
                        )
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    if !waived.is_empty() {
        let _ = writeln!(out, "WAIVED ({})", waived.len());
        let _ = writeln!(out, "{}\n", finding_table(waived));
    }
    for note in doc.waivers.expired.iter().chain(&doc.waivers.stale) {
        let _ = writeln!(out, "warning: {}", note.message);
    }
    if !doc.waivers.expired.is_empty() || !doc.waivers.stale.is_empty() {
        let _ = writeln!(out);
    }

    if let Some(diff) = &doc.diff {
        let compared: Vec<String> = diff
            .baselines
            .iter()
            .map(|b| match b.scan_id {
                Some(id) => format!("{} vs scan {id}", b.scope),
                None => format!("{}: first stored scan", b.scope),
            })
            .collect();
        let _ = writeln!(
            out,
            "SINCE THE PREVIOUS SCAN ({}): {} new, {} fixed, {} still open{}",
            compared.join("; "),
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
        for f in &diff.fixed {
            let _ = writeln!(
                out,
                "  fixed: {} {} {}",
                f.severity,
                f.rule_id,
                short(&f.resource)
            );
        }
        let _ = writeln!(out);
    }

    for fw in &doc.frameworks {
        let _ = writeln!(
            out,
            "{}: {} passed, {} failed, {} waived, {} not assessed",
            fw.title, fw.passed, fw.failed, fw.waived, fw.not_assessed
        );
    }
    if !doc.frameworks.is_empty() {
        let _ = writeln!(out, "(`--format markdown` or `html` lists every control)\n");
    }

    // Coverage: one line per service, with every incomplete region spelled out; a gap that
    // several scopes share is one line naming how many and the first few.
    let mut by_service: BTreeMap<&str, (usize, usize, Vec<String>)> = BTreeMap::new();
    for c in &doc.coverage {
        let entry = by_service.entry(c.service.as_str()).or_default();
        entry.1 += 1;
        if c.status == CoverageStatus::Complete {
            entry.0 += 1;
        }
    }
    for gap in doc.gap_rows() {
        let (service, line) = match gap {
            GapRow::Entry(c) => (
                c.service.as_str(),
                format!(
                    "{}{}: {}{}",
                    if estate && !c.scope.is_empty() {
                        format!("{} ", c.scope)
                    } else {
                        String::new()
                    },
                    c.region,
                    c.status.as_str(),
                    c.detail
                        .as_deref()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                ),
            ),
            GapRow::Shared(g) => (
                g.service,
                format!(
                    "{}: {}{} in {}",
                    g.region,
                    g.status.as_str(),
                    if g.reason.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", g.reason)
                    },
                    g.scopes_text(GROUP_SCOPES_NAMED)
                ),
            ),
        };
        by_service.entry(service).or_default().2.push(line);
    }
    let rows: Vec<CoverageLine> = by_service
        .into_iter()
        .map(|(service, (ok, total, problems))| CoverageLine {
            service: service.to_string(),
            complete: format!("{ok}/{total}"),
            problems: if problems.is_empty() {
                "-".to_string()
            } else {
                wrap_words(&problems.join("\n"), PROBLEMS_WIDTH)
            },
        })
        .collect();
    let _ = writeln!(out, "COVERAGE");
    let mut table = Table::new(rows);
    table
        .with(Style::rounded())
        .with(Modify::new(Columns::one(2)).with(Width::wrap(PROBLEMS_WIDTH).keep_words(true)));
    let _ = writeln!(out, "{table}\n");

    let s = &doc.summary;
    let _ = writeln!(
        out,
        "{} open finding(s): {} critical, {} high, {} medium, {} low, {} info; {} waived ({} waiver(s) in force). Scan {}.",
        s.findings - s.waived,
        s.critical,
        s.high,
        s.medium,
        s.low,
        s.info,
        s.waived,
        s.waivers,
        if scan.complete {
            "complete".to_string()
        } else {
            format!(
                "INCOMPLETE: {} service/region(s) could not be read fully; their absence of findings proves nothing",
                s.coverage_incomplete
            )
        }
    );
    out
}

/// `cloudscan diff` as text: one line per new, fixed, not re-assessed and still-open finding.
pub fn render_diff(doc: &ReportDocument, from: i64, to: i64) -> String {
    printable(render_diff_raw(doc, from, to))
}

fn render_diff_raw(doc: &ReportDocument, from: i64, to: i64) -> String {
    let mut s = String::new();
    let Some(diff) = &doc.diff else {
        return s;
    };
    s.push_str(&format!(
        "scan {to} ({}) against scan {from}: {} new, {} fixed, {} still open",
        doc.scan.started_at,
        diff.new,
        diff.fixed.len(),
        diff.open
    ));
    if !diff.unverified.is_empty() {
        s.push_str(&format!(
            ", {} not re-assessed (scope not read completely)",
            diff.unverified.len()
        ));
    }
    s.push_str("\n\n");
    for f in doc.open().filter(|f| crate::history::is_new(f)) {
        s.push_str(&format!(
            "  new    {:<8} {:<34} {}\n",
            f.severity, f.rule_id, f.resource
        ));
    }
    for f in &diff.fixed {
        s.push_str(&format!(
            "  fixed  {:<8} {:<34} {}\n",
            f.severity, f.rule_id, f.resource
        ));
    }
    for f in &diff.unverified {
        s.push_str(&format!(
            "  ?      {:<8} {:<34} {} (not re-assessed)\n",
            f.severity, f.rule_id, f.resource
        ));
    }
    for f in doc.open().filter(|f| f.change == Some(Change::Open)) {
        s.push_str(&format!(
            "  open   {:<8} {:<34} {}\n",
            f.severity, f.rule_id, f.resource
        ));
    }
    s
}

/// One table per severity (highest first) of these open findings, each under a heading
/// (`HIGH (3)`) indented by `indent`.
fn severity_tables(out: &mut String, findings: &[&FindingEntry], indent: &str) {
    for severity in Severity::ALL {
        let rows: Vec<FindingLine> = findings
            .iter()
            .filter(|f| f.severity == severity)
            .map(|f| FindingLine {
                rule: match f.change {
                    Some(Change::New) => format!("{}\n(new)", f.rule_id),
                    _ => f.rule_id.clone(),
                },
                resource: short(&f.resource).to_string(),
                location: location(f),
                message: wrap_words(&f.message, MESSAGE_WIDTH),
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "{indent}{} ({})",
            severity.as_str().to_ascii_uppercase(),
            rows.len()
        );
        let _ = writeln!(out, "{}\n", finding_table(rows));
    }
}

/// The summary of an estate: one line per scope that has findings or was not read completely,
/// worst first; the clean and complete ones folded into one line.
fn scope_summary(out: &mut String, scopes: &[ScopeSummary]) {
    let with_findings = scopes.iter().filter(|s| s.open() > 0).count();
    let incomplete = scopes
        .iter()
        .filter(|s| s.coverage == ScopeCoverage::Incomplete)
        .count();
    let not_scanned = scopes
        .iter()
        .filter(|s| s.coverage == ScopeCoverage::NotScanned)
        .count();
    let clean = scopes.iter().filter(|s| s.clean()).count();
    let _ = writeln!(
        out,
        "SCOPES ({}): {with_findings} with open findings, {incomplete} incomplete, {not_scanned} not scanned, {clean} clean and complete",
        scopes.len()
    );
    let rows: Vec<ScopeLine> = scopes
        .iter()
        .filter(|s| !s.clean())
        .map(|s| ScopeLine {
            id: s.id.clone(),
            name: [s.name.as_deref(), s.path.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("\n"),
            critical: s.critical,
            high: s.high,
            medium: s.medium,
            low: s.low,
            info: s.info,
            waived: s.waived,
            // A scope not read completely stands out in capitals.
            coverage: wrap_words(
                &match s.coverage_parts() {
                    (state, Some(detail)) => format!("{}: {detail}", state.to_uppercase()),
                    (state, None) => state.to_string(),
                },
                SCOPE_COVERAGE_WIDTH,
            ),
        })
        .collect();
    if !rows.is_empty() {
        let mut table = Table::new(rows);
        table.with(Style::rounded()).with(
            Modify::new(Columns::one(8)).with(Width::wrap(SCOPE_COVERAGE_WIDTH).keep_words(true)),
        );
        let _ = writeln!(out, "{table}");
    }
    if clean > 0 {
        let _ = writeln!(
            out,
            "{clean} scope(s) clean and complete: no finding, every call read"
        );
    }
    let _ = writeln!(out);
}

/// The scope, then where in it.
fn scoped_location(f: &FindingEntry) -> String {
    let rest = location(f);
    if rest.is_empty() {
        f.scope.clone()
    } else {
        format!("{} / {rest}", f.scope)
    }
}

fn location(f: &FindingEntry) -> String {
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

fn finding_table(rows: Vec<FindingLine>) -> Table {
    let mut table = Table::new(rows);
    table
        .with(Style::rounded())
        // Resource ids have no spaces: they wrap anywhere. Prose wraps between words.
        .with(Modify::new(Columns::one(1)).with(Width::wrap(40)))
        .with(Modify::new(Columns::one(3)).with(Width::wrap(MESSAGE_WIDTH).keep_words(true)));
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Finding;
    use crate::report::Mode;
    use cloudscan_inventory::{Coverage, Inventory, Provider};
    use std::time::SystemTime;

    /// A GCP report with one high finding and one failed coverage entry.
    fn doc(message: &str, detail: &str) -> ReportDocument {
        let mut inventory = Inventory::new(Provider::Gcp);
        inventory.coverage.push(Coverage {
            scope: "p".to_string(),
            service: "iam".to_string(),
            region: "global".to_string(),
            status: CoverageStatus::Failed,
            detail: Some(detail.to_string()),
        });
        let finding = Finding {
            rule_id: "node-default-service-account".to_string(),
            title: "Node pool uses the default service account".to_string(),
            severity: Severity::High,
            resource: "projects/p/locations/europe-west1/clusters/prod/nodePools/pool-1"
                .to_string(),
            scope: "p".to_string(),
            region: Some("europe-west1".to_string()),
            cluster: Some("prod".to_string()),
            node_pool: Some("pool-1".to_string()),
            message: message.to_string(),
            evidence: Vec::new(),
            remediation: String::new(),
            compliance: Vec::new(),
            fingerprint: "f".to_string(),
        };
        let now = SystemTime::now();
        ReportDocument::new(&inventory, &[finding], Mode::Replay, now, now)
    }

    /// The words of one column of the table that has `header` in that column, line by line.
    fn column_words(out: &str, header: &str) -> Vec<String> {
        let mut column = None;
        let mut words = Vec::new();
        for line in out.lines() {
            let cells: Vec<&str> = line.split('│').map(str::trim).collect();
            match column {
                None => column = cells.iter().position(|c| *c == header),
                Some(i) => {
                    if !line.starts_with('│') {
                        if line.starts_with('╰') {
                            break;
                        }
                        continue;
                    }
                    let raw: Vec<&str> = line.split('│').collect();
                    if let Some(cell) = raw.get(i) {
                        // One space of padding, then the text: never a line starting with a space.
                        assert!(!cell.starts_with("  ") || cell.trim().is_empty(), "{line}");
                    }
                    if let Some(cell) = cells.get(i) {
                        words.extend(cell.split_whitespace().map(str::to_string));
                    }
                }
            }
        }
        words
    }

    #[test]
    fn cells_wrap_at_word_boundaries() {
        // At 70 columns, a character wrap cut this message inside "service" (`se|rvice`).
        let message = "Node pool pool-1 of cluster prod runs as the Compute Engine default \
service account with the cloud-platform scope, so every pod scheduled on it can call every \
API the account is allowed to use";
        assert_eq!(
            message.find("service"),
            Some(68),
            "the test needs a word across column 70"
        );
        let detail = "permission denied: iam.serviceAccounts.list on project p requires the \
roles/iam.serviceAccountViewer role or a custom role granting it to the scanning identity";
        let out = render(&doc(message, detail));
        // Every word comes out whole: a cut word would show up as two (`se`, `rvice`).
        let expected: Vec<&str> = message.split_whitespace().collect();
        assert_eq!(column_words(&out, "finding"), expected, "{out}");
        let problems = column_words(&out, "not complete (status: why)");
        let expected: Vec<String> = format!("global: failed ({detail})")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        assert_eq!(problems, expected, "{out}");
    }

    #[test]
    fn terminal_control_characters_from_cloud_data_are_not_printed() {
        let out = render(&doc(
            "denied \u{1b}[2J\u{1b}]0;pwned\u{7}by policy \u{202e}txt.exe\u{9b}31m",
            "HTTP 403\u{1b}[31m red\r\ttab",
        ));
        for bad in ['\u{1b}', '\u{7}', '\u{202e}', '\u{9b}', '\r', '\t'] {
            assert!(!out.contains(bad), "{bad:?} in {out}");
        }
        assert!(out.contains('\u{FFFD}'));
        assert!(out.contains("by policy"));
        assert_eq!(printable("plain\ntext".to_string()), "plain\ntext");
    }

    /// An estate of five AWS accounts: `b` with a high finding, `c` with a medium one and a
    /// failed call, `d` a member that could not be scanned, `a` and `e` clean and complete.
    fn estate() -> ReportDocument {
        use cloudscan_inventory::{OrgAccount, OrgNode, Organization, Scope};
        let mut inventory = Inventory::new(Provider::Aws);
        for id in ["a", "b", "c", "e"] {
            inventory.scopes.push(Scope {
                id: id.to_string(),
                name: Some(format!("name-{id}")),
                partition: Some("aws".to_string()),
            });
            inventory.coverage.push(Coverage {
                scope: id.to_string(),
                service: "eks".to_string(),
                region: "us-east-1".to_string(),
                status: CoverageStatus::Complete,
                detail: None,
            });
        }
        inventory.coverage.push(Coverage {
            scope: "c".to_string(),
            service: "iam".to_string(),
            region: "global".to_string(),
            status: CoverageStatus::Failed,
            detail: Some("iam:GetAccountAuthorizationDetails: AccessDenied".to_string()),
        });
        inventory.coverage.push(Coverage {
            scope: "d".to_string(),
            service: "account".to_string(),
            region: "global".to_string(),
            status: CoverageStatus::Failed,
            detail: Some("not scanned: cannot assume the member role".to_string()),
        });
        let node = |id: &str, kind: &str| OrgNode {
            id: id.to_string(),
            name: Some(id.to_string()),
            kind: kind.to_string(),
        };
        let account = |id: &str, scanned: bool| OrgAccount {
            id: id.to_string(),
            name: Some(format!("name-{id}")),
            status: Some("ACTIVE".to_string()),
            path: vec![
                node("Root", "root"),
                node("Workloads", "ou"),
                node(id, "account"),
            ],
            scanned,
            not_scanned_reason: (!scanned)
                .then(|| "cannot assume the member role: AccessDenied".to_string()),
            ..Default::default()
        };
        inventory.organization = Some(Organization {
            id: "o-1".to_string(),
            accounts: vec![
                account("a", true),
                account("b", true),
                account("c", true),
                account("d", false),
                account("e", true),
            ],
            ..Default::default()
        });
        let finding = |scope: &str, severity: Severity, n: usize| Finding {
            rule_id: "api-endpoint-public".to_string(),
            title: String::new(),
            severity,
            resource: format!("arn:aws:eks:us-east-1:{scope}:cluster/c{n}"),
            scope: scope.to_string(),
            region: Some("us-east-1".to_string()),
            cluster: Some(format!("c{n}")),
            node_pool: None,
            message: format!("finding {n} of {scope}"),
            evidence: Vec::new(),
            remediation: String::new(),
            compliance: Vec::new(),
            fingerprint: format!("{scope}{n}"),
        };
        let now = SystemTime::now();
        ReportDocument::new(
            &inventory,
            &[
                finding("c", Severity::Medium, 1),
                finding("b", Severity::High, 2),
            ],
            Mode::Replay,
            now,
            now,
        )
    }

    #[test]
    fn an_estate_gets_a_summary_per_scope_worst_first() {
        let doc = estate();
        let order: Vec<&str> = doc.scopes.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(order, ["b", "c", "d", "a", "e"]);
        let d = doc.scopes.iter().find(|s| s.id == "d").unwrap();
        assert_eq!(d.coverage, ScopeCoverage::NotScanned);
        assert_eq!(d.path.as_deref(), Some("Root/Workloads"));
        assert!(d.reason.as_deref().unwrap().contains("AccessDenied"));
        let c = doc.scopes.iter().find(|s| s.id == "c").unwrap();
        assert_eq!(
            (c.medium, c.coverage, c.incomplete_calls),
            (1, ScopeCoverage::Incomplete, 1)
        );

        let out = render(&doc);
        assert!(out.contains("scopes 5 (summary below)"), "{out}");
        assert!(
            out.contains("SCOPES (5): 2 with open findings, 1 incomplete, 1 not scanned, 2 clean and complete"),
            "{out}"
        );
        // One row per scope that has something to say, worst first; clean ones folded.
        let row = |id: &str| {
            out.lines()
                .position(|l| l.starts_with(&format!("│ {id} ")))
                .unwrap_or_else(|| panic!("no row for {id}:\n{out}"))
        };
        assert!(row("b") < row("c") && row("c") < row("d"), "{out}");
        assert!(
            !out.lines()
                .any(|l| l.starts_with("│ a ") || l.starts_with("│ e ")),
            "{out}"
        );
        assert!(out.contains("2 scope(s) clean and complete"), "{out}");
        assert!(
            out.contains("NOT SCANNED: cannot assume the member role"),
            "{out}"
        );
        assert!(
            out.contains("INCOMPLETE: 1 call(s) not read fully"),
            "{out}"
        );
        // Findings grouped by scope, in the same order.
        let b = out
            .find("== SCOPE b (name-b, Root/Workloads): 1 open finding(s) ==")
            .expect(&out);
        let c = out
            .find("== SCOPE c (name-c, Root/Workloads): 1 open finding(s) ==")
            .expect(&out);
        assert!(b < c);
        assert!(out[b..c].contains("finding 2 of b") && out[c..].contains("finding 1 of c"));
        assert!(!out.contains("== SCOPE a"), "no section for a clean scope");
        // Coverage problems name their scope.
        assert!(out.contains("c global: failed"), "{out}");
    }

    /// The text of the coverage problems column, one string per service row.
    fn problems_of(out: &str) -> String {
        let coverage = out.split("COVERAGE").nth(1).unwrap_or_default();
        column_words(coverage, "not complete (status: why)").join(" ")
    }

    #[test]
    fn a_gap_shared_by_many_scopes_is_one_line_naming_the_first_few() {
        let doc = crate::report::model::test_docs::estate(200);
        let out = render(&doc);
        let problems = problems_of(&out);
        let line = "us-east-1: partial (s3 GetBucketPolicy: access denied (AccessDenied): needs \
                    s3:GetBucketPolicy) in 200 scopes: 100000000000, 100000000001, 100000000002 \
                    and 197 more";
        assert_eq!(problems.matches(line).count(), 1, "{problems}");
        // The other accounts of the group are not listed one by one.
        assert!(!problems.contains("100000000150"), "{problems}");
        assert_eq!(
            problems.matches("GetBucketPolicy (arn").count(),
            1,
            "{problems}"
        );
        // Distinct gaps keep their own lines, with their scope and whole detail.
        for distinct in [
            "100000000001 eu-west-1: partial (s3 GetBucketPolicy (arn:aws:s3:::logs-100000000001)",
            "100000000000 us-east-1: partial (kms GetKeyPolicy",
            "100000000001 us-east-1: failed (kms ListKeys (us-east-1): access denied",
        ] {
            assert!(problems.contains(distinct), "{distinct} in {problems}");
        }
        // The counts of the service column still count every entry.
        assert!(out.contains("│ s3      │ 0/201    │"), "{out}");
    }

    #[test]
    fn one_scope_has_no_estate_summary() {
        let out = render(&doc("m", "d"));
        assert!(!out.contains("summary below"), "{out}");
        assert!(
            !out.contains("SCOPES") && !out.contains("== SCOPE"),
            "{out}"
        );
        assert!(out.contains("HIGH (1)\n"), "{out}");
        assert!(out.contains("global: failed"), "{out}");
        assert!(!out.contains("p global: failed"), "{out}");
    }

    #[test]
    fn wrap_words_breaks_between_words_and_cuts_only_overlong_ones() {
        assert_eq!(
            wrap_words("the default service account", 15),
            "the default\nservice account"
        );
        assert_eq!(wrap_words("a  b\n\nc", 10), "a b\n\nc");
        assert_eq!(wrap_words("abcdefghij kl", 4), "abcd\nefgh\nij\nkl");
        assert_eq!(wrap_words("", 5), "");
        for line in wrap_words("één twee drie vier vijf", 9).lines() {
            assert!(line.chars().count() <= 9, "{line}");
        }
    }
}
