/* FMA peak measurement for tools/bench (see bench_peak.h). Twelve
 * independent accumulator chains hide the FMA latency (4 cycles) on two
 * pipes. */
#include "bench_peak.h"

#include <time.h>

#define CHAINS 12
#define ITERATIONS 20000000L   /* a trial of bench_peak_gflops: ~80 ms */
#define SAMPLE_ITERATIONS 1000000L   /* bench_peak_sample: ~4 ms */

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

/* Twelve named accumulators, so that they stay in registers. */
__attribute__((target("avx2,fma"))) static double avx2_trial(long iterations) {
    __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    __m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1), a2 = _mm256_set1_ps(2), a3 = _mm256_set1_ps(3);
    __m256 a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5), a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7);
    __m256 a8 = _mm256_set1_ps(8), a9 = _mm256_set1_ps(9), a10 = _mm256_set1_ps(10), a11 = _mm256_set1_ps(11);
    double t = seconds();
    for (long n = 0; n < iterations; n++) {
        a0 = _mm256_fmadd_ps(a0, x, y), a1 = _mm256_fmadd_ps(a1, x, y), a2 = _mm256_fmadd_ps(a2, x, y);
        a3 = _mm256_fmadd_ps(a3, x, y), a4 = _mm256_fmadd_ps(a4, x, y), a5 = _mm256_fmadd_ps(a5, x, y);
        a6 = _mm256_fmadd_ps(a6, x, y), a7 = _mm256_fmadd_ps(a7, x, y), a8 = _mm256_fmadd_ps(a8, x, y);
        a9 = _mm256_fmadd_ps(a9, x, y), a10 = _mm256_fmadd_ps(a10, x, y), a11 = _mm256_fmadd_ps(a11, x, y);
    }
    t = seconds() - t;
    __m256 sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                               _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    sum = _mm256_add_ps(sum, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    volatile float keep = _mm256_cvtss_f32(sum);
    (void)keep;
    return (double)iterations * CHAINS * 8 * 2 / t * 1e-9;
}

static int has_avx2_fma(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#endif

static double scalar_trial(long iterations) {
    float acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = (float)i;
    double t = seconds();
    for (long n = 0; n < iterations / 8; n++)
        for (int i = 0; i < CHAINS; i++) acc[i] = acc[i] * 0.999999f + 1e-7f;
    t = seconds() - t;
    volatile float keep = acc[0];
    (void)keep;
    return (double)(iterations / 8) * CHAINS * 2 / t * 1e-9;
}

static double trial(long iterations) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (has_avx2_fma()) return avx2_trial(iterations);
#endif
    return scalar_trial(iterations);
}

double bench_peak_gflops(void) {
    double best = 0;
    for (int n = 0; n < 3; n++) {
        double g = trial(ITERATIONS);
        best = g > best ? g : best;
    }
    return best;
}

double bench_peak_sample(void) { return trial(SAMPLE_ITERATIONS); }
