#!/usr/bin/env python3
"""The inventory of an organization of N accounts x R regions, against the
stand-in of bench/orgsim.py (latency, AWS-like throttling, pages), at several
`inventory.concurrency` values.

For each run it measures, around one `cloudspool-fetch --collector inventory`
process: wall time, peak memory (GNU time's maximum resident set size), CPU
time, calls answered and calls/s, throttled answers (and whether any
throttling error was left unretried: the run's errors), resources answered and
resources/s, connections accepted, open at once, and per service.

    python3 bench/org_scale.py                                   # 1000 x 17 at 64 and 128, 100 x 17 at 4 and 16
    python3 bench/org_scale.py --accounts 1000 --concurrency 128
    python3 bench/org_scale.py --accounts 50 --concurrency 4,16,64,128 --rate-scale 0.1

Results: bench-data/org/<time>.json and a table on stdout. Loopback only.
It needs the release binaries (`swift build -c release`) or CLOUDSPOOL_BIN_DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
import orgsim  # noqa: E402


def binary() -> Path:
    d = os.environ.get("CLOUDSPOOL_BIN_DIR")
    for candidate in ([Path(d)] if d else []) + [REPO / ".build" / "release", REPO / ".build" / "debug"]:
        if (candidate / "cloudspool-fetch").exists():
            return candidate / "cloudspool-fetch"
    sys.exit("cloudspool-fetch not found: swift build -c release, or set CLOUDSPOOL_BIN_DIR")


def start_sim(args, accounts: int) -> tuple:
    cmd = [sys.executable, str(REPO / "bench" / "orgsim.py"), "--accounts", str(accounts), "--regions", str(args.regions),
           "--seed", str(args.seed), "--rate-scale", str(args.rate_scale),
           "--latency-min", str(args.latency_min), "--latency-max", str(args.latency_max)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    return p, json.loads(line)["url"]


def stats(url: str) -> dict:
    with urllib.request.urlopen(url + "/__stats", timeout=30) as r:
        return json.loads(r.read())


def run_once(args, accounts: int, concurrency: int, shard: str | None = None) -> dict:
    sim, url = start_sim(args, accounts)
    work = Path(tempfile.mkdtemp(prefix="cloudspool-org-", dir=args.work_dir))
    try:
        config = work / "cloudspool.yaml"
        inventory = {"organizations": True, "regions": orgsim.REGIONS[:args.regions], "concurrency": concurrency,
                     "lookup_events": args.lookup_events}
        if shard:
            inventory["shard"] = shard
        config.write_text(json.dumps({
            "spool": str(work / "spool"),
            "aws": {"region": "us-east-1", "max_retries": args.max_retries, "timeout_seconds": 30},
            "inventory": inventory,
        }))
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(work), "AWS_ACCESS_KEY_ID": "AKIAMANAGEMENT0000001",
               "AWS_SECRET_ACCESS_KEY": "management-secret", "AWS_ENDPOINT_URL": url, "AWS_EC2_METADATA_DISABLED": "true",
               "AWS_CONFIG_FILE": str(work / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(work / "none"), "NO_PROXY": "127.0.0.1"}
        timing = work / "time.txt"
        cmd = ["/usr/bin/time", "-v", "-o", str(timing), str(binary()), "--config", str(config), "--collector", "inventory"]
        started = time.monotonic()
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.monotonic() - started
        t = timing.read_text()
        rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
        cpu = float(re.search(r"User time \(seconds\): ([\d.]+)", t).group(1)) + float(re.search(r"System time \(seconds\): ([\d.]+)", t).group(1))
        s = stats(url)
        reports = sorted((work / "spool" / "runs" / "fetch").glob("*.json"))
        report = json.loads(reports[-1].read_text()) if reports else {"counts": {}, "errors": [p.stderr[-2000:]]}
        throttle_errors = [e for e in report["errors"] if re.search(r"Throttl|RequestLimitExceeded|Rate exceeded", e)]
        out = {
            "accounts": accounts, "regions": args.regions, "units": accounts * args.regions, "concurrency": concurrency, "shard": shard,
            "exit": p.returncode, "wall_s": round(wall, 1), "peak_rss_mb": round(rss_kb / 1024, 1), "cpu_s": round(cpu, 1),
            "calls": s["calls"], "calls_per_s": round(s["calls"] / wall, 1), "throttled": s["throttled"],
            "throttle_errors_left": len(throttle_errors), "errors": len(report["errors"]), "first_errors": report["errors"][:3],
            "resources": s["resources"], "resources_per_s": round(s["resources"] / wall, 1),
            "connections": s["connections"], "max_open_connections": s["max_open_connections"],
            "max_open_by_service": s["max_open_by_service"], "max_in_flight": s["max_in_flight"],
            "stored_calls": report["counts"].get("calls", 0), "stored_bytes": report["counts"].get("bytes", 0),
            "summary": p.stdout.strip().splitlines()[-1] if p.stdout.strip() else "",
        }
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            out["spool"] = str(work / "spool")
        return out
    finally:
        sim.terminate()
        sim.wait()


def table(rows: list) -> str:
    head = ["accounts x regions", "conc.", "exit", "wall", "calls", "calls/s", "resources/s", "peak RSS", "CPU",
            "throttled (left)", "conns (max open)", "max open per service"]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in rows:
        per = ", ".join(f"{k} {v}" for k, v in sorted(r["max_open_by_service"].items()))
        lines.append(" | ".join([
            f"{r['accounts']} x {r['regions']}" + (f" (shard {r['shard']})" if r.get("shard") else ""), str(r["concurrency"]), str(r["exit"]),
            f"{r['wall_s']:.0f} s", f"{r['calls']:,}", f"{r['calls_per_s']:.0f}", f"{r['resources_per_s']:,.0f}", f"{r['peak_rss_mb']:.0f} MB",
            f"{r['cpu_s']:.0f} s", f"{r['throttled']} ({r['throttle_errors_left']})", f"{r['connections']:,} ({r['max_open_connections']})", per]))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=None, help="accounts for every run (default: 1000 for concurrency >= 64, 100 below)")
    ap.add_argument("--small-accounts", type=int, default=100, help="accounts of the runs below --full-from")
    ap.add_argument("--full-from", type=int, default=64, help="concurrency from which the whole organization is collected")
    ap.add_argument("--regions", type=int, default=17)
    ap.add_argument("--concurrency", default="4,16,64,128")
    ap.add_argument("--shards", type=int, default=0, help="also run the organization as N shards one after the other (at the largest concurrency)")
    ap.add_argument("--lookup-events", type=int, default=100)
    ap.add_argument("--max-retries", type=int, default=5)
    ap.add_argument("--rate-scale", type=float, default=1.0)
    ap.add_argument("--latency-min", type=float, default=0.10)
    ap.add_argument("--latency-max", type=float, default=0.20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work-dir", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the spools")
    args = ap.parse_args()
    rows = []
    levels = [int(c) for c in args.concurrency.split(",")]
    for c in levels:
        accounts = args.accounts or (1000 if c >= args.full_from else args.small_accounts)
        print(f"running {accounts} accounts x {args.regions} regions at concurrency {c} ...", file=sys.stderr, flush=True)
        rows.append(run_once(args, accounts, c))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    if args.shards:
        accounts = args.accounts or 1000
        for k in range(1, args.shards + 1):
            rows.append(run_once(args, accounts, max(levels), shard=f"{k}/{args.shards}"))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    out_dir = REPO / "bench-data" / "org"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    meta = {"expected_full": orgsim.expected(argparse.Namespace(seed=args.seed, regions=args.regions, accounts=1000, active_share=0.5,
                                                                  mean_instances=15.0, lookup_events=args.lookup_events)),
            "latency": [args.latency_min, args.latency_max], "rate_scale": args.rate_scale, "nproc": os.cpu_count()}
    (out_dir / f"{stamp}.json").write_text(json.dumps({"meta": meta, "runs": rows}, indent=2))
    print(table(rows))


if __name__ == "__main__":
    main()
