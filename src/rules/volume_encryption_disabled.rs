//! `volume-encryption-disabled`: node volumes are not encrypted, or new volumes will not be.

use super::{FindingBuilder, Rule, RuleContext, RuleMeta};
use crate::finding::{Evidence, Finding, Severity};
use std::collections::BTreeSet;

pub struct VolumeEncryptionDisabled;

static META: RuleMeta = RuleMeta {
    id: "volume-encryption-disabled",
    title: "Node volumes not encrypted at rest",
    severity: Severity::Medium,
    layer: "cloud",
    description: "Node volumes hold container images, emptyDir data, logs and often copies of \
secrets and service-account tokens. An unencrypted volume, or its snapshots, can be read by \
anyone who can copy or share them. Flags each unencrypted volume attached to a cluster node, and \
each region with clusters where EBS encryption by default is off (new node volumes will be \
unencrypted unless every launch template asks for encryption).",
    remediation: "Turn on EBS encryption by default in every region you run clusters in \
(`aws ec2 enable-ebs-encryption-by-default --region R`), then replace unencrypted node volumes by \
rolling the node groups (new nodes get encrypted volumes).",
    references: &[
        "https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html",
        "https://docs.aws.amazon.com/eks/latest/best-practices/data-encryption-and-secrets-management.html",
    ],
};

impl Rule for VolumeEncryptionDisabled {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let inv = ctx.inventory;
        let words = inv.provider.vocabulary().volumes;
        let cluster_regions: BTreeSet<&str> =
            inv.clusters.iter().map(|c| c.region.as_str()).collect();
        for d in &inv.encryption_defaults {
            if d.enabled == Some(false) && cluster_regions.contains(d.region.as_str()) {
                out.push(
                    FindingBuilder::new(
                        &META,
                        &d.scope,
                        &d.resource,
                        format!(
                            "{} is off in {}, where clusters run: new node volumes are unencrypted unless their launch template asks",
                            words.default_setting, d.region
                        ),
                    )
                    .region(&d.region)
                    .discriminator("default")
                    .evidence(Evidence::new(&d.source, words.default_field, false))
                    .build(),
                );
            }
        }
        for v in &inv.volumes {
            if v.encrypted != Some(false) {
                continue;
            }
            let mut b = FindingBuilder::new(
                &META,
                &v.scope,
                &v.id,
                format!(
                    "volume `{}` of node {} is not encrypted",
                    v.id.rsplit('/').next().unwrap_or(&v.id),
                    v.attached_to.join(", ")
                ),
            )
            .region(&v.region)
            .evidence(Evidence::new(
                words.volume_source,
                words.encrypted_field,
                false,
            ))
            .evidence(Evidence::new(
                words.attachment_source,
                words.attachment_field,
                v.attached_to.clone(),
            ));
            if let Some(c) = &v.cluster {
                b = b.cluster(c);
            }
            if let Some(p) = &v.node_pool {
                b = b.node_pool(p);
            }
            out.push(b.build());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::run;
    use cloudscan_inventory::Inventory;

    #[test]
    fn fires_for_defaults_in_cluster_regions_and_unencrypted_node_volumes() {
        let inv: Inventory = serde_json::from_value(serde_json::json!({
            "clusters": [{"id": "c", "name": "c", "region": "us-east-1"}],
            "encryption_defaults": [
                {"scope": "1", "region": "us-east-1", "resource": "d1", "enabled": false},
                {"scope": "1", "region": "eu-west-1", "resource": "d2", "enabled": false},
                {"scope": "1", "region": "us-west-2", "resource": "d3", "enabled": true}
            ],
            "volumes": [
                {"id": "arn:aws:ec2:us-east-1:1:volume/vol-1", "region": "us-east-1", "encrypted": false,
                 "attached_to": ["i-1"], "cluster": "c", "node_pool": "ng"},
                {"id": "arn:aws:ec2:us-east-1:1:volume/vol-2", "region": "us-east-1", "encrypted": true},
                {"id": "arn:aws:ec2:us-east-1:1:volume/vol-3", "region": "us-east-1"}
            ]
        }))
        .expect("valid inventory");
        let f = run(&VolumeEncryptionDisabled, &inv);
        let resources: Vec<&str> = f.iter().map(|f| f.resource.as_str()).collect();
        assert_eq!(
            resources,
            vec!["d1", "arn:aws:ec2:us-east-1:1:volume/vol-1"]
        );
        assert_eq!(f[1].node_pool.as_deref(), Some("ng"));
    }
}
