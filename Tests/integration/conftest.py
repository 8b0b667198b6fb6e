"""Fixtures of the cloudspool integration suite.

Peers: one moto_server for the session (each test has its own bucket), and one
osmem-server per test (so indices never leak between tests). The binaries come
from $CLOUDSPOOL_BIN_DIR (default <repo>/.build/debug).
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import support  # noqa: E402
from support import Pipeline, REGION  # noqa: E402

import peers  # noqa: E402  (scripts/ is on sys.path through support)
from faultproxy import FaultProxy  # noqa: E402


@pytest.fixture(scope="session")
def binaries() -> Path:
    d = support.bin_dir()
    missing = [s for s in support.STAGES if not os.access(support.binary(s), os.X_OK)]
    if missing:
        pytest.fail(f"binaries missing in {d}: {', '.join('cloudspool-' + m for m in missing)} "
                    f"(build them with `swift build` or set CLOUDSPOOL_BIN_DIR)", pytrace=False)
    return d


@pytest.fixture(scope="session")
def peer_logs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("peer-logs")


@pytest.fixture(scope="session")
def moto(peer_logs):
    p = peers.start_moto(log_dir=str(peer_logs))
    yield p
    p.stop()


@pytest.fixture(scope="session")
def s3(moto):
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=moto.url, region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing",
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}))


@pytest.fixture
def osmem(peer_logs):
    p = peers.start_osmem(log_dir=str(peer_logs))
    yield p
    p.stop()


@pytest.fixture
def proxy(osmem):
    """A fault proxy in front of this test's osmem."""
    with FaultProxy(osmem.url) as p:
        yield p


def _bucket_name(nodeid: str) -> str:
    return "ct-" + hashlib.sha1(nodeid.encode()).hexdigest()[:20]


@pytest.fixture
def pipe(binaries, moto, s3, osmem, tmp_path, request) -> Pipeline:
    """A fresh world: empty spool, own bucket (created), own index server."""
    p = Pipeline(tmp_path, moto.url, s3, _bucket_name(request.node.nodeid), osmem.url)
    p.create_bucket()
    yield p
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        # keep the last outputs in the report
        for r in p.runs[-6:]:
            print(r.describe())


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
