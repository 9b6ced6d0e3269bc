/* tools/bench --kernels: the convolution and GEMM shapes of the R18-T1
 * models at 512x512, each timed on its own with random data. */
#ifndef CT_TOOLS_BENCH_KERNELS_H
#define CT_TOOLS_BENCH_KERNELS_H

/* Prints one line per shape: median of `runs` timings, GFLOP/s by wall
 * clock and per CPU-second of the process (with one thread, the rate other
 * processes' load cannot lower by taking the core away), each as % of the
 * FP32 peak (x threads for wall clock): the median over runs of the run's
 * rate over a peak sample taken right after it (bench_peak.h), so that the
 * machine's drifting speed cancels out. Returns 0, or 1 when memory or
 * threads run out. */
int bench_kernels(int threads, int runs);

#endif
