#!/usr/bin/env python3
"""Start and stop the test peers of cloudspool on free loopback ports.

Peers:
  moto    moto_server, the AWS emulator (S3, STS, ...)
  osmem   osmem-server, an in-memory OpenSearch-compatible server

Importable (used by the pytest fixtures, the demo and benchmarks):

    from peers import moto_server, osmem_server
    with moto_server() as moto, osmem_server() as osmem:
        print(moto.url, moto.pid, osmem.url, osmem.pid)

    p = start_moto(); ...; p.stop()

Runnable:

    python3 scripts/peers.py start --state-file X [--services moto,osmem] [--log-dir D]
        starts the peers detached, writes X (JSON: {"moto": {"url":..,"pid":..}, ...})
        and prints shell lines MOTO_URL=... MOTO_PID=... OSMEM_URL=... OSMEM_PID=...
    python3 scripts/peers.py stop --state-file X
        stops the peers named in X (by pid, after checking the pid is still that peer)

Everything listens on 127.0.0.1 only. Peers are killed by their own pid, never
by name.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

HOST = "127.0.0.1"
_PR_SET_PDEATHSIG = 1


class PeerError(RuntimeError):
    pass


@dataclass
class Peer:
    name: str
    url: str
    pid: int
    log_path: str
    process: Optional[subprocess.Popen] = field(default=None, repr=False)
    # substring of /proc/<pid>/cmdline that identifies the peer (pid reuse guard)
    cmd_marker: str = ""

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return _pid_is(self.pid, self.cmd_marker)

    def stop(self, grace: float = 5.0) -> None:
        stop_pid(self.pid, self.cmd_marker, grace=grace, process=self.process)

    def to_json(self) -> dict:
        return {"url": self.url, "pid": self.pid, "log": self.log_path, "marker": self.cmd_marker}

    def __enter__(self) -> "Peer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# ---------------------------------------------------------------- helpers

def _die_with_parent() -> None:
    """preexec_fn: the child gets SIGKILL when the process that started it dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


def _detach() -> None:
    os.setsid()


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _pid_is(pid: int, marker: str) -> bool:
    """True when pid is alive (not a zombie) and its command line contains marker."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
        state = stat.rsplit(")", 1)[1].split()[0]
        if state in ("Z", "X"):
            return False
    except (OSError, IndexError):
        return False
    return marker in _cmdline(pid) if marker else True


def stop_pid(pid: int, marker: str = "", grace: float = 5.0, process: Optional[subprocess.Popen] = None) -> None:
    """SIGTERM the pid, wait up to grace seconds, then SIGKILL. Only if it is still the peer."""
    if process is not None:
        if process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        return
    if not _pid_is(pid, marker):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _pid_is(pid, marker):
            return
        time.sleep(0.05)
    if _pid_is(pid, marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            r.read()
        return True
    except urllib.error.HTTPError:
        return True  # it answered
    except Exception:
        return False


def _wait_for(pattern: re.Pattern, log_path: str, proc: subprocess.Popen, timeout: float, what: str) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            text = Path(log_path).read_text(errors="replace")
        except OSError:
            text = ""
        m = pattern.search(text)
        if m:
            return m
        if proc.poll() is not None:
            raise PeerError(f"{what} exited with {proc.returncode} during start-up; log {log_path}:\n{text[-2000:]}")
        time.sleep(0.05)
    proc.kill()
    raise PeerError(f"{what} did not become ready within {timeout} s; log {log_path}")


def _log_file(log_dir: Optional[str], name: str) -> str:
    d = log_dir or tempfile.mkdtemp(prefix="cloudspool-peers-")
    os.makedirs(d, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix=f"{name}-", suffix=".log", dir=d)
    os.close(fd)
    return path


# ---------------------------------------------------------------- moto

def moto_binary() -> str:
    here = Path(sys.executable).parent / "moto_server"
    if here.exists():
        return str(here)
    from shutil import which

    found = which("moto_server")
    if not found:
        raise PeerError("moto_server not found (pip install 'moto[server]')")
    return found


def start_moto(log_dir: Optional[str] = None, detach: bool = False, timeout: float = 60.0) -> Peer:
    """Start moto_server on a free loopback port and wait until it answers."""
    log_path = _log_file(log_dir, "moto")
    env = dict(os.environ)
    env["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
    env.setdefault("AWS_ACCESS_KEY_ID", "testing")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    env["PYTHONUNBUFFERED"] = "1"
    log = open(log_path, "ab")
    try:
        proc = subprocess.Popen(
            [moto_binary(), "-H", HOST, "-p", "0"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            preexec_fn=_detach if detach else _die_with_parent,
        )
    finally:
        log.close()
    m = _wait_for(re.compile(r"Running on http://127\.0\.0\.1:(\d+)"), log_path, proc, timeout, "moto_server")
    url = f"http://{HOST}:{m.group(1)}"
    deadline = time.monotonic() + timeout
    while not _http_ok(url + "/moto-api/"):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_pid(proc.pid, process=proc)
            raise PeerError(f"moto_server at {url} does not answer; log {log_path}")
        time.sleep(0.05)
    return Peer("moto", url, proc.pid, log_path, None if detach else proc, "moto_server")


# ---------------------------------------------------------------- osmem

def osmem_binary() -> str:
    env = os.environ.get("OSMEM_SERVER_BIN")
    if env:
        return env
    try:
        import osmem_server  # type: ignore
    except ImportError as e:
        raise PeerError("osmem-server is not installed (pip install osmem-server)") from e
    return osmem_server.resolve_binary()


def start_osmem(log_dir: Optional[str] = None, detach: bool = False, timeout: float = 30.0,
                japanese: bool = False, port: int = 0) -> Peer:
    """Start osmem-server on a free (or the given) loopback port; wait for its ready line."""
    log_path = _log_file(log_dir, "osmem")
    args = [osmem_binary(), "--addr", f"{HOST}:{port}"]
    if detach:
        args.append("--no-stdin-watch")
    else:
        args += ["--parent-pid", str(os.getpid()), "--no-stdin-watch"]
    if not japanese:
        args.append("--no-ja")
    log = open(log_path, "ab")
    try:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                preexec_fn=_detach if detach else _die_with_parent)
    finally:
        log.close()
    m = _wait_for(re.compile(r'^(\{.*"url".*\})\s*$', re.M), log_path, proc, timeout, "osmem-server")
    info = json.loads(m.group(1))
    url = info["url"].rstrip("/")
    deadline = time.monotonic() + timeout
    while not _http_ok(url + "/"):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_pid(proc.pid, process=proc)
            raise PeerError(f"osmem-server at {url} does not answer; log {log_path}")
        time.sleep(0.02)
    return Peer("osmem", url, proc.pid, log_path, None if detach else proc, "osmem-server")


@contextlib.contextmanager
def moto_server(**kw) -> Iterator[Peer]:
    p = start_moto(**kw)
    try:
        yield p
    finally:
        p.stop()


@contextlib.contextmanager
def osmem_server(**kw) -> Iterator[Peer]:
    p = start_osmem(**kw)
    try:
        yield p
    finally:
        p.stop()


STARTERS = {"moto": start_moto, "osmem": start_osmem}


# ---------------------------------------------------------------- CLI

def cmd_start(args: argparse.Namespace) -> int:
    services = [s.strip() for s in args.services.split(",") if s.strip()]
    for s in services:
        if s not in STARTERS:
            print(f"peers.py: unknown service {s!r} (known: {', '.join(STARTERS)})", file=sys.stderr)
            return 2
    state_path = Path(args.state_file)
    log_dir = args.log_dir or str(state_path.parent.resolve() / "peer-logs")
    state: dict = {}
    started: list[Peer] = []
    try:
        for s in services:
            p = STARTERS[s](log_dir=log_dir, detach=True)
            started.append(p)
            state[s] = p.to_json()
    except Exception as e:
        for p in started:
            p.stop()
        print(f"peers.py: {e}", file=sys.stderr)
        return 1
    state_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = state_path.with_name(state_path.name + ".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    os.replace(tmp, state_path)
    for s, info in state.items():
        print(f"{s.upper()}_URL={info['url']}")
        print(f"{s.upper()}_PID={info['pid']}")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    state_path = Path(args.state_file)
    try:
        state = json.loads(state_path.read_text())
    except FileNotFoundError:
        print(f"peers.py: no state file {state_path}; nothing to stop", file=sys.stderr)
        return 0
    for name, info in state.items():
        stop_pid(int(info["pid"]), info.get("marker", ""))
        print(f"stopped {name} (pid {info['pid']})")
    state_path.unlink(missing_ok=True)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    try:
        state = json.loads(Path(args.state_file).read_text())
    except FileNotFoundError:
        print("not started")
        return 1
    rc = 0
    for name, info in state.items():
        up = _pid_is(int(info["pid"]), info.get("marker", "")) and _http_ok(info["url"] + "/")
        print(f"{name}: {'up' if up else 'DOWN'} {info['url']} pid {info['pid']}")
        rc |= 0 if up else 1
    return rc


def main(argv: Optional[list] = None) -> int:
    ap = argparse.ArgumentParser(description="start/stop moto_server and osmem-server on loopback")
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("start", help="start peers detached and write a state file")
    a.add_argument("--state-file", required=True)
    a.add_argument("--services", default="moto,osmem")
    a.add_argument("--log-dir", default=None)
    a.set_defaults(fn=cmd_start)
    b = sub.add_parser("stop", help="stop the peers named in the state file")
    b.add_argument("--state-file", required=True)
    b.set_defaults(fn=cmd_stop)
    c = sub.add_parser("status", help="tell whether the peers of the state file answer")
    c.add_argument("--state-file", required=True)
    c.set_defaults(fn=cmd_status)
    args = ap.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
