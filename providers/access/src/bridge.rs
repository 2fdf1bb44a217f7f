//! The bridge from the inventory to the access engine: for every identity that nodes or
//! workloads can use, what it can do (capability classes, escalation paths, wildcard grants)
//! and who can use it; plus the inventory-wide exposure facts (metadata settings that let pods
//! through, too-broad workload trust). Rules and reports read these facts; none of them asks
//! which cloud the inventory is from.

use crate::capability::{
    AccessProfile, Analyzer, ResourceKind, ResourcePolicyState, ResourceSubject, ADMIN_PROBES,
};
use crate::catalog::{Capabilities, Catalog};
use crate::chain::{
    assume_in_session, assume_one, Assume, Hop, HopKind, RoleGraph, TrustIndex, DEFAULT_MAX_DEPTH,
};
use crate::exposure::{
    binding_session, exposures, identity_exposures, metadata_exposures, Exposure, MetadataExposure,
    SessionPolicy,
};
use crate::guardrail::OrgGuardrails;
use crate::trust::{trust_issues, TrustIssue};
use crate::{NamedPolicy, Policy};
use cloudscan_inventory::{Coverage, CoverageStatus, Identity, Inventory, PolicyDoc, Provider};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// How an identity's permissions were decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// By evaluating its policy documents; "administrator" means every one of `probes` is
    /// allowed on every resource.
    PolicyEvaluation { probes: &'static [&'static str] },
    /// From the roles granted to it at each scope.
    RoleGrants,
}

/// What one identity can do, and who can use it.
#[derive(Debug, Clone)]
pub struct IdentityFacts {
    pub profile: AccessProfile,
    pub basis: Basis,
    /// Who can act as the identity.
    pub exposures: Vec<Exposure>,
    /// Policy documents or roles that could not be read: the profile may miss what they grant.
    pub unreadable: Vec<String>,
    /// By session policy source ([`SessionPolicy::source`]): what a session limited by that
    /// policy can do (EKS Pod Identity associations with a `policy`). The exposures that carry
    /// a readable session policy act with this profile instead of `profile`.
    pub sessions: BTreeMap<String, AccessProfile>,
    /// Set by [`IdentityFacts::narrowed`]: how session policies changed who is listed.
    pub session_notes: Vec<SessionNote>,
}

/// How a session policy bears on one user of an access (see [`IdentityFacts::narrowed`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionNote {
    /// The user (as [`crate::chain::describe`] prints it).
    pub user: String,
    /// Which session policy ([`SessionPolicy::source`]).
    pub session: String,
    /// None: the session policy keeps this user from the access the role has. Some(why): the
    /// session policy could not be read, so the user is credited with the role's access.
    pub unreadable: Option<String>,
}

impl std::fmt::Display for SessionNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.unreadable {
            None => write!(
                f,
                "{} does not allow it, so {} does not get it through this role",
                self.session, self.user
            ),
            Some(why) => write!(
                f,
                "{} was not evaluated ({why}); {} is credited with the role's full access",
                self.session, self.user
            ),
        }
    }
}

impl IdentityFacts {
    /// Whether any pod can act as the identity.
    pub fn pods(&self) -> bool {
        self.exposures.iter().any(Exposure::pods)
    }

    /// The profile a user acts with: the session's when a readable session policy limits it.
    pub fn profile_of(&self, e: &Exposure) -> &AccessProfile {
        match e.session.as_deref() {
            Some(SessionPolicy {
                source,
                policy: Ok(_),
            }) => self.sessions.get(source).unwrap_or(&self.profile),
            _ => &self.profile,
        }
    }

    /// Each user of the identity judged by `holds` on the profile it acts with: the users that
    /// get the access (with that profile), and notes on the users a readable session policy
    /// keeps from an access the role has, and on the users whose session policy could not be
    /// read (credited with the role's access).
    pub fn split_users(
        &self,
        holds: impl Fn(&AccessProfile) -> bool,
    ) -> (Vec<(&Exposure, &AccessProfile)>, Vec<SessionNote>) {
        let role_holds = holds(&self.profile);
        let mut kept = Vec::new();
        let mut notes = Vec::new();
        for e in &self.exposures {
            let acting = self.profile_of(e);
            let session = e.session.as_deref();
            if holds(acting) {
                if let Some(SessionPolicy {
                    source,
                    policy: Err(why),
                }) = session
                {
                    notes.push(SessionNote {
                        user: crate::chain::describe(e),
                        session: source.clone(),
                        unreadable: Some(why.clone()),
                    });
                }
                kept.push((e, acting));
            } else if let (Some(s), true) = (session, role_holds) {
                notes.push(SessionNote {
                    user: crate::chain::describe(e),
                    session: s.source.clone(),
                    unreadable: None,
                });
            }
        }
        (kept, notes)
    }

    /// The facts as seen by the users for whom `holds` is true of the profile they act with
    /// ([`IdentityFacts::split_users`]): None when no user gets the access; the notes go to
    /// `session_notes`. Without session policies, the facts themselves.
    pub fn narrowed(
        &self,
        holds: impl Fn(&AccessProfile) -> bool,
    ) -> Option<Cow<'_, IdentityFacts>> {
        if self.exposures.iter().all(|e| e.session.is_none()) {
            return holds(&self.profile).then_some(Cow::Borrowed(self));
        }
        let (kept, notes) = self.split_users(holds);
        // The role's own profile when any user acts with it; else the first session's.
        let profile = kept
            .iter()
            .map(|(_, p)| *p)
            .find(|p| std::ptr::eq(*p, &self.profile))
            .or_else(|| kept.first().map(|(_, p)| *p))?;
        Some(Cow::Owned(IdentityFacts {
            profile: profile.clone(),
            basis: self.basis,
            exposures: kept.iter().map(|(e, _)| (*e).clone()).collect(),
            unreadable: self.unreadable.clone(),
            sessions: BTreeMap::new(),
            session_notes: notes,
        }))
    }
}

/// Access facts for an inventory.
#[derive(Debug, Clone, Default)]
pub struct AccessFacts {
    /// By identity id: the analyzed identities.
    pub identities: BTreeMap<String, IdentityFacts>,
    /// Metadata settings through which pods can obtain a node identity.
    pub metadata: Vec<MetadataExposure>,
    /// Workload identities whose trust admits more than one service account.
    pub trust: Vec<TrustIssue>,
    /// The AssumeRole graph (AWS), over the identities reachable from nodes and workloads.
    pub chains: RoleGraph,
    /// The depth bound the chains were searched with.
    pub max_depth: usize,
}

/// How the access stage runs.
#[derive(Debug, Clone)]
pub struct AccessOptions {
    /// The most `sts:AssumeRole` / Pod Identity hops a chain may take.
    pub max_depth: usize,
    /// Identities to search chains from besides those nodes and workloads use.
    pub chain_sources: Vec<String>,
}

impl Default for AccessOptions {
    fn default() -> Self {
        AccessOptions {
            max_depth: DEFAULT_MAX_DEPTH,
            chain_sources: Vec::new(),
        }
    }
}

impl AccessFacts {
    /// Analyzes every identity that a node pool or a workload can use, directly or through a
    /// role chain.
    pub fn for_inventory(inv: &Inventory) -> AccessFacts {
        Self::analyze_with(inv, AccessOptions::default(), |_, exposed| exposed)
    }

    /// Analyzes the identities `keep` selects.
    pub fn analyze(inv: &Inventory, keep: impl Fn(&Identity) -> bool) -> AccessFacts {
        Self::analyze_with(inv, AccessOptions::default(), |i, _| keep(i))
    }

    /// Analyzes the identities `keep` selects (it is told whether anything can use the
    /// identity, directly or through a chain), searching chains up to `options.max_depth`.
    pub fn analyze_with(
        inv: &Inventory,
        options: AccessOptions,
        keep: impl Fn(&Identity, bool) -> bool,
    ) -> AccessFacts {
        // Who can use each identity directly, once; the trust analysis reads it.
        let exposed: BTreeMap<&str, Vec<Exposure>> = inv
            .identities
            .iter()
            .map(|i| (i.id.as_str(), identity_exposures(inv, i)))
            .collect();
        let mut facts = AccessFacts {
            metadata: metadata_exposures(inv),
            trust: trust_issues(inv, &exposed),
            max_depth: options.max_depth,
            ..Default::default()
        };
        let aws = inv.provider == Provider::Aws;
        let guardrails = if aws {
            OrgGuardrails::new(inv)
        } else {
            OrgGuardrails::default()
        };
        // AWS identities parsed once, when the chain search or a profile first reads them.
        let parsed = if aws {
            ParsedIdentities::new(inv)
        } else {
            ParsedIdentities::default()
        };
        let mut all: BTreeMap<String, Vec<Exposure>> = exposed
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        if aws {
            let (graph, chained) = chain_exposures(inv, &exposed, &parsed, &guardrails, &options);
            for (id, list) in chained {
                let entry = all.entry(id).or_default();
                for e in list {
                    let key = exposure_key(&e);
                    if !entry.iter().any(|x| exposure_key(x) == key) {
                        entry.push(e);
                    }
                }
            }
            facts.chains = graph;
        }
        let resources = if aws {
            resource_subjects(inv, &guardrails)
        } else {
            Vec::new()
        };
        let mut evaluator = Evaluator::new(inv);
        for identity in inv.identities.iter() {
            let exposures = all.get(identity.id.as_str()).cloned().unwrap_or_default();
            if !keep(identity, !exposures.is_empty()) {
                continue;
            }
            let mut sessions = BTreeMap::new();
            let profile = match (inv.provider, parsed.get(identity.id.as_str())) {
                (Provider::Aws, Some((engine, unreadable))) => {
                    let Some((caps, catalog)) = evaluator.aws else {
                        continue;
                    };
                    let analyze = |session: Option<&NamedPolicy>| {
                        Analyzer::new(engine)
                            .with_guards(guardrails.guards(&identity.id))
                            .with_principal_org(guardrails.org_id_of(&identity.scope))
                            .with_resources(&resources)
                            .with_session(session)
                            .profile(caps, catalog)
                    };
                    let profile = analyze(None);
                    // Each readable session policy its users act under, once.
                    for e in &exposures {
                        if let Some(SessionPolicy {
                            source,
                            policy: Ok(policy),
                        }) = e.session.as_deref()
                        {
                            if !sessions.contains_key(source) {
                                sessions.insert(source.clone(), analyze(Some(policy)));
                            }
                        }
                    }
                    Some((
                        profile,
                        Basis::PolicyEvaluation {
                            probes: ADMIN_PROBES,
                        },
                        unreadable.clone(),
                    ))
                }
                _ => evaluator.profile(inv, identity),
            };
            let Some((profile, basis, unreadable)) = profile else {
                continue;
            };
            facts.identities.insert(
                identity.id.clone(),
                IdentityFacts {
                    profile,
                    basis,
                    exposures,
                    unreadable,
                    sessions,
                    session_notes: Vec::new(),
                },
            );
        }
        facts
    }
}

/// The engine's view of each AWS identity ([`engine_identity`]), parsed on first use: the chain
/// search and the profiles read only the identities that nodes and workloads can reach, so the
/// others are never parsed (100,000 roles of which a few thousand are used). An id given to
/// several identities means the last of them, as a map collected from the list would.
#[derive(Default)]
struct ParsedIdentities<'a> {
    by_id: HashMap<&'a str, ParsedIdentity<'a>>,
}

type Parsed = (crate::PolicyIdentity, Vec<String>);

struct ParsedIdentity<'a> {
    identity: &'a Identity,
    parsed: std::cell::OnceCell<Parsed>,
}

impl<'a> ParsedIdentities<'a> {
    fn new(inv: &'a Inventory) -> Self {
        ParsedIdentities {
            by_id: inv
                .identities
                .iter()
                .map(|i| {
                    (
                        i.id.as_str(),
                        ParsedIdentity {
                            identity: i,
                            parsed: std::cell::OnceCell::new(),
                        },
                    )
                })
                .collect(),
        }
    }

    /// The identity with this id, parsed.
    fn get(&self, id: &str) -> Option<&Parsed> {
        let entry = self.by_id.get(id)?;
        Some(entry.parsed.get_or_init(|| engine_identity(entry.identity)))
    }
}

/// What makes two exposures the same user (the chain aside).
fn exposure_key(e: &Exposure) -> String {
    format!("{}|{:?}", e.cluster, e.route)
}

/// The AssumeRole graph from every identity nodes or workloads use, and the exposures each
/// reachable identity gets through it (the users of the first identity, with the hops).
fn chain_exposures<'a>(
    inv: &'a Inventory,
    exposed: &BTreeMap<&'a str, Vec<Exposure>>,
    parsed: &ParsedIdentities<'_>,
    guardrails: &OrgGuardrails<'_>,
    options: &AccessOptions,
) -> (RoleGraph, BTreeMap<String, Vec<Exposure>>) {
    let trusts = TrustIndex::new(inv.identities.iter().filter_map(|i| {
        let doc = i.trust.as_ref()?.document.as_deref()?;
        (i.kind == "aws-role" || i.kind.is_empty()).then_some((i.id.as_str(), doc))
    }));
    // Seeds: direct users, and Pod Identity targets (the association's workload acts as the
    // target role after one hop). EKS assumes the target with the association role's
    // credentials, so the association role must be allowed to assume it; a hop known to be
    // denied gives nothing, one that cannot be checked (either role not in the inventory) is
    // kept, as the association says.
    let mut seeds: BTreeMap<String, Vec<Exposure>> = exposed
        .iter()
        .filter(|(_, e)| !e.is_empty())
        .map(|(id, e)| (id.to_string(), e.clone()))
        .collect();
    for c in &inv.clusters {
        for b in &c.workload_identity.bindings {
            let Some(target) = b.target_identity.as_deref().filter(|t| !t.is_empty()) else {
                continue;
            };
            if options.max_depth == 0 || target == b.identity {
                continue;
            }
            let checked = parsed
                .get(b.identity.as_str())
                .map(|(me, _)| assume_one(me, target, &trusts, guardrails));
            let (granted_by, allowed_when) = match checked {
                Some(Assume::Denied) => continue,
                Some(Assume::Allowed(hop)) => (hop.granted_by, hop.allowed_when),
                Some(Assume::Unknown) | None => (Vec::new(), None),
            };
            let base = exposures(inv, &[b.user(&c.name)]);
            for mut e in base {
                // The association's session policy limits the target role's session.
                e.session = binding_session(b, target);
                e.via.push(Hop {
                    from: b.identity.clone(),
                    to: target.to_string(),
                    kind: HopKind::PodIdentityTarget,
                    granted_by: granted_by.clone(),
                    allowed_when: allowed_when.clone(),
                });
                seeds.entry(target.to_string()).or_default().push(e);
            }
        }
    }
    let graph = RoleGraph::build(
        seeds
            .keys()
            .cloned()
            .chain(options.chain_sources.iter().cloned()),
        options.max_depth,
        &trusts,
        guardrails,
        |id| parsed.get(id).map(|p| &p.0),
        &BTreeMap::new(),
    );
    let mut chained: BTreeMap<String, Vec<Exposure>> = BTreeMap::new();
    // Pod Identity targets are exposures of their target even without further hops (first, so
    // an equally short AssumeRole path does not hide how EKS hands out the target).
    for (id, list) in &seeds {
        for e in list.iter().filter(|e| !e.via.is_empty()) {
            chained.entry(id.clone()).or_default().push(e.clone());
        }
    }
    for (id, list) in &seeds {
        for (to, path) in graph.paths_from(id, options.max_depth) {
            for e in list {
                if e.via.len() + path.len() > options.max_depth {
                    continue;
                }
                // A session limited by a session policy calls sts:AssumeRole within it; the
                // next role's session is a new one, without it.
                if let (Some(SessionPolicy { policy: Ok(p), .. }), Some(first), Some((me, _))) =
                    (e.session.as_deref(), path.first(), parsed.get(id.as_str()))
                {
                    let hop = assume_in_session(me, &first.to, &trusts, guardrails, Some(p));
                    if hop == Assume::Denied {
                        continue;
                    }
                }
                let mut e = e.clone();
                e.session = None;
                e.via.extend(path.iter().cloned());
                chained.entry(to.clone()).or_default().push(e);
            }
        }
    }
    for list in chained.values_mut() {
        // Shortest chains first; ties in the order of the hops' ids.
        list.sort_by(|a, b| {
            a.via.len().cmp(&b.via.len()).then_with(|| {
                let ids = |e: &Exposure| e.via.iter().map(|h| h.to.clone()).collect::<Vec<_>>();
                ids(a).cmp(&ids(b))
            })
        });
    }
    (graph, chained)
}

/// The inventory's resource policies, parsed once, with the guardrails over their accounts and
/// their Block Public Access.
fn resource_subjects(inv: &Inventory, guardrails: &OrgGuardrails<'_>) -> Vec<ResourceSubject> {
    let mut out = Vec::new();
    for rp in &inv.resource_policies {
        let Some(kind) = ResourceKind::parse(&rp.kind) else {
            continue;
        };
        let noun = match kind {
            ResourceKind::S3Bucket => "bucket policy",
            ResourceKind::KmsKey => "key policy",
            ResourceKind::Secret => "secret policy",
        };
        let policy = match rp.state.as_str() {
            "none" => ResourcePolicyState::None,
            "attached" => match rp.policy.as_ref().and_then(|p| p.document.as_ref()) {
                Some(doc) => match Policy::from_value(doc) {
                    Ok(p) => ResourcePolicyState::Attached(NamedPolicy::new(
                        format!("{noun} of {}", rp.arn),
                        p,
                    )),
                    Err(e) => ResourcePolicyState::Unknown(format!("it could not be parsed: {e}")),
                },
                None => ResourcePolicyState::Unknown(
                    rp.policy
                        .as_ref()
                        .and_then(|p| p.error.clone())
                        .unwrap_or_else(|| "it could not be decoded".to_string()),
                ),
            },
            _ => ResourcePolicyState::Unknown(format!("{} could not be read", rp.source)),
        };
        let public = match &policy {
            ResourcePolicyState::Attached(p) => p.policy.statements.iter().any(|s| {
                s.effect == crate::policy::Effect::Allow
                    && s.conditions.is_empty()
                    && match &s.principal {
                        Some(crate::policy::PrincipalElement::Principal(
                            crate::policy::Principals::Any,
                        )) => true,
                        Some(crate::policy::PrincipalElement::Principal(
                            crate::policy::Principals::Map(m),
                        )) => m.iter().any(|(k, v)| {
                            *k == crate::policy::PrincipalKind::Aws && v.iter().any(|x| x == "*")
                        }),
                        _ => false,
                    }
            }),
            _ => false,
        };
        let bucket = rp
            .public_access_block
            .as_ref()
            .and_then(|b| b.restrict_public_buckets);
        let account = inv
            .account_public_access_blocks
            .iter()
            .find(|a| a.scope == rp.scope)
            .and_then(|a| match a.state.as_str() {
                "none" => Some(false),
                "set" => a.settings.as_ref().and_then(|s| s.restrict_public_buckets),
                _ => None,
            });
        let restrict_public = match (bucket, account) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        };
        out.push(ResourceSubject {
            arn: rp.arn.clone(),
            kind,
            account: rp.scope.clone(),
            policy,
            rcps: guardrails.rcps(&rp.scope),
            public,
            restrict_public,
        });
    }
    out
}

/// Picks the evaluation an identity's grants call for.
struct Evaluator<'a> {
    aws: Option<(&'static Capabilities, &'static Catalog)>,
    permissions: HashMap<&'a str, &'a [String]>,
}

impl<'a> Evaluator<'a> {
    fn new(inv: &'a Inventory) -> Self {
        Evaluator {
            aws: match (Capabilities::try_bundled(), Catalog::try_bundled()) {
                (Ok(c), Ok(k)) => Some((c, k)),
                _ => None,
            },
            permissions: inv
                .role_definitions
                .iter()
                .filter_map(|r| r.permissions.as_deref().map(|p| (r.name.as_str(), p)))
                .collect(),
        }
    }

    fn profile(
        &mut self,
        inv: &Inventory,
        identity: &Identity,
    ) -> Option<(AccessProfile, Basis, Vec<String>)> {
        match inv.provider {
            Provider::Aws => {
                let (caps, catalog) = self.aws?;
                let (engine, unreadable) = engine_identity(identity);
                let profile = Analyzer::new(&engine).profile(caps, catalog);
                Some((
                    profile,
                    Basis::PolicyEvaluation {
                        probes: ADMIN_PROBES,
                    },
                    unreadable,
                ))
            }
            Provider::Gcp => {
                let bindings: Vec<crate::gcp::Binding<'_>> = identity
                    .role_bindings
                    .iter()
                    .map(|b| crate::gcp::Binding {
                        resource: &b.resource,
                        role: &b.role,
                        condition: b.condition.as_ref().map(|c| c.expression.as_str()),
                    })
                    .collect();
                // A node-only identity acts through the node's token: its OAuth scopes cap
                // what the roles allow.
                let token = crate::gcp::token_scopes(inv, identity);
                let (profile, unreadable) =
                    crate::gcp::profile_with_token(&bindings, &self.permissions, token.as_deref());
                Some((profile, Basis::RoleGrants, unreadable))
            }
            Provider::Azure => {
                let (profile, unreadable) =
                    crate::azure::profile(&azure_assignments(inv, identity));
                Some((profile, Basis::RoleGrants, unreadable))
            }
        }
    }
}

/// An Azure identity's role assignments with their role definitions.
fn azure_assignments<'a>(
    inv: &'a Inventory,
    identity: &'a Identity,
) -> Vec<crate::azure::Assignment<'a>> {
    use crate::azure::{Assignment, Deny, Permission};
    let block = |p: &'a cloudscan_inventory::AzurePermission| Permission {
        actions: &p.actions,
        not_actions: &p.not_actions,
        data_actions: &p.data_actions,
        not_data_actions: &p.not_data_actions,
    };
    // A conditional deny may or may not apply: it is a coverage gap, not subtracted.
    let denies: Vec<Deny<'a>> = identity
        .deny_assignments
        .iter()
        .filter(|d| d.condition.is_none())
        .map(|d| Deny {
            name: &d.name,
            scope: &d.scope,
            applies_to_children: d.applies_to_children,
            permissions: d.permissions.iter().map(block).collect(),
        })
        .collect();
    identity
        .role_assignments
        .iter()
        .map(|a| {
            let def = inv
                .azure_role_definitions
                .iter()
                .find(|d| d.id.eq_ignore_ascii_case(&a.role_definition_id));
            Assignment {
                scope: &a.scope,
                role_name: a
                    .role_name
                    .as_deref()
                    .or(def.and_then(|d| d.role_name.as_deref()))
                    .unwrap_or(&a.role_definition_id),
                custom: def.and_then(|d| d.custom).unwrap_or(false),
                permissions: def
                    .and_then(|d| d.permissions.as_ref())
                    .map(|ps| ps.iter().map(block).collect()),
                condition: a.condition.as_deref(),
                denies: denies.clone(),
            }
        })
        .collect()
}

/// The engine's view of an inventory identity: parsed identity policies and boundary, and the
/// documents that could not be parsed.
pub fn engine_identity(identity: &Identity) -> (crate::PolicyIdentity, Vec<String>) {
    let mut unreadable = Vec::new();
    let mut parse = |doc: &PolicyDoc| -> Option<NamedPolicy> {
        let label = format!("{} {}", doc.kind, doc.name);
        match &doc.document {
            Some(value) => match Policy::from_value(value) {
                Ok(policy) => Some(NamedPolicy::new(label, policy)),
                Err(e) => {
                    unreadable.push(format!("{label}: {e}"));
                    None
                }
            },
            None => {
                unreadable.push(format!(
                    "{label}: {}",
                    doc.error.as_deref().unwrap_or("not collected")
                ));
                None
            }
        }
    };
    let policies = identity.policies.iter().filter_map(&mut parse).collect();
    let boundary = identity.boundary.as_ref().and_then(&mut parse);
    (
        crate::PolicyIdentity {
            principal: identity.id.clone(),
            policies,
            boundary,
        },
        unreadable,
    )
}

/// The AWS identities reachable through a role chain (the default depth) from an identity
/// nodes or workloads use.
fn chain_reachable(inv: &Inventory) -> std::collections::BTreeSet<String> {
    let exposed: BTreeMap<&str, Vec<Exposure>> = inv
        .identities
        .iter()
        .map(|i| (i.id.as_str(), identity_exposures(inv, i)))
        .collect();
    let parsed = ParsedIdentities::new(inv);
    let guardrails = OrgGuardrails::new(inv);
    let (_, chained) = chain_exposures(
        inv,
        &exposed,
        &parsed,
        &guardrails,
        &AccessOptions::default(),
    );
    chained.into_keys().collect()
}

/// Policy documents of the analyzed AWS identities (those [`AccessFacts::for_inventory`]
/// selects) that the engine cannot read, one coverage entry each: documents the policy parser
/// rejects, and documents the adapter could not decode or collect (`document` unset, with the
/// adapter's reason).
///
/// Such a document may grant or deny anything, so the identity's permissions are not known:
/// the scan is incomplete (service `iam`, status partial), and the entry names the identity,
/// the document and the error.
pub fn unreadable_policy_coverage(inv: &Inventory) -> Vec<Coverage> {
    if inv.provider != Provider::Aws {
        return Vec::new();
    }
    let chained = chain_reachable(inv);
    let mut out = Vec::new();
    for identity in inv
        .identities
        .iter()
        .filter(|i| !i.used_by.is_empty() || chained.contains(i.id.as_str()))
    {
        let docs = identity.policies.iter().chain(identity.boundary.as_ref());
        for doc in docs {
            let problem = match &doc.document {
                Some(value) => match Policy::from_value(value) {
                    Ok(_) => continue,
                    Err(e) => format!("could not be parsed: {e}"),
                },
                None => format!(
                    "could not be read: {}",
                    doc.error.as_deref().unwrap_or("not collected")
                ),
            };
            out.push(Coverage {
                scope: identity.scope.clone(),
                service: "iam".to_string(),
                region: "global".to_string(),
                status: CoverageStatus::Partial,
                detail: Some(format!(
                    "policy document `{} {}`{} of `{}` {problem}; what it grants or denies is unknown, so the access analysis of this identity is incomplete",
                    doc.kind,
                    doc.name,
                    doc.arn
                        .as_deref()
                        .map(|a| format!(" ({a})"))
                        .unwrap_or_default(),
                    identity.id
                )),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudscan_inventory::UsedBy;
    use serde_json::json;

    fn inventory(document: serde_json::Value, used: bool) -> Inventory {
        let mut inv = Inventory {
            provider: Provider::Aws,
            ..Default::default()
        };
        inv.identities.push(Identity {
            id: "arn:aws:iam::111122223333:role/node".to_string(),
            scope: "111122223333".to_string(),
            used_by: if used {
                vec![UsedBy::NodePool {
                    cluster: "c".to_string(),
                    pool: "p".to_string(),
                }]
            } else {
                Vec::new()
            },
            policies: vec![PolicyDoc {
                kind: "inline".to_string(),
                name: "extra".to_string(),
                document: Some(document.into()),
                ..Default::default()
            }],
            ..Default::default()
        });
        inv
    }

    #[test]
    fn a_rejected_document_is_a_coverage_gap() {
        // `Effect: Maybe` is not a policy the parser accepts.
        let bad = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Maybe", "Action": "s3:GetObject", "Resource": "*"}]});
        let gaps = unreadable_policy_coverage(&inventory(bad.clone(), true));
        assert_eq!(gaps.len(), 1);
        assert_eq!(gaps[0].status, CoverageStatus::Partial);
        assert_eq!(gaps[0].service, "iam");
        let detail = gaps[0].detail.clone().unwrap_or_default();
        assert!(detail.contains("inline extra"), "{detail}");
        assert!(detail.contains("role/node"), "{detail}");
        assert!(detail.contains("could not be parsed"), "{detail}");
        // An identity nobody uses is not analyzed: no gap.
        assert!(unreadable_policy_coverage(&inventory(bad, false)).is_empty());
    }

    #[test]
    fn an_undecodable_document_is_a_coverage_gap() {
        let mut inv = inventory(json!({}), true);
        inv.identities[0].policies[0].document = None;
        inv.identities[0].policies[0].error = Some("invalid JSON at line 1".to_string());
        let gaps = unreadable_policy_coverage(&inv);
        assert_eq!(gaps.len(), 1);
        let detail = gaps[0].detail.clone().unwrap_or_default();
        assert!(
            detail.contains("could not be read: invalid JSON"),
            "{detail}"
        );
    }

    #[test]
    fn a_valid_document_is_no_gap() {
        let good = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
        assert!(unreadable_policy_coverage(&inventory(good, true)).is_empty());
    }

    #[test]
    fn an_unreadable_document_of_a_chained_role_is_a_coverage_gap() {
        let chain = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]});
        let mut inv = inventory(chain, true);
        let target = |trusted: &str| Identity {
            id: "arn:aws:iam::444455556666:role/target".to_string(),
            scope: "444455556666".to_string(),
            kind: "aws-role".to_string(),
            trust: Some(PolicyDoc {
                kind: "trust".to_string(),
                name: "trust".to_string(),
                document: Some(
                    json!({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": trusted},
                     "Action": "sts:AssumeRole"}]})
                    .into(),
                ),
                ..Default::default()
            }),
            policies: vec![PolicyDoc {
                kind: "inline".to_string(),
                name: "broken".to_string(),
                error: Some("invalid JSON".to_string()),
                ..Default::default()
            }],
            ..Default::default()
        };
        inv.identities
            .push(target("arn:aws:iam::111122223333:role/node"));
        let gaps = unreadable_policy_coverage(&inv);
        assert_eq!(gaps.len(), 1);
        assert!(gaps[0]
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("role/target")));
        // Trusting someone else: not reachable, not analyzed, no gap.
        inv.identities.pop();
        inv.identities
            .push(target("arn:aws:iam::111122223333:role/other"));
        assert!(unreadable_policy_coverage(&inv).is_empty());
    }
}
