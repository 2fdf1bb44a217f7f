#!/usr/bin/env python3
"""Writes the hand-written GCP fixture scenarios (`insecure`, `hardened`) in the exchange format of
mocks/README.md. The response bodies follow the documented REST shapes (proto3 JSON: default values
omitted, int64 as strings); large predefined roles are trimmed to a true subset of their
permissions. Re-run after editing: `python3 mocks/gcp/make_scenarios.py`."""

import hashlib
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
NODE_SCOPES = [
    "https://www.googleapis.com/auth/devstorage.read_only",
    "https://www.googleapis.com/auth/logging.write",
    "https://www.googleapis.com/auth/monitoring",
]
CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUVMRENDQXBTZ0F3SUJBZ0lRRmFrZUNB"

ROLES = {
    "roles/editor": ("Editor", ["compute.disks.create", "compute.instances.setMetadata",
        "container.clusters.get", "container.secrets.get", "iam.serviceAccountKeys.create",
        "iam.serviceAccounts.actAs", "storage.buckets.get"]),
    "roles/owner": ("Owner", ["compute.instances.setMetadata", "container.secrets.get",
        "iam.serviceAccountKeys.create", "iam.serviceAccounts.actAs",
        "resourcemanager.projects.setIamPolicy", "secretmanager.versions.access"]),
    "roles/storage.objectViewer": ("Storage Object Viewer", ["resourcemanager.projects.get",
        "resourcemanager.projects.list", "storage.folders.get", "storage.folders.list",
        "storage.managedFolders.get", "storage.managedFolders.list", "storage.objects.get",
        "storage.objects.list"]),
    "roles/iam.workloadIdentityUser": ("Workload Identity User", ["iam.serviceAccounts.get",
        "iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.getOpenIdToken",
        "iam.serviceAccounts.list"]),
    "roles/iam.serviceAccountTokenCreator": ("Service Account Token Creator", [
        "iam.serviceAccounts.get", "iam.serviceAccounts.getAccessToken",
        "iam.serviceAccounts.getOpenIdToken", "iam.serviceAccounts.implicitDelegation",
        "iam.serviceAccounts.list", "iam.serviceAccounts.signBlob", "iam.serviceAccounts.signJwt",
        "resourcemanager.projects.get", "resourcemanager.projects.list"]),
    "roles/secretmanager.secretAccessor": ("Secret Manager Secret Accessor", [
        "resourcemanager.projects.get", "resourcemanager.projects.list",
        "secretmanager.versions.access"]),
    "roles/iam.serviceAccountKeyAdmin": ("Service Account Key Admin", [
        "iam.serviceAccountKeys.create", "iam.serviceAccountKeys.delete",
        "iam.serviceAccountKeys.get", "iam.serviceAccountKeys.list", "iam.serviceAccounts.get",
        "iam.serviceAccounts.list", "resourcemanager.projects.get", "resourcemanager.projects.list"]),
    "roles/container.defaultNodeServiceAccount": ("Kubernetes Engine Default Node Service Account", [
        "autoscaling.sites.writeMetrics", "logging.logEntries.create",
        "monitoring.metricDescriptors.create", "monitoring.metricDescriptors.list",
        "monitoring.timeSeries.create", "resourcemanager.projects.get"]),
    "roles/resourcemanager.folderViewer": ("Folder Viewer", ["resourcemanager.folders.get",
        "resourcemanager.folders.list"]),
    "roles/resourcemanager.organizationAdmin": ("Organization Administrator", [
        "resourcemanager.folders.getIamPolicy", "resourcemanager.organizations.get",
        "resourcemanager.organizations.getIamPolicy", "resourcemanager.organizations.setIamPolicy",
        "resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"]),
    "roles/container.admin": ("Kubernetes Engine Admin", ["container.clusters.create",
        "container.clusters.delete", "container.clusters.get", "container.clusters.list",
        "container.clusters.update", "container.secrets.get"]),
}


def canonical(req):
    ordered = {k: req[k] for k in ["service", "region", "operation", "method", "path", "params"]}
    if req.get("body") is not None:
        ordered["body"] = sort(req["body"])
    return json.dumps(ordered, separators=(",", ":"), ensure_ascii=False)


def sort(v):
    if isinstance(v, dict):
        return {k: sort(v[k]) for k in sorted(v)}
    if isinstance(v, list):
        return [sort(x) for x in v]
    return v


class Scenario:
    def __init__(self, name, description, projects):
        self.dir = os.path.join(HERE, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        with open(os.path.join(self.dir, "scenario.json"), "w") as f:
            json.dump({"description": description, "projects": projects,
                       "recorded_with": "hand-written (mocks/gcp/make_scenarios.py)"}, f, indent=2)
            f.write("\n")

    def add(self, service, operation, method, path, responses, params=None, body=None, region="global"):
        req = {"service": service, "region": region, "operation": operation, "method": method,
               "path": path, "params": params or {}}
        if body is not None:
            req["body"] = body
        digest = hashlib.sha256(canonical(req).encode()).hexdigest()[:8]
        op = "".join(c if c.isalnum() else "_" for c in operation).strip("_")
        out = os.path.join(self.dir, "exchanges", service, region, f"{op}-{digest}.json")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as f:
            json.dump({"request": req, "responses": responses}, f, indent=2)
            f.write("\n")

    # Helpers for the calls cloudscan makes.
    def project(self, pid, number, display, parent="organizations/555555555555"):
        self.add("cloudresourcemanager", "projects.get", "GET", f"/v3/projects/{pid}", [ok({
            "name": f"projects/{number}", "parent": parent, "projectId": pid,
            "state": "ACTIVE", "displayName": display, "createTime": "2024-03-01T10:00:00.000Z",
            "updateTime": "2024-03-01T10:00:00.000Z", "etag": "W/\"6c9c0b3a0f2e1d4b\""})])

    def policy(self, pid, policy):
        self.add("cloudresourcemanager", "projects.getIamPolicy", "POST",
                 f"/v3/projects/{pid}:getIamPolicy", [ok(policy)],
                 body={"options": {"requestedPolicyVersion": 3}})

    def folder(self, fid, parent, display):
        """folders.get (google.cloud.resourcemanager.v3.Folder)."""
        self.add("cloudresourcemanager", "folders.get", "GET", f"/v3/folders/{fid}", [ok({
            "name": f"folders/{fid}", "parent": parent, "displayName": display, "state": "ACTIVE",
            "createTime": "2023-01-10T09:00:00.000Z", "updateTime": "2023-01-10T09:00:00.000Z",
            "etag": "W/\"1b2c3d4e5f60718a\""})])

    def ancestor_policy(self, resource, policy=None, denied=False):
        """folders.getIamPolicy / organizations.getIamPolicy (google.iam.v1.Policy)."""
        kind = resource.split("/")[0]
        if denied:
            perm = f"resourcemanager.{kind}.getIamPolicy"
            response = {"status": 403, "headers": {"content-type": "application/json; charset=UTF-8"},
                        "json": {"error": {"code": 403, "status": "PERMISSION_DENIED",
                                           "message": f"The caller does not have permission ({perm})"}}}
        else:
            response = ok(policy)
        self.add("cloudresourcemanager", f"{kind}.getIamPolicy", "POST", f"/v3/{resource}:getIamPolicy",
                 [response], body={"options": {"requestedPolicyVersion": 3}})

    def clusters(self, pid, clusters, missing=None):
        body = {"clusters": clusters}
        if missing:
            body["missingZones"] = missing
        self.add("container", "projects.locations.clusters.list", "GET",
                 f"/v1/projects/{pid}/locations/-/clusters", [ok(body)])

    def service_accounts(self, pid, pages):
        token = None
        for i, accounts in enumerate(pages):
            params = {"pageSize": "100"}
            if token:
                params["pageToken"] = token
            body = {"accounts": accounts}
            token = f"sa-page-{i + 2}" if i + 1 < len(pages) else None
            if token:
                body["nextPageToken"] = token
            self.add("iam", "projects.serviceAccounts.list", "GET",
                     f"/v1/projects/{pid}/serviceAccounts", [ok(body)], params=params)

    def sa_policy(self, pid, email, policy):
        self.add("iam", "projects.serviceAccounts.getIamPolicy", "POST",
                 f"/v1/projects/{pid}/serviceAccounts/{email}:getIamPolicy", [ok(policy)],
                 params={"options.requestedPolicyVersion": "3"})

    def role(self, name, title=None, perms=None, custom_stage="GA", deleted=False):
        if title is None:
            title, perms = ROLES[name]
        body = {"name": name, "title": title, "includedPermissions": perms, "stage": custom_stage,
                "etag": "AA=="}
        if deleted:
            # roles.get on a deleted custom role (within the 7 days it can be undeleted).
            body["deleted"] = True
            body["stage"] = "DEPRECATED"
        if name.startswith("roles/"):
            body["description"] = f"{title} (permissions trimmed to a subset for this fixture)"
            op = "roles.get"
        else:
            op = "projects.roles.get"
        self.add("iam", op, "GET", f"/v1/{name}", [ok(body)])

    def disks(self, pid, pages):
        token = None
        for i, items in enumerate(pages):
            params = {"maxResults": "500", "returnPartialSuccess": "true"}
            if token:
                params["pageToken"] = token
            body = {"kind": "compute#diskAggregatedList",
                    "id": f"projects/{pid}/aggregated/disks",
                    "items": items,
                    "selfLink": f"https://www.googleapis.com/compute/v1/projects/{pid}/aggregated/disks"}
            token = f"disk-page-{i + 2}" if i + 1 < len(pages) else None
            if token:
                body["nextPageToken"] = token
            self.add("compute", "disks.aggregatedList", "GET",
                     f"/compute/v1/projects/{pid}/aggregated/disks", [ok(body)], params=params)


def ok(body):
    return {"status": 200, "headers": {"content-type": "application/json; charset=UTF-8"}, "json": body}


def sa(pid, email, display, uid):
    out = {"name": f"projects/{pid}/serviceAccounts/{email}", "projectId": pid, "uniqueId": uid,
           "email": email, "etag": "MDEwMjE5MjA=", "oauth2ClientId": uid}
    if display:
        out["displayName"] = display
    return out


def disk(pid, zone, name, users, labels=None, kms=None):
    base = f"https://www.googleapis.com/compute/v1/projects/{pid}/zones/{zone}"
    d = {"kind": "compute#disk", "id": str(int(hashlib.sha256(name.encode()).hexdigest()[:15], 16)), "creationTimestamp":
         "2024-06-01T08:00:00.000-07:00", "name": name, "sizeGb": "100",
         "zone": base, "status": "READY", "selfLink": f"{base}/disks/{name}",
         "sourceImage": "https://www.googleapis.com/compute/v1/projects/gke-node-images/global/images/gke-1305-gke1014001-cos-113-18244-151-14-c-pre",
         "type": f"{base}/diskTypes/pd-balanced",
         "users": [f"{base}/instances/{u}" for u in users],
         "physicalBlockSizeBytes": "4096"}
    if labels:
        d["labels"] = labels
    if kms:
        d["diskEncryptionKey"] = {"kmsKeyName": kms + "/cryptoKeyVersions/1",
                                  "kmsKeyServiceAccount": "service-0@compute-system.iam.gserviceaccount.com"}
    return d


def node_pool(pid, loc, cluster, name, config, igm_zone, igm_hash):
    return {"name": name, "config": config, "initialNodeCount": 1,
            "locations": [igm_zone],
            "selfLink": f"https://container.googleapis.com/v1/projects/{pid}/locations/{loc}/clusters/{cluster}/nodePools/{name}",
            "version": "1.30.5-gke.1014001",
            "instanceGroupUrls": [f"https://www.googleapis.com/compute/v1/projects/{pid}/zones/{igm_zone}/instanceGroupManagers/gke-{cluster}-{name}-{igm_hash}-grp"],
            "status": "RUNNING",
            "management": {"autoUpgrade": True, "autoRepair": True},
            "podIpv4CidrSize": 24}


def cluster_base(pid, loc, name):
    return {"name": name, "location": loc,
            "selfLink": f"https://container.googleapis.com/v1/projects/{pid}/locations/{loc}/clusters/{name}",
            "status": "RUNNING", "currentMasterVersion": "1.30.5-gke.1014001",
            "currentNodeVersion": "1.30.5-gke.1014001", "createTime": "2024-06-01T15:00:00+00:00",
            "network": "default", "subnetwork": "default", "clusterIpv4Cidr": "10.8.0.0/14",
            "releaseChannel": {"channel": "REGULAR"}}


# -------------------------------------------------------------------------------------------
def insecure():
    pid, num = "acme-insecure", "123456789012"
    default_sa = f"{num}-compute@developer.gserviceaccount.com"
    nodes_sa = f"gke-nodes@{pid}.iam.gserviceaccount.com"
    payments_sa = f"payments@{pid}.iam.gserviceaccount.com"
    pool = f"{pid}.svc.id.goog"
    s = Scenario("insecure", "GCP project where every GKE rule fires: public endpoints (no authorized "
                 "networks, and a public office range), no secrets encryption and a key in error, "
                 "no Data Access audit logs, GCE_METADATA pools, a cluster without workload identity, "
                 "legacy ABAC and client certificates, nodes on the default compute SA with the "
                 "cloud-platform scope", [pid])
    # The project sits in a folder of the organization; neither adds a binding that changes a
    # finding, and neither turns on Data Access logs for GKE.
    s.project(pid, num, "ACME insecure", parent="folders/400000000001")
    s.folder("400000000001", "organizations/555555555555", "staging")
    s.ancestor_policy("folders/400000000001", {"version": 1, "etag": "BwYbFold1=", "bindings": [
        {"role": "roles/resourcemanager.folderViewer", "members": ["group:auditors@example.com"]}]})
    s.ancestor_policy("organizations/555555555555", {"version": 1, "etag": "BwYbOrg01=", "bindings": [
        {"role": "roles/resourcemanager.organizationAdmin", "members": ["group:gcp-admins@example.com"]}],
        "auditConfigs": [{"service": "storage.googleapis.com", "auditLogConfigs": [{"logType": "ADMIN_READ"}]}]})
    s.policy(pid, {"version": 3, "etag": "BwYb2H8kLm0=", "bindings": [
        {"role": "projects/acme-insecure/roles/nodeDebugger", "members": [f"serviceAccount:{nodes_sa}"],
         "condition": {"title": "business hours", "expression": "request.time.getHours('UTC') < 18"}},
        {"role": "roles/editor", "members": [f"serviceAccount:{default_sa}", f"serviceAccount:{nodes_sa}"]},
        {"role": "roles/owner", "members": ["user:alice@example.com"]},
        {"role": "roles/storage.objectViewer", "members": [
            f"principal://iam.googleapis.com/projects/{num}/locations/global/workloadIdentityPools/{pool}/subject/ns/batch/sa/runner"]},
        {"role": "roles/secretmanager.secretAccessor", "members": [f"serviceAccount:{payments_sa}"]},
        {"role": "roles/iam.serviceAccountKeyAdmin", "members": [f"serviceAccount:{payments_sa}"]},
    ], "auditConfigs": [{"service": "storage.googleapis.com", "auditLogConfigs": [{"logType": "DATA_READ"}]}]})

    prod = cluster_base(pid, "us-central1", "prod-public")
    prod.update({
        "endpoint": "34.123.45.67", "resourceLabels": {"env": "prod"},
        "masterAuth": {"clusterCaCertificate": CA, "clientCertificate": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMxekNDQWIrZ0F3SUJBZ0lRYw==",
                       "clientKey": "REDACTED", "clientCertificateConfig": {"issueClientCertificate": True}},
        "legacyAbac": {"enabled": True},
        "controlPlaneEndpointsConfig": {
            "dnsEndpointConfig": {"endpoint": "gke-0a1b2c3d4e5f-123456789012.us-central1.gke.goog"},
            "ipEndpointsConfig": {"enabled": True, "enablePublicEndpoint": True, "globalAccess": False,
                                  "authorizedNetworksConfig": {}, "publicEndpoint": "34.123.45.67",
                                  "privateEndpoint": "10.128.0.2"}},
        "databaseEncryption": {"state": "DECRYPTED", "currentState": "CURRENT_STATE_DECRYPTED"},
        "loggingService": "logging.googleapis.com/kubernetes",
        "loggingConfig": {"componentConfig": {"enableComponents": ["SYSTEM_COMPONENTS", "WORKLOADS"]}},
        "monitoringService": "monitoring.googleapis.com/kubernetes",
        "nodePools": [node_pool(pid, "us-central1", "prod-public", "default-pool", {
            "machineType": "e2-standard-4", "diskSizeGb": 100, "oauthScopes": [CLOUD_PLATFORM],
            "serviceAccount": "default", "metadata": {"disable-legacy-endpoints": "true"},
            "imageType": "COS_CONTAINERD", "diskType": "pd-balanced"}, "us-central1-a", "1a2b3c4d")],
    })
    staging = cluster_base(pid, "europe-west1-b", "staging-wi")
    staging.update({
        "endpoint": "35.205.1.2",
        "masterAuth": {"clusterCaCertificate": CA, "clientCertificateConfig": {}},
        "legacyAbac": {},
        "masterAuthorizedNetworksConfig": {"enabled": True, "cidrBlocks": [
            {"displayName": "office", "cidrBlock": "203.0.113.0/24"}]},
        "databaseEncryption": {"state": "ENCRYPTED",
                               "keyName": f"projects/{pid}/locations/europe-west1/keyRings/gke/cryptoKeys/etcd",
                               "currentState": "CURRENT_STATE_ENCRYPTION_ERROR",
                               "lastOperationErrors": [{"keyName": f"projects/{pid}/locations/europe-west1/keyRings/gke/cryptoKeys/etcd",
                                                        "errorMessage": "Cloud KMS key is disabled",
                                                        "timestamp": "2024-07-01T12:00:00Z"}]},
        "workloadIdentityConfig": {"workloadPool": pool},
        "loggingService": "logging.googleapis.com/kubernetes",
        "loggingConfig": {"componentConfig": {"enableComponents": ["SYSTEM_COMPONENTS", "APISERVER", "WORKLOADS"]}},
        "nodePools": [
            node_pool(pid, "europe-west1-b", "staging-wi", "apps", {
                "machineType": "e2-standard-4", "diskSizeGb": 100, "oauthScopes": [CLOUD_PLATFORM],
                "serviceAccount": nodes_sa, "workloadMetadataConfig": {"mode": "GKE_METADATA"},
                "bootDiskKmsKey": f"projects/{pid}/locations/europe-west1/keyRings/gke/cryptoKeys/disks",
                "imageType": "COS_CONTAINERD"}, "europe-west1-b", "5e6f7a8b"),
            node_pool(pid, "europe-west1-b", "staging-wi", "legacy", {
                "machineType": "e2-medium", "diskSizeGb": 50, "oauthScopes": NODE_SCOPES,
                "serviceAccount": nodes_sa, "workloadMetadataConfig": {"mode": "GCE_METADATA"},
                "imageType": "COS_CONTAINERD"}, "europe-west1-b", "9c0d1e2f"),
        ],
    })
    s.clusters(pid, [prod, staging])
    s.service_accounts(pid, [
        [sa(pid, default_sa, "Compute Engine default service account", "104000000000000000001"),
         sa(pid, nodes_sa, "GKE nodes", "104000000000000000002")],
        [sa(pid, payments_sa, "", "104000000000000000003")],
    ])
    s.sa_policy(pid, default_sa, {"etag": "ACAB"})
    s.sa_policy(pid, nodes_sa, {"etag": "ACAB"})
    s.sa_policy(pid, payments_sa, {"version": 1, "etag": "BwYb2H9aQ1E=", "bindings": [
        {"role": "roles/iam.serviceAccountTokenCreator", "members": [f"serviceAccount:{nodes_sa}"]},
        {"role": "roles/iam.workloadIdentityUser", "members": [
            f"serviceAccount:{pool}[payments/api]",
            f"principalSet://iam.googleapis.com/projects/{num}/locations/global/workloadIdentityPools/{pool}/namespace/billing"]},
    ]})
    for r in ["roles/editor", "roles/owner", "roles/storage.objectViewer",
              "roles/iam.workloadIdentityUser", "roles/iam.serviceAccountTokenCreator",
              "roles/secretmanager.secretAccessor", "roles/iam.serviceAccountKeyAdmin",
              "roles/resourcemanager.folderViewer", "roles/resourcemanager.organizationAdmin"]:
        s.role(r)
    s.role(f"projects/{pid}/roles/nodeDebugger", "Node debugger",
           ["compute.instances.get", "compute.instances.getSerialPortOutput", "compute.instances.setMetadata"])
    s.disks(pid, [
        {"zones/us-central1-a": {"disks": [
            disk(pid, "us-central1-a", "gke-prod-public-default-pool-1a2b3c4d-x7k2",
                 ["gke-prod-public-default-pool-1a2b3c4d-x7k2"],
                 {"goog-gke-node": "", "goog-k8s-cluster-name": "prod-public", "goog-k8s-node-pool-name": "default-pool"}),
            disk(pid, "us-central1-a", "bastion", ["bastion"])]},
         "zones/us-central1-b": {"warning": {"code": "NO_RESULTS_ON_PAGE",
            "message": "There are no results for scope 'zones/us-central1-b' on this page.",
            "data": [{"key": "scope", "value": "zones/us-central1-b"}]}}},
        {"zones/europe-west1-b": {"disks": [
            disk(pid, "europe-west1-b", "gke-staging-wi-apps-5e6f7a8b-q1w2", ["gke-staging-wi-apps-5e6f7a8b-q1w2"],
                 kms=f"projects/{pid}/locations/europe-west1/keyRings/gke/cryptoKeys/disks"),
            disk(pid, "europe-west1-b", "gke-staging-wi-legacy-9c0d1e2f-z9z9", ["gke-staging-wi-legacy-9c0d1e2f-z9z9"])]}},
    ])


def hardened():
    pid, num = "acme-hardened", "210987654321"
    nodes_sa = f"gke-nodes@{pid}.iam.gserviceaccount.com"
    orders_sa = f"orders@{pid}.iam.gserviceaccount.com"
    pool = f"{pid}.svc.id.goog"
    key = f"projects/{pid}/locations/us-central1/keyRings/gke/cryptoKeys/etcd"
    disk_key = f"projects/{pid}/locations/us-central1/keyRings/gke/cryptoKeys/disks"
    s = Scenario("hardened", "The same shape of GCP project with every GKE finding fixed: no rule fires",
                 [pid])
    s.project(pid, num, "ACME hardened", parent="organizations/666666666666")
    s.ancestor_policy("organizations/666666666666", {"version": 1, "etag": "BwYbOrg02=", "bindings": [
        {"role": "roles/resourcemanager.organizationAdmin", "members": ["group:gcp-admins@example.com"]}],
        "auditConfigs": [{"service": "allServices", "auditLogConfigs": [{"logType": "ADMIN_READ"}]}]})
    s.policy(pid, {"version": 1, "etag": "BwYb2H8kLm1=", "bindings": [
        {"role": "roles/container.admin", "members": ["group:platform@example.com"]},
        {"role": "roles/container.defaultNodeServiceAccount", "members": [f"serviceAccount:{nodes_sa}"]},
    ], "auditConfigs": [{"service": "allServices", "auditLogConfigs": [
        {"logType": "ADMIN_READ"}, {"logType": "DATA_READ"}, {"logType": "DATA_WRITE"}]}]})
    c = cluster_base(pid, "us-central1", "prod-private")
    c.update({
        "privateClusterConfig": {"enablePrivateNodes": True, "enablePrivateEndpoint": True,
                                 "masterIpv4CidrBlock": "172.16.0.0/28", "privateEndpoint": "10.10.0.2",
                                 "publicEndpoint": "34.66.1.2"},
        "masterAuthorizedNetworksConfig": {"enabled": True, "cidrBlocks": [
            {"displayName": "corp", "cidrBlock": "10.10.0.0/16"}], "privateEndpointEnforcementEnabled": True},
        "controlPlaneEndpointsConfig": {
            "dnsEndpointConfig": {"endpoint": "gke-9f8e7d6c5b4a-210987654321.us-central1.gke.goog"},
            "ipEndpointsConfig": {"enabled": True, "enablePublicEndpoint": False, "globalAccess": False,
                                  "authorizedNetworksConfig": {"enabled": True, "cidrBlocks": [
                                      {"displayName": "corp", "cidrBlock": "10.10.0.0/16"}],
                                      "privateEndpointEnforcementEnabled": True},
                                  "privateEndpoint": "10.10.0.2", "publicEndpoint": "34.66.1.2"}},
        "masterAuth": {"clusterCaCertificate": CA, "clientCertificateConfig": {}},
        "legacyAbac": {},
        "databaseEncryption": {"state": "ENCRYPTED", "keyName": key, "currentState": "CURRENT_STATE_ENCRYPTED"},
        "workloadIdentityConfig": {"workloadPool": pool},
        "shieldedNodes": {"enabled": True},
        "loggingService": "logging.googleapis.com/kubernetes",
        "loggingConfig": {"componentConfig": {"enableComponents": [
            "SYSTEM_COMPONENTS", "APISERVER", "CONTROLLER_MANAGER", "SCHEDULER", "WORKLOADS"]}},
        "nodePools": [node_pool(pid, "us-central1", "prod-private", "apps", {
            "machineType": "e2-standard-4", "diskSizeGb": 100, "oauthScopes": NODE_SCOPES,
            "serviceAccount": nodes_sa, "workloadMetadataConfig": {"mode": "GKE_METADATA"},
            "bootDiskKmsKey": disk_key, "imageType": "COS_CONTAINERD",
            "shieldedInstanceConfig": {"enableSecureBoot": True, "enableIntegrityMonitoring": True}},
            "us-central1-a", "7f6e5d4c")],
    })
    s.clusters(pid, [c])
    s.service_accounts(pid, [[sa(pid, nodes_sa, "GKE nodes", "105000000000000000001"),
                              sa(pid, orders_sa, "orders API", "105000000000000000002")]])
    s.sa_policy(pid, nodes_sa, {"etag": "ACAB"})
    s.sa_policy(pid, orders_sa, {"version": 1, "etag": "BwYb2H9aQ1F=", "bindings": [
        {"role": "roles/iam.workloadIdentityUser", "members": [f"serviceAccount:{pool}[orders/api]"]}]})
    for r in ["roles/container.admin", "roles/container.defaultNodeServiceAccount",
              "roles/iam.workloadIdentityUser", "roles/resourcemanager.organizationAdmin"]:
        s.role(r)
    s.disks(pid, [{"zones/us-central1-a": {"disks": [
        disk(pid, "us-central1-a", "gke-prod-private-apps-7f6e5d4c-a1b2", ["gke-prod-private-apps-7f6e5d4c-a1b2"],
             {"goog-gke-node": "", "goog-k8s-cluster-name": "prod-private", "goog-k8s-node-pool-name": "apps"},
             kms=disk_key)]}}])


def documented():
    """The cases the first scenarios missed, each shaped after Google's discovery documents
    (container v1, cloudresourcemanager v3, iam v1): inherited bindings and audit configs, the
    Google Cloud public ranges on an authorized-networks list, every documented workload principal
    form, and a deleted custom role."""
    pid, num = "acme-docs", "300000000003"
    folder, org = "400000000002", "777777777777"
    pool = f"{pid}.svc.id.goog"
    wif = f"iam.googleapis.com/projects/{num}/locations/global/workloadIdentityPools/{pool}"
    nodes_sa = f"gke-nodes@{pid}.iam.gserviceaccount.com"
    reader_sa = f"reader@{pid}.iam.gserviceaccount.com"
    live_sa = f"live@{pid}.iam.gserviceaccount.com"
    open_sa = f"open@{pid}.iam.gserviceaccount.com"
    fleet_sa = f"fleet@{pid}.iam.gserviceaccount.com"
    key = f"projects/{pid}/locations/us-east1/keyRings/gke/cryptoKeys/etcd"
    s = Scenario("documented", "GCP cases from Google's documentation: Editor inherited from a folder "
                 "by a Kubernetes service account, Data Access logs for GKE turned on at the "
                 "organization, gcpPublicCidrsAccessEnabled on a public and on a private endpoint, "
                 "allUsers / allAuthenticatedUsers / kubernetes.cluster principal sets, and a "
                 "deleted custom role", [pid])
    s.project(pid, num, "ACME documented", parent=f"folders/{folder}")
    s.folder(folder, f"organizations/{org}", "platform")
    s.ancestor_policy(f"folders/{folder}", {"version": 1, "etag": "BwYbFold2=", "bindings": [
        {"role": "roles/editor", "members": [f"principal://{wif}/subject/ns/ops/sa/deployer"]}]})
    s.ancestor_policy(f"organizations/{org}", {"version": 1, "etag": "BwYbOrg03=", "bindings": [
        {"role": "roles/resourcemanager.organizationAdmin", "members": ["group:gcp-admins@example.com"]}],
        "auditConfigs": [{"service": "container.googleapis.com", "auditLogConfigs": [
            {"logType": "ADMIN_READ"}, {"logType": "DATA_READ"}, {"logType": "DATA_WRITE"}]}]})
    s.policy(pid, {"version": 1, "etag": "BwYb2H8kLm3=", "bindings": [
        {"role": "roles/container.defaultNodeServiceAccount", "members": [f"serviceAccount:{nodes_sa}"]},
        {"role": f"projects/{pid}/roles/secretReaderOld", "members": [f"serviceAccount:{reader_sa}"]},
        {"role": f"projects/{pid}/roles/secretReader", "members": [f"serviceAccount:{live_sa}"]},
        {"role": "roles/storage.objectViewer", "members": ["allAuthenticatedUsers"]},
    ]})

    def cluster(loc, name, endpoints, nodes_zone, igm_hash):
        c = cluster_base(pid, loc, name)
        c.update({
            "masterAuth": {"clusterCaCertificate": CA, "clientCertificateConfig": {}},
            "legacyAbac": {},
            "controlPlaneEndpointsConfig": endpoints,
            "databaseEncryption": {"state": "ENCRYPTED", "keyName": key,
                                   "currentState": "CURRENT_STATE_ENCRYPTED"},
            "workloadIdentityConfig": {"workloadPool": pool},
            "loggingService": "logging.googleapis.com/kubernetes",
            "loggingConfig": {"componentConfig": {"enableComponents": ["SYSTEM_COMPONENTS", "WORKLOADS"]}},
            "nodePools": [node_pool(pid, loc, name, "apps", {
                "machineType": "e2-standard-4", "diskSizeGb": 100, "oauthScopes": NODE_SCOPES,
                "serviceAccount": nodes_sa, "workloadMetadataConfig": {"mode": "GKE_METADATA"},
                "imageType": "COS_CONTAINERD"}, nodes_zone, igm_hash)],
        })
        return c

    # `edge`: a public endpoint whose authorized networks are private, but which also admits
    # every Google Cloud public address.
    edge = cluster("us-east1", "edge", {
        "dnsEndpointConfig": {"endpoint": "gke-1a2b3c4d5e6f-300000000003.us-east1.gke.goog"},
        "ipEndpointsConfig": {"enabled": True, "enablePublicEndpoint": True,
                              "authorizedNetworksConfig": {"enabled": True, "cidrBlocks": [
                                  {"displayName": "vpc", "cidrBlock": "10.0.0.0/8"}],
                                  "gcpPublicCidrsAccessEnabled": True},
                              "publicEndpoint": "34.75.1.2", "privateEndpoint": "10.20.0.2"}},
        "us-east1-b", "3c4d5e6f")
    # `inner`: the same setting on a cluster without a public endpoint: nothing is exposed.
    inner = cluster("us-east1-b", "inner", {
        "dnsEndpointConfig": {"endpoint": "gke-6f5e4d3c2b1a-300000000003.us-east1.gke.goog"},
        "ipEndpointsConfig": {"enabled": True, "enablePublicEndpoint": False,
                              "authorizedNetworksConfig": {"enabled": True, "cidrBlocks": [
                                  {"displayName": "vpc", "cidrBlock": "10.0.0.0/8"}],
                                  "gcpPublicCidrsAccessEnabled": True},
                              "privateEndpoint": "10.30.0.2"}},
        "us-east1-b", "7a8b9c0d")
    s.clusters(pid, [edge, inner])
    s.service_accounts(pid, [[
        sa(pid, nodes_sa, "GKE nodes", "106000000000000000001"),
        sa(pid, reader_sa, "reads secrets (deleted role)", "106000000000000000002"),
        sa(pid, live_sa, "reads secrets", "106000000000000000003"),
        sa(pid, open_sa, "bound to allUsers", "106000000000000000004"),
        sa(pid, fleet_sa, "every pod of edge", "106000000000000000005"),
    ]])
    s.sa_policy(pid, nodes_sa, {"etag": "ACAB"})
    s.sa_policy(pid, reader_sa, {"version": 1, "etag": "BwYb2H9aQ1G=", "bindings": [
        {"role": "roles/iam.workloadIdentityUser", "members": [f"serviceAccount:{pool}[apps/reader]"]}]})
    s.sa_policy(pid, live_sa, {"version": 1, "etag": "BwYb2H9aQ1H=", "bindings": [
        {"role": "roles/iam.workloadIdentityUser", "members": [f"principal://{wif}/subject/ns/apps/sa/live"]}]})
    s.sa_policy(pid, open_sa, {"version": 1, "etag": "BwYb2H9aQ1I=", "bindings": [
        {"role": "roles/iam.workloadIdentityUser", "members": ["allUsers"]}]})
    s.sa_policy(pid, fleet_sa, {"version": 1, "etag": "BwYb2H9aQ1J=", "bindings": [
        {"role": "roles/iam.workloadIdentityUser", "members": [
            f"principalSet://{wif}/kubernetes.cluster/https://container.googleapis.com/v1/projects/{pid}/locations/us-east1/clusters/edge"]}]})
    for r in ["roles/editor", "roles/container.defaultNodeServiceAccount", "roles/storage.objectViewer",
              "roles/iam.workloadIdentityUser", "roles/resourcemanager.organizationAdmin"]:
        s.role(r)
    secret_perms = ["container.secrets.get", "secretmanager.versions.access"]
    s.role(f"projects/{pid}/roles/secretReaderOld", "Secret reader (old)", secret_perms, deleted=True)
    s.role(f"projects/{pid}/roles/secretReader", "Secret reader", secret_perms)
    s.disks(pid, [{"zones/us-east1-b": {"disks": [
        disk(pid, "us-east1-b", "gke-edge-apps-3c4d5e6f-k8k8", ["gke-edge-apps-3c4d5e6f-k8k8"],
             {"goog-gke-node": "", "goog-k8s-cluster-name": "edge", "goog-k8s-node-pool-name": "apps"},
             kms=key.replace("etcd", "disks"))]}}])


class OrgScenario(Scenario):
    """A scenario recorded with `--organization` / `--folder`: scenario.json names the roots to
    walk instead of projects, and the tree listings are part of the exchanges."""

    def __init__(self, name, description, organizations=(), folders=()):
        super().__init__(name, description, None)
        meta = {"description": description, "projects": None,
                "recorded_with": "hand-written (mocks/gcp/make_scenarios.py)"}
        if organizations:
            meta["organizations"] = list(organizations)
        if folders:
            meta["folders"] = list(folders)
        with open(os.path.join(self.dir, "scenario.json"), "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")

    def list_folders(self, parent, pages=None, denied=False):
        """folders.list (ListFoldersResponse), one file per page; ACTIVE folders only (no
        showDeleted)."""
        if denied:
            self.add("cloudresourcemanager", "folders.list", "GET", "/v3/folders",
                     [forbidden("resourcemanager.folders.list", parent)], params={"parent": parent})
            return
        token = None
        for i, folders in enumerate(pages):
            params = {"parent": parent}
            if token:
                params["pageToken"] = token
            body = {"folders": folders} if folders else {}
            token = f"folders-page-{i + 2}" if i + 1 < len(pages) else None
            if token:
                body["nextPageToken"] = token
            self.add("cloudresourcemanager", "folders.list", "GET", "/v3/folders", [ok(body)],
                     params=params)

    def list_projects(self, parent, projects):
        """projects.list (ListProjectsResponse) with showDeleted=true, one page."""
        body = {"projects": projects} if projects else {}
        self.add("cloudresourcemanager", "projects.list", "GET", "/v3/projects", [ok(body)],
                 params={"parent": parent, "showDeleted": "true"})


def forbidden(permission, resource):
    return {"status": 403, "headers": {"content-type": "application/json; charset=UTF-8"},
            "json": {"error": {"code": 403, "status": "PERMISSION_DENIED",
                               "message": f"Permission '{permission}' denied on resource '{resource}' (or it may not exist).",
                               "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                            "reason": "IAM_PERMISSION_DENIED", "domain": "cloudresourcemanager.googleapis.com",
                                            "metadata": {"permission": permission}}]}}}


def folder_res(fid, parent, display):
    """google.cloud.resourcemanager.v3.Folder as folders.list and folders.get return it."""
    return {"name": f"folders/{fid}", "parent": parent, "displayName": display, "state": "ACTIVE",
            "createTime": "2023-01-10T09:00:00.000Z", "updateTime": "2023-01-10T09:00:00.000Z",
            "etag": "W/\"1b2c3d4e5f60718a\""}


def project_res(pid, number, display, parent, state="ACTIVE"):
    """google.cloud.resourcemanager.v3.Project as projects.list returns it."""
    out = {"name": f"projects/{number}", "parent": parent, "projectId": pid, "state": state,
           "displayName": display, "createTime": "2024-03-01T10:00:00.000Z",
           "updateTime": "2024-03-01T10:00:00.000Z", "etag": "W/\"6c9c0b3a0f2e1d4b\""}
    if state == "DELETE_REQUESTED":
        out["deleteTime"] = "2026-11-20T08:00:00.000Z"
    return out


def organization():
    """`cloudscan gcp --organization 555000000001`: an organization with two folders, a nested
    sub-folder and four projects. `platform` grants roles/editor to the GKE node service account
    of `acme-prod` (two levels down), so the inherited grant shows in that project's findings;
    `acme-old` is DELETE_REQUESTED (not scanned); `sandbox` denies folders.list (its sub-folders
    are unknown: the scan is incomplete) but lists its project, which is scanned."""
    org = "organizations/555000000001"
    platform, sandbox, prod = "410000000001", "410000000002", "410000000003"
    s = OrgScenario("organization", "GCP organization scan: two folders, a nested sub-folder, "
                    "four projects (one DELETE_REQUESTED), folders.list denied on one folder, "
                    "and a folder-level roles/editor grant to a GKE node service account",
                    organizations=[org])
    shared = ("acme-shared", "500000000001", "ACME shared", org)
    prod_p = ("acme-prod", "500000000002", "ACME prod", f"folders/{prod}")
    old = ("acme-old", "500000000003", "ACME old", f"folders/{platform}")
    sandbox_p = ("acme-sandbox", "500000000004", "ACME sandbox", f"folders/{sandbox}")
    nodes_sa = f"gke-nodes@{prod_p[0]}.iam.gserviceaccount.com"
    orders_sa = f"orders@{prod_p[0]}.iam.gserviceaccount.com"

    # The tree: the organization's folders come in two pages.
    s.list_folders(org, [[folder_res(platform, org, "platform")], [folder_res(sandbox, org, "sandbox")]])
    s.list_projects(org, [project_res(*shared)])
    s.list_folders(f"folders/{platform}", [[folder_res(prod, f"folders/{platform}", "prod")]])
    s.list_projects(f"folders/{platform}", [project_res(*old, state="DELETE_REQUESTED")])
    s.list_folders(f"folders/{prod}", [[]])
    s.list_projects(f"folders/{prod}", [project_res(*prod_p)])
    s.list_folders(f"folders/{sandbox}", denied=True)
    s.list_projects(f"folders/{sandbox}", [project_res(*sandbox_p)])

    # Each scanned project's ancestry (folders.get, then the inherited policies).
    s.folder(platform, org, "platform")
    s.folder(sandbox, org, "sandbox")
    s.folder(prod, f"folders/{platform}", "prod")
    s.ancestor_policy(org, {"version": 1, "etag": "BwYbOrg05=", "bindings": [
        {"role": "roles/resourcemanager.organizationAdmin", "members": ["group:gcp-admins@example.com"]}],
        "auditConfigs": [{"service": "allServices", "auditLogConfigs": [
            {"logType": "ADMIN_READ"}, {"logType": "DATA_READ"}, {"logType": "DATA_WRITE"}]}]})
    s.ancestor_policy(f"folders/{platform}", {"version": 1, "etag": "BwYbFold5=", "bindings": [
        {"role": "roles/editor", "members": [f"serviceAccount:{nodes_sa}"]}]})
    s.ancestor_policy(f"folders/{prod}", {"etag": "ACAB"})
    s.ancestor_policy(f"folders/{sandbox}", {"version": 1, "etag": "BwYbFold6=", "bindings": [
        {"role": "roles/resourcemanager.folderViewer", "members": ["group:auditors@example.com"]}]})

    # acme-shared and acme-sandbox: no cluster, nothing to find.
    for pid, _, _, _ in [shared, sandbox_p]:
        s.policy(pid, {"version": 1, "etag": "BwYb2H8kLm5=", "bindings": [
            {"role": "roles/container.admin", "members": ["group:platform@example.com"]}]})
        s.clusters(pid, [])
        s.service_accounts(pid, [[]])
        s.disks(pid, [{}])

    # acme-prod: a hardened cluster except that its pool exposes the node metadata server
    # (GCE_METADATA) with the cloud-platform scope, so every pod can use the node SA and the
    # Editor it inherits from `platform`.
    pid, num = prod_p[0], prod_p[1]
    pool = f"{pid}.svc.id.goog"
    key = f"projects/{pid}/locations/us-central1/keyRings/gke/cryptoKeys/etcd"
    disk_key = f"projects/{pid}/locations/us-central1/keyRings/gke/cryptoKeys/disks"
    s.policy(pid, {"version": 1, "etag": "BwYb2H8kLm6=", "bindings": [
        {"role": "roles/container.defaultNodeServiceAccount", "members": [f"serviceAccount:{nodes_sa}"]}]})
    c = cluster_base(pid, "us-central1", "prod")
    c.update({
        "privateClusterConfig": {"enablePrivateNodes": True, "enablePrivateEndpoint": True,
                                 "masterIpv4CidrBlock": "172.16.0.0/28", "privateEndpoint": "10.10.0.2"},
        "masterAuthorizedNetworksConfig": {"enabled": True, "cidrBlocks": [
            {"displayName": "corp", "cidrBlock": "10.10.0.0/16"}], "privateEndpointEnforcementEnabled": True},
        "controlPlaneEndpointsConfig": {
            "dnsEndpointConfig": {"endpoint": f"gke-5a4b3c2d1e0f-{num}.us-central1.gke.goog"},
            "ipEndpointsConfig": {"enabled": True, "enablePublicEndpoint": False, "globalAccess": False,
                                  "authorizedNetworksConfig": {"enabled": True, "cidrBlocks": [
                                      {"displayName": "corp", "cidrBlock": "10.10.0.0/16"}],
                                      "privateEndpointEnforcementEnabled": True},
                                  "privateEndpoint": "10.10.0.2"}},
        "masterAuth": {"clusterCaCertificate": CA, "clientCertificateConfig": {}},
        "legacyAbac": {},
        "databaseEncryption": {"state": "ENCRYPTED", "keyName": key, "currentState": "CURRENT_STATE_ENCRYPTED"},
        "workloadIdentityConfig": {"workloadPool": pool},
        "loggingService": "logging.googleapis.com/kubernetes",
        "loggingConfig": {"componentConfig": {"enableComponents": [
            "SYSTEM_COMPONENTS", "APISERVER", "CONTROLLER_MANAGER", "SCHEDULER", "WORKLOADS"]}},
        "nodePools": [node_pool(pid, "us-central1", "prod", "apps", {
            "machineType": "e2-standard-4", "diskSizeGb": 100, "oauthScopes": [CLOUD_PLATFORM],
            "serviceAccount": nodes_sa, "workloadMetadataConfig": {"mode": "GCE_METADATA"},
            "bootDiskKmsKey": disk_key, "imageType": "COS_CONTAINERD"}, "us-central1-a", "0a1b2c3d")],
    })
    s.clusters(pid, [c])
    s.service_accounts(pid, [[sa(pid, nodes_sa, "GKE nodes", "107000000000000000001"),
                              sa(pid, orders_sa, "orders API", "107000000000000000002")]])
    s.sa_policy(pid, nodes_sa, {"etag": "ACAB"})
    s.sa_policy(pid, orders_sa, {"version": 1, "etag": "BwYb2H9aQ1K=", "bindings": [
        {"role": "roles/iam.workloadIdentityUser", "members": [f"serviceAccount:{pool}[orders/api]"]}]})
    s.disks(pid, [{"zones/us-central1-a": {"disks": [
        disk(pid, "us-central1-a", "gke-prod-apps-0a1b2c3d-m3n4", ["gke-prod-apps-0a1b2c3d-m3n4"],
             {"goog-gke-node": "", "goog-k8s-cluster-name": "prod", "goog-k8s-node-pool-name": "apps"},
             kms=disk_key)]}}])

    for r in ["roles/editor", "roles/container.admin", "roles/container.defaultNodeServiceAccount",
              "roles/iam.workloadIdentityUser", "roles/resourcemanager.organizationAdmin",
              "roles/resourcemanager.folderViewer"]:
        s.role(r)


if __name__ == "__main__":
    insecure()
    hardened()
    documented()
    organization()
