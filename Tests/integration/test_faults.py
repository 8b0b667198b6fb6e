"""The index misbehaves (429, per-item 429, 503, closed connections, stalls, down, 4xx items, auth)."""

from __future__ import annotations

import json
import time

import pytest

from support import REGION, STEM


def _prepare(pipe, proxy, seed: int, bulk_max_bytes: int = 24_000):
    pipe.write_config(index={"url": proxy.url, "bulk_max_bytes": bulk_max_bytes, "max_retries": 3,
                             "timeout_seconds": 5})
    trail = pipe.generate(seed=seed, accounts=2, regions=[REGION], days=1, files_per_prefix=3,
                          records_per_file=20, specials=False)
    pipe.expect("fetch")
    pipe.expect("transform")
    n_files = len(pipe.spool.ndjson_files())
    assert n_files >= 1
    total = sum(len(pipe.spool.parse_ndjson(f)) for f in pipe.spool.ndjson_files())
    assert total >= len(trail.expected_ids())
    return trail


def _assert_complete(pipe, trail, r=None):
    got = pipe.index.counts()
    want = trail.expected_counts(STEM)
    assert got == want, f"index counts {got} != {want}" + (f"\n{r.describe()}" if r else "")
    assert set(pipe.index.docs()) == trail.expected_ids()


def _load_runs_until_done(pipe, trail, max_runs=5):
    """Every exit 0 must come with a complete index; exit 1 is allowed before that."""
    runs = []
    for _ in range(max_runs):
        r = pipe.run("load")
        runs.append(r)
        assert r.code in (0, 1), f"load exit {r.code}\n{r.describe()}"
        if r.code == 0:
            got = pipe.index.counts()
            assert got == trail.expected_counts(STEM), \
                f"load reported success (exit 0) while documents are missing: {got}\n{r.describe()}"
            return runs
    raise AssertionError("load never finished:\n" + "\n".join(x.describe() for x in runs))


def test_whole_request_429_is_retried(pipe, proxy):
    trail = _prepare(pipe, proxy, 31)
    proxy.add_rule(mode="status", status=429, path=r"_bulk$", count=2, retry_after=1)
    r = pipe.run("load")
    assert r.code == 0, f"2 rejected requests with max_retries 3 should be retried within the run\n{r.describe()}"
    _assert_complete(pipe, trail, r)
    st = proxy.stats()
    assert st["faults"].get("status") == 2
    assert st["per_status"].get("429") == 2


def test_per_item_429_resends_only_those(pipe, proxy):
    trail = _prepare(pipe, proxy, 32)
    proxy.add_rule(mode="bulk_partial", path=r"_bulk$", reject_every=3, count=3)
    r = pipe.run("load")
    assert r.code == 0, f"per-item 429s are retried within the run\n{r.describe()}"
    _assert_complete(pipe, trail, r)
    st = proxy.stats()
    assert st["bulk_docs_rejected"] > 0
    resent = {i: n for i, n in st["ids_forwarded"].items() if n > 1}
    assert not resent, (f"{len(resent)} documents the index had acknowledged were sent again "
                        f"(only the 429 items should be), e.g. {list(resent)[:3]}")
    assert set(st["ids_acked"]) == trail.expected_ids()


def test_503_with_retry_after(pipe, proxy):
    trail = _prepare(pipe, proxy, 33)
    proxy.add_rule(mode="status", status=503, path=r"_bulk$", count=2, retry_after=1)
    r = pipe.run("load")
    assert r.code == 0, r.describe()
    _assert_complete(pipe, trail, r)
    assert proxy.stats()["per_status"].get("503") == 2


def test_connection_closed_and_stalled(pipe, proxy):
    trail = _prepare(pipe, proxy, 34)
    # the first bulk request is applied by the index but its answer is lost; the next one stalls
    # longer than index.timeout_seconds (5)
    proxy.add_rule(mode="close", path=r"_bulk$", forward=True, count=1)
    proxy.add_rule(mode="stall", path=r"_bulk$", seconds=7, count=1)
    _load_runs_until_done(pipe, trail)
    _assert_complete(pipe, trail)
    assert proxy.stats()["faults"] == {"close": 1, "stall": 1}


def test_index_down_mid_load(pipe, proxy):
    trail = _prepare(pipe, proxy, 35, bulk_max_bytes=12_000)
    proxy.add_rule(mode="down", path=r"_bulk$", skip=2)  # down for good after two bulk requests
    r = pipe.run("load", timeout=180)
    assert r.code == 1, f"load with the index gone must exit 1\n{r.describe()}"
    assert pipe.index.total() < len(trail.expected_ids())  # sanity: the fault hit before the end
    proxy.up()
    _load_runs_until_done(pipe, trail)
    _assert_complete(pipe, trail)


def test_retries_exhausted_then_next_run_continues(pipe, proxy):
    trail = _prepare(pipe, proxy, 36)
    proxy.add_rule(mode="status", status=429, path=r"_bulk$", count=None, retry_after=0)
    t = time.monotonic()
    r = pipe.run("load", timeout=180)
    assert r.code == 1, f"retries exhausted must exit 1\n{r.describe()}"
    assert time.monotonic() - t < 120
    assert pipe.index.total() == 0
    assert proxy.stats()["per_status"].get("429", 0) >= 2, "no retry was made"
    proxy.clear()
    r = pipe.run("load")
    assert r.code == 0, r.describe()
    _assert_complete(pipe, trail, r)


def test_rejected_document_goes_to_deadletter(pipe, proxy):
    trail = _prepare(pipe, proxy, 37)
    proxy.add_rule(mode="bulk_partial", path=r"_bulk$", reject_first=1, item_status=400, count=1)
    r = pipe.run("load")
    assert r.code == 3, f"a dead-lettered document makes load exit 3\n{r.describe()}"
    dl = pipe.spool.deadletters()
    assert len(dl) == 1 and dl[0].name.endswith(".ndjson"), dl
    lines = [json.loads(x) for x in dl[0].read_text().splitlines() if x.strip()]
    assert len(lines) == 1
    d = lines[0]
    assert {"reason", "status", "action", "document"} <= set(d), d.keys()
    assert d["status"] == 400
    gone = (d["action"].get("index") or d["action"].get("create"))["_id"]
    assert gone in trail.expected_ids()
    want = dict(trail.expected_counts(STEM))
    got = pipe.index.counts()
    assert sum(got.values()) == sum(want.values()) - 1 and gone not in pipe.index.docs()
    # the offset moved past it: the next run sends nothing
    proxy.reset()
    r = pipe.run("load")
    assert r.code == 0, r.describe()
    assert proxy.count(r"_bulk$") == 0, "the next load sent documents again"


@pytest.mark.parametrize("good", [True, False], ids=["right-password", "wrong-password"])
def test_basic_auth(pipe, proxy, good):
    pipe.write_config(index={"url": proxy.url, "auth": "basic", "username": "u",
                             "password_env": "CLOUDSPOOL_INDEX_PASSWORD"})
    pipe.extra_env["CLOUDSPOOL_INDEX_PASSWORD"] = "pw-1" if good else "nope"
    proxy.require_basic_auth("u", "pw-1")
    trail = pipe.generate(seed=38, accounts=1, regions=[REGION], days=1, files_per_prefix=1,
                          records_per_file=5, specials=False)
    pipe.expect("fetch")
    pipe.expect("transform")
    r = pipe.run("load")
    if good:
        assert r.code == 0, r.describe()
        assert proxy.stats()["auth_failures"] == 0
        _assert_complete(pipe, trail, r)
    else:
        assert r.code in (1, 2), f"a 401 from the index is a failure\n{r.describe()}"
        assert proxy.stats()["auth_failures"] >= 1
        assert pipe.index.total() == 0
