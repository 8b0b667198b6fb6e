"""`cloudspool-load --install-dashboards` against a loopback stand-in of the saved-objects import API
(dashboards_import_stub.py: checks the multipart body, the xsrf header and the credentials as
Kibana / OpenSearch Dashboards do)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from dashboards_import_stub import ImportStub
from support import REPO, binary

NDJSON = REPO / "dashboards" / "cloudspool-dashboards.ndjson"
PASSWORD = "dash-secret-Zq9"


def objects_in_file() -> dict:
    out = {}
    for line in NDJSON.read_text().splitlines():
        if line.strip():
            o = json.loads(line)
            out[(o["type"], o["id"])] = o
    return out


def config(tmp: Path, url: str | None = None, auth: str = "basic", **index) -> Path:
    secret = tmp / "secret"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    settings = {"url": "http://127.0.0.1:9", "auth": auth}
    if auth == "basic":
        settings.update(username="kibana", password_file=str(secret))
    elif auth == "api_key":
        settings.update(api_key_file=str(secret))
    if url:
        settings["dashboards_url"] = url
    settings.update(index)
    p = tmp / "cloudspool.yaml"
    p.write_text(yaml.safe_dump({"spool": str(tmp / "spool"), "index": settings}))
    return p


def install(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary("load")), "--config", str(cfg), "--install-dashboards", "--dashboards-file", str(NDJSON), *args],
                          capture_output=True, text=True, timeout=60)


def test_import_posts_the_file_with_xsrf_and_basic_auth_and_is_idempotent(binaries, tmp_path):
    with ImportStub(username="kibana", password=PASSWORD) as stub:
        cfg = config(tmp_path, stub.url)
        for _ in range(2):
            r = install(cfg)
            assert r.returncode == 0, r.stderr
            assert f"imported={len(objects_in_file())}" in r.stdout, r.stdout
        reqs = stub.requests()
        assert len(reqs) == 2
        for q in reqs:
            assert q["method"] == "POST" and q["path"] == "/api/saved_objects/_import" and q["overwrite"], q
            assert q["auth"] == "Basic" and q["user"] == "kibana", q
            assert q["xsrf"] and q["parts"] == ["file"] and q["content_type"].startswith("multipart/form-data"), q
            assert q["filename"].endswith(".ndjson") and q["objects"] == len(objects_in_file()), q
        assert set(stub.objects()) == set(objects_in_file())
        assert PASSWORD not in r.stdout + r.stderr


def test_a_space_and_an_api_key(binaries, tmp_path):
    with ImportStub(api_key=PASSWORD, spaces=["default", "ops"]) as stub:
        cfg = config(tmp_path, stub.url, auth="api_key")
        r = install(cfg, "--space", "ops")
        assert r.returncode == 0, r.stderr
        q = stub.requests()[-1]
        assert q["path"] == "/s/ops/api/saved_objects/_import" and q["auth"] == "ApiKey", q
        assert set(stub.objects("ops")) == set(objects_in_file())
        r = install(cfg, "--space", "nope")
        assert r.returncode == 1 and "404" in r.stderr and "space 'nope'" in r.stderr, r.stderr


def test_refusals_fail_clearly(binaries, tmp_path):
    with ImportStub(username="kibana", password="another-password") as stub:
        cfg = config(tmp_path, stub.url)
        r = install(cfg)
        assert r.returncode == 1 and "HTTP 401" in r.stderr and "credentials" in r.stderr, r.stderr
        assert PASSWORD not in r.stderr
    with ImportStub(username="kibana", password=PASSWORD) as stub:
        cfg = config(tmp_path, stub.url)
        for status in (409, 400, 413, 500):
            stub.fail(status, count=1, message=f"injected {status}")
            r = install(cfg)
            assert r.returncode == 1 and f"HTTP {status}" in r.stderr and f"injected {status}" in r.stderr, (status, r.stderr)
        stub.fail("conflict", count=1)
        r = install(cfg)
        assert r.returncode == 1 and "conflict" in r.stderr, r.stderr


def test_without_a_url_or_with_an_unreachable_one(binaries, tmp_path):
    r = install(config(tmp_path))
    assert r.returncode == 2 and "dashboards_url" in r.stderr, r.stderr
    r = install(config(tmp_path, "http://127.0.0.1:9"))
    assert r.returncode == 1 and "cannot reach the dashboards" in r.stderr, r.stderr
