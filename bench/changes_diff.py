#!/usr/bin/env python3
"""Time and peak memory of the inventory's change feed at 100,000 resources.

Writes two raw inventory runs of one account/region by hand (DescribeInstances pages of N
instances, in the XML EC2 answers with), the second with 1% of the instances changed (instance
type), 0.5% gone and 0.5% new; transforms the first (no previous state: no changes), then the
second (the diff against the state of the first), each with /usr/bin/time -v, and prints the
seconds, peak RSS, the changes found and the size of the state file. Loopback only: no peer.

    python3 bench/changes_diff.py [--instances 100000] [--bin-dir .build/release]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ACCOUNT, REGION = "111122223333", "eu-west-1"
PAGE = 1000


def instance_xml(n: int, itype: str) -> str:
    iid = f"i-{n:017x}"
    return (f"<item><instanceId>{iid}</instanceId><imageId>ami-00000000000000001</imageId>"
            f"<instanceState><code>16</code><name>running</name></instanceState><instanceType>{itype}</instanceType>"
            f"<launchTime>2026-01-01T00:00:00.000Z</launchTime><privateIpAddress>10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}</privateIpAddress>"
            f"<subnetId>subnet-0000000000000001</subnetId><vpcId>vpc-0000000000000001</vpcId>"
            f"<groupSet><item><groupId>sg-00000000000000001</groupId><groupName>web</groupName></item></groupSet>"
            f"<tagSet><item><key>Name</key><value>host-{n}</value></item><item><key>team</key><value>t{n % 7}</value></item></tagSet></item>")


def write_run(spool: Path, run_id: str, ids: list, changed: set) -> None:
    run = spool / "raw" / "inventory" / run_id
    entries = []
    for p in range(0, len(ids), PAGE):
        chunk = ids[p:p + PAGE]
        items = "".join(instance_xml(n, "m5.large" if n in changed else "t3.micro") for n in chunk)
        token = f"<nextToken>t{p + PAGE}</nextToken>" if p + PAGE < len(ids) else ""
        body = (f'<?xml version="1.0" encoding="UTF-8"?><DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                f"<reservationSet><item><reservationId>r-{p:017x}</reservationId><ownerId>{ACCOUNT}</ownerId><groupSet/>"
                f"<instancesSet>{items}</instancesSet></item></reservationSet>{token}</DescribeInstancesResponse>").encode()
        rel = f"responses/{ACCOUNT}/{REGION}/ec2/DescribeInstances-{p // PAGE + 1:04d}.xml"
        (run / rel).parent.mkdir(parents=True, exist_ok=True)
        (run / rel).write_bytes(body)
        entries.append({"account": ACCOUNT, "httpStatus": 200, "operation": "DescribeInstances", "parameters": {"MaxResults": "1000"},
                        "path": rel, "region": REGION, "requestedAt": f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}T00:00:00Z",
                        "service": "ec2", "sha256": hashlib.sha256(body).hexdigest(), "size": len(body)})
    (run / "manifest.json").write_text(json.dumps({"collector": "inventory", "runId": run_id, "startedAt": "x", "finishedAt": "x",
                                                   "version": 1, "entries": entries}))


def measure(cmd: list) -> dict:
    r = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1)) / 1024
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", r.stderr).group(1)
    secs = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall.split(":"))))
    return {"rc": r.returncode, "seconds": secs, "rss_mb": rss, "summary": r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr[-300:]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=100_000)
    ap.add_argument("--bin-dir", default=str(Path(__file__).resolve().parents[1] / ".build" / "release"))
    a = ap.parse_args()
    tool = Path(a.bin_dir) / "cloudspool-transform"
    work = Path(tempfile.mkdtemp(prefix="cloudspool-changes-bench-"))
    try:
        spool = work / "spool"
        cfg = work / "cloudspool.yaml"
        cfg.write_text(f"spool: {spool}\ninventory:\n  accounts: ['{ACCOUNT}']\n  regions: [{REGION}]\n  lookup_events: 0\n")
        n = a.instances
        first = list(range(n))
        gone = set(range(0, n, 200))                       # 0.5% deleted
        second = [i for i in first if i not in gone] + list(range(n, n + len(gone)))   # as many created
        changed = set(range(1, n, 100))                    # 1% modified
        write_run(spool, "20260101T000000Z-00000001", first, set())
        write_run(spool, "20260102T000000Z-00000002", second, changed - gone)
        # transform one run at a time: hide the second while the first is transformed
        hidden = work / "second"
        shutil.move(str(spool / "raw" / "inventory" / "20260102T000000Z-00000002"), hidden)
        r1 = measure([str(tool), "--config", str(cfg)])
        shutil.move(str(hidden), str(spool / "raw" / "inventory" / "20260102T000000Z-00000002"))
        r2 = measure([str(tool), "--config", str(cfg)])
        state = spool / "state" / "inventory-current" / f"{ACCOUNT}-{REGION}.json"
        counts = {}
        for f in (spool / "ndjson" / "changes").glob("20260102*.ndjson"):
            for line in f.read_bytes().splitlines():
                d = json.loads(line)
                if "change" in d:
                    counts[d["change"]["action"]] = counts.get(d["change"]["action"], 0) + 1
        want = {"created": len(gone), "deleted": len(gone), "modified": len(changed - gone)}
        print(f"instances: {n:,} (then {len(gone):,} deleted, {len(gone):,} created, {len(changed - gone):,} modified)")
        print(f"first collection (no state yet):  {r1['seconds']:.1f} s, peak RSS {r1['rss_mb']:.0f} MB, exit {r1['rc']}")
        print(f"second collection (the diff):     {r2['seconds']:.1f} s, peak RSS {r2['rss_mb']:.0f} MB, exit {r2['rc']}")
        print(f"changes found: {counts} (expected {want}): {'ok' if counts == want else 'WRONG'}")
        print(f"state file: {state.stat().st_size / 1e6:.1f} MB")
        return 0 if counts == want and r1["rc"] == 0 and r2["rc"] == 0 else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
