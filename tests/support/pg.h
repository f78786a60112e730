/* pg.h — the live tests' way to PostgreSQL: CONNECTION_URL (from script/test) or a skip /
 * failure, and conninfo strings for other databases on the same server. */
#ifndef CR_TEST_PG_H
#define CR_TEST_PG_H

#include <stddef.h>

/* CONNECTION_URL, or exit: 77 (skip) normally, 1 (fail) under CRUDDUR_LIVE=1. */
const char *pg_require(void);

/* Drops databases dbs[0 .. n) (NULL or "" entries skipped) after ending their sessions; a
 * clean-up: failures are lines "# cleanup ..." on stderr. */
void pg_drop_dbs(const char *const *dbs, size_t n);

/* CONNECTION_URL as a key=value conninfo on database dbname, plus extra ("" for none), into
 * out (n bytes; cut to fit). Exits 1 when CONNECTION_URL does not parse. */
void pg_conninfo(const char *dbname, const char *extra, char *out, size_t n);

#endif
