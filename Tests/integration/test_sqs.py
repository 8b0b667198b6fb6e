"""CloudTrail in queue mode (`cloudtrail.queue_url`): fetch reads an SQS queue instead of listing the bucket.

One moto_server for the module (its S3 bucket notifications reach SQS directly, through SNS and
through EventBridge), one osmem-server per test. Every test checks the index exactly (event counts
per daily index) and the queue (nothing left, or what must be left).

 * every route a message can take (S3 event sent directly, through SNS, through EventBridge,
   CloudTrail's own SNS notification, and AWS's documented S3 event format sent by hand, whose
   keys keep '/' where moto encodes it): each log file fetched once, digests and the writability
   check skipped, s3:TestEvent deleted;
 * two fetchers (two spools, as on two hosts) on one queue at once: each log file in exactly one
   raw run (no redelivery happened), the index holds every event once;
 * SIGKILL while a download runs, and SIGKILL after the raw run was renamed but before the
   messages were deleted (the delete held by a fault proxy): the messages come back after the
   queue's visibility timeout, and the index still holds every event exactly once;
 * poison messages (an object that does not exist, a body that is not JSON): quarantined with
   their body after queue_max_receives receives and deleted; with a redrive policy the queue's
   dead-letter queue takes them (a copy in quarantine);
 * an empty queue: a run returns after one long poll, within queue_max_seconds.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest

import peers
import support
from faultproxy import FaultProxy
from support import Pipeline, Spool, http

REGION = support.REGION
ACCOUNT = "123456789012"   # moto's account
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def aws(binaries, peer_logs):
    moto = peers.start_moto(log_dir=str(peer_logs))
    import boto3
    kw = dict(endpoint_url=moto.url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    from botocore.config import Config
    clients = {name: boto3.client(name, **kw) for name in ("sqs", "sns", "events")}
    clients["s3"] = boto3.client("s3", config=Config(s3={"addressing_style": "path"}), **kw)
    clients["url"] = moto.url
    yield clients
    moto.stop()


class QueueWorld:
    """A trail bucket, its queue, and the pipelines (spools) that read it."""

    def __init__(self, aws: dict, osmem_url: str, tmp: Path, visibility: int = 30, redrive: dict | None = None,
                 prefix: str = "ct logs+x"):
        self.aws = aws
        self.s3, self.sqs = aws["s3"], aws["sqs"]
        self.tmp = tmp
        self.osmem_url = osmem_url
        self.name = "sq-" + uuid.uuid4().hex[:16]
        self.bucket = self.name
        self.prefix = prefix
        self.s3.create_bucket(Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        attributes = {"VisibilityTimeout": str(visibility)}
        if redrive:
            attributes["RedrivePolicy"] = json.dumps(redrive)
        self.queue_url = self.sqs.create_queue(QueueName=self.name, Attributes=attributes)["QueueUrl"]
        self.queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.pipes: list[Pipeline] = []

    def pipeline(self, name: str = "a", **queue_keys) -> Pipeline:
        folder = self.tmp / name
        folder.mkdir(parents=True, exist_ok=True)
        p = Pipeline(folder, self.aws["url"], self.s3, self.bucket, self.osmem_url, prefix=self.prefix)
        keys = {"queue_url": self.queue_url, "queue_max_seconds": 60, "queue_wait_seconds": 2, "batch_objects": 10}
        keys.update(queue_keys)
        p.write_config(cloudtrail=keys)
        self.pipes.append(p)
        return p

    # ---- routes
    def notify_directly(self) -> None:
        self.s3.put_bucket_notification_configuration(Bucket=self.bucket, NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": self.queue_arn, "Events": ["s3:ObjectCreated:*"]}]})

    def notify_through_sns(self) -> str:
        topic = self.aws["sns"].create_topic(Name=self.name)["TopicArn"]
        self.aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=self.queue_arn)
        return topic

    def notify_through_eventbridge(self) -> None:
        self.s3.put_bucket_notification_configuration(Bucket=self.bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
        events = self.aws["events"]
        events.put_rule(Name=self.name, EventPattern=json.dumps({"source": ["aws.s3"]}))
        events.put_targets(Rule=self.name, Targets=[{"Id": "queue", "Arn": self.queue_arn}])

    def send(self, body) -> str:
        return self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body if isinstance(body, str) else json.dumps(body))["MessageId"]

    # ---- queue state
    def counts(self, url: str | None = None) -> tuple[int, int]:
        a = self.sqs.get_queue_attributes(QueueUrl=url or self.queue_url, AttributeNames=["ApproximateNumberOfMessages",
                                                                                            "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])

    def generate(self, **spec):
        spec.setdefault("prefix", self.prefix)
        spec.setdefault("start", support.trail_days())
        spec.setdefault("accounts", 2)
        spec.setdefault("regions", ["eu-west-1", "us-east-1"])
        spec.setdefault("days", 1)
        spec.setdefault("files_per_prefix", 2)
        spec.setdefault("records_per_file", 4)
        spec.setdefault("specials", False)
        return support.gen.generate(support.gen.Spec(**spec))


def documented_s3_event(bucket: str, key: str) -> dict:
    """An S3 event notification as AWS documents it: the key form-encoded, '/' kept."""
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION, "eventTime": "2026-11-28T10:20:03.512Z",
        "eventName": "ObjectCreated:Put", "userIdentity": {"principalId": "AWS:AROAEXAMPLE:regionalDeliverySession"},
        "requestParameters": {"sourceIPAddress": "10.0.0.1"}, "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "cloudspool",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"}, "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": urllib.parse.quote_plus(key, safe="/"), "size": 1, "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                          "sequencer": "0055AED6DCD90281E5"}}}]}


def last_report(pipe: Pipeline, stage: str = "fetch") -> dict:
    runs = sorted((pipe.spool.root / "runs" / stage).glob("*.json"))
    return json.loads(runs[-1].read_text())


def counts_of(pipe: Pipeline) -> dict:
    return last_report(pipe)["counts"]


def transform_and_load(*pipes: Pipeline) -> None:
    for p in pipes:
        p.expect("transform")
        p.expect("load")


def assert_index_exact(pipe: Pipeline, trail) -> None:
    assert pipe.index.counts() == trail.expected_counts(), "the index does not hold each event exactly once"
    docs = pipe.index.docs()
    assert set(docs) == trail.expected_ids()
    assert all(len(v) == 1 for v in docs.values())


# ====================================================================== routes

ROUTES = ["s3-direct", "s3-through-sns", "eventbridge", "cloudtrail-sns", "documented-s3-event"]


@pytest.mark.parametrize("route", ROUTES)
def test_every_route_fetches_each_log_file_once(route, aws, osmem, tmp_path):
    w = QueueWorld(aws, osmem.url, tmp_path)
    trail = w.generate(seed=ROUTES.index(route) + 1)
    topic = None
    if route == "s3-direct":
        w.notify_directly()
    elif route == "s3-through-sns":
        topic = w.notify_through_sns()
        w.s3.put_bucket_notification_configuration(Bucket=w.bucket, NotificationConfiguration={
            "TopicConfigurations": [{"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}]})
    elif route == "eventbridge":
        w.notify_through_eventbridge()
    elif route == "cloudtrail-sns":
        topic = w.notify_through_sns()
    trail.upload(w.s3, w.bucket)
    if route == "cloudtrail-sns":
        # CloudTrail announces the log files it delivered (several per notification), digests never.
        logs = sorted(trail.log_keys())
        for i in range(0, len(logs), 3):
            w.aws["sns"].publish(TopicArn=topic, Message=json.dumps({"s3Bucket": w.bucket, "s3ObjectKey": logs[i:i + 3]}))
    elif route == "documented-s3-event":
        for o in trail.objects:
            w.send(documented_s3_event(w.bucket, o.key))
    # a message about another bucket is skipped and deleted
    w.send(documented_s3_event("some-other-bucket", sorted(trail.log_keys())[0]))

    pipe = w.pipeline()
    r = pipe.expect("fetch")
    counts = counts_of(pipe)
    assert counts["files"] == len(trail.log_keys()), r.describe()
    assert sorted(pipe.spool.raw_keys()) == sorted(trail.log_keys())   # each once
    assert w.counts() == (0, 0), "every message must be deleted"
    if route in ("s3-direct", "s3-through-sns"):
        assert counts.get("test_events", 0) == 1   # sent when the notification was configured
    if route != "cloudtrail-sns":
        # digests and the writability checks are announced too, and skipped (plus the other bucket's message)
        assert counts["skipped"] == len(trail.skipped_keys()) + 1
    assert counts["messages_deleted"] == counts["messages"]
    assert pipe.spool.check_invariants() == []
    transform_and_load(pipe)
    assert_index_exact(pipe, trail)
    # The manifest entries are those of the listing mode.
    entry = pipe.spool.manifest(pipe.spool.raw_runs()[0])["entries"][0]
    assert entry["service"] == "s3" and entry["operation"] == "GetObject"
    assert set(entry["parameters"]) == {"Bucket", "Key"} and entry["parameters"]["Bucket"] == w.bucket
    # Nothing more: a second run finds an empty queue.
    pipe.expect("fetch")
    assert counts_of(pipe).get("files", 0) == 0


# ====================================================================== several fetchers

def test_two_fetchers_on_one_queue_index_each_event_once(aws, osmem, tmp_path):
    w = QueueWorld(aws, osmem.url, tmp_path, visibility=60)
    w.notify_directly()
    trail = w.generate(accounts=3, days=2, files_per_prefix=5, records_per_file=3)
    trail.upload(w.s3, w.bucket)
    a, b = w.pipeline("host-a", batch_objects=7), w.pipeline("host-b", batch_objects=7)
    procs = [a.popen("fetch"), b.popen("fetch")]
    for p in procs:
        p.wait(timeout=120)
    for p in procs:
        assert p.returncode == 0, Path(p.out_path).read_text()
    ca, cb = counts_of(a), counts_of(b)
    assert ca.get("files", 0) > 0 and cb.get("files", 0) > 0, (ca, cb)   # both did part of the work
    keys = a.spool.raw_keys() + b.spool.raw_keys()
    redelivered = ca.get("redelivered", 0) + cb.get("redelivered", 0)
    assert set(keys) == trail.log_keys()
    assert len(keys) - len(set(keys)) <= redelivered, "a log file stored twice without a redelivery"
    assert redelivered == 0 and len(keys) == len(trail.log_keys())
    assert w.counts() == (0, 0)
    transform_and_load(a, b)    # both hosts load into the one index
    assert_index_exact(a, trail)


# ====================================================================== SIGKILL and redelivery

@pytest.mark.parametrize("moment", ["during-download", "after-rename-before-delete"])
def test_sigkill_then_redelivery_indexes_each_event_once(moment, aws, osmem, tmp_path):
    visibility = 4
    w = QueueWorld(aws, osmem.url, tmp_path, visibility=visibility)
    trail = w.generate(files_per_prefix=3)
    trail.upload(w.s3, w.bucket)
    # One message per log file (no test event, no digest): every delete follows the rename of the raw run.
    for key in sorted(trail.log_keys()):
        w.send(documented_s3_event(w.bucket, key))
    with FaultProxy(aws["url"]) as proxy:
        pipe = w.pipeline(batch_objects=1000)
        if moment == "during-download":
            # the 5th log file's download hangs
            pipe.extra_env["AWS_ENDPOINT_URL_S3"] = proxy.url
            proxy.add_rule(mode="stall", seconds=60, method="GET", path=r"_CloudTrail_", skip=4, count=None)
        else:
            # the DeleteMessageBatch that follows the rename hangs (its entries carry only Id and ReceiptHandle)
            pipe.extra_env["AWS_ENDPOINT_URL_SQS"] = proxy.url
            proxy.add_rule(mode="stall", seconds=60, method="POST", body_regex=r'"ReceiptHandle":"[^"]*"\}', count=None)
        p = pipe.popen("fetch")
        deadline = time.monotonic() + 60
        while proxy.stats()["faults"].get("stall", 0) == 0 and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert p.poll() is None, Path(p.out_path).read_text()
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        pipe.extra_env.clear()
    raws = pipe.spool.raw_runs()
    if moment == "during-download":
        assert raws == [] and pipe.leftovers() != []
    else:
        assert sorted(pipe.spool.raw_keys()) == sorted(trail.log_keys()), "the raw run was renamed before the delete"
    assert sum(w.counts()) > 0, "no message may be deleted before its files are in a renamed raw run"
    time.sleep(visibility + 1)
    pipe.expect("fetch")
    counts = counts_of(pipe)
    assert counts.get("redelivered", 0) > 0
    assert w.counts() == (0, 0)
    assert pipe.leftovers() == []
    keys = pipe.spool.raw_keys()
    assert set(keys) == trail.log_keys()
    if moment == "after-rename-before-delete":
        assert len(keys) == 2 * len(trail.log_keys())   # every file stored twice: the redelivery
    else:
        assert len(keys) == len(trail.log_keys())
    transform_and_load(pipe)
    assert_index_exact(pipe, trail)
    assert pipe.spool.check_invariants() == []


def test_sigterm_keeps_what_is_downloaded_and_deletes_only_its_messages(aws, osmem, tmp_path):
    w = QueueWorld(aws, osmem.url, tmp_path, visibility=5)
    trail = w.generate(files_per_prefix=4)
    trail.upload(w.s3, w.bucket)
    keys = sorted(trail.log_keys())
    for key in keys:
        w.send(documented_s3_event(w.bucket, key))
    with FaultProxy(aws["url"]) as proxy:
        pipe = w.pipeline(batch_objects=1000)
        pipe.extra_env["AWS_ENDPOINT_URL_S3"] = proxy.url
        # the 6th download takes 2 s: SIGTERM arrives while it runs
        proxy.add_rule(mode="stall", seconds=2, method="GET", path=r"_CloudTrail_", skip=5, count=1)
        p = pipe.popen("fetch")
        deadline = time.monotonic() + 60
        while proxy.stats()["faults"].get("stall", 0) == 0 and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(p.pid, signal.SIGTERM)
        p.wait(timeout=60)
        pipe.extra_env.clear()
    out = Path(p.out_path).read_text()
    assert p.returncode == 143, out
    assert "stopped by SIGTERM at a safe point" in out
    stored = pipe.spool.raw_keys()
    assert len(stored) == 6 and len(set(stored)) == 6, stored   # the download in progress finished, nothing after it
    assert pipe.leftovers() == []
    time.sleep(5.5)   # the messages not handled come back
    pipe.expect("fetch")
    assert sorted(pipe.spool.raw_keys()) == keys   # every file once: the 6 stored files' messages were deleted
    assert w.counts() == (0, 0)
    transform_and_load(pipe)
    assert_index_exact(pipe, trail)


# ====================================================================== poison messages

def test_poison_messages_are_quarantined_after_max_receives(aws, osmem, tmp_path):
    w = QueueWorld(aws, osmem.url, tmp_path, visibility=1)
    trail = w.generate(accounts=1, regions=["eu-west-1"], files_per_prefix=2)
    trail.upload(w.s3, w.bucket)
    good = sorted(trail.log_keys())
    missing = good[0].replace(".json.gz", "MISSING.json.gz")
    w.send(documented_s3_event(w.bucket, good[0]))
    w.send({"s3Bucket": w.bucket, "s3ObjectKey": good[1:]})
    poison = {w.send(documented_s3_event(w.bucket, missing)): "missing", w.send("this is not json"): "garbage"}
    w.send({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-11-28T10:00:00.000Z", "Bucket": w.bucket})
    pipe = w.pipeline(queue_max_receives=3, queue_wait_seconds=2)
    codes = []
    for _ in range(6):
        codes.append(pipe.run("fetch").code)
        if sum(w.counts()) == 0:
            break
        time.sleep(1.1)
    assert w.counts() == (0, 0), codes
    assert codes[-1] in (1, 3) and all(c in (0, 1, 3) for c in codes), codes
    q = pipe.spool.root / "quarantine" / "fetch"
    for message_id, what in poison.items():
        body = (q / f"sqs-{message_id}.json").read_text()
        reason = (q / f"sqs-{message_id}.json.reason").read_text()
        assert "received 3 times" in reason and "quarantined and deleted" in reason, reason
        if what == "missing":
            assert json.loads(body) == documented_s3_event(w.bucket, missing)
            assert "NoSuchKey" in reason and missing in reason
        else:
            assert body == "this is not json" and "not JSON" in reason
    reports = [json.loads(f.read_text()) for f in sorted((pipe.spool.root / "runs" / "fetch").glob("*.json"))]
    assert sum(r["counts"].get("messages_quarantined", 0) for r in reports) == 2
    assert sum(r["counts"].get("test_events", 0) for r in reports) == 1
    assert sorted(pipe.spool.raw_keys()) == good
    assert pipe.spool.check_invariants() == []
    transform_and_load(pipe)
    assert_index_exact(pipe, trail)
    # --status shows the quarantined messages
    status = pipe.run("fetch", "--status").out
    assert "quarantine" in status


def test_a_redrive_policy_sends_poison_to_the_dead_letter_queue(aws, osmem, tmp_path):
    dlq_url = aws["sqs"].create_queue(QueueName="dlq-" + uuid.uuid4().hex[:12])["QueueUrl"]
    dlq_arn = aws["sqs"].get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    w = QueueWorld(aws, osmem.url, tmp_path, visibility=1, redrive={"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    body = documented_s3_event(w.bucket, "ct/AWSLogs/111111111111/CloudTrail/eu-west-1/2026/11/28/"
                                         "111111111111_CloudTrail_eu-west-1_20261128T1015Z_aaaaaaaaaaaaaaaa.json.gz")
    body["Records"][0]["s3"]["object"]["key"] = body["Records"][0]["s3"]["object"]["key"].replace("ct/", "ct+logs%2Bx/")
    message_id = w.send(body)
    pipe = w.pipeline(queue_max_receives=50, queue_wait_seconds=2)
    for _ in range(6):
        pipe.run("fetch")
        if w.counts() == (0, 0):
            break
        time.sleep(1.1)
    assert w.counts() == (0, 0)
    moved = aws["sqs"].receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1)["Messages"]
    assert [json.loads(m["Body"]) for m in moved] == [body], "the queue's redrive policy moves it, cloudspool never deletes it"
    reason = (pipe.spool.root / "quarantine" / "fetch" / f"sqs-{message_id}.json.reason").read_text()
    assert "redrive policy moves it to " + dlq_arn in reason


# ====================================================================== empty queue, long polling

def test_an_empty_queue_returns_within_the_bound(aws, osmem, tmp_path):
    w = QueueWorld(aws, osmem.url, tmp_path)
    pipe = w.pipeline(queue_max_seconds=4, queue_wait_seconds=20)
    pipe.write_config(aws={"timeout_seconds": 30})
    # --check shows the queue
    check = pipe.run("fetch", "--check")
    row = next(line for line in check.out.splitlines() if "trail queue" in line)
    assert "0 message(s) waiting, visibility 30 s, no redrive policy (quarantine after 5 receives)" in row, check.describe()
    r = pipe.expect("fetch")
    assert 3.5 <= r.seconds <= 12, r.describe()   # one long poll, cut to queue_max_seconds
    assert counts_of(pipe).get("messages", 0) == 0
    assert pipe.spool.raw_runs() == []
    # a message that arrives during the long poll is taken at once
    pipe.write_config(cloudtrail={"queue_max_seconds": 60, "queue_wait_seconds": 5})
    trail = w.generate(accounts=1, regions=["eu-west-1"], files_per_prefix=1)
    trail.upload(w.s3, w.bucket)
    key = sorted(trail.log_keys())[0]
    p = pipe.popen("fetch")
    time.sleep(1.0)
    w.send(documented_s3_event(w.bucket, key))
    p.wait(timeout=60)
    assert p.returncode == 0, Path(p.out_path).read_text()
    assert pipe.spool.raw_keys() == [key]
    # drained: the run ended after one more empty long poll, long before queue_max_seconds
    assert last_report(pipe)["seconds"] < 20
