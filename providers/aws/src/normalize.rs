//! Turns the raw AWS records into the cloud-neutral inventory. Pure and synchronous.

use crate::collect::{
    RawAccessEntry, RawCluster, RawIam, RawInstance, RawKey, RawLaunchTemplateVersion, RawOidc,
    RawPodIdentity, RawTrail, RawVolume,
};
use cloudscan_inventory::{
    AccessEntry, AuditLogging, AuditTrail, Cluster, ClusterAuth, Coverage, EncryptionDefault,
    Endpoint, Identity, Inventory, KeyRef, KeyState, ManagementEvents, MetadataSetting, Node,
    NodePool, OidcProvider, PolicyDoc, Provider, Scope, SecretsEncryption, UsedBy, Volume,
    WorkloadBinding, WorkloadIdentity,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Everything the collectors gathered. `None` means "could not be collected" (see coverage).
#[derive(Debug, Default)]
pub struct RawScan {
    pub account: String,
    pub partition: String,
    pub caller: String,
    pub regions: Vec<String>,
    pub iam: Option<RawIam>,
    pub oidc: Option<Vec<RawOidc>>,
    pub clusters: Vec<RawCluster>,
    /// Keyed by cluster ARN.
    pub pod_identities: HashMap<String, Option<Vec<RawPodIdentity>>>,
    pub access_entries: HashMap<String, Option<Vec<RawAccessEntry>>>,
    pub instances: Vec<RawInstance>,
    pub volumes: Vec<RawVolume>,
    /// (region, enabled); enabled is None when the call failed.
    pub ebs_defaults: Vec<(String, Option<bool>)>,
    pub launch_templates: Vec<RawLaunchTemplateVersion>,
    pub keys: Vec<RawKey>,
    pub trails: Vec<RawTrail>,
    pub coverage: Vec<Coverage>,
}

const TAG_CLUSTER: &str = "eks:cluster-name";
const TAG_NODEGROUP: &str = "eks:nodegroup-name";
const TAG_CLUSTER_PREFIX: &str = "kubernetes.io/cluster/";
const TAG_ASG: &str = "aws:autoscaling:groupName";

/// The cluster an instance belongs to, by its tags.
pub fn instance_cluster(instance: &RawInstance) -> Option<String> {
    if let Some(name) = instance.tags.get(TAG_CLUSTER) {
        return Some(name.clone());
    }
    instance
        .tags
        .keys()
        .find_map(|k| k.strip_prefix(TAG_CLUSTER_PREFIX).map(str::to_string))
}

/// The session policy of a Pod Identity association, decoded; one that does not decode keeps
/// the error (and then narrows nothing).
fn pod_identity_session_policy(
    cluster: &str,
    namespace: &str,
    service_account: &str,
    raw: &str,
) -> PolicyDoc {
    let (document, error) = match decode_policy(raw) {
        Ok(v) => (Some(v.into()), None),
        Err(e) => (None, Some(e)),
    };
    PolicyDoc {
        kind: "session".to_string(),
        name: format!(
            "pod identity association {namespace}/{service_account} in cluster {cluster}"
        ),
        document,
        error,
        ..Default::default()
    }
}

/// Decodes a policy document as IAM returns it: URL-encoded (RFC 3986) on the wire, plain JSON
/// from some APIs and emulators. Plain JSON is never percent-decoded, so a literal `%` survives.
pub fn decode_policy(raw: &str) -> Result<serde_json::Value, String> {
    let trimmed = raw.trim_start();
    let text = if trimmed.starts_with('{') {
        std::borrow::Cow::Borrowed(trimmed)
    } else {
        percent_encoding::percent_decode_str(trimmed)
            .decode_utf8()
            .map_err(|e| format!("the URL-encoded document is not UTF-8: {e}"))?
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("the document is not valid JSON: {e}"))?;
    if !value.is_object() {
        return Err("the document is not a JSON object".to_string());
    }
    Ok(value)
}

fn policy_doc(kind: &str, name: &str, arn: Option<&str>, raw: Option<&str>) -> PolicyDoc {
    let mut doc = PolicyDoc {
        kind: kind.to_string(),
        name: name.to_string(),
        arn: arn.map(str::to_string),
        ..Default::default()
    };
    match raw {
        Some(raw) => match decode_policy(raw) {
            Ok(value) => doc.document = Some(value.into()),
            Err(e) => doc.error = Some(e),
        },
        None => doc.error = Some("the document was not collected".to_string()),
    }
    doc
}

fn tokens_required(tokens: Option<&String>) -> Option<bool> {
    tokens.map(|t| t == "required")
}

fn key_state(raw: &str) -> KeyState {
    match raw {
        "Enabled" => KeyState::Enabled,
        "Disabled" => KeyState::Disabled,
        "PendingDeletion" | "PendingReplicaDeletion" => KeyState::PendingDeletion,
        "PendingImport" => KeyState::PendingImport,
        "Unavailable" => KeyState::Unavailable,
        _ => KeyState::Other,
    }
}

pub fn normalize(raw: RawScan) -> Inventory {
    let mut inventory = Inventory::new(Provider::Aws);
    inventory.caller = Some(raw.caller.clone()).filter(|c| !c.is_empty());
    inventory.scopes.push(Scope {
        id: raw.account.clone(),
        name: None,
        partition: Some(raw.partition.clone()),
    });
    inventory.regions = raw.regions.clone();
    let account = raw.account.as_str();
    let partition = raw.partition.as_str();

    // Instance profile -> role.
    let mut profile_role: HashMap<&str, &str> = HashMap::new();
    if let Some(iam) = &raw.iam {
        for role in &iam.roles {
            for profile in &role.instance_profiles {
                profile_role.insert(profile.as_str(), role.arn.as_str());
            }
        }
    }
    let role_of_profile = |profile: Option<&String>| -> Option<String> {
        let profile = profile?;
        profile_role.get(profile.as_str()).map(|r| r.to_string())
    };

    // Launch template versions by the reference they were fetched for.
    let lt_by_ref: HashMap<
        (String, &crate::collect::LaunchTemplateRef),
        &RawLaunchTemplateVersion,
    > = raw
        .launch_templates
        .iter()
        .map(|lt| ((lt.region.clone(), &lt.requested), lt))
        .collect();
    let key_by_id: HashMap<&str, &RawKey> =
        raw.keys.iter().map(|k| (k.requested.as_str(), k)).collect();

    // instance id -> (cluster, pool)
    let mut node_location: HashMap<String, (String, String)> = HashMap::new();
    // role ARN -> used by
    let mut used_by: BTreeMap<String, Vec<UsedBy>> = BTreeMap::new();

    for rc in &raw.clusters {
        let mut cluster = Cluster {
            id: rc.arn.clone(),
            name: rc.name.clone(),
            scope: account.to_string(),
            region: rc.region.clone(),
            version: rc.version.clone(),
            tags: rc.tags.clone(),
            api_endpoints: rc.endpoint.iter().cloned().collect(),
            ..Default::default()
        };

        // Endpoint exposure.
        let mut source = "eks:DescribeCluster cluster.resourcesVpcConfig".to_string();
        let mut cidrs = rc.public_cidrs.clone();
        if rc.public_access == Some(true) && cidrs.is_empty() {
            cidrs.push("0.0.0.0/0".to_string());
            source.push_str(" (publicAccessCidrs absent: the EKS default is 0.0.0.0/0)");
        }
        cluster.endpoint = Endpoint {
            public_access: rc.public_access,
            private_access: rc.private_access,
            public_cidrs: cidrs,
            source,
        };

        // Secrets encryption.
        let secrets_entry = rc
            .encryption
            .iter()
            .find(|(resources, _)| resources.iter().any(|r| r == "secrets"));
        cluster.secrets_encryption = SecretsEncryption {
            enabled: Some(secrets_entry.is_some_and(|(_, key)| key.is_some())),
            key: secrets_entry.and_then(|(_, key)| key.clone()).map(|id| {
                let known = key_by_id.get(id.as_str());
                KeyRef {
                    state: known.and_then(|k| k.state.as_deref()).map(key_state),
                    raw_state: known.and_then(|k| k.state.clone()),
                    id,
                }
            }),
            source: "eks:DescribeCluster cluster.encryptionConfig".to_string(),
        };

        // Control-plane logging: every entry counts, not only the first.
        cluster.audit_logging = match &rc.logging {
            Some(setups) => {
                let mut enabled = BTreeSet::new();
                let mut disabled = BTreeSet::new();
                for (types, on) in setups {
                    for t in types {
                        if *on == Some(true) {
                            enabled.insert(t.clone());
                        } else {
                            disabled.insert(t.clone());
                        }
                    }
                }
                for t in &enabled {
                    disabled.remove(t);
                }
                AuditLogging {
                    audit_enabled: Some(enabled.contains("audit")),
                    enabled_types: enabled.into_iter().collect(),
                    disabled_types: disabled.into_iter().collect(),
                    source: "eks:DescribeCluster cluster.logging.clusterLogging".to_string(),
                }
            }
            None => AuditLogging {
                source: "eks:DescribeCluster (no logging in the response)".to_string(),
                ..Default::default()
            },
        };

        // Authentication.
        let access_entries = raw.access_entries.get(&rc.arn).cloned().flatten();
        cluster.auth = ClusterAuth {
            mode: rc.auth_mode.clone(),
            local_auth_enabled: match rc.auth_mode.as_deref() {
                Some("CONFIG_MAP") => Some(true),
                Some(_) => Some(false),
                None => None,
            },
            details: rc
                .auth_mode
                .iter()
                .map(|m| format!("accessConfig.authenticationMode = {m}"))
                .collect(),
            access_entries: access_entries
                .unwrap_or_default()
                .into_iter()
                .map(|e| AccessEntry {
                    principal: e.principal,
                    kind: e.kind,
                    username: e.username,
                    groups: e.groups,
                })
                .collect(),
        };

        // Node pools: managed node groups, then self-managed nodes.
        let cluster_instances: Vec<&RawInstance> = raw
            .instances
            .iter()
            .filter(|i| i.region == rc.region && instance_cluster(i).as_deref() == Some(&rc.name))
            .collect();
        let mut claimed: BTreeSet<&str> = BTreeSet::new();
        for ng in &rc.nodegroups {
            let mut pool = NodePool {
                name: ng.name.clone(),
                id: ng.arn.clone(),
                kind: "managed".to_string(),
                identity: ng.node_role.clone(),
                ..Default::default()
            };
            if let Some(reference) = &ng.launch_template {
                let label = format!(
                    "{} version {}",
                    reference
                        .id
                        .clone()
                        .or_else(|| reference.name.clone())
                        .unwrap_or_default(),
                    reference
                        .version
                        .clone()
                        .unwrap_or_else(|| "$Default".into())
                );
                pool.launch_template = Some(label.clone());
                if let Some(lt) = lt_by_ref.get(&(rc.region.clone(), reference)) {
                    pool.metadata.push(MetadataSetting {
                        level: "launch-template".to_string(),
                        resource: format!(
                            "arn:{partition}:ec2:{}:{account}:launch-template/{}",
                            rc.region, lt.id
                        ),
                        tokens_required: tokens_required(lt.http_tokens.as_ref()),
                        hop_limit: lt.hop_limit.and_then(|h| u32::try_from(h).ok()),
                        endpoint_enabled: lt.http_endpoint.as_deref().map(|e| e == "enabled"),
                        mode: None,
                        source: format!(
                            "ec2:DescribeLaunchTemplateVersions {} version {} launchTemplateData.metadataOptions{}",
                            lt.name.clone().unwrap_or_else(|| lt.id.clone()),
                            lt.version.map(|v| v.to_string()).unwrap_or_default(),
                            // Unset options are inherited from the AMI or the account's
                            // instance metadata defaults at launch: say so in the evidence.
                            if lt.http_tokens.is_none() && lt.hop_limit.is_none() {
                                " (absent: inherited at launch)"
                            } else {
                                ""
                            }
                        ),
                    });
                }
            }
            for i in cluster_instances
                .iter()
                .filter(|i| i.tags.get(TAG_NODEGROUP) == Some(&ng.name))
            {
                claimed.insert(i.id.as_str());
                add_instance(&mut pool, i, account, partition, &role_of_profile);
                node_location.insert(i.id.clone(), (rc.name.clone(), ng.name.clone()));
            }
            cluster.node_pools.push(pool);
        }
        let mut self_managed: BTreeMap<String, NodePool> = BTreeMap::new();
        for i in cluster_instances
            .iter()
            .filter(|i| !claimed.contains(i.id.as_str()))
        {
            let name = i
                .tags
                .get(TAG_ASG)
                .or_else(|| i.tags.get(TAG_NODEGROUP))
                .cloned()
                .unwrap_or_else(|| "self-managed".to_string());
            let pool = self_managed
                .entry(name.clone())
                .or_insert_with(|| NodePool {
                    name: name.clone(),
                    kind: "self-managed".to_string(),
                    identity: role_of_profile(i.profile_arn.as_ref()),
                    ..Default::default()
                });
            add_instance(pool, i, account, partition, &role_of_profile);
            node_location.insert(i.id.clone(), (rc.name.clone(), name));
        }
        cluster.node_pools.extend(self_managed.into_values());

        for pool in &cluster.node_pools {
            let mut roles: BTreeSet<String> = pool.identity.iter().cloned().collect();
            roles.extend(pool.nodes.iter().filter_map(|n| n.identity.clone()));
            for role in roles {
                used_by.entry(role).or_default().push(UsedBy::NodePool {
                    cluster: rc.name.clone(),
                    pool: pool.name.clone(),
                });
            }
        }

        // Workload identity.
        let issuer_host = rc
            .issuer
            .as_deref()
            .map(|i| i.trim_start_matches("https://").to_string());
        let provider_registered = match (&raw.oidc, &issuer_host) {
            (Some(providers), Some(host)) => Some(providers.iter().any(|p| &p.url == host)),
            (Some(_), None) => Some(false),
            (None, _) => None,
        };
        let pod_identities = raw.pod_identities.get(&rc.arn).cloned().flatten();
        let mut bindings = Vec::new();
        if let Some(associations) = &pod_identities {
            for a in associations {
                if let Some(role) = &a.role_arn {
                    bindings.push(WorkloadBinding {
                        namespace: a.namespace.clone(),
                        service_account: a.service_account.clone(),
                        identity: role.clone(),
                        mechanism: "pod-identity".to_string(),
                        target_identity: a.target_role_arn.clone(),
                        session_policy: a.policy.as_deref().map(|raw| {
                            pod_identity_session_policy(
                                &rc.name,
                                &a.namespace,
                                &a.service_account,
                                raw,
                            )
                        }),
                    });
                }
            }
        }
        if let (Some(iam), Some(host)) = (&raw.iam, &issuer_host) {
            if provider_registered == Some(true) {
                for role in &iam.roles {
                    let Some(trust) = role.trust.as_deref().and_then(|t| decode_policy(t).ok())
                    else {
                        continue;
                    };
                    for (namespace, service_account) in irsa_subjects(&trust, host) {
                        bindings.push(WorkloadBinding {
                            namespace,
                            service_account,
                            identity: role.arn.clone(),
                            mechanism: "irsa".to_string(),
                            target_identity: None,
                            session_policy: None,
                        });
                    }
                }
            }
        }
        for b in &bindings {
            used_by
                .entry(b.identity.clone())
                .or_default()
                .push(b.user(&rc.name));
        }
        let pod_identity_count = pod_identities.as_ref().map(Vec::len);
        cluster.workload_identity = WorkloadIdentity {
            issuer: rc.issuer.clone(),
            provider_registered,
            pod_identity_associations: pod_identity_count,
            enabled: match (provider_registered, pod_identity_count) {
                (Some(true), _) => Some(true),
                (_, Some(n)) if n > 0 => Some(true),
                (Some(false), Some(0)) => Some(false),
                _ => None,
            },
            bindings,
        };
        inventory.clusters.push(cluster);
    }

    // Identities: every role, with who can use it.
    if let Some(iam) = &raw.iam {
        for role in &iam.roles {
            let policy = |arn: &str| iam.policies.get(arn);
            let mut identity = Identity {
                id: role.arn.clone(),
                name: role.name.clone(),
                kind: "aws-role".to_string(),
                scope: account.to_string(),
                used_by: used_by.remove(&role.arn).unwrap_or_default(),
                trust: role
                    .trust
                    .as_deref()
                    .map(|t| policy_doc("trust", "trust policy", None, Some(t))),
                instance_profiles: role.instance_profiles.clone(),
                ..Default::default()
            };
            for (name, document) in &role.inline {
                identity
                    .policies
                    .push(policy_doc("inline", name, None, Some(document)));
            }
            for (name, arn) in &role.managed {
                let p = policy(arn);
                let mut doc = policy_doc(
                    "managed",
                    name,
                    Some(arn),
                    p.and_then(|p| p.document.as_deref()),
                );
                doc.version = p.and_then(|p| p.default_version.clone());
                identity.policies.push(doc);
            }
            if let Some(arn) = &role.boundary {
                let p = policy(arn);
                let name = p.map(|p| p.name.clone()).unwrap_or_else(|| arn.clone());
                let mut doc = policy_doc(
                    "boundary",
                    &name,
                    Some(arn),
                    p.and_then(|p| p.document.as_deref()),
                );
                doc.version = p.and_then(|p| p.default_version.clone());
                identity.boundary = Some(doc);
            }
            inventory.identities.push(identity);
        }
    }
    // Roles used by nodes or workloads that IAM did not return (IAM failed, or another account).
    for (arn, users) in used_by {
        inventory.identities.push(Identity {
            name: arn.rsplit('/').next().unwrap_or(&arn).to_string(),
            id: arn,
            kind: "aws-role".to_string(),
            scope: account.to_string(),
            used_by: users,
            ..Default::default()
        });
    }

    if let Some(providers) = &raw.oidc {
        inventory.oidc_providers = providers
            .iter()
            .map(|p| OidcProvider {
                id: p.arn.clone(),
                url: p.url.clone(),
                client_ids: p.client_ids.clone(),
            })
            .collect();
    }

    for (region, enabled) in &raw.ebs_defaults {
        inventory.encryption_defaults.push(EncryptionDefault {
            scope: account.to_string(),
            region: region.clone(),
            resource: format!("arn:{partition}:ec2:{region}:{account}:ebs-encryption-by-default"),
            enabled: *enabled,
            key: None,
            source: "ec2:GetEbsEncryptionByDefault EbsEncryptionByDefault".to_string(),
        });
    }

    for v in &raw.volumes {
        let location = v.attached_to.iter().find_map(|i| node_location.get(i));
        if location.is_none() {
            continue;
        }
        inventory.volumes.push(Volume {
            id: format!("arn:{partition}:ec2:{}:{account}:volume/{}", v.region, v.id),
            scope: account.to_string(),
            region: v.region.clone(),
            encrypted: v.encrypted,
            key: v.kms_key.clone(),
            attached_to: v.attached_to.clone(),
            cluster: location.map(|l| l.0.clone()),
            node_pool: location.map(|l| l.1.clone()),
        });
    }

    let mut seen = BTreeSet::new();
    for t in &raw.trails {
        if !seen.insert(t.arn.clone()) {
            continue;
        }
        inventory.audit_trails.push(AuditTrail {
            id: t.arn.clone(),
            name: t.name.clone(),
            scope: account.to_string(),
            region: t.home_region.clone().unwrap_or_default(),
            multi_region: t.multi_region,
            logging: t.logging,
            management_events: management_events(t),
            organization_trail: t.organization,
            encrypted_with: t.kms_key.clone(),
        });
    }

    inventory.coverage = raw.coverage;
    // Roles attached to the same managed policy, or with the same trust policy, share one
    // decoded document instead of a copy each (issue 13: memory).
    inventory.share_identical_documents();
    inventory
}

fn add_instance(
    pool: &mut NodePool,
    i: &RawInstance,
    account: &str,
    partition: &str,
    role_of_profile: &dyn Fn(Option<&String>) -> Option<String>,
) {
    let arn = format!(
        "arn:{partition}:ec2:{}:{account}:instance/{}",
        i.region, i.id
    );
    pool.metadata.push(MetadataSetting {
        level: "instance".to_string(),
        resource: arn.clone(),
        tokens_required: tokens_required(i.http_tokens.as_ref()),
        hop_limit: i.hop_limit.and_then(|h| u32::try_from(h).ok()),
        endpoint_enabled: i.http_endpoint.as_deref().map(|e| e == "enabled"),
        mode: None,
        source: "ec2:DescribeInstances instance.metadataOptions".to_string(),
    });
    pool.nodes.push(Node {
        id: arn,
        region: i.region.clone(),
        identity: role_of_profile(i.profile_arn.as_ref()),
        state: i.state.clone(),
    });
}

/// Which management events a trail records, from its classic or advanced event selectors.
fn management_events(t: &RawTrail) -> Option<ManagementEvents> {
    if let Some(categories) = &t.advanced_categories {
        let management = categories
            .iter()
            .any(|c| c.iter().any(|v| v == "Management"));
        if !management {
            return Some(ManagementEvents::None);
        }
        return Some(match t.readonly_filters.as_slice() {
            [only] if only == "true" => ManagementEvents::ReadOnly,
            [only] if only == "false" => ManagementEvents::WriteOnly,
            _ => ManagementEvents::All,
        });
    }
    let selectors = t.selectors.as_ref()?;
    let (mut read, mut write) = (false, false);
    for (rw, include_management) in selectors {
        if *include_management == Some(false) {
            continue;
        }
        match rw.as_deref() {
            Some("ReadOnly") => read = true,
            Some("WriteOnly") => write = true,
            _ => {
                read = true;
                write = true;
            }
        }
    }
    Some(match (read, write) {
        (true, true) => ManagementEvents::All,
        (true, false) => ManagementEvents::ReadOnly,
        (false, true) => ManagementEvents::WriteOnly,
        (false, false) => ManagementEvents::None,
    })
}

/// The Kubernetes service accounts an IRSA trust policy admits for the given issuer host:
/// `(namespace, service account)`, with `*` where the trust does not pin it down.
pub fn irsa_subjects(trust: &serde_json::Value, issuer_host: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let provider_suffix = format!(":oidc-provider/{issuer_host}");
    for statement in as_list(trust.get("Statement")) {
        if statement.get("Effect").and_then(|e| e.as_str()) != Some("Allow") {
            continue;
        }
        let federated = statement
            .get("Principal")
            .and_then(|p| p.get("Federated"))
            .map(|f| as_list(Some(f)))
            .unwrap_or_default();
        if !federated
            .iter()
            .filter_map(|f| f.as_str())
            .any(|f| f.ends_with(&provider_suffix))
        {
            continue;
        }
        let sub_key = format!("{issuer_host}:sub");
        let mut subjects = Vec::new();
        if let Some(conditions) = statement.get("Condition").and_then(|c| c.as_object()) {
            for (operator, keys) in conditions {
                if operator.contains("Not") {
                    continue;
                }
                let Some(keys) = keys.as_object() else {
                    continue;
                };
                for (key, values) in keys {
                    if key.eq_ignore_ascii_case(&sub_key) {
                        subjects.extend(
                            as_list(Some(values))
                                .iter()
                                .filter_map(|v| v.as_str().map(str::to_string)),
                        );
                    }
                }
            }
        }
        if subjects.is_empty() {
            out.push(("*".to_string(), "*".to_string()));
        }
        for subject in subjects {
            let rest = subject
                .strip_prefix("system:serviceaccount:")
                .unwrap_or(&subject);
            let (ns, sa) = rest.split_once(':').unwrap_or((rest, "*"));
            out.push((ns.to_string(), sa.to_string()));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn as_list(value: Option<&serde_json::Value>) -> Vec<&serde_json::Value> {
    match value {
        Some(serde_json::Value::Array(items)) => items.iter().collect(),
        Some(v) => vec![v],
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pod_identity_session_policy_is_decoded_or_keeps_its_error() {
        let doc = pod_identity_session_policy(
            "c",
            "ns",
            "sa",
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#,
        );
        assert_eq!(doc.kind, "session");
        assert_eq!(doc.name, "pod identity association ns/sa in cluster c");
        assert_eq!(
            doc.document
                .as_ref()
                .map(|d| d["Statement"][0]["Action"].clone()),
            Some(serde_json::json!("s3:GetObject"))
        );
        assert!(doc.error.is_none());
        let broken = pod_identity_session_policy("c", "ns", "sa", r#"{"Version": "#);
        assert!(broken.document.is_none());
        assert!(broken
            .error
            .as_deref()
            .is_some_and(|e| e.contains("not valid JSON")));
    }

    #[test]
    fn url_encoded_and_plain_documents_decode() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(
            decode_policy(encoded).ok(),
            Some(serde_json::json!({"Version": "2012-10-17", "Statement": []}))
        );
        // A literal % in plain JSON is left alone.
        let plain = r#"{"Statement": [{"Sid": "100%"}]}"#;
        assert!(decode_policy(plain).is_ok());
        assert!(decode_policy("%7B%22broken").is_err());
        assert!(decode_policy("[1]").is_err());
    }

    /// Replays a copy of `mocks/aws/insecure` after `edit` has changed its exchanges, and
    /// returns the normalized inventory (None if the replay fails).
    fn replay_insecure(edit: impl FnOnce(&std::path::Path)) -> Option<Inventory> {
        use cloudscan_collect::testkit;
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mocks/aws/insecure");
        let tmp = tempfile::tempdir().ok()?;
        testkit::copy_dir(&root, tmp.path()).ok()?;
        edit(tmp.path());
        let opts = crate::ScanOptions {
            profile: None,
            regions: Vec::new(),
            collect: cloudscan_collect::scan::CollectOptions {
                replay: Some(tmp.path().to_path_buf()),
                ..Default::default()
            },
            organization: None,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        rt.block_on(crate::scan(&opts, cloudscan_collect::scan::quiet()))
            .ok()
            .map(|o| o.inventory)
    }

    /// Rewrites the JSON body of the exchanges of `operation` whose request path or body
    /// contains `needle`.
    fn edit_json(
        dir: &std::path::Path,
        operation: &str,
        needle: &str,
        edit: impl Fn(&mut serde_json::Value),
    ) -> usize {
        let changed = cloudscan_collect::testkit::edit_responses(
            dir,
            operation,
            |req| req.to_string().contains(needle),
            |responses| {
                let mut r = responses.clone();
                if let Some(first) = r.get_mut(0) {
                    if let Some(j) = first.get_mut("json") {
                        edit(j);
                    } else if let Some(text) = first["body"].as_str() {
                        if let Ok(mut j) = serde_json::from_str::<serde_json::Value>(text) {
                            edit(&mut j);
                            first["body"] = serde_json::Value::String(j.to_string());
                        }
                    }
                }
                r
            },
        );
        changed.unwrap_or(0)
    }

    /// Replaces `from` with `to` in the XML body of every exchange of `operation`.
    fn edit_xml(dir: &std::path::Path, operation: &str, from: &str, to: &str) -> usize {
        cloudscan_collect::testkit::edit_responses(
            dir,
            operation,
            cloudscan_collect::testkit::any,
            |responses| {
                let mut r = responses.clone();
                if let Some(text) = r[0]["body"].as_str() {
                    r[0]["body"] = serde_json::Value::String(text.replace(from, to));
                }
                r
            },
        )
        .unwrap_or(0)
    }

    fn cluster<'a>(inv: &'a Inventory, name: &str) -> &'a cloudscan_inventory::Cluster {
        match inv.clusters.iter().find(|c| c.name == name) {
            Some(c) => c,
            None => panic!("cluster {name} not in the replayed inventory"),
        }
    }

    #[test]
    fn describe_cluster_fields_replayed_both_ways() {
        let recorded = replay_insecure(|_| {}).expect("recorded scenario replays");
        let c = cluster(&recorded, "prod-public");
        assert_eq!(c.endpoint.public_access, Some(true));
        assert_eq!(c.endpoint.public_cidrs, vec!["0.0.0.0/0".to_string()]);
        assert_eq!(c.audit_logging.audit_enabled, Some(false));
        assert_eq!(c.secrets_encryption.enabled, Some(false));
        assert_eq!(c.auth.local_auth_enabled, Some(true));

        let key = "arn:aws:kms:us-east-1:123456789012:key/29aa1fba-3694-4c96-a064-4db6a8d9cbaf";
        let flipped = replay_insecure(|dir| {
            let n = edit_json(dir, "DescribeCluster", "/clusters/prod-public", |j| {
                let c = &mut j["cluster"];
                c["resourcesVpcConfig"]["endpointPublicAccess"] = serde_json::json!(false);
                c["logging"]["clusterLogging"] =
                    serde_json::json!([{"enabled": true, "types": ["audit"]}]);
                c["encryptionConfig"] =
                    serde_json::json!([{"provider": {"keyArn": key}, "resources": ["secrets"]}]);
                c["accessConfig"]["authenticationMode"] = serde_json::json!("API");
            });
            assert_eq!(n, 1);
        })
        .expect("edited scenario replays");
        let c = cluster(&flipped, "prod-public");
        assert_eq!(c.endpoint.public_access, Some(false));
        assert_eq!(c.audit_logging.audit_enabled, Some(true));
        assert_eq!(c.secrets_encryption.enabled, Some(true));
        assert_eq!(
            c.secrets_encryption.key.as_ref().map(|k| k.id.as_str()),
            Some(key)
        );
        assert_eq!(c.auth.local_auth_enabled, Some(false));

        // publicAccessCidrs absent with public access on: the EKS default, 0.0.0.0/0.
        let absent = replay_insecure(|dir| {
            edit_json(dir, "DescribeCluster", "/clusters/prod-public", |j| {
                if let Some(v) = j["cluster"]["resourcesVpcConfig"].as_object_mut() {
                    v.remove("publicAccessCidrs");
                }
            });
        })
        .expect("edited scenario replays");
        let c = cluster(&absent, "prod-public");
        assert_eq!(c.endpoint.public_cidrs, vec!["0.0.0.0/0".to_string()]);
        assert!(
            c.endpoint.source.contains("absent"),
            "{}",
            c.endpoint.source
        );
    }

    #[test]
    fn workload_identity_replayed_both_ways() {
        // staging-legacy: its issuer has no IAM OIDC provider and it has no Pod Identity
        // association, so workload identity is known to be off.
        let recorded = replay_insecure(|_| {}).expect("recorded scenario replays");
        let wi = &cluster(&recorded, "staging-legacy").workload_identity;
        assert_eq!(wi.provider_registered, Some(false));
        assert_eq!(wi.pod_identity_associations, Some(0));
        assert_eq!(wi.enabled, Some(false));
        // Point its issuer at the registered provider: IRSA is set up, workload identity on.
        let flipped = replay_insecure(|dir| {
            let n = edit_json(dir, "DescribeCluster", "/clusters/staging-legacy", |j| {
                j["cluster"]["identity"]["oidc"]["issuer"] =
                    serde_json::json!("https://oidc.eks.us-east-1.amazonaws.com/id/wIK5v9YH9P");
            });
            assert_eq!(n, 1);
        })
        .expect("edited scenario replays");
        let wi = &cluster(&flipped, "staging-legacy").workload_identity;
        assert_eq!(wi.provider_registered, Some(true));
        assert_eq!(wi.enabled, Some(true));
    }

    #[test]
    fn equal_policy_documents_of_an_account_are_decoded_once_and_shared() {
        let inv = replay_insecure(|_| {}).expect("recorded scenario replays");
        let docs: Vec<&cloudscan_inventory::Document> = inv
            .identities
            .iter()
            .flat_map(|i| i.trust.iter().chain(&i.policies).chain(&i.boundary))
            .filter_map(|p| p.document.as_ref())
            .collect();
        let mut shared_pairs = 0;
        for (n, a) in docs.iter().enumerate() {
            for b in docs.iter().skip(n + 1) {
                // Equal documents are one allocation; different ones never are.
                assert_eq!(
                    cloudscan_inventory::Document::ptr_eq(a, b),
                    a == b,
                    "{a:?} / {b:?}"
                );
                shared_pairs += usize::from(a == b);
            }
        }
        // The scenario's node roles share their managed policies and trust policy.
        assert!(shared_pairs >= 3, "{shared_pairs} shared pairs");
    }

    #[test]
    fn role_policy_documents_replayed_both_ways() {
        let node_extra = |inv: &Inventory| {
            inv.identities
                .iter()
                .find(|i| i.id.ends_with(":role/eks-node-public"))
                .and_then(|i| i.policies.iter().find(|p| p.name == "node-extra"))
                .cloned()
        };
        let recorded = replay_insecure(|_| {}).expect("recorded scenario replays");
        let doc = node_extra(&recorded).and_then(|p| p.document);
        let doc = doc.expect("node-extra is decoded");
        assert_eq!(doc["Statement"][0]["Action"], "s3:*");
        assert_eq!(
            doc["Statement"][1]["Action"],
            "secretsmanager:GetSecretValue"
        );

        // Narrowed in the GetAccountAuthorizationDetails response: the inventory carries the
        // narrowed document (the identity rules' tests take it from there).
        let narrow = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::app-bucket/*"}]}"#;
        let encode = |text: &str| {
            percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC)
                .to_string()
        };
        let start = "<PolicyName>node-extra</PolicyName><PolicyDocument>";
        let with_document = |replacement: String| {
            move |dir: &std::path::Path| {
                let n = cloudscan_collect::testkit::edit_responses(
                    dir,
                    "GetAccountAuthorizationDetails",
                    cloudscan_collect::testkit::any,
                    |responses| {
                        let mut r = responses.clone();
                        if let Some(body) = r[0]["body"].as_str() {
                            if let Some(i) = body.find(start) {
                                let from = i + start.len();
                                if let Some(len) = body[from..].find("</PolicyDocument>") {
                                    let edited = format!(
                                        "{}{}{}",
                                        &body[..from],
                                        replacement,
                                        &body[from + len..]
                                    );
                                    r[0]["body"] = serde_json::Value::String(edited);
                                }
                            }
                        }
                        r
                    },
                );
                assert_eq!(n.ok(), Some(1));
            }
        };
        let narrowed =
            replay_insecure(with_document(encode(narrow))).expect("edited scenario replays");
        let doc = node_extra(&narrowed).and_then(|p| p.document.as_deref().cloned());
        assert_eq!(
            doc,
            serde_json::from_str::<serde_json::Value>(narrow).ok(),
            "the narrowed document is what the inventory carries"
        );

        // Not JSON at all: no document, and the decode error is kept (the access bridge turns
        // it into a coverage gap naming the document).
        let broken = replay_insecure(with_document(encode("{not json"))).expect("replays");
        let p = node_extra(&broken).expect("node-extra is listed");
        assert!(p.document.is_none());
        assert!(p.error.is_some());
    }

    #[test]
    fn ec2_fields_replayed_both_ways() {
        let recorded = replay_insecure(|_| {}).expect("recorded scenario replays");
        let default_off = |inv: &Inventory| {
            inv.encryption_defaults
                .iter()
                .any(|d| d.region == "us-east-1" && d.enabled == Some(false))
        };
        let unencrypted = |inv: &Inventory| inv.volumes.iter().any(|v| v.encrypted == Some(false));
        let imds_v1 = |inv: &Inventory| {
            inv.clusters
                .iter()
                .flat_map(|c| &c.node_pools)
                .flat_map(|p| &p.metadata)
                .any(|m| m.level == "instance" && m.tokens_required == Some(false))
        };
        assert!(default_off(&recorded));
        assert!(unencrypted(&recorded));
        assert!(imds_v1(&recorded));

        let flipped = replay_insecure(|dir| {
            edit_xml(
                dir,
                "GetEbsEncryptionByDefault",
                "<ebsEncryptionByDefault>false<",
                "<ebsEncryptionByDefault>true<",
            );
            edit_xml(
                dir,
                "DescribeVolumes",
                "<encrypted>false</encrypted>",
                "<encrypted>true</encrypted>",
            );
            edit_xml(
                dir,
                "DescribeInstances",
                "<httpTokens>optional</httpTokens>",
                "<httpTokens>required</httpTokens>",
            );
        })
        .expect("edited scenario replays");
        assert!(!default_off(&flipped));
        assert!(!unencrypted(&flipped));
        assert!(!imds_v1(&flipped));
    }

    #[test]
    fn cloudtrail_fields_replayed_both_ways() {
        let trail = |inv: &Inventory| {
            inv.audit_trails
                .iter()
                .find(|t| t.name == "mgmt-us-east-1")
                .map(|t| (t.multi_region, t.logging, t.management_events))
        };
        let recorded = replay_insecure(|_| {}).expect("recorded scenario replays");
        assert_eq!(
            trail(&recorded),
            Some((Some(false), Some(true), Some(ManagementEvents::All)))
        );
        let flipped = replay_insecure(|dir| {
            edit_json(dir, "DescribeTrails", "includeShadowTrails", |j| {
                if let Some(list) = j["trailList"].as_array_mut() {
                    for t in list {
                        t["IsMultiRegionTrail"] = serde_json::json!(true);
                    }
                }
            });
            edit_json(dir, "GetTrailStatus", "mgmt-us-east-1", |j| {
                j["IsLogging"] = serde_json::json!(false);
            });
            edit_json(dir, "GetEventSelectors", "mgmt-us-east-1", |j| {
                j["EventSelectors"][0]["ReadWriteType"] = serde_json::json!("ReadOnly");
            });
        })
        .expect("edited scenario replays");
        assert_eq!(
            trail(&flipped),
            Some((Some(true), Some(false), Some(ManagementEvents::ReadOnly)))
        );
    }

    /// Replays `mocks/aws/insecure` with the launch template version of
    /// `prod-public-general` edited by `edit`, and returns that node group's launch-template
    /// metadata setting.
    fn replayed_launch_template(
        edit: impl Fn(&str) -> String,
    ) -> Option<cloudscan_inventory::MetadataSetting> {
        let inventory = replay_insecure(|dir| {
            let changed = cloudscan_collect::testkit::edit_responses(
                dir,
                "DescribeLaunchTemplateVersions",
                |req| req["params"]["LaunchTemplateId"] == "lt-982b3148a311f7066",
                |responses| {
                    let mut r = responses.clone();
                    if let Some(body) = r[0]["body"].as_str() {
                        r[0]["body"] = serde_json::Value::String(edit(body));
                    }
                    r
                },
            );
            assert_eq!(
                changed.ok(),
                Some(1),
                "the fixture's launch template exchange moved"
            );
        })?;
        inventory
            .clusters
            .iter()
            .flat_map(|c| &c.node_pools)
            .flat_map(|p| &p.metadata)
            .find(|m| m.level == "launch-template" && m.resource.ends_with("lt-982b3148a311f7066"))
            .cloned()
    }

    #[test]
    fn launch_template_metadata_options_replayed_both_ways() {
        // As recorded: HttpTokens optional, hop limit 2.
        let recorded = replayed_launch_template(|b| b.to_string());
        let recorded = recorded.expect("the recorded launch template is normalized");
        assert_eq!(recorded.tokens_required, Some(false));
        assert_eq!(recorded.hop_limit, Some(2));
        // Flipped to required / 1.
        let fixed = replayed_launch_template(|b| {
            b.replace(
                "<httpTokens>optional</httpTokens>",
                "<httpTokens>required</httpTokens>",
            )
            .replace(
                "<httpPutResponseHopLimit>2</httpPutResponseHopLimit>",
                "<httpPutResponseHopLimit>1</httpPutResponseHopLimit>",
            )
        })
        .expect("the edited launch template is normalized");
        assert_eq!(fixed.tokens_required, Some(true));
        assert_eq!(fixed.hop_limit, Some(1));
        // No metadataOptions in the version: every option unset (inherited), and the evidence
        // source says so.
        let absent = replayed_launch_template(|b| {
            match (b.find("<metadataOptions>"), b.find("</metadataOptions>")) {
                (Some(start), Some(end)) => {
                    format!("{}{}", &b[..start], &b[end + "</metadataOptions>".len()..])
                }
                _ => b.to_string(),
            }
        })
        .expect("the edited launch template is normalized");
        assert_eq!(absent.tokens_required, None);
        assert_eq!(absent.hop_limit, None);
        assert_eq!(absent.endpoint_enabled, None);
        assert!(absent.source.contains("inherited"), "{}", absent.source);
    }

    #[test]
    fn irsa_subjects_read_sub_conditions() {
        let trust = serde_json::json!({
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/AB"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringLike": {"oidc.eks.us-east-1.amazonaws.com/id/AB:sub": "system:serviceaccount:payments:*"}}
            }]
        });
        assert_eq!(
            irsa_subjects(&trust, "oidc.eks.us-east-1.amazonaws.com/id/AB"),
            vec![("payments".to_string(), "*".to_string())]
        );
        assert!(irsa_subjects(&trust, "oidc.eks.us-east-1.amazonaws.com/id/OTHER").is_empty());
    }
}
