/* Optimized kernels against their naive twins on many shapes, odd sizes
 * included: GEMM (every micro-kernel this CPU runs; strides, epilogues,
 * every B provider), convolution (patches unrolled into the GEMM's panels;
 * batches, both batch layouts), the mask predictor's transposed conv + 1x1,
 * RoIAlign and max pooling. Every threaded kernel must give bit-identical
 * results on 1, 2 and 3 threads (each output's sum order is fixed by the
 * data, never by the split).
 *
 * Tolerance: |optimized - naive| <= 1e-5 * (sum of |terms| of that output,
 * bias and residual included), i.e. relative to the sum's own scale. With
 * the portable micro-kernel ct_gemm is bit-identical to the naive twin (same
 * summation order, no FMA), and that is checked exactly. Winograd's terms
 * are those of the output's whole 4x4 input patch times the whole kernel
 * (winograd_bound), since its transforms mix them before they cancel. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "gemm.h"
#include "roi_align.h"
#include "roi_panels.h"
#include "test.h"
#include "threadpool.h"
#include "winograd.h"

#define REL_TOL 1e-5

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rng_next(void) {   /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static float rng_uniform(void) { return (float)(rng_next() >> 8) / 8388608.0f - 1.0f; }   /* [-1,1) */
static int rng_int(int lo, int hi) { return lo + (int)(rng_next() % (uint32_t)(hi - lo + 1)); }

static float *random_floats(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = rng_uniform();
    return p;
}

static float *abs_copy(const float *p, size_t n) {
    float *q = malloc((n ? n : 1) * sizeof *q);
    for (size_t i = 0; i < n; i++) q[i] = fabsf(p[i]);
    return q;
}

/* ------------------------------------------------------------------ GEMM */

typedef struct {
    int M, N, K;
    int trans_a, trans_b;   /* operand stored transposed (column-major) */
    int pad;                /* extra elements per row/column of every operand */
    int bias_m, bias_n, residual, relu;
} gemm_case;

/* Runs one case with one kernel and checks it against ct_gemm_naive. */
static void check_gemm_case(const ct_gemm_kernel *kern, const gemm_case *t) {
    int M = t->M, N = t->N, K = t->K;
    ptrdiff_t lda = (t->trans_a ? M : K) + t->pad, ldb = (t->trans_b ? K : N) + t->pad, ldc = N + t->pad;
    size_t a_len = (size_t)lda * (t->trans_a ? K : M), b_len = (size_t)ldb * (t->trans_b ? N : K);
    size_t c_len = (size_t)ldc * M;
    float *A = random_floats(a_len), *B = random_floats(b_len);
    float *bm = random_floats(M), *bn = random_floats(N), *res = random_floats(c_len);
    float *C = random_floats(c_len), *ref = malloc(c_len * sizeof *ref), *bound = malloc(c_len * sizeof *bound);
    ptrdiff_t rs_a = t->trans_a ? 1 : lda, cs_a = t->trans_a ? lda : 1;
    ptrdiff_t rs_b = t->trans_b ? 1 : ldb, cs_b = t->trans_b ? ldb : 1;
    memcpy(ref, C, c_len * sizeof *C);   /* padding columns must stay as they are */

    ct_epilogue ep = {t->bias_m ? bm : NULL, t->bias_n ? bn : NULL, t->residual ? res : NULL, t->relu};
    ct_gemm_naive(M, N, K, A, rs_a, cs_a, B, rs_b, cs_b, ref, ldc, &ep);
    ct_gemm_with_kernel(kern, M, N, K, A, rs_a, cs_a, B, rs_b, cs_b, C, ldc, &ep);

    /* Scale of each output: the same sums over absolute values, no ReLU. */
    float *absA = abs_copy(A, a_len), *absB = abs_copy(B, b_len), *absbm = abs_copy(bm, M);
    float *absbn = abs_copy(bn, N), *absres = abs_copy(res, c_len);
    ct_epilogue ep_abs = {ep.bias_m ? absbm : NULL, ep.bias_n ? absbn : NULL,
                          ep.residual ? absres : NULL, 0};
    ct_gemm_naive(M, N, K, absA, rs_a, cs_a, absB, rs_b, cs_b, bound, ldc, &ep_abs);

    int exact = !strcmp(kern->name, "portable"), bad = 0;
    double worst = 0;
    for (int i = 0; i < M; i++)
        for (ptrdiff_t j = 0; j < ldc; j++) {
            size_t at = (size_t)i * ldc + j;
            double d = fabs((double)C[at] - ref[at]);
            double tol = j < N ? REL_TOL * bound[at] : 0.0;
            if (exact ? !(C[at] == ref[at]) : !(d <= tol)) bad++;
            if (d > worst) worst = d;
        }
    CHECKF(bad == 0, "%s M=%d N=%d K=%d ta=%d tb=%d pad=%d ep=%d%d%d%d: %d mismatches, max diff %g",
           kern->name, M, N, K, t->trans_a, t->trans_b, t->pad, t->bias_m, t->bias_n, t->residual, t->relu,
           bad, worst);
    free(A), free(B), free(bm), free(bn), free(res), free(C), free(ref), free(bound);
    free(absA), free(absB), free(absbm), free(absbn), free(absres);
}

static void for_each_kernel(const gemm_case *t) {
    const ct_gemm_kernel *kernels[8];
    int n = ct_gemm_kernels_available(kernels, 8);
    for (int k = 0; k < n; k++) check_gemm_case(kernels[k], t);
}

static void test_gemm_kernels_listed(void) {
    const ct_gemm_kernel *kernels[8];
    int n = ct_gemm_kernels_available(kernels, 8);
    CHECK(n >= 1);
    CHECK(!strcmp(kernels[0]->name, "portable"));
    CHECK(ct_gemm_kernel_best() != NULL);
    for (int k = 0; k < n; k++) printf("    micro-kernel %s (%dx%d)\n", kernels[k]->name, CT_GEMM_MR, CT_GEMM_NR);
}

/* Sizes around every block edge (MR 4, NR 24, column block 192, KC 256), primes, 1. */
static void test_gemm_shapes(void) {
    static const int sizes[] = {1, 2, 3, 4, 5, 13, 23, 24, 25, 47, 48, 71, 191, 192, 193};
    int ns = (int)(sizeof sizes / sizeof *sizes);
    for (int a = 0; a < ns; a++)
        for (int b = 0; b < ns; b += 2) {
            gemm_case t = {sizes[a], sizes[b], sizes[(a + b) % ns], 0, 0, 0, 0, 0, 0, 0};
            for_each_kernel(&t);
        }
}

static void test_gemm_deep_k(void) {
    static const int ks[] = {255, 256, 257, 300, 511, 512, 513, 1031};
    for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
        gemm_case t = {rng_int(1, 80), rng_int(1, 120), ks[i], 0, 0, 0, 1, 0, (int)i % 2, 0};
        for_each_kernel(&t);
    }
    gemm_case big = {263, 300, 293, 0, 0, 0, 1, 0, 1, 1};
    for_each_kernel(&big);
}

static void test_gemm_strides_and_epilogues(void) {
    for (int layout = 0; layout < 8; layout++)
        for (int ep = 0; ep < 16; ep++) {
            gemm_case t = {rng_int(1, 150), rng_int(1, 150), rng_int(1, 300),
                           layout & 1, (layout >> 1) & 1, layout & 4 ? rng_int(1, 5) : 0,
                           ep & 1, (ep >> 1) & 1, (ep >> 2) & 1, (ep >> 3) & 1};
            for_each_kernel(&t);
        }
}

/* Bin-major packing against plain packing of the regrouped matrix: A
 * [M][channels][bins] taken as [M][bins][channels], bit for bit. */
static void test_gemm_pack_a_bin_major(void) {
    static const int shapes[][3] = {{128, 256, 49}, {7, 300, 3}, {1, 5, 1}, {9, 70, 13}, {5, 7, 130}};   /* M, channels, bins */
    for (size_t t = 0; t < sizeof shapes / sizeof *shapes; t++) {
        int M = shapes[t][0], channels = shapes[t][1], bins = shapes[t][2], K = channels * bins;
        float *A = random_floats((size_t)M * K), *R = malloc((size_t)M * K * 4), *scale = random_floats(M);
        float *got = calloc(ct_gemm_packed_a_floats(M, K), 4), *want = calloc(ct_gemm_packed_a_floats(M, K), 4);
        for (int i = 0; i < M; i++)
            for (int k = 0; k < K; k++) R[(size_t)i * K + k] = A[(size_t)i * K + (k % channels) * bins + k / channels];
        for (int scaled = 0; scaled < 2; scaled++) {
            ct_gemm_pack_a_bin_major(M, K, A, bins, scaled ? scale : NULL, got);
            ct_gemm_pack_a(M, K, R, K, 1, scaled ? scale : NULL, want);
            CHECKF(!memcmp(got, want, ct_gemm_packed_a_floats(M, K) * 4), "bin-major pack M=%d channels=%d bins=%d scaled=%d",
                   M, channels, bins, scaled);
        }
        free(A), free(R), free(scale), free(got), free(want);
    }
}

static void test_gemm_empty_k(void) {
    /* K = 0: the product is 0 and C gets just the epilogue. */
    gemm_case t = {9, 11, 0, 0, 0, 0, 1, 1, 1, 1};
    for_each_kernel(&t);
    float c[4] = {7, 7, 7, 7}, bias[2] = {1.5f, -2.0f};
    ct_epilogue ep = {bias, NULL, NULL, 1};
    ct_gemm(2, 2, 0, NULL, 0, 1, NULL, 2, 1, c, 2, &ep);
    CHECK(c[0] == 1.5f && c[1] == 1.5f && c[2] == 0.0f && c[3] == 0.0f);
    ct_gemm(0, 2, 3, NULL, 3, 1, NULL, 2, 1, c, 2, NULL);   /* no rows: nothing written */
    CHECK(c[0] == 1.5f);
}

static void test_gemm_known_product(void) {
    /* [1 2; 3 4] x [5 6; 7 8] = [19 22; 43 50], then +bias_n, -residual, ReLU. */
    float A[4] = {1, 2, 3, 4}, B[4] = {5, 6, 7, 8}, C[4];
    ct_gemm(2, 2, 2, A, 2, 1, B, 2, 1, C, 2, NULL);
    CHECK(C[0] == 19 && C[1] == 22 && C[2] == 43 && C[3] == 50);
    float bn[2] = {1, -100}, res[4] = {-30, 0, 0, 0};
    ct_epilogue ep = {NULL, bn, res, 1};
    ct_gemm(2, 2, 2, A, 2, 1, B, 2, 1, C, 2, &ep);
    CHECK(C[0] == 0 && C[1] == 0 && C[2] == 44 && C[3] == 0);
    /* B given transposed: B^T stored row-major is [5 7; 6 8]. */
    float Bt[4] = {5, 7, 6, 8};
    ct_gemm(2, 2, 2, A, 2, 1, Bt, 1, 2, C, 2, NULL);
    CHECK(C[0] == 19 && C[1] == 22 && C[2] == 43 && C[3] == 50);
}

/* ------------------------------------------------------- threaded GEMM */

/* Contexts on pools of 1, 2 and 3 threads. */
#define THREAD_COUNTS 3
static ct_pool *pools[THREAD_COUNTS];
static ct_gemm_ctx *ctxs[THREAD_COUNTS];

static int contexts_ready(void) {
    for (int t = 0; t < THREAD_COUNTS; t++) {
        if (!ctxs[t]) {
            pools[t] = t ? ct_pool_new(t + 1) : NULL;
            ctxs[t] = ct_gemm_ctx_new(pools[t], NULL);
        }
        if (!ctxs[t] || (t && !pools[t])) return 0;
    }
    return 1;
}

static void free_contexts(void) {
    for (int t = 0; t < THREAD_COUNTS; t++) {
        ct_gemm_ctx_free(ctxs[t]);
        ct_pool_free(pools[t]);
    }
}

/* |got - ref| <= REL_TOL * bound everywhere; returns the count that is not. */
static int count_beyond(const float *got, const float *ref, const float *bound, size_t n, double *worst) {
    int bad = 0;
    *worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - ref[i]);
        if (!(d <= REL_TOL * bound[i])) bad++;
        if (d > *worst) *worst = d;
    }
    return bad;
}

/* B as a provider: 0 row-major matrix, 1 column-major matrix, 2 packed. */
static void check_gemm_run(int M, int N, int K, int provider, int with_ep) {
    float *A = random_floats((size_t)M * K), *B = random_floats((size_t)K * N), *Bt = malloc(((size_t)K * N + 1) * 4);
    float *bm = random_floats(M), *res = random_floats((size_t)M * N);
    float *ref = malloc(((size_t)M * N + 1) * 4), *bound = malloc(((size_t)M * N + 1) * 4);
    float *a = malloc((ct_gemm_packed_a_floats(M, K) + 1) * 4);
    float *bp = aligned_alloc(64, (ct_gemm_packed_b_floats(K, N) + 16) * 4);
    for (int k = 0; k < K; k++)
        for (int j = 0; j < N; j++) Bt[(size_t)j * K + k] = B[(size_t)k * N + j];
    /* Packed B: element (k,j) at ((j/NR)*K + k)*NR + j%NR, zero past N. */
    memset(bp, 0, ct_gemm_packed_b_floats(K, N) * 4);
    for (int k = 0; k < K; k++)
        for (int j = 0; j < N; j++) bp[((size_t)(j / CT_GEMM_NR) * K + k) * CT_GEMM_NR + j % CT_GEMM_NR] = B[(size_t)k * N + j];
    ct_gemm_pack_a(M, K, A, K, 1, NULL, a);
    ct_epilogue ep = {bm, NULL, res, 1}, *e = with_ep ? &ep : NULL;
    ct_gemm_naive(M, N, K, A, K, 1, B, N, 1, ref, N, e);
    float *absA = abs_copy(A, (size_t)M * K), *absB = abs_copy(B, (size_t)K * N), *absbm = abs_copy(bm, M);
    float *absres = abs_copy(res, (size_t)M * N);
    ct_epilogue ep_abs = {absbm, NULL, absres, 0};
    ct_gemm_naive(M, N, K, absA, K, 1, absB, N, 1, bound, N, with_ep ? &ep_abs : NULL);
    ct_gemm_b b = provider == 0 ? ct_gemm_b_matrix(B, N, 1, N)
                  : provider == 1 ? ct_gemm_b_matrix(Bt, 1, K, N) : ct_gemm_b_packed(bp, K, N);
    float *first = NULL;
    for (int t = 0; t < THREAD_COUNTS; t++) {
        float *C = random_floats((size_t)M * N);
        ct_gemm_run(ctxs[t], M, N, K, a, &b, C, N, e);
        double worst;
        int bad = count_beyond(C, ref, bound, (size_t)M * N, &worst);
        CHECKF(bad == 0, "gemm_run M=%d N=%d K=%d provider %d ep %d, %d threads: %d beyond tolerance (max diff %g)",
               M, N, K, provider, with_ep, t + 1, bad, worst);
        if (!first) first = C;
        else {
            CHECKF(!memcmp(C, first, (size_t)M * N * 4), "gemm_run M=%d N=%d K=%d provider %d: %d threads differ from 1",
                   M, N, K, provider, t + 1);
            free(C);
        }
    }
    free(first), free(A), free(B), free(Bt), free(bm), free(res), free(ref), free(bound), free(a), free(bp);
    free(absA), free(absB), free(absbm), free(absres);
}

static void test_gemm_run_threads_and_providers(void) {
    CHECK(contexts_ready());
    if (!contexts_ready()) return;
    static const int shapes[][3] = {{1, 1, 1}, {4, 24, 256}, {5, 25, 257}, {64, 1000, 147}, {30, 77, 600},
                                    {150, 1024, 256}, {3, 1, 640}, {130, 500, 13},
                                    {40, 1300, 600}};   /* few rows: wide column blocks, two of them */
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        for (int provider = 0; provider < 3; provider++)
            check_gemm_run(shapes[i][0], shapes[i][1], shapes[i][2], provider, (int)(i + provider) % 2);
    for (int r = 0; r < 6; r++) check_gemm_run(rng_int(1, 90), rng_int(1, 400), rng_int(1, 700), r % 3, r % 2);
}

/* ------------------------------------------------------------------ conv */

/* Random batched convolution on every context against the naive twin. */
static void check_conv(const ct_conv_params *p, int bias_on, int residual_on, int relu, int scaled) {
    int ho = ct_conv_out_size(p->h, p->kh, p->stride, p->pad), wo = ct_conv_out_size(p->w, p->kw, p->stride, p->pad);
    size_t xn = (size_t)p->batch * p->cin * p->h * p->w, wn = (size_t)p->cout * p->cin * p->kh * p->kw;
    size_t yn = (size_t)p->cout * p->batch * ho * wo, per_out = wn / (size_t)p->cout;
    float *x = random_floats(xn), *w = random_floats(wn), *b = random_floats(p->cout), *res = random_floats(yn);
    float *scale = random_floats(p->cout), *ws = malloc((wn + 1) * 4);
    float *ref = malloc((yn + 1) * 4), *bound = malloc((yn + 1) * 4);
    float *packed = malloc((ct_conv_packed_floats(p) + 1) * 4);
    /* The scale is folded into the packed weights; the naive twin gets it multiplied in. */
    for (size_t i = 0; i < wn; i++) ws[i] = scaled ? w[i] * scale[i / per_out] : w[i];
    ct_conv_pack_weight(p, w, scaled ? scale : NULL, packed);
    ct_conv2d_naive(p, x, ws, bias_on ? b : NULL, residual_on ? res : NULL, relu, ref);
    float *ax = abs_copy(x, xn), *aw = abs_copy(ws, wn), *ab = abs_copy(b, p->cout), *ares = abs_copy(res, yn);
    ct_conv2d_naive(p, ax, aw, bias_on ? ab : NULL, residual_on ? ares : NULL, 0, bound);
    float *first = NULL;
    for (int t = 0; t < THREAD_COUNTS; t++) {
        float *y = random_floats(yn);
        ct_conv2d(ctxs[t], p, x, packed, bias_on ? b : NULL, residual_on ? res : NULL, relu, y);
        double worst;
        int bad = count_beyond(y, ref, bound, yn, &worst);
        CHECKF(bad == 0,
               "conv cin=%d %dx%d cout=%d k=%dx%d s=%d p=%d batch=%d cm=%d bias=%d res=%d relu=%d scaled=%d, %d threads: "
               "%d bad, max %g",
               p->cin, p->h, p->w, p->cout, p->kh, p->kw, p->stride, p->pad, p->batch, p->channel_major, bias_on,
               residual_on, relu, scaled, t + 1, bad, worst);
        if (!first) first = y;
        else {
            CHECKF(!memcmp(y, first, yn * 4), "conv: %d threads differ from 1", t + 1);
            free(y);
        }
    }
    free(first), free(x), free(w), free(b), free(res), free(scale), free(ws), free(ref), free(bound), free(packed);
    free(ax), free(aw), free(ab), free(ares);
}

static void test_conv_vs_naive(void) {
    CHECK(contexts_ready());
    if (!contexts_ready()) return;
    static const int kernel_sizes[] = {1, 3, 7}, strides[] = {1, 2, 3}, pads[] = {0, 1, 3};
    int n = 0;
    for (int ki = 0; ki < 3; ki++)
        for (int si = 0; si < 3; si++)
            for (int pi = 0; pi < 3; pi++) {
                int k = kernel_sizes[ki], lo = k > 2 * pads[pi] ? k - 2 * pads[pi] : 1;
                ct_conv_params p = {rng_int(1, 9), rng_int(lo, 30), rng_int(lo, 30), rng_int(1, 19),
                                    k, k, strides[si], pads[pi], rng_int(1, 3), n % 4 == 3};
                check_conv(&p, n % 2, n % 3 == 1, (n / 2) % 2, n % 5 == 0);
                n++;
            }
}

static void test_conv_network_shapes(void) {
    CHECK(contexts_ready());
    if (!contexts_ready()) return;
    /* Stem-like (many full interior panels), a 3x3 residual block conv, the
     * 1x1 stride-2 downsample, a 1x1 lateral straight into the GEMM, a 3x3
     * conv over a batch of small maps in both batch layouts (the mask head),
     * a rectangular kernel. */
    ct_conv_params stem = {3, 75, 69, 16, 7, 7, 2, 3, 1, 0};
    check_conv(&stem, 1, 0, 1, 1);
    ct_conv_params block = {24, 33, 61, 24, 3, 3, 1, 1, 1, 0};
    check_conv(&block, 1, 1, 1, 1);
    ct_conv_params down = {12, 17, 19, 20, 1, 1, 2, 0, 1, 0};
    check_conv(&down, 1, 0, 0, 1);
    ct_conv_params lateral = {40, 9, 13, 32, 1, 1, 1, 0, 1, 0};
    check_conv(&lateral, 1, 1, 0, 0);
    ct_conv_params mask = {20, 14, 14, 12, 3, 3, 1, 1, 5, 0}, mask2 = {12, 14, 14, 8, 3, 3, 1, 1, 5, 1};
    check_conv(&mask, 1, 0, 1, 0);
    check_conv(&mask2, 1, 0, 1, 0);
    ct_conv_params rect = {5, 20, 31, 7, 2, 5, 1, 2, 2, 1};
    check_conv(&rect, 1, 1, 0, 0);
}

/* The scale of a Winograd output's rounding errors: every term of its 2x2
 * tile's 4x4 input patch times the whole kernel, sum_c S[o,c] * sum_patch |x|
 * with S[o,c] = sum of |w[o,c,:,:]| (the transforms mix all of them), plus
 * |bias| and |residual|. x, w, res: absolute values. */
static void winograd_bound(const ct_conv_params *p, const float *ax, const float *aw, const float *ab,
                           const float *ares, float *bound) {
    int ho = p->h, wo = p->w;
    size_t plane = (size_t)p->h * p->w;
    for (int o = 0; o < p->cout; o++)
        for (int b = 0; b < p->batch; b++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    double v = 0;
                    for (int c = 0; c < p->cin; c++) {
                        const float *xc = ax + (p->channel_major ? ((size_t)c * p->batch + b) : ((size_t)b * p->cin + c)) * plane;
                        double s = 0, patch = 0;
                        for (int t = 0; t < 9; t++) s += aw[((size_t)o * p->cin + c) * 9 + t];
                        for (int iy = oy / 2 * 2 - 1; iy <= oy / 2 * 2 + 2; iy++)
                            for (int ix = ox / 2 * 2 - 1; ix <= ox / 2 * 2 + 2; ix++)
                                if (iy >= 0 && iy < p->h && ix >= 0 && ix < p->w) patch += xc[(size_t)iy * p->w + ix];
                        v += s * patch;
                    }
                    size_t at = (((size_t)o * p->batch + b) * ho + oy) * wo + ox;
                    bound[at] = (float)(v + (ab ? ab[o] : 0) + (ares ? ares[at] : 0));
                }
}

/* Winograd F(2x2,3x3) on every context against the naive direct conv. */
static void check_winograd(const ct_conv_params *p, int bias_on, int residual_on, int relu, int scaled) {
    int ho = ct_conv_out_size(p->h, 3, 1, 1), wo = ct_conv_out_size(p->w, 3, 1, 1);
    size_t xn = (size_t)p->batch * p->cin * p->h * p->w, wn = (size_t)p->cout * p->cin * 9;
    size_t yn = (size_t)p->cout * p->batch * ho * wo;
    float *x = random_floats(xn), *w = random_floats(wn), *b = random_floats(p->cout), *res = random_floats(yn);
    float *scale = random_floats(p->cout), *ws = malloc((wn + 1) * 4);
    float *ref = malloc((yn + 1) * 4), *bound = malloc((yn + 1) * 4);
    float *packed = malloc((ct_winograd_packed_floats(p->cin, p->cout) + 1) * 4);
    for (size_t i = 0; i < wn; i++) ws[i] = scaled ? w[i] * scale[i / ((size_t)p->cin * 9)] : w[i];
    ct_winograd_pack_weight(p->cin, p->cout, w, scaled ? scale : NULL, packed);
    ct_conv2d_naive(p, x, ws, bias_on ? b : NULL, residual_on ? res : NULL, relu, ref);
    float *ax = abs_copy(x, xn), *aw = abs_copy(ws, wn), *ab = abs_copy(b, p->cout), *ares = abs_copy(res, yn);
    winograd_bound(p, ax, aw, bias_on ? ab : NULL, residual_on ? ares : NULL, bound);
    float *first = NULL;
    for (int t = 0; t < THREAD_COUNTS; t++) {
        CHECK(ct_gemm_ctx_reserve(ctxs[t], ct_winograd_workspace_floats(p->cin, p->cout)));
        float *y = random_floats(yn);
        ct_winograd_conv(ctxs[t], p, x, packed, bias_on ? b : NULL, residual_on ? res : NULL, relu, y);
        double worst;
        int bad = count_beyond(y, ref, bound, yn, &worst);
        CHECKF(bad == 0, "winograd cin=%d %dx%d cout=%d batch=%d cm=%d bias=%d res=%d relu=%d scaled=%d, %d threads: "
               "%d bad, max %g", p->cin, p->h, p->w, p->cout, p->batch, p->channel_major, bias_on, residual_on, relu,
               scaled, t + 1, bad, worst);
        if (!first) first = y;
        else {
            CHECKF(!memcmp(y, first, yn * 4), "winograd: %d threads differ from 1", t + 1);
            free(y);
        }
    }
    free(first), free(x), free(w), free(b), free(res), free(scale), free(ws), free(ref), free(bound), free(packed);
    free(ax), free(aw), free(ab), free(ares);
}

static void test_winograd_vs_naive(void) {
    CHECK(contexts_ready());
    if (!contexts_ready()) return;
    /* Odd and even sizes (partial tiles), maps narrower than a tile row of
     * four, wide maps (interior quads), batches in both layouts, blocks
     * that end mid-row. */
    static const int shapes[][6] = {{1, 1, 1, 1, 1, 0},    {3, 2, 3, 5, 1, 0},    {4, 7, 9, 6, 2, 1},
                                    {8, 14, 14, 12, 5, 0}, {8, 14, 14, 12, 5, 1}, {5, 33, 47, 7, 1, 0},
                                    {16, 32, 32, 24, 1, 0}, {3, 21, 64, 9, 2, 0}, {70, 12, 20, 130, 1, 1}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const int *s = shapes[i];
        ct_conv_params p = {s[0], s[1], s[2], s[3], 3, 3, 1, 1, s[4], s[5]};
        check_winograd(&p, (int)i % 2, (int)i % 3 != 0, (int)(i / 2) % 2, (int)i % 4 == 1);
    }
    ct_conv_params not3x3 = {4, 8, 8, 4, 3, 3, 2, 1, 1, 0}, unpadded = {4, 8, 8, 4, 3, 3, 1, 0, 1, 0};
    CHECK(!ct_winograd_fits(&not3x3) && !ct_winograd_fits(&unpadded));
}

static void test_conv_out_size(void) {
    CHECK(ct_conv_out_size(512, 7, 2, 3) == 256);
    CHECK(ct_conv_out_size(256, 3, 2, 1) == 128);
    CHECK(ct_conv_out_size(7, 3, 1, 1) == 7);
    CHECK(ct_conv_out_size(2, 5, 1, 0) == 0);   /* kernel larger than the padded input */
    CHECK(ct_conv_out_size(9, 3, 0, 1) == 0);   /* invalid stride */
}

/* ------------------------------------------------- transposed conv + 1x1 */

static void check_deconv_1x1(int cin, int cmid, int nc, int batch, int h, int w, int relu) {
    size_t pix = (size_t)batch * h * w, on = pix * 4;
    float *x = random_floats(pix * cin), *wt = random_floats((size_t)cin * cmid * 4), *b = random_floats(cmid);
    float *w1 = random_floats((size_t)nc * cmid), *b1 = random_floats(nc), *ref = malloc((on + 1) * 4);
    float *bound = malloc((on + 1) * 4), *packed = malloc((ct_deconv_packed_floats(cin, cmid) + 1) * 4);
    int *channel = malloc((size_t)batch * sizeof *channel);
    for (int i = 0; i < batch; i++) channel[i] = rng_int(0, nc - 1);
    ct_deconv_pack(cin, cmid, wt, b, packed);
    ct_deconv_1x1_naive(x, cin, batch, h, w, wt, b, cmid, relu, w1, b1, channel, ref);
    /* Bound: the same chain on absolute values (no ReLU: |relu(v)| <= |v|). */
    float *ax = abs_copy(x, pix * cin), *aw = abs_copy(wt, (size_t)cin * cmid * 4), *ab = abs_copy(b, cmid);
    float *aw1 = abs_copy(w1, (size_t)nc * cmid), *ab1 = abs_copy(b1, nc);
    ct_deconv_1x1_naive(ax, cin, batch, h, w, aw, ab, cmid, 0, aw1, ab1, channel, bound);
    float *first = NULL;
    for (int t = 0; t < THREAD_COUNTS; t++) {
        float *out = random_floats(on);
        CHECK(ct_gemm_ctx_reserve(ctxs[t], ct_deconv_workspace_floats(cmid)));
        ct_deconv_1x1(ctxs[t], x, cin, batch, h, w, packed, cmid, relu, w1, b1, channel, out);
        double worst;
        int bad = count_beyond(out, ref, bound, on, &worst);
        CHECKF(bad == 0, "deconv_1x1 cin=%d cmid=%d nc=%d batch=%d %dx%d relu=%d, %d threads: %d bad, max %g", cin, cmid,
               nc, batch, h, w, relu, t + 1, bad, worst);
        if (!first) first = out;
        else {
            CHECKF(!memcmp(out, first, on * 4), "deconv_1x1: %d threads differ from 1", t + 1);
            free(out);
        }
    }
    free(first), free(x), free(wt), free(b), free(w1), free(b1), free(ref), free(bound), free(packed);
    free(channel), free(ax), free(aw), free(ab), free(aw1), free(ab1);
}

static void test_deconv_1x1_vs_naive(void) {
    CHECK(contexts_ready());
    if (!contexts_ready()) return;
    for (int t = 0; t < 8; t++)
        check_deconv_1x1(rng_int(1, 40), rng_int(1, 33), rng_int(1, 3), rng_int(1, 4), rng_int(1, 15), rng_int(1, 15),
                         t % 2);
    check_deconv_1x1(128, 128, 2, 3, 14, 14, 1);   /* the mask head's shape */
}

static void test_deconv_naive_known(void) {
    /* One input pixel, one output channel: the 2x2 kernel times x plus bias. */
    float x[2] = {2, -1};                      /* [2,1,1] */
    float w[8] = {1, 2, 3, 4, 10, 20, 30, 40}; /* [2,1,2,2] */
    float b[1] = {0.5f}, y[4];
    ct_deconv2x2_naive(x, 2, 1, 1, w, b, 1, 0, y);
    CHECK(y[0] == -7.5f && y[1] == -15.5f && y[2] == -23.5f && y[3] == -31.5f);
    ct_deconv2x2_naive(x, 2, 1, 1, w, b, 1, 1, y);
    CHECK(y[0] == 0 && y[1] == 0 && y[2] == 0 && y[3] == 0);
    /* The fused chain with a 1x1 of weight 2 and bias 1 on top: 2*relu(.) + 1. */
    float w1[1] = {2}, b1[1] = {1}, out[4];
    int channel[1] = {0};
    ct_deconv_1x1_naive(x, 2, 1, 1, 1, w, b, 1, 0, w1, b1, channel, out);
    CHECK(out[0] == -14.0f && out[3] == -62.0f);
    ct_deconv_1x1_naive(x, 2, 1, 1, 1, w, b, 1, 1, w1, b1, channel, out);
    CHECK(out[0] == 1.0f && out[3] == 1.0f);
}

/* ---------------------------------------------------- RoIAlign, max pool */

/* The channels-last copy split into blocks of pixels, on 1-3 threads: maps
 * of one block, several, and a ragged last block. */
static void test_roi_align_hwc_threads(void) {
    static const int shapes[][3] = {{3, 5, 7}, {5, 70, 45}, {1, 64, 32}, {17, 33, 65}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        int c = shapes[i][0], h = shapes[i][1], w = shapes[i][2];
        size_t n = (size_t)c * h * w;
        float *feat = random_floats(n);
        for (int th = 0; th < THREAD_COUNTS; th++) {
            float *hwc = random_floats(n);
            ct_roi_align_hwc(pools[th], feat, c, h, w, hwc);
            size_t bad = 0;
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < h * w; p++) bad += hwc[(size_t)p * c + ch] != feat[(size_t)ch * h * w + p];
            CHECKF(bad == 0, "roi_align_hwc c=%d %dx%d, %d threads: %zu wrong", c, h, w, th + 1, bad);
            free(hwc);
        }
        free(feat);
    }
}

static void test_roi_align_vs_naive(void) {
    CHECK(contexts_ready());
    if (!contexts_ready()) return;
    for (int t = 0; t < 6; t++) {
        int c = rng_int(1, 70), h = rng_int(1, 20), w = rng_int(1, 20), n = rng_int(1, 30);
        int out = t < 3 ? 7 : rng_int(1, 14), sr = t % 3 == 2 ? 0 : 2;
        float scale = t % 2 ? 0.25f : 1.0f;
        float *feat = random_floats((size_t)c * h * w), *hwc = malloc((size_t)c * h * w * 4);
        float *boxes = malloc((size_t)n * 16), *ref = malloc((size_t)n * c * out * out * 4);
        for (int i = 0; i < n; i++) {   /* boxes around and beyond the map, some degenerate */
            float x1 = (rng_uniform() + 0.3f) * w / scale, y1 = (rng_uniform() + 0.3f) * h / scale;
            boxes[4 * i] = x1, boxes[4 * i + 1] = y1;
            boxes[4 * i + 2] = x1 + (rng_uniform() + 0.8f) * w / scale, boxes[4 * i + 3] = y1 + (rng_uniform() + 1.0f) * h;
        }
        ct_roi_align_naive(feat, c, h, w, boxes, n, scale, out, out, sr, ref);
        for (int th = 0; th < THREAD_COUNTS; th++) {
            float *o = random_floats((size_t)n * c * out * out);
            ct_roi_align_hwc(pools[th], feat, c, h, w, hwc);
            ct_roi_align(pools[th], hwc, c, h, w, boxes, n, scale, out, out, sr, o);
            CHECKF(!memcmp(o, ref, (size_t)n * c * out * out * 4), "roi_align c=%d %dx%d n=%d out=%d sr=%d, %d threads",
                   c, h, w, n, out, sr, th + 1);
            free(o);
        }
        free(feat), free(hwc), free(boxes), free(ref);
    }
}

/* One case of ct_roi_panels: the panels it hands over against the matrix
 * provider's on the naive RoIAlign regrouped bin-major (bit for bit, for
 * several K block sizes), and fc6-like GEMMs on it against the same on that
 * matrix (bit for bit, 1-3 threads). h = 0 is an empty map. */
static void check_roi_panels(int c, int h, int w, int n, int out, int sr, float scale) {
    int bins = out * out, K = c * bins, M = 9;
    float *feat = random_floats((size_t)c * h * w + 1), *hwc = malloc(((size_t)c * h * w + 1) * 4);
    float *boxes = malloc((size_t)n * 16), *ref = malloc((size_t)n * K * 4), *B = malloc((size_t)n * K * 4);
    float *A = random_floats((size_t)M * K), *a = malloc((ct_gemm_packed_a_floats(M, K) + 1) * 4);
    float *got = aligned_alloc(64, (size_t)300 * CT_GEMM_NR * 4), *want = aligned_alloc(64, (size_t)300 * CT_GEMM_NR * 4);
    ct_roi *rois = malloc((size_t)n * sizeof *rois);
    ct_roi_align_hwc(NULL, feat, c, h, w, hwc);
    for (int i = 0; i < n; i++) {   /* boxes around and beyond the map, some degenerate */
        float x1 = (rng_uniform() + 0.3f) * w / scale, y1 = (rng_uniform() + 0.3f) * h / scale;
        float *b = boxes + 4 * i;
        b[0] = x1, b[1] = y1, b[2] = x1 + (rng_uniform() + 0.8f) * w / scale, b[3] = y1 + (rng_uniform() + 1.0f) * h;
        ct_roi_prepare(hwc, c, h, w, b, scale, out, out, sr, &rois[i]);
    }
    ct_roi_align_naive(feat, c, h, w, boxes, n, scale, out, out, sr, ref);
    for (int j = 0; j < n; j++)   /* B [bin * c + channel][RoI] */
        for (int ch = 0; ch < c; ch++)
            for (int bin = 0; bin < bins; bin++) B[((size_t)bin * c + ch) * n + j] = ref[((size_t)j * c + ch) * bins + bin];
    ct_gemm_b pb = ct_roi_panels(rois, n), mb = ct_gemm_b_matrix(B, n, 1, n);
    int mismatched = 0;
    for (int kc = 256; kc > 0; kc = kc == 256 ? rng_int(1, 300) : 0)
        for (int k0 = 0; k0 < K; k0 += kc)
            for (int n0 = 0; n0 < n; n0 += CT_GEMM_NR) {
                int rows = K - k0 < kc ? K - k0 : kc, cols = n - n0 < CT_GEMM_NR ? n - n0 : CT_GEMM_NR;
                ptrdiff_t gs, ws;
                const float *g = pb.panels(&pb, k0, rows, n0, cols, got, &gs);
                const float *wp = mb.panels(&mb, k0, rows, n0, cols, want, &ws);
                mismatched += gs != ws || memcmp(g, wp, (size_t)rows * CT_GEMM_NR * 4) != 0;
            }
    CHECKF(!mismatched, "roi panels c=%d %dx%d n=%d out=%d sr=%d: %d panels differ", c, h, w, n, out, sr, mismatched);
    ct_gemm_pack_a(M, K, A, K, 1, NULL, a);
    float *C = malloc((size_t)M * n * 4), *Cref = malloc((size_t)M * n * 4);
    for (int t = 0; t < THREAD_COUNTS; t++) {
        ct_gemm_run(ctxs[t], M, n, K, a, &mb, Cref, n, NULL);
        ct_gemm_run(ctxs[t], M, n, K, a, &pb, C, n, NULL);
        CHECKF(!memcmp(C, Cref, (size_t)M * n * 4), "gemm on roi panels c=%d n=%d, %d threads", c, n, t + 1);
    }
    free(feat), free(hwc), free(boxes), free(ref), free(B), free(A), free(a), free(got), free(want), free(rois);
    free(C), free(Cref);
}

static void test_roi_panels_vs_naive(void) {
    CHECK(contexts_ready());
    if (!contexts_ready()) return;
    check_roi_panels(256, 13, 11, 30, 7, 2, 0.25f);   /* the box head's shape, two panels */
    check_roi_panels(300, 5, 6, 3, 2, 2, 1.0f);       /* channel runs longer than the provider's */
    check_roi_panels(4, 0, 5, 2, 7, 2, 1.0f);         /* an empty map */
    for (int t = 0; t < 4; t++)
        check_roi_panels(rng_int(1, 70), rng_int(1, 20), rng_int(1, 20), rng_int(1, 60), rng_int(1, 9), t % 2 ? 0 : 2,
                         t % 2 ? 0.5f : 1.0f);
}

/* Window maxima by the definition: the largest value, or NaN if the window has one. */
static void maxpool_reference(const float *x, int c, int h, int w, int pad, float *y) {
    int ho = ct_conv_out_size(h, 3, 2, pad), wo = ct_conv_out_size(w, 3, 2, pad);
    for (int ch = 0; ch < c; ch++)
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++) {
                float m = -INFINITY;
                for (int iy = oy * 2 - pad; iy <= oy * 2 - pad + 2; iy++)
                    for (int ix = ox * 2 - pad; ix <= ox * 2 - pad + 2; ix++) {
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                        float v = x[((size_t)ch * h + iy) * w + ix];
                        if (!isnan(m) && (isnan(v) || v > m)) m = v;   /* the first NaN stays */
                    }
                y[((size_t)ch * ho + oy) * wo + ox] = m;
            }
}

/* 3x3/2 pooling against the definition on shapes whose rows span several
 * of the kernel's runs of outputs (and ragged ends), with NaNs and
 * infinities, and the same bits on every thread count. */
static void test_maxpool_vs_reference_and_threads(void) {
    CHECK(contexts_ready());
    if (!contexts_ready()) return;
    static const int shapes[][4] = {{13, 37, 29, 1}, {3, 9, 300, 1}, {2, 5, 517, 0}, {4, 6, 258, 1}, {1, 2, 2, 1},
                                    {2, 3, 7, 0}};   /* c, h, w, pad; then three random ones */
    int fixed = (int)(sizeof shapes / sizeof *shapes);
    for (int s = 0; s < fixed + 3; s++) {
        int c = s < fixed ? shapes[s][0] : rng_int(1, 5), h = s < fixed ? shapes[s][1] : rng_int(1, 20);
        int w = s < fixed ? shapes[s][2] : rng_int(1, 600), pad = s < fixed ? shapes[s][3] : rng_int(0, 1);
        int ho = ct_conv_out_size(h, 3, 2, pad), wo = ct_conv_out_size(w, 3, 2, pad);
        if (ho <= 0 || wo <= 0) continue;
        size_t nx = (size_t)c * h * w, ny = (size_t)c * ho * wo;
        float *x = random_floats(nx), *want = malloc(ny * 4), *ref = malloc(ny * 4);
        for (int k = 0; k < 5; k++) x[rng_int(0, (int)nx - 1)] = k % 2 ? NAN : INFINITY;
        maxpool_reference(x, c, h, w, pad, want);
        ct_maxpool2d(NULL, x, c, h, w, 3, 2, pad, ref);
        int same = 1;
        for (size_t i = 0; i < ny; i++) same &= isnan(want[i]) ? isnan(ref[i]) : ref[i] == want[i];
        CHECKF(same, "maxpool %dx%dx%d pad %d differs from the definition", c, h, w, pad);
        for (int t = 1; t < THREAD_COUNTS; t++) {
            float *y = random_floats(ny);
            ct_maxpool2d(pools[t], x, c, h, w, 3, 2, pad, y);
            CHECKF(!memcmp(y, ref, ny * 4), "maxpool: %d threads differ from 1", t + 1);
            free(y);
        }
        free(x), free(want), free(ref);
    }
}

int main(void) {
    RUN(test_gemm_kernels_listed);
    RUN(test_gemm_known_product);
    RUN(test_gemm_shapes);
    RUN(test_gemm_deep_k);
    RUN(test_gemm_strides_and_epilogues);
    RUN(test_gemm_empty_k);
    RUN(test_gemm_pack_a_bin_major);
    RUN(test_gemm_run_threads_and_providers);
    RUN(test_conv_out_size);
    RUN(test_conv_vs_naive);
    RUN(test_conv_network_shapes);
    RUN(test_winograd_vs_naive);
    RUN(test_deconv_naive_known);
    RUN(test_deconv_1x1_vs_naive);
    RUN(test_roi_align_hwc_threads);
    RUN(test_roi_align_vs_naive);
    RUN(test_roi_panels_vs_naive);
    RUN(test_maxpool_vs_reference_and_threads);
    free_contexts();
    return TEST_SUMMARY();
}
