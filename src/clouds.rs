//! The clouds cloudscan scans, listed once. Waivers, frameworks and the CLI name a cloud by the
//! inventory's [`Provider`]; they take the list and the parsing from here, so a fourth cloud adds
//! its variant to `Provider` and one line to [`ALL`] (the match in [`position`] refuses to compile
//! until it does).

pub use cloudscan_inventory::Provider;

/// Every cloud, in the order reports and help texts name them.
pub const ALL: [Provider; 3] = [Provider::Aws, Provider::Gcp, Provider::Azure];

/// Where a provider is in [`ALL`]. Exhaustive on purpose: a new variant fails to compile here.
const fn position(provider: Provider) -> usize {
    match provider {
        Provider::Aws => 0,
        Provider::Gcp => 1,
        Provider::Azure => 2,
    }
}

// Checked when compiling: `ALL` lists every provider once, in `position` order.
const _: () = {
    let mut i = 0;
    while i < ALL.len() {
        assert!(
            position(ALL[i]) == i,
            "clouds::ALL is out of step with Provider"
        );
        i += 1;
    }
};

/// The names, for messages: `aws, gcp or azure`.
pub fn names() -> String {
    let names: Vec<&str> = ALL.iter().map(|p| p.as_str()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// Parses a provider name (`aws`, `gcp`, `azure`; any case, surrounding space ignored).
pub fn parse(name: &str) -> Result<Provider, String> {
    let wanted = name.trim();
    ALL.iter()
        .copied()
        .find(|p| p.as_str().eq_ignore_ascii_case(wanted))
        .ok_or_else(|| {
            format!(
                "unknown provider `{}` ({})",
                wanted.to_ascii_lowercase(),
                names()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_holds_every_provider_once_in_order() {
        for (i, p) in ALL.iter().enumerate() {
            assert_eq!(position(*p), i, "{}", p.as_str());
        }
    }

    #[test]
    fn names_parse_back() {
        for p in ALL {
            assert_eq!(parse(p.as_str()), Ok(p));
            assert_eq!(parse(&p.as_str().to_ascii_uppercase()), Ok(p));
        }
        assert_eq!(names(), "aws, gcp or azure");
        assert_eq!(
            parse("oracle").unwrap_err(),
            "unknown provider `oracle` (aws, gcp or azure)"
        );
    }
}
