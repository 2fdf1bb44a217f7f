#!/usr/bin/env python3
"""Writes the bundled Kubernetes scenarios (mocks/kube/<scenario>/) in the shared fixture format.

Each scenario joins a cloud scenario: its contexts point at the API servers of that scenario's
clusters (by endpoint, or named as the cluster through `cluster`). The responses hold only what
cloudscan keeps of a Kubernetes answer (see providers/kube/src/objects.rs): names, namespaces,
labels, owner references, the three identity annotations, serviceAccountName, nodeName,
hostNetwork, phase, node-pool labels, NetworkPolicy specs and aws-auth mappings.

    python3 mocks/kube/make_scenarios.py      # rewrites aws-insecure/ and gke-insecure/
"""

import hashlib
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))


def canonical(key):
    """The canonical request form of cloudscan_collect::fixture::RequestKey (sorted keys)."""
    path = key["path"].rstrip("/") or "/"
    parts = [key["service"], key["region"], key["operation"], key["method"].upper(), path,
             key["params"], None]
    return json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def safe(segment):
    out = "".join(c if (c.isascii() and (c.isalnum() or c in "-_")) else "_" for c in segment)
    return out if out.strip("_") else "_"


def write_exchange(root, context, operation, path, params, status, body):
    key = {"service": "kubernetes", "region": context, "operation": operation, "method": "GET",
           "path": path, "params": params}
    digest = hashlib.sha256(canonical(key).encode()).hexdigest()[:8]
    folder = os.path.join(root, "exchanges", "kubernetes", safe(context))
    os.makedirs(folder, exist_ok=True)
    name = f"{safe(operation).strip('_')}-{digest}.json"
    exchange = {"request": key, "responses": [
        {"status": status, "headers": {"content-type": "application/json"}, "json": body}]}
    with open(os.path.join(folder, name), "w") as f:
        json.dump(exchange, f, indent=2, sort_keys=True)
        f.write("\n")


LIST = {"limit": "500"}


def meta(ns, name, **extra):
    m = {"name": name}
    if ns is not None:
        m["namespace"] = ns
    m.update(extra)
    return m


def sa(ns, name, annotations=None):
    m = meta(ns, name)
    if annotations:
        m["annotations"] = annotations
    return {"metadata": m}


def pod(ns, name, sa_name, node, owner=None, labels=None, host=False, phase="Running"):
    m = meta(ns, name)
    labels = dict(labels or {})
    if owner:
        kind, oname = owner
        if kind == "ReplicaSet":
            labels["pod-template-hash"] = oname.rsplit("-", 1)[1]
        m["ownerReferences"] = [{"apiVersion": "apps/v1" if kind != "Job" else "batch/v1",
                                 "kind": kind, "name": oname,
                                 "uid": hashlib.md5(f"{ns}/{oname}".encode()).hexdigest(),
                                 "controller": True}]
    if labels:
        m["labels"] = labels
    spec = {"serviceAccountName": sa_name, "nodeName": node, "containers": []}
    if host:
        spec["hostNetwork"] = True
    return {"metadata": m, "spec": spec, "status": {"phase": phase}}


def deployment(ns, name, sa_name, nodes, hash_, labels=None):
    return [pod(ns, f"{name}-{hash_}-{i:05x}"[:63], sa_name, node, ("ReplicaSet", f"{name}-{hash_}"),
                labels=dict(labels or {"app": name}))
            for i, node in enumerate(nodes)]


def daemonset(ns, name, sa_name, nodes, host=True, labels=None):
    return [pod(ns, f"{name}-{i:05x}", sa_name, node, ("DaemonSet", name), host=host,
                labels=dict(labels or {"k8s-app": name}))
            for i, node in enumerate(nodes)]


def node(name, label, pool):
    return {"metadata": {"name": name, "labels": {label: pool}}}


DENY_METADATA = {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
    {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}]}]}


def write_context(root, context, sas, pods, nodes, policies, aws_auth=None):
    """One context: the four lists (one page each) and, on EKS, aws-auth (None: 404)."""
    for op, path, items in [
        ("serviceaccounts.list", "/api/v1/serviceaccounts", sas),
        ("pods.list", "/api/v1/pods", pods),
        ("nodes.list", "/api/v1/nodes", nodes),
        ("networkpolicies.list", "/apis/networking.k8s.io/v1/networkpolicies", policies),
    ]:
        write_exchange(root, context, op, path, LIST, 200,
                       {"metadata": {"resourceVersion": "4242"}, "items": items})
    if aws_auth == "skip":
        return
    path = "/api/v1/namespaces/kube-system/configmaps/aws-auth"
    if aws_auth is None:
        write_exchange(root, context, "configmaps.get", path, {}, 404,
                       {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                        "message": 'configmaps "aws-auth" not found', "reason": "NotFound",
                        "code": 404})
    else:
        write_exchange(root, context, "configmaps.get", path, {}, 200,
                       {"metadata": {"name": "aws-auth", "namespace": "kube-system"},
                        "data": {"mapRoles": aws_auth}})


def scenario(root, description, contexts):
    if os.path.isdir(root):
        shutil.rmtree(root)
    os.makedirs(root)
    with open(os.path.join(root, "scenario.json"), "w") as f:
        json.dump({"description": description,
                   "recorded_with": "hand-written (mocks/kube/make_scenarios.py)",
                   "contexts": contexts}, f, indent=2)
        f.write("\n")


def aws_insecure():
    root = os.path.join(HERE, "aws-insecure")
    acct = "123456789012"
    scenario(root,
             "The Kubernetes side of mocks/aws/insecure: prod-public (IMDSv1 pool `general`) runs "
             "payments, web and CI workloads, host-network daemons, and a namespace whose "
             "NetworkPolicy blocks the metadata address; its aws-auth maps the CI role (IRSA "
             "for ci/*) into system:masters; web/frontend names app-irsa, whose trust admits "
             "only payments/api. prod-private (hardened pool) is reached through a tunnel and "
             "named; staging (hop limit 2) denies all egress but to host-network pods.",
             [
                 # Both us-east-1 clusters report the same endpoint in this recording: the
                 # context is named, never guessed.
                 {"name": "prod-public",
                  "server": "https://fq60q3BrgsHH2CTxV0Iy.TPi.us-east-1.eks.amazonaws.com",
                  "cluster": f"arn:aws:eks:us-east-1:{acct}:cluster/prod-public"},
                 {"name": "prod-private-tunnel", "server": "https://127.0.0.1:8443",
                  "cluster": "prod-private"},
                 {"name": "staging",
                  "server": "https://FQ60Q3BRGSHH2CTXV0IY.TPI.us-west-2.eks.amazonaws.com:443/"},
             ])
    role = lambda n: f"arn:aws:iam::{acct}:role/{n}"
    irsa = lambda n: {"eks.amazonaws.com/role-arn": role(n)}
    ng = "eks.amazonaws.com/nodegroup"

    # prod-public: node group `general`, IMDSv1.
    n = ["ip-10-0-1-10.ec2.internal", "ip-10-0-1-11.ec2.internal"]
    pods = (deployment("payments", "api", "api", n, "7d9f8b6c5d")
            + deployment("web", "frontend", "frontend", n + [n[0]], "5c6d7e8f9a")
            + [pod("ci", "deployer-28871234-zq9xk", "deployer", n[1], ("Job", "deployer-28871234"),
                   labels={"job-name": "deployer-28871234"})]
            + daemonset("kube-system", "aws-node", "aws-node", n)
            + daemonset("kube-system", "kube-proxy", "kube-proxy", n)
            + deployment("restricted", "batch", "batch", n, "6b7c8d9e0f")
            + daemonset("restricted", "node-exporter", "node-exporter", [n[0]])
            + [pod("web", "migrate-x7k2p", "frontend", n[0], phase="Succeeded")])
    sas = [sa("payments", "api", irsa("app-irsa")),
           sa("web", "frontend", irsa("app-irsa")),
           sa("ci", "deployer", irsa("ci-deployer")),
           sa("ci", "default"),
           sa("kube-system", "aws-node"), sa("kube-system", "kube-proxy"),
           sa("restricted", "batch"), sa("restricted", "node-exporter")]
    policies = [{"metadata": meta("restricted", "deny-metadata"), "spec": DENY_METADATA},
                {"metadata": meta("web", "isolate-other"),
                 "spec": {"podSelector": {"matchLabels": {"app": "other"}},
                          "policyTypes": ["Egress"], "egress": []}}]
    aws_auth = (f"- rolearn: {role('eks-node-public')}\n"
                "  username: system:node:{{EC2PrivateDNSName}}\n"
                "  groups:\n    - system:bootstrappers\n    - system:nodes\n"
                f"- rolearn: {role('ci-deployer')}\n"
                "  username: ci-deployer\n"
                "  groups:\n    - system:masters\n")
    write_context(root, "prod-public", sas, pods, [node(x, ng, "general") for x in n], policies,
                  aws_auth)

    # prod-private: node group `system`, IMDSv2 with hop limit 1.
    n = ["ip-10-1-1-10.ec2.internal"]
    pods = (daemonset("kube-system", "aws-node", "aws-node", n)
            + daemonset("kube-system", "kube-proxy", "kube-proxy", n)
            + deployment("payments", "api", "api", n + n, "55c4b3a291"))
    sas = [sa("payments", "api", irsa("app-irsa")), sa("kube-system", "aws-node"),
           sa("kube-system", "kube-proxy")]
    aws_auth = (f"- rolearn: {role('eks-node-private')}\n"
                "  username: system:node:{{EC2PrivateDNSName}}\n"
                "  groups:\n    - system:bootstrappers\n    - system:nodes\n")
    write_context(root, "prod-private-tunnel", sas, pods, [node(x, ng, "system") for x in n], [],
                  aws_auth)

    # staging: node group `workers`, hop limit 2; every pod of `default` is denied egress.
    n = ["ip-10-2-1-10.us-west-2.compute.internal"]
    pods = (daemonset("kube-system", "aws-node", "aws-node", n)
            + deployment("default", "legacy-app", "default", n, "8f7e6d5c4b"))
    sas = [sa("default", "default"), sa("kube-system", "aws-node")]
    policies = [{"metadata": meta("default", "default-deny-egress"),
                 "spec": {"podSelector": {}, "policyTypes": ["Egress"]}}]
    write_context(root, "staging", sas, pods, [node(x, ng, "workers") for x in n], policies,
                  None)


def gke_insecure():
    root = os.path.join(HERE, "gke-insecure")
    scenario(root,
             "The Kubernetes side of mocks/gcp/insecure cluster staging-wi (matched by its "
             "endpoint): pool `legacy` (GCE_METADATA) runs billing and batch workloads, batch's "
             "NetworkPolicy blocks the metadata address; pool `apps` (GKE_METADATA) runs "
             "payments; batch/worker is annotated with the payments service account, which "
             "does not admit it; the payments trust admits billing/* where only "
             "billing/invoicer uses it.",
             [{"name": "gke_acme-insecure_europe-west1-b_staging-wi",
               "server": "https://35.205.1.2"}])
    gsa = {"iam.gke.io/gcp-service-account": "payments@acme-insecure.iam.gserviceaccount.com"}
    label = "cloud.google.com/gke-nodepool"
    apps = ["gke-staging-wi-apps-5f1c2d3e-a1b2"]
    legacy = ["gke-staging-wi-legacy-9a8b7c6d-c3d4"]
    pods = (deployment("payments", "api", "api", apps + apps, "6c5b4a3928")
            + deployment("billing", "invoicer", "invoicer", legacy, "7b6a594837")
            + deployment("batch", "worker", "worker", legacy, "4d3c2b1a09")
            + deployment("batch", "runner", "runner", apps, "3c2b1a0918")
            + daemonset("kube-system", "fluentbit-gke", "fluentbit-gke", apps + legacy)
            + [pod("kube-system", f"kube-proxy-{x}", "default", x, ("Node", x), host=True)
               for x in apps + legacy])
    sas = [sa("payments", "api", gsa), sa("billing", "invoicer", gsa), sa("batch", "worker", gsa),
           sa("batch", "runner"), sa("kube-system", "fluentbit-gke"), sa("kube-system", "default")]
    policies = [{"metadata": meta("batch", "deny-metadata"), "spec": DENY_METADATA}]
    write_context(root, "gke_acme-insecure_europe-west1-b_staging-wi", sas, pods,
                  [node(x, label, "apps") for x in apps]
                  + [node(x, label, "legacy") for x in legacy], policies, "skip")


if __name__ == "__main__":
    aws_insecure()
    gke_insecure()
