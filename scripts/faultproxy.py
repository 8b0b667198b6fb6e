#!/usr/bin/env python3
"""A small fault-injecting HTTP/1.1 reverse proxy for loopback tests (stdlib only).

    client --> faultproxy (127.0.0.1:P) --> upstream (e.g. osmem-server or moto_server)

Faults are rules. A request is matched against the rules in order; the first
rule whose method/path regex matches and that still has uses left applies
(`skip` lets that many matching requests pass first). Without a matching rule
the request is forwarded unchanged.

Rule fields (JSON):
  mode         "status"       answer with `status` (default 429) and a JSON error body;
                              `retry_after` adds a Retry-After header
               "close"        read the request, then close the connection without answering;
                              with "forward": true the request is forwarded first (applied, answer lost)
               "stall"        wait `seconds`, then forward (or close when "then": "close")
               "bulk_partial" for _bulk: forward only some documents; the others get a per-item
                              `item_status` (default 429) in an otherwise normal bulk response.
                              Which: "reject_every": k (every k-th item, default 2), or
                              "reject_first": n (the first n items of the request)
               "bulk_lie"     for _bulk: forward only the first `keep` documents (default 0) and answer
                              {"errors":false} with only their items (or no "items" at all when
                              "no_items": true): a misbehaving index that says all is well
               "too_large"    for _bulk: answer 413 (as Elasticsearch's http.max_content_length does)
                              when the request body is longer than `max_bytes`; forward otherwise
               "down"         stop listening (connections refused) for `seconds`
                              (0/absent: until POST /__up or proxy.up())
  path         regex searched in the request path (default: everything)
  body_regex   regex searched in the request body, read as UTF-8 (default: any body); e.g. an STS
               AssumeRole form body "RoleArn=arn%3Aaws%3Aiam%3A%3A333333333333%3Arole%2F..."
  method       exact method (default: any)
  count        how many requests the rule applies to (default 1; null = unlimited)
  skip         how many matching requests pass before the rule applies (default 0)

Control endpoints (on the proxy's own port; not counted):
  POST /__fault   {"rules":[...], "replace": true}  or a single rule object (appended)
  POST /__clear   remove all rules
  POST /__reset   remove rules and zero the counters
  POST /__up      come back up (only reachable through the API object while down)
  POST /__auth    {"username":..., "password":...} require this basic auth (401 otherwise); {} = off
  GET  /__stats   counters: requests per path, per "METHOD path", per status, faults applied,
                  bulk documents forwarded/rejected, per _id forwarded counts

Importable:
    from faultproxy import FaultProxy
    with FaultProxy("http://127.0.0.1:9200") as p:
        p.add_rule(mode="status", status=429, path="_bulk", count=3, retry_after=1)
        ... p.url ... p.stats() ...

Runnable:
    faultproxy.py --upstream http://127.0.0.1:9200 [--port 0] [--rule '{"mode":"status",...}']...
    prints {"url": "...", "pid": ...} on stdout once listening.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import http.client
import json
import os
import random
import re
import socket
import sys
import threading
import time
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "trailers", "transfer-encoding", "upgrade", "expect", "content-length"}


class _Rule:
    def __init__(self, d: dict):
        self.d = dict(d)
        self.mode = d.get("mode", "status")
        if self.mode not in ("status", "close", "stall", "bulk_partial", "bulk_lie", "too_large", "down", "pass"):
            raise ValueError(f"unknown mode {self.mode!r}")
        self.path_re = re.compile(d["path"]) if d.get("path") else None
        self.body_re = re.compile(d["body_regex"]) if d.get("body_regex") else None
        self.method = d.get("method")
        self.count = d.get("count", 1)
        self.skip = int(d.get("skip", 0))
        self.applied = 0

    def matches(self, method: str, path: str, body: bytes = b"") -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path_re and not self.path_re.search(path):
            return False
        if self.body_re and not self.body_re.search(body.decode("utf-8", "replace")):
            return False
        return self.count is None or self.applied < self.count

    def to_json(self) -> dict:
        return {**self.d, "applied": self.applied, "skip_left": self.skip}


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rules: list[_Rule] = []
        self.auth: Optional[tuple] = None
        self.reset_counters()

    def reset_counters(self) -> None:
        self.per_path: Counter = Counter()
        self.per_method_path: Counter = Counter()
        self.per_status: Counter = Counter()
        self.faults: Counter = Counter()
        self.bulk_docs_forwarded = 0
        self.bulk_docs_rejected = 0
        self.ids_forwarded: Counter = Counter()
        self.ids_acked: Counter = Counter()
        self.requests = 0
        self.auth_failures = 0
        self.gzip_requests = 0
        self.gzip_wire_bytes = 0
        self.log: list = []

    def pick(self, method: str, path: str, body: bytes = b"") -> Optional[_Rule]:
        with self.lock:
            for r in self.rules:
                if r.matches(method, path, body):
                    if r.skip > 0:
                        r.skip -= 1
                        return None
                    r.applied += 1
                    self.faults[r.mode] += 1
                    return r
        return None

    def stats(self) -> dict:
        with self.lock:
            return {
                "requests": self.requests,
                "per_path": dict(self.per_path),
                "per_method_path": dict(self.per_method_path),
                "per_status": {str(k): v for k, v in self.per_status.items()},
                "faults": dict(self.faults),
                "bulk_docs_forwarded": self.bulk_docs_forwarded,
                "bulk_docs_rejected": self.bulk_docs_rejected,
                "ids_forwarded": dict(self.ids_forwarded),
                "ids_acked": dict(self.ids_acked),
                "auth_failures": self.auth_failures,
                "gzip_requests": self.gzip_requests,
                "gzip_wire_bytes": self.gzip_wire_bytes,
                "rules": [r.to_json() for r in self.rules],
                "log": list(self.log[-2000:]),
            }


def parse_bulk(body: bytes) -> list:
    """Split a _bulk body into items: (action_line_bytes, source_line_bytes_or_None, meta dict)."""
    lines = body.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    items = []
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        action = json.loads(lines[i])
        op = next(iter(action))
        meta = action[op] or {}
        src = None
        if op in ("index", "create", "update"):
            src = lines[i + 1] if i + 1 < len(lines) else b""
            i += 2
        else:
            i += 1
        items.append((lines[i - (2 if src is not None else 1)], src, op, meta))
    return items


def build_bulk(items: list) -> bytes:
    out = []
    for action, src, _op, _meta in items:
        out.append(action)
        if src is not None:
            out.append(src)
    return b"\n".join(out) + b"\n"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faultproxy/1"
    proxy: "FaultProxy"

    def log_message(self, fmt, *args):  # quiet
        pass

    # -- plumbing
    def _read_body(self) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status: int, body: bytes, headers: Optional[list] = None, ctype: str = "application/json") -> None:
        self.send_response(status)
        sent_ct = False
        for k, v in headers or []:
            if k.lower() in HOP_BY_HOP:
                continue
            if k.lower() == "content-type":
                sent_ct = True
            self.send_header(k, v)
        if not sent_ct:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _json(self, status: int, obj) -> None:
        self._send(status, json.dumps(obj).encode())

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _forward(self, body: bytes) -> tuple:
        """Forward to upstream; returns (status, headers, body)."""
        p = self.proxy
        conn = http.client.HTTPConnection(p.up_host, p.up_port, timeout=p.upstream_timeout)
        try:
            # bodies are handled decompressed (a gzip _bulk body is inflated when read): forward them as such
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "content-encoding"}
            if body or self.command in ("POST", "PUT", "PATCH"):
                headers["Content-Length"] = str(len(body))
            conn.request(self.command, self.path, body=body if body else None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.getheaders(), data
        finally:
            conn.close()

    # -- entry
    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    def _handle(self) -> None:
        p = self.proxy
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith("/__"):
            return self._control(path)
        body = self._read_body()
        if (self.headers.get("Content-Encoding") or "").lower() == "gzip" and body:
            # index.compression: gzip: the rules and counters work on the documents, not on the wire bytes
            with p.state.lock:
                p.state.gzip_requests += 1
                p.state.gzip_wire_bytes += len(body)
            body = gzip.decompress(body)
        st = p.state
        if p.is_down:
            self._drop()
            return
        with st.lock:
            st.requests += 1
            st.per_path[path] += 1
            st.per_method_path[f"{self.command} {path}"] += 1
        if st.auth is not None:
            want = "Basic " + base64.b64encode(f"{st.auth[0]}:{st.auth[1]}".encode()).decode()
            if self.headers.get("Authorization") != want:
                with st.lock:
                    st.auth_failures += 1
                    st.per_status[401] += 1
                return self._send(401, json.dumps({"error": {"type": "security_exception",
                                                             "reason": "missing or wrong authentication credentials"},
                                                   "status": 401}).encode(),
                                  [("WWW-Authenticate", 'Basic realm="faultproxy"')])
        rule = st.pick(self.command, path, body)
        status = None
        try:
            status = self._apply(rule, path, body)
        finally:
            with st.lock:
                if status is not None:
                    st.per_status[status] += 1
                st.log.append({"t": round(time.time(), 3), "method": self.command, "path": path,
                               "bytes": len(body), "status": status, "fault": rule.mode if rule else None})

    def _apply(self, rule: Optional[_Rule], path: str, body: bytes) -> Optional[int]:
        st = self.proxy.state
        if rule is None or rule.mode == "pass":
            return self._pass(path, body)
        d = rule.d
        if rule.mode == "status":
            status = int(d.get("status", 429))
            hdrs = []
            if d.get("retry_after") is not None:
                hdrs.append(("Retry-After", str(d["retry_after"])))
            if d.get("body") is not None:
                self._send(status, str(d["body"]).encode(), hdrs, ctype=d.get("content_type", "application/json"))
                return status
            etype = "es_rejected_execution_exception" if status == 429 else "faultproxy_injected"
            self._send(status, json.dumps({"error": {"type": etype, "reason": f"injected {status}"},
                                           "status": status}).encode(), hdrs)
            return status
        if rule.mode == "close":
            if d.get("forward"):
                self._forward_counting(path, body)
            self._drop()
            return None
        if rule.mode == "stall":
            time.sleep(float(d.get("seconds", 10)))
            if d.get("then") == "close":
                self._drop()
                return None
            return self._pass(path, body)
        if rule.mode == "down":
            secs = float(d.get("seconds") or 0)
            self.proxy.down(secs if secs > 0 else None)
            self._drop()
            return None
        if rule.mode == "bulk_partial":
            if not path.endswith("/_bulk"):
                return self._pass(path, body)
            return self._bulk_partial(rule, path, body)
        if rule.mode == "bulk_lie":
            if not path.endswith("/_bulk"):
                return self._pass(path, body)
            items = parse_bulk(body)
            keep = items[:int(d.get("keep", 0))]
            answered = []
            if keep:
                status, headers, data = self._forward(build_bulk(keep))
                answered = json.loads(data).get("items", []) if status == 200 else []
            out = {"took": 1, "errors": False}
            if not d.get("no_items"):
                out["items"] = answered
            self._send(200, json.dumps(out).encode())
            return 200
        if rule.mode == "too_large":
            if path.endswith("/_bulk") and len(body) > int(d.get("max_bytes", 1_000_000)):
                self._send(413, json.dumps({"error": {"type": "content_too_long_exception",
                                                      "reason": f"request body is too large ({len(body)} > {d.get('max_bytes')})"},
                                            "status": 413}).encode())
                return 413
            return self._pass(path, body)
        return self._pass(path, body)

    def _pass(self, path: str, body: bytes) -> int:
        status, headers, data = self._forward_counting(path, body)
        self._send(status, data, headers)
        return status

    def _forward_counting(self, path: str, body: bytes) -> tuple:
        st = self.proxy.state
        items = None
        if path.endswith("/_bulk") and body:
            try:
                items = parse_bulk(body)
            except (ValueError, StopIteration):
                items = None
        status, headers, data = self._forward(body)
        if items is not None:
            with st.lock:
                st.bulk_docs_forwarded += len(items)
                for _a, _s, _op, meta in items:
                    st.ids_forwarded[str(meta.get("_id"))] += 1
            self._count_acks(status, data)
        return status, headers, data

    def _count_acks(self, status: int, data: bytes) -> None:
        if status != 200:
            return
        try:
            resp = json.loads(data)
        except ValueError:
            return
        st = self.proxy.state
        with st.lock:
            for it in resp.get("items", []):
                r = next(iter(it.values()))
                if 200 <= int(r.get("status", 0)) < 300:
                    st.ids_acked[str(r.get("_id"))] += 1

    def _bulk_partial(self, rule: _Rule, path: str, body: bytes) -> int:
        st = self.proxy.state
        d = rule.d
        try:
            items = parse_bulk(body)
        except (ValueError, StopIteration):
            return self._pass(path, body)
        n = len(items)
        if "reject_first" in d:
            reject = set(range(min(n, int(d["reject_first"]))))
        else:
            k = max(1, int(d.get("reject_every", 2)))
            reject = {i for i in range(n) if i % k == k - 1}
            if not reject and n:
                reject = {n - 1}
        keep = [it for i, it in enumerate(items) if i not in reject]
        item_status = int(d.get("item_status", 429))
        fwd_items: list = []
        took = 0
        if keep:
            status, headers, data = self._forward(build_bulk(keep))
            if status != 200:
                self._send(status, data, headers)
                return status
            resp = json.loads(data)
            fwd_items = resp.get("items", [])
            took = resp.get("took", 0)
            with st.lock:
                st.bulk_docs_forwarded += len(keep)
                for _a, _s, _op, meta in keep:
                    st.ids_forwarded[str(meta.get("_id"))] += 1
            self._count_acks(200, data)
        merged = []
        fi = iter(fwd_items)
        for i, (_a, _s, op, meta) in enumerate(items):
            if i in reject:
                merged.append({op: {"_index": meta.get("_index"), "_id": meta.get("_id"), "status": item_status,
                                    "error": {"type": "es_rejected_execution_exception" if item_status == 429
                                              else "faultproxy_injected",
                                              "reason": "rejected execution of coordinating operation (injected)"}}})
            else:
                merged.append(next(fi))
        with st.lock:
            st.bulk_docs_rejected += len(reject)
        out = {"took": took, "errors": True, "items": merged}
        self._send(200, json.dumps(out).encode())
        return 200

    # -- control
    def _control(self, path: str) -> None:
        p = self.proxy
        body = self._read_body()
        try:
            arg = json.loads(body) if body.strip() else {}
        except ValueError as e:
            return self._json(400, {"error": f"bad json: {e}"})
        try:
            if path == "/__stats":
                return self._json(200, p.state.stats())
            if path == "/__fault":
                if isinstance(arg, dict) and "rules" in arg:
                    p.set_rules(arg["rules"], replace=arg.get("replace", True))
                else:
                    p.add_rule(**arg)
                return self._json(200, {"ok": True, "rules": [r.to_json() for r in p.state.rules]})
            if path == "/__clear":
                p.clear()
                return self._json(200, {"ok": True})
            if path == "/__reset":
                p.reset()
                return self._json(200, {"ok": True})
            if path == "/__up":
                p.up()
                return self._json(200, {"ok": True})
            if path == "/__auth":
                p.require_basic_auth(arg.get("username"), arg.get("password")) if arg else p.require_basic_auth(None, None)
                return self._json(200, {"ok": True})
        except (ValueError, TypeError, KeyError) as e:
            return self._json(400, {"error": str(e)})
        return self._json(404, {"error": f"unknown control path {path}"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        # a client that went away (timeout, kill) is part of the game here
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError, socket.timeout)):
            return
        super().handle_error(request, client_address)


class FaultProxy:
    """The proxy, run on background threads of the calling process."""

    def __init__(self, upstream: str, host: str = "127.0.0.1", port: int = 0, upstream_timeout: float = 60.0):
        u = urllib.parse.urlsplit(upstream)
        if u.scheme != "http":
            raise ValueError("upstream must be http://")
        self.up_host = u.hostname or "127.0.0.1"
        self.up_port = u.port or 80
        self.host = host
        self.port = port
        self.upstream_timeout = upstream_timeout
        self.state = _State()
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None
        self._down_lock = threading.Lock()
        self._down_timer: Optional[threading.Timer] = None
        self.is_down = False

    # -- lifecycle
    def start(self) -> "FaultProxy":
        self._listen()
        return self

    def _listen(self) -> None:
        handler = type("Handler", (_Handler,), {"proxy": self})
        self._server = _Server((self.host, self.port), handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def _unlisten(self) -> None:
        srv, self._server = self._server, None
        if srv is not None:
            srv.shutdown()
            srv.server_close()

    def stop(self) -> None:
        with self._down_lock:
            if self._down_timer:
                self._down_timer.cancel()
            self.is_down = True
        self._unlisten()

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- faults
    def add_rule(self, **rule) -> None:
        r = _Rule(rule)
        with self.state.lock:
            self.state.rules.append(r)

    def set_rules(self, rules: list, replace: bool = True) -> None:
        new = [_Rule(r) for r in rules]
        with self.state.lock:
            if replace:
                self.state.rules = new
            else:
                self.state.rules.extend(new)

    def clear(self) -> None:
        with self.state.lock:
            self.state.rules = []

    def reset(self) -> None:
        with self.state.lock:
            self.state.rules = []
            self.state.reset_counters()

    def require_basic_auth(self, username: Optional[str], password: Optional[str]) -> None:
        self.state.auth = (username, password) if username is not None else None

    def down(self, seconds: Optional[float] = None) -> None:
        """Refuse connections (the listening socket is closed) for seconds, or until up()."""
        with self._down_lock:
            if self.is_down:
                return
            self.is_down = True
            if seconds:
                self._down_timer = threading.Timer(seconds, self.up)
                self._down_timer.daemon = True
                self._down_timer.start()
        # handler threads are not the serve_forever thread, so this does not deadlock
        self._unlisten()

    def up(self) -> None:
        with self._down_lock:
            if not self.is_down:
                return
            if self._down_timer:
                self._down_timer.cancel()
                self._down_timer = None
            deadline = time.monotonic() + 10
            while self._server is not None and time.monotonic() < deadline:
                time.sleep(0.02)
            last = None
            for _ in range(100):
                try:
                    self._listen()
                    break
                except OSError as e:  # port still in TIME_WAIT etc.
                    last = e
                    time.sleep(0.05)
            else:
                raise RuntimeError(f"faultproxy: cannot listen again on {self.port}: {last}")
            self.is_down = False

    # -- counters
    def stats(self) -> dict:
        return self.state.stats()

    def count(self, path_regex: str = "", method: Optional[str] = None) -> int:
        rx = re.compile(path_regex)
        with self.state.lock:
            if method:
                return sum(v for k, v in self.state.per_method_path.items()
                           if k.split(" ", 1)[0] == method and rx.search(k.split(" ", 1)[1]))
            return sum(v for k, v in self.state.per_path.items() if rx.search(k))


def main(argv: Optional[list] = None) -> int:
    ap = argparse.ArgumentParser(description="fault-injecting HTTP/1.1 reverse proxy (loopback)")
    ap.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--rule", action="append", default=[], help="JSON rule (repeatable)")
    ap.add_argument("--basic-auth", default="", help="USER:PASSWORD_ENV_NAME: require basic auth")
    ap.add_argument("--parent-pid", type=int, default=0, help="exit when this pid is gone")
    a = ap.parse_args(argv)
    host = a.host
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        print("faultproxy: loopback addresses only", file=sys.stderr)
        return 2
    p = FaultProxy(a.upstream, host=host, port=a.port)
    for r in a.rule:
        p.add_rule(**json.loads(r))
    if a.basic_auth:
        user, env = a.basic_auth.split(":", 1)
        p.require_basic_auth(user, os.environ.get(env, ""))
    p.start()
    print(json.dumps({"url": p.url, "pid": os.getpid()}), flush=True)
    try:
        while True:
            time.sleep(0.5)
            if a.parent_pid and not os.path.exists(f"/proc/{a.parent_pid}"):
                break
    except KeyboardInterrupt:
        pass
    p.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
