//! cloudscan's access engine: exact AWS policy evaluation and capability questions.
//!
//! - [`policy`]: parsing of policy documents (every element, precise errors).
//! - [`matcher`]: action globs and ARN patterns.
//! - [`condition`]: condition operators, the three-valued request context, policy variables.
//! - [`eval`]: the evaluation flow (deny, SCP/RCP levels, boundary, session, resource policy).
//! - [`simulate`]: the JSON Lines batch contract behind `cloudscan iam simulate --batch`.

pub mod azure;
pub mod capability;
pub mod catalog;
pub mod condition;
pub mod eval;
pub mod gcp;
pub mod matcher;
pub mod policy;
pub mod simulate;

pub use condition::{Context, Formula, StatementRef, Tri};
pub use eval::{
    evaluate, Decision, EvalError, Evaluation, Identity, NamedPolicy, PolicySet, Reason, Request,
    ResourceTarget,
};
pub use policy::{decode_document, Policy, PolicyError};
pub use simulate::{run_batch, BatchStats};
