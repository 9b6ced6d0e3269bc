/* CRC-32 with the zlib/PNG/ZIP polynomial (reflected 0xEDB88320). */
#ifndef CT_UTIL_CRC32_H
#define CT_UTIL_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: start with crc = 0; ct_crc32(ct_crc32(0, a, n), b, m) equals
 * the CRC of a followed by b. */
uint32_t ct_crc32(uint32_t crc, const void *data, size_t len);
/* The same with lookup tables only: the reference twin of the folded path
 * ct_crc32 takes on CPUs with carry-less multiply. */
uint32_t ct_crc32_table(uint32_t crc, const void *data, size_t len);

#endif
