#!/usr/bin/env python3
"""The operator's baseline for `cloudspool-transform` on Cost & Usage Reports:
a straightforward Python script (gzip + csv + json from the standard library)
that writes one _bulk action and one JSON document per CSV row, shaped like
cloudspool's billing documents:

  {"index":{"_index":"cloudspool-awsbilling-YYYY.MM-<revision>","_id":"<part>-<row>"}}
  {"@timestamp":<usage start>,"cloud":{"provider":"aws","account":{"id":..}},
   "cloudspool":{"billing_period":..,"revision":..,"report_file":..},
   "identity":{..},"bill":{..},"lineItem":{"UnblendedCost":1.23,..},...}

Columns are typed by the report manifest (numbers as JSON numbers, dates as
ISO 8601, maps as objects, the rest as strings); empty values are left out;
`category/Name` headers (legacy CUR) become nested objects.

usage: baseline_cur.py RAW_RUN_DIR OUT.ndjson [--stem awsbilling]
RAW_RUN_DIR is a raw billing run (manifest.json with the entries
Role=cur-manifest and Role=cur-report, objects/ beside it).
"""

import argparse
import csv
import gzip
import io
import json
import os
import re
import sys

NUMBER = {"bigdecimal", "optionalbigdecimal", "double", "decimal", "float", "integer", "int", "bigint", "long"}
DATE = {"datetime", "timestamp", "date"}


def kind(t: str) -> str:
    t = (t or "string").lower()
    if t in NUMBER or t.startswith("decimal"):
        return "number"
    if t in DATE:
        return "date"
    if t.startswith("map"):
        return "map"
    return "string"


def iso(text: str) -> str:
    if re.fullmatch(r"\d{4}-\d\d-\d\d", text):
        return text + "T00:00:00Z"
    if " " in text:
        text = text.replace(" ", "T")
    return text if text.endswith("Z") else text + "Z"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("raw_run")
    ap.add_argument("out")
    ap.add_argument("--stem", default="awsbilling")
    a = ap.parse_args()
    with open(os.path.join(a.raw_run, "manifest.json")) as f:
        run = json.load(f)
    m_entry = next(e for e in run["entries"] if e["parameters"].get("Role") == "cur-manifest")
    fmt = m_entry["parameters"].get("Format", "legacy")
    with open(os.path.join(a.raw_run, m_entry["path"])) as f:
        manifest = json.load(f)
    types = {}
    for c in manifest.get("columns", []):
        name = c["name"]
        if fmt == "legacy" and c.get("category") and not name.startswith(c["category"] + "/"):
            name = f"{c['category']}/{name}"
        types[name] = kind(c.get("type", "string"))
    revision = manifest.get("assemblyId") if fmt == "legacy" else manifest.get("executionId") or manifest.get("assemblyId")
    start = manifest["billingPeriod"]["start"]
    period = f"{start[0:4]}.{start[4:6]}" if start[8:9] == "T" else f"{start[0:4]}.{start[5:7]}"
    period_start = f"{period[0:4]}-{period[5:7]}-01T00:00:00Z"
    safe = "".join(ch if (ch.isascii() and ch.isalnum()) or ch in "-_" else "-" for ch in revision.lower())[:80]
    index = f"cloudspool-{a.stem}-{period}-{safe}"
    reports = sorted((e for e in run["entries"] if e["parameters"].get("Role") == "cur-report"),
                     key=lambda e: int(e["parameters"].get("Part", "0")))
    rows_out = 0
    with open(a.out, "w", encoding="utf-8") as out:
        for part, entry in enumerate(reports):
            key = entry["parameters"].get("Key", entry["path"])
            path = os.path.join(a.raw_run, entry["path"])
            raw = gzip.open(path, "rb") if key.endswith(".gz") else open(path, "rb")
            with io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
                reader = csv.reader(text)
                header = next(reader)
                plan = []
                for name in header:
                    group, _, field = name.partition("/") if fmt == "legacy" and "/" in name else (None, "", name)
                    plan.append((group, field, types.get(name, "string")))
                start_col = next((i for i, h in enumerate(header)
                                  if h in ("lineItem/UsageStartDate", "line_item_usage_start_date")), None)
                acct_col = next((i for i, h in enumerate(header)
                                 if h in ("lineItem/UsageAccountId", "line_item_usage_account_id")), None)
                # provenance: the raw run and the file inside it (as cloudspool writes it)
                spool = {"billing_period": period, "revision": revision, "report_file": key,
                         "run_id": run["runId"], "raw_file": entry["path"]}
                for n, row in enumerate(reader, 1):
                    if len(row) != len(header):
                        raise SystemExit(f"{key}: row {n} has {len(row)} columns, the header has {len(header)}")
                    cloud = {"provider": "aws"}
                    if acct_col is not None and row[acct_col]:
                        cloud["account"] = {"id": row[acct_col]}
                    doc = {"@timestamp": iso(row[start_col]) if start_col is not None and row[start_col] else period_start,
                           "cloud": cloud, "cloudspool": spool}
                    for (group, field, k), value in zip(plan, row):
                        if value == "":
                            continue
                        if k == "number":
                            v = float(value)
                        elif k == "date":
                            v = iso(value)
                        elif k == "map":
                            try:
                                v = json.loads(value)
                            except ValueError:
                                v = value
                            if not isinstance(v, dict):
                                v = value
                        else:
                            v = value
                        if group is None:
                            doc[field] = v
                        else:
                            doc.setdefault(group, {})[field] = v
                    out.write(json.dumps({"index": {"_index": index, "_id": f"{part}-{n}"}}, separators=(",", ":")))
                    out.write("\n")
                    out.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")))
                    out.write("\n")
                    rows_out += 1
        out.flush()
        os.fsync(out.fileno())
    print(json.dumps({"records": rows_out}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
