/* embed.h — data files built into the programs (sql/ and ddb-schema/), looked up by their
 * path in the source tree, e.g. "sql/users/by_handle.sql". */
#ifndef CR_EMBED_H
#define CR_EMBED_H

#include <stddef.h>

typedef struct embed_file {
    const char *name;
    const char *data; /* NUL-terminated */
    size_t len;
} embed_file;

/* Terminated by an entry with a NULL name. */
extern const embed_file embed_files[];

/* The file's contents (static, NUL-terminated) and *len, or NULL when there is no such
 * file. len may be NULL. */
const char *embed_get(const char *name, size_t *len);

#endif
