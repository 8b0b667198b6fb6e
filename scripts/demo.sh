#!/usr/bin/env bash
# cloudspool demo: everything on this machine, nothing leaves 127.0.0.1.
#
#   bash scripts/demo.sh
#
# 1. installs what it needs (Debian: libcurl4-openssl-dev zlib1g-dev; PyPI: moto[server]
#    osmem-server boto3 pytest awscli), skipping what is already there
# 2. builds the release binaries (swift build -c release)
# 3. starts moto_server (AWS emulator) and osmem-server (OpenSearch-compatible, in memory)
#    on free loopback ports
# 4. generates a realistic organization trail bucket in moto
#    (3 accounts x 2 regions x 3 days, digests and ConfigWritabilityCheckFile included)
# 5. writes a config to .demo/ and runs cloudspool-fetch, -transform and -load
# 6. shows what was indexed, then stops the peers
#
# DEMO_DIR (default <repo>/.demo) holds the config, the spool and the peer logs.
# CLOUDSPOOL_BIN_DIR, when set, names prebuilt binaries and skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
DEMO="${DEMO_DIR:-$ROOT/.demo}"
BUCKET=demo-cloudtrail
REGION=eu-west-1

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# ---------------------------------------------------------------- 1. install
say "checking prerequisites"
missing_deb=()
for p in libcurl4-openssl-dev zlib1g-dev; do
    dpkg -s "$p" >/dev/null 2>&1 || missing_deb+=("$p")
done
if [ "${#missing_deb[@]}" -gt 0 ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "installing ${missing_deb[*]}"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing_deb[@]}"
fi
if ! python3 -c 'import moto, osmem_server, boto3, yaml, pytest' 2>/dev/null \
   || ! python3 -c 'import shutil, sys, pathlib; sys.exit(0 if (pathlib.Path(sys.executable).parent / "moto_server").exists() or shutil.which("moto_server") else 1)'; then
    echo "installing Python packages"
    python3 -m pip install -q 'moto[server]' osmem-server boto3 pytest awscli
fi
echo "ok"

# ---------------------------------------------------------------- 2. build
if [ -n "${CLOUDSPOOL_BIN_DIR:-}" ]; then
    BIN="$CLOUDSPOOL_BIN_DIR"
    say "using the binaries in $BIN (CLOUDSPOOL_BIN_DIR; not building)"
else
    say "swift build -c release"
    swift build -c release
    BIN="$(swift build -c release --show-bin-path)"
fi

# ---------------------------------------------------------------- 3. peers
say "starting moto_server and osmem-server on loopback"
mkdir -p "$DEMO"
rm -rf "$DEMO/spool"
STATE="$DEMO/peers.json"
if [ -f "$STATE" ]; then python3 scripts/peers.py stop --state-file "$STATE" >/dev/null || true; fi
python3 scripts/peers.py start --state-file "$STATE" --log-dir "$DEMO/peer-logs" > "$DEMO/peers.env"
trap 'say "stopping the peers"; python3 scripts/peers.py stop --state-file "$STATE"' EXIT
# shellcheck disable=SC1091
. "$DEMO/peers.env"
echo "moto:  $MOTO_URL (pid $MOTO_PID)"
echo "osmem: $OSMEM_URL (pid $OSMEM_PID)"

# fake credentials, loopback endpoints, no shared AWS config of the user
export AWS_ACCESS_KEY_ID=demo-access-key AWS_SECRET_ACCESS_KEY=demo-secret-key
unset AWS_SESSION_TOKEN AWS_PROFILE || true
export AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION"
export AWS_ENDPOINT_URL="$MOTO_URL" AWS_ENDPOINT_URL_S3="$MOTO_URL" AWS_ENDPOINT_URL_STS="$MOTO_URL"
export AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE="$DEMO/no-aws-config" AWS_SHARED_CREDENTIALS_FILE="$DEMO/no-aws-credentials"
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

# ---------------------------------------------------------------- 4. sample bucket
say "generating an organization trail bucket (3 accounts x 2 regions x 3 days)"
START="$(python3 -c 'import datetime; print(datetime.date.today() - datetime.timedelta(days=4))')"
python3 scripts/gen_cloudtrail.py s3 --bucket "$BUCKET" --endpoint-url "$MOTO_URL" --region "$REGION" \
    --create-bucket --seed 2026 --accounts 3 --regions eu-west-1,us-east-1 --days 3 --start-date "$START" \
    --files-per-prefix 4 --records-per-file 25 --summary "$DEMO/expected.json"
python3 - "$MOTO_URL" "$BUCKET" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="eu-west-1")
keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[2]) for o in p.get("Contents", [])]
print(f"{len(keys)} objects in s3://{sys.argv[2]}, e.g.")
for k in [k for k in keys if "_CloudTrail_" in k][:2] + [k for k in keys if "CloudTrail-Digest" in k][:1] \
        + [k for k in keys if k.endswith("ConfigWritabilityCheckFile")][:1]:
    print("  " + k)
PY

# ---------------------------------------------------------------- 5. run
cat > "$DEMO/cloudspool.yaml" <<YAML
# written by scripts/demo.sh
spool: $DEMO/spool
aws:
  region: $REGION
  timeout_seconds: 10
  max_retries: 3
cloudtrail:
  bucket: $BUCKET
  prefix: ""
  start_date: $(python3 -c 'import datetime; print(datetime.date.today() - datetime.timedelta(days=6))')
  overlap_minutes: 60
  batch_objects: 50
index:
  url: $OSMEM_URL
  auth: none
  timeout_seconds: 10
  max_retries: 5
  names:
    cloudtrail: awscli-trail
YAML
say "config $DEMO/cloudspool.yaml"
cat "$DEMO/cloudspool.yaml"

rc_all=0
for stage in fetch transform load; do
    say "cloudspool-$stage --config $DEMO/cloudspool.yaml"
    set +e
    "$BIN/cloudspool-$stage" --config "$DEMO/cloudspool.yaml"
    rc=$?
    set -e
    echo "-> exit $rc"
    if [ "$rc" != 0 ] && [ "$rc" != 3 ]; then rc_all=$rc; fi
done

# ---------------------------------------------------------------- 6. results
say "what was indexed"
set +e
python3 - "$OSMEM_URL" "$DEMO/expected.json" <<'PY'
import json, sys, urllib.request
url, expected = sys.argv[1].rstrip("/"), json.load(open(sys.argv[2]))
def get(path, body=None):
    req = urllib.request.Request(url + path, data=None if body is None else json.dumps(body).encode(),
                                 method="GET" if body is None else "POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return r.read().decode()
urllib.request.urlopen(urllib.request.Request(url + "/_refresh", method="POST")).read()
print(get("/_cat/indices/awscli-trail-*?v&s=index"))
want = expected["expected_counts"]
got = {}
for ix in want:
    try:
        got[ix] = json.loads(get(f"/{ix}/_count"))["count"]
    except Exception:
        got[ix] = 0
print(f"{'index':<28}{'expected':>10}{'indexed':>10}")
for ix in sorted(want):
    print(f"{ix:<28}{want[ix]:>10}{got[ix]:>10}{'' if want[ix] == got[ix] else '   <-- differs'}")
print(f"{'total':<28}{sum(want.values()):>10}{sum(got.values()):>10}")
hits = []
for name in ("RunInstances", "ConsoleLogin", "AssumeRole"):
    for field in ("eventName", "eventName.keyword"):
        try:
            r = json.loads(get("/awscli-trail-*/_search", {"size": 1, "query": {"term": {field: name}}}))["hits"]["hits"]
        except Exception:
            r = []
        if r:
            hits += r
            break
if len(hits) < 3:
    hits += json.loads(get("/awscli-trail-*/_search", {"size": 3 - len(hits)}))["hits"]["hits"]
print(f"\n{len(hits)} sample documents:")
for h in hits:
    print(f"\n--- {h['_index']} / {h['_id']}")
    print(json.dumps(h["_source"], indent=2, ensure_ascii=False)[:2500])
sys.exit(0 if got == want else 1)
PY
check=$?
set -e
echo
echo "spool: $DEMO/spool   config: $DEMO/cloudspool.yaml"
[ "$rc_all" = 0 ] && exit "$check" || exit "$rc_all"
