#!/usr/bin/env python3
"""Generate the CloudTrail benchmark data set: realistic .json.gz log files of
1-5 MB (uncompressed) each, until at least --total-bytes of uncompressed JSON.

Uses scripts/gen_cloudtrail.py (the record catalog of the integration tests:
EC2, S3 data events, STS, KMS, IAM, sign-in, logs, SSM, DynamoDB ...) and lays
the files out as an organization trail delivers them
(AWSLogs/o-.../<account>/CloudTrail/<region>/YYYY/MM/DD/...json.gz).

Writes:
  <out>/objects/<key>                the log files
  <out>/manifest.json                a raw-run manifest (spool contract) listing them
  <out>/dataset.json                 totals: files, compressed/uncompressed bytes, records

Deterministic for a seed. Two worker processes (one per core) build the files.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import sys
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts"))
import gen_cloudtrail as g  # noqa: E402

UTC = timezone.utc
RUN_ID = "20261128T000000Z-00000001"
MB = 1_000_000


def _plan(seed: int, total: int, accounts: int, regions: list, start: date, first: int = 0) -> list:
    """(accounts, account, region, delivered, size_target, file_seed) for files first.. until
    about total bytes are planned, in delivery order."""
    rng = random.Random(seed)
    accts = g._gen_accounts(rng, accounts)
    prefixes = [(a, r) for a in accts for r in regions]
    rng = random.Random(seed * 31 + first)
    plan = []
    acc = 0
    i = first
    while acc < total:
        a, r = prefixes[i % len(prefixes)]
        slot = i // len(prefixes)
        day = start + timedelta(days=slot // 24)
        delivered = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
            hours=slot % 24, minutes=rng.randrange(5, 55), seconds=rng.randrange(60))
        size = rng.randrange(1 * MB, 5 * MB)
        plan.append((accts, a, r, delivered, size, seed * 1_000_003 + i))
        acc += size
        i += 1
    return plan


def _build(item) -> tuple:
    accts, account, region, delivered, size, fseed = item
    rng = random.Random(fseed)
    end = delivered - timedelta(minutes=1)
    start = delivered - timedelta(minutes=16)
    # size_target counts characters; aim a little low so the file stays in 1-5 MB
    recs = g.make_records(rng, accts, account, region, start, end, 1, int(size * 0.97))
    org = "o-" + hashlib.sha1(str(accts).encode()).hexdigest()[:10]
    obj = g.log_object(rng, "", org, account, region, delivered, recs)
    raw_len = len(gzip.decompress(obj.body))
    return obj.key, obj.body, raw_len, len(recs), account, region


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--total-bytes", type=int, default=210 * MB)
    ap.add_argument("--accounts", type=int, default=3)
    ap.add_argument("--regions", default="eu-west-1,us-east-1")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--start-date", default="2026-11-20")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args(argv)

    out = Path(a.out)
    stamp = out / "dataset.json"
    params = {"total_bytes": a.total_bytes, "accounts": a.accounts, "regions": a.regions, "seed": a.seed,
              "start_date": a.start_date, "generator": 3}
    if stamp.exists():
        try:
            if json.loads(stamp.read_text()).get("params") == params:
                print(f"gen_trail_set: {out} is up to date", file=sys.stderr)
                return 0
        except ValueError:
            pass
    if out.exists():
        import shutil
        shutil.rmtree(out)
    (out / "objects").mkdir(parents=True)

    regions = [r for r in a.regions.split(",") if r]
    entries = []
    tot_raw = tot_gz = tot_rec = 0
    with ProcessPoolExecutor(max_workers=max(1, a.workers)) as ex:
        while tot_raw < a.total_bytes:   # sizes are approximate: top up until the total is reached
            plan = _plan(a.seed, a.total_bytes - tot_raw, a.accounts, regions, date.fromisoformat(a.start_date),
                         first=len(entries))
            for key, body, raw_len, nrec, account, region in ex.map(_build, plan, chunksize=1):
                p = out / "objects" / key
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(body)
                entries.append({"path": f"objects/{key}", "service": "s3", "operation": "GetObject",
                                "account": account, "region": region,
                                "parameters": {"Bucket": "cloudtraillogs", "Key": key},
                                "requestedAt": "2026-11-28T00:00:01Z", "httpStatus": 200, "size": len(body),
                                "sha256": hashlib.sha256(body).hexdigest()})
                tot_raw += raw_len
                tot_gz += len(body)
                tot_rec += nrec
    manifest = {"version": 1, "collector": "cloudtrail", "runId": RUN_ID, "startedAt": "2026-11-28T00:00:00Z",
                "finishedAt": "2026-11-28T00:05:00Z", "entries": entries}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    summary = {"params": params, "files": len(entries), "compressed_bytes": tot_gz,
               "uncompressed_bytes": tot_raw, "records": tot_rec}
    stamp.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"gen_trail_set: {len(entries)} files, {tot_raw / MB:.1f} MB uncompressed "
          f"({tot_gz / MB:.1f} MB gzip), {tot_rec} records", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
