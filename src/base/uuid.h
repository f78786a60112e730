/* uuid.h — the canonical text form of a UUID: 36 characters, hex digits of either case in
 * groups of 8-4-4-4-12 joined by '-'. Any version (ids made by other tools are accepted);
 * the product writes lowercase (rnd_uuid4). Pure. */
#ifndef CR_UUID_H
#define CR_UUID_H

#include <stdbool.h>
#include <stddef.h>

#define UUID_TEXT_LEN 36
#define UUID_BUF (UUID_TEXT_LEN + 1) /* a buffer for the text and its NUL: char id[UUID_BUF] */

/* Whether the len bytes at s are a UUID in canonical text form. */
bool uuid_is_text(const char *s, size_t len);

/* The UUID at s (len bytes) lowercased into out (UUID_BUF bytes); false, with out
 * "", when it is not in canonical text form. */
bool uuid_to_lower(const char *s, size_t len, char out[UUID_BUF]);

#endif
