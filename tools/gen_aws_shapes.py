#!/usr/bin/env python3
"""Generate Sources/Shared/AWSModel/AWSShapes+Generated.swift from botocore.

Reads botocore's own service models (service-2.json[.gz], paginators-1.json
of the botocore that is installed, never ~/.aws/models or AWS_DATA_PATH) and
writes, for the operations listed in OPERATIONS below, a compact JSON
description of their OUTPUT shapes (transitively), wrapped in a Swift raw
string literal. The cloudspool transform interprets it at run time to turn a
raw response body into exactly what botocore's parser (and so
`aws <service> <operation> --output json`, AWS CLI v1) returns for it.

The format is documented in tools/README.md and, shorter, in the header of the
generated file (FORMAT_DOC below).

Usage:
    python3 tools/gen_aws_shapes.py > Sources/Shared/AWSModel/AWSShapes+Generated.swift
    python3 tools/gen_aws_shapes.py --out Sources/Shared/AWSModel/AWSShapes+Generated.swift
    python3 tools/gen_aws_shapes.py --check --out ...   # exit 1 if the file is stale
    python3 tools/gen_aws_shapes.py --json               # the bare JSON (for tools)

Everything is deterministic: object keys are sorted, structure members keep
the model's order (which is the order botocore and the CLI print them in).
"""

import argparse
import hashlib
import json
import os
import sys

import botocore
from botocore.loaders import Loader
from botocore.model import ServiceModel

FORMAT = "cloudspool-aws-shapes/1"

# service key (the endpoint prefix, as cloudspool's manifests name services)
#   -> (botocore service name, protocol cloudspool speaks to it, operations)
# The protocol must be one the model supports. CloudWatch's model lists
# ["smithy-rpc-v2-cbor", "json", "query"] and botocore itself would pick
# "json"; cloudspool speaks "query" (XML) to it, so that is what is described.
OPERATIONS = {
    "ec2": ("ec2", "ec2", [
        "DescribeInstances", "DescribeInstanceTypes", "DescribeImages",
        "DescribeSnapshots", "DescribeVolumes", "DescribeSecurityGroups",
        "DescribeNetworkInterfaces", "DescribeInternetGateways",
        "DescribeNatGateways", "DescribeTransitGateways", "DescribeTags",
        "DescribeRegions",
    ]),
    "rds": ("rds", "query", ["DescribeDBInstances", "DescribeDBSnapshots"]),
    "monitoring": ("cloudwatch", "query", ["DescribeAlarms", "ListMetrics"]),
    "sts": ("sts", "query", ["AssumeRole", "GetCallerIdentity"]),
    "iam": ("iam", "query", [
        "ListUsers", "ListGroupsForUser", "GenerateCredentialReport",
        "GetCredentialReport",
    ]),
    "backup": ("backup", "rest-json", [
        "ListBackupJobs", "ListRecoveryPointsByResource",
    ]),
    "cloudtrail": ("cloudtrail", "json", ["LookupEvents"]),
    "organizations": ("organizations", "json", ["ListAccounts"]),
}

XML_PROTOCOLS = ("ec2", "query", "rest-xml")
JSON_PROTOCOLS = ("json", "rest-json")
SCALAR_TYPES = ("string", "integer", "long", "boolean", "float", "double",
                "timestamp", "blob", "character")
AGGREGATE_TYPES = ("structure", "list", "map")

# Traits on a shape or member reference that change how a response is parsed.
# Anything else found on a reachable reference (see IGNORED_TRAITS) stops the
# generator, so that a new botocore cannot silently add a rule we do not know.
IGNORED_TRAITS = {
    "shape", "type", "documentation", "deprecated", "deprecatedMessage",
    "deprecatedSince", "box", "min", "max", "pattern", "enum", "sensitive",
    "required", "idempotencyToken", "queryName", "xmlOrder", "wrapper",
    "synthetic", "members", "member", "key", "value", "locationName",
    "flattened", "timestampFormat", "location", "document", "union",
    "xmlNamespace", "resultWrapper", "exception", "error", "fault",
    "retryable", "contextParam", "hostLabel", "streaming", "payload",
    "jsonvalue", "xmlAttribute", "event", "eventstream", "eventheader",
    "eventpayload", "endpointdiscoveryid", "awsQueryError",
}

FORMAT_DOC = """\
// Format (FORMAT_ID), documented in full in tools/README.md:
//
// {
//   "format": "FORMAT_ID",
//   "botocore": "<version>",
//   "services": { "<service key>": {          // ec2, rds, monitoring, sts, iam, backup, cloudtrail, organizations
//       "botocoreName": "cloudwatch",          // the model's directory / boto3 client name (= CLI command)
//       "model": "cloudwatch/2010-08-01/service-2.json.gz",
//       "protocol": "query",                   // protocol described here: ec2 | query | json | rest-json
//       "protocols": [...],                    // all protocols the model lists
//       "apiVersion", "endpointPrefix", "signingName", "targetPrefix", "jsonVersion", "xmlNamespace": as in the model (when set)
//       "timestampFormat": "iso8601" | "unixTimestamp",   // the protocol's default for timestamps
//       "operations": { "<Operation>": {
//           "output": "<shape name>" | null,
//           "resultWrapper": "<XML element>" | null,   // query: root/<resultWrapper> holds the output structure; ec2: null, root is it
//           "http": {"method": "POST", "requestUri": "/"},
//           "paginator": null | {"inputToken": [..], "outputToken": [..], "limitKey": "..."|null,
//                                "moreResults": "..."|null, "resultKeys": [..], "nonAggregateKeys": [..]} } },
//       "shapes": { "<shape name>":               // only structure / list / map shapes, only those reachable
//           {"type": "structure", "members": [<ref>, ...]}            // members in model order (= CLI key order)
//             (+ "document": true | "union": true | "empty": true when so)
//         | {"type": "list", "member": <ref>}
//         | {"type": "map", "key": <ref>, "value": <ref>} } } } }
//
// <ref> (a structure member, a list member, a map key or value):
//   "type":  structure | list | map | string | integer | long | boolean | float | double | timestamp | blob
//   "shape": the shape name, only for structure / list / map (look it up in the same service's "shapes")
//   "name":  structure members only: the output key (botocore's member name)
//   "wire":  structure member: the XML element name / JSON key to look for in the parent, exactly as
//            botocore's parser computes it (locationName, else member name; for a flattened list the
//            list member's locationName when it has one); list member: the XML item element name
//            (informational: botocore takes every child element as an item); map key / value: the
//            XML element names inside an entry ("key" / "value" unless the model says otherwise)
//   "flattened": true          list / map without a wrapper element: each repeated element named "wire" is an item / entry
//   "timestampFormat": "..."   only when the model sets one explicitly on this reference or shape
//   "location": "header" | "headers" | "statusCode"   (rest-json) value not in the body
//   "xmlAttribute": true       value is the attribute "wire" of the parent element
//   "decode": "iamPolicyDocument"   IAM policy document: botocore url-decodes and JSON-parses the string
//
// A scalar shape has no entry in "shapes": its type is on the reference."""


def model_loader():
    # Only botocore's bundled data: ~/.aws/models or AWS_DATA_PATH must not
    # change what is generated. The 'sdk' extras are kept because botocore
    # (and so the CLI) applies them too.
    return Loader(extra_search_paths=[Loader.BUILTIN_DATA_PATH],
                  include_default_search_paths=False)


def model_file(path):
    """The model file as it is on disk, relative to botocore/data."""
    for suffix in (".json.gz", ".json", ""):
        if os.path.exists(path + suffix):
            return os.path.relpath(path + suffix, Loader.BUILTIN_DATA_PATH).replace(os.sep, "/")
    return os.path.relpath(path, Loader.BUILTIN_DATA_PATH).replace(os.sep, "/")


def check_traits(where, d):
    unknown = set(d) - IGNORED_TRAITS
    if unknown:
        raise SystemExit(f"gen_aws_shapes: {where}: unknown trait(s) {sorted(unknown)}; "
                         "teach the generator (and the Swift interpreter) about them")


class ServiceWalker:
    def __init__(self, key, model, protocol, raw_model):
        self.key = key
        self.model = model
        self.protocol = protocol
        self.raw_shapes = raw_model["shapes"]
        self.shapes = {}

    def is_xml(self):
        return self.protocol in XML_PROTOCOLS

    # -- references -------------------------------------------------------
    def member_wire_name(self, shape, member_name):
        """The key botocore looks the member up by in its parent.

        XML: BaseXMLResponseParser._member_key_name. JSON:
        BaseJSONParser._handle_structure (serialization 'name' or member name).
        """
        ser = shape.serialization
        if self.is_xml() and shape.type_name == "list" and ser.get("flattened"):
            item_name = shape.member.serialization.get("name")
            if item_name is not None:
                return item_name
        return ser.get("name", member_name)

    def ref(self, shape, raw_ref, where, member_name=None, role=None):
        """Describe a reference to `shape` (already merged with the
        reference's traits by botocore)."""
        check_traits(where, raw_ref)
        check_traits(f"{where} -> shape {shape.name}", self.raw_shapes[shape.name])
        t = shape.type_name
        if t not in SCALAR_TYPES and t not in AGGREGATE_TYPES:
            raise SystemExit(f"gen_aws_shapes: {where}: unsupported type {t}")
        if t == "character":
            t = "string"  # botocore parses it exactly like a string
        ser = shape.serialization
        r = {"type": t}
        if t in AGGREGATE_TYPES:
            r["shape"] = shape.name
            self.visit(shape)
        if member_name is not None:
            r["name"] = member_name
            r["wire"] = self.member_wire_name(shape, member_name)
        elif role == "list-member":
            if self.is_xml():
                # informational: botocore takes every child element as an item
                r["wire"] = ser.get("name", "item" if self.protocol == "ec2" else "member")
        elif role in ("map-key", "map-value"):
            if self.is_xml():
                r["wire"] = ser.get("name", "key" if role == "map-key" else "value")
        if ser.get("flattened") and t in ("list", "map"):
            r["flattened"] = True
        if t == "timestamp" and "timestampFormat" in ser:
            r["timestampFormat"] = ser["timestampFormat"]
        if "location" in ser:
            if ser["location"] not in ("header", "headers", "statusCode"):
                raise SystemExit(f"gen_aws_shapes: {where}: location {ser['location']} in an output")
            r["location"] = ser["location"]
        if ser.get("xmlAttribute"):
            r["xmlAttribute"] = True
        if self.model.service_name == "iam" and t == "string" and shape.name == "policyDocumentType":
            # botocore's after-call handler json_decode_policies: url-decode, then JSON-parse
            r["decode"] = "iamPolicyDocument"
        for bad in ("eventstream", "event", "eventheader", "eventpayload", "streaming", "jsonvalue"):
            if ser.get(bad) or shape.metadata.get(bad):
                raise SystemExit(f"gen_aws_shapes: {where}: '{bad}' is not supported")
        return r

    # -- shapes -----------------------------------------------------------
    def visit(self, shape):
        name = shape.name
        if name in self.shapes:
            return
        self.shapes[name] = None  # placeholder: recursion guard
        raw = self.raw_shapes[name]
        t = shape.type_name
        if t == "structure":
            entry = {"type": "structure"}
            if shape.is_document_type:
                entry["document"] = True
                entry["members"] = []
            else:
                members = []
                for member_name, member_shape in shape.members.items():
                    members.append(self.ref(member_shape, raw["members"][member_name],
                                            f"{self.key}.{name}.{member_name}",
                                            member_name=member_name))
                entry["members"] = members
                if not members:
                    entry["empty"] = True
            if shape.is_tagged_union:
                entry["union"] = True
            if "payload" in shape.serialization:
                raise SystemExit(f"gen_aws_shapes: {name}: output payload members are not supported")
        elif t == "list":
            entry = {"type": "list",
                     "member": self.ref(shape.member, raw["member"],
                                        f"{self.key}.{name}.member", role="list-member")}
        elif t == "map":
            entry = {"type": "map",
                     "key": self.ref(shape.key, raw["key"], f"{self.key}.{name}.key", role="map-key"),
                     "value": self.ref(shape.value, raw["value"], f"{self.key}.{name}.value",
                                       role="map-value")}
        else:
            raise AssertionError(t)
        self.shapes[name] = entry


def paginator_entry(cfg):
    if cfg is None:
        return None

    def as_list(v):
        if v is None:
            return []
        return list(v) if isinstance(v, list) else [v]

    return {
        "inputToken": as_list(cfg.get("input_token")),
        "outputToken": as_list(cfg.get("output_token")),
        "limitKey": cfg.get("limit_key"),
        "moreResults": cfg.get("more_results"),
        "resultKeys": as_list(cfg.get("result_key")),
        "nonAggregateKeys": as_list(cfg.get("non_aggregate_keys")),
    }


def build(operations=OPERATIONS):
    loader = model_loader()
    out = {"format": FORMAT, "botocore": botocore.__version__, "services": {}}
    for key in sorted(operations):
        bname, protocol, ops = operations[key]
        raw_model, path = loader.load_data_with_path(
            f"{bname}/{loader.determine_latest_version(bname, 'service-2')}/service-2")
        # load_service_model applies the sdk extras exactly as botocore does
        api_version = raw_model["metadata"]["apiVersion"]
        full = loader.load_service_model(bname, "service-2", api_version)
        model = ServiceModel(full, service_name=bname)
        try:
            pag = loader.load_service_model(bname, "paginators-1", api_version)["pagination"]
        except Exception:
            pag = {}
        md = full["metadata"]
        supported = md.get("protocols") or [md["protocol"]]
        if protocol not in supported:
            raise SystemExit(f"gen_aws_shapes: {bname} does not support protocol {protocol} ({supported})")
        walker = ServiceWalker(key, model, protocol, full)
        svc = {
            "botocoreName": bname,
            "model": model_file(path),
            "protocol": protocol,
            "protocols": list(supported),
            "timestampFormat": "iso8601" if protocol in XML_PROTOCOLS else "unixTimestamp",
            "operations": {},
        }
        for k in ("apiVersion", "endpointPrefix", "signingName", "targetPrefix",
                  "jsonVersion", "xmlNamespace"):
            if k in md:
                svc[k] = md[k]
        if protocol in XML_PROTOCOLS:
            svc.pop("jsonVersion", None)
            svc.pop("targetPrefix", None)
        if protocol != "json":
            svc.pop("targetPrefix", None)
        for op_name in ops:
            om = model.operation_model(op_name)
            shape = om.output_shape
            entry = {
                "output": shape.name if shape is not None else None,
                "resultWrapper": None,
                "http": {"method": om.http.get("method"), "requestUri": om.http.get("requestUri")},
                "paginator": paginator_entry(pag.get(op_name)),
            }
            if shape is not None:
                raw_ref = full["operations"][op_name]["output"]
                check_traits(f"{key}.{op_name}.output", raw_ref)
                if protocol == "query":
                    entry["resultWrapper"] = shape.serialization.get("resultWrapper")
                if shape.type_name != "structure":
                    raise SystemExit(f"gen_aws_shapes: {op_name}: output is not a structure")
                walker.visit(shape)
            svc["operations"][op_name] = entry
        svc["shapes"] = walker.shapes
        out["services"][key] = svc
    return out


def render_json(doc):
    """Compact JSON, sorted keys, one shape / operation per line."""
    def c(v):
        return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    lines = ["{", f'"botocore":{c(doc["botocore"])},', f'"format":{c(doc["format"])},', '"services":{']
    skeys = sorted(doc["services"])
    for si, sk in enumerate(skeys):
        svc = doc["services"][sk]
        lines.append(f"{c(sk)}:{{")
        scalar_keys = sorted(k for k in svc if k not in ("operations", "shapes"))
        for k in scalar_keys:
            lines.append(f"{c(k)}:{c(svc[k])},")
        lines.append('"operations":{')
        onames = sorted(svc["operations"])
        for i, on in enumerate(onames):
            lines.append(f"{c(on)}:{c(svc['operations'][on])}" + ("," if i < len(onames) - 1 else ""))
        lines.append("},")
        lines.append('"shapes":{')
        shnames = sorted(svc["shapes"])
        for i, sh in enumerate(shnames):
            lines.append(f"{c(sh)}:{c(svc['shapes'][sh])}" + ("," if i < len(shnames) - 1 else ""))
        lines.append("}")
        lines.append("}" + ("," if si < len(skeys) - 1 else ""))
    lines.append("}")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == json.loads(c(doc))  # same document, just laid out
    return text


def render_swift(doc):
    body = render_json(doc)
    # A #"""...."""# literal cannot contain these; valid JSON never does,
    # but check rather than emit a file that does not compile.
    if '"""#' in body or "\\#" in body:
        raise SystemExit("gen_aws_shapes: JSON contains a raw-string delimiter")
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    n_shapes = sum(len(s["shapes"]) for s in doc["services"].values())
    n_ops = sum(len(s["operations"]) for s in doc["services"].values())
    header = [
        "// GENERATED FILE, DO NOT EDIT.",
        "// Generated by tools/gen_aws_shapes.py from the service models of botocore "
        f"{doc['botocore']}:",
    ]
    for sk in sorted(doc["services"]):
        s = doc["services"][sk]
        header.append(f"//   {sk}: botocore/data/{s['model']} ({s['protocol']})")
    header += [
        f"// {n_ops} operations, {n_shapes} structure/list/map shapes; JSON sha256 {digest}.",
        "// Regenerate: python3 tools/gen_aws_shapes.py --out Sources/Shared/AWSModel/AWSShapes+Generated.swift",
        "//",
        FORMAT_DOC.replace("FORMAT_ID", FORMAT),
        "",
        "enum AWSShapesGenerated {",
        "    static let json = #\"\"\"",
    ]
    return "\n".join(header) + "\n" + body + "\"\"\"#\n}\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="write here instead of stdout (only if changed)")
    ap.add_argument("--json", action="store_true", help="print the bare JSON document")
    ap.add_argument("--check", action="store_true", help="with --out: exit 1 if the file differs")
    args = ap.parse_args(argv)
    doc = build()
    text = render_json(doc) if args.json else render_swift(doc)
    if args.out:
        old = None
        if os.path.exists(args.out):
            with open(args.out, encoding="utf-8") as f:
                old = f.read()
        if args.check:
            if old != text:
                print(f"{args.out} is stale: run python3 tools/gen_aws_shapes.py --out {args.out}",
                      file=sys.stderr)
                return 1
            return 0
        if old != text:
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            tmp = args.out + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, args.out)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
