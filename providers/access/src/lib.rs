//! cloudscan's access stage: exact AWS policy evaluation, one RBAC evaluator for GCP and Azure,
//! and the bridge from the inventory (who can use each identity, and what it can do).
//!
//! - [`policy`]: parsing of policy documents (every element, precise errors).
//! - [`matcher`]: action globs and ARN patterns.
//! - [`condition`]: condition operators, the three-valued request context, policy variables.
//! - [`eval`]: the evaluation flow (deny, SCP/RCP levels, boundary, session, resource policy).
//! - [`rbac`]: the evaluator for role bindings and role assignments ([`gcp`], [`azure`]).
//! - [`reason`]: typed reasons (which statement or role grant allowed what).
//! - [`exposure`] and [`trust`]: who can use an identity, and trust wider than one workload.
//! - [`bridge`]: [`AccessFacts`] for an inventory, read by rules and reports.
//! - [`simulate`]: the JSON Lines batch contract behind `cloudscan iam simulate --batch`.

pub mod azure;
pub mod bridge;
pub mod capability;
pub mod catalog;
pub mod chain;
pub mod condition;
pub mod eval;
pub mod exposure;
pub mod gcp;
pub mod guardrail;
pub mod matcher;
pub mod policy;
pub mod rbac;
pub mod reason;
pub mod simulate;
pub mod trust;

pub use bridge::{AccessFacts, Basis, IdentityFacts};
pub use condition::{Context, Formula, StatementRef, Tri};
pub use eval::{
    evaluate, Decision, EvalError, Evaluation, NamedPolicy, PolicyIdentity, PolicySet, Reason,
    Request, ResourceTarget,
};
pub use exposure::Exposure;
pub use policy::{decode_document, Policy, PolicyError};
pub use reason::{GrantReason, Granted};
pub use simulate::{run_batch, BatchStats};
