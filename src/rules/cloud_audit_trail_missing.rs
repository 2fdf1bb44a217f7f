//! `cloud-audit-trail-missing`: no account-wide audit trail records management events.

use super::{FindingBuilder, Rule, RuleContext, RuleMeta};
use crate::finding::{Evidence, Finding, Severity};
use cloudscan_inventory::ManagementEvents;

pub struct CloudAuditTrailMissing;

static META: RuleMeta = RuleMeta {
    id: "cloud-audit-trail-missing",
    title: "No account-wide cloud audit trail",
    severity: Severity::High,
    layer: "cloud",
    description: "Cloud API calls (who created an access key, attached a policy, changed a \
cluster's endpoint) are only kept for 90 days in the CloudTrail event history and only in the \
region they happened in. A multi-region trail that is logging and records both read and write \
management events is the minimum for investigating anything that reaches the cloud layer. Fires \
only when CloudTrail was read completely in at least one region and no trail qualifies; a trail \
whose status could not be read is an unknown, shown in coverage, not a finding.",
    remediation: "AWS: create a multi-region trail that records all management events and is \
logging (`aws cloudtrail create-trail --is-multi-region-trail ... && aws cloudtrail start-logging`), \
or rely on an organization trail. Azure: add a subscription diagnostic setting that exports the \
Administrative (and Security, Policy) activity-log categories to a Log Analytics workspace or \
storage account.",
    references: &[
        "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/creating-trail-organization.html",
        "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-management-events-with-cloudtrail.html",
    ],
};

impl Rule for CloudAuditTrailMissing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let inv = ctx.inventory;
        // Clouds whose management events are always recorded have no trail to miss.
        let Some(terms) = inv.provider.vocabulary().audit_trail else {
            return;
        };
        let service = terms.coverage_service;
        for scope in &inv.scopes {
            let read_somewhere = inv.coverage.iter().any(|c| {
                c.scope == scope.id
                    && c.service == service
                    && c.status == cloudscan_inventory::CoverageStatus::Complete
            });
            if !read_somewhere {
                continue;
            }
            let trails: Vec<_> = inv
                .audit_trails
                .iter()
                .filter(|t| t.scope == scope.id)
                .collect();
            let qualifies = trails.iter().any(|t| {
                t.multi_region == Some(true)
                    && t.logging == Some(true)
                    && t.management_events == Some(ManagementEvents::All)
            });
            // A multi-region trail whose status or selectors are unknown: do not guess.
            let unknown = trails.iter().any(|t| {
                t.multi_region == Some(true)
                    && (t.logging.is_none() || t.management_events.is_none())
            });
            if qualifies || unknown {
                continue;
            }
            let resource = inv.provider.scope_resource(scope);
            let why = if trails.is_empty() {
                terms.none.to_string()
            } else {
                terms
                    .none_qualifies
                    .replace("{n}", &trails.len().to_string())
            };
            let source = terms.source;
            let summary: Vec<serde_json::Value> = trails
                .iter()
                .map(|t| {
                    serde_json::json!({
                        "trail": t.id,
                        "home_region": t.region,
                        "is_multi_region": t.multi_region,
                        "is_logging": t.logging,
                        "management_events": t.management_events,
                    })
                })
                .collect();
            out.push(
                FindingBuilder::new(&META, &scope.id, &resource, format!("{}: {why}", scope.id))
                    .evidence(Evidence::new(source, "trails", summary))
                    .build(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::run;
    use cloudscan_inventory::Inventory;

    fn inventory(trails: serde_json::Value, complete: bool) -> Inventory {
        serde_json::from_value(serde_json::json!({
            "provider": "aws",
            "scopes": [{"id": "1", "partition": "aws"}],
            "audit_trails": trails,
            "coverage": [{"scope": "1", "service": "cloudtrail", "region": "us-east-1",
                          "status": if complete { "complete" } else { "failed" }}]
        }))
        .expect("valid inventory")
    }

    #[test]
    fn fires_without_a_qualifying_trail() {
        let single = serde_json::json!([{"id": "t", "scope": "1", "multi_region": false,
            "logging": true, "management_events": "all"}]);
        let f = run(&CloudAuditTrailMissing, &inventory(single, true));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].resource, "arn:aws:iam::1:root");
        assert!(
            run(
                &CloudAuditTrailMissing,
                &inventory(serde_json::json!([]), true)
            )
            .len()
                == 1
        );
        let stopped = serde_json::json!([{"id": "t", "scope": "1", "multi_region": true,
            "logging": false, "management_events": "all"}]);
        assert_eq!(
            run(&CloudAuditTrailMissing, &inventory(stopped, true)).len(),
            1
        );
    }

    #[test]
    fn a_good_trail_unknowns_and_failed_coverage_do_not_fire() {
        let good = serde_json::json!([{"id": "t", "scope": "1", "multi_region": true,
            "logging": true, "management_events": "all"}]);
        assert!(run(&CloudAuditTrailMissing, &inventory(good, true)).is_empty());
        let unknown = serde_json::json!([{"id": "t", "scope": "1", "multi_region": true}]);
        assert!(run(&CloudAuditTrailMissing, &inventory(unknown, true)).is_empty());
        assert!(run(
            &CloudAuditTrailMissing,
            &inventory(serde_json::json!([]), false)
        )
        .is_empty());
    }
}
