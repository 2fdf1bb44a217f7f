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
    for path in glob.glob(f"{ROOT}/fuzz/target/inventories/*.json"):
        put("fuzz_inventory_load", open(path, "rb").read())
    for t in sorted(os.listdir(OUT)):
        print(f"{t}: {len(os.listdir(os.path.join(OUT, t)))} seeds")


main()
