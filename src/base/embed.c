/* embed.c — lookup of the data files built into the programs. */
#include "config.h"
#include "base/embed.h"

#include <string.h>

const char *embed_get(const char *name, size_t *len)
{
    for (const embed_file *f = embed_files; f->name; f++)
        if (strcmp(f->name, name) == 0) {
            if (len)
                *len = f->len;
            return f->data;
        }
    return NULL;
}
