//! Capability questions over one AWS identity: which capability classes it holds (on every
//! resource of the kind, or only some), which privilege-escalation paths are open to it, and
//! which of its statements grant wildcards. Every answer names the statements behind it.
//!
//! Scan-time questions are asked with a partial context: condition keys the scanner cannot know
//! stay unknown, and an answer that depends on them says "allowed when ...".

use crate::catalog::{Capabilities, Catalog, Requirement};
use crate::condition::Context;
use crate::condition::KeyHasher;
use crate::eval::{
    evaluate, EvalError, Evaluation, NamedPolicy, PolicyIdentity, PolicySet, Request,
    ResourceTarget,
};
use crate::guardrail::{rcp_governs, GuardrailSummary, Guards};
use crate::matcher::ActionPattern;
use crate::policy::{ActionElement, Effect, Policy, ResourceElement};
use crate::reason::{GrantReason, Granted};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::hash::BuildHasherDefault;
use std::rc::Rc;

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
    /// What the organization guardrails were (AWS; None where the cloud has none).
    pub guardrails: Option<GuardrailSummary>,
    /// Access the identity's own policies allow and a guardrail stops (or narrows).
    pub guardrail_stops: Vec<GuardrailStop>,
    /// Grants that come from resource policies (bucket, key and secret policies).
    pub resource_grants: Vec<ResourceGrant>,
    /// Resource policies that could not be read, so access to those resources is not known.
    pub unknown_resources: Vec<String>,
}

/// Access that identity policies allow and an SCP or RCP denies.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardrailStop {
    /// The capability class id, `admin`, or an escalation path id.
    pub capability: String,
    /// The reach identity policies give.
    pub allowed_reach: Reach,
    /// The reach left once the guardrails apply (None: nothing left).
    pub remaining: Option<Reach>,
    /// The action the explanation is about.
    pub action: String,
    /// The guardrail statements that deny it.
    pub denied_by: Vec<Granted>,
    /// The guardrail kinds that lack an Allow at some level (`scp`, `rcp`).
    pub no_allow: Vec<&'static str>,
}

impl fmt::Display for GuardrailStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reach = |r: Reach| if r == Reach::All { "all" } else { "some" };
        write!(
            f,
            "`{}` on {} resources (allowed by identity policies) is stopped by ",
            self.capability,
            reach(self.allowed_reach)
        )?;
        let mut why: Vec<String> = self.denied_by.iter().map(|g| g.by.to_string()).collect();
        for k in &self.no_allow {
            why.push(format!(
                "no {} allowing `{}` at some level of the organization path",
                k.to_ascii_uppercase(),
                self.action
            ));
        }
        if why.is_empty() {
            why.push("an organization guardrail".to_string());
        }
        write!(f, "{}", why.join("; "))?;
        match self.remaining {
            Some(r) => write!(f, " (still allowed on {} resources)", reach(r)),
            None => Ok(()),
        }
    }
}

/// A capability granted (or widened) by a resource policy.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceGrant {
    pub capability: String,
    /// The resource whose policy grants (bucket, key, secret ARN).
    pub resource: String,
    /// The resource owner's account.
    pub account: String,
    pub actions: Vec<String>,
    /// The statements that allow it (resource policy statements, and identity statements when
    /// both sides are needed).
    pub granted_by: Vec<Granted>,
    pub allowed_when: Option<String>,
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
/// For keys whose policy was not collected the analysis assumes the default key policy, which
/// lets IAM policies of the account grant access, and says so.
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

/// The kind of a resource with a resource policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    S3Bucket,
    KmsKey,
    Secret,
}

impl ResourceKind {
    /// From the inventory's `kind`.
    pub fn parse(kind: &str) -> Option<ResourceKind> {
        match kind {
            "s3-bucket" => Some(ResourceKind::S3Bucket),
            "kms-key" => Some(ResourceKind::KmsKey),
            "secretsmanager-secret" => Some(ResourceKind::Secret),
            _ => None,
        }
    }

    fn service(self) -> &'static str {
        match self {
            ResourceKind::S3Bucket => "s3",
            ResourceKind::KmsKey => "kms",
            ResourceKind::Secret => "secretsmanager",
        }
    }
}

/// What is known of a resource's policy.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourcePolicyState {
    /// The parsed policy.
    Attached(NamedPolicy),
    /// The resource has no policy.
    None,
    /// Not known, and why.
    Unknown(String),
}

/// A resource with a resource policy, prepared once per inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSubject {
    pub arn: String,
    pub kind: ResourceKind,
    /// The owner's account.
    pub account: String,
    pub policy: ResourcePolicyState,
    /// The RCPs over the owner's account.
    pub rcps: crate::guardrail::Guardrail,
    /// S3: the bucket policy has a public statement (`Principal: *` without conditions).
    pub public: bool,
    /// S3: `RestrictPublicBuckets` is on at the bucket or account level (None: not known).
    pub restrict_public: Option<bool>,
}

/// Answers capability questions for one identity, caching evaluations.
pub struct Analyzer<'a> {
    identity: &'a PolicyIdentity,
    account: String,
    context: Context,
    /// The assumed default key policy, built on the first KMS question.
    key_policy: Option<Option<NamedPolicy>>,
    guards: Guards,
    resources: &'a [ResourceSubject],
    /// The session policy of the session the questions are about (EKS Pod Identity).
    session: Option<&'a NamedPolicy>,
    /// Answers by question: the key is `action (lowercased) \0 resource \0 all guarded`,
    /// built in `key` so that a repeated question allocates nothing.
    cache: HashMap<String, Option<Rc<Evaluation>>, BuildHasherDefault<KeyHasher>>,
    key: String,
}

impl<'a> Analyzer<'a> {
    pub fn new(identity: &'a PolicyIdentity) -> Self {
        let account = identity
            .principal
            .split(':')
            .nth(4)
            .unwrap_or_default()
            .to_string();
        // What the scanner knows of every request this identity makes.
        let mut context = Context::partial();
        context.set("aws:PrincipalArn", identity.principal.clone());
        if !account.is_empty() {
            context.set("aws:PrincipalAccount", account.clone());
            context.set("aws:ResourceAccount", account.clone());
        }
        Analyzer {
            identity,
            key_policy: None,
            account,
            context,
            guards: Guards::default(),
            resources: &[],
            session: None,
            cache: HashMap::with_capacity_and_hasher(256, Default::default()),
            key: String::new(),
        }
    }

    /// The organization guardrails over the identity (SCPs of its account, RCPs of its
    /// account for its own resources).
    pub fn with_guards(mut self, guards: Guards) -> Self {
        self.guards = guards;
        self
    }

    /// The organization the identity's account belongs to (`aws:PrincipalOrgID`), when known.
    pub fn with_principal_org(mut self, org: Option<&str>) -> Self {
        if let Some(o) = org {
            self.context.set("aws:PrincipalOrgID", o);
        }
        self
    }

    /// A session of the identity limited by `session` (the session policy an EKS Pod Identity
    /// association sets): every answer is the intersection with it.
    pub fn with_session(mut self, session: Option<&'a NamedPolicy>) -> Self {
        self.session = session;
        self
    }

    /// The resources whose policies may grant the identity access.
    pub fn with_resources(mut self, resources: &'a [ResourceSubject]) -> Self {
        self.resources = resources;
        self
    }

    /// Evaluates `action` on every (`all`) or some resource matching `resource`, with the
    /// guardrails; the answer is Some when it may be allowed.
    pub fn ask(&mut self, action: &str, resource: &str, all: bool) -> Option<Evaluation> {
        self.ask_with(action, resource, all, true)
            .filter(|e| e.may_be_allowed())
    }

    /// The full evaluation, with or without the guardrails (None on an invalid action).
    pub fn ask_with(
        &mut self,
        action: &str,
        resource: &str,
        all: bool,
        guarded: bool,
    ) -> Option<Evaluation> {
        self.ask_shared(action, resource, all, guarded)
            .map(|e| (*e).clone())
    }

    /// [`Analyzer::ask_with`], sharing the cached answer instead of copying it.
    fn ask_shared(
        &mut self,
        action: &str,
        resource: &str,
        all: bool,
        guarded: bool,
    ) -> Option<Rc<Evaluation>> {
        self.key.clear();
        self.key.push_str(action);
        self.key.make_ascii_lowercase();
        self.key.push('\0');
        self.key.push_str(resource);
        self.key.push('\0');
        self.key.push(if all { 'a' } else { 's' });
        self.key.push(if guarded { 'g' } else { 'f' });
        if let Some(hit) = self.cache.get(self.key.as_str()) {
            return hit.clone();
        }
        let key = self.key.clone();
        let target = if all {
            ResourceTarget::All(resource)
        } else {
            ResourceTarget::Any(resource)
        };
        let is_kms = action
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("kms:"));
        if is_kms && self.key_policy.is_none() {
            self.key_policy = Some(default_key_policy(&self.account));
        }
        let resource_policy = if is_kms {
            self.key_policy.as_ref().and_then(Option::as_ref)
        } else {
            None
        };
        let (scps, rcps): (&[Vec<NamedPolicy>], &[Vec<NamedPolicy>]) = if guarded {
            (
                self.guards.scps.levels(),
                if rcp_governs(action) {
                    self.guards.rcps.levels()
                } else {
                    &[]
                },
            )
        } else {
            (&[], &[])
        };
        // Capability questions are about the identity's own account: an ARN pattern with `*` for
        // the account must not turn into a cross-account request.
        let set = PolicySet {
            identity: &self.identity.policies,
            boundary: self.identity.boundary.as_ref(),
            session: self.session,
            scps,
            rcps,
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
        let answer = result.ok().map(without_guardrail_allows).map(Rc::new);
        self.cache.insert(key, answer.clone());
        answer
    }

    /// The full profile against the bundled capability classes and escalation paths, with the
    /// guardrails, and what the guardrails stop.
    pub fn profile(&mut self, caps: &Capabilities, catalog: &Catalog) -> AccessProfile {
        let names = grant_action_names(caps, catalog);
        let mut profile = self.profile_with(caps, &names, true);
        if self.guards.applied() {
            let free = self.profile_with(caps, &names, false);
            profile.guardrail_stops = self.stops(&free, &profile);
        }
        profile.guardrails = Some(self.guards.summary());
        self.resource_answers(caps, catalog, &mut profile);
        profile
    }

    fn profile_with(
        &mut self,
        caps: &Capabilities,
        names: &GrantActionNames,
        guarded: bool,
    ) -> AccessProfile {
        let ask = |me: &mut Self, action: &str, resource: &str, all: bool| {
            me.ask_shared(action, resource, all, guarded)
                .filter(|e| e.may_be_allowed())
        };
        let mut profile = AccessProfile {
            wildcard_grants: wildcard_grants(&self.identity.policies),
            ..Default::default()
        };
        profile.admin = self.admin(guarded);
        for (c, class) in caps.classes.iter().enumerate() {
            if class.id == "admin" {
                continue;
            }
            let mut best: Option<HeldCapability> = None;
            for (g, grant) in class.any_of.iter().enumerate() {
                if grant.require == Requirement::All {
                    continue;
                }
                let actions = names
                    .get(c)
                    .and_then(|class| class.get(g))
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                for name in actions {
                    for all in [true, false] {
                        if let Some(eval) = ask(self, name, &grant.resource, all) {
                            let reach = if all && self.every_known_key_allows(name, guarded) {
                                Reach::All
                            } else {
                                Reach::Some
                            };
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
                            merge(held, name, &eval);
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
                match ask(self, &step.action, &step.resource, false) {
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

    /// KMS: a key policy is required. A key whose collected policy does not let this identity
    /// use the key (neither naming it nor the account) keeps "every key" from holding.
    fn every_known_key_allows(&mut self, action: &str, guarded: bool) -> bool {
        if !action.to_ascii_lowercase().starts_with("kms:") {
            return true;
        }
        let resources = self.resources;
        for subject in resources
            .iter()
            .filter(|r| r.kind == ResourceKind::KmsKey && r.account == self.account)
        {
            let ResourcePolicyState::Attached(policy) = &subject.policy else {
                continue;
            };
            let allowed = self
                .eval_on(
                    subject,
                    policy,
                    action,
                    ResourceTarget::Arn(&subject.arn),
                    guarded,
                )
                .is_some_and(|e| e.may_be_allowed());
            if !allowed {
                return false;
            }
        }
        true
    }

    fn eval_on(
        &self,
        subject: &ResourceSubject,
        policy: &NamedPolicy,
        action: &str,
        target: ResourceTarget<'_>,
        guarded: bool,
    ) -> Option<Evaluation> {
        let (scps, rcps): (&[Vec<NamedPolicy>], &[Vec<NamedPolicy>]) = if guarded {
            (
                self.guards.scps.levels(),
                if rcp_governs(action) {
                    subject.rcps.levels()
                } else {
                    &[]
                },
            )
        } else {
            (&[], &[])
        };
        let set = PolicySet {
            identity: &self.identity.policies,
            boundary: self.identity.boundary.as_ref(),
            session: self.session,
            scps,
            rcps,
            resource: Some(policy),
        };
        let mut context = self.context.clone();
        context.set("aws:ResourceAccount", subject.account.clone());
        evaluate(
            &set,
            &Request {
                principal: &self.identity.principal,
                action,
                resource: target,
                resource_account: Some(&subject.account),
                context: &context,
            },
        )
        .ok()
        .map(without_guardrail_allows)
    }

    /// Capabilities on individual resources granted through their resource policies (same
    /// account: the resource policy alone may grant; cross account: both sides must allow).
    fn resource_answers(
        &mut self,
        caps: &Capabilities,
        catalog: &Catalog,
        profile: &mut AccessProfile,
    ) {
        let resources = self.resources;
        if resources.is_empty() {
            return;
        }
        for class in &caps.classes {
            if class.id == "admin" {
                continue;
            }
            if profile
                .capabilities
                .iter()
                .any(|c| c.id == class.id && c.reach == Reach::All)
            {
                continue;
            }
            for subject in resources {
                let actions: Vec<String> = class
                    .any_of
                    .iter()
                    .filter(|g| g.require != Requirement::All)
                    .flat_map(|g| {
                        let pattern = crate::matcher::ArnPattern::new(&g.resource);
                        let fits = match subject.kind {
                            ResourceKind::S3Bucket => {
                                pattern.matches(&format!("{}/object", subject.arn), false)
                            }
                            _ => pattern.matches(&subject.arn, false),
                        };
                        if fits {
                            g.actions(catalog)
                                .into_iter()
                                .map(|a| a.full_name())
                                .filter(|a| {
                                    a.split(':').next().is_some_and(|s| {
                                        s.eq_ignore_ascii_case(subject.kind.service())
                                    })
                                })
                                .collect()
                        } else {
                            Vec::new()
                        }
                    })
                    .collect();
                if actions.is_empty() {
                    continue;
                }
                let policy = match &subject.policy {
                    ResourcePolicyState::Attached(p) => p,
                    ResourcePolicyState::None => continue,
                    ResourcePolicyState::Unknown(why) => {
                        push_unique(
                            &mut profile.unknown_resources,
                            format!(
                                "`{}`: its resource policy is not known ({why}), so whether it grants `{}` is not known",
                                subject.arn, class.id
                            ),
                        );
                        continue;
                    }
                };
                let cross = subject.account != self.account;
                if cross && subject.kind == ResourceKind::S3Bucket && subject.public {
                    match subject.restrict_public {
                        Some(true) => continue,
                        Some(false) => {}
                        None => {
                            push_unique(
                                &mut profile.unknown_resources,
                                format!(
                                    "`{}`: its bucket policy is public, and whether Block Public Access (RestrictPublicBuckets) limits it to account {} is not known",
                                    subject.arn, subject.account
                                ),
                            );
                            continue;
                        }
                    }
                }
                let object = format!("{}/*", subject.arn);
                let target = match subject.kind {
                    ResourceKind::S3Bucket => ResourceTarget::Any(&object),
                    _ => ResourceTarget::Arn(&subject.arn),
                };
                let mut grant: Option<ResourceGrant> = None;
                for action in &actions {
                    let Some(eval) = self
                        .eval_on(subject, policy, action, target, true)
                        .filter(|e| e.may_be_allowed())
                    else {
                        continue;
                    };
                    // Only grants the resource policy takes part in; identity-only grants are
                    // already in the profile.
                    if !eval
                        .reasons
                        .iter()
                        .any(|r| r.statement.policy_type == "resource")
                    {
                        continue;
                    }
                    let g = grant.get_or_insert_with(|| ResourceGrant {
                        capability: class.id.clone(),
                        resource: subject.arn.clone(),
                        account: subject.account.clone(),
                        actions: Vec::new(),
                        granted_by: Vec::new(),
                        allowed_when: None,
                    });
                    push_unique(&mut g.actions, action.clone());
                    for r in &eval.reasons {
                        Granted::credit(&mut g.granted_by, r.statement.clone().into(), action);
                    }
                    if let (None, Some(f)) = (&g.allowed_when, &eval.allowed_when) {
                        g.allowed_when = Some(f.to_string());
                    }
                }
                let Some(g) = grant else { continue };
                // The identity holds the class on some resources now.
                let held = match profile.capabilities.iter().position(|c| c.id == class.id) {
                    Some(i) => &mut profile.capabilities[i],
                    None => {
                        profile.capabilities.push(HeldCapability {
                            id: class.id.clone(),
                            title: class.title.clone(),
                            reach: Reach::Some,
                            actions: Vec::new(),
                            granted_by: Vec::new(),
                            allowed_when: g.allowed_when.clone(),
                        });
                        let last = profile.capabilities.len() - 1;
                        &mut profile.capabilities[last]
                    }
                };
                for a in &g.actions {
                    push_unique(&mut held.actions, a.clone());
                }
                for r in &g.granted_by {
                    for a in &r.allows {
                        Granted::credit(&mut held.granted_by, r.by.clone(), a);
                    }
                }
                profile.resource_grants.push(g);
            }
        }
    }

    /// What the guardrails take away: held without them, not (or less) with them.
    fn stops(&mut self, free: &AccessProfile, guarded: &AccessProfile) -> Vec<GuardrailStop> {
        let mut out = Vec::new();
        if free.admin.is_some() && guarded.admin.is_none() {
            // The first probe the guardrails deny explains it.
            for probe in ADMIN_PROBES {
                if let Some(stop) = self.explain("admin", Reach::All, None, probe, "*", true) {
                    out.push(stop);
                    break;
                }
            }
        }
        for c in &free.capabilities {
            let remaining = guarded
                .capabilities
                .iter()
                .find(|g| g.id == c.id)
                .map(|g| g.reach);
            if remaining >= Some(c.reach) {
                continue;
            }
            let all = c.reach == Reach::All;
            let resource = "*";
            for action in &c.actions {
                if let Some(stop) = self.explain(&c.id, c.reach, remaining, action, resource, all) {
                    out.push(stop);
                    break;
                }
            }
        }
        for p in &free.escalation_paths {
            if guarded.escalation_paths.iter().any(|g| g.id == p.id) {
                continue;
            }
            for step in &p.steps {
                if let Some(stop) = self.explain(&p.id, Reach::Some, None, step, "*", false) {
                    out.push(stop);
                    break;
                }
            }
        }
        out
    }

    fn explain(
        &mut self,
        capability: &str,
        allowed_reach: Reach,
        remaining: Option<Reach>,
        action: &str,
        resource: &str,
        all: bool,
    ) -> Option<GuardrailStop> {
        let eval = self.ask_shared(action, resource, all, true)?;
        if eval.is_allowed() {
            return None;
        }
        let mut denied_by = Vec::new();
        for r in eval.reasons.iter().filter(|r| {
            r.effect == Effect::Deny && matches!(r.statement.policy_type, "scp" | "rcp")
        }) {
            Granted::credit(&mut denied_by, r.statement.clone().into(), action);
        }
        let no_allow: Vec<&'static str> = eval
            .blocked_by
            .iter()
            .copied()
            .filter(|b| matches!(*b, "scp" | "rcp"))
            .collect();
        if denied_by.is_empty() && no_allow.is_empty() {
            return None;
        }
        Some(GuardrailStop {
            capability: capability.to_string(),
            allowed_reach,
            remaining,
            action: action.to_string(),
            denied_by,
            no_allow,
        })
    }

    fn admin(&mut self, guarded: bool) -> Option<HeldCapability> {
        let mut held = HeldCapability {
            id: "admin".to_string(),
            title: "Administrator: every action on every resource".to_string(),
            reach: Reach::All,
            actions: vec!["*".to_string()],
            granted_by: Vec::new(),
            allowed_when: None,
        };
        for probe in ADMIN_PROBES {
            let eval = self
                .ask_shared(probe, "*", true, guarded)
                .filter(|e| e.may_be_allowed())?;
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

/// Guardrails only ever take away: their Allow statements (FullAWSAccess at every level) are
/// no reason for a grant, and are left out of the reasons.
/// The full names of the catalog actions of every grant, by class and grant (what
/// [`Grant::actions`](crate::catalog::Grant::actions) expands to).
type GrantActionNames = Vec<Vec<Vec<String>>>;

fn expand_grant_names(caps: &Capabilities, catalog: &Catalog) -> GrantActionNames {
    caps.classes
        .iter()
        .map(|class| {
            class
                .any_of
                .iter()
                .map(|grant| {
                    grant
                        .actions(catalog)
                        .into_iter()
                        .map(|a| a.full_name())
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// The expansion for `caps` over `catalog`: computed once for the bundled pair, which every
/// identity of a scan asks about, and per call for any other.
fn grant_action_names(
    caps: &Capabilities,
    catalog: &Catalog,
) -> std::borrow::Cow<'static, GrantActionNames> {
    static BUNDLED: std::sync::OnceLock<GrantActionNames> = std::sync::OnceLock::new();
    let bundled = Capabilities::try_bundled()
        .ok()
        .zip(Catalog::try_bundled().ok())
        .is_some_and(|(c, k)| std::ptr::eq(c, caps) && std::ptr::eq(k, catalog));
    if bundled {
        std::borrow::Cow::Borrowed(BUNDLED.get_or_init(|| expand_grant_names(caps, catalog)))
    } else {
        std::borrow::Cow::Owned(expand_grant_names(caps, catalog))
    }
}

pub(crate) fn without_guardrail_allows(mut eval: Evaluation) -> Evaluation {
    eval.reasons.retain(|r| {
        !(r.effect == Effect::Allow && matches!(r.statement.policy_type, "scp" | "rcp"))
    });
    eval
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
