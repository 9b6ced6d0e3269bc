/* tools/bench --kernels: the convolution and GEMM shapes of the R18-T1
 * models at 512x512, each timed on its own with random data. */
#ifndef CT_TOOLS_BENCH_KERNELS_H
#define CT_TOOLS_BENCH_KERNELS_H

/* Prints one line per shape: median of `runs` timings, GFLOP/s by wall
 * clock (% of `peak` x threads) and per CPU-second of the process (% of
 * `peak`; with one thread, the rate other processes' load cannot lower by
 * taking the core away); returns 0, or 1 when memory or threads run out. */
int bench_kernels(int threads, int runs, double peak);

#endif
