/* Image size limits and the sample raster (see raster.h). */
#include "image/raster.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

void ct_image_limits_default(ct_image_limits *lim) {
    lim->max_pixels = CT_IMAGE_DEFAULT_MAX_PIXELS;
    lim->max_bytes = CT_IMAGE_DEFAULT_MAX_BYTES;
}

ct_status ct_image_check_size(uint64_t width, uint64_t height, unsigned channels,
                              unsigned sample_bytes, const ct_image_limits *lim,
                              size_t *bytes, ct_error *err) {
    ct_image_limits defaults;
    if (!lim) {
        ct_image_limits_default(&defaults);
        lim = &defaults;
    }
    if (width == 0 || height == 0)
        return ct_fail(err, CT_E_FORMAT, "image has zero size (%llu x %llu)",
                       (unsigned long long)width, (unsigned long long)height);
    /* Both factors are below 2^32 for every caller, so the products fit. */
    if (width > UINT32_MAX || height > UINT32_MAX || width * height > lim->max_pixels)
        return ct_fail(err, CT_E_LIMIT, "image of %llu x %llu pixels exceeds the limit of %llu pixels",
                       (unsigned long long)width, (unsigned long long)height,
                       (unsigned long long)lim->max_pixels);
    uint64_t total = width * height;
    if (total > UINT64_MAX / ((uint64_t)channels * sample_bytes) ||
        total * channels * sample_bytes > lim->max_bytes ||
        total * channels * sample_bytes > SIZE_MAX)
        return ct_fail(err, CT_E_LIMIT, "image of %llu x %llu x %u samples exceeds the limit of %llu bytes",
                       (unsigned long long)width, (unsigned long long)height, channels,
                       (unsigned long long)lim->max_bytes);
    *bytes = (size_t)(total * channels * sample_bytes);
    return CT_OK;
}

void ct_raster_free(ct_raster *r) {
    free(r->u8);
    free(r->u16);
    memset(r, 0, sizeof *r);
}
