/* Blocked, packed, threaded single-precision GEMM driver (contract in
 * gemm.h), the matrix and packed B providers, and A packing.
 *
 * Loops, BLIS-style: column chunks of C (one thread each, claimed from the
 * pool) -> column blocks (NC columns or more) -> K blocks of at most KC, for which
 * the provider hands over B's panels -> NR-column micro-panels -> MR-row
 * micro-panels of the pre-packed A. A B micro-panel (KC x NR, 24 KB) stays
 * in L1 while it meets every A micro-panel; the A block (M x KC) stays in
 * L2 across the column block. Partial sums of a K block are kept in C and
 * reloaded by the next block (same chain: no change in the result); the
 * last K block applies the epilogue while the tile is in registers. */
#include "gemm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"

enum {
    MR = CT_GEMM_MR,
    NR = CT_GEMM_NR,
    KC = 256,               /* B micro-panel 24 KB of L1's 32 KB, A micro-panel 4 KB */
    /* A column block: NC columns, or as many more as keep a C block of few
     * rows within C_BLOCK_BYTES (fc6's 128 rows: 384 columns), since the A
     * block is read again for every column block. The C block and the A
     * block (<= 256 KB) stay in L2 (512 KB) across K blocks. */
    NC = 8 * NR,
    C_BLOCK_BYTES = 192 * 1024,
    CHUNKS_PER_THREAD = 4,  /* column chunks per thread (on average): absorbs a thread being delayed */
    ALIGN_BYTES = 64
};

static int min_int(int a, int b) { return a < b ? a : b; }

static size_t round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }

/* ---- packing ------------------------------------------------------------ */

size_t ct_gemm_packed_a_floats(int M, int K) {
    return round_up(round_up((size_t)(M > 0 ? M : 0), MR) * (size_t)(K > 0 ? K : 0), 16);
}

size_t ct_gemm_packed_a_offset(int M, int K, int i, int k) {
    size_t k0 = (size_t)k / KC * KC, kc = (size_t)min_int(KC, K - (int)k0);
    return k0 * round_up((size_t)M, MR) + (size_t)i * kc + (size_t)(k - (int)k0) * MR;
}

size_t ct_gemm_packed_b_floats(int K, int N) {
    return round_up(round_up((size_t)(N > 0 ? N : 0), NR) * (size_t)(K > 0 ? K : 0), 16);
}

/* One MR-row panel of A over kc columns: dst[k*MR + i] = rows[i][k*cs]
 * (times scale[i] when given), zero for rows i >= valid. */
static void pack_a_panel(const float *const rows[MR], ptrdiff_t cs, const float *scale, int valid, int kc,
                         float *dst) {
    _Static_assert(MR == 4, "the transposed copy below moves 4x4 blocks");
    int k = 0;
    if (valid == MR && cs == 1) {   /* contiguous rows: 4x4 blocks transposed in registers */
        ct_vec4 sc = scale ? ct_load4(scale) : (ct_vec4){1, 1, 1, 1};
        for (; k + 4 <= kc; k += 4) {
            ct_vec4 r[4];
            for (int i = 0; i < MR; i++) r[i] = ct_load4(rows[i] + k);
            ct_transpose4(r);
            for (int i = 0; i < 4; i++) ct_store4(dst + (k + i) * MR, scale ? r[i] * sc : r[i]);
        }
    }
    for (; k < kc; k++)
        for (int i = 0; i < MR; i++)
            dst[k * MR + i] = i >= valid ? 0.0f : scale ? rows[i][k * cs] * scale[i] : rows[i][k * cs];
}

void ct_gemm_pack_a(int M, int K, const float *A, ptrdiff_t rs, ptrdiff_t cs, const float *row_scale,
                    float *dst) {
    for (int k0 = 0; k0 < K; k0 += KC) {
        int kc = min_int(KC, K - k0);
        for (int i0 = 0; i0 < M; i0 += MR, dst += (ptrdiff_t)kc * MR) {
            const float *rows[MR];   /* rows past M point at row M-1 and are not read */
            for (int i = 0; i < MR; i++) rows[i] = A + (ptrdiff_t)min_int(i0 + i, M - 1) * rs + (ptrdiff_t)k0 * cs;
            pack_a_panel(rows, cs, row_scale ? row_scale + i0 : NULL, min_int(MR, M - i0), kc, dst);
        }
    }
}

/* Panel by panel in the source's order: for each channel c the bins of the
 * panel's rows are consecutive floats, each written to its bin's run of
 * packed columns (runs of MR-float columns, cut where a K block ends), up
 * to BIN_RUNS runs advancing together. */
void ct_gemm_pack_a_bin_major(int M, int K, const float *A, int bins, const float *row_scale, float *dst) {
    enum { BIN_RUNS = 64 };
    int channels = K / bins;
    for (int i0 = 0; i0 < M; i0 += MR) {
        int valid = min_int(MR, M - i0);
        const float *rows[MR];   /* rows past M point at row M-1, their lanes set to 0 */
        ct_ivec4 keep;
        ct_vec4 sc = {1, 1, 1, 1};
        for (int i = 0; i < MR; i++) {
            rows[i] = A + (size_t)min_int(i0 + i, M - 1) * K;
            keep[i] = i < valid ? -1 : 0;
            if (row_scale && i < valid) sc[i] = row_scale[i0 + i];
        }
        for (int b0 = 0; b0 < bins; b0 += BIN_RUNS) {
            int nb = min_int(BIN_RUNS, bins - b0);
            float *run[BIN_RUNS];   /* where bin b0+j's next column goes */
            for (int j = 0; j < nb; j++) run[j] = dst + ct_gemm_packed_a_offset(M, K, i0, (b0 + j) * channels);
            for (int c = 0; c < channels; c++)
                for (int j = 0; j < nb; j++) {
                    int k = (b0 + j) * channels + c;
                    if (c && k % KC == 0) run[j] = dst + ct_gemm_packed_a_offset(M, K, i0, k);
                    size_t at = (size_t)c * bins + b0 + j;
                    ct_vec4 v = {rows[0][at], rows[1][at], rows[2][at], rows[3][at]};
                    ct_store4(run[j], ct_select4(keep, row_scale ? v * sc : v, (ct_vec4){0}));
                    run[j] += MR;
                }
        }
    }
}

/* ---- B providers -------------------------------------------------------- */

/* Panel of columns [j0, j0+cols) of a row-major B: rows copied whole, a
 * full panel row as three fixed-size moves. */
static void pack_rows(const float *src, ptrdiff_t rs, int kc, int cols, float *dst) {
    for (int p = 0; p < kc; p++, src += rs, dst += NR) {
        if (cols == NR) {
            __builtin_memcpy(dst, src, NR * sizeof *dst);
            continue;
        }
        for (int j = 0; j < NR; j++) dst[j] = j < cols ? src[j] : 0.0f;
    }
}

/* Panel of a column-major B (each column contiguous): transposed in
 * registers, the columns past `cols` zero. */
static void pack_transposed(const float *src, ptrdiff_t cs, int kc, int cols, float *dst) {
    ct_transpose(src, cs, cols, kc, dst, NR);
    for (int p = 0; p < kc; p++)
        for (int j = cols; j < NR; j++) dst[p * NR + j] = 0.0f;
}

/* Panel of a B with any strides, column by column. */
static void pack_columns(const float *src, ptrdiff_t rs, ptrdiff_t cs, int kc, int cols, float *dst) {
    if (rs == 1) {
        pack_transposed(src, cs, kc, cols, dst);
        return;
    }
    for (int j = 0; j < NR; j++) {
        const float *col = src + (ptrdiff_t)j * cs;
        if (j < cols)
            for (int p = 0; p < kc; p++) dst[p * NR + j] = col[p * rs];
        else
            for (int p = 0; p < kc; p++) dst[p * NR + j] = 0.0f;
    }
}

static const float *matrix_panels(const ct_gemm_b *b, int k0, int kc, int n0, int nc, float *buf,
                                  ptrdiff_t *panel_stride) {
    *panel_stride = (ptrdiff_t)kc * NR;
    for (int q = 0; q * NR < nc; q++) {
        int cols = min_int(NR, nc - q * NR);
        const float *src = b->data + (ptrdiff_t)k0 * b->rs + (ptrdiff_t)(n0 + q * NR) * b->cs;
        float *dst = buf + q * *panel_stride;
        if (b->cs == 1) pack_rows(src, b->rs, kc, cols, dst);
        else pack_columns(src, b->rs, b->cs, kc, cols, dst);
    }
    return buf;
}

static const float *packed_panels(const ct_gemm_b *b, int k0, int kc, int n0, int nc, float *buf,
                                  ptrdiff_t *panel_stride) {
    (void)kc, (void)nc, (void)buf;
    *panel_stride = b->rs * NR;
    return b->data + (ptrdiff_t)(n0 / NR) * b->rs * NR + (ptrdiff_t)k0 * NR;
}

ct_gemm_b ct_gemm_b_matrix(const float *B, ptrdiff_t rs, ptrdiff_t cs, int N) {
    return (ct_gemm_b){matrix_panels, B, rs, cs, N, NULL};
}

ct_gemm_b ct_gemm_b_packed(const float *panels, int K, int N) {
    return (ct_gemm_b){packed_panels, panels, K, 0, N, NULL};
}

/* ---- context ------------------------------------------------------------ */

struct ct_gemm_ctx {
    ct_pool *pool;
    const ct_gemm_kernel *kernel;
    int threads;
    float **buf;            /* [threads] packing buffers of one B micro-panel, KC x NR floats */
    float **workspace;      /* [threads] of workspace_floats, or NULL */
    size_t workspace_floats;
};

ct_gemm_ctx *ct_gemm_ctx_new(ct_pool *pool, const ct_gemm_kernel *kernel) {
    ct_gemm_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return NULL;
    ctx->pool = pool;
    ctx->kernel = kernel ? kernel : ct_gemm_kernel_best();
    ctx->threads = ct_pool_size(pool);
    ctx->buf = calloc((size_t)ctx->threads, sizeof *ctx->buf);
    ctx->workspace = calloc((size_t)ctx->threads, sizeof *ctx->workspace);
    if (!ctx->buf || !ctx->workspace) {
        ct_gemm_ctx_free(ctx);
        return NULL;
    }
    for (int t = 0; t < ctx->threads; t++)
        if (!(ctx->buf[t] = aligned_alloc(ALIGN_BYTES, (size_t)KC * NR * sizeof(float)))) {
            ct_gemm_ctx_free(ctx);
            return NULL;
        }
    return ctx;
}

void ct_gemm_ctx_free(ct_gemm_ctx *ctx) {
    if (!ctx) return;
    for (int t = 0; t < ctx->threads; t++) {
        if (ctx->buf) free(ctx->buf[t]);
        if (ctx->workspace) free(ctx->workspace[t]);
    }
    free(ctx->buf);
    free(ctx->workspace);
    free(ctx);
}

ct_pool *ct_gemm_ctx_pool(const ct_gemm_ctx *ctx) { return ctx->pool; }

int ct_gemm_ctx_reserve(ct_gemm_ctx *ctx, size_t floats) {
    if (floats <= ctx->workspace_floats) return 1;
    size_t bytes = round_up(floats, 16) * sizeof(float);
    if (bytes / sizeof(float) < floats) return 0;
    for (int t = 0; t < ctx->threads; t++) {
        float *w = aligned_alloc(ALIGN_BYTES, bytes);
        if (!w) return 0;
        free(ctx->workspace[t]);
        ctx->workspace[t] = w;
    }
    ctx->workspace_floats = floats;
    return 1;
}

float *ct_gemm_ctx_workspace(const ct_gemm_ctx *ctx, int thread) { return ctx->workspace[thread]; }

/* ---- driver ------------------------------------------------------------- */

typedef struct {
    const ct_gemm_ctx *ctx;
    int M, N, K, kc;        /* kc: K block size */
    int m0, m1;             /* the rows of C computed */
    int m_padded;           /* M rounded up to MR */
    const float *a;         /* packed A */
    const ct_gemm_b *b;
    float *C;
    ptrdiff_t ldc;
    const ct_epilogue *ep;
    int panels, chunks;     /* NR-column panels of C, split into chunks */
    int block_panels;       /* panels per column block */
} gemm_job;

/* The epilogue of element (i, j) of C, scalar, in the contract's order. */
static float epilogue_at(const gemm_job *g, int i, int j, float v) {
    const ct_epilogue *ep = g->ep;
    if (ep->bias_m) v += ep->bias_m[i];
    if (ep->bias_n) v += ep->bias_n[j];
    if (ep->residual) v += ep->residual[(ptrdiff_t)i * g->ldc + j];
    if (ep->relu && v < 0.0f) v = 0.0f;
    return v;
}

/* One MR x NR tile of C at (i0, j0) for K block [k0, k0+kc). Tiles cut by
 * the edge of C go through a full-size buffer. */
static void tile(const gemm_job *g, int i0, int j0, int k0, int kc, const float *a, const float *b) {
    int last = k0 + kc >= g->K, m = min_int(MR, g->M - i0), n = min_int(NR, g->N - j0);
    float *c = g->C + (ptrdiff_t)i0 * g->ldc + j0;
    const ct_epilogue *ep = last ? g->ep : NULL;
    if (m == MR && n == NR) {
        ct_tile_epilogue te, *tep = NULL;
        if (ep) {
            te = (ct_tile_epilogue){ep->bias_m ? ep->bias_m + i0 : NULL, ep->bias_n ? ep->bias_n + j0 : NULL,
                                    ep->residual ? ep->residual + (c - g->C) : NULL, g->ldc, ep->relu};
            tep = &te;
        }
        g->ctx->kernel->fn(kc, a, b, c, g->ldc, k0 > 0, tep);
        return;
    }
    _Alignas(ALIGN_BYTES) float t[MR * NR] = {0};
    for (int i = 0; k0 > 0 && i < m; i++) memcpy(t + i * NR, c + (ptrdiff_t)i * g->ldc, (size_t)n * sizeof *t);
    g->ctx->kernel->fn(kc, a, b, t, NR, k0 > 0, NULL);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            c[(ptrdiff_t)i * g->ldc + j] = ep ? epilogue_at(g, i0 + i, j0 + j, t[i * NR + j]) : t[i * NR + j];
}

/* Columns [n0, n0+nc) of C, all rows, all K blocks. Each B micro-panel is
 * packed right before the micro-kernels that use it, so it is still in L1. */
static void column_block(const gemm_job *g, int n0, int nc, float *buf) {
    for (int k0 = 0; k0 < g->K; k0 += g->kc) {
        int kc = min_int(g->kc, g->K - k0);
        const float *a = g->a + (ptrdiff_t)k0 * g->m_padded;   /* this K block of A */
        for (int j0 = n0; j0 < n0 + nc; j0 += NR) {
            ptrdiff_t stride;
            const float *bp = g->b->panels(g->b, k0, kc, j0, min_int(NR, n0 + nc - j0), buf, &stride);
            for (int i0 = g->m0; i0 < g->m1; i0 += MR) tile(g, i0, j0, k0, kc, a + (ptrdiff_t)i0 * kc, bp);
        }
    }
}

/* Chunk c's first panel. Chunks shrink from about twice the mean size to
 * a panel or so (panel (c) = panels * (1 - (1 - c/chunks)^2)): the pool
 * hands them out in order, so the threads' last claims are short and they
 * finish together. */
static int chunk_start(const gemm_job *g, int c) {
    int64_t left = g->chunks - c;
    return g->panels - (int)((int64_t)g->panels * left * left / ((int64_t)g->chunks * g->chunks));
}

static void chunk_task(void *arg, int chunk, int thread) {
    const gemm_job *g = arg;
    int p0 = chunk_start(g, chunk), p1 = chunk_start(g, chunk + 1);
    for (int p = p0; p < p1; p += g->block_panels) {
        int n0 = p * NR, n1 = min_int(min_int(p + g->block_panels, p1) * NR, g->N);
        column_block(g, n0, n1 - n0, g->ctx->buf[thread]);
    }
}

/* K = 0: the product is zero and C is the epilogue of zeros. */
static void empty_product(const gemm_job *g) {
    for (int i = g->m0; i < g->m1; i++)
        for (int j = 0; j < g->N; j++)
            g->C[(ptrdiff_t)i * g->ldc + j] = g->ep ? epilogue_at(g, i, j, 0.0f) : 0.0f;
}

/* The job of C = A·B: 0 when there is nothing to multiply (C is done). */
static int gemm_setup(gemm_job *g, const ct_gemm_ctx *ctx, int M, int N, int K, const float *a_packed,
                      const ct_gemm_b *b, float *C, ptrdiff_t ldc, const ct_epilogue *ep, int m0, int m1) {
    if (m0 >= m1 || N <= 0) return 0;
    *g = (gemm_job){ctx, M, N, K < 0 ? 0 : K, KC, m0, m1, (M + MR - 1) / MR * MR, a_packed, b, C, ldc, ep,
                    (N + NR - 1) / NR, 1, NC / NR};
    int fit = C_BLOCK_BYTES / (int)(sizeof(float) * NR * (m1 - m0));
    if (fit > g->block_panels) g->block_panels = fit;
    if (g->K == 0) {
        empty_product(g);
        return 0;
    }
    return 1;
}

void ct_gemm_run(const ct_gemm_ctx *ctx, int M, int N, int K, const float *a_packed, const ct_gemm_b *b,
                 float *C, ptrdiff_t ldc, const ct_epilogue *ep) {
    gemm_job g;
    if (!gemm_setup(&g, ctx, M, N, K, a_packed, b, C, ldc, ep, 0, M)) return;
    if (ctx->threads > 1) g.chunks = min_int(g.panels, ctx->threads * CHUNKS_PER_THREAD);
    ct_pool_run(ctx->pool, g.chunks, chunk_task, &g);
}

void ct_gemm_run_here(const ct_gemm_ctx *ctx, int thread, int M, int N, int K, const float *a_packed,
                      const ct_gemm_b *b, float *C, ptrdiff_t ldc, const ct_epilogue *ep, int m0, int m1) {
    gemm_job g;
    if (gemm_setup(&g, ctx, M, N, K, a_packed, b, C, ldc, ep, m0, m1)) chunk_task(&g, 0, thread);
}

/* ---- strided entry points ----------------------------------------------- */

void ct_gemm_with_kernel(const ct_gemm_kernel *kernel, int M, int N, int K,
                         const float *A, ptrdiff_t rs_a, ptrdiff_t cs_a,
                         const float *B, ptrdiff_t rs_b, ptrdiff_t cs_b,
                         float *C, ptrdiff_t ldc, const ct_epilogue *ep) {
    if (M <= 0 || N <= 0) return;
    if (K < 0) K = 0;
    float *a = aligned_alloc(ALIGN_BYTES, (ct_gemm_packed_a_floats(M, K) + 16) * sizeof(float));
    ct_gemm_ctx *ctx = ct_gemm_ctx_new(NULL, kernel);
    if (a && ctx) {
        ct_gemm_pack_a(M, K, A, rs_a, cs_a, NULL, a);
        ct_gemm_b b = ct_gemm_b_matrix(B, rs_b, cs_b, N);
        ct_gemm_run(ctx, M, N, K, a, &b, C, ldc, ep);
    } else {
        ct_gemm_naive(M, N, K, A, rs_a, cs_a, B, rs_b, cs_b, C, ldc, ep);
    }
    free(a);
    ct_gemm_ctx_free(ctx);
}

void ct_gemm(int M, int N, int K,
             const float *A, ptrdiff_t rs_a, ptrdiff_t cs_a,
             const float *B, ptrdiff_t rs_b, ptrdiff_t cs_b,
             float *C, ptrdiff_t ldc, const ct_epilogue *ep) {
    ct_gemm_with_kernel(ct_gemm_kernel_best(), M, N, K, A, rs_a, cs_a, B, rs_b, cs_b, C, ldc, ep);
}
