#!/usr/bin/env bash
# Profiles behind docs/benchmarks.md (run after a build; takes about a minute):
#
#   bash bench/profile.sh
#
# 1. cloudspool-transform on ~12 MB of CloudTrail JSON under callgrind (instruction
#    counts: repeatable, unlike timings on a shared 2-core machine). valgrind 3.19
#    cannot read the DWARF 5 that Swift emits, so a copy without debug sections
#    is profiled (symbols stay; names are demangled with swift-demangle).
# 1b. the same on a 10 MB Cost & Usage Report (when the build has billing).
# 2. cloudspool-load sending 200,000 documents to the null _bulk sink under
#    `perf record -e cpu-clock` (hardware counters are not available in this VM;
#    skipped when perf does not work).
#
# Output: bench-data/results/profile-transform.txt, profile-cur.txt, profile-load.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CLOUDSPOOL_BIN_DIR:-.build/release}
DATA=${BENCH_DATA:-bench-data}
OUT=$DATA/results
WORK=$DATA/work/profile
mkdir -p "$OUT"
rm -rf "$WORK" && mkdir -p "$WORK"
# (report pipelines end in `head`: a SIGPIPE upstream is expected there)
demangle() { if command -v swift-demangle >/dev/null 2>&1; then swift-demangle --simplified; else cat; fi; }

# ---- 1. transform under callgrind
python3 bench/gen_trail_set.py --out "$DATA/profile-cloudtrail" --total-bytes 12000000 >/dev/null 2>&1
RUN=20261128T000000Z-00000001
mkdir -p "$WORK/spool/raw/cloudtrail/$RUN"
cp -al "$DATA/profile-cloudtrail/objects" "$WORK/spool/raw/cloudtrail/$RUN/"
cp "$DATA/profile-cloudtrail/manifest.json" "$WORK/spool/raw/cloudtrail/$RUN/"
printf 'spool: %s\nretention:\n  raw_days: 36500\n  ndjson_days: 36500\n' "$PWD/$WORK/spool" > "$WORK/transform.yaml"
objcopy --strip-debug "$BIN/cloudspool-transform" "$WORK/cloudspool-transform"
valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.transform" \
    "$WORK/cloudspool-transform" --config "$WORK/transform.yaml" >/dev/null 2>"$WORK/valgrind.log"
set +o pipefail
{
    echo "callgrind, cloudspool-transform, $(python3 -c "import json;d=json.load(open('$DATA/profile-cloudtrail/dataset.json'));print(f\"{d['uncompressed_bytes']/1e6:.1f} MB uncompressed, {d['files']} files, {d['records']} records\")")"
    grep -E "Collected" "$WORK/valgrind.log" || true
    echo
    echo "self cost (exclusive), top 25:"
    callgrind_annotate "$WORK/callgrind.transform" 2>/dev/null | sed -n '/file:function/,$p' | sed -n '2,26p' | demangle | cut -c1-220
    echo
    echo "inclusive cost, top 30:"
    callgrind_annotate --inclusive=yes "$WORK/callgrind.transform" 2>/dev/null | sed -n '/file:function/,$p' | sed -n '2,31p' | demangle | cut -c1-220
} > "$OUT/profile-transform.txt"
echo "wrote $OUT/profile-transform.txt"

# ---- 1b. transform of a 10 MB Cost & Usage Report under callgrind (when the build has billing)
python3 bench/gen_cur_set.py --out "$DATA/cur-10mb" --rows 16000 >/dev/null 2>&1
CRUN=20261128T000000Z-000000c0
mkdir -p "$WORK/cspool/raw/billing/$CRUN"
cp -al "$DATA/cur-10mb/objects" "$WORK/cspool/raw/billing/$CRUN/"
cp "$DATA/cur-10mb/manifest.json" "$WORK/cspool/raw/billing/$CRUN/"
printf 'spool: %s\nretention:\n  raw_days: 36500\n  ndjson_days: 36500\n' "$PWD/$WORK/cspool" > "$WORK/cur.yaml"
valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.cur" \
    "$WORK/cloudspool-transform" --config "$WORK/cur.yaml" >/dev/null 2>"$WORK/valgrind-cur.log"
if ls "$WORK"/cspool/ndjson/billing/*.revision.json >/dev/null 2>&1; then
    {
        echo "callgrind, cloudspool-transform, CUR report of 16,000 rows (10.4 MB CSV)"
        grep -E "Collected" "$WORK/valgrind-cur.log" || true
        echo
        echo "self cost (exclusive), top 25:"
        callgrind_annotate "$WORK/callgrind.cur" 2>/dev/null | sed -n '/file:function/,$p' | sed -n '2,26p' | demangle | cut -c1-220
        echo
        echo "inclusive cost, top 30:"
        callgrind_annotate --inclusive=yes "$WORK/callgrind.cur" 2>/dev/null | sed -n '/file:function/,$p' | sed -n '2,31p' | demangle | cut -c1-220
    } > "$OUT/profile-cur.txt"
    echo "wrote $OUT/profile-cur.txt"
else
    echo "this build of cloudspool-transform has no billing: CUR profile skipped" >&2
fi

# ---- 2. load under perf, against the null sink
if perf stat -e cpu-clock true >/dev/null 2>&1; then
    python3 bench/gen_bulk_docs.py --out "$DATA/profile-load" --docs 200000 >/dev/null 2>&1
    python3 bench/bulk_sink.py > "$WORK/sink.json" 2>/dev/null &
    SINK_PID=$!
    trap 'kill $SINK_PID 2>/dev/null || true' EXIT
    for _ in $(seq 50); do [ -s "$WORK/sink.json" ] && break; sleep 0.1; done
    URL=$(python3 -c "import json;print(json.load(open('$WORK/sink.json'))['url'])")
    mkdir -p "$WORK/lspool/ndjson/cloudtrail"
    for f in "$DATA"/profile-load/ndjson/*.ndjson; do ln "$f" "$WORK/lspool/ndjson/cloudtrail/"; done
    printf 'spool: %s\nindex:\n  url: %s\n  auth: none\n  names:\n    cloudtrail: benchtrail\nretention:\n  raw_days: 36500\n  ndjson_days: 36500\n' \
        "$PWD/$WORK/lspool" "$URL" > "$WORK/load.yaml"
    objcopy --strip-debug "$BIN/cloudspool-load" "$WORK/cloudspool-load"
    /usr/bin/time -f "%e s wall, %U s user, %S s system, %M KB peak RSS" -o "$WORK/load.time" \
        perf record -q -e cpu-clock -F 2000 -g -o "$WORK/perf.load" "$WORK/cloudspool-load" --config "$WORK/load.yaml" >/dev/null 2>&1
    {
        echo "perf (cpu-clock), cloudspool-load, 200,000 documents to the null _bulk sink"
        cat "$WORK/load.time"
        echo
        echo "inclusive (children), top 30:"
        perf report -i "$WORK/perf.load" --children --sort symbol -g none 2>/dev/null | grep -v '^#' | grep '%' | head -30 | demangle | cut -c1-200
        echo
        echo "self, top 20:"
        perf report -i "$WORK/perf.load" --no-children --sort symbol -g none 2>/dev/null | grep -v '^#' | grep '%' | head -20 | demangle | cut -c1-200
    } > "$OUT/profile-load.txt"
    echo "wrote $OUT/profile-load.txt"
else
    echo "perf does not work here: load profile skipped" >&2
fi
