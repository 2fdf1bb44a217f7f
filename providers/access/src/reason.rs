//! Typed reasons: which statement, binding or assignment granted a capability. Reports and
//! findings build their evidence from these instead of from pre-formatted text.

use crate::condition::StatementRef;
use serde::ser::{Serialize, Serializer};
use std::fmt;

/// How a role reaches an identity in a role-based cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoleGrantKind {
    /// A binding in the allow policy of a resource (the role holds on that resource and below).
    Binding,
    /// An assignment at a scope (the role holds at that scope and below).
    Assignment,
}

impl RoleGrantKind {
    /// The word for it in evidence (`role binding`, `role assignment`).
    pub fn noun(self) -> &'static str {
        match self {
            RoleGrantKind::Binding => "role binding",
            RoleGrantKind::Assignment => "role assignment",
        }
    }

    /// How a label joins role and scope (`roles/x on projects/p`, `Reader at /subscriptions/s`).
    fn preposition(self) -> &'static str {
        match self {
            RoleGrantKind::Binding => "on",
            RoleGrantKind::Assignment => "at",
        }
    }
}

/// One role grant of an identity: the role, where it holds, and its condition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoleRef {
    pub kind: RoleGrantKind,
    /// The role's name as it should be cited (`roles/editor`, `Contributor`).
    pub role: String,
    /// The resource or scope the grant is on.
    pub scope: String,
    /// The condition that limits the grant, if any.
    pub condition: Option<String>,
}

/// Why an identity holds something: the statement or role grant that allows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GrantReason {
    /// A statement of a policy document (AWS-style policies).
    Statement(StatementRef),
    /// A role granted at a scope (role bindings, role assignments).
    Role(RoleRef),
}

impl GrantReason {
    /// Where the grant lives, for an evidence item's source.
    pub fn location(&self) -> String {
        match self {
            GrantReason::Statement(s) => format!("{} policy `{}`", s.policy_type, s.policy),
            GrantReason::Role(r) => {
                format!("{} {} `{}`", r.kind.noun(), r.kind.preposition(), r.scope)
            }
        }
    }

    /// The element that grants, for an evidence item's field.
    pub fn element(&self) -> String {
        match self {
            GrantReason::Statement(s) => format!("Statement[{}]", s.index),
            GrantReason::Role(_) => "role".to_string(),
        }
    }

    /// The reason as structured data.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            GrantReason::Statement(s) => serde_json::json!({
                "policy_type": s.policy_type,
                "policy": s.policy,
                "statement": s.index,
                "sid": s.sid,
            }),
            GrantReason::Role(r) => serde_json::json!({
                "grant": r.kind.noun(),
                "role": r.role,
                "scope": r.scope,
                "condition": r.condition,
            }),
        }
    }
}

impl fmt::Display for GrantReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GrantReason::Statement(s) => s.fmt(f),
            GrantReason::Role(r) => write!(f, "{} {} {}", r.role, r.kind.preposition(), r.scope),
        }
    }
}

impl Serialize for GrantReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

/// A reason and the operations it allows (actions, permissions, escalation steps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    pub by: GrantReason,
    pub allows: Vec<String>,
}

impl Granted {
    /// The reason as structured data, with what it allows.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = self.by.to_json();
        if let Some(map) = value.as_object_mut() {
            map.insert("allows".to_string(), serde_json::json!(self.allows));
        }
        value
    }

    /// Records that `by` allows `operation`: once per reason, each operation once.
    pub fn credit(list: &mut Vec<Granted>, by: GrantReason, operation: &str) {
        let entry = match list.iter().position(|g| g.by == by) {
            Some(i) => &mut list[i],
            None => {
                list.push(Granted {
                    by,
                    allows: Vec::new(),
                });
                let last = list.len() - 1;
                &mut list[last]
            }
        };
        if !entry.allows.iter().any(|a| a == operation) {
            entry.allows.push(operation.to_string());
        }
    }
}

impl fmt::Display for Granted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.by.fmt(f)
    }
}

impl Serialize for Granted {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl From<StatementRef> for GrantReason {
    fn from(s: StatementRef) -> Self {
        GrantReason::Statement(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_as_before_and_data_is_structured() {
        let r = GrantReason::Role(RoleRef {
            kind: RoleGrantKind::Binding,
            role: "roles/editor".into(),
            scope: "projects/p".into(),
            condition: None,
        });
        assert_eq!(r.to_string(), "roles/editor on projects/p");
        assert_eq!(r.to_json()["role"], "roles/editor");
        let s = GrantReason::Statement(StatementRef {
            policy_type: "identity",
            policy: "inline/x".into(),
            index: 2,
            sid: Some("S".into()),
        });
        assert_eq!(
            s.to_string(),
            "identity policy `inline/x` statement 2 (`S`)"
        );
        assert_eq!(s.element(), "Statement[2]");
        assert_eq!(s.location(), "identity policy `inline/x`");
    }
}
