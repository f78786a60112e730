#!/usr/bin/env python3
"""streams_server.py — a local stand-in for the DynamoDB Streams API (shard splits, iterator
expiry, trimming, throttling, duplicate delivery), which DynamoDB Local cannot produce.

Binds 127.0.0.1 on an ephemeral port, prints the port on its first stdout line, serves until
stdin closes or --max-seconds (default 900) pass. Python standard library only.
  python3 streams_server.py [--scenario FILE] [--page-size N] [--records-cap N] [--max-seconds S]

STREAMS API (POST /, X-Amz-Target: DynamoDBStreams_20120810.<Op>, JSON 1.0; signatures are not
checked). ListStreams (TableName, Limit, ExclusiveStartStreamArn), DescribeStream (StreamArn,
Limit 1..100, ExclusiveStartShardId; a page holds min(Limit, page_size) shards and carries
LastEvaluatedShardId only when more shards follow), GetShardIterator (TRIM_HORIZON, LATEST,
AT_SEQUENCE_NUMBER = first record with seq >= N, AFTER_SEQUENCE_NUMBER = first record with
seq > N), GetRecords (Limit 1..1000, default 1000, further capped by records_cap). Iterators
are opaque ("standin1." + base64 of shard, position, issue time, serial); a GetRecords
answer always carries a fresh one. An open shard read to its end answers [] with a
NextShardIterator. On a closed shard NextShardIterator is left out once the end is reached:
end_mode "eager" (default) leaves it out of the batch that reaches the end (even when it has
records), "lazy" only from the following call, which answers [].
Errors: 400 {"__type": "com.amazonaws.dynamodb.v20120810#<Type>", "message": ...} with Type
ResourceNotFoundException (unknown stream/shard), ValidationException (bad argument or
iterator), ExpiredIteratorException (iterator older than iterator_ttl_ms, or hit by an
"expired" fault: that iterator string then stays expired), TrimmedDataAccessException
(iterator or AT/AFTER sequence number before the oldest kept record), LimitExceededException
or ThrottlingException (faults); 500 InternalServerError (fault). Every answer has x-amz-crc32.

SCENARIO (JSON; POST /_control/scenario or --scenario FILE). Every key is optional:
  {"TableName": "standin", "StreamLabel": "2026-01-01T00:00:00.000",
   "StreamArn": default arn:aws:dynamodb:us-east-1:000000000000:table/<TableName>/stream/<Label>,
   "StreamViewType": "NEW_IMAGE", "awsRegion": "us-east-1",
   "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {..."sk", "RANGE"}],
   "config": {...see /_control/config...},
   "shards": [{"ShardId": "shardId-1" (default generated), "ParentShardId": "shardId-0" (may
               name a shard that is not listed, like a parent AWS has already trimmed away),
               "closed": false, "SequenceNumberRange": {"StartingSequenceNumber": "...",
               "EndingSequenceNumber": "..." (present = closed)}, "records": [RECORD...]}]}
  Without a scenario the stream has one empty open shard "shardId-00000000000000000001-standin".
  A RECORD is the object GetRecords returns: {"eventID", "eventName", "eventVersion",
  "eventSource": "aws:dynamodb", "awsRegion", "dynamodb": {"ApproximateCreationDateTime",
  "Keys", "NewImage", "SequenceNumber", "SizeBytes", "StreamViewType"}}. Missing fields are
  filled in: eventID (random), eventName INSERT, eventVersion 1.1, eventSource, awsRegion,
  ApproximateCreationDateTime (now, epoch seconds), Keys (the KeySchema attributes of
  NewImage), SizeBytes, StreamViewType, and SequenceNumber: 21-digit decimal strings, larger
  than every sequence number already in the stream (so children follow their parent). A
  given SequenceNumber must be decimal (give 21 digits, as the generated ones have, so string
  comparisons hold) and above the shard's last one. So the least a record
  needs is {"dynamodb": {"NewImage": {"pk": {"S": "MSG#g1"}, "sk": {"S": "..."}, ...}}}.

CONTROL API (same port, plain JSON bodies, no target header; 200 with JSON on success, 400
{"error": "..."} on a bad request). Shards are named by "shard": ShardId.
  POST /_control/scenario   the scenario object, or {"path": FILE}: replaces stream, config,
                            faults, stats; older iterators become invalid. -> {"StreamArn",
                            "shards": [ids]}
  POST /_control/config     any of {"page_size": 2 (DescribeStream page), "records_cap": 1000
                            (GetRecords most records per call), "iterator_ttl_ms": 900000,
                            "end_mode": "eager"|"lazy", "shard_order": "creation"|"reverse"
                            (DescribeStream lists children before parents)} -> the config
  POST /_control/append     {"shard", "records": [RECORD...]} (open shard) -> {"SequenceNumbers"}
  POST /_control/close      {"shard"} -> {"EndingSequenceNumber"} (last record's, else start)
  POST /_control/add_shard  {"ShardId"?, "ParentShardId"?, "closed"?, "records"?} -> {"ShardId"}
  POST /_control/split      {"shard", "children": [id, id]?} closes the shard and adds two (or
                            the listed) open children -> {"EndingSequenceNumber", "children"}
  POST /_control/trim       {"shard", "count": K} drops the K oldest kept records -> {"trimmed":
                            total dropped, "oldest": first kept SequenceNumber or null}
  POST /_control/remove_shard {"shard"} the shard disappears from DescribeStream (expired)
  POST /_control/fault      {"kind", "count": 1, "after": 0, "shard"?, "op"?, "type"?} -> {"id"}
      kind expired   the next matching GetRecords answers ExpiredIteratorException
           throttle  answers 400 with "type" (LimitExceededException, or ThrottlingException)
           error500  answers 500 InternalServerError
           duplicate a matching GetRecords that returns records gives a NextShardIterator at
                     its own start, so the following call returns the same batch again
      count: how many calls it hits; after: how many matching calls pass first (for
      duplicate: matching calls that return records); shard: only
      calls about that shard (GetShardIterator's ShardId, GetRecords' iterator); op: the
      operation (default GetRecords; "*" = any; expired/duplicate only act on GetRecords). One
      error fault at most fires per call, the oldest first. The client retries throttling and
      500s itself (CRUDDUR_DDB_MAX_ATTEMPTS / ddb_options.retry): each try counts.
  POST /_control/clear_faults  -> {"cleared": n}
  GET  /_control/stats      {"calls": {Op: n, "total": n}, "errors": {Type: n},
                            "shards": {ShardId: {"GetShardIterator", "GetRecords",
                            "records_returned", "empty_batches", "first_read" (call number of the
                            first GetRecords on it, failed ones included), "first_records" (the
                            first that returned records),
                            "ended" (first whose answer had no NextShardIterator), each null until
                            it happens}}, "faults": [pending: {"id", "kind", "left", ...}],
                            "log": [{"n", "op", "shard", "records", "first_seq", "last_seq",
                            "next", "error"} one per Streams call, the last 20000]}
                            Call numbers n count every Streams call from 1, so "parent read to its
                            end before a child" is shards[parent].ended < shards[child].first_read.
  POST /_control/reset_stats
  GET  /_control/state      {"StreamArn", "config", "shards": [{"ShardId", "ParentShardId",
                            "closed", "trimmed", "SequenceNumberRange", "records"}]}
"""

import argparse
import base64
import copy
import json
import os
import sys
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TARGET_PREFIX = "DynamoDBStreams_20120810."
ERR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
SEQ_BASE = 10 ** 20
SEQ_STEP = 100
LOG_MAX = 20000
MAX_BODY = 16 * 1024 * 1024
START = time.monotonic()
DEFAULT_CONFIG = {"page_size": 2, "records_cap": 1000, "iterator_ttl_ms": 900000,
                  "end_mode": "eager", "shard_order": "creation"}
FAULT_KINDS = ("expired", "throttle", "error500", "duplicate")
OPS = ("ListStreams", "DescribeStream", "GetShardIterator", "GetRecords")


class ApiError(Exception):
    def __init__(self, status, typ, msg):
        super().__init__(msg)
        self.status, self.typ, self.msg = status, typ, msg


class ControlError(Exception):
    pass


def now_ms():
    return int((time.monotonic() - START) * 1000)


def seq_int(s, what="SequenceNumber"):
    if not isinstance(s, str) or not s.isdigit() or len(s) > 40:
        raise ControlError("%s must be a decimal string: %r" % (what, s))
    return int(s)


def seq_str(n):
    return "%021d" % n


class Shard:
    def __init__(self, shard_id, parent, start_seq):
        self.id = shard_id
        self.parent = parent
        self.records = []        # every record ever appended, trimmed ones included
        self.trimmed = 0         # records[:trimmed] are gone
        self.closed = False
        self.start_seq = start_seq
        self.end_seq = None
        self.removed = False

    def last_seq(self):
        if self.records:
            return int(self.records[-1]["dynamodb"]["SequenceNumber"])
        return int(self.start_seq) - 1

    def describe(self):
        rng = {"StartingSequenceNumber": self.start_seq}
        if self.closed:
            rng["EndingSequenceNumber"] = self.end_seq
        d = {"ShardId": self.id, "SequenceNumberRange": rng}
        if self.parent:
            d["ParentShardId"] = self.parent
        return d


class Stream:
    """The whole state; every method runs under LOCK."""

    def __init__(self, scenario=None):
        self.generation = getattr(self, "generation", 0) + 1
        self.load(scenario or {})

    # ---- scenario and control ----------------------------------------------------------
    def load(self, sc):
        if not isinstance(sc, dict):
            raise ControlError("the scenario must be a JSON object")
        self.table = sc.get("TableName", "standin")
        self.label = sc.get("StreamLabel", "2026-01-01T00:00:00.000")
        self.arn = sc.get("StreamArn", "arn:aws:dynamodb:us-east-1:000000000000:table/%s/stream/%s"
                          % (self.table, self.label))
        self.view = sc.get("StreamViewType", "NEW_IMAGE")
        self.region = sc.get("awsRegion", "us-east-1")
        self.key_schema = sc.get("KeySchema", [{"AttributeName": "pk", "KeyType": "HASH"},
                                               {"AttributeName": "sk", "KeyType": "RANGE"}])
        for k in ("TableName", "StreamLabel", "StreamArn", "StreamViewType", "awsRegion"):
            if k in sc and not isinstance(sc[k], str):
                raise ControlError("%s must be a string" % k)
        self.config = dict(DEFAULT_CONFIG)
        self.set_config(sc.get("config", {}))
        self.shards = {}
        self.order = []
        self.max_seq = SEQ_BASE
        self.faults = []
        self.fault_serial = 0
        self.expired = set()
        self.it_serial = 0
        self.reset_stats()
        shards = sc.get("shards")
        if shards is None:
            shards = [{"ShardId": "shardId-00000000000000000001-standin"}]
        if not isinstance(shards, list):
            raise ControlError("shards must be an array")
        for s in shards:
            self.add_shard(s)

    def set_config(self, cfg):
        if not isinstance(cfg, dict):
            raise ControlError("config must be an object")
        for k, v in cfg.items():
            if k not in DEFAULT_CONFIG:
                raise ControlError("unknown config key %r" % k)
            if k in ("page_size", "records_cap", "iterator_ttl_ms"):
                if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                    raise ControlError("%s must be a positive integer" % k)
            elif k == "end_mode" and v not in ("eager", "lazy"):
                raise ControlError("end_mode is eager or lazy")
            elif k == "shard_order" and v not in ("creation", "reverse"):
                raise ControlError("shard_order is creation or reverse")
        self.config.update(cfg)
        return dict(self.config)

    def reset_stats(self):
        self.calls = {op: 0 for op in OPS}
        self.calls["total"] = 0
        self.errors = {}
        self.shard_stats = {}
        self.log = []

    def next_seq(self):
        self.max_seq += SEQ_STEP
        return seq_str(self.max_seq)

    def shard(self, body, key="shard"):
        sid = body.get(key) if isinstance(body, dict) else None
        s = self.shards.get(sid) if isinstance(sid, str) else None
        if not s:
            raise ControlError("no shard %r" % (sid,))
        return s

    def add_shard(self, spec):
        if not isinstance(spec, dict):
            raise ControlError("a shard must be an object")
        sid = spec.get("ShardId") or "shardId-%020d-standin" % (len(self.order) + 1)
        if not isinstance(sid, str) or sid in self.shards:
            raise ControlError("bad or duplicate ShardId %r" % (sid,))
        parent = spec.get("ParentShardId")
        if parent is not None and not isinstance(parent, str):
            raise ControlError("ParentShardId must be a string")
        rng = spec.get("SequenceNumberRange") or {}
        recs = spec.get("records", [])
        if not isinstance(rng, dict) or not isinstance(recs, list):
            raise ControlError("SequenceNumberRange is an object, records an array")
        if "StartingSequenceNumber" in rng:
            start = seq_int(rng["StartingSequenceNumber"], "StartingSequenceNumber")
        elif recs and isinstance(recs[0], dict) and "SequenceNumber" in recs[0].get("dynamodb", {}):
            start = seq_int(recs[0]["dynamodb"]["SequenceNumber"])
        else:
            start = self.max_seq + SEQ_STEP
        self.max_seq = max(self.max_seq, start)
        s = Shard(sid, parent, seq_str(start))
        self.shards[sid] = s
        self.order.append(sid)
        try:
            self.append(s, recs)
            if "EndingSequenceNumber" in rng:
                end = seq_int(rng["EndingSequenceNumber"], "EndingSequenceNumber")
                if end < s.last_seq():
                    raise ControlError("EndingSequenceNumber is below the shard's last record")
                self.max_seq = max(self.max_seq, end)
                s.closed, s.end_seq = True, seq_str(end)
            elif spec.get("closed"):
                self.close(s)
        except ControlError:
            del self.shards[sid]
            self.order.pop()
            raise
        return sid

    def normalize(self, shard, rec, last):
        if not isinstance(rec, dict):
            raise ControlError("a record must be an object")
        rec = copy.deepcopy(rec)
        d = rec.setdefault("dynamodb", {})
        if not isinstance(d, dict):
            raise ControlError("dynamodb must be an object")
        if "SequenceNumber" in d:
            n = seq_int(d["SequenceNumber"])
            if n <= last:
                raise ControlError("SequenceNumber %s is not above the shard's last %d"
                                   % (d["SequenceNumber"], last))
            d["SequenceNumber"] = str(d["SequenceNumber"])
            self.max_seq = max(self.max_seq, n)
        else:
            n = max(self.max_seq, last) + SEQ_STEP
            self.max_seq = n
            d["SequenceNumber"] = seq_str(n)
        d.setdefault("ApproximateCreationDateTime", int(time.time()))
        img = d.get("NewImage")
        if "Keys" not in d and isinstance(img, dict):
            d["Keys"] = {k["AttributeName"]: img[k["AttributeName"]] for k in self.key_schema
                         if k.get("AttributeName") in img}
        d.setdefault("StreamViewType", self.view)
        d.setdefault("SizeBytes", len(json.dumps({k: d.get(k) for k in ("Keys", "NewImage")
                                                  if k in d}, separators=(",", ":"))))
        rec.setdefault("eventID", uuid.uuid4().hex)
        rec.setdefault("eventName", "INSERT")
        rec.setdefault("eventVersion", "1.1")
        rec.setdefault("eventSource", "aws:dynamodb")
        rec.setdefault("awsRegion", self.region)
        return rec, n

    def append(self, shard, recs):
        if shard.closed and recs:
            raise ControlError("shard %s is closed" % shard.id)
        if not isinstance(recs, list):
            raise ControlError("records must be an array")
        last = shard.last_seq()
        out = []
        for r in recs:  # all or nothing
            nr, last = self.normalize(shard, r, last)
            out.append(nr)
        shard.records.extend(out)
        return [r["dynamodb"]["SequenceNumber"] for r in out]

    def close(self, shard):
        if shard.closed:
            raise ControlError("shard %s is already closed" % shard.id)
        shard.closed = True
        shard.end_seq = seq_str(max(shard.last_seq(), int(shard.start_seq)))
        return shard.end_seq

    def trim(self, shard, count):
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ControlError("count must be a non-negative integer")
        shard.trimmed = min(len(shard.records), shard.trimmed + count)
        kept = shard.records[shard.trimmed:]
        return {"trimmed": shard.trimmed,
                "oldest": kept[0]["dynamodb"]["SequenceNumber"] if kept else None}

    def add_fault(self, f):
        if not isinstance(f, dict) or f.get("kind") not in FAULT_KINDS:
            raise ControlError("kind must be one of %s" % ", ".join(FAULT_KINDS))
        count, after = f.get("count", 1), f.get("after", 0)
        for name, v in (("count", count), ("after", after)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ControlError("%s must be a non-negative integer" % name)
        op = f.get("op", "GetRecords")
        if op != "*" and op not in OPS:
            raise ControlError("op must be one of %s or *" % ", ".join(OPS))
        shard = f.get("shard")
        if shard is not None and not isinstance(shard, str):
            raise ControlError("shard must be a string")
        typ = f.get("type", "LimitExceededException")
        if f["kind"] == "throttle" and typ not in ("LimitExceededException",
                                                   "ThrottlingException"):
            raise ControlError("type is LimitExceededException or ThrottlingException")
        self.fault_serial += 1
        self.faults.append({"id": self.fault_serial, "kind": f["kind"], "left": count,
                            "after": after, "op": op, "shard": shard, "type": typ})
        return self.fault_serial

    def stats(self):
        return {"calls": dict(self.calls), "errors": dict(self.errors),
                "shards": copy.deepcopy(self.shard_stats),
                "faults": [dict(f) for f in self.faults], "log": list(self.log)}

    def state(self):
        return {"StreamArn": self.arn, "TableName": self.table, "config": dict(self.config),
                "shards": [dict(self.shards[i].describe(), closed=self.shards[i].closed,
                                trimmed=self.shards[i].trimmed, removed=self.shards[i].removed,
                                records=self.shards[i].records) for i in self.order]}

    # ---- the Streams API ---------------------------------------------------------------
    def sstats(self, sid):
        return self.shard_stats.setdefault(sid, {
            "GetShardIterator": 0, "GetRecords": 0, "records_returned": 0, "empty_batches": 0,
            "first_read": None, "first_records": None, "ended": None})

    def take_fault(self, op, sid, kinds):
        """The first pending fault of these kinds matching the call, consumed; or None."""
        for f in self.faults:
            if f["kind"] not in kinds or f["left"] <= 0:
                continue
            if f["op"] != "*" and f["op"] != op:
                continue
            if f["shard"] is not None and f["shard"] != sid:
                continue
            if f["after"] > 0:
                f["after"] -= 1
                continue
            f["left"] -= 1
            fired = dict(f)
            self.faults = [g for g in self.faults if g["left"] > 0]
            return fired
        return None

    def error_faults(self, op, sid):
        f = self.take_fault(op, sid, ("throttle", "error500"))
        if f and f["kind"] == "throttle":
            raise ApiError(400, f["type"], "Rate exceeded for shard %s" % sid if sid else
                           "Rate exceeded")
        if f:
            raise ApiError(500, "InternalServerError", "injected internal error")

    def make_iterator(self, sid, pos):
        self.it_serial += 1
        doc = {"g": self.generation, "s": sid, "p": pos, "t": now_ms(), "n": self.it_serial}
        raw = json.dumps(doc, separators=(",", ":")).encode()
        return "standin1." + base64.urlsafe_b64encode(raw).decode()

    def read_iterator(self, it):
        if not isinstance(it, str) or not it.startswith("standin1.") or len(it) > 2048:
            raise ApiError(400, "ValidationException", "Invalid ShardIterator")
        try:
            doc = json.loads(base64.urlsafe_b64decode(it[len("standin1."):].encode()))
            sid, pos, t, n, g = doc["s"], int(doc["p"]), int(doc["t"]), int(doc["n"]), doc["g"]
        except (ValueError, KeyError, TypeError):
            raise ApiError(400, "ValidationException", "Invalid ShardIterator")
        if g != self.generation:
            raise ApiError(400, "ValidationException",
                           "Invalid ShardIterator (from an earlier scenario)")
        return sid, pos, t, n

    def lookup(self, arn, sid):
        if arn != self.arn:
            raise ApiError(400, "ResourceNotFoundException", "Requested resource not found: "
                           "Stream: %s not found" % arn)
        s = self.shards.get(sid)
        if not s or s.removed:
            raise ApiError(400, "ResourceNotFoundException", "Requested resource not found: "
                           "Shard: %s in Stream: %s not found" % (sid, arn))
        return s

    def list_streams(self, req, entry):
        self.error_faults("ListStreams", None)
        limit = req.get("Limit", 100)
        if not isinstance(limit, int) or not 1 <= limit <= 100:
            raise ApiError(400, "ValidationException", "Limit must be between 1 and 100")
        table = req.get("TableName")
        streams = []
        if (table is None or table == self.table) and "ExclusiveStartStreamArn" not in req:
            streams.append({"StreamArn": self.arn, "TableName": self.table,
                            "StreamLabel": self.label})
        return {"Streams": streams}

    def describe_stream(self, req, entry):
        self.error_faults("DescribeStream", None)
        if req.get("StreamArn") != self.arn:
            raise ApiError(400, "ResourceNotFoundException", "Requested resource not found: "
                           "Stream: %s not found" % req.get("StreamArn"))
        limit = req.get("Limit", 100)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100:
            raise ApiError(400, "ValidationException", "Limit must be between 1 and 100")
        ids = [i for i in self.order if not self.shards[i].removed]
        if self.config["shard_order"] == "reverse":
            ids.reverse()
        start = 0
        if "ExclusiveStartShardId" in req:
            esi = req["ExclusiveStartShardId"]
            if esi not in ids:
                raise ApiError(400, "ResourceNotFoundException",
                               "ExclusiveStartShardId %s not found" % esi)
            start = ids.index(esi) + 1
        page = ids[start:start + min(limit, self.config["page_size"])]
        sd = {"StreamArn": self.arn, "StreamLabel": self.label, "StreamStatus": "ENABLED",
              "StreamViewType": self.view, "TableName": self.table,
              "CreationRequestDateTime": 1767225600.0, "KeySchema": self.key_schema,
              "Shards": [self.shards[i].describe() for i in page]}
        if start + len(page) < len(ids):
            sd["LastEvaluatedShardId"] = page[-1]
        entry["records"] = len(page)
        return {"StreamDescription": sd}

    def get_shard_iterator(self, req, entry):
        sid = req.get("ShardId")
        entry["shard"] = sid
        s = self.lookup(req.get("StreamArn"), sid)
        self.sstats(sid)["GetShardIterator"] += 1
        self.error_faults("GetShardIterator", sid)
        typ = req.get("ShardIteratorType")
        seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in s.records]
        if typ == "TRIM_HORIZON":
            pos = s.trimmed
        elif typ == "LATEST":
            pos = len(s.records)
        elif typ in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            try:
                n = seq_int(req.get("SequenceNumber"))
            except ControlError:
                raise ApiError(400, "ValidationException", "Invalid SequenceNumber")
            if s.closed and n > int(s.end_seq):
                raise ApiError(400, "ValidationException", "SequenceNumber %d is beyond the "
                               "end of shard %s" % (n, sid))
            if typ == "AT_SEQUENCE_NUMBER":
                pos = next((i for i, q in enumerate(seqs) if q >= n), len(seqs))
            else:
                pos = next((i for i, q in enumerate(seqs) if q > n), len(seqs))
            if pos < s.trimmed:  # the first record it would read is gone
                raise ApiError(400, "TrimmedDataAccessException", "The operation attempted "
                               "to read past the oldest stream record in a shard.")
        else:
            raise ApiError(400, "ValidationException", "Invalid ShardIteratorType %r" % typ)
        entry["position"] = pos
        return {"ShardIterator": self.make_iterator(sid, pos)}

    def get_records(self, req, entry):
        sid, pos, issued, serial = self.read_iterator(req.get("ShardIterator"))
        entry["shard"] = sid
        s = self.shards.get(sid)
        if not s or s.removed:
            raise ApiError(400, "ResourceNotFoundException", "Shard %s not found" % sid)
        st = self.sstats(sid)
        st["GetRecords"] += 1
        if st["first_read"] is None:
            st["first_read"] = entry["n"]
        limit = req.get("Limit", 1000)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
            raise ApiError(400, "ValidationException", "Limit must be between 1 and 1000")
        self.error_faults("GetRecords", sid)
        if self.take_fault("GetRecords", sid, ("expired",)):
            self.expired.add(serial)
        if serial in self.expired or now_ms() - issued > self.config["iterator_ttl_ms"]:
            raise ApiError(400, "ExpiredIteratorException", "Iterator expired. The iterator "
                           "was created at time %d ms while right now it is %d ms."
                           % (issued, now_ms()))
        if pos < s.trimmed:
            raise ApiError(400, "TrimmedDataAccessException", "The operation attempted to "
                           "read past the oldest stream record in a shard.")
        batch = s.records[pos:pos + min(limit, self.config["records_cap"])]
        nextpos = pos + len(batch)
        if batch and self.take_fault("GetRecords", sid, ("duplicate",)):
            nextpos = pos
            entry["duplicate"] = True
        at_end = s.closed and nextpos >= len(s.records)
        out = {"Records": batch}
        if not (at_end and (self.config["end_mode"] == "eager" or not batch)):
            out["NextShardIterator"] = self.make_iterator(sid, nextpos)
        elif st["ended"] is None:
            st["ended"] = entry["n"]
        st["records_returned"] += len(batch)
        if batch:
            if st["first_records"] is None:
                st["first_records"] = entry["n"]
            entry["first_seq"] = batch[0]["dynamodb"]["SequenceNumber"]
            entry["last_seq"] = batch[-1]["dynamodb"]["SequenceNumber"]
        else:
            st["empty_batches"] += 1
        entry["records"] = len(batch)
        entry["next"] = "NextShardIterator" in out
        return out

    def call(self, op, req):
        """(status, body) for one Streams call."""
        handlers = {"ListStreams": self.list_streams, "DescribeStream": self.describe_stream,
                    "GetShardIterator": self.get_shard_iterator,
                    "GetRecords": self.get_records}
        if op not in handlers:
            return 400, {"__type": ERR_PREFIX + "UnknownOperationException",
                         "message": "unknown operation %s" % op}
        self.calls[op] += 1
        self.calls["total"] += 1
        entry = {"n": self.calls["total"], "op": op, "shard": None, "records": None,
                 "error": None, "t_ms": now_ms()}
        self.log.append(entry)
        if len(self.log) > LOG_MAX:
            del self.log[0]
        try:
            if not isinstance(req, dict):
                raise ApiError(400, "SerializationException", "the body must be an object")
            return 200, handlers[op](req, entry)
        except ApiError as e:
            entry["error"] = e.typ
            self.errors[e.typ] = self.errors.get(e.typ, 0) + 1
            return e.status, {"__type": ERR_PREFIX + e.typ, "message": e.msg}


LOCK = threading.Lock()
STREAM = Stream()


def control(method, path, body):
    global STREAM
    name = path[len("/_control/"):].split("?")[0]
    if method == "GET":
        if name == "stats":
            return STREAM.stats()
        if name == "state":
            return STREAM.state()
        raise ControlError("unknown GET /_control/%s" % name)
    if name == "scenario":
        if isinstance(body, dict) and set(body) == {"path"}:
            with open(body["path"], encoding="utf-8") as f:
                body = json.load(f)
        gen = STREAM.generation
        fresh = Stream.__new__(Stream)
        fresh.generation = gen + 1
        fresh.load(body)
        STREAM = fresh
        return {"StreamArn": STREAM.arn, "shards": list(STREAM.order)}
    s = STREAM
    if name == "config":
        return s.set_config(body)
    if name == "append":
        return {"SequenceNumbers": s.append(s.shard(body), body.get("records"))}
    if name == "close":
        return {"EndingSequenceNumber": s.close(s.shard(body))}
    if name == "add_shard":
        return {"ShardId": s.add_shard(body)}
    if name == "split":
        parent = s.shard(body)
        kids = body.get("children") or ["%s-a" % parent.id, "%s-b" % parent.id]
        if not isinstance(kids, list) or not all(isinstance(k, str) for k in kids):
            raise ControlError("children must be an array of shard ids")
        if any(k in s.shards for k in kids) or len(set(kids)) != len(kids):
            raise ControlError("a child shard id is already taken")
        end = s.close(parent)
        for k in kids:
            s.add_shard({"ShardId": k, "ParentShardId": parent.id})
        return {"EndingSequenceNumber": end, "children": kids}
    if name == "trim":
        return s.trim(s.shard(body), body.get("count"))
    if name == "remove_shard":
        s.shard(body).removed = True
        return {"removed": body["shard"]}
    if name == "fault":
        return {"id": s.add_fault(body)}
    if name == "clear_faults":
        n = len(s.faults)
        s.faults = []
        return {"cleared": n}
    if name == "reset_stats":
        s.reset_stats()
        return {}
    raise ControlError("unknown POST /_control/%s" % name)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def send_json(self, status, obj, ctype="application/x-amz-json-1.0"):
        body = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amz-crc32", str(zlib.crc32(body) & 0xFFFFFFFF))
        self.send_header("x-amzn-RequestId", uuid.uuid4().hex)
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ValueError("body too large")
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw.strip() else {}

    def handle_control(self, method):
        try:
            body = self.read_body() if method == "POST" else None
            with LOCK:
                out = control(method, self.path, body)
            self.send_json(200, out, "application/json")
        except (ControlError, ValueError, OSError) as e:
            self.send_json(400, {"error": str(e)}, "application/json")
        except (AttributeError, KeyError, TypeError) as e:  # a body of the wrong shape
            self.send_json(400, {"error": "bad request body: %s: %s" % (type(e).__name__, e)},
                           "application/json")

    def do_GET(self):
        if self.path.startswith("/_control/"):
            self.handle_control("GET")
        else:
            self.send_json(404, {"error": "not found"}, "application/json")

    def do_POST(self):
        if self.path.startswith("/_control/"):
            self.handle_control("POST")
            return
        target = self.headers.get("X-Amz-Target", "")
        try:
            req = self.read_body()
        except ValueError:
            self.send_json(400, {"__type": ERR_PREFIX + "SerializationException",
                                 "message": "the body is not JSON"})
            return
        if not target.startswith(TARGET_PREFIX):
            self.send_json(400, {"__type": ERR_PREFIX + "UnknownOperationException",
                                 "message": "X-Amz-Target must start with " + TARGET_PREFIX})
            return
        with LOCK:
            status, out = STREAM.call(target[len(TARGET_PREFIX):], req)
        self.send_json(status, out)


def main():
    global STREAM
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", help="scenario JSON file loaded at start")
    ap.add_argument("--page-size", type=int)
    ap.add_argument("--records-cap", type=int)
    ap.add_argument("--max-seconds", type=float, default=900.0)
    args = ap.parse_args()
    try:
        if args.scenario:
            with open(args.scenario, encoding="utf-8") as f:
                STREAM = Stream(json.load(f))
        cfg = {}
        if args.page_size is not None:
            cfg["page_size"] = args.page_size
        if args.records_cap is not None:
            cfg["records_cap"] = args.records_cap
        STREAM.set_config(cfg)
    except (OSError, ValueError, ControlError) as e:
        print("streams_server.py: %s" % e, file=sys.stderr)
        sys.exit(2)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    stdin_closed = threading.Event()

    def watch_stdin():
        sys.stdin.read()
        stdin_closed.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    stdin_closed.wait(timeout=args.max_seconds)
    os._exit(0)


if __name__ == "__main__":
    main()
