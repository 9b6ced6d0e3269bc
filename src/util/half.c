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

#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define WIDEN_VECTORS 1
typedef uint32_t u32x4 __attribute__((vector_size(16)));
typedef int32_t i32x4 __attribute__((vector_size(16)));
typedef float f32x4 __attribute__((vector_size(16)));

/* ct_half_to_float1 on four values without branches (GCC/clang vectors):
 * a zero or subnormal half is its mantissa times 2^-24 (an exact integer
 * conversion and an exact scaling to a normal float, whatever the FPU's
 * denormal modes); the other cases are the same bit moves, picked by masks. */
static u32x4 widen4(u32x4 h) {
    u32x4 sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu;
    f32x4 small = __builtin_convertvector((i32x4)man, f32x4) * 0x1p-24f;
    u32x4 small_bits, normal = ((exp + 112u) << 23) | (man << 13), special = 0x7F800000u | (man << 13);
    memcpy(&small_bits, &small, sizeof small_bits);
    u32x4 is_small = (u32x4)(exp == 0u), is_special = (u32x4)(exp == 0x1Fu);
    return sign | (small_bits & is_small) | (special & is_special) | (normal & ~(is_small | is_special));
}
#endif

void ct_half_to_float(const void *src, float *dst, size_t n) {
    const uint8_t *p = src;
    size_t i = 0;
#ifdef WIDEN_VECTORS
    for (; i + 4 <= n; i += 4) {
        uint16_t h[4];   /* little-endian on this host */
        memcpy(h, p + 2 * i, sizeof h);
        u32x4 bits = widen4((u32x4){h[0], h[1], h[2], h[3]});
        memcpy(dst + i, &bits, sizeof bits);
    }
#endif
    for (; i < n; i++) dst[i] = ct_half_to_float1((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
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
