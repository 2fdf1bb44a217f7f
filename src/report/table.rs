//! The human report: findings grouped by severity, then coverage, then a summary.

use super::model::{Change, FindingEntry, FindingStatus, ReportDocument};
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

pub fn render(doc: &ReportDocument) -> String {
    let mut out = String::new();
    let scan = &doc.scan;
    let scopes: Vec<&str> = scan.scopes.iter().map(|s| s.id.as_str()).collect();
    let _ = writeln!(
        out,
        "cloudscan {} report: {} {} ({} mode), {} region(s), {} cluster(s){}",
        scan.provider.as_str(),
        if scopes.len() == 1 { "scope" } else { "scopes" },
        scopes.join(", "),
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

    for severity in Severity::ALL {
        let rows: Vec<FindingLine> = doc
            .open()
            .filter(|f| f.severity == severity)
            .map(|f| FindingLine {
                rule: match f.change {
                    Some(Change::New) => format!("{}\n(new)", f.rule_id),
                    _ => f.rule_id.clone(),
                },
                resource: short(&f.resource).to_string(),
                location: location(f),
                message: f.message.clone(),
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "{} ({})",
            severity.as_str().to_ascii_uppercase(),
            rows.len()
        );
        let _ = writeln!(out, "{}\n", finding_table(rows));
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
                location: location(f),
                message: w
                    .map(|w| {
                        format!(
                            "waived until {} by {}: {} ({})",
                            w.expires, w.owner, w.reason, w.location
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
            "{}: {} passed, {} failed, {} not assessed",
            fw.title, fw.passed, fw.failed, fw.not_assessed
        );
    }
    if !doc.frameworks.is_empty() {
        let _ = writeln!(out, "(`--format markdown` or `html` lists every control)\n");
    }

    // Coverage: one line per service, with every incomplete region spelled out.
    let mut by_service: BTreeMap<&str, (usize, usize, Vec<String>)> = BTreeMap::new();
    for c in &doc.coverage {
        let entry = by_service.entry(c.service.as_str()).or_default();
        entry.1 += 1;
        if c.status == CoverageStatus::Complete {
            entry.0 += 1;
        } else {
            entry.2.push(format!(
                "{}: {}{}",
                c.region,
                c.status.as_str(),
                c.detail
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ));
        }
    }
    let rows: Vec<CoverageLine> = by_service
        .into_iter()
        .map(|(service, (ok, total, problems))| CoverageLine {
            service: service.to_string(),
            complete: format!("{ok}/{total}"),
            problems: if problems.is_empty() {
                "-".to_string()
            } else {
                problems.join("\n")
            },
        })
        .collect();
    let _ = writeln!(out, "COVERAGE");
    let mut table = Table::new(rows);
    table
        .with(Style::rounded())
        .with(Modify::new(Columns::one(2)).with(Width::wrap(90)));
    let _ = writeln!(out, "{table}\n");

    let s = &doc.summary;
    let _ = writeln!(
        out,
        "{} open finding(s): {} critical, {} high, {} medium, {} low, {} info; {} waived. Scan {}.",
        s.findings - s.waived,
        s.critical,
        s.high,
        s.medium,
        s.low,
        s.info,
        s.waived,
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
        .with(Modify::new(Columns::one(1)).with(Width::wrap(40)))
        .with(Modify::new(Columns::one(3)).with(Width::wrap(70)));
    table
}
