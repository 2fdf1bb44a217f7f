//! The AWS side of the estate: the query (IAM, STS, EC2), JSON 1.1 (KMS, CloudTrail,
//! Organizations) and REST-JSON (EKS) operations the adapter calls, answered from the spec.

use crate::http::{url_encode, xml_escape, Req, Resp};
use crate::spec::{mix, Spec};
use serde_json::{json, Value};
use std::fmt::Write as _;

const DATE: &str = "2026-01-01T00:00:00Z";
const EPOCH: f64 = 1_767_225_600.0;

/// The protocol family of a service, for error shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Query,
    Ec2,
    Json,
    RestJson,
    RestXml,
}

/// Who is calling, where: from the SigV4 credential scope.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: u32,
    pub assumed: bool,
    pub region: String,
    pub service: String,
}

/// Reads `Credential=AKID/date/region/service/aws4_request` from the Authorization header.
pub fn caller(spec: &Spec, req: &Req) -> Option<Caller> {
    let auth = req.header("authorization")?;
    let cred = auth.split("Credential=").nth(1)?;
    let cred = cred.split([',', ' ']).next()?;
    let mut parts = cred.split('/');
    let key = parts.next()?;
    let _date = parts.next()?;
    let region = parts.next()?.to_string();
    let service = parts.next()?.to_string();
    let (account, assumed) = match key.strip_prefix("ASIAESTATE") {
        Some(id) => (spec.account_index(id).unwrap_or(0), true),
        None => (0, false),
    };
    Some(Caller {
        account,
        assumed,
        region,
        service,
    })
}

pub fn protocol(service: &str) -> Protocol {
    match service {
        "ec2" => Protocol::Ec2,
        "eks" => Protocol::RestJson,
        "s3" => Protocol::RestXml,
        "kms" | "cloudtrail" | "organizations" | "secretsmanager" => Protocol::Json,
        _ => Protocol::Query,
    }
}

/// The operation a request calls (`iam:GetPolicy`), for counting and throttling.
pub fn operation(req: &Req, c: &Caller) -> String {
    let name = match protocol(&c.service) {
        Protocol::Query | Protocol::Ec2 => req
            .form()
            .into_iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v)
            .unwrap_or_default(),
        Protocol::Json => req
            .header("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or_default()
            .to_string(),
        Protocol::RestJson => eks_operation(req).to_string(),
        Protocol::RestXml => rest_xml_operation(req).to_string(),
    };
    format!("{}:{name}", c.service)
}

/// S3 (`GET /`: ListBuckets) and S3 Control (`GET /v20180820/configuration/publicAccessBlock`:
/// the account's Block Public Access), both signed as `s3`.
fn rest_xml_operation(req: &Req) -> &'static str {
    if req.path.ends_with("/configuration/publicAccessBlock") {
        "GetPublicAccessBlock"
    } else if req.path == "/" || req.path.is_empty() {
        "ListBuckets"
    } else {
        "unknown"
    }
}

/// Whether account `a` blocks public access account-wide (four accounts in five).
pub fn blocks_public_access(spec: &Spec, a: u32) -> bool {
    !mix(spec.seed, &[40, u64::from(a)]).is_multiple_of(5)
}

/// An error in the service's protocol.
pub fn error(service: &str, status: u16, code: &str, message: &str) -> Resp {
    match protocol(service) {
        Protocol::Query => Resp::xml(format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>estate</RequestId></ErrorResponse>",
            xml_escape(message)
        ))
        .status(status),
        Protocol::Ec2 => Resp::xml(format!(
            "<Response><Errors><Error><Code>{code}</Code><Message>{}</Message></Error></Errors><RequestID>estate</RequestID></Response>",
            xml_escape(message)
        ))
        .status(status),
        Protocol::Json => {
            Resp::amz_json(&json!({"__type": code, "message": message})).status(status)
        }
        Protocol::RestJson => Resp::json(&json!({"message": message}))
            .status(status)
            .with_header("x-amzn-errortype", code),
        Protocol::RestXml => Resp::xml(format!(
            "<Error><Code>{code}</Code><Message>{}</Message></Error>",
            xml_escape(message)
        ))
        .status(status),
    }
}

/// The throttling answer of a service (status, code), as AWS sends it.
pub fn throttle(service: &str) -> Resp {
    let r = match service {
        "ec2" => error(
            service,
            503,
            "RequestLimitExceeded",
            "Request limit exceeded.",
        ),
        "eks" => error(service, 429, "ThrottlingException", "Rate exceeded"),
        _ if protocol(service) == Protocol::Json => {
            error(service, 400, "ThrottlingException", "Rate exceeded")
        }
        _ => error(service, 400, "Throttling", "Rate exceeded"),
    };
    r.with_header("retry-after", "1")
}

/// Answers one AWS request.
pub fn handle(spec: &Spec, req: &Req, c: &Caller, op: &str) -> Resp {
    let name = op.split_once(':').map(|(_, n)| n).unwrap_or(op);
    let form = req.form();
    let param = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .or_else(|| req.query(k))
    };
    let a = c.account;
    match (c.service.as_str(), name) {
        ("sts", "GetCallerIdentity") => sts_caller(spec, c),
        ("sts", "AssumeRole") => assume_role(spec, param("RoleArn").unwrap_or_default(), param("RoleSessionName").unwrap_or("cloudscan")),
        ("iam", "GetAccountAuthorizationDetails") => {
            gaad(spec, a, param("Marker"), param("MaxItems").and_then(|m| m.parse().ok()))
        }
        ("iam", "GetPolicy") => get_policy(spec, param("PolicyArn").unwrap_or_default()),
        ("iam", "GetPolicyVersion") => get_policy_version(spec, param("PolicyArn").unwrap_or_default()),
        ("iam", "ListOpenIDConnectProviders") => list_oidc(spec, a),
        ("iam", "GetOpenIDConnectProvider") => {
            get_oidc(spec, a, param("OpenIDConnectProviderArn").unwrap_or_default())
        }
        ("ec2", "DescribeRegions") => describe_regions(spec),
        ("ec2", "DescribeInstances") => describe_instances(
            spec,
            a,
            &c.region,
            param("NextToken"),
            param("MaxResults").and_then(|m| m.parse().ok()),
        ),
        ("ec2", "DescribeVolumes") => describe_volumes(spec, &form),
        ("ec2", "GetEbsEncryptionByDefault") => ebs_default(spec, a, &c.region),
        ("ec2", "DescribeLaunchTemplateVersions") => {
            launch_template(spec, param("LaunchTemplateId").unwrap_or_default())
        }
        ("eks", _) => eks(spec, req, c, name),
        ("kms", "DescribeKey") => describe_key(spec, c, &req.json()),
        ("kms", "ListKeys") => Resp::amz_json(&json!({"Keys": [], "Truncated": false})),
        ("secretsmanager", "ListSecrets") => Resp::amz_json(&json!({"SecretList": []})),
        ("s3", "ListBuckets") => Resp::xml("<ListAllMyBucketsResult><Owner><ID>estate</ID></Owner><Buckets></Buckets></ListAllMyBucketsResult>".to_string()),
        ("s3", "GetPublicAccessBlock") => {
            let on = blocks_public_access(spec, a);
            Resp::xml(format!(
                "<PublicAccessBlockConfiguration xmlns=\"http://awss3control.amazonaws.com/doc/2018-08-20/\"><BlockPublicAcls>{on}</BlockPublicAcls><IgnorePublicAcls>{on}</IgnorePublicAcls><BlockPublicPolicy>{on}</BlockPublicPolicy><RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>"
            ))
        }
        ("cloudtrail", "DescribeTrails") => describe_trails(spec, a),
        ("cloudtrail", "GetTrailStatus") => Resp::amz_json(&json!({"IsLogging": true})),
        ("cloudtrail", "GetEventSelectors") => {
            let arn = req.json().get("TrailName").cloned().unwrap_or(Value::Null);
            Resp::amz_json(&json!({"TrailARN": arn, "EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": true, "DataResources": []}], "AdvancedEventSelectors": []}))
        }
        ("organizations", _) => organizations(spec, c, name, &req.json()),
        _ => error(
            &c.service,
            400,
            if protocol(&c.service) == Protocol::Json { "UnknownOperationException" } else { "InvalidAction" },
            &format!("the synthetic estate does not serve {op}"),
        ),
    }
}

// ------------------------------------------------------------------------------------------
// STS

fn sts_caller(spec: &Spec, c: &Caller) -> Resp {
    let acct = spec.account_id(c.account);
    let arn = if c.assumed {
        format!("arn:aws:sts::{acct}:assumed-role/estate-member/cloudscan")
    } else {
        format!("arn:aws:iam::{acct}:user/estate-scanner")
    };
    Resp::xml(format!(
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><UserId>AIDAESTATE</UserId><Account>{acct}</Account><Arn>{arn}</Arn></GetCallerIdentityResult><ResponseMetadata><RequestId>estate</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
    ))
}

fn assume_role(spec: &Spec, role_arn: &str, session: &str) -> Resp {
    // arn:aws:iam::ACCOUNT:role/NAME
    let parts: Vec<&str> = role_arn.split(':').collect();
    let account = parts.get(4).and_then(|id| spec.account_index(id));
    let name = parts
        .get(5)
        .and_then(|r| r.strip_prefix("role/"))
        .filter(|n| !n.is_empty());
    let (Some(a), Some(name)) = (account, name) else {
        return error(
            "sts",
            403,
            "AccessDenied",
            &format!("not authorized to perform sts:AssumeRole on {role_arn}"),
        );
    };
    let acct = spec.account_id(a);
    Resp::xml(format!(
        "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><Credentials><AccessKeyId>ASIAESTATE{acct}</AccessKeyId><SecretAccessKey>estate-secret</SecretAccessKey><SessionToken>estate-session</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAESTATE:{s}</AssumedRoleId><Arn>arn:aws:sts::{acct}:assumed-role/{n}/{s}</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>estate</RequestId></ResponseMetadata></AssumeRoleResponse>",
        s = xml_escape(session),
        n = xml_escape(name)
    ))
}

/// The prefix of the session tokens of timed sessions; the rest is the expiry (Unix ms).
const TIMED_TOKEN: &str = "estate-session-until-";

/// Sessions that end (`Behaviour::session_duration`): `AssumeRole` issues a session lasting
/// `duration`, and a request signed with an expired session gets `ExpiredToken` in its
/// service's error shape. None: the request is answered as usual.
pub fn timed_sessions(
    spec: &Spec,
    req: &Req,
    c: &Caller,
    op: &str,
    duration: std::time::Duration,
) -> Option<Resp> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    if c.assumed {
        let until = req
            .header("x-amz-security-token")
            .and_then(|t| t.strip_prefix(TIMED_TOKEN))
            .and_then(|ms| ms.parse::<u128>().ok());
        if until.is_some_and(|until| until <= now.as_millis()) {
            let code = match protocol(&c.service) {
                Protocol::Query | Protocol::Ec2 => "ExpiredToken",
                _ => "ExpiredTokenException",
            };
            return Some(error(
                &c.service,
                if c.service == "ec2" { 400 } else { 403 },
                code,
                "The security token included in the request is expired",
            ));
        }
    }
    if op != "sts:AssumeRole" {
        return None;
    }
    let resp = handle(spec, req, c, op);
    if resp.status != 200 {
        return Some(resp);
    }
    let end = now + duration;
    let body = resp
        .body
        .replace(
            "<SessionToken>estate-session</SessionToken>",
            &format!(
                "<SessionToken>{TIMED_TOKEN}{}</SessionToken>",
                end.as_millis()
            ),
        )
        .replace(
            "<Expiration>2099-01-01T00:00:00Z</Expiration>",
            &format!("<Expiration>{}</Expiration>", iso8601(end.as_secs())),
        );
    Some(Resp::xml(body))
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time (days to civil date, proleptic Gregorian).
fn iso8601(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

// ------------------------------------------------------------------------------------------
// IAM

/// The AWS-managed policies the estate's roles attach (name, document).
pub const AWS_MANAGED: [(&str, &str); 6] = [
    (
        "AdministratorAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    ),
    (
        "AmazonEKSWorkerNodePolicy",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"WorkerNodePermissions","Effect":"Allow","Action":["ec2:DescribeInstances","ec2:DescribeInstanceTypes","ec2:DescribeRouteTables","ec2:DescribeSecurityGroups","ec2:DescribeSubnets","ec2:DescribeVolumes","ec2:DescribeVolumesModifications","ec2:DescribeVpcs","eks:DescribeCluster","eks-auth:AssumeRoleForPodIdentity"],"Resource":"*"}]}"#,
    ),
    (
        "AmazonEKS_CNI_Policy",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:AssignPrivateIpAddresses","ec2:AttachNetworkInterface","ec2:CreateNetworkInterface","ec2:DeleteNetworkInterface","ec2:DescribeInstances","ec2:DescribeTags","ec2:DescribeNetworkInterfaces","ec2:DescribeInstanceTypes","ec2:DescribeSubnets","ec2:DetachNetworkInterface","ec2:ModifyNetworkInterfaceAttribute","ec2:UnassignPrivateIpAddresses"],"Resource":"*"},{"Effect":"Allow","Action":["ec2:CreateTags"],"Resource":["arn:aws:ec2:*:*:network-interface/*"]}]}"#,
    ),
    (
        "AmazonEC2ContainerRegistryReadOnly",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken","ecr:BatchCheckLayerAvailability","ecr:GetDownloadUrlForLayer","ecr:GetRepositoryPolicy","ecr:DescribeRepositories","ecr:ListImages","ecr:DescribeImages","ecr:BatchGetImage","ecr:GetLifecyclePolicy","ecr:GetLifecyclePolicyPreview","ecr:ListTagsForResource","ecr:DescribeImageScanFindings"],"Resource":"*"}]}"#,
    ),
    (
        "ReadOnlyAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:Describe*","eks:Describe*","eks:List*","iam:Get*","iam:List*","s3:Get*","s3:List*","kms:Describe*","kms:List*","secretsmanager:DescribeSecret","secretsmanager:ListSecrets","cloudtrail:Describe*","cloudtrail:Get*","logs:Describe*","logs:Get*"],"Resource":"*"}]}"#,
    ),
    (
        "AmazonS3ReadOnlyAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","s3:Describe*","s3-object-lambda:Get*","s3-object-lambda:List*"],"Resource":"*"}]}"#,
    ),
];

const ADMIN: usize = 0;
const WORKER: usize = 1;
const CNI: usize = 2;
const ECR: usize = 3;
const READONLY: usize = 4;
const S3RO: usize = 5;

fn aws_managed_arn(i: usize) -> String {
    format!("arn:aws:iam::aws:policy/{}", AWS_MANAGED[i].0)
}

/// One generated role.
#[derive(Debug, Clone)]
pub struct Role {
    pub name: String,
    pub trust: String,
    pub inline: Vec<(String, String)>,
    /// AWS-managed policy indexes.
    pub aws_managed: Vec<usize>,
    /// Customer-managed policy indexes.
    pub local: Vec<u32>,
    pub instance_profile: bool,
}

fn oidc_host(spec: &Spec, a: u32, c: u32) -> String {
    let region = spec.region_names()[spec.cluster_region(c) as usize];
    format!("oidc.eks.{region}.amazonaws.com/id/{}", spec.oidc_id(a, c))
}

/// The node role of cluster `c` is role `1 + c`, its IRSA role `1 + clusters + c`.
pub fn role(spec: &Spec, a: u32, i: u32) -> Role {
    let acct = spec.account_id(a);
    let mgmt = spec.account_id(0);
    let cl = spec.clusters;
    let ec2_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#.to_string();
    if i == 0 {
        return Role {
            name: "estate-admin".to_string(),
            trust: format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{mgmt}:root"}},"Action":"sts:AssumeRole"}}]}}"#
            ),
            inline: Vec::new(),
            aws_managed: vec![ADMIN],
            local: Vec::new(),
            instance_profile: false,
        };
    }
    if i <= cl {
        let c = i - 1;
        return Role {
            name: format!("eks-node-{c:04}"),
            trust: ec2_trust,
            inline: Vec::new(),
            aws_managed: vec![WORKER, CNI, ECR],
            // One node role in three carries a team policy too (secrets, escalation, ...).
            local: if c % 3 == 2 {
                vec![c % spec.local_policies()]
            } else {
                Vec::new()
            },
            instance_profile: true,
        };
    }
    if i <= 2 * cl {
        let c = i - 1 - cl;
        let host = oidc_host(spec, a, c);
        let (op, sub) = if c.is_multiple_of(5) {
            ("StringLike", "system:serviceaccount:*")
        } else {
            ("StringEquals", "system:serviceaccount:apps:api")
        };
        return Role {
            name: format!("irsa-{c:04}"),
            trust: format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::{acct}:oidc-provider/{host}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"{op}":{{"{host}:sub":"{sub}","{host}:aud":"sts.amazonaws.com"}}}}}},{{"Effect":"Allow","Principal":{{"Service":"pods.eks.amazonaws.com"}},"Action":["sts:AssumeRole","sts:TagSession"]}}]}}"#
            ),
            inline: vec![(
                "app-data".to_string(),
                format!(
                    r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::estate-{acct}-app-{c}/*"}},{{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:*:{acct}:secret:app-{c}-*"}}]}}"#
                ),
            )],
            aws_managed: Vec::new(),
            local: Vec::new(),
            instance_profile: false,
        };
    }
    let h = mix(spec.seed, &[10, u64::from(a), u64::from(i)]);
    let name = format!("app-{i:05}");
    let lambda_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#.to_string();
    match h % 100 {
        0..=2 => Role {
            name,
            trust: format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{mgmt}:root"}},"Action":"sts:AssumeRole","Condition":{{"Bool":{{"aws:MultiFactorAuthPresent":"true"}}}}}}]}}"#
            ),
            inline: Vec::new(),
            aws_managed: vec![ADMIN],
            local: Vec::new(),
            instance_profile: false,
        },
        3..=12 => {
            // A link of an AssumeRole chain: trusted by the previous role, may assume the next.
            let prev = format!("app-{:05}", i - 1);
            let next = format!("app-{:05}", i + 1);
            Role {
                name,
                trust: format!(
                    r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{acct}:role/{prev}"}},"Action":"sts:AssumeRole"}}]}}"#
                ),
                inline: vec![(
                    "chain".to_string(),
                    format!(
                        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::{acct}:role/{next}"}}]}}"#
                    ),
                )],
                aws_managed: Vec::new(),
                local: vec![(h >> 8) as u32 % spec.local_policies()],
                instance_profile: false,
            }
        }
        13..=19 => Role {
            name,
            trust: ec2_trust,
            inline: Vec::new(),
            aws_managed: vec![READONLY],
            local: Vec::new(),
            instance_profile: true,
        },
        20..=29 => Role {
            name,
            trust: lambda_trust,
            inline: Vec::new(),
            aws_managed: vec![S3RO],
            local: Vec::new(),
            instance_profile: false,
        },
        _ => Role {
            name,
            trust: lambda_trust,
            inline: vec![(
                "service".to_string(),
                format!(
                    r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:Query","dynamodb:PutItem"],"Resource":"arn:aws:dynamodb:*:{acct}:table/svc-{i}"}},{{"Effect":"Allow","Action":["sqs:SendMessage","sqs:ReceiveMessage"],"Resource":"arn:aws:sqs:*:{acct}:svc-{i}"}},{{"Effect":"Allow","Action":"logs:*","Resource":"*"}}]}}"#
                ),
            )],
            aws_managed: Vec::new(),
            local: vec![(h >> 8) as u32 % spec.local_policies()],
            instance_profile: false,
        },
    }
}

/// Customer-managed policy `p`: (name, document).
pub fn local_policy(spec: &Spec, a: u32, p: u32) -> (String, String) {
    let acct = spec.account_id(a);
    let doc = match p % 4 {
        0 => format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::team-{p}-{acct}","arn:aws:s3:::team-{p}-{acct}/*"]}}]}}"#),
        1 => r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],"Resource":"*"}]}"#.to_string(),
        2 => r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:PassRole","ec2:RunInstances"],"Resource":"*"}]}"#.to_string(),
        _ => format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:Scan"],"Resource":"arn:aws:dynamodb:*:{acct}:table/team-{p}"}},{{"Effect":"Deny","Action":"dynamodb:DeleteTable","Resource":"*"}}]}}"#),
    };
    (format!("team-{p:03}"), doc)
}

fn role_xml(spec: &Spec, a: u32, i: u32, out: &mut String) {
    let acct = spec.account_id(a);
    let r = role(spec, a, i);
    let arn = format!("arn:aws:iam::{acct}:role/{}", r.name);
    let id = format!(
        "AROAESTATE{:012X}",
        mix(spec.seed, &[11, u64::from(a), u64::from(i)]) & 0xffff_ffff_ffff
    );
    let _ = write!(
        out,
        "<member><Path>/</Path><RoleName>{}</RoleName><RoleId>{id}</RoleId><Arn>{arn}</Arn><CreateDate>{DATE}</CreateDate><AssumeRolePolicyDocument>{}</AssumeRolePolicyDocument>",
        r.name,
        url_encode(&r.trust)
    );
    if r.instance_profile {
        let _ = write!(
            out,
            "<InstanceProfileList><member><Path>/</Path><InstanceProfileName>{n}</InstanceProfileName><InstanceProfileId>AIPAESTATE{i:010}</InstanceProfileId><Arn>arn:aws:iam::{acct}:instance-profile/{n}</Arn><CreateDate>{DATE}</CreateDate><Roles/></member></InstanceProfileList>",
            n = r.name
        );
    } else {
        out.push_str("<InstanceProfileList/>");
    }
    if r.inline.is_empty() {
        out.push_str("<RolePolicyList/>");
    } else {
        out.push_str("<RolePolicyList>");
        for (name, doc) in &r.inline {
            let _ = write!(
                out,
                "<member><PolicyName>{name}</PolicyName><PolicyDocument>{}</PolicyDocument></member>",
                url_encode(doc)
            );
        }
        out.push_str("</RolePolicyList>");
    }
    out.push_str("<AttachedManagedPolicies>");
    for m in &r.aws_managed {
        let _ = write!(
            out,
            "<member><PolicyName>{}</PolicyName><PolicyArn>{}</PolicyArn></member>",
            AWS_MANAGED[*m].0,
            aws_managed_arn(*m)
        );
    }
    for p in &r.local {
        let (name, _) = local_policy(spec, a, *p);
        let _ = write!(
            out,
            "<member><PolicyName>{name}</PolicyName><PolicyArn>arn:aws:iam::{acct}:policy/{name}</PolicyArn></member>"
        );
    }
    out.push_str("</AttachedManagedPolicies><Tags/><RoleLastUsed/></member>");
}

fn local_policy_xml(spec: &Spec, a: u32, p: u32, out: &mut String) {
    let acct = spec.account_id(a);
    let (name, doc) = local_policy(spec, a, p);
    let _ = write!(
        out,
        "<member><PolicyName>{name}</PolicyName><PolicyId>ANPAESTATE{p:010}</PolicyId><Arn>arn:aws:iam::{acct}:policy/{name}</Arn><Path>/</Path><DefaultVersionId>v1</DefaultVersionId><AttachmentCount>1</AttachmentCount><PermissionsBoundaryUsageCount>0</PermissionsBoundaryUsageCount><IsAttachable>true</IsAttachable><CreateDate>{DATE}</CreateDate><UpdateDate>{DATE}</UpdateDate><PolicyVersionList><member><Document>{}</Document><VersionId>v1</VersionId><IsDefaultVersion>true</IsDefaultVersion><CreateDate>{DATE}</CreateDate></member></PolicyVersionList></member>",
        url_encode(&doc)
    );
}

/// GetAccountAuthorizationDetails: roles, then customer-managed policies, `MaxItems` a page
/// (100 by default, 1,000 at most, as IAM).
fn gaad(spec: &Spec, a: u32, marker: Option<&str>, max: Option<u32>) -> Resp {
    let start: u32 = marker
        .and_then(|m| m.strip_prefix('m'))
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let max = max.unwrap_or(100).clamp(1, 1000);
    let roles = spec.roles;
    let total = roles + spec.local_policies();
    let end = start.saturating_add(max).min(total);
    let mut body = String::with_capacity(2048 * (end - start.min(end)) as usize + 512);
    body.push_str("<GetAccountAuthorizationDetailsResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetAccountAuthorizationDetailsResult>");
    let _ = write!(
        body,
        "<IsTruncated>{}</IsTruncated>",
        if end < total { "true" } else { "false" }
    );
    if end < total {
        let _ = write!(body, "<Marker>m{end}</Marker>");
    }
    body.push_str("<UserDetailList/><GroupDetailList/><RoleDetailList>");
    for i in start..end.min(roles) {
        role_xml(spec, a, i, &mut body);
    }
    body.push_str("</RoleDetailList><Policies>");
    for i in start.max(roles)..end {
        local_policy_xml(spec, a, i - roles, &mut body);
    }
    body.push_str("</Policies></GetAccountAuthorizationDetailsResult><ResponseMetadata><RequestId>estate</RequestId></ResponseMetadata></GetAccountAuthorizationDetailsResponse>");
    Resp::xml(body)
}

fn managed_index(arn: &str) -> Option<usize> {
    let name = arn.strip_prefix("arn:aws:iam::aws:policy/")?;
    AWS_MANAGED.iter().position(|(n, _)| *n == name)
}

fn get_policy(_spec: &Spec, arn: &str) -> Resp {
    let Some(i) = managed_index(arn) else {
        return error(
            "iam",
            404,
            "NoSuchEntity",
            &format!("Policy {arn} does not exist."),
        );
    };
    Resp::xml(format!(
        "<GetPolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetPolicyResult><Policy><PolicyName>{n}</PolicyName><PolicyId>ANPAAWS{i:010}</PolicyId><Arn>{arn}</Arn><Path>/</Path><DefaultVersionId>v1</DefaultVersionId><AttachmentCount>1</AttachmentCount><IsAttachable>true</IsAttachable><CreateDate>{DATE}</CreateDate><UpdateDate>{DATE}</UpdateDate><Tags/></Policy></GetPolicyResult><ResponseMetadata><RequestId>estate</RequestId></ResponseMetadata></GetPolicyResponse>",
        n = AWS_MANAGED[i].0
    ))
}

fn get_policy_version(_spec: &Spec, arn: &str) -> Resp {
    let Some(i) = managed_index(arn) else {
        return error(
            "iam",
            404,
            "NoSuchEntity",
            &format!("Policy {arn} does not exist."),
        );
    };
    Resp::xml(format!(
        "<GetPolicyVersionResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetPolicyVersionResult><PolicyVersion><Document>{}</Document><VersionId>v1</VersionId><IsDefaultVersion>true</IsDefaultVersion><CreateDate>{DATE}</CreateDate></PolicyVersion></GetPolicyVersionResult><ResponseMetadata><RequestId>estate</RequestId></ResponseMetadata></GetPolicyVersionResponse>",
        url_encode(AWS_MANAGED[i].1)
    ))
}

fn list_oidc(spec: &Spec, a: u32) -> Resp {
    let acct = spec.account_id(a);
    let mut body = String::from("<ListOpenIDConnectProvidersResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ListOpenIDConnectProvidersResult><OpenIDConnectProviderList>");
    for c in 0..spec.clusters {
        let _ = write!(
            body,
            "<member><Arn>arn:aws:iam::{acct}:oidc-provider/{}</Arn></member>",
            oidc_host(spec, a, c)
        );
    }
    body.push_str("</OpenIDConnectProviderList></ListOpenIDConnectProvidersResult><ResponseMetadata><RequestId>estate</RequestId></ResponseMetadata></ListOpenIDConnectProvidersResponse>");
    Resp::xml(body)
}

fn get_oidc(spec: &Spec, a: u32, arn: &str) -> Resp {
    let host = arn
        .split_once(":oidc-provider/")
        .map(|(_, h)| h)
        .unwrap_or("");
    let known = (0..spec.clusters).any(|c| oidc_host(spec, a, c) == host);
    if !known {
        return error(
            "iam",
            404,
            "NoSuchEntity",
            &format!("OpenIDConnect provider {arn} not found"),
        );
    }
    Resp::xml(format!(
        "<GetOpenIDConnectProviderResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetOpenIDConnectProviderResult><Url>{}</Url><ClientIDList><member>sts.amazonaws.com</member></ClientIDList><ThumbprintList><member>9e99a48a9960b14926bb7f3b02e22da2b0ab7280</member></ThumbprintList><CreateDate>{DATE}</CreateDate><Tags/></GetOpenIDConnectProviderResult><ResponseMetadata><RequestId>estate</RequestId></ResponseMetadata></GetOpenIDConnectProviderResponse>",
        xml_escape(host)
    ))
}

// ------------------------------------------------------------------------------------------
// EC2

fn describe_regions(spec: &Spec) -> Resp {
    let mut body = String::from("<DescribeRegionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>estate</requestId><regionInfo>");
    for r in spec.region_names() {
        let _ = write!(
            body,
            "<item><regionName>{r}</regionName><regionEndpoint>ec2.{r}.amazonaws.com</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>"
        );
    }
    body.push_str("</regionInfo></DescribeRegionsResponse>");
    Resp::xml(body)
}

/// Metadata options of node group `g` of cluster `c`: (http_tokens, hop_limit).
pub fn metadata(c: u32, g: u32) -> (&'static str, u32) {
    if Spec::has_launch_template(g) {
        (
            if c.is_multiple_of(2) {
                "required"
            } else {
                "optional"
            },
            if c.is_multiple_of(3) { 2 } else { 1 },
        )
    } else {
        ("required", 2)
    }
}

/// Every instance of a region, in order: (cluster, group, node).
fn region_nodes(spec: &Spec, region: u32) -> impl Iterator<Item = (u32, u32, u32)> + '_ {
    spec.clusters_in_region(region).flat_map(move |c| {
        (0..spec.nodegroups).flat_map(move |g| (0..spec.nodes).map(move |n| (c, g, n)))
    })
}

fn describe_instances(
    spec: &Spec,
    a: u32,
    region: &str,
    token: Option<&str>,
    max: Option<u32>,
) -> Resp {
    let mut body = String::from("<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>estate</requestId><reservationSet>");
    let Some(r) = spec.region_index(region) else {
        body.push_str("</reservationSet></DescribeInstancesResponse>");
        return Resp::xml(body);
    };
    let acct = spec.account_id(a);
    let start: usize = token
        .and_then(|t| t.strip_prefix('t'))
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let max = max.unwrap_or(1000).clamp(5, 1000) as usize;
    let total = region_nodes(spec, r).count();
    for (c, g, n) in region_nodes(spec, r).skip(start).take(max) {
        let id = spec.instance_id(a, c, g, n);
        let cluster = Spec::cluster_name(c);
        let (tokens, hop) = metadata(c, g);
        let _ = write!(
            body,
            "<item><reservationId>r-{id}</reservationId><ownerId>{acct}</ownerId><groupSet/><instancesSet><item><instanceId>{id}</instanceId><imageId>ami-0estate</imageId><instanceState><code>16</code><name>running</name></instanceState><privateDnsName>ip-10-0-{c}-{n}.ec2.internal</privateDnsName><instanceType>m6i.large</instanceType><placement><availabilityZone>{region}a</availabilityZone></placement><iamInstanceProfile><arn>arn:aws:iam::{acct}:instance-profile/eks-node-{c:04}</arn><id>AIPAESTATE{c:010}</id></iamInstanceProfile><metadataOptions><state>applied</state><httpTokens>{tokens}</httpTokens><httpPutResponseHopLimit>{hop}</httpPutResponseHopLimit><httpEndpoint>enabled</httpEndpoint></metadataOptions><blockDeviceMapping><item><deviceName>/dev/xvda</deviceName><ebs><volumeId>{vol}</volumeId><status>attached</status><deleteOnTermination>true</deleteOnTermination></ebs></item></blockDeviceMapping><tagSet><item><key>eks:cluster-name</key><value>{cluster}</value></item><item><key>eks:nodegroup-name</key><value>ng-{g}</value></item><item><key>kubernetes.io/cluster/{cluster}</key><value>owned</value></item></tagSet></item></instancesSet></item>",
            vol = spec.volume_id(a, c, g, n)
        );
    }
    body.push_str("</reservationSet>");
    if start + max < total {
        let _ = write!(body, "<nextToken>t{}</nextToken>", start + max);
    }
    body.push_str("</DescribeInstancesResponse>");
    Resp::xml(body)
}

/// Reads an instance id back into (account, cluster, group, node).
pub fn parse_instance(id: &str) -> Option<(u32, u32, u32, u32)> {
    let hex = id.strip_prefix("i-")?;
    if hex.len() != 17 {
        return None;
    }
    let a = u32::from_str_radix(hex.get(0..5)?, 16).ok()?;
    let c = u32::from_str_radix(hex.get(5..10)?, 16).ok()?;
    let g = u32::from_str_radix(hex.get(10..13)?, 16).ok()?;
    let n = u32::from_str_radix(hex.get(13..17)?, 16).ok()?;
    Some((a, c, g, n))
}

/// Whether a node's root volume is encrypted (three in four).
pub fn volume_encrypted(spec: &Spec, a: u32, c: u32, g: u32, n: u32) -> bool {
    !mix(
        spec.seed,
        &[12, u64::from(a), u64::from(c), u64::from(g), u64::from(n)],
    )
    .is_multiple_of(4)
}

fn describe_volumes(spec: &Spec, form: &[(String, String)]) -> Resp {
    let mut body = String::from("<DescribeVolumesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>estate</requestId><volumeSet>");
    for (k, v) in form {
        if !(k.starts_with("Filter.1.Value.")) {
            continue;
        }
        let Some((a, c, g, n)) = parse_instance(v) else {
            continue;
        };
        if a >= spec.accounts.max(1)
            || c >= spec.clusters
            || g >= spec.nodegroups
            || n >= spec.nodes
        {
            continue;
        }
        let vol = spec.volume_id(a, c, g, n);
        let region = spec.region_names()[spec.cluster_region(c) as usize];
        let enc = volume_encrypted(spec, a, c, g, n);
        let _ = write!(
            body,
            "<item><volumeId>{vol}</volumeId><size>20</size><availabilityZone>{region}a</availabilityZone><status>in-use</status><createTime>{DATE}</createTime><attachmentSet><item><volumeId>{vol}</volumeId><instanceId>{v}</instanceId><device>/dev/xvda</device><status>attached</status><attachTime>{DATE}</attachTime><deleteOnTermination>true</deleteOnTermination></item></attachmentSet><volumeType>gp3</volumeType><encrypted>{enc}</encrypted>{key}</item>",
            key = if enc {
                format!("<kmsKeyId>arn:aws:kms:{region}:{}:key/ebs-default</kmsKeyId>", spec.account_id(a))
            } else {
                String::new()
            }
        );
    }
    body.push_str("</volumeSet></DescribeVolumesResponse>");
    Resp::xml(body)
}

fn ebs_default(spec: &Spec, a: u32, region: &str) -> Resp {
    let r = spec.region_index(region).unwrap_or(0);
    let on = mix(spec.seed, &[13, u64::from(a), u64::from(r)]).is_multiple_of(2);
    Resp::xml(format!(
        "<GetEbsEncryptionByDefaultResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>estate</requestId><ebsEncryptionByDefault>{on}</ebsEncryptionByDefault></GetEbsEncryptionByDefaultResponse>"
    ))
}

fn launch_template(spec: &Spec, id: &str) -> Resp {
    let parsed = id.strip_prefix("lt-").and_then(|h| {
        Some((
            u32::from_str_radix(h.get(0..5)?, 16).ok()?,
            u32::from_str_radix(h.get(5..10)?, 16).ok()?,
            u32::from_str_radix(h.get(10..13)?, 16).ok()?,
        ))
    });
    let Some((a, c, g)) = parsed.filter(|(a, c, g)| {
        *a < spec.accounts.max(1)
            && *c < spec.clusters
            && *g < spec.nodegroups
            && Spec::has_launch_template(*g)
    }) else {
        return error(
            "ec2",
            400,
            "InvalidLaunchTemplateId.NotFound",
            &format!("launch template {id} does not exist"),
        );
    };
    let (tokens, hop) = metadata(c, g);
    Resp::xml(format!(
        "<DescribeLaunchTemplateVersionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>estate</requestId><launchTemplateVersionSet><item><launchTemplateId>{id}</launchTemplateId><launchTemplateName>{name}-ng-{g}</launchTemplateName><versionNumber>1</versionNumber><createTime>{DATE}</createTime><createdBy>arn:aws:iam::{acct}:root</createdBy><defaultVersion>true</defaultVersion><launchTemplateData><instanceType>m6i.large</instanceType><metadataOptions><httpTokens>{tokens}</httpTokens><httpPutResponseHopLimit>{hop}</httpPutResponseHopLimit><httpEndpoint>enabled</httpEndpoint></metadataOptions></launchTemplateData></item></launchTemplateVersionSet></DescribeLaunchTemplateVersionsResponse>",
        name = Spec::cluster_name(c),
        acct = spec.account_id(a)
    ))
}

// ------------------------------------------------------------------------------------------
// EKS

fn segments(req: &Req) -> Vec<String> {
    req.raw_path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(crate::http::decode)
        .collect()
}

fn eks_operation(req: &Req) -> &'static str {
    let s = segments(req);
    match s.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["clusters"] => "ListClusters",
        ["clusters", _] => "DescribeCluster",
        ["clusters", _, "node-groups"] => "ListNodegroups",
        ["clusters", _, "node-groups", _] => "DescribeNodegroup",
        ["clusters", _, "pod-identity-associations"] => "ListPodIdentityAssociations",
        ["clusters", _, "pod-identity-associations", _] => "DescribePodIdentityAssociation",
        ["clusters", _, "access-entries"] => "ListAccessEntries",
        ["clusters", _, "access-entries", _] => "DescribeAccessEntry",
        _ => "Unknown",
    }
}

fn eks(spec: &Spec, req: &Req, c: &Caller, name: &str) -> Resp {
    let seg = segments(req);
    let a = c.account;
    let acct = spec.account_id(a);
    let region = c.region.as_str();
    let Some(r) = spec.region_index(region) else {
        return Resp::json(&json!({"clusters": []}));
    };
    if name == "ListClusters" {
        let all: Vec<String> = spec.clusters_in_region(r).map(Spec::cluster_name).collect();
        let start: usize = req
            .query("nextToken")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let max = req
            .query("maxResults")
            .and_then(|m| m.parse().ok())
            .unwrap_or(100usize)
            .clamp(1, 100);
        let page: Vec<&String> = all.iter().skip(start).take(max).collect();
        let mut v = json!({"clusters": page});
        if start + max < all.len() {
            v["nextToken"] = json!((start + max).to_string());
        }
        return Resp::json(&v);
    }
    let cluster = seg.get(1).cloned().unwrap_or_default();
    let Some(ci) = Spec::cluster_index(&cluster)
        .filter(|ci| *ci < spec.clusters && spec.cluster_region(*ci) == r)
    else {
        return error(
            "eks",
            404,
            "ResourceNotFoundException",
            &format!("No cluster found for name: {cluster}."),
        );
    };
    let node_role = format!("arn:aws:iam::{acct}:role/eks-node-{ci:04}");
    let irsa_role = format!("arn:aws:iam::{acct}:role/irsa-{ci:04}");
    match name {
        "DescribeCluster" => {
            let public = ci % 4 != 3;
            let cidrs = if ci % 2 == 0 {
                json!(["0.0.0.0/0"])
            } else {
                json!(["203.0.113.0/24"])
            };
            let encryption = if spec.cluster_kms(a, ci) {
                json!([{"resources": ["secrets"], "provider": {"keyArn": format!("arn:aws:kms:{region}:{acct}:key/{}", kms_key(a, ci))}}])
            } else {
                json!([])
            };
            let audit = ci % 3 != 1;
            let logging = json!({"clusterLogging": [
                {"types": if audit { json!(["api", "audit", "authenticator"]) } else { json!(["api", "authenticator"]) }, "enabled": true},
                {"types": if audit { json!(["controllerManager", "scheduler"]) } else { json!(["audit", "controllerManager", "scheduler"]) }, "enabled": false}
            ]});
            let mode = if ci % 7 == 6 {
                "CONFIG_MAP"
            } else {
                "API_AND_CONFIG_MAP"
            };
            Resp::json(&json!({"cluster": {
                "name": cluster,
                "arn": format!("arn:aws:eks:{region}:{acct}:cluster/{cluster}"),
                "createdAt": EPOCH,
                "version": "1.31",
                "endpoint": format!("https://{}.gr7.{region}.eks.amazonaws.com", spec.oidc_id(a, ci)),
                "roleArn": format!("arn:aws:iam::{acct}:role/estate-admin"),
                "resourcesVpcConfig": {"subnetIds": ["subnet-1"], "securityGroupIds": [], "clusterSecurityGroupId": "sg-1", "vpcId": "vpc-1",
                    "endpointPublicAccess": public, "endpointPrivateAccess": true, "publicAccessCidrs": cidrs},
                "kubernetesNetworkConfig": {"serviceIpv4Cidr": "172.20.0.0/16", "ipFamily": "ipv4"},
                "logging": logging,
                "identity": {"oidc": {"issuer": format!("https://{}", oidc_host(spec, a, ci))}},
                "status": "ACTIVE",
                "certificateAuthority": {"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"},
                "platformVersion": "eks.10",
                "tags": {"team": format!("t{}", ci % 5)},
                "encryptionConfig": encryption,
                "accessConfig": {"authenticationMode": mode}
            }}))
        }
        "ListNodegroups" => {
            let names: Vec<String> = (0..spec.nodegroups).map(|g| format!("ng-{g}")).collect();
            Resp::json(&json!({"nodegroups": names}))
        }
        "DescribeNodegroup" => {
            let ng = seg.get(3).cloned().unwrap_or_default();
            let Some(g) = ng
                .strip_prefix("ng-")
                .and_then(|g| g.parse::<u32>().ok())
                .filter(|g| *g < spec.nodegroups)
            else {
                return error(
                    "eks",
                    404,
                    "ResourceNotFoundException",
                    &format!("No node group found for name: {ng}."),
                );
            };
            let mut v = json!({"nodegroup": {
                "nodegroupName": ng, "clusterName": cluster,
                "nodegroupArn": format!("arn:aws:eks:{region}:{acct}:nodegroup/{cluster}/{ng}/{:08x}", mix(spec.seed, &[14, u64::from(a), u64::from(ci), u64::from(g)]) & 0xffff_ffff),
                "version": "1.31", "releaseVersion": "1.31.0-20250101", "createdAt": EPOCH, "modifiedAt": EPOCH,
                "status": "ACTIVE", "capacityType": "ON_DEMAND",
                "scalingConfig": {"minSize": 1, "maxSize": spec.nodes.max(1) * 2, "desiredSize": spec.nodes},
                "instanceTypes": ["m6i.large"], "subnets": ["subnet-1"], "amiType": "AL2023_x86_64_STANDARD",
                "nodeRole": node_role, "labels": {}, "taints": [], "diskSize": 20,
                "resources": {"autoScalingGroups": [{"name": format!("eks-{cluster}-{ng}")}]},
                "health": {"issues": []}, "tags": {}
            }});
            if Spec::has_launch_template(g) {
                v["nodegroup"]["launchTemplate"] = json!({"id": spec.launch_template_id(a, ci, g), "name": format!("{cluster}-ng-{g}"), "version": "1"});
                if let Some(obj) = v["nodegroup"].as_object_mut() {
                    obj.remove("diskSize");
                }
            }
            Resp::json(&v)
        }
        "ListPodIdentityAssociations" => {
            let list = if Spec::has_pod_identity(ci) {
                json!([{"clusterName": cluster, "namespace": "apps", "serviceAccount": "worker",
                    "associationArn": format!("arn:aws:eks:{region}:{acct}:podidentityassociation/{cluster}/a-{ci:017}"),
                    "associationId": format!("a-{ci:017}")}])
            } else {
                json!([])
            };
            Resp::json(&json!({"associations": list}))
        }
        "DescribePodIdentityAssociation" => {
            if !Spec::has_pod_identity(ci)
                || seg.get(3).map(String::as_str) != Some(format!("a-{ci:017}").as_str())
            {
                return error(
                    "eks",
                    404,
                    "ResourceNotFoundException",
                    "No association found.",
                );
            }
            Resp::json(
                &json!({"association": {"clusterName": cluster, "namespace": "apps", "serviceAccount": "worker",
                "roleArn": irsa_role, "associationArn": format!("arn:aws:eks:{region}:{acct}:podidentityassociation/{cluster}/a-{ci:017}"),
                "associationId": format!("a-{ci:017}"), "tags": {}, "createdAt": EPOCH, "modifiedAt": EPOCH, "disableSessionTags": false}}),
            )
        }
        "ListAccessEntries" => Resp::json(&json!({"accessEntries": [node_role]})),
        "DescribeAccessEntry" => {
            if seg.get(3) != Some(&node_role) {
                return error(
                    "eks",
                    404,
                    "ResourceNotFoundException",
                    "The specified access entry resource could not be found.",
                );
            }
            Resp::json(
                &json!({"accessEntry": {"clusterName": cluster, "principalArn": node_role, "kubernetesGroups": [],
                "username": "system:node:{{EC2PrivateDNSName}}", "type": "EC2_LINUX", "tags": {},
                "accessEntryArn": format!("arn:aws:eks:{region}:{acct}:access-entry/{cluster}/role/{acct}/eks-node-{ci:04}/0"),
                "createdAt": EPOCH, "modifiedAt": EPOCH}}),
            )
        }
        _ => error(
            "eks",
            404,
            "UnknownOperationException",
            "no such EKS operation",
        ),
    }
}

// ------------------------------------------------------------------------------------------
// KMS, CloudTrail

/// A cluster's secrets key id: reversible, `{account:08x}-0000-4000-8000-{cluster:012x}`.
pub fn kms_key(a: u32, c: u32) -> String {
    format!("{a:08x}-0000-4000-8000-{c:012x}")
}

fn describe_key(spec: &Spec, c: &Caller, body: &Value) -> Resp {
    let key = body
        .get("KeyId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let id = key.rsplit('/').next().unwrap_or(key);
    let parsed = id
        .split('-')
        .collect::<Vec<_>>()
        .as_slice()
        .iter()
        .copied()
        .enumerate()
        .filter(|(i, _)| *i == 0 || *i == 4)
        .map(|(_, p)| u32::from_str_radix(p, 16).ok())
        .collect::<Option<Vec<u32>>>();
    let ok = matches!(parsed.as_deref(), Some([a, ci]) if *a == c.account && *ci < spec.clusters && spec.cluster_kms(*a, *ci));
    if !ok {
        return error(
            "kms",
            400,
            "NotFoundException",
            &format!("Key '{key}' does not exist"),
        );
    }
    let acct = spec.account_id(c.account);
    let region = &c.region;
    Resp::amz_json(&json!({"KeyMetadata": {
        "AWSAccountId": acct, "KeyId": id, "Arn": format!("arn:aws:kms:{region}:{acct}:key/{id}"),
        "CreationDate": EPOCH, "Enabled": true, "Description": "eks secrets", "KeyUsage": "ENCRYPT_DECRYPT",
        "KeyState": "Enabled", "Origin": "AWS_KMS", "KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT",
        "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT", "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"], "MultiRegion": false
    }}))
}

/// Whether an account has its multi-region trail (four in five).
pub fn has_trail(spec: &Spec, a: u32) -> bool {
    !mix(spec.seed, &[15, u64::from(a)]).is_multiple_of(5)
}

fn describe_trails(spec: &Spec, a: u32) -> Resp {
    if !has_trail(spec, a) {
        return Resp::amz_json(&json!({"trailList": []}));
    }
    let acct = spec.account_id(a);
    let home = spec.region_names()[0];
    Resp::amz_json(&json!({"trailList": [{
        "Name": "estate-trail", "S3BucketName": format!("estate-trail-{acct}"), "IncludeGlobalServiceEvents": true,
        "IsMultiRegionTrail": true, "HomeRegion": home, "TrailARN": format!("arn:aws:cloudtrail:{home}:{acct}:trail/estate-trail"),
        "LogFileValidationEnabled": true, "IsOrganizationTrail": false, "HasCustomEventSelectors": false, "HasInsightSelectors": false
    }]}))
}

// ------------------------------------------------------------------------------------------
// Organizations (JSON 1.1, `AWSOrganizationsV20161128.*`)

/// Organizational units: account `a` is in OU `a % OUS` under the root.
pub const OUS: u32 = 4;

/// The organization's policies: `FullAWSAccess` on the root, the deny guardrail on OU 0.
pub const ORG_POLICIES: [&str; 2] = ["p-FullAWSAccess", "p-estatedeny"];

fn org_id(spec: &Spec) -> String {
    format!("o-estate{:04}", spec.seed % 10_000)
}

/// The summaries of the policies `ids` whose type is `kind` (the `Filter` of `ListPolicies` and
/// `ListPoliciesForTarget`).
fn summaries_of_type(spec: &Spec, ids: &[&str], kind: &str) -> Vec<Value> {
    ids.iter()
        .filter_map(|id| policy_summary(spec, id))
        .map(|(v, _)| v)
        .filter(|v| v["Type"] == kind)
        .collect()
}

fn policy_summary(spec: &Spec, id: &str) -> Option<(Value, &'static str)> {
    let mgmt = spec.account_id(0);
    let org = org_id(spec);
    match id {
        "p-FullAWSAccess" => Some((
            json!({"Id": id, "Arn": "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess", "Name": "FullAWSAccess", "Description": "Allows access to every operation", "Type": "SERVICE_CONTROL_POLICY", "AwsManaged": true}),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        )),
        "p-estatedeny" => Some((
            json!({"Id": id, "Arn": format!("arn:aws:organizations::{mgmt}:policy/{org}/service_control_policy/p-estatedeny"), "Name": "deny-leave-and-trail-changes", "Description": "guardrails", "Type": "SERVICE_CONTROL_POLICY", "AwsManaged": false}),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["organizations:LeaveOrganization","cloudtrail:StopLogging","cloudtrail:DeleteTrail"],"Resource":"*"}]}"#,
        )),
        _ => None,
    }
}

/// `MaxResults` of an Organizations list call: 1 to 20, 20 when not given.
fn page_size(body: &Value) -> u32 {
    body.get("MaxResults")
        .and_then(Value::as_u64)
        .unwrap_or(20)
        .clamp(1, 20) as u32
}

fn ou_id(o: u32) -> String {
    format!("ou-est0-{o:08}")
}

fn ou_index(id: &str) -> Option<u32> {
    id.strip_prefix("ou-est0-")?
        .parse::<u32>()
        .ok()
        .filter(|o| *o < OUS)
}

fn ou_name(id: &str) -> String {
    format!("ou-{}", id.rsplit('-').next().unwrap_or(""))
}

/// Account `a` as ListAccounts and ListAccountsForParent list it.
fn org_account(spec: &Spec, a: u32) -> Value {
    let mgmt = spec.account_id(0);
    let org = org_id(spec);
    let id = spec.account_id(a);
    json!({"Id": id, "Arn": format!("arn:aws:organizations::{mgmt}:account/{org}/{id}"), "Email": format!("acct-{a}@example.com"),
        "Name": format!("estate-{a:04}"), "Status": "ACTIVE", "State": "ACTIVE", "JoinedMethod": if a == 0 { "INVITED" } else { "CREATED" }, "JoinedTimestamp": EPOCH})
}

fn parent_not_found(parent: &str) -> Resp {
    error(
        "organizations",
        400,
        "ParentNotFoundException",
        &format!("parent {parent} not found"),
    )
}

fn organizations(spec: &Spec, c: &Caller, name: &str, body: &Value) -> Resp {
    let mgmt = spec.account_id(0);
    let org = org_id(spec);
    if c.account != 0 {
        return error(
            "organizations",
            400,
            "AccessDeniedException",
            "You don't have permissions to access this resource.",
        );
    }
    let s = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let root = "r-est0".to_string();
    let scp_enabled = json!([{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]);
    match name {
        "DescribeOrganization" => Resp::amz_json(&json!({"Organization": {
            "Id": org, "Arn": format!("arn:aws:organizations::{mgmt}:organization/{org}"), "FeatureSet": "ALL",
            "MasterAccountArn": format!("arn:aws:organizations::{mgmt}:account/{org}/{mgmt}"), "MasterAccountId": mgmt,
            "MasterAccountEmail": "estate@example.com", "AvailablePolicyTypes": scp_enabled
        }})),
        "ListRoots" => Resp::amz_json(
            &json!({"Roots": [{"Id": root, "Arn": format!("arn:aws:organizations::{mgmt}:root/{org}/{root}"), "Name": "Root", "PolicyTypes": scp_enabled}]}),
        ),
        "ListAccounts" => {
            let start: u32 = s("NextToken").parse().unwrap_or(0);
            let end = start
                .saturating_add(page_size(body))
                .min(spec.accounts.max(1));
            let accounts: Vec<Value> = (start..end).map(|a| org_account(spec, a)).collect();
            let mut v = json!({"Accounts": accounts});
            if end < spec.accounts.max(1) {
                v["NextToken"] = json!(end.to_string());
            }
            Resp::amz_json(&v)
        }
        // The tree: the root holds the OUs and no account; OU `o` holds the accounts `a` with
        // `a % OUS == o`, in index order, 20 a page at most (the token is the next index).
        "ListOrganizationalUnitsForParent" => {
            let parent = s("ParentId");
            if parent == root {
                let ous: Vec<Value> = (0..OUS)
                    .map(|o| {
                        let id = ou_id(o);
                        json!({"Id": id, "Arn": format!("arn:aws:organizations::{mgmt}:ou/{org}/{id}"), "Name": ou_name(&id)})
                    })
                    .collect();
                Resp::amz_json(&json!({"OrganizationalUnits": ous}))
            } else if ou_index(&parent).is_some() {
                Resp::amz_json(&json!({"OrganizationalUnits": []}))
            } else {
                parent_not_found(&parent)
            }
        }
        "ListAccountsForParent" => {
            let parent = s("ParentId");
            if parent == root {
                return Resp::amz_json(&json!({"Accounts": []}));
            }
            let Some(o) = ou_index(&parent) else {
                return parent_not_found(&parent);
            };
            let start: u32 = s("NextToken").parse().unwrap_or(0);
            let total = spec.accounts.max(1);
            let mut accounts = Vec::new();
            let mut a = start;
            while a < total && (accounts.len() as u32) < page_size(body) {
                if a % OUS == o {
                    accounts.push(org_account(spec, a));
                }
                a += 1;
            }
            // The next account of this OU, if any.
            let next = (a..total).find(|n| n % OUS == o);
            let mut v = json!({"Accounts": accounts});
            if let Some(n) = next {
                v["NextToken"] = json!(n.to_string());
            }
            Resp::amz_json(&v)
        }
        "ListPolicies" => Resp::amz_json(
            &json!({"Policies": summaries_of_type(spec, &ORG_POLICIES, &s("Filter"))}),
        ),
        "ListTargetsForPolicy" => {
            let id = s("PolicyId");
            let target = match id.as_str() {
                "p-FullAWSAccess" => {
                    json!({"TargetId": root, "Arn": format!("arn:aws:organizations::{mgmt}:root/{org}/{root}"), "Name": "Root", "Type": "ROOT"})
                }
                "p-estatedeny" => {
                    let ou = ou_id(0);
                    json!({"TargetId": ou, "Arn": format!("arn:aws:organizations::{mgmt}:ou/{org}/{ou}"), "Name": ou_name(&ou), "Type": "ORGANIZATIONAL_UNIT"})
                }
                _ => {
                    return error(
                        "organizations",
                        400,
                        "PolicyNotFoundException",
                        "policy not found",
                    )
                }
            };
            Resp::amz_json(&json!({"Targets": [target]}))
        }
        "ListParents" => {
            let child = s("ChildId");
            if let Some(ou) = child.strip_prefix("ou-est0-") {
                if ou.parse::<u32>().is_ok_and(|o| o < OUS) {
                    return Resp::amz_json(&json!({"Parents": [{"Id": root, "Type": "ROOT"}]}));
                }
            } else if let Some(a) = spec.account_index(&child) {
                return Resp::amz_json(
                    &json!({"Parents": [{"Id": format!("ou-est0-{:08}", a % OUS), "Type": "ORGANIZATIONAL_UNIT"}]}),
                );
            }
            error(
                "organizations",
                400,
                "ChildNotFoundException",
                &format!("child {child} not found"),
            )
        }
        "DescribeOrganizationalUnit" => {
            let id = s("OrganizationalUnitId");
            Resp::amz_json(
                &json!({"OrganizationalUnit": {"Id": id, "Arn": format!("arn:aws:organizations::{mgmt}:ou/{org}/{id}"), "Name": ou_name(&id)}}),
            )
        }
        "ListPoliciesForTarget" => {
            let target = s("TargetId");
            let mut ids = Vec::new();
            if target == root {
                ids.push("p-FullAWSAccess");
            } else if target == format!("ou-est0-{:08}", 0) {
                ids.push("p-estatedeny");
            }
            Resp::amz_json(&json!({"Policies": summaries_of_type(spec, &ids, &s("Filter"))}))
        }
        "DescribePolicy" => match policy_summary(spec, &s("PolicyId")) {
            Some((summary, content)) => {
                Resp::amz_json(&json!({"Policy": {"PolicySummary": summary, "Content": content}}))
            }
            None => error(
                "organizations",
                400,
                "PolicyNotFoundException",
                "policy not found",
            ),
        },
        _ => error(
            "organizations",
            400,
            "UnknownOperationException",
            &format!("the synthetic estate does not serve organizations:{name}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn management() -> Caller {
        Caller {
            account: 0,
            assumed: false,
            region: "us-east-1".to_string(),
            service: "organizations".to_string(),
        }
    }

    fn answer(spec: &Spec, name: &str, body: Value) -> Value {
        let resp = organizations(spec, &management(), name, &body);
        assert_eq!(resp.status, 200, "{name} {body}: {}", resp.body);
        serde_json::from_str(&resp.body).unwrap_or(Value::Null)
    }

    /// Walking the served tree and policies the cheapest way takes exactly the calls
    /// `minimum_organization` counts, and finds every account under the OU `ListParents` names.
    #[test]
    fn the_tree_walk_takes_the_minimum_and_agrees_with_list_parents() {
        let spec = Spec {
            accounts: 47,
            ..Default::default()
        }
        .normalized();
        let mut calls: BTreeMap<&str, u64> = BTreeMap::new();
        let roots = answer(&spec, "ListRoots", json!({}));
        *calls.entry("organizations:ListRoots").or_default() += 1;
        let root = roots["Roots"][0]["Id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut parents = vec![root.clone()];
        let mut found: BTreeMap<String, String> = BTreeMap::new();
        while let Some(parent) = parents.pop() {
            let ous = answer(
                &spec,
                "ListOrganizationalUnitsForParent",
                json!({"ParentId": parent, "MaxResults": 20}),
            );
            *calls
                .entry("organizations:ListOrganizationalUnitsForParent")
                .or_default() += 1;
            for ou in ous["OrganizationalUnits"].as_array().into_iter().flatten() {
                parents.push(ou["Id"].as_str().unwrap_or_default().to_string());
            }
            let mut token: Option<String> = None;
            loop {
                let mut body = json!({"ParentId": parent, "MaxResults": 20});
                if let Some(t) = &token {
                    body["NextToken"] = json!(t);
                }
                let page = answer(&spec, "ListAccountsForParent", body);
                *calls
                    .entry("organizations:ListAccountsForParent")
                    .or_default() += 1;
                let accounts = page["Accounts"].as_array().cloned().unwrap_or_default();
                assert!(accounts.len() <= 20);
                for a in accounts {
                    assert_eq!(a["State"], "ACTIVE");
                    let id = a["Id"].as_str().unwrap_or_default().to_string();
                    assert!(found.insert(id, parent.clone()).is_none(), "listed twice");
                }
                token = page["NextToken"].as_str().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
        }
        assert_eq!(found.len(), 47);
        for (account, parent) in &found {
            let listed = answer(&spec, "ListParents", json!({"ChildId": account}));
            assert_eq!(listed["Parents"][0]["Id"], json!(parent));
        }
        let policies = answer(
            &spec,
            "ListPolicies",
            json!({"Filter": "SERVICE_CONTROL_POLICY", "MaxResults": 20}),
        );
        *calls.entry("organizations:ListPolicies").or_default() += 1;
        let ids: Vec<String> = policies["Policies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["Id"].as_str().map(str::to_string))
            .collect();
        assert_eq!(ids.len(), ORG_POLICIES.len());
        for id in &ids {
            let targets = answer(&spec, "ListTargetsForPolicy", json!({"PolicyId": id}));
            *calls
                .entry("organizations:ListTargetsForPolicy")
                .or_default() += 1;
            // The same attachments ListPoliciesForTarget answers.
            for t in targets["Targets"].as_array().into_iter().flatten() {
                let on = answer(
                    &spec,
                    "ListPoliciesForTarget",
                    json!({"TargetId": t["TargetId"], "Filter": "SERVICE_CONTROL_POLICY"}),
                );
                assert!(on["Policies"].to_string().contains(id.as_str()));
            }
            answer(&spec, "DescribePolicy", json!({"PolicyId": id}));
            *calls.entry("organizations:DescribePolicy").or_default() += 1;
        }
        let rcps = answer(
            &spec,
            "ListPolicies",
            json!({"Filter": "RESOURCE_CONTROL_POLICY"}),
        );
        assert_eq!(rcps["Policies"], json!([]));
        // ListPoliciesForTarget honours its filter too: no RCP is attached anywhere.
        let on_root = answer(
            &spec,
            "ListPoliciesForTarget",
            json!({"TargetId": root, "Filter": "RESOURCE_CONTROL_POLICY"}),
        );
        assert_eq!(on_root["Policies"], json!([]));
        answer(&spec, "DescribeOrganization", json!({}));
        *calls
            .entry("organizations:DescribeOrganization")
            .or_default() += 1;
        let minimum: BTreeMap<&str, u64> = crate::minimum_organization(47).into_iter().collect();
        assert_eq!(calls, minimum);
    }
}

#[cfg(test)]
mod timed_session_tests {
    use super::*;

    fn req(token: Option<&str>) -> Req {
        let mut headers = Vec::new();
        if let Some(t) = token {
            headers.push(("x-amz-security-token".to_string(), t.to_string()));
        }
        Req {
            method: "POST".to_string(),
            path: "/".to_string(),
            raw_path: "/".to_string(),
            query: Vec::new(),
            headers,
            body: b"Action=GetAccountAuthorizationDetails".to_vec(),
        }
    }

    fn member(service: &str) -> Caller {
        Caller {
            account: 1,
            assumed: true,
            region: "us-east-1".to_string(),
            service: service.to_string(),
        }
    }

    #[test]
    fn an_expired_session_gets_expired_token_and_a_live_one_is_served() {
        let spec = Spec {
            accounts: 2,
            ..Spec::default()
        };
        let ttl = std::time::Duration::from_secs(60);
        let past = format!("{TIMED_TOKEN}1000");
        let r = timed_sessions(&spec, &req(Some(&past)), &member("iam"), "iam:X", ttl);
        let r = r.expect("expired");
        assert_eq!(r.status, 403);
        assert!(r.body.contains("<Code>ExpiredToken</Code>"), "{}", r.body);
        let r = timed_sessions(&spec, &req(Some(&past)), &member("eks"), "eks:X", ttl);
        assert_eq!(
            r.map(|r| r.headers),
            Some(vec![(
                "x-amzn-errortype",
                "ExpiredTokenException".to_string()
            )])
        );
        let future = format!("{TIMED_TOKEN}{}", u64::MAX);
        assert!(timed_sessions(&spec, &req(Some(&future)), &member("iam"), "iam:X", ttl).is_none());
        // AssumeRole issues a session that ends `ttl` from now.
        let mut assume = req(None);
        assume.body = format!(
            "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A{}%3Arole%2Fcloudscan-scan&RoleSessionName=cloudscan-scan",
            spec.account_id(1)
        )
        .into_bytes();
        let mut caller = member("sts");
        caller.assumed = false;
        let r = timed_sessions(&spec, &assume, &caller, "sts:AssumeRole", ttl).expect("answer");
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains(&format!("<SessionToken>{TIMED_TOKEN}")));
        assert!(!r.body.contains("2099-01-01"));
        assert_eq!(iso8601(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
    }
}
