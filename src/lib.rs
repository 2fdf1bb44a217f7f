//! cloudscan: audits the Cloud layer under Kubernetes clusters.
//!
//! `providers/*` collect and normalize; this crate holds the assessment pipeline ([`assess`]),
//! the rules, the report model and formats, and the CLI. `docs/architecture.md` maps it.

pub mod access;
pub mod assess;
pub mod cli;
pub mod clouds;
pub mod finding;
pub mod frameworks;
pub mod guard;
pub mod history;
pub mod net;
pub mod progress;
pub mod report;
pub mod rules;
pub mod waivers;
