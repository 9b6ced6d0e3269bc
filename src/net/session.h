/* ct_session: the per-run state — options, the thread pool with the GEMM's
 * per-thread packing buffers, the activation arena and an optional trace
 * hook through which tests and --dump-stages see every intermediate
 * tensor. Everything a run needs is allocated by ct_session_new or, for the
 * arena, by the first run of a given image size. */
#ifndef CT_NET_SESSION_H
#define CT_NET_SESSION_H

#include "ctinfer.h"
#include "gemm.h"
#include "model/model.h"
#include "threadpool.h"
#include "util/arena.h"

/* Called with each named stage tensor (row-major, dims outermost first). */
typedef void (*ct_trace_fn)(void *user, const char *stage, const float *data, int rank,
                            const int *dims);

struct ct_session {
    const ct_model *model;
    ct_options opt;
    ct_pool *pool;         /* opt.threads threads (NULL for one) */
    ct_gemm_ctx *gemm;     /* on that pool */
    ct_arena arena;
    double flops;          /* multiply-adds x 2 of the convolutions and linear layers so far */
    ct_trace_fn trace;
    void *trace_user;
};

void ct_session_set_trace(ct_session *s, ct_trace_fn fn, void *user);

/* Reports a stage tensor to the trace hook, if any. */
void ct_trace(const ct_session *s, const char *stage, const float *data, int rank, ...);

#endif
