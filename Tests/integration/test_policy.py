"""The shipped least-privilege policy (iam-policy.json) names every AWS action
fetch can call, and nothing more: read-only actions only, S3 limited to the
configured buckets; the only other actions are those of a queue consumer
(receive, extend, delete messages), limited to the trail's queue.

The actions come from the collector registry (`cloudspool-fetch
--list-collectors --json`: each collector declares the IAM actions its fetch
calls). As a cross-check that no collector forgets one, the Swift sources are
scanned too: every AWS call names its operation (`query(action:)`,
`queryPages(..., action:)`, `json(..., operation:)`, `send(operation:)`), and is
mapped to an IAM action with the service of its client.
"""
import json
import re
import subprocess
from pathlib import Path

from support import binary

REPO = Path(__file__).resolve().parents[2]
SOURCES = REPO / "Sources" / "Shared"

# Operations whose IAM action differs from "<prefix>:<Operation>".
ACTION_OF = {
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("sts", "GetCallerIdentity"): None,  # needs no permission
    ("sqs", "DeleteMessageBatch"): "sqs:DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "sqs:ChangeMessageVisibility",
}
IAM_PREFIX = {"ec2": "ec2", "rds": "rds", "cloudwatch": "cloudwatch", "monitoring": "cloudwatch", "backup": "backup",
              "cloudtrail": "cloudtrail", "organizations": "organizations", "iam": "iam", "sts": "sts", "s3": "s3",
              "sqs": "sqs"}
READ_ONLY = re.compile(r":(Describe|List|Get|Generate(CredentialReport)|Lookup|AssumeRole$)")
# Reading a queue consumes its messages: allowed on the trail's queue only (cloudtrail.queue_url).
QUEUE_CONSUMER = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"}


def called_operations():
    """(service, operation) of every AWS call in the sources."""
    calls = set()
    for path in SOURCES.rglob("*.swift"):
        text = path.read_text()
        # queryPages(.ec2, version: ..., action: "DescribeInstances", ...)
        for service, action in re.findall(r'queryPages\(\.(\w+),\s*version:[^,]+,\s*action:\s*"(\w+)"', text):
            calls.add((service, action))
        # for action in ["DescribeVolumes", ...] { ... queryPages(.ec2, ..., action: action
        for block in re.findall(r'for action in \[([^\]]+)\][^{]*\{[^}]*queryPages\(\.(\w+)', text, re.S):
            for action in re.findall(r'"(\w+)"', block[0]):
                calls.add((block[1], action))
        # client(.rds).query(action: "X" / client.query(action: "X" in a file about one service
        for action in re.findall(r'\.query\(action:\s*"(\w+)"', text):
            service = service_of_file(path, text, action)
            calls.add((service, action))
        for service, operation in re.findall(r'client\(\.(\w+)\)\.(?:json|send)\([^)]*operation:\s*"(\w+)"', text, re.S):
            calls.add((service, operation))
        for operation in re.findall(r'client\.json\(target:[^)]*operation:\s*"(\w+)"', text, re.S):
            calls.add((service_of_file(path, text, operation), operation))
        # a local helper: call("GenerateCredentialReport")
        for operation in re.findall(r'\bcall\("(\w+)"', text):
            calls.add((service_of_file(path, text, operation), operation))
        for operation in re.findall(r'client\.send\(operation:\s*"(\w+)"', text):
            calls.add((service_of_file(path, text, operation), operation))
    return calls


def service_of_file(path, text, operation):
    """The service of a client built in the same file (`AWSClient(service: .sts, ...`)."""
    known = {"GetCallerIdentity": "sts", "AssumeRole": "sts", "ListAccounts": "organizations", "DescribeRegions": "ec2",
             "GetObject": "s3", "ListObjectsV2": "s3", "ListBuckets": "s3", "GetBucketLocation": "s3"}
    if operation in known:
        return known[operation]
    services = re.findall(r'AWSClient\(service:\s*\.(\w+)', text)
    assert len(set(services)) == 1, f"{path}: cannot tell the service of {operation}: {services}"
    return services[0]


def registry_actions():
    """The IAM actions every collector of the registry declares."""
    out = subprocess.run([str(binary("fetch")), "--list-collectors", "--json"], check=True, capture_output=True, text=True).stdout
    return {action for collector in json.loads(out)["collectors"] for action in collector["aws_actions"]}


def required_actions():
    actions = set()
    for service, operation in called_operations():
        action = ACTION_OF.get((service, operation), f"{IAM_PREFIX[service]}:{operation}")
        if action:
            actions.add(action)
    return actions


def policy_actions():
    policy = json.loads((REPO / "iam-policy.json").read_text())
    actions = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return policy, actions


def test_sources_are_scanned():
    calls = called_operations()
    # The scan must find the calls of every collector, or the comparison below proves nothing.
    for expected in [("ec2", "DescribeInstances"), ("rds", "DescribeDBInstances"), ("cloudwatch", "ListMetrics"),
                     ("backup", "ListBackupJobs"), ("cloudtrail", "LookupEvents"), ("iam", "GetCredentialReport"),
                     ("s3", "GetObject"), ("s3", "ListObjectsV2"), ("sts", "AssumeRole"), ("organizations", "ListAccounts"),
                     ("sqs", "ReceiveMessage"), ("sqs", "DeleteMessageBatch")]:
        assert expected in calls, f"{expected} not found in the sources"


def test_policy_lists_every_action_of_the_registry_and_nothing_more():
    _, listed = policy_actions()
    declared = registry_actions()
    assert sorted(declared - listed) == [], "collectors declare actions the policy does not allow"
    assert sorted(listed - declared) == [], "the policy allows actions no collector declares"


def test_registry_declares_every_call_in_the_sources():
    declared = registry_actions()
    assert sorted(required_actions() - declared) == [], "the sources call actions no collector declares"


def test_policy_is_read_only_and_s3_is_limited_to_the_configured_buckets():
    policy, listed = policy_actions()
    for action in listed:
        assert "*" not in action, action
        assert READ_ONLY.search(action) or action in QUEUE_CONSUMER, f"{action} is not a read-only action"
    for statement in policy["Statement"]:
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        if QUEUE_CONSUMER & set(actions):
            # only in the queue's statement, on one queue (a placeholder the operator replaces), with nothing else
            assert all(a.startswith("sqs:") for a in actions), actions
            resource = statement["Resource"]
            assert isinstance(resource, str) and re.fullmatch(r"arn:aws:sqs:[A-Z_]+:[A-Z_]+:CLOUDTRAIL_QUEUE", resource), resource
        s3_object_actions = [a for a in statement["Action"] if a in ("s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation")]
        if s3_object_actions:
            resources = statement["Resource"]
            assert "*" not in resources
            assert all(r.startswith("arn:aws:s3:::") and "BUCKET" in r for r in resources), resources


def test_member_role_template_grants_the_inventory_actions():
    """The StackSet template's role policy is the policy's read-only statement, and it trusts only the collector."""
    template = json.loads((REPO / "deploy" / "cloudspool-member-role.json").read_text())
    policy, _ = policy_actions()
    inventory = next(s for s in policy["Statement"] if s["Sid"] == "CloudspoolInventoryReadOnly")
    role = template["Resources"]["CollectorRole"]["Properties"]
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert [s["Action"] for s in statements] == [inventory["Action"]]
    trust = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust[0]["Principal"] == {"AWS": {"Ref": "CollectorPrincipalArn"}}
    assert template["Parameters"]["RoleName"]["Default"] == "EnergyLogReadOnly"


def test_queue_template_grants_the_collector_the_queue_actions():
    """deploy/cloudspool-trail-queue.json lets the collector do on the queue what iam-policy.json allows, and S3 only send."""
    template = json.loads((REPO / "deploy" / "cloudspool-trail-queue.json").read_text())
    policy, _ = policy_actions()
    queue = next(s for s in policy["Statement"] if s["Sid"] == "CloudspoolTrailQueue")
    statements = template["Resources"]["QueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    collector = next(s for s in statements if s.get("Sid") == "CloudspoolFetch")
    assert sorted(collector["Action"]) == sorted(queue["Action"])
    assert collector["Principal"] == {"AWS": {"Ref": "CollectorPrincipalArn"}}
    s3 = next(s for s in statements if s.get("Sid") == "TrailBucketNotifications")
    assert s3["Action"] == "sqs:SendMessage" and s3["Principal"] == {"Service": "s3.amazonaws.com"}
    assert "aws:SourceArn" in s3["Condition"]["ArnLike"]
    queue_props = template["Resources"]["Queue"]["Properties"]
    assert "RedrivePolicy" in queue_props and queue_props["VisibilityTimeout"] == {"Ref": "VisibilityTimeout"}
