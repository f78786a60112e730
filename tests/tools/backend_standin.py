#!/usr/bin/env python3
"""backend_standin.py — a stand-in for the rest of Cruddur's API (the original Flask backend:
activities, profiles...), for the nginx routing checks (script/lib/deploy_check.sh).

Listens on 127.0.0.1 (an OS-chosen port, printed as the first stdout line) and answers every
request with 200 and a JSON echo of what it got: {"standin": "backend", "method", "path",
"xff", "request_id", "body"}. Like flask-cors it adds its own CORS and security headers, so
a test can check that nginx replaces them. Exits after --seconds (default 120)."""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def _answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(n, 65536)).decode("utf-8", "replace") if n else ""
        out = json.dumps({
            "standin": "backend",
            "method": self.command,
            "path": self.path,
            "xff": self.headers.get("X-Forwarded-For", ""),
            "request_id": self.headers.get("X-Request-Id", ""),
            "body": body,
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = _answer

    def log_message(self, fmt, *args):
        sys.stderr.write("standin: %s %s\n" % (self.command, self.path))


def main():
    seconds = 120
    if len(sys.argv) == 3 and sys.argv[1] == "--seconds":
        seconds = int(sys.argv[2])
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(srv.server_address[1], flush=True)
    threading.Timer(seconds, srv.shutdown).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
