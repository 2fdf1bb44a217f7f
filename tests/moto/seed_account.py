#!/usr/bin/env python3
"""Seed a moto server with a realistic EKS account for the cloudscan end-to-end tests.

Usage: seed_account.py --endpoint http://127.0.0.1:PORT [--scenario insecure|hardened] [--manifest FILE]

`insecure` (the default, used by the end-to-end tests) is an account where the AWS rules fire;
`hardened` is the same account with every finding fixed. mocks/aws/record-scenario.sh records both
into the bundled replay scenarios.

What it creates is listed in tests/moto/README.md; the findings a correct scan reports are in
tests/moto/expected-findings.json. Names are deterministic; moto's ids (instances, volumes,
launch templates, keys) are random on every server start, so `--manifest` writes a JSON map from
each generated id to the deterministic name the seed gave it, and the tests compare by name.

The script is not idempotent on purpose: run against an already seeded server it stops with an
error instead of creating a second copy of everything.

Credentials are moto's dummy `testing` pair; nothing secret is printed or written.
"""

import argparse
import json
import sys

import boto3
from botocore.config import Config

ACCOUNT = "123456789012"
PRIMARY = "us-east-1"
SECONDARY = "us-west-2"
REGIONS = (PRIMARY, SECONDARY)
TRAIL_BUCKET = "cloudscan-e2e-trail-us-east-1"

NODE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
CLUSTER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "eks.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
NODE_MANAGED_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
)
NODE_EXTRA = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
        {
            "Sid": "LaunchBuildAgents",
            "Effect": "Allow",
            "Action": ["iam:PassRole", "ec2:RunInstances"],
            "Resource": "*",
        },
    ],
}
# app-secrets v1 (no longer the default) is broader than v2 (the default): a scanner that reads
# the wrong version sees GetSecretValue on every secret.
APP_SECRETS_V1 = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
    ],
}
APP_SECRETS_V2 = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:payments/*",
        }
    ],
}
ALL_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
# EKS Pod Identity: the role trusts the pods.eks.amazonaws.com service, scoped by the session
# tags EKS sets (cluster, namespace, service account).
POD_IDENTITY_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {
                "StringEquals": {
                    "aws:RequestTag/kubernetes-namespace": "payments",
                    "aws:RequestTag/kubernetes-service-account": "api",
                }
            },
        }
    ],
}


class Seeder:
    def __init__(self, endpoint, scenario="insecure"):
        self.endpoint = endpoint
        self.hardened = scenario == "hardened"
        self.config = Config(retries={"max_attempts": 2, "mode": "standard"})
        self.ids = {}  # generated id -> deterministic name
        self.created = []  # human-readable summary lines

    def client(self, service, region=PRIMARY):
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=self.config,
        )

    def note(self, line):
        self.created.append(line)

    # ------------------------------------------------------------------ guards

    def refuse_if_seeded(self):
        eks = self.client("eks")
        iam = self.client("iam")
        existing = eks.list_clusters()["clusters"]
        roles = [r["RoleName"] for r in iam.list_roles()["Roles"]]
        if existing or "eks-node-public" in roles:
            sys.exit(
                f"seed_account.py: {self.endpoint} is already seeded "
                f"(clusters {existing}, roles {roles}); start a fresh moto server"
            )

    # -------------------------------------------------------------------- IAM

    def node_role(self, name, inline=None):
        iam = self.client("iam")
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(NODE_TRUST),
            Description=f"EKS node role {name}",
            Tags=[{"Key": "team", "Value": "platform"}],
        )["Role"]
        # moto counts a repeated attach twice (AttachmentCount); attach only what is missing.
        attached = {
            p["PolicyArn"]
            for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        }
        for arn in NODE_MANAGED_POLICIES:
            if arn not in attached:
                iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        if inline:
            policy_name, document = inline
            iam.put_role_policy(
                RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
            )
        iam.create_instance_profile(InstanceProfileName=name)
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
        self.note(
            f"iam role + instance profile {name}"
            + (f" (inline {inline[0]})" if inline else "")
        )
        return role["Arn"]

    def cluster_role(self):
        iam = self.client("iam")
        role = iam.create_role(
            RoleName="eks-cluster",
            AssumeRolePolicyDocument=json.dumps(CLUSTER_TRUST),
            Description="EKS cluster service role",
        )["Role"]
        iam.attach_role_policy(
            RoleName="eks-cluster",
            PolicyArn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
        )
        self.note("iam role eks-cluster")
        return role["Arn"]

    def irsa(self, issuer_url):
        """OIDC provider for the issuer, role app-irsa trusting payments/api, policy app-secrets."""
        iam = self.client("iam")
        host_path = issuer_url.removeprefix("https://")
        provider_arn = iam.create_open_id_connect_provider(
            Url=issuer_url,
            ClientIDList=["sts.amazonaws.com"],
            ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
        )["OpenIDConnectProviderArn"]
        expected = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host_path}"
        if provider_arn != expected:
            sys.exit(f"unexpected OIDC provider ARN {provider_arn} (wanted {expected})")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{host_path}:sub": "system:serviceaccount:payments:api",
                            f"{host_path}:aud": "sts.amazonaws.com",
                        }
                    },
                }
            ],
        }
        iam.create_role(
            RoleName="app-irsa",
            AssumeRolePolicyDocument=json.dumps(trust),
            Description="IRSA role for payments/api on prod-public",
        )
        policy_arn = iam.create_policy(
            PolicyName="app-secrets",
            PolicyDocument=json.dumps(APP_SECRETS_V1),
            Description="payments secrets",
        )["Policy"]["Arn"]
        v2 = iam.create_policy_version(
            PolicyArn=policy_arn,
            PolicyDocument=json.dumps(APP_SECRETS_V2),
            SetAsDefault=True,
        )["PolicyVersion"]["VersionId"]
        default = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
        if default != v2:
            sys.exit(f"app-secrets default version is {default}, wanted {v2}")
        iam.attach_role_policy(RoleName="app-irsa", PolicyArn=policy_arn)
        if not self.hardened:
            # A CI role any service account of namespace `ci` can assume, with no audience check,
            # holding AdministratorAccess.
            loose = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": provider_arn},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {
                            "StringLike": {f"{host_path}:sub": "system:serviceaccount:ci:*"}
                        },
                    }
                ],
            }
            iam.create_role(
                RoleName="ci-deployer",
                AssumeRolePolicyDocument=json.dumps(loose),
                Description="IRSA role for CI deployers",
            )
            iam.attach_role_policy(
                RoleName="ci-deployer",
                PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess",
            )
            self.note("iam role ci-deployer (trust ci:* without aud, AdministratorAccess)")
        self.note(f"iam oidc provider {host_path}")
        self.note(f"iam role app-irsa (trust payments/api) + policy app-secrets (default {v2})")

    def pod_identity_role(self):
        iam = self.client("iam")
        iam.create_role(
            RoleName="app-pod-identity",
            AssumeRolePolicyDocument=json.dumps(POD_IDENTITY_TRUST),
            Description="EKS Pod Identity role for payments/api",
        )
        iam.put_role_policy(
            RoleName="app-pod-identity",
            PolicyName="payments-secrets",
            PolicyDocument=json.dumps(APP_SECRETS_V2),
        )
        self.note("iam role app-pod-identity (trust pods.eks.amazonaws.com, session-tag scoped)")

    # -------------------------------------------------------------------- KMS

    def kms_key(self, region, alias, disabled=False):
        kms = self.client("kms", region)
        meta = kms.create_key(
            Description=f"{alias} ({region})",
            KeyUsage="ENCRYPT_DECRYPT",
            KeySpec="SYMMETRIC_DEFAULT",
        )["KeyMetadata"]
        kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
        if disabled:
            kms.disable_key(KeyId=meta["KeyId"])
        state = kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["KeyState"]
        want = "Disabled" if disabled else "Enabled"
        if state != want:
            sys.exit(f"kms {alias} in {region} is {state}, wanted {want}")
        self.ids[meta["KeyId"]] = f"{region}/{alias}"
        self.note(f"kms {alias} in {region} ({state.lower()})")
        return meta["Arn"]

    # -------------------------------------------------------------------- EC2

    def default_subnets(self, region):
        ec2 = self.client("ec2", region)
        subnets = ec2.describe_subnets(
            Filters=[{"Name": "default-for-az", "Values": ["true"]}]
        )["Subnets"]
        subnets.sort(key=lambda s: s["AvailabilityZone"])
        if len(subnets) < 2:
            sys.exit(f"moto has fewer than 2 default subnets in {region}")
        return [s["SubnetId"] for s in subnets[:2]]

    def register_ami(self, region):
        ec2 = self.client("ec2", region)
        image_id = ec2.register_image(
            Name=f"amazon-eks-node-al2023-x86_64-{region}",
            Description="EKS optimized node image (cloudscan e2e)",
            Architecture="x86_64",
            RootDeviceName="/dev/xvda",
            VirtualizationType="hvm",
            BlockDeviceMappings=[
                {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 20, "VolumeType": "gp3"}}
            ],
        )["ImageId"]
        self.ids[image_id] = f"{region}/ami-eks-node"
        self.note(f"ec2 ami amazon-eks-node-al2023-x86_64-{region}")
        return image_id

    def launch_template(self, region, name, tokens, hops, encrypted_root=None):
        ec2 = self.client("ec2", region)
        data = {
            "InstanceType": "m6i.large",
            "MetadataOptions": {
                "HttpTokens": tokens,
                "HttpPutResponseHopLimit": hops,
                "HttpEndpoint": "enabled",
            },
        }
        if encrypted_root is not None:
            data["BlockDeviceMappings"] = [
                {
                    "DeviceName": "/dev/xvda",
                    "Ebs": {"VolumeSize": 20, "VolumeType": "gp3", "Encrypted": encrypted_root},
                }
            ]
        lt = ec2.create_launch_template(
            LaunchTemplateName=name,
            LaunchTemplateData=data,
            TagSpecifications=[
                {"ResourceType": "launch-template", "Tags": [{"Key": "Name", "Value": name}]}
            ],
        )["LaunchTemplate"]
        self.ids[lt["LaunchTemplateId"]] = name
        self.note(f"ec2 launch template {name} in {region} (HttpTokens={tokens}, hops={hops})")
        return lt

    def instance(
        self,
        region,
        name,
        image_id,
        subnet,
        tokens,
        hops,
        encrypted,
        profile=None,
        cluster=None,
        nodegroup=None,
    ):
        ec2 = self.client("ec2", region)
        tags = [{"Key": "Name", "Value": name}]
        if cluster:
            tags += [
                {"Key": "eks:cluster-name", "Value": cluster},
                {"Key": "kubernetes.io/cluster/" + cluster, "Value": "owned"},
            ]
        if nodegroup:
            tags.append({"Key": "eks:nodegroup-name", "Value": nodegroup})
        ebs = {"VolumeSize": 20, "VolumeType": "gp3", "DeleteOnTermination": True}
        if encrypted is not None:
            ebs["Encrypted"] = encrypted
        args = dict(
            ImageId=image_id,
            InstanceType="m6i.large",
            MinCount=1,
            MaxCount=1,
            SubnetId=subnet,
            MetadataOptions={
                "HttpTokens": tokens,
                "HttpPutResponseHopLimit": hops,
                "HttpEndpoint": "enabled",
            },
            BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": ebs}],
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": tags},
                {"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": name + "-root"}]},
            ],
        )
        if profile:
            args["IamInstanceProfile"] = {"Name": profile}
        inst = ec2.run_instances(**args)["Instances"][0]
        self.ids[inst["InstanceId"]] = name
        volumes = ec2.describe_volumes(
            Filters=[{"Name": "attachment.instance-id", "Values": [inst["InstanceId"]]}]
        )["Volumes"]
        if len(volumes) != 1:
            sys.exit(
                f"instance {name} has {len(volumes)} volumes, wanted 1 "
                f"({[v['Attachments'][0]['Device'] for v in volumes]})"
            )
        self.ids[volumes[0]["VolumeId"]] = name + "-root"
        state = "encrypted" if volumes[0]["Encrypted"] else "unencrypted"
        self.note(
            f"ec2 instance {name} in {region} (HttpTokens={tokens}, hops={hops}, "
            f"{state} root, profile {profile or '-'})"
        )
        return inst

    # -------------------------------------------------------------------- EKS

    def cluster(self, region, name, role_arn, subnets, vpc, encryption_key=None, logging=None):
        eks = self.client("eks", region)
        args = dict(
            name=name,
            version="1.31",
            roleArn=role_arn,
            resourcesVpcConfig=dict(subnetIds=subnets, **vpc),
            tags={"env": name.split("-")[0]},
        )
        if encryption_key:
            args["encryptionConfig"] = [
                {"resources": ["secrets"], "provider": {"keyArn": encryption_key}}
            ]
        if logging is not None:
            enabled = [t for t in ALL_LOG_TYPES if t in logging]
            disabled = [t for t in ALL_LOG_TYPES if t not in logging]
            args["logging"] = {
                "clusterLogging": [
                    {"types": enabled, "enabled": True},
                    {"types": disabled, "enabled": False},
                ]
            }
        cluster = eks.create_cluster(**args)["cluster"]
        self.note(f"eks cluster {name} in {region}")
        return cluster

    def nodegroup(self, region, cluster, name, role_arn, subnets, launch_template=None):
        eks = self.client("eks", region)
        args = dict(
            clusterName=cluster,
            nodegroupName=name,
            nodeRole=role_arn,
            subnets=subnets,
            scalingConfig={"minSize": 1, "maxSize": 3, "desiredSize": 2},
            labels={"pool": name},
        )
        if launch_template:
            args["launchTemplate"] = {
                "id": launch_template["LaunchTemplateId"],
                "version": str(launch_template["LatestVersionNumber"]),
            }
        else:
            args["instanceTypes"] = ["m6i.large"]
            args["diskSize"] = 20
        eks.create_nodegroup(**args)
        self.note(
            f"eks nodegroup {cluster}/{name}"
            + (f" (launch template {launch_template['LaunchTemplateName']})" if launch_template else "")
        )

    # ------------------------------------------------------------- CloudTrail

    def trail(self):
        s3 = self.client("s3", PRIMARY)
        s3.create_bucket(Bucket=TRAIL_BUCKET)
        ct = self.client("cloudtrail", PRIMARY)
        multi = self.hardened
        name = "mgmt-all-regions" if multi else "mgmt-us-east-1"
        ct.create_trail(
            Name=name,
            S3BucketName=TRAIL_BUCKET,
            IsMultiRegionTrail=multi,
            IncludeGlobalServiceEvents=True,
            EnableLogFileValidation=True,
        )
        # Real CloudTrail gives a new trail the selector {All, management events}; moto returns
        # no selectors at all unless they are put explicitly.
        ct.put_event_selectors(
            TrailName=name,
            EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}],
        )
        ct.start_logging(Name=name)
        kind = "multi-region" if multi else "single-region"
        self.note(f"cloudtrail {name} ({kind}, logging) -> s3://{TRAIL_BUCKET}")

    # ------------------------------------------------------------------ seed

    def run(self):
        self.refuse_if_seeded()
        h = self.hardened

        # IAM (global). First IAM call loads ~1,600 AWS-managed policies: a few seconds.
        cluster_role = self.cluster_role()
        public_role = self.node_role(
            "eks-node-public", inline=None if h else ("node-extra", NODE_EXTRA)
        )
        private_role = self.node_role("eks-node-private")
        self.pod_identity_role()

        # KMS
        secrets_key = self.kms_key(PRIMARY, "alias/eks-secrets")
        if h:
            legacy_key = self.kms_key(SECONDARY, "alias/eks-secrets")
        else:
            self.kms_key(PRIMARY, "alias/eks-secrets-old", disabled=True)
            legacy_key = self.kms_key(SECONDARY, "alias/eks-secrets-old", disabled=True)

        # EBS encryption by default: off in us-east-1 (moto's default), on in us-west-2 (on in
        # both when hardened). Set before launching instances, as in a real account.
        if h:
            self.client("ec2", PRIMARY).enable_ebs_encryption_by_default()
        else:
            self.client("ec2", PRIMARY).disable_ebs_encryption_by_default()
        self.client("ec2", SECONDARY).enable_ebs_encryption_by_default()
        self.note(f"ebs encryption by default: us-east-1 {'on' if h else 'off'}, us-west-2 on")

        subnets = {r: self.default_subnets(r) for r in REGIONS}
        amis = {r: self.register_ami(r) for r in REGIONS}

        # Launch templates for the managed node groups.
        if h:
            lt_public = self.launch_template(
                PRIMARY, "prod-public-general", "required", 1, encrypted_root=True
            )
        else:
            lt_public = self.launch_template(PRIMARY, "prod-public-general", "optional", 2)
        lt_private = self.launch_template(
            PRIMARY, "prod-private-system", "required", 1, encrypted_root=True
        )
        lt_legacy = (
            self.launch_template(
                SECONDARY, "staging-legacy-workers", "required", 1, encrypted_root=True
            )
            if h
            else None
        )

        # Clusters.
        private_only = dict(endpointPublicAccess=False, endpointPrivateAccess=True)
        public = self.cluster(
            PRIMARY,
            "prod-public",
            cluster_role,
            subnets[PRIMARY],
            private_only
            if h
            else dict(
                endpointPublicAccess=True,
                endpointPrivateAccess=False,
                publicAccessCidrs=["0.0.0.0/0"],
            ),
            encryption_key=secrets_key if h else None,
            logging=ALL_LOG_TYPES if h else None,
        )
        self.cluster(
            PRIMARY,
            "prod-private",
            cluster_role,
            subnets[PRIMARY],
            private_only,
            encryption_key=secrets_key,
            logging=["api", "audit", "authenticator"],
        )
        self.cluster(
            SECONDARY,
            "staging-legacy",
            cluster_role,
            subnets[SECONDARY],
            private_only
            if h
            else dict(
                endpointPublicAccess=True,
                endpointPrivateAccess=True,
                publicAccessCidrs=["203.0.113.0/24"],
            ),
            encryption_key=legacy_key,
            logging=["api", "audit"] if h else ["api"],
        )

        # IRSA for prod-public (moto gives every cluster of one server the same issuer).
        self.irsa(public["identity"]["oidc"]["issuer"])

        # Node groups.
        self.nodegroup(PRIMARY, "prod-public", "general", public_role, subnets[PRIMARY], lt_public)
        self.nodegroup(
            PRIMARY, "prod-private", "system", private_role, subnets[PRIMARY], lt_private
        )
        self.nodegroup(
            SECONDARY, "staging-legacy", "workers", public_role, subnets[SECONDARY], lt_legacy
        )

        # Nodes (moto does not start instances for node groups; launch them like EKS would).
        for n in (1, 2):
            self.instance(
                PRIMARY,
                f"prod-public-general-{n}",
                amis[PRIMARY],
                subnets[PRIMARY][n - 1],
                "required" if h else "optional",
                1 if h else 2,
                encrypted=h,
                profile="eks-node-public",
                cluster="prod-public",
                nodegroup="general",
            )
        self.instance(
            PRIMARY,
            "prod-private-system-1",
            amis[PRIMARY],
            subnets[PRIMARY][0],
            "required",
            1,
            encrypted=True,
            profile="eks-node-private",
            cluster="prod-private",
            nodegroup="system",
        )
        self.instance(
            SECONDARY,
            "staging-legacy-workers-1",
            amis[SECONDARY],
            subnets[SECONDARY][0],
            "required",
            1 if h else 2,
            encrypted=True,
            profile="eks-node-public",
            cluster="staging-legacy",
            nodegroup="workers",
        )
        # Not a cluster node: IMDSv1, unencrypted, no profile. Must not show up in cluster findings.
        self.instance(
            PRIMARY,
            "bastion",
            amis[PRIMARY],
            subnets[PRIMARY][0],
            "optional",
            1,
            encrypted=False,
        )

        self.trail()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="moto server URL, e.g. http://127.0.0.1:5000")
    parser.add_argument(
        "--manifest",
        help="write a JSON map {generated id: deterministic name} (instances, volumes, "
        "launch templates, AMIs, KMS keys) to this file",
    )
    parser.add_argument(
        "--scenario",
        choices=("insecure", "hardened"),
        default="insecure",
        help="insecure (default): the AWS rules fire; hardened: the same account, fixed",
    )
    args = parser.parse_args()

    seeder = Seeder(args.endpoint.rstrip("/"), args.scenario)
    seeder.run()
    if args.manifest:
        with open(args.manifest, "w", encoding="utf-8") as f:
            json.dump({"account": ACCOUNT, "names": seeder.ids}, f, indent=2, sort_keys=True)
            f.write("\n")
    print(f"seeded account {ACCOUNT} at {seeder.endpoint}:")
    for line in seeder.created:
        print("  " + line)


if __name__ == "__main__":
    main()
