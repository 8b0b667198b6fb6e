#!/usr/bin/env python3
"""Generate a Cost & Usage Report for the benchmark and lay it out as a raw
billing run of the spool (what cloudspool-fetch stores for one report revision).

Uses scripts/gen_cur.py (realistic legacy CUR / CUR 2.0 columns: identity/*,
bill/*, lineItem/UnblendedCost, lineItem/BlendedCost, pricing/*, reservation/*,
resourceTags/user:*, credits, taxes, fees, refunds, quoted commas, quotes and
line breaks, non-ASCII) with one closed billing period and one report file, so
that a 1 GB report is one ~1 GB gzip CSV (or `--files N` report files, as AWS
splits a large revision).

Writes:
  <out>/objects/<key>          the report manifest and the report file, under their S3 keys
  <out>/manifest.json          the raw-run manifest (Role=cur-manifest / Role=cur-report, Part=0)
  <out>/dataset.json           rows, compressed/uncompressed bytes, revision, period

usage: gen_cur_set.py --out DIR --rows N [--files N] [--mode legacy|cur2] [--seed 7]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
import sys
import zlib
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts"))
import gen_cur as g  # noqa: E402

RUN_ID = "20261128T000000Z-000000c0"
BUCKET = "cur-reports"


def gunzip_size(path: Path) -> int:
    n = 0
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            n += len(d.decompress(chunk))
    return n + len(d.flush())


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--mode", choices=g.MODES, default="legacy")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--gzip-level", type=int, default=6)
    ap.add_argument("--files", type=int, default=1, help="report files the revision is split into (as AWS splits large ones)")
    a = ap.parse_args(argv)
    out = Path(a.out)
    params = {"rows": a.rows, "mode": a.mode, "seed": a.seed, "gzip_level": a.gzip_level, "generator": 1}
    if a.files > 1:
        params["files"] = a.files
    stamp = out / "dataset.json"
    if stamp.exists():
        try:
            if json.loads(stamp.read_text()).get("params") == params:
                print(f"gen_cur_set: {out} is up to date", file=sys.stderr)
                return 0
        except ValueError:
            pass
    if out.exists():
        shutil.rmtree(out)
    objects = out / "objects"
    objects.mkdir(parents=True)
    spec = g.Spec(mode=a.mode, bucket=BUCKET, prefix="cur", name="bench-cur", seed=a.seed, rows=a.rows,
                  closed_months=1, files=1, max_file_rows=-(-a.rows // a.files) if a.files > 1 else 0, revisions=1, gzip_level=a.gzip_level,
                  today=date(2026, 11, 28))
    rep = g.generate(spec)
    rev = rep.closed[0].revisions[0]
    rev.write_dir(objects)
    facts = rev.facts()
    manifest_key = rev.manifest_keys()[-1]
    report_keys = rev.report_keys()
    entries = []
    mpath = objects / manifest_key
    entries.append({"path": f"objects/{manifest_key}", "service": "s3", "operation": "GetObject",
                    "account": g.PAYER, "region": None,
                    "parameters": {"Bucket": BUCKET, "Key": manifest_key, "Role": "cur-manifest", "Format": a.mode},
                    "requestedAt": "2026-11-28T00:00:01Z", "httpStatus": 200, "size": mpath.stat().st_size,
                    "sha256": sha256(mpath)})
    raw_bytes = 0
    gz_bytes = 0
    for n, key in enumerate(report_keys):
        p = objects / key
        raw_bytes += gunzip_size(p)
        gz_bytes += p.stat().st_size
        entries.append({"path": f"objects/{key}", "service": "s3", "operation": "GetObject",
                        "account": g.PAYER, "region": None,
                        "parameters": {"Bucket": BUCKET, "Key": key, "Role": "cur-report", "Part": str(n)},
                        "requestedAt": "2026-11-28T00:00:02Z", "httpStatus": 200, "size": p.stat().st_size,
                        "sha256": sha256(p)})
    manifest = {"version": 1, "collector": "billing", "runId": RUN_ID, "startedAt": "2026-11-28T00:00:00Z",
                "finishedAt": "2026-11-28T00:05:00Z", "entries": entries}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    summary = {"params": params, "rows": facts["rows"], "uncompressed_bytes": raw_bytes, "compressed_bytes": gz_bytes,
               "revision": rev.revision_id, "period": rev.period.label, "files": len(report_keys),
               "unblended": str(facts["unblended"])}
    stamp.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"gen_cur_set: {facts['rows']} rows, {raw_bytes / 1e6:.1f} MB uncompressed "
          f"({gz_bytes / 1e6:.1f} MB gzip)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
