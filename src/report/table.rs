//! The human report: findings grouped by severity, then coverage, then a summary.

use super::Report;
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

/// Shortens an ARN for display: `arn:aws:eks:us-east-1:123:cluster/prod` -> `cluster/prod`.
fn short(resource: &str) -> String {
    if resource.starts_with("arn:") {
        resource
            .splitn(6, ':')
            .nth(5)
            .unwrap_or(resource)
            .to_string()
    } else {
        resource.to_string()
    }
}

pub fn render(report: &Report<'_>) -> String {
    let mut out = String::new();
    let inv = report.inventory;
    let scopes: Vec<&str> = inv.scopes.iter().map(|s| s.id.as_str()).collect();
    let _ = writeln!(
        out,
        "cloudscan {} report: {} {} ({} mode), {} region(s), {} cluster(s)",
        inv.provider.as_str(),
        if scopes.len() == 1 { "scope" } else { "scopes" },
        scopes.join(", "),
        report.mode.as_str(),
        inv.regions.len(),
        inv.clusters.len(),
    );
    if let Some(caller) = &inv.caller {
        let _ = writeln!(out, "scanned as {caller}");
    }
    let _ = writeln!(out);

    for severity in Severity::ALL {
        let rows: Vec<FindingLine> = report
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .map(|f| FindingLine {
                rule: f.rule_id.clone(),
                resource: short(&f.resource),
                location: [
                    f.region.as_deref(),
                    f.cluster.as_deref(),
                    f.node_pool.as_deref(),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" / "),
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
        let mut table = Table::new(rows);
        table
            .with(Style::rounded())
            .with(Modify::new(Columns::one(1)).with(Width::wrap(40)))
            .with(Modify::new(Columns::one(3)).with(Width::wrap(70)));
        let _ = writeln!(out, "{table}\n");
    }
    if report.findings.is_empty() {
        let _ = writeln!(out, "No findings.\n");
    }

    // Coverage: one line per service, with every incomplete region spelled out.
    let mut by_service: BTreeMap<&str, (usize, usize, Vec<String>)> = BTreeMap::new();
    for c in &inv.coverage {
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

    let counts: Vec<String> = Severity::ALL
        .iter()
        .map(|s| format!("{} {}", report.count(*s), s.as_str()))
        .collect();
    let _ = writeln!(
        out,
        "{} finding(s): {}. Scan {}.",
        report.findings.len(),
        counts.join(", "),
        if report.complete() {
            "complete".to_string()
        } else {
            format!(
                "INCOMPLETE: {} service/region(s) could not be read fully; their absence of findings proves nothing",
                report.gaps().count()
            )
        }
    );
    out
}
