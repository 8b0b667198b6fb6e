#!/usr/bin/env python3
"""The inventory and S3 search transforms at 1 worker and at every core
(`transform.workers`): wall time, peak RSS, documents/s, and whether the NDJSON
is the same for both worker counts.

Two raw runs are made once, then transformed again and again in fresh spools:

 * inventory: an organization of --accounts x --regions from bench/orgsim.py
   (loopback, 1-2 ms latency, no throttling), with `lookup_events` (the
   instances' CloudTrail events, which the change feed joins);
 * S3 search: one bucket of --s3-objects objects in moto (run in this process,
   the objects put straight into its backend), listed by `cloudspool-fetch`.

    python3 bench/transform_workers.py                       # 50 x 17 and 200,000 objects, 3 runs each
    python3 bench/transform_workers.py --accounts 100 --s3-objects 500000 --runs 5

Needs the release binaries (`swift build -c release`) or CLOUDSPOOL_BIN_DIR,
moto[server] (pip) and GNU time. Loopback only. Results: a table on stdout and
bench-data/results/transform-workers.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
import orgsim  # noqa: E402


def bin_dir() -> Path:
    d = os.environ.get("CLOUDSPOOL_BIN_DIR")
    for candidate in ([Path(d)] if d else []) + [REPO / ".build" / "release"]:
        if (candidate / "cloudspool-transform").exists():
            return candidate
    sys.exit("cloudspool-transform not found: swift build -c release, or set CLOUDSPOOL_BIN_DIR")


def clean_env(home: Path, url: str = "") -> dict:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": str(home / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(home / "none"), "NO_PROXY": "127.0.0.1"}
    if url:
        env["AWS_ENDPOINT_URL"] = url
    return env


def fetch(work: Path, config: dict, collector: str, env: dict) -> None:
    work.mkdir(parents=True, exist_ok=True)
    (work / "cloudspool.yaml").write_text(json.dumps({"spool": str(work / "spool"), **config}))
    p = subprocess.run([str(bin_dir() / "cloudspool-fetch"), "--config", str(work / "cloudspool.yaml"), "--collector", collector,
                        "--log-level", "warning"], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"fetch --collector {collector} failed (exit {p.returncode}):\n{p.stdout}{p.stderr[-3000:]}")
    print(f"  {collector}: {p.stdout.strip().splitlines()[-1]}", flush=True)


def inventory_spool(args, work: Path) -> Path:
    sim = subprocess.Popen([sys.executable, str(REPO / "bench" / "orgsim.py"), "--accounts", str(args.accounts), "--regions", str(args.regions),
                            "--latency-min", "0.001", "--latency-max", "0.002", "--rate-scale", "1000"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = json.loads(sim.stdout.readline())["url"]
        env = clean_env(work, url) | {"AWS_ACCESS_KEY_ID": "AKIAMANAGEMENT0000001", "AWS_SECRET_ACCESS_KEY": "management-secret"}
        fetch(work, {"aws": {"region": "us-east-1", "timeout_seconds": 30},
                     "inventory": {"organizations": True, "regions": orgsim.REGIONS[:args.regions], "concurrency": 128,
                                   "lookup_events": args.lookup_events}}, "inventory", env)
    finally:
        sim.terminate()
        sim.wait()
    return work / "spool"


def s3_spool(args, work: Path) -> Path:
    from moto.server import ThreadedMotoServer
    from moto.s3.models import s3_backends
    import boto3
    from botocore.config import Config

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        bucket = "bench-objects"
        boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing",
                     config=Config(s3={"addressing_style": "path"})).create_bucket(Bucket=bucket)
        backend = s3_backends["123456789012"]["aws"]
        for i in range(args.s3_objects):
            backend.put_object(bucket, f"logs/{i % 97:02d}/2026/11/{i % 30 + 1:02d}/part-{i:07d}.json.gz", b"z" * (i % 7), disable_notification=True)
        env = clean_env(work, url) | {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        fetch(work, {"aws": {"region": "us-east-1", "timeout_seconds": 120}, "inventory": {"accounts": ["123456789012"], "regions": ["us-east-1"]},
                     "s3": {"buckets": [bucket]}}, "s3", env)
    finally:
        server.stop()
    return work / "spool"


def transform_once(source: Path, collector: str, workers: int, work: Path) -> dict:
    """A fresh spool holding only `source`'s raw runs of `collector` (hard links), transformed once."""
    shutil.rmtree(work, ignore_errors=True)
    (work / "spool" / "raw").mkdir(parents=True)
    subprocess.run(["cp", "-al", str(source / "raw" / collector), str(work / "spool" / "raw" / collector)], check=True)
    config = work / "cloudspool.yaml"
    config.write_text(json.dumps({"spool": str(work / "spool"), "retention": {"raw_days": 36500, "ndjson_days": 36500},
                                  "transform": {"workers": workers}}))
    timing = work / "time.txt"
    started = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-v", "-o", str(timing), str(bin_dir() / "cloudspool-transform"), "--config", str(config),
                        "--log-level", "warning"], env=clean_env(work), capture_output=True, text=True)
    wall = time.monotonic() - started
    if p.returncode != 0:
        sys.exit(f"transform of {collector} at {workers} workers failed (exit {p.returncode}):\n{p.stdout}{p.stderr[-3000:]}")
    t = timing.read_text()
    files = sorted((work / "spool" / "ndjson" / collector).glob("*.ndjson"))
    digest = hashlib.sha256()
    documents = 0
    for f in files:
        with f.open("rb") as fh:
            for line in fh:
                digest.update(line)
                documents += 1
    return {"wall_s": wall, "rss_mb": int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024,
            "cpu_s": float(re.search(r"User time \(seconds\): ([\d.]+)", t).group(1)) + float(re.search(r"System time \(seconds\): ([\d.]+)", t).group(1)),
            "documents": documents // 2, "sha256": digest.hexdigest()}


def measure(source: Path, collector: str, workers: int, runs: int, work: Path) -> dict:
    results = [transform_once(source, collector, workers, work) for _ in range(runs)]
    walls = [r["wall_s"] for r in results]
    return {"collector": collector, "workers": workers, "runs": runs,
            "wall_median_s": statistics.median(walls), "wall_min_s": min(walls), "wall_max_s": max(walls),
            "rss_median_mb": statistics.median(r["rss_mb"] for r in results), "cpu_median_s": statistics.median(r["cpu_s"] for r in results),
            "documents": results[0]["documents"], "sha256": {r["sha256"] for r in results}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=50)
    ap.add_argument("--regions", type=int, default=17)
    ap.add_argument("--lookup-events", type=int, default=20)
    ap.add_argument("--s3-objects", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=3, help="transforms per collector and worker count (the table shows medians)")
    ap.add_argument("--only", default="inventory,s3", help="inventory, s3 or both")
    ap.add_argument("--inventory-spool", default=None, help="use this spool's inventory raw runs (e.g. one kept by org_scale.py --keep)")
    ap.add_argument("--work-dir", default=None)
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="cloudspool-workers-", dir=args.work_dir))
    rows = []
    try:
        sources = {}
        print("making the raw runs ...", flush=True)
        if "inventory" in args.only:
            sources["inventory"] = Path(args.inventory_spool) if args.inventory_spool else inventory_spool(args, work / "inventory-source")
        if "s3" in args.only:
            sources["s3"] = s3_spool(args, work / "s3-source")
        for collector, source in sources.items():
            for workers in sorted({1, cores}):
                print(f"transforming {collector} at {workers} worker(s), {args.runs} runs ...", flush=True)
                rows.append(measure(source, collector, workers, args.runs, work / "run"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print("| transform | workers | wall time, median (min-max) | documents/s | peak RSS | CPU | same NDJSON as 1 worker |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    first = {}
    for r in rows:
        first.setdefault(r["collector"], r)
        base = first[r["collector"]]
        same = len(r["sha256"]) == 1 and r["sha256"] == base["sha256"]
        speed = f" ({base['wall_median_s'] / r['wall_median_s']:.2f}x)" if r is not base else ""
        print(f"| {r['collector']} ({r['documents']:,} documents) | {r['workers']} | {r['wall_median_s']:.2f} s ({r['wall_min_s']:.2f}-{r['wall_max_s']:.2f})"
              f"{speed} | {r['documents'] / r['wall_median_s']:,.0f} | {r['rss_median_mb']:.0f} MB | {r['cpu_median_s']:.2f} s | {'yes' if same else 'NO'} |")
    out = REPO / "bench-data" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "transform-workers.json").write_text(json.dumps([r | {"sha256": sorted(r["sha256"])} for r in rows], indent=1))
    if any(len(r["sha256"]) != 1 or r["sha256"] != first[r["collector"]]["sha256"] for r in rows):
        sys.exit("the NDJSON differs between runs or worker counts")


if __name__ == "__main__":
    main()
