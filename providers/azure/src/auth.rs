//! Bearer tokens for Azure Resource Manager: client credentials (secret or federated assertion)
//! against the Microsoft identity platform v2 token endpoint, or the Azure CLI.
//!
//! Tokens are cached until five minutes before they expire. They are never logged, printed or
//! recorded; errors quote only the `error` code and the first line of `error_description`.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The ARM scope requested with client credentials.
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";
/// The resource the Azure CLI is asked a token for.
pub const ARM_RESOURCE: &str = "https://management.azure.com/";
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";

/// Where tokens come from.
#[derive(Clone)]
pub enum Credential {
    /// `AZURE_TENANT_ID` + `AZURE_CLIENT_ID` + `AZURE_CLIENT_SECRET`.
    ClientSecret {
        authority: String,
        tenant: String,
        client_id: String,
        secret: String,
    },
    /// `AZURE_FEDERATED_TOKEN_FILE` (workload identity): the file's JWT is the client assertion,
    /// re-read on every exchange because the kubelet rotates it.
    Federated {
        authority: String,
        tenant: String,
        client_id: String,
        token_file: std::path::PathBuf,
    },
    /// `az account get-access-token`.
    AzureCli,
}

// Never print the secret.
impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

impl Credential {
    /// Picks the credential from the environment, in the documented order.
    pub fn from_env() -> Credential {
        let read = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let authority = read("AZURE_AUTHORITY_HOST")
            .unwrap_or_else(|| DEFAULT_AUTHORITY.to_string())
            .trim_end_matches('/')
            .to_string();
        if let (Some(tenant), Some(client_id)) = (read("AZURE_TENANT_ID"), read("AZURE_CLIENT_ID"))
        {
            if let Some(secret) = read("AZURE_CLIENT_SECRET") {
                return Credential::ClientSecret {
                    authority,
                    tenant,
                    client_id,
                    secret,
                };
            }
            if let Some(file) = read("AZURE_FEDERATED_TOKEN_FILE") {
                return Credential::Federated {
                    authority,
                    tenant,
                    client_id,
                    token_file: file.into(),
                };
            }
        }
        Credential::AzureCli
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Credential::ClientSecret { .. } => "client secret (AZURE_CLIENT_SECRET)",
            Credential::Federated { .. } => "workload identity (AZURE_FEDERATED_TOKEN_FILE)",
            Credential::AzureCli => "Azure CLI (az account get-access-token)",
        }
    }

    /// The client id the credential authenticates as, when known.
    pub fn principal(&self) -> Option<String> {
        match self {
            Credential::ClientSecret { client_id, .. }
            | Credential::Federated { client_id, .. } => Some(client_id.clone()),
            Credential::AzureCli => None,
        }
    }
}

/// A cached token source shared by every call.
#[derive(Clone)]
pub struct TokenSource {
    credential: Credential,
    http: reqwest::Client,
    cache: Arc<Mutex<Option<(String, Instant)>>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenSource({})", self.credential.describe())
    }
}

const EARLY: Duration = Duration::from_secs(300);
/// The longest a token is cached, whatever lifetime its issuer claims.
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Until when a token with this claimed lifetime is reused: five minutes before it expires, at
/// least 30 s, at most a day. A token endpoint may claim any lifetime; a huge one must not
/// overflow the clock.
fn cached_until(now: Instant, lifetime: Duration) -> Instant {
    let lifetime = lifetime
        .min(MAX_LIFETIME)
        .saturating_sub(EARLY)
        .max(Duration::from_secs(30));
    now.checked_add(lifetime).unwrap_or(now)
}

impl TokenSource {
    pub fn new(credential: Credential, http: reqwest::Client) -> Self {
        TokenSource {
            credential,
            http,
            cache: Arc::new(Mutex::new(None)),
        }
    }

    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// A valid bearer token, fetched or cached. The error is one line without secrets.
    pub async fn token(&self) -> Result<String, String> {
        let mut cache = self.cache.lock().await;
        if let Some((token, until)) = cache.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let (token, lifetime) = match &self.credential {
            Credential::ClientSecret {
                authority,
                tenant,
                client_id,
                secret,
            } => {
                self.exchange(
                    authority,
                    tenant,
                    client_id,
                    ("client_secret", secret.clone()),
                )
                .await?
            }
            Credential::Federated {
                authority,
                tenant,
                client_id,
                token_file,
            } => {
                let assertion = tokio::fs::read_to_string(token_file).await.map_err(|e| {
                    format!(
                        "cannot read AZURE_FEDERATED_TOKEN_FILE `{}`: {e}",
                        token_file.display()
                    )
                })?;
                self.exchange(
                    authority,
                    tenant,
                    client_id,
                    ("client_assertion", assertion.trim().to_string()),
                )
                .await?
            }
            Credential::AzureCli => azure_cli_token().await?,
        };
        let until = cached_until(Instant::now(), lifetime);
        *cache = Some((token.clone(), until));
        Ok(token)
    }

    async fn exchange(
        &self,
        authority: &str,
        tenant: &str,
        client_id: &str,
        proof: (&str, String),
    ) -> Result<(String, Duration), String> {
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            authority.trim_end_matches('/'),
            encode(tenant)
        );
        let mut fields = vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_id", client_id.to_string()),
            ("scope", ARM_SCOPE.to_string()),
        ];
        if proof.0 == "client_assertion" {
            fields.push((
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string(),
            ));
        }
        fields.push(proof);
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let response = self
            .http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "token request to {url} failed: {}",
                    cloudscan_collect::error::error_chain(&e)
                )
            })?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| format!("reading the token response: {e}"))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|_| format!("the token endpoint {url} answered HTTP {status} without JSON"))?;
        if !(200..300).contains(&status) {
            let code = value
                .get("error")
                .and_then(|v| v.as_str())
                .unwrap_or("error");
            let description = value
                .get("error_description")
                .and_then(|v| v.as_str())
                .and_then(|d| d.lines().next())
                .unwrap_or("");
            return Err(cloudscan_collect::one_line(&format!(
                "token endpoint HTTP {status} {code}: {description}"
            )));
        }
        let token = value
            .get("access_token")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| "the token response has no access_token".to_string())?;
        let expires_in = value
            .get("expires_in")
            .and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(3599);
        Ok((token.to_string(), Duration::from_secs(expires_in)))
    }
}

/// `az account get-access-token --resource https://management.azure.com/ -o json`.
async fn azure_cli_token() -> Result<(String, Duration), String> {
    let output = tokio::process::Command::new("az")
        .args([
            "account",
            "get-access-token",
            "--resource",
            ARM_RESOURCE,
            "-o",
            "json",
        ])
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| {
            format!("no AZURE_TENANT_ID/AZURE_CLIENT_ID with a secret or federated token file, and the Azure CLI cannot run: {e}")
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(cloudscan_collect::one_line(&format!(
            "`az account get-access-token` failed ({}): {first}",
            output.status
        )));
    }
    let value: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|_| "`az account get-access-token` did not print JSON".to_string())?;
    let token = value
        .get("accessToken")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| "`az account get-access-token` printed no accessToken".to_string())?;
    // Newer CLIs print `expires_on` (POSIX seconds); `expiresOn` is a local time string we do not
    // parse, so without `expires_on` the token is reused for five minutes only.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let lifetime = value
        .get("expires_on")
        .and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .map(|at| Duration::from_secs(at.saturating_sub(now)))
        .unwrap_or(EARLY + Duration::from_secs(300));
    Ok((token.to_string(), lifetime))
}

pub(crate) fn encode(s: &str) -> String {
    cloudscan_collect::rest::encode_query(s)
}

impl cloudscan_collect::rest::TokenProvider for TokenSource {
    fn token(&self) -> futures::future::BoxFuture<'_, Result<String, String>> {
        Box::pin(TokenSource::token(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_token_lifetimes_never_overflow() {
        let now = Instant::now();
        assert_eq!(
            cached_until(now, Duration::from_secs(u64::MAX)),
            now + MAX_LIFETIME - EARLY
        );
        assert_eq!(cached_until(now, Duration::MAX), now + MAX_LIFETIME - EARLY);
        assert_eq!(
            cached_until(now, Duration::ZERO),
            now + Duration::from_secs(30)
        );
        assert_eq!(
            cached_until(now, Duration::from_secs(3599)),
            now + Duration::from_secs(3299)
        );
    }
}
