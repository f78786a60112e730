/* hex.h — hexadecimal text: the value of one digit, and bytes as lowercase digits. Pure. */
#ifndef CR_HEX_H
#define CR_HEX_H

#include <stddef.h>

/* The value of the hex digit c (0-9, a-f, A-F), or -1 for any other byte. */
int hex_value(unsigned char c);

/* Writes p[0..n) as 2n lowercase hex digits and a NUL into out (2n + 1 bytes). */
void hex_encode(const unsigned char *p, size_t n, char *out);

#endif
