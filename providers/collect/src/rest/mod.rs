//! The REST side shared by the Google and Azure adapters: the retrying client, its retry policy
//! and the loopback replay server. What differs per cloud sits behind [`Dialect`] (naming a
//! request, classifying an error body, the permission a call needs), [`TokenProvider`] (where
//! bearer tokens come from) and [`ReplayDialect`] (what the replay server answers besides the
//! recording: token endpoints, unauthenticated requests, the cloud's error shape).

mod client;
mod retry;
mod server;

pub use client::{
    check_path, encode_query, Classified, Dialect, Paging, Request, RestClient, TokenProvider,
};
pub use retry::{parse_retry_after, RetryPolicy};
pub use server::{Incoming, ReplayDialect, ReplayServer};

/// The largest response body the client reads (a page of any API cloudscan calls is far
/// smaller; a larger one is reported as malformed instead of exhausting memory).
pub const DEFAULT_MAX_BODY: usize = 32 << 20;
