/* A persistent pool of worker threads that runs "parallel for" loops: the
 * caller and the workers claim task indices from a shared counter until all
 * are done. Workers spin briefly for the next loop, then sleep, so a 2-core
 * machine is never oversubscribed by idle spinning. */
#ifndef CT_KERNELS_THREADPOOL_H
#define CT_KERNELS_THREADPOOL_H

typedef struct ct_pool ct_pool;

/* Runs task(ctx, index, thread) for index in [0, n); thread in [0, size). */
typedef void (*ct_task_fn)(void *ctx, int index, int thread);

/* A pool of `threads` threads in total, the caller included (1: no workers).
 * Returns NULL when threads cannot be created. */
ct_pool *ct_pool_new(int threads);
void ct_pool_free(ct_pool *pool);
/* Threads that run tasks (1 for a NULL pool). */
int ct_pool_size(const ct_pool *pool);

/* Runs n tasks and returns when all have finished. A NULL pool runs them in
 * order on the caller. Not reentrant: one loop at a time per pool. */
void ct_pool_run(ct_pool *pool, int n, ct_task_fn task, void *ctx);

/* n items cut into blocks of `size` for a loop of one task per block:
 * the task count, and where block b ends (it starts at b * size). */
static inline int ct_blocks(int n, int size) { return (n + size - 1) / size; }
static inline int ct_block_end(int b, int size, int n) { return n - b * size < size ? n : (b + 1) * size; }

/* Cores available to this process (at least 1). */
int ct_cpu_count(void);

#endif
