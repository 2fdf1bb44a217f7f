//! Compliance frameworks (CIS EKS 1.8, CIS GKE 1.9, CIS AKS 1.8, 4C Cloud layer): which rules
//! assess which control, and each control's status in a scan.
//!
//! The mappings live in `policies/frameworks/*.json` (schema in its README) and are compiled in.
//! They are the only source of the compliance ids a finding carries
//! ([`compliance_ids`]): a rule does not name its controls itself.

use crate::clouds::Provider;
use crate::report::model::{
    ControlDoc, ControlStatus, FindingStatus, FrameworkDoc, ReportDocument,
};
use cloudscan_inventory::CoverageStatus;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// The framework files, in catalog order.
const SOURCES: &[(&str, &str)] = &[
    (
        "cis-eks-1.8.json",
        include_str!("../policies/frameworks/cis-eks-1.8.json"),
    ),
    (
        "cis-gke-1.9.json",
        include_str!("../policies/frameworks/cis-gke-1.9.json"),
    ),
    (
        "cis-aks-1.8.json",
        include_str!("../policies/frameworks/cis-aks-1.8.json"),
    ),
    (
        "4c-cloud.json",
        include_str!("../policies/frameworks/4c-cloud.json"),
    ),
];

/// How many incomplete coverage entries a not-assessed reason names before "+N more".
const GAPS_NAMED: usize = 3;

/// A framework as mapped in `policies/frameworks/`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    /// e.g. `cis-eks-1.8`, `4c-cloud`.
    pub id: String,
    pub title: String,
    pub version: String,
    /// The cloud the framework is written for (`aws`, `gcp`, `azure` in the file, any name of
    /// [`crate::clouds::ALL`]); `None` when it applies to every cloud.
    pub provider: Option<Provider>,
    /// Which benchmark document, and where the item list comes from.
    pub source: String,
    /// How a finding names a control: `{id}` and `{title}` are replaced by the control's.
    pub compliance_id: String,
    pub controls: Vec<Control>,
}

/// One control (benchmark item) of a framework.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// e.g. `5.4.1`, `network-perimeter`.
    pub id: String,
    pub title: String,
    /// The rules whose findings fail the control; empty when no rule assesses it.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Why cloudscan cannot assess the control (only when `rules` is empty).
    #[serde(default)]
    pub not_assessed: Option<String>,
    /// What the rules do not cover, or where they are stricter than the control.
    #[serde(default)]
    pub note: Option<String>,
}

impl Framework {
    /// Whether the framework applies to scans of this provider.
    pub fn applies_to(&self, provider: Provider) -> bool {
        self.provider.is_none_or(|p| p == provider)
    }

    /// The provider's name, or `all` for a framework of every cloud.
    pub fn provider_name(&self) -> &'static str {
        self.provider.map(Provider::as_str).unwrap_or("all")
    }

    /// The compliance id a finding carries for one of this framework's controls.
    pub fn compliance_id(&self, control: &Control) -> String {
        self.compliance_id
            .replace("{id}", &control.id)
            .replace("{title}", &control.title)
    }

    /// Whether any control of the framework is assessed by this rule.
    pub fn maps_rule(&self, rule_id: &str) -> bool {
        self.controls
            .iter()
            .any(|c| c.rules.iter().any(|r| r == rule_id))
    }
}

fn parse(name: &str, text: &str) -> Result<Framework, String> {
    serde_json::from_str(text).map_err(|e| format!("policies/frameworks/{name}: {e}"))
}

/// Every framework, in catalog order.
pub fn all() -> &'static [Framework] {
    static ALL: OnceLock<Vec<Framework>> = OnceLock::new();
    ALL.get_or_init(|| {
        SOURCES
            .iter()
            // Compiled-in data, not user input: a unit test proves every file parses.
            .map(|(name, text)| parse(name, text).unwrap_or_else(|e| panic!("{e}")))
            .collect()
    })
}

/// The framework with this id, or an error naming the known ids.
pub fn find(id: &str) -> Result<&'static Framework, String> {
    all().iter().find(|f| f.id == id).ok_or_else(|| {
        let known: Vec<&str> = all().iter().map(|f| f.id.as_str()).collect();
        format!(
            "no framework `{id}`; known frameworks: {}",
            known.join(", ")
        )
    })
}

/// The controls a rule assesses, in every framework, in catalog and control order.
pub fn controls_of(rule_id: &str) -> Vec<(&'static Framework, &'static Control)> {
    all()
        .iter()
        .flat_map(|f| {
            f.controls
                .iter()
                .filter(|c| c.rules.iter().any(|r| r == rule_id))
                .map(move |c| (f, c))
        })
        .collect()
}

/// The compliance ids of a rule's controls, e.g. `CIS EKS 1.8 5.4.1` and
/// `4C Cloud: network perimeter`: those of the frameworks that apply to `provider`, or of every
/// framework when `provider` is `None`. In catalog and control order.
pub fn compliance_ids(rule_id: &str, provider: Option<&str>) -> Vec<String> {
    controls_of(rule_id)
        .into_iter()
        .filter(|(f, _)| provider.is_none_or(|p| f.provider.is_none_or(|fp| fp.as_str() == p)))
        .map(|(f, c)| f.compliance_id(c))
        .collect()
}

/// Narrows a report to one framework: only the findings of rules that map to its controls, and
/// only its control view. Summary counts are recomputed.
pub fn restrict(doc: &mut ReportDocument, framework: &Framework) {
    let view = match doc.frameworks.iter().find(|f| f.id == framework.id) {
        Some(view) => view.clone(),
        None => assess_one(doc, framework),
    };
    let applies = framework.applies_to(doc.scan.provider);
    doc.findings
        .retain(|f| applies && framework.maps_rule(&f.rule_id));
    doc.frameworks = vec![view];
    doc.recount();
}

/// The status of every control of the frameworks that apply to the scan's provider (or only
/// `only`), from the document's open findings and coverage.
pub fn assess(doc: &ReportDocument, only: Option<&Framework>) -> Vec<FrameworkDoc> {
    match only {
        Some(fw) => vec![assess_one(doc, fw)],
        None => all()
            .iter()
            .filter(|f| f.applies_to(doc.scan.provider))
            .map(|f| assess_one(doc, f))
            .collect(),
    }
}

fn assess_one(doc: &ReportDocument, fw: &Framework) -> FrameworkDoc {
    let mismatch = (!fw.applies_to(doc.scan.provider)).then(|| {
        format!(
            "the framework applies to {} scans, not to this {} scan",
            fw.provider_name(),
            doc.scan.provider.as_str()
        )
    });
    let incomplete = (!doc.scan.complete).then(|| incomplete_reason(doc));
    let controls: Vec<ControlDoc> = fw
        .controls
        .iter()
        .map(|c| assess_control(doc, c, mismatch.as_deref(), incomplete.as_deref()))
        .collect();
    let count = |s: ControlStatus| controls.iter().filter(|c| c.status == s).count();
    FrameworkDoc {
        id: fw.id.clone(),
        title: fw.title.clone(),
        passed: count(ControlStatus::Passed),
        failed: count(ControlStatus::Failed),
        waived: count(ControlStatus::Waived),
        not_assessed: count(ControlStatus::NotAssessed),
        controls,
    }
}

fn assess_control(
    doc: &ReportDocument,
    control: &Control,
    mismatch: Option<&str>,
    incomplete: Option<&str>,
) -> ControlDoc {
    let mapped = |rule: &str| control.rules.iter().any(|r| r == rule);
    let mut open: BTreeMap<&str, usize> = BTreeMap::new();
    let mut fingerprints = Vec::new();
    let mut waived = 0;
    for f in doc.findings.iter().filter(|f| mapped(&f.rule_id)) {
        match f.status {
            FindingStatus::Open => {
                *open.entry(f.rule_id.as_str()).or_default() += 1;
                fingerprints.push(f.fingerprint.clone());
            }
            FindingStatus::Waived => waived += 1,
        }
    }
    let waived_note = match waived {
        0 => String::new(),
        n => format!(" ({n} waived)"),
    };
    let (status, mut reason) = if let Some(why) = mismatch {
        fingerprints.clear();
        (ControlStatus::NotAssessed, why.to_string())
    } else if control.rules.is_empty() {
        (
            ControlStatus::NotAssessed,
            control
                .not_assessed
                .clone()
                .unwrap_or_else(|| "no rule assesses this control".to_string()),
        )
    } else if !open.is_empty() {
        // In the control's rule order, so the reason reads the same in every report.
        let per_rule: Vec<String> = control
            .rules
            .iter()
            .filter_map(|r| open.get(r.as_str()).map(|n| format!("{r} ×{n}")))
            .collect();
        (
            ControlStatus::Failed,
            format!(
                "{} open finding(s): {}{waived_note}",
                fingerprints.len(),
                per_rule.join(", ")
            ),
        )
    } else if waived > 0 {
        // A waiver accepts a risk; it does not make the control pass.
        (
            ControlStatus::Waived,
            format!(
                "{waived} finding(s) waived (accepted risk), none open, from {}",
                control.rules.join(", ")
            ),
        )
    } else if let Some(gaps) = incomplete {
        (
            ControlStatus::NotAssessed,
            format!("scan incomplete: {gaps}"),
        )
    } else {
        (
            ControlStatus::Passed,
            format!(
                "no open findings{waived_note} from {}",
                control.rules.join(", ")
            ),
        )
    };
    if mismatch.is_none() {
        if let Some(note) = &control.note {
            reason.push_str(&format!("; note: {note}"));
        }
    }
    ControlDoc {
        id: control.id.clone(),
        title: control.title.clone(),
        status,
        reason,
        rules: control.rules.clone(),
        findings: fingerprints,
    }
}

/// The incomplete coverage entries, e.g. `eks/us-east-1 failed: access denied ...`, at most a
/// few and then `+N more`.
fn incomplete_reason(doc: &ReportDocument) -> String {
    let gaps: Vec<String> = doc
        .coverage
        .iter()
        .filter(|c| c.status != CoverageStatus::Complete)
        .map(|c| {
            let mut s = format!("{}/{} {}", c.service, c.region, c.status.as_str());
            if let Some(d) = c.detail.as_deref().filter(|d| !d.is_empty()) {
                s.push_str(": ");
                s.push_str(&shorten(d, 120));
            }
            s
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if gaps.is_empty() {
        return "some collectors did not read everything they tried".to_string();
    }
    let mut text = gaps
        .iter()
        .take(GAPS_NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if gaps.len() > GAPS_NAMED {
        text.push_str(&format!(" (+{} more)", gaps.len() - GAPS_NAMED));
    }
    text
}

fn shorten(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{
        CoverageEntry, FindingEntry, ScanMeta, Summary, Tool, WaiverNotes, REPORT_SCHEMA,
    };

    fn rule_ids() -> BTreeSet<&'static str> {
        crate::rules::registry()
            .iter()
            .map(|r| r.meta().id)
            .collect()
    }

    #[test]
    fn every_file_parses_in_catalog_order() {
        let ids: Vec<&str> = all().iter().map(|f| f.id.as_str()).collect();
        assert_eq!(
            ids,
            ["cis-eks-1.8", "cis-gke-1.9", "cis-aks-1.8", "4c-cloud"]
        );
        for (name, text) in SOURCES {
            let fw = parse(name, text).unwrap();
            assert_eq!(format!("{}.json", fw.id), *name);
        }
    }

    #[test]
    fn a_framework_for_an_unknown_cloud_does_not_parse() {
        let text = r#"{"id": "x", "title": "X", "version": "1", "provider": "oracle",
            "source": "s", "compliance_id": "{id}", "controls": []}"#;
        let err = parse("x.json", text).unwrap_err();
        assert!(err.contains("oracle"), "{err}");
        let text = text.replace("oracle", "gcp");
        assert_eq!(
            parse("x.json", &text).map(|f| f.provider),
            Ok(Some(Provider::Gcp))
        );
    }

    #[test]
    fn mappings_are_consistent() {
        let known = rule_ids();
        for fw in all() {
            // A provider outside `clouds::ALL` would not have parsed (see `every_file_parses`).
            assert!(fw.provider.is_none_or(|p| crate::clouds::ALL.contains(&p)));
            assert!(!fw.source.is_empty() && !fw.version.is_empty());
            let mut seen = BTreeSet::new();
            for c in &fw.controls {
                assert!(seen.insert(&c.id), "{}: control {} twice", fw.id, c.id);
                assert!(!c.title.is_empty());
                for r in &c.rules {
                    assert!(
                        known.contains(r.as_str()),
                        "{} {}: no rule `{r}`",
                        fw.id,
                        c.id
                    );
                }
                // Exactly one of: rules that assess it, or the reason nobody can.
                assert_eq!(
                    c.rules.is_empty(),
                    c.not_assessed.as_deref().is_some_and(|w| !w.is_empty()),
                    "{} {}: needs either rules or a not_assessed reason",
                    fw.id,
                    c.id
                );
                if let Some(note) = &c.note {
                    assert!(!c.rules.is_empty() && !note.is_empty());
                }
            }
        }
    }

    #[test]
    fn cis_controls_are_the_benchmark_items() {
        let ids = |id: &str| -> Vec<String> {
            find(id)
                .unwrap()
                .controls
                .iter()
                .map(|c| c.id.clone())
                .collect()
        };
        let eks = [
            "2.1.1", "2.1.2", "5.1.1", "5.1.2", "5.1.3", "5.1.4", "5.2.1", "5.3.1", "5.4.1",
            "5.4.2", "5.4.3", "5.4.4", "5.4.5", "5.5.1",
        ];
        assert_eq!(ids("cis-eks-1.8"), eks);
        let aks = [
            "2.1.1", "5.1.1", "5.1.2", "5.1.3", "5.1.4", "5.2.1", "5.3.1", "5.4.1", "5.4.2",
            "5.4.3", "5.4.4", "5.4.5", "5.5.1", "5.5.2",
        ];
        assert_eq!(ids("cis-aks-1.8"), aks);
        let gke = ids("cis-gke-1.9");
        assert_eq!(gke.len(), 33);
        for id in [
            "5.2.1", "5.4.1", "5.5.7", "5.6.7", "5.8.3", "5.9.2", "5.10.4",
        ] {
            assert!(gke.iter().any(|c| c == id), "GKE {id}");
        }
    }

    #[test]
    fn every_rule_maps_to_a_4c_control() {
        let fw = find("4c-cloud").unwrap();
        assert_eq!(fw.provider, None);
        assert_eq!(fw.controls.len(), 5);
        for rule in rule_ids() {
            assert!(fw.maps_rule(rule), "`{rule}` maps to no 4C Cloud control");
        }
    }

    #[test]
    fn find_names_the_known_ids() {
        assert_eq!(find("cis-gke-1.9").unwrap().provider, Some(Provider::Gcp));
        let e = find("nope").unwrap_err();
        assert!(e.contains("`nope`"));
        for id in ["cis-eks-1.8", "cis-gke-1.9", "cis-aks-1.8", "4c-cloud"] {
            assert!(e.contains(id), "{e}");
        }
    }

    #[test]
    fn compliance_ids_follow_the_provider() {
        let aws = compliance_ids("api-endpoint-public", Some("aws"));
        assert_eq!(
            aws,
            [
                "CIS EKS 1.8 5.4.1",
                "CIS EKS 1.8 5.4.2",
                "4C Cloud: network perimeter"
            ]
        );
        let gcp = compliance_ids("api-endpoint-public", Some("gcp"));
        assert!(gcp.contains(&"CIS GKE 1.9 5.6.3".to_string()));
        assert!(!gcp.iter().any(|c| c.starts_with("CIS EKS")));
        let every = compliance_ids("api-endpoint-public", None);
        assert!(every.iter().any(|c| c.starts_with("CIS AKS 1.8")));
        assert_eq!(
            compliance_ids("identity-wildcard-grant", Some("azure")),
            ["4C Cloud: IAM least privilege"]
        );
    }

    fn finding(rule: &str, fingerprint: &str, status: FindingStatus) -> FindingEntry {
        FindingEntry {
            rule_id: rule.to_string(),
            title: String::new(),
            severity: crate::finding::Severity::High,
            resource: format!("res-{fingerprint}"),
            scope: "1".to_string(),
            region: None,
            cluster: None,
            node_pool: None,
            message: String::new(),
            evidence: Vec::new(),
            remediation: String::new(),
            compliance: Vec::new(),
            fingerprint: fingerprint.to_string(),
            status,
            waiver: None,
            change: None,
        }
    }

    fn doc(provider: &str, findings: Vec<FindingEntry>, gaps: usize) -> ReportDocument {
        let coverage = (0..gaps)
            .map(|i| CoverageEntry {
                scope: "1".to_string(),
                service: "eks".to_string(),
                region: format!("region-{i}"),
                status: CoverageStatus::Failed,
                detail: Some("access denied: AccessDeniedException".to_string()),
            })
            .collect();
        let mut doc = ReportDocument {
            schema_version: REPORT_SCHEMA.to_string(),
            tool: Tool {
                name: "cloudscan".to_string(),
                version: "0".to_string(),
            },
            scan: ScanMeta {
                id: None,
                provider: crate::clouds::parse(provider).unwrap(),
                mode: crate::report::Mode::Inventory,
                scopes: Vec::new(),
                caller: None,
                regions: Vec::new(),
                clusters: Vec::new(),
                started_at: String::new(),
                finished_at: String::new(),
                duration_ms: 0,
                complete: gaps == 0,
            },
            summary: Summary::default(),
            coverage,
            findings,
            waivers: WaiverNotes::default(),
            diff: None,
            frameworks: Vec::new(),
            trend: Vec::new(),
            scopes: Vec::new(),
        };
        doc.recount();
        doc
    }

    fn control<'a>(fws: &'a [FrameworkDoc], fw: &str, id: &str) -> &'a ControlDoc {
        fws.iter()
            .find(|f| f.id == fw)
            .and_then(|f| f.controls.iter().find(|c| c.id == id))
            .unwrap()
    }

    #[test]
    fn open_findings_fail_and_waived_only_controls_are_waived_not_passed() {
        let d = doc(
            "aws",
            vec![
                finding("api-endpoint-public", "a", FindingStatus::Open),
                finding("api-endpoint-public", "b", FindingStatus::Open),
                finding("secrets-encryption-disabled", "c", FindingStatus::Waived),
            ],
            0,
        );
        let fws = assess(&d, None);
        let ids: Vec<&str> = fws.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["cis-eks-1.8", "4c-cloud"]);

        let c = control(&fws, "cis-eks-1.8", "5.4.1");
        assert_eq!(c.status, ControlStatus::Failed);
        assert!(c
            .reason
            .starts_with("2 open finding(s): api-endpoint-public ×2"));
        assert!(c.reason.contains("note: stricter"));
        assert_eq!(c.findings, ["a", "b"]);

        let c = control(&fws, "cis-eks-1.8", "5.3.1");
        assert_eq!(c.status, ControlStatus::Waived);
        assert!(
            c.reason
                .starts_with("1 finding(s) waived (accepted risk), none open"),
            "{}",
            c.reason
        );
        assert!(c.findings.is_empty());

        let c = control(&fws, "cis-eks-1.8", "5.1.1");
        assert_eq!(c.status, ControlStatus::NotAssessed);
        assert!(c.reason.contains("ECR"));

        let eks = &fws[0];
        assert_eq!(
            eks.passed + eks.failed + eks.waived + eks.not_assessed,
            eks.controls.len()
        );
        assert_eq!(eks.failed, 2); // 5.4.1 and 5.4.2
        assert_eq!(eks.waived, 1); // 5.3.1
    }

    #[test]
    fn an_incomplete_scan_is_not_assessed_unless_a_finding_fails_it() {
        let d = doc(
            "aws",
            vec![finding("api-endpoint-public", "a", FindingStatus::Open)],
            5,
        );
        let fws = assess(&d, None);
        assert_eq!(
            control(&fws, "cis-eks-1.8", "5.4.1").status,
            ControlStatus::Failed
        );
        let c = control(&fws, "cis-eks-1.8", "5.3.1");
        assert_eq!(c.status, ControlStatus::NotAssessed);
        assert!(
            c.reason
                .starts_with("scan incomplete: eks/region-0 failed: access denied"),
            "{}",
            c.reason
        );
        assert!(c.reason.contains("(+2 more)"), "{}", c.reason);
    }

    #[test]
    fn restrict_keeps_one_framework_and_its_findings() {
        let mut d = doc(
            "gcp",
            vec![
                finding("node-default-service-account", "a", FindingStatus::Open),
                finding("identity-wildcard-grant", "b", FindingStatus::Open),
                finding("api-endpoint-public", "c", FindingStatus::Waived),
            ],
            0,
        );
        d.frameworks = assess(&d, None);
        assert_eq!(d.frameworks.len(), 2);
        restrict(&mut d, find("cis-gke-1.9").unwrap());
        assert_eq!(d.frameworks.len(), 1);
        assert_eq!(d.frameworks[0].id, "cis-gke-1.9");
        let rules: Vec<&str> = d.findings.iter().map(|f| f.rule_id.as_str()).collect();
        assert_eq!(
            rules,
            ["node-default-service-account", "api-endpoint-public"]
        );
        assert_eq!(d.summary.findings, 2);
        assert_eq!(d.summary.high, 1);
        assert_eq!(d.summary.waived, 1);
    }

    #[test]
    fn another_clouds_framework_assesses_nothing() {
        let mut d = doc(
            "aws",
            vec![finding("api-endpoint-public", "a", FindingStatus::Open)],
            0,
        );
        d.frameworks = assess(&d, None);
        restrict(&mut d, find("cis-aks-1.8").unwrap());
        assert!(d.findings.is_empty());
        let fw = &d.frameworks[0];
        assert_eq!(fw.id, "cis-aks-1.8");
        assert_eq!(fw.not_assessed, fw.controls.len());
        assert!(fw.controls[0]
            .reason
            .contains("azure scans, not to this aws scan"));
    }
}
