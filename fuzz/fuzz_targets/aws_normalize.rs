//! The AWS normalizer's policy decoding (`providers/aws/src/normalize.rs`): role trust, inline and
//! managed policy documents as IAM returns them (URL-encoded JSON or plain), IRSA subjects, then a
//! whole normalization of an account holding them.
#![no_main]
use cloudscan_aws::collect::{RawIam, RawOidc, RawPolicy, RawRole};
use cloudscan_aws::normalize::{decode_policy, irsa_subjects, normalize, RawScan};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\0');
    let trust = parts.next().unwrap_or("").to_string();
    let inline = parts.next().unwrap_or("").to_string();
    let managed = parts.next().unwrap_or("").to_string();
    if let Ok(value) = decode_policy(&trust) {
        let _ = irsa_subjects(&value, "oidc.eks.us-east-1.amazonaws.com/id/ABC");
    }
    let arn = "arn:aws:iam::123456789012:policy/fuzz".to_string();
    let role = RawRole {
        arn: "arn:aws:iam::123456789012:role/fuzz".to_string(),
        name: "fuzz".to_string(),
        trust: Some(trust),
        inline: vec![("inline".to_string(), inline)],
        managed: vec![("fuzz".to_string(), arn.clone())],
        boundary: Some(arn.clone()),
        instance_profiles: vec!["arn:aws:iam::123456789012:instance-profile/fuzz".to_string()],
    };
    let mut iam = RawIam::default();
    iam.roles.push(role);
    iam.policies.insert(
        arn.clone(),
        RawPolicy {
            arn,
            name: "fuzz".to_string(),
            default_version: Some("v1".to_string()),
            document: Some(managed),
        },
    );
    let raw = RawScan {
        account: "123456789012".to_string(),
        partition: "aws".to_string(),
        caller: "arn:aws:iam::123456789012:user/fuzz".to_string(),
        regions: vec!["us-east-1".to_string()],
        iam: Some(iam),
        oidc: Some(vec![RawOidc {
            arn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
                .to_string(),
            url: "oidc.eks.us-east-1.amazonaws.com/id/ABC".to_string(),
            client_ids: vec!["sts.amazonaws.com".to_string()],
        }]),
        ..Default::default()
    };
    let inventory = normalize(raw);
    let _ = cloudscan_access::AccessFacts::for_inventory(&inventory);
});
