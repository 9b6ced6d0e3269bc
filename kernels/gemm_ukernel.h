/* The GEMM micro-kernel contract and the table the dispatcher picks from.
 *
 * A micro-kernel computes one MR x NR block of C from packed panels:
 *     c[i*ldc + j] = (accumulate ? c[i*ldc + j] : 0) + sum_{p<kc} a[p*MR + i] * b[p*NR + j]
 * for i < MR, j < NR, summing p in ascending order. `a` is an MR-row panel
 * (column p of the panel is MR consecutive floats), `b` an NR-column panel
 * (row p is NR consecutive floats); both 64-byte aligned. Kernels may use
 * fused multiply-add, so results differ from the portable kernel by float
 * rounding only. */
#ifndef CT_KERNELS_GEMM_UKERNEL_H
#define CT_KERNELS_GEMM_UKERNEL_H

#include <stddef.h>

typedef void (*ct_ukernel_fn)(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                              int accumulate);

typedef struct {
    const char *name;
    int mr, nr;
    ct_ukernel_fn fn;
} ct_gemm_kernel;

/* The portable kernel, always built: the reference the others are tested against. */
void ct_ukernel_portable_6x8(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                             int accumulate);
/* AVX2 + FMA, x86 builds only. (No AVX-512 kernel: the machines this was
 * developed and tested on do not expose AVX-512, and an untested kernel is
 * not shipped. AVX2 FMAs reach the same FP32 peak on Zen 4.) */
void ct_ukernel_avx2_6x16(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc, int accumulate);

/* The best kernel this CPU runs, detected once (cpuid + xgetbv on x86).
 * The environment variable CT_GEMM_KERNEL=portable|avx2 overrides it
 * (falling back to portable when the CPU lacks the instructions). */
const ct_gemm_kernel *ct_gemm_kernel_best(void);
/* Every kernel this CPU can run, the portable one first; returns the count. */
int ct_gemm_kernels_available(const ct_gemm_kernel **out, int max);

#endif
