//! Time to answer every capability question (5 classes on all/some resources, 47 escalation
//! paths, admin, wildcard grants) for an account of 5,000 roles with realistic policies.

use cloudscan_access::capability::Analyzer;
use cloudscan_access::catalog::{Capabilities, Catalog};
use cloudscan_access::eval::{NamedPolicy, PolicyIdentity};
use cloudscan_access::policy::Policy;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::json;

fn p(v: serde_json::Value) -> Policy {
    match Policy::from_value(&v) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

/// Policy mixes seen on EKS accounts: worker node roles, IRSA roles scoped to prefixes, broad
/// legacy node roles, CI admins, roles with boundaries and conditions.
fn roles(n: usize) -> Vec<PolicyIdentity> {
    let worker = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
        "ec2:DescribeInstances", "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets", "ec2:DescribeVolumes", "ec2:DescribeVpcs", "eks:DescribeCluster",
        "eks-auth:AssumeRoleForPodIdentity"], "Resource": "*"}]});
    let cni = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ec2:AssignPrivateIpAddresses", "ec2:AttachNetworkInterface",
          "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:Describe*"], "Resource": "*"},
        {"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "arn:aws:ec2:*:*:network-interface/*"}]});
    let ecr = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], "Resource": "*"}]});
    let irsa = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": "arn:aws:secretsmanager:us-east-1:111122223333:secret:payments/*"},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::payments-data/*",
         "Condition": {"StringEquals": {"aws:ResourceTag/team": "payments"}}}]});
    let legacy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]});
    let admin = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    let boundary = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}]});
    (0..n)
        .map(|i| {
            let principal = format!("arn:aws:iam::111122223333:role/role-{i}");
            let (policies, boundary) = match i % 5 {
                0 | 1 => (vec![worker.clone(), cni.clone(), ecr.clone()], None),
                2 => (vec![irsa.clone()], None),
                3 => (vec![worker.clone(), legacy.clone()], Some(boundary.clone())),
                _ => (vec![admin.clone()], None),
            };
            PolicyIdentity {
                principal,
                policies: policies
                    .into_iter()
                    .enumerate()
                    .map(|(k, d)| NamedPolicy::new(format!("p{k}"), p(d)))
                    .collect(),
                boundary: boundary.map(|b| NamedPolicy::new("boundary", p(b))),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let caps = Capabilities::bundled();
    let catalog = Catalog::bundled();
    let roles = roles(5000);
    let mut g = c.benchmark_group("capabilities");
    g.sample_size(10);
    g.throughput(Throughput::Elements(roles.len() as u64));
    g.bench_function("every capability question, 5,000 roles", |b| {
        b.iter(|| {
            roles
                .iter()
                .map(|r| Analyzer::new(r).profile(caps, catalog))
                .filter(|p| p.admin.is_some())
                .count()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
