//! The coverage log: what each collector could read, per (scope, service, region).

use crate::error::CollectError;
use cloudscan_inventory::{Coverage, CoverageStatus};
use std::collections::BTreeSet;

/// How many distinct errors a coverage detail quotes before "and N more".
const QUOTED: usize = 3;

/// Builds the coverage entries of one scope (an account, project or subscription).
#[derive(Debug, Clone)]
pub struct CoverageLog {
    scope: String,
    entries: Vec<Coverage>,
}

impl CoverageLog {
    pub fn new(scope: &str) -> Self {
        CoverageLog {
            scope: scope.to_string(),
            entries: Vec::new(),
        }
    }

    /// Records one (service, region): complete without errors; partial when some data was still
    /// collected (`partial`); otherwise the status of the first error. The detail quotes up to
    /// three distinct errors, then any `notes`.
    pub fn record(&mut self, service: &str, region: &str, errors: &[CollectError], partial: bool) {
        self.record_with_notes(service, region, errors, partial, &[]);
    }

    pub fn record_with_notes(
        &mut self,
        service: &str,
        region: &str,
        errors: &[CollectError],
        partial: bool,
        notes: &[String],
    ) {
        let status = match errors.first() {
            None => CoverageStatus::Complete,
            Some(_) if partial => CoverageStatus::Partial,
            Some(e) => e.coverage_status(),
        };
        let mut seen = BTreeSet::new();
        let unique: Vec<String> = errors
            .iter()
            .map(|e| e.to_string())
            .filter(|t| seen.insert(t.clone()))
            .collect();
        let mut parts: Vec<String> = unique.iter().take(QUOTED).cloned().collect();
        if unique.len() > QUOTED {
            parts.push(format!("and {} more", unique.len() - QUOTED));
        }
        parts.extend(notes.iter().cloned());
        let detail = (!parts.is_empty()).then(|| parts.join("; "));
        self.push(service, region, status, detail);
    }

    /// Adds one entry as it is.
    pub fn push(
        &mut self,
        service: &str,
        region: &str,
        status: CoverageStatus,
        detail: Option<String>,
    ) {
        self.entries.push(Coverage {
            scope: self.scope.clone(),
            service: service.to_string(),
            region: region.to_string(),
            status,
            detail,
        });
    }

    pub fn entries(&self) -> &[Coverage] {
        &self.entries
    }

    pub fn into_entries(self) -> Vec<Coverage> {
        self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FailureKind;

    #[test]
    fn status_follows_errors_and_partial_reads() {
        let denied = CollectError::new("iam x", "", FailureKind::AccessDenied, "no");
        let off = CollectError::new("compute y", "", FailureKind::Unsupported, "");
        let mut log = CoverageLog::new("acct");
        log.record("iam", "global", &[], false);
        log.record("iam", "us-east-1", std::slice::from_ref(&denied), true);
        log.record("iam", "eu-west-1", &[denied.clone(), denied.clone()], false);
        log.record("compute", "global", &[off], false);
        let e = log.entries();
        assert_eq!(e[0].status, CoverageStatus::Complete);
        assert_eq!(e[0].detail, None);
        assert_eq!(e[1].status, CoverageStatus::Partial);
        assert_eq!(e[2].status, CoverageStatus::Failed);
        // The same error twice is quoted once.
        assert_eq!(e[2].detail.as_deref(), Some(denied.to_string().as_str()));
        assert_eq!(e[3].status, CoverageStatus::Unsupported);
        assert!(e.iter().all(|c| c.scope == "acct"));
    }

    #[test]
    fn details_quote_three_errors_then_count() {
        let errors: Vec<CollectError> = (0..5)
            .map(|i| CollectError::new(&format!("op{i}"), "", FailureKind::Other, "x"))
            .collect();
        let mut log = CoverageLog::new("s");
        log.record_with_notes("svc", "global", &errors, false, &["note".into()]);
        let detail = log.entries()[0].detail.clone().unwrap_or_default();
        assert!(detail.ends_with("and 2 more; note"), "{detail}");
    }
}
