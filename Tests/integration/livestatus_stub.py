#!/usr/bin/env python3
"""A loopback livestatus stand-in for the faults a real Icinga 2 will not produce on demand.

The real peer is icinga_peer.py (Debian's icinga2). This stub speaks the same wire format
(see docs/livestatus-notes.md) on 127.0.0.1 and/or a unix socket, and can misbehave:

  mode "ok"          answer like a server: the requested Columns of `hosts`, OutputFormat json,
                     a fixed16 header when the request asked for one, rows joined by ", "
                     (icinga flavour) or by ",\\n" (naemon flavour); unknown column -> 452,
                     unknown table -> 404; `KeepAlive: on` keeps the connection open
  mode "error"       fixed16 header with `status` (default 400) and `message` as the body
  mode "truncated"   the header announces the whole body, half of it is sent, then close
  mode "garbage"     status 200, a correct length, a body that is not JSON
  mode "bad_header"  16 bytes that are not a fixed16 header, then the body
  mode "empty"       read the request, close without a byte (what icinga2 does for a bad verb
                     or a malformed Filter line)
  mode "reset"       close the connection before reading the request
  mode "hang"        read the request, never answer (until the stub stops)
  mode "slow"        answer correctly, `chunk` bytes every `delay` seconds
  mode "replay"      send `raw` (bytes, e.g. a captured fixture) whatever was asked

Flavours for the host rows (mode "ok"):
  "icinga"  custom_variables = [[name, value], ...], names as configured, values keep their JSON
            type (numbers stay numbers, arrays/dicts arrive as JSON-encoded strings); alias ==
            display_name; a host never checked: state 1, has_been_checked 0, last_check -1
  "naemon"  custom_variables = {NAME: "value"}, names upper case without the leading "_",
            values always strings; a host never checked: state 0, has_been_checked 0, last_check 0

Hosts are dicts keyed by column name (missing columns get the flavour's empty value); vars go
in "vars": {"ec2_instance_id": "i-..."} and become the three custom variable columns.
many_hosts(n) makes n well-formed hosts (the 100,000-host test).

    with LivestatusStub(hosts, unix_path=tmp / "live") as ls:
        ls.tcp, ls.unix_path, ls.requests   # requests: raw bytes of every request received
        ls.mode = "truncated"               # switch at any time
"""

from __future__ import annotations

import json
import os
import socket
import socketserver
import threading
import time
from pathlib import Path
from typing import Iterable, Optional, Sequence

HOST = "127.0.0.1"

DEFAULT_COLUMNS = ("accept_passive_checks", "address", "address6", "alias", "custom_variable_names",
                   "custom_variable_values", "custom_variables", "display_name", "groups",
                   "has_been_checked", "last_check", "name", "state")
_EMPTY = {"address": "", "address6": "", "groups": [], "state": 0, "has_been_checked": 1,
          "accept_passive_checks": 1}


def many_hosts(n: int, prefix: str = "host") -> list:
    """n distinct, well-formed hosts (every 10th carries an ec2_instance_id custom variable)."""
    out = []
    for i in range(n):
        h = {"name": f"{prefix}-{i:06d}", "address": f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
             "state": 0, "has_been_checked": 1, "last_check": 1700000000 + i % 600}
        if i % 10 == 0:
            h["vars"] = {"ec2_instance_id": f"i-{i:017x}"}
        out.append(h)
    return out


def _cv(host: dict, flavour: str) -> tuple:
    vars_ = host.get("vars") or {}
    if flavour == "naemon":
        names = [k.upper().lstrip("_") for k in vars_]
        values = [v if isinstance(v, str) else json.dumps(v) for v in vars_.values()]
        return names, values, dict(zip(names, values))
    names = list(vars_)
    values = [v if isinstance(v, (str, int, float, bool)) or v is None else json.dumps(v, separators=(",", ":"))
              for v in vars_.values()]
    return names, values, [[n, v] for n, v in zip(names, values)]


def host_row(host: dict, columns: Sequence[str], flavour: str = "icinga") -> list:
    names, values, cv = _cv(host, flavour)
    checked = host.get("has_been_checked", 1)
    row = []
    for c in columns:
        if c == "custom_variable_names":
            row.append(names)
        elif c == "custom_variable_values":
            row.append(values)
        elif c == "custom_variables":
            row.append(cv)
        elif c in ("alias", "display_name"):
            dn = host.get("display_name") or host["name"]
            row.append(host.get(c, dn) if flavour == "naemon" else dn)
        elif c == "last_check":
            row.append(host.get("last_check", (1700000000 if checked else (0 if flavour == "naemon" else -1))))
        elif c == "state":
            row.append(host.get("state", 0 if (checked or flavour == "naemon") else 1))
        elif c == "name" or c == "host_name":
            row.append(host["name"])
        elif c in host:
            row.append(host[c])
        else:
            row.append(_EMPTY.get(c, ""))
    return row


def parse_request(raw: bytes) -> dict:
    lines = raw.decode(errors="replace").split("\n")
    first = lines[0] if lines else ""
    headers: dict = {}
    for line in lines[1:]:
        if not line:
            continue
        k, _, v = line.partition(":")
        headers.setdefault(k, []).append(v.strip())
    verb, _, target = first.partition(" ")
    return {"verb": verb, "target": target, "headers": headers}


def fixed16(status: int, body: bytes) -> bytes:
    return f"{status:03d}{len(body):>12d}\n".encode() + body


class LivestatusStub:
    def __init__(self, hosts: Iterable[dict] = (), *, tcp: bool = True, unix_path: Optional[str] = None,
                 mode: str = "ok", flavour: str = "icinga", status: int = 400,
                 message: str = "Invalid request (stub)", raw: bytes = b"", delay: float = 0.05,
                 chunk: int = 64):
        self.hosts = list(hosts)
        self.mode = mode
        self.flavour = flavour
        self.status = status
        self.message = message
        self.raw = raw
        self.delay = delay
        self.chunk = chunk
        self.requests: list = []
        self.connections = 0
        self._stop = threading.Event()
        self._servers: list = []
        self._threads: list = []
        self.tcp: Optional[tuple] = None
        self.unix_path = str(unix_path) if unix_path else None
        handler = self._handler_class()
        if tcp:
            srv = socketserver.ThreadingTCPServer((HOST, 0), handler, bind_and_activate=False)
            srv.daemon_threads = True
            srv.allow_reuse_address = True
            srv.server_bind()
            srv.server_activate()
            self.tcp = srv.server_address[:2]
            self._servers.append(srv)
        if self.unix_path:
            try:
                os.unlink(self.unix_path)
            except FileNotFoundError:
                pass
            usrv = socketserver.ThreadingUnixStreamServer(self.unix_path, handler)
            usrv.daemon_threads = True
            self._servers.append(usrv)
        for srv in self._servers:
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            t.start()
            self._threads.append(t)

    @property
    def address(self) -> str:
        return f"{self.tcp[0]}:{self.tcp[1]}" if self.tcp else ""

    # ------------------------------------------------------------ answering

    def answer(self, req: dict) -> tuple:
        """(status, body bytes) for mode "ok"."""
        h = req["headers"]
        if req["verb"] != "GET":
            return None, b""  # like icinga2: a bad verb gets no answer at all
        if req["target"] != "hosts":
            return 404, f"Table '{req['target']}' does not exist.".encode()
        cols = h.get("Columns", [""])[-1].split() or list(DEFAULT_COLUMNS)
        known = set(DEFAULT_COLUMNS) | {"host_name"} | {k for x in self.hosts for k in x}
        for c in cols:
            if c not in known:
                return 452, f"Error: Column '{c}' does not exist in table 'hosts'.\n".encode()
        fmt = h.get("OutputFormat", ["csv"])[-1]
        if fmt != "json":
            return 452, b"this stub answers OutputFormat: json only\n"
        limit = int(h["Limit"][-1]) if "Limit" in h else None
        rows = [host_row(x, cols, self.flavour) for x in self.hosts[:limit]]
        if "Columns" not in h or h.get("ColumnHeaders", ["off"])[-1] == "on":
            rows.insert(0, cols)
        sep = ", " if self.flavour == "icinga" else ",\n"
        body = "[" + sep.join(json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in rows) + "]"
        if self.flavour == "naemon":
            body += "\n"
        return 200, body.encode()

    def _handler_class(self):
        stub = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                stub.connections += 1
                conn: socket.socket = self.request
                conn.settimeout(30)
                if stub.mode == "reset":
                    return
                buf = b""
                while not stub._stop.is_set():
                    while b"\n\n" not in buf:
                        try:
                            c = conn.recv(65536)
                        except (socket.timeout, OSError):
                            return
                        if not c:
                            break
                        buf += c
                    if not buf.strip():
                        return
                    raw, sep, buf = buf.partition(b"\n\n")
                    stub.requests.append(raw + sep)
                    req = parse_request(raw)
                    keep = req["headers"].get("KeepAlive", ["off"])[-1] == "on"
                    want16 = req["headers"].get("ResponseHeader", ["off"])[-1] == "fixed16"
                    try:
                        stub._respond(conn, req, want16)
                    except OSError:
                        return
                    if not keep or stub.mode != "ok":
                        return

        return Handler

    def _respond(self, conn: socket.socket, req: dict, want16: bool) -> None:
        mode = self.mode
        if mode == "empty":
            return
        if mode == "hang":
            self._stop.wait()
            return
        if mode == "replay":
            conn.sendall(self.raw)
            return
        if mode == "error":
            conn.sendall(fixed16(self.status, self.message.encode()))
            return
        if mode == "garbage":
            body = b"[[\"web-1\",\x00\xff this is not JSON }{"
            conn.sendall(fixed16(200, body) if want16 else body)
            return
        status, body = self.answer(req)
        if status is None:
            return
        if mode == "bad_header":
            conn.sendall(b"HTTP/1.0 200 OK\n" + body)
            return
        out = fixed16(status, body) if want16 else (body if status == 200 else b"")
        if mode == "truncated":
            cut = 16 + max(1, len(body) // 2) if want16 else max(1, len(out) // 2)
            conn.sendall(out[:cut])
            return
        if mode == "slow":
            for i in range(0, len(out), self.chunk):
                if self._stop.is_set():
                    return
                conn.sendall(out[i:i + self.chunk])
                time.sleep(self.delay)
            return
        conn.sendall(out)

    # ------------------------------------------------------------ lifecycle

    def stop(self) -> None:
        self._stop.set()
        for srv in self._servers:
            srv.shutdown()
            srv.server_close()
        if self.unix_path:
            try:
                os.unlink(self.unix_path)
            except FileNotFoundError:
                pass

    def __enter__(self) -> "LivestatusStub":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: Optional[list] = None) -> int:
    import argparse
    import signal

    ap = argparse.ArgumentParser(description="loopback livestatus stand-in with fault modes")
    ap.add_argument("--hosts", help="JSON file: list of host dicts")
    ap.add_argument("--many", type=int, default=0, help="serve N generated hosts instead")
    ap.add_argument("--unix", default=None, help="also listen on this unix socket path")
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--flavour", default="icinga", choices=("icinga", "naemon"))
    ap.add_argument("--replay", default=None, help="mode replay: file whose bytes are sent")
    ap.add_argument("--url-file", default=None, help="write host:port here once listening")
    a = ap.parse_args(argv)
    hosts = many_hosts(a.many) if a.many else (json.loads(Path(a.hosts).read_text()) if a.hosts else [])
    raw = Path(a.replay).read_bytes() if a.replay else b""
    stub = LivestatusStub(hosts, unix_path=a.unix, mode=a.mode, flavour=a.flavour, raw=raw)
    print(f"LIVESTATUS_TCP={stub.address}", flush=True)
    if a.unix:
        print(f"LIVESTATUS_SOCKET={a.unix}", flush=True)
    if a.url_file:
        Path(a.url_file).write_text(stub.address + "\n")
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    stub.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
