//! cloudscan's access engine: exact AWS policy evaluation and capability questions.

pub mod catalog;
