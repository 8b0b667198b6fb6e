"""A loopback stand-in for the EC2 instance metadata service (IMDSv2), shaped
as AWS documents it: a session token from PUT /latest/api/token, then the
role name and its credentials, each only with the token."""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

TOKEN = "imds-session-token-1"
ROLE = "cloudspool-collector"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="text/plain"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self.reply(200, TOKEN)
        else:
            self.reply(400, "missing ttl header")

    def do_GET(self):
        if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
            self.reply(401, "")
            return
        if self.path == "/latest/meta-data/iam/security-credentials/":
            self.reply(200, ROLE)
        elif self.path == "/latest/meta-data/iam/security-credentials/" + ROLE:
            self.reply(200, json.dumps({
                "Code": "Success", "LastUpdated": "2026-11-28T10:00:00Z", "Type": "AWS-HMAC",
                "AccessKeyId": "ASIAIMDSEXAMPLE00001", "SecretAccessKey": "imds-secret",
                "Token": "imds-token", "Expiration": "2026-11-28T16:00:00Z",
            }), "application/json")
        else:
            self.reply(404, "")


if __name__ == "__main__":
    server = HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("ready", flush=True)
    server.serve_forever()
