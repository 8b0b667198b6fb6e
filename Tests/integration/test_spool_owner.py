"""A spool belongs to one set of indices: a second config naming other indices is refused (exit 2)
before any work, with a message naming both; the same indices through another URL are fine."""

from __future__ import annotations

import json


def test_a_second_config_with_other_indices_is_refused(pipe):
    pipe.generate(accounts=1, regions=["eu-west-1"], days=1, files_per_prefix=1, records_per_file=3)
    pipe.expect("fetch", codes=(0,))
    owner = json.loads((pipe.spool.root / "state" / "spool.json").read_text())
    assert owner["version"] == 1 and owner["state"]["names"]["cloudtrail"] == "awscli-trail"
    other = pipe.write_config_copy(pipe.tmp / "other.yaml", index={"names": {"cloudtrail": "other-trail"}, "index_prefix": "x-"})
    for stage in ("transform", "load"):
        r = pipe.run(stage, config_file=other)
        assert r.code == 2, r.describe()
        assert "belongs to other indices" in r.err and "index.names.cloudtrail other-trail" in r.err and "index_prefix" in r.err, r.err
    assert not list((pipe.spool.root / "ndjson").glob("*/*.ndjson")) if (pipe.spool.root / "ndjson").exists() else True
    moved = pipe.write_config_copy(pipe.tmp / "moved.yaml", index={"url": pipe.index_url + "/"})
    assert pipe.run("transform", config_file=moved).code == 0
