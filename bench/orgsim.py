#!/usr/bin/env python3
"""A loopback stand-in for the AWS APIs of the inventory, at organization scale.

It answers what `cloudspool-fetch` asks for the inventory of an organization
of N accounts x R regions: STS (GetCallerIdentity, AssumeRole), Organizations
(ListAccounts, 20 per page like AWS), EC2, RDS and CloudWatch (query protocol,
XML), Backup (REST, JSON) and CloudTrail LookupEvents (JSON), with

  * latency: every answer waits uniformly --latency-min..--latency-max seconds
    (default 0.10-0.20 s, what a collector sees from another region);
  * throttling like AWS: a token bucket per account, region and API family
    (EC2 Describe* 100 burst / 20 per s, CloudWatch DescribeAlarms 9/s and
    ListMetrics 25/s, RDS 40 / 8 per s, Backup 10 / 5 per s, CloudTrail
    LookupEvents 2/s, STS AssumeRole 600/s and Organizations ListAccounts
    10 / 2 per s for the caller); an empty bucket answers the throttling error
    of that API (EC2 503 RequestLimitExceeded, query APIs 400 Throttling, JSON
    APIs 400 ThrottlingException). --rate-scale multiplies every rate (0.1 =
    ten times stricter, to make throttling happen);
  * pages, as AWS cuts them (the client's MaxResults/MaxRecords, and
    ListMetrics 500, ListAccounts 20, LookupEvents 50);
  * an estate that is deterministic from --seed: each account has a home
    region with resources, other regions hold resources with probability
    --active-share, the rest only the default VPC's security group and
    internet gateway.

The account a request is for comes from its signature: the base credentials
(AKIA...) are the management account's; AssumeRole hands out
ASIA<12-digit account> keys.

Counters (GET /__stats on the same port): calls per operation, throttled
answers, connections accepted, connections open at once (overall and per
service: a connection counts for a service once it has carried one of its
requests), requests in flight, resources served.

    python3 bench/orgsim.py --accounts 1000 --regions 17 [--port 0]
    prints {"url": ..., "pid": ...} once listening. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import sys
import time
import urllib.parse
from collections import Counter

REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2", "eu-west-3",
           "eu-central-1", "eu-north-1", "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
           "ap-southeast-1", "ap-southeast-2", "sa-east-1", "me-south-1", "af-south-1", "eu-south-1"]
MANAGEMENT = "100000000001"
EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"

# (burst, refill per second) per account, region and family
RATES = {
    "ec2": (100, 20), "rds": (40, 8), "cw-alarms": (9, 9), "cw-metrics": (25, 25), "backup": (10, 5),
    "lookup": (2, 2), "sts": (600, 600), "orgs": (10, 2),
}


def account_ids(n: int) -> list:
    out = [MANAGEMENT]
    for i in range(1, n):
        out.append(f"{200000000000 + i * 7919:012d}")
    return out


class Bucket:
    __slots__ = ("tokens", "stamp", "burst", "rate")

    def __init__(self, burst: float, rate: float):
        self.tokens, self.stamp, self.burst, self.rate = burst, time.monotonic(), burst, rate

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Estate:
    """What each account and region holds (deterministic)."""

    def __init__(self, seed: int, regions: list, active_share: float, mean_instances: float):
        self.seed = seed
        self.regions = regions
        self.active_share = active_share
        self.mean_instances = mean_instances
        self.cache: dict = {}

    def unit(self, account: str, region: str) -> dict:
        key = (account, region)
        u = self.cache.get(key)
        if u is not None:
            return u
        h = int.from_bytes(hashlib.sha256(f"{self.seed}/{account}/{region}".encode()).digest()[:8], "big")
        rng = random.Random(h)
        home = self.regions[int(hashlib.sha256(f"{self.seed}/{account}".encode()).hexdigest(), 16) % len(self.regions)]
        active = region == home or rng.random() < self.active_share
        if active:
            n = max(1, int(rng.expovariate(1 / self.mean_instances)))
            u = {"instances": n, "volumes": int(n * 1.3), "snapshots": rng.randint(0, 3 * n), "groups": 2 + n // 3,
                 "enis": n + 2, "igws": 1, "nats": rng.randint(0, 2), "tgws": rng.randint(0, 1), "images": rng.randint(0, 5),
                 "alarms": n, "metrics": 8 * n, "jobs": n, "dbs": rng.randint(0, 4), "events": [rng.randint(0, 70) for _ in range(n)]}
            u["db_snapshots"] = 5 * u["dbs"]
        else:
            u = {"instances": 0, "volumes": 0, "snapshots": 0, "groups": 1, "enis": 0, "igws": 1, "nats": 0, "tgws": 0,
                 "images": 0, "alarms": 0, "metrics": 0, "jobs": 0, "dbs": 0, "db_snapshots": 0, "events": []}
        self.cache[key] = u
        return u


def page(total: int, token: str | None, size: int) -> tuple:
    start = int(token) if token and token.isdigit() else 0
    end = min(total, start + size)
    return range(start, end), (str(end) if end < total else None)


# ---------------------------------------------------------------- answers

def ec2_items(kind: str, account: str, region: str, r: range) -> str:
    az = region + "a"
    if kind == "DescribeInstances":
        items = []
        for i in r:
            items.append(
                f"<item><reservationId>r-{account[-6:]}{i:08x}</reservationId><ownerId>{account}</ownerId><groupSet/>"
                f"<instancesSet><item><instanceId>i-{account[-6:]}{i:011x}</instanceId><imageId>ami-{i % 7:017x}</imageId>"
                f"<instanceState><code>16</code><name>running</name></instanceState><privateDnsName>ip-10-0-{i // 250}-{i % 250}.{region}.compute.internal</privateDnsName>"
                f"<instanceType>{['t3.micro', 'm5.large', 'c5.xlarge', 'r5.2xlarge'][i % 4]}</instanceType><launchTime>2026-0{1 + i % 9}-1{i % 10}T08:00:00.000Z</launchTime>"
                f"<placement><availabilityZone>{az}</availabilityZone><tenancy>default</tenancy></placement><monitoring><state>disabled</state></monitoring>"
                f"<subnetId>subnet-{i % 3:017x}</subnetId><vpcId>vpc-0a1b2c3d4e5f60718</vpcId><privateIpAddress>10.0.{i // 250}.{i % 250}</privateIpAddress>"
                f"<groupSet><item><groupId>sg-{i % 5:017x}</groupId><groupName>app-{i % 5}</groupName></item></groupSet>"
                f"<architecture>x86_64</architecture><rootDeviceType>ebs</rootDeviceType><rootDeviceName>/dev/xvda</rootDeviceName>"
                f"<blockDeviceMapping><item><deviceName>/dev/xvda</deviceName><ebs><volumeId>vol-{i:017x}</volumeId><status>attached</status>"
                f"<attachTime>2026-01-10T08:00:01.000Z</attachTime><deleteOnTermination>true</deleteOnTermination></ebs></item></blockDeviceMapping>"
                f"<tagSet><item><key>Name</key><value>app-{i}</value></item><item><key>team</key><value>t{i % 9}</value></item></tagSet>"
                f"<virtualizationType>hvm</virtualizationType><hypervisor>xen</hypervisor></item></instancesSet></item>")
        return "<reservationSet>" + "".join(items) + "</reservationSet>"
    if kind == "DescribeVolumes":
        return "<volumeSet>" + "".join(
            f"<item><volumeId>vol-{i:017x}</volumeId><size>{8 + i % 100}</size><availabilityZone>{az}</availabilityZone><status>in-use</status>"
            f"<createTime>2026-01-10T08:00:00.000Z</createTime><volumeType>gp3</volumeType><iops>3000</iops><encrypted>true</encrypted></item>"
            for i in r) + "</volumeSet>"
    if kind == "DescribeSnapshots":
        return "<snapshotSet>" + "".join(
            f"<item><snapshotId>snap-{i:017x}</snapshotId><volumeId>vol-{i:017x}</volumeId><status>completed</status>"
            f"<startTime>2026-02-0{1 + i % 9}T03:00:00.000Z</startTime><progress>100%</progress><ownerId>{account}</ownerId>"
            f"<volumeSize>{8 + i % 100}</volumeSize><description>daily backup</description><encrypted>true</encrypted></item>"
            for i in r) + "</snapshotSet>"
    if kind == "DescribeSecurityGroups":
        return "<securityGroupInfo>" + "".join(
            f"<item><ownerId>{account}</ownerId><groupId>sg-{i:017x}</groupId><groupName>{'default' if i == 0 else f'app-{i}'}</groupName>"
            f"<groupDescription>group {i}</groupDescription><vpcId>vpc-0a1b2c3d4e5f60718</vpcId><ipPermissions><item><ipProtocol>tcp</ipProtocol>"
            f"<fromPort>443</fromPort><toPort>443</toPort><ipRanges><item><cidrIp>10.0.0.0/8</cidrIp></item></ipRanges></item></ipPermissions>"
            f"<ipPermissionsEgress><item><ipProtocol>-1</ipProtocol><ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges></item></ipPermissionsEgress></item>"
            for i in r) + "</securityGroupInfo>"
    if kind == "DescribeNetworkInterfaces":
        return "<networkInterfaceSet>" + "".join(
            f"<item><networkInterfaceId>eni-{i:017x}</networkInterfaceId><subnetId>subnet-{i % 3:017x}</subnetId><vpcId>vpc-0a1b2c3d4e5f60718</vpcId>"
            f"<availabilityZone>{az}</availabilityZone><ownerId>{account}</ownerId><status>in-use</status><privateIpAddress>10.0.{i // 250}.{i % 250}</privateIpAddress>"
            f"<groupSet><item><groupId>sg-{i % 5:017x}</groupId><groupName>app-{i % 5}</groupName></item></groupSet>"
            f"<attachment><attachmentId>eni-attach-{i:017x}</attachmentId><instanceId>i-{account[-6:]}{i:011x}</instanceId><status>attached</status></attachment></item>"
            for i in r) + "</networkInterfaceSet>"
    if kind == "DescribeInternetGateways":
        return "<internetGatewaySet>" + "".join(
            f"<item><internetGatewayId>igw-{i:017x}</internetGatewayId><ownerId>{account}</ownerId><attachmentSet><item><vpcId>vpc-0a1b2c3d4e5f60718</vpcId>"
            f"<state>available</state></item></attachmentSet><tagSet/></item>" for i in r) + "</internetGatewaySet>"
    if kind == "DescribeNatGateways":
        return "<natGatewaySet>" + "".join(
            f"<item><natGatewayId>nat-{i:017x}</natGatewayId><subnetId>subnet-{i % 3:017x}</subnetId><vpcId>vpc-0a1b2c3d4e5f60718</vpcId>"
            f"<state>available</state><createTime>2026-01-10T08:00:00.000Z</createTime></item>" for i in r) + "</natGatewaySet>"
    if kind == "DescribeTransitGateways":
        return "<transitGatewaySet>" + "".join(
            f"<item><transitGatewayId>tgw-{i:017x}</transitGatewayId><ownerId>{account}</ownerId><state>available</state>"
            f"<creationTime>2026-01-10T08:00:00.000Z</creationTime></item>" for i in r) + "</transitGatewaySet>"
    if kind == "DescribeImages":
        return "<imagesSet>" + "".join(
            f"<item><imageId>ami-{i:017x}</imageId><imageLocation>{account}/golden-{i}</imageLocation><imageState>available</imageState>"
            f"<imageOwnerId>{account}</imageOwnerId><creationDate>2026-01-0{1 + i % 9}T00:00:00.000Z</creationDate><isPublic>false</isPublic>"
            f"<architecture>x86_64</architecture><imageType>machine</imageType><name>golden-{i}</name><rootDeviceType>ebs</rootDeviceType></item>"
            for i in r) + "</imagesSet>"
    if kind == "DescribeInstanceTypes":
        return "<instanceTypeSet>" + "".join(
            f"<item><instanceType>{t}</instanceType><vCpuInfo><defaultVCpus>{2 << n}</defaultVCpus></vCpuInfo>"
            f"<memoryInfo><sizeInMiB>{1024 << n}</sizeInMiB></memoryInfo></item>" for n, t in enumerate(r)) + "</instanceTypeSet>"
    return ""


class Sim:
    def __init__(self, args):
        self.args = args
        self.accounts = account_ids(args.accounts)
        self.account_set = set(self.accounts)
        self.estate = Estate(args.seed, REGIONS[:args.regions], args.active_share, args.mean_instances)
        self.buckets: dict = {}
        self.rng = random.Random(args.seed)
        self.calls: Counter = Counter()
        self.throttled: Counter = Counter()
        self.resources = 0
        self.connections = 0
        self.open = 0
        self.max_open = 0
        self.open_by_service: Counter = Counter()
        self.max_open_by_service: Counter = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.first_call = None
        self.last_call = None

    # -------------------------------------------------------------- HTTP
    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        services: set = set()
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                method, target, _ = line.decode("latin-1").split(" ", 2)
                headers = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                if target.startswith("/__stats"):
                    await self.respond(writer, 200, json.dumps(self.stats()).encode(), "application/json")
                    continue
                service = self.scope(headers)[2]
                if service not in services:
                    services.add(service)
                    self.open_by_service[service] += 1
                    self.max_open_by_service[service] = max(self.max_open_by_service[service], self.open_by_service[service])
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    status, payload, ctype = await self.handle(method, target, headers, body)
                finally:
                    self.in_flight -= 1
                await self.respond(writer, status, payload, ctype)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self.open -= 1
            for s in services:
                self.open_by_service[s] -= 1
            writer.close()

    async def respond(self, writer, status: int, payload: bytes, ctype: str) -> None:
        reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 503: "Service Unavailable"}.get(status, "X")
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(payload)}\r\n"
                     f"x-amzn-RequestId: 11111111-2222-3333-4444-555555555555\r\n\r\n".encode() + payload)
        await writer.drain()

    @staticmethod
    def scope(headers: dict) -> tuple:
        """(access key id, region, service) from the SigV4 Authorization header."""
        auth = headers.get("authorization", "")
        i = auth.find("Credential=")
        if i < 0:
            return "", "", "?"
        parts = auth[i + 11:].split(",", 1)[0].split("/")
        return (parts[0], parts[2], parts[3]) if len(parts) >= 4 else ("", "", "?")

    def take(self, account: str, region: str, family: str) -> bool:
        key = (account, region, family)
        b = self.buckets.get(key)
        if b is None:
            burst, rate = RATES[family]
            s = self.args.rate_scale
            b = self.buckets[key] = Bucket(max(1.0, burst * s), rate * s)
        return b.take()

    async def handle(self, method: str, target: str, headers: dict, body: bytes) -> tuple:
        akid, region, service = self.scope(headers)
        account = akid[4:16] if akid.startswith("ASIA") else MANAGEMENT
        now = time.monotonic()
        self.first_call = self.first_call or now
        url = urllib.parse.urlsplit(target)
        form = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)) if headers.get("content-type", "").startswith("application/x-www-form") else {}
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        amz_target = headers.get("x-amz-target", "")
        op = form.get("Action") or amz_target.rsplit(".", 1)[-1] or ("ListBackupJobs" if url.path.startswith("/backup-jobs") else url.path)
        family = {"ec2": "ec2", "rds": "rds", "backup": "backup", "cloudtrail": "lookup", "sts": "sts", "organizations": "orgs"}.get(service)
        if service == "monitoring":
            family = "cw-alarms" if op == "DescribeAlarms" else "cw-metrics"
        if family and op != "GetCallerIdentity" and not self.take(account, region if family not in ("sts", "orgs") else "global", family):
            self.throttled[f"{service} {op}"] += 1
            await asyncio.sleep(self.rng.uniform(0.01, 0.05))
            return self.throttle_error(service)
        self.calls[f"{service} {op}"] += 1
        await asyncio.sleep(self.rng.uniform(self.args.latency_min, self.args.latency_max))
        self.last_call = time.monotonic()
        if service == "sts":
            return self.sts(op, form)
        if service == "organizations":
            return self.organizations(json.loads(body or b"{}"))
        if service == "ec2":
            return self.ec2(op, form, account, region)
        if service == "rds":
            return self.rds(op, form, account, region)
        if service == "monitoring":
            return self.cloudwatch(op, form, account, region)
        if service == "backup":
            return self.backup(query, account, region)
        if service == "cloudtrail":
            return self.lookup(json.loads(body or b"{}"), account, region)
        return 404, b'{"message":"unknown"}', "application/json"

    @staticmethod
    def throttle_error(service: str) -> tuple:
        if service == "ec2":
            return 503, (b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code>'
                         b'<Message>Request limit exceeded.</Message></Error></Errors><RequestID>x</RequestID></Response>'), "text/xml"
        if service in ("rds", "monitoring", "sts"):
            return 400, (b'<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>'
                         b'<RequestId>x</RequestId></ErrorResponse>'), "text/xml"
        return 400, b'{"__type":"ThrottlingException","message":"Rate exceeded"}', "application/x-amz-json-1.1"

    # -------------------------------------------------------------- services
    def sts(self, op: str, form: dict) -> tuple:
        if op == "GetCallerIdentity":
            return 200, (f'<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::{MANAGEMENT}:user/collector</Arn>'
                         f'<UserId>AIDAEXAMPLE</UserId><Account>{MANAGEMENT}</Account></GetCallerIdentityResult></GetCallerIdentityResponse>').encode(), "text/xml"
        account = form.get("RoleArn", "").split(":")[4]
        if account not in self.account_set:
            return 403, b'<ErrorResponse><Error><Code>AccessDenied</Code><Message>no such role</Message></Error></ErrorResponse>', "text/xml"
        return 200, (f'<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIA{account}XXXX</AccessKeyId>'
                     f'<SecretAccessKey>secret{account}</SecretAccessKey><SessionToken>token{account}</SessionToken>'
                     f'<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::{account}:assumed-role/r/s</Arn>'
                     f'<AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>').encode(), "text/xml"

    def organizations(self, req: dict) -> tuple:
        r, nxt = page(len(self.accounts), req.get("NextToken"), 20)
        accounts = [{"Id": self.accounts[i], "Arn": f"arn:aws:organizations::{MANAGEMENT}:account/o-sim/{self.accounts[i]}",
                     "Email": f"a{i}@example.com", "Name": f"account-{i}", "Status": "ACTIVE", "JoinedMethod": "CREATED",
                     "JoinedTimestamp": 1.7e9} for i in r]
        out = {"Accounts": accounts}
        if nxt:
            out["NextToken"] = nxt
        return 200, json.dumps(out).encode(), "application/x-amz-json-1.1"

    def ec2(self, op: str, form: dict, account: str, region: str) -> tuple:
        u = self.estate.unit(account, region)
        size = int(form.get("MaxResults", "1000") or 1000)
        token = form.get("NextToken")
        counts = {"DescribeInstances": u["instances"], "DescribeVolumes": u["volumes"], "DescribeSnapshots": u["snapshots"],
                  "DescribeSecurityGroups": u["groups"], "DescribeNetworkInterfaces": u["enis"], "DescribeInternetGateways": u["igws"],
                  "DescribeNatGateways": u["nats"], "DescribeTransitGateways": u["tgws"]}
        if op == "DescribeImages":
            total = u["images"] if form.get("Owner.1") == "self" else len([k for k in form if k.startswith("Filter.1.Value.")])
            r, nxt = page(total, token, 1000)
        elif op == "DescribeInstanceTypes":
            r, nxt = [v for k, v in sorted(form.items()) if k.startswith("InstanceType.")], None
        elif op in counts:
            r, nxt = page(counts[op], token, size)
        elif op == "DescribeRegions":
            inner = "".join(f"<item><regionName>{x}</regionName><regionEndpoint>ec2.{x}.amazonaws.com</regionEndpoint></item>"
                            for x in self.estate.regions)
            return 200, f'<DescribeRegionsResponse xmlns="{EC2_NS}"><regionInfo>{inner}</regionInfo></DescribeRegionsResponse>'.encode(), "text/xml"
        else:
            return 400, b'<Response><Errors><Error><Code>InvalidAction</Code><Message>x</Message></Error></Errors></Response>', "text/xml"
        self.resources += len(r)
        nt = f"<nextToken>{nxt}</nextToken>" if nxt else ""
        return 200, (f'<{op}Response xmlns="{EC2_NS}"><requestId>11111111-2222-3333-4444-555555555555</requestId>'
                     f'{ec2_items(op, account, region, r)}{nt}</{op}Response>').encode(), "text/xml"

    def rds(self, op: str, form: dict, account: str, region: str) -> tuple:
        u = self.estate.unit(account, region)
        size = int(form.get("MaxRecords", "100") or 100)
        if op == "DescribeDBInstances":
            r, nxt = page(u["dbs"], form.get("Marker"), size)
            items = "".join(f"<DBInstance><DBInstanceIdentifier>db-{i}</DBInstanceIdentifier><DBInstanceClass>db.{['t3.micro', 'm5.large', 'r5.xlarge'][i % 3]}</DBInstanceClass>"
                            f"<Engine>postgres</Engine><EngineVersion>16.3</EngineVersion><DBInstanceStatus>available</DBInstanceStatus>"
                            f"<AllocatedStorage>100</AllocatedStorage><InstanceCreateTime>2026-01-10T08:00:00Z</InstanceCreateTime>"
                            f"<MultiAZ>false</MultiAZ><AvailabilityZone>{region}a</AvailabilityZone></DBInstance>" for i in r)
            inner = f"<DBInstances>{items}</DBInstances>"
        else:
            r, nxt = page(u["db_snapshots"], form.get("Marker"), size)
            items = "".join(f"<DBSnapshot><DBSnapshotIdentifier>rds:db-{i % 4}-2026-02-0{1 + i % 9}</DBSnapshotIdentifier>"
                            f"<DBInstanceIdentifier>db-{i % 4}</DBInstanceIdentifier><SnapshotCreateTime>2026-02-01T03:00:00Z</SnapshotCreateTime>"
                            f"<Status>available</Status><SnapshotType>automated</SnapshotType><PercentProgress>100</PercentProgress></DBSnapshot>" for i in r)
            inner = f"<DBSnapshots>{items}</DBSnapshots>"
        self.resources += len(r)
        marker = f"<Marker>{nxt}</Marker>" if nxt else ""
        return 200, (f'<{op}Response xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><{op}Result>{inner}{marker}</{op}Result>'
                     f'<ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></{op}Response>').encode(), "text/xml"

    def cloudwatch(self, op: str, form: dict, account: str, region: str) -> tuple:
        u = self.estate.unit(account, region)
        if op == "DescribeAlarms":
            r, nxt = page(u["alarms"], form.get("NextToken"), int(form.get("MaxRecords", "100") or 100))
            items = "".join(f"<member><AlarmName>cpu-high-{i}</AlarmName><AlarmArn>arn:aws:cloudwatch:{region}:{account}:alarm:cpu-high-{i}</AlarmArn>"
                            f"<StateValue>OK</StateValue><MetricName>CPUUtilization</MetricName><Namespace>AWS/EC2</Namespace>"
                            f"<Dimensions><member><Name>InstanceId</Name><Value>i-{account[-6:]}{i:011x}</Value></member></Dimensions>"
                            f"<Threshold>90.0</Threshold><ComparisonOperator>GreaterThanThreshold</ComparisonOperator></member>" for i in r)
            inner = f"<MetricAlarms>{items}</MetricAlarms><CompositeAlarms/>"
        else:
            r, nxt = page(u["metrics"], form.get("NextToken"), 500)
            names = ["CPUUtilization", "NetworkIn", "NetworkOut", "DiskReadOps", "DiskWriteOps", "StatusCheckFailed", "CPUCreditUsage", "EBSIOBalance%"]
            items = "".join(f"<member><Namespace>AWS/EC2</Namespace><MetricName>{names[i % 8]}</MetricName><Dimensions><member>"
                            f"<Name>InstanceId</Name><Value>i-{account[-6:]}{i // 8:011x}</Value></member></Dimensions></member>" for i in r)
            inner = f"<Metrics>{items}</Metrics>"
        self.resources += len(r)
        token = f"<NextToken>{nxt}</NextToken>" if nxt else ""
        return 200, (f'<{op}Response xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><{op}Result>{inner}{token}</{op}Result>'
                     f'<ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></{op}Response>').encode(), "text/xml"

    def backup(self, query: dict, account: str, region: str) -> tuple:
        u = self.estate.unit(account, region)
        r, nxt = page(u["jobs"], query.get("nextToken"), int(query.get("maxResults", "1000") or 1000))
        jobs = [{"AccountId": account, "BackupJobId": f"job-{i:08d}", "BackupVaultName": "Default", "State": "COMPLETED",
                 "ResourceArn": f"arn:aws:ec2:{region}:{account}:instance/i-{account[-6:]}{i:011x}", "ResourceType": "EC2",
                 "CreationDate": 1.77e9 + i, "CompletionDate": 1.77e9 + i + 600, "BackupSizeInBytes": 1 << 30} for i in r]
        self.resources += len(r)
        out = {"BackupJobs": jobs}
        if nxt:
            out["NextToken"] = nxt
        return 200, json.dumps(out).encode(), "application/json"

    def lookup(self, req: dict, account: str, region: str) -> tuple:
        u = self.estate.unit(account, region)
        name = (req.get("LookupAttributes") or [{}])[0].get("AttributeValue", "")
        try:
            i = int(name[-11:], 16)
            total = u["events"][i]
        except (ValueError, IndexError):
            total = 0
        r, nxt = page(total, req.get("NextToken"), int(req.get("MaxResults", 50) or 50))
        events = [{"EventId": f"{account}-{name}-{e:04d}", "EventName": ["StartInstances", "StopInstances", "CreateTags"][e % 3],
                   "ReadOnly": "false", "EventTime": 1.77e9 - e * 3600, "EventSource": "ec2.amazonaws.com", "Username": "ops",
                   "Resources": [{"ResourceType": "AWS::EC2::Instance", "ResourceName": name}],
                   "CloudTrailEvent": json.dumps({"eventVersion": "1.09", "eventName": "StartInstances", "awsRegion": region})} for e in r]
        out = {"Events": events}
        if nxt:
            out["NextToken"] = nxt
        return 200, json.dumps(out).encode(), "application/x-amz-json-1.1"

    def stats(self) -> dict:
        return {"calls": sum(self.calls.values()), "by_operation": dict(self.calls), "throttled": sum(self.throttled.values()),
                "throttled_by_operation": dict(self.throttled), "resources": self.resources, "connections": self.connections,
                "max_open_connections": self.max_open, "max_open_by_service": dict(self.max_open_by_service),
                "max_in_flight": self.max_in_flight,
                "busy_seconds": (self.last_call - self.first_call) if self.first_call and self.last_call else 0}


def expected(args) -> dict:
    """What the estate holds and how many calls a full collection makes (without throttling)."""
    est = Estate(args.seed, REGIONS[:args.regions], args.active_share, args.mean_instances)
    calls = 0
    resources = 0
    instances = 0
    for account in account_ids(args.accounts):
        for region in est.regions:
            u = est.unit(account, region)
            n = u["instances"]
            instances += n
            c = 14 + (2 if n else 0)
            c += max(0, (u["metrics"] - 1) // 500) + max(0, (u["alarms"] - 1) // 100) + max(0, (u["dbs"] - 1) // 100) + max(0, (u["db_snapshots"] - 1) // 100)
            c += sum(min(2, max(1, -(-e // 50))) for e in u["events"]) if args.lookup_events else 0
            calls += c
            resources += sum(u[k] for k in ("instances", "volumes", "snapshots", "groups", "enis", "igws", "nats", "tgws", "images",
                                             "alarms", "metrics", "jobs", "dbs", "db_snapshots"))
    units = args.accounts * args.regions
    return {"units": units, "calls": calls, "calls_per_unit": round(calls / units, 1), "resources": resources, "instances": instances}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=1000)
    ap.add_argument("--regions", type=int, default=17)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--active-share", type=float, default=0.50, help="share of non-home regions holding resources")
    ap.add_argument("--mean-instances", type=float, default=15.0)
    ap.add_argument("--latency-min", type=float, default=0.10)
    ap.add_argument("--latency-max", type=float, default=0.20)
    ap.add_argument("--rate-scale", type=float, default=1.0, help="multiply every throttling rate (0.1: ten times stricter)")
    ap.add_argument("--lookup-events", type=int, default=100, help="for --expected only: whether LookupEvents is called")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--expected", action="store_true", help="print what a full collection calls and exit")
    args = ap.parse_args()
    if args.expected:
        print(json.dumps(expected(args)))
        return
    sim = Sim(args)

    async def run() -> None:
        server = await asyncio.start_server(sim.serve, "127.0.0.1", args.port, backlog=1024, limit=1 << 20)
        port = server.sockets[0].getsockname()[1]
        print(json.dumps({"url": f"http://127.0.0.1:{port}", "pid": os.getpid()}), flush=True)
        async with server:
            await server.serve_forever()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
