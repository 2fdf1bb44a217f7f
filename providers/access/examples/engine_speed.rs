//! Throughput of the access engine, measured in CPU time so that other work on the machine
//! does not count against it (`scripts/engine-speed.sh` in this crate runs both modes).
//!
//! - `engine_speed eval [seconds]`: evaluations per CPU second of one thread on parsed policies
//!   (the requests and policies of `benches/eval.rs`: node role, boundary, two SCP levels,
//!   bucket policy). `engine_speed batch [seconds]`: the same cases through the JSON Lines
//!   contract (`run_batch`), parsing included.
//! - `engine_speed estate [roles] [threads]`: builds an account of `roles` roles with an
//!   EKS-like mix (administrators, node roles with AWS-managed policies, IRSA roles, team
//!   policies with S3, Secrets Manager and PassRole statements, boundaries, conditions) under
//!   an SCP guardrail, and asks every capability question the rules ask of every role
//!   (`Analyzer::profile`, as `bridge` does). Prints wall and CPU time, peak RSS, what was
//!   found, and a digest of every profile so two builds can be compared answer for answer.

use std::hint::black_box;
use std::time::{Duration, Instant};

use cloudscan_access::capability::{AccessProfile, Analyzer};
use cloudscan_access::catalog::{Capabilities, Catalog};
use cloudscan_access::condition::Context;
use cloudscan_access::eval::{evaluate, NamedPolicy, PolicyIdentity, PolicySet, Request};
use cloudscan_access::guardrail::{Guardrail, Guards};
use cloudscan_access::policy::Policy;
use cloudscan_access::ResourceTarget;
use serde_json::{json, Value};

fn parse(v: &Value) -> Result<Policy, String> {
    Policy::from_value(v).map_err(|e| format!("generated policy does not parse: {e}"))
}

/// CPU time of this thread (scheduler run time, nanoseconds).
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

/// CPU time of the whole process (user + system, clock ticks of 10 ms).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Peak resident set size in KiB (`VmHWM`).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn eval_mode(seconds: f64, batch: bool) -> Result<(), String> {
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
    let full = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    let identity = vec![NamedPolicy::new("node", parse(&node)?)];
    let boundary_p = NamedPolicy::new("boundary", parse(&boundary)?);
    let scps = vec![
        vec![NamedPolicy::new("scp", parse(&scp)?)],
        vec![NamedPolicy::new("full", parse(&full)?)],
    ];
    let rp = NamedPolicy::new("bucket", parse(&bucket)?);
    let (node_doc, boundary_doc, scp_doc, full_doc, bucket_doc) =
        (&node, &boundary, &scp, &full, &bucket);
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
    let run = |rounds: u64| {
        for _ in 0..rounds {
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
        }
    };
    if batch {
        // The JSON Lines path: every case parses its policies, then evaluates.
        let lines: Vec<String> = requests.iter().map(|(action, resource)| json!({
            "identity_policies": [node_doc], "permission_boundary": boundary_doc,
            "scps": [[scp_doc], [full_doc]], "resource_policy": bucket_doc,
            "request": {"principal": "arn:aws:sts::111122223333:assumed-role/eks-node/i-1", "action": action,
                "resource": resource, "resource_account": "111122223333",
                "context": {"aws:RequestedRegion": "eu-west-1", "aws:SecureTransport": "true", "aws:SourceIp": "10.1.2.3"}}
        }).to_string()).collect();
        let input = lines.join("\n");
        let budget = Duration::from_secs_f64(seconds);
        let cpu0 = thread_cpu();
        let mut rounds = 0u64;
        while thread_cpu() - cpu0 < budget {
            for _ in 0..100 {
                let mut out = Vec::with_capacity(4096);
                black_box(cloudscan_access::run_batch(input.as_bytes(), &mut out).ok());
            }
            rounds += 100;
        }
        let cpu = thread_cpu() - cpu0;
        let cases = rounds * requests.len() as u64;
        println!(
            "batch: {cases} JSON Lines cases in {:.2} s CPU: {:.0} cases per CPU second",
            cpu.as_secs_f64(),
            cases as f64 / cpu.as_secs_f64()
        );
        return Ok(());
    }
    run(20_000); // warm up
    let budget = Duration::from_secs_f64(seconds);
    let (cpu0, wall0) = (thread_cpu(), Instant::now());
    let mut rounds = 0u64;
    while thread_cpu() - cpu0 < budget {
        run(10_000);
        rounds += 10_000;
    }
    let cpu = thread_cpu() - cpu0;
    let wall = wall0.elapsed();
    let evals = rounds * requests.len() as u64;
    println!(
        "eval: {evals} evaluations in {:.2} s CPU ({:.2} s wall): {:.0} evaluations per CPU second, {:.0} ns each",
        cpu.as_secs_f64(),
        wall.as_secs_f64(),
        evals as f64 / cpu.as_secs_f64(),
        cpu.as_nanos() as f64 / evals as f64
    );
    Ok(())
}

/// Policy documents of the estate, parsed once (managed policies are shared by many roles in
/// a real account too; each role still owns its copy, as the bridge builds them).
struct Docs {
    admin: Policy,
    worker: Policy,
    cni: Policy,
    ecr: Policy,
    readonly: Policy,
    s3ro: Policy,
    secrets: Policy,
    passrole: Policy,
    dynamo_deny: Policy,
    boundary: Policy,
    scp_full: Policy,
    scp_deny: Policy,
}

fn docs() -> Result<Docs, String> {
    let allow = |actions: Value, resource: Value| json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]});
    Ok(Docs {
        admin: parse(&allow(json!("*"), json!("*")))?,
        worker: parse(&allow(
            json!([
                "ec2:DescribeInstances",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeRouteTables",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVolumes",
                "ec2:DescribeVolumesModifications",
                "ec2:DescribeVpcs",
                "eks:DescribeCluster",
                "eks-auth:AssumeRoleForPodIdentity"
            ]),
            json!("*"),
        ))?,
        cni: parse(&json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["ec2:AssignPrivateIpAddresses", "ec2:AttachNetworkInterface",
                "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:DescribeInstances",
                "ec2:DescribeTags", "ec2:DescribeNetworkInterfaces", "ec2:DescribeInstanceTypes",
                "ec2:DescribeSubnets", "ec2:DetachNetworkInterface",
                "ec2:ModifyNetworkInterfaceAttribute", "ec2:UnassignPrivateIpAddresses"], "Resource": "*"},
            {"Effect": "Allow", "Action": ["ec2:CreateTags"], "Resource": ["arn:aws:ec2:*:*:network-interface/*"]}]}))?,
        ecr: parse(&allow(
            json!([
                "ecr:GetAuthorizationToken",
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:GetRepositoryPolicy",
                "ecr:DescribeRepositories",
                "ecr:ListImages",
                "ecr:DescribeImages",
                "ecr:BatchGetImage"
            ]),
            json!("*"),
        ))?,
        readonly: parse(&allow(
            json!([
                "ec2:Describe*",
                "eks:Describe*",
                "eks:List*",
                "iam:Get*",
                "iam:List*",
                "s3:Get*",
                "s3:List*",
                "kms:Describe*",
                "kms:List*",
                "secretsmanager:DescribeSecret",
                "secretsmanager:ListSecrets",
                "cloudtrail:Describe*",
                "cloudtrail:Get*",
                "logs:Describe*",
                "logs:Get*"
            ]),
            json!("*"),
        ))?,
        s3ro: parse(&allow(
            json!(["s3:Get*", "s3:List*", "s3:Describe*"]),
            json!("*"),
        ))?,
        secrets: parse(&allow(
            json!([
                "secretsmanager:GetSecretValue",
                "secretsmanager:DescribeSecret"
            ]),
            json!("*"),
        ))?,
        passrole: parse(&allow(
            json!(["iam:PassRole", "ec2:RunInstances"]),
            json!("*"),
        ))?,
        dynamo_deny: parse(&json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Scan"], "Resource": "arn:aws:dynamodb:*:111122223333:table/team-*"},
            {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"}]}))?,
        boundary: parse(&json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}}}]}))?,
        scp_full: parse(&allow(json!("*"), json!("*")))?,
        scp_deny: parse(&json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": ["organizations:LeaveOrganization", "cloudtrail:StopLogging", "cloudtrail:DeleteTrail"], "Resource": "*"}]}))?,
    })
}

/// Role `i` of the estate: a deterministic mix close to an EKS platform account.
fn role(d: &Docs, i: usize) -> Result<PolicyIdentity, String> {
    let acct = "111122223333";
    let named = |n: &str, p: &Policy| NamedPolicy::new(n, p.clone());
    let (name, policies, boundary) = match i % 50 {
        // About 2%: administrators.
        0 => (
            format!("admin-{i}"),
            vec![named("AdministratorAccess", &d.admin)],
            None,
        ),
        // 30%: EKS node roles; one in three also carries a team policy.
        1..=15 => {
            let mut p = vec![
                named("AmazonEKSWorkerNodePolicy", &d.worker),
                named("AmazonEKS_CNI_Policy", &d.cni),
                named("AmazonEC2ContainerRegistryReadOnly", &d.ecr),
            ];
            match i % 9 {
                0 => p.push(named("team-secrets", &d.secrets)),
                3 => p.push(named("team-passrole", &d.passrole)),
                6 => p.push(named("team-dynamodb", &d.dynamo_deny)),
                _ => {}
            }
            (format!("eks-node-{i}"), p, None)
        }
        // 30%: IRSA roles with an inline policy scoped to their bucket and secrets; some
        // with a tag condition, a few with a permission boundary.
        16..=30 => {
            let cond = if i.is_multiple_of(4) {
                json!({"StringEquals": {"aws:ResourceTag/team": format!("team-{}", i % 97)}})
            } else {
                json!({})
            };
            let mut s3 = json!({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": format!("arn:aws:s3:::estate-{acct}-app-{i}/*")});
            if i.is_multiple_of(4) {
                s3["Condition"] = cond;
            }
            let inline = json!({"Version": "2012-10-17", "Statement": [s3,
                {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                 "Resource": format!("arn:aws:secretsmanager:*:{acct}:secret:app-{i}-*")}]});
            let boundary = (i % 10 == 7).then(|| named("boundary", &d.boundary));
            (
                format!("irsa-{i}"),
                vec![NamedPolicy::new("inline/app-data", parse(&inline)?)],
                boundary,
            )
        }
        // 10%: read-only roles.
        31..=35 => (
            format!("readonly-{i}"),
            vec![named("ReadOnlyAccess", &d.readonly)],
            None,
        ),
        // 10%: S3 readers.
        36..=40 => (
            format!("s3-reader-{i}"),
            vec![named("AmazonS3ReadOnlyAccess", &d.s3ro)],
            None,
        ),
        // 18%: Lambda service roles with an inline policy, a chain link or PassRole.
        _ => {
            let inline = json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"],
                 "Resource": format!("arn:aws:dynamodb:*:{acct}:table/svc-{i}")},
                {"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"],
                 "Resource": format!("arn:aws:sqs:*:{acct}:svc-{i}")},
                {"Effect": "Allow", "Action": "sts:AssumeRole",
                 "Resource": format!("arn:aws:iam::{acct}:role/svc-{}", i + 1)},
                {"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]});
            let mut p = vec![NamedPolicy::new("inline/service", parse(&inline)?)];
            if i.is_multiple_of(3) {
                p.push(named("team-passrole", &d.passrole));
            }
            (format!("svc-{i}"), p, None)
        }
    };
    Ok(PolicyIdentity {
        principal: format!("arn:aws:iam::{acct}:role/{name}"),
        policies,
        boundary,
    })
}

fn fnv(hash: &mut u64, text: &str) {
    for b in text.bytes() {
        *hash ^= u64::from(b);
        *hash = hash.wrapping_mul(0x100_0000_01b3);
    }
}

struct Summary {
    digest: u64,
    admin: usize,
    capabilities: usize,
    paths: usize,
    stops: usize,
}

fn estate_mode(n: usize, threads: usize) -> Result<(), String> {
    let caps = Capabilities::try_bundled().map_err(|e| e.to_string())?;
    let catalog = Catalog::try_bundled().map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let d = docs()?;
    let roles = (0..n).map(|i| role(&d, i)).collect::<Result<Vec<_>, _>>()?;
    let guards = Guards {
        scps: Guardrail::Applied(vec![
            vec![NamedPolicy::new("FullAWSAccess", d.scp_full.clone())],
            vec![
                NamedPolicy::new("FullAWSAccess", d.scp_full.clone()),
                NamedPolicy::new("deny-leave-and-trail", d.scp_deny.clone()),
            ],
        ]),
        rcps: Guardrail::NotApplicable("no RCPs in this estate".to_string()),
    };
    let built = t0.elapsed();
    let (cpu0, wall0) = (process_cpu(), Instant::now());
    // What is kept of each profile: its digest and counts (profiles are dropped as they are
    // made, as a streaming consumer would).
    let summarize = |r: &PolicyIdentity| -> Summary {
        let p: AccessProfile = Analyzer::new(r)
            .with_guards(guards.clone())
            .profile(caps, catalog);
        let mut digest = 0xcbf2_9ce4_8422_2325u64;
        fnv(&mut digest, &format!("{p:?}"));
        Summary {
            digest,
            admin: usize::from(p.admin.is_some()),
            capabilities: p.capabilities.len(),
            paths: p.escalation_paths.len(),
            stops: p.guardrail_stops.len(),
        }
    };
    // Summaries in role order whatever the thread count: each thread takes one contiguous
    // chunk and the chunks are joined in order.
    let summaries: Vec<Summary> = if threads <= 1 {
        roles.iter().map(summarize).collect()
    } else {
        let chunk = n.div_ceil(threads).max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = roles
                .chunks(chunk)
                .map(|part| s.spawn(move || part.iter().map(summarize).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    };
    let wall = wall0.elapsed();
    let cpu = process_cpu() - cpu0;
    if summaries.len() != n {
        return Err(format!("{} profiles for {n} roles", summaries.len()));
    }
    let mut digest = 0xcbf2_9ce4_8422_2325u64;
    let (mut admins, mut caps_held, mut paths, mut stops) = (0, 0, 0, 0);
    for s in &summaries {
        admins += s.admin;
        caps_held += s.capabilities;
        paths += s.paths;
        stops += s.stops;
        fnv(&mut digest, &format!("{:016x}", s.digest));
    }
    println!(
        "estate: {n} roles ({built:.2?} to build), every capability question in {:.2} s wall, {:.2} s CPU, {threads} thread(s); {:.0} roles per CPU second",
        wall.as_secs_f64(),
        cpu.as_secs_f64(),
        n as f64 / cpu.as_secs_f64().max(1e-9)
    );
    println!(
        "estate: {admins} administrators, {caps_held} capabilities held, {paths} open escalation paths, {stops} guardrail stops; profile digest {digest:016x}"
    );
    println!("estate: peak RSS {} MiB", peak_rss_kib() / 1024);
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    let result = match arg(0) {
        Some("eval") => match arg(1).map(str::parse::<f64>).unwrap_or(Ok(5.0)) {
            Ok(s) if s > 0.0 => eval_mode(s, false),
            _ => Err("eval: seconds must be a positive number".to_string()),
        },
        Some("batch") => match arg(1).map(str::parse::<f64>).unwrap_or(Ok(5.0)) {
            Ok(s) if s > 0.0 => eval_mode(s, true),
            _ => Err("eval: seconds must be a positive number".to_string()),
        },
        Some("estate") => {
            let n = arg(1).map(str::parse::<usize>).unwrap_or(Ok(100_000));
            let t = arg(2).map(str::parse::<usize>).unwrap_or(Ok(1));
            match (n, t) {
                (Ok(n), Ok(t)) if n > 0 && t > 0 => estate_mode(n, t),
                _ => Err("estate: roles and threads must be positive integers".to_string()),
            }
        }
        _ => Err(
            "usage: engine_speed eval [seconds] | batch [seconds] | estate [roles] [threads]"
                .to_string(),
        ),
    };
    if let Err(e) = result {
        eprintln!("engine_speed: {e}");
        std::process::exit(2);
    }
}
