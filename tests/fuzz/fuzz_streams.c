/* fuzz_streams.c — a GetRecords reply to stream records: the reply text parsed as the
 * client parses it (jparse, awsjson's depth), read by ddbstreams_records_reply, and each
 * record classified by groupsync_parse_record (what cruddur-streamd does with it).
 * Invariants: a reply is either refused with ERR_SERVICE or gives an array and an iterator
 * of at most 8192 bytes; a record classified as a message carries a lowercase-or-not UUID
 * group, an ISO-8601 created_at, an S message within GROUPSYNC_MESSAGE_MAX and a sender
 * that is "" or a UUID; a record to be ignored has the rest zeroed; a malformed one says
 * why in ERR_INVALID. */
#include "config.h"

#include <jansson.h>

#include "aws/ddbstreams_internal.h"
#include "base/clock.h"
#include "base/jparse.h"
#include "base/uuid.h"
#include "messaging/groupsync.h"
#include "fuzz.h"

#define FUZZ_STREAMS_MAX_INPUT (64 * 1024)
#define FUZZ_STREAMS_DEPTH 48 /* awsjson.c's AWSJSON_DEPTH */

static void fuzz_streams_record(const json_t *rec)
{
    groupsync_msg m;
    errinfo e;
    memset(&m, 0x5a, sizeof m);
    errinfo_clear(&e);
    int rc = groupsync_parse_record(rec, &m, &e);
    if (rc != GROUPSYNC_OK) {
        FUZZ_CHECK(rc == GROUPSYNC_BAD);
        FUZZ_CHECK(e.msg[0] != '\0');
        return;
    }
    if (!m.is_message) {
        FUZZ_CHECK(m.group[0] == '\0' && m.created_at[0] == '\0' && m.message == NULL &&
                   m.sender[0] == '\0');
        return;
    }
    FUZZ_CHECK(uuid_is_text(m.group, strlen(m.group)));
    size_t cl = strnlen(m.created_at, sizeof m.created_at);
    FUZZ_CHECK(cl > 0 && cl < sizeof m.created_at);
    int64_t us;
    FUZZ_CHECK(clock_parse_iso8601_us(m.created_at, &us) == 0);
    const char *text = json_string_value(json_object_get(m.message, "S"));
    FUZZ_CHECK(text != NULL);
    FUZZ_CHECK(json_string_length(json_object_get(m.message, "S")) <= GROUPSYNC_MESSAGE_MAX);
    size_t sl = strnlen(m.sender, sizeof m.sender);
    FUZZ_CHECK(sl < sizeof m.sender && (sl == 0 || uuid_is_text(m.sender, sl)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_STREAMS_MAX_INPUT)
        return 0;
    char *p = fuzz_dup(data, size);
    json_t *resp = jparse(p, size, FUZZ_STREAMS_DEPTH, NULL);
    free(p);
    if (!resp)
        return 0;
    json_t *records = (json_t *)1;
    char *next = (char *)1;
    ddb_error err;
    ddb_error_clear(&err);
    if (ddbstreams_records_reply(resp, &records, &next, &err) == 0) {
        FUZZ_CHECK(json_is_array(records));
        FUZZ_CHECK(!next || strlen(next) <= 8192);
        size_t i;
        json_t *rec;
        json_array_foreach(records, i, rec) fuzz_streams_record(rec);
        json_decref(records);
        free(next);
    } else {
        FUZZ_CHECK(records == NULL && next == NULL);
        FUZZ_CHECK(err.info.code == ERR_SERVICE || err.info.code == ERR_NOMEM);
    }
    json_decref(resp);
    return 0;
}
