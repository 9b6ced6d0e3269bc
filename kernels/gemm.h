/* General matrix multiply, the workhorse of every convolution and linear
 * layer: C[M,N] = A[M,K] · B[K,N], then an epilogue (bias, residual, ReLU).
 *
 * Operands are addressed through row and column strides (in elements), so a
 * transposed operand costs nothing: element (i,k) of A is A[i*rs_a + k*cs_a],
 * element (k,j) of B is B[k*rs_b + j*cs_b]. C is row-major with leading
 * dimension ldc. */
#ifndef CT_KERNELS_GEMM_H
#define CT_KERNELS_GEMM_H

#include <stddef.h>

#include "gemm_ukernel.h"

typedef struct {
    const float *bias_m;    /* [M]: added to every element of row i, or NULL */
    const float *bias_n;    /* [N]: added to every element of column j, or NULL */
    const float *residual;  /* [M,N] with leading dimension ldc, or NULL; may equal C */
    int relu;               /* clamp at 0 last */
} ct_epilogue;

/* C = relu?( A·B + bias + residual ), each output computed as the full dot
 * product first, then bias_m, bias_n, residual added in that order. ep may be
 * NULL (plain product). C must not overlap A or B. Uses the best micro-kernel
 * of ct_gemm_kernel_best(). Packing buffers (about (K/256 + 1) * 100 KB) are
 * allocated per call; if that fails the result comes from ct_gemm_naive. */
void ct_gemm(int M, int N, int K,
             const float *A, ptrdiff_t rs_a, ptrdiff_t cs_a,
             const float *B, ptrdiff_t rs_b, ptrdiff_t cs_b,
             float *C, ptrdiff_t ldc, const ct_epilogue *ep);

/* ct_gemm with the given micro-kernel (tests and benchmarks compare them). */
void ct_gemm_with_kernel(const ct_gemm_kernel *kernel, int M, int N, int K,
                         const float *A, ptrdiff_t rs_a, ptrdiff_t cs_a,
                         const float *B, ptrdiff_t rs_b, ptrdiff_t cs_b,
                         float *C, ptrdiff_t ldc, const ct_epilogue *ep);

/* The reference twin: a triple loop, k innermost, same contract. */
void ct_gemm_naive(int M, int N, int K,
                   const float *A, ptrdiff_t rs_a, ptrdiff_t cs_a,
                   const float *B, ptrdiff_t rs_b, ptrdiff_t cs_b,
                   float *C, ptrdiff_t ldc, const ct_epilogue *ep);

#endif
