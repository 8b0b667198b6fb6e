"""The inventory of an organization against the stand-in of bench/orgsim.py, small and fast:

 * every account is entered and every region found (`regions: [all]`: DescribeRegions per
   account), on the workers; every call the estate needs is made once, every answer stored;
 * AWS-like throttling at a fifth of the rates (LookupEvents 0.4/s where cloudspool starts at AWS's
   2/s, as when other tools share the quota): throttled answers happen, LookupEvents slows its pace
   to what is left, and everything is retried (no throttling error left, exit 0);
 * `inventory.shard: K/N`: N runs, one per shard, collect every account exactly once between
   them, each account in the shard its SHA-256 names;
 * at most one connection per worker and service at a time.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import support

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
import orgsim  # noqa: E402

ACCOUNTS, REGIONS = 12, 3


@pytest.fixture
def sim(request):
    extra = getattr(request, "param", [])
    p = subprocess.Popen([sys.executable, str(REPO / "bench" / "orgsim.py"), "--accounts", str(ACCOUNTS), "--regions", str(REGIONS),
                          "--latency-min", "0.001", "--latency-max", "0.005", "--active-share", "0.3", "--mean-instances", "4", *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = json.loads(p.stdout.readline())["url"]
    yield url
    p.terminate()
    p.wait()


def fetch(binaries, tmp: Path, url: str, concurrency: int = 4, shard: str | None = None, regions=("all",)) -> tuple:
    tmp.mkdir(parents=True, exist_ok=True)
    inventory = {"organizations": True, "regions": list(regions), "concurrency": concurrency, "lookup_events": 100}
    if shard:
        inventory["shard"] = shard
    config = tmp / "cloudspool.yaml"
    config.write_text(json.dumps({"spool": str(tmp / "spool"), "aws": {"region": "us-east-1", "timeout_seconds": 10},
                                  "inventory": inventory}))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp), "AWS_ACCESS_KEY_ID": "AKIAMANAGEMENT0000001", "AWS_SECRET_ACCESS_KEY": "x",
           "AWS_ENDPOINT_URL": url, "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": str(tmp / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none")}
    r = subprocess.run([str(support.binary("fetch")), "--config", str(config), "--collector", "inventory"], env=env,
                       capture_output=True, text=True, timeout=300)
    spool = support.Spool(tmp / "spool", "inventory")
    report = json.loads(sorted((tmp / "spool" / "runs" / "fetch").glob("*.json"))[-1].read_text())
    return r, spool, report


def stats(url: str) -> dict:
    return support.http("GET", url + "/__stats")[1]


def accounts_in(spool) -> set:
    return {e["account"] for run in spool.raw_runs() for e in spool.manifest(run)["entries"]
            if e["service"] not in ("organizations", "sts")}


def test_every_account_and_region_collected_once(binaries, sim, tmp_path):
    r, spool, report = fetch(binaries, tmp_path / "a", sim)
    assert r.returncode == 0, r.stdout + r.stderr
    s = stats(sim)
    exp = orgsim.expected(type("A", (), {"seed": 1, "regions": REGIONS, "accounts": ACCOUNTS, "active_share": 0.3,
                                         "mean_instances": 4, "lookup_events": 100})())
    calls = s["by_operation"]
    assert calls["ec2 DescribeRegions"] == ACCOUNTS
    assert calls["sts AssumeRole"] == ACCOUNTS - 1      # not in the base credentials' own account
    unit_calls = s["calls"] - ACCOUNTS - (ACCOUNTS - 1) - calls["organizations ListAccounts"] - calls["sts GetCallerIdentity"]
    assert unit_calls == exp["calls"]
    assert report["counts"]["units"] == ACCOUNTS * REGIONS
    assert accounts_in(spool) == set(orgsim.account_ids(ACCOUNTS))
    # one connection per worker and service at a time
    assert all(v <= 4 for k, v in s["max_open_by_service"].items()), s["max_open_by_service"]
    # a unit's LookupEvents run beside its other calls: at most two requests of a unit at once
    assert s["max_in_flight"] <= 2 * 4


@pytest.mark.parametrize("sim", [["--rate-scale", "0.2", "--accounts", "4"]], indirect=True)
def test_throttling_is_retried_to_the_end(binaries, sim, tmp_path):
    r, spool, report = fetch(binaries, tmp_path / "a", sim, concurrency=8, regions=orgsim.REGIONS[:REGIONS])
    s = stats(sim)
    assert s["throttled"] > 0, "the stand-in must have throttled"
    assert r.returncode == 0, r.stdout + r.stderr
    assert report["errors"] == []
    assert "LookupEvents throttled; slowing down" in r.stderr


def test_shards_split_the_organization_exactly(binaries, sim, tmp_path):
    seen = {}
    for k in (1, 2, 3):
        r, spool, _ = fetch(binaries, tmp_path / f"shard{k}", sim, shard=f"{k}/3")
        assert r.returncode == 0, r.stdout + r.stderr
        for account in accounts_in(spool):
            assert account not in seen, f"{account} collected by shard {seen[account]} and {k}"
            seen[account] = k
    assert set(seen) == set(orgsim.account_ids(ACCOUNTS))
    for account, k in seen.items():
        h = int.from_bytes(hashlib.sha256(account.encode()).digest()[:8], "big")
        assert h % 3 + 1 == k


def test_transform_of_an_organization_run_then_no_change(binaries, sim, tmp_path):
    """Transform decodes one unit at a time and writes each unit's next state aside until its NDJSON is committed:
    a second identical collection then changes nothing and deletes nothing."""
    work = tmp_path / "a"
    r, spool, report = fetch(binaries, work, sim, regions=orgsim.REGIONS[:REGIONS])
    assert r.returncode == 0, r.stdout + r.stderr
    config = work / "cloudspool.yaml"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(work)}

    def transform() -> dict:
        t = subprocess.run([str(support.binary("transform")), "--config", str(config)], env=env, capture_output=True, text=True, timeout=300)
        assert t.returncode == 0, t.stdout + t.stderr
        return json.loads(sorted((work / "spool" / "runs" / "transform").glob("*.json"))[-1].read_text())["counts"]

    first = transform()
    state = work / "spool" / "state" / "inventory-current"
    assert len([p for p in state.iterdir() if p.suffix == ".json"]) == ACCOUNTS * REGIONS
    assert not (state / ".pending").exists() or list((state / ".pending").iterdir()) == []
    assert first["documents"] > 0 and first.get("changes", 0) == 0    # the first collection writes no change
    import time
    time.sleep(1.1)   # a new run id second
    r, _, _ = fetch(binaries, work, sim, regions=orgsim.REGIONS[:REGIONS])
    assert r.returncode == 0, r.stdout + r.stderr
    second = transform()
    assert second["documents"] == first["documents"]
    assert second.get("changes", 0) == 0 and second.get("current_deletes", 0) == 0, second
