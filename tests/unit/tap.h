/* tap.h — runs one Check suite; with CK_TAP_LOG_FILE_NAME=- (set by the harness) Check
 * prints TAP, so the automake harness counts each test case. */
#ifndef CR_TEST_TAP_H
#define CR_TEST_TAP_H

#include <check.h>
#include <stdlib.h>

static inline int tap_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
