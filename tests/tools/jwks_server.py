#!/usr/bin/env python3
"""jwks_server.py — a local stand-in for a Cognito pool's JWKS endpoint, for the auth tests.

Binds 127.0.0.1 on an ephemeral port, prints the port on its first stdout line, and answers
GET <any path ending in jwks.json> with the current document (other paths: 404). It exits
when its stdin closes or after 120 s.

The document starts as the file named by --file [JWKS_SERVER_FILE] (default {"keys":[]}).
Commands, one per stdin line; each is answered with one stdout line once applied (so a test
that reads the answer knows the next request sees the change; a closed stdout is ignored):
  serve PATH   serve PATH's bytes from now on (status 200)        -> "ok"
  status N     answer with HTTP status N (same body)               -> "ok"
  garbage      serve a body that is not JSON                       -> "ok"
  big N        serve a valid JSON object of N bytes                -> "ok"
  count        number of jwks.json requests answered so far        -> "count N"
  reset        set that number to 0                                -> "ok"
Anything else answers "error unknown command".
"""
import argparse
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    lock = threading.Lock()
    body = b'{"keys":[]}'
    status = 200
    fetches = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "jwks-stand-in"

    def log_message(self, fmt, *args):  # quiet: stdout/stderr belong to the test
        pass

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if not path.endswith("jwks.json"):
            self.reply(404, b'{"message":"not found"}')
            return
        with State.lock:
            State.fetches += 1
            status, body = State.status, State.body
        self.reply(status, body)

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def answer(line):
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, OSError, ValueError):
        pass


def command(line):
    parts = line.split(None, 1)
    if not parts:
        return None
    cmd, arg = parts[0], (parts[1] if len(parts) > 1 else "")
    with State.lock:
        if cmd == "serve":
            try:
                with open(arg, "rb") as f:
                    State.body = f.read()
            except OSError as e:
                return "error %s" % e
            State.status = 200
        elif cmd == "status":
            State.status = int(arg)
        elif cmd == "garbage":
            State.body = b"<html>this is not a key set {"
            State.status = 200
        elif cmd == "big":
            n = int(arg)
            pad = max(0, n - len('{"keys":[],"pad":""}'))
            State.body = b'{"keys":[],"pad":"' + b"x" * pad + b'"}'
            State.status = 200
        elif cmd == "count":
            return "count %d" % State.fetches
        elif cmd == "reset":
            State.fetches = 0
        else:
            return "error unknown command"
    return "ok"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--file", default=os.environ.get("JWKS_SERVER_FILE") or None)
    args = ap.parse_args()
    if args.file:
        with open(args.file, "rb") as f:
            State.body = f.read()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    answer(str(srv.server_address[1]))
    threading.Thread(target=srv.serve_forever, daemon=True).start()

    def read_commands():
        try:
            for raw in sys.stdin:
                reply = command(raw.strip())
                if reply is not None:
                    answer(reply)
        except (OSError, ValueError):
            pass
        os._exit(0)

    threading.Thread(target=read_commands, daemon=True).start()
    time.sleep(120)
    os._exit(0)


if __name__ == "__main__":
    main()
