/* Deflate compression into a zlib stream (RFC 1950/1951) for the PNG
 * encoder: stored blocks, or one fixed-Huffman block with LZ77 matches. */
#ifndef CT_IMAGE_DEFLATE_H
#define CT_IMAGE_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

#include "ctinfer.h"

typedef enum {
    CT_DEFLATE_STORED,   /* no compression: stored blocks of up to 65535 bytes */
    CT_DEFLATE_FIXED     /* LZ77 (hash chains, 32 KiB window) + the fixed Huffman code */
} ct_deflate_mode;

/* Compresses in[0..len) into a zlib stream in a buffer it allocates (free()
 * it). Fails only with CT_E_NOMEM or CT_E_LIMIT (output beyond SIZE_MAX). */
ct_status ct_zlib_compress(const uint8_t *in, size_t len, ct_deflate_mode mode,
                           uint8_t **out, size_t *out_len, ct_error *err);

#endif
