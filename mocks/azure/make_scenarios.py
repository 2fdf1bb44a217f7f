#!/usr/bin/env python3
"""Generates mocks/azure/{insecure,hardened}: hand-written raw ARM JSON (REST shapes from
azure-rest-api-specs, not `az` CLI output) in the exchange format of mocks/README.md.

Re-run after editing: python3 mocks/azure/make_scenarios.py
"""
import hashlib
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ARM = "https://management.azure.com"
AKS_API = "2025-07-01"
AUTH_API = "2022-04-01"
MSI_API = "2024-11-30"
INSIGHTS_API = "2021-05-01-preview"
DES_API = "2024-03-02"
TENANT = "72f988bf-0000-4000-8000-00000000a2e1"
ROLE_DEFS = "/providers/Microsoft.Authorization/roleDefinitions/"

# Built-in role GUIDs (the same in every subscription).
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
KV_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
STORAGE_BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
USER_ACCESS_ADMIN = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"


def describe(path):
    """(service, operation) exactly as the Rust adapter names a path (fixture::describe)."""
    segs = [s for s in path.strip("/").split("/") if s]
    idx = [i for i, s in enumerate(segs) if s.lower() == "providers" and i + 1 < len(segs)]
    if idx:
        i = idx[-1]
        ns = segs[i + 1].lower()
        service = ns[len("microsoft."):] if ns.startswith("microsoft.") else ns
        rest = segs[i + 2:]
    else:
        service, rest = "resources", segs
    if not rest:
        op = "providers.get"
    elif len(rest) % 2 == 1:
        op = rest[-1] + ".list"
    else:
        op = rest[-2] + ".get"
    return service, op


class Scenario:
    def __init__(self, name, description, subscriptions):
        self.dir = os.path.join(HERE, *name.split("/"))
        self.description = description
        self.subscriptions = subscriptions
        self.exchanges = {}

    def fail(self, path, params, status, code, message):
        """A call ARM refuses (the error body of the ARM error contract)."""
        self.add(path, params)
        fname = [f for f, e in self.exchanges.items() if e["request"]["path"] == path and e["request"]["params"] == params][0]
        self.exchanges[fname]["responses"] = [{"status": status, "headers": {"content-type": "application/json; charset=utf-8"},
                                               "json": {"error": {"code": code, "message": message}}}]

    def add(self, path, params, *responses):
        service, op = describe(path)
        canonical = "GET %s?%s" % (
            path.rstrip("/").lower(),
            "&".join("%s=%s" % (k.lower(), v) for k, v in sorted(params.items())),
        )
        digest = hashlib.sha256(canonical.encode()).hexdigest()[:8]
        fname = os.path.join("exchanges", service, "global", "%s-%s.json" % (op.replace(".", "_"), digest))
        assert fname not in self.exchanges, fname
        self.exchanges[fname] = {
            "request": {
                "service": service,
                "region": "global",
                "operation": op,
                "method": "GET",
                "path": path,
                "params": params,
            },
            "responses": [
                {"status": 200, "headers": {"content-type": "application/json; charset=utf-8"}, "json": r}
                for r in responses
            ],
        }

    def list(self, path, api, items, pages=1):
        """A list call; with pages=2 the first page holds a nextLink with a $skipToken."""
        if pages == 1:
            self.add(path, {"api-version": api}, {"value": items})
            return
        half = len(items) // 2
        token = "eyJuZXh0TWFya2VyIjoiMiJ9"
        self.add(path, {"api-version": api},
                 {"value": items[:half], "nextLink": "%s%s?api-version=%s&$skipToken=%s" % (ARM, path, api, token)})
        self.add(path, {"api-version": api, "$skipToken": token}, {"value": items[half:]})

    def get(self, path, api, body):
        self.add(path, {"api-version": api}, body)

    def write(self):
        if os.path.isdir(self.dir):
            shutil.rmtree(self.dir)
        for fname, exchange in self.exchanges.items():
            path = os.path.join(self.dir, fname)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                json.dump(exchange, f, indent=2)
                f.write("\n")
        with open(os.path.join(self.dir, "scenario.json"), "w") as f:
            json.dump({"description": self.description, "subscriptions": self.subscriptions,
                       "recorded_with": "hand-written (mocks/azure/make_scenarios.py)"}, f, indent=2)
            f.write("\n")


def role_definition(sub, guid, name, role_type, actions, not_actions=(), data_actions=(), scopes=("/",)):
    return {
        "id": "/subscriptions/%s%s%s" % (sub, ROLE_DEFS, guid),
        "name": guid,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": name,
            "description": name,
            "type": role_type,
            "assignableScopes": list(scopes),
            "permissions": [{"actions": list(actions), "notActions": list(not_actions),
                             "dataActions": list(data_actions), "notDataActions": []}],
            "createdOn": "2024-01-01T00:00:00.0000000Z",
            "updatedOn": "2024-01-01T00:00:00.0000000Z",
        },
    }


BUILTINS = {
    # Contributor, trimmed to the documented facts (iam.md §7): actions *, no role management.
    CONTRIBUTOR: ("Contributor", ["*"], ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
                                         "Microsoft.Authorization/elevateAccess/Action"], []),
    READER: ("Reader", ["*/read"], [], []),
    ACR_PULL: ("AcrPull", ["Microsoft.ContainerRegistry/registries/pull/read"], [], []),
    KV_SECRETS_USER: ("Key Vault Secrets User", [], [], ["Microsoft.KeyVault/vaults/secrets/getSecret/action",
                                                         "Microsoft.KeyVault/vaults/secrets/readMetadata/action"]),
    STORAGE_BLOB_CONTRIBUTOR: ("Storage Blob Data Contributor", [
        "Microsoft.Storage/storageAccounts/blobServices/containers/delete",
        "Microsoft.Storage/storageAccounts/blobServices/containers/read",
        "Microsoft.Storage/storageAccounts/blobServices/containers/write"], [], [
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"]),
    USER_ACCESS_ADMIN: ("User Access Administrator", ["*/read", "Microsoft.Authorization/*",
                                                      "Microsoft.Support/*"], [], []),
}


def add_role(sc, sub, guid, custom=None):
    path = "/subscriptions/%s%s%s" % (sub, ROLE_DEFS, guid)
    if custom:
        body = custom
    else:
        name, actions, not_actions, data = BUILTINS[guid]
        body = role_definition(sub, guid, name, "BuiltInRole", actions, not_actions, data)
    sc.get(path, AUTH_API, body)
    return path


def assignment(sub, guid, scope, role_path, principal, ptype="ServicePrincipal"):
    return {
        "id": "%s/providers/Microsoft.Authorization/roleAssignments/%s" % (scope, guid),
        "name": guid,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "scope": scope,
            "roleDefinitionId": role_path,
            "principalId": principal,
            "principalType": ptype,
            "condition": None,
            "conditionVersion": None,
            "createdOn": "2025-03-01T10:00:00.0000000Z",
            "updatedOn": "2025-03-01T10:00:00.0000000Z",
            "createdBy": None,
            "updatedBy": None,
            "delegatedManagedIdentityResourceId": None,
            "description": None,
        },
    }


def uami(sub, rg, name, client, principal, location):
    return {
        "id": "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/%s" % (sub, rg, name),
        "name": name,
        "location": location,
        "tags": {},
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "properties": {"tenantId": TENANT, "principalId": principal, "clientId": client,
                       "isolationScope": "None"},
    }


def fic(identity_id, name, issuer, subject):
    return {
        "id": "%s/federatedIdentityCredentials/%s" % (identity_id, name),
        "name": name,
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
        "properties": {"issuer": issuer, "subject": subject, "audiences": ["api://AzureADTokenExchange"]},
    }


def cluster(sub, rg, name, location, kubelet, props, pools):
    cid = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ContainerService/managedClusters/%s" % (sub, rg, name)
    base = {
        "provisioningState": "Succeeded",
        "powerState": {"code": "Running"},
        "kubernetesVersion": "1.32",
        "currentKubernetesVersion": "1.32.7",
        "dnsPrefix": name,
        "fqdn": "%s-dns-1a2b3c4d.hcp.%s.azmk8s.io" % (name, location),
        "nodeResourceGroup": "MC_%s_%s_%s" % (rg, name, location),
        "enableRBAC": True,
        "identityProfile": {"kubeletidentity": kubelet},
        "agentPoolProfiles": [
            {"name": p, "count": 3, "vmSize": "Standard_D4s_v5", "osType": "Linux", "osSKU": "AzureLinux",
             "osDiskType": "Managed", "mode": "System" if i == 0 else "User", "type": "VirtualMachineScaleSets",
             "orchestratorVersion": "1.32.7", "enableNodePublicIP": False, "enableEncryptionAtHost": False,
             "provisioningState": "Succeeded", "powerState": {"code": "Running"}}
            for i, p in enumerate(pools)
        ],
        "networkProfile": {"networkPlugin": "azure", "networkPolicy": "cilium"},
    }
    base.update(props)
    return {
        "id": cid,
        "name": name,
        "type": "Microsoft.ContainerService/ManagedClusters",
        "location": location,
        "tags": {"env": name.split("-")[0]},
        "sku": {"name": "Base", "tier": "Standard"},
        "identity": {"type": "SystemAssigned", "principalId": "00000000-0000-0000-0000-0000000000c1",
                     "tenantId": TENANT},
        "properties": base,
    }


def kubelet_identity(sub, node_rg, name, client, obj):
    return {
        "resourceId": "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/%s-agentpool" % (sub, node_rg, name),
        "clientId": client,
        "objectId": obj,
    }


def diag(resource, name, logs, workspace=True):
    props = {"logs": logs, "metrics": []}
    if workspace:
        props["workspaceId"] = "/subscriptions/33333333-3333-3333-3333-333333333333/resourceGroups/logs/providers/Microsoft.OperationalInsights/workspaces/central"
        props["logAnalyticsDestinationType"] = "Dedicated"
    return {"id": "%s/providers/microsoft.insights/diagnosticSettings/%s" % (resource, name), "name": name,
            "type": "Microsoft.Insights/diagnosticSettings", "properties": props}


def log(category, enabled, group=False):
    key = "categoryGroup" if group else "category"
    return {key: category, "enabled": enabled, "retentionPolicy": {"enabled": False, "days": 0}}


def insecure():
    sub = "11111111-1111-1111-1111-111111111111"
    sc = Scenario("insecure", "Subscription acme-insecure: a public AKS cluster with every finding, a "
                  "workload-identity cluster with a weak setup, a kubelet identity with Contributor on the "
                  "subscription, a custom `*` role and federated credentials with foreign issuers.", [sub])
    sub_scope = "/subscriptions/%s" % sub
    staging_issuer = "https://westeurope.oic.prod-aks.azure.com/%s/5d3c1a2b-0000-4000-8000-000000000002/" % TENANT

    prod_kubelet = kubelet_identity(sub, "MC_rg-prod_prod-public_eastus", "prod-public",
                                    "c0000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000001")
    staging_kubelet = kubelet_identity(sub, "MC_rg-staging_staging-wi_westeurope", "staging-wi",
                                       "c0000000-0000-4000-8000-000000000002", "a0000000-0000-4000-8000-000000000002")
    des = "/subscriptions/%s/resourceGroups/rg-security/providers/Microsoft.Compute/diskEncryptionSets/aks-des" % sub
    prod = cluster(sub, "rg-prod", "prod-public", "eastus", prod_kubelet, {
        # No apiServerAccessProfile, no securityProfile, no aadProfile: public, open, no KMS, no WI.
        "disableLocalAccounts": False,
        "oidcIssuerProfile": {"enabled": False},
    }, ["nodepool1", "apps"])
    staging = cluster(sub, "rg-staging", "staging-wi", "westeurope", staging_kubelet, {
        "apiServerAccessProfile": {"authorizedIPRanges": ["203.0.113.0/24"], "enablePrivateCluster": False},
        "publicNetworkAccess": "Enabled",
        "disableLocalAccounts": False,
        "aadProfile": {"managed": True, "enableAzureRBAC": False, "adminGroupObjectIDs": None, "tenantID": TENANT},
        "oidcIssuerProfile": {"enabled": True, "issuerURL": staging_issuer},
        "securityProfile": {"workloadIdentity": {"enabled": True},
                            "azureKeyVaultKms": {"enabled": False}},
        "diskEncryptionSetID": des,
    }, ["system"])
    # One cluster per page: the list follows nextLink.
    sc.list("%s/providers/Microsoft.ContainerService/managedClusters" % sub_scope, AKS_API, [prod, staging], pages=2)
    sc.get(des, DES_API, {"id": des, "name": "aks-des", "location": "westeurope",
                          "type": "Microsoft.Compute/diskEncryptionSets",
                          "identity": {"type": "SystemAssigned"},
                          "properties": {"encryptionType": "EncryptionAtRestWithCustomerKey",
                                         "activeKey": {"keyUrl": "https://acme-kv.vault.azure.net/keys/aks-disks/0123456789abcdef0123456789abcdef"},
                                         "provisioningState": "Succeeded"}})

    # Diagnostic settings: none on prod-public; staging-wi ships the API server log but not audit.
    sc.list("%s/providers/Microsoft.Insights/diagnosticSettings" % prod["id"], INSIGHTS_API, [])
    sc.list("%s/providers/Microsoft.Insights/diagnosticSettings" % staging["id"], INSIGHTS_API, [
        diag(staging["id"], "to-central", [log("kube-apiserver", True), log("kube-audit", False),
                                            log("kube-audit-admin", False), log("guard", True)])])
    # The activity log is not exported.
    sc.list("%s/providers/Microsoft.Insights/diagnosticSettings" % sub_scope, INSIGHTS_API, [])

    # Managed identities: the two kubelet identities and two application identities.
    payments = uami(sub, "rg-apps", "payments-api", "c0000000-0000-4000-8000-000000000010",
                    "a0000000-0000-4000-8000-000000000010", "westeurope")
    deployer = uami(sub, "rg-apps", "ci-deployer", "c0000000-0000-4000-8000-000000000011",
                    "a0000000-0000-4000-8000-000000000011", "eastus")
    k1 = uami(sub, "MC_rg-prod_prod-public_eastus", "prod-public-agentpool", prod_kubelet["clientId"],
              prod_kubelet["objectId"], "eastus")
    k2 = uami(sub, "MC_rg-staging_staging-wi_westeurope", "staging-wi-agentpool", staging_kubelet["clientId"],
              staging_kubelet["objectId"], "westeurope")
    sc.list("%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities" % sub_scope, MSI_API,
            [payments, deployer, k1, k2])
    sc.list("%s/federatedIdentityCredentials" % payments["id"], MSI_API, [
        # The issuer without its trailing slash, as people often write it.
        fic(payments["id"], "staging-payments", staging_issuer.rstrip("/"), "system:serviceaccount:payments:api")])
    sc.list("%s/federatedIdentityCredentials" % deployer["id"], MSI_API, [
        fic(deployer["id"], "github-main", "https://token.actions.githubusercontent.com",
            "repo:acme/app:ref:refs/heads/main"),
        fic(deployer["id"], "unknown-aks", "https://eastus.oic.prod-aks.azure.com/9a9a9a9a-0000-4000-8000-000000000000/7b7b7b7b-0000-4000-8000-000000000000/",
            "system:serviceaccount:default:default")])
    sc.list("%s/federatedIdentityCredentials" % k1["id"], MSI_API, [])
    sc.list("%s/federatedIdentityCredentials" % k2["id"], MSI_API, [])

    # Role assignments at the subscription and below.
    custom_guid = "9f1e2d3c-0000-4000-8000-0000000000ff"
    custom = role_definition(sub, custom_guid, "acme-ops-everything", "CustomRole", ["*"], [], ["*"],
                             scopes=[sub_scope])
    contributor = add_role(sc, sub, CONTRIBUTOR)
    acr = add_role(sc, sub, ACR_PULL)
    reader = add_role(sc, sub, READER)
    custom_path = add_role(sc, sub, custom_guid, custom)
    kv_secrets = add_role(sc, sub, KV_SECRETS_USER)
    blob_contrib = add_role(sc, sub, STORAGE_BLOB_CONTRIBUTOR)
    access_admin = add_role(sc, sub, USER_ACCESS_ADMIN)
    registry = "/subscriptions/%s/resourceGroups/rg-shared/providers/Microsoft.ContainerRegistry/registries/acmecr" % sub
    sc.list("%s/providers/Microsoft.Authorization/roleAssignments" % sub_scope, AUTH_API, [
        assignment(sub, "e0000000-0000-4000-8000-000000000001", sub_scope, contributor, prod_kubelet["objectId"]),
        assignment(sub, "e0000000-0000-4000-8000-000000000002", registry, acr, staging_kubelet["objectId"]),
        assignment(sub, "e0000000-0000-4000-8000-000000000003", "/subscriptions/%s/resourceGroups/rg-apps" % sub,
                   custom_path, payments["properties"]["principalId"]),
        assignment(sub, "e0000000-0000-4000-8000-000000000004", sub_scope, reader,
                   deployer["properties"]["principalId"]),
        # The staging kubelet identity: every secret, every blob, and role assignments in its RG.
        assignment(sub, "e0000000-0000-4000-8000-000000000006", sub_scope, kv_secrets,
                   staging_kubelet["objectId"]),
        assignment(sub, "e0000000-0000-4000-8000-000000000007", sub_scope, blob_contrib,
                   staging_kubelet["objectId"]),
        assignment(sub, "e0000000-0000-4000-8000-000000000008",
                   "/subscriptions/%s/resourceGroups/rg-staging" % sub, access_admin,
                   staging_kubelet["objectId"]),
        # A human: not a scanned identity, so its role definition is not read.
        assignment(sub, "e0000000-0000-4000-8000-000000000005", sub_scope,
                   "/subscriptions/%s%s8e3af657-a8ff-443c-a75c-2fe8c4bcb635" % (sub, ROLE_DEFS),
                   "f0000000-0000-4000-8000-000000000001", "User"),
    ])
    sc.list("%s/providers/Microsoft.Authorization/denyAssignments" % sub_scope, AUTH_API, [])
    sc.write()


def hardened():
    sub = "22222222-2222-2222-2222-222222222222"
    sc = Scenario("hardened", "Subscription acme-hardened: a private AKS cluster with KMS, Entra ID + Azure "
                  "RBAC, no local accounts, workload identity, audit logs and an exported activity log.", [sub])
    sub_scope = "/subscriptions/%s" % sub
    issuer = "https://eastus.oic.prod-aks.azure.com/%s/6e4d2b3c-0000-4000-8000-000000000003/" % TENANT
    kubelet = kubelet_identity(sub, "MC_rg-prod_prod-private_eastus", "prod-private",
                               "c0000000-0000-4000-8000-000000000021", "a0000000-0000-4000-8000-000000000021")
    des = "/subscriptions/%s/resourceGroups/rg-security/providers/Microsoft.Compute/diskEncryptionSets/aks-des" % sub
    prod = cluster(sub, "rg-prod", "prod-private", "eastus", kubelet, {
        "apiServerAccessProfile": {"enablePrivateCluster": True, "privateDNSZone": "system",
                                   "enablePrivateClusterPublicFQDN": False},
        "privateFQDN": "prod-private-1a2b3c4d.privatelink.eastus.azmk8s.io",
        "publicNetworkAccess": "Disabled",
        "disableLocalAccounts": True,
        "aadProfile": {"managed": True, "enableAzureRBAC": True,
                       "adminGroupObjectIDs": ["d0000000-0000-4000-8000-000000000001"], "tenantID": TENANT},
        "oidcIssuerProfile": {"enabled": True, "issuerURL": issuer},
        "securityProfile": {
            "workloadIdentity": {"enabled": True},
            "azureKeyVaultKms": {"enabled": True,
                                 "keyId": "https://acme-kms.vault.azure.net/keys/etcd/fedcba9876543210fedcba9876543210",
                                 "keyVaultNetworkAccess": "Private",
                                 "keyVaultResourceId": "/subscriptions/%s/resourceGroups/rg-security/providers/Microsoft.KeyVault/vaults/acme-kms" % sub},
            "defender": {"securityMonitoring": {"enabled": True}},
        },
        "diskEncryptionSetID": des,
    }, ["system", "apps"])
    # An empty first page with a nextLink, as ARM sometimes sends.
    path = "%s/providers/Microsoft.ContainerService/managedClusters" % sub_scope
    token = "eyJuZXh0TWFya2VyIjoiMSJ9"
    sc.add(path, {"api-version": AKS_API},
           {"value": [], "nextLink": "%s%s?api-version=%s&$skipToken=%s" % (ARM, path, AKS_API, token)})
    sc.add(path, {"api-version": AKS_API, "$skipToken": token}, {"value": [prod], "nextLink": None})
    sc.get(des, DES_API, {"id": des, "name": "aks-des", "location": "eastus",
                          "type": "Microsoft.Compute/diskEncryptionSets",
                          "properties": {"encryptionType": "EncryptionAtRestWithCustomerKey",
                                         "activeKey": {"keyUrl": "https://acme-kms.vault.azure.net/keys/disks/00112233445566778899aabbccddeeff"}}})
    sc.list("%s/providers/Microsoft.Insights/diagnosticSettings" % prod["id"], INSIGHTS_API, [
        diag(prod["id"], "audit-to-central", [log("kube-audit-admin", True), log("kube-apiserver", True),
                                               log("guard", True)])])
    sc.list("%s/providers/Microsoft.Insights/diagnosticSettings" % sub_scope, INSIGHTS_API, [
        diag(sub_scope, "activity-to-central", [log(c, True) for c in
             ["Administrative", "Security", "ServiceHealth", "Alert", "Recommendation", "Policy",
              "Autoscale", "ResourceHealth"]])])

    payments = uami(sub, "rg-apps", "payments-api", "c0000000-0000-4000-8000-000000000030",
                    "a0000000-0000-4000-8000-000000000030", "eastus")
    k = uami(sub, "MC_rg-prod_prod-private_eastus", "prod-private-agentpool", kubelet["clientId"],
             kubelet["objectId"], "eastus")
    sc.list("%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities" % sub_scope, MSI_API, [payments, k])
    sc.list("%s/federatedIdentityCredentials" % payments["id"], MSI_API, [
        fic(payments["id"], "prod-payments", issuer, "system:serviceaccount:payments:api")])
    sc.list("%s/federatedIdentityCredentials" % k["id"], MSI_API, [])

    acr = add_role(sc, sub, ACR_PULL)
    secrets = add_role(sc, sub, KV_SECRETS_USER)
    registry = "/subscriptions/%s/resourceGroups/rg-shared/providers/Microsoft.ContainerRegistry/registries/acmecr" % sub
    vault = "/subscriptions/%s/resourceGroups/rg-apps/providers/Microsoft.KeyVault/vaults/payments-kv" % sub
    sc.list("%s/providers/Microsoft.Authorization/roleAssignments" % sub_scope, AUTH_API, [
        assignment(sub, "e0000000-0000-4000-8000-000000000021", registry, acr, kubelet["objectId"]),
        assignment(sub, "e0000000-0000-4000-8000-000000000022", vault, secrets, payments["properties"]["principalId"]),
    ])
    sc.list("%s/providers/Microsoft.Authorization/denyAssignments" % sub_scope, AUTH_API, [])
    sc.write()


def pool(name, os_disk_type, at_host, mode="User"):
    """An agent pool profile; os_disk_type None leaves `osDiskType` out (AKS chose by VM size)."""
    p = {"name": name, "count": 2, "vmSize": "Standard_D8ds_v5", "osType": "Linux", "osSKU": "AzureLinux",
         "mode": mode, "type": "VirtualMachineScaleSets", "orchestratorVersion": "1.32.7",
         "enableNodePublicIP": False, "provisioningState": "Succeeded", "powerState": {"code": "Running"}}
    if os_disk_type is not None:
        p["osDiskType"] = os_disk_type
    if at_host is not None:
        p["enableEncryptionAtHost"] = at_host
    return p


def deny_assignment(scope, guid, name, actions, principals, excluded=(), data_actions=()):
    """A deny assignment (authorization 2022-04-01 DenyAssignment)."""
    return {
        "id": "%s/providers/Microsoft.Authorization/denyAssignments/%s" % (scope, guid),
        "name": guid,
        "type": "Microsoft.Authorization/denyAssignments",
        "properties": {
            "denyAssignmentName": name,
            "description": name,
            "permissions": [{"actions": list(actions), "notActions": [], "dataActions": list(data_actions),
                             "notDataActions": []}],
            "scope": scope,
            "doNotApplyToChildScopes": False,
            "principals": [{"id": p, "type": t} for p, t in principals],
            "excludePrincipals": [{"id": p, "type": t} for p, t in excluded],
            "isSystemProtected": True,
        },
    }


def spec_complete():
    """spec-cases/complete: two subscriptions, every call answered."""
    a = "33333333-3333-3333-3333-333333333333"
    b = "44444444-4444-4444-4444-444444444444"
    sc = Scenario("spec-cases/complete", "Spec cases (complete coverage): authorizedIPRanges 0.0.0.0/32 alone "
                  "and with a public range, ephemeral OS disks with and without encryption at host and an "
                  "unset osDiskType, a `*` custom role whose notActions remove the administrator operations, "
                  "a custom `*` role at one resource group, and a kubelet identity of subscription 3333 "
                  "that holds Contributor in subscription 4444.", [a, b])
    sa, sb = "/subscriptions/%s" % a, "/subscriptions/%s" % b
    issuer = "https://eastus.oic.prod-aks.azure.com/%s/8f8f8f8f-0000-4000-8000-000000000031/" % TENANT
    k_egress = kubelet_identity(a, "MC_rg-edge_egress-only_eastus", "egress-only",
                                "c0000000-0000-4000-8000-000000000031", "a0000000-0000-4000-8000-000000000031")
    k_mixed = kubelet_identity(a, "MC_rg-edge_mixed_westeurope", "mixed",
                               "c0000000-0000-4000-8000-000000000032", "a0000000-0000-4000-8000-000000000032")
    egress = cluster(a, "rg-edge", "egress-only", "eastus", k_egress, {
        "apiServerAccessProfile": {"authorizedIPRanges": ["0.0.0.0/32"], "enablePrivateCluster": False},
        "publicNetworkAccess": "Enabled",
        "disableLocalAccounts": True,
        "aadProfile": {"managed": True, "enableAzureRBAC": True, "adminGroupObjectIDs": None, "tenantID": TENANT},
        "oidcIssuerProfile": {"enabled": True, "issuerURL": issuer},
        "securityProfile": {"workloadIdentity": {"enabled": True},
                            "azureKeyVaultKms": {"enabled": True, "keyId": "https://edge-kms.vault.azure.net/keys/etcd/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a",
                                                 "keyVaultNetworkAccess": "Public"}},
    }, [])
    egress["properties"]["agentPoolProfiles"] = [
        pool("system", "Managed", False, mode="System"),
        pool("eph", "Ephemeral", False),
        pool("ephhost", "Ephemeral", True),
        pool("auto", None, None),
    ]
    mixed = cluster(a, "rg-edge", "mixed", "westeurope", k_mixed, {
        "apiServerAccessProfile": {"authorizedIPRanges": ["0.0.0.0/32", "198.51.100.0/24"],
                                   "enablePrivateCluster": False},
        "publicNetworkAccess": "Enabled",
        "disableLocalAccounts": True,
        "aadProfile": {"managed": True, "enableAzureRBAC": True, "adminGroupObjectIDs": None, "tenantID": TENANT},
        "oidcIssuerProfile": {"enabled": False},
        "securityProfile": {"azureKeyVaultKms": {"enabled": True, "keyId": "https://edge-kms.vault.azure.net/keys/etcd/0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
                                                 "keyVaultNetworkAccess": "Public"}},
    }, [])
    mixed["properties"]["agentPoolProfiles"] = [pool("system", "Managed", False, mode="System")]
    sc.list("%s/providers/Microsoft.ContainerService/managedClusters" % sa, AKS_API, [egress, mixed])
    sc.list("%s/providers/Microsoft.ContainerService/managedClusters" % sb, AKS_API, [])
    for c in (egress, mixed):
        sc.list("%s/providers/Microsoft.Insights/diagnosticSettings" % c["id"], INSIGHTS_API, [
            diag(c["id"], "audit", [log("kube-audit-admin", True)])])
    for s_ in (sa, sb):
        sc.list("%s/providers/Microsoft.Insights/diagnosticSettings" % s_, INSIGHTS_API, [
            diag(s_, "activity", [log("Administrative", True)])])

    app = uami(a, "rg-apps", "app-rg", "c0000000-0000-4000-8000-000000000033",
               "a0000000-0000-4000-8000-000000000033", "eastus")
    k1 = uami(a, "MC_rg-edge_egress-only_eastus", "egress-only-agentpool", k_egress["clientId"], k_egress["objectId"], "eastus")
    k2 = uami(a, "MC_rg-edge_mixed_westeurope", "mixed-agentpool", k_mixed["clientId"], k_mixed["objectId"], "westeurope")
    sc.list("%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities" % sa, MSI_API, [app, k1, k2])
    sc.list("%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities" % sb, MSI_API, [])
    sc.list("%s/federatedIdentityCredentials" % app["id"], MSI_API, [
        fic(app["id"], "egress-apps", issuer, "system:serviceaccount:apps:api")])
    sc.list("%s/federatedIdentityCredentials" % k1["id"], MSI_API, [])
    sc.list("%s/federatedIdentityCredentials" % k2["id"], MSI_API, [])

    no_admin_guid = "9f1e2d3c-0000-4000-8000-000000000031"
    no_admin = role_definition(a, no_admin_guid, "edge-ops-no-compute", "CustomRole", ["*"],
                               ["Microsoft.Compute/*", "Microsoft.Storage/*", "Microsoft.KeyVault/*",
                                "Microsoft.ContainerService/*"], [], scopes=[sa])
    rg_star_guid = "9f1e2d3c-0000-4000-8000-000000000032"
    rg_star = role_definition(a, rg_star_guid, "edge-apps-everything", "CustomRole", ["*"], [], ["*"],
                              scopes=["%s/resourceGroups/rg-apps" % sa])
    no_admin_path = add_role(sc, a, no_admin_guid, no_admin)
    rg_star_path = add_role(sc, a, rg_star_guid, rg_star)
    contributor_b = add_role(sc, b, CONTRIBUTOR)
    sc.list("%s/providers/Microsoft.Authorization/roleAssignments" % sa, AUTH_API, [
        assignment(a, "e0000000-0000-4000-8000-000000000031", sa, no_admin_path, k_egress["objectId"]),
        assignment(a, "e0000000-0000-4000-8000-000000000032", "%s/resourceGroups/rg-apps" % sa, rg_star_path,
                   app["properties"]["principalId"]),
    ])
    # The kubelet identity of `mixed` (subscription 3333) holds Contributor in subscription 4444.
    sc.list("%s/providers/Microsoft.Authorization/roleAssignments" % sb, AUTH_API, [
        assignment(b, "e0000000-0000-4000-8000-000000000033", sb, contributor_b, k_mixed["objectId"]),
    ])
    sc.list("%s/providers/Microsoft.Authorization/denyAssignments" % sa, AUTH_API, [])
    sc.list("%s/providers/Microsoft.Authorization/denyAssignments" % sb, AUTH_API, [])
    sc.write()


def spec_gaps():
    """spec-cases/gaps: what the scan cannot decide, reported as such."""
    a = "55555555-5555-5555-5555-555555555555"
    b = "66666666-6666-6666-6666-666666666666"
    sc = Scenario("spec-cases/gaps", "Spec cases (incomplete on purpose): a deleted custom role still "
                  "assigned (roleDefinitions.get 404), a deny assignment and a group assignment that apply "
                  "to a scanned identity, and a federated credential with an AKS issuer that matches no "
                  "listed cluster while the cluster list of subscription 6666 is refused.", [a, b])
    sa, sb = "/subscriptions/%s" % a, "/subscriptions/%s" % b
    issuer = "https://eastus.oic.prod-aks.azure.com/%s/8f8f8f8f-0000-4000-8000-000000000051/" % TENANT
    elsewhere = "https://eastus.oic.prod-aks.azure.com/%s/8f8f8f8f-0000-4000-8000-000000000061/" % TENANT
    k = kubelet_identity(a, "MC_rg-gap_gap-aks_eastus", "gap-aks",
                         "c0000000-0000-4000-8000-000000000051", "a0000000-0000-4000-8000-000000000051")
    gap = cluster(a, "rg-gap", "gap-aks", "eastus", k, {
        "apiServerAccessProfile": {"enablePrivateCluster": True},
        "publicNetworkAccess": "Disabled",
        "disableLocalAccounts": True,
        "aadProfile": {"managed": True, "enableAzureRBAC": True, "adminGroupObjectIDs": None, "tenantID": TENANT},
        "oidcIssuerProfile": {"enabled": True, "issuerURL": issuer},
        "securityProfile": {"workloadIdentity": {"enabled": True},
                            "azureKeyVaultKms": {"enabled": True, "keyId": "https://gap-kms.vault.azure.net/keys/etcd/0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
                                                 "keyVaultNetworkAccess": "Private"}},
    }, ["system"])
    sc.list("%s/providers/Microsoft.ContainerService/managedClusters" % sa, AKS_API, [gap])
    sc.fail("%s/providers/Microsoft.ContainerService/managedClusters" % sb, {"api-version": AKS_API}, 403,
            "AuthorizationFailed", "The client does not have authorization to perform action "
            "'Microsoft.ContainerService/managedClusters/read' over scope '%s'." % sb)
    sc.list("%s/providers/Microsoft.Insights/diagnosticSettings" % gap["id"], INSIGHTS_API, [
        diag(gap["id"], "audit", [log("kube-audit-admin", True)])])
    for s_ in (sa, sb):
        sc.list("%s/providers/Microsoft.Insights/diagnosticSettings" % s_, INSIGHTS_API, [
            diag(s_, "activity", [log("Administrative", True)])])

    wi = uami(a, "rg-apps", "wi-elsewhere", "c0000000-0000-4000-8000-000000000052",
              "a0000000-0000-4000-8000-000000000052", "eastus")
    kid = uami(a, "MC_rg-gap_gap-aks_eastus", "gap-aks-agentpool", k["clientId"], k["objectId"], "eastus")
    sc.list("%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities" % sa, MSI_API, [wi, kid])
    sc.list("%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities" % sb, MSI_API, [])
    sc.list("%s/federatedIdentityCredentials" % wi["id"], MSI_API, [
        fic(wi["id"], "gap-local", issuer, "system:serviceaccount:apps:api"),
        # An AKS issuer that is no listed cluster's: maybe one of subscription 6666 (not listed).
        fic(wi["id"], "maybe-6666", elsewhere, "system:serviceaccount:apps:api")])
    sc.list("%s/federatedIdentityCredentials" % kid["id"], MSI_API, [])

    deleted_guid = "9f1e2d3c-0000-4000-8000-000000000051"
    deleted_path = "/subscriptions/%s%s%s" % (a, ROLE_DEFS, deleted_guid)
    sc.fail(deleted_path, {"api-version": AUTH_API}, 404, "RoleDefinitionDoesNotExist",
            "The specified role definition with ID '%s' does not exist." % deleted_guid)
    blob = add_role(sc, a, STORAGE_BLOB_CONTRIBUTOR)
    reader = "/subscriptions/%s%s%s" % (a, ROLE_DEFS, READER)
    sc.list("%s/providers/Microsoft.Authorization/roleAssignments" % sa, AUTH_API, [
        # The custom role was deleted; the assignment stays until someone removes it.
        assignment(a, "e0000000-0000-4000-8000-000000000051", sa, deleted_path, k["objectId"]),
        assignment(a, "e0000000-0000-4000-8000-000000000052", "%s/resourceGroups/rg-data" % sa, blob,
                   k["objectId"]),
        # A group: its members (maybe the scanned identities) are not listed by ARM.
        assignment(a, "e0000000-0000-4000-8000-000000000053", sa, reader,
                   "d0000000-0000-4000-8000-000000000051", "Group"),
    ])
    sc.list("%s/providers/Microsoft.Authorization/roleAssignments" % sb, AUTH_API, [])
    sc.list("%s/providers/Microsoft.Authorization/denyAssignments" % sa, AUTH_API, [
        deny_assignment("%s/resourceGroups/rg-data" % sa, "f1000000-0000-4000-8000-000000000051",
                        "Deny writes to the managed application's data", ["*/write"],
                        [("00000000-0000-0000-0000-000000000000", "SystemDefined")],
                        data_actions=["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"]),
        # Excludes the identity: does not apply.
        deny_assignment(sa, "f1000000-0000-4000-8000-000000000052", "Deny deletes except the kubelet",
                        ["*/delete"], [("00000000-0000-0000-0000-000000000000", "SystemDefined")],
                        excluded=[(k["objectId"], "ServicePrincipal")]),
    ])
    sc.list("%s/providers/Microsoft.Authorization/denyAssignments" % sb, AUTH_API, [])
    sc.write()


# --- management groups (issue 12): `cloudscan azure --management-group ...` ---------------------

MG_API = "2021-04-01"
SUBS_API = "2022-12-01"
MG_PREFIX = "/providers/Microsoft.Management/managementGroups/"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"


class GroupScenario(Scenario):
    """A scenario scanned with --management-group: scenario.json names the groups."""

    def __init__(self, name, description, groups):
        super().__init__(name, description, None)
        self.groups = groups

    def write(self):
        super().write()
        with open(os.path.join(self.dir, "scenario.json"), "w") as f:
            json.dump({"description": self.description, "subscriptions": None,
                       "management_groups": self.groups,
                       "recorded_with": "hand-written (mocks/azure/make_scenarios.py)"}, f, indent=2)
            f.write("\n")


def descendant(name, parent, subscription=False, display=None):
    """One item of managementGroups.getDescendants (DescendantInfo, api 2021-04-01)."""
    if subscription:
        return {"id": "/subscriptions/%s" % name, "type": "Microsoft.Management/managementGroups/subscriptions",
                "name": name, "properties": {"displayName": display or name,
                                             "parent": {"id": MG_PREFIX + parent}}}
    return {"id": MG_PREFIX + name, "type": "Microsoft.Management/managementGroups", "name": name,
            "properties": {"displayName": display or name, "parent": {"id": MG_PREFIX + parent}}}


def subscription_body(sub, name, state):
    """subscriptions.get (Subscription, api 2022-12-01)."""
    return {"id": "/subscriptions/%s" % sub, "authorizationSource": "RoleBased", "subscriptionId": sub,
            "tenantId": TENANT, "displayName": name, "state": state,
            "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "EnterpriseAgreement_2014-09-01",
                                     "spendingLimit": "Off"}}


def hardened_cluster(sub, rg, name, location, kubelet):
    issuer = "https://%s.oic.prod-aks.azure.com/%s/%s/" % (location, TENANT, hashlib.sha256(name.encode()).hexdigest()[:8] + "-0000-4000-8000-000000000000")
    return cluster(sub, rg, name, location, kubelet, {
        "apiServerAccessProfile": {"enablePrivateCluster": True, "privateDNSZone": "system",
                                   "enablePrivateClusterPublicFQDN": False},
        "privateFQDN": "%s-1a2b3c4d.privatelink.%s.azmk8s.io" % (name, location),
        "publicNetworkAccess": "Disabled",
        "disableLocalAccounts": True,
        "aadProfile": {"managed": True, "enableAzureRBAC": True,
                       "adminGroupObjectIDs": ["d0000000-0000-4000-8000-000000000001"], "tenantID": TENANT},
        "oidcIssuerProfile": {"enabled": True, "issuerURL": issuer},
        "securityProfile": {
            "workloadIdentity": {"enabled": True},
            "azureKeyVaultKms": {"enabled": True,
                                 "keyId": "https://%s-kms.vault.azure.net/keys/etcd/00112233445566778899aabbccddeeff" % name,
                                 "keyVaultNetworkAccess": "Private",
                                 "keyVaultResourceId": "/subscriptions/%s/resourceGroups/rg-security/providers/Microsoft.KeyVault/vaults/%s-kms" % (sub, name)},
        },
    }, ["system"])


def group_subscription(sc, sub, rg, name, location, kubelet_ids, assignments, definitions):
    """One enabled subscription below a group: a hardened cluster, its kubelet identity, the
    role assignments listed at the subscription (its own and the inherited ones) and the
    definitions they use (path -> body)."""
    sub_scope = "/subscriptions/%s" % sub
    node_rg = "MC_%s_%s_%s" % (rg, name, location)
    kubelet = kubelet_identity(sub, node_rg, name, kubelet_ids[0], kubelet_ids[1])
    c = hardened_cluster(sub, rg, name, location, kubelet)
    sc.list("%s/providers/Microsoft.ContainerService/managedClusters" % sub_scope, AKS_API, [c])
    sc.list("%s/providers/Microsoft.Insights/diagnosticSettings" % c["id"], INSIGHTS_API, [
        diag(c["id"], "audit-to-central", [log("kube-audit-admin", True), log("kube-apiserver", True)])])
    sc.list("%s/providers/Microsoft.Insights/diagnosticSettings" % sub_scope, INSIGHTS_API, [
        diag(sub_scope, "activity-to-central", [log(x, True) for x in
             ["Administrative", "Security", "ServiceHealth", "Alert", "Recommendation", "Policy",
              "Autoscale", "ResourceHealth"]])])
    k = uami(sub, node_rg, "%s-agentpool" % name, kubelet["clientId"], kubelet["objectId"], location)
    sc.list("%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities" % sub_scope, MSI_API, [k])
    sc.list("%s/federatedIdentityCredentials" % k["id"], MSI_API, [])
    sc.list("%s/providers/Microsoft.Authorization/roleAssignments" % sub_scope, AUTH_API, assignments)
    sc.list("%s/providers/Microsoft.Authorization/denyAssignments" % sub_scope, AUTH_API, [])
    for path, body in definitions:
        sc.get(path, AUTH_API, body)
    return kubelet


def management_group():
    """A management-group tree. The scanning principal holds Reader on `mg-platform` and
    `mg-workloads` (not on the tenant root group, not on `mg-sandbox`):

        72f988bf-... (tenant root group)
        ├── mg-platform:  platform-prod (Enabled), platform-legacy (Disabled)
        ├── mg-workloads: workloads-app (Enabled)
        │   └── mg-workloads-dev: workloads-dev (Enabled)
        └── mg-sandbox:   descendants refused (403 AuthorizationFailed)

    Owner at mg-platform is held by the platform-prod kubelet identity (inherited: listed by
    platform-prod's roleAssignments.list with its management-group scope). A custom role defined
    at mg-workloads (assignableScopes: the group; its id names the group) is assigned at
    mg-workloads to the workloads-app kubelet identity; Reader at the root scope `/` (a
    tenant-level role definition id) to the workloads-dev kubelet identity.
    """
    sc = GroupScenario("management-group", "Management groups mg-platform, mg-workloads (with the child "
                       "mg-workloads-dev) and mg-sandbox (refused, 403): three enabled subscriptions, one "
                       "disabled; Owner at mg-platform held by an AKS kubelet identity, a custom `Microsoft.Compute/*` "
                       "role defined and assigned at mg-workloads, Reader at the root scope.",
                       ["mg-platform", "mg-workloads", "mg-sandbox"])
    prod = "77777777-7777-4777-8777-777777777771"
    legacy = "77777777-7777-4777-8777-777777777772"
    app = "77777777-7777-4777-8777-777777777773"
    dev = "77777777-7777-4777-8777-777777777774"
    platform, workloads, wdev, sandbox = (MG_PREFIX + g for g in
                                          ("mg-platform", "mg-workloads", "mg-workloads-dev", "mg-sandbox"))

    # The tree: one list for mg-platform, two pages for mg-workloads.
    sc.list(platform + "/descendants", MG_API, [
        descendant(prod, "mg-platform", True, "platform-prod"),
        descendant(legacy, "mg-platform", True, "platform-legacy")])
    items = [descendant("mg-workloads-dev", "mg-workloads", display="Workloads (dev)"),
             descendant(app, "mg-workloads", True, "workloads-app"),
             descendant(dev, "mg-workloads-dev", True, "workloads-dev")]
    token = "eyJza2lwIjoyfQ"
    path = workloads + "/descendants"
    sc.add(path, {"api-version": MG_API},
           {"value": items[:2], "nextLink": "%s%s?api-version=%s&$skiptoken=%s" % (ARM, path, MG_API, token)})
    sc.add(path, {"api-version": MG_API, "$skiptoken": token}, {"value": items[2:]})
    sc.fail(sandbox + "/descendants", {"api-version": MG_API}, 403, "AuthorizationFailed",
            "The client 'c0000000-0000-4000-8000-0000000005ca' with object id 'a0000000-0000-4000-8000-0000000005ca' "
            "does not have authorization to perform action 'Microsoft.Management/managementGroups/descendants/read' "
            "over scope '/providers/Microsoft.Management/managementGroups/mg-sandbox' or the scope is invalid. "
            "If access was recently granted, please refresh your credentials.")
    for sub, name, state in [(prod, "platform-prod", "Enabled"), (legacy, "platform-legacy", "Disabled"),
                             (app, "workloads-app", "Enabled"), (dev, "workloads-dev", "Enabled")]:
        sc.get("/subscriptions/%s" % sub, SUBS_API, subscription_body(sub, name, state))

    # Definitions. Owner as read in platform-prod; the custom role at its group; Reader at the tenant.
    owner_path = "/subscriptions/%s%s%s" % (prod, ROLE_DEFS, OWNER)
    owner = role_definition(prod, OWNER, "Owner", "BuiltInRole", ["*"])
    custom_guid = "f0000000-0000-4000-8000-00000000c0de"
    custom_path = workloads + ROLE_DEFS + custom_guid
    custom = role_definition(app, custom_guid, "workloads-node-operator", "CustomRole",
                             ["Microsoft.Compute/*", "Microsoft.Network/*/read"], scopes=(workloads,))
    custom["id"] = custom_path
    reader_path = ROLE_DEFS + READER
    reader = role_definition(dev, READER, "Reader", "BuiltInRole", ["*/read"])
    reader["id"] = reader_path

    prod_kubelet = ("c0000000-0000-4000-8000-000000000071", "a0000000-0000-4000-8000-000000000071")
    app_kubelet = ("c0000000-0000-4000-8000-000000000073", "a0000000-0000-4000-8000-000000000073")
    dev_kubelet = ("c0000000-0000-4000-8000-000000000074", "a0000000-0000-4000-8000-000000000074")
    owner_at_platform = assignment(prod, "e0000000-0000-4000-8000-000000000071", platform, owner_path, prod_kubelet[1])
    custom_at_workloads = assignment(app, "e0000000-0000-4000-8000-000000000073", workloads, custom_path, app_kubelet[1])
    reader_at_root = assignment(dev, "e0000000-0000-4000-8000-000000000074", "/", reader_path, dev_kubelet[1])
    # `/` + the assignment path would start with `//`: the root scope's assignment id has one slash.
    reader_at_root["id"] = "/providers/Microsoft.Authorization/roleAssignments/e0000000-0000-4000-8000-000000000074"
    # Listed at each subscription: at, above and below it (no $filter), so the inherited ones too.
    group_subscription(sc, prod, "rg-platform", "platform-aks", "eastus", prod_kubelet,
                       [owner_at_platform, reader_at_root], [(owner_path, owner)])
    group_subscription(sc, app, "rg-apps", "apps-aks", "westeurope", app_kubelet,
                       [custom_at_workloads, reader_at_root], [(custom_path, custom)])
    group_subscription(sc, dev, "rg-dev", "dev-aks", "westeurope", dev_kubelet,
                       [custom_at_workloads, reader_at_root], [(reader_path, reader)])
    sc.write()


if __name__ == "__main__":
    insecure()
    hardened()
    spec_complete()
    spec_gaps()
    management_group()
