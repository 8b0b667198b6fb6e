#!/usr/bin/env python3
"""Reference AWS SigV4 signer backed by botocore, for cloudspool's Swift tests.

    python3 botocore_sign.py < requests.json > signed.json
    python3 botocore_sign.py --selftest

Input (stdin): a JSON array of request objects:

    {
      "method": "GET",                       # required
      "url": "https://host/path?query",      # required; path and query exactly
                                             # as sent on the wire (already
                                             # percent-encoded)
      "headers": {"host": "...", ...},       # optional; signed as given
                                             # (except botocore's blacklist)
      "body_base64": "..." | null,           # optional; absent/null/"" = no body
      "service": "s3",                       # required; "s3" -> S3SigV4Auth,
                                             # anything else -> SigV4Auth
      "region": "eu-west-1",                 # required
      "access_key": "AKID...",               # required
      "secret_key": "...",                   # required
      "session_token": "..." | null,         # optional
      "timestamp": "20261128T101500Z",       # required; the signing time
      "unsigned_payload": false              # optional, default false
    }

Output (stdout): a JSON array with one object per request, same order:

    {
      "authorization": "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...",
      "x-amz-date": "20261128T101500Z",
      "x-amz-content-sha256": "<hex>" | "UNSIGNED-PAYLOAD" | null,
      "x-amz-security-token": "..." | null,
      "canonical_request": "...",
      "string_to_sign": "...",
      "signed_headers": "host;x-amz-date",
      "signature": "<hex>",
      "headers": [["Name", "value"], ...]    # every header on the request
                                             # after signing, botocore's order
    }

x-amz-content-sha256 is set whenever botocore put that header on the request:
always for s3, and for other services only when unsigned_payload is true.
The exit status is 0 on success; a malformed request makes the script print a
message on stderr and exit 2.

unsigned_payload forces the payload-signing decision (botocore normally
derives it from the scheme, Content-MD5 and streaming flags): true gives the
literal "UNSIGNED-PAYLOAD" as the payload hash (and the x-amz-content-sha256
header), false gives the hex SHA-256 of the body.
"""

import base64
import datetime
import json
import sys
from unittest import mock

import botocore
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"


class _Recorder:
    """Mixin that keeps what add_auth computed, and lets the caller decide
    whether the payload is signed."""

    force_sign_payload = True
    last_canonical_request = None
    last_string_to_sign = None

    def canonical_request(self, request):
        value = super().canonical_request(request)
        self.last_canonical_request = value
        return value

    def string_to_sign(self, request, canonical_request):
        value = super().string_to_sign(request, canonical_request)
        self.last_string_to_sign = value
        return value

    def _should_sha256_sign_payload(self, request):
        return self.force_sign_payload


class RecordingSigV4Auth(_Recorder, botocore.auth.SigV4Auth):
    pass


class RecordingS3SigV4Auth(_Recorder, botocore.auth.S3SigV4Auth):
    pass


def _frozen_clock(now):
    """Make botocore sign at `now` (naive UTC datetime)."""
    if hasattr(botocore.auth, "get_current_datetime"):
        # botocore >= 1.33 asks botocore.compat.get_current_datetime(),
        # imported into botocore.auth.
        return mock.patch.object(
            botocore.auth, "get_current_datetime", return_value=now
        )
    # Older botocore calls datetime.datetime.utcnow() in botocore.auth.
    fake = mock.Mock(wraps=datetime.datetime)
    fake.utcnow.return_value = now
    return mock.patch.object(botocore.auth.datetime, "datetime", fake)


def _require(spec, key, kind=str):
    if key not in spec or not isinstance(spec[key], kind):
        raise ValueError("request field %r missing or not %s" % (key, kind.__name__))
    return spec[key]


def sign(spec):
    method = _require(spec, "method")
    url = _require(spec, "url")
    service = _require(spec, "service")
    region = _require(spec, "region")
    access_key = _require(spec, "access_key")
    secret_key = _require(spec, "secret_key")
    timestamp = _require(spec, "timestamp")
    token = spec.get("session_token") or None
    headers = spec.get("headers") or {}
    if not isinstance(headers, dict):
        raise ValueError("headers must be a JSON object")
    body_b64 = spec.get("body_base64") or ""
    body = base64.b64decode(body_b64, validate=True) if body_b64 else b""
    unsigned = bool(spec.get("unsigned_payload", False))
    now = datetime.datetime.strptime(timestamp, SIGV4_TIMESTAMP)

    request = AWSRequest(method=method, url=url, data=body or None)
    for name, value in headers.items():
        request.headers[name] = value
    if unsigned:
        # What botocore's operation models pass for unsigned-payload operations;
        # the generic signer then adds "X-Amz-Content-SHA256: UNSIGNED-PAYLOAD".
        request.context["payload_signing_enabled"] = False

    cls = RecordingS3SigV4Auth if service == "s3" else RecordingSigV4Auth
    signer = cls(Credentials(access_key, secret_key, token), service, region)
    signer.force_sign_payload = not unsigned
    with _frozen_clock(now):
        signer.add_auth(request)

    authorization = request.headers["Authorization"]
    return {
        "authorization": authorization,
        "x-amz-date": request.headers.get("X-Amz-Date"),
        "x-amz-content-sha256": request.headers.get("X-Amz-Content-SHA256"),
        "x-amz-security-token": request.headers.get("X-Amz-Security-Token"),
        "canonical_request": signer.last_canonical_request,
        "string_to_sign": signer.last_string_to_sign,
        "signed_headers": authorization.split("SignedHeaders=", 1)[1].split(",", 1)[0],
        "signature": authorization.rsplit("Signature=", 1)[1],
        "headers": [[k, v] for k, v in request.headers.items()],
    }


SELFTEST_REQUESTS = [
    {
        "method": "GET",
        "url": "http://127.0.0.1:5000/bucket/some%20key?list-type=2&prefix=a%2Fb",
        "headers": {"host": "127.0.0.1:5000"},
        "body_base64": None,
        "service": "s3",
        "region": "eu-west-1",
        "access_key": "AKIDEXAMPLE",
        "secret_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "session_token": None,
        "timestamp": "20261128T101500Z",
        "unsigned_payload": False,
    },
    {
        # The AWS test suite's get-vanilla case: the expected Authorization is
        # the published one, so this also checks the clock freezing.
        "method": "GET",
        "url": "https://example.amazonaws.com/",
        "headers": {"Host": "example.amazonaws.com"},
        "service": "service",
        "region": "us-east-1",
        "access_key": "AKIDEXAMPLE",
        "secret_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "timestamp": "20150830T123600Z",
    },
]
SELFTEST_GET_VANILLA_AUTHZ = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
    "aws4_request, SignedHeaders=host;x-amz-date, Signature="
    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
)


def main(argv):
    if "--selftest" in argv:
        out = [sign(r) for r in SELFTEST_REQUESTS]
        print("botocore %s" % botocore.__version__)
        print(json.dumps(out, indent=2, ensure_ascii=False))
        ok = out[1]["authorization"] == SELFTEST_GET_VANILLA_AUTHZ
        print("get-vanilla matches the AWS test suite: %s" % ok)
        return 0 if ok else 1
    try:
        specs = json.load(sys.stdin)
        if not isinstance(specs, list):
            raise ValueError("input must be a JSON array of requests")
        out = [sign(s) for s in specs]
    except (ValueError, KeyError, TypeError) as exc:
        print("botocore_sign.py: %s" % exc, file=sys.stderr)
        return 2
    json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
