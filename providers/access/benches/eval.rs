//! Evaluations per second on realistic policies (EKS node role with boundary, SCPs and a bucket
//! policy), for pre-parsed policies and for the full JSON Lines path.

use std::hint::black_box;

use cloudscan_access::condition::Context;
use cloudscan_access::eval::{evaluate, NamedPolicy, PolicySet, Request, ResourceTarget};
use cloudscan_access::policy::Policy;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::json;

fn p(v: serde_json::Value) -> Policy {
    match Policy::from_value(&v) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

fn bench(c: &mut Criterion) {
    let node = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ec2:Describe*", "ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::*/*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::secret-bucket/*"},
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}, "Bool": {"aws:SecureTransport": "true"}}},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::logs-${aws:PrincipalTag/team}/*"}
    ]});
    let boundary = json!({"Statement": [{"Effect": "Allow", "Action": ["s3:*", "ec2:*", "ecr:*"], "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}}}]});
    let scp = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}}]});
    let bucket = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:*", "Resource": ["arn:aws:s3:::data", "arn:aws:s3:::data/*"]},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::data/*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]});
    let identity = vec![NamedPolicy::new("node", p(node.clone()))];
    let boundary_p = NamedPolicy::new("boundary", p(boundary.clone()));
    let scps = vec![
        vec![NamedPolicy::new("scp", p(scp.clone()))],
        vec![NamedPolicy::new(
            "full",
            p(json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})),
        )],
    ];
    let rp = NamedPolicy::new("bucket", p(bucket.clone()));
    let mut ctx = Context::complete();
    ctx.set("aws:RequestedRegion", "eu-west-1")
        .set("aws:SecureTransport", "true")
        .set("aws:SourceIp", "10.1.2.3")
        .set("aws:PrincipalTag/team", "platform");
    let set = PolicySet {
        identity: &identity,
        boundary: Some(&boundary_p),
        session: None,
        scps: &scps,
        rcps: &[],
        resource: Some(&rp),
    };
    let requests = [
        ("s3:GetObject", "arn:aws:s3:::data/a.txt"),
        ("s3:GetObject", "arn:aws:s3:::secret-bucket/a.txt"),
        ("s3:PutObject", "arn:aws:s3:::logs-platform/x"),
        ("iam:CreateUser", "arn:aws:iam::111122223333:user/x"),
        (
            "ec2:TerminateInstances",
            "arn:aws:ec2:eu-west-1:111122223333:instance/i-1",
        ),
    ];
    let mut g = c.benchmark_group("evaluate");
    g.throughput(Throughput::Elements(requests.len() as u64));
    g.bench_function("parsed policies, 5 requests", |b| {
        b.iter(|| {
            for (action, resource) in requests {
                let r = evaluate(
                    &set,
                    &Request {
                        principal: "arn:aws:sts::111122223333:assumed-role/eks-node/i-1",
                        action,
                        resource: ResourceTarget::Arn(resource),
                        resource_account: Some("111122223333"),
                        context: &ctx,
                    },
                );
                black_box(r.map(|e| e.decision).ok());
            }
        })
    });
    let lines: Vec<String> = requests.iter().map(|(action, resource)| json!({
        "identity_policies": [node], "permission_boundary": boundary, "scps": [[scp], [{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}]],
        "resource_policy": bucket, "request": {"principal": "arn:aws:sts::111122223333:assumed-role/eks-node/i-1", "action": action, "resource": resource,
        "resource_account": "111122223333", "context": {"aws:RequestedRegion": "eu-west-1", "aws:SecureTransport": "true", "aws:SourceIp": "10.1.2.3"}}}).to_string()).collect();
    let input = lines.join("\n");
    g.bench_function("run_batch JSON Lines, 5 cases", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(4096);
            black_box(cloudscan_access::run_batch(input.as_bytes(), &mut out).ok());
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
