#!/usr/bin/env python3
"""fault_server.py — a local stand-in for an AWS JSON endpoint that misbehaves on purpose.

Binds 127.0.0.1 on an ephemeral port, prints the port on its first line, and serves until
its stdin closes or a hard time limit passes. The request path picks the scenario; state is
kept per path, so each test uses a fresh path (e.g. /<uuid>/throttle/2):

  /.../ok                      200 {"Count": n}
  /.../throttle/N              N x 400 ThrottlingException, then 200 {"Count": n}
  /.../throttle-forever        always 400 ThrottlingException
  /.../error500/N              N x 500 InternalServerError, then 200
  /.../validation              400 ValidationException (never retried by a correct client)
  /.../conditional             400 ConditionalCheckFailedException
  /.../hang/MS                 sleeps MS milliseconds before answering 200
  /.../reset/N                 N x close the connection without an answer, then 200
  /.../badcrc/N                N x 200 with a wrong x-amz-crc32, then a right one
  /.../html                    502 with an HTML body (a proxy error page)
  /.../big/BYTES               200 with a JSON body of about BYTES bytes
  /.../cancel                  400 TransactionCanceledException with reasons
n is the number of requests this path has seen.
"""
import json
import os
import socket
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COUNTS = {}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def send_json(self, status, obj, crc_ok=True):
        body = json.dumps(obj).encode()
        crc = zlib.crc32(body) & 0xFFFFFFFF
        if not crc_ok:
            crc ^= 0xDEADBEEF
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amz-crc32", str(crc))
        self.send_header("x-amzn-RequestId", "fault-%d" % self.count)
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, typ, msg):
        self.send_json(status, {"__type": "com.amazonaws.dynamodb.v20120810#" + typ,
                                "message": msg})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if not self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 Credential="):
            self.error(400, "MissingAuthenticationTokenException", "unsigned request")
            return
        path = self.path
        with LOCK:
            COUNTS[path] = COUNTS.get(path, 0) + 1
            self.count = COUNTS[path]
        parts = path.strip("/").split("/")
        # the scenario is the last one or two segments
        name, arg = parts[-1], None
        if len(parts) >= 2 and parts[-1].isdigit():
            name, arg = parts[-2], int(parts[-1])
        n = self.count
        if name == "ok":
            self.send_json(200, {"Count": n})
        elif name == "throttle":
            if n <= arg:
                self.error(400, "ThrottlingException", "Rate exceeded")
            else:
                self.send_json(200, {"Count": n})
        elif name == "throttle-forever":
            self.error(400, "ProvisionedThroughputExceededException", "slow down")
        elif name == "error500":
            if n <= arg:
                self.error(500, "InternalServerError", "boom")
            else:
                self.send_json(200, {"Count": n})
        elif name == "validation":
            self.error(400, "ValidationException", "One or more parameter values were invalid")
        elif name == "conditional":
            self.error(400, "ConditionalCheckFailedException", "The conditional request failed")
        elif name == "hang":
            time.sleep(arg / 1000.0)
            self.send_json(200, {"Count": n})
        elif name == "reset":
            if n <= arg:
                self.connection.shutdown(socket.SHUT_RDWR)
                self.connection.close()
                self.close_connection = True
                return
            self.send_json(200, {"Count": n})
        elif name == "badcrc":
            self.send_json(200, {"Count": n}, crc_ok=n > arg)
        elif name == "html":
            body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif name == "big":
            self.send_json(200, {"Count": n, "Pad": "x" * arg})
        elif name == "cancel":
            self.send_json(400, {
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "message": "Transaction cancelled, please refer cancellation reasons for "
                           "specific reasons [None, ConditionalCheckFailed]",
                "CancellationReasons": [{"Code": "None"},
                                        {"Code": "ConditionalCheckFailed",
                                         "Message": "The conditional request failed"}]})
        else:
            self.error(400, "UnknownScenario", path)


def main():
    limit = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    stdin_closed = threading.Event()

    def watch_stdin():
        sys.stdin.read()
        stdin_closed.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    stdin_closed.wait(timeout=limit)
    os._exit(0)


if __name__ == "__main__":
    main()
