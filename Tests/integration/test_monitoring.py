"""Monitored or not (issue 12): the monitoring collector and the inventory's monitoring join.

The estate (moto_server, one account, eu-west-1): eleven EC2 instances with public addresses.
The monitoring server is a real Icinga 2 with livestatus on a loopback TCP port and a unix
socket (icinga_peer.py), holding hosts that match the instances by each rule, in order:

  i0 custom variable ec2_instance_id          i5 host name = private DNS name
  i1 host name = instance id                  i6 host name = public DNS name
  i2 display name (alias) = instance id       i7 host name = Name tag, other case
  i3 address = private IP (the host is DOWN)  i8, i9 one host "BATCH" = their shared Name tag
  i4 address = public IP, and "shared-vip"    i10 no host: not monitored
     whose custom variable names i4 and whose address is i3's private IP (the custom
     variable decides: it is i4's second host, not i3's)
plus two hosts that match no instance (legacy-db, whose custom variable names an instance
that does not exist, and printer-3).

Checked exactly: every instance document's monitoring object, the summary counts, the
documents of the unmatched and ambiguous hosts, the same through the unix socket and the OP5
HTTP API stand-in (paged, basic auth, password from a file), what the index holds; a source
down, auth refused, a livestatus error header, a truncated answer, garbage JSON, silence, a
hang, one source of two down, and 100,000 hosts (time and peak RSS of transform, next to 1,000).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

import icinga_peer
import peers
import support
from aws_stub import AwsStub
from livestatus_stub import LivestatusStub, many_hosts
from op5_stub import Op5Stub
from support import DELETE, Pipeline, Spool, get_path, http

ACCOUNT = "123456789012"
REGION = "eu-west-1"
STEM = "awscli"
OP5_PASSWORD = "op5-S3cret-pa55word"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# ====================================================================== the estate

class World:
    def __init__(self, moto_url: str, osmem_url: str, stub: AwsStub, tmp: Path):
        import boto3
        self.moto_url, self.osmem_url, self.stub, self.tmp = moto_url, osmem_url, stub, tmp
        self.ec2 = boto3.client("ec2", endpoint_url=moto_url, region_name=REGION, aws_access_key_id="testing",
                                aws_secret_access_key="testing")
        vpc = self.ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
        image = self.ec2.register_image(Name="base", RootDeviceName="/dev/sda1")["ImageId"]
        names = [f"app-{n}" for n in range(7)] + ["Web-Seven", "batch", "batch", "lonely"]
        self.instances = []
        for name in names:
            i = self.ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                       NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet, "AssociatePublicIpAddress": True}],
                                       TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}],
                                       )["Instances"][0]
            d = self.ec2.describe_instances(InstanceIds=[i["InstanceId"]])["Reservations"][0]["Instances"][0]
            assert d.get("PublicIpAddress") and d.get("PublicDnsName"), d
            self.instances.append({"id": d["InstanceId"], "name": name, "private_ip": d["PrivateIpAddress"],
                                   "public_ip": d["PublicIpAddress"], "private_dns": d["PrivateDnsName"],
                                   "public_dns": d["PublicDnsName"]})
        i = self.instances
        self.hosts = [
            {"name": "by-var", "display_name": "matched by custom variable", "address": "192.0.2.1",
             "vars": {"ec2_instance_id": i[0]["id"], "os": "linux"}, "groups": ["linux"]},
            {"name": i[1]["id"], "address": "192.0.2.2"},
            {"name": "by-alias", "display_name": i[2]["id"], "address": "192.0.2.3"},
            {"name": "by-private-ip", "address": i[3]["private_ip"], "groups": ["linux", "web"], "state": 1},
            {"name": "by-public-ip", "address": i[4]["public_ip"]},
            {"name": i[5]["private_dns"], "address": "192.0.2.6"},
            {"name": i[6]["public_dns"], "address": "192.0.2.7"},
            {"name": "wEB-sEVEN", "address": "192.0.2.8"},
            {"name": "BATCH", "address": "192.0.2.9"},
            {"name": "shared-vip", "address": i[3]["private_ip"], "vars": {"ec2_instance_id": i[4]["id"]}},
            {"name": "legacy-db", "display_name": "not in AWS", "address": "198.51.100.20",
             "vars": {"ec2_instance_id": "i-00000000000000000"}},
            {"name": "printer-3", "address": "198.51.100.30"},
        ]
        # instance index -> (matched_by, host name, state, host_count, ambiguous)
        self.expected = {
            0: ("custom_variable", "by-var", "UP", 1, False),
            1: ("instance_id", i[1]["id"], "UP", 1, False),
            2: ("instance_id", "by-alias", "UP", 1, False),
            3: ("private_ip", "by-private-ip", "DOWN", 1, False),
            4: ("custom_variable", "shared-vip", "UP", 2, False),
            5: ("private_dns", i[5]["private_dns"], "UP", 1, False),
            6: ("public_dns", i[6]["public_dns"], "UP", 1, False),
            7: ("name_tag", "wEB-sEVEN", "UP", 1, False),
            8: ("name_tag", "BATCH", "UP", 1, True),
            9: ("name_tag", "BATCH", "UP", 1, True),
        }
        # one inventory run, fetched once, copied into the spools of the scenarios that only vary the monitoring side
        base = self.pipeline("base", [{"name": "none", "type": "file", "path": str(tmp / "no-such-list")}])
        base.expect("fetch", "--collector", "inventory")
        self.inventory_run = Spool(base.spool.root, "inventory").raw_runs()[0]

    def pipeline(self, name: str, sources: list, **monitoring) -> Pipeline:
        p = Pipeline(self.tmp / name, self.moto_url, None, "unused", self.osmem_url, prefix="")
        p.write_config(cloudtrail=DELETE,
                       inventory={"accounts": [ACCOUNT], "regions": [REGION], "lookup_events": 0},
                       monitoring={"sources": sources, **monitoring},
                       index={"names": {"inventory": STEM}})
        p.extra_env.update({"AWS_ENDPOINT_URL_BACKUP": self.stub.url, "AWS_ENDPOINT_URL_CLOUDTRAIL": self.stub.url})
        return p

    def scenario(self, name: str, sources: list, fetch_codes=(0,), transform_codes=(0,), **monitoring) -> "Result":
        """A spool with the shared inventory run; fetch monitoring, transform; the documents."""
        p = self.pipeline(name, sources, **monitoring)
        shutil.copytree(self.inventory_run, p.spool.root / "raw" / "inventory" / self.inventory_run.name)
        fetch = p.expect("fetch", "--collector", "monitoring", codes=fetch_codes)
        transform = p.expect("transform", codes=transform_codes)
        return Result(self, p, fetch, transform)


class Result:
    """The documents one transform wrote."""

    def __init__(self, world: World, pipe: Pipeline, fetch, transform):
        self.world, self.pipe, self.fetch, self.transform = world, pipe, fetch, transform
        self.docs = [(a["index"], d) for a, d, _, _ in Spool(pipe.spool.root, "inventory").ndjson_docs()]
        self.instances = {get_path(d, "resource.id"): d for _, d in self.docs if get_path(d, "resource.type") == "ec2.instance"}
        self.summaries = [d for _, d in self.docs if get_path(d, "resource.type") == "summary"]
        self.hosts = {(get_path(d, "resource.type"), get_path(d, "resource.id")): d for _, d in self.docs
                      if get_path(d, "resource.type").startswith("monitoring.")}

    def monitoring(self, n: int) -> dict:
        return self.instances[self.world.instances[n]["id"]]["monitoring"]

    def verdicts(self) -> dict:
        return {n: self.monitoring(n)["monitored"] for n in range(len(self.world.instances))}

    def counts(self) -> dict:
        assert len(self.summaries) == 1, self.summaries
        return self.summaries[0]["monitoring"]["counts"]


@pytest.fixture(scope="module")
def world(binaries, peer_logs, tmp_path_factory):
    moto = peers.start_moto(log_dir=str(peer_logs))
    osmem = peers.start_osmem(log_dir=str(peer_logs))
    try:
        with AwsStub(moto_url=moto.url) as stub:
            yield World(moto.url, osmem.url, stub, tmp_path_factory.mktemp("monitoring"))
    finally:
        moto.stop()
        osmem.stop()


@pytest.fixture(scope="module")
def icinga(world, tmp_path_factory):
    why = icinga_peer.icinga2_available()
    if why:
        pytest.fail(f"icinga2 cannot run here: {why}", pytrace=False)
    d = tmp_path_factory.mktemp("icinga")
    peer = icinga_peer.start_icinga(world.hosts, dir=d, socket_path=str(d / "live.sock"), timeout=60)
    yield peer
    peer.stop()


def livestatus(name: str, address: str, **kw) -> dict:
    return {"name": name, "type": "livestatus", "address": address, **kw}


ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def check_matched(res: Result, system: str = "icinga", source_type: str = "livestatus", states: bool = True) -> None:
    """Every instance's monitoring object, exactly (times checked by shape and range)."""
    w = res.world
    as_of = None
    for n, inst in enumerate(w.instances):
        m = dict(res.monitoring(n))
        as_of = as_of or m["as_of"]
        assert ISO.match(m.pop("as_of")), m
        if n not in w.expected:
            assert m == {"monitored": "false", "system": system, "host_count": 0}, (n, m)
            continue
        rule, host, state, count, ambiguous = w.expected[n]
        spec = next(h for h in w.hosts if h["name"] == host)
        want = {"monitored": "true", "system": system, "source_type": source_type, "host_name": host,
                "host_alias": spec.get("display_name", host), "address": spec["address"]}
        if states:
            want["state"] = state
            last = m.pop("last_check")
            assert ISO.match(last) and last <= as_of, (n, last, as_of)
        if spec.get("groups"):
            want["groups"] = sorted(spec["groups"])
            m["groups"] = sorted(m["groups"])
        want.update({"matched_by": rule, "host_count": count, "ambiguous": ambiguous})
        assert m == want, (n, inst["name"], m, want)
    assert res.counts() == {"monitored": 10, "not_monitored": 1, "unknown": 0}
    assert res.summaries[0]["monitoring"]["monitored"] == "false"
    # the hosts with no instance, and the one with two
    assert set(res.hosts) == {("monitoring.unmatched_host", f"{system}:legacy-db"), ("monitoring.unmatched_host", f"{system}:printer-3"),
                              ("monitoring.ambiguous_host", f"{system}:BATCH")}
    batch = res.hosts[("monitoring.ambiguous_host", f"{system}:BATCH")]["monitoring"]
    assert batch["matched_by"] == "name_tag" and batch["candidate_count"] == 2
    assert sorted(c["instance_id"] for c in batch["candidates"]) == sorted([w.instances[8]["id"], w.instances[9]["id"]])
    assert all(c["account"] == ACCOUNT and c["region"] == REGION for c in batch["candidates"])
    legacy = res.hosts[("monitoring.unmatched_host", f"{system}:legacy-db")]["monitoring"]
    assert legacy["host_name"] == "legacy-db" and legacy["address"] == "198.51.100.20" and legacy["system"] == system
    assert "candidates" not in legacy and "monitored" not in legacy


# ====================================================================== icinga2 over TCP, end to end

@pytest.fixture(scope="module")
def collected(world, icinga):
    """fetch (monitoring + inventory), transform, load; then again with icinga2 down."""
    p = world.pipeline("e2e", [livestatus("icinga", icinga.address, timeout_seconds=10)])
    out = {"pipe": p}
    out["fetch1"] = p.expect("fetch", "--collector", "monitoring", "--collector", "inventory")
    out["transform1"] = p.expect("transform")
    out["load1"] = p.expect("load")
    changes = Spool(p.spool.root, "changes")
    out["changes_before"] = set(changes.ndjson_files())
    out["docs1"] = Result(world, p, out["fetch1"], out["transform1"])
    out["index1"] = index_figures(world.osmem_url)
    # the second collection: icinga2 is not reachable any more
    time.sleep(1.1)
    p.write_config(monitoring={"sources": [livestatus("icinga", f"127.0.0.1:{icinga_peer.free_port()}", timeout_seconds=5)]})
    out["fetch2"] = p.expect("fetch", "--collector", "monitoring", "--collector", "inventory", codes=(3,))
    before = set(Spool(p.spool.root, "inventory").ndjson_files())
    out["transform2"] = p.expect("transform", codes=(3,))
    out["load2"] = p.expect("load")
    out["index2"] = index_figures(world.osmem_url)
    out["new_inventory_files"] = sorted(set(Spool(p.spool.root, "inventory").ndjson_files()) - before)
    out["new_changes"] = sorted(set(changes.ndjson_files()) - out["changes_before"])
    return out


def test_icinga_documents_and_counts_are_exact(world, collected):
    res = collected["docs1"]
    check_matched(res)
    assert "hosts=12" in collected["fetch1"].out, collected["fetch1"].out
    assert "monitored=10" in collected["transform1"].out and "not_monitored=1" in collected["transform1"].out


def test_the_raw_run_holds_the_answer_byte_for_byte(world, collected, icinga):
    spool = Spool(collected["pipe"].spool.root, "monitoring")
    run = spool.raw_runs()[0]
    man = spool.manifest(run)
    assert man["collector"] == "monitoring" and "failures" not in man
    [entry] = man["entries"]
    assert entry["path"] == "responses/icinga/hosts.livestatus" and entry["service"] == "livestatus"
    assert entry["parameters"] == {"source": "icinga", "address": icinga.address, "query": "GET hosts"}
    raw = (run / entry["path"]).read_bytes()
    status, body = icinga_peer.parse_fixed16(raw)
    assert status == 200 and entry["httpStatus"] == 200 and entry["size"] == len(raw)
    assert {r[0] for r in json.loads(body)} == {h["name"] for h in world.hosts}
    assert spool.check_invariants() == []
    # transform marks monitoring runs done (retention removes them like every raw run), and writes nothing of its own
    assert run.name in Spool(collected["pipe"].spool.root).state("transform.json")["state"]["done"]["monitoring"]
    assert not (collected["pipe"].spool.root / "ndjson" / "monitoring").exists()


def index_count(url: str, query: dict, index: str = f"{STEM}-2*") -> int:
    http("POST", f"{url}/_refresh")
    st, body = http("POST", f"{url}/{index}/_search", {"size": 0, "query": query, "track_total_hits": True})
    assert st == 200, body
    return body["hits"]["total"]["value"]


INSTANCE = {"term": {"resource.type": "ec2.instance"}}


def index_figures(url: str) -> dict:
    """What the dashboards' three OP5 views count, from the index."""
    def instances(*f):
        return index_count(url, {"bool": {"filter": [INSTANCE, *f]}})
    return {"true": instances({"term": {"monitoring.monitored": "true"}}),
            "false": instances({"term": {"monitoring.monitored": "false"}}),
            "unknown": instances({"term": {"monitoring.monitored": "unknown"}}),
            "checked_last_hour": instances({"range": {"monitoring.last_check": {"gte": "now-1h"}}}),
            "unmatched_hosts": index_count(url, {"term": {"resource.type": "monitoring.unmatched_host"}}),
            "current_unknown": index_count(url, {"bool": {"filter": [INSTANCE, {"term": {"monitoring.monitored": "unknown"}}]}},
                                           f"{STEM}-current")}


def test_the_index_holds_the_monitoring_fields_typed(world, collected):
    assert collected["index1"] == {"true": 10, "false": 1, "unknown": 0, "checked_last_hour": 10, "unmatched_hosts": 2, "current_unknown": 0}
    # the second collection (icinga2 down) replaced the day's documents and the current state: unknown everywhere
    assert collected["index2"] == {"true": 0, "false": 0, "unknown": 11, "checked_last_hour": 0, "unmatched_hosts": 2, "current_unknown": 11}
    st, body = http("GET", f"{world.osmem_url}/_index_template/cloudspool-inventory")
    assert st == 200, body
    props = body["index_templates"][0]["index_template"]["template"]["mappings"]["properties"]["monitoring"]["properties"]
    assert props["monitored"]["type"] == "keyword" and props["last_check"]["type"] == "date"
    assert props["counts"]["properties"]["not_monitored"]["type"] == "long"


def test_source_down_says_unknown_never_false_and_exits_3(world, collected):
    assert "cannot connect to 127.0.0.1:" in collected["fetch2"].err and "Connection refused" in collected["fetch2"].err
    assert "monitoring source 'icinga'" in collected["transform2"].err
    docs = [d for f in collected["new_inventory_files"] for _, d, _, _ in Spool.parse_ndjson(f)]
    inst = [d for d in docs if d["resource"]["type"] == "ec2.instance"]
    assert len(inst) == 11 and {d["monitoring"]["monitored"] for d in inst} == {"unknown"}
    assert all("Connection refused" in d["monitoring"]["reason"] for d in inst)
    [summary] = [d for d in docs if d["resource"]["type"] == "summary"]
    assert summary["monitoring"]["counts"] == {"monitored": 0, "not_monitored": 0, "unknown": 11}
    assert summary["monitoring"]["monitored"] == "unknown"
    assert not [d for d in docs if d["resource"]["type"].startswith("monitoring.")]


def test_monitoring_changes_are_no_inventory_changes(world, collected):
    """From monitored to unknown between two collections: not one change document."""
    docs = [d for f in collected["new_changes"] for _, d, _, _ in Spool.parse_ndjson(f)]
    assert docs, "the second collection wrote nothing to the current-state index"
    assert [d for d in docs if "change" in d] == []
    current = [d for d in docs if d["resource"]["type"] == "ec2.instance"]
    assert {d["monitoring"]["monitored"] for d in current} == {"unknown"}


# ====================================================================== the unix socket, OP5, a host list

def test_unix_socket(world, icinga):
    check_matched(world.scenario("unix", [livestatus("icinga", icinga.socket_path)]))


def test_op5_api_paged_with_basic_auth(world, tmp_path):
    pw = tmp_path / "op5-password"
    pw.write_text(OP5_PASSWORD + "\n")
    pw.chmod(0o600)
    with Op5Stub(world.hosts, users={"monitor": OP5_PASSWORD}) as op5:
        res = world.scenario("op5", [{"name": "op5", "type": "op5", "url": op5.url, "username": "monitor",
                                      "password_file": str(pw), "page_size": 5}])
        reqs = list(op5.requests)
    check_matched(res, system="op5", source_type="op5")
    assert [(r["path"], r["params"]["offset"], r["params"]["limit"]) for r in reqs] == \
        [("/api/filter/query", "0", "5"), ("/api/filter/query", "5", "5"), ("/api/filter/query", "10", "5")]
    assert all(r["authorized"] and r["user"] == "monitor" and r["params"]["query"] == "[hosts] all" for r in reqs)
    assert reqs[0]["params"]["columns"] == "name,alias,display_name,address,state,has_been_checked,last_check,custom_variables,groups"
    man = Spool(res.pipe.spool.root, "monitoring").manifest(Spool(res.pipe.spool.root, "monitoring").raw_runs()[0])
    assert [e["path"] for e in man["entries"]] == [f"responses/op5/hosts-000{n}.json" for n in (1, 2, 3)]
    assert_no_secret(res.pipe, OP5_PASSWORD)


def assert_no_secret(pipe: Pipeline, secret: str) -> None:
    needle = secret.encode()
    for f in pipe.spool.all_files():
        assert needle not in f.read_bytes(), f"the password is in {f}"
    for r in pipe.runs:
        assert secret not in r.text and secret not in " ".join(map(str, r.cmd)), r.describe()


def test_op5_credentials_refused(world, tmp_path):
    pw = tmp_path / "op5-password"
    pw.write_text("not-the-password\n")
    pw.chmod(0o640)
    with Op5Stub(world.hosts, users={"monitor": OP5_PASSWORD}) as op5:
        res = world.scenario("op5-401", [{"name": "op5", "type": "op5", "url": op5.url, "username": "monitor",
                                          "password_file": str(pw)}], fetch_codes=(3,), transform_codes=(3,))
    assert "the OP5 API refused the credentials of user 'monitor' (HTTP 401 (Unauthorized: Authentication failed))" in res.fetch.err
    assert set(res.verdicts().values()) == {"unknown"}
    assert res.counts() == {"monitored": 0, "not_monitored": 0, "unknown": 11}
    assert_no_secret(res.pipe, "not-the-password")


def test_op5_password_file_readable_by_everyone_is_refused(world, tmp_path):
    pw = tmp_path / "op5-password"
    pw.write_text(OP5_PASSWORD)
    pw.chmod(0o644)
    with Op5Stub(world.hosts, users={"monitor": OP5_PASSWORD}) as op5:
        p = world.pipeline("op5-644", [{"name": "op5", "type": "op5", "url": op5.url, "username": "monitor", "password_file": str(pw)}])
        r = p.expect("fetch", "--collector", "monitoring", codes=(2,))
        assert op5.requests == []
    assert f"the password of monitoring source 'op5' file {pw} is readable by every user; run: chmod o-rwx {pw}" in r.err
    assert Spool(p.spool.root, "monitoring").raw_runs() == []


@pytest.mark.parametrize("fault,message", [
    ("500", "the OP5 API answered HTTP 500 (Internal error: livestatus: connection refused)"),
    ("garbage", "page 1 of the OP5 API answer: the answer is not a JSON array of hosts (not a JSON array: the data ends"),
    ("html", "the OP5 API answered text/html; charset=UTF-8, not JSON (a login page? check the url)"),
    ("truncated", "HTTP transfer to 127.0.0.1:"),
])
def test_op5_faults_say_unknown(world, tmp_path, fault, message):
    pw = tmp_path / "pw"
    pw.write_text(OP5_PASSWORD)
    pw.chmod(0o600)
    with Op5Stub(world.hosts, users={"monitor": OP5_PASSWORD}, fault=fault) as op5:
        res = world.scenario(f"op5-{fault}", [{"name": "op5", "type": "op5", "url": op5.url, "username": "monitor",
                                               "password_file": str(pw), "timeout_seconds": 5}], fetch_codes=(3,), transform_codes=(3,))
    assert message in res.fetch.err, res.fetch.err
    assert set(res.verdicts().values()) == {"unknown"}


def test_host_list_file(world, tmp_path):
    i = world.instances
    listing = tmp_path / "hosts.txt"
    listing.write_text(f"# monitored elsewhere\n{i[3]['private_ip']}\n{i[5]['private_dns'].upper()}\n\n{i[1]['id']}  # by id\nnot-in-aws\n")
    res = world.scenario("list", [{"name": "cmdb", "type": "file", "path": str(listing)}])
    got = {n: (m["monitored"], m.get("matched_by")) for n in range(len(i)) for m in [res.monitoring(n)]}
    assert got == {n: ("true", rule) for n, rule in ((1, "instance_id"), (3, "private_ip"), (5, "private_dns"))} | \
        {n: ("false", None) for n in range(len(i)) if n not in (1, 3, 5)}
    assert "state" not in res.monitoring(3) and "last_check" not in res.monitoring(3)
    assert set(res.hosts) == {("monitoring.unmatched_host", "cmdb:not-in-aws")}


# ====================================================================== bad input from livestatus

@pytest.mark.parametrize("mode,message", [
    ("error", "livestatus answered status 452: Error: Column 'x' does not exist"),
    ("truncated", "the answer is truncated: its header announced"),
    ("garbage", "the answer is not a JSON array of hosts (not a JSON array: '}' closes a '['"),
    ("bad_header", "the answer does not start with a livestatus fixed16 header (it starts with 'HTTP/1.0 200 OK.')"),
    ("empty", "the server closed the connection without an answer"),
    ("reset", ("the server closed the connection without an answer", "Connection reset by peer")),
    ("hang", "did not answer within 2 s (timeout_seconds)"),
])
def test_livestatus_faults_say_unknown(world, mode, message):
    with LivestatusStub(world.hosts, mode=mode, status=452, message="Error: Column 'x' does not exist in table 'hosts'.\n") as ls:
        t = time.monotonic()
        res = world.scenario(f"ls-{mode}", [livestatus("icinga", ls.address, timeout_seconds=2)], fetch_codes=(3,), transform_codes=(3,))
        seconds = time.monotonic() - t
    assert any(m in res.fetch.err for m in ((message,) if isinstance(message, str) else message)), res.fetch.err
    assert f"monitoring source 'icinga' (livestatus {ls.address})" in res.fetch.err
    assert set(res.verdicts().values()) == {"unknown"}, res.verdicts()
    assert res.counts() == {"monitored": 0, "not_monitored": 0, "unknown": 11}
    assert not res.hosts
    assert seconds < 60
    run = Spool(res.pipe.spool.root, "monitoring").raw_runs()[0]
    man = Spool(res.pipe.spool.root, "monitoring").manifest(run)
    assert [f["call"] for f in man["failures"]] == ["monitoring icinga"]
    if mode in ("truncated", "garbage", "error", "bad_header"):
        # what came is kept for the operator to look at
        assert [e["path"] for e in man["entries"]] == ["responses/icinga/hosts.livestatus"]


def test_naemon_flavour_and_one_source_of_two_down(world, icinga):
    """Upper-case custom variables as a dict (Naemon/OP5); a second source down makes the rest unknown, not false."""
    hosts = [h for h in world.hosts if h["name"] in ("by-var", "by-private-ip")]
    with LivestatusStub(hosts, flavour="naemon") as ls:
        res = world.scenario("two", [livestatus("naemon", ls.address),
                                     livestatus("down", f"127.0.0.1:{icinga_peer.free_port()}", timeout_seconds=2)],
                             fetch_codes=(3,), transform_codes=(3,))
    v = res.verdicts()
    assert v[0] == "true" and res.monitoring(0)["matched_by"] == "custom_variable" and res.monitoring(0)["system"] == "naemon"
    assert v[3] == "true" and res.monitoring(3)["state"] == "DOWN"
    assert {v[n] for n in v if n not in (0, 3)} == {"unknown"}
    assert res.monitoring(5)["system"] == ["naemon", "down"]
    assert res.counts() == {"monitored": 2, "not_monitored": 0, "unknown": 9}


def test_no_monitoring_run_near_the_inventory_run(world):
    p = world.pipeline("none", [livestatus("icinga", "127.0.0.1:9")])
    shutil.copytree(world.inventory_run, p.spool.root / "raw" / "inventory" / world.inventory_run.name)
    r = p.expect("transform", codes=(3,))
    assert "no monitoring run within 60 minutes (max_age_minutes) of the inventory run (there is none)" in r.err
    res = Result(world, p, None, r)
    assert set(res.verdicts().values()) == {"unknown"}


# ====================================================================== cloudspool-fetch --check

def test_check_asks_every_source_and_stores_nothing(world, icinga, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(OP5_PASSWORD)
    pw.chmod(0o600)
    listing = tmp_path / "hosts.txt"
    listing.write_text("web-1\n# no host\n10.0.0.1\n")
    down = icinga_peer.free_port()
    with Op5Stub(world.hosts, users={"monitor": OP5_PASSWORD}) as op5, \
            LivestatusStub(world.hosts, mode="error", status=452, message="Error: Column 'groups' does not exist in table 'hosts'.") as old:
        p = world.pipeline("check", [livestatus("icinga", icinga.address), livestatus("sock", icinga.socket_path),
                                     {"name": "op5", "type": "op5", "url": op5.url, "username": "monitor", "password_file": str(pw)},
                                     {"name": "cmdb", "type": "file", "path": str(listing)},
                                     livestatus("down", f"127.0.0.1:{down}", timeout_seconds=2),
                                     livestatus("old", old.address, timeout_seconds=2)])
        r = p.run("fetch", "--check")
        op5_requests = list(op5.requests)
    assert r.code == 1, r.describe()
    lines = [l for l in r.out.splitlines() if l.startswith("monitoring ")]
    assert len(lines) == 6, r.out
    by_source = {l.split()[2].rstrip(":"): l for l in lines}
    assert " ok " in by_source["icinga"] and "answers GET hosts with the collector's columns" in by_source["icinga"]
    assert " ok " in by_source["sock"]
    assert " ok " in by_source["op5"] and "the API answers as user monitor" in by_source["op5"]
    assert [q["params"]["limit"] for q in op5_requests] == ["1"]
    assert " ok " in by_source["cmdb"] and "2 hosts listed" in by_source["cmdb"]
    assert "FAILED" in by_source["down"] and "Connection refused" in by_source["down"] and "check address" in by_source["down"]
    assert "FAILED" in by_source["old"] and "status 452: Error: Column 'groups' does not exist" in by_source["old"]
    assert not (p.spool.root / "raw" / "monitoring").exists()
    assert OP5_PASSWORD not in r.text


# ====================================================================== 100,000 hosts

def timed_transform(world: World, name: str, hosts: int) -> dict:
    with LivestatusStub(many_hosts(hosts)) as ls:
        p = world.pipeline(name, [livestatus("big", ls.address, timeout_seconds=120)])
        shutil.copytree(world.inventory_run, p.spool.root / "raw" / "inventory" / world.inventory_run.name)
        t = time.monotonic()
        p.expect("fetch", "--collector", "monitoring")
        fetch_seconds = time.monotonic() - t
    cmd = ["/usr/bin/time", "-v", str(support.binary("transform")), "--config", str(p.config_path)]
    r = subprocess.run(cmd, env=p.env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", r.stderr).group(1)
    seconds = sum(float(x) * 60 ** k for k, x in enumerate(reversed(wall.split(":"))))
    line = re.search(r"cloudspool-transform: ok: (.*)", r.stdout).group(1)
    return {"hosts": hosts, "fetch_seconds": fetch_seconds, "transform_seconds": seconds, "rss_mib": rss / 1024, "summary": line}


def test_100000_hosts_memory_stays_flat(world):
    small = timed_transform(world, "hosts-1k", 1_000)
    big = timed_transform(world, "hosts-100k", 100_000)
    for m in (small, big):
        print(f"\n{m['hosts']:>7} hosts: fetch {m['fetch_seconds']:.2f} s, transform {m['transform_seconds']:.2f} s, "
              f"peak RSS {m['rss_mib']:.1f} MiB ({m['summary']})")
    assert f"monitoring_hosts={big['hosts']}" in big["summary"] and f"monitoring_unmatched_hosts={big['hosts']}" in big["summary"]
    assert big["rss_mib"] - small["rss_mib"] < 40, (small, big)
    assert big["transform_seconds"] < 120
