//! `cloudscan access`: who can reach which capability, and what one identity can do.

use crate::access::{AccessFacts, IdentityFacts};
use cloudscan_access::capability::Reach;
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
    /// Who can act as the identity: node pools and Kubernetes service accounts.
    pub used_by: Vec<String>,
    pub unreadable_policies: &'a [String],
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
        let base = |cap: String,
                    reach: Reach,
                    actions: Vec<String>,
                    statements: Vec<Granted>,
                    when: Option<String>,
                    f: &'a IdentityFacts| Holder {
            identity: &identity.id,
            capability: cap,
            reach: if reach == Reach::All { "all" } else { "some" },
            actions,
            statements,
            allowed_when: when,
            used_by: f.exposures.iter().map(ToString::to_string).collect(),
            unreadable_policies: &f.unreadable,
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
        if let Some(w) = &h.allowed_when {
            s.push_str(&format!("  allowed when: {w}\n"));
        }
        if h.used_by.is_empty() {
            s.push_str("  used by: no node pool or workload found\n");
        }
        for u in &h.used_by {
            s.push_str(&format!("  used by: {u}\n"));
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
        s.push_str(&format!("  used by: {u}\n"));
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
