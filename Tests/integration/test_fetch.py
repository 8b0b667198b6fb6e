"""Fetch details: what is listed (start_date, accounts/regions filters), S3 errors, index names."""

from __future__ import annotations

from datetime import timedelta

from faultproxy import FaultProxy
from support import REGION, STEM

SLOWDOWN = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
            '<Message>Please reduce your request rate.</Message><RequestId>TESTREQ</RequestId></Error>')
INTERNAL = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
            '<Message>We encountered an internal error. Please try again.</Message></Error>')


def test_start_date_limits_first_listing(pipe):
    trail = pipe.generate(seed=91, accounts=1, regions=[REGION], days=3, files_per_prefix=2, records_per_file=3,
                          specials=False)
    first = trail.spec.start
    pipe.write_config(cloudtrail={"start_date": (first + timedelta(days=1)).isoformat()})
    pipe.expect("fetch")
    got = set(pipe.spool.raw_keys())
    day0 = f"/{first:%Y/%m/%d}/"
    want = {k for k in trail.log_keys() if day0 not in k}
    assert got == want, (f"missing {sorted(want - got)[:3]}, extra (before start_date) {sorted(got - want)[:3]}")


def test_accounts_and_regions_filters(pipe):
    trail = pipe.generate(seed=92, accounts=3, regions=[REGION, "us-east-1"], days=1, files_per_prefix=1,
                          records_per_file=3, specials=False)
    keep_acct = trail.accounts[1]
    pipe.write_config(cloudtrail={"accounts": [keep_acct], "regions": ["us-east-1"]})
    pipe.expect("fetch")
    got = set(pipe.spool.raw_keys())
    want = {k for k in trail.log_keys() if f"/{keep_acct}/CloudTrail/us-east-1/" in k}
    assert want and got == want, (sorted(got)[:3], sorted(want)[:3])


def test_index_prefix(pipe):
    pipe.write_config(index={"index_prefix": "prod-"})
    trail = pipe.generate(seed=93, accounts=1, regions=[REGION], days=1, files_per_prefix=1, records_per_file=4,
                          specials=False)
    pipe.run_all()
    names = pipe.index.all_indices()
    want = trail.expected_counts(STEM, index_prefix="prod-")
    assert set(want) <= set(names) and not [n for n in names if n.startswith(STEM)], names
    from support import Index
    assert Index(pipe.index_url, prefix="prod-").counts() == want


def test_s3_throttling_and_5xx_are_retried(pipe, moto):
    trail = pipe.generate(seed=94, accounts=1, regions=[REGION], days=1, files_per_prefix=3, records_per_file=3,
                          specials=False)
    with FaultProxy(moto.url) as s3p:
        s3p.add_rule(mode="status", method="GET", path=r"\.json\.gz$", status=503, body=SLOWDOWN,
                     content_type="application/xml", count=1)
        s3p.add_rule(mode="status", method="GET", path=r"\.json\.gz$", status=500, body=INTERNAL,
                     content_type="application/xml", count=1)
        s3p.add_rule(mode="close", method="GET", path=r"\.json\.gz$", count=1)
        env = {"AWS_ENDPOINT_URL": s3p.url, "AWS_ENDPOINT_URL_S3": s3p.url}
        pipe.write_config(aws={"max_retries": 3})
        r = pipe.run("fetch", env=env)
        assert r.code == 0, f"throttled/5xx/dropped GetObject calls must be retried\n{r.describe()}"
        st = s3p.stats()
        assert st["faults"] == {"status": 2, "close": 1}
    keys = pipe.spool.raw_keys()
    assert sorted(keys) == sorted(trail.log_keys())
    stored = pipe.spool.raw_objects()
    assert all(stored[o.key] == o.body for o in trail.objects if o.fetchable)
    assert pipe.spool.check_invariants() == []


def test_s3_down_fails_then_next_run_completes(pipe, moto):
    trail = pipe.generate(seed=95, accounts=1, regions=[REGION], days=1, files_per_prefix=3, records_per_file=3,
                          specials=False)
    with FaultProxy(moto.url) as s3p:
        # listing works, every GetObject fails
        s3p.add_rule(mode="status", method="GET", path=r"\.json\.gz$", status=503, body=SLOWDOWN,
                     content_type="application/xml", count=None)
        env = {"AWS_ENDPOINT_URL": s3p.url, "AWS_ENDPOINT_URL_S3": s3p.url}
        r = pipe.run("fetch", env=env)
        assert r.code == 1, f"fetch with S3 failing must exit 1\n{r.describe()}"
        assert pipe.spool.raw_runs() == [], "a raw run became visible although its objects could not be fetched"
        assert pipe.spool.check_invariants() == []
        assert s3p.stats()["per_status"].get("503", 0) >= 2, "GetObject was not retried"
    r = pipe.expect("fetch")
    assert sorted(pipe.spool.raw_keys()) == sorted(trail.log_keys()), r.describe()
    pipe.expect("transform")
    pipe.expect("load")
    assert pipe.index.counts() == trail.expected_counts(STEM)
