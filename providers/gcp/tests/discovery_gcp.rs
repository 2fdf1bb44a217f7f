//! The adapter's reading of Google's responses, checked against Google's own published schemas:
//! the discovery documents of container v1, cloudresourcemanager v3, iam v1 and compute v1, as
//! shipped in google-api-python-client 2.202.0 and installed by `tests/install-deps.sh` into
//! `target/gcp-discovery/` (or the directory named by `CLOUDSCAN_GCP_DISCOVERY_DIR`), each
//! checked against its pinned SHA-256. A missing document is installed by running that script;
//! if it is still missing the test fails: it never skips.
//!
//! What is checked:
//! - every field of every serde struct the collectors decode responses into (walked from the
//!   structs themselves, so a new field is checked as soon as it is added), with its JSON type;
//! - every enum value the adapter compares with (`cloudscan_gcp::schema::ENUM_READS`);
//! - every field of a list response read as raw JSON (`cloudscan_gcp::schema::FIELD_READS`);
//! - every REST call of `cloudscan_gcp::operations::OPERATIONS`: the method exists, with that
//!   HTTP verb and that path.

use cloudscan_gcp::collect::RawServiceAccount;
use cloudscan_gcp::collect::{Policy, RawCluster, RawDisk, RawFolder, RawProject, RawRole};
use cloudscan_gcp::operations::OPERATIONS;
use cloudscan_gcp::schema::{ENUM_READS, FIELD_READS};
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The pinned documents, the same pins as in tests/install-deps.sh.
const DOCUMENTS: &[(&str, &str)] = &[
    (
        "cloudresourcemanager.v3",
        "ef8bc41a9b2e491ba230a3562b4e1ed32b67c355b4923fdbb1181fcd89a3f9d7",
    ),
    (
        "compute.v1",
        "6a776936c09fdec23f48bb54d6b746eec7d0085d592c1612887abc9881cda697",
    ),
    (
        "container.v1",
        "22e369f3a8e773e1aeca6bab8569a63527ab1f48b3c539c7993a0f668129739c",
    ),
    (
        "iam.v1",
        "dd38397d052dff9127b29b2525d094b23df7004d6cddf52f4283aa0fccf7485c",
    ),
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn discovery_dir() -> PathBuf {
    match std::env::var_os("CLOUDSCAN_GCP_DISCOVERY_DIR") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => repo_root().join("target/gcp-discovery"),
    }
}

/// Every pinned document, parsed once per test binary.
fn documents() -> &'static BTreeMap<&'static str, Value> {
    static DOCS: OnceLock<BTreeMap<&'static str, Value>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let dir = discovery_dir();
        let needed: Vec<PathBuf> = DOCUMENTS
            .iter()
            .map(|(name, _)| dir.join(format!("{name}.json")))
            .collect();
        if let Err(e) = cloudscan_collect::testkit::install_if_missing(&repo_root(), &needed) {
            panic!("the discovery documents are not installed: {e}");
        }
        DOCUMENTS
            .iter()
            .map(|(name, sha)| {
                let path = dir.join(format!("{name}.json"));
                let bytes = std::fs::read(&path).unwrap_or_else(|e| {
                    panic!(
                        "the discovery document {} is missing ({e}); install it with tests/install-deps.sh",
                        path.display()
                    )
                });
                let digest: String = Sha256::digest(&bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                assert_eq!(&digest, sha, "{} is not the pinned document", path.display());
                let doc: Value = serde_json::from_slice(&bytes).expect("discovery JSON");
                (*name, doc)
            })
            .collect()
    })
}

// ---------------------------------------------------------------------------------------------
// Walking a serde struct: a deserializer that answers every request with an empty value and
// records the path and JSON type each field asks for.

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Items,
    Values,
}

fn show(path: &[Step]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Step::Field(f) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(f);
            }
            Step::Items => out.push_str("[]"),
            Step::Values => out.push_str("{}"),
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Bool,
    Integer,
    Number,
    String,
    Object,
    Any,
}

type Leaves = RefCell<Vec<(Vec<Step>, Kind)>>;

struct Tracer<'a> {
    path: Vec<Step>,
    out: &'a Leaves,
}

impl<'a> Tracer<'a> {
    fn child(&self, step: Step) -> Tracer<'a> {
        let mut path = self.path.clone();
        path.push(step);
        Tracer {
            path,
            out: self.out,
        }
    }
    fn leaf(&self, kind: Kind) {
        self.out.borrow_mut().push((self.path.clone(), kind));
    }
}

type E = de::value::Error;

impl<'de> de::Deserializer<'de> for Tracer<'_> {
    type Error = E;
    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        self.leaf(Kind::Any);
        v.visit_unit()
    }
    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        self.leaf(Kind::Bool);
        v.visit_bool(false)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        self.leaf(Kind::Integer);
        v.visit_i64(0)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        self.deserialize_i64(v)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        self.leaf(Kind::Integer);
        v.visit_u64(0)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        self.deserialize_u64(v)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        self.leaf(Kind::Number);
        v.visit_f64(0.0)
    }
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        self.leaf(Kind::String);
        v.visit_str("")
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        self.deserialize_str(v)
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        v.visit_some(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        v.visit_seq(One {
            tracer: Some(self.child(Step::Items)),
        })
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        self.leaf(Kind::Object);
        v.visit_map(OneEntry {
            tracer: Some(self.child(Step::Values)),
            key_done: false,
        })
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, E> {
        self.leaf(Kind::Object);
        v.visit_map(Fields {
            tracer: self,
            fields,
            next: 0,
        })
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, E> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        self.deserialize_str(v)
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        v.visit_unit()
    }
    serde::forward_to_deserialize_any! {
        i8 i16 i128 u8 u16 u128 f32 char bytes byte_buf unit unit_struct tuple tuple_struct enum
    }
}

/// A sequence of one element.
struct One<'a> {
    tracer: Option<Tracer<'a>>,
}

impl<'de> SeqAccess<'de> for One<'_> {
    type Error = E;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, E> {
        match self.tracer.take() {
            Some(t) => seed.deserialize(t).map(Some),
            None => Ok(None),
        }
    }
}

/// A map of one entry (`"k": <traced value>`).
struct OneEntry<'a> {
    tracer: Option<Tracer<'a>>,
    key_done: bool,
}

impl<'de> MapAccess<'de> for OneEntry<'_> {
    type Error = E;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, E> {
        if self.key_done {
            return Ok(None);
        }
        self.key_done = true;
        seed.deserialize(de::value::StrDeserializer::<E>::new("k"))
            .map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, E> {
        let t = self
            .tracer
            .take()
            .ok_or_else(|| de::Error::custom("value without key"))?;
        seed.deserialize(t)
    }
}

/// Every field of a struct, each with a traced value.
struct Fields<'a> {
    tracer: Tracer<'a>,
    fields: &'static [&'static str],
    next: usize,
}

impl<'de> MapAccess<'de> for Fields<'_> {
    type Error = E;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, E> {
        match self.fields.get(self.next) {
            Some(f) => seed
                .deserialize(de::value::StrDeserializer::<E>::new(f))
                .map(Some),
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, E> {
        let field = self
            .fields
            .get(self.next)
            .ok_or_else(|| de::Error::custom("value without key"))?;
        self.next += 1;
        seed.deserialize(self.tracer.child(Step::Field(field.to_string())))
    }
}

/// Every field path of `T` with the JSON type it reads (the root itself left out).
fn fields_of<T: DeserializeOwned>() -> Vec<(Vec<Step>, Kind)> {
    let out: Leaves = RefCell::new(Vec::new());
    T::deserialize(Tracer {
        path: Vec::new(),
        out: &out,
    })
    .expect("the tracer answers every request");
    out.into_inner()
        .into_iter()
        .filter(|(p, _)| !p.is_empty())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Resolving a path in a discovery document.

fn deref<'a>(doc: &'a Value, mut schema: &'a Value) -> Result<&'a Value, String> {
    for _ in 0..8 {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(name) => {
                schema = doc["schemas"]
                    .get(name)
                    .ok_or_else(|| format!("no schema {name}"))?;
            }
            None => return Ok(schema),
        }
    }
    Err("$ref loop".to_string())
}

/// The schema at `path` below `root` in `api`.
fn resolve<'a>(api: &str, root: &str, path: &[Step]) -> Result<&'a Value, String> {
    let doc = documents()
        .get(api)
        .ok_or_else(|| format!("no document {api}"))?;
    let mut at = doc["schemas"]
        .get(root)
        .ok_or_else(|| format!("{api}: no schema {root}"))?;
    for (i, step) in path.iter().enumerate() {
        at = deref(doc, at)?;
        let here = show(&path[..=i]);
        at = match step {
            Step::Field(f) => at
                .get("properties")
                .and_then(|p| p.get(f))
                .ok_or_else(|| format!("{api} {root}.{here}: no such field"))?,
            Step::Items => at
                .get("items")
                .filter(|_| at["type"] == "array")
                .ok_or_else(|| format!("{api} {root}.{here}: not an array"))?,
            Step::Values => at
                .get("additionalProperties")
                .filter(|_| at["type"] == "object")
                .ok_or_else(|| format!("{api} {root}.{here}: not a map"))?,
        };
    }
    deref(doc, at)
}

fn parse_path(text: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for part in text.split('.') {
        let mut name = part;
        let mut suffix = Vec::new();
        loop {
            if let Some(n) = name.strip_suffix("[]") {
                suffix.push(Step::Items);
                name = n;
            } else if let Some(n) = name.strip_suffix("{}") {
                suffix.push(Step::Values);
                name = n;
            } else {
                break;
            }
        }
        out.push(Step::Field(name.to_string()));
        out.extend(suffix.into_iter().rev());
    }
    out
}

/// Whether the JSON type a Rust field reads fits the schema (int64 travels as a string).
fn type_fits(kind: Kind, schema: &Value) -> bool {
    let t = schema["type"].as_str().unwrap_or("object");
    match kind {
        Kind::Bool => t == "boolean",
        Kind::String => t == "string",
        Kind::Integer => t == "integer" || (t == "string" && schema["format"].is_string()),
        Kind::Number => t == "number" || t == "integer",
        Kind::Object => t == "object" || schema.get("properties").is_some(),
        Kind::Any => true,
    }
}

/// The adapter's serde structs and the schema each decodes.
/// (Rust struct, API, schema, traced fields).
type StructCheck = (
    &'static str,
    &'static str,
    &'static str,
    Vec<(Vec<Step>, Kind)>,
);

fn struct_checks() -> Vec<StructCheck> {
    vec![
        (
            "RawCluster",
            "container.v1",
            "Cluster",
            fields_of::<RawCluster>(),
        ),
        (
            "RawProject",
            "cloudresourcemanager.v3",
            "Project",
            fields_of::<RawProject>(),
        ),
        (
            "RawFolder",
            "cloudresourcemanager.v3",
            "Folder",
            fields_of::<RawFolder>(),
        ),
        (
            "Policy",
            "cloudresourcemanager.v3",
            "Policy",
            fields_of::<Policy>(),
        ),
        ("Policy", "iam.v1", "Policy", fields_of::<Policy>()),
        (
            "RawServiceAccount",
            "iam.v1",
            "ServiceAccount",
            fields_of::<RawServiceAccount>(),
        ),
        ("RawRole", "iam.v1", "Role", fields_of::<RawRole>()),
        ("RawDisk", "compute.v1", "Disk", fields_of::<RawDisk>()),
    ]
}

#[test]
fn every_field_the_adapter_decodes_is_in_googles_schema_with_its_type() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for (rust, api, schema, fields) in struct_checks() {
        assert!(!fields.is_empty(), "{rust}: the tracer found no field");
        for (path, kind) in &fields {
            checked += 1;
            match resolve(api, schema, path) {
                Ok(s) if type_fits(*kind, s) => {}
                Ok(s) => problems.push(format!(
                    "{rust} -> {api} {schema}.{}: the adapter reads {kind:?}, the schema says {}",
                    show(path),
                    s["type"]
                )),
                Err(e) => problems.push(format!("{rust}: {e}")),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!("{checked} decoded fields checked against the discovery documents");
    // RawCluster alone reads well over fifty fields; a tracer that stopped early would pass
    // trivially.
    assert!(checked > 100, "only {checked} fields checked");
}

#[test]
fn every_enum_value_the_adapter_compares_with_is_in_googles_schema() {
    let mut problems = Vec::new();
    for read in ENUM_READS {
        let path = parse_path(read.field);
        match resolve(read.api, read.schema, &path) {
            Ok(s) => {
                let values: Vec<&str> = s["enum"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if values.is_empty() {
                    problems.push(format!(
                        "{} {}.{}: not an enum",
                        read.api, read.schema, read.field
                    ));
                }
                for v in read.values {
                    if !values.contains(v) {
                        problems.push(format!(
                            "{} {}.{}: `{v}` is not one of {values:?}",
                            read.api, read.schema, read.field
                        ));
                    }
                }
            }
            Err(e) => problems.push(e),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_raw_list_field_is_in_googles_schema() {
    let problems: Vec<String> = FIELD_READS
        .iter()
        .filter_map(|r| resolve(r.api, r.schema, &parse_path(r.field)).err())
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The discovery method of an operation (`projects.locations.clusters.list` →
/// `resources.projects.resources.locations.resources.clusters.methods.list`).
fn method<'a>(doc: &'a Value, name: &str) -> Option<&'a Value> {
    let parts: Vec<&str> = name.split('.').collect();
    let (last, resources) = parts.split_last()?;
    let mut at = doc;
    for r in resources {
        at = at.get("resources")?.get(r)?;
    }
    at.get("methods")?.get(last)
}

/// Path segments with every `{placeholder}` (and `{+placeholder}`) replaced by `{}`.
fn shape(path: &str) -> Vec<String> {
    path.trim_matches('/')
        .split('/')
        .map(|seg| {
            let mut out = String::new();
            let mut rest = seg;
            while let Some(open) = rest.find('{') {
                out.push_str(&rest[..open]);
                out.push_str("{}");
                rest = rest[open..]
                    .find('}')
                    .map_or("", |close| &rest[open + close + 1..]);
            }
            out.push_str(rest);
            out
        })
        .collect()
}

#[test]
fn every_call_the_adapter_makes_is_a_method_of_googles_api() {
    let mut problems = Vec::new();
    for op in OPERATIONS {
        let api = match op.service {
            "container" => "container.v1",
            "cloudresourcemanager" => "cloudresourcemanager.v3",
            "iam" => "iam.v1",
            "compute" => "compute.v1",
            other => {
                problems.push(format!("unknown service {other}"));
                continue;
            }
        };
        let doc = &documents()[api];
        let Some(m) = method(doc, op.name) else {
            problems.push(format!("{api}: no method {}", op.name));
            continue;
        };
        if m["httpMethod"] != op.method {
            problems.push(format!(
                "{api} {}: {} in the adapter, {} in the schema",
                op.name, op.method, m["httpMethod"]
            ));
        }
        let service_path = doc["servicePath"].as_str().unwrap_or("");
        let declared = m["flatPath"].as_str().or(m["path"].as_str()).unwrap_or("");
        let want = shape(&format!("{service_path}{declared}"));
        if shape(op.path) != want {
            problems.push(format!(
                "{api} {}: path {} in the adapter, {service_path}{declared} in the schema",
                op.name, op.path
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_schema_check_catches_a_field_or_value_google_does_not_have() {
    // The checker itself, in the other direction: made-up names are refused.
    assert!(resolve(
        "container.v1",
        "Cluster",
        &parse_path("masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled")
    )
    .is_ok());
    assert!(resolve(
        "container.v1",
        "Cluster",
        &parse_path("masterAuthorizedNetworksConfig.publicCidrsEnabled")
    )
    .is_err());
    assert!(resolve(
        "container.v1",
        "Cluster",
        &parse_path("nodePools[].config.oauthScopes[]")
    )
    .is_ok());
    assert!(resolve("container.v1", "Cluster", &parse_path("nodePools.config")).is_err());
    let mode = resolve(
        "container.v1",
        "Cluster",
        &parse_path("nodePools[].config.workloadMetadataConfig.mode"),
    )
    .expect("mode");
    let values: Vec<&str> = mode["enum"]
        .as_array()
        .expect("enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(values.contains(&"GKE_METADATA"));
    assert!(!values.contains(&"METADATA_SERVER"));
    // The tracer sees nested, optional, repeated and map fields of the structs.
    let fields: Vec<String> = fields_of::<RawCluster>()
        .iter()
        .map(|(p, _)| show(p))
        .collect();
    for f in [
        "masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled",
        "nodePools[].config.oauthScopes[]",
        "resourceLabels{}",
        "controlPlaneEndpointsConfig.ipEndpointsConfig.authorizedNetworksConfig.cidrBlocks[].cidrBlock",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} not traced: {fields:?}");
    }
}
