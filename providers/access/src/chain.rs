//! Role chains: reach is transitive through `sts:AssumeRole` and the EKS Pod Identity
//! `targetRoleArn`.
//!
//! An edge R1 → R2 exists when a session of R1 may call `sts:AssumeRole` on R2:
//! - R1's side: its identity policies (capped by its permission boundary) and the SCPs over its
//!   account;
//! - R2's side: its trust policy must admit R1, and the RCPs over R2's account (STS is governed
//!   by RCPs) must not deny. A trust that names R1's role ARN grants by itself in the same
//!   account; a trust that names R1's account (`arn:aws:iam::A:root`) needs R1's identity policy
//!   too; across accounts both sides are always needed (IAM User Guide, "Cross-account policy
//!   evaluation logic"; trust policies must always allow, even in the same account).
//!
//! The edges of an identity are computed once (candidates come from an index of the trust
//! policies' principals, so a role is only evaluated against trusts that name it, its account or
//! everyone); the search is breadth-first, bounded by a depth, cycle-safe, and visits
//! identities in id order so the result is deterministic.

use crate::condition::Context;
use crate::eval::{evaluate, NamedPolicy, PolicyIdentity, PolicySet, Request, ResourceTarget};
use crate::guardrail::{account_of, OrgGuardrails};
use crate::policy::{Effect, PrincipalElement, PrincipalKind, Principals};
use crate::reason::Granted;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;

/// The default bound on the number of hops.
pub const DEFAULT_MAX_DEPTH: usize = 5;

/// How one identity leads to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HopKind {
    /// A session of `from` calls `sts:AssumeRole` on `to`.
    AssumeRole,
    /// An EKS Pod Identity association uses `from` to assume its `targetRoleArn` `to`.
    PodIdentityTarget,
}

/// One hop of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub from: String,
    pub to: String,
    pub kind: HopKind,
    /// The statements that allow the hop (R1's identity policy, R2's trust policy).
    pub granted_by: Vec<Granted>,
    /// "allowed when ..." when the hop depends on unknown condition values.
    pub allowed_when: Option<String>,
}

fn account_label(arn: &str) -> String {
    account_of(arn)
        .map(|a| format!(" (account {a})"))
        .unwrap_or_default()
}

impl fmt::Display for Hop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match self.kind {
            HopKind::AssumeRole => "sts:AssumeRole",
            HopKind::PodIdentityTarget => "Pod Identity targetRoleArn",
        };
        write!(
            f,
            "`{}`{} → {how} → `{}`{}",
            self.from,
            account_label(&self.from),
            self.to,
            account_label(&self.to)
        )?;
        if let Some(w) = &self.allowed_when {
            write!(f, " (allowed when {w})")?;
        }
        Ok(())
    }
}

/// A chain of hops as one phrase: `` `R1` (account A) → sts:AssumeRole → `R2` (account B) → ...``.
pub fn describe_hops(hops: &[Hop]) -> String {
    let mut s = String::new();
    for (i, h) in hops.iter().enumerate() {
        if i == 0 {
            s.push_str(&h.to_string());
        } else {
            let how = match h.kind {
                HopKind::AssumeRole => "sts:AssumeRole",
                HopKind::PodIdentityTarget => "Pod Identity targetRoleArn",
            };
            s.push_str(&format!(" → {how} → `{}`{}", h.to, account_label(&h.to)));
            if let Some(w) = &h.allowed_when {
                s.push_str(&format!(" (allowed when {w})"));
            }
        }
    }
    s
}

/// An exposure with its chain: `who → node role R1 → sts:AssumeRole → R2`.
pub fn describe(e: &crate::Exposure) -> String {
    if e.via.is_empty() {
        return e.to_string();
    }
    let noun = match (&e.route, e.via.first().map(|h| h.kind)) {
        (crate::exposure::Route::NodePool { .. }, _) => "node role ",
        (_, Some(HopKind::PodIdentityTarget)) => "association role ",
        _ => "role ",
    };
    format!("{e} → {noun}{}", describe_hops(&e.via))
}

/// An AssumeRole edge that identity and trust policies allow and a guardrail stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutEdge {
    pub from: String,
    pub to: String,
    /// The SCP or RCP statements that deny it, or the kinds that lack an Allow.
    pub by: Vec<String>,
}

/// What a role can assume: edges and guardrail-cut edges, per role.
#[derive(Debug, Clone, Default)]
pub struct RoleGraph {
    edges: BTreeMap<String, Vec<Hop>>,
    cut: BTreeMap<String, Vec<CutEdge>>,
}

/// The trust policies of the inventory's roles, parsed once, indexed by the principals they
/// name.
pub struct TrustIndex {
    /// By role id: its trust policy.
    trusts: HashMap<String, NamedPolicy>,
    /// Principal ARN → roles whose trust names it.
    by_arn: HashMap<String, BTreeSet<String>>,
    /// Account id → roles whose trust names the account.
    by_account: HashMap<String, BTreeSet<String>>,
    /// Roles whose trust names everyone.
    anyone: BTreeSet<String>,
}

impl TrustIndex {
    /// Indexes the trust policies of `roles` (id, trust document).
    pub fn new<'a>(roles: impl Iterator<Item = (&'a str, &'a serde_json::Value)>) -> TrustIndex {
        let mut index = TrustIndex {
            trusts: HashMap::new(),
            by_arn: HashMap::new(),
            by_account: HashMap::new(),
            anyone: BTreeSet::new(),
        };
        for (id, doc) in roles {
            let Ok(policy) = crate::Policy::from_value(doc) else {
                continue;
            };
            for stmt in &policy.statements {
                if stmt.effect != Effect::Allow {
                    continue;
                }
                match &stmt.principal {
                    Some(PrincipalElement::Principal(Principals::Any)) => {
                        index.anyone.insert(id.to_string());
                    }
                    Some(PrincipalElement::Principal(Principals::Map(entries))) => {
                        for (kind, values) in entries {
                            if *kind != PrincipalKind::Aws {
                                continue;
                            }
                            for v in values {
                                index.add(id, v);
                            }
                        }
                    }
                    // NotPrincipal in a trust policy admits nearly everyone.
                    Some(PrincipalElement::NotPrincipal(_)) => {
                        index.anyone.insert(id.to_string());
                    }
                    None => {}
                }
            }
            index.trusts.insert(
                id.to_string(),
                NamedPolicy::new(format!("trust of {id}"), policy),
            );
        }
        index
    }

    fn add(&mut self, role: &str, value: &str) {
        if value == "*" {
            self.anyone.insert(role.to_string());
        } else if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
            self.by_account
                .entry(value.to_string())
                .or_default()
                .insert(role.to_string());
        } else if let Some(arn) = crate::matcher::Arn::parse(value) {
            if arn.resource == "root" {
                self.by_account
                    .entry(arn.account.to_string())
                    .or_default()
                    .insert(role.to_string());
            } else {
                self.by_arn
                    .entry(value.to_string())
                    .or_default()
                    .insert(role.to_string());
            }
        }
    }

    /// Roles whose trust may admit `principal`, in id order.
    fn candidates(&self, principal: &str) -> BTreeSet<&str> {
        let mut out: BTreeSet<&str> = self.anyone.iter().map(String::as_str).collect();
        if let Some(s) = self.by_arn.get(principal) {
            out.extend(s.iter().map(String::as_str));
        }
        if let Some(s) = account_of(principal).and_then(|a| self.by_account.get(a)) {
            out.extend(s.iter().map(String::as_str));
        }
        out.remove(principal);
        out
    }
}

impl TrustIndex {
    /// Roles whose trust may admit `principal` without its identity policy: naming its ARN,
    /// or everyone.
    fn candidates_alone(&self, principal: &str) -> BTreeSet<&str> {
        let mut out: BTreeSet<&str> = self.anyone.iter().map(String::as_str).collect();
        if let Some(s) = self.by_arn.get(principal) {
            out.extend(s.iter().map(String::as_str));
        }
        out.remove(principal);
        out
    }
}

impl RoleGraph {
    /// Computes the edges of every identity reachable from `sources` within `max_depth` hops.
    /// `identity` gives the parsed policies of a role id (None: not an AWS role of the
    /// inventory, or nothing readable).
    pub fn build<'p>(
        sources: impl IntoIterator<Item = String>,
        max_depth: usize,
        trusts: &TrustIndex,
        guardrails: &OrgGuardrails<'_>,
        mut identity: impl FnMut(&str) -> Option<&'p PolicyIdentity>,
        extra: &BTreeMap<String, Vec<Hop>>,
    ) -> RoleGraph {
        let mut graph = RoleGraph::default();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut queue: VecDeque<(String, usize)> = VecDeque::new();
        let mut start: Vec<String> = sources.into_iter().collect();
        start.sort();
        start.dedup();
        for s in start {
            if seen.insert(s.clone()) {
                queue.push_back((s, 0));
            }
        }
        while let Some((from, depth)) = queue.pop_front() {
            if depth >= max_depth {
                continue;
            }
            let mut hops: Vec<Hop> = extra.get(&from).cloned().unwrap_or_default();
            if let Some(me) = identity(&from) {
                let (edges, cut) = assume_edges(me, trusts, guardrails);
                hops.extend(edges);
                if !cut.is_empty() {
                    graph.cut.insert(from.clone(), cut);
                }
            }
            hops.sort_by(|a, b| (&a.to, a.kind).cmp(&(&b.to, b.kind)));
            hops.dedup_by(|a, b| a.to == b.to);
            for h in &hops {
                if seen.insert(h.to.clone()) {
                    queue.push_back((h.to.clone(), depth + 1));
                }
            }
            if !hops.is_empty() {
                graph.edges.insert(from, hops);
            }
        }
        graph
    }

    /// The edges out of `id`.
    pub fn edges(&self, id: &str) -> &[Hop] {
        self.edges.get(id).map(Vec::as_slice).unwrap_or_default()
    }

    /// AssumeRole edges out of `id` that a guardrail cuts.
    pub fn cut(&self, id: &str) -> &[CutEdge] {
        self.cut.get(id).map(Vec::as_slice).unwrap_or_default()
    }

    /// Every identity reachable from `start` in 1..=`max_depth` hops, with the shortest path
    /// (the first in id order among equally short ones), in the order found. Cycle-safe.
    pub fn paths_from(&self, start: &str, max_depth: usize) -> Vec<(String, Vec<Hop>)> {
        let mut out = Vec::new();
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        seen.insert(start);
        let mut queue: VecDeque<(&str, Vec<Hop>)> = VecDeque::new();
        queue.push_back((start, Vec::new()));
        while let Some((at, path)) = queue.pop_front() {
            if path.len() >= max_depth {
                continue;
            }
            for h in self.edges(at) {
                if seen.insert(h.to.as_str()) {
                    let mut next = path.clone();
                    next.push(h.clone());
                    out.push((h.to.clone(), next.clone()));
                    queue.push_back((h.to.as_str(), next));
                }
            }
        }
        out
    }
}

/// Whether one role may assume another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assume {
    /// It may (possibly under conditions, see the hop's `allowed_when`).
    Allowed(Hop),
    /// It may not.
    Denied,
    /// Not known: the target's trust policy is not in the inventory.
    Unknown,
}

/// Whether `me` may assume `target`.
pub fn assume_one(
    me: &PolicyIdentity,
    target: &str,
    trusts: &TrustIndex,
    guardrails: &OrgGuardrails<'_>,
) -> Assume {
    assume_in_session(me, target, trusts, guardrails, None)
}

/// [`assume_one`] for a session of `me` limited by a session policy (the one an EKS Pod
/// Identity association sets on its pods' session).
pub fn assume_in_session(
    me: &PolicyIdentity,
    target: &str,
    trusts: &TrustIndex,
    guardrails: &OrgGuardrails<'_>,
    session: Option<&NamedPolicy>,
) -> Assume {
    let Some(trust) = trusts.trusts.get(target) else {
        return Assume::Unknown;
    };
    let mut context = Context::partial();
    context.set("aws:PrincipalArn", me.principal.clone());
    if let Some(a) = account_of(&me.principal) {
        context.set("aws:PrincipalAccount", a);
        if let Some(o) = guardrails.org_id_of(a) {
            context.set("aws:PrincipalOrgID", o);
        }
    }
    let target_account = account_of(target).unwrap_or_default();
    context.set("aws:ResourceAccount", target_account);
    let scps = guardrails.scps(&me.principal);
    let rcps = guardrails.rcps(target_account);
    let set = PolicySet {
        identity: &me.policies,
        boundary: me.boundary.as_ref(),
        session,
        scps: scps.levels(),
        rcps: rcps.levels(),
        resource: Some(trust),
    };
    let Ok(eval) = evaluate(
        &set,
        &Request {
            principal: &me.principal,
            action: "sts:AssumeRole",
            resource: ResourceTarget::Arn(target),
            resource_account: Some(target_account),
            context: &context,
        },
    ) else {
        return Assume::Unknown;
    };
    if !eval.may_be_allowed() {
        return Assume::Denied;
    }
    let mut granted_by = Vec::new();
    for r in eval
        .reasons
        .iter()
        .filter(|r| r.effect == Effect::Allow && !matches!(r.statement.policy_type, "scp" | "rcp"))
    {
        Granted::credit(
            &mut granted_by,
            r.statement.clone().into(),
            "sts:AssumeRole",
        );
    }
    Assume::Allowed(Hop {
        from: me.principal.clone(),
        to: target.to_string(),
        kind: HopKind::AssumeRole,
        granted_by,
        allowed_when: eval.allowed_when.as_ref().map(ToString::to_string),
    })
}

/// The roles `me` may assume, and those a guardrail keeps it from assuming.
fn assume_edges(
    me: &PolicyIdentity,
    trusts: &TrustIndex,
    guardrails: &OrgGuardrails<'_>,
) -> (Vec<Hop>, Vec<CutEdge>) {
    let mut edges = Vec::new();
    let mut cut = Vec::new();
    let scps = guardrails.scps(&me.principal);
    let mut context = Context::partial();
    context.set("aws:PrincipalArn", me.principal.clone());
    if let Some(a) = account_of(&me.principal) {
        context.set("aws:PrincipalAccount", a);
        if let Some(o) = guardrails.org_id_of(a) {
            context.set("aws:PrincipalOrgID", o);
        }
    }
    // Without an identity-policy Allow of sts:AssumeRole, only trusts that grant on their own
    // can admit `me`: those naming its ARN, or everyone, in its own account.
    let may_call = me.policies.iter().any(|np| {
        np.policy.statements.iter().any(|st| {
            st.effect == Effect::Allow
                && match &st.action {
                    crate::policy::ActionElement::Action(list) => {
                        list.iter().any(|a| a.matches("sts", "AssumeRole"))
                    }
                    crate::policy::ActionElement::NotAction(list) => {
                        !list.iter().any(|a| a.matches("sts", "AssumeRole"))
                    }
                }
        })
    });
    let own = account_of(&me.principal).unwrap_or_default();
    let candidates: Vec<&str> = if may_call {
        trusts.candidates(&me.principal).into_iter().collect()
    } else {
        trusts
            .candidates_alone(&me.principal)
            .into_iter()
            .filter(|t| account_of(t) == Some(own))
            .collect()
    };
    for target in candidates {
        let Some(trust) = trusts.trusts.get(target) else {
            continue;
        };
        let target_account = account_of(target).unwrap_or_default();
        let rcps = guardrails.rcps(target_account);
        let mut context = context.clone();
        context.set("aws:ResourceAccount", target_account);
        let ask = |scp: &[Vec<NamedPolicy>], rcp: &[Vec<NamedPolicy>]| {
            let set = PolicySet {
                identity: &me.policies,
                boundary: me.boundary.as_ref(),
                session: None,
                scps: scp,
                rcps: rcp,
                resource: Some(trust),
            };
            evaluate(
                &set,
                &Request {
                    principal: &me.principal,
                    action: "sts:AssumeRole",
                    resource: ResourceTarget::Arn(target),
                    resource_account: Some(target_account),
                    context: &context,
                },
            )
            .ok()
        };
        let Some(eval) = ask(scps.levels(), rcps.levels()) else {
            continue;
        };
        if eval.may_be_allowed() {
            let mut granted_by = Vec::new();
            for r in eval.reasons.iter().filter(|r| {
                r.effect == Effect::Allow && !matches!(r.statement.policy_type, "scp" | "rcp")
            }) {
                Granted::credit(
                    &mut granted_by,
                    r.statement.clone().into(),
                    "sts:AssumeRole",
                );
            }
            edges.push(Hop {
                from: me.principal.clone(),
                to: target.to_string(),
                kind: HopKind::AssumeRole,
                granted_by,
                allowed_when: eval.allowed_when.as_ref().map(ToString::to_string),
            });
        } else if (scps.applied() || rcps.applied())
            && ask(&[], &[]).is_some_and(|e| e.may_be_allowed())
        {
            let mut by: Vec<String> = eval
                .reasons
                .iter()
                .filter(|r| {
                    r.effect == Effect::Deny && matches!(r.statement.policy_type, "scp" | "rcp")
                })
                .map(|r| r.statement.to_string())
                .collect();
            for b in eval
                .blocked_by
                .iter()
                .filter(|b| matches!(**b, "scp" | "rcp"))
            {
                by.push(format!(
                    "no {} allows sts:AssumeRole at some level",
                    b.to_ascii_uppercase()
                ));
            }
            cut.push(CutEdge {
                from: me.principal.clone(),
                to: target.to_string(),
                by,
            });
        }
    }
    (edges, cut)
}
