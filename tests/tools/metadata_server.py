#!/usr/bin/env python3
"""metadata_server.py — a local stand-in for the ECS container credentials endpoint and EC2
IMDSv2, for the credentials tests.

Binds 127.0.0.1 on an ephemeral port and prints the port as the first line of stdout. Then
reads commands on stdin, one a line, and answers each with one line on stdout:

  expires_in N             Expiration of the credentials handed out: now + N seconds (def. 3600)
  mode container|imds M    how that endpoint answers: ok, garbage (not JSON), error500,
                           badsecret (a control character in SecretAccessKey), expired,
                           failcode (IMDS Code "Failure"), norole (IMDS: 404 for the role list)
  auth VALUE|-             the Authorization header the container endpoint demands (- none)
  stats                    "requests=N container=N token_puts=N imds_creds=N unauthorized=N"

Endpoints: GET /creds... (container); PUT /latest/api/token (needs
X-aws-ec2-metadata-token-ttl-seconds), GET /latest/meta-data/iam/security-credentials/ and
.../test-role (need a token from the PUT: 401 otherwise). Every credentials answer carries a new
AccessKeyId (ASIACONTAINER0001, ASIAIMDS0001, ...), so rotation is visible.

Exits when stdin closes or after --max-seconds (default 120), so it never outlives a test.
Python standard library only.
"""

import argparse
import datetime
import http.server
import json
import os
import secrets
import sys
import threading

ROLE = "test-role"
CREDS_PATH = "/latest/meta-data/iam/security-credentials/"


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.expires_in = 3600
        self.mode = {"container": "ok", "imds": "ok"}
        self.auth = None
        self.tokens = set()
        self.counts = {"requests": 0, "container": 0, "token_puts": 0, "imds_creds": 0,
                       "unauthorized": 0}
        self.serial = {"container": 0, "imds": 0}

    def count(self, name):
        with self.lock:
            self.counts[name] += 1


STATE = State()


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def credentials(kind):
    """The answer body for kind ("container" or "imds"), or (status, body) for a failure."""
    with STATE.lock:
        mode = STATE.mode[kind]
        STATE.serial[kind] += 1
        n = STATE.serial[kind]
        expires_in = STATE.expires_in
    if mode == "garbage":
        return 200, b"this is {not json"
    if mode == "error500":
        return 500, b'{"message":"internal error"}'
    tag = "CONTAINER" if kind == "container" else "IMDS"
    now = datetime.datetime.now(datetime.timezone.utc).timestamp()
    doc = {
        "AccessKeyId": "ASIA%s%04d" % (tag, n),
        "SecretAccessKey": "%sSecret%04d/abcDEF+ghiJKL" % (kind, n),
        "Token": "%sToken%04d+%s" % (kind, n, "x" * 64),
        "Expiration": iso(now + (expires_in if mode != "expired" else -60)),
    }
    if kind == "imds":
        doc = dict({"Code": "Failure" if mode == "failcode" else "Success",
                    "LastUpdated": iso(now), "Type": "AWS-HMAC"}, **doc)
    if mode == "badsecret":
        doc["SecretAccessKey"] = "%sSecret%04d\u0001/abc" % (kind, n)
    return 200, json.dumps(doc).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the test's output is TAP
        pass

    def answer(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def imds_token_ok(self):
        tok = self.headers.get("X-aws-ec2-metadata-token")
        with STATE.lock:
            ok = tok is not None and tok in STATE.tokens
        if not ok:
            STATE.count("unauthorized")
        return ok

    def do_PUT(self):
        STATE.count("requests")
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path != "/latest/api/token":
            return self.answer(404, b"not found", "text/plain")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self.answer(400, b"bad ttl", "text/plain")
        STATE.count("token_puts")
        tok = secrets.token_urlsafe(32)
        with STATE.lock:
            STATE.tokens.add(tok)
        self.answer(200, tok.encode(), "text/plain")

    def do_GET(self):
        STATE.count("requests")
        if self.path.startswith("/creds"):
            STATE.count("container")
            with STATE.lock:
                want = STATE.auth
            if want is not None and self.headers.get("Authorization") != want:
                STATE.count("unauthorized")
                return self.answer(401, b'{"message":"unauthorized"}')
            return self.answer(*credentials("container"))
        if self.path == CREDS_PATH:
            if not self.imds_token_ok():
                return self.answer(401, b"", "text/plain")
            with STATE.lock:
                norole = STATE.mode["imds"] == "norole"
            if norole:
                return self.answer(404, b"not found", "text/plain")
            return self.answer(200, ROLE.encode(), "text/plain")
        if self.path == CREDS_PATH + ROLE:
            if not self.imds_token_ok():
                return self.answer(401, b"", "text/plain")
            STATE.count("imds_creds")
            return self.answer(*credentials("imds"))
        self.answer(404, b"not found", "text/plain")


def command(line):
    words = line.split()
    if not words:
        return "error empty"
    with STATE.lock:
        if words[0] == "expires_in" and len(words) == 2:
            STATE.expires_in = int(words[1])
        elif words[0] == "mode" and len(words) == 3 and words[1] in STATE.mode:
            STATE.mode[words[1]] = words[2]
        elif words[0] == "auth" and len(words) >= 2:
            value = line.strip()[len("auth"):].strip()
            STATE.auth = None if value == "-" else value
        elif words[0] == "stats":
            return " ".join("%s=%d" % kv for kv in STATE.counts.items())
        else:
            return "error unknown command"
    return "ok"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-seconds", type=float, default=120.0)
    args = ap.parse_args()

    # The hard limit: whatever happens to the test, this process goes away.
    limit = threading.Timer(args.max_seconds, lambda: os._exit(0))
    limit.daemon = True
    limit.start()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdout.write("%d\n" % server.server_address[1])
    sys.stdout.flush()

    for line in sys.stdin:
        try:
            reply = command(line)
        except ValueError:
            reply = "error bad value"
        sys.stdout.write(reply + "\n")
        sys.stdout.flush()
    os._exit(0)  # stdin closed: the test is done


if __name__ == "__main__":
    main()
