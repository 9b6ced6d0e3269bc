/* Inflate and deflate: streams from the real zlib (stored, fixed, dynamic,
 * multi-block), hand-made streams for each error path, truncation and bit
 * flips, size caps, and round trips through the encoder. */
#include "test.h"

#include <stdint.h>
#include <string.h>

#include "fixtures/inflate/vectors.h"
#include "image/deflate.h"
#include "image/inflate.h"

/* ---- helpers ------------------------------------------------------------- */

/* The text the zlib vectors compress (mirror of tools/reference/inflate_vectors.py). */
static void lcg_text(uint8_t *out, size_t n) {
    static const char *const words[] = {"lesion", "ground", "glass", "opacity", "consolidation",
                                        "lung", "slice", "mask", " ", ", ", "\n"};
    uint32_t s = 12345;
    size_t len = 0;
    while (len < n) {
        s = (s * 1103515245u + 12345u) & 0x7fffffffu;
        const char *w = words[(s >> 16) % 11];
        for (size_t i = 0; w[i] && len < n; i++) out[len++] = (uint8_t)w[i];
    }
}

/* Builds deflate streams bit by bit, as the format packs them. */
typedef struct {
    uint8_t buf[256];
    size_t len;
    unsigned nbits;
} bits;

static void put(bits *b, unsigned value, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        if (b->nbits == 0) b->buf[b->len++] = 0;
        b->buf[b->len - 1] |= (uint8_t)(((value >> i) & 1u) << b->nbits);
        b->nbits = (b->nbits + 1) % 8;
    }
}

/* A Huffman code, most significant bit first. */
static void put_code(bits *b, unsigned code, unsigned len) {
    for (unsigned i = len; i-- > 0;) put(b, (code >> i) & 1u, 1);
}

/* Wraps a raw deflate stream in a zlib header and the Adler-32 of `plain`. */
static size_t wrap_zlib(const bits *raw, const uint8_t *plain, size_t plain_len, uint8_t *out) {
    out[0] = 0x78;
    out[1] = 0x01;
    memcpy(out + 2, raw->buf, raw->len);
    uint32_t a = ct_adler32(1, plain, plain_len);
    for (int i = 0; i < 4; i++) out[2 + raw->len + (size_t)i] = (uint8_t)(a >> (24 - 8 * i));
    return raw->len + 6;
}

/* Inflates a raw stream; returns the status and leaves the message in err. */
static ct_status inflate_raw(const bits *raw, ct_error *err) {
    uint8_t *out = NULL;
    size_t n = 0;
    ct_status st = ct_inflate_raw_alloc(raw->buf, raw->len, 1 << 20, &out, &n, NULL, err);
    free(out);
    return st;
}

#define CHECK_FAILS_WITH(st, err, text) \
    CHECKF((st) == CT_E_FORMAT && strstr((err).message, text), "status %d, message \"%s\", wanted \"%s\"", \
           (st), (err).message, text)

/* ---- valid streams ------------------------------------------------------- */

static void test_adler32(void) {
    CHECK(ct_adler32(1, "", 0) == 1);
    CHECK(ct_adler32(1, "Wikipedia", 9) == 0x11e60398u);
    /* Long input crosses the modulo-reduction block of 5552 bytes. */
    static uint8_t ff[100000];
    memset(ff, 0xff, sizeof ff);
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < sizeof ff; i++) {
        a = (a + 0xff) % 65521;
        b = (b + a) % 65521;
    }
    CHECK(ct_adler32(1, ff, sizeof ff) == (b << 16 | a));
    CHECK(ct_adler32(ct_adler32(1, ff, 7000), ff + 7000, sizeof ff - 7000) == (b << 16 | a));
}

static void check_vector(const unsigned char *z, size_t zlen, const char *name) {
    uint8_t want[VECTOR_TEXT_LEN], got[VECTOR_TEXT_LEN];
    lcg_text(want, sizeof want);
    size_t n = 0;
    ct_error err = {0, ""};
    ct_status st = ct_inflate_zlib(z, zlen, got, sizeof got, &n, &err);
    CHECKF(st == CT_OK && n == sizeof want && memcmp(got, want, n) == 0, "%s: status %d (%s), %zu bytes",
           name, st, err.message, n);
    /* The raw stream alone, with the position after the final block. */
    uint8_t *raw = NULL;
    size_t used = 0;
    st = ct_inflate_raw_alloc(z + 2, zlen - 2, 1 << 20, &raw, &n, &used, &err);
    CHECKF(st == CT_OK && n == sizeof want && memcmp(raw, want, n) == 0 && used == zlen - 6,
           "%s raw: status %d (%s), %zu bytes, used %zu of %zu", name, st, err.message, n, used, zlen - 6);
    free(raw);
}

static void test_zlib_vectors(void) {
    CHECK((zlib_dynamic[2] >> 1 & 3) == 2);
    CHECK((zlib_fixed[2] >> 1 & 3) == 1);
    check_vector(zlib_dynamic, sizeof zlib_dynamic, "dynamic");
    check_vector(zlib_sync_flush, sizeof zlib_sync_flush, "sync flush");
    check_vector(zlib_fixed, sizeof zlib_fixed, "fixed");
    /* "hello" as zlib 1.2 writes it (fixed block). */
    static const uint8_t hello[] = {0x78, 0x9c, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x06, 0x2c, 0x02, 0x15};
    uint8_t out[16];
    size_t n = 0;
    ct_error err;
    CHECK(ct_inflate_zlib(hello, sizeof hello, out, sizeof out, &n, &err) == CT_OK && n == 5 &&
          memcmp(out, "hello", 5) == 0);
}

static void test_hand_made_blocks(void) {
    /* Stored "abc" then a fixed block "ab" + match (length 4, distance 2),
     * then an empty final stored block. */
    bits b = {{0}, 0, 0};
    put(&b, 0, 1);
    put(&b, 0, 2);
    put(&b, 0, 5);                                   /* pad to the byte boundary */
    const uint8_t stored[] = {3, 0, 0xfc, 0xff, 'a', 'b', 'c'};
    for (size_t i = 0; i < sizeof stored; i++) put(&b, stored[i], 8);
    put(&b, 0, 1);
    put(&b, 1, 2);
    put_code(&b, 0x30 + 'a', 8);
    put_code(&b, 0x30 + 'b', 8);
    put_code(&b, 258 - 256, 7);                      /* length 4 */
    put_code(&b, 1, 5);                              /* distance 2 */
    put_code(&b, 0, 7);                              /* end of block */
    put(&b, 1, 1);
    put(&b, 0, 2);
    if (b.nbits) put(&b, 0, 8 - b.nbits);
    const uint8_t empty[] = {0, 0, 0xff, 0xff};
    for (size_t i = 0; i < sizeof empty; i++) put(&b, empty[i], 8);
    const char *want = "abcababab";
    uint8_t z[300], out[32];
    size_t zlen = wrap_zlib(&b, (const uint8_t *)want, 9, z), n = 0;
    ct_error err = {0, ""};
    ct_status st = ct_inflate_zlib(z, zlen, out, sizeof out, &n, &err);
    CHECKF(st == CT_OK && n == 9 && memcmp(out, want, 9) == 0, "status %d (%s) n %zu", st, err.message, n);

    /* A dynamic block whose literal/length code is the single symbol 256
     * (length 1, an incomplete code zlib accepts) and whose distance code is
     * empty: valid, no output. Code-length code: 18 = "0", 0 = "10", 1 = "11". */
    bits d = {{0}, 0, 0};
    put(&d, 1, 1);
    put(&d, 2, 2);
    put(&d, 0, 5);                                   /* HLIT 257 */
    put(&d, 0, 5);                                   /* HDIST 1 */
    put(&d, 14, 4);                                  /* HCLEN 18: the order up to symbol 1 */
    for (int i = 0; i < 18; i++) put(&d, i == 2 ? 1 : i == 3 || i == 17 ? 2 : 0, 3);
    put_code(&d, 0, 1);
    put(&d, 127, 7);                                 /* 138 zeros */
    put_code(&d, 0, 1);
    put(&d, 107, 7);                                 /* 118 zeros: literals 0..255 */
    put_code(&d, 3, 2);                              /* length 1 for symbol 256 */
    put_code(&d, 2, 2);                              /* length 0 for the one distance */
    put_code(&d, 0, 1);                              /* the block: end of block */
    uint8_t *none = NULL;
    st = ct_inflate_raw_alloc(d.buf, d.len, 16, &none, &n, NULL, &err);
    CHECKF(st == CT_OK && n == 0 && none, "status %d (%s) n %zu", st, err.message, n);
    free(none);
    /* An empty final stored block into a growable buffer (found by fuzzing). */
    const uint8_t empty_stored[5] = {0x01, 0x00, 0x00, 0xff, 0xff};
    none = NULL;
    st = ct_inflate_raw_alloc(empty_stored, 5, 16, &none, &n, NULL, &err);
    CHECKF(st == CT_OK && n == 0 && none, "status %d (%s) n %zu", st, err.message, n);
    free(none);
}

/* ---- corrupt streams ----------------------------------------------------- */

static void test_bad_zlib_headers(void) {
    uint8_t out[8];
    size_t n;
    ct_error err;
    static const struct { uint8_t hdr[2]; const char *message; } cases[] = {
        {{0x79, 0x9c}, "compression method 9"},
        {{0x88, 0x98}, "window size field 8"},
        {{0x78, 0x9d}, "header check bits"},
        {{0x78, 0xbb}, "preset dictionary"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t z[8] = {cases[i].hdr[0], cases[i].hdr[1], 0x03, 0x00, 0, 0, 0, 1};
        ct_status st = ct_inflate_zlib(z, sizeof z, out, sizeof out, &n, &err);
        CHECK_FAILS_WITH(st, err, cases[i].message);
    }
    uint8_t one = 0x78;
    ct_status st = ct_inflate_zlib(&one, 1, out, sizeof out, &n, &err);
    CHECK_FAILS_WITH(st, err, "truncated header");
    /* Empty fixed block with a wrong Adler-32, then with none. */
    uint8_t z[8] = {0x78, 0x01, 0x03, 0x00, 0, 0, 0, 2};
    st = ct_inflate_zlib(z, 8, out, sizeof out, &n, &err);
    CHECK_FAILS_WITH(st, err, "Adler-32 mismatch");
    st = ct_inflate_zlib(z, 5, out, sizeof out, &n, &err);
    CHECK_FAILS_WITH(st, err, "truncated Adler-32");
    z[7] = 1;
    CHECK(ct_inflate_zlib(z, 8, out, sizeof out, &n, &err) == CT_OK && n == 0);
}

/* Starts a final fixed-Huffman block. */
static void fixed_block(bits *b) {
    memset(b, 0, sizeof *b);
    put(b, 1, 1);
    put(b, 1, 2);
}

static void test_bad_blocks(void) {
    ct_error err;
    bits b = {{0}, 0, 0};
    put(&b, 1, 1);
    put(&b, 3, 2);
    ct_status st = inflate_raw(&b, &err);
    CHECK_FAILS_WITH(st, err, "invalid block type 3");

    memset(&b, 0, sizeof b);
    put(&b, 1, 1);
    put(&b, 0, 7);
    put(&b, 5, 16);
    put(&b, 0xfffb, 16);                             /* complement of 4, not 5 */
    st = inflate_raw(&b, &err);
    CHECK_FAILS_WITH(st, err, "does not match its complement");

    memset(&b, 0, sizeof b);
    put(&b, 1, 1);
    put(&b, 0, 7);
    put(&b, 5, 16);
    put(&b, 0xfffa, 16);
    put(&b, 'x', 8);                                 /* 1 of 5 declared bytes */
    st = inflate_raw(&b, &err);
    CHECK_FAILS_WITH(st, err, "truncated stored block");

    fixed_block(&b);
    put_code(&b, 1, 7);                              /* length 3 ... */
    put_code(&b, 0, 5);                              /* ... distance 1 with nothing written */
    st = inflate_raw(&b, &err);
    CHECK_FAILS_WITH(st, err, "too far back");

    fixed_block(&b);
    put_code(&b, 0x30 + 'a', 8);
    put_code(&b, 1, 7);
    put_code(&b, 30, 5);                             /* distance code 30 */
    st = inflate_raw(&b, &err);
    CHECK_FAILS_WITH(st, err, "invalid distance code");

    fixed_block(&b);
    put_code(&b, 0xc0 + 286 - 280, 8);               /* length symbol 286 */
    st = inflate_raw(&b, &err);
    CHECK_FAILS_WITH(st, err, "invalid length symbol 286");

    fixed_block(&b);
    put_code(&b, 0x30 + 'a', 8);                     /* no end of block */
    st = inflate_raw(&b, &err);
    CHECK_FAILS_WITH(st, err, "truncated stream");
}

/* Dynamic block header with HLIT/HDIST/HCLEN fields and code-length code
 * lengths for the first `ncl` entries of the permuted order. */
static void dynamic_header(bits *b, unsigned hlit, unsigned hdist, const uint8_t *cl, unsigned ncl) {
    memset(b, 0, sizeof *b);
    put(b, 1, 1);
    put(b, 2, 2);
    put(b, hlit, 5);
    put(b, hdist, 5);
    put(b, ncl - 4, 4);
    for (unsigned i = 0; i < ncl; i++) put(b, cl[i], 3);
}

static void test_bad_dynamic_codes(void) {
    ct_error err;
    bits b;
    /* Order: 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1 15. */
    const uint8_t cl_ok[19] = {0, 0, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0};
    dynamic_header(&b, 30, 0, cl_ok, 19);            /* HLIT 287 */
    ct_status st = inflate_raw(&b, &err);
    CHECK_FAILS_WITH(st, err, "287 literal/length codes");
    dynamic_header(&b, 0, 30, cl_ok, 19);            /* HDIST 31 */
    st = inflate_raw(&b, &err);
    CHECK_FAILS_WITH(st, err, "31 distance codes");

    const uint8_t cl_over[4] = {1, 1, 1, 0};         /* three codes of length 1 */
    dynamic_header(&b, 0, 0, cl_over, 4);
    st = inflate_raw(&b, &err);
    CHECK_FAILS_WITH(st, err, "over-subscribed code-length code");

    const uint8_t cl_incomplete[4] = {0, 0, 2, 2};   /* two codes of length 2 */
    dynamic_header(&b, 0, 0, cl_incomplete, 4);
    st = inflate_raw(&b, &err);
    CHECK_FAILS_WITH(st, err, "incomplete code-length code");

    /* Code-length code {16,18: length 1}: "0" = 16, "1" = 18. */
    const uint8_t cl_16_18[4] = {1, 0, 1, 0};
    dynamic_header(&b, 0, 0, cl_16_18, 4);
    put_code(&b, 0, 1);                              /* 16 first: nothing to repeat */
    st = inflate_raw(&b, &err);
    CHECK_FAILS_WITH(st, err, "repeat of a code length with none before");

    dynamic_header(&b, 0, 0, cl_16_18, 4);           /* 258 lengths wanted */
    put_code(&b, 1, 1);
    put(&b, 127, 7);                                 /* 138 zeros */
    put_code(&b, 1, 1);
    put(&b, 127, 7);                                 /* 138 more: overflow */
    st = inflate_raw(&b, &err);
    CHECK_FAILS_WITH(st, err, "overflow the declared count");

    /* {0: length 1, 18: length 1}: 257 zeros, so no end-of-block code. */
    const uint8_t cl_0_18[4] = {0, 0, 1, 1};
    dynamic_header(&b, 0, 0, cl_0_18, 4);
    put_code(&b, 1, 1);
    put(&b, 127, 7);                                 /* 138 zeros ("1" = 18) */
    put_code(&b, 1, 1);
    put(&b, 108, 7);                                 /* 119 zeros: 257 literal + ... */
    put_code(&b, 0, 1);                              /* the one distance length 0 */
    st = inflate_raw(&b, &err);
    CHECK_FAILS_WITH(st, err, "no end-of-block code");
}

static void test_truncation_and_flips(void) {
    uint8_t out[VECTOR_TEXT_LEN];
    size_t n;
    ct_error err;
    const unsigned char *streams[3] = {zlib_dynamic, zlib_sync_flush, zlib_fixed};
    size_t lens[3] = {sizeof zlib_dynamic, sizeof zlib_sync_flush, sizeof zlib_fixed};
    int failures_with_message = 0, total = 0;
    for (int s = 0; s < 3; s++) {
        uint8_t z[1024];
        memcpy(z, streams[s], lens[s]);
        for (size_t cut = 0; cut < lens[s]; cut++) {
            uint8_t *prefix = malloc(cut ? cut : 1);   /* exact size: ASan sees overreads */
            memcpy(prefix, z, cut);
            err.message[0] = '\0';
            ct_status st = ct_inflate_zlib(prefix, cut, out, sizeof out, &n, &err);
            CHECKF(st == CT_E_FORMAT, "stream %d cut at %zu: status %d", s, cut, st);
            failures_with_message += err.message[0] != '\0';
            total++;
            free(prefix);
        }
        for (size_t bit = 0; bit < lens[s] * 8; bit++) {
            z[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            ct_status st = ct_inflate_zlib(z, lens[s], out, sizeof out, &n, &err);
            /* A flip may still give a valid stream, but never a wrong Adler-32 success. */
            const uint8_t *t = z + lens[s] - 4;
            uint32_t trailer = (uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 | (uint32_t)t[2] << 8 | t[3];
            CHECKF(st != CT_OK || ct_adler32(1, out, n) == trailer, "stream %d bit %zu", s, bit);
            z[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
    }
    CHECK(failures_with_message == total);
}

static void test_output_caps(void) {
    uint8_t out[VECTOR_TEXT_LEN];
    size_t n;
    ct_error err;
    ct_status st = ct_inflate_zlib(zlib_dynamic, sizeof zlib_dynamic, out, sizeof out - 1, &n, &err);
    CHECK_FAILS_WITH(st, err, "longer than the expected");
    uint8_t *buf = NULL;
    st = ct_inflate_raw_alloc(zlib_dynamic + 2, sizeof zlib_dynamic - 2, 2999, &buf, &n, NULL, &err);
    CHECKF(st == CT_E_LIMIT && buf == NULL && strstr(err.message, "limit of 2999"), "%d %s", st, err.message);
    /* A bomb: 1 MiB of zeros from about a kilobyte, refused at a 64 KiB cap. */
    uint8_t *zeros = calloc(1 << 20, 1), *z = NULL;
    size_t zlen = 0;
    CHECK(ct_zlib_compress(zeros, 1 << 20, CT_DEFLATE_FIXED, &z, &zlen, &err) == CT_OK);
    CHECKF(zlen < 8192, "compressed 1 MiB of zeros to %zu bytes", zlen);
    st = ct_inflate_raw_alloc(z + 2, zlen - 2, 1 << 16, &buf, &n, NULL, &err);
    CHECK(st == CT_E_LIMIT);
    free(z);
    free(zeros);
}

/* ---- encoder round trips ------------------------------------------------- */

static void round_trip(const uint8_t *data, size_t len, ct_deflate_mode mode, const char *what) {
    uint8_t *z = NULL, *back = malloc(len + 1);
    size_t zlen = 0, n = 0;
    ct_error err = {0, ""};
    ct_status st = ct_zlib_compress(data, len, mode, &z, &zlen, &err);
    CHECKF(st == CT_OK, "%s: compress %s", what, err.message);
    if (st == CT_OK) st = ct_inflate_zlib(z, zlen, back, len + 1, &n, &err);
    CHECKF(st == CT_OK && n == len && memcmp(back, data, len) == 0, "%s (%zu bytes, mode %d): %s", what, len,
           mode, err.message);
    if (mode == CT_DEFLATE_STORED) CHECK(zlen == len + 6 + 5 * (len / 65535 + (len % 65535 != 0 || len == 0)));
    free(z);
    free(back);
}

static void test_encoder_round_trips(void) {
    size_t sizes[] = {0, 1, 2, 3, 4, 257, 65535, 65536, 200000};
    uint8_t *buf = malloc(200000);
    uint32_t s = 1;
    for (int pattern = 0; pattern < 3; pattern++) {
        for (size_t i = 0; i < 200000; i++) {
            s = s * 1664525u + 1013904223u;
            buf[i] = pattern == 0 ? (uint8_t)(s >> 24)                 /* incompressible */
                     : pattern == 1 ? (uint8_t)((i / 37) % 5)          /* runs */
                                    : (uint8_t)(i < 33000 ? s >> 24 : buf[i - 32768]); /* far matches */
        }
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            round_trip(buf, sizes[k], CT_DEFLATE_STORED, "stored");
            round_trip(buf, sizes[k], CT_DEFLATE_FIXED, "fixed");
        }
    }
    /* Fixed mode compresses a mask-like picture (a disc in 500 x 400) to
     * under 5% of its size. */
    uint8_t *z = NULL;
    size_t zlen = 0;
    ct_error err;
    for (size_t i = 0; i < 200000; i++) {
        long x = (long)(i % 500) - 200, y = (long)(i / 500) - 300;
        buf[i] = x * x + y * y < 80 * 80 ? 255 : 0;
    }
    CHECK(ct_zlib_compress(buf, 200000, CT_DEFLATE_FIXED, &z, &zlen, &err) == CT_OK);
    CHECKF(zlen < 10000, "a 200000-byte mask compressed to %zu bytes", zlen);
    free(z);
    free(buf);
}

int main(void) {
    RUN(test_adler32);
    RUN(test_zlib_vectors);
    RUN(test_hand_made_blocks);
    RUN(test_bad_zlib_headers);
    RUN(test_bad_blocks);
    RUN(test_bad_dynamic_codes);
    RUN(test_truncation_and_flips);
    RUN(test_output_caps);
    RUN(test_encoder_round_trips);
    return TEST_SUMMARY();
}
