//! How reports name a resource in little space. The full id stays in the document (and in
//! tooltips, SARIF fully-qualified names, waivers); these helpers only shorten what is shown.

/// The resource part of an ARN, or the id unchanged when it is not an ARN:
/// `arn:aws:eks:us-east-1:123:cluster/prod` -> `cluster/prod`. GCP full resource names and Azure
/// ids are kept whole (their leading segments say which project or resource group).
pub fn short(resource: &str) -> &str {
    if resource.starts_with("arn:") {
        // arn:partition:service:region:account:resource (the resource may contain `:`).
        resource.splitn(6, ':').nth(5).unwrap_or(resource)
    } else {
        resource
    }
}

/// The last name of a resource: the ARN's resource part, or the last `/` segment of a path-like
/// id (`projects/p/locations/l/clusters/prod` -> `prod`).
pub fn name(resource: &str) -> &str {
    if resource.starts_with("arn:") {
        short(resource)
    } else {
        resource.rsplit('/').next().unwrap_or(resource)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_lose_their_prefix_and_keep_colons_in_the_resource() {
        assert_eq!(
            short("arn:aws:eks:us-east-1:123:cluster/prod"),
            "cluster/prod"
        );
        assert_eq!(
            short("arn:aws:logs:us-east-1:123:log-group:/aws/eks/prod:*"),
            "log-group:/aws/eks/prod:*"
        );
        assert_eq!(short("arn:aws:iam::123:role/node"), "role/node");
        // Too few fields: not shortened.
        assert_eq!(short("arn:aws:iam"), "arn:aws:iam");
    }

    #[test]
    fn other_ids_stay_whole_or_give_their_last_segment() {
        let gke = "projects/p/locations/europe-west1/clusters/prod";
        assert_eq!(short(gke), gke);
        assert_eq!(name(gke), "prod");
        assert_eq!(
            name("arn:aws:eks:us-east-1:123:cluster/prod"),
            "cluster/prod"
        );
        assert_eq!(name("plain"), "plain");
    }
}
