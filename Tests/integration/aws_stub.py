"""A loopback stand-in for the AWS APIs cloudspool calls that moto lacks.

    cloudtrail LookupEvents   POST /  (awsJson 1.1, X-Amz-Target
                              com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents)
    cloudtrail ListPublicKeys POST /  (X-Amz-Target ...CloudTrail_20131101.ListPublicKeys): the keys a
                              test made to sign CloudTrail digests (moto does not sign digests)
    backup ListBackupJobs     GET /backup-jobs/  (rest-json)

Bodies are shaped as the AWS API reference documents them, like the documented
fixtures in inventory_fixtures/ (cloudtrail/LookupEvents.raw,
backup/ListBackupJobs.raw): JSON with epoch-second timestamps, written in the
forms these APIs use (`1795856531`, `1.795860861E9`, `1.795820400123E9`; see
`Raw` / `epoch_text`).

What exists is set by the test:

    stub.add_event(event(...))                        LookupEvents: an event, found by the
                                                      ResourceName of its Resources
    stub.add_backup_job(account, region, backup_job(...))   ListBackupJobs of that account/region
    stub.add_public_key(der, fingerprint, start, end, region=None)   ListPublicKeys (region None: every region)
    stub.fail("ListBackupJobs", account=..., status=403, code="AccessDeniedException")

Which account asks is read from the SigV4 `Authorization` header: the access key
of its Credential scope is mapped to an account by asking moto's STS
GetCallerIdentity with that key (moto does not check signatures; AssumeRole
hands out keys that belong to the role's account), or by `map_key(key, account)`.
The region is the Credential scope's region. A request without SigV4, or
signed for another service, is refused as AWS would (403).

Every request is logged (`stub.requests(op)`): time, operation, account,
region, access key, parsed body / query, answer status.

Paging: `events_page_size` / `jobs_page_size` cap a page below what the
request's MaxResults / maxResults asks, so NextToken paths get exercised.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.parse
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

LOOKUP_TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
PUBLIC_KEYS_TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.ListPublicKeys"
LOOKUP_KEYS = {"EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName",
               "EventSource", "AccessKeyId"}
_CRED_RX = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")


class Raw:
    """A JSON number written exactly as given (JSON APIs send epoch timestamps as 1.795860861E9 ...)."""

    def __init__(self, text: str):
        self.text = text
        float(text)  # must be a number

    @property
    def value(self) -> float:
        return float(self.text)

    def __repr__(self) -> str:
        return f"Raw({self.text})"


def epoch_text(t: float, style: str = "auto") -> Raw:
    """An epoch time in one of the forms AWS's JSON APIs use.

    int: 1795856531     e: 1.795860861E9     e_ms: 1.795820400123E9 (milliseconds kept)
    """
    if style == "int":
        return Raw(str(int(t)))
    if style == "e":
        s = f"{int(t)}"
        return Raw(f"{s[0]}.{s[1:].rstrip('0') or '0'}E{len(s) - 1}")
    if style == "e_ms":
        ms = int(round(t * 1000))
        s = f"{ms}"
        digits = s[:-3].lstrip("-")
        mant = (s[0] + "." + s[1:]).rstrip("0").rstrip(".")
        if "." not in mant:
            mant += ".0"
        return Raw(f"{mant}E{len(digits) - 1}")
    return Raw(repr(float(t)))


def number(v) -> Optional[float]:
    if isinstance(v, Raw):
        return v.value
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()
        except ValueError:
            try:
                return float(v)
            except ValueError:
                return None
    return None


def dump_aws_json(obj) -> bytes:
    """Compact JSON with Raw numbers written verbatim."""
    marks: dict = {}

    def enc(o):
        if isinstance(o, Raw):
            key = f"@@RAW{len(marks)}@@"
            marks[key] = o.text
            return key
        if isinstance(o, dict):
            return {k: enc(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [enc(v) for v in o]
        return o

    text = json.dumps(enc(obj), separators=(",", ":"), ensure_ascii=False)
    return re.sub(r'"(@@RAW\d+@@)"', lambda m: marks[m.group(1)], text).encode("utf-8")


# ---------------------------------------------------------------- documented shapes

def event(event_id: str, name: str, t: float, resource: str, *, account: str, region: str,
          source: str = "ec2.amazonaws.com", username: str = "alice", style: str = "e",
          read_only: bool = False, access_key: Optional[str] = "AKIAEXAMPLEALICE0001",
          resource_type: str = "AWS::EC2::Instance") -> dict:
    """One LookupEvents event, as the CloudTrail API reference documents it."""
    iso = datetime.fromtimestamp(int(t), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    ct = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE" + username.upper()[:8],
                         "arn": f"arn:aws:iam::{account}:user/people/{username}", "accountId": account,
                         "userName": username},
        "eventTime": iso, "eventSource": source, "eventName": name, "awsRegion": region,
        "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/1.45.11",
        "requestParameters": {"instancesSet": {"items": [{"instanceId": resource}]}},
        "responseElements": None, "requestID": str(uuid.uuid4()), "eventID": event_id,
        "readOnly": read_only, "eventType": "AwsApiCall", "managementEvent": True,
        "recipientAccountId": account, "eventCategory": "Management",
    }
    e = {"EventId": event_id, "EventName": name, "ReadOnly": "true" if read_only else "false"}
    if access_key:
        e["AccessKeyId"] = access_key
    e.update({"EventTime": epoch_text(t, style), "EventSource": source, "Username": username,
              "Resources": [{"ResourceType": resource_type, "ResourceName": resource}],
              "CloudTrailEvent": json.dumps(ct, separators=(",", ":"))})
    return e


def backup_job(job_id: str, account: str, region: str, resource_arn: str, state: str, *,
               created: float, completed: Optional[float] = None, resource_type: str = "EC2",
               resource_name: Optional[str] = None, style: str = "e_ms") -> dict:
    """One ListBackupJobs item, as the AWS Backup API reference documents it."""
    vault = f"arn:aws:backup:{region}:{account}:backup-vault:Default"
    j = {"AccountId": account, "BackupJobId": job_id, "BackupVaultName": "Default", "BackupVaultArn": vault}
    if state == "COMPLETED":
        j["RecoveryPointArn"] = f"arn:aws:ec2:{region}::image/ami-{job_id.replace('-', '')[:17]}"
        j["RecoveryPointLifecycle"] = {"DeleteAfterDays": 35}
    j["ResourceArn"] = resource_arn
    j["CreationDate"] = epoch_text(created, style)
    if completed is not None:
        j["CompletionDate"] = epoch_text(completed, style)
    j["State"] = state
    if state == "FAILED":
        j["StatusMessage"] = "Insufficient privileges to perform this action."
    j["PercentDone"] = "100.0" if state == "COMPLETED" else ("42.5" if state == "RUNNING" else "0.0")
    if state == "COMPLETED":
        j["BackupSizeInBytes"] = 8589934592
    j["IamRoleArn"] = f"arn:aws:iam::{account}:role/service-role/AWSBackupDefaultServiceRole"
    j["CreatedBy"] = {"BackupPlanId": "b9f7a1c2-0000-4000-8000-000000000001",
                      "BackupPlanArn": f"arn:aws:backup:{region}:{account}:backup-plan:b9f7a1c2-0000-4000-8000-000000000001",
                      "BackupPlanVersion": "ZmE0ZGQ2ZjMtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAx",
                      "BackupRuleId": "c0ffee00-0000-4000-8000-000000000001"}
    if state == "RUNNING":
        j["ExpectedCompletionDate"] = epoch_text(created + 3600, "int")
    j["StartBy"] = epoch_text(created + 8 * 3600, style)
    j["ResourceType"] = resource_type
    j["BytesTransferred"] = 0 if state != "RUNNING" else 1234567
    j["BackupOptions"] = {}
    j["IsParent"] = False
    if resource_name:
        j["ResourceName"] = resource_name
    j["InitiationDate"] = epoch_text(created - 60, "e")
    j["MessageCategory"] = {"COMPLETED": "SUCCESS", "FAILED": "ACCESS_DENIED"}.get(state, "RUNNING")
    return j


# ---------------------------------------------------------------- server

class _Fault:
    def __init__(self, op: str, account: Optional[str], region: Optional[str], status: int, code: str,
                 message: str, count: Optional[int]):
        self.op, self.account, self.region = op, account, region
        self.status, self.code, self.message, self.count = status, code, message, count
        self.applied = 0

    def matches(self, op: str, account: str, region: str) -> bool:
        return (self.op == op and (self.account is None or self.account == account)
                and (self.region is None or self.region == region)
                and (self.count is None or self.applied < self.count))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "aws-stub/1"
    stub: "AwsStub"

    def log_message(self, fmt, *args):
        pass

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str, message: str, ctype: str) -> int:
        if ctype.startswith("application/x-amz-json"):
            body = json.dumps({"__type": code, "message": message}).encode()
        else:
            body = json.dumps({"Code": code, "Message": message, "message": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-ErrorType", f"{code}:")
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(body)
        return status

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

    def _handle(self) -> None:
        stub = self.stub
        body = self._body()
        url = urllib.parse.urlsplit(self.path)
        target = self.headers.get("X-Amz-Target") or ""
        if self.command == "POST" and url.path == "/" and target:
            op, service, ctype = target.rsplit(".", 1)[-1], "cloudtrail", "application/x-amz-json-1.1"
        elif url.path.rstrip("/") == "/backup-jobs":
            op, service, ctype = "ListBackupJobs", "backup", "application/json"
        else:
            op, service, ctype = f"{self.command} {url.path}", "?", "application/json"
        entry = {"t": time.time(), "op": op, "method": self.command, "path": url.path, "target": target,
                 "query": urllib.parse.parse_qsl(url.query, keep_blank_values=True), "body": None,
                 "account": None, "region": None, "access_key": None, "service_scope": None,
                 "session_token": bool(self.headers.get("X-Amz-Security-Token")), "status": None}
        try:
            entry["status"] = self._dispatch(op, service, ctype, body, url, target, entry)
        finally:
            with stub.lock:
                stub.log.append(entry)

    def _dispatch(self, op, service, ctype, body, url, target, entry) -> int:
        stub = self.stub
        if service == "?":
            return self._error(404, "UnknownOperationException", f"no such operation: {op}", ctype)
        auth = self.headers.get("Authorization") or ""
        m = _CRED_RX.search(auth)
        if not auth.startswith("AWS4-HMAC-SHA256 ") or not m:
            return self._error(403, "MissingAuthenticationTokenException",
                               "Missing Authentication Token (no SigV4 Authorization header)", ctype)
        key, _day, region, scope_service = m.groups()
        entry.update(access_key=key, region=region, service_scope=scope_service)
        if scope_service != service:
            return self._error(403, "InvalidSignatureException",
                               f"Credential should be scoped to correct service: '{service}'.", ctype)
        account = stub.account_of(key)
        entry["account"] = account
        with stub.lock:
            fault = next((f for f in stub.faults if f.matches(op, account, region)), None)
            if fault:
                fault.applied += 1
        if service == "cloudtrail":
            try:
                req = json.loads(body or b"{}")
            except ValueError:
                return self._error(400, "SerializationException", "body is not JSON", ctype)
            entry["body"] = req
            if (op, target) not in (("LookupEvents", LOOKUP_TARGET), ("ListPublicKeys", PUBLIC_KEYS_TARGET)):
                return self._error(400, "UnknownOperationException", f"unknown target {target}", ctype)
        if fault:
            return self._error(fault.status, fault.code, fault.message, ctype)
        if op == "ListPublicKeys":
            return self._list_public_keys(entry["body"], region, ctype)
        if service == "cloudtrail":
            return self._lookup_events(entry["body"], account, region, ctype)
        return self._list_backup_jobs(entry["query"], account, region, ctype)

    # -- cloudtrail
    def _lookup_events(self, req: dict, account: str, region: str, ctype: str) -> int:
        stub = self.stub
        attrs = req.get("LookupAttributes") or []
        if not isinstance(attrs, list) or len(attrs) > 1:
            return self._error(400, "InvalidLookupAttributesException",
                               "You cannot specify more than one lookup attribute.", ctype)
        for a in attrs:
            if a.get("AttributeKey") not in LOOKUP_KEYS or not a.get("AttributeValue"):
                return self._error(400, "InvalidLookupAttributesException", f"bad lookup attribute {a}", ctype)
        max_results = req.get("MaxResults", 50)
        if not isinstance(max_results, int) or isinstance(max_results, bool) or not 1 <= max_results <= 50:
            return self._error(400, "InvalidMaxResultsException", "MaxResults must be 1..50", ctype)
        start = number(req["StartTime"]) if "StartTime" in req else None
        end = number(req["EndTime"]) if "EndTime" in req else None
        if ("StartTime" in req and start is None) or ("EndTime" in req and end is None):
            return self._error(400, "InvalidTimeRangeException", "StartTime/EndTime is not a timestamp", ctype)
        if start is not None and end is not None and start > end:
            return self._error(400, "InvalidTimeRangeException", "StartTime after EndTime", ctype)
        with stub.lock:
            events = [e for e in stub.events if e["_account"] == account and e["_region"] == region]
        for a in attrs:
            k, v = a["AttributeKey"], a["AttributeValue"]
            if k in ("ResourceName", "ResourceType"):
                events = [e for e in events if any(r.get(k) == v for r in e["event"].get("Resources", []))]
            else:
                events = [e for e in events if str(e["event"].get(k)) == v]
        if start is not None:
            events = [e for e in events if e["time"] >= start]
        if end is not None:
            events = [e for e in events if e["time"] <= end]
        events.sort(key=lambda e: -e["time"])
        key = json.dumps([attrs, req.get("StartTime"), req.get("EndTime")], sort_keys=True, default=str)
        offset = self._offset(req.get("NextToken"), key)
        if offset is None:
            return self._error(400, "InvalidNextTokenException", "the NextToken is not valid for this request", ctype)
        size = min(max_results, stub.events_page_size or 50)
        page = events[offset:offset + size]
        out: dict = {"Events": [e["event"] for e in page]}
        if offset + size < len(events):
            out["NextToken"] = self._token(offset + size, key)
        self._send(200, dump_aws_json(out), ctype)
        return 200

    def _list_public_keys(self, req: dict, region: str, ctype: str) -> int:
        """Keys whose validity overlaps StartTime..EndTime (both optional), as the API reference documents it."""
        start = number(req["StartTime"]) if "StartTime" in req else None
        end = number(req["EndTime"]) if "EndTime" in req else None
        if start is not None and end is not None and start > end:
            return self._error(400, "InvalidTimeRangeException", "StartTime after EndTime", ctype)
        with self.stub.lock:
            keys = [k for k in self.stub.public_keys if k["region"] in (None, region)]
        out = []
        for k in keys:
            if end is not None and k["start"] > end:
                continue
            if start is not None and k["end"] < start:
                continue
            out.append({"Value": base64.b64encode(k["der"]).decode(), "ValidityStartTime": epoch_text(k["start"], "int"),
                        "ValidityEndTime": epoch_text(k["end"], "int"), "Fingerprint": k["fingerprint"]})
        self._send(200, dump_aws_json({"PublicKeyList": out}), ctype)
        return 200

    # -- backup
    def _list_backup_jobs(self, query: list, account: str, region: str, ctype: str) -> int:
        stub = self.stub
        q = dict(query)
        try:
            max_results = int(q.get("maxResults", "1000"))
        except ValueError:
            max_results = -1
        if not 1 <= max_results <= 1000:
            return self._error(400, "InvalidParameterValueException", "maxResults must be 1..1000", ctype)
        with stub.lock:
            jobs = [j for (a, r, j) in stub.jobs if a == account and r == region]
        if q.get("byResourceArn"):
            jobs = [j for j in jobs if j.get("ResourceArn") == q["byResourceArn"]]
        if q.get("byState"):
            jobs = [j for j in jobs if j.get("State") == q["byState"]]
        if q.get("byResourceType"):
            jobs = [j for j in jobs if j.get("ResourceType") == q["byResourceType"]]
        key = json.dumps(sorted((k, v) for k, v in q.items() if k not in ("nextToken", "maxResults")))
        offset = self._offset(q.get("nextToken"), key)
        if offset is None:
            return self._error(400, "InvalidParameterValueException", "nextToken is not valid", ctype)
        size = min(max_results, stub.jobs_page_size or 1000)
        out: dict = {"BackupJobs": jobs[offset:offset + size]}
        if offset + size < len(jobs):
            out["NextToken"] = self._token(offset + size, key)
        self._send(200, dump_aws_json(out), ctype)
        return 200

    @staticmethod
    def _token(offset: int, key: str) -> str:
        return base64.b64encode(json.dumps([offset, key]).encode()).decode()

    @staticmethod
    def _offset(token: Optional[str], key: str) -> Optional[int]:
        if token is None:
            return 0
        try:
            off, k = json.loads(base64.b64decode(token))
        except (ValueError, TypeError):
            return None
        return off if k == key and isinstance(off, int) else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class AwsStub:
    """The stub, on a background thread of the calling process (127.0.0.1, free port)."""

    def __init__(self, moto_url: Optional[str] = None, host: str = "127.0.0.1", port: int = 0):
        if not (host.startswith("127.") or host in ("localhost", "::1")):
            raise ValueError("loopback only")
        self.moto_url = moto_url
        self.host, self.port = host, port
        self.lock = threading.Lock()
        self.events: list = []           # {"event", "time", "_account", "_region"}
        self.jobs: list = []             # (account, region, job)
        self.public_keys: list = []      # {"der", "fingerprint", "start", "end", "region"}
        self.faults: list = []
        self.log: list = []
        self.keys: dict = {}             # access key -> account
        self.events_page_size: Optional[int] = None
        self.jobs_page_size: Optional[int] = None
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    # -- lifecycle
    def start(self) -> "AwsStub":
        handler = type("Handler", (_Handler,), {"stub": self})
        self._server = _Server((self.host, self.port), handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        srv, self._server = self._server, None
        if srv is not None:
            srv.shutdown()
            srv.server_close()

    def __enter__(self) -> "AwsStub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- what exists
    def add_event(self, ev: dict, account: str, region: str) -> None:
        """An event of `account` in `region` (LookupEvents is per account and region)."""
        t = number(ev["EventTime"])
        with self.lock:
            self.events.append({"event": ev, "time": t, "_account": account, "_region": region, "added": time.time()})

    def add_backup_job(self, account: str, region: str, job: dict) -> None:
        with self.lock:
            self.jobs.append((account, region, job))

    def add_public_key(self, der: bytes, fingerprint: str, start: float, end: float, region: Optional[str] = None) -> None:
        """A CloudTrail public key (DER PKCS #1) for ListPublicKeys, valid from start to end (epoch seconds)."""
        with self.lock:
            self.public_keys.append({"der": der, "fingerprint": fingerprint, "start": start, "end": end, "region": region})

    def backup_jobs(self, account: str, region: str) -> list:
        with self.lock:
            return [j for (a, r, j) in self.jobs if a == account and r == region]

    def events_for(self, resource: str, account: Optional[str] = None, region: Optional[str] = None,
                   added_before: Optional[float] = None) -> list:
        """(event, epoch) of a resource (in that account/region, known to the stub before a time), newest first."""
        with self.lock:
            out = [(e["event"], e["time"]) for e in self.events
                   if any(r.get("ResourceName") == resource for r in e["event"].get("Resources", []))
                   and (account is None or e["_account"] == account) and (region is None or e["_region"] == region)
                   and (added_before is None or e["added"] < added_before)]
        return sorted(out, key=lambda x: -x[1])

    def fail(self, op: str, account: Optional[str] = None, region: Optional[str] = None, status: int = 403,
             code: str = "AccessDeniedException", message: str = "User is not authorized to perform this action",
             count: Optional[int] = None) -> None:
        """Answer `op` (LookupEvents, ListPublicKeys, ListBackupJobs) for that account/region with an AWS error."""
        with self.lock:
            self.faults.append(_Fault(op, account, region, status, code, message, count))

    def clear_faults(self) -> None:
        with self.lock:
            self.faults = []

    # -- who asks
    def map_key(self, access_key: str, account: str) -> None:
        with self.lock:
            self.keys[access_key] = account

    def account_of(self, access_key: str) -> str:
        with self.lock:
            if access_key in self.keys:
                return self.keys[access_key]
        account = "unknown"
        if self.moto_url:
            import boto3  # only the test process needs it
            try:
                sts = boto3.client("sts", endpoint_url=self.moto_url, region_name="us-east-1",
                                   aws_access_key_id=access_key, aws_secret_access_key="aws-stub-does-not-know")
                account = sts.get_caller_identity()["Account"]
            except Exception:  # noqa: BLE001 - an unknown key is logged as "unknown"
                account = "unknown"
        with self.lock:
            self.keys[access_key] = account
        return account

    # -- what was asked
    def requests(self, op: Optional[str] = None, since: float = 0.0) -> list:
        with self.lock:
            return [dict(e) for e in self.log if (op is None or e["op"] == op) and e["t"] >= since]

    def clear_log(self) -> None:
        with self.lock:
            self.log = []


def _selftest() -> None:  # pragma: no cover - python3 aws_stub.py
    assert epoch_text(1795860861, "e").text == "1.795860861E9"
    assert epoch_text(1795820400.123, "e_ms").text == "1.795820400123E9"
    assert epoch_text(1795856531, "int").text == "1795856531"
    assert float(epoch_text(1795820400.5, "e_ms").text) == 1795820400.5
    print("ok")


if __name__ == "__main__":
    _selftest()
