/* fuzz_cursor.c — the API's paging input (api/cursor.c): the first input byte picks
 *   even: a ?cursor= value as is (cursor_decode against a fixed partition);
 *   odd:  a whole query string (cursor_page_args_parse, limit 1..50, default 20).
 * A decoded cursor is {"pk":{"S":<the partition>},"sk":{"S":<1..CURSOR_KEY_MAX bytes>}},
 * encodes again, and that encoding decodes to the same key; a failure leaves nothing to
 * free and says ERR_INVALID. */
#include "config.h"

#include <jansson.h>

#include "api/cursor.h"
#include "fuzz.h"

#define FUZZ_CURSOR_MAX_INPUT (4 * 1024)
#define FUZZ_CURSOR_PK "MSG#5ae290ed-55d1-47a0-bc6d-fe2bc2700399"

static void fuzz_cursor_check_key(const json_t *k)
{
    FUZZ_CHECK(json_is_object(k) && json_object_size(k) == 2);
    const char *pk = json_string_value(json_object_get(json_object_get(k, "pk"), "S"));
    const char *sk = json_string_value(json_object_get(json_object_get(k, "sk"), "S"));
    FUZZ_CHECK(pk && strcmp(pk, FUZZ_CURSOR_PK) == 0);
    FUZZ_CHECK(sk && *sk && strlen(sk) <= CURSOR_KEY_MAX);
    char text[CURSOR_MAX_LEN + 1];
    errinfo e;
    FUZZ_CHECK(cursor_encode(k, text, sizeof text, &e) == 0);
    json_t *again = NULL;
    FUZZ_CHECK(cursor_decode(strv_from(text), FUZZ_CURSOR_PK, &again, &e) == 0);
    FUZZ_CHECK(json_equal(again, k));
    json_decref(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_CURSOR_MAX_INPUT)
        return 0;
    bool query = data[0] & 1;
    char *p = fuzz_dup(data + 1, size - 1);
    strv in = { p, size - 1 };
    errinfo e;
    if (!query) {
        json_t *k = (json_t *)1;
        if (cursor_decode(in, FUZZ_CURSOR_PK, &k, &e) == 0) {
            FUZZ_CHECK(in.len <= CURSOR_MAX_LEN);
            fuzz_cursor_check_key(k);
            json_decref(k);
        } else {
            FUZZ_CHECK(k == NULL);
            FUZZ_CHECK(e.code == ERR_INVALID);
        }
    } else {
        cursor_page_args a;
        if (cursor_page_args_parse(in, FUZZ_CURSOR_PK, 20, 50, &a, &e) == 0) {
            FUZZ_CHECK(a.limit >= 1 && a.limit <= 50);
            if (a.start_key)
                fuzz_cursor_check_key(a.start_key);
            cursor_page_args_cleanup(&a);
        } else {
            FUZZ_CHECK(a.start_key == NULL);
            FUZZ_CHECK(e.code == ERR_INVALID);
        }
    }
    free(p);
    return 0;
}
