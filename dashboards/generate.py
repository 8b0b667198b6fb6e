#!/usr/bin/env python3
"""The cloudspool dashboards, written as Kibana 7.10 / OpenSearch Dashboards saved objects.

    python3 dashboards/generate.py           writes dashboards/cloudspool-dashboards.ndjson
                                             and dashboards/fields.json
    python3 dashboards/generate.py --check   exits 1 (naming the files) when they differ from
                                             what this file generates
    python3 dashboards/generate.py --index-prefix P --out FILE
                                             the same saved objects for the config's
                                             index.index_prefix P (index patterns P<name>)

Everything the NDJSON holds comes from the compact descriptions below: index
patterns, the field names (class F: a renamed field is renamed in every panel
that uses it), saved searches, one line per visualization (title, kind, source,
query, aggregations) and one list of views per section. Ids are UUIDs derived
from each object's type and title, so they are the same on every run and an
import with overwrite=true replaces the objects it wrote before.

Queries are Lucene query strings (language "lucene"). Which time range a figure
means is decided by its index pattern (see INDEX_PATTERNS and the README):
`awscli-current` (one document per live resource) has no time field, so the
inventory figures are the latest collection whatever range is picked.
fields.json lists every field a panel aggregates, filters, sorts or reads per
index pattern, with the use, so the index templates can be checked against it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
from dataclasses import dataclass, field as dc_field, replace
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "cloudspool-dashboards.ndjson"
FIELDS_OUTPUT = HERE / "fields.json"

KIBANA_VERSION = "7.10.0"
MIGRATION = {"index-pattern": "7.6.0", "search": "7.9.3", "visualization": "7.10.0", "dashboard": "7.9.3"}
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/cloudspool/dashboards")


def object_id(kind: str, title: str) -> str:
    """The stable id of a saved object: a UUID derived from its type and title."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{kind}/{title}"))


# ====================================================================== index patterns

# The current-state index: one document per live resource (latest collection). One constant.
CURRENT_INDEX = "awscli-current"


@dataclass(frozen=True)
class IndexPattern:
    key: str
    title: str
    time_field: Optional[str]
    meaning: str                       # which time range its figures mean (README, descriptions)
    formats: dict = dc_field(default_factory=dict)

    @property
    def id(self) -> str:
        return object_id("index-pattern", self.title)


USD = {"id": "number", "params": {"pattern": "$0,0.00"}}
BYTES = {"id": "bytes"}
DAYS = {"id": "duration", "params": {"inputFormat": "days", "outputFormat": "humanize"}}

INDEX_PATTERNS = {ip.key: ip for ip in [
    IndexPattern("current", CURRENT_INDEX, None,
                 "the latest collection of every live resource; the time picker does not change it",
                 {"aws.backup.job.BackupSizeInBytes": BYTES}),
    IndexPattern("daily", "awscli-20*", "@timestamp",
                 "one point per collection day in the picked range; a resource counts once per day"),
    IndexPattern("trail", "awscli-trail-*", "@timestamp", "CloudTrail events that occurred in the picked range"),
    IndexPattern("billing", "awsbilling-*", "@timestamp",
                 "line items whose usage started in the picked range (the latest report revision of each month)",
                 {"lineItem.UnblendedCost": USD, "lineItem.BlendedCost": USD, "pricing.publicOnDemandCost": USD,
                  "reservation.EffectiveCost": USD}),
    IndexPattern("users", "awsusers-000001", None,
                 "the latest IAM credential report of every account; the time picker does not change it",
                 {"activity.days_since_last_activity": DAYS, "activity.days_since_console_password_used": DAYS,
                  "activity.days_since_access_key_1_used": DAYS, "activity.days_since_access_key_2_used": DAYS,
                  "activity.days_since_creation": DAYS}),
    IndexPattern("s3", "awscli-s3-*", "@timestamp",
                 "S3 listings of the picked range; tables show each object and bucket once, as last listed",
                 {"s3.size": BYTES, "s3.total_size": BYTES}),
    IndexPattern("changes", "awscli-changes-*", "@timestamp", "changes whose collection window ended in the picked range"),
]}


class F:
    """Every field a panel uses, named once."""
    TS = "@timestamp"
    TYPE, ID, NAME = "resource.type", "resource.id", "resource.name"
    ACCOUNT, ACCOUNT_NAME, REGION = "cloud.account.id", "cloud.account.name", "cloud.region"
    # inventory enrichment
    STATE, VCPUS, MEM_MIB, MEM_GIB = "inventory.state", "inventory.vcpus", "inventory.memory_mib", "inventory.memory_gib"
    TAGS, SGS, CLASS, OWNED = "inventory.tags", "inventory.security_groups", "inventory.class", "inventory.owned"
    RESERVATION, IMAGE_NAME = "inventory.reservation_id", "inventory.image.name"
    ALARM_NAMES, METRIC_NAMES, SNAPSHOT_IDS = "inventory.alarms.name", "inventory.metrics", "inventory.snapshots.id"
    EVENT_NAMES, LAST_BACKUP, BACKUP_SOURCE = "inventory.events.event_name", "inventory.last_backup_time", "inventory.last_backup_source"
    BACKUPS_KNOWN, RESTORABLE, INSTANCES = "inventory.backups_known", "inventory.latest_restorable_time", "inventory.instances"
    ATTACHED, ATTACHED_ID, ATTACHED_TYPE, ATTACHED_COUNT = ("inventory.is_attached", "inventory.attached.id",
                                                           "inventory.attached.type", "inventory.attached_count")
    # AWS CLI documents
    EC2_TYPE, EC2_IMAGE, EC2_LAUNCH = "aws.ec2.instance.InstanceType", "aws.ec2.instance.ImageId", "aws.ec2.instance.LaunchTime"
    EC2_PRIVATE_IP, EC2_PUBLIC_IP, EC2_VPC = ("aws.ec2.instance.PrivateIpAddress", "aws.ec2.instance.PublicIpAddress",
                                              "aws.ec2.instance.VpcId")
    RDS_ENGINE, RDS_ENGINE_VERSION = "aws.rds.db_instance.Engine", "aws.rds.db_instance.EngineVersion"
    RDS_MULTI_AZ, RDS_ENDPOINT = "aws.rds.db_instance.MultiAZ", "aws.rds.db_instance.Endpoint.Address"
    RDS_ARN = "aws.rds.db_instance.DBInstanceArn"      # unique across accounts and regions (resource.id is not)
    ALARM_STATE, ALARM_METRIC, ALARM_DESCRIPTION = ("aws.cloudwatch.alarm.StateValue", "aws.cloudwatch.alarm.MetricName",
                                                    "aws.cloudwatch.alarm.AlarmDescription")
    METRIC_NAMESPACE, METRIC_NAME = "aws.cloudwatch.metric.Namespace", "aws.cloudwatch.metric.MetricName"
    IMAGE_NAME_AWS, IMAGE_DESCRIPTION, IMAGE_CREATED = ("aws.ec2.image.Name", "aws.ec2.image.Description",
                                                        "aws.ec2.image.CreationDate")
    IMAGE_STATE, IMAGE_OWNER, IMAGE_PUBLIC, IMAGE_TYPE = ("aws.ec2.image.State", "aws.ec2.image.OwnerId",
                                                          "aws.ec2.image.Public", "aws.ec2.image.ImageType")
    SG_NAME, SG_VPC, SG_DESCRIPTION = "aws.ec2.security_group.GroupName", "aws.ec2.security_group.VpcId", "aws.ec2.security_group.Description"
    SNAP_VOLUME, SNAP_SIZE, SNAP_START = "aws.ec2.snapshot.VolumeId", "aws.ec2.snapshot.VolumeSize", "aws.ec2.snapshot.StartTime"
    SNAP_STATE, SNAP_DESCRIPTION = "aws.ec2.snapshot.State", "aws.ec2.snapshot.Description"
    DBSNAP_INSTANCE, DBSNAP_CREATED, DBSNAP_STATUS = ("aws.rds.db_snapshot.DBInstanceIdentifier",
                                                      "aws.rds.db_snapshot.SnapshotCreateTime", "aws.rds.db_snapshot.Status")
    JOB_RESOURCE, JOB_RESOURCE_TYPE, JOB_ARN = ("aws.backup.job.ResourceName", "aws.backup.job.ResourceType",
                                                "aws.backup.job.ResourceArn")
    JOB_STATE, JOB_CREATED, JOB_COMPLETED = "aws.backup.job.State", "aws.backup.job.CreationDate", "aws.backup.job.CompletionDate"
    JOB_SIZE, JOB_VAULT = "aws.backup.job.BackupSizeInBytes", "aws.backup.job.BackupVaultName"
    IGW_VPC, IGW_STATE = "aws.ec2.internet_gateway.Attachments.VpcId", "aws.ec2.internet_gateway.Attachments.State"
    TGW_STATE, TGW_DESCRIPTION, TGW_ASN, TGW_OWNER = ("aws.ec2.transit_gateway.State", "aws.ec2.transit_gateway.Description",
                                                      "aws.ec2.transit_gateway.Options.AmazonSideAsn", "aws.ec2.transit_gateway.OwnerId")
    NAT_STATE, NAT_VPC, NAT_SUBNET, NAT_PUBLIC_IP = ("aws.ec2.nat_gateway.State", "aws.ec2.nat_gateway.VpcId",
                                                     "aws.ec2.nat_gateway.SubnetId", "aws.ec2.nat_gateway.NatGatewayAddresses.PublicIp")
    # monitoring collector (OP5)
    MON, MON_SYSTEM, MON_HOST = "monitoring.monitored", "monitoring.system", "monitoring.host_name"
    MON_STATE, MON_LAST_CHECK, MON_MATCHED_BY = "monitoring.state", "monitoring.last_check", "monitoring.matched_by"
    # CloudTrail
    EVENT, SOURCE, ERROR, ERROR_MESSAGE = "eventName", "eventSource", "errorCode", "errorMessage"
    WHO, WHO_TYPE, SOURCE_IP = "userIdentity.arn", "userIdentity.type", "sourceIPAddress"
    # billing (legacy CUR column names)
    PERIOD, COST, BLENDED = "cloudspool.billing_period", "lineItem.UnblendedCost", "lineItem.BlendedCost"
    ITEM_TYPE, PRODUCT, USAGE_ACCOUNT = "lineItem.LineItemType", "lineItem.ProductCode", "lineItem.UsageAccountId"
    USAGE_TYPE, USAGE_AMOUNT, RESOURCE = "lineItem.UsageType", "lineItem.UsageAmount", "lineItem.ResourceId"
    PRODUCT_NAME, PRODUCT_REGION = "product.ProductName", "product.region"
    # IAM users
    USER, IS_ROOT, USER_ARN, USER_CREATED = "user.name", "user.is_root", "user.arn", "user.creation_time"
    USER_GROUPS, USER_PATH, LOGIN_METHODS = "user.groups", "user.Path", "login_methods"
    INACTIVE, NEVER_USED, LAST_ACTIVITY, LAST_METHOD = ("activity.inactive", "activity.never_used", "activity.last_activity",
                                                        "activity.last_activity_method")
    DAYS_IDLE, DAYS_PASSWORD = "activity.days_since_last_activity", "activity.days_since_console_password_used"
    DAYS_KEY1, DAYS_KEY2 = "activity.days_since_access_key_1_used", "activity.days_since_access_key_2_used"
    # S3 object search
    BUCKET, KEY, KEY_PARTS, SIZE = "s3.bucket", "s3.key", "s3.key_parts", "s3.size"
    STORAGE_CLASS, MODIFIED, OBJECTS, BYTES_TOTAL = "s3.storage_class", "s3.last_modified", "s3.object_count", "s3.total_size"
    # changes (issue 13)
    ACTION, PATHS, WINDOW_START = "change.action", "change.paths", "change.window.start"
    CHANGE_EVENT, CHANGE_USER = "change.events.name", "change.events.user"


# ====================================================================== aggregations

@dataclass
class Agg:
    """One aggregation of a visualization, as Kibana's visState holds it."""
    type: str
    label: str = ""
    field: Optional[str] = None
    params: dict = dc_field(default_factory=dict)

    @property
    def is_bucket(self) -> bool:
        return self.type in ("terms", "date_histogram", "filters")


def count(label: str = "Count") -> Agg:
    return Agg("count", label)


def sum_(fld: str, label: str) -> Agg:
    return Agg("sum", label, fld)


def max_(fld: str, label: str) -> Agg:
    return Agg("max", label, fld)


def distinct(fld: str, label: str) -> Agg:
    """Distinct values (exact up to 40,000: precision_threshold through the agg's JSON input)."""
    return Agg("cardinality", label, fld, {"json": json.dumps({"precision_threshold": 40000})})


def latest(fld: str, label: str, sort: str = F.TS) -> Agg:
    """The value of the newest document of the bucket (Kibana's Top Hit, size 1)."""
    return Agg("top_hits", label, fld, {"aggregate": "concat", "size": 1, "sortField": sort, "sortOrder": "desc"})


def terms(fld: str, label: str, size: int = 100, by: str = "_key", order: str = "asc", missing: Optional[str] = None) -> Agg:
    """Split by the values of a field; by = "_key" (alphabetical) or the label of a metric of the panel."""
    p = {"size": size, "order": order, "orderBy": by, "otherBucket": False, "otherBucketLabel": "Other",
         "missingBucket": missing is not None, "missingBucketLabel": missing or "Missing"}
    return Agg("terms", label, fld, p)


def per_time(fld: str, label: str, interval: str = "d") -> Agg:
    return Agg("date_histogram", label, fld, {"interval": interval, "min_doc_count": 1, "extended_bounds": {},
                                                "drop_partials": False, "useNormalizedEsInterval": True,
                                                "scaleMetricValues": False})


def split(label: str, *queries: tuple) -> Agg:
    """Kibana's Filters bucket: one bucket per (label, Lucene query)."""
    return Agg("filters", label, None, {"filters": [{"input": {"query": q, "language": "lucene"}, "label": lab}
                                                      for lab, q in queries]})


# ====================================================================== saved objects

@dataclass
class Search:
    title: str
    source: str                        # index pattern key
    query: str
    columns: list
    sort: list                         # [[field, "asc"|"desc"], ...]
    description: str = ""


@dataclass
class Vis:
    title: str
    kind: str                          # metric | table | histogram | line | markdown | controls
    source: str                        # index pattern key, or the title of a saved search
    query: str = ""
    metrics: list = dc_field(default_factory=list)
    buckets: list = dc_field(default_factory=list)   # table rows / chart x-axis first, then split series
    description: str = ""
    controls: list = dc_field(default_factory=list)  # (field, label) for kind "controls"
    markdown: str = ""


# ---------------------------------------------------------------- queries used by several panels

def is_type(*types: str) -> str:
    if len(types) == 1:
        return f'{F.TYPE}:"{types[0]}"'
    return f"{F.TYPE}:(" + " OR ".join(f'"{t}"' for t in types) + ")"


RUNNING = f'{F.STATE}:"running"'
AVAILABLE = f'{F.STATE}:"available"'
NOT_ROOT = f"NOT {F.IS_ROOT}:true"
ACCESS_DENIED = (f'{F.ERROR}:("AccessDenied" OR "AccessDeniedException" OR "Client.UnauthorizedOperation" OR '
                 '"UnauthorizedOperation" OR "UnauthorizedAccess")')
CREDITS, TAXES, REFUNDS = f'{F.ITEM_TYPE}:"Credit"', f'{F.ITEM_TYPE}:"Tax"', f'{F.ITEM_TYPE}:"Refund"'

# ---------------------------------------------------------------- saved searches (the base of many panels)

EC2_INSTANCES = "[AWS] EC2 Instances"
RDS_DETAILS = "[AWS] RDS Details"
IMAGE_DETAILS = "[AWS] Image Details"
SECURITY_GROUPS = "[AWS] Security Groups"
SNAPSHOTS_LIST = "[AWS] Snapshots List"
BACKUP_LIST = "[AWS] Backup List"
IAM_DETAILS = "[AWS] IAM Details"
TRAIL_EVENTS = "[AWS] CloudTrail Events"

IMAGE_COLUMNS = [F.ACCOUNT, F.REGION, F.ID, F.IMAGE_NAME_AWS, F.IMAGE_DESCRIPTION, F.IMAGE_CREATED, F.IMAGE_STATE,
                 F.IMAGE_OWNER, F.IMAGE_PUBLIC, F.TAGS]

SEARCHES = [
    Search(EC2_INSTANCES, "current", f'{is_type("ec2.instance")} AND NOT {F.STATE}:"terminated"',
           [F.ACCOUNT_NAME, F.ACCOUNT, F.REGION, F.ID, F.EC2_TYPE, F.STATE, F.TAGS, F.EC2_PRIVATE_IP, F.EC2_PUBLIC_IP,
            F.LAST_BACKUP, F.EVENT_NAMES], [[F.ACCOUNT, "asc"], [F.ID, "asc"]],
           "EC2 instances (not terminated), whole documents: AWS CLI fields, tags, alarms, metrics, snapshots, "
           "AMI, last backup and the last CloudTrail events of each"),
    Search(RDS_DETAILS, "current", is_type("rds.db_instance"),
           [F.ACCOUNT, F.REGION, F.ID, F.CLASS, F.RDS_ENGINE, F.RDS_ENGINE_VERSION, F.STATE, F.VCPUS, F.MEM_GIB,
            F.RDS_MULTI_AZ, F.RDS_ENDPOINT, F.LAST_BACKUP], [[F.ACCOUNT, "asc"], [F.ID, "asc"]],
           "RDS instances, whole documents"),
    Search(IMAGE_DETAILS, "current", is_type("ec2.image"), IMAGE_COLUMNS, [[F.IMAGE_CREATED, "desc"]],
           "AMIs owned by the accounts or used by their instances"),
    Search("[AWS] Image by Admin Details", "current", f'{is_type("ec2.image")} AND {F.OWNED}:true', IMAGE_COLUMNS,
           [[F.IMAGE_CREATED, "desc"]], "AMIs made in the accounts themselves (owner = the account)"),
    Search(SECURITY_GROUPS, "current", is_type("ec2.security_group"),
           [F.ACCOUNT, F.REGION, F.ID, F.SG_NAME, F.SG_VPC, F.ATTACHED, F.ATTACHED_COUNT, F.ATTACHED_ID],
           [[F.ACCOUNT, "asc"], [F.ID, "asc"]], "Security groups with what is attached to them"),
    Search(SNAPSHOTS_LIST, "current", is_type("ec2.snapshot", "rds.db_snapshot"),
           [F.ACCOUNT, F.REGION, F.TYPE, F.ID, F.SNAP_VOLUME, F.SNAP_SIZE, F.SNAP_START, F.SNAP_STATE, F.SNAP_DESCRIPTION,
            F.DBSNAP_INSTANCE, F.DBSNAP_CREATED, F.DBSNAP_STATUS], [[F.ACCOUNT, "asc"], [F.ID, "asc"]],
           "EBS and RDS snapshots"),
    Search(BACKUP_LIST, "current", is_type("backup.job"),
           [F.ACCOUNT, F.REGION, F.JOB_RESOURCE, F.JOB_RESOURCE_TYPE, F.JOB_STATE, F.JOB_CREATED, F.JOB_COMPLETED,
            F.JOB_SIZE, F.JOB_VAULT, F.JOB_ARN], [[F.JOB_CREATED, "desc"]],
           "AWS Backup jobs as ListBackupJobs lists them"),
    Search(IAM_DETAILS, "users", "",
           [F.USER, F.ACCOUNT, F.ACCOUNT_NAME, F.LOGIN_METHODS, F.USER_CREATED, F.USER_GROUPS, F.USER_PATH, F.INACTIVE,
            F.USER_ARN], [[F.ACCOUNT, "asc"], [F.USER, "asc"]],
           "IAM users of every account: login methods, creation time, groups"),
    Search(TRAIL_EVENTS, "trail", "", [F.EVENT, F.SOURCE, F.WHO, F.SOURCE_IP, F.ACCOUNT, F.REGION, F.ERROR],
           [[F.TS, "desc"]], "CloudTrail events with every detail"),
    Search("[AWS] S3 Objects", "s3", is_type("s3.object"),
           [F.BUCKET, F.KEY, F.SIZE, F.STORAGE_CLASS, F.MODIFIED, F.ACCOUNT], [[F.TS, "desc"]],
           "S3 objects as listed (one row per object and day listed; search a key fragment with s3.key_parts:word)"),
    Search("[AWS] Latest Changes", "changes", "",
           [F.ACTION, F.TYPE, F.ID, F.NAME, F.ACCOUNT, F.REGION, F.PATHS, F.CHANGE_EVENT, F.CHANGE_USER, F.WINDOW_START],
           [[F.TS, "desc"]], "Resource changes, newest first, with the CloudTrail events and users behind them"),
]

# ---------------------------------------------------------------- visualizations

NAVIGATION = "[AWS] Navigation"
CLOUDWATCH_METRICS = "[AWS] CloudWatch Metrics"

ACCOUNT_REGION = [terms(F.ACCOUNT, "Account"), terms(F.REGION, "Region")]


def selector(title: str, source: str, *fields: tuple) -> Vis:
    return Vis(title, "controls", source, controls=list(fields))


ACCOUNT_CONTROLS = ((F.ACCOUNT, "Account"), (F.REGION, "Region"))

VISUALIZATIONS = [
    Vis(NAVIGATION, "markdown", "", description="Links to every section"),
    # -- Overview
    selector("[AWS] Overview Selector", "current", (F.ACCOUNT, "Account"), (F.ACCOUNT_NAME, "Account name"), (F.REGION, "Region")),
    Vis("[AWS] Total Instances", "metric", EC2_INSTANCES, metrics=[count("Instances")]),
    Vis("[AWS] Total CPU Running Instances", "metric", EC2_INSTANCES, RUNNING, [sum_(F.VCPUS, "vCPU of running instances")]),
    Vis("[AWS] Total Memory Running Instances", "metric", EC2_INSTANCES, RUNNING,
        [sum_(F.MEM_MIB, "RAM [MiB] of running instances")]),
    Vis("[AWS] Total RDS Instances", "metric", RDS_DETAILS, metrics=[count("RDS instances")]),
    Vis("[AWS] Total CPU Running RDS", "metric", RDS_DETAILS, AVAILABLE, [sum_(F.VCPUS, "vCPU of available RDS instances")]),
    Vis("[AWS] Total Memory Running RDS", "metric", RDS_DETAILS, AVAILABLE,
        [sum_(F.MEM_GIB, "RAM [GiB] of available RDS instances")]),
    Vis("[AWS] Instance List", "table", EC2_INSTANCES,
        metrics=[count("Instances"), sum_(F.VCPUS, "vCPU"), sum_(F.MEM_MIB, "RAM [MiB]")],
        buckets=ACCOUNT_REGION + [terms(F.STATE, "State"), terms(F.EC2_TYPE, "Instance type")]),
    Vis("[AWS] RDS Instance List", "table", RDS_DETAILS,
        metrics=[count("RDS instances"), sum_(F.VCPUS, "vCPU"), sum_(F.MEM_GIB, "RAM [GiB]")],
        buckets=ACCOUNT_REGION + [terms(F.STATE, "State"), terms(F.CLASS, "Class"), terms(F.RDS_ENGINE, "Engine")]),
    Vis("[AWS] Alarm List", "table", "current", is_type("cloudwatch.alarm"),
        [latest(F.ALARM_STATE, "State"), latest(F.ALARM_METRIC, "Metric"), latest(F.INSTANCES, "Instances"),
         latest(F.ALARM_DESCRIPTION, "Description")],
        ACCOUNT_REGION + [terms(F.ID, "Alarm", 1000)]),
    Vis("[AWS] Tags List", "table", "current", f"_exists_:{F.TAGS}", [count("Resources")],
        [terms(F.TAGS, "Tag (key=value)", 500, by="Resources", order="desc"), terms(F.TYPE, "Resource type", 30)]),
    Vis(CLOUDWATCH_METRICS, "table", "current", is_type("cloudwatch.metric"), [count("Metrics")],
        ACCOUNT_REGION + [terms(F.METRIC_NAMESPACE, "Namespace"), terms(F.METRIC_NAME, "Metric", 500),
                          terms(F.INSTANCES, "Instance", 1000, missing="-")]),
    # -- EC2
    selector("[AWS] State Selector", "current", (F.STATE, "State"), *ACCOUNT_CONTROLS, (F.EC2_TYPE, "Instance type")),
    Vis("[AWS] Running histogram", "histogram", "daily", is_type("ec2.instance"), [distinct(F.ID, "Instances")],
        [per_time(F.TS, "Collection day"), terms(F.STATE, "State", 10)],
        description="Instances per state on each collection day (each instance once per day)"),
    Vis("[AWS] OP5 Monitored Count", "metric", EC2_INSTANCES, f'{F.MON}:"true"', [count("Monitored in OP5")]),
    Vis("[AWS] OP5 NOT Monitored Count", "metric", EC2_INSTANCES, f'{F.MON}:"false"', [count("NOT monitored in OP5")]),
    Vis("[AWS] OP5 Monitored Details", "table", EC2_INSTANCES, f"_exists_:{F.MON}",
        [latest(F.MON_SYSTEM, "Monitoring system"), latest(F.MON_HOST, "Host name"), latest(F.MON_STATE, "Host state"),
         max_(F.MON_LAST_CHECK, "Last check"), latest(F.MON_MATCHED_BY, "Matched by"), latest(F.TAGS, "Tags")],
        [terms(F.ID, "Instance", 1000), terms(F.MON, "Monitored", 5)]),
    Vis("[AWS] Instance Details List", "table", EC2_INSTANCES,
        metrics=[latest(F.TAGS, "Tags"), latest(F.EC2_TYPE, "Type"), latest(F.STATE, "State"), latest(F.EC2_IMAGE, "Image"),
                 latest(F.IMAGE_NAME, "Image name"), latest(F.RESERVATION, "Reservation"), max_(F.EC2_LAUNCH, "Launched"),
                 latest(F.EC2_PRIVATE_IP, "Private IP"), latest(F.EC2_PUBLIC_IP, "Public IP"),
                 max_(F.LAST_BACKUP, "Last backup"), latest(F.ALARM_NAMES, "Alarms"), latest(F.METRIC_NAMES, "Metrics"),
                 latest(F.SNAPSHOT_IDS, "Snapshots"), latest(F.EVENT_NAMES, "Last CloudTrail events")],
        buckets=ACCOUNT_REGION + [terms(F.ID, "Instance", 1000)]),
    # -- RDS
    selector("[AWS] RDS State Selector", "current", (F.STATE, "State"), *ACCOUNT_CONTROLS, (F.CLASS, "Class"),
             (F.RDS_ENGINE, "Engine")),
    Vis("[AWS] RDS Running histogram", "histogram", "daily", is_type("rds.db_instance"), [distinct(F.RDS_ARN, "RDS instances")],
        [per_time(F.TS, "Collection day"), terms(F.STATE, "State", 10)],
        description="RDS instances per state on each collection day (each once per day)"),
    Vis("[AWS] RDS Instance Details", "table", RDS_DETAILS,
        metrics=[latest(F.CLASS, "Class"), latest(F.RDS_ENGINE, "Engine"), latest(F.RDS_ENGINE_VERSION, "Version"),
                 latest(F.STATE, "State"), sum_(F.VCPUS, "vCPU"), sum_(F.MEM_GIB, "RAM [GiB]"),
                 latest(F.RDS_MULTI_AZ, "Multi-AZ"), max_(F.LAST_BACKUP, "Last backup"),
                 max_(F.RESTORABLE, "Latest restorable"), latest(F.RDS_ENDPOINT, "Endpoint")],
        buckets=ACCOUNT_REGION + [terms(F.ID, "RDS instance", 1000)]),
    # -- AMI
    selector("[AWS] Image Selector", "current", *ACCOUNT_CONTROLS, (F.OWNED, "Own image"), (F.IMAGE_STATE, "State"),
             (F.IMAGE_TYPE, "Image type")),
    Vis("[AWS] AMI type by time", "histogram", IMAGE_DETAILS, metrics=[count("Images")],
        buckets=[per_time(F.IMAGE_CREATED, "Created (month)", "M"), terms(F.OWNED, "Own image", 5)],
        description="AMIs per creation month, own images apart from shared/public ones"),
    Vis("[AWS] Total Images", "metric", IMAGE_DETAILS, metrics=[count("Images")]),
    # -- Security
    selector("[AWS] Security Selector", "current", *ACCOUNT_CONTROLS, (F.ATTACHED, "Attached"), (F.SG_NAME, "Group name"),
             (F.SG_VPC, "VPC")),
    Vis("[AWS] Security Group ID by InstanceID", "table", EC2_INSTANCES,
        metrics=[latest(F.TAGS, "Instance tags"), latest(F.STATE, "State")],
        buckets=[terms(F.SGS, "Security group", 1000), terms(F.ID, "Instance", 1000)]),
    Vis("[AWS] Instance by Security Group", "table", EC2_INSTANCES,
        metrics=[latest(F.EC2_TYPE, "Type"), latest(F.STATE, "State"), latest(F.EC2_VPC, "VPC"),
                 latest(F.EC2_PRIVATE_IP, "Private IP"), latest(F.TAGS, "Tags")],
        buckets=[terms(F.ID, "Instance", 1000), terms(F.SGS, "Security group", 100, missing="(none)")]),
    Vis("[AWS] Security Group connect state", "table", SECURITY_GROUPS,
        metrics=[latest(F.SG_NAME, "Group name"), latest(F.SG_VPC, "VPC"), max_(F.ATTACHED_COUNT, "Attached resources"),
                 latest(F.ATTACHED_TYPE, "Attached kinds"), latest(F.ATTACHED_ID, "Attached to")],
        buckets=[terms(F.ATTACHED, "Attached", 2)] + ACCOUNT_REGION + [terms(F.ID, "Security group", 1000)]),
    Vis("[AWS] Unattached Security Groups", "metric", SECURITY_GROUPS, f"{F.ATTACHED}:false",
        [count("Security groups attached to nothing")]),
    Vis("[AWS] Total Security Groups", "metric", SECURITY_GROUPS, metrics=[count("Security groups")]),
    # -- Snapshots
    selector("[AWS] Snapshot Selector", "current", *ACCOUNT_CONTROLS, (F.TYPE, "Kind"), (F.SNAP_STATE, "EBS state"),
             (F.DBSNAP_STATUS, "RDS status")),
    Vis("[AWS] Snapshots by time", "histogram", SNAPSHOTS_LIST, is_type("ec2.snapshot"), [count("EBS snapshots")],
        [per_time(F.SNAP_START, "Started (day)"), terms(F.SNAP_STATE, "State", 10)],
        description="EBS snapshots that exist now, per day they were started"),
    Vis("[AWS] Total EBS Snapshots", "metric", SNAPSHOTS_LIST, is_type("ec2.snapshot"), [count("EBS snapshots")]),
    Vis("[AWS] Total RDS Snapshots", "metric", SNAPSHOTS_LIST, is_type("rds.db_snapshot"), [count("RDS snapshots")]),
    # -- Backups
    selector("[AWS] Backup Selector", "current", *ACCOUNT_CONTROLS, (F.JOB_STATE, "Job state"),
             (F.JOB_RESOURCE_TYPE, "Resource type"), (F.JOB_VAULT, "Vault")),
    Vis("[AWS] Backup by time", "histogram", BACKUP_LIST, metrics=[count("Backup jobs")],
        buckets=[per_time(F.JOB_CREATED, "Created (day)"), terms(F.JOB_STATE, "State", 10)],
        description="Backup jobs AWS Backup lists, per day they were created, by state"),
    Vis("[AWS] Completed Backups", "metric", BACKUP_LIST, f'{F.JOB_STATE}:"COMPLETED"', [count("Completed backup jobs")]),
    Vis("[AWS] Failed Backups", "metric", BACKUP_LIST, f'{F.JOB_STATE}:("FAILED" OR "ABORTED" OR "EXPIRED")',
        [count("Failed, aborted or expired backup jobs")]),
    Vis("[AWS] Last Backup per Instance", "table", EC2_INSTANCES,
        metrics=[max_(F.LAST_BACKUP, "Last backup"), latest(F.BACKUP_SOURCE, "From"), latest(F.BACKUPS_KNOWN, "Known"),
                 latest(F.TAGS, "Tags")],
        buckets=ACCOUNT_REGION + [terms(F.ID, "Instance", 1000)]),
    # -- CloudTrail
    selector("[AWS] Event Selector", "trail", *ACCOUNT_CONTROLS, (F.SOURCE, "Event source"), (F.EVENT, "Event name"),
             (F.WHO_TYPE, "Identity type"), (F.ERROR, "Error code")),
    Vis("[AWS] Events Name Activity", "table", "trail",
        metrics=[count("Events"), distinct(F.WHO, "Users and roles"), max_(F.TS, "Last seen")],
        buckets=[terms(F.EVENT, "Event name", 100, by="Events", order="desc"), terms(F.SOURCE, "Event source", 10)]),
    Vis("[AWS] CloudTrail", "histogram", "trail", metrics=[count("Events")], buckets=[per_time(F.TS, "Day")],
        description="CloudTrail events per day"),
    Vis("[AWS] CloudTrail Events by Source", "histogram", "trail", metrics=[count("Events")],
        buckets=[per_time(F.TS, "Day"), terms(F.SOURCE, "Event source", 10, by="Events", order="desc")]),
    Vis("[AWS] CloudTrail Event Count", "metric", "trail", metrics=[count("CloudTrail events")]),
    Vis("[AWS] CloudTrail Events by User", "table", "trail", metrics=[count("Events")],
        buckets=[terms(F.WHO, "User or role", 100, by="Events", order="desc", missing="(AWS service)"),
                 terms(F.WHO_TYPE, "Identity type", 10, missing="-")]),
    Vis("[AWS] CloudTrail Events by Account and Region", "table", "trail", metrics=[count("Events")],
        buckets=ACCOUNT_REGION),
    Vis("[AWS] CloudTrail Errors", "table", "trail", f"_exists_:{F.ERROR}", [count("Events")],
        [terms(F.ERROR, "Error code", 50, by="Events", order="desc"), terms(F.EVENT, "Event name", 50, by="Events", order="desc")]),
    Vis("[AWS] CloudTrail Error Count", "metric", "trail", f"_exists_:{F.ERROR}", [count("Events with an error")]),
    Vis("[AWS] Access Denied", "table", "trail", ACCESS_DENIED, [count("Events")],
        [terms(F.WHO, "User or role", 100, by="Events", order="desc", missing="(AWS service)"),
         terms(F.EVENT, "Event name", 50, by="Events", order="desc"), terms(F.ACCOUNT, "Account", 100)]),
    Vis("[AWS] Access Denied Count", "metric", "trail", ACCESS_DENIED, [count("Access denied")]),
    Vis("[AWS] Console Logins", "table", "trail", f'{F.EVENT}:"ConsoleLogin"', [count("Logins")],
        [split("Outcome", ("Success", f"NOT _exists_:{F.ERROR_MESSAGE}"), ("Failure", f"_exists_:{F.ERROR_MESSAGE}")),
         terms(F.WHO, "User", 100, by="Logins", order="desc", missing="(unknown)"), terms(F.SOURCE_IP, "Source IP", 20, missing="-")]),
    Vis("[AWS] Console Login Count", "metric", "trail", f'{F.EVENT}:"ConsoleLogin"', [count("Console logins")]),
    Vis("[AWS] Failed Console Logins", "metric", "trail", f'{F.EVENT}:"ConsoleLogin" AND _exists_:{F.ERROR_MESSAGE}',
        [count("Failed console logins")]),
    # -- IAM
    selector("[AWS] IAM Selector", "users", (F.ACCOUNT, "Account"), (F.ACCOUNT_NAME, "Account name"),
             (F.USER_GROUPS, "Group"), (F.LOGIN_METHODS, "Login method"), (F.INACTIVE, "Inactive")),
    Vis("[AWS] User last login", "table", IAM_DETAILS,
        metrics=[max_(F.LAST_ACTIVITY, "Last activity"), latest(F.LAST_METHOD, "Last used"),
                 max_(F.DAYS_IDLE, "Days since last activity"), max_(F.DAYS_PASSWORD, "Days since console login"),
                 max_(F.DAYS_KEY1, "Days since access key 1"), max_(F.DAYS_KEY2, "Days since access key 2"),
                 latest(F.INACTIVE, "Inactive")],
        buckets=[terms(F.ACCOUNT, "Account"), terms(F.USER, "User", 1000)]),
    Vis("[AWS] IAM Users", "metric", IAM_DETAILS, NOT_ROOT, [count("IAM users")]),
    Vis("[AWS] Inactive IAM Users", "metric", IAM_DETAILS, f"{F.INACTIVE}:true AND {NOT_ROOT}", [count("Inactive IAM users")]),
    Vis("[AWS] IAM Users Never Used", "metric", IAM_DETAILS, f"{F.NEVER_USED}:true AND {NOT_ROOT}",
        [count("IAM users never used")]),
    Vis("[AWS] IAM Login Methods", "table", IAM_DETAILS, metrics=[count("Users")],
        buckets=[terms(F.LOGIN_METHODS, "Login method", 10, by="Users", order="desc")]),
    # -- Billing
    selector("[AWS] Billing Selector", "billing", (F.PERIOD, "Billing period"), (F.USAGE_ACCOUNT, "Account"),
             (F.PRODUCT, "Service"), (F.ITEM_TYPE, "Line item type"), (F.PRODUCT_REGION, "Region")),
    Vis("[AWS] Billing Total Cost", "metric", "billing", metrics=[sum_(F.COST, "Total cost (unblended)")]),
    Vis("[AWS] Billing Cost before Credits and Taxes", "metric", "billing", f"NOT ({CREDITS} OR {TAXES} OR {REFUNDS})",
        [sum_(F.COST, "Cost before credits, refunds and taxes")]),
    Vis("[AWS] Billing Credits", "metric", "billing", CREDITS, [sum_(F.COST, "Credits")]),
    Vis("[AWS] Billing Taxes", "metric", "billing", TAXES, [sum_(F.COST, "Taxes")]),
    Vis("[AWS] Cost per Month", "table", "billing", metrics=[sum_(F.COST, "Cost")],
        buckets=[terms(F.PERIOD, "Billing period", 36)]),
    Vis("[AWS] Credits and Taxes", "table", "billing", metrics=[sum_(F.COST, "Amount"), count("Line items")],
        buckets=[terms(F.PERIOD, "Billing period", 36), split("Kind", ("Credits", CREDITS), ("Refunds", REFUNDS),
                                                               ("Taxes", TAXES))]),
    Vis("[AWS] Cost per Month by Service", "histogram", "billing", metrics=[sum_(F.COST, "Cost")],
        buckets=[terms(F.PERIOD, "Billing period", 36), terms(F.PRODUCT, "Service", 10, by="Cost", order="desc")]),
    Vis("[AWS] Cost per Service", "table", "billing", metrics=[sum_(F.COST, "Cost"), latest(F.PRODUCT_NAME, "Product")],
        buckets=[terms(F.PRODUCT, "Service", 100, by="Cost", order="desc")]),
    Vis("[AWS] Cost per Account", "table", "billing", metrics=[sum_(F.COST, "Cost")],
        buckets=[terms(F.USAGE_ACCOUNT, "Account", 500, by="Cost", order="desc")]),
    Vis("[AWS] Cost per Usage Type", "table", "billing", metrics=[sum_(F.COST, "Cost"), sum_(F.USAGE_AMOUNT, "Usage")],
        buckets=[terms(F.USAGE_TYPE, "Usage type", 50, by="Cost", order="desc"), terms(F.PRODUCT, "Service", 5)]),
    Vis("[AWS] Top Resources by Cost", "table", "billing", f"_exists_:{F.RESOURCE}", [sum_(F.COST, "Cost")],
        [terms(F.RESOURCE, "Resource", 20, by="Cost", order="desc"), terms(F.PRODUCT, "Service", 5)]),
    Vis("[AWS] Daily Cost", "histogram", "billing", metrics=[sum_(F.COST, "Cost")],
        buckets=[per_time(F.TS, "Usage day"), terms(F.PRODUCT, "Service", 5, by="Cost", order="desc")]),
    # -- S3
    selector("[AWS] S3 Selector", "s3", (F.ACCOUNT, "Account"), (F.BUCKET, "Bucket"), (F.STORAGE_CLASS, "Storage class")),
    Vis("[AWS] S3 Bucket Totals", "table", "s3", is_type("s3.bucket"),
        [latest(F.OBJECTS, "Objects"), latest(F.BYTES_TOTAL, "Size"), max_(F.TS, "Listed")],
        [terms(F.BUCKET, "Bucket", 1000), terms(F.ACCOUNT, "Account", 10)],
        description="Objects and bytes of each bucket at its latest listing in the picked range"),
    Vis("[AWS] S3 Object Search", "table", "s3", is_type("s3.object"),
        [latest(F.SIZE, "Size"), latest(F.STORAGE_CLASS, "Storage class"), latest(F.MODIFIED, "Last modified"),
         max_(F.TS, "Listed")],
        [terms(F.BUCKET, "Bucket", 100), terms(F.KEY, "Key", 1000)],
        description="Each object once, as last listed; type s3.key_parts:word (a key fragment) or s3.key:prefix* in the query bar"),
    Vis("[AWS] S3 Storage Classes", "histogram", "s3", is_type("s3.object"), [sum_(F.SIZE, "Bytes")],
        [per_time(F.TS, "Listing day"), terms(F.STORAGE_CLASS, "Storage class", 10)],
        description="Bytes per storage class on each listing day"),
    Vis("[AWS] S3 Buckets", "metric", "s3", is_type("s3.bucket"), [distinct(F.BUCKET, "Buckets")]),
    # -- Gateways
    selector("[AWS] Gateways Selector", "current", *ACCOUNT_CONTROLS, (F.TYPE, "Gateway kind")),
    Vis("[AWS] Internet Gateway", "table", "current", is_type("ec2.internet_gateway"),
        [latest(F.IGW_VPC, "VPC"), latest(F.IGW_STATE, "Attachment state"), latest(F.TAGS, "Tags")],
        ACCOUNT_REGION + [terms(F.ID, "Internet gateway", 1000)]),
    Vis("[AWS] Transit Gateways", "table", "current", is_type("ec2.transit_gateway"),
        [latest(F.TGW_STATE, "State"), latest(F.TGW_DESCRIPTION, "Description"), latest(F.TGW_ASN, "Amazon side ASN"),
         latest(F.TGW_OWNER, "Owner"), latest(F.TAGS, "Tags")],
        ACCOUNT_REGION + [terms(F.ID, "Transit gateway", 1000)]),
    Vis("[AWS] Nat Gateway", "table", "current", is_type("ec2.nat_gateway"),
        [latest(F.NAT_STATE, "State"), latest(F.NAT_VPC, "VPC"), latest(F.NAT_SUBNET, "Subnet"),
         latest(F.NAT_PUBLIC_IP, "Public IP"), latest(F.TAGS, "Tags")],
        ACCOUNT_REGION + [terms(F.ID, "NAT gateway", 1000)]),
    Vis("[AWS] Internet Gateway Count", "metric", "current", is_type("ec2.internet_gateway"), [count("Internet gateways")]),
    Vis("[AWS] NAT Gateway Count", "metric", "current", is_type("ec2.nat_gateway"), [count("NAT gateways")]),
    Vis("[AWS] Transit Gateway Count", "metric", "current", is_type("ec2.transit_gateway"), [count("Transit gateways")]),
    # -- Changes
    selector("[AWS] Changes Selector", "changes", (F.ACTION, "Action"), (F.TYPE, "Resource type"), *ACCOUNT_CONTROLS),
    Vis("[AWS] Changes over time", "histogram", "changes", metrics=[count("Changes")],
        buckets=[per_time(F.TS, "Day"), terms(F.ACTION, "Action", 5)]),
    Vis("[AWS] Changes by Resource Type", "table", "changes", metrics=[count("Changes")],
        buckets=[terms(F.TYPE, "Resource type", 50, by="Changes", order="desc"), terms(F.ACTION, "Action", 5)]),
    Vis("[AWS] Deleted Resources", "table", "changes", f'{F.ACTION}:"deleted"',
        [max_(F.TS, "Deleted (window end)"), latest(F.NAME, "Name"), latest(F.CHANGE_USER, "By"),
         latest(F.CHANGE_EVENT, "Event")],
        ACCOUNT_REGION + [terms(F.TYPE, "Resource type", 50), terms(F.ID, "Resource", 1000)]),
    Vis("[AWS] Resources Created", "metric", "changes", f'{F.ACTION}:"created"', [count("Created")]),
    Vis("[AWS] Resources Modified", "metric", "changes", f'{F.ACTION}:"modified"', [count("Modified")]),
    Vis("[AWS] Resources Deleted", "metric", "changes", f'{F.ACTION}:"deleted"', [count("Deleted")]),
]


# ---------------------------------------------------------------- sections (one dashboard each)

@dataclass
class Section:
    name: str
    answers: str                       # what the section answers (dashboard description, README)
    views: list                        # titles of visualizations and saved searches, in layout order

    @property
    def title(self) -> str:
        return f"[AWS] {self.name}"


SECTIONS = [
    Section("Overview", "How many instances and databases run, with how many vCPUs and how much memory, where, "
            "with which alarms, tags and metrics",
            [NAVIGATION, "[AWS] Overview Selector", "[AWS] Total Instances", "[AWS] Total CPU Running Instances",
             "[AWS] Total Memory Running Instances", "[AWS] Total RDS Instances", "[AWS] Total CPU Running RDS",
             "[AWS] Total Memory Running RDS", "[AWS] Instance List", "[AWS] RDS Instance List", "[AWS] Alarm List",
             "[AWS] Tags List", CLOUDWATCH_METRICS]),
    Section("EC2", "Every EC2 instance in detail: state over time, capacity, OP5 monitoring, tags, alarms, metrics, "
            "snapshots, AMI, last backup and last CloudTrail events",
            [NAVIGATION, "[AWS] State Selector", "[AWS] Total Instances", "[AWS] Total CPU Running Instances",
             "[AWS] Total Memory Running Instances", "[AWS] OP5 Monitored Count", "[AWS] OP5 NOT Monitored Count",
             "[AWS] Running histogram", "[AWS] OP5 Monitored Details", "[AWS] Instance Details List", CLOUDWATCH_METRICS,
             EC2_INSTANCES]),
    Section("RDS", "Every RDS instance: class, engine, state over time, capacity, backups",
            [NAVIGATION, "[AWS] RDS State Selector", "[AWS] Total RDS Instances", "[AWS] Total CPU Running RDS",
             "[AWS] Total Memory Running RDS", "[AWS] RDS Running histogram", "[AWS] RDS Instance Details", RDS_DETAILS,
             CLOUDWATCH_METRICS]),
    Section("AMI", "Which images exist, which were made in the accounts, and when they were created",
            [NAVIGATION, "[AWS] Image Selector", "[AWS] Total Images", "[AWS] AMI type by time", IMAGE_DETAILS,
             "[AWS] Image by Admin Details"]),
    Section("Security", "Which security groups protect which instances, and which groups are attached to nothing",
            [NAVIGATION, "[AWS] Security Selector", "[AWS] Total Security Groups", "[AWS] Unattached Security Groups",
             "[AWS] Security Group ID by InstanceID", "[AWS] Instance by Security Group",
             "[AWS] Security Group connect state", SECURITY_GROUPS]),
    Section("Snapshots", "Which EBS and RDS snapshots exist and when they were taken",
            [NAVIGATION, "[AWS] Snapshot Selector", "[AWS] Total EBS Snapshots", "[AWS] Total RDS Snapshots",
             "[AWS] Snapshots by time", SNAPSHOTS_LIST]),
    Section("Backups", "Which AWS Backup jobs ran, failed or completed, and when each instance was last backed up",
            [NAVIGATION, "[AWS] Backup Selector", "[AWS] Completed Backups", "[AWS] Failed Backups", "[AWS] Backup by time",
             "[AWS] Last Backup per Instance", BACKUP_LIST]),
    Section("S3", "Where an object is (search by key fragment), how big buckets are, what is stored in which class",
            ["[AWS] Navigation", "[AWS] S3 Selector", "[AWS] S3 Buckets", "[AWS] S3 Bucket Totals",
             "[AWS] S3 Storage Classes", "[AWS] S3 Object Search", "[AWS] S3 Objects"]),
    Section("CloudTrail", "What happened, when, by whom, where; errors, access denied and console logins",
            [NAVIGATION, "[AWS] Event Selector", "[AWS] CloudTrail Event Count", "[AWS] CloudTrail Error Count",
             "[AWS] Access Denied Count", "[AWS] Console Login Count", "[AWS] Failed Console Logins", "[AWS] CloudTrail",
             "[AWS] CloudTrail Events by Source", "[AWS] Events Name Activity", "[AWS] CloudTrail Events by User",
             "[AWS] CloudTrail Events by Account and Region", "[AWS] CloudTrail Errors", "[AWS] Access Denied",
             "[AWS] Console Logins", TRAIL_EVENTS]),
    Section("IAM", "Who can log in how, who has not used their access for how long, who never did",
            [NAVIGATION, "[AWS] IAM Selector", "[AWS] IAM Users", "[AWS] Inactive IAM Users", "[AWS] IAM Users Never Used",
             "[AWS] IAM Login Methods", IAM_DETAILS, "[AWS] User last login"]),
    Section("Billing", "What the estate costs per month, service, account, usage type and resource, with credits, "
            "refunds and taxes apart",
            [NAVIGATION, "[AWS] Billing Selector", "[AWS] Billing Total Cost", "[AWS] Billing Cost before Credits and Taxes",
             "[AWS] Billing Credits", "[AWS] Billing Taxes", "[AWS] Cost per Month", "[AWS] Credits and Taxes",
             "[AWS] Cost per Month by Service", "[AWS] Daily Cost", "[AWS] Cost per Service", "[AWS] Cost per Account",
             "[AWS] Cost per Usage Type", "[AWS] Top Resources by Cost"]),
    Section("Gateways", "Which internet, NAT and transit gateways exist, where, attached to what",
            [NAVIGATION, "[AWS] Gateways Selector", "[AWS] Internet Gateway Count", "[AWS] NAT Gateway Count",
             "[AWS] Transit Gateway Count", "[AWS] Internet Gateway", "[AWS] Transit Gateways", "[AWS] Nat Gateway"]),
    Section("Changes", "What was created, modified or deleted, when and by whom",
            [NAVIGATION, "[AWS] Changes Selector", "[AWS] Resources Created", "[AWS] Resources Modified",
             "[AWS] Resources Deleted", "[AWS] Changes over time", "[AWS] Changes by Resource Type", "[AWS] Deleted Resources",
             "[AWS] Latest Changes"]),
]


# ====================================================================== writing the saved objects

def dumps(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def lucene(query: str) -> dict:
    return {"query": query, "language": "lucene"}


INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"

SIZES = {"metric": (8, 7), "table": (24, 15), "histogram": (24, 13), "line": (24, 13), "controls": (48, 6),
         "markdown": (48, 4), "search": (48, 15)}


class Generator:
    def __init__(self, index_prefix: str = "") -> None:
        # index.index_prefix of the config puts a prefix before every index name
        self.patterns = {k: replace(ip, title=index_prefix + ip.title) for k, ip in INDEX_PATTERNS.items()}
        self.searches = {s.title: s for s in SEARCHES}
        self.visualizations = {v.title: v for v in VISUALIZATIONS}
        assert len(self.searches) == len(SEARCHES) and len(self.visualizations) == len(VISUALIZATIONS), "duplicate title"
        self.fields: dict = {}          # index pattern title -> field -> set of uses

    # ---- what a panel reads
    def pattern_of(self, source: str) -> IndexPattern:
        if source in self.patterns:
            return self.patterns[source]
        return self.patterns[self.searches[source].source]

    def use(self, ip: IndexPattern, fld: str, how: str) -> None:
        self.fields.setdefault(ip.title, {}).setdefault(fld, set()).add(how)

    def use_query(self, ip: IndexPattern, query: str) -> None:
        for fld in query_fields(query):
            self.use(ip, fld, "filter")

    # ---- objects
    def index_pattern(self, ip: IndexPattern) -> dict:
        attrs = {"title": ip.title, "fields": "[]"}
        if ip.time_field:
            attrs["timeFieldName"] = ip.time_field
            self.use(ip, ip.time_field, "time")
        if ip.formats:
            attrs["fieldFormatMap"] = dumps(ip.formats)
        return {"type": "index-pattern", "id": ip.id, "attributes": attrs, "references": [],
                "migrationVersion": {"index-pattern": MIGRATION["index-pattern"]}}

    def search(self, s: Search) -> dict:
        ip = self.patterns[s.source]
        self.use_query(ip, s.query)
        for fld, _ in s.sort:
            self.use(ip, fld, "sort")
        source = {"query": lucene(s.query), "filter": [], "highlightAll": True, "version": True, "indexRefName": INDEX_REF}
        attrs = {"title": s.title, "description": describe(s.description, ip), "hits": 0, "columns": s.columns,
                 "sort": s.sort, "version": 1, "kibanaSavedObjectMeta": {"searchSourceJSON": dumps(source)}}
        return {"type": "search", "id": object_id("search", s.title), "attributes": attrs,
                "references": [{"name": INDEX_REF, "type": "index-pattern", "id": ip.id}],
                "migrationVersion": {"search": MIGRATION["search"]}}

    def vis_state(self, v: Vis, ip: Optional[IndexPattern]) -> tuple:
        """(visState, extra references)."""
        refs = []
        if v.kind == "markdown":
            links = " · ".join(f"[{s.name}](#/view/{object_id('dashboard', s.title)})" for s in SECTIONS)
            params = {"fontSize": 12, "openLinksInNewTab": False, "markdown": f"**AWS** · {links}"}
            return {"title": v.title, "type": "markdown", "aggs": [], "params": params}, refs
        if v.kind == "controls":
            controls = []
            for i, (fld, label) in enumerate(v.controls):
                self.use(ip, fld, "terms")
                ref = f"control_{i}_index_pattern"
                refs.append({"name": ref, "type": "index-pattern", "id": ip.id})
                controls.append({"id": str(i + 1), "fieldName": fld, "label": label, "parent": "", "type": "list",
                                 "indexPatternRefName": ref,
                                 "options": {"type": "terms", "multiselect": True, "dynamicOptions": True, "size": 10,
                                             "order": "desc"}})
            params = {"controls": controls, "updateFiltersOnChange": False, "useTimeFilter": ip.time_field is not None,
                      "pinFilters": False}
            return {"title": v.title, "type": "input_control_vis", "aggs": [], "params": params}, refs
        aggs = []
        ids = {}
        for n, a in enumerate(v.metrics + v.buckets, start=1):
            ids[a.label] = str(n)
        schemas = bucket_schemas(v.kind, len(v.buckets))
        for a, schema in zip(v.metrics + v.buckets, ["metric"] * len(v.metrics) + schemas):
            params = dict(a.params)
            if a.field:
                params["field"] = a.field
                self.use(ip, a.field, a.type)
            if a.type == "top_hits":
                self.use(ip, params["sortField"], "sort")
            if a.type == "terms" and params["orderBy"] != "_key":
                params["orderBy"] = ids[params["orderBy"]]
            if a.type == "filters":
                for f in params["filters"]:
                    self.use_query(ip, f["input"]["query"])
            if a.label:
                params["customLabel"] = a.label
            aggs.append({"id": ids[a.label], "enabled": True, "type": a.type, "schema": schema, "params": params})
        return {"title": v.title, "type": v.kind, "aggs": aggs, "params": vis_params(v)}, refs

    def visualization(self, v: Vis) -> dict:
        ip = self.pattern_of(v.source) if v.source else None
        state, refs = self.vis_state(v, ip)
        source: dict = {"query": lucene(v.query), "filter": []}
        attrs = {"title": v.title, "description": describe(v.description, ip), "uiStateJSON": "{}", "version": 1}
        if ip is not None and v.kind not in ("markdown", "controls"):
            self.use_query(ip, v.query)
            if v.source in self.searches:
                attrs["savedSearchRefName"] = "search_0"
                refs.append({"name": "search_0", "type": "search", "id": object_id("search", v.source)})
            else:
                source["indexRefName"] = INDEX_REF
                refs.append({"name": INDEX_REF, "type": "index-pattern", "id": ip.id})
        attrs["visState"] = dumps(state)
        attrs["kibanaSavedObjectMeta"] = {"searchSourceJSON": dumps(source)}
        return {"type": "visualization", "id": object_id("visualization", v.title), "attributes": attrs,
                "references": refs, "migrationVersion": {"visualization": MIGRATION["visualization"]}}

    def dashboard(self, s: Section) -> dict:
        panels, refs = [], []
        x = y = row_height = 0
        for n, title in enumerate(s.views):
            kind = "search" if title in self.searches else "visualization"
            if kind == "visualization" and title not in self.visualizations:
                raise KeyError(f"section {s.name}: no view titled {title!r}")
            w, h = SIZES["search" if kind == "search" else self.visualizations[title].kind]
            if x + w > 48:
                x, y, row_height = 0, y + row_height, 0
            ref = f"panel_{n}"
            panels.append({"version": KIBANA_VERSION, "gridData": {"x": x, "y": y, "w": w, "h": h, "i": str(n + 1)},
                           "panelIndex": str(n + 1), "embeddableConfig": {}, "panelRefName": ref})
            refs.append({"name": ref, "type": kind, "id": object_id(kind, title)})
            x, row_height = x + w, max(row_height, h)
        attrs = {"title": s.title, "description": s.answers, "hits": 0, "timeRestore": False, "version": 1,
                 "panelsJSON": dumps(panels), "optionsJSON": dumps({"hidePanelTitles": False, "useMargins": True}),
                 "kibanaSavedObjectMeta": {"searchSourceJSON": dumps({"query": lucene(""), "filter": []})}}
        return {"type": "dashboard", "id": object_id("dashboard", s.title), "attributes": attrs, "references": refs,
                "migrationVersion": {"dashboard": MIGRATION["dashboard"]}}

    def objects(self) -> list:
        out = [self.index_pattern(ip) for ip in self.patterns.values()]
        out += [self.search(s) for s in SEARCHES]
        out += [self.visualization(v) for v in VISUALIZATIONS]
        out += [self.dashboard(s) for s in SECTIONS]
        used = {t for s in SECTIONS for t in s.views}
        unused = [t for t in list(self.searches) + list(self.visualizations) if t not in used]
        if unused:
            raise ValueError(f"views on no dashboard: {unused}")
        return out

    def field_list(self) -> dict:
        return {ip: {f: sorted(uses) for f, uses in sorted(fields.items())} for ip, fields in sorted(self.fields.items())}


def bucket_schemas(kind: str, n: int) -> list:
    if kind == "table":
        return ["bucket"] * n
    if kind in ("histogram", "line"):
        return ["segment", "group", "split"][:n]
    if kind == "metric":
        return ["group"] * n
    raise ValueError(kind)


def vis_params(v: Vis) -> dict:
    if v.kind == "metric":
        return {"addTooltip": True, "addLegend": False, "type": "metric",
                "metric": {"percentageMode": False, "useRanges": False, "colorSchema": "Green to Red",
                           "metricColorMode": "None", "colorsRange": [{"from": 0, "to": 10000}],
                           "labels": {"show": True}, "invertColors": False,
                           "style": {"bgFill": "#000", "bgColor": False, "labelColor": False, "subText": "", "fontSize": 40}}}
    if v.kind == "table":
        return {"perPage": 20, "showPartialRows": False, "showMetricsAtAllLevels": False, "showTotal": False,
                "totalFunc": "sum", "percentageCol": "", "sort": {"columnIndex": None, "direction": None}}
    # histogram / line: one value axis, stacked series
    return {"type": v.kind, "addTooltip": True, "addLegend": True, "legendPosition": "right", "times": [],
            "addTimeMarker": False, "grid": {"categoryLines": False},
            "categoryAxes": [{"id": "CategoryAxis-1", "type": "category", "position": "bottom", "show": True, "style": {},
                              "scale": {"type": "linear"}, "labels": {"show": True, "filter": True, "truncate": 100},
                              "title": {}}],
            "valueAxes": [{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": "left", "show": True,
                           "style": {}, "scale": {"type": "linear", "mode": "normal"},
                           "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                           "title": {"text": v.metrics[0].label}}],
            "seriesParams": [{"show": True, "type": v.kind if v.kind == "line" else "histogram", "mode": "stacked",
                              "data": {"label": v.metrics[0].label, "id": "1"}, "valueAxis": "ValueAxis-1",
                              "drawLinesBetweenPoints": True, "showCircles": True}]}


def describe(text: str, ip: Optional[IndexPattern]) -> str:
    if ip is None:
        return text
    return (text + ". " if text else "") + f"Figures: {ip.meaning} ({ip.title})."


_FIELD = re.compile(r"(?<![\w.@])([A-Za-z@][\w.@]*):")
_EXISTS = re.compile(r"_exists_:([\w.@]+)")


def query_fields(query: str) -> list:
    """Fields a Lucene query string names (field:value and _exists_:field)."""
    text = re.sub(r'"[^"]*"', '""', query)
    return sorted(set(_FIELD.findall(text)) | set(_EXISTS.findall(text)))


def render(index_prefix: str = "") -> tuple:
    g = Generator(index_prefix)
    objects = g.objects()
    ndjson = "".join(dumps(o) + "\n" for o in objects)
    fields = json.dumps(g.field_list(), indent=1, sort_keys=True) + "\n"
    return ndjson, fields


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when the committed files are stale")
    ap.add_argument("--index-prefix", default="", help="the config's index.index_prefix: write the saved objects for "
                    "prefixed index names to --out instead")
    ap.add_argument("--out", help="with --index-prefix: the NDJSON file to write")
    a = ap.parse_args(argv)
    if a.index_prefix:
        if not a.out or a.check:
            ap.error("--index-prefix writes to --out (and cannot --check)")
        Path(a.out).write_text(render(a.index_prefix)[0], encoding="utf-8")
        print(f"wrote {a.out} for indices prefixed {a.index_prefix!r}")
        return 0
    ndjson, fields = render()
    stale = [p for p, text in ((OUTPUT, ndjson), (FIELDS_OUTPUT, fields))
             if not p.exists() or p.read_text(encoding="utf-8") != text]
    if a.check:
        for p in stale:
            print(f"{p} is stale: run python3 dashboards/generate.py", file=sys.stderr)
        return 1 if stale else 0
    for p, text in ((OUTPUT, ndjson), (FIELDS_OUTPUT, fields)):
        p.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.name} ({ndjson.count(chr(10))} saved objects) and {FIELDS_OUTPUT.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
