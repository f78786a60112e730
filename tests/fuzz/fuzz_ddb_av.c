/* fuzz_ddb_av.c — DynamoDB attribute values from outside (aws/ddb_av.c): the input is JSON
 * (parsed with jparse, as replies are); an object is validated as an item, anything else as
 * one attribute value. Invariants: a value that validates has a type and converts to plain
 * JSON; plain JSON converts back to values that validate; the item accessors never fail on
 * anything (and agree with the value's type); an invalid value says so in ERR_INVALID. */
#include "config.h"

#include <jansson.h>

#include "aws/ddb_av.h"
#include "base/jparse.h"
#include "fuzz.h"

#define FUZZ_DDB_AV_MAX_INPUT (32 * 1024)
#define FUZZ_DDB_AV_DEPTH 80

static void fuzz_ddb_av_plain_back(const json_t *plain, bool item)
{
    json_t *back = item ? ddb_av_item_from_plain(plain) : ddb_av_from_plain(plain);
    if (back) {
        errinfo e;
        FUZZ_CHECK((item ? ddb_av_validate_item(back, &e) : ddb_av_validate(back, &e)) == 0);
        json_t *again = item ? ddb_av_item_to_plain(back) : ddb_av_to_plain(back);
        FUZZ_CHECK(again != NULL);
        json_decref(again);
    }
    json_decref(back);
}

static void fuzz_ddb_av_accessors(const json_t *item)
{
    const char *name;
    json_t *av;
    json_object_foreach((json_t *)item, name, av)
    {
        ddb_av_type t = ddb_av_type_of(av);
        const char *s = ddb_av_get_s(item, name);
        FUZZ_CHECK((s != NULL) == (t == DDB_AV_S));
        int64_t i;
        bool b;
        if (ddb_av_get_i64(item, name, &i) == 0)
            FUZZ_CHECK(t == DDB_AV_N);
        if (ddb_av_get_bool(item, name, &b) == 0)
            FUZZ_CHECK(t == DDB_AV_BOOL);
        buf out;
        buf_init(&out, 64 * 1024);
        if (ddb_av_get_b(item, name, &out) == 0)
            FUZZ_CHECK(t == DDB_AV_B);
        buf_cleanup(&out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_DDB_AV_MAX_INPUT)
        return 0;
    char *p = fuzz_dup(data, size);
    json_t *v = jparse(p, size, FUZZ_DDB_AV_DEPTH, NULL);
    free(p);
    if (!v)
        return 0;
    errinfo e;
    errinfo_clear(&e);
    /* every value as one AV */
    if (ddb_av_validate(v, &e) == 0) {
        FUZZ_CHECK(ddb_av_type_of(v) != DDB_AV_INVALID);
        json_t *plain = ddb_av_to_plain(v);
        FUZZ_CHECK(plain != NULL);
        fuzz_ddb_av_plain_back(plain, false);
        json_decref(plain);
    } else {
        FUZZ_CHECK(e.code == ERR_INVALID && e.msg[0]);
    }
    /* an object as an item */
    if (json_is_object(v)) {
        fuzz_ddb_av_accessors(v);
        if (ddb_av_validate_item(v, &e) == 0) {
            json_t *plain = ddb_av_item_to_plain(v);
            FUZZ_CHECK(plain != NULL && json_is_object(plain));
            FUZZ_CHECK(json_object_size(plain) == json_object_size(v));
            fuzz_ddb_av_plain_back(plain, true);
            json_decref(plain);
        } else {
            FUZZ_CHECK(e.code == ERR_INVALID && e.msg[0]);
        }
    }
    /* any plain JSON into values */
    fuzz_ddb_av_plain_back(v, false);
    if (json_is_object(v))
        fuzz_ddb_av_plain_back(v, true);
    json_decref(v);
    return 0;
}
