//! SARIF 2.1.0 output, for code-scanning dashboards (GitHub code scanning, Azure DevOps, ...).
//!
//! One log, one run. The run's `tool.driver.rules` holds one reporting descriptor per rule of
//! [`crate::rules::registry`], in catalog order, so a result's `ruleIndex` is stable across scans
//! and versions that keep the catalog order. Every finding (open or waived) is one result.
//!
//! **Locations.** A finding is about a cloud resource, not about a file. The resource is a
//! `logicalLocation` (`kind: "resource"`, `fullyQualifiedName` = the ARN / full resource name /
//! Azure id), which is what SARIF has for "a thing that is not a file". Several consumers (GitHub
//! code scanning among them) reject a result without a `physicalLocation`, so each result also
//! carries one whose `artifactLocation` is a *virtual* path relative to the uri base id
//! `CLOUDSCAN_CLOUD`: `<provider>/<scope>/<region>/<cluster>`, each segment percent-encoded
//! (`_global` when the finding has no region, `_scope` when it concerns no cluster). No such file
//! exists and `originalUriBaseIds` says so (a description, no uri); the path only groups results
//! by where they live, so a dashboard that lists "files" lists account/region/cluster. There is no
//! `region` (line numbers would be invented). Identity across scans is `partialFingerprints`
//! (`cloudscan/v1` = the finding's fingerprint), not the path.
//!
//! **Waivers** become `suppressions` (`kind: "external"`: the waiver lives in `cloudscan.toml`,
//! not in the scanned resource; `status: "accepted"`), with the reason as justification.
//!
//! **History.** With a previous scan (`change` set on findings), results carry `baselineState`
//! `new` or `unchanged`, and every finding fixed since then (`diff.fixed`) is one more result with
//! `baselineState: "absent"`. Those are not problems any more: they are `kind: "pass"` with
//! `level: "none"` (SARIF's way to say "evaluated, no problem found"), their former severity in
//! `properties.severity`, so a dashboard does not count them as open alerts. Findings that could
//! not be re-assessed (`diff.unverified`) are not results: nothing was observed about them.
//!
//! **Incomplete scans.** `invocations[0].executionSuccessful` is true when cloudscan produced this
//! report, even if some reads failed: the tool ran and reported what it could. Whatever it could
//! not read completely is a `toolExecutionNotifications` entry (`error` for a failed read,
//! `warning` for a partial or unsupported one), and `run.properties.complete` is false, so an
//! incomplete scan is visible to anyone reading the log; its missing findings prove nothing.
//! Expired and stale waivers are `toolConfigurationNotifications` (warnings).
//!
//! Everything is built as `serde_json::Value` and serialized by serde: cloud-provided strings are
//! data, never spliced into JSON text.

use super::model::{
    Change, CoverageEntry, FindingEntry, FindingStatus, GoneFinding, ReportDocument,
};
use crate::finding::Severity;
use crate::rules::{registry, RuleMeta};
use cloudscan_inventory::CoverageStatus;
use serde_json::{json, Map, Value};

/// The `$schema` of the log: the OASIS SARIF 2.1.0 schema (errata 01).
pub const SARIF_SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
/// The key of the fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "cloudscan/v1";
/// The uri base id of the virtual physical locations.
pub const URI_BASE_ID: &str = "CLOUDSCAN_CLOUD";

/// The SARIF level of a cloudscan severity.
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// The `security-severity` (a CVSS-like score as a string) that GitHub code scanning reads to
/// label alerts critical/high/medium/low.
pub fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

/// `api-endpoint-public` -> `ApiEndpointPublic`.
pub fn pascal_case(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so a cloud id (with `:`, `/`,
/// spaces, anything) is one valid path segment.
fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() || out == "." || out == ".." {
        // Empty, `.` and `..` segments would change the path's meaning.
        out = out.replace('.', "%2E");
        if out.is_empty() {
            out.push('_');
        }
    }
    out
}

/// The virtual artifact path of a finding: `<provider>/<scope>/<region>/<cluster>`.
pub fn artifact_uri(
    provider: &str,
    scope: &str,
    region: Option<&str>,
    cluster: Option<&str>,
) -> String {
    [
        segment(provider),
        segment(scope),
        region
            .filter(|r| !r.is_empty())
            .map(segment)
            .unwrap_or_else(|| "_global".to_string()),
        cluster
            .filter(|c| !c.is_empty())
            .map(segment)
            .unwrap_or_else(|| "_scope".to_string()),
    ]
    .join("/")
}

fn rule_descriptor(meta: &RuleMeta) -> Value {
    let severity = meta.severity;
    let mut markdown = format!(
        "{}\n\n**Remediation:** {}",
        meta.description, meta.remediation
    );
    let mut text = format!("{}\n\nRemediation: {}", meta.description, meta.remediation);
    if !meta.references.is_empty() {
        markdown.push_str("\n\n**References:**\n");
        text.push_str("\n\nReferences:\n");
        for r in meta.references {
            markdown.push_str(&format!("\n- [{r}]({r})"));
            text.push_str(&format!("- {r}\n"));
        }
    }
    // `tags` must be unique: the 4C layer (cloud, cluster, ...) and that layer's 4C tag.
    let mut tags = vec!["security".to_string()];
    for tag in [meta.layer.to_string(), format!("4c-{}", meta.layer)] {
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    let mut d = json!({
        "id": meta.id,
        "name": pascal_case(meta.id),
        "shortDescription": { "text": meta.title },
        "fullDescription": { "text": meta.description },
        "help": { "text": text.trim_end(), "markdown": markdown },
        "defaultConfiguration": { "level": level(severity) },
        "properties": {
            "tags": tags,
            "precision": "high",
            "security-severity": security_severity(severity),
            "severity": severity,
        },
    });
    if let (Some(first), Some(obj)) = (meta.references.first(), d.as_object_mut()) {
        obj.insert("helpUri".to_string(), json!(first));
    }
    d
}

fn location(provider: &str, resource: &str, uri: String) -> Value {
    json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri, "uriBaseId": URI_BASE_ID },
        },
        "logicalLocations": [{
            "name": super::resource::name(resource),
            "fullyQualifiedName": resource,
            "kind": "resource",
            "properties": { "provider": provider },
        }],
    })
}

/// Inserts `ruleIndex` when the rule is in the catalog (a stored scan may name a rule this
/// version no longer has: then only `ruleId`).
fn set_rule(result: &mut Map<String, Value>, rule_id: &str, rule_ids: &[&str]) {
    result.insert("ruleId".to_string(), json!(rule_id));
    if let Some(index) = rule_ids.iter().position(|id| *id == rule_id) {
        result.insert("ruleIndex".to_string(), json!(index));
    }
}

fn finding_result(doc: &ReportDocument, f: &FindingEntry, rule_ids: &[&str]) -> Value {
    let mut r = Map::new();
    set_rule(&mut r, &f.rule_id, rule_ids);
    r.insert("kind".to_string(), json!("fail"));
    r.insert("level".to_string(), json!(level(f.severity)));
    r.insert("message".to_string(), json!({ "text": f.message }));
    let uri = artifact_uri(
        doc.scan.provider.as_str(),
        &f.scope,
        f.region.as_deref(),
        f.cluster.as_deref(),
    );
    r.insert(
        "locations".to_string(),
        json!([location(doc.scan.provider.as_str(), &f.resource, uri)]),
    );
    r.insert(
        "partialFingerprints".to_string(),
        json!({ FINGERPRINT_KEY: f.fingerprint }),
    );
    if let Some(change) = f.change {
        let state = match change {
            Change::New => "new",
            Change::Open => "unchanged",
        };
        r.insert("baselineState".to_string(), json!(state));
    }
    if f.status == FindingStatus::Waived {
        let suppression = match &f.waiver {
            Some(w) => json!({
                "kind": "external",
                "status": "accepted",
                "justification": w.reason,
                "properties": {
                    "owner": w.owner,
                    "expires": w.expires,
                    "location": w.location,
                    "rule": w.rule,
                    "resource": w.resource,
                },
            }),
            None => json!({ "kind": "external", "status": "accepted" }),
        };
        r.insert("suppressions".to_string(), json!([suppression]));
    }
    r.insert(
        "properties".to_string(),
        json!({
            "title": f.title,
            "severity": f.severity,
            "security-severity": security_severity(f.severity),
            "status": f.status,
            "resource": f.resource,
            "scope": f.scope,
            "region": f.region,
            "cluster": f.cluster,
            "nodePool": f.node_pool,
            "evidence": f.evidence,
            "remediation": f.remediation,
            "compliance": f.compliance,
        }),
    );
    Value::Object(r)
}

fn fixed_result(doc: &ReportDocument, g: &GoneFinding, rule_ids: &[&str]) -> Value {
    // The fixed finding's region is not kept; its cluster's region is known when the cluster is
    // still in this scan.
    let region = g.cluster.as_deref().and_then(|name| {
        doc.scan
            .clusters
            .iter()
            .find(|c| c.name == name && c.scope == g.scope)
            .map(|c| c.region.as_str())
    });
    let mut r = Map::new();
    set_rule(&mut r, &g.rule_id, rule_ids);
    r.insert("kind".to_string(), json!("pass"));
    r.insert("level".to_string(), json!("none"));
    r.insert(
        "message".to_string(),
        json!({ "text": format!("Fixed since the previous scan: {} ({})", g.title, g.resource) }),
    );
    let uri = artifact_uri(
        doc.scan.provider.as_str(),
        &g.scope,
        region,
        g.cluster.as_deref(),
    );
    r.insert(
        "locations".to_string(),
        json!([location(doc.scan.provider.as_str(), &g.resource, uri)]),
    );
    r.insert(
        "partialFingerprints".to_string(),
        json!({ FINGERPRINT_KEY: g.fingerprint }),
    );
    r.insert("baselineState".to_string(), json!("absent"));
    r.insert(
        "properties".to_string(),
        json!({
            "title": g.title,
            "severity": g.severity,
            "resource": g.resource,
            "scope": g.scope,
            "cluster": g.cluster,
            "status": "fixed",
        }),
    );
    Value::Object(r)
}

fn coverage_notification(c: &CoverageEntry) -> Value {
    let level = if c.status == CoverageStatus::Failed {
        "error"
    } else {
        "warning"
    };
    let mut text = format!(
        "{} in {} ({}) was not read completely: {}",
        c.service,
        c.region,
        c.scope,
        c.status.as_str()
    );
    if let Some(detail) = &c.detail {
        text.push_str(&format!(" ({detail})"));
    }
    text.push_str(". The absence of findings there proves nothing.");
    json!({
        "descriptor": { "id": format!("coverage/{}", c.status.as_str()) },
        "level": level,
        "message": { "text": text },
        "properties": {
            "scope": c.scope,
            "service": c.service,
            "region": c.region,
            "status": c.status,
            "detail": c.detail,
        },
    })
}

pub fn render(doc: &ReportDocument) -> String {
    let catalog = registry();
    let rule_ids: Vec<&str> = catalog.iter().map(|r| r.meta().id).collect();
    let rules: Vec<Value> = catalog.iter().map(|r| rule_descriptor(r.meta())).collect();

    let mut results: Vec<Value> = doc
        .findings
        .iter()
        .map(|f| finding_result(doc, f, &rule_ids))
        .collect();
    if let Some(diff) = &doc.diff {
        results.extend(diff.fixed.iter().map(|g| fixed_result(doc, g, &rule_ids)));
    }

    let execution: Vec<Value> = doc
        .coverage
        .iter()
        .filter(|c| c.status != CoverageStatus::Complete)
        .map(coverage_notification)
        .collect();
    let configuration: Vec<Value> = doc
        .waivers
        .expired
        .iter()
        .map(|n| ("waiver/expired", n))
        .chain(doc.waivers.stale.iter().map(|n| ("waiver/stale", n)))
        .map(|(id, n)| {
            json!({
                "descriptor": { "id": id },
                "level": "warning",
                "message": { "text": n.message },
                "properties": { "waiver": n.waiver, "matches": n.matches },
            })
        })
        .collect();

    let scan = &doc.scan;
    let mut invocation = json!({
        "executionSuccessful": true,
        "startTimeUtc": scan.started_at,
        "endTimeUtc": scan.finished_at,
        "properties": {
            "complete": scan.complete,
            "mode": scan.mode,
            "coverageComplete": doc.summary.coverage_complete,
            "coverageIncomplete": doc.summary.coverage_incomplete,
        },
    });
    if let Some(obj) = invocation.as_object_mut() {
        if !execution.is_empty() {
            obj.insert("toolExecutionNotifications".to_string(), json!(execution));
        }
        if !configuration.is_empty() {
            obj.insert(
                "toolConfigurationNotifications".to_string(),
                json!(configuration),
            );
        }
    }

    let scopes: Vec<&str> = scan.scopes.iter().map(|s| s.id.as_str()).collect();
    let mut run = json!({
        "tool": {
            "driver": {
                "name": doc.tool.name,
                "fullName": format!("{} {}", doc.tool.name, doc.tool.version),
                "version": doc.tool.version,
                "semanticVersion": doc.tool.version,
                "rules": rules,
            },
        },
        "automationDetails": {
            "description": {
                "text": format!("cloudscan {} scan of {}", scan.provider.as_str(), scopes.join(", ")),
            },
            // `category/run`: GitHub keeps one alert set per category (per provider here).
            "id": format!("cloudscan/{}/{}", scan.provider.as_str(), scan.started_at),
        },
        "originalUriBaseIds": {
            URI_BASE_ID: {
                "description": {
                    "text": "Not a file system: cloud resources, as <provider>/<scope>/<region>/<cluster>. \
    The resource itself is each result's logical location.",
                },
            },
        },
        "invocations": [invocation],
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {
            "reportSchema": doc.schema_version,
            "scanId": scan.id,
            "provider": scan.provider,
            "mode": scan.mode,
            "scopes": scopes,
            "regions": scan.regions,
            "clusters": scan.clusters,
            "complete": scan.complete,
            "summary": doc.summary,
            // Per scope: open findings by severity, waived, coverage (the JSON report's `scopes`).
            "scopeSummary": doc.scopes,
        },
    });
    if let (Some(diff), Some(obj)) = (&doc.diff, run.as_object_mut()) {
        // SARIF's `baselineGuid` wants the GUID of a SARIF run; the baselines are stored scans,
        // so they go in the run's properties instead.
        if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert("baselines".to_string(), json!(diff.baselines));
            props.insert("unverified".to_string(), json!(diff.unverified));
        }
    }

    let log = json!({
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [run],
    });
    serde_json::to_string_pretty(&log).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_scores() {
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::High), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Low), "note");
        assert_eq!(level(Severity::Info), "note");
        assert_eq!(security_severity(Severity::Critical), "9.5");
        assert_eq!(security_severity(Severity::Info), "1.0");
    }

    #[test]
    fn pascal() {
        assert_eq!(pascal_case("api-endpoint-public"), "ApiEndpointPublic");
        assert_eq!(pascal_case("identity-admin-access"), "IdentityAdminAccess");
    }

    #[test]
    fn uri_segments_are_encoded() {
        assert_eq!(
            artifact_uri("aws", "123456789012", Some("us-east-1"), Some("prod")),
            "aws/123456789012/us-east-1/prod"
        );
        assert_eq!(
            artifact_uri("gcp", "my proj/x", None, Some("a:b#c?")),
            "gcp/my%20proj%2Fx/_global/a%3Ab%23c%3F"
        );
        assert_eq!(
            artifact_uri("azure", "..", Some(""), None),
            "azure/%2E%2E/_global/_scope"
        );
    }
}
