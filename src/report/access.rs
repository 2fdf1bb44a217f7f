//! `cloudscan access`: who can reach which capability, and what one identity can do.

use crate::access::{AccessFacts, IdentityFacts};
use cloudscan_access::capability::{AccessProfile, Reach};
use cloudscan_access::chain::{describe, describe_hops, Hop, HopKind};
use cloudscan_access::exposure::SessionPolicy;
use cloudscan_access::Granted;
use cloudscan_inventory::Inventory;
use serde::Serialize;

/// One identity's answer to a capability question.
#[derive(Serialize)]
pub struct Holder<'a> {
    pub identity: &'a str,
    pub capability: String,
    /// `all` (every resource of the kind) or `some`.
    pub reach: &'static str,
    pub actions: Vec<String>,
    /// The statements or role grants that allow it, structured.
    pub statements: Vec<Granted>,
    pub allowed_when: Option<String>,
    /// Who can act as the identity and use this grant: node pools and Kubernetes service
    /// accounts.
    pub used_by: Vec<String>,
    /// Users of the identity whose session policy (an EKS Pod Identity association's `policy`)
    /// keeps them from this grant, and which policy.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept_out_by_session_policy: Vec<String>,
    pub unreadable_policies: &'a [String],
    /// What the organization guardrails were (AWS).
    pub guardrails: Option<String>,
    /// Guardrails that stop (or narrow) this capability where identity policies allow it.
    pub stopped_by_guardrails: Vec<String>,
}

impl Holder<'_> {
    /// The `allowed when` and `guardrail` lines under a grant in the text output.
    fn push_limits(&self, out: &mut String) {
        if let Some(w) = &self.allowed_when {
            out.push_str(&format!("  allowed when: {w}\n"));
        }
        for g in &self.stopped_by_guardrails {
            out.push_str(&format!("  guardrail: {g}\n"));
        }
    }
}

/// Every identity holding `capability` (a class id, `admin`, an escalation path id, or
/// `privilege-escalation` for any path).
pub fn holders<'a>(
    inv: &'a Inventory,
    facts: &'a AccessFacts,
    capability: &str,
) -> Vec<Holder<'a>> {
    let mut out = Vec::new();
    for identity in &inv.identities {
        let Some(f) = facts.identities.get(&identity.id) else {
            continue;
        };
        let cap_id = capability;
        let base = |cap: String,
                    reach: Reach,
                    actions: Vec<String>,
                    statements: Vec<Granted>,
                    when: Option<String>,
                    f: &'a IdentityFacts| {
            let (used_by, kept_out_by_session_policy) = users_of(f, &cap);
            Holder {
                identity: &identity.id,
                capability: cap,
                reach: if reach == Reach::All { "all" } else { "some" },
                actions,
                statements,
                allowed_when: when,
                used_by,
                kept_out_by_session_policy,
                unreadable_policies: &f.unreadable,
                guardrails: f.profile.guardrails.as_ref().map(ToString::to_string),
                stopped_by_guardrails: f
                    .profile
                    .guardrail_stops
                    .iter()
                    .filter(|s| s.capability == cap_id || cap_id == "privilege-escalation")
                    .map(ToString::to_string)
                    .collect(),
            }
        };
        if capability == "admin" {
            if let Some(a) = &f.profile.admin {
                out.push(base(
                    "admin".into(),
                    Reach::All,
                    a.actions.clone(),
                    a.granted_by.clone(),
                    a.allowed_when.clone(),
                    f,
                ));
            }
            continue;
        }
        for c in f.profile.capabilities.iter().filter(|c| c.id == capability) {
            out.push(base(
                c.id.clone(),
                c.reach,
                c.actions.clone(),
                c.granted_by.clone(),
                c.allowed_when.clone(),
                f,
            ));
        }
        for p in f
            .profile
            .escalation_paths
            .iter()
            .filter(|p| capability == "privilege-escalation" || p.id == capability)
        {
            out.push(base(
                p.id.clone(),
                Reach::Some,
                p.steps.clone(),
                p.granted_by.clone(),
                p.allowed_when.clone(),
                f,
            ));
        }
    }
    out
}

/// Whether a profile holds the grant `cap` (`admin`, a capability class, or an escalation path).
fn profile_holds(p: &AccessProfile, cap: &str) -> bool {
    if cap == "admin" {
        return p.admin.is_some();
    }
    p.capabilities.iter().any(|c| c.id == cap) || p.escalation_paths.iter().any(|e| e.id == cap)
}

/// The users of an identity that get the grant `cap` (described; one whose session policy could
/// not be read says so), and those a readable session policy keeps from it (with the policy).
fn users_of(f: &IdentityFacts, cap: &str) -> (Vec<String>, Vec<String>) {
    let (kept, notes) = f.split_users(|p| profile_holds(p, cap));
    let mut used: Vec<String> = kept.iter().map(|(e, _)| describe(e)).collect();
    let mut kept_out = Vec::new();
    for n in notes {
        match &n.unreadable {
            Some(why) => {
                if let Some(u) = used.iter_mut().find(|u| **u == n.user) {
                    u.push_str(&format!(" ({} not evaluated: {why})", n.session));
                }
            }
            None => kept_out.push(format!("{}: {} does not allow it", n.user, n.session)),
        }
    }
    (used, kept_out)
}

/// Identities whose own policies allow `capability` and whose organization guardrails stop it
/// entirely (they are not holders), with why, as text lines.
pub fn render_stopped(inv: &Inventory, facts: &AccessFacts, capability: &str) -> String {
    let mut s = String::new();
    for identity in &inv.identities {
        let Some(f) = facts.identities.get(&identity.id) else {
            continue;
        };
        for stop in f
            .profile
            .guardrail_stops
            .iter()
            .filter(|st| st.capability == capability && st.remaining.is_none())
        {
            if s.is_empty() {
                s.push_str("Stopped by organization guardrails:\n\n");
            }
            s.push_str(&format!("{}\n  {stop}\n", identity.id));
        }
    }
    s
}

/// Renders holders as text.
pub fn render_holders(capability: &str, holders: &[Holder<'_>]) -> String {
    let mut s = String::new();
    if holders.is_empty() {
        s.push_str(&format!("No identity holds `{capability}`.\n"));
        return s;
    }
    s.push_str(&format!(
        "{} identity grant(s) of `{capability}`:\n\n",
        holders.len()
    ));
    for h in holders {
        s.push_str(&format!(
            "{}\n  {} on {} resources via {}\n  allowed by: {}\n",
            h.identity,
            h.capability,
            h.reach,
            h.actions.join(", "),
            join(&h.statements, "; ")
        ));
        h.push_limits(&mut s);
        if h.used_by.is_empty() && h.kept_out_by_session_policy.is_empty() {
            s.push_str("  used by: no node pool or workload found\n");
        }
        for u in &h.used_by {
            s.push_str(&format!("  used by: {u}\n"));
        }
        for u in &h.kept_out_by_session_policy {
            s.push_str(&format!("  not through: {u}\n"));
        }
        for u in h.unreadable_policies {
            s.push_str(&format!("  not evaluated: {u}\n"));
        }
        s.push('\n');
    }
    s
}

/// Renders what one identity can do.
pub fn render_identity(id: &str, f: &IdentityFacts) -> String {
    let mut s = format!("{id}\n");
    for u in &f.exposures {
        s.push_str(&format!("  used by: {}\n", describe(u)));
        match u.session.as_deref() {
            Some(SessionPolicy {
                source,
                policy: Ok(_),
            }) => {
                let p = f.profile_of(u);
                let mut held: Vec<&str> = p.admin.iter().map(|_| "admin").collect();
                held.extend(p.capabilities.iter().map(|c| c.id.as_str()));
                held.extend(p.escalation_paths.iter().map(|e| e.id.as_str()));
                let held = if held.is_empty() {
                    "none of the capabilities below".to_string()
                } else {
                    held.join(", ")
                };
                s.push_str(&format!("    limited by {source}: {held}\n"));
            }
            Some(SessionPolicy {
                source,
                policy: Err(why),
            }) => s.push_str(&format!("    {source} not evaluated: {why}\n")),
            None => {}
        }
    }
    if let Some(g) = &f.profile.guardrails {
        s.push_str(&format!("  guardrails: {g}\n"));
    }
    for g in &f.profile.guardrail_stops {
        s.push_str(&format!("  guardrail stops: {g}\n"));
    }
    for g in &f.profile.resource_grants {
        s.push_str(&format!(
            "  resource policy of `{}` (account {}) grants {}: {} ({})\n",
            g.resource,
            g.account,
            g.capability,
            g.actions.join(", "),
            join(&g.granted_by, "; ")
        ));
    }
    for u in &f.profile.unknown_resources {
        s.push_str(&format!("  not known: {u}\n"));
    }
    if f.exposures.is_empty() {
        s.push_str("  used by: no node pool or workload found\n");
    }
    if let Some(a) = &f.profile.admin {
        s.push_str(&format!(
            "  ADMIN: every action on every resource ({})\n",
            join(&a.granted_by, "; ")
        ));
    }
    for c in &f.profile.capabilities {
        s.push_str(&format!(
            "  {:<14} on {} resources: {} ({})\n",
            c.id,
            if c.reach == Reach::All { "all" } else { "some" },
            c.actions.join(", "),
            join(&c.granted_by, "; ")
        ));
    }
    for p in &f.profile.escalation_paths {
        s.push_str(&format!(
            "  escalation: {} ({})\n",
            p.id,
            p.steps.join(" + ")
        ));
    }
    for g in &f.profile.wildcard_grants {
        s.push_str(&format!(
            "  wildcard: {} statement {}: {}\n",
            g.policy,
            g.statement,
            g.actions.join(", ")
        ));
    }
    for u in &f.unreadable {
        s.push_str(&format!("  not evaluated: {u}\n"));
    }
    s
}

fn join(reasons: &[Granted], sep: &str) -> String {
    reasons
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(sep)
}

/// One identity reachable from a starting point, and what it holds.
#[derive(Serialize)]
pub struct PathAnswer<'a> {
    pub identity: String,
    /// The hops from the starting identity (empty: the starting identity itself).
    pub path: Vec<serde_json::Value>,
    /// The path as one phrase.
    pub chain: String,
    /// Grants of the capability asked about (every capability when none was asked).
    pub holds: Vec<Holder<'a>>,
    /// Where identity policies allow it and an organization guardrail stops it.
    pub stopped_by_guardrails: Vec<String>,
}

fn hop_json(h: &Hop) -> serde_json::Value {
    serde_json::json!({
        "from": h.from,
        "to": h.to,
        "via": match h.kind {
            HopKind::AssumeRole => "sts:AssumeRole",
            HopKind::PodIdentityTarget => "eks pod identity targetRoleArn",
        },
        "allowed_by": h.granted_by,
        "allowed_when": h.allowed_when,
    })
}

/// Every identity reachable from `start` (itself included) that holds `capability` (or
/// anything, when None), with the path.
pub fn paths_from<'a>(
    inv: &'a Inventory,
    facts: &'a AccessFacts,
    start: &str,
    capability: Option<&str>,
) -> Vec<PathAnswer<'a>> {
    let mut reached = vec![(start.to_string(), Vec::new())];
    reached.extend(facts.chains.paths_from(start, facts.max_depth));
    let mut out = Vec::new();
    for (id, path) in reached {
        let caps: Vec<String> = match capability {
            Some(c) => vec![c.to_string()],
            None => {
                let mut v = vec!["admin".to_string(), "privilege-escalation".to_string()];
                if let Some(f) = facts.identities.get(&id) {
                    v.extend(f.profile.capabilities.iter().map(|c| c.id.clone()));
                }
                v
            }
        };
        let holds: Vec<Holder<'a>> = caps
            .iter()
            .flat_map(|c| holders(inv, facts, c))
            .filter(|h| h.identity == id)
            .collect();
        let stopped: Vec<String> = facts
            .identities
            .get(&id)
            .map(|f| {
                f.profile
                    .guardrail_stops
                    .iter()
                    .filter(|s| capability.is_none_or(|c| s.capability == c))
                    .map(ToString::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if holds.is_empty() && stopped.is_empty() {
            continue;
        }
        out.push(PathAnswer {
            stopped_by_guardrails: if holds.is_empty() {
                stopped
            } else {
                Vec::new()
            },
            chain: if path.is_empty() {
                format!("`{id}`")
            } else {
                describe_hops(&path)
            },
            path: path.iter().map(hop_json).collect(),
            identity: id,
            holds,
        });
    }
    out
}

/// Renders the paths from a starting identity as text, with the chains guardrails cut.
pub fn render_paths(
    start: &str,
    capability: Option<&str>,
    answers: &[PathAnswer<'_>],
    facts: &AccessFacts,
) -> String {
    let what = capability.unwrap_or("any capability");
    let mut s = format!(
        "Paths from `{start}` to {what} (at most {} hop(s)):\n\n",
        facts.max_depth
    );
    if answers.is_empty() {
        s.push_str("  none\n");
    }
    for a in answers {
        s.push_str(&format!("{}\n  path: {}\n", a.identity, a.chain));
        for g in &a.stopped_by_guardrails {
            s.push_str(&format!("  stopped by a guardrail: {g}\n"));
        }
        for h in &a.holds {
            s.push_str(&format!(
                "  holds {} on {} resources via {} (allowed by: {})\n",
                h.capability,
                h.reach,
                h.actions.join(", "),
                join(&h.statements, "; ")
            ));
            h.push_limits(&mut s);
        }
        s.push('\n');
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut frontier = vec![start.to_string()];
    frontier.extend(
        facts
            .chains
            .paths_from(start, facts.max_depth)
            .into_iter()
            .map(|(id, _)| id),
    );
    for id in frontier {
        if !seen.insert(id.clone()) {
            continue;
        }
        for c in facts.chains.cut(&id) {
            s.push_str(&format!(
                "cut by a guardrail: `{}` → sts:AssumeRole → `{}`: {}\n",
                c.from,
                c.to,
                c.by.join("; ")
            ));
        }
    }
    s
}
