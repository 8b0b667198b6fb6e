#!/usr/bin/env bash
# cloudspool demo: the whole product, everything on this machine, nothing leaves 127.0.0.1.
#
#   bash scripts/demo.sh
#
# 1. installs what it needs (Debian: libcurl4-openssl-dev zlib1g-dev; PyPI: moto[server]
#    osmem-server boto3 pytest awscli), skipping what is already there
# 2. builds the release binaries (swift build -c release)
# 3. starts moto_server (AWS emulator) and osmem-server (OpenSearch-compatible, in memory)
#    on free loopback ports
# 4. puts sample AWS data in moto:
#    - an organization trail bucket (3 accounts x 2 regions x 3 days, digests and
#      ConfigWritabilityCheckFile included; scripts/gen_cloudtrail.py)
#    - a legacy Cost & Usage Report: a closed month and two revisions of the current
#      month (scripts/gen_cur.py)
#    - an organization of two member accounts with EC2, RDS, CloudWatch, IAM users and
#      S3 buckets in eu-west-1 and us-east-1 (scripts/demo_estate.py build)
#    and starts a loopback stand-in for the two APIs moto lacks, CloudTrail LookupEvents
#    and AWS Backup ListBackupJobs (scripts/demo_estate.py stub, Tests/integration/aws_stub.py)
#    - when icinga2 is installed (icinga2-bin icinga2-common): a real Icinga 2 with livestatus
#      on loopback (Tests/integration/icinga_peer.py) whose hosts match some of the instances,
#      read by the monitoring collector; without icinga2 that part is skipped with a note
# 5. writes a config to .demo/ and runs cloudspool-fetch (every collector), -transform
#    and -load, then cloudspool-load --status
# 6. shows what was indexed
# 7. prints, per dashboard section, the figures its metric panels show, computed by running the
#    panels' own queries (scripts/dashboard_figures.py), then stops the peers (also on error or Ctrl-C)
#
# DEMO_DIR (default <repo>/.demo) holds the config, the spool and the peer logs.
# CLOUDSPOOL_BIN_DIR, when set, names prebuilt binaries and skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
DEMO="${DEMO_DIR:-$ROOT/.demo}"
BUCKET=demo-cloudtrail
CUR_BUCKET=demo-cur
CUR_REPORT=org-cur
REGION=eu-west-1

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# ---------------------------------------------------------------- 1. install
say "checking prerequisites"
bash scripts/install-deps.sh

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
mkdir -p "$DEMO" "$DEMO/logs"
rm -rf "$DEMO/spool"
STATE="$DEMO/peers.json"
if [ -f "$STATE" ]; then python3 scripts/peers.py stop --state-file "$STATE" >/dev/null || true; fi
STUB_PID=""
ICINGA_DIR=""
cleanup() {
    say "stopping the peers"
    if [ -n "$ICINGA_DIR" ]; then python3 Tests/integration/icinga_peer.py stop --dir "$ICINGA_DIR" --grace 5 || true; fi
    if [ -n "$STUB_PID" ] && kill -0 "$STUB_PID" 2>/dev/null; then
        kill "$STUB_PID" && wait "$STUB_PID" 2>/dev/null || true
        echo "stopped aws-stub (pid $STUB_PID); it answered:"
        tail -n 2 "$DEMO/peer-logs/aws-stub.log" | sed 's/^/  /'
    fi
    python3 scripts/peers.py stop --state-file "$STATE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
python3 scripts/peers.py start --state-file "$STATE" --log-dir "$DEMO/peer-logs" > "$DEMO/peers.env"
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

# ---------------------------------------------------------------- 4. sample data
say "CloudTrail: an organization trail bucket (3 accounts x 2 regions x 3 days)"
START="$(python3 -c 'import datetime; print(datetime.date.today() - datetime.timedelta(days=4))')"
python3 scripts/gen_cloudtrail.py s3 --bucket "$BUCKET" --endpoint-url "$MOTO_URL" --region "$REGION" \
    --create-bucket --seed 2026 --accounts 3 --regions eu-west-1,us-east-1 --days 3 --start-date "$START" \
    --files-per-prefix 4 --records-per-file 25 --summary "$DEMO/expected.json"
python3 - "$MOTO_URL" "$BUCKET" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="eu-west-1")
keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[2]) for o in p.get("Contents", [])]
print(f"{len(keys)} objects in s3://{sys.argv[2]}, e.g.")
for k in [k for k in keys if "_CloudTrail_" in k][:1] + [k for k in keys if "CloudTrail-Digest" in k][:1] \
        + [k for k in keys if k.endswith("ConfigWritabilityCheckFile")][:1]:
    print("  " + k)
PY

say "Costs: a legacy Cost & Usage Report (a closed month, two revisions of this month)"
python3 scripts/gen_cur.py s3 --bucket "$CUR_BUCKET" --endpoint-url "$MOTO_URL" --region "$REGION" --create-bucket \
    --mode legacy --seed 2026 --rows 200 --prefix cur --name "$CUR_REPORT" --summary "$DEMO/expected-cur.json" 2>&1
python3 - "$MOTO_URL" "$CUR_BUCKET" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="eu-west-1")
keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[2]) for o in p.get("Contents", [])]
print(f"{len(keys)} objects in s3://{sys.argv[2]}, e.g.")
for k in [k for k in keys if k.endswith(".csv.gz")][:1]:
    print("  " + k)
PY

say "Inventory, IAM, S3: an organization of two member accounts"
python3 scripts/demo_estate.py build --endpoint-url "$MOTO_URL" --ledger "$DEMO/estate.json"
rm -f "$DEMO/stub.url"
python3 scripts/demo_estate.py stub --endpoint-url "$MOTO_URL" --ledger "$DEMO/estate.json" \
    --url-file "$DEMO/stub.url" > "$DEMO/peer-logs/aws-stub.log" 2>&1 &
STUB_PID=$!
for _ in $(seq 100); do [ -s "$DEMO/stub.url" ] || ! kill -0 "$STUB_PID" 2>/dev/null && break; sleep 0.1; done
[ -s "$DEMO/stub.url" ] || { echo "aws-stub did not start:"; cat "$DEMO/peer-logs/aws-stub.log"; exit 1; }
STUB_URL="$(cat "$DEMO/stub.url")"
head -n1 "$DEMO/peer-logs/aws-stub.log"
# what moto lacks comes from the stub
export AWS_ENDPOINT_URL_CLOUDTRAIL="$STUB_URL" AWS_ENDPOINT_URL_BACKUP="$STUB_URL"
S3_BUCKETS="$(python3 -c 'import json, sys; print(", ".join(json.load(open(sys.argv[1]))["buckets"]))' "$DEMO/estate.json")"

say "Monitoring: a real Icinga 2 with livestatus on loopback"
MONITORING_YAML=""
if command -v icinga2 >/dev/null 2>&1; then
    python3 scripts/demo_estate.py monitoring-hosts --endpoint-url "$MOTO_URL" --ledger "$DEMO/estate.json" \
        --out "$DEMO/icinga-hosts.json" --expected "$DEMO/icinga-expected.json"
    rm -rf "$DEMO/icinga"
    ICINGA_DIR="$DEMO/icinga"
    if python3 Tests/integration/icinga_peer.py start --hosts "$DEMO/icinga-hosts.json" --dir "$ICINGA_DIR" > "$DEMO/icinga.env"; then
        # shellcheck disable=SC1091
        . "$DEMO/icinga.env"
        echo "icinga2: livestatus $LIVESTATUS_TCP and $LIVESTATUS_SOCKET (pid $ICINGA_PID, ready in ${ICINGA_STARTUP_SECONDS} s)"
        MONITORING_YAML="monitoring:
  sources:
    - {name: icinga, type: livestatus, address: \"$LIVESTATUS_TCP\", timeout_seconds: 10}"
    else
        echo "icinga2 did not start (see $ICINGA_DIR/icinga2.log): the monitoring part of the demo is skipped"
        ICINGA_DIR=""
    fi
else
    echo "icinga2 is not installed (apt-get install icinga2-bin icinga2-common): the monitoring part of the demo is skipped"
fi

# ---------------------------------------------------------------- 5. run
DAY="$(python3 -c 'import datetime; print(datetime.date.today() - datetime.timedelta(days=6))')"
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
  start_date: $DAY
  overlap_minutes: 60
  batch_objects: 50
  # the generated digests are not signed by CloudTrail (Tests/integration/test_audit.py validates signed ones)
  validate_digests: false
billing:
  bucket: $CUR_BUCKET
  prefix: cur
  report_name: $CUR_REPORT
  months: 2
inventory:
  organizations: true
  role_name: EnergyLogReadOnly
  regions: [eu-west-1, us-east-1]
  concurrency: 4
  lookup_events: 5
iam:
  inactive_days: 90
  report_timeout_seconds: 30
s3:
  buckets: [$S3_BUCKETS]
$MONITORING_YAML
index:
  url: $OSMEM_URL
  auth: none
  timeout_seconds: 10
  max_retries: 5
YAML
say "config $DEMO/cloudspool.yaml"
cat "$DEMO/cloudspool.yaml"

rc_all=0
for stage in fetch transform load; do
    say "cloudspool-$stage --config $DEMO/cloudspool.yaml    (progress: $DEMO/logs/$stage.log)"
    set +e
    "$BIN/cloudspool-$stage" --config "$DEMO/cloudspool.yaml" 2> "$DEMO/logs/$stage.log"
    rc=$?
    set -e
    grep -E 'warning|error|critical' "$DEMO/logs/$stage.log" | head -n 8 || true
    echo "-> exit $rc"
    if [ "$rc" != 0 ] && [ "$rc_all" = 0 ]; then rc_all=$rc; fi
done
say "cloudspool-load --status"
set +e
"$BIN/cloudspool-load" --config "$DEMO/cloudspool.yaml" --status
rc=$?
set -e
if [ "$rc" != 0 ] && [ "$rc_all" = 0 ]; then rc_all=$rc; fi

# ---------------------------------------------------------------- 6. results
say "what was indexed"
set +e
python3 - "$OSMEM_URL" "$DEMO" "${ICINGA_DIR:+monitoring}" <<'PY'
import json, sys, urllib.request
from collections import defaultdict
from decimal import Decimal
url, demo = sys.argv[1].rstrip("/"), sys.argv[2]
trail = json.load(open(f"{demo}/expected.json"))
cur = json.load(open(f"{demo}/expected-cur.json"))
estate = json.load(open(f"{demo}/estate.json"))
problems = []

def call(path, body=None, method=None):
    req = urllib.request.Request(url + path, data=None if body is None else json.dumps(body).encode(),
                                 method=method or ("GET" if body is None else "POST"),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        text = r.read().decode()
    return text if path.startswith("/_cat") else json.loads(text)

def search(index, query=None, size=10, **kw):
    try:
        return call(f"/{index}/_search", {"size": size, "query": query or {"match_all": {}}, **kw})
    except Exception as e:
        problems.append(f"search {index}: {e}")
        return {"hits": {"hits": []}, "aggregations": {}}

def mark(what, want, got):
    if want == got:
        return ""
    problems.append(f"{what}: expected {want}, indexed {got}")
    return "   <-- differs"

def get(d, path, default=None):
    for part in path.split("."):
        if isinstance(d, list) and part.isdigit() and int(part) < len(d):
            d = d[int(part)]
        elif isinstance(d, dict) and part in d:
            d = d[part]
        else:
            return default
    return d

call("/_refresh", method="POST")
print(call("/_cat/indices?v&s=index").rstrip())
print()
print(call("/_cat/aliases?v&s=alias").rstrip())

print("\n-- CloudTrail: events per daily index")
want = trail["expected_counts"]
print(f"{'index':<28}{'expected':>10}{'indexed':>10}")
for ix in sorted(want):
    try:
        n = call(f"/{ix}/_count")["count"]
    except Exception:
        n = 0
    print(f"{ix:<28}{want[ix]:>10}{n:>10}{mark(ix, want[ix], n)}")

print("\n-- Costs: lineItem.UnblendedCost per billing period (awsbilling-*, the latest revision)")
r = search("awsbilling-*", size=0, aggs={"period": {"terms": {"field": "cloudspool.billing_period", "size": 24},
                                                    "aggs": {"cost": {"sum": {"field": "lineItem.UnblendedCost"}}}}})
got = {b["key"]: (b["doc_count"], b["cost"]["value"]) for b in get(r, "aggregations.period.buckets", [])}
print(f"{'period':<12}{'rows':>6}{'indexed sum':>14}{'CSV sum':>14}  revision")
for label, f in sorted(cur["periods"].items()):
    rows, total = got.pop(label, (0, 0.0))
    ok = rows == f["rows"] and abs(Decimal(repr(total)) - Decimal(f["unblended"])) < Decimal("0.01")
    print(f"{label:<12}{rows:>6}{total:>14.2f}{Decimal(f['unblended']):>14.2f}  {f['revision']} of "
          f"{len(f['revisions'])}{'' if ok else '   <-- differs'}")
    if not ok:
        problems.append(f"billing {label}: {rows} rows, {total} (CSV {f['rows']} rows, {f['unblended']})")
for label, (rows, total) in got.items():
    print(f"{label:<12}{rows:>6}{total:>14.2f}{'-':>14}   <-- not in the report")
    problems.append(f"billing period {label} not in the report")

print("\n-- Inventory: the latest summary per account and region (awscli-YYYY.MM.DD)")
r = search("awscli-2*", {"term": {"resource.type": "summary"}}, size=200, sort=[{"@timestamp": "desc"}])
latest = {}
for h in r["hits"]["hits"]:
    d = h["_source"]
    latest.setdefault((get(d, "cloud.account.id"), get(d, "cloud.region")), d)
names = estate["names"]
ledger = {(u["account"], u["region"]): u for u in estate["units"]}
print(f"{'account':<14}{'name':<16}{'region':<11}{'instances':>9}{'running':>8}{'vCPU':>6}{'mem MiB':>9}"
      f"{'RDS':>5}{'SG free':>8}")
for (acct, region), d in sorted(latest.items()):
    s = get(d, "inventory.summary", {})
    u = ledger.get((acct, region), {"instances": []})
    n, running = len(u["instances"]), sum(i["state"] == "running" for i in u["instances"])
    flag = mark(f"{acct} {region} (instances, running)", (n, running),
                (s.get("instances"), get(s, "instances_by_state.running", 0)))
    print(f"{acct:<14}{names.get(acct, '?')[:15]:<16}{region:<11}{s.get('instances', '?'):>9}"
          f"{get(s, 'instances_by_state.running', 0):>8}{s.get('running_vcpus', '?'):>6}{s.get('running_memory_mib', '?'):>9}"
          f"{s.get('rds_instances', '?'):>5}{s.get('security_groups_unattached', '?'):>8}{flag}")
for key in sorted(set(ledger) - set(latest)):
    problems.append(f"no inventory summary for {key}")
    print(f"{key[0]:<14}{names.get(key[0], '?')[:15]:<16}{key[1]:<11}  no summary   <-- missing")

if len(sys.argv) > 3 and sys.argv[3] == "monitoring":
    print("\n-- Monitoring coverage (icinga2 over livestatus): EC2 instances now (awscli-current)")
    expected = json.load(open(f"{demo}/icinga-expected.json"))
    r = search("awscli-current", {"term": {"resource.type": "ec2.instance"}}, size=500,
               sort=[{"cloud.account.id": "asc"}, {"cloud.region": "asc"}, {"resource.id": "asc"}])
    docs = [h["_source"] for h in r["hits"]["hits"]]
    counts = {}
    for d in docs:
        counts[get(d, "monitoring.monitored", "(absent)")] = counts.get(get(d, "monitoring.monitored", "(absent)"), 0) + 1
    print(f"[AWS] OP5 Monitored Count: {counts.get('true', 0)}    [AWS] OP5 NOT Monitored Count: {counts.get('false', 0)}"
          f"    unknown: {counts.get('unknown', 0)}")
    mark("monitored instances", len(expected), counts.get("true", 0))
    print("[AWS] OP5 Monitored Details:")
    print(f"  {'account':<14}{'region':<11}{'instance':<21}{'Name':<8}{'monitored':<10}{'host':<42}{'state':<6}{'matched by'}")
    for d in docs:
        tags = dict(t.split("=", 1) for t in get(d, "inventory.tags", []) if "=" in t)
        m = d.get("monitoring", {})
        iid = get(d, "resource.id")
        flag = mark(f"monitoring of {iid}", expected.get(iid, "-"), m.get("matched_by", "-"))
        print(f"  {get(d, 'cloud.account.id'):<14}{get(d, 'cloud.region'):<11}{iid:<21}{tags.get('Name', ''):<8}"
              f"{m.get('monitored', '?'):<10}{m.get('host_name', '-')[:41]:<42}{m.get('state', '-'):<6}{m.get('matched_by', '-')}{flag}")
    r = search("awscli-2*", {"terms": {"resource.type": ["monitoring.unmatched_host", "monitoring.ambiguous_host"]}}, size=50)
    print("monitored hosts with no instance, or with several:")
    for h in sorted(r["hits"]["hits"], key=lambda h: h["_id"]):
        m = h["_source"]["monitoring"]
        extra = f" -> {m['candidate_count']} instances ({m['matched_by']})" if "candidates" in m else ""
        print(f"  {h['_source']['resource']['type']:<28}{m['host_name']:<12}{m.get('address', ''):<16}{m.get('state', '')}{extra}")

print("\n-- IAM users (awsusers-000001)")
r = search("awsusers-000001", size=100, sort=[{"cloud.account.id": "asc"}, {"user.name": "asc"}])
print(f"{'account':<14}{'user':<16}{'login methods':<36}{'inactive':>9}")
for h in r["hits"]["hits"]:
    d = h["_source"]
    print(f"{get(d, 'cloud.account.id', '?'):<14}{get(d, 'user.name', '?'):<16}"
          f"{', '.join(d.get('login_methods') or []) or '-':<36}{str(get(d, 'activity.inactive')):>9}")
want_users = sum(len(v) for v in estate["users"].values())
if sum(get(h["_source"], "user.is_root") is not True for h in r["hits"]["hits"]) != want_users:
    problems.append(f"IAM: expected {want_users} users")

print("\n-- S3 object search: buckets by object count (awscli-s3-*)")
r = search("awscli-s3-*", {"term": {"resource.type": "s3.bucket"}}, size=10, sort=[{"s3.object_count": "desc"}])
print(f"{'bucket':<28}{'account':<14}{'objects':>8}{'bytes':>10}")
for h in r["hits"]["hits"]:
    s3 = h["_source"]["s3"]
    want = estate["buckets"].get(s3["bucket"], {}).get("objects")
    print(f"{s3['bucket']:<28}{get(h['_source'], 'cloud.account.id', '?'):<14}{s3.get('object_count', '?'):>8}"
          f"{s3.get('total_size', '?'):>10}{mark(s3['bucket'], want, s3.get('object_count'))}")
n = len(r["hits"]["hits"])
mark("S3 bucket documents", len(estate["buckets"]), n)

print("\n-- one document of each kind (a few of its fields)")
def leaves(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict) and v:
            yield from leaves(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v
kinds = [("CloudTrail event", "awscli-trail-*", {"term": {"eventName": "RunInstances"}},
          "@timestamp eventName userIdentity.arn cloud.account.id cloud.region cloudspool.log_file "
          "cloudspool.payload_text"),
         ("billing line item", "awsbilling-*", {"term": {"lineItem.LineItemType": "Usage"}},
          "@timestamp cloudspool.billing_period lineItem.UsageAccountId lineItem.ProductCode lineItem.UsageType "
          "lineItem.UsageAmount lineItem.UnblendedRate lineItem.UnblendedCost"),
         ("EC2 instance", "awscli-2*", {"bool": {"filter": [{"term": {"resource.type": "ec2.instance"}},
                                                            {"range": {"inventory.event_count": {"gte": 2}}}]}},
          "cloud.account.name cloud.region aws.ec2.instance.InstanceType inventory.state inventory.vcpus "
          "inventory.memory_mib inventory.tags inventory.alarms inventory.last_backup_time inventory.last_backup_source "
          "inventory.event_count inventory.events.0.event_name inventory.events.0.username"),
         ("inventory summary", "awscli-2*", {"bool": {"filter": [{"term": {"resource.type": "summary"}},
                                                                 {"range": {"inventory.summary.instances": {"gte": 1}}}]}},
          "cloud.account.name cloud.region inventory.summary.instances_by_state inventory.summary.rds_running_vcpus "
          "inventory.summary.rds_running_memory_gib "
          "inventory.summary.backup_jobs inventory.summary.gateways"),
         ("IAM user", "awsusers-000001", {"term": {"login_methods": "access_key_1"}},
          "user.arn user.groups login_methods activity credential_report.access_key_1_last_rotated"),
         ("S3 object", "awscli-s3-*", {"term": {"resource.type": "s3.object"}},
          "cloud.account.id s3.bucket s3.key s3.size s3.storage_class")]
for label, index, query, paths in kinds:
    hits = search(index, query, size=1)["hits"]["hits"] or search(index, size=1)["hits"]["hits"]
    if not hits:
        print(f"\n{label}: none")
        problems.append(f"no {label} document")
        continue
    h = hits[0]
    print(f"\n{label}: {h['_index']} / {h['_id']}  ({len(list(leaves(h['_source'])))} fields)")
    for path in paths.split():
        v = get(h["_source"], path, "(absent)")
        text = json.dumps(v, ensure_ascii=False, separators=(", ", ": "))
        print(f"  {path} = {text if len(text) <= 100 else text[:97] + '...'}")

if problems:
    print("\nproblems:\n  " + "\n  ".join(problems))
sys.exit(1 if problems else 0)
PY
check=$?
set -e

# ---------------------------------------------------------------- 7. dashboards
say "dashboards: what each section's metric panels show (their own queries; dashboards/cloudspool-dashboards.ndjson)"
read -r FIG_FROM FIG_TO < <(python3 -c 'import datetime as d; t=d.date.today(); a=(t.replace(day=1)-d.timedelta(days=1)).replace(day=1); b=(t.replace(day=28)+d.timedelta(days=4)).replace(day=1); print(a, b)')
set +e
python3 scripts/dashboard_figures.py --url "$OSMEM_URL" --from "$FIG_FROM" --to "$FIG_TO"
figures=$?
set -e
if [ "$check" = 0 ]; then check=$figures; fi
echo
echo "spool: $DEMO/spool   config: $DEMO/cloudspool.yaml   logs: $DEMO/logs"
[ "$rc_all" = 0 ] && exit "$check" || exit "$rc_all"
