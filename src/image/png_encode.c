/* PNG encoder: filter each row, compress, wrap in IHDR/IDAT/IEND chunks. */
#include "image/png_encode.h"

#include <stdlib.h>
#include <string.h>

#include "image/file_io.h"
#include "image/png_common.h"
#include "util/crc32.h"
#include "util/error.h"

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Writes filter type f of row (previous row prev, NULL for the first) to
 * dst; returns the sum of |residual| as signed bytes. */
static unsigned long filter_row(const uint8_t *row, const uint8_t *prev, size_t n, size_t bpp,
                                int f, uint8_t *dst) {
    unsigned long cost = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t a = i >= bpp ? row[i - bpp] : 0, b = prev ? prev[i] : 0;
        uint8_t c = i >= bpp && prev ? prev[i - bpp] : 0;
        dst[i] = (uint8_t)(row[i] - ct_png_predict(f, a, b, c));
        cost += (unsigned long)abs((int8_t)dst[i]);
    }
    return cost;
}

/* Filtered image: each row is its filter byte then the residuals. */
static void filter_image(const uint8_t *pixels, size_t width, size_t height, size_t channels,
                         uint8_t *dst, uint8_t *scratch) {
    size_t n = width * channels;
    for (size_t y = 0; y < height; y++) {
        const uint8_t *row = pixels + y * n, *prev = y ? row - n : NULL;
        uint8_t *out = dst + y * (n + 1);
        unsigned long best = (unsigned long)-1;
        for (int f = 0; f <= 4; f++) {
            unsigned long cost = filter_row(row, prev, n, channels, f, scratch);
            if (cost < best) {
                best = cost;
                out[0] = (uint8_t)f;
                memcpy(out + 1, scratch, n);
            }
        }
    }
}

/* Appends a chunk (length, type, data, CRC) at dst; returns its size. */
static size_t put_chunk(uint8_t *dst, const char *type, const uint8_t *data, size_t len) {
    put_be32(dst, (uint32_t)len);
    memcpy(dst + 4, type, 4);
    if (len) memcpy(dst + 8, data, len);
    put_be32(dst + 8 + len, ct_crc32(0, dst + 4, len + 4));
    return len + 12;
}

static ct_status check_args(int width, int height, int channels, size_t *filtered, ct_error *err) {
    if (channels != 1 && channels != 3 && channels != 4)
        return ct_fail(err, CT_E_ARG, "PNG encoder: %d channels (must be 1, 3 or 4)", channels);
    if (width <= 0 || height <= 0)
        return ct_fail(err, CT_E_ARG, "PNG encoder: bad size %d x %d", width, height);
    uint64_t row = (uint64_t)width * (uint64_t)channels + 1;
    if ((uint64_t)height > (SIZE_MAX / 2) / row)
        return ct_fail(err, CT_E_ARG, "PNG encoder: image %d x %d too large", width, height);
    *filtered = (size_t)(row * (uint64_t)height);
    return CT_OK;
}

ct_status ct_png_encode(const uint8_t *pixels, int width, int height, int channels,
                        ct_deflate_mode mode, uint8_t **out, size_t *out_len, ct_error *err) {
    size_t filtered_len = 0;
    ct_status st = check_args(width, height, channels, &filtered_len, err);
    if (st != CT_OK) return st;
    uint8_t *filtered = malloc(filtered_len), *scratch = malloc((size_t)width * (size_t)channels);
    if (!filtered || !scratch) {
        free(filtered);
        free(scratch);
        return ct_fail(err, CT_E_NOMEM, "out of memory encoding a PNG");
    }
    filter_image(pixels, (size_t)width, (size_t)height, (size_t)channels, filtered, scratch);
    free(scratch);
    uint8_t *z = NULL;
    size_t zlen = 0;
    st = ct_zlib_compress(filtered, filtered_len, mode, &z, &zlen, err);
    free(filtered);
    if (st != CT_OK) return st;
    if (zlen > 0x7fffffffu) {
        free(z);
        return ct_fail(err, CT_E_LIMIT, "PNG encoder: compressed data too large for one IDAT chunk");
    }
    uint8_t *png = malloc(8 + 25 + zlen + 12 + 12);
    if (!png) {
        free(z);
        return ct_fail(err, CT_E_NOMEM, "out of memory encoding a PNG");
    }
    static const uint8_t color_type[5] = {CT_PNG_GRAY, 0, 0, CT_PNG_RGB, CT_PNG_RGBA};
    uint8_t ihdr[13] = {0};
    put_be32(ihdr, (uint32_t)width);
    put_be32(ihdr + 4, (uint32_t)height);
    ihdr[8] = 8;
    ihdr[9] = color_type[channels];
    memcpy(png, ct_png_signature, 8);
    size_t len = 8;
    len += put_chunk(png + len, "IHDR", ihdr, sizeof ihdr);
    len += put_chunk(png + len, "IDAT", z, zlen);
    len += put_chunk(png + len, "IEND", NULL, 0);
    free(z);
    *out = png;
    *out_len = len;
    return CT_OK;
}

ct_status ct_png_write(const char *path, const uint8_t *pixels, int width, int height,
                       int channels, ct_error *err) {
    uint8_t *png;
    size_t len;
    ct_status st = ct_png_encode(pixels, width, height, channels, CT_DEFLATE_FIXED, &png, &len, err);
    if (st != CT_OK) return st;
    st = ct_write_file_atomic(path, png, len, err);
    free(png);
    return st;
}
