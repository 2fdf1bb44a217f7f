//! Shared shape of the identity rules: one finding per identity that nodes or workloads can
//! use, naming who can use it and, one evidence item each, the statements or role grants that
//! allow the access.

use super::{FindingBuilder, RuleContext, RuleMeta};
use crate::access::IdentityFacts;
use crate::finding::{Evidence, Finding, Severity};
use cloudscan_access::capability::Reach;
use cloudscan_access::Granted;
use cloudscan_inventory::Identity;

/// Builds an identity finding. `reachable` / `unreachable` are the severities when pods can /
/// cannot use the identity.
pub(crate) struct IdentityIssue<'a> {
    pub meta: &'static RuleMeta,
    pub identity: &'a Identity,
    pub facts: &'a IdentityFacts,
    pub what: String,
    pub reasons: &'a [Granted],
    pub allowed_when: Option<&'a str>,
    pub reachable: Severity,
    pub unreachable: Severity,
    pub discriminator: &'a str,
    pub extra: Vec<Evidence>,
}

/// The evidence item for one typed reason: where the grant lives, the granting element, and the
/// reason as data with what it allows.
pub(crate) fn reason_evidence(r: &Granted) -> Evidence {
    Evidence::new(r.by.location(), r.by.element(), r.to_json())
}

impl IdentityIssue<'_> {
    pub(crate) fn build(self) -> Finding {
        let pods = self.facts.pods();
        let who: Vec<String> = self
            .facts
            .exposures
            .iter()
            .map(cloudscan_access::chain::describe)
            .collect();
        let mut message = format!(
            "{} `{}` {}; it can be used by {}",
            self.identity.noun(),
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
                .evidences(self.reasons.iter().map(reason_evidence).collect())
                .evidence(Evidence::new(
                    "inventory used_by",
                    "who can use it",
                    who.clone(),
                ));
        if let Some(first) = self.facts.exposures.first() {
            b = b.cluster(&first.cluster);
            if let Some(pool) = first.node_pool() {
                if self.facts.exposures.len() == 1 {
                    b = b.node_pool(pool);
                }
            }
        }
        for e in self.extra {
            b = b.evidence(e);
        }
        for e in self.facts.exposures.iter().filter(|e| !e.via.is_empty()) {
            b = b.evidence(Evidence::new(
                "role chain",
                "hops",
                e.via
                    .iter()
                    .map(|h| {
                        serde_json::json!({
                            "from": h.from,
                            "to": h.to,
                            "via": match h.kind {
                                cloudscan_access::chain::HopKind::AssumeRole => "sts:AssumeRole",
                                cloudscan_access::chain::HopKind::PodIdentityTarget =>
                                    "eks pod identity targetRoleArn",
                            },
                            "allowed_by": h.granted_by,
                            "allowed_when": h.allowed_when,
                        })
                    })
                    .collect::<Vec<_>>(),
            ));
        }
        for note in &self.facts.session_notes {
            b = b.evidence(Evidence::new(
                note.session.as_str(),
                if note.unreadable.is_some() {
                    "not evaluated (unreadable)"
                } else {
                    "narrows"
                },
                serde_json::json!({
                    "user": note.user,
                    "unreadable": note.unreadable,
                    "summary": note.to_string(),
                }),
            ));
        }
        b = guardrail_evidence(b, self.facts);
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

/// What the organization guardrails were for the identity (AWS): evaluated (and which stop
/// part of what its policies allow), not applicable, or not read.
fn guardrail_evidence(mut b: FindingBuilder, facts: &IdentityFacts) -> FindingBuilder {
    let Some(summary) = &facts.profile.guardrails else {
        return b;
    };
    b = b.evidence(Evidence::new(
        "organization guardrails",
        "SCPs and RCPs",
        summary.to_string(),
    ));
    for stop in &facts.profile.guardrail_stops {
        b = b.evidence(Evidence::new(
            "organization guardrails",
            "stops",
            serde_json::json!({
                "capability": stop.capability,
                "action": stop.action,
                "denied_by": stop.denied_by,
                "no_allow_in": stop.no_allow,
                "remaining": stop.remaining.map(|r| if r == Reach::All { "all" } else { "some" }),
                "summary": stop.to_string(),
            }),
        ));
    }
    for u in &facts.profile.unknown_resources {
        b = b.evidence(Evidence::new("resource policies", "not known", u.clone()));
    }
    b
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

/// An AWS inventory with one role, used by a pod through IRSA, whose one inline policy (and
/// optional boundary) are the given IAM documents, in the shape `iam:GetRolePolicy` returns
/// them once decoded.
#[cfg(test)]
pub(crate) fn aws_role_with(
    policy: serde_json::Value,
    boundary: Option<serde_json::Value>,
) -> cloudscan_inventory::Inventory {
    let mut identity = serde_json::json!({"id": "arn:aws:iam::111122223333:role/app", "name": "app",
        "kind": "aws-role", "scope": "111122223333",
        "used_by": [{"kind": "workload", "cluster": "c", "namespace": "a",
            "service_account": "b", "mechanism": "irsa"}],
        "policies": [{"kind": "inline", "name": "p", "document": policy}]});
    if let Some(b) = boundary {
        identity["boundary"] = serde_json::json!({"kind": "boundary", "name": "b", "document": b});
    }
    match serde_json::from_value(serde_json::json!({"provider": "aws", "identities": [identity]})) {
        Ok(inv) => inv,
        Err(e) => panic!("test inventory: {e}"),
    }
}

/// `{"Version": ..., "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}`.
#[cfg(test)]
pub(crate) fn allow(action: serde_json::Value, resource: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": action, "Resource": resource}]})
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::run;
    use cloudscan_inventory::Inventory;

    #[test]
    fn findings_cite_each_granting_statement_with_what_it_allows() {
        let inv: Inventory = serde_json::from_value(serde_json::json!({
            "provider": "aws",
            "identities": [{"id": "arn:aws:iam::111122223333:role/app", "name": "app",
                "kind": "aws-role", "scope": "111122223333",
                "used_by": [{"kind": "workload", "cluster": "c", "namespace": "a",
                    "service_account": "b", "mechanism": "irsa"}],
                "policies": [{"kind": "inline", "name": "reads", "document": {
                    "Version": "2012-10-17", "Statement": [
                        {"Sid": "Nothing", "Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"},
                        {"Sid": "Secrets", "Effect": "Allow",
                         "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}}]}]
        }))
        .expect("valid inventory");
        let f = run(
            &crate::rules::identity_secrets_access::IdentitySecretsAccess,
            &inv,
        );
        assert_eq!(f.len(), 1);
        let cited = &f[0].evidence[0];
        assert_eq!(cited.source, "identity policy `inline reads`");
        assert_eq!(cited.field, "Statement[1]");
        assert_eq!(cited.value["sid"], "Secrets");
        assert_eq!(
            cited.value["allows"],
            serde_json::json!(["secretsmanager:GetSecretValue"])
        );
        assert!(f[0]
            .message
            .contains("service account `a/b` in cluster `c` (irsa)"));
    }

    /// `aws_role_with` plus an organization whose OU `Prod` carries `scp` over the role's account.
    fn with_scp(policy: serde_json::Value, scp: Option<serde_json::Value>) -> Inventory {
        let mut inv = super::aws_role_with(policy, None);
        if let Some(scp) = scp {
            inv.organization = serde_json::from_value(serde_json::json!({
                "id": "o-1", "enabled_policy_types": ["SERVICE_CONTROL_POLICY"],
                "accounts": [{"id": "111122223333", "path": [
                    {"id": "r-1", "kind": "root"}, {"id": "ou-1", "name": "Prod", "kind": "ou"},
                    {"id": "111122223333", "kind": "account"}],
                    "scps": [["p-full"], ["p-full", "p-guard"], ["p-full"]]}],
                "policies": [
                    {"id": "p-full", "name": "FullAWSAccess", "kind": "scp",
                     "document": super::allow(serde_json::json!("*"), serde_json::json!("*"))},
                    {"id": "p-guard", "name": "NoSecrets", "kind": "scp", "document": scp}]}))
            .expect("organization");
        }
        inv
    }

    #[test]
    fn an_scp_deny_keeps_the_rule_from_firing_and_other_findings_name_it() {
        let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "s3:GetObject"],
             "Resource": "*"}]});
        let deny = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Deny", "Effect": "Deny", "Action": "secretsmanager:*", "Resource": "*"}]});
        let secrets = crate::rules::identity_secrets_access::IdentitySecretsAccess;
        let storage = crate::rules::identity_storage_access::IdentityStorageAccess;
        // No organization facts: fires, and says the guardrails were not read.
        let f = run(&secrets, &with_scp(policy.clone(), None));
        assert_eq!(f.len(), 1);
        let g = f[0]
            .evidence
            .iter()
            .find(|e| e.source == "organization guardrails")
            .expect("guardrail evidence");
        assert!(g.value.as_str().unwrap_or_default().contains("not read"));
        // The SCP denies the secrets: no finding; the storage finding names the SCP.
        let inv = with_scp(policy, Some(deny));
        assert!(run(&secrets, &inv).is_empty());
        let f = run(&storage, &inv);
        assert_eq!(f.len(), 1);
        let stop = f[0]
            .evidence
            .iter()
            .find(|e| e.field == "stops")
            .expect("stop evidence");
        assert_eq!(stop.value["capability"], "secrets-read");
        assert_eq!(
            stop.value["denied_by"][0]["policy"],
            "NoSecrets (p-guard) at ou Prod"
        );
    }
}
