/* AArch64 NEON micro-kernel, 4 x 24 (contract in gemm_ukernel.h): 24
 * float32x4 accumulators, six B vectors and the four A values of a step
 * (31 of the 32 vector registers), fused multiply-add. NEON is part of
 * every AArch64 CPU, so no run-time check is needed. */
#if defined(__aarch64__)
#include <arm_neon.h>

#include "gemm_ukernel.h"

enum { MR = CT_GEMM_MR, NR = CT_GEMM_NR, NV = NR / 4 };

void ct_ukernel_neon(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc, int accumulate,
                     const ct_tile_epilogue *ep) {
    float32x4_t acc[MR][NV];
#pragma GCC unroll 4
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 6
        for (int v = 0; v < NV; v++) acc[i][v] = accumulate ? vld1q_f32(c + i * ldc + 4 * v) : vdupq_n_f32(0.0f);
    for (int p = 0; p < kc; p++, a += MR, b += NR) {
        float32x4_t bv[NV];
#pragma GCC unroll 6
        for (int v = 0; v < NV; v++) bv[v] = vld1q_f32(b + 4 * v);
#pragma GCC unroll 4
        for (int i = 0; i < MR; i++)
#pragma GCC unroll 6
            for (int v = 0; v < NV; v++) acc[i][v] = vfmaq_n_f32(acc[i][v], bv[v], a[i]);
    }
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < NV; v++) {
            float32x4_t s = acc[i][v];
            if (ep && ep->bias_m) s = vaddq_f32(s, vdupq_n_f32(ep->bias_m[i]));
            if (ep && ep->bias_n) s = vaddq_f32(s, vld1q_f32(ep->bias_n + 4 * v));
            if (ep && ep->residual) s = vaddq_f32(s, vld1q_f32(ep->residual + i * ep->ld_residual + 4 * v));
            if (ep && ep->relu)   /* lanes below zero become +0; NaN and -0 stay, as `s < 0 ? 0 : s` */
                s = vbslq_f32(vcltq_f32(s, vdupq_n_f32(0.0f)), vdupq_n_f32(0.0f), s);
            vst1q_f32(c + i * ldc + 4 * v, s);
        }
}
#else
typedef int ct_gemm_neon_unused;  /* ISO C forbids an empty translation unit */
#endif
