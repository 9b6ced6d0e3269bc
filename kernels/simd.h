/* Four-float vectors for the portable kernels, with gcc/clang vector
 * extensions (SSE on x86, NEON on ARM, scalar code elsewhere): no
 * intrinsics, no alignment requirements. Arithmetic on them is lane-wise
 * IEEE float arithmetic, so a vectorized loop gives the same bits as its
 * scalar form. */
#ifndef CT_KERNELS_SIMD_H
#define CT_KERNELS_SIMD_H

#include <stddef.h>

typedef float ct_vec4 __attribute__((vector_size(16)));
typedef int ct_ivec4 __attribute__((vector_size(16)));

static inline ct_vec4 ct_load4(const float *p) {
    ct_vec4 v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

static inline void ct_store4(float *p, ct_vec4 v) { __builtin_memcpy(p, &v, sizeof v); }

/* The first n (<= 4) floats at p, the other lanes zero; reads only those n. */
static inline ct_vec4 ct_load4_first(const float *p, int n) {
    if (n == 4) return ct_load4(p);
    ct_vec4 v = {0};
    for (int t = 0; t < n; t++) v[t] = p[t];
    return v;
}

/* Lanes i, j, k, l of the eight lanes of (a, b). */
#if defined(__clang__)
#define CT_SHUFFLE4(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#else
#define CT_SHUFFLE4(a, b, i, j, k, l) __builtin_shuffle(a, b, (ct_ivec4){i, j, k, l})
#endif

/* Lanes of a where mask is all ones, else of b. */
static inline ct_vec4 ct_select4(ct_ivec4 mask, ct_vec4 a, ct_vec4 b) {
    ct_ivec4 ai, bi;
    __builtin_memcpy(&ai, &a, sizeof a);
    __builtin_memcpy(&bi, &b, sizeof b);
    ai = (ai & mask) | (bi & ~mask);
    __builtin_memcpy(&a, &ai, sizeof a);
    return a;
}

/* Transposes the 4x4 block r[0..3] in place: r[i][j] <-> r[j][i]. */
static inline void ct_transpose4(ct_vec4 r[4]) {
    ct_vec4 t0 = CT_SHUFFLE4(r[0], r[1], 0, 4, 1, 5), t1 = CT_SHUFFLE4(r[0], r[1], 2, 6, 3, 7);
    ct_vec4 t2 = CT_SHUFFLE4(r[2], r[3], 0, 4, 1, 5), t3 = CT_SHUFFLE4(r[2], r[3], 2, 6, 3, 7);
    r[0] = CT_SHUFFLE4(t0, t2, 0, 1, 4, 5);
    r[1] = CT_SHUFFLE4(t0, t2, 2, 3, 6, 7);
    r[2] = CT_SHUFFLE4(t1, t3, 0, 1, 4, 5);
    r[3] = CT_SHUFFLE4(t1, t3, 2, 3, 6, 7);
}

/* dst[k*ld_dst + b] = src[b*ld_src + k] for b < rows, k < cols: 4x4 blocks
 * transposed in registers, four source rows at a time, the ragged edges one
 * by one. */
static inline void ct_transpose(const float *src, ptrdiff_t ld_src, int rows, int cols, float *dst,
                                ptrdiff_t ld_dst) {
    int b = 0;
    for (; b + 4 <= rows; b += 4) {
        int k = 0;
        for (; k + 4 <= cols; k += 4) {
            ct_vec4 r[4];
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++) r[i] = ct_load4(src + (b + i) * ld_src + k);
            ct_transpose4(r);
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++) ct_store4(dst + (k + i) * ld_dst + b, r[i]);
        }
        for (; k < cols; k++)
            for (int i = 0; i < 4; i++) dst[k * ld_dst + b + i] = src[(b + i) * ld_src + k];
    }
    for (; b < rows; b++)
        for (int k = 0; k < cols; k++) dst[k * ld_dst + b] = src[b * ld_src + k];
}

#endif
