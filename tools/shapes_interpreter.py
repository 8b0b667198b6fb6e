#!/usr/bin/env python3
"""A second, independent reader of raw AWS responses that uses ONLY the
generated shape table (Sources/Shared/AWSModel/AWSShapes+Generated.swift),
never botocore. It is the executable form of tools/README.md: the Swift
interpreter has to do what this does. make_fixtures.py checks that it gives,
for every fixture, exactly what botocore (tools/reference_parse.py) gives.

    shapes_interpreter.py SERVICE OPERATION FILE [FILE ...] [--lint] [--epoch-iso] [--protocol P]

SERVICE is the key of the table (ec2, rds, monitoring, sts, iam, backup,
cloudtrail, organizations); OPERATION the API name. Several FILEs are
successive pages (the CLI's merge is applied, as reference_parse.py does).
--lint prints what in the body the model does not describe instead.
"""

import argparse
import datetime
import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from decimal import Decimal

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
GENERATED = os.path.join(REPO, "Sources", "Shared", "AWSModel", "AWSShapes+Generated.swift")
XML_PROTOCOLS = ("ec2", "query", "rest-xml")

_table = None


class InterpretError(Exception):
    pass


def table():
    """The JSON inside the generated Swift file (or, if there is none yet,
    what the generator would write)."""
    global _table
    if _table is None:
        if os.path.exists(GENERATED):
            text = open(GENERATED, encoding="utf-8").read()
            start = text.index('#"""\n') + len('#"""\n')
            end = text.rindex('"""#')
            _table = json.loads(text[start:end])
        else:
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import gen_aws_shapes
            _table = json.loads(gen_aws_shapes.render_json(gen_aws_shapes.build()))
    return _table


def service_entry(service):
    t = table()["services"]
    if service in t:
        return t[service]
    for k, v in t.items():
        if v["botocoreName"] == service:
            return v
    raise InterpretError(f"service {service!r} is not in the table")


# --------------------------------------------------------------------------
# XML (ec2, query)
# --------------------------------------------------------------------------

def local(tag):
    return re.sub(r"^\{.*\}", "", tag)


def group_children(el):
    """child local name -> [elements], in document order"""
    d = {}
    for c in el:
        d.setdefault(local(c.tag), []).append(c)
    return d


class XMLReader:
    def __init__(self, svc):
        self.shapes = svc["shapes"]

    def structure(self, el, shape_name):
        shape = self.shapes[shape_name]
        kids = group_children(el)
        if shape.get("union"):
            if len(kids) != 1:
                raise InterpretError(f"{shape_name}: a union must have exactly one member set")
            tag = next(iter(kids))
            if tag not in [m["wire"] for m in shape["members"]]:
                return {"SDK_UNKNOWN_MEMBER": {"name": tag}}
        out = {}
        for m in shape["members"]:
            if m.get("location"):
                continue  # headers / status code: not in the body
            els = kids.get(m["wire"])
            if not els:
                if m.get("xmlAttribute") and m["wire"] in el.attrib:
                    out[m["name"]] = el.attrib[m["wire"]]
                continue
            out[m["name"]] = self.member(m, els)

        return out

    def member(self, ref, els):
        """els: every child element named ref.wire (one, unless flattened)."""
        if ref.get("flattened"):
            items = els
            if ref["type"] == "list":
                item = self.shapes[ref["shape"]]["member"]
                return [self.value(item, e) for e in items]
            return self.map_entries(ref, items)
        if len(els) > 1:
            raise InterpretError(f"<{ref['wire']}> repeated for a member that is not a flattened list "
                                 "(botocore's result would be ill-defined)")
        return self.value(ref, els[0])

    def map_entries(self, ref, entries):
        shape = self.shapes[ref["shape"]]
        kname, vname = shape["key"]["wire"], shape["value"]["wire"]
        out = {}
        for entry in entries:
            k = v = None
            for c in entry:
                t = local(c.tag)
                if t == kname:
                    k = self.value(shape["key"], c)
                elif t == vname:
                    v = self.value(shape["value"], c)
                else:
                    raise InterpretError(f"unknown tag <{t}> in a map entry")
            out[k] = v
        return out

    def value(self, ref, el):
        t = ref["type"]
        if t == "structure":
            return self.structure(el, ref["shape"])
        if t == "list":
            item = self.shapes[ref["shape"]]["member"]
            return [self.value(item, c) for c in el]  # every child element, whatever its name
        if t == "map":
            return self.map_entries(ref, list(el))
        text = el.text if el.text is not None else ""
        if t in ("string", "timestamp", "blob"):
            return text
        if t == "boolean":
            return text == "true"
        if t in ("integer", "long"):
            return int(text)
        if t in ("float", "double"):
            return float(text)
        raise InterpretError(f"type {t}")


def parse_xml(body):
    try:
        parser = ET.XMLParser(target=ET.TreeBuilder(), encoding="utf-8")
        parser.feed(body)
        return parser.close()
    except ET.ParseError as e:
        raise InterpretError(f"invalid XML: {e}")


def read_xml(svc, op, body):
    opd = svc["operations"][op]
    root = parse_xml(body)
    start = root
    if opd["resultWrapper"]:
        found = [c for c in root if local(c.tag) == opd["resultWrapper"]]
        if not found:
            raise InterpretError(f"no <{opd['resultWrapper']}> under the root element")
        start = found[0]
    return XMLReader(svc).structure(start, opd["output"])


# --------------------------------------------------------------------------
# JSON (json, rest-json)
# --------------------------------------------------------------------------

class JSONReader:
    def __init__(self, svc):
        self.shapes = svc["shapes"]
        # rest-json (Backup) converts scalars (RestJSONParser._handle_boolean /
        # _handle_integer / _handle_float); json (CloudTrail, Organizations,
        # CloudWatch over awsJson) passes every scalar through untouched
        self.convert = svc["protocol"] == "rest-json"

    def value(self, ref, v):
        t = ref["type"]
        if t == "structure":
            shape = self.shapes[ref["shape"]]
            if shape.get("document"):
                return v
            if v is None:
                return None
            if shape.get("union"):
                set_ = {k: x for k, x in v.items() if k != "__type" and x is not None}
                if len(set_) != 1:
                    raise InterpretError(f"{ref['shape']}: a union must have exactly one member set")
                tag = next(iter(set_))
                if tag not in [m["wire"] for m in shape["members"]]:
                    return {"SDK_UNKNOWN_MEMBER": {"name": tag}}
            out = {}
            for m in shape["members"]:
                if m.get("location"):
                    continue
                x = v.get(m["wire"])
                if x is not None:
                    out[m["name"]] = self.value(m, x)
            return out
        if t == "list":
            item = self.shapes[ref["shape"]]["member"]
            return [None if x is None else self.value(item, x) for x in v]
        if t == "map":
            shape = self.shapes[ref["shape"]]
            return {self.value(shape["key"], k): self.value(shape["value"], x) for k, x in v.items()}
        if self.convert:
            if t == "boolean":
                return v if isinstance(v, bool) else (v.lower() == "true" if isinstance(v, str) else False)
            if t in ("integer", "long"):
                return int(v)  # 1.9 -> 1, "12" -> 12
            if t in ("float", "double"):
                return float(v)  # 5 -> 5.0
        return v  # scalars: exactly the JSON value (timestamps: the epoch number as sent)


def read_json(svc, op, body):
    opd = svc["operations"][op]
    doc = json.loads(body.decode("utf-8")) if body else {}
    return JSONReader(svc).value({"type": "structure", "shape": opd["output"]}, doc)


# --------------------------------------------------------------------------
# what the CLI prints
# --------------------------------------------------------------------------

def cli_merge(opd, pages):
    """PageIterator.build_full_result for simple result keys."""
    pag = opd["paginator"]
    if pag is None:
        if len(pages) != 1:
            raise InterpretError("not paginated: exactly one page")
        return pages[0]
    out = {}
    for page in pages:
        for k in pag["resultKeys"]:
            if "." in k or "[" in k:
                raise InterpretError(f"result key expression {k} not supported here")
            v = page.get(k)
            if v is None:
                continue
            if k not in out:
                out[k] = v
            elif isinstance(v, list):
                out[k].extend(v)
            elif isinstance(v, (int, float, str)):
                out[k] = out[k] + v
    for k in pag["nonAggregateKeys"]:
        out.setdefault(k, pages[0].get(k))
    return out


def epoch_to_iso(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    ms = int((d * 1000).quantize(Decimal(1), rounding="ROUND_HALF_EVEN"))
    secs, milli = divmod(ms, 1000)
    t = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=secs)
    base = t.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}Z" if milli == 0 else f"{base}.{milli:03d}Z"


def walk_timestamps(svc, ref, v, fn):
    if v is None:
        return v
    t = ref["type"]
    if t == "timestamp":
        return fn(v)
    if t == "structure":
        shape = svc["shapes"][ref["shape"]]
        if shape.get("document") or not isinstance(v, dict):
            return v
        for m in shape["members"]:
            if m["name"] in v:
                v[m["name"]] = walk_timestamps(svc, m, v[m["name"]], fn)
        return v
    if t == "list":
        item = svc["shapes"][ref["shape"]]["member"]
        return [walk_timestamps(svc, item, x, fn) for x in v]
    if t == "map":
        val = svc["shapes"][ref["shape"]]["value"]
        return {k: walk_timestamps(svc, val, x, fn) for k, x in v.items()}
    return v


def interpret(service, op, bodies, protocol=None, paginate=True, epoch_iso=False):
    svc = service_entry(service)
    if op not in svc["operations"]:
        raise InterpretError(f"{op} is not in the table for {service}")
    if isinstance(bodies, (bytes, bytearray)):
        bodies = [bytes(bodies)]
    opd = svc["operations"][op]
    pages = []
    for b in bodies:
        is_xml = (protocol in XML_PROTOCOLS) if protocol else b.lstrip()[:1] == b"<"
        if is_xml and svc["protocol"] not in XML_PROTOCOLS:
            raise InterpretError(f"{service}: the table describes {svc['protocol']}, not XML")
        if not is_xml and svc["protocol"] in XML_PROTOCOLS:
            # e.g. CloudWatch over awsJson: same shapes, JSON member names = member names
            pass
        pages.append(read_xml(svc, op, b) if is_xml else read_json(svc, op, b))
    result = cli_merge(opd, pages) if paginate else pages[0]
    if epoch_iso:
        result = walk_timestamps(svc, {"type": "structure", "shape": opd["output"]}, result, epoch_to_iso)
    return result


def render(obj):
    if obj == {}:
        return ""
    return json.dumps(obj, indent=4, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------
# lint: what the model does not describe
# --------------------------------------------------------------------------

ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$")
INT_RE = re.compile(r"^-?\d+$")
FLOAT_RE = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def lint(service, op, body, protocol=None):
    svc = service_entry(service)
    opd = svc["operations"][op]
    notes = {}

    def note(path, msg):
        key = (re.sub(r"\[\d+\]", "[]", path), msg)
        notes[key] = notes.get(key, 0) + 1

    is_xml = (protocol in XML_PROTOCOLS) if protocol else body.lstrip()[:1] == b"<"
    if is_xml:
        root = parse_xml(body)
        start = root
        envelope = {"requestId"} if svc["protocol"] == "ec2" else {"ResponseMetadata"}
        if opd["resultWrapper"]:
            found = [c for c in root if local(c.tag) == opd["resultWrapper"]]
            for c in root:
                if local(c.tag) not in envelope | {opd["resultWrapper"]}:
                    note(local(root.tag), f"<{local(c.tag)}> under the root is ignored")
            if not found:
                note(local(root.tag), f"no <{opd['resultWrapper']}>: botocore fails")
                return fmt(notes)
            start = found[0]
        lint_xml_struct(svc, start, opd["output"], local(start.tag), note,
                        envelope if start is root else set())
    else:
        doc = json.loads(body.decode("utf-8")) if body else {}
        lint_json(svc, {"type": "structure", "shape": opd["output"]}, doc, "$", note)
    return fmt(notes)


def fmt(notes):
    return [f"{p}: {m}" + (f" (x{n})" if n > 1 else "") for (p, m), n in sorted(notes.items())]


def lint_xml_struct(svc, el, shape_name, path, note, envelope=()):
    shape = svc["shapes"][shape_name]
    wires = {m["wire"]: m for m in shape["members"]}
    for c in el:
        t = local(c.tag)
        if t not in wires and t not in envelope:
            note(path, f"<{t}> is not in {shape_name}: ignored by botocore")
    kids = group_children(el)
    for m in shape["members"]:
        els = kids.get(m["wire"], [])
        if len(els) > 1 and not m.get("flattened"):
            note(f"{path}.{m['wire']}", "repeated element")
        for e in els[:1] if not m.get("flattened") else els:
            lint_xml_value(svc, m, e, f"{path}.{m['wire']}", note)


def lint_xml_value(svc, ref, el, path, note):
    t = ref["type"]
    if t == "structure":
        lint_xml_struct(svc, el, ref["shape"], path, note)
        return
    if t == "list":
        item = svc["shapes"][ref["shape"]]["member"]
        for i, c in enumerate(el):
            if "wire" in item and local(c.tag) != item["wire"]:
                note(path, f"list item <{local(c.tag)}>, model says <{item['wire']}> (botocore takes it anyway)")
            lint_xml_value(svc, item, c, f"{path}[{i}]", note)
        return
    if t == "map":
        return  # no map is reachable in the XML services of the table
    if len(el):
        note(path, f"{t} element has child elements: botocore reads only its leading text")
    text = el.text if el.text is not None else ""
    if "{http://www.w3.org/2001/XMLSchema-instance}nil" in el.attrib:
        note(path, "xsi:nil: botocore ignores it and reads ''")
    if t in ("integer", "long") and not INT_RE.match(text):
        note(path, f"{t} text {text!r} is not a plain integer")
    elif t in ("float", "double") and not FLOAT_RE.match(text):
        note(path, f"{t} text {text!r} is not a plain number")
    elif t == "boolean" and text not in ("true", "false"):
        note(path, f"boolean text {text!r}: botocore reads False")
    elif t == "timestamp" and not ISO_RE.match(text):
        note(path, f"timestamp text {text!r} is not ISO 8601")
    elif t == "string" and text != text.strip():
        note(path, "string with leading/trailing whitespace (kept as is)")


def lint_json(svc, ref, v, path, note, in_list=False):
    t = ref["type"]
    if v is None:
        note(path, "null list item (kept: the CLI prints null)" if in_list
             else "null (botocore drops the member)")
        return
    if t == "structure":
        shape = svc["shapes"][ref["shape"]]
        if shape.get("document"):
            return
        if not isinstance(v, dict):
            note(path, f"expected an object, got {type(v).__name__}")
            return
        wires = {m["wire"]: m for m in shape["members"]}
        for k, x in v.items():
            if k not in wires:
                note(path, f"key {k!r} is not in {ref['shape']}: ignored by botocore")
            else:
                lint_json(svc, wires[k], x, f"{path}.{k}", note)
        return
    if t == "list":
        if not isinstance(v, list):
            note(path, f"expected an array, got {type(v).__name__}")
            return
        item = svc["shapes"][ref["shape"]]["member"]
        for i, x in enumerate(v):
            lint_json(svc, item, x, f"{path}[{i}]", note, in_list=True)
        return
    if t == "map":
        if not isinstance(v, dict):
            note(path, f"expected an object, got {type(v).__name__}")
            return
        val = svc["shapes"][ref["shape"]]["value"]
        for k, x in v.items():
            lint_json(svc, val, x, f"{path}.{k}", note)
        return
    how = (" (rest-json: botocore converts it)" if svc["protocol"] == "rest-json"
           else " (botocore passes it through)")
    ok = {"string": str, "blob": str, "boolean": bool}.get(t)
    if ok is not None and not isinstance(v, ok):
        note(path, f"{t} member holds {type(v).__name__} {v!r}" + how)
    elif t in ("integer", "long") and (isinstance(v, bool) or not isinstance(v, int)):
        note(path, f"{t} member holds {type(v).__name__} {v!r}" + how)
    elif t in ("float", "double") and (isinstance(v, bool) or not isinstance(v, (int, float))):
        note(path, f"{t} member holds {type(v).__name__} {v!r}" + how)
    elif t == "timestamp" and (isinstance(v, bool) or not isinstance(v, (int, float))):
        note(path, f"timestamp as {type(v).__name__} {v!r} (the CLI prints it as sent)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("service")
    ap.add_argument("operation")
    ap.add_argument("files", nargs="+")
    ap.add_argument("--lint", action="store_true")
    ap.add_argument("--epoch-iso", action="store_true")
    ap.add_argument("--no-paginate", action="store_true")
    ap.add_argument("--protocol")
    args = ap.parse_args(argv)
    bodies = [sys.stdin.buffer.read() if f == "-" else open(f, "rb").read() for f in args.files]
    try:
        if args.lint:
            for b in bodies:
                for line in lint(args.service, args.operation, b, args.protocol):
                    print(line)
            return 0
        obj = interpret(args.service, args.operation, bodies, protocol=args.protocol,
                        paginate=not args.no_paginate, epoch_iso=args.epoch_iso)
    except (InterpretError, ValueError, KeyError) as e:
        print(f"shapes_interpreter: {type(e).__name__}: {e}", file=sys.stderr)
        return 3
    sys.stdout.write(render(obj))
    return 0


if __name__ == "__main__":
    sys.exit(main())
