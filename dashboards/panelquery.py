"""The request Kibana 7.10 / OpenSearch Dashboards sends for a saved panel, built from the saved object.

No Kibana can run in the tests, so the panels are proven through the queries they run: this
module reads the saved objects (cloudspool-dashboards.ndjson), builds each panel's _search body
the way Dashboards builds it, runs it, and reads the answer back the way the panel shows it.

    so = SavedObjects.load()                                  # or SavedObjects(list_of_objects)
    vis = so.by_title("visualization", "[AWS] Total Instances")
    req = build_request(so, vis, TimeRange.last(days=7), filters=[phrase_filter(ip_id, "cloud.region", "eu-west-1")])
    res = read_panel(so, vis, run(url, req))                  # res.columns, res.rows; res.figures() for metrics

How Dashboards builds a request (Kibana 7.10 SearchSource + data plugin's buildEsQuery), and what
this module does the same way:

* The searchSource of the panel and, when the visualization is based on a saved search, the saved
  search's searchSource are flattened: every level's query goes into bool.must, every level's
  filters plus the dashboard's filters into bool.filter (negated ones into bool.must_not; disabled
  ones dropped). A Lucene query becomes {"query_string": {"query": ..., "analyze_wildcard": true}}
  (an empty one {"match_all": {}}); the dashboard's own query bar is one more must clause.
* A time-based index pattern adds {"range": {<time field>: {"gte", "lte", "format":
  "strict_date_optional_time"}}} to bool.filter; an index pattern without a time field ignores
  the time picker.
* Aggregations (visState.aggs, enabled ones): bucket aggs first, nested in their order; the metric
  aggs inside the innermost bucket (showMetricsAtAllLevels false); a terms agg ordered by a metric
  also carries that metric as its own sub-agg. count adds no agg. terms -> order {_key|_count|id};
  missingBucket -> "missing": "__missing__"; date_histogram "d"/"w"/"M"/"y"/"h" -> calendar_interval
  "1d"/..., time_zone (dateFormat:tz; UTC here), min_doc_count; cardinality's JSON input merged in;
  top_hits -> size, sort on sortField, _source of the field; filters -> one bool query per input.
* Vis requests have size 0; a saved search asks for sampleSize (500) hits sorted as saved.

Not modelled: KQL (the panels use Lucene), the "other" bucket, scripted fields (none are used),
automatic interval scaling beyond histogram:maxBars, and docvalue_fields (values are read from
_source, which holds the same values).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Optional

HERE = Path(__file__).resolve().parent
NDJSON = HERE / "cloudspool-dashboards.ndjson"
UTC = timezone.utc
BUCKET_TYPES = ("terms", "date_histogram", "filters")
SAMPLE_SIZE = 500
MISSING = "__missing__"


# ====================================================================== saved objects

class SavedObjects:
    def __init__(self, objects: Iterable[dict]):
        self.objects = list(objects)
        self.by_id = {(o["type"], o["id"]): o for o in self.objects}

    @classmethod
    def load(cls, path: Path = NDJSON) -> "SavedObjects":
        return cls(json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip())

    def get(self, kind: str, oid: str) -> dict:
        return self.by_id[(kind, oid)]

    def by_title(self, kind: str, title: str) -> dict:
        found = [o for o in self.objects if o["type"] == kind and o["attributes"]["title"] == title]
        if len(found) != 1:
            raise KeyError(f"{len(found)} {kind} objects titled {title!r}")
        return found[0]

    def of_type(self, kind: str) -> list:
        return [o for o in self.objects if o["type"] == kind]

    def ref(self, obj: dict, name: str) -> dict:
        for r in obj.get("references", []):
            if r["name"] == name:
                return self.get(r["type"], r["id"])
        raise KeyError(f"{obj['type']} {obj['attributes'].get('title')!r} has no reference {name!r}")

    def panels(self, dashboard: dict) -> list:
        """The saved objects a dashboard shows, in panel order."""
        out = []
        for p in json.loads(dashboard["attributes"]["panelsJSON"]):
            out.append(self.ref(dashboard, p["panelRefName"]))
        return out

    def dashboard(self, title: str) -> dict:
        return self.by_title("dashboard", title)

    def search_sources(self, obj: dict) -> list:
        """[(searchSource, owner)] from the panel up to its saved search."""
        levels = [(json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]), obj)]
        name = obj["attributes"].get("savedSearchRefName")
        if name:
            search = self.ref(obj, name)
            levels.append((json.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]), search))
        return levels

    def index_pattern(self, obj: dict) -> Optional[dict]:
        for source, owner in self.search_sources(obj):
            if "indexRefName" in source:
                return self.ref(owner, source["indexRefName"])
        return None


def vis_state(obj: dict) -> dict:
    return json.loads(obj["attributes"]["visState"])


# ====================================================================== time and filters

@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime

    @classmethod
    def last(cls, days: float = 0, hours: float = 0, now: Optional[datetime] = None) -> "TimeRange":
        end = now or datetime.now(UTC)
        return cls(end - timedelta(days=days, hours=hours), end)

    def dsl(self, time_field: str) -> dict:
        def iso(t: datetime) -> str:
            return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
        return {"range": {time_field: {"gte": iso(self.start), "lte": iso(self.end), "format": "strict_date_optional_time"}}}


def phrase_filter(index_pattern_id: str, fld: str, value, negate: bool = False) -> dict:
    """The filter an input control (one value) or a click on a table cell adds to the dashboard."""
    return {"meta": {"index": index_pattern_id, "key": fld, "params": {"query": value}, "type": "phrase", "negate": negate,
                     "disabled": False, "alias": None},
            "query": {"match_phrase": {fld: value}}, "$state": {"store": "appState"}}


def phrases_filter(index_pattern_id: str, fld: str, values: list) -> dict:
    """The filter an input control adds when several values are chosen."""
    return {"meta": {"index": index_pattern_id, "key": fld, "params": list(values), "type": "phrases", "negate": False,
                     "disabled": False, "alias": None},
            "query": {"bool": {"should": [{"match_phrase": {fld: v}} for v in values], "minimum_should_match": 1}},
            "$state": {"store": "appState"}}


def _filter_dsl(f: dict) -> dict:
    if "query" in f:
        return f["query"]
    return {k: v for k, v in f.items() if k not in ("meta", "$state")}


def _query_dsl(q: Optional[dict]) -> dict:
    if not q:
        return {"match_all": {}}
    if q.get("language", "kuery") != "lucene":
        raise NotImplementedError(f"only Lucene queries are translated, not {q.get('language')}: {q.get('query')!r}")
    text = q.get("query", "")
    if isinstance(text, dict):          # a DSL object typed into the Lucene bar
        return text
    if not str(text).strip():
        return {"match_all": {}}
    return {"query_string": {"query": text, "analyze_wildcard": True}}


def build_query(queries: list, filters: list, time_field: Optional[str], time_range: Optional[TimeRange]) -> dict:
    must = [_query_dsl(q) for q in queries]
    flt, must_not = [], []
    if time_field and time_range:
        flt.append(time_range.dsl(time_field))
    for f in filters:
        meta = f.get("meta", {})
        if meta.get("disabled"):
            continue
        (must_not if meta.get("negate") else flt).append(_filter_dsl(f))
    return {"bool": {"must": must, "filter": flt, "should": [], "must_not": must_not}}


# ====================================================================== aggregations

_CALENDAR = {"s": "1s", "m": "1m", "h": "1h", "d": "1d", "w": "1w", "M": "1M", "q": "1q", "y": "1y"}


def _metric_dsl(a: dict) -> Optional[dict]:
    p = a["params"]
    t = a["type"]
    if t == "count":
        return None
    if t in ("sum", "avg", "min", "max", "cardinality"):
        body = {"field": p["field"]}
        if p.get("json"):
            body.update(json.loads(p["json"]))
        return {t: body}
    if t == "top_hits":
        return {"top_hits": {"size": p.get("size", 1), "sort": [{p["sortField"]: {"order": p.get("sortOrder", "desc")}}],
                             "_source": p["field"]}}
    raise NotImplementedError(f"metric aggregation {t}")


def _bucket_dsl(a: dict, by_id: dict, time_zone: str) -> tuple:
    """(agg body, extra sub-aggs) of a bucket agg."""
    p = a["params"]
    t = a["type"]
    if t == "terms":
        body = {"field": p["field"], "size": p.get("size", 5)}
        direction = p.get("order", "desc")
        extra = {}
        if p.get("orderBy") == "_key":
            body["order"] = {"_key": direction}
        else:
            order_agg = by_id[p["orderBy"]]
            if order_agg["type"] == "count":
                body["order"] = {"_count": direction}
            else:
                body["order"] = {order_agg["id"]: direction}
                extra[order_agg["id"]] = _metric_dsl(order_agg)
        if p.get("missingBucket"):
            body["missing"] = MISSING
        return {"terms": body}, extra
    if t == "date_histogram":
        interval = p.get("interval", "d")
        body = {"field": p["field"], "time_zone": time_zone, "min_doc_count": p.get("min_doc_count", 1)}
        if interval in _CALENDAR:
            body["calendar_interval"] = _CALENDAR[interval]
        else:
            body["fixed_interval"] = interval
        return {"date_histogram": body}, {}
    if t == "filters":
        filters = {}
        for f in p["filters"]:
            key = f.get("label") or f["input"]["query"]
            filters[key] = build_query([f["input"]], [], None, None)
        return {"filters": {"filters": filters}}, {}
    raise NotImplementedError(f"bucket aggregation {t}")


def aggs_dsl(state: dict, time_zone: str = "UTC") -> dict:
    aggs = [a for a in state.get("aggs", []) if a.get("enabled", True)]
    by_id = {a["id"]: a for a in aggs}
    buckets = [a for a in aggs if a["type"] in BUCKET_TYPES]
    metrics = [a for a in aggs if a["type"] not in BUCKET_TYPES]
    top: dict = {}
    cursor = top
    for b in buckets:
        body, extra = _bucket_dsl(b, by_id, time_zone)
        sub = {k: v for k, v in extra.items() if v is not None}
        cursor[b["id"]] = {**body, "aggs": sub}
        cursor = sub
    for m in metrics:
        dsl = _metric_dsl(m)
        if dsl is not None:
            cursor[m["id"]] = dsl

    def prune(level: dict) -> dict:
        for v in level.values():
            if "aggs" in v:
                if v["aggs"]:
                    prune(v["aggs"])
                else:
                    del v["aggs"]
        return level
    return prune(top)


# ====================================================================== requests

@dataclass
class Request:
    index: str                         # the index pattern's title
    body: dict
    kind: str                          # "vis" | "search" | "control"
    title: str = ""


def build_request(so: SavedObjects, obj: dict, time_range: Optional[TimeRange] = None, query: Optional[dict] = None,
                  filters: Iterable[dict] = (), time_zone: str = "UTC") -> Request:
    """The _search request of a visualization or saved search, inside a dashboard with this time
    range, query bar content (e.g. {"query": "s3.key_parts:invoice", "language": "lucene"}) and filters."""
    ip = so.index_pattern(obj)
    if ip is None:
        raise ValueError(f"{obj['attributes']['title']!r} reads no index")
    levels = so.search_sources(obj)
    queries = [src.get("query") for src, _ in levels] + ([query] if query else [])
    all_filters = [f for src, _ in levels for f in src.get("filter", [])] + list(filters)
    q = build_query(queries, all_filters, ip["attributes"].get("timeFieldName"), time_range)
    title = obj["attributes"]["title"]
    if obj["type"] == "search":
        sort = [{fld: {"order": direction}} for fld, direction in obj["attributes"].get("sort", [])]
        return Request(ip["attributes"]["title"], {"size": SAMPLE_SIZE, "sort": sort, "query": q, "version": True,
                                                    "track_total_hits": True}, "search", title)
    state = vis_state(obj)
    return Request(ip["attributes"]["title"], {"size": 0, "query": q, "aggs": aggs_dsl(state, time_zone),
                                                "track_total_hits": True}, "vis", title)


def control_requests(so: SavedObjects, obj: dict, time_range: Optional[TimeRange] = None,
                     filters: Iterable[dict] = ()) -> list:
    """[(control label, Request)]: the terms request each list control sends for its options."""
    state = vis_state(obj)
    out = []
    for c in state["params"]["controls"]:
        ip = so.ref(obj, c["indexPatternRefName"])
        tf = ip["attributes"].get("timeFieldName") if state["params"].get("useTimeFilter") else None
        q = build_query([], list(filters), tf, time_range)
        size = c["options"].get("size", 5)
        body = {"size": 0, "query": q, "aggs": {"termsAgg": {"terms": {"field": c["fieldName"], "size": size,
                                                                         "order": {"_count": "desc"}}}}}
        out.append((c["label"], Request(ip["attributes"]["title"], body, "control", obj["attributes"]["title"])))
    return out


def run(url: str, req: Request, timeout: float = 30) -> dict:
    data = json.dumps(req.body).encode()
    r = urllib.request.Request(f"{url.rstrip('/')}/{req.index}/_search", data=data, method="POST",
                               headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(r, timeout=timeout) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{req.title!r}: _search on {req.index} failed: HTTP {e.code} {e.read()[:500]!r}\n"
                           f"request: {json.dumps(req.body)[:2000]}") from None


# ====================================================================== answers, as the panel shows them

@dataclass
class PanelResult:
    title: str
    columns: list                      # bucket labels, then metric labels
    rows: list = field(default_factory=list)
    total: int = 0                     # hits.total

    def figures(self) -> dict:
        """Metric panel: {label: value} of its (only) row."""
        if not self.rows:
            return {c: None for c in self.columns}
        return dict(zip(self.columns, self.rows[0]))

    def value(self):
        """The single figure of a one-metric panel."""
        figs = self.figures()
        if len(figs) != 1:
            raise ValueError(f"{self.title!r} shows {len(figs)} figures")
        return next(iter(figs.values()))

    def dicts(self) -> list:
        return [dict(zip(self.columns, r)) for r in self.rows]


def _label(a: dict) -> str:
    return a["params"].get("customLabel") or f"{a['type']} {a['params'].get('field', '')}".strip()


def get_path(doc, dotted: str):
    """Values at a dotted path of a _source (lists of objects flattened like the index does)."""
    vals = [doc]
    for part in dotted.split("."):
        nxt = []
        for v in vals:
            if isinstance(v, dict) and part in v:
                w = v[part]
                nxt.extend(w if isinstance(w, list) else [w])
            elif isinstance(v, list):
                for x in v:
                    if isinstance(x, dict) and part in x:
                        w = x[part]
                        nxt.extend(w if isinstance(w, list) else [w])
        vals = nxt
    if not vals:
        return None
    return vals[0] if len(vals) == 1 else vals


def _metric_value(a: dict, bucket: dict, total_docs: int):
    t = a["type"]
    if t == "count":
        return bucket.get("doc_count", total_docs)
    v = bucket.get(a["id"])
    if v is None:
        return None
    if t == "top_hits":
        hits = v["hits"]["hits"]
        values = [get_path(h.get("_source", {}), a["params"]["field"]) for h in hits]
        values = [x for x in values if x is not None]
        if not values:
            return None
        return values[0] if len(values) == 1 else values
    if v.get("value_as_string") is not None and t in ("max", "min"):
        return v["value_as_string"]
    return v.get("value")


def _bucket_key(a: dict, key, b: dict):
    if a["type"] == "terms" and key == MISSING:
        return a["params"].get("missingBucketLabel", "Missing")
    if a["type"] == "date_histogram":
        return b.get("key_as_string", key)
    if a["type"] == "terms" and "key_as_string" in b:
        return b["key_as_string"]
    return key


def read_panel(so: SavedObjects, obj: dict, response: dict) -> PanelResult:
    title = obj["attributes"]["title"]
    total = response["hits"]["total"]["value"] if isinstance(response["hits"]["total"], dict) else response["hits"]["total"]
    if obj["type"] == "search":
        columns = obj["attributes"]["columns"]
        rows = [[get_path(h["_source"], c) for c in columns] for h in response["hits"]["hits"]]
        return PanelResult(title, columns, rows, total)
    state = vis_state(obj)
    aggs = [a for a in state.get("aggs", []) if a.get("enabled", True)]
    buckets = [a for a in aggs if a["type"] in BUCKET_TYPES]
    metrics = [a for a in aggs if a["type"] not in BUCKET_TYPES]
    columns = [_label(a) for a in buckets] + [_label(a) for a in metrics]
    rows: list = []

    def walk(level: dict, depth: int, keys: list, docs: int) -> None:
        if depth == len(buckets):
            rows.append(keys + [_metric_value(m, level, docs) for m in metrics])
            return
        a = buckets[depth]
        raw = level.get(a["id"], {}).get("buckets", [])
        items = list(raw.items()) if isinstance(raw, dict) else [(b["key"], b) for b in raw]
        for key, b in items:
            walk(b, depth + 1, keys + [_bucket_key(a, key, b)], b.get("doc_count", 0))

    walk({**response.get("aggregations", {}), "doc_count": total}, 0, [], total)
    return PanelResult(title, columns, rows, total)


def control_options(response: dict) -> list:
    return [b.get("key_as_string", b["key"]) for b in response["aggregations"]["termsAgg"]["buckets"]]


# ====================================================================== a whole section

def metric_figures(so: SavedObjects, url: str, dashboard_title: str, time_range: Optional[TimeRange] = None,
                   filters: Iterable[dict] = (), query: Optional[dict] = None) -> list:
    """[(panel title, {label: value})] of every metric panel of a dashboard, by running its own request."""
    out = []
    for panel in so.panels(so.dashboard(dashboard_title)):
        if panel["type"] != "visualization" or vis_state(panel)["type"] != "metric":
            continue
        req = build_request(so, panel, time_range, query, filters)
        out.append((panel["attributes"]["title"], read_panel(so, panel, run(url, req)).figures()))
    return out
