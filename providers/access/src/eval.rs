//! The AWS policy evaluation flow: explicit deny, SCPs and RCPs per level, identity policies
//! capped by the permission boundary and the session policy, and resource policies with the
//! same-account and cross-account rules (IAM User Guide, "Policy evaluation logic").
//!
//! Every partial answer is three-valued ([`Tri`]): when context values are unknown the result
//! says "allowed when <formula>" instead of guessing.

use std::fmt;

use crate::condition::{evaluate_condition, Atom, Context, Formula, Resolved, StatementRef, Tri};
use crate::matcher::{Arn, ArnPattern};
use crate::policy::{
    ActionElement, Effect, Policy, PrincipalElement, PrincipalKind, Principals, ResourceElement,
    Statement,
};

/// Errors from evaluating a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// The action is not `service:Action`.
    #[error("invalid action `{0}`: expected `service:Action`")]
    InvalidAction(String),
    /// The principal is empty.
    #[error("empty principal")]
    EmptyPrincipal,
}

/// A policy with the name reasons refer to.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedPolicy {
    /// The policy's name (`AmazonS3ReadOnlyAccess`, `inline/foo`, ...).
    pub name: String,
    /// The parsed document.
    pub policy: Policy,
}

impl NamedPolicy {
    /// Pairs a name with a policy.
    pub fn new(name: impl Into<String>, policy: Policy) -> NamedPolicy {
        NamedPolicy {
            name: name.into(),
            policy,
        }
    }
}

/// Every policy that applies to one request.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicySet<'a> {
    /// Identity policies of the principal (user + groups, or role).
    pub identity: &'a [NamedPolicy],
    /// The permission boundary, if one is set.
    pub boundary: Option<&'a NamedPolicy>,
    /// The session policy, if the session has one.
    pub session: Option<&'a NamedPolicy>,
    /// SCPs, one list per level of the organization path, root first, account last.
    pub scps: &'a [Vec<NamedPolicy>],
    /// RCPs, one list per level, root first (empty: no RCP layer).
    pub rcps: &'a [Vec<NamedPolicy>],
    /// The resource-based policy (bucket policy, trust policy, key policy, ...), if any.
    pub resource: Option<&'a NamedPolicy>,
}

/// The resource a request is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceTarget<'a> {
    /// One resource ARN (or `*` for actions that take no resource).
    Arn(&'a str),
    /// "Is there at least one resource matching this pattern (`*` = any) on which the action is
    /// allowed?" Over-approximates when different policy types allow disjoint parts of the
    /// scope, or when several Deny statements together cover it.
    Any(&'a str),
    /// "Is the action allowed on every resource matching this pattern (`*` = all)?"
    /// Under-approximates when several Allow statements together cover the scope.
    All(&'a str),
}

/// One request to evaluate.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The calling principal: user, role, assumed-role session ARN, federated user, or a
    /// service principal such as `ec2.amazonaws.com`.
    pub principal: &'a str,
    /// `service:Action`.
    pub action: &'a str,
    /// The resource.
    pub resource: ResourceTarget<'a>,
    /// The account owning the resource; `None`: the ARN's account, else the principal's.
    pub resource_account: Option<&'a str>,
    /// The request context.
    pub context: &'a Context,
}

/// The final decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// The request is allowed.
    Allowed,
    /// No applicable Allow (or a layer without an Allow).
    ImplicitlyDenied,
    /// An applicable Deny statement.
    ExplicitlyDenied,
}

impl Decision {
    /// The name used in reports (`Allowed`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allowed => "Allowed",
            Decision::ImplicitlyDenied => "ImplicitlyDenied",
            Decision::ExplicitlyDenied => "ExplicitlyDenied",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A statement that took part in the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// Allow or Deny.
    pub effect: Effect,
    /// Where the statement is.
    pub statement: StatementRef,
    /// Whether its match depends on unknown context values.
    pub conditional: bool,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} by {}", self.effect, self.statement)?;
        if self.conditional {
            f.write_str(" (conditional)")?;
        }
        Ok(())
    }
}

/// The result of evaluating a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The decision. When [`Evaluation::allowed_when`] is set, this is `Allowed` and means
    /// "allowed exactly when the formula holds, denied otherwise".
    pub decision: Decision,
    /// The residual condition over unknown context values, if the answer depends on them.
    pub allowed_when: Option<Formula>,
    /// Statements that matched (Deny statements for a denial, Allow statements otherwise).
    pub reasons: Vec<Reason>,
    /// For an implicit deny: the layers that lacked an Allow (`identity`, `boundary`,
    /// `session`, `scp`, `rcp`, `resource`).
    pub blocked_by: Vec<&'static str>,
}

impl Evaluation {
    /// Allowed whatever the unknown values are.
    pub fn is_allowed(&self) -> bool {
        self.decision == Decision::Allowed && self.allowed_when.is_none()
    }

    /// Allowed for at least some values of the unknowns.
    pub fn may_be_allowed(&self) -> bool {
        self.decision == Decision::Allowed
    }

    /// Whether the answer depends on unknown context values.
    pub fn is_conditional(&self) -> bool {
        self.allowed_when.is_some()
    }
}

/// An identity whose permissions a caller asks about: identity policies and an optional
/// boundary (SCPs and other layers can be added through [`PolicyIdentity::evaluate_with`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyIdentity {
    /// The principal ARN (user, role, or session).
    pub principal: String,
    /// Identity policies.
    pub policies: Vec<NamedPolicy>,
    /// Permission boundary.
    pub boundary: Option<NamedPolicy>,
}

impl PolicyIdentity {
    /// Whether `action` is allowed on `resource` given `context` (use [`Context::partial`]
    /// for scan-time questions).
    pub fn evaluate(
        &self,
        action: &str,
        resource: ResourceTarget<'_>,
        context: &Context,
    ) -> Result<Evaluation, EvalError> {
        self.evaluate_with(&[], None, action, resource, context)
    }

    /// Like [`PolicyIdentity::evaluate`], with SCP levels and a resource policy.
    pub fn evaluate_with(
        &self,
        scps: &[Vec<NamedPolicy>],
        resource_policy: Option<&NamedPolicy>,
        action: &str,
        resource: ResourceTarget<'_>,
        context: &Context,
    ) -> Result<Evaluation, EvalError> {
        let set = PolicySet {
            identity: &self.policies,
            boundary: self.boundary.as_ref(),
            session: None,
            scps,
            rcps: &[],
            resource: resource_policy,
        };
        evaluate(
            &set,
            &Request {
                principal: &self.principal,
                action,
                resource,
                resource_account: None,
                context,
            },
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Principals
// ---------------------------------------------------------------------------------------------

/// The shape of the request principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller<'a> {
    /// `arn:aws:sts::A:assumed-role/R/S`.
    Session { account: &'a str, role: &'a str },
    /// `arn:aws:sts::A:federated-user/N`.
    FederatedUser { account: &'a str },
    /// `arn:aws:iam::A:role/PATH/R`: a request "by the role" is made by one of its sessions,
    /// so the role's boundary and the session policy limit what names the role ARN.
    Role { account: &'a str },
    /// Another IAM ARN (user, root).
    Iam { account: &'a str },
    /// A service principal or anything else.
    Other,
}

impl<'a> Caller<'a> {
    fn parse(principal: &'a str) -> Caller<'a> {
        let Some(arn) = Arn::parse(principal) else {
            return Caller::Other;
        };
        if arn.service == "sts" {
            if let Some(rest) = arn.resource.strip_prefix("assumed-role/") {
                let role = rest.split('/').next().unwrap_or("");
                return Caller::Session {
                    account: arn.account,
                    role,
                };
            }
            if arn.resource.starts_with("federated-user/") {
                return Caller::FederatedUser {
                    account: arn.account,
                };
            }
        }
        if arn.service.eq_ignore_ascii_case("iam") && arn.resource.starts_with("role/") {
            return Caller::Role {
                account: arn.account,
            };
        }
        Caller::Iam {
            account: arn.account,
        }
    }

    fn account(&self) -> Option<&'a str> {
        match *self {
            Caller::Session { account, .. }
            | Caller::FederatedUser { account }
            | Caller::Role { account }
            | Caller::Iam { account } => Some(account),
            Caller::Other => None,
        }
    }
}

/// How a resource policy's principal element matched the caller; decides which limits apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Grant {
    /// Matched as "the account": the identity side must allow too.
    Account,
    /// The role ARN, for a session of that role or a caller given as the role ARN itself:
    /// the boundary and the session policy still limit (IAM User Guide, "Permissions
    /// boundaries for IAM entities" and "Session policies").
    RoleOfSession,
    /// `*`: the boundary does not limit, the session policy does.
    Wildcard,
    /// The caller's exact ARN (user, session, federated user, service): nothing else limits.
    /// A role ARN is never `Exact`: it is [`Grant::RoleOfSession`].
    Exact,
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn principal_value_grant(
    value: &str,
    principal: &str,
    caller: &Caller<'_>,
    negated: bool,
) -> Option<Grant> {
    if value == "*" {
        return Some(Grant::Wildcard);
    }
    if value == principal {
        return Some(match caller {
            Caller::Role { .. } => Grant::RoleOfSession,
            _ => Grant::Exact,
        });
    }
    let acct = if is_account_id(value) {
        Some(value)
    } else {
        Arn::parse(value)
            .filter(|a| a.service.eq_ignore_ascii_case("iam") && a.resource == "root")
            .map(|a| a.account)
    };
    if let Some(a) = acct {
        return (caller.account() == Some(a)).then_some(Grant::Account);
    }
    if negated {
        return None;
    }
    if let Caller::Session { account, role } = caller {
        if let Some(arn) = Arn::parse(value) {
            if arn.service.eq_ignore_ascii_case("iam") && arn.account == *account {
                if let Some(path) = arn.resource.strip_prefix("role/") {
                    if path.rsplit('/').next() == Some(*role) {
                        return Some(Grant::RoleOfSession);
                    }
                }
            }
        }
    }
    None
}

fn principals_grant(
    ps: &Principals,
    principal: &str,
    caller: &Caller<'_>,
    negated: bool,
) -> Option<Grant> {
    match ps {
        Principals::Any => Some(Grant::Wildcard),
        Principals::Map(entries) => {
            let mut best = None;
            for (kind, values) in entries {
                for v in values {
                    let g = match kind {
                        PrincipalKind::Aws => principal_value_grant(v, principal, caller, negated),
                        _ => (v == principal || v == "*").then_some(if v == "*" {
                            Grant::Wildcard
                        } else {
                            Grant::Exact
                        }),
                    };
                    best = best.max(g);
                }
            }
            best
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Statement matching
// ---------------------------------------------------------------------------------------------

struct Prepared<'a> {
    principal: &'a str,
    caller: Caller<'a>,
    prefix_lower: std::borrow::Cow<'a, str>,
    name: &'a str,
    target: ResourceTarget<'a>,
    /// The request ARN split on its first five colons (for `ResourceTarget::Arn`).
    arn_parts: crate::matcher::ArnParts<'a>,
    scope: Option<std::rc::Rc<ArnPattern>>,
    ctx: &'a Context,
    has_boundary: bool,
}

fn action_matches(stmt: &Statement, p: &Prepared<'_>) -> bool {
    match &stmt.action {
        ActionElement::Action(list) => list.iter().any(|a| a.matches(&p.prefix_lower, p.name)),
        ActionElement::NotAction(list) => !list.iter().any(|a| a.matches(&p.prefix_lower, p.name)),
    }
}

fn resource_matches(stmt: &Statement, p: &Prepared<'_>, src: &dyn Fn() -> StatementRef) -> Tri {
    let (patterns, negated) = match &stmt.resource {
        None => return Tri::True,
        Some(ResourceElement::Resource(l)) => (l, false),
        Some(ResourceElement::NotResource(l)) => (l, true),
    };
    // For scope questions: does the element need to cover the scope, or only touch it?
    let cover = match p.target {
        ResourceTarget::Arn(_) => false,
        ResourceTarget::Any(_) => stmt.effect == Effect::Deny,
        ResourceTarget::All(_) => stmt.effect == Effect::Allow,
    };
    let mut any = Tri::False;
    for t in patterns {
        let pat = match t.resolve_arn(p.ctx) {
            Ok(pat) => pat,
            Err(Resolved::Unknown(key)) => {
                any = any.or(Tri::Unknown(Formula::Atom(Box::new(Atom {
                    operator: "ResourceVariable".to_string(),
                    key,
                    values: vec![t.text().to_string()],
                    source: src(),
                }))));
                continue;
            }
            Err(_) => {
                // An unresolved variable: AWS says the statement may be invalid. In a
                // NotResource whose other segments match, the element does not match and the
                // statement does not apply; in a Resource the pattern matches nothing.
                if negated {
                    let wide = t.widened_arn();
                    let touches = match p.target {
                        ResourceTarget::Arn(arn) => wide.prefix_matches(arn),
                        _ => p.scope.as_ref().is_some_and(|s| s.overlaps(&wide)),
                    };
                    if touches {
                        return Tri::False;
                    }
                }
                continue;
            }
        };
        let hit = match (p.target, &p.scope) {
            (ResourceTarget::Arn(_), _) => pat.matches_parts(&p.arn_parts, false),
            (_, Some(scope)) => {
                // Resource: cover => scope ⊆ pat; touch => overlap.
                // NotResource: the complement must cover/touch the scope, i.e. for cover no
                // pattern may overlap the scope, for touch the scope must not lie in a pattern;
                // we compute "some pattern hits" with the dual test and negate below.
                if negated != cover {
                    scope.is_within(&pat)
                } else {
                    scope.overlaps(&pat)
                }
            }
            (_, None) => false,
        };
        if hit {
            any = Tri::True;
            break;
        }
    }
    if negated {
        any.negate()
    } else {
        any
    }
}

fn conditions_match(stmt: &Statement, ctx: &Context, src: &dyn Fn() -> StatementRef) -> Tri {
    let mut acc = Tri::True;
    for c in &stmt.conditions {
        acc = acc.and(evaluate_condition(c, ctx, src));
        if acc.is_false() {
            break;
        }
    }
    acc
}

/// The result of scanning one policy (or one layer) for matching statements.
struct Scan {
    allow: Tri,
    deny: Tri,
}

/// Matches the statements of a policy without a principal element.
fn scan_policy(
    policy_type: &'static str,
    np: &NamedPolicy,
    p: &Prepared<'_>,
    scan: &mut Scan,
    reasons: &mut Vec<Reason>,
) {
    for (i, stmt) in np.policy.statements.iter().enumerate() {
        if !action_matches(stmt, p) {
            continue;
        }
        let src = || StatementRef {
            policy_type,
            policy: np.name.clone(),
            index: i,
            sid: stmt.sid.clone(),
        };
        let m = resource_matches(stmt, p, &src);
        if m.is_false() {
            continue;
        }
        let m = if stmt.conditions.is_empty() {
            m
        } else {
            m.and(conditions_match(stmt, p.ctx, &src))
        };
        if m.is_false() {
            continue;
        }
        reasons.push(Reason {
            effect: stmt.effect,
            statement: src(),
            conditional: !m.is_true(),
        });
        match stmt.effect {
            Effect::Allow => scan.allow = std::mem::replace(&mut scan.allow, Tri::False).or(m),
            Effect::Deny => scan.deny = std::mem::replace(&mut scan.deny, Tri::False).or(m),
        }
    }
}

fn new_scan() -> Scan {
    Scan {
        allow: Tri::False,
        deny: Tri::False,
    }
}

/// Whether the action needs the resource policy to allow it even in the same account.
fn needs_resource_policy(prefix_lower: &str, name: &str) -> bool {
    (prefix_lower == "sts" && name.to_ascii_lowercase().starts_with("assumerole"))
        || prefix_lower == "kms"
}

thread_local! {
    /// Scope patterns compiled recently on this thread: capability questions ask about a few
    /// dozen scopes (`*`, `arn:aws:s3:::*/*`, ...) over and over.
    static SCOPES: std::cell::RefCell<Vec<(Box<str>, std::rc::Rc<ArnPattern>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The compiled pattern of a scope question, from the thread's cache when it was seen.
fn compiled_scope(scope: &str) -> std::rc::Rc<ArnPattern> {
    const KEEP: usize = 64;
    SCOPES.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((_, p)) = cache.iter().find(|(s, _)| &**s == scope) {
            return p.clone();
        }
        let p = std::rc::Rc::new(ArnPattern::new(scope));
        if cache.len() >= KEEP {
            cache.clear();
        }
        cache.push((scope.into(), p.clone()));
        p
    })
}

/// Evaluates a request against a set of policies.
pub fn evaluate(set: &PolicySet<'_>, req: &Request<'_>) -> Result<Evaluation, EvalError> {
    let (prefix, name) = req
        .action
        .split_once(':')
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .ok_or_else(|| EvalError::InvalidAction(req.action.to_string()))?;
    if req.principal.is_empty() {
        return Err(EvalError::EmptyPrincipal);
    }
    let caller = Caller::parse(req.principal);
    let scope = match req.resource {
        ResourceTarget::Arn(_) => None,
        ResourceTarget::Any(s) | ResourceTarget::All(s) => Some(compiled_scope(s)),
    };
    let p = Prepared {
        principal: req.principal,
        caller,
        prefix_lower: if prefix.bytes().any(|b| b.is_ascii_uppercase()) {
            std::borrow::Cow::Owned(prefix.to_ascii_lowercase())
        } else {
            std::borrow::Cow::Borrowed(prefix)
        },
        name,
        target: req.resource,
        arn_parts: match req.resource {
            ResourceTarget::Arn(a) => crate::matcher::ArnParts::new(a),
            _ => crate::matcher::ArnParts::new(""),
        },
        scope,
        ctx: req.context,
        has_boundary: set.boundary.is_some(),
    };
    let resource_arn = match req.resource {
        ResourceTarget::Arn(a) | ResourceTarget::Any(a) | ResourceTarget::All(a) => a,
    };
    let resource_account = req
        .resource_account
        .filter(|a| !a.is_empty())
        .or_else(|| {
            Arn::parse(resource_arn)
                .map(|a| a.account)
                .filter(|a| !a.is_empty())
        })
        .or(caller.account());
    // A service principal (`ec2.amazonaws.com`) belongs to no customer account and has no
    // identity policies: a resource policy that names it grants on its own, as it does in the
    // same account (IAM User Guide, "AWS JSON policy elements: Principal", service principals).
    let same_account = resource_account == caller.account() || caller == Caller::Other;

    let mut reasons: Vec<Reason> = Vec::new();
    let mut blocked_by: Vec<&'static str> = Vec::new();

    // Identity.
    let mut identity = new_scan();
    for np in set.identity {
        scan_policy("identity", np, &p, &mut identity, &mut reasons);
    }
    let mut deny = identity.deny;
    let identity_allow = identity.allow;

    let layer = |policy_type: &'static str,
                 np: Option<&NamedPolicy>,
                 deny: &mut Tri,
                 reasons: &mut Vec<Reason>|
     -> Tri {
        match np {
            None => Tri::True,
            Some(np) => {
                let mut s = new_scan();
                scan_policy(policy_type, np, &p, &mut s, reasons);
                *deny = std::mem::replace(deny, Tri::False).or(s.deny);
                s.allow
            }
        }
    };
    let boundary_ok = layer("boundary", set.boundary, &mut deny, &mut reasons);
    let session_ok = layer("session", set.session, &mut deny, &mut reasons);

    // Organization layers: an Allow needed at every level.
    let org = |policy_type: &'static str,
               levels: &[Vec<NamedPolicy>],
               deny: &mut Tri,
               reasons: &mut Vec<Reason>|
     -> Tri {
        let mut ok = Tri::True;
        for level in levels {
            let mut s = new_scan();
            for np in level {
                scan_policy(policy_type, np, &p, &mut s, reasons);
            }
            *deny = std::mem::replace(deny, Tri::False).or(s.deny);
            ok = ok.and(s.allow);
        }
        ok
    };
    let scp_ok = org("scp", set.scps, &mut deny, &mut reasons);
    let rcp_ok = org("rcp", set.rcps, &mut deny, &mut reasons);

    // Resource policy.
    let mut rp_any = Tri::False; // any Allow naming the caller or its account
    let mut rp_grant = Tri::False; // Allows that grant on their own (same account)
    if let Some(np) = set.resource {
        for (i, stmt) in np.policy.statements.iter().enumerate() {
            if !action_matches(stmt, &p) {
                continue;
            }
            let grant = match &stmt.principal {
                None => None,
                Some(PrincipalElement::Principal(ps)) => {
                    principals_grant(ps, p.principal, &p.caller, false)
                }
                Some(PrincipalElement::NotPrincipal(ps)) => {
                    let listed = principals_grant(ps, p.principal, &p.caller, true).is_some();
                    if stmt.effect == Effect::Deny && p.has_boundary {
                        // IAM User Guide, permissions boundaries: a Deny with NotPrincipal in a
                        // resource policy always denies principals that have a boundary.
                        Some(Grant::Exact)
                    } else if listed {
                        None
                    } else {
                        Some(Grant::Exact)
                    }
                }
            };
            let Some(grant) = grant else { continue };
            let src = || StatementRef {
                policy_type: "resource",
                policy: np.name.clone(),
                index: i,
                sid: stmt.sid.clone(),
            };
            let m = resource_matches(stmt, &p, &src);
            if m.is_false() {
                continue;
            }
            let m = m.and(conditions_match(stmt, p.ctx, &src));
            if m.is_false() {
                continue;
            }
            reasons.push(Reason {
                effect: stmt.effect,
                statement: src(),
                conditional: !m.is_true(),
            });
            match stmt.effect {
                Effect::Deny => deny = deny.or(m),
                Effect::Allow => {
                    rp_any = rp_any.or(m.clone());
                    let limited = match grant {
                        Grant::Account => Tri::False,
                        Grant::RoleOfSession => m.and(boundary_ok.clone()).and(session_ok.clone()),
                        Grant::Wildcard => m.and(session_ok.clone()),
                        Grant::Exact => m,
                    };
                    rp_grant = rp_grant.or(limited);
                }
            }
        }
    }

    let identity_path = identity_allow
        .clone()
        .and(boundary_ok.clone())
        .and(session_ok.clone());
    let mut granted = if same_account {
        identity_path.clone().or(rp_grant)
    } else {
        identity_path.clone().and(rp_any.clone())
    };
    if needs_resource_policy(&p.prefix_lower, name) {
        granted = granted.and(rp_any.clone());
    }
    let allowed = deny
        .clone()
        .negate()
        .and(scp_ok.clone())
        .and(rcp_ok.clone())
        .and(granted.clone());

    let (decision, allowed_when) = match allowed {
        Tri::True => (Decision::Allowed, None),
        Tri::Unknown(f) => (Decision::Allowed, Some(f)),
        Tri::False => {
            if deny.is_true() {
                (Decision::ExplicitlyDenied, None)
            } else {
                (Decision::ImplicitlyDenied, None)
            }
        }
    };
    match decision {
        Decision::ExplicitlyDenied => {
            reasons.retain(|r| r.effect == Effect::Deny && !r.conditional)
        }
        Decision::ImplicitlyDenied => {
            reasons.retain(|r| r.effect == Effect::Deny);
            let needs_rp = !same_account || needs_resource_policy(&p.prefix_lower, name);
            let checks = [
                ("scp", scp_ok.is_false()),
                ("rcp", rcp_ok.is_false()),
                ("identity", !granted.is_true() && identity_allow.is_false()),
                ("boundary", !granted.is_true() && boundary_ok.is_false()),
                ("session", !granted.is_true() && session_ok.is_false()),
                ("resource", needs_rp && rp_any.is_false()),
            ];
            blocked_by.extend(checks.iter().filter(|(_, b)| *b).map(|(n, _)| *n));
        }
        Decision::Allowed => {
            if allowed_when.is_none() {
                reasons.retain(|r| r.effect == Effect::Allow);
            }
        }
    }
    Ok(Evaluation {
        decision,
        allowed_when,
        reasons,
        blocked_by,
    })
}

#[cfg(test)]
mod tests {
    //! Which limits apply to a same-account resource-policy grant, by the principal it names
    //! (IAM User Guide: "Policy evaluation logic", "Permissions boundaries for IAM entities",
    //! "Session policies"). Each case is checked with and without the limiting policy, so a
    //! flip of the deciding input flips the decision.
    use super::*;
    use serde_json::json;

    const A: &str = "111122223333";

    fn pol(v: serde_json::Value) -> NamedPolicy {
        match Policy::from_value(&v) {
            Ok(p) => NamedPolicy::new("p", p),
            Err(e) => panic!("test policy does not parse: {e}"),
        }
    }

    fn allow_only_list() -> NamedPolicy {
        pol(json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}))
    }

    fn bucket_policy(principal: serde_json::Value) -> NamedPolicy {
        pol(json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::b/*"}]}))
    }

    fn decide(
        caller: &str,
        rp: &NamedPolicy,
        boundary: Option<&NamedPolicy>,
        session: Option<&NamedPolicy>,
    ) -> Decision {
        let ctx = Context::default();
        let set = PolicySet {
            identity: &[],
            boundary,
            session,
            scps: &[],
            rcps: &[],
            resource: Some(rp),
        };
        let req = Request {
            principal: caller,
            action: "s3:GetObject",
            resource: ResourceTarget::Arn("arn:aws:s3:::b/k"),
            resource_account: Some(A),
            context: &ctx,
        };
        match evaluate(&set, &req) {
            Ok(e) => e.decision,
            Err(e) => panic!("evaluation failed: {e}"),
        }
    }

    #[test]
    fn role_arn_named_is_limited_by_the_boundary() {
        let role = format!("arn:aws:iam::{A}:role/app");
        let rp = bucket_policy(json!({"AWS": role}));
        let limit = allow_only_list();
        assert_eq!(decide(&role, &rp, None, None), Decision::Allowed);
        assert_eq!(
            decide(&role, &rp, Some(&limit), None),
            Decision::ImplicitlyDenied
        );
        // A session of the role: the same, the role ARN does not escape the boundary.
        let sess = format!("arn:aws:sts::{A}:assumed-role/app/s1");
        assert_eq!(decide(&sess, &rp, None, None), Decision::Allowed);
        assert_eq!(
            decide(&sess, &rp, Some(&limit), None),
            Decision::ImplicitlyDenied
        );
    }

    #[test]
    fn role_arn_named_is_limited_by_the_session_policy() {
        let role = format!("arn:aws:iam::{A}:role/app");
        let rp = bucket_policy(json!({"AWS": role}));
        let limit = allow_only_list();
        assert_eq!(
            decide(&role, &rp, None, Some(&limit)),
            Decision::ImplicitlyDenied
        );
        let sess = format!("arn:aws:sts::{A}:assumed-role/app/s1");
        assert_eq!(
            decide(&sess, &rp, None, Some(&limit)),
            Decision::ImplicitlyDenied
        );
        assert_eq!(decide(&sess, &rp, None, None), Decision::Allowed);
    }

    #[test]
    fn session_arn_named_escapes_boundary_and_session_policy() {
        let sess = format!("arn:aws:sts::{A}:assumed-role/app/s1");
        let rp = bucket_policy(json!({"AWS": sess}));
        let limit = allow_only_list();
        assert_eq!(decide(&sess, &rp, Some(&limit), None), Decision::Allowed);
        assert_eq!(decide(&sess, &rp, None, Some(&limit)), Decision::Allowed);
        assert_eq!(
            decide(&sess, &rp, Some(&limit), Some(&limit)),
            Decision::Allowed
        );
        // Another session of the same role is not named: nothing grants.
        let other = format!("arn:aws:sts::{A}:assumed-role/app/s2");
        assert_eq!(decide(&other, &rp, None, None), Decision::ImplicitlyDenied);
    }

    #[test]
    fn user_arn_named_is_not_limited_by_the_boundary() {
        let user = format!("arn:aws:iam::{A}:user/alice");
        let rp = bucket_policy(json!({"AWS": user}));
        let limit = allow_only_list();
        assert_eq!(decide(&user, &rp, Some(&limit), None), Decision::Allowed);
        // Another user is not named.
        let bob = format!("arn:aws:iam::{A}:user/bob");
        assert_eq!(
            decide(&bob, &rp, Some(&limit), None),
            Decision::ImplicitlyDenied
        );
    }

    #[test]
    fn account_named_needs_the_identity_side() {
        let role = format!("arn:aws:iam::{A}:role/app");
        let rp = bucket_policy(json!({"AWS": format!("arn:aws:iam::{A}:root")}));
        assert_eq!(decide(&role, &rp, None, None), Decision::ImplicitlyDenied);
        let ctx = Context::default();
        let id = [pol(json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))];
        let set = PolicySet {
            identity: &id,
            resource: Some(&rp),
            ..PolicySet::default()
        };
        let req = Request {
            principal: &role,
            action: "s3:GetObject",
            resource: ResourceTarget::Arn("arn:aws:s3:::b/k"),
            resource_account: Some(A),
            context: &ctx,
        };
        assert_eq!(
            evaluate(&set, &req).map(|e| e.decision),
            Ok(Decision::Allowed)
        );
    }

    #[test]
    fn service_principal_named_grants_on_its_own() {
        let rp = bucket_policy(json!({"Service": "ec2.amazonaws.com"}));
        assert_eq!(
            decide("ec2.amazonaws.com", &rp, None, None),
            Decision::Allowed
        );
        assert_eq!(
            decide("lambda.amazonaws.com", &rp, None, None),
            Decision::ImplicitlyDenied
        );
    }
}
