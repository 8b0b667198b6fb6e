"""Replay: transform --replay gives the same ids and lines; load --replay changes no count."""

from __future__ import annotations

from support import REGION, STEM, decode_raw_records


def _ids_of_run(run) -> set:
    ids = set()
    for f in (run / "objects").rglob("*"):
        if f.is_file():
            ids |= {r["eventID"] for r in decode_raw_records(f.read_bytes())}
    return ids


def _lines_by_id(docs) -> dict:
    out = {}
    for action, _doc, aline, dline in docs:
        meta = action.get("index") or action.get("create")
        out[meta["_id"]] = (aline, dline)
    return out


def test_transform_replay_same_documents(pipe):
    pipe.write_config(cloudtrail={"batch_objects": 4})
    trail = pipe.generate(seed=61, accounts=2, regions=[REGION], days=1, files_per_prefix=3, records_per_file=5)
    pipe.run_all()
    runs = pipe.spool.raw_runs()
    assert len(runs) >= 2, "batch_objects 4 should give several raw runs"
    before_files = set(pipe.spool.ndjson_files())
    before = _lines_by_id(pipe.spool.ndjson_docs())
    assert set(before) == trail.expected_ids()

    run = runs[-1]
    r = pipe.expect("transform", "--replay", run)
    new_files = sorted(set(pipe.spool.ndjson_files()) - before_files)
    assert new_files, f"--replay wrote no new NDJSON file\n{r.describe()}"
    replayed = _lines_by_id(pipe.spool.ndjson_docs(new_files))
    assert set(replayed) == _ids_of_run(run), "replay produced other ids than the run holds"
    differ = [i for i in replayed if replayed[i] != before[i]]
    assert not differ, (f"{len(differ)} replayed lines differ from the first transform, e.g.\n"
                        f"{before[differ[0]][1][:300]!r}\n{replayed[differ[0]][1][:300]!r}")

    # a single file inside a run, given relative to the spool (cwd = spool)
    one = sorted(p for p in (run / "objects").rglob("*") if p.is_file())[0]
    files2 = set(pipe.spool.ndjson_files())
    r = pipe.expect("transform", "--replay", one.relative_to(pipe.spool.root), cwd=pipe.spool.root)
    new2 = sorted(set(pipe.spool.ndjson_files()) - files2)
    ids2 = set(_lines_by_id(pipe.spool.ndjson_docs(new2)))
    assert ids2 == {x["eventID"] for x in decode_raw_records(one.read_bytes())}, r.describe()

    # the checkpoint did not move back: a normal transform has nothing to do
    files3 = set(pipe.spool.ndjson_files())
    pipe.expect("transform")
    assert set(pipe.spool.ndjson_files()) == files3


def test_load_replay_changes_no_count(pipe, proxy):
    pipe.write_config(index={"url": proxy.url})
    trail = pipe.generate(seed=62, accounts=1, regions=[REGION], days=2, files_per_prefix=2, records_per_file=6)
    pipe.run_all()
    counts = pipe.index.counts()
    assert counts == trail.expected_counts(STEM)
    versions = pipe.index.versions()
    f = pipe.spool.ndjson_files()[0]
    ids = set(_lines_by_id(pipe.spool.parse_ndjson(f)))

    proxy.reset()
    r = pipe.expect("load", "--replay", f)
    assert proxy.count(r"_bulk$") >= 1, f"--replay sent nothing\n{r.describe()}"
    assert pipe.index.counts() == counts
    after = pipe.index.versions()
    assert all(after[i][0][1] > versions[i][0][1] for i in ids), "replayed documents were not re-indexed"
    assert all(after[i] == versions[i] for i in after if i not in ids), "other documents changed"

    # a folder replays every file in it
    proxy.reset()
    pipe.expect("load", "--replay", pipe.spool.ndjson_dir)
    assert pipe.index.counts() == counts
    assert proxy.stats()["bulk_docs_forwarded"] == sum(len(pipe.spool.parse_ndjson(x))
                                                        for x in pipe.spool.ndjson_files())

    # the checkpoint did not move back: a normal load sends nothing
    proxy.reset()
    pipe.expect("load")
    assert proxy.count(r"_bulk$") == 0, "load sent documents again after a replay"
    assert pipe.index.counts() == counts
