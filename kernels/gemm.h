/* General matrix multiply, the workhorse of every convolution and linear
 * layer: C[M,N] = A[M,K] · B[K,N], then an epilogue (bias, residual, ReLU).
 *
 * The fast path multiplies a pre-packed A (weights, packed once at model
 * load with ct_gemm_pack_a) by a B that a provider hands over in panels
 * (a strided matrix, already packed panels, or a convolution's input
 * unrolled on the fly, conv.h), on the threads of a ct_gemm_ctx. Work is
 * split over columns of C only, and every element is one ascending-k chain
 * in one micro-kernel, so the result does not depend on the thread count.
 *
 * Packed layouts (MR, NR from gemm_ukernel.h; KC, the K block, in gemm.c):
 *   A: K blocks of KC (the last one kc = K mod KC), each [ceil(M/MR)][kc][MR],
 *      so that a K block's panels are one sequential stream; rows past M zero.
 *   B: [ceil(N/NR)][K][NR]: element (k,j) at ((j/NR)*K + k)*NR + j%NR, columns past N zero. */
#ifndef CT_KERNELS_GEMM_H
#define CT_KERNELS_GEMM_H

#include <stddef.h>

#include "gemm_ukernel.h"
#include "threadpool.h"

typedef struct {
    const float *bias_m;    /* [M]: added to every element of row i, or NULL */
    const float *bias_n;    /* [N]: added to every element of column j, or NULL */
    const float *residual;  /* [M,N] with leading dimension ldc, or NULL; must not overlap C */
    int relu;               /* clamp at 0 last */
} ct_epilogue;

/* ---- packing ------------------------------------------------------------ */

/* Floats of a packed A of M x K (a multiple of 16: buffers stay aligned). */
size_t ct_gemm_packed_a_floats(int M, int K);
/* Packs A (element (i,k) at A[i*rs + k*cs]) into dst, each row i times
 * row_scale[i] when row_scale is not NULL (BatchNorm folding). */
void ct_gemm_pack_a(int M, int K, const float *A, ptrdiff_t rs, ptrdiff_t cs, const float *row_scale,
                    float *dst);
/* ct_gemm_pack_a of A [M][K/bins][bins] (row-major) with its columns taken
 * bin-major: packed column b*(K/bins) + c is A's column c*bins + b (fc6's
 * weights for features pooled bin by bin). bins must divide K. */
void ct_gemm_pack_a_bin_major(int M, int K, const float *A, int bins, const float *row_scale, float *dst);
/* Where rows i..i+MR-1 (i a multiple of MR) of column k sit in a packed A
 * of M x K: MR consecutive floats from this offset. */
size_t ct_gemm_packed_a_offset(int M, int K, int i, int k);
/* Floats of a packed B of K x N. */
size_t ct_gemm_packed_b_floats(int K, int N);

/* ---- B providers -------------------------------------------------------- */

typedef struct ct_gemm_b ct_gemm_b;

/* Hands over rows [k0,k0+kc) x columns [n0,n0+nc) of B (n0 a multiple of NR)
 * as nc/NR (rounded up) panels: panel q holds columns n0+q*NR.., its row p
 * at result + q*(*panel_stride) + p*NR, zero past column N. A provider
 * either packs them into buf (room for kc * round_up(nc, NR) floats,
 * 64-byte aligned) or points into data already in that form. Providers are
 * called from several threads at once. */
typedef const float *(*ct_gemm_panels_fn)(const ct_gemm_b *b, int k0, int kc, int n0, int nc, float *buf,
                                          ptrdiff_t *panel_stride);

struct ct_gemm_b {
    ct_gemm_panels_fn panels;
    const float *data;
    ptrdiff_t rs, cs;       /* matrix: element (k,j) at data[k*rs + j*cs]; packed: rs = K */
    int n;                  /* columns of B */
    const void *ctx;        /* provider-specific (convolution geometry) */
};

/* B as a strided matrix of N columns. */
ct_gemm_b ct_gemm_b_matrix(const float *B, ptrdiff_t rs, ptrdiff_t cs, int N);
/* B already packed ([ceil(N/NR)][K][NR], 32-byte aligned). */
ct_gemm_b ct_gemm_b_packed(const float *panels, int K, int N);

/* ---- running ------------------------------------------------------------ */

/* Threads (from a pool, or none) and one packing buffer per thread. */
typedef struct ct_gemm_ctx ct_gemm_ctx;

/* pool may be NULL (the caller's thread only); kernel NULL picks the best.
 * NULL when out of memory. */
ct_gemm_ctx *ct_gemm_ctx_new(ct_pool *pool, const ct_gemm_kernel *kernel);
void ct_gemm_ctx_free(ct_gemm_ctx *ctx);
ct_pool *ct_gemm_ctx_pool(const ct_gemm_ctx *ctx);
/* Gives every thread a workspace of at least `floats` floats (64-byte
 * aligned) for kernels built on the GEMM (winograd.h); 0 when out of memory.
 * Call it while setting up, not in a run. */
int ct_gemm_ctx_reserve(ct_gemm_ctx *ctx, size_t floats);
float *ct_gemm_ctx_workspace(const ct_gemm_ctx *ctx, int thread);

/* C = relu?(A·B + bias_m + bias_n + residual) in that order, each output's
 * dot product summed first (ascending k). a_packed from ct_gemm_pack_a; ep
 * may be NULL; C must not overlap A, B or the residual. Allocates nothing. */
void ct_gemm_run(const ct_gemm_ctx *ctx, int M, int N, int K, const float *a_packed, const ct_gemm_b *b,
                 float *C, ptrdiff_t ldc, const ct_epilogue *ep);

/* ct_gemm_run on the calling thread, which is pool thread `thread` (inside
 * a pool task, or 0 outside any), for rows [m0, m1) of C only (0 <= m0 <=
 * m1 <= M, m0 a multiple of MR; 0 and M for all): for kernels that split
 * work themselves. */
void ct_gemm_run_here(const ct_gemm_ctx *ctx, int thread, int M, int N, int K, const float *a_packed,
                      const ct_gemm_b *b, float *C, ptrdiff_t ldc, const ct_epilogue *ep, int m0, int m1);

/* The same for a strided A (element (i,k) at A[i*rs_a + k*cs_a]) and B, on
 * the calling thread with the given micro-kernel. Allocates its packing
 * buffers; if that fails the result comes from ct_gemm_naive. */
void ct_gemm_with_kernel(const ct_gemm_kernel *kernel, int M, int N, int K,
                         const float *A, ptrdiff_t rs_a, ptrdiff_t cs_a,
                         const float *B, ptrdiff_t rs_b, ptrdiff_t cs_b,
                         float *C, ptrdiff_t ldc, const ct_epilogue *ep);
/* ct_gemm_with_kernel with ct_gemm_kernel_best(). */
void ct_gemm(int M, int N, int K,
             const float *A, ptrdiff_t rs_a, ptrdiff_t cs_a,
             const float *B, ptrdiff_t rs_b, ptrdiff_t cs_b,
             float *C, ptrdiff_t ldc, const ct_epilogue *ep);

/* The reference twin: a triple loop, k innermost, same contract. */
void ct_gemm_naive(int M, int N, int K,
                   const float *A, ptrdiff_t rs_a, ptrdiff_t cs_a,
                   const float *B, ptrdiff_t rs_b, ptrdiff_t cs_b,
                   float *C, ptrdiff_t ldc, const ct_epilogue *ep);

#endif
