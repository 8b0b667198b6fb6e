"""The test peers of the monitoring collector work: a real Icinga 2 (livestatus over TCP and a
unix socket), the livestatus fault stub and the OP5 HTTP API stub. No cloudspool binary needed."""

from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

import icinga_peer
from icinga_peer import LivestatusError, livestatus_query, parse_fixed16
from livestatus_stub import LivestatusStub, many_hosts
from op5_stub import Op5Stub

FIXTURES = Path(__file__).resolve().parent / "monitoring_fixtures"
GET_HOSTS = ("GET hosts\nColumns: " + " ".join(icinga_peer.HOST_COLUMNS) +
             "\nOutputFormat: json\nResponseHeader: fixed16\n\n").encode()

HOSTS = [
    {"name": "web-1", "display_name": "Web server 1", "address": "10.0.1.10",
     "vars": {"ec2_instance_id": "i-0a1b2c3d4e5f60718", "os": "linux", "port": 8080}, "groups": ["linux", "web"]},
    {"name": "i-0fedcba9876543210", "address": "10.0.1.11"},
    {"name": "by-alias", "display_name": "i-0123456789abcdef0", "address": "10.0.1.12"},
    {"name": "ip-10-0-2-12.eu-west-1.compute.internal", "address": "10.0.2.12", "address6": "2001:db8::12"},
    {"name": "db-old", "display_name": "Old \"quoted\" database", "address": "198.51.100.20", "state": 1,
     "vars": {"EC2_Instance_ID": "i-00000000000000000"}},
]


@pytest.fixture(scope="module")
def icinga(tmp_path_factory):
    why = icinga_peer.icinga2_available()
    if why:
        pytest.fail(f"icinga2 cannot run here: {why}", pytrace=False)
    d = tmp_path_factory.mktemp("icinga")
    peer = icinga_peer.start_icinga(HOSTS, dir=d, socket_path=str(d / "live.sock"), timeout=60)
    yield peer
    peer.stop()
    assert not peer.alive()


# ---------------------------------------------------------------- icinga2

def test_icinga_starts_fast_and_checks_every_host(icinga):
    assert icinga.startup_seconds < 20, icinga.startup_seconds
    rows = {r["name"]: r for r in icinga.hosts()}
    assert set(rows) == {h["name"] for h in HOSTS}
    for r in rows.values():
        assert r["has_been_checked"] == 1 and r["last_check"] > 1_000_000_000
    assert rows["web-1"]["state"] == 0 and rows["db-old"]["state"] == 1


def test_icinga_tcp_hosts_with_vars_and_groups(icinga):
    rows = {r["name"]: r for r in icinga.hosts()}
    web = rows["web-1"]
    assert web["alias"] == web["display_name"] == "Web server 1"
    assert web["address"] == "10.0.1.10" and web["address6"] == ""
    assert sorted(web["groups"]) == ["linux", "web"]
    # icinga2: a list of [name, value] pairs, names as configured, values keep their JSON type
    assert ["ec2_instance_id", "i-0a1b2c3d4e5f60718"] in web["custom_variables"]
    assert ["port", 8080] in web["custom_variables"]
    assert dict(zip(web["custom_variable_names"], web["custom_variable_values"]))["ec2_instance_id"] == \
        "i-0a1b2c3d4e5f60718"
    assert ["EC2_Instance_ID", "i-00000000000000000"] in rows["db-old"]["custom_variables"]
    assert rows["db-old"]["display_name"] == 'Old "quoted" database'
    assert rows["by-alias"]["alias"] == "i-0123456789abcdef0"
    assert rows["ip-10-0-2-12.eu-west-1.compute.internal"]["address6"] == "2001:db8::12"


def test_icinga_unix_socket_answers_the_same(icinga):
    tcp = sorted((r["name"], json.dumps(r["custom_variables"])) for r in icinga.hosts(via="tcp"))
    unix = sorted((r["name"], json.dumps(r["custom_variables"])) for r in icinga.hosts(via="unix"))
    assert tcp == unix and len(unix) == len(HOSTS)


def test_icinga_fixed16_header_layout(icinga):
    raw = icinga.query(GET_HOSTS)
    assert re.fullmatch(rb"200 +\d+\n", raw[:16])
    assert int(raw[3:15]) == len(raw) - 16
    status, body = parse_fixed16(raw)
    assert status == 200 and len(json.loads(body)) == len(HOSTS)


def test_icinga_request_needs_the_blank_line(icinga):
    # blank line + half-close: answered; half-close without the blank line: icinga2 says nothing
    assert parse_fixed16(icinga.query(GET_HOSTS, shutdown_write=True))[0] == 200
    assert icinga.query(GET_HOSTS.rstrip(b"\n") + b"\n", shutdown_write=True) == b""


def test_icinga_errors(icinga):
    status, body = parse_fixed16(icinga.query(b"GET hosts\nColumns: name no_such_column\n"
                                              b"OutputFormat: json\nResponseHeader: fixed16\n\n"))
    assert status == 452 and body.startswith(b"Error: Column 'no_such_column' does not exist in table 'hosts'.")
    status, body = parse_fixed16(icinga.query(b"GET no_such_table\nOutputFormat: json\nResponseHeader: fixed16\n\n"))
    assert (status, body) == (404, b"Table 'no_such_table' does not exist.")
    # without ResponseHeader an error is just silence; a bad verb is silence even with it
    assert icinga.query(b"GET hosts\nColumns: no_such_column\nOutputFormat: json\n\n") == b""
    assert icinga.query(b"FETCH hosts\nResponseHeader: fixed16\n\n") == b""
    with pytest.raises(LivestatusError):
        parse_fixed16(b"")


def test_icinga_keepalive_two_answers_on_one_connection(icinga):
    one = b"GET hosts\nColumns: name\nOutputFormat: json\nKeepAlive: on\nResponseHeader: fixed16\n\n"
    two = b"GET hosts\nColumns: state\nOutputFormat: json\nResponseHeader: fixed16\n\n"
    raw = icinga.query(one + two)
    s1, b1 = parse_fixed16(raw[:16 + int(raw[3:15])])
    rest = raw[16 + len(b1):]
    s2, b2 = parse_fixed16(rest)
    assert s1 == s2 == 200 and len(json.loads(b1)) == len(json.loads(b2)) == len(HOSTS)


def test_icinga_down_means_connection_refused(icinga, tmp_path):
    with pytest.raises(ConnectionRefusedError):
        livestatus_query(GET_HOSTS, tcp=("127.0.0.1", icinga_peer.free_port()), timeout=2)
    with pytest.raises((FileNotFoundError, ConnectionRefusedError)):
        livestatus_query(GET_HOSTS, unix=str(tmp_path / "nothing"), timeout=2)


def test_render_config_rejects_bad_hosts():
    with pytest.raises(ValueError):
        icinga_peer.render_config([{"name": "a!b"}], port=1, socket_path="/x")
    with pytest.raises(ValueError):
        icinga_peer.render_config([{"name": "a"}, {"name": "a"}], port=1, socket_path="/x")


def test_demo_hosts_cover_every_rule():
    inst = [{"id": f"i-{n:017x}", "private_ip": f"10.0.0.{n}", "public_ip": f"203.0.113.{n}",
             "private_dns": f"ip-10-0-0-{n}.eu-west-1.compute.internal",
             "public_dns": f"ec2-203-0-113-{n}.eu-west-1.compute.amazonaws.com", "name": f"App-{n}"}
            for n in range(1, 9)]
    hosts = icinga_peer.demo_hosts(inst)
    names = {h["name"] for h in hosts}
    assert inst[1]["id"] in names and inst[5]["private_dns"] in names and "aPP-8" in names
    icinga_peer.render_config(hosts, port=1, socket_path="/x")


# ---------------------------------------------------------------- captured fixtures

def test_captured_fixtures_are_whole():
    answers = sorted(FIXTURES.glob("*.response"))
    assert len(answers) >= 12
    for f in answers:
        raw = f.read_bytes()
        assert (FIXTURES / (f.name[:-len(".response")] + ".request")).exists()
        if "fixed16" in f.name and raw and "keepalive" not in f.name:
            status, body = parse_fixed16(raw)
            if f.name.endswith(".json.response") and status == 200:
                json.loads(body)
    rows = json.loads(parse_fixed16((FIXTURES / "hosts.fixed16.json.response").read_bytes())[1])
    assert all(len(r) == len(icinga_peer.HOST_COLUMNS) for r in rows)
    pending = json.loads(parse_fixed16((FIXTURES / "hosts.unchecked.fixed16.json.response").read_bytes())[1])
    assert {tuple(r[5:8]) for r in pending} == {(1, 0, -1)}  # state, has_been_checked, last_check


# ---------------------------------------------------------------- livestatus fault stub

def test_livestatus_stub_modes(tmp_path):
    with LivestatusStub(HOSTS, unix_path=str(tmp_path / "ls.sock")) as ls:
        for where in ({"tcp": ls.tcp}, {"unix": ls.unix_path}):
            status, body = parse_fixed16(livestatus_query(GET_HOSTS, **where))
            assert status == 200 and len(json.loads(body)) == len(HOSTS)
        ls.mode = "truncated"
        with pytest.raises(LivestatusError, match="announces"):
            parse_fixed16(livestatus_query(GET_HOSTS, tcp=ls.tcp))
        ls.mode = "garbage"
        status, body = parse_fixed16(livestatus_query(GET_HOSTS, tcp=ls.tcp))
        with pytest.raises(ValueError):
            json.loads(body)
        ls.mode, ls.status, ls.message = "error", 400, "Invalid header"
        assert parse_fixed16(livestatus_query(GET_HOSTS, tcp=ls.tcp)) == (400, b"Invalid header")
        ls.mode = "bad_header"
        with pytest.raises(LivestatusError, match="malformed"):
            parse_fixed16(livestatus_query(GET_HOSTS, tcp=ls.tcp))
        ls.mode = "hang"
        with pytest.raises(socket.timeout):
            livestatus_query(GET_HOSTS, tcp=ls.tcp, timeout=0.3)
        assert all(r.endswith(b"\n\n") for r in ls.requests)


def test_livestatus_stub_naemon_flavour():
    with LivestatusStub([{"name": "web-1", "vars": {"_ec2_instance_id": "i-1", "port": 80}}], flavour="naemon") as ls:
        row = dict(zip(icinga_peer.HOST_COLUMNS, json.loads(parse_fixed16(livestatus_query(GET_HOSTS, tcp=ls.tcp))[1])[0]))
        assert row["custom_variables"] == {"EC2_INSTANCE_ID": "i-1", "PORT": "80"}


def test_livestatus_stub_100000_hosts():
    t0 = time.monotonic()
    with LivestatusStub(many_hosts(100_000)) as ls:
        raw = livestatus_query("GET hosts\nColumns: name address custom_variables\nOutputFormat: json\n"
                               "ResponseHeader: fixed16", tcp=ls.tcp, timeout=30)
    status, body = parse_fixed16(raw)
    assert status == 200 and len(json.loads(body)) == 100_000
    assert time.monotonic() - t0 < 15


# ---------------------------------------------------------------- OP5 HTTP API stub

def _get(url: str, user: str = "monitor", password: str = "s3cret", timeout: float = 5.0):
    req = urllib.request.Request(url)
    if user is not None:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    return urllib.request.urlopen(req, timeout=timeout)


def _q(base: str, path: str = "/api/filter/query", **params) -> str:
    params.setdefault("query", "[hosts] all")
    params.setdefault("format", "json")
    return base + path + "?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


@pytest.fixture
def op5():
    with Op5Stub(HOSTS, users={"monitor": "s3cret"}) as s:
        yield s


def test_op5_query_answers_documented_shape(op5):
    cols = "name,alias,display_name,address,state,has_been_checked,last_check,custom_variables,groups"
    with _get(_q(op5.url, columns=cols)) as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("application/json")
        rows = json.loads(r.read())
    assert isinstance(rows, list) and len(rows) == len(HOSTS)
    web = next(x for x in rows if x["name"] == "web-1")
    assert set(web) == set(cols.split(","))
    assert web["custom_variables"] == {"EC2_INSTANCE_ID": "i-0a1b2c3d4e5f60718", "OS": "linux", "PORT": "8080"}
    with _get(_q(op5.url, columns="name")) as r:
        assert json.loads(r.read())[0] == {"name": "web-1"}
    assert op5.requests[0]["user"] == "monitor" and "s3cret" not in json.dumps(op5.requests)


def test_op5_paging_and_count(op5):
    seen = []
    for offset in range(0, 10, 2):
        with _get(_q(op5.url, columns="name", limit=2, offset=offset)) as r:
            page = json.loads(r.read())
        seen += [x["name"] for x in page]
        if len(page) < 2:
            break
    assert seen == [h["name"] for h in HOSTS]
    with _get(_q(op5.url, path="/api/filter/count")) as r:
        assert json.loads(r.read()) == {"count": len(HOSTS)}
    with _get(_q(op5.url, query='[hosts] name="db-old"', columns="name,state")) as r:
        assert json.loads(r.read()) == [{"name": "db-old", "state": 1}]


def test_op5_refuses_bad_auth(op5):
    for user, password in (("monitor", "wrong"), ("nobody", "s3cret"), (None, None)):
        with pytest.raises(urllib.error.HTTPError) as e:
            _get(_q(op5.url), user=user, password=password)
        assert e.value.code == 401 and "Basic" in e.value.headers["WWW-Authenticate"]
        assert "error" in json.loads(e.value.read())
    with pytest.raises(urllib.error.HTTPError) as e:
        _get(_q(op5.url, columns="name,nonsense"))
    assert e.value.code == 400


def test_op5_faults(op5):
    op5.fault = "500"
    with pytest.raises(urllib.error.HTTPError) as e:
        _get(_q(op5.url))
    assert e.value.code == 500
    op5.fault = "garbage"
    with _get(_q(op5.url)) as r, pytest.raises(ValueError):
        json.loads(r.read())
    op5.fault = "truncated"
    with _get(_q(op5.url)) as r, pytest.raises(http.client.IncompleteRead):
        r.read()
    op5.fault, op5.slow_seconds = "slow", 2.0
    with pytest.raises((socket.timeout, urllib.error.URLError)):
        _get(_q(op5.url), timeout=0.3)
    op5.fault, op5.fault_times = "401", 1
    with pytest.raises(urllib.error.HTTPError):
        _get(_q(op5.url))
    with _get(_q(op5.url)) as r:  # the fault was used up
        assert len(json.loads(r.read())) == len(HOSTS)
