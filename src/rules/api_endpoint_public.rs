//! `api-endpoint-public`: the Kubernetes API server is reachable from the internet.

use super::{FindingBuilder, Rule, RuleContext, RuleMeta};
use crate::finding::{Evidence, Finding, Severity};
use crate::net::{is_public_cidr, is_whole_internet};

pub struct ApiEndpointPublic;

static META: RuleMeta = RuleMeta {
    id: "api-endpoint-public",
    title: "Cluster API endpoint reachable from the internet",
    severity: Severity::High,
    layer: "cloud",
    description: "The cluster's public API endpoint accepts connections from public addresses. \
Anyone on those networks can probe the API server, try stolen or leaked credentials and exploit \
API-server vulnerabilities. Every public CIDR counts, not only 0.0.0.0/0: an allow-list of public \
ranges still exposes the API to everyone behind them. Open to the whole internet is high; \
restricted to specific public ranges is medium.",
    remediation: "EKS: turn on the private endpoint and turn off public access \
(`aws eks update-cluster-config --resources-vpc-config endpointPublicAccess=false,endpointPrivateAccess=true`), \
or at least restrict `publicAccessCidrs` to the few ranges that need it (VPN egress, CI runners). \
GKE: enable master authorized networks with only the ranges that need access, or disable the \
public endpoint (`gcloud container clusters update C --enable-master-authorized-networks --master-authorized-networks CIDR`).",
    references: &[
        "https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html",
        "https://docs.aws.amazon.com/eks/latest/best-practices/subnets.html",
        "https://cloud.google.com/kubernetes-engine/docs/how-to/authorized-networks",
    ],
};

impl Rule for ApiEndpointPublic {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for c in &ctx.inventory.clusters {
            if c.endpoint.public_access != Some(true) {
                continue;
            }
            let public: Vec<&String> = c
                .endpoint
                .public_cidrs
                .iter()
                .filter(|cidr| is_public_cidr(cidr))
                .collect();
            if public.is_empty() {
                continue;
            }
            let open = public.iter().any(|c| is_whole_internet(c));
            let (severity, reach) = if open {
                (
                    Severity::High,
                    "from any address on the internet".to_string(),
                )
            } else {
                (
                    Severity::Medium,
                    format!(
                        "from the public range{} {}",
                        if public.len() > 1 { "s" } else { "" },
                        public
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            };
            let private = match c.endpoint.private_access {
                Some(true) => "",
                Some(false) => {
                    "; the private endpoint is off, so node traffic to the API leaves the VPC"
                }
                None => "",
            };
            let [public_field, private_field, cidrs_field] =
                ctx.inventory.provider.vocabulary().endpoint_fields;
            out.push(
                FindingBuilder::new(
                    &META,
                    &c.scope,
                    &c.id,
                    format!(
                        "the API server of cluster `{}` is reachable {reach}{private}",
                        c.name
                    ),
                )
                .severity(severity)
                .region(&c.region)
                .cluster(&c.name)
                .evidence(Evidence::new(&c.endpoint.source, public_field, true))
                .evidence(Evidence::new(
                    &c.endpoint.source,
                    private_field,
                    c.endpoint.private_access,
                ))
                .evidence(Evidence::new(
                    &c.endpoint.source,
                    cidrs_field,
                    c.endpoint.public_cidrs.clone(),
                ))
                .build(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::run;
    use cloudscan_inventory::Inventory;

    fn inventory(public: bool, cidrs: &[&str]) -> Inventory {
        serde_json::from_value(serde_json::json!({"clusters": [{
            "id": "arn:aws:eks:us-east-1:111122223333:cluster/c", "name": "c",
            "scope": "111122223333", "region": "us-east-1",
            "endpoint": {"public_access": public, "private_access": true, "public_cidrs": cidrs}
        }]}))
        .expect("valid inventory")
    }

    #[test]
    fn open_to_the_internet_is_high() {
        let f = run(&ApiEndpointPublic, &inventory(true, &["0.0.0.0/0"]));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::High);
        assert!(f[0].message.contains("any address"));
    }

    #[test]
    fn a_restricted_public_range_still_fires_as_medium() {
        let f = run(&ApiEndpointPublic, &inventory(true, &["203.0.113.0/24"]));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Medium);
        assert!(f[0].message.contains("203.0.113.0/24"));
    }

    #[test]
    fn ipv6_any_is_the_whole_internet() {
        let f = run(
            &ApiEndpointPublic,
            &inventory(true, &["10.0.0.0/8", "::/0"]),
        );
        assert_eq!(f[0].severity, Severity::High);
    }

    #[test]
    fn private_only_or_private_ranges_do_not_fire() {
        assert!(run(&ApiEndpointPublic, &inventory(false, &["0.0.0.0/0"])).is_empty());
        assert!(run(&ApiEndpointPublic, &inventory(true, &["10.1.0.0/16"])).is_empty());
    }
}
