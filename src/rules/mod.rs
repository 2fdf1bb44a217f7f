//! The shared Cloud-layer rules. One file per rule; each rule is a unit struct whose metadata
//! (id, title, severity, remediation, references, docs) lives in one [`RuleMeta`] constant, so
//! the report, `cloudscan rules` and the docs cannot drift apart. Which framework controls a rule
//! assesses is written once, in `policies/frameworks/` ([`crate::frameworks`]).
//!
//! Rules read only the cloud-neutral inventory. A rule never reports the absence of something
//! unless the coverage says the service was read completely: an unknown is not a pass and not a
//! finding; the coverage table shows it.

mod api_endpoint_public;
mod audit_logging_disabled;
mod cloud_audit_trail_missing;
mod cluster_admin_reachable_from_pods;
mod identity;
mod identity_admin_access;
mod identity_privilege_escalation;
mod identity_secrets_access;
mod identity_storage_access;
mod identity_wildcard_grant;
mod local_auth_enabled;
mod node_default_service_account;
mod node_identity_host_network_only;
mod node_metadata_exposed;
mod secrets_encryption_disabled;
mod volume_encryption_disabled;
mod workload_identity_binding_mismatch;
mod workload_identity_disabled;
mod workload_identity_trust_too_broad;

use crate::access::AccessFacts;
use crate::finding::{fingerprint, Evidence, Finding, Severity};
use cloudscan_inventory::{Cited, Inventory};
use serde::Serialize;

/// Everything a rule knows about one rule id.
#[derive(Debug, Serialize)]
pub struct RuleMeta {
    pub id: &'static str,
    pub title: &'static str,
    /// The default severity; a rule may raise or lower it per finding and says why.
    pub severity: Severity,
    /// The 4C layer.
    pub layer: &'static str,
    /// What the rule checks and why it matters.
    pub description: &'static str,
    pub remediation: &'static str,
    pub references: &'static [&'static str],
}

/// What rules are evaluated against: the inventory, and the access engine's facts about every
/// identity that nodes or workloads can use.
pub struct RuleContext<'a> {
    pub inventory: &'a Inventory,
    pub access: AccessFacts,
}

/// A Cloud-layer rule.
pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>);
}

/// Every rule, in catalog order.
pub fn registry() -> Vec<&'static dyn Rule> {
    vec![
        &identity_admin_access::IdentityAdminAccess,
        &identity_secrets_access::IdentitySecretsAccess,
        &identity_storage_access::IdentityStorageAccess,
        &identity_privilege_escalation::IdentityPrivilegeEscalation,
        &identity_wildcard_grant::IdentityWildcardGrant,
        &workload_identity_trust_too_broad::WorkloadIdentityTrustTooBroad,
        &api_endpoint_public::ApiEndpointPublic,
        &secrets_encryption_disabled::SecretsEncryptionDisabled,
        &volume_encryption_disabled::VolumeEncryptionDisabled,
        &audit_logging_disabled::AuditLoggingDisabled,
        &cloud_audit_trail_missing::CloudAuditTrailMissing,
        &node_metadata_exposed::NodeMetadataExposed,
        &node_default_service_account::NodeDefaultServiceAccount,
        &workload_identity_disabled::WorkloadIdentityDisabled,
        &local_auth_enabled::LocalAuthEnabled,
        // The Cluster side joined to the cloud (issue 14): need the cluster's API.
        &cluster_admin_reachable_from_pods::ClusterAdminReachableFromPods,
        &workload_identity_binding_mismatch::WorkloadIdentityBindingMismatch,
        &node_identity_host_network_only::NodeIdentityHostNetworkOnly,
    ]
}

/// Finds a rule by id.
pub fn find(id: &str) -> Option<&'static dyn Rule> {
    registry().into_iter().find(|r| r.meta().id == id)
}

/// Runs every rule; findings come out sorted by severity (worst first), rule and resource.
pub fn evaluate(inventory: &Inventory) -> Vec<Finding> {
    let ctx = RuleContext {
        inventory,
        access: AccessFacts::for_inventory(inventory),
    };
    let mut findings = Vec::new();
    for rule in registry() {
        rule.check(&ctx, &mut findings);
    }
    let provider = inventory.provider.as_str();
    for f in &mut findings {
        f.compliance = crate::frameworks::compliance_ids(&f.rule_id, Some(provider));
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule_id.cmp(&b.rule_id))
            .then_with(|| a.resource.cmp(&b.resource))
    });
    findings
}

/// A fact the inventory or the access stage cites, as a finding's evidence.
pub(crate) fn cite(c: Cited) -> Evidence {
    Evidence::new(c.source, c.field, c.value)
}

/// Builds a finding from a rule's metadata.
pub(crate) struct FindingBuilder {
    finding: Finding,
    discriminator: String,
}

impl FindingBuilder {
    pub(crate) fn new(
        meta: &'static RuleMeta,
        scope: &str,
        resource: &str,
        message: String,
    ) -> Self {
        FindingBuilder {
            finding: Finding {
                rule_id: meta.id.to_string(),
                title: meta.title.to_string(),
                severity: meta.severity,
                resource: resource.to_string(),
                scope: scope.to_string(),
                region: None,
                cluster: None,
                node_pool: None,
                message,
                evidence: Vec::new(),
                remediation: meta.remediation.to_string(),
                // Set by `evaluate` from the framework mappings.
                compliance: Vec::new(),
                fingerprint: String::new(),
            },
            discriminator: String::new(),
        }
    }

    pub(crate) fn region(mut self, region: &str) -> Self {
        self.finding.region = Some(region.to_string()).filter(|r| !r.is_empty());
        self
    }

    pub(crate) fn cluster(mut self, cluster: &str) -> Self {
        self.finding.cluster = Some(cluster.to_string());
        self
    }

    pub(crate) fn node_pool(mut self, pool: &str) -> Self {
        self.finding.node_pool = Some(pool.to_string());
        self
    }

    pub(crate) fn severity(mut self, severity: Severity) -> Self {
        self.finding.severity = severity;
        self
    }

    pub(crate) fn evidence(mut self, evidence: Evidence) -> Self {
        self.finding.evidence.push(evidence);
        self
    }

    pub(crate) fn evidences(mut self, evidence: Vec<Evidence>) -> Self {
        self.finding.evidence.extend(evidence);
        self
    }

    /// Distinguishes two findings of one rule on one resource (e.g. two causes).
    pub(crate) fn discriminator(mut self, d: &str) -> Self {
        self.discriminator = d.to_string();
        self
    }

    pub(crate) fn build(mut self) -> Finding {
        self.finding.fingerprint = fingerprint(
            &self.finding.rule_id,
            &self.finding.scope,
            &self.finding.resource,
            &self.discriminator,
        );
        self.finding
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use cloudscan_inventory::Inventory;

    pub fn run(rule: &dyn super::Rule, inv: &Inventory) -> Vec<super::Finding> {
        let mut out = Vec::new();
        rule.check(
            &super::RuleContext {
                inventory: inv,
                access: crate::access::AccessFacts::for_inventory(inv),
            },
            &mut out,
        );
        out
    }
}
