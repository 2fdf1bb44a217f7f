//! Findings: what a rule reports, with the evidence that proves it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// How bad a finding is. Ordered from least to most severe.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity `{other}` (expected info, low, medium, high or critical)"
            )),
        }
    }
}

/// One fact that supports a finding: which API field said what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Where the fact comes from (API call and field path, or inventory path).
    pub source: String,
    /// The field or fact.
    pub field: String,
    pub value: serde_json::Value,
}

impl Evidence {
    pub fn new(
        source: impl Into<String>,
        field: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        Evidence {
            source: source.into(),
            field: field.into(),
            value: value.into(),
        }
    }
}

/// A rule's verdict on one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule_id: String,
    pub title: String,
    pub severity: Severity,
    /// The resource at fault (ARN, full resource name or Azure id).
    pub resource: String,
    pub scope: String,
    pub region: Option<String>,
    pub cluster: Option<String>,
    pub node_pool: Option<String>,
    pub message: String,
    pub evidence: Vec<Evidence>,
    pub remediation: String,
    pub compliance: Vec<String>,
    /// Stable across runs for the same rule, scope and resource (used for diffs and waivers).
    pub fingerprint: String,
}

/// A stable fingerprint: the first 16 bytes (32 hex characters) of
/// SHA-256(`rule_id` NUL `scope` NUL `resource` NUL `discriminator`).
pub fn fingerprint(rule_id: &str, scope: &str, resource: &str, discriminator: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [rule_id, scope, resource, discriminator] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hasher
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_and_distinct() {
        let a = fingerprint("r", "1", "arn:x", "");
        assert_eq!(a, fingerprint("r", "1", "arn:x", ""));
        assert_eq!(a.len(), 32);
        assert_ne!(a, fingerprint("r", "1", "arn:y", ""));
        // Field boundaries matter: ("ab", "c") differs from ("a", "bc").
        assert_ne!(
            fingerprint("ab", "c", "", ""),
            fingerprint("a", "bc", "", "")
        );
    }

    #[test]
    fn severities_parse_and_order() {
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        assert!("severe".parse::<Severity>().is_err());
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
    }
}
