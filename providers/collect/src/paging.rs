//! Bounded pagination: a listing whose continuation token (or link) repeats, or that runs past a
//! page cap, stops as incomplete coverage instead of looping forever.

use crate::error::CollectError;
use std::collections::HashSet;

/// The default most pages one listing may take (1,000 pages of 1,000 items is far above any
/// real account; a server that never stops is treated as malformed).
pub const DEFAULT_MAX_PAGES: usize = 10_000;

/// Tracks the continuation tokens of one listing.
#[derive(Debug, Clone)]
pub struct PageGuard {
    operation: String,
    target: String,
    seen: HashSet<String>,
    pages: usize,
    max_pages: usize,
}

impl PageGuard {
    pub fn new(operation: &str, target: &str) -> Self {
        PageGuard::with_cap(operation, target, DEFAULT_MAX_PAGES)
    }

    pub fn with_cap(operation: &str, target: &str, max_pages: usize) -> Self {
        PageGuard {
            operation: operation.to_string(),
            target: target.to_string(),
            seen: HashSet::new(),
            pages: 0,
            max_pages: max_pages.max(1),
        }
    }

    /// Called after each page with its continuation token (`None` or empty: the last page).
    /// `Ok(Some(token))`: fetch the next page with it; `Ok(None)`: the listing is complete;
    /// `Err`: the listing must stop here, incomplete (a token seen before, or too many pages).
    pub fn next(&mut self, token: Option<&str>) -> Result<Option<String>, CollectError> {
        self.pages += 1;
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        if !self.seen.insert(token.to_string()) {
            return Err(CollectError::malformed(
                &self.operation,
                &self.target,
                format!(
                    "the continuation token `{}` was returned before (after {} pages): the listing stopped, later items were not read",
                    shorten(token),
                    self.pages
                ),
            ));
        }
        if self.pages >= self.max_pages {
            return Err(CollectError::malformed(
                &self.operation,
                &self.target,
                format!(
                    "the listing did not end after {} pages: stopped, later items were not read",
                    self.pages
                ),
            ));
        }
        Ok(Some(token.to_string()))
    }

    pub fn pages(&self) -> usize {
        self.pages
    }
}

/// Tokens can be long and opaque; the error quotes their start.
fn shorten(token: &str) -> String {
    if token.chars().count() > 40 {
        let head: String = token.chars().take(40).collect();
        format!("{head}…")
    } else {
        token.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FailureKind;

    #[test]
    fn a_listing_ends_on_no_token() {
        let mut g = PageGuard::new("op", "t");
        assert_eq!(g.next(Some("a")).ok().flatten().as_deref(), Some("a"));
        assert_eq!(g.next(Some("")).ok().flatten(), None);
        assert_eq!(g.pages(), 2);
    }

    #[test]
    fn repeated_and_cyclic_tokens_stop_the_listing() {
        let mut g = PageGuard::new("iam GetAccountAuthorizationDetails", "global");
        assert!(g.next(Some("m1")).is_ok());
        let e = g.next(Some("m1")).err().map(|e| e.kind);
        assert_eq!(e, Some(FailureKind::Malformed));
        let mut g = PageGuard::new("op", "t");
        assert!(g.next(Some("a")).is_ok());
        assert!(g.next(Some("b")).is_ok());
        assert!(g.next(Some("a")).is_err());
    }

    #[test]
    fn the_page_cap_stops_an_endless_listing() {
        let mut g = PageGuard::with_cap("op", "t", 3);
        assert!(g.next(Some("1")).is_ok());
        assert!(g.next(Some("2")).is_ok());
        let e = g.next(Some("3")).err().map(|e| e.message);
        assert!(e.is_some_and(|m| m.contains("after 3 pages")));
    }
}
