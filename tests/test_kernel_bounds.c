/* Convolutions read only inside their input: every stride, kernel size and
 * padding the networks use, on inputs of many widths and heights allocated
 * to their exact size, so that under `make asan` a read one float past the
 * end is a failure (a stride-2 gather once read the float after each run's
 * last tap: found by fuzz_modelfile and ThreadSanitizer). Results must match
 * the naive twin too. */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "threadpool.h"

/* x: [cin, h, w] in a block of exactly that size; y compared with the twin. */
static int check_conv(const ct_gemm_ctx *ctx, int cin, int h, int w, int k, int stride, int pad) {
    ct_conv_params p = {cin, h, w, 3, k, k, stride, pad, 1, 0};
    int ho = ct_conv_out_size(h, k, stride, pad), wo = ct_conv_out_size(w, k, stride, pad);
    if (ho < 1 || wo < 1) return 1;
    size_t nx = (size_t)cin * h * w, nw = (size_t)3 * cin * k * k, ny = (size_t)3 * ho * wo;
    float *x = malloc(nx * sizeof *x), *weight = malloc(nw * sizeof *weight);
    float *packed = malloc(ct_conv_packed_floats(&p) * sizeof *packed);
    float *y = malloc(ny * sizeof *y), *want = malloc(ny * sizeof *want);
    for (size_t i = 0; i < nx; i++) x[i] = (float)((i * 7919) % 13) - 6.0f;
    for (size_t i = 0; i < nw; i++) weight[i] = (float)((i * 104729) % 11) * 0.25f - 1.0f;
    ct_conv_pack_weight(&p, weight, NULL, packed);
    ct_conv2d(ctx, &p, x, packed, NULL, NULL, 0, y);
    ct_conv2d_naive(&p, x, weight, NULL, NULL, 0, want);
    int same = memcmp(y, want, ny * sizeof *y) == 0;
    free(x);
    free(weight);
    free(packed);
    free(y);
    free(want);
    return same;
}

static void run_shapes(const ct_gemm_ctx *ctx) {
    static const int kernels[][3] = {{7, 2, 3}, {3, 2, 1}, {1, 2, 0}, {3, 1, 1}, {1, 1, 0}, {2, 2, 0}};
    int failures = 0, tried = 0;
    for (size_t k = 0; k < sizeof kernels / sizeof *kernels; k++)
        for (int h = 1; h <= 9; h += 2)
            for (int w = 1; w <= 41; w++) {
                int ok = check_conv(ctx, 1 + w % 3, h, w, kernels[k][0], kernels[k][1], kernels[k][2]);
                tried++;
                if (!ok && failures++ < 5)
                    CHECKF(0, "k%d s%d p%d on %dx%d differs from the naive twin", kernels[k][0], kernels[k][1],
                           kernels[k][2], w, h);
            }
    CHECKF(failures == 0 && tried > 1000, "%d of %d shapes differ", failures, tried);
}

static void test_strided_convolutions_stay_inside(void) {
    for (int threads = 1; threads <= 2; threads++) {
        ct_pool *pool = threads > 1 ? ct_pool_new(threads) : NULL;
        ct_gemm_ctx *ctx = ct_gemm_ctx_new(pool, NULL);
        CHECK(ctx != NULL && (threads == 1 || pool != NULL));
        if (ctx) run_shapes(ctx);
        ct_gemm_ctx_free(ctx);
        ct_pool_free(pool);
    }
}

int main(void) {
    RUN(test_strided_convolutions_stay_inside);
    return TEST_SUMMARY();
}
