//! Which Kubernetes API to read for which scanned cluster: the contexts asked for, and how each
//! is matched to a cluster of the cloud inventory (by API server endpoint, or named explicitly;
//! never by context name alone).

use cloudscan_inventory::Cluster;

/// `--kube-context NAME` or `--kube-context NAME=CLUSTER`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextSpec {
    pub name: String,
    /// The scanned cluster this context is, by name or id (ARN, self link, resource id).
    pub cluster: Option<String>,
}

impl ContextSpec {
    /// Parses `NAME` or `NAME=CLUSTER`. The split is at the last `=` that is followed by a
    /// cluster reference, so context names holding `=` are rare but possible only without one.
    pub fn parse(text: &str) -> Result<ContextSpec, String> {
        let text = text.trim();
        let (name, cluster) = match text.split_once('=') {
            Some((n, c)) => (n.trim(), Some(c.trim())),
            None => (text, None),
        };
        if name.is_empty() {
            return Err(format!(
                "kube context {text:?}: expected NAME or NAME=CLUSTER (the context name is empty)"
            ));
        }
        if cluster.is_some_and(str::is_empty) {
            return Err(format!(
                "kube context {text:?}: expected NAME=CLUSTER with a cluster name, ARN or resource id after `=`"
            ));
        }
        Ok(ContextSpec {
            name: name.to_string(),
            cluster: cluster.map(str::to_string),
        })
    }
}

/// An API server URL in a comparable form: lower-case scheme and host, no default port
/// (443 for https, 80 for http), no trailing `/`. `None` when it is not a URL with a host.
pub fn normalize_server(url: &str) -> Option<String> {
    let url = url.trim();
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        // GKE reports a bare address; kubeconfigs always carry a scheme.
        None => ("https".to_string(), url),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if authority.is_empty() {
        return None;
    }
    let lower = authority.to_ascii_lowercase();
    // Strip a default port (IPv6 hosts keep their brackets).
    let (host, port) = match lower.rsplit_once(':') {
        Some((h, p))
            if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) && !h.ends_with(':') =>
        {
            (h.to_string(), Some(p.to_string()))
        }
        _ => (lower.clone(), None),
    };
    let default = match scheme.as_str() {
        "https" => "443",
        "http" => "80",
        _ => "",
    };
    let authority = match port {
        Some(p) if p != default => format!("{host}:{p}"),
        _ => host,
    };
    Some(format!("{scheme}://{authority}{path}"))
}

/// How a context was matched to a scanned cluster, or why it was not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// The context's server is the API endpoint of exactly this cluster (index into the
    /// inventory's clusters).
    Endpoint(usize),
    /// Named with `NAME=CLUSTER`.
    Named(usize),
    /// No scanned cluster has this endpoint.
    NoCluster,
    /// Several scanned clusters report this endpoint.
    Ambiguous(Vec<String>),
    /// `NAME=CLUSTER` names no scanned cluster.
    UnknownCluster(String),
    /// `NAME=CLUSTER` names several clusters (same name in several regions or scopes).
    AmbiguousName(String, Vec<String>),
}

/// Matches a context to the scanned clusters: the named cluster when one is given, otherwise
/// the one cluster whose API endpoint is the context's server.
pub fn match_context(server: &str, named: Option<&str>, clusters: &[Cluster]) -> Match {
    if let Some(wanted) = named {
        let hits: Vec<usize> = clusters
            .iter()
            .enumerate()
            .filter(|(_, c)| c.id.eq_ignore_ascii_case(wanted))
            .map(|(i, _)| i)
            .collect();
        let hits = if hits.is_empty() {
            clusters
                .iter()
                .enumerate()
                .filter(|(_, c)| c.name == wanted)
                .map(|(i, _)| i)
                .collect()
        } else {
            hits
        };
        return match hits.as_slice() {
            [one] => Match::Named(*one),
            [] => Match::UnknownCluster(wanted.to_string()),
            many => Match::AmbiguousName(
                wanted.to_string(),
                many.iter()
                    .filter_map(|i| clusters.get(*i).map(|c| c.id.clone()))
                    .collect(),
            ),
        };
    }
    let Some(server) = normalize_server(server) else {
        return Match::NoCluster;
    };
    let hits: Vec<usize> = clusters
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.api_endpoints
                .iter()
                .any(|e| normalize_server(e).as_deref() == Some(server.as_str()))
        })
        .map(|(i, _)| i)
        .collect();
    match hits.as_slice() {
        [one] => Match::Endpoint(*one),
        [] => Match::NoCluster,
        many => Match::Ambiguous(
            many.iter()
                .filter_map(|i| clusters.get(*i).map(|c| c.id.clone()))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_reject() {
        assert_eq!(
            ContextSpec::parse("prod").ok(),
            Some(ContextSpec {
                name: "prod".into(),
                cluster: None
            })
        );
        let named = ContextSpec::parse("tunnel=arn:aws:eks:us-east-1:1:cluster/prod").ok();
        assert_eq!(
            named.and_then(|s| s.cluster).as_deref(),
            Some("arn:aws:eks:us-east-1:1:cluster/prod")
        );
        for bad in ["", "=x", "a=", " = "] {
            assert!(ContextSpec::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn servers_normalize_scheme_port_case_and_slash() {
        let n = |s: &str| normalize_server(s);
        assert_eq!(
            n("HTTPS://ABC.gr7.us-east-1.EKS.amazonaws.com:443/"),
            n("https://abc.gr7.us-east-1.eks.amazonaws.com")
        );
        assert_eq!(n("34.1.2.3"), n("https://34.1.2.3:443"));
        assert_ne!(n("https://10.0.0.1:6443"), n("https://10.0.0.1"));
        assert_eq!(
            n("http://127.0.0.1:80/x/"),
            Some("http://127.0.0.1/x".into())
        );
        assert_eq!(n("https://[::1]:443"), Some("https://[::1]".into()));
        assert_eq!(n("https://"), None);
    }

    fn cluster(id: &str, name: &str, endpoint: &str) -> Cluster {
        Cluster {
            id: id.into(),
            name: name.into(),
            api_endpoints: vec![endpoint.into()],
            ..Default::default()
        }
    }

    #[test]
    fn contexts_match_by_endpoint_or_name_never_guess() {
        let clusters = [
            cluster("arn:a", "a", "https://same.example"),
            cluster("arn:b", "b", "https://same.example/"),
            cluster("arn:c", "c", "https://c.example"),
        ];
        assert_eq!(
            match_context("https://C.example:443/", None, &clusters),
            Match::Endpoint(2)
        );
        assert!(
            matches!(match_context("https://same.example", None, &clusters), Match::Ambiguous(v) if v.len() == 2)
        );
        assert_eq!(
            match_context("https://x.example", None, &clusters),
            Match::NoCluster
        );
        assert_eq!(
            match_context("https://x", Some("b"), &clusters),
            Match::Named(1)
        );
        assert_eq!(
            match_context("https://x", Some("ARN:A"), &clusters),
            Match::Named(0)
        );
        assert!(matches!(
            match_context("https://x", Some("zz"), &clusters),
            Match::UnknownCluster(_)
        ));
        let twice = [
            cluster("arn:1", "p", "https://1"),
            cluster("arn:2", "p", "https://2"),
        ];
        assert!(
            matches!(match_context("https://x", Some("p"), &twice), Match::AmbiguousName(_, v) if v.len() == 2)
        );
    }
}
