#!/usr/bin/env python3
"""Make the inventory fixtures: raw AWS response bodies and what AWS CLI v1
prints for them.

    MOTO_URL=http://127.0.0.1:PORT python3 Tests/integration/inventory_fixtures/make_fixtures.py

It starts no AWS emulator: moto_server must already run at MOTO_URL (started
with MOTO_EC2_LOAD_DEFAULT_AMIS=false, on loopback). It never talks to a real
AWS endpoint: every client and every CLI run gets --endpoint-url, and fake
credentials (testing/testing) are forced.

1. builds a small estate in moto with boto3, in two regions (eu-west-1 and
   us-east-1): a VPC with subnets, an internet gateway, a NAT gateway, a
   transit gateway, security groups (one attached to nothing), instances of
   three types with tags (one stopped), volumes, snapshots, an AMI made from
   an instance, RDS instances (db.m5.large, db.t3.micro) and a DB snapshot,
   CloudWatch metric data and alarms on an instance; IAM users and groups, a
   role to assume, an organization with accounts;
2. for each operation of the inventory, runs the real AWS CLI (the `aws`
   entry point, in a child process) with a `before-parse` hook that saves the
   exact bytes the CLI parsed, and saves what it printed:
       <service>/<Operation>.raw        response body, byte for byte (page 2: .2.raw, ...)
       <service>/<Operation>.cli.json   stdout of `aws ... --output json`
   eu-west-1 goes to <service>/, the second region to <service>/us-east-1/.
   CloudWatch: botocore >= 1.37 speaks JSON to CloudWatch; cloudspool speaks
   query (XML), so the CLI is run with CloudWatch's own model restricted to
   "query" (AWS_DATA_PATH) for monitoring/<Op>.*, and as shipped for
   monitoring/<Op>.awsjson.*;
3. for LookupEvents (CloudTrail) and ListBackupJobs / ListRecoveryPointsByResource
   (Backup), which moto lacks, writes bodies shaped as the AWS API reference
   documents them (epoch-second timestamps, as those JSON APIs send them)
   and runs the real CLI against a loopback stub that replays them;
4. checks every pair: tools/reference_parse.py on the .raw must print the
   .cli.json byte for byte, and tools/shapes_interpreter.py (the generated
   shape table, interpreted as the Swift transform will) must give the same
   object; it also lints each body against the model (elements/keys botocore
   ignores, values that do not fit the member's type) and prints a table.
   index.json lists every fixture.

Options: --out DIR (default: this folder), --check-only (step 4 on existing files).
Exit 1 if any pair differs.
"""

import argparse
import contextlib
import copy
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tools"))

REGIONS = ("eu-west-1", "us-east-1")
PRIMARY = REGIONS[0]
ACCOUNT = "123456789012"  # moto's default account

# --------------------------------------------------------------------------
# the child: the real CLI with a hook that saves what it parsed
# --------------------------------------------------------------------------


def cli_child(prefix, aws_args):
    """Run `aws aws_args` in this process; save each response body the CLI
    parses as prefix.raw, prefix.2.raw, ... and its stdout as prefix.cli.json."""
    import awscli.clidriver

    bodies = []

    def before_parse(response_dict, **kwargs):
        bodies.append((response_dict["status_code"], response_dict["body"],
                       dict(response_dict["headers"])))

    driver = awscli.clidriver.create_clidriver()
    driver.session.register("before-parse", before_parse)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = driver.main(aws_args)
    for i, (status, body, headers) in enumerate(bodies):
        name = f"{prefix}.raw" if i == 0 else f"{prefix}.{i + 1}.raw"
        with open(name, "wb") as f:
            f.write(body)
    meta = {"rc": rc, "pages": [{"status": s, "contentType": h.get("Content-Type") or h.get("content-type")}
                                for s, _, h in bodies]}
    with open(f"{prefix}.cli.json", "wb") as f:
        f.write(out.getvalue().encode("utf-8"))
    with open(f"{prefix}.meta.tmp", "w") as f:
        json.dump(meta, f)
    return rc


def run_cli(prefix, aws_args, env):
    """Run the child in a fresh interpreter (as `aws` itself would run)."""
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    for old in [p for p in os.listdir(os.path.dirname(prefix))
                if p.startswith(os.path.basename(prefix) + ".")]:
        os.remove(os.path.join(os.path.dirname(prefix), old))
    cmd = [sys.executable, os.path.abspath(__file__), "--cli-child", prefix, "--"] + aws_args
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    meta_path = f"{prefix}.meta.tmp"
    meta = {"rc": p.returncode, "pages": []}
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        os.remove(meta_path)
    meta["stderr"] = p.stderr.strip()
    return meta


# --------------------------------------------------------------------------
# the estate
# --------------------------------------------------------------------------


def boto3_session():
    import boto3
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                         region_name=PRIMARY)


def build_estate(url):
    s = boto3_session()
    facts = {"regions": {}}
    for region in REGIONS:
        facts["regions"][region] = build_region(s, url, region, primary=(region == PRIMARY))
    iam = s.client("iam", endpoint_url=url, region_name="us-east-1")
    for g in ("admins", "developers", "auditors"):
        iam.create_group(GroupName=g, Path="/teams/")
    iam.create_user(UserName="alice", Path="/people/",
                    Tags=[{"Key": "team", "Value": "platform"}])
    iam.create_user(UserName="bob", Path="/people/")
    iam.create_user(UserName="ci-deployer", Path="/service/")
    iam.add_user_to_group(GroupName="admins", UserName="alice")
    iam.add_user_to_group(GroupName="developers", UserName="alice")
    iam.add_user_to_group(GroupName="developers", UserName="bob")
    iam.create_access_key(UserName="alice")
    iam.create_access_key(UserName="ci-deployer")
    iam.create_login_profile(UserName="alice", Password="not-a-secret-Passw0rd!")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="cloudspool-inventory", Path="/",
                           AssumeRolePolicyDocument=json.dumps(trust))
    facts["role_arn"] = role["Role"]["Arn"]
    org = s.client("organizations", endpoint_url=url, region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    for name in ("workloads-prod", "workloads-dev"):
        org.create_account(AccountName=name, Email=f"{name}@example.com")
    return facts


def build_region(s, url, region, primary):
    ec2 = s.client("ec2", endpoint_url=url, region_name=region)
    rds = s.client("rds", endpoint_url=url, region_name=region)
    cw = s.client("cloudwatch", endpoint_url=url, region_name=region)
    f = {}
    azs = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16" if primary else "10.30.0.0/16",
                         TagSpecifications=[{"ResourceType": "vpc", "Tags": [
                             {"Key": "Name", "Value": f"estate-{region}"}]}])["Vpc"]["VpcId"]
    pub = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24" if primary else "10.30.1.0/24",
                            AvailabilityZone=azs[0])["Subnet"]["SubnetId"]
    priv = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.2.0/24" if primary else "10.30.2.0/24",
                             AvailabilityZone=azs[1 % len(azs)])["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway(TagSpecifications=[{"ResourceType": "internet-gateway", "Tags": [
        {"Key": "Name", "Value": f"igw-{region}"}]}])["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.create_nat_gateway(SubnetId=pub, AllocationId=eip, TagSpecifications=[{
        "ResourceType": "natgateway", "Tags": [{"Key": "Name", "Value": f"nat-{region}"}]}])
    ec2.create_transit_gateway(Description=f"core transit {region}", Options={
        "AmazonSideAsn": 64512, "AutoAcceptSharedAttachments": "disable"},
        TagSpecifications=[{"ResourceType": "transit-gateway", "Tags": [
            {"Key": "Name", "Value": f"tgw-{region}"}]}])

    def sg(name, desc, tags):
        return ec2.create_security_group(GroupName=name, Description=desc, VpcId=vpc,
                                         TagSpecifications=[{"ResourceType": "security-group",
                                                             "Tags": tags}])["GroupId"]

    web = sg("web", "HTTP(S) from anywhere", [{"Key": "tier", "Value": "web"}])
    app = sg("app", "app servers", [{"Key": "tier", "Value": "app"}])
    db = sg("db", "databases", [{"Key": "tier", "Value": "db"}])
    sg("unused-legacy", "attached to nothing", [{"Key": "owner", "Value": "nobody"}])
    ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "https"}],
         "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.authorize_security_group_ingress(GroupId=app, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
         "UserIdGroupPairs": [{"GroupId": web, "Description": "from web"}]}])
    ec2.authorize_security_group_ingress(GroupId=db, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": app}]},
        {"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306, "UserIdGroupPairs": [{"GroupId": app}]}])

    ami_src = "ami-12c6146b"  # any id: moto accepts it with default AMIs off

    def run(itype, name, sgs, subnet, role, extra_tags=()):
        tags = [{"Key": "Name", "Value": name}, {"Key": "role", "Value": role},
                {"Key": "env", "Value": "prod" if primary else "dr"}] + list(extra_tags)
        r = ec2.run_instances(ImageId=ami_src, InstanceType=itype, MinCount=1, MaxCount=1,
                              SubnetId=subnet, SecurityGroupIds=sgs,
                              BlockDeviceMappings=[{"DeviceName": "/dev/xvda",
                                                    "Ebs": {"VolumeSize": 20, "VolumeType": "gp3"}}],
                              TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])
        return r["Instances"][0]["InstanceId"]

    if primary:
        w1 = run("t3.micro", "web-1", [web], pub, "web", [{"Key": "cost-center", "Value": "cc-42"}])
        run("t3.micro", "web-2", [web], pub, "web")
        a1 = run("m5.large", "app-1", [app], priv, "app")
        b1 = run("c5.xlarge", "batch-1", [app, db], priv, "batch")
        ec2.stop_instances(InstanceIds=[b1])
    else:
        w1 = run("t3.micro", "dr-web-1", [web], pub, "web")
        a1 = run("m5.large", "dr-app-1", [app], priv, "app")
    f["cpu_instance"] = w1
    img = ec2.create_image(InstanceId=a1, Name=f"app-golden-{region}", Description="app server image",
                           TagSpecifications=[{"ResourceType": "image", "Tags": [
                               {"Key": "built-by", "Value": "packer"}]}])["ImageId"]
    f["image"] = img
    data = ec2.create_volume(AvailabilityZone=azs[0], Size=100, VolumeType="gp3", Iops=3000,
                             Encrypted=True, TagSpecifications=[{"ResourceType": "volume", "Tags": [
                                 {"Key": "Name", "Value": "app-data"}]}])["VolumeId"]
    ec2.attach_volume(VolumeId=data, InstanceId=a1, Device="/dev/sdf")
    ec2.create_volume(AvailabilityZone=azs[0], Size=8, VolumeType="gp2",
                      TagSpecifications=[{"ResourceType": "volume", "Tags": [
                          {"Key": "Name", "Value": "orphan"}]}])
    ec2.create_snapshot(VolumeId=data, Description="nightly app-data",
                        TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
                            {"Key": "schedule", "Value": "nightly"}]}])
    f["volume"] = data

    rds.create_db_subnet_group(DBSubnetGroupName="estate", DBSubnetGroupDescription="estate",
                               SubnetIds=[pub, priv])
    big = rds.create_db_instance(DBInstanceIdentifier="orders-db" if primary else "dr-orders-db",
                                 DBInstanceClass="db.m5.large", Engine="postgres",
                                 EngineVersion="15.4", AllocatedStorage=100, StorageType="gp3",
                                 MasterUsername="dbadmin", MasterUserPassword="not-a-secret-1",
                                 DBSubnetGroupName="estate", VpcSecurityGroupIds=[db],
                                 MultiAZ=primary, StorageEncrypted=True, BackupRetentionPeriod=7,
                                 Tags=[{"Key": "app", "Value": "orders"}])
    if primary:
        rds.create_db_instance(DBInstanceIdentifier="reports-db", DBInstanceClass="db.t3.micro",
                               Engine="mysql", EngineVersion="8.0.35", AllocatedStorage=20,
                               MasterUsername="dbadmin", MasterUserPassword="not-a-secret-2",
                               DBSubnetGroupName="estate", VpcSecurityGroupIds=[db],
                               PubliclyAccessible=False, Tags=[{"Key": "app", "Value": "reports"}])
        rds.create_db_snapshot(DBSnapshotIdentifier="orders-db-manual-1",
                               DBInstanceIdentifier=big["DBInstance"]["DBInstanceIdentifier"],
                               Tags=[{"Key": "reason", "Value": "before-upgrade"}])

    dims = [{"Name": "InstanceId", "Value": w1}]
    now = time.time()
    cw.put_metric_data(Namespace="AWS/EC2", MetricData=[
        {"MetricName": "CPUUtilization", "Dimensions": dims, "Value": v, "Unit": "Percent",
         "Timestamp": now - 60 * i} for i, v in enumerate((12.5, 48.0, 91.25))])
    cw.put_metric_data(Namespace="AWS/EC2", MetricData=[
        {"MetricName": "StatusCheckFailed", "Dimensions": dims, "Value": 0.0, "Unit": "Count"}])
    topic = f"arn:aws:sns:{region}:{ACCOUNT}:ops-alerts"
    cw.put_metric_alarm(AlarmName=f"{w1}-cpu-high", AlarmDescription="CPU above 80% for 10 minutes",
                        ActionsEnabled=True, AlarmActions=[topic], OKActions=[topic],
                        MetricName="CPUUtilization", Namespace="AWS/EC2", Statistic="Average",
                        Dimensions=dims, Period=300, EvaluationPeriods=2, DatapointsToAlarm=2,
                        Threshold=80.0, ComparisonOperator="GreaterThanThreshold",
                        TreatMissingData="missing", Unit="Percent")
    if primary:
        cw.put_metric_alarm(AlarmName=f"{w1}-status-check", ActionsEnabled=False,
                            MetricName="StatusCheckFailed", Namespace="AWS/EC2", Statistic="Maximum",
                            Dimensions=dims, Period=60, EvaluationPeriods=3, Threshold=0.5,
                            ComparisonOperator="GreaterThanOrEqualToThreshold",
                            TreatMissingData="breaching")
    return f


# --------------------------------------------------------------------------
# which calls
# --------------------------------------------------------------------------


def calls(facts):
    """(service dir, Operation, region, aws CLI arguments, variant)."""
    out = []
    for region in REGIONS:
        sub = "" if region == PRIMARY else region
        ec2 = [
            ("DescribeInstances", ["ec2", "describe-instances"]),
            ("DescribeInstanceTypes", ["ec2", "describe-instance-types",
                                       "--instance-types", "t3.micro", "m5.large", "c5.xlarge"]),
            ("DescribeImages", ["ec2", "describe-images", "--owners", "self"]),
            ("DescribeSnapshots", ["ec2", "describe-snapshots", "--owner-ids", "self"]),
            ("DescribeVolumes", ["ec2", "describe-volumes"]),
            ("DescribeSecurityGroups", ["ec2", "describe-security-groups"]),
            ("DescribeNetworkInterfaces", ["ec2", "describe-network-interfaces"]),
            ("DescribeInternetGateways", ["ec2", "describe-internet-gateways"]),
            ("DescribeNatGateways", ["ec2", "describe-nat-gateways"]),
            ("DescribeTransitGateways", ["ec2", "describe-transit-gateways"]),
            ("DescribeTags", ["ec2", "describe-tags"]),
        ]
        if region == PRIMARY:
            ec2.append(("DescribeRegions", ["ec2", "describe-regions"]))
        for op, args in ec2:
            out.append(("ec2", sub, op, region, args, "query"))
        for op, args in [("DescribeDBInstances", ["rds", "describe-db-instances"]),
                         ("DescribeDBSnapshots", ["rds", "describe-db-snapshots"])]:
            out.append(("rds", sub, op, region, args, "query"))
        for op, args in [("DescribeAlarms", ["cloudwatch", "describe-alarms"]),
                         ("ListMetrics", ["cloudwatch", "list-metrics"])]:
            out.append(("monitoring", sub, op, region, args, "query"))
            if region == PRIMARY:
                out.append(("monitoring", sub, op, region, args, "awsjson"))
    g = "us-east-1"
    out += [
        ("sts", "", "GetCallerIdentity", g, ["sts", "get-caller-identity"], "query"),
        ("sts", "", "AssumeRole", g, ["sts", "assume-role", "--role-arn", facts.get(
            "role_arn", f"arn:aws:iam::{ACCOUNT}:role/cloudspool-inventory"),
            "--role-session-name", "cloudspool-inventory", "--duration-seconds", "900"], "query"),
        ("iam", "", "ListUsers", g, ["iam", "list-users"], "query"),
        ("iam", "", "ListGroupsForUser", g, ["iam", "list-groups-for-user", "--user-name", "alice"], "query"),
        ("iam", "", "GenerateCredentialReport", g, ["iam", "generate-credential-report"], "query"),
        ("iam", "", "GetCredentialReport", g, ["iam", "get-credential-report"], "query"),
        ("organizations", "", "ListAccounts", g, ["organizations", "list-accounts"], "query"),
        ("cloudtrail", "", "LookupEvents", PRIMARY, ["cloudtrail", "lookup-events"], "query"),
        ("backup", "", "ListBackupJobs", PRIMARY, ["backup", "list-backup-jobs"], "query"),
        ("backup", "", "ListRecoveryPointsByResource", PRIMARY, [
            "backup", "list-recovery-points-by-resource", "--resource-arn",
            f"arn:aws:ec2:{PRIMARY}:{ACCOUNT}:volume/vol-0a1b2c3d4e5f67890"], "query"),
    ]
    return out


def query_only_cloudwatch_model(tmp):
    """CloudWatch's model as botocore ships it, with protocols = ["query"], in
    an AWS_DATA_PATH folder: the CLI then speaks query (XML) to CloudWatch,
    as it did before botocore 1.37, with the very same shapes."""
    from botocore.loaders import Loader
    ld = Loader(extra_search_paths=[Loader.BUILTIN_DATA_PATH], include_default_search_paths=False)
    version = ld.determine_latest_version("cloudwatch", "service-2")
    model, _ = ld.load_data_with_path(f"cloudwatch/{version}/service-2")
    model = copy.deepcopy(model)
    model["metadata"]["protocol"] = "query"
    model["metadata"]["protocols"] = ["query"]
    d = os.path.join(tmp, "cloudwatch", version)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "service-2.json"), "w") as f:
        json.dump(model, f)
    return tmp


def cli_env(_endpoint, region, data_path=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") or k in ("AWS_CA_BUNDLE",)}
    env.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region, "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard",
    })
    if data_path:
        env["AWS_DATA_PATH"] = data_path
    return env


# --------------------------------------------------------------------------
# documented bodies for what moto lacks (CloudTrail LookupEvents, Backup)
# --------------------------------------------------------------------------


class Raw:
    """A JSON number written exactly as given (AWS's JSON services send
    timestamps as epoch seconds, often in E notation: 1.732788061E9)."""

    def __init__(self, text):
        self.text = text


def dump_aws_json(obj, ascii=False):
    marks = {}

    def enc(o):
        if isinstance(o, Raw):
            key = f"@@RAW{len(marks)}@@"
            marks[key] = o.text
            return key
        if isinstance(o, dict):
            return {k: enc(v) for k, v in o.items()}
        if isinstance(o, list):
            return [enc(v) for v in o]
        return o

    text = json.dumps(enc(obj), separators=(",", ":"), ensure_ascii=ascii)
    return re.sub(r'"(@@RAW\d+@@)"', lambda m: marks[m.group(1)], text).encode("utf-8")


def documented_bodies():
    r = PRIMARY
    ct_event = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLEALICE0001",
                         "arn": f"arn:aws:iam::{ACCOUNT}:user/people/alice", "accountId": ACCOUNT,
                         "accessKeyId": "AKIAEXAMPLEALICE0001", "userName": "alice"},
        "eventTime": "2026-11-28T10:14:21Z", "eventSource": "ec2.amazonaws.com",
        "eventName": "StopInstances", "awsRegion": r, "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/1.45.11", "requestParameters": {
            "instancesSet": {"items": [{"instanceId": "i-0123456789abcdef0"}]}, "force": False},
        "responseElements": {"instancesSet": {"items": [{
            "instanceId": "i-0123456789abcdef0", "currentState": {"code": 64, "name": "stopping"},
            "previousState": {"code": 16, "name": "running"}}]}},
        "requestID": "5f2c3b1e-8d4a-4c7e-9b0f-1a2b3c4d5e6f",
        "eventID": "0b7d5c2a-1e3f-4a6b-8c9d-0e1f2a3b4c5d", "readOnly": False,
        "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": ACCOUNT,
        "eventCategory": "Management"}
    login_event = {
        "eventVersion": "1.08", "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLEBOB000001",
                                                 "arn": f"arn:aws:iam::{ACCOUNT}:user/people/bob",
                                                 "accountId": ACCOUNT, "userName": "bob"},
        "eventTime": "2026-11-28T09:02:11Z", "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin", "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.50",
        "userAgent": "Mozilla/5.0", "requestParameters": None,
        "responseElements": {"ConsoleLogin": "Success"},
        "additionalEventData": {"MobileVersion": "No", "MFAUsed": "Yes"},
        "eventID": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d", "readOnly": False,
        "eventType": "AwsConsoleSignIn", "managementEvent": True, "recipientAccountId": ACCOUNT,
        "eventCategory": "Management"}
    lookup = {"Events": [
        {"EventId": ct_event["eventID"], "EventName": "StopInstances", "ReadOnly": "false",
         "AccessKeyId": "AKIAEXAMPLEALICE0001", "EventTime": Raw("1.795860861E9"),
         "EventSource": "ec2.amazonaws.com", "Username": "alice",
         "Resources": [{"ResourceType": "AWS::EC2::Instance", "ResourceName": "i-0123456789abcdef0"}],
         "CloudTrailEvent": json.dumps(ct_event, separators=(",", ":"))},
        {"EventId": login_event["eventID"], "EventName": "ConsoleLogin", "ReadOnly": "false",
         "EventTime": Raw("1795856531"), "EventSource": "signin.amazonaws.com", "Username": "bob",
         "Resources": [], "CloudTrailEvent": json.dumps(login_event, separators=(",", ":"))},
        {"EventId": "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5", "EventName": "DescribeInstances",
         "ReadOnly": "true", "AccessKeyId": "ASIAEXAMPLETEMP00001", "EventTime": Raw("1.795852523E9"),
         "EventSource": "ec2.amazonaws.com", "Username": "cloudspool-inventory",
         "CloudTrailEvent": json.dumps({"eventVersion": "1.09", "eventName": "DescribeInstances",
                                        "eventTime": "2026-11-28T07:55:23Z", "readOnly": True,
                                        "eventID": "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5"},
                                       separators=(",", ":"))},
    ]}
    vault = f"arn:aws:backup:{r}:{ACCOUNT}:backup-vault:Default"
    role = f"arn:aws:iam::{ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole"
    vol = f"arn:aws:ec2:{r}:{ACCOUNT}:volume/vol-0a1b2c3d4e5f67890"
    rp1 = f"arn:aws:ec2:{r}::snapshot/snap-0a1b2c3d4e5f60001"
    jobs = {"BackupJobs": [
        {"AccountId": ACCOUNT, "BackupJobId": "a1b2c3d4-5678-90ab-cdef-000000000001",
         "BackupVaultName": "Default", "BackupVaultArn": vault, "VaultType": "BACKUP_VAULT",
         "RecoveryPointArn": rp1,
         "RecoveryPointLifecycle": {"DeleteAfterDays": 35},
         "ResourceArn": vol, "CreationDate": Raw("1.795820400123E9"),
         "CompletionDate": Raw("1.795821544488E9"), "State": "COMPLETED", "PercentDone": "100.0",
         "BackupSizeInBytes": 107374182400, "IamRoleArn": role,
         "CreatedBy": {"BackupPlanId": "b9f7a1c2-0000-4000-8000-000000000001",
                       "BackupPlanArn": f"arn:aws:backup:{r}:{ACCOUNT}:backup-plan:b9f7a1c2-0000-4000-8000-000000000001",
                       "BackupPlanVersion": "ZmE0ZGQ2ZjMtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAx",
                       "BackupRuleId": "c0ffee00-0000-4000-8000-000000000001"},
         "StartBy": Raw("1.795849200123E9"), "ResourceType": "EBS", "BytesTransferred": 0,
         "IsParent": False, "ResourceName": "app-data", "InitiationDate": Raw("1.7958168E9"),
         "MessageCategory": "SUCCESS"},
        {"AccountId": ACCOUNT, "BackupJobId": "a1b2c3d4-5678-90ab-cdef-000000000002",
         "BackupVaultName": "Default", "BackupVaultArn": vault,
         "ResourceArn": f"arn:aws:rds:{r}:{ACCOUNT}:db:orders-db",
         "CreationDate": Raw("1.795856400E9"), "State": "RUNNING", "PercentDone": "42.5",
         "IamRoleArn": role, "ExpectedCompletionDate": Raw("1795860000"),
         "StartBy": Raw("1.7958852E9"), "ResourceType": "RDS", "BytesTransferred": 1234567,
         "BackupOptions": {}, "IsParent": False, "ResourceName": "orders-db"},
        {"AccountId": ACCOUNT, "BackupJobId": "a1b2c3d4-5678-90ab-cdef-000000000003",
         "BackupVaultName": "Default", "BackupVaultArn": vault,
         "ResourceArn": f"arn:aws:ec2:{r}:{ACCOUNT}:instance/i-0123456789abcdef0",
         "CreationDate": Raw("1.795734000E9"), "CompletionDate": Raw("1.7957341E9"), "State": "FAILED",
         "StatusMessage": "Insufficient privileges to perform this action.", "PercentDone": "0.0",
         "IamRoleArn": role, "StartBy": Raw("1.7957628E9"), "ResourceType": "EC2",
         "BackupOptions": {"WindowsVSS": "enabled"}, "BackupType": "WindowsVSS",
         "IsParent": False, "MessageCategory": "ACCESS_DENIED"},
    ]}
    points = {"RecoveryPoints": [
        {"RecoveryPointArn": rp1, "CreationDate": Raw("1.795820400123E9"), "Status": "COMPLETED",
         "EncryptionKeyArn": f"arn:aws:kms:{r}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
         "BackupSizeBytes": 107374182400, "BackupVaultName": "Default", "IsParent": False,
         "ResourceName": "app-data", "VaultType": "BACKUP_VAULT"},
        {"RecoveryPointArn": f"arn:aws:ec2:{r}::snapshot/snap-0a1b2c3d4e5f60000",
         "CreationDate": Raw("1.795734000E9"), "Status": "EXPIRED",
         "StatusMessage": "Recovery point expired by lifecycle.", "BackupSizeBytes": 0,
         "BackupVaultName": "Default", "IsParent": False, "ResourceName": "app-data"},
    ]}
    return {
        ("cloudtrail", "LookupEvents"): (dump_aws_json(lookup), "application/x-amz-json-1.1",
                                          "https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html"),
        ("backup", "ListBackupJobs"): (dump_aws_json(jobs), "application/json",
                                       "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListBackupJobs.html"),
        ("backup", "ListRecoveryPointsByResource"): (
            dump_aws_json(points), "application/json",
            "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListRecoveryPointsByResource.html"),
    }


class Replay(http.server.BaseHTTPRequestHandler):
    """Answers each request with the next page queued for its operation (the
    last page is repeated). The operation comes from X-Amz-Target (json),
    Action= (query, ec2) or the path (Backup's rest-json)."""
    pages = {}  # operation -> [(body, content type), ...]
    served = {}

    def _answer(self):
        from urllib.parse import parse_qs
        n = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(n) if n else b""
        target = self.headers.get("X-Amz-Target", "")
        op = None
        if target:
            op = target.rsplit(".", 1)[-1]
        elif form:
            op = (parse_qs(form.decode("utf-8")).get("Action") or [None])[0]
        if op is None:
            if self.path.startswith("/backup-jobs"):
                op = "ListBackupJobs"
            elif "/recovery-points" in self.path:
                op = "ListRecoveryPointsByResource"
        queue = self.pages.get(op)
        if not queue:
            body, ctype, status = b'{"__type":"UnknownOperationException"}', "application/json", 400
        else:
            i = self.served.get(op, 0)
            self.served[op] = i + 1
            body, ctype = queue[min(i, len(queue) - 1)]
            status = 200
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *a):
        pass


@contextlib.contextmanager
def replay_stub():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Replay)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def serve(op, pages):
    Replay.pages = {op: pages}
    Replay.served = {}


# --------------------------------------------------------------------------
# hand-made bodies: what real AWS sends and moto does not (pretty-printed
# XML with a declaration and requestId, entities, CDATA, xsi:nil, unknown
# elements, odd booleans and numbers, several pages, nulls in JSON, integers
# beyond 2^53, E-notation epochs). Run through the real CLI as well.
# --------------------------------------------------------------------------

XML = "text/xml;charset=UTF-8"
EC2NS = "http://ec2.amazonaws.com/doc/2016-11-15/"


def edge_cases():
    cases = []

    def add(svc, op, case, aws_args, pages, note, region=PRIMARY):
        cases.append({"service": svc, "operation": op, "case": case, "region": region,
                      "args": aws_args, "pages": pages, "note": note})

    sg = f"""<?xml version="1.0" encoding="UTF-8"?>
<DescribeSecurityGroupsResponse xmlns="{EC2NS}">
    <requestId>5d3f3a9e-1b2c-4d5e-8f90-123456789abc</requestId>
    <securityGroupInfo>
        <item>
            <ownerId>123456789012</ownerId>
            <groupId>sg-0a1b2c3d4e5f60001</groupId>
            <groupName>web</groupName>
            <groupDescription>HTTP &amp; HTTPS from &lt;anywhere&gt; &#x2014; café 日本</groupDescription>
            <vpcId>vpc-0a1b2c3d4e5f60001</vpcId>
            <ipPermissions>
                <item>
                    <ipProtocol>tcp</ipProtocol>
                    <fromPort>443</fromPort>
                    <toPort>443</toPort>
                    <groups/>
                    <ipRanges>
                        <item>
                            <cidrIp>0.0.0.0/0</cidrIp>
                            <description><![CDATA[public <https> & more]]></description>
                        </item>
                    </ipRanges>
                    <ipv6Ranges>
                        <item>
                            <cidrIpv6>::/0</cidrIpv6>
                        </item>
                    </ipv6Ranges>
                    <prefixListIds/>
                </item>
                <item>
                    <ipProtocol>icmp</ipProtocol>
                    <fromPort>-1</fromPort>
                    <toPort>-1</toPort>
                    <groups>
                        <item>
                            <userId>123456789012</userId>
                            <groupId>sg-0a1b2c3d4e5f60002</groupId>
                            <groupName>app</groupName>
                        </item>
                    </groups>
                    <ipRanges>
                    </ipRanges>
                    <ipv6Ranges/>
                    <prefixListIds/>
                </item>
            </ipPermissions>
            <ipPermissionsEgress>
                <item>
                    <ipProtocol>-1</ipProtocol>
                    <groups/>
                    <ipRanges>
                        <item>
                            <cidrIp>0.0.0.0/0</cidrIp>
                        </item>
                    </ipRanges>
                    <ipv6Ranges/>
                    <prefixListIds/>
                </item>
            </ipPermissionsEgress>
            <tagSet>
                <item>
                    <key>Name</key>
                    <value>  padded value\twith tab  </value>
                </item>
                <item>
                    <key>empty</key>
                    <value/>
                </item>
                <item>
                    <key>emoji</key>
                    <value>🚀 launch</value>
                </item>
            </tagSet>
            <securityGroupArn>arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0a1b2c3d4e5f60001</securityGroupArn>
            <aFieldFromTheFuture>ignored</aFieldFromTheFuture>
        </item>
        <item>
            <ownerId>123456789012</ownerId>
            <groupId>sg-0a1b2c3d4e5f60003</groupId>
            <groupName>no-tags-at-all</groupName>
            <groupDescription></groupDescription>
            <vpcId>vpc-0a1b2c3d4e5f60001</vpcId>
            <ipPermissions/>
        </item>
    </securityGroupInfo>
</DescribeSecurityGroupsResponse>
"""
    add("ec2", "DescribeSecurityGroups", "realaws", ["ec2", "describe-security-groups"],
        [(sg.encode("utf-8"), XML)],
        "pretty-printed like real EC2: declaration, requestId, whitespace between elements, entities, "
        "CDATA, whitespace kept in text, empty elements (-> [] or \"\"), absent elements (-> no key), "
        "an unknown element (ignored)")

    inst = f"""<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="{EC2NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
    <requestId>0f1e2d3c-4b5a-4697-8877-665544332211</requestId>
    <reservationSet>
        <item>
            <reservationId>r-0a1b2c3d4e5f60001</reservationId>
            <ownerId>123456789012</ownerId>
            <groupSet/>
            <instancesSet>
                <item>
                    <instanceId>i-0a1b2c3d4e5f60001</instanceId>
                    <imageId>ami-0a1b2c3d4e5f60001</imageId>
                    <instanceState>
                        <code>80</code>
                        <name>stopped</name>
                    </instanceState>
                    <privateDnsName>ip-10-20-2-15.eu-west-1.compute.internal</privateDnsName>
                    <dnsName/>
                    <reason>User initiated (2026-11-28 10:14:21 GMT)</reason>
                    <keyName xsi:nil="true"/>
                    <amiLaunchIndex>
                        0
                    </amiLaunchIndex>
                    <productCodes/>
                    <instanceType>c5.xlarge</instanceType>
                    <launchTime>2026-11-28T08:00:00.000Z</launchTime>
                    <placement>
                        <availabilityZone>eu-west-1b</availabilityZone>
                        <groupName/>
                        <tenancy>default</tenancy>
                    </placement>
                    <monitoring>
                        <state>disabled</state>
                    </monitoring>
                    <subnetId>subnet-0a1b2c3d4e5f60002</subnetId>
                    <vpcId>vpc-0a1b2c3d4e5f60001</vpcId>
                    <privateIpAddress>10.20.2.15</privateIpAddress>
                    <sourceDestCheck>True</sourceDestCheck>
                    <groupSet>
                        <item>
                            <groupId>sg-0a1b2c3d4e5f60002</groupId>
                            <groupName>app</groupName>
                        </item>
                        <member>
                            <groupId>sg-0a1b2c3d4e5f60004</groupId>
                            <groupName>db</groupName>
                        </member>
                    </groupSet>
                    <stateReason>
                        <code>Client.UserInitiatedShutdown</code>
                        <message>Client.UserInitiatedShutdown: User initiated shutdown</message>
                    </stateReason>
                    <architecture>x86_64</architecture>
                    <rootDeviceType>ebs</rootDeviceType>
                    <rootDeviceName>/dev/xvda</rootDeviceName>
                    <blockDeviceMapping>
                        <item>
                            <deviceName>/dev/xvda</deviceName>
                            <ebs>
                                <volumeId>vol-0a1b2c3d4e5f60001</volumeId>
                                <status>attached</status>
                                <attachTime>2026-11-28T08:00:01Z</attachTime>
                                <deleteOnTermination>true</deleteOnTermination>
                            </ebs>
                        </item>
                    </blockDeviceMapping>
                    <virtualizationType>hvm</virtualizationType>
                    <clientToken></clientToken>
                    <tagSet>
                        <item>
                            <key>Name</key>
                            <value>batch-1</value>
                        </item>
                    </tagSet>
                    <hypervisor>xen</hypervisor>
                    <networkInterfaceSet/>
                    <ebsOptimized>false</ebsOptimized>
                    <enaSupport>1</enaSupport>
                    <cpuOptions>
                        <coreCount>+2</coreCount>
                        <threadsPerCore>2</threadsPerCore>
                    </cpuOptions>
                    <capacityReservationSpecification>
                        <capacityReservationPreference>open</capacityReservationPreference>
                    </capacityReservationSpecification>
                    <hibernationOptions>
                        <configured>false</configured>
                    </hibernationOptions>
                    <metadataOptions>
                        <state>applied</state>
                        <httpTokens>required</httpTokens>
                        <httpPutResponseHopLimit>2</httpPutResponseHopLimit>
                        <httpEndpoint>enabled</httpEndpoint>
                    </metadataOptions>
                    <enclaveOptions/>
                    <platformDetails>Linux/UNIX</platformDetails>
                    <usageOperation>RunInstances</usageOperation>
                    <usageOperationUpdateTime>2026-11-28T08:00:00+00:00</usageOperationUpdateTime>
                    <maintenanceOptions>
                        <autoRecovery>default</autoRecovery>
                    </maintenanceOptions>
                </item>
            </instancesSet>
        </item>
    </reservationSet>
</DescribeInstancesResponse>
"""
    add("ec2", "DescribeInstances", "edge", ["ec2", "describe-instances"], [(inst.encode(), XML)],
        "xsi:nil (botocore: \"\"), int with surrounding whitespace and a '+' sign (int() accepts), "
        "boolean 'True' and '1' (botocore: false; only 'true' is true), list items named <member> "
        "inside an ec2 <item> list (accepted), empty <enclaveOptions/> (-> {}), timestamps with and "
        "without fraction / with +00:00 (kept as sent)")

    empty = f"""<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="{EC2NS}">
    <requestId>11111111-2222-4333-8444-555555555555</requestId>
    <reservationSet/>
</DescribeInstancesResponse>
"""
    add("ec2", "DescribeInstances", "empty", ["ec2", "describe-instances"], [(empty.encode(), XML)],
        "no instances: {\"Reservations\": []}")
    nothing = f"""<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="{EC2NS}">
    <requestId>11111111-2222-4333-8444-555555555556</requestId>
</DescribeInstancesResponse>
"""
    add("ec2", "DescribeInstances", "absent", ["ec2", "describe-instances"], [(nothing.encode(), XML)],
        "reservationSet absent: the CLI prints nothing at all (empty result {})")

    ns = "http://monitoring.amazonaws.com/doc/2010-08-01/"
    alarms = f"""<DescribeAlarmsResponse xmlns="{ns}">
  <DescribeAlarmsResult>
    <MetricAlarms>
      <member>
        <AlarmName>threshold-150</AlarmName>
        <AlarmDescription><![CDATA[CPU < 150 & rising]]></AlarmDescription>
        <ActionsEnabled>TRUE</ActionsEnabled>
        <AlarmActions/>
        <StateValue>ALARM</StateValue>
        <StateUpdatedTimestamp>2026-11-28T10:15:00Z</StateUpdatedTimestamp>
        <AlarmConfigurationUpdatedTimestamp>2026-11-28T10:15:00.123Z</AlarmConfigurationUpdatedTimestamp>
        <MetricName>CPUUtilization</MetricName>
        <Namespace>AWS/EC2</Namespace>
        <Statistic>Average</Statistic>
        <Dimensions/>
        <Period>60</Period>
        <EvaluationPeriods>+3</EvaluationPeriods>
        <Threshold>1.5E2</Threshold>
        <ComparisonOperator>GreaterThanThreshold</ComparisonOperator>
      </member>
      <member>
        <AlarmName>threshold-variants</AlarmName>
        <AlarmDescription xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>
        <ActionsEnabled>false</ActionsEnabled>
        <Threshold>-0.0</Threshold>
        <EvaluationPeriods>1</EvaluationPeriods>
        <DatapointsToAlarm>1</DatapointsToAlarm>
      </member>
      <member>
        <AlarmName>tiny</AlarmName>
        <Threshold>1e-7</Threshold>
      </member>
      <member>
        <AlarmName>integral</AlarmName>
        <Threshold>80</Threshold>
      </member>
      <member>
        <AlarmName>big</AlarmName>
        <Threshold>12345678901234567890</Threshold>
      </member>
      <member>
        <AlarmName>promql</AlarmName>
        <EvaluationCriteria>
          <PromQLCriteria>
            <Query>rate(http_requests_total[5m]) &gt; 10</Query>
            <PendingPeriod>60</PendingPeriod>
          </PromQLCriteria>
        </EvaluationCriteria>
      </member>
    </MetricAlarms>
    <CompositeAlarms/>
  </DescribeAlarmsResult>
  <ResponseMetadata>
    <RequestId>22222222-3333-4444-8555-666666666666</RequestId>
  </ResponseMetadata>
</DescribeAlarmsResponse>
"""
    add("monitoring", "DescribeAlarms", "edge", ["cloudwatch", "describe-alarms"], [(alarms.encode(), XML)],
        "doubles: 1.5E2 -> 150.0, -0.0, 1e-7 -> 1e-07, 80 -> 80.0, 12345678901234567890 -> "
        "1.2345678901234567e+19 (Python repr); 'TRUE' -> false; xsi:nil -> \"\"; CDATA; a union "
        "(EvaluationCriteria) with one member")

    def users_page(users, truncated, marker=None):
        items = "".join(users)
        m = f"<Marker>{marker}</Marker>" if marker else ""
        return f"""<ListUsersResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <ListUsersResult>
    <IsTruncated>{truncated}</IsTruncated>{m}
    <Users>{items}
    </Users>
  </ListUsersResult>
  <ResponseMetadata>
    <RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>
  </ResponseMetadata>
</ListUsersResponse>
""".encode()

    def user(name, path, created, last_used=None, tags=None):
        lu = f"\n        <PasswordLastUsed>{last_used}</PasswordLastUsed>" if last_used else ""
        tg = ""
        if tags is not None:
            tg = "\n        <Tags>" + "".join(
                f"<member><Key>{k}</Key><Value>{v}</Value></member>" for k, v in tags) + "</Tags>"
        return f"""
      <member>
        <UserId>AIDA{name.upper():0<17.17}</UserId>
        <Path>{path}</Path>
        <UserName>{name}</UserName>
        <Arn>arn:aws:iam::{ACCOUNT}:user{path}{name}</Arn>
        <CreateDate>{created}</CreateDate>{lu}{tg}
      </member>"""

    p1 = users_page([user("alice", "/people/", "2024-01-15T09:30:00Z", "2026-11-27T18:01:02Z",
                          [("team", "platform")]),
                     user("bob", "/people/", "2024-02-01T00:00:00Z", tags=[])], "true",
                    "AAAAAgAAAAEAAAABAAAAAGJvYg==")
    p2 = users_page([user("ci-deployer", "/service/", "2025-06-30T23:59:59.999Z")], "false")
    add("iam", "ListUsers", "pages", ["iam", "list-users"], [(p1, XML), (p2, XML)],
        "two pages (IsTruncated/Marker): the CLI fetches both and prints only Users, merged; "
        "Tags [] vs absent", region="us-east-1")

    ct = {"Events": [
        {"EventId": "e1", "EventName": "RunInstances", "ReadOnly": "false", "EventTime": Raw("1.796040861123E9"),
         "EventSource": "ec2.amazonaws.com", "Username": None, "Resources": None,
         "SomethingNew": {"x": 1}, "CloudTrailEvent": "{\"eventVersion\":\"1.09\"}"},
        None,
        {"EventId": "e3", "EventName": "CreateBucket", "EventTime": Raw("1796040861"),
         "Resources": [{"ResourceType": "AWS::S3::Bucket", "ResourceName": "logs-\u00e9t\u00e9"},
                       None]},
        {"EventId": "e4", "EventName": "PutObject", "EventTime": Raw("1796040861.5"),
         "Username": "tab\there \U0001F680"},
        {"EventId": "e5", "EventName": "GetObject", "EventTime": Raw("1.7960408E9")},
    ], "NextToken": ""}
    body = dump_aws_json(ct, ascii=True)  # non-ASCII as \\u escapes, the emoji as a surrogate pair
    add("cloudtrail", "LookupEvents", "edge", ["cloudtrail", "lookup-events"],
        [(body, "application/x-amz-json-1.1")],
        "JSON: null members dropped, null list items kept (null), unknown keys dropped, \\u escapes, "
        "epochs as 1.796040861123E9 / 1796040861 / 1796040861.5 / 1.7960408E9 (the CLI prints "
        "1796040861.123, 1796040861, 1796040861.5, 1796040800.0), NextToken \"\" ends pagination")

    jobs = {"BackupJobs": [
        {"BackupJobId": "big", "BackupSizeInBytes": Raw("9007199254740993"),
         "BytesTransferred": Raw("0"), "PercentDone": "99.99", "IsEncrypted": True,
         "BackupOptions": {"WindowsVSS": "enabled"}, "CreationDate": Raw("1.796000400123E9"),
         "RecoveryPointLifecycle": {"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 120,
                                    "OptInToArchiveForSupportedResources": False}},
        {"BackupJobId": "loose-types", "IsEncrypted": "TRUE", "IsParent": 1,
         "BytesTransferred": Raw("1.0E3"), "BackupSizeInBytes": "2048",
         "RecoveryPointLifecycle": {"DeleteAfterDays": Raw("35.9"),
                                    "OptInToArchiveForSupportedResources": "false"}}]}
    add("backup", "ListBackupJobs", "edge", ["backup", "list-backup-jobs"],
        [(dump_aws_json(jobs), "application/json")],
        "integers beyond 2^53 stay exact (9007199254740993): read JSON integers as Int64, not Double; "
        "rest-json converts scalars: boolean \"TRUE\" -> true, 1 -> false; long 1.0E3 -> 1000, "
        "\"2048\" -> 2048, 35.9 -> 35 (Python int())")
    return cases


# --------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------


def lint_body(svc, op, body, protocol):
    """What in this body botocore ignores or would not read as the model says."""
    import shapes_interpreter as si
    return si.lint(svc, op, body, protocol)


def check_pair(svc, op, raw_files, cli_file, protocol=None):
    import reference_parse as rp
    import shapes_interpreter as si
    bodies = [open(p, "rb").read() for p in raw_files]
    cli = open(cli_file, "rb").read()
    try:
        obj = rp.reference_parse(svc, op, bodies, protocol=protocol)
        ours = rp.render(obj).encode("utf-8")
    except rp.ReferenceParseError as e:
        return "error", f"reference_parse: {e}", []
    if ours != cli:
        why = "differs"
        try:
            if json.loads(ours or b"{}") == json.loads(cli or b"{}"):
                why = "same JSON, different text"
        except ValueError:
            why = "CLI output is not JSON"
        return "differs", why, []
    notes = []
    try:
        mine = si.interpret(svc, op, bodies, protocol=protocol)
        if si.render(mine) != ours.decode("utf-8"):
            notes.append("shapes_interpreter DIFFERS from botocore")
    except Exception as e:
        notes.append(f"shapes_interpreter failed: {e}")
    return "equal", "", notes


def fixture_table(out_dir, index):
    rows = []
    failed = False
    for e in index:
        base = os.path.join(out_dir, e["path"])
        raws = [base + ".raw"] + [base + f".{i}.raw" for i in range(2, 1 + e.get("pages", 1))]
        if not os.path.exists(base + ".raw") or not os.path.exists(base + ".cli.json"):
            rows.append((e["path"], e["source"], "missing", e.get("note", "")))
            continue
        proto = e.get("protocol")
        verdict, why, notes = check_pair(e["service"], e["operation"], raws, base + ".cli.json",
                                         protocol=proto)
        lint = []
        for p in raws:
            lint += lint_body(e["service"], e["operation"], open(p, "rb").read(), proto)
        e["lint"] = lint
        if verdict != "equal" or notes:
            failed = True
        rows.append((e["path"], e["source"], verdict, "; ".join([w for w in [why] if w] + notes)
                     + (f" [lint: {len(lint)}]" if lint else "")))
    w = max(len(r[0]) for r in rows)
    print(f"{'fixture'.ljust(w)}  {'source':<10}  {'result':<8}  notes")
    for r in rows:
        print(f"{r[0].ljust(w)}  {r[1]:<10}  {r[2]:<8}  {r[3]}")
    lints = [(e["path"], l) for e in index for l in e.get("lint", [])]
    if lints:
        print("\nwire lint (what botocore ignores or reads differently from the model):")
        for p, l in lints:
            print(f"  {p}: {l}")
    return not failed


# --------------------------------------------------------------------------


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--cli-child"]:
        prefix = argv[1]
        assert argv[2] == "--"
        return cli_child(prefix, argv[3:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--check-only", action="store_true")
    args = ap.parse_args(argv)
    out_dir = os.path.abspath(args.out)
    index_path = os.path.join(out_dir, "index.json")

    if args.check_only:
        with open(index_path) as f:
            index = json.load(f)["fixtures"]
        return 0 if fixture_table(out_dir, index) else 1

    url = os.environ.get("MOTO_URL")
    if not url:
        print("make_fixtures: set MOTO_URL to a running moto_server (http://127.0.0.1:PORT)",
              file=sys.stderr)
        return 2
    if not re.match(r"^http://(127\.0\.0\.1|localhost|\[::1\]):\d+/?$", url):
        print(f"make_fixtures: MOTO_URL must be a loopback http URL, not {url}", file=sys.stderr)
        return 2
    url = url.rstrip("/")
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        os.environ[k] = v
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DATA_PATH"):
        os.environ.pop(k, None)

    # a clean emulator: the estate is built from nothing on every run
    import urllib.request
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=30).read()
    facts = build_estate(url)
    tmp = tempfile.mkdtemp(prefix="cloudspool-fixtures-")
    index = []
    try:
        query_cw = query_only_cloudwatch_model(os.path.join(tmp, "models"))
        for svc, sub, op, region, aws_args, variant in calls(facts):
            if svc in ("cloudtrail", "backup"):
                continue  # below: documented bodies (moto lacks them); tried first for the record
            name = op if variant == "query" else f"{op}.awsjson"
            rel = "/".join(p for p in (svc, sub, name) if p)
            data_path = query_cw if (svc == "monitoring" and variant == "query") else None
            meta = run_cli(os.path.join(out_dir, rel), ["--endpoint-url", url, "--output", "json"] + aws_args,
                           cli_env(url, region, data_path))
            entry = {"path": rel, "service": svc, "operation": op, "region": region,
                     "source": "moto", "cli": ["aws"] + aws_args + ["--output", "json"],
                     "pages": len(meta["pages"]), "contentType": [p["contentType"] for p in meta["pages"]]}
            if svc == "monitoring":
                entry["protocol"] = "query" if variant == "query" else "json"
                entry["note"] = ("CLI run with CloudWatch's model restricted to query (AWS_DATA_PATH)"
                                 if variant == "query" else "the CLI as shipped: JSON protocol")
            if meta["rc"] != 0:
                entry["cliError"] = meta["stderr"][-500:]
            index.append(entry)
            print(f"captured {rel}: rc={meta['rc']} pages={len(meta['pages'])}", file=sys.stderr)

        # what moto says about the operations it lacks (recorded, not kept)
        moto_lacks = {}
        for svc, sub, op, region, aws_args, variant in calls(facts):
            if svc not in ("cloudtrail", "backup"):
                continue
            probe = os.path.join(tmp, "probe", svc, op)
            meta = run_cli(probe, ["--endpoint-url", url, "--output", "json"] + aws_args,
                           cli_env(url, region))
            moto_lacks[(svc, op)] = (meta["rc"], meta["stderr"].splitlines()[-1:] or [""])

        # documented bodies, through the real CLI against a loopback replay stub
        docs = documented_bodies()
        with replay_stub() as stub:
            for svc, sub, op, region, aws_args, variant in calls(facts):
                if svc not in ("cloudtrail", "backup"):
                    continue
                body, ctype, ref = docs[(svc, op)]
                serve(op, [(body, ctype)])
                rel = f"{svc}/{op}"
                meta = run_cli(os.path.join(out_dir, rel), ["--endpoint-url", stub, "--output", "json"] + aws_args,
                               cli_env(stub, region))
                with open(os.path.join(out_dir, rel + ".raw"), "rb") as f:
                    if f.read() != body:
                        raise SystemExit(f"{rel}: the CLI did not parse the replayed body")
                rc, last = moto_lacks[(svc, op)]
                entry = {"path": rel, "service": svc, "operation": op, "region": region,
                         "source": "documented", "reference": ref,
                         "cli": ["aws"] + aws_args + ["--output", "json"], "pages": 1,
                         "contentType": [ctype],
                         "note": f"moto {'lacks it' if rc else 'answered'}: {last[0][:160]}"}
                if meta["rc"] != 0:
                    entry["cliError"] = meta["stderr"][-500:]
                index.append(entry)
                print(f"captured {rel} (documented body via replay stub): rc={meta['rc']}", file=sys.stderr)

            for c in edge_cases():
                serve(c["operation"], c["pages"])
                rel = f"edge/{c['service']}/{c['operation']}.{c['case']}"
                meta = run_cli(os.path.join(out_dir, rel), ["--endpoint-url", stub, "--output", "json"] + c["args"],
                               cli_env(stub, c["region"], query_cw if c["service"] == "monitoring" else None))
                for i, (body, _) in enumerate(c["pages"]):
                    path = os.path.join(out_dir, rel + (".raw" if i == 0 else f".{i + 1}.raw"))
                    if not os.path.exists(path) or open(path, "rb").read() != body:
                        raise SystemExit(f"{rel}: the CLI did not parse page {i + 1} as served")
                entry = {"path": rel, "service": c["service"], "operation": c["operation"],
                         "region": c["region"], "source": "handmade",
                         **({"protocol": "query"} if c["service"] == "monitoring" else {}),
                         "cli": ["aws"] + c["args"] + ["--output", "json"], "pages": len(c["pages"]),
                         "contentType": [ct for _, ct in c["pages"]], "note": c["note"]}
                if meta["rc"] != 0:
                    entry["cliError"] = meta["stderr"][-500:]
                index.append(entry)
                print(f"captured {rel} (hand-made, via replay stub): rc={meta['rc']}", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    import botocore
    import awscli
    try:
        import moto
        moto_version = moto.__version__
    except Exception:
        moto_version = None
    doc = {"generatedBy": "Tests/integration/inventory_fixtures/make_fixtures.py",
           "botocore": botocore.__version__, "awscli": awscli.__version__, "moto": moto_version,
           "regions": list(REGIONS), "account": ACCOUNT, "fixtures": index}
    write_index(index_path, doc)
    ok = fixture_table(out_dir, index)  # adds each fixture's "lint"
    write_index(index_path, doc)
    return 0 if ok else 1


def write_index(path, doc):
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    sys.exit(main())
