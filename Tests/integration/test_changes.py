"""The inventory's current-state index (awscli-current) and change feed (awscli-changes-YYYY.MM).

One moto_server for the module: an organization (management account + one member account
entered through the read-only role), instances, security groups and volumes in eu-west-1 of
both. Each step collects (fetch inventory [+ cloudtrail], transform, load) and compares:

 1. first collection: no change document; the current-state index equals what moto lists;
 2. nothing changed: zero change documents;
 3. tags, instance type, stop, security group rule, termination, deleted volume and group,
    new group, with CloudTrail events for those calls put in the trail bucket: exactly the
    expected created/modified/deleted documents (the only others allowed are the network
    interfaces and volumes of the instances touched), each linked to its CloudTrail event;
    the current-state index equals what moto lists;
 4. the member account's role cannot be assumed: no change at all for it (nothing deleted),
    and its resources stay in the current-state index.
Replaying an old inventory run by hand changes neither the state nor the current index.
"""

from __future__ import annotations

import gzip
import io
import json
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

import peers
import support
from aws_stub import AwsStub
from faultproxy import FaultProxy
from support import DELETE, Pipeline, get_path, http

MANAGEMENT = "123456789012"
REGION = "eu-west-1"
ROLE = "EnergyLogReadOnly"
STEM = "awscli"
TRAIL_BUCKET = "changes-trail"
STS_DENIED = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
              '<Code>AccessDenied</Code><Message>not authorized to perform: sts:AssumeRole on {account}</Message></Error>'
              '<RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>')

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class World:
    def __init__(self, moto_url: str, osmem_url: str, stub: AwsStub, tmp: Path):
        import boto3
        self.boto3 = boto3
        self.moto_url = moto_url
        self.osmem_url = osmem_url
        self.stub = stub
        self.tmp = tmp
        self.creds = {MANAGEMENT: {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}}
        org = self.client(MANAGEMENT, "organizations", "us-east-1")
        org.create_organization(FeatureSet="ALL")
        self.member = org.create_account(AccountName="member", Email="m@example.com")["CreateAccountStatus"]["AccountId"]
        c = self.client(MANAGEMENT, "sts", "us-east-1").assume_role(
            RoleArn=f"arn:aws:iam::{self.member}:role/{ROLE}", RoleSessionName="builder")["Credentials"]
        self.creds[self.member] = {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                                   "aws_session_token": c["SessionToken"]}
        self.s3 = self.client(MANAGEMENT, "s3", REGION)
        self.s3.create_bucket(Bucket=TRAIL_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        self.pipe = Pipeline(tmp, moto_url, self.s3, TRAIL_BUCKET, osmem_url, prefix="")
        self.pipe.write_config(
            cloudtrail={"bucket": TRAIL_BUCKET, "prefix": "", "start_date": datetime.now(timezone.utc).date().isoformat()},
            inventory={"organizations": True, "role_name": ROLE, "regions": [REGION], "lookup_events": 0},
            index={"names": {"inventory": STEM}})
        self.pipe.extra_env.update({"AWS_ENDPOINT_URL_BACKUP": stub.url, "AWS_ENDPOINT_URL_CLOUDTRAIL": stub.url})
        self.built = {}
        for account in (MANAGEMENT, self.member):
            self.built[account] = self.build(account)

    def client(self, account: str, service: str, region: str = REGION):
        return self.boto3.client(service, endpoint_url=self.moto_url, region_name=region, **self.creds[account])

    def build(self, account: str) -> dict:
        ec2 = self.client(account, "ec2")
        vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.1.0/24")["Subnet"]["SubnetId"]
        groups = [ec2.create_security_group(GroupName=f"g{n}", Description=f"group {n}", VpcId=vpc)["GroupId"] for n in range(2)]
        image = ec2.register_image(Name="base", RootDeviceName="/dev/sda1")["ImageId"]
        instances = []
        for n in range(3):
            r = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro", SubnetId=subnet,
                                  SecurityGroupIds=[groups[0]],
                                  TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": f"web-{n}"}]}])
            instances.append(r["Instances"][0]["InstanceId"])
        volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8)["VolumeId"]
        return {"vpc": vpc, "groups": groups, "instances": instances, "volume": volume, "image": image}

    # ---- the stages
    def collect(self, *collectors: str, fetch_codes=(0,)) -> dict:
        spool = support.Spool(self.pipe.spool.root, "changes")
        before = set(spool.ndjson_files())
        args = [a for c in (collectors or ("inventory",)) for a in ("--collector", c)]
        self.pipe.expect("fetch", *args, codes=fetch_codes)
        self.pipe.expect("transform")
        self.pipe.expect("load")
        lines = []
        for f in spool.ndjson_files():
            if f not in before:
                lines += [json.loads(x) for x in f.read_bytes().splitlines()]
        out = {"changes": [], "deletes": [], "current": []}
        i = 0
        while i < len(lines):
            (op, meta), = lines[i].items()
            if op == "delete":
                out["deletes"].append(meta["_id"])
                i += 1
                continue
            doc = lines[i + 1]
            i += 2
            if meta["_index"].startswith(f"{STEM}-changes-"):
                out["changes"].append(doc)
            else:
                assert meta["_index"] == f"{STEM}-current", meta
                out["current"].append(meta["_id"])
        return out

    # ---- the index
    def search(self, index: str, query: dict | None = None) -> list:
        http("POST", f"{self.osmem_url}/_refresh")
        st, body = http("POST", f"{self.osmem_url}/{index}/_search",
                        {"size": 10000, "query": query or {"match_all": {}}})
        assert st == 200, body
        return body["hits"]["hits"]

    def current_ids(self) -> set:
        return {h["_id"] for h in self.search(f"{STEM}-current")}

    def moto_ids(self) -> set:
        """The ids the current-state index must hold, from what moto lists now."""
        ids = set()
        for account in (MANAGEMENT, self.member):
            ec2 = self.client(account, "ec2")
            for r in ec2.describe_instances()["Reservations"]:
                for i in r["Instances"]:
                    ids.add(f"ec2.instance:{account}:{REGION}:{i['InstanceId']}")
            for g in ec2.describe_security_groups()["SecurityGroups"]:
                ids.add(f"ec2.security_group:{account}:{REGION}:{g['GroupId']}")
            for v in ec2.describe_volumes()["Volumes"]:
                ids.add(f"ec2.volume:{account}:{REGION}:{v['VolumeId']}")
            for n in ec2.describe_network_interfaces()["NetworkInterfaces"]:
                ids.add(f"ec2.network_interface:{account}:{REGION}:{n['NetworkInterfaceId']}")
            for i in ec2.describe_images(Owners=["self"])["Images"]:
                ids.add(f"ec2.image:{account}:{REGION}:{i['ImageId']}")
            for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]:
                ids.add(f"ec2.snapshot:{account}:{REGION}:{s['SnapshotId']}")
            for g in ec2.describe_internet_gateways()["InternetGateways"]:
                ids.add(f"ec2.internet_gateway:{account}:{REGION}:{g['InternetGatewayId']}")
            ids.add(f"summary:{account}:{REGION}")
        return ids

    def current_of(self, types: set) -> set:
        return {i for i in self.current_ids() if i.split(":")[0] in types | {"summary"}}

    # ---- CloudTrail
    def put_events(self, account: str, events: list) -> None:
        """One CloudTrail log file holding `events` (name, time, requestParameters, responseElements)."""
        now = datetime.now(timezone.utc)
        records = []
        for name, when, request, response in events:
            records.append({
                "eventVersion": "1.08", "eventID": str(uuid.uuid4()), "eventName": name, "eventSource": "ec2.amazonaws.com",
                "eventTime": datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "awsRegion": REGION, "recipientAccountId": account, "readOnly": False, "eventType": "AwsApiCall",
                "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{account}:user/alice", "userName": "alice"},
                "requestParameters": request, "responseElements": response,
            })
        body = io.BytesIO()
        with gzip.GzipFile(fileobj=body, mode="wb") as z:
            z.write(json.dumps({"Records": records}).encode())
        stamp = now.strftime("%Y%m%dT%H%MZ")
        key = (f"AWSLogs/{account}/CloudTrail/{REGION}/{now:%Y/%m/%d}/"
               f"{account}_CloudTrail_{REGION}_{stamp}_{uuid.uuid4().hex[:16]}.json.gz")
        self.s3.put_object(Bucket=TRAIL_BUCKET, Key=key, Body=body.getvalue())
        return [r["eventID"] for r in records]


@pytest.fixture(scope="module")
def world(binaries, peer_logs, tmp_path_factory):
    moto = peers.start_moto(log_dir=str(peer_logs))
    osmem = peers.start_osmem(log_dir=str(peer_logs))
    try:
        with AwsStub(moto_url=moto.url) as stub:
            yield World(moto.url, osmem.url, stub, tmp_path_factory.mktemp("changes"))
    finally:
        moto.stop()
        osmem.stop()


TYPES = {"ec2.instance", "ec2.security_group", "ec2.volume", "ec2.network_interface", "ec2.image", "ec2.snapshot", "ec2.internet_gateway"}


@pytest.fixture(scope="module")
def steps(world) -> dict:
    out = {}
    out[1] = world.collect()
    out["current1"] = (world.current_of(TYPES), world.moto_ids())
    time.sleep(1.1)  # a new run id second
    out[2] = world.collect()

    # ---- step 3: change the management account's estate, with the CloudTrail events of each call
    b = world.built[MANAGEMENT]
    ec2 = world.client(MANAGEMENT, "ec2")
    a_inst, b_inst, c_inst = b["instances"]
    g_keep, g_gone = b["groups"]
    inst_c = ec2.describe_instances(InstanceIds=[c_inst])["Reservations"][0]["Instances"][0]
    out["root_volumes"] = {m["Ebs"]["VolumeId"] for m in inst_c.get("BlockDeviceMappings", [])}
    t = time.time()
    ec2.create_tags(Resources=[a_inst], Tags=[{"Key": "team", "Value": "payments"}])
    ec2.stop_instances(InstanceIds=[b_inst])
    ec2.modify_instance_attribute(InstanceId=b_inst, InstanceType={"Value": "m5.large"})
    ec2.authorize_security_group_ingress(GroupId=g_keep, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    ec2.terminate_instances(InstanceIds=[c_inst])
    ec2.delete_volume(VolumeId=b["volume"])
    ec2.delete_security_group(GroupId=g_gone)
    g_new = ec2.create_security_group(GroupName="new", Description="new group", VpcId=b["vpc"])["GroupId"]
    events = {
        a_inst: ("CreateTags", {"resourcesSet": {"items": [{"resourceId": a_inst}]}, "tagSet": {"items": [{"key": "team", "value": "payments"}]}}, None),
        b_inst: ("ModifyInstanceAttribute", {"instanceId": b_inst, "instanceType": {"value": "m5.large"}}, {"_return": True}),
        g_keep: ("AuthorizeSecurityGroupIngress", {"groupId": g_keep}, {"_return": True}),
        c_inst: ("TerminateInstances", {"instancesSet": {"items": [{"instanceId": c_inst}]}}, None),
        b["volume"]: ("DeleteVolume", {"volumeId": b["volume"]}, None),
        g_gone: ("DeleteSecurityGroup", {"groupId": g_gone}, None),
        g_new: ("CreateSecurityGroup", {"groupName": "new", "vpcId": b["vpc"]}, {"groupId": g_new}),
    }
    ids = world.put_events(MANAGEMENT, [(name, t + n, req, resp) for n, (name, req, resp) in enumerate(events.values())])
    # an event about another account's resource with the same kind of id must not be linked
    world.put_events(world.member, [("CreateTags", t, {"resourcesSet": {"items": [{"resourceId": a_inst}]}}, None)])
    out["event_ids"] = dict(zip(events, ids))
    out["event_names"] = {rid: e[0] for rid, e in events.items()}
    out["touched"] = {"a": a_inst, "b": b_inst, "c": c_inst, "g_keep": g_keep, "g_gone": g_gone, "g_new": g_new, "volume": b["volume"]}
    time.sleep(1.1)
    out[3] = world.collect("cloudtrail", "inventory")
    out["current3"] = (world.current_of(TYPES), world.moto_ids())

    # ---- step 4: the member account cannot be entered; its resources are deleted in moto meanwhile
    member = world.built[world.member]
    world.client(world.member, "ec2").delete_volume(VolumeId=member["volume"])
    with FaultProxy(world.moto_url) as sts:
        sts.add_rule(mode="status", status=403, method="POST", count=None, content_type="text/xml",
                     body_regex=rf"RoleArn=arn(%3A|:)aws(%3A|:)iam(%3A|:)(%3A|:){world.member}(%3A|:)role",
                     body=STS_DENIED.format(account=world.member))
        world.pipe.extra_env["AWS_ENDPOINT_URL_STS"] = sts.url
        try:
            time.sleep(1.1)
            out[4] = world.collect(fetch_codes=(3,))
        finally:
            world.pipe.extra_env.pop("AWS_ENDPOINT_URL_STS")
    return out


def _key(doc: dict) -> tuple:
    return (get_path(doc, "change.action"), get_path(doc, "resource.type"), get_path(doc, "resource.id"))


def test_first_collection_has_no_changes_and_current_equals_moto(world, steps):
    assert steps[1]["changes"] == [] and steps[1]["deletes"] == []
    got, want = steps["current1"]
    assert got == want, f"missing {sorted(want - got)[:5]}, extra {sorted(got - want)[:5]}"


def test_nothing_changed_gives_zero_changes(world, steps):
    assert steps[2]["changes"] == [], [_key(d) for d in steps[2]["changes"]]
    assert steps[2]["deletes"] == []


def test_changes_are_exactly_the_ones_made(world, steps):
    t = steps["touched"]
    want = {("modified", "ec2.instance", t["a"]), ("modified", "ec2.instance", t["b"]), ("modified", "ec2.instance", t["c"]),
            ("modified", "ec2.security_group", t["g_keep"]), ("deleted", "ec2.security_group", t["g_gone"]),
            ("created", "ec2.security_group", t["g_new"]), ("deleted", "ec2.volume", t["volume"])}
    got = [_key(d) for d in steps[3]["changes"]]
    assert len(got) == len(set(got)), "a change written twice"
    # Side effects AWS (and moto) have of those calls: the network interfaces and root volumes of the
    # stopped and terminated instances. Nothing else may change.
    ec2 = world.client(MANAGEMENT, "ec2")
    allowed = set(steps["root_volumes"])
    for n in ec2.describe_network_interfaces()["NetworkInterfaces"]:
        if get_path(n, "Attachment.InstanceId") in (t["b"], t["c"]):
            allowed.add(n["NetworkInterfaceId"])
    unexpected = [k for k in set(got) - want if k[2] not in allowed]
    assert want <= set(got), f"missing changes: {sorted(want - set(got))}"
    assert not unexpected, f"changes nobody made: {unexpected}"
    assert all(get_path(d, "cloud.account.id") == MANAGEMENT for d in steps[3]["changes"])


def test_modified_resources_say_what_changed(world, steps):
    t = steps["touched"]
    docs = {get_path(d, "resource.id"): d for d in steps[3]["changes"]}
    a = docs[t["a"]]["change"]
    assert a["paths"] == ["Tags[team]"], a["paths"]
    assert a["changes"] == [{"path": "Tags[team]", "old": None, "new": "payments"}]
    b = {c["path"]: c for c in docs[t["b"]]["change"]["changes"]}
    assert b["InstanceType"]["old"] == "t3.micro" and b["InstanceType"]["new"] == "m5.large"
    assert b["State.Name"]["old"] == "running" and b["State.Name"]["new"] == "stopped"
    c = {c["path"]: c for c in docs[t["c"]]["change"]["changes"]}
    assert c["State.Name"]["new"] == "terminated"
    g = docs[t["g_keep"]]["change"]["paths"]
    assert any(p.startswith("IpPermissions") for p in g), g
    gone = docs[t["g_gone"]]
    assert gone["change"]["action"] == "deleted" and "paths" not in gone["change"]
    for d in steps[3]["changes"]:
        w = d["change"]["window"]
        assert w["start"] < w["end"] == d["@timestamp"]


def test_changes_are_linked_to_their_cloudtrail_events(world, steps):
    docs = {get_path(d, "resource.id"): d for d in steps[3]["changes"]}
    for rid, event_id in steps["event_ids"].items():
        events = docs[rid]["change"]["events"]
        assert [e["id"] for e in events] == [event_id], (rid, events)
        assert events[0]["name"] == steps["event_names"][rid]
        assert events[0]["user"] == f"arn:aws:iam::{MANAGEMENT}:user/alice"
    # the side-effect changes have no event of their own
    for rid, d in docs.items():
        if rid not in steps["event_ids"]:
            assert d["change"]["events"] == [], (rid, d["change"]["events"])


def test_change_documents_are_indexed_and_searchable(world, steps):
    hits = world.search(f"{STEM}-changes-*", {"term": {"change.action": "deleted"}})
    got = {h["_source"]["resource"]["id"] for h in hits}
    assert got == {steps["touched"]["g_gone"], steps["touched"]["volume"]} | steps["root_volumes"]
    hits = world.search(f"{STEM}-changes-*", {"range": {"change.window.end": {"gte": "now-1h"}}})
    assert len(hits) == len(steps[3]["changes"])


def test_current_state_follows_moto_after_changes(world, steps):
    got, want = steps["current3"]
    assert got == want, f"missing {sorted(want - got)[:5]}, extra {sorted(got - want)[:5]}"
    deleted = {f"ec2.security_group:{MANAGEMENT}:{REGION}:{steps['touched']['g_gone']}",
               f"ec2.volume:{MANAGEMENT}:{REGION}:{steps['touched']['volume']}"}
    assert deleted <= set(steps[3]["deletes"])


def test_unenterable_account_deletes_nothing(world, steps):
    member = world.member
    assert [d for d in steps[4]["changes"] if get_path(d, "cloud.account.id") == member] == []
    assert not [i for i in steps[4]["deletes"] if f":{member}:" in i]
    vol = f"ec2.volume:{member}:{REGION}:{world.built[member]['volume']}"
    assert vol in world.current_ids(), "a resource of the account that could not be entered left the current-state index"
    assert steps[4]["changes"] == [], [_key(d) for d in steps[4]["changes"]]


def test_replaying_an_old_run_changes_nothing(world, steps):
    state_dir = world.pipe.spool.root / "state" / "inventory-current"
    before = {p.name: p.read_bytes() for p in state_dir.iterdir()}
    current = world.current_ids()
    first = sorted((world.pipe.spool.root / "raw" / "inventory").iterdir())[0]
    world.pipe.expect("transform", "--replay", str(first))
    world.pipe.expect("load")
    assert {p.name: p.read_bytes() for p in state_dir.iterdir()} == before
    assert world.current_ids() == current


def test_same_output_for_1_2_and_5_workers(world, steps):
    """transform.workers: the accounts and regions of an inventory run are built on several workers and
    written in order, so every raw run of the steps above gives the same daily, current-state and change
    NDJSON, and the same change-feed state, for any number of workers."""
    import shutil
    root = world.pipe.spool.root
    outputs = {}
    for workers in (1, 2, 5):
        other = world.tmp / f"workers-{workers}"
        shutil.copytree(root / "raw" / "inventory", other / "spool" / "raw" / "inventory")
        shutil.copytree(root / "state" / "resource-events", other / "spool" / "state" / "resource-events")
        cfg = world.pipe.write_config_copy(other / "cloudspool.yaml", spool=str(other / "spool"), transform={"workers": workers})
        r = world.pipe.run("transform", config_file=cfg)
        assert r.code in (0, 3), r.describe()
        got = {}
        for folder in ("ndjson/inventory", "ndjson/changes", "state/inventory-current"):
            base = other / "spool" / folder
            got[folder] = {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}
        got["summary"] = r.out.strip().splitlines()[-1].split(" seconds=")[0]
        outputs[workers] = got
    assert len(outputs[1]["ndjson/inventory"]) >= 4 and outputs[1]["ndjson/changes"] and outputs[1]["state/inventory-current"]
    assert outputs[2] == outputs[1]
    assert outputs[5] == outputs[1]
