//! The access stage lives in the `cloudscan-access` crate (`bridge`, `exposure`, `trust`,
//! `rbac`); this module re-exports what the CLI, the rules and the benches use.

pub use cloudscan_access::bridge::{engine_identity, AccessFacts, Basis, IdentityFacts};
pub use cloudscan_access::exposure::Exposure;
