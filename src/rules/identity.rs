//! Shared shape of the identity rules: one finding per identity that nodes or workloads can
//! use, naming who can use it and the statements that grant the access.

use super::{FindingBuilder, RuleContext, RuleMeta};
use crate::access::IdentityFacts;
use crate::finding::{Evidence, Finding, Severity};
use cloudscan_inventory::Identity;

/// Builds an identity finding. `reachable` / `unreachable` are the severities when pods can /
/// cannot use the identity.
pub(crate) struct IdentityIssue<'a> {
    pub meta: &'static RuleMeta,
    pub identity: &'a Identity,
    pub facts: &'a IdentityFacts,
    pub what: String,
    pub statements: &'a [String],
    pub allowed_when: Option<&'a str>,
    pub reachable: Severity,
    pub unreachable: Severity,
    pub discriminator: &'a str,
    pub extra: Vec<Evidence>,
}

impl IdentityIssue<'_> {
    pub(crate) fn build(self) -> Finding {
        let pods = self.facts.users.iter().any(|u| u.pods);
        let who: Vec<&str> = self.facts.users.iter().map(|u| u.text.as_str()).collect();
        let noun = match self.identity.kind.as_str() {
            "aws-role" => "role",
            "gcp-service-account" => "service account",
            "azure-managed-identity" => "managed identity",
            _ => "identity",
        };
        let mut message = format!(
            "{noun} `{}` {}; it can be used by {}",
            self.identity.name,
            self.what,
            who.join("; ")
        );
        if let Some(cond) = self.allowed_when {
            message.push_str(&format!(" (allowed when {cond})"));
        }
        let mut b =
            FindingBuilder::new(self.meta, &self.identity.scope, &self.identity.id, message)
                .severity(if pods {
                    self.reachable
                } else {
                    self.unreachable
                })
                .discriminator(self.discriminator)
                .evidence(Evidence::new(
                    "identity policies (inline, managed default versions, boundary)",
                    "allowed by",
                    self.statements.to_vec(),
                ))
                .evidence(Evidence::new(
                    "inventory used_by",
                    "who can use it",
                    who.clone(),
                ));
        if let Some(first) = self.facts.users.first() {
            b = b.cluster(&first.cluster);
            if let Some(pool) = &first.node_pool {
                if self.facts.users.len() == 1 {
                    b = b.node_pool(pool);
                }
            }
        }
        for e in self.extra {
            b = b.evidence(e);
        }
        if !self.facts.unreadable.is_empty() {
            b = b.evidence(Evidence::new(
                "identity policies",
                "not evaluated (unreadable)",
                self.facts.unreadable.clone(),
            ));
        }
        b.build()
    }
}

/// The identities the access engine analyzed, with their facts.
pub(crate) fn analyzed<'a>(
    ctx: &'a RuleContext<'_>,
) -> impl Iterator<Item = (&'a Identity, &'a IdentityFacts)> + 'a {
    ctx.inventory
        .identities
        .iter()
        .filter_map(move |i| ctx.access.identities.get(&i.id).map(|f| (i, f)))
}
