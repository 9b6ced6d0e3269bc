/* Decoded images shared by the PNG and DICOM readers: the sample raster and
 * the size limits every decoder enforces before it allocates. */
#ifndef CT_IMAGE_RASTER_H
#define CT_IMAGE_RASTER_H

#include <stddef.h>
#include <stdint.h>

#include "ctinfer.h"

/* Default limits. A decoder refuses (CT_E_LIMIT) any image with more than
 * max_pixels pixels (width*height, per frame) and any single buffer it would
 * have to allocate (decompressed data, samples) larger than max_bytes; both
 * are checked from the header, before any allocation, so a small file cannot
 * make a decoder allocate more (no decompression bombs). */
#define CT_IMAGE_DEFAULT_MAX_PIXELS (64ull << 20)   /* 64 Mpixel, e.g. 8192 x 8192 */
#define CT_IMAGE_DEFAULT_MAX_BYTES  (1ull << 30)    /* 1 GiB */

typedef struct {
    uint64_t max_pixels;
    uint64_t max_bytes;
} ct_image_limits;

/* Fills lim with the defaults above. */
void ct_image_limits_default(ct_image_limits *lim);

/* Checks a width x height image of `channels` samples of `sample_bytes` bytes
 * each against lim (NULL: the defaults) and size_t; on success stores the byte
 * size of the samples in *bytes. */
ct_status ct_image_check_size(uint64_t width, uint64_t height, unsigned channels,
                              unsigned sample_bytes, const ct_image_limits *lim,
                              size_t *bytes, ct_error *err);

/* Samples as a decoder hands them out: row-major, channels interleaved.
 * Exactly one of u8 / u16 is non-NULL: u8 when bit_depth <= 8 (sub-byte
 * samples unpacked to 0..2^depth-1), u16 when bit_depth == 16. */
typedef struct {
    int width, height;
    int channels;     /* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
    int bit_depth;    /* depth of the sample values: 1, 2, 4, 8 or 16 */
    uint8_t *u8;      /* [height, width, channels] or NULL */
    uint16_t *u16;    /* [height, width, channels] or NULL */
    /* PNG tRNS colour key of a gray or RGB image, not applied to the samples
     * (has_color_key = 0 for every other image). */
    int has_color_key;
    uint16_t color_key[3];
} ct_raster;

/* Frees the samples and zeroes the struct; safe on a zeroed raster. */
void ct_raster_free(ct_raster *r);

#endif
