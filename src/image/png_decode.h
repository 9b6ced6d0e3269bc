/* PNG decoding: every valid PNG (bit depths 1-16, gray, gray+alpha, RGB,
 * RGBA, palette with tRNS, Adam7) to a sample raster. */
#ifndef CT_IMAGE_PNG_DECODE_H
#define CT_IMAGE_PNG_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "ctinfer.h"
#include "image/raster.h"

/* 1 when data starts with the 8-byte PNG signature. */
int ct_png_has_signature(const uint8_t *data, size_t len);

/* Decodes the PNG in data[0..len) into out (free with ct_raster_free).
 * The raster holds the samples de-interlaced, row-major, channels
 * interleaved: gray, gray+alpha, RGB and RGBA keep their channels and depth
 * (1/2/4-bit samples unpacked to one byte each, values 0..2^depth-1; 16-bit
 * samples as uint16); palette images are expanded to 8-bit RGB, or RGBA when
 * a tRNS chunk is present (entries past its end are opaque). A gray or RGB
 * tRNS colour key is reported in out->color_key, not applied.
 *
 * Every chunk CRC is checked; ancillary chunks are skipped (tRNS in an image
 * with an alpha channel is ignored, as libpng does); unknown critical chunks,
 * IDAT chunks that are not consecutive, palette indices past the PLTE entries
 * and a missing IEND are errors (CT_E_FORMAT, with a message naming the
 * problem). Images larger than lim (NULL: defaults) fail with CT_E_LIMIT
 * before anything is allocated; Apple CgBI files fail with CT_E_UNSUPPORTED. */
ct_status ct_png_decode(const uint8_t *data, size_t len, const ct_image_limits *lim,
                        ct_raster *out, ct_error *err);

#endif
