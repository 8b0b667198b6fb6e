#!/usr/bin/env python3
"""The operator's baseline for `cloudspool-transform` on CloudTrail: a
straightforward Python script (gzip + json from the standard library) that
writes the same Elasticsearch _bulk lines cloudspool writes:

  {"index":{"_index":"awscli-trail-YYYY.MM.DD","_id":<eventID>}}
  {"@timestamp":..,"cloud":{"provider":"aws","account":{"id":..},"region":..},
   "cloudspool":{"log_file":<key>,"run_id":<raw run>,"raw_file":<path in the run>,
                 "payload_text":"requestParameters={...} ..."}, <the record's members>}

usage: baseline_cloudtrail.py RAW_RUN_DIR OUT.ndjson [--stem awscli-trail]

RAW_RUN_DIR holds manifest.json and objects/ (the spool's raw run layout).
The output is flushed and fsync'ed at the end, as cloudspool does with its files.
"""

import argparse
import gzip
import json
import os
import sys
from datetime import datetime, timezone

FREE_FORM = ("requestParameters", "responseElements", "additionalEventData", "serviceEventDetails",
             "insightDetails", "edgeDeviceDetails")
MAX_PAYLOAD_TEXT = 256 * 1024


def dumps(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def cut(data: bytes, budget: int) -> bytes:
    """At most budget bytes of data, not splitting a UTF-8 character (as cloudspool does)."""
    if len(data) <= budget:
        return data
    end = max(budget, 0)
    while end > 0 and data[end] & 0xC0 == 0x80:
        end -= 1
    return data[:end]


def payload_text(record: dict) -> str:
    budget = MAX_PAYLOAD_TEXT
    parts = []
    for key, value in record.items():
        if key not in FREE_FORM or value is None:
            continue
        if budget <= 0:
            break
        k = cut(key.encode(), budget)
        budget -= len(k)
        v = cut(dumps(value).encode(), budget)
        budget -= len(v)
        parts.append(k + b"=" + v)
    return b" ".join(parts).decode(errors="ignore")


def transform_file(path: str, key: str, account, region, stem: str, out, provenance: dict) -> int:
    with gzip.open(path, "rb") as f:
        data = json.load(f)
    n = 0
    for record in data["Records"]:
        when = datetime.fromisoformat(record["eventTime"]).astimezone(timezone.utc)
        action = {"index": {"_index": f"{stem}-{when:%Y.%m.%d}", "_id": record["eventID"]}}
        cloud = {"provider": "aws"}
        acct = record.get("recipientAccountId") or account
        if acct:
            cloud["account"] = {"id": acct}
        reg = record.get("awsRegion") or region
        if reg:
            cloud["region"] = reg
        spool = {"log_file": key, **provenance}
        text = payload_text(record)
        if text:
            spool["payload_text"] = text
        doc = {"@timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "cloud": cloud, "cloudspool": spool}
        doc.update(record)
        out.write(dumps(action))
        out.write("\n")
        out.write(dumps(doc))
        out.write("\n")
        n += 1
    return n


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("raw_run")
    ap.add_argument("out")
    ap.add_argument("--stem", default="awscli-trail")
    a = ap.parse_args()
    with open(os.path.join(a.raw_run, "manifest.json")) as f:
        manifest = json.load(f)
    records = 0
    with open(a.out, "w", encoding="utf-8") as out:
        for e in manifest["entries"]:
            key = e["parameters"].get("Key", e["path"])
            records += transform_file(os.path.join(a.raw_run, e["path"]), key, e.get("account"), e.get("region"),
                                      a.stem, out, {"run_id": manifest["runId"], "raw_file": e["path"]})
        out.flush()
        os.fsync(out.fileno())
    print(json.dumps({"records": records}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
