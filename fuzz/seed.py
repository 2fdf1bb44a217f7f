#!/usr/bin/env python3
"""Builds each fuzz target's starting corpus (fuzz/corpus/<target>/, not committed) from the
bundled fixtures: recorded API responses (mocks/**), policy documents (policies/**, the access
engine's test policies), and the hand-written seeds in fuzz/seeds/<target>/."""
import glob, hashlib, json, os, re, shutil, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    if len(data) > 200_000:
        return
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def exchanges(cloud, scenario="insecure"):
    for path in sorted(glob.glob(f"{ROOT}/mocks/{cloud}/{scenario}/exchanges/**/*.json", recursive=True)):
        with open(path) as f:
            yield path, json.load(f)


def body(exchange):
    r = exchange["responses"][0]
    return r.get("json") if r.get("json") is not None else r.get("body")


def policy_docs():
    """Every IAM policy document the repository holds (files, test sources, recordings)."""
    docs = []
    for path in glob.glob(f"{ROOT}/policies/**/*.json", recursive=True):
        try:
            v = json.load(open(path))
        except Exception:
            continue
        if isinstance(v, dict) and "Statement" in v:
            docs.append(json.dumps(v))
    for path in glob.glob(f"{ROOT}/providers/access/tests/**/*.rs", recursive=True) + glob.glob(
        f"{ROOT}/providers/access/src/*.rs"
    ):
        text = open(path).read()
        for m in re.finditer(r'r#"(\{.*?"Statement".*?\})"#', text, re.S):
            docs.append(m.group(1))
    for _, e in exchanges("aws"):
        b = body(e)
        if isinstance(b, str):
            for m in re.finditer(r"<(?:Document|AssumeRolePolicyDocument|PolicyDocument)>(.*?)</", b, re.S):
                docs.append(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    return docs


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    for seeds in glob.glob(f"{ROOT}/fuzz/seeds/*/*"):
        put(os.path.basename(os.path.dirname(seeds)), open(seeds, "rb").read())
    docs = policy_docs()
    for d in docs:
        put("fuzz_access_policy", d)
        put("fuzz_aws_normalize", d + "\0" + d + "\0" + d)
    # simulate: one case per policy document, allowed and denied actions.
    for d in docs[:200]:
        case = {
            "identity_policies": [d],
            "request": {
                "principal": "arn:aws:iam::123456789012:role/r",
                "action": "s3:GetObject",
                "resource": "arn:aws:s3:::b/k",
                "context": {"aws:SourceIp": "10.0.0.1", "aws:username": "u"},
            },
        }
        put("fuzz_simulate_batch", json.dumps(case) + "\n" + json.dumps(dict(case, permission_boundary=d)) + "\n")
    for cloud in ["aws", "gcp", "azure"]:
        for scenario in ["insecure", "hardened"]:
            for path, e in exchanges(cloud, scenario):
                put("fuzz_fixture_load", json.dumps(e))
    # GCP: one project assembled from the recorded responses.
    g = {}
    for _, e in exchanges("gcp"):
        op, b = e["request"]["operation"], body(e)
        key = {
            "projects.get": "project",
            "projects.getIamPolicy": "policy",
            "projects.locations.clusters.list": "clusters",
            "projects.serviceAccounts.list": "accounts",
            "disks.aggregatedList": "disks",
            "projects.serviceAccounts.getIamPolicy": "saPolicy",
        }.get(op)
        if key:
            g[key] = b
        if op in ("roles.get", "projects.roles.get"):
            g.setdefault("roles", []).append(b)
    put("fuzz_gcp_decode", json.dumps(g))
    a = {}
    for _, e in exchanges("azure"):
        op, b = e["request"]["operation"], body(e)
        key = {
            "managedClusters.list": "clusters",
            "roleAssignments.list": "roleAssignments",
            "denyAssignments.list": "denyAssignments",
            "userAssignedIdentities.list": "identities",
            "federatedIdentityCredentials.list": "federated",
            "diagnosticSettings.list": "diagnostics",
        }.get(op)
        if key:
            a[key] = b
        if op == "roleDefinitions.get":
            a.setdefault("roleDefinitions", {"value": []})["value"].append(b)
        if op == "diskEncryptionSets.get":
            a.setdefault("encryptionSets", {"value": []})["value"].append(b)
    put("fuzz_azure_decode", json.dumps(a))
    # Inventories: written by the replay of every bundled scenario (run.sh saves them).
    inventories = {}
    for path in sorted(glob.glob(f"{ROOT}/fuzz/target/inventories/*.json")):
        data = open(path, "rb").read()
        put("fuzz_inventory_load", data)
        # Compact, so that pairs fit in run.sh's -max_len (a longer input is cut, and a cut
        # inventory is not JSON).
        inventories[os.path.basename(path)[:-5]] = json.dumps(
            json.loads(data), separators=(",", ":")).encode()
    # Merge: each inventory with itself, the two organization shards (they merge), and pairs of
    # one cloud that conflict (insecure and hardened disagree about shared ids).
    for name, data in inventories.items():
        put("fuzz_inventory_merge", data + b"\0" + data)
    pairs = [
        ("aws-organization-shard-0", "aws-organization-shard-1"),
        ("aws-insecure-kube", "aws-organization-shard-1"),
        ("aws-insecure", "aws-hardened"),
        ("gcp-insecure", "gcp-hardened"),
        ("azure-insecure", "azure-hardened"),
        ("aws-insecure", "gcp-insecure"),
    ]
    for a, b in pairs:
        if a in inventories and b in inventories:
            put("fuzz_inventory_merge", inventories[a] + b"\0" + inventories[b])
    # The organization shards are too long for -max_len whole: their organization, scopes,
    # coverage and clusters only (what the organization merge reads).
    keep = ["schema_version", "provider", "caller", "scopes", "regions", "clusters", "coverage", "organization"]
    small = []
    for name in ["aws-organization-shard-0", "aws-organization-shard-1"]:
        if name in inventories:
            inv = json.loads(inventories[name])
            small.append(json.dumps({k: inv[k] for k in keep if k in inv}, separators=(",", ":")).encode())
    if len(small) == 2:
        put("fuzz_inventory_merge", small[0] + b"\0" + small[1])
        put("fuzz_inventory_merge", small[1] + b"\0" + small[0] + b"\0" + small[0])
    # Kubernetes: every recorded response, behind its kind's selector byte.
    kinds = ["serviceaccounts.list", "pods.list", "nodes.list", "networkpolicies.list", "configmaps.get"]
    for path in sorted(glob.glob(f"{ROOT}/mocks/kube/*/exchanges/**/*.json", recursive=True)):
        e = json.load(open(path))
        op = e["request"]["operation"]
        if op in kinds:
            b = body(e)
            text = b if isinstance(b, str) else json.dumps(b)
            put("fuzz_kube_decode", bytes([kinds.index(op)]) + text.encode())
    # Organizations: the records the collector reads, from the organization recording.
    org = {"roots": [], "accounts": [], "parents": {}, "ou_names": {}, "attachments": [], "policies": []}
    policy_types, targets_of = {}, {}
    org_dir = f"{ROOT}/mocks/aws/organization/exchanges/organizations"
    for path in sorted(glob.glob(f"{org_dir}/**/*.json", recursive=True)):
        e = json.load(open(path))
        op, req = e["request"]["operation"], e["request"].get("body") or {}
        b = body(e)
        try:
            b = json.loads(b) if isinstance(b, str) else (b or {})
        except ValueError:
            continue
        if op == "DescribeOrganization":
            o = b.get("Organization", {})
            org["id"] = o.get("Id", "")
            org["management_account"] = o.get("MasterAccountId")
        elif op == "ListRoots":
            for r in b.get("Roots", []):
                org["roots"].append({"id": r.get("Id", ""), "name": r.get("Name"), "enabled_types": [
                    t.get("Type") for t in r.get("PolicyTypes", []) if t.get("Status") == "ENABLED"]})
        elif op == "ListAccountsForParent":
            parent = req.get("ParentId", "")
            for a in b.get("Accounts", []):
                org["accounts"].append({"id": a.get("Id", ""), "name": a.get("Name"), "status": a.get("Status")})
                org["parents"][a.get("Id", "")] = [parent, "root" if parent.startswith("r-") else "ou"]
        elif op == "ListOrganizationalUnitsForParent":
            parent = req.get("ParentId", "")
            for u in b.get("OrganizationalUnits", []):
                org["parents"][u.get("Id", "")] = [parent, "root" if parent.startswith("r-") else "ou"]
                org["ou_names"][u.get("Id", "")] = u.get("Name")
        elif op == "ListPolicies":
            for p in b.get("Policies", []):
                policy_types[p.get("Id", "")] = p.get("Type", "")
        elif op == "ListTargetsForPolicy":
            targets_of[req.get("PolicyId", "")] = [t.get("TargetId", "") for t in b.get("Targets", [])]
        elif op == "DescribePolicy":
            p = b.get("Policy", {})
            s_ = p.get("PolicySummary", {})
            org["policies"].append({"id": s_.get("Id", ""), "arn": s_.get("Arn"), "name": s_.get("Name", ""),
                "policy_type": s_.get("Type", ""), "aws_managed": bool(s_.get("AwsManaged")), "content": p.get("Content")})
    # Per target and policy type, the policies attached (as the collector inverts ListTargetsForPolicy).
    attached = {}
    for target in [r["id"] for r in org["roots"]] + list(org["parents"]):
        for kind in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
            attached[(target, kind)] = []
    for pid, targets in sorted(targets_of.items()):
        for t in targets:
            if (t, policy_types.get(pid, "")) in attached:
                attached[(t, policy_types.get(pid, ""))].append(pid)
    org["attachments"] = [[t, k, sorted(ids)] for (t, k), ids in sorted(attached.items())]
    if org["accounts"]:
        doc = docs[0] if docs else None
        put("fuzz_org_normalize", json.dumps(dict(org, identity_policy=doc)))
        ids = [a["id"] for a in org["accounts"]]
        put("fuzz_org_normalize", json.dumps(dict(org, only=ids[:1], exclude=ids[1:2], shard="0/2")))
        put("fuzz_org_normalize", json.dumps(dict(org, shard="1/2", identity_policy=doc)))
    for t in sorted(os.listdir(OUT)):
        print(f"{t}: {len(os.listdir(os.path.join(OUT, t)))} seeds")


main()
