//! Parsing of AWS policy documents (identity, resource, trust, SCP, boundary, session).
//!
//! Every element of the grammar is accepted in its string-or-list forms; anything AWS would
//! reject (unknown keys, a wrong `Effect`, both `Action` and `NotAction`, ...) is an error that
//! names the place as a JSON pointer, e.g. `/Statement/2/Effect`.

use std::fmt;

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use crate::condition::{ConditionOp, Template};
use crate::matcher::ActionPattern;

/// Errors from decoding or parsing a policy document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The document is not valid JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// The URL-encoded document does not decode to UTF-8.
    #[error("URL-encoded document is not valid UTF-8 after decoding")]
    Encoding,
    /// The JSON is well formed but is not a valid policy.
    #[error("{pointer}: {message}")]
    Invalid {
        /// JSON pointer of the offending element (`/Statement/2/Effect`).
        pointer: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid(pointer: &str, message: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        pointer: if pointer.is_empty() {
            "/".to_string()
        } else {
            pointer.to_string()
        },
        message: message.into(),
    }
}

/// Decodes a document as IAM returns it: URL-encoded (RFC 3986 `%XX`; `+` stays `+`) unless
/// the trimmed text already starts with `{`.
pub fn decode_document(raw: &str) -> Result<String, PolicyError> {
    let trimmed = raw.trim();
    if trimmed.starts_with('{') {
        return Ok(trimmed.to_string());
    }
    percent_decode_str(trimmed)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| PolicyError::Encoding)
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// `"Allow"`.
    Allow,
    /// `"Deny"`.
    Deny,
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        })
    }
}

/// The kind of a principal entry in a `Principal` map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// `"AWS"`: accounts, users, roles, sessions.
    Aws,
    /// `"Service"`: service principals such as `ec2.amazonaws.com`.
    Service,
    /// `"Federated"`: identity providers.
    Federated,
    /// `"CanonicalUser"`: S3 canonical user ids.
    CanonicalUser,
}

/// The value of a `Principal` or `NotPrincipal` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principals {
    /// `"*"`: everyone.
    Any,
    /// A map of principal kinds to identifiers.
    Map(Vec<(PrincipalKind, Vec<String>)>),
}

/// A statement's principal element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalElement {
    /// `Principal`.
    Principal(Principals),
    /// `NotPrincipal`.
    NotPrincipal(Principals),
}

/// A statement's action element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionElement {
    /// `Action`.
    Action(Vec<ActionPattern>),
    /// `NotAction`.
    NotAction(Vec<ActionPattern>),
}

/// A statement's resource element (patterns may hold policy variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceElement {
    /// `Resource`.
    Resource(Vec<Template>),
    /// `NotResource`.
    NotResource(Vec<Template>),
}

/// One `Operator: {Key: values}` entry of a `Condition` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The parsed operator.
    pub op: ConditionOp,
    /// The operator as written.
    pub op_text: String,
    /// The condition key as written (matched ignoring case).
    pub key: String,
    /// The key lowercased.
    pub key_lower: String,
    /// The values (numbers and booleans as their JSON text); may hold policy variables.
    pub values: Vec<Template>,
}

/// One policy statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// `Sid`, if any.
    pub sid: Option<String>,
    /// `Effect`.
    pub effect: Effect,
    /// `Principal` / `NotPrincipal`, if any.
    pub principal: Option<PrincipalElement>,
    /// `Action` / `NotAction`.
    pub action: ActionElement,
    /// `Resource` / `NotResource`; `None` when omitted (trust policies).
    pub resource: Option<ResourceElement>,
    /// The `Condition` block, flattened (all entries are ANDed).
    pub conditions: Vec<Condition>,
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// `Version`, if given (`2012-10-17` or `2008-10-17`).
    pub version: Option<String>,
    /// `Id`, if given.
    pub id: Option<String>,
    /// The statements in document order.
    pub statements: Vec<Statement>,
}

impl Policy {
    /// Parses a document from JSON text (URL-encoded text is decoded first).
    pub fn parse(raw: &str) -> Result<Policy, PolicyError> {
        let text = decode_document(raw)?;
        let value: Value =
            serde_json::from_str(&text).map_err(|e| PolicyError::Json(e.to_string()))?;
        Policy::from_value(&value)
    }

    /// Parses a document from a JSON value. A JSON string holding a document is accepted too.
    pub fn from_value(value: &Value) -> Result<Policy, PolicyError> {
        match value {
            Value::String(s) => Policy::parse(s),
            Value::Object(map) => parse_policy(map),
            other => Err(invalid(
                "",
                format!("expected a policy object, found {}", kind(other)),
            )),
        }
    }
}

impl std::str::FromStr for Policy {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Policy, PolicyError> {
        Policy::parse(s)
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn parse_policy(map: &Map<String, Value>) -> Result<Policy, PolicyError> {
    let mut version = None;
    let mut id = None;
    let mut statements = None;
    for (k, v) in map {
        let ptr = format!("/{}", escape_pointer(k));
        match k.as_str() {
            "Version" => {
                let s = expect_string(v, &ptr)?;
                if s != "2012-10-17" && s != "2008-10-17" {
                    return Err(invalid(
                        &ptr,
                        format!("expected \"2012-10-17\" or \"2008-10-17\", found `{s}`"),
                    ));
                }
                version = Some(s.to_string());
            }
            "Id" => id = Some(expect_string(v, &ptr)?.to_string()),
            "Statement" => {
                statements = Some(match v {
                    Value::Array(items) => items
                        .iter()
                        .enumerate()
                        .map(|(i, s)| parse_statement(s, &format!("/Statement/{i}")))
                        .collect::<Result<Vec<_>, _>>()?,
                    Value::Object(_) => vec![parse_statement(v, "/Statement")?],
                    other => {
                        return Err(invalid(
                            &ptr,
                            format!("expected a statement or a list, found {}", kind(other)),
                        ))
                    }
                })
            }
            _ => return Err(invalid(&ptr, format!("unknown policy element `{k}`"))),
        }
    }
    let statements = statements.ok_or_else(|| invalid("", "missing `Statement`"))?;
    Ok(Policy {
        version,
        id,
        statements,
    })
}

fn escape_pointer(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

fn expect_string<'v>(v: &'v Value, ptr: &str) -> Result<&'v str, PolicyError> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(invalid(
            ptr,
            format!("expected a string, found {}", kind(other)),
        )),
    }
}

/// A string or a non-empty list of strings.
fn string_list<'v>(v: &'v Value, ptr: &str) -> Result<Vec<&'v str>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(items) => {
            if items.is_empty() {
                return Err(invalid(
                    ptr,
                    "expected at least one value, found an empty list",
                ));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, x)| expect_string(x, &format!("{ptr}/{i}")))
                .collect()
        }
        other => Err(invalid(
            ptr,
            format!(
                "expected a string or a list of strings, found {}",
                kind(other)
            ),
        )),
    }
}

fn parse_statement(v: &Value, ptr: &str) -> Result<Statement, PolicyError> {
    let Value::Object(map) = v else {
        return Err(invalid(
            ptr,
            format!("expected a statement object, found {}", kind(v)),
        ));
    };
    let mut sid = None;
    let mut effect = None;
    let mut principal = None;
    let mut action = None;
    let mut resource = None;
    let mut conditions = Vec::new();
    for (k, v) in map {
        let p = format!("{ptr}/{}", escape_pointer(k));
        match k.as_str() {
            "Sid" => sid = Some(expect_string(v, &p)?.to_string()),
            "Effect" => {
                effect = Some(match v {
                    Value::String(s) if s == "Allow" => Effect::Allow,
                    Value::String(s) if s == "Deny" => Effect::Deny,
                    Value::String(s) => {
                        return Err(invalid(
                            &p,
                            format!("expected \"Allow\" or \"Deny\", found \"{s}\""),
                        ))
                    }
                    other => {
                        return Err(invalid(
                            &p,
                            format!("expected \"Allow\" or \"Deny\", found {}", kind(other)),
                        ))
                    }
                })
            }
            "Principal" | "NotPrincipal" => {
                if principal.is_some() {
                    return Err(invalid(
                        &p,
                        "a statement cannot have both `Principal` and `NotPrincipal`",
                    ));
                }
                let ps = parse_principals(v, &p)?;
                principal = Some(if k == "Principal" {
                    PrincipalElement::Principal(ps)
                } else {
                    PrincipalElement::NotPrincipal(ps)
                });
            }
            "Action" | "NotAction" => {
                if action.is_some() {
                    return Err(invalid(
                        &p,
                        "a statement cannot have both `Action` and `NotAction`",
                    ));
                }
                let list = string_list(v, &p)?;
                let mut pats = Vec::with_capacity(list.len());
                for (i, a) in list.iter().enumerate() {
                    let ap = if matches!(v, Value::Array(_)) {
                        format!("{p}/{i}")
                    } else {
                        p.clone()
                    };
                    pats.push(ActionPattern::parse(a).ok_or_else(|| {
                        invalid(
                            &ap,
                            format!("expected `*` or `service:action`, found `{a}`"),
                        )
                    })?);
                }
                action = Some(if k == "Action" {
                    ActionElement::Action(pats)
                } else {
                    ActionElement::NotAction(pats)
                });
            }
            "Resource" | "NotResource" => {
                if resource.is_some() {
                    return Err(invalid(
                        &p,
                        "a statement cannot have both `Resource` and `NotResource`",
                    ));
                }
                let list = string_list(v, &p)?;
                let mut pats = Vec::with_capacity(list.len());
                for (i, r) in list.iter().enumerate() {
                    let rp = if matches!(v, Value::Array(_)) {
                        format!("{p}/{i}")
                    } else {
                        p.clone()
                    };
                    pats.push(Template::parse(r).map_err(|e| invalid(&rp, e.to_string()))?);
                }
                resource = Some(if k == "Resource" {
                    ResourceElement::Resource(pats)
                } else {
                    ResourceElement::NotResource(pats)
                });
            }
            "Condition" => conditions = parse_conditions(v, &p)?,
            _ => return Err(invalid(&p, format!("unknown statement element `{k}`"))),
        }
    }
    let effect = effect.ok_or_else(|| invalid(ptr, "missing `Effect`"))?;
    let action = action.ok_or_else(|| invalid(ptr, "missing `Action` or `NotAction`"))?;
    Ok(Statement {
        sid,
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}

fn parse_principals(v: &Value, ptr: &str) -> Result<Principals, PolicyError> {
    match v {
        Value::String(s) if s == "*" => Ok(Principals::Any),
        Value::Object(map) => {
            let mut out = Vec::new();
            for (k, val) in map {
                let p = format!("{ptr}/{}", escape_pointer(k));
                let kind = match k.as_str() {
                    "AWS" => PrincipalKind::Aws,
                    "Service" => PrincipalKind::Service,
                    "Federated" => PrincipalKind::Federated,
                    "CanonicalUser" => PrincipalKind::CanonicalUser,
                    _ => return Err(invalid(&p, format!("unknown principal type `{k}`"))),
                };
                let ids = string_list(val, &p)?;
                out.push((kind, ids.into_iter().map(str::to_string).collect()));
            }
            if out.is_empty() {
                return Err(invalid(ptr, "expected at least one principal type"));
            }
            Ok(Principals::Map(out))
        }
        Value::String(s) => Err(invalid(
            ptr,
            format!("expected \"*\" or an object of principal types, found `{s}`"),
        )),
        other => Err(invalid(
            ptr,
            format!(
                "expected \"*\" or an object of principal types, found {}",
                kind(other)
            ),
        )),
    }
}

fn scalar_text(v: &Value, ptr: &str) -> Result<String, PolicyError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(invalid(
            ptr,
            format!(
                "expected a string, boolean or number, found {}",
                kind(other)
            ),
        )),
    }
}

fn parse_conditions(v: &Value, ptr: &str) -> Result<Vec<Condition>, PolicyError> {
    let Value::Object(ops) = v else {
        return Err(invalid(
            ptr,
            format!(
                "expected an object of condition operators, found {}",
                kind(v)
            ),
        ));
    };
    let mut out = Vec::new();
    for (op_text, keys) in ops {
        let op_ptr = format!("{ptr}/{}", escape_pointer(op_text));
        let op = ConditionOp::parse(op_text)
            .ok_or_else(|| invalid(&op_ptr, format!("unknown condition operator `{op_text}`")))?;
        let Value::Object(keys) = keys else {
            return Err(invalid(
                &op_ptr,
                format!("expected an object of condition keys, found {}", kind(keys)),
            ));
        };
        for (key, vals) in keys {
            let key_ptr = format!("{op_ptr}/{}", escape_pointer(key));
            let raw: Vec<String> = match vals {
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| scalar_text(x, &format!("{key_ptr}/{i}")))
                    .collect::<Result<_, _>>()?,
                other => vec![scalar_text(other, &key_ptr)?],
            };
            let mut values = Vec::with_capacity(raw.len());
            for r in &raw {
                values.push(Template::parse(r).map_err(|e| invalid(&key_ptr, e.to_string()))?);
            }
            out.push(Condition {
                op,
                op_text: op_text.clone(),
                key: key.clone(),
                key_lower: key.to_ascii_lowercase(),
                values,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode() {
        assert_eq!(
            decode_document("%7B%22a%22%3A%22b+c%22%7D").ok().as_deref(),
            Some("{\"a\":\"b+c\"}")
        );
        assert_eq!(
            decode_document("  {\"x\":1} ").ok().as_deref(),
            Some("{\"x\":1}")
        );
    }

    #[test]
    fn effect_error_names_pointer() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"*","Resource":"*"},
            {"Effect":"Allow","Action":"*","Resource":"*"},
            {"Effect":"allow","Action":"*","Resource":"*"}]}"#;
        let err = Policy::parse(doc).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(r#"/Statement/2/Effect: expected "Allow" or "Deny", found "allow""#)
        );
    }

    #[test]
    fn forms() {
        let p = Policy::parse(
            r#"{"Statement":{"Effect":"Deny","NotAction":["s3:*","iam:Get*"],"NotResource":"arn:aws:s3:::b/*",
            "Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:root"],"Service":"ec2.amazonaws.com"},
            "Condition":{"Bool":{"aws:SecureTransport":false},"NumericLessThan":{"s3:max-keys":[10, "20"]}}}}"#,
        );
        let p = match p {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(p.statements.len(), 1);
        assert_eq!(p.statements[0].conditions.len(), 2);
    }

    #[test]
    fn unknown_keys_rejected() {
        let e = Policy::parse(r#"{"Statement":[{"Effect":"Allow","Action":"*","Resources":"*"}]}"#);
        assert_eq!(
            e.err().map(|e| e.to_string()).as_deref(),
            Some("/Statement/0/Resources: unknown statement element `Resources`")
        );
        let e = Policy::parse(r#"{"Statement":[],"Foo":1}"#);
        assert!(e.is_err());
        let e = Policy::parse(r#"{"Statement":[{"Effect":"Allow","Action":"s3"}]}"#);
        assert_eq!(
            e.err().map(|e| e.to_string()).as_deref(),
            Some("/Statement/0/Action: expected `*` or `service:action`, found `s3`")
        );
    }
}
