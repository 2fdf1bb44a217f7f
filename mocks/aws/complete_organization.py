#!/usr/bin/env python3
"""Edits a recording of `cloudscan aws --organization` on moto (mocks/aws/record-organization.sh)
into the bundled `mocks/aws/organization` scenario, adding what moto cannot produce:

1. the `sandbox` member's AssumeRole is denied (moto assumes any role, existing or not): its
   recorded answer becomes AWS's 403 AccessDenied, and its member recording is removed;
2. the `deny-iam-users` SCP's DescribePolicy answer carries content that is not a policy, as a
   broken or truncated answer would.

Usage: complete_organization.py RECORDING MANIFEST
"""

import json
import pathlib
import shutil
import sys

ACCESS_DENIED = (
    '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
    "<Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/moto is not authorized "
    "to perform: sts:AssumeRole on resource: arn:aws:iam::{account}:role/cloudscan-scan</Message>"
    "</Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
)


def main():
    out = pathlib.Path(sys.argv[1])
    manifest = json.loads(pathlib.Path(sys.argv[2]).read_text())
    sandbox = manifest["accounts"]["sandbox"]
    broken_policy = manifest["policies"]["deny-iam-users"]
    denied = edited = 0
    for f in sorted((out / "exchanges").rglob("*.json")):
        ex = json.loads(f.read_text())
        req = ex["request"]
        if req["operation"] == "AssumeRole" and f":{sandbox}:" in req["params"].get("RoleArn", ""):
            ex["responses"] = [
                {
                    "status": 403,
                    "headers": {"content-type": "text/xml"},
                    "body": ACCESS_DENIED.format(account=sandbox),
                }
            ]
            denied += 1
        elif req["operation"] == "DescribePolicy" and (req.get("body") or {}).get("PolicyId") == broken_policy:
            response = ex["responses"][0]
            # moto answers JSON as text/html, so the recorder kept it as `body` text.
            answer = response["json"] if "json" in response else json.loads(response["body"])
            answer["Policy"]["Content"] = '{"Version": "2012-10-17", "Statement": [ truncated'
            if "json" in response:
                response["json"] = answer
            else:
                response["body"] = json.dumps(answer)
            edited += 1
        else:
            continue
        f.write_text(json.dumps(ex, indent=2) + "\n")
    if denied != 1 or edited != 1:
        sys.exit(f"expected one AssumeRole of {sandbox} and one DescribePolicy of {broken_policy}; edited {denied} and {edited}")
    shutil.rmtree(out / "accounts" / sandbox)
    scenario = out / "scenario.json"
    s = json.loads(scenario.read_text())
    s["description"] = (
        "An AWS organization (management + prod, shared, sandbox, a suspended member) recorded from moto; "
        "sandbox's member role cannot be assumed and one SCP's content is broken (see mocks/README.md)"
    )
    scenario.write_text(json.dumps(s, indent=2) + "\n")


if __name__ == "__main__":
    main()
