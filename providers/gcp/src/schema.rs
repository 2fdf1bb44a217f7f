//! What the adapter reads from Google's responses beyond its serde structs: the enum values it
//! compares with, and the fields of list responses it reads as raw JSON. The normalizer and the
//! collectors use these constants, and `tests/discovery_gcp.rs` checks every one of them (and
//! every field of the serde structs) against Google's published discovery documents.

/// One enum field the adapter compares with constants.
#[derive(Debug, Clone, Copy)]
pub struct EnumRead {
    /// The discovery document (`container.v1`, `cloudresourcemanager.v3`, `iam.v1`, `compute.v1`).
    pub api: &'static str,
    /// The schema the path starts from.
    pub schema: &'static str,
    /// Field path below the schema (`a.b[].c`: `[]` steps into an array, `{}` into map values).
    pub field: &'static str,
    /// The values the adapter compares with; each must be a value of the field's enum.
    pub values: &'static [&'static str],
}

/// One field the adapter reads as raw JSON (list responses).
#[derive(Debug, Clone, Copy)]
pub struct FieldRead {
    pub api: &'static str,
    pub schema: &'static str,
    pub field: &'static str,
}

/// `databaseEncryption.state` values that mean "secrets are encrypted with a KMS key".
pub const ENCRYPTED_STATES: &[&str] = &["ENCRYPTED", "ALL_OBJECTS_ENCRYPTION_ENABLED"];
/// `databaseEncryption.state`: application-layer secrets encryption is off.
pub const DECRYPTED_STATE: &str = "DECRYPTED";
/// `databaseEncryption.currentState`: decrypted.
pub const CURRENT_DECRYPTED: &str = "CURRENT_STATE_DECRYPTED";
/// `databaseEncryption.currentState` values where the control plane cannot use the key.
pub const CURRENT_ERROR_STATES: &[&str] = &[
    "CURRENT_STATE_ENCRYPTION_ERROR",
    "CURRENT_STATE_DECRYPTION_ERROR",
    "CURRENT_STATE_ALL_OBJECTS_ENCRYPTION_ERROR",
];
/// `workloadMetadataConfig.mode` values.
pub const MODE_UNSPECIFIED: &str = "MODE_UNSPECIFIED";
pub const GCE_METADATA: &str = "GCE_METADATA";
pub const GKE_METADATA: &str = "GKE_METADATA";
/// Component logs GKE can send to Cloud Logging (`loggingConfig.componentConfig`).
pub const LOG_COMPONENTS: &[&str] = &[
    "SYSTEM_COMPONENTS",
    "WORKLOADS",
    "APISERVER",
    "SCHEDULER",
    "CONTROLLER_MANAGER",
];
/// `AuditLogConfig.logType` values of Data Access audit logs.
pub const DATA_ACCESS_LOG_TYPES: &[&str] = &["ADMIN_READ", "DATA_READ", "DATA_WRITE"];
/// `Project.state` of a project that is not being deleted.
pub const PROJECT_ACTIVE: &str = "ACTIVE";
/// `Folder.state` of a folder that is not being deleted.
pub const FOLDER_ACTIVE: &str = "ACTIVE";
/// The per-scope warning of an aggregated list that only means "nothing here".
pub const NO_RESULTS_ON_PAGE: &str = "NO_RESULTS_ON_PAGE";

/// Every enum comparison of the adapter.
pub const ENUM_READS: &[EnumRead] = &[
    EnumRead {
        api: "container.v1",
        schema: "Cluster",
        field: "databaseEncryption.state",
        values: &["ENCRYPTED", "ALL_OBJECTS_ENCRYPTION_ENABLED", "DECRYPTED"],
    },
    EnumRead {
        api: "container.v1",
        schema: "Cluster",
        field: "databaseEncryption.currentState",
        values: &[
            CURRENT_DECRYPTED,
            "CURRENT_STATE_ENCRYPTION_ERROR",
            "CURRENT_STATE_DECRYPTION_ERROR",
            "CURRENT_STATE_ALL_OBJECTS_ENCRYPTION_ERROR",
        ],
    },
    EnumRead {
        api: "container.v1",
        schema: "Cluster",
        field: "nodePools[].config.workloadMetadataConfig.mode",
        values: &[MODE_UNSPECIFIED, GCE_METADATA, GKE_METADATA],
    },
    EnumRead {
        api: "container.v1",
        schema: "Cluster",
        field: "loggingConfig.componentConfig.enableComponents[]",
        values: LOG_COMPONENTS,
    },
    EnumRead {
        api: "cloudresourcemanager.v3",
        schema: "Policy",
        field: "auditConfigs[].auditLogConfigs[].logType",
        values: DATA_ACCESS_LOG_TYPES,
    },
    EnumRead {
        api: "iam.v1",
        schema: "Policy",
        field: "auditConfigs[].auditLogConfigs[].logType",
        values: DATA_ACCESS_LOG_TYPES,
    },
    EnumRead {
        api: "cloudresourcemanager.v3",
        schema: "Project",
        field: "state",
        values: &[PROJECT_ACTIVE],
    },
    EnumRead {
        api: "cloudresourcemanager.v3",
        schema: "Folder",
        field: "state",
        values: &[FOLDER_ACTIVE],
    },
    EnumRead {
        api: "compute.v1",
        schema: "DiskAggregatedList",
        field: "items{}.warning.code",
        values: &[NO_RESULTS_ON_PAGE],
    },
];

/// Fields of list responses the collectors read as raw JSON.
pub const FIELD_READS: &[FieldRead] = &[
    FieldRead {
        api: "container.v1",
        schema: "ListClustersResponse",
        field: "clusters[]",
    },
    FieldRead {
        api: "container.v1",
        schema: "ListClustersResponse",
        field: "missingZones[]",
    },
    FieldRead {
        api: "cloudresourcemanager.v3",
        schema: "SearchProjectsResponse",
        field: "projects[]",
    },
    FieldRead {
        api: "cloudresourcemanager.v3",
        schema: "SearchProjectsResponse",
        field: "nextPageToken",
    },
    FieldRead {
        api: "cloudresourcemanager.v3",
        schema: "ListFoldersResponse",
        field: "folders[]",
    },
    FieldRead {
        api: "cloudresourcemanager.v3",
        schema: "ListFoldersResponse",
        field: "nextPageToken",
    },
    FieldRead {
        api: "cloudresourcemanager.v3",
        schema: "ListProjectsResponse",
        field: "projects[]",
    },
    FieldRead {
        api: "cloudresourcemanager.v3",
        schema: "ListProjectsResponse",
        field: "nextPageToken",
    },
    FieldRead {
        api: "iam.v1",
        schema: "ListServiceAccountsResponse",
        field: "accounts[]",
    },
    FieldRead {
        api: "iam.v1",
        schema: "ListServiceAccountsResponse",
        field: "nextPageToken",
    },
    FieldRead {
        api: "compute.v1",
        schema: "DiskAggregatedList",
        field: "items{}.disks[]",
    },
    FieldRead {
        api: "compute.v1",
        schema: "DiskAggregatedList",
        field: "unreachables[]",
    },
    FieldRead {
        api: "compute.v1",
        schema: "DiskAggregatedList",
        field: "nextPageToken",
    },
];
