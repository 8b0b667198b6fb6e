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
