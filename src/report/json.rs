//! The JSON report. Its structs are frozen and versioned (`schema_version`), decoupled from the
//! internal types: a change here is a change of the public format.

use super::Report;
use crate::finding::Evidence;
use serde::Serialize;

pub const REPORT_SCHEMA: &str = "cloudscan.report/v1";

#[derive(Serialize)]
pub struct JsonReport<'a> {
    pub schema_version: &'static str,
    pub tool: Tool,
    pub scan: Scan<'a>,
    pub summary: Summary,
    pub coverage: Vec<CoverageRow<'a>>,
    pub findings: Vec<FindingRow<'a>>,
}

#[derive(Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Serialize)]
pub struct Scan<'a> {
    pub provider: &'static str,
    pub mode: &'static str,
    pub scopes: Vec<ScopeRow<'a>>,
    pub caller: Option<&'a str>,
    pub regions: &'a [String],
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u128,
    pub complete: bool,
}

#[derive(Serialize)]
pub struct ScopeRow<'a> {
    pub id: &'a str,
    pub name: Option<&'a str>,
    pub partition: Option<&'a str>,
}

#[derive(Serialize)]
pub struct Summary {
    pub findings: usize,
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub info: usize,
    pub coverage_complete: usize,
    pub coverage_incomplete: usize,
}

#[derive(Serialize)]
pub struct CoverageRow<'a> {
    pub scope: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub status: &'static str,
    pub detail: Option<&'a str>,
}

#[derive(Serialize)]
pub struct FindingRow<'a> {
    pub rule_id: &'a str,
    pub title: &'a str,
    pub severity: &'static str,
    pub resource: &'a str,
    pub scope: &'a str,
    pub region: Option<&'a str>,
    pub cluster: Option<&'a str>,
    pub node_pool: Option<&'a str>,
    pub message: &'a str,
    pub evidence: &'a [Evidence],
    pub remediation: &'a str,
    pub compliance: &'a [String],
    pub fingerprint: &'a str,
}

fn rfc3339(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

pub fn build<'a>(report: &'a Report<'a>) -> JsonReport<'a> {
    use crate::finding::Severity::*;
    let inv = report.inventory;
    let incomplete = report.gaps().count();
    JsonReport {
        schema_version: REPORT_SCHEMA,
        tool: Tool {
            name: "cloudscan",
            version: env!("CARGO_PKG_VERSION"),
        },
        scan: Scan {
            provider: inv.provider.as_str(),
            mode: report.mode.as_str(),
            scopes: inv
                .scopes
                .iter()
                .map(|s| ScopeRow {
                    id: &s.id,
                    name: s.name.as_deref(),
                    partition: s.partition.as_deref(),
                })
                .collect(),
            caller: inv.caller.as_deref(),
            regions: &inv.regions,
            started_at: rfc3339(report.started_at),
            finished_at: rfc3339(report.finished_at),
            duration_ms: report
                .finished_at
                .duration_since(report.started_at)
                .map(|d| d.as_millis())
                .unwrap_or(0),
            complete: report.complete(),
        },
        summary: Summary {
            findings: report.findings.len(),
            critical: report.count(Critical),
            high: report.count(High),
            medium: report.count(Medium),
            low: report.count(Low),
            info: report.count(Info),
            coverage_complete: inv.coverage.len() - incomplete,
            coverage_incomplete: incomplete,
        },
        coverage: inv
            .coverage
            .iter()
            .map(|c| CoverageRow {
                scope: &c.scope,
                service: &c.service,
                region: &c.region,
                status: c.status.as_str(),
                detail: c.detail.as_deref(),
            })
            .collect(),
        findings: report
            .findings
            .iter()
            .map(|f| FindingRow {
                rule_id: &f.rule_id,
                title: &f.title,
                severity: f.severity.as_str(),
                resource: &f.resource,
                scope: &f.scope,
                region: f.region.as_deref(),
                cluster: f.cluster.as_deref(),
                node_pool: f.node_pool.as_deref(),
                message: &f.message,
                evidence: &f.evidence,
                remediation: &f.remediation,
                compliance: &f.compliance,
                fingerprint: &f.fingerprint,
            })
            .collect(),
    }
}

pub fn render(report: &Report<'_>) -> String {
    let json = build(report);
    serde_json::to_string_pretty(&json).unwrap_or_default() + "\n"
}
