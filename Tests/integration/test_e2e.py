"""End to end: a generated trail bucket goes through fetch, transform and load."""

from __future__ import annotations

import json
import re
import stat
from datetime import timedelta

import gen_cloudtrail as gen
from support import REGION, STEM, check_document, decode_raw_records

REGIONS = [REGION, "us-east-1"]


def _assert_index_matches(pipe, trail, compare_all_sources: bool = True):
    idx = pipe.index
    want = trail.expected_counts(STEM)
    got = idx.counts()
    assert got == want, f"per-index counts differ\n got  {got}\n want {want}"
    docs = idx.docs(source=True)
    expected = trail.expected_records()
    assert set(docs) == set(expected), (f"ids differ: missing {len(set(expected) - set(docs))}, "
                                        f"unexpected {len(set(docs) - set(expected))}")
    dups = {i: [ix for ix, _ in v] for i, v in docs.items() if len(v) != 1}
    assert not dups, f"eventIDs indexed more than once: {list(dups.items())[:5]}"
    problems = []
    for i, [(ix, hit)] in docs.items():
        rec = expected[i]
        if ix != gen.index_name(rec, STEM):
            problems.append(f"{i}: in {ix}, want {gen.index_name(rec, STEM)} (eventTime {rec['eventTime']})")
        if compare_all_sources:
            for p in check_document(hit["_source"], rec):
                problems.append(f"{i} ({rec['eventName']}): {p}")
    assert not problems, "documents differ from their records:\n" + "\n".join(problems[:40])
    return docs


def test_end_to_end_org_and_single_account_trail(pipe):
    trail = pipe.generate(seed=11, accounts=3, regions=REGIONS, days=2, files_per_prefix=2,
                          records_per_file=6, single_account_trail=True)
    assert trail.skipped_keys(), "generator wrote no digest/ConfigWritabilityCheckFile"

    r = pipe.expect("fetch")
    keys = pipe.spool.raw_keys()
    assert len(keys) == len(set(keys)), "first fetch stored a key twice"
    got = set(keys)
    assert not (got & trail.skipped_keys()), f"fetched digests/config files: {sorted(got & trail.skipped_keys())[:5]}"
    assert got == trail.log_keys(), (f"fetched keys differ: missing {sorted(trail.log_keys() - got)[:5]}, "
                                     f"extra {sorted(got - trail.log_keys())[:5]}\n{r.describe()}")
    # byte for byte, with manifest metadata
    stored = pipe.spool.raw_objects()
    for o in trail.objects:
        if o.fetchable:
            assert stored[o.key] == o.body, f"{o.key}: stored bytes differ from the S3 object (decoded?)"
    for run in pipe.spool.raw_runs():
        man = pipe.spool.manifest(run)
        assert man.get("version") == 1 and man.get("collector") == "cloudtrail", man
        assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", run.name), f"run id {run.name}"
        assert man.get("runId") == run.name
        for e in man["entries"]:
            key = e["parameters"]["Key"]
            assert e["path"] == "objects/" + key
            assert e["parameters"]["Bucket"] == pipe.bucket
            assert (e.get("service"), e.get("operation"), e.get("httpStatus")) == ("s3", "GetObject", 200), e
            m = re.search(r"/AWSLogs/(?:o-[a-z0-9]{10}/)?(\d{12})/CloudTrail/([a-z0-9-]+)/", "/" + key)
            assert (e.get("account"), e.get("region")) == (m.group(1), m.group(2)), e
    assert pipe.spool.check_invariants() == []

    pipe.expect("transform")
    # every action line names the daily index of the event and its eventID
    expected = trail.expected_records()
    for action, doc, _, _ in pipe.spool.ndjson_docs():
        meta = action.get("index") or action.get("create")
        rec = expected.get(meta["_id"])
        assert rec is not None, f"NDJSON document with unknown _id {meta['_id']}"
        assert meta["_index"] == gen.index_name(rec, STEM), (meta, rec["eventTime"])
        assert check_document(doc, rec) == [], (meta["_id"], check_document(doc, rec))

    pipe.expect("load")
    docs = _assert_index_matches(pipe, trail)

    # events of day D-1 stored in folder D land in D-1's index
    late = []
    for o in trail.objects:
        if o.kind != "log":
            continue
        folder_day = re.search(r"/CloudTrail/[^/]+/(\d{4})/(\d{2})/(\d{2})/", o.key).groups()
        for rec in o.records:
            if tuple(rec["eventTime"][:10].split("-")) < folder_day:
                late.append(rec)
    assert late, "generator produced no late-evening events"
    for rec in late:
        [(ix, _)] = docs[rec["eventID"]]
        assert ix == gen.index_name(rec, STEM)


def test_free_form_parts_not_indexed_but_searchable(pipe):
    trail = pipe.generate(seed=12, accounts=1, regions=[REGION], days=1, files_per_prefix=2, records_per_file=4)
    pipe.run_all()
    _assert_index_matches(pipe, trail)
    idx = pipe.index
    probe = [r for r in trail.expected_records().values() if gen.PROBE_WORD in json.dumps(r)]
    assert len(probe) == 1
    hits = idx.search({"match": {"cloudspool.payload_text": gen.PROBE_WORD}})
    assert [h["_id"] for h in hits] == [probe[0]["eventID"]], hits
    # not as a field of its own
    hits = idx.search({"match": {"requestParameters.description": gen.PROBE_WORD}})
    assert hits == [], "requestParameters is indexed as fields"
    # a value from responseElements is searchable too
    big = [r for r in trail.expected_records().values() if r["eventName"] == "GetTemplate"][0]
    hits = idx.search({"match": {"cloudspool.payload_text": "q-01234"}})
    assert big["eventID"] in [h["_id"] for h in hits]
    # mapping: the free-form parts have no sub-fields
    from support import http
    st, mappings = http("GET", f"{idx.url}/{idx.pattern}/_mapping")
    assert st == 200
    for ix, m in mappings.items():
        props = m["mappings"].get("properties", {})
        for part in ("requestParameters", "responseElements", "additionalEventData", "serviceEventDetails"):
            assert "properties" not in props.get(part, {}), f"{ix}: {part} mapped with sub-fields"
        assert props.get("@timestamp", {}).get("type") in ("date", "date_nanos"), f"{ix}: @timestamp not a date"


def test_second_run_indexes_nothing_new(pipe, proxy):
    pipe.write_config(index={"url": proxy.url})
    trail = pipe.generate(seed=13, accounts=2, regions=[REGION], days=2, files_per_prefix=2, records_per_file=5)
    pipe.run_all()
    _assert_index_matches(pipe, trail, compare_all_sources=False)
    runs = pipe.spool.raw_runs()
    files = {p: p.read_bytes() for p in pipe.spool.ndjson_files()}
    versions = pipe.index.versions()
    proxy.reset()

    r = pipe.expect("fetch")
    assert pipe.spool.raw_runs() == runs, f"second fetch stored a new run\n{r.describe()}"
    pipe.expect("transform")
    assert {p: p.read_bytes() for p in pipe.spool.ndjson_files()} == files, "second transform wrote NDJSON"
    pipe.expect("load")
    assert pipe.index.counts() == trail.expected_counts(STEM)
    after = pipe.index.versions()
    changed = [i for i in versions if after.get(i) != versions[i]]
    assert not changed, (f"{len(changed)} documents were indexed again by the second load "
                         f"({proxy.count('_bulk$')} _bulk requests), e.g. {changed[:3]}")


def test_new_and_late_objects_are_fetched(pipe):
    trail = pipe.generate(seed=14, accounts=2, regions=REGIONS, days=2, files_per_prefix=3, records_per_file=4,
                          specials=False)
    pipe.run_all()
    first_runs = set(pipe.spool.raw_runs())
    acct = trail.accounts[0]
    prefix_keys = sorted(k for k in trail.log_keys() if f"/{trail.org_id}/{acct}/CloudTrail/{REGION}/" in k)
    greatest = prefix_keys[-1]
    delivered = _key_time(greatest)
    late = gen.late_object(trail, 1, acct, REGION, delivered - timedelta(minutes=25))
    assert late.key < greatest and late.key.rsplit("/", 1)[0] == greatest.rsplit("/", 1)[0]
    other = sorted(k for k in trail.log_keys() if f"/{trail.org_id}/{trail.accounts[1]}/CloudTrail/us-east-1/" in k)[-1]
    newer = gen.late_object(trail, 2, trail.accounts[1], "us-east-1", _key_time(other) + timedelta(minutes=30))
    assert newer.key > other
    trail.add([late, newer])
    trail.upload(pipe.s3, pipe.bucket, objects=[late, newer])

    pipe.expect("fetch")
    new_runs = set(pipe.spool.raw_runs()) - first_runs
    assert new_runs, "second fetch stored nothing"
    new_keys = []
    for run in sorted(new_runs):
        new_keys += [e["parameters"]["Key"] for e in pipe.spool.manifest(run)["entries"]]
    assert sorted(new_keys) == sorted([late.key, newer.key]), f"second fetch stored {new_keys}"
    pipe.expect("transform")
    pipe.expect("load")
    _assert_index_matches(pipe, trail, compare_all_sources=False)


def _key_time(key: str):
    from datetime import datetime, timezone
    s = re.search(r"_(\d{8}T\d{4})Z_[A-Za-z0-9]{16}\.json\.gz$", key).group(1)
    return datetime.strptime(s, "%Y%m%dT%H%M").replace(tzinfo=timezone.utc)


def test_document_larger_than_bulk_max_bytes_is_indexed(pipe):
    # the GetTemplate/CreateTable specials are ~48/58 KB, larger than a 16 KB batch
    pipe.write_config(index={"bulk_max_bytes": 16384})
    trail = pipe.generate(seed=15, accounts=1, regions=[REGION], days=1, files_per_prefix=2, records_per_file=10)
    pipe.run_all()
    _assert_index_matches(pipe, trail, compare_all_sources=False)


def test_spool_modes(pipe):
    pipe.generate(seed=16, accounts=1, regions=[REGION], days=1, files_per_prefix=1, records_per_file=3,
                  specials=False)
    pipe.run_all()
    bad = []
    for p in [pipe.spool.root, *pipe.spool.root.rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        want = 0o750 if p.is_dir() else 0o640
        if mode != want:
            bad.append(f"{oct(mode)} {p.relative_to(pipe.spool.root.parent)}")
    assert not bad, "spool modes differ from 0750 (folders) / 0640 (files):\n" + "\n".join(bad[:20])


def test_run_reports_written(pipe):
    pipe.generate(seed=17, accounts=1, regions=[REGION], days=1, files_per_prefix=1, records_per_file=3,
                  specials=False)
    pipe.run_all()
    for stage in ("fetch", "transform", "load"):
        reports = sorted((pipe.spool.root / "runs" / stage).glob("*.json"))
        assert reports, f"no runs/{stage}/<run-id>.json"
        json.loads(reports[-1].read_text())
    # raw records really are what was fetched
    for run in pipe.spool.raw_runs():
        for e in pipe.spool.manifest(run)["entries"]:
            decode_raw_records((run / e["path"]).read_bytes())
