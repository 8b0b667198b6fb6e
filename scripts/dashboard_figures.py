#!/usr/bin/env python3
"""Print, for each dashboard section, the figures its metric panels show, computed by running the
panels' own queries (built from dashboards/cloudspool-dashboards.ndjson by dashboards/panelquery.py,
the way Kibana / OpenSearch Dashboards builds them) against an index.

    python3 scripts/dashboard_figures.py --url http://127.0.0.1:9200 [--days 7 | --from DATE --to DATE]
                                         [--section EC2 ...] [--json]

The time range is the dashboard's: the last N days (default 7), or --from/--to (YYYY-MM-DD, UTC,
--to exclusive; e.g. two whole billing months). Panels over the current state
(awscli-current, awsusers-000001) show the latest collection whatever the range; the others count
what happened in the range (see the README's Dashboards section). Read-only: only _search requests.
Exit 1 when a panel's query fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "dashboards"))
import generate  # noqa: E402
import panelquery as pq  # noqa: E402


def show(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def index_exists(url: str, index: str) -> bool:
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{url}/{index}", method="HEAD"), timeout=10):
            return True
    except urllib.error.HTTPError:
        return False


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True, help="the index (Elasticsearch / OpenSearch), e.g. http://127.0.0.1:9200")
    ap.add_argument("--days", type=float, default=7, help="the dashboard time range: the last N days (default 7)")
    ap.add_argument("--from", dest="start", help="range start, YYYY-MM-DD (UTC); with --to instead of --days")
    ap.add_argument("--to", dest="end", help="range end, YYYY-MM-DD (UTC, exclusive)")
    ap.add_argument("--section", action="append", help="only this section (repeatable), e.g. EC2")
    ap.add_argument("--json", action="store_true", help="print JSON: {section: {panel: {label: value}}}")
    a = ap.parse_args(argv)
    url = a.url.rstrip("/")
    so = pq.SavedObjects.load()
    if a.start or a.end:
        if not (a.start and a.end):
            ap.error("--from and --to go together")
        day = lambda text: datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)  # noqa: E731
        time_range = pq.TimeRange(day(a.start), day(a.end))
        described = f"{a.start} to {a.end}"
    else:
        time_range = pq.TimeRange.last(days=a.days)
        described = f"the last {a.days:g} days"
    sections = [s for s in generate.SECTIONS if not a.section or s.name in a.section]
    has_current = index_exists(url, generate.CURRENT_INDEX)
    out: dict = {}
    failed = 0
    for s in sections:
        out[s.name] = {}
        try:
            for title, figures in pq.metric_figures(so, url, s.title, time_range):
                out[s.name][title] = figures
        except (RuntimeError, OSError) as e:
            if not has_current and f"on {generate.CURRENT_INDEX} failed: HTTP 404" in str(e):
                out[s.name] = {"error": f"no {generate.CURRENT_INDEX} index"}
                continue
            out[s.name]["error"] = str(e).splitlines()[0][:300]
            failed += 1
    if a.json:
        print(json.dumps(out, indent=1, sort_keys=True))
        return 1 if failed else 0
    print(f"time range: {described} (current-state panels: the latest collection)")
    if not has_current:
        print(f"note: there is no {generate.CURRENT_INDEX} index here (the current state of the inventory, written by"
              f" cloudspool-load), so the inventory sections show nothing")
    for s in sections:
        print(f"\n{s.title}")
        if "error" in out[s.name]:
            print(f"  {out[s.name]['error']}" if out[s.name]["error"].startswith("no ") else
                  f"  query failed: {out[s.name]['error']}")
            continue
        if not out[s.name]:
            print("  (no metric panels)")
        for title, figures in out[s.name].items():
            for label, value in figures.items():
                print(f"  {title.removeprefix('[AWS] '):<40} {show(value):>16}   {label}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
