/* crc32.h — the CRC-32 of zlib (IEEE 802.3, reflected, as in the x-amz-crc32 header of
 * DynamoDB replies), with carry-less multiplication (PCLMULQDQ) where the CPU has it. */
#ifndef CR_CRC32_H
#define CR_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* The CRC of p[0..n) continuing from crc (0 to start): the same value as zlib's
 * crc32(crc, p, n). Thread-safe; p may be NULL when n is 0. */
uint32_t crc32_of(uint32_t crc, const void *p, size_t n);

#endif
