"""`cloudspool-fetch --check`: the preflight table, against moto and osmem-server: which credential source,
the role in every account, one key of the trail bucket read back, the index (version, template, alias);
exit 0 only when everything works, and a FAILED row saying what to fix otherwise."""

from __future__ import annotations

from faultproxy import FaultProxy

STS_DENIED = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
              '<Code>AccessDenied</Code><Message>not authorized to perform: sts:AssumeRole</Message></Error>'
              '<RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>')


def rows(out: str) -> dict:
    """check name + target -> the row."""
    return {" ".join(line.split()[:2]): line for line in out.splitlines()[1:] if line and not line.startswith("cloudspool-fetch:")}


def test_everything_works(pipe):
    pipe.generate(accounts=1, regions=["eu-west-1"], days=1, files_per_prefix=1, records_per_file=2)
    pipe.write_config(inventory={"accounts": ["123456789012", "210987654321"], "regions": ["eu-west-1"]})
    r = pipe.run("fetch", "--check")
    assert r.code == 0, r.describe()
    out = r.out
    assert "AWS credentials" in out and "from environment" in out, out
    assert "trail bucket" in out and ".json.gz" in out, out
    assert "role EnergyLogReadOnly" in out and "210987654321" in out and "assumed" in out, out
    for check in ("index reachable", "index template", "index + alias", "spool writable", "spool links"):
        line = next(l for l in out.splitlines() if l.startswith(check))
        assert " ok " in line, line
    assert "FAILED" not in out
    assert out.strip().splitlines()[-1].startswith("cloudspool-fetch: ok: checks=")
    assert not list((pipe.spool.root / "raw").glob("*/*")) if (pipe.spool.root / "raw").exists() else True, "--check fetched data"


def test_failures_say_what_to_fix(pipe, moto):
    pipe.write_config(cloudtrail={"bucket": "no-such-trail-bucket"}, index={"url": "http://127.0.0.1:9"},
                      inventory={"accounts": ["123456789012", "210987654321"], "regions": ["eu-west-1"]})
    with FaultProxy(moto.url) as sts:
        sts.add_rule(mode="status", status=403, method="POST", count=None, content_type="text/xml",
                     body_regex=r"RoleArn=arn(%3A|:)aws(%3A|:)iam(%3A|:)(%3A|:)210987654321", body=STS_DENIED)
        pipe.extra_env["AWS_ENDPOINT_URL_STS"] = sts.url
        try:
            r = pipe.run("fetch", "--check")
        finally:
            pipe.extra_env.pop("AWS_ENDPOINT_URL_STS")
    assert r.code == 1, r.describe()
    failed = [l for l in r.out.splitlines() if "FAILED" in l]
    assert any(l.startswith("trail bucket") and "NoSuchBucket" in l and "check the bucket name" in l for l in failed), failed
    assert any(l.startswith("role EnergyLogReadOnly") and "210987654321" in l and "deploy the role" in l for l in failed), failed
    assert any(l.startswith("index reachable") and "index.url" in l for l in failed), failed
    assert "testing" not in r.out + r.err  # the secret key of the environment never printed
