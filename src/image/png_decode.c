/* PNG decoder: chunk walk with CRC and ordering checks, then inflate,
 * unfiltering per (Adam7) pass and unpacking into the raster. */
#include "image/png_decode.h"

#include <stdlib.h>
#include <string.h>

#include "image/inflate.h"
#include "image/png_common.h"
#include "util/crc32.h"
#include "util/error.h"

/* Adam7 passes: start and step in x and y; a non-interlaced image is the one
 * pass {0, 0, 1, 1}. */
typedef struct {
    uint32_t x0, y0, dx, dy;
} png_pass;

static const png_pass adam7[7] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                  {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
static const png_pass no_interlace = {0, 0, 1, 1};

/* What the chunks say about the image. */
typedef struct {
    uint32_t width, height;
    int depth, color_type, interlace;
    int file_channels;             /* samples per pixel as stored */
    uint8_t palette[256][4];       /* RGBA; alpha from tRNS, else 255 */
    int palette_size, has_trns;
    int has_key;
    uint16_t key[3];
    size_t idat_bytes;             /* sum of IDAT lengths */
} png_info;

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int ct_png_has_signature(const uint8_t *data, size_t len) {
    return len >= 8 && memcmp(data, ct_png_signature, 8) == 0;
}

/* ---- chunks -------------------------------------------------------------- */

typedef struct {
    char type[5];
    const uint8_t *data;
    uint32_t len;
} png_chunk;

/* Reads the chunk at *pos, checks its bounds, type and CRC, advances *pos. */
static ct_status next_chunk(const uint8_t *file, size_t len, size_t *pos, png_chunk *c,
                            ct_error *err) {
    size_t left = len - *pos;
    if (left < 12)
        return ct_fail(err, CT_E_FORMAT, "truncated PNG: %zu bytes at offset %zu, too few for a chunk (no IEND)",
                       left, *pos);
    const uint8_t *p = file + *pos;
    c->len = be32(p);
    memcpy(c->type, p + 4, 4);
    c->type[4] = '\0';
    for (int i = 0; i < 4; i++) {
        char ch = c->type[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')))
            return ct_fail(err, CT_E_FORMAT, "invalid chunk type bytes at offset %zu", *pos);
    }
    if (c->len > 0x7fffffffu)
        return ct_fail(err, CT_E_FORMAT, "chunk '%s' length %u exceeds 2^31-1", c->type, c->len);
    if (left - 12 < c->len)
        return ct_fail(err, CT_E_FORMAT, "truncated PNG: chunk '%s' needs %u bytes, %zu left",
                       c->type, c->len, left - 12);
    c->data = p + 8;
    uint32_t stored = be32(p + 8 + c->len);
    uint32_t actual = ct_crc32(0, p + 4, (size_t)c->len + 4);
    if (stored != actual)
        return ct_fail(err, CT_E_FORMAT, "CRC mismatch in chunk '%s' (stored %08x, computed %08x)",
                       c->type, stored, actual);
    *pos += 12 + (size_t)c->len;
    return CT_OK;
}

static ct_status parse_ihdr(const png_chunk *c, png_info *info, ct_error *err) {
    if (c->len != 13) return ct_fail(err, CT_E_FORMAT, "IHDR length %u (must be 13)", c->len);
    const uint8_t *d = c->data;
    info->width = be32(d);
    info->height = be32(d + 4);
    info->depth = d[8];
    info->color_type = d[9];
    info->interlace = d[12];
    if (info->width == 0 || info->height == 0 || info->width > 0x7fffffffu || info->height > 0x7fffffffu)
        return ct_fail(err, CT_E_FORMAT, "bad IHDR: image size %u x %u", info->width, info->height);
    int depth = info->depth, ok;
    switch (info->color_type) {
    case CT_PNG_GRAY: ok = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16; break;
    case CT_PNG_PALETTE: ok = depth == 1 || depth == 2 || depth == 4 || depth == 8; break;
    case CT_PNG_RGB: case CT_PNG_GRAY_ALPHA: case CT_PNG_RGBA: ok = depth == 8 || depth == 16; break;
    default: return ct_fail(err, CT_E_FORMAT, "bad IHDR: color type %d", info->color_type);
    }
    if (!ok)
        return ct_fail(err, CT_E_FORMAT, "bad IHDR: bit depth %d is invalid for color type %d",
                       depth, info->color_type);
    if (d[10] != 0) return ct_fail(err, CT_E_FORMAT, "bad IHDR: compression method %d", d[10]);
    if (d[11] != 0) return ct_fail(err, CT_E_FORMAT, "bad IHDR: filter method %d", d[11]);
    if (info->interlace > 1) return ct_fail(err, CT_E_FORMAT, "bad IHDR: interlace method %d", info->interlace);
    static const int channels_of[7] = {1, 0, 3, 1, 2, 0, 4};
    info->file_channels = channels_of[info->color_type];
    return CT_OK;
}

static ct_status parse_plte(const png_chunk *c, png_info *info, ct_error *err) {
    if (info->color_type == CT_PNG_GRAY || info->color_type == CT_PNG_GRAY_ALPHA)
        return ct_fail(err, CT_E_FORMAT, "PLTE chunk in a grayscale image");
    if (info->palette_size)
        return ct_fail(err, CT_E_FORMAT, "more than one PLTE chunk");
    if (c->len == 0 || c->len % 3 != 0 || c->len > 768)
        return ct_fail(err, CT_E_FORMAT, "PLTE length %u (must be 3..768, a multiple of 3)", c->len);
    info->palette_size = (int)(c->len / 3);
    for (int i = 0; i < info->palette_size; i++) {
        memcpy(info->palette[i], c->data + 3 * i, 3);
        info->palette[i][3] = 255;
    }
    return CT_OK;
}

static ct_status parse_trns(const png_chunk *c, png_info *info, ct_error *err) {
    if (info->has_trns) return ct_fail(err, CT_E_FORMAT, "more than one tRNS chunk");
    if (info->color_type == CT_PNG_PALETTE) {
        if (!info->palette_size) return ct_fail(err, CT_E_FORMAT, "tRNS chunk before PLTE");
        if (c->len > (uint32_t)info->palette_size)
            return ct_fail(err, CT_E_FORMAT, "tRNS has %u entries, more than the %d of PLTE",
                           c->len, info->palette_size);
        for (uint32_t i = 0; i < c->len; i++) info->palette[i][3] = c->data[i];
        info->has_trns = 1;
        return CT_OK;
    }
    if (info->color_type == CT_PNG_GRAY_ALPHA || info->color_type == CT_PNG_RGBA)
        return CT_OK;                               /* meaningless next to alpha: ignored */
    uint32_t need = info->color_type == CT_PNG_GRAY ? 2 : 6;
    if (c->len != need)
        return ct_fail(err, CT_E_FORMAT, "tRNS length %u (must be %u for color type %d)",
                       c->len, need, info->color_type);
    for (uint32_t i = 0; i < need / 2; i++)
        info->key[i] = (uint16_t)(c->data[2 * i] << 8 | c->data[2 * i + 1]);
    info->has_trns = info->has_key = 1;
    return CT_OK;
}

/* Handles one chunk between IHDR and IEND (IDAT only counted here). */
static ct_status parse_chunk(const png_chunk *c, png_info *info, int *idat_state, ct_error *err) {
    int is_idat = strcmp(c->type, "IDAT") == 0;
    if (is_idat) {
        if (*idat_state == 2) return ct_fail(err, CT_E_FORMAT, "IDAT chunks are not consecutive");
        if (info->color_type == CT_PNG_PALETTE && !info->palette_size)
            return ct_fail(err, CT_E_FORMAT, "palette image without PLTE before IDAT");
        *idat_state = 1;
        info->idat_bytes += c->len;
        return CT_OK;
    }
    if (*idat_state == 1) *idat_state = 2;
    if (strcmp(c->type, "IHDR") == 0) return ct_fail(err, CT_E_FORMAT, "more than one IHDR chunk");
    if (strcmp(c->type, "PLTE") == 0) {
        if (*idat_state) return ct_fail(err, CT_E_FORMAT, "PLTE chunk after IDAT");
        return parse_plte(c, info, err);
    }
    if (strcmp(c->type, "tRNS") == 0) {
        if (*idat_state) return ct_fail(err, CT_E_FORMAT, "tRNS chunk after IDAT");
        return parse_trns(c, info, err);
    }
    if (!(c->type[0] & 0x20))
        return ct_fail(err, CT_E_FORMAT, "unknown critical chunk '%s'", c->type);
    return CT_OK;                                   /* ancillary: skipped */
}

/* Walks all chunks after the signature, filling info; *idat_start is the
 * offset of the first IDAT chunk. */
static ct_status read_chunks(const uint8_t *file, size_t len, png_info *info, size_t *idat_start,
                             ct_error *err) {
    size_t pos = 8;
    png_chunk c;
    ct_status st = next_chunk(file, len, &pos, &c, err);
    if (st != CT_OK) return st;
    if (strcmp(c.type, "CgBI") == 0)
        return ct_fail(err, CT_E_UNSUPPORTED,
                       "Apple CgBI PNG (iOS-optimized, not standard PNG) is not supported");
    if (strcmp(c.type, "IHDR") != 0)
        return ct_fail(err, CT_E_FORMAT, "first chunk is '%s', not IHDR", c.type);
    st = parse_ihdr(&c, info, err);
    int idat_state = 0;                             /* 0 none yet, 1 in IDATs, 2 after */
    while (st == CT_OK) {
        size_t at = pos;
        st = next_chunk(file, len, &pos, &c, err);
        if (st != CT_OK) break;
        if (strcmp(c.type, "IEND") == 0) {
            if (!idat_state) return ct_fail(err, CT_E_FORMAT, "no IDAT chunk");
            return CT_OK;
        }
        if (strcmp(c.type, "IDAT") == 0 && !idat_state) *idat_start = at;
        st = parse_chunk(&c, info, &idat_state, err);
    }
    return st;
}

/* Concatenates the consecutive IDAT chunks starting at file[pos]. */
static void gather_idat(const uint8_t *file, size_t pos, uint8_t *dst, size_t total) {
    size_t done = 0;
    while (done < total) {
        uint32_t n = be32(file + pos);
        memcpy(dst + done, file + pos + 8, n);
        done += n;
        pos += 12 + (size_t)n;
    }
}

/* ---- pixels -------------------------------------------------------------- */

static uint32_t pass_extent(uint32_t size, uint32_t start, uint32_t step) {
    return size > start ? (size - start + step - 1) / step : 0;
}

static uint64_t row_bytes(const png_info *info, uint32_t width) {
    return ((uint64_t)width * (uint64_t)info->file_channels * (uint64_t)info->depth + 7) / 8;
}

/* Bytes of filtered data (filter byte + row, per row of each pass). */
static uint64_t filtered_size(const png_info *info) {
    int npass = info->interlace ? 7 : 1;
    uint64_t total = 0;
    for (int p = 0; p < npass; p++) {
        const png_pass *ps = info->interlace ? &adam7[p] : &no_interlace;
        uint32_t w = pass_extent(info->width, ps->x0, ps->dx);
        uint32_t h = pass_extent(info->height, ps->y0, ps->dy);
        if (w && h) total += (uint64_t)h * (1 + row_bytes(info, w));
    }
    return total;
}

/* Undoes filter type 0-4 of one row in place; prev is the unfiltered
 * previous row of the same pass, or NULL for the first. */
static void unfilter_row(uint8_t *row, const uint8_t *prev, size_t n, size_t bpp, int filter) {
    for (size_t i = 0; i < n; i++) {
        uint8_t a = i >= bpp ? row[i - bpp] : 0, b = prev ? prev[i] : 0;
        uint8_t c = i >= bpp && prev ? prev[i - bpp] : 0;
        row[i] = (uint8_t)(row[i] + ct_png_predict(filter, a, b, c));
    }
}

/* Sample i of an unfiltered row. */
static unsigned row_sample(const uint8_t *row, size_t i, int depth) {
    if (depth == 16) return (unsigned)row[2 * i] << 8 | row[2 * i + 1];
    if (depth == 8) return row[i];
    size_t bit = i * (size_t)depth;
    return (row[bit / 8] >> (8 - depth - (int)(bit % 8))) & ((1u << depth) - 1);
}

/* Writes the pixels of one unfiltered pass row into the raster. */
static ct_status store_row(const png_info *info, const uint8_t *row, uint32_t w, const png_pass *ps,
                           uint32_t y, ct_raster *out, ct_error *err) {
    size_t oc = (size_t)out->channels, fc = (size_t)info->file_channels;
    for (uint32_t x = 0; x < w; x++) {
        size_t at = ((size_t)y * out->width + (size_t)ps->x0 + (size_t)x * ps->dx) * oc;
        if (info->color_type == CT_PNG_PALETTE) {
            unsigned index = row_sample(row, x, info->depth);
            if (index >= (unsigned)info->palette_size)
                return ct_fail(err, CT_E_FORMAT, "palette index %u out of range (PLTE has %d entries) at pixel (%zu, %u)",
                               index, info->palette_size, (size_t)ps->x0 + (size_t)x * ps->dx, y);
            memcpy(out->u8 + at, info->palette[index], oc);
        } else if (out->u16) {
            for (size_t c = 0; c < fc; c++) out->u16[at + c] = (uint16_t)row_sample(row, x * fc + c, 16);
        } else {
            for (size_t c = 0; c < fc; c++) out->u8[at + c] = (uint8_t)row_sample(row, x * fc + c, info->depth);
        }
    }
    return CT_OK;
}

/* Unfilters every pass of the inflated data and stores its pixels. */
static ct_status decode_passes(const png_info *info, uint8_t *data, ct_raster *out, ct_error *err) {
    int npass = info->interlace ? 7 : 1;
    size_t bpp = ((size_t)info->file_channels * (size_t)info->depth + 7) / 8;
    for (int p = 0; p < npass; p++) {
        const png_pass *ps = info->interlace ? &adam7[p] : &no_interlace;
        uint32_t w = pass_extent(info->width, ps->x0, ps->dx);
        uint32_t h = pass_extent(info->height, ps->y0, ps->dy);
        if (!w || !h) continue;
        size_t n = (size_t)row_bytes(info, w);
        const uint8_t *prev = NULL;
        for (uint32_t r = 0; r < h; r++) {
            uint8_t *row = data + 1;
            if (data[0] > 4) {
                if (info->interlace)
                    return ct_fail(err, CT_E_FORMAT, "invalid filter type %d in row %u of Adam7 pass %d",
                                   data[0], r, p + 1);
                return ct_fail(err, CT_E_FORMAT, "invalid filter type %d in row %u", data[0], r);
            }
            unfilter_row(row, prev, n, bpp, data[0]);
            ct_status st = store_row(info, row, w, ps, ps->y0 + r * ps->dy, out, err);
            if (st != CT_OK) return st;
            prev = row;
            data += 1 + n;
        }
    }
    return CT_OK;
}

/* Checks the size of the decompressed data against the limits. */
static ct_status check_filtered_size(const png_info *info, const ct_image_limits *lim, size_t *size,
                                     ct_error *err) {
    uint64_t expect = filtered_size(info);
    uint64_t max_bytes = lim ? lim->max_bytes : CT_IMAGE_DEFAULT_MAX_BYTES;
    if (expect > max_bytes || expect > SIZE_MAX)
        return ct_fail(err, CT_E_LIMIT, "image needs %llu bytes of decompressed data, over the limit of %llu",
                       (unsigned long long)expect, (unsigned long long)max_bytes);
    *size = (size_t)expect;
    return CT_OK;
}

/* Allocates the raster for info after checking the limits on it and on the
 * decompressed data (whose size goes to *filtered_bytes). */
static ct_status alloc_raster(const png_info *info, const ct_image_limits *lim, ct_raster *out,
                              size_t *filtered_bytes, ct_error *err) {
    int palette = info->color_type == CT_PNG_PALETTE;
    out->width = (int)info->width;
    out->height = (int)info->height;
    out->channels = palette ? (info->has_trns ? 4 : 3) : info->file_channels;
    out->bit_depth = palette ? 8 : info->depth;
    out->has_color_key = info->has_key;
    memcpy(out->color_key, info->key, sizeof out->color_key);
    size_t bytes;
    ct_status st = ct_image_check_size(info->width, info->height, (unsigned)out->channels,
                                       out->bit_depth == 16 ? 2 : 1, lim, &bytes, err);
    if (st == CT_OK) st = check_filtered_size(info, lim, filtered_bytes, err);
    if (st != CT_OK) return st;
    if (out->bit_depth == 16)
        out->u16 = malloc(bytes);
    else
        out->u8 = malloc(bytes);
    if (!out->u16 && !out->u8) return ct_fail(err, CT_E_NOMEM, "out of memory for %zu bytes of samples", bytes);
    return CT_OK;
}

/* Inflates the gathered IDAT data into exactly `expect` bytes. */
static ct_status inflate_idat(const uint8_t *file, size_t idat_start, const png_info *info,
                              size_t expect, uint8_t **filtered, ct_error *err) {
    uint8_t *zdata = malloc(info->idat_bytes ? info->idat_bytes : 1);
    *filtered = malloc((size_t)expect);
    if (!zdata || !*filtered) {
        free(zdata);
        return ct_fail(err, CT_E_NOMEM, "out of memory for %zu bytes of image data", expect);
    }
    gather_idat(file, idat_start, zdata, info->idat_bytes);
    size_t got = 0;
    ct_status st = ct_inflate_zlib(zdata, info->idat_bytes, *filtered, expect, &got, err);
    free(zdata);
    if (st != CT_OK) {
        ct_error_prefix(err, "IDAT");
        return st;
    }
    if (got != expect)
        return ct_fail(err, CT_E_FORMAT, "IDAT: image data truncated (%zu of %zu bytes)", got, expect);
    return CT_OK;
}

ct_status ct_png_decode(const uint8_t *data, size_t len, const ct_image_limits *lim,
                        ct_raster *out, ct_error *err) {
    memset(out, 0, sizeof *out);
    if (!ct_png_has_signature(data, len))
        return ct_fail(err, CT_E_FORMAT, "not a PNG file (bad signature)");
    png_info info;
    memset(&info, 0, sizeof info);
    size_t idat_start = 0, filtered_bytes = 0;
    ct_status st = read_chunks(data, len, &info, &idat_start, err);
    if (st == CT_OK) st = alloc_raster(&info, lim, out, &filtered_bytes, err);
    uint8_t *filtered = NULL;
    if (st == CT_OK) st = inflate_idat(data, idat_start, &info, filtered_bytes, &filtered, err);
    if (st == CT_OK) st = decode_passes(&info, filtered, out, err);
    free(filtered);
    if (st != CT_OK) ct_raster_free(out);
    return st;
}
