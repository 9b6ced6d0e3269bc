/* Deflate encoder: stored blocks, or LZ77 with hash chains coded with the
 * fixed Huffman code of RFC 1951 3.2.6, wrapped in a zlib header and trailer. */
#include "image/deflate.h"

#include <stdlib.h>
#include <string.h>

#include "image/inflate.h"
#include "image/deflate_tables.h"
#include "util/error.h"

#define WINDOW      32768u
#define HASH_BITS   15
#define MAX_CHAIN   32       /* candidates tried per position: speed over ratio */
#define MIN_MATCH   3
#define MAX_MATCH   258
#define NO_POS      UINT32_MAX


/* Output bits, least significant first, into a buffer sized in advance. */
typedef struct {
    uint8_t *buf;
    size_t len;
    uint64_t bits;
    unsigned nbits;
} bitwriter;

static void put_bits(bitwriter *bw, unsigned value, unsigned n) {
    bw->bits |= (uint64_t)value << bw->nbits;
    bw->nbits += n;
    while (bw->nbits >= 8) {
        bw->buf[bw->len++] = (uint8_t)bw->bits;
        bw->bits >>= 8;
        bw->nbits -= 8;
    }
}

static void flush_bits(bitwriter *bw) {
    if (bw->nbits) put_bits(bw, 0, 8 - bw->nbits);
}

/* Huffman codes are sent most significant bit first. */
static void put_code(bitwriter *bw, unsigned code, unsigned len) {
    unsigned rev = 0;
    for (unsigned i = 0; i < len; i++) rev |= ((code >> i) & 1u) << (len - 1 - i);
    put_bits(bw, rev, len);
}

/* Literal/length symbol in the fixed code. */
static void put_litlen(bitwriter *bw, unsigned sym) {
    if (sym < 144) put_code(bw, 0x30 + sym, 8);
    else if (sym < 256) put_code(bw, 0x190 + sym - 144, 9);
    else if (sym < 280) put_code(bw, sym - 256, 7);
    else put_code(bw, 0xc0 + sym - 280, 8);
}

static void put_match(bitwriter *bw, unsigned length, unsigned dist) {
    unsigned l = 28;
    while (ct_deflate_length_base[l] > length) l--;
    put_litlen(bw, 257 + l);
    put_bits(bw, length - ct_deflate_length_base[l], ct_deflate_length_extra[l]);
    unsigned d = 29;
    while (ct_deflate_dist_base[d] > dist) d--;
    put_code(bw, d, 5);
    put_bits(bw, dist - ct_deflate_dist_base[d], ct_deflate_dist_extra[d]);
}

static unsigned hash3(const uint8_t *p) {
    uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    return (v * 2654435761u) >> (32 - HASH_BITS);
}

/* Longest match for in[pos..] among the chained earlier positions. */
static unsigned find_match(const uint8_t *in, size_t len, size_t pos, const uint32_t *head,
                           const uint32_t *prev, unsigned *dist) {
    size_t limit = len - pos < MAX_MATCH ? len - pos : MAX_MATCH;
    unsigned best = 0;
    uint32_t cand = head[hash3(in + pos)];
    for (int tries = 0; tries < MAX_CHAIN && cand != NO_POS && pos - cand <= WINDOW; tries++) {
        unsigned n = 0;
        while (n < limit && in[cand + n] == in[pos + n]) n++;
        if (n > best) {
            best = n;
            *dist = (unsigned)(pos - cand);
            if (n == limit) break;
        }
        cand = prev[cand % WINDOW];
    }
    return best >= MIN_MATCH ? best : 0;
}

static void insert_hash(const uint8_t *in, size_t pos, uint32_t *head, uint32_t *prev) {
    unsigned h = hash3(in + pos);
    prev[pos % WINDOW] = head[h];
    head[h] = (uint32_t)pos;
}

static ct_status compress_fixed(const uint8_t *in, size_t len, bitwriter *bw, ct_error *err) {
    uint32_t *head = malloc(sizeof(uint32_t) << HASH_BITS), *prev = malloc(sizeof(uint32_t) * WINDOW);
    if (!head || !prev) {
        free(head);
        free(prev);
        return ct_fail(err, CT_E_NOMEM, "out of memory for the deflate hash tables");
    }
    for (size_t i = 0; i < (1u << HASH_BITS); i++) head[i] = NO_POS;
    put_bits(bw, 1, 1);                              /* final block */
    put_bits(bw, 1, 2);                              /* fixed Huffman */
    size_t pos = 0;
    while (pos < len) {
        unsigned n = 0, dist = 0;
        if (len - pos >= MIN_MATCH) {
            n = find_match(in, len, pos, head, prev, &dist);
            insert_hash(in, pos, head, prev);
        }
        if (n == 0) {
            put_litlen(bw, in[pos++]);
            continue;
        }
        put_match(bw, n, dist);
        for (size_t end = pos + n; ++pos < end;)
            if (len - pos >= MIN_MATCH) insert_hash(in, pos, head, prev);
    }
    put_litlen(bw, 256);
    flush_bits(bw);
    free(head);
    free(prev);
    return CT_OK;
}

static void compress_stored(const uint8_t *in, size_t len, bitwriter *bw) {
    size_t pos = 0;
    do {
        size_t n = len - pos < 65535 ? len - pos : 65535;
        uint8_t *p = bw->buf + bw->len;
        p[0] = pos + n == len;                       /* BFINAL, BTYPE 00, byte-aligned */
        p[1] = (uint8_t)n;
        p[2] = (uint8_t)(n >> 8);
        p[3] = (uint8_t)~n;
        p[4] = (uint8_t)(~n >> 8);
        memcpy(p + 5, in + pos, n);
        bw->len += 5 + n;
        pos += n;
    } while (pos < len);
}

ct_status ct_zlib_compress(const uint8_t *in, size_t len, ct_deflate_mode mode,
                           uint8_t **out, size_t *out_len, ct_error *err) {
    /* Worst cases: 9 bits per literal, or 5 header bytes per stored block. */
    size_t slack = 64 + 5 * (len / 65535 + 1);
    if (len > (SIZE_MAX - slack) / 9 * 8)
        return ct_fail(err, CT_E_LIMIT, "deflate: %zu bytes is too large", len);
    size_t cap = len + len / 8 + slack;
    bitwriter bw = {malloc(cap), 0, 0, 0};
    if (!bw.buf) return ct_fail(err, CT_E_NOMEM, "out of memory for %zu bytes of deflate output", cap);
    bw.buf[bw.len++] = 0x78;                         /* deflate, 32 KiB window */
    bw.buf[bw.len++] = 0x01;                         /* no dictionary; (0x7801 % 31) == 0 */
    if (mode == CT_DEFLATE_STORED) {
        compress_stored(in, len, &bw);
    } else {
        ct_status st = compress_fixed(in, len, &bw, err);
        if (st != CT_OK) {
            free(bw.buf);
            return st;
        }
    }
    uint32_t adler = ct_adler32(1, in, len);
    for (int i = 3; i >= 0; i--) bw.buf[bw.len++] = (uint8_t)(adler >> (8 * i));
    *out = bw.buf;
    *out_len = bw.len;
    return CT_OK;
}
