"""Corrupt objects are quarantined (whole files) or rejected (single records); the rest loads."""

from __future__ import annotations

import json

import gen_cloudtrail as gen
from support import REGION, STEM


def test_corrupt_objects_quarantined_rest_loads(pipe):
    trail = pipe.generate(seed=21, accounts=1, regions=[REGION], days=1, files_per_prefix=2,
                          records_per_file=4, specials=False)
    bad = gen.corrupt_objects(21, pipe.prefix, trail.org_id, trail.accounts[0], REGION, trail.spec.start,
                              accounts=trail.accounts)
    assert {o.kind for o in bad} == set(gen.CORRUPT_KINDS)
    trail.add(bad)
    trail.upload(pipe.s3, pipe.bucket, objects=bad)

    pipe.expect("fetch")
    assert set(pipe.spool.raw_keys()) == trail.log_keys()
    r = pipe.expect("transform", codes=(3,))
    pipe.expect("load")
    assert pipe.index.counts() == trail.expected_counts(STEM)
    assert set(pipe.index.docs()) == trail.expected_ids()

    qfiles = pipe.spool.quarantine_files()
    qroot = pipe.spool.root / "quarantine" / "transform"
    rel = [q.relative_to(qroot).as_posix() for q in qfiles]
    problems = []
    for o in bad:
        if o.kind in gen.FILE_CORRUPT_KINDS:
            held = [q for q, n in zip(qfiles, rel) if n.endswith("/" + o.key)]
            reason = [q for q, n in zip(qfiles, rel) if n.endswith("/" + o.key + ".reason")]
            if len(held) != 1:
                problems.append(f"{o.kind}: {len(held)} quarantined copies of {o.key}")
            elif held[0].read_bytes() != o.body:
                problems.append(f"{o.kind}: quarantined bytes differ from the object")
            if len(reason) != 1 or not reason[0].read_text().strip():
                problems.append(f"{o.kind}: no (or empty) .reason next to the quarantined file")
        else:
            rej = [q for q, n in zip(qfiles, rel) if n.endswith("/" + o.key + ".rejected.ndjson")]
            if len(rej) != 1:
                problems.append(f"{o.kind}: {len(rej)} .rejected.ndjson files for {o.key}")
                continue
            lines = [ln for ln in rej[0].read_text().splitlines() if ln.strip()]
            if len(lines) != len(o.rejected):
                problems.append(f"{o.kind}: {len(lines)} rejected lines, want {len(o.rejected)}")
            for ln in lines:
                try:
                    json.loads(ln)
                except ValueError:
                    problems.append(f"{o.kind}: rejected line is not JSON: {ln[:200]}")
            text = rej[0].read_text()
            for rec in o.rejected:
                if rec["requestID"] not in text:
                    problems.append(f"{o.kind}: the rejected record is not in {rej[0].name}")
            field = "eventID" if o.kind == "no_event_id" else "eventTime"
            if field not in text:
                problems.append(f"{o.kind}: the reason does not name {field}: {text[:300]}")
            # the good records of that file were not quarantined with it
            if any(n.endswith("/" + o.key) for n in rel):
                problems.append(f"{o.kind}: the whole file was quarantined although only one record is bad")
    good_keys = {o.key for o in trail.objects if o.kind == "log"}
    for n in rel:
        for k in good_keys:
            if k in n:
                problems.append(f"a good file was quarantined: {n}")
    assert not problems, "\n".join(problems) + "\n" + r.describe()
    assert pipe.spool.check_invariants() == []
