//! The collection toolkit every cloud adapter is built on.
//!
//! What is the same for every cloud lives here, once:
//! - [`error`]: the failure kinds, [`CollectError`] (operation, target, code, message, the
//!   permission it needs) and its one-line form;
//! - [`coverage`]: the coverage log a collector fills for each (scope, service, region);
//! - [`scan`]: the options, progress events and output every adapter's `scan` shares;
//! - [`fixture`]: one recorded-fixture format for all clouds (scenario metadata, exchanges, one
//!   canonical request key), the replay [`Cassette`], the [`Recorder`] and the scrubber;
//! - [`rest`]: the retrying REST client (bounded `Retry-After`, jittered backoff, per-call
//!   timeout, body-size cap, page-cycle guard and page cap) and the loopback replay server;
//! - [`files`]: atomic, private (0600/0700), symlink-refusing file writes for reports,
//!   inventories and recordings;
//! - [`endpoint`]: checks of endpoint-override variables (plain `http` only to loopback);
//! - [`ratelimit`]: per-service token buckets, `--max-rps` and adaptive backoff.
//!
//! What really differs per cloud (naming a request, classifying an error body, where tokens come
//! from, how pages are chained) sits behind [`rest::Dialect`], [`rest::TokenProvider`] and
//! [`rest::ReplayDialect`]. The AWS adapter keeps the SDK's own HTTP stack but stores, replays and
//! scrubs through [`Cassette`] and [`Recorder`].

pub mod coverage;
pub mod endpoint;
pub mod error;
pub mod files;
pub mod fixture;
pub mod paging;
pub mod ratelimit;
pub mod rest;
pub mod scan;
pub mod testkit;

pub use coverage::CoverageLog;
pub use error::{one_line, CollectError, FailureKind};
pub use fixture::{Cassette, Recorder, RequestKey};
pub use paging::PageGuard;
