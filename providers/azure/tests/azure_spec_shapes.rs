//! The adapter reads only what the published REST specs define, for the api-versions it calls.
//!
//! `target/azure-spec/azure-spec-shapes.json` is extracted by `tests/install-deps.sh` (Azure
//! section) from pinned azure-mgmt-* wheels (models generated from azure-rest-api-specs): per
//! shape set (`containerservice@2025-07-01`, ...), every model's REST keys (`_attribute_map`,
//! `properties.x` for flattened ones) and every enum's values. This test takes the JSON keys
//! each raw struct of `collect.rs` deserializes (serde's own field list, renames and aliases
//! included), pairs the struct with its spec model, and fails on any key or compared enum value
//! the spec does not have. A raw struct missing from the table fails too.

use cloudscan_azure::collect;
use cloudscan_azure::normalize::SPEC_ENUM_VALUES;
use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Pinned wheels tagged `py2.py3-none-any` (the others are `py3-none-any`).
const PY2_WHEELS: &[&str] = &["azure-mgmt-managementgroups"];

/// The pinned wheels: (file name, SHA-256) from the requirements file install-deps.sh uses.
fn pins() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(
        root().join("providers/azure/tests/spec/requirements-azure-spec.txt"),
    )
    .expect("requirements file");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (req, hash) = l.split_once(" --hash=sha256:").expect("a pinned hash");
            let (name, version) = req.split_once("==").expect("a pinned version");
            // Wheels built for Python 2 and 3 carry the older tag.
            let tag = if PY2_WHEELS.contains(&name) {
                "py2.py3-none-any"
            } else {
                "py3-none-any"
            };
            (
                format!("{}-{version}-{tag}.whl", name.replace('-', "_")),
                hash.trim().to_string(),
            )
        })
        .collect()
}

fn shapes() -> &'static Value {
    static SHAPES: OnceLock<Value> = OnceLock::new();
    SHAPES.get_or_init(|| {
        let path = root().join("target/azure-spec/azure-spec-shapes.json");
        if let Err(e) =
            cloudscan_collect::testkit::install_if_missing(&root(), std::slice::from_ref(&path))
        {
            panic!("the Azure spec shapes are not installed: {e}");
        }
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{} is missing ({e}); run tests/install-deps.sh",
                path.display()
            )
        });
        let doc: Value = serde_json::from_slice(&bytes).expect("shapes are JSON");
        // Extracted from exactly the pinned wheels, and from the wheels themselves.
        let packages = doc["packages"].as_array().expect("packages");
        let mut extracted: Vec<(String, String)> = packages
            .iter()
            .map(|p| {
                (
                    p["wheel"].as_str().expect("wheel").to_string(),
                    p["sha256"].as_str().expect("sha256").to_string(),
                )
            })
            .collect();
        let mut pinned = pins();
        extracted.sort();
        pinned.sort();
        assert_eq!(
            extracted, pinned,
            "the shapes are not from the pinned wheels"
        );
        let wheels = root().join("target/azure-spec/wheels");
        for (wheel, sha) in &pinned {
            if let Ok(bytes) = std::fs::read(wheels.join(wheel)) {
                let digest: String = Sha256::digest(&bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                assert_eq!(&digest, sha, "{wheel} is not the pinned wheel");
            }
        }
        doc
    })
}

/// The JSON keys a struct deserializes, from serde's own field list.
fn keys_of<'de, T: Deserialize<'de>>() -> Vec<&'static str> {
    struct Fields(Option<&'static [&'static str]>);
    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("stop")
        }
    }
    impl std::error::Error for Stop {}
    impl de::Error for Stop {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Stop
        }
    }
    impl<'de> Deserializer<'de> for &mut Fields {
        type Error = Stop;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0 = Some(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut d = Fields(None);
    let _ = T::deserialize(&mut d);
    d.0.expect("a struct with named fields").to_vec()
}

/// One raw struct and the spec model it reads: its keys are `prefix` + key in the model.
struct Read {
    rust: &'static str,
    keys: Vec<&'static str>,
    api: &'static str,
    model: &'static str,
    prefix: &'static str,
}

fn read<'de, T: Deserialize<'de>>(
    api: &'static str,
    model: &'static str,
    prefix: &'static str,
) -> Read {
    let full = std::any::type_name::<T>();
    Read {
        rust: full.rsplit("::").next().unwrap_or(full),
        keys: keys_of::<T>(),
        api,
        model,
        prefix,
    }
}

const AKS: &str = "containerservice@2025-07-01";
const AUTH: &str = "authorization@2022-04-01";
const MSI: &str = "managedidentity@2024-11-30";
const INSIGHTS: &str = "insights@2021-05-01-preview";
const COMPUTE: &str = "compute@2024-03-02";
const RESOURCES: &str = "resources@2022-12-01";
const MG: &str = "managementgroups@2021-04-01";

fn table() -> Vec<Read> {
    use collect::*;
    vec![
        read::<Subscription>(RESOURCES, "Subscription", ""),
        read::<Descendant>(MG, "DescendantInfo", ""),
        read::<DescendantProperties>(MG, "DescendantInfo", "properties."),
        read::<DescendantParent>(MG, "DescendantParentGroupInfo", ""),
        read::<ManagedCluster>(AKS, "ManagedCluster", ""),
        read::<ClusterProperties>(AKS, "ManagedCluster", "properties."),
        read::<ApiServerAccessProfile>(AKS, "ManagedClusterAPIServerAccessProfile", ""),
        read::<AadProfile>(AKS, "ManagedClusterAADProfile", ""),
        read::<UserAssignedIdentity>(AKS, "UserAssignedIdentity", ""),
        read::<ServicePrincipalProfile>(AKS, "ManagedClusterServicePrincipalProfile", ""),
        read::<OidcIssuerProfile>(AKS, "ManagedClusterOIDCIssuerProfile", ""),
        read::<SecurityProfile>(AKS, "ManagedClusterSecurityProfile", ""),
        read::<Toggle>(AKS, "ManagedClusterSecurityProfileWorkloadIdentity", ""),
        read::<KeyVaultKms>(AKS, "AzureKeyVaultKms", ""),
        read::<AgentPool>(AKS, "ManagedClusterAgentPoolProfile", ""),
        read::<RoleAssignment>(AUTH, "RoleAssignment", ""),
        read::<RoleAssignmentProperties>(AUTH, "RoleAssignment", "properties."),
        read::<RoleDefinition>(AUTH, "RoleDefinition", ""),
        read::<RoleDefinitionProperties>(AUTH, "RoleDefinition", "properties."),
        read::<Permission>(AUTH, "Permission", ""),
        read::<DenyAssignment>(AUTH, "DenyAssignment", ""),
        read::<DenyAssignmentProperties>(AUTH, "DenyAssignment", "properties."),
        read::<Principal>(AUTH, "Principal", ""),
        read::<ManagedIdentity>(MSI, "Identity", ""),
        read::<ManagedIdentityProperties>(MSI, "Identity", "properties."),
        read::<FederatedCredential>(MSI, "FederatedIdentityCredential", ""),
        read::<FederatedCredentialProperties>(MSI, "FederatedIdentityCredential", "properties."),
        read::<DiagnosticSetting>(INSIGHTS, "DiagnosticSettingsResource", ""),
        read::<DiagnosticProperties>(INSIGHTS, "DiagnosticSettingsResource", "properties."),
        read::<DiagnosticLog>(INSIGHTS, "LogSettings", ""),
        read::<DiskEncryptionSet>(COMPUTE, "DiskEncryptionSet", ""),
        read::<DiskEncryptionSetProperties>(COMPUTE, "DiskEncryptionSet", "properties."),
        read::<ActiveKey>(COMPUTE, "KeyForDiskEncryptionSet", ""),
    ]
}

/// Nested reads: the key of a parent model whose spec type must be the child's model
/// (`T`, `[T]` or `{T}`), so the table above compares each struct with the right model.
const NESTED: &[(&str, &str, &str, &str)] = &[
    (
        MG,
        "DescendantInfo",
        "properties.parent",
        "DescendantParentGroupInfo",
    ),
    (
        AKS,
        "ManagedCluster",
        "properties.apiServerAccessProfile",
        "ManagedClusterAPIServerAccessProfile",
    ),
    (
        AKS,
        "ManagedCluster",
        "properties.aadProfile",
        "ManagedClusterAADProfile",
    ),
    (
        AKS,
        "ManagedCluster",
        "properties.identityProfile",
        "UserAssignedIdentity",
    ),
    (
        AKS,
        "ManagedCluster",
        "properties.servicePrincipalProfile",
        "ManagedClusterServicePrincipalProfile",
    ),
    (
        AKS,
        "ManagedCluster",
        "properties.oidcIssuerProfile",
        "ManagedClusterOIDCIssuerProfile",
    ),
    (
        AKS,
        "ManagedCluster",
        "properties.securityProfile",
        "ManagedClusterSecurityProfile",
    ),
    (
        AKS,
        "ManagedClusterSecurityProfile",
        "workloadIdentity",
        "ManagedClusterSecurityProfileWorkloadIdentity",
    ),
    (
        AKS,
        "ManagedClusterSecurityProfile",
        "azureKeyVaultKms",
        "AzureKeyVaultKms",
    ),
    (
        AKS,
        "ManagedCluster",
        "properties.agentPoolProfiles",
        "ManagedClusterAgentPoolProfile",
    ),
    (
        AUTH,
        "RoleDefinition",
        "properties.permissions",
        "Permission",
    ),
    (
        AUTH,
        "DenyAssignment",
        "properties.permissions",
        "DenyAssignmentPermission",
    ),
    (AUTH, "DenyAssignment", "properties.principals", "Principal"),
    (
        AUTH,
        "DenyAssignment",
        "properties.excludePrincipals",
        "Principal",
    ),
    (
        INSIGHTS,
        "DiagnosticSettingsResource",
        "properties.logs",
        "LogSettings",
    ),
    (
        COMPUTE,
        "DiskEncryptionSet",
        "properties.activeKey",
        "KeyForDiskEncryptionSet",
    ),
];

fn model<'a>(api: &str, name: &str) -> &'a serde_json::Map<String, Value> {
    shapes()["apis"][api]["models"][name]["keys"]
        .as_object()
        .unwrap_or_else(|| panic!("{api}: the spec has no model {name}"))
}

#[test]
fn every_key_the_adapter_reads_is_in_the_spec() {
    let mut missing = Vec::new();
    let mut checked = 0;
    for r in table() {
        let keys = model(r.api, r.model);
        for key in &r.keys {
            checked += 1;
            let full = format!("{}{key}", r.prefix);
            // `properties` is the envelope msrest flattens: the model has `properties.*` keys,
            // read by the `...Properties` struct of the same model.
            let envelope =
                *key == "properties" && keys.keys().any(|k| k.starts_with("properties."));
            if !envelope && !keys.contains_key(&full) {
                missing.push(format!(
                    "{} reads `{key}`: {} {} has no `{full}`",
                    r.rust, r.api, r.model
                ));
            }
        }
    }
    eprintln!(
        "{checked} keys of {} raw structs checked against the spec",
        table().len()
    );
    assert!(
        missing.is_empty(),
        "keys not in the spec:\n{}",
        missing.join("\n")
    );
    assert!(checked > 80, "only {checked} keys checked");
}

#[test]
fn nested_structs_are_compared_with_the_model_the_spec_names() {
    for (api, parent, key, child) in NESTED {
        let ty = model(api, parent)
            .get(*key)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{api} {parent} has no `{key}`"));
        let inner = ty
            .trim_start_matches(['[', '{'])
            .trim_end_matches([']', '}']);
        assert_eq!(inner, *child, "{api} {parent}.{key} is `{ty}`");
    }
    // The deny assignment's permission block has the role definition's keys.
    let deny = model(AUTH, "DenyAssignmentPermission");
    for key in keys_of::<collect::Permission>() {
        assert!(
            deny.contains_key(key),
            "DenyAssignmentPermission has no `{key}`"
        );
    }
}

#[test]
fn every_raw_struct_is_checked() {
    let source =
        std::fs::read_to_string(root().join("providers/azure/src/collect.rs")).expect("collect.rs");
    let declared: BTreeSet<String> = source
        .split("#[derive(")
        .skip(1)
        .filter(|block| {
            block
                .split(')')
                .next()
                .is_some_and(|d| d.contains("Deserialize"))
        })
        .filter_map(|block| {
            let rest = block.split("pub struct ").nth(1)?;
            Some(
                rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                    .next()?
                    .to_string(),
            )
        })
        .collect();
    let checked: BTreeSet<String> = table().iter().map(|r| r.rust.to_string()).collect();
    let unchecked: Vec<&String> = declared.difference(&checked).collect();
    assert!(
        unchecked.is_empty(),
        "raw structs not compared with the spec: {unchecked:?}"
    );
    assert!(declared.len() >= 30, "{declared:?}");
}

#[test]
fn every_enum_value_the_normalizer_compares_is_in_the_spec() {
    let mut checked = 0;
    for (api, name, value) in SPEC_ENUM_VALUES {
        let values = shapes()["apis"][api]["enums"][name]
            .as_array()
            .unwrap_or_else(|| panic!("{api}: the spec has no enum {name}"));
        assert!(
            values.iter().any(|v| v.as_str() == Some(value)),
            "{api} {name} has no value `{value}`: {values:?}"
        );
        checked += 1;
    }
    assert!(checked >= 4);
    // The documented spelling of the role definition type is a plain string in the spec.
    assert_eq!(
        model(AUTH, "RoleDefinition")
            .get("properties.type")
            .and_then(Value::as_str),
        Some("str")
    );
}

/// The check itself catches a key or a value the spec does not have.
#[test]
fn the_check_refuses_what_the_spec_lacks() {
    let agent = model(AKS, "ManagedClusterAgentPoolProfile");
    assert!(agent.contains_key("osDiskType"));
    assert!(!agent.contains_key("osDiskKind"));
    assert!(!model(AKS, "ManagedCluster").contains_key("properties.authorizedIPRanges"));
    let disk = shapes()["apis"][AKS]["enums"]["OSDiskType"]
        .as_array()
        .expect("OSDiskType");
    assert!(!disk.iter().any(|v| v.as_str() == Some("Local")));
    // The fixture walk refuses a key at any depth, under the flattened `properties` too.
    let mut errors = Vec::new();
    let cluster = serde_json::json!({"name": "c", "properties": {
        "apiServerAccessProfile": {"authorizedIPRanges": ["0.0.0.0/32"], "authorizedIpRanges": []},
        "agentPoolProfiles": [{"name": "p", "osDiskType": "Ephemeral", "osDiskKind": "x"}]}});
    check_object(AKS, "ManagedCluster", "", &cluster, "test", &mut errors);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].contains("authorizedIpRanges") || errors[1].contains("authorizedIpRanges"));
}

/// Checks `value` against `model` (keys under `prefix` for msrest's flattened `properties.x`).
fn check_value(api: &str, ty: &str, value: &Value, at: &str, errors: &mut Vec<String>) {
    let models = &shapes()["apis"][api]["models"];
    if value.is_null() {
        return;
    }
    if let Some(inner) = ty.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        for (i, v) in value.as_array().into_iter().flatten().enumerate() {
            check_value(api, inner, v, &format!("{at}[{i}]"), errors);
        }
        return;
    }
    if let Some(inner) = ty.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        for (k, v) in value.as_object().into_iter().flatten() {
            check_value(api, inner, v, &format!("{at}.{k}"), errors);
        }
        return;
    }
    if models.get(ty).is_some() {
        check_object(api, ty, "", value, at, errors);
    }
}

fn check_object(
    api: &str,
    model_name: &str,
    prefix: &str,
    value: &Value,
    at: &str,
    errors: &mut Vec<String>,
) {
    let keys = model(api, model_name);
    let Some(object) = value.as_object() else {
        errors.push(format!("{at}: {model_name} is not an object"));
        return;
    };
    for (k, v) in object {
        let full = format!("{prefix}{k}");
        if let Some(ty) = keys.get(&full).and_then(Value::as_str) {
            check_value(api, ty, v, &format!("{at}.{k}"), errors);
        } else if keys.keys().any(|key| key.starts_with(&format!("{full}."))) {
            check_object(
                api,
                model_name,
                &format!("{full}."),
                v,
                &format!("{at}.{k}"),
                errors,
            );
        } else {
            errors.push(format!("{at}: {api} {model_name} has no `{full}`"));
        }
    }
}

/// The bundled scenarios are written in the spec's shapes: every key of every recorded item
/// is a key of its model (recursively), so the tests above exercise what ARM can send.
#[test]
fn the_bundled_scenarios_use_only_spec_keys() {
    let ops: &[(&str, &str, &str, bool)] = &[
        ("descendants.list", MG, "DescendantInfo", true),
        ("subscriptions.get", RESOURCES, "Subscription", false),
        ("managedClusters.list", AKS, "ManagedCluster", true),
        ("roleAssignments.list", AUTH, "RoleAssignment", true),
        ("denyAssignments.list", AUTH, "DenyAssignment", true),
        ("roleDefinitions.get", AUTH, "RoleDefinition", false),
        ("userAssignedIdentities.list", MSI, "Identity", true),
        (
            "federatedIdentityCredentials.list",
            MSI,
            "FederatedIdentityCredential",
            true,
        ),
        (
            "diagnosticSettings.list",
            INSIGHTS,
            "DiagnosticSettingsResource",
            true,
        ),
        (
            "diskEncryptionSets.get",
            COMPUTE,
            "DiskEncryptionSet",
            false,
        ),
    ];
    let mut errors = Vec::new();
    let mut items = 0;
    let mut stack = vec![root().join("mocks/azure")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("json")
                || path.file_name().and_then(|n| n.to_str()) == Some("scenario.json")
            {
                continue;
            }
            let exchange: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
            let op = exchange["request"]["operation"]
                .as_str()
                .unwrap_or_default();
            let Some((_, api, model_name, list)) = ops.iter().find(|(o, ..)| *o == op) else {
                continue;
            };
            for r in exchange["responses"].as_array().into_iter().flatten() {
                let body = &r["json"];
                if body.get("error").is_some() {
                    continue;
                }
                let values: Vec<&Value> = if *list {
                    body["value"].as_array().into_iter().flatten().collect()
                } else {
                    vec![body]
                };
                for v in values {
                    items += 1;
                    let at = format!("{}", path.strip_prefix(root()).unwrap_or(&path).display());
                    check_object(api, model_name, "", v, &at, &mut errors);
                }
            }
        }
    }
    assert!(
        errors.is_empty(),
        "fixture keys not in the spec:\n{}",
        errors.join("\n")
    );
    assert!(items > 40, "only {items} items checked");
}
