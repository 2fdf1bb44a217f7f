//! Size of a saved inventory before and after sharing managed policy documents.
//!
//! `cargo run -p cloudscan-inventory --example inventory_size -- [ROLES]` generates an AWS
//! inventory of ROLES roles (default 2,000), each with four of six shared managed policies
//! (about 3 KB of JSON each, the size of AWS managed policies such as
//! AmazonEKSWorkerNodePolicy plus a few dozen actions), a permission boundary shared by all,
//! an inline policy and a trust policy of its own, and prints the pretty-printed JSON size the
//! way `--save-inventory` writes it, without and with sharing.

use cloudscan_inventory::{Identity, Inventory, PolicyDoc, Provider};
use serde_json::json;

fn managed(i: usize) -> PolicyDoc {
    let actions: Vec<String> = (0..60)
        .map(|a| format!("service{i}:DescribeSomethingNumber{a}"))
        .collect();
    PolicyDoc {
        kind: "managed".into(),
        name: format!("SharedPolicy{i}"),
        arn: Some(format!("arn:aws:iam::aws:policy/SharedPolicy{i}")),
        version: Some("v3".into()),
        document: Some(
            json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Read", "Effect": "Allow", "Action": actions, "Resource": "*"}]})
            .into(),
        ),
        error: None,
    }
}

fn main() {
    let roles: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let mut inv = Inventory::new(Provider::Aws);
    for r in 0..roles {
        let id = format!("arn:aws:iam::111122223333:role/app-{r}");
        let mut boundary = managed(99);
        boundary.kind = "boundary".into();
        inv.identities.push(Identity {
            id: id.clone(),
            name: format!("app-{r}"),
            kind: "aws-role".into(),
            scope: "111122223333".into(),
            trust: Some(PolicyDoc {
                kind: "trust".into(),
                name: "trust".into(),
                document: Some(
                    json!({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                     "Action": "sts:AssumeRole"}]})
                    .into(),
                ),
                ..Default::default()
            }),
            policies: (0..4)
                .map(|k| managed((r + k) % 6))
                .chain(std::iter::once(PolicyDoc {
                    kind: "inline".into(),
                    name: "own".into(),
                    document: Some(
                        json!({"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Action": "s3:GetObject",
                         "Resource": format!("arn:aws:s3:::bucket-{r}/*")}]})
                        .into(),
                    ),
                    ..Default::default()
                }))
                .collect(),
            boundary: Some(boundary),
            ..Default::default()
        });
    }
    let before = serde_json::to_string_pretty(&inv)
        .map(|s| s.len())
        .unwrap_or(0);
    let mut shared = inv.clone();
    shared.share_policy_documents();
    let after = serde_json::to_string_pretty(&shared)
        .map(|s| s.len())
        .unwrap_or(0);
    println!(
        "{roles} roles: {before} bytes without sharing, {after} bytes with sharing ({} shared documents), {:.1}x smaller",
        shared.shared_policies.len(),
        before as f64 / after.max(1) as f64
    );
}
