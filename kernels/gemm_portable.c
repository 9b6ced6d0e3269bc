/* The portable micro-kernel (contract in gemm_ukernel.h), written with
 * gcc/clang vector extensions and no intrinsics: the reference every
 * ISA-specific kernel must match. Plain multiply then add (the build turns
 * off contraction), so with it ct_gemm is bit-identical to ct_gemm_naive. */
#include "gemm_ukernel.h"

typedef float vec4 __attribute__((vector_size(16)));
typedef int ivec4 __attribute__((vector_size(16)));

enum { MR = CT_GEMM_MR, NR = CT_GEMM_NR, HALF = NR / 2, NV = HALF / 4 };

static vec4 load4(const float *p) {
    vec4 v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

/* Lanes below zero become +0; NaN and -0 stay (as `v < 0 ? 0 : v`). */
static vec4 relu4(vec4 v) {
    ivec4 bits, negative = v < (vec4){0};
    __builtin_memcpy(&bits, &v, sizeof v);
    bits &= ~negative;
    __builtin_memcpy(&v, &bits, sizeof v);
    return v;
}

/* Columns [j0, j0+HALF) of the block: twelve 4-float accumulators, which fit
 * the sixteen SSE registers with the B row and the A broadcast. */
static void half_block(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc, int accumulate,
                       const ct_tile_epilogue *ep, int j0) {
    vec4 acc[MR][NV];
#pragma GCC unroll 4
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[i][v] = accumulate ? load4(c + i * ldc + j0 + 4 * v) : (vec4){0};
    for (int p = 0; p < kc; p++) {
        vec4 bp[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) bp[v] = load4(b + p * NR + j0 + 4 * v);
#pragma GCC unroll 4
        for (int i = 0; i < MR; i++) {
            vec4 ai = (vec4){0} + a[p * MR + i];
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[i][v] += ai * bp[v];
        }
    }
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < NV; v++) {
            vec4 s = acc[i][v];
            if (ep && ep->bias_m) s += ep->bias_m[i];
            if (ep && ep->bias_n) s += load4(ep->bias_n + j0 + 4 * v);
            if (ep && ep->residual) s += load4(ep->residual + i * ep->ld_residual + j0 + 4 * v);
            if (ep && ep->relu) s = relu4(s);
            __builtin_memcpy(c + i * ldc + j0 + 4 * v, &s, sizeof s);
        }
}

void ct_ukernel_portable(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc, int accumulate,
                         const ct_tile_epilogue *ep) {
    half_block(kc, a, b, c, ldc, accumulate, ep, 0);
    half_block(kc, a, b, c, ldc, accumulate, ep, HALF);
}
