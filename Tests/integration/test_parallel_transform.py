"""transform.workers: CloudTrail log files of a raw run are transformed on several workers, and the
NDJSON is byte for byte the same whatever their number (the files' results are written in the
manifest's order); quarantine and rejected records behave as with one worker."""

from __future__ import annotations

import shutil

import gen_cloudtrail as gen


def test_same_ndjson_for_1_2_and_5_workers(pipe):
    trail = pipe.generate(accounts=2, regions=["eu-west-1", "us-east-1"], days=1, files_per_prefix=5, records_per_file=30)
    bad = gen.corrupt_objects(7, pipe.prefix, trail.org_id, trail.accounts[0], "eu-west-1", trail.spec.start,
                              kinds=["truncated_gzip", "no_event_time", "invalid_json"], accounts=trail.accounts)
    trail.add(bad)
    trail.upload(pipe.s3, pipe.bucket, objects=bad)
    pipe.write_config(transform={"max_file_bytes": 65536}, cloudtrail={"batch_objects": 9})
    pipe.expect("fetch", codes=(0,))
    raw = pipe.spool.root / "raw"
    outputs = {}
    for workers in (1, 2, 5):
        root = pipe.tmp / f"w{workers}"
        shutil.copytree(raw, root / "spool" / "raw")
        cfg = pipe.write_config_copy(root / "cloudspool.yaml", spool=str(root / "spool"), transform={"workers": workers, "max_file_bytes": 65536})
        r = pipe.run("transform", config_file=cfg)
        assert r.code == 3, r.describe()   # the corrupt files are quarantined, the bad record rejected
        nd = root / "spool" / "ndjson" / "cloudtrail"
        outputs[workers] = {p.name: p.read_bytes() for p in sorted(nd.iterdir())}
        q = root / "spool" / "quarantine" / "transform"
        outputs[workers]["quarantine"] = sorted(str(p.relative_to(q)) for p in q.rglob("*") if p.is_file())
        outputs[workers]["summary"] = r.out.strip().splitlines()[-1].split(" seconds=")[0]
    assert len(outputs[1]) > 4, "the run should split into several NDJSON files"
    assert outputs[2] == outputs[1]
    assert outputs[5] == outputs[1]
    nd = pipe.tmp / "w1" / "spool" / "ndjson" / "cloudtrail"
    ids = {a["index"]["_id"] for n in outputs[1] if n.endswith(".ndjson") for a, _d, _l1, _l2 in pipe.spool.parse_ndjson(nd / n)}
    assert ids == trail.expected_ids()


def test_billing_same_ndjson_for_1_2_and_5_workers(pipe):
    """The report files of a CUR revision are transformed on several workers into files of their own,
    joined in part order: the same NDJSON files and revision file for any number; a broken revision is
    set aside with the same reason."""
    from test_billing import BillingWorld
    import gen_cur as g

    w = BillingWorld(pipe, "legacy", closed_months=0, revisions=1)
    good = g.good_revision(w.report, files=4, rows=6000)
    broken = g.broken_revision(w.report, "bad_row")
    assert good.files == 4 and broken.files >= 2
    w.publish(good)
    pipe.expect("fetch")
    w.publish(broken)
    pipe.expect("fetch")
    raw = pipe.spool.root / "raw"
    outputs = {}
    for workers in (1, 2, 5):
        root = pipe.tmp / f"billing-w{workers}"
        shutil.copytree(raw, root / "spool" / "raw")
        cfg = pipe.write_config_copy(root / "cloudspool.yaml", spool=str(root / "spool"),
                                     transform={"workers": workers, "max_file_bytes": 65536})
        r = pipe.run("transform", config_file=cfg)
        assert r.code == 3, r.describe()   # the broken revision is set aside
        nd = root / "spool" / "ndjson" / "billing"
        outputs[workers] = {p.name: p.read_bytes() for p in sorted(nd.iterdir())}
        q = root / "spool" / "quarantine" / "transform"
        outputs[workers]["reasons"] = sorted(p.read_text() for p in q.glob("*.reason"))
    files = [n for n in outputs[1] if n.endswith(".ndjson")]
    assert len(files) > 4, "each report file should split into several NDJSON files"
    assert outputs[1]["reasons"] and "columns" in outputs[1]["reasons"][0]
    assert outputs[2] == outputs[1]
    assert outputs[5] == outputs[1]
    rows = sum(len(f.read_text().splitlines()) // 2 for f in (pipe.tmp / "billing-w1" / "spool" / "ndjson" / "billing").glob("*.ndjson"))
    assert rows == good.facts()["rows"]
