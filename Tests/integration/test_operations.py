"""The operator's kit: run reports on the log server, the spool backlog without work."""
import json

from support import REGION, http


def test_run_reports_are_indexed(pipe):
    pipe.write_config(index={"run_reports": True})
    pipe.generate(seed=71, accounts=1, regions=[REGION], days=1, files_per_prefix=2, records_per_file=5, specials=False)
    for stage in ("fetch", "transform", "load"):
        pipe.expect(stage)
    # The load that just ran indexed the reports written before it; a second one indexes its predecessor's.
    pipe.expect("load")
    http("POST", f"{pipe.index_url}/_refresh")
    status, body = http("POST", f"{pipe.index_url}/cloudspool-runs-*/_search",
                        {"size": 100, "sort": [{"@timestamp": "asc"}], "query": {"match_all": {}}})
    assert status == 200, body
    docs = [h["_source"] for h in body["hits"]["hits"]]
    stages = sorted(d["stage"] for d in docs)
    assert stages == ["fetch", "load", "transform"], stages
    fetch = next(d for d in docs if d["stage"] == "fetch")
    report = json.loads(next(pipe.spool.root.joinpath("runs/fetch").glob("*.json")).read_text())
    assert fetch["run_id"] == report["runId"]
    assert fetch["exit_code"] == 0 and fetch["outcome"] == "ok"
    assert fetch["counts"]["files"] == report["counts"]["files"] == 2
    # Sent once: a third load sends only the second load's report.
    before = body["hits"]["total"]["value"]
    pipe.expect("load")
    http("POST", f"{pipe.index_url}/_refresh")
    status, body = http("GET", f"{pipe.index_url}/cloudspool-runs-*/_count")
    assert body["count"] == before + 1


def test_status_reports_the_backlog_without_doing_work(pipe):
    pipe.generate(seed=72, accounts=1, regions=[REGION], days=1, files_per_prefix=2, records_per_file=5, specials=False)
    pipe.expect("fetch")
    before = sorted(p.relative_to(pipe.spool.root) for p in pipe.spool.root.rglob("*") if p.is_file())
    r = pipe.run("transform", "--status")
    assert r.code == 0, r.describe()
    line = next(l for l in r.out.splitlines() if l.startswith("cloudtrail"))
    assert line.split()[1] == "1", line           # one raw run waiting for transform
    assert "fetch: last run" in r.out and "exit 0" in r.out
    after = sorted(p.relative_to(pipe.spool.root) for p in pipe.spool.root.rglob("*") if p.is_file())
    assert before == after, "--status must not change the spool"
    pipe.expect("transform")
    r = pipe.run("load", "--status")
    line = next(l for l in r.out.splitlines() if l.startswith("cloudtrail"))
    assert line.split()[1] == "0" and line.split()[3] == "1", line   # no raw run, one NDJSON file waiting
