#!/usr/bin/env python3
"""A loopback stand-in for the OP5 Monitor HTTP API filter endpoints, with fault modes.

What OP5 documents (OP5 Monitor admin manual "HTTP-API" / "OP5 Monitor API" pages, and the
API help shipped in the monitor-http-api package, "Using the REST API"):

  GET /api/filter/query?query=<list view filter>&columns=<c1,c2,...>&format=json&limit=<n>&offset=<m>
  GET /api/filter/count?query=<list view filter>&format=json
    * the query is an OP5 list view filter, e.g. `[hosts] all`, `[hosts] state!=0`,
      `[hosts] name="web-1"`, `[hosts] groups>="linux"`; spaces may be sent as %20
    * columns: comma separated; only those columns are returned
    * limit and offset page through the result ("as if you are paginating something")
    * format: json (the default for non-browser clients), xml, html
    * authentication: HTTP basic auth with an OP5 Monitor user on every request; a user of a
      non-default authentication module is written `user$Module` (e.g. `alice$LDAP`)
    * the answer is told by its HTTP status code and its body
  /api/filter/query answers a JSON array with one object per row, keyed by the requested
  columns, e.g. [{"name": "web-1", "state": 0}, ...]; nested columns (host.name) become
  nested objects. /api/filter/count answers {"count": N}.

What this stub ASSUMES (not found in the documentation searched; kept configurable):
  * custom_variables is an object {NAME: "value"}: names upper case without the leading "_"
    (Naemon upper-cases custom variable names), values strings -- as OP5's list view reads them
    from Naemon's livestatus. Clients should compare names case-insensitively anyway.
  * error bodies are JSON objects {"error": "<short>", "full_error": "<detail>"} (the shape
    third-party OP5 clients read); 401 carries `WWW-Authenticate: Basic realm="op5 Monitor API"`.
  * without a limit the whole result comes back (default_limit=None); set default_limit to
    make the stub cut pages like a server with a default page size would. A client should
    always send limit and offset and stop at a short page.
  * an unknown column or an unsupported filter -> 400 with the JSON error body.
  * a host never checked: state 0, has_been_checked 0, last_check 0 (Naemon's values).

Host dicts (configurable): name, alias, display_name, address, state, has_been_checked,
last_check, groups (list), vars ({name: value} -> custom_variables). Any other key is
served as a column of that name.

Fault modes (stub.fault, switchable at any time; fault_times = how many requests get it,
None = all): "401" (refuse every credential), "403", "500", "503", "garbage" (200 + not JSON),
"html" (200 text/html login page), "truncated" (Content-Length of the whole body, half sent,
connection closed), "slow" (sleep `slow_seconds` before the answer), "reset" (close without
an answer).

    with Op5Stub(hosts, users={"monitor": "s3cret"}) as op5:
        op5.url            # http://127.0.0.1:PORT
        op5.requests       # [{"path", "params", "user", "authorized"}] -- never the password
        op5.fault = "500"

Runnable: python3 Tests/integration/op5_stub.py --hosts hosts.json --user monitor \
              --password-file pw.txt [--port 0] [--fault 500] [--url-file F]
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterable, Optional

HOST = "127.0.0.1"
REALM = "op5 Monitor API"
HOST_COLUMNS = ("name", "alias", "display_name", "address", "state", "has_been_checked", "last_check",
                "custom_variables", "groups")
_FILTER_ALL = re.compile(r"^\s*\[hosts\]\s+all\s*$")
_FILTER_EQ = re.compile(r'^\s*\[hosts\]\s+(name|display_name|address)\s*=\s*"((?:[^"\\]|\\.)*)"\s*$')
_FILTER_GROUP = re.compile(r'^\s*\[hosts\]\s+groups\s*>=\s*"((?:[^"\\]|\\.)*)"\s*$')

HTML_LOGIN = (b"<!DOCTYPE html><html><head><title>op5 Monitor - Login</title></head>"
              b"<body><form method=\"post\" action=\"/monitor/index.php/auth/login\">"
              b"<input name=\"username\"><input name=\"password\" type=\"password\"></form></body></html>")


def op5_host(h: dict) -> dict:
    """The full row of a host as the stub serves it."""
    checked = int(h.get("has_been_checked", 1))
    row = {
        "name": h["name"],
        "alias": h.get("alias", h.get("display_name", h["name"])),
        "display_name": h.get("display_name", h["name"]),
        "address": h.get("address", ""),
        "state": int(h.get("state", 0)),
        "has_been_checked": checked,
        "last_check": int(h.get("last_check", 1700000000 if checked else 0)),
        "custom_variables": {str(k).upper().lstrip("_"): (v if isinstance(v, str) else json.dumps(v))
                             for k, v in (h.get("vars") or {}).items()},
        "groups": list(h.get("groups", [])),
    }
    for k, v in h.items():
        if k not in row and k != "vars":
            row[k] = v
    return row


class Op5Stub:
    def __init__(self, hosts: Iterable[dict] = (), *, users: Optional[dict] = None, port: int = 0,
                 fault: Optional[str] = None, fault_times: Optional[int] = None,
                 default_limit: Optional[int] = None, slow_seconds: float = 3.0):
        self.hosts = [op5_host(h) for h in hosts]
        self.users = dict(users or {"monitor": "monitor"})
        self.fault = fault
        self.fault_times = fault_times
        self.default_limit = default_limit
        self.slow_seconds = slow_seconds
        self.requests: list = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer((HOST, port), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://{HOST}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def set_hosts(self, hosts: Iterable[dict]) -> None:
        self.hosts = [op5_host(h) for h in hosts]

    # ------------------------------------------------------------ request handling

    def _take_fault(self) -> Optional[str]:
        with self._lock:
            if not self.fault:
                return None
            if self.fault_times is None:
                return self.fault
            if self.fault_times > 0:
                self.fault_times -= 1
                return self.fault
            return None

    def _check_auth(self, header: Optional[str]) -> Optional[str]:
        """The user name if the basic credentials are right, else None."""
        if not header or not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        want = self.users.get(user)
        if want is None or not hmac.compare_digest(want.encode(), password.encode()):
            return None
        return user

    def select(self, params: dict) -> tuple:
        """(status, JSON-able body) for /api/filter/query."""
        query = params.get("query", "")
        if _FILTER_ALL.match(query):
            rows = self.hosts
        elif m := _FILTER_EQ.match(query):
            rows = [h for h in self.hosts if str(h.get(m.group(1))) == m.group(2).replace('\\"', '"')]
        elif m := _FILTER_GROUP.match(query):
            rows = [h for h in self.hosts if m.group(1) in h.get("groups", [])]
        else:
            return 400, {"error": "Invalid query", "full_error": f"this stub understands [hosts] all, "
                                                                 f"[hosts] name=\"..\" and [hosts] groups>=\"..\"; "
                                                                 f"got {query!r}"}
        cols = [c for c in params.get("columns", "").split(",") if c] or list(HOST_COLUMNS)
        known = set(HOST_COLUMNS) | {k for h in self.hosts for k in h}
        bad = [c for c in cols if c not in known]
        if bad:
            return 400, {"error": "Invalid columns", "full_error": f"unknown column(s) for table hosts: {', '.join(bad)}"}
        try:
            offset = int(params.get("offset", 0))
            limit = int(params["limit"]) if "limit" in params else self.default_limit
        except ValueError:
            return 400, {"error": "Invalid limit or offset", "full_error": "limit and offset must be integers"}
        if offset < 0 or (limit is not None and limit < 0):
            return 400, {"error": "Invalid limit or offset", "full_error": "limit and offset must not be negative"}
        page = rows[offset:] if limit is None else rows[offset:offset + limit]
        return 200, [{c: h.get(c) for c in cols} for h in page]

    def _handler_class(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "op5-stub/1"

            def log_message(self, *a: Any) -> None:  # quiet
                pass

            def _send(self, status: int, body: bytes, ctype: str = "application/json",
                      extra: Optional[dict] = None, cut: bool = False) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                if cut:
                    self.send_header("Connection", "close")
                self.end_headers()
                if cut:
                    self.wfile.write(body[: max(1, len(body) // 2)])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def _json(self, status: int, obj: Any, **kw) -> None:
                self._send(status, json.dumps(obj).encode(), **kw)

            def do_GET(self) -> None:  # noqa: N802
                parsed = urllib.parse.urlsplit(self.path)
                params = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
                user = stub._check_auth(self.headers.get("Authorization"))
                fault = stub._take_fault()
                stub.requests.append({"path": parsed.path, "params": params, "user": user,
                                      "authorized": user is not None, "fault": fault})
                if fault == "reset":
                    self.close_connection = True
                    return
                if fault == "slow":
                    stub._stopping.wait(stub.slow_seconds)
                if user is None or fault == "401":
                    self._json(401, {"error": "Unauthorized", "full_error": "Authentication failed"},
                               extra={"WWW-Authenticate": f'Basic realm="{REALM}"'})
                    return
                if fault == "403":
                    self._json(403, {"error": "Forbidden", "full_error": "The user may not use the API"})
                    return
                if fault in ("500", "503"):
                    self._json(int(fault), {"error": "Internal error", "full_error": "livestatus: connection refused"})
                    return
                if fault == "html":
                    self._send(200, HTML_LOGIN, ctype="text/html; charset=UTF-8")
                    return
                if parsed.path.rstrip("/") not in ("/api/filter/query", "/api/filter/count"):
                    self._json(404, {"error": "Not found", "full_error": f"no API at {parsed.path}"})
                    return
                fmt = params.get("format", "json")
                if fmt != "json":
                    self._json(400, {"error": "Unsupported format", "full_error": f"this stub serves json, not {fmt}"})
                    return
                status, body = stub.select(params)
                if status == 200 and parsed.path.rstrip("/").endswith("/count"):
                    q = dict(params)
                    q.pop("limit", None)
                    q.pop("offset", None)
                    _, all_rows = stub.select(q)
                    body = {"count": len(all_rows)}
                if fault == "garbage" and status == 200:
                    self._send(200, b'[{"name": "web-1", "state": 0}, {"name": \x00\xff not json')
                    return
                self._send(status, json.dumps(body, ensure_ascii=False).encode(), cut=(fault == "truncated"))

        return Handler

    # ------------------------------------------------------------ lifecycle

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "Op5Stub":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: Optional[list] = None) -> int:
    import argparse
    import signal

    ap = argparse.ArgumentParser(description="loopback stand-in for the OP5 Monitor filter API")
    ap.add_argument("--hosts", required=True, help="JSON file: list of host dicts")
    ap.add_argument("--user", default="monitor")
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--fault", default=None)
    ap.add_argument("--default-limit", type=int, default=None)
    ap.add_argument("--url-file", default=None)
    a = ap.parse_args(argv)
    password = Path(a.password_file).read_text().rstrip("\r\n")
    stub = Op5Stub(json.loads(Path(a.hosts).read_text()), users={a.user: password}, port=a.port,
                   fault=a.fault, default_limit=a.default_limit)
    print(f"OP5_URL={stub.url}", flush=True)
    if a.url_file:
        Path(a.url_file).write_text(stub.url + "\n")
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    stub.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
