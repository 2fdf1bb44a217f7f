//! The optimized matcher and evaluator against straightforward reference implementations kept
//! here (recursive globs on characters, ARNs split into owned parts, conditions compared as
//! text, a plain deny-then-allow evaluator), on random patterns, ARNs, conditions and
//! policies, so that speed cannot buy a different answer.

use cloudscan_access::condition::Context;
use cloudscan_access::eval::{evaluate, Decision, NamedPolicy, PolicySet, Request};
use cloudscan_access::matcher::{glob_match_str, ArnPattern, Glob};
use cloudscan_access::policy::Policy;
use cloudscan_access::ResourceTarget;
use proptest::prelude::*;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Reference implementations
// ---------------------------------------------------------------------------------------------

fn ref_char_eq(a: char, b: char, fold: bool) -> bool {
    a == b || (fold && a.to_lowercase().eq(b.to_lowercase()))
}

/// Recursive glob on characters: `*` any run, `?` one character.
fn ref_glob(p: &[char], t: &[char], fold: bool) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some(('*', rest)) => (0..=t.len()).any(|k| ref_glob(rest, &t[k..], fold)),
        Some(('?', rest)) => !t.is_empty() && ref_glob(rest, &t[1..], fold),
        Some((c, rest)) => match t.split_first() {
            Some((d, trest)) => ref_char_eq(*c, *d, fold) && ref_glob(rest, trest, fold),
            None => false,
        },
    }
}

fn ref_glob_str(pattern: &str, text: &str, fold: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    ref_glob(&p, &t, fold)
}

/// ARN pattern matching as documented: `*` alone matches everything; a pattern starting with
/// the segment `arn` is compared segment by segment (the first five ignoring case, the last
/// one running to the end of the ARN); anything else is one glob over the whole text.
fn ref_arn_match(pattern: &str, arn: &str, fold_resource: bool) -> bool {
    if !pattern.is_empty() && pattern.chars().all(|c| c == '*') {
        return true;
    }
    let segs: Vec<String> = pattern.splitn(6, ':').map(str::to_string).collect();
    if segs.len() < 2 || segs[0] != "arn" {
        return ref_glob_str(pattern, arn, fold_resource);
    }
    let parts: Vec<String> = arn.splitn(6, ':').map(str::to_string).collect();
    if parts.len() < segs.len() {
        return false;
    }
    let last = segs.len() - 1;
    for (i, seg) in segs.iter().enumerate() {
        let fold = i < 5 || fold_resource;
        let text = if i == last && last < 5 {
            parts[i..].join(":")
        } else {
            parts[i].clone()
        };
        if !ref_glob_str(seg, &text, fold) {
            return false;
        }
    }
    parts.len() == 6 || last < 5
}

/// Every string over `alphabet` of length at most `max`.
fn strings(alphabet: &[char], max: usize) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut layer = vec![String::new()];
    for _ in 0..max {
        let mut next = Vec::new();
        for s in &layer {
            for c in alphabet {
                let mut t = s.clone();
                t.push(*c);
                next.push(t);
            }
        }
        out.extend(next.iter().cloned());
        layer = next;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Matchers
// ---------------------------------------------------------------------------------------------

/// Pattern and text characters: ASCII letters in both cases, separators, wildcards, and
/// non-ASCII letters (one of which, the Kelvin sign, lowercases to an ASCII `k`).
const PATTERN_CHARS: &str = "[aAbBkK:/*?é\u{212A}-]{0,7}";
const TEXT_CHARS: &str = "[aAbBkK:/é\u{212A}-]{0,8}";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn glob_matches_the_reference(p in PATTERN_CHARS, t in TEXT_CHARS, fold in any::<bool>()) {
        let want = ref_glob_str(&p, &t, fold);
        prop_assert_eq!(Glob::new(&p).matches(&t, fold), want, "Glob {:?} on {:?}", p, t);
        prop_assert_eq!(glob_match_str(&p, &t, fold), want, "glob_match_str {:?} on {:?}", p, t);
    }

    /// Texts made from the pattern (wildcards filled in, letters' case flipped at random), so
    /// that most cases are near matches rather than random misses.
    #[test]
    fn glob_matches_the_reference_on_near_matches(
        p in PATTERN_CHARS,
        fill in "[aBk\u{212A}é:]{0,3}",
        flips in prop::collection::vec(any::<bool>(), 8),
        fold in any::<bool>(),
    ) {
        let mut t = String::new();
        for (i, c) in p.chars().enumerate() {
            match c {
                '*' => t.push_str(&fill),
                '?' => t.push(fill.chars().next().unwrap_or('a')),
                c if flips.get(i).copied().unwrap_or(false) => {
                    if c.is_lowercase() {
                        t.extend(c.to_uppercase())
                    } else {
                        t.extend(c.to_lowercase())
                    }
                }
                c => t.push(c),
            }
        }
        let want = ref_glob_str(&p, &t, fold);
        prop_assert_eq!(Glob::new(&p).matches(&t, fold), want, "Glob {:?} on {:?}", p, t);
        prop_assert_eq!(glob_match_str(&p, &t, fold), want, "glob_match_str {:?} on {:?}", p, t);
    }

    #[test]
    fn arn_patterns_match_the_reference(
        p in prop::sample::select(vec![
            "*", "**", "arn:aws:s3:::b*", "arn:aws:s3:::B/*", "arn:AWS:S3:::b/?", "arn:aws:iam::*:role/a*",
            "arn:aws:ec2:*", "arn:aws:ec2:*:*:volume/*", "arn:*", "arn", "arn:", "b*", "*:b", "arn:aws:*:*:*:*",
            "arn:aws:s3:::*/*", "arn:aws:iam::111:role/*/x", "arn:aws:kms:*:*:key/*", "a?n:aws:s3:::b",
        ]),
        a in prop::sample::select(vec![
            "arn:aws:s3:::b", "arn:aws:s3:::b/x", "arn:aws:s3:::B/x", "arn:aws:iam::111:role/a/x",
            "arn:aws:iam::111:role/ab", "arn:aws:ec2:eu-west-1:111:instance/i-1",
            "arn:aws:ec2:eu-west-1:111:volume/v:1", "arn:aws:s3:::b:c:d", "arn", "arn:aws", "b", "x:b",
            "ARN:aws:s3:::b", "arn:aws:kms:us-east-1:111:key/k", "",
        ]),
        fold in any::<bool>(),
    ) {
        prop_assert_eq!(ArnPattern::new(p).matches(a, fold), ref_arn_match(p, a, fold), "{} on {}", p, a);
    }

    #[test]
    fn random_arn_patterns_match_the_reference(
        p in "(arn:)?[ab*?:/]{0,9}", a in "(arn:)?[ab:/]{0,10}", fold in any::<bool>(),
    ) {
        prop_assert_eq!(ArnPattern::new(&p).matches(&a, fold), ref_arn_match(&p, &a, fold), "{} on {}", p, a);
    }

    /// Overlap is exact: it holds when some string matches both, which a search over every
    /// short string over the patterns' letters (and one other letter) finds.
    #[test]
    fn glob_overlap_is_exact(a in "[ab*?]{0,4}", b in "[ab*?]{0,4}", fold in any::<bool>()) {
        let brute = strings(&['a', 'b', 'c'], 8)
            .iter()
            .any(|s| ref_glob_str(&a, s, fold) && ref_glob_str(&b, s, fold));
        prop_assert_eq!(Glob::new(&a).overlaps(&Glob::new(&b), fold), brute, "{} and {}", a, b);
    }

    /// Containment is sound: when it says yes, every short string the inner pattern matches is
    /// matched by the outer one.
    #[test]
    fn glob_containment_is_sound(inner in "[ab*?]{0,4}", outer in "[ab*?]{0,4}") {
        if Glob::new(&inner).is_within(&Glob::new(&outer), false) {
            for s in strings(&['a', 'b', 'c'], 7) {
                prop_assert!(!ref_glob_str(&inner, &s, false) || ref_glob_str(&outer, &s, false),
                    "{} within {} but {} is not", inner, outer, s);
            }
        }
    }

    /// ARN containment and overlap read the segments in place; they must agree with the same
    /// tests on the pattern text as one glob (`*` alone standing for every ARN).
    #[test]
    fn arn_containment_and_overlap_agree_with_whole_text(
        a in "(arn:)?[ab*:/]{0,8}", b in "(arn:)?[ab*:/]{0,8}",
    ) {
        let all = |p: &str| !p.is_empty() && p.chars().all(|c| c == '*');
        let whole = |p: &str| if all(p) { Glob::new("*") } else { Glob::new(p) };
        let (pa, pb) = (ArnPattern::new(&a), ArnPattern::new(&b));
        let within = all(&b) || (!all(&a) && whole(&a).is_within(&whole(&b), false));
        prop_assert_eq!(pa.is_within(&pb), within, "{} within {}", a, b);
        let overlaps = all(&a) || all(&b) || whole(&a).overlaps(&whole(&b), true);
        prop_assert_eq!(pa.overlaps(&pb), overlaps, "{} overlaps {}", a, b);
    }
}

// ---------------------------------------------------------------------------------------------
// Conditions
// ---------------------------------------------------------------------------------------------

fn ref_ip_in(ip: &str, cidr: &str) -> bool {
    let Ok(addr) = ip.trim().parse::<std::net::IpAddr>() else {
        return false;
    };
    let (net, len) = match cidr.trim().split_once('/') {
        Some((n, l)) => match l.parse::<u32>() {
            Ok(l) => (n, Some(l)),
            Err(_) => return false,
        },
        None => (cidr.trim(), None),
    };
    match (addr, net.parse::<std::net::IpAddr>()) {
        (std::net::IpAddr::V4(a), Ok(std::net::IpAddr::V4(n))) => {
            let len = len.unwrap_or(32);
            if len > 32 {
                return false;
            }
            let bits = |x: std::net::Ipv4Addr| format!("{:032b}", u32::from(x));
            bits(a)[..len as usize] == bits(n)[..len as usize]
        }
        (std::net::IpAddr::V6(a), Ok(std::net::IpAddr::V6(n))) => {
            let len = len.unwrap_or(128);
            if len > 128 {
                return false;
            }
            let bits = |x: std::net::Ipv6Addr| format!("{:0128b}", u128::from(x));
            bits(a)[..len as usize] == bits(n)[..len as usize]
        }
        _ => false,
    }
}

/// One request value against one policy value (no variables), for a positive operator.
fn ref_compare(op: &str, request: &str, policy: &str) -> bool {
    match op {
        "StringEquals" => request == policy,
        "StringEqualsIgnoreCase" => {
            request.chars().count() == policy.chars().count()
                && request
                    .chars()
                    .zip(policy.chars())
                    .all(|(a, b)| ref_char_eq(a, b, true))
        }
        "StringLike" => ref_glob_str(policy, request, false),
        "NumericEquals" | "NumericLessThan" | "NumericGreaterThanEquals" => {
            match (request.trim().parse::<f64>(), policy.trim().parse::<f64>()) {
                (Ok(r), Ok(p)) => match op {
                    "NumericEquals" => r == p,
                    "NumericLessThan" => r < p,
                    _ => r >= p,
                },
                _ => false,
            }
        }
        "Bool" => policy.eq_ignore_ascii_case(request.trim()),
        "BinaryEquals" => request == policy,
        "IpAddress" => ref_ip_in(request, policy),
        "ArnLike" | "ArnEquals" => {
            request.starts_with("arn:")
                && request.splitn(6, ':').count() == 6
                && ref_arn_match(policy, request, false)
        }
        other => panic!("no reference for {other}"),
    }
}

fn negation_of(op: &str) -> Option<&'static str> {
    match op {
        "StringNotEquals" => Some("StringEquals"),
        "StringNotEqualsIgnoreCase" => Some("StringEqualsIgnoreCase"),
        "StringNotLike" => Some("StringLike"),
        "NumericNotEquals" => Some("NumericEquals"),
        "NotIpAddress" => Some("IpAddress"),
        "ArnNotLike" => Some("ArnLike"),
        _ => None,
    }
}

/// A single-valued condition (no set qualifier) on a known or absent key.
fn ref_condition(op: &str, if_exists: bool, request: Option<&str>, values: &[String]) -> bool {
    let (positive, negated) = match negation_of(op) {
        Some(p) => (p, true),
        None => (op, false),
    };
    match request {
        None => if_exists || negated,
        Some(r) => values.iter().any(|v| ref_compare(positive, r, v)) != negated,
    }
}

fn allowed_by_condition(op: &str, request: Option<&str>, values: &[String]) -> Option<bool> {
    let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
        "Resource": "*", "Condition": {op: {"test:Key": values}}}]});
    let policy = Policy::from_value(&doc).ok()?;
    let identity = [NamedPolicy::new("p", policy)];
    let mut ctx = Context::complete();
    if let Some(r) = request {
        ctx.set("test:key", r);
    }
    let set = PolicySet {
        identity: &identity,
        ..PolicySet::default()
    };
    let req = Request {
        principal: "arn:aws:iam::111122223333:role/r",
        action: "s3:GetObject",
        resource: ResourceTarget::Arn("arn:aws:s3:::b/k"),
        resource_account: None,
        context: &ctx,
    };
    evaluate(&set, &req)
        .ok()
        .map(|e| e.decision == Decision::Allowed)
}

fn condition_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[aAbB*?é\u{212A}]{0,4}",
        prop::sample::select(vec![
            "10",
            "10.0",
            " 7 ",
            "-3",
            "x",
            "true",
            "TRUE",
            "false",
            "10.0.0.0/8",
            "10.1.2.3",
            "192.168.0.0/16",
            "2001:db8::/32",
            "::1",
            "arn:aws:s3:::b*",
            "arn:aws:iam::*:role/*",
            "arn:aws:s3:::b/k",
            "arn:*",
        ])
        .prop_map(str::to_string),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn conditions_decide_as_the_reference(
        op in prop::sample::select(vec![
            "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
            "StringLike", "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
            "NumericGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress", "NotIpAddress",
            "ArnLike", "ArnNotLike", "ArnEquals",
        ]),
        if_exists in any::<bool>(),
        values in prop::collection::vec(condition_value(), 1..4),
        request in prop::option::of(condition_value()),
    ) {
        let name = if if_exists { format!("{op}IfExists") } else { op.to_string() };
        let want = ref_condition(op, if_exists, request.as_deref(), &values);
        let got = allowed_by_condition(&name, request.as_deref(), &values);
        prop_assert_eq!(got, Some(want), "{} {:?} against {:?}", name, values, request);
    }
}

// ---------------------------------------------------------------------------------------------
// Whole policies
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Stmt {
    allow: bool,
    not_action: bool,
    actions: Vec<String>,
    not_resource: bool,
    resources: Vec<String>,
    /// `StringEquals` on `aws:RequestedRegion`, if any.
    region: Option<String>,
}

fn stmt() -> impl Strategy<Value = Stmt> {
    let action = prop::sample::select(vec![
        "*",
        "s3:*",
        "s3:Get*",
        "S3:getobject",
        "s3:?etObject",
        "s3:PutObject",
        "iam:*",
        "iam:PassRole",
        "ec2:Describe*",
        "ec2:*Instances",
        "sts:AssumeRole",
        "kms:Decrypt",
    ])
    .prop_map(str::to_string);
    let resource = prop::sample::select(vec![
        "*",
        "arn:aws:s3:::b/*",
        "arn:aws:s3:::B/*",
        "arn:aws:s3:::b*",
        "arn:aws:s3:::*/k?",
        "arn:aws:iam::111122223333:role/*",
        "arn:aws:iam::*:role/app-*",
        "arn:aws:ec2:*:*:instance/*",
        "arn:AWS:EC2:EU-WEST-1:*:instance/i-1",
        "arn:aws:ec2:*",
    ])
    .prop_map(str::to_string);
    (
        any::<bool>(),
        prop::bool::weighted(0.15),
        prop::collection::vec(action, 1..4),
        prop::bool::weighted(0.15),
        prop::collection::vec(resource, 1..3),
        prop::option::weighted(0.3, prop::sample::select(vec!["eu-west-1", "us-east-1"])),
    )
        .prop_map(
            |(allow, not_action, actions, not_resource, resources, region)| Stmt {
                allow,
                not_action,
                actions,
                not_resource,
                resources,
                region: region.map(str::to_string),
            },
        )
}

fn to_json(stmts: &[Stmt]) -> Value {
    let list: Vec<Value> = stmts
        .iter()
        .map(|s| {
            let mut v = json!({"Effect": if s.allow { "Allow" } else { "Deny" }});
            v[if s.not_action { "NotAction" } else { "Action" }] = json!(s.actions);
            v[if s.not_resource {
                "NotResource"
            } else {
                "Resource"
            }] = json!(s.resources);
            if let Some(r) = &s.region {
                v["Condition"] = json!({"StringEquals": {"aws:RequestedRegion": r}});
            }
            v
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": list})
}

fn ref_action(pattern: &str, action: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match (pattern.split_once(':'), action.split_once(':')) {
        (Some((pp, pn)), Some((ap, an))) => {
            pp.eq_ignore_ascii_case(ap) && ref_glob_str(pn, an, true)
        }
        _ => false,
    }
}

fn ref_applies(s: &Stmt, action: &str, arn: &str, region: &str) -> bool {
    let a = s.actions.iter().any(|p| ref_action(p, action)) != s.not_action;
    let r = s.resources.iter().any(|p| ref_arn_match(p, arn, false)) != s.not_resource;
    let c = s.region.as_deref().is_none_or(|want| want == region);
    a && r && c
}

/// Identity policies alone, same account: a matching Deny denies, else a matching Allow
/// allows (except for KMS, which needs a key policy), else nothing does.
fn ref_decide(stmts: &[Stmt], action: &str, arn: &str, region: &str) -> Decision {
    if stmts
        .iter()
        .any(|s| !s.allow && ref_applies(s, action, arn, region))
    {
        Decision::ExplicitlyDenied
    } else if action.to_ascii_lowercase().starts_with("kms:") {
        // KMS needs the key policy to allow too, and there is none here.
        Decision::ImplicitlyDenied
    } else if stmts
        .iter()
        .any(|s| s.allow && ref_applies(s, action, arn, region))
    {
        Decision::Allowed
    } else {
        Decision::ImplicitlyDenied
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn identity_policies_decide_as_the_reference(
        stmts in prop::collection::vec(stmt(), 1..5),
        action in prop::sample::select(vec![
            "s3:GetObject", "s3:getobject", "S3:PutObject", "iam:PassRole", "iam:CreateUser",
            "ec2:DescribeInstances", "ec2:RunInstances", "kms:Decrypt", "lambda:InvokeFunction",
        ]),
        arn in prop::sample::select(vec![
            "arn:aws:s3:::b/k", "arn:aws:s3:::b/k1", "arn:aws:s3:::bucket", "arn:aws:s3:::B/k",
            "arn:aws:iam::111122223333:role/app-1", "arn:aws:iam::222233334444:role/app-x",
            "arn:aws:ec2:eu-west-1:111122223333:instance/i-1", "arn:aws:kms:eu-west-1:111122223333:key/k",
        ]),
        region in prop::sample::select(vec!["eu-west-1", "us-east-1"]),
    ) {
        let doc = to_json(&stmts);
        let policy = Policy::from_value(&doc).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let identity = [NamedPolicy::new("p", policy)];
        let mut ctx = Context::complete();
        ctx.set("aws:RequestedRegion", region);
        let set = PolicySet { identity: &identity, ..PolicySet::default() };
        let req = Request {
            principal: "arn:aws:iam::111122223333:role/caller",
            action,
            resource: ResourceTarget::Arn(arn),
            resource_account: Some("111122223333"),
            context: &ctx,
        };
        let got = evaluate(&set, &req).map(|e| e.decision).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(got, ref_decide(&stmts, action, arn, region), "{} on {} in {}: {}", action, arn, region, doc);
    }
}
