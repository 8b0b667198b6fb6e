"""S3 object search: `cloudspool-fetch --collector s3` -> transform -> load into `awscli-s3-YYYY.MM.DD`.

AWS is a moto server run in this test process (moto.server.ThreadedMotoServer): the
thousands of objects of the big bucket are put straight into moto's S3 backend (a
second instead of ten), the objects whose keys matter (spaces, unicode, `../`,
quotes, shell metacharacters, XML specials) through the S3 API. What moto lists
back with boto3 is the truth every document is compared with.

Buckets: `big` (account 111111111111, entered through the role, region
eu-central-1: 3500 + the special keys, several ListObjectsV2 pages), `small` (the
base account, eu-west-1, several storage classes), `other` (account 222222222222,
which s3.accounts leaves out) and `missing` (nowhere): the last two are reported
(exit 3) while the first two are indexed.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path

import pytest

import faultproxy
import peers
from faultproxy import FaultProxy
from support import Pipeline, Spool, http

UTC = timezone.utc
ROLE = "EnergyLogReadOnly"
BASE = "123456789012"
ACC_A = "111111111111"
ACC_B = "222222222222"
BIG_REGION = "eu-central-1"
HOME = "eu-west-1"
N_BULK = 3500
SFX = secrets.token_hex(3)
BIG, SMALL, OTHER, MISSING = (f"big-{SFX}", f"small-{SFX}", f"other-{SFX}", f"missing-{SFX}")
RUN_ID = re.compile(r"^(\d{4})(\d{2})(\d{2})T\d{6}Z-[0-9a-f]{8}$")
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")

SPECIAL_KEYS = [
    "reports/Quarterly Report Q3.pdf",
    "données/été/Résumé-Final.txt",
    "日本語/ファイル 名.csv",
    "../escape/attempt.txt",
    "a/../../etc/passwd",
    "quotes/\"double\" and 'single'.txt",
    "shell/$(rm -rf ~);`id`|&>x*?.sh",
    "shell/!bang #hash %percent ^caret {brace}[bracket]\\back.sh",
    "eq/key=value+plus&amp;=.log",
    "xml/<tag attr=\"v\">&amp;</tag>.xml",
    "folder-marker/",
    "emoji/🚀 Launch-Plan.md",
    "percent/100%25 done %2F.txt",
    "deep/a-b_c.d=e+f g/FILE.TXT",
]


def bulk_key(i: int) -> str:
    return f"logs/2026/11/part-{i:05d}.json.gz"


def key_parts(key: str) -> set:
    return {p for p in re.split(r"[/._\-=+ ]", key.lower()) if p}


def object_id(account: str, bucket: str, key: str) -> str:
    return "s3.object:" + hashlib.sha256(f"{account}/{bucket}/{key}".encode()).hexdigest()


def parse_iso(s) -> datetime:
    assert isinstance(s, str) and ISO_Z.match(s), f"not an ISO 8601 UTC time with Z: {s!r}"
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


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

    def s3(self, account: str, region: str):
        import boto3
        from botocore.config import Config

        if account == BASE:
            creds = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        else:
            sts = boto3.client("sts", endpoint_url=self.url, region_name=HOME, aws_access_key_id="testing",
                               aws_secret_access_key="testing")
            c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="test-setup")["Credentials"]
            creds = {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                     "aws_session_token": c["SessionToken"]}
        return boto3.client("s3", endpoint_url=self.url, region_name=region, **creds,
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}))

    def make_bucket(self, account: str, bucket: str, region: str):
        c = self.s3(account, region)
        c.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        return c

    @staticmethod
    def bulk_put(account: str, bucket: str, keys_sizes) -> None:
        """Objects put straight into moto's S3 backend (no HTTP): the same objects, a hundred times faster."""
        from moto.s3.models import s3_backends

        backend = s3_backends[account]["aws"]
        for key, size in keys_sizes:
            backend.put_object(bucket, key, b"z" * size, disable_notification=True)


def truth(client, bucket: str) -> dict:
    """key -> ListObjectsV2 entry, as boto3 reads moto's answer."""
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            out[o["Key"]] = o
    return out


class World:
    def __init__(self, moto: InProcessMoto):
        self.moto = moto
        self.clients = {}
        self.objects = {}   # bucket -> {key: entry}
        self.owner = {BIG: ACC_A, SMALL: BASE, OTHER: ACC_B}
        self.region = {BIG: BIG_REGION, SMALL: HOME, OTHER: HOME}


@pytest.fixture(scope="module")
def aws():
    m = InProcessMoto()
    yield m
    m.stop()


@pytest.fixture(scope="module")
def world(aws) -> World:
    w = World(aws)
    big = aws.make_bucket(ACC_A, BIG, BIG_REGION)
    aws.bulk_put(ACC_A, BIG, ((bulk_key(i), (i * 37) % 1500) for i in range(N_BULK)))
    for i, key in enumerate(SPECIAL_KEYS):
        big.put_object(Bucket=BIG, Key=key, Body=b"s" * (100 + i))
    small = aws.make_bucket(BASE, SMALL, HOME)
    classes = ["STANDARD", "STANDARD_IA", "GLACIER", "REDUCED_REDUNDANCY", "ONEZONE_IA", "INTELLIGENT_TIERING"]
    for i in range(12):
        small.put_object(Bucket=SMALL, Key=f"archive/{2015 + i}/summary_{i}.parquet", Body=os.urandom(1000 * i + 7),
                         StorageClass=classes[i % len(classes)])
    other = aws.make_bucket(ACC_B, OTHER, HOME)
    for i in range(3):
        other.put_object(Bucket=OTHER, Key=f"not-listed/{i}.txt", Body=b"o")
    w.clients = {BIG: big, SMALL: small, OTHER: other}
    w.objects = {b: truth(c, b) for b, c in w.clients.items()}
    want_big = {bulk_key(i) for i in range(N_BULK)} | set(SPECIAL_KEYS)
    assert set(w.objects[BIG]) == want_big, (f"moto does not list the keys that were put: missing "
                                             f"{sorted(want_big - set(w.objects[BIG]))[:5]}, extra "
                                             f"{sorted(set(w.objects[BIG]) - want_big)[:5]}")
    return w


def new_pipeline(tmp: Path, moto_url: str, osmem_url: str, buckets=None, buckets_file=None,
                 accounts=None, accounts_file=None) -> Pipeline:
    p = Pipeline(tmp, moto_url, None, "unused", osmem_url)
    p.cfg.pop("cloudtrail", None)
    p.cfg["inventory"] = {"accounts": [BASE, ACC_A, ACC_B], "regions": [HOME], "role_name": ROLE}
    s3 = {}
    if buckets is not None:
        s3["buckets"] = buckets
    if buckets_file is not None:
        s3["buckets_file"] = str(buckets_file)
    if accounts is not None:
        s3["accounts"] = accounts
    if accounts_file is not None:
        s3["accounts_file"] = str(accounts_file)
    p.cfg["s3"] = s3
    p.cfg["index"]["names"] = {"users": "awsusers-000001", "inventory": "awscli"}
    p.write_config()
    p.spool.collector = "s3"
    return p


def day_index(run_id: str) -> str:
    m = RUN_ID.match(run_id)
    assert m, f"not a run id: {run_id}"
    return f"awscli-s3-{m.group(1)}.{m.group(2)}.{m.group(3)}"


def refresh(url: str) -> None:
    http("POST", f"{url}/_refresh")


def count(url: str, query: dict, index: str = "awscli-s3-*") -> int:
    refresh(url)
    st, body = http("POST", f"{url}/{index}/_count", {"query": query})
    assert st == 200, f"{query} -> {st} {body}"
    return body["count"]


def search_keys(url: str, query: dict, index: str = "awscli-s3-*") -> list:
    refresh(url)
    st, body = http("POST", f"{url}/{index}/_search", {"size": 100, "query": query})
    assert st == 200, f"{query} -> {st} {body}"
    return sorted(h["_source"]["s3"]["key"] for h in body["hits"]["hits"])


def all_hits(url: str, index: str) -> list:
    refresh(url)
    out, after = [], None
    while True:
        q = {"size": 5000, "sort": [{"_id": "asc"}], "query": {"match_all": {}}}
        if after is not None:
            q["search_after"] = after
        st, body = http("POST", f"{url}/{index}/_search", q)
        assert st == 200, body
        hs = body["hits"]["hits"]
        out += hs
        if len(hs) < 5000:
            return out
        after = hs[-1]["sort"]


def bucket_docs(url: str) -> dict:
    """bucket name -> hit of its s3.bucket document."""
    refresh(url)
    st, body = http("POST", f"{url}/awscli-s3-*/_search", {"size": 100, "query": {"term": {"resource.type": "s3.bucket"}}})
    assert st == 200, body
    out = {}
    for h in body["hits"]["hits"]:
        assert h["_source"]["s3"]["bucket"] not in out, f"two documents for bucket {h['_source']['s3']['bucket']}"
        out[h["_source"]["s3"]["bucket"]] = h
    return out


def objects_of(bucket: str) -> dict:
    return {"bool": {"filter": [{"term": {"resource.type": "s3.object"}}, {"term": {"s3.bucket": bucket}}]}}


class Run:
    def __init__(self, pipe: Pipeline, raw_run: Path, fetch):
        self.pipe, self.raw_run, self.run_id, self.fetch = pipe, raw_run, raw_run.name, fetch
        self.index = day_index(raw_run.name)


def run_pipeline(pipe: Pipeline, fetch_codes=(0,)) -> Run:
    before = set(pipe.spool.raw_runs())
    f = pipe.expect("fetch", "--collector", "s3", codes=fetch_codes)
    new = sorted(set(pipe.spool.raw_runs()) - before)
    assert len(new) == 1, f"fetch made {len(new)} raw s3 runs\n{f.describe()}"
    pipe.expect("transform")
    ld = pipe.expect("load")
    assert "deadlettered=0" in ld.out and pipe.spool.deadletters() == [], ld.describe()
    return Run(pipe, new[0], f)


@pytest.fixture(scope="module")
def osmem_m(peer_logs):
    p = peers.start_osmem(log_dir=str(peer_logs))
    yield p
    p.stop()


@pytest.fixture(scope="module")
def first(binaries, aws, world, osmem_m, tmp_path_factory) -> Run:
    tmp = tmp_path_factory.mktemp("s3search")
    buckets_file = tmp / "bucket_s3.txt"
    buckets_file.write_text(f"# buckets of the object search\n{SMALL}\n\n   {MISSING}   # deleted long ago\n{OTHER}\n")
    accounts_file = tmp / "account_s3.txt"
    accounts_file.write_text(f"{BASE}\n{ACC_A}\n")
    pipe = new_pipeline(tmp, aws.url, osmem_m.url, buckets=[BIG], buckets_file=buckets_file,
                        accounts_file=accounts_file)
    return run_pipeline(pipe, fetch_codes=(3,))


# ====================================================================== tests

def test_buckets_not_in_the_accounts_are_reported(first):
    text = first.fetch.text
    assert MISSING in text, f"the missing bucket is not named\n{first.fetch.describe()}"
    assert OTHER in text, f"the bucket of an account outside s3.accounts is not named\n{first.fetch.describe()}"
    wrong = [line for line in text.splitlines() if (BIG in line or SMALL in line) and "error" in line.lower()]
    assert not wrong, f"buckets that were listed are reported as errors: {wrong}"


def test_every_page_is_stored_raw_in_the_bucket_region(first, world):
    spool: Spool = first.pipe.spool
    assert spool.check_invariants() == []
    man = spool.manifest(first.raw_run)
    assert man["collector"] == "s3"
    pages = {}
    for e in man["entries"]:
        if e["operation"] == "ListObjectsV2":
            pages.setdefault(e["parameters"].get("Bucket"), []).append(e)
    assert set(pages) == {BIG, SMALL}, f"buckets listed: {sorted(pages)}"
    n_big = len(world.objects[BIG])
    assert len(pages[BIG]) == math.ceil(n_big / 1000), f"{len(pages[BIG])} pages stored for {n_big} objects"
    for bucket, entries in pages.items():
        for e in entries:
            assert (e["account"], e["region"], e["httpStatus"]) == (world.owner[bucket], world.region[bucket], 200), e
    keys_in_pages = sum(len(re.findall(r"<Key>", (first.raw_run / e["path"]).read_text())) for e in pages[BIG])
    assert keys_in_pages == n_big
    listed = {e["account"] for e in man["entries"] if e["operation"] == "ListBuckets"}
    assert listed == {BASE, ACC_A}, f"ListBuckets in {listed}: s3.accounts_file names {BASE} and {ACC_A} only"
    located = {e["parameters"].get("Bucket") for e in man["entries"] if e["operation"] == "GetBucketLocation"}
    assert located == {BIG, SMALL}, located


def test_one_document_per_object_exactly(first, world):
    url = first.pipe.index_url
    hits = all_hits(url, "awscli-s3-*")
    assert {h["_index"] for h in hits} == {first.index}, {h["_index"] for h in hits}
    by_id = {}
    for h in hits:
        assert h["_id"] not in by_id, f"_id {h['_id']} twice"
        by_id[h["_id"]] = h
    problems = []
    want_ids = set()
    for bucket in (BIG, SMALL):
        account, region = world.owner[bucket], world.region[bucket]
        for key, o in world.objects[bucket].items():
            i = object_id(account, bucket, key)
            want_ids.add(i)
            h = by_id.get(i)
            if h is None:
                problems.append(f"{bucket}/{key!r}: no document with _id {i}")
                continue
            d = h["_source"]
            s3 = d.get("s3", {})
            checks = {
                "resource.type": (d.get("resource", {}).get("type"), "s3.object"),
                "cloud.account.id": (d.get("cloud", {}).get("account", {}).get("id"), account),
                "cloud.region": (d.get("cloud", {}).get("region"), region),
                "s3.bucket": (s3.get("bucket"), bucket),
                "s3.key": (s3.get("key"), key),
                "s3.key_parts": (set(s3.get("key_parts") or []), key_parts(key)),
                "s3.size": (s3.get("size"), o["Size"]),
                "s3.storage_class": (s3.get("storage_class"), o.get("StorageClass", "STANDARD")),
                "s3.etag": (s3.get("etag"), o["ETag"].strip('"')),
            }
            for name, (got, want) in checks.items():
                if got != want:
                    problems.append(f"{bucket}/{key!r}: {name} = {got!r}, want {want!r}")
            try:
                if parse_iso(s3.get("last_modified")) != o["LastModified"].astimezone(UTC):
                    problems.append(f"{bucket}/{key!r}: last_modified {s3.get('last_modified')} != {o['LastModified']}")
            except AssertionError as e:
                problems.append(f"{bucket}/{key!r}: {e}")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])
    bucket_ids = {i for i, h in by_id.items() if h["_source"].get("resource", {}).get("type") == "s3.bucket"}
    assert len(bucket_ids) == 2, f"bucket documents: {sorted(bucket_ids)}"
    extra = set(by_id) - want_ids - bucket_ids
    assert not extra, f"unexpected documents: {sorted(extra)[:5]}"


def test_counts_and_bucket_documents(first, world):
    url = first.pipe.index_url
    for bucket in (BIG, SMALL):
        assert count(url, objects_of(bucket)) == len(world.objects[bucket]), bucket
    assert count(url, {"term": {"s3.bucket": OTHER}}) == 0
    got = bucket_docs(url)
    assert set(got) == {BIG, SMALL}, sorted(got)
    for bucket, h in got.items():
        s3 = h["_source"]["s3"]
        objs = world.objects[bucket].values()
        assert s3.get("object_count") == len(objs), (bucket, s3)
        assert s3.get("total_size") == sum(o["Size"] for o in objs), (bucket, s3)
        assert h["_source"]["cloud"]["account"]["id"] == world.owner[bucket]
        assert h["_source"]["cloud"]["region"] == world.region[bucket]
        assert h["_index"] == first.index


def test_search_by_fragment_exact_key_wildcard_and_bucket(first, world):
    url = first.pipe.index_url
    frag = lambda part: search_keys(url, {"term": {"s3.key_parts": part}})  # noqa: E731
    assert frag("quarterly") == ["reports/Quarterly Report Q3.pdf"]
    assert frag("résumé") == ["données/été/Résumé-Final.txt"]
    assert frag("ファイル") == ["日本語/ファイル 名.csv"]
    assert frag("passwd") == ["a/../../etc/passwd"]
    assert frag("launch") == ["emoji/🚀 Launch-Plan.md"]
    assert frag("value") == ["eq/key=value+plus&amp;=.log"]
    assert frag("file") == ["deep/a-b_c.d=e+f g/FILE.TXT"]
    assert frag("00042") == [bulk_key(42)]
    assert frag("summary") == sorted(world.objects[SMALL]), "a fragment shared by a bucket's objects"
    assert count(url, {"term": {"s3.key_parts": "part"}}) == N_BULK
    # exact keys, every awkward one, as data
    for key in SPECIAL_KEYS:
        assert search_keys(url, {"term": {"s3.key": key}}) == [key], f"exact search for {key!r}"
    assert search_keys(url, {"term": {"s3.key": "reports/quarterly report q3.pdf"}}) == [], "s3.key is exact (case)"
    assert search_keys(url, {"wildcard": {"s3.key": {"value": "reports/*Q3*"}}}) == ["reports/Quarterly Report Q3.pdf"]
    assert count(url, {"wildcard": {"s3.key": {"value": "logs/2026/11/part-0001*"}}}) == 10
    # by bucket and account
    assert count(url, {"term": {"s3.bucket": BIG}}) == len(world.objects[BIG]) + 1, "objects + the bucket document"
    assert count(url, {"bool": {"filter": [{"term": {"cloud.account.id": ACC_A}},
                                           {"term": {"resource.type": "s3.object"}}]}}) == len(world.objects[BIG])


def test_template_types(first):
    st, body = http("GET", f"{first.pipe.index_url}/{first.index}/_mapping")
    assert st == 200, body
    s3 = body[first.index]["mappings"]["properties"]["s3"]["properties"]
    got = {k: s3.get(k, {}).get("type") for k in ("bucket", "key", "key_parts", "size", "last_modified",
                                                 "object_count", "total_size", "etag", "storage_class")}
    assert got == {"bucket": "keyword", "key": "keyword", "key_parts": "keyword", "size": "long",
                   "last_modified": "date", "object_count": "long", "total_size": "long", "etag": "keyword",
                   "storage_class": "keyword"}, got


def test_rerun_changes_no_count(first, world):
    """Last of the `first` tests: a second pass over unchanged buckets overwrites, never adds."""
    url = first.pipe.index_url
    before = {b: count(url, objects_of(b)) for b in (BIG, SMALL)}
    total_before = count(url, {"match_all": {}})
    second = run_pipeline(first.pipe, fetch_codes=(3,))
    if second.index != first.index:
        pytest.skip(f"the rerun crossed midnight UTC ({first.index} -> {second.index}): a new day's index by design")
    assert {b: count(url, objects_of(b)) for b in (BIG, SMALL)} == before
    assert count(url, {"match_all": {}}) == total_before
    assert {b: h["_source"]["s3"]["object_count"] for b, h in bucket_docs(url).items()} == \
        {b: len(world.objects[b]) for b in (BIG, SMALL)}


# ---------------------------------------------------------------------- access denied

ACCESS_DENIED = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                 b'<Message>Access Denied</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>')


class ListingDeniedProxy(FaultProxy):
    """The fault proxy, plus: `GET /<bucket>?list-type=2...` of one bucket answers 403 AccessDenied.

    (The proxy's own rules match the path without its query, which cannot tell
    GetBucketLocation `?location` from ListObjectsV2 `?list-type=2`.)"""

    def __init__(self, upstream: str, bucket: str):
        super().__init__(upstream)
        self.bucket = bucket
        self.denied = 0
        self.located = 0

    def _listen(self) -> None:
        proxy = self

        class Handler(faultproxy._Handler):
            def _handle(self):
                u = urllib.parse.urlsplit(self.path)
                if u.path == f"/{proxy.bucket}" and self.command == "GET":
                    q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
                    if q.get("list-type") == ["2"]:
                        self._read_body()
                        proxy.denied += 1
                        return self._send(403, ACCESS_DENIED, ctype="application/xml")
                    if "location" in q:
                        proxy.located += 1
                return super()._handle()

        Handler.proxy = self
        self._server = faultproxy._Server((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        import threading

        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()


def test_access_denied_bucket_is_reported_and_the_others_indexed(binaries, aws, osmem, tmp_path):
    denied, open_ = f"acs-denied-{SFX}", f"bcs-open-{SFX}"   # the denied one is listed first
    c = aws.make_bucket(ACC_A, denied, HOME)
    c.put_object(Bucket=denied, Key="secret/a.txt", Body=b"x")
    aws.make_bucket(ACC_A, open_, HOME)
    aws.bulk_put(ACC_A, open_, ((f"open/{i:04d}.txt", i) for i in range(1200)))
    with ListingDeniedProxy(aws.url, denied) as proxy:
        pipe = new_pipeline(tmp_path, aws.url, osmem.url, buckets=[denied, open_], accounts=[ACC_A])
        pipe.extra_env["AWS_ENDPOINT_URL_S3"] = proxy.url
        run = run_pipeline(pipe, fetch_codes=(3,))
    assert proxy.denied >= 1, "the collector never listed the denied bucket"
    text = run.fetch.text
    assert denied in text and "AccessDenied" in text, \
        f"the refusal is not reported with the bucket\n{run.fetch.describe()}"
    man = pipe.spool.manifest(run.raw_run)
    assert {e["account"] for e in man["entries"] if e["operation"] == "ListBuckets"} == {ACC_A}, "s3.accounts: only A"
    pages = [e for e in man["entries"] if e["operation"] == "ListObjectsV2"]
    assert {e["parameters"]["Bucket"] for e in pages} == {open_}, [e["parameters"] for e in pages]
    assert len(pages) == 2
    url = osmem.url
    assert count(url, objects_of(open_)) == 1200
    assert count(url, {"term": {"s3.bucket": denied}}) == 0
    assert {b: (h["_source"]["s3"]["object_count"], h["_source"]["s3"]["total_size"])
            for b, h in bucket_docs(url).items()} == {open_: (1200, sum(range(1200)))}


# ---------------------------------------------------------------------- memory

MEM_SMALL, MEM_LARGE = 500, 20000


# A small, fresh interpreter starts the stage and reads its rusage with wait4. (A child of
# this test process would report this process's own peak RSS: Linux carries the RSS of the
# memory a process had before exec -- here a vfork/fork copy of pytest with moto loaded,
# over 100 MB -- into ru_maxrss.) Same figure as /usr/bin/time's %M, which a fresh machine may lack.
_MEASURE = ("import os, subprocess, sys\n"
            "p = subprocess.Popen(sys.argv[2:])\n"
            "_, status, usage = os.wait4(p.pid, 0)\n"
            "open(sys.argv[1], 'w').write(f'{usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}')\n")


def run_measured(pipe: Pipeline, stage: str, *args, codes=(0,)) -> int:
    """Run a stage; its own peak RSS in kB."""
    stamp = time.monotonic_ns()
    out, figures = pipe.tmp / f"{stage}-{stamp}.log", pipe.tmp / f"{stage}-{stamp}.rusage"
    with open(out, "wb") as f:
        subprocess.run([sys.executable, "-S", "-I", "-c", _MEASURE, str(figures), *pipe.cmd(stage, *args)],
                       env=pipe.env(), stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                       cwd=str(pipe.tmp), timeout=240, check=True)
    maxrss, code = map(int, figures.read_text().split())
    assert code in codes, f"{stage}: exit {code}\n{out.read_text(errors='replace')[-3000:]}"
    return maxrss


def test_memory_does_not_grow_with_the_bucket(binaries, aws, tmp_path, record_property):
    figures = {}
    for n in (MEM_SMALL, MEM_LARGE):
        bucket = f"mem-{n}-{SFX}"
        aws.make_bucket(BASE, bucket, HOME)
        aws.bulk_put(BASE, bucket, ((f"memory/some/deeper/prefix/{i:06d}/object-with-a-longer-name-{i:06d}.json.gz",
                                     i % 4096) for i in range(n)))
        pipe = new_pipeline(tmp_path / str(n), aws.url, "http://127.0.0.1:9", buckets=[bucket])
        fetch = run_measured(pipe, "fetch", "--collector", "s3")
        transform = run_measured(pipe, "transform")
        docs = sum(1 for f in pipe.spool.ndjson_files() for _ in f.open("rb")) // 2
        assert docs == n + 1, f"{docs} documents for {n} objects"
        figures[n] = {"fetch_kb": fetch, "transform_kb": transform}
    record_property("peak_rss_kb", figures)
    print(f"\npeak RSS (kB) by bucket size: {figures}")
    for stage in ("fetch_kb", "transform_kb"):
        small, large = figures[MEM_SMALL][stage], figures[MEM_LARGE][stage]
        # generous for noise, tight enough to catch a run that holds the listing (20000 objects are
        # ~14 MB of documents before any in-memory overhead); measured growth is about 1-2 MB
        assert large <= 1.25 * small + 8 * 1024, (f"{stage[:-3]} peak RSS grows with the bucket: {small} kB for "
                                                  f"{MEM_SMALL} objects, {large} kB for {MEM_LARGE}")


def test_same_ndjson_for_1_2_and_5_workers(first, tmp_path):
    """transform.workers: the listing pages of a run are turned into documents on several workers and
    written in the manifest's order: the same NDJSON files for any number."""
    import json
    import shutil
    outputs = {}
    for workers in (1, 2, 5):
        root = tmp_path / f"w{workers}"
        shutil.copytree(first.raw_run, root / "spool" / "raw" / "s3" / first.run_id)
        cfg = first.pipe.write_config_copy(root / "cloudspool.yaml", spool=str(root / "spool"),
                                           transform={"workers": workers, "max_file_bytes": 65536})
        r = first.pipe.run("transform", config_file=cfg)
        assert r.code == 0, r.describe()
        nd = root / "spool" / "ndjson" / "s3"
        outputs[workers] = {p.name: p.read_bytes() for p in sorted(nd.iterdir())}
        outputs[workers]["summary"] = r.out.strip().splitlines()[-1].split(" seconds=")[0]
    pages = [e for e in json.loads((first.raw_run / "manifest.json").read_text())["entries"] if e["operation"] == "ListObjectsV2"]
    assert len(pages) >= 4, "the run should hold several pages (one bucket of several)"
    assert any(name.endswith(".ndjson") for name in outputs[1])
    assert outputs[2] == outputs[1]
    assert outputs[5] == outputs[1]
