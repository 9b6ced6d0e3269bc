/* PNG decoder and encoder: the whole PngSuite against its published digests,
 * corrupt and truncated files, hand-made edge cases, limits, and encoder
 * round trips through the decoder. */
#include "test.h"

#include <stdint.h>
#include <string.h>

#include "image/deflate.h"
#include "image/file_io.h"
#include "image/png_decode.h"
#include "image/png_encode.h"
#include "image/slice.h"
#include "support/sha256.h"
#include "support/tsv.h"
#include "util/crc32.h"

#define SUITE "tests/fixtures/pngsuite/"

/* ---- helpers ------------------------------------------------------------- */

static uint8_t *load(const char *path, size_t *len) {
    uint8_t *data = NULL;
    ct_error err;
    if (ct_read_file(path, 1u << 24, &data, len, &err) != CT_OK) {
        printf("    cannot load %s: %s\n", path, err.message);
        return NULL;
    }
    return data;
}

/* The MANIFEST's sha256_expanded_u16le: every sample as little-endian uint16. */
static void raster_digest(const ct_raster *r, char hex[65]) {
    size_t n = (size_t)r->width * (size_t)r->height * (size_t)r->channels;
    uint8_t *le = malloc(2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v = r->u16 ? r->u16[i] : r->u8[i];
        le[2 * i] = (uint8_t)v;
        le[2 * i + 1] = (uint8_t)(v >> 8);
    }
    sha256_hex(le, 2 * n, hex);
    free(le);
}

/* Rewrites the CRC of the chunk that contains byte `at` (so that a flipped
 * byte reaches the stage behind the CRC check); no-op if none is found. */
static void fix_crc_around(uint8_t *png, size_t len, size_t at) {
    size_t pos = 8;
    while (pos + 12 <= len) {
        uint32_t n = (uint32_t)png[pos] << 24 | (uint32_t)png[pos + 1] << 16 | (uint32_t)png[pos + 2] << 8 | png[pos + 3];
        if (n > len - pos - 12) return;
        if (at >= pos && at < pos + 12 + n) {
            uint32_t crc = ct_crc32(0, png + pos + 4, (size_t)n + 4);
            for (int i = 0; i < 4; i++) png[pos + 8 + n + i] = (uint8_t)(crc >> (24 - 8 * i));
            return;
        }
        pos += 12 + (size_t)n;
    }
}

/* ---- PngSuite ------------------------------------------------------------ */

static int suite_ok, suite_rejected;

/* The specific message each corrupt file must produce. */
static const char *expected_message(const char *file) {
    static const struct { const char *prefix, *message; } table[] = {
        {"xc1", "color type 1"}, {"xc9", "color type 9"}, {"xcr", "signature"},
        {"xcs", "CRC mismatch in chunk 'IDAT'"}, {"xd0", "bit depth 0"}, {"xd3", "bit depth 3"},
        {"xd9", "bit depth 99"}, {"xdt", "no IDAT"}, {"xhd", "CRC mismatch in chunk 'IHDR'"},
        {"xlf", "signature"}, {"xs1", "signature"}, {"xs2", "signature"}, {"xs4", "signature"},
        {"xs7", "signature"}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strncmp(file, table[i].prefix, 3) == 0) return table[i].message;
    return NULL;
}

static void check_suite_file(char **f, int n) {
    if (n < 11) {
        CHECKF(0, "short MANIFEST line (%d fields)", n);
        return;
    }
    char path[256];
    snprintf(path, sizeof path, SUITE "%s", f[1]);
    size_t len;
    uint8_t *data = load(path, &len);
    CHECKF(data != NULL, "%s missing", path);
    if (!data) return;
    ct_raster r;
    ct_error err = {0, ""};
    ct_status st = ct_png_decode(data, len, NULL, &r, &err);
    if (strcmp(f[5], "ok") == 0) {
        CHECKF(st == CT_OK, "%s: %s", f[1], err.message);
        if (st == CT_OK) {
            char hex[65];
            raster_digest(&r, hex);
            CHECKF(strcmp(hex, f[10]) == 0, "%s: digest %s, expected %s", f[1], hex, f[10]);
            suite_ok++;
        }
    } else {
        const char *want = expected_message(f[1]);
        CHECKF(st == CT_E_FORMAT, "%s: corrupt file gave status %d", f[1], st);
        CHECKF(want && strstr(err.message, want), "%s: message \"%s\" lacks \"%s\"", f[1], err.message,
               want ? want : "?");
        suite_rejected++;
    }
    ct_raster_free(&r);
    free(data);
}

static void test_pngsuite(void) {
    suite_ok = suite_rejected = 0;
    int rows = tsv_for_each_row(SUITE "MANIFEST.tsv", 1, check_suite_file);
    CHECKF(rows == 175, "%d MANIFEST rows", rows);
    CHECKF(suite_ok == 161 && suite_rejected == 14, "%d decoded, %d rejected", suite_ok, suite_rejected);
}

/* Every strict prefix of a valid file fails (the IEND chunk is required);
 * every byte flip, with the chunk CRC repaired so the damage reaches
 * inflate and unfiltering, either decodes or fails with a message. */
static void test_truncation_and_flips(void) {
    static const char *const files[] = {
        "basn0g01.png", "basi0g02.png", "basn0g04.png", "basi0g16.png", "basn2c08.png", "basi2c16.png",
        "basn3p01.png", "basi3p02.png", "basi3p04.png", "basi4a08.png", "basi6a08.png", "tm3n3p02.png",
        "tbbn0g04.png", "f02n0g08.png", "f03n0g08.png", "s01i3p01.png", "s35i3p04.png", "z09n2c08.png"};
    int flips = 0, flip_errors = 0;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char path[256];
        snprintf(path, sizeof path, SUITE "%s", files[f]);
        size_t len;
        uint8_t *data = load(path, &len);
        if (!data) {
            CHECKF(0, "%s missing", path);
            continue;
        }
        ct_raster r;
        ct_error err;
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *prefix = malloc(cut ? cut : 1);   /* exact size: ASan sees overreads */
            memcpy(prefix, data, cut);
            err.message[0] = '\0';
            ct_status st = ct_png_decode(prefix, cut, NULL, &r, &err);
            CHECKF(st == CT_E_FORMAT && err.message[0] && r.u8 == NULL && r.u16 == NULL,
                   "%s cut at %zu: status %d", files[f], cut, st);
            free(prefix);
        }
        uint8_t *copy = malloc(len);
        for (size_t at = 8; at < len; at++) {
            static const uint8_t masks[] = {0x01, 0xff};
            for (size_t m = 0; m < sizeof masks; m++) {
                memcpy(copy, data, len);
                copy[at] ^= masks[m];
                fix_crc_around(copy, len, at);
                err.message[0] = '\0';
                ct_status st = ct_png_decode(copy, len, NULL, &r, &err);
                CHECKF(st == CT_OK || err.message[0], "%s flip at %zu: status %d without message", files[f], at, st);
                flips++;
                flip_errors += st != CT_OK;
                ct_raster_free(&r);
            }
        }
        free(copy);
        free(data);
    }
    CHECKF(flip_errors > flips / 4, "only %d of %d flips rejected", flip_errors, flips);
}

/* ---- hand-made files ----------------------------------------------------- */

typedef struct {
    uint8_t data[1 << 14];
    size_t len;
} png_buf;

static void put_bytes(png_buf *b, const void *p, size_t n) {
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void put_chunk(png_buf *b, const char *type, const void *data, size_t n) {
    uint8_t be[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    put_bytes(b, be, 4);
    size_t start = b->len;
    put_bytes(b, type, 4);
    if (n) put_bytes(b, data, n);
    uint32_t crc = ct_crc32(0, b->data + start, n + 4);
    uint8_t c[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc};
    put_bytes(b, c, 4);
}

/* Signature and IHDR. */
static void start_png(png_buf *b, uint32_t w, uint32_t h, int depth, int color, int interlace) {
    b->len = 0;
    put_bytes(b, "\x89PNG\r\n\x1a\n", 8);
    uint8_t ihdr[13] = {(uint8_t)(w >> 24), (uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w,
                        (uint8_t)(h >> 24), (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h,
                        (uint8_t)depth, (uint8_t)color, 0, 0, (uint8_t)interlace};
    put_chunk(b, "IHDR", ihdr, 13);
}

/* IDAT holding the zlib-compressed `filtered` bytes. */
static void put_idat(png_buf *b, const uint8_t *filtered, size_t n) {
    uint8_t *z = NULL;
    size_t zlen = 0;
    ct_error err;
    if (ct_zlib_compress(filtered, n, CT_DEFLATE_FIXED, &z, &zlen, &err) == CT_OK) put_chunk(b, "IDAT", z, zlen);
    free(z);
}

/* Decodes b, expecting status `want` and a message containing `text`. */
static void expect_error(const png_buf *b, ct_status want, const char *text, const char *what) {
    ct_raster r;
    ct_error err = {0, ""};
    ct_status st = ct_png_decode(b->data, b->len, NULL, &r, &err);
    CHECKF(st == want && strstr(err.message, text), "%s: status %d, message \"%s\", wanted \"%s\"", what, st,
           err.message, text);
    ct_raster_free(&r);
}

static void test_hand_made_errors(void) {
    /* 2 x 2 gray 8-bit: two rows of filter byte + 2 samples. */
    const uint8_t rows[6] = {0, 10, 20, 0, 30, 40};
    const uint8_t plte[6] = {255, 0, 0, 0, 255, 0};
    png_buf b;

    start_png(&b, 2, 2, 8, 0, 0);
    put_idat(&b, rows, 6);
    put_chunk(&b, "IEND", NULL, 0);
    ct_raster r;
    ct_error err;
    CHECK(ct_png_decode(b.data, b.len, NULL, &r, &err) == CT_OK && r.u8[0] == 10 && r.u8[3] == 40);
    ct_raster_free(&r);

    b.len = 0;
    put_bytes(&b, "\x89PNG\r\n\x1a\n", 8);
    put_chunk(&b, "CgBI", "\x50\x00\x20\x06", 4);
    expect_error(&b, CT_E_UNSUPPORTED, "Apple CgBI", "CgBI");

    b.len = 0;
    put_bytes(&b, "\x89PNG\r\n\x1a\n", 8);
    put_chunk(&b, "gAMA", "\0\0\0\1", 4);
    expect_error(&b, CT_E_FORMAT, "first chunk is 'gAMA', not IHDR", "IHDR not first");

    start_png(&b, 2, 2, 8, 0, 0);
    put_chunk(&b, "ABCD", "x", 1);
    expect_error(&b, CT_E_FORMAT, "unknown critical chunk 'ABCD'", "critical chunk");

    start_png(&b, 2, 2, 8, 0, 0);
    put_chunk(&b, "abCD", "x", 1);                   /* ancillary: skipped */
    put_idat(&b, rows, 6);
    put_chunk(&b, "IEND", NULL, 0);
    CHECK(ct_png_decode(b.data, b.len, NULL, &r, &err) == CT_OK);
    ct_raster_free(&r);

    start_png(&b, 2, 2, 8, 0, 0);
    put_idat(&b, rows, 6);
    put_chunk(&b, "tEXt", "a\0b", 3);
    put_idat(&b, rows, 0);
    put_chunk(&b, "IEND", NULL, 0);
    expect_error(&b, CT_E_FORMAT, "IDAT chunks are not consecutive", "split IDAT");

    const uint8_t bad_filter[6] = {0, 10, 20, 5, 30, 40};
    start_png(&b, 2, 2, 8, 0, 0);
    put_idat(&b, bad_filter, 6);
    put_chunk(&b, "IEND", NULL, 0);
    expect_error(&b, CT_E_FORMAT, "invalid filter type 5 in row 1", "filter 5");

    start_png(&b, 2, 2, 8, 0, 1);                    /* interlaced: passes 1, 6, 7 hold pixels */
    const uint8_t interlaced[7] = {0, 1, 0, 2, 9, 3, 4};
    put_idat(&b, interlaced, 7);
    put_chunk(&b, "IEND", NULL, 0);
    expect_error(&b, CT_E_FORMAT, "invalid filter type 9 in row 0 of Adam7 pass 7", "filter 9 interlaced");

    start_png(&b, 2, 2, 8, 0, 0);
    put_idat(&b, rows, 5);
    put_chunk(&b, "IEND", NULL, 0);
    expect_error(&b, CT_E_FORMAT, "image data truncated (5 of 6 bytes)", "short data");

    start_png(&b, 2, 2, 8, 0, 0);
    const uint8_t long_rows[7] = {0, 10, 20, 0, 30, 40, 50};
    put_idat(&b, long_rows, 7);
    put_chunk(&b, "IEND", NULL, 0);
    expect_error(&b, CT_E_FORMAT, "longer than the expected 6 bytes", "long data");

    start_png(&b, 2, 2, 8, 0, 0);
    put_chunk(&b, "IDAT", "\x78\x9c\x03\x00", 4);
    put_chunk(&b, "IEND", NULL, 0);
    expect_error(&b, CT_E_FORMAT, "IDAT: zlib: truncated Adler-32", "bad zlib");

    start_png(&b, 2, 2, 8, 0, 0);
    put_chunk(&b, "IDAT", "\x79\x9c\x03\x00\0\0\0\1", 8);
    put_chunk(&b, "IEND", NULL, 0);
    expect_error(&b, CT_E_FORMAT, "compression method 9", "zlib method");

    start_png(&b, 2, 2, 8, 3, 0);
    put_idat(&b, rows, 6);
    put_chunk(&b, "IEND", NULL, 0);
    expect_error(&b, CT_E_FORMAT, "palette image without PLTE", "missing PLTE");

    const uint8_t indices[6] = {0, 0, 1, 0, 1, 2};
    start_png(&b, 2, 2, 8, 3, 0);
    put_chunk(&b, "PLTE", plte, 6);
    put_idat(&b, indices, 6);
    put_chunk(&b, "IEND", NULL, 0);
    expect_error(&b, CT_E_FORMAT, "palette index 2 out of range (PLTE has 2 entries) at pixel (1, 1)", "index");

    start_png(&b, 2, 2, 8, 0, 0);
    put_chunk(&b, "PLTE", plte, 6);
    expect_error(&b, CT_E_FORMAT, "PLTE chunk in a grayscale image", "PLTE in gray");

    start_png(&b, 2, 2, 8, 3, 0);
    put_chunk(&b, "PLTE", plte, 5);
    expect_error(&b, CT_E_FORMAT, "PLTE length 5", "PLTE length");

    start_png(&b, 2, 2, 8, 3, 0);
    put_chunk(&b, "PLTE", plte, 6);
    put_chunk(&b, "tRNS", "\1\2\3", 3);
    expect_error(&b, CT_E_FORMAT, "tRNS has 3 entries, more than the 2 of PLTE", "tRNS length");

    start_png(&b, 2, 2, 8, 2, 0);
    put_chunk(&b, "tRNS", "\0\1", 2);
    expect_error(&b, CT_E_FORMAT, "tRNS length 2 (must be 6 for color type 2)", "RGB tRNS");

    start_png(&b, 2, 2, 8, 0, 0);
    put_idat(&b, rows, 6);
    expect_error(&b, CT_E_FORMAT, "no IEND", "no IEND");

    start_png(&b, 2, 2, 8, 0, 0);
    put_chunk(&b, "IEND", NULL, 0);
    expect_error(&b, CT_E_FORMAT, "no IDAT chunk", "no IDAT");

    static const struct { uint32_t w, h; int depth, color, interlace; const char *message; } ihdr[] = {
        {0, 2, 8, 0, 0, "image size 0 x 2"},
        {2, 0x80000000u, 8, 0, 0, "image size 2 x 2147483648"},
        {2, 2, 16, 3, 0, "bit depth 16 is invalid for color type 3"},
        {2, 2, 4, 2, 0, "bit depth 4 is invalid for color type 2"},
        {2, 2, 8, 5, 0, "color type 5"},
        {2, 2, 8, 0, 2, "interlace method 2"},
    };
    for (size_t i = 0; i < sizeof ihdr / sizeof ihdr[0]; i++) {
        start_png(&b, ihdr[i].w, ihdr[i].h, ihdr[i].depth, ihdr[i].color, ihdr[i].interlace);
        expect_error(&b, CT_E_FORMAT, ihdr[i].message, "IHDR");
    }
    start_png(&b, 2, 2, 8, 0, 0);
    b.data[8 + 8 + 10] = 1;                          /* compression method */
    uint32_t crc = ct_crc32(0, b.data + 12, 17);
    for (int i = 0; i < 4; i++) b.data[29 + i] = (uint8_t)(crc >> (24 - 8 * i));
    expect_error(&b, CT_E_FORMAT, "compression method 1", "IHDR compression");
}

/* Huge dimensions and decompression bombs are refused before allocation;
 * the limits can be changed. */
static void test_limits(void) {
    png_buf b;
    start_png(&b, 100000, 100000, 16, 6, 0);         /* 80 GB of samples from 45 bytes */
    put_chunk(&b, "IDAT", "\x78\x01\x03\x00\0\0\0\1", 8);
    put_chunk(&b, "IEND", NULL, 0);
    expect_error(&b, CT_E_LIMIT, "exceeds the limit of 67108864 pixels", "huge");

    size_t len;
    uint8_t *data = load(SUITE "basn6a16.png", &len);   /* 32 x 32 RGBA16: 8192 sample bytes */
    ct_image_limits lim;
    ct_image_limits_default(&lim);
    CHECK(lim.max_pixels == CT_IMAGE_DEFAULT_MAX_PIXELS && lim.max_bytes == CT_IMAGE_DEFAULT_MAX_BYTES);
    ct_raster r;
    ct_error err;
    lim.max_pixels = 1023;
    CHECK(ct_png_decode(data, len, &lim, &r, &err) == CT_E_LIMIT);
    lim.max_pixels = 1024;
    CHECK(ct_png_decode(data, len, &lim, &r, &err) == CT_OK);
    ct_raster_free(&r);
    lim.max_bytes = 8191;
    ct_status st = ct_png_decode(data, len, &lim, &r, &err);
    CHECKF(st == CT_E_LIMIT && strstr(err.message, "limit of 8191 bytes"), "%d %s", st, err.message);
    lim.max_bytes = 8192;                            /* samples fit, the filtered data (8224) not */
    st = ct_png_decode(data, len, &lim, &r, &err);
    CHECKF(st == CT_E_LIMIT && strstr(err.message, "8224 bytes of decompressed data"), "%d %s", st, err.message);
    lim.max_bytes = 8224;
    CHECK(ct_png_decode(data, len, &lim, &r, &err) == CT_OK);
    ct_raster_free(&r);
    free(data);
}

/* ---- encoder ------------------------------------------------------------- */

static void test_encoder_round_trip(void) {
    static const int sizes[][2] = {{1, 1}, {3, 1}, {1, 5}, {7, 9}, {64, 33}, {300, 17}};
    uint32_t s = 7;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        for (int channels = 1; channels <= 4; channels++) {
            if (channels == 2) continue;
            int w = sizes[k][0], h = sizes[k][1];
            size_t n = (size_t)w * (size_t)h * (size_t)channels;
            uint8_t *px = malloc(n);
            for (size_t i = 0; i < n; i++) {
                s = s * 1664525u + 1013904223u;
                px[i] = k % 2 ? (uint8_t)(s >> 24) : (uint8_t)((i / 5) * 3);   /* noise or gradients */
            }
            for (int mode = 0; mode < 2; mode++) {
                uint8_t *png = NULL;
                size_t len = 0;
                ct_error err = {0, ""};
                ct_status st = ct_png_encode(px, w, h, channels, mode ? CT_DEFLATE_FIXED : CT_DEFLATE_STORED,
                                             &png, &len, &err);
                ct_raster r;
                if (st == CT_OK) st = ct_png_decode(png, len, NULL, &r, &err);
                CHECKF(st == CT_OK && r.width == w && r.height == h && r.channels == channels &&
                           r.bit_depth == 8 && memcmp(r.u8, px, n) == 0,
                       "%dx%dx%d mode %d: %s", w, h, channels, mode, err.message);
                if (st == CT_OK) ct_raster_free(&r);
                free(png);
            }
            free(px);
        }
    ct_error err;
    uint8_t *png = NULL;
    size_t len;
    uint8_t px[4] = {0};
    CHECK(ct_png_encode(px, 2, 1, 2, CT_DEFLATE_FIXED, &png, &len, &err) == CT_E_ARG && png == NULL);
    CHECK(ct_png_encode(px, 0, 1, 1, CT_DEFLATE_FIXED, &png, &len, &err) == CT_E_ARG);
}

static void test_png_write_file(void) {
    const char *path = "build/test_png_write.png";
    uint8_t px[3 * 4 * 5];
    for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)(i * 7);
    ct_error err;
    CHECK(ct_png_write(path, px, 4, 5, 3, &err) == CT_OK);
    size_t len;
    uint8_t *data = load(path, &len);
    ct_raster r;
    CHECK(data && ct_png_decode(data, len, NULL, &r, &err) == CT_OK && memcmp(r.u8, px, sizeof px) == 0);
    ct_raster_free(&r);
    free(data);
    remove(path);
    ct_status st = ct_png_write("build/no/such/dir/x.png", px, 4, 5, 3, &err);
    CHECKF(st == CT_E_IO && strstr(err.message, "build/no/such/dir/x.png"), "%d %s", st, err.message);
}

/* ---- model input --------------------------------------------------------- */

static int pil_rows, pil_windowed;

/* ct_load_slice gives what PIL's convert('RGB') gives (gray as 1 channel). */
static void check_pil_row(char **f, int n) {
    if (n < 3) {
        CHECKF(0, "short PIL_RGB line");
        return;
    }
    char path[256];
    snprintf(path, sizeof path, SUITE "%s", f[0]);
    ct_slice_options opt;
    ct_slice_options_default(&opt);
    ct_slice s;
    ct_error err = {0, ""};
    ct_status st = ct_load_slice(path, &opt, &s, &err);
    CHECKF(st == CT_OK, "%s: %s", f[0], err.message);
    if (st != CT_OK) return;
    pil_rows++;
    if (strcmp(f[2], "windowed") == 0) {
        CHECKF(s.source == CT_SLICE_PNG16 && s.channels == 1, "%s: source %d, %d channels", f[0], s.source, s.channels);
        pil_windowed++;
    } else {
        size_t npix = (size_t)s.width * (size_t)s.height;
        uint8_t *rgb = malloc(3 * npix);
        for (size_t i = 0; i < 3 * npix; i++) rgb[i] = s.channels == 1 ? s.pixels[i / 3] : s.pixels[i];
        char hex[65];
        sha256_hex(rgb, 3 * npix, hex);
        CHECKF(strcmp(hex, f[2]) == 0, "%s (PIL mode %s): RGB digest differs from PIL's", f[0], f[1]);
        CHECKF(s.channels == (strcmp(f[1], "L") == 0 || strcmp(f[1], "1") == 0 || strcmp(f[1], "LA") == 0 ? 1 : 3),
               "%s: %d channels for PIL mode %s", f[0], s.channels, f[1]);
        free(rgb);
    }
    ct_slice_free(&s);
}

static void test_slice_matches_pil(void) {
    pil_rows = pil_windowed = 0;
    int rows = tsv_for_each_row(SUITE "PIL_RGB.tsv", 0, check_pil_row);
    CHECKF(rows == 161 && pil_rows == 161, "%d rows, %d loaded", rows, pil_rows);
    CHECKF(pil_windowed == 17, "%d windowed", pil_windowed);
}

static void test_slice_errors(void) {
    ct_slice_options opt;
    ct_slice_options_default(&opt);
    ct_slice s;
    ct_error err;
    const uint8_t junk[200] = "GIF89a";
    ct_status st = ct_slice_from_memory(junk, sizeof junk, &opt, &s, &err);
    CHECKF(st == CT_E_UNSUPPORTED && strstr(err.message, "neither PNG nor DICOM"), "%d %s", st, err.message);
    CHECK(ct_detect_format(junk, sizeof junk) == CT_FORMAT_UNKNOWN);
    st = ct_load_slice(SUITE "xs1n0g01.png", &opt, &s, &err);
    CHECKF(st == CT_E_UNSUPPORTED && strstr(err.message, SUITE "xs1n0g01.png: "), "%d %s", st, err.message);
    st = ct_load_slice(SUITE "xcsn0g01.png", &opt, &s, &err);
    CHECKF(st == CT_E_FORMAT && strstr(err.message, "xcsn0g01.png: CRC mismatch"), "%d %s", st, err.message);
    st = ct_load_slice("tests/fixtures/no-such-file.png", &opt, &s, &err);
    CHECKF(st == CT_E_IO && s.pixels == NULL, "%d %s", st, err.message);
    opt.window_width = 0;
    st = ct_load_slice(SUITE "basn0g08.png", &opt, &s, &err);
    CHECKF(st == CT_E_ARG && strstr(err.message, "width must be > 0"), "%d %s", st, err.message);
}

int main(void) {
    RUN(test_pngsuite);
    RUN(test_truncation_and_flips);
    RUN(test_hand_made_errors);
    RUN(test_limits);
    RUN(test_encoder_round_trip);
    RUN(test_png_write_file);
    RUN(test_slice_matches_pil);
    RUN(test_slice_errors);
    return TEST_SUMMARY();
}
