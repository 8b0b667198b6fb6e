#!/usr/bin/env python3
"""The demo's AWS organization, in moto_server, and the stand-in for what moto lacks.

    python3 scripts/demo_estate.py build --endpoint-url URL --ledger FILE
        an organization (management account = the base credentials' 123456789012) with
        two member accounts made by organizations:CreateAccount; in each member account
        (entered through sts:AssumeRole of EnergyLogReadOnly, which is how moto tells
        accounts apart) and in eu-west-1 and us-east-1: a VPC with an internet gateway
        and a NAT gateway, security groups (one attached to nothing), an AMI, instances
        of two types with Name tags (one stopped), an image of an instance, volumes and
        a snapshot, an RDS instance (db.m5.large), a CloudWatch alarm; IAM users (console
        password, access key, groups); an S3 bucket of a few hundred objects. What was
        made is written to the ledger (JSON) and summed up on stdout.

    python3 scripts/demo_estate.py monitoring-hosts --endpoint-url URL --ledger FILE --out FILE --expected FILE
        monitoring hosts for a real Icinga 2 (Tests/integration/icinga_peer.py start --hosts FILE)
        that match the ledger's instances by each rule that applies to them (custom variable,
        instance id as name and as display name, private IP, private DNS name, Name tag: "APP-1"
        matches app-1 of every account and region), plus two hosts that match none; --expected
        gets {instance id: rule} of the instances they monitor

    python3 scripts/demo_estate.py stub --endpoint-url URL --ledger FILE --url-file FILE
        serves CloudTrail LookupEvents and AWS Backup ListBackupJobs on 127.0.0.1
        (Tests/integration/aws_stub.py) with a few events and backup jobs of the ledger's
        instances, writes its URL to --url-file, and runs until SIGTERM/SIGHUP or until
        the process that started it goes away.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

import boto3

MANAGEMENT = "123456789012"
MEMBERS = ("workloads-prod", "workloads-dev")
REGIONS = ("eu-west-1", "us-east-1")
ROLE = "EnergyLogReadOnly"
BASE_CREDS = {"aws_access_key_id": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
              "aws_secret_access_key": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing")}


def tags(rtype: str, **kv) -> list:
    return [{"ResourceType": rtype, "Tags": [{"Key": k, "Value": v} for k, v in kv.items()]}]


class Org:
    def __init__(self, url: str):
        self.url = url
        self.creds = {MANAGEMENT: dict(BASE_CREDS)}

    def client(self, account: str, service: str, region: str = "us-east-1"):
        return boto3.client(service, endpoint_url=self.url, region_name=region, **self.creds[account])

    def enter(self, account: str) -> None:
        """Credentials of the read-only role in a member account (moto: keys of that account)."""
        sts = self.client(MANAGEMENT, "sts")
        c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="demo-estate")["Credentials"]
        self.creds[account] = {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                               "aws_session_token": c["SessionToken"]}
        got = self.client(account, "sts").get_caller_identity()["Account"]
        assert got == account, f"moto did not put the assumed role in {account} (got {got})"


def build_unit(org: Org, k: int, account: str, region: str) -> dict:
    """One account x region; k (0, 1) makes the numbers differ between accounts."""
    ec2 = org.client(account, "ec2", region)
    primary = region == REGIONS[0]
    net = 30 + 2 * k + (0 if primary else 1)
    azs = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
    vpc = ec2.create_vpc(CidrBlock=f"10.{net}.0.0/16", TagSpecifications=tags("vpc", Name="main"))["Vpc"]["VpcId"]
    pub = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{net}.1.0/24", AvailabilityZone=azs[0])["Subnet"]["SubnetId"]
    priv = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{net}.2.0/24", AvailabilityZone=azs[1])["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway(TagSpecifications=tags("internet-gateway", Name="igw-main"))
    ec2.attach_internet_gateway(InternetGatewayId=igw["InternetGateway"]["InternetGatewayId"], VpcId=vpc)
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.create_nat_gateway(SubnetId=pub, AllocationId=eip, TagSpecifications=tags("natgateway", Name="nat-main"))

    def sg(name: str, desc: str) -> str:
        return ec2.create_security_group(GroupName=name, Description=desc, VpcId=vpc)["GroupId"]

    web, app, db = sg("web", "HTTPS from anywhere"), sg("app", "app servers"), sg("db", "databases")
    sg("legacy-unused", "attached to nothing")
    ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.authorize_security_group_ingress(GroupId=db, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": app}]}])

    ami = ec2.register_image(Name=f"base-{region}", Description="base image", Architecture="x86_64",
                             RootDeviceName="/dev/xvda", VirtualizationType="hvm",
                             BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}])["ImageId"]
    env = "prod" if k == 0 else "dev"
    instances = []

    def run(itype: str, name: str, group: str, subnet: str) -> dict:
        i = ec2.run_instances(ImageId=ami, InstanceType=itype, MinCount=1, MaxCount=1, SubnetId=subnet,
                              SecurityGroupIds=[group], TagSpecifications=tags("instance", Name=name, env=env),
                              )["Instances"][0]
        inst = {"id": i["InstanceId"], "name": name, "type": itype, "state": "running",
                "az": i["Placement"]["AvailabilityZone"]}
        instances.append(inst)
        return inst

    for n in range(2 + (1 - k) + (1 if primary else 0)):          # 4/3 web servers in prod, 3/2 in dev
        run("t3.micro", f"web-{n + 1}", web, pub)
    app1 = run("m5.large", "app-1", app, priv)
    app2 = run("m5.large", "app-2", app, priv)
    ec2.stop_instances(InstanceIds=[app2["id"]])
    app2["state"] = "stopped"

    image = ec2.create_image(InstanceId=app1["id"], Name=f"app-golden-{region}", Description="app server image")["ImageId"]
    data = ec2.create_volume(AvailabilityZone=app1["az"], Size=100, VolumeType="gp3",
                             TagSpecifications=tags("volume", Name="app-data"))["VolumeId"]
    ec2.attach_volume(VolumeId=data, InstanceId=app1["id"], Device="/dev/sdf")
    ec2.create_volume(AvailabilityZone=azs[0], Size=8, VolumeType="gp2", TagSpecifications=tags("volume", Name="orphan"))
    snap = ec2.create_snapshot(VolumeId=data, Description="nightly app-data")["SnapshotId"]

    rds = org.client(account, "rds", region)
    rds.create_db_subnet_group(DBSubnetGroupName="main", DBSubnetGroupDescription="main", SubnetIds=[pub, priv])
    db_arn = rds.create_db_instance(
        DBInstanceIdentifier="orders-db", DBInstanceClass="db.m5.large", Engine="postgres", AllocatedStorage=20,
        MasterUsername="dbadmin", MasterUserPassword="not-a-secret-1", DBSubnetGroupName="main",
        VpcSecurityGroupIds=[db], BackupRetentionPeriod=7)["DBInstance"]["DBInstanceArn"]

    cw = org.client(account, "cloudwatch", region)
    web1 = instances[0]
    dims = [{"Name": "InstanceId", "Value": web1["id"]}]
    cw.put_metric_data(Namespace="AWS/EC2", MetricData=[
        {"MetricName": "CPUUtilization", "Dimensions": dims, "Value": v, "Unit": "Percent"} for v in (12.5, 48.0, 91.25)])
    cw.put_metric_alarm(AlarmName=f"{web1['id']}-cpu-high", AlarmDescription="CPU above 80% for 10 minutes",
                        MetricName="CPUUtilization", Namespace="AWS/EC2", Statistic="Average", Dimensions=dims,
                        Period=300, EvaluationPeriods=2, Threshold=80.0, ComparisonOperator="GreaterThanThreshold")
    return {"account": account, "region": region, "instances": instances, "images": [ami, image], "snapshot": snap,
            "rds": {"orders-db": db_arn}, "volumes": len(ec2.describe_volumes()["Volumes"]),
            "security_groups": len(ec2.describe_security_groups()["SecurityGroups"])}


def build_iam(org: Org, k: int, account: str) -> list:
    iam = org.client(account, "iam")
    for g in ("admins", "developers", "deployers"):
        iam.create_group(GroupName=g)
    users = [("alice", "/people/", True, 0, ["admins", "developers"]),
             ("bob", "/people/", True, 1, ["developers"]),
             ("ci-deploy", "/service/", False, 1, ["deployers"]),
             ("legacy-batch", "/service/", False, 0, [])][: 4 - k]
    for name, path, password, keys, groups in users:
        iam.create_user(UserName=name, Path=path)
        if password:
            iam.create_login_profile(UserName=name, Password="Correct-Horse-9!")
        for _ in range(keys):
            iam.create_access_key(UserName=name)
        for g in groups:
            iam.add_user_to_group(GroupName=g, UserName=name)
    return [u[0] for u in users]


def build_bucket(org: Org, account: str, bucket: str, n: int) -> None:
    s3 = org.client(account, "s3", REGIONS[0])
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGIONS[0]})
    keys = [f"invoices/2026/{1 + i % 12:02d}/invoice-{i:04d}.pdf" for i in range(n // 2)]
    keys += [f"exports/{1 + i % 28:02d}/orders-{i:03d}.csv.gz" for i in range(n - n // 2 - 2)]
    keys += ["reports/Quarterly Report Q3.pdf", "données/résumé final.txt"]

    def put(i_key):
        i, key = i_key
        s3.put_object(Bucket=bucket, Key=key, Body=b"x" * (200 + 37 * i),
                      StorageClass="STANDARD_IA" if key.startswith("invoices/") and i % 5 == 0 else "STANDARD")

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(put, enumerate(keys)))


def cmd_build(a) -> int:
    org = Org(a.endpoint_url)
    o = org.client(MANAGEMENT, "organizations")
    o.create_organization(FeatureSet="ALL")
    members = [o.create_account(AccountName=n, Email=f"{n}@example.com")["CreateAccountStatus"]["AccountId"] for n in MEMBERS]
    for m in members:
        org.enter(m)
    jobs = [(k, acct, region) for k, acct in enumerate(members) for region in REGIONS]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        units = list(pool.map(lambda j: build_unit(org, *j), jobs))
    users = {acct: build_iam(org, k, acct) for k, acct in enumerate(members)}
    buckets = {f"demo-data-{members[0]}": (members[0], 240), f"demo-logs-{members[1]}": (members[1], 60)}
    for b, (acct, n) in buckets.items():
        build_bucket(org, acct, b, n)
    names = {x["Id"]: x["Name"] for x in o.list_accounts()["Accounts"]}
    Path(a.ledger).write_text(json.dumps({"management": MANAGEMENT, "members": members, "names": names,
                                          "regions": list(REGIONS), "units": units, "users": users,
                                          "buckets": {b: {"account": acct, "objects": n} for b, (acct, n) in buckets.items()}},
                                         indent=2) + "\n")
    print(f"organization: management {MANAGEMENT}, members " + ", ".join(f"{m} ({names[m]})" for m in members))
    for u in units:
        running = sum(i["state"] == "running" for i in u["instances"])
        types = sorted({i["type"] for i in u["instances"]})
        print(f"  {u['account']} {u['region']:<10} {len(u['instances'])} instances ({running} running; {', '.join(types)}), "
              f"2 AMIs, "
              f"{u['volumes']} volumes, 1 snapshot, {u['security_groups']} security groups (with the defaults), IGW, NAT, "
              f"RDS db.m5.large, 1 alarm")
    for acct, us in users.items():
        print(f"  {acct} IAM users: {', '.join(us)}")
    for b, (acct, n) in buckets.items():
        print(f"  {acct} s3://{b}: {n} objects")
    return 0


# ---------------------------------------------------------------- monitoring hosts

def cmd_monitoring_hosts(a) -> int:
    ledger = json.loads(Path(a.ledger).read_text())
    org = Org(a.endpoint_url)
    member = ledger["members"][0]
    org.enter(member)
    ec2 = org.client(member, "ec2", REGIONS[0])
    found = {i["InstanceId"]: i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]}
    unit = next(u for u in ledger["units"] if u["account"] == member and u["region"] == REGIONS[0])
    inst = [found[i["id"]] for i in unit["instances"] if i["state"] == "running"]
    hosts = [
        {"name": "web-frontend", "display_name": "matched by custom variable", "address": "192.0.2.1",
         "vars": {"ec2_instance_id": inst[0]["InstanceId"]}, "groups": ["linux", "web"]},
        {"name": inst[1]["InstanceId"], "display_name": "matched by id as host name", "address": "192.0.2.2"},
        {"name": "by-alias", "display_name": inst[2]["InstanceId"], "address": "192.0.2.3"},
        {"name": "db-by-ip", "address": inst[3]["PrivateIpAddress"], "groups": ["linux"], "state": 1},
        {"name": inst[4]["PrivateDnsName"], "address": "192.0.2.5"},
        {"name": "APP-1", "address": "192.0.2.6"},
        {"name": "legacy-db", "display_name": "not in AWS", "address": "198.51.100.20",
         "vars": {"ec2_instance_id": "i-00000000000000000"}},
        {"name": "printer-3", "address": "198.51.100.30"},
    ]
    expected = {inst[0]["InstanceId"]: "custom_variable", inst[1]["InstanceId"]: "instance_id", inst[2]["InstanceId"]: "instance_id",
                inst[3]["InstanceId"]: "private_ip", inst[4]["InstanceId"]: "private_dns"}
    app1 = [i["id"] for u in ledger["units"] for i in u["instances"] if i["name"] == "app-1"]
    for iid in app1:
        expected.setdefault(iid, "name_tag")
    Path(a.out).write_text(json.dumps(hosts, indent=2) + "\n")
    Path(a.expected).write_text(json.dumps(expected, indent=2) + "\n")
    print(f"{len(hosts)} monitoring hosts: {len(expected)} instances monitored by custom variable, id, alias, private IP, "
          f"private DNS name and Name tag (APP-1 matches the {len(app1)} app-1 instances); "
          f"2 hosts with no instance")
    return 0


# ---------------------------------------------------------------- the stub

def populate_stub(stub, ledger: dict, now: float) -> tuple:
    """The ledger's CloudTrail events and backup jobs, into an aws_stub.AwsStub; (events, jobs) added."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "Tests" / "integration"))
    from aws_stub import backup_job, event

    H = 3600.0
    n_events = n_jobs = 0
    for u in ledger["units"]:
        acct, region = u["account"], u["region"]
        web1 = next(i for i in u["instances"] if i["name"] == "web-1")
        app2 = next(i for i in u["instances"] if i["name"] == "app-2")
        for inst, name, hours, who in ((web1, "RunInstances", 30, "alice"), (web1, "CreateTags", 29, "alice"),
                                       (web1, "RebootInstances", 2.5, "bob"), (app2, "StopInstances", 1, "ci-deploy")):
            stub.add_event(event(str(uuid.uuid4()), name, now - hours * H, inst["id"], account=acct, region=region,
                                 username=who), acct, region)
            n_events += 1
        # web-1 is backed up by AWS Backup (app-1 has an EBS snapshot instead)
        arn = f"arn:aws:ec2:{region}:{acct}:instance/{web1['id']}"
        for state, age in (("COMPLETED", 26), ("COMPLETED", 2), ("FAILED", 50)):
            stub.add_backup_job(acct, region, backup_job(str(uuid.uuid4()), acct, region, arn, state, created=now - age * H,
                                                         completed=now - age * H + 900, resource_name="web-1"))
            n_jobs += 1
        stub.add_backup_job(acct, region, backup_job(str(uuid.uuid4()), acct, region, u["rds"]["orders-db"], "COMPLETED",
                                                     created=now - 20 * H, completed=now - 19 * H, resource_type="RDS",
                                                     resource_name="orders-db"))
        n_jobs += 1
    return n_events, n_jobs


def cmd_stub(a) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "Tests" / "integration"))
    from aws_stub import AwsStub

    ledger = json.loads(Path(a.ledger).read_text())
    stub = AwsStub(moto_url=a.endpoint_url).start()
    n_events, n_jobs = populate_stub(stub, ledger, time.time())
    stop = threading.Event()
    for s in (signal.SIGTERM, signal.SIGHUP):      # Ctrl-C goes to demo.sh, which stops us
        signal.signal(s, lambda *_: stop.set())
    tmp = Path(a.url_file + ".tmp")
    tmp.write_text(stub.url + "\n")
    os.replace(tmp, a.url_file)
    print(f"aws-stub {stub.url}: {n_events} CloudTrail events, {n_jobs} backup jobs", flush=True)
    parent = os.getppid()
    while not stop.wait(0.5):
        if os.getppid() != parent:      # whoever started us is gone
            break
    for op in ("LookupEvents", "ListBackupJobs"):
        reqs = stub.requests(op)
        print(f"{op}: {len(reqs)} requests, answers {sorted({r['status'] for r in reqs})}", flush=True)
    stub.stop()
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build the organization in moto_server")
    b.add_argument("--endpoint-url", required=True)
    b.add_argument("--ledger", required=True)
    b.set_defaults(fn=cmd_build)
    m = sub.add_parser("monitoring-hosts", help="Icinga 2 hosts matching the ledger's instances by each rule")
    m.add_argument("--endpoint-url", required=True)
    m.add_argument("--ledger", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--expected", required=True)
    m.set_defaults(fn=cmd_monitoring_hosts)
    s = sub.add_parser("stub", help="serve LookupEvents and ListBackupJobs for the ledger's estate")
    s.add_argument("--endpoint-url", required=True, help="moto_server (to tell which account an access key is)")
    s.add_argument("--ledger", required=True)
    s.add_argument("--url-file", required=True)
    s.set_defaults(fn=cmd_stub)
    a = ap.parse_args(argv)
    if not a.endpoint_url.startswith(("http://127.", "http://localhost")):
        ap.error("loopback endpoints only")
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
