//! Endpoint overrides (`CLOUDSCAN_GCP_*_URL`, `CLOUDSCAN_AZURE_ARM_URL`, `AZURE_AUTHORITY_HOST`,
//! `AWS_ENDPOINT_URL*`): a bearer token, a client secret or a session token goes wherever they
//! point, so plain `http` is accepted only for loopback addresses, and every active override is
//! reported as a warning (the CLI prints it on standard error).

use crate::scan::{Progress, ProgressFn};
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}=`{value}` is not a usable endpoint: {reason}")]
pub struct EndpointError {
    pub variable: String,
    pub value: String,
    pub reason: String,
}

/// Whether `host` (as in a URL, IPv6 in brackets or not) is a loopback address or `localhost`.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.eq_ignore_ascii_case("localhost") {
        return true;
    }
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks an override value: `https://` to any host, `http://` only to a loopback address.
/// Returns the value without a trailing `/`.
pub fn check(variable: &str, value: &str) -> Result<String, EndpointError> {
    let fail = |reason: String| EndpointError {
        variable: variable.to_string(),
        value: value.to_string(),
        reason,
    };
    let url = reqwest::Url::parse(value.trim()).map_err(|e| fail(e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(fail("credentials in the URL are not accepted".to_string()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(fail("a query or fragment is not accepted".to_string()));
    }
    let host = url.host_str().unwrap_or_default().to_string();
    match url.scheme() {
        "https" if !host.is_empty() => {}
        "http" if is_loopback_host(&host) => {}
        "http" => {
            return Err(fail(format!(
                "plain http is only accepted for loopback addresses (127.0.0.0/8, ::1, localhost): credentials sent to `{host}` would cross the network unencrypted; use https"
            )))
        }
        other => return Err(fail(format!("the scheme must be https (or http to a loopback address), not `{other}`"))),
    }
    Ok(value.trim().trim_end_matches('/').to_string())
}

/// Reads an override variable: `Ok(None)` when unset or empty. When set, it is checked and a
/// [`Progress::Warning`] says where API calls and credentials go.
pub fn from_env(variable: &str, progress: &ProgressFn) -> Result<Option<String>, EndpointError> {
    let Some(value) = std::env::var(variable)
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(None);
    };
    let checked = check(variable, &value)?;
    progress(Progress::Warning(format!(
        "{variable} is set: API calls and credentials go to {checked}"
    )));
    Ok(Some(checked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.9.9.9/",
            "http://[::1]:9",
            "http://localhost:5000/base/",
            "https://example.com",
            "https://management.usgovcloudapi.net/",
        ] {
            assert!(check("V", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1",
            "http://example.com",
            "http://127.0.0.1.evil.com",
            "http://localhost.evil.com",
            "ftp://127.0.0.1",
            "file:///etc/passwd",
            "https://user:pw@example.com",
            "https://example.com/?x=1",
            "not a url",
            "https://",
        ] {
            let e = check("CLOUDSCAN_X_URL", bad);
            assert!(e.is_err(), "{bad}");
        }
        let e = check("CLOUDSCAN_GCP_IAM_URL", "http://203.0.113.7/").err();
        let text = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("CLOUDSCAN_GCP_IAM_URL"), "{text}");
        assert!(text.contains("loopback"), "{text}");
        assert_eq!(
            check("V", "http://127.0.0.1:9/").ok().as_deref(),
            Some("http://127.0.0.1:9")
        );
    }
}
