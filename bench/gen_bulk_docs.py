#!/usr/bin/env python3
"""Generate the load benchmark's input: N CloudTrail documents in the
Elasticsearch _bulk format cloudspool-transform writes (action line + document
line, one index per UTC day, _id = eventID), split into NDJSON files like
transform's output.

The documents are *compact* CloudTrail documents (about 470 bytes with the
action line): @timestamp and cloud.* as cloudspool adds them, and eventSource,
eventName, eventType, eventID, sourceIPAddress, recipientAccountId,
userIdentity.type, readOnly of a real event. Full documents (about 2 KB, with
payload_text) cost osmem-server about 26 KB of memory and 0.6 ms of CPU each,
so a million of them neither fit in this machine's 24 GB nor load in minutes;
these cost about 13 KB and 0.15 ms.

Event shapes come from scripts/gen_cloudtrail.py's catalog (15 event types);
every document gets its own eventID and eventTime. Deterministic for a seed.

usage: gen_bulk_docs.py --out DIR [--docs 1000000] [--stem benchtrail] [--file-bytes 67108864]
Writes DIR/ndjson/*.ndjson and DIR/dataset.json (docs, bytes, files).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts"))
import gen_cloudtrail as g  # noqa: E402

UTC = timezone.utc
def dumps(v) -> str:
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def templates(seed: int, n: int) -> list:
    """n compact records of varied event types (eventID/eventTime are set per document)."""
    rng = random.Random(seed)
    accts = g._gen_accounts(rng, 3)
    out = []
    start = datetime(2026, 11, 20, tzinfo=UTC)
    for i in range(n):
        a = accts[i % 3]
        r = ["eu-west-1", "us-east-1"][i // 3 % 2]
        rec = g.random_event(g._Ctx(rng, accts), a, r, start)
        out.append({"eventSource": rec["eventSource"], "eventName": rec["eventName"], "eventType": rec["eventType"],
                    "eventID": "", "sourceIPAddress": rec["sourceIPAddress"],
                    "recipientAccountId": rec["recipientAccountId"], "awsRegion": rec["awsRegion"],
                    "userIdentity": {"type": rec["userIdentity"].get("type", "AWSService")},
                    "readOnly": rec["readOnly"]})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--stem", default="benchtrail")
    ap.add_argument("--file-bytes", type=int, default=64 << 20)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args(argv)
    out = Path(a.out)
    params = {"docs": a.docs, "stem": a.stem, "file_bytes": a.file_bytes, "seed": a.seed, "generator": 2}
    stamp = out / "dataset.json"
    if stamp.exists():
        try:
            if json.loads(stamp.read_text()).get("params") == params:
                print(f"gen_bulk_docs: {out} is up to date", file=sys.stderr)
                return 0
        except ValueError:
            pass
    if out.exists():
        shutil.rmtree(out)
    (out / "ndjson").mkdir(parents=True)

    rng = random.Random(a.seed)
    tpl = templates(a.seed, 4000)
    t0 = datetime(2026, 11, 20, tzinfo=UTC).timestamp()
    span = 2 * 86400
    part = 0
    size = 0
    total = 0
    f = open(out / "ndjson" / f"20261128T000000Z-00000002.{part:04d}.ndjson", "w", encoding="utf-8")
    for i in range(a.docs):
        rec = dict(tpl[rng.randrange(len(tpl))])
        when = datetime.fromtimestamp(t0 + span * i // a.docs, UTC)
        stamp_s = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        eid = "%08x-%04x-4%03x-8%03x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
                                               rng.getrandbits(12), rng.getrandbits(48))
        rec["eventID"] = eid
        region = rec.pop("awsRegion")
        doc = {"@timestamp": stamp_s,
               "cloud": {"provider": "aws", "account": {"id": rec["recipientAccountId"]}, "region": region}}
        doc.update(rec)
        line = '{"index":{"_index":"%s-%s","_id":"%s"}}\n%s\n' % (a.stem, when.strftime("%Y.%m.%d"), eid, dumps(doc))
        n = len(line.encode())
        if size and size + n > a.file_bytes:
            f.close()
            part += 1
            size = 0
            f = open(out / "ndjson" / f"20261128T000000Z-00000002.{part:04d}.ndjson", "w", encoding="utf-8")
        f.write(line)
        size += n
        total += n
    f.close()
    summary = {"params": params, "docs": a.docs, "bytes": total, "files": part + 1}
    stamp.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"gen_bulk_docs: {a.docs} documents, {total / 1e6:.1f} MB in {part + 1} files", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
