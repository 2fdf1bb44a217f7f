//! The Azure side of the estate: the token exchange and the ARM reads the adapter makes.

use crate::http::{Req, Resp};
use crate::spec::Spec;
use serde_json::{json, Value};

pub const TENANT: &str = "00000000-e57a-4e00-8000-000000000000";
pub const TOKEN: &str = "estate-arm-token";
/// Items per page of a paged list (`nextLink`), as ARM pages large lists.
pub const PAGE: usize = 100;

/// A built-in role: (id, name, actions, notActions, dataActions).
pub type BuiltIn = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);

/// Built-in roles the estate assigns.
pub const ROLES: [BuiltIn; 5] = [
    (
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "Contributor",
        &["*"],
        &[
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
        ],
        &[],
    ),
    (
        "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        "Reader",
        &["*/read"],
        &[],
        &[],
    ),
    (
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        "Owner",
        &["*"],
        &[],
        &[],
    ),
    (
        "4633458b-17de-408a-b874-0445c86b69e6",
        "Key Vault Secrets User",
        &[],
        &[],
        &[
            "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        ],
    ),
    (
        "7f951dda-4ed3-4680-a7ca-43fe172d538d",
        "AcrPull",
        &["Microsoft.ContainerRegistry/registries/pull/read"],
        &[],
        &[],
    ),
];
const CONTRIBUTOR: usize = 0;
const READER: usize = 1;
const OWNER: usize = 2;
const SECRETS: usize = 3;
const ACR: usize = 4;

/// The operation name of a request, for counting (`azure:managedClusters.list`).
pub fn operation(req: &Req) -> String {
    let p = req.path.to_ascii_lowercase();
    let name = if req.method == "POST" && p.ends_with("/oauth2/v2.0/token") {
        "token"
    } else if p == "/subscriptions" {
        "subscriptions.list"
    } else if p.ends_with("/microsoft.containerservice/managedclusters") {
        "managedClusters.list"
    } else if p.ends_with("/microsoft.authorization/roleassignments") {
        "roleAssignments.list"
    } else if p.ends_with("/microsoft.authorization/denyassignments") {
        "denyAssignments.list"
    } else if p.contains("/microsoft.authorization/roledefinitions/") {
        "roleDefinitions.get"
    } else if p.ends_with("/federatedidentitycredentials") {
        "federatedIdentityCredentials.list"
    } else if p.ends_with("/microsoft.managedidentity/userassignedidentities") {
        "userAssignedIdentities.list"
    } else if p.ends_with("/microsoft.insights/diagnosticsettings") {
        "diagnosticSettings.list"
    } else if p.contains("/microsoft.compute/diskencryptionsets/") {
        "diskEncryptionSets.get"
    } else {
        "unknown"
    };
    format!("azure:{name}")
}

pub fn error(status: u16, code: &str, message: &str) -> Resp {
    Resp::json(&json!({"error": {"code": code, "message": message}})).status(status)
}

pub fn throttle() -> Resp {
    error(429, "TooManyRequests", "The request is being throttled.").with_header("retry-after", "1")
}

fn sub_path(spec: &Spec, s: u32) -> String {
    format!("/subscriptions/{}", spec.subscription_id(s))
}

fn cluster_group(k: u32) -> String {
    format!("rg-aks-{k:03}")
}

fn kubelet_id(spec: &Spec, s: u32, k: u32) -> String {
    let loc = spec.aks_location(k);
    format!(
        "{}/resourceGroups/MC_rg-aks-{k:03}_aks-{k:03}_{loc}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aks-{k:03}-agentpool",
        sub_path(spec, s)
    )
}

fn identity_id(spec: &Spec, s: u32, i: u32) -> String {
    format!(
        "{}/resourceGroups/rg-apps/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app-{i:04}",
        sub_path(spec, s)
    )
}

fn issuer(spec: &Spec, s: u32, k: u32) -> String {
    format!(
        "https://{}.oic.prod-aks.azure.com/{TENANT}/{:08x}-{k:04}/",
        spec.aks_location(k),
        s
    )
}

/// Answers one Azure request (token or ARM); `base` is the server's own URL, for `nextLink`s.
pub fn handle(spec: &Spec, req: &Req, op: &str, base: &str) -> Resp {
    if op == "azure:token" {
        return Resp::json(
            &json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": TOKEN}),
        );
    }
    if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        return error(
            401,
            "InvalidAuthenticationToken",
            "The access token is missing or invalid.",
        );
    }
    let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    if op == "azure:subscriptions.list" {
        let items: Vec<Value> = (0..spec.subscriptions)
            .map(|s| json!({"id": sub_path(spec, s), "subscriptionId": spec.subscription_id(s), "displayName": format!("estate-sub-{s:03}"), "state": "Enabled", "tenantId": TENANT}))
            .collect();
        return page(req, base, items);
    }
    let Some(s) = segs.get(1).and_then(|id| spec.subscription_index(id)) else {
        return error(
            404,
            "SubscriptionNotFound",
            "The subscription could not be found.",
        );
    };
    let sp = sub_path(spec, s);
    match op {
        "azure:managedClusters.list" => {
            let items: Vec<Value> = (0..spec.aks_clusters)
                .map(|k| cluster(spec, s, k))
                .collect();
            page(req, base, items)
        }
        "azure:userAssignedIdentities.list" => {
            let mut items: Vec<Value> = (0..spec.aks_clusters)
                .map(|k| {
                    identity(
                        kubelet_id(spec, s, k),
                        format!("aks-{k:03}-agentpool"),
                        spec.aks_location(k),
                        spec.principal_id(s, 1, k),
                        spec.client_id(s, 1, k),
                    )
                })
                .collect();
            items.extend((0..spec.identities).map(|i| {
                identity(
                    identity_id(spec, s, i),
                    format!("app-{i:04}"),
                    spec.aks_location(i),
                    spec.principal_id(s, 2, i),
                    spec.client_id(s, 2, i),
                )
            }));
            page(req, base, items)
        }
        "azure:federatedIdentityCredentials.list" => {
            let name = segs
                .get(segs.len().saturating_sub(2))
                .copied()
                .unwrap_or_default();
            let creds = name
                .strip_prefix("app-")
                .and_then(|i| i.parse::<u32>().ok())
                .filter(|i| *i < spec.identities && i % 2 == 0 && spec.aks_clusters > 0)
                .map(|i| {
                    let k = i % spec.aks_clusters.max(1);
                    let (iss, subject) = if i % 6 == 4 {
                        ("https://token.actions.githubusercontent.com".to_string(), "repo:estate/app:ref:refs/heads/main".to_string())
                    } else {
                        (issuer(spec, s, k), format!("system:serviceaccount:apps:app-{i:04}"))
                    };
                    vec![json!({"id": format!("{}/federatedIdentityCredentials/fic-0", identity_id(spec, s, i)), "name": "fic-0",
                        "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
                        "properties": {"issuer": iss, "subject": subject, "audiences": ["api://AzureADTokenExchange"]}})]
                })
                .unwrap_or_default();
            Resp::json(&json!({"value": creds}))
        }
        "azure:roleAssignments.list" => {
            let mut items = Vec::new();
            let mut assign = |n: usize, scope: String, role: usize, principal: String| {
                let id = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{:08x}-0000-4000-8000-{n:012x}", s);
                items.push(json!({"id": id, "name": id.rsplit('/').next().unwrap_or_default(), "type": "Microsoft.Authorization/roleAssignments",
                    "properties": {"scope": scope, "roleDefinitionId": format!("{sp}/providers/Microsoft.Authorization/roleDefinitions/{}", ROLES[role].0),
                        "principalId": principal, "principalType": "ServicePrincipal", "condition": null}}));
            };
            for k in 0..spec.aks_clusters {
                let role = if k % 4 == 0 { CONTRIBUTOR } else { ACR };
                let scope = if role == CONTRIBUTOR {
                    sp.clone()
                } else {
                    format!("{sp}/resourceGroups/rg-shared")
                };
                assign(k as usize, scope, role, spec.principal_id(s, 1, k));
            }
            for i in 0..spec.identities {
                let (role, scope) = match i % 5 {
                    0 => (SECRETS, sp.clone()),
                    1 => (OWNER, format!("{sp}/resourceGroups/rg-apps")),
                    _ => (READER, format!("{sp}/resourceGroups/rg-apps")),
                };
                assign(10_000 + i as usize, scope, role, spec.principal_id(s, 2, i));
            }
            page(req, base, items)
        }
        "azure:denyAssignments.list" => Resp::json(&json!({"value": []})),
        "azure:roleDefinitions.get" => {
            let id = segs.last().copied().unwrap_or_default();
            match ROLES.iter().find(|r| r.0.eq_ignore_ascii_case(id)) {
                Some((rid, name, actions, not_actions, data)) => Resp::json(&json!({
                    "id": format!("{sp}/providers/Microsoft.Authorization/roleDefinitions/{rid}"), "name": rid, "type": "Microsoft.Authorization/roleDefinitions",
                    "properties": {"roleName": name, "description": name, "type": "BuiltInRole", "assignableScopes": ["/"],
                        "permissions": [{"actions": actions, "notActions": not_actions, "dataActions": data, "notDataActions": []}]}
                })),
                None => error(
                    404,
                    "RoleDefinitionDoesNotExist",
                    "The specified role definition does not exist.",
                ),
            }
        }
        "azure:diagnosticSettings.list" => {
            let on_cluster = req.path.to_ascii_lowercase().contains("/managedclusters/");
            let enabled = if on_cluster {
                segs.iter()
                    .position(|p| p.eq_ignore_ascii_case("managedClusters"))
                    .and_then(|i| segs.get(i + 1))
                    .and_then(|n| n.strip_prefix("aks-"))
                    .and_then(|k| k.parse::<u32>().ok())
                    .is_some_and(|k| k % 2 == 0)
            } else {
                s % 2 == 0
            };
            let value = if !enabled {
                json!([])
            } else if on_cluster {
                json!([{"id": format!("{}/providers/Microsoft.Insights/diagnosticSettings/audit", req.path.trim_end_matches("/providers/Microsoft.Insights/diagnosticSettings")), "name": "audit",
                    "properties": {"workspaceId": format!("{sp}/resourceGroups/rg-logs/providers/Microsoft.OperationalInsights/workspaces/logs"),
                        "logs": [{"category": "kube-audit", "enabled": true}, {"category": "kube-apiserver", "enabled": true}]}}])
            } else {
                json!([{"id": format!("{sp}/providers/Microsoft.Insights/diagnosticSettings/activity"), "name": "activity",
                    "properties": {"workspaceId": format!("{sp}/resourceGroups/rg-logs/providers/Microsoft.OperationalInsights/workspaces/logs"),
                        "logs": [{"category": "Administrative", "enabled": true}, {"category": "Security", "enabled": true}, {"category": "Policy", "enabled": true}]}}])
            };
            Resp::json(&json!({"value": value}))
        }
        "azure:diskEncryptionSets.get" => Resp::json(&json!({
            "id": req.path, "name": segs.last().copied().unwrap_or_default(), "location": "westeurope", "type": "Microsoft.Compute/diskEncryptionSets",
            "identity": {"type": "SystemAssigned"},
            "properties": {"encryptionType": "EncryptionAtRestWithCustomerKey", "activeKey": {"keyUrl": "https://estate-kv.vault.azure.net/keys/disks/0123456789abcdef0123456789abcdef"}, "provisioningState": "Succeeded"}
        })),
        _ => error(
            404,
            "NotFound",
            &format!(
                "the synthetic estate does not serve {} {}",
                req.method, req.path
            ),
        ),
    }
}

fn identity(id: String, name: String, location: &str, principal: String, client: String) -> Value {
    json!({"id": id, "name": name, "location": location, "tags": {}, "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "properties": {"tenantId": TENANT, "principalId": principal, "clientId": client, "isolationScope": "None"}})
}

fn cluster(spec: &Spec, s: u32, k: u32) -> Value {
    let sp = sub_path(spec, s);
    let loc = spec.aks_location(k);
    let name = format!("aks-{k:03}");
    let wi = k.is_multiple_of(2);
    let mut props = json!({
        "provisioningState": "Succeeded", "powerState": {"code": "Running"}, "kubernetesVersion": "1.32", "currentKubernetesVersion": "1.32.7",
        "dnsPrefix": name, "fqdn": format!("{name}-dns.hcp.{loc}.azmk8s.io"), "nodeResourceGroup": format!("MC_rg-aks-{k:03}_{name}_{loc}"),
        "enableRBAC": true,
        "identityProfile": {"kubeletidentity": {"resourceId": kubelet_id(spec, s, k), "clientId": spec.client_id(s, 1, k), "objectId": spec.principal_id(s, 1, k)}},
        "agentPoolProfiles": [
            {"name": "system", "count": 3, "vmSize": "Standard_D4s_v5", "osType": "Linux", "mode": "System", "type": "VirtualMachineScaleSets", "osDiskType": "Managed", "enableNodePublicIP": false, "enableEncryptionAtHost": k.is_multiple_of(3)},
            {"name": "apps", "count": 3, "vmSize": "Standard_D4s_v5", "osType": "Linux", "mode": "User", "type": "VirtualMachineScaleSets", "osDiskType": "Ephemeral", "enableNodePublicIP": k % 5 == 4, "enableEncryptionAtHost": false}
        ],
        "networkProfile": {"networkPlugin": "azure", "networkPolicy": "cilium"},
        "disableLocalAccounts": k.is_multiple_of(3),
        "oidcIssuerProfile": if wi { json!({"enabled": true, "issuerURL": issuer(spec, s, k)}) } else { json!({"enabled": false}) },
        "securityProfile": {"workloadIdentity": {"enabled": wi}},
        "aadProfile": {"managed": true, "enableAzureRBAC": k % 2 == 1}
    });
    if k % 4 == 1 {
        props["apiServerAccessProfile"] = json!({"enablePrivateCluster": true});
    } else if k % 4 == 2 {
        props["apiServerAccessProfile"] = json!({"authorizedIPRanges": ["203.0.113.0/24"]});
    }
    if k % 3 == 1 {
        props["diskEncryptionSetID"] = json!(format!("{sp}/resourceGroups/rg-security/providers/Microsoft.Compute/diskEncryptionSets/des-{k:03}"));
    }
    json!({"id": format!("{sp}/resourceGroups/{}/providers/Microsoft.ContainerService/managedClusters/{name}", cluster_group(k)),
        "name": name, "type": "Microsoft.ContainerService/ManagedClusters", "location": loc, "tags": {"env": if k.is_multiple_of(2) { "prod" } else { "dev" }},
        "sku": {"name": "Base", "tier": "Standard"}, "identity": {"type": "SystemAssigned", "principalId": spec.principal_id(s, 3, k), "tenantId": TENANT},
        "properties": props})
}

/// One page of a list: `$skiptoken` is the offset; `nextLink` points back at this server.
fn page(req: &Req, base: &str, items: Vec<Value>) -> Resp {
    let start: usize = req
        .query("$skiptoken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let total = items.len();
    let value: Vec<Value> = items.into_iter().skip(start).take(PAGE).collect();
    let mut v = json!({"value": value});
    if start + PAGE < total {
        let api = req.query("api-version").unwrap_or("2022-04-01");
        v["nextLink"] = json!(format!(
            "{base}{}?api-version={api}&$skiptoken={}",
            req.path,
            start + PAGE
        ));
    }
    Resp::json(&v)
}
