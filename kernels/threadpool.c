/* Thread pool (see threadpool.h). Each loop gets a new generation number;
 * its parameters are published under the lock, and tasks are claimed by a
 * compare-and-swap on one 64-bit word holding (generation, next index), so a
 * straggler still finishing an old loop can never claim a task of the new
 * one. Completion is counted; the last finisher wakes the caller. */
#include "threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* Spin iterations before a waiting thread sleeps: long enough to bridge the
 * gap between two consecutive layers, short enough not to steal a core.
 * Every YIELD_EVERY of them the thread yields its core, in case a thread
 * it waits for is ready but not running (other processes share the CPUs). */
#define SPIN_ROUNDS 20000
#define YIELD_EVERY 256

struct ct_pool {
    int size;
    pthread_t *workers;
    pthread_mutex_t lock;
    pthread_cond_t wake, done_cond;
    atomic_uint generation;      /* bumped for every loop and for shutdown */
    _Atomic uint64_t next;       /* generation << 32 | next task index */
    atomic_int finished;         /* tasks completed in this loop */
    /* The current loop, written under lock before its generation is published. */
    int n;
    ct_task_fn task;
    void *ctx;
    int shutdown;
};

typedef struct {
    ct_pool *pool;
    int thread;
} worker_arg;

typedef struct {
    unsigned generation;
    int n;
    ct_task_fn task;
    void *ctx;
} loop_params;

static void claim_tasks(ct_pool *p, const loop_params *loop, int thread) {
    int done = 0;
    uint64_t v = atomic_load(&p->next);
    for (;;) {
        if ((unsigned)(v >> 32) != loop->generation || (int)(uint32_t)v >= loop->n) break;
        if (!atomic_compare_exchange_weak(&p->next, &v, v + 1)) continue;
        loop->task(loop->ctx, (int)(uint32_t)v, thread);
        done++;
        v = atomic_load(&p->next);
    }
    if (done && atomic_fetch_add(&p->finished, done) + done == loop->n) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->done_cond);
        pthread_mutex_unlock(&p->lock);
    }
}

static void *worker_main(void *arg) {
    worker_arg *w = arg;
    ct_pool *p = w->pool;
    int thread = w->thread;
    unsigned seen = 0;
    free(w);
    for (;;) {
        for (int spins = 1; atomic_load(&p->generation) == seen && spins <= SPIN_ROUNDS; spins++)
            if (spins % YIELD_EVERY == 0) sched_yield();
        pthread_mutex_lock(&p->lock);
        while (atomic_load(&p->generation) == seen) pthread_cond_wait(&p->wake, &p->lock);
        loop_params loop = {atomic_load(&p->generation), p->n, p->task, p->ctx};
        int stop = p->shutdown;
        pthread_mutex_unlock(&p->lock);
        if (stop) return NULL;
        seen = loop.generation;
        claim_tasks(p, &loop, thread);
    }
}

ct_pool *ct_pool_new(int threads) {
    ct_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->size = threads < 1 ? 1 : threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done_cond, NULL);
    p->workers = calloc((size_t)p->size, sizeof *p->workers);
    if (!p->workers) {
        p->size = 1;
        ct_pool_free(p);
        return NULL;
    }
    for (int t = 1; t < p->size; t++) {
        worker_arg *w = malloc(sizeof *w);
        if (w) *w = (worker_arg){p, t};
        if (!w || pthread_create(&p->workers[t], NULL, worker_main, w) != 0) {
            free(w);
            p->size = t;   /* join only the threads that exist */
            ct_pool_free(p);
            return NULL;
        }
    }
    return p;
}

void ct_pool_free(ct_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->shutdown = 1;
    atomic_fetch_add(&p->generation, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int t = 1; t < p->size; t++) pthread_join(p->workers[t], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done_cond);
    free(p->workers);
    free(p);
}

int ct_pool_size(const ct_pool *p) { return p ? p->size : 1; }

void ct_pool_run(ct_pool *p, int n, ct_task_fn task, void *ctx) {
    if (n <= 0) return;
    if (!p || p->size == 1 || n == 1) {
        for (int i = 0; i < n; i++) task(ctx, i, 0);
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->n = n;
    p->task = task;
    p->ctx = ctx;
    atomic_store(&p->finished, 0);
    loop_params loop = {atomic_load(&p->generation) + 1, n, task, ctx};
    atomic_store(&p->next, (uint64_t)loop.generation << 32);
    atomic_store(&p->generation, loop.generation);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);

    claim_tasks(p, &loop, 0);
    for (int spins = 1; atomic_load(&p->finished) < n && spins <= SPIN_ROUNDS; spins++)
        if (spins % YIELD_EVERY == 0) sched_yield();
    if (atomic_load(&p->finished) < n) {
        pthread_mutex_lock(&p->lock);
        while (atomic_load(&p->finished) < n) pthread_cond_wait(&p->done_cond, &p->lock);
        pthread_mutex_unlock(&p->lock);
    }
}

int ct_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}
