"""IAM users: `cloudspool-fetch --collector iam` -> transform -> load into `awsusers-000001`.

AWS is a moto server run in this test process (moto.server.ThreadedMotoServer), so
the test can give moto's IAM backend what its API cannot set: users created in the
past, a console password last used at a known time, access keys last used at known
times, and the `<root_account>` row AWS puts first in every credential report.
Everything else goes through the API as a collector would see it (users, paths,
login profiles, access keys -- one of them really used to sign a request --,
virtual MFA devices, signing certificates, groups), in three accounts: the base
credentials' own (123456789012, used directly) and two entered with
sts:AssumeRole of arn:aws:iam::<id>:role/EnergyLogReadOnly.

The clock of the documents is the fetch run's start (its run id), read back from
raw/iam/<run-id>/, so every "days since" figure is checked exactly:
floor((as_of - time) / 86400).
"""

from __future__ import annotations

import base64
import json
import logging
import math
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional

import pytest

import peers
from support import Pipeline, http

UTC = timezone.utc
USERS_INDEX = "awsusers-000001"
ROLE = "EnergyLogReadOnly"
BASE = "123456789012"      # moto's default account: the base credentials' own
ACC_A = "111111111111"
ACC_B = "222222222222"
INACTIVE_DAYS = 90
RUN_ID = re.compile(r"^(\d{8}T\d{6}Z)-[0-9a-f]{8}$")
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
MARKERS = {"N/A", "no_information", "not_supported"}
LOGIN_KEYS = ("console_password", "access_key_1", "access_key_2", "mfa", "certificate_1", "certificate_2")


# ====================================================================== an AWS of our own

class InProcessMoto:
    """moto's server on a free loopback port, on a thread of this process (its backends are reachable)."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.url = f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.stop()

    def client(self, service: str, account: str = BASE, region: str = "eu-west-1"):
        """A boto3 client acting in `account` (the base credentials, or an assumed role there)."""
        import boto3

        if account == BASE:
            creds = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        else:
            sts = boto3.client("sts", endpoint_url=self.url, region_name=region, aws_access_key_id="testing",
                               aws_secret_access_key="testing")
            c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="test-setup")["Credentials"]
            creds = {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                     "aws_session_token": c["SessionToken"]}
        return boto3.client(service, endpoint_url=self.url, region_name=region, **creds)


def iam_backend(account: str):
    from moto.iam.models import iam_backends

    return iam_backends[account]["aws"]


def naive(t: datetime) -> datetime:
    """moto keeps naive UTC datetimes."""
    return t.astimezone(UTC).replace(tzinfo=None)


def self_signed_pem(cn: str) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


# ====================================================================== the users

class U:
    """One IAM user as the test made it, and the facts its document must show."""

    def __init__(self, account: str, name: str, *, path: str = "/", password: bool = False, keys: int = 0,
                 key2_inactive: bool = False, mfa: bool = False, cert: bool = False, groups=(),
                 created_days: Optional[float] = None, password_used_days: Optional[float] = None,
                 key1_used_days: Optional[float] = None, key2_used_days: Optional[float] = None,
                 key1_really_used: bool = False, root: bool = False):
        self.account, self.name, self.path = account, name, path
        self.password, self.keys, self.key2_inactive = password, keys, key2_inactive
        self.mfa, self.cert, self.groups = mfa, cert, sorted(groups)
        self.created_days, self.password_used_days = created_days, password_used_days
        self.key1_used_days, self.key2_used_days = key1_used_days, key2_used_days
        self.key1_really_used = key1_really_used
        self.root = root
        # filled in from what moto reports (second precision)
        self.created: Optional[datetime] = None
        self.password_used: Optional[datetime] = None
        self.key1_used: Optional[datetime] = None
        self.key2_used: Optional[datetime] = None
        self.user_id: Optional[str] = None

    @property
    def doc_id(self) -> str:
        return f"{self.account}:{self.name}"

    @property
    def login(self) -> dict:
        return {"console_password": self.password, "access_key_1": self.keys >= 1,
                "access_key_2": self.keys >= 2 and not self.key2_inactive, "mfa": self.mfa,
                "certificate_1": self.cert, "certificate_2": False}

    def uses(self) -> dict:
        return {m: t for m, t in (("console_password", self.password_used), ("access_key_1", self.key1_used),
                                  ("access_key_2", self.key2_used)) if t is not None}


def days_between(as_of: datetime, t: datetime) -> int:
    return math.floor((as_of - t).total_seconds() / 86400)


def expected_activity(u: U, as_of: datetime) -> dict:
    """The `activity` object the contract describes, computed here independently."""
    uses = u.uses()
    out: dict = {"never_used": not uses, "inactive_after_days": INACTIVE_DAYS}
    if uses:
        method, last = max(uses.items(), key=lambda kv: kv[1])
        out["last_activity"] = last
        out["last_activity_method"] = method
        out["days_since_last_activity"] = days_between(as_of, last)
        idle = days_between(as_of, last)
    else:
        idle = days_between(as_of, u.created)
    out["inactive"] = idle > INACTIVE_DAYS
    for method, t in uses.items():
        out[f"days_since_{method}_used"] = days_between(as_of, t)
    if u.created is not None:
        out["days_since_creation"] = days_between(as_of, u.created)
    return out


def parse_iso(s: str) -> datetime:
    assert isinstance(s, str) and ISO_Z.match(s), f"not an ISO 8601 UTC time with Z: {s!r}"
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def report_time(s: str) -> datetime:
    """A time as moto writes it in the credential report (2026-11-29T04:04:05+00:00)."""
    return datetime.fromisoformat(s)


class World:
    """The users of the three accounts, made through moto's API (and its backend for past times)."""

    def __init__(self, moto: InProcessMoto):
        self.moto = moto
        self.t0 = datetime.now(UTC).replace(microsecond=0)
        self.users: dict = {}   # doc id -> U

    def ago(self, days: float) -> datetime:
        # one hour more than the whole days: floor() stays on `days` for the next 23 hours
        return self.t0 - timedelta(days=days, hours=1)

    def add(self, u: U) -> U:
        if u.root:   # no IAM user: only the report's row (add_root_row)
            self.users[u.doc_id] = u
            return u
        iam = self.moto.client("iam", u.account)
        iam.create_user(UserName=u.name, Path=u.path)
        if u.password:
            iam.create_login_profile(UserName=u.name, Password="Correct-Horse-9!")
        keys = [iam.create_access_key(UserName=u.name)["AccessKey"] for _ in range(u.keys)]
        if u.key2_inactive:
            iam.update_access_key(UserName=u.name, AccessKeyId=keys[1]["AccessKeyId"], Status="Inactive")
        if u.mfa:
            self.enable_mfa(u)
        if u.cert:
            iam.upload_signing_certificate(UserName=u.name, CertificateBody=self_signed_pem(u.name))
        for g in u.groups:
            try:
                iam.create_group(GroupName=g)
            except iam.exceptions.EntityAlreadyExistsException:
                pass
            iam.add_user_to_group(GroupName=g, UserName=u.name)
        if u.key1_really_used:
            # a request signed with the key: moto records it as the key's last use (now)
            import boto3

            sts = boto3.client("sts", endpoint_url=self.moto.url, region_name="eu-west-1",
                               aws_access_key_id=keys[0]["AccessKeyId"], aws_secret_access_key=keys[0]["SecretAccessKey"])
            assert sts.get_caller_identity()["Account"] == u.account
            last = iam.get_access_key_last_used(AccessKeyId=keys[0]["AccessKeyId"])["AccessKeyLastUsed"]
            assert "LastUsedDate" in last, f"moto did not record the use of {u.name}'s key: {last}"
        self.backdate(u)
        u.user_id = iam.get_user(UserName=u.name)["User"]["UserId"]
        self.users[u.doc_id] = u
        return u

    def enable_mfa(self, u: U) -> None:
        iam = self.moto.client("iam", u.account)
        serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"{u.name}-mfa")["VirtualMFADevice"]["SerialNumber"]
        iam.enable_mfa_device(UserName=u.name, SerialNumber=serial, AuthenticationCode1="123456",
                              AuthenticationCode2="654321")
        u.mfa = True

    def backdate(self, u: U) -> None:
        """Past times moto's API cannot set, straight into its backend."""
        from moto.iam.models import AccessKeyLastUsed

        user = iam_backend(u.account).users[u.name]
        if u.created_days is not None:
            user.create_date = naive(self.ago(u.created_days))
        if u.password_used_days is not None:
            assert u.password
            user.password_last_used = naive(self.ago(u.password_used_days))
        for i, d in ((0, u.key1_used_days), (1, u.key2_used_days)):
            if d is not None:
                user.access_keys[i].last_used = AccessKeyLastUsed(timestamp=naive(self.ago(d)), service="s3",
                                                                  region="eu-west-1")

    def add_root_row(self, account: str, created_days: float, password_used_days: float) -> U:
        """AWS puts the root user first in every credential report (moto does not): add that row as AWS writes it."""
        backend = iam_backend(account)
        original = type(backend).get_credential_report.__get__(backend)
        created = self.ago(created_days).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        used = self.ago(password_used_days).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        row = (f"<root_account>,arn:aws:iam::{account}:root,{created},not_supported,{used},not_supported,not_supported,"
               "true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n")

        def with_root() -> str:
            header, _, rest = original().partition("\n")
            return header + "\n" + row + rest

        backend.get_credential_report = with_root
        u = U(account, "<root_account>", root=True, mfa=True, created_days=created_days, password_used_days=password_used_days)
        u.password = True   # root: the console password counts as a login method once it has been used
        return self.add(u)

    def read_report_times(self, forget: bool = True) -> None:
        """Fill each user's times from the credential report moto gives (what the collector reads).

        forget: drop the report afterwards, so the collector's own GenerateCredentialReport starts one."""
        for account in {u.account for u in self.users.values()}:
            iam = self.moto.client("iam", account)
            iam.generate_credential_report()
            iam.generate_credential_report()
            text = iam.get_credential_report()["Content"].decode()
            lines = text.strip("\n").split("\n")
            header = lines[0].split(",")
            for line in lines[1:]:
                row = dict(zip(header, line.split(",")))
                u = self.users.get(f"{account}:{row['user']}")
                if u is None:
                    continue

                def t(col):
                    return report_time(row[col]) if row[col] not in MARKERS else None

                u.created = t("user_creation_time")
                u.password_used = t("password_last_used")
                u.key1_used = t("access_key_1_last_used_date")
                u.key2_used = t("access_key_2_last_used_date")
                u.report_row = row  # type: ignore[attr-defined]
            if forget:
                iam_backend(account).credential_report = None

    def count(self, account: str) -> int:
        return sum(1 for u in self.users.values() if u.account == account)


# ====================================================================== fixtures

@pytest.fixture(scope="module")
def aws():
    m = InProcessMoto()
    yield m
    m.stop()


@pytest.fixture(scope="module")
def world(aws) -> World:
    w = World(aws)
    A, B = ACC_A, ACC_B
    # account A (assumed role)
    w.add(U(A, "alice", path="/people/", password=True, keys=1, mfa=True, cert=True, groups=["admins", "devs"],
            created_days=300, password_used_days=200, key1_used_days=10))
    w.add(U(A, "bob", keys=2, groups=["devs"], created_days=150, key1_used_days=120, key2_used_days=95))
    w.add(U(A, "carol", password=True))                                    # made now, never used
    w.add(U(A, "dave", created_days=400))                                  # no credentials, old
    w.add(U(A, "erin", keys=2, key2_inactive=True, key1_really_used=True))  # key 1 used for real just now
    w.add(U(A, "frank", password=True, created_days=500, password_used_days=90))  # exactly at the limit
    # + = . @ in a name and a path (IAM allows a comma too, but moto writes it into the CSV unquoted)
    w.add(U(A, "svc+ci=deploy.eu@example.com", path="/service/ci/", keys=1, groups=["deployers"], key1_used_days=1))
    # account B (assumed role): a user with the same name as in A
    w.add(U(B, "alice", password=True, created_days=60, password_used_days=30))
    w.add(U(B, "gina", keys=1, created_days=365, key1_used_days=100))
    # the base credentials' own account, with the root row AWS reports
    w.add(U(BASE, "henry", password=True, mfa=True, created_days=40, password_used_days=5))
    w.add_root_row(BASE, created_days=1000, password_used_days=3)
    w.read_report_times()
    return w


def new_pipeline(tmp: Path, moto_url: str, osmem_url: str, **inventory) -> Pipeline:
    p = Pipeline(tmp, moto_url, None, "unused", osmem_url)
    p.cfg.pop("cloudtrail", None)
    p.cfg["inventory"] = {"accounts": [BASE, ACC_A, ACC_B], "regions": ["eu-west-1"], "role_name": ROLE,
                          **inventory}
    if "organizations" in inventory:
        p.cfg["inventory"].pop("accounts")
    p.cfg["iam"] = {"inactive_days": INACTIVE_DAYS, "report_timeout_seconds": 30}
    p.cfg["index"]["names"] = {"users": USERS_INDEX, "inventory": "awscli"}
    p.write_config()
    p.spool.collector = "iam"
    return p


class Run:
    """One fetch -> transform -> load pass and what it left behind."""

    def __init__(self, pipe: Pipeline, raw_run: Path, results: list):
        self.pipe = pipe
        self.raw_run = raw_run
        self.run_id = raw_run.name
        m = RUN_ID.match(self.run_id)
        assert m, f"raw run folder {raw_run} is not named by a run id"
        self.as_of = datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        self.results = results


def run_pipeline(pipe: Pipeline) -> Run:
    before = set(pipe.spool.raw_runs())
    f = pipe.expect("fetch", "--collector", "iam")
    new = sorted(set(pipe.spool.raw_runs()) - before)
    assert len(new) == 1, f"fetch made {len(new)} raw IAM runs: {new}\n{f.describe()}"
    t = pipe.expect("transform")
    ld = pipe.expect("load")
    assert "deadlettered=0" in ld.out, f"load dead-lettered documents\n{ld.describe()}"
    assert pipe.spool.deadletters() == [], f"dead letters: {pipe.spool.deadletters()}"
    return Run(pipe, new[0], [f, t, ld])


def users_docs(index_url: str) -> dict:
    http("POST", f"{index_url}/{USERS_INDEX}/_refresh")
    st, body = http("POST", f"{index_url}/{USERS_INDEX}/_search",
                    {"size": 1000, "query": {"match_all": {}}, "version": True})
    assert st == 200, body
    out: dict = {}
    for h in body["hits"]["hits"]:
        assert h["_id"] not in out, f"_id {h['_id']} twice"
        out[h["_id"]] = h
    return out


def search_ids(index_url: str, query: dict) -> set:
    http("POST", f"{index_url}/{USERS_INDEX}/_refresh")
    st, body = http("POST", f"{index_url}/{USERS_INDEX}/_search", {"size": 1000, "query": query})
    assert st == 200, f"query {json.dumps(query)} -> {st} {body}"
    return {h["_id"] for h in body["hits"]["hits"]}


def count_account(index_url: str, account: str) -> int:
    http("POST", f"{index_url}/{USERS_INDEX}/_refresh")
    st, body = http("POST", f"{index_url}/{USERS_INDEX}/_count", {"query": {"term": {"cloud.account.id": account}}})
    assert st == 200, body
    return body["count"]


@pytest.fixture(scope="module")
def osmem_m(peer_logs):
    p = peers.start_osmem(log_dir=str(peer_logs))
    yield p
    p.stop()


@pytest.fixture(scope="module")
def first(binaries, aws, world, osmem_m, tmp_path_factory) -> Run:
    pipe = new_pipeline(tmp_path_factory.mktemp("iam"), aws.url, osmem_m.url)
    return run_pipeline(pipe)


# ====================================================================== tests

def test_moto_gives_the_times_the_test_relies_on(world):
    """The design of the users, as moto reports them (guards the rest of the file against a moto change)."""
    A, B = ACC_A, ACC_B
    u = world.users
    assert u[f"{A}:alice"].password_used and u[f"{A}:alice"].key1_used, "moto lost alice's backdated use times"
    assert u[f"{A}:carol"].password_used is None and u[f"{A}:carol"].report_row["password_last_used"] == "no_information"
    assert u[f"{A}:dave"].report_row["password_last_used"] == "not_supported"
    assert u[f"{A}:erin"].key1_used is not None, "moto did not report erin's key as used"
    assert u[f"{A}:erin"].report_row["access_key_2_active"] == "false"
    assert u[f"{A}:alice"].report_row["mfa_active"] == "true" and u[f"{A}:alice"].report_row["cert_1_active"] == "true"
    assert u[f"{B}:gina"].key1_used is not None


def test_raw_run_holds_every_call_per_account(first, world):
    man = first.pipe.spool.manifest(first.raw_run)
    assert man["collector"] == "iam" and man["runId"] == first.run_id
    assert first.pipe.spool.check_invariants() == []
    by = {}
    for e in man["entries"]:
        by.setdefault((e.get("account"), e["operation"]), []).append(e)
    for account in (BASE, ACC_A, ACC_B):
        gens = by.get((account, "GenerateCredentialReport"), [])
        assert gens, f"no GenerateCredentialReport stored for {account}"
        bodies = [(first.raw_run / e["path"]).read_text() for e in gens]
        # the report did not exist: the first answer says STARTED, the collector asks again until COMPLETE
        assert "<State>STARTED</State>" in bodies[0], bodies[0]
        assert "<State>COMPLETE</State>" in bodies[-1], f"{account}: polling stopped before COMPLETE: {bodies}"
        assert len(gens) >= 2
        reports = by.get((account, "GetCredentialReport"), [])
        assert len(reports) == 1, f"{account}: {len(reports)} GetCredentialReport"
        content = re.search(r"<Content>(.*?)</Content>", (first.raw_run / reports[0]["path"]).read_text(), re.S)
        csv = base64.b64decode(content.group(1)).decode()
        assert csv.startswith("user,arn,user_creation_time,"), csv[:200]
        assert by.get((account, "ListUsers")), f"{account}: no ListUsers stored"
        listed = sorted(e["parameters"].get("UserName") for e in by.get((account, "ListGroupsForUser"), []))
        want = sorted(u.name for u in world.users.values() if u.account == account and not u.root)
        assert listed == want, f"{account}: ListGroupsForUser asked for {listed}, users are {want}"
    accounts = {e.get("account") for e in man["entries"]}
    assert accounts <= {BASE, ACC_A, ACC_B}, accounts


def test_other_accounts_are_entered_through_the_role(first):
    from moto.sts.models import sts_backends

    assumed = []
    for account, by_partition in list(sts_backends.items()):
        for part in by_partition.values():
            assumed += [(r.role_arn, r.session_name) for r in part.assumed_roles if r.session_name != "test-setup"]
    arns = {a for a, _ in assumed}
    assert f"arn:aws:iam::{ACC_A}:role/{ROLE}" in arns and f"arn:aws:iam::{ACC_B}:role/{ROLE}" in arns, assumed
    assert not any(f"::{BASE}:" in a for a in arns), f"the base account was entered through a role: {assumed}"


def test_one_typed_document_per_user(first, world):
    docs = users_docs(first.pipe.index_url)
    assert set(docs) == set(world.users), (f"documents differ: missing {sorted(set(world.users) - set(docs))}, "
                                           f"unexpected {sorted(set(docs) - set(world.users))}")
    as_of_iso = first.as_of.strftime("%Y-%m-%dT%H:%M:%SZ")
    problems = []
    for doc_id, u in sorted(world.users.items()):
        h = docs[doc_id]
        d = h["_source"]
        p = lambda msg: problems.append(f"{doc_id}: {msg}")  # noqa: E731
        if h["_index"] != USERS_INDEX:
            p(f"in index {h['_index']}")
        if parse_iso(d.get("@timestamp")) != first.as_of:
            p(f"@timestamp {d.get('@timestamp')} != run start {as_of_iso}")
        cs = d.get("cloudspool", {})
        if cs.get("run_id") != first.run_id or parse_iso(cs.get("as_of")) != first.as_of:
            p(f"cloudspool {cs} (run {first.run_id})")
        if d.get("cloud", {}).get("provider") != "aws" or d["cloud"].get("account", {}).get("id") != u.account:
            p(f"cloud {d.get('cloud')}")
        if "name" in d["cloud"].get("account", {}):
            p(f"cloud.account.name {d['cloud']['account']['name']!r} without Organizations")
        user = d.get("user", {})
        want_arn = f"arn:aws:iam::{u.account}:root" if u.root else f"arn:aws:iam::{u.account}:user{u.path}{u.name}"
        if (user.get("name"), user.get("is_root"), user.get("arn")) != (u.name, u.root, want_arn):
            p(f"user name/is_root/arn {user.get('name')!r} {user.get('is_root')!r} {user.get('arn')!r}")
        if parse_iso(user.get("creation_time")) != u.created:
            p(f"user.creation_time {user.get('creation_time')} != {u.created}")
        if sorted(user.get("groups", [None])) != u.groups:
            p(f"user.groups {user.get('groups')} != {u.groups}")
        if not u.root and (user.get("UserId") != u.user_id or user.get("Path") != u.path):
            p(f"user.UserId/Path {user.get('UserId')!r} {user.get('Path')!r} != {u.user_id!r} {u.path!r}")
        if d.get("login") != u.login:
            p(f"login {d.get('login')} != {u.login}")
        if sorted(d.get("login_methods", [None])) != sorted(k for k, v in u.login.items() if v):
            p(f"login_methods {d.get('login_methods')}")
        want = expected_activity(u, first.as_of)
        got = dict(d.get("activity", {}))
        if "last_activity" in got:
            got["last_activity"] = parse_iso(got["last_activity"])
        if got != want:
            p(f"activity\n   got  {got}\n   want {want}")
        problems += [f"{doc_id}: {x}" for x in check_report_columns(d.get("credential_report", {}), u.report_row)]
    assert not problems, "documents differ from the users:\n" + "\n".join(problems)


def check_report_columns(cr: dict, row: dict) -> list:
    """Every column typed: booleans, ISO UTC times, markers left out with <column>_reason."""
    out = []
    for col, raw in row.items():
        if raw in MARKERS:
            if col in cr:
                out.append(f"credential_report.{col} = {cr[col]!r} although the report says {raw}")
            if cr.get(col + "_reason") != raw:
                out.append(f"credential_report.{col}_reason = {cr.get(col + '_reason')!r}, want {raw!r}")
        elif raw in ("true", "false"):
            if cr.get(col) is not (raw == "true"):
                out.append(f"credential_report.{col} = {cr.get(col)!r}, want boolean {raw}")
        elif re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$", raw):
            v = cr.get(col)
            if not (isinstance(v, str) and ISO_Z.match(v)) or parse_iso(v) != report_time(raw):
                out.append(f"credential_report.{col} = {v!r}, want {raw} as ISO 8601 UTC (…Z)")
        elif cr.get(col) != raw:
            out.append(f"credential_report.{col} = {cr.get(col)!r}, want {raw!r}")
    for k, v in cr.items():
        if isinstance(v, str) and v in {"true", "false"} | MARKERS and not k.endswith("_reason"):
            out.append(f"credential_report.{k} left as the string {v!r}")
    return out


def test_designed_activity_figures(first, world):
    """The headline figures, hand-written (the computed expectations above could share a mistake)."""
    docs = {i: h["_source"] for i, h in users_docs(first.pipe.index_url).items()}
    A, B = ACC_A, ACC_B

    def act(i):
        return docs[i]["activity"]

    assert act(f"{A}:alice")["days_since_last_activity"] == 10 and act(f"{A}:alice")["last_activity_method"] == "access_key_1"
    assert act(f"{A}:alice")["days_since_console_password_used"] == 200 and act(f"{A}:alice")["inactive"] is False
    assert act(f"{A}:bob")["last_activity_method"] == "access_key_2" and act(f"{A}:bob")["days_since_last_activity"] == 95
    assert act(f"{A}:bob")["days_since_access_key_1_used"] == 120 and act(f"{A}:bob")["inactive"] is True
    assert act(f"{A}:carol")["never_used"] is True and act(f"{A}:carol")["inactive"] is False
    assert act(f"{A}:carol")["days_since_creation"] == 0 and "days_since_last_activity" not in act(f"{A}:carol")
    assert act(f"{A}:dave")["never_used"] is True and act(f"{A}:dave")["inactive"] is True
    assert act(f"{A}:dave")["days_since_creation"] == 400
    assert act(f"{A}:erin")["days_since_last_activity"] == 0 and act(f"{A}:erin")["inactive"] is False
    assert act(f"{A}:frank")["days_since_last_activity"] == 90 and act(f"{A}:frank")["inactive"] is False, \
        "idle exactly inactive_days is not 'greater than inactive_days'"
    assert act(f"{B}:gina")["days_since_last_activity"] == 100 and act(f"{B}:gina")["inactive"] is True
    assert act(f"{BASE}:henry")["days_since_last_activity"] == 5
    root = docs[f"{BASE}:<root_account>"]
    assert root["user"]["is_root"] is True and root["activity"]["days_since_console_password_used"] == 3
    assert root["credential_report"].get("password_enabled_reason") == "not_supported"
    assert "console_password" in root["login_methods"], "root's used password is a login method"
    assert docs[f"{A}:erin"]["login"]["access_key_2"] is False, "an inactive key is no login method"


def test_who_has_not_logged_in_for_n_days(first, world):
    url = first.pipe.index_url
    A, B = ACC_A, ACC_B
    # any method, by the day count
    assert search_ids(url, {"range": {"activity.days_since_last_activity": {"gte": 90}}}) == \
        {f"{A}:bob", f"{A}:frank", f"{B}:gina"}
    assert search_ids(url, {"range": {"activity.days_since_last_activity": {"gt": 90}}}) == {f"{A}:bob", f"{B}:gina"}
    # any method, by the date (relative to the fixed as_of)
    limit = (first.as_of - timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert search_ids(url, {"range": {"activity.last_activity": {"lte": limit}}}) == \
        {f"{A}:bob", f"{A}:frank", f"{B}:gina"}
    # per login method
    assert search_ids(url, {"range": {"activity.days_since_console_password_used": {"gte": 90}}}) == \
        {f"{A}:alice", f"{A}:frank"}
    assert search_ids(url, {"range": {"activity.days_since_access_key_1_used": {"gte": 100}}}) == \
        {f"{A}:bob", f"{B}:gina"}
    assert search_ids(url, {"range": {"activity.days_since_access_key_1_used": {"lt": 1}}}) == {f"{A}:erin"}
    # per account
    assert search_ids(url, {"bool": {"filter": [{"term": {"cloud.account.id": B}},
                                               {"range": {"activity.days_since_last_activity": {"gte": 90}}}]}}) == \
        {f"{B}:gina"}
    # the verdict, and never used
    assert search_ids(url, {"term": {"activity.inactive": True}}) == {f"{A}:bob", f"{A}:dave", f"{B}:gina"}
    assert search_ids(url, {"term": {"activity.never_used": True}}) == {f"{A}:carol", f"{A}:dave"}
    # login methods and groups
    assert search_ids(url, {"term": {"login.mfa": True}}) == {f"{A}:alice", f"{BASE}:henry", f"{BASE}:<root_account>"}
    assert search_ids(url, {"term": {"login_methods": "access_key_2"}}) == {f"{A}:bob"}
    assert search_ids(url, {"term": {"user.groups": "devs"}}) == {f"{A}:alice", f"{A}:bob"}


def test_template_types_dates_booleans_longs(first):
    st, body = http("GET", f"{first.pipe.index_url}/{USERS_INDEX}/_mapping")
    assert st == 200, body
    props = body[USERS_INDEX]["mappings"]["properties"]

    def typ(path):
        node = {"properties": props}
        for part in path.split("."):
            node = node.get("properties", {}).get(part)
            if node is None:
                return None
        return node.get("type")

    want = {"@timestamp": "date", "activity.last_activity": "date", "activity.days_since_last_activity": "long",
            "activity.days_since_console_password_used": "long", "activity.days_since_access_key_1_used": "long",
            "activity.days_since_access_key_2_used": "long", "activity.days_since_creation": "long",
            "activity.inactive": "boolean", "activity.never_used": "boolean", "login.mfa": "boolean",
            "login.console_password": "boolean", "user.creation_time": "date", "user.is_root": "boolean",
            "credential_report.password_last_used": "date", "credential_report.password_enabled": "boolean",
            "credential_report.user_creation_time": "date", "credential_report.access_key_1_last_used_date": "date",
            "cloud.account.id": "keyword", "user.name": "keyword"}
    got = {k: typ(k) for k in want}
    assert got == want, "mapping types differ:\n" + "\n".join(f"  {k}: {got[k]} (want {v})" for k, v in want.items()
                                                            if got[k] != v)


def test_second_run_updates_without_duplicates(first, world, aws):
    """Last of the account tests: it changes the world (a new user, MFA for carol, frank's password used earlier)."""
    A, B = ACC_A, ACC_B
    pipe = first.pipe
    world.add(U(B, "ivan"))
    carol = world.users[f"{A}:carol"]
    world.enable_mfa(carol)
    frank = world.users[f"{A}:frank"]
    frank.password_used_days = 100
    world.backdate(frank)
    world.read_report_times(forget=False)
    second = run_pipeline(pipe)
    assert second.run_id != first.run_id
    docs = users_docs(pipe.index_url)
    assert set(docs) == set(world.users), sorted(set(docs) ^ set(world.users))
    for account in (BASE, A, B):
        assert count_account(pipe.index_url, account) == world.count(account), account
    st, body = http("GET", f"{pipe.index_url}/{USERS_INDEX}/_count")
    assert body["count"] == len(world.users), body
    for i, h in docs.items():
        d = h["_source"]
        assert parse_iso(d["@timestamp"]) == second.as_of and d["cloudspool"]["run_id"] == second.run_id, \
            f"{i} was not updated by the second run: {d['@timestamp']} {d['cloudspool']}"
    assert docs[f"{A}:carol"]["_source"]["login"]["mfa"] is True
    assert "mfa" in docs[f"{A}:carol"]["_source"]["login_methods"]
    fa = docs[f"{A}:frank"]["_source"]["activity"]
    assert (fa["days_since_last_activity"], fa["inactive"]) == (100, True), fa
    assert docs[f"{B}:ivan"]["_source"]["activity"]["never_used"] is True
    assert search_ids(pipe.index_url, {"term": {"activity.inactive": True}}) == \
        {f"{A}:bob", f"{A}:dave", f"{A}:frank", f"{B}:gina"}
    # the second fetch found the reports ready: no STARTED this time
    man = pipe.spool.manifest(second.raw_run)
    for e in man["entries"]:
        if e["operation"] == "GenerateCredentialReport":
            assert "<State>COMPLETE</State>" in (second.raw_run / e["path"]).read_text()


def test_account_names_from_organizations(binaries, aws, world, osmem, tmp_path):
    """With organizations: true the accounts and their names come from ListAccounts: cloud.account.name."""
    org = aws.client("organizations", BASE, region="us-east-1")
    try:
        org.create_organization(FeatureSet="ALL")
    except org.exceptions.AlreadyInOrganizationException:
        pass
    status = org.create_account(Email="prod@example.com", AccountName="Prod Workloads")["CreateAccountStatus"]
    prod = status.get("AccountId") or org.describe_create_account_status(
        CreateAccountRequestId=status["Id"])["CreateAccountStatus"]["AccountId"]
    names = {a["Id"]: a["Name"] for p in org.get_paginator("list_accounts").paginate() for a in p["Accounts"]}
    assert names.get(prod) == "Prod Workloads" and BASE in names, names
    world.add(U(prod, "olga", password=True))
    pipe = new_pipeline(tmp_path, aws.url, osmem.url, organizations=True)
    run_pipeline(pipe)
    docs = users_docs(osmem.url)
    olga = docs.get(f"{prod}:olga")
    assert olga is not None, sorted(docs)
    assert olga["_source"]["cloud"]["account"] == {"id": prod, "name": "Prod Workloads"}
    henry = docs[f"{BASE}:henry"]["_source"]
    assert henry["cloud"]["account"] == {"id": BASE, "name": names[BASE]}
    for account, name in names.items():
        want = sum(1 for u in world.users.values() if u.account == account)
        assert count_account(osmem.url, account) == want, (account, name)
