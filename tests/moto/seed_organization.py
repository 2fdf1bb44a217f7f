#!/usr/bin/env python3
"""Seed a moto server with an AWS organization for the cloudscan organization-scan tests.

Usage: seed_organization.py --endpoint http://127.0.0.1:PORT [--manifest FILE]

The caller (moto's default account 123456789012) becomes the management account of a new
organization with SCPs and RCPs enabled:

    Root (r-...)
    +-- 123456789012 management
    +-- OU Workloads          RCP deny-external-s3 (besides RCPFullAWSAccess)
    |   +-- prod              node role eks-node (may assume shared/admin), EKS cluster prod,
    |   |                     bucket prod-data (policy: shared/admin may s3:GetObject), KMS key
    |   +-- shared            role admin (trusts prod/eks-node; AdministratorAccess),
    |   |                     secret shared/db with a resource policy, account Block Public Access
    |   +-- OU Restricted     SCP deny-iam-users (besides FullAWSAccess)
    |       +-- sandbox
    +-- closed                closed with CloseAccount: SUSPENDED, cannot be scanned

Every member gets the member role `cloudscan-scan` (trusting the management account). moto does
not check that a role exists when it is assumed, nor trust policies: the role is created for
realism only. `--manifest` writes {"organization": id, "accounts": {name: id}, "ous": {name: id},
"policies": {name: id}, ...}.

Credentials are moto's dummy `testing` pair; nothing secret is printed or written.
"""

import argparse
import json
import re

import boto3
from botocore.config import Config

MANAGEMENT = "123456789012"
REGION = "us-east-1"
MEMBER_ROLE = "cloudscan-scan"


def client(endpoint, service, creds=None, region=REGION):
    kwargs = dict(
        endpoint_url=endpoint,
        region_name=region,
        config=Config(retries={"max_attempts": 2}),
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    if creds:
        kwargs.update(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    if service == "s3":
        kwargs["config"] = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2})
    made = boto3.client(service, **kwargs)
    if service == "s3control":
        # The endpoint rules put the account id in front of the host: no such host on loopback.
        def strip_account_label(request, **_):
            request.url = re.sub(r"^(https?://)[0-9]{12}\.", r"\1", request.url)

        made.meta.events.register("before-send", strip_account_label)
    return made


def doc(statements):
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--manifest")
    args = parser.parse_args()
    ep = args.endpoint

    org = client(ep, "organizations")
    org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root = org.list_roots()["Roots"][0]["Id"]
    for kind in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
        org.enable_policy_type(RootId=root, PolicyType=kind)
    workloads = org.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
    restricted = org.create_organizational_unit(ParentId=workloads, Name="Restricted")["OrganizationalUnit"]["Id"]

    accounts = {"management": MANAGEMENT}
    for name, parent in (("prod", workloads), ("shared", workloads), ("sandbox", restricted), ("closed", root)):
        status = org.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
        accounts[name] = status["AccountId"]
        if parent != root:
            org.move_account(AccountId=status["AccountId"], SourceParentId=root, DestinationParentId=parent)
    org.close_account(AccountId=accounts["closed"])

    scp = org.create_policy(
        Name="deny-iam-users",
        Description="No IAM users in the sandbox",
        Type="SERVICE_CONTROL_POLICY",
        Content=doc([{"Effect": "Deny", "Action": ["iam:CreateUser", "iam:CreateAccessKey"], "Resource": "*"}]),
    )["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=scp, TargetId=restricted)
    rcp = org.create_policy(
        Name="deny-external-s3",
        Description="Only principals of the organization reach its buckets",
        Type="RESOURCE_CONTROL_POLICY",
        Content=doc([
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                # The organization's own id: its principals keep access, everyone else is denied.
                "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": org_id}},
            }
        ]),
    )["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=rcp, TargetId=workloads)

    sts = client(ep, "sts")
    creds = {}
    for name in ("prod", "shared", "sandbox"):
        account = accounts[name]
        creds[name] = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
            RoleSessionName="seed",
        )["Credentials"]
        iam = client(ep, "iam", creds[name])
        iam.create_role(
            RoleName=MEMBER_ROLE,
            AssumeRolePolicyDocument=doc(
                [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{MANAGEMENT}:root"}, "Action": "sts:AssumeRole"}]
            ),
        )
        iam.attach_role_policy(RoleName=MEMBER_ROLE, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")

    prod, shared = accounts["prod"], accounts["shared"]
    admin_arn = f"arn:aws:iam::{shared}:role/admin"
    node_arn = f"arn:aws:iam::{prod}:role/eks-node"

    # prod: a node role that may assume shared/admin, its EKS cluster, a bucket, a key.
    iam = client(ep, "iam", creds["prod"])
    iam.create_role(
        RoleName="eks-node",
        AssumeRolePolicyDocument=doc(
            [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]
        ),
    )
    iam.attach_role_policy(RoleName="eks-node", PolicyArn="arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy")
    iam.put_role_policy(
        RoleName="eks-node",
        PolicyName="assume-shared-admin",
        PolicyDocument=doc([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": admin_arn}]),
    )
    iam.create_instance_profile(InstanceProfileName="eks-node")
    iam.add_role_to_instance_profile(InstanceProfileName="eks-node", RoleName="eks-node")
    iam.create_role(
        RoleName="eks-cluster",
        AssumeRolePolicyDocument=doc(
            [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]
        ),
    )
    eks = client(ep, "eks", creds["prod"])
    eks.create_cluster(
        name="prod",
        roleArn=f"arn:aws:iam::{prod}:role/eks-cluster",
        resourcesVpcConfig={
            "subnetIds": ["subnet-00000001"],
            "endpointPublicAccess": False,
            "endpointPrivateAccess": True,
        },
    )
    eks.create_nodegroup(
        clusterName="prod",
        nodegroupName="general",
        nodeRole=node_arn,
        subnets=["subnet-00000001"],
    )
    s3 = client(ep, "s3", creds["prod"])
    bucket = f"prod-data-{prod}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=doc(
            [
                {
                    "Sid": "SharedAdminReads",
                    "Effect": "Allow",
                    "Principal": {"AWS": admin_arn},
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ]
        ),
    )
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": False,
        },
    )
    s3.create_bucket(Bucket=f"prod-logs-{prod}")
    kms = client(ep, "kms", creds["prod"])
    key = kms.create_key(
        Description="prod data",
        Policy=doc(
            [
                {"Sid": "Owner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{prod}:root"}, "Action": "kms:*", "Resource": "*"},
                {"Sid": "SharedAdminDecrypts", "Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "kms:Decrypt", "Resource": "*"},
            ]
        ),
    )["KeyMetadata"]["KeyId"]

    # shared: the admin role the node role can reach, a secret with a resource policy, account BPA.
    iam = client(ep, "iam", creds["shared"])
    iam.create_role(
        RoleName="admin",
        AssumeRolePolicyDocument=doc([{"Effect": "Allow", "Principal": {"AWS": node_arn}, "Action": "sts:AssumeRole"}]),
    )
    iam.attach_role_policy(RoleName="admin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    sm = client(ep, "secretsmanager", creds["shared"])
    secret = sm.create_secret(Name="shared/db", SecretString="not-a-real-secret")["ARN"]
    sm.put_resource_policy(
        SecretId=secret,
        ResourcePolicy=doc(
            [{"Effect": "Allow", "Principal": {"AWS": node_arn}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]
        ),
    )
    s3control = client(ep, "s3control", creds["shared"])
    s3control.put_public_access_block(
        AccountId=shared,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )

    manifest = {
        "organization": org_id,
        "accounts": accounts,
        "ous": {"Root": root, "Workloads": workloads, "Restricted": restricted},
        "policies": {"deny-iam-users": scp, "deny-external-s3": rcp},
        "bucket": bucket,
        "key": key,
        "secret": secret,
    }
    if args.manifest:
        with open(args.manifest, "w") as f:
            json.dump(manifest, f, indent=2)
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
