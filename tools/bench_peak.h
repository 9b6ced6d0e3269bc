/* This machine's FP32 peak, measured: a loop of independent fused
 * multiply-adds that keeps every FMA pipe of one core busy. */
#ifndef CT_TOOLS_BENCH_PEAK_H
#define CT_TOOLS_BENCH_PEAK_H

/* GFLOP/s of one core (best of several short trials); the widest vector
 * FMA the CPU has, or a scalar loop elsewhere. */
double bench_peak_gflops(void);
/* One short trial (a few ms): taken right after a timed run, it tells how
 * fast the core was at that moment on a shared machine whose speed drifts
 * (other guests, clock changes), so that a rate can be set against it. */
double bench_peak_sample(void);

#endif
