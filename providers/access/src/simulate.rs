//! The batch simulation contract behind `cloudscan iam simulate --batch FILE`.
//!
//! Input: JSON Lines, one case per line (blank lines skipped):
//!
//! ```json
//! {"identity_policies": [DOC, ...], "permission_boundary": DOC|null,
//!  "scps": [[DOC, ...], ...], "resource_policy": DOC|null, "session_policy": DOC|null,
//!  "request": {"principal": ARN, "action": "svc:Action", "resource": ARN,
//!              "resource_account": "123456789012"|null, "context": {"key": "v" | ["v1", "v2"]}}}
//! ```
//!
//! `DOC` is a policy object or a string holding one (URL-encoded is fine). `scps` holds one list
//! per level of the organization, root first. The context is complete: a key not given is
//! absent. Output: one line per case, in order, `{"decision": "Allowed"|"ImplicitlyDenied"|
//! "ExplicitlyDenied", "reasons": [...]}` or `{"error": "..."}` for an invalid case.

use std::io::{self, BufRead, Write};

use serde_json::{json, Map, Value};

use crate::condition::Context;
use crate::eval::{evaluate, Decision, EvalError, NamedPolicy, PolicySet, Request, ResourceTarget};
use crate::policy::{Policy, PolicyError};

/// Counts of one batch run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Cases read (blank lines excluded).
    pub cases: usize,
    /// Cases answered `Allowed`.
    pub allowed: usize,
    /// Cases answered `ImplicitlyDenied`.
    pub implicitly_denied: usize,
    /// Cases answered `ExplicitlyDenied`.
    pub explicitly_denied: usize,
    /// Invalid cases (answered with `{"error": ...}`).
    pub errors: usize,
}

/// Errors in one case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    /// The line is not JSON.
    #[error("line {line}: invalid JSON: {message}")]
    Json {
        /// 1-based line number.
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// A field is missing or has the wrong type.
    #[error("line {line}: `{field}`: {message}")]
    Field {
        /// 1-based line number.
        line: usize,
        /// The field (JSON pointer).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A policy document is invalid.
    #[error("line {line}: `{field}`: {source}")]
    Policy {
        /// 1-based line number.
        line: usize,
        /// Which document.
        field: String,
        /// The parse error.
        source: PolicyError,
    },
    /// The request cannot be evaluated.
    #[error("line {line}: {source}")]
    Eval {
        /// 1-based line number.
        line: usize,
        /// The evaluation error.
        source: EvalError,
    },
}

/// One parsed case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Identity policies.
    pub identity: Vec<NamedPolicy>,
    /// Permission boundary.
    pub boundary: Option<NamedPolicy>,
    /// SCP levels, root first.
    pub scps: Vec<Vec<NamedPolicy>>,
    /// Resource policy.
    pub resource_policy: Option<NamedPolicy>,
    /// Session policy.
    pub session: Option<NamedPolicy>,
    /// Request principal.
    pub principal: String,
    /// Request action.
    pub action: String,
    /// Request resource.
    pub resource: String,
    /// Resource account, if given.
    pub resource_account: Option<String>,
    /// Complete context.
    pub context: Context,
}

fn field_err(line: usize, field: &str, message: impl Into<String>) -> CaseError {
    CaseError::Field {
        line,
        field: field.to_string(),
        message: message.into(),
    }
}

fn doc(line: usize, field: &str, name: String, v: &Value) -> Result<NamedPolicy, CaseError> {
    Policy::from_value(v)
        .map(|p| NamedPolicy::new(name, p))
        .map_err(|source| CaseError::Policy {
            line,
            field: field.to_string(),
            source,
        })
}

fn opt_doc(
    line: usize,
    obj: &Map<String, Value>,
    key: &str,
    name: &str,
) -> Result<Option<NamedPolicy>, CaseError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => doc(line, &format!("/{key}"), name.to_string(), v).map(Some),
    }
}

fn req_str<'v>(line: usize, obj: &'v Map<String, Value>, key: &str) -> Result<&'v str, CaseError> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(field_err(
            line,
            &format!("/request/{key}"),
            "expected a string",
        )),
        None => Err(field_err(line, &format!("/request/{key}"), "missing")),
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Case {
    /// Parses one input line (`line` is its 1-based number, used in errors).
    pub fn parse(text: &str, line: usize) -> Result<Case, CaseError> {
        let v: Value = serde_json::from_str(text).map_err(|e| CaseError::Json {
            line,
            message: e.to_string(),
        })?;
        let Value::Object(obj) = v else {
            return Err(field_err(line, "/", "expected an object"));
        };
        const KNOWN: [&str; 6] = [
            "identity_policies",
            "permission_boundary",
            "scps",
            "resource_policy",
            "session_policy",
            "request",
        ];
        if let Some(k) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(field_err(line, &format!("/{k}"), "unknown field"));
        }
        let identity = match obj.get("identity_policies") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    doc(
                        line,
                        &format!("/identity_policies/{i}"),
                        format!("identity-{i}"),
                        d,
                    )
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(field_err(line, "/identity_policies", "expected a list")),
        };
        let scps = match obj.get("scps") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(levels)) => {
                let mut out = Vec::with_capacity(levels.len());
                for (i, level) in levels.iter().enumerate() {
                    let Value::Array(docs) = level else {
                        return Err(field_err(
                            line,
                            &format!("/scps/{i}"),
                            "expected a list of policies",
                        ));
                    };
                    out.push(
                        docs.iter()
                            .enumerate()
                            .map(|(j, d)| {
                                doc(line, &format!("/scps/{i}/{j}"), format!("scp-{i}-{j}"), d)
                            })
                            .collect::<Result<Vec<_>, _>>()?,
                    );
                }
                out
            }
            Some(_) => return Err(field_err(line, "/scps", "expected a list of levels")),
        };
        let boundary = opt_doc(line, &obj, "permission_boundary", "boundary")?;
        let resource_policy = opt_doc(line, &obj, "resource_policy", "resource")?;
        let session = opt_doc(line, &obj, "session_policy", "session")?;
        let Some(Value::Object(req)) = obj.get("request") else {
            return Err(field_err(line, "/request", "missing or not an object"));
        };
        let principal = req_str(line, req, "principal")?.to_string();
        let action = req_str(line, req, "action")?.to_string();
        let resource = req_str(line, req, "resource")?.to_string();
        let resource_account = match req.get("resource_account") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(field_err(
                    line,
                    "/request/resource_account",
                    "expected a string or null",
                ))
            }
        };
        let mut context = Context::complete();
        match req.get("context") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    let ptr = format!("/request/context/{k}");
                    match v {
                        Value::Array(items) => {
                            let vals = items
                                .iter()
                                .map(scalar)
                                .collect::<Option<Vec<_>>>()
                                .ok_or_else(|| {
                                    field_err(line, &ptr, "expected a list of strings")
                                })?;
                            context.set_values(k, vals);
                        }
                        other => {
                            let s = scalar(other).ok_or_else(|| {
                                field_err(line, &ptr, "expected a string or a list of strings")
                            })?;
                            context.set(k, s);
                        }
                    }
                }
            }
            Some(_) => return Err(field_err(line, "/request/context", "expected an object")),
        }
        Ok(Case {
            identity,
            boundary,
            scps,
            resource_policy,
            session,
            principal,
            action,
            resource,
            resource_account,
            context,
        })
    }

    /// Evaluates the case.
    pub fn evaluate(&self, line: usize) -> Result<crate::eval::Evaluation, CaseError> {
        let set = PolicySet {
            identity: &self.identity,
            boundary: self.boundary.as_ref(),
            session: self.session.as_ref(),
            scps: &self.scps,
            rcps: &[],
            resource: self.resource_policy.as_ref(),
        };
        evaluate(
            &set,
            &Request {
                principal: &self.principal,
                action: &self.action,
                resource: ResourceTarget::Arn(&self.resource),
                resource_account: self.resource_account.as_deref(),
                context: &self.context,
            },
        )
        .map_err(|source| CaseError::Eval { line, source })
    }
}

/// Evaluates one line and renders the output object.
pub fn run_case(text: &str, line: usize) -> Value {
    match Case::parse(text, line).and_then(|c| c.evaluate(line)) {
        Ok(ev) => {
            let mut reasons: Vec<String> = ev.reasons.iter().map(|r| r.to_string()).collect();
            for b in &ev.blocked_by {
                reasons.push(format!("no Allow in {b} policies"));
            }
            json!({"decision": ev.decision.as_str(), "reasons": reasons})
        }
        Err(e) => json!({"error": e.to_string()}),
    }
}

/// Reads cases as JSON Lines from `input` and writes one JSON line per case to `output`. A line
/// that is not a valid case (bad JSON, bad policy, not UTF-8) is answered with `{"error": ...}`
/// naming the line; the batch goes on.
pub fn run_batch<R: BufRead, W: Write>(input: R, mut output: W) -> io::Result<BatchStats> {
    let mut stats = BatchStats::default();
    for (i, raw) in input.split(b'\n').enumerate() {
        let raw = raw?;
        let raw = raw.strip_suffix(b"\r").unwrap_or(&raw);
        // A line that is not UTF-8 is an error for that case; the batch goes on.
        let out = match std::str::from_utf8(raw) {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => run_case(line, i + 1),
            Err(e) => json!({"error": format!(
                "line {}: not valid UTF-8 (invalid byte at offset {})",
                i + 1,
                e.valid_up_to()
            )}),
        };
        stats.cases += 1;
        match out.get("decision").and_then(Value::as_str) {
            Some(d) if d == Decision::Allowed.as_str() => stats.allowed += 1,
            Some(d) if d == Decision::ImplicitlyDenied.as_str() => stats.implicitly_denied += 1,
            Some(_) => stats.explicitly_denied += 1,
            None => stats.errors += 1,
        }
        serde_json::to_writer(&mut output, &out)?;
        output.write_all(b"\n")?;
    }
    output.flush()?;
    Ok(stats)
}
