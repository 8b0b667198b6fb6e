#!/usr/bin/env bash
# cloudspool benchmarks: the one command.
#
#   bash bench/run.sh [--runs N] [--only transform,cur,load,fetch] [more options: bench/bench.py --help]
#
# Generates its data under bench-data/ (git-ignored; reused while its parameters
# do not change), runs every benchmark, prints a table of medians with the ratio
# to each baseline and peak memory, and keeps the results in
# bench-data/results/latest.{txt,json}. Everything talks to 127.0.0.1 only.
# Needs the release binaries (swift build -c release) and, installed here if
# missing: opensearch-py, moto[server], osmem-server, boto3, awscli (pip), and
# taskset, gzip, curl, GNU time (system).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}

missing=()
"$PYTHON" -c 'import opensearchpy' 2>/dev/null || missing+=("opensearch-py")
"$PYTHON" -c 'import moto, flask' 2>/dev/null || missing+=("moto[server]")
"$PYTHON" -c 'import osmem_server' 2>/dev/null || missing+=("osmem-server")
"$PYTHON" -c 'import boto3' 2>/dev/null || missing+=("boto3")
command -v aws >/dev/null 2>&1 || missing+=("awscli")
if ((${#missing[@]})); then
    echo "bench: installing ${missing[*]} (pip install -q)" >&2
    "$PYTHON" -m pip install -q "${missing[@]}"
fi
for tool in taskset gzip curl /usr/bin/time; do
    command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool is required (apt-get install util-linux gzip curl time)" >&2; exit 2; }
done

exec "$PYTHON" bench/bench.py "$@"
