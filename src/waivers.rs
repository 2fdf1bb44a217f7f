//! Waivers: accepted risks written in `cloudscan.toml`.
//!
//! ```toml
//! [[waiver]]
//! rule = "api-endpoint-public"
//! resource = "arn:aws:eks:*:123456789012:cluster/sandbox-*"
//! reason = "sandbox clusters are reachable from the office VPN only (SEC-1234)"
//! owner = "platform-team@example.com"
//! expires = 2027-03-31
//! provider = "aws"          # optional: the waiver is ignored for other clouds (crate::clouds)
//! ```
//!
//! A waived finding stays in the report, marked `waived` with the waiver that covers it; it no
//! longer counts toward `--fail-on`. A waiver applies through its expiry day (UTC); after that it
//! stops applying and the report says so. A waiver that matches no finding is reported as stale.
//! `resource` is an anchored glob: `*` matches any run of characters (including `/` and `:`),
//! `?` exactly one; everything else is literal, and the whole resource id must match.

use crate::clouds::Provider;
use crate::report::model::{FindingStatus, ReportDocument, WaiverNote, WaiverRef};
use cloudscan_access::matcher::Glob;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A calendar day (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl Day {
    /// Parses `YYYY-MM-DD`, checking that the day exists.
    pub fn parse(text: &str) -> Option<Day> {
        let mut parts = text.split('-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let day = Day {
            year: y.parse().ok()?,
            month: m.parse().ok()?,
            day: d.parse().ok()?,
        };
        (day.month >= 1 && day.month <= 12 && day.day >= 1 && day.day <= days_in_month(day))
            .then_some(day)
    }

    /// Today in UTC.
    pub fn today() -> Day {
        let secs = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Day::from_unix_days(i64::try_from(secs / 86_400).unwrap_or(0))
    }

    /// Days since 1970-01-01 (H. Hinnant's algorithm, the inverse of [`Day::from_unix_days`]).
    pub fn unix_days(self) -> i64 {
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The civil date of a day count since 1970-01-01 (H. Hinnant's algorithm).
    pub fn from_unix_days(days: i64) -> Day {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Day {
            year: i32::try_from(year).unwrap_or(i32::MAX),
            month: u8::try_from(month).unwrap_or(1),
            day: u8::try_from(day).unwrap_or(1),
        }
    }
}

fn days_in_month(d: Day) -> u8 {
    match d.month {
        2 if (d.year % 4 == 0 && d.year % 100 != 0) || d.year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A configuration error, located in the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// One waiver as written.
#[derive(Debug, Clone)]
pub struct Waiver {
    pub rule: String,
    pub resource: String,
    pattern: Glob,
    pub reason: String,
    pub owner: String,
    pub expires: Day,
    pub provider: Option<Provider>,
    /// `file:line` of the `[[waiver]]` entry.
    pub location: String,
    /// Line and column of the `resource` and `expires` values (for the broad-waiver guards).
    resource_at: (usize, usize),
    expires_at: (usize, usize),
}

impl Waiver {
    fn reference(&self) -> WaiverRef {
        WaiverRef {
            rule: self.rule.clone(),
            resource: self.resource.clone(),
            reason: self.reason.clone(),
            owner: self.owner.clone(),
            expires: self.expires.to_string(),
            location: self.location.clone(),
        }
    }

    pub fn matches(&self, rule_id: &str, resource: &str) -> bool {
        self.rule == rule_id && self.pattern.matches(resource, false)
    }
}

/// The parsed `cloudscan.toml`.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub waivers: Vec<Waiver>,
    /// The file it was read from.
    pub path: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    waiver: Vec<toml::Spanned<RawWaiver>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    rule: toml::Spanned<String>,
    resource: toml::Spanned<String>,
    reason: toml::Spanned<String>,
    owner: toml::Spanned<String>,
    expires: toml::Spanned<toml::Value>,
    #[serde(default)]
    provider: Option<toml::Spanned<String>>,
}

/// Where the default configuration file is looked for: `./cloudscan.toml`.
pub const DEFAULT_CONFIG: &str = "cloudscan.toml";

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

impl Config {
    /// Reads and validates a configuration file; `known_rules` are the rule ids a waiver may name.
    pub fn load(path: &Path, known_rules: &[&str]) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path, known_rules)
    }

    /// Parses configuration text; `path` only names the file in errors and waiver locations.
    pub fn parse(text: &str, path: &Path, known_rules: &[&str]) -> Result<Config, ConfigError> {
        let invalid = |offset: usize, message: String| {
            let (line, column) = line_col(text, offset);
            ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            invalid(offset, e.message().trim_end().to_string())
        })?;
        let mut waivers = Vec::new();
        for entry in raw.waiver {
            let start = entry.span().start;
            let w = entry.into_inner();
            let rule = w.rule.get_ref().trim().to_string();
            if !known_rules.contains(&rule.as_str()) {
                return Err(invalid(
                    w.rule.span().start,
                    format!(
                        "unknown rule `{rule}` (`cloudscan rules` lists them: {})",
                        known_rules.join(", ")
                    ),
                ));
            }
            let resource = w.resource.get_ref().trim().to_string();
            if resource.is_empty() {
                return Err(invalid(
                    w.resource.span().start,
                    "`resource` is empty; use a pattern such as `arn:aws:eks:*:111122223333:cluster/dev-*`".into(),
                ));
            }
            for (field, value) in [("reason", &w.reason), ("owner", &w.owner)] {
                if value.get_ref().trim().is_empty() {
                    return Err(invalid(
                        value.span().start,
                        format!("`{field}` is empty: every waiver says why and who owns it"),
                    ));
                }
            }
            let expires = match w.expires.get_ref() {
                toml::Value::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => dt
                    .date
                    .and_then(|d| Day::parse(&format!("{d}"))),
                toml::Value::String(s) => Day::parse(s.trim()),
                _ => None,
            }
            .ok_or_else(|| {
                invalid(
                    w.expires.span().start,
                    "`expires` must be a date such as 2027-03-31 (the waiver applies through that day, UTC)"
                        .into(),
                )
            })?;
            let provider = match w.provider {
                Some(p) => Some(
                    crate::clouds::parse(p.get_ref())
                        .map_err(|message| invalid(p.span().start, message))?,
                ),
                None => None,
            };
            waivers.push(Waiver {
                pattern: Glob::new(&resource),
                rule,
                resource,
                reason: w.reason.into_inner().trim().to_string(),
                owner: w.owner.into_inner().trim().to_string(),
                expires,
                provider,
                location: format!("{}:{}", path.display(), line_col(text, start).0),
                resource_at: line_col(text, w.resource.span().start),
                expires_at: line_col(text, w.expires.span().start),
            });
        }
        Ok(Config {
            waivers,
            path: path.to_path_buf(),
        })
    }

    /// The guards `--allow-broad-waivers` turns off: a waiver whose resource pattern matches
    /// every resource of its rule, or whose expiry is more than [`MAX_WAIVER_DAYS`] days after
    /// `today`, is refused with an error naming the file, line and column.
    pub fn check_guards(&self, today: Day) -> Result<(), ConfigError> {
        let limit = Day::from_unix_days(today.unix_days() + MAX_WAIVER_DAYS);
        for w in &self.waivers {
            if let Some(why) = broad_pattern(&w.resource) {
                return Err(ConfigError::Invalid {
                    path: self.path.clone(),
                    line: w.resource_at.0,
                    column: w.resource_at.1,
                    message: format!(
                        "waiver of `{}` on `{}` {why}: it would turn the rule off for everything; \
                         name the resources (or pass --allow-broad-waivers)",
                        w.rule, w.resource
                    ),
                });
            }
            if w.expires > limit {
                return Err(ConfigError::Invalid {
                    path: self.path.clone(),
                    line: w.expires_at.0,
                    column: w.expires_at.1,
                    message: format!(
                        "waiver of `{}` on `{}` expires on {}, more than a year after today ({today}; \
                         latest allowed {limit}): review accepted risks at least yearly (or pass \
                         --allow-broad-waivers)",
                        w.rule, w.resource, w.expires
                    ),
                });
            }
        }
        Ok(())
    }
}

/// How far ahead a waiver may expire without `--allow-broad-waivers`.
pub const MAX_WAIVER_DAYS: i64 = 366;

/// Probe resource ids, in groups of one kind of resource (as findings name them) that differ in
/// account / project / subscription, region and name. A pattern that matches every id of a group
/// is not naming resources: it waives that kind of resource everywhere.
const PROBES: &[&[&str]] = &[
    // AWS
    &[
        "arn:aws:eks:us-east-1:111111111111:cluster/alpha",
        "arn:aws:eks:eu-west-3:222222222222:cluster/beta-2",
    ],
    &[
        "arn:aws:iam::111111111111:role/alpha",
        "arn:aws:iam::222222222222:role/path/beta-2",
    ],
    &[
        "arn:aws:iam::111111111111:root",
        "arn:aws:iam::222222222222:root",
    ],
    &[
        "arn:aws:ec2:us-east-1:111111111111:instance/i-0123456789abcdef0",
        "arn:aws:ec2:ap-south-1:222222222222:instance/i-0fedcba9876543210",
    ],
    &[
        "arn:aws:ec2:us-east-1:111111111111:launch-template/lt-0123456789abcdef0",
        "arn:aws:ec2:sa-east-1:222222222222:launch-template/lt-0fedcba9876543210",
    ],
    &[
        "arn:aws:ec2:us-east-1:111111111111:volume/vol-0123456789abcdef0",
        "arn:aws:ec2:eu-north-1:222222222222:ebs-encryption-by-default",
    ],
    // GCP
    &[
        "https://container.googleapis.com/v1/projects/alpha-1/locations/us-central1/clusters/c1",
        "https://container.googleapis.com/v1/projects/beta-2/locations/europe-west1-b/clusters/c2/nodePools/p",
    ],
    &[
        "sa@alpha-1.iam.gserviceaccount.com",
        "123456789012-compute@developer.gserviceaccount.com",
    ],
    &[
        "principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/alpha-1.svc.id.goog/subject/ns/a/sa/b",
        "principal://iam.googleapis.com/projects/2/locations/global/workloadIdentityPools/beta-2.svc.id.goog/subject/ns/c/sa/d",
    ],
    &[
        "//cloudresourcemanager.googleapis.com/projects/alpha-1",
        "//cloudresourcemanager.googleapis.com/projects/beta-2",
    ],
    // Azure
    &[
        "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-a/providers/Microsoft.ContainerService/managedClusters/k1",
        "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg-b/providers/Microsoft.ContainerService/managedClusters/k2",
    ],
    &[
        "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/MC_rg-a_k1_eastus/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1",
        "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg-b/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id2",
    ],
    &[
        "/subscriptions/00000000-0000-0000-0000-000000000001",
        "/subscriptions/00000000-0000-0000-0000-000000000002",
    ],
];

/// Why a resource pattern is broad, or None when it names resources.
pub fn broad_pattern(pattern: &str) -> Option<&'static str> {
    if pattern.chars().all(|c| c == '*') {
        return Some("matches any resource id");
    }
    let glob = Glob::new(pattern);
    PROBES
        .iter()
        .any(|ids| ids.iter().all(|id| glob.matches(id, false)))
        .then_some("matches that kind of resource in every account, project or subscription")
}

/// Whether the process runs in CI: the `CI` variable set to anything but empty, `0` or `false`.
pub fn in_ci(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    var("CI").is_some_and(|v| {
        let v = v.to_string_lossy().trim().to_ascii_lowercase();
        !(v.is_empty() || v == "0" || v == "false")
    })
}

/// Marks the findings that a waiver covers, and records expired and stale waivers in the
/// document. `today` decides expiry (a waiver applies through its `expires` day).
pub fn apply(doc: &mut ReportDocument, config: &Config, today: Day) {
    let relevant: Vec<&Waiver> = config
        .waivers
        .iter()
        .filter(|w| w.provider.is_none_or(|p| p == doc.scan.provider))
        .collect();
    let mut matches = vec![0usize; relevant.len()];
    for finding in &mut doc.findings {
        let mut applied = false;
        for (i, w) in relevant.iter().enumerate() {
            if !w.matches(&finding.rule_id, &finding.resource) {
                continue;
            }
            matches[i] += 1;
            if !applied && w.expires >= today {
                finding.status = FindingStatus::Waived;
                finding.waiver = Some(w.reference());
                applied = true;
            }
        }
    }
    doc.summary.waivers = relevant.iter().filter(|w| w.expires >= today).count();
    let incomplete = !doc.scan.complete;
    for (w, n) in relevant.iter().zip(matches) {
        if w.expires < today {
            doc.waivers.expired.push(WaiverNote {
                waiver: w.reference(),
                matches: n,
                message: if n > 0 {
                    format!(
                        "waiver {} ({} on `{}`, owner {}) expired on {}; its {n} finding(s) count again",
                        w.location, w.rule, w.resource, w.owner, w.expires
                    )
                } else {
                    format!(
                        "waiver {} ({} on `{}`, owner {}) expired on {} and matches nothing: remove it",
                        w.location, w.rule, w.resource, w.owner, w.expires
                    )
                },
            });
        } else if n == 0 {
            doc.waivers.stale.push(WaiverNote {
                waiver: w.reference(),
                matches: 0,
                message: format!(
                    "waiver {} ({} on `{}`, owner {}) matches no finding{}: remove it or fix the pattern",
                    w.location,
                    w.rule,
                    w.resource,
                    w.owner,
                    if incomplete {
                        " (the scan is incomplete, so it may cover something that could not be read)"
                    } else {
                        ""
                    }
                ),
            });
        }
    }
    doc.recount();
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &[&str] = &["api-endpoint-public", "node-metadata-exposed"];

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("cloudscan.toml"), RULES)
    }

    #[test]
    fn days_parse_validate_and_order() {
        assert_eq!(
            Day::parse("2024-02-29"),
            Some(Day {
                year: 2024,
                month: 2,
                day: 29
            })
        );
        assert_eq!(Day::parse("2023-02-29"), None);
        assert_eq!(Day::parse("2023-13-01"), None);
        assert_eq!(Day::parse("23-01-01"), None);
        assert!(Day::parse("2027-01-01") > Day::parse("2026-12-31"));
        assert_eq!(Day::from_unix_days(0).to_string(), "1970-01-01");
        assert_eq!(Day::from_unix_days(20_454).to_string(), "2026-01-01");
        assert_eq!(Day::from_unix_days(11_016).to_string(), "2000-02-29");
    }

    #[test]
    fn a_valid_waiver_parses_with_its_location() {
        let config = parse(
            "# accepted risks\n\n[[waiver]]\nrule = \"api-endpoint-public\"\nresource = \"arn:aws:eks:*:1:cluster/dev-*\"\nreason = \"VPN only\"\nowner = \"platform\"\nexpires = 2027-03-31\n",
        )
        .unwrap();
        let w = &config.waivers[0];
        assert_eq!(w.location, "cloudscan.toml:3");
        assert_eq!(w.expires.to_string(), "2027-03-31");
        assert!(w.matches(
            "api-endpoint-public",
            "arn:aws:eks:eu-west-1:1:cluster/dev-a"
        ));
        // Anchored: a prefix or suffix outside the pattern does not match.
        assert!(!w.matches(
            "api-endpoint-public",
            "arn:aws:eks:eu-west-1:1:cluster/prod-dev-a"
        ));
        assert!(!w.matches(
            "node-metadata-exposed",
            "arn:aws:eks:eu-west-1:1:cluster/dev-a"
        ));
    }

    #[test]
    fn errors_point_to_the_line() {
        let cases = [
            // (text, line, message fragment)
            ("[[waiver]]\nrule = \"no-such-rule\"\nresource = \"x\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2027-01-01\n", 2, "unknown rule `no-such-rule`"),
            ("[[waiver]]\nrule = \"api-endpoint-public\"\nresource = \"x\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2027-02-30\n", 6, "invalid date"),
            ("[[waiver]]\nrule = \"api-endpoint-public\"\nresource = \"x\"\nreason = \"r\"\nowner = \"o\"\nexpires = \"next year\"\n", 6, "`expires` must be a date"),
            ("[[waiver]]\nrule = \"api-endpoint-public\"\nresource = \"x\"\nreason = \"\"\nowner = \"o\"\nexpires = 2027-01-01\n", 4, "`reason` is empty"),
            ("[[waiver]]\nrule = \"api-endpoint-public\"\nresource = \"x\"\nreason = \"r\"\nowner = \"o\"\nexpiry = 2027-01-01\n", 6, "unknown field `expiry`"),
            ("[[waiver]]\nrule = \"api-endpoint-public\"\nresource = \"x\"\nreason = \"r\"\nexpires = 2027-01-01\n", 1, "missing field `owner`"),
            ("[[waiver]]\nrule = \"api-endpoint-public\nresource = \"x\"\n", 2, ""),
            ("[waivers]\n", 1, "unknown field `waivers`"),
            ("[[waiver]]\nrule = \"api-endpoint-public\"\nresource = \"x\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2027-01-01\nprovider = \"oracle\"\n", 7, "unknown provider `oracle` (aws, gcp or azure)"),
        ];
        for (text, line, fragment) in cases {
            let err = parse(text)
                .err()
                .unwrap_or_else(|| panic!("accepted: {text}"));
            let shown = err.to_string();
            match &err {
                ConfigError::Invalid { line: l, .. } => {
                    assert_eq!(*l, line, "{shown}");
                }
                other => panic!("{other}"),
            }
            assert!(shown.starts_with("cloudscan.toml:"), "{shown}");
            assert!(shown.contains(fragment), "{shown}");
        }
    }

    #[test]
    fn broad_patterns_are_told_from_named_ones() {
        for broad in [
            "*",
            "***",
            "arn:*",
            "arn:aws:*",
            "arn:aws:eks:*:*:cluster/*",
            "arn:aws:iam::*:role/*",
            "https://container.googleapis.com/*",
            "*@*",
            "/subscriptions/*",
            "*/managedClusters/*",
        ] {
            assert!(broad_pattern(broad).is_some(), "{broad} is broad");
        }
        for named in [
            "arn:aws:eks:*:123456789012:cluster/sandbox-*",
            "arn:aws:iam::123456789012:role/ci-*",
            "https://container.googleapis.com/v1/projects/acme/*",
            "*@acme-insecure.iam.gserviceaccount.com",
            "/subscriptions/11111111-1111-1111-1111-111111111111/*",
            "?",
        ] {
            assert_eq!(broad_pattern(named), None, "{named} names resources");
        }
    }

    #[test]
    fn unix_days_invert_civil_dates() {
        for days in [-1000, 0, 11_016, 20_454, 20_790, 100_000] {
            assert_eq!(Day::from_unix_days(days).unix_days(), days);
        }
    }

    #[test]
    fn every_cloud_is_a_valid_waiver_provider() {
        for p in crate::clouds::ALL {
            let text = format!(
                "[[waiver]]\nrule = \"api-endpoint-public\"\nresource = \"x\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2027-01-01\nprovider = \" {} \"\n",
                p.as_str().to_ascii_uppercase()
            );
            let config = parse(&text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(config.waivers[0].provider, Some(p));
        }
    }
}
