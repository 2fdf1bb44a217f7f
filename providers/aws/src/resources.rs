//! Resource-based policies: S3 bucket policies and Block Public Access (bucket and account level),
//! KMS key policies of customer-managed keys, Secrets Manager resource policies.
//!
//! Only policies and settings are read: never an object, never a secret value.

use crate::collect::{call, every_page, Limiter, FAN_OUT};
use crate::error::CollectError;
use crate::normalize::decode_policy;
use aws_config::{Region, SdkConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use cloudscan_inventory::{AccountPublicAccessBlock, PolicyDoc, PublicAccessBlock, ResourcePolicy};
use futures::stream::{self, StreamExt};

/// What the resource collectors found in one account.
#[derive(Debug, Default)]
pub struct ResourceData {
    pub policies: Vec<ResourcePolicy>,
    pub account_public_access_block: Option<AccountPublicAccessBlock>,
    /// (service, region, errors, partial)
    pub coverage: Vec<(String, String, Vec<CollectError>, bool)>,
}

fn denied(e: CollectError, permission: &'static str) -> CollectError {
    e.with_permission(Some(permission))
}

fn is_code(e: &CollectError, code: &str) -> bool {
    e.code.as_deref() == Some(code)
}

fn resource_doc(name: &str, raw: &str) -> PolicyDoc {
    let mut doc = PolicyDoc {
        kind: "resource".to_string(),
        name: name.to_string(),
        ..Default::default()
    };
    match decode_policy(raw) {
        Ok(v) => doc.document = Some(v.into()),
        Err(e) => doc.error = Some(e),
    }
    doc
}

/// Collects every resource policy of the account: S3 (global), the account's Block Public Access,
/// and KMS and Secrets Manager in each region.
pub async fn collect(
    config: &SdkConfig,
    account: &str,
    home_region: &str,
    regions: &[String],
    limiter: &Limiter,
) -> ResourceData {
    let mut data = ResourceData::default();
    let (s3, account_block, per_region) = tokio::join!(
        s3_buckets(config, account, home_region, limiter),
        account_public_access_block(config, account, home_region, limiter),
        futures::future::join_all(regions.iter().map(|region| async move {
            let region_config = config
                .to_builder()
                .region(Region::new(region.clone()))
                .build();
            let (kms, secrets) = tokio::join!(
                kms_keys(&region_config, account, region, limiter),
                secrets(&region_config, account, region, limiter),
            );
            (region.clone(), kms, secrets)
        })),
    );
    let (buckets, s3_errors) = s3;
    let partial = !buckets.is_empty();
    data.policies.extend(buckets);
    data.coverage
        .push(("s3".to_string(), "global".to_string(), s3_errors, partial));
    match account_block {
        Ok(block) => {
            data.account_public_access_block = Some(block);
            data.coverage.push((
                "s3/account-public-access-block".to_string(),
                "global".to_string(),
                vec![],
                false,
            ));
        }
        Err(e) => {
            data.account_public_access_block = Some(AccountPublicAccessBlock {
                scope: account.to_string(),
                settings: None,
                state: "unknown".to_string(),
                source: "s3control:GetPublicAccessBlock".to_string(),
            });
            data.coverage.push((
                "s3/account-public-access-block".to_string(),
                "global".to_string(),
                vec![e],
                false,
            ));
        }
    }
    for (region, (keys, key_errors), (secrets, secret_errors)) in per_region {
        let partial = !keys.is_empty();
        data.policies.extend(keys);
        data.coverage.push((
            "kms/key-policies".to_string(),
            region.clone(),
            key_errors,
            partial,
        ));
        let partial = !secrets.is_empty();
        data.policies.extend(secrets);
        data.coverage
            .push(("secretsmanager".to_string(), region, secret_errors, partial));
    }
    data.policies
        .sort_by(|a, b| (&a.kind, &a.arn).cmp(&(&b.kind, &b.arn)));
    data
}

fn s3_client(config: &SdkConfig, region: &str) -> aws_sdk_s3::Client {
    // Path-style requests: they work in every region and against emulators, and a recording
    // keys each bucket's requests by their path.
    let conf = aws_sdk_s3::config::Builder::from(config)
        .region(Region::new(region.to_string()))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

fn block(
    c: Option<&aws_sdk_s3::types::PublicAccessBlockConfiguration>,
) -> Option<PublicAccessBlock> {
    c.map(|c| PublicAccessBlock {
        block_public_acls: c.block_public_acls(),
        ignore_public_acls: c.ignore_public_acls(),
        block_public_policy: c.block_public_policy(),
        restrict_public_buckets: c.restrict_public_buckets(),
    })
}

async fn s3_buckets(
    config: &SdkConfig,
    account: &str,
    home_region: &str,
    limiter: &Limiter,
) -> (Vec<ResourcePolicy>, Vec<CollectError>) {
    let client = s3_client(config, home_region);
    let pages = match every_page(
        client.list_buckets().into_paginator().send(),
        limiter,
        "s3:ListBuckets",
        |p| p.continuation_token(),
    )
    .await
    {
        Ok(pages) => pages,
        Err(e) => return (Vec::new(), vec![denied(e, "s3:ListAllMyBuckets")]),
    };
    let buckets: Vec<(String, Option<String>)> = pages
        .iter()
        .flat_map(|p| p.buckets())
        .filter_map(|b| Some((b.name()?.to_string(), b.bucket_region().map(str::to_string))))
        .collect();
    let results: Vec<(ResourcePolicy, Vec<CollectError>)> = stream::iter(buckets)
        .map(|(name, region)| async move {
            let client = s3_client(config, region.as_deref().unwrap_or(home_region));
            let mut errors = Vec::new();
            let mut rp = ResourcePolicy {
                arn: format!("arn:{}:s3:::{name}", partition_of_region(home_region)),
                kind: "s3-bucket".to_string(),
                scope: account.to_string(),
                region: region.clone(),
                state: "unknown".to_string(),
                policy: None,
                public_access_block: None,
                source: "s3:GetBucketPolicy + s3:GetBucketPublicAccessBlock".to_string(),
            };
            match call!(
                limiter,
                "s3:GetBucketPolicy",
                client.get_bucket_policy().bucket(&name).send()
            ) {
                Ok(out) => match out.policy() {
                    Some(p) if !p.trim().is_empty() => {
                        rp.state = "attached".to_string();
                        rp.policy = Some(resource_doc("bucket policy", p));
                    }
                    _ => rp.state = "none".to_string(),
                },
                Err(e) if is_code(&e, "NoSuchBucketPolicy") => rp.state = "none".to_string(),
                Err(mut e) => {
                    e.target = name.clone();
                    errors.push(denied(e, "s3:GetBucketPolicy"));
                }
            }
            match call!(
                limiter,
                "s3:GetPublicAccessBlock",
                client.get_public_access_block().bucket(&name).send()
            ) {
                Ok(out) => rp.public_access_block = block(out.public_access_block_configuration()),
                Err(e) if is_code(&e, "NoSuchPublicAccessBlockConfiguration") => {}
                Err(mut e) => {
                    e.target = name.clone();
                    errors.push(denied(e, "s3:GetBucketPublicAccessBlock"));
                }
            }
            (rp, errors)
        })
        .buffer_unordered(FAN_OUT)
        .collect()
        .await;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (rp, errs) in results {
        out.push(rp);
        errors.extend(errs);
    }
    (out, errors)
}

fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Strips the account-id label the S3 Control endpoint rules put in front of the host, when the
/// host is an address (an emulator on loopback); `123456789012.127.0.0.1` cannot resolve.
#[derive(Debug)]
struct AddressHost;

impl Intercept for AddressHost {
    fn name(&self) -> &'static str {
        "cloudscan-s3control-address-host"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let uri = request.uri().to_string();
        let Some((scheme, rest)) = uri.split_once("://") else {
            return Ok(());
        };
        let Some((label, host_rest)) = rest.split_once('.') else {
            return Ok(());
        };
        let host = host_rest.split(['/', ':', '?']).next().unwrap_or_default();
        let is_address = host.parse::<std::net::IpAddr>().is_ok() || host == "localhost";
        if is_address && !label.is_empty() && label.chars().all(|c| c.is_ascii_digit()) {
            request.set_uri(format!("{scheme}://{host_rest}"))?;
        }
        Ok(())
    }
}

async fn account_public_access_block(
    config: &SdkConfig,
    account: &str,
    home_region: &str,
    limiter: &Limiter,
) -> Result<AccountPublicAccessBlock, CollectError> {
    let conf = aws_sdk_s3control::config::Builder::from(config)
        .region(Region::new(home_region.to_string()))
        .interceptor(AddressHost)
        .build();
    let client = aws_sdk_s3control::Client::from_conf(conf);
    let source = "s3control:GetPublicAccessBlock".to_string();
    match call!(
        limiter,
        "s3control:GetPublicAccessBlock",
        client.get_public_access_block().account_id(account).send()
    ) {
        Ok(out) => {
            let settings = out
                .public_access_block_configuration()
                .map(|c| PublicAccessBlock {
                    block_public_acls: c.block_public_acls(),
                    ignore_public_acls: c.ignore_public_acls(),
                    block_public_policy: c.block_public_policy(),
                    restrict_public_buckets: c.restrict_public_buckets(),
                });
            Ok(AccountPublicAccessBlock {
                scope: account.to_string(),
                state: if settings.is_some() { "set" } else { "none" }.to_string(),
                settings,
                source,
            })
        }
        Err(e) if is_code(&e, "NoSuchPublicAccessBlockConfiguration") => {
            Ok(AccountPublicAccessBlock {
                scope: account.to_string(),
                settings: None,
                state: "none".to_string(),
                source,
            })
        }
        Err(e) => Err(denied(e, "s3:GetAccountPublicAccessBlock")),
    }
}

async fn kms_keys(
    config: &SdkConfig,
    account: &str,
    region: &str,
    limiter: &Limiter,
) -> (Vec<ResourcePolicy>, Vec<CollectError>) {
    let client = aws_sdk_kms::Client::new(config);
    let pages = match every_page(
        client.list_keys().into_paginator().send(),
        limiter,
        "kms:ListKeys",
        |p| p.next_marker(),
    )
    .await
    {
        Ok(pages) => pages,
        Err(e) => return (Vec::new(), vec![denied(e, "kms:ListKeys")]),
    };
    let keys: Vec<String> = pages
        .iter()
        .flat_map(|p| p.keys())
        .filter_map(|k| k.key_arn().or(k.key_id()).map(str::to_string))
        .collect();
    let client = &client;
    let results: Vec<Result<Option<ResourcePolicy>, CollectError>> = stream::iter(keys)
        .map(|key| async move {
            let described = call!(
                limiter,
                "kms:DescribeKey",
                client.describe_key().key_id(&key).send()
            )
            .map_err(|mut e| {
                e.target = key.clone();
                denied(e, "kms:DescribeKey")
            })?;
            let md = described.key_metadata();
            // AWS-managed keys have a fixed policy; only customer-managed keys are read.
            if md.and_then(|m| m.key_manager()).map(|m| m.as_str()) != Some("CUSTOMER") {
                return Ok(None);
            }
            let arn = md
                .and_then(|m| m.arn())
                .map(str::to_string)
                .unwrap_or_else(|| key.clone());
            let mut rp = ResourcePolicy {
                arn: arn.clone(),
                kind: "kms-key".to_string(),
                scope: account.to_string(),
                region: Some(region.to_string()),
                state: "unknown".to_string(),
                policy: None,
                public_access_block: None,
                source: "kms:GetKeyPolicy (default)".to_string(),
            };
            let out = call!(
                limiter,
                "kms:GetKeyPolicy",
                client
                    .get_key_policy()
                    .key_id(&arn)
                    .policy_name("default")
                    .send()
            )
            .map_err(|mut e| {
                e.target = arn.clone();
                denied(e, "kms:GetKeyPolicy")
            })?;
            match out.policy() {
                Some(p) if !p.trim().is_empty() => {
                    rp.state = "attached".to_string();
                    rp.policy = Some(resource_doc("default", p));
                }
                _ => rp.state = "none".to_string(),
            }
            Ok(Some(rp))
        })
        .buffer_unordered(FAN_OUT)
        .collect()
        .await;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(Some(rp)) => out.push(rp),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    (out, errors)
}

async fn secrets(
    config: &SdkConfig,
    account: &str,
    region: &str,
    limiter: &Limiter,
) -> (Vec<ResourcePolicy>, Vec<CollectError>) {
    let client = aws_sdk_secretsmanager::Client::new(config);
    let pages = match every_page(
        client.list_secrets().into_paginator().send(),
        limiter,
        "secretsmanager:ListSecrets",
        |p| p.next_token(),
    )
    .await
    {
        Ok(pages) => pages,
        Err(e) => return (Vec::new(), vec![denied(e, "secretsmanager:ListSecrets")]),
    };
    let arns: Vec<String> = pages
        .iter()
        .flat_map(|p| p.secret_list())
        .filter_map(|s| s.arn().map(str::to_string))
        .collect();
    let client = &client;
    let results: Vec<(ResourcePolicy, Option<CollectError>)> = stream::iter(arns)
        .map(|arn| async move {
            let mut rp = ResourcePolicy {
                arn: arn.clone(),
                kind: "secretsmanager-secret".to_string(),
                scope: account.to_string(),
                region: Some(region.to_string()),
                state: "unknown".to_string(),
                policy: None,
                public_access_block: None,
                source: "secretsmanager:GetResourcePolicy".to_string(),
            };
            match call!(
                limiter,
                "secretsmanager:GetResourcePolicy",
                client.get_resource_policy().secret_id(&arn).send()
            ) {
                Ok(out) => match out.resource_policy() {
                    Some(p) if !p.trim().is_empty() => {
                        rp.state = "attached".to_string();
                        rp.policy = Some(resource_doc("resource policy", p));
                    }
                    _ => rp.state = "none".to_string(),
                },
                Err(mut e) => {
                    e.target = arn.clone();
                    return (rp, Some(denied(e, "secretsmanager:GetResourcePolicy")));
                }
            }
            (rp, None)
        })
        .buffer_unordered(FAN_OUT)
        .collect()
        .await;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (rp, e) in results {
        out.push(rp);
        errors.extend(e);
    }
    (out, errors)
}
