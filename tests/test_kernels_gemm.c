/* Optimized kernels against their naive twins on many shapes: GEMM (every
 * micro-kernel this CPU runs; strides, epilogues, aliasing), convolution
 * (im2col + GEMM) and the 2x2 transposed convolution.
 *
 * Tolerance: |optimized - naive| <= 1e-5 * (sum of |terms| of that output,
 * bias and residual included), i.e. relative to the sum's own scale. With
 * the portable micro-kernel ct_gemm is bit-identical to the naive twin (same
 * summation order, no FMA), and that is checked exactly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "gemm.h"
#include "test.h"

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
    int bias_m, bias_n, residual, relu, alias;   /* alias: residual is C itself */
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
    if (t->alias) memcpy(C, res, c_len * sizeof *C);
    memcpy(ref, C, c_len * sizeof *C);   /* padding columns must stay as they are */

    ct_epilogue ep = {t->bias_m ? bm : NULL, t->bias_n ? bn : NULL,
                      t->residual ? (t->alias ? C : res) : NULL, t->relu};
    ct_epilogue ep_ref = ep;
    if (ep.residual) ep_ref.residual = res;
    ct_gemm_naive(M, N, K, A, rs_a, cs_a, B, rs_b, cs_b, ref, ldc, &ep_ref);
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
    CHECKF(bad == 0, "%s M=%d N=%d K=%d ta=%d tb=%d pad=%d ep=%d%d%d%d alias=%d: %d mismatches, max diff %g",
           kern->name, M, N, K, t->trans_a, t->trans_b, t->pad, t->bias_m, t->bias_n, t->residual, t->relu,
           t->alias, bad, worst);
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
    for (int k = 0; k < n; k++) printf("    micro-kernel %s (%dx%d)\n", kernels[k]->name, kernels[k]->mr, kernels[k]->nr);
}

/* Sizes around every block edge (MR 6, NR 8/16, MC 72, NC 96, KC 256), primes, 1. */
static void test_gemm_shapes(void) {
    static const int sizes[] = {1, 2, 5, 6, 7, 13, 16, 17, 71, 72, 73, 95, 96, 97, 191};
    int ns = (int)(sizeof sizes / sizeof *sizes);
    for (int a = 0; a < ns; a++)
        for (int b = 0; b < ns; b += 2) {
            gemm_case t = {sizes[a], sizes[b], sizes[(a + b) % ns], 0, 0, 0, 0, 0, 0, 0, 0};
            for_each_kernel(&t);
        }
}

static void test_gemm_deep_k(void) {
    static const int ks[] = {255, 256, 257, 300, 511, 512, 513, 1031};
    for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
        gemm_case t = {rng_int(1, 80), rng_int(1, 120), ks[i], 0, 0, 0, 1, 0, 0, 0, 0};
        for_each_kernel(&t);
    }
    gemm_case big = {263, 300, 293, 0, 0, 0, 1, 0, 1, 1, 0};
    for_each_kernel(&big);
}

static void test_gemm_strides_and_epilogues(void) {
    for (int layout = 0; layout < 8; layout++)
        for (int ep = 0; ep < 16; ep++) {
            gemm_case t = {rng_int(1, 150), rng_int(1, 150), rng_int(1, 300),
                           layout & 1, (layout >> 1) & 1, layout & 4 ? rng_int(1, 5) : 0,
                           ep & 1, (ep >> 1) & 1, (ep >> 2) & 1, (ep >> 3) & 1, 0};
            for_each_kernel(&t);
        }
}

static void test_gemm_residual_aliases_c(void) {
    /* K beyond one KC block, so that partial sums exist before the epilogue. */
    for (int relu = 0; relu < 2; relu++) {
        gemm_case t = {77, 101, 700, 0, 0, 0, 1, 0, 1, relu, 1};
        for_each_kernel(&t);
        gemm_case u = {5, 3, 1, 1, 1, 2, 0, 1, 1, relu, 1};
        for_each_kernel(&u);
    }
}

static void test_gemm_empty_k(void) {
    /* K = 0: the product is 0 and C gets just the epilogue. */
    gemm_case t = {9, 11, 0, 0, 0, 0, 1, 1, 1, 1, 0};
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

/* ------------------------------------------------------------------ conv */

static void check_conv(const ct_conv_params *p, int bias_on, int residual_mode, int relu) {
    int ho = ct_conv_out_size(p->h, p->kh, p->stride, p->pad), wo = ct_conv_out_size(p->w, p->kw, p->stride, p->pad);
    size_t xn = (size_t)p->cin * p->h * p->w, wn = (size_t)p->cout * p->cin * p->kh * p->kw;
    size_t yn = (size_t)p->cout * ho * wo;
    float *x = random_floats(xn), *w = random_floats(wn), *b = random_floats(p->cout), *res = random_floats(yn);
    float *y = random_floats(yn), *ref = malloc(yn * sizeof *ref), *bound = malloc(yn * sizeof *bound);
    size_t sn = ct_conv2d_scratch_floats(p);
    float *scratch = malloc((sn ? sn : 1) * sizeof *scratch);
    ct_conv2d_naive(p, x, w, bias_on ? b : NULL, residual_mode ? res : NULL, relu, ref);
    if (residual_mode == 2) memcpy(y, res, yn * sizeof *y);   /* residual aliases the output */
    ct_conv2d(p, x, w, bias_on ? b : NULL, residual_mode == 2 ? y : residual_mode ? res : NULL, relu, y, scratch);

    float *ax = abs_copy(x, xn), *aw = abs_copy(w, wn), *ab = abs_copy(b, p->cout), *ares = abs_copy(res, yn);
    ct_conv2d_naive(p, ax, aw, bias_on ? ab : NULL, residual_mode ? ares : NULL, 0, bound);
    int bad = 0;
    double worst = 0;
    for (size_t i = 0; i < yn; i++) {
        double d = fabs((double)y[i] - ref[i]);
        if (!(d <= REL_TOL * bound[i])) bad++;
        if (d > worst) worst = d;
    }
    CHECKF(bad == 0, "conv cin=%d %dx%d cout=%d k=%dx%d s=%d p=%d bias=%d res=%d relu=%d: %d bad, max %g",
           p->cin, p->h, p->w, p->cout, p->kh, p->kw, p->stride, p->pad, bias_on, residual_mode, relu, bad, worst);
    free(x), free(w), free(b), free(res), free(y), free(ref), free(bound), free(scratch);
    free(ax), free(aw), free(ab), free(ares);
}

static void test_conv_vs_naive(void) {
    static const int kernel_sizes[] = {1, 3, 7}, strides[] = {1, 2}, pads[] = {0, 1, 3};
    int n = 0;
    for (int ki = 0; ki < 3; ki++)
        for (int si = 0; si < 2; si++)
            for (int pi = 0; pi < 3; pi++) {
                int k = kernel_sizes[ki];
                ct_conv_params p = {rng_int(1, 9), rng_int(k > 2 * pads[pi] ? k - 2 * pads[pi] : 1, 23),
                                    rng_int(k > 2 * pads[pi] ? k - 2 * pads[pi] : 1, 23), rng_int(1, 19),
                                    k, k, strides[si], pads[pi]};
                check_conv(&p, n % 2, n % 3, (n / 2) % 2);
                n++;
            }
}

static void test_conv_network_shapes(void) {
    /* Stem-like (output wider than one im2col chunk), a 3x3 residual block
     * conv writing into its residual, the 1x1 stride-2 downsample, a 1x1
     * lateral straight into the GEMM. */
    ct_conv_params stem = {3, 75, 69, 16, 7, 7, 2, 3};
    check_conv(&stem, 0, 0, 1);
    ct_conv_params block = {24, 33, 35, 24, 3, 3, 1, 1};
    check_conv(&block, 1, 2, 1);
    ct_conv_params down = {12, 17, 19, 20, 1, 1, 2, 0};
    check_conv(&down, 1, 0, 0);
    ct_conv_params lateral = {40, 9, 13, 32, 1, 1, 1, 0};
    check_conv(&lateral, 1, 2, 0);
    CHECK(ct_conv2d_scratch_floats(&lateral) == 0);
    size_t scratch = ct_conv2d_scratch_floats(&block), k = 24 * 9;
    CHECK(scratch > 0 && scratch % k == 0 && scratch <= k * 33 * 35);
}

static void test_conv_out_size(void) {
    CHECK(ct_conv_out_size(512, 7, 2, 3) == 256);
    CHECK(ct_conv_out_size(256, 3, 2, 1) == 128);
    CHECK(ct_conv_out_size(7, 3, 1, 1) == 7);
    CHECK(ct_conv_out_size(2, 5, 1, 0) == 0);   /* kernel larger than the padded input */
    CHECK(ct_conv_out_size(9, 3, 0, 1) == 0);   /* invalid stride */
}

/* ------------------------------------------------------------------ deconv */

static void test_deconv_vs_naive(void) {
    for (int t = 0; t < 12; t++) {
        int cin = rng_int(1, 40), cout = rng_int(1, 33), h = rng_int(1, 15), w = rng_int(1, 15);
        int bias_on = t % 3 != 0, relu = t % 2;
        if (t == 11) cin = 128, cout = 128, h = 14, w = 14;   /* the mask head's shape */
        size_t xn = (size_t)cin * h * w, wn = (size_t)cin * cout * 4, yn = (size_t)cout * 4 * h * w;
        float *x = random_floats(xn), *wt = random_floats(wn), *b = random_floats(cout);
        float *y = random_floats(yn), *ref = random_floats(yn), *bound = malloc(yn * sizeof *bound);
        ct_deconv2x2(x, cin, h, w, wt, bias_on ? b : NULL, cout, relu, y);
        ct_deconv2x2_naive(x, cin, h, w, wt, bias_on ? b : NULL, cout, relu, ref);
        float *ax = abs_copy(x, xn), *aw = abs_copy(wt, wn), *ab = abs_copy(b, cout);
        ct_deconv2x2_naive(ax, cin, h, w, aw, bias_on ? ab : NULL, cout, 0, bound);
        int bad = 0;
        for (size_t i = 0; i < yn; i++)
            if (!(fabs((double)y[i] - ref[i]) <= REL_TOL * bound[i])) bad++;
        CHECKF(bad == 0, "deconv cin=%d cout=%d %dx%d bias=%d relu=%d: %d bad", cin, cout, h, w, bias_on, relu, bad);
        free(x), free(wt), free(b), free(y), free(ref), free(bound), free(ax), free(aw), free(ab);
    }
}

static void test_deconv_known(void) {
    /* One input pixel, one output channel: the 2x2 kernel times x plus bias. */
    float x[2] = {2, -1};                      /* [2,1,1] */
    float w[8] = {1, 2, 3, 4, 10, 20, 30, 40}; /* [2,1,2,2] */
    float b[1] = {0.5f}, y[4];
    ct_deconv2x2(x, 2, 1, 1, w, b, 1, 0, y);
    CHECK(y[0] == -7.5f && y[1] == -15.5f && y[2] == -23.5f && y[3] == -31.5f);
    ct_deconv2x2(x, 2, 1, 1, w, b, 1, 1, y);
    CHECK(y[0] == 0 && y[1] == 0 && y[2] == 0 && y[3] == 0);
}

int main(void) {
    RUN(test_gemm_kernels_listed);
    RUN(test_gemm_known_product);
    RUN(test_gemm_shapes);
    RUN(test_gemm_deep_k);
    RUN(test_gemm_strides_and_epilogues);
    RUN(test_gemm_residual_aliases_c);
    RUN(test_gemm_empty_k);
    RUN(test_conv_out_size);
    RUN(test_conv_vs_naive);
    RUN(test_conv_network_shapes);
    RUN(test_deconv_known);
    RUN(test_deconv_vs_naive);
    return TEST_SUMMARY();
}
