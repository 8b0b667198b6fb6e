"""Organization inventory: fetch -> transform -> load against moto_server, the aws_stub
(Backup ListBackupJobs, CloudTrail LookupEvents, which moto lacks) and osmem-server.

The estate (built once for this module, in its own moto_server): an organization whose
management account is the base credentials' account (123456789012) with three member
accounts created through organizations:CreateAccount; in every account, in eu-west-1 and
us-east-1: a VPC with an internet gateway, a NAT gateway and a transit gateway, security
groups (one attached to nothing), instances of several types with tags (one stopped) run
from an owned AMI, an AMI made from an instance, volumes and a snapshot, RDS instances
(db.m5.large and db.serverless, a class with no EC2 equivalent), CloudWatch metric data
and alarms on instances. The numbers differ per account and region so that a figure
landing in the wrong account/region shows. Everything created is written down in a
ledger (`Unit`) when it is created; expectations come from that ledger, from the AWS CLI
(instance type capacities, resources as the CLI prints them) and from what the stub serves.

The contract checked (see the brief in the module's tests):
 1. summary figures per account and region equal what was created;
 2. a second run the same day changes no count and duplicates nothing;
 3. a stopped instance leaves the running totals;
 4. an account whose role cannot be assumed makes the run partial (exit 3) and names it;
 5. each resource document's aws.<service>.<type> equals what the AWS CLI v1 prints;
 6. no document is rejected; the index holds exactly what transform wrote;
 7. LookupEvents / ListBackupJobs enrichment, and the next run's StartTime;
 8. security groups attached / unattached;
 plus: an API denied in one account -> partial; throttling to the end -> exit 1.
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import pytest

import peers
import support
from aws_stub import AwsStub, backup_job, event, number
from faultproxy import FaultProxy
from support import DELETE, Index, Pipeline, Spool, get_path, same_json

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(support.REPO / "tools"))
import reference_parse  # noqa: E402  (tools/: botocore's parse, epoch_to_iso)

MANAGEMENT = "123456789012"
MEMBER_NAMES = ("workloads-prod", "workloads-dev", "sandbox")
REGIONS = ("eu-west-1", "us-east-1")
ROLE = "EnergyLogReadOnly"
LOOKUP_EVENTS = 3          # events kept per instance (small, so the cap is exercised)
STEM = "awscli"
RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")
SUMMARY_KEYS = {"instances", "instances_by_state", "running_vcpus", "running_memory_mib",
                "running_capacity_unknown", "rds_instances", "rds_instances_by_state", "rds_running_vcpus",
                "rds_running_memory_gib", "rds_capacity_unknown", "security_groups",
                "security_groups_unattached", "images", "snapshots", "volumes", "db_snapshots", "alarms",
                "metrics", "backup_jobs", "gateways"}
NOT_EC2 = "db.serverless"  # an RDS class whose EC2 equivalent ("serverless") DescribeInstanceTypes refuses

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# ====================================================================== the estate

@dataclass
class Instance:
    id: str
    name: str
    type: str
    state: str
    sgs: list
    volumes: set
    reservation: str
    image: str
    tags: list
    az: str


@dataclass
class Unit:
    """What was created in one account and region (the ledger)."""
    account: str
    region: str
    instances: dict = field(default_factory=dict)       # id -> Instance
    images: dict = field(default_factory=dict)          # id -> name
    snapshots: set = field(default_factory=set)
    volume_snapshots: dict = field(default_factory=dict)  # snapshot -> volume (explicit snapshots)
    volumes: set = field(default_factory=set)
    sgs: dict = field(default_factory=dict)             # id -> name
    igws: set = field(default_factory=set)
    nats: set = field(default_factory=set)
    tgws: set = field(default_factory=set)
    rds: dict = field(default_factory=dict)             # id -> {"class", "sgs", "arn"}
    db_snapshots: set = field(default_factory=set)
    alarms: dict = field(default_factory=dict)          # name -> (instance id, state)
    metrics: set = field(default_factory=set)           # (metric name, instance id)
    enis: dict = field(default_factory=dict)            # eni -> (instance id or None, [group ids])

    def by_name(self, name: str) -> Instance:
        return next(i for i in self.instances.values() if i.name == name)

    @property
    def key(self) -> tuple:
        return (self.account, self.region)

    def sg_attachments(self) -> dict:
        """group id -> {(type or None, id)}: what uses each group (instances, RDS, other interfaces)."""
        out = {g: set() for g in self.sgs}
        for i in self.instances.values():
            for g in i.sgs:
                out.setdefault(g, set()).add(("ec2.instance", i.id))
        for db, d in self.rds.items():
            for g in d["sgs"]:
                out.setdefault(g, set()).add(("rds.db_instance", db))
        for eni, (inst, groups) in self.enis.items():
            for g in groups:
                out.setdefault(g, set()).add(("ec2.instance", inst) if inst else (None, eni))
        return out


class Estate:
    def __init__(self, url: str):
        import boto3

        self.url = url
        self.boto3 = boto3
        self.accounts: list = [MANAGEMENT]
        self.names: dict = {}
        self.creds: dict = {MANAGEMENT: {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}}
        self.units: dict = {}

    def session(self, account: str):
        c = self.creds[account]
        return self.boto3.Session(aws_access_key_id=c["AWS_ACCESS_KEY_ID"], aws_secret_access_key=c["AWS_SECRET_ACCESS_KEY"],
                                  aws_session_token=c.get("AWS_SESSION_TOKEN"))

    def client(self, account: str, service: str, region: str):
        return self.session(account).client(service, endpoint_url=self.url, region_name=region)

    @property
    def members(self) -> list:
        return self.accounts[1:]

    def unit(self, account: str, region: str) -> Unit:
        return self.units[(account, region)]

    @classmethod
    def build(cls, url: str) -> "Estate":
        est = cls(url)
        org = est.client(MANAGEMENT, "organizations", "us-east-1")
        org.create_organization(FeatureSet="ALL")
        for name in MEMBER_NAMES:
            r = org.create_account(AccountName=name, Email=f"{name}@example.com")
            est.accounts.append(r["CreateAccountStatus"]["AccountId"])
        est.names = {a["Id"]: a["Name"] for a in org.list_accounts()["Accounts"]}
        assert set(est.accounts) <= set(est.names), est.names
        sts = est.client(MANAGEMENT, "sts", "us-east-1")
        for acct in est.members:
            c = sts.assume_role(RoleArn=f"arn:aws:iam::{acct}:role/{ROLE}", RoleSessionName="estate-builder")["Credentials"]
            est.creds[acct] = {"AWS_ACCESS_KEY_ID": c["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": c["SecretAccessKey"],
                               "AWS_SESSION_TOKEN": c["SessionToken"]}
            got = est.client(acct, "sts", "us-east-1").get_caller_identity()["Account"]
            assert got == acct, f"moto did not isolate the assumed role's account: {got} != {acct}"
        jobs = [(k, acct, region) for k, acct in enumerate(est.accounts) for region in REGIONS]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            for u in pool.map(lambda j: est._build_unit(*j), jobs):
                est.units[u.key] = u
        return est

    def _build_unit(self, k: int, acct: str, region: str) -> Unit:
        u = Unit(acct, region)
        ec2 = self.client(acct, "ec2", region)
        rds = self.client(acct, "rds", region)
        cw = self.client(acct, "cloudwatch", region)
        primary = region == REGIONS[0]
        tag = lambda rt, **kv: [{"ResourceType": rt, "Tags": [{"Key": a, "Value": b} for a, b in kv.items()]}]  # noqa: E731
        azs = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
        net = 20 + 2 * k + (0 if primary else 1)
        vpc = ec2.create_vpc(CidrBlock=f"10.{net}.0.0/16", TagSpecifications=tag("vpc", Name=f"estate-{k}"))["Vpc"]["VpcId"]
        pub = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{net}.1.0/24", AvailabilityZone=azs[0])["Subnet"]["SubnetId"]
        priv = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{net}.2.0/24", AvailabilityZone=azs[1])["Subnet"]["SubnetId"]
        igw = ec2.create_internet_gateway(
            TagSpecifications=tag("internet-gateway", Name=f"igw-{k}"))["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        u.igws.add(igw)
        eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
        u.nats.add(ec2.create_nat_gateway(SubnetId=pub, AllocationId=eip,
                                          TagSpecifications=tag("natgateway", Name=f"nat-{k}"))["NatGateway"]["NatGatewayId"])
        tgw = ec2.create_transit_gateway(Description=f"core {k} {region}", Options={"AmazonSideAsn": 64512 + k},
                                         TagSpecifications=tag("transit-gateway", Name=f"tgw-{k}"))
        u.tgws.add(tgw["TransitGateway"]["TransitGatewayId"])
        # every VPC comes with its "default" group (the default VPC's and ours)
        for g in ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]:
            u.sgs[g["GroupId"]] = "default"

        def sg(name: str, desc: str, **tags) -> str:
            gid = ec2.create_security_group(GroupName=name, Description=desc, VpcId=vpc,
                                            TagSpecifications=tag("security-group", **tags))["GroupId"]
            u.sgs[gid] = name
            return gid

        web = sg("web", "HTTP(S) from anywhere", tier="web")
        app = sg("app", "app servers", tier="app")
        db = sg("db", "databases", tier="db")
        sg("unused-legacy", "attached to nothing", owner="nobody")
        ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "https"}],
             "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}])
        ec2.authorize_security_group_ingress(GroupId=db, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": app}]}])

        base_name = f"base-{acct}-{region}"
        base = ec2.register_image(Name=base_name, Description="base image", Architecture="x86_64", RootDeviceName="/dev/xvda",
                                  VirtualizationType="hvm",
                                  BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}])["ImageId"]
        u.images[base] = base_name

        def run(itype: str, name: str, sgs: list, subnet: str, **extra) -> Instance:
            tags = {"Name": name, "env": "prod" if primary else "dr", "account-index": str(k), **extra}
            r = ec2.run_instances(ImageId=base, InstanceType=itype, MinCount=1, MaxCount=1, SubnetId=subnet,
                                  SecurityGroupIds=sgs, TagSpecifications=tag("instance", **tags),
                                  BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 20, "VolumeType": "gp3"}}])
            i = r["Instances"][0]
            vols = {b["Ebs"]["VolumeId"] for b in i.get("BlockDeviceMappings", []) if "Ebs" in b}
            u.volumes |= vols
            inst = Instance(i["InstanceId"], name, itype, "running", list(sgs), set(vols), r["ReservationId"], base,
                            [f"{a}={b}" for a, b in tags.items()], i["Placement"]["AvailabilityZone"])
            u.instances[inst.id] = inst
            return inst

        web1 = run("t3.micro", "web-1", [web], pub, **{"cost-center": "cc-42"})
        app1 = run("m5.large", "app-1", [app], priv, team="platform")
        batch = run("c5.xlarge", "batch-1", [app, db], priv)
        for j in range(k if primary else k % 2):
            run(("t3.small", "r5.large")[j % 2], f"worker-{j + 1}", [app], priv)
        ec2.stop_instances(InstanceIds=[batch.id])
        batch.state = "stopped"

        golden_name = f"app-golden-{acct}-{region}"
        golden = ec2.create_image(InstanceId=app1.id, Name=golden_name, Description="app server image",
                                  TagSpecifications=tag("image", **{"built-by": "packer"}))["ImageId"]
        u.images[golden] = golden_name
        for img in ec2.describe_images(ImageIds=list(u.images))["Images"]:
            u.snapshots |= {b["Ebs"]["SnapshotId"] for b in img.get("BlockDeviceMappings", []) if b.get("Ebs", {}).get("SnapshotId")}

        data = ec2.create_volume(AvailabilityZone=app1.az, Size=100, VolumeType="gp3", Iops=3000, Encrypted=True,
                                 TagSpecifications=tag("volume", Name="app-data"))["VolumeId"]
        ec2.attach_volume(VolumeId=data, InstanceId=app1.id, Device="/dev/sdf")
        app1.volumes.add(data)
        orphan = ec2.create_volume(AvailabilityZone=azs[0], Size=8, VolumeType="gp2",
                                   TagSpecifications=tag("volume", Name="orphan"))["VolumeId"]
        u.volumes |= {data, orphan}
        snap = ec2.create_snapshot(VolumeId=data, Description="nightly app-data",
                                   TagSpecifications=tag("snapshot", schedule="nightly"))["SnapshotId"]
        u.snapshots.add(snap)
        u.volume_snapshots[snap] = data

        rds.create_db_subnet_group(DBSubnetGroupName="estate", DBSubnetGroupDescription="estate", SubnetIds=[pub, priv])

        def database(ident: str, cls_: str, engine: str = "postgres") -> None:
            d = rds.create_db_instance(DBInstanceIdentifier=ident, DBInstanceClass=cls_, Engine=engine, AllocatedStorage=20,
                                       MasterUsername="dbadmin", MasterUserPassword="not-a-secret-1", DBSubnetGroupName="estate",
                                       VpcSecurityGroupIds=[db], BackupRetentionPeriod=7, Tags=[{"Key": "app", "Value": ident}])
            u.rds[ident] = {"class": cls_, "sgs": [db], "arn": d["DBInstance"]["DBInstanceArn"]}
            # the automated snapshots AWS (and moto) make with the instance
            u.db_snapshots |= {s["DBSnapshotIdentifier"] for s in rds.describe_db_snapshots(DBInstanceIdentifier=ident)["DBSnapshots"]}

        database("orders-db", "db.m5.large")
        if primary:
            database("analytics-db", NOT_EC2)
            u.db_snapshots.add(rds.create_db_snapshot(DBSnapshotIdentifier="orders-db-manual-1", DBInstanceIdentifier="orders-db")
                               ["DBSnapshot"]["DBSnapshotIdentifier"])
        elif k == 2:
            database("reports-db", "db.t3.micro", engine="mysql")

        now = time.time()
        dims = lambda i: [{"Name": "InstanceId", "Value": i.id}]  # noqa: E731
        cw.put_metric_data(Namespace="AWS/EC2", MetricData=[
            {"MetricName": "CPUUtilization", "Dimensions": dims(web1), "Value": v, "Unit": "Percent", "Timestamp": now - 60 * n}
            for n, v in enumerate((12.5, 48.0, 91.25))])
        cw.put_metric_data(Namespace="AWS/EC2", MetricData=[
            {"MetricName": "StatusCheckFailed", "Dimensions": dims(web1), "Value": 0.0, "Unit": "Count"},
            {"MetricName": "NetworkIn", "Dimensions": dims(app1), "Value": 1024.0, "Unit": "Bytes"}])
        u.metrics |= {("CPUUtilization", web1.id), ("StatusCheckFailed", web1.id), ("NetworkIn", app1.id)}
        cw.put_metric_alarm(AlarmName=f"{web1.id}-cpu-high", AlarmDescription="CPU above 80% for 10 minutes", ActionsEnabled=True,
                            AlarmActions=[f"arn:aws:sns:{region}:{acct}:ops-alerts"], MetricName="CPUUtilization",
                            Namespace="AWS/EC2", Statistic="Average", Dimensions=dims(web1), Period=300, EvaluationPeriods=2,
                            Threshold=80.0, ComparisonOperator="GreaterThanThreshold", Unit="Percent")
        cw.set_alarm_state(AlarmName=f"{web1.id}-cpu-high", StateValue="ALARM", StateReason="Threshold Crossed (test)")
        if primary:
            cw.put_metric_alarm(AlarmName=f"{app1.id}-network-in", ActionsEnabled=False, MetricName="NetworkIn", Namespace="AWS/EC2",
                                Statistic="Sum", Dimensions=dims(app1), Period=60, EvaluationPeriods=3, Threshold=1e9,
                                ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="breaching")
        for a in cw.describe_alarms()["MetricAlarms"]:
            inst = next(d["Value"] for d in a["Dimensions"] if d["Name"] == "InstanceId")
            u.alarms[a["AlarmName"]] = (inst, a["StateValue"])
        for e in ec2.describe_network_interfaces()["NetworkInterfaces"]:
            u.enis[e["NetworkInterfaceId"]] = (e.get("Attachment", {}).get("InstanceId"), [g["GroupId"] for g in e.get("Groups", [])])
        return u

    # ---- what the stub serves
    def populate_stub(self, stub: AwsStub, now: float) -> dict:
        """Events and backup jobs; returns the named cases the tests look at."""
        m1, m2, m3 = self.members
        H = 3600.0
        cases: dict = {}

        def ev(acct: str, region: str, inst: Instance, t: float, name: str, style: str) -> dict:
            e = event(str(uuid.uuid4()), name, t, inst.id, account=acct, region=region, style=style,
                      username=("alice", "bob", "cloudspool-ci")[int(t) % 3])
            stub.add_event(e, acct, region)
            return e

        # X: three events, newest with milliseconds; Y: five (only the newest LOOKUP_EVENTS are kept)
        x = self.unit(m1, "eu-west-1").by_name("web-1")
        cases["X"] = (m1, "eu-west-1", x)
        ev(m1, "eu-west-1", x, now - 3 * H, "StartInstances", "int")
        ev(m1, "eu-west-1", x, now - 2 * H, "ModifyInstanceAttribute", "e")
        ev(m1, "eu-west-1", x, now - 1 * H + 0.123, "StopInstances", "e_ms")
        y = self.unit(m2, "us-east-1").by_name("app-1")
        cases["Y"] = (m2, "us-east-1", y)
        for n, style in enumerate(("int", "e", "e_ms", "int", "e")):
            ev(m2, "us-east-1", y, now - (6 - n) * H + (0.5 if style == "e_ms" else 0), ("RunInstances", "CreateTags", "StopInstances",
                                                                                          "StartInstances", "RebootInstances")[n], style)
        mg = self.unit(MANAGEMENT, "us-east-1").by_name("web-1")
        cases["M"] = (MANAGEMENT, "us-east-1", mg)
        ev(MANAGEMENT, "us-east-1", mg, now - 5 * H, "RebootInstances", "int")
        # an event of X's instance id recorded in another region must not be attributed to it
        ev(m1, "us-east-1", x, now - 0.5 * H, "TerminateInstances", "int")

        def job(acct: str, region: str, arn: str, state: str, created: float, completed: Optional[float], rtype: str, name=None):
            j = backup_job(str(uuid.uuid4()), acct, region, arn, state, created=created, completed=completed,
                           resource_type=rtype, resource_name=name)
            stub.add_backup_job(acct, region, j)
            return j

        # Z: no snapshot of its volumes; the newest COMPLETED job counts, FAILED / RUNNING ones do not
        z = self.unit(m3, "us-east-1").by_name("web-1")
        cases["Z"] = (m3, "us-east-1", z)
        zarn = f"arn:aws:ec2:us-east-1:{m3}:instance/{z.id}"
        job(m3, "us-east-1", zarn, "COMPLETED", now - 49 * H, now - 48 * H + 0.488, "EC2", "web-1")
        job(m3, "us-east-1", zarn, "COMPLETED", now - 80 * H, now - 79 * H, "EC2", "web-1")
        job(m3, "us-east-1", zarn, "FAILED", now - 25 * H, now - 24 * H, "EC2", "web-1")
        job(m3, "us-east-1", zarn, "RUNNING", now - 1 * H, None, "EC2", "web-1")
        # W: has a completed snapshot (made now) newer than its COMPLETED job
        w = self.unit(m1, "eu-west-1").by_name("app-1")
        cases["W"] = (m1, "eu-west-1", w)
        job(m1, "eu-west-1", f"arn:aws:ec2:eu-west-1:{m1}:instance/{w.id}", "COMPLETED", now - 73 * H, now - 72 * H, "EC2", "app-1")
        # RDS, and a volume, elsewhere
        du = self.unit(m2, "eu-west-1")
        job(m2, "eu-west-1", du.rds["orders-db"]["arn"], "COMPLETED", now - 97 * H, now - 96 * H, "RDS", "orders-db")
        mu = self.unit(MANAGEMENT, "eu-west-1")
        orphan = sorted(mu.volumes - set().union(*(i.volumes for i in mu.instances.values())))[0]
        job(MANAGEMENT, "eu-west-1", f"arn:aws:ec2:eu-west-1:{MANAGEMENT}:volume/{orphan}", "COMPLETED", now - 10 * H, now - 9 * H, "EBS")
        stub.jobs_page_size = 2      # Z's unit has 4 jobs: two pages
        stub.events_page_size = 2    # Y's first lookup pages (MaxResults 3 -> 2 + 1)
        return cases


# ====================================================================== running the pipeline

def kv(line: str) -> dict:
    return {k: v for k, v in re.findall(r"(\w+)=(\S+)", line)}


@dataclass
class InvRun:
    fetch: support.Result
    transform: support.Result
    load: Optional[support.Result]
    run_id: str
    raw: Path
    files: list
    pairs: list            # (action, doc)
    started: float
    finished: float
    stub_log: list
    index_count: Optional[int] = None
    # bulk items (index + delete) the inventory transform wrote for awscli-current / awscli-changes-* (ndjson/changes/)
    current_items: int = 0

    @property
    def index(self) -> str:
        r = self.run_id
        return f"{STEM}-{r[0:4]}.{r[4:6]}.{r[6:8]}"

    @property
    def docs(self) -> list:
        return [d for _, d in self.pairs]

    def ids(self) -> list:
        return [a["index"]["_id"] for a, _ in self.pairs]

    def placed(self) -> set:
        """(index, _id) of every document of the run."""
        return {(a["index"]["_index"], a["index"]["_id"]) for a, _ in self.pairs}

    def by_id(self) -> dict:
        return {a["index"]["_id"]: d for a, d in self.pairs}

    def of(self, rtype: str, account: Optional[str] = None, region: Optional[str] = None) -> list:
        return [d for d in self.docs if get_path(d, "resource.type") == rtype
                and (account is None or get_path(d, "cloud.account.id") == account)
                and (region is None or get_path(d, "cloud.region") == region)]

    def doc(self, rtype: str, account: str, region: str, rid: str) -> dict:
        d = self.by_id().get(f"{rtype}:{account}:{region}:{rid}")
        assert d is not None, f"no {rtype} document for {rid} in {account}/{region} (run {self.run_id})"
        return d

    def summaries(self) -> dict:
        out: dict = {}
        for d in self.of("summary"):
            key = (get_path(d, "cloud.account.id"), get_path(d, "cloud.region"))
            assert key not in out, f"two summaries for {key} in run {self.run_id}"
            out[key] = get_path(d, "inventory.summary")
        return out

    def describe(self) -> str:
        return "\n".join(r.describe() for r in (self.fetch, self.transform, self.load) if r is not None)


def run_inventory(pipe: Pipeline, stub: Optional[AwsStub] = None, fetch_codes=(0,), load: bool = True) -> InvRun:
    spool = Spool(pipe.spool.root, "inventory")
    changes = Spool(pipe.spool.root, "changes")
    raw_before = set(spool.raw_runs())
    nd_before = set(spool.ndjson_files())
    changes_before = set(changes.ndjson_files())
    t0 = time.time()
    f = pipe.expect("fetch", "--collector", "inventory", codes=fetch_codes)
    t1 = time.time()
    new_raw = [r for r in spool.raw_runs() if r not in raw_before]
    assert len(new_raw) == 1, f"fetch made {len(new_raw)} raw inventory runs\n{f.describe()}"
    t = pipe.expect("transform")
    files = [p for p in spool.ndjson_files() if p not in nd_before]
    pairs = [(a, d) for a, d, _, _ in spool.ndjson_docs(files)]
    lr = pipe.expect("load") if load else None
    run = InvRun(f, t, lr, new_raw[0].name, new_raw[0], files, pairs, t0, t1,
                 [e for e in stub.requests(since=t0) if e["t"] <= t1] if stub else [])
    assert RUN_ID.match(run.run_id), run.run_id
    for f in changes.ndjson_files():
        if f not in changes_before:
            run.current_items += sum(1 for line in f.read_bytes().splitlines()
                                     if next(iter(json.loads(line))) in ("index", "delete") and len(json.loads(line)) == 1
                                     and isinstance(next(iter(json.loads(line).values())), dict)
                                     and "_index" in next(iter(json.loads(line).values())))
    if load:
        run.index_count = Index(pipe.index_url, stem=STEM).total()
    return run


def inventory_pipeline(tmp: Path, moto_url: str, index_url: str, stub_url: str, sts_url: Optional[str] = None,
                       **inventory) -> Pipeline:
    p = Pipeline(tmp, moto_url, None, "unused", index_url)
    settings = {"organizations": True, "role_name": ROLE, "regions": list(REGIONS), "concurrency": 4,
                "lookup_events": LOOKUP_EVENTS}
    settings.update(inventory)
    p.write_config(cloudtrail=DELETE, inventory=settings, index={"names": {"inventory": STEM}})
    p.extra_env.update({"AWS_ENDPOINT_URL_BACKUP": stub_url, "AWS_ENDPOINT_URL_CLOUDTRAIL": stub_url})
    if sts_url:
        p.extra_env["AWS_ENDPOINT_URL_STS"] = sts_url
    return p


# ====================================================================== AWS CLI v1

_CLI_CHILD = r"""
import contextlib, io, json, sys
import awscli.clidriver
driver = awscli.clidriver.create_clidriver()   # what the `aws` entry point runs
out = []
for args in json.load(sys.stdin):
    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        rc = driver.main(args)
    out.append({"rc": rc, "stdout": o.getvalue(), "stderr": e.getvalue()})
json.dump(out, sys.stdout)
"""


def cli_env(creds: dict, region: str, data_path: Optional[str] = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(creds)
    env.update({"AWS_DEFAULT_REGION": region, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "2", "AWS_RETRY_MODE": "standard",
                "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
    if data_path:
        env["AWS_DATA_PATH"] = data_path
    return env


def cli_batch(creds: dict, commands: list, data_path: Optional[str] = None) -> list:
    """Run `aws <args> --output json` for each command (args include --endpoint-url and --region) in one
    interpreter with the CLI's own driver; returns the parsed JSON outputs."""
    cmds = [list(c) + ["--output", "json"] for c in commands]
    p = subprocess.run([sys.executable, "-c", _CLI_CHILD], input=json.dumps(cmds).encode(), capture_output=True,
                       env=cli_env(creds, REGIONS[0], data_path), timeout=180)
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-3000:]
    out = []
    for c, r in zip(cmds, json.loads(p.stdout)):
        assert r["rc"] == 0, f"aws {' '.join(c)} failed (rc {r['rc']}): {r['stderr'][-1500:]}"
        out.append(json.loads(r["stdout"]) if r["stdout"].strip() else {})
    return out


def aws_exe(args: list, creds: dict, region: str, data_path: Optional[str] = None) -> subprocess.CompletedProcess:
    """The `aws` program itself, in a child process."""
    return subprocess.run([sys.executable, "-m", "awscli"] + list(args), capture_output=True, text=True,
                          env=cli_env(creds, region, data_path), timeout=120)


def query_only_cloudwatch(tmp: Path) -> str:
    """CloudWatch's model restricted to the query protocol, as an AWS_DATA_PATH folder (see tools/README.md)."""
    spec = importlib.util.spec_from_file_location("make_fixtures", HERE / "inventory_fixtures" / "make_fixtures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.query_only_cloudwatch_model(str(tmp))


# ====================================================================== expectations

def iso_of(v) -> str:
    """What cloudspool's documents hold for an epoch timestamp AWS sent as v (stub Raw or number)."""
    return reference_parse.epoch_to_iso(json.loads(v.text) if hasattr(v, "text") else v)


def parse_time(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def expected_summary(u: Unit, caps: dict, stub: AwsStub) -> dict:
    running = [i for i in u.instances.values() if i.state == "running"]
    known = [i for i in running if i.type in caps]
    dbs = list(u.rds.values())
    avail = dbs  # moto's RDS instances are "available" at once
    rds_known = [d for d in avail if d["class"][3:] in caps]
    attach = u.sg_attachments()
    return {
        "instances": len(u.instances),
        "instances_by_state": dict(Counter(i.state for i in u.instances.values())),
        "running_vcpus": sum(caps[i.type][0] for i in known),
        "running_memory_mib": sum(caps[i.type][1] for i in known),
        "running_capacity_unknown": len(running) - len(known),
        "rds_instances": len(dbs),
        "rds_instances_by_state": {"available": len(dbs)} if dbs else {},
        "rds_running_vcpus": sum(caps[d["class"][3:]][0] for d in rds_known),
        "rds_running_memory_gib": sum(caps[d["class"][3:]][1] / 1024 for d in rds_known),
        "rds_capacity_unknown": len(avail) - len(rds_known),
        "security_groups": len(u.sgs),
        "security_groups_unattached": sum(1 for g in u.sgs if not attach.get(g)),
        "images": len(u.images),
        "snapshots": len(u.snapshots),
        "volumes": len(u.volumes),
        "db_snapshots": len(u.db_snapshots),
        "alarms": len(u.alarms),
        "metrics": len(u.metrics),
        "backup_jobs": len(stub.backup_jobs(u.account, u.region)),
        "gateways": {"internet_gateway": len(u.igws), "nat_gateway": len(u.nats), "transit_gateway": len(u.tgws)},
    }


def normalise_summary(s: dict) -> dict:
    s = json.loads(json.dumps(s))
    for k in ("instances_by_state", "rds_instances_by_state"):
        if isinstance(s.get(k), dict):
            s[k] = {a: b for a, b in s[k].items() if b}
    return s


def summary_diff(got: dict, want: dict) -> list:
    got, want = normalise_summary(got), normalise_summary(want)
    out = [f"{k}: got {json.dumps(got.get(k, '<absent>'))}, want {json.dumps(want.get(k))}"
           for k in sorted(set(want) | set(got))
           if k not in got or k not in want or not (same_json(got[k], want[k])
                                                   or (isinstance(want[k], float) and isinstance(got[k], (int, float))
                                                       and abs(got[k] - want[k]) < 1e-9))]
    return out


def json_diff(a, b, path: str = "") -> list:
    """Where two JSON values differ (first few)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append(f"{path}.{k}: missing in the document (CLI: {json.dumps(b[k])[:200]})")
            elif k not in b:
                out.append(f"{path}.{k}: not printed by the CLI (document: {json.dumps(a[k])[:200]})")
            else:
                out += json_diff(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in json_diff(x, y, f"{path}[{i}]")]
    return [] if same_json(a, b) else [f"{path}: document {json.dumps(a)[:200]} != CLI {json.dumps(b)[:200]}"]


def check_common(run: InvRun, est: Estate) -> list:
    """Problems with the common fields and the ids of every document of a run."""
    problems = []
    lo = datetime.fromtimestamp(run.started - 2, timezone.utc)
    hi = datetime.fromtimestamp(run.finished + 2, timezone.utc)
    for a, d in run.pairs:
        meta = a["index"]
        where = meta["_id"]
        try:
            rtype, acct, region, rid = (get_path(d, p) for p in ("resource.type", "cloud.account.id", "cloud.region", "resource.id"))
        except KeyError as e:
            problems.append(f"{where}: {e} missing")
            continue
        want_id = f"summary:{acct}:{region}:{run.run_id}" if rtype == "summary" else f"{rtype}:{acct}:{region}:{rid}"
        if meta["_id"] != want_id:
            problems.append(f"{where}: _id should be {want_id}")
        if meta["_index"] != run.index:
            problems.append(f"{where}: _index {meta['_index']} != {run.index}")
        if (acct, region) not in est.units:
            problems.append(f"{where}: account/region {acct}/{region} is not in the estate")
        for path, want in (("cloud.provider", "aws"), ("cloud.account.name", est.names.get(acct)),
                           ("cloudspool.run_id", run.run_id)):
            try:
                got = get_path(d, path)
            except KeyError:
                got = "<absent>"
            if got != want:
                problems.append(f"{where}: {path} = {got!r}, want {want!r}")
        for path in ("@timestamp", "cloudspool.last_seen"):
            try:
                t = parse_time(get_path(d, path))
                if not lo <= t <= hi:
                    problems.append(f"{where}: {path} {t} is not within the fetch ({lo} .. {hi})")
            except (KeyError, ValueError, AttributeError) as e:
                problems.append(f"{where}: {path}: {e!r}")
    return problems[:40]


# ====================================================================== fixtures

@dataclass
class World:
    pipe: Pipeline
    est: Estate
    stub: AwsStub
    caps: dict
    cases: dict
    moto_url: str
    osmem_url: str
    tmp: Path
    runs: dict = field(default_factory=dict)

    @property
    def index(self) -> Index:
        return Index(self.osmem_url, stem=STEM)


@pytest.fixture(scope="module")
def inv_moto(peer_logs):
    p = peers.start_moto(log_dir=str(peer_logs))
    yield p
    p.stop()


@pytest.fixture(scope="module")
def inv_osmem(peer_logs):
    p = peers.start_osmem(log_dir=str(peer_logs))
    yield p
    p.stop()


@pytest.fixture(scope="module")
def world(binaries, inv_moto, inv_osmem, tmp_path_factory) -> World:
    est = Estate.build(inv_moto.url)
    with AwsStub(moto_url=inv_moto.url) as stub:
        cases = est.populate_stub(stub, time.time())
        tmp = tmp_path_factory.mktemp("inventory")
        # capacities of the types in use, from the CLI (never hard-coded)
        types = sorted({i.type for u in est.units.values() for i in u.instances.values()}
                       | {d["class"][3:] for u in est.units.values() for d in u.rds.values() if d["class"] != NOT_EC2})
        out = cli_batch(est.creds[MANAGEMENT], [["--endpoint-url", inv_moto.url, "--region", REGIONS[0], "ec2",
                                                 "describe-instance-types", "--instance-types", *types]])[0]
        caps = {t["InstanceType"]: (t["VCpuInfo"]["DefaultVCpus"], t["MemoryInfo"]["SizeInMiB"]) for t in out["InstanceTypes"]}
        assert set(caps) == set(types), (types, caps)
        refused = aws_exe(["--endpoint-url", inv_moto.url, "ec2", "describe-instance-types", "--instance-types",
                           NOT_EC2[3:], "--output", "json"], est.creds[MANAGEMENT], REGIONS[0])
        assert refused.returncode != 0 and "InvalidInstanceType" in refused.stderr, \
            f"{NOT_EC2}: expected DescribeInstanceTypes to refuse {NOT_EC2[3:]}: {refused.stdout} {refused.stderr}"
        pipe = inventory_pipeline(tmp / "main", inv_moto.url, inv_osmem.url, stub.url)
        yield World(pipe, est, stub, caps, cases, inv_moto.url, inv_osmem.url, tmp)


@pytest.fixture(scope="module")
def run1(world) -> InvRun:
    r = run_inventory(world.pipe, world.stub)
    world.runs[1] = r
    return r


@pytest.fixture(scope="module")
def run2(world, run1) -> InvRun:
    """The same day, nothing changed in the estate; one new CloudTrail event for X and for Y."""
    now = time.time()
    for case in ("X", "Y"):
        acct, region, inst = world.cases[case]
        e = event(str(uuid.uuid4()), "CreateTags", now - 600, inst.id, account=acct, region=region, style="e_ms")
        world.stub.add_event(e, acct, region)
    r = run_inventory(world.pipe, world.stub)
    world.runs[2] = r
    return r


def _fail_with(run: InvRun, what: str, problems: list) -> None:
    if problems:
        pytest.fail(f"{what}:\n  " + "\n  ".join(problems[:60]) + f"\n--- stage output ---\n{run.describe()[-6000:]}",
                    pytrace=False)


# ====================================================================== 1. totals

def test_summaries_equal_what_was_created(world, run1):
    est = world.est
    assert "errors=0" in run1.fetch.out, run1.describe()
    summaries = run1.summaries()
    problems = []
    assert set(summaries) == set(est.units), f"summaries for {sorted(summaries)}, estate {sorted(est.units)}"
    for key, u in sorted(est.units.items()):
        got = summaries[key]
        missing = SUMMARY_KEYS - set(got)
        if missing:
            problems.append(f"{key}: summary lacks {sorted(missing)}")
        problems += [f"{key}: {d}" for d in summary_diff(got, expected_summary(u, world.caps, world.stub))]
    _fail_with(run1, "summary figures differ from the estate", problems)


def test_resource_documents_are_the_created_resources(world, run1):
    est = world.est
    problems = check_common(run1, est)
    ids = run1.ids()
    dup = [i for i, n in Counter(ids).items() if n > 1]
    if dup:
        problems.append(f"duplicate _ids in one run: {dup[:5]}")
    for key, u in sorted(est.units.items()):
        want = {
            "ec2.instance": set(u.instances), "ec2.image": set(u.images), "ec2.snapshot": u.snapshots,
            "ec2.volume": u.volumes, "ec2.security_group": set(u.sgs), "ec2.network_interface": set(u.enis),
            "ec2.internet_gateway": u.igws, "ec2.nat_gateway": u.nats, "ec2.transit_gateway": u.tgws,
            "rds.db_instance": set(u.rds), "rds.db_snapshot": u.db_snapshots, "cloudwatch.alarm": set(u.alarms),
            "backup.job": {j["BackupJobId"] for j in world.stub.backup_jobs(*key)},
        }
        for rtype, ids_ in want.items():
            got = {get_path(d, "resource.id") for d in run1.of(rtype, *key)}
            if got != set(ids_):
                problems.append(f"{key} {rtype}: documents for {sorted(got)[:6]}..., created {sorted(ids_)[:6]}... "
                                f"(extra {sorted(got - set(ids_))[:4]}, missing {sorted(set(ids_) - got)[:4]})")
        metrics = run1.of("cloudwatch.metric", *key)
        got_m = Counter((get_path(d, "aws.cloudwatch.metric")["MetricName"],
                         json.dumps(get_path(d, "aws.cloudwatch.metric").get("Dimensions"), sort_keys=True)) for d in metrics)
        want_m = Counter((n, json.dumps([{"Name": "InstanceId", "Value": i}], sort_keys=True)) for n, i in u.metrics)
        if got_m != want_m:
            problems.append(f"{key} cloudwatch.metric: {sorted(got_m)} != {sorted(want_m)}")
    types = Counter(get_path(d, "resource.type") for d in run1.docs)
    assert types["summary"] == len(est.units), types
    _fail_with(run1, "resource documents", problems)


def test_instance_and_database_enrichment(world, run1):
    est, caps = world.est, world.caps
    problems = []
    for key, u in sorted(est.units.items()):
        acct, region = key
        for inst in u.instances.values():
            d = run1.doc("ec2.instance", acct, region, inst.id)
            inv = d.get("inventory", {})
            where = f"{acct}/{region} {inst.name} {inst.id}"
            snaps = sorted(s for s, v in u.volume_snapshots.items() if v in inst.volumes)
            want = {"state": inst.state, "reservation_id": inst.reservation, "owner_id": acct, "vcpus": caps[inst.type][0],
                    "memory_mib": caps[inst.type][1], "capacity_known": True, "security_groups": inst.sgs,
                    "alarm_count": sum(1 for a, (i, _) in u.alarms.items() if i == inst.id)}
            for k, v in want.items():
                if not same_json(inv.get(k), v):
                    problems.append(f"{where}: inventory.{k} = {inv.get(k)!r}, want {v!r}")
            checks = [
                ("tags", sorted(inv.get("tags") or []), sorted(inst.tags)),
                ("alarms", sorted((a.get("name"), a.get("state")) for a in inv.get("alarms") or []),
                 sorted((a, s) for a, (i, s) in u.alarms.items() if i == inst.id)),
                ("metrics", sorted(inv.get("metrics") or []), sorted({m for m, i in u.metrics if i == inst.id})),
                ("volumes", sorted(inv.get("volumes") or []), sorted(inst.volumes)),
                ("snapshots", sorted(s.get("id") for s in inv.get("snapshots") or []), snaps),
            ]
            for name, got, w in checks:
                if got != w:
                    problems.append(f"{where}: inventory.{name} = {got}, want {w}")
            for s in inv.get("snapshots") or []:
                sd = run1.doc("ec2.snapshot", acct, region, s.get("id"))
                if s.get("state") != "completed" or s.get("start_time") != get_path(sd, "aws.ec2.snapshot")["StartTime"]:
                    problems.append(f"{where}: snapshot entry {s} (snapshot document: {get_path(sd, 'aws.ec2.snapshot')['StartTime']})")
            img = run1.doc("ec2.image", acct, region, inst.image)
            image = get_path(img, "aws.ec2.image")
            want_img = {"id": inst.image, "name": u.images[inst.image], "creation_date": image["CreationDate"], "owner_id": acct}
            if inv.get("image") != want_img:
                problems.append(f"{where}: inventory.image = {inv.get('image')}, want {want_img}")
        for ident, db in u.rds.items():
            d = run1.doc("rds.db_instance", acct, region, ident)
            inv = d.get("inventory", {})
            where = f"{acct}/{region} rds {ident}"
            eq = db["class"][3:]
            want = {"state": "available", "class": db["class"], "ec2_equivalent": eq, "security_groups": db["sgs"],
                    "capacity_known": eq in caps}
            if eq in caps:
                want.update(vcpus=caps[eq][0], memory_gib=caps[eq][1] / 1024)
            for k, v in want.items():
                if not same_json(inv.get(k), v):
                    problems.append(f"{where}: inventory.{k} = {inv.get(k)!r}, want {v!r}")
            if eq not in caps:
                guessed = {k: inv[k] for k in ("vcpus", "memory_gib", "memory_mib") if inv.get(k) is not None}
                if guessed:
                    problems.append(f"{where}: capacity of a class without an EC2 type must not be guessed: {guessed}")
    _fail_with(run1, "enrichment", problems)


# ====================================================================== 5. documents == AWS CLI

CLI_RESOURCES = [
    # (CLI args, list path in the output, id key, resource type, document path)
    (["ec2", "describe-instances"], ("Reservations", "Instances"), "InstanceId", "ec2.instance", "aws.ec2.instance"),
    (["ec2", "describe-security-groups"], ("SecurityGroups",), "GroupId", "ec2.security_group", "aws.ec2.security_group"),
    (["ec2", "describe-volumes"], ("Volumes",), "VolumeId", "ec2.volume", "aws.ec2.volume"),
    (["ec2", "describe-images", "--owners", "self"], ("Images",), "ImageId", "ec2.image", "aws.ec2.image"),
    (["ec2", "describe-snapshots", "--owner-ids", "self"], ("Snapshots",), "SnapshotId", "ec2.snapshot", "aws.ec2.snapshot"),
    (["ec2", "describe-network-interfaces"], ("NetworkInterfaces",), "NetworkInterfaceId", "ec2.network_interface",
     "aws.ec2.network_interface"),
    (["ec2", "describe-nat-gateways"], ("NatGateways",), "NatGatewayId", "ec2.nat_gateway", "aws.ec2.nat_gateway"),
    (["ec2", "describe-transit-gateways"], ("TransitGateways",), "TransitGatewayId", "ec2.transit_gateway", "aws.ec2.transit_gateway"),
    (["ec2", "describe-internet-gateways"], ("InternetGateways",), "InternetGatewayId", "ec2.internet_gateway",
     "aws.ec2.internet_gateway"),
    (["rds", "describe-db-instances"], ("DBInstances",), "DBInstanceIdentifier", "rds.db_instance", "aws.rds.db_instance"),
    (["rds", "describe-db-snapshots"], ("DBSnapshots",), "DBSnapshotIdentifier", "rds.db_snapshot", "aws.rds.db_snapshot"),
    (["cloudwatch", "describe-alarms"], ("MetricAlarms",), "AlarmName", "cloudwatch.alarm", "aws.cloudwatch.alarm"),
    (["backup", "list-backup-jobs"], ("BackupJobs",), "BackupJobId", "backup.job", "aws.backup.job"),
]


def _items(out: dict, path: tuple) -> list:
    items = out.get(path[0], [])
    for p in path[1:]:
        items = [x for it in items for x in it.get(p, [])]
    return items


def test_documents_equal_the_aws_cli_output(world, run1):
    est = world.est
    cw_model = query_only_cloudwatch(world.tmp / "cw-query-model")
    backup_shape = reference_parse.service_model("backup").operation_model("ListBackupJobs").output_shape
    # the in-process driver prints what the `aws` program prints
    exe = aws_exe(["--endpoint-url", world.moto_url, "ec2", "describe-instances", "--output", "json"], est.creds[MANAGEMENT], REGIONS[0])
    assert exe.returncode == 0, exe.stderr
    problems = []
    compared = Counter()

    def batch(acct: str) -> list:
        cmds = []
        for region in REGIONS:
            for args, *_ in CLI_RESOURCES:
                endpoint = world.stub.url if args[0] == "backup" else world.moto_url
                cmds.append(["--endpoint-url", endpoint, "--region", region] + args)
        return cli_batch(est.creds[acct], cmds, data_path=cw_model)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        outputs = dict(zip(est.accounts, pool.map(batch, est.accounts)))
    first = outputs[MANAGEMENT][0]
    if json.loads(exe.stdout) != first:
        problems.append("the CLI driver run in-process printed something else than the aws program for ec2 describe-instances")
    by_id = run1.by_id()
    for acct in est.accounts:
        outs = iter(outputs[acct])
        for region in REGIONS:
            for args, path, id_key, rtype, doc_path in CLI_RESOURCES:
                out = next(outs)
                items = _items(out, path)
                if rtype == "backup.job":
                    # JSON API: the CLI prints epoch numbers, documents hold ISO 8601 (tools/README.md)
                    items = [reference_parse._epoch_to_iso_walk(it, backup_shape.members["BackupJobs"].member) for it in items]
                if not items and rtype != "backup.job":
                    problems.append(f"{acct}/{region} {' '.join(args)}: the CLI printed nothing to compare")
                for it in items:
                    rid = it[id_key]
                    d = by_id.get(f"{rtype}:{acct}:{region}:{rid}")
                    if d is None:
                        problems.append(f"{acct}/{region} {rtype} {rid}: no document")
                        continue
                    try:
                        got = get_path(d, doc_path)
                    except KeyError:
                        problems.append(f"{acct}/{region} {rtype} {rid}: no {doc_path} in the document")
                        continue
                    if rtype == "rds.db_instance" and "LatestRestorableTime" in it:
                        # moto computes LatestRestorableTime as "now" on every call: it cannot agree with a
                        # later CLI call; it must be moto's now at the time of the fetch, as sent
                        got, it = dict(got), dict(it)
                        lrt = got.pop("LatestRestorableTime", None)
                        it.pop("LatestRestorableTime")
                        if not isinstance(lrt, str) or not run1.started - 2 <= parse_time(lrt).timestamp() <= run1.finished + 2:
                            problems.append(f"{acct}/{region} {rtype} {rid}: LatestRestorableTime {lrt!r} is not the fetch's time")
                    diff = json_diff(got, it)
                    if diff:
                        problems.append(f"{acct}/{region} {rtype} {rid}: " + "; ".join(diff[:4]))
                    compared[rtype] += 1
                n_docs = len(run1.of(rtype, acct, region))
                if n_docs != len(items):
                    problems.append(f"{acct}/{region} {rtype}: {n_docs} documents, the CLI lists {len(items)}")
    assert compared["ec2.instance"] == sum(len(u.instances) for u in est.units.values()), compared
    _fail_with(run1, f"documents differ from the AWS CLI's JSON (compared {dict(compared)})", problems)


# ====================================================================== 6. nothing rejected

def _check_loaded(run: InvRun, ids_so_far: set) -> list:
    problems = []
    lk = kv(run.load.out.strip().splitlines()[-1]) if run.load and run.load.out.strip() else {}
    tk = kv(run.transform.out.strip().splitlines()[-1]) if run.transform.out.strip() else {}
    if run.load is None or run.load.code != 0:
        problems.append("load did not exit 0")
    if int(tk.get("documents", -1)) != len(run.pairs):
        problems.append(f"transform says documents={tk.get('documents')}, its files hold {len(run.pairs)}")
    if int(lk.get("indexed", -1)) != len(run.pairs) + run.current_items or lk.get("deadlettered") != "0":
        problems.append(f"load: indexed={lk.get('indexed')} deadlettered={lk.get('deadlettered')}, transform wrote {len(run.pairs)} "
                        f"daily documents and {run.current_items} current-state/change items")
    if run.index_count != len(ids_so_far):
        problems.append(f"the index holds {run.index_count} documents after this run, {len(ids_so_far)} distinct "
                        f"(index, _id) were written")
    return problems


def test_no_document_is_rejected_by_the_index(world, run1, run2):
    problems = _check_loaded(run1, run1.placed())
    problems += _check_loaded(run2, run1.placed() | run2.placed())
    dl = Spool(world.pipe.spool.root, "inventory").deadletters()
    if dl:
        problems.append(f"dead letters: {[str(p) for p in dl]}: {dl[0].read_text()[:1500]}")
    idx = world.index
    assert set(idx.indices()) == {run1.index, run2.index}, idx.all_indices()
    _fail_with(run2, "documents rejected or lost", problems)


# ====================================================================== 2. a second run the same day

def test_second_run_the_same_day_changes_no_count(world, run1, run2):
    if run1.index != run2.index:
        pytest.skip("the two runs straddled midnight UTC")
    s1, s2 = run1.summaries(), run2.summaries()
    problems = [f"{k}: {d}" for k in sorted(s1) for d in summary_diff(s2.get(k, {}), s1[k])]
    res = lambda r: Counter((get_path(d, "resource.type"), get_path(d, "cloud.account.id"), get_path(d, "cloud.region"))  # noqa: E731
                            for d in r.docs if get_path(d, "resource.type") != "summary")
    if res(run1) != res(run2):
        problems.append(f"resource documents per type changed: {sorted((res(run2) - res(run1)).items())} / "
                        f"{sorted((res(run1) - res(run2)).items())}")
    ids1 = {i for i in run1.ids() if not i.startswith("summary:")}
    ids2 = {i for i in run2.ids() if not i.startswith("summary:")}
    if ids1 != ids2:
        problems.append(f"resource ids changed: +{sorted(ids2 - ids1)[:5]} -{sorted(ids1 - ids2)[:5]}")
    docs = world.index.docs(source=True)
    dup = {i: [ix for ix, _ in v] for i, v in docs.items() if len(v) > 1}
    if dup:
        problems.append(f"documents in more than one index: {list(dup.items())[:5]}")
    n_summaries = sum(1 for i in docs if i.startswith("summary:"))
    if len(docs) != len(ids1) + n_summaries or n_summaries != 2 * len(world.est.units):
        problems.append(f"index: {len(docs)} documents, {n_summaries} summaries; want {len(ids1)} resources + "
                        f"{2 * len(world.est.units)} summaries (one per account, region and run)")
    stale = [i for i in ids1 if docs.get(i) and get_path(docs[i][0][1]["_source"], "cloudspool.run_id") != run2.run_id]
    if stale:
        problems.append(f"resource documents not overwritten by the second run: {stale[:5]}")
    _fail_with(run2, "second run", problems)


# ====================================================================== 7. CloudTrail events and backups

def _expected_events(world, case: str, known_before: float) -> list:
    """The newest LOOKUP_EVENTS events of a case's instance in its own account and region that the
    stub served before a run started."""
    acct, region, inst = world.cases[case]
    evs = world.stub.events_for(inst.id, acct, region, added_before=known_before)[:LOOKUP_EVENTS]
    return [{"event_id": e["EventId"], "event_name": e["EventName"], "event_time": iso_of(e["EventTime"]),
             "event_source": e["EventSource"], "username": e["Username"]} for e, _ in evs]


def _events_of(run: InvRun, case: tuple) -> list:
    acct, region, inst = case
    inv = run.doc("ec2.instance", acct, region, inst.id).get("inventory", {})
    return inv.get("events"), inv.get("event_count")


def _sorted_events(evs) -> list:
    return sorted(evs or [], key=lambda e: (str(e.get("event_time")), str(e.get("event_id"))), reverse=True)


def test_lookup_events_and_backups_enrich_instances(world, run1):
    est, stub = world.est, world.stub
    problems = []
    for case in ("X", "Y", "M"):
        got, count = _events_of(run1, world.cases[case])
        want = _expected_events(world, case, run1.started)
        if _sorted_events(got) != want or count != len(want):
            problems.append(f"{case}: events {json.dumps(got)} (count {count}), want {json.dumps(want)}")
    quiet = [(a, r, i) for (a, r), u in est.units.items() for i in u.instances.values()
             if i.id not in {c[2].id for c in world.cases.values()}]
    for a, r, i in quiet[:6]:
        got, count = _events_of(run1, (a, r, i))
        if got not in ([], None) or count not in (0, None):
            problems.append(f"{a}/{r} {i.id}: events {got} (count {count}), it has none")
    # last backup: newest of the COMPLETED jobs for the instance and the completed snapshots of its volumes
    for (acct, region), u in sorted(est.units.items()):
        jobs = stub.backup_jobs(acct, region)
        for inst in u.instances.values():
            cands = [(iso_of(j["CompletionDate"]), "backup_job") for j in jobs
                     if j["State"] == "COMPLETED" and j["ResourceArn"].endswith(f":instance/{inst.id}")]
            for s, vol in u.volume_snapshots.items():
                if vol in inst.volumes:
                    cands.append((get_path(run1.doc("ec2.snapshot", acct, region, s), "aws.ec2.snapshot")["StartTime"], "snapshot"))
            inv = run1.doc("ec2.instance", acct, region, inst.id).get("inventory", {})
            got = (inv.get("last_backup_time"), inv.get("last_backup_source"))
            want = max(cands, key=lambda c: parse_time(c[0])) if cands else (None, None)
            if got != want:
                problems.append(f"{acct}/{region} {inst.name} {inst.id}: last backup {got}, want {want}")
        for ident, db in u.rds.items():
            cands = [iso_of(j["CompletionDate"]) for j in jobs if j["State"] == "COMPLETED" and j["ResourceArn"] == db["arn"]]
            cands += [get_path(d, "aws.rds.db_snapshot")["SnapshotCreateTime"] for d in run1.of("rds.db_snapshot", acct, region)
                      if get_path(d, "aws.rds.db_snapshot").get("DBInstanceIdentifier") == ident]
            want_t = max(cands, key=parse_time) if cands else None
            got_t = run1.doc("rds.db_instance", acct, region, ident).get("inventory", {}).get("last_backup_time")
            if got_t != want_t:
                problems.append(f"{acct}/{region} rds {ident}: last_backup_time {got_t}, want {want_t}")
    zacct, zregion, z = world.cases["Z"]
    zinv = run1.doc("ec2.instance", zacct, zregion, z.id)["inventory"]
    if zinv.get("last_backup_source") != "backup_job":
        problems.append(f"Z: last_backup_source {zinv.get('last_backup_source')}, want backup_job")
    # what the stub was asked
    lookups = [e for e in run1.stub_log if e["op"] == "LookupEvents"]
    bad = [e for e in run1.stub_log if e["status"] != 200]
    if bad:
        problems.append(f"stub refused requests: {[(e['op'], e['status'], e['service_scope'], e['body']) for e in bad][:5]}")
    asked = {}
    for e in lookups:
        attrs = (e["body"] or {}).get("LookupAttributes") or []
        if len(attrs) != 1 or attrs[0].get("AttributeKey") != "ResourceName":
            problems.append(f"LookupEvents without a single ResourceName attribute: {e['body']}")
            continue
        asked.setdefault((e["account"], e["region"], attrs[0]["AttributeValue"]), []).append(e)
    for (acct, region), u in est.units.items():
        for inst in u.instances.values():
            if (acct, region, inst.id) not in asked:
                problems.append(f"LookupEvents never asked for {inst.id} in {acct}/{region}")
    foreign = [k for k in asked if k[2] not in est.units.get(k[:2], Unit("", "")).instances]
    if foreign:
        problems.append(f"LookupEvents asked for instances of another account/region: {foreign[:5]}")
    y = world.cases["Y"]
    ypages = asked.get((y[0], y[1], y[2].id), [])
    if len(ypages) < 2 or not (ypages[-1]["body"] or {}).get("NextToken"):
        problems.append(f"Y: the second page of LookupEvents was not asked for: {[p['body'] for p in ypages]}")
    for (acct, region), reqs in _by_unit(lookups).items():
        ts = sorted(e["t"] for e in reqs)
        gaps = [b - a for a, b in zip(ts, ts[1:])]
        # cloudspool spaces its requests 0.5 s apart, the first two from the first answer (that request also
        # opened the connection, so its send time says little about its arrival); the stub stamps arrivals.
        if gaps and min(gaps) < 0.45:
            problems.append(f"LookupEvents in {acct}/{region} faster than 2/s: gaps {[round(g, 3) for g in gaps]}")
    jobs_req = [e for e in run1.stub_log if e["op"] == "ListBackupJobs"]
    for (acct, region), u in est.units.items():
        mine = [e for e in jobs_req if (e["account"], e["region"]) == (acct, region)]
        pages = -(-len(stub.backup_jobs(acct, region)) // 2) or 1
        if len(mine) != pages:
            problems.append(f"ListBackupJobs in {acct}/{region}: asked {len(mine)} times, {pages} pages exist")
    for e in run1.stub_log:
        if e["account"] != MANAGEMENT and not e["session_token"]:
            problems.append(f"{e['op']} for {e['account']} without the assumed role's session token")
            break
    _fail_with(run1, "LookupEvents / ListBackupJobs", problems)


def _by_unit(reqs: list) -> dict:
    out: dict = {}
    for e in reqs:
        out.setdefault((e["account"], e["region"]), []).append(e)
    return out


LOOKUP_OVERLAP_SECONDS = 900


def test_next_run_asks_events_after_the_newest_and_keeps_the_old(world, run1, run2):
    problems = []
    for case in ("X", "Y"):
        acct, region, inst = world.cases[case]
        run1_events, _ = _events_of(run1, world.cases[case])
        newest = max(number(e["event_time"]) for e in run1_events)
        reqs = [e for e in run2.stub_log if e["op"] == "LookupEvents" and (e["account"], e["region"]) == (acct, region)
                and ((e["body"] or {}).get("LookupAttributes") or [{}])[0].get("AttributeValue") == inst.id]
        if not reqs:
            problems.append(f"{case}: not looked up in the second run")
        for r in reqs:
            st = (r["body"] or {}).get("StartTime")
            # cloudspool looks again from 15 minutes before the newest event it knows (CloudTrail shows
            # events to LookupEvents late) and drops the ones it already has: never from the start again.
            if st is None or number(st) is None or not (newest - LOOKUP_OVERLAP_SECONDS - 1 <= number(st) <= newest):
                problems.append(f"{case}: second run asked StartTime={st!r}; the newest event already known is "
                                f"{datetime.fromtimestamp(newest, timezone.utc).isoformat()} ({newest})")
        got, count = _events_of(run2, world.cases[case])
        want = _expected_events(world, case, run2.started)
        if _sorted_events(got) != want or count != len(want):
            problems.append(f"{case}: after the second run events {json.dumps(got)} (count {count}), "
                            f"want the newest {LOOKUP_EVENTS} of old and new: {json.dumps(want)}")
    _fail_with(run2, "events across runs", problems)


# ====================================================================== 8. security groups

def test_security_groups_attached_and_unattached(world, run1):
    problems = []
    for (acct, region), u in sorted(world.est.units.items()):
        attach = u.sg_attachments()
        for gid, name in u.sgs.items():
            inv = run1.doc("ec2.security_group", acct, region, gid).get("inventory", {})
            want = attach.get(gid, set())
            got = inv.get("attached") or []
            got_ids = {a.get("id") for a in got}
            where = f"{acct}/{region} {name} {gid}"
            if got_ids != {i for _, i in want} or inv.get("attached_count") != len(want) or inv.get("is_attached") is not bool(want):
                problems.append(f"{where}: attached {got} count {inv.get('attached_count')} is_attached {inv.get('is_attached')}, "
                                f"want {sorted(want, key=str)}")
            for t, i in want:
                if t and not any(a.get("id") == i and a.get("type") == t for a in got):
                    problems.append(f"{where}: {i} should be listed as type {t}: {got}")
            if name == "unused-legacy" and (inv.get("is_attached") is not False or got):
                problems.append(f"{where}: the group attached to nothing: {inv}")
        s = run1.summaries()[(acct, region)]
        unattached = sum(1 for g in u.sgs if not attach.get(g))
        if s.get("security_groups_unattached") != unattached or s.get("security_groups") != len(u.sgs):
            problems.append(f"{acct}/{region}: summary security_groups={s.get('security_groups')} "
                            f"unattached={s.get('security_groups_unattached')}, want {len(u.sgs)} / {unattached}")
    _fail_with(run1, "security groups", problems)


# ====================================================================== 3. a stopped instance

def test_stopped_instance_leaves_running_totals(world, run2):
    est = world.est
    acct, region = est.members[1], REGIONS[0]
    u = est.unit(acct, region)
    inst = u.by_name("app-1")
    ec2 = est.client(acct, "ec2", region)
    ec2.stop_instances(InstanceIds=[inst.id])
    inst.state = "stopped"
    try:
        run3 = run_inventory(world.pipe, world.stub)
        s2, s3 = run2.summaries(), run3.summaries()
        problems = []
        before, after = s2[(acct, region)], s3[(acct, region)]
        vc, mem = world.caps[inst.type]
        if after.get("running_vcpus") != before.get("running_vcpus") - vc or \
                after.get("running_memory_mib") != before.get("running_memory_mib") - mem:
            problems.append(f"running totals {before.get('running_vcpus')}/{before.get('running_memory_mib')} -> "
                            f"{after.get('running_vcpus')}/{after.get('running_memory_mib')}; stopping a {inst.type} "
                            f"({vc} vCPU, {mem} MiB) should remove exactly that")
        problems += [f"{acct}/{region}: {d}" for d in summary_diff(after, expected_summary(u, world.caps, world.stub))]
        for key in s2:
            if key != (acct, region):
                problems += [f"{key} (untouched): {d}" for d in summary_diff(s3.get(key, {}), s2[key])]
        doc = run3.doc("ec2.instance", acct, region, inst.id)
        if doc.get("inventory", {}).get("state") != "stopped" or get_path(doc, "aws.ec2.instance")["State"]["Name"] != "stopped":
            problems.append(f"instance document state: {doc.get('inventory', {}).get('state')}")
        hits = world.index.docs().get(f"ec2.instance:{acct}:{region}:{inst.id}", [])
        if len(hits) != 1:
            problems.append(f"the instance is {len(hits)} times in the index")
        problems += _check_loaded(run3, set().union(*(r.placed() for r in world.runs.values())) | run3.placed())
        _fail_with(run3, "stopped instance", problems)
    finally:
        ec2.start_instances(InstanceIds=[inst.id])
        inst.state = "running"


# ====================================================================== 4. a role that cannot be assumed

STS_DENIED = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
              '<Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/cloudspool is not authorized to perform: '
              'sts:AssumeRole on resource: arn:aws:iam::{account}:role/{role}</Message></Error>'
              '<RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>')


def test_unassumable_role_makes_the_run_partial(world, osmem, tmp_path):
    est = world.est
    denied = est.members[-1]
    with FaultProxy(world.moto_url) as sts:
        sts.add_rule(mode="status", status=403, method="POST", count=None, content_type="text/xml",
                     body_regex=rf"RoleArn=arn(%3A|:)aws(%3A|:)iam(%3A|:)(%3A|:){denied}(%3A|:)role",
                     body=STS_DENIED.format(account=denied, role=ROLE))
        pipe = inventory_pipeline(tmp_path, world.moto_url, osmem.url, world.stub.url, sts_url=sts.url, lookup_events=0)
        run = run_inventory(pipe, world.stub, fetch_codes=(3,))
        denials = sts.stats()["faults"].get("status", 0)
    problems = []
    if denials < 1:
        problems.append("the STS proxy never saw the AssumeRole of the denied account")
    if denied not in run.fetch.err:
        problems.append(f"fetch's errors do not name the account {denied}")
    reports = sorted((pipe.spool.root / "runs" / "fetch").glob("*.json"))
    rep = json.loads(reports[-1].read_text()) if reports else {}
    if rep.get("exitCode") != 3 or not any(denied in e for e in rep.get("errors", [])):
        problems.append(f"run report: exit {rep.get('exitCode')}, errors {rep.get('errors')}")
    s = run.summaries()
    want_units = {k for k in est.units if k[0] != denied}
    if set(s) != want_units:
        problems.append(f"summaries for {sorted(s)}, want {sorted(want_units)}")
    if [d for d in run.docs if get_path(d, "cloud.account.id") == denied]:
        problems.append(f"documents of the denied account {denied}")
    for key in sorted(want_units & set(s)):
        problems += [f"{key}: {d}" for d in summary_diff(s[key], expected_summary(est.units[key], world.caps, world.stub))]
    problems += _check_loaded(run, run.placed())
    _fail_with(run, "unassumable role", problems)


# ====================================================================== errors of one API

def _one_account_pipeline(world, osmem, tmp_path, **over) -> Pipeline:
    return inventory_pipeline(tmp_path, world.moto_url, osmem.url, world.stub.url, organizations=False,
                              accounts=[world.est.members[0]], regions=[REGIONS[0]], **over)


def test_denied_api_is_recorded_and_the_run_goes_on(world, osmem, tmp_path):
    acct = world.est.members[0]
    world.stub.fail("ListBackupJobs", account=acct, region=REGIONS[0], status=403, code="AccessDeniedException",
                    message=f"User: arn:aws:sts::{acct}:assumed-role/{ROLE}/cloudspool is not authorized to perform: backup:ListBackupJobs")
    try:
        pipe = _one_account_pipeline(world, osmem, tmp_path, lookup_events=0)
        run = run_inventory(pipe, world.stub, fetch_codes=(3,), load=False)
    finally:
        world.stub.clear_faults()
    problems = []
    if not re.search(r"ListBackupJobs.*" + acct + "|" + acct + r".*ListBackupJobs", run.fetch.err):
        problems.append(f"no error naming ListBackupJobs and {acct}")
    u = world.est.unit(acct, REGIONS[0])
    want = expected_summary(u, world.caps, world.stub)
    want["backup_jobs"] = 0
    s = run.summaries()
    if set(s) != {(acct, REGIONS[0])}:
        problems.append(f"summaries {sorted(s)}")
    else:
        problems += summary_diff(s[(acct, REGIONS[0])], want)
    # The documents say the backup figures are unknown, not zero.
    for d in run.of("summary"):
        if get_path(d, "inventory.complete") is not False or get_path(d, "inventory.failed_calls") != ["backup ListBackupJobs"]:
            problems.append(f"summary: complete={get_path(d, 'inventory.complete')!r} failed_calls={get_path(d, 'inventory.failed_calls')!r}")
    instances = run.of("ec2.instance")
    if not instances or any(get_path(d, "inventory.backups_known") is not False for d in instances):
        problems.append(f"instances: backups_known {[get_path(d, 'inventory.backups_known') for d in instances]}")
    if any(get_path(d, "inventory.events_known") is not True for d in instances):
        problems.append("instances: events_known should stay true")
    _fail_with(run, "denied API", problems)


def test_throttled_to_the_end_fails_the_run(world, osmem, tmp_path):
    acct = world.est.members[0]
    world.stub.fail("LookupEvents", account=acct, region=REGIONS[0], status=400, code="ThrottlingException",
                    message="Rate exceeded")
    t0 = time.time()
    try:
        pipe = _one_account_pipeline(world, osmem, tmp_path, lookup_events=1)
        r = pipe.run("fetch", "--collector", "inventory")
    finally:
        world.stub.clear_faults()
    assert r.code == 1, f"throttled until the retries ran out: expected exit 1\n{r.describe()}"
    assert "LookupEvents" in r.err and "Throttling" in r.err, r.describe()
    retries = pipe.cfg["aws"]["max_retries"]
    per_instance = Counter(((e["body"] or {}).get("LookupAttributes") or [{}])[0].get("AttributeValue")
                           for e in world.stub.requests("LookupEvents", since=t0) if e["account"] == acct)
    assert per_instance and set(per_instance.values()) == {1 + retries}, \
        f"LookupEvents attempts per instance {dict(per_instance)}, want 1 + max_retries ({retries})\n{r.describe()}"
    # the pace slows after each throttled answer; once one instance ran out of retries, the unit's other
    # instances are left for the next run instead of each taking the slowest pace's minute
    assert len(per_instance) == 1, f"LookupEvents went on after the retries ran out: {dict(per_instance)}\n{r.describe()}"
    assert "not asked in this run" in r.err, r.describe()
