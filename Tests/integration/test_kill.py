"""SIGKILL at random moments: nothing partial is ever visible, and the next run completes the work.

The moments are drawn (seeded) as fractions of the time a full, undisturbed run of
the same stage takes on a copy of the same input (calibration).
"""

from __future__ import annotations

import random
import shutil
import time

import pytest

import peers
from support import REGION, STEM, kill_at

KILLS = 6


def _calibrate(pipe, stage: str, **cfg_over) -> float:
    """Seconds one undisturbed run of stage takes on a copy of the current spool."""
    cal = pipe.tmp / f"calibrate-{stage}"
    if pipe.spool.root.exists():
        shutil.copytree(pipe.spool.root, cal / "spool", symlinks=True)
    cfg = pipe.write_config_copy(pipe.tmp / f"calibrate-{stage}.yaml", spool=str(cal / "spool"), **cfg_over)
    t = time.monotonic()
    r = pipe.run(stage, config_file=cfg)
    took = time.monotonic() - t
    assert r.code == 0, f"calibration run failed\n{r.describe()}"
    shutil.rmtree(cal, ignore_errors=True)
    return took


def _kill_loop(pipe, stage: str, seconds: float, seed: int) -> list:
    rng = random.Random(seed)
    landed = []
    for i in range(KILLS):
        delay = seconds * rng.uniform(0.05, 0.7)
        p = pipe.popen(stage)
        hit = kill_at(p, delay)
        if not hit:
            assert p.returncode == 0, f"{stage} (not killed) exited {p.returncode}: {p.out_path.read_text()[-3000:]}"
        landed.append((round(delay, 3), hit))
        problems = pipe.spool.check_invariants()
        assert not problems, (f"after SIGKILL #{i + 1} of {stage} at {delay:.2f}s (of ~{seconds:.2f}s):\n"
                              + "\n".join(problems[:20]))
    print(f"{stage}: undisturbed run {seconds:.2f}s; kills (delay, landed) {landed}")
    assert any(hit for _, hit in landed), f"no SIGKILL landed while {stage} was running: {landed}"
    return landed


def _assert_final(pipe, trail):
    assert pipe.spool.check_invariants() == []
    got = pipe.index.counts()
    assert got == trail.expected_counts(STEM), f"{got} != {trail.expected_counts(STEM)}"
    assert set(pipe.index.docs()) == trail.expected_ids()
    assert pipe.leftovers() == [], f"work in progress left behind: {pipe.leftovers()[:10]}"


@pytest.mark.slow
def test_kill_fetch(pipe):
    pipe.write_config(cloudtrail={"batch_objects": 20})
    trail = pipe.generate(seed=41, accounts=3, regions=[REGION, "us-east-1"], days=2, files_per_prefix=25,
                          records_per_file=3, specials=False, digests=False)
    assert len(trail.log_keys()) >= 300
    seconds = _calibrate(pipe, "fetch")
    landed = _kill_loop(pipe, "fetch", seconds, seed=41)
    r = pipe.expect("fetch")
    keys = pipe.spool.raw_keys()
    assert set(keys) == trail.log_keys(), (f"after kills {landed}: missing {len(trail.log_keys() - set(keys))} keys, "
                                           f"extra {sorted(set(keys) - trail.log_keys())[:3]}\n{r.describe()}")
    # a kill loses at most one batch, which is fetched again (some keys may be stored twice)
    assert len(keys) - len(set(keys)) <= KILLS * 20, "more refetched objects than the killed batches explain"
    pipe.expect("transform")
    pipe.expect("load")
    _assert_final(pipe, trail)


@pytest.mark.slow
def test_kill_transform(pipe):
    pipe.write_config(transform={"max_file_bytes": 131072}, cloudtrail={"batch_objects": 10})
    trail = pipe.generate(seed=42, accounts=3, regions=[REGION, "us-east-1"], days=2, files_per_prefix=6,
                          records_per_file=50, specials=False)
    pipe.expect("fetch")
    seconds = _calibrate(pipe, "transform")
    _kill_loop(pipe, "transform", seconds, seed=42)
    pipe.expect("transform")
    ids = {a["index"]["_id"] if "index" in a else a["create"]["_id"] for a, _d, _l1, _l2 in pipe.spool.ndjson_docs()}
    assert ids == trail.expected_ids()
    pipe.expect("load")
    _assert_final(pipe, trail)


@pytest.mark.slow
def test_kill_load(pipe, peer_logs):
    pipe.write_config(index={"bulk_max_bytes": 32768})
    trail = pipe.generate(seed=43, accounts=2, regions=[REGION, "us-east-1"], days=2, files_per_prefix=5,
                          records_per_file=50, specials=False)
    pipe.expect("fetch")
    pipe.expect("transform")
    with peers.osmem_server(log_dir=str(peer_logs)) as other:
        seconds = _calibrate(pipe, "load", index={"url": other.url})
    _kill_loop(pipe, "load", seconds, seed=43)
    pipe.expect("load")
    _assert_final(pipe, trail)
