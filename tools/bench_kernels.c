/* Kernel timings for tools/bench --kernels (see bench_kernels.h). Each shape
 * runs through the same entry points the network uses: ct_winograd_conv for
 * 3x3 stride-1 convolutions, ct_conv2d on packed weights for the others,
 * ct_gemm_run with a column-major B for fc6, ct_deconv_1x1 for the mask
 * predictor. GFLOP counts a direct convolution's multiply-adds, so Winograd
 * shapes show the rate a direct convolution would need to match them.
 * Wall-clock rates suffer when other processes share the cores; rates by
 * CPU time do not (with one thread). */
#include "bench_kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_peak.h"
#include "bench_stats.h"
#include "conv.h"
#include "gemm.h"
#include "winograd.h"


typedef enum { SHAPE_CONV, SHAPE_FC, SHAPE_DECONV } shape_kind;

typedef struct {
    const char *name;
    shape_kind kind;
    ct_conv_params conv;   /* SHAPE_CONV; SHAPE_DECONV: cin, h, w, cout (the 2x2 conv's), batch */
    int M, N, K;           /* SHAPE_FC: y^T [M,N] = W [M,K] x^T, x [N,K] */
} bench_shape;

/* Every conv of R18-T1 at 512x512 (one line per distinct shape; "xN" how
 * often the network runs it), fc6 over 1000 proposals, the mask head over a
 * chunk of 24 detections (the network's pass, repeated ~4x for 100). */
static const bench_shape SHAPES[] = {
    {"stem 7x7/2 3->64 @512", SHAPE_CONV, {3, 512, 512, 64, 7, 7, 2, 3, 1, 0}, 0, 0, 0},
    {"layer1 3x3 64->64 @128 x4", SHAPE_CONV, {64, 128, 128, 64, 3, 3, 1, 1, 1, 0}, 0, 0, 0},
    {"layer2.0 3x3/2 64->128 @128", SHAPE_CONV, {64, 128, 128, 128, 3, 3, 2, 1, 1, 0}, 0, 0, 0},
    {"layer2.0 down 1x1/2 64->128", SHAPE_CONV, {64, 128, 128, 128, 1, 1, 2, 0, 1, 0}, 0, 0, 0},
    {"layer2 3x3 128->128 @64 x3", SHAPE_CONV, {128, 64, 64, 128, 3, 3, 1, 1, 1, 0}, 0, 0, 0},
    {"layer3.0 3x3/2 128->256 @64", SHAPE_CONV, {128, 64, 64, 256, 3, 3, 2, 1, 1, 0}, 0, 0, 0},
    {"layer3.0 down 1x1/2 128->256", SHAPE_CONV, {128, 64, 64, 256, 1, 1, 2, 0, 1, 0}, 0, 0, 0},
    {"layer3 3x3 256->256 @32 x5", SHAPE_CONV, {256, 32, 32, 256, 3, 3, 1, 1, 1, 0}, 0, 0, 0},
    {"fpn inner 1x1 256->256 @32", SHAPE_CONV, {256, 32, 32, 256, 1, 1, 1, 0, 1, 0}, 0, 0, 0},
    {"rpn out 1x1 256->150 @32", SHAPE_CONV, {256, 32, 32, 150, 1, 1, 1, 0, 1, 0}, 0, 0, 0},
    {"fc6 12544->128 x1000 rois", SHAPE_FC, {0}, 128, 1000, 12544},
    {"mask 3x3 256->128 24x@14", SHAPE_CONV, {256, 14, 14, 128, 3, 3, 1, 1, 24, 0}, 0, 0, 0},
    {"mask deconv+1x1 128 24x@14", SHAPE_DECONV, {128, 14, 14, 128, 2, 2, 2, 0, 24, 0}, 0, 0, 0},
};

static double now_s(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float *random_floats(size_t n, unsigned *seed) {
    float *p = aligned_alloc(64, (n + 16) / 16 * 16 * sizeof *p);
    for (size_t i = 0; p && i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        p[i] = (float)(*seed >> 8) / 8388608.0f - 1.0f;
    }
    return p;
}

/* Operands of one shape and the call that runs it. */
typedef struct {
    const bench_shape *shape;
    ct_gemm_ctx *ctx;
    float *x, *packed, *bias, *y, *w1, *b1;
    int *channel;
    double gflop;
} bench_case;

static void run_case(const bench_case *c) {
    const bench_shape *s = c->shape;
    const ct_conv_params *p = &s->conv;
    if (s->kind == SHAPE_CONV && ct_winograd_fits(p)) {
        ct_winograd_conv(c->ctx, p, c->x, c->packed, c->bias, NULL, 1, c->y);
    } else if (s->kind == SHAPE_CONV) {
        ct_conv2d(c->ctx, p, c->x, c->packed, c->bias, NULL, 1, c->y);
    } else if (s->kind == SHAPE_FC) {
        ct_epilogue ep = {c->bias, NULL, NULL, 1};
        ct_gemm_b b = ct_gemm_b_matrix(c->x, 1, s->K, s->N);
        ct_gemm_run(c->ctx, s->M, s->N, s->K, c->packed, &b, c->y, s->N, &ep);
    } else {
        ct_deconv_1x1(c->ctx, c->x, p->cin, p->batch, p->h, p->w, c->packed, p->cout, 1, c->w1, c->b1, c->channel,
                      c->y);
    }
}

/* Allocates and fills the operands; 0 when memory runs out. */
static int setup_case(bench_case *c, unsigned *seed) {
    const bench_shape *s = c->shape;
    const ct_conv_params *p = &s->conv;
    size_t xn, yn, an, bn;
    if (s->kind == SHAPE_CONV) {
        size_t ho = (size_t)ct_conv_out_size(p->h, p->kh, p->stride, p->pad);
        size_t wo = (size_t)ct_conv_out_size(p->w, p->kw, p->stride, p->pad);
        xn = (size_t)p->batch * p->cin * p->h * p->w, yn = (size_t)p->cout * p->batch * ho * wo;
        an = ct_winograd_fits(p) ? ct_winograd_packed_floats(p->cin, p->cout) : ct_conv_packed_floats(p);
        bn = (size_t)p->cout;
        c->gflop = 2e-9 * (double)yn * p->cin * p->kh * p->kw;
    } else if (s->kind == SHAPE_FC) {
        xn = (size_t)s->N * s->K, yn = (size_t)s->M * s->N, an = ct_gemm_packed_a_floats(s->M, s->K), bn = (size_t)s->M;
        c->gflop = 2e-9 * (double)s->M * s->N * s->K;
    } else {
        size_t pix = (size_t)p->batch * p->h * p->w;
        xn = pix * p->cin, yn = pix * 4, an = ct_deconv_packed_floats(p->cin, p->cout), bn = (size_t)p->cout;
        c->gflop = 2e-9 * (double)pix * 4 * p->cout * (p->cin + 1);
    }
    float *w = random_floats(an, seed);   /* enough plain weights for any of the packings */
    c->x = random_floats(xn, seed), c->y = random_floats(yn, seed), c->bias = random_floats(bn, seed);
    c->packed = random_floats(an, seed), c->w1 = random_floats((size_t)p->cout * 2, seed);
    c->b1 = random_floats(2, seed), c->channel = calloc((size_t)p->batch + 1, sizeof *c->channel);
    int ok = w && c->x && c->y && c->bias && c->packed && c->w1 && c->b1 && c->channel;
    if (ok && s->kind == SHAPE_CONV && ct_winograd_fits(p)) {
        ok = ct_gemm_ctx_reserve(c->ctx, ct_winograd_workspace_floats(p->cin, p->cout));
        if (ok) ct_winograd_pack_weight(p->cin, p->cout, w, NULL, c->packed);
    } else if (ok && s->kind == SHAPE_CONV) {
        ct_conv_pack_weight(p, w, NULL, c->packed);
    }
    if (ok && s->kind == SHAPE_FC) ct_gemm_pack_a(s->M, s->K, w, s->K, 1, NULL, c->packed);
    if (ok && s->kind == SHAPE_DECONV) {
        ok = ct_gemm_ctx_reserve(c->ctx, ct_deconv_workspace_floats(p->cout));
        if (ok) ct_deconv_pack(p->cin, p->cout, w, c->bias, c->packed);
    }
    free(w);
    return ok;
}

static void free_case(bench_case *c) {
    free(c->x), free(c->packed), free(c->bias), free(c->y), free(c->w1), free(c->b1);
    free(c->channel);
}

int bench_kernels(int threads, int runs) {
    if (runs > BENCH_MAX_RUNS) runs = BENCH_MAX_RUNS;
    ct_pool *pool = threads > 1 ? ct_pool_new(threads) : NULL;
    ct_gemm_ctx *ctx = ct_gemm_ctx_new(pool, NULL);
    if ((threads > 1 && !pool) || !ctx) {
        fprintf(stderr, "bench: cannot start %d threads\n", threads);
        return 1;
    }
    printf("GEMM/conv shapes of R18-T1 at 512x512, %d thread%s, %d runs (median), micro-kernel %s\n", threads,
           threads == 1 ? "" : "s", runs, ct_gemm_kernel_best()->name);
    printf("%-30s %-9s %7s %8s %9s %7s %9s %7s\n", "shape", "method", "GFLOP", "ms", "GFLOP/s", "%peak", "per core",
           "%peak");
    unsigned seed = 12345;
    for (size_t i = 0; i < sizeof SHAPES / sizeof *SHAPES; i++) {
        bench_case c = {&SHAPES[i], ctx, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0};
        if (!setup_case(&c, &seed)) {
            free_case(&c);
            fprintf(stderr, "bench: out of memory\n");
            return 1;
        }
        /* Per run: wall and CPU time, and both rates over the peak sampled
         * right after the run (the machine's speed drifts between runs). */
        double wall[BENCH_MAX_RUNS], cpu[BENCH_MAX_RUNS], of_peak[BENCH_MAX_RUNS], cpu_of_peak[BENCH_MAX_RUNS];
        run_case(&c);   /* warm-up */
        for (int r = 0; r < runs; r++) {
            double t0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
            run_case(&c);
            wall[r] = now_s(CLOCK_MONOTONIC) - t0, cpu[r] = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
            double sampled = bench_peak_sample();
            of_peak[r] = c.gflop / wall[r] / (sampled * threads), cpu_of_peak[r] = c.gflop / cpu[r] / sampled;
        }
        double w = bench_median(wall, runs), rate = c.gflop / w, cpu_rate = c.gflop / bench_median(cpu, runs);
        const char *method = SHAPES[i].kind != SHAPE_CONV ? "gemm" : ct_winograd_fits(&SHAPES[i].conv) ? "winograd" : "im2col";
        printf("%-30s %-9s %7.3f %8.2f %9.1f %6.1f%% %9.1f %6.1f%%\n", SHAPES[i].name, method, c.gflop, w * 1e3, rate,
               100.0 * bench_median(of_peak, runs), cpu_rate, 100.0 * bench_median(cpu_of_peak, runs));
        free_case(&c);
    }
    ct_gemm_ctx_free(ctx);
    ct_pool_free(pool);
    return 0;
}
