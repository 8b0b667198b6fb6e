#!/usr/bin/env python3
"""Writes digest_vectors.json: two chained CloudTrail digest files in the format AWS documents, signed
with python `cryptography` (RSA 2048, PKCS #1 v1.5, SHA-256) -- an implementation independent of the
one under test -- with the public key as cloudtrail ListPublicKeys returns it (DER PKCS #1, base64).

    python3 make_fixture.py      (run once; the output is committed)
"""
import base64
import gzip
import hashlib
import json
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
fingerprint = hashlib.md5(der).hexdigest()
bucket = "cloudtraillogs"
root = "AWSLogs/o-abcdefghij/111111111111"
log_body = json.dumps({"Records": [{"eventVersion": "1.09", "eventTime": "2026-11-28T09:12:00Z", "eventID": "e-1"}]}).encode()
log_key = f"{root}/CloudTrail/eu-west-1/2026/11/28/111111111111_CloudTrail_eu-west-1_20261128T0915Z_abcdefghijklmnop.json.gz"


def digest(end, start, previous):
    key = (f"{root}/CloudTrail-Digest/eu-west-1/2026/11/28/111111111111_CloudTrail-Digest_eu-west-1_org-trail_eu-west-1_"
           f"{end.replace('-', '').replace(':', '')}.json.gz")
    doc = {"awsAccountId": "111111111111", "digestStartTime": start, "digestEndTime": end, "digestS3Bucket": bucket,
           "digestS3Object": key, "digestPublicKeyFingerprint": fingerprint, "digestSignatureAlgorithm": "SHA256withRSA",
           "newestEventTime": None, "oldestEventTime": None,
           "previousDigestS3Bucket": bucket if previous else None,
           "previousDigestS3Object": previous["key"] if previous else None,
           "previousDigestHashValue": previous["hash"] if previous else None,
           "previousDigestHashAlgorithm": "SHA-256" if previous else None,
           "previousDigestSignature": previous["signature"] if previous else None,
           "logFiles": [] if previous is None else [{"s3Bucket": bucket, "s3Object": log_key,
                                                     "hashValue": hashlib.sha256(log_body).hexdigest(), "hashAlgorithm": "SHA-256",
                                                     "newestEventTime": "2026-11-28T09:12:00Z", "oldestEventTime": "2026-11-28T09:12:00Z"}]}
    raw = json.dumps(doc, indent=2).encode()
    text = f"{end}\n{bucket}/{key}\n{hashlib.sha256(raw).hexdigest()}\n{previous['signature'] if previous else 'null'}"
    signature = key_sign(text.encode())
    return {"key": key, "uncompressed": raw.decode(), "hash": hashlib.sha256(raw).hexdigest(), "signature": signature,
            "signed_text": text}


def key_sign(data):
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256()).hex()


first = digest("2026-11-28T09:00:00Z", "2026-11-28T08:00:00Z", None)
second = digest("2026-11-28T10:00:00Z", "2026-11-28T09:00:00Z", first)
out = {"bucket": bucket, "public_key_der_base64": base64.b64encode(der).decode(), "fingerprint": fingerprint,
       "list_public_keys_answer": json.dumps({"PublicKeyList": [{"Value": base64.b64encode(der).decode(),
                                                                  "ValidityStartTime": 1795000000, "ValidityEndTime": 1799000000,
                                                                  "Fingerprint": fingerprint}]}),
       "log_key": log_key, "log_gzip_base64": base64.b64encode(gzip.compress(log_body, mtime=0)).decode(),
       "digests": [first, second]}
Path(__file__).with_name("digest_vectors.json").write_text(json.dumps(out, indent=2) + "\n")
