#!/usr/bin/env python3
"""A real Icinga 2 on loopback, with its livestatus feature, for the monitoring collector tests.

Debian's `icinga2` package (icinga2-bin + icinga2-common) runs here as a foreground daemon
from a self-contained configuration written into a temporary folder: nothing under
/etc/icinga2, /var/lib/icinga2 or /run/icinga2 is read or written. Every path constant is
passed with -D, the daemon runs as the current user (RunAsUser/RunAsGroup), and livestatus
listens on 127.0.0.1:<port> (TCP) and on a unix socket at the same time.

Hosts are given as a list of dicts (a JSON file for the CLI):

    {"name": "web-1",                      # host object name (no "!")
     "display_name": "Web One",            # optional; livestatus `alias` is the display name too
     "address": "10.0.1.10",               # optional
     "address6": "2001:db8::10",           # optional
     "vars": {"ec2_instance_id": "i-0abc"},# optional custom variables (any JSON value)
     "groups": ["linux", "web"],           # optional host groups (created as needed)
     "state": 0}                           # optional: 0 = UP (default), 1 = DOWN

Every host runs check_command "dummy" (the ITL's in-process dummy check, no plugin is
forked) with max_check_attempts 1 (hard state at once). Left alone Icinga would run each first
check at a random moment within min(check_interval, 60 s); instead, as soon as livestatus
answers, the peer sends `COMMAND [now] SCHEDULE_FORCED_HOST_CHECK;<host>;<now>` for every host,
so all hosts have a state and last_check > 0 about 0.2 s after the start (200 hosts: 0.21 s).
check_interval (default 300 s) only sets how often they are re-checked afterwards. A DOWN host gets vars.dummy_state = 2 (and
vars.dummy_text): that is how the ITL's dummy command is told its result, so those two
variables show up among a DOWN host's custom variables, as they would on a real server.

Importable (the pytest fixtures):

    from icinga_peer import start_icinga, livestatus_query, parse_fixed16
    peer = start_icinga(hosts, dir=tmp)          # waits until every host has been checked
    raw = peer.query(b"GET hosts\\nColumns: name\\nOutputFormat: json\\nResponseHeader: fixed16\\n\\n")
    status, body = parse_fixed16(raw)
    peer.stop()

Runnable:

    python3 Tests/integration/icinga_peer.py start --hosts hosts.json [--port N] [--socket PATH] --dir D
        writes D/icinga2.conf, validates it (icinga2 daemon -C), starts the daemon detached,
        waits until it is ready, writes D/icinga-peer.json and prints LIVESTATUS_* lines
    python3 Tests/integration/icinga_peer.py stop --dir D
    python3 Tests/integration/icinga_peer.py status --dir D
    python3 Tests/integration/icinga_peer.py query --dir D [--unix] 'GET hosts' 'Columns: name'
    python3 Tests/integration/icinga_peer.py capture --out Tests/integration/monitoring_fixtures
        (re)captures the raw livestatus fixtures from a fresh daemon with the demo hosts

Only 127.0.0.1 and unix sockets are used. The daemon is stopped by its own pid (checked
against its command line), never by name.
"""

from __future__ import annotations

import argparse
import ctypes
import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence, Union

HOST = "127.0.0.1"
STATE_FILE = "icinga-peer.json"
ICINGA2 = os.environ.get("ICINGA2_BIN", "icinga2")
_PR_SET_PDEATHSIG = 1

# the columns the collector asks for, in the order the notes and fixtures use
HOST_COLUMNS = ("name", "alias", "display_name", "address", "address6", "state", "has_been_checked",
                "last_check", "custom_variable_names", "custom_variable_values", "custom_variables", "groups")


class IcingaError(RuntimeError):
    pass


class LivestatusError(RuntimeError):
    """A livestatus answer that is not a whole, successful fixed16 response."""

    def __init__(self, message: str, status: Optional[int] = None, body: bytes = b""):
        super().__init__(message)
        self.status = status
        self.body = body


# ---------------------------------------------------------------- livestatus client (raw)

Request = Union[bytes, str, Sequence[str]]


def build_request(req: Request) -> bytes:
    """Bytes of a livestatus request: lines joined by \\n, ended by one empty line."""
    if isinstance(req, bytes):
        return req
    if isinstance(req, str):
        lines = req.split("\n")
    else:
        lines = list(req)
    while lines and lines[-1] == "":
        lines.pop()
    return ("\n".join(lines) + "\n\n").encode()


def livestatus_query(req: Request, *, tcp: Optional[tuple] = None, unix: Optional[str] = None,
                     timeout: float = 10.0, shutdown_write: bool = False) -> bytes:
    """Send one request, read until the server closes; the raw answer bytes.

    Icinga 2 closes the connection after the answer unless the request had `KeepAlive: on`,
    so reading to EOF is the whole answer. shutdown_write half-closes our side after sending
    (works too: the server treats EOF like the empty line that ends a request).
    """
    if (tcp is None) == (unix is None):
        raise ValueError("give exactly one of tcp=(host, port) or unix=path")
    if unix is not None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(unix)
    else:
        s = socket.create_connection(tcp, timeout=timeout)
    try:
        s.sendall(build_request(req))
        if shutdown_write:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            c = s.recv(65536)
            if not c:
                break
            chunks.append(c)
        return b"".join(chunks)
    finally:
        s.close()


def parse_fixed16(raw: bytes) -> tuple:
    """(status, body) of a `ResponseHeader: fixed16` answer; LivestatusError if malformed or short.

    Header: 16 bytes = 3-digit status, the body length in bytes right-aligned in the next 12
    bytes (space padded, at least one space), then "\\n".
    """
    if len(raw) < 16:
        raise LivestatusError(f"answer of {len(raw)} bytes has no 16-byte header", body=raw)
    head = raw[:16]
    m = re.fullmatch(rb"(\d{3}) +(\d+)\n", head)
    if not m:
        raise LivestatusError(f"malformed fixed16 header {head!r}", body=raw)
    status, length = int(m.group(1)), int(m.group(2))
    body = raw[16:]
    if len(body) != length:
        raise LivestatusError(f"header announces {length} bytes, got {len(body)}", status, body)
    return status, body


def fetch_hosts(columns: Sequence[str] = HOST_COLUMNS, **where) -> list:
    """GET hosts with the given columns as a list of dicts (raises LivestatusError unless 200)."""
    req = ["GET hosts", "Columns: " + " ".join(columns), "OutputFormat: json", "ResponseHeader: fixed16"]
    status, body = parse_fixed16(livestatus_query(req, **where))
    if status != 200:
        raise LivestatusError(f"livestatus status {status}: {body[:200]!r}", status, body)
    return [dict(zip(columns, row)) for row in json.loads(body)]


# ---------------------------------------------------------------- configuration

def _q(s: str) -> str:
    out = ['"']
    for ch in str(s):
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            raise ValueError(f"control character {ch!r} in {s!r}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _literal(v: Any) -> str:
    """A JSON value as an Icinga 2 DSL literal."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return _q(v)
    if isinstance(v, (list, tuple)):
        return "[ " + ", ".join(_literal(x) for x in v) + " ]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_q(k)} = {_literal(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} {v!r} as an Icinga 2 value")


def _seconds(x: float) -> str:
    return f"{x:g}s"


def render_config(hosts: Iterable[dict], *, port: int, socket_path: str, check_interval: float = 300.0) -> str:
    hosts = list(hosts)
    names = set()
    groups: list = []
    for h in hosts:
        n = h.get("name")
        if not n or not isinstance(n, str) or "!" in n:
            raise ValueError(f"host needs a name without '!': {h!r}")
        if n in names:
            raise ValueError(f"host {n!r} given twice")
        names.add(n)
        for g in h.get("groups", []) or []:
            if g not in groups:
                groups.append(g)
    lines = [
        "/* Written by Tests/integration/icinga_peer.py: a self-contained test configuration. */",
        "",
        "include <itl>    /* CheckCommand \"dummy\" (in-process, no plugin) */",
        "",
        'object CheckerComponent "checker" { }',
        "",
        'object LivestatusListener "livestatus-tcp" {',
        '  socket_type = "tcp"',
        f"  bind_host = {_q(HOST)}",
        f"  bind_port = {_q(str(port))}",
        "}",
        "",
        'object LivestatusListener "livestatus-unix" {',
        '  socket_type = "unix"',
        f"  socket_path = {_q(socket_path)}",
        "}",
        "",
        'template Host "peer-host" {',
        '  check_command = "dummy"',
        f"  check_interval = {_seconds(check_interval)}",
        f"  retry_interval = {_seconds(check_interval)}",
        "  max_check_attempts = 1",
        "  enable_notifications = false",
        "  enable_event_handler = false",
        "  enable_flapping = false",
        "  enable_perfdata = false",
        "}",
        "",
    ]
    for g in groups:
        lines.append(f"object HostGroup {_q(g)} {{ }}")
    if groups:
        lines.append("")
    for h in hosts:
        lines.append(f"object Host {_q(h['name'])} {{")
        lines.append('  import "peer-host"')
        if h.get("display_name") is not None:
            lines.append(f"  display_name = {_q(h['display_name'])}")
        if h.get("address") is not None:
            lines.append(f"  address = {_q(h['address'])}")
        if h.get("address6") is not None:
            lines.append(f"  address6 = {_q(h['address6'])}")
        for k, v in (h.get("vars") or {}).items():
            lines.append(f"  vars[{_q(k)}] = {_literal(v)}")
        state = int(h.get("state", 0))
        if state not in (0, 1):
            raise ValueError(f"host {h['name']!r}: state must be 0 (UP) or 1 (DOWN)")
        if state == 1:
            lines.append("  vars.dummy_state = 2")
            lines.append('  vars.dummy_text = "DOWN (set by the test)"')
        if h.get("groups"):
            lines.append(f"  groups = {_literal(list(h['groups']))}")
        lines.append("}")
        lines.append("")
    return "\n".join(lines)


def _constants(d: Path) -> list:
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    consts = {
        "ConfigDir": d,
        "DataDir": d / "data",
        "LogDir": d / "log",
        "CacheDir": d / "cache",
        "SpoolDir": d / "spool",
        "InitRunDir": d / "run",
        "RunAsUser": user,
        "RunAsGroup": group,
        # no `hostname --fqdn` look-up at start
        "NodeName": "cloudspool-test-icinga",
        "ZoneName": "cloudspool-test-icinga",
    }
    return [f"-D{k}={v}" for k, v in consts.items()]


def _prepare_dir(d: Path) -> None:
    for sub in ("data", "log", "cache", "spool", "run"):
        (d / sub).mkdir(parents=True, exist_ok=True)


# ---------------------------------------------------------------- process helpers

def _preexec(detach: bool):
    def fn() -> None:
        os.setsid()  # own process group: the umbrella, its worker and helper can be told apart
        if not detach:
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
            except Exception:
                pass
    return fn


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int, marker: str) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return False
    except (OSError, IndexError):
        return False
    return marker in _cmdline(pid)


def _group_members(pgid: int, marker: str) -> list:
    """Pids of our daemon's process group (checked by command line)."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat", "rb") as f:
                fields = f.read().decode(errors="replace").rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] not in ("Z", "X") and marker in _cmdline(int(p)):
                out.append(int(p))
        except (OSError, IndexError, ValueError):
            continue
    return out


def stop_daemon(pid: int, marker: str, grace: float = 15.0, process: Optional[subprocess.Popen] = None) -> float:
    """SIGTERM the umbrella process, wait for the whole group to go; SIGKILL what is left after grace.

    Returns the seconds it took. Only processes whose command line holds marker (the path of
    this peer's icinga2.conf) are signalled.
    """
    t0 = time.monotonic()
    if _alive(pid, marker):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = t0 + grace
    while time.monotonic() < deadline:
        if process is not None:
            process.poll()
        if not _group_members(pid, marker):
            break
        time.sleep(0.05)
    for p in _group_members(pid, marker):
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    gone = time.monotonic() + 5.0
    while _group_members(pid, marker) and time.monotonic() < gone:
        time.sleep(0.02)
    if process is not None:
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            pass
    return time.monotonic() - t0


def free_port() -> int:
    s = socket.socket()
    try:
        s.bind((HOST, 0))
        return s.getsockname()[1]
    finally:
        s.close()


# ---------------------------------------------------------------- the peer

@dataclass
class IcingaPeer:
    dir: Path
    port: int
    socket_path: str
    pid: int
    conf_path: str
    log_path: str
    host_names: list
    startup_seconds: float = 0.0
    process: Optional[subprocess.Popen] = field(default=None, repr=False)

    @property
    def tcp(self) -> tuple:
        return (HOST, self.port)

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def query(self, req: Request, via: str = "tcp", **kw) -> bytes:
        if via == "unix":
            return livestatus_query(req, unix=self.socket_path, **kw)
        return livestatus_query(req, tcp=self.tcp, **kw)

    def hosts(self, columns: Sequence[str] = HOST_COLUMNS, via: str = "tcp") -> list:
        if via == "unix":
            return fetch_hosts(columns, unix=self.socket_path)
        return fetch_hosts(columns, tcp=self.tcp)

    def alive(self) -> bool:
        return _alive(self.pid, self.conf_path)

    def check_all_now(self, timeout: float = 30.0) -> None:
        """Force a check of every host and wait until each has has_been_checked 1, last_check > 0."""
        deadline = time.monotonic() + timeout
        forced_at = 0.0
        unchecked = list(self.host_names)
        while time.monotonic() < deadline:
            rows = fetch_hosts(("name", "has_been_checked", "last_check"), tcp=self.tcp, timeout=5.0)
            got = {r["name"]: r for r in rows}
            unchecked = [n for n in self.host_names
                         if n not in got or not (got[n]["has_been_checked"] and got[n]["last_check"] > 0)]
            if not unchecked:
                return
            if time.monotonic() - forced_at > 1.0:
                force_checks(self, unchecked)
                forced_at = time.monotonic()
            time.sleep(0.02)
        raise IcingaError(f"{len(unchecked)} host(s) still unchecked after {timeout} s, e.g. {unchecked[:3]}")

    def log_text(self) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, grace: float = 15.0, clean: bool = True) -> float:
        """SIGTERM and wait (a clean stop takes about 3 s: ~1 s per livestatus listener);
        clean=False: SIGKILL the daemon's processes at once (the state folder is thrown away anyway)."""
        return stop_daemon(self.pid, self.conf_path, grace=grace if clean else 0.0, process=self.process)

    def to_json(self) -> dict:
        return {"address": self.address, "port": self.port, "socket": self.socket_path, "pid": self.pid,
                "conf": self.conf_path, "log": self.log_path, "dir": str(self.dir), "hosts": self.host_names,
                "startup_seconds": round(self.startup_seconds, 3)}

    def __enter__(self) -> "IcingaPeer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def icinga2_available() -> Optional[str]:
    """None if an icinga2 binary is on PATH, else why not."""
    if shutil.which(ICINGA2) is None:
        return f"{ICINGA2} not found (apt-get install icinga2-bin icinga2-common)"
    return None


def write_config(hosts: Sequence[dict], d: Path, *, port: int, socket_path: str, check_interval: float) -> Path:
    _prepare_dir(d)
    conf = d / "icinga2.conf"
    conf.write_text(render_config(hosts, port=port, socket_path=socket_path, check_interval=check_interval))
    return conf


def validate_config(conf: Path, d: Path, timeout: float = 60.0) -> None:
    """`icinga2 daemon -C`; IcingaError with its output when the configuration is invalid."""
    r = subprocess.run([ICINGA2, "daemon", "-C", "-c", str(conf), *_constants(d)], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    if r.returncode != 0:
        text = r.stdout.decode(errors="replace")
        bad = "\n".join(l for l in text.splitlines() if "information/" not in l) or text
        raise IcingaError(f"icinga2 daemon -C rejected {conf} (exit {r.returncode}):\n{bad}")


def start_icinga(hosts: Sequence[dict], *, port: int = 0, socket_path: Optional[str] = None,
                 dir: Optional[Union[str, Path]] = None, timeout: float = 30.0, detach: bool = False,
                 check_interval: float = 300.0, validate: bool = True, wait_checked: bool = True) -> IcingaPeer:
    """Write the configuration, validate it, start the daemon and wait until it is ready.

    Ready: livestatus answers `GET hosts` on TCP and on the unix socket with every given host,
    and (wait_checked) every host has has_been_checked = 1 and last_check > 0.
    port 0: a free loopback port is picked (and another one tried if the bind is lost).
    """
    why = icinga2_available()
    if why:
        raise IcingaError(why)
    t0 = time.monotonic()
    d = Path(dir) if dir else Path(tempfile.mkdtemp(prefix="cloudspool-icinga-"))
    d = d.resolve()
    d.mkdir(parents=True, exist_ok=True)
    sock = socket_path or str(d / "run" / "livestatus")
    if len(sock.encode()) > 100:
        raise IcingaError(f"unix socket path too long for sockaddr_un: {sock}")
    attempts = 3 if port == 0 else 1
    last_err: Optional[Exception] = None
    for _ in range(attempts):
        p = port or free_port()
        conf = write_config(hosts, d, port=p, socket_path=sock, check_interval=check_interval)
        if validate:
            validate_config(conf, d)
        try:
            os.unlink(sock)
        except FileNotFoundError:
            pass
        log_path = str(d / "icinga2.log")
        log = open(log_path, "ab")
        try:
            proc = subprocess.Popen([ICINGA2, "daemon", "-c", str(conf), *_constants(d)],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    preexec_fn=_preexec(detach), cwd=str(d))
        finally:
            log.close()
        peer = IcingaPeer(d, p, sock, proc.pid, str(conf), log_path, [h["name"] for h in hosts],
                          process=None if detach else proc)
        try:
            _wait_ready(peer, proc, timeout=max(1.0, timeout - (time.monotonic() - t0)), wait_checked=wait_checked)
        except _BindLost as e:
            last_err = e
            stop_daemon(proc.pid, str(conf), grace=0, process=proc)
            if port:
                raise IcingaError(f"livestatus cannot listen on {HOST}:{port} (taken?); log {log_path}") from None
            continue
        except BaseException:
            stop_daemon(proc.pid, str(conf), grace=5, process=proc)
            raise
        peer.startup_seconds = time.monotonic() - t0
        return peer
    raise IcingaError(f"could not bind livestatus on a free port: {last_err}")


class _BindLost(IcingaError):
    pass


def force_checks(peer: "IcingaPeer", names: Iterable[str]) -> None:
    """Livestatus COMMAND SCHEDULE_FORCED_HOST_CHECK for each host: the checker runs them now."""
    now = int(time.time())
    req = b"".join(f"COMMAND [{now}] SCHEDULE_FORCED_HOST_CHECK;{n};{now}\n\n".encode() for n in names)
    if req:
        livestatus_query(req, tcp=peer.tcp, timeout=5.0, shutdown_write=True)


def _wait_ready(peer: IcingaPeer, proc: subprocess.Popen, timeout: float, wait_checked: bool) -> None:
    deadline = time.monotonic() + timeout
    want = set(peer.host_names)
    last = "no answer yet"
    forced_at = 0.0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise IcingaError(f"icinga2 exited with {proc.returncode} during start-up; log {peer.log_path}:\n"
                              f"{peer.log_text()[-3000:]}")
        text = peer.log_text()
        if "Cannot bind TCP socket" in text:
            raise _BindLost(f"port {peer.port} taken")
        if "Cannot bind UNIX socket" in text:
            raise IcingaError(f"icinga2 cannot bind the unix socket {peer.socket_path}; log {peer.log_path}")
        try:
            rows = fetch_hosts(("name", "has_been_checked", "last_check"), tcp=peer.tcp, timeout=2.0)
            got = {r["name"]: r for r in rows}
            missing = want - set(got)
            unchecked = [n for n in want & set(got) if not (got[n]["has_been_checked"] and got[n]["last_check"] > 0)]
            if missing:
                last = f"hosts missing: {sorted(missing)[:5]}"
            elif wait_checked and unchecked:
                last = f"{len(unchecked)} host(s) not checked yet, e.g. {sorted(unchecked)[:3]}"
                if time.monotonic() - forced_at > 1.0:   # first time, and again if a command got lost
                    force_checks(peer, unchecked)
                    forced_at = time.monotonic()
            elif os.path.exists(peer.socket_path):
                fetch_hosts(("name",), unix=peer.socket_path, timeout=2.0)
                return
            else:
                last = "unix socket not there yet"
        except (OSError, LivestatusError, ValueError) as e:
            last = f"{type(e).__name__}: {e}"
        time.sleep(0.02)
    raise IcingaError(f"icinga2 not ready within {timeout:.0f} s ({last}); log {peer.log_path}:\n"
                      f"{peer.log_text()[-3000:]}")


# ---------------------------------------------------------------- demo hosts

def demo_hosts(instances: Sequence[dict]) -> list:
    """Hosts that match demo EC2 instances by each rule, plus hosts that match none.

    instances: dicts with id, private_ip, public_ip, private_dns, public_dns, name (Name tag),
    at least 7 of them (extra ones stay unmonitored). Rule by rule, in the issue's order:
      [0] custom variable ec2_instance_id   [1] instance id as host name   [2] id as alias (display_name)
      [3] private IP as address             [4] public IP as address       [5] private DNS name as host name
      [6] public DNS name as host name      [7] Name tag, other case, as host name (if given)
    Plus "shared-vip" whose address is [3]'s private IP and whose custom variable names [4]'s
    id (one monitoring host matching two instances), and two hosts that match nothing.
    """
    i = list(instances)
    if len(i) < 7:
        raise ValueError("demo_hosts needs at least 7 instances")
    hosts = [
        {"name": "by-var", "display_name": "matched by custom variable", "address": "192.0.2.1",
         "vars": {"ec2_instance_id": i[0]["id"], "os": "linux"}, "groups": ["linux"]},
        {"name": i[1]["id"], "display_name": "matched by id as name", "address": "192.0.2.2"},
        {"name": "by-alias", "display_name": i[2]["id"], "address": "192.0.2.3"},
        {"name": "by-private-ip", "address": i[3]["private_ip"], "groups": ["linux", "web"]},
        {"name": "by-public-ip", "address": i[4]["public_ip"], "state": 1},
        {"name": i[5]["private_dns"], "address": "192.0.2.6"},
        {"name": i[6]["public_dns"], "address": "192.0.2.7"},
    ]
    if len(i) > 7 and i[7].get("name"):
        hosts.append({"name": i[7]["name"].swapcase(), "address": "192.0.2.8"})
    hosts += [
        {"name": "shared-vip", "address": i[3]["private_ip"], "vars": {"ec2_instance_id": i[4]["id"]}},
        {"name": "legacy-db", "display_name": "not in AWS", "address": "198.51.100.20",
         "vars": {"ec2_instance_id": "i-00000000000000000"}},
        {"name": "printer-3", "address": "198.51.100.30", "address6": "2001:db8::30"},
    ]
    return hosts


# fixed demo hosts for the captured fixtures (made-up but well-formed ids/addresses)
FIXTURE_HOSTS = [
    {"name": "web-1", "display_name": "Web server 1", "address": "10.0.1.10",
     "vars": {"ec2_instance_id": "i-0a1b2c3d4e5f60718", "os": "linux", "port": 8080, "tags": ["a", "b"],
              "owner": {"team": "web"}}, "groups": ["linux", "web"]},
    {"name": "i-0fedcba9876543210", "display_name": "i-0fedcba9876543210", "address": "10.0.1.11"},
    {"name": "ip-10-0-2-12.eu-west-1.compute.internal", "address": "10.0.2.12", "address6": "2001:db8::12",
     "groups": ["linux"]},
    {"name": "db-old", "display_name": "Old database", "address": "198.51.100.20", "state": 1,
     "vars": {"EC2_Instance_ID": "i-00000000000000000"}},
    {"name": "odd-values", "display_name": "Bj\u00f8rn \u2713 \"quoted\" back\\slash\ttab", "address": "10.0.3.13",
     "vars": {"flag": True, "nothing": None, "ratio": 1.5, "_ec2_instance_id": "i-0badc0ffee0000001"}},
]


def capture_fixtures(out: Path, work: Optional[Path] = None) -> dict:
    """Start a fresh daemon with FIXTURE_HOSTS and store raw request/answer pairs in out/."""
    out.mkdir(parents=True, exist_ok=True)
    work = work or Path(tempfile.mkdtemp(prefix="cloudspool-icinga-capture-"))
    peer = start_icinga(FIXTURE_HOSTS, dir=work, wait_checked=False)
    cols = " ".join(HOST_COLUMNS)
    # before any check has run (the first scheduled check is up to 60 s away)
    early = {
        "hosts.unchecked.fixed16.json": f"GET hosts\nColumns: {cols}\nOutputFormat: json\nResponseHeader: fixed16\n\n",
    }
    cases = {
        "hosts.fixed16.json": f"GET hosts\nColumns: {cols}\nOutputFormat: json\nResponseHeader: fixed16\n\n",
        "hosts.noheader.json": f"GET hosts\nColumns: {cols}\nOutputFormat: json\n\n",
        "hosts.columnheaders.fixed16.json": "GET hosts\nColumns: name address\nOutputFormat: json\n"
                                            "ColumnHeaders: on\nResponseHeader: fixed16\n\n",
        "hosts.nocolumns.fixed16.json": "GET hosts\nFilter: name = web-1\nOutputFormat: json\n"
                                        "ResponseHeader: fixed16\n\n",
        "hosts.csv.fixed16": f"GET hosts\nColumns: {cols}\nResponseHeader: fixed16\n\n",
        "hosts.empty.fixed16.json": "GET hosts\nColumns: name\nFilter: name = no-such-host\nOutputFormat: json\n"
                                    "ResponseHeader: fixed16\n\n",
        "error.unknown-column.fixed16": "GET hosts\nColumns: name no_such_column\nOutputFormat: json\n"
                                        "ResponseHeader: fixed16\n\n",
        "error.unknown-column.noheader": "GET hosts\nColumns: name no_such_column\nOutputFormat: json\n\n",
        "error.unknown-table.fixed16": "GET no_such_table\nOutputFormat: json\nResponseHeader: fixed16\n\n",
        "error.bad-verb.fixed16": "FETCH hosts\nOutputFormat: json\nResponseHeader: fixed16\n\n",
        "error.bad-filter.fixed16": "GET hosts\nColumns: name\nFilter: name\nOutputFormat: json\n"
                                    "ResponseHeader: fixed16\n\n",
        "keepalive.two-queries.fixed16.json": "GET hosts\nColumns: name\nOutputFormat: json\nKeepAlive: on\n"
                                              "ResponseHeader: fixed16\n\n"
                                              "GET hosts\nColumns: state\nOutputFormat: json\n"
                                              "ResponseHeader: fixed16\n\n",
    }
    index = {}

    def one(name: str, req: str) -> None:
        raw_req = req.encode()
        raw = peer.query(raw_req, shutdown_write=True)
        (out / f"{name}.request").write_bytes(raw_req)
        (out / f"{name}.response").write_bytes(raw)
        index[name] = {"request_bytes": len(raw_req), "response_bytes": len(raw),
                       "header": raw[:16].decode(errors="replace") if len(raw) >= 16 else raw.decode()}

    try:
        for name, req in early.items():
            one(name, req)
        peer.check_all_now()
        for name, req in cases.items():
            one(name, req)
        (out / "hosts.json").write_text(json.dumps(FIXTURE_HOSTS, indent=2) + "\n")
        (out / "icinga2.conf").write_text(Path(peer.conf_path).read_text())
    finally:
        peer.stop()
    return index


# ---------------------------------------------------------------- CLI

def _load_state(d: Path) -> dict:
    return json.loads((d / STATE_FILE).read_text())


def cmd_start(a: argparse.Namespace) -> int:
    d = Path(a.dir).resolve()
    hosts = json.loads(Path(a.hosts).read_text())
    try:
        peer = start_icinga(hosts, port=a.port, socket_path=a.socket, dir=d, detach=True, timeout=a.timeout,
                            check_interval=a.check_interval)
    except IcingaError as e:
        print(f"icinga_peer.py: {e}", file=sys.stderr)
        return 1
    (d / STATE_FILE).write_text(json.dumps(peer.to_json(), indent=2) + "\n")
    print(f"LIVESTATUS_TCP={peer.address}")
    print(f"LIVESTATUS_SOCKET={peer.socket_path}")
    print(f"ICINGA_PID={peer.pid}")
    print(f"ICINGA_STARTUP_SECONDS={peer.startup_seconds:.2f}")
    return 0


def cmd_stop(a: argparse.Namespace) -> int:
    d = Path(a.dir).resolve()
    try:
        st = _load_state(d)
    except FileNotFoundError:
        print(f"icinga_peer.py: no {d / STATE_FILE}; nothing to stop", file=sys.stderr)
        return 0
    secs = stop_daemon(int(st["pid"]), st["conf"], grace=a.grace)
    (d / STATE_FILE).unlink(missing_ok=True)
    print(f"stopped icinga2 (pid {st['pid']}) in {secs:.1f} s")
    return 0


def cmd_status(a: argparse.Namespace) -> int:
    try:
        st = _load_state(Path(a.dir).resolve())
    except FileNotFoundError:
        print("not started")
        return 1
    host, port = st["address"].rsplit(":", 1)
    try:
        n = len(fetch_hosts(("name",), tcp=(host, int(port)), timeout=3))
        print(f"up: {st['address']} {st['socket']} pid {st['pid']}, {n} hosts")
        return 0
    except (OSError, LivestatusError) as e:
        print(f"DOWN: {st['address']} pid {st['pid']}: {e}")
        return 1


def cmd_query(a: argparse.Namespace) -> int:
    st = _load_state(Path(a.dir).resolve())
    host, port = st["address"].rsplit(":", 1)
    where = {"unix": st["socket"]} if a.unix else {"tcp": (host, int(port))}
    sys.stdout.buffer.write(livestatus_query(list(a.lines), **where))
    return 0


def cmd_capture(a: argparse.Namespace) -> int:
    index = capture_fixtures(Path(a.out))
    for name, info in index.items():
        print(f"{name}: {info['response_bytes']} bytes, header {info['header']!r}")
    return 0


def main(argv: Optional[list] = None) -> int:
    ap = argparse.ArgumentParser(description="a real icinga2 with livestatus on loopback, for tests")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start")
    s.add_argument("--hosts", required=True, help="JSON file: a list of host dicts")
    s.add_argument("--port", type=int, default=0, help="livestatus TCP port on 127.0.0.1 (0: a free one)")
    s.add_argument("--socket", default=None, help="livestatus unix socket path (default DIR/run/livestatus)")
    s.add_argument("--dir", required=True, help="working folder (config, state, log)")
    s.add_argument("--timeout", type=float, default=60.0)
    s.add_argument("--check-interval", type=float, default=300.0)
    s.set_defaults(fn=cmd_start)
    t = sub.add_parser("stop")
    t.add_argument("--dir", required=True)
    t.add_argument("--grace", type=float, default=15.0)
    t.set_defaults(fn=cmd_stop)
    u = sub.add_parser("status")
    u.add_argument("--dir", required=True)
    u.set_defaults(fn=cmd_status)
    q = sub.add_parser("query", help="send request lines, print the raw answer")
    q.add_argument("--dir", required=True)
    q.add_argument("--unix", action="store_true")
    q.add_argument("lines", nargs="+")
    q.set_defaults(fn=cmd_query)
    c = sub.add_parser("capture", help="re-capture the raw livestatus fixtures")
    c.add_argument("--out", required=True)
    c.set_defaults(fn=cmd_capture)
    a = ap.parse_args(argv)
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
