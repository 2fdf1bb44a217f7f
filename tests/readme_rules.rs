//! The README's rule table ("What it checks") lists exactly the rules of the registry, once
//! each, with the registry's default severity first.

use cloudscan::rules::registry;
use std::collections::BTreeMap;

/// (rule id, severities as written) for every row of the README's rule table.
fn readme_rows() -> Vec<(String, Vec<String>)> {
    let readme = include_str!("../README.md");
    let section = readme
        .split("\n## What it checks")
        .nth(1)
        .expect("README has a `## What it checks` section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut rows = Vec::new();
    for line in section.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | `rule-id` | severity | catches |
        let [_, id, severity, _, ..] = cells.as_slice() else {
            continue;
        };
        let Some(id) = id.strip_prefix('`').and_then(|i| i.strip_suffix('`')) else {
            continue; // header and separator rows
        };
        let severities = severity.split('/').map(|s| s.trim().to_string()).collect();
        rows.push((id.to_string(), severities));
    }
    rows
}

#[test]
fn readme_rule_table_matches_the_registry() {
    let rows = readme_rows();
    assert!(!rows.is_empty(), "no rule rows found in the README table");
    let mut table: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, severities) in rows {
        assert!(
            table.insert(id.clone(), severities).is_none(),
            "`{id}` is listed twice in the README"
        );
    }
    let registry: BTreeMap<&str, &str> = registry()
        .into_iter()
        .map(|r| (r.meta().id, r.meta().severity.as_str()))
        .collect();
    let listed: Vec<&str> = table.keys().map(String::as_str).collect();
    let registered: Vec<&str> = registry.keys().copied().collect();
    assert_eq!(
        listed, registered,
        "README rule ids differ from rules::registry()"
    );
    const LEVELS: &[&str] = &["critical", "high", "medium", "low", "info"];
    for (id, severities) in &table {
        assert_eq!(
            severities.first().map(String::as_str),
            registry.get(id.as_str()).copied(),
            "`{id}`: the README's first severity is not the rule's default"
        );
        for s in severities {
            assert!(
                LEVELS.contains(&s.as_str()),
                "`{id}`: unknown severity `{s}`"
            );
        }
    }
}

/// Rules word findings from inventory facts and the provider vocabulary: no rule branches on the
/// cloud or compares identity kinds, so a new cloud edits nothing in `src/rules/`.
#[test]
fn rules_do_not_branch_on_the_cloud() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/rules");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("src/rules") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("rule source");
        for forbidden in [
            "Provider::",
            "provider ==",
            "provider {",
            ".kind ==",
            "kind.as_str()",
        ] {
            assert!(
                !text.contains(forbidden),
                "{} contains `{forbidden}`: take the wording from the inventory or the access stage",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(checked > 10, "only {checked} rule files found");
}
