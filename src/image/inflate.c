/* Inflate (RFC 1950/1951): a bit reader, canonical Huffman decoding with a
 * 9-bit fast table, and the three block types. */
#include "image/inflate.h"

#include <stdlib.h>
#include <string.h>

#include "image/deflate_tables.h"
#include "util/error.h"

#define MAX_CODE_BITS 15
#define FAST_BITS     9      /* codes this short decode with one table lookup */
#define NUM_LITLEN    288    /* 286 usable + 2 reserved in the fixed code */
#define NUM_DIST      30     /* 30 usable; fixed codes 30-31 are invalid */
#define NUM_CODELEN   19
#define END_OF_BLOCK  256

/* Input bits, least significant first. Past the end of the input the reader
 * supplies zero bytes and counts them, so a decoder step never reads out of
 * bounds; br_overrun tells whether any of those zeros were consumed. */
typedef struct {
    const uint8_t *in;
    size_t len, pos;       /* pos may pass len by the zero bytes supplied */
    uint64_t bits;
    unsigned nbits;
    size_t fake_bytes;     /* zero bytes supplied past the end */
} bitreader;

/* Output: fixed capacity, or growable up to max. */
typedef struct {
    uint8_t *buf;
    size_t len, cap, max;
    int growable;
} outbuf;

/* Canonical Huffman code: counts per length and symbols in code order, plus
 * a lookup table for codes of at most FAST_BITS bits: entry = sym << 4 | len,
 * 0 when the code is longer (or unassigned). */
typedef struct {
    uint16_t count[MAX_CODE_BITS + 1];
    uint16_t symbol[NUM_LITLEN];
    uint16_t fast[1u << FAST_BITS];
} huffman;

static const uint8_t codelen_order[NUM_CODELEN] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5,
                                                   11, 4, 12, 3, 13, 2, 14, 1, 15};

uint32_t ct_adler32(uint32_t adler, const void *data, size_t len) {
    const uint8_t *p = data;
    uint32_t a = adler & 0xffff, b = adler >> 16;
    while (len > 0) {
        size_t n = len < 5552 ? len : 5552;   /* largest n with no 32-bit overflow */
        len -= n;
        while (n--) {
            a += *p++;
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    return b << 16 | a;
}

/* ---- bit reader ---------------------------------------------------------- */

static void br_refill(bitreader *br) {
    while (br->nbits <= 56) {
        uint64_t byte = 0;
        if (br->pos < br->len)
            byte = br->in[br->pos];
        else
            br->fake_bytes++;
        br->pos++;
        br->bits |= byte << br->nbits;
        br->nbits += 8;
    }
}

static int br_overrun(const bitreader *br) {
    return br->fake_bytes * 8 > br->nbits;
}

static unsigned br_peek(bitreader *br, unsigned n) {
    if (br->nbits < n) br_refill(br);
    return (unsigned)(br->bits & ((1ull << n) - 1));
}

static void br_drop(bitreader *br, unsigned n) {
    br->bits >>= n;
    br->nbits -= n;
}

static unsigned br_get(bitreader *br, unsigned n) {
    unsigned v = br_peek(br, n);
    br_drop(br, n);
    return v;
}

/* Byte-aligns and returns the unread whole bytes of the buffer to the input. */
static void br_align_and_rewind(bitreader *br) {
    br_drop(br, br->nbits % 8);
    br->pos -= br->nbits / 8;
    if (br->fake_bytes > br->nbits / 8)
        br->fake_bytes -= br->nbits / 8;
    else
        br->fake_bytes = 0;
    br->bits = 0;
    br->nbits = 0;
}

/* ---- Huffman codes ------------------------------------------------------- */

static unsigned reverse_bits(unsigned code, unsigned len) {
    unsigned r = 0;
    for (unsigned i = 0; i < len; i++) r |= ((code >> i) & 1u) << (len - 1 - i);
    return r;
}

/* Builds h from code lengths; fails on an over-subscribed code, and on an
 * incomplete one unless it is a single code of length 1 (as zlib accepts);
 * all-zero lengths give an empty code that fails only when used. */
static ct_status huffman_build(huffman *h, const uint8_t *lengths, unsigned n,
                               int allow_incomplete, const char *what, ct_error *err) {
    uint16_t offsets[MAX_CODE_BITS + 2];
    memset(h->count, 0, sizeof h->count);
    memset(h->fast, 0, sizeof h->fast);
    for (unsigned s = 0; s < n; s++) h->count[lengths[s]]++;
    unsigned used = n - h->count[0];
    int left = 1;
    for (unsigned len = 1; len <= MAX_CODE_BITS; len++) {
        left = 2 * left - h->count[len];
        if (left < 0) return ct_fail(err, CT_E_FORMAT, "deflate: over-subscribed %s code", what);
    }
    if (left > 0 && used > 0 && !(allow_incomplete && used == 1 && h->count[1] == 1))
        return ct_fail(err, CT_E_FORMAT, "deflate: incomplete %s code", what);
    if (used == 0 && !allow_incomplete)
        return ct_fail(err, CT_E_FORMAT, "deflate: empty %s code", what);
    offsets[1] = 0;
    for (unsigned len = 1; len <= MAX_CODE_BITS; len++)
        offsets[len + 1] = (uint16_t)(offsets[len] + h->count[len]);
    /* First canonical code of each length (RFC 1951 3.2.2). */
    unsigned code_of_len[MAX_CODE_BITS + 1], code = 0;
    for (unsigned len = 1; len <= MAX_CODE_BITS; len++) {
        code = (code + (len > 1 ? h->count[len - 1] : 0u)) << 1;
        code_of_len[len] = code;
    }
    for (unsigned s = 0; s < n; s++) {
        unsigned len = lengths[s];
        if (len == 0) continue;
        h->symbol[offsets[len]++] = (uint16_t)s;
        if (len <= FAST_BITS) {
            unsigned rev = reverse_bits(code_of_len[len], len);
            for (unsigned i = rev; i < (1u << FAST_BITS); i += 1u << len)
                h->fast[i] = (uint16_t)(s << 4 | len);
        }
        code_of_len[len]++;
    }
    return CT_OK;
}

/* Decodes one symbol; -1 for a bit pattern that is not a code. */
static int huffman_decode(bitreader *br, const huffman *h) {
    unsigned entry = h->fast[br_peek(br, FAST_BITS)];
    if (entry) {
        br_drop(br, entry & 15);
        return (int)(entry >> 4);
    }
    br_peek(br, MAX_CODE_BITS);
    int code = 0, first = 0, index = 0;
    for (unsigned len = 1; len <= MAX_CODE_BITS; len++) {
        code |= (int)((br->bits >> (len - 1)) & 1);
        int count = h->count[len];
        if (code - first < count) {
            br_drop(br, len);
            return h->symbol[index + code - first];
        }
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    return -1;
}

/* ---- output -------------------------------------------------------------- */

static ct_status out_reserve(outbuf *out, size_t n, ct_error *err) {
    if (n <= out->cap - out->len) return CT_OK;
    if (!out->growable || n > out->max - out->len) {
        if (out->growable)
            return ct_fail(err, CT_E_LIMIT, "inflated data exceeds the limit of %zu bytes", out->max);
        return ct_fail(err, CT_E_FORMAT, "inflated data longer than the expected %zu bytes", out->cap);
    }
    size_t want = out->cap ? out->cap : 4096;
    if (want > out->max) want = out->max;
    while (want - out->len < n) want = want > out->max / 2 ? out->max : want * 2;
    uint8_t *grown = realloc(out->buf, want);
    if (!grown) return ct_fail(err, CT_E_NOMEM, "out of memory inflating %zu bytes", want);
    out->buf = grown;
    out->cap = want;
    return CT_OK;
}

/* ---- blocks -------------------------------------------------------------- */

static ct_status inflate_stored(bitreader *br, outbuf *out, ct_error *err) {
    br_align_and_rewind(br);
    if (br->pos > br->len || br->len - br->pos < 4)
        return ct_fail(err, CT_E_FORMAT, "deflate: truncated stored block header");
    const uint8_t *p = br->in + br->pos;
    unsigned len = p[0] | p[1] << 8, nlen = p[2] | p[3] << 8;
    if (len != (~nlen & 0xffffu))
        return ct_fail(err, CT_E_FORMAT, "deflate: stored block length %u does not match its complement", len);
    br->pos += 4;
    if (br->len - br->pos < len)
        return ct_fail(err, CT_E_FORMAT, "deflate: truncated stored block (%u bytes declared, %zu left)",
                       len, br->len - br->pos);
    if (len == 0) return CT_OK;
    ct_status st = out_reserve(out, len, err);
    if (st != CT_OK) return st;
    memcpy(out->buf + out->len, br->in + br->pos, len);
    out->len += len;
    br->pos += len;
    return CT_OK;
}

static ct_status copy_match(outbuf *out, unsigned length, unsigned dist, ct_error *err) {
    if (dist > out->len)
        return ct_fail(err, CT_E_FORMAT, "deflate: distance %u too far back (%zu bytes written)", dist, out->len);
    ct_status st = out_reserve(out, length, err);
    if (st != CT_OK) return st;
    uint8_t *dst = out->buf + out->len;
    const uint8_t *src = dst - dist;
    for (unsigned i = 0; i < length; i++) dst[i] = src[i];   /* may overlap */
    out->len += length;
    return CT_OK;
}

/* Decodes symbols of one Huffman block through its end-of-block code. */
static ct_status inflate_codes(bitreader *br, outbuf *out, const huffman *litlen,
                               const huffman *dist, ct_error *err) {
    for (;;) {
        int sym = huffman_decode(br, litlen);
        if (br_overrun(br)) return ct_fail(err, CT_E_FORMAT, "deflate: truncated stream");
        if (sym < 0) return ct_fail(err, CT_E_FORMAT, "deflate: invalid literal/length code");
        if (sym < 256) {
            ct_status st = out_reserve(out, 1, err);
            if (st != CT_OK) return st;
            out->buf[out->len++] = (uint8_t)sym;
            continue;
        }
        if (sym == END_OF_BLOCK) return CT_OK;
        sym -= 257;
        if (sym >= 29) return ct_fail(err, CT_E_FORMAT, "deflate: invalid length symbol %d", sym + 257);
        unsigned length = ct_deflate_length_base[sym] + br_get(br, ct_deflate_length_extra[sym]);
        int dsym = huffman_decode(br, dist);
        if (dsym < 0 || dsym >= NUM_DIST)
            return br_overrun(br) ? ct_fail(err, CT_E_FORMAT, "deflate: truncated stream")
                                  : ct_fail(err, CT_E_FORMAT, "deflate: invalid distance code");
        unsigned distance = ct_deflate_dist_base[dsym] + br_get(br, ct_deflate_dist_extra[dsym]);
        if (br_overrun(br)) return ct_fail(err, CT_E_FORMAT, "deflate: truncated stream");
        ct_status st = copy_match(out, length, distance, err);
        if (st != CT_OK) return st;
    }
}

static ct_status inflate_fixed(bitreader *br, outbuf *out, ct_error *err) {
    uint8_t lengths[NUM_LITLEN + 32];
    memset(lengths, 8, 144);
    memset(lengths + 144, 9, 112);
    memset(lengths + 256, 7, 24);
    memset(lengths + 280, 8, 8);
    memset(lengths + NUM_LITLEN, 5, 32);
    huffman litlen, dist;
    ct_status st = huffman_build(&litlen, lengths, NUM_LITLEN, 0, "fixed literal/length", err);
    if (st == CT_OK) st = huffman_build(&dist, lengths + NUM_LITLEN, 32, 0, "fixed distance", err);
    if (st != CT_OK) return st;
    return inflate_codes(br, out, &litlen, &dist, err);
}

/* Reads the HLIT + HDIST code lengths, coded with the code-length code. */
static ct_status read_code_lengths(bitreader *br, const huffman *codelen, uint8_t *lengths,
                                   unsigned total, ct_error *err) {
    unsigned i = 0;
    while (i < total) {
        int sym = huffman_decode(br, codelen);
        if (sym < 0) return ct_fail(err, CT_E_FORMAT, "deflate: invalid code-length code");
        unsigned repeat, value = 0;
        if (sym < 16) {
            lengths[i++] = (uint8_t)sym;
            continue;
        }
        if (sym == 16) {
            if (i == 0) return ct_fail(err, CT_E_FORMAT, "deflate: repeat of a code length with none before");
            value = lengths[i - 1];
            repeat = 3 + br_get(br, 2);
        } else if (sym == 17) {
            repeat = 3 + br_get(br, 3);
        } else {
            repeat = 11 + br_get(br, 7);
        }
        if (repeat > total - i) return ct_fail(err, CT_E_FORMAT, "deflate: code lengths overflow the declared count");
        memset(lengths + i, (int)value, repeat);
        i += repeat;
    }
    if (br_overrun(br)) return ct_fail(err, CT_E_FORMAT, "deflate: truncated stream");
    return CT_OK;
}

static ct_status inflate_dynamic(bitreader *br, outbuf *out, ct_error *err) {
    unsigned nlen = br_get(br, 5) + 257, ndist = br_get(br, 5) + 1, ncode = br_get(br, 4) + 4;
    if (nlen > 286) return ct_fail(err, CT_E_FORMAT, "deflate: %u literal/length codes (at most 286)", nlen);
    if (ndist > 30) return ct_fail(err, CT_E_FORMAT, "deflate: %u distance codes (at most 30)", ndist);
    uint8_t lengths[286 + 30];
    memset(lengths, 0, NUM_CODELEN);
    for (unsigned i = 0; i < ncode; i++) lengths[codelen_order[i]] = (uint8_t)br_get(br, 3);
    huffman codelen, litlen, dist;
    ct_status st = huffman_build(&codelen, lengths, NUM_CODELEN, 0, "code-length", err);
    if (st == CT_OK) st = read_code_lengths(br, &codelen, lengths, nlen + ndist, err);
    if (st != CT_OK) return st;
    if (lengths[END_OF_BLOCK] == 0)
        return ct_fail(err, CT_E_FORMAT, "deflate: dynamic block has no end-of-block code");
    st = huffman_build(&litlen, lengths, nlen, 1, "literal/length", err);
    if (st == CT_OK) st = huffman_build(&dist, lengths + nlen, ndist, 1, "distance", err);
    if (st != CT_OK) return st;
    return inflate_codes(br, out, &litlen, &dist, err);
}

/* Inflates blocks until the final one; *in_used is then the byte position
 * just after it. */
static ct_status inflate_blocks(const uint8_t *in, size_t len, outbuf *out, size_t *in_used,
                                ct_error *err) {
    bitreader br = {in, len, 0, 0, 0, 0};
    unsigned final;
    do {
        final = br_get(&br, 1);
        unsigned type = br_get(&br, 2);
        if (br_overrun(&br)) return ct_fail(err, CT_E_FORMAT, "deflate: truncated stream");
        ct_status st;
        if (type == 0)
            st = inflate_stored(&br, out, err);
        else if (type == 1)
            st = inflate_fixed(&br, out, err);
        else if (type == 2)
            st = inflate_dynamic(&br, out, err);
        else
            st = ct_fail(err, CT_E_FORMAT, "deflate: invalid block type 3");
        if (st != CT_OK) return st;
    } while (!final);
    br_align_and_rewind(&br);
    *in_used = br.pos;
    return CT_OK;
}

ct_status ct_inflate_zlib(const uint8_t *in, size_t len, uint8_t *out, size_t out_cap,
                          size_t *out_len, ct_error *err) {
    if (len < 2) return ct_fail(err, CT_E_FORMAT, "zlib: truncated header");
    unsigned cmf = in[0], flg = in[1];
    if ((cmf & 15) != 8) return ct_fail(err, CT_E_FORMAT, "zlib: compression method %u (not deflate)", cmf & 15);
    if ((cmf >> 4) > 7) return ct_fail(err, CT_E_FORMAT, "zlib: window size field %u (at most 7)", cmf >> 4);
    if ((cmf << 8 | flg) % 31 != 0) return ct_fail(err, CT_E_FORMAT, "zlib: header check bits wrong");
    if (flg & 0x20) return ct_fail(err, CT_E_FORMAT, "zlib: preset dictionary not supported");
    outbuf ob = {out, 0, out_cap, out_cap, 0};
    size_t used;
    ct_status st = inflate_blocks(in + 2, len - 2, &ob, &used, err);
    if (st != CT_OK) return st;
    if (len - 2 - used < 4) return ct_fail(err, CT_E_FORMAT, "zlib: truncated Adler-32 trailer");
    const uint8_t *t = in + 2 + used;
    uint32_t stored = (uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 | (uint32_t)t[2] << 8 | t[3];
    uint32_t actual = ct_adler32(1, out, ob.len);
    if (stored != actual)
        return ct_fail(err, CT_E_FORMAT, "zlib: Adler-32 mismatch (stored %08x, computed %08x)", stored, actual);
    *out_len = ob.len;
    return CT_OK;
}

ct_status ct_inflate_raw_alloc(const uint8_t *in, size_t len, size_t max_out,
                               uint8_t **out, size_t *out_len, size_t *in_used,
                               ct_error *err) {
    outbuf ob = {NULL, 0, 0, max_out, 1};
    size_t used;
    ct_status st = inflate_blocks(in, len, &ob, &used, err);
    if (st == CT_OK && !ob.buf && !(ob.buf = malloc(1)))   /* empty output: still a buffer */
        st = ct_fail(err, CT_E_NOMEM, "out of memory");
    if (st != CT_OK) {
        free(ob.buf);
        return st;
    }
    *out = ob.buf;
    *out_len = ob.len;
    if (in_used) *in_used = used;
    return CT_OK;
}
