/* float16 conversion (src/util/half.c): widening exact on every binary16
 * value, the bulk form bit-equal to the scalar one; narrowing against a naive twin (nearest representable value by
 * search, ties to even) on 2^24 float bit patterns spread over the whole
 * range, and against the compiler's _Float16 where it has one. */
#include "test.h"
#include "util/half.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static float from_bits(uint32_t b) {
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* Naive twin: the binary16 nearest to f, ties to the even pattern, by
 * binary search over the ordered non-negative finite halves. */
static uint16_t naive_to_half(float f) {
    uint16_t sign = signbit(f) ? 0x8000u : 0;
    double a = fabs((double)f);
    if (isnan(f)) return 0;   /* not compared */
    if (a >= 65520.0) return sign | 0x7C00u;
    uint16_t lo = 0, hi = 0x7BFFu;   /* largest half <= a */
    while (lo < hi) {
        uint16_t mid = (uint16_t)((lo + hi + 1) / 2);
        if ((double)ct_half_to_float1(mid) <= a) lo = mid;
        else hi = (uint16_t)(mid - 1);
    }
    if (lo == 0x7BFFu) return sign | lo;   /* 65504 <= a < 65520 */
    double below = a - (double)ct_half_to_float1(lo), above = (double)ct_half_to_float1((uint16_t)(lo + 1)) - a;
    uint16_t h = below < above ? lo : above < below ? (uint16_t)(lo + 1) : (lo & 1u) ? (uint16_t)(lo + 1) : lo;
    return sign | h;
}

static void test_widening_round_trips(void) {
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000u; h++) {
        float f = ct_half_to_float1((uint16_t)h);
        int is_nan = (h & 0x7C00u) == 0x7C00u && (h & 0x3FFu);
        if (is_nan) bad += !isnan(f) || (ct_float_to_half1(f) & 0x7C00u) != 0x7C00u || !(ct_float_to_half1(f) & 0x3FFu);
        else bad += ct_float_to_half1(f) != h;
    }
    CHECKF(bad == 0, "%d of 65536 halves do not survive the round trip", bad);
    CHECK(ct_half_to_float1(0x3C00u) == 1.0f && ct_half_to_float1(0x7BFFu) == 65504.0f);
    CHECK(ct_half_to_float1(0x0001u) == ldexpf(1.0f, -24));
}

/* The bulk widening (four at a time where the compiler has vectors) gives
 * the scalar one's bits for every half, from every alignment and with every
 * tail length. */
static void test_bulk_widening_matches_scalar(void) {
    static uint8_t bytes[2 * 0x10000 + 2];
    static float wide[0x10000];
    int bad = 0;
    for (int shift = 0; shift < 2; shift++) {   /* odd byte offsets: any alignment */
        for (uint32_t h = 0; h < 0x10000u; h++) bytes[shift + 2 * h] = (uint8_t)h, bytes[shift + 2 * h + 1] = (uint8_t)(h >> 8);
        for (size_t n = 0x10000 - 3; n <= 0x10000; n++) {   /* tails of 1, 2, 3 and none */
            ct_half_to_float(bytes + shift, wide, n);
            for (size_t h = 0; h < n; h++) {
                float one = ct_half_to_float1((uint16_t)h);
                bad += memcmp(&one, &wide[h], sizeof one) != 0;
            }
        }
    }
    CHECKF(bad == 0, "%d widened values differ from ct_half_to_float1", bad);
}

static void test_narrowing_matches_twin(void) {
    int bad = 0;
    uint32_t first_bad = 0;
    for (uint64_t b = 0; b < (1ull << 32); b += 251) {   /* 251: prime, every mantissa pattern class */
        float f = from_bits((uint32_t)b);
        if (isnan(f)) continue;
        if (ct_float_to_half1(f) != naive_to_half(f) && bad++ == 0) first_bad = (uint32_t)b;
    }
    CHECKF(bad == 0, "%d mismatches, first at bits 0x%08x", bad, first_bad);
    /* Ties and edges: 1 + 2^-11 (tie, to even 1.0), 1 + 3 * 2^-11 (tie, up),
     * 65519.99 (down to 65504), 65520 (inf), 2^-25 (tie to 0), 3 * 2^-25 (up to 2 * 2^-24). */
    CHECK(ct_float_to_half1(1.0f + ldexpf(1.0f, -11)) == 0x3C00u);
    CHECK(ct_float_to_half1(1.0f + 3 * ldexpf(1.0f, -11)) == 0x3C02u);
    CHECK(ct_float_to_half1(65519.99f) == 0x7BFFu);
    CHECK(ct_float_to_half1(65520.0f) == 0x7C00u && ct_float_to_half1(-65520.0f) == 0xFC00u);
    CHECK(ct_float_to_half1(ldexpf(1.0f, -25)) == 0x0000u);
    CHECK(ct_float_to_half1(3 * ldexpf(1.0f, -25)) == 0x0002u);
    CHECK(ct_float_to_half1(-0.0f) == 0x8000u);
}

static void test_narrowing_matches_compiler(void) {
#ifdef __FLT16_MAX__
    int bad = 0;
    for (uint64_t b = 7; b < (1ull << 32); b += 509) {
        float f = from_bits((uint32_t)b);
        if (isnan(f)) continue;
        _Float16 h = (_Float16)f;
        uint16_t hb;
        memcpy(&hb, &h, sizeof hb);
        bad += ct_float_to_half1(f) != hb;
    }
    CHECKF(bad == 0, "%d mismatches against _Float16", bad);
#else
    printf("note: the compiler has no _Float16; only the naive twin is compared\n");
#endif
}

int main(void) {
    RUN(test_widening_round_trips);
    RUN(test_bulk_widening_matches_scalar);
    RUN(test_narrowing_matches_twin);
    RUN(test_narrowing_matches_compiler);
    return TEST_SUMMARY();
}
