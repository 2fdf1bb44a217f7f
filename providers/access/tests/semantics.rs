//! Table tests from the AWS documentation examples (shared/research/iam.md §1 and §2.3), the
//! three-valued (unknown context) answers, and property tests.

use cloudscan_access::condition::Context;
use cloudscan_access::eval::{Decision, NamedPolicy, PolicyIdentity, ResourceTarget};
use cloudscan_access::matcher::Glob;
use cloudscan_access::policy::Policy;
use cloudscan_access::simulate::run_case;
use proptest::prelude::*;
use serde_json::{json, Value};

const ACCT: &str = "111122223333";

fn case(identity: Value, extra: Value, action: &str, resource: &str, ctx: Value) -> String {
    let mut c = json!({
        "identity_policies": [identity],
        "request": {"principal": format!("arn:aws:iam::{ACCT}:role/eks-node-role"), "action": action,
                    "resource": resource, "resource_account": ACCT, "context": ctx}
    });
    if let (Value::Object(m), Value::Object(e)) = (&mut c, extra) {
        for (k, v) in e {
            if k == "principal" {
                m["request"]["principal"] = v;
            } else {
                m.insert(k, v);
            }
        }
    }
    c.to_string()
}

fn allow(action: &str, resource: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})
}

fn decide(c: &str) -> String {
    let out = run_case(c, 1);
    match out.get("decision").and_then(Value::as_str) {
        Some(d) => d.to_string(),
        None => format!("error: {out}"),
    }
}

#[test]
fn documented_outcomes() {
    let obj = "arn:aws:s3:::bucket/x";
    let none = json!({});
    let table: Vec<(&str, String, &str)> = vec![
        (
            "case-insensitive action",
            case(
                allow("S3:getOBJECT", "*"),
                none.clone(),
                "s3:GetObject",
                obj,
                json!({}),
            ),
            "Allowed",
        ),
        (
            "? wildcard",
            case(
                allow("s3:GetObjec?", "*"),
                none.clone(),
                "s3:GetObject",
                obj,
                json!({}),
            ),
            "Allowed",
        ),
        (
            "resource case-sensitive",
            case(
                allow("s3:GetObject", "arn:aws:s3:::Bucket/*"),
                none.clone(),
                "s3:GetObject",
                obj,
                json!({}),
            ),
            "ImplicitlyDenied",
        ),
        (
            "* spans /",
            case(
                allow("s3:GetObject", "arn:aws:s3:::b*"),
                none.clone(),
                "s3:GetObject",
                obj,
                json!({}),
            ),
            "Allowed",
        ),
        (
            "NotResource excludes",
            case(
                json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::bucket/*"}]}),
                none.clone(),
                "s3:GetObject",
                obj,
                json!({}),
            ),
            "ImplicitlyDenied",
        ),
        (
            "Deny NotAction iam:* blocks s3",
            case(
                json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"}]}),
                none.clone(),
                "s3:GetObject",
                obj,
                json!({}),
            ),
            "ExplicitlyDenied",
        ),
        (
            "${aws:username} resolved",
            case(
                allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:username}"),
                none.clone(),
                "s3:GetObject",
                "arn:aws:s3:::bucket/alice",
                json!({"aws:username": "alice"}),
            ),
            "Allowed",
        ),
        (
            "${aws:username} missing",
            case(
                allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:username}"),
                none.clone(),
                "s3:GetObject",
                "arn:aws:s3:::bucket/alice",
                json!({}),
            ),
            "ImplicitlyDenied",
        ),
        (
            "StringEquals absent key",
            case(
                cond("StringEquals", "aws:RequestedRegion", json!("eu-west-1")),
                none.clone(),
                "s3:GetObject",
                obj,
                json!({}),
            ),
            "ImplicitlyDenied",
        ),
        (
            "StringEqualsIfExists absent key",
            case(
                cond(
                    "StringEqualsIfExists",
                    "aws:RequestedRegion",
                    json!("eu-west-1"),
                ),
                none.clone(),
                "s3:GetObject",
                obj,
                json!({}),
            ),
            "Allowed",
        ),
        (
            "StringNotEquals absent key",
            case(
                cond("StringNotEquals", "aws:RequestedRegion", json!("eu-west-1")),
                none.clone(),
                "s3:GetObject",
                obj,
                json!({}),
            ),
            "Allowed",
        ),
        (
            "Null true absent key",
            case(
                cond("Null", "aws:RequestedRegion", json!("true")),
                none.clone(),
                "s3:GetObject",
                obj,
                json!({}),
            ),
            "Allowed",
        ),
        (
            "ForAllValues absent",
            case(
                cond("ForAllValues:StringEquals", "aws:TagKeys", json!(["a"])),
                none.clone(),
                "s3:GetObject",
                obj,
                json!({}),
            ),
            "Allowed",
        ),
        (
            "ForAnyValue absent",
            case(
                cond("ForAnyValue:StringEquals", "aws:TagKeys", json!(["a"])),
                none.clone(),
                "s3:GetObject",
                obj,
                json!({}),
            ),
            "ImplicitlyDenied",
        ),
        (
            "negated NOR",
            case(
                cond(
                    "StringNotEquals",
                    "aws:RequestedRegion",
                    json!(["a", "eu-west-1"]),
                ),
                none.clone(),
                "s3:GetObject",
                obj,
                json!({"aws:RequestedRegion": "eu-west-1"}),
            ),
            "ImplicitlyDenied",
        ),
        (
            "ArnLike PrincipalArn",
            case(
                cond(
                    "ArnLike",
                    "aws:PrincipalArn",
                    json!("arn:aws:iam::*:role/eks-*"),
                ),
                none.clone(),
                "s3:GetObject",
                obj,
                json!({"aws:PrincipalArn": format!("arn:aws:iam::{ACCT}:role/eks-node")}),
            ),
            "Allowed",
        ),
        (
            "IpAddress v6",
            case(
                cond("IpAddress", "aws:SourceIp", json!("2001:db8::/32")),
                none.clone(),
                "s3:GetObject",
                obj,
                json!({"aws:SourceIp": "2001:db8::7"}),
            ),
            "Allowed",
        ),
        (
            "DateLessThan epoch",
            case(
                cond("DateLessThan", "aws:CurrentTime", json!("1700000000")),
                none.clone(),
                "s3:GetObject",
                obj,
                json!({"aws:CurrentTime": "2020-01-01T00:00:00Z"}),
            ),
            "Allowed",
        ),
        (
            "same-account bucket policy alone",
            case(
                json!({"Statement": []}),
                json!({"resource_policy": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCT}:role/eks-node-role")}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}]}}),
                "s3:GetObject",
                obj,
                json!({}),
            ),
            "Allowed",
        ),
        (
            "cross-account bucket policy alone",
            case(
                json!({"Statement": []}),
                json!({"principal": "arn:aws:iam::999988887777:role/r", "resource_policy": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "999988887777"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}]}}),
                "s3:GetObject",
                obj,
                json!({}),
            ),
            "ImplicitlyDenied",
        ),
        (
            "cross-account both allow",
            case(
                allow("s3:GetObject", "*"),
                json!({"principal": "arn:aws:iam::999988887777:role/r", "resource_policy": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "999988887777"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}]}}),
                "s3:GetObject",
                obj,
                json!({}),
            ),
            "Allowed",
        ),
        (
            "boundary caps identity",
            case(
                allow("s3:*", "*"),
                json!({"permission_boundary": allow("s3:ListBucket", "*")}),
                "s3:GetObject",
                obj,
                json!({}),
            ),
            "ImplicitlyDenied",
        ),
        (
            "role ARN in bucket policy limited by boundary",
            case(
                json!({"Statement": []}),
                json!({"principal": format!("arn:aws:sts::{ACCT}:assumed-role/r/s"), "permission_boundary": allow("s3:ListBucket", "*"),
                "resource_policy": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCT}:role/r")}, "Action": "s3:GetObject", "Resource": "*"}]}}),
                "s3:GetObject",
                obj,
                json!({}),
            ),
            "ImplicitlyDenied",
        ),
        (
            "session ARN in bucket policy not limited by boundary",
            case(
                json!({"Statement": []}),
                json!({"principal": format!("arn:aws:sts::{ACCT}:assumed-role/r/s"), "permission_boundary": allow("s3:ListBucket", "*"),
                "resource_policy": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:sts::{ACCT}:assumed-role/r/s")}, "Action": "s3:GetObject", "Resource": "*"}]}}),
                "s3:GetObject",
                obj,
                json!({}),
            ),
            "Allowed",
        ),
        (
            "SCP level without allow",
            case(
                allow("*", "*"),
                json!({"scps": [[allow("*", "*")], [allow("ec2:*", "*")]]}),
                "s3:GetObject",
                obj,
                json!({}),
            ),
            "ImplicitlyDenied",
        ),
        (
            "SCP deny",
            case(
                allow("*", "*"),
                json!({"scps": [[allow("*", "*"), {"Statement": {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}}]]}),
                "s3:GetObject",
                obj,
                json!({}),
            ),
            "ExplicitlyDenied",
        ),
        (
            "AssumeRole needs trust",
            case(
                allow("sts:AssumeRole", "*"),
                json!({"resource_policy": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCT}:root")}, "Action": "sts:AssumeRole"}]}}),
                "sts:AssumeRole",
                &format!("arn:aws:iam::{ACCT}:role/t"),
                json!({}),
            ),
            "Allowed",
        ),
        (
            "AssumeRole trust without principal",
            case(
                allow("sts:AssumeRole", "*"),
                json!({"resource_policy": {"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}),
                "sts:AssumeRole",
                &format!("arn:aws:iam::{ACCT}:role/t"),
                json!({}),
            ),
            "ImplicitlyDenied",
        ),
        (
            "KMS without key policy",
            case(
                allow("kms:*", "*"),
                none.clone(),
                "kms:Decrypt",
                &format!("arn:aws:kms:us-east-1:{ACCT}:key/k"),
                json!({}),
            ),
            "ImplicitlyDenied",
        ),
    ];
    for (name, c, want) in table {
        assert_eq!(decide(&c), want, "{name}: {c}");
    }
}

fn cond(op: &str, key: &str, v: Value) -> Value {
    json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {op: {key: v}}}]})
}

#[test]
fn invalid_cases_do_not_stop_the_batch() {
    let input = "\n{not json}\n{\"identity_policies\":[{\"Statement\":[{\"Effect\":\"allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}],\"request\":{\"principal\":\"arn:aws:iam::1:user/u\",\"action\":\"s3:GetObject\",\"resource\":\"*\"}}\n";
    let mut out = Vec::new();
    let stats = cloudscan_access::run_batch(input.as_bytes(), &mut out);
    assert_eq!(stats.map(|s| (s.cases, s.errors)).ok(), Some((2, 2)));
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("/identity_policies/0"), "{text}");
    assert!(
        text.contains(
            "/Statement/0/Effect: expected \\\"Allow\\\" or \\\"Deny\\\", found \\\"allow\\\""
        ),
        "{text}"
    );
}

#[test]
fn a_line_that_is_not_utf8_is_an_error_for_that_case_only() {
    let good = "{\"identity_policies\":[{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}],\"request\":{\"principal\":\"arn:aws:iam::1:user/u\",\"action\":\"s3:GetObject\",\"resource\":\"*\"}}";
    let mut input: Vec<u8> = Vec::new();
    input.extend_from_slice(good.as_bytes());
    input.extend_from_slice(b"\n{\"x\": \"\xff\xfe\"}\r\n");
    input.extend_from_slice(good.as_bytes());
    input.extend_from_slice(b"\r\n");
    let mut out = Vec::new();
    let stats = cloudscan_access::run_batch(input.as_slice(), &mut out);
    assert_eq!(
        stats.map(|s| (s.cases, s.allowed, s.errors)).ok(),
        Some((3, 2, 1))
    );
    let lines: Vec<&str> = std::str::from_utf8(&out)
        .unwrap_or_default()
        .lines()
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[1].contains("line 2: not valid UTF-8"), "{}", lines[1]);
    assert!(lines[2].contains("\"Allowed\""), "{}", lines[2]);
}

fn parse(v: Value) -> Policy {
    match Policy::from_value(&v) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn unknown_context_gives_residual() {
    let id = PolicyIdentity {
        principal: format!("arn:aws:iam::{ACCT}:role/app"),
        policies: vec![NamedPolicy::new(
            "p",
            parse(json!({"Statement": [
            {"Sid": "Read", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
             "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}]})),
        )],
        boundary: None,
    };
    let ev = id.evaluate(
        "secretsmanager:GetSecretValue",
        ResourceTarget::All("*"),
        &Context::partial(),
    );
    let ev = match ev {
        Ok(e) => e,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(ev.decision, Decision::Allowed);
    assert!(ev.is_conditional() && !ev.is_allowed() && ev.may_be_allowed());
    let text = ev.allowed_when.map(|f| f.to_string()).unwrap_or_default();
    assert!(text.contains("aws:RequestedRegion"), "{text}");
    // With the key known, the answer is certain.
    let mut ctx = Context::partial();
    ctx.set("aws:RequestedRegion", "us-east-1");
    let ev = id.evaluate(
        "secretsmanager:GetSecretValue",
        ResourceTarget::All("*"),
        &ctx,
    );
    assert_eq!(
        ev.map(|e| (e.decision, e.is_conditional())).ok(),
        Some((Decision::ImplicitlyDenied, false))
    );
}

#[test]
fn any_versus_all_resources() {
    let id = PolicyIdentity {
        principal: format!("arn:aws:iam::{ACCT}:role/app"),
        policies: vec![NamedPolicy::new(
            "p",
            parse(json!({"Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*"}]})),
        )],
        boundary: None,
    };
    let ctx = Context::partial();
    let any = id
        .evaluate("s3:GetObject", ResourceTarget::Any("*"), &ctx)
        .map(|e| e.decision)
        .ok();
    let all = id
        .evaluate("s3:GetObject", ResourceTarget::All("*"), &ctx)
        .map(|e| e.decision)
        .ok();
    assert_eq!(any, Some(Decision::Allowed));
    assert_eq!(all, Some(Decision::ImplicitlyDenied));
    let all_in_scope = id
        .evaluate(
            "s3:GetObject",
            ResourceTarget::All("arn:aws:s3:::data/x/*"),
            &ctx,
        )
        .map(|e| e.decision)
        .ok();
    assert_eq!(all_in_scope, Some(Decision::Allowed));
}

// ------------------------------------------------------------------------------------------
// Properties
// ------------------------------------------------------------------------------------------

fn action_strategy() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "*",
        "s3:*",
        "s3:Get*",
        "s3:GetObject",
        "s3:Put*",
        "iam:*",
        "ec2:Run?nstances",
        "s3:*Object",
    ])
    .prop_map(str::to_string)
}

fn resource_strategy() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "*",
        "arn:aws:s3:::b/*",
        "arn:aws:s3:::b/k",
        "arn:aws:s3:::c*",
        "arn:aws:ec2:*:*:instance/*",
    ])
    .prop_map(str::to_string)
}

fn stmt_strategy(effect: &'static str) -> impl Strategy<Value = Value> {
    (
        action_strategy(),
        resource_strategy(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(move |(a, r, not_a, cond)| {
            let mut s = json!({"Effect": effect, "Resource": r});
            s[if not_a { "NotAction" } else { "Action" }] = json!(a);
            if cond {
                s["Condition"] = json!({"StringEquals": {"aws:RequestedRegion": "eu-west-1"}});
            }
            s
        })
}

fn run(stmts: &[Value], action: &str, resource: &str) -> String {
    decide(&case(
        json!({"Statement": stmts}),
        json!({}),
        action,
        resource,
        json!({"aws:RequestedRegion": "eu-west-1"}),
    ))
}

proptest! {
    #[test]
    fn explicit_deny_always_wins(allows in prop::collection::vec(stmt_strategy("Allow"), 0..4),
                                 action in prop::sample::select(vec!["s3:GetObject", "s3:PutObject", "ec2:RunInstances"]),
                                 resource in prop::sample::select(vec!["arn:aws:s3:::b/k", "arn:aws:ec2:us-east-1:111122223333:instance/i-1"])) {
        let mut stmts = allows;
        stmts.push(json!({"Effect": "Deny", "Action": action, "Resource": resource}));
        prop_assert_eq!(run(&stmts, action, resource), "ExplicitlyDenied");
    }

    #[test]
    fn adding_an_allow_never_removes_access(base in prop::collection::vec(prop_oneof![stmt_strategy("Allow"), stmt_strategy("Deny")], 0..4),
                                            extra in stmt_strategy("Allow"),
                                            action in prop::sample::select(vec!["s3:GetObject", "s3:PutObject", "ec2:RunInstances"]),
                                            resource in prop::sample::select(vec!["arn:aws:s3:::b/k", "arn:aws:s3:::c/x", "arn:aws:ec2:us-east-1:111122223333:instance/i-1"])) {
        let before = run(&base, action, resource);
        let mut more = base.clone();
        more.push(extra);
        let after = run(&more, action, resource);
        if before == "Allowed" {
            prop_assert_eq!(after, "Allowed");
        }
    }

    #[test]
    fn glob_agrees_with_regex(pattern in "[ab*?]{0,8}", text in "[ab]{0,10}") {
        let re = format!("^{}$", regex::escape(&pattern).replace("\\*", ".*").replace("\\?", "."));
        let re = match regex::Regex::new(&re) { Ok(r) => r, Err(e) => panic!("{e}") };
        prop_assert_eq!(Glob::new(&pattern).matches(&text, false), re.is_match(&text));
    }

    #[test]
    fn overlap_is_exact_on_small_strings(a in "[ab*?]{0,5}", b in "[ab*?]{0,5}") {
        // If some short string matches both, overlap must say so.
        let ga = Glob::new(&a);
        let gb = Glob::new(&b);
        let mut witness = false;
        for len in 0..=6usize {
            for bits in 0..(1u32 << len) {
                let s: String = (0..len).map(|i| if bits & (1 << i) != 0 { 'a' } else { 'b' }).collect();
                if ga.matches(&s, false) && gb.matches(&s, false) { witness = true; }
            }
        }
        if witness { prop_assert!(ga.overlaps(&gb, false)); }
        if ga.is_within(&gb, false) {
            for len in 0..=6usize {
                for bits in 0..(1u32 << len) {
                    let s: String = (0..len).map(|i| if bits & (1 << i) != 0 { 'a' } else { 'b' }).collect();
                    prop_assert!(!ga.matches(&s, false) || gb.matches(&s, false));
                }
            }
        }
    }
}
