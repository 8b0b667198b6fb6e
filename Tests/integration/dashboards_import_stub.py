#!/usr/bin/env python3
"""A loopback stand-in for the saved-objects import API of Kibana / OpenSearch Dashboards.

It serves what `cloudspool-load --install-dashboards` talks to, and checks what a real one checks:

    POST /api/saved_objects/_import[?overwrite=true]             the default space
    POST /s/<space>/api/saved_objects/_import[?overwrite=true]   a Kibana space

* header `kbn-xsrf` or `osd-xsrf` (any value) is required, else 400 "Request must contain a
  kbn-xsrf header." (as Kibana says it);
* `Authorization` must match the configured credentials: `Basic base64(user:password)` and/or
  `ApiKey <token>` (the token exactly as configured, i.e. base64 of `id:key`); no or wrong
  credentials -> 401. With neither configured, any request is let in;
* the body must be multipart/form-data with a part named `file` whose filename ends in
  `.ndjson`, holding NDJSON: one JSON object per non-empty line, each with "type", "id" and
  "attributes". Anything else -> 400 with Kibana's error body;
* a space not in the configured list -> 404 (default: every space exists);
* objects are kept per space by (type, id). With overwrite=true an import replaces them (so the
  same import twice is a success twice: idempotent); without it, objects that exist come back
  as per-object conflicts in a 200 answer {"success": false, "errors": [{..."error":
  {"type": "conflict"}}]}, as Kibana answers;
* success: 200 {"success": true, "successCount": N, "successResults": [{"type", "id", "meta":
  {"title"}}]};
* faults on demand: the next N requests are answered with a status (401, 403, 409, 400, 413,
  500, 503, or "conflict" for the per-object conflict answer) and Kibana's error body
  {"statusCode": S, "error": "<reason phrase>", "message": "..."}.

Every request is recorded (method, path, space, query, headers lower-cased, auth kind and user,
xsrf header, content type, boundary, file name, part content type, object count, status,
answer) -- the Authorization value itself is never recorded, only its kind and user/key id.

Python (the integration tests):

    from dashboards_import_stub import ImportStub
    with ImportStub(username="kibana", password="s3cret", api_key="aWQ6a2V5", spaces=["default", "ops"]) as stub:
        stub.url                                   # http://127.0.0.1:<port>
        stub.fail(409, count=1, message="...")     # the next request gets 409
        stub.requests()                            # [{...}, ...] as recorded
        stub.objects("ops")                        # {(type, id): object} imported into space "ops"

Command line (for the Swift test of cloudspool-load --install-dashboards):

    python3 Tests/integration/dashboards_import_stub.py --url-file FILE [--port 0]
        [--username U --password P] [--api-key TOKEN] [--spaces default,ops]
        [--fail STATUS[:COUNT]] [--log FILE]

    Listens on 127.0.0.1 (port 0: a free one), writes its URL to --url-file (atomically, with a
    newline) once it accepts connections, appends one JSON line per request to --log (default
    stderr), and runs until SIGTERM/SIGINT/SIGHUP or until the process that started it exits.
    --fail 401 answers every request with 401; --fail 409:1 only the first one.

    Control endpoints (no auth, no xsrf; for a test that runs the stub as a subprocess):
      GET  /__stub/requests      the recorded requests (JSON array)
      GET  /__stub/objects?space=S   the objects imported into a space (JSON array)
      POST /__stub/fail          body {"status": 409, "count": 1, "message": "..."}; status 0 clears
      POST /__stub/reset         forget requests, objects and faults
"""

from __future__ import annotations

import argparse
import base64
import email.parser
import email.policy
import http.server
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
from typing import Iterable, Optional

REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
           413: "Request Entity Too Large", 415: "Unsupported Media Type", 500: "Internal Server Error",
           503: "Service Unavailable"}
DEFAULT_MESSAGES = {
    401: "[security_exception] missing authentication credentials for REST request",
    403: "Unable to bulk_create index-pattern,search,visualization,dashboard",
    409: "Saved object conflict",
    400: "Bad Request",
    413: "Payload content length greater than maximum allowed: 26214400",
    500: "An internal server error occurred.",
    503: "Kibana server is not ready yet",
}
_PATH = re.compile(r"^(?:/s/([a-z0-9_\-]+))?/api/saved_objects/_import$")


def kibana_error(status: int, message: Optional[str] = None) -> dict:
    return {"statusCode": status, "error": REASONS.get(status, "Error"), "message": message or DEFAULT_MESSAGES.get(status, "")}


class _Fault:
    def __init__(self, status, count: Optional[int], message: Optional[str]):
        self.status, self.count, self.message = status, count, message


class ImportStub:
    def __init__(self, username: Optional[str] = None, password: Optional[str] = None, api_key: Optional[str] = None,
                 spaces: Optional[Iterable[str]] = None, host: str = "127.0.0.1", port: int = 0,
                 log=None):
        if not (host.startswith("127.") or host in ("localhost", "::1")):
            raise ValueError("loopback only")
        self.username, self.password, self.api_key = username, password, api_key
        self.spaces = set(spaces) if spaces else None
        self.host, self.port = host, port
        self.log = log
        self.lock = threading.Lock()
        self._requests: list = []
        self._objects: dict = {}                 # space -> {(type, id): object}
        self._faults: list = []
        self._server: Optional[http.server.ThreadingHTTPServer] = None

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> "ImportStub":
        handler = type("Handler", (_Handler,), {"stub": self})
        self._server = http.server.ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        srv, self._server = self._server, None
        if srv is not None:
            srv.shutdown()
            srv.server_close()

    def __enter__(self) -> "ImportStub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ---------------------------------------------------------------- control
    def fail(self, status, count: Optional[int] = 1, message: Optional[str] = None) -> None:
        """Answer the next `count` requests (None: all) with `status` (an int, or "conflict")."""
        with self.lock:
            self._faults.append(_Fault(status, count, message))

    def clear_faults(self) -> None:
        with self.lock:
            self._faults = []

    def reset(self) -> None:
        with self.lock:
            self._faults, self._requests, self._objects = [], [], {}

    def requests(self) -> list:
        with self.lock:
            return [dict(r) for r in self._requests]

    def objects(self, space: str = "default") -> dict:
        with self.lock:
            return dict(self._objects.get(space, {}))

    # ---------------------------------------------------------------- the API
    def _take_fault(self) -> Optional[_Fault]:
        with self.lock:
            for f in self._faults:
                if f.count is None or f.count > 0:
                    if f.count is not None:
                        f.count -= 1
                    return f
        return None

    def _auth(self, header: str, rec: dict) -> bool:
        if not (self.username or self.api_key):
            rec["auth"] = header.split(" ", 1)[0] if header else None
            return True
        scheme, _, value = header.partition(" ")
        rec["auth"] = scheme or None
        if scheme == "Basic" and self.username:
            try:
                user, _, pw = base64.b64decode(value, validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            rec["user"] = user
            return user == self.username and pw == self.password
        if scheme == "ApiKey" and self.api_key:
            try:
                rec["user"] = base64.b64decode(value).decode().partition(":")[0]
            except (ValueError, UnicodeDecodeError):
                rec["user"] = None
            return value == self.api_key
        return False

    def handle_import(self, path: str, query: dict, headers: dict, body: bytes) -> tuple:
        """(status, answer JSON, record)."""
        m = _PATH.match(path)
        rec: dict = {"t": time.time(), "method": "POST", "path": path, "query": query,
                     "headers": {k: v for k, v in headers.items() if k != "authorization"},
                     "space": (m.group(1) if m and m.group(1) else "default"), "bytes": len(body)}
        rec["xsrf"] = "kbn-xsrf" if "kbn-xsrf" in headers else "osd-xsrf" if "osd-xsrf" in headers else None
        if not m:
            return 404, kibana_error(404, "Not Found"), rec
        if rec["xsrf"] is None:
            return 400, kibana_error(400, "Request must contain a kbn-xsrf header."), rec
        if not self._auth(headers.get("authorization", ""), rec):
            return 401, kibana_error(401, "[security_exception] unable to authenticate user for REST request"), rec
        if self.spaces is not None and rec["space"] not in self.spaces:
            return 404, kibana_error(404, "Not Found"), rec
        fault = self._take_fault()
        if fault is not None and fault.status != "conflict":
            return int(fault.status), kibana_error(int(fault.status), fault.message), rec
        ctype = headers.get("content-type", "")
        rec["content_type"] = ctype
        if not ctype.lower().startswith("multipart/form-data"):
            return 415, kibana_error(415, f"Unsupported Media Type: {ctype or 'none'}"), rec
        bm = re.search(r'boundary="?([^";]+)"?', ctype)
        rec["boundary"] = bm.group(1) if bm else None
        if not bm:
            return 400, kibana_error(400, "multipart body without a boundary"), rec
        parts = _parse_multipart(ctype, body)
        if parts is None:
            return 400, kibana_error(400, "[request body]: expected a multipart/form-data body"), rec
        rec["parts"] = [p["name"] for p in parts]
        files = [p for p in parts if p["name"] == "file"]
        if len(files) != 1:
            return 400, kibana_error(400, "[request body.file]: expected value of type [Stream] but got [undefined]"), rec
        f = files[0]
        rec["filename"], rec["part_content_type"] = f["filename"], f["content_type"]
        if not f["filename"] or not f["filename"].endswith(".ndjson"):
            ext = os.path.splitext(f["filename"] or "")[1] or "(none)"
            return 400, kibana_error(400, f"Invalid file extension {ext}"), rec
        objects = []
        for n, line in enumerate(f["data"].decode("utf-8", errors="strict").split("\n"), 1):
            if not line.strip():
                continue
            try:
                o = json.loads(line)
            except ValueError as e:
                return 400, kibana_error(400, f"Unexpected token in JSON at line {n}: {e}"), rec
            if not isinstance(o, dict) or not o.get("type") or not o.get("id") or not isinstance(o.get("attributes"), dict):
                return 400, kibana_error(400, f"line {n} is not a saved object (type, id, attributes)"), rec
            objects.append(o)
        rec["objects"] = len(objects)
        rec["types"] = sorted({o["type"] for o in objects})
        overwrite = query.get("overwrite") == "true"
        rec["overwrite"] = overwrite
        with self.lock:
            store = self._objects.setdefault(rec["space"], {})
            if fault is not None or not overwrite:
                conflicts = [o for o in objects if fault is not None or (o["type"], o["id"]) in store]
            else:
                conflicts = []
            ok = [o for o in objects if o not in conflicts]
            for o in ok:
                store[(o["type"], o["id"])] = o
        answer: dict = {"success": not conflicts, "successCount": len(ok),
                        "successResults": [{"type": o["type"], "id": o["id"],
                                            "meta": {"title": o["attributes"].get("title", "")}} for o in ok]}
        if conflicts:
            answer["errors"] = [{"id": o["id"], "type": o["type"], "title": o["attributes"].get("title", ""),
                                 "meta": {"title": o["attributes"].get("title", "")}, "error": {"type": "conflict"}}
                                for o in conflicts]
        return 200, answer, rec

    def record(self, rec: dict) -> None:
        with self.lock:
            self._requests.append(rec)
        if self.log is not None:
            self.log.write(json.dumps(rec, sort_keys=True) + "\n")
            self.log.flush()


def _parse_multipart(ctype: str, body: bytes) -> Optional[list]:
    """[{"name", "filename", "content_type", "data"}] of a multipart/form-data body, None if it is not one."""
    raw = b"Content-Type: " + ctype.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n" + body
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    if not msg.is_multipart():
        return None
    parts = []
    for part in msg.iter_parts():
        disp = part.get("Content-Disposition", "")
        if not disp.startswith("form-data"):
            return None
        parts.append({"name": part.get_param("name", header="content-disposition"),
                      "filename": part.get_filename(), "content_type": part.get_content_type(),
                      "data": part.get_payload(decode=True) or b""})
    return parts


class _Handler(http.server.BaseHTTPRequestHandler):
    stub: ImportStub
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _send(self, status: int, answer) -> None:
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/__stub/requests":
            return self._send(200, self.stub.requests())
        if url.path == "/__stub/objects":
            return self._send(200, list(self.stub.objects(q.get("space", "default")).values()))
        self._send(404, kibana_error(404, "Not Found"))

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        body = self._body()
        if url.path == "/__stub/fail":
            spec = json.loads(body or b"{}")
            if not spec.get("status"):
                self.stub.clear_faults()
            else:
                self.stub.fail(spec["status"], spec.get("count", 1), spec.get("message"))
            return self._send(200, {"ok": True})
        if url.path == "/__stub/reset":
            self.stub.reset()
            return self._send(200, {"ok": True})
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, answer, rec = self.stub.handle_import(url.path, dict(urllib.parse.parse_qsl(url.query)), headers, body)
        rec["status"], rec["answer"] = status, answer
        self.stub.record(rec)
        self._send(status, answer)

    def do_PUT(self):
        self._send(404, kibana_error(404, "Not Found"))

    do_DELETE = do_PUT


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url-file", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--username")
    ap.add_argument("--password")
    ap.add_argument("--api-key", help="the token after 'ApiKey ' (base64 of id:key)")
    ap.add_argument("--spaces", help="comma-separated spaces that exist (default: any)")
    ap.add_argument("--fail", help="STATUS[:COUNT]: answer requests with this status (or 'conflict')")
    ap.add_argument("--log", help="file to append one JSON line per request to (default stderr)")
    a = ap.parse_args(argv)
    log = open(a.log, "a", encoding="utf-8") if a.log else sys.stderr
    stub = ImportStub(a.username, a.password, a.api_key, a.spaces.split(",") if a.spaces else None, port=a.port, log=log)
    if a.fail:
        status, _, count = a.fail.partition(":")
        stub.fail(status if status == "conflict" else int(status), int(count) if count else None)
    stub.start()
    stop = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, lambda *_: stop.set())
    tmp = a.url_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(stub.url + "\n")
    os.replace(tmp, a.url_file)
    parent = os.getppid()
    while not stop.wait(0.2):
        if os.getppid() != parent:
            break
    stub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
