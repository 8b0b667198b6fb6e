"""cloudspool-audit: the raw captures are intact (verify), CloudTrail's digests validate (digests), and
every document traces back to its raw record (trace).

Tampering is done by hand on the spool, as an intruder or a careless operator would: a file altered,
deleted or added, a manifest rewritten, a run deleted (the chain breaks), a run pruned by retention (the
chain holds). Digests are generated here in AWS's documented format and signed with a key made by the
test; the loopback stand-in (aws_stub.py) serves the public key as cloudtrail ListPublicKeys would.
"""

from __future__ import annotations

import gzip
import json
import shutil
import time
from pathlib import Path

import pytest

from support import REGION, Result


def audit(pipe, *args, json_out: bool = False) -> Result:
    extra = ["--json"] if json_out else []
    return pipe.run("audit", *args, "--config", str(pipe.config_path), *extra, config=False)


def verify(pipe, *args, code: int) -> dict:
    """`cloudspool-audit verify --json`, asserting its exit code; the parsed report."""
    r = audit(pipe, "verify", *args, json_out=True)
    assert r.code == code, r.describe()
    return json.loads(r.out)


def kinds(report: dict) -> list:
    return sorted({(f["kind"], f["run"]) for f in report["findings"]})


def chain_order(pipe, collector: str = "cloudtrail") -> list:
    """The raw runs of a collector in commit order, following the manifests' links (names of the same
    second do not sort in commit order)."""
    from support import Spool
    spool = Spool(pipe.spool.root, collector)
    runs = {r.name: r for r in spool.raw_runs()}
    prev = {name: (spool.manifest(r).get("chain") or {}).get("previousRunId") for name, r in runs.items()}
    [start] = [n for n, p in prev.items() if p not in runs]
    order = [start]
    while True:
        nxt = [n for n, p in prev.items() if p == order[-1]]
        if not nxt:
            return [runs[n] for n in order]
        order.append(nxt[0])


def small_trail(pipe, seed: int, files: int = 3, **spec):
    base = dict(seed=seed, accounts=1, regions=[REGION], days=1, files_per_prefix=files, records_per_file=4, specials=False)
    base.update(spec)
    return pipe.generate(**base)


# ====================================================================== verify

def test_verify_intact_then_each_kind_of_tampering(pipe):
    pipe.write_config(cloudtrail={"batch_objects": 2})
    trail = small_trail(pipe, 301, files=6)
    pipe.expect("fetch")
    runs = chain_order(pipe)
    assert len(runs) == 3, runs
    pipe.expect("transform")

    # intact: exit 0, the table and the JSON say so
    r = audit(pipe, "verify")
    assert r.code == 0, r.describe()
    assert "INTACT" in r.out and "runs=3" in r.out, r.out
    report = verify(pipe, code=0)
    assert report["intact"] and report["findings"] == []
    chain = [(x["run"], x["chain"]) for x in report["runs"]]
    assert chain == [(runs[0].name, "start"), (runs[1].name, "linked"), (runs[2].name, "linked")], chain
    # every manifest names its predecessor and the hash of its manifest bytes
    for prev, run in zip(runs, runs[1:]):
        link = pipe.spool.manifest(run)["chain"]
        assert link == {"previousRunId": prev.name, "previousManifestSHA256": sha(prev / "manifest.json")}
    head = json.loads((pipe.spool.root / "state" / "audit-chain-cloudtrail.json").read_text())["state"]
    assert head["runId"] == runs[-1].name and head["manifestSHA256"] == sha(runs[-1] / "manifest.json")

    entries = pipe.spool.manifest(runs[0])["entries"]
    altered = runs[0] / entries[0]["path"]
    deleted = runs[0] / entries[1]["path"]
    added = runs[1] / "objects" / "planted.json.gz"

    # altered file (same size, one byte flipped)
    data = bytearray(altered.read_bytes())
    data[len(data) // 2] ^= 0x01
    altered.write_bytes(bytes(data))
    # deleted file
    deleted.unlink()
    # added file
    added.write_bytes(gzip.compress(b'{"Records":[]}'))
    report = verify(pipe, code=1)
    assert kinds(report) == [("altered", runs[0].name), ("missing", runs[0].name), ("unlisted", runs[1].name)], report["findings"]
    by_kind = {f["kind"]: f for f in report["findings"]}
    assert by_kind["altered"]["path"].endswith(entries[0]["path"]) and "SHA-256" in by_kind["altered"]["detail"]
    assert by_kind["missing"]["path"].endswith(entries[1]["path"])
    assert by_kind["unlisted"]["path"].endswith("objects/planted.json.gz")
    r = audit(pipe, "verify")
    assert r.code == 1 and "MISMATCH" in r.out and "ALTERED" in r.out and "MISSING" in r.out and "UNLISTED" in r.out, r.out

    # --collector and --since narrow what is checked
    assert verify(pipe, "--collector", "billing", code=0)["runs"] == []
    future = verify(pipe, "--since", "2099-01-01", code=0)
    assert future["runs"] == [] and future["findings"] == []
    assert len(verify(pipe, "--since", "2000-01-01T00:00:00Z", code=1)["runs"]) == 3
    r = audit(pipe, "verify", "--since", "yesterday")
    assert r.code == 2 and "--since" in r.err, r.describe()


def test_verify_altered_manifest_and_deleted_run_break_the_chain(pipe):
    pipe.write_config(cloudtrail={"batch_objects": 2})
    small_trail(pipe, 302, files=8)
    pipe.expect("fetch")
    runs = chain_order(pipe)
    assert len(runs) == 4
    verify(pipe, code=0)

    pristine = pipe.tmp / "pristine-run"
    shutil.copytree(runs[1], pristine)

    # a rewritten manifest (an entry dropped, together with its file): the files agree, the chain does not
    m = pipe.spool.manifest(runs[1])
    gone = m["entries"].pop()
    (runs[1] / gone["path"]).unlink()
    (runs[1] / "manifest.json").write_text(json.dumps(m, indent=2, sort_keys=True))
    report = verify(pipe, code=1)
    assert kinds(report) == [("chain", runs[1].name)], report["findings"]
    assert "rewritten" in report["findings"][0]["detail"]

    # a deleted run: its successor names a run that is gone
    shutil.rmtree(runs[1])
    report = verify(pipe, code=1)
    assert kinds(report) == [("chain", runs[2].name)], report["findings"]
    assert "is gone" in report["findings"][0]["detail"]

    # put back as it was: intact again
    shutil.copytree(pristine, runs[1])
    verify(pipe, code=0)

    # the newest run deleted: only the chain head record can tell
    shutil.rmtree(runs[3])
    report = verify(pipe, code=1)
    assert kinds(report) == [("chain", runs[3].name)], report["findings"]
    assert "newest" in report["findings"][0]["detail"]


def test_pruned_runs_keep_the_chain_and_quarantine_stays_verifiable(pipe):
    import gen_cloudtrail as gen

    trail = small_trail(pipe, 303, files=2)
    bad = gen.corrupt_objects(303, pipe.prefix, trail.org_id, trail.accounts[0], REGION, trail.spec.start,
                              kinds=("truncated_gzip",), accounts=trail.accounts)
    trail.add(bad)
    trail.upload(pipe.s3, pipe.bucket, objects=bad)
    pipe.expect("fetch")
    first = pipe.spool.raw_runs()
    pipe.expect("transform", codes=(3,))          # the truncated file goes to quarantine
    verify(pipe, code=0)

    # a second run, then retention removes the first (transformed, older than raw_days)
    more = small_trail(pipe, 304, files=1, start=trail.spec.start)
    pipe.expect("fetch")
    runs = chain_order(pipe)
    assert len(runs) == 2
    time.sleep(1.2)
    pipe.write_config(retention={"raw_days": 0})
    pipe.expect("transform")
    assert pipe.spool.raw_runs() == [], "both runs transformed and older than raw_days"
    pruned = json.loads((pipe.spool.root / "state" / "audit-pruned-cloudtrail.json").read_text())["state"]
    assert sorted(r["runId"] for r in pruned["runs"]) == sorted(x.name for x in runs)
    assert [r["runId"] for r in pruned["runs"] if r.get("quarantined")] == [first[0].name], "the quarantined file's entry is kept"

    # a third run chains to the pruned second; everything verifies, the quarantined file too
    small_trail(pipe, 305, files=1, start=trail.spec.start)
    pipe.write_config(retention={"raw_days": 30})
    pipe.expect("fetch")
    [third] = pipe.spool.raw_runs()
    assert pipe.spool.manifest(third)["chain"]["previousRunId"] == runs[1].name
    report = verify(pipe, code=0)
    assert report["summary"]["pruned_runs"] == 2
    assert any("removed by retention" in n for n in report["notes"])

    # the quarantined file altered: still noticed, although its run is gone
    [q] = [p for p in (pipe.spool.root / "quarantine" / "transform").rglob("*.json.gz")]
    q.write_bytes(q.read_bytes() + b"x")
    report = verify(pipe, code=1)
    assert kinds(report) == [("altered", first[0].name)], report["findings"]


def sha(p: Path) -> str:
    import hashlib
    return hashlib.sha256(p.read_bytes()).hexdigest()


# ====================================================================== trace

def test_trace_a_document_to_its_raw_record(pipe):
    trail = small_trail(pipe, 306, files=2)
    pipe.run_all()
    records = trail.expected_records()
    event_id = sorted(records)[3]
    rec = records[event_id]
    [(index, hit)] = pipe.index.docs(source=True)[event_id]
    cs = hit["_source"]["cloudspool"]
    [run] = pipe.spool.raw_runs()
    assert cs["run_id"] == run.name
    entry = next(e for e in pipe.spool.manifest(run)["entries"] if e["path"] == cs["raw_file"])
    assert entry["parameters"]["Key"] == cs["log_file"]

    # by index and id, and by id alone
    for args in (["--index", index, "--id", event_id], ["--id", event_id]):
        r = audit(pipe, "trace", *args, json_out=True)
        assert r.code == 0, r.describe()
        t = json.loads(r.out)
        assert t["intact"] and t["run"] == f"raw/cloudtrail/{run.name}" and t["raw_file"] == cs["raw_file"], t
        assert t["files"][0]["status"] == "intact" and t["files"][0]["manifest_entry"]["sha256"] == entry["sha256"]
        assert t["matches_record"] is True
        assert json.loads(t["record"]) == rec
    r = audit(pipe, "trace", "--index", index, "--id", event_id)
    assert r.code == 0 and "INTACT" in r.out and cs["raw_file"] in r.out and "holds it unchanged" in r.out, r.out

    # --extract: the exact bytes of the record as the log file holds it
    r = audit(pipe, "trace", "--index", index, "--id", event_id, "--extract")
    assert r.code == 0, r.describe()
    raw = gzip.decompress((run / cs["raw_file"]).read_bytes()).decode()
    assert r.out in raw and json.loads(r.out) == rec

    # the raw file altered: the trace says so (exit 1)
    f = run / cs["raw_file"]
    f.write_bytes(f.read_bytes() + b"\0")
    r = audit(pipe, "trace", "--id", event_id, json_out=True)
    assert r.code == 1, r.describe()
    assert json.loads(r.out)["files"][0]["status"] == "altered"

    # an unknown id
    r = audit(pipe, "trace", "--id", "no-such-event")
    assert r.code == 1 and "NOT FOUND" in r.out, r.describe()


# ====================================================================== CloudTrail digests

@pytest.fixture
def stub(moto):
    from aws_stub import AwsStub
    with AwsStub(moto_url=moto.url) as s:
        yield s


class DigestWorld:
    """A trail with hourly digests signed by a key of the test, the key served by the stub."""

    def __init__(self, pipe, stub, seed: int, files: int = 5):
        import gen_cloudtrail as gen
        from datetime import datetime, timezone
        self.gen = gen
        self.pipe = pipe
        self.signer = gen.digest_signer()
        self.trail = pipe.generate(seed=seed, accounts=1, regions=[REGION], days=1, files_per_prefix=files, records_per_file=3,
                                   specials=False, digests=False, upload=False)
        self.logs = sorted((o for o in self.trail.objects if o.kind == "log"), key=lambda o: o.key)
        self.digests = gen.signed_digests(self.trail, self.signer, pipe.bucket)
        now = datetime.now(timezone.utc).timestamp()
        stub.add_public_key(self.signer.der, self.signer.fingerprint, start=now - 30 * 86400, end=now + 86400)
        pipe.write_config(cloudtrail={"validate_digests": True})
        pipe.extra_env["AWS_ENDPOINT_URL_CLOUDTRAIL"] = stub.url

    def named(self, log) -> "object":
        """The digest that names a log file."""
        return next(d for d in self.digests if log.key.encode() in gzip.decompress(d.body))

    def upload(self, objects=None) -> None:
        self.trail.upload(self.pipe.s3, self.pipe.bucket, objects=list(objects if objects is not None else self.logs + self.digests))


def audit_docs(pipe) -> dict:
    """The documents of cloudspool-audit-*: (check, s3 key) -> source."""
    from support import http
    pipe.index.refresh()
    st, body = http("POST", f"{pipe.index_url}/cloudspool-audit-*/_search", {"query": {"match_all": {}}, "size": 1000})
    assert st == 200, body
    return {(h["_source"]["audit"]["check"], h["_source"]["audit"]["s3_key"]): h["_source"] for h in body["hits"]["hits"]}


def test_digests_fetched_validated_and_indexed(pipe, stub):
    w = DigestWorld(pipe, stub, 311)
    w.upload()
    pipe.run_all()
    # the digests are stored byte for byte with their signature, and the keys CloudTrail signs with
    [run] = [r for r in (pipe.spool.root / "raw" / "digests").iterdir()]
    m = json.loads((run / "manifest.json").read_text())
    stored = {e["parameters"]["Key"]: e for e in m["entries"] if e["parameters"].get("Role") == "digest"}
    assert set(stored) == {d.key for d in w.digests}
    for d in w.digests:
        e = stored[d.key]
        assert e["parameters"]["Signature"] == d.metadata["signature"]
        assert e["parameters"]["SignatureAlgorithm"] == "SHA256withRSA"
        assert (run / e["path"]).read_bytes() == d.body
    keys = [e for e in m["entries"] if e["operation"] == "ListPublicKeys"]
    assert len(keys) == 1 and keys[0]["region"] == REGION
    assert [r["op"] for r in stub.requests("ListPublicKeys")] == ["ListPublicKeys"]

    # the audit command: everything valid
    r = audit(pipe, "digests")
    assert r.code == 0 and "VALID" in r.out, r.describe()
    report = json.loads(audit(pipe, "digests", json_out=True).out)
    assert report["intact"] and report["summary"]["digests"] == len(w.digests)
    assert report["summary"]["valid"] == len(w.logs) and report["summary"]["log_files"] == len(w.logs)
    assert [d["chain"] for d in report["digests"]] == ["start"] + ["linked"] * (len(w.digests) - 1)

    # the documents: one per digest, one per log file, all valid
    docs = audit_docs(pipe)
    assert {k for k in docs if k[0] == "cloudtrail_digest"} == {("cloudtrail_digest", d.key) for d in w.digests}
    assert {k for k in docs if k[0] == "cloudtrail_log"} == {("cloudtrail_log", o.key) for o in w.logs}
    assert {d["audit"]["status"] for d in docs.values()} == {"valid"}, [d["audit"] for d in docs.values() if d["audit"]["status"] != "valid"]
    log_doc = docs[("cloudtrail_log", w.logs[0].key)]
    assert log_doc["audit"]["run"] == pipe.spool.raw_runs()[0].name and log_doc["audit"]["file"] == "objects/" + w.logs[0].key

    # and verify covers the digests' raw runs too (their own chain)
    report = verify(pipe, code=0)
    assert {x["collector"] for x in report["runs"]} == {"cloudtrail", "digests"}


def test_digests_find_tampered_removed_unsigned_and_forged(pipe, stub):
    w = DigestWorld(pipe, stub, 312, files=6)
    gen = w.gen
    logs = w.logs
    altered, removed = logs[1], logs[2]
    # altered in the bucket before fetch: the copy is intact as captured, but not what CloudTrail delivered
    recs = json.loads(gzip.decompress(altered.body))["Records"]
    recs[0]["eventName"] = "NothingToSeeHere"
    altered_body = gzip.compress(json.dumps({"Records": recs}).encode())
    # a log file nobody delivered, inside the digests' time
    import random
    t = gen.log_delivery(logs[3].key) + __import__("datetime").timedelta(minutes=2)
    planted = gen.log_object(random.Random(5), pipe.prefix, w.trail.org_id, w.trail.accounts[0], REGION, t,
                             gen.make_records(random.Random(6), w.trail.accounts, w.trail.accounts[0], REGION,
                                              t - __import__("datetime").timedelta(minutes=5), t, 2))
    # a forged digest (signature of another key) and a digest deleted from the chain
    forged = w.named(logs[4])
    other = gen.digest_signer()
    forged.metadata = dict(forged.metadata, signature=other.sign(b"not what CloudTrail signed"))
    i = w.digests.index(forged)
    deleted = w.digests[i + 2]
    after_deleted = w.digests[i + 3]
    objects = [o for o in logs if o is not removed and o is not altered] + [o for o in w.digests if o is not deleted] + [planted]
    w.upload(objects)
    pipe.s3.put_object(Bucket=pipe.bucket, Key=altered.key, Body=altered_body)
    pipe.run_all()

    report = json.loads(audit(pipe, "digests", json_out=True).out)
    assert not report["intact"]
    by_key = {d["s3_key"]: d for d in report["digests"]}
    assert by_key[forged.key]["status"] == "invalid" and "does not verify" in by_key[forged.key]["problems"][0], by_key[forged.key]
    # the next digest names the real signature of its predecessor: the replacement shows in the chain too
    after_forged = w.digests[i + 1]
    assert by_key[after_forged.key]["chain"] == "broken" and "replaced" in by_key[after_forged.key]["problems"][0]
    assert by_key[after_deleted.key]["status"] == "invalid" and by_key[after_deleted.key]["chain"] == "broken"
    assert deleted.key not in by_key
    logs_by_key = {l["s3_key"]: l for d in report["digests"] for l in d["log_files"]}
    assert logs_by_key[altered.key]["status"] == "altered"
    assert logs_by_key[removed.key]["status"] == "missing"
    assert [u["s3_key"] for u in report["undigested"]] == [planted.key]
    invalid = {d["s3_key"] for d in report["digests"] if d["status"] == "invalid"}
    assert invalid == {forged.key, after_forged.key, after_deleted.key}, invalid
    r = audit(pipe, "digests")
    assert r.code == 1 and "INVALID" in r.out, r.describe()

    # the same in the index
    docs = audit_docs(pipe)
    status = {k: d["audit"]["status"] for k, d in docs.items()}
    assert status[("cloudtrail_digest", forged.key)] == "invalid"
    assert status[("cloudtrail_digest", after_deleted.key)] == "invalid"
    assert status[("cloudtrail_digest", after_forged.key)] == "invalid"
    assert status[("cloudtrail_log", altered.key)] == "altered"
    assert status[("cloudtrail_log", removed.key)] == "missing"
    assert status[("cloudtrail_log", planted.key)] == "no_digest"
    bad = {k for k, v in status.items() if v != "valid"}
    assert bad == {("cloudtrail_digest", forged.key), ("cloudtrail_digest", after_forged.key), ("cloudtrail_digest", after_deleted.key),
                   ("cloudtrail_log", altered.key),
                   ("cloudtrail_log", removed.key), ("cloudtrail_log", planted.key)}, bad

    # what was captured is intact: the capture check and the digest check answer different questions
    verify(pipe, code=0)


def test_digest_validation_without_the_permission_says_what_to_do(pipe, stub):
    w = DigestWorld(pipe, stub, 313, files=2)
    w.upload()
    stub.fail("ListPublicKeys", status=400, code="AccessDeniedException",
              message="User is not authorized to perform: cloudtrail:ListPublicKeys")
    r = pipe.run("fetch")
    assert r.code == 3, r.describe()
    assert "ListPublicKeys" in r.err and "iam-policy.json" in r.err, r.err
    pipe.expect("transform")
    report = json.loads(audit(pipe, "digests", json_out=True).out)
    assert {d["status"] for d in report["digests"]} == {"invalid"}
    assert all("no public key" in d["problems"][0] for d in report["digests"])


def test_digests_checked_as_they_arrive_across_runs(pipe, stub):
    """Digests fetched after their log files (in a later run) are checked then; the chain continues
    across transform runs; log files whose digest has not come yet are not reported."""
    w = DigestWorld(pipe, stub, 314, files=6)
    half = len(w.digests) // 2
    w.upload(w.logs + w.digests[:half])
    pipe.run_all()
    docs = audit_docs(pipe)
    assert {k for k in docs if k[0] == "cloudtrail_digest"} == {("cloudtrail_digest", d.key) for d in w.digests[:half]}
    assert {d["audit"]["status"] for d in docs.values()} == {"valid"}, [d["audit"] for d in docs.values()]
    named_first = {k for k in docs if k[0] == "cloudtrail_log"}

    w.upload(w.digests[half:])
    pipe.run_all()
    docs = audit_docs(pipe)
    assert {k for k in docs if k[0] == "cloudtrail_digest"} == {("cloudtrail_digest", d.key) for d in w.digests}
    assert {k for k in docs if k[0] == "cloudtrail_log"} == {("cloudtrail_log", o.key) for o in w.logs}
    assert named_first < {k for k in docs if k[0] == "cloudtrail_log"}
    assert {d["audit"]["status"] for d in docs.values()} == {"valid"}, [d["audit"] for d in docs.values() if d["audit"]["status"] != "valid"]
    assert docs[("cloudtrail_digest", w.digests[half].key)]["audit"]["digest"]["chain"] == "linked"
    assert len(list((pipe.spool.root / "raw" / "digests").iterdir())) == 2
    state = json.loads((pipe.spool.root / "state" / "audit-digests.json").read_text())["state"]
    assert state["pending"] == [] and state["undigested"] == {}
    assert audit(pipe, "digests").code == 0


def test_trace_a_billing_line_item_to_its_csv_row(pipe):
    import csv
    import io

    import gen_cur as g
    from support import DELETE, http
    rep = g.generate(g.Spec(mode="legacy", bucket=pipe.bucket, prefix="cur", name="audit-cur", seed=7, rows=20,
                            closed_months=0, revisions=1, files=1))
    pipe.write_config(cloudtrail=DELETE, billing={"bucket": pipe.bucket, "prefix": "cur", "report_name": "audit-cur", "months": 1})
    for rev in rep.revisions():
        rep.publish_revision(pipe.s3, pipe.bucket, rev)
    pipe.run_all()
    pipe.index.refresh()
    st, body = http("POST", f"{pipe.index_url}/awsbilling-*/_search", {"query": {"match_all": {}}, "size": 1, "sort": [{"_id": "asc"}]})
    assert st == 200 and body["hits"]["hits"], body
    hit = body["hits"]["hits"][0]
    cs = hit["_source"]["cloudspool"]
    [run] = sorted((pipe.spool.root / "raw" / "billing").iterdir())
    assert cs["run_id"] == run.name and (run / cs["raw_file"]).is_file()

    r = audit(pipe, "trace", "--index", hit["_index"], "--id", hit["_id"], json_out=True)
    assert r.code == 0, r.describe()
    t = json.loads(r.out)
    assert t["intact"] and t["run"] == f"raw/billing/{run.name}" and t["files"][0]["status"] == "intact"
    r = audit(pipe, "trace", "--index", hit["_index"], "--id", hit["_id"], "--extract")
    assert r.code == 0, r.describe()
    header, row = list(csv.reader(io.StringIO(r.out)))
    fields = dict(zip(header, row))
    assert fields["identity/LineItemId"] == hit["_source"]["identity"]["LineItemId"]


def test_a_log_file_named_before_it_was_fetched_is_checked_when_it_comes(pipe, stub):
    w = DigestWorld(pipe, stub, 315, files=4)
    late = max(w.logs, key=lambda o: o.key)       # the newest: fetch still lists it when it comes late
    w.upload([o for o in w.logs if o is not late] + w.digests)
    pipe.run_all()
    assert audit_docs(pipe)[("cloudtrail_log", late.key)]["audit"]["status"] == "missing"
    state = json.loads((pipe.spool.root / "state" / "audit-digests.json").read_text())["state"]
    assert list(state["awaited"]) == [late.key]

    w.upload([late])
    pipe.run_all()
    doc = audit_docs(pipe)[("cloudtrail_log", late.key)]
    assert doc["audit"]["status"] == "valid", doc["audit"]
    assert doc["audit"]["digest"]["key"] == w.named(late).key
    state = json.loads((pipe.spool.root / "state" / "audit-digests.json").read_text())["state"]
    assert state["awaited"] == {} and state["undigested"] == {}
    assert audit(pipe, "digests").code == 0
