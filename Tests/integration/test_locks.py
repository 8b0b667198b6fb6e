"""Two copies of a stage: the second says another copy is running and exits 0; the result is right."""

from __future__ import annotations

import re
import time

import pytest

from faultproxy import FaultProxy
from support import REGION, STAGES, STEM, HeldLock, lock_holders

ANOTHER = re.compile(r"another|already running|is running|locked", re.I)


def _small(pipe, seed):
    return pipe.generate(seed=seed, accounts=1, regions=[REGION], days=1, files_per_prefix=2,
                         records_per_file=5, specials=False)


@pytest.mark.parametrize("stage", ["fetch", "transform", "load"])
def test_stage_exits_0_while_lock_is_held(pipe, stage):
    trail = _small(pipe, 51)
    for s in STAGES[: STAGES.index(stage)]:
        pipe.expect(s)
    lock = pipe.spool.root / "locks" / f"{stage}.lock"
    with HeldLock(lock):
        t = time.monotonic()
        r = pipe.expect(stage)
        assert time.monotonic() - t < 30
        assert ANOTHER.search(r.text), f"no 'another copy is running' message\n{r.describe()}"
        # and it did nothing
        if stage == "fetch":
            assert pipe.spool.raw_runs() == []
        elif stage == "transform":
            assert pipe.spool.ndjson_files() == []
        else:
            assert pipe.index.total() == 0
    for s in STAGES[STAGES.index(stage):]:
        pipe.expect(s)
    assert pipe.index.counts() == trail.expected_counts(STEM)


def _wait_lock(pipe, stage, proc, timeout=20.0) -> bool:
    lock = pipe.spool.root / "locks" / f"{stage}.lock"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if proc.pid in lock_holders(lock):
            return True
        time.sleep(0.02)
    return False


def _two_copies(pipe, stage, env=None):
    a = pipe.popen(stage, env=env)
    held = _wait_lock(pipe, stage, a)
    assert held, f"first {stage} never held locks/{stage}.lock (exit {a.poll()}): {a.out_path.read_text()[-2000:]}"
    b = pipe.run(stage, env=env)
    a.wait(timeout=120)
    a_out = a.out_path.read_text()
    assert a.returncode == 0, f"first copy exited {a.returncode}: {a_out[-3000:]}"
    assert b.code == 0, b.describe()
    assert ANOTHER.search(b.text), f"second copy did not say another copy is running\n{b.describe()}"
    assert not ANOTHER.search(a_out), f"first copy says another is running: {a_out[-2000:]}"


def test_two_fetch_copies(pipe, moto):
    trail = _small(pipe, 52)
    # slow S3 down: the first GetObject stalls 3 s so that the copies overlap
    with FaultProxy(moto.url) as slow:
        slow.add_rule(mode="stall", method="GET", path=r"\.json\.gz$", seconds=3, count=1)
        env = {"AWS_ENDPOINT_URL": slow.url, "AWS_ENDPOINT_URL_S3": slow.url}
        _two_copies(pipe, "fetch", env=env)
    assert set(pipe.spool.raw_keys()) == trail.log_keys()
    assert len(pipe.spool.raw_keys()) == len(trail.log_keys())
    pipe.expect("transform")
    pipe.expect("load")
    assert pipe.index.counts() == trail.expected_counts(STEM)


def test_two_load_copies(pipe, proxy):
    pipe.write_config(index={"url": proxy.url})
    trail = _small(pipe, 53)
    pipe.expect("fetch")
    pipe.expect("transform")
    proxy.add_rule(mode="stall", path=r"_bulk$", seconds=3, count=1)
    _two_copies(pipe, "load")
    assert pipe.index.counts() == trail.expected_counts(STEM)


def test_two_transform_copies(pipe):
    pipe.write_config(transform={"max_file_bytes": 65536})
    trail = pipe.generate(seed=54, accounts=2, regions=[REGION, "us-east-1"], days=2, files_per_prefix=5,
                          records_per_file=60, specials=False)
    pipe.expect("fetch")
    a = pipe.popen("transform")
    if not _wait_lock(pipe, "transform", a):
        a.wait()
        pytest.fail(f"transform finished before a second copy could start (exit {a.returncode}); "
                    "make the input larger")
    b = pipe.run("transform")
    a.wait(timeout=120)
    assert a.returncode == 0 and b.code == 0, (a.returncode, b.describe())
    assert ANOTHER.search(b.text), b.describe()
    pipe.expect("load")
    assert pipe.index.counts() == trail.expected_counts(STEM)
