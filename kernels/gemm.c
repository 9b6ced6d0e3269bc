/* Blocked, packed single-precision GEMM driver plus the portable micro-kernel
 * (gcc/clang vector extensions, no intrinsics), the reference every
 * ISA-specific micro-kernel (gemm_ukernel.h) must match.
 *
 * Loops: column blocks of NC (jc) -> row blocks of MC (ic) -> K blocks of KC
 * (pc) -> NR-column micro-panels -> MR-row micro-panels. B's NC-column block
 * is packed once for the whole K range; A's MC x KC block is packed per
 * (jc, ic, pc). The partial sums of one MC x NC block stay in a tile buffer
 * until K is exhausted, so C is written exactly once, after the epilogue has
 * read the residual: the residual may therefore alias C. Each element's dot
 * product is summed in ascending k order (bit-identical to the naive twin
 * with the portable kernel; FMA kernels differ by rounding only).
 *
 * Buffers are allocated per call (no static state: callable from several
 * threads at once); should that allocation fail, the call computes the same
 * result with ct_gemm_naive. */
#include "gemm.h"

#include <stdlib.h>

/* Cache blocks: an A micro-panel (MR x KC, 6 KB for MR = 6) and a B
 * micro-panel (KC x NR, 8-16 KB) stay in L1 during a micro-kernel; the packed
 * A block (MC x KC, 72 KB), the KC x NC slice of packed B (96 KB) and the C
 * tile (MC x NC, 27 KB) stay in L2. MC must be a multiple of every kernel's
 * MR (6) and NC of every NR (8, 16); KC*MR and KC*NR multiples of 16 keep
 * every packed panel 64-byte aligned. */
enum { KC = 256, MC = 72, NC = 96 };
enum { ALIGN_BYTES = 64 };

typedef struct {
    int M, N, K;
    const float *A; ptrdiff_t rs_a, cs_a;   /* [M,K] through strides */
    const float *B; ptrdiff_t rs_b, cs_b;   /* [K,N] through strides */
    float *C; ptrdiff_t ldc;                /* [M,N] row-major */
    const ct_epilogue *ep;
    const ct_gemm_kernel *kern;
} gemm_args;

typedef struct {
    float *b;       /* K blocks of [NC/NR panels][KC][NR]: B's column block */
    float *a;       /* [MC/MR panels][KC][MR]: A's current block */
    float *tile;    /* [MC, NC] partial sums */
} gemm_buffers;

static int min_int(int a, int b) { return a < b ? a : b; }

/* Packs rows [i0,i0+mc) x columns [p0,p0+kc) of A into MR-row panels of
 * stride MR*KC: element (i0+r0+i, p0+p) goes to dst[r0*KC + p*MR + i]; rows
 * past mc are 0. */
static void pack_a(const gemm_args *g, int i0, int mc, int p0, int kc, float *dst) {
    int mr = g->kern->mr;
    ptrdiff_t cs = g->cs_a;
    for (int r0 = 0; r0 < mc; r0 += mr, dst += (ptrdiff_t)mr * KC) {
        int rows = min_int(mr, mc - r0);
        for (int i = 0; i < mr; i++) {
            const float *src = g->A + (ptrdiff_t)(i0 + r0 + i) * g->rs_a + (ptrdiff_t)p0 * cs;
            if (i < rows)
                for (int p = 0; p < kc; p++) dst[p * mr + i] = src[p * cs];
            else
                for (int p = 0; p < kc; p++) dst[p * mr + i] = 0.0f;
        }
    }
}

/* Packs all K rows x columns [j0,j0+nc) of B, K block by K block, into
 * NR-column panels of stride NR*KC: element (p0+p, j0+s0+j) goes to
 * dst[p0*NC + s0*KC + p*NR + j]. Columns past nc are 0. Row-major B is read
 * along its rows, anything else along its columns. */
static void pack_b(const gemm_args *g, int j0, int nc, float *dst) {
    int nr = g->kern->nr;
    ptrdiff_t rs = g->rs_b, cs = g->cs_b;
    for (int p0 = 0; p0 < g->K; p0 += KC) {
        int kc = min_int(KC, g->K - p0);
        const float *src = g->B + (ptrdiff_t)p0 * rs + (ptrdiff_t)j0 * cs;
        for (int s0 = 0; s0 < nc; s0 += nr) {
            int cols = min_int(nr, nc - s0);
            float *panel = dst + (ptrdiff_t)p0 * NC + (ptrdiff_t)s0 * KC;
            if (cs == 1 && cols == nr) {
                for (int p = 0; p < kc; p++)
                    for (int j = 0; j < nr; j++) panel[p * nr + j] = src[p * rs + s0 + j];
                continue;
            }
            for (int j = 0; j < nr; j++) {
                const float *col = src + (ptrdiff_t)(s0 + j) * cs;
                if (j < cols)
                    for (int p = 0; p < kc; p++) panel[p * nr + j] = col[p * rs];
                else
                    for (int p = 0; p < kc; p++) panel[p * nr + j] = 0.0f;
            }
        }
    }
}

typedef float vec4 __attribute__((vector_size(16)));

/* The portable 6 x 8 micro-kernel (contract in gemm_ukernel.h): twelve
 * 4-float accumulators, which gcc and clang keep in SSE registers, with the
 * B row and the A broadcast in the remaining four. */
void ct_ukernel_portable_6x8(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                             int accumulate) {
    enum { MR = 6, NR = 8, NV = NR / 4 };
    vec4 acc[MR][NV];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) {
            acc[i][v] = (vec4){0};
            if (accumulate) __builtin_memcpy(&acc[i][v], c + i * ldc + 4 * v, sizeof(vec4));
        }
    for (int p = 0; p < kc; p++) {
        vec4 bp[NV];
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) __builtin_memcpy(&bp[v], b + p * NR + 4 * v, sizeof(vec4));
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            vec4 ai = (vec4){0} + a[p * MR + i];
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++) acc[i][v] += ai * bp[v];
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) __builtin_memcpy(c + i * ldc + 4 * v, &acc[i][v], sizeof(vec4));
}

/* C[i0.., j0..] = epilogue(tile) for an mc x nc block. Each residual element
 * is read before the C element it may alias is written. */
static void store_block(const gemm_args *g, int i0, int mc, int j0, int nc,
                        const float *tile /* [mc, NC] */) {
    const ct_epilogue *ep = g->ep;
    const float *bias_m = ep ? ep->bias_m : NULL, *bias_n = ep ? ep->bias_n : NULL;
    const float *residual = ep ? ep->residual : NULL;
    int relu = ep && ep->relu;
    for (int i = 0; i < mc; i++) {
        float *c = g->C + (ptrdiff_t)(i0 + i) * g->ldc + j0;
        const float *res = residual ? residual + (ptrdiff_t)(i0 + i) * g->ldc + j0 : NULL;
        for (int j = 0; j < nc; j++) {
            float v = tile[i * NC + j];
            if (bias_m) v += bias_m[i0 + i];
            if (bias_n) v += bias_n[j0 + j];
            if (res) v += res[j];
            if (relu && v < 0.0f) v = 0.0f;
            c[j] = v;
        }
    }
}

/* One MC x NC block of C: all K blocks into the tile, then the epilogue.
 * With K = 0 the tile is zero and C gets the epilogue of zeros. */
static void compute_block(const gemm_args *g, const gemm_buffers *buf,
                          int i0, int mc, int j0, int nc) {
    int mr = g->kern->mr, nr = g->kern->nr, accumulate = 0;
    for (int p0 = 0; p0 < g->K; p0 += KC, accumulate = 1) {
        int kc = min_int(KC, g->K - p0);
        pack_a(g, i0, mc, p0, kc, buf->a);
        for (int j = 0; j < nc; j += nr)
            for (int i = 0; i < mc; i += mr)
                g->kern->fn(kc, buf->a + (ptrdiff_t)i * KC, buf->b + (ptrdiff_t)p0 * NC + (ptrdiff_t)j * KC,
                            buf->tile + i * NC + j, NC, accumulate);
    }
    if (!accumulate)
        for (int i = 0; i < MC * NC; i++) buf->tile[i] = 0.0f;
    store_block(g, i0, mc, j0, nc, buf->tile);
}

void ct_gemm_with_kernel(const ct_gemm_kernel *kernel, int M, int N, int K,
                         const float *A, ptrdiff_t rs_a, ptrdiff_t cs_a,
                         const float *B, ptrdiff_t rs_b, ptrdiff_t cs_b,
                         float *C, ptrdiff_t ldc, const ct_epilogue *ep) {
    if (M <= 0 || N <= 0) return;
    if (K < 0) K = 0;
    /* Every part is a multiple of 16 floats, so each stays 64-byte aligned. */
    size_t kblocks = ((size_t)K + KC - 1) / KC;
    size_t bfloats = kblocks * NC * KC, floats = bfloats + (size_t)MC * KC + (size_t)MC * NC;
    float *mem = aligned_alloc(ALIGN_BYTES, floats * sizeof(float));
    if (!mem) {
        ct_gemm_naive(M, N, K, A, rs_a, cs_a, B, rs_b, cs_b, C, ldc, ep);
        return;
    }
    gemm_args g = {M, N, K, A, rs_a, cs_a, B, rs_b, cs_b, C, ldc, ep, kernel};
    gemm_buffers buf = {mem, mem + bfloats, mem + bfloats + (size_t)MC * KC};
    for (int j0 = 0; j0 < N; j0 += NC) {
        int nc = min_int(NC, N - j0);
        pack_b(&g, j0, nc, buf.b);
        for (int i0 = 0; i0 < M; i0 += MC)
            compute_block(&g, &buf, i0, min_int(MC, M - i0), j0, nc);
    }
    free(mem);
}

void ct_gemm(int M, int N, int K,
             const float *A, ptrdiff_t rs_a, ptrdiff_t cs_a,
             const float *B, ptrdiff_t rs_b, ptrdiff_t cs_b,
             float *C, ptrdiff_t ldc, const ct_epilogue *ep) {
    ct_gemm_with_kernel(ct_gemm_kernel_best(), M, N, K, A, rs_a, cs_a, B, rs_b, cs_b, C, ldc, ep);
}
