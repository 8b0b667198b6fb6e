#!/usr/bin/env python3
"""A null `_bulk` endpoint: the client side's limit for the load benchmark.

It reads each request completely and answers like Elasticsearch/OpenSearch
would for a successful request (one item of status 201 per action line), but
indexes nothing, so what is measured is the loader itself: reading the NDJSON,
batching, HTTP, parsing the answer. `PUT /_index_template/*` and other
requests answer `{"acknowledged":true}`. HTTP/1.1 keep-alive, Content-Length
or chunked bodies, `Expect: 100-continue`. One thread per connection.

It counts documents; `GET /_sink/stats` returns {"requests":..,"docs":..,"bytes":..,
"wire_bytes":..,"connections":..} and `POST /_sink/reset` zeroes it. A body sent with
`Content-Encoding: gzip` is inflated (as Elasticsearch/OpenSearch do); "bytes" counts the
documents' bytes, "wire_bytes" what travelled.

usage: bulk_sink.py [--port 0] [--save-puts DIR]
  prints {"url": "http://127.0.0.1:PORT"} on stdout when ready; with --save-puts the body of
  every PUT is written to DIR/<path with / as _>.json (how the benchmark captures the index
  template cloudspool-load installs, to install the same one for the other clients).
Listens on 127.0.0.1 only.
"""

import argparse
import gzip
import json
import os
import socket
import socketserver
import sys
import threading

ITEM = (b'{"index":{"_index":"sink","_id":"x","_version":1,"result":"created",'
        b'"_shards":{"total":1,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1,"status":201}}')
LOCK = threading.Lock()
STATS = {"requests": 0, "docs": 0, "bytes": 0, "wire_bytes": 0, "connections": 0}
SAVE_DIR = None


class Handler(socketserver.StreamRequestHandler):
    rbufsize = 1 << 20
    disable_nagle_algorithm = True

    def handle(self) -> None:
        with LOCK:
            STATS["connections"] += 1
        rf, wf = self.rfile, self.wfile
        while True:
            line = rf.readline(65536)
            if not line:
                return
            if line in (b"\r\n", b"\n"):
                continue
            try:
                method, target, _ = line.decode("latin-1").split(" ", 2)
            except ValueError:
                return
            headers = {}
            while True:
                h = rf.readline(65536)
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode("latin-1").partition(":")
                headers[k.strip().lower()] = v.strip()
            if headers.get("expect", "").lower() == "100-continue":
                wf.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                wf.flush()
            if "content-length" in headers:
                body = rf.read(int(headers["content-length"]))
            elif headers.get("transfer-encoding", "").lower() == "chunked":
                parts = []
                while True:
                    size = int(rf.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while rf.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    parts.append(rf.read(size))
                    rf.readline()
                body = b"".join(parts)
            else:
                body = b""
            path = target.split("?", 1)[0]
            wire = len(body)
            if headers.get("content-encoding", "").lower() == "gzip" and body:
                body = gzip.decompress(body)
            if method == "POST" and path.endswith("/_bulk"):
                lines = body.count(b"\n") + (0 if body.endswith(b"\n") or not body else 1)
                docs = lines // 2
                with LOCK:
                    STATS["requests"] += 1
                    STATS["docs"] += docs
                    STATS["bytes"] += len(body)
                    STATS["wire_bytes"] += wire
                out = b'{"took":1,"errors":false,"items":[' + b",".join([ITEM] * docs) + b"]}"
            elif path == "/_sink/stats":
                with LOCK:
                    out = json.dumps(STATS).encode()
            elif path == "/_sink/reset":
                with LOCK:
                    for k in STATS:
                        STATS[k] = 0
                out = b'{"acknowledged":true}'
            elif method == "GET" and path == "/":
                out = b'{"name":"bulk-sink","cluster_name":"sink","version":{"distribution":"opensearch","number":"2.19.0"},"tagline":"The OpenSearch Project: https://opensearch.org/"}'
            else:
                if method == "PUT" and SAVE_DIR:
                    name = path.strip("/").replace("/", "_") or "root"
                    with open(os.path.join(SAVE_DIR, name + ".json"), "wb") as f:
                        f.write(body)
                out = b'{"acknowledged":true}'
            head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\n"
                    b"Content-Length: " + str(len(out)).encode() + b"\r\n\r\n")
            if method == "HEAD":
                wf.write(head)
            else:
                wf.write(head + out)
            wf.flush()
            if headers.get("connection", "").lower() == "close":
                return


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--save-puts", default="")
    a = ap.parse_args()
    global SAVE_DIR
    if a.save_puts:
        os.makedirs(a.save_puts, exist_ok=True)
        SAVE_DIR = a.save_puts
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    print(json.dumps({"url": f"http://127.0.0.1:{srv.server_address[1]}"}), flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
