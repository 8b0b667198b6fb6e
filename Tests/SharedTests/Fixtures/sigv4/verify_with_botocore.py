#!/usr/bin/env python3
"""Check the AWS SigV4 test-suite fixtures in this folder against botocore.

Usage:  python3 verify_with_botocore.py [-v]

For every <case>/<case>.req in this folder the request is parsed, signed with
botocore.auth.SigV4Auth (service "service", region "us-east-1", access key
AKIDEXAMPLE, date 20150830T123600Z) and botocore's canonical request, string to
sign and Authorization header are compared with <case>.creq, <case>.sts and
<case>.authz.  Before that, each case's expected files are checked for internal
consistency (sha256(creq) is the last line of sts, HMAC of sts is the
signature in authz, SignedHeaders of creq and authz agree).

Cases where botocore is known to disagree with the suite are listed in
KNOWN_BOTOCORE_DISAGREEMENTS with the reason; the script exits 1 if any other
case fails or if a known disagreement unexpectedly passes (so the list stays
honest), else 0.

Not used by the Swift tests; it documents how the fixtures were vetted.
"""

import datetime
import hashlib
import hmac
import os
import sys
from unittest import mock
from urllib.parse import parse_qsl, urlsplit

import botocore
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HERE = os.path.dirname(os.path.abspath(__file__))
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
SERVICE = "service"
TIMESTAMP = "20150830T123600Z"
FIXED_NOW = datetime.datetime(2015, 8, 30, 12, 36, 0)

# The session token used by the post-sts-token cases (from the suite's
# post-sts-token readme, same value as in post-sts-header-before.req).
STS_TOKEN = (
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWs"
    "KWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmG"
    "deehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvl"
    "Rd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKm"
    "lzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
)

KNOWN_BOTOCORE_DISAGREEMENTS = {
    "get-header-value-multiline": (
        "obs-fold continuation lines: botocore sees one header value "
        "'value1 value2 value3' (folds joined with a space, then whitespace "
        "collapsed); the suite expects the folded lines joined with ','."
    ),
}


def frozen_clock():
    """Freeze botocore's notion of 'now' the way its own tests do."""
    if hasattr(botocore.auth, "get_current_datetime"):
        return mock.patch.object(
            botocore.auth, "get_current_datetime", return_value=FIXED_NOW
        )
    fake = mock.Mock(wraps=datetime.datetime)
    fake.utcnow.return_value = FIXED_NOW
    return mock.patch.object(botocore.auth.datetime, "datetime", fake)


def read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8")


def parse_req(raw):
    """Parse a suite .req file: request line, headers (with obs-fold
    continuation lines), blank line, body.  Accepts \\n or \\r\\n."""
    lines = raw.replace("\r\n", "\n").split("\n")
    request_line = lines[0]
    method, rest = request_line.split(" ", 1)
    uri, _version = rest.rsplit(" ", 1)
    headers = []
    i = 1
    while i < len(lines) and lines[i] != "":
        line = lines[i]
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip())
        else:
            name, value = line.split(":", 1)
            headers.append((name, value))
        i += 1
    body = "\n".join(lines[i + 1:]) if i < len(lines) else ""
    return method, uri, headers, body


def build_request(method, uri, headers):
    host = next(v.strip() for n, v in headers if n.lower() == "host")
    path, _, query = uri.partition("?")
    request = AWSRequest()
    request.method = method
    request.url = "https://%s%s" % (host, path)
    if query:
        # Like botocore's own suite runner: hand the query over as params so
        # botocore percent-encodes it (the suite's .req query is not encoded).
        request.params = parse_qsl(query, keep_blank_values=True)
    for name, value in headers:
        request.headers[name] = value  # HTTPHeaders keeps repeated names
    return request


def self_consistency(creq, sts, authz):
    problems = []
    if sts.split("\n")[-1] != hashlib.sha256(creq.encode("utf-8")).hexdigest():
        problems.append("sts hash != sha256(creq)")
    k = ("AWS4" + SECRET_KEY).encode()
    for part in (TIMESTAMP[:8], REGION, SERVICE, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode("utf-8"), hashlib.sha256).hexdigest()
    if not authz.endswith("Signature=" + sig):
        problems.append("authz signature != HMAC(sts)")
    creq_signed = creq.split("\n")[-2]
    if "SignedHeaders=%s," % creq_signed not in authz:
        problems.append("SignedHeaders in authz != creq")
    return problems


def check_case(name):
    d = os.path.join(HERE, name)
    raw = read(os.path.join(d, name + ".req"))
    creq = read(os.path.join(d, name + ".creq"))
    sts = read(os.path.join(d, name + ".sts"))
    authz = read(os.path.join(d, name + ".authz"))
    problems = self_consistency(creq, sts, authz)
    if problems:
        return "INCONSISTENT", problems

    method, uri, headers, body = parse_req(raw)
    request = build_request(method, uri, headers)
    if body:
        request.data = body.encode("utf-8")
    # The token of post-sts-header-before is already a request header; for
    # post-sts-header-after the suite adds it only after signing, so neither
    # case passes a token in the credentials (see README for what botocore
    # does when it has one).
    auth = botocore.auth.SigV4Auth(
        Credentials(ACCESS_KEY, SECRET_KEY), SERVICE, REGION
    )
    request.context["timestamp"] = TIMESTAMP
    got_creq = auth.canonical_request(request)
    got_sts = auth.string_to_sign(request, got_creq)
    with frozen_clock():
        auth.add_auth(request)
    got_authz = request.headers["Authorization"]
    diffs = []
    for label, got, want in (
        ("creq", got_creq, creq),
        ("sts", got_sts, sts),
        ("authz", got_authz, authz),
    ):
        if got != want:
            diffs.append("%s: botocore %r != suite %r" % (label, got, want))
    return ("OK" if not diffs else "BOTOCORE-DIFFERS"), diffs


def token_in_credentials_demo():
    """botocore always signs X-Amz-Security-Token when it has a token."""
    raw = read(os.path.join(HERE, "post-sts-header-after",
                            "post-sts-header-after.req"))
    method, uri, headers, _ = parse_req(raw)
    request = build_request(method, uri, headers)
    auth = botocore.auth.SigV4Auth(
        Credentials(ACCESS_KEY, SECRET_KEY, STS_TOKEN), SERVICE, REGION
    )
    with frozen_clock():
        auth.add_auth(request)
    want = read(os.path.join(HERE, "post-sts-header-before",
                             "post-sts-header-before.authz"))
    return request.headers["Authorization"] == want


def main():
    verbose = "-v" in sys.argv[1:]
    names = sorted(
        n for n in os.listdir(HERE)
        if os.path.isfile(os.path.join(HERE, n, n + ".req"))
    )
    print("botocore %s, %d cases" % (botocore.__version__, len(names)))
    failed = []
    for name in names:
        status, details = check_case(name)
        known = name in KNOWN_BOTOCORE_DISAGREEMENTS
        mark = ""
        if status == "BOTOCORE-DIFFERS" and known:
            mark = " (known: %s)" % KNOWN_BOTOCORE_DISAGREEMENTS[name]
        elif status != "OK" or known:
            failed.append(name)
            mark = " <-- UNEXPECTED %s" % details
        print("%-40s %s%s" % (name, status, mark))
        if verbose and status != "OK":
            for line in details:
                print("    " + line)
    ok = token_in_credentials_demo()
    print("post-sts-header-after signed with the token in the credentials "
          "equals post-sts-header-before.authz: %s" % ok)
    if not ok:
        failed.append("token-in-credentials")
    print("%d passed, %d failed" % (len(names) + 1 - len(failed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
