//! EKS Pod Identity session policies in the access engine, over inventories built directly:
//! which users act under a session policy, what their session can do, how the identity rules'
//! view of an access narrows, and the `targetRoleArn` and `sts:AssumeRole` hops.

use cloudscan_access::bridge::{AccessFacts, IdentityFacts};
use cloudscan_access::capability::{AccessProfile, Reach};
use cloudscan_access::chain::{describe, HopKind};
use cloudscan_inventory::Inventory;
use serde_json::{json, Value};

const A: &str = "111111111111";
const B: &str = "222222222222";
const SA: &str = "service account `ns/sa` in cluster `c` (pod-identity)";

fn role(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

fn allow(action: &str, resource: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": action, "Resource": resource}]})
}

fn trust(principal: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]})
}

/// A role with `policies`, used by node pool `p` (when `node`) and by the Pod Identity workload
/// `ns/sa` (when `workload`).
fn identity(
    arn: &str,
    policies: Vec<Value>,
    trusted: Option<&str>,
    node: bool,
    workload: bool,
) -> Value {
    let account = arn.split(':').nth(4).unwrap_or_default();
    let mut used_by = Vec::new();
    if node {
        used_by.push(json!({"kind": "node_pool", "cluster": "c", "pool": "p"}));
    }
    if workload {
        used_by.push(
            json!({"kind": "workload", "cluster": "c", "namespace": "ns",
            "service_account": "sa", "mechanism": "pod-identity"}),
        );
    }
    let mut v = json!({"id": arn, "name": arn.rsplit('/').next(), "kind": "aws-role",
        "scope": account, "used_by": used_by,
        "policies": policies.into_iter().enumerate().map(|(i, d)| json!(
            {"kind": "inline", "name": format!("p{i}"), "document": d})).collect::<Vec<_>>()});
    if let Some(t) = trusted {
        v["trust"] = json!({"kind": "trust", "name": "trust", "document": trust(t)});
    }
    v
}

/// The association `ns/sa` → `role` (→ `target`), with `session` as its session policy document
/// (`Err`: a policy the adapter could not decode).
fn binding(role: &str, target: Option<&str>, session: Option<Result<Value, &str>>) -> Value {
    let mut b = json!({"namespace": "ns", "service_account": "sa", "identity": role,
        "mechanism": "pod-identity", "target_identity": target});
    let name = "pod identity association ns/sa in cluster c";
    match session {
        Some(Ok(doc)) => {
            b["session_policy"] = json!({"kind": "session", "name": name, "document": doc})
        }
        Some(Err(why)) => {
            b["session_policy"] = json!({"kind": "session", "name": name, "error": why})
        }
        None => {}
    }
    b
}

fn inventory(identities: Vec<Value>, bindings: Vec<Value>) -> Inventory {
    let v = json!({"provider": "aws", "schema_version": "cloudscan.inventory/v1",
        "clusters": [{"name": "c", "scope": A, "node_pools": [{"name": "p",
            "metadata": [{"level": "instance", "resource": "i-1", "tokens_required": false,
                "hop_limit": 2, "source": "ec2:DescribeInstances"}]}],
            "workload_identity": {"bindings": bindings}}],
        "identities": identities});
    match serde_json::from_value(v) {
        Ok(inv) => inv,
        Err(e) => panic!("test inventory: {e}"),
    }
}

fn secrets_everywhere(p: &AccessProfile) -> bool {
    p.capabilities
        .iter()
        .any(|c| c.id == "secrets-read" && c.reach == Reach::All)
}

fn facts<'a>(all: &'a AccessFacts, id: &str) -> &'a IdentityFacts {
    match all.identities.get(id) {
        Some(f) => f,
        None => panic!("{id} not analyzed"),
    }
}

fn one_bucket() -> Value {
    allow("s3:GetObject", "arn:aws:s3:::reports/*")
}

#[test]
fn the_associations_pods_act_with_the_role_limited_by_the_session_policy() {
    let app = role(A, "app");
    let inv = inventory(
        vec![identity(
            &app,
            vec![
                allow("secretsmanager:GetSecretValue", "*"),
                allow("s3:GetObject", "*"),
            ],
            None,
            true,
            true,
        )],
        vec![binding(&app, None, Some(Ok(one_bucket())))],
    );
    let all = AccessFacts::for_inventory(&inv);
    let f = facts(&all, &app);
    assert_eq!(f.exposures.len(), 2);
    let (node, pods): (Vec<_>, Vec<_>) = f.exposures.iter().partition(|e| e.session.is_none());
    assert_eq!((node.len(), pods.len()), (1, 1));
    // The role (and its node pool) reads every secret; the association's session does not.
    assert!(secrets_everywhere(f.profile_of(node[0])));
    assert!(!secrets_everywhere(f.profile_of(pods[0])));
    assert_eq!(f.sessions.len(), 1);
    // The rules' view: the node pool only, and a note naming the session policy and the user.
    let view = f
        .narrowed(secrets_everywhere)
        .expect("the node pool still reads secrets");
    assert_eq!(view.exposures.len(), 1);
    assert!(view.exposures[0].node_pool().is_some());
    assert_eq!(view.session_notes.len(), 1);
    assert_eq!(view.session_notes[0].user, SA);
    assert_eq!(view.session_notes[0].unreadable, None);
    assert!(view.session_notes[0].to_string().starts_with(
        "session policy of pod identity association ns/sa in cluster c does not allow it"
    ));
    // What the session policy allows stays with the association's pods.
    let reads_some = |p: &AccessProfile| {
        p.capabilities
            .iter()
            .any(|c| c.id == "object-read" && c.reach == Reach::Some)
    };
    let view = f
        .narrowed(reads_some)
        .expect("the session reads one bucket");
    assert_eq!(
        view.exposures.iter().map(describe).collect::<Vec<_>>(),
        vec![SA]
    );
    // Without the node pool, nothing reads secrets.
    let inv = inventory(
        vec![identity(
            &app,
            vec![allow("secretsmanager:GetSecretValue", "*")],
            None,
            false,
            true,
        )],
        vec![binding(&app, None, Some(Ok(one_bucket())))],
    );
    let all = AccessFacts::for_inventory(&inv);
    assert!(facts(&all, &app).narrowed(secrets_everywhere).is_none());
}

#[test]
fn an_allow_all_session_policy_or_none_changes_nothing_and_an_unreadable_one_is_noted() {
    let app = role(A, "app");
    let everything = allow("*", "*");
    for session in [None, Some(Ok(everything))] {
        let inv = inventory(
            vec![identity(
                &app,
                vec![allow("secretsmanager:GetSecretValue", "*")],
                None,
                true,
                true,
            )],
            vec![binding(&app, None, session)],
        );
        let all = AccessFacts::for_inventory(&inv);
        let view = facts(&all, &app)
            .narrowed(secrets_everywhere)
            .expect("fires");
        assert_eq!(view.exposures.len(), 2);
        assert!(view.session_notes.is_empty());
    }
    // Undecodable (adapter error) or not a policy (parser error): not evaluated, not narrowed.
    let not_a_policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Maybe", "Action": "s3:GetObject", "Resource": "*"}]});
    for session in [Err("the document is not valid JSON"), Ok(not_a_policy)] {
        let inv = inventory(
            vec![identity(
                &app,
                vec![allow("secretsmanager:GetSecretValue", "*")],
                None,
                false,
                true,
            )],
            vec![binding(&app, None, Some(session))],
        );
        let all = AccessFacts::for_inventory(&inv);
        let f = facts(&all, &app);
        assert!(f.sessions.is_empty());
        let view = f
            .narrowed(secrets_everywhere)
            .expect("credited with the role's access");
        assert_eq!(view.exposures.len(), 1);
        assert_eq!(view.session_notes.len(), 1);
        assert!(view.session_notes[0].unreadable.is_some());
        assert!(view.session_notes[0]
            .to_string()
            .contains("was not evaluated"));
    }
}

#[test]
fn with_a_target_role_the_session_policy_limits_the_target_not_the_association_role() {
    let assoc = role(A, "assoc");
    let target = role(B, "target");
    let inv = inventory(
        vec![
            identity(
                &assoc,
                vec![
                    allow("sts:AssumeRole", "*"),
                    allow("secretsmanager:GetSecretValue", "*"),
                ],
                None,
                false,
                true,
            ),
            identity(
                &target,
                vec![allow("secretsmanager:GetSecretValue", "*")],
                Some(&assoc),
                false,
                false,
            ),
        ],
        vec![binding(&assoc, Some(&target), Some(Ok(one_bucket())))],
    );
    let all = AccessFacts::for_inventory(&inv);
    // The association role's session is not limited (EKS API Reference: "the policy
    // restrictions apply only to the target role's permissions").
    let a = facts(&all, &assoc);
    assert!(a.exposures.iter().all(|e| e.session.is_none()));
    assert!(a.narrowed(secrets_everywhere).is_some());
    // The target's session is.
    let t = facts(&all, &target);
    assert_eq!(t.exposures.len(), 1);
    assert_eq!(t.exposures[0].via[0].kind, HopKind::PodIdentityTarget);
    assert!(t.exposures[0].session.is_some());
    assert!(secrets_everywhere(&t.profile));
    assert!(t.narrowed(secrets_everywhere).is_none());
}

#[test]
fn a_session_policy_must_allow_the_assume_role_hop_and_the_next_role_is_not_limited() {
    let app = role(A, "app");
    let next = role(A, "next");
    let build = |session: Value| {
        inventory(
            vec![
                identity(&app, vec![allow("sts:AssumeRole", "*")], None, false, true),
                identity(
                    &next,
                    vec![allow("secretsmanager:GetSecretValue", "*")],
                    Some(&app),
                    false,
                    false,
                ),
            ],
            vec![binding(&app, None, Some(Ok(session)))],
        )
    };
    // The session policy does not allow sts:AssumeRole: the pods cannot take the hop.
    let all = AccessFacts::for_inventory(&build(one_bucket()));
    assert!(!all.identities.contains_key(&next));
    // It allows it on `next`: the chain is there, and `next`'s session has no session policy.
    let all = AccessFacts::for_inventory(&build(allow("sts:AssumeRole", &next)));
    let n = facts(&all, &next);
    assert_eq!(n.exposures.len(), 1);
    assert_eq!(n.exposures[0].via[0].kind, HopKind::AssumeRole);
    assert!(n.exposures[0].session.is_none());
    assert!(n.narrowed(secrets_everywhere).is_some());
}
