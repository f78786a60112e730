#!/usr/bin/env python3
"""gsi_lag_proxy.py — DynamoDB Local with an index that lags, as a GSI on AWS may.

DynamoDB Local updates global secondary indexes synchronously; on AWS they are eventually
consistent, so a row written a moment ago may be missing from an index Query. This proxy
forwards every request to DynamoDB Local (LAG_PROXY_UPSTREAM, e.g. http://127.0.0.1:8000)
unchanged, except that while lagging it answers each Query with an IndexName as if the index
held nothing yet: 200 {"Items": [], "Count": 0, "ScannedCount": 0} with a right x-amz-crc32.
Table Queries (strongly or eventually consistent) and everything else pass through.

It can also hold every request of one operation for a while before forwarding it, and
counts how many of them were in flight at once: how a test sees that a client sends calls
concurrently (cruddur-streamd's appliers), whatever the machine's speed; and how many
actions the held TransactWriteItems carried in all (how many moves shared a transaction).

Binds 127.0.0.1 on an ephemeral port, prints the port on its first line, and serves until
its stdin closes or a hard time limit (LAG_PROXY_MAX_S, default 600 s) passes. Control:
  POST /_control/lag    {"on": true|false}   -> {"on": ...}
  POST /_control/hold   {"operation": "TransactWriteItems", "ms": 150}
                        (ms 0: no hold; resets the counts below)  -> {"operation": ..., "ms": n}
  GET  /_control/stats  -> {"hidden": n, "forwarded": n, "held": n, "peak_in_flight": n,
                            "actions": n}
"""
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UPSTREAM = urllib.parse.urlsplit(os.environ.get("LAG_PROXY_UPSTREAM", "http://127.0.0.1:8000"))
STATE = {"on": False, "hidden": 0, "forwarded": 0, "hold_op": "", "hold_ms": 0,
         "held": 0, "in_flight": 0, "peak_in_flight": 0, "actions": 0}
LOCK = threading.Lock()
PASS_HEADERS = ("content-type", "x-amz-crc32", "x-amzn-requestid")


def transact_actions(body):
    """The number of TransactItems in a request body (0 when it has none)."""
    try:
        items = json.loads(body or b"{}").get("TransactItems")
    except (ValueError, AttributeError):
        return 0
    return len(items) if isinstance(items, list) else 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def reply(self, status, body, headers):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def reply_json(self, obj):
        body = json.dumps(obj).encode()
        self.reply(200, body, [("Content-Type", "application/x-amz-json-1.0"),
                               ("x-amz-crc32", str(zlib.crc32(body) & 0xFFFFFFFF))])

    def control(self, body):
        name = self.path[len("/_control/"):]
        with LOCK:
            if name == "lag" and self.command == "POST":
                STATE["on"] = bool(json.loads(body or b"{}").get("on"))
                return self.reply_json({"on": STATE["on"]})
            if name == "hold" and self.command == "POST":
                req = json.loads(body or b"{}")
                STATE["hold_op"] = str(req.get("operation", ""))
                STATE["hold_ms"] = max(0, min(int(req.get("ms", 0)), 5000))
                STATE["held"] = STATE["in_flight"] = STATE["peak_in_flight"] = 0
                STATE["actions"] = 0
                return self.reply_json({"operation": STATE["hold_op"], "ms": STATE["hold_ms"]})
            if name == "stats":
                return self.reply_json({k: STATE[k] for k in
                                        ("hidden", "forwarded", "held", "peak_in_flight",
                                         "actions")})
        self.reply(404, b"{}", [("Content-Type", "application/json")])

    def forward(self, body):
        target = self.headers.get("X-Amz-Target", "")
        if target.endswith(".Query"):
            try:
                req = json.loads(body or b"{}")
            except ValueError:
                req = {}
            with LOCK:
                lag = STATE["on"] and "IndexName" in req
                if lag:
                    STATE["hidden"] += 1
            if lag:
                return self.reply_json({"Items": [], "Count": 0, "ScannedCount": 0})
        with LOCK:
            STATE["forwarded"] += 1
            hold = (STATE["hold_ms"] if STATE["hold_op"] and
                    target.endswith("." + STATE["hold_op"]) else 0)
            if hold:
                STATE["held"] += 1
                STATE["actions"] += transact_actions(body)
                STATE["in_flight"] += 1
                STATE["peak_in_flight"] = max(STATE["peak_in_flight"], STATE["in_flight"])
        try:
            if hold:
                time.sleep(hold / 1000.0)
            self.pass_on(body)
        finally:
            if hold:
                with LOCK:
                    STATE["in_flight"] -= 1

    def pass_on(self, body):
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            conn.request(self.command, self.path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            self.reply(r.status, data, [(k, v) for k, v in r.getheaders()
                                        if k.lower() in PASS_HEADERS])
        finally:
            conn.close()

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/_control/"):
            return self.control(body)
        return self.forward(body)

    do_GET = handle_any
    do_POST = handle_any


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    deadline = time.time() + float(os.environ.get("LAG_PROXY_MAX_S", "600"))
    # Serve until stdin closes (the test ended) or the time limit passes.
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    while time.time() < deadline:
        time.sleep(0.5)
    os._exit(0)


if __name__ == "__main__":
    main()
