//! Capability questions over one AWS identity: which capability classes it holds (on every
//! resource of the kind, or only some), which privilege-escalation paths are open to it, and
//! which of its statements grant wildcards. Every answer names the statements behind it.
//!
//! Scan-time questions are asked with a partial context: condition keys the scanner cannot know
//! stay unknown, and an answer that depends on them says "allowed when ...".

use crate::catalog::{Capabilities, Catalog, Requirement};
use crate::condition::Context;
use crate::eval::{
    evaluate, EvalError, Evaluation, NamedPolicy, PolicyIdentity, PolicySet, Request,
    ResourceTarget,
};
use crate::matcher::ActionPattern;
use crate::policy::{ActionElement, Effect, Policy, ResourceElement};
use crate::reason::{GrantReason, Granted};
use std::collections::{BTreeSet, HashMap};

/// How far a capability reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reach {
    /// On at least one resource of the kind.
    Some,
    /// On every resource of the kind.
    All,
}

/// A capability class the identity holds.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldCapability {
    pub id: String,
    pub title: String,
    pub reach: Reach,
    /// The actions that grant it (with AWS casing).
    pub actions: Vec<String>,
    /// The statements or role grants that allow those actions, with the actions each allows.
    pub granted_by: Vec<Granted>,
    /// "allowed when ..." when the grant depends on unknown condition values.
    pub allowed_when: Option<String>,
}

impl HeldCapability {
    /// Records one grant of a capability class into `held` (created on the first grant): the
    /// widest reach wins, granting actions are kept once each, the granting statement is listed,
    /// and the first condition becomes "allowed when". Shared by the GCP (role bindings) and
    /// Azure (role assignments) analyses.
    pub fn record_grant<'a>(
        held: &mut Option<HeldCapability>,
        class: (&str, &str),
        reach: Reach,
        granted: impl IntoIterator<Item = &'a String>,
        by: GrantReason,
        condition: Option<&str>,
    ) {
        let h = held.get_or_insert_with(|| HeldCapability {
            id: class.0.to_string(),
            title: class.1.to_string(),
            reach,
            actions: Vec::new(),
            granted_by: Vec::new(),
            allowed_when: None,
        });
        if reach > h.reach {
            h.reach = reach;
        }
        for action in granted {
            if !h.actions.contains(action) {
                h.actions.push(action.clone());
            }
            Granted::credit(&mut h.granted_by, by.clone(), action);
        }
        if let Some(c) = condition {
            h.allowed_when.get_or_insert_with(|| c.to_string());
        }
    }
}

/// An open privilege-escalation path.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenPath {
    pub id: String,
    pub title: String,
    pub steps: Vec<String>,
    /// The statements or role grants that allow the steps, with the steps each allows.
    pub granted_by: Vec<Granted>,
    pub allowed_when: Option<String>,
}

/// An Allow statement with a wildcard action on a wildcard resource.
#[derive(Debug, Clone, PartialEq)]
pub struct WildcardGrant {
    pub policy: String,
    pub statement: usize,
    pub sid: Option<String>,
    /// The action element as written (`NotAction` entries are prefixed with `NotAction `).
    pub actions: Vec<String>,
}

/// Everything known about what one identity can do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccessProfile {
    pub capabilities: Vec<HeldCapability>,
    pub escalation_paths: Vec<OpenPath>,
    pub wildcard_grants: Vec<WildcardGrant>,
    /// True when the identity can do everything (see [`ADMIN_PROBES`]).
    pub admin: Option<HeldCapability>,
}

/// `admin` is "every action on every resource". Rather than evaluating all 22,000 actions, the
/// engine asks for one destructive or privileged action in each of the services an attacker
/// reaches for first; an identity allowed all of them on every resource is administrator for
/// any practical purpose (AdministratorAccess, `*:*`, NotAction tricks).
pub const ADMIN_PROBES: &[&str] = &[
    "iam:CreateUser",
    "iam:AttachRolePolicy",
    "iam:PassRole",
    "ec2:RunInstances",
    "ec2:DeleteVpc",
    "s3:GetObject",
    "s3:PutBucketPolicy",
    "secretsmanager:GetSecretValue",
    "lambda:CreateFunction",
    "eks:CreateCluster",
    "rds:DeleteDBInstance",
    "dynamodb:DeleteTable",
    "cloudtrail:StopLogging",
    "organizations:LeaveOrganization",
    "route53:ChangeResourceRecordSets",
];

/// Services whose resource policy must allow as well (KMS key policies, role trust policies).
/// Key policies are not collected; the analysis assumes the default key policy, which lets IAM
/// policies of the account grant access, and says so.
fn default_key_policy(account: &str) -> Option<NamedPolicy> {
    let doc = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }]
    });
    Policy::from_value(&doc)
        .ok()
        .map(|p| NamedPolicy::new("assumed default key policy", p))
}

/// Answers capability questions for one identity, caching evaluations.
pub struct Analyzer<'a> {
    identity: &'a PolicyIdentity,
    account: String,
    context: Context,
    key_policy: Option<NamedPolicy>,
    cache: HashMap<(String, String, bool), Option<Evaluation>>,
}

impl<'a> Analyzer<'a> {
    pub fn new(identity: &'a PolicyIdentity) -> Self {
        let account = identity
            .principal
            .split(':')
            .nth(4)
            .unwrap_or_default()
            .to_string();
        Analyzer {
            identity,
            key_policy: default_key_policy(&account),
            account,
            context: Context::partial(),
            cache: HashMap::new(),
        }
    }

    /// Evaluates `action` on every (`all`) or some resource matching `resource`.
    pub fn ask(&mut self, action: &str, resource: &str, all: bool) -> Option<Evaluation> {
        let key = (action.to_ascii_lowercase(), resource.to_string(), all);
        if let Some(hit) = self.cache.get(&key) {
            return hit.clone();
        }
        let target = if all {
            ResourceTarget::All(resource)
        } else {
            ResourceTarget::Any(resource)
        };
        let resource_policy = if action.to_ascii_lowercase().starts_with("kms:") {
            self.key_policy.as_ref()
        } else {
            None
        };
        // Capability questions are about the identity's own account: an ARN pattern with `*` for
        // the account must not turn into a cross-account request.
        let set = PolicySet {
            identity: &self.identity.policies,
            boundary: self.identity.boundary.as_ref(),
            session: None,
            scps: &[],
            rcps: &[],
            resource: resource_policy,
        };
        let request = Request {
            principal: &self.identity.principal,
            action,
            resource: target,
            resource_account: Some(&self.account),
            context: &self.context,
        };
        let result: Result<Evaluation, EvalError> = evaluate(&set, &request);
        let answer = result.ok().filter(|e| e.may_be_allowed());
        self.cache.insert(key, answer.clone());
        answer
    }

    /// The full profile against the bundled capability classes and escalation paths.
    pub fn profile(&mut self, caps: &Capabilities, catalog: &Catalog) -> AccessProfile {
        let mut profile = AccessProfile {
            wildcard_grants: wildcard_grants(&self.identity.policies),
            ..Default::default()
        };
        profile.admin = self.admin();
        for class in &caps.classes {
            if class.id == "admin" {
                continue;
            }
            let mut best: Option<HeldCapability> = None;
            for grant in &class.any_of {
                let actions = grant.actions(catalog);
                if grant.require == Requirement::All {
                    continue;
                }
                for action in actions {
                    let name = action.full_name();
                    for all in [true, false] {
                        if let Some(eval) = self.ask(&name, &grant.resource, all) {
                            let reach = if all { Reach::All } else { Reach::Some };
                            let held = best.get_or_insert_with(|| HeldCapability {
                                id: class.id.clone(),
                                title: class.title.clone(),
                                reach,
                                actions: Vec::new(),
                                granted_by: Vec::new(),
                                allowed_when: None,
                            });
                            if reach > held.reach {
                                held.reach = reach;
                            }
                            merge(held, &name, &eval);
                            break;
                        }
                    }
                }
            }
            if let Some(held) = best {
                profile.capabilities.push(held);
            }
        }
        for path in &caps.escalation_paths {
            let mut open = OpenPath {
                id: path.id.clone(),
                title: path.title.clone(),
                steps: Vec::new(),
                granted_by: Vec::new(),
                allowed_when: None,
            };
            let mut all_open = true;
            let mut conditions = Vec::new();
            for step in &path.all_of {
                match self.ask(&step.action, &step.resource, false) {
                    Some(eval) => {
                        open.steps.push(step.action.clone());
                        for r in &eval.reasons {
                            Granted::credit(
                                &mut open.granted_by,
                                r.statement.clone().into(),
                                &step.action,
                            );
                        }
                        if let Some(f) = &eval.allowed_when {
                            conditions.push(f.to_string());
                        }
                    }
                    None => {
                        all_open = false;
                        break;
                    }
                }
            }
            if all_open && !path.all_of.is_empty() {
                if !conditions.is_empty() {
                    open.allowed_when = Some(conditions.join(" and "));
                }
                profile.escalation_paths.push(open);
            }
        }
        profile
    }

    fn admin(&mut self) -> Option<HeldCapability> {
        let mut held = HeldCapability {
            id: "admin".to_string(),
            title: "Administrator: every action on every resource".to_string(),
            reach: Reach::All,
            actions: vec!["*".to_string()],
            granted_by: Vec::new(),
            allowed_when: None,
        };
        for probe in ADMIN_PROBES {
            let eval = self.ask(probe, "*", true)?;
            for r in &eval.reasons {
                Granted::credit(&mut held.granted_by, r.statement.clone().into(), probe);
            }
            if let Some(f) = &eval.allowed_when {
                held.allowed_when = Some(f.to_string());
            }
        }
        Some(held)
    }
}

fn merge(held: &mut HeldCapability, action: &str, eval: &Evaluation) {
    push_unique(&mut held.actions, action.to_string());
    for r in &eval.reasons {
        Granted::credit(&mut held.granted_by, r.statement.clone().into(), action);
    }
    if let Some(f) = &eval.allowed_when {
        if held.allowed_when.is_none() {
            held.allowed_when = Some(f.to_string());
        }
    }
}

pub(crate) fn push_unique<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// Allow statements whose action is `*`, `service:*` or a `NotAction`, on `Resource: "*"`.
pub fn wildcard_grants(policies: &[NamedPolicy]) -> Vec<WildcardGrant> {
    let mut out = Vec::new();
    for p in policies {
        for (index, s) in p.policy.statements.iter().enumerate() {
            if s.effect != Effect::Allow {
                continue;
            }
            let on_everything = matches!(&s.resource, Some(ResourceElement::Resource(r))
                if r.iter().any(|t| t.text() == "*"));
            if !on_everything {
                continue;
            }
            let actions: Vec<String> = match &s.action {
                ActionElement::Action(patterns) => patterns
                    .iter()
                    .filter_map(|a| match a {
                        ActionPattern::All => Some("*".to_string()),
                        ActionPattern::Service { text, .. } if text.ends_with(":*") => {
                            Some(text.clone())
                        }
                        _ => None,
                    })
                    .collect(),
                ActionElement::NotAction(patterns) => vec![format!(
                    "NotAction {}",
                    patterns
                        .iter()
                        .map(|a| match a {
                            ActionPattern::All => "*".to_string(),
                            ActionPattern::Service { text, .. } => text.clone(),
                        })
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect::<Vec<_>>()
                        .join(", ")
                )],
            };
            if !actions.is_empty() {
                out.push(WildcardGrant {
                    policy: p.name.clone(),
                    statement: index,
                    sid: s.sid.clone(),
                    actions,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(doc: serde_json::Value) -> PolicyIdentity {
        PolicyIdentity {
            principal: "arn:aws:iam::111122223333:role/node".to_string(),
            policies: vec![NamedPolicy::new(
                "inline/test",
                Policy::from_value(&doc).expect("valid policy"),
            )],
            boundary: None,
        }
    }

    fn profile(doc: serde_json::Value) -> AccessProfile {
        let id = identity(doc);
        Analyzer::new(&id).profile(Capabilities::bundled(), Catalog::bundled())
    }

    #[test]
    fn star_star_is_admin_and_a_wildcard_grant() {
        let p = profile(serde_json::json!({"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}));
        assert!(p.admin.is_some());
        assert_eq!(p.wildcard_grants.len(), 1);
        assert!(!p.escalation_paths.is_empty());
    }

    #[test]
    fn s3_star_holds_object_read_and_write_on_all_buckets_but_not_admin() {
        let p = profile(serde_json::json!({"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}));
        assert!(p.admin.is_none());
        let ids: Vec<(&str, Reach)> = p
            .capabilities
            .iter()
            .map(|c| (c.id.as_str(), c.reach))
            .collect();
        assert!(ids.contains(&("object-read", Reach::All)));
        assert!(ids.contains(&("object-write", Reach::All)));
        assert!(!ids.iter().any(|(id, _)| *id == "secrets-read"));
        assert_eq!(p.wildcard_grants[0].actions, vec!["s3:*"]);
    }

    #[test]
    fn a_scoped_secret_grant_reaches_only_some_secrets() {
        let p = profile(serde_json::json!({"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                "Resource": "arn:aws:secretsmanager:us-east-1:111122223333:secret:payments/*"}]}));
        let secrets = p
            .capabilities
            .iter()
            .find(|c| c.id == "secrets-read")
            .expect("secrets-read held");
        assert_eq!(secrets.reach, Reach::Some);
        assert!(p.wildcard_grants.is_empty());
    }

    #[test]
    fn a_deny_removes_the_capability() {
        let p = profile(serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:GetObject*", "Resource": "*"}]}));
        assert!(!p.capabilities.iter().any(|c| c.id == "object-read"));
    }

    #[test]
    fn conditional_grants_say_when() {
        let p = profile(serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
             "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}]}));
        let read = p
            .capabilities
            .iter()
            .find(|c| c.id == "object-read")
            .expect("object-read");
        assert!(read
            .allowed_when
            .as_deref()
            .is_some_and(|w| w.contains("aws:SourceVpce")));
    }
}
