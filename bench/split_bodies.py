#!/usr/bin/env python3
"""Split NDJSON _bulk files into request bodies the way cloudspool-load batches
them (a request ends before the pair that would pass bulk_max_bytes or when it
holds bulk_max_docs documents; requests never span files), and write a curl
config that posts them all, in order, over one connection.

usage: split_bodies.py OUT_DIR FILE.ndjson... [--max-bytes 5242880] [--max-docs 5000]
Writes OUT_DIR/NNNNNN.ndjson and OUT_DIR/bodies.txt (their paths, one a line).
"""

import argparse
import os
import sys


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("files", nargs="+")
    ap.add_argument("--max-bytes", type=int, default=5242880)
    ap.add_argument("--max-docs", type=int, default=5000)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    paths = []

    def flush(buf):
        if buf:
            p = os.path.join(a.out, f"{len(paths):06d}.ndjson")
            with open(p, "wb") as f:
                f.write(b"".join(buf))
            paths.append(p)

    for path in a.files:
        buf, size, n = [], 0, 0
        with open(path, "rb") as f:
            while True:
                act = f.readline()
                if not act:
                    break
                doc = f.readline()
                pair = len(act) + len(doc)
                if buf and (size + pair > a.max_bytes or n >= a.max_docs):
                    flush(buf)
                    buf, size, n = [], 0, 0
                buf.append(act + doc)
                size += pair
                n += 1
        flush(buf)
    with open(os.path.join(a.out, "bodies.txt"), "w") as f:
        f.write("".join(p + "\n" for p in paths))
    print(f"split_bodies: {len(paths)} request bodies", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
