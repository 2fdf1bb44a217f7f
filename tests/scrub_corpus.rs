//! The scrubbing proof (issue 15): a corpus of planted secrets, served over HTTP by loopback
//! servers in every protocol's body form (JSON, XML of the AWS query protocol, free text in
//! error messages) and header form, is recorded by live scans through each cloud's real record
//! path (`cloudscan <cloud> --record`: the AWS SDK connector recorder, and the REST recorder of
//! GCP and Azure), and not one planted value may appear in any file of the recording.
//!
//! Request-side forms are planted too: the AWS scan signs with a planted access key id and
//! session token (the `Authorization` and `X-Amz-Security-Token` headers), and the servers hand
//! out page tokens that are credentials, which the SDK sends back in a form-encoded body (IAM
//! `Marker`) and in a query string (EKS `nextToken`), so they reach the recorded request keys.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_cloudscan");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// --- The corpus --------------------------------------------------------------------------------

const AKID: &str = "AKIAPLANTEDKEY000001";
const SESSION_AKID: &str = "ASIAPLANTEDSESSION01";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYPLANTEDSAK";
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjPLANTEDSESSIONTOKEN/x+y=";
const SIGV4: &str = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
const PRESIGN_TOKEN: &str = "FwoGZXIvYXdzEPLANTEDPRESIGNTOKEN";
const PRESIGN_SIG: &str = "aa11bb22cc33dd44PLANTEDPRESIGNSIG";
const SECRET_STRING: &str = "plantedSecretStringValue-3f9a";
const SECRET_BINARY: &str = "cGxhbnRlZFNlY3JldEJpbmFyeVZhbHVl";
const EKS_TOKEN: &str = "k8s-aws-v1.aHR0cHM6Ly9zdHMuPLANTEDEKSTOKEN";
const ECR_TOKEN: &str = "QVdTOlBMQU5URURFQ1JUT0tFTlZBTFVF";
const PEM_CORE: &str = "MIIEowIBAAKCAQEAPLANTEDPEMKEYMATERIAL";
const SA_KEY_CORE: &str = "MIIEvQIBADANBgkqPLANTEDSAKEYMATERIAL";
const OAUTH_SECRET: &str = "GOCSPX-PlantedOAuthClientSecret1";
const REFRESH_TOKEN: &str = "1//0gPlantedRefreshTokenValue-x";
const AZURE_SECRET: &str = "Xy98Q~PlantedAzureClientSecretValue12345";
const CLIENT_CERT_DATA: &str = "LS0tLS1CRUdJTiBDRVJUPLANTEDCLIENTCERTDATA";
const CLIENT_KEY_DATA: &str = "LS0tLS1CRUdJTiBSU0EgPLANTEDCLIENTKEYDATA";
const KUBE_TOKEN: &str = "plantedkubeconfigbearertoken0123";
const JWT: &str =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6IlBMQU5URUQifQ.eyJzdWIiOiJwbGFudGVkIn0.PLANTEDJWTSIGNATUREvalue";
const YA29: &str = "ya29.a0PlantedGoogleAccessToken_x";
const BEARER: &str = "PlantedOpaqueBearerValue123";
const BASIC: &str = "cGxhbnRlZDpiYXNpY3Bhc3N3b3Jk";
const COOKIE: &str = "PLANTEDSESSIONCOOKIE";

/// Every planted value (or its unique core), as searched in the recording.
fn planted() -> Vec<&'static str> {
    vec![
        AKID,
        SESSION_AKID,
        SECRET_KEY,
        SESSION_TOKEN,
        "PLANTEDSESSIONTOKEN",
        SIGV4,
        PRESIGN_TOKEN,
        PRESIGN_SIG,
        SECRET_STRING,
        SECRET_BINARY,
        EKS_TOKEN,
        "PLANTEDEKSTOKEN",
        ECR_TOKEN,
        PEM_CORE,
        SA_KEY_CORE,
        OAUTH_SECRET,
        "PlantedOAuthClientSecret",
        REFRESH_TOKEN,
        "PlantedRefreshTokenValue",
        AZURE_SECRET,
        "PlantedAzureClientSecret",
        CLIENT_CERT_DATA,
        "PLANTEDCLIENTCERTDATA",
        CLIENT_KEY_DATA,
        "PLANTEDCLIENTKEYDATA",
        KUBE_TOKEN,
        JWT,
        "PLANTEDJWTSIGNATURE",
        YA29,
        "PlantedGoogleAccessToken",
        BEARER,
        BASIC,
        COOKIE,
    ]
}

fn pem(label: &str, core: &str) -> String {
    format!("-----BEGIN {label}-----\n{core}\nZm9vYmFy\n-----END {label}-----\n")
}

fn presigned_url() -> String {
    format!(
        "https://bucket.s3.amazonaws.com/key?X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential={SESSION_AKID}%2F20250101%2Fus-east-1%2Fs3%2Faws4_request\
         &X-Amz-Security-Token={PRESIGN_TOKEN}&X-Amz-Signature={PRESIGN_SIG}"
    )
}

fn kubeconfig_yaml() -> String {
    format!(
        "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    client-certificate-data: {CLIENT_CERT_DATA}\n    client-key-data: {CLIENT_KEY_DATA}\n    token: {KUBE_TOKEN}\n"
    )
}

fn service_account_json() -> Value {
    json!({
        "type": "service_account",
        "project_id": "planted",
        "private_key_id": "0123",
        "private_key": pem("PRIVATE KEY", SA_KEY_CORE),
        "client_email": "planted@planted.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token"
    })
}

/// Every text form, in one free-text string (an error message, a description): what only the
/// pattern rules can catch, since the field name says nothing.
fn free_text() -> String {
    format!(
        "denied for {AKID} (session {SESSION_AKID}); \
         Authorization: AWS4-HMAC-SHA256 Credential={AKID}/20250101/us-east-1/sts/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature={SIGV4}; \
         url {url}; encoded {encoded}; \
         key {pem}; sa {sa}; \
         oauth client {OAUTH_SECRET} refresh {REFRESH_TOKEN}; azure {AZURE_SECRET}; \
         kubeconfig:\n{kube}\
         aws_secret_access_key = {SECRET_KEY}\naws_session_token={SESSION_TOKEN}\n\
         jwt {JWT} google {YA29}; Authorization: Bearer {BEARER}; Authorization: Basic {BASIC}",
        url = presigned_url(),
        encoded = presigned_url()
            .replace('%', "%25")
            .replace('&', "%26")
            .replace('=', "%3D")
            .replace('?', "%3F")
            .replace('/', "%2F")
            .replace(':', "%3A"),
        pem = pem("RSA PRIVATE KEY", PEM_CORE),
        sa = service_account_json(),
        kube = kubeconfig_yaml(),
    )
}

/// The corpus as JSON fields: secret names, and the free text under an innocent name.
fn json_fields() -> Value {
    json!({
        "AccessKeyId": AKID,
        "SecretAccessKey": SECRET_KEY,
        "SessionToken": SESSION_TOKEN,
        "SecretString": SECRET_STRING,
        "SecretBinary": SECRET_BINARY,
        "Credentials": {"AccessKeyId": SESSION_AKID, "SecretAccessKey": SECRET_KEY,
                        "SessionToken": SESSION_TOKEN, "Expiration": "2030-01-01T00:00:00Z"},
        "Token": EKS_TOKEN,
        "authorizationData": [{"authorizationToken": ECR_TOKEN, "proxyEndpoint": "https://1.dkr.ecr.us-east-1.amazonaws.com"}],
        "privateKey": pem("RSA PRIVATE KEY", PEM_CORE),
        "client_secret": OAUTH_SECRET,
        "refresh_token": REFRESH_TOKEN,
        "clientSecret": AZURE_SECRET,
        "serviceAccountKey": service_account_json(),
        "kubeconfig": kubeconfig_yaml(),
        "kubeconfigs": [{"name": "clusterAdmin", "value": kubeconfig_yaml()}],
        "users": [{"name": "admin", "user": {"client-certificate-data": CLIENT_CERT_DATA,
                   "client-key-data": CLIENT_KEY_DATA, "token": KUBE_TOKEN}}],
        "access_token": YA29,
        "id_token": JWT,
        "plantedNote": free_text(),
    })
}

/// The corpus as XML elements (AWS query protocol).
fn xml_elements() -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    format!(
        "<AccessKeyId>{AKID}</AccessKeyId><SecretAccessKey>{SECRET_KEY}</SecretAccessKey>\
         <SessionToken>{SESSION_TOKEN}</SessionToken>\
         <Credentials><AccessKeyId>{SESSION_AKID}</AccessKeyId><SecretAccessKey>{SECRET_KEY}</SecretAccessKey>\
         <SessionToken>{SESSION_TOKEN}</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials>\
         <SecretString>{SECRET_STRING}</SecretString><SecretBinary>{SECRET_BINARY}</SecretBinary>\
         <Token>{EKS_TOKEN}</Token><PrivateKey>{pem}</PrivateKey><ClientSecret>{AZURE_SECRET}</ClientSecret>\
         <PlantedNote>{note}</PlantedNote>",
        pem = escape(&pem("RSA PRIVATE KEY", PEM_CORE)),
        note = escape(&free_text()),
    )
}

/// Response headers: the few a recording keeps (scrubbed) and many it drops.
fn planted_headers(json_body: bool) -> Vec<(String, String)> {
    vec![
        (
            "content-type".into(),
            if json_body {
                format!("application/json; charset=UTF-8; x-token={YA29}")
            } else {
                format!("text/xml; x-credential={AKID}")
            },
        ),
        (
            "www-authenticate".into(),
            format!("Bearer realm=\"x\", error=\"{JWT}\""),
        ),
        ("set-cookie".into(), format!("session={COOKIE}; HttpOnly")),
        ("authorization".into(), format!("Bearer {BEARER}")),
        ("x-amz-security-token".into(), SESSION_TOKEN.into()),
        ("location".into(), presigned_url()),
        ("x-planted-basic".into(), format!("Basic {BASIC}")),
    ]
}

// --- Checking a recording ----------------------------------------------------------------------

/// Every file under `dir`, with its text (all of them: scenario.json, exchanges, anything else).
fn all_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            if meta.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read");
                out.push((path, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
    out
}

/// No planted value in any file of the recording; the recording holds the planted responses
/// (so the check is not vacuous) and its files are private.
fn assert_clean(recording: &Path, extra: &[&str], expect_recorded: &[&str]) {
    use std::os::unix::fs::PermissionsExt;
    let files = all_files(recording);
    assert!(
        files.len() > 2,
        "nothing recorded in {}",
        recording.display()
    );
    let everything: String = files.iter().map(|(_, t)| t.as_str()).collect();
    for expected in expect_recorded {
        assert!(
            everything.contains(expected),
            "the recording does not hold `{expected}`: the planted responses were not recorded"
        );
    }
    let mut leaks = Vec::new();
    for value in planted().into_iter().chain(extra.iter().copied()) {
        for (path, text) in &files {
            if text.contains(value) {
                leaks.push(format!("{value} in {}", path.display()));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "planted secrets recorded:\n{}",
        leaks.join("\n")
    );
    for (path, _) in &files {
        let mode = std::fs::metadata(path).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o600), "{}", path.display());
    }
    let mode = std::fs::metadata(recording).map(|m| m.permissions().mode() & 0o777);
    assert_eq!(mode.ok(), Some(0o700), "the recording folder");
}

fn cloudscan(args: &[&str], env: &[(&str, String)], home: &Path) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("TMPDIR", home);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run cloudscan")
}

// --- AWS: a loopback server speaking the query, JSON and REST-JSON protocols --------------------

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn respond(stream: &mut TcpStream, status: u16, headers: &[(String, String)], body: &str) {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}

/// Answers one AWS request with the planted corpus. `seen` collects what the requests carried.
fn answer_aws(mut stream: TcpStream, seen: &std::sync::Mutex<Vec<String>>) {
    let Some(req) = read_request(&mut stream) else {
        return;
    };
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if let Ok(mut seen) = seen.lock() {
        seen.push(format!(
            "{} {} auth={} token={} body={}",
            req.method,
            req.target,
            header("authorization"),
            header("x-amz-security-token"),
            req.body
        ));
    }
    let form: Vec<(String, String)> = cloudscan_collect::fixture::parse_query(&req.body);
    let param = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let action = param("Action").unwrap_or_default();
    let xml_headers = planted_headers(false);
    let json_headers = planted_headers(true);
    let target = header("x-amz-target");
    if action == "GetCallerIdentity" {
        let body = format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>\
             <UserId>{AKID}</UserId><Account>123456789012</Account><Arn>arn:aws:iam::123456789012:user/scanner</Arn>\
             {}</GetCallerIdentityResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
            xml_elements()
        );
        respond(&mut stream, 200, &xml_headers, &body);
    } else if action == "GetAccountAuthorizationDetails" {
        // First page: a marker that is a credential, sent back in the next form body.
        let (truncated, marker) = match param("Marker") {
            None => ("true", format!("<Marker>{JWT}</Marker>")),
            Some(_) => ("false", String::new()),
        };
        let body = format!(
            "<GetAccountAuthorizationDetailsResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
             <GetAccountAuthorizationDetailsResult><IsTruncated>{truncated}</IsTruncated>{marker}\
             <UserDetailList/><GroupDetailList/><RoleDetailList/><Policies/>{}\
             </GetAccountAuthorizationDetailsResult><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata>\
             </GetAccountAuthorizationDetailsResponse>",
            xml_elements()
        );
        respond(&mut stream, 200, &xml_headers, &body);
    } else if !action.is_empty() {
        // Any other query-protocol call: denied, with the corpus in the error message.
        let body = format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>\
             <Message>{}</Message>{}</Error><RequestId>r-3</RequestId></ErrorResponse>",
            free_text().replace('&', "&amp;").replace('<', "&lt;"),
            xml_elements()
        );
        let mut headers = xml_headers;
        headers.push(("x-amzn-errortype".into(), format!("AccessDenied:{AKID}")));
        respond(&mut stream, 403, &headers, &body);
    } else if req.target.starts_with("/clusters") && req.method == "GET" {
        // EKS ListClusters: a page token that is a credential, sent back in the query string.
        let next = if req.target.contains("nextToken=") {
            Value::Null
        } else {
            Value::String(YA29.to_string())
        };
        let mut body = json_fields();
        body["clusters"] = json!([]);
        body["nextToken"] = next;
        respond(&mut stream, 200, &json_headers, &body.to_string());
    } else {
        // JSON protocol (x-amz-target) and any other REST call: denied, corpus in the body.
        let mut body = json_fields();
        body["__type"] = json!("AccessDeniedException");
        body["message"] = json!(free_text());
        let mut headers = json_headers;
        headers.push((
            "x-amzn-errortype".into(),
            format!("AccessDeniedException:{SESSION_AKID}"),
        ));
        let _ = target;
        respond(&mut stream, 403, &headers, &body.to_string());
    }
}

#[test]
fn aws_recordings_hold_none_of_the_planted_secrets() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let served = Arc::new(AtomicUsize::new(0));
    {
        let seen = Arc::clone(&seen);
        let served = Arc::clone(&served);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                served.fetch_add(1, Ordering::Relaxed);
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || answer_aws(stream, &seen));
            }
        });
    }
    let work = tempfile::tempdir().expect("tempdir");
    let recording = work.path().join("recording");
    let out = cloudscan(
        &[
            "aws",
            "--region",
            "us-east-1",
            "--record",
            recording.to_str().unwrap_or_default(),
            "--no-progress",
            "--max-attempts",
            "1",
            "--format",
            "json",
        ],
        &[
            ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
            ("AWS_ACCESS_KEY_ID", AKID.to_string()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_string()),
            ("AWS_SESSION_TOKEN", SESSION_TOKEN.to_string()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
            (
                "AWS_CONFIG_FILE",
                work.path().join("none").display().to_string(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                work.path().join("none").display().to_string(),
            ),
        ],
        work.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Most calls are denied: the scan is incomplete (3), never an error (2).
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        served.load(Ordering::Relaxed) > 5,
        "the scan reached the server"
    );
    // The request-side forms really were sent: the signing key and session token in headers,
    // the credential page tokens in a form body and in a query string.
    let requests = seen.lock().map(|s| s.join("\n")).unwrap_or_default();
    for (what, value) in [
        ("the signing key in Authorization", AKID),
        ("the session token header", SESSION_TOKEN),
        ("the IAM marker in a form body", "Marker=eyJ"),
        ("the EKS page token in a query", "nextToken=ya29"),
    ] {
        assert!(requests.contains(value), "{what} was not sent:\n{requests}");
    }
    assert_clean(
        &recording,
        &[],
        &[
            "GetAccountAuthorizationDetails",
            "PlantedNote",
            "plantedNote",
            "AccessDenied",
            "Marker",
            "nextToken",
        ],
    );
}

// --- GCP and Azure: their replay servers serve a planted copy of the bundled scenario -----------

/// Copies a scenario and plants the corpus in every JSON response (new fields beside the real
/// ones) and its headers.
fn planted_copy(scenario: &Path, to: &Path) {
    cloudscan_collect::testkit::copy_dir(scenario, to).expect("copy scenario");
    for file in cloudscan_collect::testkit::exchange_files(to) {
        let text = std::fs::read_to_string(&file).expect("read");
        let mut exchange: Value = serde_json::from_str(&text).expect("exchange");
        if let Some(responses) = exchange["responses"].as_array_mut() {
            for r in responses {
                let is_json = r.get("json").is_some_and(Value::is_object);
                if let Some(obj) = r.get_mut("json").and_then(Value::as_object_mut) {
                    if let Some(fields) = json_fields().as_object() {
                        for (k, v) in fields {
                            obj.entry(k.clone()).or_insert_with(|| v.clone());
                        }
                    }
                }
                if !r["headers"].is_object() {
                    r["headers"] = json!({});
                }
                if let Some(h) = r["headers"].as_object_mut() {
                    for (k, v) in planted_headers(is_json) {
                        if k == "content-type" && !is_json {
                            continue;
                        }
                        h.insert(k, json!(v));
                    }
                    h.insert("retry-after".into(), json!(format!("{JWT}")));
                    h.insert(
                        "x-ms-ratelimit-remaining-subscription-reads".into(),
                        json!(format!("Bearer {BEARER}")),
                    );
                }
            }
        }
        std::fs::write(&file, exchange.to_string()).expect("write");
    }
}

fn no_proxy_env() -> Vec<(&'static str, String)> {
    vec![("NO_PROXY", "*".to_string())]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcp_recordings_hold_none_of_the_planted_secrets() {
    let work = tempfile::tempdir().expect("tempdir");
    let scenario = work.path().join("planted");
    planted_copy(&root().join("mocks/gcp/insecure"), &scenario);
    let (server, _) = cloudscan_gcp::fixture::serve(&scenario)
        .await
        .expect("replay server");
    let key =
        cloudscan_gcp::throwaway_service_account_key("http://127.0.0.1:9/token").expect("key");
    let key_pem = key["private_key"].as_str().unwrap_or_default().to_string();
    let key_core: String = key_pem
        .lines()
        .nth(1)
        .unwrap_or_default()
        .chars()
        .take(40)
        .collect();
    assert!(key_core.len() >= 40, "a key to look for");
    let key_file = work.path().join("sa.json");
    std::fs::write(&key_file, key.to_string()).expect("write key");
    let recording = work.path().join("recording");
    let mut env = no_proxy_env();
    env.push((
        "GOOGLE_APPLICATION_CREDENTIALS",
        key_file.display().to_string(),
    ));
    env.push(("CLOUDSCAN_GCP_BASE_URL", server.base_url().to_string()));
    let rec = recording.display().to_string();
    let home = work.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        cloudscan(
            &[
                "gcp",
                "--project",
                "acme-insecure",
                "--record",
                &rec,
                "--no-progress",
                "--format",
                "json",
            ],
            &env,
            &home,
        )
    })
    .await
    .expect("join");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "the scan ran: {stderr}"
    );
    drop(server);
    assert_clean(
        &recording,
        &[key_core.as_str()],
        &["plantedNote", "serviceAccountKey", "clusters"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_recordings_hold_none_of_the_planted_secrets() {
    let work = tempfile::tempdir().expect("tempdir");
    let scenario = work.path().join("planted");
    planted_copy(&root().join("mocks/azure/insecure"), &scenario);
    let (server, _) = cloudscan_azure::fixture::serve(&scenario)
        .await
        .expect("replay server");
    let recording = work.path().join("recording");
    let base = server.base_url().to_string();
    let mut env = no_proxy_env();
    env.push((cloudscan_azure::client::ARM_URL_ENV, base.clone()));
    env.push(("AZURE_AUTHORITY_HOST", base));
    env.push((
        "AZURE_TENANT_ID",
        cloudscan_azure::fixture::REPLAY_TENANT.to_string(),
    ));
    env.push((
        "AZURE_CLIENT_ID",
        cloudscan_azure::fixture::REPLAY_CLIENT_ID.to_string(),
    ));
    env.push((
        "AZURE_CLIENT_SECRET",
        cloudscan_azure::fixture::REPLAY_SECRET.to_string(),
    ));
    let rec = recording.display().to_string();
    let home = work.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        cloudscan(
            &[
                "azure",
                "--subscription",
                "11111111-1111-1111-1111-111111111111",
                "--record",
                &rec,
                "--no-progress",
                "--format",
                "json",
            ],
            &env,
            &home,
        )
    })
    .await
    .expect("join");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "the scan ran: {stderr}"
    );
    drop(server);
    assert_clean(
        &recording,
        &[cloudscan_azure::fixture::REPLAY_SECRET, "127.0.0.1"],
        &["plantedNote", "managedClusters"],
    );
}
