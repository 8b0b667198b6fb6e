#!/usr/bin/env python3
"""The baseline for `cloudspool-fetch`'s inventory: the approach of the
existing shell integration, one `aws <service> <operation>` process per call,
one after the other, with the calls cloudspool's inventory makes.

For each account: `aws sts assume-role` into arn:aws:iam::<account>:role/<role>
(the credentials go to the environment of the following calls; every call
names the endpoint with --endpoint-url); then for each
region:
  ec2 describe-instances, rds describe-db-instances, rds describe-db-snapshots,
  ec2 describe-instance-types --instance-types <the types in use>,
  ec2 describe-images --owners self, ec2 describe-images --image-ids <in use>,
  ec2 describe-snapshots --owner-ids self, ec2 describe-volumes,
  ec2 describe-security-groups, ec2 describe-network-interfaces,
  ec2 describe-internet-gateways, ec2 describe-nat-gateways,
  ec2 describe-transit-gateways, cloudwatch describe-alarms,
  cloudwatch list-metrics --namespace AWS/EC2, backup list-backup-jobs
Every answer is written to OUT/<account>/<region>/<service>-<operation>.json
(the CLI follows pagination itself). A failing call is recorded and the run
goes on.

usage: baseline_fetch_cli.py --endpoint-url URL --accounts a,b,c --regions r1,r2 --role NAME --out DIR
Prints {"processes": N, "failed": N, "bytes": N, "seconds": S}.
"""

import argparse
import json
import os
import subprocess
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint-url", required=True)
    ap.add_argument("--accounts", required=True)
    ap.add_argument("--regions", required=True)
    ap.add_argument("--role", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--aws", default="aws")
    a = ap.parse_args()
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "eu-west-1",
                 "AWS_CONFIG_FILE": os.path.join(a.out, "no-config"),
                 "AWS_SHARED_CREDENTIALS_FILE": os.path.join(a.out, "no-credentials"), "AWS_PAGER": ""})
    os.makedirs(a.out, exist_ok=True)
    stats = {"processes": 0, "failed": 0, "bytes": 0}
    errors = []

    def aws(env, path, *args):
        stats["processes"] += 1
        p = subprocess.run([a.aws, *args, "--output", "json", "--endpoint-url", a.endpoint_url], env=env,
                           capture_output=True)
        if p.returncode != 0:
            stats["failed"] += 1
            errors.append(f"{' '.join(args[:2])}: {p.stderr.decode(errors='replace').strip()[-200:]}")
            return None
        if path:
            with open(path, "wb") as f:
                f.write(p.stdout)
        stats["bytes"] += len(p.stdout)
        try:
            return json.loads(p.stdout or b"{}")
        except ValueError:
            return None

    t0 = time.monotonic()
    for account in [x for x in a.accounts.split(",") if x]:
        creds = aws(base, None, "sts", "assume-role", "--role-arn", f"arn:aws:iam::{account}:role/{a.role}",
                    "--role-session-name", "inventory")
        if not creds:
            continue
        c = creds["Credentials"]
        env = dict(base, AWS_ACCESS_KEY_ID=c["AccessKeyId"], AWS_SECRET_ACCESS_KEY=c["SecretAccessKey"],
                   AWS_SESSION_TOKEN=c["SessionToken"])
        for region in [x for x in a.regions.split(",") if x]:
            d = os.path.join(a.out, account, region)
            os.makedirs(d, exist_ok=True)
            r = ["--region", region]

            def call(service, op, *extra):
                return aws(env, os.path.join(d, f"{service}-{op}.json"), service, op, *r, *extra)

            inst = call("ec2", "describe-instances") or {}
            types, images = set(), set()
            for res in inst.get("Reservations", []):
                for i in res.get("Instances", []):
                    types.add(i.get("InstanceType"))
                    images.add(i.get("ImageId"))
            dbs = call("rds", "describe-db-instances") or {}
            for db in dbs.get("DBInstances", []):
                cls = db.get("DBInstanceClass", "")
                if cls.startswith("db."):
                    types.add(cls[3:])
            call("rds", "describe-db-snapshots")
            types.discard(None)
            images.discard(None)
            if types:
                call("ec2", "describe-instance-types", "--instance-types", *sorted(types))
            call("ec2", "describe-images", "--owners", "self")
            if images:
                aws(env, os.path.join(d, "ec2-describe-images-in-use.json"), "ec2", "describe-images", *r,
                    "--image-ids", *sorted(images))
            call("ec2", "describe-snapshots", "--owner-ids", "self")
            for op in ("describe-volumes", "describe-security-groups", "describe-network-interfaces",
                       "describe-internet-gateways", "describe-nat-gateways", "describe-transit-gateways"):
                call("ec2", op)
            call("cloudwatch", "describe-alarms")
            call("cloudwatch", "list-metrics", "--namespace", "AWS/EC2")
            call("backup", "list-backup-jobs")
    stats["seconds"] = round(time.monotonic() - t0, 3)
    stats["errors"] = errors[:10]
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
