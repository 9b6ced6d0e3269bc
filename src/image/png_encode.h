/* PNG encoding of 8-bit gray, RGB and RGBA images (for overlay and mask
 * pictures), with the zlib stream from deflate.h. */
#ifndef CT_IMAGE_PNG_ENCODE_H
#define CT_IMAGE_PNG_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "ctinfer.h"
#include "image/deflate.h"

/* Encodes pixels [height, width, channels] (channels 1 gray, 3 RGB, 4 RGBA;
 * 8 bits per sample) as a non-interlaced PNG in a buffer it allocates
 * (free() it). Each row gets the filter with the smallest sum of absolute
 * residuals. Fails with CT_E_ARG on a bad size or channel count. */
ct_status ct_png_encode(const uint8_t *pixels, int width, int height, int channels,
                        ct_deflate_mode mode, uint8_t **out, size_t *out_len, ct_error *err);

/* ct_png_encode (fixed-Huffman mode) written atomically to path. */
ct_status ct_png_write(const char *path, const uint8_t *pixels, int width, int height,
                       int channels, ct_error *err);

#endif
