/* Summaries of a benchmark's repeated timings, shared by tools/bench's
 * model and --kernels modes. */
#ifndef CT_TOOLS_BENCH_STATS_H
#define CT_TOOLS_BENCH_STATS_H

#define BENCH_MAX_RUNS 1000

/* Of v[0..n), 1 <= n <= BENCH_MAX_RUNS, v left as it is: the median (the
 * mean of the middle two for even n), the smallest and the largest. */
double bench_median(const double *v, int n);
double bench_min(const double *v, int n);
double bench_max(const double *v, int n);

#endif
