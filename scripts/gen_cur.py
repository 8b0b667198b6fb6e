#!/usr/bin/env python3
"""Generate realistic AWS Cost & Usage Reports (legacy CUR and CUR 2.0), deterministic with a seed.

What AWS writes, and where this was found
=========================================

Legacy CUR ("Cost and Usage Reports", report versioning = create new report version)
-------------------------------------------------------------------------------------
Source: AWS CUR user guide, "Accessing your Cost and Usage Reports in Amazon S3"
(awsdocs/aws-cur-user-guide doc_source/access-cur-s3.md; the same text is in
docs.aws.amazon.com/cur/latest/userguide/understanding-report-versions.html):

  <prefix>/<report-name>/<yyyymmdd-yyyymmdd>/<assemblyId>/<report-name>-<file-number>.csv.<zip|gz>
  <prefix>/<report-name>/<yyyymmdd-yyyymmdd>/<assemblyId>/<report-name>-Manifest.json
  <prefix>/<report-name>/<yyyymmdd-yyyymmdd>/<report-name>-Manifest.json

  * "assemblyId = An ID that AWS creates each time that the report is updated."
  * "If the report is too large for a single file, the report is split into multiple
    files and delivered to the same assemblyId folder" (file-number 1, 2, 3, ...).
  * "the manifest file is delivered to both the date range folder and the assemblyId
    folder. Each time AWS creates a new AWS CUR for a date range, it overwrites the
    manifest file stored in the date range folder with an updated manifest file. AWS
    delivers the same updated manifest file to the assemblyId folder along with the
    files for that update. Manifest files in the assemblyId folder aren't overwritten."
  * Delivery timeline: "During the report period, AWS delivers a new report and a new
    manifest file each time AWS updates the report. AWS builds on previous reports until
    the end of the billing period." (each assembly is cumulative: it replaces the previous one)
  * With "overwrite" versioning the files sit directly in the date range folder
    (<report-name>-<N>.csv.gz, no assemblyId folder); with Athena/Parquet the files are
    <report-name>-<N>.snappy.parquet under .../<report-name>/year=YYYY/month=M/.
  * The date range: the user guide's example is 20160101-20160131, but every real manifest
    and key seen in public code ends on the first day of the NEXT month, e.g.
    "report/path/20161101-20161201/aa1ddccb-.../hourly2-1.csv.gz" and
    "billing-path/20170701-20170801/ea74f90b-.../sample-report-1.csv.gz" (Go CUR readers,
    found with the code search). This generator writes yyyymm01-<next month>01.
    Safest for fetch: list `<prefix>/<report>/` with delimiter "/" and take the folder whose
    start is the period's first day, rather than computing the end.

Legacy manifest JSON (no field reference page exists in the user guide; fields from real
manifests quoted in public code -- e.g. a Go CUR reader's comment and test fixture, the
Exasol CUR importer's column list, the BigQuery/ClickHouse CUR loaders' type maps):

  {"assemblyId": "aa1ddccb-abcd-1234-b849-57a32b6864a9",
   "account": "012345678910",
   "columns": [{"category": "identity", "name": "LineItemId", "type": "String"}, ...],
   "charset": "UTF-8", "compression": "GZIP", "contentType": "text/csv",
   "reportId": "a5e3b9e6e25825d3591a5bcb9d662104cb4a76a636eb027459266ab31a06d1c3",
   "reportName": "hourly2",
   "billingPeriod": {"start": "20161101T000000.000Z", "end": "20161201T000000.000Z"},
   "bucket": "billing-bucket",
   "reportKeys": ["report/path/20161101-20161201/aa1ddccb-.../hourly2-1.csv.gz", ...],
   "additionalArtifactKeys": [{"artifactType": "RedshiftCommands", "name": "...-RedshiftCommands.sql"},
                              {"artifactType": "RedshiftManifest", "name": "...-RedshiftManifest.json"}]}

  * reportKeys are FULL S3 keys (they include the prefix and the assemblyId folder).
  * column "type" values: String, OptionalString, BigDecimal, OptionalBigDecimal, DateTime,
    Interval ("Early versions of the manifest did not include the type of the column" --
    default to String). The CSV header is "<category>/<name>", e.g. lineItem/UnblendedCost,
    resourceTags/user:Name; a tag name can itself contain "/" (category = text before the
    FIRST "/").
  * Real type assignments (from a real manifest): identity/TimeInterval Interval;
    bill/BillingPeriodStartDate, lineItem/UsageStartDate, lineItem/UsageEndDate DateTime;
    lineItem/UsageAmount, lineItem/UnblendedCost, lineItem/BlendedCost,
    pricing/publicOnDemandCost BigDecimal; lineItem/NormalizationFactor and most
    reservation/* costs OptionalBigDecimal; reservation/StartTime OptionalString; and --
    note -- lineItem/UnblendedRate, lineItem/BlendedRate, pricing/publicOnDemandRate are
    "String", so "typed by the manifest" keeps rates as strings.
  * CSV values: dates "2026-11-01T00:00:00Z"; identity/TimeInterval
    "2026-11-01T00:00:00Z/2026-11-02T00:00:00Z" (user guide, identity-columns.md);
    identity/LineItemId "isn't consistent between different Cost and Usage Reports" and is
    not a unique row key (one line item can have many rows, e.g. per time interval), so
    this generator repeats a few LineItemIds inside a revision (different TimeInterval).
  * lineItem/BlendedCost is blank for LineItemType Discount (user guide, Lineitem-columns).

CUR 2.0 (AWS Data Exports)
--------------------------
Source: AWS Data Exports user guide, "Understanding export delivery"
(docs.aws.amazon.com/cur/latest/userguide/dataexports-export-delivery.html):

  data:     s3://<bucket>/<prefix>/<export-name>/data/<partition>/
  metadata: s3://<bucket>/<prefix>/<export-name>/metadata/<partition>/<export-name>-Manifest.json
  "For CUR 2.0, the partition corresponds to the billing period in the format
   BILLING_PERIOD=YYYY-MM" (example .../business_group_a_cur/data/BILLING_PERIOD=2023-11).
  "The Manifest.json file is updated each time the export is refreshed. A new Manifest.json
   file is created for each new partition ... The Manifest.json file is only delivered once
   all export data files have been delivered to S3."
  Refresh: "at least once a day"; a closed period can be updated "within the first two weeks
  after the end of the previous billing period".

Source: "Data Exports manifest file reference"
(docs.aws.amazon.com/cur/latest/userguide/dataexports-manifest.html), top-level fields:
  executionId  String  "The ID of the export execution that delivered the files. This is the
                        same value that appears in the delivery path when your export uses the
                        create new report option."
  exportArn    String
  columns      List of objects (name, type)
  dataFiles    List of strings "The full S3 URIs of the export data files, in the format
               s3://<bucket-name>/<path>/<export-name>-<part-number>.<extension>. We recommend
               identifying which files to ingest by programmatically reading this list."
  additionalOutputFiles  List of objects (Athena / Redshift integration files)
  (the rest of that page -- billingPeriod, bucket, ... -- could not be read through the search
  tool; this generator writes billingPeriod {start,end} as ISO times and bucket, and does NOT
  write contentType/compression, so nothing may depend on them for CUR 2.0.)

NOT confirmed from a page (from memory of real deliveries; treat as assumptions):
  * file names <export-name>-00001.csv.gz, -00002.csv.gz ... (Parquet: -00001.snappy.parquet);
  * with overwrite = CREATE_NEW_REPORT the execution id is a folder level:
    data/BILLING_PERIOD=YYYY-MM/<executionId>/<export-name>-00001.csv.gz and
    metadata/BILLING_PERIOD=YYYY-MM/<executionId>/<export-name>-Manifest.json (the manifest
    page confirms only that the execution id "appears in the delivery path"). To be safe,
    fetch should list metadata/BILLING_PERIOD=YYYY-MM/ and take the newest *-Manifest.json.

CUR 2.0 columns (Data Exports table dictionary, table-dictionary-cur2-*.html): snake_case
names (bill_bill_type, bill_billing_period_start_date, identity_line_item_id,
line_item_unblended_cost, ...); data types "string", "timestamp" (bill columns page: "The
format is YYYY-MM-DDTHH:mm:ssZ"), "map <string, string>" (resource_tags page: "A map column
containing key-value pairs of resource tags"), and numeric types for costs/amounts (written
here as "double"; accept double/decimal/decimal(p,s)/bigint/int/float as numbers). In CSV a
map column is a JSON object text ("{""user_name"":""web""}"); timestamps look like
"2025-08-01T00:00:00.000Z" (Elastic's aws_billing CUR 2.0 integration test fixture).

Usage
=====
Importable:

    import gen_cur as g
    rep = g.generate(g.Spec(mode="legacy", bucket="b", prefix="cur", name="cloudspool-cur", seed=7, rows=300))
    rep.closed[0], rep.current                  # Periods; rep.current.revisions[0] / [-1]
    rep.publish(s3, "b")                        # every revision in delivery order (the newest ends current)
    rep.publish_revision(s3, "b", rev)          # one revision (data files, then its manifest(s))
    rev.facts()                                 # {"revision", "rows", "unblended", "blended", ...}
    rep.expected()                              # {"2026.11": facts of the newest revision, ...}
    bad = g.broken_revision(rep, "truncated_gzip")   # a new (bad) revision of the current period
    csv_facts([body, ...])                      # the same facts, parsed back from gzip CSV bodies

Runnable:

    gen_cur.py local --out DIR [options]
    gen_cur.py s3 --bucket B --endpoint-url http://127.0.0.1:PORT [--create-bucket] [options]
    options: --mode legacy|cur2 --seed N --rows N --prefix P --name R --only all|closed|current
             --closed-months N --files N --max-file-rows N --first-revision-only
             --broken missing_key|truncated_gzip|bad_row|parquet --cur2-create-new
             --gzip-level N --summary FILE
    --rows 1600000 --only closed --max-file-rows 0 writes one ~1 GB CSV (~650 bytes a row; gzip) streaming.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import os
import random
import sys
import tempfile
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import IO, Iterable, Iterator, Optional
from urllib.parse import urlparse

UTC = timezone.utc
MODES = ("legacy", "cur2")
BROKEN_KINDS = ("missing_key", "truncated_gzip", "bad_row", "parquet")

# ====================================================================== columns

# (category/name, legacy manifest type, CUR 2.0 name, CUR 2.0 type); CUR 2.0 name None = not in CUR 2.0
COLUMNS = [
    ("identity/LineItemId", "String", "identity_line_item_id", "string"),
    ("identity/TimeInterval", "Interval", "identity_time_interval", "string"),
    ("bill/InvoiceId", "String", "bill_invoice_id", "string"),
    ("bill/InvoicingEntity", "String", "bill_invoicing_entity", "string"),
    ("bill/BillingEntity", "String", "bill_billing_entity", "string"),
    ("bill/BillType", "String", "bill_bill_type", "string"),
    ("bill/PayerAccountId", "String", "bill_payer_account_id", "string"),
    ("bill/BillingPeriodStartDate", "DateTime", "bill_billing_period_start_date", "timestamp"),
    ("bill/BillingPeriodEndDate", "DateTime", "bill_billing_period_end_date", "timestamp"),
    ("lineItem/UsageAccountId", "String", "line_item_usage_account_id", "string"),
    ("lineItem/LineItemType", "String", "line_item_line_item_type", "string"),
    ("lineItem/UsageStartDate", "DateTime", "line_item_usage_start_date", "timestamp"),
    ("lineItem/UsageEndDate", "DateTime", "line_item_usage_end_date", "timestamp"),
    ("lineItem/ProductCode", "String", "line_item_product_code", "string"),
    ("lineItem/UsageType", "String", "line_item_usage_type", "string"),
    ("lineItem/Operation", "String", "line_item_operation", "string"),
    ("lineItem/AvailabilityZone", "String", "line_item_availability_zone", "string"),
    ("lineItem/ResourceId", "String", "line_item_resource_id", "string"),
    ("lineItem/UsageAmount", "BigDecimal", "line_item_usage_amount", "double"),
    ("lineItem/NormalizationFactor", "OptionalBigDecimal", "line_item_normalization_factor", "double"),
    ("lineItem/NormalizedUsageAmount", "OptionalBigDecimal", "line_item_normalized_usage_amount", "double"),
    ("lineItem/CurrencyCode", "String", "line_item_currency_code", "string"),
    ("lineItem/UnblendedRate", "String", "line_item_unblended_rate", "string"),
    ("lineItem/UnblendedCost", "BigDecimal", "line_item_unblended_cost", "double"),
    ("lineItem/BlendedRate", "String", "line_item_blended_rate", "string"),
    ("lineItem/BlendedCost", "BigDecimal", "line_item_blended_cost", "double"),
    ("lineItem/LineItemDescription", "String", "line_item_line_item_description", "string"),
    ("lineItem/TaxType", "String", "line_item_tax_type", "string"),
    ("lineItem/LegalEntity", "String", "line_item_legal_entity", "string"),
    ("product/ProductName", "String", None, None),
    ("product/productFamily", "String", "product_product_family", "string"),
    ("product/region", "String", "product_region_code", "string"),
    ("product/instanceType", "String", "product_instance_type", "string"),
    ("product/servicecode", "String", "product_servicecode", "string"),
    ("pricing/publicOnDemandCost", "BigDecimal", "pricing_public_on_demand_cost", "double"),
    ("pricing/publicOnDemandRate", "String", "pricing_public_on_demand_rate", "string"),
    ("pricing/term", "String", "pricing_term", "string"),
    ("pricing/unit", "String", "pricing_unit", "string"),
    ("reservation/EffectiveCost", "OptionalBigDecimal", "reservation_effective_cost", "double"),
    ("reservation/StartTime", "OptionalString", "reservation_start_time", "string"),
    ("resourceTags/aws:createdBy", "String", None, None),
    ("resourceTags/user:Name", "String", None, None),
    ("resourceTags/user:Owner", "String", None, None),
    ("resourceTags/user:CostCenter", "String", None, None),
    ("resourceTags/user:app.kubernetes.io/name", "String", None, None),
]
# CUR 2.0 only: map columns (JSON object text in CSV)
CUR2_MAP_COLUMNS = [("product", "map<string,string>"), ("resource_tags", "map<string,string>"),
                    ("cost_category", "map<string,string>"), ("discount", "map<string,double>")]
CUR2_EXTRA = [("bill_payer_account_name", "string"), ("line_item_usage_account_name", "string"),
              ("line_item_net_unblended_cost", "double")]

LEGACY_NUMERIC = {"bigdecimal", "optionalbigdecimal"}
LEGACY_DATE = {"datetime"}
CUR2_NUMERIC = {"double", "decimal", "bigint", "int", "integer", "float", "long"}
CUR2_DATE = {"timestamp"}

# the money columns whose sums the tests compare, per mode
UNBLENDED = {"legacy": "lineItem/UnblendedCost", "cur2": "line_item_unblended_cost"}
BLENDED = {"legacy": "lineItem/BlendedCost", "cur2": "line_item_blended_cost"}
USAGE_START = {"legacy": "lineItem/UsageStartDate", "cur2": "line_item_usage_start_date"}
LINE_ITEM_TYPE = {"legacy": "lineItem/LineItemType", "cur2": "line_item_line_item_type"}
DESCRIPTION = {"legacy": "lineItem/LineItemDescription", "cur2": "line_item_line_item_description"}


def column_kind(mode: str, type_: str) -> str:
    """'number', 'date', 'map' or 'string' for a manifest column type."""
    t = (type_ or "string").lower().replace(" ", "")
    if mode == "legacy":
        return "number" if t in LEGACY_NUMERIC else "date" if t in LEGACY_DATE else "string"
    if t in CUR2_NUMERIC or t.startswith("decimal"):
        return "number"
    if t in CUR2_DATE:
        return "date"
    if t.startswith("map"):
        return "map"
    return "string"


# ====================================================================== the estate

PAYER = "111111111111"
ACCOUNTS = [("111111111111", "payer-main"), ("222222222222", "prod-web"), ("333333333333", "data-lake"),
            ("444444444444", "sandbox-é")]
REGIONS = [("eu-west-1", "EU", "EU (Ireland)"), ("us-east-1", "", "US East (N. Virginia)"),
           ("eu-central-1", "EUC1", "EU (Frankfurt)"), ("ap-northeast-1", "APN1", "Asia Pacific (Tokyo)")]
# code, product name, family, usage type, operation, unit, base rate, instance types
PRODUCTS = [
    ("AmazonEC2", "Amazon Elastic Compute Cloud", "Compute Instance", "BoxUsage:{it}", "RunInstances", "Hrs",
     Decimal("0.0116"), ["t3.micro", "m5.large", "c6g.xlarge", "r6i.2xlarge"]),
    ("AmazonS3", "Amazon Simple Storage Service", "Storage", "TimedStorage-ByteHrs", "StandardStorage", "GB-Mo",
     Decimal("0.023"), [""]),
    ("AmazonRDS", "Amazon Relational Database Service", "Database Instance", "InstanceUsage:{it}",
     "CreateDBInstance:0002", "Hrs", Decimal("0.136"), ["db.t3.medium", "db.r6g.large"]),
    ("AWSLambda", "AWS Lambda", "Serverless", "Lambda-GB-Second", "Invoke", "Lambda-GB-Second",
     Decimal("0.0000166667"), [""]),
    ("AmazonCloudWatch", "AmazonCloudWatch", "Metric", "CW:MetricMonitorUsage", "MetricStorage", "Metrics",
     Decimal("0.30"), [""]),
    ("AmazonDynamoDB", "Amazon DynamoDB", "Amazon DynamoDB PayPerRequest Throughput", "ReadRequestUnits",
     "PayPerRequestThroughput", "ReadRequestUnits", Decimal("0.000000283"), [""]),
]
# descriptions that exercise the CSV parser: commas, double quotes, newlines (LF and CRLF)
# inside quoted fields, non-ASCII (2-, 3- and 4-byte UTF-8), leading/trailing spaces
SPECIAL_TEXTS = [
    'AWS Credits, promotional: "Activate" program',
    "Crédit de bienvenue, Müller GmbH – 日本リージョン",
    'Line 1 of a note\nLine 2, with a comma and "quotes"',
    "Windows line\r\nend inside a quoted field",
    "  padded value with spaces  ",
    'Just a quote: "',
    "Euro sign € and emoji 💶, ü, ß",
    'Tax for product code AmazonEC2, usage type "EU-BoxUsage:t3.micro"',
]
TAG_NAMES = ["web-01", "Zürich-db", "ノード-1", 'api, "blue"', "batch\nworker", ""]
TAG_OWNERS = ["alice", "bob@example.com", "équipe-données", ""]
COST_CENTERS = ["CC-1001", "CC-2002", "", ""]
K8S_APPS = ["checkout", "", "", "search"]
# weights of line item types for usage-ish rows; credits/taxes/fees/refunds/discounts are added per revision
LEGAL_ENTITY = "Amazon Web Services EMEA SARL"


def _b32(rng: random.Random, n: int = 52) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(n))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def fmt_dec(d: Decimal, scale: int) -> str:
    """Plain decimal text with `scale` decimals (never exponent notation, never "-0")."""
    q = d.quantize(Decimal(1).scaleb(-scale)) if scale > 0 else d.quantize(Decimal(1))
    s = format(q, "f")
    if s.startswith("-") and Decimal(s) == 0:
        s = s[1:]
    return s


def month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, n: int) -> date:
    m = d.month - 1 + n
    return date(d.year + m // 12, m % 12 + 1, 1)


def iso_z(dt: datetime, millis: bool = False) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + (".000Z" if millis else "Z")


# ====================================================================== model

@dataclass
class Spec:
    mode: str = "legacy"
    bucket: str = "billing-bucket"
    prefix: str = "cur"
    name: str = "cloudspool-cur"
    seed: int = 7
    rows: int = 300                   # line items of each closed month and of the current month's newest revision
    today: Optional[date] = None      # default: today (UTC)
    closed_months: int = 1            # closed billing periods before the current one
    files: int = 3                    # files of the current month's newest revision
    max_file_rows: int = 1_000_000    # larger revisions are split like AWS does (0: never split)
    revisions: int = 2                # revisions of the current month
    gzip_level: int = 6
    cur2_create_new: bool = False     # CUR 2.0 overwrite=CREATE_NEW_REPORT layout (execution-id folders)
    duplicate_line_item_ids: bool = True

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.prefix = self.prefix.strip("/")
        if self.today is None:
            self.today = datetime.now(UTC).date()


@dataclass
class Revision:
    """One delivery (assembly / execution) of one billing period."""
    report: "Report"
    period: "Period"
    number: int                       # 0, 1, ... within the period
    revision_id: str
    rows: int
    files: int
    days: int                         # usage days covered (1..days of the month)
    seed_key: str
    broken: Optional[str] = None      # None or one of BROKEN_KINDS
    _facts: Optional[dict] = field(default=None, repr=False)
    _bodies: dict = field(default_factory=dict, repr=False)
    _file_facts: dict = field(default_factory=dict, repr=False)

    # ---- keys
    @property
    def spec(self) -> Spec:
        return self.report.spec

    @property
    def mode(self) -> str:
        return self.spec.mode

    @property
    def base(self) -> str:
        return (self.spec.prefix + "/" if self.spec.prefix else "") + self.spec.name

    def data_key(self, i: int) -> str:
        """Key of report file i (0-based)."""
        n = self.spec.name
        if self.broken == "parquet":
            if self.mode == "legacy":
                p = self.period.start
                return f"{self.base}/{n}/year={p.year}/month={p.month}/{n}-{i + 1:05d}.snappy.parquet"
            return f"{self.base}/data/{self.period.partition}/{n}-{i + 1:05d}.snappy.parquet"
        if self.mode == "legacy":
            return f"{self.base}/{self.period.range_folder}/{self.revision_id}/{n}-{i + 1}.csv.gz"
        folder = f"{self.base}/data/{self.period.partition}"
        if self.spec.cur2_create_new:
            folder += f"/{self.revision_id}"
        return f"{folder}/{n}-{i + 1:05d}.csv.gz"

    def report_keys(self) -> list:
        """The keys the manifest lists (for missing_key: one more than is uploaded)."""
        keys = [self.data_key(i) for i in range(self.files)]
        if self.broken == "missing_key":
            keys.append(self.data_key(self.files))
        return keys

    def uploaded_data_keys(self) -> list:
        return [self.data_key(i) for i in range(self.files)]

    def manifest_keys(self) -> list:
        """Manifest keys in delivery order (the one fetch reads last)."""
        n = self.spec.name
        if self.mode == "legacy":
            folder = f"{self.base}/{self.period.range_folder}"
            return [f"{folder}/{self.revision_id}/{n}-Manifest.json", f"{folder}/{n}-Manifest.json"]
        folder = f"{self.base}/metadata/{self.period.partition}"
        if self.spec.cur2_create_new:
            return [f"{folder}/{self.revision_id}/{n}-Manifest.json"]
        return [f"{folder}/{n}-Manifest.json"]

    def artifact_keys(self) -> list:
        if self.mode != "legacy" or self.broken == "parquet":
            return []
        folder = f"{self.base}/{self.period.range_folder}/{self.revision_id}"
        return [f"{folder}/{self.spec.name}-RedshiftCommands.sql", f"{folder}/{self.spec.name}-RedshiftManifest.json"]

    # ---- columns
    def header(self) -> list:
        if self.mode == "legacy":
            return [c[0] for c in COLUMNS]
        names = [c[2] for c in COLUMNS if c[2]]
        return names + [m[0] for m in CUR2_MAP_COLUMNS] + [e[0] for e in CUR2_EXTRA]

    def manifest_columns(self) -> list:
        if self.mode == "legacy":
            out = []
            for full, t, _, _ in COLUMNS:
                cat, _, name = full.partition("/")
                out.append({"category": cat, "name": name, "type": t})
            return out
        cols = [{"name": c[2], "type": c[3]} for c in COLUMNS if c[2]]
        return cols + [{"name": n, "type": t} for n, t in CUR2_MAP_COLUMNS] + [{"name": n, "type": t} for n, t in CUR2_EXTRA]

    def column_types(self) -> dict:
        """CSV header name -> manifest type."""
        if self.mode == "legacy":
            return {c[0]: c[1] for c in COLUMNS}
        return {c["name"]: c["type"] for c in self.manifest_columns()}

    # ---- manifests
    def manifest(self) -> dict:
        p = self.period
        if self.mode == "legacy":
            m = {
                "assemblyId": self.revision_id,
                "account": PAYER,
                "columns": self.manifest_columns(),
                "charset": "UTF-8",
                "compression": "GZIP",
                "contentType": "text/csv",
                "reportId": hashlib.sha256(self.spec.name.encode()).hexdigest(),
                "reportName": self.spec.name,
                "billingPeriod": {"start": p.start.strftime("%Y%m%dT000000.000Z"),
                                  "end": p.end.strftime("%Y%m%dT000000.000Z")},
                "bucket": self.spec.bucket,
                "reportKeys": self.report_keys(),
                "additionalArtifactKeys": [
                    {"artifactType": "RedshiftCommands", "name": self.artifact_keys()[0]},
                    {"artifactType": "RedshiftManifest", "name": self.artifact_keys()[1]},
                ] if self.artifact_keys() else [],
            }
            if self.broken == "parquet":
                m["compression"] = "Parquet"
                m["contentType"] = "Parquet"
            return m
        return {
            "executionId": self.revision_id,
            "exportArn": f"arn:aws:bcm-data-exports:us-east-1:{PAYER}:export/{self.spec.name}-"
                         f"{hashlib.md5(self.spec.name.encode()).hexdigest()[:8]}",
            "exportName": self.spec.name,
            "columns": self.manifest_columns(),
            "dataFiles": [f"s3://{self.spec.bucket}/{k}" for k in self.report_keys()],
            "additionalOutputFiles": [],
            "billingPeriod": {"start": iso_z(datetime.combine(p.start, datetime.min.time()), millis=True),
                              "end": iso_z(datetime.combine(p.end, datetime.min.time()), millis=True)},
            "bucket": self.spec.bucket,
        }

    def manifest_bytes(self) -> bytes:
        return json.dumps(self.manifest(), indent=2, ensure_ascii=False).encode()

    # ---- rows
    def file_rows(self, i: int) -> int:
        per = self.rows // self.files
        return per + (1 if i < self.rows % self.files else 0)

    def iter_rows(self, i: int) -> Iterator[list]:
        """Rows (lists of field texts in header order) of report file i."""
        rng = random.Random(f"{self.spec.seed}|{self.seed_key}|{i}")
        trng = random.Random(f"{self.spec.seed}|{self.seed_key}|{i}|time")  # dates: costs never depend on the day
        n = self.file_rows(i)
        specials = self.special_rows(i, n)
        dup_ids = self.report._dup_ids(self)
        for j in range(n):
            kind = specials.get(j)
            row = self.make_row(rng, kind, trng)
            if dup_ids and j == n // 2 and self.spec.duplicate_line_item_ids:
                row["identity/LineItemId"] = dup_ids[i % len(dup_ids)]
            yield self.to_fields(row)

    def special_rows(self, i: int, n: int) -> dict:
        """Row index -> forced kind, so every file has credits, taxes, fees, discounts, refunds."""
        kinds = ["Credit", "Tax", "Tax-negative", "Fee", "Discount", "Refund", "DiscountedUsage", "special-text"]
        out = {}
        if n <= 0:
            return out
        step = max(1, n // (len(kinds) + 1))
        for k, kind in enumerate(kinds):
            j = min(n - 1, (k + 1) * step)
            out.setdefault(j, kind)
        return out

    def make_row(self, rng: random.Random, forced: Optional[str], trng: Optional[random.Random] = None) -> dict:
        p = self.period
        acct, acct_name = rng.choice(ACCOUNTS)
        region, rp, region_name = rng.choice(REGIONS)
        code, pname, family, ut, op, unit, base_rate, its = rng.choice(PRODUCTS)
        it = rng.choice(its)
        usage_type = (rp + "-" if rp else "") + ut.format(it=it)
        roll = rng.random()
        kind = forced or ("Usage" if roll < 0.86 else "DiscountedUsage" if roll < 0.93 else
                          "Credit" if roll < 0.96 else "Tax" if roll < 0.985 else "Fee")
        special_text = forced == "special-text" or rng.random() < 0.04
        if kind == "special-text":
            kind = "Usage"
        trng = trng or rng
        day = trng.randrange(self.days)
        start_day = datetime.combine(p.start, datetime.min.time()) + timedelta(days=day)
        if trng.random() < 0.3:
            start = start_day + timedelta(hours=trng.randrange(24))
            end = start + timedelta(hours=1)
        else:
            start, end = start_day, start_day + timedelta(days=1)
        month_start_dt = datetime.combine(p.start, datetime.min.time())
        month_end_dt = datetime.combine(p.end, datetime.min.time())
        scale = rng.choice([10, 10, 10, 10, 8, 6, 4, 2, 1, 0])
        r = {h: "" for h, *_ in COLUMNS}
        r.update({
            "identity/LineItemId": _b32(rng),
            "bill/InvoiceId": "" if p.is_current else f"EUINGB{p.start:%y}-{rng.randrange(10**6):06d}",
            "bill/InvoicingEntity": "Amazon Web Services EMEA SARL",
            "bill/BillingEntity": "AWS",
            "bill/BillType": "Anniversary",
            "bill/PayerAccountId": PAYER,
            "bill/BillingPeriodStartDate": iso_z(month_start_dt, self.mode == "cur2"),
            "bill/BillingPeriodEndDate": iso_z(month_end_dt, self.mode == "cur2"),
            "lineItem/UsageAccountId": acct,
            "lineItem/CurrencyCode": "USD",
            "lineItem/LegalEntity": LEGAL_ENTITY,
            "lineItem/ProductCode": code,
            "product/ProductName": pname,
            "product/productFamily": family,
            "product/region": region,
            "product/servicecode": code,
            "pricing/unit": unit,
        })
        r["_acct_name"] = acct_name
        whole_month = kind in ("Credit", "Tax", "Tax-negative", "Fee", "Refund", "Discount")
        if whole_month:
            start, end = month_start_dt, month_end_dt
        r["identity/TimeInterval"] = f"{iso_z(start)}/{iso_z(end)}"
        r["lineItem/UsageStartDate"] = iso_z(start, self.mode == "cur2")
        r["lineItem/UsageEndDate"] = iso_z(end, self.mode == "cur2")
        # amounts
        amount = Decimal(rng.randrange(1, 10**6)) / Decimal(10 ** rng.choice([2, 3, 4, 6]))
        rate = base_rate * (Decimal(100 + rng.randrange(-10, 11)) / 100)
        if self.number and self.period.is_current:
            rate = rate * Decimal("1.01")  # a re-rated newer revision: different numbers
        blended_rate = rate * Decimal("0.97")
        desc = f"USD {fmt_dec(rate, 4)} per {pname} {usage_type}"
        if kind == "Usage":
            r.update({
                "lineItem/LineItemType": "Usage",
                "lineItem/UsageType": usage_type, "lineItem/Operation": op,
                "lineItem/AvailabilityZone": f"{region}{rng.choice('abc')}" if code in ("AmazonEC2", "AmazonRDS") else "",
                "lineItem/ResourceId": self._resource_id(rng, code, region, acct),
                "lineItem/UsageAmount": fmt_dec(amount, 10 if scale else 0),
                "lineItem/UnblendedRate": fmt_dec(rate, 10),
                "lineItem/UnblendedCost": fmt_dec(amount * rate, scale),
                "lineItem/BlendedRate": fmt_dec(blended_rate, 10),
                "lineItem/BlendedCost": fmt_dec(amount * blended_rate, scale),
                "product/instanceType": it,
                "pricing/publicOnDemandCost": fmt_dec(amount * rate, 10),
                "pricing/publicOnDemandRate": fmt_dec(rate, 10),
                "pricing/term": "OnDemand",
            })
            if code == "AmazonEC2":
                nf = rng.choice(["0.5", "4", "8", "16"])
                r["lineItem/NormalizationFactor"] = nf
                r["lineItem/NormalizedUsageAmount"] = fmt_dec(amount * Decimal(nf), 10)
        elif kind == "DiscountedUsage":
            eff = amount * rate * Decimal("0.6")
            r.update({
                "lineItem/LineItemType": "DiscountedUsage",
                "lineItem/UsageType": usage_type, "lineItem/Operation": op,
                "lineItem/ResourceId": self._resource_id(rng, code, region, acct),
                "lineItem/UsageAmount": fmt_dec(amount, 10),
                "lineItem/UnblendedRate": "0.0000000000",
                "lineItem/UnblendedCost": "0.0000000000",
                "lineItem/BlendedRate": fmt_dec(blended_rate * Decimal("0.6"), 10),
                "lineItem/BlendedCost": fmt_dec(amount * blended_rate * Decimal("0.6"), 10),
                "pricing/publicOnDemandCost": fmt_dec(amount * rate, 10),
                "pricing/publicOnDemandRate": fmt_dec(rate, 10),
                "pricing/term": "Reserved",
                "reservation/EffectiveCost": fmt_dec(eff, 10),
                "reservation/StartTime": iso_z(month_start_dt - timedelta(days=200)),
            })
            desc = f"{pname} reserved instance applied, {it or 'n/a'}"
        elif kind == "Credit":
            c = -(Decimal(rng.randrange(1, 10**9)) / Decimal(10**6))
            r.update({"lineItem/LineItemType": "Credit", "lineItem/UsageType": usage_type,
                      "lineItem/UnblendedCost": fmt_dec(c, scale), "lineItem/BlendedCost": fmt_dec(c, scale)})
            desc = rng.choice(["AWS Credits, promotional", SPECIAL_TEXTS[0], SPECIAL_TEXTS[1]])
        elif kind in ("Tax", "Tax-negative"):
            t = Decimal(rng.randrange(1, 10**8)) / Decimal(10**6)
            if kind == "Tax-negative":
                t = -t  # tax on credits / refunds
            r.update({"lineItem/LineItemType": "Tax", "lineItem/UsageType": "", "lineItem/TaxType": "VAT",
                      "lineItem/UsageAmount": "1", "lineItem/UnblendedCost": fmt_dec(t, scale),
                      "lineItem/BlendedCost": fmt_dec(t, scale)})
            desc = rng.choice([f"Tax for product code {code}", SPECIAL_TEXTS[7]])
        elif kind == "Fee":
            f_ = Decimal(rng.randrange(1, 10**10)) / Decimal(10**6)  # up to 10,000.000000
            r.update({"lineItem/LineItemType": "Fee", "lineItem/ProductCode": "AWSSupportBusiness",
                      "product/ProductName": "AWS Support (Business)", "lineItem/UsageType": "Dollar",
                      "lineItem/UsageAmount": "1", "lineItem/UnblendedCost": fmt_dec(f_, 10),
                      "lineItem/BlendedCost": fmt_dec(f_, 10), "product/servicecode": "AWSSupportBusiness"})
            desc = "AWS Support (Business), monthly fee"
        elif kind == "Refund":
            c = -(Decimal(rng.randrange(1, 10**7)) / Decimal(10**4))
            r.update({"lineItem/LineItemType": "Refund", "lineItem/UnblendedCost": fmt_dec(c, 4),
                      "lineItem/BlendedCost": fmt_dec(c, 4)})
            desc = "Refund of \"duplicate\" charge, ticket #1234"
        elif kind == "Discount":
            c = -(Decimal(rng.randrange(1, 10**9)) / Decimal(10**7))
            r.update({"lineItem/LineItemType": "Discount", "lineItem/UsageType": "",
                      "lineItem/UnblendedCost": fmt_dec(c, 10), "lineItem/BlendedCost": ""})
            desc = "EDP discount"
        if special_text:
            desc = rng.choice(SPECIAL_TEXTS)
        r["lineItem/LineItemDescription"] = desc
        # tags (only on resource rows, often empty)
        if r.get("lineItem/ResourceId"):
            r["resourceTags/user:Name"] = rng.choice(TAG_NAMES)
            r["resourceTags/user:Owner"] = rng.choice(TAG_OWNERS)
            r["resourceTags/user:CostCenter"] = rng.choice(COST_CENTERS)
            r["resourceTags/user:app.kubernetes.io/name"] = rng.choice(K8S_APPS)
            r["resourceTags/aws:createdBy"] = rng.choice(["", "", f"IAMUser:AIDAEXAMPLE:{acct_name}"])
        r["_region_name"] = region_name
        return r

    @staticmethod
    def _resource_id(rng: random.Random, code: str, region: str, acct: str) -> str:
        if code == "AmazonEC2":
            return "i-0" + "".join(rng.choice("0123456789abcdef") for _ in range(16))
        if code == "AmazonS3":
            return rng.choice(["logs-bucket", "data.lake.raw", "backups-ü"])
        if code == "AmazonRDS":
            return f"arn:aws:rds:{region}:{acct}:db:orders-{rng.randrange(5)}"
        if code == "AWSLambda":
            return f"arn:aws:lambda:{region}:{acct}:function:resize-{rng.randrange(9)}"
        return ""

    def to_fields(self, r: dict) -> list:
        if self.mode == "legacy":
            fields = [r.get(h, "") for h, *_ in COLUMNS]
        else:
            fields = [r.get(h, "") for h, _, c2, _ in COLUMNS if c2]
            tags = {}
            for src, key in (("resourceTags/user:Name", "user_name"), ("resourceTags/user:Owner", "user_owner"),
                             ("resourceTags/user:CostCenter", "user_cost_center"),
                             ("resourceTags/user:app.kubernetes.io/name", "user_app_kubernetes_io_name"),
                             ("resourceTags/aws:createdBy", "aws_created_by")):
                if r.get(src):
                    tags[key] = r[src]
            product = {"product_name": r.get("product/ProductName", ""), "region": r.get("product/region", ""),
                       "location": r.get("_region_name", "")}
            fields += [json.dumps(product, ensure_ascii=False, separators=(",", ":")),
                       json.dumps(tags, ensure_ascii=False, separators=(",", ":")), "{}", "{}"]
            net = r.get("lineItem/UnblendedCost", "")
            fields += [PAYER_NAME, r.get("_acct_name", ""), net]
        return fields

    # ---- rendering
    def render_file(self, i: int, out: Optional[IO[bytes]]) -> dict:
        """Write report file i (gzip CSV) to out (None: only count); returns its facts from the field texts."""
        header = self.header()
        col_u = header.index(UNBLENDED[self.mode])
        col_b = header.index(BLENDED[self.mode])
        col_t = header.index(LINE_ITEM_TYPE[self.mode])
        su = sb = Decimal(0)
        n = 0
        types: Counter = Counter()
        nl = "\n"
        gz = gzip.GzipFile(fileobj=out, mode="wb", compresslevel=self.spec.gzip_level, mtime=0) if out else None
        try:
            if gz:
                gz.write((",".join(encode_field(h) for h in header) + nl).encode())
            buf = []
            bad_at = self.file_rows(i) // 2 if (self.broken == "bad_row" and i == 0) else -1
            for j, fields in enumerate(self.iter_rows(i)):
                if j == bad_at:
                    fields = fields[:-1]  # one column short
                else:
                    if fields[col_u]:
                        su += Decimal(fields[col_u])
                    if fields[col_b]:
                        sb += Decimal(fields[col_b])
                    types[fields[col_t]] += 1
                    n += 1
                if gz:
                    force = j % 53 == 7  # now and then quote fields that need no quotes (valid RFC 4180)
                    buf.append(",".join(encode_field(f, force and k % 3 == 0) for k, f in enumerate(fields)) + nl)
                    if len(buf) >= 2000:
                        gz.write("".join(buf).encode())
                        buf.clear()
            if gz and buf:
                gz.write("".join(buf).encode())
        finally:
            if gz:
                gz.close()
        return {"rows": n, "unblended": su, "blended": sb, "types": types}

    def body(self, i: int) -> bytes:
        """Bytes of report file i as uploaded (kept in memory; truncated for truncated_gzip)."""
        if i not in self._bodies:
            if self.broken == "parquet":
                rng = random.Random(f"{self.seed_key}|parquet|{i}")
                self._bodies[i] = b"PAR1" + bytes(rng.getrandbits(8) for _ in range(256)) + b"PAR1"
            else:
                bio = io.BytesIO()
                self._note(i, self.render_file(i, bio))
                data = bio.getvalue()
                if self.broken == "truncated_gzip" and i == self.files - 1:
                    data = data[: max(20, len(data) * 6 // 10)]
                self._bodies[i] = data
        return self._bodies[i]

    def _note(self, i: int, file_facts: dict) -> None:
        self._file_facts[i] = file_facts

    def facts(self) -> dict:
        """Expected facts of this revision, computed with Decimal from the CSV field texts."""
        if self._facts is None:
            su = sb = Decimal(0)
            n = 0
            types: Counter = Counter()
            if self.broken not in ("parquet",):
                for i in range(self.files):
                    f = self._file_facts.get(i) or self.render_file(i, None)
                    su += f["unblended"]
                    sb += f["blended"]
                    n += f["rows"]
                    types.update(f["types"])
            self._facts = {"period": self.period.label, "revision": self.revision_id, "number": self.number,
                           "rows": n, "unblended": su, "blended": sb, "types": dict(types),
                           "keys": self.report_keys(), "manifests": self.manifest_keys(), "broken": self.broken}
        return self._facts

    def objects(self) -> list:
        """(key, bytes, content type) in delivery order: data files, artifacts, manifests."""
        out = [(self.data_key(i), self.body(i), "application/octet-stream") for i in range(self.files)]
        for k in self.artifact_keys():
            out.append((k, f"-- {self.spec.name} {self.revision_id}\n".encode(), "text/plain"))
        for k in self.manifest_keys():
            out.append((k, self.manifest_bytes(), "application/json"))
        return out

    def write_dir(self, root: Path) -> None:
        """Stream the revision into a folder (keys as paths); large reports never sit in memory."""
        root = Path(root)
        for i in range(self.files):
            p = root / self.data_key(i)
            p.parent.mkdir(parents=True, exist_ok=True)
            if self.broken in ("parquet", "truncated_gzip"):
                p.write_bytes(self.body(i))
            else:
                with open(p, "wb") as f:
                    self._note(i, self.render_file(i, f))
        for k in self.artifact_keys():
            (root / k).parent.mkdir(parents=True, exist_ok=True)
            (root / k).write_bytes(f"-- {self.spec.name} {self.revision_id}\n".encode())
        for k in self.manifest_keys():
            (root / k).parent.mkdir(parents=True, exist_ok=True)
            (root / k).write_bytes(self.manifest_bytes())


PAYER_NAME = "payer-main"


def encode_field(value: str, force: bool = False) -> str:
    """RFC 4180: quote a field holding a comma, a quote, CR or LF (and, when forced, any field)."""
    if force or any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


@dataclass
class Period:
    start: date
    is_current: bool
    revisions: list = field(default_factory=list)

    @property
    def end(self) -> date:
        return add_months(self.start, 1)

    @property
    def label(self) -> str:
        """2026.11: the index suffix."""
        return f"{self.start.year:04d}.{self.start.month:02d}"

    @property
    def range_folder(self) -> str:
        return f"{self.start:%Y%m%d}-{self.end:%Y%m%d}"

    @property
    def partition(self) -> str:
        return f"BILLING_PERIOD={self.start:%Y-%m}"

    @property
    def newest(self) -> Revision:
        return self.revisions[-1]


class Report:
    def __init__(self, spec: Spec):
        self.spec = spec
        self.periods: list = []

    @property
    def current(self) -> Period:
        return self.periods[-1]

    @property
    def closed(self) -> list:
        return self.periods[:-1]

    def period(self, label: str) -> Period:
        for p in self.periods:
            if p.label == label:
                return p
        raise KeyError(label)

    def revisions(self) -> list:
        """Every revision in delivery order (closed months first, then the current month's)."""
        return [r for p in self.periods for r in p.revisions]

    def _dup_ids(self, rev: Revision) -> list:
        """LineItemIds repeated across the files of a revision (a line item id is no row key)."""
        if rev.files < 2 or rev.broken:
            return []
        rng = random.Random(f"{self.spec.seed}|dup|{rev.seed_key}")
        return [_b32(rng)]

    def publish_revision(self, s3, bucket: str, rev: Revision, tmp_dir: Optional[Path] = None) -> None:
        """Upload one revision like AWS delivers it: report files first, manifests last."""
        big = rev.rows > 200_000 and rev.broken is None
        if big:
            with tempfile.TemporaryDirectory(dir=tmp_dir) as d:
                for i in range(rev.files):
                    p = Path(d) / f"part-{i}.csv.gz"
                    with open(p, "wb") as f:
                        rev._note(i, rev.render_file(i, f))
                    s3.upload_file(str(p), bucket, rev.data_key(i))
            for k in rev.artifact_keys():
                s3.put_object(Bucket=bucket, Key=k, Body=f"-- {self.spec.name} {rev.revision_id}\n".encode())
            for k in rev.manifest_keys():
                s3.put_object(Bucket=bucket, Key=k, Body=rev.manifest_bytes(), ContentType="application/json")
            return
        for key, body, ctype in rev.objects():
            s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=ctype)

    def publish(self, s3, bucket: str, only: str = "all", first_revision_only: bool = False) -> list:
        done = []
        for p in self.periods:
            if only == "closed" and p.is_current or only == "current" and not p.is_current:
                continue
            for rev in (p.revisions[:1] if first_revision_only and p.is_current else p.revisions):
                self.publish_revision(s3, bucket, rev)
                done.append(rev)
        return done

    def write_dir(self, root: Path, only: str = "all", first_revision_only: bool = False) -> list:
        done = []
        for p in self.periods:
            if only == "closed" and p.is_current or only == "current" and not p.is_current:
                continue
            for rev in (p.revisions[:1] if first_revision_only and p.is_current else p.revisions):
                rev.write_dir(root)
                done.append(rev)
        return done

    def expected(self, published: Optional[Iterable[Revision]] = None) -> dict:
        """Per period label: the facts of the newest good revision (of those published, default all)."""
        revs = list(published) if published is not None else self.revisions()
        out = {}
        for r in revs:
            if r.broken is None:
                out[r.period.label] = r.facts()
        return out

    def summary(self, published: Optional[Iterable[Revision]] = None) -> dict:
        def js(f: dict) -> dict:
            return {**f, "unblended": str(f["unblended"]), "blended": str(f["blended"])}
        return {
            "mode": self.spec.mode, "bucket": self.spec.bucket, "prefix": self.spec.prefix,
            "report_name": self.spec.name, "seed": self.spec.seed,
            "periods": {label: {**js(f), "revisions": [js(r.facts()) for r in self.period(label).revisions]}
                        for label, f in self.expected(published).items()},
        }


def generate(spec: Spec) -> Report:
    rep = Report(spec)
    rng = random.Random(f"{spec.seed}|ids|{spec.mode}")
    cur = month_start(spec.today)
    for k in range(spec.closed_months, -1, -1):
        start = add_months(cur, -k)
        is_current = k == 0
        p = Period(start, is_current)
        days_in_month = (add_months(start, 1) - start).days
        if is_current:
            n_rev = max(1, spec.revisions)
            for r in range(n_rev):
                newest = r == n_rev - 1
                rows = spec.rows if newest else max(8, spec.rows * (3 + r) // 5)
                files = spec.files if newest else 1
                if spec.max_file_rows and rows > spec.max_file_rows * files:
                    files = -(-rows // spec.max_file_rows)
                days = max(1, spec.today.day - (n_rev - 1 - r))
                p.revisions.append(Revision(rep, p, r, _uuid(rng), rows, max(1, min(files, rows)), days,
                                            seed_key=f"{spec.mode}|p{k}|r{r}"))
        else:
            files = 1 if not spec.max_file_rows else max(1, -(-spec.rows // spec.max_file_rows))
            p.revisions.append(Revision(rep, p, 0, _uuid(rng), spec.rows, files, days_in_month,
                                        seed_key=f"{spec.mode}|p{k}|r0"))
        rep.periods.append(p)
    return rep


def broken_revision(rep: Report, kind: str, period: Optional[Period] = None, rows: Optional[int] = None) -> Revision:
    """A new revision of `period` (default: the current one) broken in the given way; appended to the period."""
    if kind not in BROKEN_KINDS:
        raise ValueError(f"kind must be one of {BROKEN_KINDS}")
    p = period or rep.current
    rng = random.Random(f"{rep.spec.seed}|broken|{kind}|{len(p.revisions)}")
    n = rows or max(12, rep.spec.rows // 2)
    rev = Revision(rep, p, len(p.revisions), _uuid(rng), n, 2, max(1, rep.spec.today.day if p.is_current else 28),
                   seed_key=f"{rep.spec.mode}|broken|{kind}|{p.label}|{len(p.revisions)}", broken=kind)
    p.revisions.append(rev)
    return rev


def good_revision(rep: Report, period: Optional[Period] = None, rows: Optional[int] = None, files: int = 2) -> Revision:
    """A further good revision of `period` (default: the current one), appended to it."""
    p = period or rep.current
    rng = random.Random(f"{rep.spec.seed}|extra|{p.label}|{len(p.revisions)}")
    rev = Revision(rep, p, len(p.revisions), _uuid(rng), rows or rep.spec.rows + 17, files,
                   max(1, rep.spec.today.day) if p.is_current else 28,
                   seed_key=f"{rep.spec.mode}|extra|{p.label}|{len(p.revisions)}")
    p.revisions.append(rev)
    return rev


# ====================================================================== reading back

def open_csv_text(src) -> io.TextIOBase:
    """Text stream of a gzip CSV given as bytes or a path (streaming, never all in memory for paths)."""
    raw = io.BytesIO(src) if isinstance(src, (bytes, bytearray)) else open(src, "rb")
    return io.TextIOWrapper(gzip.GzipFile(fileobj=raw, mode="rb"), encoding="utf-8", newline="")


def iter_csv_records(src) -> Iterator[dict]:
    """Header-keyed records of one gzip CSV report file (RFC 4180, quoted newlines)."""
    with open_csv_text(src) as f:
        reader = csv.reader(f)
        header = next(reader)
        for row in reader:
            if len(row) != len(header):
                raise ValueError(f"row {reader.line_num}: {len(row)} fields, header has {len(header)}")
            yield dict(zip(header, row))


def csv_facts(sources: Iterable, mode: str = "legacy") -> dict:
    """rows / unblended / blended of report files (bytes or paths), parsed back from the CSV text."""
    su = sb = Decimal(0)
    n = 0
    types: Counter = Counter()
    for src in sources:
        for rec in iter_csv_records(src):
            n += 1
            if rec[UNBLENDED[mode]]:
                su += Decimal(rec[UNBLENDED[mode]])
            if rec[BLENDED[mode]]:
                sb += Decimal(rec[BLENDED[mode]])
            types[rec[LINE_ITEM_TYPE[mode]]] += 1
    return {"rows": n, "unblended": su, "blended": sb, "types": dict(types)}


# ====================================================================== CLI

def _loopback(url: str) -> str:
    host = urlparse(url).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("127."):
        raise SystemExit(f"--endpoint-url must be a loopback address (got {host!r}): this tool never talks to AWS")
    return url


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("local", "s3"):
        sp = sub.add_parser(name)
        if name == "local":
            sp.add_argument("--out", required=True)
            sp.add_argument("--bucket", default="billing-bucket", help="bucket named in the manifests")
        else:
            sp.add_argument("--bucket", required=True)
            sp.add_argument("--endpoint-url", required=True)
            sp.add_argument("--region", default="eu-west-1")
            sp.add_argument("--create-bucket", action="store_true")
        sp.add_argument("--mode", choices=MODES, default="legacy")
        sp.add_argument("--seed", type=int, default=7)
        sp.add_argument("--rows", type=int, default=300)
        sp.add_argument("--prefix", default="cur")
        sp.add_argument("--name", default="cloudspool-cur")
        sp.add_argument("--only", choices=("all", "closed", "current"), default="all")
        sp.add_argument("--closed-months", type=int, default=1)
        sp.add_argument("--files", type=int, default=3)
        sp.add_argument("--max-file-rows", type=int, default=1_000_000)
        sp.add_argument("--first-revision-only", action="store_true")
        sp.add_argument("--broken", choices=BROKEN_KINDS)
        sp.add_argument("--cur2-create-new", action="store_true")
        sp.add_argument("--gzip-level", type=int, default=6)
        sp.add_argument("--today", help="YYYY-MM-DD (default: today UTC)")
        sp.add_argument("--summary", help="write the expected facts (JSON) here")
    a = ap.parse_args(argv)
    spec = Spec(mode=a.mode, bucket=a.bucket, prefix=a.prefix, name=a.name, seed=a.seed, rows=a.rows,
                closed_months=a.closed_months, files=a.files, max_file_rows=a.max_file_rows, gzip_level=a.gzip_level,
                cur2_create_new=a.cur2_create_new, today=date.fromisoformat(a.today) if a.today else None)
    rep = generate(spec)
    if a.broken:
        broken_revision(rep, a.broken)
    if a.cmd == "local":
        done = rep.write_dir(Path(a.out), a.only, a.first_revision_only)
    else:
        import boto3
        from botocore.config import Config
        s3 = boto3.client("s3", endpoint_url=_loopback(a.endpoint_url), region_name=a.region,
                          aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
                          aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
                          config=Config(s3={"addressing_style": "path"}))
        if a.create_bucket:
            try:
                s3.create_bucket(Bucket=a.bucket, CreateBucketConfiguration={"LocationConstraint": a.region})
            except s3.exceptions.BucketAlreadyOwnedByYou:
                pass
        done = rep.publish(s3, a.bucket, a.only, a.first_revision_only)
    summary = rep.summary(done)
    text = json.dumps(summary, indent=2, ensure_ascii=False)
    if a.summary:
        Path(a.summary).write_text(text + "\n")
    for label, f in summary["periods"].items():
        print(f"{label}: revision {f['revision']} rows={f['rows']} unblended={f['unblended']} blended={f['blended']}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
