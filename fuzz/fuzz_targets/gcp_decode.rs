//! GCP response decoding (`providers/gcp/src/collect.rs` types, as the collectors decode API
//! JSON) and normalization of a project built from them (`normalize.rs`). The input is a JSON
//! object whose members are API response bodies: `project`, `policy`, `clusters`, `accounts`,
//! `saPolicy`, `roles`, `disks`.
#![no_main]
use cloudscan_gcp::collect::{Policy, RawCluster, RawDisk, RawProject, RawRole, RawServiceAccount};
use cloudscan_gcp::normalize::{
    normalize, parse_workload_member, workload_member, ProjectScan, RawScan,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn each<T: serde::de::DeserializeOwned>(v: Option<&Value>) -> Option<Vec<T>> {
    let list = v?.as_array()?;
    Some(
        list.iter()
            .filter_map(|i| serde_json::from_value(i.clone()).ok())
            .collect(),
    )
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let one = |k: &str| input.get(k).cloned().unwrap_or(Value::Null);
    let project: Option<RawProject> = serde_json::from_value(one("project")).ok();
    let policy: Option<Policy> = serde_json::from_value(one("policy")).ok();
    let sa_policy: Option<Policy> = serde_json::from_value(one("saPolicy")).ok();
    let clusters = each::<RawCluster>(input.get("clusters").and_then(|c| c.get("clusters")));
    let accounts = each::<RawServiceAccount>(input.get("accounts").and_then(|a| a.get("accounts")));
    let roles = each::<RawRole>(input.get("roles"));
    let disks: Option<Vec<RawDisk>> = input
        .get("disks")
        .and_then(|d| d.get("items"))
        .and_then(|i| i.as_object())
        .map(|scopes| {
            scopes
                .values()
                .filter_map(|s| each::<RawDisk>(s.get("disks")))
                .flatten()
                .collect()
        });
    if let Some(p) = &policy {
        for b in &p.bindings {
            for m in &b.members {
                let _ = parse_workload_member(m);
                let _ = workload_member(m);
            }
        }
    }
    let mut scan = ProjectScan {
        id: project
            .as_ref()
            .map(|p| p.project_id.clone())
            .unwrap_or_default(),
        project,
        clusters,
        policy,
        service_accounts: accounts.clone(),
        disks,
        ancestry_complete: true,
        ..Default::default()
    };
    if let (Some(p), Some(first)) = (sa_policy, accounts.as_ref().and_then(|a| a.first())) {
        scan.sa_policies.insert(first.email.clone(), p);
    }
    let raw = RawScan {
        caller: None,
        projects: vec![scan],
        roles: roles
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.name.clone(), Ok(r)))
            .collect(),
        coverage: Vec::new(),
    };
    let inventory = normalize(raw);
    let _ = cloudscan_access::AccessFacts::for_inventory(&inventory);
});
