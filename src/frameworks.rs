//! Compliance frameworks (CIS EKS 1.8, CIS GKE 1.9, CIS AKS 1.8, 4C Cloud layer): which rules
//! assess which control, and each control's status in a scan. (Being written: see issue 6.)

use crate::report::json::{FrameworkDoc, ReportDoc};

/// A framework as mapped in `policies/frameworks/`.
#[derive(Debug)]
pub struct Framework {
    pub id: String,
    pub title: String,
}

/// Every framework, in catalog order.
pub fn all() -> &'static [Framework] {
    &[]
}

/// The framework with this id, or an error naming the known ids.
pub fn find(id: &str) -> Result<&'static Framework, String> {
    all()
        .iter()
        .find(|f| f.id == id)
        .ok_or_else(|| format!("no framework `{id}`"))
}

/// Narrows a report to one framework: only the findings of rules that map to its controls, and
/// only its control view. Summary counts are recomputed.
pub fn restrict(doc: &mut ReportDoc, framework: &Framework) {
    let _ = (doc, framework);
}

/// The status of every control of the frameworks that apply to the scan's provider (or only
/// `only`), from the document's open findings and coverage.
pub fn assess(doc: &ReportDoc, only: Option<&Framework>) -> Vec<FrameworkDoc> {
    let _ = (doc, only);
    Vec::new()
}
