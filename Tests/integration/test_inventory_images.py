"""Instances running an image that was deregistered since (common: old AMIs are cleaned up while
instances live on). DescribeImages with ImageId.N answers InvalidAMIID.NotFound for the whole
call; the inventory asks with the image-id filter, which tolerates it, and marks the instance.

moto differs from EC2 here: it answers an empty list for a deregistered ImageId instead of
InvalidAMIID.NotFound. A fault proxy in front of moto answers as EC2 documents it whenever a
request names the deregistered image with ImageId.N."""

from __future__ import annotations

import json

import pytest

import peers
from aws_stub import AwsStub
from faultproxy import FaultProxy
from support import DELETE, Pipeline, Spool, get_path

REGION = "eu-west-1"


@pytest.fixture(scope="module")
def world(binaries, peer_logs, tmp_path_factory):
    import boto3
    moto = peers.start_moto(log_dir=str(peer_logs))
    try:
        with AwsStub(moto_url=moto.url) as stub:
            ec2 = boto3.client("ec2", endpoint_url=moto.url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
            gone = ec2.register_image(Name="old", RootDeviceName="/dev/sda1")["ImageId"]
            kept = ec2.register_image(Name="kept", RootDeviceName="/dev/sda1")["ImageId"]
            i_gone = ec2.run_instances(ImageId=gone, MinCount=1, MaxCount=1, InstanceType="t3.micro")["Instances"][0]["InstanceId"]
            i_kept = ec2.run_instances(ImageId=kept, MinCount=1, MaxCount=1, InstanceType="t3.micro")["Instances"][0]["InstanceId"]
            ec2.deregister_image(ImageId=gone)
            proxy = FaultProxy(moto.url).start()
            proxy.add_rule(mode="status", status=400, method="POST", count=None, content_type="text/xml",
                           body_regex=rf"ImageId\.\d+={gone}",
                           body=('<Response><Errors><Error><Code>InvalidAMIID.NotFound</Code>'
                                 f"<Message>The image id '[{gone}]' does not exist</Message></Error></Errors>"
                                 '<RequestID>5d6e7f80-0000-4000-8000-000000000000</RequestID></Response>'))
            pipe = Pipeline(tmp_path_factory.mktemp("images"), moto.url, None, "unused", "http://127.0.0.1:9")
            pipe.write_config(cloudtrail=DELETE, inventory={"accounts": ["123456789012"], "regions": [REGION], "lookup_events": 0})
            pipe.extra_env.update({"AWS_ENDPOINT_URL_BACKUP": stub.url, "AWS_ENDPOINT_URL_CLOUDTRAIL": stub.url,
                                   "AWS_ENDPOINT_URL_EC2": proxy.url})
            yield pipe, {"gone": (gone, i_gone), "kept": (kept, i_kept)}
            proxy.stop()
    finally:
        moto.stop()


def test_a_deregistered_image_does_not_fail_the_run_and_is_marked(world):
    pipe, ids = world
    f = pipe.expect("fetch", "--collector", "inventory", codes=(0,))
    assert "InvalidAMIID" not in f.err, f.err
    pipe.expect("transform", codes=(0,))
    docs = {get_path(d, "resource.id"): d for _a, d, _l1, _l2 in Spool(pipe.spool.root, "inventory").ndjson_docs()}
    assert get_path(docs[ids["gone"][1]], "inventory.image_exists") is False
    assert get_path(docs[ids["kept"][1]], "inventory.image_exists") is True
    assert get_path(docs[ids["kept"][1]], "inventory.image.id") == ids["kept"][0]
    summary = next(d for d in docs.values() if get_path(d, "resource.type") == "summary")
    assert get_path(summary, "inventory.complete") is True, get_path(summary, "inventory.failed_calls")
    run = Spool(pipe.spool.root, "inventory").raw_runs()[-1]
    calls = [e for e in json.loads((run / "manifest.json").read_text())["entries"] if e.get("operation") == "DescribeImages"]
    assert any(p.get("Filter.1.Name") == "image-id" for p in (e.get("parameters") or {} for e in calls)), calls
