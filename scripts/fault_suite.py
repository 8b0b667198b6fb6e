#!/usr/bin/env python3
"""The fault and bad-input suite of cloudspool: one command, one table.

    python3 scripts/fault_suite.py [--quick] [--seed N] [--case SUBSTR]... [--list] [--keep] [--json FILE]
                                   [--budget SECONDS] [--no-mount]

Starts its own peers on 127.0.0.1 (moto_server once; one osmem-server per case,
so indices never leak between cases), runs the three stages
(`$CLOUDSPOOL_BIN_DIR`, default .build/debug) while it injects faults, and after
every case checks:

* every expected document is in the index exactly once, with the content of its
  source record (so nothing half-written was ever read) -> `expected`,
  `indexed`, `duplicates` (must be 0), `lost` (must be 0);
* what could not be processed is in quarantine/ or deadletter/ with its reason
  -> `quarantined (reason)`;
* nothing is left unexplained in the spool: no work-in-progress file, every raw
  run complete and transformed, every NDJSON file acknowledged, every
  quarantined file with a reason, nothing else but what the case put there;
* the exit codes are the contract's (0 ok / another copy, 1 work left undone,
  2 config error, 3 partial), and a non-zero exit comes with a message that
  names the file / account / key and says what to do.

The tamper-* cases change the raw captures after the pipeline ran (a file altered, deleted or
added, a manifest rewritten, raw runs deleted, a CloudTrail digest forged in the bucket) and check
that `cloudspool-audit verify` / `digests` exits 1 naming exactly what was changed (column "a:").

Faults come from scripts/faultproxy.py (in front of osmem-server for the index,
in front of moto_server for AWS), from SIGKILL, from two copies started at once,
from corrupt input and from a full file system (a tmpfs mounted on the case's
spool, unmounted at the end whatever happens; without the right to mount, a
per-process file size limit stands in and the table says so).

Prints the table (case | exit codes seen | message | expected | indexed |
quarantined (reason) | duplicates | lost | verdict), then the details of every
failed case (command, exit code, output). Exits 1 if any case fails, 2 when the
suite itself cannot start (binaries or peers missing).

Bounded: --quick (what the test suite runs) stays under 4 minutes, the full run
under 10, on 2 cores with debug binaries.
"""

from __future__ import annotations

import argparse
import atexit
import gzip
import hashlib
import io
import csv
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable, Optional

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests" / "integration"))

import support  # noqa: E402  (puts scripts/ on sys.path)
from support import (DELETE, REGION, STAGES, STEM, Index, Pipeline, Result, Spool, check_document,  # noqa: E402
                     http, kill_at)

import gen_cloudtrail as gen  # noqa: E402
import gen_cur  # noqa: E402
import peers  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402

UTC = timezone.utc
ROLE = "EnergyLogReadOnly"
BASE_ACCOUNT = "123456789012"           # moto's account of the "testing" keys
ANOTHER = re.compile(r"another cloudspool-\w+ is running|another copy|already running", re.I)
# a message says what to do (or where to look) when it has one of these
HINT = re.compile(r"see |check|fix |must |should|replay|next run|continues|retr(y|ied|ies)|known keys|"
                  r"set |pass |remove|free |repair|nothing was lost|trust polic|quarantin|dead.?letter|"
                  r"\.reason|left for|try again|permission|delete|make room|space", re.I)
STAGE_TIMEOUT = 90.0
LETTER = {"fetch": "f", "transform": "t", "load": "l", "audit": "a"}
SPOOL_TOP = {"raw", "ndjson", "state", "quarantine", "deadletter", "runs", "locks"}


# ====================================================================== mounts (always undone)

_MOUNTS: list = []


def _umount_all() -> None:
    while _MOUNTS:
        d = _MOUNTS.pop()
        if d not in mounts_under(d):
            continue
        for args in (["umount", str(d)], ["umount", "-l", str(d)]):
            if subprocess.run(args, capture_output=True).returncode == 0:
                break


atexit.register(_umount_all)


def _on_signal(signum, _frame):
    _umount_all()
    raise SystemExit(128 + signum)


def mount_tmpfs(where: Path, size_bytes: int) -> Optional[str]:
    """Mount a tmpfs of size_bytes on where; returns None on success, else why not."""
    where.mkdir(parents=True, exist_ok=True)
    kb = max(64, (size_bytes + 4095) // 4096 * 4)
    _MOUNTS.append(where)      # before mounting: a signal during mount(8) still leads to an umount
    try:
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kb}k,mode=0750", "tmpfs", str(where)],
                           capture_output=True, text=True)
    except OSError as e:
        _MOUNTS.remove(where)
        return str(e)
    if p.returncode != 0:
        _MOUNTS.remove(where)
        return (p.stderr or p.stdout).strip() or f"mount exited {p.returncode}"
    return None


def mounts_under(root: Path) -> list:
    """Mount points at or below root (from /proc/mounts), deepest first."""
    out = []
    try:
        with open("/proc/mounts") as f:
            for line in f:
                mp = line.split()[1].replace("\\040", " ")
                if mp == str(root) or mp.startswith(str(root) + "/"):
                    out.append(Path(mp))
    except OSError:
        pass
    return sorted(out, key=lambda p: len(p.parts), reverse=True)


def remount(where: Path, size_bytes: int) -> None:
    kb = max(64, (size_bytes + 4095) // 4096 * 4)
    subprocess.run(["mount", "-o", f"remount,size={kb}k", str(where)], check=True, capture_output=True)


def umount(where: Path) -> None:
    if where in _MOUNTS:
        _MOUNTS.remove(where)
        for args in (["umount", str(where)], ["umount", "-l", str(where)]):
            if subprocess.run(args, capture_output=True).returncode == 0:
                return


# ====================================================================== outcome of a case

@dataclass
class Outcome:
    name: str
    title: str
    codes: list = field(default_factory=list)        # (stage letter, code text)
    message: str = ""
    expected: Optional[int] = None
    indexed: Optional[int] = None
    quarantined: str = "0"
    duplicates: Optional[int] = None
    lost: Optional[int] = None
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    details: list = field(default_factory=list)      # failing runs (command, exit, output)
    seconds: float = 0.0
    skipped: str = ""

    @property
    def verdict(self) -> str:
        if self.skipped:
            return "SKIP"
        return "PASS" if not self.problems else "FAIL"

    def codes_text(self) -> str:
        out: list = []
        for letter, code in self.codes:
            if out and out[-1][0] == letter:
                out[-1][1].append(code)
            else:
                out.append((letter, [code]))
        return " ".join(f"{l}:{','.join(c)}" for l, c in out)

    def to_json(self) -> dict:
        return {"case": self.name, "title": self.title, "codes": self.codes_text(), "message": self.message,
                "expected": self.expected, "indexed": self.indexed, "quarantined": self.quarantined,
                "duplicates": self.duplicates, "lost": self.lost, "verdict": self.verdict,
                "problems": self.problems, "notes": self.notes, "seconds": round(self.seconds, 1)}


class CaseFailed(Exception):
    """Stops a case early (the reason is already in its problems)."""


# ====================================================================== the suite

class Suite:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.seed = args.seed
        self.work = Path(tempfile.mkdtemp(prefix="cloudspool-faults-"))
        self.logs = self.work / "peer-logs"
        self.logs.mkdir()
        self.moto = None
        self.s3 = None
        # the whole suite is bounded: --quick < 4 min, full < 10 min (stage timeouts shrink to fit)
        self.deadline = time.monotonic() + (args.budget or (225 if args.quick else 585))

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def start(self) -> None:
        import boto3
        from botocore.config import Config

        self.moto = peers.start_moto(log_dir=str(self.logs))
        self.s3 = boto3.client("s3", endpoint_url=self.moto.url, region_name=REGION, aws_access_key_id="testing",
                               aws_secret_access_key="testing",
                               config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}))

    def boto(self, service: str, creds: Optional[dict] = None):
        import boto3

        kw = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        if creds:
            kw = {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
                  "aws_session_token": creds["SessionToken"]}
        return boto3.client(service, endpoint_url=self.moto.url, region_name=REGION, **kw)

    def stop(self) -> None:
        _umount_all()
        for mp in mounts_under(self.work):   # whatever is still mounted in the work folder (ours only)
            if subprocess.run(["umount", str(mp)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", str(mp)], capture_output=True)
        if self.moto is not None:
            self.moto.stop()
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)


class Case:
    """One case's world: its spool, bucket, config, own index server, proxies; and its outcome."""

    def __init__(self, suite: Suite, name: str, title: str):
        self.suite = suite
        self.name = name
        self.tmp = suite.work / name
        self.tmp.mkdir(parents=True)
        self.out = Outcome(name, title)
        self._cleanups: list = []
        self.osmem = peers.start_osmem(log_dir=str(suite.logs))
        self._cleanups.append(self.osmem.stop)
        self.bucket = "fs-" + hashlib.sha1(f"{suite.seed}/{name}".encode()).hexdigest()[:20]
        self.pipe = Pipeline(self.tmp, suite.moto.url, suite.s3, self.bucket, self.osmem.url, prefix="ct")
        self.pipe.create_bucket()
        self.pipe.write_config(index={"timeout_seconds": 3, "max_retries": 3, "bulk_max_bytes": 65536})
        self.rng = random.Random(f"{suite.seed}/{name}")
        self.seed = self.rng.randrange(1, 10**6)
        self.left_alone: set = set()      # spool paths the case put there that may stay untouched

    # ---- lifecycle
    def proxy(self, upstream: str) -> FaultProxy:
        p = FaultProxy(upstream).start()
        self._cleanups.append(p.stop)
        return p

    def close(self) -> None:
        for fn in reversed(self._cleanups):
            try:
                fn()
            except Exception:
                pass
        self._cleanups.clear()

    # ---- checks
    def problem(self, text: str) -> None:
        self.out.problems.append(text)

    def check(self, cond: bool, text: str) -> bool:
        if not cond:
            self.problem(text)
        return bool(cond)

    def note(self, text: str) -> None:
        self.out.notes.append(text)

    def detail(self, r: Result) -> None:
        self.out.details.append(r.describe())

    # ---- stages
    def record(self, stage: str, code) -> None:
        self.out.codes.append((LETTER.get(stage, stage), "K" if code == "K" else str(code)))

    def run(self, stage: str, *args, codes=None, timeout: float = STAGE_TIMEOUT, why: str = "", **kw) -> Result:
        timeout = max(5.0, min(timeout, self.suite.left()))
        try:
            r = busy_retry(self.pipe.run, stage, *args, timeout=timeout, **kw)
        except AssertionError as e:  # timeout
            self.record(stage, "T/O")
            self.problem(f"{stage} did not finish within {timeout:.0f} s")
            self.out.details.append(str(e)[-6000:])
            raise CaseFailed() from None
        self.record(stage, r.code)
        if codes is not None and r.code not in codes:
            self.problem(f"{stage}{' (' + why + ')' if why else ''} exited {r.code}, want {'/'.join(map(str, codes))}: "
                         f"{first_error(r) or r.out.strip()[:200]}")
            self.detail(r)
        return r

    def run_all(self, codes=(0,), **kw) -> list:
        return [self.run(s, codes=codes, **kw) for s in STAGES]

    # ---- the message column
    def message(self, results: Iterable[Result], names: Iterable[str] = (), hint: bool = True,
                what: str = "") -> str:
        """The first line naming one of `names` (the file/account/key); checks it says what to do."""
        names = [n for n in names if n]
        lines = []
        for r in results:
            for ln in (r.err + "\n" + r.out).splitlines():
                if ln.strip():
                    lines.append((r, ln.strip()))
        chosen = None
        if names:
            ranked = [x for x in lines if any(n in x[1] for n in names)]
            top = [x for x in ranked if re.match(r"cloudspool-\w+: (error|\S+: )", x[1])]
            errs = [x for x in ranked if re.search(r": (error|failed|partial)|error=|warning", x[1])]
            chosen = (top or errs or ranked or [None])[0]
            if chosen is None:
                self.problem(f"no message names {what or ' / '.join(names)}")
                errs = [x for x in lines if ": error:" in x[1]]
                chosen = (errs or lines or [(None, "")])[0]
            elif hint and not HINT.search(chosen[1]):
                # the advice may follow on the same error's next line
                i = lines.index(chosen)
                tail = " ".join(x[1] for x in lines[i + 1:i + 2] if x[0] is chosen[0])
                if not HINT.search(tail):
                    self.problem(f"the message naming {what or names[0]} does not say what to do: {chosen[1][:300]}")
        else:
            summaries = [x for x in lines if re.match(r"cloudspool-\w+: (ok|partial|failed):", x[1])]
            chosen = (summaries[-1:] or lines[-1:] or [(None, "")])[0]
        msg = chosen[1]
        msg = re.sub(r"^\d{4}-\d\d-\d\dT\S+ ", "", msg)
        self.out.message = msg
        return msg

    # ---- measures
    def measure_trail(self, trail: "gen.Trail", accounted: Iterable[str] = (), stem: str = STEM) -> None:
        """expected / indexed / duplicates / lost of a CloudTrail case, and every document's content."""
        recs = trail.expected_records()
        idx = Index(self.osmem.url, stem)
        docs = idx.docs(source=True)
        expected = set(recs)
        present = set(docs)
        accounted = set(accounted)
        self.out.expected = len(expected)
        self.out.indexed = len(expected & present)
        self.out.duplicates = sum(len(v) - 1 for v in docs.values())
        lost = expected - present
        self.out.lost = len(lost)
        extra = present - expected - accounted
        self.check(not lost, f"{len(lost)} expected documents are not in the index, e.g. {sorted(lost)[:3]}")
        self.check(self.out.duplicates == 0,
                   f"{self.out.duplicates} documents are in the index more than once, e.g. "
                   f"{[(i, [ix for ix, _ in v]) for i, v in docs.items() if len(v) > 1][:3]}")
        self.check(not extra, f"{len(extra)} documents in the index that no input explains, e.g. {sorted(extra)[:3]}")
        wrong = []
        for i in sorted(expected & present):
            for ix, h in docs[i]:
                want_ix = gen.index_name(recs[i], stem)
                if ix != want_ix:
                    wrong.append(f"{i}: in {ix}, want {want_ix}")
                    continue
                p = check_document(h.get("_source") or {}, recs[i])
                if p:
                    wrong.append(f"{i}: {p[0]}")
        self.check(not wrong, f"{len(wrong)} indexed documents differ from their records (half-written input read?): "
                              f"{wrong[:3]}")

    def quarantine(self) -> tuple:
        """(count, text): quarantined files, rejected records and dead letters, with their first reason."""
        root = self.pipe.spool.root
        n = 0
        reasons: list = []
        q = root / "quarantine"
        if q.is_dir():
            for p in sorted(q.rglob("*")):
                if not p.is_file():
                    continue
                stage = p.relative_to(q).parts[0]
                if p.name.endswith(".reason"):
                    txt = p.read_text(errors="replace").strip().splitlines()
                    reasons.append(f"{stage}: {txt[0] if txt else '(empty reason)'}")
                elif p.name.endswith(".rejected.ndjson"):
                    for ln in p.read_text(errors="replace").splitlines():
                        if not ln.strip():
                            continue
                        n += 1
                        try:
                            reasons.append(f"{stage}: rejected: {json.loads(ln).get('reason', '(no reason)')}")
                        except ValueError:
                            reasons.append(f"{stage}: rejected line is not JSON")
                else:
                    n += 1
        dl = root / "deadletter"
        if dl.is_dir():
            for p in sorted(dl.rglob("*.ndjson")):
                for ln in p.read_text(errors="replace").splitlines():
                    if not ln.strip():
                        continue
                    n += 1
                    try:
                        d = json.loads(ln)
                        reasons.append(f"deadletter: {d.get('status')} {str(d.get('reason'))[:120]}")
                    except ValueError:
                        reasons.append("deadletter: line is not JSON")
        text = str(n)
        if reasons:
            uniq = list(dict.fromkeys(reasons))
            text += f" ({_abbrev(uniq[0])[:110]}{'; +' + str(len(uniq) - 1) + ' more' if len(uniq) > 1 else ''})"
        self.out.quarantined = text
        return n, text

    def audit(self) -> None:
        """Nothing unexplained in the spool (after the case's last run)."""
        root = self.pipe.spool.root
        problems = []
        collectors = set()
        for top in ("raw", "ndjson"):
            d = root / top
            if d.is_dir():
                collectors |= {p.name for p in d.iterdir() if p.is_dir()}
        for c in sorted(collectors):
            for p in Spool(root, c).check_invariants():
                if not any(str(a) in p for a in self.left_alone):
                    problems.append(p)
        transform_state = (Spool(root).state("transform.json") or {}).get("state", {}).get("done", {})
        load_state = (Spool(root).state("load.json") or {}).get("state", {}).get("files", {})
        billing_state = json.dumps(Spool(root).state("load-billing.json") or {})
        for p in sorted(root.rglob("*")) if root.exists() else []:
            if not p.is_file() or p in self.left_alone:
                continue
            rel = p.relative_to(root)
            parts = rel.parts
            if any(a in p.parents for a in self.left_alone):
                continue
            if ".incoming" in parts or p.name.startswith(".tmp-"):
                problems.append(f"work in progress left behind: {rel}")
            elif parts[0] not in SPOOL_TOP:
                problems.append(f"unknown file in the spool: {rel}")
            elif parts[0] == "raw":
                if len(parts) < 4 or parts[2] not in transform_state.get(parts[1], []):
                    problems.append(f"raw file of a run transform has not finished: {rel}")
            elif parts[0] == "ndjson":
                if p.name.endswith(".ndjson"):
                    key = f"{parts[1]}/{p.name}"
                    if load_state.get(key) != p.stat().st_size:
                        problems.append(f"NDJSON not (fully) acknowledged by the index: {rel} "
                                        f"(offset {load_state.get(key)}, size {p.stat().st_size})")
                elif p.name.endswith(".revision.json"):
                    if p.name.split(".")[0] not in billing_state:
                        problems.append(f"billing revision not switched and not pending: {rel}")
                else:
                    problems.append(f"unknown file in ndjson/: {rel}")
            elif parts[0] == "quarantine":
                if p.name.endswith(".reason"):
                    if not p.read_text(errors="replace").strip():
                        problems.append(f"empty reason: {rel}")
                    continue
                if p.name.endswith(".rejected.ndjson"):
                    for ln in p.read_text(errors="replace").splitlines():
                        if ln.strip() and '"reason"' not in ln:
                            problems.append(f"rejected record without reason in {rel}")
                            break
                    continue
                has = Path(str(p) + ".reason").is_file() or any(
                    Path(str(a) + ".reason").is_file() for a in p.parents if root / "quarantine" in a.parents)
                if not has:
                    problems.append(f"quarantined without a .reason: {rel}")
            elif parts[0] == "deadletter":
                for ln in p.read_text(errors="replace").splitlines():
                    if ln.strip():
                        try:
                            if not json.loads(ln).get("reason"):
                                problems.append(f"dead letter without reason in {rel}")
                                break
                        except ValueError:
                            problems.append(f"dead letter line is not JSON in {rel}")
                            break
        for p in problems[:12]:
            self.problem("spool: " + p)
        if len(problems) > 12:
            self.problem(f"spool: ... and {len(problems) - 12} more")

    # ---- data
    def trail(self, upload: bool = True, **spec) -> "gen.Trail":
        base = dict(seed=self.seed, accounts=1, regions=[REGION], days=1, files_per_prefix=3, records_per_file=8,
                    specials=False)
        base.update(spec)
        return self.pipe.generate(upload=upload, **base)

    def aws_env(self, url: str) -> dict:
        return {"AWS_ENDPOINT_URL": url, "AWS_ENDPOINT_URL_S3": url, "AWS_ENDPOINT_URL_STS": url}


def busy_retry(fn, *a, **kw):
    """fn(*a, **kw), retried while the binary is being replaced (ETXTBSY: a build is writing it)."""
    for i in range(30):
        try:
            return fn(*a, **kw)
        except OSError as e:
            if e.errno != 26 or i == 29:
                raise
            time.sleep(1)


def first_error(r: Result) -> str:
    for ln in (r.err + "\n" + r.out).splitlines():
        if ": error:" in ln or ": failed:" in ln:
            return ln.strip()[:400]
    lines = [x for x in r.err.splitlines() if x.strip()]
    return lines[-1].strip()[:400] if lines else ""


def xml_error(code: str, message: str, kind: str = "s3") -> str:
    if kind == "ec2":
        return (f'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}</Code>'
                f"<Message>{message}</Message></Error></Errors><RequestID>fault-suite</RequestID></Response>")
    if kind == "sts":
        return (f'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
                f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-suite</RequestId>"
                f"</ErrorResponse>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
            f"<RequestId>fault-suite</RequestId></Error>")


def _role_rx(account: str) -> str:
    return rf"Action=AssumeRole\b.*RoleArn=arn(%3A|:)aws(%3A|:)iam(%3A|:)(%3A|:){account}(%3A|:)role|" \
           rf"RoleArn=arn(%3A|:)aws(%3A|:)iam(%3A|:)(%3A|:){account}(%3A|:)role.*Action=AssumeRole\b"


# ====================================================================== cases: SIGKILL

def _calibrate(case: Case, stage: str, slow_bulk: float = 0.0, **over) -> float:
    """Seconds one undisturbed run of stage takes on a copy of the current spool (own index for load)."""
    cal = case.tmp / f"calibrate-{stage}"
    if case.pipe.spool.root.exists():
        shutil.copytree(case.pipe.spool.root, cal / "spool", symlinks=True)
    stops = []
    if stage == "load":
        other = peers.start_osmem(log_dir=str(case.suite.logs))
        stops.append(other.stop)
        url = other.url
        if slow_bulk:
            px = FaultProxy(other.url).start()
            stops.insert(0, px.stop)
            px.add_rule(mode="stall", path=r"_bulk$", seconds=slow_bulk, count=None)
            url = px.url
        over = {**over, "index": {**over.get("index", {}), "url": url}}
    try:
        cfg = case.pipe.write_config_copy(case.tmp / f"calibrate-{stage}.yaml", spool=str(cal / "spool"), **over)
        t = time.monotonic()
        r = busy_retry(case.pipe.run, stage, config_file=cfg, timeout=STAGE_TIMEOUT)
        took = time.monotonic() - t
    finally:
        for fn in stops:
            fn()
    if r.code != 0:
        case.problem(f"calibration run of {stage} exited {r.code}: {first_error(r)}")
        case.detail(r)
        raise CaseFailed()
    shutil.rmtree(cal, ignore_errors=True)
    return took


def _kill_loop(case: Case, stage: str, seconds: float, kills: int) -> None:
    """SIGKILL `kills` runs of stage, each at a random moment of the work it has left (the first run's
    duration shrinks with what earlier runs finished: the moment is drawn from what a run of the
    remaining work takes, estimated from the previous runs)."""
    landed = []
    left = seconds
    for i in range(kills):
        delay = 0.05 + left * case.rng.uniform(0.1, 0.4)    # ~50 ms: the process has started and taken its lock
        p = busy_retry(case.pipe.popen, stage)
        t = time.monotonic()
        hit = kill_at(p, delay)
        if not hit:
            case.record(stage, p.returncode)
            if p.returncode != 0:
                case.problem(f"{stage} (not killed) exited {p.returncode}: {p.out_path.read_text()[-500:]}")
            left = 0.0
        else:
            case.record(stage, "K")
            left = max(0.05, left - (time.monotonic() - t))
        landed.append((round(delay, 2), hit))
        bad = case.pipe.spool.check_invariants()
        if bad:
            case.problem(f"after SIGKILL #{i + 1} of {stage} at {delay:.2f}s: a partial file is visible: {bad[:3]}")
        if not hit:
            break
    case.note(f"{stage}: undisturbed run {seconds:.2f}s; kills (delay s, landed) {landed}")
    n = sum(1 for _, h in landed if h)
    case.check(n >= min(2, kills), f"only {n} SIGKILL(s) landed while {stage} was running: {landed}")


def _term_once(case: Case, stage: str, seconds: float) -> None:
    """SIGTERM one run of `stage` in the middle of its work: it stops at the next safe point, says so on
    one line and exits 143; nothing half-written is visible; the next run finishes the work."""
    for attempt in range(3):
        p = busy_retry(case.pipe.popen, stage)
        time.sleep(0.05 + seconds * case.rng.uniform(0.2, 0.5))
        if p.poll() is not None:
            seconds /= 2
            continue
        os.kill(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            case.problem(f"{stage} did not stop within 30 s of SIGTERM")
            return
        out = p.out_path.read_text()
        case.record(stage, p.returncode)
        case.check(p.returncode == 143, f"{stage} exited {p.returncode} after SIGTERM, want 143: {out[-300:]}")
        case.check("stopped by SIGTERM" in out, f"{stage} did not say it was stopped: {out[-300:]}")
        case.check("stopped:" in out, f"{stage} printed no summary line after SIGTERM: {out[-300:]}")
        bad = case.pipe.spool.check_invariants()
        case.check(not bad, f"after SIGTERM of {stage}: {bad[:3]}")
        case.out.message = next((l for l in out.splitlines() if "stopped by SIGTERM" in l), "")[:200]
        return
    case.note(f"{stage} finished before SIGTERM could land ({seconds:.2f}s runs)")


def case_term_stages(case: Case) -> None:
    q = case.suite.quick
    case.pipe.write_config(transform={"max_file_bytes": 8192}, cloudtrail={"batch_objects": 4},
                           index={"bulk_max_bytes": 16384, "bulk_concurrency": 1})
    p = case.proxy(case.osmem.url)
    p.add_rule(mode="stall", path=r"_bulk$", seconds=0.02, count=None)
    case.pipe.write_config(index={"url": p.url})
    trail = case.trail(accounts=2, regions=[REGION, "us-east-1"], days=1, files_per_prefix=8 if q else 12,
                       records_per_file=40)
    slow = case.proxy(case.suite.moto.url)
    slow.add_rule(mode="stall", method="GET", path=r"\.json\.gz$", seconds=0.02, count=None)
    for stage in ("fetch", "transform", "load"):
        env = case.aws_env(slow.url) if stage == "fetch" else None
        t = time.monotonic()
        probe = busy_retry(case.pipe.popen, stage, env=env) if stage == "fetch" else None
        if probe is not None:
            # fetch: SIGTERM the first run itself (the work is all ahead of it)
            time.sleep(0.3)
            if probe.poll() is None:
                os.kill(probe.pid, signal.SIGTERM)
                probe.wait(timeout=30)
                out = probe.out_path.read_text()
                case.record(stage, probe.returncode)
                case.check(probe.returncode == 143 and "stopped by SIGTERM" in out, f"fetch after SIGTERM: exit {probe.returncode}: {out[-300:]}")
                case.check(not case.pipe.spool.check_invariants(), "a partial file is visible after SIGTERM of fetch")
            else:
                case.note("fetch finished before SIGTERM")
            case.run("fetch", codes=(0,), env=env)
            continue
        _term_once(case, stage, max(0.2, time.monotonic() - t))
        case.run(stage, codes=(0,))
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


def case_kill_fetch(case: Case) -> None:
    q = case.suite.quick
    case.pipe.write_config(cloudtrail={"batch_objects": 10})
    trail = case.trail(accounts=2, regions=[REGION, "us-east-1"], days=2, files_per_prefix=20 if q else 30,
                       records_per_file=3)
    secs = _calibrate(case, "fetch")
    _kill_loop(case, "fetch", secs, 3 if q else 6)
    r = case.run("fetch", codes=(0,))
    keys = case.pipe.spool.raw_keys()
    missing = trail.log_keys() - set(keys)
    case.check(not missing, f"fetch after the kills: {len(missing)} log files never stored, e.g. {sorted(missing)[:2]}")
    case.check(set(keys) <= trail.log_keys(), "fetch stored keys that are not log files")
    case.note(f"fetch: {len(keys) - len(set(keys))} objects fetched again after a kill (at most one batch per kill)")
    rs = [r, case.run("transform", codes=(0,)), case.run("load", codes=(0,))]
    case.message(rs)
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


def case_kill_transform(case: Case) -> None:
    q = case.suite.quick
    # small NDJSON files and raw runs: many commit points (write, fsync, rename, checkpoint) to kill between
    case.pipe.write_config(transform={"max_file_bytes": 8192}, cloudtrail={"batch_objects": 4})
    trail = case.trail(accounts=2, regions=[REGION, "us-east-1"], days=2, files_per_prefix=12 if q else 16,
                       records_per_file=90 if q else 120)
    case.run("fetch", codes=(0,))
    secs = _calibrate(case, "transform")
    _kill_loop(case, "transform", secs, 3 if q else 6)
    rs = [case.run("transform", codes=(0,))]
    ids = {(a.get("index") or a.get("create"))["_id"] for a, _d, _l1, _l2 in case.pipe.spool.ndjson_docs()}
    case.check(ids == trail.expected_ids(), f"NDJSON after the kills: {len(trail.expected_ids() - ids)} documents missing, "
                                            f"{len(ids - trail.expected_ids())} unexpected")
    rs.append(case.run("load", codes=(0,)))
    case.message(rs)
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


def case_kill_load(case: Case) -> None:
    q = case.suite.quick
    slow = 0.03     # each _bulk answer takes 30 ms more: kills land while requests are in flight too
    p = case.proxy(case.osmem.url)
    p.add_rule(mode="stall", path=r"_bulk$", seconds=slow, count=None)
    case.pipe.write_config(index={"url": p.url, "bulk_max_bytes": 32768})
    trail = case.trail(accounts=2, regions=[REGION, "us-east-1"], files_per_prefix=3 if q else 5,
                       records_per_file=40 if q else 50)
    case.run("fetch", codes=(0,))
    case.run("transform", codes=(0,))
    secs = _calibrate(case, "load", slow_bulk=slow)
    _kill_loop(case, "load", secs, 3 if q else 6)
    rs = [case.run("load", codes=(0,))]
    resent = sum(1 for n in p.stats()["ids_forwarded"].values() if n > 1)
    case.note(f"load: {resent} documents sent again after a kill (overwritten: same _id)")
    case.message(rs)
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


# ====================================================================== cases: two copies at once

def _two_at_once(case: Case, stage: str, env: Optional[dict] = None) -> None:
    a = busy_retry(case.pipe.popen, stage, env=env)
    b = busy_retry(case.pipe.popen, stage, env=env)
    for p in (a, b):
        try:
            p.wait(timeout=STAGE_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            case.problem(f"a copy of {stage} did not finish within {STAGE_TIMEOUT:.0f} s")
    outs = [a.out_path.read_text(errors="replace"), b.out_path.read_text(errors="replace")]
    for p, o in zip((a, b), outs):
        case.record(stage, p.returncode)
        if p.returncode != 0:
            case.problem(f"a copy of {stage} exited {p.returncode}: {o.strip().splitlines()[-1:]}")
            case.out.details.append(f"$ {' '.join(p.cmd)}\n-> exit {p.returncode}\n{o[-3000:]}")
    said = [bool(ANOTHER.search(o)) for o in outs]
    case.check(sum(said) == 1, f"{stage}: {sum(said)} of the two copies said another copy is running (want exactly 1: "
                               f"the copies must overlap and only one may work)")
    line = next((ln for o in outs for ln in o.splitlines() if ANOTHER.search(ln)), "")
    case.out.message = line.strip()


def case_overlap_fetch(case: Case) -> None:
    trail = case.trail(accounts=1, files_per_prefix=4)
    slow = case.proxy(case.suite.moto.url)
    slow.add_rule(mode="stall", method="GET", path=r"\.json\.gz$", seconds=2, count=1)
    _two_at_once(case, "fetch", env=case.aws_env(slow.url))
    keys = case.pipe.spool.raw_keys()
    case.check(sorted(keys) == sorted(trail.log_keys()),
               f"raw runs hold {len(keys)} objects ({len(set(keys))} distinct) for {len(trail.log_keys())} log files")
    msg = case.out.message
    case.run("transform", codes=(0,))
    case.run("load", codes=(0,))
    case.out.message = msg
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


def case_overlap_transform(case: Case) -> None:
    q = case.suite.quick
    case.pipe.write_config(transform={"max_file_bytes": 65536})
    trail = case.trail(accounts=2, regions=[REGION, "us-east-1"], files_per_prefix=4, records_per_file=60 if q else 90)
    case.run("fetch", codes=(0,))
    _two_at_once(case, "transform")
    docs = case.pipe.spool.ndjson_docs()
    ids = [(a.get("index") or a.get("create"))["_id"] for a, _d, _l1, _l2 in docs]
    case.check(len(ids) == len(set(ids)) == len(trail.expected_ids()),
               f"NDJSON holds {len(ids)} documents ({len(set(ids))} distinct) for {len(trail.expected_ids())} records "
               f"(both copies transformed?)")
    msg = case.out.message
    case.run("load", codes=(0,))
    case.out.message = msg
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


def case_overlap_load(case: Case) -> None:
    trail = case.trail(accounts=1, files_per_prefix=3)
    p = case.proxy(case.osmem.url)
    case.pipe.write_config(index={"url": p.url})
    case.run("fetch", codes=(0,))
    case.run("transform", codes=(0,))
    p.add_rule(mode="stall", path=r"_bulk$", seconds=2, count=1)
    _two_at_once(case, "load")
    sent = {i: n for i, n in p.stats()["ids_forwarded"].items() if n > 1}
    case.check(not sent, f"{len(sent)} documents were sent twice (both copies loaded?)")
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


# ====================================================================== cases: the index misbehaves

def _index_world(case: Case, bulk_max_bytes: int = 12000):
    p = case.proxy(case.osmem.url)
    case.pipe.write_config(index={"url": p.url, "bulk_max_bytes": bulk_max_bytes, "timeout_seconds": 2,
                                  "max_retries": 3})
    trail = case.trail(accounts=1, files_per_prefix=3, records_per_file=12)
    case.run("fetch", codes=(0,))
    case.run("transform", codes=(0,))
    return p, trail


def _load_until_done(case: Case, runs: int = 4) -> list:
    out = []
    for _ in range(runs):
        r = case.run("load")
        out.append(r)
        if r.code == 0:
            return out
        if r.code != 1:
            case.problem(f"load exited {r.code} (want 0, or 1 = retry later): {first_error(r)}")
            case.detail(r)
            return out
    case.problem(f"load did not finish in {runs} runs")
    return out


def _index_finish(case: Case, trail, rs: list, names=(), hint=True) -> None:
    case.message(rs, names=names, hint=hint, what="the index / its URL")
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


def case_index_429(case: Case) -> None:
    p, trail = _index_world(case)
    case.pipe.write_config(index={"max_retries": 6})   # 2 whole-request + 2 per-item refusals hit the same batch
    p.add_rule(mode="status", status=429, path=r"_bulk$", count=2, retry_after=1)
    p.add_rule(mode="bulk_partial", path=r"_bulk$", reject_every=3, count=2)
    r = case.run("load", codes=(0,), why="two 429 answers and two per-item 429s are retried within the run")
    st = p.stats()
    case.check(st["per_status"].get("429") == 2 and st["bulk_docs_rejected"] > 0, f"faults not applied: {st['faults']}")
    resent = {i: n for i, n in st["ids_forwarded"].items() if n > 1}
    rejected = st["bulk_docs_rejected"]
    case.check(len(resent) <= rejected, f"{len(resent)} documents resent, only {rejected} were refused per item")
    _index_finish(case, trail, [r], names=["429"], hint=False)


def case_index_503(case: Case) -> None:
    p, trail = _index_world(case)
    p.add_rule(mode="status", status=503, path=r"_bulk$", count=2, retry_after=1)
    r = case.run("load", codes=(0,), why="two 503 answers are retried within the run")
    case.check(p.stats()["per_status"].get("503") == 2, "the 503s were not served")
    _index_finish(case, trail, [r], names=["503"], hint=False)


def case_index_close(case: Case) -> None:
    p, trail = _index_world(case)
    # the first bulk request is applied but its answer lost; the second is cut before it reaches the index
    p.add_rule(mode="close", path=r"_bulk$", forward=True, count=1)
    p.add_rule(mode="close", path=r"_bulk$", count=1)
    rs = _load_until_done(case)
    case.check(p.stats()["faults"].get("close") == 2, f"faults: {p.stats()['faults']}")
    _index_finish(case, trail, rs, names=[p.url.split("//")[1], "_bulk"], hint=False)


def case_index_stall(case: Case) -> None:
    p, trail = _index_world(case)
    # index.timeout_seconds is 2; the index answers nothing for 12 s (past every limit derived from it)
    p.add_rule(mode="stall", path=r"_bulk$", seconds=12, then="close", count=1)
    t = time.monotonic()
    rs = _load_until_done(case)
    took = time.monotonic() - t
    case.check(p.stats()["faults"].get("stall") == 1, f"faults: {p.stats()['faults']}")
    case.check(took < 12, f"load waited {took:.1f} s for a silent index (index.timeout_seconds 2): not abandoned")
    m = re.search(r"timed out after (\d+) milliseconds", "".join(r.err for r in rs))
    if m:
        case.note(f"index.timeout_seconds 2: the silent _bulk request was abandoned after {int(m.group(1)) / 1000:.1f} s")
    _index_finish(case, trail, rs, names=["timed out", "Timeout", p.url.split("//")[1]], hint=False)


def case_index_down(case: Case) -> None:
    p, trail = _index_world(case)
    p.down()
    r1 = case.run("load", codes=(1,), why="the index is unreachable for the whole run")
    case.check(Index(case.osmem.url).total() == 0, "documents were indexed although the index was down")
    case.message([r1], names=[p.url, p.url.split("//")[1]], what="the index URL")
    msg = case.out.message
    p.up()
    case.run("load", codes=(0,), why="the index is back")
    case.out.message = msg
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


def case_index_429_forever(case: Case) -> None:
    p, trail = _index_world(case)
    p.add_rule(mode="status", status=429, path=r"_bulk$", count=None, retry_after=0)
    r1 = case.run("load", codes=(1,), why="429 outlasting the retries leaves the work for the next run")
    case.message([r1], names=[p.url, "429", "_bulk"], what="the index / the 429")
    msg = case.out.message
    p.clear()
    case.run("load", codes=(0,))
    case.out.message = msg
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


def case_index_rejects_document(case: Case) -> None:
    p, trail = _index_world(case)
    p.add_rule(mode="bulk_partial", path=r"_bulk$", reject_first=1, item_status=400, count=1)
    r = case.run("load", codes=(3,), why="a document the index refuses for good is dead-lettered")
    n, _ = case.quarantine()
    case.check(n == 1, f"{n} dead letters, want 1")
    gone = set()
    for f in (case.pipe.spool.root / "deadletter").rglob("*.ndjson"):
        for ln in f.read_text().splitlines():
            if ln.strip():
                a = json.loads(ln)["action"]
                gone.add((a.get("index") or a.get("create"))["_id"])
    case.message([r], names=["deadletter"], what="the dead-letter file")
    r2 = case.run("load", codes=(0,))
    case.check("documents=0" in r2.out, "the next load sent documents again")
    # the dead-lettered document is accounted for (quarantined with its reason), not lost
    recs = trail.expected_records()
    case.measure_trail(_Subset(trail, set(recs) - gone), accounted=gone)
    case.out.expected = len(recs)
    case.out.lost = len(set(recs) - set(Index(case.osmem.url).docs()) - gone)
    case.audit()


class _Subset:
    """A trail restricted to some event ids (for measures)."""

    def __init__(self, trail, ids: set):
        self._recs = {i: r for i, r in trail.expected_records().items() if i in ids}

    def expected_records(self) -> dict:
        return self._recs

    def expected_ids(self) -> set:
        return set(self._recs)


# ====================================================================== cases: AWS misbehaves

def _aws_world(case: Case, **spec):
    p = case.proxy(case.suite.moto.url)
    case.pipe.write_config(aws={"timeout_seconds": 2, "max_retries": 3})
    trail = case.trail(**spec)
    return p, trail, case.aws_env(p.url)


def _list_path(case: Case) -> str:
    return rf"^/{re.escape(case.bucket)}/?$"


def case_aws_throttling(case: Case) -> None:
    p, trail, env = _aws_world(case)
    p.add_rule(mode="status", method="GET", path=_list_path(case), status=503, count=1,
               body=xml_error("SlowDown", "Please reduce your request rate."), content_type="application/xml")
    p.add_rule(mode="status", method="GET", path=r"\.json\.gz$", status=503, count=2, retry_after=1,
               body=xml_error("SlowDown", "Please reduce your request rate."), content_type="application/xml")
    p.add_rule(mode="status", method="GET", path=r"\.json\.gz$", status=400, count=1,
               body=xml_error("Throttling", "Rate exceeded"), content_type="application/xml")
    r = case.run("fetch", codes=(0,), env=env, why="throttling within the retries")
    case.check(p.stats()["faults"].get("status") == 4, f"faults: {p.stats()['faults']}")
    case.run("transform", codes=(0,))
    case.run("load", codes=(0,))
    case.message([r], names=["SlowDown", "Throttling"], hint=False)
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


def case_aws_500(case: Case) -> None:
    p, trail, env = _aws_world(case)
    p.add_rule(mode="status", method="GET", path=_list_path(case), status=500, count=1,
               body=xml_error("InternalError", "We encountered an internal error. Please try again."),
               content_type="application/xml")
    p.add_rule(mode="status", method="GET", path=r"\.json\.gz$", status=500, count=2,
               body=xml_error("InternalError", "We encountered an internal error. Please try again."),
               content_type="application/xml")
    r = case.run("fetch", codes=(0,), env=env, why="500s within the retries")
    case.check(p.stats()["per_status"].get("500") == 3, f"per status: {p.stats()['per_status']}")
    case.run("transform", codes=(0,))
    case.run("load", codes=(0,))
    case.message([r], names=["InternalError", "500"], hint=False)
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


def case_aws_slow(case: Case) -> None:
    p, trail, env = _aws_world(case)
    p.add_rule(mode="stall", method="GET", path=r"\.json\.gz$", seconds=4, count=1)    # past aws.timeout_seconds (2)
    p.add_rule(mode="stall", method="GET", path=r"\.json\.gz$", seconds=1, count=2)    # slow but in time
    p.add_rule(mode="stall", method="GET", path=_list_path(case), seconds=1, count=1)
    r = case.run("fetch", codes=(0,), env=env, why="slow answers, one past the timeout, are retried")
    case.check(p.stats()["faults"].get("stall") == 4, f"faults: {p.stats()['faults']}")
    case.run("transform", codes=(0,))
    case.run("load", codes=(0,))
    case.message([r], names=["timed out", "Timeout", "timeout"], hint=False)
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


def case_aws_throttling_forever(case: Case) -> None:
    p, trail, env = _aws_world(case)
    p.add_rule(mode="status", method="GET", path=r"\.json\.gz$", status=503, count=None,
               body=xml_error("SlowDown", "Please reduce your request rate."), content_type="application/xml")
    r1 = case.run("fetch", codes=(1,), env=env, why="throttling outlasting the retries leaves the work for the next run")
    keys = sorted(trail.log_keys())
    prefixes = sorted({k.split("/CloudTrail/")[0] + "/CloudTrail/" + k.split("/CloudTrail/")[1].split("/")[0] + "/"
                       for k in keys})
    case.message([r1], names=keys + [k.rsplit("/", 1)[1] for k in keys] + prefixes, what="the S3 key or its prefix")
    msg = case.out.message
    if not any(k in msg or k.rsplit("/", 1)[1] in msg for k in keys):
        case.note("the message names the account/region prefix whose files are retried, not the object key "
                  "that was throttled")
    case.check(case.pipe.spool.raw_runs() == [], "a raw run was written although no object could be read")
    p.clear()
    case.run("fetch", codes=(0,), env=env)
    case.run("transform", codes=(0,))
    case.run("load", codes=(0,))
    case.out.message = msg
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


def case_aws_expired_profile(case: Case) -> None:
    """A role profile (role_arn + source_profile): ExpiredToken mid-run -> AssumeRole again, run succeeds."""
    p, trail, env = _aws_world(case, files_per_prefix=4)
    home = case.pipe.home
    (home / "aws-config").write_text(f"[profile reader]\nrole_arn = arn:aws:iam::{BASE_ACCOUNT}:role/CloudspoolReader\n"
                                     f"source_profile = base\nregion = {REGION}\n\n[profile base]\nregion = {REGION}\n")
    (home / "aws-credentials").write_text("[base]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    env.update({"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_PROFILE": "reader",
                "AWS_CONFIG_FILE": str(home / "aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials")})
    p.add_rule(mode="status", method="GET", path=r"\.json\.gz$", status=400, skip=1, count=1,
               body=xml_error("ExpiredToken", "The provided token has expired."), content_type="application/xml")
    p.add_rule(mode="pass", body_regex=r"Action=AssumeRole\b", count=None)
    r = case.run("fetch", codes=(0,), env=env, why="expired credentials are renewed (AssumeRole) and the call retried")
    rules = p.stats()["rules"]
    case.check(rules[0]["applied"] == 1, "the ExpiredToken answer was not served")
    case.check(rules[1]["applied"] == 2, f"AssumeRole was called {rules[1]['applied']} times (want 2: start + renewal "
                                         f"after ExpiredToken)")
    case.run("transform", codes=(0,))
    case.run("load", codes=(0,))
    case.message([r], names=["expired", "ExpiredToken", "renew"], hint=False)
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


# ---- inventory (accounts through the read-only role)

def _inventory_world(case: Case, accounts: list):
    p = case.proxy(case.suite.moto.url)
    case.pipe.write_config(cloudtrail=DELETE, aws={"timeout_seconds": 3, "max_retries": 2},
                           inventory={"accounts": accounts, "regions": [REGION], "role_name": ROLE,
                                      "lookup_events": 0, "concurrency": 2})
    # moto has no AWS Backup ListBackupJobs: answer it (empty) as AWS would
    p.add_rule(mode="status", method="GET", path=r"^/backup-jobs/?$", status=200, count=None,
               body='{"BackupJobs":[]}', content_type="application/json")
    return p, case.aws_env(p.url)


def _inventory_expected(case: Case, accounts: list) -> set:
    sts = case.suite.boto("sts")
    ids = set()
    runs = [r.name for r in Spool(case.pipe.spool.root, "inventory").raw_runs()]
    for acct in accounts:
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{acct}:role/{ROLE}", RoleSessionName="fault-suite")["Credentials"]
        ec2 = case.suite.boto("ec2", creds)
        for sg in ec2.describe_security_groups()["SecurityGroups"]:
            ids.add(f"ec2.security_group:{acct}:{REGION}:{sg['GroupId']}")
        for v in ec2.describe_volumes()["Volumes"]:
            ids.add(f"ec2.volume:{acct}:{REGION}:{v['VolumeId']}")
        for run in runs:
            ids.add(f"summary:{acct}:{REGION}:{run}")
    return ids


def _measure_ids(case: Case, expected: set, stem: str) -> None:
    docs = Index(case.osmem.url, stem).docs()
    present = set(docs)
    case.out.expected = len(expected)
    case.out.indexed = len(expected & present)
    case.out.duplicates = sum(len(v) - 1 for v in docs.values())
    case.out.lost = len(expected - present)
    case.check(not (expected - present), f"{len(expected - present)} expected documents missing: "
                                          f"{sorted(expected - present)[:3]}")
    case.check(case.out.duplicates == 0, f"{case.out.duplicates} documents indexed more than once")
    case.check(not (present - expected), f"{len(present - expected)} documents no input explains: "
                                          f"{sorted(present - expected)[:3]}")


def case_aws_expired_assumed_role(case: Case) -> None:
    accounts = ["111111111111", "222222222222"]
    p, env = _inventory_world(case, accounts)
    p.add_rule(mode="status", method="POST", body_regex=r"Action=DescribeVolumes\b", status=400, count=1,
               body=xml_error("ExpiredToken", "The security token included in the request is expired", "ec2"),
               content_type="text/xml")
    p.add_rule(mode="pass", body_regex=r"Action=AssumeRole\b", count=None)
    r = case.run("fetch", codes=(0,), env=env, why="an expired assumed role is assumed again and the call retried")
    rules = p.stats()["rules"]
    case.check(rules[1]["applied"] == 1, "the ExpiredToken answer was not served")
    case.check(rules[2]["applied"] == len(accounts) + 1,
               f"AssumeRole was called {rules[2]['applied']} times (want {len(accounts) + 1}: one per account + "
               f"the renewal after ExpiredToken)")
    case.run("transform", codes=(0,))
    case.run("load", codes=(0,))
    case.message([r], names=["expired", "ExpiredToken", "renew"], hint=False)
    _measure_ids(case, _inventory_expected(case, accounts), "awscli")
    case.quarantine()
    case.audit()


def case_aws_ec2_throttling(case: Case) -> None:
    accounts = ["111111111111", "222222222222"]
    p, env = _inventory_world(case, accounts)
    p.add_rule(mode="status", method="POST", body_regex=r"Action=DescribeSecurityGroups\b", status=503, count=2,
               body=xml_error("RequestLimitExceeded", "Request limit exceeded.", "ec2"), content_type="text/xml")
    p.add_rule(mode="status", method="POST", body_regex=r"Action=DescribeVolumes\b", status=500, count=1,
               body=xml_error("InternalError", "An internal error has occurred", "ec2"), content_type="text/xml")
    r = case.run("fetch", codes=(0,), env=env, why="EC2 throttling and a 500 within the retries")
    case.check(p.stats()["rules"][1]["applied"] == 2 and p.stats()["rules"][2]["applied"] == 1,
               "the faults were not served")
    case.run("transform", codes=(0,))
    case.run("load", codes=(0,))
    case.message([r], names=["RequestLimitExceeded"], hint=False)
    _measure_ids(case, _inventory_expected(case, accounts), "awscli")
    case.quarantine()
    case.audit()


def case_aws_ec2_throttling_forever(case: Case) -> None:
    accounts = ["111111111111"]
    p, env = _inventory_world(case, accounts)
    p.add_rule(mode="status", method="POST", body_regex=r"Action=DescribeSecurityGroups\b", status=503, count=None,
               body=xml_error("RequestLimitExceeded", "Request limit exceeded.", "ec2"), content_type="text/xml")
    r1 = case.run("fetch", codes=(1,), env=env, why="throttling outlasting the retries: work left for the next run")
    case.message([r1], names=accounts, what=f"account {accounts[0]}")
    msg = case.out.message
    p.clear()
    p.add_rule(mode="status", method="GET", path=r"^/backup-jobs/?$", status=200, count=None,
               body='{"BackupJobs":[]}', content_type="application/json")
    case.run("fetch", codes=(0,), env=env)
    case.run("transform", codes=(0,))
    case.run("load", codes=(0,))
    case.out.message = msg
    _measure_ids(case, _inventory_expected(case, accounts), "awscli")
    case.quarantine()
    case.audit()


def case_aws_role_denied(case: Case) -> None:
    good, denied = ["111111111111", "222222222222"], "333333333333"
    p, env = _inventory_world(case, good[:1] + [denied] + good[1:])
    p.add_rule(mode="status", method="POST", body_regex=_role_rx(denied), status=403, count=None,
               body=xml_error("AccessDenied", f"User: arn:aws:iam::{BASE_ACCOUNT}:user/testing is not authorized to "
                                              f"perform: sts:AssumeRole on resource: arn:aws:iam::{denied}:role/{ROLE}",
                              "sts"), content_type="text/xml")
    r = case.run("fetch", codes=(3,), env=env, why="an account that cannot be entered is reported, the others collected")
    case.check(p.stats()["rules"][1]["applied"] >= 1, "the AccessDenied answer was not served")
    case.message([r], names=[denied], what=f"account {denied}")
    case.run("transform", codes=(0,))
    case.run("load", codes=(0,))
    _measure_ids(case, _inventory_expected(case, good), "awscli")
    case.quarantine()
    case.audit()


# ====================================================================== cases: bad input (CloudTrail)

def _corrupt_case(case: Case, kind: str) -> None:
    trail = case.trail(files_per_prefix=2, records_per_file=6)
    bad = gen.corrupt_objects(case.seed, case.pipe.prefix, trail.org_id, trail.accounts[0], REGION, trail.spec.start,
                              kinds=[kind], accounts=trail.accounts)
    trail.add(bad)
    trail.upload(case.pipe.s3, case.bucket, objects=bad)
    rf = case.run("fetch", codes=(0,))
    rt = case.run("transform", codes=(3,), why=f"a {kind} file is quarantined (partial)")
    rl = case.run("load", codes=(0,))
    key = bad[0].key
    case.message([rf, rt, rl], names=[key, key.rsplit("/", 1)[1]], what=f"the file {key.rsplit('/', 1)[1]}")
    if kind in gen.RECORD_CORRUPT_KINDS:
        rej = "".join(q.read_text() for q in (case.pipe.spool.root / "quarantine").rglob("*.rejected.ndjson"))
        case.check("eventTime" in case.out.message + rt.text + rej,
                   "neither the message nor the rejected record's reason names the field (eventTime)")
    n, _ = case.quarantine()
    want = len(bad[0].rejected) if kind in gen.RECORD_CORRUPT_KINDS else 1
    case.check(n == want, f"{n} quarantined, want {want}")
    qroot = case.pipe.spool.root / "quarantine" / "transform"
    held = [q for q in qroot.rglob("*") if q.is_file()] if qroot.is_dir() else []
    if kind in gen.FILE_CORRUPT_KINDS:
        copy_ = [q for q in held if q.as_posix().endswith("/" + key)]
        case.check(len(copy_) == 1 and copy_[0].read_bytes() == bad[0].body,
                   f"the quarantined copy of {key} is missing or differs")
    else:
        rej = [q for q in held if q.name.endswith(".rejected.ndjson")]
        case.check(len(rej) == 1 and bad[0].rejected[0]["requestID"] in rej[0].read_text(),
                   "the rejected record is not in a .rejected.ndjson file")
    case.measure_trail(trail)
    case.audit()


def case_bad_truncated_gz(case: Case) -> None:
    _corrupt_case(case, "truncated_gzip")


def case_bad_not_gzip(case: Case) -> None:
    _corrupt_case(case, "not_gzip")


def case_bad_gzip_invalid_json(case: Case) -> None:
    _corrupt_case(case, "invalid_json")


def case_bad_no_event_time(case: Case) -> None:
    _corrupt_case(case, "no_event_time")


def case_bad_event_time(case: Case) -> None:
    _corrupt_case(case, "bad_event_time")


def case_bad_event_time_year_zero(case: Case) -> None:
    _corrupt_case(case, "year_zero_event_time")


def case_bad_invalid_utf8(case: Case) -> None:
    trail = case.trail(files_per_prefix=2, records_per_file=6)
    bad = gen.corrupt_objects(case.seed, case.pipe.prefix, trail.org_id, trail.accounts[0], REGION, trail.spec.start,
                              kinds=["invalid_utf8"], accounts=trail.accounts)
    trail.add(bad)
    trail.upload(case.pipe.s3, case.bucket, objects=bad)
    case.run("fetch", codes=(0,))
    rt = case.run("transform", codes=(0,), why="invalid UTF-8 inside a string is replaced by U+FFFD and counted")
    case.check("utf8_repaired=1" in rt.out, f"transform does not count the repaired record: {rt.out.strip()[-200:]}")
    for f in case.pipe.spool.ndjson_files():
        try:
            f.read_bytes().decode("utf-8")
        except UnicodeDecodeError as e:
            case.problem(f"{f.name} holds invalid UTF-8: {e}")
    case.run("load", codes=(0,))
    case.out.message = "utf8_repaired=1"
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


def case_bad_future_key(case: Case) -> None:
    """Anyone who can write into the trail bucket names a file as delivered in 2099 (in its own 2099 folder,
    and under a real day's folder): it is fetched once with a warning, and real files delivered later are
    still fetched (the listing checkpoint never moves past now)."""
    trail = case.trail(files_per_prefix=2, records_per_file=4)
    src = next(o for o in trail.objects if o.kind == "log")
    acct, region = src.account, src.region
    base = src.key.rsplit("/", 4)[0]          # .../CloudTrail/<region>

    def log_object(key: str, n: int) -> "gen.S3Object":
        records = []
        for r in src.records[:n]:
            r = dict(r, eventID=str(uuid.uuid5(uuid.NAMESPACE_URL, key + r["eventID"])))
            records.append(r)
        return gen.S3Object(key=key, body=gen._gzip(json.dumps({"Records": records}).encode()), kind="log",
                            account=acct, region=region, records=records)

    day = src.key.rsplit("/", 4)[1:4]
    forged = [log_object(f"{base}/2099/01/01/{acct}_CloudTrail_{region}_20990101T0005Z_forged1.json.gz", 2),
              log_object(f"{base}/{'/'.join(day)}/{acct}_CloudTrail_{region}_20991231T2355Z_forged2.json.gz", 2)]
    trail.add(forged)
    trail.upload(case.pipe.s3, case.bucket, objects=forged)
    r1 = case.run("fetch", codes=(3,), why="a future-dated key is fetched and reported")
    case.message([r1], names=["2099"], what="the future-dated key", hint=False)
    msg = case.out.message
    now = datetime.now(timezone.utc) - timedelta(minutes=1)
    later = log_object(f"{base}/{now:%Y/%m/%d}/{acct}_CloudTrail_{region}_{now:%Y%m%dT%H%M}Z_real.json.gz", 3)
    trail.add([later])
    trail.upload(case.pipe.s3, case.bucket, objects=[later])
    case.run("fetch", codes=(0,), why="the next real file is fetched; the forged ones are not fetched again")
    keys = case.pipe.spool.raw_keys()
    case.check(later.key in keys, "a real log file delivered after the forged one was never fetched")
    case.check(sorted(keys) == sorted(set(keys)), "a file was fetched twice")
    case.run("transform", codes=(0,))
    case.run("load", codes=(0,))
    case.out.message = msg
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


# ====================================================================== cases: bad input (CUR)

CUR_PREFIX, CUR_REPORT, CUR_STEM = "cur", "cloudspool-cur", "awsbilling"


def _cur_world(case: Case):
    rep = gen_cur.generate(gen_cur.Spec(mode="legacy", bucket=case.bucket, prefix=CUR_PREFIX, name=CUR_REPORT,
                                        seed=case.seed, rows=48, closed_months=0, revisions=1, files=2))
    case.pipe.write_config(cloudtrail=DELETE, billing={"bucket": case.bucket, "prefix": CUR_PREFIX,
                                                       "report_name": CUR_REPORT, "months": 1},
                           index={"names": {"billing": CUR_STEM}})
    good = rep.current.newest
    rep.publish_revision(case.pipe.s3, case.bucket, good)
    case.run_all()
    return rep, good


def _cur_physical(rev) -> str:
    return f"cloudspool-{CUR_STEM}-{rev.period.label}-{rev.revision_id.lower()}"


def _cur_measure(case: Case, good, bad) -> None:
    url = case.osmem.url
    http("POST", f"{url}/_refresh")
    alias = f"{CUR_STEM}-{good.period.label}"
    st, body = http("GET", f"{url}/_cat/aliases?format=json")
    targets = sorted(a["index"] for a in (body or []) if a["alias"] == alias)
    case.check(targets == [_cur_physical(good)], f"alias {alias} -> {targets}, want [{_cur_physical(good)}]")
    st, body = http("GET", f"{url}/{alias}/_count")
    n = body.get("count", 0) if st == 200 and isinstance(body, dict) else 0
    want = good.facts()["rows"]
    st, cat = http("GET", f"{url}/_cat/indices?format=json")
    bad_ix = [i for i in cat if i["index"] == _cur_physical(bad)]
    case.check(not bad_ix, f"an index of the bad revision exists: {bad_ix}")
    case.out.expected = want
    case.out.indexed = min(n, want)
    case.out.duplicates = max(0, n - want)
    case.out.lost = max(0, want - n)
    case.check(n == want, f"{alias} holds {n} line items, the good revision has {want}")


def case_bad_cur_extra_column(case: Case) -> None:
    rep, good = _cur_world(case)
    bad = gen_cur.good_revision(rep, rows=30, files=2)
    body = bad.body(0)
    rows = list(csv.reader(io.StringIO(gzip.decompress(body).decode("utf-8"), newline="")))
    at = len(rows) // 2
    rows[at] = rows[at] + ["an-extra-column"]
    text = io.StringIO(newline="")
    csv.writer(text, lineterminator="\n").writerows(rows)
    bad._bodies[0] = gzip.compress(text.getvalue().encode("utf-8"), mtime=0)
    bad.broken = "extra_column"
    rep.publish_revision(case.pipe.s3, case.bucket, bad)
    rf = case.run("fetch", codes=(0,))
    rt = case.run("transform", codes=(3,), why="a CUR row with too many columns quarantines the revision")
    rl = case.run("load", codes=(0,))
    name = bad.data_key(0).rsplit("/", 1)[1]
    case.message([rf, rt, rl], names=[bad.data_key(0), name], what=f"the report file {name}")
    qroot = case.pipe.spool.root / "quarantine" / "transform"
    case.check(qroot.is_dir() and any(p.name.endswith(".reason") for p in qroot.rglob("*")),
               "no .reason in quarantine/transform")
    case.quarantine()
    _cur_measure(case, good, bad)
    case.audit()


def case_bad_cur_missing_file(case: Case) -> None:
    rep, good = _cur_world(case)
    bad = gen_cur.broken_revision(rep, "missing_key", rows=20)
    rep.publish_revision(case.pipe.s3, case.bucket, bad)
    missing = bad.report_keys()[-1]
    rf = case.run("fetch", codes=(3,), why="a manifest naming a missing file quarantines what was fetched")
    rt = case.run("transform", codes=(0,))
    rl = case.run("load", codes=(0,))
    case.message([rf, rt, rl], names=[missing], what=f"the missing key {missing}")
    qroot = case.pipe.spool.root / "quarantine" / "fetch"
    case.check(qroot.is_dir() and any(p.name.endswith(".reason") for p in qroot.rglob("*")),
               "no .reason in quarantine/fetch")
    case.quarantine()
    _cur_measure(case, good, bad)
    case.audit()


def case_bad_cur_empty_revision(case: Case) -> None:
    """A new revision whose manifest lists no report files, then one whose rows collapse: neither replaces the
    good month (alias unchanged, exit 3 with the reason); allowing it in the config switches the empty one in."""
    rep, good = _cur_world(case)
    empty = gen_cur.good_revision(rep, rows=0, files=0)
    rep.publish_revision(case.pipe.s3, case.bucket, empty)
    time.sleep(1.1)   # run ids order revisions only to the second (cron runs are minutes apart)
    case.run("fetch", codes=(0,))
    case.run("transform", codes=(0,))
    rl = case.run("load", codes=(3,), why="an empty revision does not replace a good month")
    case.message([rl], names=["no line items", "allow_empty_revision"], what="the empty revision", hint=False)
    msg = case.out.message

    def alias_holds_good():
        http("POST", f"{case.osmem.url}/_refresh")
        alias = f"{CUR_STEM}-{good.period.label}"
        st, body = http("GET", f"{case.osmem.url}/_cat/aliases?format=json")
        targets = sorted(a["index"] for a in (body or []) if a["alias"] == alias)
        case.check(targets == [_cur_physical(good)], f"alias {alias} -> {targets}, want [{_cur_physical(good)}]")
        st, body = http("GET", f"{case.osmem.url}/{alias}/_count")
        case.check(st == 200 and body.get("count") == good.facts()["rows"], f"{alias} holds {body}, want {good.facts()['rows']}")
        case.out.expected, case.out.indexed = good.facts()["rows"], body.get("count", 0) if isinstance(body, dict) else 0
        case.out.lost, case.out.duplicates = case.out.expected - case.out.indexed, 0

    alias_holds_good()
    collapsed = gen_cur.good_revision(rep, rows=3, files=1)
    rep.publish_revision(case.pipe.s3, case.bucket, collapsed)
    time.sleep(1.1)
    case.run("fetch", codes=(0,))
    case.run("transform", codes=(0,))
    r2 = case.run("load", codes=(3,), why="a revision with 94% fewer rows is not switched in")
    case.check("max_drop_percent" in r2.err, f"the refusal does not name billing.max_drop_percent: {r2.err[-300:]}")
    alias_holds_good()
    case.pipe.write_config(billing={"max_drop_percent": 100})
    case.run("load", codes=(0,), why="with the check off the collapsed revision is switched in")
    http("POST", f"{case.osmem.url}/_refresh")
    st, body = http("GET", f"{case.osmem.url}/{CUR_STEM}-{good.period.label}/_count")
    case.check(st == 200 and body.get("count") == collapsed.facts()["rows"], f"after accepting it: {body}")
    case.out.message = msg
    case.quarantine()


# ====================================================================== cases: the spool holds strange things

def case_spool_tampered_raw(case: Case) -> None:
    """A raw log file changed after fetch (a valid log file with one record altered) and another cut short:
    transform checks size and SHA-256 against the manifest and quarantines both with the reason."""
    trail = case.trail(files_per_prefix=3, records_per_file=5)
    case.run("fetch", codes=(0,))
    files = sorted(p for p in (case.pipe.spool.root / "raw" / "cloudtrail").rglob("*.json.gz"))
    changed, cut = files[0], files[1]
    # a valid log file with one record altered (what someone hiding a call would write)
    doc = json.loads(gzip.decompress(changed.read_bytes()))
    doc["Records"][0]["eventName"] = "NothingToSeeHere"
    changed.write_bytes(gzip.compress(json.dumps(doc).encode()))
    cut.write_bytes(cut.read_bytes()[:-10])
    keys = {str(p.relative_to(p.parents[len(p.relative_to(case.pipe.spool.root / "raw" / "cloudtrail").parts) - 2])) for p in (changed, cut)}
    rt = case.run("transform", codes=(3,), why="files that differ from the manifest are quarantined")
    case.message([rt], names=["SHA-256", "bytes"], what="the changed file", hint=False)
    n, text = case.quarantine()
    case.check(n == 2, f"{n} quarantined, want 2")
    reasons = "".join(q.read_text() for q in (case.pipe.spool.root / "quarantine").rglob("*.reason"))
    case.check(reasons.count("the manifest") == 2, f"the reasons do not say what differs from the manifest: {reasons}")
    case.run("load", codes=(0,))
    gone = set()
    for p in (changed, cut):
        key = next(e["parameters"]["Key"] for e in json.loads((p.parents[len(p.relative_to(case.pipe.spool.root / "raw" / "cloudtrail").parts) - 2] / "manifest.json").read_text())["entries"]
                   if p.as_posix().endswith(e["path"]))
        gone |= {r["eventID"] for o in trail.objects if o.key == key for r in o.records}
    recs = trail.expected_records()
    case.measure_trail(_Subset(trail, set(recs) - gone), accounted=gone)
    case.out.expected = len(recs)
    case.audit()


def case_spool_symlinks(case: Case) -> None:
    """Symbolic links planted in the spool (.incoming/transform to a folder outside, a dead-letter file to a
    file outside): every stage refuses to run (exit 2) and names them; nothing outside is touched."""
    trail = case.trail(files_per_prefix=2, records_per_file=4)
    root = case.pipe.spool.root
    outside = Path(tempfile.mkdtemp(prefix="cloudspool-outside-"))
    (outside / "precious.txt").write_text("keep me\n")
    (outside / "victim.ndjson").write_text("")
    case.run("fetch", codes=(0,))
    (root / ".incoming").mkdir(exist_ok=True)
    (root / ".incoming" / "transform").symlink_to(outside, target_is_directory=True)
    (root / "deadletter" / "cloudtrail").mkdir(parents=True, exist_ok=True)
    (root / "deadletter" / "cloudtrail" / "2026-01-01.ndjson").symlink_to(outside / "victim.ndjson")
    rs = [case.run(stage, codes=(2,), why="a symbolic link in the spool is refused") for stage in ("transform", "load")]
    case.check((outside / "precious.txt").read_text() == "keep me\n", "a file outside the spool was removed or changed")
    case.check((outside / "victim.ndjson").read_text() == "", "load wrote through a linked dead-letter file")
    case.message(rs, names=[".incoming/transform", "symbolic link"], what="the link", hint=False)
    msg = case.out.message
    (root / ".incoming" / "transform").unlink()
    (root / "deadletter" / "cloudtrail" / "2026-01-01.ndjson").unlink()
    case.run("transform", codes=(0,))
    case.run("load", codes=(0,))
    case.out.message = msg
    shutil.rmtree(outside, ignore_errors=True)
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


def case_spool_unknown_files(case: Case) -> None:
    trail = case.trail()
    root = case.pipe.spool.root
    strays = {
        root / "raw" / "cloudtrail" / "notes.txt": b"written by an operator\n",
        root / "raw" / "cloudtrail" / "backup-copy" / "manifest.json": b"{}\n",
        root / "ndjson" / "cloudtrail" / "notes.txt": b"not for the index\n",
        root / "ndjson" / "cloudtrail" / "old.ndjson.bak":
            b'{"index":{"_index":"awscli-trail-2020.01.01","_id":"stray-bak"}}\n{"x":1}\n',
        root / "notes.txt": b"operator notes\n",
    }
    for p, b in strays.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b)
        case.left_alone.add(p)
    rs = case.run_all(codes=(0,))
    case.note("after fetch, transform, load: " + ", ".join(
        f"{p.relative_to(root)} {'left alone' if p.exists() and p.read_bytes() == b else 'moved/changed'}"
        for p, b in strays.items()))
    for p, b in strays.items():
        moved = not p.exists()
        if moved:
            qs = [q for q in (root / "quarantine").rglob(p.name)] if (root / "quarantine").exists() else []
            case.check(bool(qs) and any(Path(str(q) + ".reason").is_file() for q in qs),
                       f"{p.relative_to(root)} disappeared without a trace (neither left alone nor quarantined with a reason)")
        else:
            case.check(p.read_bytes() == b, f"{p.relative_to(root)} was changed")
    case.message(rs)
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


def case_spool_run_without_manifest(case: Case) -> None:
    trail = case.trail()
    root = case.pipe.spool.root
    # a folder under raw/ named like a run, with an object but no manifest.json (copied in by hand, or a
    # pre-contract leftover); it sorts before the real runs
    stray_run = root / "raw" / "cloudtrail" / "20200101T000000Z-0badf00d"
    obj = stray_run / "objects" / "stray.json.gz"
    obj.parent.mkdir(parents=True)
    obj.write_bytes(gzip.compress(json.dumps({"Records": [{"eventID": "stray-event"}]}).encode()))
    case.left_alone.add(stray_run)
    rf = case.run("fetch", codes=(0,))
    rt = case.run("transform", codes=(0, 3), why="a foreign folder in raw/ must not stop transform")
    rl = case.run("load", codes=(0,))
    if obj.exists():
        case.check(obj.read_bytes().startswith(b"\x1f\x8b"), "the stray object was changed")
    else:
        qs = list((root / "quarantine").rglob("*0badf00d*")) if (root / "quarantine").exists() else []
        case.check(any(q.name.endswith(".reason") for q in qs), "the stray run disappeared without a reason")
    case.message([rf, rt, rl], names=[stray_run.name], what=f"the folder {stray_run.name}")
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


def case_spool_invalid_ndjson(case: Case) -> None:
    trail = case.trail()
    case.run("fetch", codes=(0,))
    case.run("transform", codes=(0,))
    nd = case.pipe.spool.ndjson_dir
    day = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y.%m.%d")

    def pair(i):
        return (json.dumps({"index": {"_index": f"{STEM}-{day}", "_id": f"bad-ndjson-{i}"}}) + "\n" +
                json.dumps({"@timestamp": f"{day.replace('.', '-')}T00:00:0{i}Z", "eventID": f"bad-ndjson-{i}"}) + "\n")

    garbage = nd / "20200101T000000Z-0bad0001.0000.ndjson"       # a line that is not JSON in the middle
    garbage.write_text(pair(1) + "this is not json\n" + pair(2))
    truncated = nd / "20200101T000000Z-0bad0002.0000.ndjson"     # a half-written last line
    truncated.write_text(pair(3) + pair(4)[:-25])
    r = case.run("load", codes=(3,), why="files that are not NDJSON are quarantined")
    names = [garbage.name, truncated.name]
    case.message([r], names=names, what="the NDJSON file")
    for f in (garbage, truncated):
        case.check(not f.exists() or f.name not in r.text,
                   f"{f.name} stays in ndjson/ although it was reported")
        qs = list((case.pipe.spool.root / "quarantine").rglob(f.name)) if (case.pipe.spool.root / "quarantine").exists() else []
        case.check(any(Path(str(q) + ".reason").is_file() for q in qs), f"{f.name} not in quarantine/ with a .reason")
    r2 = case.run("load", codes=(0,))
    idx = Index(case.osmem.url).docs()
    after_bad = [i for i in ("bad-ndjson-2", "bad-ndjson-4") if i in idx]
    case.check(not after_bad, f"documents after the bad line were indexed: {after_bad}")
    before = [i for i in ("bad-ndjson-1", "bad-ndjson-3") if i in idx]
    if before:
        case.note(f"documents before the bad line of a quarantined file were indexed: {before}")
    case.message([r, r2], names=names, what="the NDJSON file")
    case.measure_trail(trail, accounted={"bad-ndjson-1", "bad-ndjson-2", "bad-ndjson-3", "bad-ndjson-4"})
    case.quarantine()
    case.audit()


# ====================================================================== cases: configuration

def _config_case(case: Case, over: dict, key: str) -> None:
    case.trail(upload=True)
    case.pipe.write_config(**over)
    rs = []
    for s in STAGES:
        r = case.run(s, codes=(2,), why=f"config error ({key})")
        rs.append(r)
        case.check(str(case.pipe.config_path) in r.text, f"{s}: the message does not name {case.pipe.config_path}")
        case.check(key in r.text, f"{s}: the message does not name the key {key}")
    case.message(rs, names=[key], what=f"the key {key}")
    root = case.pipe.spool.root
    made = [p.relative_to(root).as_posix() for p in root.rglob("*")] if root.exists() else []
    case.check(not made, f"a stage with a bad config touched the spool: {made[:5]}")
    case.check(Index(case.osmem.url).all_indices() == [], "a stage with a bad config touched the index")
    case.out.expected = case.out.indexed = case.out.duplicates = case.out.lost = 0
    case.quarantine()


# ====================================================================== cases: tampering with the raw captures

def _audit(case: Case, *args, codes, why: str = "") -> tuple:
    """`cloudspool-audit <args> --json` with the case's config: (result, report)."""
    r = case.run("audit", *args, "--config", str(case.pipe.config_path), "--json", config=False, codes=codes, why=why)
    try:
        return r, json.loads(r.out)
    except ValueError:
        case.problem(f"cloudspool-audit {args[0]} printed no JSON: {r.out[:200]!r}")
        case.detail(r)
        raise CaseFailed() from None


def _audit_text(case: Case, *args, codes) -> Result:
    return case.run("audit", *args, "--config", str(case.pipe.config_path), config=False, codes=codes)


def _tamper_world(case: Case, runs: int = 3):
    """A trail fetched in `runs` raw runs (chained), transformed and loaded; verify says intact."""
    case.pipe.write_config(cloudtrail={"batch_objects": 2})
    trail = case.trail(files_per_prefix=2 * runs, records_per_file=4)
    case.run_all(codes=(0,))
    _audit(case, "verify", codes=(0,), why="nothing was changed yet")
    spool = case.pipe.spool
    order = {}
    for run in spool.raw_runs():
        order[(spool.manifest(run).get("chain") or {}).get("previousRunId")] = run
    chain, previous = [], None
    while previous in order:
        chain.append(order[previous])
        previous = chain[-1].name
    if len(chain) != runs:
        case.problem(f"want {runs} chained raw runs, found {[r.name for r in chain]}")
        raise CaseFailed()
    return trail, chain


def _expect_findings(case: Case, report: dict, want: list, names: list) -> None:
    got = sorted({(f["kind"], f["run"]) for f in report.get("findings", [])})
    case.check(got == sorted(want), f"findings {got}, want {sorted(want)}")
    case.message([_audit_text(case, "verify", codes=(1,))], names=names, what=" / ".join(names))


def _tamper_finish(case: Case, trail) -> None:
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


def case_tamper_altered_file(case: Case) -> None:
    trail, runs = _tamper_world(case)
    entry = case.pipe.spool.manifest(runs[1])["entries"][0]
    f = runs[1] / entry["path"]
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x20          # same size, one bit
    f.write_bytes(bytes(data))
    case.left_alone.add(runs[1])
    _, report = _audit(case, "verify", codes=(1,), why="a raw file was altered")
    _expect_findings(case, report, [("altered", runs[1].name)], [f.name])
    _tamper_finish(case, trail)


def case_tamper_deleted_file(case: Case) -> None:
    trail, runs = _tamper_world(case)
    entry = case.pipe.spool.manifest(runs[0])["entries"][1]
    f = runs[0] / entry["path"]
    f.unlink()
    case.left_alone.add(runs[0])
    _, report = _audit(case, "verify", codes=(1,), why="a raw file was deleted")
    _expect_findings(case, report, [("missing", runs[0].name)], [f.name])
    _tamper_finish(case, trail)


def case_tamper_added_file(case: Case) -> None:
    trail, runs = _tamper_world(case)
    f = runs[2] / "objects" / "extra" / "planted.json.gz"
    f.parent.mkdir(parents=True)
    f.write_bytes(gzip.compress(b'{"Records":[]}'))
    case.left_alone.add(runs[2])
    _, report = _audit(case, "verify", codes=(1,), why="a file was added to a raw run")
    _expect_findings(case, report, [("unlisted", runs[2].name)], [f.name])
    _tamper_finish(case, trail)


def case_tamper_altered_manifest(case: Case) -> None:
    trail, runs = _tamper_world(case)
    # an entry and its file taken out: the run agrees with itself, the chain does not
    m = case.pipe.spool.manifest(runs[1])
    gone = m["entries"].pop()
    (runs[1] / gone["path"]).unlink()
    (runs[1] / "manifest.json").write_text(json.dumps(m, indent=2, sort_keys=True))
    case.left_alone.add(runs[1])
    _, report = _audit(case, "verify", codes=(1,), why="a manifest was rewritten")
    _expect_findings(case, report, [("chain", runs[1].name)], [f"manifest of {runs[1].name}"])
    _tamper_finish(case, trail)


def case_tamper_broken_chain(case: Case) -> None:
    trail, runs = _tamper_world(case, runs=4)
    shutil.rmtree(runs[1])                 # a whole run deleted
    _, report = _audit(case, "verify", codes=(1,), why="a raw run was deleted")
    _expect_findings(case, report, [("chain", runs[2].name)], [runs[1].name])
    shutil.rmtree(runs[3])                 # the newest deleted: only the head record knows
    _, report = _audit(case, "verify", codes=(1,), why="the newest raw run was deleted")
    got = sorted({(f["kind"], f["run"]) for f in report.get("findings", [])})
    case.check(got == sorted([("chain", runs[2].name), ("chain", runs[3].name)]), f"after deleting the newest run too: {got}")
    _tamper_finish(case, trail)


def case_tamper_forged_digest(case: Case) -> None:
    from aws_stub import AwsStub

    stub = AwsStub(moto_url=case.suite.moto.url).start()
    case._cleanups.append(stub.stop)
    signer = gen.digest_signer()
    trail = case.trail(upload=False, files_per_prefix=4, records_per_file=3, digests=False)
    digests = gen.signed_digests(trail, signer, case.bucket)
    now = time.time()
    stub.add_public_key(signer.der, signer.fingerprint, now - 30 * 86400, now + 86400)
    logs = [o for o in trail.objects if o.kind == "log"]
    named = next(d for d in digests if logs[1].key.encode() in gzip.decompress(d.body))
    named.metadata = dict(named.metadata, signature=gen.digest_signer().sign(b"forged"))   # signed by someone else
    trail.upload(case.suite.s3, case.bucket, objects=logs + digests)
    case.pipe.write_config(cloudtrail={"validate_digests": True})
    case.pipe.extra_env["AWS_ENDPOINT_URL_CLOUDTRAIL"] = stub.url
    case.run_all(codes=(0,))
    _audit(case, "verify", codes=(0,), why="what was captured is intact")
    _, report = _audit(case, "digests", codes=(1,), why="a digest's signature is forged")
    invalid = sorted(d["s3_key"] for d in report.get("digests", []) if d["status"] == "invalid")
    following = digests[digests.index(named) + 1].key
    case.check(invalid == sorted([named.key, following]), f"invalid digests {invalid}, want the forged one and the next (its link)")
    case.message([_audit_text(case, "digests", codes=(1,))], names=[named.key.rsplit("/", 1)[-1]], what="the forged digest")
    st, body = http("POST", f"{case.osmem.url}/cloudspool-audit-*/_search",
                    {"query": {"term": {"audit.status": "invalid"}}, "size": 10})
    keys = sorted(h["_source"]["audit"]["s3_key"] for h in (body or {}).get("hits", {}).get("hits", [])) if st == 200 else []
    case.check(keys == sorted([named.key, following]), f"invalid digest documents in the index: {keys}")
    _tamper_finish(case, trail)


def case_config_wrong_type(case: Case) -> None:
    _config_case(case, {"index": {"bulk_max_docs": "many"}}, "index.bulk_max_docs")


def case_config_unknown_key(case: Case) -> None:
    _config_case(case, {"cloudtrail": {"overlap_minutess": 30}}, "cloudtrail.overlap_minutess")


# ====================================================================== cases: full disk

def _limit_fsize(limit: int):
    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return pre


class FullDisk:
    """The spool on a tmpfs of a given size; without the right to mount (or with --no-mount), a per-process
    file size limit (RLIMIT_FSIZE, EFBIG) on the stage run that must hit the full disk stands in."""

    def __init__(self, case: Case):
        self.case = case
        self.where = case.pipe.spool.root
        self.fallback = ""
        self.limit = 0

    def mount(self, size: int, fallback_limit: int) -> None:
        why = "--no-mount" if self.case.suite.args.no_mount else mount_tmpfs(self.where, size)
        if why:
            self.fallback = f"no tmpfs ({why}); fallback: RLIMIT_FSIZE {fallback_limit} bytes per file"
            self.limit = fallback_limit
            self.case.note(self.fallback)
        else:
            self.case._cleanups.append(self.close)
            self.case.note(f"spool on a tmpfs of {size // 1024} KiB")

    def grow(self, size: int) -> None:
        if not self.fallback:
            remount(self.where, size)

    def run_full(self, stage: str, codes, why: str = "") -> Result:
        """Run stage against the full disk (limited when falling back)."""
        c = self.case
        if not self.fallback:
            return c.run(stage, codes=codes, why=why)
        cmd = c.pipe.cmd(stage)
        t = time.monotonic()
        p = busy_retry(subprocess.run, cmd, env=c.pipe.env(), capture_output=True, timeout=STAGE_TIMEOUT,
                       cwd=str(c.tmp), stdin=subprocess.DEVNULL, preexec_fn=_limit_fsize(self.limit))
        r = Result(cmd, p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"),
                   time.monotonic() - t)
        c.record(stage, r.code)
        if r.code not in codes:
            c.problem(f"{stage} ({why}) exited {r.code}, want {'/'.join(map(str, codes))}: {first_error(r)}")
            c.detail(r)
        return r

    def close(self) -> None:
        if not self.fallback:
            umount(self.where)

    def tag(self) -> str:
        return f" [{self.fallback}]" if self.fallback else ""


def _disk_names(case: Case) -> list:
    return [str(case.pipe.spool.root), "No space", "space left", "ENOSPC", "File too large", "EFBIG", "disk"]


def _note_leftovers(case: Case, stage: str) -> None:
    """Work in progress a failed run left in .incoming/ (the contract: removed by the next run of the stage)."""
    left = case.pipe.leftovers()
    if left:
        size = sum((case.pipe.spool.root / p).stat().st_size for p in left)
        case.note(f"the failed {stage} left {len(left)} file(s), {size} bytes, in .incoming/ on the full file "
                  f"system (removed by the next {stage}, as the contract says for killed runs)")
    other = [p for p in left if not p.startswith(f".incoming/{stage}/")]
    case.check(not other, f"work in progress outside .incoming/{stage}/: {other[:3]}")


def case_disk_full_fetch(case: Case) -> None:
    trail = case.trail(upload=False, accounts=1, files_per_prefix=12, records_per_file=60)
    bodies = [len(o.body) for o in trail.objects if o.fetchable]
    raw = sum(bodies)
    case.pipe.write_config(cloudtrail={"batch_objects": 4})
    disk = FullDisk(case)
    disk.mount(raw // 2, fallback_limit=max(bodies) // 2)
    trail.upload(case.pipe.s3, case.bucket)
    r1 = disk.run_full("fetch", codes=(1,), why="the spool is full: work left for the next run")
    case.message([r1], names=_disk_names(case), what="the spool path / the full disk")
    msg = case.out.message
    bad = case.pipe.spool.check_invariants()
    case.check(not bad, f"a partial file is visible after ENOSPC: {bad[:3]}")
    _note_leftovers(case, "fetch")
    disk.grow(raw * 40 + (8 << 20))
    case.run("fetch", codes=(0,), why="room again")
    case.run("transform", codes=(0,))
    case.run("load", codes=(0,))
    case.out.message = msg + disk.tag()
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


def case_disk_full_transform(case: Case) -> None:
    trail = case.trail(upload=True, accounts=1, files_per_prefix=6, records_per_file=60)
    raw = sum(len(o.body) for o in trail.objects if o.fetchable)
    disk = FullDisk(case)
    disk.mount(raw + (96 << 10), fallback_limit=16384)
    case.pipe.write_config(transform={"max_file_bytes": 65536})
    case.run("fetch", codes=(0,), why="the raw files fit")
    r1 = disk.run_full("transform", codes=(1,), why="the NDJSON does not fit: work left for the next run")
    case.message([r1], names=_disk_names(case), what="the spool path / the full disk")
    msg = case.out.message
    bad = case.pipe.spool.check_invariants()
    case.check(not bad, f"a partial file is visible after ENOSPC: {bad[:3]}")
    _note_leftovers(case, "transform")
    disk.grow(raw * 40 + (8 << 20))
    case.run("transform", codes=(0,), why="room again")
    case.run("load", codes=(0,))
    case.out.message = msg + disk.tag()
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


def case_disk_full_load(case: Case) -> None:
    trail = case.trail(upload=True, accounts=1, files_per_prefix=3, records_per_file=20)
    raw = sum(len(o.body) for o in trail.objects if o.fetchable)
    disk = FullDisk(case)
    disk.mount(raw * 30 + (1 << 20), fallback_limit=32)
    p = case.proxy(case.osmem.url)
    case.pipe.write_config(index={"url": p.url})
    case.run("fetch", codes=(0,))
    case.run("transform", codes=(0,))
    filler = case.pipe.spool.root / "filler"
    if not disk.fallback:
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
    r1 = disk.run_full("load", codes=(1,), why="the checkpoint cannot be written: work left for the next run")
    case.message([r1], names=_disk_names(case), what="the spool path / the full disk")
    msg = case.out.message
    filler.unlink(missing_ok=True)
    case.run("load", codes=(0,), why="room again")
    sent = p.stats()["ids_forwarded"]
    case.note(f"documents sent twice (overwritten, same _id): {sum(1 for n in sent.values() if n > 1)}")
    case.out.message = msg + disk.tag()
    case.measure_trail(trail)
    case.quarantine()
    case.audit()


def case_index_bulk_lie(case: Case) -> None:
    p, trail = _index_world(case)
    # the index says "errors":false but answers fewer items than documents sent (and once none at all)
    p.add_rule(mode="bulk_lie", path=r"_bulk$", keep=2, count=1)
    p.add_rule(mode="bulk_lie", path=r"_bulk$", no_items=True, count=1)
    rs = _load_until_done(case)
    case.check(p.stats()["faults"].get("bulk_lie") == 2, f"faults: {p.stats()['faults']}")
    _index_finish(case, trail, rs, names=["items", "documents sent"], hint=False)


def case_index_document_too_large(case: Case) -> None:
    p, trail = _index_world(case)
    pairs = [len(l1) + len(l2) + 2 for _a, _d, l1, l2 in case.pipe.spool.ndjson_docs()]
    biggest = sorted(pairs)[-1]
    limit = biggest - 1                       # only the largest document is refused, even alone
    too_big = sum(1 for n in pairs if n > limit)
    p.add_rule(mode="too_large", path=r"_bulk$", max_bytes=limit, count=None)
    r = case.run("load", codes=(3,), why="a document the index refuses alone (HTTP 413) is dead-lettered, the rest indexed")
    n, _ = case.quarantine()
    case.check(n == too_big, f"{n} dead letters, want {too_big} (the documents larger than {limit} bytes)")
    gone = set()
    for f in (case.pipe.spool.root / "deadletter").rglob("*.ndjson"):
        for ln in f.read_text().splitlines():
            if ln.strip():
                gone.add(json.loads(ln)["action"]["index"]["_id"])
    case.message([r], names=["413", "deadletter"], what="the dead-letter file")
    msg = case.out.message
    r2 = case.run("load", codes=(0,))
    case.check("documents=0" in r2.out, "the next load sent documents again (the collector is stuck)")
    recs = trail.expected_records()
    case.measure_trail(_Subset(trail, set(recs) - gone), accounted=gone)
    case.out.expected = len(recs)
    case.out.lost = len(set(recs) - set(Index(case.osmem.url).docs()) - gone)
    case.out.message = msg
    case.audit()


# ====================================================================== registry, runner, table

CASES: list = [
    ("kill-fetch", "SIGKILL fetch at random moments, then a normal run", case_kill_fetch),
    ("kill-transform", "SIGKILL transform at random moments, then a normal run", case_kill_transform),
    ("kill-load", "SIGKILL load at random moments, then a normal run", case_kill_load),
    ("term-stages", "SIGTERM fetch, transform and load mid-run: exit 143 at a safe point, then a normal run", case_term_stages),
    ("overlap-fetch", "two fetch copies started at once (cron overlap)", case_overlap_fetch),
    ("overlap-transform", "two transform copies started at once", case_overlap_transform),
    ("overlap-load", "two load copies started at once", case_overlap_load),
    ("index-429", "index answers 429 (whole request and per item)", case_index_429),
    ("index-503", "index answers 503", case_index_503),
    ("index-close", "index closes connections (one request applied, answer lost)", case_index_close),
    ("index-stall", "index stalls past index.timeout_seconds", case_index_stall),
    ("index-down", "index unreachable for a whole run", case_index_down),
    ("index-429-forever", "index 429 outlasting the retries", case_index_429_forever),
    ("index-rejects-doc", "index refuses one document for good (400)", case_index_rejects_document),
    ("index-bulk-lie", "index answers errors:false with items missing or cut short", case_index_bulk_lie),
    ("index-413-document", "a document larger than the index accepts (413 even alone)", case_index_document_too_large),
    ("aws-throttling", "S3 answers SlowDown 503 / Throttling", case_aws_throttling),
    ("aws-500", "S3 answers 500 InternalError", case_aws_500),
    ("aws-slow", "S3 answers slowly (one past aws.timeout_seconds)", case_aws_slow),
    ("aws-throttling-forever", "S3 throttling outlasting the retries", case_aws_throttling_forever),
    ("aws-expired-profile", "ExpiredToken mid-run, role profile credentials", case_aws_expired_profile),
    ("aws-expired-role", "ExpiredToken mid-run, inventory assumed role", case_aws_expired_assumed_role),
    ("aws-ec2-throttling", "EC2 RequestLimitExceeded / 500 (inventory)", case_aws_ec2_throttling),
    ("aws-ec2-throttling-forever", "EC2 throttling outlasting the retries (inventory)", case_aws_ec2_throttling_forever),
    ("aws-role-denied", "an account whose role cannot be assumed", case_aws_role_denied),
    ("bad-truncated-gz", "truncated .json.gz", case_bad_truncated_gz),
    ("bad-not-gzip", ".json.gz that is not gzip", case_bad_not_gzip),
    ("bad-gzip-invalid-json", "valid gzip holding invalid JSON", case_bad_gzip_invalid_json),
    ("bad-no-eventtime", "a record without eventTime", case_bad_no_event_time),
    ("bad-eventtime", "a record with an unparseable eventTime", case_bad_event_time),
    ("bad-future-key", "a log file named as delivered in 2099 (hostile bucket)", case_bad_future_key),
    ("bad-eventtime-year0", "an eventTime of year 0000 with a positive offset", case_bad_event_time_year_zero),
    ("bad-invalid-utf8", "invalid UTF-8 inside a CloudTrail string", case_bad_invalid_utf8),
    ("bad-cur-extra-column", "a CUR row with too many columns", case_bad_cur_extra_column),
    ("bad-cur-missing-file", "a CUR manifest naming a missing file", case_bad_cur_missing_file),
    ("bad-cur-empty-revision", "a CUR revision with no report files, then one whose rows collapse", case_bad_cur_empty_revision),
    ("spool-unknown-files", "unknown files in raw/, ndjson/ and the spool root", case_spool_unknown_files),
    ("spool-tampered-raw", "raw files changed or cut after fetch (manifest SHA-256)", case_spool_tampered_raw),
    ("spool-symlinks", "symbolic links planted in the spool (.incoming, a dead-letter file)", case_spool_symlinks),
    ("spool-run-no-manifest", "a run-named folder without manifest in raw/cloudtrail/", case_spool_run_without_manifest),
    ("spool-invalid-ndjson", "NDJSON files that are not valid NDJSON", case_spool_invalid_ndjson),
    ("tamper-altered-file", "a raw file altered after fetch (audit verify)", case_tamper_altered_file),
    ("tamper-deleted-file", "a raw file deleted (audit verify)", case_tamper_deleted_file),
    ("tamper-added-file", "a file added to a raw run (audit verify)", case_tamper_added_file),
    ("tamper-altered-manifest", "a manifest rewritten (audit verify: the chain)", case_tamper_altered_manifest),
    ("tamper-broken-chain", "raw runs deleted, the newest too (audit verify: the chain)", case_tamper_broken_chain),
    ("tamper-forged-digest", "a CloudTrail digest with a forged signature (audit digests)", case_tamper_forged_digest),
    ("config-wrong-type", "config value of the wrong type", case_config_wrong_type),
    ("config-unknown-key", "config with an unknown key", case_config_unknown_key),
    ("disk-full-fetch", "spool file system full during fetch", case_disk_full_fetch),
    ("disk-full-transform", "spool file system full during transform", case_disk_full_transform),
    ("disk-full-load", "spool file system full during load (checkpoint)", case_disk_full_load),
]


def run_case(suite: Suite, name: str, title: str, fn: Callable) -> Outcome:
    t = time.monotonic()
    case = None
    try:
        case = Case(suite, name, title)
        fn(case)
    except CaseFailed:
        pass
    except Exception as e:  # a bug of the suite or an unexpected state: the case fails, the suite goes on
        out = case.out if case else Outcome(name, title)
        out.problems.append(f"suite error: {type(e).__name__}: {e}")
        out.details.append(traceback.format_exc()[-3000:])
        if case is None:
            out.seconds = time.monotonic() - t
            return out
    finally:
        if case is not None:
            case.close()
    case.out.seconds = time.monotonic() - t
    return case.out


def _abbrev(s: str) -> str:
    """Long paths/keys -> …/last part (the full text is in --json)."""
    def short(m):
        t = m.group(0)
        return t if len(t) <= 36 else "…/" + t.rstrip("/").rsplit("/", 1)[-1] + ("/" if t.endswith("/") else "")
    return re.sub(r"[\w.:@=+-]*(/[\w.:@=+\-]+)+/?", short, s)


def _cell(v, width: int) -> str:
    s = "-" if v is None else _abbrev(str(v))
    s = s.replace("|", "/").replace("\n", " ")
    return s if len(s) <= width else s[: width - 1] + "…"


def table(outcomes: list) -> str:
    cols = [("case", 28), ("exit codes seen", 24), ("message (first line naming the file/account/key)", 120),
            ("expected", 8), ("indexed", 7), ("quarantined (reason)", 60), ("duplicates", 10), ("lost", 4),
            ("verdict", 7)]
    rows = []
    for o in outcomes:
        rows.append([o.name, o.codes_text(), o.message, o.expected, o.indexed, o.quarantined, o.duplicates, o.lost,
                     o.verdict])
    widths = []
    for i, (h, w) in enumerate(cols):
        widths.append(max(len(h) if len(h) <= w else w, *[min(w, len(_cell(r[i], w))) for r in rows]) if rows else len(h))
    line = "| " + " | ".join(_cell(h, widths[i]).ljust(widths[i]) for i, (h, _w) in enumerate(cols)) + " |"
    sep = "|-" + "-|-".join("-" * widths[i] for i in range(len(cols))) + "-|"
    out = [line, sep]
    for r in rows:
        out.append("| " + " | ".join(_cell(v, widths[i]).ljust(widths[i]) for i, v in enumerate(r)) + " |")
    return "\n".join(out)


def main(argv: Optional[list] = None) -> int:
    ap = argparse.ArgumentParser(description="cloudspool fault and bad-input suite (loopback only)")
    ap.add_argument("--quick", action="store_true", help="fewer kills and smaller inputs (what the tests run)")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("CLOUDSPOOL_FAULT_SEED", "1")),
                    help="seed of the data and of the kill moments")
    ap.add_argument("--case", action="append", default=[], help="run only cases whose name contains this (repeatable)")
    ap.add_argument("--list", action="store_true", help="print the case names and exit")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (spools, logs)")
    ap.add_argument("--json", default="", help="also write the outcomes as JSON to this file")
    ap.add_argument("--budget", type=float, default=0.0,
                    help="seconds the whole suite may take (default 225 with --quick, 585 without)")
    ap.add_argument("--no-mount", action="store_true",
                    help="do not mount a tmpfs for the full-disk cases (use the RLIMIT_FSIZE fallback)")
    args = ap.parse_args(argv)
    if args.list:
        for name, title, _fn in CASES:
            print(f"{name}\t{title}")
        return 0
    chosen = [c for c in CASES if not args.case or any(s in c[0] for s in args.case)]
    if not chosen:
        print(f"fault_suite: no case matches {args.case}", file=sys.stderr)
        return 2
    missing = [s for s in STAGES if not os.access(support.binary(s), os.X_OK)]
    if missing:
        print(f"fault_suite: binaries missing in {support.bin_dir()}: {', '.join('cloudspool-' + m for m in missing)}",
              file=sys.stderr)
        return 2
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    suite = Suite(args)
    t0 = time.monotonic()
    outcomes: list = []
    try:
        try:
            suite.start()
        except Exception as e:
            print(f"fault_suite: cannot start the peers: {e}", file=sys.stderr)
            return 2
        print(f"fault_suite: {len(chosen)} cases, {'quick' if args.quick else 'full'}, seed {args.seed}, "
              f"binaries {support.bin_dir()}, work {suite.work}", file=sys.stderr, flush=True)
        for name, title, fn in chosen:
            if suite.left() < 5:
                o = Outcome(name, title)
                o.problems.append("not run: the suite's time budget is used up")
                outcomes.append(o)
                print(f"fault_suite: FAIL {name} (not run: time budget used up)", file=sys.stderr, flush=True)
                continue
            o = run_case(suite, name, title, fn)
            outcomes.append(o)
            print(f"fault_suite: {o.verdict} {name} ({o.seconds:.1f}s) {o.codes_text()}"
                  + (f" -- {o.problems[0][:200]}" if o.problems else ""), file=sys.stderr, flush=True)
    finally:
        suite.stop()
    total = time.monotonic() - t0
    print(table(outcomes))
    failed = [o for o in outcomes if o.verdict == "FAIL"]
    print(f"\n{len(outcomes)} cases, {len(outcomes) - len(failed)} passed, {len(failed)} failed, "
          f"{total:.0f} s ({'quick' if args.quick else 'full'}, seed {args.seed})")
    notes = [(o.name, n) for o in outcomes for n in o.notes]
    if notes:
        print("\nnotes:")
        for name, n in notes:
            print(f"  {name}: {n}")
    for o in failed:
        print(f"\n=== FAILED {o.name}: {o.title}")
        for p in o.problems:
            print(f"  - {p}")
        for d in o.details[:3]:
            print("  " + d.replace("\n", "\n  ")[:5000])
    if args.json:
        Path(args.json).write_text(json.dumps({"seconds": round(total, 1), "quick": args.quick, "seed": args.seed,
                                               "cases": [o.to_json() for o in outcomes]}, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
