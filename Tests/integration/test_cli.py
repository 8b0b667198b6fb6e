"""Command line: --help, and configuration errors (exit 2, naming the file and the key)."""

from __future__ import annotations

import subprocess

import pytest

from support import STAGES, binary


@pytest.mark.parametrize("stage", STAGES)
def test_help(binaries, stage):
    p = subprocess.run([str(binary(stage)), "--help"], capture_output=True, text=True, timeout=60)
    text = p.stdout + p.stderr
    assert p.returncode == 0, text
    assert "--config" in text, text
    if stage in ("transform", "load"):
        assert "--replay" in text, text


def _nothing_done(pipe):
    assert not (pipe.spool.root / "raw").exists() and not (pipe.spool.root / "ndjson").exists()
    assert pipe.index.all_indices() == []


@pytest.mark.parametrize("stage", STAGES)
def test_missing_config_file(pipe, stage):
    missing = pipe.tmp / "nowhere" / "cloudspool.yaml"
    r = pipe.run(stage, "--config", missing, config=False)
    assert r.code == 2, r.describe()
    assert str(missing) in r.text, f"the message does not name {missing}\n{r.describe()}"
    _nothing_done(pipe)


@pytest.mark.parametrize("stage", STAGES)
def test_bad_yaml(pipe, stage):
    pipe.config_path.write_text("spool: [unclosed\naws:\n  region: eu-west-1\n   bad indent: {\n")
    r = pipe.run(stage)
    assert r.code == 2, r.describe()
    assert str(pipe.config_path) in r.text, r.describe()
    _nothing_done(pipe)


@pytest.mark.parametrize("stage", STAGES)
def test_unknown_key(pipe, stage):
    pipe.write_config(index={"bulk_max_byte": 5})   # typo of bulk_max_bytes
    r = pipe.run(stage)
    assert r.code == 2, r.describe()
    assert str(pipe.config_path) in r.text and "bulk_max_byte" in r.text, r.describe()
    _nothing_done(pipe)


@pytest.mark.parametrize("stage", STAGES)
def test_wrong_type(pipe, stage):
    pipe.write_config(aws={"max_retries": "many"})
    r = pipe.run(stage)
    assert r.code == 2, r.describe()
    assert str(pipe.config_path) in r.text and "max_retries" in r.text, r.describe()
    _nothing_done(pipe)


def test_unknown_option_is_usage_error(pipe):
    r = pipe.run("fetch", "--no-such-option")
    assert r.code == 2, r.describe()


def test_config_from_environment(pipe):
    pipe.generate(seed=71, accounts=1, regions=["eu-west-1"], days=1, files_per_prefix=1, records_per_file=2,
                  specials=False)
    r = pipe.run("fetch", config=False, env={"CLOUDSPOOL_CONFIG": str(pipe.config_path)})
    assert r.code == 0, r.describe()
    assert pipe.spool.raw_runs(), "CLOUDSPOOL_CONFIG was not used"
