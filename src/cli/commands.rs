//! The commands that do not scan: history, diff, report (stored scans), access, rules and
//! `iam simulate`.

use super::{
    AccessArgs, DiffArgs, Format, HistoryArgs, HistoryCommand, ListFormat, PruneArgs, ReportArgs,
    RulesArgs, StoreArgs,
};
use crate::assess::{emit, exit, fail};
use crate::report;
use crate::rules;
use std::path::Path;

impl StoreArgs {
    /// Opens the history database, which must exist already.
    fn open(&self) -> Result<crate::history::Store, String> {
        let path = crate::history::resolve(self.store.as_deref().unwrap_or(Path::new("")))?;
        if !path.exists() {
            return Err(format!(
                "no history database at `{}`: scan with --store first",
                path.display()
            ));
        }
        crate::history::Store::open(&path).map_err(|e| e.to_string())
    }
}

pub(super) fn history(args: HistoryArgs) -> u8 {
    if let Some(HistoryCommand::Prune(prune_args)) = args.command {
        return prune(prune_args);
    }
    let store = match args.store.open() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let entries = match store.list(args.provider.as_deref(), args.scope.as_deref(), args.limit) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let text = match args.format {
        ListFormat::Json => serde_json::to_string_pretty(&entries).unwrap_or_default() + "\n",
        ListFormat::Table => {
            let mut s = format!(
                "{:>5}  {:<20}  {:<6}  {:<8}  {:<28}  {:>4} {:>4} {:>4} {:>4} {:>4}  {:>6}  {:>4}  {:>5}\n",
                "scan", "started", "cloud", "mode", "scopes", "crit", "high", "med", "low", "info", "waived", "new", "fixed"
            );
            for e in &entries {
                s.push_str(&format!(
                    "{:>5}  {:<20}  {:<6}  {:<8}  {:<28}  {:>4} {:>4} {:>4} {:>4} {:>4}  {:>6}  {:>4}  {:>5}{}\n",
                    e.id,
                    e.started_at,
                    e.provider,
                    e.mode,
                    e.scopes.join(","),
                    e.critical,
                    e.high,
                    e.medium,
                    e.low,
                    e.info,
                    e.waived,
                    e.new,
                    e.fixed,
                    if e.complete { "" } else { "  (incomplete)" }
                ));
            }
            if entries.is_empty() {
                s.push_str("no scans match\n");
            }
            s
        }
    };
    match emit(None, &text) {
        Ok(()) => exit::OK,
        Err(e) => fail(e),
    }
}

/// `cloudscan history prune`: deletes the scans the retention does not keep and shrinks the file.
fn prune(args: PruneArgs) -> u8 {
    let mut store = match args.store.open() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let older_than = match args.older_than {
        Some(d) => match std::time::SystemTime::now().checked_sub(d) {
            Some(t) => Some(t),
            None => return fail(format!("--older-than {d:?} reaches before the epoch")),
        },
        None => None,
    };
    let retention = crate::history::Retention {
        keep: args.keep.and_then(|n| usize::try_from(n).ok()),
        older_than,
    };
    let pruned = match store.prune(retention) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let text = match args.format {
        ListFormat::Json => serde_json::to_string_pretty(&pruned).unwrap_or_default() + "\n",
        ListFormat::Table => format!(
            "pruned {} scan(s) from `{}`: {} -> {} bytes\n",
            pruned.scans,
            store.path().display(),
            pruned.bytes_before,
            pruned.bytes_after
        ),
    };
    match emit(None, &text) {
        Ok(()) => exit::OK,
        Err(e) => fail(e),
    }
}

pub(super) fn diff(args: DiffArgs) -> u8 {
    let store = match args.store.open() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let to = match args.to.map(Ok).unwrap_or_else(|| store.latest()) {
        Ok(id) => id,
        Err(e) => return fail(e),
    };
    let from = match args.from {
        Some(id) => id,
        None => match store.previous_of(to) {
            Ok(Some(id)) => id,
            Ok(None) => {
                return fail(format!(
                    "scan {to} is the first stored scan of its scopes: nothing to compare it with"
                ))
            }
            Err(e) => return fail(e),
        },
    };
    let doc = match store.diff_scans(from, to) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let text = match args.format {
        Format::Table => report::table::render_diff(&doc, from, to),
        Format::Json => {
            serde_json::to_string_pretty(&serde_json::json!({
                "schema_version": "cloudscan.diff/v1",
                "from": from,
                "to": to,
                "diff": doc.diff,
                "new": doc.open().filter(|f| crate::history::is_new(f)).collect::<Vec<_>>(),
            }))
            .unwrap_or_default()
                + "\n"
        }
        other => report::render(&doc, other),
    };
    if let Err(e) = emit(None, &text) {
        return fail(e);
    }
    let failing = doc
        .open()
        .any(|f| crate::history::is_new(f) && args.fail_on.fails(f.severity));
    if failing {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

pub(super) fn report(args: ReportArgs) -> u8 {
    let framework = match args.framework.as_deref().map(crate::frameworks::find) {
        Some(Err(e)) => return fail(e),
        Some(Ok(fw)) => Some(fw),
        None => None,
    };
    let store = match args.store.open() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let id = match args.scan.map(Ok).unwrap_or_else(|| store.latest()) {
        Ok(id) => id,
        Err(e) => return fail(e),
    };
    let mut doc = match store.load(id) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    if let Some(fw) = framework {
        crate::frameworks::restrict(&mut doc, fw);
    }
    match emit(args.output.as_deref(), &report::render(&doc, args.format)) {
        Ok(()) => exit::OK,
        Err(e) => fail(e),
    }
}

pub(super) fn access(args: AccessArgs) -> u8 {
    let inventory = match crate::assess::load_inventory(&args.inventory) {
        Ok(inv) => inv,
        Err(e) => return fail(e),
    };
    let start = match args.from.as_deref().map(|f| resolve_start(&inventory, f)) {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => return fail(format!("{e} in `{}`", args.inventory.display())),
    };
    let options = cloudscan_access::bridge::AccessOptions {
        max_depth: args.max_depth,
        chain_sources: start.iter().cloned().collect(),
    };
    let facts = match &args.identity {
        Some(id) => {
            crate::access::AccessFacts::analyze_with(&inventory, options, |i, _| &i.id == id)
        }
        None => crate::access::AccessFacts::analyze_with(&inventory, options, |_, _| true),
    };
    let text = if let Some(start) = &start {
        let answers =
            report::access::paths_from(&inventory, &facts, start, args.capability.as_deref());
        match args.format {
            ListFormat::Table => {
                report::access::render_paths(start, args.capability.as_deref(), &answers, &facts)
            }
            ListFormat::Json => serde_json::to_string_pretty(&answers).unwrap_or_default() + "\n",
        }
    } else if let Some(id) = &args.identity {
        let Some(f) = facts.identities.get(id) else {
            return fail(format!(
                "no identity `{id}` in `{}`",
                args.inventory.display()
            ));
        };
        match args.format {
            ListFormat::Table => report::access::render_identity(id, f),
            ListFormat::Json => {
                let holders: Vec<_> = [
                    "admin",
                    "secrets-read",
                    "object-read",
                    "object-write",
                    "iam-write",
                    "compute-write",
                    "privilege-escalation",
                ]
                .iter()
                .flat_map(|c| report::access::holders(&inventory, &facts, c))
                .collect();
                serde_json::to_string_pretty(&holders).unwrap_or_default() + "\n"
            }
        }
    } else {
        let capability = args.capability.as_deref().unwrap_or("admin");
        let holders = report::access::holders(&inventory, &facts, capability);
        match args.format {
            ListFormat::Table => {
                report::access::render_holders(capability, &holders)
                    + &report::access::render_stopped(&inventory, &facts, capability)
            }
            ListFormat::Json => serde_json::to_string_pretty(&holders).unwrap_or_default() + "\n",
        }
    };
    match emit(None, &text) {
        Ok(()) => exit::OK,
        Err(e) => fail(e),
    }
}

/// The identity `--from` names: a role ARN of the inventory, or `CLUSTER/POOL` (the pool's node
/// identity).
fn resolve_start(inv: &cloudscan_inventory::Inventory, from: &str) -> Result<String, String> {
    if inv.identity(from).is_some() {
        return Ok(from.to_string());
    }
    if let Some((cluster, pool)) = from.rsplit_once('/') {
        let found = inv
            .clusters
            .iter()
            .filter(|c| c.name == cluster || c.id == cluster)
            .flat_map(|c| c.node_pools.iter())
            .find(|p| p.name == pool);
        if let Some(p) = found {
            return p
                .identity
                .clone()
                .ok_or_else(|| format!("node pool `{from}` has no known node identity"));
        }
    }
    Err(format!(
        "`{from}` is neither an identity nor a CLUSTER/POOL node pool"
    ))
}

pub(super) fn rules(args: RulesArgs) -> u8 {
    let registry = rules::registry();
    let selected: Vec<_> = match &args.id {
        Some(id) => match rules::find(id) {
            Some(rule) => vec![rule],
            None => {
                let known: Vec<&str> = registry.iter().map(|r| r.meta().id).collect();
                return fail(format!("no rule `{id}`; known rules: {}", known.join(", ")));
            }
        },
        None => registry,
    };
    let text = match args.format {
        ListFormat::Json => {
            // The metadata, plus the controls each rule assesses (from policies/frameworks).
            let metas: Vec<serde_json::Value> = selected
                .iter()
                .map(|r| {
                    let m = r.meta();
                    let mut value = serde_json::to_value(m).unwrap_or_default();
                    if let Some(obj) = value.as_object_mut() {
                        let controls: Vec<serde_json::Value> = crate::frameworks::controls_of(m.id)
                            .into_iter()
                            .map(|(f, c)| {
                                serde_json::json!({
                                    "framework": f.id,
                                    "provider": f.provider,
                                    "control": c.id,
                                    "title": c.title,
                                    "id": f.compliance_id(c),
                                    "note": c.note,
                                })
                            })
                            .collect();
                        obj.insert(
                            "compliance".to_string(),
                            serde_json::json!(crate::frameworks::compliance_ids(m.id, None)),
                        );
                        obj.insert("controls".to_string(), serde_json::json!(controls));
                    }
                    value
                })
                .collect();
            serde_json::to_string_pretty(&metas).unwrap_or_default() + "\n"
        }
        ListFormat::Table if args.id.is_some() => {
            let mut s = String::new();
            for rule in &selected {
                let m = rule.meta();
                s.push_str(&format!(
                    "{} ({}, default severity {})\n{}\n\n{}\n\nRemediation: {}\n\nCompliance:\n",
                    m.id, m.layer, m.severity, m.title, m.description, m.remediation,
                ));
                let controls = crate::frameworks::controls_of(m.id);
                if controls.is_empty() {
                    s.push_str("  (no framework control)\n");
                }
                for (f, c) in controls {
                    s.push_str(&format!("  {}: {} {}\n", f.id, c.id, c.title));
                }
                s.push_str("References:\n");
                for r in m.references {
                    s.push_str(&format!("  {r}\n"));
                }
            }
            s
        }
        ListFormat::Table => {
            let mut s = String::new();
            for rule in &selected {
                let m = rule.meta();
                s.push_str(&format!("{:<30} {:<8} {}\n", m.id, m.severity, m.title));
            }
            s.push_str("\n`cloudscan rules ID` explains one rule.\n");
            s
        }
    };
    match emit(None, &text) {
        Ok(()) => exit::OK,
        Err(e) => fail(e),
    }
}

pub(super) fn simulate(batch: &Path) -> u8 {
    let stdout = std::io::stdout();
    let result = if batch == Path::new("-") {
        cloudscan_access::simulate::run_batch(std::io::stdin().lock(), stdout.lock())
    } else {
        match std::fs::File::open(batch) {
            Ok(file) => {
                cloudscan_access::simulate::run_batch(std::io::BufReader::new(file), stdout.lock())
            }
            Err(e) => return fail(format!("cannot read `{}`: {e}", batch.display())),
        }
    };
    match result {
        Ok(stats) => {
            eprintln!(
                "{} case(s): {} allowed, {} implicitly denied, {} explicitly denied, {} invalid",
                stats.cases,
                stats.allowed,
                stats.implicitly_denied,
                stats.explicitly_denied,
                stats.errors
            );
            exit::OK
        }
        Err(e) => fail(format!("cannot run the batch: {e}")),
    }
}
