"""No secret ever reaches stdout, stderr or the spool, in good runs and in failing ones."""

from __future__ import annotations

import base64

import gen_cloudtrail as gen
from support import REGION, STEM

AWS_SECRET = "SECRETMARKER-aws-secret-7f3a0c"
AWS_TOKEN = "SECRETMARKER-session-token-91c2d4"
INDEX_PW = "SECRETMARKER-index-pw-55e1b9"


def _needles() -> dict:
    basic = base64.b64encode(f"u:{INDEX_PW}".encode()).decode()
    return {
        "aws secret": AWS_SECRET.encode(),
        "session token": AWS_TOKEN.encode(),
        "index password": INDEX_PW.encode(),
        "basic auth header": basic.encode(),
        "marker": b"SECRETMARKER",
        # a SigV4 header or presigned query written somewhere
        "sigv4 signature": b"Signature=",
        "sigv4 token header": b"X-Amz-Security-Token",
    }


def test_no_secret_in_output_or_spool(pipe, proxy):
    pipe.extra_env.update({"AWS_SECRET_ACCESS_KEY": AWS_SECRET, "AWS_SESSION_TOKEN": AWS_TOKEN,
                           "CLOUDSPOOL_INDEX_PASSWORD": INDEX_PW})
    pipe.write_config(index={"url": proxy.url, "auth": "basic", "username": "u",
                             "password_env": "CLOUDSPOOL_INDEX_PASSWORD", "max_retries": 1})
    proxy.require_basic_auth("u", INDEX_PW)
    trail = pipe.generate(seed=81, accounts=1, regions=[REGION], days=1, files_per_prefix=2, records_per_file=4,
                          specials=False)
    bad = gen.corrupt_objects(81, pipe.prefix, trail.org_id, trail.accounts[0], REGION, trail.spec.start,
                              kinds=("truncated_gzip", "bad_event_time"), accounts=trail.accounts)
    trail.add(bad)
    trail.upload(pipe.s3, pipe.bucket, objects=bad)

    # failures first: S3 unreachable, index failing, index rejecting the password
    dead = "http://127.0.0.1:9"
    r = pipe.run("fetch", env={"AWS_ENDPOINT_URL": dead, "AWS_ENDPOINT_URL_S3": dead})
    assert r.code == 1, r.describe()
    pipe.expect("fetch")
    pipe.expect("transform", codes=(3,))
    proxy.add_rule(mode="status", status=503, count=None)
    assert pipe.run("load").code == 1
    proxy.clear()
    r = pipe.run("load", env={"CLOUDSPOOL_INDEX_PASSWORD": "wrong-" + INDEX_PW})
    assert r.code != 0, r.describe()
    r = pipe.expect("load")
    assert proxy.stats()["auth_failures"] >= 1
    assert pipe.index.counts() == trail.expected_counts(STEM)

    leaks = []
    for run in pipe.runs:
        for name, needle in _needles().items():
            for stream, text in (("stdout", run.out), ("stderr", run.err)):
                if needle.decode() in text:
                    leaks.append(f"{name} in {stream} of {' '.join(map(str, run.cmd[:1]))} {run.cmd[1:]}")
    for f in pipe.spool.all_files():
        data = f.read_bytes()
        for name, needle in _needles().items():
            if needle in data:
                leaks.append(f"{name} in {f.relative_to(pipe.spool.root)}")
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks)


def test_no_secret_with_every_collector(pipe, proxy):
    """Inventory, IAM and S3 search too: they assume roles with the base credentials and store many answers."""
    import boto3

    kw = dict(endpoint_url=pipe.moto_url, aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    sts = boto3.client("sts", **kw)
    member = "210987654321"
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{member}:role/EnergyLogReadOnly", RoleSessionName="setup")["Credentials"]
    mk = dict(endpoint_url=pipe.moto_url, aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
              aws_session_token=creds["SessionToken"], region_name=REGION)
    ec2 = boto3.client("ec2", **mk)
    image = ec2.register_image(Name="secrets-test", RootDeviceName="/dev/sda1",
                               BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}])["ImageId"]
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro")
    boto3.client("iam", **mk).create_user(UserName="secret-user")
    s3 = boto3.client("s3", **mk)
    s3.create_bucket(Bucket="secrets-search", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="secrets-search", Key="a/b.txt", Body=b"x")

    pipe.extra_env.update({"AWS_SECRET_ACCESS_KEY": AWS_SECRET, "AWS_SESSION_TOKEN": AWS_TOKEN,
                           "CLOUDSPOOL_INDEX_PASSWORD": INDEX_PW})
    cfg = dict(pipe.cfg)
    cfg.pop("cloudtrail", None)
    pipe.cfg = cfg
    pipe.write_config(index={"url": proxy.url, "auth": "basic", "username": "u", "password_env": "CLOUDSPOOL_INDEX_PASSWORD",
                             "max_retries": 1, "run_reports": True},
                      inventory={"accounts": [member], "regions": [REGION], "lookup_events": 0},
                      iam={"inactive_days": 30}, s3={"buckets": ["secrets-search"]})
    proxy.require_basic_auth("u", INDEX_PW)
    # moto has no AWS Backup: that call fails and is reported (exit 3); everything else is collected.
    r = pipe.run("fetch")
    assert r.code in (0, 3), r.describe()
    assert "raw" in {p.name for p in pipe.spool.root.iterdir()}
    pipe.expect("transform")
    pipe.expect("load")
    pipe.expect("load")   # indexes the run reports, errors included

    leaks = []
    for run in pipe.runs:
        for name, needle in _needles().items():
            for where, text in (("stdout", run.out), ("stderr", run.err), ("command line", " ".join(map(str, run.cmd)))):
                if needle.decode() in text:
                    leaks.append(f"{name} in {where} of {run.cmd[1:]}")
    files = pipe.spool.all_files()
    assert any("raw/inventory" in str(f) for f in files) and any("raw/iam" in str(f) for f in files)
    for f in files:
        data = f.read_bytes()
        for name, needle in _needles().items():
            if needle in data:
                leaks.append(f"{name} in {f.relative_to(pipe.spool.root)}")
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks)
