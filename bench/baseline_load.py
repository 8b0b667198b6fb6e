#!/usr/bin/env python3
"""The operator's baseline for `cloudspool-load`: opensearch-py's bulk helpers
sending the same documents (the same NDJSON files load reads).

Each action/document pair is parsed (json) into the helpers' action form
{"_op_type": "index", "_index": .., "_id": .., "_source": {..}} and handed to
`helpers.streaming_bulk` (one connection, one request at a time) or
`helpers.parallel_bulk` (a thread pool, default 4 threads), with the same
request sizes as cloudspool-load (chunk_size = bulk_max_docs, max_chunk_bytes
= bulk_max_bytes). Errors are collected, not raised; the script prints
{"docs":..,"ok":..,"failed":..} and exits 1 if anything failed.

usage: baseline_load.py {streaming,parallel} URL FILE.ndjson... [--chunk-docs 5000]
       [--chunk-bytes 5242880] [--threads 4] [--template NAME=FILE.json]
"""

import argparse
import json
import sys

from opensearchpy import OpenSearch, helpers


def actions(files):
    for path in files:
        with open(path, "rb") as f:
            while True:
                a = f.readline()
                if not a:
                    break
                d = f.readline()
                meta = json.loads(a)
                op, m = next(iter(meta.items()))
                yield {"_op_type": op, "_index": m["_index"], "_id": m["_id"], "_source": json.loads(d)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["streaming", "parallel"])
    ap.add_argument("url")
    ap.add_argument("files", nargs="+")
    ap.add_argument("--chunk-docs", type=int, default=5000)
    ap.add_argument("--chunk-bytes", type=int, default=5242880)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--template", default="", help="NAME=FILE: PUT this index template first (as cloudspool-load does)")
    a = ap.parse_args()
    client = OpenSearch(hosts=[a.url], timeout=120, http_compress=False)
    if a.template:
        name, _, path = a.template.partition("=")
        with open(path) as f:
            client.indices.put_index_template(name=name, body=json.load(f))
    ok = failed = 0
    if a.mode == "streaming":
        results = helpers.streaming_bulk(client, actions(a.files), chunk_size=a.chunk_docs,
                                         max_chunk_bytes=a.chunk_bytes, raise_on_error=False,
                                         raise_on_exception=False)
    else:
        results = helpers.parallel_bulk(client, actions(a.files), thread_count=a.threads, chunk_size=a.chunk_docs,
                                        max_chunk_bytes=a.chunk_bytes, raise_on_error=False,
                                        raise_on_exception=False)
    for success, _item in results:
        if success:
            ok += 1
        else:
            failed += 1
    print(json.dumps({"docs": ok + failed, "ok": ok, "failed": failed}))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
