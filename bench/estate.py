#!/usr/bin/env python3
"""Create the fetch benchmark's AWS estate in moto_server (loopback only).

For each member account (reached, like the inventory does, by assuming
`arn:aws:iam::<account>:role/<role>` from the base credentials) and region:
N EC2 instances of mixed types with tags (and their root volumes) from 2
registered AMIs, one more AMI made from an instance, extra EBS volumes and snapshots, security groups with rules,
a VPC subnet, an internet gateway, a NAT gateway, a transit gateway, RDS
instances and DB snapshots, CloudWatch alarms and AWS/EC2 metrics.

usage: estate.py --endpoint-url http://127.0.0.1:PORT [--accounts 3] [--regions eu-west-1,us-east-1]
                 [--instances 20] [--role BenchReadOnly] [--out estate.json]
Prints (and writes to --out) {"accounts": [...], "regions": [...], "role": .., "counts": {...}}.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import boto3
from botocore.config import Config

TYPES = ["t3.micro", "t3.large", "m5.large", "c6i.xlarge", "r6g.large"]
DB_CLASSES = ["db.t3.medium", "db.r6g.large", "db.m5.large"]


def member_accounts(n: int) -> list:
    return [f"2100000000{i:02d}" for i in range(1, n + 1)]


def session_for(url: str, account: str, role: str, region: str) -> boto3.Session:
    sts = boto3.client("sts", endpoint_url=url, region_name=region, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="bench-estate")["Credentials"]
    return boto3.Session(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                         aws_session_token=c["SessionToken"], region_name=region)


def build_unit(url: str, account: str, region: str, role: str, instances: int) -> dict:
    s = session_for(url, account, role, region)
    cfg = Config(retries={"max_attempts": 3})
    ec2 = s.client("ec2", endpoint_url=url, config=cfg)
    rds = s.client("rds", endpoint_url=url, config=cfg)
    cw = s.client("cloudwatch", endpoint_url=url, config=cfg)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24", AvailabilityZone=region + "a")["Subnet"]["SubnetId"]
    groups = []
    for g in range(5):
        gid = ec2.create_security_group(GroupName=f"bench-sg-{g}", Description=f"bench group {g}", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "internal"}]}
            for p in (22, 443, 5432)[: g % 3 + 1]])
        groups.append(gid)
    images = [ec2.register_image(Name=f"golden-{account[-2:]}-{region}-{i}", RootDeviceName="/dev/xvda",
                                 Architecture=["x86_64", "arm64"][i], VirtualizationType="hvm",
                                 BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}])["ImageId"]
              for i in range(2)]
    ids = []
    for k in range(instances):
        r = ec2.run_instances(ImageId=images[k % 2], MinCount=1, MaxCount=1,
                              InstanceType=TYPES[k % len(TYPES)], SubnetId=subnet, SecurityGroupIds=[groups[k % 5]],
                              TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                  {"Key": "Name", "Value": f"{account[-2:]}-{region}-node-{k:02d}"},
                                  {"Key": "team", "Value": ["platform", "data", "web"][k % 3]}]}])
        ids.append(r["Instances"][0]["InstanceId"])
    images.append(ec2.create_image(InstanceId=ids[0], Name=f"backup-{account[-2:]}-{region}")["ImageId"])
    vols = [ec2.create_volume(AvailabilityZone=region + "a", Size=10 * (v + 1), VolumeType="gp3")["VolumeId"]
            for v in range(5)]
    snaps = [ec2.create_snapshot(VolumeId=vols[v], Description=f"nightly {v}")["SnapshotId"] for v in range(3)]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.create_nat_gateway(SubnetId=subnet, AllocationId=eip)
    ec2.create_transit_gateway(Description=f"bench tgw {region}")
    dbs = []
    for d in range(3):
        name = f"orders-{d}"
        rds.create_db_instance(DBInstanceIdentifier=name, DBInstanceClass=DB_CLASSES[d], Engine="postgres",
                               MasterUsername="bench", MasterUserPassword="bench-password-1", AllocatedStorage=20)
        dbs.append(name)
    for d in range(2):
        rds.create_db_snapshot(DBSnapshotIdentifier=f"orders-{d}-snap", DBInstanceIdentifier=dbs[d])
    for i, iid in enumerate(ids):
        cw.put_metric_data(Namespace="AWS/EC2", MetricData=[
            {"MetricName": "CPUUtilization", "Dimensions": [{"Name": "InstanceId", "Value": iid}], "Value": 10.0 + i}])
    for a in range(5):
        cw.put_metric_alarm(AlarmName=f"cpu-high-{a}", MetricName="CPUUtilization", Namespace="AWS/EC2",
                            Statistic="Average", Period=300, EvaluationPeriods=2, Threshold=80.0 + a,
                            ComparisonOperator="GreaterThanThreshold",
                            Dimensions=[{"Name": "InstanceId", "Value": ids[a]}])
    return {"instances": len(ids), "images": len(images), "volumes": len(vols), "snapshots": len(snaps),
            "security_groups": len(groups), "db_instances": len(dbs), "db_snapshots": 2, "alarms": 5,
            "internet_gateways": 1, "nat_gateways": 1, "transit_gateways": 1}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint-url", required=True)
    ap.add_argument("--accounts", type=int, default=3)
    ap.add_argument("--regions", default="eu-west-1,us-east-1")
    ap.add_argument("--instances", type=int, default=20)
    ap.add_argument("--role", default="BenchReadOnly")
    ap.add_argument("--out", default="")
    a = ap.parse_args(argv)
    host = urlparse(a.endpoint_url).hostname or ""
    if not host.startswith("127.") and host not in ("localhost", "::1"):
        raise SystemExit("estate.py only talks to a loopback endpoint (moto_server)")
    accounts = member_accounts(a.accounts)
    regions = [r for r in a.regions.split(",") if r]
    units = [(acct, reg) for acct in accounts for reg in regions]
    with ThreadPoolExecutor(max_workers=2) as ex:
        results = list(ex.map(lambda u: build_unit(a.endpoint_url, u[0], u[1], a.role, a.instances), units))
    counts: dict = {}
    for r in results:
        for k, v in r.items():
            counts[k] = counts.get(k, 0) + v
    info = {"accounts": accounts, "regions": regions, "role": a.role, "counts": counts}
    text = json.dumps(info, indent=1)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
