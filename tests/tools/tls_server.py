#!/usr/bin/env python3
"""tls_server.py — an HTTPS stand-in for DynamoDB and a JWKS endpoint, for the TLS tests.

Binds 127.0.0.1 on an ephemeral port with --cert/--key (PEM), prints the port on its first
stdout line, and answers POST (any path) with {"TableNames": ["tls-table"]} (a DynamoDB
ListTables reply; POST /close also closes the connection after answering) and GET <path
ending in jwks.json> with {"keys": []}. It counts the HTTP requests it answered (a client
that refused the certificate never sends one), the TLS connections and how many of them
resumed an earlier session. It exits when its stdin closes or after 120 s.

Commands, one per stdin line, each answered with one stdout line:
  count        number of HTTP requests answered so far   -> "count N"
  conns        TLS connections, resumed ones             -> "conns N resumed M"
Anything else answers "error unknown command".
"""
import argparse
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
COUNT = [0]
CONNS = [0, 0]  # connections, resumed


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the test reads stdout
        pass

    def setup(self):
        super().setup()
        with LOCK:
            CONNS[0] += 1
            CONNS[1] += 1 if self.connection.session_reused else 0

    def reply(self, body, ctype):
        with LOCK:
            COUNT[0] += 1
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if self.path == "/close":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(min(n, 1 << 20))
        self.reply(b'{"TableNames":["tls-table"]}', "application/x-amz-json-1.0")

    def do_GET(self):
        if self.path.endswith("jwks.json"):
            self.reply(b'{"keys":[]}', "application/json")
        else:
            self.send_error(404)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # refused handshakes are the point of the tests


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    a = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    srv = Server(("127.0.0.1", 0), Handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    threading.Timer(120, lambda: os._exit(0)).start()
    print(srv.server_address[1], flush=True)
    deadline = time.time() + 120
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "count":
            with LOCK:
                print("count %d" % COUNT[0], flush=True)
        elif cmd == "conns":
            with LOCK:
                print("conns %d resumed %d" % (CONNS[0], CONNS[1]), flush=True)
        else:
            print("error unknown command", flush=True)
        if time.time() > deadline:
            break
    srv.shutdown()


if __name__ == "__main__":
    main()
