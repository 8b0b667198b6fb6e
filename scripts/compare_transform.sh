#!/usr/bin/env bash
# Proves two builds transform the same raw runs into the same NDJSON.
#
#   bash scripts/compare_transform.sh SPOOL OLD_BIN_DIR NEW_BIN_DIR
#
# Copies the raw runs of SPOOL (e.g. the demo's .demo/spool) twice, runs each
# build's cloudspool-transform on its copy, and compares every NDJSON file
# (file names carry the run id, which is the same in both copies; replay names
# are not used). Prints one line per collector and exits 1 on any difference.
set -euo pipefail
SPOOL="$1"; OLD="$2"; NEW="$3"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
status=0
for side in old new; do
    mkdir -p "$WORK/$side"
    cp -a "$SPOOL/raw" "$WORK/$side/raw"
    # inventory-events keeps the events known per instance across runs: start empty on both sides
    printf 'spool: %s\n' "$WORK/$side/spool" > "$WORK/$side.yaml"
    mkdir -p "$WORK/$side/spool"
    mv "$WORK/$side/raw" "$WORK/$side/spool/raw"
    # the iam section makes the IAM transform run; inventory is needed by iam
    printf 'inventory:\n  accounts: ["000000000000"]\n  regions: [us-east-1]\niam: {}\n' >> "$WORK/$side.yaml"
    bin="$OLD"; [ "$side" = new ] && bin="$NEW"
    "$bin/cloudspool-transform" --config "$WORK/$side.yaml" > "$WORK/$side.out" 2> "$WORK/$side.err" || true
    tail -n 1 "$WORK/$side.out"
done
for dir in "$WORK"/old/spool/ndjson/*/; do
    collector="$(basename "$dir")"
    files=0; same=0
    for f in "$dir"*; do
        files=$((files + 1))
        if cmp -s "$f" "$WORK/new/spool/ndjson/$collector/$(basename "$f")"; then same=$((same + 1)); fi
    done
    newfiles=$(ls "$WORK/new/spool/ndjson/$collector" | wc -l)
    bytes=$(cat "$dir"* | wc -c)
    verdict=identical
    if [ "$same" != "$files" ] || [ "$newfiles" != "$files" ]; then verdict=DIFFERENT; status=1; fi
    printf '%-11s %3d files (%d new) %10d bytes  %s\n' "$collector" "$files" "$newfiles" "$bytes" "$verdict"
done
exit "$status"
