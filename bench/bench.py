#!/usr/bin/env python3
"""cloudspool benchmarks: every stage against what an operator would use
instead, and against the machine's limit. Run through bench/run.sh.

Parts (bench/README.md explains each):
  transform   1. CloudTrail: cloudspool-transform vs `gzip -dc` and a Python gzip+json script (one core)
  cur         2. CUR: cloudspool-transform vs a Python csv+json script; peak memory 10 MB vs 1 GB report
  load        3. 1M documents: cloudspool-load vs opensearch-py streaming_bulk / parallel_bulk vs curl,
                 into osmem-server, and into a null _bulk sink (the client side's limit)
  fetch       4. inventory of an estate in moto_server: cloudspool-fetch vs one `aws` CLI process per call

Data is generated under bench-data/ (git-ignored) and reused while its
parameters do not change. Results: bench-data/results/<UTC time>.json and
.txt, and latest.json / latest.txt. Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO / "scripts"))

import peers  # noqa: E402
from connmeter import ConnMeter  # noqa: E402

PY = sys.executable
CT_RUN = "20261128T000000Z-00000001"
CUR_RUN = "20261128T000000Z-000000c0"
LOAD_STEM = "benchtrail"
BULK_MAX_BYTES = 5242880
BULK_MAX_DOCS = 5000
MB = 1e6
T0 = time.monotonic()


# ====================================================================== helpers

def log(msg: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def run_quiet(cmd, **kw) -> subprocess.CompletedProcess:
    cmd = [str(c) for c in cmd]
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return p


TIME = "/usr/bin/time"


def measure(cmd, env=None, cwd=None, stdout=None, one_core=False) -> dict:
    """Run cmd; wall time, peak RSS and CPU time (GNU time: its wait4 of the command and the
    children it waited for). Not os.wait4 from here: a child forked from this Python process
    carries this process's RSS into its ru_maxrss until it execs."""
    if one_core:
        cmd = ["taskset", "-c", "0", *cmd]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        t = time.perf_counter()
        p = subprocess.Popen([TIME, "-f", "%M %U %S", "-o", tf.name, *[str(c) for c in cmd]], env=env, cwd=cwd,
                             stdout=stdout if stdout is not None else out, stderr=err)
        p.wait()
        seconds = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        rss_kb, user, system = 0.0, 0.0, 0.0
        for line in tf.read().splitlines():   # "Command exited with non-zero status N" comes first on failure
            f = line.split()
            if len(f) == 3:
                try:
                    rss_kb, user, system = float(f[0]), float(f[1]), float(f[2])
                except ValueError:
                    pass
        return {"seconds": seconds, "rss_mb": rss_kb / 1024.0, "cpu_s": user + system,
                "rc": p.returncode, "stdout": out.read().decode(errors="replace"),
                "stderr": err.read().decode(errors="replace")}


def summary_fields(text: str) -> dict:
    """`cloudspool-x: ok: files=3 documents=51234 ...` -> {"files": "3", ...}."""
    for line in text.splitlines():
        if line.startswith("cloudspool-") and "=" in line:
            return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
    return {}


def link_tree(src: Path, dst: Path) -> None:
    """Hard-link copy (same file system): a fresh spool in milliseconds, data never copied."""
    run_quiet(["cp", "-al", str(src), str(dst)])


def fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def http(method: str, url: str, body: bytes = b"", ctype: str = "application/json", timeout: float = 120):
    req = urllib.request.Request(url, data=body if method in ("POST", "PUT") else None, method=method,
                                 headers={"Content-Type": ctype})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, json.loads(r.read() or b"{}")


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt_num(v, digits=1) -> str:
    if v is None:
        return "-"
    if abs(v) >= 10000:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def mb_file_sum(paths) -> int:
    return sum(os.path.getsize(p) for p in paths)


def bin_path(args, stage: str) -> Path:
    return Path(args.bin_dir) / f"cloudspool-{stage}"


def contender(name: str, runs: list, units: float, unit_name: str, mbytes: float = None, extra: dict = None) -> dict:
    """Aggregate runs (each with seconds, rss_mb, cpu_s, ok) into medians."""
    good = [r for r in runs if r.get("ok", True)]
    secs = med([r["seconds"] for r in good])
    row = {"name": name, "runs": len(runs), "ok_runs": len(good), "seconds": secs,
           "seconds_all": [round(r["seconds"], 3) for r in runs],
           "cpu_s": med([r.get("cpu_s") for r in good]), "rss_mb": max([r["rss_mb"] for r in good], default=None),
           "unit": unit_name, "units": units,
           "units_per_s": (units / secs) if (secs and units) else None,
           "mb_per_s": (mbytes / MB / secs) if (secs and mbytes) else None}
    if extra:
        row.update(extra)
    if len(good) < len(runs):
        row["failures"] = [r.get("error", "") for r in runs if not r.get("ok", True)][:3]
    return row


# ====================================================================== data

def ensure_data(args) -> None:
    data = Path(args.data)
    data.mkdir(parents=True, exist_ok=True)


def gen(cmd, what: str) -> None:
    log(f"data: {what}")
    p = subprocess.run([PY, *map(str, cmd)], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"generating {what} failed:\n{p.stderr[-3000:]}")
    if p.stderr.strip():
        log("      " + p.stderr.strip().splitlines()[-1])


# ====================================================================== 1. CloudTrail transform

def ct_spool(root: Path, ds: Path, manifest: dict = None, workers: int = None) -> Path:
    """A spool with one raw CloudTrail run (hard links to the data set), and its config."""
    fresh(root)
    run = root / "spool" / "raw" / "cloudtrail" / CT_RUN
    run.parent.mkdir(parents=True)
    if manifest is None:
        run.mkdir()
        link_tree(ds / "objects", run / "objects")
        shutil.copy(ds / "manifest.json", run / "manifest.json")
    else:
        for e in manifest["entries"]:
            dst = run / e["path"]
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.link(ds / e["path"], dst)
        (run / "manifest.json").write_text(json.dumps(manifest))
    cfg = root / "cloudspool.yaml"
    cfg.write_text(f"spool: {root / 'spool'}\nretention:\n  raw_days: 36500\n  ndjson_days: 36500\n"
                   + (f"transform:\n  workers: {workers}\n" if workers else ""))
    return cfg


def compare_ndjson(ours: list, theirs: Path) -> dict:
    """Line by line, parsed as JSON."""
    a_lines = []
    for p in ours:
        with open(p, encoding="utf-8") as f:
            a_lines.extend(f.read().splitlines())
    with open(theirs, encoding="utf-8") as f:
        b_lines = f.read().splitlines()
    res = {"lines_ours": len(a_lines), "lines_baseline": len(b_lines), "equal": len(a_lines) == len(b_lines),
           "byte_identical": a_lines == b_lines}
    if res["equal"]:
        for n, (x, y) in enumerate(zip(a_lines, b_lines)):
            if json.loads(x) != json.loads(y):
                res["equal"] = False
                res["first_difference"] = {"line": n + 1, "ours": x[:300], "baseline": y[:300]}
                break
    return res


def part_transform(args, out: dict) -> None:
    data = Path(args.data)
    ds = data / "cloudtrail"
    gen([BENCH / "gen_trail_set.py", "--out", ds, "--total-bytes", args.ct_bytes], "CloudTrail .json.gz files")
    info = json.loads((ds / "dataset.json").read_text())
    manifest = json.loads((ds / "manifest.json").read_text())
    files = [ds / e["path"] for e in manifest["entries"]]
    sizes = [e["size"] for e in manifest["entries"]]
    work = data / "work" / "transform"
    tool = bin_path(args, "transform")
    part = {"title": "1. transform, CloudTrail", "dataset": {**{k: v for k, v in info.items() if k != "params"},
                                                             "gzip_file_bytes_min": min(sizes),
                                                             "gzip_file_bytes_max": max(sizes)},
            "one_core": True}

    # Same output? (a sample of 4 files, parsed as JSON, line by line)
    sample = dict(manifest, entries=manifest["entries"][:4])
    cfg = ct_spool(work / "check", ds, sample)
    r = measure([tool, "--config", cfg])
    sample_dir = work / "check" / "spool" / "raw" / "cloudtrail" / CT_RUN
    py_out = work / "check" / "baseline.ndjson"
    p = measure([PY, BENCH / "baseline_cloudtrail.py", sample_dir, py_out])
    ours = sorted(glob.glob(str(work / "check" / "spool" / "ndjson" / "cloudtrail" / "*.ndjson")))
    if r["rc"] != 0 or p["rc"] != 0 or not ours:
        part["equality"] = {"equal": False, "error": (r["stderr"] + p["stderr"])[-500:]}
    else:
        part["equality"] = compare_ndjson(ours, py_out)
    log(f"transform/CloudTrail: same documents as the Python baseline on 4 files: {part['equality'].get('equal')}"
        f" (byte-identical: {part['equality'].get('byte_identical')})")

    for f in files:   # warm the page cache for every contender alike
        with open(f, "rb") as fh:
            while fh.read(1 << 20):
                pass
    runs = {"ours": [], "ours_all": [], "gzip": [], "python": []}
    out_bytes = None
    cores = os.cpu_count() or 1
    for i in range(args.runs):
        # one core (taskset, one worker) and every core (transform.workers = cores, no taskset)
        for key, one_core, workers in (("ours", True, 1), ("ours_all", False, cores)):
            cfg = ct_spool(work / "run", ds, workers=workers)
            r = measure([tool, "--config", cfg], one_core=one_core)
            s = summary_fields(r["stdout"])
            r["ok"] = r["rc"] == 0 and int(s.get("documents", -1)) == info["records"]
            if not r["ok"]:
                r["error"] = f"rc={r['rc']} {r['stdout'][-300:]} {r['stderr'][-300:]}"
            out_bytes = mb_file_sum(glob.glob(str(work / "run" / "spool" / "ndjson" / "cloudtrail" / "*.ndjson")))
            runs[key].append(r)
            shutil.rmtree(work / "run")
        with open(os.devnull, "wb") as devnull:
            g = measure(["gzip", "-dc", *files], stdout=devnull, one_core=True)
        g["ok"] = g["rc"] == 0
        runs["gzip"].append(g)
        py_out = work / "baseline.ndjson"
        p = measure([PY, BENCH / "baseline_cloudtrail.py", ds, py_out], one_core=True)
        p["ok"] = p["rc"] == 0 and json.loads(p["stdout"] or "{}").get("records") == info["records"]
        if not p["ok"]:
            p["error"] = p["stderr"][-300:]
        py_out.unlink(missing_ok=True)
        runs["python"].append(p)
        log(f"transform/CloudTrail run {i + 1}/{args.runs}: ours {runs['ours'][-1]['seconds']:.2f} s (one core), "
            f"{runs['ours_all'][-1]['seconds']:.2f} s ({cores} cores), gzip -dc {g['seconds']:.2f} s, python {p['seconds']:.2f} s")
    raw = info["uncompressed_bytes"]
    recs = info["records"]
    part["output_bytes"] = out_bytes
    part["rows"] = [
        contender("cloudspool-transform, one core", runs["ours"], recs, "records", raw),
        contender(f"cloudspool-transform, {cores} cores (workers={cores}, no taskset)", runs["ours_all"], recs, "records", raw),
        contender("gzip -dc > /dev/null (decompression limit)", runs["gzip"], None, "records", raw, {"baseline": True}),
        contender("Python gzip+json (baseline_cloudtrail.py)", runs["python"], recs, "records", raw, {"baseline": True}),
    ]
    ours_row, all_row, gz, py = part["rows"]
    part["targets"] = [
        target(f"{cores} cores: MB/s >= 1.2x gzip -dc", ratio(all_row["mb_per_s"], gz["mb_per_s"]), 1.2),
        target(f"{cores} cores: MB/s >= 8x the Python baseline", ratio(all_row["mb_per_s"], py["mb_per_s"]), 8.0),
        target("one core: MB/s >= 0.6x gzip -dc", ratio(ours_row["mb_per_s"], gz["mb_per_s"]), 0.6),
        target("one core: MB/s vs the Python baseline", ratio(ours_row["mb_per_s"], py["mb_per_s"]), 0.0),
    ]
    out["transform"] = part


def ratio(a, b):
    return (a / b) if (a is not None and b) else None


def target(text: str, value, threshold, higher_is_better=True, note: str = "") -> dict:
    if value is None:
        return {"target": text, "value": None, "met": None, "note": note}
    met = value >= threshold if higher_is_better else value <= threshold
    return {"target": text, "value": value, "met": met, "note": note}


# ====================================================================== 2. CUR transform

CUR_SPLIT_FILES = 4


def cur_spool(root: Path, ds: Path, workers: int = 1) -> Path:
    fresh(root)
    run = root / "spool" / "raw" / "billing" / CUR_RUN
    run.mkdir(parents=True)
    link_tree(ds / "objects", run / "objects")
    shutil.copy(ds / "manifest.json", run / "manifest.json")
    cfg = root / "cloudspool.yaml"
    cfg.write_text(f"spool: {root / 'spool'}\nretention:\n  raw_days: 36500\n  ndjson_days: 36500\n"
                   f"transform:\n  workers: {workers}\n")
    return cfg


def cur_outputs(root: Path) -> tuple:
    folder = root / "spool" / "ndjson" / "billing"
    return (sorted(glob.glob(str(folder / "*.ndjson"))), sorted(glob.glob(str(folder / "*.revision.json"))))


def part_cur(args, out: dict) -> None:
    data = Path(args.data)
    small = data / "cur-10mb"
    big = data / "cur-1gb"
    gen([BENCH / "gen_cur_set.py", "--out", small, "--rows", args.cur_small_rows], "CUR report, ~10 MB")
    gen([BENCH / "gen_cur_set.py", "--out", big, "--rows", args.cur_rows], "CUR report, ~1 GB (first time: ~2 min)")
    split = data / "cur-split"
    gen([BENCH / "gen_cur_set.py", "--out", split, "--rows", args.cur_rows, "--files", CUR_SPLIT_FILES],
        f"CUR report, same rows in {CUR_SPLIT_FILES} files (first time: ~2 min)")
    si = json.loads((small / "dataset.json").read_text())
    bi = json.loads((big / "dataset.json").read_text())
    xi = json.loads((split / "dataset.json").read_text())
    cores = os.cpu_count() or 1
    work = data / "work" / "cur"
    tool = bin_path(args, "transform")
    part = {"title": "2. transform, CUR", "one_core": True,
            "dataset": {"small": {k: v for k, v in si.items() if k != "params"},
                        "big": {k: v for k, v in bi.items() if k != "params"}}}

    # Does cloudspool-transform know billing yet? A raw billing run must become ndjson/billing/ + a revision file.
    cfg = cur_spool(work / "detect", small)
    r = measure([tool, "--config", cfg])
    nd, revs = cur_outputs(work / "detect")
    implemented = r["rc"] in (0, 3) and bool(revs)
    part["implemented"] = implemented
    if not implemented:
        part["not_implemented_reason"] = (f"cloudspool-transform (built {binary_time(tool)}) left a raw billing run "
                                          f"untouched (exit {r['rc']}, no ndjson/billing/*.revision.json)")
        log("transform/CUR: not implemented yet in this build; running the Python baseline only")
    else:
        py_small = work / "baseline-small.ndjson"
        p = measure([PY, BENCH / "baseline_cur.py", work / "detect" / "spool" / "raw" / "billing" / CUR_RUN, py_small])
        part["equality"] = compare_ndjson(nd, py_small) if p["rc"] == 0 else {"equal": False, "error": p["stderr"][-500:]}
        log(f"transform/CUR: same documents as the Python baseline on the 10 MB report: {part['equality'].get('equal')}")

    runs = {"ours": [], "ours_small": [], "ours_split": [], "python": [], "python_small": [], "python_split": []}
    py_runs = args.runs if implemented else args.baseline_only_runs
    for i in range(max(args.runs if implemented else 0, py_runs)):
        if implemented and i < args.runs:
            cfg = cur_spool(work / "run", big)
            r = measure([tool, "--config", cfg], one_core=True)
            s = summary_fields(r["stdout"])
            r["ok"] = r["rc"] == 0 and int(s.get("documents", -1)) == bi["rows"]
            if not r["ok"]:
                r["error"] = f"rc={r['rc']} {r['stdout'][-300:]} {r['stderr'][-300:]}"
            runs["ours"].append(r)
            shutil.rmtree(work / "run")
            cfg = cur_spool(work / "run", small)
            r = measure([tool, "--config", cfg], one_core=True)
            r["ok"] = r["rc"] == 0
            runs["ours_small"].append(r)
            shutil.rmtree(work / "run")
            # the revision split into several report files, on every core (transform.workers = cores)
            cfg = cur_spool(work / "run", split, workers=cores)
            r = measure([tool, "--config", cfg])
            s = summary_fields(r["stdout"])
            r["ok"] = r["rc"] == 0 and int(s.get("documents", -1)) == xi["rows"]
            if not r["ok"]:
                r["error"] = f"rc={r['rc']} {r['stdout'][-300:]} {r['stderr'][-300:]}"
            runs["ours_split"].append(r)
            shutil.rmtree(work / "run")
        if i < py_runs:
            cur_spool(work / "pyrun", big)
            raw_run = work / "pyrun" / "spool" / "raw" / "billing" / CUR_RUN
            p = measure([PY, BENCH / "baseline_cur.py", raw_run, work / "baseline.ndjson"], one_core=True)
            p["ok"] = p["rc"] == 0 and json.loads(p["stdout"] or "{}").get("records") == bi["rows"]
            if not p["ok"]:
                p["error"] = p["stderr"][-300:]
            runs["python"].append(p)
            (work / "baseline.ndjson").unlink(missing_ok=True)
            cur_spool(work / "pyrun", small)
            raw_run = work / "pyrun" / "spool" / "raw" / "billing" / CUR_RUN
            p = measure([PY, BENCH / "baseline_cur.py", raw_run, work / "baseline.ndjson"], one_core=True)
            p["ok"] = p["rc"] == 0
            runs["python_small"].append(p)
            (work / "baseline.ndjson").unlink(missing_ok=True)
            if implemented:
                cur_spool(work / "pyrun", split)
                raw_run = work / "pyrun" / "spool" / "raw" / "billing" / CUR_RUN
                p = measure([PY, BENCH / "baseline_cur.py", raw_run, work / "baseline.ndjson"])
                p["ok"] = p["rc"] == 0 and json.loads(p["stdout"] or "{}").get("records") == xi["rows"]
                runs["python_split"].append(p)
                (work / "baseline.ndjson").unlink(missing_ok=True)
            shutil.rmtree(work / "pyrun")
        log(f"transform/CUR run {i + 1}: " + ", ".join(f"{k} {v[-1]['seconds']:.1f} s" for k, v in runs.items() if v))
    rows = []
    if implemented:
        rows.append(contender("cloudspool-transform, 1 GB report", runs["ours"], bi["rows"], "rows", bi["uncompressed_bytes"]))
        rows.append(contender("cloudspool-transform, 10 MB report", runs["ours_small"], si["rows"], "rows",
                              si["uncompressed_bytes"]))
    else:
        rows.append({"name": "cloudspool-transform", "not_implemented": True})
    rows.append(contender("Python csv+json (baseline_cur.py), 1 GB report", runs["python"], bi["rows"], "rows",
                          bi["uncompressed_bytes"], {"baseline": True}))
    rows.append(contender("Python csv+json (baseline_cur.py), 10 MB report", runs["python_small"], si["rows"], "rows",
                          si["uncompressed_bytes"]))
    if implemented:
        rows.append(contender(f"cloudspool-transform, the big report in {xi['files']} files, {cores} cores (workers={cores})",
                              runs["ours_split"], xi["rows"], "rows", xi["uncompressed_bytes"]))
        rows.append(contender(f"Python csv+json, the big report in {xi['files']} files", runs["python_split"], xi["rows"], "rows",
                              xi["uncompressed_bytes"], {"baseline": True}))
    part["rows"] = rows
    if implemented:
        big_row, small_row, py, split_row, py_split = rows[0], rows[1], rows[2], rows[4], rows[5]
        part["targets"] = [
            target(f"{xi['files']} files, {cores} cores: rows/s >= 6x the Python baseline",
                   ratio(split_row["units_per_s"], py_split["units_per_s"]), 6.0),
            target(f"{xi['files']} files, {cores} cores: peak memory < 100 MB", split_row["rss_mb"], 100.0, higher_is_better=False),
            target("one file, one core: rows/s >= 3x the Python baseline", ratio(big_row["units_per_s"], py["units_per_s"]), 3.0),
            target("peak memory 1 GB / 10 MB report <= 2x", ratio(big_row["rss_mb"], small_row["rss_mb"]), 2.0,
                   higher_is_better=False),
            target("peak memory (1 GB report) < 100 MB", big_row["rss_mb"], 100.0, higher_is_better=False),
        ]
    else:
        part["targets"] = [{"target": t, "value": None, "met": None, "note": "not implemented yet"} for t in
                           ("rows/s >= 3x the Python baseline", "peak memory 1 GB / 10 MB report <= 2x",
                            "peak memory (1 GB report) < 100 MB")]
    out["cur"] = part


def binary_time(path: Path) -> str:
    try:
        return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except OSError:
        return "missing"


# ====================================================================== 3. load

class Sink:
    def __init__(self, save_dir: Path = None):
        cmd = [PY, str(BENCH / "bulk_sink.py")]
        if save_dir:
            cmd += ["--save-puts", str(save_dir)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     preexec_fn=peers._die_with_parent)
        self.url = json.loads(self.proc.stdout.readline())["url"]

    def stats(self) -> dict:
        return http("GET", self.url + "/_sink/stats")[1]

    def reset(self) -> None:
        http("POST", self.url + "/_sink/reset")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def curl_config(bodies: list, url: str, path: Path) -> Path:
    parts = []
    for b in bodies:
        parts.append(f'url = "{url}/_bulk"\nrequest = "POST"\nheader = "Content-Type: application/x-ndjson"\n'
                     f'data-binary = "@{b}"\noutput = "/dev/null"\n')
    path.write_text("next\n".join(parts))
    return path


def load_spool(root: Path, files: list, url: str, compression: str = "none") -> Path:
    fresh(root)
    nd = root / "spool" / "ndjson" / "cloudtrail"
    nd.mkdir(parents=True)
    for f in files:
        os.link(f, nd / Path(f).name)
    cfg = root / "cloudspool.yaml"
    cfg.write_text(f"spool: {root / 'spool'}\nindex:\n  url: {url}\n  auth: none\n  compression: {compression}\n  bulk_max_bytes: {BULK_MAX_BYTES}\n"
                   f"  bulk_max_docs: {BULK_MAX_DOCS}\n  names:\n    cloudtrail: {LOAD_STEM}\n"
                   f"retention:\n  raw_days: 36500\n  ndjson_days: 36500\n")
    return cfg


def vm_hwm_mb(pid: int):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def part_load(args, out: dict) -> None:
    data = Path(args.data)
    ds = data / "load"
    gen([BENCH / "gen_bulk_docs.py", "--out", ds, "--docs", args.load_docs, "--stem", LOAD_STEM], "1M _bulk documents")
    info = json.loads((ds / "dataset.json").read_text())
    files = sorted(glob.glob(str(ds / "ndjson" / "*.ndjson")))
    bodies_dir = ds / "bodies"
    stamp = bodies_dir / "stamp.json"
    want = {"dataset": info, "max_bytes": BULK_MAX_BYTES, "max_docs": BULK_MAX_DOCS}
    if not stamp.exists() or json.loads(stamp.read_text()) != want:
        fresh(bodies_dir)
        log("data: curl request bodies (split like cloudspool-load batches)")
        run_quiet([PY, BENCH / "split_bodies.py", bodies_dir, *files, "--max-bytes", BULK_MAX_BYTES,
                   "--max-docs", BULK_MAX_DOCS])
        stamp.write_text(json.dumps(want))
    bodies = (bodies_dir / "bodies.txt").read_text().split()
    docs, nbytes = info["docs"], info["bytes"]
    work = data / "work" / "load"
    fresh(work)
    tool = bin_path(args, "load")
    part = {"title": "3. load", "dataset": {"docs": docs, "bytes": nbytes, "files": len(files),
                                            "requests": len(bodies), "bulk_max_docs": BULK_MAX_DOCS,
                                            "bulk_max_bytes": BULK_MAX_BYTES}}

    # The index template cloudspool-load installs: captured through the sink, installed for the others too.
    captured = work / "captured"
    sink = Sink(captured)
    try:
        tiny = work / "tiny.ndjson"
        with open(files[0], "rb") as f:
            tiny.write_bytes(f.readline() + f.readline())
        cfg = load_spool(work / "tiny", [tiny], sink.url)
        measure([tool, "--config", cfg])
    finally:
        sink.stop()
    tpl_files = sorted(captured.glob("_index_template_*.json")) if captured.exists() else []
    tpl_files = [f for f in tpl_files if "cloudtrail" in f.name] or tpl_files   # the CloudTrail one, if several
    template = f"{tpl_files[0].name[len('_index_template_'):-5]}={tpl_files[0]}" if tpl_files else ""
    part["template"] = tpl_files[0].name if tpl_files else None
    for f in files + bodies:   # warm the page cache
        with open(f, "rb") as fh:
            while fh.read(1 << 22):
                pass

    def run_one(kind: str, url: str) -> dict:
        if kind in ("ours", "ours-gzip"):
            cfg = load_spool(work / "spool", files, url, compression="gzip" if kind == "ours-gzip" else "none")
            r = measure([tool, "--config", cfg])
            s = summary_fields(r["stdout"])
            r["sent"] = int(s.get("indexed", 0))
            r["ok"] = r["rc"] == 0 and r["sent"] == docs
            shutil.rmtree(work / "spool")
        elif kind in ("streaming", "parallel"):
            cmd = [PY, BENCH / "baseline_load.py", kind, url, *files, "--chunk-docs", BULK_MAX_DOCS,
                   "--chunk-bytes", BULK_MAX_BYTES, "--threads", args.parallel_threads]
            if template:
                cmd += ["--template", template]
            r = measure(cmd)
            res = json.loads(r["stdout"] or "{}") if r["stdout"].strip().startswith("{") else {}
            r["sent"] = res.get("ok", 0)
            r["ok"] = r["rc"] == 0 and r["sent"] == docs
        else:  # curl
            if template:
                name, _, path = template.partition("=")
                http("PUT", f"{url}/_index_template/{name}", Path(path).read_bytes())
            cfg = curl_config(bodies, url, work / "curl.cfg")
            r = measure(["curl", "-s", "-S", "-K", cfg])
            r["ok"] = r["rc"] == 0
            r["sent"] = None
        if not r["ok"]:
            r["error"] = f"rc={r['rc']} {r['stdout'][-300:]} {r['stderr'][-300:]}"
        return r

    kinds = [("ours", "cloudspool-load (index.compression: none)"), ("ours-gzip", "cloudspool-load (index.compression: gzip)"),
             ("streaming", "opensearch-py helpers.streaming_bulk"),
             ("parallel", f"opensearch-py helpers.parallel_bulk ({args.parallel_threads} threads)"),
             ("curl", "curl, pre-built bulk bodies, 1 connection")]

    # 3a. osmem-server: a fresh server for every measured run.
    osmem_runs = {k: [] for k, _ in kinds}
    for i in range(args.load_osmem_runs):
        for kind, _ in kinds:
            server = peers.start_osmem(log_dir=str(work / "peer-logs"))
            try:
                r = run_one(kind, server.url)
                try:
                    http("POST", f"{server.url}/{LOAD_STEM}-*/_refresh")
                    r["indexed"] = http("GET", f"{server.url}/{LOAD_STEM}-*/_count")[1].get("count")
                except Exception as e:  # noqa: BLE001
                    r["indexed"] = None
                    r["error"] = f"count failed: {e}"
                if r["indexed"] != docs:
                    r["ok"] = False
                    r.setdefault("error", f"the index holds {r['indexed']} documents, not {docs}")
                r["server_rss_mb"] = vm_hwm_mb(server.pid)
            finally:
                server.stop()
            osmem_runs[kind].append(r)
            log(f"load/osmem run {i + 1}/{args.load_osmem_runs} {kind}: {r['seconds']:.1f} s, indexed {r.get('indexed')}"
                f"{'' if r['ok'] else ' FAILED ' + r.get('error', '')[:200]}")

    # 3b. the null sink: the client side's limit.
    sink_runs = {k: [] for k, _ in kinds}
    sink = Sink()
    try:
        for i in range(args.runs):
            for kind, _ in kinds:
                sink.reset()
                r = run_one(kind, sink.url)
                st = sink.stats()
                r["indexed"] = st["docs"]
                r["connections"] = st["connections"]
                r["wire_bytes"] = st.get("wire_bytes")
                r["doc_bytes"] = st.get("bytes")
                if st["docs"] < docs:   # (a build may also send its own run report: more is fine)
                    r["ok"] = False
                    r.setdefault("error", f"the sink received {st['docs']} documents, not {docs}")
                sink_runs[kind].append(r)
            log(f"load/sink run {i + 1}/{args.runs}: " + ", ".join(f"{k} {v[-1]['seconds']:.1f} s" for k, v in sink_runs.items()))
    finally:
        sink.stop()

    def rows_of(runs_by_kind, server: bool):
        rows = []
        for kind, name in kinds:
            extra = {}
            if server:
                extra["server_peak_rss_mb"] = max([r.get("server_rss_mb") or 0 for r in runs_by_kind[kind]], default=None)
            if kind not in ("ours", "ours-gzip"):
                extra["baseline"] = True
            wire = [r.get("wire_bytes") for r in runs_by_kind[kind] if r.get("wire_bytes")]
            if wire:
                extra["wire_mb"] = round(wire[-1] / 1e6, 1)
            rows.append(contender(name, runs_by_kind[kind], docs, "docs", nbytes, extra))
        return rows

    part["osmem"] = {"runs_per_contender": args.load_osmem_runs, "rows": rows_of(osmem_runs, True)}
    part["sink"] = {"runs_per_contender": args.runs, "rows": rows_of(sink_runs, False)}
    tg = []
    for where in ("osmem", "sink"):
        ours_row, gz_row, st, pa, cu = part[where]["rows"]
        best_py = max([x for x in (st["units_per_s"], pa["units_per_s"]) if x], default=None)
        tg.append(target(f"{where}: docs/s >= the best Python helper", ratio(ours_row["units_per_s"], best_py), 1.0))
        tg.append(target(f"{where}: docs/s within 20% of curl (>= 0.8x)", ratio(ours_row["units_per_s"], cu["units_per_s"]), 0.8))
        tg.append(target(f"{where}: gzip costs no throughput on loopback (>= 0.95x of none)", ratio(gz_row["units_per_s"], ours_row["units_per_s"]), 0.95))
    sink_wire = {r["name"]: r.get("wire_mb") for r in part["sink"]["rows"]}
    none_mb, gz_mb = sink_wire.get(kinds[0][1]), sink_wire.get(kinds[1][1])
    if none_mb and gz_mb:
        tg.append(target("gzip: at least 4x fewer bytes on the wire", round(none_mb / gz_mb, 2), 4.0))
    part["targets"] = tg
    out["load"] = part


# ====================================================================== 4. fetch (inventory)

def part_fetch(args, out: dict) -> None:
    data = Path(args.data)
    work = fresh(data / "work" / "fetch")
    tool = bin_path(args, "fetch")
    part = {"title": "4. fetch, inventory"}
    moto = peers.start_moto(log_dir=str(work / "peer-logs"))
    try:
        log("fetch: building the estate in moto_server")
        est = json.loads(run_quiet([PY, BENCH / "estate.py", "--endpoint-url", moto.url, "--accounts", args.fetch_accounts,
                                    "--regions", args.fetch_regions, "--instances", args.fetch_instances,
                                    "--out", work / "estate.json"]).stdout)
        part["estate"] = est
        meter = ConnMeter(moto.url).start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_ENDPOINT_URL": meter.url,
                    "AWS_CONFIG_FILE": str(work / "no-aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(work / "no-aws-creds"),
                    "AWS_EC2_METADATA_DISABLED": "true", "HOME": str(work)})

        def ours_once(n: int) -> dict:
            root = fresh(work / f"ours-{n}")
            cfg = root / "cloudspool.yaml"
            cfg.write_text(
                f"spool: {root / 'spool'}\naws:\n  region: {est['regions'][0]}\ninventory:\n"
                f"  accounts: [{', '.join(repr(a) for a in est['accounts'])}]\n  role_name: {est['role']}\n"
                f"  regions: [{', '.join(est['regions'])}]\n  concurrency: {args.fetch_concurrency}\n  lookup_events: 0\n"
                f"retention:\n  raw_days: 36500\n  ndjson_days: 36500\n")
            meter.reset()
            r = measure([tool, "--config", cfg], env=env)
            r.update(meter.stats())
            runs_dir = root / "spool" / "raw" / "inventory"
            r["raw_runs"] = len(list(runs_dir.iterdir())) if runs_dir.exists() else 0
            s = summary_fields(r["stdout"])
            r["calls"] = int(s["calls"]) if "calls" in s else None
            r["ok"] = r["rc"] in (0, 3) and r["raw_runs"] > 0
            if not r["ok"]:
                r["error"] = f"rc={r['rc']} {r['stderr'].strip().splitlines()[-1] if r['stderr'].strip() else ''}"
            return r

        first = ours_once(0)
        implemented = first["ok"]
        part["implemented"] = implemented
        ours_runs = []
        if not implemented:
            part["not_implemented_reason"] = (f"cloudspool-fetch (built {binary_time(tool)}) has no inventory: "
                                              f"{first.get('error', '')[:300]}")
            log("fetch: inventory not implemented yet in this build; running the CLI baseline only")
        else:
            for i in range(args.runs):
                ours_runs.append(ours_once(i + 1))
                log(f"fetch run {i + 1}/{args.runs}: ours {ours_runs[-1]['seconds']:.2f} s, "
                    f"{ours_runs[-1]['connections']} connections, at most {ours_runs[-1]['max_in_flight']} requests in flight")
        cli_runs = []
        for i in range(args.fetch_cli_runs):
            meter.reset()
            r = measure([PY, BENCH / "baseline_fetch_cli.py", "--endpoint-url", meter.url,
                         "--accounts", ",".join(est["accounts"]), "--regions", ",".join(est["regions"]),
                         "--role", est["role"], "--out", work / f"cli-{i}"])
            r.update(meter.stats())
            res = json.loads(r["stdout"] or "{}") if r["stdout"].strip().startswith("{") else {}
            r["processes"] = res.get("processes")
            r["failed_calls"] = res.get("failed")
            r["cli_errors"] = res.get("errors", [])
            r["ok"] = r["rc"] == 0 and (res.get("processes") or 0) > 0
            cli_runs.append(r)
            log(f"fetch CLI baseline run {i + 1}/{args.fetch_cli_runs}: {r['seconds']:.1f} s, {r.get('processes')} processes, "
                f"{r.get('failed_calls')} failed calls")
        meter.stop()
    finally:
        moto.stop()
    units = len(est["accounts"]) * len(est["regions"])
    rows = []
    if implemented:
        rows.append(contender("cloudspool-fetch (inventory)", ours_runs, units, "account-regions", None, {
            "connections": med([r["connections"] for r in ours_runs]),
            "max_concurrent": max(r["max_concurrent"] for r in ours_runs),
            "max_in_flight": max(r["max_in_flight"] for r in ours_runs),
            "calls": med([r["calls"] for r in ours_runs if r["calls"] is not None])}))
    else:
        rows.append({"name": "cloudspool-fetch (inventory)", "not_implemented": True})
    rows.append(contender("aws CLI, one process per call", cli_runs, units, "account-regions", None, {
        "connections": med([r["connections"] for r in cli_runs]),
        "max_concurrent": max([r["max_concurrent"] for r in cli_runs], default=None),
        "max_in_flight": max([r["max_in_flight"] for r in cli_runs], default=None),
        "calls": med([r["processes"] for r in cli_runs]),
        "failed_calls": med([r["failed_calls"] for r in cli_runs]),
        "cli_errors": sorted({e.split(":")[0] for r in cli_runs for e in r["cli_errors"]}), "baseline": True}))
    part["rows"] = rows
    if implemented:
        part["targets"] = [
            target(">= 10x faster than the CLI", ratio(rows[1]["seconds"], rows[0]["seconds"]), 10.0),
            target(f"bounded connections: requests in flight <= inventory.concurrency ({args.fetch_concurrency})",
                   rows[0]["max_in_flight"], args.fetch_concurrency, higher_is_better=False),
        ]
    else:
        part["targets"] = [{"target": t, "value": None, "met": None, "note": "not implemented yet"}
                           for t in (">= 10x faster than the CLI", "bounded connections")]
    out["fetch"] = part


# ====================================================================== report

def machine() -> dict:
    model = ""
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    git = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return {"date_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "nproc": os.cpu_count(), "cpu": model, "memory": mem, "kernel": platform.release(),
            "python": platform.python_version(), "git_head": git}


def render(results: dict) -> str:
    m = results["machine"]
    lines = [f"cloudspool benchmarks — {m['date_utc']} — {m['nproc']} cores ({m['cpu']}), {m['memory']}, "
             f"git {m['git_head']}, medians of {results['args']['runs']} runs unless noted", ""]

    def table(rows, cols):
        head = [c[0] for c in cols]
        body = [[c[1](r) for c in cols] for r in rows]
        widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
        out = ["| " + " | ".join(str(h).ljust(w) for h, w in zip(head, widths)) + " |",
               "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        for b in body:
            out.append("| " + " | ".join(str(x).ljust(w) for x, w in zip(b, widths)) + " |")
        return out

    def vs(ref):
        def f(r):
            if r.get("not_implemented") or ref is None or ref.get("not_implemented") or not r.get("baseline"):
                return "-"
            a, b = ref.get("units_per_s") or ref.get("mb_per_s"), r.get("units_per_s") or r.get("mb_per_s")
            if not ref.get("units_per_s") or not r.get("units_per_s"):
                a, b = ref.get("mb_per_s"), r.get("mb_per_s")
            return f"{a / b:.2f}x" if a and b else "-"
        return f

    def ni(f):
        return lambda r: "-" if r.get("not_implemented") else f(r)

    def name(r):
        return r["name"] + (": NOT IMPLEMENTED YET" if r.get("not_implemented") else "")

    def runs_col(r):
        if r.get("not_implemented"):
            return "-"
        return f"{r['ok_runs']}/{r['runs']}"

    def targets(part):
        out = []
        for t in part.get("targets", []):
            mark = "n/a (not implemented yet)" if t["met"] is None else ("met" if t["met"] else "MISSED")
            v = "-" if t["value"] is None else f"{t['value']:.2f}"
            out.append(f"  target: {t['target']}: {v} -> {mark}")
        return out

    def built(part):
        out = [f"  binary built {part.get('binary_built', '?')}"]
        if part.get("binary_changed"):
            out[0] += f", REBUILT DURING THE PART ({part['binary_changed']}): figures may mix two builds"
        return out

    if "transform" in results:
        p = results["transform"]
        d = p["dataset"]
        lines.append(f"{p['title']}: {d['uncompressed_bytes'] / MB:.1f} MB uncompressed JSON in {d['files']} .json.gz files "
                     f"({d['compressed_bytes'] / MB:.1f} MB gzip), {d['records']:,} records; each contender on one core "
                     f"(taskset -c 0) except the row that says it uses every core")
        ref = p["rows"][0]
        lines += table(p["rows"], [("contender", lambda r: r["name"]), ("runs ok", runs_col),
                                   ("median s", lambda r: fmt_num(r["seconds"], 2)),
                                   ("MB/s (uncompr.)", lambda r: fmt_num(r["mb_per_s"])),
                                   ("records/s", lambda r: fmt_num(r["units_per_s"], 0) if r["units"] else "-"),
                                   ("peak RSS MB", lambda r: fmt_num(r["rss_mb"])),
                                   ("cloudspool vs this", vs(ref))])
        eq = p.get("equality", {})
        lines.append(f"  same documents as the Python baseline (4 files, parsed JSON): {eq.get('equal')} "
                     f"(byte-identical: {eq.get('byte_identical')})")
        lines += targets(p)
        lines += built(p)
        lines.append("")
    if "cur" in results:
        p = results["cur"]
        d = p["dataset"]
        lines.append(f"{p['title']}: {d['big']['uncompressed_bytes'] / MB:.0f} MB CSV ({d['big']['rows']:,} rows, "
                     f"{d['big']['compressed_bytes'] / MB:.0f} MB gzip) and {d['small']['uncompressed_bytes'] / MB:.1f} MB "
                     f"({d['small']['rows']:,} rows); one core, except the split revision on every core")
        if not p["implemented"]:
            lines.append(f"  cloudspool: not implemented yet ({p['not_implemented_reason']}); "
                         f"baseline runs: {results['args']['baseline_only_runs']}")
        ref = p["rows"][0] if p["implemented"] else None
        lines += table(p["rows"], [("contender", name), ("runs ok", runs_col),
                                   ("median s", ni(lambda r: fmt_num(r["seconds"], 2))),
                                   ("MB/s", ni(lambda r: fmt_num(r["mb_per_s"]))),
                                   ("rows/s", ni(lambda r: fmt_num(r["units_per_s"], 0))),
                                   ("peak RSS MB", ni(lambda r: fmt_num(r["rss_mb"]))),
                                   ("cloudspool vs this", vs(ref))])
        if p.get("equality"):
            lines.append(f"  same documents as the Python baseline (10 MB report, parsed JSON): {p['equality'].get('equal')}")
        lines += targets(p)
        lines += built(p)
        lines.append("")
    if "load" in results:
        p = results["load"]
        d = p["dataset"]
        lines.append(f"{p['title']}: {d['docs']:,} documents, {d['bytes'] / MB:.0f} MB of _bulk NDJSON, requests of at most "
                     f"{d['bulk_max_docs']} documents / {d['bulk_max_bytes'] // 1048576} MiB ({d['requests']} requests)")
        for where, title in (("osmem", "3a. into osmem-server (a fresh server per run; the server's limit: curl)"),
                             ("sink", "3b. into a null _bulk sink (indexes nothing: the client side's limit)")):
            q = p[where]
            lines.append(f"{title}; runs per contender: {q['runs_per_contender']}")
            ref = q["rows"][0]
            cols = [("contender", lambda r: r["name"]), ("runs ok", runs_col),
                    ("median s", lambda r: fmt_num(r["seconds"], 1)),
                    ("docs/s", lambda r: fmt_num(r["units_per_s"], 0)), ("MB/s", lambda r: fmt_num(r["mb_per_s"])),
                    ("client CPU s", lambda r: fmt_num(r["cpu_s"], 1)),
                    ("client peak RSS MB", lambda r: fmt_num(r["rss_mb"]))]
            if where == "osmem":
                cols.append(("server peak RSS MB", lambda r: fmt_num(r.get("server_peak_rss_mb"), 0)))
            else:
                cols.append(("MB on the wire", lambda r: fmt_num(r.get("wire_mb"))))
            cols.append(("min-max s", lambda r: f"{min(r['seconds_all']):.1f}-{max(r['seconds_all']):.1f}" if r.get("seconds_all") else "-"))
            cols.append(("cloudspool vs this", vs(ref)))
            lines += table(q["rows"], cols)
        lines += targets(p)
        lines += built(p)
        lines.append("")
    if "fetch" in results:
        p = results["fetch"]
        e = p["estate"]
        c = e["counts"]
        lines.append(f"{p['title']}: {len(e['accounts'])} accounts x {len(e['regions'])} regions in moto_server, "
                     f"{c['instances']} instances, {c['db_instances']} RDS instances, {c['db_snapshots']} DB snapshots, "
                     f"{c['images']} AMIs, {c['snapshots']} EBS snapshots, {c['volumes']} extra volumes, "
                     f"{c['security_groups']} security groups, {c['internet_gateways']}+{c['nat_gateways']}+"
                     f"{c['transit_gateways']} gateways (IGW+NAT+TGW), {c['alarms']} alarms")
        if not p["implemented"]:
            lines.append(f"  cloudspool: not implemented yet ({p['not_implemented_reason']})")
        ref = p["rows"][0] if p["implemented"] else None
        lines += table(p["rows"], [("contender", name), ("runs ok", runs_col),
                                   ("median s", ni(lambda r: fmt_num(r["seconds"], 2))),
                                   ("calls", ni(lambda r: fmt_num(r.get("calls"), 0))),
                                   ("TCP connections", ni(lambda r: fmt_num(r.get("connections"), 0))),
                                   ("max in flight", ni(lambda r: fmt_num(r.get("max_in_flight"), 0))),
                                   ("max open (relay)", ni(lambda r: fmt_num(r.get("max_concurrent"), 0))),
                                   ("peak RSS MB", ni(lambda r: fmt_num(r["rss_mb"]))),
                                   ("cloudspool speed-up vs this", lambda r: "-" if (ref is None or not r.get("baseline")) else
                                    (f"{r['seconds'] / ref['seconds']:.1f}x" if r.get("seconds") and ref.get("seconds") else "-"))])
        cli = p["rows"][-1]
        if cli.get("cli_errors"):
            lines.append(f"  CLI calls moto_server cannot answer (both sides make them): {', '.join(cli['cli_errors'])}")
        lines += targets(p)
        lines += built(p)
        lines.append("")
    lines.append(f"total benchmark time: {results['elapsed_s'] / 60:.1f} min")
    return "\n".join(lines)


# ====================================================================== main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="cloudspool benchmarks (see bench/README.md)")
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", 3)),
                    help="measured runs per contender; the table shows medians (default 3, env BENCH_RUNS)")
    ap.add_argument("--only", default=os.environ.get("BENCH_ONLY", "transform,cur,load,fetch"),
                    help="comma-separated parts: transform,cur,load,fetch")
    ap.add_argument("--data", default=os.environ.get("BENCH_DATA", str(REPO / "bench-data")))
    ap.add_argument("--bin-dir", default=os.environ.get("CLOUDSPOOL_BIN_DIR", str(REPO / ".build" / "release")))
    ap.add_argument("--ct-bytes", type=int, default=210_000_000, help="uncompressed CloudTrail JSON to generate")
    ap.add_argument("--cur-rows", type=int, default=1_600_000, help="rows of the big CUR report (~650 bytes each)")
    ap.add_argument("--cur-small-rows", type=int, default=16_000, help="rows of the small CUR report")
    ap.add_argument("--baseline-only-runs", type=int, default=1,
                    help="runs of a baseline whose cloudspool side is not implemented yet (default 1)")
    ap.add_argument("--load-docs", type=int, default=1_000_000)
    ap.add_argument("--load-osmem-runs", type=int, default=int(os.environ.get("BENCH_LOAD_OSMEM_RUNS", 1)),
                    help="runs per contender into osmem-server (default 1: ~2.5 min each)")
    ap.add_argument("--parallel-threads", type=int, default=4, help="parallel_bulk thread_count (its default: 4)")
    ap.add_argument("--fetch-accounts", type=int, default=3)
    ap.add_argument("--fetch-regions", default="eu-west-1,us-east-1")
    ap.add_argument("--fetch-instances", type=int, default=20)
    ap.add_argument("--fetch-concurrency", type=int, default=4, help="inventory.concurrency for cloudspool-fetch")
    ap.add_argument("--fetch-cli-runs", type=int, default=int(os.environ.get("BENCH_FETCH_CLI_RUNS", 1)),
                    help="runs of the CLI baseline (default 1: ~40 s each)")
    ap.add_argument("--keep-work", action="store_true", help="keep bench-data/work/ (the runs' spools) afterwards")
    ap.add_argument("--quick", action="store_true",
                    help="every part on smaller data (under 3 minutes on a 2-core machine), the same table; data in bench-data/quick")
    args = ap.parse_args(argv)
    if args.quick:
        # smaller inputs, at least 3 runs each; the data of the full run is left alone
        args.ct_bytes = min(args.ct_bytes, 30_000_000)
        args.cur_rows = min(args.cur_rows, 120_000)
        args.cur_small_rows = min(args.cur_small_rows, 6_000)
        args.load_docs = min(args.load_docs, 10_000)
        args.fetch_instances = min(args.fetch_instances, 6)
        args.fetch_regions = "eu-west-1"
        args.runs = max(3, args.runs)
        if args.data == str(REPO / "bench-data"):
            args.data = str(REPO / "bench-data" / "quick")
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    for p in parts:
        if p not in ("transform", "cur", "load", "fetch"):
            ap.error(f"unknown part {p}")
    for stage in ("fetch", "transform", "load"):
        if not bin_path(args, stage).exists():
            print(f"bench: {bin_path(args, stage)} is missing: build with `swift build -c release` "
                  f"(or set CLOUDSPOOL_BIN_DIR)", file=sys.stderr)
            return 2
    ensure_data(args)
    results = {"machine": machine(), "args": vars(args),
               "binaries": {s: binary_time(bin_path(args, s)) for s in ("fetch", "transform", "load")}}
    log(f"cloudspool benchmarks: {', '.join(parts)}; {args.runs} runs each; data in {args.data}")
    fns = {"transform": part_transform, "cur": part_cur, "load": part_load, "fetch": part_fetch}
    stages = {"transform": "transform", "cur": "transform", "load": "load", "fetch": "fetch"}
    for p in parts:
        before = binary_time(bin_path(args, stages[p]))
        try:
            fns[p](args, results)
            after = binary_time(bin_path(args, stages[p]))
            if p in results:
                results[p]["binary_built"] = before
                if after != before:
                    results[p]["binary_changed"] = after
                    log(f"WARNING: cloudspool-{stages[p]} was rebuilt during part {p} ({before} -> {after}): "
                        f"its figures may mix two builds; run it again")
        except Exception as e:  # noqa: BLE001 - one broken part must not hide the others
            import traceback
            traceback.print_exc()
            results.setdefault("errors", {})[p] = f"{type(e).__name__}: {e}"
    if not args.keep_work:
        shutil.rmtree(Path(args.data) / "work", ignore_errors=True)   # spools and outputs of the runs
    results["elapsed_s"] = time.monotonic() - T0
    text = render(results)
    if results.get("errors"):
        text += "\n\nparts that failed: " + "; ".join(f"{k}: {v}" for k, v in results["errors"].items())
    rdir = Path(args.data) / "results"
    rdir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    (rdir / f"{stamp}.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    (rdir / f"{stamp}.txt").write_text(text + "\n")
    shutil.copy(rdir / f"{stamp}.json", rdir / "latest.json")
    shutil.copy(rdir / f"{stamp}.txt", rdir / "latest.txt")
    print(text)
    print(f"\n(results: {rdir / (stamp + '.json')})")
    return 1 if results.get("errors") else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
