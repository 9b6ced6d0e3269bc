/* The GEMM micro-kernel contract and the table the dispatcher picks from.
 *
 * Every micro-kernel computes one CT_GEMM_MR x CT_GEMM_NR block of C from
 * packed panels (the shape is the same for all kernels, so weights are packed
 * once at model load whatever kernel runs them):
 *     s[i][j] = (accumulate ? c[i*ldc + j] : 0) + sum_{p<kc} a[p*MR + i] * b[p*NR + j]
 * summing p in ascending order (one chain per element: splitting K into
 * blocks that store and reload c changes nothing). `a` is an MR-row panel
 * (column p is MR consecutive floats), `b` an NR-column panel (row p is NR
 * consecutive floats, 32-byte aligned). Then, when ep is not NULL, the
 * epilogue in this order: s += bias_m[i]; s += bias_n[j];
 * s += residual[i*ld_residual + j]; s = relu ? (s < 0 ? 0 : s) : s (NaN
 * stays NaN), each term only when its pointer is set. c[i*ldc + j] = s.
 * Kernels may use fused multiply-add, so results differ from the portable
 * kernel by float rounding only; for a given kernel they depend on nothing
 * but the operands. */
#ifndef CT_KERNELS_GEMM_UKERNEL_H
#define CT_KERNELS_GEMM_UKERNEL_H

#include <stddef.h>

/* 4 x 24: twelve 8-float accumulators (AVX2), no wasted rows for the
 * model's channel counts (all multiples of 4), and the 24-float B row keeps
 * the waste on the pixel dimension small. */
#define CT_GEMM_MR 4
#define CT_GEMM_NR 24

typedef struct {
    const float *bias_m;      /* [MR] this block's rows, or NULL */
    const float *bias_n;      /* [NR] this block's columns, or NULL */
    const float *residual;    /* block at residual[i*ld_residual + j], or NULL */
    ptrdiff_t ld_residual;
    int relu;
} ct_tile_epilogue;

typedef void (*ct_ukernel_fn)(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                              int accumulate, const ct_tile_epilogue *ep);

typedef struct {
    const char *name;
    ct_ukernel_fn fn;
} ct_gemm_kernel;

/* The portable kernel, always built: the reference the others are tested against. */
void ct_ukernel_portable(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                         int accumulate, const ct_tile_epilogue *ep);
/* AVX2 + FMA, x86 builds only. (No AVX-512 kernel: the machines this was
 * developed and tested on do not expose AVX-512, and an untested kernel is
 * not shipped. AVX2 FMAs reach the same FP32 peak on Zen 4.) */
void ct_ukernel_avx2(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                     int accumulate, const ct_tile_epilogue *ep);
/* NEON with fused multiply-add, AArch64 builds only (tested under qemu). */
void ct_ukernel_neon(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                     int accumulate, const ct_tile_epilogue *ep);

/* The best kernel this CPU runs, detected once (cpuid + xgetbv on x86).
 * The environment variable CT_GEMM_KERNEL=portable|avx2|neon overrides it
 * (falling back to portable when the CPU lacks the instructions). */
const ct_gemm_kernel *ct_gemm_kernel_best(void);
/* Every kernel this CPU can run, the portable one first; returns the count. */
int ct_gemm_kernels_available(const ct_gemm_kernel **out, int max);

#endif
