#!/usr/bin/env python3
"""The monitoring join at scale: fetch and transform time and peak memory for 1,000 vs 100,000
monitoring hosts (or the sizes given), next to an inventory run of 200 EC2 instances.

    python3 bench/monitoring_hosts.py                  # 1000 and 100000 hosts, 3 transforms each
    python3 bench/monitoring_hosts.py --hosts 1000,20000,100000 --runs 5

The hosts come from the livestatus stand-in (Tests/integration/livestatus_stub.py, many_hosts:
every 10th host carries an ec2_instance_id custom variable) on 127.0.0.1; the inventory run is
written by this script (one DescribeInstances answer in the EC2 wire format, instance ids
i-<10*k in hex>, so the first hosts match instances by custom variable and the rest match
none and get an unmatched-host document each). Each transform is a `cloudspool-transform
--replay` of that inventory run, which joins it with the monitoring run again, under GNU
`/usr/bin/time -v` (wall time and maximum resident set size). Release binaries are used when
built (`swift build -c release`), else the debug ones (slower; said in the output);
CLOUDSPOOL_BIN_DIR overrides.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "Tests" / "integration"))

from livestatus_stub import LivestatusStub, many_hosts  # noqa: E402

ACCOUNT = "123456789012"
REGION = "eu-west-1"
RUN_ID = "20261130T120000Z-00000001"


def bin_dir() -> tuple:
    if os.environ.get("CLOUDSPOOL_BIN_DIR"):
        return Path(os.environ["CLOUDSPOOL_BIN_DIR"]), "CLOUDSPOOL_BIN_DIR"
    for kind in ("release", "debug"):
        d = REPO / ".build" / kind
        if (d / "cloudspool-transform").exists():
            return d, kind
    sys.exit("no cloudspool binaries: swift build -c release (or set CLOUDSPOOL_BIN_DIR)")


def describe_instances(n: int) -> bytes:
    items = []
    for k in range(n):
        ip = f"10.{200 + k // 65536 % 50}.{k // 256 % 256}.{k % 256}"
        items.append(
            f"<item><reservationId>r-{k:017x}</reservationId><ownerId>{ACCOUNT}</ownerId><groupSet/><instancesSet><item>"
            f"<instanceId>i-{10 * k:017x}</instanceId><imageId>ami-12c6146b</imageId>"
            f"<instanceState><code>16</code><name>running</name></instanceState>"
            f"<privateDnsName>ip-{ip.replace('.', '-')}.{REGION}.compute.internal</privateDnsName><dnsName/>"
            f"<instanceType>t3.micro</instanceType><launchTime>2026-11-29T03:55:13.000Z</launchTime>"
            f"<privateIpAddress>{ip}</privateIpAddress>"
            f"<tagSet><item><key>Name</key><value>bench-{k}</value></item></tagSet>"
            f"</item></instancesSet></item>")
    return ('<?xml version="1.0" encoding="utf-8"?>\n<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15">'
            f"<requestId>bench</requestId><reservationSet>{''.join(items)}</reservationSet></DescribeInstancesResponse>").encode()


def write_inventory_run(spool: Path, instances: int) -> Path:
    import hashlib
    run = spool / "raw" / "inventory" / RUN_ID
    path = f"responses/{ACCOUNT}/{REGION}/ec2/DescribeInstances-0001.xml"
    body = describe_instances(instances)
    (run / path).parent.mkdir(parents=True)
    (run / path).write_bytes(body)
    manifest = {"version": 1, "collector": "inventory", "runId": RUN_ID, "startedAt": "2026-11-30T12:00:00Z",
                "finishedAt": "2026-11-30T12:00:05Z",
                "entries": [{"path": path, "service": "ec2", "operation": "DescribeInstances", "account": ACCOUNT, "region": REGION,
                             "parameters": {}, "requestedAt": "2026-11-30T12:00:01Z", "httpStatus": 200, "size": len(body),
                             "sha256": hashlib.sha256(body).hexdigest()}]}
    (run / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return run


def gnu_time(cmd: list, env: dict) -> tuple:
    r = subprocess.run(["/usr/bin/time", "-v", *cmd], env=env, capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1)) / 1024
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", r.stderr).group(1)
    seconds = sum(float(x) * 60 ** k for k, x in enumerate(reversed(wall.split(":"))))
    return seconds, rss, r.stdout


def measure(bins: Path, hosts: int, instances: int, runs: int, work: Path) -> dict:
    d = work / f"hosts-{hosts}"
    spool = d / "spool"
    inventory = write_inventory_run(spool, instances)
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "HOME")}
    t = time.monotonic()
    with LivestatusStub(many_hosts(hosts)) as ls:
        stub_seconds = time.monotonic() - t
        config = d / "cloudspool.yaml"
        config.write_text(f"""spool: {spool}
inventory: {{accounts: ["{ACCOUNT}"], regions: [{REGION}], lookup_events: 0}}
monitoring:
  sources: [{{name: big, type: livestatus, address: "{ls.address}", timeout_seconds: 600}}]
  max_age_minutes: 10080
""")
        fetch_seconds, fetch_rss, _ = gnu_time([str(bins / "cloudspool-fetch"), "--config", str(config), "--collector", "monitoring"], env)
    # the monitoring run gets the inventory run's time, so that it is the one joined
    [mon] = list((spool / "raw" / "monitoring").iterdir())
    mon = mon.rename(mon.with_name(RUN_ID[:-8] + "0000000b"))
    answer = sum(f.stat().st_size for f in (mon / "responses").rglob("*") if f.is_file())
    times, peaks, line = [], [], ""
    for _ in range(runs):
        seconds, rss, out = gnu_time([str(bins / "cloudspool-transform"), "--config", str(config), "--replay", str(inventory)], env)
        times.append(seconds)
        peaks.append(rss)
        line = out.strip().splitlines()[-1]
    ndjson = sum(f.stat().st_size for f in (spool / "ndjson" / "inventory").glob("*.ndjson")) // runs
    counts = dict(re.findall(r"(\w+)=(\d+)", line))
    shutil.rmtree(d)
    return {"hosts": hosts, "instances": instances, "answer_bytes": answer, "fetch_seconds": fetch_seconds, "fetch_rss_mib": fetch_rss,
            "transform_seconds": statistics.median(times), "transform_rss_mib": max(peaks), "ndjson_bytes": ndjson,
            "monitored": int(counts.get("monitored", 0)), "unmatched": int(counts.get("monitoring_unmatched_hosts", 0)),
            "stub_build_seconds": stub_seconds}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hosts", default="1000,100000", help="host counts, comma separated")
    ap.add_argument("--instances", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3, help="transforms per size (the median time is shown)")
    a = ap.parse_args()
    bins, kind = bin_dir()
    work = Path(tempfile.mkdtemp(prefix="cloudspool-bench-monitoring-"))
    try:
        results = [measure(bins, int(n), a.instances, a.runs, work) for n in a.hosts.split(",")]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"binaries: {bins} ({kind}); {a.instances} EC2 instances; transform = median of {a.runs} (--replay of the inventory run)")
    print(f"{'hosts':>8} {'answer MB':>10} {'fetch s':>8} {'fetch RSS':>10} {'transform s':>12} {'transform RSS':>14} "
          f"{'NDJSON MB':>10} {'monitored':>10} {'unmatched':>10}")
    for r in results:
        print(f"{r['hosts']:>8} {r['answer_bytes'] / 1e6:>10.1f} {r['fetch_seconds']:>8.2f} {r['fetch_rss_mib']:>7.1f} MiB "
              f"{r['transform_seconds']:>12.2f} {r['transform_rss_mib']:>10.1f} MiB {r['ndjson_bytes'] / 1e6:>10.1f} "
              f"{r['monitored']:>10} {r['unmatched']:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
