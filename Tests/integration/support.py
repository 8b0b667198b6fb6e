"""Helpers of the integration suite: running stages, reading the spool and the index."""

from __future__ import annotations

import copy
import fcntl
import gzip
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Optional

import yaml

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import gen_cloudtrail as gen  # noqa: E402

UTC = timezone.utc
STAGES = ("fetch", "transform", "load")
STEM = "awscli-trail"
REGION = "eu-west-1"
STAGE_TIMEOUT = float(os.environ.get("CLOUDSPOOL_TEST_STAGE_TIMEOUT", "240"))

# every stage run of the session: (cmd, code, stdout, stderr) -- the no-secret test reads its own runs only
ALL_RUNS: list = []


def bin_dir() -> Path:
    return Path(os.environ.get("CLOUDSPOOL_BIN_DIR") or (REPO / ".build" / "debug")).resolve()


def binary(stage: str) -> Path:
    return bin_dir() / f"cloudspool-{stage}"


def trail_days(n: int = 2, back: int = 4) -> date:
    """First day of a trail of n days that ends `back - n + 1` days before today (within the default 7-day window)."""
    return (datetime.now(UTC) - timedelta(days=back)).date()


def deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if v is DELETE:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE = _Delete()


@dataclass
class Result:
    cmd: list
    code: int
    out: str
    err: str
    seconds: float

    @property
    def text(self) -> str:
        return self.out + self.err

    def describe(self) -> str:
        return (f"$ {' '.join(map(str, self.cmd))}\n-> exit {self.code} after {self.seconds:.1f}s\n"
                f"--- stdout ---\n{self.out[-4000:]}\n--- stderr ---\n{self.err[-4000:]}")


# ====================================================================== HTTP

def http(method: str, url: str, body=None, ctype: str = "application/json", timeout: float = 30,
         headers: Optional[dict] = None):
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    h = {"Content-Type": ctype, **(headers or {})}
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        raw = e.read()
        status = e.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


class Index:
    """Read access to the index under test (osmem-server)."""

    def __init__(self, url: str, stem: str = STEM, prefix: str = ""):
        self.url = url.rstrip("/")
        self.stem = stem
        self.prefix = prefix

    @property
    def pattern(self) -> str:
        return f"{self.prefix}{self.stem}-*"

    def refresh(self) -> None:
        http("POST", f"{self.url}/_refresh")

    def indices(self) -> list:
        st, body = http("GET", f"{self.url}/_cat/indices?format=json")
        assert st == 200, body
        rx = re.compile(re.escape(self.prefix + self.stem) + r"-\d{4}\.\d{2}\.\d{2}$")
        return sorted(i["index"] for i in body if rx.match(i["index"]))

    def all_indices(self) -> list:
        st, body = http("GET", f"{self.url}/_cat/indices?format=json")
        assert st == 200, body
        return sorted(i["index"] for i in body)

    def counts(self) -> dict:
        """_count of every daily index (only non-empty ones)."""
        self.refresh()
        out = {}
        for ix in self.indices():
            st, body = http("GET", f"{self.url}/{ix}/_count")
            assert st == 200, body
            if body["count"]:
                out[ix] = body["count"]
        return out

    def total(self) -> int:
        return sum(self.counts().values())

    def hits(self, index: str, source: bool = False) -> list:
        """Every hit of an index (sorted by _id, search_after paging), with _version/_seq_no."""
        out = []
        after = None
        while True:
            q = {"size": 5000, "sort": [{"_id": "asc"}], "_source": source, "version": True,
                 "seq_no_primary_term": True, "query": {"match_all": {}}}
            if after is not None:
                q["search_after"] = after
            st, body = http("POST", f"{self.url}/{index}/_search", q)
            assert st == 200, body
            hs = body["hits"]["hits"]
            out.extend(hs)
            if len(hs) < 5000:
                return out
            after = hs[-1]["sort"]

    def docs(self, source: bool = False) -> dict:
        """_id -> list of (index, hit) over all daily indices."""
        self.refresh()
        out: dict = {}
        for ix in self.indices():
            for h in self.hits(ix, source):
                out.setdefault(h["_id"], []).append((ix, h))
        return out

    def versions(self) -> dict:
        return {i: [(ix, h.get("_version"), h.get("_seq_no")) for ix, h in v] for i, v in self.docs().items()}

    def get(self, index: str, doc_id: str) -> Optional[dict]:
        st, body = http("GET", f"{self.url}/{index}/_doc/{urllib.parse.quote(doc_id, safe='')}")
        if st == 404:
            return None
        assert st == 200, body
        return body

    def search(self, query: dict, size: int = 10) -> list:
        self.refresh()
        st, body = http("POST", f"{self.url}/{self.pattern}/_search", {"query": query, "size": size})
        assert st == 200, body
        return body["hits"]["hits"]


# ====================================================================== spool

def sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def visible(p: Path) -> bool:
    return not any(part.startswith(".") for part in p.parts)


class Spool:
    def __init__(self, root: Path, collector: str = "cloudtrail"):
        self.root = Path(root)
        self.collector = collector

    @property
    def raw(self) -> Path:
        return self.root / "raw" / self.collector

    @property
    def ndjson_dir(self) -> Path:
        return self.root / "ndjson" / self.collector

    def raw_runs(self) -> list:
        if not self.raw.is_dir():
            return []
        return sorted(p for p in self.raw.iterdir() if p.is_dir() and not p.name.startswith("."))

    def manifest(self, run: Path) -> dict:
        return json.loads((run / "manifest.json").read_text())

    def raw_keys(self) -> list:
        """S3 keys stored over all raw runs (with repetitions), from the manifests."""
        keys = []
        for run in self.raw_runs():
            for e in self.manifest(run)["entries"]:
                keys.append(e.get("parameters", {}).get("Key") or e["path"].split("objects/", 1)[1])
        return keys

    def raw_objects(self) -> dict:
        """S3 key -> stored bytes (last run wins)."""
        out = {}
        for run in self.raw_runs():
            for e in self.manifest(run)["entries"]:
                key = e.get("parameters", {}).get("Key") or e["path"].split("objects/", 1)[1]
                out[key] = (run / e["path"]).read_bytes()
        return out

    def ndjson_files(self) -> list:
        if not self.ndjson_dir.is_dir():
            return []
        return sorted(p for p in self.ndjson_dir.iterdir()
                      if p.is_file() and p.name.endswith(".ndjson") and not p.name.startswith("."))

    @staticmethod
    def parse_ndjson(p: Path) -> list:
        """[(action, doc, action_line, doc_line)]; raises AssertionError when the file is not whole."""
        data = p.read_bytes()
        assert data == b"" or data.endswith(b"\n"), f"{p}: does not end with a newline (partial file?)"
        lines = data.split(b"\n")[:-1] if data else []
        out = []
        i = 0
        while i < len(lines):
            try:
                action = json.loads(lines[i])
            except ValueError as e:
                raise AssertionError(f"{p}: line {i + 1} is not JSON: {e}") from None
            assert isinstance(action, dict) and len(action) == 1, f"{p}:{i + 1}: not an action line: {lines[i][:200]!r}"
            op, meta = next(iter(action.items()))
            assert op in ("index", "create", "delete"), f"{p}:{i + 1}: unexpected op {op}"
            assert meta.get("_index") and meta.get("_id"), f"{p}:{i + 1}: action without _index/_id"
            if op == "delete":   # a delete has no document line (ndjson/changes/)
                i += 1
                continue
            assert i + 1 < len(lines), f"{p}: the file ends after an action line (odd number of lines)"
            try:
                doc = json.loads(lines[i + 1])
            except ValueError as e:
                raise AssertionError(f"{p}: line {i + 2} is not JSON: {e}") from None
            assert isinstance(doc, dict), f"{p}:{i + 2}: document is not an object"
            out.append((action, doc, lines[i], lines[i + 1]))
            i += 2
        return out

    def ndjson_docs(self, files: Optional[Iterable[Path]] = None) -> list:
        out = []
        for f in (self.ndjson_files() if files is None else files):
            out.extend(self.parse_ndjson(f))
        return out

    def state(self, name: str) -> Optional[dict]:
        p = self.root / "state" / name
        return json.loads(p.read_text()) if p.exists() else None

    def quarantine_files(self) -> list:
        q = self.root / "quarantine" / "transform"
        return sorted(p for p in q.rglob("*") if p.is_file()) if q.is_dir() else []

    def deadletters(self) -> list:
        d = self.root / "deadletter" / self.collector
        return sorted(p for p in d.rglob("*") if p.is_file()) if d.is_dir() else []

    def all_files(self) -> list:
        return sorted(p for p in self.root.rglob("*") if p.is_file()) if self.root.exists() else []

    def check_invariants(self) -> list:
        """Problems visible in the spool that the contract says can never be seen."""
        problems = []
        for run in self.raw_runs():
            m = run / "manifest.json"
            if not m.is_file():
                problems.append(f"raw run without manifest.json: {run}")
                continue
            try:
                man = json.loads(m.read_text())
            except ValueError as e:
                problems.append(f"{m}: not JSON: {e}")
                continue
            entries = {e["path"]: e for e in man.get("entries", [])}
            for f in sorted(run.rglob("*")):
                if not f.is_file() or f == m:
                    continue
                rel = f.relative_to(run).as_posix()
                e = entries.get(rel)
                if e is None:
                    problems.append(f"{f}: not listed in {m}")
                    continue
                if e.get("size") != f.stat().st_size:
                    problems.append(f"{f}: size {f.stat().st_size} != manifest {e.get('size')}")
                elif e.get("sha256") != sha256(f):
                    problems.append(f"{f}: sha256 differs from manifest")
            quarantined = {p.relative_to(self.root).as_posix() for p in self.quarantine_files()}
            for rel in entries:
                # transform moves a corrupt file to quarantine/transform/<run>/<path>
                if not (run / rel).is_file() and not any(q.endswith("/" + rel) for q in quarantined):
                    problems.append(f"{run}: manifest lists {rel} which is missing (and not quarantined)")
        for f in self.ndjson_files():
            try:
                self.parse_ndjson(f)
            except AssertionError as e:
                problems.append(str(e))
        sd = self.root / "state"
        if sd.is_dir():
            for f in sd.iterdir():
                if f.is_file() and f.suffix == ".json" and not f.name.startswith("."):
                    try:
                        d = json.loads(f.read_text())
                        if not isinstance(d, dict) or "version" not in d:
                            problems.append(f"{f}: checkpoint without version")
                    except ValueError as e:
                        problems.append(f"{f}: checkpoint not JSON: {e}")
        return problems


# ====================================================================== locks

def lock_holders(lock_file: Path) -> set:
    """Pids holding a flock on lock_file (from /proc/locks), without touching the lock."""
    try:
        st = os.stat(lock_file)
    except FileNotFoundError:
        return set()
    dev_ino = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    pids = set()
    with open("/proc/locks") as f:
        for line in f:
            parts = line.split()
            if "->" in parts:
                continue
            try:
                kind = parts[1]
                pid = int(parts[4])
                maj, mi, ino = parts[5].split(":")
            except (IndexError, ValueError):
                continue
            if kind == "FLOCK" and (int(maj, 16), int(mi, 16), int(ino)) == dev_ino:
                pids.add(pid)
    return pids


class HeldLock:
    """Hold locks/<stage>.lock exactly as the contract says a running stage does."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.fd = -1

    def __enter__(self) -> "HeldLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o640)
        fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return self

    def __exit__(self, *exc) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


# ====================================================================== pipeline

class Pipeline:
    """One test's world: its spool, bucket, config and index, and the stages run against them."""

    def __init__(self, tmp: Path, moto_url: str, s3, bucket: str, index_url: str, prefix: str = "ct"):
        self.tmp = Path(tmp)
        self.moto_url = moto_url
        self.s3 = s3
        self.bucket = bucket
        self.index_url = index_url
        self.prefix = prefix
        self.spool = Spool(self.tmp / "spool")
        self.config_path = self.tmp / "cloudspool.yaml"
        self.home = self.tmp / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.cfg = {
            "spool": str(self.spool.root),
            "aws": {"region": REGION, "max_retries": 2, "timeout_seconds": 5},
            "cloudtrail": {"bucket": bucket, "prefix": prefix,
                           "start_date": (datetime.now(UTC) - timedelta(days=6)).date().isoformat(),
                           "overlap_minutes": 60, "batch_objects": 50,
                           # moto has no cloudtrail ListPublicKeys: digest validation is tested with signed digests (test_audit.py)
                           "validate_digests": False},
            "index": {"url": index_url, "auth": "none", "max_retries": 3, "timeout_seconds": 5,
                      "bulk_max_bytes": 1_048_576, "names": {"cloudtrail": STEM},
                      # Run reports go to their own index; the data tests count only data (test_operations.py covers them).
                      "run_reports": False},
        }
        self.extra_env: dict = {}
        self.runs: list = []
        self.write_config()

    @property
    def index(self) -> Index:
        """The index server itself (never through a fault proxy the config may point at)."""
        return Index(self.index_url)

    # ---- config
    def write_config(self, path: Optional[Path] = None, **over) -> Path:
        if over:
            self.cfg = deep_merge(self.cfg, over)
        p = Path(path or self.config_path)
        p.write_text(yaml.safe_dump(self.cfg, sort_keys=False))
        return p

    # ---- bucket
    def create_bucket(self) -> None:
        self.s3.create_bucket(Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})

    def generate(self, upload: bool = True, **spec) -> "gen.Trail":
        spec.setdefault("prefix", self.prefix)
        spec.setdefault("start", trail_days())
        trail = gen.generate(gen.Spec(**spec))
        if upload:
            trail.upload(self.s3, self.bucket)
        return trail

    # ---- stages
    def env(self, **extra) -> dict:
        keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "LD_LIBRARY_PATH", "AWS_CA_BUNDLE", "SSL_CERT_FILE")
        e = {k: v for k, v in os.environ.items() if k in keep}
        e.update({
            "HOME": str(self.home),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ENDPOINT_URL_S3": self.moto_url,
            "AWS_ENDPOINT_URL_STS": self.moto_url,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(self.home / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.home / "no-aws-credentials"),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        })
        e.update(self.extra_env)
        e.update(extra)
        return {k: v for k, v in e.items() if v is not None}

    def cmd(self, stage: str, *args, config: bool = True, config_file: Optional[Path] = None) -> list:
        c = [str(binary(stage))]
        if config:
            c += ["--config", str(config_file or self.config_path)]
        return c + [str(a) for a in args]

    def run(self, stage: str, *args, config: bool = True, env: Optional[dict] = None,
            timeout: float = STAGE_TIMEOUT, cwd: Optional[Path] = None,
            config_file: Optional[Path] = None) -> Result:
        c = self.cmd(stage, *args, config=config, config_file=config_file)
        t = time.monotonic()
        try:
            p = subprocess.run(c, env=self.env(**(env or {})), capture_output=True, timeout=timeout,
                               cwd=str(cwd or self.tmp), stdin=subprocess.DEVNULL)
            r = Result(c, p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"),
                       time.monotonic() - t)
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode(errors="replace")
            err = (e.stderr or b"").decode(errors="replace")
            r = Result(c, -999, out, err + f"\n[test: killed after {timeout} s timeout]", time.monotonic() - t)
            self.runs.append(r)
            ALL_RUNS.append(r)
            raise AssertionError(f"stage did not finish within {timeout} s\n{r.describe()}") from None
        self.runs.append(r)
        ALL_RUNS.append(r)
        return r

    def popen(self, stage: str, *args, env: Optional[dict] = None, out_path: Optional[Path] = None,
              config_file: Optional[Path] = None) -> subprocess.Popen:
        c = self.cmd(stage, *args, config_file=config_file)
        out_path = out_path or (self.tmp / f"{stage}-{time.monotonic_ns()}.log")
        f = open(out_path, "wb")
        p = subprocess.Popen(c, env=self.env(**(env or {})), stdout=f, stderr=subprocess.STDOUT,
                             cwd=str(self.tmp), stdin=subprocess.DEVNULL)
        f.close()
        p.out_path = out_path  # type: ignore[attr-defined]
        p.cmd = c  # type: ignore[attr-defined]
        return p

    def write_config_copy(self, path: Path, **over) -> Path:
        """A second config file (e.g. another spool or index) without changing this pipeline's own."""
        Path(path).write_text(yaml.safe_dump(deep_merge(self.cfg, over), sort_keys=False))
        return Path(path)

    def leftovers(self) -> list:
        """Work-in-progress files still visible (.incoming/ content, .tmp-* names)."""
        root = self.spool.root
        if not root.exists():
            return []
        return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                      if p.is_file() and (".incoming" in p.relative_to(root).parts or p.name.startswith(".tmp-")))

    def expect(self, stage: str, *args, codes=(0,), **kw) -> Result:
        r = self.run(stage, *args, **kw)
        assert r.code in codes, f"{stage}: expected exit {codes}\n{r.describe()}"
        return r

    def run_all(self, codes=(0,)) -> list:
        return [self.expect(s, codes=codes) for s in STAGES]

    def load_until_done(self, max_runs: int = 6, **kw) -> list:
        """Run load until it exits 0; after every run that exits 0 the index must be complete (checked by caller)."""
        out = []
        for _ in range(max_runs):
            r = self.run("load", **kw)
            out.append(r)
            if r.code == 0:
                return out
            assert r.code == 1, f"load: unexpected exit\n{r.describe()}"
        raise AssertionError(f"load did not finish in {max_runs} runs\n" + "\n".join(x.describe() for x in out))


# ====================================================================== documents

def get_path(doc: dict, dotted: str):
    """Value at a dotted path, accepting nested objects or flat dotted keys."""
    if dotted in doc:
        return doc[dotted]
    head, _, rest = dotted.partition(".")
    if rest and isinstance(doc.get(head), dict):
        return get_path(doc[head], rest)
    # mixed: "cloud.account": {"id": ..}
    for k, v in doc.items():
        if dotted.startswith(k + ".") and isinstance(v, dict):
            return get_path(v, dotted[len(k) + 1:])
    raise KeyError(dotted)


ADDED_TOP = {"@timestamp", "cloud", "cloudspool"}


def same_json(a, b) -> bool:
    """JSON equality: numbers compare by value (1 == 1.0), but true is not 1 and "1" is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    return a == b


def check_document(doc: dict, rec: dict) -> list:
    """Differences between an indexed/transformed document and its CloudTrail record."""
    problems = []
    for k, v in rec.items():
        if k not in doc:
            problems.append(f"field {k} missing")
        elif not same_json(doc[k], v):
            problems.append(f"field {k} differs: {json.dumps(doc[k], ensure_ascii=False)[:300]} != "
                            f"{json.dumps(v, ensure_ascii=False)[:300]}")
    extra = {k for k in doc if k not in rec and k.split(".")[0] not in ADDED_TOP}
    if extra:
        problems.append(f"unexpected fields {sorted(extra)}")
    try:
        ts = doc["@timestamp"]
        t = datetime.fromisoformat(ts.replace("Z", "+00:00"))
        if t != gen.parse_time(rec["eventTime"]):
            problems.append(f"@timestamp {ts} != eventTime {rec['eventTime']}")
    except (KeyError, ValueError, AttributeError) as e:
        problems.append(f"@timestamp: {e!r}")
    for path, want in (("cloud.account.id", rec.get("recipientAccountId")), ("cloud.region", rec.get("awsRegion")),
                       ("cloud.provider", "aws")):
        try:
            got = get_path(doc, path)
            if got != want:
                problems.append(f"{path} = {got!r}, want {want!r}")
        except KeyError:
            problems.append(f"{path} missing")
    return problems


def decode_raw_records(body: bytes) -> list:
    return json.loads(gzip.decompress(body))["Records"]


def kill_at(p: subprocess.Popen, delay: float) -> bool:
    """SIGKILL p after delay seconds; True when it was still running at that moment."""
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline:
        if p.poll() is not None:
            return False
        time.sleep(0.005)
    if p.poll() is not None:
        return False
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    return True
