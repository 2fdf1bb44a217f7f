//! Merging the inventories of a sharded scan (`providers/inventory/src/merge.rs`, used by
//! `cloudscan scan --inventory A.json B.json ...`): the input is up to four inventories
//! separated by NUL bytes, each read as `read_inventory` does (JSON, shared policy documents
//! resolved), then merged.
//!
//! Checked besides "no panic", since a merge that loses or invents a fact turns into a missing
//! or wrong finding:
//! - merging an inventory with a copy of itself gives what merging it alone gives;
//! - a merge that succeeds keeps every fact of every input (clusters, identities, scopes,
//!   coverage, resource policies, Kubernetes facts, the organization) and invents none.
#![no_main]
use cloudscan_inventory::{merge, Inventory};
use libfuzzer_sys::fuzz_target;

/// Every item of `from` is in `into`.
fn all_in<T: PartialEq>(from: &[T], into: &[T]) -> bool {
    from.iter().all(|x| into.contains(x))
}

/// Every item of `merged` comes from one of `parts` (through `get`).
fn none_invented<T: PartialEq>(
    merged: &[T],
    parts: &[(String, Inventory)],
    get: impl Fn(&Inventory) -> &[T],
) -> bool {
    merged
        .iter()
        .all(|x| parts.iter().any(|(_, p)| get(p).contains(x)))
}

/// The organization without which accounts were scanned (what shards of one scan share).
fn stripped(org: &cloudscan_inventory::Organization) -> cloudscan_inventory::Organization {
    let mut org = org.clone();
    for a in &mut org.accounts {
        a.scanned = false;
        a.not_scanned_reason = None;
    }
    org
}

fn check(parts: &[(String, Inventory)], merged: &Inventory) {
    macro_rules! kept {
        ($field:ident) => {
            for (name, part) in parts {
                assert!(
                    all_in(&part.$field, &merged.$field),
                    "the merge lost a fact of {} from {name}",
                    stringify!($field)
                );
            }
            assert!(
                none_invented(&merged.$field, parts, |p| &p.$field),
                "the merge invented a fact of {}",
                stringify!($field)
            );
        };
    }
    kept!(scopes);
    kept!(clusters);
    kept!(identities);
    kept!(oidc_providers);
    kept!(volumes);
    kept!(audit_trails);
    kept!(coverage);
    kept!(role_definitions);
    kept!(resource_policies);
    kept!(account_public_access_blocks);
    kept!(kubernetes);
    for (name, part) in parts {
        if let Some(org) = &part.organization {
            // The same organization, with every account this part scanned scanned.
            let Some(have) = &merged.organization else {
                panic!("the merge lost the organization of {name}");
            };
            assert_eq!(stripped(have), stripped(org), "organization of {name}");
            for (a, b) in have.accounts.iter().zip(&org.accounts) {
                assert!(a.scanned || !b.scanned, "{name} scanned {}", b.id);
            }
        }
        for region in &part.regions {
            assert!(merged.regions.contains(region), "region {region} lost");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut parts: Vec<(String, Inventory)> = Vec::new();
    for (i, chunk) in data.split(|b| *b == 0).take(4).enumerate() {
        let Ok(mut inventory) = serde_json::from_slice::<Inventory>(chunk) else {
            return;
        };
        inventory.resolve_shared_policies();
        parts.push((format!("shard-{i}.json"), inventory));
    }
    let Some(first) = parts.first().cloned() else {
        return;
    };

    // One inventory, and the same one twice: the same outcome.
    let alone = merge(vec![first.clone()]);
    let twice = merge(vec![
        first.clone(),
        (format!("{}-copy", first.0), first.1.clone()),
    ]);
    assert_eq!(
        alone.is_ok(),
        twice.is_ok(),
        "alone: {alone:?}\ntwice: {twice:?}"
    );
    if let (Ok(alone), Ok(twice)) = (&alone, &twice) {
        assert_eq!(alone, twice, "a shard saved twice does not merge to itself");
        check(std::slice::from_ref(&first), alone);
    }

    if let Ok(merged) = merge(parts.clone()) {
        check(&parts, &merged);
    }
});
