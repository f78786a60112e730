#!/usr/bin/env python3
"""cognito_server.py — a local stand-in for the Cognito user-pool endpoint (ListUsers, GetUser).

Binds 127.0.0.1 on an ephemeral port, prints the port on its first stdout line, and serves
until its stdin closes or 120 s pass. It checks each request as the service would: POST /,
Content-Type application/x-amz-json-1.1, X-Amz-Target
AWSCognitoIdentityProviderService.ListUsers, a SigV4 Authorization header whose credential
scope names the service cognito-idp, a JSON body whose UserPoolId is its pool, Limit in
1..60; it answers with pages of --page-size users and an opaque PaginationToken.

Options (each also read from the environment variable in brackets, which live tests set
before starting it; the command line wins):
  --pool ID          the pool it serves [COGNITO_SERVER_POOL], default us-east-1_TestPool1
  --users FILE       a JSON array of users [COGNITO_SERVER_USERS]; each either a full
                     ListUsers UserType ({"Username", "Attributes": [{"Name","Value"}],
                     "UserStatus", "Enabled", ...}, passed through as is) or a short form
                     {"username", "sub", "preferred_username", "email", "name", "status",
                     "enabled"}; default: five sample users
  --page-size N      users per page [COGNITO_SERVER_PAGE_SIZE], default 2
  --throttle N       answer the first N requests with 400 TooManyRequestsException
                     [COGNITO_SERVER_THROTTLE], default 0
  --fail-get-user N  answer the first N GetUser requests with 500 InternalErrorException
                     [COGNITO_SERVER_FAIL_GET_USER], default 0
GetUser (AWSCognitoIdentityProviderService.GetUser) takes no SigV4, only {"AccessToken"}: the
stand-in reads the token's sub from its payload (it does not verify the signature: the API
did that) and answers that user's Username and UserAttributes, or 400 NotAuthorizedException
for a sub it does not hold; a signed GetUser is refused as the service refuses it.
GET /_control/stats answers {"requests", "get_users"} (the tests' view of what was asked).
A wrong pool gets 400 ResourceNotFoundException, a bad request 400 InvalidParameterException
or the protocol errors the service sends (UnknownOperationException, ...).
"""
import argparse
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TARGET_PREFIX = "AWSCognitoIdentityProviderService."
SCOPE = re.compile(r"^AWS4-HMAC-SHA256 Credential=[^/,\s]+/\d{8}/[a-z0-9-]+/cognito-idp/"
                   r"aws4_request, ?SignedHeaders=[a-z0-9;-]+, ?Signature=[0-9a-f]{64}$")

SAMPLE_USERS = [
    {"username": "andrew", "sub": "0b6f3a8e-5c1d-4f3e-9a77-1c2d3e4f5a61",
     "preferred_username": "andrewbrown", "email": "andrew@example.com",
     "name": "Andrew Brown"},
    {"username": "bayko", "sub": "2c7d4b9f-6e2a-4a1b-8c88-2d3e4f5a6b72",
     "preferred_username": "bayko", "email": "bayko@example.com", "name": "Andrew Bayko"},
    {"username": "londo", "sub": "3d8e5cae-7f3b-4b2c-9d99-3e4f5a6b7c83",
     "preferred_username": "londo", "email": "londo@example.com", "name": "Londo Mollari"},
    {"username": "nohandle", "sub": "4e9f6dbf-8a4c-4c3d-8eaa-4f5a6b7c8d94",
     "email": "nohandle@example.com", "status": "FORCE_CHANGE_PASSWORD"},
    {"username": "disabled", "sub": "5fa07ec0-9b5d-4d4e-9fbb-5a6b7c8d9ea5",
     "preferred_username": "ghost", "email": "ghost@example.com", "enabled": False},
]


def user_type(u):
    """The ListUsers UserType of a user given in either form."""
    if "Username" in u:
        return u
    attrs = []
    for name in ("sub", "preferred_username", "email", "name"):
        if name in u:
            attrs.append({"Name": name, "Value": u[name]})
    return {
        "Username": u["username"],
        "Attributes": attrs,
        "UserCreateDate": 1700000000.0,
        "UserLastModifiedDate": 1700000000.0,
        "Enabled": u.get("enabled", True),
        "UserStatus": u.get("status", "CONFIRMED"),
    }


class State:
    lock = threading.Lock()
    throttle_left = 0
    requests = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cognito-stand-in"

    def log_message(self, fmt, *args):  # quiet: stdout carries only the port
        pass

    def send_json(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", "stand-in-%d" % State.requests)
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, typ, msg):
        self.send_json(status, {"__type": typ, "message": msg})

    def do_GET(self):
        if self.path == "/_control/stats":
            with State.lock:
                self.send_json(200, {"requests": State.requests, "get_users": State.get_users})
            return
        self.error(400, "UnknownOperationException", "only POST / is served")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        with State.lock:
            State.requests += 1
        if self.path != "/":
            self.error(400, "UnknownOperationException", "path must be /")
            return
        if self.headers.get("Content-Type") != "application/x-amz-json-1.1":
            self.error(400, "SerializationException",
                       "Content-Type must be application/x-amz-json-1.1")
            return
        target = self.headers.get("X-Amz-Target", "")
        if target == TARGET_PREFIX + "GetUser":
            self.get_user(raw)
            return
        if target != TARGET_PREFIX + "ListUsers":
            self.error(400, "UnknownOperationException", "unknown target %r" % target)
            return
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 Credential="):
            self.error(400, "MissingAuthenticationTokenException",
                       "Missing Authentication Token")
            return
        if not SCOPE.match(auth) or not self.headers.get("X-Amz-Date"):
            self.error(400, "InvalidSignatureException",
                       "Credential should be scoped to correct service: 'cognito-idp'")
            return
        try:
            req = json.loads(raw)
        except ValueError:
            self.error(400, "SerializationException", "body is not JSON")
            return
        if not isinstance(req, dict):
            self.error(400, "SerializationException", "body is not a JSON object")
            return
        with State.lock:
            if State.throttle_left > 0:
                State.throttle_left -= 1
                throttled = True
            else:
                throttled = False
        if throttled:
            self.error(400, "TooManyRequestsException", "Too many requests")
            return
        pool = req.get("UserPoolId")
        if not isinstance(pool, str) or not re.match(r"^[\w-]+_[0-9a-zA-Z]+$", pool):
            self.error(400, "InvalidParameterException",
                       "1 validation error detected: Value at 'userPoolId' failed to satisfy "
                       "constraint")
            return
        if pool != self.server.pool:
            self.error(400, "ResourceNotFoundException", "User pool %s does not exist." % pool)
            return
        limit = req.get("Limit", 60)
        if not isinstance(limit, int) or not 0 <= limit <= 60:
            self.error(400, "InvalidParameterException",
                       "1 validation error detected: Value at 'limit' failed to satisfy "
                       "constraint: Member must have value less than or equal to 60")
            return
        start = 0
        token = req.get("PaginationToken")
        if token is not None:
            m = re.match(r"^page-(\d+)$", token) if isinstance(token, str) else None
            if not m or int(m.group(1)) >= len(self.server.users):
                self.error(400, "InvalidParameterException", "Invalid pagination token")
                return
            start = int(m.group(1))
        size = min(self.server.page_size, limit or 60)
        page = self.server.users[start:start + size]
        reply = {"Users": page}
        if start + size < len(self.server.users):
            reply["PaginationToken"] = "page-%d" % (start + size)
        self.send_json(200, reply)


def token_sub(token):
    """The sub claim of a JWT's payload, unverified; None when it has none."""
    import base64
    try:
        part = token.split(".")[1]
        part += "=" * (-len(part) % 4)
        return json.loads(base64.urlsafe_b64decode(part)).get("sub")
    except (IndexError, ValueError, AttributeError):
        return None


def _get_user(self, raw):
    with State.lock:
        State.get_users += 1
        n = State.get_users
        fail = State.fail_get_user_left > 0
        if fail:
            State.fail_get_user_left -= 1
    sys.stderr.write("getuser %d\n" % n)
    sys.stderr.flush()
    if self.headers.get("Authorization"):
        self.error(400, "NotAuthorizedException", "GetUser takes no AWS signature")
        return
    if fail:
        self.error(500, "InternalErrorException", "scripted failure")
        return
    try:
        req = json.loads(raw)
        token = req["AccessToken"]
    except (ValueError, KeyError, TypeError):
        self.error(400, "InvalidParameterException", "AccessToken is required")
        return
    sub = token_sub(token) if isinstance(token, str) else None
    for u in self.server.users:
        attrs = {a["Name"]: a.get("Value") for a in u.get("Attributes", [])}
        if sub and attrs.get("sub") == sub:
            self.send_json(200, {"Username": u["Username"], "UserAttributes": u["Attributes"]})
            return
    self.error(400, "NotAuthorizedException", "Invalid Access Token")


Handler.get_user = _get_user


def main():
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pool", default=env("COGNITO_SERVER_POOL") or "us-east-1_TestPool1")
    ap.add_argument("--users", default=env("COGNITO_SERVER_USERS") or None)
    ap.add_argument("--page-size", type=int, default=int(env("COGNITO_SERVER_PAGE_SIZE") or 2))
    ap.add_argument("--throttle", type=int, default=int(env("COGNITO_SERVER_THROTTLE") or 0))
    args = ap.parse_args()
    if args.users:
        with open(args.users, encoding="utf-8") as f:
            users = json.load(f)
    else:
        users = SAMPLE_USERS
    State.throttle_left = args.throttle
    State.get_users = 0
    State.fail_get_user_left = int(env("COGNITO_SERVER_FAIL_GET_USER") or 0)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.pool = args.pool
    srv.users = [user_type(u) for u in users]
    srv.page_size = max(1, args.page_size)
    print(srv.server_address[1], flush=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except OSError:
            pass
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    time.sleep(120)
    os._exit(0)


if __name__ == "__main__":
    main()
