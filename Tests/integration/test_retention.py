"""Retention removes finished work only: never a raw run transform has not finished, never NDJSON
the index has not acknowledged; quarantine is never removed."""
import json
import time

import gen_cloudtrail as gen
from support import REGION, STEM


def test_retention_removes_only_finished_work(pipe):
    trail = pipe.generate(seed=91, accounts=1, regions=[REGION], days=1, files_per_prefix=3, records_per_file=5, specials=False)
    bad = gen.corrupt_objects(91, pipe.prefix, trail.org_id, trail.accounts[0], REGION, trail.spec.start,
                              kinds=("truncated_gzip",), accounts=trail.accounts)
    trail.add(bad)
    trail.upload(pipe.s3, pipe.bucket, objects=bad)
    pipe.write_config(retention={"raw_days": 0, "ndjson_days": 0})
    pipe.expect("fetch")
    assert len(pipe.spool.raw_runs()) == 1
    time.sleep(1.2)   # run ids and file times have one-second resolution

    # load before transform: nothing to load, and the raw run (not transformed) stays
    pipe.expect("load")
    assert len(pipe.spool.raw_runs()) == 1

    pipe.expect("transform", codes=(3,))    # one file quarantined
    assert pipe.spool.raw_runs() == [], "a transformed raw run older than raw_days must go"
    state = json.loads((pipe.spool.root / "state" / "transform.json").read_text())
    assert state["state"]["done"].get("cloudtrail", []) == [], "the checkpoint forgets removed runs"
    files = pipe.spool.ndjson_files()
    assert files, "NDJSON not loaded yet must stay"
    quarantined = list((pipe.spool.root / "quarantine").rglob("*.reason"))
    assert len(quarantined) == 1

    time.sleep(1.2)
    pipe.expect("load")
    assert pipe.index.counts() == trail.expected_counts(STEM)
    assert pipe.spool.ndjson_files() == [], "acknowledged NDJSON older than ndjson_days must go"
    load_state = json.loads((pipe.spool.root / "state" / "load.json").read_text())
    assert load_state["state"]["files"] == {}
    assert list((pipe.spool.root / "quarantine").rglob("*.reason")) == quarantined, "quarantine is never removed"

    # A second round: nothing new, nothing removed that should not be.
    pipe.expect("fetch")
    pipe.expect("transform")
    pipe.expect("load")
    assert pipe.index.counts() == trail.expected_counts(STEM)
