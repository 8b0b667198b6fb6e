#!/usr/bin/env python3
"""Generate a realistic CloudTrail trail bucket (deterministic with a seed).

Layout written (the same as CloudTrail delivers it):

  organization trail   <prefix>/AWSLogs/o-<10 chars>/<account>/CloudTrail/<region>/YYYY/MM/DD/
                           <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 chars>.json.gz
  single-account trail <prefix>/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/...json.gz
  digests              <prefix>/AWSLogs/[o-..../]<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/
                           <account>_CloudTrail-Digest_<region>_<trail>_<region>_<YYYYMMDDTHHmmssZ>.json.gz
  AWS Config check     <prefix>/AWSLogs/<account>/Config/ConfigWritabilityCheckFile (and one under CloudTrail/)

Digests and ConfigWritabilityCheckFile must never be fetched.

Records follow the CloudTrail record format (eventVersion, userIdentity of the
kinds IAMUser / AssumedRole / Root / AWSService / AWSAccount, eventTime,
eventSource, eventName, awsRegion, sourceIPAddress, userAgent,
requestParameters, responseElements, additionalEventData, serviceEventDetails,
requestID, eventID, readOnly, eventType, managementEvent, recipientAccountId,
eventCategory, tlsDetails, resources, errorCode/errorMessage, sharedEventID).
The first file of every day folder D was delivered shortly after midnight and
holds events of D-1 late in the evening (UTC). With specials (default on) the
trail also holds events whose free-form parts change type for the same field
path (requestParameters.filter string vs object, responseElements null /
object / list), one responseElements string larger than 40 KB, one event with
more than 1500 distinct field names in requestParameters, non-ASCII text and
a probe word searchable through the payload text.

Importable:

    import gen_cloudtrail as g
    trail = g.generate(g.Spec(accounts=3, regions=["eu-west-1","us-east-1"], days=2,
                              start=date(2026,11,20), single_account_trail=True))
    trail.upload(s3_client, "bucket")          # or trail.write_dir(path)
    trail.expected_ids()                       # set of eventIDs that must be indexed
    trail.expected_counts("awscli-trail")      # {"awscli-trail-2026.11.19": 3, ...}
    trail.log_keys()                           # keys that fetch must store
    trail.add(g.corrupt_objects(...))          # corrupt objects of every kind
    trail.add([g.log_object(...)])             # a late file

Runnable:

    gen_cloudtrail.py local --out DIR [options]
    gen_cloudtrail.py s3 --bucket B --endpoint-url http://127.0.0.1:PORT [--create-bucket] [options]
    options: --seed --prefix --accounts N|a,b,c --regions r1,r2 --days N --start-date YYYY-MM-DD
             --files-per-prefix N --records-per-file N --size-target BYTES --no-org
             --single-account-trail --no-specials --corrupt --summary FILE
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import random
import string
import sys
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Optional

UTC = timezone.utc
PROBE_WORD = "quokkaneedle42"        # appears only inside requestParameters of one special event
BIG_STRING_BYTES = 45_000            # > 40 KB single string inside responseElements
MANY_FIELDS = 1600                   # > 1500 distinct field names inside requestParameters
CORRUPT_KINDS = ("truncated_gzip", "not_gzip", "invalid_json", "no_records",
                 "no_event_time", "bad_event_time", "no_event_id", "year_zero_event_time")
# kinds that make the whole file unusable (quarantined with a .reason)
FILE_CORRUPT_KINDS = ("truncated_gzip", "not_gzip", "invalid_json", "no_records")
# kinds where one record is rejected (to <path>.rejected.ndjson), the rest load
RECORD_CORRUPT_KINDS = ("no_event_time", "bad_event_time", "no_event_id", "year_zero_event_time")
# kinds whose records are all indexed, repaired: invalid UTF-8 inside a string becomes U+FFFD
# (not corrupt input: only made when asked for by name)
REPAIRED_KINDS = ("invalid_utf8",)


# ====================================================================== data model

@dataclass
class S3Object:
    key: str
    body: bytes
    kind: str = "log"                 # log | digest | config_check | <corrupt kind>
    account: str = ""
    region: str = ""
    records: list = field(default_factory=list)    # records that must be indexed
    rejected: list = field(default_factory=list)   # records that must be rejected
    metadata: dict = field(default_factory=dict)   # S3 user metadata (a digest's signature)

    @property
    def fetchable(self) -> bool:
        return self.kind not in ("digest", "config_check")


@dataclass
class Spec:
    seed: int = 1
    prefix: str = ""
    accounts: object = 3                 # int (generated ids) or list of 12-digit ids
    regions: list = field(default_factory=lambda: ["eu-west-1", "us-east-1"])
    days: int = 2
    start: date = field(default_factory=lambda: (datetime.now(UTC) - timedelta(days=3)).date())
    files_per_prefix: int = 2            # per account, region and day
    records_per_file: int = 5
    size_target: int = 0                 # >0: add records until a file's JSON reaches this many bytes
    org: bool = True                     # organization trail layout (AWSLogs/o-xxxxxxxxxx/...)
    org_id: str = ""                     # default derived from the seed
    single_account_trail: bool = False   # also a trail AWSLogs/<account>/... of the first account
    single_account_dup_fraction: float = 0.3   # its share of events also delivered by the org trail
    specials: bool = True
    digests: bool = True
    config_check: bool = True


class Trail:
    """Objects of a generated bucket plus what must come out of the pipeline."""

    def __init__(self, spec: Spec, objects: list, org_id: str, accounts: list):
        self.spec = spec
        self.objects: list[S3Object] = list(objects)
        self.org_id = org_id
        self.accounts = accounts

    # ---- composition
    def add(self, objects: Iterable[S3Object]) -> "Trail":
        self.objects.extend(objects)
        return self

    # ---- expectations
    def log_keys(self) -> set:
        """Keys fetch must store (log files, corrupt ones included)."""
        return {o.key for o in self.objects if o.fetchable}

    def skipped_keys(self) -> set:
        return {o.key for o in self.objects if not o.fetchable}

    def expected_records(self) -> dict:
        """eventID -> record for every record that must be indexed (duplicates collapse)."""
        out: dict = {}
        for o in self.objects:
            for r in o.records:
                prev = out.get(r["eventID"])
                if prev is not None and prev != r:
                    raise AssertionError(f"generator bug: eventID {r['eventID']} with two contents")
                out[r["eventID"]] = r
        return out

    def expected_ids(self) -> set:
        return set(self.expected_records())

    def rejected_records(self) -> list:
        return [r for o in self.objects for r in o.rejected]

    def expected_counts(self, stem: str = "awscli-trail", index_prefix: str = "") -> dict:
        c: Counter = Counter()
        for r in self.expected_records().values():
            c[index_name(r, stem, index_prefix)] += 1
        return dict(sorted(c.items()))

    def records_by_object(self) -> dict:
        return {o.key: o.records for o in self.objects}

    def total_bytes(self) -> int:
        return sum(len(o.body) for o in self.objects)

    def summary(self, stem: str = "awscli-trail") -> dict:
        kinds = Counter(o.kind for o in self.objects)
        return {
            "objects": len(self.objects),
            "kinds": dict(kinds),
            "bytes": self.total_bytes(),
            "org_id": self.org_id,
            "accounts": self.accounts,
            "unique_event_ids": len(self.expected_ids()),
            "records_in_log_files": sum(len(o.records) for o in self.objects),
            "rejected_records": len(self.rejected_records()),
            "expected_counts": self.expected_counts(stem),
        }

    # ---- output
    def write_dir(self, out: Path) -> None:
        out = Path(out)
        for o in self.objects:
            p = out / o.key
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(o.body)

    def upload(self, s3, bucket: str, threads: int = 8, objects: Optional[Iterable[S3Object]] = None) -> None:
        objs = list(self.objects if objects is None else objects)

        def put(o: S3Object) -> None:
            extra = {}
            if o.key.endswith(".json.gz"):
                extra = {"ContentType": "application/json", "ContentEncoding": "gzip"}
            if o.metadata:
                extra["Metadata"] = o.metadata
            s3.put_object(Bucket=bucket, Key=o.key, Body=o.body, **extra)

        with ThreadPoolExecutor(max_workers=max(1, threads)) as ex:
            for f in [ex.submit(put, o) for o in objs]:
                f.result()


def index_name(record: dict, stem: str = "awscli-trail", index_prefix: str = "") -> str:
    t = parse_time(record["eventTime"])
    return f"{index_prefix}{stem}-{t:%Y.%m.%d}"


def parse_time(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def fmt_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ====================================================================== keys

def _prefix_path(prefix: str) -> str:
    p = prefix.strip("/")
    return p + "/" if p else ""


def account_root(prefix: str, account: str, org_id: Optional[str]) -> str:
    return f"{_prefix_path(prefix)}AWSLogs/{org_id + '/' if org_id else ''}{account}"


def log_key(prefix: str, org_id: Optional[str], account: str, region: str, delivered: datetime, unique: str) -> str:
    d = delivered.astimezone(UTC)
    return (f"{account_root(prefix, account, org_id)}/CloudTrail/{region}/{d:%Y/%m/%d}/"
            f"{account}_CloudTrail_{region}_{d:%Y%m%dT%H%MZ}_{unique}.json.gz")


def digest_key(prefix: str, org_id: Optional[str], account: str, region: str, end: datetime, trail: str) -> str:
    d = end.astimezone(UTC)
    return (f"{account_root(prefix, account, org_id)}/CloudTrail-Digest/{region}/{d:%Y/%m/%d}/"
            f"{account}_CloudTrail-Digest_{region}_{trail}_{region}_{d:%Y%m%dT%H%M%SZ}.json.gz")


def _unique(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(16))


# ====================================================================== records

def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _upper(rng: random.Random, n: int, alphabet: str = string.ascii_uppercase + "234567") -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _ip(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.08:
        return f"2001:db8:{rng.randrange(0x10000):x}::{rng.randrange(0x10000):x}"
    net = rng.choice(["192.0.2", "198.51.100", "203.0.113"])
    return f"{net}.{rng.randrange(1, 255)}"


USER_AGENTS = [
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0-18-amd64 exe/x86_64.debian.12 prompt/off command/ec2.describe-instances",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
    "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/s3#1.51.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
    "AWS Internal",
    "console.amazonaws.com",
    "Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 aws-sdk-go-v2/1.25.3",
    "[aws-sdk-java/2.25.11 Linux/5.10.209-198.858.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10]",
]

USER_NAMES = ["alice", "bob", "ci-deployer", "mateo.jackson", "zoë.müller", "svc-backup", "o'brien"]
ROLE_NAMES = ["OrganizationAccountAccessRole", "AWSReservedSSO_AdministratorAccess_0123456789abcdef",
              "github-actions-deploy", "lambda-ingest-role", "ReadOnly"]
TLS = [
    {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256"},
    {"tlsVersion": "TLSv1.2", "cipherSuite": "ECDHE-RSA-AES128-GCM-SHA256"},
]


class _Ctx:
    """Per-trail context: accounts, naming, randomness."""

    def __init__(self, rng: random.Random, accounts: list):
        self.rng = rng
        self.accounts = accounts


def _identity(ctx: _Ctx, account: str, when: datetime, kind: Optional[str] = None) -> dict:
    rng = ctx.rng
    kind = kind or rng.choices(["IAMUser", "AssumedRole", "Root", "AWSService", "AWSAccount"],
                               weights=[30, 50, 4, 12, 4])[0]
    if kind == "IAMUser":
        name = rng.choice(USER_NAMES)
        return {"type": "IAMUser", "principalId": "AIDA" + _upper(rng, 17),
                "arn": f"arn:aws:iam::{account}:user/{name}", "accountId": account,
                "accessKeyId": "AKIA" + _upper(rng, 16), "userName": name}
    if kind == "AssumedRole":
        role = rng.choice(ROLE_NAMES)
        # sometimes the role lives in another account of the organization
        role_acct = account if rng.random() < 0.85 else rng.choice(ctx.accounts)
        session = rng.choice(["botocore-session-1732780800", "alice@example.com", "GitHubActions", "i-0abc12345def67890"])
        rid = "AROA" + _upper(rng, 17)
        created = when - timedelta(minutes=rng.randrange(1, 55))
        return {"type": "AssumedRole", "principalId": f"{rid}:{session}",
                "arn": f"arn:aws:sts::{role_acct}:assumed-role/{role}/{session}", "accountId": role_acct,
                "accessKeyId": "ASIA" + _upper(rng, 16),
                "sessionContext": {
                    "sessionIssuer": {"type": "Role", "principalId": rid,
                                      "arn": f"arn:aws:iam::{role_acct}:role/{role}",
                                      "accountId": role_acct, "userName": role},
                    "webIdFederationData": {},
                    "attributes": {"creationDate": fmt_time(created),
                                   "mfaAuthenticated": rng.choice(["false", "true"])}}}
    if kind == "Root":
        return {"type": "Root", "principalId": account, "arn": f"arn:aws:iam::{account}:root",
                "accountId": account, "accessKeyId": ""}
    if kind == "AWSService":
        return {"type": "AWSService", "invokedBy": rng.choice(
            ["lambda.amazonaws.com", "autoscaling.amazonaws.com", "cloudtrail.amazonaws.com", "s3.amazonaws.com"])}
    other = rng.choice([a for a in ctx.accounts if a != account] or [account])
    return {"type": "AWSAccount", "principalId": "AIDA" + _upper(rng, 17), "accountId": other}


def _base(ctx: _Ctx, account: str, region: str, when: datetime, source: str, name: str,
          ident: Optional[dict] = None, version: Optional[str] = None) -> dict:
    rng = ctx.rng
    ident = ident or _identity(ctx, account, when)
    service = ident.get("type") == "AWSService"
    return {
        "eventVersion": version or rng.choice(["1.08", "1.09", "1.09", "1.10"]),
        "userIdentity": ident,
        "eventTime": fmt_time(when),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ident["invokedBy"] if service else _ip(rng),
        "userAgent": ident["invokedBy"] if service else rng.choice(USER_AGENTS),
        "requestParameters": None,
        "responseElements": None,
        "requestID": _uuid(rng) if rng.random() < 0.7 else _upper(rng, 16, "0123456789ABCDEF"),
        "eventID": _uuid(rng),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }


def _tls(rng: random.Random, host: str) -> dict:
    d = dict(rng.choice(TLS))
    d["clientProvidedHostHeader"] = host
    return d


def _ev_run_instances(ctx, a, r, t):
    rng = ctx.rng
    e = _base(ctx, a, r, t, "ec2.amazonaws.com", "RunInstances")
    iid = "i-" + _hex(rng, 17)
    ami = "ami-" + _hex(rng, 17)
    itype = rng.choice(["t3.micro", "m7g.large", "c6i.2xlarge"])
    e["requestParameters"] = {
        "instancesSet": {"items": [{"imageId": ami, "minCount": 1, "maxCount": 1}]},
        "instanceType": itype, "blockDeviceMapping": {}, "monitoring": {"enabled": False},
        "disableApiTermination": False, "disableApiStop": False, "clientToken": _uuid(rng),
        "tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": [
            {"key": "Name", "value": rng.choice(["web-01", "größe-test", "批处理-worker", 'quote"and\\backslash'])},
            {"key": "team", "value": "platform"}]}]},
    }
    e["responseElements"] = {
        "requestId": _uuid(rng), "reservationId": "r-" + _hex(rng, 17), "ownerId": a, "groupSet": {},
        "instancesSet": {"items": [{
            "instanceId": iid, "imageId": ami, "currentInstanceBootMode": "uefi",
            "instanceState": {"code": 0, "name": "pending"},
            "privateDnsName": f"ip-10-0-{rng.randrange(256)}-{rng.randrange(256)}.{r}.compute.internal",
            "amiLaunchIndex": 0, "productCodes": {}, "instanceType": itype,
            "launchTime": int(t.timestamp() * 1000),
            "placement": {"availabilityZone": r + rng.choice("abc"), "tenancy": "default"},
            "monitoring": {"state": "disabled"}, "subnetId": "subnet-" + _hex(rng, 17),
            "cpuOptions": {"coreCount": 1, "threadsPerCore": 2},
            "capacityReservationSpecification": {"capacityReservationPreference": "open"},
            "enclaveOptions": {"enabled": False}, "metadataOptions": {
                "state": "pending", "httpTokens": "required", "httpPutResponseHopLimit": 2,
                "httpEndpoint": "enabled", "httpProtocolIpv4": "enabled", "httpProtocolIpv6": "disabled",
                "instanceMetadataTags": "disabled"},
        }]},
    }
    e["tlsDetails"] = _tls(rng, f"ec2.{r}.amazonaws.com")
    return e


def _ev_describe_instances(ctx, a, r, t):
    rng = ctx.rng
    e = _base(ctx, a, r, t, "ec2.amazonaws.com", "DescribeInstances")
    e["readOnly"] = True
    e["requestParameters"] = {"instancesSet": {}, "filterSet": {"items": [
        {"name": "instance-state-name", "valueSet": {"items": [{"value": "running"}]}}]}}
    e["tlsDetails"] = _tls(rng, f"ec2.{r}.amazonaws.com")
    return e


def _ev_authorize_sg(ctx, a, r, t):
    rng = ctx.rng
    e = _base(ctx, a, r, t, "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress")
    gid = "sg-" + _hex(rng, 17)
    port = rng.choice([22, 443, 5432])
    e["requestParameters"] = {"groupId": gid, "ipPermissions": {"items": [{
        "ipProtocol": "tcp", "fromPort": port, "toPort": port, "groups": {},
        "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0", "description": "temp <b>open</b> & 'quoted'"}]},
        "ipv6Ranges": {}, "prefixListIds": {}}]}}
    if rng.random() < 0.2:
        e["errorCode"] = "Client.InvalidPermission.Duplicate"
        e["errorMessage"] = f"the specified rule \"peer: 0.0.0.0/0, TCP, from port: {port}, to port: {port}, ALLOW\" already exists"
    else:
        e["responseElements"] = {"requestId": _uuid(rng), "_return": True, "securityGroupRuleSet": {"items": [{
            "groupOwnerId": a, "groupId": gid, "securityGroupRuleId": "sgr-" + _hex(rng, 17),
            "isEgress": False, "ipProtocol": "tcp", "fromPort": port, "toPort": port, "cidrIpv4": "0.0.0.0/0"}]}}
    e["tlsDetails"] = _tls(rng, f"ec2.{r}.amazonaws.com")
    return e


def _ev_console_login(ctx, a, r, t):
    rng = ctx.rng
    ident = _identity(ctx, a, t, rng.choice(["IAMUser", "Root", "IAMUser"]))
    ident.pop("accessKeyId", None)
    e = _base(ctx, a, r, t, "signin.amazonaws.com", "ConsoleLogin", ident=ident)
    e["userAgent"] = USER_AGENTS[3]
    e["eventType"] = "AwsConsoleSignIn"
    ok = rng.random() < 0.8
    e["responseElements"] = {"ConsoleLogin": "Success" if ok else "Failure"}
    e["additionalEventData"] = {"LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
                                "MobileVersion": "No", "MFAUsed": rng.choice(["Yes", "No"])}
    if not ok:
        e["errorMessage"] = "Failed authentication"
    e["tlsDetails"] = _tls(rng, "signin.aws.amazon.com")
    return e


def _ev_assume_role(ctx, a, r, t):
    rng = ctx.rng
    e = _base(ctx, a, r, t, "sts.amazonaws.com", "AssumeRole")
    role = rng.choice(ROLE_NAMES)
    sess = f"session-{_hex(rng, 8)}"
    rid = "AROA" + _upper(rng, 17)
    e["readOnly"] = True
    e["requestParameters"] = {"roleArn": f"arn:aws:iam::{a}:role/{role}", "roleSessionName": sess,
                              "durationSeconds": rng.choice([900, 3600, 43200])}
    exp = t + timedelta(hours=1)
    e["responseElements"] = {
        "credentials": {"accessKeyId": "ASIA" + _upper(rng, 16),
                        "sessionToken": "IQoJb3JpZ2luX2VjE" + _upper(rng, 120, string.ascii_letters + string.digits + "/+"),
                        # CloudTrail writes this one in a non-ISO format
                        "expiration": exp.strftime("%b %d, %Y, %I:%M:%S %p")},
        "assumedRoleUser": {"assumedRoleId": f"{rid}:{sess}", "arn": f"arn:aws:sts::{a}:assumed-role/{role}/{sess}"}}
    e["resources"] = [{"accountId": a, "type": "AWS::IAM::Role", "ARN": f"arn:aws:iam::{a}:role/{role}"}]
    e["sharedEventID"] = _uuid(rng)
    e["tlsDetails"] = _tls(rng, f"sts.{r}.amazonaws.com")
    return e


def _s3_common(ctx, e, a, r, bucket, key):
    rng = ctx.rng
    e["additionalEventData"] = {
        "SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
        "bytesTransferredIn": float(rng.randrange(0, 200000)), "AuthenticationMethod": "AuthHeader",
        "x-amz-id-2": _upper(rng, 56, string.ascii_letters + string.digits + "/+="),
        "bytesTransferredOut": 0.0}
    res = [{"type": "AWS::S3::Bucket", "accountId": a, "ARN": f"arn:aws:s3:::{bucket}"}]
    if key:
        res.insert(0, {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"})
    e["resources"] = res
    e["tlsDetails"] = _tls(rng, f"{bucket}.s3.{r}.amazonaws.com")


def _ev_put_object(ctx, a, r, t):
    rng = ctx.rng
    e = _base(ctx, a, r, t, "s3.amazonaws.com", "PutObject")
    e["eventCategory"] = "Data"
    e["managementEvent"] = False
    bucket = f"app-data-{a[-4:]}"
    key = rng.choice(["reports/2026/q4.csv", "uploads/photo ünïcode.jpg", "a/b/c/d.json", "logs/x+y=z.txt"])
    e["requestParameters"] = {"bucketName": bucket, "Host": f"{bucket}.s3.{r}.amazonaws.com", "key": key,
                              "x-amz-server-side-encryption": "aws:kms"}
    e["responseElements"] = {"x-amz-server-side-encryption": "aws:kms",
                             "x-amz-server-side-encryption-aws-kms-key-id": f"arn:aws:kms:{r}:{a}:key/{_uuid(rng)}"} \
        if rng.random() < 0.7 else None
    _s3_common(ctx, e, a, r, bucket, key)
    return e


def _ev_get_object(ctx, a, r, t):
    e = _ev_put_object(ctx, a, r, t)
    e["eventName"] = "GetObject"
    e["readOnly"] = True
    e["responseElements"] = None
    e["additionalEventData"]["bytesTransferredOut"] = e["additionalEventData"]["bytesTransferredIn"]
    e["additionalEventData"]["bytesTransferredIn"] = 0.0
    return e


def _ev_create_bucket(ctx, a, r, t):
    rng = ctx.rng
    e = _base(ctx, a, r, t, "s3.amazonaws.com", "CreateBucket")
    bucket = f"new-bucket-{_hex(rng, 8)}"
    e["requestParameters"] = {"CreateBucketConfiguration": {"LocationConstraint": r,
                                                            "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"},
                              "bucketName": bucket, "Host": "s3.amazonaws.com"}
    _s3_common(ctx, e, a, r, bucket, "")
    return e


def _ev_create_user(ctx, a, r, t):
    rng = ctx.rng
    e = _base(ctx, a, r, t, "iam.amazonaws.com", "CreateUser")
    name = f"user-{_hex(rng, 6)}"
    e["requestParameters"] = {"userName": name, "tags": [{"key": "owner", "value": "secops"}]}
    if rng.random() < 0.4:
        arn = e["userIdentity"].get("arn", f"arn:aws:iam::{a}:root")
        e["errorCode"] = "AccessDenied"
        e["errorMessage"] = (f"User: {arn} is not authorized to perform: iam:CreateUser on resource: "
                             f"arn:aws:iam::{a}:user/{name} because no identity-based policy allows the iam:CreateUser action")
    else:
        e["responseElements"] = {"user": {"path": "/", "userName": name, "userId": "AIDA" + _upper(rng, 17),
                                          "arn": f"arn:aws:iam::{a}:user/{name}",
                                          "createDate": t.strftime("%b %d, %Y %I:%M:%S %p"),
                                          "tags": [{"key": "owner", "value": "secops"}]}}
    e["tlsDetails"] = _tls(rng, "iam.amazonaws.com")
    return e


def _ev_kms_decrypt(ctx, a, r, t):
    rng = ctx.rng
    ident = _identity(ctx, a, t, "AWSService")
    e = _base(ctx, a, r, t, "kms.amazonaws.com", "Decrypt", ident=ident)
    e["readOnly"] = True
    kid = _uuid(rng)
    e["requestParameters"] = {"encryptionContext": {"aws:s3:arn": f"arn:aws:s3:::app-data-{a[-4:]}/x"},
                              "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
    e["resources"] = [{"accountId": a, "type": "AWS::KMS::Key", "ARN": f"arn:aws:kms:{r}:{a}:key/{kid}"}]
    e["sharedEventID"] = _uuid(rng)
    return e


def _ev_kms_rotate(ctx, a, r, t):
    rng = ctx.rng
    e = _base(ctx, a, r, t, "kms.amazonaws.com", "RotateKey",
              ident={"accountId": a, "invokedBy": "AWS Internal"})
    e["sourceIPAddress"] = "AWS Internal"
    e["userAgent"] = "AWS Internal"
    e["eventType"] = "AwsServiceEvent"
    kid = _uuid(rng)
    e["requestParameters"] = None
    e["responseElements"] = None
    e["serviceEventDetails"] = {"keyId": kid, "rotationType": "AUTOMATIC"}
    e["resources"] = [{"accountId": a, "type": "AWS::KMS::Key", "ARN": f"arn:aws:kms:{r}:{a}:key/{kid}"}]
    return e


def _ev_create_log_stream(ctx, a, r, t):
    rng = ctx.rng
    e = _base(ctx, a, r, t, "logs.amazonaws.com", "CreateLogStream")
    e["requestParameters"] = {"logGroupName": f"/aws/lambda/ingest-{_hex(rng, 4)}",
                              "logStreamName": f"{t:%Y/%m/%d}/[$LATEST]{_hex(rng, 32)}"}
    e["tlsDetails"] = _tls(rng, f"logs.{r}.amazonaws.com")
    return e


def _ev_get_parameter(ctx, a, r, t):
    rng = ctx.rng
    e = _base(ctx, a, r, t, "ssm.amazonaws.com", "GetParameter")
    e["readOnly"] = True
    e["requestParameters"] = {"name": rng.choice(["/app/db/url", "/app/feature-flags"]), "withDecryption": True}
    e["tlsDetails"] = _tls(rng, f"ssm.{r}.amazonaws.com")
    return e


def _ev_describe_table(ctx, a, r, t):
    rng = ctx.rng
    e = _base(ctx, a, r, t, "dynamodb.amazonaws.com", "DescribeTable")
    e["readOnly"] = True
    e["requestParameters"] = {"tableName": rng.choice(["orders", "sessions"])}
    e["resources"] = [{"accountId": a, "type": "AWS::DynamoDB::Table",
                       "ARN": f"arn:aws:dynamodb:{r}:{a}:table/{e['requestParameters']['tableName']}"}]
    e["tlsDetails"] = _tls(rng, f"dynamodb.{r}.amazonaws.com")
    return e


def _ev_create_tags(ctx, a, r, t):
    rng = ctx.rng
    e = _base(ctx, a, r, t, "ec2.amazonaws.com", "CreateTags")
    e["requestParameters"] = {"resourcesSet": {"items": [{"resourceId": "vol-" + _hex(rng, 17)}]},
                              "tagSet": {"items": [{"key": "cost-center", "value": str(rng.randrange(1000, 9999))}]}}
    e["responseElements"] = {"requestId": _uuid(rng), "_return": True}
    e["tlsDetails"] = _tls(rng, f"ec2.{r}.amazonaws.com")
    return e


CATALOG = [
    (_ev_describe_instances, 12), (_ev_run_instances, 4), (_ev_authorize_sg, 3), (_ev_console_login, 4),
    (_ev_assume_role, 12), (_ev_put_object, 10), (_ev_get_object, 10), (_ev_create_bucket, 2),
    (_ev_create_user, 3), (_ev_kms_decrypt, 8), (_ev_kms_rotate, 1), (_ev_create_log_stream, 8),
    (_ev_get_parameter, 6), (_ev_describe_table, 5), (_ev_create_tags, 3),
]
_FUNCS = [f for f, _ in CATALOG]
_WEIGHTS = [w for _, w in CATALOG]


def random_event(ctx: _Ctx, account: str, region: str, when: datetime) -> dict:
    f = ctx.rng.choices(_FUNCS, weights=_WEIGHTS)[0]
    return f(ctx, account, region, when)


def special_events(ctx: _Ctx, account: str, region: str, when: datetime) -> list:
    """Events that stress the index mapping (all kept whole in _source)."""
    rng = ctx.rng
    out = []
    # requestParameters.filter: a string here ...
    e = _base(ctx, account, region, when, "ec2.amazonaws.com", "DescribeFlowLogs")
    e["readOnly"] = True
    e["requestParameters"] = {"filter": "resource-id=vpc-0a1b2c3d", "maxResults": 50}
    e["responseElements"] = None
    out.append(e)
    # ... and an object here
    e = _base(ctx, account, region, when + timedelta(seconds=1), "ce.amazonaws.com", "GetCostAndUsage")
    e["readOnly"] = True
    e["requestParameters"] = {"filter": {"dimensions": {"key": "SERVICE", "values": ["Amazon Elastic Compute Cloud - Compute"]}},
                              "granularity": "DAILY", "metrics": ["UnblendedCost"],
                              "timePeriod": {"start": f"{when:%Y-%m-01}", "end": f"{when:%Y-%m-%d}"}}
    # responseElements as a list of numbers where others hold objects/null; a string filter value elsewhere
    e["responseElements"] = [1, 2.5, "three"]
    out.append(e)
    # additionalEventData: a plain string here, objects elsewhere
    e = _base(ctx, account, region, when + timedelta(seconds=2), "sso.amazonaws.com", "Federate")
    e["additionalEventData"] = "opaque-string-instead-of-object"
    e["requestParameters"] = {"filter": ["a", "b"]}
    e["responseElements"] = "true"
    out.append(e)
    # one responseElements string larger than 40 KB
    e = _base(ctx, account, region, when + timedelta(seconds=3), "cloudformation.amazonaws.com", "GetTemplate")
    e["readOnly"] = True
    e["requestParameters"] = {"stackName": "big-stack", "templateStage": "Original"}
    body = ("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n" +
            "".join(f"  Queue{i:05d}:\n    Type: AWS::SQS::Queue\n    Properties: {{QueueName: q-{i:05d}}}\n"
                    for i in range(2000)))
    assert len(body.encode()) > BIG_STRING_BYTES
    e["responseElements"] = {"templateBody": body[: max(BIG_STRING_BYTES, 41_000)]}
    out.append(e)
    # more than 1500 distinct field names inside requestParameters (some with dots)
    e = _base(ctx, account, region, when + timedelta(seconds=4), "glue.amazonaws.com", "CreateTable")
    params = {}
    for i in range(MANY_FIELDS):
        k = f"spark.sql.sources.schema.part.{i}" if i % 3 == 0 else f"column_{i:04d}_comment"
        params[k] = f"v{i}"
    e["requestParameters"] = {"databaseName": "lake", "tableInput": {"name": "wide_table", "parameters": params}}
    out.append(e)
    # the probe word lives only inside requestParameters (searchable via the payload text)
    e = _base(ctx, account, region, when + timedelta(seconds=5), "ssm.amazonaws.com", "PutParameter")
    e["requestParameters"] = {"name": "/probe/param", "type": "String", "overwrite": True,
                              "description": f"marker {PROBE_WORD} for search"}
    e["responseElements"] = {"version": 3, "tier": "Standard"}
    out.append(e)
    # unicode, control characters and escapes
    e = _base(ctx, account, region, when + timedelta(seconds=6), "ec2.amazonaws.com", "CreateTags")
    e["requestParameters"] = {"tagSet": {"items": [
        {"key": "note", "value": "tab\there\nnewline \"quote\" \\ back \u2028 sep 🚀 ünïcødé </script>"}]}}
    e["responseElements"] = {"_return": True}
    out.append(e)
    return out


def _file_body(records: list) -> bytes:
    raw = json.dumps({"Records": records}, ensure_ascii=False, separators=(",", ":")).encode()
    return _gzip(raw)


def _gzip(raw: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as g:
        g.write(raw)
    return buf.getvalue()


def log_object(rng: random.Random, prefix: str, org_id: Optional[str], account: str, region: str,
               delivered: datetime, records: list, accepted: Optional[list] = None,
               rejected: Optional[list] = None, kind: str = "log", body: Optional[bytes] = None) -> S3Object:
    """One CloudTrail log file (key named like CloudTrail does)."""
    key = log_key(prefix, org_id, account, region, delivered, _unique(rng))
    return S3Object(key=key, body=body if body is not None else _file_body(records), kind=kind,
                    account=account, region=region,
                    records=list(records if accepted is None else accepted), rejected=list(rejected or []))


def make_records(rng: random.Random, accounts: list, account: str, region: str,
                 start: datetime, end: datetime, n: int, size_target: int = 0) -> list:
    """n records (or enough to reach size_target bytes) with eventTime in [start, end], sorted."""
    ctx = _Ctx(rng, accounts)
    span = max(1, int((end - start).total_seconds()))
    recs = []
    size = 0
    while len(recs) < n or (size_target and size < size_target):
        when = start + timedelta(seconds=rng.randrange(span + 1))
        e = random_event(ctx, account, region, when)
        recs.append(e)
        if size_target:
            size += len(json.dumps(e, ensure_ascii=False)) + 1
    recs.sort(key=lambda e: e["eventTime"])
    return recs


# ====================================================================== trail generation

def _gen_accounts(rng: random.Random, n: int) -> list:
    out = []
    while len(out) < n:
        a = str(rng.randrange(10**11, 10**12))
        if a not in out:
            out.append(a)
    return out


def _delivery_times(rng: random.Random, day: date, n: int) -> list:
    """n delivery instants in day; the first one shortly after midnight."""
    base = datetime(day.year, day.month, day.day, tzinfo=UTC)
    times = [base + timedelta(minutes=rng.randrange(3, 9))]
    if n > 1:
        step = (24 * 60 - 60) / (n - 1)
        for i in range(1, n):
            m = int(30 + i * step - rng.randrange(0, max(1, int(step * 0.5))))
            m = max(m, int((times[-1] - base).total_seconds() // 60) + 1)
            times.append(base + timedelta(minutes=min(m, 24 * 60 - 1), seconds=rng.randrange(60)))
    return times[:n]


def generate(spec: Spec) -> Trail:
    rng = random.Random(spec.seed)
    accounts = list(spec.accounts) if not isinstance(spec.accounts, int) else _gen_accounts(rng, spec.accounts)
    org_id = (spec.org_id or ("o-" + "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(10)))) \
        if spec.org else None
    objects: list[S3Object] = []
    special_done = not spec.specials
    trail_name = "org-trail" if spec.org else "management-events"
    for day_i in range(spec.days):
        day = spec.start + timedelta(days=day_i)
        for account in accounts:
            for region in spec.regions:
                deliveries = _delivery_times(rng, day, spec.files_per_prefix)
                prev_end = None
                for fi, delivered in enumerate(deliveries):
                    # records written up to 1 minute before delivery, back to the previous delivery
                    end = delivered - timedelta(minutes=1)
                    start = prev_end or (delivered - timedelta(minutes=15))
                    prev_end = end
                    recs = make_records(rng, accounts, account, region, start, end,
                                        spec.records_per_file, spec.size_target)
                    if fi == 0:
                        # guarantee events of D-1 late in the evening inside folder D
                        ctx = _Ctx(rng, accounts)
                        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
                        for s in (1, 2 + rng.randrange(300)):
                            recs.insert(0, random_event(ctx, account, region, midnight - timedelta(seconds=s)))
                    if not special_done:
                        recs.extend(special_events(_Ctx(rng, accounts), account, region, end - timedelta(seconds=30)))
                        special_done = True
                    recs.sort(key=lambda e: e["eventTime"])
                    objects.append(log_object(rng, spec.prefix, org_id, account, region, delivered, recs))
                if spec.digests:
                    end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=rng.randrange(1, 23), minutes=rng.randrange(60), seconds=rng.randrange(60))
                    objects.append(_digest(rng, spec, org_id, account, region, end, trail_name, objects))
    if spec.config_check:
        for account in accounts[:1]:
            root = account_root(spec.prefix, account, None)
            objects.append(S3Object(f"{root}/Config/ConfigWritabilityCheckFile", b"", "config_check", account))
            objects.append(S3Object(f"{account_root(spec.prefix, account, org_id)}/CloudTrail/ConfigWritabilityCheckFile",
                                    b"", "config_check", account))
    if spec.single_account_trail:
        objects.extend(_single_account_trail(rng, spec, accounts, objects))
    return Trail(spec, objects, org_id or "", accounts)


def _digest(rng, spec, org_id, account, region, end, trail_name, objects) -> S3Object:
    logs = [o for o in objects if o.account == account and o.region == region and o.kind == "log"][-3:]
    doc = {"awsAccountId": account, "digestStartTime": fmt_time(end - timedelta(hours=1)),
           "digestEndTime": fmt_time(end), "digestS3Bucket": "cloudtraillogs",
           "digestS3Object": digest_key(spec.prefix, org_id, account, region, end, trail_name),
           "digestPublicKeyFingerprint": _hex(rng, 32), "digestSignatureAlgorithm": "SHA256withRSA",
           "newestEventTime": fmt_time(end - timedelta(minutes=2)), "oldestEventTime": fmt_time(end - timedelta(minutes=58)),
           "previousDigestS3Bucket": "cloudtraillogs", "previousDigestS3Object": "", "previousDigestHashValue": _hex(rng, 64),
           "previousDigestHashAlgorithm": "SHA-256", "previousDigestSignature": _hex(rng, 512),
           "logFiles": [{"s3Bucket": "cloudtraillogs", "s3Object": o.key, "hashValue": _hex(rng, 64),
                         "hashAlgorithm": "SHA-256", "newestEventTime": fmt_time(end), "oldestEventTime": fmt_time(end)}
                        for o in logs]}
    return S3Object(digest_key(spec.prefix, org_id, account, region, end, trail_name),
                    _gzip(json.dumps(doc).encode()), "digest", account, region)


# ====================================================================== signed digests

@dataclass
class DigestSigner:
    """A key pair standing in for CloudTrail's (moto does not sign digests): the public key as
    cloudtrail ListPublicKeys returns it (DER PKCS #1, base64 in the answer) and its fingerprint."""
    private_key: object
    der: bytes
    fingerprint: str

    def sign(self, text: bytes) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        return self.private_key.sign(text, padding.PKCS1v15(), hashes.SHA256()).hex()


def digest_signer() -> DigestSigner:
    """A fresh 2048-bit RSA key (python `cryptography`)."""
    import hashlib
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return DigestSigner(key, der, hashlib.md5(der).hexdigest())


def log_delivery(key: str) -> datetime:
    """The delivery time in a log file's name (..._YYYYMMDDTHHmmZ_...)."""
    name = key.rsplit("/", 1)[-1]
    stamp = name.split("_")[3]
    return datetime.strptime(stamp, "%Y%m%dT%H%MZ").replace(tzinfo=UTC)


def signed_digest(signer: DigestSigner, bucket: str, key: str, account: str, start: datetime, end: datetime,
                  logs: list, previous: Optional[S3Object] = None) -> S3Object:
    """One digest file in the format AWS documents: the log files named with the SHA-256 of their
    uncompressed content, linked to `previous` (its hash and signature), signed over
    "<digestEndTime>\\n<bucket>/<key>\\n<hex SHA-256 of this digest's JSON>\\n<previous signature or null>"
    (RSA PKCS #1 v1.5, SHA-256); the signature goes into the object's metadata."""
    import hashlib
    prev = None
    if previous is not None:
        prev = {"key": previous.key, "hash": hashlib.sha256(gzip.decompress(previous.body)).hexdigest(),
                "signature": previous.metadata["signature"]}
    times = [r["eventTime"] for o in logs for r in o.records]
    doc = {"awsAccountId": account, "digestStartTime": fmt_time(start), "digestEndTime": fmt_time(end),
           "digestS3Bucket": bucket, "digestS3Object": key, "digestPublicKeyFingerprint": signer.fingerprint,
           "digestSignatureAlgorithm": "SHA256withRSA",
           "newestEventTime": max(times) if times else None, "oldestEventTime": min(times) if times else None,
           "previousDigestS3Bucket": bucket if prev else None, "previousDigestS3Object": prev["key"] if prev else None,
           "previousDigestHashValue": prev["hash"] if prev else None,
           "previousDigestHashAlgorithm": "SHA-256" if prev else None,
           "previousDigestSignature": prev["signature"] if prev else None,
           "logFiles": [{"s3Bucket": bucket, "s3Object": o.key,
                         "hashValue": hashlib.sha256(gzip.decompress(o.body)).hexdigest(), "hashAlgorithm": "SHA-256",
                         "newestEventTime": max(r["eventTime"] for r in o.records) if o.records else fmt_time(end),
                         "oldestEventTime": min(r["eventTime"] for r in o.records) if o.records else fmt_time(end)}
                        for o in logs]}
    raw = json.dumps(doc).encode()
    text = f"{fmt_time(end)}\n{bucket}/{key}\n{hashlib.sha256(raw).hexdigest()}\n{prev['signature'] if prev else 'null'}"
    return S3Object(key, _gzip(raw), "digest", account, "", metadata={"signature": signer.sign(text.encode()),
                                                                       "signature-algorithm": "SHA256withRSA"})


def signed_digests(trail: "Trail", signer: DigestSigner, bucket: str, trail_name: str = "org-trail",
                   home_region: Optional[str] = None, extra_hours: int = 2) -> list:
    """Hourly signed digests of every account and region of the trail: from the hour of the first log
    file's delivery to `extra_hours` after the last, each naming the log files delivered in its hour,
    chained from the first (whose previous is null)."""
    groups: dict = {}
    for o in trail.objects:
        if o.kind != "log":
            continue
        root = o.key.split("/CloudTrail/", 1)[0]
        groups.setdefault((root, o.account, o.region), []).append(o)
    out = []
    for (root, account, region), logs in sorted(groups.items()):
        times = sorted(log_delivery(o.key) for o in logs)
        hour = times[0].replace(minute=0, second=0, microsecond=0)
        last = times[-1].replace(minute=0, second=0, microsecond=0) + timedelta(hours=1 + extra_hours)
        previous = None
        while hour < last:
            end = hour + timedelta(hours=1)
            named = sorted((o for o in logs if hour <= log_delivery(o.key) < end), key=lambda o: o.key)
            key = (f"{root}/CloudTrail-Digest/{region}/{end:%Y/%m/%d}/{account}_CloudTrail-Digest_{region}_{trail_name}_"
                   f"{home_region or region}_{end:%Y%m%dT%H%M%SZ}.json.gz")
            d = signed_digest(signer, bucket, key, account, hour, end, named, previous)
            d.region = region
            out.append(d)
            previous = d
            hour = end
    return out


def _single_account_trail(rng, spec, accounts, org_objects) -> list:
    """A trail of the first account in AWSLogs/<account>/...: its own events plus some also in the org trail."""
    account = accounts[0]
    out = []
    for day_i in range(spec.days):
        day = spec.start + timedelta(days=day_i)
        for region in spec.regions[:1]:
            org_recs = [r for o in org_objects if o.kind == "log" and o.account == account and o.region == region
                        and o.key.split("/CloudTrail/")[1].startswith(f"{region}/{day:%Y/%m/%d}/") for r in o.records]
            deliveries = _delivery_times(rng, day, max(1, spec.files_per_prefix))
            for fi, delivered in enumerate(deliveries):
                end = delivered - timedelta(minutes=1)
                recs = make_records(rng, accounts, account, region, end - timedelta(minutes=10), end,
                                    max(1, spec.records_per_file // 2))
                if fi == 0:
                    dups = [r for r in org_recs if rng.random() < spec.single_account_dup_fraction]
                    recs.extend(dups or org_recs[:1])
                recs.sort(key=lambda e: e["eventTime"])
                out.append(log_object(rng, spec.prefix, None, account, region, delivered, recs))
            if spec.digests:
                out.append(_digest(rng, spec, None, account, region, deliveries[-1] + timedelta(minutes=20),
                                   "management-events", out))
    return out


# ====================================================================== corrupt objects

def corrupt_objects(seed: int, prefix: str, org_id: Optional[str], account: str, region: str, day: date,
                    kinds: Iterable[str] = CORRUPT_KINDS, accounts: Optional[list] = None) -> list:
    """One object of every corrupt kind, with proper CloudTrail keys (so fetch takes them)."""
    rng = random.Random(seed * 7919 + 17)
    accounts = accounts or [account]
    out = []
    base = datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)
    for i, kind in enumerate(kinds):
        delivered = base + timedelta(minutes=7 * i + 1)
        recs = make_records(rng, accounts, account, region, delivered - timedelta(minutes=6),
                            delivered - timedelta(minutes=1), 4)
        good = _file_body(recs)
        raw = json.dumps({"Records": recs}, ensure_ascii=False, separators=(",", ":")).encode()
        if kind == "truncated_gzip":
            out.append(log_object(rng, prefix, org_id, account, region, delivered, [], kind=kind,
                                  body=good[: max(20, len(good) * 6 // 10)]))
        elif kind == "not_gzip":
            out.append(log_object(rng, prefix, org_id, account, region, delivered, [], kind=kind, body=raw))
        elif kind == "invalid_json":
            out.append(log_object(rng, prefix, org_id, account, region, delivered, [], kind=kind,
                                  body=_gzip(raw[: len(raw) // 2])))
        elif kind == "no_records":
            out.append(log_object(rng, prefix, org_id, account, region, delivered, [], kind=kind,
                                  body=_gzip(json.dumps({"Events": recs}).encode())))
        elif kind in RECORD_CORRUPT_KINDS:
            bad = dict(recs[1])
            if kind == "no_event_time":
                del bad["eventTime"]
            elif kind == "bad_event_time":
                bad["eventTime"] = "not-a-date"
            elif kind == "year_zero_event_time":
                # parses, but is year -1 in UTC: neither a date the index stores nor a daily index name
                bad["eventTime"] = "0000-01-01T00:30:00+01:00"
            else:
                del bad["eventID"]
            all_recs = [recs[0], bad] + recs[2:]
            accepted = [recs[0]] + recs[2:]
            out.append(log_object(rng, prefix, org_id, account, region, delivered, all_recs,
                                  accepted=accepted, rejected=[bad], kind=kind))
        elif kind == "invalid_utf8":
            marker = "INVALIDUTF8MARKER"
            written = [dict(r) for r in recs]
            written[1]["userAgent"] = f"agent-{marker}-end"
            body = json.dumps({"Records": written}, ensure_ascii=False, separators=(",", ":")).encode()
            body = body.replace(marker.encode(), b"\xff\xc3(")   # a lone 0xFF, and a lead byte without its continuation
            expected = [dict(r) for r in recs]
            expected[1]["userAgent"] = "agent-\ufffd\ufffd(-end"
            out.append(log_object(rng, prefix, org_id, account, region, delivered, expected, kind=kind, body=_gzip(body)))
        else:
            raise ValueError(f"unknown corrupt kind {kind}")
    return out


def late_object(trail: Trail, seed: int, account: str, region: str, delivered: datetime, n: int = 3,
                org: bool = True) -> S3Object:
    """A log file delivered at `delivered` (e.g. earlier than the greatest key already fetched)."""
    rng = random.Random(seed * 104729 + int(delivered.timestamp()))
    recs = make_records(rng, trail.accounts, account, region, delivered - timedelta(minutes=5),
                        delivered - timedelta(minutes=1), n)
    return log_object(rng, trail.spec.prefix, trail.org_id if org else None, account, region, delivered, recs)


# ====================================================================== CLI

def _spec_from_args(a: argparse.Namespace) -> Spec:
    accounts: object
    if a.accounts.isdigit() and len(a.accounts) < 12:
        accounts = int(a.accounts)
    else:
        accounts = [x.strip() for x in a.accounts.split(",") if x.strip()]
    start = date.fromisoformat(a.start_date) if a.start_date else (datetime.now(UTC) - timedelta(days=a.days + 1)).date()
    return Spec(seed=a.seed, prefix=a.prefix, accounts=accounts,
                regions=[x.strip() for x in a.regions.split(",") if x.strip()], days=a.days, start=start,
                files_per_prefix=a.files_per_prefix, records_per_file=a.records_per_file,
                size_target=a.size_target, org=not a.no_org, single_account_trail=a.single_account_trail,
                specials=not a.no_specials)


def main(argv: Optional[list] = None) -> int:
    ap = argparse.ArgumentParser(description="generate a realistic CloudTrail trail bucket")
    ap.add_argument("mode", choices=["local", "s3"])
    ap.add_argument("--out", help="local: output directory")
    ap.add_argument("--bucket", help="s3: bucket name")
    ap.add_argument("--endpoint-url", help="s3: endpoint (loopback only, e.g. moto_server)")
    ap.add_argument("--region", default="eu-west-1", help="s3: region of the bucket")
    ap.add_argument("--create-bucket", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--prefix", default="")
    ap.add_argument("--accounts", default="3", help="a count, or comma-separated 12-digit ids")
    ap.add_argument("--regions", default="eu-west-1,us-east-1")
    ap.add_argument("--days", type=int, default=2)
    ap.add_argument("--start-date", default="", help="first day (default: days+1 days ago)")
    ap.add_argument("--files-per-prefix", type=int, default=2)
    ap.add_argument("--records-per-file", type=int, default=5)
    ap.add_argument("--size-target", type=int, default=0, help="minimum uncompressed bytes per file")
    ap.add_argument("--no-org", action="store_true", help="single-account trail layout only")
    ap.add_argument("--single-account-trail", action="store_true", help="also a single-account trail of account 1")
    ap.add_argument("--no-specials", action="store_true")
    ap.add_argument("--corrupt", action="store_true", help="add one object of every corrupt kind")
    ap.add_argument("--summary", default="", help="write the expectations (JSON) to this file ('-' = stdout)")
    a = ap.parse_args(argv)
    spec = _spec_from_args(a)
    trail = generate(spec)
    if a.corrupt:
        trail.add(corrupt_objects(spec.seed, spec.prefix, trail.org_id or None, trail.accounts[0],
                                  spec.regions[0], spec.start, accounts=trail.accounts))
    if a.mode == "local":
        if not a.out:
            ap.error("local mode needs --out")
        trail.write_dir(Path(a.out))
    else:
        if not a.bucket or not a.endpoint_url:
            ap.error("s3 mode needs --bucket and --endpoint-url")
        import boto3
        from botocore.config import Config

        s3 = boto3.client("s3", endpoint_url=a.endpoint_url, region_name=a.region,
                          config=Config(s3={"addressing_style": "path"}))
        if a.create_bucket:
            kw = {} if a.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": a.region}}
            try:
                s3.create_bucket(Bucket=a.bucket, **kw)
            except s3.exceptions.BucketAlreadyOwnedByYou:
                pass
        trail.upload(s3, a.bucket)
    summ = trail.summary()
    if a.summary == "-":
        json.dump(summ, sys.stdout, indent=2)
        print()
    elif a.summary:
        Path(a.summary).write_text(json.dumps(summ, indent=2) + "\n")
    print(f"generated {summ['objects']} objects ({summ['bytes']} bytes), "
          f"{summ['unique_event_ids']} unique events in {len(summ['expected_counts'])} daily indices",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
