/* The PyTorch peer of tools/bench: tools/reference/bench_torch.py runs as a
 * child process and performs one forward pass per request. */
#ifndef CT_TOOLS_BENCH_TORCH_H
#define CT_TOOLS_BENCH_TORCH_H

#include "ctinfer.h"

typedef struct bench_torch bench_torch;

/* Starts `python tools/reference/bench_torch.py CHECKPOINT IMAGE --threads N
 * [--tuned]`; NULL (with a message on stderr) when it cannot. */
bench_torch *bench_torch_start(const char *python, const char *checkpoint, const char *image, int threads,
                               int tuned);
/* One forward pass: total and per-stage milliseconds (indexed like
 * ct_stage_name) and the peer's peak RSS so far; any pointer may be NULL. */
int bench_torch_run(bench_torch *t, double *total_ms, double stage_ms[CT_STAGE_COUNT], long *rss_kb);
void bench_torch_stop(bench_torch *t);

#endif
