/* Inflate: decompression of DEFLATE (RFC 1951) streams, raw or wrapped in a
 * zlib container (RFC 1950) with its Adler-32 check. Stored, fixed-Huffman
 * and dynamic-Huffman blocks are all supported. */
#ifndef CT_IMAGE_INFLATE_H
#define CT_IMAGE_INFLATE_H

#include <stddef.h>
#include <stdint.h>

#include "ctinfer.h"

/* Adler-32 (RFC 1950): start with adler = 1; continues like ct_crc32. */
uint32_t ct_adler32(uint32_t adler, const void *data, size_t len);

/* Decompresses the zlib stream in[0..len) into out[0..out_cap). On success
 * *out_len is the number of bytes produced (at most out_cap). A stream that
 * would produce more than out_cap bytes fails with CT_E_FORMAT. Bytes after
 * the Adler-32 trailer are ignored. A preset dictionary is refused. */
ct_status ct_inflate_zlib(const uint8_t *in, size_t len, uint8_t *out, size_t out_cap,
                          size_t *out_len, ct_error *err);

/* Decompresses a raw DEFLATE stream into a buffer it allocates (free() it;
 * non-NULL on success, even for empty output), growing it as needed up to
 * max_out bytes; more output fails with CT_E_LIMIT. *in_used (may be NULL)
 * receives the compressed bytes consumed through the end of the final block. */
ct_status ct_inflate_raw_alloc(const uint8_t *in, size_t len, size_t max_out,
                               uint8_t **out, size_t *out_len, size_t *in_used,
                               ct_error *err);

#endif
