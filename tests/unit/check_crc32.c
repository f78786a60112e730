/* check_crc32.c — crc32_of gives zlib's crc32 for every length and alignment around the
 * folding boundaries, continued in pieces, and on a DynamoDB-sized reply. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/crc32.h"
#include "tap.h"

static unsigned char cc_data[1 << 17];

static void cc_fill(void)
{
    uint64_t s = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < sizeof cc_data; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        cc_data[i] = (unsigned char)s;
    }
}

START_TEST(every_length_and_alignment_matches_zlib)
{
    cc_fill();
    for (size_t n = 0; n <= 1100; n++)
        for (size_t off = 0; off < 4; off++) {
            /* an exact-size copy, so ASan sees any read past the end */
            unsigned char *c = malloc(n ? n : 1);
            ck_assert_ptr_nonnull(c);
            memcpy(c, cc_data + off * 7, n);
            uint32_t want = (uint32_t)crc32(0L, c, (uInt)n);
            ck_assert_msg(crc32_of(0, c, n) == want, "length %zu, offset %zu", n, off);
            free(c);
        }
    ck_assert_uint_eq(crc32_of(0, NULL, 0), 0);
    ck_assert_uint_eq(crc32_of(0x1234, NULL, 0), 0x1234);
}
END_TEST

START_TEST(pieces_continue_the_crc)
{
    cc_fill();
    uint32_t want = (uint32_t)crc32(0L, cc_data, sizeof cc_data);
    ck_assert_uint_eq(crc32_of(0, cc_data, sizeof cc_data), want);
    size_t cuts[] = { 1, 15, 16, 63, 64, 65, 1000, 4096, 7461 };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        uint32_t c = crc32_of(0, cc_data, cuts[i]);
        c = crc32_of(c, cc_data + cuts[i], sizeof cc_data - cuts[i]);
        ck_assert_uint_eq(c, want);
    }
    /* a known value: the CRC-32 check string */
    ck_assert_uint_eq(crc32_of(0, "123456789", 9), 0xcbf43926u);
    const char *s = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
    ck_assert_uint_eq(crc32_of(0, s, strlen(s)),
                      (uint32_t)crc32(0L, (const Bytef *)s, (uInt)strlen(s)));
}
END_TEST

static Suite *crc32_suite(void)
{
    Suite *s = suite_create("crc32");
    TCase *tc = tcase_create("zlib");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_length_and_alignment_matches_zlib);
    tcase_add_test(tc, pieces_continue_the_crc);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tap_run(crc32_suite());
}
