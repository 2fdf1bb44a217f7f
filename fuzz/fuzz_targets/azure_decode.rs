//! Azure response decoding (`providers/azure/src/collect.rs` types, as the collectors decode ARM
//! JSON) and normalization of a subscription built from them (`normalize.rs`). The input is a
//! JSON object whose members are ARM list/get bodies: `clusters`, `roleAssignments`,
//! `denyAssignments`, `roleDefinitions`, `identities`, `federated`, `diagnostics`,
//! `encryptionSets`.
#![no_main]
use cloudscan_azure::collect::{
    DenyAssignment, DiagnosticSetting, DiskEncryptionSet, FederatedCredential, ManagedCluster,
    ManagedIdentity, RoleAssignment, RoleDefinition,
};
use cloudscan_azure::normalize::{normalize, role_guid, service_account, SubscriptionScan};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn each<T: serde::de::DeserializeOwned>(input: &Value, key: &str) -> Option<Vec<T>> {
    let list = input.get(key)?.get("value")?.as_array()?;
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
    let definitions = each::<RoleDefinition>(&input, "roleDefinitions").unwrap_or_default();
    let identities = each::<ManagedIdentity>(&input, "identities");
    let federated = each::<FederatedCredential>(&input, "federated").unwrap_or_default();
    for f in &federated {
        let _ = service_account(&f.properties.subject);
    }
    let sets = each::<DiskEncryptionSet>(&input, "encryptionSets").unwrap_or_default();
    let mut scan = SubscriptionScan {
        id: "11111111-1111-1111-1111-111111111111".to_string(),
        clusters: each::<ManagedCluster>(&input, "clusters"),
        activity_log: each::<DiagnosticSetting>(&input, "diagnostics"),
        role_assignments: each::<RoleAssignment>(&input, "roleAssignments"),
        deny_assignments: each::<DenyAssignment>(&input, "denyAssignments"),
        identities: identities.clone(),
        ..Default::default()
    };
    for (i, d) in definitions.into_iter().enumerate() {
        let id = format!("/providers/microsoft.authorization/roledefinitions/{i}");
        let _ = role_guid(&id);
        scan.role_definitions.insert(id, Ok(d));
    }
    if let Some(first) = identities.as_ref().and_then(|l| l.first()) {
        scan.federated.insert(first.id.to_lowercase(), federated);
    }
    for (i, s) in sets.into_iter().enumerate() {
        scan.disk_encryption_sets.insert(format!("des-{i}"), Ok(s));
    }
    let inventory = normalize(vec![scan], None);
    let _ = cloudscan_access::AccessFacts::for_inventory(&inventory);
});
