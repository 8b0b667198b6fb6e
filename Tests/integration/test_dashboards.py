"""Dashboards (issue 11): dashboards/cloudspool-dashboards.ndjson, proven through the queries its panels run.

No Kibana can run here, so:

* structure: every saved object parses; every reference (dashboard -> panel, panel -> index
  pattern / saved search, control -> index pattern) resolves; ids are stable and the committed
  NDJSON is what dashboards/generate.py writes; every view the original integration names is
  present under its exact title in its section; Navigation links every section; each Selector
  is an input-controls panel over its section's index pattern;
* fields: every field a panel aggregates, filters or sorts on has, in the indices the real
  pipeline wrote, a type that supports that use, and is declared by the index templates (no
  dynamic mapping, no scripted field);
* figures: each panel's request is built from its saved object the way Dashboards builds it
  (dashboards/panelquery.py: query + saved search + filters + time range + aggregations), run
  against osmem-server loaded by the real fetch -> transform -> load from a generated estate, and
  the answer must equal what the estate is known to hold: instances, running vCPU and memory, RDS,
  unattached security groups, snapshots, backups, CloudTrail events per day, cost per month to the
  cent, inactive IAM users, S3 bucket totals... -- for a 7-day and a 1-day range.

The estate (built once for the module, in a moto server of this process so IAM users can be
backdated): the demo organization (scripts/demo_estate.py: two member accounts x two regions,
instances, RDS, images, snapshots, gateways, alarms, IAM users, S3 buckets) plus a transit
gateway, LookupEvents/ListBackupJobs from aws_stub, a CloudTrail trail bucket
(gen_cloudtrail) and a Cost & Usage Report with a closed month and two revisions of this month
(gen_cur). Inventory and S3 are collected twice: the first collection is renamed to the day
before (its raw run id and manifest moved back 24 h, so transform files it under yesterday's
index, as if it had run then), then the estate changes (an instance stopped, one started, one
terminated, S3 objects added and deleted) and everything is collected again. Expected figures
come from the AWS API (boto3) at each collection, from the generators and from the stub --
never from cloudspool's own documents.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import fnmatch
import json
import os
import re
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Optional

import pytest

import support
from support import Pipeline, http

REPO = support.REPO
sys.path.insert(0, str(REPO / "dashboards"))
import generate  # noqa: E402
import panelquery as pq  # noqa: E402
import demo_estate  # noqa: E402  (scripts/ is on sys.path through support)
import gen_cloudtrail as gct  # noqa: E402
import gen_cur  # noqa: E402
from aws_stub import AwsStub  # noqa: E402
from dashboards_import_stub import ImportStub  # noqa: E402

UTC = timezone.utc
REGIONS = demo_estate.REGIONS
MANAGEMENT = demo_estate.MANAGEMENT
CT_BUCKET, CT_PREFIX = "dash-cloudtrail", "ct"
CUR_BUCKET, CUR_PREFIX, CUR_REPORT = "dash-cur", "cur", "org-cur"
INACTIVE_DAYS = 90
NDJSON = REPO / "dashboards" / "cloudspool-dashboards.ndjson"

# ====================================================================== what the original integration names

# Section "Dashboards" of the description of the integration cloudspool replaces: every view,
# in the section it is in ("Backups" is titled "Backup" in its own paragraph).
SEED_SECTIONS = ["Overview", "EC2", "RDS", "AMI", "S3", "Snapshots", "Backups", "CloudTrail", "IAM", "Billing", "Gateways",
                 "Security"]
SEED_VIEWS = {
    "Overview": ["[AWS] Navigation", "[AWS] Overview Selector", "[AWS] Total Instances", "[AWS] Total CPU Running Instances",
                 "[AWS] Total Memory Running Instances", "[AWS] Total RDS Instances", "[AWS] Total CPU Running RDS",
                 "[AWS] Total Memory Running RDS", "[AWS] Instance List", "[AWS] RDS Instance List", "[AWS] Alarm List",
                 "[AWS] Tags List", "[AWS] CloudWatch Metrics"],
    "EC2": ["[AWS] Navigation", "[AWS] State Selector", "[AWS] Total Instances", "[AWS] Total CPU Running Instances",
            "[AWS] Running histogram", "[AWS] Total Memory Running Instances", "[AWS] OP5 Monitored Count",
            "[AWS] OP5 NOT Monitored Count", "[AWS] OP5 Monitored Details", "[AWS] Instance Details List",
            "[AWS] CloudWatch Metrics"],
    "RDS": ["[AWS] Navigation", "[AWS] RDS State Selector", "[AWS] Total RDS Instances", "[AWS] Total CPU Running RDS",
            "[AWS] RDS Running histogram", "[AWS] RDS Instance Details", "[AWS] RDS Details", "[AWS] CloudWatch Metrics"],
    "AMI": ["[AWS] Navigation", "[AWS] Image Selector", "[AWS] Image Details", "[AWS] Image by Admin Details",
            "[AWS] AMI type by time"],
    "Security": ["[AWS] Navigation", "[AWS] Security Selector", "[AWS] Security Group ID by InstanceID",
                 "[AWS] Instance by Security Group", "[AWS] Security Group connect state"],
    "Snapshots": ["[AWS] Navigation", "[AWS] Snapshot Selector", "[AWS] Snapshots List", "[AWS] Snapshots by time"],
    "Backups": ["[AWS] Navigation", "[AWS] Backup Selector", "[AWS] Backup List", "[AWS] Backup by time"],
    "CloudTrail": ["[AWS] Navigation", "[AWS] Event Selector", "[AWS] Events Name Activity", "[AWS] CloudTrail"],
    "IAM": ["[AWS] Navigation", "[AWS] IAM Selector", "[AWS] IAM Details", "[AWS] User last login"],
    "Gateways": ["[AWS] Navigation", "[AWS] Gateways Selector", "[AWS] Internet Gateway", "[AWS] Transit Gateways",
                 "[AWS] Nat Gateway"],
}
# What an operator expects that the description leaves unsaid (issue 11).
EXPECTED_EXTRA = {
    "Billing": ["[AWS] Cost per Month", "[AWS] Cost per Service", "[AWS] Cost per Account", "[AWS] Cost per Usage Type",
                "[AWS] Top Resources by Cost", "[AWS] Billing Credits", "[AWS] Billing Taxes", "[AWS] Credits and Taxes"],
    "CloudTrail": ["[AWS] CloudTrail", "[AWS] Events Name Activity", "[AWS] CloudTrail Events by User",
                   "[AWS] CloudTrail Events by Account and Region", "[AWS] CloudTrail Errors", "[AWS] Access Denied",
                   "[AWS] Console Logins"],
    "S3": ["[AWS] S3 Object Search", "[AWS] S3 Bucket Totals", "[AWS] S3 Storage Classes"],
}

# Fields the panels need whose explicit declaration in the index templates is still to come
# (Sources/Shared/Index/IndexTemplates.swift). Today they get their type from the dynamic
# template strings_as_keywords (or from a JSON boolean/number). Each must leave this list when
# the templates declare it; a field used by a panel that is neither declared nor listed here fails.
PENDING_FILE = Path(__file__).resolve().parent / "dashboards_pending_template_fields.txt"
PENDING_TEMPLATE_FIELDS = {line.strip() for line in PENDING_FILE.read_text().splitlines()
                           if line.strip() and not line.startswith("#")} if PENDING_FILE.exists() else set()


def section_title(name: str) -> str:
    return f"[AWS] {name}"


@pytest.fixture(scope="module")
def so() -> pq.SavedObjects:
    return pq.SavedObjects.load(NDJSON)


def lines() -> list:
    return NDJSON.read_text(encoding="utf-8").splitlines()


# ====================================================================== structure

def test_every_saved_object_parses():
    seen = set()
    for n, line in enumerate(lines(), 1):
        o = json.loads(line)
        assert set(o) >= {"type", "id", "attributes", "references", "migrationVersion"}, f"line {n}: {sorted(o)}"
        assert o["type"] in ("index-pattern", "search", "visualization", "dashboard"), o["type"]
        assert (o["type"], o["id"]) not in seen, f"line {n}: id {o['id']} twice"
        seen.add((o["type"], o["id"]))
        a = o["attributes"]
        uuid.UUID(o["id"])
        assert o["migrationVersion"] == {o["type"]: generate.MIGRATION[o["type"]]}
        for key in ("visState", "uiStateJSON", "panelsJSON", "optionsJSON", "fieldFormatMap", "fields"):
            if key in a:
                json.loads(a[key])
        if "kibanaSavedObjectMeta" in a:
            src = json.loads(a["kibanaSavedObjectMeta"]["searchSourceJSON"])
            assert src.get("query", {}).get("language") == "lucene", f"{a['title']}: {src.get('query')}"
            assert src.get("filter") == [], f"{a['title']}: saved filters"
        if o["type"] == "visualization":
            vs = json.loads(a["visState"])
            assert vs["title"] == a["title"]
            assert not re.search(r'"(script|scripted)[A-Za-z_]*":', a["visState"]), f"{a['title']} uses a script"
        if o["type"] == "index-pattern":
            assert json.loads(a["fields"]) == [], "field lists are fetched by Dashboards; no scripted fields"
    titles = Counter((o["type"], o["attributes"]["title"]) for o in map(json.loads, lines()))
    assert [k for k, v in titles.items() if v > 1] == [], "one title per type"


def test_every_reference_resolves(so):
    for o in so.objects:
        a = o["attributes"]
        names = {r["name"] for r in o["references"]}
        for r in o["references"]:
            assert (r["type"], r["id"]) in so.by_id, f"{o['type']} {a['title']!r}: {r} resolves to nothing"
        wanted = set()
        if "kibanaSavedObjectMeta" in a:
            src = json.loads(a["kibanaSavedObjectMeta"]["searchSourceJSON"])
            if "indexRefName" in src:
                wanted.add(src["indexRefName"])
        if a.get("savedSearchRefName"):
            wanted.add(a["savedSearchRefName"])
        if o["type"] == "dashboard":
            wanted |= {p["panelRefName"] for p in json.loads(a["panelsJSON"])}
        if o["type"] == "visualization":
            vs = json.loads(a["visState"])
            wanted |= {c["indexPatternRefName"] for c in vs["params"].get("controls", [])}
            if vs["type"] not in ("markdown",):
                assert so.index_pattern(o) is not None or vs["type"] == "input_control_vis", a["title"]
        assert wanted == names, f"{o['type']} {a['title']!r}: refers to {sorted(wanted)}, references {sorted(names)}"
    on_dashboards = {(r["type"], r["id"]) for d in so.of_type("dashboard") for r in d["references"]}
    for o in so.objects:
        if o["type"] in ("visualization", "search"):
            assert (o["type"], o["id"]) in on_dashboards, f"{o['attributes']['title']!r} is on no dashboard"
    used_patterns = {r["id"] for o in so.objects for r in o["references"] if r["type"] == "index-pattern"}
    assert used_patterns == {o["id"] for o in so.of_type("index-pattern")}


def test_ids_are_stable_and_the_committed_file_is_what_the_generator_writes(so):
    ndjson, fields = generate.render()
    assert ndjson == generate.render()[0], "two runs of the generator differ"
    assert NDJSON.read_text(encoding="utf-8") == ndjson, "dashboards/cloudspool-dashboards.ndjson is stale: " \
                                                         "run python3 dashboards/generate.py"
    assert generate.FIELDS_OUTPUT.read_text(encoding="utf-8") == fields, "dashboards/fields.json is stale"
    # the id scheme itself must not drift: an import with overwrite=true replaces what the last one wrote
    for o in so.objects:
        assert o["id"] == generate.object_id(o["type"], o["attributes"]["title"])
    assert so.dashboard("[AWS] Overview")["id"] == "60f15f09-ca76-5d25-ab33-22d6961d5e32"
    assert so.by_title("index-pattern", generate.CURRENT_INDEX)["id"] == "1b7178e0-8d8a-5e79-84e1-bc13598d0328"


def test_an_index_prefix_renames_every_index_pattern_and_nothing_else():
    plain = pq.SavedObjects(json.loads(x) for x in generate.render()[0].splitlines())
    prefixed = pq.SavedObjects(json.loads(x) for x in generate.render("prod-")[0].splitlines())
    assert sorted(o["attributes"]["title"] for o in prefixed.of_type("index-pattern")) == \
        sorted("prod-" + o["attributes"]["title"] for o in plain.of_type("index-pattern"))
    for o in prefixed.objects:
        if o["type"] == "visualization" and pq.vis_state(o)["type"] not in ("markdown", "input_control_vis"):
            assert prefixed.index_pattern(o)["attributes"]["title"].startswith("prod-")
        if o["type"] != "index-pattern":
            assert o["id"] == plain.by_title(o["type"], o["attributes"]["title"])["id"]


def test_every_view_of_the_original_is_in_its_section(so):
    for name in SEED_SECTIONS:
        so.dashboard(section_title(name))
    for name, views in {**SEED_VIEWS}.items():
        d = so.dashboard(section_title(name))
        titles = [p["attributes"]["title"] for p in so.panels(d)]
        missing = [v for v in views if v not in titles]
        assert not missing, f"section {name}: missing {missing}"
    for name, views in EXPECTED_EXTRA.items():
        titles = [p["attributes"]["title"] for p in so.panels(so.dashboard(section_title(name)))]
        assert not [v for v in views if v not in titles], f"section {name}: missing {[v for v in views if v not in titles]}"


def test_navigation_links_every_section(so):
    nav = so.by_title("visualization", "[AWS] Navigation")
    md = pq.vis_state(nav)["params"]["markdown"]
    linked = re.findall(r"\(#/view/([0-9a-f-]+)\)", md)
    assert sorted(linked) == sorted(d["id"] for d in so.of_type("dashboard"))
    for d in so.of_type("dashboard"):
        assert nav["id"] in {r["id"] for r in d["references"]}, f"{d['attributes']['title']} has no Navigation"


def test_each_selector_is_an_input_control_over_its_sections_fields(so):
    for d in so.of_type("dashboard"):
        panels = so.panels(d)
        selectors = [p for p in panels if p["attributes"]["title"].endswith("Selector")]
        assert len(selectors) == 1, f"{d['attributes']['title']}: {len(selectors)} selectors"
        state = pq.vis_state(selectors[0])
        assert state["type"] == "input_control_vis"
        patterns = {so.ref(selectors[0], c["indexPatternRefName"])["id"] for c in state["params"]["controls"]}
        section_patterns = {so.index_pattern(p)["id"] for p in panels
                            if p is not selectors[0] and so.index_pattern(p) is not None}
        assert patterns <= section_patterns, f"{d['attributes']['title']}: selector over another index pattern"
        fields = json.loads(generate.FIELDS_OUTPUT.read_text())
        for c in state["params"]["controls"]:
            ip = so.ref(selectors[0], c["indexPatternRefName"])["attributes"]["title"]
            assert "terms" in fields[ip][c["fieldName"]]


def test_index_patterns_time_fields_and_formats(so):
    ips = {o["attributes"]["title"]: o["attributes"] for o in so.of_type("index-pattern")}
    assert "timeFieldName" not in ips[generate.CURRENT_INDEX], "the current state must not depend on the time picker"
    assert "timeFieldName" not in ips["awsusers-000001"]
    for t in ("awscli-20*", "awscli-trail-*", "awsbilling-*", "awscli-s3-*", "awscli-changes-*"):
        assert ips[t]["timeFieldName"] == "@timestamp", t
    formats = {t: json.loads(a.get("fieldFormatMap", "{}")) for t, a in ips.items()}
    assert formats["awscli-s3-*"]["s3.size"]["id"] == "bytes"
    assert formats["awsbilling-*"]["lineItem.UnblendedCost"]["params"]["pattern"].startswith("$")
    assert formats["awsusers-000001"]["activity.days_since_last_activity"]["id"] == "duration"


# ====================================================================== the estate

def shift_run_id(run_id: str, delta: timedelta) -> str:
    stamp, suffix = run_id.split("-", 1)
    t = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) + delta
    return t.strftime("%Y%m%dT%H%M%SZ") + "-" + suffix


def move_run_back(run: Path, delta: timedelta) -> Path:
    """A raw run, renamed as if fetch had started it `delta` earlier (run id, manifest times)."""
    new = run.parent / shift_run_id(run.name, -delta)
    m = json.loads((run / "manifest.json").read_text())
    m["runId"] = new.name
    for key in ("startedAt", "finishedAt"):
        if m.get(key):
            t = datetime.fromisoformat(m[key].replace("Z", "+00:00")) - delta
            m[key] = t.strftime("%Y-%m-%dT%H:%M:%SZ")
    (run / "manifest.json").write_text(json.dumps(m))
    run.rename(new)
    return new


@dataclass
class Unit:
    account: str
    region: str
    instances: list = field(default_factory=list)      # {"id", "state", "type", "tags", "sgs", "image"}
    rds: list = field(default_factory=list)            # {"id", "state", "class"}
    sgs: dict = field(default_factory=dict)            # id -> name
    attached: set = field(default_factory=set)
    snapshots: list = field(default_factory=list)      # {"id", "start", "state"}
    db_snapshots: int = 0
    images: list = field(default_factory=list)         # {"id", "created", "owned"}
    igws: list = field(default_factory=list)
    nats: list = field(default_factory=list)
    tgws: list = field(default_factory=list)
    alarms: list = field(default_factory=list)
    metrics: list = field(default_factory=list)


class Estate:
    """What AWS (moto) says at one moment, asked through the API as an operator would."""

    def __init__(self, org, accounts: list):
        self.units: dict = {}
        self.capacity: dict = {}
        jobs = [(a, r) for a in accounts for r in REGIONS]
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            for u in pool.map(lambda j: self._unit(org, *j), jobs):
                self.units[(u.account, u.region)] = u
        types = sorted({i["type"] for u in self.units.values() for i in u.instances}
                       | {d["class"][3:] for u in self.units.values() for d in u.rds})
        ec2 = org.client(MANAGEMENT, "ec2", REGIONS[0])
        for t in ec2.describe_instance_types(InstanceTypes=types)["InstanceTypes"]:
            self.capacity[t["InstanceType"]] = (t["VCpuInfo"]["DefaultVCpus"], t["MemoryInfo"]["SizeInMiB"])

    @staticmethod
    def _unit(org, account: str, region: str) -> Unit:
        u = Unit(account, region)
        ec2 = org.client(account, "ec2", region)
        for r in ec2.describe_instances()["Reservations"]:
            for i in r["Instances"]:
                u.instances.append({"id": i["InstanceId"], "state": i["State"]["Name"], "type": i["InstanceType"],
                                    "tags": sorted(f"{t['Key']}={t['Value']}" for t in i.get("Tags", [])),
                                    "sgs": [g["GroupId"] for g in i.get("SecurityGroups", [])], "image": i["ImageId"]})
                u.attached |= {g["GroupId"] for g in i.get("SecurityGroups", [])}
        for eni in ec2.describe_network_interfaces()["NetworkInterfaces"]:
            u.attached |= {g["GroupId"] for g in eni.get("Groups", [])}
        u.sgs = {g["GroupId"]: g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]}
        for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]:
            u.snapshots.append({"id": s["SnapshotId"], "start": s["StartTime"], "state": s["State"]})
        for im in ec2.describe_images(Owners=["self"])["Images"]:
            created = datetime.fromisoformat(im["CreationDate"].replace("Z", "+00:00"))
            u.images.append({"id": im["ImageId"], "created": created, "owned": im["OwnerId"] == account})
        u.igws = [g["InternetGatewayId"] for g in ec2.describe_internet_gateways()["InternetGateways"]]
        u.nats = [g["NatGatewayId"] for g in ec2.describe_nat_gateways()["NatGateways"]]
        u.tgws = [g["TransitGatewayId"] for g in ec2.describe_transit_gateways()["TransitGateways"]]
        rds = org.client(account, "rds", region)
        for d in rds.describe_db_instances()["DBInstances"]:
            u.rds.append({"id": d["DBInstanceIdentifier"], "state": d["DBInstanceStatus"], "class": d["DBInstanceClass"]})
            u.attached |= {g["VpcSecurityGroupId"] for g in d.get("VpcSecurityGroups", [])}
        u.db_snapshots = len(rds.describe_db_snapshots()["DBSnapshots"])
        cw = org.client(account, "cloudwatch", region)
        for a in cw.describe_alarms()["MetricAlarms"]:
            inst = [d["Value"] for d in a.get("Dimensions", []) if d["Name"] == "InstanceId"]
            u.alarms.append((a["AlarmName"], a["StateValue"], a["MetricName"], inst[0] if inst else None,
                             a.get("AlarmDescription")))
        for m in cw.list_metrics(Namespace="AWS/EC2")["Metrics"]:      # what the inventory asks for
            inst = [d["Value"] for d in m.get("Dimensions", []) if d["Name"] == "InstanceId"]
            u.metrics.append((m["Namespace"], m["MetricName"], inst[0] if inst else "-"))
        return u

    # ---- figures
    def instances(self, account: Optional[str] = None, live: bool = True) -> list:
        return [dict(i, account=u.account, region=u.region) for u in self.units.values() for i in u.instances
                if (account is None or u.account == account) and (not live or i["state"] != "terminated")]

    def overview(self, account: Optional[str] = None) -> dict:
        inst = self.instances(account)
        running = [i for i in inst if i["state"] == "running"]
        rds = [dict(d, account=u.account) for u in self.units.values() for d in u.rds if account in (None, u.account)]
        avail = [d for d in rds if d["state"] == "available"]
        return {
            "[AWS] Total Instances": len(inst),
            "[AWS] Total CPU Running Instances": sum(self.capacity[i["type"]][0] for i in running),
            "[AWS] Total Memory Running Instances": sum(self.capacity[i["type"]][1] for i in running),
            "[AWS] Total RDS Instances": len(rds),
            "[AWS] Total CPU Running RDS": sum(self.capacity[d["class"][3:]][0] for d in avail),
            "[AWS] Total Memory Running RDS": sum(self.capacity[d["class"][3:]][1] / 1024 for d in avail),
        }


def list_bucket(s3, bucket: str) -> dict:
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            out[o["Key"]] = (o["Size"], o.get("StorageClass", "STANDARD"))
    return out


@dataclass
class World:
    url: str
    so: pq.SavedObjects
    pipe: Pipeline
    ledger: dict
    a: Estate                          # yesterday's collection (moved back 24 h)
    b: Estate                          # today's
    day_a: str
    day_b: str
    s3_a: dict                         # bucket -> {key: (size, class)}
    s3_b: dict
    bucket_accounts: dict
    trail: gct.Trail
    cur: gen_cur.Report
    jobs: list                         # (account, region, job) the stub served
    users: dict                        # (account, user) -> {"inactive", "never_used", "days_idle"}
    login_methods: Counter             # login method -> users (from the IAM API)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def ip_id(self, title: str) -> str:
        return generate.object_id("index-pattern", title)

    def panel(self, title: str, time_range=None, filters=(), query=None, kind: str = "visualization") -> pq.PanelResult:
        obj = self.so.by_title(kind, title)
        req = pq.build_request(self.so, obj, time_range, query, filters)
        return pq.read_panel(self.so, obj, pq.run(self.url, req))

    def last(self, days: float) -> pq.TimeRange:
        return pq.TimeRange.last(days=days, now=self.now)


def _moto_reset(url: str) -> None:
    http("POST", f"{url}/moto-api/reset")


def _backdate_users(ledger: dict, as_of: datetime) -> dict:
    """Past logins and creation times (what the API cannot set), straight into moto's IAM backend."""
    from moto.iam.models import iam_backends

    def ago(days: float) -> datetime:
        return (as_of - timedelta(days=days, hours=1)).replace(tzinfo=None)

    m0, m1 = ledger["members"]
    plan = {(m0, "alice"): (300, 5), (m0, "legacy-batch"): (200, None), (m1, "bob"): (400, 120)}
    for (account, name), (created, used) in plan.items():
        user = iam_backends[account]["aws"].users[name]
        user.create_date = ago(created)
        if used is not None:
            user.password_last_used = ago(used)
    out = {}
    for account, names in ledger["users"].items():
        for name in names:
            created, used = plan.get((account, name), (0, None))
            idle = used if used is not None else created
            out[(account, name)] = {"inactive": idle > INACTIVE_DAYS, "never_used": used is None,
                                    "days_idle": used}
    return out


@pytest.fixture(scope="module")
def world(binaries, tmp_path_factory, peer_logs) -> World:
    import peers
    from moto.server import ThreadedMotoServer
    import logging

    t0 = time.monotonic()
    tmp = tmp_path_factory.mktemp("dashboards")
    saved_env = {k: os.environ.get(k) for k in ("MOTO_EC2_LOAD_DEFAULT_AMIS",)}
    os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    _moto_reset(moto_url)          # moto's backends are per process: start from nothing
    osmem = peers.start_osmem(log_dir=str(peer_logs))
    stub = AwsStub(moto_url=moto_url).start()
    try:
        yield _build_world(tmp, moto_url, osmem.url, stub)
    finally:
        stub.stop()
        osmem.stop()
        _moto_reset(moto_url)
        moto.stop()
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        print(f"dashboards world: {time.monotonic() - t0:.1f} s")


def _build_world(tmp: Path, moto_url: str, osmem_url: str, stub: AwsStub) -> World:
    import boto3
    from botocore.config import Config

    ledger_path = tmp / "estate.json"
    demo_estate.cmd_build(argparse.Namespace(endpoint_url=moto_url, ledger=str(ledger_path)))
    ledger = json.loads(ledger_path.read_text())
    org = demo_estate.Org(moto_url)
    for m in ledger["members"]:
        org.enter(m)
    accounts = [MANAGEMENT] + ledger["members"]
    m0, m1 = ledger["members"]
    org.client(m0, "ec2", REGIONS[1]).create_transit_gateway(Description="core network", Options={"AmazonSideAsn": 64512})
    demo_estate.populate_stub(stub, ledger, time.time())

    s3 = boto3.client("s3", endpoint_url=moto_url, region_name=REGIONS[0], aws_access_key_id="testing",
                      aws_secret_access_key="testing", config=Config(s3={"addressing_style": "path"}))
    today = datetime.now(UTC).date()
    trail = gct.generate(gct.Spec(seed=11, prefix=CT_PREFIX, accounts=2, regions=list(REGIONS), days=3,
                                  start=today - timedelta(days=4), files_per_prefix=2, records_per_file=12,
                                  specials=False))
    s3.create_bucket(Bucket=CT_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGIONS[0]})
    trail.upload(s3, CT_BUCKET)
    cur = gen_cur.generate(gen_cur.Spec(mode="legacy", bucket=CUR_BUCKET, prefix=CUR_PREFIX, name=CUR_REPORT, seed=5,
                                        rows=120, files=2))
    s3.create_bucket(Bucket=CUR_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGIONS[0]})
    cur.publish(s3, CUR_BUCKET)

    pipe = Pipeline(tmp / "pipe", moto_url, s3, CT_BUCKET, osmem_url, prefix=CT_PREFIX)
    pipe.cfg["billing"] = {"bucket": CUR_BUCKET, "prefix": CUR_PREFIX, "report_name": CUR_REPORT, "months": 2}
    pipe.cfg["inventory"] = {"organizations": True, "role_name": demo_estate.ROLE, "regions": list(REGIONS),
                             "concurrency": 4, "lookup_events": 5}
    pipe.cfg["iam"] = {"inactive_days": INACTIVE_DAYS, "report_timeout_seconds": 30}
    pipe.cfg["s3"] = {"buckets": sorted(ledger["buckets"])}
    pipe.cfg["aws"]["timeout_seconds"] = 20
    pipe.cfg["index"]["timeout_seconds"] = 20
    pipe.cfg["index"]["names"] = {"cloudtrail": "awscli-trail", "inventory": "awscli", "users": "awsusers-000001",
                                  "billing": "awsbilling"}
    pipe.write_config()
    pipe.extra_env = {"AWS_ENDPOINT_URL_CLOUDTRAIL": stub.url, "AWS_ENDPOINT_URL_BACKUP": stub.url}

    def s3_of(account: str):
        return org.client(account, "s3", REGIONS[0])

    bucket_accounts = {b: v["account"] for b, v in ledger["buckets"].items()}
    # ---- yesterday: inventory and S3 collected, then moved back one day
    est_a = Estate(org, accounts)
    s3_a = {b: list_bucket(s3_of(a), b) for b, a in bucket_accounts.items()}
    raw = pipe.spool.root / "raw"
    pipe.expect("fetch", "--collector", "inventory", "--collector", "s3")
    moved = [move_run_back(run, timedelta(days=1)) for c in ("inventory", "s3")
             for run in sorted((raw / c).iterdir()) if run.is_dir() and not run.name.startswith(".")]
    assert len(moved) == 2, moved
    day_a = datetime.strptime(moved[0].name[:8], "%Y%m%d").strftime("%Y-%m-%d")
    # ---- the estate changes overnight
    units = {(u["account"], u["region"]): u for u in ledger["units"]}

    def inst(account, region, name):
        return next(i["id"] for i in units[(account, region)]["instances"] if i["name"] == name)
    org.client(m0, "ec2", REGIONS[0]).stop_instances(InstanceIds=[inst(m0, REGIONS[0], "web-2")])
    org.client(m1, "ec2", REGIONS[1]).start_instances(InstanceIds=[inst(m1, REGIONS[1], "app-2")])
    org.client(m1, "ec2", REGIONS[0]).terminate_instances(InstanceIds=[inst(m1, REGIONS[0], "web-2")])
    # (and a security group is deleted, below: yesterday's documents must not count in the current state)
    logs, data = sorted(ledger["buckets"], key=lambda b: ledger["buckets"][b]["objects"])
    for n in range(5):
        s3_of(bucket_accounts[logs]).put_object(Bucket=logs, Key=f"late/added-invoice-{n}.txt", Body=b"y" * (100 + n))
    ec2 = org.client(m1, "ec2", REGIONS[1])
    sg = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["legacy-unused"]}])["SecurityGroups"]
    ec2.delete_security_group(GroupId=sg[0]["GroupId"])
    for key in sorted(s3_a[data])[:3]:
        s3_of(bucket_accounts[data]).delete_object(Bucket=data, Key=key)
    users = _backdate_users(ledger, datetime.now(UTC))
    login_methods: Counter = Counter()
    for m in ledger["members"]:
        iam = org.client(m, "iam")
        for user in iam.list_users()["Users"]:
            try:
                iam.get_login_profile(UserName=user["UserName"])
                login_methods["console_password"] += 1
            except iam.exceptions.NoSuchEntityException:
                pass
            keys = [k for k in iam.list_access_keys(UserName=user["UserName"])["AccessKeyMetadata"] if k["Status"] == "Active"]
            for n in range(len(keys)):
                login_methods[f"access_key_{n + 1}"] += 1
    # ---- today: everything
    est_b = Estate(org, accounts)
    s3_b = {b: list_bucket(s3_of(a), b) for b, a in bucket_accounts.items()}
    pipe.expect("fetch")
    run_b = [r for r in sorted((raw / "inventory").iterdir()) if r.is_dir() and not r.name.startswith(".") and r not in moved]
    assert len(run_b) == 1, run_b
    day_b = datetime.strptime(run_b[0].name[:8], "%Y%m%d").strftime("%Y-%m-%d")
    pipe.expect("transform")
    ld = pipe.expect("load")
    assert "deadlettered=0" in ld.out, ld.describe()
    http("POST", f"{osmem_url}/_refresh")
    jobs = [(a, r, j) for a in accounts for r in REGIONS for j in stub.backup_jobs(a, r)]
    return World(osmem_url, pq.SavedObjects.load(NDJSON), pipe, ledger, est_a, est_b, day_a, day_b, s3_a, s3_b,
                 bucket_accounts, trail, cur, jobs, users, login_methods)


# ====================================================================== fields and templates

NUMERIC = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long"}
SUPPORTS = {
    "terms": {"keyword", "boolean", "ip", "date"} | NUMERIC,
    "cardinality": {"keyword", "boolean", "ip", "date"} | NUMERIC,
    "sum": NUMERIC, "avg": NUMERIC,
    "max": NUMERIC | {"date"}, "min": NUMERIC | {"date"},
    "date_histogram": {"date", "date_nanos"}, "time": {"date", "date_nanos"},
    "sort": {"keyword", "boolean", "date", "date_nanos"} | NUMERIC,
    "filter": {"keyword", "text", "boolean", "date", "ip"} | NUMERIC,
    "top_hits": {"keyword", "text", "boolean", "date", "ip"} | NUMERIC,
}


def flat_properties(props: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in (props or {}).items():
        if "properties" in v:
            out.update(flat_properties(v["properties"], f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v.get("type", "object")
        for sub, sv in v.get("fields", {}).items():
            out[f"{prefix}{k}.{sub}"] = sv.get("type")
    return out


def concrete_indices(url: str, pattern: str) -> list:
    st, body = http("GET", f"{url}/_cat/indices?format=json")
    names = [i["index"] for i in body]
    st, aliases = http("GET", f"{url}/_alias")
    out = {n for n in names if fnmatch.fnmatch(n, pattern)}
    for ix, a in (aliases or {}).items():
        if any(fnmatch.fnmatch(al, pattern) for al in a.get("aliases", {})):
            out.add(ix)
    return sorted(out)


def templates(url: str) -> list:
    st, body = http("GET", f"{url}/_index_template")
    assert st == 200, body
    return body["index_templates"]


def declared_for(index: str, tmpls: list) -> dict:
    """The explicit properties of the highest-priority composable template that matches an index."""
    match = [t for t in tmpls if any(fnmatch.fnmatch(index, p) for p in t["index_template"]["index_patterns"])]
    if not match:
        return {}
    best = max(match, key=lambda t: t["index_template"].get("priority", 0))
    return flat_properties(best["index_template"].get("template", {}).get("mappings", {}).get("properties", {}))


def used_fields() -> dict:
    return json.loads(generate.FIELDS_OUTPUT.read_text())


def test_fields_have_the_type_their_use_needs_in_the_indices_the_pipeline_wrote(world):
    problems = []
    for pattern, fields in used_fields().items():
        for index in concrete_indices(world.url, pattern):
            st, body = http("GET", f"{world.url}/{index}/_mapping")
            mapped = flat_properties(body[index]["mappings"].get("properties", {}))
            for fld, uses in fields.items():
                t = mapped.get(fld)
                if t is None:
                    continue                   # not in these documents (checked against the templates below)
                for use in uses:
                    if t not in SUPPORTS[use]:
                        problems.append(f"{pattern} ({index}): {fld} is {t}, {use} needs {sorted(SUPPORTS[use])}")
    assert not problems, "\n".join(sorted(set(problems)))


def test_fields_are_declared_by_the_index_templates(world):
    """Declared = an explicit property of the template that applies (billing: of the mapping load creates
    from the report manifest); dynamic templates do not count."""
    tmpls = templates(world.url)
    wrong, undeclared = [], {}
    for pattern, fields in used_fields().items():
        probe = pattern.replace("*", "2099.01.01") if pattern != "awsbilling-*" else None
        if probe is None:
            indices = concrete_indices(world.url, pattern)
            declared: dict = {}
            for ix in indices:
                st, body = http("GET", f"{world.url}/{ix}/_mapping")
                declared.update(flat_properties(body[ix]["mappings"].get("properties", {})))
        else:
            declared = declared_for(probe, tmpls)
        for fld, uses in fields.items():
            t = declared.get(fld)
            if t is None:
                undeclared.setdefault(pattern, []).append(fld)
                continue
            for use in uses:
                if t not in SUPPORTS[use]:
                    wrong.append(f"{pattern}: {fld} declared {t}, {use} needs {sorted(SUPPORTS[use])}")
    assert not wrong, "\n".join(wrong)
    unexpected = {p: [f for f in fs if f"{p} {f}" not in PENDING_TEMPLATE_FIELDS] for p, fs in undeclared.items()}
    unexpected = {p: fs for p, fs in unexpected.items() if fs}
    assert not unexpected, "fields the panels use that no template declares:\n" + json.dumps(unexpected, indent=1)
    if undeclared:
        n = sum(map(len, undeclared.values()))
        pytest.xfail(f"{n} fields wait for IndexTemplates.swift to declare them "
                     f"(Tests/integration/dashboards_pending_template_fields.txt): " + ", ".join(sorted(undeclared)))


def test_current_state_index_is_written_by_the_pipeline(world):
    """What the inventory panels read: one document per live resource, from its latest collection."""
    http("POST", f"{world.url}/_refresh")
    st, body = http("POST", f"{world.url}/{generate.CURRENT_INDEX}/_search",
                    {"size": 0, "aggs": {"t": {"terms": {"field": "resource.type", "size": 50}}}})
    got = {b["key"]: b["doc_count"] for b in body["aggregations"]["t"]["buckets"]}
    assert got.get("ec2.instance") == len(world.b.instances(live=False))
    assert got.get("ec2.security_group") == sum(len(u.sgs) for u in world.b.units.values())
    assert got.get("summary") == len(world.b.units), "one summary per account and region"
    st, body = http("POST", f"{world.url}/{generate.CURRENT_INDEX}/_search",
                    {"size": 1000, "query": {"term": {"resource.type": "ec2.instance"}}, "_source": ["resource.id", "inventory.state"]})
    got = {h["_source"]["resource"]["id"]: h["_source"]["inventory"]["state"] for h in body["hits"]["hits"]}
    assert got == {i["id"]: i["state"] for i in world.b.instances(live=False)}, "the latest collection of each instance"


# ====================================================================== figures

def close(a, b, eps=1e-6) -> bool:
    return a is not None and b is not None and abs(float(a) - float(b)) <= eps


def test_overview_figures_are_the_estate_for_7_days_and_for_1_day(world):
    want = world.b.overview()
    for days in (7, 1):
        got = dict(pq.metric_figures(world.so, world.url, "[AWS] Overview", world.last(days)))
        flat = {t: next(iter(v.values())) for t, v in got.items()}
        assert set(flat) == set(want)
        bad = {t: (flat[t], want[t]) for t in want if not close(flat[t], want[t])}
        assert not bad, f"last {days} day(s): panel -> (shown, true): {bad}"


def test_overview_filtered_by_the_selector(world):
    m0 = world.ledger["members"][0]
    f = [pq.phrase_filter(world.ip_id(generate.CURRENT_INDEX), "cloud.account.id", m0)]
    got = {t: next(iter(v.values())) for t, v in pq.metric_figures(world.so, world.url, "[AWS] Overview", world.last(7), f)}
    want = world.b.overview(m0)
    assert all(close(got[t], want[t]) for t in want), (got, want)
    f2 = [pq.phrases_filter(world.ip_id(generate.CURRENT_INDEX), "cloud.region", [REGIONS[1]])]
    got2 = world.panel("[AWS] Total Instances", world.last(7), f2).value()
    assert got2 == len([i for i in world.b.instances() if i["region"] == REGIONS[1]])


def test_instance_list_rows(world):
    want = Counter()
    vcpu, mem = Counter(), Counter()
    for i in world.b.instances():
        k = (i["account"], i["region"], i["state"], i["type"])
        want[k] += 1
        vcpu[k] += world.b.capacity[i["type"]][0]
        mem[k] += world.b.capacity[i["type"]][1]
    rows = world.panel("[AWS] Instance List", world.last(7)).rows
    assert [tuple(r[:4]) for r in rows] == sorted(want)
    for r in rows:
        k = tuple(r[:4])
        assert (r[4], r[5], r[6]) == (want[k], vcpu[k], mem[k]), r


def test_instance_details_list_first_rows(world):
    res = world.panel("[AWS] Instance Details List", world.last(1))
    rows = res.dicts()
    want = sorted(world.b.instances(), key=lambda i: (i["account"], i["region"], i["id"]))
    assert len(rows) == len(want)
    for r, i in zip(rows[:6], want[:6]):
        assert (r["Account"], r["Region"], r["Instance"], r["Type"], r["State"], r["Image"]) == \
               (i["account"], i["region"], i["id"], i["type"], i["state"], i["image"])
        assert sorted(r["Tags"] if isinstance(r["Tags"], list) else [r["Tags"]]) == i["tags"]


def test_running_histogram_counts_each_instance_once_per_day(world):
    want = Counter()
    for day, est in ((world.day_a, world.a), (world.day_b, world.b)):
        for i in est.instances(live=False):
            want[(day, i["state"])] += 1
    for days in (7, 2):
        rows = world.panel("[AWS] Running histogram", world.last(days)).rows
        got = {(r[0][:10], r[1]): r[2] for r in rows}
        assert got == dict(want), f"last {days} days"
    rows = world.panel("[AWS] Running histogram", world.last(1)).rows
    assert {(r[0][:10], r[1]): r[2] for r in rows} == {k: v for k, v in want.items() if k[0] == world.day_b}
    # the figure the stop/start/terminate changed
    assert want[(world.day_a, "running")] != want[(world.day_b, "running")]


def test_rds_figures_and_tables(world):
    rds = [dict(d, account=u.account, region=u.region) for u in world.b.units.values() for d in u.rds]
    res = world.panel("[AWS] RDS Instance Details", world.last(7)).dicts()
    assert [(r["Account"], r["Region"], r["RDS instance"]) for r in res] == \
           sorted((d["account"], d["region"], d["id"]) for d in rds)
    for r in res:
        assert r["Class"] == "db.m5.large" and close(r["vCPU"], 2) and close(r["RAM [GiB]"], 8)
    hist = world.panel("[AWS] RDS Running histogram", world.last(7)).rows
    assert {(r[0][:10], r[1]): r[2] for r in hist} == {(world.day_a, "available"): len(rds), (world.day_b, "available"): len(rds)}
    rows = world.panel("[AWS] RDS Details", world.last(7), kind="search").rows
    assert len(rows) == len(rds)


def test_security_groups(world):
    unattached = sorted((u.account, u.region, g, name) for u in world.b.units.values() for g, name in u.sgs.items()
                        if g not in u.attached)
    assert world.panel("[AWS] Unattached Security Groups", world.last(7)).value() == len(unattached)
    assert world.panel("[AWS] Total Security Groups", world.last(1)).value() == sum(len(u.sgs) for u in world.b.units.values())
    rows = world.panel("[AWS] Security Group connect state", world.last(7)).dicts()
    first = [(r["Account"], r["Region"], r["Security group"], r["Group name"]) for r in rows if r["Attached"] == "false"]
    assert first == unattached
    assert rows[0]["Attached"] == "false" and close(rows[0]["Attached resources"], 0)
    pairs = sorted((g, i["id"]) for i in world.b.instances() for g in i["sgs"])
    got = [(r[0], r[1]) for r in world.panel("[AWS] Security Group ID by InstanceID", world.last(7)).rows]
    assert got == pairs


def test_snapshots_images_and_gateways(world):
    b = world.b.units.values()
    assert world.panel("[AWS] Total EBS Snapshots", world.last(7)).value() == sum(len(u.snapshots) for u in b)
    assert world.panel("[AWS] Total RDS Snapshots", world.last(7)).value() == sum(u.db_snapshots for u in b)
    by_day = Counter((s["start"].astimezone(UTC).strftime("%Y-%m-%d"), s["state"]) for u in b for s in u.snapshots)
    rows = world.panel("[AWS] Snapshots by time", world.last(7)).rows
    assert {(r[0][:10], r[1]): r[2] for r in rows} == dict(by_day)
    assert len(world.panel("[AWS] Snapshots List", kind="search").rows) == sum(len(u.snapshots) + u.db_snapshots for u in b)
    images = [im for u in b for im in u.images]
    assert world.panel("[AWS] Total Images", world.last(7)).value() == len(images)
    rows = world.panel("[AWS] AMI type by time", world.last(7)).rows
    months = Counter((im["created"].astimezone(UTC).strftime("%Y-%m"), str(im["owned"]).lower()) for im in images)
    assert {(r[0][:7], r[1]): r[2] for r in rows} == dict(months)
    assert len(world.panel("[AWS] Image by Admin Details", kind="search").rows) == sum(im["owned"] for im in images)
    for title, attr in (("[AWS] Internet Gateway", "igws"), ("[AWS] Nat Gateway", "nats"), ("[AWS] Transit Gateways", "tgws")):
        rows = world.panel(title, world.last(7)).rows
        want = sorted((u.account, u.region, g) for u in b for g in getattr(u, attr))
        assert [tuple(r[:3]) for r in rows] == want, title
    assert world.panel("[AWS] Transit Gateway Count").value() == 1
    assert world.panel("[AWS] Internet Gateway Count").value() == sum(len(u.igws) for u in b)
    assert world.panel("[AWS] NAT Gateway Count").value() == sum(len(u.nats) for u in b)


def test_alarms_metrics_and_tags(world):
    b = world.b.units.values()
    rows = world.panel("[AWS] Alarm List", world.last(7)).rows
    assert [tuple(r) for r in rows] == sorted((u.account, u.region) + a for u in b for a in u.alarms)
    rows = world.panel("[AWS] CloudWatch Metrics", world.last(7)).rows
    want = Counter((u.account, u.region) + m for u in b for m in u.metrics)
    assert {tuple(r[:5]): r[5] for r in rows} == dict(want)
    tags = Counter(t for i in world.b.instances(live=False) for t in i["tags"])
    rows = world.panel("[AWS] Tags List", world.last(7)).rows
    assert {r[0]: r[2] for r in rows if r[1] == "ec2.instance"} == dict(tags)


def test_backups(world):
    jobs = [j for _, _, j in world.jobs]
    assert world.panel("[AWS] Completed Backups").value() == sum(j["State"] == "COMPLETED" for j in jobs)
    assert world.panel("[AWS] Failed Backups").value() == sum(j["State"] == "FAILED" for j in jobs)
    assert len(world.panel("[AWS] Backup List", kind="search").rows) == len(jobs)
    want = Counter((datetime.fromtimestamp(pq_number(j["CreationDate"]), UTC).strftime("%Y-%m-%d"), j["State"]) for j in jobs)
    rows = world.panel("[AWS] Backup by time", world.last(7)).rows
    assert {(r[0][:10], r[1]): r[2] for r in rows} == dict(want)
    last = world.panel("[AWS] Last Backup per Instance", world.last(7)).dicts()
    backed = {r["Instance"] for r in last if r["From"] == "backup_job"}
    web1 = {i["id"] for u in world.ledger["units"] for i in u["instances"] if i["name"] == "web-1"}
    assert backed == web1


def pq_number(v) -> float:
    from aws_stub import number
    return number(v)


def test_cloudtrail(world):
    recs = list(world.trail.expected_records().values())
    per_day = Counter(gct.parse_time(r["eventTime"]).strftime("%Y-%m-%d") for r in recs)
    rows = world.panel("[AWS] CloudTrail", world.last(7)).rows
    assert {r[0][:10]: r[1] for r in rows} == dict(per_day)
    assert world.panel("[AWS] CloudTrail Event Count", world.last(7)).value() == len(recs)
    names = Counter(r["eventName"] for r in recs)
    want = sorted(names.items(), key=lambda kv: (-kv[1], kv[0]))
    got = [(r[0], r[2]) for r in world.panel("[AWS] Events Name Activity", world.last(7)).rows]
    assert got[:8] == want[:8]
    errors = [r for r in recs if r.get("errorCode")]
    assert world.panel("[AWS] CloudTrail Error Count", world.last(7)).value() == len(errors)
    denied = [r for r in errors if r["errorCode"] in ("AccessDenied", "AccessDeniedException", "Client.UnauthorizedOperation",
                                                       "UnauthorizedOperation", "UnauthorizedAccess")]
    assert denied and world.panel("[AWS] Access Denied Count", world.last(7)).value() == len(denied)
    logins = [r for r in recs if r["eventName"] == "ConsoleLogin"]
    failed = [r for r in logins if r.get("errorMessage")]
    assert world.panel("[AWS] Console Login Count", world.last(7)).value() == len(logins)
    assert failed and world.panel("[AWS] Failed Console Logins", world.last(7)).value() == len(failed)
    outcome = Counter()
    for r in world.panel("[AWS] Console Logins", world.last(7)).dicts():
        outcome[r["Outcome"]] += r["Logins"]
    assert dict(outcome) == {"Success": len(logins) - len(failed), "Failure": len(failed)}
    where = Counter((r["recipientAccountId"], r["awsRegion"]) for r in recs)
    rows = world.panel("[AWS] CloudTrail Events by Account and Region", world.last(7)).rows
    assert {(r[0], r[1]): r[2] for r in rows} == dict(where)
    who = Counter(r["userIdentity"].get("arn", "(AWS service)") for r in recs)
    rows = world.panel("[AWS] CloudTrail Events by User", world.last(7)).rows
    got = Counter()
    for r in rows:
        got[r[0]] += r[2]
    assert got == who
    # one day: only that day's events
    one = world.last(1)
    n1 = sum(1 for r in recs if gct.parse_time(r["eventTime"]) >= one.start)
    assert world.panel("[AWS] CloudTrail Event Count", one).value() == n1


def billing_facts(cur: gen_cur.Report) -> dict:
    """Per billing period: line items of its newest revision, from the CSV the report holds."""
    out = {}
    for p in cur.periods:
        rev = p.newest
        items = []
        for i in range(rev.files):
            items.extend(gen_cur.iter_csv_records(rev.body(i)))
        out[p.label] = items
    return out


def test_billing_cost_per_month_to_the_cent(world):
    facts = billing_facts(world.cur)
    first = min(p.start for p in world.cur.periods)
    end = gen_cur.add_months(max(p.start for p in world.cur.periods), 1)
    r = pq.TimeRange(datetime.combine(first, datetime.min.time(), UTC), datetime.combine(end, datetime.min.time(), UTC))

    def total(items, kind=None) -> Decimal:
        return sum((Decimal(i["lineItem/UnblendedCost"] or "0") for i in items
                    if kind is None or i["lineItem/LineItemType"] == kind), Decimal(0))
    rows = world.panel("[AWS] Cost per Month", r).rows
    assert [x[0] for x in rows] == sorted(facts)
    for label, cost in rows:
        want = total(facts[label])
        assert want == world.cur.expected()[label]["unblended"]
        assert abs(Decimal(repr(cost)) - want) < Decimal("0.005"), f"{label}: {cost} != {want}"
    every = [i for items in facts.values() for i in items]
    for title, kind in (("[AWS] Billing Credits", "Credit"), ("[AWS] Billing Taxes", "Tax"), ("[AWS] Billing Total Cost", None)):
        want = total(every, kind)
        got = world.panel(title, r).value()
        assert abs(Decimal(repr(got)) - want) < Decimal("0.005"), f"{title}: {got} != {want}"
    before = total(every) - total(every, "Credit") - total(every, "Tax") - total(every, "Refund")
    got = world.panel("[AWS] Billing Cost before Credits and Taxes", r).value()
    assert abs(Decimal(repr(got)) - before) < Decimal("0.005")
    apart = {(x["Billing period"], x["Kind"]): (x["Amount"], x["Line items"]) for x in world.panel("[AWS] Credits and Taxes", r).dicts()}
    for label, items in facts.items():
        for kind, name in (("Credit", "Credits"), ("Tax", "Taxes"), ("Refund", "Refunds")):
            amount, n = apart[(label, name)]
            assert n == sum(i["lineItem/LineItemType"] == kind for i in items)
            assert abs(Decimal(repr(amount or 0)) - total(items, kind)) < Decimal("0.005")

    def ranking(column) -> list:
        c = defaultdict(Decimal)
        for i in every:
            if i[column]:
                c[i[column]] += Decimal(i["lineItem/UnblendedCost"] or "0")
        return sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))
    for title, column in (("[AWS] Cost per Service", "lineItem/ProductCode"), ("[AWS] Cost per Account", "lineItem/UsageAccountId"),
                          ("[AWS] Top Resources by Cost", "lineItem/ResourceId")):
        rows = world.panel(title, r).rows
        want = ranking(column)[:5]
        got = [(x[0], x[-1] if title == "[AWS] Top Resources by Cost" else x[1]) for x in rows[:5]]
        assert [g[0] for g in got] == [w[0] for w in want], title
        assert all(abs(Decimal(repr(g[1])) - w[1]) < Decimal("0.005") for g, w in zip(got, want)), (title, got, want)


def test_iam_users(world):
    users = world.users
    assert world.panel("[AWS] IAM Users").value() == len(users)
    assert world.panel("[AWS] Inactive IAM Users", world.last(1)).value() == sum(u["inactive"] for u in users.values())
    assert world.panel("[AWS] IAM Users Never Used").value() == sum(u["never_used"] for u in users.values())
    assert sum(u["inactive"] for u in users.values()) == 2
    rows = world.panel("[AWS] User last login", world.last(7)).dicts()
    assert [(r["Account"], r["User"]) for r in rows] == sorted(users)
    for r in rows:
        u = users[(r["Account"], r["User"])]
        assert r["Inactive"] is u["inactive"], r
        if u["days_idle"] is not None:
            assert close(r["Days since last activity"], u["days_idle"]) and r["Last used"] == "console_password", r
    details = world.panel("[AWS] IAM Details", kind="search").rows
    assert len(details) == len(users)


def test_s3_figures_do_not_count_a_listing_twice(world):
    for days in (7, 1):
        rows = world.panel("[AWS] S3 Bucket Totals", world.last(days)).rows
        want = sorted((b, world.bucket_accounts[b], len(objs), sum(s for s, _ in objs.values())) for b, objs in world.s3_b.items())
        assert [tuple(r[:4]) for r in rows] == want, f"last {days} days"
        assert world.panel("[AWS] S3 Buckets", world.last(days)).value() == len(world.s3_b)
    want = Counter()
    for day, listing in ((world.day_a, world.s3_a), (world.day_b, world.s3_b)):
        for objs in listing.values():
            for size, cls in objs.values():
                want[(day, cls)] += size
    rows = world.panel("[AWS] S3 Storage Classes", world.last(7)).rows
    assert {(r[0][:10], r[1]): r[2] for r in rows} == dict(want)
    q = {"query": "s3.key_parts:invoice", "language": "lucene"}
    for days, listings in ((1, [world.s3_b]), (7, [world.s3_a, world.s3_b])):
        keys = sorted({(b, k) for listing in listings for b, objs in listing.items() for k in objs
                       if "invoice" in re.split(r"[/._\-= +]", k.lower())})
        rows = world.panel("[AWS] S3 Object Search", world.last(days), query=q).rows
        assert [(r[0], r[1]) for r in rows] == keys, f"last {days} days"
    newest = world.panel("[AWS] S3 Object Search", world.last(7), query={"query": "s3.key:late*", "language": "lucene"}).dicts()
    assert sorted(r["Key"] for r in newest) == [f"late/added-invoice-{n}.txt" for n in range(5)]


def test_selectors_offer_the_estates_values(world):
    def options(title: str, time_range=None) -> dict:
        obj = world.so.by_title("visualization", title)
        return {label: set(pq.control_options(pq.run(world.url, req)))
                for label, req in pq.control_requests(world.so, obj, time_range)}
    accounts = {MANAGEMENT} | set(world.ledger["members"])
    o = options("[AWS] Overview Selector")
    assert o["Account"] == accounts and o["Region"] == set(REGIONS)
    assert o["Account name"] == set(world.ledger["names"].values())
    assert options("[AWS] State Selector")["State"] >= {"running", "stopped"}
    assert options("[AWS] IAM Selector")["Account"] == set(world.ledger["members"])
    assert options("[AWS] S3 Selector", world.last(7))["Bucket"] == set(world.s3_b)
    assert options("[AWS] Event Selector", world.last(7))["Account"] == set(world.trail.accounts)
    assert options("[AWS] Billing Selector", world.last(40))["Billing period"] <= {p.label for p in world.cur.periods}


def test_every_panel_and_saved_search_runs(world):
    for o in world.so.objects:
        if o["type"] == "search" or (o["type"] == "visualization" and pq.vis_state(o)["type"] not in
                                     ("markdown", "input_control_vis")):
            pq.read_panel(world.so, o, pq.run(world.url, pq.build_request(world.so, o, world.last(7))))
        elif o["type"] == "visualization" and pq.vis_state(o)["type"] == "input_control_vis":
            for _, req in pq.control_requests(world.so, o, world.last(7)):
                pq.run(world.url, req)


def test_op5_monitoring_panels(world):
    st, body = http("GET", f"{world.url}/{generate.CURRENT_INDEX}/_mapping")
    mapped = flat_properties(body[generate.CURRENT_INDEX]["mappings"].get("properties", {}))
    if "monitoring.monitored" not in mapped:
        pytest.skip("no monitoring.* fields in the inventory documents yet (the OP5 collector is being built)")
    monitored = world.panel("[AWS] OP5 Monitored Count").value()
    not_monitored = world.panel("[AWS] OP5 NOT Monitored Count").value()
    assert monitored + not_monitored <= len(world.b.instances())
    details = world.panel("[AWS] OP5 Monitored Details").dicts()
    assert len({d["Instance"] for d in details}) == len(details) <= len(world.b.instances())
    assert sum(d["Monitored"] == "true" for d in details) == monitored
    assert sum(d["Monitored"] == "false" for d in details) == not_monitored


def test_changes_panels(world):
    """Between the two collections an instance was stopped, one started, one terminated and a security group deleted."""
    m0, m1 = world.ledger["members"]
    r7 = world.last(7)
    by_type = {(r[0], r[1]): r[2] for r in world.panel("[AWS] Changes by Resource Type", r7).rows}
    assert by_type.get(("ec2.instance", "modified")) == 3, by_type
    sgs_a = {(a, r, g) for (a, r), u in world.a.units.items() for g in u.sgs}
    sgs_b = {(a, r, g) for (a, r), u in world.b.units.items() for g in u.sgs}
    deleted = world.panel("[AWS] Deleted Resources", r7).dicts()
    gone = {(d["Account"], d["Region"], d["Resource"]) for d in deleted if d["Resource type"] == "ec2.security_group"}
    assert gone == sgs_a - sgs_b and len(gone) == 1
    totals = {t: world.panel(t, r7).value() for t in ("[AWS] Resources Created", "[AWS] Resources Modified",
                                                      "[AWS] Resources Deleted")}
    assert totals["[AWS] Resources Deleted"] == len(deleted)
    assert totals["[AWS] Resources Modified"] == sum(v for (t, a), v in by_type.items() if a == "modified")
    assert totals["[AWS] Resources Created"] == sum(v for (t, a), v in by_type.items() if a == "created")
    days = {r[0][:10] for r in world.panel("[AWS] Changes over time", r7).rows}
    assert days == {world.day_b}, "changes are dated by the end of their window: the second collection"
    latest = world.panel("[AWS] Latest Changes", r7, kind="search")
    assert latest.total == sum(totals.values())
    assert world.panel("[AWS] Resources Deleted", world.last(1)).value() == len(deleted)


def ranked(counter: dict, n: int) -> list:
    """What a terms agg ordered by its metric, descending, returns: ties by key."""
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def test_remaining_tables_first_rows(world):
    b = world.b
    rows = world.panel("[AWS] RDS Instance List", world.last(7)).rows
    want = sorted((u.account, u.region, d["state"], d["class"], "postgres") for u in b.units.values() for d in u.rds)
    assert [tuple(r[:5]) for r in rows] == want
    assert all(r[5] == 1 and close(r[6], 2) and close(r[7], 8) for r in rows)
    rows = world.panel("[AWS] Instance by Security Group", world.last(7)).rows
    assert [(r[0], r[1]) for r in rows] == sorted((i["id"], g) for i in b.instances() for g in i["sgs"])
    recs = list(world.trail.expected_records().values())
    errors = Counter(r["errorCode"] for r in recs if r.get("errorCode"))
    rows = world.panel("[AWS] CloudTrail Errors", world.last(7)).rows
    got = Counter()
    for r in rows:
        got[r[0]] += r[2]
    assert got == errors and rows[0][0] == ranked(errors, 1)[0][0]
    denied = [r for r in recs if r.get("errorCode") == "AccessDenied"]
    who = Counter(r["userIdentity"].get("arn", "(AWS service)") for r in denied)
    rows = world.panel("[AWS] Access Denied", world.last(7)).rows
    assert rows[0][0] == ranked(who, 1)[0][0] and sum(r[3] for r in rows) == len(denied)
    rows = world.panel("[AWS] IAM Login Methods").rows
    assert [(r[0], r[1]) for r in rows] == ranked(world.login_methods, 10)


def test_remaining_histograms(world):
    recs = list(world.trail.expected_records().values())
    per = defaultdict(Counter)
    for r in recs:
        per[gct.parse_time(r["eventTime"]).strftime("%Y-%m-%d")][r["eventSource"]] += 1
    rows = world.panel("[AWS] CloudTrail Events by Source", world.last(7)).rows
    got = defaultdict(dict)
    for day, source, n in rows:
        got[day[:10]][source] = n
    assert {d: sorted(v.items()) for d, v in got.items()} == {d: sorted(ranked(c, 10)) for d, c in per.items()}
    facts = billing_facts(world.cur)
    r = pq.TimeRange(datetime.combine(min(p.start for p in world.cur.periods), datetime.min.time(), UTC),
                     datetime.combine(gen_cur.add_months(max(p.start for p in world.cur.periods), 1), datetime.min.time(), UTC))
    by_month = defaultdict(lambda: defaultdict(Decimal))
    by_day = defaultdict(lambda: defaultdict(Decimal))
    for label, items in facts.items():
        for i in items:
            cost = Decimal(i["lineItem/UnblendedCost"] or "0")
            by_month[label][i["lineItem/ProductCode"]] += cost
            by_day[i["lineItem/UsageStartDate"][:10]][i["lineItem/ProductCode"]] += cost
    for title, want, n in (("[AWS] Cost per Month by Service", by_month, 10), ("[AWS] Daily Cost", by_day, 5)):
        got = defaultdict(list)
        for key, product, cost in world.panel(title, r).rows:
            got[str(key)[:10]].append((product, cost))
        assert set(got) == set(want), title
        for k, pairs in got.items():
            exp = ranked(want[k], n)
            assert [p for p, _ in pairs] == [p for p, _ in exp], (title, k)
            assert all(abs(Decimal(repr(c)) - e) < Decimal("0.005") for (_, c), (_, e) in zip(pairs, exp)), (title, k)
    usage = defaultdict(Decimal)
    for items in facts.values():
        for i in items:
            if i["lineItem/UsageType"]:
                usage[i["lineItem/UsageType"]] += Decimal(i["lineItem/UnblendedCost"] or "0")
    rows = world.panel("[AWS] Cost per Usage Type", r).rows
    assert [x[0] for x in rows[:5]] == [k for k, _ in ranked(usage, 5)]


def test_saved_searches_show_the_estate(world):
    b = world.b
    res = world.panel("[AWS] EC2 Instances", kind="search")
    assert res.total == len(b.instances())
    assert [row[3] for row in res.rows] == [i["id"] for i in sorted(b.instances(), key=lambda i: (i["account"], i["id"]))]
    assert world.panel("[AWS] Image Details", kind="search").total == sum(len(u.images) for u in b.units.values())
    assert world.panel("[AWS] Security Groups", kind="search").total == sum(len(u.sgs) for u in b.units.values())
    assert world.panel("[AWS] CloudTrail Events", world.last(7), kind="search").total == len(world.trail.expected_records())
    assert world.panel("[AWS] S3 Objects", world.last(1), kind="search").total == sum(map(len, world.s3_b.values()))


# ====================================================================== the import stand-in (for cloudspool-load --install-dashboards)


def post_import(url: str, body: bytes, headers: dict, space: Optional[str] = None, overwrite: bool = True,
                filename: str = "cloudspool-dashboards.ndjson", field_name: str = "file", multipart: bool = True):
    """POST the NDJSON the way the import command must: multipart/form-data, a `file` part."""
    boundary = "cloudspool-" + uuid.uuid4().hex
    if multipart:
        data = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field_name}\"; filename=\"{filename}\"\r\n"
                f"Content-Type: application/x-ndjson\r\n\r\n").encode() + body + f"\r\n--{boundary}--\r\n".encode()
        ctype = f"multipart/form-data; boundary={boundary}"
    else:
        data, ctype = body, "application/x-ndjson"
    path = (f"/s/{space}" if space else "") + "/api/saved_objects/_import" + ("?overwrite=true" if overwrite else "")
    return http("POST", url + path, data, ctype=ctype, headers=headers)


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_import_stub_accepts_what_the_import_command_must_send():
    body = NDJSON.read_bytes()
    n = len(lines())
    key = base64.b64encode(b"cloudspool-key:Zm9vYmFy").decode()
    with ImportStub(username="kibana", password="s3cret", api_key=key, spaces=["default", "ops"]) as stub:
        st, ans = post_import(stub.url, body, {**basic("kibana", "s3cret"), "kbn-xsrf": "true"})
        assert st == 200 and ans["success"] is True and ans["successCount"] == n, ans
        st, ans = post_import(stub.url, body, {"Authorization": f"ApiKey {key}", "osd-xsrf": "true"}, space="ops")
        assert st == 200 and ans["successCount"] == n
        # the same import again: idempotent with overwrite=true, conflicts without it (200, per-object errors)
        st, ans = post_import(stub.url, body, {**basic("kibana", "s3cret"), "kbn-xsrf": "1"})
        assert st == 200 and ans["success"] is True
        st, ans = post_import(stub.url, body, {**basic("kibana", "s3cret"), "kbn-xsrf": "1"}, overwrite=False)
        assert st == 200 and ans["success"] is False and len(ans["errors"]) == n
        assert {e["error"]["type"] for e in ans["errors"]} == {"conflict"}
        assert len(stub.objects("default")) == n and len(stub.objects("ops")) == n
        reqs = stub.requests()
        assert [r["space"] for r in reqs] == ["default", "ops", "default", "default"]
        assert reqs[0]["auth"] == "Basic" and reqs[0]["user"] == "kibana" and reqs[0]["xsrf"] == "kbn-xsrf"
        assert reqs[1]["auth"] == "ApiKey" and reqs[1]["user"] == "cloudspool-key" and reqs[1]["xsrf"] == "osd-xsrf"
        assert reqs[0]["filename"] == "cloudspool-dashboards.ndjson" and reqs[0]["objects"] == n
        assert reqs[0]["overwrite"] is True and reqs[3]["overwrite"] is False
        assert all("authorization" not in r["headers"] for r in reqs), "credentials are never recorded"


def test_import_stub_refuses_like_kibana():
    body = NDJSON.read_bytes()
    good = {**basic("kibana", "s3cret"), "kbn-xsrf": "true"}
    with ImportStub(username="kibana", password="s3cret", spaces=["default"]) as stub:
        cases = [
            (post_import(stub.url, body, basic("kibana", "s3cret")), 400, "kbn-xsrf"),
            (post_import(stub.url, body, {**basic("kibana", "wrong"), "kbn-xsrf": "true"}), 401, "authenticate"),
            (post_import(stub.url, body, {"kbn-xsrf": "true"}), 401, ""),
            (post_import(stub.url, body, {"Authorization": "ApiKey abc", "kbn-xsrf": "true"}), 401, ""),
            (post_import(stub.url, body, good, space="nope"), 404, ""),
            (post_import(stub.url, body, good, filename="dashboards.json"), 400, "Invalid file extension .json"),
            (post_import(stub.url, body, good, field_name="upload"), 400, "file"),
            (post_import(stub.url, body, good, multipart=False), 415, ""),
            (post_import(stub.url, b'{"type":"dashboard","id":"x","attributes":{}}\nnot json\n', good), 400, "line 2"),
        ]
        for (st, ans), want, text in cases:
            assert st == want, (st, ans)
            assert ans["statusCode"] == want and ans["error"] and text in ans["message"], ans
        for status in (401, 409, 400, 413, 503):
            stub.fail(status, count=1, message=f"told to answer {status}")
            st, ans = post_import(stub.url, body, good)
            assert (st, ans["statusCode"], ans["message"]) == (status, status, f"told to answer {status}")
        stub.fail("conflict", count=1)
        st, ans = post_import(stub.url, body, good)
        assert st == 200 and ans["success"] is False and ans["errors"][0]["error"] == {"type": "conflict"}
        st, ans = post_import(stub.url, body, good)
        assert st == 200 and ans["success"] is True, "faults last as many requests as asked"


def test_import_stub_command_line(tmp_path):
    import signal
    import subprocess

    url_file, log = tmp_path / "stub.url", tmp_path / "requests.ndjson"
    p = subprocess.Popen([sys.executable, str(Path(__file__).resolve().parent / "dashboards_import_stub.py"),
                          "--url-file", str(url_file), "--username", "u", "--password", "p", "--fail", "409:1",
                          "--log", str(log)], stdin=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if url_file.exists():
                break
            time.sleep(0.05)
        url = url_file.read_text().strip()
        good = {**basic("u", "p"), "osd-xsrf": "true"}
        assert post_import(url, NDJSON.read_bytes(), good)[0] == 409
        assert post_import(url, NDJSON.read_bytes(), good, space="team-a")[0] == 200
        st, reqs = http("GET", f"{url}/__stub/requests")
        assert [(r["status"], r["space"]) for r in reqs] == [(409, "default"), (200, "team-a")]
        st, objs = http("GET", f"{url}/__stub/objects?space=team-a")
        assert len(objs) == len(lines())
        http("POST", f"{url}/__stub/fail", {"status": 401, "count": 1})
        assert post_import(url, NDJSON.read_bytes(), good)[0] == 401
        assert len(log.read_text().splitlines()) == 3
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(10) == 0
