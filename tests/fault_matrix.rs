//! The fault matrix: every kind of API failure × every collector of every cloud.
//!
//! Each cell copies a bundled recording (`mocks/<cloud>/insecure`), breaks the responses of one
//! operation in one way, and replays the copy through the real adapter (AWS through its SDK
//! connector, GCP and Azure through the loopback replay server and the real HTTP client). A cell
//! passes when the scan finishes (no panic, no hang), its coverage is incomplete (the CLI's exit
//! code 3) with an entry that names the failed call, and the other services still produced their
//! facts. The outcome of every cell is written to `docs/fault-matrix.md`; the test fails when the
//! committed table differs from the one it generated (`UPDATE_FAULT_MATRIX=1` rewrites it).

use cloudscan_collect::testkit::{copy_dir, exchange_files};
use cloudscan_inventory::{CoverageStatus, Inventory};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The call time-out of the slow-response cells (every other cell keeps the default).
const SHORT_TIMEOUT: Duration = Duration::from_secs(2);
/// How late a slow response comes.
const SLOW_MS: u64 = 30_000;
/// How long one cell may take before it counts as a hang.
const CELL_LIMIT: Duration = Duration::from_secs(60);
/// Padding that takes a body over the 32 MiB cap.
const OVERSIZED_PAD: u64 = (32 << 20) + 4096;
/// The page token of the paging faults.
const TOKEN: &str = "cloudscan-fault-token";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    AccessDenied,
    Throttled,
    ServerError,
    Malformed,
    Truncated,
    RepeatedToken,
    MissingField,
    Oversized,
    Slow,
    Reset,
}

const FAULTS: [(Fault, &str); 10] = [
    (Fault::AccessDenied, "access denied"),
    (Fault::Throttled, "throttled past retries"),
    (Fault::ServerError, "5xx"),
    (Fault::Malformed, "malformed body"),
    (Fault::Truncated, "truncated page"),
    (Fault::RepeatedToken, "repeated page token"),
    (Fault::MissingField, "missing field"),
    (Fault::Oversized, "oversized body"),
    (Fault::Slow, "slower than the time-out"),
    (Fault::Reset, "connection reset"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cloud {
    Aws,
    Gcp,
    Azure,
}

impl Cloud {
    fn name(self) -> &'static str {
        match self {
            Cloud::Aws => "aws",
            Cloud::Gcp => "gcp",
            Cloud::Azure => "azure",
        }
    }
}

/// The wire protocol of an operation: how its errors and pages look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    /// AWS query protocol (IAM, STS): XML.
    Query,
    /// The EC2 query protocol: XML with its own error shape.
    Ec2,
    /// AWS REST-JSON (EKS): the error type in a header.
    RestJson,
    /// AWS JSON 1.1 (KMS, CloudTrail): the error type in `__type`.
    AwsJson,
    Google,
    Arm,
}

/// How a listing chains its pages.
#[derive(Debug, Clone, Copy)]
enum Paging {
    /// IAM: `<IsTruncated>true</IsTruncated><Marker>` and the `Marker` parameter.
    IamMarker,
    /// EC2: `<nextToken>` and the `NextToken` parameter.
    Ec2Token,
    /// A JSON field with the token, and the query parameter it goes back in.
    JsonToken {
        field: &'static str,
        param: &'static str,
    },
    /// ARM: an absolute `nextLink`.
    ArmLink,
}

/// How to take away the field a collector needs.
#[derive(Debug, Clone, Copy)]
enum Missing {
    /// Remove these keys from the JSON body, at any depth.
    Keys(&'static [&'static str]),
    /// Remove these XML elements (with their content) from the body.
    Elements(&'static [&'static str]),
    /// The cell does not apply, and why.
    NotApplicable(&'static str),
}

#[derive(Debug, Clone, Copy)]
struct Op {
    cloud: Cloud,
    service: &'static str,
    operation: &'static str,
    proto: Proto,
    paging: Option<Paging>,
    missing: Missing,
    /// The scan stops on this call by design (it establishes who or what is scanned).
    fatal: Option<&'static str>,
    /// The bundled recording does not call it, and why.
    not_recorded: Option<&'static str>,
    /// The recording and flags its cells replay, when not the cloud's `insecure` scenario (the
    /// calls that only an estate scan makes).
    recording: Option<Recording>,
    /// Break only the exchanges whose request mentions this (a node of an estate listing), so
    /// the scopes found elsewhere are still scanned; `None` breaks every exchange of the call.
    target: Option<&'static str>,
}

/// A bundled recording and the flags of the scan that replays it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Recording {
    /// The folder below `mocks/`.
    dir: &'static str,
    /// The scan's flags, as `cloudscan <cloud>` takes them (see [`scan_options`]).
    flags: &'static [&'static str],
}

impl Recording {
    fn path(&self) -> PathBuf {
        repo().join("mocks").join(self.dir)
    }

    /// How the table names it: `mocks/gcp/organization` with `--organization 555000000001`.
    fn describe(&self) -> String {
        if self.flags.is_empty() {
            format!("`mocks/{}`", self.dir)
        } else {
            format!("`mocks/{}` with `{}`", self.dir, self.flags.join(" "))
        }
    }
}

/// The GCP organization of `tests/gcp_estate.rs`: two folder levels, a paged `folders.list`, one
/// folder whose `folders.list` is denied (so the unbroken replay is already incomplete there).
const GCP_ORGANIZATION: Recording = Recording {
    dir: "gcp/organization",
    flags: &["--organization", "555000000001"],
};

/// The management groups of `tests/azure_estate.rs` that can be read: a paged descendants list
/// (a child group's subscription on page two) and a disabled subscription (reported, not scanned,
/// so the unbroken replay is already incomplete there).
const AZURE_MANAGEMENT_GROUP: Recording = Recording {
    dir: "azure/management-group",
    flags: &["--management-group", "mg-platform,mg-workloads"],
};

const fn op(
    cloud: Cloud,
    service: &'static str,
    operation: &'static str,
    proto: Proto,
    paging: Option<Paging>,
    missing: Missing,
) -> Op {
    Op {
        cloud,
        service,
        operation,
        proto,
        paging,
        missing,
        fatal: None,
        not_recorded: None,
        recording: None,
        target: None,
    }
}

impl Op {
    /// How the coverage names the call.
    fn label(&self) -> String {
        match self.cloud {
            Cloud::Aws => format!("{}:{}", self.service, self.operation),
            _ => format!("{} {}", self.service, self.operation),
        }
    }

    fn row(&self) -> String {
        match self.recording {
            None => format!("{} `{}`", self.cloud.name(), self.label()),
            Some(r) => format!(
                "{} `{}` on `{}`{}",
                self.cloud.name(),
                self.label(),
                r.dir,
                self.target
                    .map(|t| format!(" (`{t}` only)"))
                    .unwrap_or_default()
            ),
        }
    }

    /// The recording its cells break.
    fn recording(&self) -> Recording {
        self.recording.unwrap_or(insecure(self.cloud))
    }
}

use Cloud::{Aws, Azure, Gcp};
use Proto::{Arm, AwsJson, Ec2, Google, Query, RestJson};

const EKS_TOKEN: Paging = Paging::JsonToken {
    field: "nextToken",
    param: "nextToken",
};
const GOOGLE_TOKEN: Paging = Paging::JsonToken {
    field: "nextPageToken",
    param: "pageToken",
};

/// Every collector of every cloud: AWS from `providers/aws/src/collect.rs`, GCP and Azure from
/// their `operations.rs` (a test below checks that both tables are covered).
fn operations() -> Vec<Op> {
    let mut ops = vec![
        Op {
            fatal: Some("the account id comes from it: the scan stops with exit 2 and says why"),
            ..op(
                Aws,
                "sts",
                "GetCallerIdentity",
                Query,
                None,
                Missing::Elements(&["Account"]),
            )
        },
        Op {
            not_recorded: Some(
                "called only when no region is given; the recording names its regions",
            ),
            ..op(
                Aws,
                "ec2",
                "DescribeRegions",
                Ec2,
                None,
                Missing::NotApplicable(""),
            )
        },
        op(
            Aws,
            "iam",
            "GetAccountAuthorizationDetails",
            Query,
            Some(Paging::IamMarker),
            Missing::Elements(&["Arn"]),
        ),
        op(
            Aws,
            "iam",
            "GetPolicy",
            Query,
            None,
            Missing::Elements(&["DefaultVersionId"]),
        ),
        op(
            Aws,
            "iam",
            "GetPolicyVersion",
            Query,
            None,
            Missing::Elements(&["Document"]),
        ),
        op(
            Aws,
            "iam",
            "ListOpenIDConnectProviders",
            Query,
            None,
            Missing::Elements(&["Arn"]),
        ),
        op(
            Aws,
            "iam",
            "GetOpenIDConnectProvider",
            Query,
            None,
            Missing::NotApplicable(
                "the issuer URL is also in the provider ARN, which the collector falls back to",
            ),
        ),
        op(
            Aws,
            "eks",
            "ListClusters",
            RestJson,
            Some(EKS_TOKEN),
            Missing::NotApplicable("an absent list is how an empty one reads"),
        ),
        op(
            Aws,
            "eks",
            "DescribeCluster",
            RestJson,
            None,
            Missing::Keys(&["cluster"]),
        ),
        op(
            Aws,
            "eks",
            "ListNodegroups",
            RestJson,
            Some(EKS_TOKEN),
            Missing::NotApplicable("an absent list is how an empty one reads"),
        ),
        op(
            Aws,
            "eks",
            "DescribeNodegroup",
            RestJson,
            None,
            Missing::Keys(&["nodegroup"]),
        ),
        op(
            Aws,
            "eks",
            "ListPodIdentityAssociations",
            RestJson,
            Some(EKS_TOKEN),
            Missing::NotApplicable("an absent list is how an empty one reads"),
        ),
        op(
            Aws,
            "eks",
            "DescribePodIdentityAssociation",
            RestJson,
            None,
            Missing::Keys(&["association"]),
        ),
        op(
            Aws,
            "eks",
            "ListAccessEntries",
            RestJson,
            Some(EKS_TOKEN),
            Missing::NotApplicable("an absent list is how an empty one reads"),
        ),
        op(
            Aws,
            "eks",
            "DescribeAccessEntry",
            RestJson,
            None,
            Missing::Keys(&["accessEntry"]),
        ),
        op(
            Aws,
            "ec2",
            "DescribeInstances",
            Ec2,
            Some(Paging::Ec2Token),
            Missing::Elements(&["instanceId"]),
        ),
        op(
            Aws,
            "ec2",
            "DescribeVolumes",
            Ec2,
            Some(Paging::Ec2Token),
            Missing::Elements(&["volumeId"]),
        ),
        op(
            Aws,
            "ec2",
            "GetEbsEncryptionByDefault",
            Ec2,
            None,
            Missing::Elements(&["ebsEncryptionByDefault"]),
        ),
        op(
            Aws,
            "ec2",
            "DescribeLaunchTemplateVersions",
            Ec2,
            None,
            Missing::Elements(&["launchTemplateVersionSet"]),
        ),
        op(
            Aws,
            "kms",
            "DescribeKey",
            AwsJson,
            None,
            Missing::Keys(&["KeyMetadata"]),
        ),
        op(
            Aws,
            "cloudtrail",
            "DescribeTrails",
            AwsJson,
            None,
            Missing::Keys(&["trailList"]),
        ),
        op(
            Aws,
            "cloudtrail",
            "GetTrailStatus",
            AwsJson,
            None,
            Missing::Keys(&["IsLogging"]),
        ),
        op(
            Aws,
            "cloudtrail",
            "GetEventSelectors",
            AwsJson,
            None,
            Missing::Keys(&["EventSelectors", "AdvancedEventSelectors"]),
        ),
        // GCP
        op(
            Gcp,
            "cloudresourcemanager",
            "projects.get",
            Google,
            None,
            Missing::Keys(&["name"]),
        ),
        Op {
            not_recorded: Some("`--all-projects` only; the recording names its project"),
            ..op(
                Gcp,
                "cloudresourcemanager",
                "projects.search",
                Google,
                Some(GOOGLE_TOKEN),
                Missing::NotApplicable(""),
            )
        },
        // Made only by `--organization` / `--folder` scans.
        Op {
            recording: Some(GCP_ORGANIZATION),
            ..op(
                Gcp,
                "cloudresourcemanager",
                "folders.list",
                Google,
                Some(GOOGLE_TOKEN),
                Missing::Keys(&["name"]),
            )
        },
        // One folder's projects: the organization's and the other folders' are still scanned.
        Op {
            recording: Some(GCP_ORGANIZATION),
            target: Some("folders/410000000003"),
            ..op(
                Gcp,
                "cloudresourcemanager",
                "projects.list",
                Google,
                Some(GOOGLE_TOKEN),
                Missing::Keys(&["projectId"]),
            )
        },
        op(
            Gcp,
            "cloudresourcemanager",
            "projects.getIamPolicy",
            Google,
            None,
            Missing::NotApplicable(
                "a policy without bindings is an empty policy (proto3 JSON omits empty lists)",
            ),
        ),
        op(
            Gcp,
            "cloudresourcemanager",
            "folders.get",
            Google,
            None,
            Missing::Keys(&["name"]),
        ),
        op(
            Gcp,
            "cloudresourcemanager",
            "folders.getIamPolicy",
            Google,
            None,
            Missing::NotApplicable(
                "a policy without bindings is an empty policy (proto3 JSON omits empty lists)",
            ),
        ),
        op(
            Gcp,
            "cloudresourcemanager",
            "organizations.getIamPolicy",
            Google,
            None,
            Missing::NotApplicable(
                "a policy without bindings is an empty policy (proto3 JSON omits empty lists)",
            ),
        ),
        op(
            Gcp,
            "container",
            "projects.locations.clusters.list",
            Google,
            None,
            Missing::Keys(&["name"]),
        ),
        op(
            Gcp,
            "iam",
            "projects.serviceAccounts.list",
            Google,
            Some(GOOGLE_TOKEN),
            Missing::Keys(&["name"]),
        ),
        op(
            Gcp,
            "iam",
            "projects.serviceAccounts.getIamPolicy",
            Google,
            None,
            Missing::NotApplicable(
                "a policy without bindings is an empty policy (proto3 JSON omits empty lists)",
            ),
        ),
        op(
            Gcp,
            "iam",
            "roles.get",
            Google,
            None,
            Missing::Keys(&["name"]),
        ),
        op(
            Gcp,
            "iam",
            "projects.roles.get",
            Google,
            None,
            Missing::Keys(&["name"]),
        ),
        Op {
            not_recorded: Some("no organization-level custom role is bound in the recording"),
            ..op(
                Gcp,
                "iam",
                "organizations.roles.get",
                Google,
                None,
                Missing::NotApplicable(""),
            )
        },
        op(
            Gcp,
            "compute",
            "disks.aggregatedList",
            Google,
            Some(GOOGLE_TOKEN),
            Missing::Keys(&["name"]),
        ),
        // Azure
        Op {
            not_recorded: Some("`--all-subscriptions` only; the recording names its subscription"),
            ..op(
                Azure,
                "resources",
                "subscriptions.list",
                Arm,
                Some(Paging::ArmLink),
                Missing::NotApplicable(""),
            )
        },
        // Made only by `--management-group` scans.
        // One group (the paged one): the other group's subscriptions are still scanned. The
        // field is `type`: it alone tells a subscription from a group.
        Op {
            recording: Some(AZURE_MANAGEMENT_GROUP),
            target: Some("mg-workloads"),
            ..op(
                Azure,
                "management",
                "descendants.list",
                Arm,
                Some(Paging::ArmLink),
                Missing::Keys(&["type"]),
            )
        },
        Op {
            recording: Some(AZURE_MANAGEMENT_GROUP),
            ..op(
                Azure,
                "resources",
                "subscriptions.get",
                Arm,
                None,
                Missing::Keys(&["id"]),
            )
        },
        op(
            Azure,
            "containerservice",
            "managedClusters.list",
            Arm,
            Some(Paging::ArmLink),
            Missing::Keys(&["id"]),
        ),
        op(
            Azure,
            "authorization",
            "roleAssignments.list",
            Arm,
            Some(Paging::ArmLink),
            Missing::Keys(&["id"]),
        ),
        op(
            Azure,
            "authorization",
            "denyAssignments.list",
            Arm,
            Some(Paging::ArmLink),
            Missing::NotApplicable("the recording lists no deny assignment"),
        ),
        op(
            Azure,
            "authorization",
            "roleDefinitions.get",
            Arm,
            None,
            Missing::Keys(&["id"]),
        ),
        op(
            Azure,
            "managedidentity",
            "userAssignedIdentities.list",
            Arm,
            Some(Paging::ArmLink),
            Missing::Keys(&["id"]),
        ),
        op(
            Azure,
            "managedidentity",
            "federatedIdentityCredentials.list",
            Arm,
            Some(Paging::ArmLink),
            Missing::Keys(&["id"]),
        ),
        op(
            Azure,
            "insights",
            "diagnosticSettings.list",
            Arm,
            Some(Paging::ArmLink),
            Missing::Keys(&["id"]),
        ),
        op(
            Azure,
            "compute",
            "diskEncryptionSets.get",
            Arm,
            None,
            Missing::Keys(&["id"]),
        ),
    ];
    ops.sort_by_key(|o| (o.cloud as u8, o.service, o.operation));
    ops
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled single-scope recording of a cloud, replayed with the flags it names itself.
fn insecure(cloud: Cloud) -> Recording {
    Recording {
        dir: match cloud {
            Cloud::Aws => "aws/insecure",
            Cloud::Gcp => "gcp/insecure",
            Cloud::Azure => "azure/insecure",
        },
        flags: &[],
    }
}

fn scenario(cloud: Cloud) -> PathBuf {
    insecure(cloud).path()
}

// ---------------------------------------------------------------------------------------------
// Building a cell

fn error_response(proto: Proto, fault: Fault) -> Value {
    let (status, code, message) = match (proto, fault) {
        (Google, Fault::AccessDenied) => (
            403,
            "PERMISSION_DENIED",
            "The caller does not have permission",
        ),
        (Google, Fault::Throttled) => (429, "RESOURCE_EXHAUSTED", "Quota exceeded"),
        (Google, _) => (503, "UNAVAILABLE", "The service is currently unavailable"),
        (Arm, Fault::AccessDenied) => (
            403,
            "AuthorizationFailed",
            "The client does not have authorization",
        ),
        (Arm, Fault::Throttled) => (429, "TooManyRequests", "Too many requests"),
        (Arm, _) => (503, "ServiceUnavailable", "The service is unavailable"),
        (Ec2, Fault::AccessDenied) => (
            403,
            "UnauthorizedOperation",
            "You are not authorized to perform this operation",
        ),
        (Ec2, Fault::Throttled) => (503, "RequestLimitExceeded", "Request limit exceeded"),
        (Ec2, _) => (500, "InternalError", "An internal error has occurred"),
        (Query, Fault::AccessDenied) | (RestJson, Fault::AccessDenied) => (
            403,
            "AccessDenied",
            "User is not authorized to perform this action",
        ),
        (AwsJson, Fault::AccessDenied) => (
            400,
            "AccessDeniedException",
            "User is not authorized to perform this action",
        ),
        (Query, Fault::Throttled) => (400, "Throttling", "Rate exceeded"),
        (RestJson, Fault::Throttled) | (AwsJson, Fault::Throttled) => {
            (429, "ThrottlingException", "Rate exceeded")
        }
        (_, _) => (500, "InternalFailure", "The request processing has failed"),
    };
    let code = if proto == RestJson && fault == Fault::AccessDenied {
        "AccessDeniedException"
    } else {
        code
    };
    match proto {
        Google => {
            json!({"status": status, "headers": {"content-type": "application/json; charset=UTF-8"},
            "json": {"error": {"code": status, "message": message, "status": code}}})
        }
        Arm => {
            json!({"status": status, "headers": {"content-type": "application/json; charset=utf-8"},
            "json": {"error": {"code": code, "message": message}}})
        }
        Query => json!({"status": status, "headers": {"content-type": "text/xml"},
            "body": format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>")}),
        Ec2 => json!({"status": status, "headers": {"content-type": "text/xml"},
            "body": format!("<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>fault</RequestID></Response>")}),
        RestJson => {
            json!({"status": status, "headers": {"content-type": "application/json", "x-amzn-errortype": code},
            "json": {"message": message}})
        }
        AwsJson => {
            json!({"status": status, "headers": {"content-type": "application/x-amz-json-1.1"},
            "json": {"__type": code, "message": message}})
        }
    }
}

/// The body of a recorded response as text.
fn body_text(response: &Value) -> String {
    match (response.get("json"), response.get("body")) {
        (Some(json), _) if !json.is_null() => json.to_string(),
        (_, Some(Value::String(text))) => text.clone(),
        _ => String::new(),
    }
}

/// A 200 response with this body text.
fn text_response(like: &Value, text: String) -> Value {
    let mut out = json!({"status": 200, "headers": like.get("headers").cloned().unwrap_or(json!({})), "body": text});
    if let Some(h) = out["headers"].as_object_mut() {
        h.remove("content-length");
    }
    out
}

/// The first half of the body, cut inside it.
fn cut(text: &str) -> String {
    text.chars().take(text.chars().count() / 2).collect()
}

fn remove_keys(value: &mut Value, keys: &[&str]) {
    match value {
        Value::Object(map) => {
            for k in keys {
                map.remove(*k);
            }
            for v in map.values_mut() {
                remove_keys(v, keys);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| remove_keys(v, keys)),
        _ => {}
    }
}

fn remove_elements(text: &str, names: &[&str]) -> String {
    let mut out = text.to_string();
    for name in names {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        while let Some(start) = out.find(&open) {
            let Some(end) = out[start..].find(&close) else {
                break;
            };
            out.replace_range(start..start + end + close.len(), "");
        }
        out = out.replace(&format!("<{name}/>"), "");
    }
    out
}

/// A page that says more follows, with `token`.
fn with_token(page: &Value, paging: Paging, token: &str, request: &Value) -> Value {
    let mut page = page.clone();
    match paging {
        Paging::IamMarker => {
            let text = body_text(&page).replace(
                "<IsTruncated>false</IsTruncated>",
                &format!("<IsTruncated>true</IsTruncated><Marker>{token}</Marker>"),
            );
            page["body"] = json!(text);
        }
        Paging::Ec2Token => {
            let text = body_text(&page);
            let at = text.rfind("</").unwrap_or(text.len());
            let text = format!(
                "{}<nextToken>{token}</nextToken>{}",
                &text[..at],
                &text[at..]
            );
            page["body"] = json!(text);
        }
        Paging::JsonToken { field, .. } => {
            page["json"][field] = json!(token);
        }
        Paging::ArmLink => {
            let path = request["path"].as_str().unwrap_or("");
            let version = request["params"]["api-version"].as_str().unwrap_or("");
            page["json"]["nextLink"] = json!(format!(
                "https://management.azure.com{path}?api-version={version}&$skipToken={token}"
            ));
        }
    }
    page
}

/// The request of the page after a page that carried `token`.
fn next_request(request: &Value, paging: Paging, token: &str) -> Value {
    let mut next = request.clone();
    let param = match paging {
        Paging::IamMarker => "Marker",
        Paging::Ec2Token => "NextToken",
        Paging::JsonToken { param, .. } => param,
        Paging::ArmLink => "$skipToken",
    };
    next["params"][param] = json!(token);
    next
}

fn token_param(paging: Paging) -> &'static str {
    match paging {
        Paging::IamMarker => "Marker",
        Paging::Ec2Token => "NextToken",
        Paging::JsonToken { param, .. } => param,
        Paging::ArmLink => "$skipToken",
    }
}

/// Cells that still go wrong, each with why: the matrix shows them as `GAP`, and the test fails
/// when one of them starts to pass (remove it here) or another cell goes wrong.
const KNOWN_GAPS: &[(&str, Fault, &str)] = &[];

fn known_gap(op: &Op, fault: Fault) -> Option<&'static str> {
    KNOWN_GAPS
        .iter()
        .find(|(label, f, _)| *label == op.label() && *f == fault)
        .map(|(_, _, why)| *why)
}

/// Why a cell does not apply, if it does not.
fn not_applicable(op: &Op, fault: Fault) -> Option<String> {
    if let Some(why) = op.not_recorded {
        return Some(why.to_string());
    }
    match fault {
        Fault::RepeatedToken if op.paging.is_none() => Some("not paginated".to_string()),
        Fault::MissingField => match op.missing {
            Missing::NotApplicable(why) => Some(why.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// Writes the fault of a cell into the copy of the recording; returns how many exchanges of the
/// operation it changed.
fn apply(dir: &Path, op: &Op, fault: Fault) -> usize {
    let mut changed = 0;
    let mut extra: Vec<Value> = Vec::new();
    for file in exchange_files(dir) {
        let text = std::fs::read_to_string(&file).expect("read exchange");
        let mut exchange: Value = serde_json::from_str(&text).expect("exchange JSON");
        let request = exchange["request"].clone();
        if request["service"] != op.service || request["operation"] != op.operation {
            continue;
        }
        if op.target.is_some_and(|t| !request.to_string().contains(t)) {
            continue;
        }
        let first = exchange["responses"][0].clone();
        // ARM spells the parameter `$skipToken` or `$skiptoken`.
        let paging_first = op.paging.filter(|p| {
            request["params"].as_object().is_none_or(|params| {
                !params
                    .keys()
                    .any(|k| k.eq_ignore_ascii_case(token_param(*p)))
            })
        });
        let responses = match fault {
            Fault::AccessDenied | Fault::Throttled | Fault::ServerError => {
                json!([error_response(op.proto, fault)])
            }
            Fault::Malformed => {
                json!([text_response(
                    &first,
                    "proxy error: upstream connect error or disconnect/reset before headers"
                        .to_string()
                )])
            }
            Fault::Truncated => match paging_first {
                Some(paging) => {
                    let cut_page = text_response(&first, cut(&body_text(&first)));
                    extra.push(json!({"request": next_request(&request, paging, TOKEN), "responses": [cut_page]}));
                    json!([with_token(&first, paging, TOKEN, &request)])
                }
                None if op.paging.is_some() => continue,
                None => json!([text_response(&first, cut(&body_text(&first)))]),
            },
            Fault::RepeatedToken => match paging_first {
                Some(paging) => {
                    let page = with_token(&first, paging, TOKEN, &request);
                    extra.push(json!({"request": next_request(&request, paging, TOKEN), "responses": [page.clone()]}));
                    json!([page])
                }
                None => continue,
            },
            Fault::MissingField => {
                let mut response = first.clone();
                match op.missing {
                    Missing::Keys(keys) => {
                        if response.get("json").is_some_and(|j| !j.is_null()) {
                            remove_keys(&mut response["json"], keys);
                        } else if let Ok(mut parsed) =
                            serde_json::from_str::<Value>(&body_text(&first))
                        {
                            // JSON recorded as text (served with a non-JSON content type).
                            remove_keys(&mut parsed, keys);
                            response["body"] = json!(parsed.to_string());
                        }
                    }
                    Missing::Elements(names) => {
                        response["body"] = json!(remove_elements(&body_text(&first), names));
                    }
                    Missing::NotApplicable(_) => {}
                }
                json!([response])
            }
            Fault::Oversized | Fault::Slow | Fault::Reset => {
                let injected = match fault {
                    Fault::Oversized => json!({"pad_bytes": OVERSIZED_PAD}),
                    Fault::Slow => json!({"delay_ms": SLOW_MS}),
                    _ => json!("reset"),
                };
                let mut responses = exchange["responses"].clone();
                if let Some(list) = responses.as_array_mut() {
                    for r in list {
                        r["fault"] = injected.clone();
                    }
                }
                responses
            }
        };
        exchange["responses"] = responses;
        std::fs::write(&file, exchange.to_string()).expect("write exchange");
        changed += 1;
    }
    for (i, exchange) in extra.iter().enumerate() {
        let folder = dir.join("exchanges").join("fault");
        std::fs::create_dir_all(&folder).expect("mkdir");
        std::fs::write(folder.join(format!("page-{i}.json")), exchange.to_string())
            .expect("write page");
    }
    changed
}

// ---------------------------------------------------------------------------------------------
// Running a cell

type Outcome = Result<Inventory, String>;

/// The scope flags of a recording, as the adapter's options: each flag and its value (comma
/// lists split, as the CLI does). A flag the matrix does not know is an error, so a row cannot
/// silently replay a different scan than it names. An AWS Organizations row would map
/// `--organization` / `--member-role` onto `cloudscan_aws::ScanOptions::organization` here.
#[derive(Debug, Default)]
struct ScopeFlags {
    organizations: Vec<String>,
    folders: Vec<String>,
    management_groups: Vec<String>,
}

fn scope_flags(cloud: Cloud, flags: &[&str]) -> Result<ScopeFlags, String> {
    let mut out = ScopeFlags::default();
    let mut rest = flags.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or_else(|| format!("{flag} has no value"))?;
        let values = value.split(',').map(str::to_string);
        match (cloud, *flag) {
            (Cloud::Gcp, "--organization") => out.organizations.extend(values),
            (Cloud::Gcp, "--folder") => out.folders.extend(values),
            (Cloud::Azure, "--management-group") => out.management_groups.extend(values),
            _ => {
                return Err(format!(
                    "the fault matrix does not map `{} {flag}` onto scan options",
                    cloud.name()
                ))
            }
        }
    }
    Ok(out)
}

async fn scan(cloud: Cloud, dir: &Path, flags: &[&str], timeout: Option<Duration>) -> Outcome {
    let scope = scope_flags(cloud, flags)?;
    let collect = cloudscan_collect::scan::CollectOptions {
        replay: Some(dir.to_path_buf()),
        concurrency: 4,
        max_attempts: 3,
        call_timeout: timeout,
        ..Default::default()
    };
    let quiet = cloudscan_collect::scan::quiet();
    match cloud {
        Cloud::Aws => cloudscan_aws::scan(
            &cloudscan_aws::ScanOptions {
                collect,
                ..Default::default()
            },
            quiet,
        )
        .await
        .map(|o| o.inventory)
        .map_err(|e| e.to_string()),
        Cloud::Gcp => cloudscan_gcp::scan(
            &cloudscan_gcp::ScanOptions {
                organizations: scope.organizations,
                folders: scope.folders,
                collect,
                ..Default::default()
            },
            quiet,
        )
        .await
        .map(|o| o.inventory)
        .map_err(|e| e.to_string()),
        Cloud::Azure => cloudscan_azure::scan(
            &cloudscan_azure::ScanOptions {
                management_groups: scope.management_groups,
                collect,
                ..Default::default()
            },
            quiet,
        )
        .await
        .map(|o| o.inventory)
        .map_err(|e| e.to_string()),
    }
}

/// A coverage entry that is not complete, as compared with the unbroken replay's.
/// (scope, service, region, status, detail).
type Gap = (String, String, String, String, Option<String>);

fn gaps(inventory: &Inventory) -> BTreeSet<Gap> {
    inventory
        .coverage
        .iter()
        .filter(|c| c.status != CoverageStatus::Complete)
        .map(|c| {
            (
                c.scope.clone(),
                c.service.clone(),
                c.region.clone(),
                format!("{:?}", c.status).to_lowercase(),
                c.detail.clone(),
            )
        })
        .collect()
}

/// What a cell showed, and whether that is what a scan must do.
#[derive(Debug, Clone)]
struct Cell {
    text: String,
    ok: bool,
    detail: String,
}

const KINDS: [&str; 10] = [
    "access denied",
    "API not available",
    "throttled (retries exhausted)",
    "not found",
    "malformed response",
    "credentials error",
    "server error (retries exhausted)",
    "network error",
    "not in the recording",
    "error",
];

/// The failure words right after the call's name in a coverage detail.
fn kind_after(detail: &str, label: &str) -> Option<&'static str> {
    let at = detail.find(label)?;
    let rest = &detail[at + label.len()..];
    // Skip the target in parentheses, if any: `op (target): kind`.
    let rest = rest.split_once(": ").map(|(_, r)| r).unwrap_or(rest);
    KINDS.iter().copied().find(|k| rest.starts_with(k))
}

/// Judges a cell against the unbroken replay of its recording (`baseline`: its incomplete
/// entries). An entry counts only when its scope, service and region were not already incomplete
/// there, so a reworded baseline gap cannot stand in for the fault's.
fn judge(
    op: &Op,
    fault: Fault,
    outcome: Option<Result<Outcome, String>>,
    baseline: &BTreeSet<Gap>,
) -> Cell {
    let bad = |text: &str, detail: String| Cell {
        text: text.to_string(),
        ok: false,
        detail,
    };
    let outcome = match outcome {
        None => return bad("HANG", format!("no result within {CELL_LIMIT:?}")),
        Some(Err(panic)) => return bad("PANIC", panic),
        Some(Ok(o)) => o,
    };
    let inventory = match outcome {
        Err(e) => {
            return match op.fatal {
                Some(_) if e.contains(&op.label()) => Cell {
                    text: "stops (exit 2)".to_string(),
                    ok: true,
                    detail: e,
                },
                _ => bad("FATAL", e),
            }
        }
        Ok(inv) => inv,
    };
    let label = op.label();
    let known: BTreeSet<(&str, &str, &str)> = baseline
        .iter()
        .map(|(scope, service, region, ..)| (scope.as_str(), service.as_str(), region.as_str()))
        .collect();
    let new: Vec<&cloudscan_inventory::Coverage> = inventory
        .coverage
        .iter()
        .filter(|c| c.status != CoverageStatus::Complete)
        .filter(|c| !known.contains(&(c.scope.as_str(), c.service.as_str(), c.region.as_str())))
        .collect();
    let naming: Vec<&&cloudscan_inventory::Coverage> = new
        .iter()
        .filter(|c| c.detail.as_deref().is_some_and(|d| d.contains(&label)))
        .collect();
    let complete = inventory
        .coverage
        .iter()
        .filter(|c| c.status == CoverageStatus::Complete)
        .count();
    let all = format!("{:?}", inventory.coverage);
    if new.is_empty() {
        let what = if baseline.is_empty() {
            "every coverage entry is complete"
        } else {
            "no coverage entry is incomplete beyond the unbroken replay's"
        };
        return bad("SILENT", format!("{what}: {all}"));
    }
    let Some(entry) = naming.first() else {
        return bad("UNNAMED", all);
    };
    // A slow cell shortens every call's time-out: on a loaded machine other calls may miss it too.
    if complete == 0 && fault != Fault::Slow {
        return bad("NOTHING ELSE", all);
    }
    let detail = entry.detail.clone().unwrap_or_default();
    let kind = kind_after(&detail, &label).unwrap_or("?");
    let status = match entry.status {
        CoverageStatus::Partial => "partial",
        CoverageStatus::Unsupported => "unsupported",
        _ => "failed",
    };
    Cell {
        text: format!("{status}: {kind}"),
        ok: kind != "?",
        detail,
    }
}

async fn run_cell(op: Op, fault: Fault, baseline: Arc<BTreeSet<Gap>>) -> Cell {
    let started = std::time::Instant::now();
    let cell = run_cell_inner(op, fault, &baseline).await;
    if started.elapsed() > Duration::from_secs(10) {
        eprintln!(
            "slow cell: {} × {fault:?}: {:?}",
            op.row(),
            started.elapsed()
        );
    }
    cell
}

async fn run_cell_inner(op: Op, fault: Fault, baseline: &BTreeSet<Gap>) -> Cell {
    let dir = tempfile::tempdir().expect("tempdir");
    let recording = op.recording();
    copy_dir(&recording.path(), dir.path()).expect("copy recording");
    let changed = apply(dir.path(), &op, fault);
    if changed == 0 {
        return Cell {
            text: "NOT BUILT".to_string(),
            ok: false,
            detail: format!("no exchange of {} in the recording", op.label()),
        };
    }
    let timeout = (fault == Fault::Slow).then_some(SHORT_TIMEOUT);
    let path = dir.path().to_path_buf();
    let task = tokio::spawn(async move { scan(op.cloud, &path, recording.flags, timeout).await });
    let outcome = match tokio::time::timeout(CELL_LIMIT, task).await {
        Err(_) => None,
        Ok(Err(join)) => Some(Err(format!("{join}"))),
        Ok(Ok(o)) => Some(Ok(o)),
    };
    judge(&op, fault, outcome, baseline)
}

// ---------------------------------------------------------------------------------------------
// The table

fn render(
    ops: &[Op],
    cells: &[(usize, usize, Cell)],
    baselines: &BTreeMap<Recording, Arc<BTreeSet<Gap>>>,
) -> String {
    let mut out = String::new();
    out.push_str("# Fault matrix\n\n");
    out.push_str(
        "Generated by `tests/fault_matrix.rs` (`UPDATE_FAULT_MATRIX=1 cargo test --test fault_matrix` \
rewrites it; the test fails when this file differs from what it generated).\n\n\
Each cell copies the bundled recording of its cloud (`mocks/<cloud>/insecure`, or for a call \
only an estate scan makes, the estate recording its row names `on`), breaks every response of \
one operation in one way and replays the copy through the real adapter: AWS through its SDK \
connector, GCP and Azure through the loopback replay server and the real HTTP client. A cell \
is correct when the scan finishes (no panic, no hang), its coverage is incomplete (the CLI \
exits 3) with an entry that names the failed call, and other services were still read \
completely. The cell shows the status of that coverage entry and the failure it reports.\n\n\
Faults: *access denied* (HTTP 403 / the cloud's denial code), *throttled past retries* (every \
attempt throttled), *5xx* (every attempt a server error), *malformed body* (a 200 that is \
neither JSON nor XML), *truncated page* (a listing's page claims more, and the next page is \
cut off mid-body; for a call that does not page, its body is cut off), *repeated page token* \
(the next page carries the token that led to it), *missing field* (the field the collector \
reads the answer from is absent), *oversized body* (over the 32 MiB cap; padding added by the \
replay at run time), *slower than the time-out* (the answer comes 30 s late; call time-out \
2 s), *connection reset* (the replay resets the connection). Replays use 3 attempts per \
call.\n\n",
    );
    out.push_str("| collector |");
    for (_, name) in FAULTS {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n| --- |");
    for _ in FAULTS {
        out.push_str(" --- |");
    }
    out.push('\n');
    let mut notes: Vec<String> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        out.push_str(&format!("| {} |", op.row()));
        for (j, (fault, _)) in FAULTS.iter().enumerate() {
            let text = match not_applicable(op, *fault) {
                Some(why) => {
                    let note = why;
                    let n = match notes.iter().position(|x| *x == note) {
                        Some(n) => n,
                        None => {
                            notes.push(note);
                            notes.len() - 1
                        }
                    };
                    format!("n/a ({})", n + 1)
                }
                None => cells
                    .iter()
                    .find(|(a, b, _)| *a == i && *b == j)
                    .map(|(_, _, c)| c.text.clone())
                    .unwrap_or_else(|| "?".to_string()),
            };
            out.push_str(&format!(" {text} |"));
        }
        out.push('\n');
    }
    let estate: Vec<(&Recording, &Arc<BTreeSet<Gap>>)> = baselines
        .iter()
        .filter(|(r, _)| ops.iter().any(|o| o.recording == Some(**r)))
        .collect();
    if !estate.is_empty() {
        out.push_str(
            "\nEstate recordings (a row `on` one of them replays it with its flags; where the \
unbroken replay is itself incomplete, a cell counts only incomplete entries of another scope, \
service or region). A row that names a node (`… only`) breaks the call's exchanges for that \
node alone, so that the scopes found elsewhere are still scanned; the others break it \
everywhere. The missing field of `descendants.list` is `type`, which alone tells a \
subscription from a management group:\n\n",
        );
        for (recording, gaps) in estate {
            let dir = recording.dir;
            out.push_str(&format!("- `{dir}`: {}", recording.describe()));
            if gaps.is_empty() {
                out.push_str("; the unbroken replay is complete.\n");
            } else {
                let listed: Vec<String> = gaps
                    .iter()
                    .map(|(scope, service, _, status, _)| format!("`{scope}` {service} ({status})"))
                    .collect();
                out.push_str(&format!(
                    "; the unbroken replay is incomplete in {}.\n",
                    listed.join(", ")
                ));
            }
        }
    }
    out.push_str("\nNot applicable:\n\n");
    for (n, note) in notes.iter().enumerate() {
        out.push_str(&format!("{}. {note}\n", n + 1));
    }
    let fatal: Vec<String> = ops
        .iter()
        .filter_map(|o| o.fatal.map(|why| format!("- {}: {why}.", o.row())))
        .collect();
    if !fatal.is_empty() {
        out.push_str("\nCalls that stop the scan by design:\n\n");
        out.push_str(&fatal.join("\n"));
        out.push('\n');
    }
    if !KNOWN_GAPS.is_empty() {
        out.push_str(
            "\nKnown gaps (`GAP`: the scan reads the broken answer as a complete one):\n\n",
        );
        for (label, fault, why) in KNOWN_GAPS {
            let name = FAULTS
                .iter()
                .find(|(f, _)| f == fault)
                .map(|(_, n)| *n)
                .unwrap_or("");
            out.push_str(&format!("- `{label}` × {name}: {why}\n"));
        }
    }
    out
}

#[test]
fn every_fault_on_every_collector_is_reported_as_incomplete_coverage() {
    let ops = operations();
    let only = std::env::var("FAULT_MATRIX_ONLY").ok();
    let only_rows = only.is_some();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime");
    let (cells, baselines) = runtime.block_on(async {
        // Every recording a row replays, unbroken: the single-scope ones scan completely, so every
        // incomplete cell is its fault's doing; an estate recording's own gaps are kept and a
        // cell counts only gaps beyond them.
        let mut baselines: BTreeMap<Recording, Arc<BTreeSet<Gap>>> = BTreeMap::new();
        for op in &ops {
            let recording = op.recording();
            if baselines.contains_key(&recording) {
                continue;
            }
            let inv = scan(op.cloud, &recording.path(), recording.flags, None)
                .await
                .unwrap_or_else(|e| panic!("baseline {}: {e}", recording.describe()));
            let gaps = gaps(&inv);
            assert!(
                op.recording.is_some() || gaps.is_empty(),
                "baseline {} is incomplete: {:?}",
                recording.describe(),
                inv.coverage
            );
            assert!(
                inv.coverage
                    .iter()
                    .any(|c| c.status == CoverageStatus::Complete),
                "baseline {} reads nothing completely: {:?}",
                recording.describe(),
                inv.coverage
            );
            baselines.insert(recording, Arc::new(gaps));
        }
        let limit = Arc::new(tokio::sync::Semaphore::new(8));
        let only = only.clone();
        let mut tasks = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            for (j, (fault, _)) in FAULTS.iter().enumerate() {
                if not_applicable(op, *fault).is_some() {
                    continue;
                }
                // FAULT_MATRIX_ONLY=text runs only the rows whose name holds `text` (the table is
                // then neither written nor compared).
                if only.as_deref().is_some_and(|o| !op.row().contains(o)) {
                    continue;
                }
                let (op, fault, limit) = (*op, *fault, limit.clone());
                let baseline = baselines.get(&op.recording()).cloned().unwrap_or_default();
                tasks.push(tokio::spawn(async move {
                    let _permit = limit.acquire_owned().await.ok();
                    (i, j, run_cell(op, fault, baseline).await)
                }));
            }
        }
        let mut cells = Vec::new();
        for task in tasks {
            cells.push(task.await.expect("cell task"));
        }
        (cells, baselines)
    });
    let mut cells = cells;
    let mut fixed = Vec::new();
    for (i, j, cell) in cells.iter_mut() {
        let (op, fault) = (&ops[*i], FAULTS[*j].0);
        match (known_gap(op, fault), cell.ok) {
            (Some(_), false) => {
                cell.text = format!("GAP: {}", cell.text.to_lowercase());
                cell.ok = true;
            }
            (Some(_), true) => fixed.push(format!("{} × {}", op.row(), FAULTS[*j].1)),
            (None, _) => {}
        }
    }
    assert!(
        fixed.is_empty(),
        "known gaps that now pass (remove them from KNOWN_GAPS): {fixed:?}"
    );
    let failures: Vec<String> = cells
        .iter()
        .filter(|(_, _, c)| !c.ok)
        .map(|(i, j, c)| {
            format!(
                "{} × {}: {}: {}",
                ops[*i].row(),
                FAULTS[*j].1,
                c.text,
                c.detail
            )
        })
        .collect();
    if only_rows {
        for (i, j, c) in &cells {
            eprintln!(
                "{} × {}: {} ({})",
                ops[*i].row(),
                FAULTS[*j].1,
                c.text,
                c.detail
            );
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        return;
    }
    let table = render(&ops, &cells, &baselines);
    let doc = repo().join("docs/fault-matrix.md");
    if std::env::var_os("UPDATE_FAULT_MATRIX").is_some() {
        std::fs::write(&doc, &table).expect("write docs/fault-matrix.md");
    }
    assert!(
        failures.is_empty(),
        "{} cell(s) went wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let committed = std::fs::read_to_string(&doc).unwrap_or_default();
    assert!(
        committed == table,
        "docs/fault-matrix.md differs from the matrix this run produced; rerun with \
         UPDATE_FAULT_MATRIX=1 and commit the file:\n{table}"
    );
}

/// The table covers every operation of the GCP and Azure operation tables.
#[test]
fn the_matrix_covers_every_operation_table_entry() {
    let ops = operations();
    for o in cloudscan_gcp::operations::OPERATIONS {
        assert!(
            ops.iter()
                .any(|m| m.cloud == Cloud::Gcp && m.service == o.service && m.operation == o.name),
            "gcp {} {} is not in the fault matrix",
            o.service,
            o.name
        );
    }
    for o in cloudscan_azure::operations::OPERATIONS {
        assert!(
            ops.iter()
                .any(|m| m.cloud == Cloud::Azure
                    && format!("{} {}", m.service, m.operation) == o.name),
            "azure {} is not in the fault matrix",
            o.name
        );
    }
    // AWS: every operation the bundled recording holds is a row.
    for request in cloudscan_collect::testkit::recorded_requests(&scenario(Cloud::Aws))
        .expect("recorded requests")
    {
        assert!(
            ops.iter().any(|m| m.cloud == Cloud::Aws
                && m.service == request.service
                && m.operation == request.operation),
            "aws {} {} is not in the fault matrix",
            request.service,
            request.operation
        );
    }
}
