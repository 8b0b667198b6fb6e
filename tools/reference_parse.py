#!/usr/bin/env python3
"""Reference parse: what `aws <service> <operation> --output json` prints for
a raw response body, computed with botocore's own parser.

This is the test oracle for cloudspool's transform. It reproduces AWS CLI v1
exactly:

* the parser of the protocol (botocore.parsers.create_parser), created with
  the defaults the CLI sets in awscli/customizations/scalarparse.py:
  timestamp_parser = identity (cli_timestamp_format "wire", the v1 default:
  a timestamp is printed as the text / number AWS sent) and blob_parser =
  identity (a blob stays the base64 text AWS sent);
* the "after-call.<service-id>.<Operation>" handlers of botocore and the CLI
  (for IAM, botocore's json_decode_policies turns url-encoded policy
  documents into objects), emitted on a real CLI session;
* pagination: the CLI paginates every operation that has a paginator (unless
  --no-paginate), and prints PageIterator.build_full_result(): only the
  paginator's result keys (and its non_aggregate_keys) survive, the tokens
  and every other top-level member are dropped. Pass the pages in order;
* ResponseMetadata dropped; json.dump(indent=4, ensure_ascii=False) and a
  newline, nothing at all for an empty result {} (awscli/formatter.py).

Usage:
    reference_parse.py SERVICE OPERATION FILE [FILE ...]
        SERVICE   endpoint prefix (ec2, monitoring, ...) or botocore/CLI name (cloudwatch)
        OPERATION the API name (DescribeInstances) or the CLI name (describe-instances)
        FILE      raw body of a page, byte for byte ("-" = stdin); several = successive pages
    options:
        --protocol P     parse as P (default: the one whose body this looks like: '<' -> the
                         service's XML protocol, else its JSON protocol)
        --no-paginate    like `aws ... --no-paginate`: the single page as parsed, tokens included
        --epoch-iso      (not the CLI) render numeric (epoch) timestamps as ISO 8601 UTC, see
                         epoch_to_iso(); this is what cloudspool's documents hold
        --sort-keys      sort object keys (the CLI keeps the model's member order)
        --status N       HTTP status of the response (default 200)

As a module:
    from reference_parse import reference_parse, render
    obj = reference_parse("ec2", "DescribeInstances", [body_bytes])
    text = render(obj)        # byte-identical to the CLI's stdout

Exit status: 0 ok, 2 usage, 3 the body cannot be parsed (as botocore would fail).
"""

import argparse
import datetime
import json
import sys
from decimal import Decimal

import botocore
from botocore import parsers
from botocore.loaders import Loader
from botocore.model import ServiceModel
from botocore.paginate import Paginator
from botocore import xform_name

# endpoint prefix (cloudspool's name) -> botocore service name (= CLI command)
SERVICE_ALIASES = {"monitoring": "cloudwatch"}
XML_PROTOCOLS = ("ec2", "query", "rest-xml")
JSON_PROTOCOLS = ("json", "rest-json")

_loader = None
_cli_session = None


class ReferenceParseError(Exception):
    pass


def identity(x):
    return x


def loader():
    global _loader
    if _loader is None:
        # botocore's bundled models only (not ~/.aws/models, not AWS_DATA_PATH)
        _loader = Loader(extra_search_paths=[Loader.BUILTIN_DATA_PATH],
                         include_default_search_paths=False)
    return _loader


def service_model(service):
    name = SERVICE_ALIASES.get(service, service)
    try:
        desc = loader().load_service_model(name, "service-2")
    except Exception as e:
        raise ReferenceParseError(f"unknown service {service!r}: {e}")
    return ServiceModel(desc, service_name=name)


def operation_model(model, operation):
    if operation in model.operation_names:
        return model.operation_model(operation)
    for name in model.operation_names:
        if xform_name(name, "-") == operation:
            return model.operation_model(name)
    raise ReferenceParseError(f"{model.service_name} has no operation {operation!r}")


def supported_protocols(model):
    md = model.metadata
    return list(md.get("protocols") or [md["protocol"]])


def choose_protocol(model, body):
    supported = supported_protocols(model)
    looks_xml = body.lstrip()[:1] == b"<"
    wanted = XML_PROTOCOLS if looks_xml else JSON_PROTOCOLS
    for p in supported:
        if p in wanted:
            return p
    raise ReferenceParseError(
        f"{model.service_name}: body looks like {'XML' if looks_xml else 'JSON'} "
        f"but the model speaks {supported}")


def cli_session():
    """The session `aws` itself builds: botocore's built-in handlers plus the
    CLI's customizations (so its after-call handlers run)."""
    global _cli_session
    if _cli_session is None:
        try:
            from awscli.clidriver import create_clidriver
            _cli_session = create_clidriver().session
        except Exception:  # the CLI is not installed: botocore's handlers only
            import botocore.session
            _cli_session = botocore.session.Session()
    return _cli_session


def parse_page(model, om, body, protocol, status=200):
    """botocore's parse of one response body, as the CLI's client returns it."""
    factory = parsers.ResponseParserFactory()
    factory.set_parser_defaults(timestamp_parser=identity, blob_parser=identity)
    parser = factory.create_parser(protocol)
    response = {"body": body, "headers": {}, "status_code": status,
                "context": {"operation_name": om.name}}
    try:
        parsed = parser.parse(response, om.output_shape)
    except Exception as e:  # ResponseParserError, KeyError (missing wrapper), ValueError (int(''))
        raise ReferenceParseError(f"botocore cannot parse this body: {type(e).__name__}: {e}")
    if status >= 300 or "Error" in parsed:
        raise ReferenceParseError(f"error response: {parsed.get('Error')}")
    # after-call handlers, as BaseClient._make_api_call emits them
    service_id = model.service_id.hyphenize()
    cli_session().emit(f"after-call.{service_id}.{om.name}", http_response=None,
                       parsed=parsed, model=om, context={})
    return parsed


def paginator_config(model, om):
    try:
        cfg = loader().load_service_model(model.service_name, "paginators-1",
                                          model.api_version)["pagination"]
    except Exception:
        return None
    return cfg.get(om.name)


def reference_parse(service, operation, bodies, protocol=None, paginate=True,
                    epoch_iso=False, status=200):
    """The object the CLI prints (before json.dump) for these response pages."""
    if isinstance(bodies, (bytes, bytearray)):
        bodies = [bytes(bodies)]
    if not bodies:
        raise ReferenceParseError("no response body given")
    model = service_model(service)
    om = operation_model(model, operation)
    proto = protocol or choose_protocol(model, bodies[0])
    if proto not in supported_protocols(model):
        raise ReferenceParseError(f"{model.service_name} does not speak {proto}")
    pages = [parse_page(model, om, b, proto, status) for b in bodies]
    cfg = paginator_config(model, om) if paginate else None
    if cfg is None:
        if len(pages) != 1:
            raise ReferenceParseError(f"{om.name} is not paginated here: give exactly one body")
        result = pages[0]
    else:
        calls = {"n": 0}

        def method(**kwargs):
            i = calls["n"]
            calls["n"] += 1
            if i >= len(pages):
                raise ReferenceParseError(
                    f"page {i} has a next-page token but only {len(pages)} page(s) were given "
                    "(pass the next page too, or use --no-paginate)")
            return pages[i]

        paginator = Paginator(method, cfg, om)
        result = paginator.paginate().build_full_result()
        if calls["n"] != len(pages):
            raise ReferenceParseError(
                f"the CLI would have stopped after {calls['n']} page(s), {len(pages)} were given")
    result.pop("ResponseMetadata", None)  # Formatter._remove_request_id
    if epoch_iso and proto in JSON_PROTOCOLS:
        result = _epoch_to_iso_walk(result, om.output_shape)
    return result


def epoch_to_iso(value):
    """An epoch-seconds number (int or float) as ISO 8601 UTC:
    'YYYY-MM-DDTHH:MM:SSZ' when it is whole seconds, else
    'YYYY-MM-DDTHH:MM:SS.fffZ' (rounded to the millisecond, always 3 digits).
    The rounding goes through the shortest decimal text of the number
    (repr), so 1600721744.488 gives .488, never .487999."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value  # a string timestamp is kept as AWS sent it
    d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    ms = int((d * 1000).quantize(Decimal(1), rounding="ROUND_HALF_EVEN"))
    secs, milli = divmod(ms, 1000)
    t = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=secs)
    base = t.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}Z" if milli == 0 else f"{base}.{milli:03d}Z"


def _epoch_to_iso_walk(value, shape):
    if value is None or shape is None:
        return value
    t = shape.type_name
    if t == "timestamp":
        return epoch_to_iso(value)
    if t == "structure" and isinstance(value, dict) and not shape.is_document_type:
        for name, member in shape.members.items():
            if name in value:
                value[name] = _epoch_to_iso_walk(value[name], member)
        return value
    if t == "list" and isinstance(value, list):
        return [_epoch_to_iso_walk(v, shape.member) for v in value]
    if t == "map" and isinstance(value, dict):
        return {k: _epoch_to_iso_walk(v, shape.value) for k, v in value.items()}
    return value


def _json_default(obj):
    # awscli.utils.json_encoder (only reachable if identity parsers were not used)
    if isinstance(obj, datetime.datetime):
        return obj.isoformat()
    if isinstance(obj, bytes):
        import base64
        return base64.b64encode(obj).decode("utf-8")
    raise TypeError("Encountered unrecognized type in JSON encoder.")


def render(obj, sort_keys=False):
    """Exactly what the CLI's JSONFormatter writes to stdout."""
    if obj == {}:
        return ""
    return json.dumps(obj, indent=4, default=_json_default, ensure_ascii=False,
                      sort_keys=sort_keys) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Print what `aws SERVICE OPERATION --output json` (AWS CLI v1) prints for raw response bodies.")
    ap.add_argument("service")
    ap.add_argument("operation")
    ap.add_argument("files", nargs="+", metavar="FILE")
    ap.add_argument("--protocol", choices=XML_PROTOCOLS + JSON_PROTOCOLS)
    ap.add_argument("--no-paginate", action="store_true")
    ap.add_argument("--epoch-iso", action="store_true")
    ap.add_argument("--sort-keys", action="store_true")
    ap.add_argument("--status", type=int, default=200)
    args = ap.parse_args(argv)
    bodies = []
    for f in args.files:
        if f == "-":
            bodies.append(sys.stdin.buffer.read())
        else:
            with open(f, "rb") as fh:
                bodies.append(fh.read())
    try:
        obj = reference_parse(args.service, args.operation, bodies, protocol=args.protocol,
                              paginate=not args.no_paginate, epoch_iso=args.epoch_iso,
                              status=args.status)
    except ReferenceParseError as e:
        print(f"reference_parse: {e}", file=sys.stderr)
        return 3
    try:
        out = render(obj, sort_keys=args.sort_keys)
    except (TypeError, ValueError) as e:
        # e.g. a scalar member repeated in XML: botocore hands back a list of
        # XML elements, and the CLI's json.dump fails the same way
        print(f"reference_parse: the parse is not printable (the CLI fails too): {e}", file=sys.stderr)
        return 3
    sys.stdout.buffer.write(out.encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
