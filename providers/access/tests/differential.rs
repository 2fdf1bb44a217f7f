//! Differential test: our evaluator against `@cloud-copilot/iam-simulate` (run as a separate
//! node process, see `tests/oracle/`), over a deterministic corpus of random but valid cases.
//!
//! Known, intended differences are listed in `tests/oracle/KNOWN_DIFFERENCES.md`; each one is
//! recognised by [`classify`] and counted, every other disagreement fails the test.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

const A: &str = "111111111111";
const B: &str = "222222222222";
/// 64 x the grid size: half are grid cells (32 per cell), half free random cases.
const CASES: usize = 10_240;

/// SplitMix64: small, deterministic, good enough for test generation.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

struct Target {
    action: &'static str,
    resources: Vec<String>,
}

fn targets() -> Vec<Target> {
    let s3: Vec<String> = ["data-a", "data-b", "Logs"]
        .iter()
        .flat_map(|b| {
            ["alice/file.txt", "public/x.json", "secret/k"]
                .iter()
                .map(move |k| format!("arn:aws:s3:::{b}/{k}"))
        })
        .collect();
    let per_acct = |f: &dyn Fn(&str) -> Vec<String>| -> Vec<String> {
        let mut v = f(A);
        v.extend(f(B));
        v
    };
    let secrets = per_acct(&|a| {
        vec![
            format!("arn:aws:secretsmanager:us-east-1:{a}:secret:db-pass-AbCdEf"),
            format!("arn:aws:secretsmanager:eu-west-1:{a}:secret:api-key-123456"),
        ]
    });
    let roles = per_acct(&|a| {
        vec![
            format!("arn:aws:iam::{a}:role/app"),
            format!("arn:aws:iam::{a}:role/admin"),
        ]
    });
    let instances = per_acct(&|a| {
        vec![
            format!("arn:aws:ec2:us-east-1:{a}:instance/i-0123456789abcdef0"),
            format!("arn:aws:ec2:eu-west-1:{a}:instance/i-0fedcba9876543210"),
        ]
    });
    let trust = per_acct(&|a| vec![format!("arn:aws:iam::{a}:role/target")]);
    let keys = per_acct(&|a| {
        vec![format!(
            "arn:aws:kms:us-east-1:{a}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        )]
    });
    let tables = per_acct(&|a| vec![format!("arn:aws:dynamodb:us-east-1:{a}:table/Orders")]);
    vec![
        Target {
            action: "s3:GetObject",
            resources: s3.clone(),
        },
        Target {
            action: "s3:PutObject",
            resources: s3.clone(),
        },
        Target {
            action: "s3:DeleteObject",
            resources: s3,
        },
        Target {
            action: "secretsmanager:GetSecretValue",
            resources: secrets,
        },
        Target {
            action: "iam:PassRole",
            resources: roles,
        },
        Target {
            action: "ec2:TerminateInstances",
            resources: instances.clone(),
        },
        Target {
            action: "ec2:StartInstances",
            resources: instances,
        },
        Target {
            action: "sts:AssumeRole",
            resources: trust,
        },
        Target {
            action: "kms:Decrypt",
            resources: keys,
        },
        Target {
            action: "dynamodb:GetItem",
            resources: tables,
        },
    ]
}

const ACTION_PATTERNS: &[&str] = &[
    "*",
    "s3:GetObject",
    "s3:Get*",
    "s3:*Object",
    "s3:GetObjec?",
    "S3:getobject",
    "s3:*",
    "s3:PutObject",
    "secretsmanager:GetSecretValue",
    "SecretsManager:get*",
    "iam:PassRole",
    "iam:Pass*",
    "ec2:*Instances",
    "ec2:TerminateInstances",
    "sts:AssumeRole",
    "sts:AssumeRole*",
    "kms:*",
    "kms:Decrypt",
    "dynamodb:Get*",
    "dynamodb:GetItem",
];

fn resource_patterns() -> Vec<String> {
    vec![
        "*".into(),
        "arn:aws:s3:::data-a/*".into(),
        "arn:aws:s3:::data-*/alice/*".into(),
        "arn:aws:s3:::data-a/${aws:username}/*".into(),
        "arn:aws:s3:::data-?/${aws:PrincipalTag/team, 'public'}/*".into(),
        "arn:aws:s3:::Data-a/*".into(),
        "arn:aws:s3:::*/public/*".into(),
        "arn:aws:s3:::Logs/*".into(),
        "arn:aws:s3:::data-b/secret/k".into(),
        "arn:aws:secretsmanager:*:*:secret:db-*".into(),
        format!("arn:aws:secretsmanager:us-east-1:{A}:secret:*"),
        "arn:aws:iam::*:role/app".into(),
        format!("arn:aws:iam::{A}:role/*"),
        format!("arn:aws:iam::{B}:role/target"),
        "arn:aws:iam::*:role/t*".into(),
        "arn:aws:ec2:us-east-1:*:instance/*".into(),
        "arn:aws:ec2:*:*:instance/i-0123456789abcdef?".into(),
        format!("arn:aws:kms:*:{A}:key/*"),
        "arn:aws:kms:us-east-1:*:key/*".into(),
        "arn:aws:dynamodb:*:*:table/Ord?rs".into(),
        format!("arn:aws:dynamodb:us-east-1:{B}:table/*"),
    ]
}

fn condition(rng: &mut Rng) -> (String, String, Value) {
    let c: (&str, &str, Value) = match rng.below(22) {
        0 => ("StringEquals", "aws:RequestedRegion", json!("us-east-1")),
        1 => (
            "StringEquals",
            "aws:RequestedRegion",
            json!(["us-east-1", "eu-west-1"]),
        ),
        2 => (
            "StringLike",
            "aws:PrincipalTag/team",
            json!(["dev*", "ops"]),
        ),
        3 => ("StringNotEquals", "aws:PrincipalTag/team", json!("dev")),
        4 => (
            "StringNotLike",
            "aws:PrincipalTag/team",
            json!(["dev*", "ops"]),
        ),
        5 => (
            "StringEqualsIfExists",
            "aws:RequestedRegion",
            json!("eu-west-1"),
        ),
        6 => ("Bool", "aws:SecureTransport", json!("false")),
        7 => ("Bool", "aws:SecureTransport", json!(true)),
        8 => ("BoolIfExists", "aws:MultiFactorAuthPresent", json!("true")),
        9 => ("NumericLessThan", "aws:MultiFactorAuthAge", json!("3600")),
        10 => (
            "IpAddress",
            "aws:SourceIp",
            json!(["10.0.0.0/8", "203.0.113.0/24"]),
        ),
        11 => ("NotIpAddress", "aws:SourceIp", json!("10.0.0.0/8")),
        12 => (
            "DateGreaterThan",
            "aws:CurrentTime",
            json!("2020-01-01T00:00:00Z"),
        ),
        13 => (
            "DateLessThan",
            "aws:CurrentTime",
            json!("2025-06-01T00:00:00Z"),
        ),
        14 => (
            "Null",
            "aws:PrincipalTag/team",
            json!(rng.chance(50).to_string()),
        ),
        15 => (
            "ForAnyValue:StringEquals",
            "aws:TagKeys",
            json!(["env", "team"]),
        ),
        16 => (
            "ForAllValues:StringLike",
            "aws:TagKeys",
            json!(["env", "te*"]),
        ),
        17 => (
            "ArnLike",
            "aws:PrincipalArn",
            json!("arn:aws:iam::*:role/app"),
        ),
        18 => (
            "ArnNotEquals",
            "aws:PrincipalArn",
            json!(format!("arn:aws:iam::{A}:user/alice")),
        ),
        19 => (
            "StringEquals",
            "aws:PrincipalTag/owner",
            json!("${aws:username}"),
        ),
        20 => (
            "StringEqualsIgnoreCase",
            "aws:PrincipalTag/team",
            json!("DEV"),
        ),
        _ => ("StringEquals", "aws:PrincipalAccount", json!(A)),
    };
    (c.0.to_string(), c.1.to_string(), c.2)
}

fn conditions(rng: &mut Rng) -> Option<Value> {
    let n = match rng.below(10) {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    };
    if n == 0 {
        return None;
    }
    let mut m = serde_json::Map::new();
    for _ in 0..n {
        let (op, key, val) = condition(rng);
        let entry = m.entry(op).or_insert_with(|| json!({}));
        if let Value::Object(o) = entry {
            o.insert(key, val);
        }
    }
    Some(Value::Object(m))
}

fn one_or_list(rng: &mut Rng, items: Vec<String>) -> Value {
    if items.len() == 1 && rng.chance(60) {
        json!(items[0])
    } else {
        json!(items)
    }
}

fn statement(rng: &mut Rng, allow_pct: u64, resource: bool, principal: Option<Value>) -> Value {
    let mut s = serde_json::Map::new();
    if rng.chance(30) {
        s.insert("Sid".into(), json!(format!("S{}", rng.below(100))));
    }
    let effect = if rng.chance(allow_pct) {
        "Allow"
    } else {
        "Deny"
    };
    s.insert("Effect".into(), json!(effect));
    if let Some(p) = principal {
        if effect == "Deny" && rng.chance(15) {
            s.insert("NotPrincipal".into(), p);
        } else {
            s.insert("Principal".into(), p);
        }
    }
    let n = 1 + rng.below(3);
    let actions: Vec<String> = (0..n)
        .map(|_| rng.pick(ACTION_PATTERNS).to_string())
        .collect();
    let akey = if rng.chance(12) {
        "NotAction"
    } else {
        "Action"
    };
    s.insert(akey.into(), one_or_list(rng, actions));
    if resource {
        let pats = resource_patterns();
        let n = 1 + rng.below(2);
        let res: Vec<String> = (0..n).map(|_| rng.pick(&pats).clone()).collect();
        let rkey = if rng.chance(10) {
            "NotResource"
        } else {
            "Resource"
        };
        s.insert(rkey.into(), one_or_list(rng, res));
    }
    if let Some(c) = conditions(rng) {
        s.insert("Condition".into(), c);
    }
    Value::Object(s)
}

fn policy(rng: &mut Rng, allow_pct: u64, resource: bool, principals: &[Value]) -> Value {
    let n = 1 + rng.below(3);
    let stmts: Vec<Value> = (0..n)
        .map(|_| {
            let p = (!principals.is_empty()).then(|| rng.pick(principals).clone());
            statement(rng, allow_pct, resource, p)
        })
        .collect();
    if stmts.len() == 1 && rng.chance(30) {
        json!({"Version": "2012-10-17", "Statement": stmts[0]})
    } else {
        json!({"Version": "2012-10-17", "Statement": stmts})
    }
}

fn full_access() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
}

/// The principal forms a resource policy can name (issue 11: every one of them is paired with
/// every policy type and with same/cross account).
const FORMS: [&str; 5] = [
    "role ARN",
    "session ARN",
    "account root",
    "account ID",
    "service",
];
/// Policy types besides the resource policy, one bit each in [`Cell::mask`].
const LAYERS: [&str; 4] = ["identity", "boundary", "session", "scp"];
/// Number of grid cells: every subset of [`LAYERS`] x [`FORMS`] x same/cross account.
const CELLS: usize = (1 << LAYERS.len()) * FORMS.len() * 2;

/// One cell of the pairing grid: which policy types are present (the resource policy always
/// is), which principal form the resource policy names, and whether the resource is in
/// another account.
#[derive(Debug, Clone, Copy)]
struct Cell {
    mask: usize,
    form: usize,
    cross: bool,
}

impl Cell {
    fn nth(n: usize) -> Cell {
        let n = n % CELLS;
        Cell {
            mask: n % (1 << LAYERS.len()),
            form: (n >> LAYERS.len()) % FORMS.len(),
            cross: n / ((1 << LAYERS.len()) * FORMS.len()) == 1,
        }
    }
    fn has(&self, layer: &str) -> bool {
        LAYERS
            .iter()
            .position(|l| *l == layer)
            .is_some_and(|i| self.mask & (1 << i) != 0)
    }
    fn label(&self) -> String {
        let layers: Vec<&str> = LAYERS
            .iter()
            .enumerate()
            .filter(|(i, _)| self.mask & (1 << i) != 0)
            .map(|(_, l)| *l)
            .collect();
        format!(
            "resource+{} names {} ({})",
            if layers.is_empty() {
                "-".to_string()
            } else {
                layers.join("+")
            },
            FORMS[self.form],
            if self.cross { "cross" } else { "same" }
        )
    }
}

/// The caller for a grid cell (account `A`): the principal the named form can match, and
/// sometimes one it does not.
fn cell_principal(rng: &mut Rng, cell: &Cell) -> String {
    let role = format!("arn:aws:iam::{A}:role/app");
    let session = format!("arn:aws:sts::{A}:assumed-role/app/sess1");
    match cell.form {
        0 => {
            if rng.chance(50) {
                role
            } else {
                session
            }
        }
        1 => {
            if rng.chance(85) {
                session
            } else {
                format!("arn:aws:sts::{A}:assumed-role/app/other")
            }
        }
        // A service principal has no identity policies, boundary, session policy or SCPs:
        // it calls only in the cells without those layers; in the others the caller is a
        // session, which the named service must not match.
        4 => {
            if cell.mask == 0 && rng.chance(80) {
                "ec2.amazonaws.com".to_string()
            } else {
                session
            }
        }
        _ => rng
            .pick(&[format!("arn:aws:iam::{A}:user/alice"), role, session])
            .clone(),
    }
}

/// The resource-policy statement naming the cell's principal form.
fn cell_statement(rng: &mut Rng, cell: &Cell, action: &str, resource: &str) -> Value {
    let principal = match cell.form {
        0 => json!({"AWS": format!("arn:aws:iam::{A}:role/app")}),
        1 => json!({"AWS": format!("arn:aws:sts::{A}:assumed-role/app/sess1")}),
        2 => json!({"AWS": format!("arn:aws:iam::{A}:root")}),
        3 => json!({"AWS": A}),
        _ => json!({"Service": "ec2.amazonaws.com"}),
    };
    let mut s = serde_json::Map::new();
    s.insert(
        "Effect".into(),
        json!(if rng.chance(85) { "Allow" } else { "Deny" }),
    );
    s.insert("Principal".into(), principal);
    s.insert(
        "Action".into(),
        json!(if rng.chance(70) {
            action.to_string()
        } else {
            rng.pick(ACTION_PATTERNS).to_string()
        }),
    );
    if !action.starts_with("sts:") {
        s.insert(
            "Resource".into(),
            json!(if rng.chance(50) { "*" } else { resource }),
        );
    }
    if rng.chance(20) {
        if let Some(c) = conditions(rng) {
            s.insert("Condition".into(), c);
        }
    }
    Value::Object(s)
}

fn gen_case(rng: &mut Rng, targets: &[Target], cell: Option<Cell>) -> Value {
    let principals = [
        format!("arn:aws:iam::{A}:user/alice"),
        format!("arn:aws:iam::{A}:role/app"),
        format!("arn:aws:sts::{A}:assumed-role/app/sess1"),
        format!("arn:aws:iam::{B}:user/bob"),
        format!("arn:aws:sts::{B}:assumed-role/ops/s2"),
    ];
    let principal = match &cell {
        // iam-simulate takes a session policy only for a session principal (it rejects the
        // case otherwise), so with that layer the caller is a session; a role ARN caller with
        // a session policy is covered by the unit tests in `src/eval.rs`.
        Some(c) if c.has("session") => match c.form {
            1 if rng.chance(15) => format!("arn:aws:sts::{A}:assumed-role/app/other"),
            _ => format!("arn:aws:sts::{A}:assumed-role/app/sess1"),
        },
        Some(c) => cell_principal(rng, c),
        None => rng.pick(&principals).clone(),
    };

    let caller_acct = if principal.contains(B) { B } else { A };
    let target = rng.pick(targets);
    let is_s3 = target.action.starts_with("s3:");
    let (resource, resource_account) = match &cell {
        Some(c) => {
            let acct = if c.cross { B } else { A };
            let own: Vec<&String> = target
                .resources
                .iter()
                .filter(|r| is_s3 || r.contains(acct))
                .collect();
            let r = match own.is_empty() {
                true => rng.pick(&target.resources).clone(),
                false => (*rng.pick(&own)).clone(),
            };
            (r, if is_s3 { json!(acct) } else { Value::Null })
        }
        None => {
            let r = rng.pick(&target.resources).clone();
            let ra = if is_s3 && rng.chance(30) {
                json!(if rng.chance(50) { A } else { B })
            } else {
                Value::Null
            };
            (r, ra)
        }
    };
    let wants = |rng: &mut Rng, layer: &str, pct: u64| match &cell {
        Some(c) => c.has(layer),
        None => rng.chance(pct),
    };

    let n_identity = match &cell {
        Some(c) if c.has("identity") => 1 + rng.below(3),
        Some(_) => 0,
        None => rng.below(4),
    };
    let identity: Vec<Value> = (0..n_identity)
        .map(|_| policy(rng, 75, true, &[]))
        .collect();
    let boundary = if wants(rng, "boundary", 25) {
        if rng.chance(40) {
            full_access()
        } else {
            policy(rng, 80, true, &[])
        }
    } else {
        Value::Null
    };
    let scps: Vec<Value> = if wants(rng, "scp", 25) {
        (0..1 + rng.below(3))
            .map(|_| {
                let mut level = Vec::new();
                if rng.chance(80) {
                    level.push(full_access());
                }
                if rng.chance(50) || level.is_empty() {
                    level.push(policy(rng, 50, true, &[]));
                }
                json!(level)
            })
            .collect()
    } else {
        Vec::new()
    };
    let session = if match &cell {
        Some(c) => c.has("session"),
        None => principal.contains(":assumed-role/") && rng.chance(20),
    } {
        policy(rng, 80, true, &[])
    } else {
        Value::Null
    };
    let needs_rp = target.action.starts_with("sts:") || target.action.starts_with("kms:");
    let resource_policy = if cell.is_some() || rng.chance(if needs_rp { 85 } else { 40 }) {
        let role_of = |p: &str| -> String {
            match p.split_once(":assumed-role/") {
                Some((head, rest)) => format!(
                    "{}:role/{}",
                    head.replace(":sts:", ":iam:"),
                    rest.split('/').next().unwrap_or("")
                ),
                None => p.to_string(),
            }
        };
        let pvals = vec![
            json!("*"),
            json!({"AWS": "*"}),
            json!({"AWS": caller_acct}),
            json!({"AWS": format!("arn:aws:iam::{caller_acct}:root")}),
            json!({"AWS": principal.clone()}),
            json!({"AWS": [role_of(&principal), format!("arn:aws:iam::{B}:root")]}),
            json!({"AWS": format!("arn:aws:iam::{A}:user/alice")}),
            json!({"AWS": format!("arn:aws:iam::{B}:root")}),
            json!({"Service": "ec2.amazonaws.com"}),
        ];
        // Trust policies omit Resource; the others name it.
        let with_resource = !target.action.starts_with("sts:");
        let mut doc = policy(rng, 80, with_resource, &pvals);
        if let Some(c) = &cell {
            // The statement naming the cell's form goes first; the random ones stay (fewer
            // of them) so that denies and other principals still mix in.
            let named = cell_statement(rng, c, target.action, &resource);
            let mut stmts = match doc.get("Statement") {
                Some(Value::Array(a)) => a.clone(),
                Some(v) => vec![v.clone()],
                None => Vec::new(),
            };
            stmts.truncate(rng.below(2));
            stmts.insert(0, named);
            doc = json!({"Version": "2012-10-17", "Statement": stmts});
        }
        doc
    } else {
        Value::Null
    };

    let mut ctx = serde_json::Map::new();
    let mut maybe = |rng: &mut Rng, key: &str, vals: &[Value]| {
        if rng.chance(55) {
            ctx.insert(key.to_string(), rng.pick(vals).clone());
        }
    };
    maybe(
        rng,
        "aws:RequestedRegion",
        &[json!("us-east-1"), json!("eu-west-1")],
    );
    maybe(
        rng,
        "aws:PrincipalTag/team",
        &[json!("dev"), json!("devops"), json!("ops")],
    );
    maybe(
        rng,
        "aws:PrincipalTag/owner",
        &[json!("alice"), json!("bob")],
    );
    maybe(rng, "aws:SecureTransport", &[json!("true"), json!("false")]);
    maybe(
        rng,
        "aws:MultiFactorAuthPresent",
        &[json!("true"), json!("false")],
    );
    maybe(
        rng,
        "aws:MultiFactorAuthAge",
        &[json!("100"), json!("7200")],
    );
    maybe(
        rng,
        "aws:SourceIp",
        &[
            json!("10.1.2.3"),
            json!("198.51.100.1"),
            json!("203.0.113.9"),
        ],
    );
    maybe(
        rng,
        "aws:CurrentTime",
        &[json!("2026-11-27T00:00:00Z"), json!("2024-01-01T00:00:00Z")],
    );
    maybe(
        rng,
        "aws:TagKeys",
        &[json!(["env"]), json!(["env", "owner"]), json!(["team"])],
    );
    if principal.ends_with(":user/alice") && rng.chance(70) {
        ctx.insert("aws:username".into(), json!("alice"));
    }
    if principal.starts_with("arn:") && rng.chance(60) {
        let parn = match principal.split_once(":assumed-role/") {
            Some((head, rest)) => format!(
                "{}:role/{}",
                head.replace(":sts:", ":iam:"),
                rest.split('/').next().unwrap_or("")
            ),
            None => principal.clone(),
        };
        ctx.insert("aws:PrincipalArn".into(), json!(parn));
        ctx.insert("aws:PrincipalAccount".into(), json!(caller_acct));
    }

    json!({
        "identity_policies": identity,
        "permission_boundary": boundary,
        "scps": scps,
        "resource_policy": resource_policy,
        "session_policy": session,
        "request": {
            "principal": principal,
            "action": target.action,
            "resource": resource,
            "resource_account": resource_account,
            "context": Value::Object(ctx),
        }
    })
}

/// A known, documented difference (see KNOWN_DIFFERENCES.md), or `None`.
fn classify(case: &Value, ours: &str, theirs: &str) -> Option<&'static str> {
    let req = &case["request"];
    let action = req["action"].as_str().unwrap_or("");
    let principal = req["principal"].as_str().unwrap_or("");
    let rp = &case["resource_policy"];
    let rp_text = rp.to_string();
    // K1: sts:AssumeRole* without a trust policy: a role always has one and it must allow.
    if action.starts_with("sts:AssumeRole")
        && rp.is_null()
        && ours == "ImplicitlyDenied"
        && theirs == "Allowed"
    {
        return Some("K1 trust policy required");
    }
    // K2: a resource policy naming the exact session ARN is not limited by the session policy.
    if !case["session_policy"].is_null()
        && principal.contains(":assumed-role/")
        && rp_text.contains(&format!("\"{principal}\""))
        && ours == "Allowed"
        && theirs == "ImplicitlyDenied"
    {
        return Some("K2 session ARN named in resource policy");
    }
    // K3: NotPrincipal listing only the role ARN does not exclude the role's sessions.
    if principal.contains(":assumed-role/")
        && rp_text.contains("NotPrincipal")
        && ours == "ExplicitlyDenied"
        && theirs != "ExplicitlyDenied"
    {
        return Some("K3 NotPrincipal needs the session ARN");
    }
    None
}

fn oracle_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oracle")
}

fn run_oracle(lines: &[String]) -> Vec<Value> {
    let mut child = match Command::new("node")
        .arg("oracle.cjs")
        .current_dir(oracle_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("cannot start node: {e}"),
    };
    let mut stdin = match child.stdin.take() {
        Some(s) => s,
        None => panic!("no stdin"),
    };
    let input = lines.join("\n");
    let writer = std::thread::spawn(move || {
        let r = stdin.write_all(input.as_bytes());
        drop(stdin);
        r
    });
    let stdout = match child.stdout.take() {
        Some(s) => s,
        None => panic!("no stdout"),
    };
    let out: Vec<Value> = BufReader::new(stdout)
        .lines()
        .map(|l| match l.map(|l| serde_json::from_str::<Value>(&l)) {
            Ok(Ok(v)) => v,
            other => panic!("bad oracle output: {other:?}"),
        })
        .collect();
    match writer.join() {
        Ok(Ok(())) => {}
        other => panic!("writing to the oracle failed: {other:?}"),
    }
    match child.wait() {
        Ok(s) if s.success() => {}
        other => panic!("oracle failed: {other:?}"),
    }
    out
}

#[test]
fn differential_against_iam_simulate() {
    let installed = || {
        oracle_dir()
            .join("node_modules/@cloud-copilot/iam-simulate")
            .is_dir()
    };
    if !installed() {
        // First run on a fresh machine: install the oracle (npm ci) the way CI does.
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/install-deps.sh");
        let _ = std::process::Command::new("bash").arg(script).status();
    }
    if !installed() {
        let msg =
            "iam-simulate oracle not installed: run tests/install-deps.sh (npm ci in providers/access/tests/oracle)";
        if std::env::var_os("CI").is_some() {
            panic!("{msg} (required when CI is set)");
        }
        eprintln!("SKIPPED differential test: {msg}");
        return;
    }
    let targets = targets();
    let mut rng = Rng(0x00C1_0D5C_A11A_CCE5);
    // Every other case is a grid cell (each cell about CASES / 2 / CELLS times), the others
    // are free random cases as before.
    let cells: Vec<Option<Cell>> = (0..CASES)
        .map(|i| (i % 2 == 1).then(|| Cell::nth(i / 2)))
        .collect();
    let cases: Vec<String> = cells
        .iter()
        .map(|c| gen_case(&mut rng, &targets, *c).to_string())
        .collect();
    let theirs = run_oracle(&cases);
    assert_eq!(
        theirs.len(),
        cases.len(),
        "oracle answered a different number of cases"
    );

    let mut agree = 0usize;
    let mut oracle_errors = 0usize;
    let mut known: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut unexplained = Vec::new();
    let mut by_decision: std::collections::BTreeMap<String, usize> = Default::default();
    let mut per_cell: std::collections::BTreeMap<String, usize> = Default::default();
    for (i, (case, t)) in cases.iter().zip(&theirs).enumerate() {
        let ours = cloudscan_access::simulate::run_case(case, i + 1);
        let ours_d = ours
            .get("decision")
            .and_then(Value::as_str)
            .unwrap_or("error");
        let Some(theirs_d) = t.get("decision").and_then(Value::as_str) else {
            oracle_errors += 1;
            if oracle_errors <= 5 {
                eprintln!("oracle rejected case {}: {}", i + 1, t);
            }
            continue;
        };
        *by_decision.entry(theirs_d.to_string()).or_default() += 1;
        if let Some(c) = cells[i] {
            *per_cell.entry(c.label()).or_default() += 1;
        }
        if ours_d == theirs_d {
            agree += 1;
            continue;
        }
        let v: Value = serde_json::from_str(case).unwrap_or(Value::Null);
        match classify(&v, ours_d, theirs_d) {
            Some(k) => *known.entry(k).or_default() += 1,
            None => unexplained.push((i + 1, case.clone(), ours.to_string(), t.to_string())),
        }
    }
    eprintln!(
        "differential: {} cases, {} agreements, {} oracle validation errors, known differences {:?}, {} unexplained; oracle decisions {:?}",
        cases.len(),
        agree,
        oracle_errors,
        known,
        unexplained.len(),
        by_decision
    );
    for (n, case, ours, theirs) in unexplained.iter().take(40) {
        eprintln!("case {n}: {case}\n  ours:   {ours}\n  oracle: {theirs}");
    }
    assert!(
        oracle_errors * 20 < cases.len(),
        "too many cases rejected by the oracle ({oracle_errors}): the generator makes invalid cases"
    );
    let thin: Vec<_> = per_cell.iter().filter(|(_, n)| **n < 10).collect();
    eprintln!(
        "differential: {} of {CELLS} grid cells checked by the oracle; cells with fewer than 10 cases: {thin:?}",
        per_cell.len()
    );
    assert_eq!(
        per_cell.len(),
        CELLS,
        "some pairings of policy type x named principal form x account were never checked"
    );
    assert!(
        thin.is_empty(),
        "grid cells with fewer than 10 checked cases"
    );
    assert!(
        unexplained.is_empty(),
        "{} unexplained disagreements",
        unexplained.len()
    );
}
