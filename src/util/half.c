/* binary16 <-> binary32: widening exact for normals, subnormals, inf and
 * NaN; narrowing rounded to nearest even. */
#include "util/half.h"

#include <string.h>

float ct_half_to_float1(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t man = h & 0x3FFu;
    uint32_t bits;
    if (exp == 0x1F) {
        bits = sign | 0x7F800000u | (man << 13);              /* inf / NaN */
    } else if (exp != 0) {
        bits = sign | ((exp + 112u) << 23) | (man << 13);     /* normal: rebias 15 -> 127 */
    } else if (man == 0) {
        bits = sign;                                          /* signed zero */
    } else {                                                  /* subnormal: normalize */
        int e = -1;
        do {
            e++;
            man <<= 1;
        } while (!(man & 0x400u));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3FFu) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

void ct_half_to_float(const void *src, float *dst, size_t n) {
    const uint8_t *p = src;
    for (size_t i = 0; i < n; i++) dst[i] = ct_half_to_float1((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
}

uint16_t ct_float_to_half1(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000u);
    uint32_t mag = bits & 0x7FFFFFFFu;
    if (mag > 0x7F800000u) return sign | 0x7E00u | (uint16_t)((mag >> 13) & 0x3FFu);   /* NaN, quiet */
    if (mag >= 0x477FF000u) return sign | 0x7C00u;        /* >= 65520 rounds past 65504: inf */
    if (mag >= 0x38800000u) {                              /* normal half: >= 2^-14 */
        uint32_t rounded = mag + 0xFFFu + ((mag >> 13) & 1u);   /* ties to even; may carry up */
        return sign | (uint16_t)((rounded - 0x38000000u) >> 13);   /* rebias 127 -> 15 */
    }
    /* Subnormal half (multiples of 2^-24): adding 0.5 leaves units of 2^-24
     * in the mantissa, rounded to nearest even by the float addition. */
    float magnitude, sum;
    memcpy(&magnitude, &mag, sizeof magnitude);
    sum = magnitude + 0.5f;
    uint32_t sum_bits;
    memcpy(&sum_bits, &sum, sizeof sum_bits);
    return sign | (uint16_t)(sum_bits - 0x3F000000u);
}
