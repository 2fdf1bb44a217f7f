//! Organization guardrails over AWS requests: the service control policies (SCPs) that limit
//! the principals of a member account, and the resource control policies (RCPs) that limit the
//! resources of a member account, read from the inventory's organization facts.
//!
//! What applies (AWS Organizations User Guide, "SCP evaluation" and "RCP evaluation"):
//! - a policy type only has an effect when it is enabled on the organization root;
//! - every level of the account's path (root, each OU, the account) must allow the request, and
//!   a Deny at any level denies it;
//! - neither SCPs nor RCPs apply to the management account;
//! - SCPs do not restrict service-linked roles (path `/aws-service-role/`);
//! - RCPs apply to the resources of a handful of services only ([`RCP_SERVICES`]).
//!
//! When the attachments or a document are not known, the guardrail is [`Guardrail::Unknown`]:
//! the engine then evaluates without it (as if no organization existed) and says so, never
//! claiming that the guardrail allows.

use crate::matcher::Arn;
use crate::{NamedPolicy, Policy};
use cloudscan_inventory::{Inventory, OrgAccount, Organization};
use std::collections::HashMap;
use std::fmt;

/// The services whose resources RCPs govern.
pub const RCP_SERVICES: &[&str] = &["s3", "sts", "kms", "sqs", "secretsmanager"];

/// Whether RCPs govern requests for `action` (`service:Action`).
pub fn rcp_governs(action: &str) -> bool {
    let service = action.split(':').next().unwrap_or_default();
    RCP_SERVICES.iter().any(|s| s.eq_ignore_ascii_case(service))
}

/// The guardrail of one kind over one account.
#[derive(Debug, Clone, PartialEq)]
pub enum Guardrail {
    /// The policies attached at each level of the account's path, root first.
    Applied(Vec<Vec<NamedPolicy>>),
    /// Known not to apply, and why (management account, policy type not enabled, ...).
    NotApplicable(String),
    /// Not known, and why: evaluated as if absent.
    Unknown(String),
}

impl Default for Guardrail {
    fn default() -> Self {
        Guardrail::Unknown("the scan did not read AWS Organizations".to_string())
    }
}

impl Guardrail {
    /// The levels to evaluate (empty unless applied).
    pub fn levels(&self) -> &[Vec<NamedPolicy>] {
        match self {
            Guardrail::Applied(levels) => levels,
            _ => &[],
        }
    }

    /// Whether policies are evaluated.
    pub fn applied(&self) -> bool {
        matches!(self, Guardrail::Applied(l) if !l.is_empty())
    }

    /// The summary for evidence.
    pub fn status(&self) -> GuardrailStatus {
        match self {
            Guardrail::Applied(levels) => GuardrailStatus::Applied {
                levels: levels.len(),
                policies: levels.iter().flatten().map(|p| p.name.clone()).collect(),
            },
            Guardrail::NotApplicable(why) => GuardrailStatus::NotApplicable(why.clone()),
            Guardrail::Unknown(why) => GuardrailStatus::Unknown(why.clone()),
        }
    }
}

/// What is known of one guardrail kind, for evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardrailStatus {
    /// Evaluated: this many levels, these policies.
    Applied {
        levels: usize,
        policies: Vec<String>,
    },
    /// Does not apply, and why.
    NotApplicable(String),
    /// Not read, and why: the answer is as if there were none.
    Unknown(String),
}

impl fmt::Display for GuardrailStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuardrailStatus::Applied { levels, policies } => {
                write!(f, "evaluated at {levels} level(s): {}", policies.join(", "))
            }
            GuardrailStatus::NotApplicable(why) => write!(f, "do not apply ({why})"),
            GuardrailStatus::Unknown(why) => {
                write!(f, "not read ({why}); the answer does not account for them")
            }
        }
    }
}

/// The guardrails over one identity's own requests: SCPs of its account and RCPs of its
/// account (for the resources it owns).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Guards {
    pub scps: Guardrail,
    pub rcps: Guardrail,
}

impl Guards {
    /// Whether any guardrail is evaluated.
    pub fn applied(&self) -> bool {
        self.scps.applied() || self.rcps.applied()
    }

    /// The summary for evidence.
    pub fn summary(&self) -> GuardrailSummary {
        GuardrailSummary {
            scps: self.scps.status(),
            rcps: self.rcps.status(),
        }
    }
}

/// What is known of an identity's guardrails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardrailSummary {
    pub scps: GuardrailStatus,
    pub rcps: GuardrailStatus,
}

impl GuardrailSummary {
    /// Whether neither guardrail was read.
    pub fn unknown(&self) -> bool {
        matches!(self.scps, GuardrailStatus::Unknown(_))
    }
}

impl fmt::Display for GuardrailSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (GuardrailStatus::Unknown(a), GuardrailStatus::Unknown(b)) = (&self.scps, &self.rcps)
        {
            if a == b {
                return write!(
                    f,
                    "SCPs and RCPs not read ({a}); the answer does not account for them"
                );
            }
        }
        write!(f, "SCPs {}; RCPs {}", self.scps, self.rcps)
    }
}

const SCP_TYPE: &str = "SERVICE_CONTROL_POLICY";
const RCP_TYPE: &str = "RESOURCE_CONTROL_POLICY";

/// The organization's guardrails, with every document parsed once.
#[derive(Debug, Default)]
pub struct OrgGuardrails<'a> {
    org: Option<&'a Organization>,
    parsed: HashMap<&'a str, Result<Policy, String>>,
}

impl<'a> OrgGuardrails<'a> {
    /// Reads the inventory's organization facts.
    pub fn new(inv: &'a Inventory) -> Self {
        let Some(org) = inv.organization.as_ref() else {
            return OrgGuardrails::default();
        };
        let parsed = org
            .policies
            .iter()
            .map(|p| {
                let parsed = match &p.document {
                    Some(doc) => Policy::from_value(doc).map_err(|e| e.to_string()),
                    None => Err(p
                        .error
                        .clone()
                        .unwrap_or_else(|| "document not collected".to_string())),
                };
                (p.id.as_str(), parsed)
            })
            .collect();
        OrgGuardrails {
            org: Some(org),
            parsed,
        }
    }

    /// The organization id of a member account (`aws:PrincipalOrgID`), when it is listed.
    pub fn org_id_of(&self, account: &str) -> Option<&'a str> {
        self.org
            .filter(|o| {
                o.account(account).is_some() || o.management_account.as_deref() == Some(account)
            })
            .map(|o| o.id.as_str())
    }

    /// The guards over an identity's own requests.
    pub fn guards(&self, principal: &str) -> Guards {
        let account = account_of(principal).unwrap_or_default();
        Guards {
            scps: self.scps(principal),
            rcps: self.rcps(account),
        }
    }

    /// The SCP levels over `principal` (a role or user ARN).
    pub fn scps(&self, principal: &str) -> Guardrail {
        let Some(account) = account_of(principal) else {
            return Guardrail::NotApplicable(format!(
                "`{principal}` is not an IAM principal of an account"
            ));
        };
        if Arn::parse(principal).is_some_and(|a| a.resource.starts_with("role/aws-service-role/")) {
            return Guardrail::NotApplicable(
                "a service-linked role is not restricted by SCPs".to_string(),
            );
        }
        self.levels(account, "scp", SCP_TYPE, |a| a.scps.as_ref())
    }

    /// The RCP levels over the resources of `account`.
    pub fn rcps(&self, account: &str) -> Guardrail {
        self.levels(account, "rcp", RCP_TYPE, |a| a.rcps.as_ref())
    }

    fn levels(
        &self,
        account: &str,
        kind: &str,
        policy_type: &str,
        attached: impl Fn(&OrgAccount) -> Option<&Vec<Vec<String>>>,
    ) -> Guardrail {
        let upper = kind.to_ascii_uppercase();
        let Some(org) = self.org else {
            return Guardrail::default();
        };
        if org.management_account.as_deref() == Some(account) {
            return Guardrail::NotApplicable(format!(
                "{upper}s do not apply to the management account {account}"
            ));
        }
        if !org.enabled_policy_types.iter().any(|t| t == policy_type) {
            return Guardrail::NotApplicable(format!(
                "{policy_type} is not enabled in organization {}",
                org.id
            ));
        }
        let Some(member) = org.account(account) else {
            return Guardrail::Unknown(format!(
                "account {account} is not listed in organization {}",
                org.id
            ));
        };
        let Some(ids) = attached(member) else {
            return Guardrail::Unknown(format!(
                "the {upper}s attached over account {account} could not be read"
            ));
        };
        if ids.len() != member.path.len() {
            return Guardrail::Unknown(format!(
                "the {upper} attachments of account {account} do not match its organization path"
            ));
        }
        let mut levels = Vec::with_capacity(ids.len());
        for (node, ids) in member.path.iter().zip(ids) {
            let at = format!(
                "{} {}",
                node.kind,
                node.name.as_deref().unwrap_or(node.id.as_str())
            );
            let mut level = Vec::new();
            for id in ids {
                let name = org
                    .policy(id)
                    .map(|p| p.name.as_str())
                    .unwrap_or(id.as_str());
                match self.parsed.get(id.as_str()) {
                    Some(Ok(policy)) => level.push(NamedPolicy::new(
                        format!("{name} ({id}) at {at}"),
                        policy.clone(),
                    )),
                    Some(Err(e)) => {
                        return Guardrail::Unknown(format!(
                            "{upper} {name} ({id}) at {at} could not be read: {e}"
                        ))
                    }
                    None => {
                        return Guardrail::Unknown(format!(
                            "{upper} {id} attached at {at} is not in the organization's policies"
                        ))
                    }
                }
            }
            let listed_full = ids.iter().any(|id| {
                id == "RCPFullAWSAccess"
                    || org
                        .policy(id)
                        .is_some_and(|p| p.aws_managed && p.name == "RCPFullAWSAccess")
            });
            if kind == "rcp" && !listed_full {
                // RCPFullAWSAccess is attached at every level and cannot be detached; a listing
                // may leave it out.
                level.push(full_access(&format!("RCPFullAWSAccess (implicit) at {at}")));
            }
            if level.is_empty() {
                return Guardrail::Unknown(format!(
                    "no SCP is listed at {at} over account {account} (AWS keeps at least one)"
                ));
            }
            levels.push(level);
        }
        Guardrail::Applied(levels)
    }
}

fn full_access(name: &str) -> NamedPolicy {
    let doc = serde_json::json!({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]});
    match Policy::from_value(&doc) {
        Ok(p) => NamedPolicy::new(name, p),
        // The document is a constant the parser accepts; an empty policy is the safe fallback.
        Err(_) => NamedPolicy::new(
            name,
            Policy {
                version: None,
                id: None,
                statements: Vec::new(),
            },
        ),
    }
}

/// The account of an ARN (`arn:aws:iam::ACCOUNT:...`).
pub fn account_of(arn: &str) -> Option<&str> {
    Arn::parse(arn).map(|a| a.account).filter(|a| !a.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudscan_inventory::{OrgNode, OrgPolicy};
    use serde_json::json;

    pub(crate) fn org_inventory(deny_doc: serde_json::Value) -> Inventory {
        let node = |id: &str, kind: &str| OrgNode {
            id: id.into(),
            name: Some(id.into()),
            kind: kind.into(),
        };
        let mut inv = Inventory::new(cloudscan_inventory::Provider::Aws);
        inv.organization = Some(Organization {
            id: "o-1".into(),
            management_account: Some("999999999999".into()),
            enabled_policy_types: vec![SCP_TYPE.into(), RCP_TYPE.into()],
            accounts: vec![OrgAccount {
                id: "111122223333".into(),
                path: vec![
                    node("r-1", "root"),
                    node("ou-prod", "ou"),
                    node("111122223333", "account"),
                ],
                scps: Some(vec![
                    vec!["p-FullAWSAccess".into()],
                    vec!["p-FullAWSAccess".into(), "p-deny".into()],
                    vec!["p-FullAWSAccess".into()],
                ]),
                rcps: Some(vec![vec![], vec![], vec![]]),
                scanned: true,
                ..Default::default()
            }],
            policies: vec![
                OrgPolicy {
                    id: "p-FullAWSAccess".into(),
                    name: "FullAWSAccess".into(),
                    kind: "scp".into(),
                    aws_managed: true,
                    document: Some(json!({"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Action": "*", "Resource": "*"}]})),
                    ..Default::default()
                },
                OrgPolicy {
                    id: "p-deny".into(),
                    name: "DenyStuff".into(),
                    kind: "scp".into(),
                    document: Some(deny_doc),
                    ..Default::default()
                },
            ],
        });
        inv
    }

    fn deny_sts() -> serde_json::Value {
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"}]})
    }

    #[test]
    fn member_account_gets_every_level_and_the_management_account_none() {
        let inv = org_inventory(deny_sts());
        let g = OrgGuardrails::new(&inv);
        let scps = g.scps("arn:aws:iam::111122223333:role/node");
        assert_eq!(scps.levels().len(), 3);
        assert!(scps.levels()[1][1]
            .name
            .contains("DenyStuff (p-deny) at ou ou-prod"));
        // RCP levels with nothing listed get the implicit full access.
        assert_eq!(g.rcps("111122223333").levels().len(), 3);
        assert!(matches!(
            g.scps("arn:aws:iam::999999999999:role/admin"),
            Guardrail::NotApplicable(_)
        ));
        assert!(matches!(
            g.scps("arn:aws:iam::111122223333:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS"),
            Guardrail::NotApplicable(_)
        ));
        assert!(matches!(
            g.scps("arn:aws:iam::444455556666:role/x"),
            Guardrail::Unknown(_)
        ));
    }

    #[test]
    fn unknown_attachments_or_documents_are_unknown_and_disabled_types_do_not_apply() {
        let mut inv = org_inventory(deny_sts());
        if let Some(org) = inv.organization.as_mut() {
            org.accounts[0].scps = None;
        }
        let g = OrgGuardrails::new(&inv);
        assert!(matches!(
            g.scps("arn:aws:iam::111122223333:role/node"),
            Guardrail::Unknown(_)
        ));
        let mut inv = org_inventory(deny_sts());
        if let Some(org) = inv.organization.as_mut() {
            org.policies[1].document = None;
        }
        assert!(matches!(
            OrgGuardrails::new(&inv).scps("arn:aws:iam::111122223333:role/node"),
            Guardrail::Unknown(_)
        ));
        let mut inv = org_inventory(deny_sts());
        if let Some(org) = inv.organization.as_mut() {
            org.enabled_policy_types = vec![RCP_TYPE.into()];
        }
        assert!(matches!(
            OrgGuardrails::new(&inv).scps("arn:aws:iam::111122223333:role/node"),
            Guardrail::NotApplicable(_)
        ));
        let none = Inventory::new(cloudscan_inventory::Provider::Aws);
        assert!(matches!(
            OrgGuardrails::new(&none).scps("arn:aws:iam::111122223333:role/node"),
            Guardrail::Unknown(_)
        ));
    }
}
